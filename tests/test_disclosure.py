"""Disclosure control: primary and complementary suppression, and the linear audit.

Independent check: a brute-force search over every signed sum of up to three shown counts (the
"subtractions" a reader can do by hand) must not reproduce any hidden count's client set.
"""

from __future__ import annotations

import itertools
import tempfile

import numpy as np
import pandas as pd
import pytest

from analysis.report import disclosure
from analysis.report.disclosure import (
    any_suppressed,
    headline_cells,
    membership_from_ids,
    outcome_cells,
    recoverable,
    shown_count,
    suppression_plan,
)


def _two_definitions(a11: int, a10: int, a01: int, a00: int, ne_a: int = 0) -> pd.DataFrame:
    """Outcomes of two definitions with the 2 x 2 cells given (a = remission, b = response)."""
    rows = []
    i = 0
    for (sa, sb), n in {
        ("met", "met"): a11,
        ("met", "not_met"): a10,
        ("not_met", "met"): a01,
        ("not_met", "not_met"): a00,
        ("not_evaluable", "not_met"): ne_a,
    }.items():
        for _ in range(n):
            rows += [(i, "remission", sa), (i, "response", sb)]
            i += 1
    return pd.DataFrame(rows, columns=["id", "definition", "status"])


def _brute_force_recovers(membership: pd.DataFrame, plan: pd.DataFrame, depth: int = 3) -> list:
    """Every signed sum of up to ``depth`` shown counts compared with each hidden count."""
    shown = plan.loc[~plan["suppressed"], "cell"].tolist()
    hidden = plan.loc[plan["suppressed"] & (plan["count"] > 0), "cell"].tolist()
    m = membership.astype(int)
    found = []
    for k in range(1, depth + 1):
        for combo in itertools.combinations(shown, k):
            for signs in itertools.product((1, -1), repeat=k):
                v = sum(s * m[c] for s, c in zip(signs, combo, strict=True))
                for h in hidden:
                    if (v == m[h]).all():
                        found.append((h, combo, signs))
    return found


def test_issue_example_2x2_cell_cannot_be_recovered():
    """BtheB notebook 01 (issue 17): remission vs response on 77 clients, cells 28 / 4 / 8 / 37.
    Primary suppression alone hid b = 4 but 77 - 28 - 8 - 37 = 4 gave it back."""
    out = _two_definitions(28, 4, 8, 37)
    m = outcome_cells(out, pairs=[("remission", "response")])
    # primary only: b hidden, everything else shown -> the audit recovers b
    primary_only = ["remission x response: met/not_met"]
    assert recoverable(m, primary_only) == primary_only
    plan = suppression_plan(m)
    hidden = set(plan.loc[plan["suppressed"], "cell"])
    assert "remission x response: met/not_met" in hidden
    assert len(hidden) >= 2  # at least one complementary cell
    assert recoverable(m, hidden) == []
    assert _brute_force_recovers(m, plan) == []
    # with the headline counts protected, the whole inner 2 x 2 is hidden and nothing else:
    # with all four margins shown, a 2 x 2 keeps one degree of freedom only if all cells are hidden
    plan = suppression_plan(m, protect=headline_cells(m))
    hidden = set(plan.loc[plan["suppressed"], "cell"])
    # (and the number who disagree, b + c, which would give b + c and so the 2 x 2 back)
    assert hidden == {
        f"remission x response: {x}/{y}" for x in ("met", "not_met") for y in ("met", "not_met")
    } | {"remission x response: disagree"}
    assert recoverable(m, hidden) == []
    assert _brute_force_recovers(m, plan) == []
    # no shown count is small
    shown = plan.loc[~plan["suppressed"], "count"]
    assert not ((shown >= 1) & (shown < 5)).any()


