"""Sudden gains and sudden losses in session-by-session data (Tang & DeRubeis 1999).

A *sudden gain* is a large, stable improvement between two consecutive sessions. This module
implements the three criteria of Tang & DeRubeis (1999) exactly as the R package suddengains
(Wiedemann, Thew, Stott & Ehlers 2020, version 0.7) does, over long data (one row per client and
session), and returns the two tables of that package:

* :func:`sudden_gains` / :func:`sudden_losses` - one row per gain (R: ``create_bysg``);
* :func:`sudden_gains_byperson` - one row per client (R: ``create_byperson``), with the first,
  last, smallest or largest gain of a client with several;
* :func:`sudden_gain_intervals` - one row per client and tested interval with each criterion
  (R: ``identify_sg(..., crit123_details = TRUE)`` in long form);
* helpers :func:`check_interval`, :func:`crit1_cutoff_from_rci` (R: ``define_crit1_cutoff``),
  :func:`select_cases`, :func:`describe_sudden_gains` (R: ``describe_sg``);
* :func:`rule_sudden_gain`, the ``sudden_gain`` rule kind of outcome definitions.

What R does, and where this module lets you do otherwise
--------------------------------------------------------
The sessions form a grid: the sorted session numbers present in the data (or ``sessions=``), as
R's ``sg_var_list`` is a list of columns. A missing score is a hole in the grid.

* Tested intervals (R's loop ``col_j in 3:(ncol - 1)``): from the 2nd to the 3rd grid session up to
  the interval ending at the second-to-last session. The first interval is never tested (its
  pre-gain window would hold a single score) nor the last (its post-gain window too), even when the
  third criterion is switched off. To test a gain from session 1 to 2, include a baseline
  (session 0) and set ``identify_sg_1to2=True``, as the package's vignette says.
* Criterion 1: ``pregain - postgain >= cutoff`` (points). Criterion 2: ``pregain - postgain >=
  pct * pregain``. Criterion 3: ``mean_pre - mean_post > t * s_pooled`` over the up-to-three
  sessions before (pregain included) and the up-to-three from the postgain session on, present
  values only, with ``t = |qt(alpha / 2, n_pre + n_post - 2)|`` (2.776 with 3 + 3 scores, 3.182
  with one missing, 4.303 with one missing on each side, for alpha = 0.05; Lutz et al. 2013) and
  ``s_pooled = sqrt(((n_pre - 1) sd_pre^2 + (n_post - 1) sd_post^2) / (n_pre + n_post - 2))``.
  Criterion 3 needs at least two scores on each side; otherwise it is missing. Note the ``>=`` of
  criteria 1 and 2 and the strict ``>`` of criterion 3, as in R.
* An interval is a gain when every criterion applied is met; when any applied criterion is missing
  (a missing pregain or postgain score, too few scores for criterion 3) the interval is missing, as
  R's product ``crit1 * crit2 * crit3`` is NA. With criterion 3 alone R can flag an interval whose
  pregain score is missing (the window still has two scores); that is kept.
* Reversal (R ``create_bysg``): the gain is reversed when a later score is worse than
  ``postgain + magnitude / 2`` (i.e. more than half the gain is lost). R starts looking at the
  second session after the postgain session when ``identify_sg_1to2`` is false and at the first
  session after it when true: its reversal code numbers the columns from 0 whatever that flag,
  while its gain labels start at 1 or 0 with it. This looks like an off-by-one; it is matched by
  default (``reversal_window="r_package"``); ``reversal_window="after_gain"`` checks every session
  after the postgain session, as Tang & DeRubeis (1999) describe.
* Sudden losses (R ``identify_sl``): criterion 1 needs a negative cutoff, ``pregain - postgain <=
  cutoff``; R's criterion 2 for losses is ``pregain - postgain <= pct * pregain``, which any
  worsening (and any improvement smaller than ``pct``) meets: it is not the mirror of the gain
  criterion. Matched by default (``loss_crit2="r_package"``); ``loss_crit2="mirror"`` requires a
  worsening of at least ``pct * pregain``.
* ``change_proportion`` = magnitude / change over treatment; R turns ``-Inf`` (never reached for
  gains) into NA but keeps ``+Inf`` when the treatment change is 0; here both become NaN.
* R's ``create_bysg`` stops with an error when no gain is found; here the table is empty.

``better_is="higher"`` (e.g. WEMWBS) turns every comparison round: improvements are increases,
criterion 2 is ``postgain - pregain >= pct * pregain``; magnitudes and treatment change are
reported as improvement in score points (positive for gains), as R reports them for the BDI.

References
----------
Tang T.Z. & DeRubeis R.J. (1999) Sudden gains and critical sessions in cognitive-behavioral
therapy for depression. J Consult Clin Psychol 67(6):894-904.
Wiedemann M., Thew G.R., Stott R. & Ehlers A. (2020) suddengains: An R package to identify sudden
gains in longitudinal data. PLOS ONE 15(3):e0230276. (R package, MIT licence, GitHub
milanwiedemann/suddengains.)
Lutz W., Ehrlich T., Rubel J. et al. (2013) The ups and downs of psychotherapy: sudden gains and
sudden losses identified with session reports. Psychother Res 23(1):14-24.
Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19 (reliable change index).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import stats

# the rule context lives in analysis.outcomes.rules, which imports this module only lazily
if TYPE_CHECKING:
    from analysis.outcomes.rules import RuleResult, Trajectories

__all__ = [
    "sudden_gain_intervals",
    "sudden_gains",
    "sudden_losses",
    "sudden_gains_byperson",
    "describe_sudden_gains",
    "check_interval",
    "crit1_cutoff_from_rci",
    "select_cases",
    "default_cutoff",
    "rule_sudden_gain",
    "MIN_TIMEPOINTS_RULE",
    "OPTION_LABELS",
]

_MULTIPLE = ("first", "last", "smallest", "largest")

#: How a report names the options of :func:`sudden_gains_byperson` (``multiple``, the gain kept
#: for a client with several) and :func:`sudden_gains` (``reversal_window``; module notes).
OPTION_LABELS = {
    "multiple": {
        "first": "the first gain",
        "last": "the last gain",
        "smallest": "the smallest gain",
        "largest": "the largest gain",
    },
    "reversal_window": {
        "after_gain": "every session after the gain (Tang & DeRubeis 1999)",
        "r_package": "the window of the R package suddengains",
    },
}
_WINDOW_SUFFIXES = ("2n", "1n", "n", "n1", "n2", "n3")  # R's sg_<measure>_2n ... _n3


# --------------------------------------------------------------------------------------------
# input: long data -> a grid of sessions
# --------------------------------------------------------------------------------------------
def _duplicated_sorted(ids: pd.Series, times: pd.Series) -> np.ndarray | None:
    """Find rows that repeat an (id, time) pair, by comparing neighbours, when that is enough.

    Every copy is marked, as ``duplicated(keep=False)``. Only when both columns are numbers and
    the rows are in (id, time) order (no hashing of 10^7 pairs); None otherwise.
    """
    if not (
        pd.api.types.is_numeric_dtype(ids.dtype) and pd.api.types.is_numeric_dtype(times.dtype)
    ):
        return None
    i, t = ids.to_numpy(), times.to_numpy()
    if len(i) < 2:
        return np.zeros(len(i), bool)
    same_id = i[1:] == i[:-1]
    if not ((i[1:] > i[:-1]) | (same_id & (t[1:] >= t[:-1]))).all():
        return None
    pair = same_id & (t[1:] == t[:-1])
    dup = np.zeros(len(i), bool)
    dup[1:] |= pair
    dup[:-1] |= pair
    return dup


def _wide(
    data: pd.DataFrame, id: str, time: str, score: str, sessions: Sequence[float] | None
) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Validate long data and return (client ids, session grid, scores n_clients x n_sessions)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in (id, time, score) if c not in data.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not in data; columns are {list(data.columns)} "
            "(name them with id=, time=, score=)"
        )
    if len(data) == 0:
        raise ValueError(
            f"the data have no rows (columns {list(data.columns)}): no session scores to search "
            "for sudden gains"
        )
    for c in (time, score):
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise ValueError(f"column {c!r} must be numeric, got dtype {data[c].dtype}")
    inf = np.isinf(data[score].to_numpy(dtype=float, na_value=np.nan))
    if inf.any():
        rows = list(data.index[inf][:5])
        raise ValueError(
            f"column {score!r} has {int(inf.sum())} infinite score(s) (rows {rows}); a score must "
            "be a finite number of points (NaN marks a missed session)"
        )
    if data[id].isna().any():
        rows = list(data.index[data[id].isna()][:5])
        raise ValueError(f"column {id!r} has missing client ids (rows {rows})")
    if data[time].isna().any():
        rows = list(data.index[data[time].isna()][:5])
        raise ValueError(f"column {time!r} has missing session numbers (rows {rows})")
    dup = _duplicated_sorted(data[id], data[time])
    if dup is None:  # not numbers in (id, time) order: hash every pair
        dup = data.duplicated([id, time], keep=False).to_numpy()
    if dup.any():
        rows = list(data.index[dup][:6])
        raise ValueError(
            f"several rows for the same client and session in columns {id!r}, {time!r} "
            f"(rows {rows}); give one score per client and session"
        )
    if sessions is None:
        grid = np.sort(data[time].unique().astype(float))
    else:
        grid = np.asarray(sessions, float)
        if np.any(np.diff(grid) <= 0):
            raise ValueError("sessions must be strictly increasing session numbers")
        outside = ~data[time].isin(grid)
        if outside.any():
            rows = list(data.index[outside][:5])
            raise ValueError(
                f"column {time!r} has session numbers not in sessions= (rows {rows}); "
                "list every session or filter the data first"
            )
    ids = pd.Index(pd.unique(data[id]), name=id)
    try:
        ids = ids.sort_values()  # R arranges by id
    except TypeError:
        pass
    r = ids.get_indexer(data[id])
    c = np.searchsorted(grid, data[time].to_numpy(float))
    x = np.full((len(ids), len(grid)), np.nan)
    x[r, c] = data[score].to_numpy(float)
    return ids, grid, x


def _check_options(cutoff, pct, crit3, kind, better_is, crit3_alpha) -> None:
    if better_is not in ("lower", "higher"):
        raise ValueError(f"better_is must be 'lower' or 'higher', got {better_is!r}")
    if cutoff is None and pct is None and not crit3:
        raise ValueError(
            "apply at least one of the three criteria: cutoff (criterion 1), pct (criterion 2), "
            "crit3=True"
        )
    if cutoff is not None:
        if kind == "sg" and cutoff < 0:
            raise ValueError(f"cutoff must be positive to identify sudden gains, got {cutoff}")
        if kind == "sl" and cutoff > 0:
            raise ValueError(
                f"cutoff must be negative to identify sudden losses (as in R), got {cutoff}"
            )
    if pct is not None:
        if not isinstance(pct, (int, float, np.number)) or isinstance(pct, bool):
            raise TypeError(f"pct must be a proportion between 0 and 1, got {pct!r}")
        if pct > 1:
            raise ValueError(
                f"pct is a proportion of the pre-gain score between 0 and 1 (0.25 = 25 %), got "
                f"{pct}; did you mean pct={pct / 100:g}?"
            )
        if not pct >= 0:  # also NaN
            raise ValueError(f"pct must be a proportion between 0 and 1, got {pct}")
    if not 0 < crit3_alpha < 1:
        raise ValueError(f"crit3_alpha must lie in (0, 1), got {crit3_alpha}")


# --------------------------------------------------------------------------------------------
# the three criteria over the grid
# --------------------------------------------------------------------------------------------
def _criteria(
    x: np.ndarray,
    *,
    kind: str,
    cutoff: float | None,
    pct: float | None,
    crit3: bool,
    crit3_alpha: float,
    crit3_adjust: bool,
    crit3_critical_value: float,
    better_is: str,
    loss_crit2: str,
    keep: tuple[str, ...] | None = None,
) -> dict[str, np.ndarray]:
    """Criteria for every tested interval: arrays n_clients x n_intervals (NaN = missing).

    Interval ``k`` (0-based) has its pregain session at grid position ``k + 1`` and postgain at
    ``k + 2``; ``k`` runs over ``0 .. n_sessions - 4`` as R's loop does. ``keep`` names the
    arrays to return (default all; the outcome rule keeps what it reads: memory at 10^6 clients).
    """
    n_c, n_s = x.shape
    n_int = max(n_s - 3, 0)
    s = 1.0 if better_is == "lower" else -1.0
    names = (
        "crit1",
        "crit2",
        "crit3",
        "mean_pre",
        "mean_post",
        "sd_pre",
        "sd_post",
        "n_pre",
        "n_post",
        "critical_value",
        "crit123",
    )
    # interval by interval on contiguous rows: the arrays are built as n_intervals x n_clients
    # (and the session grid read transposed), then handed back transposed (views): the same
    # values as n_clients x n_intervals, without strided column reads and writes (10^6 clients)
    out = {k: np.full((n_int, n_c), np.nan) for k in (names if keep is None else keep)}
    x_t = np.ascontiguousarray(x.T)
    y_t = s * x_t  # lower is better on this scale
    seen_t = ~np.isnan(x_t)  # scored sessions, once for every interval

    def put(key: str, k: int, values) -> None:
        if key in out:  # columns not kept are not stored
            out[key][k] = values

    applied = [
        c
        for c, on in (("crit1", cutoff is not None), ("crit2", pct is not None), ("crit3", crit3))
        if on
    ]
    prod = np.ones((n_int, n_c))  # NaN if any applied criterion is missing, as R's product
    # the window statistics of a column range, once: interval k's post window (k+2 .. k+4) is
    # interval k+3's pre window
    stats_of: dict[tuple[int, int], tuple] = {}

    def window(lo: int, hi: int) -> tuple:
        if (lo, hi) not in stats_of:
            stats_of[(lo, hi)] = _window_stats_t(y_t[lo:hi])
        return stats_of[(lo, hi)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of all-NaN windows
        for k in range(n_int):
            p, q = k + 1, k + 2  # pregain, postgain grid positions
            pre, post = y_t[p], y_t[q]
            drop = pre - post  # improvement (gains) on the lower-is-better scale
            both = seen_t[p] & seen_t[q]
            crits = {}
            if cutoff is not None:
                c1 = drop >= cutoff if kind == "sg" else drop <= cutoff
                crits["crit1"] = np.where(both, c1, np.nan)
            if pct is not None:
                base = x_t[p]  # percentage of the pregain score as recorded
                if kind == "sg":
                    c2 = drop >= pct * base
                elif loss_crit2 == "r_package":
                    c2 = drop <= pct * base  # R identify_sl, see module notes
                else:
                    c2 = -drop >= pct * base
                crits["crit2"] = np.where(both, c2, np.nan)
            n1, m1, sd1 = window(max(0, p - 2), p + 1)
            n2, m2, sd2 = window(q, min(n_s, q + 3))
            stats_of.pop((max(0, p - 2), p + 1), None)  # a pre window is never used again
            put("mean_pre", k, s * m1)
            put("mean_post", k, s * m2)
            put("sd_pre", k, sd1)
            put("sd_post", k, sd2)
            put("n_pre", k, n1)
            put("n_post", k, n2)
            if crit3:
                ok = (n1 >= 2) & (n2 >= 2)
                df = np.where(ok, n1 + n2 - 2, np.nan)
                if crit3_adjust:  # df is a small integer: one t quantile per value
                    dfi = np.where(ok, df, 0).astype(int)
                    tab = np.abs(stats.t.ppf(crit3_alpha / 2, np.arange(dfi.max(initial=0) + 1)))
                    crit = np.where(ok, tab[dfi], np.nan)
                else:
                    crit = np.where(ok, crit3_critical_value, np.nan)
                sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
                diff = m1 - m2 if kind == "sg" else m2 - m1
                crits["crit3"] = np.where(ok, diff > crit * sp, np.nan)
                put("critical_value", k, crit)
            for c in applied:
                put(c, k, crits[c])
                prod[k] = prod[k] * crits[c]
    out["crit123"] = prod
    return {k: v.T for k, v in out.items()}


def _window_stats(w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(non-missing count as float, ``np.nanmean``, ``np.nanstd(ddof=1)``) per row of ``w``.

    The same arithmetic as numpy's nan-functions, in the same order on the same (C-ordered)
    copy, so the values are bit for bit theirs; the NaN-free copy and the counts are made once
    for both statistics instead of once each.
    """
    mask = np.isnan(w)
    arr = np.where(mask, 0.0, w)  # numpy's _replace_nan: a C-ordered copy, NaN -> 0
    cnt = np.sum(~mask, axis=1, dtype=np.intp)
    dof = cnt - 1
    with np.errstate(divide="ignore", invalid="ignore"):  # empty windows: NaN, as numpy's
        mean = np.sum(arr, axis=1) / cnt
        arr -= mean[:, None]
        arr[mask] = 0.0
        np.multiply(arr, arr, out=arr)
        var = np.sum(arr, axis=1) / dof
    var[dof <= 0] = np.nan
    return cnt.astype(float), mean, np.sqrt(var)


