r"""Readers: a clinic export (CSV, Excel, Parquet, SPSS, Stata) to a Cohort and a Quarantine.

Input is never lost. :func:`read_cohort_file` reads a clinic export (CSV, Excel, Parquet, SPSS
``.sav``, Stata ``.dta``; long or wide) through a declared column mapping (a ``spec``, the YAML-able
mapping a run configuration carries) and splits the score records into those kept (a validated
:class:`~analysis.data.cohort.Cohort`) and those quarantined (a :class:`Quarantine`, each with its
source row number and a reason). The account ``rows_in = rows_kept + rows_quarantined`` always
holds.

A *record* is one score: in a long file one line; in a wide file one line x one score column (every
cell of an unmapped column is a record too, quarantined as ``unmapped_column``). The *row* reported
for a record is the line in a CSV file (the header is line 1), the row in the Excel sheet, or the
1-based record number in Parquet, SPSS and Stata files (which have no lines). Lines are physical:
a quoted value holding a line break (an Excel note typed with Alt+Enter) spans two lines, and the
next record's row counts both.

CSV files are read as they come: the encoding is detected (UTF-8 strictly, with or without a
byte order mark, else cp1252, the Windows/Excel default in Western Europe) or given; a file whose
first lines are UTF-8 with non-ASCII characters but a later line is not (mixed encodings) stops
with an error naming that line and byte rather than garbling every earlier character. The delimiter
is sniffed (comma, semicolon, tab, pipe) or given, and numbers may use a decimal comma (a
semicolon file, the European Excel default, accepts ``12,5`` unless ``decimal`` says otherwise).
What was used is part of the row account (:attr:`Quarantine.reading`). A header that repeats a
column name, a file with no data rows, and client data that disagree between rows or fall
outside the recode map stop with an error naming the file, the lines and the values.

Spec keys (all optional but ``path``)::

    path: data/clinic.csv        # relative paths resolve against the project root
                                 #   (analysis.registry.paths.project_root())
    format: csv                  # csv, excel, parquet, spss, stata; inferred from the suffix
    encoding: cp1252             # CSV: utf-8, utf-8-sig, cp1252, latin-1, utf-16; default
                                 #   detected (UTF-16 by its byte order mark: Excel's
                                 #   "Unicode text")
    sep: ";"                     # CSV: delimiter (one character or 'tab'); default sniffed
    decimal: ","                 # decimal mark of scores and times: '.' or ','; default '.'
                                 #   (a semicolon file accepts both unless this is given)
    instruments: my_instruments.yaml   # user instrument file(s) adding measure codes
                                 #   (see analysis.registry.instruments; relative to the
                                 #   project root)
    layout: long                 # long | wide
    sheet: Sheet1                # Excel sheet name or 0-based index
    header_row: 1                # line (CSV) or sheet row (Excel) holding the header, 1-based
    columns: {id: client, time: session, measure: questionnaire, score: total, date: date}
    measure: phq9                # long file holding one measure and no measure column (a
                                 #   'measure' column saying otherwise stops the read)
    scores: {phq9: PHQ9_total, gad7: GAD7_total}   # long file with one score column per measure
    scores: {bai: {mean_of: [p1, p2, p3], min_present: 3}}   # a score that is the mean of
                                 #   columns (of those present, when at least min_present are;
                                 #   default all)
    measure_map: {PHQ9: phq9}    # recode measure labels to registry codes
    time_map: {pre: 0, 2m: 2}    # recode time labels to numbers
    wide: {bdi.pre: {measure: bdi2, time: 0}, ...}            # explicit wide mapping, or
    wide: {pattern: '^(?P<measure>phq9)_s(?P<time>\d+)$'}    # regex with named groups
    ignore: [age, sex]           # columns of a wide file that are neither scores nor client data
    ignore_pattern: '\.rater$'
    clients: {path: clients.csv, columns: {arm: group, therapist: th}, recode: {arm: {1: CBT}}}
                                 # id: the client file's id column (default: the scores
                                 #   mapping's id column, else 'id'); encoding, sep as above;
                                 # on_conflict: error (default) | quarantine: a client whose arm,
                                 #   therapist... differ between rows, or a code outside the
                                 #   recode map, stops the read, or sets that client's records
                                 #   aside as invalid_client_data
    time_unit: session           # session | week | month
    name: clinic_a
    description: "..."
    citation: "..."
    na_values: ["-99", "missing"]  # further codes for a missing value, added to DEFAULT_NA
                                 #   (an empty cell always marks a missing assessment)
    date_format: "%d.%m.%Y"      # default ISO 8601 (no silent day/month guessing)


The quarantine is :mod:`analysis.data.quarantine`; the Parquet cohort store and the CSV
writer are :mod:`analysis.data.store`. The command line ``python -m analysis validate`` is
:mod:`analysis.run.validate`.
"""

from __future__ import annotations

import csv
import hashlib
import io as io_mod
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.data.quarantine import Quarantine
from analysis.data.schema import validate_clients, validate_scores
from analysis.registry.config import load_yaml
from analysis.registry.instruments import Instrument, load_registry
from analysis.registry.paths import resolve_path

__all__ = [
    "FORMATS",
    "TIME_UNITS",
    "DEFAULT_NA",
    "load_spec",
    "read_table",
    "read_cohort_file",
]

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".sav": "spss",
    ".zsav": "spss",
    ".dta": "stata",
}
TIME_UNITS = ("session", "week", "month")
DEFAULT_NA = ("", "NA", "N/A", "NaN", "nan", "#NULL!", "NULL", "None")
_SPEC_KEYS = {
    "path", "format", "layout", "sheet", "header_row", "columns", "measure", "scores",
    "measure_map", "time_map", "wide", "ignore", "ignore_pattern", "clients", "time_unit", "name",
    "description", "citation", "na_values", "date_format", "items", "encoding", "sep", "decimal",
    "instruments",
}  # fmt: skip
_CLIENT_KEYS = {
    "path", "format", "sheet", "header_row", "columns", "recode", "id", "encoding", "sep",
    "on_conflict",
}  # fmt: skip
_DECIMALS = (".", ",")


# ---------------------------------------------------------------------------------------------
# spec and paths


def load_spec(path: str | Path) -> dict[str, Any]:
    """Read a reader spec from YAML (a mapping; see the module docstring for its keys).

    Raises
    ------
    ValueError
        If the file does not hold a mapping.
    """
    return load_yaml(path, what="reader spec")


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise ValueError(f"format must be one of {sorted(set(FORMATS.values()))}, got {fmt!r}")
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ValueError(
            f"{path}: cannot infer the format from the suffix {path.suffix!r}; set 'format' to one "
            f"of {sorted(set(FORMATS.values()))}"
        ) from None


# ---------------------------------------------------------------------------------------------
# raw tables


ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16")
#: File signatures of workbooks that are sometimes renamed .csv by hand.
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive (an Excel .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an OLE2 file (an Excel 97-2003 .xls workbook?)",
}
#: Delimiters the sniffer chooses among (comma, semicolon, tab, pipe).
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024


