"""Percentage change (R ``cs_percentage``): improved when the relative change reaches a threshold.

The long-format entry point is :func:`percentage_change`; :func:`percentage_change_prepost` is the
same computation on a table with one row per client.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.outcomes.prepost import (
    _check_direction,
    _from_prepost,
    _prepost_frame,
    _three_way,
)

__all__ = ["percentage_change", "percentage_change_prepost"]


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
        As in :func:`~analysis.outcomes.clinsig.clinical_significance`.
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
        :func:`~analysis.outcomes.clinsig.clinical_significance`.

    Notes
    -----
    R ``calc_percentage``: ``improved = s * pct >= pct_improvement``, ``deteriorated = s * pct <=
    -pct_deterioration``, and ``pre == post`` is unchanged. For ``pre == 0`` and ``post != 0``
    the ratio is infinite; R marks such a client improved whenever ``post > 0`` (and, when lower
    is better, also deteriorated); here the sign of the change decides instead.

    References
    ----------
    Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw 111(1) (the R package
    clinicalsignificance, ``cs_percentage``). Frank E. et al. (1991) Arch Gen Psychiatry
    48(9):851-855 (response: a 50 % reduction).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "time": [0, 1] * 3,
    ...                   "score": [20, 8, 22, 21, 15, 14]})
    >>> res = percentage_change(d, pct_improvement=0.5)  # 50 % reduction or more
    >>> res["pct_change"].round(3).tolist()  # (8 - 20) / 20 = -0.6
    [-0.6, -0.045, -0.067]
    >>> res["category"].tolist()
    ['improved', 'unchanged', 'unchanged']

    Response (a 50 % reduction, Frank et al. 1991) on the simulated cohort's PHQ-9, session 1
    against session 6; clients without a session-6 score are kept, not evaluable:

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'")
    >>> res = percentage_change(phq9, pre=1, post=6, pct_improvement=0.5)
    >>> len(res), int(res["evaluable"].sum())
    (60, 30)
    >>> res[["pre", "post", "change", "pct_change"]].iloc[1].round(3).tolist()  # -5 / 24
    [24.0, 19.0, -5.0, -0.208]
    >>> res["category"].value_counts().to_dict()
    {'unchanged': 19, 'improved': 10, 'deteriorated': 1}
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
    """:func:`percentage_change` on a wide per-client table: a thin adapter, same computation.

    Parameters
    ----------
    prepost : pandas.DataFrame
        One row per client with columns ``id``, ``pre``, ``post`` (score points; names set by the
        keywords). Not modified.
    pct_improvement, pct_deterioration, better_is, group
        As in :func:`percentage_change`.
    id, pre, post : str
        Column names in ``prepost``.

    Returns
    -------
    pandas.DataFrame
        As :func:`percentage_change`. No reshaping, so it scores 10^6 clients in a fraction of a
        second.

    Raises
    ------
    ValueError
        As :func:`percentage_change`, and for a duplicated client id.

    Examples
    --------
    >>> import pandas as pd
    >>> pp = pd.DataFrame({"id": [1, 2, 3], "pre": [20.0, 22, 15], "post": [8.0, 21, 14]})
    >>> percentage_change_prepost(pp, pct_improvement=0.5)["category"].tolist()
    ['improved', 'unchanged', 'unchanged']

    Response (a 50 % reduction, Frank et al. 1991) on the simulated cohort's PHQ-9, each
    client's first against last observed session: the 23 responders of the outcomes table's
    ``response`` definition (:func:`analysis.outcomes.engine.score_definitions`).

    >>> from analysis import load_dataset
    >>> from analysis.outcomes.engine import prepost
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> first_last = prepost(cohort.scores, cohort.clients, "phq9")
    >>> res = percentage_change_prepost(first_last, pct_improvement=0.5,
    ...                                 pre="baseline", post="post")
    >>> res.loc[0, "id"], res[["pre", "post", "pct_change"]].iloc[0].round(3).tolist()  # -9 / 13
    ('C000001', [13.0, 4.0, -0.692])
    >>> res["category"].value_counts().to_dict()
    {'unchanged': 35, 'improved': 23, 'deteriorated': 0}
    """
    s = _check_direction(better_is)
    _check_pct(pct_improvement, pct_deterioration)
    pp, ok, reason = _from_prepost(prepost, id, pre, post, group)
    return _percentage_core(pp, ok, reason, pct_improvement, pct_deterioration, s)