def test_by_arm_small_cell_and_its_complement():
    """Met by arm with overall totals: arm A has 3 met of 10, arm B 6 of 10 (hand-worked: hiding
    'met | A' alone leaves met - met|B = 9 - 6 = 3; the plan hides a second cell)."""
    status = ["met"] * 3 + ["not_met"] * 7 + ["met"] * 6 + ["not_met"] * 4
    out = pd.DataFrame({"id": range(20), "definition": "d", "status": status})
    group = pd.Series(["A"] * 10 + ["B"] * 10, index=range(20))
    m = outcome_cells(out, group=group)
    plan = suppression_plan(m, protect=["N", "N | A", "N | B"])
    hidden = set(plan.loc[plan["suppressed"], "cell"])
    assert "d: met | A" in hidden
    assert hidden - {"d: met | A"}, "a complementary cell must be hidden"
    assert not {"N", "N | A", "N | B"} & hidden
    assert recoverable(m, hidden) == []
    assert _brute_force_recovers(m, plan) == []
    assert shown_count(plan, "d: met | A") == "<5"
    assert any_suppressed(plan, ["d: met | A", "d: evaluable | A"])


def test_same_client_set_under_two_names_is_flagged():
    """Two counts over the same clients (here by coincidence of the data) reveal each other: the
    audit is conservative and hides both."""
    m = pd.DataFrame(
        {
            "x": [True, True] + [False] * 11,
            "x_again": [True, True] + [False] * 11,
            "rest": [False, False] + [True] * 11,
        }
    )
    assert recoverable(m, ["x"]) == ["x"]
    plan = suppression_plan(m)
    assert set(plan.loc[plan["suppressed"], "cell"]) == {"x", "x_again"}


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_tables_pass_the_audit(seed):
    """Random cohorts of 40 clients, three definitions, two arms, all pairs: after the plan no
    hidden count is recoverable and no small count is shown (seed printed by pytest's id)."""
    rng = np.random.default_rng(seed)
    n = 40
    rows = []
    for i in range(n):
        for d in ("a", "b", "c"):
            rows.append((i, d, rng.choice(["met", "not_met", "not_evaluable"], p=[0.2, 0.7, 0.1])))
    out = pd.DataFrame(rows, columns=["id", "definition", "status"])
    group = pd.Series(rng.choice(["X", "Y"], size=n, p=[0.2, 0.8]), index=range(n))
    m = outcome_cells(out, group=group, pairs=[("a", "b"), ("a", "c"), ("b", "c")])
    plan = suppression_plan(m)
    hidden = plan.loc[plan["suppressed"], "cell"].tolist()
    assert recoverable(m, hidden) == []
    shown = plan.loc[~plan["suppressed"], "count"]
    assert not ((shown >= 1) & (shown < 5)).any()


def test_outcome_cells_counts_by_hand():
    """Four clients, hand-counted: a met by 1 and 2, not met by 3, not evaluable for 4."""
    out = pd.DataFrame(
        {
            "id": [1, 2, 3, 4] * 2,
            "definition": ["a"] * 4 + ["b"] * 4,
            "status": ["met", "met", "not_met", "not_evaluable", "met", "not_met", "met", "met"],
            "category": ["improved", "improved", "unchanged", None] + [None] * 4,
        }
    )
    m = outcome_cells(out, pairs=[("a", "b")])
    counts = m.sum()
    assert counts["N"] == 4
    assert counts["a: met"] == 2 and counts["a: not_met"] == 1 and counts["a: evaluable"] == 3
    assert counts["a x b: met/met"] == 1  # client 1
    assert counts["a x b: met/not_met"] == 1  # client 2
    assert counts["a x b: not_met/met"] == 1  # client 3 (client 4 is not evaluable under a)
    assert counts["a: category improved"] == 2 and counts["a: category unchanged"] == 1


def test_bad_input():
    with pytest.raises(ValueError, match="boolean"):
        suppression_plan(pd.DataFrame({"x": [1, 0]}))
    with pytest.raises(ValueError, match="threshold"):
        suppression_plan(pd.DataFrame({"x": [True]}), threshold=0)
    with pytest.raises(ValueError, match="not columns"):
        recoverable(pd.DataFrame({"x": [True]}), ["y"])
    with pytest.raises(ValueError, match="lacks"):
        outcome_cells(pd.DataFrame({"id": [1]}))


