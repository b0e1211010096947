"""Tests of analysis.outcomes.hlm against statsmodels MixedLM (the reference implementation).

Reference calls: ``statsmodels.api.MixedLM(y, [1, t], groups, exog_re=[1, t]).fit(reml=True,
method="bfgs", gtol=1e-10)`` (statsmodels 0.14; its default tolerance stops about 1e-4 relative
short of the optimum, so it is run to a tight optimum here), the same model as R's
``lme4::lmer(y ~ t + (t | id), REML = TRUE)``. Seeds are fixed and named in each test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize

from analysis.outcomes.hlm import fit_growth_arrays, growth_reml

RTOL = 1e-6  # the tolerance on well-conditioned data


def _statsmodels(y, t, g, exog_re=None):
    x = np.column_stack([np.ones_like(t), t])
    model = sm.MixedLM(y, x, groups=g, exog_re=x if exog_re is None else exog_re)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence / boundary warnings of the reference
        return model.fit(reml=True, method="bfgs", gtol=1e-10)


def _simulate(seed, n=150, waves=4, slope_sd=1.2, drop=0.0, single=0):
    """Intercept ~ N(0, 4^2), slope ~ N(0, slope_sd^2), corr -0.3, residual SD 2.5 points;
    ``drop``: share of measurements missing at random; ``single``: clients with one wave."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n), waves)
    t = np.tile(np.arange(waves, dtype=float), n)
    c = -0.3 * 4 * slope_sd
    u = rng.multivariate_normal([0, 0], [[16, c], [c, slope_sd**2]], n)
    y = 22 - 1.5 * t + u[g, 0] + u[g, 1] * t + rng.normal(0, 2.5, n * waves)
    keep = rng.random(n * waves) >= drop
    keep &= ~((g < single) & (t > 0))  # the first `single` clients keep only wave 0
    return g[keep], t[keep], y[keep]


def _check_against(fit, ref, n_groups, rtol):
    np.testing.assert_allclose(fit.fe_params, np.asarray(ref.fe_params), rtol=rtol)
    np.testing.assert_allclose(fit.cov_re, np.asarray(ref.cov_re), rtol=rtol)
    assert fit.scale == pytest.approx(ref.scale, rel=rtol)
    assert fit.llf == pytest.approx(ref.llf, rel=1e-10)
    re = np.array([np.asarray(ref.random_effects[k]) for k in range(n_groups)])
    rc = np.array([np.asarray(ref.random_effects_cov[k]) for k in range(n_groups)])
    # EB values near 0 have no relative precision: the absolute floor is rtol x their spread
    np.testing.assert_allclose(fit.random_effects, re, rtol=rtol, atol=rtol * re.std(axis=0).max())
    np.testing.assert_allclose(fit.random_effects_cov, rc, rtol=rtol, atol=rtol * abs(rc).max())


@pytest.mark.parametrize(
    ("seed", "drop", "single"),
    [(20261201, 0.0, 0), (20261202, 0.15, 0), (20261203, 0.1, 12)],
    ids=["balanced", "missing-waves", "one-wave-clients"],
)
def test_equals_statsmodels_on_simulated_data(seed, drop, single):
    """Fixed effects, covariance, residual variance, REML log-likelihood, EB intercepts and
    slopes and their conditional covariances equal statsmodels' within 1e-6 relative, with
    balanced waves, waves missing at random, and clients observed once (they count in the
    likelihood as in statsmodels and lme4)."""
    g, t, y = _simulate(seed, drop=drop, single=single)
    fit = fit_growth_arrays(g, t, y)
    assert not fit.singular and fit.converged
    _check_against(fit, _statsmodels(y, t, g), 150, RTOL)


def test_one_wave_client_eb_shrinks_to_the_mean_slope():
    """A client seen once carries no slope information of its own: its EB slope is the
    regression of the slope on its single residual (G Z'V^-1 r), and its conditional slope SD is
    larger than any client seen four times (and below the slope SD of the population)."""
    g, t, y = _simulate(20261203, single=12)
    fit = fit_growth_arrays(g, t, y)
    sd = np.sqrt(fit.random_effects_cov[:, 1, 1])
    assert sd[:12].min() > sd[12:].max()
    assert sd[:12].max() < np.sqrt(fit.cov_re[1, 1])
    ref = _statsmodels(y, t, g)
    for k in range(12):
        assert fit.random_effects[k, 1] == pytest.approx(
            np.asarray(ref.random_effects[k])[1], rel=RTOL
        )


