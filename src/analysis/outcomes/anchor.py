"""Anchor-based change (R ``cs_anchor``): a minimal important difference, per client or per group.

The long-format entry points are :func:`anchor_individual` and :func:`anchor_group`;
:func:`anchor_individual_prepost` is :func:`anchor_individual` on a table with one row per client.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.outcomes.prepost import (
    _check_columns,
    _check_direction,
    _from_prepost,
    _prepost_frame,
    _three_way,
)

__all__ = [
    "ANCHOR_GROUP_CATEGORIES",
    "anchor_individual",
    "anchor_individual_prepost",
    "anchor_group",
]

ANCHOR_GROUP_CATEGORIES = (
    "Statistically not significant",
    "Statistically significant but not clinically relevant",
    "Not significantly beyond the threshold",
    "Probably clinically significant effect",
    "Large clinically significant effect",
)


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
        As in :func:`~analysis.outcomes.clinsig.clinical_significance`.
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

    Raises
    ------
    ValueError
        For a missing or non-positive MID, an unknown ``better_is``, or bad labels/columns as in
        :func:`~analysis.outcomes.clinsig.clinical_significance` (missing column, ``pre`` or
        ``post`` label absent from the data, two scores of one client at one time point).

    Notes
    -----
    R ``calc_anchor.cs_anchor_individual_within``: improved ``s * change >= MID_imp``,
    deteriorated ``s * change <= -MID_det``, with ``s = -1`` when lower is better.

    References
    ----------
    Jaeschke R., Singer J. & Guyatt G.H. (1989) Control Clin Trials 10(4):407-415 (the minimal
    clinically important difference). Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw
    111(1) (the R package clinicalsignificance, ``cs_anchor``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "time": [0, 1] * 3,
    ...                   "score": [20, 8, 22, 21, 15, 14]})
    >>> anchor_individual(d, mid_improvement=5)["category"].tolist()  # changes -12, -1, -1
    ['improved', 'unchanged', 'unchanged']

    The simulated cohort's PHQ-9, session 1 against session 6, with the registry's MCID (a drop
    of 1.7 points, Kounali et al. 2020); clients without a session-6 score are not evaluable:

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'")
    >>> mcid = get_instrument("phq9").mcid["value"]
    >>> res = anchor_individual(phq9, pre=1, post=6, mid_improvement=mcid)
    >>> mcid, len(res), int(res["evaluable"].sum())
    (1.7, 60, 30)
    >>> res["category"].value_counts().to_dict()
    {'improved': 21, 'unchanged': 6, 'deteriorated': 3}
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
    """:func:`anchor_individual` on a wide per-client table: a thin adapter, same computation.

    Parameters
    ----------
    prepost : pandas.DataFrame
        One row per client with columns ``id``, ``pre``, ``post`` (score points; names set by the
        keywords). Not modified.
    mid_improvement, mid_deterioration, better_is, group
        As in :func:`anchor_individual`.
    id, pre, post : str
        Column names in ``prepost``.

    Returns
    -------
    pandas.DataFrame
        As :func:`anchor_individual` (no reshaping).

    Raises
    ------
    ValueError
        As :func:`anchor_individual`, and for a duplicated client id.

    Examples
    --------
    >>> import pandas as pd
    >>> pp = pd.DataFrame({"id": [1, 2, 3], "pre": [20.0, 22, 15], "post": [8.0, 21, 14]})
    >>> anchor_individual_prepost(pp, mid_improvement=5)["category"].tolist()
    ['improved', 'unchanged', 'unchanged']

    The simulated cohort's PHQ-9, each client's first against last observed session, with the
    registry's MCID (1.7 points, Kounali et al. 2020):

    >>> from analysis import get_instrument, load_dataset
    >>> from analysis.outcomes.engine import prepost
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> first_last = prepost(cohort.scores, cohort.clients, "phq9")
    >>> res = anchor_individual_prepost(first_last, pre="baseline", post="post",
    ...                                 mid_improvement=get_instrument("phq9").mcid["value"])
    >>> int(res["evaluable"].sum()), res["category"].value_counts().to_dict()
    (58, {'improved': 41, 'unchanged': 12, 'deteriorated': 5})
    """
    s = _check_direction(better_is)
    _check_mid(mid_improvement, mid_deterioration)
    pp, ok, reason = _from_prepost(prepost, id, pre, post, group)
    return _anchor_core(pp, ok, reason, mid_improvement, mid_deterioration, s)


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
    """Anchor-based approach, group level, frequentist.

    R ``cs_anchor(target = "group", bayesian = FALSE)``.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format. Not modified.
    id, time, outcome, pre, post, better_is
        As in :func:`~analysis.outcomes.clinsig.clinical_significance`.
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

    References
    ----------
    Jaeschke R., Singer J. & Guyatt G.H. (1989) Control Clin Trials 10(4):407-415 (the minimal
    clinically important difference). Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw
    111(1) (the R package clinicalsignificance, ``cs_anchor``, frequentist branch).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": list(range(1, 7)) * 2, "time": [0] * 6 + [1] * 6,
    ...                   "score": [20, 22, 15, 18, 25, 19, 8, 21, 14, 10, 12, 18]})
    >>> res = anchor_group(d, mid_improvement=3)  # mean change -6, paired-t CI -12.01 to 0.01
    >>> res[["difference", "lower", "upper"]].round(2).values.tolist()
    [[-6.0, -12.01, 0.01]]
    >>> res["category"].tolist()  # the interval contains 0
    ['Statistically not significant']

    By arm on the simulated cohort's PHQ-9, session 1 against session 6 (the 30 clients with
    both), against the registry's MCID (1.7 points, Kounali et al. 2020):

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'").merge(cohort.clients[["id", "arm"]])
    >>> mcid = get_instrument("phq9").mcid["value"]
    >>> within = anchor_group(phq9, pre=1, post=6, mid_improvement=mcid, group="arm")
    >>> within[["arm", "difference", "lower", "upper", "n"]].round(2).values.tolist()
    [['A', -7.82, -14.0, -1.63, 11], ['B', -5.63, -9.02, -2.24, 19]]
    >>> within["category"].tolist()  # A's interval reaches past -1.7, B's lies beyond it
    ['Probably clinically significant effect', 'Large clinically significant effect']
    >>> between = anchor_group(phq9, pre=1, post=6, mid_improvement=mcid, group="arm",
    ...                        effect="between")
    >>> cols = ["reference", "comparison", "difference", "lower", "upper"]  # post means, B - A
    >>> between[cols].round(2).values.tolist()
    [['A', 'B', 0.04, -5.86, 5.94]]
    >>> between["category"].tolist()
    ['Statistically not significant']
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
