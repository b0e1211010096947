"""Alliance analyses: real IMPLEMENT trial data, hand formulas and a seeded synthetic cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _compare_synthetic import make_cohort

from analysis import alliance, outcomes

IMPLEMENT = "real/flueckiger2016_implement_alliance"  # under ANALYSIS_VALIDATION_DATA


@pytest.fixture(scope="module")
def implement_scores(validation_file) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IMPLEMENT (Flueckiger et al. 2016, EBioMedicine 3:163): mean of the 9 WAI items and mean
    of the 3 BAI parcels per patient x session, as long scores (values centred at t = 1, which
    leaves within-patient correlations and therapist variance shares unchanged)."""
    path = validation_file(f"{IMPLEMENT}/implement_sessions_long_centered.csv")
    raw = pd.read_csv(path)
    wai = (
        raw.filter(like="wai_")
        .mean(axis=1, skipna=True)
        .where(raw.filter(like="wai_").notna().sum(axis=1) >= 6)
    )
    bai = raw.filter(like="bai_").mean(axis=1).where(raw.filter(like="bai_").notna().all(axis=1))
    ids = "p" + raw["patient"].astype(str)
    scores = pd.concat(
        [
            pd.DataFrame(
                {"id": ids, "time": raw["t"].astype(float), "measure": "wai_sr", "score": wai}
            ),
            pd.DataFrame(
                {"id": ids, "time": raw["t"].astype(float), "measure": "bai", "score": bai}
            ),
        ],
        ignore_index=True,
    )
    clients = raw.drop_duplicates("patient").assign(id=lambda d: "p" + d["patient"].astype(str))
    return scores, clients[["id", "therapist"]]


def test_rm_corr_implement_equals_centred_pearson(implement_scores):
    """Repeated-measures r (pingouin) equals the Pearson r of patient-mean-centred WAI and BAI
    (Bakdash & Marusich 2017, eq. via the ANCOVA sums of squares), computed here with numpy."""
    scores, _ = implement_scores
    pairs = alliance.session_pairs(scores, "wai_sr", "bai")
    res = alliance.within_client_association(pairs).iloc[0]
    d = pairs.loc[pairs.groupby("id")["id"].transform("size") >= 2]
    x = d["alliance"] - d.groupby("id")["alliance"].transform("mean")
    y = d["symptom"] - d.groupby("id")["symptom"].transform("mean")
    r_hand = float(np.sum(x * y) / np.sqrt(np.sum(x**2) * np.sum(y**2)))
    assert res["r"] == pytest.approx(r_hand, abs=1e-10)
    assert res["dof"] == len(d) - d["id"].nunique() - 1
    assert res["ci_low"] < res["r"] < res["ci_high"]
    assert res["n_clients"] <= 57


def test_therapist_icc_implement_runs_and_is_a_share(implement_scores):
    scores, clients = implement_scores
    early = alliance.early_alliance(scores, "wai_sr", 3).merge(clients, on="id")
    icc, eff = alliance.therapist_icc(early, "early_alliance")
    assert icc.loc[0, "n_therapists"] == early["therapist"].nunique() == 13
    assert 0 <= icc.loc[0, "icc"] < 1
    assert len(eff) == 13 and eff["effect"].is_monotonic_increasing


def test_therapist_icc_equals_anova_estimator_when_balanced():
    """Balanced one-way design, 8 therapists x 10 clients: REML ICC = (MSB - MSW) /
    (MSB + (n - 1) MSW) with MSB = n * var(group means), MSW = pooled within variance."""
    seed = 11
    print("seed", seed)
    rng = np.random.default_rng(seed)
    k, n = 8, 10
    g = np.repeat(np.arange(k), n)
    y = rng.normal(0, 1, k)[g] + rng.normal(0, 2, k * n)
    d = pd.DataFrame({"therapist": g, "y": y})
    means = d.groupby("therapist")["y"].mean()
    msb = n * means.var(ddof=1)
    msw = ((d["y"] - d["therapist"].map(means)) ** 2).sum() / (k * n - k)
    assert msb > msw
    icc_anova = (msb - msw) / (msb + (n - 1) * msw)
    icc, _ = alliance.therapist_icc(d, "y")
    assert icc.loc[0, "icc"] == pytest.approx(icc_anova, abs=1e-4)