def test_equals_statsmodels_on_claus_2020(claus_2020):
    """claus_2020 (HAM-D, 43 patients, the 40 with >= 3 measurements, times 1-4): a boundary
    fit, the intercept-slope correlation is -1 in statsmodels' tight fit as in ours. The REML
    log-likelihood and fixed effects agree to 1e-10 / 1e-6; along the flat boundary the
    covariance and EB values of two optimisers agree to about 1e-6 (tolerance 1e-5)."""
    d = claus_2020[["id", "time", "hamd"]].dropna()
    d = d[d.groupby("id")["hamd"].transform("size") >= 3]
    res = growth_reml(d, score="hamd")
    info = res.attrs["hlm"]
    g = pd.factorize(d["id"])[0]
    ref = _statsmodels(d["hamd"].to_numpy(float), d["time"].to_numpy(float), g)
    cov = np.asarray(ref.cov_re)
    assert cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]) < -0.9999  # the reference is singular too
    assert info["singular"] and "singular" in info["notes"][0]
    assert info["llf"] == pytest.approx(ref.llf, rel=1e-10)
    assert info["fixed_intercept"] == pytest.approx(ref.fe_params[0], rel=RTOL)
    assert info["fixed_slope"] == pytest.approx(ref.fe_params[1], rel=RTOL)
    np.testing.assert_allclose(info["cov_re"], cov, rtol=1e-5)
    assert info["residual_variance"] == pytest.approx(ref.scale, rel=1e-5)
    res = res.set_index("id")
    for key, k in zip(pd.unique(d["id"]), range(len(res)), strict=True):
        assert res.loc[key, "eb_slope"] == pytest.approx(
            np.asarray(ref.random_effects[k])[1], rel=1e-5
        )
        sd = np.sqrt(np.asarray(ref.random_effects_cov[k])[1, 1])
        assert res.loc[key, "eb_slope_sd"] == pytest.approx(sd, rel=1e-5)
        assert res.loc[key, "n_obs"] == (d["id"] == key).sum()


def test_singular_fit_is_on_the_boundary_as_lme4():
    """Random intercepts only (seed 1, 60 clients x 4 waves): the REML optimum lies on the
    boundary (rank-1 covariance, |correlation| = 1), flagged and noted as lme4's isSingular().

    Independent reference: on the boundary the random effects are (1, rho)' w_i with one
    variance, i.e. MixedLM with the single random-effect column 1 + rho t; maximising
    statsmodels' REML log-likelihood over rho gives the boundary optimum, which ours equals.
    """
    rng = np.random.default_rng(1)
    n = 60
    g = np.repeat(np.arange(n), 4)
    t = np.tile(np.arange(4.0), n)
    y = 20 - 1 * t + rng.normal(0, 3, n)[g] + rng.normal(0, 2, 4 * n)
    fit = fit_growth_arrays(g, t, y)
    assert fit.singular and fit.converged
    assert fit.theta[2] < 1e-4  # lme4's isSingular tolerance
    assert any("boundary (singular) fit" in note for note in fit.notes)
    cov = fit.cov_re
    assert cov[0, 1] ** 2 == pytest.approx(cov[0, 0] * cov[1, 1], rel=1e-6)

    def ref(rho):
        return _statsmodels(y, t, g, exog_re=(1 + rho * t)[:, None])

    best = optimize.minimize_scalar(lambda r: -ref(r).llf, bracket=(-0.1, 0.0), tol=1e-8)
    rfit = ref(best.x)
    v = np.array([1.0, best.x])
    assert fit.llf == pytest.approx(rfit.llf, rel=1e-10)
    np.testing.assert_allclose(cov, np.asarray(rfit.cov_re)[0, 0] * np.outer(v, v), rtol=1e-5)
    assert fit.scale == pytest.approx(rfit.scale, rel=1e-6)
    # the unconstrained reference cannot do better than the boundary optimum
    assert _statsmodels(y, t, g).llf <= fit.llf + 1e-8


