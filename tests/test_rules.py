"""Every rule kind of the definitions engine on small hand-made cohorts (answers worked here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.cohort import Cohort
from analysis.outcomes.engine import score_definitions
from analysis.registry.definitions import load_definitions, validate_definitions
from analysis.registry.instruments import Instrument, load_registry

REG = load_registry()
SRS = Instrument(
    code="srs",
    label="SRS",
    name="Session Rating Scale",
    construct="alliance",
    family="alliance",
    min=0,
    max=40,
    integer=False,
    better_is="higher",
)
FLAG = Instrument(
    code="coping",
    label="coping",
    name="coping flag",
    construct="coping",
    family="personal",
    min=0,
    max=1,
    integer=True,
    better_is="higher",
)
SDQ = Instrument(
    code="sdq_total",
    label="SDQ",
    name="SDQ total",
    construct="child",
    family="child_family",
    min=0,
    max=40,
    integer=True,
    better_is="lower",
    bands={
        "values": [0, 14, 17],
        "labels": ["normal", "borderline", "abnormal"],
        "source": "Goodman 1997",
        "confirmed": False,
    },
)
TEST_REG = {**REG, "srs": SRS, "coping": FLAG, "sdq_total": SDQ}


def cohort(rows, clients=None) -> Cohort:
    s = pd.DataFrame(rows, columns=["id", "time", "measure", "score"])
    ids = list(dict.fromkeys(s["id"]))
    c = clients if clients is not None else pd.DataFrame({"id": ids})
    return Cohort(scores=s, clients=c, name="hand")


def status(c: Cohort, defs, **kw) -> dict:
    out = score_definitions(c, defs, registry=TEST_REG, **kw)
    return out.set_index(["id", "definition"])[["status", "reason", "first_met_time"]]


def test_cutoff_boundary_and_caseness():
    """PHQ-9 caseness is >= 10 (registry). Ending exactly on 10 is still a case; 9 is not.
    Client c is not a case at baseline (9): recovery (caseness_change) is not evaluable for c,
    but plain remission (cutoff rule) is met because c ends below 10."""
    c = cohort(
        [
            ("a", 1, "phq9", 15),
            ("a", 2, "phq9", 10),
            ("b", 1, "phq9", 15),
            ("b", 2, "phq9", 9),
            ("c", 1, "phq9", 9),
            ("c", 2, "phq9", 3),
        ]
    )
    defs = [
        {"name": "rem", "family": "symptom", "rule": "cutoff", "measure": "phq9"},
        {"name": "rec", "family": "symptom", "rule": "caseness_change", "measure": "phq9"},
    ]
    st = status(c, defs)
    assert st.loc[("a", "rem"), "status"] == "not_met"
    assert st.loc[("b", "rem"), "status"] == "met" and st.loc[("b", "rem"), "first_met_time"] == 2
    assert st.loc[("c", "rem"), "status"] == "met"
    assert st.loc[("c", "rec"), "status"] == "not_evaluable"
    assert st.loc[("c", "rec"), "reason"] == "not a case at baseline (PHQ-9)"


def test_fixed_change_exactly_at_threshold_and_single_session():
    """PHQ-9 reliable change is 6 points (registry). a: 16 -> 10 = exactly 6: met.
    b: 16 -> 11 = 5: not met. c: one session only: not evaluable (no score after baseline)."""
    c = cohort(
        [
            ("a", 1, "phq9", 16),
            ("a", 2, "phq9", 10),
            ("b", 1, "phq9", 16),
            ("b", 2, "phq9", 11),
            ("c", 1, "phq9", 16),
        ]
    )
    st = status(c, [{"name": "fx", "family": "symptom", "rule": "fixed_change", "measure": "phq9"}])
    assert [st.loc[(i, "fx"), "status"] for i in "abc"] == ["met", "not_met", "not_evaluable"]
    assert st.loc[("c", "fx"), "reason"] == "no score after baseline"


def test_missing_data_strategies():
    """c was seen once: last_available -> not evaluable; LOCF carries 16 forward -> change 0 ->
    not met; completers -> b (dropout) is not evaluable although it has a post score."""
    clients = pd.DataFrame({"id": list("abc"), "end_reason": ["planned", "dropout", "dropout"]})
    c = cohort(
        [
            ("a", 1, "phq9", 16),
            ("a", 2, "phq9", 8),
            ("b", 1, "phq9", 16),
            ("b", 2, "phq9", 8),
            ("c", 1, "phq9", 16),
        ],
        clients,
    )
    d = [{"name": "fx", "family": "symptom", "rule": "fixed_change", "measure": "phq9"}]
    assert status(c, d).loc[("c", "fx"), "status"] == "not_evaluable"
    assert status(c, d, missing="locf").loc[("c", "fx"), "status"] == "not_met"
    comp = status(c, d, missing="completers")
    assert comp.loc[("a", "fx"), "status"] == "met"
    assert comp.loc[("b", "fx"), "status"] == "not_evaluable"
    assert comp.loc[("b", "fx"), "reason"] == "not a completer (end reason: dropout)"


def test_missing_session_in_the_middle():
    """A missing (NaN) session 2 is skipped: the last available score is session 3's."""
    c = cohort(
        [
            ("a", 1, "phq9", 20),
            ("a", 2, "phq9", np.nan),
            ("a", 3, "phq9", 4),
            ("b", 1, "phq9", 20),
            ("b", 2, "phq9", 18),
            ("b", 3, "phq9", np.nan),
        ]
    )
    out = score_definitions(
        c,
        [{"name": "r", "family": "symptom", "rule": "percentage_change", "measure": "phq9"}],
        registry=TEST_REG,
    ).set_index("id")
    assert out.loc["a", "post"] == 4 and out.loc["a", "first_met_time"] == 3
    assert out.loc["b", "post"] == 18 and out.loc["b", "status"] == "not_met"
    # a's post is its session-3 score; b's last observed score is at session 2
    assert out.loc["a", "post_time"] == 3 and out.loc["b", "post_time"] == 2
    assert out.loc["a", "met_time"] == 3 and np.isnan(out.loc["b", "met_time"])