def _decode(raw: bytes, p: Path, encoding: str | None) -> tuple[str, str, str]:
    """Decode a file's bytes: the given encoding strictly, else UTF-8 strictly, else cp1252.

    Returns the text, the encoding used and a note (how it was chosen).
    """

    def where(err: UnicodeDecodeError) -> str:
        line = raw.count(b"\n", 0, err.start) + 1
        col = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        return f"line {line}, byte {col} (0x{raw[err.start]:02x})"

    if not encoding and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):  # Excel's 'Unicode text'
        try:
            return raw.decode("utf-16"), "utf-16", "detected (UTF-16 byte order mark)"
        except UnicodeDecodeError:
            pass  # not UTF-16 after all: the checks below name the problem
    head = raw[:_SNIFF_CHARS]
    kind = next((k for sig, k in _BINARY_SIGNATURES.items() if raw.startswith(sig)), None)
    if kind or (b"\x00" in head and not (encoding and "16" in str(encoding))):
        nul = head.find(b"\x00")
        line = head.count(b"\n", 0, max(nul, 0)) + 1
        raise ValueError(
            f"{p}: not a text (CSV) file: "
            + (
                f"it is {kind} renamed {p.suffix or 'without a suffix'}; give format: excel "
                "(or rename it .xlsx/.xls)"
                if kind
                else f"line {line} holds NUL bytes (UTF-16 text without a byte order mark, or "
                "a binary file); re-save it as CSV UTF-8"
            )
        )
    if encoding:
        enc = str(encoding).lower().replace("_", "-")
        if enc in ("latin1", "iso-8859-1", "iso8859-1"):
            enc = "latin-1"
        if enc in ("windows-1252",):
            enc = "cp1252"
        if enc not in ENCODINGS:
            raise ValueError(f"{p}: encoding must be one of {list(ENCODINGS)}, got {encoding!r}")
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{p}: {where(err)} is not valid {enc} (encoding given in the spec); the file is "
                "in another encoding: try encoding: cp1252 (Windows/Excel in Western Europe) or "
                "remove 'encoding' to detect it"
            ) from None
        if enc == "utf-8" and text.startswith("\ufeff"):
            text, enc = text[1:], "utf-8-sig"
        return text, enc, "given"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        # The bytes before the failing line are valid UTF-8 (the error is the first one); if they
        # hold multi-byte characters, the file was written as UTF-8 and only a later part is in
        # another encoding (e.g. one Latin-1 line appended to a UTF-8 export). Reading it all as
        # cp1252 would garble every earlier non-ASCII character, so stop instead.
        line_start = raw.rfind(b"\n", 0, err.start) + 1
        before = raw[:line_start]
        if any(b >= 0x80 for b in before):
            first = next(i for i, b in enumerate(before) if b >= 0x80)
            first_line = before.count(b"\n", 0, first) + 1
            raise ValueError(
                f"{p}: {where(err)} is not valid UTF-8, but the lines before it are UTF-8 with "
                f"non-ASCII characters (first at line {first_line}): the file mixes encodings. "
                "Re-save the whole file as UTF-8 (e.g. in Excel: 'CSV UTF-8'), or give "
                "encoding: cp1252 / latin-1 in the spec if the file is really in that encoding "
                "(its UTF-8 characters will then be read as two or three characters each)"
            ) from None
        try:
            return raw.decode("cp1252"), "cp1252", f"detected: not valid UTF-8 at {where(err)}"
        except UnicodeDecodeError:
            return raw.decode("latin-1"), "latin-1", f"detected: not valid UTF-8 at {where(err)}"
    if text.startswith("\ufeff"):
        return text[1:], "utf-8-sig", "detected (byte order mark)"
    return text, "utf-8", "detected"