def test_unshown_counts_need_no_protection_but_small_ones_do():
    """97 evaluable = 40 met + 57 not met; 3 not evaluable of N = 100. No report shows "not
    met": with it unshown, hiding 3 needs only evaluable hidden (N - evaluable = 3), and met
    stays shown: unknowns evaluable, not met, not evaluable under two equations (N = ev + ne,
    ev = met + not met) cannot be solved. Hand-worked; the audit agrees."""
    ids = range(100)
    m = disclosure.membership_from_ids(
        {
            "N": ids,
            "a: evaluable": range(97),
            "a: not_evaluable": range(97, 100),
            "a: met": range(40),
            "a: not_met": range(40, 97),
        },
        ids,
    )
    plan = disclosure.suppression_plan(m, protect=["N"], unshown=["a: not_met"]).set_index("cell")
    assert plan.loc["a: not_evaluable", "suppressed"]
    assert plan.loc["a: evaluable", "suppressed"]
    assert not plan.loc["a: met", "suppressed"] and not plan.loc["N", "suppressed"]
    assert plan.loc["a: not_met", "reason"] == disclosure.UNSHOWN
    assert recoverable(m, ["a: not_evaluable", "a: evaluable", "a: not_met"]) == []
    # a small unshown count is protected like any other: 3 not met of 97 evaluable
    m2 = m.assign(**{"a: met": m.index < 94, "a: not_met": (m.index >= 94) & (m.index < 97)})
    plan2 = disclosure.suppression_plan(m2, protect=["N"], unshown=["a: not_met"])
    hidden = plan2.loc[plan2["suppressed"], "cell"].tolist()
    assert "a: not_met" in hidden
    assert recoverable(m2, hidden) == []
    # the plan file beside the reports never gives an unshown count's value
    with tempfile.TemporaryDirectory() as folder:
        path = disclosure.write_plan(plan.reset_index(), folder)
        shown = pd.read_csv(path).set_index("cell")["shown"]
    assert shown["a: not_met"] == "not shown" and shown["a: met"] == "40"


def test_extend_plan_keeps_earlier_decisions_and_protects_new_counts():
    """An earlier report showed all = 20, met = 12, not met = 8; a later one adds 'met, arm A'
    = 2 and 'met, arm B' = 10: 2 is hidden (primary) and, as met stays shown (an earlier
    decision), 10 must be hidden too (12 - 10 = 2)."""
    ids = range(20)
    m = disclosure.membership_from_ids(
        {
            "all": ids,
            "met": range(12),
            "not met": range(12, 20),
            "met A": range(2),
            "met B": range(2, 12),
        },
        ids,
    )
    first = disclosure.suppression_plan(m[["all", "met", "not met"]])
    assert not first["suppressed"].any()
    ext = disclosure.extend_plan(first, m).set_index("cell")
    assert not ext.loc[["all", "met", "not met"], "suppressed"].any()
    assert ext.loc["met A", "reason"].startswith("primary")
    assert ext.loc["met B", "reason"].startswith("complementary")
    assert recoverable(m, ext.index[ext["suppressed"]].tolist()) == []


