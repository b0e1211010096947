"""Linear growth model by REML with per-client sufficient statistics (fast HLM for reliable change).

The model is the random-intercept, random-slope growth model of Raudenbush & Bryk (2002, ch. 6)::

    y_ij = b0 + b1 t_ij + u0_i + u1_i t_ij + e_ij,   (u0_i, u1_i) ~ N(0, G),   e_ij ~ N(0, s2)

with an unstructured 2 x 2 covariance ``G``: R's ``lme4::lmer(y ~ t + (t | id), REML = TRUE)`` and
statsmodels' ``MixedLM(..., re_formula="~t").fit(reml=True)``.

Each client's design is tiny (``Z_i = X_i = [1, t_i]``), so everything the likelihood needs is a
handful of per-client sums: ``A_i = Z_i'Z_i`` (n, sum t, sum t^2), ``c_i = Z_i'y_i`` (sum y,
sum t y) and ``y_i'y_i``. With the relative covariance ``G / s2 = L L'`` (``L`` lower triangular,
the parametrisation of lme4, Bates et al. 2015, section 3) and ``M_i = I + L'A_i L`` (2 x 2), the
Woodbury identity gives ``s2 V_i^-1 = I - Z_i L M_i^-1 L'Z_i'`` and ``det(s2^-1 V_i) = det M_i``,
so the profiled REML criterion (Bates et al. 2015, eq. 41-42, with ``s2`` profiled out) is::

    -2 l_R(L) = sum_i log det M_i + log det(X'H^-1 X) + (N - p) [1 + log(2 pi r2 / (N - p))]

with ``X'H^-1 X = sum_i (A_i - A_i P_i A_i)``, ``X'H^-1 y = sum_i (c_i - A_i P_i c_i)``,
``P_i = L M_i^-1 L'``, ``r2 = y'H^-1 y - beta' X'H^-1 y`` and ``p = 2``. Clients that share a
design ``A_i`` (the same waves observed) share ``M_i`` and ``P_i``; the criterion then needs only
the sums of ``c_i``, ``c_i c_i'`` and ``y_i'y_i`` over each design, so one evaluation costs as many
2 x 2 operations as there are distinct designs (a handful for fixed waves), whatever the number of
clients. The three parameters of ``L`` are optimised by L-BFGS-B with the analytic gradient
(see ``_dev_grad``) and the diagonal bounded below by 0, as lme4 does, then polished by Newton
steps; a diagonal element at (or within 1e-4 of) 0 is a singular fit, flagged and noted as
lme4's ``isSingular`` does.

The empirical Bayes (BLUP) random effects and their conditional covariances are closed forms per
client (Henderson 1975; lme4 ``ranef(condVar = TRUE)``, statsmodels ``random_effects`` and
``random_effects_cov``): ``E(u_i | y) = L M_i^-1 L' Z_i'(y_i - X_i beta)`` and
``Var(u_i | y) = s2 L M_i^-1 L'``.

The HLM reliable-change classification (``clinical_significance(rci_method="HLM")``, R
``cs_distribution(rci_method = "HLM")``) lives here too, beside the fit it uses: each client's
empirical Bayes slope over its conditional SD is the RCI, classified by
:func:`analysis.outcomes.distribution.classify_prepost`. Data with fewer than three waves, or
fewer than three clients with enough measurements, raise
:class:`~analysis.outcomes.prepost.NotComputedError`.

References
----------
Raudenbush S.W. & Bryk A.S. (2002) Hierarchical Linear Models, 2nd ed. Sage.
Bates D., Maechler M., Bolker B. & Walker S. (2015) Fitting linear mixed-effects models using lme4.
J Stat Softw 67(1):1-48. doi:10.18637/jss.v067.i01
Henderson C.R. (1975) Best linear unbiased estimation and prediction under a selection model.
Biometrics 31(2):423-447.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize
from threadpoolctl import threadpool_limits

from analysis.outcomes.distribution import _critical, classify_prepost, clinical_cutoff
from analysis.outcomes.prepost import (
    NotComputedError,
    _check_direction,
    _check_duplicates,
    _factorize_ids,
    _group_of,
)

__all__ = ["HLM_TESTS", "HLM_TEST_LABELS", "GrowthFit", "fit_growth_arrays", "growth_reml"]

#: lme4's default tolerance of ``isSingular`` (on the relative Cholesky factor's diagonal).
SINGULAR_TOL = 1e-4


@dataclass(frozen=True)
class GrowthFit:
    """Result of :func:`fit_growth_arrays` (arrays in the order of the group codes).

    Attributes
    ----------
    fe_params : numpy.ndarray, shape (2,)
        Fixed intercept (score points) and slope (points per time unit).
    cov_re : numpy.ndarray, shape (2, 2)
        Covariance of the random intercept and slope (points^2; intercept first).
    scale : float
        Residual variance s2 (points^2).
    random_effects : numpy.ndarray, shape (n_groups, 2)
        Empirical Bayes (BLUP) intercept and slope deviations per group, from the fixed effects.
        NaN for a code with no observation.
    random_effects_cov : numpy.ndarray, shape (n_groups, 2, 2)
        Their conditional covariances (points^2).
    llf : float
        The maximised REML log-likelihood (lme4's ``logLik(fit)`` and statsmodels' ``llf``).
    theta : numpy.ndarray, shape (3,)
        lme4's relative Cholesky factor of ``cov_re / scale`` (L11, L21, L22).
    singular : bool
        True when a diagonal element of ``theta`` is below 1e-4 (lme4 ``isSingular``).
    converged : bool
        Whether the optimiser reported convergence.
    notes : list of str
        Plain-language remarks (singular fit, excluded rows).
    n_obs, n_groups : int
        Observations used and groups that have at least one of them.
    """

    fe_params: np.ndarray
    cov_re: np.ndarray
    scale: float
    random_effects: np.ndarray
    random_effects_cov: np.ndarray
    llf: float
    theta: np.ndarray
    singular: bool
    converged: bool
    notes: list[str] = field(default_factory=list)
    n_obs: int = 0
    n_groups: int = 0


# ------------------------------------------------------------------------------------------------
# sufficient statistics
# ------------------------------------------------------------------------------------------------
class _Stats:
    """Per-design sums of the per-client statistics (after centring and scaling t and y)."""

    def __init__(self, codes: np.ndarray, t: np.ndarray, y: np.ndarray, n_groups: int):
        k = n_groups
        self.n = np.bincount(codes, minlength=k).astype(float)
        self.st = np.bincount(codes, t, minlength=k)
        self.stt = np.bincount(codes, t * t, minlength=k)
        self.sy = np.bincount(codes, y, minlength=k)
        self.sty = np.bincount(codes, t * y, minlength=k)
        syy = np.bincount(codes, y * y, minlength=k)
        present = self.n > 0
        # group the clients by design (identical n, sum t, sum t^2 give identical A_i)
        frame = pd.DataFrame({"n": self.n, "st": self.st, "stt": self.stt})[present]
        design = frame.groupby(["n", "st", "stt"], sort=False).ngroup().to_numpy()
        self.design = np.full(k, -1, dtype=np.int64)
        self.design[present] = design
        g = int(design.max()) + 1 if len(design) else 0
        first = np.full(g, -1, dtype=np.int64)
        idx = np.flatnonzero(present)
        first[design[::-1]] = idx[::-1]
        self.a00, self.a01, self.a11 = self.n[first], self.st[first], self.stt[first]
        self.m = np.bincount(design, minlength=g).astype(float)
        sy, sty = self.sy[present], self.sty[present]
        self.c0 = np.bincount(design, sy, minlength=g)
        self.c1 = np.bincount(design, sty, minlength=g)
        self.cc00 = np.bincount(design, sy * sy, minlength=g)
        self.cc01 = np.bincount(design, sy * sty, minlength=g)
        self.cc11 = np.bincount(design, sty * sty, minlength=g)
        self.syy = float(syy.sum())
        self.n_obs = int(self.n.sum())
        self.n_designs = g


def _pmat(theta, a00, a01, a11):
    """``M = I + L'AL`` (its log determinant) and ``P = L M^-1 L'`` per design, elementwise."""
    l1, l2, l3 = theta
    # A L
    al00 = a00 * l1 + a01 * l2
    al01 = a01 * l3
    al10 = a01 * l1 + a11 * l2
    al11 = a11 * l3
    # M = I + L' A L  (L' = [[l1, l2], [0, l3]])
    m00 = 1.0 + l1 * al00 + l2 * al10
    m01 = l1 * al01 + l2 * al11
    m11 = 1.0 + l3 * al11
    det = m00 * m11 - m01 * m01
    i00, i01, i11 = m11 / det, -m01 / det, m00 / det
    # P = L M^-1 L'
    q10 = l2 * i00 + l3 * i01  # (L M^-1)[1, 0]
    q11 = l2 * i01 + l3 * i11  # (L M^-1)[1, 1]
    p00 = l1 * l1 * i00
    p01 = l1 * q10
    p11 = q10 * l2 + q11 * l3
    return np.log(det), p00, p01, p11


def _profile(theta, s: _Stats):
    """Profiled REML deviance and the GLS quantities at ``theta``."""
    logdet, p00, p01, p11 = _pmat(theta, s.a00, s.a01, s.a11)
    a00, a01, a11 = s.a00, s.a01, s.a11
    # Q = A P
    q00 = a00 * p00 + a01 * p01
    q01 = a00 * p01 + a01 * p11
    q10 = a01 * p00 + a11 * p01
    q11 = a01 * p01 + a11 * p11
    # X'H^-1 X = sum m (A - Q A)
    w00 = np.sum(s.m * (a00 - (q00 * a00 + q01 * a01)))
    w01 = np.sum(s.m * (a01 - (q00 * a01 + q01 * a11)))
    w11 = np.sum(s.m * (a11 - (q10 * a01 + q11 * a11)))
    # X'H^-1 y = sum (c - Q c)
    v0 = np.sum(s.c0 - (q00 * s.c0 + q01 * s.c1))
    v1 = np.sum(s.c1 - (q10 * s.c0 + q11 * s.c1))
    yhy = s.syy - np.sum(p00 * s.cc00 + 2.0 * p01 * s.cc01 + p11 * s.cc11)
    xdet = w00 * w11 - w01 * w01
    beta = np.array([w11 * v0 - w01 * v1, w00 * v1 - w01 * v0]) / xdet
    r2 = yhy - (beta[0] * v0 + beta[1] * v1)
    dof = s.n_obs - 2
    dev = np.sum(s.m * logdet) + np.log(xdet) + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
    return dev, beta, r2 / dof


def _mm(x, y):
    """Product of two fields of 2 x 2 matrices, each a tuple (00, 01, 10, 11) of arrays."""
    return (
        x[0] * y[0] + x[1] * y[2],
        x[0] * y[1] + x[1] * y[3],
        x[2] * y[0] + x[3] * y[2],
        x[2] * y[1] + x[3] * y[3],
    )


def _dev_grad(theta, s: _Stats) -> tuple[float, np.ndarray]:
    """Profiled REML deviance and its analytic gradient in (L11, L21, L22).

    With ``E`` the derivative of ``L`` in one parameter, ``dM = E'AL + L'AE`` and
    ``dP = E M^-1 L' + L M^-1 E' - L M^-1 dM M^-1 L'``; the three terms of the deviance give
    ``d = sum 2 m tr(E'A L M^-1) - sum tr(dP B)`` with ``B = m A W^-1 A + (N - p) / r2 R``,
    ``W = X'H^-1 X`` and ``R = sum_i (c_i - A beta)(c_i - A beta)'`` per design, and
    ``tr(dP B) = 2 tr(E'(B L M^-1 - A L C))`` with ``C = M^-1 L'B L M^-1``. So the gradient is the
    lower triangle of ``2 sum (m A L M^-1 - B L M^-1 + A L C)``.
    """
    l1, l2, l3 = theta
    a00, a01, a11, m = s.a00, s.a01, s.a11, s.m
    al = (a00 * l1 + a01 * l2, a01 * l3, a01 * l1 + a11 * l2, a11 * l3)
    m00 = 1.0 + l1 * al[0] + l2 * al[2]
    m01 = l1 * al[1] + l2 * al[3]
    m11 = 1.0 + l3 * al[3]
    det = m00 * m11 - m01 * m01
    i00, i01, i11 = m11 / det, -m01 / det, m00 / det
    lmi = (l1 * i00, l1 * i01, l2 * i00 + l3 * i01, l2 * i01 + l3 * i11)  # L M^-1
    p00 = lmi[0] * l1
    p01 = lmi[2] * l1
    p11 = lmi[2] * l2 + lmi[3] * l3
    a = (a00, a01, a01, a11)
    q = _mm(a, (p00, p01, p01, p11))  # A P
    w00 = np.sum(m * (a00 - (q[0] * a00 + q[1] * a01)))
    w01 = np.sum(m * (a01 - (q[0] * a01 + q[1] * a11)))
    w11 = np.sum(m * (a11 - (q[2] * a01 + q[3] * a11)))
    v0 = np.sum(s.c0 - (q[0] * s.c0 + q[1] * s.c1))
    v1 = np.sum(s.c1 - (q[2] * s.c0 + q[3] * s.c1))
    yhy = s.syy - np.sum(p00 * s.cc00 + 2.0 * p01 * s.cc01 + p11 * s.cc11)
    xdet = w00 * w11 - w01 * w01
    b0, b1 = (w11 * v0 - w01 * v1) / xdet, (w00 * v1 - w01 * v0) / xdet
    r2 = yhy - (b0 * v0 + b1 * v1)
    dof = s.n_obs - 2
    dev = np.sum(m * np.log(det)) + np.log(xdet) + dof * (1.0 + np.log(2.0 * np.pi * r2 / dof))
    # B = m A W^-1 A + k R
    wi = (w11 / xdet, -w01 / xdet, -w01 / xdet, w00 / xdet)
    awa = _mm(_mm(a, wi), a)
    ab0, ab1 = a00 * b0 + a01 * b1, a01 * b0 + a11 * b1
    k = dof / r2
    r00 = s.cc00 - 2.0 * ab0 * s.c0 + m * ab0 * ab0
    r01 = s.cc01 - ab0 * s.c1 - s.c0 * ab1 + m * ab0 * ab1
    r11 = s.cc11 - 2.0 * ab1 * s.c1 + m * ab1 * ab1
    b = (m * awa[0] + k * r00, m * awa[1] + k * r01, m * awa[2] + k * r01, m * awa[3] + k * r11)
    lmi_t = (lmi[0], lmi[2], lmi[1], lmi[3])
    c = _mm(lmi_t, _mm(b, lmi))
    alm = _mm(a, lmi)
    blm = _mm(b, lmi)
    alc = _mm(al, c)
    g = [2.0 * np.sum(m * alm[j] - blm[j] + alc[j]) for j in (0, 2, 3)]
    return float(dev), np.array(g)


def _dev_grad_safe(theta, s: _Stats):
    with np.errstate(all="ignore"):
        dev, g = _dev_grad(theta, s)
    if not (np.isfinite(dev) and np.all(np.isfinite(g))):
        return np.inf, np.zeros(3)
    return dev, g


def _deviance(theta, s: _Stats) -> float:
    with np.errstate(all="ignore"):
        dev = _profile(theta, s)[0]
    return float(dev) if np.isfinite(dev) else np.inf


def _optimise(s: _Stats) -> tuple[np.ndarray, bool]:
    """Minimise the profiled REML deviance over (L11, L21, L22), diagonal >= 0 (lme4's bounds)."""
    bounds = [(0.0, None), (None, None), (0.0, None)]
    best = None
    for start in ([1.0, 0.0, 1.0], [0.3, 0.0, 0.3]):
        res = optimize.minimize(
            _dev_grad_safe,
            np.array(start),
            args=(s,),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500},
        )
        if best is None or res.fun < best.fun - 1e-12:
            best = res
        if res.success:
            break
    # polish: Newton steps on the free parameters with the Hessian from gradient differences
    theta, last = _polish(best.x.copy(), s)
    return theta, _converged(theta, s, last)


def _free(theta: np.ndarray) -> np.ndarray:
    return np.flatnonzero([theta[0] > 0, True, theta[2] > 0])


def _hessian(theta: np.ndarray, s: _Stats, idx: np.ndarray) -> np.ndarray:
    """Central differences of the analytic gradient, in the parameters ``idx``."""
    h = 1e-5 * np.maximum(np.abs(theta), 1e-2)
    cols = []
    for i in idx:
        e = np.zeros(3)
        e[i] = h[i]
        cols.append(
            (_dev_grad_safe(theta + e, s)[1] - _dev_grad_safe(theta - e, s)[1]) / (2 * h[i])
        )
    hess = np.array(cols)[:, idx]
    return (hess + hess.T) / 2


def _polish(theta: np.ndarray, s: _Stats, steps: int = 6):
    """A few safeguarded Newton steps on the parameters not held at a bound (diagonal == 0).

    Returns the parameters and the last Hessian (None if none was usable).
    """
    f0, g0 = _dev_grad_safe(theta, s)
    last = None
    for _ in range(steps):
        idx = _free(theta)
        hess = _hessian(theta, s, idx)
        if not np.all(np.isfinite(hess)) or np.any(np.linalg.eigvalsh(hess) <= 0):
            break
        last = (idx, hess)
        step = np.linalg.solve(hess, g0[idx])
        cand = theta.copy()
        cand[idx] -= step
        if cand[0] < 0 or cand[2] < 0:
            break
        fc, gc = _dev_grad_safe(cand, s)
        if not fc <= f0:
            break
        theta, f0, g0 = cand, fc, gc
        if np.all(np.abs(step) <= 1e-9 * np.maximum(np.abs(theta[idx]), 1e-2)):
            break
    return theta, last


def _converged(theta: np.ndarray, s: _Stats, last=None, tol: float = 2e-3) -> bool:
    """Lme4's convergence check (``check.conv.grad``, tolerance 2e-3).

    The gradient scaled by the Cholesky factor of the Hessian, in the free parameters; a parameter
    held at its bound 0 must not have a gradient pointing into the admissible region beyond that
    tolerance.
    """
    f0, g = _dev_grad_safe(theta, s)
    if not np.isfinite(f0):
        return False
    idx = _free(theta)
    hess = last[1] if last is not None and np.array_equal(last[0], idx) else None
    if hess is None:
        hess = _hessian(theta, s, idx)
    try:
        scaled = np.linalg.solve(np.linalg.cholesky(hess).T, g[idx])
    except np.linalg.LinAlgError:
        scaled = g[idx]
    if not np.all(np.abs(scaled) < tol):
        return False
    for i in (0, 2):
        if theta[i] == 0:  # held at the bound: the deviance must not fall into the region
            e = np.zeros(3)
            e[i] = 1e-4
            f1, f2 = _deviance(theta + e, s), _deviance(theta + 2 * e, s)
            slope = (4 * f1 - f2 - 3 * f0) / 2e-4
            curv = max((f2 - 2 * f1 + f0) / 1e-8, 1e-12)
            if slope / np.sqrt(curv) < -tol:
                return False
    return True


# ------------------------------------------------------------------------------------------------
# public API
# ------------------------------------------------------------------------------------------------
def fit_growth_arrays(
    groups: np.ndarray,
    time: np.ndarray,
    y: np.ndarray,
    n_groups: int | None = None,
) -> GrowthFit:
    """REML fit of ``y ~ time + (time | group)`` from arrays (the vectorised core).

    Parameters
    ----------
    groups : array-like of int, shape (n,)
        Group (client) codes in ``0 .. n_groups - 1``.
    time : array-like of float, shape (n,)
        Time of each observation (sessions, weeks, ...; the slope is per this unit).
    y : array-like of float, shape (n,)
        Scores (points). All three arrays must be finite.
    n_groups : int, optional
        Number of group codes (default ``max(groups) + 1``); codes without an observation get NaN
        random effects.

    Returns
    -------
    GrowthFit

    Raises
    ------
    ValueError
        Arrays of different lengths, non-finite values, negative codes, fewer than 2 groups with an
        observation, no variation in time (the slope is not identified), or residuals that are
        all zero (a perfect fit has no residual variance).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(200), 4); t = np.tile(np.arange(4.0), 200)
    >>> u0, u1 = rng.normal(0, 3, 200)[g], rng.normal(0, 1, 200)[g]
    >>> y = 20 - 2 * t + u0 + u1 * t + rng.normal(0, 2, 800)
    >>> fit = fit_growth_arrays(g, t, y)
    >>> round(float(fit.fe_params[1]), 1)  # simulated -2 per wave
    -2.1
    """
    codes = np.asarray(groups)
    t = np.asarray(time, dtype=float)
    yv = np.asarray(y, dtype=float)
    if not (codes.ndim == t.ndim == yv.ndim == 1) or not (len(codes) == len(t) == len(yv)):
        raise ValueError(
            f"groups, time and y must be 1-d arrays of one length; got shapes {codes.shape}, "
            f"{t.shape}, {yv.shape}"
        )
    if not np.issubdtype(codes.dtype, np.integer):
        raise ValueError("groups must be integer codes (factorise the ids first)")
    if len(codes) and codes.min() < 0:
        raise ValueError("groups must be non-negative codes")
    for name, v in (("time", t), ("y", yv)):
        bad = ~np.isfinite(v)
        if bad.any():
            raise ValueError(
                f"{name} has {int(bad.sum())} missing or infinite value(s) (first at position "
                f"{int(np.flatnonzero(bad)[0])}); drop or impute them before fitting"
            )
    k = int(codes.max()) + 1 if len(codes) else 0
    if n_groups is not None:
        if n_groups < k:
            raise ValueError(f"n_groups={n_groups} is smaller than the largest code + 1 ({k})")
        k = int(n_groups)
    codes = codes.astype(np.int64, copy=False)
    n_present = int(np.count_nonzero(np.bincount(codes, minlength=k))) if k else 0
    if n_present < 2:
        raise ValueError(f"need at least 2 groups (clients) with an observation, got {n_present}")
    # centre and scale for numerical conditioning; the model is invariant under this change
    t_mean, t_sd = float(t.mean()), float(t.std())
    if not t_sd > 0:
        raise ValueError("time does not vary, so the slope is not identified")
    y_mean, y_sd = float(yv.mean()), float(yv.std())
    if not y_sd > 0:
        raise ValueError("y does not vary: a growth model has nothing to fit")
    ts = (t - t_mean) / t_sd
    ys = (yv - y_mean) / y_sd
    st = _Stats(codes, ts, ys, k)
    if st.n_obs <= 2:
        raise ValueError(f"need more than 2 observations, got {st.n_obs}")

    # the optimiser's BLAS calls are on 3-vectors: threads only add contention (7 ms a call on a
    # busy 2-core machine instead of microseconds)
    with threadpool_limits(limits=1, user_api="blas"):
        theta_s, converged = _optimise(st)
    dev, beta_s, scale_s = _profile(theta_s, st)
    if not (np.isfinite(dev) and scale_s > 0):
        raise ValueError("the residual variance is zero: the data fit the model exactly")

    # EB per client on the scaled problem: u = L M^-1 L' (c - A beta); Var = s2 L M^-1 L'
    present = st.design >= 0
    d = st.design[present]
    _, p00, p01, p11 = _pmat(theta_s, st.a00, st.a01, st.a11)
    p00, p01, p11 = p00[d], p01[d], p11[d]
    r0 = st.sy[present] - (st.n[present] * beta_s[0] + st.st[present] * beta_s[1])
    r1 = st.sty[present] - (st.st[present] * beta_s[0] + st.stt[present] * beta_s[1])
    u0 = p00 * r0 + p01 * r1
    u1 = p01 * r0 + p11 * r1

    # back to the original units: t = t_mean + t_sd ts, y = y_mean + y_sd ys.
    # Z = [1, ts] S with S = [[1, -t_mean / t_sd], [0, 1 / t_sd]]; original b = S^-1 ... i.e.
    # effects on the scaled design map to the original design by T = [[1, -t_mean/t_sd],
    # [0, 1/t_sd]] (b_orig = T b_scaled), times y_sd.
    tm = np.array([[1.0, -t_mean / t_sd], [0.0, 1.0 / t_sd]])
    fe = y_sd * (tm @ beta_s)
    fe[0] += y_mean
    l1, l2, l3 = theta_s
    lmat = np.array([[l1, 0.0], [l2, l3]])
    scale = float(scale_s * y_sd**2)
    cov_re = scale * (tm @ lmat @ lmat.T @ tm.T)
    cov_re = (cov_re + cov_re.T) / 2
    re = np.full((k, 2), np.nan)
    re[present, 0] = y_sd * (tm[0, 0] * u0 + tm[0, 1] * u1)
    re[present, 1] = y_sd * (tm[1, 1] * u1)
    rcov = np.full((k, 2, 2), np.nan)
    v00 = scale * p00
    v01 = scale * p01
    v11 = scale * p11
    # T V T'
    rcov[present, 0, 0] = v00 + 2 * tm[0, 1] * v01 + tm[0, 1] ** 2 * v11
    rcov[present, 0, 1] = rcov[present, 1, 0] = tm[1, 1] * (v01 + tm[0, 1] * v11)
    rcov[present, 1, 1] = tm[1, 1] ** 2 * v11

    # lme4's theta on the original scale: Cholesky of cov_re / scale (robust to singularity)
    rel = cov_re / scale
    o1 = np.sqrt(max(rel[0, 0], 0.0))
    o2 = rel[1, 0] / o1 if o1 > 0 else 0.0
    o3 = np.sqrt(max(rel[1, 1] - o2**2, 0.0))
    theta = np.array([o1, o2, o3])
    at_bound = (theta_s[0] == 0) or (theta_s[2] == 0)
    singular = bool(at_bound or o1 < SINGULAR_TOL or o3 < SINGULAR_TOL)
    notes = []
    if singular:
        notes.append(
            "boundary (singular) fit: the random-effects covariance is estimated as singular "
            "(a variance at 0 or a correlation of +/-1), as lme4 reports with isSingular(); "
            "the estimates are REML estimates on the boundary"
        )
    if not converged:
        notes.append("the optimiser did not report convergence")
    # REML log-likelihood on the original scale: y -> ys scales V by y_sd^2 (N - p log units of
    # y_sd), and [1, t] = [1, ts] S with det S = t_sd changes log det X'V^-1 X by 2 log t_sd
    llf = -0.5 * dev - (st.n_obs - 2) * np.log(y_sd) - np.log(t_sd)
    return GrowthFit(
        fe_params=fe,
        cov_re=cov_re,
        scale=scale,
        random_effects=re,
        random_effects_cov=rcov,
        llf=float(llf),
        theta=theta,
        singular=singular,
        converged=converged,
        notes=notes,
        n_obs=st.n_obs,
        n_groups=n_present,
    )


def growth_reml(
    data: pd.DataFrame, id: str = "id", time: str = "time", score: str = "score"
) -> pd.DataFrame:
    """Per-client empirical Bayes growth from ``score ~ time + (time | id)`` fitted by REML.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per client x measurement. Not modified.
    id : str
        Client identifier column (any hashable values: strings or numbers).
    time : str
        Numeric time column (sessions, weeks, ...); the slope is in score points per this unit.
    score : str
        Numeric score column (instrument points). Rows with a missing score or time are left out
        of the fit and counted in ``attrs["hlm"]["notes"]``; their clients stay in the output
        (``n_obs`` counts only the rows used; a client with none has NaN estimates).

    Returns
    -------
    pandas.DataFrame
        One row per client in order of first appearance: ``id``, ``n_obs`` (rows used),
        ``eb_intercept``, ``eb_slope`` (BLUP deviations from the fixed intercept and slope,
        points and points per time unit), ``eb_intercept_sd``, ``eb_slope_sd`` (conditional SDs,
        lme4 ``ranef(condVar = TRUE)``), ``eb_cov`` (their conditional covariance).
        ``attrs["hlm"]`` holds ``fixed_intercept``, ``fixed_slope``, ``cov_re`` (2 x 2 list,
        intercept first), ``residual_variance``, ``llf`` (REML log-likelihood), ``theta``
        (lme4's relative Cholesky factor), ``singular``, ``converged``, ``notes``, ``n_obs`` and
        ``n_clients``.

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame.
    ValueError
        A missing column, a non-numeric time or score (naming the first offending row), and the
        conditions of :func:`fit_growth_arrays` (fewer than 2 clients, no variation in time).

    Notes
    -----
    The model, the criterion and the closed forms are in the module docstring; the estimates
    equal statsmodels ``MixedLM(..., re_formula="~time").fit(reml=True)`` and lme4
    ``lmer(score ~ time + (time | id))`` at their optimum (tests/test_hlm_reml.py).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": list("aaabbbccc"), "time": [0, 1, 2] * 3,
    ...                   "score": [20, 15, 11, 22, 21, 19, 18, 12, 9]})
    >>> res = growth_reml(d)
    >>> # balanced design: the fixed slope is the mean OLS slope, (-4.5 - 1.5 - 4.5) / 3
    >>> round(res.attrs["hlm"]["fixed_slope"], 2)
    -3.5
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for col in (id, time, score):
        if col not in data.columns:
            raise ValueError(f"column {col!r} not in data (columns: {list(data.columns)})")
    arrays = {}
    for col in (time, score):
        raw = data[col]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(num) & raw.notna().to_numpy()
        if bad.any():
            row = data.index[np.flatnonzero(bad)[0]]
            raise ValueError(
                f"column {col!r} must be numeric; {int(bad.sum())} value(s) are not, first at row "
                f"{row!r}: {raw.loc[row]!r}"
            )
        if np.isinf(num).any():
            row = data.index[np.flatnonzero(np.isinf(num))[0]]
            raise ValueError(f"column {col!r} has an infinite value at row {row!r}")
        arrays[col] = num
    codes, uniques = pd.factorize(data[id], use_na_sentinel=False)
    keep = ~(np.isnan(arrays[time]) | np.isnan(arrays[score]))
    fit = fit_growth_arrays(codes[keep], arrays[time][keep], arrays[score][keep], len(uniques))
    notes = list(fit.notes)
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{dropped} row(s) without a {score!r} or {time!r} value left out of the fit")
    n_obs = np.bincount(codes[keep], minlength=len(uniques))
    out = pd.DataFrame(
        {
            id: np.asarray(uniques, dtype=object) if uniques.dtype == object else uniques,
            "n_obs": n_obs,
            "eb_intercept": fit.random_effects[:, 0],
            "eb_slope": fit.random_effects[:, 1],
            "eb_intercept_sd": np.sqrt(fit.random_effects_cov[:, 0, 0]),
            "eb_slope_sd": np.sqrt(fit.random_effects_cov[:, 1, 1]),
            "eb_cov": fit.random_effects_cov[:, 0, 1],
        }
    )
    out.attrs["hlm"] = {
        "fixed_intercept": float(fit.fe_params[0]),
        "fixed_slope": float(fit.fe_params[1]),
        "cov_re": fit.cov_re.tolist(),
        "residual_variance": fit.scale,
        "llf": fit.llf,
        "theta": fit.theta.tolist(),
        "singular": fit.singular,
        "converged": fit.converged,
        "notes": notes,
        "n_obs": fit.n_obs,
        "n_clients": fit.n_groups,
    }
    return out


# --------------------------------------------------------------------------------------------
# the HLM reliable-change classification (clinical_significance(rci_method="HLM"))
# --------------------------------------------------------------------------------------------
#: HLM tests of a client's slope: "cohort" (R: deviation from the mean slope) or "zero".
HLM_TESTS = ("cohort", "zero")

#: How a report names each HLM rule (parameter ``hlm_test``).
HLM_TEST_LABELS = {
    "cohort": "client's slope against the cohort's mean slope (as the R package "
    "clinicalsignificance)",
    "zero": "client's own slope (fixed + random) against zero",
}


def _clinical_significance_hlm(
    data,
    id,
    time,
    outcome,
    cutoff_type,
    m_functional,
    sd_functional,
    m_clinical,
    sd_clinical,
    better_is,
    significance_level,
    cutoff_b_sd,
    group,
    min_timepoints,
    hlm_test="cohort",
) -> pd.DataFrame:
    s = _check_direction(better_is)
    crit = _critical("HLM", significance_level)
    if cutoff_type is not None:
        clinical_cutoff(cutoff_type, 0.0, 1.0, m_functional, sd_functional, better_is, cutoff_b_sd)
    id_codes, ids = _factorize_ids(data[id])
    ids = ids.rename(id)
    y_all = pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float)
    t_all = pd.to_numeric(data[time], errors="coerce").to_numpy(dtype=float)
    if np.isnan(t_all[data[time].notna().to_numpy()]).any():
        raise ValueError(f"HLM needs a numeric time column; {time!r} has non-numeric values")
    _check_duplicates(data, id, time, id_codes, t_all, columns=[id, time])
    keep = ~(np.isnan(y_all) | np.isnan(t_all))
    codes_all = id_codes[keep]
    t, y = t_all[keep], y_all[keep]
    order = np.lexsort((t, codes_all))  # R: first/last in data order; we sort by time
    codes_all, t, y = codes_all[order], t[order], y[order]
    n_tp = np.bincount(codes_all, minlength=len(ids))
    first = np.full(len(ids), np.nan)
    last = np.full(len(ids), np.nan)
    first[codes_all[::-1]] = y[::-1]  # first assignment wins when written in reverse
    last[codes_all] = y
    waves = np.unique(t)
    if len(waves) < 3:
        raise NotComputedError(
            f"HLM needs at least three waves (time points) to separate a client's slope from "
            f"measurement error; the data have {len(waves)}"
            + (f" ({', '.join(f'{w:g}' for w in waves)})" if len(waves) else "")
        )
    ok = n_tp >= min_timepoints
    if ok.sum() < 3:
        raise NotComputedError(
            f"HLM needs at least 3 clients with >= {min_timepoints} measurements; "
            f"got {int(ok.sum())}"
        )
    used = ok[codes_all]
    # refit codes on the used clients only
    u_ids = np.flatnonzero(ok)
    remap = np.full(len(ids), -1)
    remap[u_ids] = np.arange(len(u_ids))
    gc, tu, yu = remap[codes_all[used]], t[used], y[used]
    # REML fit of y ~ t + (t | id) from per-client sufficient statistics (same model and
    # estimates as statsmodels MixedLM(reml=True) and lme4::lmer; see analysis.outcomes.hlm)
    fit = fit_growth_arrays(gc, tu, yu, len(u_ids))
    fe, cov_re = fit.fe_params, fit.cov_re
    eb = np.full(len(ids), np.nan)
    eb_sd = np.full(len(ids), np.nan)
    eb[u_ids] = fit.random_effects[:, 1]
    eb_sd[u_ids] = np.sqrt(fit.random_effects_cov[:, 1, 1])
    no_slope = ok & ~(eb_sd > 0)  # singular fit with no random-slope variance: 0 / 0
    evaluable = ok & ~no_slope
    with np.errstate(invalid="ignore", divide="ignore"):
        rci = np.where(evaluable, eb / eb_sd, np.nan)
        if hlm_test == "zero":  # the client's own slope (fixed + random) against zero
            rci = np.where(evaluable, (fe[1] + eb) / eb_sd, np.nan)

    pre_a = np.where(ok, first, np.nan)
    post_a = np.where(ok, last, np.nan)
    m_pre, sd_pre = float(pre_a[ok].mean()), float(pre_a[ok].std(ddof=1))
    m_clin = m_pre if m_clinical is None else float(m_clinical)
    sd_clin = sd_pre if sd_clinical is None else float(sd_clinical)
    cutoff = None
    if cutoff_type is not None:
        cutoff = clinical_cutoff(
            cutoff_type, m_clin, sd_clin, m_functional, sd_functional, better_is, cutoff_b_sd
        )
    cls = classify_prepost(pre_a, post_a, rci, crit, better_is, cutoff)
    out = pd.DataFrame({"id": ids.to_numpy()})
    if group is not None:
        out["group" if group in ("id", "pre", "post") else group] = _group_of(data, id, group, ids)
    out["pre"] = first
    out["post"] = last
    out["change"] = last - first
    out["rci"] = rci
    out["reliable_change"] = cls["reliable_change"].to_numpy()
    out["cutoff"] = np.nan if cutoff is None else float(cutoff)
    out["clinical_pre"] = cls["clinical_pre"].array
    out["clinical_post"] = cls["clinical_post"].array
    out["category"] = cls["category"].to_numpy()
    out["n_timepoints"] = n_tp
    out["eb_slope"] = eb
    out["eb_slope_sd"] = eb_sd
    out["evaluable"] = evaluable
    k_values, k_index = np.unique(n_tp, return_inverse=True)  # one message per count, not client
    few = np.array([f"only {k} measurement(s); HLM needs >= {min_timepoints}" for k in k_values])
    out["reason"] = np.where(
        evaluable,
        "",
        np.where(
            no_slope,
            "HLM fit singular: the random-slope variance is 0, so no client's slope can differ "
            "reliably",
            few[k_index],
        ),
    ).astype(object)
    out["method"] = "HLM"
    out.attrs["clinsig"] = {
        "method": "HLM",
        "hlm_test": hlm_test,
        "critical": crit,
        "cutoff": cutoff,
        "cutoff_type": cutoff_type,
        "better_is": better_is,
        "direction": s,
        "n_used": int(evaluable.sum()),
        "m_pre": m_pre,
        "sd_pre": sd_pre,
        "fixed_intercept": float(fe[0]),
        "fixed_slope": float(fe[1]),
        "cov_re": cov_re.tolist(),
        "residual_variance": float(fit.scale),
        "reml_loglik": fit.llf,
        "converged": bool(fit.converged),
        "singular": fit.singular,
        "fit_warnings": list(fit.notes),
    }
    return out
