"""The cohort: scores in long format plus a client table, with what is known about their origin."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

__all__ = ["Cohort"]


@dataclass(frozen=True)
class Cohort:
    """A validated cohort (a plain record; functions take its frames, never mutate them).

    Attributes
    ----------
    scores : pandas.DataFrame
        Long format, one row per client x time point x measure: ``id`` (str), ``time`` (float,
        session number or month, see ``time_unit``), ``measure`` (registry code, str), ``score``
        (float, instrument points; NaN = an explicitly missing assessment). Optional ``date``.
    clients : pandas.DataFrame
        One row per client: ``id`` (str) and, where known, ``arm``, ``therapist``, ``site``,
        ``end_reason`` (planned / dropout / ongoing / unknown), plus dataset-specific covariates.
    name : str
        Short dataset name (``"btheb"``).
    time_unit : {"session", "week", "month"}
        Unit of ``time``.
    simulated : bool
        True for simulated data; every report on such data says so near the top.
    description : str
        One paragraph for reports: what the data are and where they come from.
    citation : str
        Full reference of the data source.
    meta : dict
        Anything else (parameter file and seed of a simulation, licence, variable notes).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"id": ["a", "a", "b"], "time": [1.0, 2.0, 1.0],
    ...                        "measure": "phq9", "score": [14.0, 8.0, 17.0]})
    >>> cohort = Cohort(scores, pd.DataFrame({"id": ["a", "b"]}), name="demo")
    >>> cohort.n_clients, cohort.measures
    (2, ['phq9'])
    """

    scores: pd.DataFrame
    clients: pd.DataFrame
    name: str
    time_unit: str = "session"
    simulated: bool = False
    description: str = ""
    citation: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def measures(self) -> list[str]:
        """Measure codes present in ``scores`` (sorted)."""
        return sorted(self.scores["measure"].unique().tolist())

    @property
    def n_clients(self) -> int:
        """Number of clients in the client table."""
        return int(self.clients["id"].nunique())

    def with_scores(self, scores: pd.DataFrame) -> Cohort:
        """A copy with other scores (same clients and metadata)."""
        return replace(self, scores=scores)