def test_nhs_rules_hand_worked():
    """NHS TT: caseness PHQ-9 >= 10 or GAD-7 >= 8; reliable change 6 (PHQ-9) / 4 (GAD-7).
    a: PHQ 15->5 (-10), GAD 12->4 (-8): recovered, reliably improved, reliable recovery.
    b: PHQ 15->8 (-7, improved), GAD 8->12 (+4, deteriorated): recovery no (GAD 12 >= 8);
       reliable improvement no (deterioration on the other); reliable deterioration no.
    c: PHQ 8->4 (-4), GAD 6->3 (-3): not a case at the first measurement -> not evaluable for
       recovery and reliable recovery, but evaluable for reliable improvement and deterioration
       (NHS Digital: their denominator is every finished course): neither change is reliable ->
       not met on both.
    d: one session -> fewer than 2 attended sessions -> not evaluable (not a finished course).
    e: PHQ 12->9 (-3), GAD 9->7 (-2): recovery yes (both below cutoffs) but no reliable
       improvement -> recovered, not reliably recovered."""
    rows = []
    for i, (p0, p1, g0, g1) in {
        "a": (15, 5, 12, 4),
        "b": (15, 8, 8, 12),
        "c": (8, 4, 6, 3),
        "e": (12, 9, 9, 7),
    }.items():
        rows += [(i, 1, "phq9", p0), (i, 2, "phq9", p1), (i, 1, "gad7", g0), (i, 2, "gad7", g1)]
    rows += [("d", 1, "phq9", 20), ("d", 1, "gad7", 15)]
    defs = [
        {"name": o, "family": "symptom", "rule": "nhs", "outcome": o}
        for o in ("recovery", "reliable_improvement", "reliable_recovery", "reliable_deterioration")
    ]
    st = status(cohort(rows), defs)["status"].unstack()
    assert st.loc["a"].to_dict() == {
        "recovery": "met",
        "reliable_improvement": "met",
        "reliable_recovery": "met",
        "reliable_deterioration": "not_met",
    }
    assert st.loc["b"].tolist() == ["not_met"] * 4
    assert st.loc["c", "recovery"] == st.loc["c", "reliable_recovery"] == "not_evaluable"
    assert st.loc["c", "reliable_improvement"] == st.loc["c", "reliable_deterioration"] == "not_met"
    assert (st.loc["d"] == "not_evaluable").all()
    assert st.loc["e", "recovery"] == "met" and st.loc["e", "reliable_recovery"] == "not_met"


def test_threshold_sustained_vs_momentary():
    """SRS >= 36 by session 3 and held 3 sessions. a: 30, 36, 37, 38 -> met from session 2.
    b: 36, 30, 36, 30 -> momentary crossings only -> not met. c: 30, 30, 30, 36, 37, 38 -> held
    from session 4, too late (by 3) -> not met. d: two sessions only -> not evaluable."""
    rows = [("a", t, "srs", v) for t, v in enumerate([30, 36, 37, 38], 1)]
    rows += [("b", t, "srs", v) for t, v in enumerate([36, 30, 36, 30], 1)]
    rows += [("c", t, "srs", v) for t, v in enumerate([30, 30, 30, 36, 37, 38], 1)]
    rows += [("d", t, "srs", v) for t, v in enumerate([38, 39], 1)]
    d = [
        {
            "name": "s",
            "family": "alliance",
            "rule": "threshold_sustained",
            "measure": "srs",
            "threshold": 36,
            "by": 3,
            "sustained": 3,
        }
    ]
    st = status(cohort(rows), d)
    assert st.loc[("a", "s"), "status"] == "met" and st.loc[("a", "s"), "first_met_time"] == 2
    assert st.loc[("b", "s"), "status"] == "not_met" and st.loc[("c", "s"), "status"] == "not_met"
    assert st.loc[("d", "s"), "status"] == "not_evaluable"


def test_growth_and_rupture_repair():
    """Growth (3 first vs 3 last, delta 3): a 30,31,32 | 35,36,37 -> +5 met; b flat -> not met.
    Rupture-repair (drop >= 5, repaired within 3): a never drops -> not evaluable (no rupture,
    not a failure); b 36 -> 30 (drop 6) at session 3,
    back to 36 at session 5 -> met at 5; c 36 -> 30 and never back -> not met."""
    rows = [("a", t, "srs", v) for t, v in enumerate([30, 31, 32, 35, 36, 37], 1)]
    rows += [("b", t, "srs", v) for t, v in enumerate([36, 36, 30, 33, 36, 36], 1)]
    rows += [("c", t, "srs", v) for t, v in enumerate([36, 36, 30, 31, 30, 31], 1)]
    defs = [
        {"name": "g", "family": "alliance", "rule": "growth", "measure": "srs", "delta": 3},
        {"name": "rr", "family": "alliance", "rule": "rupture_repair", "measure": "srs", "drop": 5},
    ]
    st = status(cohort(rows), defs)
    assert st.loc[("a", "g"), "status"] == "met" and st.loc[("b", "g"), "status"] == "not_met"
    assert st.loc[("a", "rr"), "status"] == "not_evaluable"
    assert st.loc[("b", "rr"), "status"] == "met" and st.loc[("b", "rr"), "first_met_time"] == 5
    assert st.loc[("c", "rr"), "status"] == "not_met"


