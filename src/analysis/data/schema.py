"""The data model, validated with pandera.

Scores (long format): one row per client x time point x measure with columns ``id``, ``time``,
``measure``, ``score`` (optional ``date``). Clients: one row per client with ``id`` and, where
known, ``arm``, ``therapist``, ``site``, ``end_reason``.

Validation never drops a row. It returns a coerced copy or raises a :class:`ValueError` naming the
source, the column, the check, what was expected, and the first offending rows (by their row label,
which :mod:`analysis.data.readers` sets to the line number in the source file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.registry.instruments import Instrument, load_registry

__all__ = [
    "SCORE_COLUMNS",
    "CLIENT_COLUMNS",
    "END_REASONS",
    "scores_schema",
    "clients_schema",
    "validate_scores",
    "validate_clients",
    "validate_cohort_frames",
    "check_cohort_frames",
]

SCORE_COLUMNS = ("id", "time", "measure", "score")
CLIENT_COLUMNS = ("id",)
END_REASONS = ("planned", "dropout", "ongoing", "unknown")
_SHOW = 5  # offending rows shown in an error message


def _in_range(registry: dict[str, Instrument]):
    lo = {k: v.min for k, v in registry.items()}
    hi = {k: v.max for k, v in registry.items()}

    def check(df: pd.DataFrame) -> pd.Series:
        mn = df["measure"].map(lo)
        mx = df["measure"].map(hi)
        s = df["score"]
        return s.isna() | mn.isna() | ((s >= mn) & (s <= mx))

    return check


def scores_schema(registry: dict[str, Instrument] | None = None) -> pa.DataFrameSchema:
    """Pandera schema of the long-format scores table.

    Parameters
    ----------
    registry : dict, optional
        Instrument registry (default: the package's). Measures must be registry codes and scores
        must lie in each instrument's range (inclusive).

    Returns
    -------
    pandera.DataFrameSchema
    """
    reg = registry if registry is not None else load_registry()
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, nullable=False, coerce=True),
            "time": pa.Column(
                float,
                checks=[
                    pa.Check.ge(0, error="time must be >= 0 (session number, week or month)"),
                    # inf passes ge(0): a float overflow or a typing slip, never a time point
                    pa.Check(
                        lambda s: np.isfinite(s.astype(float)),
                        element_wise=False,
                        error="time must be a finite number",
                    ),
                ],
                nullable=False,
                coerce=True,
            ),
            "measure": pa.Column(
                str,
                checks=pa.Check.isin(
                    sorted(reg), error=f"measure must be a registry code, one of {sorted(reg)}"
                ),
                nullable=False,
                coerce=True,
            ),
            "score": pa.Column(float, nullable=True, coerce=True),
        },
        checks=[
            pa.Check(
                _in_range(reg),
                error="score must lie within the instrument's range (registry min-max)",
                name="score_in_instrument_range",
            ),
        ],
        unique=["id", "time", "measure"],
        report_duplicates="all",
        strict=False,
        coerce=True,
    )


def clients_schema() -> pa.DataFrameSchema:
    """Pandera schema of the client table (``id`` unique and present; ``end_reason`` coded)."""
    return pa.DataFrameSchema(
        {
            "id": pa.Column(str, nullable=False, unique=True, coerce=True),
            "end_reason": pa.Column(
                str,
                checks=pa.Check.isin(END_REASONS, error=f"end_reason must be one of {END_REASONS}"),
                nullable=True,
                required=False,
                coerce=True,
            ),
        },
        strict=False,
        coerce=True,
    )


def _expected(check: str) -> str:
    if "coerce_dtype" in check:
        return "a number (an empty cell marks a missing assessment)"
    if "not_nullable" in check:
        return "a value in every row"
    if "multiple_fields_uniqueness" in check:
        return "one row per client x time x measure"
    if "field_uniqueness" in check:
        return "each value once (one row per client)"
    if "registry code" in check:
        return check.replace("measure must be ", "")
    if "instrument_range" in check or "instrument's range" in check:
        return (
            "a score within the instrument's range "
            "(see analysis.registry.instruments.registry_table())"
        )
    return check


def _format_errors(err: pa.errors.SchemaErrors, df: pd.DataFrame, source: str) -> str:
    fc = err.failure_cases.copy()
    fc["check"] = fc["check"].astype(str)
    # a plain dtype failure repeats the coercion failure, and a range check cannot run on text
    coerced = fc["check"].str.startswith("coerce_dtype")
    fc = fc.loc[~(fc["check"].str.startswith("dtype(") & coerced.any())]
    fc = fc.loc[~fc["failure_case"].astype(str).str.startswith("TypeError")]
    uniq = fc["check"].str.contains("multiple_fields_uniqueness")
    fc.loc[uniq, "column"] = "id, time, measure"
    fc.loc[fc["check"].str.contains("instrument's range"), "column"] = "score"
    fc = fc.drop_duplicates(["column", "check", "index"])
    lines = [f"{source}: invalid input ({len(fc)} failing value(s)). Nothing was dropped."]
    for (column, check), grp in fc.groupby(["column", "check"], dropna=False, sort=False):
        col = column if isinstance(column, str) else "score"
        idx = [i for i in grp["index"].tolist() if i is not None and not pd.isna(i)]
        idx = list(dict.fromkeys(idx))
        lines.append(
            f"- column '{col}': {len(grp)} row(s) fail '{check}'; expected {_expected(str(check))}."
        )
        if idx:
            shown = df.loc[df.index.isin(idx[:_SHOW])]
            lines.append("  first offending rows (row label = line in the source):")
            lines.append("  " + shown.to_string().replace("\n", "\n  "))
        else:
            vals = grp["failure_case"].astype(str).unique()[:_SHOW]
            lines.append(f"  offending values: {', '.join(vals)}")
    return "\n".join(lines)


def _missing_columns(df: pd.DataFrame, required: tuple[str, ...], source: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(
            f"{source}: missing column(s) {missing}; expected columns {list(required)}, "
            f"found {list(df.columns)}"
        )


def validate_scores(
    scores: pd.DataFrame,
    registry: dict[str, Instrument] | None = None,
    source: str = "scores",
) -> pd.DataFrame:
    """Validate and coerce a long-format scores table.

    Parameters
    ----------
    scores : pandas.DataFrame
        Columns ``id``, ``time``, ``measure``, ``score`` (see module docstring). Not modified.
    registry : dict, optional
        Instrument registry (default: the package's).
    source : str
        Name of the input (a file path) used in error messages.

    Returns
    -------
    pandas.DataFrame
        A copy with ``id`` and ``measure`` as str, ``time`` and ``score`` as float; same rows.

    Raises
    ------
    ValueError
        On a missing column, a non-numeric score or time, a negative time, an unknown measure, a
        score outside the instrument's range or a duplicate client x time x measure row. The message
        names the column and check and shows the first offending rows.
    """
    _missing_columns(scores, SCORE_COLUMNS, source)
    try:
        out = scores_schema(registry).validate(scores.copy(), lazy=True)
    except pa.errors.SchemaErrors as err:
        raise ValueError(_format_errors(err, scores, source)) from None
    return out


def validate_clients(clients: pd.DataFrame, source: str = "clients") -> pd.DataFrame:
    """Validate and coerce the client table.

    Returns
    -------
    pandas.DataFrame
        A copy with ``id`` as str (same rows).

    Raises
    ------
    ValueError
        If ``id`` is missing, empty or duplicated, or ``end_reason`` is not one of
        ``planned, dropout, ongoing, unknown``.
    """
    _missing_columns(clients, CLIENT_COLUMNS, source)
    try:
        return clients_schema().validate(clients.copy(), lazy=True)
    except pa.errors.SchemaErrors as err:
        raise ValueError(_format_errors(err, clients, source)) from None


def validate_cohort_frames(
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    registry: dict[str, Instrument] | None = None,
    source: str = "cohort",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validate both tables and that every scored client is in the client table.

    Raises
    ------
    ValueError
        As :func:`validate_scores` and :func:`validate_clients`, or when scores name clients
        absent from the client table (the first such ids are listed).
    """
    s = validate_scores(scores, registry, source=f"{source} (scores)")
    c = validate_clients(clients, source=f"{source} (clients)")
    unknown = np.setdiff1d(s["id"].unique(), c["id"].unique())
    if unknown.size:
        raise ValueError(
            f"{source}: {unknown.size} client id(s) in the scores are not in the client table, "
            f"e.g. {unknown[:_SHOW].tolist()}"
        )
    return s, c


def _rows(df: pd.DataFrame, mask: np.ndarray) -> str:
    """The first offending rows of ``df`` (row label = line in the source), indented."""
    shown = df.loc[mask].head(_SHOW)
    return "  " + shown.to_string().replace("\n", "\n  ")


def _missing(col: pd.Series) -> np.ndarray | None:
    """Mask of missing values, or None when there are none.

    All-str object columns take one C pass, about three times cheaper than ``isna`` on millions
    of rows.
    """
    if col.dtype == object and pd.api.types.infer_dtype(col.to_numpy(), skipna=False) == "string":
        return None
    return col.isna().to_numpy()


def check_cohort_frames(
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    registry: dict[str, Instrument] | None = None,
    source: str = "cohort",
) -> None:
    """Fast, vectorised checks a :class:`~analysis.data.cohort.Cohort` runs on construction.

    The cheap subset of :func:`validate_cohort_frames` (which the readers run in full): it never
    coerces or copies and costs about one hash pass over ``measure`` and one missing-value pass
    over ``id`` (about 0.1 s per million score rows on one core; the duplicate-row and
    client-membership checks of :func:`validate_cohort_frames`, each several times dearer, are
    left to it).

    Parameters
    ----------
    scores : pandas.DataFrame
        Long format: ``id``, ``time`` (session, week or month, >= 0), ``measure``, ``score``
        (instrument points; NaN = a missed assessment). Not modified.
    clients : pandas.DataFrame
        One row per client, column ``id``. Not modified.
    registry : dict, optional
        Instrument registry (default: the package's, with the user instruments of
        ``$ANALYSIS_INSTRUMENTS``). Scores of a registered measure must lie within its min-max
        (inclusive); measures the registry does not know are not range-checked (a reader's
        specification may add instruments) but must still be finite numbers.

    Raises
    ------
    TypeError
        If either table is not a DataFrame.
    ValueError
        Naming ``source``, the column and what was expected, with the count and the first
        offending rows: a missing column; a missing client id or measure; a text (non-numeric)
        score or time; an infinite score; a negative or infinite time; a score outside its
        instrument's range (per measure, with the range); a missing or duplicated id in the
        client table.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"id": ["a", "a"], "time": [0, 1], "measure": "phq9",
    ...                   "score": [99, -5]})
    >>> check_cohort_frames(s, pd.DataFrame({"id": ["a"]}), source="demo")
    Traceback (most recent call last):
    ...
    ValueError: demo (scores): column 'score': 2 score(s) of measure 'phq9' outside the ...
    """
    src = f"{source} (scores)"
    _missing_columns(scores, SCORE_COLUMNS, src)
    _missing_columns(clients, CLIENT_COLUMNS, f"{source} (clients)")
    nothing = " Nothing was dropped."
    codes, measures = pd.factorize(scores["measure"])  # the one hash pass; NaN -> code -1
    for col, what in (("id", "a client id"), ("measure", "a measure code")):
        miss = (codes < 0) if col == "measure" else _missing(scores[col])
        if miss is not None and miss.any():
            raise ValueError(
                f"{src}: column '{col}': {int(miss.sum())} row(s) without {what}; expected "
                f"a value in every row.{nothing} First offending rows (row label = line in the "
                f"source):\n{_rows(scores, miss)}"
            )
    values = {}
    for col, unit in (("time", "a session number, week or month"), ("score", "points")):
        x = scores[col]
        if x.dtype == np.float64:
            values[col] = x.to_numpy()
            continue
        if pd.api.types.is_numeric_dtype(x.dtype):
            values[col] = x.to_numpy(dtype=float, na_value=np.nan)
            continue
        num = pd.to_numeric(x, errors="coerce")
        text = (num.isna() & x.notna()).to_numpy()
        if text.any():
            raise ValueError(
                f"{src}: column '{col}': {int(text.sum())} value(s) are not numbers ({unit}), "
                f"e.g. {x[text].astype(str).unique()[:_SHOW].tolist()}; an empty cell marks a "
                f"missing assessment.{nothing} First offending rows (row label = line in the "
                f"source):\n{_rows(scores, text)}"
            )
        values[col] = num.to_numpy(dtype=float, na_value=np.nan)
    t = values["time"]
    if not (t.size == 0 or (t.min() >= 0 and t.max() < np.inf)):  # NaN fails: no mask needed
        bad_t = ~(np.isfinite(t) & (t >= 0))
        raise ValueError(
            f"{src}: column 'time': {int(bad_t.sum())} value(s) missing, negative or infinite; "
            f"expected a finite number >= 0 (session number, week or month).{nothing} First "
            f"offending rows (row label = line in the source):\n{_rows(scores, bad_t)}"
        )
    y = values["score"]
    inf = np.isinf(y)
    if inf.any():
        raise ValueError(
            f"{src}: column 'score': {int(inf.sum())} infinite score(s); expected a number of "
            f"points or an empty cell (a missed assessment).{nothing} First offending rows (row "
            f"label = line in the source):\n{_rows(scores, inf)}"
        )
    reg = registry if registry is not None else load_registry()
    lo = np.array([reg[m].min if m in reg else -np.inf for m in measures] + [-np.inf])
    hi = np.array([reg[m].max if m in reg else np.inf for m in measures] + [np.inf])
    out = (y < lo[codes]) | (y > hi[codes])  # NaN compares False: a missed assessment is fine
    if out.any():
        first = codes[np.argmax(out)]
        m = measures[first]
        in_m = out & (codes == first)
        others = sorted({str(measures[k]) for k in np.unique(codes[out])} - {str(m)})
        more = f" (also out of range: {others})" if others else ""
        raise ValueError(
            f"{src}: column 'score': {int(in_m.sum())} score(s) of measure {m!r} outside the "
            f"instrument's range {reg[m].min:g}-{reg[m].max:g} points (registry)"
            f"{more}; {int(out.sum())} such score(s) in all.{nothing} First offending rows "
            f"(row label = line in the source):\n{_rows(scores, in_m)}"
        )
    cid = clients["id"]
    miss = cid.isna().to_numpy()
    if miss.any():
        raise ValueError(
            f"{source} (clients): column 'id': {int(miss.sum())} client(s) without an id; "
            f"expected a value in every row. First offending rows:\n{_rows(clients, miss)}"
        )
    if not cid.is_unique:
        dup = cid.duplicated(keep=False).to_numpy()
        raise ValueError(
            f"{source} (clients): column 'id': {int(dup.sum())} row(s) repeat a client id, e.g. "
            f"{cid[dup].astype(str).unique()[:_SHOW].tolist()}; expected one row per client. "
            f"First offending rows:\n{_rows(clients, dup)}"
        )
