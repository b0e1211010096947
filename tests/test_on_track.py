"""Expected recovery curves, the not-on-track signal and its performance.

Checks: the quantile-regression curves recover known generating curves on simulated data (seeded
below); cross-fitting keeps a client's own scores out of their expectation; the signal's
confusion table and Wilson intervals on a ten-client example worked by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.compare.on_track import (
    ExpectedRecovery,
    baseline_and_followup,
    end_status,
    on_track,
    signal_performance,
)

SEED = 20


def _simulate(n: int, curve, sd: float = 2.0, seed: int = SEED, p_missing: float = 0.15):
    """Sessions 0-12; baseline ~ U(10, 27); score = curve(baseline, session) + N(0, sd)."""
    rng = np.random.default_rng(seed)
    b = rng.uniform(10, 27, n)
    t = np.arange(13)
    d = pd.DataFrame({"id": np.repeat(np.arange(n), 13), "time": np.tile(t, n)})
    bb = np.repeat(b, 13)
    d["score"] = curve(bb, d["time"].to_numpy(float)) + rng.normal(0, sd, len(d))
    d.loc[d["time"] == 0, "score"] = bb[d["time"].to_numpy() == 0]  # baseline without noise
    drop = (rng.random(len(d)) < p_missing) & (d["time"] > 0)
    return d.loc[~drop].reset_index(drop=True)


def _log_curve(b, t):
    # in the model's family: b + (1 - 0.35 b) log(1 + t) + 0.05 b log(1 + t)^2 ... kept simple
    lg = np.log1p(t)
    return b + (1.0 - 0.35 * b) * lg + 0.04 * b * lg**2


def test_curves_recover_generating_curve():
    """1500 clients, seed 20, N(0, 2) noise: the median curve is within 0.5 points of the
    generating curve for baselines 12-25 at sessions 1-12, and the 80 % band within 0.5 points
    of curve +- 1.2816 * 2 = +- 2.563 (normal 10th/90th percentiles)."""
    print("seed", SEED)
    d = _simulate(1500, _log_curve)
    m = ExpectedRecovery(band=0.8).fit(d)
    b, t = np.meshgrid([12.0, 16.0, 20.0, 25.0], np.arange(1, 13, dtype=float))
    b, t = b.ravel(), t.ravel()
    p = m.predict(b, t)
    truth = _log_curve(b, t)
    np.testing.assert_allclose(p["expected"], truth, atol=0.5)
    np.testing.assert_allclose(p["upper"] - truth, 1.2816 * 2, atol=0.5)
    np.testing.assert_allclose(truth - p["lower"], 1.2816 * 2, atol=0.5)


def test_curves_recover_an_exponential_curve_outside_the_family():
    """Exponential recovery (not of the model's form): score = b - 0.4 b (1 - exp(-t / 3)).
    The fitted median stays within 1 point over sessions 1-12, baselines 12-25."""

    def curve(b, t):
        return b - 0.4 * b * (1 - np.exp(-t / 3))

    d = _simulate(1500, curve, seed=SEED + 1)
    m = ExpectedRecovery().fit(d)
    b, t = np.meshgrid([12.0, 18.0, 25.0], np.arange(1, 13, dtype=float))
    p = m.predict(b.ravel(), t.ravel())
    np.testing.assert_allclose(p["expected"], curve(b.ravel(), t.ravel()), atol=1.0)


def test_fit_is_wrong_on_a_wrong_curve():
    """Guard that the recovery test can fail: curves fitted to a flat cohort are more than
    2 points away from the recovering curve at session 12."""
    flat = _simulate(500, lambda b, t: b + 0 * t)
    p = ExpectedRecovery().fit(flat).predict([20.0], [12.0])
    assert abs(p["expected"].item() - _log_curve(20.0, 12.0)) > 2


def test_cross_fitting_own_data_never_set_own_expectation():
    """Changing client 0's follow-up scores (all +15) leaves client 0's expected scores and band
    unchanged (same folds); a fit on everyone would move them."""
    d = _simulate(300, _log_curve, seed=SEED + 2)
    a = on_track(d, folds=5, seed=3)
    d2 = d.copy()
    own = (d2["id"] == 0) & (d2["time"] > 0)
    d2.loc[own, "score"] += 15
    b = on_track(d2, folds=5, seed=3)
    cols = ["expected", "lower", "upper"]
    pd.testing.assert_frame_equal(a.loc[a["id"] == 0, cols], b.loc[b["id"] == 0, cols])
    naive = (
        ExpectedRecovery()
        .fit(d)
        .predict(a.loc[a["id"] == 0, "baseline"], a.loc[a["id"] == 0, "elapsed"])
    )
    naive2 = (
        ExpectedRecovery()
        .fit(d2)
        .predict(a.loc[a["id"] == 0, "baseline"], a.loc[a["id"] == 0, "elapsed"])
    )
    assert not np.allclose(naive["expected"], naive2["expected"])
    # client 0 is now far worse than expected: flagged at every follow-up session
    assert b.loc[b["id"] == 0, "not_on_track"].all()


def test_on_track_flags_scores_above_the_upper_band_and_keeps_input():
    d = _simulate(250, _log_curve, seed=SEED + 3)
    before = d.copy()
    t = on_track(d)
    pd.testing.assert_frame_equal(d, before)
    np.testing.assert_array_equal(t["not_on_track"], t["score"] > t["upper"])
    np.testing.assert_allclose(t["deviation"], t["score"] - t["expected"])
    # about 10 % of scores lie above the 90th percentile
    assert 0.06 < t["not_on_track"].mean() < 0.14
    # higher is better: the mirror image flags scores below the lower band
    hi = on_track(d.assign(score=40 - d["score"]), better_is="higher")
    np.testing.assert_array_equal(hi["not_on_track"], hi["score"] < hi["lower"])
    assert len(t) == len(baseline_and_followup(d))


def test_reference_cohort_is_used_as_fitted():
    ref = _simulate(600, _log_curve, seed=SEED + 4)
    new = _simulate(50, _log_curve, seed=SEED + 5)
    t = on_track(new, reference=ref)
    m = ExpectedRecovery().fit(ref)
    p = m.predict(t["baseline"], t["elapsed"])
    np.testing.assert_allclose(t["expected"], p["expected"])
    assert (t["fold"] == -1).all()


# Ten clients, hand-made on-track table (expected / upper / score per session).
#   id  flags before the last session      outcome   -> signal  cell
#   1   session 2                            fail       yes      TP
#   2   sessions 1 and 3                     fail       yes      TP
#   3   session 1                            fail       yes      TP
#   4   session 2                            success    yes      FP
#   5   only at the last session (3)         fail       no       FN
#   6   none                                 success    no       TN
#   7   none                                 success    no       TN
#   8   none                                 success    no       TN
#   9   only at the last session             success    no       TN
#   10  none                                 success    no       TN
# TP 3, FP 1, FN 1, TN 5: sensitivity 3/4, specificity 5/6, PPV 3/4, NPV 5/6.
# Wilson 95 % (z = 1.959964): 3/4 -> centre (0.75 + z^2/8) / (1 + z^2/4) = 0.62752,
# half-width z sqrt(0.75 * 0.25 / 4 + z^2 / 64) / (1 + z^2/4) = 0.32689 -> (0.30064, 0.95441);
# 5/6 -> (0.43650, 0.96995).
FLAGS = {1: [2], 2: [1, 3], 3: [1], 4: [2], 5: [4], 6: [], 7: [], 8: [], 9: [4], 10: []}
SUCCESS = {1: False, 2: False, 3: False, 4: True, 5: False, 6: True, 7: True, 8: True, 9: True,
           10: True}  # fmt: skip


def _ten_client_track() -> pd.DataFrame:
    rows = []
    for cid, flags in FLAGS.items():
        for s in (1, 2, 3, 4):
            expected, upper = 20 - 2 * s, 23 - 2 * s
            score = upper + 1 if s in flags else expected - 1
            rows.append((cid, s, score, expected, upper, score > upper))
    return pd.DataFrame(rows, columns=["id", "time", "score", "expected", "upper", "not_on_track"])


def test_ten_client_confusion_table_by_hand():
    st = end_status(_ten_client_track())
    assert st["signal"].tolist() == [True, True, True, True, False, False, False, False, False,
                                     False]  # fmt: skip
    assert st.loc[st["id"] == 2, "first_signal_time"].item() == 1
    assert st.loc[st["id"] == 2, "n_signals"].item() == 2
    oc = pd.DataFrame({"id": list(SUCCESS), "success": list(SUCCESS.values())})
    r = signal_performance(st, oc, success="success").set_index("measure")
    assert r.loc["sensitivity", ["tp", "fp", "fn", "tn"]].tolist() == [3, 1, 1, 5]
    assert r["estimate"].tolist() == pytest.approx([3 / 4, 5 / 6, 3 / 4, 5 / 6])
    assert r.loc["sensitivity", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.30064, 0.95441], abs=1e-5
    )
    assert r.loc["specificity", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [0.43650, 0.96995], abs=1e-5
    )


def test_signal_by_session_and_tidy_outcomes():
    """Up to session 1 only clients 2 and 3 have a signal (TP 2, FP 0, FN 2, TN 6); the tidy
    outcomes table (met / not_met / not_evaluable) gives one block per definition and leaves
    not-evaluable clients out."""
    st = end_status(_ten_client_track(), by=1)
    assert st.loc[st["signal"], "id"].tolist() == [2, 3]
    tidy = pd.DataFrame(
        {
            "id": list(SUCCESS) * 2,
            "definition": ["a"] * 10 + ["b"] * 10,
            "status": ["met" if v else "not_met" for v in SUCCESS.values()]
            + ["not_evaluable"]
            + ["met"] * 9,
        }
    )
    r = signal_performance(st, tidy)
    a = r.loc[(r["definition"] == "a") & (r["measure"] == "sensitivity")]
    assert a[["tp", "fp", "fn", "tn"]].to_numpy().tolist() == [[2, 0, 2, 6]]
    b = r.loc[(r["definition"] == "b") & (r["measure"] == "specificity")]
    assert b[["n", "count"]].to_numpy().tolist() == [[9, 7]]  # client 1 not evaluable
    assert np.isnan(r.loc[(r["definition"] == "b") & (r["measure"] == "sensitivity"),
                          "estimate"].item())  # fmt: skip


def test_better_than_expected_at_end():
    st = end_status(_ten_client_track())
    # last scores: flagged at 4 -> upper + 1 = 16 > expected 12 (worse); else 11 < 12 (better)
    assert st.set_index("id")["better_than_expected"].to_dict() == {
        i: i not in (5, 9) for i in range(1, 11)
    }


def test_errors_name_columns():
    d = pd.DataFrame({"id": [1], "time": [0], "score": [3]})
    with pytest.raises(ValueError, match="'phq9'"):
        on_track(d, score="phq9")
    with pytest.raises(ValueError, match="too few"):
        ExpectedRecovery().fit(d)
    with pytest.raises(ValueError, match="success="):
        signal_performance(pd.DataFrame({"id": [1], "signal": [True]}), d)
    with pytest.raises(ValueError, match="folds"):
        on_track(d, folds=1)


def test_signal_performance_by_session_ten_clients():
    """Signals counted up to session 1: clients 2, 3 (TP 2 of 4 non-successes); up to 2 and 3:
    clients 1-4 (TP 3, FP 1). Sensitivity 2/4, 3/4, 3/4."""
    from analysis.compare.on_track import signal_performance_by_session

    oc = pd.DataFrame({"id": list(SUCCESS), "success": list(SUCCESS.values())})
    r = signal_performance_by_session(_ten_client_track(), oc, success="success")
    sens = r.loc[r["measure"] == "sensitivity"]
    assert sens["by"].tolist() == [1.0, 2.0, 3.0]
    assert sens["estimate"].tolist() == [0.5, 0.75, 0.75]
    assert r.loc[r["measure"] == "ppv", "fp"].tolist() == [0, 1, 1]


def test_no_session_to_compare_says_not_computed():
    """Guards (tester's finding): empty data raised pandas' "No objects to concatenate"; now a
    NotComputedError (a ValueError) gives the reason, also when every client has only a
    baseline score; a band of 1.5 is refused before the data are looked at."""
    from analysis.outcomes.prepost import NotComputedError

    empty = pd.DataFrame({"id": [], "time": [], "score": []})
    with pytest.raises(NotComputedError, match="the data have no rows"):
        on_track(empty)
    baseline_only = pd.DataFrame({"id": [1, 2], "time": [0.0, 0.0], "score": [12.0, 20.0]})
    with pytest.raises(NotComputedError, match="no client has a score after their baseline"):
        on_track(baseline_only)
    with pytest.raises(ValueError, match=r"band must lie in \(0, 1\), got 1.5"):
        on_track(empty, band=1.5)
