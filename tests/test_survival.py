"""Time to success against small examples worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _compare_synthetic import make_cohort

from analysis.compare import prevalence as stats
from analysis.compare import survival
from analysis.compare.survival import check_durations
from analysis.data.cohort import Cohort
from analysis.outcomes import engine as outcomes


def tte_frame(durations, types) -> pd.DataFrame:
    n = len(durations)
    return pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "definition": "d",
            "family": "symptom",
            "measures": "phq9",
            "duration": np.asarray(durations, float),
            "weeks": np.nan,
            "event": (np.asarray(types) == 1).astype(int),
            "event_type": np.asarray(types, int),
            "end_reason": "planned",
        }
    )


def test_kaplan_meier_median_by_hand():
    """Durations 1,2,2,3,4,5; met at 1, 2, 3, 5; censored at 2 and 4.
    S(1) = 5/6 = .8333; S(2) = .8333 * 4/5 = .6667 (the censored client at 2 is still at risk);
    S(3) = .6667 * 2/3 = .4444 <= .5, so the median is 3 sessions; S(5) = 0."""
    t = tte_frame([1, 2, 2, 3, 4, 5], [1, 1, 0, 1, 0, 1])
    km = survival.km_summary(t).iloc[0]
    assert km["median"] == 3.0 and km["n_met"] == 4 and km["n"] == 6
    cur = survival.km_curves(t).set_index("time")["proportion_met"]
    assert cur[1.0] == pytest.approx(1 / 6) and cur[2.0] == pytest.approx(1 / 3)
    assert cur[3.0] == pytest.approx(1 - 4 / 9) and cur[5.0] == pytest.approx(1.0)


def test_aalen_johansen_by_hand_with_tied_competing_events():
    """Durations 1,2,2,3,4,5 with types 1,2,1,0,1,2 (1 met, 2 dropout, 0 censored).
    t=1: n=6, one met: CIF = 1 * 1/6 = .1667; S = 5/6.
    t=2: n=5, one met and one dropout (tied): CIF += 5/6 * 1/5 = .1667 -> .3333; S = 5/6*3/5 = .5.
    t=3: censored.  t=4: n=2, one met: CIF += .5 * 1/2 = .25 -> .5833; S = .25.
    t=5: dropout: CIF stays .5833.  (1 - KM with dropout censored would give .6667 at t=4.)
    lifelines would jitter the tie at t=2 at random; the estimate must be exact and repeatable."""
    t = tte_frame([1, 2, 2, 3, 4, 5], [1, 2, 1, 0, 1, 2])
    cif = survival.cumulative_incidence(t).set_index("time")["cumulative_incidence"]
    assert cif[1.0] == pytest.approx(1 / 6, abs=1e-12)
    assert cif[2.0] == pytest.approx(1 / 3, abs=1e-12)
    assert cif[4.0] == pytest.approx(7 / 12, abs=1e-12)
    assert cif[5.0] == pytest.approx(7 / 12, abs=1e-12)
    km = survival.km_curves(t).set_index("time")["proportion_met"]
    assert km[4.0] == pytest.approx(1 - (5 / 6) * (4 / 5) * (1 / 2))  # 1-KM overstates: .6667
    c = survival.cumulative_incidence(t)
    assert (
        c["ci_low"].dropna() <= c.loc[c["ci_low"].notna(), "cumulative_incidence"] + 1e-12
    ).all()


def test_logrank_hand_worked_two_groups():
    """Group A: events at 1 and 2; group B: an event at 2, censored at 3.
    t=1: n=4 (2 A), d=1 (A): E_A = 1 * 2/4 = .5, V = 1 * (2/4)(2/4)(3/3) = .25.
    t=2: n=3 (1 A), d=2 (1 A): E_A = 2 * 1/3 = .6667, V = 2 * (1/3)(2/3)(1/2) = .2222.
    O_A - E_A = 2 - 1.1667 = .8333; chi2 = .8333^2 / .4722 = 1.4706 (1 df), p = .2253."""
    t = tte_frame([1, 2, 2, 3], [1, 1, 1, 0])
    clients = pd.DataFrame({"id": t["id"], "arm": ["A", "A", "B", "B"]})
    lr = survival.logrank_by_group(t, clients, "arm").iloc[0]
    assert lr["test_statistic"] == pytest.approx((5 / 6) ** 2 / (0.25 + 2 / 9), rel=1e-9)
    assert lr["p_value"] == pytest.approx(0.22530, abs=1e-4)
    assert lr["groups"] == "A;B" and lr["n_met"] == 3
    with pytest.raises(ValueError, match="not in the client table"):
        survival.logrank_by_group(t, clients, "site")


def _staggered_cohort() -> Cohort:
    """PHQ-9 with staggered baselines; response = at least 50 % below baseline.

    a: baseline session 1 (20); 12 (40 %), 8 (60 %), 9 (55 %) -> met; first met 3, held from 3.
    b: baseline session 3 (20); 9 (55 %) at 4, 12 (40 %) at 5, 8 (60 %) at 6 -> met; first met 4,
       held from 6 (the criterion was lost at 5).
    c: baseline session 2 (16); 14, 12 -> not met, last seen at 4, dropped out.
    d: baseline session 1 (18); 4 (78 %) at 2, 15 (17 %) at 3 -> not met at the end, first met 2.
    Durations from each client's own baseline, sustained event (met_time):
        a 3 - 1 = 2 (event), b 6 - 3 = 3 (event), c 4 - 2 = 2 (dropout), d 3 - 1 = 2 (censored).
    First-met event (first_met_time): a 2, b 4 - 3 = 1, c 2 (dropout), d 2 - 1 = 1 (event).
    Counting from the cohort's first session instead would give b 5 and c 3.
    Dates: weekly for a, c, d; every 14 days for b, so b's weeks are twice its sessions (6).
    """
    rows = [("a", 1, 20), ("a", 2, 12), ("a", 3, 8), ("a", 4, 9),
            ("b", 3, 20), ("b", 4, 9), ("b", 5, 12), ("b", 6, 8),
            ("c", 2, 16), ("c", 3, 14), ("c", 4, 12),
            ("d", 1, 18), ("d", 2, 4), ("d", 3, 15)]  # fmt: skip
    s = pd.DataFrame(rows, columns=["id", "time", "score"]).assign(measure="phq9")
    step = np.where(s["id"] == "b", 14, 7)
    s["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(step * (s["time"] - 1), unit="D")
    clients = pd.DataFrame(
        {"id": list("abcd"), "end_reason": ["planned", "planned", "dropout", "planned"]}
    )
    return Cohort(scores=s[["id", "time", "measure", "score", "date"]], clients=clients, name="st")


RESPONSE = [{"name": "response", "family": "symptom", "rule": "percentage_change",
             "measure": "phq9", "percent": 50}]  # fmt: skip


def test_time_to_event_from_each_clients_own_baseline():
    c = _staggered_cohort()
    o = outcomes.score_definitions(c, RESPONSE)
    t = survival.time_to_event(o, c.scores, c.clients).set_index("id")
    assert t["duration"].to_dict() == {"a": 2.0, "b": 3.0, "c": 2.0, "d": 2.0}
    assert t["event"].to_dict() == {"a": 1, "b": 1, "c": 0, "d": 0}
    assert t["event_type"].to_dict() == {"a": 1, "b": 1, "c": 2, "d": 0}
    assert t.loc["b", "start_time"] == 3 and t.loc["b", "weeks"] == pytest.approx(6.0)
    assert t.loc["a", "weeks"] == pytest.approx(2.0)
    f = survival.time_to_event(o, c.scores, c.clients, event="first_met").set_index("id")
    assert f["duration"].to_dict() == {"a": 2.0, "b": 1.0, "c": 2.0, "d": 1.0}
    assert f["event"].to_dict() == {"a": 1, "b": 1, "c": 0, "d": 1}
    assert t.attrs["event"] == "sustained" and survival.excluded_records(t).empty


def test_time_to_event_refuses_durations_not_after_baseline_naming_clients():
    c = _staggered_cohort()
    o = outcomes.score_definitions(c, RESPONSE)
    bad = o.copy()
    bad.loc[bad["id"] == "c", "post_time"] = 1.0  # before c's baseline at session 2
    with pytest.raises(ValueError, match=r"duration <= 0.*c \(response\)"):
        survival.time_to_event(bad, c.scores, c.clients)
    with pytest.raises(ValueError, match="event must be one of"):
        survival.time_to_event(o, c.scores, c.clients, event="first")


def test_nhs_and_composite_definitions_have_time_to_success():
    """NHS reliable improvement (PHQ-9 -6 or GAD-7 -4, deterioration on neither) and a composite.

    p: baseline session 2: PHQ 15, GAD 10; session 3: 14, 5 (GAD -5: improved); session 4: 8, 6
       (both improved) -> met, held from 3: duration 3 - 2 = 1.
    q: baseline session 1: PHQ 12, GAD 9; 11, 9; 11, 8 -> not met, censored at 3: duration 2.
    Composite all_of [nhs, response]: p's response: 15 -> 8 is 47 % -> not met, so the composite
    is not met for p (censored at 4 - 2 = 2) and for q (censored at 3 - 1 = 2).
    """
    rows = [("p", 2, "phq9", 15), ("p", 2, "gad7", 10), ("p", 3, "phq9", 14), ("p", 3, "gad7", 5),
            ("p", 4, "phq9", 8), ("p", 4, "gad7", 6),
            ("q", 1, "phq9", 12), ("q", 1, "gad7", 9), ("q", 2, "phq9", 11), ("q", 2, "gad7", 9),
            ("q", 3, "phq9", 11), ("q", 3, "gad7", 8)]  # fmt: skip
    s = pd.DataFrame(rows, columns=["id", "time", "measure", "score"])
    c = Cohort(scores=s, clients=pd.DataFrame({"id": ["p", "q"]}), name="nhs")
    defs = [
        {"name": "nhs_ri", "family": "symptom", "rule": "nhs", "outcome": "reliable_improvement"},
        *RESPONSE,
        {"name": "both", "family": "composite", "rule": "all_of", "of": ["nhs_ri", "response"]},
    ]
    o = outcomes.score_definitions(c, defs)
    assert o.loc[o["definition"] == "nhs_ri", "measures"].iloc[0] == "phq9+gad7"
    t = survival.time_to_event(o, c.scores, c.clients).set_index(["definition", "id"])
    assert t.loc[("nhs_ri", "p"), ["duration", "event"]].tolist() == [1.0, 1]
    assert t.loc[("nhs_ri", "q"), ["duration", "event"]].tolist() == [2.0, 0]
    assert t.loc[("both", "p"), ["duration", "event"]].tolist() == [2.0, 0]
    assert t.loc[("both", "q"), ["duration", "event"]].tolist() == [2.0, 0]


def test_sustained_share_equals_prevalence_when_nothing_is_censored_early():
    """Every client followed to session 10 (no dropout): the Kaplan-Meier share met by the end
    under the sustained event equals the share met in the outcomes table (notebook 01) exactly,
    for every definition; the first-met share can only be higher."""
    c = make_cohort(n=120, p_dropout=0.0)
    o = outcomes.score_outcomes(c, "phq9", reliability=0.84)
    prev = stats.prevalence(o).set_index("definition")
    t = survival.time_to_event(o, c.scores, c.clients)
    km = survival.km_summary(t).set_index("definition")
    share = prev["n_met"] / prev["n_evaluable"]
    assert np.allclose(km["proportion_met_end"], share.reindex(km.index), atol=1e-12)
    assert (km["n_met"] == prev["n_met"].reindex(km.index)).all()
    f = survival.km_summary(survival.time_to_event(o, c.scores, c.clients, event="first_met"))
    assert (
        f.set_index("definition")["proportion_met_end"] >= km["proportion_met_end"] - 1e-12
    ).all()


def test_separated_cox_model_is_reported_not_estimable():
    """x = 1 for the 10 clients with events at 1..10, x = 0 for 10 clients censored at 11..20:
    at every event time the client with the event has the largest x at risk (monotone
    likelihood, no finite hazard ratio); lifelines would report a huge HR."""
    t = tte_frame(list(range(1, 21)), [1] * 10 + [0] * 10)
    cov = pd.DataFrame({"id": t["id"], "x": [1.0] * 10 + [0.0] * 10})
    coef, ph = survival.cox_models(t, cov)
    assert len(coef) == 1 and np.isnan(coef.loc[0, "hazard_ratio"])
    assert coef.loc[0, "note"].startswith("not estimable: covariate 'x'")
    assert ph.empty
    # the same data with overlapping x is estimable
    cov2 = cov.assign(x=[1.0, 0.0] * 10)
    coef2, _ = survival.cox_models(t, cov2)
    assert np.isfinite(coef2.loc[0, "hazard_ratio"]) and coef2.loc[0, "note"] == ""


def test_cox_on_synthetic_cohort_recovers_the_arm_effect_direction():
    """The generator gives arm B +0.3 SD of improvement propensity: faster response in B."""
    c = make_cohort(n=300)
    o = outcomes.score_outcomes(c, "phq9", reliability=0.84)
    t = survival.time_to_event(o.loc[o["definition"] == "response"], c.scores, c.clients)
    cov = c.clients[["id", "arm"]].assign(chronic=c.clients["chronic"].astype(float))
    coef, ph = survival.cox_models(t, cov)
    arm = coef.set_index("covariate").loc["arm_B"]
    assert arm["hazard_ratio"] > 1 and arm["ci_low"] < arm["hazard_ratio"] < arm["ci_high"]
    assert set(ph["covariate"]) == {"chronic", "arm_B"}


def test_imputed_post_scores_keep_follow_up_and_count_clients_without_it():
    """bocf on the staggered cohort: c (dropout, 16 -> 12 at session 4) keeps its baseline as
    post (not met) but is followed to session 4: duration 4 - 2 = 2, a dropout. A client seen
    only at baseline (e, added here) has no time at risk: counted in attrs["excluded"], read
    with excluded_records."""
    c = _staggered_cohort()
    extra = pd.DataFrame({"id": ["e"], "time": [1.0], "measure": ["phq9"], "score": [20.0],
                          "date": [pd.Timestamp("2024-01-01")]})  # fmt: skip
    c = Cohort(
        scores=pd.concat([c.scores, extra], ignore_index=True),
        clients=pd.concat(
            [c.clients, pd.DataFrame({"id": ["e"], "end_reason": ["dropout"]})], ignore_index=True
        ),
        name="st",
    )
    o = outcomes.score_definitions(c, RESPONSE, missing="bocf")
    t = survival.time_to_event(o, c.scores, c.clients).set_index("id")
    assert t.loc["c", ["duration", "event", "event_type"]].tolist() == [2.0, 0, 2]
    assert "e" not in t.index
    ex = survival.excluded_records(t)
    assert ex.to_dict("records") == [
        {"definition": "response", "reason": "no assessment after baseline (post score imputed)",
         "n": 1}
    ]  # fmt: skip


# guard moved from data/io.py (issue 12): beside the models it guards


def test_check_durations():
    ok = pd.DataFrame({"t": [0.0, 3, 8], "e": [1, 0, 1]})
    assert check_durations(ok, "t", event="e") is ok
    with pytest.raises(ValueError, match=r"column 't': 1 duration\(s\) negative.*1: -2"):
        check_durations(pd.DataFrame({"t": [1.0, -2]}), "t")
    with pytest.raises(ValueError, match="missing or not a number"):
        check_durations(pd.DataFrame({"t": [1.0, None]}), "t")
    with pytest.raises(ValueError, match="event flag"):
        check_durations(pd.DataFrame({"t": [1.0, 2], "e": [1, 2]}), "t", event="e")


# hostile input (tester's findings): no record dropped silently, no crash on empty data


def test_time_to_event_output_prints_and_its_exclusions_read_back():
    """Guards: attrs["excluded"] used to hold a DataFrame, and pandas compares attrs when it
    prints a frame at a narrow width ("The truth value of a DataFrame is ambiguous"). The
    staggered cohort plus a client seen only at baseline (e): one record excluded."""
    c = _staggered_cohort()
    extra = pd.DataFrame({"id": ["e"], "time": [1.0], "measure": ["phq9"], "score": [20.0],
                          "date": [pd.Timestamp("2024-01-01")]})  # fmt: skip
    c = c.with_scores(pd.concat([c.scores, extra], ignore_index=True))
    c = Cohort(c.scores, pd.concat([c.clients, pd.DataFrame({"id": ["e"]})]), name="st")
    o = outcomes.score_definitions(c, RESPONSE, missing="bocf")
    t = survival.time_to_event(o, c.scores, c.clients)
    with pd.option_context("display.width", 80):
        assert "end_reason" in str(t) and "end_reason" in repr(t.head(2))
    assert survival.excluded_records(t).to_dict("records") == [
        {"definition": "response", "reason": "no assessment after baseline (post score imputed)",
         "n": 1}
    ]  # fmt: skip
    assert list(survival.excluded_records(pd.DataFrame()).columns) == ["definition", "reason", "n"]


def test_time_to_event_refuses_a_negative_landmark():
    """Guards: landmark=-2 used to return an empty result silently (every baseline lies after
    it)."""
    c = _staggered_cohort()
    o = outcomes.score_definitions(c, RESPONSE)
    for bad in (-2, float("nan"), float("inf"), "three"):
        with pytest.raises(ValueError, match="landmark must be a time point >= 0"):
            survival.time_to_event(o, c.scores, c.clients, landmark=bad)
    # landmark 2: a, c, d are followed past it without the event; b's baseline (3) is after it
    lm = survival.time_to_event(o, c.scores, c.clients, landmark=2)
    assert sorted(lm["id"]) == ["a", "c", "d"] and set(lm["start_time"]) == {2.0}
    assert survival.excluded_records(lm)["reason"].tolist() == ["baseline after the landmark (2)"]


def test_km_summary_of_no_record_has_its_columns():
    """Guards: km_summary on an empty time_to_event result (a baseline-only export) returned a
    frame without columns, and notebook 03 failed with KeyError: 'definition'."""
    empty = tte_frame([], []).iloc[:0]
    km = survival.km_summary(empty)
    assert list(km.columns) == list(survival.KM_SUMMARY_COLUMNS) and len(km) == 0
    assert km["definition"].tolist() == [] and km["n"].dtype == int
    lr = survival.logrank_by_group(empty, pd.DataFrame({"id": [], "arm": []}))
    assert "p_value" in lr.columns and len(lr) == 0


def test_records_without_a_duration_are_counted_not_dropped():
    """Guards: records with a missing duration (weeks without dates) used to vanish from n.
    Six records, weeks known for four (1, 2, 3, 4 weeks; met at 1 and 3): n = 4, n_met = 2,
    n_no_duration = 2; a definition with no week at all: n = 0, n_no_duration = 3."""
    t = tte_frame([1, 2, 3, 4, 5, 6], [1, 0, 1, 0, 1, 0])
    t["weeks"] = [1.0, 2.0, 3.0, 4.0, np.nan, np.nan]
    none = tte_frame([1, 2, 3], [1, 0, 1]).assign(definition="e")
    both = pd.concat([t, none], ignore_index=True)
    km = survival.km_summary(both, duration="weeks").set_index("definition")
    assert km.loc["d", ["n", "n_met", "n_no_duration"]].tolist() == [4, 2, 2]
    assert km.loc["e", ["n", "n_met", "n_no_duration"]].tolist() == [0, 0, 3]
    assert np.isnan(km.loc["e", "median"])
    cur = survival.km_curves(both, duration="weeks")
    assert set(cur["n_no_duration"]) == {2} and cur.attrs["n_no_duration"] == {"d": 2, "e": 3}
    cif = survival.cumulative_incidence(both, duration="weeks")
    assert cif.attrs["n_no_duration"] == {"d": 2, "e": 3}
    clients = pd.DataFrame({"id": both["id"].unique(), "arm": ["A", "B"] * 3})
    lr = survival.logrank_by_group(both, clients, duration="weeks").set_index("definition")
    assert lr.loc["d", "n_no_duration"] == 2 and lr.loc["d", "n"] == 4
    cov = pd.DataFrame({"id": clients["id"], "x": [1.0, 2, 3, 4, 5, 6]})
    coef, _ = survival.cox_models(both, cov, duration="weeks")
    assert coef.set_index("definition").loc["d", "n_no_duration"] == 2
    # with durations everywhere nothing is missing
    assert survival.km_summary(t)["n_no_duration"].tolist() == [0]