def test_survival_curves_are_coarsened_to_steps_of_at_least_five():
    """mask_curves on lifelines' curves (simulated cohort, a plan as on real data): a definition
    with a hidden count gets no curve; every other curve, Kaplan-Meier and cumulative incidence
    alike, is shown at the same times, and the reviewer's attack on the rows shown (events of a
    step = at risk x rise / (1 - previous height); leaving between two steps = fall of the
    number at risk minus the events) finds steps of at least 5 events, 0 or at least 5 leaving
    in between, and 0 or at least 5 events and leavers after the last step (the tables' totals
    minus the steps); without a plan nothing changes."""
    from analysis import load_dataset, score_definitions
    from analysis.compare import survival
    from analysis.report.disclosure_tables import curves_note, mask_curves
    from analysis.run.workflow import survival_cells

    cohort = load_dataset("simulated", n_clients=60, seed=1)
    outcomes = score_definitions(cohort, measure="phq9")
    tte = survival.time_to_event(outcomes, cohort.scores, cohort.clients)
    tte = tte.loc[tte["definition"].isin(["reliable_improvement", "remission", "response"])]
    plan = suppression_plan(survival_cells(tte))
    plan["suppressed"] = False  # nothing hidden ...
    plan.loc[plan["cell"] == "km remission: met", "suppressed"] = True  # ... but this count
    plan.loc[plan["cell"] == "km remission: met", "reason"] = "primary: fewer than 5"
    km = survival.km_curves(tte)
    cif = survival.cumulative_incidence(tte)
    km_s, cif_s = mask_curves(km, tte, plan), mask_curves(cif, tte, plan)
    assert km_s.attrs["hidden"] == cif_s.attrs["hidden"] == ["remission"]
    assert set(km_s["definition"]) == {"reliable_improvement", "response"}
    # response on these data: 2 met at time 1 ... the greedy rule gives times 1 and 9
    assert km_s.loc[km_s["definition"] == "response", "time"].tolist() == [0.0, 1.0, 9.0]
    assert km_s[["definition", "time", "at_risk"]].equals(cif_s[["definition", "time", "at_risk"]])
    for d, g in km_s.groupby("definition"):
        g = g.reset_index(drop=True)
        mine = tte.loc[tte["definition"] == d]
        assert g["at_risk"].iloc[0] == len(mine)
        shown_events = prev = 0
        for i in range(1, len(g)):
            p0, p1, n = g["proportion_met"][i - 1], g["proportion_met"][i], g["at_risk"][i]
            ev = n * (p1 - p0) / (1 - p0)
            assert abs(ev - round(ev)) < 1e-9 and round(ev) >= 5  # an exact count, >= 5
            gone = g["at_risk"][i - 1] - prev - n  # prev: the events of the step before
            assert gone == 0 or gone >= 5
            prev = round(ev)
            shown_events += round(ev)
        tail_events = int((mine["event_type"] == 1).sum()) - shown_events
        tail_gone = int(g["at_risk"].iloc[-1]) - prev - tail_events
        assert tail_events == 0 or tail_events >= 5
        assert tail_gone == 0 or tail_gone >= 5
    note = curves_note(km_s, lambda d: d.replace("_", " "))
    assert "no curve for remission" in note and "at least 5 more clients" in note
    assert len(mask_curves(km, tte, None)) == len(km) and curves_note(km) == ""


def test_km_steps_hand_worked():
    """Steps of 1 and 3 events are never shown; censorings of 1-4 between shown times end or
    remove the curve."""
    from analysis.report.disclosure_tables import km_steps

    # events: 1 at time 1, 3 at time 2, 2 at time 3 (1 + 3 + 2 = 6 >= 5: first time shown is
    # 3, not 1 or 2), 5 at time 5; 5 censored at time 4 (>= 5 between 3 and 5): times 3, 5
    dur = [1, 2, 2, 2, 3, 3, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4]
    kind = [1] * 11 + [0] * 5
    assert km_steps(dur, kind) == [3.0, 5.0]
    # only 2 censored at time 4: between 3 and 5 (or after 3) 2 leave, a count of 1-4; the
    # tail from the start (11 events, 2 censored) is no better: no curve
    assert km_steps(dur[:13], kind[:13]) == []
    # 5 censored at 4, then 2 more events at 7: the tail after 5 would be 2 events (total met
    # 13 - 6 - 5), so the last step moves to 7: events in (3, 7] = 5 + 2 = 7, 5 censored in
    # between, nothing after
    assert km_steps([*dur, 7, 7], [*kind, 1, 1]) == [3.0, 7.0]
    # ... and with 1 client censored at 8 as well, no last step leaves a safe tail (1 censored
    # after it): the curve ends at 3 (tail: 7 events, 5 + 1 = 6 censored)
    assert km_steps([*dur, 7, 7, 8], [*kind, 1, 1, 0]) == [3.0]
    # dropout (2) and other censoring (0) count apart: 3 + 2 leaving between steps is not safe
    assert (
        km_steps([1] * 5 + [2] * 3 + [2] * 2 + [3] * 5, [1] * 5 + [0] * 3 + [2] * 2 + [1] * 5) == []
    )