def _fold_sum(rows: np.ndarray) -> np.ndarray:
    """Sum over the first axis of ``rows`` (window x clients), bit for bit ``np.sum(w, axis=1)``.

    ``w`` is the window's (clients x window) C-ordered copy. numpy adds a short row (under 8
    values) one value after the other, starting from 0.0: ``((0.0 + w0) + w1) + w2``; done here
    column-wise on contiguous rows, so the sums are bit for bit numpy's (the 0.0 start included:
    it turns a sum of ``-0.0`` into ``0.0``).
    """
    total = 0.0 + rows[0]
    for r in rows[1:]:
        total += r
    return total


def _window_stats_t(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_window_stats` of the window ``rows.T``, bit for bit, from the transposed window.

    The window's sessions are contiguous rows of every client: no per-client reduction over 2-3
    values (10^6 clients).
    """
    if not 0 < len(rows) < 8:  # numpy sums 8 or more values pairwise: its own routine
        return _window_stats(np.ascontiguousarray(rows.T))
    mask = np.isnan(rows)
    arr = np.where(mask, 0.0, rows)
    cnt = np.sum(~mask, axis=0, dtype=np.intp)
    dof = cnt - 1
    with np.errstate(divide="ignore", invalid="ignore"):  # empty windows: NaN, as numpy's
        mean = _fold_sum(arr) / cnt
        arr -= mean
        arr[mask] = 0.0
        np.multiply(arr, arr, out=arr)
        var = _fold_sum(arr) / dof
    var[dof <= 0] = np.nan
    return cnt.astype(float), mean, np.sqrt(var)


def _labels(grid: np.ndarray, identify_sg_1to2: bool) -> np.ndarray:
    """R's interval label (``sg_session_n``): the pregain column number.

    Counted from 1, or from 0 when ``identify_sg_1to2`` (the first column is then a baseline,
    'session 0').
    """
    n_int = max(len(grid) - 3, 0)
    pos = np.arange(1, n_int + 1) + 1  # 1-based pregain column
    return pos - (1 if identify_sg_1to2 else 0)


# --------------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------------
_DOC_CRITERIA = """
    cutoff : float or None
        Criterion 1, score points (required keyword, as R's ``sg_crit1_cutoff``; ``None`` skips
        it). For sudden gains a positive number, e.g. 7 BDI points; for sudden losses a negative
        one, as in R. :func:`crit1_cutoff_from_rci` derives it from the reliable change index.
    pct : float or None, default 0.25
        Criterion 2: the change as a fraction (0-1) of the pregain score (``None`` skips it).
        A value above 1 (a percentage typed for a proportion, ``pct=25``) is refused.
    crit3 : bool, default True
        Criterion 3: pre/post window mean difference against a t critical value.
    crit3_alpha : float, default 0.05
        Two-tailed alpha of the critical value.
    crit3_adjust : bool, default True
        Degrees of freedom from the scores present (n_pre + n_post - 2; Lutz et al. 2013);
        ``False`` uses ``crit3_critical_value`` for every interval.
    crit3_critical_value : float, default 2.776
        The fixed critical value when ``crit3_adjust`` is false (t(0.975, 4)).
    identify_sg_1to2 : bool, default False
        As in R: true when the first session of the grid is a baseline, so that labels count
        from 0 and a gain from session 1 to 2 can be found. It also moves R's reversal window
        (see ``reversal_window``).
    better_is : {"lower", "higher"}, default "lower"
        Direction of the score (BDI, PHQ-9: lower is better).
    sessions : sequence of float, optional
        The session grid (R's ``sg_var_list``); default the sorted session numbers in the data.
        Give it when a session is absent for every client, so the hole is seen.
"""


_DOC_BYSG_RETURNS = """
    Returns
    -------
    pandas.DataFrame
        One row per gain (loss), ordered by client then session; empty with these columns when
        there is none (R stops with an error instead). Columns, with R's meaning:

        - ``<id>``: client id;
        - ``id_sg``: ``"<id>_sg_<sg_session_n>"`` (``_sl_`` for losses), as in R;
        - ``sg_crit123``: 1 (every row is a gain);
        - ``sg_session_n``: R's label of the pregain session (its grid column counted from 1, or
          from 0 with ``identify_sg_1to2``; equals the session number when sessions are numbered
          1, 2, ... or 0, 1, ... respectively);
        - ``pregain_time``, ``postgain_time``: the session numbers of the interval;
        - ``sg_freq_byperson``: number of gains of this client;
        - ``score_2n``, ``score_1n``, ``score_n``, ``score_n1``, ``score_n2``, ``score_n3``:
          the scores two and one sessions before the pregain session, at the pregain (n) and
          postgain (n1) sessions and the next two (R: ``sg_<measure>_2n`` ... ``_n3``), points;
        - ``mean_pre``, ``mean_post``, ``n_pre``, ``n_post``, ``critical_value``: the windows of
          criterion 3 (points, counts, t value);
        - ``sg_magnitude``: ``score_n - score_n1`` (improvement in points; negative for losses);
        - ``sg_tx_change``: ``score at tx_start - score at tx_end`` (points, improvement);
        - ``sg_change_proportion``: ``sg_magnitude / sg_tx_change`` (|magnitude| for losses),
          NaN when not finite;
        - ``sg_reversal_value``: ``score_n1 + sg_magnitude / 2`` (points);
        - ``sg_reversal``: 1 if a later score (window: ``reversal_window``) is worse than the
          reversal value (better, for losses), else 0.
"""

_DOC_BYSG_PARAMS = """
    tx_start, tx_end : float, optional
        Sessions whose scores give the change over treatment (R's ``tx_start_var_name``,
        ``tx_end_var_name``); default the first and last session of the grid.
    reversal_window : {"r_package", "after_gain"}, default "r_package"
        Sessions checked for a reversal; see the module notes on R's window.
"""


def _doc(f):
    """Fill the shared parameter and return sections into a docstring (``%(_DOC_...)s``)."""
    parts = {
        "_DOC_CRITERIA": _DOC_CRITERIA.strip("\n").lstrip(),
        "_DOC_BYSG_PARAMS": _DOC_BYSG_PARAMS.strip("\n").lstrip(),
        "_DOC_BYSG_RETURNS": _DOC_BYSG_RETURNS.strip("\n").lstrip(),
    }
    if f.__doc__:  # None under python -OO
        f.__doc__ = f.__doc__ % parts
    return f


@_doc
def sudden_gain_intervals(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    score: str = "score",
    *,
    cutoff: float | None,
    pct: float | None = 0.25,
    crit3: bool = True,
    crit3_alpha: float = 0.05,
    crit3_adjust: bool = True,
    crit3_critical_value: float = 2.776,
    identify_sg_1to2: bool = False,
    better_is: Literal["lower", "higher"] = "lower",
    sessions: Sequence[float] | None = None,
    kind: Literal["sg", "sl"] = "sg",
    loss_crit2: Literal["r_package", "mirror"] = "r_package",
) -> pd.DataFrame:
    """Every tested between-session interval of every client, with each criterion.

    The long form of R's ``identify_sg(..., crit123_details = TRUE)`` (``kind="sl"``:
    ``identify_sl``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per client and session (not modified). Missing scores may be rows with
        NaN or absent rows.
    id, time, score : str
        Column names: client id, session number, score (e.g. BDI-II total, 0-63).
    %(_DOC_CRITERIA)s
    kind : {"sg", "sl"}
        Sudden gains or sudden losses.
    loss_crit2 : {"r_package", "mirror"}
        Criterion 2 for losses, see the module notes.

    Returns
    -------
    pandas.DataFrame
        One row per client x tested interval (n_clients x (n_sessions - 3) rows): ``<id>``,
        ``sg_session_n`` (R's label), ``pregain_time``, ``postgain_time`` (session numbers),
        ``pregain_score``, ``postgain_score`` (points), ``crit1``, ``crit2``, ``crit3``
        (1.0 met, 0.0 not met, NaN missing or not applied), ``mean_pre``, ``mean_post``,
        ``sd_pre``, ``sd_post`` (points), ``n_pre``, ``n_post`` (scores present in the windows),
        ``critical_value`` (criterion 3), ``crit123`` (1.0 gain, 0.0 none, NaN missing).

    Raises
    ------
    ValueError
        A column is missing or not numeric, the data have no rows, ids or sessions are missing,
        a score is infinite, a client has two rows for a session, no criterion is applied, the
        cutoff has the wrong sign, or ``pct`` lies outside 0-1 (``pct=25`` for 25 %%: the message
        suggests ``pct=0.25``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [30, 31, 32, 20, 21, 19]})
    >>> iv = sudden_gain_intervals(d, cutoff=7)
    >>> iv[["pregain_time", "postgain_time", "crit123"]].to_numpy().tolist()
    [[2.0, 3.0, 0.0], [3.0, 4.0, 1.0], [4.0, 5.0, 0.0]]
    """
    _check_options(cutoff, pct, crit3, kind, better_is, crit3_alpha)
    ids, grid, x = _wide(data, id, time, score, sessions)
    cr = _criteria(
        x,
        kind=kind,
        cutoff=cutoff,
        pct=pct,
        crit3=crit3,
        crit3_alpha=crit3_alpha,
        crit3_adjust=crit3_adjust,
        crit3_critical_value=crit3_critical_value,
        better_is=better_is,
        loss_crit2=loss_crit2,
    )
    n_c, n_int = cr["crit123"].shape
    k = np.arange(n_int)
    out = pd.DataFrame(
        {
            id: np.repeat(ids.to_numpy(), n_int),
            "sg_session_n": np.tile(_labels(grid, identify_sg_1to2), n_c),
            "pregain_time": np.tile(grid[k + 1], n_c),
            "postgain_time": np.tile(grid[k + 2], n_c),
            "pregain_score": x[:, k + 1].ravel(),
            "postgain_score": x[:, k + 2].ravel(),
        }
    )
    for c in (
        "crit1",
        "crit2",
        "crit3",
        "mean_pre",
        "mean_post",
        "sd_pre",
        "sd_post",
        "n_pre",
        "n_post",
        "critical_value",
        "crit123",
    ):
        out[c] = cr[c].ravel()
    return out


def _bysg(
    data,
    id,
    time,
    score,
    *,
    kind,
    cutoff,
    pct,
    crit3,
    crit3_alpha,
    crit3_adjust,
    crit3_critical_value,
    identify_sg_1to2,
    better_is,
    sessions,
    tx_start,
    tx_end,
    reversal_window,
    loss_crit2,
    _pre=None,
) -> pd.DataFrame:
    """Gains (losses), one row each.

    ``_pre`` = ``(ids, grid, x, criteria)`` already computed by :func:`_wide` and
    :func:`_criteria` with these options (the outcome rule's, to do it once).
    """
    if reversal_window not in ("r_package", "after_gain"):
        raise ValueError(
            f"reversal_window must be 'r_package' or 'after_gain', got {reversal_window!r}"
        )
    if loss_crit2 not in ("r_package", "mirror"):
        raise ValueError(f"loss_crit2 must be 'r_package' or 'mirror', got {loss_crit2!r}")
    _check_options(cutoff, pct, crit3, kind, better_is, crit3_alpha)
    if _pre is not None:
        ids, grid, x, cr = _pre
    else:
        ids, grid, x = _wide(data, id, time, score, sessions)
        cr = _criteria(
            x,
            kind=kind,
            cutoff=cutoff,
            pct=pct,
            crit3=crit3,
            crit3_alpha=crit3_alpha,
            crit3_adjust=crit3_adjust,
            crit3_critical_value=crit3_critical_value,
            better_is=better_is,
            loss_crit2=loss_crit2,
        )
    s = 1.0 if better_is == "lower" else -1.0
    hit = np.nan_to_num(cr["crit123"], nan=0.0) == 1
    freq = hit.sum(axis=1)
    ci, ki = np.nonzero(hit)  # row-major: by client, then interval (R's order)
    labels = _labels(grid, identify_sg_1to2)
    n_s = len(grid)

    def col_at(offset: int) -> np.ndarray:
        j = ki + 1 + offset  # pregain position + offset
        ok = (j >= 0) & (j < n_s)
        v = np.full(len(ci), np.nan)
        v[ok] = x[ci[ok], j[ok]]
        return v

    window = {
        f"score_{suf}": col_at(off) for suf, off in zip(_WINDOW_SUFFIXES, range(-2, 4), strict=True)
    }

    def session_col(t, name):
        if t is None:
            return 0 if name == "tx_start" else n_s - 1
        where = np.flatnonzero(grid == float(t))
        if not len(where):
            raise ValueError(f"{name}={t!r} is not a session in the data (sessions: {list(grid)})")
        return int(where[0])

    j0, j1 = session_col(tx_start, "tx_start"), session_col(tx_end, "tx_end")
    magnitude = s * (window["score_n"] - window["score_n1"])
    tx_change = s * (x[ci, j0] - x[ci, j1])
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = (np.abs(magnitude) if kind == "sl" else magnitude) / tx_change
    prop[~np.isfinite(prop)] = np.nan
    rev_value = window["score_n1"] + s * magnitude / 2
    # reversal: any later score worse than rev_value (gains) / better than it (losses)
    if reversal_window == "after_gain" or identify_sg_1to2:
        first = ki + 3  # postgain + 1
    else:
        first = ki + 4  # postgain + 2 (R with identify_sg_1to2 = FALSE)
    later = np.arange(n_s)[None, :] >= first[:, None]
    yv = s * x[ci]  # lower is better
    ry = s * rev_value
    worse = yv > ry[:, None] if kind == "sg" else yv < ry[:, None]
    reversal = np.any(later & worse & ~np.isnan(yv), axis=1).astype(float)
    idv = ids.to_numpy()[ci]
    prefix = "sg" if kind == "sg" else "sl"
    out = pd.DataFrame(
        {
            id: idv,
            "id_sg": [f"{a}_{prefix}_{b}" for a, b in zip(idv, labels[ki], strict=True)],
            "sg_crit123": 1.0,
            "sg_session_n": labels[ki],
            "pregain_time": grid[ki + 1],
            "postgain_time": grid[ki + 2],
            "sg_freq_byperson": freq[ci],
            **window,
            "mean_pre": cr["mean_pre"][ci, ki],
            "mean_post": cr["mean_post"][ci, ki],
            "n_pre": cr["n_pre"][ci, ki],
            "n_post": cr["n_post"][ci, ki],
            "critical_value": cr["critical_value"][ci, ki],
            "sg_magnitude": magnitude,
            "sg_tx_change": tx_change,
            "sg_change_proportion": prop,
            "sg_reversal_value": rev_value,
            "sg_reversal": reversal,
        }
    )
    return out


@_doc
def sudden_gains(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    score: str = "score",
    *,
    cutoff: float | None,
    pct: float | None = 0.25,
    crit3: bool = True,
    crit3_alpha: float = 0.05,
    crit3_adjust: bool = True,
    crit3_critical_value: float = 2.776,
    identify_sg_1to2: bool = False,
    better_is: Literal["lower", "higher"] = "lower",
    sessions: Sequence[float] | None = None,
    tx_start: float | None = None,
    tx_end: float | None = None,
    reversal_window: Literal["r_package", "after_gain"] = "r_package",
) -> pd.DataFrame:
    """Sudden gains, one row per gain (R: ``create_bysg(..., identify = "sg")``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per client and session (not modified).
    id, time, score : str
        Column names: client id, session number, score (e.g. BDI-II total, 0-63, lower is better).
    %(_DOC_CRITERIA)s
    %(_DOC_BYSG_PARAMS)s

    %(_DOC_BYSG_RETURNS)s

    Raises
    ------
    ValueError
        As :func:`sudden_gain_intervals`; also an unknown ``tx_start``/``tx_end`` session or
        ``reversal_window``.

    Notes
    -----
    Criteria, windows and R's choices are described in the module docstring.

    References
    ----------
    Tang & DeRubeis (1999) J Consult Clin Psychol 67(6):894-904; Wiedemann et al. (2020) PLOS ONE
    15(3):e0230276.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": 1, "time": range(1, 9),
    ...                   "score": [30, 31, 32, 20, 21, 19, 27, 18]})
    >>> g = sudden_gains(d, cutoff=7)
    >>> g[["id_sg", "sg_magnitude", "sg_reversal_value", "sg_reversal"]].to_numpy().tolist()
    [['1_sg_3', 12.0, 26.0, 1.0]]

    The simulated cohort's PHQ-9, session by session, with criterion 1 from the registry's
    reliable change (6 points, NHS Talking Therapies; :func:`default_cutoff`): three gains in
    60 clients. Client C000012 drops from 8 to 2 points between sessions 4 and 5 (6 >= 6
    points, 6 / 8 = 0.75 >= 0.25 of the pregain score; sessions 2-4 score 5, 8, 8, sessions 5-7
    score 2, 2, 0) and keeps the gain; the other two are reversed.

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'")
    >>> cutoff, source = default_cutoff(get_instrument("phq9"))
    >>> cutoff, source[:57]
    (6.0, 'reliable change threshold of PHQ-9: NHS Talking Therapies')
    >>> gains = sudden_gains(phq9, cutoff=cutoff)
    >>> cols = ["id_sg", "pregain_time", "score_n", "score_n1", "sg_magnitude", "sg_reversal"]
    >>> gains[cols].to_numpy().tolist()
    [['C000012_sg_4', 4.0, 8.0, 2.0, 6.0, 0.0],
     ['C000025_sg_4', 4.0, 9.0, 3.0, 6.0, 1.0],
     ['C000030_sg_2', 2.0, 21.0, 14.0, 7.0, 1.0]]
    """
    return _bysg(
        data,
        id,
        time,
        score,
        kind="sg",
        cutoff=cutoff,
        pct=pct,
        crit3=crit3,
        crit3_alpha=crit3_alpha,
        crit3_adjust=crit3_adjust,
        crit3_critical_value=crit3_critical_value,
        identify_sg_1to2=identify_sg_1to2,
        better_is=better_is,
        sessions=sessions,
        tx_start=tx_start,
        tx_end=tx_end,
        reversal_window=reversal_window,
        loss_crit2="r_package",
    )


@_doc
def sudden_losses(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    score: str = "score",
    *,
    cutoff: float | None,
    pct: float | None = 0.25,
    crit3: bool = True,
    crit3_alpha: float = 0.05,
    crit3_adjust: bool = True,
    crit3_critical_value: float = 2.776,
    identify_sg_1to2: bool = False,
    better_is: Literal["lower", "higher"] = "lower",
    sessions: Sequence[float] | None = None,
    tx_start: float | None = None,
    tx_end: float | None = None,
    reversal_window: Literal["r_package", "after_gain"] = "r_package",
    loss_crit2: Literal["r_package", "mirror"] = "r_package",
) -> pd.DataFrame:
    """Sudden losses, one row per loss (R: ``create_bysg(..., identify = "sl")``).

    A sudden loss is the mirror image of a gain: a large, stable worsening between sessions
    (Lutz et al. 2013). The cutoff is negative, as in R (e.g. ``cutoff=-7``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per client and session (not modified).
    id, time, score : str
        Column names.
    %(_DOC_CRITERIA)s
    %(_DOC_BYSG_PARAMS)s
    loss_crit2 : {"r_package", "mirror"}, default "r_package"
        R's criterion 2 for losses (``pregain - postgain <= pct * pregain``, met by any worsening)
        or its mirror of the gain criterion (a worsening of at least ``pct * pregain``).

    %(_DOC_BYSG_RETURNS)s

    Raises
    ------
    ValueError
        As :func:`sudden_gains`; a positive cutoff.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [10, 11, 12, 30, 28, 33]})
    >>> sudden_losses(d, cutoff=-7)[["id_sg", "sg_magnitude"]].to_numpy().tolist()
    [['1_sl_3', -18.0]]
    """
    return _bysg(
        data,
        id,
        time,
        score,
        kind="sl",
        cutoff=cutoff,
        pct=pct,
        crit3=crit3,
        crit3_alpha=crit3_alpha,
        crit3_adjust=crit3_adjust,
        crit3_critical_value=crit3_critical_value,
        identify_sg_1to2=identify_sg_1to2,
        better_is=better_is,
        sessions=sessions,
        tx_start=tx_start,
        tx_end=tx_end,
        reversal_window=reversal_window,
        loss_crit2=loss_crit2,
    )


def sudden_gains_byperson(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    score: str = "score",
    *,
    cutoff: float | None,
    multiple: Literal["first", "last", "smallest", "largest"] = "first",
    kind: Literal["sg", "sl"] = "sg",
    bysg: pd.DataFrame | None = None,
    **options,
) -> pd.DataFrame:
    """One row per client, with one selected gain for clients with several.

    R: ``create_byperson``.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per client and session (not modified); every client appears.
    id, time, score : str
        Column names.
    cutoff : float or None
        Criterion 1, as :func:`sudden_gains`.
    multiple : {"first", "last", "smallest", "largest"}, default "first"
        Which gain to keep (R's ``multiple_sg_select``, same default): earliest, latest, smallest
        or largest ``sg_magnitude`` (ties: the earliest). For losses, "smallest" is the most
        negative magnitude, as in R.
    kind : {"sg", "sl"}
        Sudden gains or losses.
    bysg : pandas.DataFrame, optional
        A per-gain table already computed with the same options (R's ``data_is_bysg``).
    **options
        Any other option of :func:`sudden_gains` / :func:`sudden_losses`.

    Returns
    -------
    pandas.DataFrame
        One row per client (sorted by id): the columns of :func:`sudden_gains` for the selected
        gain; for clients without one ``sg_crit123`` = 0, ``sg_freq_byperson`` = 0 and the others
        missing, as in R.

    Raises
    ------
    ValueError
        As :func:`sudden_gains`; an unknown ``multiple``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1] * 6 + [2] * 6, "time": list(range(1, 7)) * 2,
    ...                   "score": [30, 31, 32, 20, 21, 19, 20, 20, 21, 20, 19, 20]})
    >>> p = sudden_gains_byperson(d, cutoff=7)
    >>> p["id_sg"].tolist(), p["sg_freq_byperson"].tolist()
    (['1_sg_3', nan], [1, 0])
    """
    if multiple not in _MULTIPLE:
        raise ValueError(f"multiple must be one of {_MULTIPLE}, got {multiple!r}")
    if bysg is None:
        fn = sudden_gains if kind == "sg" else sudden_losses
        bysg = fn(data, id, time, score, cutoff=cutoff, **options)
    if id not in data.columns:
        raise ValueError(f"column {id!r} not in data; columns are {list(data.columns)}")
    g = bysg
    if len(g):
        if multiple in ("smallest", "largest"):
            order = g["sg_magnitude"] * (1 if multiple == "smallest" else -1)
            g = g.assign(_o=order).sort_values([id, "_o", "sg_session_n"], kind="stable")
            g = g.drop(columns="_o").groupby(id, sort=False).head(1)
        else:
            asc = multiple == "first"
            g = g.sort_values([id, "sg_session_n"], ascending=[True, asc], kind="stable")
            g = g.groupby(id, sort=False).head(1)
    ids = pd.Index(pd.unique(data[id]), name=id)
    try:
        ids = ids.sort_values()
    except TypeError:
        pass
    out = pd.DataFrame({id: ids}).merge(g, on=id, how="left")
    out["sg_crit123"] = out["sg_crit123"].fillna(0.0)
    out["sg_freq_byperson"] = out["sg_freq_byperson"].fillna(0).astype(int)
    return out.reset_index(drop=True)


def describe_sudden_gains(table: pd.DataFrame, structure: Literal["bysg", "byperson"]) -> dict:
    """Count gains and their percentages (R: ``describe_sg``), unrounded.

    Parameters
    ----------
    table : pandas.DataFrame
        A per-gain table (:func:`sudden_gains`) or per-person table
        (:func:`sudden_gains_byperson`).
    structure : {"bysg", "byperson"}
        Which one it is.

    Returns
    -------
    dict
        ``total_n`` (rows), ``sg_total_n`` (gains), ``sg_n`` (clients with a gain; byperson only),
        ``sg_pct``, ``sg_multiple_n`` (byperson only), ``sg_multiple_pct`` (rows of clients with
        more than one gain, % of rows), ``sg_reversal_n``, ``sg_reversal_pct`` (% of gains or of
        clients with a gain), ``sg_magnitude_m``, ``sg_magnitude_sd`` (points, SD with n - 1).
        R rounds the percentages and magnitudes to 2 decimals; round for display only.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"sg_crit123": [1.0, 1.0], "sg_freq_byperson": [2, 2],
    ...                   "sg_reversal": [0.0, 1.0], "sg_magnitude": [8.0, 10.0]})
    >>> float(describe_sudden_gains(t, "bysg")["sg_reversal_pct"])
    50.0
    """
    if structure not in ("bysg", "byperson"):
        raise ValueError(f"structure must be 'bysg' or 'byperson', got {structure!r}")
    n = len(table)
    crit = table["sg_crit123"].fillna(0).sum()
    freq = table["sg_freq_byperson"].fillna(0)
    rev = table["sg_reversal"].fillna(0).sum()
    mag = table["sg_magnitude"].dropna()
    out = {"total_n": n}
    if structure == "bysg":
        out["sg_total_n"] = int(crit)
    else:
        out["sg_total_n"] = int(freq.sum())
        out["sg_n"] = int(crit)
    out["sg_pct"] = 100 * crit / n if n else float("nan")
    if structure == "byperson":
        out["sg_multiple_n"] = int((freq > 1).sum())
    out["sg_multiple_pct"] = 100 * (freq > 1).sum() / n if n else float("nan")
    out["sg_reversal_n"] = int(rev)
    out["sg_reversal_pct"] = 100 * rev / crit if crit else float("nan")
    out["sg_magnitude_m"] = float(mag.mean()) if len(mag) else float("nan")
    out["sg_magnitude_sd"] = float(mag.std(ddof=1)) if len(mag) > 1 else float("nan")
    return out


def check_interval(
    pre_values: Sequence[float],
    post_values: Sequence[float],
    *,
    cutoff: float | None,
    pct: float | None = 0.25,
    crit3: bool = True,
    crit3_alpha: float = 0.05,
    crit3_adjust: bool = True,
    crit3_critical_value: float = 2.776,
    kind: Literal["sg", "sl"] = "sg",
    better_is: Literal["lower", "higher"] = "lower",
    loss_crit2: Literal["r_package", "mirror"] = "r_package",
) -> dict:
    """Check one interval (R: ``check_interval``).

    Parameters
    ----------
    pre_values : sequence of 3 floats
        Scores at sessions n-2, n-1 and n (the pregain session), NaN for missing.
    post_values : sequence of 3 floats
        Scores at n+1 (postgain), n+2, n+3.
    cutoff, pct, crit3, crit3_alpha, crit3_adjust, crit3_critical_value, kind, better_is, \
loss_crit2
        As :func:`sudden_gain_intervals`.

    Returns
    -------
    dict
        ``crit1``, ``crit2``, ``crit3``, ``crit123`` (1.0, 0.0 or NaN), ``n_pre``, ``n_post``,
        ``mean_pre``, ``mean_post``, ``sd_pre``, ``sd_post``, ``critical_value``.

    Raises
    ------
    ValueError
        If either sequence does not hold exactly three values.

    Examples
    --------
    >>> r = check_interval([32, 31, 33], [5, 6, 7], cutoff=7)
    >>> r["crit123"], round(r["critical_value"], 3)
    (1.0, 2.776)
    """
    pre, post = list(pre_values), list(post_values)
    if len(pre) != 3 or len(post) != 3:
        raise ValueError("pre_values and post_values must each hold three scores (NaN if missing)")
    row = np.array([[np.nan, *pre, *post, np.nan]], float)  # 8 sessions: interval k = 2
    _check_options(cutoff, pct, crit3, kind, better_is, crit3_alpha)
    cr = _criteria(
        row,
        kind=kind,
        cutoff=cutoff,
        pct=pct,
        crit3=crit3,
        crit3_alpha=crit3_alpha,
        crit3_adjust=crit3_adjust,
        crit3_critical_value=crit3_critical_value,
        better_is=better_is,
        loss_crit2=loss_crit2,
    )
    keys = (
        "crit1",
        "crit2",
        "crit3",
        "crit123",
        "n_pre",
        "n_post",
        "mean_pre",
        "mean_post",
        "sd_pre",
        "sd_post",
        "critical_value",
    )
    return {k: float(cr[k][0, 2]) for k in keys}


def crit1_cutoff_from_rci(
    sd: float | None = None,
    reliability: float | None = None,
    *,
    data_sd: Sequence[float] | None = None,
) -> dict:
    """Derive criterion 1 from the reliable change index (R: ``define_crit1_cutoff``).

    Parameters
    ----------
    sd : float, optional
        Standard deviation of a normal population or at baseline (points).
    reliability : float
        Reliability of the scale, in (0, 1) (test-retest per Jacobson & Truax 1991, or alpha).
    data_sd : sequence of float, optional
        Baseline scores instead of ``sd`` (SD with n - 1, missing values ignored).

    Returns
    -------
    dict
        ``sd``, ``reliability``, ``standard_error_measurement`` = sd * sqrt(1 - r),
        ``standard_error_difference`` = sqrt(2) * se, ``reliable_change_value`` = 1.96 * sdiff.

    Raises
    ------
    ValueError
        Neither or both of ``sd`` and ``data_sd``; reliability missing or outside [0, 1].

    References
    ----------
    Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19.

    Examples
    --------
    >>> round(crit1_cutoff_from_rci(sd=10.5, reliability=0.931)["reliable_change_value"], 3)
    7.645
    """
    if reliability is None:
        raise ValueError("give the scale's reliability (reliability=)")
    if not 0 <= reliability <= 1:
        raise ValueError(f"reliability must lie between 0 and 1, got {reliability}")
    if (sd is None) == (data_sd is None):
        raise ValueError("give exactly one of sd= and data_sd=")
    if sd is None:
        v = pd.Series(data_sd, dtype=float).dropna()
        sd = float(v.std(ddof=1))
    se = sd * np.sqrt(1 - reliability)
    sdiff = np.sqrt(2 * se**2)
    return {
        "sd": float(sd),
        "reliability": float(reliability),
        "standard_error_measurement": float(se),
        "standard_error_difference": float(sdiff),
        "reliable_change_value": float(1.96 * sdiff),
    }


def select_cases(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    score: str = "score",
    *,
    method: Literal["pattern", "min_sess"] = "pattern",
    min_sess_num: int | None = None,
    sessions: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Which clients give enough data to identify sudden gains (R: ``select_cases``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data (not modified).
    id, time, score : str
        Column names.
    method : {"pattern", "min_sess"}
        ``pattern``: at least one run of the grid (present x, missing .) matching ``x x x x``,
        ``x x x . x``, ``x . x x x`` or ``x . x x . x`` (Tang & DeRubeis' criteria can be applied
        to one interval). ``min_sess``: at least ``min_sess_num`` scores present.
    min_sess_num : int, optional
        Needed with ``min_sess``.
    sessions : sequence of float, optional
        The session grid (default the sessions present).

    Returns
    -------
    pandas.DataFrame
        ``<id>``, ``sg_select`` (bool), one row per client, sorted by id.

    Raises
    ------
    ValueError
        Unknown method, missing or too large ``min_sess_num``, or bad columns.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [10, None, 10, 10, 10, None]})
    >>> select_cases(d)["sg_select"].tolist()
    [True]
    """
    ids, grid, x = _wide(data, id, time, score, sessions)
    present = ~np.isnan(x)
    if method == "pattern":
        s = ["".join("x" if v else "." for v in r) for r in present]
        pats = ("xxxx", "xxx.x", "x.xxx", "x.xx.x")
        sel = [any(p in row for p in pats) for row in s]
    elif method == "min_sess":
        if min_sess_num is None:
            raise ValueError("method='min_sess' needs min_sess_num")
        if min_sess_num > len(grid):
            raise ValueError(
                f"min_sess_num ({min_sess_num}) is greater than the number of sessions "
                f"({len(grid)})"
            )
        sel = present.sum(axis=1) >= min_sess_num
    else:
        raise ValueError(f"method must be 'pattern' or 'min_sess', got {method!r}")
    return pd.DataFrame({id: ids.to_numpy(), "sg_select": np.asarray(sel, bool)})


def default_cutoff(instrument, baseline_scores=None, reliability: float | None = None) -> tuple:
    """Criterion 1 for an instrument: its reliable-change threshold, else the RCI.

    Parameters
    ----------
    instrument : analysis.registry.instruments.Instrument
        Registry entry (``reliable_change``, ``reliability``).
    baseline_scores : array-like of float, optional
        Baseline scores of the cohort, for the RCI's SD when the registry has no threshold.
    reliability : float, optional
        Reliability for the RCI (default the registry's).

    Returns
    -------
    (float, str)
        The cutoff in points and where it comes from (for a report's methods table).

    Raises
    ------
    ValueError
        If neither a threshold nor a reliability with baseline scores is available.

    Examples
    --------
    >>> from analysis.registry.instruments import load_registry
    >>> default_cutoff(load_registry()["phq9"])[0]
    6.0
    """
    rc = (instrument.reliable_change or {}).get("value")
    if rc is not None:
        src = (instrument.reliable_change or {}).get("source", "instrument registry")
        return float(rc), f"reliable change threshold of {instrument.label}: {src}"
    rel = reliability if reliability is not None else instrument.reliability_value
    b = pd.Series(baseline_scores if baseline_scores is not None else [], dtype=float).dropna()
    if rel is None or len(b) < 2:
        raise ValueError(
            f"{instrument.code} has no reliable change threshold in the registry; give a cutoff "
            "or a reliability and baseline scores for the RCI"
        )
    v = crit1_cutoff_from_rci(data_sd=b, reliability=rel)["reliable_change_value"]
    return v, (
        f"RCI = 1.96 * sqrt(2) * SD(baseline) * sqrt(1 - {rel:g}) (Jacobson & Truax 1991; "
        "R suddengains define_crit1_cutoff)"
    )


# --------------------------------------------------------------------------------------------
# rule kind for outcome definitions
# --------------------------------------------------------------------------------------------
#: Fewest time points for the ``sudden_gain`` rule: Tang & DeRubeis' windows hold three scores
#: before and three from the postgain session on (R tests an interval only from the 4th column).
MIN_TIMEPOINTS_RULE = 6
_RULE_OPTIONS = ("cutoff", "pct", "crit3", "crit3_alpha", "without_reversal", "reversal_window")


def rule_sudden_gain(t: Trajectories, d: dict) -> RuleResult:
    """Outcome rule ``sudden_gain``: at least one sudden gain, by default without reversal.

    Options of the definition (all optional but ``measure``):

    - ``cutoff``: criterion 1 in points. Default: the instrument's reliable-change threshold
      in the registry; else the RCI from its reliability and the cohort's baseline SD
      (:func:`crit1_cutoff_from_rci`, as R's ``define_crit1_cutoff``; Stiles et al. 2003 used
      the RCI in routine care). Tang & DeRubeis (1999) used 7 BDI points.
    - ``pct`` (0.25), ``crit3`` (true), ``crit3_alpha`` (0.05): criteria 2 and 3, as
      :func:`sudden_gains`.
    - ``without_reversal`` (true): a reversed gain does not count.
    - ``reversal_window`` ("after_gain"): every session after the postgain session is checked,
      as Tang & DeRubeis describe; "r_package" for R's window.

    The session grid is the cohort's time points of that measure; the first one is taken as a
    baseline (R's ``identify_sg_1to2``: labels, and R's reversal window). Cohorts with fewer
    than :data:`MIN_TIMEPOINTS_RULE` time points (e.g. trials assessed at 0, 2, 3, 5, 8 months)
    raise ``NotComputable``: sudden gains need session-by-session data.

    Evaluable: clients with at least one interval where every criterion could be computed
    (others: "no interval with enough scores to test for a sudden gain"). ``first_met`` (the
    table's ``first_met_time``): the postgain session of the first counted gain. ``extra``:
    ``n_gains``, ``n_reversals`` (per client arrays) and the totals ``cutoff`` (points),
    ``gains``, ``reversed_gains``, ``clients_with_gain``, which
    :func:`analysis.outcomes.engine.score_definitions` keeps in ``attrs["details"][<definition>]``.

    References
    ----------
    Tang & DeRubeis (1999) J Consult Clin Psychol 67(6):894-904; Stiles W.B. et al. (2003)
    J Consult Clin Psychol 71(1):14-21.
    """
    # imported here: analysis.outcomes.rules imports this module for its dispatch table
    from analysis.outcomes.rules import NotComputable, RuleResult

    ins = t.instrument(d["measure"])
    m = t.measure(d["measure"])
    rows = m["all_rows"]
    n_ids = len(t.ids)
    n_times = rows["time"].nunique()
    if n_times < MIN_TIMEPOINTS_RULE:
        raise NotComputable(
            f"sudden gains need session-by-session data: {ins.label} has {n_times} time points "
            f"(at least {MIN_TIMEPOINTS_RULE} needed)"
        )
    for key in ("pct", "crit3_alpha"):
        v = d.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValueError(f"definition {d['name']!r}: key '{key}' must be a number, got {v!r}")
    cutoff = d.get("cutoff")
    if cutoff is None:
        try:
            cutoff = default_cutoff(ins, m["baseline"])[0]
        except ValueError as exc:  # no threshold for this instrument and data: skipped
            raise NotComputable(f"definition {d['name']!r}: {exc}") from None
    long = pd.DataFrame(
        {
            "pos": rows["pos"].to_numpy(),
            "time": rows["time"].to_numpy(),
            "score": rows["score"].to_numpy(),
        }
    )
    opts = dict(
        cutoff=float(cutoff),
        pct=d.get("pct", 0.25),
        crit3=bool(d.get("crit3", True)),
        crit3_alpha=float(d.get("crit3_alpha", 0.05)),
        identify_sg_1to2=True,
        better_is=ins.better_is,
    )
    met = np.zeros(n_ids, bool)
    first = np.full(n_ids, np.nan)
    n_gains = np.zeros(n_ids, int)
    n_rev = np.zeros(n_ids, int)
    evaluable = np.zeros(n_ids, bool)
    # the session grid and the three criteria once, for both the evaluable clients (any
    # interval with every criterion computable, as sudden_gain_intervals' crit123) and the gains
    # (sudden_gains with the same options)
    _check_options(opts["cutoff"], opts["pct"], opts["crit3"], "sg", ins.better_is,
                   opts["crit3_alpha"])  # fmt: skip
    ids, grid, x = _wide(long, "pos", "time", "score", None)
    cr = _criteria(
        x, kind="sg", cutoff=opts["cutoff"], pct=opts["pct"], crit3=opts["crit3"],
        crit3_alpha=opts["crit3_alpha"], crit3_adjust=True, crit3_critical_value=2.776,
        better_is=ins.better_is, loss_crit2="r_package",
        keep=("mean_pre", "mean_post", "n_pre", "n_post", "critical_value", "crit123"),
    )  # fmt: skip
    evaluable[ids.to_numpy(int)[(~np.isnan(cr["crit123"])).any(axis=1)]] = True
    g = _bysg(
        long, "pos", "time", "score", kind="sg", **opts, crit3_adjust=True,
        crit3_critical_value=2.776, sessions=None, tx_start=None, tx_end=None,
        reversal_window=d.get("reversal_window", "after_gain"), loss_crit2="r_package",
        _pre=(ids, grid, x, cr),
    )  # fmt: skip
    if len(g):
        p = g["pos"].to_numpy(int)
        np.add.at(n_gains, p, 1)
        np.add.at(n_rev, p, g["sg_reversal"].to_numpy(int))
        keep = g.loc[g["sg_reversal"] == 0] if d.get("without_reversal", True) else g
        if len(keep):
            f = keep.groupby("pos")["postgain_time"].min()
            first[f.index.to_numpy(int)] = f.to_numpy()
            met[f.index.to_numpy(int)] = True
    reason = np.where(
        evaluable, "", "no interval with enough scores to test for a sudden gain"
    ).astype(object)
    res = RuleResult(met, evaluable, reason, first, baseline=m["baseline"], post=m["post"])
    res.extra["n_gains"] = n_gains
    res.extra["n_reversals"] = n_rev
    # scalars reach score_definitions' attrs["details"] (per-client arrays do not)
    res.extra["cutoff"] = float(cutoff)
    res.extra["gains"] = int(n_gains.sum())
    res.extra["reversed_gains"] = int(n_rev.sum())
    res.extra["clients_with_gain"] = int((n_gains > 0).sum())
    return res
