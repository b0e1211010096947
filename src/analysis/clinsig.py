"""Reliable and clinically significant change (Jacobson & Truax 1991 and successors).

The public entry point :func:`clinical_significance` follows the R package *clinicalsignificance*
(Claus, Wager & Bonnet 2024, J Stat Softw 111(1)) in names and results, so that a researcher can
switch without losing a classification. Everything is vectorised over clients.

References
----------
Jacobson N.S. & Truax P. (1991) Clinical significance: a statistical approach to defining meaningful
change in psychotherapy research. J Consult Clin Psychol 59(1):12-19.
Claus B.B., Wager J. & Bonnet U. (2024) clinicalsignificance: Clinical Significance Analyses of
Intervention Studies in R. J Stat Softw 111(1):1-39. doi:10.18637/jss.v111.i01
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "RCI_METHODS",
    "CATEGORIES",
    "RELIABLE_CHANGE",
    "clinical_cutoff",
    "rci_jacobson_truax",
    "classify_prepost",
    "clinical_significance",
    "summarise_categories",
]

RCI_METHODS = ("JT",)
CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")
RELIABLE_CHANGE = ("improved", "unchanged", "deteriorated")


def _check_direction(better_is: str) -> int:
    if better_is not in ("lower", "higher"):
        raise ValueError(f"better_is must be 'lower' or 'higher', got {better_is!r}")
    return -1 if better_is == "lower" else 1


def _check_reliability(reliability: float | None, name: str = "reliability") -> float:
    if reliability is None:
        raise ValueError(f"{name} is required for this RCI method (a coefficient in (0, 1))")
    r = float(reliability)
    if not 0 < r < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {reliability!r}")
    return r


def clinical_cutoff(
    cutoff_type: str,
    m_clinical: float,
    sd_clinical: float,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    better_is: str = "lower",
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

    Returns
    -------
    float
        Cutoff in score points.

    Raises
    ------
    ValueError
        For an unknown type, or b/c without functional norms.

    Notes
    -----
    With ``s = -1`` when lower is better and ``+1`` when higher is better:
    ``a = M_clin + s * 2 SD_clin``; ``b = M_func - s * 2 SD_func``;
    ``c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)`` (J&T 1991, p. 13).
    """
    s = _check_direction(better_is)
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
        return float(m_functional - s * 2 * sd_functional)
    return float(
        (sd_clinical * m_functional + sd_functional * m_clinical) / (sd_clinical + sd_functional)
    )


def rci_jacobson_truax(
    pre: np.ndarray, post: np.ndarray, sd_pre: float, reliability: float
) -> np.ndarray:
    """Jacobson-Truax reliable change index.

    Parameters
    ----------
    pre, post : array-like of float, shape (n,)
        Scores in instrument points.
    sd_pre : float
        SD of the pre scores (score points; the sample SD of the analysed clients by default).
    reliability : float
        Reliability coefficient in (0, 1).

    Returns
    -------
    numpy.ndarray, shape (n,)
        RCI = (post - pre) / S_diff with S_diff = sqrt(2) * SD_pre * sqrt(1 - r_xx)
        (J&T 1991, eq. 1-2). Positive means the score went up.
    """
    r = _check_reliability(reliability)
    s_diff = np.sqrt(2.0) * float(sd_pre) * np.sqrt(1.0 - r)
    return (np.asarray(post, float) - np.asarray(pre, float)) / s_diff


