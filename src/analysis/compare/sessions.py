"""Session-level comparisons: how many clients have a sudden gain, overall and by group.

The gains themselves are found in :mod:`analysis.outcomes.sudden_gains` (Tang & DeRubeis 1999,
as the R package suddengains computes them); expected recovery curves and the not-on-track signal
are in :mod:`analysis.compare.on_track`. This module summarises the per-client table into
proportions with Wilson intervals (:func:`analysis.compare.prevalence.wilson_interval`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.compare.prevalence import wilson_interval

__all__ = ["gain_summary", "GAIN_SUMMARY_LABELS"]

#: what each count column of :func:`gain_summary` counts, as a report's table heads it: every
#: count is of clients except ``gains`` (a client can have several gains), so "reversed" and
#: "did not reverse" add up to "clients with a gain", not to "gains"
GAIN_SUMMARY_LABELS = {
    "clients": "clients",
    "with_gain": "clients with a gain",
    "gains": "gains (all, of these clients)",
    "reversed": "clients whose gain reversed",
    "without_reversal": "clients whose gain did not reverse",
    "magnitude_mean": "mean gain (points)",
}


def gain_summary(byperson: pd.DataFrame, by: str | None = None, alpha: float = 0.05):
    """Clients with a sudden gain, overall or by group, with Wilson intervals.

    Parameters
    ----------
    byperson : pandas.DataFrame
        :func:`analysis.outcomes.sudden_gains.sudden_gains_byperson` output, with a ``by`` column
        if given.
    by : str, optional
        Group column (e.g. ``"arm"``).
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``<by>`` (if given), ``clients``, ``with_gain``, ``proportion``,
        ``ci_low``, ``ci_high`` (Wilson), ``gains`` (all gains of these clients: a count of
        gains, not of clients), ``reversed`` (clients whose selected gain reversed),
        ``without_reversal`` (clients with a gain whose selected gain did not reverse:
        ``with_gain - reversed``), ``magnitude_mean`` (points, selected gains).
        :data:`GAIN_SUMMARY_LABELS` heads these columns in a report.

    Raises
    ------
    ValueError
        If ``by`` is not a column of ``byperson``, or ``alpha`` is not in (0, 1).

    Examples
    --------
    >>> import pandas as pd
    >>> bp = pd.DataFrame({"sg_crit123": [1.0, 0.0], "sg_freq_byperson": [2, 0],
    ...                    "sg_reversal": [0.0, None], "sg_magnitude": [9.0, None]})
    >>> gain_summary(bp)[["clients", "with_gain", "gains"]].to_numpy().tolist()
    [[2, 1, 2]]
    """
    keys = [by] if by else []
    if by and by not in byperson.columns:
        raise ValueError(f"column {by!r} not in the per-person table")
    d = byperson.assign(
        _g=byperson["sg_crit123"].fillna(0).astype(int),
        _r=byperson["sg_reversal"].fillna(0).astype(int),
    )
    grouped = d.groupby(keys, dropna=False) if keys else [((), d)]
    rows = []
    for key, g in grouped:
        n, k = len(g), int(g["_g"].sum())
        lo, hi = wilson_interval(k, n, alpha)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            clients=n, with_gain=k, proportion=k / n if n else np.nan, ci_low=float(lo),
            ci_high=float(hi), gains=int(g["sg_freq_byperson"].fillna(0).sum()),
            reversed=int(g["_r"].sum()), without_reversal=k - int(g["_r"].sum()),
            magnitude_mean=float(g["sg_magnitude"].mean()) if k else np.nan,
        )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)
