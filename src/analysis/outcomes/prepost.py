"""Shared by the change methods: long -> pre/post, argument checks, category codes.

Every reliable-change family (:mod:`~analysis.outcomes.distribution`, :mod:`~analysis.outcomes.hlm`,
:mod:`~analysis.outcomes.percentage`, :mod:`~analysis.outcomes.anchor`) takes long data (one row per
client x time point) and reshapes it here, once, to one row per client with ``pre`` and ``post``
(:func:`_prepost`); the wide (``*_prepost``) entry points validate an existing per-client table into
the same layout (:func:`_from_prepost`). The category labels and :class:`NotComputedError` live here
so every family uses the same ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CATEGORIES", "RELIABLE_CHANGE", "NotComputedError"]


class NotComputedError(ValueError):
    """The data cannot support the method; the message is the reason, for "not computed: <reason>".

    Raised, for example, by the Hageman-Arrindell method on a degenerate sample (no variance of
    the pre, post or change scores, so the reliability of change ``r_dd`` is undefined) and by
    the HLM method with fewer than three waves (time points), and by a definition rule the data
    cannot support (e.g. too few evaluable clients for an RCI, an instrument without a published
    remission threshold): :func:`analysis.outcomes.engine.score_definitions` then lists the
    definition as not computed with this message instead of failing the whole table. One
    exception for the whole package. A subclass of ``ValueError``, so
    callers that catch ``ValueError`` keep working; configuration errors (an unknown method, a
    reliability outside (0, 1)) stay plain ``ValueError``.

    Examples
    --------
    >>> try:
    ...     raise NotComputedError("HLM needs at least three waves; the data have 2")
    ... except ValueError as exc:
    ...     print(f"not computed: {exc}")
    not computed: HLM needs at least three waves; the data have 2

    The simulated cohort's PHQ-9 cut to two sessions (1 and 6), as a pre/post export would hold
    it: HLM cannot separate a client's slope from measurement error, while JT runs.

    >>> from analysis import clinical_significance, compare_methods, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> two_waves = cohort.scores.query("measure == 'phq9' and time in (1, 6)")
    >>> try:
    ...     clinical_significance(two_waves, rci_method="HLM")
    ... except NotComputedError as exc:
    ...     print(f"not computed: {exc}")
    not computed: HLM needs at least three waves (time points) to separate a client's slope from
    measurement error; the data have 2 (1, 6)
    >>> res = compare_methods(cohort.with_scores(two_waves), "phq9", methods=("JT", "HLM"))
    >>> res.attrs["methods"], sorted(res.attrs["not_computed"])
    (['JT'], ['HLM'])
    """


CATEGORIES = ("recovered", "improved", "unchanged", "deteriorated", "harmed")
RELIABLE_CHANGE = ("improved", "unchanged", "deteriorated")


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


def _check_alpha(significance_level: float) -> float:
    a = float(significance_level)
    if not 0 < a < 1:
        raise ValueError(f"significance_level must lie in (0, 1), got {significance_level!r}")
    return a


def _check_columns(data: pd.DataFrame, cols) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    for col in cols:
        if col is not None and col not in data.columns:
            raise ValueError(f"column {col!r} not in data (columns: {list(data.columns)})")


def _positive(x, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive number of score points, got {x!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number of score points, got {x!r}")
    return v


def _cat(codes: np.ndarray, levels) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(levels))


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


def _factorize_ids(ids: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes and the unique ids in order of first appearance (as ``pd.unique``).

    A missing id raises a ``ValueError`` with the first offending rows (a client named NaN is not
    a client); the check is made on the integer codes, since asking pandas for it up front scans
    every string again.
    """
    codes, uniques = pd.factorize(ids)
    if len(codes) and codes.min() < 0:
        miss = codes < 0
        rows = ids.index[miss][:5].tolist()
        raise ValueError(
            f"column {ids.name!r}: {int(miss.sum())} row(s) without a client id (first row "
            f"labels: {rows}); give every score a client id or drop those rows first"
        )
    return codes, pd.Index(uniques)


def _check_long(data: pd.DataFrame, id: str, time: str, outcome: str) -> None:
    """Refuse long data that would be analysed wrongly: no rows, text or infinite scores.

    Raises
    ------
    NotComputedError
        If ``data`` has no rows (nothing to analyse).
    ValueError
        If ``outcome`` holds text that is not a number (it would silently become a missing
        score) or an infinite score (its change would be infinite); the message gives the count,
        the values and the first row labels.
    """
    if len(data) == 0:
        raise NotComputedError(
            f"the data have no rows (columns {list(data.columns)}): no client to analyse"
        )
    _scores(data[outcome], outcome)


def _scores(col: pd.Series, name: str) -> np.ndarray:
    """``col`` as float points; text that is not a number, or an infinite value, raises.

    The message gives the column, the count, the values and the first row labels.
    """
    if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
        num = pd.to_numeric(col, errors="coerce")
        text = (num.isna() & col.notna()).to_numpy()
        if text.any():
            raise ValueError(
                f"column {name!r}: {int(text.sum())} value(s) are not numbers, e.g. "
                f"{col[text].astype(str).unique()[:5].tolist()} (first row labels: "
                f"{col.index[text][:5].tolist()}); a score must be a number of points, an empty "
                "cell (NaN) a missing score"
            )
        y = num.to_numpy(dtype=float, na_value=np.nan)
    else:
        y = col.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(y)
    if inf.any():
        raise ValueError(
            f"column {name!r}: {int(inf.sum())} infinite score(s) (first row labels: "
            f"{col.index[inf][:5].tolist()}); a score must be a finite number of points"
        )
    return y


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


def _prepost_frame(data, id, time, outcome, pre, post, group):
    _check_columns(data, [id, time, outcome, group])
    _check_long(data, id, time, outcome)
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
    no_id = prepost[id].isna().to_numpy()
    if no_id.any():
        raise ValueError(
            f"column {id!r}: {int(no_id.sum())} row(s) without a client id (first row labels: "
            f"{prepost.index[no_id][:5].tolist()}); give every row a client id"
        )
    pp = pd.DataFrame({"id": prepost[id].to_numpy()})
    if group is not None:
        pp[group] = prepost[group].to_numpy()
    pp["pre"] = _scores(prepost[pre], pre)
    pp["post"] = _scores(prepost[post], post)
    return _wide_frame(pp, "pre", "post")


def _three_way(ok, improved, deteriorated) -> pd.Categorical:
    codes = np.where(improved, 0, np.where(deteriorated, 2, 1))
    codes[~ok] = -1
    return _cat(codes, RELIABLE_CHANGE)