def classify_prepost(
    pre: np.ndarray,
    post: np.ndarray,
    rci: np.ndarray,
    critical: float,
    better_is: str = "lower",
    cutoff: float | None = None,
) -> pd.DataFrame:
    """Reliable-change and combined categories from pre, post and RCI (vectorised).

    Parameters
    ----------
    pre, post, rci : array-like of float, shape (n,)
        NaN in any of them gives a missing classification.
    critical : float
        Critical |RCI| (1.96 at the 5 % level). Reliable change needs |RCI| > critical
        (J&T 1991: "exceeds 1.96").
    better_is : {"lower", "higher"}
    cutoff : float, optional
        Clinical cutoff (score points). A score is in the clinical range when it lies beyond the
        cutoff on the dysfunctional side (above it when lower is better); a score exactly at the
        cutoff counts as functional.

    Returns
    -------
    pandas.DataFrame, n rows
        ``reliable_change`` (improved / unchanged / deteriorated), ``clinical_pre``,
        ``clinical_post`` (bool or NA), ``category`` (recovered / improved / unchanged /
        deteriorated / harmed; NA without a cutoff).
    """
    s = _check_direction(better_is)
    pre, post, rci = (np.asarray(x, float) for x in (pre, post, rci))
    ok = ~(np.isnan(pre) | np.isnan(post) | np.isnan(rci))
    toward = s * rci  # positive = towards improvement
    improved = ok & (toward > critical)
    deteriorated = ok & (toward < -critical)
    rc = np.where(improved, "improved", np.where(deteriorated, "deteriorated", "unchanged"))
    out = pd.DataFrame({"reliable_change": pd.Series(rc, dtype="object").where(ok, None)})
    if cutoff is None:
        out["clinical_pre"] = pd.NA
        out["clinical_post"] = pd.NA
        out["category"] = None
        return out
    clin_pre = (pre > cutoff) if s == -1 else (pre < cutoff)
    clin_post = (post > cutoff) if s == -1 else (post < cutoff)
    recovered = improved & clin_pre & ~clin_post
    harmed = deteriorated & ~clin_pre & clin_post
    cat = np.select(
        [recovered, improved, harmed, deteriorated],
        ["recovered", "improved", "harmed", "deteriorated"],
        default="unchanged",
    )
    out["clinical_pre"] = pd.array(np.where(np.isnan(pre), None, clin_pre), dtype="boolean")
    out["clinical_post"] = pd.array(np.where(np.isnan(post), None, clin_post), dtype="boolean")
    out["category"] = pd.Series(cat, dtype="object").where(ok, None)
    return out


def _prepost(
    data: pd.DataFrame, id: str, time: str, outcome: str, pre, post
) -> pd.DataFrame:
    for col in (id, time, outcome):
        if col not in data.columns:
            raise ValueError(f"column {col!r} not in data (columns: {list(data.columns)})")
    times = set(data[time].dropna().unique().tolist())
    for label, value in (("pre", pre), ("post", post)):
        if value not in times:
            raise ValueError(
                f"{label}={value!r} is not a value of column {time!r} "
                f"(values: {sorted(times, key=str)})"
            )
    sub = data.loc[data[time].isin([pre, post]), [id, time, outcome]]
    dup = sub.duplicated([id, time], keep=False)
    if dup.any():
        raise ValueError(
            f"{int(dup.sum())} rows share a client and time point (two scores at one time); "
            f"first ones:\n{sub.loc[dup].head(6).to_string()}"
        )
    wide = sub.pivot(index=id, columns=time, values=outcome)
    ids = pd.Index(pd.unique(data[id]), name=id)
    wide = wide.reindex(ids)
    return pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "pre": pd.to_numeric(wide.get(pre), errors="coerce").to_numpy(dtype=float),
            "post": pd.to_numeric(wide.get(post), errors="coerce").to_numpy(dtype=float),
        }
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
) -> pd.DataFrame:
    """Reliable change and clinical significance per client.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per client x time point (one outcome). Not modified.
    id, time, outcome : str
        Column names of the client identifier, the time label and the score (score points).
    pre, post : scalar
        Values of ``time`` that mark the pre and the post measurement. Default: the smallest and
        the largest time label.
    reliability : float
        Reliability of the outcome in (0, 1) (state its type: alpha or test-retest).
    reliability_post : float, optional
        Post-test reliability (NK method only).
    rci_method : {"JT"}
        Reliable change method (this release: Jacobson-Truax).
    cutoff_type : {"a", "b", "c"}, optional
        Clinical cutoff (see :func:`clinical_cutoff`); None gives reliable change only.
    m_functional, sd_functional : float, optional
        Functional population norms (score points); required for cutoffs b and c.
    m_clinical, sd_clinical : float, optional
        Clinical population norms; default the mean and SD (ddof = 1) of the analysed pre scores.
    better_is : {"lower", "higher"}
        Direction of improvement.
    significance_level : float
        Two-sided level for the critical |RCI| (0.05 gives 1.96).

    Returns
    -------
    pandas.DataFrame
        One row per client, in order of first appearance: ``id``, ``pre``, ``post``, ``change``
        (post - pre, points), ``rci``, ``reliable_change`` (improved / unchanged / deteriorated),
        ``cutoff`` (points, NaN without one), ``clinical_pre``, ``clinical_post``, ``category``
        (recovered / improved / unchanged / deteriorated / harmed; None without a cutoff),
        ``evaluable`` (bool) and ``reason`` (why not evaluable; "" otherwise).

    Raises
    ------
    ValueError
        For a reliability outside (0, 1), an unknown method or cutoff type, cutoff b or c without
        functional norms, pre or post labels absent from the data, or a client with two scores at
        one time point.

    Notes
    -----
    Clients missing a pre or a post score are kept, with ``evaluable = False`` and a reason; the
    SD and clinical norms are computed on the evaluable clients only (as the R package does).

    References
    ----------
    Jacobson & Truax (1991) J Consult Clin Psychol 59(1):12-19.
    Claus, Wager & Bonnet (2024) J Stat Softw 111(1).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 2, 2], "time": [1, 2, 1, 2], "score": [20, 8, 22, 21]})
    >>> clinical_significance(d, reliability=0.8)["reliable_change"].tolist()
    ['improved', 'unchanged']
    """
    _check_direction(better_is)
    if rci_method not in RCI_METHODS:
        raise ValueError(f"rci_method must be one of {RCI_METHODS}, got {rci_method!r}")
    if not 0 < significance_level < 1:
        raise ValueError(f"significance_level must lie in (0, 1), got {significance_level!r}")
    rel = _check_reliability(reliability)
    if pre is None:
        pre = data[time].min()
    if post is None:
        post = data[time].max()
    pp = _prepost(data, id, time, outcome, pre, post)
    return _score_prepost(
        pp,
        reliability=rel,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        m_clinical=m_clinical,
        sd_clinical=sd_clinical,
        better_is=better_is,
        significance_level=significance_level,
        pre_label=pre,
        post_label=post,
    )