def test_status_change_flag_and_band():
    """Employment 0 -> 1 met; 1 -> 1 not evaluable (already working); coping flag on at session 3;
    SDQ 18 (abnormal) -> 12 (normal) met; 12 -> 10 already normal -> not evaluable."""
    rows = [
        ("a", 1, "employment", 0),
        ("a", 2, "employment", 1),
        ("b", 1, "employment", 1),
        ("b", 2, "employment", 1),
        ("a", 1, "coping", 0),
        ("a", 2, "coping", 0),
        ("a", 3, "coping", 1),
        ("b", 1, "coping", 0),
        ("b", 2, "coping", 0),
        ("a", 1, "sdq_total", 18),
        ("a", 2, "sdq_total", 12),
        ("b", 1, "sdq_total", 12),
        ("b", 2, "sdq_total", 10),
    ]
    defs = [
        {"name": "work", "family": "functional", "rule": "status_change", "measure": "employment"},
        {"name": "cope", "family": "personal", "rule": "flag_count", "measure": "coping"},
        {
            "name": "sdq",
            "family": "child_family",
            "rule": "band_change",
            "measure": "sdq_total",
            "into": "normal",
        },
    ]
    st = status(cohort(rows), defs)
    assert st.loc[("a", "work"), "status"] == "met"
    assert st.loc[("b", "work"), "status"] == "not_evaluable"
    assert (
        st.loc[("a", "cope"), "first_met_time"] == 3
        and st.loc[("b", "cope"), "status"] == "not_met"
    )
    assert st.loc[("a", "sdq"), "status"] == "met"
    assert st.loc[("b", "sdq"), "reason"] == "already in the normal band at baseline"


def test_composites_and_primary():
    """Components for a: fx met (s2), pct met (s3); b: fx not met, pct met; c: not evaluable on
    both. any_of: a met (first 2), b met, c not evaluable. all_of: a met (first 3), b not met.
    2 of 2 = all_of. primary: a chose 'pct', b chose 'fx' -> a met, b not met; c has no choice."""
    rows = [
        ("a", 1, "phq9", 20),
        ("a", 2, "phq9", 13),
        ("a", 3, "phq9", 8),
        ("b", 1, "phq9", 20),
        ("b", 2, "phq9", 15),
        ("b", 3, "phq9", 10),
        ("c", 1, "phq9", 20),
    ]
    clients = pd.DataFrame({"id": list("abc"), "choice": ["pct", "fx", None]})
    defs = [
        {"name": "fx", "family": "symptom", "rule": "fixed_change", "measure": "phq9", "points": 7},
        {"name": "pct", "family": "symptom", "rule": "percentage_change", "measure": "phq9"},
        {"name": "any", "family": "composite", "rule": "any_of", "of": ["fx", "pct"]},
        {"name": "all", "family": "composite", "rule": "all_of", "of": ["fx", "pct"]},
        {"name": "k2", "family": "composite", "rule": "k_of_n", "of": ["fx", "pct"], "k": 2},
        {
            "name": "mine",
            "family": "composite",
            "rule": "primary",
            "column": "choice",
            "map": {"pct": "pct", "fx": "fx"},
        },
    ]
    st = status(cohort(rows, clients), defs)
    # b: 20 -> 10 is -10 (fx met at 7 points? 10 >= 7 yes) -- so b meets fx too
    assert st.loc[("a", "any"), "status"] == "met" and st.loc[("a", "any"), "first_met_time"] == 2
    assert st.loc[("a", "all"), "first_met_time"] == 3
    assert st.loc[("b", "fx"), "status"] == "met" and st.loc[("b", "all"), "status"] == "met"
    assert st.loc[("c", "any"), "status"] == "not_evaluable"
    assert st.loc[("a", "k2"), "status"] == st.loc[("a", "all"), "status"]
    assert st.loc[("a", "mine"), "status"] == "met"
    assert st.loc[("c", "mine"), "status"] == "not_evaluable"


def test_definitions_file_errors(tmp_path):
    base = {"name": "x", "family": "symptom", "rule": "fixed_change", "measure": "phq9"}
    with pytest.raises(ValueError, match=r"'x'.*unknown rule kind 'magic'"):
        validate_definitions({"definitions": [{**base, "rule": "magic"}]}, REG)
    with pytest.raises(ValueError, match=r"'x'.*unknown measure 'phq99' in key 'measure'"):
        validate_definitions({"definitions": [{**base, "measure": "phq99"}]}, REG)
    with pytest.raises(ValueError, match=r"'x'.*rule 'fixed_change' needs key 'measure'"):
        validate_definitions(
            {"definitions": [{k: v for k, v in base.items() if k != "measure"}]}, REG
        )
    with pytest.raises(ValueError, match=r"#1 \('\?'\): missing key 'name'"):
        validate_definitions({"definitions": [{"rule": "cutoff"}]}, REG)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['pionts'\]"):
        validate_definitions({"definitions": [{**base, "pionts": 6}]}, REG)
    with pytest.raises(ValueError, match="top level must be a mapping"):
        validate_definitions([base], REG)
    bad = tmp_path / "defs.yaml"
    bad.write_text(
        "definitions:\n  - name: y\n    family: symptom\n    rule: any_of\n    of: [zz]\n"
    )
    with pytest.raises(ValueError, match=r"defs.yaml: definition #1 \('y'\).*\['zz'\]"):
        load_definitions(bad)