def test_km_end_proportion_and_median_follow_the_counts():
    """mask_km hides the median and the Kaplan-Meier end share where one of the definition's
    time-to-event counts (clients, met, dropout, censored other) is hidden."""
    from analysis.report.disclosure_tables import mask_km

    km = pd.DataFrame(
        {
            "definition": ["a", "b"],
            "n": [30, 40],
            "n_met": [12, 20],
            "n_dropout": [6, 8],
            "median": [8.0, 6.0],
            "proportion_met_end": [0.55, 0.6],
        }
    )
    plan = pd.DataFrame(
        {
            "cell": [
                "km a: clients",
                "km a: met",
                "km a: dropout",
                "km b: clients",
                "km b: met",
                "km b: dropout",
                "km b: censored other",
            ],
            "suppressed": [True, False, False, False, False, False, True],
            "reason": ["complementary", "", "", "", "", "", "primary: fewer than 5"],
        }
    )
    out = mask_km(km, km, plan)
    assert out["median"].tolist() == ["suppressed", "suppressed"]
    assert out["proportion_met_end"].tolist() == ["suppressed", "suppressed"]
    plan["suppressed"] = False
    assert mask_km(km, km, plan)["proportion_met_end"].tolist() == [0.55, 0.6]


def test_km_end_share_hidden_where_the_evaluable_count_is():
    """Notebook 01 hides a's 25 evaluable (complementary, fixed in the plan); notebook 03 adds
    its time-to-event counts, all at least 5: 20 in the analysis (7 met, 6 dropout, 7 censored
    otherwise) and 5 excluded (met at the first assessment) would give 20 + 5 = 25 back, so
    the extension hides one of them (complementary), and with it the Kaplan-Meier end share
    and median of a."""
    from analysis.report.disclosure import extend_plan, membership_from_ids
    from analysis.report.disclosure_tables import mask_km

    ids = list(range(30))
    m = membership_from_ids(
        {
            "a: evaluable": ids[:25],
            "a: met": ids[:12],
            "km a: clients": ids[5:25],
            "km a: met": ids[5:12],
            "km a: dropout": ids[12:18],
            "km a: censored other": ids[18:25],
            "km a: excluded": ids[:5],
        },
        ids,
    )
    first = pd.DataFrame(
        {
            "cell": ["a: evaluable", "a: met"],
            "count": [25, 12],
            "suppressed": [True, False],
            "reason": ["complementary: would reveal a: not_met", ""],
        }
    )
    plan = extend_plan(first, m)
    own = plan.loc[plan["cell"].str.startswith("km a:")]
    assert (own["count"] >= 5).all()
    assert own.loc[own["suppressed"], "reason"].str.startswith("complementary").any()
    km = pd.DataFrame(
        {"definition": ["a"], "n": [20], "n_met": [7], "median": [6.0], "proportion_met_end": [0.5]}
    )
    out = mask_km(km, km, plan)
    assert out.loc[0, "proportion_met_end"] == "suppressed" and out.loc[0, "median"] == "suppressed"


