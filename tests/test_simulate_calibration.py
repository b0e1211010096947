"""Calibration of the simulated cohort against published figures (slow: 20,000 clients).

Every target and tolerance comes from issue 4 and ``../shared/docs/reference-values.md``. The
outcome rules are implemented here as small private helpers (the ``outcomes`` module will own them).
Seed printed below; one cohort is generated per test session (module fixture).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from analysis.data.simulate import simulate_cohort

SEED = 20260
N_CLIENTS = 20_000


def _first_last(scores: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Score at session 1 (``pre``) and at the last session with a score (``post``, ``t_post``)."""
    s = scores.loc[
        (scores["measure"] == measure) & scores["score"].notna(), ["id", "time", "score"]
    ]
    s = s.sort_values(["id", "time"])
    g = s.groupby("id", sort=True)
    pre = s.loc[s["time"] == 1].set_index("id")["score"]
    return pd.DataFrame({"pre": pre, "post": g["score"].last(), "t_post": g["time"].last()}).dropna(
        subset=["pre"]
    )


def _episodes(cohort) -> pd.DataFrame:
    """One row per client with PHQ-9 / GAD-7 pre and post, therapist, end reason and sessions."""
    phq = _first_last(cohort.scores, "phq9").add_prefix("phq_")
    gad = _first_last(cohort.scores, "gad7").add_prefix("gad_")
    wai = (
        cohort.scores.loc[(cohort.scores["measure"] == "wai_sr") & (cohort.scores["time"] <= 3)]
        .groupby("id")["score"]
        .mean()
        .rename("wai_early")
    )
    cl = cohort.clients.set_index("id")[["therapist", "end_reason", "n_sessions"]]
    return cl.join(phq).join(gad).join(wai)


def _nhs_tt(ep: pd.DataFrame) -> tuple[float, float, int]:
    """NHS Talking Therapies recovery and reliable improvement (in %).

    Rules (NHS Talking Therapies Manual, 2024, v7; reference-values.md section 2): finished
    treatment (planned ending or dropout) with at least two sessions; caseness PHQ-9 >= 10 or
    GAD-7 >= 8 at the first session; recovery = case at start and below both cutoffs at the end;
    reliable improvement = PHQ-9 drop >= 6 or GAD-7 drop >= 4, with no reliable deterioration
    (rise >= 6 / >= 4) on the other measure.
    """
    d = ep.loc[(ep["end_reason"] != "ongoing") & (ep["n_sessions"] >= 2)]
    d = d.loc[(d["phq_t_post"] > 1) & (d["gad_t_post"] > 1)]
    case0 = (d["phq_pre"] >= 10) | (d["gad_pre"] >= 8)
    d = d.loc[case0]
    case1 = (d["phq_post"] >= 10) | (d["gad_post"] >= 8)
    dp, dg = d["phq_pre"] - d["phq_post"], d["gad_pre"] - d["gad_post"]
    improved = (dp >= 6) | (dg >= 4)
    deteriorated = (dp <= -6) | (dg <= -4)
    return 100 * float((~case1).mean()), 100 * float((improved & ~deteriorated).mean()), len(d)


def _ps_sample(ep: pd.DataFrame) -> pd.DataFrame:
    """The Psychiatric Services 2020 sample: baseline PHQ-9 >= 10 and a follow-up PHQ-9 at least
    two weeks later (the paper: 14-180 days after initiation; here the last score of a finished
    course, at session >= 3)."""
    return ep.loc[(ep["end_reason"] != "ongoing") & (ep["phq_pre"] >= 10) & (ep["phq_t_post"] >= 3)]