def test_default_file_loads_and_skips_absent_measures():
    """On a PHQ-9-only cohort the default file computes the generic and PHQ-9 definitions and
    skips (with a reason) those whose measures are absent."""
    c = cohort(
        [
            ("a", 1, "phq9", 20),
            ("a", 2, "phq9", 4),
            ("b", 1, "phq9", 14),
            ("b", 2, "phq9", 12),
            ("c", 1, "phq9", 11),
            ("c", 2, "phq9", 12),
        ]
    )
    out = score_definitions(c, None, measure="phq9")
    assert {"remission", "response", "reliable_improvement", "below_caseness"} <= set(
        out["definition"]
    )
    # reasons name measures and definitions by their labels (shown in reports, issue 17)
    skipped = out.attrs["skipped"]
    assert skipped["wsas_reliable_improvement"] == "measure(s) not in the data: WSAS"
    assert skipped["ptsd_symptom_and_function"] == (
        "component(s) not computed: PCL-5 reliable improvement, WSAS reliable improvement"
    )
    assert out.groupby("definition", observed=True)["id"].nunique().eq(3).all()


def test_categorical_ids_give_the_same_table():
    """Large exports are best held with categorical ids and measure codes; the engine must give
    exactly the same table either way (seed 3, 300 simulated clients)."""
    from analysis.data.simulate import simulate_cohort

    print("seed 3")
    c = simulate_cohort(n_clients=300, n_therapists=10, seed=3, validate=False)
    plain = score_definitions(c, None, measure="phq9")
    cat = c.with_scores(c.scores.astype({"id": "category", "measure": "category"}))
    pd.testing.assert_frame_equal(plain, score_definitions(cat, None, measure="phq9"))
    assert plain["definition"].nunique() > 20


def test_definition_option_types_are_checked():
    """A value that is not a number names the definition and the key (not a bare float error)."""
    base = {"name": "r", "family": "symptom", "rule": "percentage_change", "measure": "phq9"}
    with pytest.raises(ValueError, match=r"\('r'\): key 'percent' must be a number, got 'fifty'"):
        validate_definitions({"definitions": [{**base, "percent": "fifty"}]}, REG)
    srs = {
        "name": "s",
        "family": "alliance",
        "rule": "threshold_sustained",
        "measure": "phq9",
        "threshold": 5,
        "sustained": 1.5,
    }
    with pytest.raises(ValueError, match=r"key 'sustained' must be a whole number"):
        validate_definitions({"definitions": [srs]}, REG)


def test_pairwise_agreement_with_one_definition_is_an_empty_table():
    from analysis.compare.agreement import pairwise_agreement

    c = cohort(
        [("a", 1, "phq9", 20), ("a", 2, "phq9", 4), ("b", 1, "phq9", 14), ("b", 2, "phq9", 12)]
    )
    out = score_definitions(
        c,
        [{"name": "r", "family": "symptom", "rule": "percentage_change", "measure": "phq9"}],
        registry=TEST_REG,
    )
    dis = pairwise_agreement(out)
    assert dis.empty and "percent_agree" in dis.columns


def test_reliable_deterioration_first_met():
    """PHQ-9, r = .84. Baselines 10, 10, 12: mean 10.667, squared deviations 0.444 + 0.444 +
    1.778 = 2.667, / 2 = 1.333, SD = 1.1547; S_diff = sqrt(2) * 1.1547 * sqrt(.16) = 0.6532, so
    1.96 * S_diff = 1.280 points.
    a: 10 -> 12 (+2, RCI 3.06) at session 2 -> 20: reliably deteriorated, first at session 2.
    b: 10 -> 10 -> 11 (+1, RCI 1.53): not reliable. c: 12 -> 8 -> 4: improved, not deteriorated."""
    c = cohort(
        [
            ("a", 1, "phq9", 10),
            ("a", 2, "phq9", 12),
            ("a", 3, "phq9", 20),
            ("b", 1, "phq9", 10),
            ("b", 2, "phq9", 10),
            ("b", 3, "phq9", 11),
            ("c", 1, "phq9", 12),
            ("c", 2, "phq9", 8),
            ("c", 3, "phq9", 4),
        ]
    )
    d = [
        {
            "name": "det",
            "family": "symptom",
            "rule": "reliable_change",
            "measure": "phq9",
            "reliability": 0.84,
            "direction": "deterioration",
        }
    ]
    st = status(c, d)
    assert st.loc[("a", "det"), "status"] == "met" and st.loc[("a", "det"), "first_met_time"] == 2
    assert st.loc[("b", "det"), "status"] == "not_met" and np.isnan(
        st.loc[("b", "det"), "first_met_time"]
    )
    assert st.loc[("c", "det"), "status"] == "not_met"
    out = score_definitions(c, d, registry=TEST_REG)
    assert out.attrs["details"]["det"]["s_diff"] == pytest.approx(0.65320, abs=1e-4)


