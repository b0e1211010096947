"""The cohort: scores in long format plus a client table, with what is known about their origin."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from analysis.data.schema import check_cohort_frames

__all__ = ["Cohort"]


@dataclass(frozen=True)
class Cohort:
    """A validated cohort (a plain record; functions take its frames, never mutate them).

    Construction runs :func:`~analysis.data.schema.check_cohort_frames` (vectorised, about
    0.1 s per million score rows): a missing id or measure, a text or infinite score, a negative
    time, a score outside its instrument's range (registry) or a duplicated client id raise a
    ``ValueError`` naming the column, the count and the first rows. The readers additionally run
    the full :func:`~analysis.data.schema.validate_cohort_frames` (one row per client x time x
    measure, every scored client in the client table).

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

    Raises
    ------
    ValueError, TypeError
        See :func:`~analysis.data.schema.check_cohort_frames`.

    Notes
    -----
    The constructor runs only the cheap checks; the loaders that build a cohort validate its
    tables in full first (:func:`analysis.data.schema.validate_scores` and ``validate_clients``,
    called by :func:`analysis.data.readers.read_cohort_file`,
    :func:`analysis.data.store.read_cohort` and the simulator).

    Examples
    --------
    The bundled simulated cohort (:func:`analysis.data.datasets.load_dataset`): 60 clients,
    session by session, 15 measures.

    >>> from analysis import load_dataset
    >>> sim = load_dataset("simulated", n_clients=60, seed=1)
    >>> sim.n_clients, len(sim.scores), sim.time_unit, sim.simulated
    (60, 3531, 'session', True)
    >>> sim.measures[:6]
    ['coping', 'ders16', 'employment', 'gad7', 'gbo', 'gse']
    >>> list(sim.scores.columns)
    ['id', 'time', 'measure', 'score', 'date']
    >>> phq9 = sim.scores.query("measure == 'phq9'")
    >>> phq9.groupby("time")["score"].count().head(4).to_dict()  # PHQ-9 scores per session
    {1.0: 60, 2.0: 54, 3.0: 52, 4.0: 43}
    >>> sim.clients["end_reason"].value_counts().to_dict()
    {'planned': 38, 'dropout': 20, 'ongoing': 2}

    A cohort from two tables (PHQ-9 points, sessions):

    >>> import pandas as pd
    >>> scores = pd.DataFrame({"id": ["a", "a", "b"], "time": [1.0, 2.0, 1.0],
    ...                        "measure": "phq9", "score": [14.0, 8.0, 17.0]})
    >>> cohort = Cohort(scores, pd.DataFrame({"id": ["a", "b"]}), name="demo")
    >>> cohort.n_clients, cohort.measures
    (2, ['phq9'])

    A score outside the instrument's range is refused:

    >>> Cohort(scores.assign(score=[99.0, 8.0, 17.0]), pd.DataFrame({"id": ["a", "b"]}),
    ...        name="demo")
    Traceback (most recent call last):
    ...
    ValueError: cohort 'demo' (scores): column 'score': 1 score(s) of measure 'phq9' outside ...
    """

    scores: pd.DataFrame
    clients: pd.DataFrame
    name: str
    time_unit: str = "session"
    simulated: bool = False
    description: str = ""
    citation: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse bad input at once (vectorised; see the class docstring)."""
        check_cohort_frames(self.scores, self.clients, source=f"cohort {self.name!r}")

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