def effect_size(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Pre-post effect size per client: (pre - post) / SD(pre), SD of the baseline scores of the
    sample (ddof 1). Psychiatr Serv 2020 71(4):312 (abstract: success = effect size >= 0.8).

    Hand check: pre (10, 14, 18), post (5, 14, 9): SD(pre) = 4, so (1.25, 0, 2.25).
    """
    return (pre - post) / np.std(pre, ddof=1)


def severity_adjusted_effect_size(pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Severity-adjusted effect size (SAES) per client.

    The paper's full text (Psychiatr Serv 2020 71(4):312, doi:10.1176/appi.ps.201900295) was not
    available; its abstract names SAES >= 0.8 without a formula. The definition used is the
    secondary description of ACORN, where SAES comes from
    (http://psychoutcomes.org/OutcomesMeasurement/SeverityAdjustedEffectSize): the residualised
    gain (change minus the change predicted by a linear model of change on the intake score)
    added to the mean change of the reference sample (here: the sample itself), divided by the
    SD of the reference sample's intake scores:
    SAES_i = (mean(change) + change_i - (a + b * pre_i)) / SD(pre).

    Hand check: pre (10, 14, 18), post (5, 14, 9): change (5, 0, 9), OLS of change on pre:
    b = 0.5, a = -2.33; fitted (2.67, 4.67, 6.67); residuals (2.33, -4.67, 2.33); mean change
    4.67; SD(pre) 4: SAES (1.75, 0, 1.75).
    """
    change = pre - post
    slope, icpt = np.polyfit(pre, change, 1)
    return (change.mean() + change - (icpt + slope * pre)) / np.std(pre, ddof=1)


def success_indicators(pre: np.ndarray, post: np.ndarray) -> dict[str, np.ndarray]:
    """The four success metrics of Psychiatr Serv 2020 71(4):312 (abstract): effect size >= 0.8,
    SAES >= 0.8, response = at least 50 % reduction, remission = PHQ-9 < 5 at follow-up."""
    return {
        "es": effect_size(pre, post) >= 0.8,
        "saes": severity_adjusted_effect_size(pre, post) >= 0.8,
        "response": post <= 0.5 * pre,
        "remission": post < 5,
    }


def severity_odds_ratio(success: np.ndarray, pre: np.ndarray) -> float:
    """Odds ratio of success per 10 baseline points: logistic regression (statsmodels Logit)
    of the success indicator on baseline / 10, as in Psychiatr Serv 2020 71(4):312."""
    x = sm.add_constant(pre / 10.0)
    fit = sm.Logit(success.astype(float), x).fit(disp=0)
    return float(np.exp(fit.params[1]))


def _psychserv(ep: pd.DataFrame) -> dict[str, float]:
    """Rates (%) and severity odds ratios of the four metrics on the paper's sample."""
    d = _ps_sample(ep)
    pre, post = d["phq_pre"].to_numpy(float), d["phq_post"].to_numpy(float)
    out: dict[str, float] = {"n": len(d)}
    for key, ok in success_indicators(pre, post).items():
        out[key] = 100 * float(ok.mean())
        out[f"or_{key}"] = severity_odds_ratio(ok, pre)
    return out


def _alliance_r(ep: pd.DataFrame) -> float:
    """Pearson r of early alliance (mean WAI-SR, sessions 1-3) with residual PHQ-9 improvement.

    Residual improvement = minus the residual of post regressed on pre (higher = better than
    expected). Sample: finished courses with at least four sessions (outcome after the early
    window). Target r = .278 (Flueckiger et al. 2018, Psychotherapy 55:316).
    """
    d = ep.loc[(ep["end_reason"] != "ongoing") & (ep["n_sessions"] >= 4)].dropna(
        subset=["phq_pre", "phq_post", "wai_early"]
    )
    slope, icpt = np.polyfit(d["phq_pre"], d["phq_post"], 1)
    resid = -(d["phq_post"] - (icpt + slope * d["phq_pre"]))
    return float(np.corrcoef(d["wai_early"], resid)[0, 1])


def _therapist_icc(ep: pd.DataFrame) -> float:
    """Therapist share of outcome variance (%): random-intercept model (statsmodels MixedLM) of
    post PHQ-9 adjusted for pre PHQ-9, finished courses with at least two sessions;
    ICC = var(therapist) / (var(therapist) + residual variance)."""
    d = ep.loc[(ep["end_reason"] != "ongoing") & (ep["phq_t_post"] > 1)]
    fit = smf.mixedlm("phq_post ~ phq_pre", d, groups=d["therapist"]).fit(reml=True)
    tau2 = float(fit.cov_re.iloc[0, 0])
    return 100 * tau2 / (tau2 + float(fit.scale))


def calibration_summary(cohort) -> dict[str, float]:
    """All calibration statistics of a cohort (used by the tests and printed by them)."""
    ep = _episodes(cohort)
    rec, ri, n_tt = _nhs_tt(ep)
    ended = cohort.clients.loc[cohort.clients["end_reason"] != "ongoing"]
    out = {
        "recovery": rec,
        "reliable_improvement": ri,
        "n_nhs_tt": n_tt,
        "alliance_r": _alliance_r(ep),
        "therapist_icc": _therapist_icc(ep),
        "dropout": 100 * float((ended["end_reason"] == "dropout").mean()),
        "sessions_completers": float(
            ended.loc[ended["end_reason"] == "planned", "n_sessions"].mean()
        ),
    }
    out.update({f"ps_{k}": v for k, v in _psychserv(ep).items()})
    return out


@pytest.fixture(scope="module")
def summary() -> dict[str, float]:
    print(f"calibration cohort: seed {SEED}, {N_CLIENTS} clients, 80 therapists")
    cohort = simulate_cohort(n_clients=N_CLIENTS, seed=SEED, validate=False)
    s = calibration_summary(cohort)
    print({k: round(v, 3) for k, v in s.items()})
    return s


pytestmark = pytest.mark.slow


def test_nhs_tt_recovery(summary):
    """NHS TT 2017-18 recovery 50.8 % (reference-values.md section 3 ~); target 50 +/- 4."""
    assert abs(summary["recovery"] - 50) <= 4


def test_nhs_tt_reliable_improvement(summary):
    """NHS TT 2017-18 reliable improvement 66.4 % (reference-values.md section 3 ~); 66 +/- 4."""
    assert abs(summary["reliable_improvement"] - 66) <= 4


def test_alliance_outcome_correlation(summary):
    """Flueckiger et al. (2018) Psychotherapy 55:316: r = .278 [.256, .299]; target .28 +/- .05."""
    assert abs(summary["alliance_r"] - 0.28) <= 0.05


def test_therapist_effect(summary):
    """Johns et al. (2019) Clin Psychol Rev 67:78: 5 % of outcome variance; target 5 +/- 3 %."""
    assert abs(summary["therapist_icc"] - 5) <= 3


def test_dropout_rate(summary):
    """Swift & Greenberg (2012) JCCP 80:547: 19.7 %, higher in routine care; target 20-40 %."""
    assert 20 <= summary["dropout"] <= 40


def test_sessions_among_completers(summary):
    """NHS TT 2017-18: mean 6.8 sessions (reference-values.md section 3 ~); target 6-9."""
    assert 6 <= summary["sessions_completers"] <= 9


# Psychiatr Serv 2020 71(4):312-318 (doi:10.1176/appi.ps.201900295), abstract: 5,554 psychotherapy
# episodes, baseline PHQ-9 >= 10. Rates: effect size >= 0.8 72 %, SAES >= 0.8 66 %, response 46 %,
# remission 22 %. Odds ratios per 10 baseline points: effect size 2.3, SAES 0.61, remission 0.43,
# response not associated with baseline. Tolerances: issue 15 (rates +/- 5 points; odds ratios in
# the ranges below).
PS_RATES = {"es": 72, "saes": 66, "response": 46, "remission": 22}


@pytest.mark.parametrize(("key", "target"), list(PS_RATES.items()))
def test_psychiatric_services_2020_rates(summary, key, target):
    """Each success rate within 5 points of the published one (Psychiatr Serv 2020, abstract)."""
    assert abs(summary[f"ps_{key}"] - target) <= 5


def test_psychiatric_services_2020_order(summary):
    """The published order: effect size (72) > SAES (66) > response (46) > remission (22)."""
    r = [summary[f"ps_{k}"] for k in ("es", "saes", "response", "remission")]
    assert r[0] > r[1] > r[2] > r[3]


@pytest.mark.parametrize(
    ("key", "lo", "hi", "published"),
    [
        ("es", 1.5, np.inf, 2.3),  # effect size favours severe baselines
        ("saes", 0.0, 1.0, 0.61),  # SAES favours milder baselines (below 1)
        ("remission", 0.3, 0.6, 0.43),  # remission favours milder baselines
        ("response", 0.75, 1.33, 1.0),  # response: no association (published: not significant)
    ],
)
def test_psychiatric_services_2020_severity_odds_ratios(summary, key, lo, hi, published):
    """Odds ratio per 10 baseline PHQ-9 points (logistic regression, statsmodels) in the range
    of issue 15 around the published value (Psychiatr Serv 2020 abstract)."""
    value = summary[f"ps_or_{key}"]
    if key == "saes":  # issue 15: "< 1" (published 0.61)
        assert value < 1.0, (key, value, published)
    else:
        assert lo <= value <= hi, (key, value, published)


def test_metric_helpers_hand_worked():
    """The metric helpers on the three-client example worked in their docstrings."""
    pre, post = np.array([10.0, 14.0, 18.0]), np.array([5.0, 14.0, 9.0])
    np.testing.assert_allclose(effect_size(pre, post), [1.25, 0.0, 2.25])
    np.testing.assert_allclose(
        severity_adjusted_effect_size(pre, post), [1.75, 0.0, 1.75], atol=1e-12
    )
    ok = success_indicators(pre, post)
    assert ok["response"].tolist() == [True, False, True]
    assert ok["remission"].tolist() == [False, False, False]


def test_summary_detects_a_miscalibrated_cohort():
    """The checks can fail: with little improvement (g_mean -1 on the logit scale) recovery and
    reliable improvement fall far outside their targets."""
    bad = simulate_cohort({"improvement": {"g_mean": -1.0}}, n_clients=5000, seed=SEED)
    s = calibration_summary(bad)
    assert s["recovery"] < 46 and s["reliable_improvement"] < 62


def test_order_and_odds_ratio_checks_can_fail():
    """Without the severity-dependent floor and with the earlier narrow spread (the calibration
    before issue 15), SAES >= 0.8 is met more often than effect size >= 0.8 and the effect-size
    odds ratio is below 1.5: the order and odds-ratio tests above would fail."""
    old = {"improvement": {"floor_severity": 0.0, "g_sd": 2.0, "severity_effect": -0.8}}
    s = calibration_summary(simulate_cohort(old, n_clients=N_CLIENTS, seed=SEED, validate=False))
    assert s["ps_saes"] > s["ps_es"] and s["ps_or_es"] < 1.5
