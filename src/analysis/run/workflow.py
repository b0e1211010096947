"""Set-up shared by the notebooks: one place to load a cohort, score it and plan disclosure.

Notebooks 01-04 all start from the same three things: the cohort, the outcome instrument and the
outcomes table of the definitions engine (:func:`analysis.outcomes.engine.score_definitions`,
the only
producer of per-client outcomes). :func:`outcomes_for_notebook` builds them once, the same way for
every notebook, so that every report reads the same table. :func:`run_disclosure` gives every
notebook of a run the same disclosure plan. The sentences and numbers a report shows are in
:mod:`analysis.report.text`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data import datasets
from analysis.data.cohort import Cohort
from analysis.outcomes import engine as outcomes
from analysis.registry.instruments import Instrument, get_instrument, load_registry
from analysis.report import disclosure

__all__ = [
    "NotebookData",
    "outcomes_for_notebook",
    "write_cache",
    "read_cache",
    "has_measure",
    "run_disclosure",
    "MultiverseData",
    "multiverse_grid",
    "multiverse_for_notebook",
    "reliable_change_rows",
]


@dataclass(frozen=True)
class NotebookData:
    """What a comparison notebook starts from.

    Attributes
    ----------
    cohort : Cohort
    instrument : Instrument
        The primary outcome measure's registry entry.
    outcomes : pandas.DataFrame
        Tidy per-client outcomes (:data:`analysis.outcomes.engine.OUTCOME_COLUMNS`) of the
        definitions
        compared side by side: those in ``compare``, else those marked ``headline`` in the
        definitions file (all scored ones when none is).
    all_outcomes : pandas.DataFrame
        The same table for every definition the data can express.
    skipped : dict
        Definition name -> why it could not be computed on this dataset.
    definitions : tuple of dict
        The validated definitions that were scored (name, family, label, description, source).
    baseline : pandas.DataFrame
        ``id``, ``severity``: every client's baseline score on the primary measure (points; NaN
        when absent), the common severity used for severity bias and adjustment.
    registry : dict
        The instrument registry the outcomes were scored with: the package's plus the user
        instrument files the dataset named (``cohort.meta["instruments"]``); pass it on to
        functions that look up instruments (e.g. ``compare_methods(..., registry=nd.registry)``).
    """

    cohort: Cohort
    instrument: Instrument
    outcomes: pd.DataFrame
    baseline: pd.DataFrame
    all_outcomes: pd.DataFrame | None = None
    skipped: dict | None = None
    definitions: tuple = ()
    registry: dict | None = None


def outcomes_for_notebook(
    dataset: str,
    dataset_options: dict | None,
    measure: str,
    reliability: float | None = None,
    cutoff_type: str = "default",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    post: str | float = "last",
    definitions: str = "",
    missing: str = "last_available",
    compare: list | None = None,
    cache: str = "",
) -> NotebookData:
    """Load a dataset and score every outcome definition, as each notebook needs.

    Parameters
    ----------
    dataset : str
        Dataset name (:func:`analysis.data.datasets.load_dataset`).
    dataset_options : dict or None
        Loader options.
    measure : str
        Primary outcome measure (registry code, e.g. ``"bdi2"``: BDI-II, 0-63, lower is better),
        substituted for ``"{measure}"`` in the definitions file.
    reliability : float, optional
        Reliability for the reliable change index on the primary measure (default: registry).
    cutoff_type, m_functional, sd_functional
        J&T cutoff (default: the registry's rule, c with confirmed functional norms else the
        published clinical cutoff, alias instrument; published; a, b or c on request) and
        functional norms (points) for clinically significant change on the primary measure.
    post : "last" or str or float
        ``"last"`` or a time point (a string such as ``"8"`` is converted to a number, as the
        notebooks' parameters are literals).
    definitions : str
        Path of a definitions YAML file; empty for the package's default
        (``config/definitions.yaml``). Relative paths resolve against the project root.
    missing : {"last_available", "locf", "bocf", "completers", "dropout_as_failure"}
        Missing-data strategy, applied to every definition
        (:data:`analysis.outcomes.rules.MISSING_STRATEGY_TEXT`).
    compare : list of str, optional
        Definitions to put side by side in :attr:`NotebookData.outcomes`.
    cache : str
        Folder of a run-scoped cache written by the main job (:func:`write_cache`, notebook
        parameter ``data_cache``): when it holds the data scored with exactly these arguments,
        they are read from it instead of loading and scoring again; otherwise (empty, absent,
        other arguments: e.g. a notebook run by hand in JupyterLab) the data are loaded here.

    Returns
    -------
    NotebookData

    Raises
    ------
    ValueError
        From the loader or the scoring (unknown dataset, measure or definition, bad post time
        point, invalid definitions file naming the definition and key).
    """
    args = _cache_key(
        dataset,
        dataset_options,
        measure,
        reliability,
        cutoff_type,
        m_functional,
        sd_functional,
        post,
        definitions,
        missing,
    )
    cached = read_cache(cache, args) if cache else None
    cohort, defs, everything, baseline = cached or _load_and_score(**args)
    # the registry is built here, from the package's and the cohort's own instrument files (a
    # user's export may name some); nothing process-wide is changed
    registry = load_registry(instruments=cohort.meta.get("instruments"))
    instrument = get_instrument(measure, registry)
    scored = list(dict.fromkeys(everything["definition"]))
    if compare:
        unknown = sorted(set(compare) - set(scored))
        if unknown:
            raise ValueError(
                f"compare names definition(s) not scored on {cohort.name!r}: {unknown}; "
                f"scored: {scored}"
            )
        chosen = list(compare)
    else:
        chosen = [d["name"] for d in defs if d.get("headline") and d["name"] in scored] or scored
    result = everything.loc[everything["definition"].isin(chosen)].reset_index(drop=True)
    result.attrs = dict(everything.attrs)
    used = tuple(d for d in defs if d["name"] in scored)
    return NotebookData(
        cohort,
        instrument,
        result,
        baseline,
        everything,
        dict(everything.attrs.get("skipped", {})),
        used,
        registry,
    )


def _cache_key(
    dataset,
    dataset_options,
    measure,
    reliability,
    cutoff_type,
    m_functional,
    sd_functional,
    post,
    definitions,
    missing,
) -> dict:
    """The arguments that determine the loaded and scored data (JSON-able, for the cache)."""
    return {
        "dataset": dataset,
        "dataset_options": dict(dataset_options or {}),
        "measure": measure,
        "reliability": reliability,
        "cutoff_type": cutoff_type,
        "m_functional": m_functional,
        "sd_functional": sd_functional,
        "post": post,
        "definitions": definitions,
        "missing": missing,
    }


def _load_and_score(
    dataset,
    dataset_options,
    measure,
    reliability,
    cutoff_type,
    m_functional,
    sd_functional,
    post,
    definitions,
    missing,
):
    """Load the cohort and score every definition: ``(cohort, defs, everything, baseline)``."""
    from analysis.registry.paths import project_root

    post_rule = post if post == "last" else float(post)
    cohort = datasets.load_dataset(dataset, **(dataset_options or {}))
    # the registry is built here, from the package's and the cohort's own instrument files (a
    # user's export may name some); nothing process-wide is changed
    registry = load_registry(instruments=cohort.meta.get("instruments"))
    path = None
    if definitions:
        path = definitions if os.path.isabs(definitions) else project_root() / definitions
    # the notebook's parameters govern the primary measure's J&T definitions
    defs = outcomes.definitions_for_run(
        measure,
        path,
        reliability=reliability,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        registry=registry,
    )
    everything = outcomes.score_definitions(
        cohort, defs, measure=measure, missing=missing, post=post_rule, registry=registry
    )
    pp = outcomes.prepost(
        cohort.scores, cohort.clients, measure, post=post_rule, missing=missing, registry=registry
    )
    baseline = pd.DataFrame({"id": pp["id"], "severity": pp["baseline"]})
    return cohort, defs, everything, baseline


_CACHE_FRAMES = ("scores", "clients", "everything", "baseline")


def write_cache(folder: str | os.PathLike, **arguments) -> bool:
    """Load and score once for a run; write it where :func:`outcomes_for_notebook` reads it.

    Parameters
    ----------
    folder : path
        Run-scoped folder (created); the main job gives each run a temporary one, deleted when
        the run ends, and passes it to the notebooks as the parameter ``data_cache``.
    **arguments
        The arguments of :func:`outcomes_for_notebook` but ``compare`` and ``cache``
        (``dataset`` ... ``missing``), as the notebooks will pass them.

    Returns
    -------
    bool
        True when the cache was written and reads back identical to what was computed (frames,
        dtypes, ``attrs``, definitions); False otherwise (then nothing is left in ``folder`` and
        the notebooks load the data themselves, with the same results).

    Raises
    ------
    ValueError
        From the loader or the scoring, as :func:`outcomes_for_notebook`.

    Examples
    --------
    >>> folder = tempfile.mkdtemp()  # doctest: +SKIP
    >>> write_cache(folder, dataset="btheb", dataset_options={}, measure="bdi2")  # doctest: +SKIP
    True
    """
    import json
    from pathlib import Path

    args = _cache_key(**{**_cache_key_defaults(), **arguments})
    cohort, defs, everything, baseline = _load_and_score(**args)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frames = dict(
        zip(_CACHE_FRAMES, (cohort.scores, cohort.clients, everything, baseline), strict=True)
    )
    try:
        for name, frame in frames.items():
            frame.to_parquet(folder / f"{name}.parquet")
        meta = {
            "key": args,
            "cohort": {
                k: getattr(cohort, k)
                for k in ("name", "time_unit", "simulated", "description", "citation", "meta")
            },
            "definitions": list(defs),
        }
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        back = read_cache(str(folder), args)
    except (TypeError, ValueError, OSError, ImportError):
        back = None
    if back is None or not _same(back, (cohort, defs, everything, baseline)):
        for f in folder.glob("*"):
            f.unlink()
        return False
    return True


def _cache_key_defaults() -> dict:
    return {
        "dataset_options": None,
        "reliability": None,
        "cutoff_type": "a",
        "m_functional": None,
        "sd_functional": None,
        "post": "last",
        "definitions": "",
        "missing": "last_available",
    }


def _same(a, b) -> bool:
    """True when two ``(cohort, defs, everything, baseline)`` are identical, dtypes and attrs."""
    (ca, da, ea, ba), (cb, db, eb, bb) = a, b
    try:
        for x, y in ((ca.scores, cb.scores), (ca.clients, cb.clients), (ea, eb), (ba, bb)):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
            if repr(x.attrs) != repr(y.attrs):
                return False
    except AssertionError:
        return False
    fields = ("name", "time_unit", "simulated", "description", "citation", "meta")
    return repr(tuple(da)) == repr(tuple(db)) and all(
        repr(getattr(ca, k)) == repr(getattr(cb, k)) for k in fields
    )


def read_cache(folder: str, arguments: dict):
    """What :func:`write_cache` wrote, when it was written for ``arguments``; else None.

    Returns
    -------
    tuple or None
        ``(cohort, definitions, all outcomes, baseline)``; None when ``folder`` is empty, holds
        no cache, or a cache of other arguments (then the caller loads and scores itself).
    """
    import json
    from pathlib import Path

    meta_path = Path(folder) / "meta.json"
    if not folder or not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta["key"] != json.loads(json.dumps(arguments)):
        return None
    scores, clients, everything, baseline = (
        pd.read_parquet(Path(folder) / f"{name}.parquet") for name in _CACHE_FRAMES
    )
    cohort = Cohort(scores, clients, **meta["cohort"])
    return cohort, meta["definitions"], everything, baseline


def has_measure(cohort: Cohort, measure: str, min_clients: int = 3) -> bool:
    """True when at least ``min_clients`` clients have an observed score on ``measure``."""
    s = cohort.scores
    obs = s.loc[(s["measure"] == measure) & s["score"].notna(), "id"]
    return bool(obs.nunique() >= min_clients)


def run_disclosure(
    nd: NotebookData,
    group: str = "",
    output_dir: str = "",
    suppress: bool = True,
    methods: pd.DataFrame | None = None,
    write: bool = False,
    threshold: int = disclosure.SMALL_COUNT,
) -> pd.DataFrame | None:
    """The run's one disclosure plan, as every notebook of the run applies it.

    Notebook 01 (the first of every run) computes the plan over every count the run shows about
    the outcomes table (prevalence of every scored definition overall and by ``group``, the 2 x 2
    cells of every pair of the compared definitions, the Jacobson-Truax categories) and over the
    methods comparison, and writes it beside the reports (``write=True``). The other notebooks
    read that file, so a count is hidden in every report or in none. A notebook run on its own
    (no plan file in its folder) computes the outcome part from the same inputs.

    Parameters
    ----------
    nd : NotebookData
        From :func:`outcomes_for_notebook` (its ``all_outcomes`` and compared ``outcomes``).
    group : str
        Client column compared by ("" for none).
    output_dir : str
        The run's output folder (``""``: the interactive folder).
    suppress : bool
        False: None is returned (no disclosure control: simulated data or switched off).
    methods : pandas.DataFrame, optional
        :func:`analysis.outcomes.engine.compare_methods` output (notebook 01).
    write : bool
        Write the plan (hidden values blanked) beside the reports.
    threshold : int
        Smallest count shown.

    Returns
    -------
    pandas.DataFrame or None
        :func:`analysis.report.disclosure.run_plan` output, or None when ``suppress`` is False.
    """
    from analysis.report.tables import output_folder

    if not suppress:
        return None
    folder = output_folder(output_dir)
    if not write:
        plan = disclosure.read_plan(folder)
        if plan is not None:
            return plan
    grp = None
    if group and group in nd.cohort.clients.columns:
        grp = nd.cohort.clients.set_index("id")[group]
    chosen = list(dict.fromkeys(nd.outcomes["definition"]))
    pairs = [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1 :]]
    extra = disclosure.method_cells(methods) if methods is not None else None
    everything = nd.all_outcomes if nd.all_outcomes is not None else nd.outcomes
    plan = disclosure.run_plan(everything, grp, pairs, extra, threshold)
    if write:
        disclosure.write_plan(plan, folder, threshold)
    return plan


@dataclass(frozen=True)
class MultiverseData:
    """What notebook 05 (the multiverse of success) starts from.

    Attributes
    ----------
    cohort : Cohort
    instrument : Instrument
        The primary outcome measure's registry entry.
    grid : dict
        The checked grid (:func:`analysis.compare.multiverse.load_grid`), ``imputations`` applied.
    grid_source : str
        Where the grid came from: the file's path, "the runs file (a mapping)" or the package's
        default file.
    definitions : tuple of dict
        The validated definitions the grid draws on (the run's parameters applied).
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse`: one row per specification.
    """

    cohort: Cohort
    instrument: Instrument
    grid: dict
    grid_source: str
    definitions: tuple
    results: pd.DataFrame


def multiverse_grid(multiverse: str | dict | None = "", imputations: int | None = None) -> dict:
    """The grid of a run: the parameter ``multiverse`` read and checked, ``imputations`` applied.

    Parameters
    ----------
    multiverse : str, dict or None
        Path of a grid YAML (relative paths against the project root), a mapping of the same
        form (from a runs file), or empty / None for the package default
        (``config/multiverse.yaml``).
    imputations : int, optional
        Number of imputations *m* for multiple imputation; None keeps the grid's
        ``options.imputations``.

    Returns
    -------
    dict
        :func:`analysis.compare.multiverse.load_grid`'s checked grid.

    Raises
    ------
    ValueError
        Naming the file and the key (:func:`analysis.compare.multiverse.load_grid`), a missing
        file, or ``imputations`` below 2.
    """
    from analysis.compare.multiverse import load_grid
    from analysis.registry.paths import project_root

    if multiverse is None or (isinstance(multiverse, str) and not multiverse.strip()):
        source: str | dict | None = None
    elif isinstance(multiverse, dict):
        source = multiverse
    elif isinstance(multiverse, str):
        p = multiverse if os.path.isabs(multiverse) else project_root() / multiverse
        if not os.path.isfile(p):
            raise ValueError(f"multiverse: no such grid file: {p}")
        source = str(p)
    else:
        raise ValueError(
            f"multiverse: a grid file's path or a mapping, got {type(multiverse).__name__}"
        )
    grid = load_grid(source)
    if imputations is not None:
        if int(imputations) < 2:
            raise ValueError(f"imputations: at least 2 are needed, got {imputations}")
        grid["options"] = {**grid["options"], "imputations": int(imputations)}
    return grid


def multiverse_for_notebook(
    dataset: str,
    dataset_options: dict | None,
    measure: str,
    multiverse: str | dict | None = "",
    imputations: int | None = None,
    reliability: float | None = None,
    cutoff_type: str = "instrument",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    definitions: str = "",
    group: str | None = "arm",
    scheduler=None,
) -> MultiverseData:
    """Load a run's cohort and compute its multiverse of success (notebook 05).

    The cohort and definitions are loaded as for every other notebook
    (:func:`outcomes_for_notebook`); the run's ``reliability``, ``cutoff_type`` and functional
    norms set the definitions' own values, which the grid then varies.

    Parameters
    ----------
    dataset, dataset_options, measure
        As :func:`outcomes_for_notebook`.
    multiverse, imputations
        The grid (:func:`multiverse_grid`).
    reliability, cutoff_type, m_functional, sd_functional, definitions
        As :func:`outcomes_for_notebook`.
    group : str or None
        Client column with the arms (empty or absent: no arm difference).
    scheduler : optional
        Dask scheduler (:func:`analysis.compare.multiverse.run_multiverse`); None computes here.

    Returns
    -------
    MultiverseData

    Raises
    ------
    ValueError
        For a bad grid (naming the file and key), an unknown dataset or measure, or an invalid
        definitions file.
    """
    from analysis.compare.multiverse import run_multiverse
    from analysis.registry.paths import project_root

    grid = multiverse_grid(multiverse, imputations)
    if isinstance(multiverse, dict):
        where = "the runs file (a mapping)"
    elif multiverse:
        where = str(multiverse)
    else:
        where = "the package default (analysis/config/multiverse.yaml)"
    cohort = datasets.load_dataset(dataset, **(dataset_options or {}))
    instrument = get_instrument(measure)
    path = None
    if definitions:
        path = definitions if os.path.isabs(definitions) else project_root() / definitions
    defs = outcomes.definitions_for_run(
        measure,
        path,
        reliability=reliability,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
    )
    results = run_multiverse(
        cohort,
        grid,
        definitions=defs,
        measure=measure,
        group=group or None,
        scheduler=scheduler,
    )
    return MultiverseData(cohort, instrument, grid, where, tuple(defs), results)


def _whole_number_sides(cutoff: float, instrument) -> str:
    """Which whole-number scores lie on each side of a cutoff between two of them ("" if none)."""
    if instrument is None or not getattr(instrument, "integer", False):
        return ""
    if not np.isfinite(cutoff) or float(cutoff).is_integer():
        return ""
    low, high = math.floor(cutoff), math.ceil(cutoff)
    functional, clinical = (
        (f"{low} or less", f"{high} or more")
        if instrument.better_is == "lower"
        else (f"{high} or more", f"{low} or less")
    )
    return f" (scores are whole numbers: {functional} is functional, {clinical} clinical)"


def reliable_change_rows(
    outcomes: pd.DataFrame, skipped: dict | None = None, instrument=None
) -> list[tuple]:
    """Methods rows that say which J&T cutoff was used and why, and the reliable-change threshold.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        An outcomes table of :func:`analysis.outcomes.engine.score_definitions`; its
        ``attrs["details"]`` holds what the rules used (``clinically_significant``: ``cutoff``,
        ``cutoff_rule``, ``cutoff_reason``; both JT definitions: ``s_diff``, ``threshold_points``,
        ``critical``, ``sd_pre_used``, ``sd_pre_source``).
    skipped : dict, optional
        Definitions not computed, with their reasons (``attrs["skipped"]``).
    instrument : Instrument, optional
        The primary measure. For whole-number totals (registry ``integer: true``) and a cutoff
        between two whole numbers, the row says which scores fall on each side: the J&T cutoff is
        a boundary strictly between the functional and the clinical range (Jacobson & Truax 1991),
        so BDI-II's published "case if >= 14" is the boundary 13.50 (13 or less functional).

    Returns
    -------
    list of (item, value, source) tuples
        "J&T cutoff for clinically significant change" (the rule, the cutoff in points and the
        reason from the instrument registry, or "not computed: <reason>") and "reliable change
        (JT)" (S_diff and the threshold in points, and the SD it rests on).

    Examples
    --------
    >>> o = pd.DataFrame()
    >>> o.attrs["details"] = {"clinically_significant": {"cutoff": 6.75, "cutoff_rule": "c",
    ...     "cutoff_reason": "norms", "s_diff": 2.98, "threshold_points": 5.83, "critical": 1.96,
    ...     "sd_pre_used": 5.26, "sd_pre_source": "sample"}}
    >>> reliable_change_rows(o)[0][1]
    'cutoff c: 6.75 points'
    >>> from analysis.registry.instruments import get_instrument
    >>> print(reliable_change_rows(o, instrument=get_instrument("phq9"))[0][1])
    cutoff c: 6.75 points (scores are whole numbers: 6 or less is functional, 7 or more clinical)
    """
    details = outcomes.attrs.get("details", {})
    skipped = skipped or {}
    jt_src = "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19"
    rows = []
    cs = details.get("clinically_significant")
    if cs and "cutoff_rule" in cs:
        rows.append(
            (
                "J&T cutoff for clinically significant change",
                f"cutoff {cs['cutoff_rule']}: {float(cs['cutoff']):.2f} points"
                + _whole_number_sides(float(cs["cutoff"]), instrument),
                f"{cs['cutoff_reason']}. {jt_src}; Bauer S., Lambert M.J. & Nielsen S.L. (2004) "
                "J Pers Assess 82(1):60-70 (cutoff c where norms exist)",
            )
        )
    else:
        why = skipped.get("clinically_significant", "not among the definitions of this run")
        rows.append(
            (
                "J&T cutoff for clinically significant change",
                f"not computed: {why}",
                "not applicable (not computed)",
            )
        )
    rc = cs or details.get("reliable_improvement")
    if rc and np.isfinite(float(rc.get("s_diff", np.nan))):
        sd_src = rc.get("sd_pre_source")
        sd_txt = (
            f"SD of the evaluable clients' baseline scores, {float(rc['sd_pre_used']):.2f}"
            if sd_src == "sample"
            else f"{sd_src}, SD {float(rc['sd_pre_used']):.2f}"
            if np.isfinite(float(rc.get("sd_pre_used", np.nan) or np.nan))
            else str(sd_src)
        )
        rows.append(
            (
                "reliable change (JT)",
                f"S_diff = {float(rc['s_diff']):.2f} points ({sd_txt}); a change of more than "
                f"{float(rc['threshold_points']):.2f} points is reliable "
                f"(|RCI| > {float(rc['critical']):.2f})",
                jt_src,
            )
        )
    return rows