def test_early_alliance_predicts_success_recovers_dichotomised_correlation():
    """Latent outcome z = rho * A + sqrt(1 - rho^2) e; success = z above its median. The
    point-biserial r of success with A is rho * phi(0) / sqrt(.25) = .7979 rho (Cohen 1983):
    with rho = .35, r = .2793, which must lie in the 95 % CI; the partial r controlling for an
    unrelated severity must agree."""
    seed = 3
    print("seed", seed)
    rng = np.random.default_rng(seed)
    n, rho = 3000, 0.35
    a = rng.normal(0, 1, n)
    z = rho * a + np.sqrt(1 - rho**2) * rng.normal(0, 1, n)
    ids = [f"k{i}" for i in range(n)]
    o = pd.DataFrame(
        {
            "id": ids,
            "definition": "latent_split",
            "family": "symptom",
            "status": np.where(z > np.median(z), "met", "not_met"),
            "baseline": rng.normal(15, 4, n),
        }
    )
    early = pd.DataFrame({"id": ids, "early_alliance": 44 + 5 * a})
    r = alliance.alliance_predicts_outcomes(o, early).iloc[0]
    expected = rho * (1 / np.sqrt(2 * np.pi)) / 0.5
    assert r["r_ci_low"] < expected < r["r_ci_high"]
    assert r["partial_ci_low"] < expected < r["partial_ci_high"]


def test_alliance_outcome_definitions_by_hand():
    """Client x: 40, 50, 42, 51, 52, 53 -> threshold 48 first met at session 2; growth: last 3
    (51+52+53)/3 = 52 minus first 3 (40+50+42)/3 = 44 = 8 >= 4, met; rupture 50 -> 42 (drop 8),
    repaired at session 4 (51 >= 50). Client y: 45, 44, 43: no threshold, no growth (too few),
    no rupture."""
    scores = pd.DataFrame(
        {
            "id": ["x"] * 6 + ["y"] * 3,
            "time": [1, 2, 3, 4, 5, 6, 1, 2, 3.0],
            "measure": "wai_sr",
            "score": [40, 50, 42, 51, 52, 53, 45, 44, 43.0],
        }
    )
    clients = pd.DataFrame({"id": ["x", "y", "z"]})
    out = alliance.alliance_outcomes(
        scores,
        clients,
        threshold=48,
        by_session=6,
        early_sessions=3,
        growth_points=4,
        rupture_drop=4,
    )
    assert list(out.columns) == outcomes.OUTCOME_COLUMNS
    s = out.set_index(["definition", "id"])
    assert s.loc[("alliance_threshold", "x"), "status"] == "met"
    assert s.loc[("alliance_threshold", "x"), "first_met"] == 2
    assert s.loc[("alliance_threshold", "y"), "status"] == "not_met"
    assert s.loc[("alliance_growth", "x"), "status"] == "met"
    assert s.loc[("alliance_growth", "x"), "first_met"] == 6
    assert s.loc[("alliance_growth", "y"), "status"] == "not_evaluable"
    assert s.loc[("rupture_repair", "x"), "status"] == "met"
    assert s.loc[("rupture_repair", "x"), "first_met"] == 4
    assert s.loc[("rupture_repair", "y"), "status"] == "not_met"
    assert (s.xs("z", level="id")["status"] == "not_evaluable").all()


def test_next_change_and_inputs_unchanged_on_synthetic_cohort():
    c = make_cohort(n=150)
    before = c.scores.copy()
    pairs = alliance.session_pairs(c.scores, "wai_sr", "phq9")
    res = alliance.alliance_predicts_next_change(pairs).set_index("term")
    assert set(res.index) == {"alliance_within", "alliance_between", "symptom"}
    # higher symptoms now -> larger fall next session (regression to the trajectory): negative
    assert res.loc["symptom", "ci_high"] < 0
    pd.testing.assert_frame_equal(c.scores, before)
    with pytest.raises(ValueError, match="no observed scores"):
        alliance.early_alliance(c.scores, "srs")


@pytest.mark.slow
def test_simulated_alliance_outcome_correlation_recovers_generating_value():
    """On the simulated cohort (seed 2027, 5,000 clients), the partial correlation of early
    alliance (mean WAI-SR, sessions 1-3; analysis.alliance.early_alliance) with PHQ-9 change,
    baseline PHQ-9 held constant, has a 95 % CI that contains r = .278, the meta-analytic value the
    simulation is calibrated to (Flueckiger et al. 2018, Psychotherapy 55(4):316). Better alliance
    goes with a larger drop, so the correlation with change (post - baseline) is negative."""
    import pingouin as pg

    from analysis.outcomes import prepost
    from analysis.simulate import simulate_cohort

    print("seed 2027")
    sim = simulate_cohort(n_clients=5000, seed=2027)
    early = alliance.early_alliance(sim.scores, "wai_sr", 3)
    pp = prepost(sim.scores, sim.clients, "phq9")
    d = pp.merge(early, on="id").dropna(subset=["baseline", "post", "early_alliance"])
    d = d.assign(change=d["post"] - d["baseline"])
    res = pg.partial_corr(data=d, x="early_alliance", y="change", covar="baseline")
    lo, hi = pg.compute_esci(stat=float(res["r"].iloc[0]), nx=len(d), ny=len(d), eftype="r",
                             decimals=6)
    assert lo <= -0.278 <= hi, (res["r"].iloc[0], lo, hi)
    assert len(d) > 3000
