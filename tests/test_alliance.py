"""Alliance analyses: real IMPLEMENT trial data, hand formulas and a seeded synthetic cohort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _compare_synthetic import make_cohort

from analysis.compare import alliance
from analysis.data.cohort import Cohort
from analysis.outcomes.engine import score_definitions

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
    assert res["n_clients"] == d["id"].nunique() and res["n_sessions"] == len(d)


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


def _landmark_cohort() -> Cohort:
    """Eight clients, PHQ-9 and WAI-SR at sessions 1-6 (all baselines at session 1).

    Clients h1-h4 have a high alliance (WAI-SR 48, 49, 50, 51 at every session) and reach PHQ-9 < 10
    (remission; baseline 20) at session 2 or 3, and stay there. Clients l1-l4 have a low alliance
    (30, 31, 32, 33) and never remit. Every success happens by session 3, so with the landmark L = 3
    no remitter is still at risk: the landmark set is l1-l4, all not met, and no association can
    be estimated. Without the landmark the same data give the point-biserial
    r = (M_met - M_not) / SD * sqrt(p q) with M_met = 49.5, M_not = 31.5, population SD over the
    8 clients sqrt((2 * (7.5^2 + 8.5^2 + 9.5^2 + 10.5^2)) / 8) = sqrt(82.25) = 9.0692, p = q = .5:
    r = 18 / 9.0692 * .5 = .99237, although every success came while the alliance was measured.
    """
    rows = []
    for i, cid in enumerate(["h1", "h2", "h3", "h4"]):
        met_at = 2 + (i % 2)  # sessions 2, 3, 2, 3
        for t in range(1, 7):
            rows.append((cid, t, "phq9", 20.0 if t < met_at else 5.0))
            rows.append((cid, t, "wai_sr", 48.0 + i))
    for j, cid in enumerate(["l1", "l2", "l3", "l4"]):
        for t in range(1, 7):
            rows.append((cid, t, "phq9", 19.0 + j - 0.5 * t))  # 18.5-21.5 down to 16-19
            rows.append((cid, t, "wai_sr", 30.0 + j))
    s = pd.DataFrame(rows, columns=["id", "time", "measure", "score"])
    return Cohort(scores=s, clients=pd.DataFrame({"id": list(dict.fromkeys(s["id"]))}), name="lm")


def test_landmark_alliance_shows_no_association_when_every_success_precedes_L():
    c = _landmark_cohort()
    defs = [
        {"name": "remission", "family": "symptom", "rule": "caseness_change", "measure": "phq9"},
        {
            "name": "wai_growth",
            "family": "alliance",
            "rule": "growth",
            "measure": "wai_sr",
            "delta": 3,
        },
    ]
    out = score_definitions(c, defs)
    early = alliance.early_alliance(c.scores, "wai_sr", 3)
    assert early.attrs["landmark"] == 3
    res = alliance.alliance_predicts_outcomes(out, early, min_n=3).set_index("definition")
    rem = res.loc["remission"]
    # landmark set: l1-l4 (h1-h4 met by session 3): 4 clients, none met, no estimate
    assert rem["n"] == 4 and rem["n_met"] == 0
    assert np.isnan(rem["r"]) and np.isnan(rem["partial_r"])
    assert rem["note"] == "every client has the same result"
    # an alliance definition never predicts itself
    assert bool(res.loc["wai_growth", "predictor_of_itself"])
    assert np.isnan(res.loc["wai_growth", "r"])
    # without the landmark (L before any assessment) the artefact appears
    naive = alliance.alliance_predicts_outcomes(out, early, min_n=3, landmark=0).set_index(
        "definition"
    )
    assert naive.loc["remission", "n"] == 8
    assert naive.loc["remission", "r"] == pytest.approx(18 / np.sqrt(82.25) * 0.5, abs=1e-9)


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
    alliance (mean WAI-SR, sessions 1-3; analysis.compare.alliance.early_alliance) with PHQ-9
    change,
    baseline PHQ-9 held constant, has a 95 % CI that contains r = .278, the meta-analytic value the
    simulation is calibrated to (Flueckiger et al. 2018, Psychotherapy 55(4):316). Better alliance
    goes with a larger drop, so the correlation with change (post - baseline) is negative."""
    import pingouin as pg

    from analysis.data.simulate import simulate_cohort
    from analysis.outcomes.engine import prepost

    print("seed 2027")
    sim = simulate_cohort(n_clients=5000, seed=2027)
    early = alliance.early_alliance(sim.scores, "wai_sr", 3)
    pp = prepost(sim.scores, sim.clients, "phq9")
    d = pp.merge(early, on="id").dropna(subset=["baseline", "post", "early_alliance"])
    d = d.assign(change=d["post"] - d["baseline"])
    res = pg.partial_corr(data=d, x="early_alliance", y="change", covar="baseline")
    lo, hi = pg.compute_esci(
        stat=float(res["r"].iloc[0]), nx=len(d), ny=len(d), eftype="r", decimals=6
    )
    assert lo <= -0.278 <= hi, (res["r"].iloc[0], lo, hi)
    assert len(d) > 3000


def test_client_chosen_definition_with_an_alliance_choice_is_listed_apart():
    """A client-chosen definition where one client chose the alliance definition uses alliance
    scores for that client, so the alliance cannot predict the definition as a whole."""
    c = _landmark_cohort()
    clients = c.clients.assign(choice=["symptom"] * 3 + ["alliance"] + ["symptom"] * 4)
    c = Cohort(scores=c.scores, clients=clients, name="lm")
    defs = [
        {"name": "remission", "family": "symptom", "rule": "caseness_change", "measure": "phq9"},
        {"name": "wai_growth", "family": "alliance", "rule": "growth", "measure": "wai_sr",
         "delta": 3},
        {"name": "mine", "family": "composite", "rule": "primary", "column": "choice",
         "map": {"symptom": "remission", "alliance": "wai_growth"}},
    ]  # fmt: skip
    out = score_definitions(c, defs)
    early = alliance.early_alliance(c.scores, "wai_sr", 3)
    res = alliance.alliance_predicts_outcomes(out, early, min_n=3).set_index("definition")
    assert bool(res.loc["mine", "predictor_of_itself"])
    assert not bool(res.loc["remission", "predictor_of_itself"])


def test_mixed_model_warnings_are_said_in_words():
    """statsmodels' MixedLM warnings reach the report's note column; a reviewer read "Check mle
    retvals" there. A constant outcome within groups puts the group variance on its boundary:
    the note says so in words, with no library phrasing."""
    import numpy as np
    import pandas as pd

    from analysis.compare.alliance import _fit_mixed

    rng = np.random.default_rng(2)
    d = pd.DataFrame({"grp": np.repeat(np.arange(10), 5), "y": rng.normal(size=50)})
    _, note = _fit_mixed("y ~ 1", d, "grp")  # no group effect in the data: boundary fit
    # statsmodels warns "covariance is singular", "on the boundary" and "not positive definite"
    assert note == (
        "a variance estimate is on its boundary (0); standard errors unreliable (Hessian not "
        "positive definite)"
    )