def test_multiverse_counts_of_notebook_01_follow_its_plan():
    """BtheB-like: notebook 01 shows remission's 22 met and hides its 77 evaluable
    (complementary). Every specification with 77 evaluable hides it too, with its rate, in the
    CSV table, the specification curve's rows and the displayed table; 43 evaluable stays."""
    from analysis.report import multiverse_tables as mvt
    from analysis.report.disclosure_tables import mask_multiverse

    plan = pd.DataFrame(
        {
            "cell": ["remission: met", "remission: evaluable"],
            "count": [22, 77],  # with the run's cache the hidden count has its value
            "suppressed": [False, True],
            "reason": ["", "complementary: would reveal x"],
        }
    )
    r = pd.DataFrame(
        {
            "spec": [1, 2, 3],
            "definition": "remission",
            "cutoff_type": "n/a",
            "reliability": "n/a",
            "missing": ["last_available", "locf", "last_available"],
            "post": "last",
            "population": ["all", "all", "finished"],
            "n_met": [22, 25, 18],
            "n_evaluable": [77, 77, 43],
            "rate": [22 / 77, 25 / 77, 18 / 43],
            "ci_low": [0.2, 0.2, 0.3],
            "ci_high": [0.4, 0.4, 0.6],
        },
        index=[10, 11, 12],
    )
    m = mask_multiverse(r, True, plan=plan)  # no own specification needed with the values
    assert m["n_evaluable"].tolist() == ["suppressed", "suppressed", 43]
    assert m["rate"].tolist()[:2] == ["suppressed", "suppressed"]
    assert list(m.index) == [10, 11, 12]
    shown, n_hidden = mvt.shown_results(r, masked=m)
    assert shown["spec"].tolist() == [3] and n_hidden == 2
    table = mvt.format_specifications(r.loc[[10, 12]], True, masked=m)
    assert table["evaluable"].tolist() == ["suppressed", 43]
    assert table["met"].tolist() == [22, 18]
    assert table["% met (95% CI)"].iloc[0] == "suppressed"
    # without the plan: primary suppression only, nothing here is small
    assert mask_multiverse(r, True)["n_evaluable"].tolist() == [77, 77, 43]


def test_nested_differences_hand_worked():
    """Differencing (Hundepool et al. 2012, ch. 4-5): two shown counts over nested client sets
    give their difference. Twelve clients; by hand:

    - "evaluable, LOCF" = 0-11 (12) contains "evaluable, last available" = 0-9 (10):
      12 - 10 = 2 clients (10, 11), a small difference -> returned;
    - "evaluable, last available" (10) contains "severe, evaluable" = 0-7 (8): 10 - 8 = 2
      (8, 9) -> returned; LOCF (12) minus severe (8) = 4 (8-11) -> returned (1-4 is small);
    - "met" = 0-4 (5) is within all three, but 8 - 5 = 3 is the set 5-7, which is the column
      "severe not met" already (audited as it is) -> not returned; 10 - 5 = 5 and 12 - 5 = 7
      are not small;
    - "arm A" = 0, 2, 4, ..., 10 (6) is within LOCF (12 - 6 = 6, not small), within no other;
    - "others" = 6-11 (6) overlaps last available (10) but is not within it (10, 11 are not
      in it), and is within LOCF (12 - 6 = 6, not small): no pair;
    - "severe not met" (3) is within severe (8 - 3 = 5), last available (7), LOCF (9): not small.
    With threshold 3 only differences of 1 or 2 are small: the LOCF - severe difference (4)
    goes. A difference two pairs share (none here) is returned once.
    """
    m = disclosure.membership_from_ids(
        {
            "evaluable, LOCF": range(12),
            "evaluable, last available": range(10),
            "severe, evaluable": range(8),
            "met": range(5),
            "severe not met": range(5, 8),
            "arm A": range(0, 12, 2),
            "others": range(6, 12),
        },
        range(12),
    )
    d = disclosure.nested_differences(m)
    assert d.sum().to_dict() == {
        "evaluable, last available minus severe, evaluable": 2,
        "evaluable, LOCF minus evaluable, last available": 2,
        "evaluable, LOCF minus severe, evaluable": 4,
    }
    assert sorted(d.index[d["evaluable, LOCF minus severe, evaluable"]]) == [8, 9, 10, 11]
    assert list(disclosure.nested_differences(m, threshold=3).columns) == [
        "evaluable, LOCF minus evaluable, last available",
        "evaluable, last available minus severe, evaluable",
    ]
    # only the counts named are paired; a name that is no column is an error
    assert disclosure.nested_differences(m, cells=["met", "arm A"]).shape[1] == 0
    with pytest.raises(ValueError, match="not columns"):
        disclosure.nested_differences(m, cells=["nope"])
    # the same difference from two pairs is returned once: S2 = S plus a client T already has
    m2 = disclosure.membership_from_ids({"T": range(10), "S": range(8), "S2": range(8)}, range(10))
    assert disclosure.nested_differences(m2).shape[1] == 1


