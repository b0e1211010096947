"""The Parquet cohort store and deterministic CSV tables: same data, same bytes.

:func:`write_cohort` / :func:`read_cohort` keep a cohort as ``scores.parquet``,
``clients.parquet`` and ``cohort.json``; :func:`write_table_csv` writes any table (outcomes,
quarantine, report tables) as deterministic CSV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.data.schema import validate_clients, validate_scores
from analysis.registry.instruments import Instrument

__all__ = ["write_table_csv", "write_cohort", "read_cohort"]


def write_table_csv(
    df: pd.DataFrame,
    path: str | Path,
    *,
    float_format: str = "%.6f",
    sort_by: list[str] | None = None,
) -> Path:
    r"""Write a table as deterministic CSV (same frame, same bytes).

    Parameters
    ----------
    df : pandas.DataFrame
        Not modified. The index is not written.
    path : str or Path
        Output file; parent folders are created.
    float_format : str
        printf format of floats (default six decimals, fixed).
    sort_by : list of str, optional
        Columns giving a stable row order (mergesort); default the columns among ``id,
        definition, measure, time`` that exist, else the row order as given.

    Returns
    -------
    pathlib.Path
        The file written (UTF-8, ``\n`` line ends, NaN as an empty cell).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> df = pd.DataFrame({"id": [2, 1], "x": [0.5, 1 / 3]})
    >>> print(write_table_csv(df, p).read_text(), end="")
    id,x
    1,0.333333
    2,0.500000
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    keys = (
        sort_by
        if sort_by is not None
        else [c for c in ("id", "definition", "measure", "time") if c in df.columns]
    )
    out = df.sort_values(keys, kind="mergesort") if keys else df
    out.to_csv(p, index=False, float_format=float_format, lineterminator="\n", encoding="utf-8")
    return p


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, pd.Timestamp):
        return o.isoformat()
    raise TypeError(f"cohort meta value of type {type(o).__name__} is not JSON-serialisable")