def test_composite_denominators_every_combination():
    """Three parts (fixed change of 5 points on PHQ-9, GAD-7 and WSAS); per client each part is
    met (M: 20 -> 10), not met (N: 20 -> 18) or not evaluable (E: baseline only).

    client  parts   all_of  any_of  2_of_3
    c1      M M M   M       M       M  (3 met)
    c2      M N N   N       M       N  (1 met + 0 E < 2)
    c3      M E E   E       M       E  (1 met + 2 E could reach 2)
    c4      N N N   N       N       N
    c5      N N E   E       E       N  (0 met + 1 E < 2)
    c6      N E E   E       E       E  (0 + 2 could reach 2)
    c7      E E E   E       E       E
    c8      M M E   E       M       M
    c9      M N E   E       M       E  (1 + 1 could reach 2)
    Denominators (evaluable, met): all_of (3, 1): c1, c2, c4; any_of (6, 5): c1-c4, c8, c9;
    2_of_3 (5, 2): c1, c2, c4, c5, c8.
    """
    pattern = {"c1": "MMM", "c2": "MNN", "c3": "MEE", "c4": "NNN", "c5": "NNE", "c6": "NEE",
               "c7": "EEE", "c8": "MME", "c9": "MNE"}  # fmt: skip
    measures = ["phq9", "gad7", "wsas"]
    rows = []
    for cid, pat in pattern.items():
        for m, p in zip(measures, pat, strict=True):
            rows.append((cid, 1, m, 20))
            if p != "E":
                rows.append((cid, 2, m, 10 if p == "M" else 18))
    parts = [f"fx_{m}" for m in measures]
    defs = [
        *[{"name": f"fx_{m}", "family": "symptom", "rule": "fixed_change", "measure": m,
           "points": 5} for m in measures],
        {"name": "all", "family": "composite", "rule": "all_of", "of": parts},
        {"name": "any", "family": "composite", "rule": "any_of", "of": parts},
        {"name": "k2", "family": "composite", "rule": "k_of_n", "of": parts, "k": 2},
    ]  # fmt: skip
    out = score_definitions(cohort(rows), defs, registry=TEST_REG)
    st = out.pivot(index="id", columns="definition", values="status")
    code = {"met": "M", "not_met": "N", "not_evaluable": "E"}
    got = {c: "".join(code[st.loc[c, d]] for d in ("all", "any", "k2")) for c in pattern}
    assert got == {"c1": "MMM", "c2": "NMN", "c3": "EME", "c4": "NNN", "c5": "EEN",
                   "c6": "EEE", "c7": "EEE", "c8": "EMM", "c9": "EME"}  # fmt: skip
    ev = st.isin(["met", "not_met"]).sum()
    met = st.eq("met").sum()
    assert (ev["all"], met["all"]) == (3, 1)
    assert (ev["any"], met["any"]) == (6, 5)
    assert (ev["k2"], met["k2"]) == (5, 2)
    comp = out.loc[out["definition"] == "any"].set_index("id")
    assert comp.loc["c1", "measures"] == "phq9+gad7+wsas"
    # met at session 2 on every met part: composite first met and held from session 2
    assert comp.loc["c1", "met_time"] == 2 and comp.loc["c1", "first_met_time"] == 2
    assert np.isnan(comp.loc["c5", "met_time"])


def _nhs_ten_clients() -> Cohort:
    """The hand-worked ten-client NHS Talking Therapies table (see the test below)."""
    table = {
        # id: (end_reason, attended sessions, PHQ-9 first, last, GAD-7 first, last)
        "c01": ("planned", 8, 15, 4, 12, 3),
        "c02": ("planned", 6, 18, 12, 10, 9),
        "c03": ("dropout", 3, 12, 9, 9, 7),
        "c04": ("planned", 5, 8, 3, 6, 2),
        "c05": ("planned", 7, 14, 20, 11, 12),
        "c06": ("planned", 4, 16, 8, 9, 13),
        "c08": ("ongoing", 6, 17, 9, 12, 6),
        "c09": ("planned", 2, 10, 10, 8, 8),
        "c10": ("planned", 5, 5, 11, 4, 9),
    }
    rows = []
    for i, (_, _, p0, p1, g0, g1) in table.items():
        rows += [(i, 1, "phq9", p0), (i, 2, "phq9", p1), (i, 1, "gad7", g0), (i, 2, "gad7", g1)]
    rows += [("c07", 1, "phq9", 20), ("c07", 1, "gad7", 15)]
    clients = pd.DataFrame(
        {
            "id": [*table, "c07"],
            "end_reason": [v[0] for v in table.values()] + ["dropout"],
            "n_sessions": [v[1] for v in table.values()] + [1],
        }
    )
    return cohort(rows, clients)


NHS_DEFS = [
    {"name": o, "family": "symptom", "rule": "nhs", "outcome": o}
    for o in ("recovery", "reliable_improvement", "reliable_deterioration", "reliable_recovery")
]