def _sniff(text: str, p: Path) -> tuple[str, str]:
    """The delimiter of a CSV text, and a note saying how it was found.

    csv.Sniffer on a sample, else the most frequent candidate in the first line.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS:  # whole lines only
        sample = sample[: sample.rfind("\n") + 1] or sample
    try:
        d = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
        if d in DELIMITERS:
            return d, "sniffed"
    except csv.Error:
        pass
    first = sample.split("\n", 1)[0]
    counts = {d: first.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 0:
        return ",", "default (one column only?)"
    return best, "guessed from the header line"


def _show_sep(sep: str) -> str:
    return {"\t": "tab", ",": "',' (comma)", ";": "';' (semicolon)", "|": "'|' (pipe)"}.get(
        sep, repr(sep)
    )


def _read_csv(
    p: Path, header_row: int, encoding: str | None, sep: str | None
) -> tuple[pd.DataFrame, pd.Series, dict[str, Any]]:
    """Parse a CSV with Python's csv module, keeping the line on which each record starts.

    Every value is text; the line is PHYSICAL (a quoted line break inside a value counts).
    """
    text, enc, enc_how = _decode(p.read_bytes(), p, encoding)
    if sep is None:
        if p.suffix.lower() == ".tsv":
            sep, sep_how = "\t", "from the .tsv suffix"
        else:
            sep, sep_how = _sniff(text, p)
    else:
        sep = {"tab": "\t", "\\t": "\t"}.get(str(sep), str(sep))
        if len(sep) != 1:
            raise ValueError(f"{p}: sep must be one character (or 'tab'), got {sep!r}")
        sep_how = "given"
    info = {
        "encoding": f"{enc} ({enc_how})",
        "delimiter": f"{_show_sep(sep)} ({sep_how})",
    }
    if '"' not in text and "\r" not in text.replace("\r\n", "\n"):
        # no quoting, so one record per line: pandas' C parser, ten times faster
        try:
            raw = pd.read_csv(
                io_mod.StringIO(text),
                sep=sep,
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                skiprows=header_row - 1,
                engine="c",
            )
        except pd.errors.EmptyDataError:
            raw = None
        except pd.errors.ParserError:
            raw = False  # a line with too many fields: the csv module below names it
        if raw is None:
            raise ValueError(f"{p}: the file has no header line (expected on line {header_row})")
        if raw is not False:
            names = _header_names(raw.iloc[0].tolist(), p, f"line {header_row}")
            data = raw.iloc[1:].reset_index(drop=True).fillna("")
            data.columns = names
            rows = pd.Series(np.arange(len(data)) + header_row + 1, dtype=int)
            return data, rows, info
    reader = csv.reader(io_mod.StringIO(text, newline=""), delimiter=sep, strict=True)
    header: list[str] | None = None
    records: list[list[str]] = []
    starts: list[int] = []
    last = 0
    try:
        for fields in reader:
            start, last = last + 1, reader.line_num
            if start < header_row:
                continue
            if header is None:
                if start != header_row:  # the header row is inside a multi-line record
                    raise ValueError(
                        f"{p}: line {header_row} (header_row) is inside a quoted value that starts "
                        f"on line {start}"
                    )
                header = fields
                continue
            if not fields:
                fields = [""] * len(header)
            elif len(fields) > len(header):
                extra = fields[len(header) :]
                if any(v.strip() for v in extra):
                    raise ValueError(
                        f"{p}: line {start} has {len(fields)} fields but the header (line "
                        f"{header_row}) has {len(header)} (delimiter {_show_sep(sep)}, "
                        f"{sep_how}); the first extra value is {extra[0]!r} in field "
                        f"{len(header) + 1}. Quote values that contain the delimiter, or set "
                        "'sep' in the spec"
                    )
                fields = fields[: len(header)]
            elif len(fields) < len(header):
                fields = fields + [""] * (len(header) - len(fields))
            records.append(fields)
            starts.append(start)
    except csv.Error as err:
        raise ValueError(
            f"{p}: line {reader.line_num}: cannot be parsed with delimiter {_show_sep(sep)} "
            f"({sep_how}): {err} (an unclosed quote?)"
        ) from None
    if header is None:
        raise ValueError(f"{p}: the file has no header line (expected on line {header_row})")
    names = _header_names(header, p, f"line {header_row}")
    data = pd.DataFrame(records, columns=range(len(names)), dtype=object)
    data.columns = names
    return data, pd.Series(starts, dtype=int), info


def _header_names(raw: list[Any], p: Path, where: str) -> list[str]:
    """Column names as written, stripped.

    A blank name becomes '(unnamed column N)'; duplicate names stop with an error naming them and
    their positions (pandas would rename them).
    """
    names = []
    for i, v in enumerate(raw, 1):
        t = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
        names.append(t or f"(unnamed column {i})")
    pos: dict[str, list[int]] = {}
    for i, n in enumerate(names, 1):
        pos.setdefault(n, []).append(i)
    dup = {n: ix for n, ix in pos.items() if len(ix) > 1}
    if dup:
        shown = "; ".join(
            f"{n!r} in columns {', '.join(f'{i} ({_col_letter(i)})' for i in ix)}"
            for n, ix in dup.items()
        )
        raise ValueError(
            f"{p}: duplicate column name(s) in the header ({where}): {shown}. Each column needs "
            "its own name (a second score column would otherwise be silently ignored); rename "
            "them, or set header_row if the header spans several rows"
        )
    return names


def _excel_error_cells(raw: pd.DataFrame, p: Path, sheet: str | int | None, skip: int):
    """Excel error cells (#DIV/0!, #VALUE!, #REF!, #N/A) as their text, not as empty cells.

    pandas reads an error cell as NaN, which the reader would take for an empty cell, i.e. a
    missing assessment: a score whose formula failed would vanish from the row account. With
    ``keep_default_na=False`` an empty cell reads as ``""``, so a NaN here is an error cell; its
    code is read back with openpyxl where it can be (xlsx, xlsm), else ``#ERROR`` stands for it,
    and the record is then quarantined (a non-numeric score naming the code).
    """
    err = raw.isna()
    if not err.to_numpy().any():
        return raw
    raw = raw.astype(object).where(~err, "#ERROR (an Excel error cell)")
    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        return raw
    try:
        import openpyxl

        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        try:
            ws = wb[sheet] if isinstance(sheet, str) else wb.worksheets[sheet or 0]
            codes = {}
            for r, c in zip(*np.nonzero(err.to_numpy()), strict=True):
                cell = ws.cell(row=int(r) + skip + 1, column=int(c) + 1)
                if cell.data_type == "e" and cell.value:
                    codes[(int(r), int(c))] = f"{cell.value} (an Excel error cell)"
        finally:
            wb.close()
    except Exception:  # the generic marker stays; the record is quarantined either way
        return raw
    for (r, c), code in codes.items():
        raw.iat[r, c] = code
    return raw


def _col_letter(i: int) -> str:
    """Spreadsheet column letter of a 1-based position (1 -> A, 27 -> AA)."""
    out = ""
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def read_table(
    path: str | Path,
    fmt: str | None = None,
    *,
    sheet: str | int | None = None,
    header_row: int = 1,
    label_columns: list[str] | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    info: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.Series, dict[str, dict[Any, str]]]:
    r"""Read one table as raw values with the source row number of every row.

    Parameters
    ----------
    path : str or Path
        The file (already resolved).
    fmt : {"csv", "excel", "parquet", "spss", "stata"}, optional
        Inferred from the suffix when absent.
    sheet : str or int, optional
        Excel sheet (name or 0-based index; default the first).
    header_row : int
        1-based line (CSV) or sheet row (Excel) holding the column names; rows above are skipped.
    label_columns : list of str, optional
        SPSS/Stata columns whose value labels replace the codes (e.g. ``arm``: 1 -> "CBT").
        Other columns keep their codes; their labels are returned.
    encoding : {"utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"}, optional
        CSV only. Default: detected, UTF-16 when the file starts with its byte order mark
        (Excel's "Unicode text"), UTF-8 (with or without a byte order mark) when the bytes are
        valid UTF-8, else cp1252 (Windows and Excel in Western Europe; latin-1 for the few bytes
        cp1252 leaves undefined). Detection stops with ``ValueError`` when the lines before the
        first invalid byte are UTF-8 with non-ASCII characters (a file mixing encodings), and
        when the file is not text: a workbook renamed ``.csv``, or NUL bytes (UTF-16 without a
        byte order mark).
    sep : str, optional
        CSV only: the delimiter (one character, or ``"tab"``). Default: sniffed among comma,
        semicolon, tab and pipe (:class:`csv.Sniffer` on the first 64 KiB; tab for ``.tsv``).
    info : dict, optional
        Filled with how the file was read (``encoding``, ``delimiter``; CSV only), for the row
        account.

    Returns
    -------
    data : pandas.DataFrame
        CSV and Excel cells as text or as stored (``dtype=object``, nothing parsed yet); Parquet,
        SPSS and Stata as stored. SPSS user-defined missing values are read as NaN (missing).
    rows : pandas.Series of int
        Source row number of each row: the PHYSICAL line on which a CSV record starts (the
        header is line ``header_row``; a quoted value with a line break spans several lines, as
        an Excel note with Alt+Enter does), the sheet row in Excel, the 1-based record number in
        Parquet, SPSS and Stata.
    labels : dict
        Value labels per column (SPSS/Stata; empty otherwise).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it cannot be parsed or its header repeats a column name. The message names the file
        and, where known, the line, the column and the delimiter.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = f.write_bytes('id;note;score\n1;"two\nlines";12,5\n2;Müller;8\n'.encode("cp1252"))
    >>> data, rows, _ = read_table(f, info=(how := {}))
    >>> rows.tolist(), data.loc[1, "note"], how["encoding"]
    ([2, 4], 'Müller', 'cp1252 (detected: not valid UTF-8 at line 4, byte 4 (0xfc))')
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    fmt = _format_of(p, fmt)
    if int(header_row) < 1:
        raise ValueError(f"{p}: header_row is 1-based, got {header_row}")
    if fmt != "csv" and (encoding or sep):
        raise ValueError(f"{p}: 'encoding' and 'sep' apply to CSV files only (this is {fmt})")
    header_row = int(header_row)
    skip = header_row - 1
    labels: dict[str, dict[Any, str]] = {}
    how: dict[str, Any] = {}
    if fmt == "csv":
        data, rows, how = _read_csv(p, header_row, encoding, sep)
        if info is not None:
            info.update(how)
        return data, rows, labels
    try:
        if fmt == "excel":
            raw = pd.read_excel(
                p,
                sheet_name=0 if sheet is None else sheet,
                header=None,
                skiprows=skip,
                dtype=object,
                keep_default_na=False,
            )
            if raw.empty:
                raise ValueError(
                    f"sheet {sheet or 0} has no header row (expected row {header_row})"
                )
            names = _header_names(raw.iloc[0].tolist(), p, f"sheet row {header_row}")
            raw = _excel_error_cells(raw, p, sheet, skip)
            data = raw.iloc[1:].reset_index(drop=True)
            data.columns = names
            rows = pd.Series(np.arange(len(data)) + header_row + 1, index=data.index)
        elif fmt == "parquet":
            data = pd.read_parquet(p)
            rows = pd.Series(np.arange(len(data)) + 1, index=data.index)
        else:
            import pyreadstat

            reader = pyreadstat.read_sav if fmt == "spss" else pyreadstat.read_dta
            data, meta = reader(str(p), user_missing=False)
            labels = {
                c: dict(meta.variable_value_labels[c])
                for c in data.columns
                if c in meta.variable_value_labels
            }
            for c in label_columns or []:
                if c in labels:
                    data[c] = data[c].map(lambda v, lab=labels[c]: lab.get(v, v))
            rows = pd.Series(np.arange(len(data)) + 1, index=data.index)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as err:
        msg = str(err)
        if msg.startswith(str(p)):
            raise ValueError(msg) from None
        raise ValueError(f"{p}: cannot be read as {fmt}: {err}") from None
    except Exception as err:  # pyreadstat and openpyxl raise their own types
        raise ValueError(f"{p}: cannot be read as {fmt}: {type(err).__name__}: {err}") from None
    data = data.reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    if fmt != "excel":
        data.columns = _header_names(list(data.columns), p, "column names")
    return data, rows, labels


# ---------------------------------------------------------------------------------------------
# records and validation


def _blank(s: pd.Series, na: tuple[str, ...]) -> pd.Series:
    return s.isna() | s.astype(str).str.strip().isin(na)


def _text(s: pd.Series) -> pd.Series:
    """Raw values as text for messages (integers without '.0')."""

    def one(v: Any) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    return s.map(one).astype(object)


def _recode(s: pd.Series, mapping: dict | None) -> pd.Series:
    if not mapping:
        return s
    m = {str(k): v for k, v in mapping.items()}
    t = _text(s)
    return t.map(lambda v: m.get(v, v)).where(~s.isna(), s)


_COMMA_NUMBER = re.compile(r"^\s*[+-]?\d*,\d+\s*$")


def _to_number(s: pd.Series, decimal: str) -> pd.Series:
    """Numbers from raw cells.

    ``decimal`` is ``"."``, ``","`` (strict: a value with a ``.`` is not a number) or
    ``"auto"`` (a semicolon file without ``decimal``: ``12,5`` and ``12.5`` are
    both read as 12.5).
    """
    if decimal == "." or s.empty:
        return pd.to_numeric(s, errors="coerce")
    txt = s.map(lambda v: v if isinstance(v, str) else None)
    is_txt = txt.notna()
    if decimal == ",":
        fixed = txt.where(~txt.str.contains(".", regex=False, na=False), "not a number")
        fixed = fixed.str.replace(",", ".", regex=False)
    else:  # auto
        fixed = txt.where(~txt.str.match(_COMMA_NUMBER, na=False), txt.str.replace(",", "."))
    return pd.to_numeric(s.where(~is_txt, fixed), errors="coerce")


def _records_long(data, rows, spec, na, decimal: str = ".") -> pd.DataFrame:
    cols = dict(spec.get("columns") or {})
    if "date" not in cols and "date" in data.columns:
        cols["date"] = "date"
    idc = cols.get("id", "id")
    timec = cols.get("time", "time")
    need = [idc, timec]
    scores = spec.get("scores")
    min_present: dict[str, int] = {}
    if scores:
        measure_cols = {}
        for m, c in scores.items():
            if isinstance(c, dict):
                parts = c.get("mean_of")
                mp = c.get("min_present", len(parts) if isinstance(parts, list) else 0)
                if (
                    not set(c) <= {"mean_of", "min_present"}
                    or not isinstance(parts, list)
                    or not parts
                    or not isinstance(mp, int)
                    or not 1 <= mp <= len(parts)
                ):
                    raise ValueError(
                        f"scores.{m}: a composite score is {{mean_of: [column, ...], "
                        f"min_present: n}} (1 <= n <= number of columns), got {c!r}"
                    )
                measure_cols[str(m)] = [str(x) for x in parts]
                min_present[str(m)] = mp
            else:
                measure_cols[str(m)] = str(c)
    else:
        scorec = cols.get("score", "score")
        need.append(scorec)
        if "measure" not in spec:
            need.append(cols.get("measure", "measure"))
    if scores:
        for c in measure_cols.values():
            need += c if isinstance(c, list) else [c]
    if cols.get("date"):
        need.append(cols["date"])
    missing = [c for c in need if c not in data.columns]
    if missing:
        where = (
            "named in the spec"
            if spec.get("columns") or scores
            else "expected by default (no 'columns:' mapping given)"
        )
        raise ValueError(
            f"column(s) {missing} {where} are not in the file; found {list(data.columns)}"
        )
    empty = data.apply(lambda c: _blank(c, na)).all(axis=1)
    base = pd.DataFrame(
        {
            "row": rows.to_numpy(),
            "id": data[idc].to_numpy(),
            "time": data[timec].to_numpy(),
            "date": data[cols["date"]].to_numpy() if cols.get("date") else None,
            "empty": empty.to_numpy(),
        }
    )
    if not scores:
        if "measure" in spec and "measure" in data.columns:
            _check_constant_measure(data["measure"], rows, spec, na)
        out = base.assign(
            column=str(scorec),
            value=data[scorec].to_numpy(),
            measure=spec["measure"] if "measure" in spec else data[cols.get("measure", "measure")],
        )
        return out
    parts = [
        base.assign(column=c, value=data[c].to_numpy(), measure=m)
        if isinstance(c, str)
        else base.assign(
            column=",".join(c), measure=m, **_mean_of(data, c, na, decimal, min_present[m])
        )
        for m, c in measure_cols.items()
    ]
    return pd.concat(parts, ignore_index=True)


def _check_constant_measure(col: pd.Series, rows: pd.Series, spec: dict, na) -> None:
    """A constant ``measure`` must not relabel a file whose own ``measure`` column says otherwise.

    The spec's ``measure`` is for a file holding one measure and no measure column; a file that
    has a column named ``measure`` holding another code (PHQ-9 scores read with ``measure:
    gad7``) would otherwise be relabelled silently.
    """
    given = str(spec["measure"])
    mapped = _text(_recode(col.astype(object), spec.get("measure_map")))
    other = ~_blank(col, na) & mapped.ne(given)
    if other.any():
        i = int(np.flatnonzero(other.to_numpy())[0])
        raise ValueError(
            f"the spec says measure: {given!r} for every score, but the file's column 'measure' "
            f"holds {col.iloc[i]!r} at line/row {int(rows.iloc[i])} "
            f"({int(other.sum())} record(s) differ); map that column with columns: {{measure: "
            "measure} (and measure_map), or remove 'measure' from the spec"
        )


def _mean_of(
    data: pd.DataFrame, cols: list[str], na, decimal: str, min_present: int
) -> dict[str, np.ndarray]:
    """Mean of several columns per line.

    Over the parts present when at least ``min_present`` are (default all). Every part blank: a
    missing assessment (NaN); fewer than ``min_present``
    present: missing too, counted in the account's notes; a value that is not a number: the
    record keeps its raw text, so it is quarantined as ``non_numeric_score`` naming it.
    """
    blank = pd.DataFrame({c: _blank(data[c], na) for c in cols})
    num = pd.DataFrame({c: _to_number(data[c].where(~blank[c]), decimal) for c in cols})
    bad = num.isna() & ~blank
    present = num.notna().sum(axis=1)
    out = num.mean(axis=1, skipna=True).where(present >= min_present).astype(object)
    if bad.any().any():
        first_bad = bad.idxmax(axis=1)
        rows_bad = bad.any(axis=1)
        out[rows_bad] = [f"{data.at[i, c]} (column {c})" for i, c in first_bad[rows_bad].items()]
    out[blank.all(axis=1)] = ""
    incomplete = (present < min_present) & ~blank.all(axis=1) & ~bad.any(axis=1)
    return {"value": out.to_numpy(), "incomplete": incomplete.to_numpy()}


def _wide_map(columns: list[str], spec: dict) -> dict[str, tuple[Any, Any]]:
    wide = spec.get("wide")
    if not isinstance(wide, dict) or not wide:
        raise ValueError("layout 'wide' needs 'wide': a column mapping or {pattern: regex}")
    if "pattern" in wide:
        rx = re.compile(str(wide["pattern"]))
        if "time" not in rx.groupindex or (
            "measure" not in rx.groupindex and "measure" not in spec
        ):
            raise ValueError(
                "wide.pattern needs named groups (?P<time>...) and (?P<measure>...) (or a "
                "constant 'measure' in the spec)"
            )
        out = {}
        for c in columns:
            m = rx.fullmatch(c)
            if m:
                gd = m.groupdict()
                out[c] = (gd.get("measure") or spec.get("measure"), gd["time"])
        if not out:
            raise ValueError(f"wide.pattern {wide['pattern']!r} matches no column of {columns}")
        return out
    out = {}
    for c, target in wide.items():
        if not isinstance(target, dict) or "time" not in target:
            raise ValueError(f"wide mapping for column {c!r} needs {{measure, time}}, got {target}")
        if str(c) not in columns:
            raise ValueError(f"wide mapping names column {c!r}, which is not in the file")
        out[str(c)] = (target.get("measure", spec.get("measure")), target["time"])
    return out


def _records_wide(data, rows, spec, na, client_cols: list[str]) -> pd.DataFrame:
    cols = dict(spec.get("columns") or {})
    idc = cols.get("id", "id")
    if idc not in data.columns:
        raise ValueError(f"id column {idc!r} is not in the file; found {list(data.columns)}")
    mapping = _wide_map([c for c in data.columns if c != idc], spec)
    ignore = set(map(str, spec.get("ignore") or []))
    ign_rx = re.compile(spec["ignore_pattern"]) if spec.get("ignore_pattern") else None
    skip = {idc, *client_cols, *ignore, *mapping}
    unmapped = [c for c in data.columns if c not in skip and not (ign_rx and ign_rx.search(c))]
    empty = data.apply(lambda c: _blank(c, na)).all(axis=1).to_numpy()
    parts = []
    for c in list(mapping) + unmapped:
        measure, time = mapping.get(c, (None, None))
        parts.append(
            pd.DataFrame(
                {
                    "row": rows.to_numpy(),
                    "id": data[idc].to_numpy(),
                    "time": time,
                    "date": None,
                    "empty": empty,
                    "column": c,
                    "value": data[c].to_numpy(),
                    "measure": measure,
                    "unmapped": c not in mapping,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _validate_records(
    rec: pd.DataFrame,
    *,
    registry: dict[str, Instrument],
    spec: dict,
    na: tuple[str, ...],
    labels: dict[str, dict[Any, str]],
    client_ids: pd.Index | None,
    source: str,
    decimal: str = ".",
    bad_clients: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    time_unit = spec.get("time_unit", "session")
    rec = rec.copy()
    if "unmapped" not in rec:
        rec["unmapped"] = False
    rec["measure"] = _recode(rec["measure"].astype(object), spec.get("measure_map"))
    rec["time"] = _recode(rec["time"].astype(object), spec.get("time_map"))
    id_blank = _blank(rec["id"], na)
    id_txt = _text(rec["id"])
    meas_txt = _text(rec["measure"])
    known = meas_txt.isin(list(registry))
    t_blank = _blank(rec["time"], na)
    t_num = _to_number(rec["time"].where(~t_blank), decimal)
    # inf, 1e308 weeks: not a time point (a float overflow or a typing slip, never a session)
    t_bad = t_num.isna() | (t_num < 0) | ~np.isfinite(t_num.fillna(0).astype(float))
    if time_unit == "session":
        t_bad |= t_num.notna() & (t_num % 1 != 0)
    v_blank = _blank(rec["value"], na)
    v_num = _to_number(rec["value"].where(~v_blank), decimal)
    v_nonnum = v_num.isna() & ~v_blank
    lo = meas_txt.map({k: v.min for k, v in registry.items()})
    hi = meas_txt.map({k: v.max for k, v in registry.items()})
    v_oor = v_num.notna() & known & ((v_num < lo) | (v_num > hi))
    # A fractional total of an instrument scored in whole points (registry ``integer: true``) is
    # not a value the instrument can produce. Exempt: totals this package computed itself, from
    # items (a prorated total may be fractional by design, see analysis.data.items) or as a
    # mean of several columns (``mean_of``).
    whole = meas_txt.map({k: bool(v.integer) for k, v in registry.items()}).eq(True)
    derived = pd.Series(False, index=rec.index)
    for col in ("items_bad", "incomplete"):  # set only on item-scored / mean_of records
        if col in rec:
            derived |= rec[col].notna()
    v_frac = v_num.notna() & known & whole & ~derived & ((v_num - v_num.round()).abs() > 1e-9)
    if "date" in rec and rec["date"].notna().any():
        d_blank = _blank(rec["date"], na)
        fmt = spec.get("date_format") or "ISO8601"
        d_val = pd.to_datetime(
            rec["date"]
            .where(~d_blank)
            .astype(object)
            .map(lambda v: v if isinstance(v, pd.Timestamp) or v is None else str(v)),
            format=fmt,
            errors="coerce",
        )
        d_bad = d_val.isna() & ~d_blank
    else:
        d_val = pd.Series(pd.NaT, index=rec.index)
        d_bad = pd.Series(False, index=rec.index)
    items_bad = rec.get("items_bad", pd.Series("", index=rec.index)).ne("")
    unknown_client = (
        ~id_txt.isin(client_ids) if client_ids is not None else pd.Series(False, index=rec.index)
    )
    conds = {
        "empty_row": rec["empty"].astype(bool),
        "missing_id": id_blank,
        "unmapped_column": rec["unmapped"].astype(bool),
        "unknown_measure": ~known,
        "invalid_time": t_bad,
        "non_numeric_score": v_nonnum,
        "out_of_range": v_oor,
        "non_integer_score": v_frac,
        "invalid_items": items_bad,
        "unparseable_date": d_bad,
        "invalid_client_data": id_txt.isin(list(bad_clients or {})),
        "unknown_client": unknown_client,
    }
    reason = pd.Series(
        np.select(list(conds.values()), list(conds), default=""), index=rec.index, dtype=object
    )
    # duplicates among otherwise valid records: identical repeats keep the first; conflicts none
    ok = reason.eq("")
    key = pd.DataFrame({"id": id_txt, "time": t_num, "measure": meas_txt})[ok]
    dup = key.duplicated(keep=False)
    if dup.any():
        grp = key[dup].groupby(["id", "time", "measure"], sort=False)
        vals = v_num[ok][dup].fillna(-np.inf)
        same = (
            vals.groupby([key[dup]["id"], key[dup]["time"], key[dup]["measure"]])
            .transform("nunique")
            .eq(1)
        )
        first_row = grp.ngroup().map(rec.loc[key[dup].index, "row"].groupby(grp.ngroup()).min())
        rows_list = grp.ngroup().map(
            rec.loc[key[dup].index, "row"]
            .groupby(grp.ngroup())
            .agg(lambda r: ", ".join(map(str, sorted(r))))
        )
        is_first = ~key[dup].duplicated(keep="first")
        drop = (~same) | (~is_first)
        reason[drop[drop].index] = "duplicate"
        dup_detail = pd.Series(
            np.where(
                same,
                "exact repeat of the record at row " + first_row.astype(str) + " (that one kept)",
                "conflicting scores for this client x time x measure at rows "
                + rows_list
                + "; none kept",
            ),
            index=key[dup].index,
        )
    else:
        dup_detail = pd.Series(dtype=object)
    q = reason.ne("")
    # details
    vt = _text(rec["value"])
    unit = {"session": "session number", "week": "week", "month": "month"}[time_unit]
    label_txt = pd.Series("", index=rec.index, dtype=object)
    for col, lab in labels.items():
        sel = rec["column"].eq(col) & v_num.notna()
        if sel.any():
            lt = v_num[sel].map(lambda v, lab=lab: lab.get(v, lab.get(int(v), None)))
            label_txt[sel] = lt.map(lambda s: f" (value label {s!r})" if s is not None else "")
    t_txt = _text(rec["time"])
    details = {
        "empty_row": pd.Series("blank line", index=rec.index),
        "missing_id": pd.Series("client id is empty", index=rec.index),
        "unmapped_column": "column '" + rec["column"].astype(str) + "' is not mapped to a measure "
        "and time (add it to 'wide' or 'ignore')",
        "unknown_measure": "'"
        + meas_txt
        + "' is not a registry code"
        + meas_txt.map(lambda m: _measure_hint(m, registry))
        + " (known: "
        + ", ".join(sorted(registry))
        + "); an instrument of your own: add its entry and name the file under 'instruments:' "
        "in the spec or runs file (README, Your own data)",
        "invalid_time": pd.Series(
            np.where(
                t_num.isna(),
                "time '" + t_txt + "' is not a number",
                np.where(
                    t_num < 0,
                    f"{unit} " + t_txt + " is negative",
                    np.where(
                        ~np.isfinite(t_num.fillna(0).astype(float)),
                        f"{unit} " + t_txt + " is not a finite number",
                        f"{unit} " + t_txt + " is not a whole number",
                    ),
                ),
            ),
            index=rec.index,
        ),
        "non_numeric_score": "score '"
        + vt
        + "' is not a number"
        + _decimal_hint(vt, decimal, v_nonnum),
        "out_of_range": "score "
        + vt
        + label_txt
        + " outside the "
        + meas_txt
        + " range "
        + lo.map(lambda v: f"{v:g}", na_action="ignore").astype(str)
        + "-"
        + hi.map(lambda v: f"{v:g}", na_action="ignore").astype(str),
        "non_integer_score": meas_txt.map(
            {k: f"{v.label} totals are whole points; " for k, v in registry.items()}
        ).fillna("")
        + v_num.map(lambda v: f"{v:g}", na_action="ignore").fillna("").astype(str)
        + " is not",
        "invalid_items": rec.get("items_bad", pd.Series("", index=rec.index)),
        "unparseable_date": "date '"
        + _text(rec["date"])
        + "' cannot be parsed as "
        + (spec.get("date_format") or "an ISO 8601 date (YYYY-MM-DD); set date_format"),
        "unknown_client": "client '"
        + id_txt
        + "' is not in the client table"
        + _id_hint(id_txt, unknown_client, client_ids),
        "invalid_client_data": id_txt.map(bad_clients or {}).fillna("").astype(str),
    }
    detail = pd.Series("", index=rec.index, dtype=object)
    for r, txt in details.items():
        sel = reason.eq(r)
        if sel.any():
            detail[sel] = (txt[sel] if isinstance(txt, pd.Series) else txt).astype(str)
    if len(dup_detail):
        sel = reason.eq("duplicate")
        detail[sel] = dup_detail[sel[sel].index]
    # the column to look at: the field the reason is about (long files name it in the spec),
    # else the score column of the record
    column = rec["column"].astype(str)
    if spec.get("layout", "long") == "long":
        cols = {
            "id": "id",
            "time": "time",
            "measure": "measure",
            "date": "date",
            **(spec.get("columns") or {}),
        }
        for r, field in (
            ("missing_id", "id"),
            ("unknown_client", "id"),
            ("invalid_time", "time"),
            ("unparseable_date", "date"),
            ("invalid_client_data", "id"),
        ):
            column = column.mask(reason.eq(r), str(cols[field]))
        if "measure" in cols and not spec.get("measure") and not spec.get("scores"):
            column = column.mask(reason.eq("unknown_measure"), str(cols["measure"]))
    quarantine = pd.DataFrame(
        {
            "source": source,
            "row": rec["row"].astype(int),
            "column": column,
            "reason": reason,
            "detail": detail,
            "id": id_txt,
            "time": t_txt,
            "measure": meas_txt,
            "value": vt,
        }
    )[q].reset_index(drop=True)
    kept = pd.DataFrame(
        {
            "id": id_txt[~q],
            "time": t_num[~q].astype(float),
            "measure": meas_txt[~q],
            "score": v_num[~q].astype(float),
        }
    )
    if d_val.notna().any():
        kept["date"] = d_val[~q]
    kept.index = rec.loc[~q, "row"].astype(int).to_numpy()
    kept.index.name = "row"
    return kept, quarantine


def _id_hint(ids: pd.Series, where: pd.Series, client_ids: pd.Index | None) -> pd.Series:
    """Hints for ids absent from the client table that match one of its ids loosely.

    Loosely: up to case or leading zeros ('001' vs 1: Excel drops the leading zeros of a
    number column).
    """
    out = pd.Series("", index=ids.index, dtype=object)
    if client_ids is None or not where.any():
        return out

    def key(v: str) -> str:
        return re.sub(r"^0+(?=\d)", "", str(v).strip().lower())

    known = {}
    for c in client_ids.astype(str):
        known.setdefault(key(c), c)
    out[where] = ids[where].map(
        lambda v: (
            f" (the client table has '{known[key(v)]}': the same id with other leading "
            "zeros or case? Excel drops leading zeros of a number column: store ids as text)"
            if key(v) in known
            else ""
        )
    )
    return out


def _measure_hint(label: str, registry: dict[str, Instrument]) -> str:
    """' (PHQ-9 is phq9: add measure_map: {PHQ-9: phq9})' when a label is a code in disguise.

    Compares lower-case letters and digits only, so 'PHQ-9', ' phq9 ' and 'Phq_9' point at phq9;
    also an instrument's registry label (e.g. 'BDI-II' for bdi2).
    """

    def key(t: str) -> str:
        return re.sub(r"[^0-9a-z]", "", str(t).lower())

    k = key(label)
    if not k:
        return ""
    for code, ins in registry.items():
        if k in (key(code), key(ins.label)):
            return f" ({label} is {code}? add measure_map: {{'{label}': {code}}} to the spec)"
    return ""


def _decimal_hint(vt: pd.Series, decimal: str, where: pd.Series) -> pd.Series:
    """A hint about the decimal mark for the non-numeric scores (``where``); '' elsewhere."""
    out = pd.Series("", index=vt.index, dtype=object)
    sub = vt[where]
    if decimal == ",":
        out[where] = sub.map(lambda v: " (decimal is ',' in the spec)" if "." in v else "")
    elif decimal == ".":
        hint = " (a decimal comma? set decimal: ',' in the spec)"
        out[where] = sub.map(lambda v: hint if _COMMA_NUMBER.match(v) else "")
    return out


def _items_records(data, rows, spec, na) -> tuple[pd.DataFrame, dict]:
    """Long file with item columns: score them into totals (see analysis.data.items)."""
    from analysis.data.items import item_problems, score_items

    cols = dict(spec.get("columns") or {})
    idc, timec = cols.get("id", "id"), cols.get("time", "time")
    parts, notes = [], {}
    empty = data.apply(lambda c: _blank(c, na)).all(axis=1).to_numpy()
    for measure, items in spec["items"].items():
        items = [str(i) for i in items]
        missing = [c for c in [idc, timec, *items] if c not in data.columns]
        if missing:
            raise ValueError(f"item column(s) {missing} for {measure} not in the file")
        block = data[items].where(~data[items].apply(lambda c: _blank(c, na)))
        probs = item_problems(block, measure, items)
        good = probs.eq("")
        scored = score_items(block[good], measure, items)
        total = pd.Series(np.nan, index=data.index)
        total[good] = scored["score"]
        notes[f"{measure}_prorated"] = int(scored["status"].eq("prorated").sum())
        notes[f"{measure}_too_many_missing_items"] = int(
            scored["status"].eq("too_many_missing").sum()
        )
        parts.append(
            pd.DataFrame(
                {
                    "row": rows.to_numpy(),
                    "id": data[idc].to_numpy(),
                    "time": data[timec].to_numpy(),
                    "date": data[cols["date"]].to_numpy() if cols.get("date") else None,
                    "empty": empty,
                    "column": ",".join(items),
                    "value": total.to_numpy(),
                    "measure": measure,
                    "items_bad": probs.to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True), notes


def _read_clients(
    spec: dict, root, data, rows, na, source: str
) -> tuple[pd.DataFrame | None, list[str], dict[str, str], dict[str, Any]]:
    """The client table: from a separate file (``clients.path``) or the scores file's columns.

    Returns the table, the scores-file columns used for it, the clients set aside
    (id -> reason, when ``on_conflict: quarantine``) and how the client file was read.
    """
    cspec = spec.get("clients")
    if not cspec:
        return None, [], {}, {}
    unknown = set(cspec) - _CLIENT_KEYS
    if unknown:
        raise ValueError(
            f"unknown key(s) {sorted(unknown)} in 'clients'; allowed {sorted(_CLIENT_KEYS)}"
        )
    on_conflict = cspec.get("on_conflict", "error")
    if on_conflict not in ("error", "quarantine"):
        raise ValueError(
            f"clients.on_conflict must be 'error' or 'quarantine', got {on_conflict!r}"
        )
    columns = dict(cspec.get("columns") or {})
    score_id = (spec.get("columns") or {}).get("id", "id")
    how: dict[str, Any] = {}
    if cspec.get("path"):
        cpath = resolve_path(cspec["path"], root)
        csource = str(cpath)
        cdata, crows, _ = read_table(
            cpath,
            cspec.get("format"),
            sheet=cspec.get("sheet"),
            header_row=int(cspec.get("header_row", 1)),
            label_columns=list(columns.values()),
            encoding=cspec.get("encoding"),
            sep=cspec.get("sep"),
            info=how,
        )
        if "id" in cspec:
            idc = cspec["id"]
        else:  # default: the scores mapping's id column, else 'id'
            idc = next((c for c in dict.fromkeys([score_id, "id"]) if c in cdata.columns), None)
            if idc is None:
                raise ValueError(
                    f"{cpath}: no client id column: looked for {score_id!r} (the id column of the "
                    f"scores mapping) and 'id'; found {list(cdata.columns)}. Set clients.id"
                )
        source_cols = []
        # a separate client file keeps every column: `columns` renames, it does not select
        for c in cdata.columns:
            if c != idc and c not in columns.values() and c not in columns:
                columns[str(c)] = c
    else:
        cdata, crows, csource = data, rows, source
        idc = cspec.get("id", score_id)
        source_cols = list(columns.values())
    missing = [c for c in [idc, *columns.values()] if c not in cdata.columns]
    if missing:
        raise ValueError(f"client column(s) {missing} not found; found {list(cdata.columns)}")
    out = pd.DataFrame({"id": _text(cdata[idc])})
    problems: dict[str, list[str]] = {}
    recodes = cspec.get("recode") or {}
    unknown_targets = sorted(set(map(str, recodes)) - set(columns))
    if unknown_targets:
        raise ValueError(
            f"clients.recode names column(s) {unknown_targets} that are not client columns "
            f"({sorted(columns)})"
        )
    for target, src in columns.items():
        col = cdata[src].where(~_blank(cdata[src], na))
        mapping = recodes.get(target)
        if mapping:
            keys = {str(k) for k in mapping}
            txt = _text(col)
            outside = col.notna() & ~txt.isin(keys)
            if outside.any():
                for cid, grp in pd.DataFrame({"id": out["id"], "v": txt, "row": np.asarray(crows)})[
                    outside
                ].groupby("id", sort=False):
                    problems.setdefault(cid, []).append(
                        f"{target} (column '{src}') value(s) "
                        + ", ".join(f"'{v}'" for v in dict.fromkeys(grp["v"]))
                        + f" outside the recode map {sorted(keys)} at line(s) "
                        + ", ".join(map(str, grp["row"]))
                    )
        out[target] = _recode(col, mapping)
    if not cspec.get("path"):
        # one value per client: a client whose rows disagree is named, never given the first row's
        frame = out.assign(_row=np.asarray(crows))[out["id"].ne("")]
        for target in columns:
            vals = frame[["id", target, "_row"]].dropna(subset=[target])
            vals = vals.assign(_t=_text(vals[target]))
            n = vals.groupby("id", sort=False)["_t"].nunique()
            for cid in n.index[n > 1]:
                g = vals[vals["id"].eq(cid)]
                problems.setdefault(cid, []).append(
                    f"{target} (column '{columns[target]}') differs between rows: "
                    + ", ".join(
                        f"'{v}' at line {r}" for v, r in zip(g["_t"], g["_row"], strict=True)
                    )
                )
    if problems and on_conflict == "error":
        listed = "\n".join(f"  client '{cid}': " + "; ".join(txt) for cid, txt in problems.items())
        raise ValueError(
            f"{csource}: client data of {len(problems)} client(s) conflict or lie outside the "
            f"recode map:\n{listed}\nCorrect the export or the recode map, or set "
            "clients.on_conflict: quarantine to set these clients' records aside"
        )
    bad = {cid: "; ".join(txt) for cid, txt in problems.items()}
    if cspec.get("path"):  # error messages name the client file's own lines
        out.index = np.asarray(crows)
    out = out[out["id"].ne("") & ~out["id"].isin(list(bad))]
    if not cspec.get("path"):
        out = out.groupby("id", sort=False, as_index=False).first()
    for c in out.columns:
        if c != "id" and out[c].dtype == object:
            num = pd.to_numeric(out[c], errors="coerce")
            if num.notna().sum() == out[c].notna().sum():
                out[c] = num
    if how:
        how = {f"client file {k}": v for k, v in how.items()}
    return (out if cspec.get("path") else out.reset_index(drop=True)), source_cols, bad, how


def _dates_in_the_future(kept: pd.DataFrame, path: Path) -> str:
    """Records dated after the export was written (2205 typed for 2025): noted, never dropped.

    The export's own modification time is the bound (an assessment cannot postdate the file
    that records it); lines only, never a client id. Empty when there are none.
    """
    if "date" not in kept or kept["date"].isna().all():
        return ""
    written = pd.Timestamp(path.stat().st_mtime, unit="s").normalize() + pd.Timedelta(days=1)
    d = kept["date"]
    if not pd.api.types.is_datetime64_any_dtype(d):
        return ""
    if d.dt.tz is not None:
        d = d.dt.tz_localize(None)
    late = d > written
    if not late.any():
        return ""
    row = int(kept.index[late.to_numpy()].min())
    first = d[kept.index == row].iloc[0]
    return (
        f"{int(late.sum())} record(s) dated after the file was written "
        f"({written - pd.Timedelta(days=1):%Y-%m-%d}), first at line/row {row} "
        f"({first:%Y-%m-%d}); kept: check the date"
    )


def _dates_out_of_order(kept: pd.DataFrame) -> str:
    """Records dated before an earlier time point of the same client (session 3 before session 2).

    One of the two is wrong (a session number or a date typed by hand) and the reader cannot
    tell which, so nothing is set aside: the account's notes say how many and where the first is
    (lines only, never a client id). Empty when every client's dates follow the time order.
    """
    if (
        "date" not in kept
        or kept["date"].isna().all()
        or not pd.api.types.is_datetime64_any_dtype(kept["date"])
    ):
        return ""
    k = kept[kept["date"].notna()].reset_index()
    k = k.sort_values(["id", "time", "row"], kind="mergesort")
    # the latest date at any earlier time point of the client (same time point: not compared)
    per_time = k.groupby(["id", "time"], sort=False)["date"].max().reset_index()
    per_time["before"] = per_time.groupby("id", sort=False)["date"].transform(
        lambda d: d.cummax().shift()
    )
    k = k.merge(per_time[["id", "time", "before"]], on=["id", "time"], how="left")
    bad = k[k["date"] < k["before"]]
    if bad.empty:
        return ""
    first = bad.sort_values("row").iloc[0]
    return (
        f"{len(bad)} record(s) dated before an earlier time point of the same client, first at "
        f"line/row {int(first['row'])} (time {first['time']:g} dated {first['date']:%Y-%m-%d}, "
        f"an earlier time point {first['before']:%Y-%m-%d}); kept: check the time or the date"
    )


def _check_spec_types(spec: dict[str, Any]) -> None:
    """Stop, naming the spec key, on a value of the wrong kind (a list where a mapping belongs).

    Without this a wrong type surfaces later as an AttributeError naming no key, or, worse, as
    a silent relabelling (``measure`` given as a constant while the file has a measure column).
    """
    where = f"{spec['path']}: spec key"

    def mapping(key: str, value: Any) -> None:
        if value is not None and not isinstance(value, dict):
            raise ValueError(
                f"{where} '{key}' must be a mapping (key: value, ...), got "
                f"{type(value).__name__} {value!r}"
            )

    for key in ("columns", "scores", "measure_map", "time_map", "clients"):
        mapping(key, spec.get(key))
    cspec = spec.get("clients") or {}
    mapping("clients.columns", cspec.get("columns"))
    mapping("clients.recode", cspec.get("recode"))
    for target, m in (cspec.get("recode") or {}).items():
        mapping(f"clients.recode.{target}", m)
    for key in ("ignore", "na_values"):
        v = spec.get(key)
        if v is not None and not isinstance(v, list):
            raise ValueError(f"{where} '{key}' must be a list, got {type(v).__name__} {v!r}")
    for key, sub in (("header_row", spec), ("clients.header_row", cspec)):
        v = sub.get(key.split(".")[-1])
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool) and v >= 1):
            raise ValueError(
                f"{where} '{key}' must be a whole number >= 1 (the line holding the column "
                f"names, 1-based), got {v!r}"
            )
    fmt = spec.get("date_format")
    if fmt is not None:
        if not isinstance(fmt, str) or not fmt:
            raise ValueError(f"{where} 'date_format' must be a strftime text, got {fmt!r}")
        try:  # an unknown directive such as %Q fails here, not deep in pandas
            pd.to_datetime(pd.Series(["x"]), format=fmt, errors="coerce")
        except ValueError as err:
            raise ValueError(
                f"{where} 'date_format' {fmt!r} is not a valid format ({err}); e.g. '%d.%m.%Y'"
            ) from None
    columns = spec.get("columns") or {}
    if "measure" in spec and ("measure" in columns or spec.get("scores")):
        other = f"columns.measure ({columns['measure']!r})" if "measure" in columns else "scores"
        raise ValueError(
            f"{where} 'measure' ({spec['measure']!r}, one measure for the whole file) and "
            f"{other} both say which measure a score is; give one of them"
        )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_cohort_file(
    spec: dict[str, Any],
    registry: dict[str, Instrument] | None = None,
    *,
    root: str | Path | None = None,
) -> tuple[Cohort, Quarantine]:
    r"""Read a clinic export into a validated cohort, quarantining what cannot be used.

    Parameters
    ----------
    spec : dict
        The reader spec (see the module docstring): ``path`` and the column mapping. Not modified.
    registry : dict, optional
        Instrument registry; measures and score ranges come from it. Default: the package's,
        plus the active user instrument files
        (:func:`analysis.registry.instruments.load_registry`) and those named by the spec's
        ``instruments``.
    root : str or Path, optional
        Base for relative paths (default :func:`analysis.registry.paths.project_root`).

    Returns
    -------
    cohort : Cohort
        ``scores`` (long: ``id, time, measure, score`` [, ``date``]; index = source row, sorted by
        id, time, measure) and ``clients`` (``id`` plus mapped client columns; every scored id).
        ``meta`` holds the source path, its SHA-256, the spec and the quarantine summary.
    quarantine : Quarantine
        The set-aside records with row number and reason, and the account.

    Raises
    ------
    FileNotFoundError
        If the file (or client file) does not exist.
    ValueError
        If the file cannot be read at all: unknown format or spec key, a column named in the spec
        missing from the file, a bad client table (duplicate ids, unknown end_reason). The message
        names the file and the column.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "clinic.csv"
    >>> _ = f.write_text("client,session,PHQ9\nc1,0,18\nc1,8,9\nc2,0,31\nc2,8,x\n")
    >>> cohort, q = read_cohort_file({"path": str(f), "measure": "phq9",
    ...     "columns": {"id": "client", "time": "session", "score": "PHQ9"}})
    >>> q.account()  # the PHQ-9 ranges 0-27: 31 is out of range, x is not a number
    'rows in 4 = kept 2 + quarantined 2'
    >>> q.rows[["row", "reason", "value"]].values.tolist()  # CSV lines (the header is line 1)
    [[4, 'out_of_range', '31'], [5, 'non_numeric_score', 'x']]

    The simulated cohort's PHQ-9 scores written as a clinic would export them (one line per
    client and session, empty where a questionnaire was missed), then read back:

    >>> from analysis import load_dataset
    >>> sim = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = sim.scores.query("measure == 'phq9'")[["id", "time", "score"]]
    >>> export = pathlib.Path(tempfile.mkdtemp()) / "phq9_export.csv"
    >>> phq9.set_axis(["Klient", "Sitzung", "PHQ9"], axis=1).to_csv(export, index=False)
    >>> cohort, q = read_cohort_file({"path": str(export), "measure": "phq9",
    ...     "columns": {"id": "Klient", "time": "Sitzung", "score": "PHQ9"}})
    >>> q.account()
    'rows in 450 = kept 450 + quarantined 0'
    >>> cohort.n_clients, int(cohort.scores["score"].isna().sum())  # 11 missed, kept as NaN
    (60, 11)
    >>> float(cohort.scores["score"].sum()), float(phq9["score"].sum())  # points, every score
    (6177.0, 6177.0)
    """
    if not isinstance(spec, dict) or "path" not in spec:
        raise ValueError("spec must be a mapping with at least 'path'")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown spec key(s) {sorted(unknown)}; allowed: {sorted(_SPEC_KEYS)}")
    _check_spec_types(spec)
    if registry is not None:
        reg = registry
    else:  # the default registry plus the user instrument files the spec names
        from analysis.registry.instruments import instrument_files

        reg = load_registry(instruments=instrument_files(spec.get("instruments"), root=root))
    path = resolve_path(spec["path"], root)
    decimal = spec.get("decimal")
    if decimal is not None and decimal not in _DECIMALS:
        raise ValueError(f"decimal must be '.' or ',', got {decimal!r}")
    layout = spec.get("layout", "wide" if spec.get("wide") else "long")
    if layout not in ("long", "wide"):
        raise ValueError(f"layout must be 'long' or 'wide', got {layout!r}")
    time_unit = spec.get("time_unit", "session")
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {TIME_UNITS}, got {time_unit!r}")
    # the spec's na_values add to the defaults (as pandas' na_values do): an empty cell always
    # marks a missing assessment, whatever else the export writes for one (-99, "missing")
    na = tuple(dict.fromkeys([*DEFAULT_NA, *(str(v).strip() for v in spec.get("na_values") or [])]))
    label_cols = list(((spec.get("clients") or {}).get("columns") or {}).values())
    mcol = (spec.get("columns") or {}).get("measure")
    data, rows, labels = read_table(
        path,
        spec.get("format"),
        sheet=spec.get("sheet"),
        header_row=int(spec.get("header_row", 1)),
        label_columns=label_cols + ([mcol] if mcol else []),
        encoding=spec.get("encoding"),
        sep=spec.get("sep"),
        info=(how := {}),
    )
    source = str(path)
    if data.empty:
        raise ValueError(
            f"{source}: the file has no data rows (only the header, line/row "
            f"{spec.get('header_row', 1)}: {list(data.columns)}); nothing to analyse"
        )
    if decimal is None:
        decimal = "auto" if how.get("delimiter", "").startswith("';'") else "."
        if decimal == "auto":
            how["decimal"] = "',' or '.' (semicolon file without 'decimal': both read)"
    else:
        how["decimal"] = f"'{decimal}' (given)"
    try:
        clients, client_src, bad_clients, chow = _read_clients(
            spec, root, data, rows, na, str(path)
        )
        how.update(chow)
        notes: dict[str, Any] = {}
        if layout == "wide":
            rec = _records_wide(data, rows, spec, na, client_src)
            unit = "record = one line x one score column of the wide file"
        elif spec.get("items"):
            rec, notes = _items_records(data, rows, spec, na)
            unit = "record = one line x one scored questionnaire"
        else:
            rec = _records_long(data, rows, spec, na, decimal)
            unit = "record = one line" if not spec.get("scores") else "record = line x measure"
            if "incomplete" in rec:  # composite (mean_of) scores with some parts blank
                inc = rec["incomplete"].eq(True)  # NaN on the plain-column measures
                for m in rec.loc[rec["incomplete"].notna(), "measure"].unique():
                    notes[f"{m}_missing_too_few_parts_present"] = int(
                        (inc & rec["measure"].eq(m)).sum()
                    )
    except ValueError as err:
        msg = str(err)
        if Path(msg.split(": ", 1)[0]).is_file():  # already names its file (the client file)
            raise ValueError(msg) from None
        raise ValueError(f"{source}: {msg}") from None
    from_file = bool(spec.get("clients") and (spec["clients"] or {}).get("path"))
    kept, quarantined = _validate_records(
        rec,
        registry=reg,
        spec=spec,
        na=na,
        labels={k: v for k, v in labels.items() if k not in label_cols},
        client_ids=pd.Index(clients["id"]) if from_file else None,
        source=source,
        decimal=decimal,
        bad_clients=bad_clients,
    )
    kept = validate_scores(kept, reg, source=source)  # a safety net: must pass after quarantine
    kept = kept.sort_values(["id", "time", "measure"], kind="mergesort")
    order = _dates_out_of_order(kept)
    if order:
        notes["dates_out_of_time_order"] = order
    future = _dates_in_the_future(kept, path)
    if future:
        notes["dates_after_the_export"] = future
    if clients is None:
        clients = pd.DataFrame({"id": pd.unique(kept["id"])})
    elif not from_file:
        clients = clients[clients["id"].isin(kept["id"])].reset_index(drop=True)
    csource = (
        str(resolve_path(spec["clients"]["path"], root)) if from_file else f"{source} (clients)"
    )
    clients = validate_clients(clients, source=csource).reset_index(drop=True)
    q = Quarantine(
        rows=quarantined,
        rows_in=len(rec),
        rows_kept=len(kept),
        lines_in=len(data),
        source=source,
        unit=unit,
        notes=notes,
        reading=how,
    )
    if not q.balanced:  # pragma: no cover - would be a bug in this module
        raise RuntimeError(f"{source}: row account does not balance: {q.account()}")
    cohort = Cohort(
        scores=kept,
        clients=clients,
        name=str(spec.get("name") or path.stem),
        time_unit=time_unit,
        simulated=False,
        description=str(spec.get("description", "")),
        citation=str(spec.get("citation", "")),
        meta={
            "source": source,
            "sha256": _sha256(path),
            "spec": dict(spec),
            "quarantine": q.summary(),
        },
    )
    return cohort, q