def test_plan_with_differences_protects_a_nested_pair():
    """The reviewer's multiverse example in small: 40 clients; last available evaluates 31
    (0-30), LOCF 32 (0-31), met 14 of each (0-13). Every count is at least 5, so without the
    difference nothing is hidden and 32 - 31 = 1 reads off; with it one of the two evaluable
    counts is hidden and no signed sum of up to three shown counts gives client 31 alone."""
    m = disclosure.membership_from_ids(
        {
            "N": range(40),
            "evaluable, last available": range(31),
            "evaluable, LOCF": range(32),
            "met": range(14),
        },
        range(40),
    )
    assert not suppression_plan(m)["suppressed"].any()
    d = disclosure.nested_differences(m, cells=list(m.columns))
    # 40 - 32 = 8 and 40 - 31 = 9, 31 - 14 = 17: only LOCF - last available = 1 is small
    assert d.sum().to_dict() == {"evaluable, LOCF minus evaluable, last available": 1}
    both = m.join(d)
    plan = suppression_plan(both, protect=["N"], unshown=d.columns).set_index("cell")
    hidden = plan.index[plan["suppressed"]].tolist()
    assert set(hidden) & {"evaluable, last available", "evaluable, LOCF"}
    assert recoverable(both, hidden) == []
    assert _brute_force_recovers(both, plan.reset_index()) == []


@pytest.mark.slow
def test_multiverse_counts_audited_with_the_run_plan(tmp_path):
    """Notebook 05's counts join the run's plan (as the main job runs it: notebook 01 writes
    the plan and the counts' membership, notebook 05 extends them). On 120 simulated clients
    with a small grid: the run's own specification counts notebook 01's clients, so its counts
    ARE notebook 01's (same name, same decision); notebook 01's decisions are kept; no hidden
    count of the run is a linear combination of the shown ones; and no two shown counts are
    nested with a difference from 1 to 4 (the reviewer's 32 - 31). Checked to fail without the
    multiverse's nested differences: two shown pairs then differ by 1-4 (specifications 5 and
    2, evaluable; 12 and 21, met). Slow: notebook 01's audit of 120 clients takes 20-30 s."""
    from analysis.run import workflow

    out, cache = tmp_path / "out", tmp_path / "cache"
    cache.mkdir()
    options = {"n_clients": 120, "seed": 1}
    nd = workflow.outcomes_for_notebook("simulated", options, "phq9", reliability=0.89)
    plan = workflow.run_disclosure(nd, "arm", str(out), write=True, cache=str(cache), threshold=5)
    grid = {
        "grid": {
            "definitions": ["remission", "reliable_improvement"],
            "cutoff_type": ["default"],
            "reliability": [0.89, 0.84],
            "missing": ["last_available", "locf", "completers"],
            "population": ["all", "severe", "finished"],
        }
    }
    md = workflow.multiverse_for_notebook(
        "simulated", options, "phq9", multiverse=grid, reliability=0.89
    )
    ext, cells = workflow.multiverse_disclosure(md, output_dir=str(out), cache=str(cache))
    res = md.results
    own = (
        (res["definition"] == "remission")
        & (res["missing"] == "last_available")
        & (res["population"] == "all")
    )
    i = res.index[own][0]
    assert cells["n_evaluable"][list(res.index).index(i)] == "remission: evaluable"
    assert cells["n_met_ref"][list(res.index).index(i)].startswith("remission: met | ")
    named = {c for seq in cells.values() for c in seq if c is not None}
    assert named <= set(ext["cell"]) and any(c.startswith("multiverse ") for c in named)
    before = plan.set_index("cell")["suppressed"]
    after = ext.set_index("cell")["suppressed"]
    assert (after[before.index] == before).all()  # earlier decisions kept
    m = pd.read_pickle(cache / workflow.MEMBERSHIP_FILE)
    assert named <= set(m.columns)
    # large unshown counts (not met, ...) need no protection: audited as hidden, may be exposed
    unshown = ext.loc[ext["reason"] == disclosure.UNSHOWN, "cell"]
    suppressed = ext.loc[ext["suppressed"], "cell"].tolist()
    hidden = suppressed + unshown.tolist()
    assert set(recoverable(m[ext["cell"].tolist()], hidden)) & set(suppressed) == set()
    assert ext["cell"].str.contains(" minus ").any()  # nested differences were protected
    shown = [c for c in ext["cell"] if c not in set(hidden)]
    assert disclosure.nested_differences(m[shown]).shape[1] == 0
    assert (out / disclosure.PLAN_FILE).exists()
    assert len(disclosure.read_plan(out)) == len(ext)
    # suppression off: nothing to plan
    assert workflow.multiverse_disclosure(md, suppress=False) == (None, None)