def test_nhs_ten_clients_numerators_and_denominators():
    """NHS Digital formulas (Psychological Therapies: reports on the use of IAPT services, June
    2020, Outcomes): recovery = recovered / (finished courses - not at caseness at the first
    measurement) ("27,884 / (57,060 - 3,200)"); reliable improvement = reliably improved /
    finished courses ("39,417 / 57,060"); reliable deterioration likewise, reliably deteriorated /
    finished courses (NHS England's published computation of Percentage_ReliableDeterioration:
    github.com/nhsengland/Talking-Therapies, "Key Metrics Dashboard/KM monthly update.sql", over
    Count_FinishedCourseTreatment, the same denominator as Percentage_ReliableImprovement and
    without the not-at-caseness subtraction of recovery). Finished course = the
    referral ended (not ongoing) with at least 2 attended treatment sessions (NHS Digital
    glossary). Caseness PHQ-9 >= 10 or GAD-7 >= 8; reliable change PHQ-9 6, GAD-7 4 (inclusive).

    id   end      sess PHQ-9        GAD-7        finished case0 case1 RI  RD
    c01  planned  8    15->4 (-11)  12->3 (-9)   yes      yes   no    yes no
    c02  planned  6    18->12 (-6)  10->9 (-1)   yes      yes   yes   yes no
    c03  dropout  3    12->9 (-3)   9->7 (-2)    yes      yes   no    no  no
    c04  planned  5    8->3 (-5)    6->2 (-4)    yes      no    no    yes no
    c05  planned  7    14->20 (+6)  11->12 (+1)  yes      yes   yes   no  yes
    c06  planned  4    16->8 (-8)   9->13 (+4)   yes      yes   yes   no  no  (imp and det)
    c07  dropout  1    20           15           no (1 session)
    c08  ongoing  6    17->9 (-8)   12->6 (-6)   no (ongoing)
    c09  planned  2    10->10 (0)   8->8 (0)     yes      yes   yes   no  no
    c10  planned  5    5->11 (+6)   4->9 (+5)    yes      no    yes   no  yes

    Finished: c01 c02 c03 c04 c05 c06 c09 c10 = 8. Not a case at first: c04, c10 -> 8 - 2 = 6.
    Recovery: c01, c03 = 2 / 6 (33.3 %). Reliable improvement: c01, c02, c04 = 3 / 8 (37.5 %).
    Reliable deterioration: c05, c10 = 2 / 8 (25 %). Reliable recovery: c01 = 1 / 6 (16.7 %)."""
    out = score_definitions(_nhs_ten_clients(), NHS_DEFS, registry=TEST_REG)
    st = out.set_index(["definition", "id"])["status"]
    expected = {
        "recovery": ({"c01", "c03"}, 6),
        "reliable_improvement": ({"c01", "c02", "c04"}, 8),
        "reliable_deterioration": ({"c05", "c10"}, 8),
        "reliable_recovery": ({"c01"}, 6),
    }
    for name, (met, denominator) in expected.items():
        s = st.loc[name]
        assert set(s.index[s == "met"]) == met, name
        assert int(s.isin(["met", "not_met"]).sum()) == denominator, name
    reasons = out.set_index(["definition", "id"])["reason"]
    assert "ongoing" in reasons.loc[("recovery", "c08")]
    assert "fewer than 2 attended" in reasons.loc[("reliable_improvement", "c07")]
    assert "not a case" in reasons.loc[("recovery", "c04")]
    assert st.loc[("reliable_improvement", "c04")] == "met"  # evaluable although not a case


def test_remission_uses_published_threshold_not_caseness():
    """Registry: PHQ-9 case >= 10, remission < 5 (Psychiatr Serv 2020 71(4):312: "remission
    (PHQ-9 score <5)"); BDI-II case >= 14, remission < 10 (Wiles N. et al. 2014 Health Technol
    Assess 18(31): "BDI-II score of < 10"); HAM-D 17 remission <= 7 (Frank et al. 1991).
    a: PHQ 15 -> 4: remission met, below caseness met.  b: 15 -> 7: remission not met (7 >= 5),
    below caseness met (7 < 10).  c: 15 -> 5: remission not met (5 is not < 5), below caseness
    met.  d: 8 -> 2: not a case at baseline -> not evaluable for both.
    e: BDI-II 30 -> 12: below caseness only; f: 30 -> 9: both.
    h: HAM-D 20 -> 7: remitted (<= 7); i: 20 -> 8: not remitted.
    CES-D has no published remission threshold: the definition is not computed, with the reason;
    below caseness (< 16) is computed."""
    rows = []
    for i, (m, v0, v1) in {
        "a": ("phq9", 15, 4),
        "b": ("phq9", 15, 7),
        "c": ("phq9", 15, 5),
        "d": ("phq9", 8, 2),
        "e": ("bdi2", 30, 12),
        "f": ("bdi2", 30, 9),
        "g": ("cesd", 30, 5),
        "h": ("hamd17", 20, 7),
        "i": ("hamd17", 20, 8),
    }.items():
        rows += [(i, 1, m, v0), (i, 2, m, v1)]
    defs = []
    for m in ("phq9", "bdi2", "cesd", "hamd17"):
        defs += [
            {"name": f"rem_{m}", "family": "symptom", "rule": "remission", "measure": m},
            {"name": f"bc_{m}", "family": "symptom", "rule": "caseness_change", "measure": m},
        ]
    out = score_definitions(cohort(rows), defs, registry=TEST_REG)
    s = out.set_index(["id", "definition"])["status"]
    assert [s[("a", "rem_phq9")], s[("b", "rem_phq9")], s[("c", "rem_phq9")]] == [
        "met",
        "not_met",
        "not_met",
    ]
    assert [s[("a", "bc_phq9")], s[("b", "bc_phq9")], s[("c", "bc_phq9")]] == ["met"] * 3
    assert s[("d", "rem_phq9")] == s[("d", "bc_phq9")] == "not_evaluable"
    assert (s[("e", "rem_bdi2")], s[("e", "bc_bdi2")]) == ("not_met", "met")
    assert (s[("f", "rem_bdi2")], s[("f", "bc_bdi2")]) == ("met", "met")
    assert (s[("h", "rem_hamd17")], s[("i", "rem_hamd17")]) == ("met", "not_met")
    assert s[("g", "bc_cesd")] == "met"
    assert "rem_cesd" not in set(out["definition"])
    assert out.attrs["skipped"]["rem_cesd"].startswith("no published remission threshold")
    # remission on a cohort differs from below caseness: 1 of 3 PHQ-9 cases vs 3 of 3
    assert out.attrs["details"]["rem_phq9"]["threshold"] == "< 5"


