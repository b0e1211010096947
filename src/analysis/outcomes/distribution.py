"""Distribution-based reliable change and clinical cutoffs: JT, GLN, HLL, EN, NK, HA.

Each method compares a client's pre-post change with the measurement error implied by the
sample's (or a published) SD and the instrument's reliability (formulas in
:func:`analysis.outcomes.clinsig.clinical_significance`, Notes), and the clinical cutoffs a, b, c
(Jacobson & Truax 1991) and the Hageman-Arrindell true-score cutoff. The long-format entry point
is :func:`analysis.outcomes.clinsig.clinical_significance`; :func:`clinical_significance_prepost`
is the same computation for a table that already holds one row per client.

References
----------
Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19. Hsu L.M. (1989) Behav Assess
11(4):459-467 (GLN, HLL). Speer D.C. (1992) J Consult Clin Psychol 60(3):402-408 (EN). Nunnally
J.C. & Kotsch W.E. (1983) Br J Clin Psychol 22(2):83-93 (NK). Hageman W.J. & Arrindell W.A. (1999)
Behav Res Ther 37(12):1169-1193 (HA). Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw 111(1)
(the R package clinicalsignificance, whose results these reproduce).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.outcomes.prepost import (
    CATEGORIES,
    RELIABLE_CHANGE,
    NotComputedError,
    _cat,
    _category_codes,
    _check_alpha,
    _check_columns,
    _check_direction,
    _check_reliability,
    _masked_bool,
    _positive,
    _scores,
)

__all__ = [
    "RCI_METHODS",
    "HA_HARMED",
    "clinical_cutoff",
    "ha_true_cutoff",
    "rci_jacobson_truax",
    "reliable_change_index",
    "classify_prepost",
    "clinical_significance_prepost",
    "ha_group_summary",
]

RCI_METHODS = ("JT", "GLN", "HLL", "EN", "NK", "HA", "HLM")
#: Hageman-Arrindell harm rules: "R" (the R package's published path) or "true_score".
HA_HARMED = ("R", "true_score")
_CUTOFF_B_SD = ("functional", "clinical")


def _check_method(rci_method: str) -> str:
    if rci_method not in RCI_METHODS:
        raise ValueError(f"rci_method must be one of {RCI_METHODS}, got {rci_method!r}")
    return rci_method


def _critical(rci_method: str, significance_level: float) -> float:
    """Two-sided normal quantile, one-sided for HA (R: ``qnorm(1 - alpha)`` for HA)."""
    a = _check_alpha(significance_level)
    if rci_method == "HA":
        return float(stats.norm.ppf(1 - a))
    return float(stats.norm.ppf(1 - a / 2))


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
    Cutoff c by hand: (5 x 8 + 8 x 24) / (5 + 8) = 232 / 13 = 17.846.

    >>> round(clinical_cutoff("c", 24.0, 5.0, 8.0, 8.0), 3)
    17.846

    PHQ-9 (lower is better): the clinical population is the simulated cohort at session 1, the
    functional one the registry's German general-population norms (M 2.91, SD 3.51; Kocalevent,
    Hinz & Brähler 2013). a = 16.87 - 2 x 5.34; b = 2.91 + 2 x 3.51; c the weighted midpoint.

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> first = cohort.scores.query("measure == 'phq9' and time == 1")["score"]
    >>> m, sd = float(first.mean()), float(first.std())
    >>> round(m, 2), round(sd, 2)
    (16.87, 5.34)
    >>> norms = get_instrument("phq9").norms["functional"]
    >>> [round(clinical_cutoff(t, m, sd, norms["mean"], norms["sd"]), 2) for t in "abc"]
    [6.19, 9.93, 8.45]
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

    With ``what`` given, a non-positive value (SEM >= SD) raises a NotComputedError naming it.
    """
    r = (sd**2 - se_measurement**2) / sd**2
    if what is not None and not r > 0:
        raise NotComputedError(
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
    sd_p, sd_q = float(p.std(ddof=1)), float(q.std(ddof=1))
    varies = len(p) > 1 and sd_p > 0 and sd_q > 0  # a correlation needs variance on both sides
    return {
        "m_pre": float(p.mean()),
        "sd_pre": sd_p,
        "m_post": float(q.mean()),
        "sd_post": sd_q,
        "cor_pre_post": float(np.corrcoef(p, q)[0, 1]) if varies else np.nan,
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
        if not (sd_pre > 0 and sd_post > 0):
            raise NotComputedError(
                f"HA: the {'pre' if not sd_pre > 0 else 'post'} scores of the complete clients "
                "have no variance, so the reliability of change r_dd is undefined"
            )
        r1 = _ha_reliability(sd_pre, sem)
        r2 = _ha_reliability(sd_post, sem)
        num = sd_pre**2 * r1 + sd_post**2 * r2 - 2 * sd_pre * sd_post * rho
        den = sd_pre**2 + sd_post**2 - 2 * sd_pre * sd_post * rho
        if not den > 1e-12 * (sd_pre**2 + sd_post**2):
            raise NotComputedError(
                "HA: the change scores (post - pre) have no variance among the complete clients, "
                "so the reliability of change r_dd is undefined"
            )
        r_dd = num / den
        if not r_dd > 0:
            raise NotComputedError(
                f"HA: the reliability of change r_dd ({r_dd:.4g}) is not positive in this sample "
                "(pre-post correlation too high for the measurement error), so the HA RCI is "
                "undefined"
            )
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
        See :func:`~analysis.outcomes.clinsig.clinical_significance` for the formulas.
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
        For an unknown method (HLM needs the long data: use
        :func:`~analysis.outcomes.clinsig.clinical_significance`),
        a reliability outside (0, 1), fewer than two complete pairs, or a reference option the
        method does not take.

    References
    ----------
    Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19 (JT; cutoffs a, b, c).
    Hsu L.M. (1989) Behav Assess 11(4):459-467 (GLN, HLL). Speer D.C. (1992) J Consult Clin
    Psychol 60(3):402-408 (EN). Nunnally J.C. & Kotsch W.E. (1983) Br J Clin Psychol 22(2):83-93
    (NK). Hageman W.J. & Arrindell W.A. (1999) Behav Res Ther 37(12):1169-1193 (HA).

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

    The simulated cohort's PHQ-9, first against last observed session, with the registry's alpha
    (.89): client C000001 went from 13 to 4 points, RCI = -9 / 2.50 = -3.60; 33 of the 58
    clients with both scores improved reliably (RCI < -1.96), none deteriorated.

    >>> import numpy as np
    >>> from analysis import get_instrument, load_dataset
    >>> from analysis.outcomes.engine import prepost
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> pp = prepost(cohort.scores, cohort.clients, "phq9")
    >>> pp.loc[0, "id"], pp[["baseline", "post"]].iloc[0].tolist()
    ('C000001', [13.0, 4.0])
    >>> rci = reliable_change_index(pp["baseline"], pp["post"],
    ...                             reliability=get_instrument("phq9").reliability_value)
    >>> rci.shape, round(float(rci[0]), 2)
    ((60,), -3.6)
    >>> int(np.isnan(rci).sum()), int((rci < -1.96).sum()), int((rci > 1.96).sum())
    (2, 33, 0)
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
) -> pd.DataFrame:
    """Reliable change and clinical significance from a wide per-client pre/post table.

    A thin adapter: the same computation as :func:`analysis.outcomes.clinsig.clinical_significance`
    (the long-format API), for callers that already hold one row per client (e.g.
    :mod:`analysis.outcomes.engine`). All pre/post methods; HLM needs the long data.

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
        Column carried to the output (for
        :func:`~analysis.outcomes.clinsig.summarise_categories`, :func:`ha_group_summary`).
    pre_label, post_label : object
        Time labels quoted in the ``reason`` of clients missing a score.

    Returns
    -------
    pandas.DataFrame
        One row per input row, in input order; columns as in
        :func:`~analysis.outcomes.clinsig.clinical_significance`.
        ``attrs["clinsig"]`` holds the method, critical value, cutoff, sample statistics, the SD
        used (``sd_pre_used``, ``sd_pre_source``: sample / reference / s_diff given /
        rc_points given), ``s_diff`` (JT, points) and ``threshold_points`` (the change in points
        a client must exceed: ``z * S_diff`` for JT, the published value with ``rc_points``; for
        GLN, HLL, EN, NK the distance from the predicted post score).

    Raises
    ------
    ValueError
        As :func:`~analysis.outcomes.clinsig.clinical_significance`, and for a duplicated client id.
    NotComputedError
        (a ``ValueError``) when the data cannot support the method, as in
        :func:`~analysis.outcomes.clinsig.clinical_significance`: too few complete clients, or HA
        on a sample without variance (``r_dd`` undefined).

    References
    ----------
    Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19 (JT; cutoffs a, b, c).
    Hsu L.M. (1989) Behav Assess 11(4):459-467 (GLN, HLL). Speer D.C. (1992) J Consult Clin
    Psychol 60(3):402-408 (EN). Nunnally J.C. & Kotsch W.E. (1983) Br J Clin Psychol 22(2):83-93
    (NK). Hageman W.J. & Arrindell W.A. (1999) Behav Res Ther 37(12):1169-1193 (HA).
    Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw 111(1) (the R package
    clinicalsignificance, whose results these reproduce).

    Examples
    --------
    >>> import pandas as pd
    >>> pp = pd.DataFrame({"id": [1, 2, 3], "pre": [20.0, 22, 15], "post": [8.0, 21, 14]})
    >>> res = clinical_significance_prepost(pp, reliability=0.8)
    >>> res["reliable_change"].tolist()  # as clinical_significance on the same data in long form
    ['improved', 'unchanged', 'unchanged']

    The simulated cohort's PHQ-9, each client's first against last observed session
    (:func:`analysis.outcomes.engine.prepost`), with the registry's alpha (.89, Kroenke et al.
    2001) and its published caseness cutoff (10 points, Kroenke et al. 2001) as a fixed cutoff:
    the same 33 reliable improvements as the outcomes table's ``reliable_improvement``
    (:func:`analysis.outcomes.engine.score_definitions`).

    >>> from analysis import get_instrument, load_dataset
    >>> from analysis.outcomes.engine import prepost
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> ins = get_instrument("phq9")
    >>> pp = prepost(cohort.scores, cohort.clients, "phq9")  # one row per client
    >>> res = clinical_significance_prepost(pp, reliability=ins.reliability_value,
    ...                                     pre="baseline", post="post", cutoff=ins.cutoff_value)
    >>> len(res), int(res["evaluable"].sum())  # two clients have no score after session 1
    (60, 58)
    >>> c = res.attrs["clinsig"]  # points: baseline SD, S_diff, drop needed, cutoff
    >>> [round(c[k], 2) for k in ("sd_pre", "s_diff", "threshold_points", "cutoff")]
    [5.33, 2.5, 4.9, 10.0]
    >>> res["reliable_change"].value_counts().sort_index().to_dict()
    {'improved': 33, 'unchanged': 25}
    >>> res["category"].value_counts().sort_index().to_dict()
    {'improved': 9, 'recovered': 24, 'unchanged': 25}
    """
    return _distribution_change(
        prepost,
        reliability=reliability,
        reliability_post=reliability_post,
        rci_method=rci_method,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        m_clinical=m_clinical,
        sd_clinical=sd_clinical,
        better_is=better_is,
        significance_level=significance_level,
        cutoff_b_sd=cutoff_b_sd,
        cutoff=cutoff,
        id=id,
        pre=pre,
        post=post,
        group=group,
        pre_label=pre_label,
        post_label=post_label,
        sd_pre=sd_pre,
        s_diff=s_diff,
        rc_points=rc_points,
        ha_harmed=ha_harmed,
    )


def _distribution_change(
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
    """The one implementation of JT, GLN, HLL, EN, NK and HA on a per-client pre/post table.

    Both entry points call it: :func:`analysis.outcomes.clinsig.clinical_significance` after
    reshaping long data (``_ids_unique=True``: its ids come from factorising, so the duplicate
    check is skipped) and :func:`clinical_significance_prepost` on a table the caller holds.
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
    pre_a = _scores(prepost[pre], pre)  # text that is not a number, or inf, raises
    post_a = _scores(prepost[post], post)
    miss_pre, miss_post = np.isnan(pre_a), np.isnan(post_a)
    ok = ~(miss_pre | miss_post)
    if ok.sum() < (3 if method == "HA" else 2):
        raise NotComputedError(
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


def ha_group_summary(result: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
    """Hageman & Arrindell group-level proportions changed and functional (R ``cs_combined``, HA).

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`~analysis.outcomes.clinsig.clinical_significance` with
        ``rci_method="HA"`` and a ``cutoff_type`` (its ``attrs["clinsig"]`` carries ``r_dd``,
        the SEM, the true cutoff and the post SD).
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

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": list(range(1, 7)) * 2, "time": [0] * 6 + [1] * 6,
    ...                   "score": [20, 22, 15, 18, 25, 19, 8, 21, 14, 10, 12, 18]})
    >>> from analysis.outcomes.clinsig import clinical_significance
    >>> res = clinical_significance(d, reliability=0.8, rci_method="HA", cutoff_type="a")
    >>> ha_group_summary(res).round(3).values.tolist()
    [['changed', 0.871], ['functional', 0.488]]

    By arm on the simulated cohort's PHQ-9, session 1 against session 6 (the 30 clients with
    both), alpha .89 and cutoff c from the registry's functional norms:

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'").merge(cohort.clients[["id", "arm"]])
    >>> ins = get_instrument("phq9")
    >>> ha = clinical_significance(phq9, pre=1, post=6, reliability=ins.reliability_value,
    ...                            rci_method="HA", cutoff_type="c",
    ...                            m_functional=ins.norms["functional"]["mean"],
    ...                            sd_functional=ins.norms["functional"]["sd"], group="arm")
    >>> round(float(ha.attrs["clinsig"]["r_dd"]), 3), round(ha.attrs["clinsig"]["cutoff"], 2)
    (0.896, 8.68)
    >>> ha_group_summary(ha, group="arm").round(3)
      arm    category  percent
    0   A     changed    0.815
    1   A  functional    0.319
    2   B     changed    0.801
    3   B  functional    0.344
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
