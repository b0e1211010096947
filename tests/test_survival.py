"""Time to success against small examples worked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _compare_synthetic import make_cohort

from analysis import outcomes, survival


def tte_frame(durations, types) -> pd.DataFrame:
    n = len(durations)
    return pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "definition": "d",
            "family": "symptom",
            "measure": "phq9",
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


def test_time_to_event_durations_weeks_and_censoring():
    c = make_cohort(n=40)
    o = outcomes.score_outcomes(c, "phq9", reliability=0.84)
    t = survival.time_to_event(o, c.scores, c.clients)
    ev = o.loc[o["status"].isin(["met", "not_met"])]
    assert len(t) == len(ev)
    r = t.merge(o, on=["id", "definition"])
    met = r["first_met"].notna()
    # baseline is session 1: duration = first_met - 1 sessions; weekly sessions -> same in weeks
    assert np.allclose(r.loc[met, "duration"], r.loc[met, "first_met"] - 1)
    assert np.allclose(r["weeks"], r["duration"])
    drop = r["id"].map(c.clients.set_index("id")["end_reason"]).eq("dropout")
    assert (r.loc[~met & drop, "event_type"] == 2).all()
    assert (r.loc[~met & ~drop, "event_type"] == 0).all() and (r.loc[met, "event_type"] == 1).all()
    last = (
        c.scores.loc[(c.scores.measure == "phq9") & c.scores.score.notna()]
        .groupby("id")["time"]
        .max()
    )
    assert np.allclose(r.loc[~met, "duration"], r.loc[~met, "id"].map(last) - 1)


def test_logrank_and_cox_on_synthetic_cohort():
    c = make_cohort(n=300)
    o = outcomes.score_outcomes(c, "phq9", reliability=0.84)
    t = survival.time_to_event(o, c.scores, c.clients)
    lr = survival.logrank_by_group(t, c.clients, "arm")
    assert set(lr["groups"]) == {"A;B"} and lr["p_value"].between(0, 1).all()
    cov = c.clients[["id", "arm"]].assign(chronic=c.clients["chronic"].astype(float))
    coef, ph = survival.cox_models(t, cov)
    assert set(coef["covariate"]) == {"chronic", "arm_B"}
    assert (coef["ci_low"] < coef["hazard_ratio"]).all() and (
        coef["hazard_ratio"] < coef["ci_high"]
    ).all()
    assert set(ph["covariate"]) == {"chronic", "arm_B"} and ph["p_value"].between(0, 1).all()
    with pytest.raises(ValueError, match="not in the client table"):
        survival.logrank_by_group(t, c.clients, "site")