def test_pcl5_reliable_improvement_uses_registry_reliable_change():
    """Registry PCL-5 reliable change 5 points (National Center for PTSD: 5-10 points, PCL for
    DSM-IV evidence): a drop of 6 is reliable improvement but not the 10-point meaningful change;
    a drop of 10 is both."""
    rows = [("a", 1, "pcl5", 50), ("a", 2, "pcl5", 44), ("b", 1, "pcl5", 50), ("b", 2, "pcl5", 40)]
    defs = [d for d in load_definitions() if d["name"].startswith("pcl5_")]
    s = status(cohort(rows), defs)["status"]
    assert s[("a", "pcl5_reliable_improvement")] == "met"
    assert s[("a", "pcl5_meaningful_change")] == "not_met"
    assert s[("b", "pcl5_meaningful_change")] == "met"


def test_srs_36_is_a_concern_not_strong():
    """Registry SRS: a score <= 36 flags an alliance concern (Duncan et al. 2003), so 36 cannot
    count as a strong session. a: 30, 37, 37, 38 -> strong from session 2, held 3 -> met.
    b: 30, 36, 36, 36 -> never above 36 -> not met."""
    rows = [("a", t, "srs", v) for t, v in enumerate([30, 37, 37, 38], 1)]
    rows += [("b", t, "srs", v) for t, v in enumerate([30, 36, 36, 36], 1)]
    d = [x for x in load_definitions() if x["name"] == "srs_strong_alliance"]
    out = score_definitions(cohort(rows), d, registry=REG)
    s = out.set_index(["id", "definition"])["status"]
    assert s[("a", "srs_strong_alliance")] == "met"
    assert s[("b", "srs_strong_alliance")] == "not_met"


def test_rupture_repair_denominator_is_clients_with_a_rupture():
    """WAI-SR drop >= 5 repaired within 3 sessions. a: 50, 44, 50 -> rupture repaired -> met.
    b: 50, 51, 52, 53 -> no rupture -> not evaluable (not a failure). c: 50, 44, 45, 46, 47 ->
    rupture not repaired within 3 sessions -> not met. d: 50, 50, 44 -> rupture at the last
    session, repair unobservable -> not evaluable. Denominator a, c = 2; met 1 (50 %), where
    counting b and d as failures would give 1 / 4."""
    rows = [("a", t, "wai_sr", v) for t, v in enumerate([50, 44, 50], 1)]
    rows += [("b", t, "wai_sr", v) for t, v in enumerate([50, 51, 52, 53], 1)]
    rows += [("c", t, "wai_sr", v) for t, v in enumerate([50, 44, 45, 46, 47], 1)]
    rows += [("d", t, "wai_sr", v) for t, v in enumerate([50, 50, 44], 1)]
    d = [x for x in load_definitions() if x["name"] == "wai_rupture_repair"]
    st = status(cohort(rows), d)
    s = st["status"]
    assert s[("a", "wai_rupture_repair")] == "met"
    assert s[("b", "wai_rupture_repair")] == "not_evaluable"
    assert "no rupture" in st["reason"][("b", "wai_rupture_repair")]
    assert s[("c", "wai_rupture_repair")] == "not_met"
    assert s[("d", "wai_rupture_repair")] == "not_evaluable"
    assert "too late" in st["reason"][("d", "wai_rupture_repair")]


def test_no_definition_cites_mission_map_and_stevens_is_one_citation():
    defs = load_definitions()
    for d in defs:
        src = str(d.get("source", ""))
        assert "Mission map" not in src, d["name"]
        if "Stevens" in src:
            assert "Am J Psychother 61(2):109-129" in src, d["name"]
    panel = [d["name"] for d in defs if "Successful Psychotherapy Outcome" in d["source"]]
    assert {"return_to_work", "coping_skill", "client_chosen"} <= set(panel)
    gbo = next(d for d in defs if d["name"] == "goal_progress")
    assert "unconfirmed" in gbo["label"] and "points" not in gbo


def test_every_nhs_description_states_its_denominator():
    nhs = [d for d in load_definitions() if d.get("rule") == "nhs"]
    assert len(nhs) == 4
    for d in nhs:
        assert "Denominator" in d["description"], d["name"]


#: registry entries each rule kind reads when the definition does not give the value itself
_USES = {
    "reliable_change": ("reliability",),
    "clinically_significant": ("reliability", "cutoff"),
    "fixed_change": ("reliable_change",),
    "mid": ("mcid",),
    "cutoff": ("cutoff",),
    "caseness_change": ("cutoff",),
    "remission": ("cutoff", "remission"),
    "band_change": ("bands",),
    "sudden_gain": ("reliable_change",),
}
_GIVEN = {
    "reliability": "reliability",
    "reliable_change": "points",
    "mcid": "mid",
    "cutoff": "cutoff",
}


def test_no_definition_uses_an_unconfirmed_registry_value_without_saying_so():
    """Every registry value a default definition relies on is confirmed, or the definition's
    label, description or source says "unconfirmed" (reports show those three)."""
    defs = load_definitions(measure="phq9")
    for d in defs:
        if d["rule"] == "nhs":
            used = [(m, k) for m in ("phq9", "gad7") for k in ("cutoff", "reliable_change")]
        elif d["rule"] == "threshold_sustained" and d.get("threshold") == "registry":
            used = [(d["measure"], "cutoff")]
        else:
            keys = _USES.get(d["rule"], ())
            used = [(d["measure"], k) for k in keys if _GIVEN.get(k, "-") not in d]
        text = " ".join(str(d.get(k, "")) for k in ("label", "description", "source")).lower()
        for m, key in used:
            entry = getattr(REG[m], key)
            if entry is not None and not entry.get("confirmed", False):
                assert "unconfirmed" in text, (d["name"], m, key)