def _score_prepost(
    pp: pd.DataFrame,
    reliability: float,
    cutoff_type: str | None,
    m_functional: float | None,
    sd_functional: float | None,
    m_clinical: float | None,
    sd_clinical: float | None,
    better_is: str,
    significance_level: float,
    pre_label="pre",
    post_label="post",
    cutoff: float | None = None,
) -> pd.DataFrame:
    pre, post = pp["pre"].to_numpy(float), pp["post"].to_numpy(float)
    ok = ~(np.isnan(pre) | np.isnan(post))
    reason = np.where(
        np.isnan(pre),
        f"no score at pre ({pre_label})",
        np.where(np.isnan(post), f"no score at post ({post_label})", ""),
    )
    if ok.sum() < 2:
        raise ValueError(
            f"only {int(ok.sum())} client(s) have both a pre and a post score; the SD of the pre "
            "scores needs at least 2"
        )
    sd_pre = float(np.std(pre[ok], ddof=1))
    m_clin = float(np.mean(pre[ok])) if m_clinical is None else float(m_clinical)
    sd_clin = sd_pre if sd_clinical is None else float(sd_clinical)
    rci = rci_jacobson_truax(pre, post, sd_pre, reliability)
    if cutoff is None and cutoff_type is not None:
        cutoff = clinical_cutoff(cutoff_type, m_clin, sd_clin, m_functional, sd_functional, better_is)
    critical = float(stats.norm.ppf(1 - significance_level / 2))
    cls = classify_prepost(pre, post, rci, critical, better_is, cutoff)
    out = pd.DataFrame(
        {
            "id": pp["id"].to_numpy(),
            "pre": pre,
            "post": post,
            "change": post - pre,
            "rci": rci,
        }
    )
    out = pd.concat([out, cls], axis=1)
    out.insert(6, "cutoff", np.nan if cutoff is None else float(cutoff))
    out["evaluable"] = ok
    out["reason"] = reason
    return out


def summarise_categories(
    result: pd.DataFrame, column: str = "category", group: str | None = None
) -> pd.DataFrame:
    """Counts and percentages per category, overall or per group.

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`clinical_significance` (optionally with a group column joined).
    column : {"category", "reliable_change"}
    group : str, optional
        Column to split by.

    Returns
    -------
    pandas.DataFrame
        ``group`` (if given), ``level``, ``n``, ``percent`` (of evaluable clients in the group,
        0-100), ``n_evaluable``. Every level of the scheme appears, with 0 where absent.
    """
    levels = CATEGORIES if column == "category" else RELIABLE_CHANGE
    ev = result.loc[result["evaluable"]]
    keys = [group] if group else []
    rows = []
    for key, sub in ev.groupby(keys) if keys else [((), ev)]:
        counts = sub[column].value_counts()
        total = len(sub)
        for lvl in levels:
            n = int(counts.get(lvl, 0))
            row = {"level": lvl, "n": n, "percent": 100 * n / total if total else np.nan}
            row["n_evaluable"] = total
            if keys:
                row = {group: key[0] if isinstance(key, tuple) else key, **row}
            rows.append(row)
    return pd.DataFrame(rows)
