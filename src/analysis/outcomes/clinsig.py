"""Reliable and clinically significant change (Jacobson & Truax 1991 and successors).

The public entry point :func:`clinical_significance` follows the R package *clinicalsignificance*
(Claus, Wager & Bonnet 2024, J Stat Softw 111(1)) in names and results, so that a researcher can
switch without losing a classification. Every formula below was read in that package's source
(``R/calc_rci.R``, ``R/calc_cutoff.R``, ``R/create_summary_table.R``, ``R/prep_data.R``,
``R/calc_percentage.R``, ``R/calc_anchor.R``; repository ``pedscience/clinicalsignificance``,
version 2.1.0.9000) and is reproduced exactly, including its conventions at the boundaries:

* reliable change needs ``|RCI|`` strictly beyond the critical value (``direction * rci > crit``);
* a pre score is clinical only when strictly beyond the cutoff on the dysfunctional side, and a post
  score is functional only when strictly beyond it on the functional side, so a score exactly at the
  cutoff is neither (it can be neither recovered nor harmed into);
* percentage change and anchor (MID) thresholds are inclusive (``>=``).

Where the package departs from the original paper (cutoff *b*), the paper is the default and the
package's convention is an option; see :func:`clinical_cutoff`.

Everything is vectorised over clients; only HLM fits a model (REML from per-client sufficient
statistics, :mod:`analysis.outcomes.hlm`; equal to statsmodels ``MixedLM`` and lme4 ``lmer``).

References
----------
Jacobson N.S. & Truax P. (1991) Clinical significance: a statistical approach to defining meaningful
change in psychotherapy research. J Consult Clin Psychol 59(1):12-19. doi:10.1037/0022-006X.59.1.12
Claus B.B., Wager J. & Bonnet U. (2024) clinicalsignificance: Clinical Significance Analyses of
Intervention Studies in R. J Stat Softw 111(1):1-39. doi:10.18637/jss.v111.i01
Hsu L.M. (1989) Reliable changes in psychotherapy: taking into account regression toward the mean.
Behav Assess 11(4):459-467 (GLN and HLL).
Speer D.C. (1992) Clinically significant change: Jacobson and Truax (1991) revisited. J Consult Clin
Psychol 60(3):402-408 (EN).
Nunnally J.C. & Kotsch W.E. (1983) Studies of individual subjects: logic and methods of analysis.
Br J Clin Psychol 22(2):83-93 (NK).
Hageman W.J. & Arrindell W.A. (1999) Establishing clinically significant change: increment of
precision and the distinction between individual and group level analysis. Behav Res Ther
37(12):1169-1193 (HA).
Raudenbush S.W. & Bryk A.S. (2002) Hierarchical Linear Models, 2nd ed. Sage (HLM).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "RCI_METHODS",
    "HA_HARMED",
    "HLM_TESTS",
    "CATEGORIES",
    "RELIABLE_CHANGE",
    "ANCHOR_GROUP_CATEGORIES",
    "clinical_cutoff",
    "ha_true_cutoff",
    "rci_jacobson_truax",
    "reliable_change_index",
    "classify_prepost",
    "clinical_significance",
    "clinical_significance_prepost",
    "ha_group_summary",
    "percentage_change",
    "percentage_change_prepost",
    "anchor_individual_prepost",
    "anchor_individual",
    "anchor_group",
    "summarise_categories",
]

RCI_METHODS = ("JT", "GLN", "HLL", "EN", "NK", "HA", "HLM")
#: Hageman-Arrindell harm rules: "R" (the R package's published path) or "true_score".
HA_HARMED = ("R", "true_score")
#: HLM tests of a client's slope: "cohort" (R: deviation from the mean slope) or "zero".
HLM_TESTS = ("cohort", "zero")
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")
RELIABLE_CHANGE = ("improved", "unchanged", "deteriorated")
ANCHOR_GROUP_CATEGORIES = (
    "Statistically not significant",
    "Statistically significant but not clinically relevant",
    "Not significantly beyond the threshold",
    "Probably clinically significant effect",
    "Large clinically significant effect",
)
_CUTOFF_B_SD = ("functional", "clinical")


# --------------------------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------------------------
def _check_direction(better_is: str) -> int:
    if better_is not in ("lower", "higher"):
        raise ValueError(f"better_is must be 'lower' or 'higher', got {better_is!r}")
    return -1 if better_is == "lower" else 1


def _check_reliability(reliability: float | None, name: str = "reliability") -> float:
    if reliability is None:
        raise ValueError(f"{name} is required for this RCI method (a coefficient in (0, 1))")
    try:
        r = float(reliability)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number in (0, 1), got {reliability!r}") from None
    if not 0 < r < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {reliability!r}")
    return r


def _check_method(rci_method: str) -> str:
    if rci_method not in RCI_METHODS:
        raise ValueError(f"rci_method must be one of {RCI_METHODS}, got {rci_method!r}")
    return rci_method


def _check_alpha(significance_level: float) -> float:
    a = float(significance_level)
    if not 0 < a < 1:
        raise ValueError(f"significance_level must lie in (0, 1), got {significance_level!r}")
    return a


def _critical(rci_method: str, significance_level: float) -> float:
    """Two-sided normal quantile, one-sided for HA (R: ``qnorm(1 - alpha)`` for HA)."""
    a = _check_alpha(significance_level)
    if rci_method == "HA":
        return float(stats.norm.ppf(1 - a))
    return float(stats.norm.ppf(1 - a / 2))


def _check_columns(data: pd.DataFrame, cols) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for col in cols:
        if col is not None and col not in data.columns:
            raise ValueError(f"column {col!r} not in data (columns: {list(data.columns)})")


# --------------------------------------------------------------------------------------------
# cutoffs
# --------------------------------------------------------------------------------------------
def clinical_cutoff(
    cutoff_type: str,
    m_clinical: float,
    sd_clinical: float,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    better_is: str = "lower",
    cutoff_b_sd: str = "functional",
) -> float:
    """Cutoff between the clinical and the functional population (Jacobson & Truax 1991).

    Parameters
    ----------
    cutoff_type : {"a", "b", "c"}
        a: two SDs beyond the clinical mean, in the direction of improvement;
        b: two SDs beyond the functional mean, in the direction of dysfunction;
        c: the point equally likely to belong to either population (weighted midpoint).
    m_clinical, sd_clinical : float
        Clinical population mean and SD (score points); by convention the baseline sample.
    m_functional, sd_functional : float, optional
        Functional (normative) population mean and SD (score points); required for b and c.
    better_is : {"lower", "higher"}
        Direction of improvement on the instrument.
    cutoff_b_sd : {"functional", "clinical"}
        Which SD cutoff b uses. ``"functional"`` (default) follows Jacobson & Truax (1991, p. 13):
        "(b) the level of functioning subsequent to therapy should fall within the range of the
        functional population, where range is defined as within two standard deviations of the
        mean of that population", i.e. the functional SD. ``"clinical"`` reproduces the R package
        clinicalsignificance (``.calc_cutoff_jt`` in ``R/calc_cutoff.R`` and its
        vignette "Clinical Significance Cutoffs": ``b = M_func - direction * 2 * SD_clin``).

    Returns
    -------
    float
        Cutoff in score points.

    Raises
    ------
    ValueError
        For an unknown type or ``cutoff_b_sd``, or b/c without functional norms.

    Notes
    -----
    With ``s = -1`` when lower is better and ``+1`` when higher is better:
    ``a = M_clin + s * 2 SD_clin``; ``b = M_func - s * 2 SD`` (SD per ``cutoff_b_sd``);
    ``c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)`` (J&T 1991, p. 13).

    Examples
    --------
    >>> round(clinical_cutoff("c", 24.0, 5.0, 8.0, 8.0), 3)
    17.846
    """
    s = _check_direction(better_is)
    if cutoff_b_sd not in _CUTOFF_B_SD:
        raise ValueError(f"cutoff_b_sd must be one of {_CUTOFF_B_SD}, got {cutoff_b_sd!r}")
    if cutoff_type == "a":
        return float(m_clinical + s * 2 * sd_clinical)
    if cutoff_type not in ("b", "c"):
        raise ValueError(f"cutoff_type must be 'a', 'b' or 'c', got {cutoff_type!r}")
    if m_functional is None or sd_functional is None:
        raise ValueError(
            f"cutoff_type {cutoff_type!r} needs functional norms: give m_functional and "
            "sd_functional (mean and SD of a non-clinical population, in score points)"
        )
    if cutoff_type == "b":
        sd = sd_functional if cutoff_b_sd == "functional" else sd_clinical
        return float(m_functional - s * 2 * sd)
    return float(
        (sd_clinical * m_functional + sd_functional * m_clinical) / (sd_clinical + sd_functional)
    )


def _ha_reliability(sd: float, se_measurement: float, what: str | None = None) -> float:
    """HA reliability of a sample with SD ``sd`` given the SEM: ``(sd^2 - SEM^2) / sd^2``.

    With ``what`` given, a non-positive value (SEM >= SD) raises a ValueError naming it.
    """
    r = (sd**2 - se_measurement**2) / sd**2
    if what is not None and not r > 0:
        raise ValueError(
            f"HA: the standard error of measurement ({se_measurement:.4g} points) is not smaller "
            f"than the SD of {what} ({sd:.4g} points), so its true-score reliability "
            f"({r:.4g}) is not positive and the HA cutoff is undefined"
        )
    return r


def ha_true_cutoff(
    cutoff_type: str,
    m_clinical: float,
    sd_clinical: float,
    reliability: float,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    better_is: str = "lower",
    cutoff_b_sd: str = "functional",
) -> float:
    """Hageman & Arrindell (1999) true-score cutoff (a, b or c on the true-score scale).

    Parameters
    ----------
    cutoff_type : {"a", "b", "c"}
    m_clinical, sd_clinical : float
        Clinical mean and SD (score points; R: the pre scores of the analysed clients).
    reliability : float
        Reliability in (0, 1); the SEM is ``sd_clinical * sqrt(1 - reliability)``.
    m_functional, sd_functional : float, optional
        Functional norms (score points); required for b and c.
    better_is : {"lower", "higher"}
    cutoff_b_sd : {"functional", "clinical"}
        As in :func:`clinical_cutoff`; ``"clinical"`` reproduces the R package.

    Returns
    -------
    float
        Cutoff in score points.

    Notes
    -----
    With SEM as above and the HA reliabilities ``r_clin = (SD_clin^2 - SEM^2) / SD_clin^2`` and
    ``r_func = (SD_func^2 - SEM^2) / SD_func^2`` (R ``.calc_cutoff_ha``):
    ``a = M_clin + s 2 SD_clin sqrt(r_clin)``; ``b = M_func - s 2 SD sqrt(r)`` (clinical or
    functional SD and reliability per ``cutoff_b_sd``);
    ``c = (SD_clin sqrt(r_clin) M_func + SD_func sqrt(r_func) M_clin) /
    (SD_clin sqrt(r_clin) + SD_func sqrt(r_func))``.
    """
    s = _check_direction(better_is)
    r = _check_reliability(reliability)
    if cutoff_b_sd not in _CUTOFF_B_SD:
        raise ValueError(f"cutoff_b_sd must be one of {_CUTOFF_B_SD}, got {cutoff_b_sd!r}")
    sem = sd_clinical * np.sqrt(1 - r)
    r_clin = _ha_reliability(sd_clinical, sem)
    if cutoff_type == "a":
        return float(m_clinical + s * 2 * sd_clinical * np.sqrt(r_clin))
    if cutoff_type not in ("b", "c"):
        raise ValueError(f"cutoff_type must be 'a', 'b' or 'c', got {cutoff_type!r}")
    if m_functional is None or sd_functional is None:
        raise ValueError(
            f"cutoff_type {cutoff_type!r} needs functional norms: give m_functional and "
            "sd_functional (mean and SD of a non-clinical population, in score points)"
        )
    r_func = _ha_reliability(sd_functional, sem, "the functional population")
    if cutoff_type == "b":
        if cutoff_b_sd == "functional":
            return float(m_functional - s * 2 * sd_functional * np.sqrt(r_func))
        return float(m_functional - s * 2 * sd_clinical * np.sqrt(r_clin))
    w_clin = sd_clinical * np.sqrt(r_clin)
    w_func = sd_functional * np.sqrt(r_func)
    return float((w_clin * m_functional + w_func * m_clinical) / (w_clin + w_func))


# --------------------------------------------------------------------------------------------
# reliable change indices (pre/post methods)
# --------------------------------------------------------------------------------------------
def rci_jacobson_truax(
    pre: np.ndarray,
    post: np.ndarray,
    sd_pre: float | None = None,
    reliability: float | None = None,
    s_diff: float | None = None,
) -> np.ndarray:
    """Jacobson-Truax reliable change index.

    Parameters
    ----------
    pre, post : array-like of float, shape (n,)
        Scores in instrument points.
    sd_pre : float, optional
        SD of the pre scores in score points: the sample SD of the analysed clients, or a
        published reference SD (e.g. of the instrument's clinical norm sample). Needs
        ``reliability``.
    reliability : float, optional
        Reliability coefficient in (0, 1).
    s_diff : float, optional
        The standard error of the difference in points, when it is given directly (e.g. a
        published S_diff); then ``sd_pre`` and ``reliability`` are not used.

    Returns
    -------
    numpy.ndarray, shape (n,)
        RCI = (post - pre) / S_diff with S_diff = sqrt(2) * SD_pre * sqrt(1 - r_xx)
        (J&T 1991, eq. 1-2). Positive means the score went up.

    Raises
    ------
    ValueError
        If neither ``s_diff`` nor both ``sd_pre`` and ``reliability`` are given, or a value is not
        positive.

    Examples
    --------
    >>> rci_jacobson_truax([13], [8], sd_pre=5.0, reliability=0.84).round(3).tolist()
    [-1.768]
    """
    s_diff = _s_diff(sd_pre, reliability, s_diff)
    return (np.asarray(post, float) - np.asarray(pre, float)) / s_diff


def _positive(x, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number of score points, got {x!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number of score points, got {x!r}")
    return v


def _s_diff(sd_pre, reliability, s_diff) -> float:
    """S_diff in points, from a given S_diff or from SD_pre and the reliability."""
    if s_diff is not None:
        return _positive(s_diff, "s_diff")
    if sd_pre is None or reliability is None:
        raise ValueError("the Jacobson-Truax RCI needs s_diff, or sd_pre and reliability")
    r = _check_reliability(reliability)
    return float(np.sqrt(2.0) * _positive(sd_pre, "sd_pre") * np.sqrt(1.0 - r))


def _sample_stats(pre: np.ndarray, post: np.ndarray, ok: np.ndarray) -> dict:
    p, q = pre[ok], post[ok]
    return {
        "m_pre": float(p.mean()),
        "sd_pre": float(p.std(ddof=1)),
        "m_post": float(q.mean()),
        "sd_post": float(q.std(ddof=1)),
        "cor_pre_post": float(np.corrcoef(p, q)[0, 1]) if len(p) > 1 else np.nan,
    }


def _check_reference(method, sd_pre, s_diff, rc_points) -> None:
    """Reference-SD options: which methods take which."""
    given = [
        k
        for k, v in (("sd_pre", sd_pre), ("s_diff", s_diff), ("rc_points", rc_points))
        if v is not None
    ]
    if len(given) > 1:
        raise ValueError(f"give at most one of sd_pre, s_diff and rc_points, got {given}")
    if (s_diff is not None or rc_points is not None) and method != "JT":
        raise ValueError(
            f"{given[0]} defines the Jacobson-Truax S_diff and needs rci_method='JT', "
            f"got {method!r} (use sd_pre= for a reference SD with GLN, HLL, EN or NK)"
        )
    if sd_pre is not None and method in ("HA", "HLM"):
        raise ValueError(
            f"sd_pre (a reference SD) is not defined for rci_method={method!r}: HA's reliability "
            "of change uses the sample's pre and post SDs, HLM uses no SD"
        )
    for name, v in (("sd_pre", sd_pre), ("s_diff", s_diff), ("rc_points", rc_points)):
        if v is not None:
            _positive(v, name)


def _rci(
    pre, post, method, r, r_post, st, sd_ref=None, s_diff_ref=None, crit=None
) -> tuple[np.ndarray, dict]:
    """RCI of a pre/post method (R ``calc_rci.cs_*``). ``st``: sample statistics of used clients.

    ``sd_ref`` replaces the sample SD of the pre scores in the denominators (a published
    reference SD); ``s_diff_ref`` replaces the JT S_diff. ``info`` reports the SD used and, with
    ``crit``, the threshold in points.
    """
    m_pre = st["m_pre"]
    sd_pre = st["sd_pre"] if sd_ref is None else float(sd_ref)
    info: dict = {
        "sd_pre_used": sd_pre,
        "sd_pre_source": "sample" if sd_ref is None else "reference",
        "s_diff": None,
        "threshold_points": None,
    }
    if method == "JT":
        if s_diff_ref is not None:
            s_diff = float(s_diff_ref)
            info["sd_pre_used"] = None
            info["sd_pre_source"] = "s_diff given"
        else:
            s_diff = np.sqrt(2.0) * sd_pre * np.sqrt(1 - r)
        info["s_diff"] = float(s_diff)
        if crit is not None:
            info["threshold_points"] = float(crit * s_diff)
        rci = (post - pre) / s_diff
    elif method in ("GLN", "HLL"):
        se_pred = sd_pre * np.sqrt(1 - r**2)
        centre = m_pre if method == "GLN" else st["m_post"]
        info["se_prediction"] = se_pred
        if crit is not None:  # points beyond the predicted post score
            info["threshold_points"] = float(crit * se_pred)
        rci = ((post - centre) - r * (pre - m_pre)) / se_pred
    elif method == "EN":
        sem = sd_pre * np.sqrt(1 - r)
        info["se_measurement"] = sem
        if crit is not None:
            info["threshold_points"] = float(crit * sem)
        rci = (post - (r * (pre - m_pre) + m_pre)) / sem
    elif method == "NK":
        denom = np.sqrt(r**2 * sd_pre**2 * (1 - r) + sd_pre**2 * (1 - r_post))
        info["se_nk"] = denom
        if crit is not None:
            info["threshold_points"] = float(crit * denom)
        rci = (post - (r * (pre - m_pre) + m_pre)) / denom
    elif method == "HA":
        sem = sd_pre * np.sqrt(1 - r)
        sd_post, rho = st["sd_post"], st["cor_pre_post"]
        r1 = _ha_reliability(sd_pre, sem)
        r2 = _ha_reliability(sd_post, sem)
        num = sd_pre**2 * r1 + sd_post**2 * r2 - 2 * sd_pre * sd_post * rho
        den = sd_pre**2 + sd_post**2 - 2 * sd_pre * sd_post * rho
        if not den > 1e-12 * (sd_pre**2 + sd_post**2):
            raise ValueError(
                "HA: the change scores (post - pre) have no variance among the complete clients, "
                "so the reliability of change r_dd is undefined"
            )
        r_dd = num / den
        info.update(se_measurement=sem, r_dd=r_dd)
        with np.errstate(invalid="ignore"):
            rci = ((post - pre) * r_dd + (st["m_post"] - m_pre) * (1 - r_dd)) / (
                np.sqrt(r_dd) * np.sqrt(2 * sem**2)
            )
    else:  # pragma: no cover - guarded by _check_method
        raise ValueError(f"rci_method {method!r} has no pre/post formula")
    return rci, info


def reliable_change_index(
    pre,
    post,
    rci_method: str = "JT",
    reliability: float | None = None,
    reliability_post: float | None = None,
    sd_pre: float | None = None,
    s_diff: float | None = None,
) -> np.ndarray:
    """Reliable change index of a pre/post method, with the sample statistics taken from the data.

    Parameters
    ----------
    pre, post : array-like of float, shape (n,)
        Scores in instrument points; pairs with a NaN get a NaN RCI and are left out of the means,
        SDs and correlation.
    rci_method : {"JT", "GLN", "HLL", "EN", "NK", "HA"}
        See :func:`clinical_significance` for the formulas.
    reliability : float
        Reliability in (0, 1).
    reliability_post : float, optional
        Post reliability (NK only; default ``reliability``).
    sd_pre : float, optional
        A published reference SD of pre scores (points) used instead of the sample SD in the
        denominator (JT, GLN, HLL, EN, NK). A small or homogeneous sample has a small SD and so a
        small S_diff: with a reference SD the threshold does not shrink with the sample.
    s_diff : float, optional
        JT only: S_diff in points given directly (e.g. a published value).

    Returns
    -------
    numpy.ndarray, shape (n,)
        RCI; positive means the score went up (whatever the direction of improvement).

    Raises
    ------
    ValueError
        For an unknown method (HLM needs the long data: use :func:`clinical_significance`),
        a reliability outside (0, 1), fewer than two complete pairs, or a reference option the
        method does not take.

    Examples
    --------
    Four clients, PHQ-9 pre scores 13, 17, 17, 17 (sample SD 2.0), r = 0.84; client 1 drops
    5 points. Sample SD: S_diff = sqrt(2) 2.0 0.4 = 1.131, RCI = -4.42; with a reference SD of
    5.0: S_diff = 2.828, RCI = -1.77 (not reliable).

    >>> pre, post = [13, 17, 17, 17], [8, 17, 16, 18]
    >>> round(float(reliable_change_index(pre, post, reliability=0.84)[0]), 2)
    -4.42
    >>> round(float(reliable_change_index(pre, post, reliability=0.84, sd_pre=5.0)[0]), 2)
    -1.77
    """
    method = _check_method(rci_method)
    if method == "HLM":
        raise ValueError("HLM needs every measurement of each client: use clinical_significance")
    _check_reference(method, sd_pre, s_diff, None)
    if s_diff is not None:
        return rci_jacobson_truax(pre, post, s_diff=s_diff)
    r = _check_reliability(reliability)
    r_post = (
        r if reliability_post is None else _check_reliability(reliability_post, "reliability_post")
    )
    pre, post = np.asarray(pre, float), np.asarray(post, float)
    ok = ~(np.isnan(pre) | np.isnan(post))
    if ok.sum() < 2:
        raise ValueError(f"need at least 2 complete pre/post pairs, got {int(ok.sum())}")
    return _rci(pre, post, method, r, r_post, _sample_stats(pre, post, ok), sd_ref=sd_pre)[0]


# --------------------------------------------------------------------------------------------
# classification
# --------------------------------------------------------------------------------------------
def _cat(codes: np.ndarray, levels) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(levels))


def classify_prepost(
    pre: np.ndarray,
    post: np.ndarray,
    rci: np.ndarray,
    critical: float,
    better_is: str = "lower",
    cutoff: float | None = None,
    rc_points: float | None = None,
) -> pd.DataFrame:
    """Reliable-change and combined categories from pre, post and RCI (vectorised).

    Parameters
    ----------
    pre, post, rci : array-like of float, shape (n,)
        NaN in any of them gives a missing classification.
    critical : float
        Critical |RCI| (1.96 at the 5 % level). Reliable change needs ``direction * RCI``
        strictly beyond it (J&T 1991: "exceeds 1.96"; R ``.calc_improvement``).
    better_is : {"lower", "higher"}
    cutoff : float, optional
        Clinical cutoff (score points). As in the R package (``calc_cutoff_from_data.default``),
        a pre score is clinical when strictly beyond the cutoff on the dysfunctional side, and a
        post score is functional when strictly beyond it on the functional side.
    rc_points : float, optional
        A published reliable-change threshold in points. When given, reliable change is judged on
        the change itself, inclusively: ``direction * (post - pre) >= rc_points`` (published
        thresholds read "a change of 6 points or more", e.g. NHS Talking Therapies for the PHQ-9),
        and ``rci``/``critical`` are not used for the decision.

    Returns
    -------
    pandas.DataFrame, n rows
        ``reliable_change`` (categorical: improved / unchanged / deteriorated),
        ``clinical_pre`` (boolean or NA), ``clinical_post`` (boolean: *not* functional at post,
        i.e. at or beyond the cutoff on the dysfunctional side), ``category`` (categorical:
        recovered / improved / unchanged / deteriorated / harmed; NaN without a cutoff).
        Recovered = reliably improved, clinical at pre and functional at post; harmed = reliably
        deteriorated, not clinical at pre and not functional at post (R
        ``create_summary_table.cs_combined``).
    """
    s = _check_direction(better_is)
    pre, post, rci = (np.asarray(x, float) for x in (pre, post, rci))
    ok = ~(np.isnan(pre) | np.isnan(post) | np.isnan(rci))
    if rc_points is None:
        toward = s * rci  # positive = towards improvement
        improved = ok & (toward > critical)
        deteriorated = ok & (toward < -critical)
    else:
        rc = _positive(rc_points, "rc_points")
        with np.errstate(invalid="ignore"):
            toward_pts = s * (post - pre)
        improved = ok & (toward_pts >= rc)
        deteriorated = ok & (toward_pts <= -rc)
    rc_codes = np.where(improved, 0, np.where(deteriorated, 2, 1))
    rc_codes[~ok] = -1
    out = pd.DataFrame({"reliable_change": _cat(rc_codes, RELIABLE_CHANGE)})
    if cutoff is None:
        all_na = np.ones(len(pre), dtype=bool)  # a missing mask, not 10^6 pd.NA objects
        out["clinical_pre"] = pd.arrays.BooleanArray(np.zeros(len(pre), bool), all_na)
        out["clinical_post"] = pd.arrays.BooleanArray(np.zeros(len(pre), bool), all_na.copy())
        out["category"] = _cat(np.full(len(pre), -1), CATEGORIES)
        return out
    clin_pre = s * pre < s * cutoff
    func_post = s * post > s * cutoff
    recovered = improved & clin_pre & func_post
    harmed = deteriorated & ~clin_pre & ~func_post
    out["clinical_pre"] = _masked_bool(clin_pre, np.isnan(pre))
    out["clinical_post"] = _masked_bool(~func_post, np.isnan(post))
    out["category"] = _category_codes(ok, recovered, improved, deteriorated, harmed)
    return out


def _masked_bool(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(values.astype(bool), missing.astype(bool))


def _category_codes(ok, recovered, improved, deteriorated, harmed) -> pd.Categorical:
    codes = np.full(len(ok), 2, dtype=np.int8)  # unchanged
    codes[improved] = 1
    codes[recovered] = 0
    codes[deteriorated] = 3
    codes[harmed] = 4
    codes[~ok] = -1
    return _cat(codes, CATEGORIES)


# --------------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------------
def _factorize_ids(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and the unique ids in order of first appearance (as ``pd.unique``).

    A missing id is kept as an id of its own, as ``pd.unique`` keeps it; the check for one is
    made on the integer codes, since asking pandas for it up front scans every string again.
    """
    codes, uniques = pd.factorize(ids)
    if len(codes) and codes.min() < 0:
        codes, uniques = pd.factorize(ids, use_na_sentinel=False)
    return codes, pd.Index(uniques)


def _check_duplicates(
    sub: pd.DataFrame,
    id: str,
    time: str,
    id_codes: np.ndarray | None = None,
    time_key: np.ndarray | None = None,
    rows: np.ndarray | None = None,
    columns: list | None = None,
) -> None:
    """Raise if two rows of ``sub`` share a client and a time point (vectorised).

    ``id_codes`` (integer codes of ``sub[id]``) and ``time_key`` (values that are equal exactly
    when the times are, e.g. the numeric times or a pre/post flag) may be passed when the caller
    already has them; a missing time counts as one value, as in ``DataFrame.duplicated``.
    ``rows``: positions in ``sub`` that the codes and keys describe (default all rows); the
    subset (and ``columns``, default all) is only taken to show the offending rows in the error.
    """
    if id_codes is None:
        id_codes = _factorize_ids(sub[id])[0]
    if time_key is not None and time_key.dtype == bool:
        t_codes, t_uniques = time_key.astype(np.int64), (False, True)
    else:
        t_codes, t_uniques = pd.factorize(
            sub[time] if time_key is None else time_key, use_na_sentinel=False
        )
    n_t = max(len(t_uniques), 1)
    key = id_codes.astype(np.int64) * n_t + t_codes
    n_keys = (int(id_codes.max()) + 1) * n_t if len(key) else 0
    if n_keys <= 8 * len(key) + 1024:
        found = len(key) > 0 and np.bincount(key, minlength=n_keys).max() > 1
    else:
        found = pd.Index(key).has_duplicates
    if not found:
        return
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if rows is not None:
        sub = sub.iloc[rows]
    if columns is not None:
        sub = sub[columns]
    raise ValueError(
        f"{int(dup.sum())} rows share a client ({id!r}) and time point ({time!r}): two scores "
        f"at one time; aggregate or drop them first. First ones:\n"
        f"{sub.iloc[np.flatnonzero(dup)[:6]].to_string()}"
    )


def _group_of(data: pd.DataFrame, id: str, group: str | None, ids: pd.Index) -> np.ndarray | None:
    if group is None:
        return None
    g = data[[id, group]].drop_duplicates()
    many = g[id].duplicated(keep=False)
    if many.any():
        raise ValueError(
            f"column {group!r} must be constant within a client; clients with several values: "
            f"{g.loc[many, id].unique()[:5].tolist()}"
        )
    return g.set_index(id)[group].reindex(ids).to_numpy()


def _prepost(data: pd.DataFrame, id: str, time: str, outcome: str, pre, post) -> pd.DataFrame:
    tcol = data[time]
    is_pre = (tcol == pre).to_numpy(dtype=bool, na_value=False)
    is_post = (tcol == post).to_numpy(dtype=bool, na_value=False)
    for label, value, hit in (("pre", pre, is_pre), ("post", post, is_post)):
        if not hit.any():
            times = pd.unique(tcol.dropna())
            raise ValueError(
                f"{label}={value!r} is not a value of column {time!r} "
                f"(values: {sorted(times.tolist(), key=str)})"
            )
    if pre == post:
        raise ValueError(f"pre and post must differ, both are {pre!r}")
    # one hash pass over the ids (strings too); everything after it is integer arithmetic
    id_codes, uniques = _factorize_ids(data[id])
    rows = np.flatnonzero(is_pre | is_post)
    codes = id_codes[rows]
    pre_row = is_pre[rows]
    _check_duplicates(data, id, time, codes, pre_row, rows, [id, time, outcome])
    col = data[outcome]
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        y = col.to_numpy(dtype=float, na_value=np.nan)[rows]
    else:
        y = pd.to_numeric(col.iloc[rows], errors="coerce").to_numpy(dtype=float)
    n = len(uniques)
    pre_v = np.full(n, np.nan)
    post_v = np.full(n, np.nan)
    pre_v[codes[pre_row]] = y[pre_row]
    post_v[codes[~pre_row]] = y[~pre_row]
    return pd.DataFrame({"id": uniques.to_numpy(), "pre": pre_v, "post": post_v})


# --------------------------------------------------------------------------------------------
# main entry points
# --------------------------------------------------------------------------------------------
_COMMON_DOC = """
    reliability : float
        Reliability of the outcome in (0, 1) (state its type: alpha or test-retest). Not used by
        HLM.
    reliability_post : float, optional
        Post-test reliability (NK only; default ``reliability``, as the R package does).
    rci_method : {"JT", "GLN", "HLL", "EN", "NK", "HA", "HLM"}
        Reliable change method; formulas in Notes.
    cutoff_type : {"a", "b", "c"}, optional
        Clinical cutoff (see :func:`clinical_cutoff`); None gives reliable change only. With
        ``rci_method="HA"`` the Hageman-Arrindell true-score version is used
        (:func:`ha_true_cutoff`) and recovery is judged on the true post score, as in R.
    m_functional, sd_functional : float, optional
        Functional population norms (score points); required for cutoffs b and c.
    m_clinical, sd_clinical : float, optional
        Clinical population norms; default the mean and SD (ddof = 1) of the analysed pre scores
        (the R package always uses these).
    better_is : {"lower", "higher"}
        Direction of improvement.
    significance_level : float
        Level for the critical value: two-sided (0.05 gives 1.959964) for all methods except HA,
        which is one-sided (0.05 gives 1.644854), as in R.
    cutoff_b_sd : {"functional", "clinical"}
        SD used by cutoff b: the paper's functional SD (default) or the R package's clinical SD.
    sd_pre : float, optional
        A published reference SD of pre scores (points, e.g. the instrument's clinical norm
        sample) used in the RCI denominator instead of the sample's SD (JT, GLN, HLL, EN, NK).
        The sample SD of a small or homogeneous clinic is small, and so is its threshold; a
        reference SD keeps the threshold where the instrument's literature puts it. Cutoffs a and
        b still use the sample (or ``m_clinical``/``sd_clinical``).
    s_diff : float, optional
        JT only: the standard error of the difference in points, given directly (a published
        S_diff). Reliable change is ``|change| / s_diff`` beyond the critical value.
    rc_points : float, optional
        JT only: a published reliable-change value in points (e.g. the registry's
        ``reliable_change``: PHQ-9 6, GAD-7 4). Reliable change is then ``direction * change >=
        rc_points`` (inclusive, as published), and the RCI is reported as ``change / S_diff``
        with ``S_diff = rc_points / z``.
    ha_harmed : {"R", "true_score"}
        HA only. ``"R"`` (default) follows the R package's published path exactly: harmed =
        reliably deteriorated (one-sided HA RCI) and *not clinical at pre*, whatever the post
        score (R ``create_summary_table.cs_combined`` computes ``harmed = !clinical_pre &
        !functional_post & deteriorated`` and, for HA, ``functional_post`` is ``clinical_pre &
        cs_indiv > z``, so it is always FALSE for a client not clinical at pre). ``"true_score"``
        adds the symmetric true-score test of the recovery rule: harmed also needs the post true
        score reliably on the dysfunctional side of the cutoff, ``direction * cs_indiv < -z``
        (R's own ``clinical_post`` column of ``calc_cutoff_from_data.cs_ha``).
"""


def clinical_significance_prepost(
    prepost: pd.DataFrame,
    reliability: float | None = None,
    reliability_post: float | None = None,
    rci_method: str = "JT",
    cutoff_type: str | None = None,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    m_clinical: float | None = None,
    sd_clinical: float | None = None,
    better_is: str = "lower",
    significance_level: float = 0.05,
    cutoff_b_sd: str = "functional",
    cutoff: float | None = None,
    id: str = "id",
    pre: str = "pre",
    post: str = "post",
    group: str | None = None,
    pre_label="pre",
    post_label="post",
    sd_pre: float | None = None,
    s_diff: float | None = None,
    rc_points: float | None = None,
    ha_harmed: str = "R",
    *,
    _ids_unique: bool = False,
) -> pd.DataFrame:
    """Reliable change and clinical significance from a wide per-client pre/post table.

    The vectorised core of :func:`clinical_significance`, for callers that already hold one row
    per client (e.g. :mod:`analysis.outcomes.engine`). All pre/post methods; HLM needs the long data.

    Parameters
    ----------
    prepost : pandas.DataFrame
        One row per client with columns ``id``, ``pre``, ``post`` (names set by the keywords;
        scores in instrument points, NaN = missing). Not modified.
    {common}
    cutoff : float, optional
        A fixed cutoff in score points (e.g. a published one) instead of ``cutoff_type``. Not
        allowed with HA (its cutoff is on the true-score scale).
    id, pre, post : str
        Column names in ``prepost``.
    group : str, optional
        Column carried to the output (for :func:`summarise_categories`, :func:`ha_group_summary`).
    pre_label, post_label : object
        Time labels quoted in the ``reason`` of clients missing a score.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in input order; columns as in :func:`clinical_significance`.
        ``attrs["clinsig"]`` holds the method, critical value, cutoff, sample statistics, the SD
        used (``sd_pre_used``, ``sd_pre_source``: sample / reference / s_diff given /
        rc_points given), ``s_diff`` (JT, points) and ``threshold_points`` (the change in points
        a client must exceed: ``z * S_diff`` for JT, the published value with ``rc_points``; for
        GLN, HLL, EN, NK the distance from the predicted post score).

    Raises
    ------
    ValueError
        As :func:`clinical_significance`, and for a duplicated client id.
    """
    method = _check_method(rci_method)
    if method == "HLM":
        raise ValueError(
            "rci_method='HLM' needs every measurement of each client (long data); call "
            "clinical_significance(data, ...) instead"
        )
    s = _check_direction(better_is)
    _check_reference(method, sd_pre, s_diff, rc_points)
    if ha_harmed not in HA_HARMED:
        raise ValueError(f"ha_harmed must be one of {list(HA_HARMED)}, got {ha_harmed!r}")
    crit = _critical(method, significance_level)
    if rc_points is not None:
        s_diff = float(rc_points) / crit
    if s_diff is not None and reliability is None:
        r = r_post = np.nan  # not used: S_diff is given
    else:
        r = _check_reliability(reliability)
        r_post = (
            r
            if reliability_post is None
            else _check_reliability(reliability_post, "reliability_post")
        )
    _check_columns(prepost, [id, pre, post, group])
    if cutoff is not None and cutoff_type is not None:
        raise ValueError("give either cutoff (points) or cutoff_type, not both")
    if cutoff is not None and method == "HA":
        raise ValueError("a fixed cutoff cannot be used with HA (its cutoff is a true score)")
    if cutoff_type is not None:
        clinical_cutoff(cutoff_type, 0.0, 1.0, m_functional, sd_functional, better_is, cutoff_b_sd)
    # _ids_unique (internal): the caller built the ids by factorising, so skip a hash pass
    if not _ids_unique and prepost[id].duplicated().any():
        raise ValueError(
            f"column {id!r} must identify one row per client; duplicated: "
            f"{prepost.loc[prepost[id].duplicated(), id].unique()[:5].tolist()}"
        )
    pre_a = pd.to_numeric(prepost[pre], errors="coerce").to_numpy(dtype=float)
    post_a = pd.to_numeric(prepost[post], errors="coerce").to_numpy(dtype=float)
    miss_pre, miss_post = np.isnan(pre_a), np.isnan(post_a)
    ok = ~(miss_pre | miss_post)
    if ok.sum() < (3 if method == "HA" else 2):
        raise ValueError(
            f"only {int(ok.sum())} client(s) have both a pre and a post score; the SD of the pre "
            "scores needs at least 2 (HA: 3, for the pre-post correlation)"
        )
    st = _sample_stats(pre_a, post_a, ok)
    rci, info = _rci(pre_a, post_a, method, r, r_post, st, sd_pre, s_diff, crit)
    if rc_points is not None:
        info["sd_pre_source"] = "rc_points given"
        info["threshold_points"] = float(rc_points)
    rci = np.where(ok, rci, np.nan)
    m_clin = st["m_pre"] if m_clinical is None else float(m_clinical)
    sd_clin = st["sd_pre"] if sd_clinical is None else float(sd_clinical)

    out = pd.DataFrame({"id": prepost[id].to_numpy()})
    if group is not None:
        out[group] = prepost[group].to_numpy()
    out["pre"] = pre_a
    out["post"] = post_a
    out["change"] = post_a - pre_a
    out["rci"] = rci

    cs_indiv = None
    if method == "HA" and cutoff_type is not None:
        cutoff = ha_true_cutoff(
            cutoff_type, m_clin, sd_clin, r, m_functional, sd_functional, better_is, cutoff_b_sd
        )
        cls = classify_prepost(pre_a, post_a, rci, crit, better_is, None)
        sem_c = sd_clin * np.sqrt(1 - r)
        rel_post = _ha_reliability(st["sd_post"], sem_c, "the post scores")
        info["reliability_post_ha"] = rel_post
        with np.errstate(invalid="ignore"):
            cs_indiv = (st["m_post"] + (post_a - st["m_post"]) * rel_post - cutoff) / (
                np.sqrt(rel_post) * sem_c
            )
        clin_pre = s * pre_a < s * cutoff
        func_post = clin_pre & (s * cs_indiv > crit)
        improved = ok & (s * rci > crit)
        deteriorated = ok & (s * rci < -crit)
        recovered = improved & func_post
        # R create_summary_table.cs_combined: harmed = !clinical_pre & !functional_post &
        # deteriorated; with HA's functional_post (clinical_pre & ...) that is !clinical_pre &
        # deteriorated. The true-score option also asks R's clinical_post (cs_indiv < -z).
        harmed = deteriorated & ~clin_pre
        if ha_harmed == "true_score":
            harmed = harmed & (s * cs_indiv < -crit)
        cls["clinical_pre"] = _masked_bool(clin_pre, miss_pre)
        cls["clinical_post"] = _masked_bool(~(s * cs_indiv > crit), miss_post)
        cls["category"] = _category_codes(ok, recovered, improved, deteriorated, harmed)
        info["ha_harmed"] = ha_harmed
    else:
        if cutoff is None and cutoff_type is not None:
            cutoff = clinical_cutoff(
                cutoff_type, m_clin, sd_clin, m_functional, sd_functional, better_is, cutoff_b_sd
            )
        cls = classify_prepost(pre_a, post_a, rci, crit, better_is, cutoff, rc_points)
    out["reliable_change"] = cls["reliable_change"].to_numpy()
    out["cutoff"] = np.nan if cutoff is None else float(cutoff)
    out["clinical_pre"] = cls["clinical_pre"].array
    out["clinical_post"] = cls["clinical_post"].array
    out["category"] = cls["category"].to_numpy()
    if cs_indiv is not None:
        out["cs_indiv"] = np.where(ok, cs_indiv, np.nan)
    out["evaluable"] = ok
    rcodes = np.where(miss_pre & miss_post, 3, np.where(miss_pre, 1, np.where(miss_post, 2, 0)))
    out["reason"] = pd.Categorical.from_codes(
        rcodes.astype(np.int8),
        categories=[
            "",
            f"no score at pre ({pre_label})",
            f"no score at post ({post_label})",
            f"no score at pre ({pre_label}) or post ({post_label})",
        ],
    )
    out["method"] = method
    out.attrs["clinsig"] = {
        "method": method,
        "critical": crit,
        "cutoff": None if cutoff is None else float(cutoff),
        "cutoff_type": cutoff_type,
        "better_is": better_is,
        "reliability": None if np.isnan(r) else r,
        "reliability_post": r_post if method == "NK" else None,
        "n_used": int(ok.sum()),
        **st,
        **info,
    }
    return out


if clinical_significance_prepost.__doc__:  # None under python -OO
    clinical_significance_prepost.__doc__ = clinical_significance_prepost.__doc__.replace(
        "    {common}\n", _COMMON_DOC.lstrip("\n")
    )


def clinical_significance(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    outcome: str = "score",
    pre=None,
    post=None,
    reliability: float | None = None,
    reliability_post: float | None = None,
    rci_method: str = "JT",
    cutoff_type: str | None = None,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    m_clinical: float | None = None,
    sd_clinical: float | None = None,
    better_is: str = "lower",
    significance_level: float = 0.05,
    cutoff_b_sd: str = "functional",
    group: str | None = None,
    min_timepoints: int = 3,
    sd_pre: float | None = None,
    s_diff: float | None = None,
    rc_points: float | None = None,
    ha_harmed: str = "R",
    hlm_test: str = "cohort",
) -> pd.DataFrame:
    """Reliable change and clinical significance per client (R ``cs_distribution``/``cs_combined``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per client x time point (one outcome). Not modified.
    id, time, outcome : str
        Column names of the client identifier, the time label and the score (score points).
    pre, post : scalar
        Values of ``time`` that mark the pre and the post measurement. Default: the smallest and
        the largest time label. Not used by HLM, which uses every measurement.
    {common}
    group : str, optional
        Column of ``data`` constant within a client (e.g. ``arm``), carried to the output for
        per-group summaries.
    min_timepoints : int
        HLM only: clients with fewer non-missing measurements are not evaluable (R: 3).
    hlm_test : {"cohort", "zero"}
        HLM only. ``"cohort"`` (default, as R): the client's random slope, i.e. the deviation
        of their slope from the cohort's mean (fixed) slope, over its conditional SD: a client
        improving as fast as the average client is "unchanged". ``"zero"``: the client's own
        slope (fixed + random) against zero, over the same conditional SD: "did this client
        change?" rather than "did they change more than the average client?". The conditional
        SD ignores the (small, for many clients) sampling error of the fixed slope.

    Returns
    -------
    pandas.DataFrame
        One row per client, in order of first appearance: ``id``, (``group``), ``pre``, ``post``,
        ``change`` (post - pre, points), ``rci``, ``reliable_change`` (categorical: improved /
        unchanged / deteriorated), ``cutoff`` (points, NaN without one), ``clinical_pre``,
        ``clinical_post`` (boolean, see :func:`classify_prepost`), ``category`` (categorical:
        recovered / improved / unchanged / deteriorated / harmed; NaN without a cutoff),
        ``cs_indiv`` (HA with a cutoff: true-score z of the post score against the cutoff),
        ``n_timepoints``, ``eb_slope``, ``eb_slope_sd`` (HLM only), ``evaluable`` (bool),
        ``reason`` (why not evaluable; "" otherwise) and ``method``. ``attrs["clinsig"]`` holds
        the method's constants (critical value, cutoff, SDs, r_dd, ...), the SD used for the
        RCI (``sd_pre_used``, ``sd_pre_source``), ``s_diff`` and ``threshold_points`` (the
        change in points a client must exceed; see :func:`clinical_significance_prepost`).

    Raises
    ------
    ValueError
        For a reliability outside (0, 1), an unknown method or cutoff type, cutoff b or c without
        functional norms, pre or post labels absent from the data, a client with two scores at
        one time point, or too few complete clients to estimate the SD.
    TypeError
        If ``data`` is not a DataFrame.

    Notes
    -----
    Sample statistics (``M``, ``SD`` with ddof = 1, pre-post correlation) come from the clients
    with both scores; ``s = -1`` when lower is better. Each RCI is referred to the critical value
    ``z`` (``direction * RCI > z`` is reliable improvement):

    * JT: ``(post - pre) / (sqrt(2) SD_pre sqrt(1 - r))``  (Jacobson & Truax 1991)
    * GLN: ``((post - M_pre) - r (pre - M_pre)) / (SD_pre sqrt(1 - r^2))``  (Hsu 1989)
    * HLL: ``((post - M_post) - r (pre - M_pre)) / (SD_pre sqrt(1 - r^2))``  (Hsu 1989)
    * EN: ``(post - [r (pre - M_pre) + M_pre]) / (SD_pre sqrt(1 - r))``  (Speer 1992)
    * NK: ``(post - [r (pre - M_pre) + M_pre]) /
      sqrt(r^2 SD_pre^2 (1 - r) + SD_pre^2 (1 - r_post))`` (Nunnally & Kotsch 1983)
    * HA: with ``SEM = SD_pre sqrt(1 - r)``, ``r_xx = (SD^2 - SEM^2) / SD^2`` at pre and post and
      ``r_dd = (SD_pre^2 r_1 + SD_post^2 r_2 - 2 SD_pre SD_post rho) /
      (SD_pre^2 + SD_post^2 - 2 SD_pre SD_post rho)``:
      ``((post - pre) r_dd + (M_post - M_pre)(1 - r_dd)) / (sqrt(r_dd) sqrt(2) SEM)``, one-sided
      ``z``; recovered when clinical at pre and ``s * (M_post + (post - M_post) r_post - cutoff) /
      (sqrt(r_post) SEM) > z`` (Hageman & Arrindell 1999). Harmed, as R's published path
      (``cs_combined`` -> ``create_summary_table.cs_combined``) computes it: reliably deteriorated
      and not clinical at pre, whatever the post score (R's unused internal helper
      ``.calc_recovered_ha`` would set harmed to FALSE; the package does not call it). With
      ``ha_harmed="true_score"`` the post true score must also lie reliably on the dysfunctional
      side of the cutoff (``s * cs_indiv < -z``).
    * HLM: ``outcome ~ time + (time | id)`` fitted by REML (:mod:`analysis.outcomes.hlm`, the
      estimates of statsmodels ``MixedLM`` and lme4 ``lmer``) on every non-missing measurement of
      clients with at least ``min_timepoints``; RCI = the empirical Bayes estimate of the client's
      random slope (deviation from the fixed slope) divided by its conditional SD, exactly as R's
      ``lme4::ranef(condVar = TRUE)``; with ``hlm_test="zero"``, ``(fixed slope + random slope) /
      conditional SD``. ``pre``/``post`` are the client's first and last non-missing score (used
      for the cutoff). A boundary (singular) fit is flagged in ``attrs["clinsig"]["singular"]``
      with a note in ``fit_warnings``, as lme4 reports it; if the random-slope variance is 0 no
      slope can differ reliably and the clients are not evaluable, with that reason.

    Categories: recovered = reliably improved and clinical at pre and functional at post;
    harmed = reliably deteriorated, not clinical at pre and not functional at post (HA: see
    above).
    Clients missing a score are kept, with ``evaluable = False`` and a reason.

    References
    ----------
    Jacobson & Truax (1991) J Consult Clin Psychol 59(1):12-19. Claus, Wager & Bonnet (2024)
    J Stat Softw 111(1). Further method references in the module docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({{"id": [1, 1, 2, 2, 3, 3], "time": [1, 2] * 3,
    ...                   "score": [20, 8, 22, 21, 15, 14]}})
    >>> clinical_significance(d, reliability=0.8)["reliable_change"].tolist()
    ['improved', 'unchanged', 'unchanged']
    """
    _check_columns(data, [id, time, outcome, group])
    method = _check_method(rci_method)
    _check_direction(better_is)
    _check_alpha(significance_level)
    if hlm_test not in HLM_TESTS:
        raise ValueError(f"hlm_test must be one of {list(HLM_TESTS)}, got {hlm_test!r}")
    _check_reference(method, sd_pre, s_diff, rc_points)
    if method == "HLM":
        return _clinical_significance_hlm(
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
            hlm_test=hlm_test,
        )
    if s_diff is None and rc_points is None:
        _check_reliability(reliability)
    if pre is None:
        pre = data[time].min()
    if post is None:
        post = data[time].max()
    pp = _prepost(data, id, time, outcome, pre, post)
    grp_col = None
    if group is not None:
        grp_col = "group" if group in ("id", "pre", "post") else group
        pp[grp_col] = _group_of(data, id, group, pd.Index(pp["id"]))
    return clinical_significance_prepost(
        pp,
        reliability=reliability,
        reliability_post=reliability_post,
        rci_method=method,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        m_clinical=m_clinical,
        sd_clinical=sd_clinical,
        better_is=better_is,
        significance_level=significance_level,
        cutoff_b_sd=cutoff_b_sd,
        group=grp_col,
        pre_label=pre,
        post_label=post,
        sd_pre=sd_pre,
        s_diff=s_diff,
        rc_points=rc_points,
        ha_harmed=ha_harmed,
        _ids_unique=True,
    )


if clinical_significance.__doc__:  # None under python -OO
    clinical_significance.__doc__ = (
        clinical_significance.__doc__.replace("    {common}\n", _COMMON_DOC.lstrip("\n"))
        .replace("{{", "{")
        .replace("}}", "}")
    )


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
    from analysis.outcomes.hlm import fit_growth_arrays

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
    ok = n_tp >= min_timepoints
    if ok.sum() < 3:
        raise ValueError(
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


def ha_group_summary(result: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
    """Hageman & Arrindell group-level proportions changed and functional (R ``cs_combined``, HA).

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`clinical_significance` with ``rci_method="HA"`` and a ``cutoff_type``
        (its ``attrs["clinsig"]`` carries ``r_dd``, the SEM, the true cutoff and the post SD).
    group : str, optional
        Column of ``result`` to split by.

    Returns
    -------
    pandas.DataFrame
        ``group`` (if given), ``category`` ("changed" / "functional") and ``percent`` (a
        proportion in [0, 1], as R reports it).

    Raises
    ------
    ValueError
        If ``result`` is not an HA result with a cutoff.

    Notes
    -----
    Per group, with its mean and SD of change and of post scores, and the whole-sample ``r_dd``
    and ``r_post = (SD_post^2 - SEM^2) / SD_post^2``: ``z_changed = -mean_change /
    (SD_change sqrt(r_dd))`` and ``z_functional = (cutoff - M_post) / (SD_post sqrt(r_post))``;
    the proportion is ``Phi(z)`` when lower is better and ``1 - Phi(z)`` when higher is better
    (R ``create_summary_table.cs_combined``; Hageman & Arrindell 1999).
    """
    info = result.attrs.get("clinsig", {})
    if info.get("method") != "HA" or info.get("cutoff") is None:
        raise ValueError(
            "ha_group_summary needs the output of clinical_significance(rci_method='HA', "
            "cutoff_type=...) with its attrs intact"
        )
    s = -1 if info["better_is"] == "lower" else 1
    sem = info["se_measurement"]
    r_post = _ha_reliability(info["sd_post"], sem)
    ev = result.loc[result["evaluable"].to_numpy(bool)]
    keys = [group] if group else []
    if group:
        _check_columns(result, [group])
    g = ev.groupby(keys, observed=True, sort=True) if keys else None
    agg = (g if g is not None else ev.assign(_all=0).groupby("_all")).agg(
        mean_change=("change", "mean"),
        sd_change=("change", "std"),
        m_post=("post", "mean"),
        sd_post=("post", "std"),
    )
    z_changed = -agg["mean_change"] / (agg["sd_change"] * np.sqrt(info["r_dd"]))
    z_func = (info["cutoff"] - agg["m_post"]) / (agg["sd_post"] * np.sqrt(r_post))
    cdf = stats.norm.cdf if s == -1 else stats.norm.sf
    rows = []
    for i, key in enumerate(agg.index):
        for cat, z in (("changed", z_changed.iloc[i]), ("functional", z_func.iloc[i])):
            row = {"category": cat, "percent": float(cdf(z))}
            rows.append({group: key, **row} if group else row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# percentage change and anchor-based approaches
# --------------------------------------------------------------------------------------------
def _prepost_frame(data, id, time, outcome, pre, post, group):
    _check_columns(data, [id, time, outcome, group])
    if pre is None:
        pre = data[time].min()
    if post is None:
        post = data[time].max()
    pp = _prepost(data, id, time, outcome, pre, post)
    if group is not None:
        pp.insert(1, group, _group_of(data, id, group, pd.Index(pp["id"])))
    return _wide_frame(pp, pre, post)


def _wide_frame(pp: pd.DataFrame, pre_label, post_label):
    """``pp`` (columns id, [group], pre, post) -> (pp with change, evaluable mask, reasons)."""
    miss_pre, miss_post = pp["pre"].isna().to_numpy(), pp["post"].isna().to_numpy()
    ok = ~(miss_pre | miss_post)
    codes = np.where(miss_pre & miss_post, 3, np.where(miss_pre, 1, np.where(miss_post, 2, 0)))
    reason = pd.Categorical.from_codes(
        codes.astype(np.int8),
        categories=[
            "",
            f"no score at pre ({pre_label})",
            f"no score at post ({post_label})",
            f"no score at pre ({pre_label}) or post ({post_label})",
        ],
    )
    pp["change"] = pp["post"] - pp["pre"]
    return pp, ok, reason


def _from_prepost(prepost, id, pre, post, group):
    """A copy of a wide per-client table in the internal layout (id, [group], pre, post)."""
    _check_columns(prepost, [id, pre, post, group])
    if prepost[id].duplicated().any():
        raise ValueError(f"column {id!r} has duplicated client ids; expected one row per client")
    pp = pd.DataFrame({"id": prepost[id].to_numpy()})
    if group is not None:
        pp[group] = prepost[group].to_numpy()
    pp["pre"] = pd.to_numeric(prepost[pre], errors="coerce").to_numpy(float)
    pp["post"] = pd.to_numeric(prepost[post], errors="coerce").to_numpy(float)
    return _wide_frame(pp, "pre", "post")


def _three_way(ok, improved, deteriorated) -> pd.Categorical:
    codes = np.where(improved, 0, np.where(deteriorated, 2, 1))
    codes[~ok] = -1
    return _cat(codes, RELIABLE_CHANGE)


def percentage_change(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    outcome: str = "score",
    pre=None,
    post=None,
    pct_improvement: float | None = None,
    pct_deterioration: float | None = None,
    better_is: str = "lower",
    group: str | None = None,
) -> pd.DataFrame:
    """Percentage-change approach (R ``cs_percentage``), one row per client.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format. Not modified.
    id, time, outcome, pre, post, better_is, group
        As in :func:`clinical_significance`.
    pct_improvement : float
        Relative change in the direction of improvement that counts as improved, a proportion in
        (0, 1] (0.5 = 50 % reduction when lower is better). Inclusive (``>=``), as in R.
    pct_deterioration : float, optional
        Relative change in the other direction that counts as deteriorated; default
        ``pct_improvement``. Inclusive.

    Returns
    -------
    pandas.DataFrame
        ``id``, (``group``), ``pre``, ``post``, ``change``, ``pct_change`` ((post - pre) / pre),
        ``category`` (categorical: improved / unchanged / deteriorated), ``evaluable``,
        ``reason``.

    Raises
    ------
    ValueError
        For a missing or out-of-range threshold, or bad labels/columns as in
        :func:`clinical_significance`.

    Notes
    -----
    R ``calc_percentage``: ``improved = s * pct >= pct_improvement``, ``deteriorated = s * pct <=
    -pct_deterioration``, and ``pre == post`` is unchanged. For ``pre == 0`` and ``post != 0``
    the ratio is infinite; R marks such a client improved whenever ``post > 0`` (and, when lower
    is better, also deteriorated); here the sign of the change decides instead.
    """
    s = _check_direction(better_is)
    _check_pct(pct_improvement, pct_deterioration)
    pp, ok, reason = _prepost_frame(data, id, time, outcome, pre, post, group)
    return _percentage_core(pp, ok, reason, pct_improvement, pct_deterioration, s)


def percentage_change_prepost(
    prepost: pd.DataFrame,
    pct_improvement: float | None = None,
    pct_deterioration: float | None = None,
    better_is: str = "lower",
    id: str = "id",
    pre: str = "pre",
    post: str = "post",
    group: str | None = None,
) -> pd.DataFrame:
    """:func:`percentage_change` on a wide per-client table (one row per client, columns
    ``id``, ``pre``, ``post`` in score points; names set by the keywords). Same result columns
    and errors; no reshaping, so it scores 10^6 clients in a fraction of a second."""
    s = _check_direction(better_is)
    _check_pct(pct_improvement, pct_deterioration)
    pp, ok, reason = _from_prepost(prepost, id, pre, post, group)
    return _percentage_core(pp, ok, reason, pct_improvement, pct_deterioration, s)


def _check_pct(pct_improvement, pct_deterioration) -> None:
    for name, v in (("pct_improvement", pct_improvement), ("pct_deterioration", pct_deterioration)):
        if v is None and name == "pct_deterioration":
            continue
        if v is None or not 0 < float(v) <= 1:
            raise ValueError(f"{name} must be a proportion in (0, 1], got {v!r}")


def _percentage_core(pp, ok, reason, pct_improvement, pct_deterioration, s) -> pd.DataFrame:
    pi = float(pct_improvement)
    pdet = pi if pct_deterioration is None else float(pct_deterioration)
    pre_a, chg = pp["pre"].to_numpy(float), pp["change"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = chg / pre_a
    toward = s * pct
    improved = ok & (toward >= pi) & (chg != 0)
    deteriorated = ok & (toward <= -pdet) & (chg != 0)
    pp["pct_change"] = np.where(chg == 0, 0.0, pct)
    pp["category"] = _three_way(ok, improved, deteriorated)
    pp["evaluable"] = ok
    pp["reason"] = reason
    return pp


def anchor_individual(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    outcome: str = "score",
    pre=None,
    post=None,
    mid_improvement: float | None = None,
    mid_deterioration: float | None = None,
    better_is: str = "lower",
    group: str | None = None,
) -> pd.DataFrame:
    """Anchor-based approach, individual level (R ``cs_anchor(target = "individual")``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format. Not modified.
    id, time, outcome, pre, post, better_is, group
        As in :func:`clinical_significance`.
    mid_improvement : float
        Minimal important difference (score points, > 0) in the direction of improvement,
        e.g. from an anchor study. A change of at least this size is improved (``>=``).
    mid_deterioration : float, optional
        MID in the other direction; default ``mid_improvement``.

    Returns
    -------
    pandas.DataFrame
        ``id``, (``group``), ``pre``, ``post``, ``change``, ``category`` (improved / unchanged /
        deteriorated), ``evaluable``, ``reason``.

    Notes
    -----
    R ``calc_anchor.cs_anchor_individual_within``: improved ``s * change >= MID_imp``,
    deteriorated ``s * change <= -MID_det``.
    """
    s = _check_direction(better_is)
    _check_mid(mid_improvement, mid_deterioration)
    pp, ok, reason = _prepost_frame(data, id, time, outcome, pre, post, group)
    return _anchor_core(pp, ok, reason, mid_improvement, mid_deterioration, s)


def anchor_individual_prepost(
    prepost: pd.DataFrame,
    mid_improvement: float | None = None,
    mid_deterioration: float | None = None,
    better_is: str = "lower",
    id: str = "id",
    pre: str = "pre",
    post: str = "post",
    group: str | None = None,
) -> pd.DataFrame:
    """:func:`anchor_individual` on a wide per-client table (one row per client, columns
    ``id``, ``pre``, ``post`` in score points). Same result columns and errors, no reshaping."""
    s = _check_direction(better_is)
    _check_mid(mid_improvement, mid_deterioration)
    pp, ok, reason = _from_prepost(prepost, id, pre, post, group)
    return _anchor_core(pp, ok, reason, mid_improvement, mid_deterioration, s)


def _check_mid(mid_improvement, mid_deterioration) -> None:
    for name, v in (("mid_improvement", mid_improvement), ("mid_deterioration", mid_deterioration)):
        if v is None and name == "mid_deterioration":
            continue
        if v is None or not float(v) > 0:
            raise ValueError(f"{name} must be a positive number of score points, got {v!r}")


def _anchor_core(pp, ok, reason, mid_improvement, mid_deterioration, s) -> pd.DataFrame:
    mi = float(mid_improvement)
    md = mi if mid_deterioration is None else float(mid_deterioration)
    toward = s * pp["change"].to_numpy(float)
    pp["category"] = _three_way(ok, ok & (toward >= mi), ok & (toward <= -md))
    pp["evaluable"] = ok
    pp["reason"] = reason
    return pp


def _anchor_group_category(diff, lower, upper, mid, s) -> str:
    """R ``calc_anchor.cs_anchor_group_*`` categories, mirrored so both directions use one rule."""
    d, lo, hi = s * diff, s * lower, s * upper
    lo, hi = min(lo, hi), max(lo, hi)
    if np.sign(lo) != np.sign(hi):
        return ANCHOR_GROUP_CATEGORIES[0]
    if hi < mid:
        return ANCHOR_GROUP_CATEGORIES[1]
    if lo > mid:
        return ANCHOR_GROUP_CATEGORIES[4]
    return ANCHOR_GROUP_CATEGORIES[3] if d > mid else ANCHOR_GROUP_CATEGORIES[2]


def anchor_group(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    outcome: str = "score",
    pre=None,
    post=None,
    mid_improvement: float | None = None,
    better_is: str = "lower",
    effect: str = "within",
    group: str | None = None,
    reference_group=None,
    ci_level: float = 0.95,
) -> pd.DataFrame:
    """Anchor-based approach, group level, frequentist (R ``cs_anchor(target = "group",
    bayesian = FALSE)``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format. Not modified.
    id, time, outcome, pre, post, better_is
        As in :func:`clinical_significance`.
    mid_improvement : float
        MID in score points (> 0).
    effect : {"within", "between"}
        ``"within"``: mean post - pre change per group (paired t interval, complete pairs);
        ``"between"``: difference in mean ``post`` score of each group minus the reference group
        (Welch interval, as R's ``t.test`` default).
    group : str, optional
        Group column (required for ``"between"``).
    reference_group : optional
        Reference level for ``"between"``; default the first in sorted order (as in R).
    ci_level : float
        Confidence level in (0, 1).

    Returns
    -------
    pandas.DataFrame
        within: (``group``), ``difference``, ``lower``, ``upper``, ``ci``, ``n``, ``category``;
        between: ``reference``, ``comparison``, ``difference``, ``lower``, ``upper``, ``ci``,
        ``n_reference``, ``n_comparison``, ``category``. Categories (in
        :data:`ANCHOR_GROUP_CATEGORIES`): CI contains 0 -> not significant; whole CI short of the
        MID -> significant but not clinically relevant; MID inside the CI -> "Not significantly
        beyond the threshold" (estimate short of it) or "Probably clinically significant effect"
        (estimate beyond it); whole CI beyond the MID -> large clinically significant effect.

    Raises
    ------
    ValueError
        For a bad MID, effect, level or a missing group.

    Notes
    -----
    R's default is a Bayesian estimate (BayesFactor::ttestBF); only its frequentist branch is
    reproduced here. R labels the third category "Not significantly less/greater than the
    threshold" by direction and, when higher is better, omits the "not significant" check (a CI
    containing 0 there can fall through to NA); this function applies the lower-is-better rule
    mirrored, so both directions classify alike.
    """
    s = _check_direction(better_is)
    if mid_improvement is None or not float(mid_improvement) > 0:
        raise ValueError(f"mid_improvement must be a positive number, got {mid_improvement!r}")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level must lie in (0, 1), got {ci_level!r}")
    if effect not in ("within", "between"):
        raise ValueError(f"effect must be 'within' or 'between', got {effect!r}")
    mid = float(mid_improvement)
    if effect == "within":
        pp, ok, _ = _prepost_frame(data, id, time, outcome, pre, post, group)
        pp = pp.loc[ok]
        parts = pp.groupby(group, sort=True) if group else [(None, pp)]
        rows = []
        for key, sub in parts:
            res = stats.ttest_rel(sub["post"], sub["pre"])
            ci = res.confidence_interval(confidence_level=ci_level)
            diff = float((sub["post"] - sub["pre"]).mean())
            row = {
                "difference": diff,
                "lower": float(ci.low),
                "upper": float(ci.high),
                "ci": ci_level,
                "n": len(sub),
            }
            row["category"] = _anchor_group_category(diff, row["lower"], row["upper"], mid, s)
            rows.append({group: key, **row} if group else row)
        return pd.DataFrame(rows)
    if group is None:
        raise ValueError("effect='between' needs a group column")
    _check_columns(data, [id, time, outcome, group])
    if post is None:
        raise ValueError("effect='between' needs post: the time point at which groups are compared")
    at = data.loc[data[time] == post]
    if at.empty:
        raise ValueError(f"post={post!r} is not a value of column {time!r}")
    levels = sorted(pd.unique(data[group].dropna()).tolist(), key=str)
    ref = levels[0] if reference_group is None else reference_group
    if ref not in levels:
        raise ValueError(f"reference_group {ref!r} is not a value of column {group!r}: {levels}")
    y_ref = pd.to_numeric(at.loc[at[group] == ref, outcome], errors="coerce").dropna()
    rows = []
    for lvl in levels:
        if lvl == ref:
            continue
        y = pd.to_numeric(at.loc[at[group] == lvl, outcome], errors="coerce").dropna()
        res = stats.ttest_ind(y, y_ref, equal_var=False)
        ci = res.confidence_interval(confidence_level=ci_level)
        diff = float(y.mean() - y_ref.mean())
        row = {
            "reference": ref,
            "comparison": lvl,
            "difference": diff,
            "lower": float(ci.low),
            "upper": float(ci.high),
            "ci": ci_level,
            "n_reference": len(y_ref),
            "n_comparison": len(y),
        }
        row["category"] = _anchor_group_category(diff, row["lower"], row["upper"], mid, s)
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# summary
# --------------------------------------------------------------------------------------------
def summarise_categories(
    result: pd.DataFrame,
    column: str = "category",
    group: str | None = None,
    levels=None,
) -> pd.DataFrame:
    """Counts and percentages per category, overall or per group.

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`clinical_significance`, :func:`percentage_change` or
        :func:`anchor_individual` (optionally with a group column joined).
    column : {"category", "reliable_change"}
    group : str, optional
        Column to split by.
    levels : sequence of str, optional
        Levels to report; default the five combined categories for ``category`` of a result
        with a ``cutoff`` column, else improved / unchanged / deteriorated.

    Returns
    -------
    pandas.DataFrame
        ``group`` (if given), ``level``, ``n``, ``percent`` (of evaluable clients in the group,
        0-100), ``n_evaluable``. Every level appears, with 0 where absent.

    Raises
    ------
    ValueError
        If ``column`` or ``group`` is not in ``result``.
    """
    _check_columns(result, [column, group, "evaluable"])
    if levels is None:
        combined = column == "category" and "cutoff" in result.columns
        levels = CATEGORIES if combined else RELIABLE_CHANGE
    ev = result.loc[result["evaluable"].to_numpy(bool)]
    vals = pd.Categorical(ev[column].astype(object), categories=list(levels))
    if group:
        tab = pd.crosstab(ev[group].to_numpy(), vals, dropna=False).reindex(
            columns=list(levels), fill_value=0
        )
    else:
        tab = pd.DataFrame([pd.Series(vals).value_counts().reindex(list(levels), fill_value=0)])
    total = tab.sum(axis=1)
    rows = []
    for i, key in enumerate(tab.index):
        tot = int(total.iloc[i])
        for lvl in levels:
            n = int(tab.iloc[i][lvl])
            row = {
                "level": lvl,
                "n": n,
                "percent": 100 * n / tot if tot else np.nan,
                "n_evaluable": tot,
            }
            rows.append({group: key, **row} if group else row)
    return pd.DataFrame(rows)