def test_cutoff_type_and_registry_threshold_are_checked():
    base = {"name": "x", "family": "symptom", "measure": "phq9"}
    with pytest.raises(ValueError, match="cutoff_type"):
        validate_definitions(
            {"definitions": [{**base, "rule": "clinically_significant", "cutoff_type": "e"}]}, REG
        )
    with pytest.raises(ValueError, match="threshold"):
        validate_definitions(
            {"definitions": [{**base, "rule": "threshold_sustained", "threshold": "high"}]}, REG
        )
    ok = validate_definitions(
        {"definitions": [{**base, "rule": "threshold_sustained", "threshold": "registry"}]}, REG
    )
    assert ok[0]["threshold"] == "registry"


def test_held_on_ordered_rows_equals_group_min_max():
    """``_held`` on rows in client and time order (its run-based path, issue 14) gives what
    ``_first``/``_since`` (group min/max by ``ufunc.at``) give, with repeated times, clients
    without rows and clients whose criterion never or always holds; by hand on one client:
    times 1, 2, 3, 4 held at F, T, F, T -> first 2, held since 4."""
    from analysis.outcomes.rules import _first, _held, _since

    rows = pd.DataFrame({"pos": [0, 0, 0, 0], "time": [1.0, 2.0, 3.0, 4.0]})
    first, since = _held(rows, [False, True, False, True], 2)
    np.testing.assert_array_equal(first, [2.0, np.nan])
    np.testing.assert_array_equal(since, [4.0, np.nan])
    rng = np.random.default_rng(5)
    pos = np.sort(rng.integers(0, 3000, 40_000)).astype(np.int32)
    time = rng.integers(1, 12, len(pos)).astype(float)
    order = np.lexsort((time, pos))
    rows = pd.DataFrame({"pos": pos[order], "time": time[order]})
    for p_on in (0.0, 0.3, 0.8, 1.0):
        flag = rng.random(len(rows)) < p_on
        got = _held(rows, flag, 3100)
        ref = (_first(rows, flag, 3100), _since(rows, flag, 3100))
        for g, r in zip(got, ref, strict=True):
            np.testing.assert_array_equal(g, r)
        assert p_on in (0.0, 1.0) or (~np.isnan(got[1])).sum() > 100  # a real comparison


@pytest.mark.parametrize("shift", [0.0, 0.5])  # whole-number times, and times between them
def test_pair_sessions_equals_merge(shift):
    """The NHS pairing of two measures' rows by integer keys (issue 14) equals pandas' inner
    merge on (client position, time), in the order of the first measure's rows."""
    from analysis.outcomes.rules import _pair_sessions

    rng = np.random.default_rng(7)

    def view(n):  # a measure's view: rows (pos, time, score) and a baseline per client
        keys = np.unique(rng.integers(0, 500, n) * 100 + rng.integers(1, 25, n))
        pos, time = keys // 100, keys % 100 + shift
        rows = pd.DataFrame(
            {"pos": pos.astype(np.int32), "time": time.astype(float),
             "score": rng.integers(0, 27, len(keys)).astype(float)}
        )  # fmt: skip
        return {"rows": rows, "baseline": rng.integers(0, 27, 500).astype(float)}

    md, ma = view(6000), view(6000)
    got = _pair_sessions(md, ma)
    d = md["rows"].assign(baseline=md["baseline"][md["rows"]["pos"]])
    a = ma["rows"].assign(baseline=ma["baseline"][ma["rows"]["pos"]])
    ref = d.merge(a, on=["pos", "time"], suffixes=("_d", "_a"))
    assert 500 < len(got) < len(d)  # some sessions paired, some not
    assert list(got.columns) == ["pos", "time", "score_d", "baseline_d", "score_a", "baseline_a"]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), ref[got.columns], check_dtype=True)


def test_pair_sessions_merge_fallback_with_repeated_sessions():
    """A client with two rows at one time (no integer-key search): the pairing falls back to the
    merge, with each row's client baseline (the views do not repeat it on every row)."""
    from analysis.outcomes.rules import _pair_index, _pair_sessions

    d = pd.DataFrame({"pos": np.array([0, 0, 0, 1], np.int32), "time": [0.0, 1.0, 1.0, 0.0],
                      "score": [10.0, 7.0, 8.0, 12.0]})  # fmt: skip
    a = pd.DataFrame({"pos": np.array([0, 1, 1], np.int32), "time": [1.0, 0.0, 2.0],
                      "score": [5.0, 9.0, 6.0]})  # fmt: skip
    md = {"rows": d, "baseline": np.array([10.0, 12.0])}
    ma = {"rows": a, "baseline": np.array([np.nan, 9.0])}
    assert _pair_index(d, a) is None  # client 0 has two rows at time 1
    got = _pair_sessions(md, ma)
    # client 0 at time 1 twice (scores 7 and 8) with GAD 5; client 1 at time 0
    assert got[["pos", "time", "score_d", "baseline_d", "score_a"]].values.tolist() == [
        [0, 1.0, 7.0, 10.0, 5.0],
        [0, 1.0, 8.0, 10.0, 5.0],
        [1, 0.0, 12.0, 12.0, 9.0],
    ]
    assert np.isnan(got["baseline_a"].iloc[0]) and got["baseline_a"].iloc[2] == 9.0