def test_cohort_size_is_public_and_never_hidden():
    """The cohort size is printed on every page (data line, index, run.json): hiding it protects
    nothing, so the audit hides other counts instead (HELP's plan hid N = 470 while every report
    printed it). 20 clients: A = 18 met a, B = 17 met b; N - A = 2 and N - B = 3 are small
    counts (shown as no table's cell, but as differences of shown counts). Hiding N alone would
    protect both (the greedy choice before); with N public, A and B must be hidden."""
    ids = list(range(20))
    m = membership_from_ids(
        {"N": ids, "a": ids[:18], "b": ids[:17], "not a": ids[18:], "not b": ids[17:]}, ids
    )
    plan = suppression_plan(m).set_index("cell")
    assert not plan.loc["N", "suppressed"]
    assert plan.loc[["a", "b", "not a", "not b"], "suppressed"].all()
    assert recoverable(m, plan.index[plan["suppressed"]].tolist()) == []


def test_bounds_of_two_hidden_counts_cannot_pin_them():
    """A reviewer's attack on BtheB (issue 17): two pair tables over the same clients showed
    'neither' 48 and 45; with the pattern shown (6), 48 = 38 + 6 + x and 45 = 38 + 6 + y, so
    x - y = 3 while both read "<5": x = 4 and y = 1. The linear audit recovers neither count
    alone; the bounds (1 to 4 each) do. Clients: 38 in no count but the two totals, 6 in the
    shown pattern, 4 in x, 1 in y; x - y = t1 - t2 = 48 - 45 = 3 leaves x in {4} only."""
    ids = list(range(49))
    none, pat, x, y = ids[:38], ids[38:44], ids[44:48], ids[48:]
    m = membership_from_ids(
        {"t1": none + pat + x, "t2": none + pat + y, "pattern": pat, "x": x, "y": y}, ids
    )
    linear = suppression_plan(m, bounds=False).set_index("cell")["suppressed"]
    assert linear.to_dict() == {"t1": False, "t2": False, "pattern": False, "x": True, "y": True}
    plan = suppression_plan(m).set_index("cell")
    assert plan.loc[["x", "y"], "suppressed"].all()
    # one of the totals is hidden (the cheaper, t2), and the reason says why
    assert plan.loc["t2", "suppressed"] and not plan.loc["t1", "suppressed"]
    assert "bounds would reveal" in plan.loc["t2", "reason"]
