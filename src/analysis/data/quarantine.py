"""Quarantine: the records set aside while reading a file, each with its row and a reason.

A reader (:func:`analysis.data.readers.read_cohort_file`) never drops a record silently: what it
cannot keep goes here, with the source row, the column, one of :data:`REASONS` and the raw value,
and :class:`Quarantine` keeps the account ``rows_in = rows_kept + rows_quarantined``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.data.store import write_table_csv

__all__ = ["REASONS", "QUARANTINE_COLUMNS", "Quarantine"]

#: Quarantine reasons, in the order they are tested (a record gets the first that applies).
REASONS = {
    "empty_row": "the line holds no value at all",
    "missing_id": "no client id",
    "unmapped_column": "a column of a wide file that the spec does not map to a measure and time",
    "unknown_measure": "measure is not a code of the instrument registry",
    "invalid_time": "time is not a number, is negative, or is a fractional session number",
    "non_numeric_score": "score is not a number (an empty cell marks a missing assessment)",
    "out_of_range": "score outside the instrument's range (registry min-max)",
    "non_integer_score": "a fractional total of an instrument scored in whole points (registry "
    "integer: true); totals the package computes itself (prorated items, mean_of) are exempt",
    "invalid_items": "an item response is not a whole number within the item range",
    "unparseable_date": "date could not be parsed",
    "invalid_client_data": "the client's arm, therapist or other client data differ between rows "
    "or lie outside the recode map (quarantined because the spec says clients.on_conflict: "
    "quarantine)",
    "unknown_client": "client id absent from the client table",
    "duplicate": "more than one record for the same client x time x measure",
}
QUARANTINE_COLUMNS = (
    "source",
    "row",
    "column",
    "reason",
    "detail",
    "id",
    "time",
    "measure",
    "value",
)


@dataclass(frozen=True)
class Quarantine:
    """The records set aside while reading a file, and the row account.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per quarantined record, columns ``source`` (file), ``row`` (line in a CSV file,
        sheet row in Excel, 1-based record number in Parquet/SPSS/Stata), ``column`` (source
        column of the value), ``reason`` (a key of :data:`REASONS`), ``detail`` (text for a
        researcher), ``id``, ``time``, ``measure`` and ``value`` (raw, as text).
    rows_in, rows_kept : int
        Records read and records kept; ``rows_in == rows_kept + rows_quarantined``.
    lines_in : int
        Data rows read, the header excluded: CSV records (a quoted value holding a line break
        makes one row of two physical lines), sheet rows, or records of Parquet/SPSS/Stata.
    source : str
        The file read.
    unit : str
        What a record is for this layout.
    notes : dict
        Further counts (e.g. prorated item totals).
    reading : dict
        How the file was read: ``encoding`` and ``delimiter`` of a CSV file (given or detected,
        and how), ``decimal`` (the decimal mark numbers were read with), and the same for a
        client file (keys prefixed ``client file``).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame([{"source": "a.csv", "row": 3, "column": "score",
    ...                       "reason": "non_numeric_score", "detail": "", "id": "c1",
    ...                       "time": "0", "measure": "phq9", "value": "x"}])
    >>> q = Quarantine(rows, rows_in=10, rows_kept=9, lines_in=10, source="a.csv")
    >>> q.account(), q.balanced
    ('rows in 10 = kept 9 + quarantined 1', True)
    """

    rows: pd.DataFrame
    rows_in: int
    rows_kept: int
    lines_in: int
    source: str
    unit: str = "record"
    notes: dict[str, Any] = field(default_factory=dict)
    reading: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_quarantined(self) -> int:
        """Number of quarantined records."""
        return int(len(self.rows))

    @property
    def balanced(self) -> bool:
        """Whether rows_in = rows_kept + rows_quarantined (always true unless there is a bug)."""
        return self.rows_in == self.rows_kept + self.rows_quarantined

    def summary(self) -> dict[str, Any]:
        """The account as a plain dict (JSON-able).

        Returns
        -------
        dict
            ``source, unit, lines_in, rows_in, rows_kept, rows_quarantined, balanced`` and
            ``reasons`` (reason -> count, most frequent first), plus ``notes`` and ``reading``
            (how the file was read: encoding, delimiter, decimal mark) where there are any.
        """
        counts = self.rows["reason"].value_counts(sort=False)
        reasons = {k: int(counts[k]) for k in sorted(counts.index, key=lambda r: (-counts[r], r))}
        return {
            "source": self.source,
            "unit": self.unit,
            "lines_in": int(self.lines_in),
            "rows_in": int(self.rows_in),
            "rows_kept": int(self.rows_kept),
            "rows_quarantined": self.rows_quarantined,
            "balanced": self.balanced,
            "reasons": reasons,
            **({"notes": self.notes} if self.notes else {}),
            **({"reading": self.reading} if self.reading else {}),
        }

    def account(self) -> str:
        """One line: ``rows in 12 = kept 9 + quarantined 3``."""
        return (
            f"rows in {self.rows_in} = kept {self.rows_kept} + quarantined {self.rows_quarantined}"
        )

    def to_csv(self, path: str | Path) -> Path:
        """Write the quarantined records as deterministic CSV (see :func:`write_table_csv`)."""
        return write_table_csv(self.rows, path, sort_by=["row", "column", "reason"])