def test_string_ids_same_as_integer_ids_and_input_not_mutated():
    g, t, y = _simulate(20261204, n=40)
    d = pd.DataFrame({"id": [f"client-{k:03d}" for k in g], "time": t, "score": y})
    before = d.copy()
    res = growth_reml(d)
    pd.testing.assert_frame_equal(d, before)
    fit = fit_growth_arrays(g, t, y)
    np.testing.assert_allclose(res["eb_slope"], fit.random_effects[:, 1], rtol=1e-12)
    assert res["id"].iloc[0] == "client-000"
    assert res.attrs["hlm"]["n_clients"] == 40


def test_missing_scores_are_counted_not_silently_dropped():
    g, t, y = _simulate(20261205, n=30)
    d = pd.DataFrame({"id": g, "time": t, "score": y})
    d.loc[d["id"] == 0, "score"] = np.nan  # client 0 has no score at all
    d.loc[5, "score"] = np.nan
    res = growth_reml(d)
    assert len(res) == 30
    assert res.loc[0, "n_obs"] == 0 and np.isnan(res.loc[0, "eb_slope"])
    assert any("5 row(s)" in note for note in res.attrs["hlm"]["notes"])
    assert res.attrs["hlm"]["n_obs"] == len(d) - 5


@pytest.mark.parametrize(
    ("change", "exc", "match"),
    [
        (lambda d: d.drop(columns="time"), ValueError, "column 'time' not in data"),
        (
            lambda d: d.assign(time=d["time"].astype(object).where(d.index != 3, "t4")),
            ValueError,
            "'time' must be numeric.*row 3: 't4'",
        ),
        (
            lambda d: d.assign(score=d["score"].where(d.index != 2, np.inf)),
            ValueError,
            "infinite value at row 2",
        ),
        (lambda d: d.assign(time=1.0), ValueError, "time does not vary"),
        (lambda d: d.assign(id="a"), ValueError, "at least 2 groups"),
        (lambda d: d.to_numpy(), TypeError, "must be a pandas DataFrame"),
    ],
    ids=["no-time", "text-time", "inf-score", "constant-time", "one-client", "not-a-frame"],
)
def test_bad_input_raises_a_clear_error(change, exc, match):
    g, t, y = _simulate(20261206, n=20)
    d = pd.DataFrame({"id": g, "time": t, "score": y})
    with pytest.raises(exc, match=match):
        growth_reml(change(d))


def test_bad_arrays_raise():
    with pytest.raises(ValueError, match="one length"):
        fit_growth_arrays(np.array([0, 1]), np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="integer codes"):
        fit_growth_arrays(np.array(["a", "b"]), np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="non-negative"):
        fit_growth_arrays(np.array([-1, 1]), np.array([0.0, 1.0]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="y has 1 missing"):
        fit_growth_arrays(np.array([0, 1]), np.array([0.0, 1.0]), np.array([np.nan, 2.0]))


def test_analytic_gradient_equals_finite_differences():
    """The optimiser's analytic gradient of the profiled REML deviance (derived in
    ``_dev_grad``'s docstring) equals central differences of the deviance, inside the
    parameter space and on the boundary L22 = 0 (where it is 0 by symmetry in L22)."""
    from analysis.outcomes.hlm import _dev_grad, _deviance, _Stats

    g, t, y = _simulate(20261207, n=80, drop=0.2)
    t = t + np.random.default_rng(20261207).uniform(-0.3, 0.3, len(t))  # continuous times
    st = _Stats(g, (t - t.mean()) / t.std(), (y - y.mean()) / y.std(), 80)
    for theta in ([1.0, 0.2, 0.5], [0.3, -0.4, 0.0], [2.0, 0.5, 1.5]):
        theta = np.array(theta)
        dev, grad = _dev_grad(theta, st)
        assert dev == pytest.approx(_deviance(theta, st), rel=1e-13)
        h = 1e-6
        fd = [
            (_deviance(theta + e, st) - _deviance(theta - e, st)) / (2 * h) for e in np.eye(3) * h
        ]
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)