_ROW_GROUP = 1 << 20  # rows per Parquet row group: fixed, so the bytes are reproducible


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write in row groups of a fixed size, one slice at a time (bounded memory for 10^7 rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = df.reset_index(drop=True)
    schema = pa.Table.from_pandas(df.iloc[:_ROW_GROUP], preserve_index=False).schema
    with pq.ParquetWriter(path, schema, compression="zstd", write_statistics=False) as writer:
        for lo in range(0, max(len(df), 1), _ROW_GROUP):
            chunk = df.iloc[lo : lo + _ROW_GROUP]
            writer.write_table(pa.Table.from_pandas(chunk, schema=schema, preserve_index=False))


def write_cohort(cohort: Cohort, directory: str | Path) -> Path:
    """Write a cohort as ``scores.parquet``, ``clients.parquet`` and ``cohort.json``.

    Rows are sorted (scores by id, time, measure; clients by id) and the JSON has sorted keys,
    so the same cohort gives the same bytes.

    Parameters
    ----------
    cohort : Cohort
        The cohort to store (not modified); ``meta`` values must be JSON-serialisable (pandas
        Timestamps, paths and numpy scalars are converted).
    directory : str or Path
        Created if absent; the three files are overwritten.

    Returns
    -------
    pathlib.Path
        The directory.

    Raises
    ------
    TypeError
        If ``cohort.meta`` holds a value JSON cannot store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from analysis.data.cohort import Cohort
    >>> scores = pd.DataFrame({"id": ["a", "a", "b"], "time": [1.0, 2.0, 1.0],
    ...                        "measure": "phq9", "score": [14.0, 8.0, 17.0]})
    >>> cohort = Cohort(scores, pd.DataFrame({"id": ["a", "b"]}), name="demo")
    >>> folder = write_cohort(cohort, pathlib.Path(tempfile.mkdtemp()) / "demo")
    >>> sorted(f.name for f in folder.iterdir())
    ['clients.parquet', 'cohort.json', 'scores.parquet']

    The simulated cohort, with the row counts its ``cohort.json`` records:

    >>> import json
    >>> from analysis import load_dataset
    >>> sim = load_dataset("simulated", n_clients=60, seed=1)
    >>> folder = write_cohort(sim, pathlib.Path(tempfile.mkdtemp()) / "sim")
    >>> info = json.loads((folder / "cohort.json").read_text(encoding="utf-8"))
    >>> info["n_clients"], info["n_scores"], info["simulated"], info["meta"]["seed"]
    (60, 3531, True, 1)
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    scores = cohort.scores.sort_values(["id", "time", "measure"], kind="mergesort")
    clients = cohort.clients.sort_values("id", kind="mergesort")
    _write_parquet(scores, d / "scores.parquet")
    _write_parquet(clients, d / "clients.parquet")
    meta = {
        "name": cohort.name,
        "time_unit": cohort.time_unit,
        "simulated": bool(cohort.simulated),
        "description": cohort.description,
        "citation": cohort.citation,
        "meta": cohort.meta,
        "n_clients": int(len(clients)),
        "n_scores": int(len(scores)),
    }
    text = json.dumps(meta, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    (d / "cohort.json").write_text(text + "\n", encoding="utf-8")
    return d


_SCORE_COLUMNS = ("id", "time", "measure", "score")


def _float_column(pf, name: str) -> np.ndarray:
    """One float column of a Parquet file, as float32 where that is lossless.

    Read row group by row group; float32 when every value survives the round trip float64 ->
    float32 -> float64 exactly (NaN included), else float64. Peak memory: the result plus one
    row group, never the whole column twice.
    """
    n = pf.metadata.num_rows
    out = np.empty(n, dtype=np.float32)
    lo = 0
    for i in range(pf.num_row_groups):
        chunk = pf.read_row_group(i, columns=[name]).column(0).to_numpy().astype(float, copy=False)
        if out.dtype == np.float32:
            small = chunk.astype(np.float32)
            same = (small.astype(float) == chunk) | (np.isnan(chunk) & np.isnan(small))
            if not same.all():  # not lossless: float64 from here on (the rows so far widen
                wide = np.empty(n, dtype=float)  # exactly: they were lossless)
                wide[:lo] = out[:lo]
                out = wide
            del small, same
        out[lo : lo + len(chunk)] = chunk
        lo += len(chunk)
    return out


def _read_scores_compact(path: Path) -> pd.DataFrame:
    """``id, time, measure, score`` of a scores file, held small (see :func:`read_cohort`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    absent = [c for c in _SCORE_COLUMNS if c not in names]
    if absent:
        raise ValueError(f"{path}: column(s) {absent} missing (expected {list(_SCORE_COLUMNS)})")
    cols: dict[str, Any] = {}
    for c in ("id", "measure"):  # dictionary-encoded: integer codes and the distinct values
        table = pq.read_table(path, columns=[c], read_dictionary=[c])
        cols[c] = table.column(0).to_pandas()
        del table
    pf = pq.ParquetFile(path)
    for c in ("time", "score"):
        cols[c] = _float_column(pf, c)
    del pf
    # arrow keeps freed buffers in its allocator's arenas: hand them back (10^8 rows: ~0.7 GB)
    pa.default_memory_pool().release_unused()
    return pd.DataFrame({c: cols.pop(c) for c in _SCORE_COLUMNS}, copy=False)


def read_cohort(
    directory: str | Path,
    registry: dict[str, Instrument] | None = None,
    validate: bool = True,
    compact: bool = False,
) -> Cohort:
    """Read a cohort written by :func:`write_cohort` and (by default) validate it.

    Parameters
    ----------
    directory : str or Path
        A folder holding ``scores.parquet``, ``clients.parquet`` and ``cohort.json``.
    registry : dict of str to Instrument, optional
        Instrument registry the scores are checked against (measure codes, ranges in points);
        default :func:`analysis.registry.instruments.load_registry`.
    validate : bool, default True
        ``False`` skips the schema checks, for very large trusted cohorts (e.g. benchmarks).
    compact : bool, default False
        ``True`` holds the scores small (10^6 clients x 12 sessions, 86 M rows: 1.5 instead of
        2.5 GB, read peak 2.1 instead of 4.2 GB): only the columns ``id, time, measure, score``
        (others, e.g. ``date``, are not read), ``id`` and ``measure`` as pandas Categoricals,
        ``time`` and ``score`` as float32 where every value survives the round trip to float32
        exactly (whole points, half points, sessions), else float64. The values are the same;
        :func:`analysis.outcomes.engine.score_definitions` gives the same table.

    Returns
    -------
    Cohort
        The tables as written (scores sorted by id, time, measure; clients by id) with the name,
        time unit, simulated flag, description, citation and ``meta`` of ``cohort.json``.

    Raises
    ------
    FileNotFoundError
        If one of the three files is missing.
    ValueError
        If the tables fail :func:`analysis.data.schema.validate_scores` / ``validate_clients``,
        or (``compact``) the scores file lacks one of ``id, time, measure, score``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from analysis.data.cohort import Cohort
    >>> scores = pd.DataFrame({"id": ["a", "a", "b"], "time": [1.0, 2.0, 1.0],
    ...                        "measure": "phq9", "score": [14.0, 8.0, 17.0]})
    >>> cohort = Cohort(scores, pd.DataFrame({"id": ["a", "b"]}), name="demo")
    >>> folder = write_cohort(cohort, pathlib.Path(tempfile.mkdtemp()) / "demo")
    >>> back = read_cohort(folder)
    >>> back.name, back.n_clients, back.scores["score"].tolist()
    ('demo', 2, [14.0, 8.0, 17.0])

    The simulated cohort comes back unchanged, table for table:

    >>> from analysis import load_dataset
    >>> sim = load_dataset("simulated", n_clients=60, seed=1)
    >>> back = read_cohort(write_cohort(sim, pathlib.Path(tempfile.mkdtemp()) / "sim"))
    >>> back.n_clients, len(back.scores), back.simulated, back.meta["seed"]
    (60, 3531, True, 1)
    >>> back.scores.equals(sim.scores), back.clients.equals(sim.clients)
    (True, True)
    """
    d = Path(directory)
    for f in ("scores.parquet", "clients.parquet", "cohort.json"):
        if not (d / f).is_file():
            raise FileNotFoundError(f"{d / f}: missing (expected a folder written by write_cohort)")
    meta = json.loads((d / "cohort.json").read_text(encoding="utf-8"))
    if compact:
        scores = _read_scores_compact(d / "scores.parquet")
    else:
        scores = pd.read_parquet(d / "scores.parquet")
    clients = pd.read_parquet(d / "clients.parquet")
    if compact:  # arrow keeps the read's buffers in its allocator: hand them back (10^6: 0.1 GB)
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    if validate:
        scores = validate_scores(scores, registry, source=str(d))
        clients = validate_clients(clients, source=str(d))
    return Cohort(
        scores=scores,
        clients=clients,
        name=meta["name"],
        time_unit=meta.get("time_unit", "session"),
        simulated=bool(meta.get("simulated", False)),
        description=meta.get("description", ""),
        citation=meta.get("citation", ""),
        meta=meta.get("meta", {}),
    )
