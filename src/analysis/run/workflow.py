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
from analysis.registry.instruments import (
    CUTOFF_TYPE_LABELS,
    Instrument,
    get_instrument,
    load_registry,
)
from analysis.report import disclosure

__all__ = [
    "NotebookData",
    "outcomes_for_notebook",
    "write_cache",
    "read_cache",
    "has_measure",
    "read_cached_cohort",
    "run_disclosure",
    "extend_disclosure",
    "MEMBERSHIP_FILE",
    "perspective_cells",
    "survival_cells",
    "landmark_cells",
    "read_disclosure",
    "severity_cells",
    "group_outcome_cells",
    "signal_cells",
    "pattern_name",
    "agreement_cells",
    "profile_table",
    "first_plan_cells",
    "gain_cells",
    "methods_for_plan",
    "MultiverseData",
    "multiverse_grid",
    "multiverse_for_notebook",
    "multiverse_disclosure",
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
    labels : dict
        Name -> label of every definition of the file, scored or not (the definitions file's
        ``label``), so that a report names the skipped ones too
        (:func:`analysis.report.text.labeller` takes it as keywords).
    """

    cohort: Cohort
    instrument: Instrument
    outcomes: pd.DataFrame
    baseline: pd.DataFrame
    all_outcomes: pd.DataFrame | None = None
    skipped: dict | None = None
    definitions: tuple = ()
    registry: dict | None = None
    labels: dict | None = None


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
        {d["name"]: d.get("label") or d["name"] for d in defs},
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


def read_cached_cohort(folder: str, dataset: str, dataset_options: dict | None) -> Cohort | None:
    """The cohort :func:`write_cache` wrote, when it was loaded with these loader arguments.

    Notebook 05 varies the analytic choices itself and needs only the cohort, not the scored
    table, so it matches the cache on the loader's arguments alone (``dataset`` and
    ``dataset_options``): the main job loads each run's data once and hands it to every notebook.

    Parameters
    ----------
    folder : str
        The run's data cache folder (notebook parameter ``data_cache``); ``""``: none.
    dataset, dataset_options
        As :func:`outcomes_for_notebook`.

    Returns
    -------
    Cohort or None
        None when ``folder`` is empty, holds no cache, or a cache of another dataset or other
        loader options (then the caller loads the data itself, with the same result).

    Examples
    --------
    >>> read_cached_cohort("", "simulated", {}) is None
    True
    """
    import json
    from pathlib import Path

    meta_path = Path(folder) / "meta.json" if folder else None
    if meta_path is None or not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    wanted = json.loads(json.dumps({"dataset": dataset, "dataset_options": dataset_options or {}}))
    key = meta.get("key", {})
    if {k: key.get(k) for k in wanted} != wanted:
        return None
    scores, clients = (
        pd.read_parquet(Path(folder) / f"{n}.parquet") for n in ("scores", "clients")
    )
    return Cohort(scores, clients, **meta["cohort"])


def has_measure(cohort: Cohort, measure: str, min_clients: int = 3) -> bool:
    """True when at least ``min_clients`` clients have an observed score on ``measure``."""
    s = cohort.scores
    obs = s.loc[(s["measure"] == measure) & s["score"].notna(), "id"]
    return bool(obs.nunique() >= min_clients)


#: Membership of the run's counts (clients x counts), kept in the run's temporary data cache
#: (never beside the reports) so that every notebook audits its counts against all earlier ones.
MEMBERSHIP_FILE = "disclosure_membership.pkl"


def _base_membership(nd: NotebookData, group: str = "") -> pd.DataFrame:
    """Membership of the outcome counts every run shows (:func:`disclosure.outcome_cells`)."""
    grp = None
    if group and group in nd.cohort.clients.columns:
        grp = nd.cohort.clients.set_index("id")[group]
    chosen = list(dict.fromkeys(nd.outcomes["definition"]))
    pairs = [(a, b) for i, a in enumerate(chosen) for b in chosen[i + 1 :]]
    everything = nd.all_outcomes if nd.all_outcomes is not None else nd.outcomes
    return disclosure.outcome_cells(everything, grp, pairs)


def _unshown(names) -> list[str]:
    """The counts of a run no report shows.

    Group sizes, not met, the overlap's total, and the complements of the family profiles'
    percentages (group - numerator): protected when small, else needing no protection.
    """
    import re

    names = list(names)
    profile_not = re.compile(r"^families .+ / .+: [^:]+: not ")
    return disclosure.unshown_cells(names) + [
        n for n in names if n == "pattern: evaluable under all" or profile_not.search(n)
    ]


def _join(m: pd.DataFrame, extra: pd.DataFrame | None) -> pd.DataFrame:
    """``m`` with the columns of ``extra`` it lacks (clients absent from one: in none)."""
    if extra is None or extra.empty:
        return m
    add = extra[[c for c in extra.columns if c not in m.columns]]
    if add.shape[1] == 0:
        return m
    index = m.index.union(add.index)
    return pd.concat(
        [
            m.reindex(index, fill_value=False).astype(bool),
            add.reindex(index, fill_value=False).astype(bool),
        ],
        axis=1,
    )


def _with_differences(m: pd.DataFrame, shown, threshold: int) -> tuple[pd.DataFrame, list[str]]:
    """``m`` with the small differences of its nested ``shown`` counts, and their names.

    :func:`analysis.report.disclosure.nested_differences`; a difference ``m`` already holds
    (an earlier notebook added it) is not added again.
    """
    # an earlier difference ("<T> minus <S>") is no report's count: not paired again
    pairable = [c for c in shown if c in m.columns and " minus " not in c]
    diff = disclosure.nested_differences(m, threshold, cells=pairable)
    diff = diff[[c for c in diff.columns if c not in m.columns]]
    return _join(m, diff), list(diff.columns)


def _store(cache: str, m: pd.DataFrame) -> None:
    from pathlib import Path

    if cache and Path(cache).is_dir():
        m.to_pickle(Path(cache) / MEMBERSHIP_FILE)


def _stored(cache: str) -> pd.DataFrame | None:
    from pathlib import Path

    path = Path(cache) / MEMBERSHIP_FILE if cache else None
    return pd.read_pickle(path) if path is not None and path.is_file() else None


def run_disclosure(
    nd: NotebookData,
    group: str = "",
    output_dir: str = "",
    suppress: bool = True,
    methods: pd.DataFrame | None = None,
    write: bool = False,
    threshold: int = disclosure.SMALL_COUNT,
    cache: str = "",
    extra: pd.DataFrame | None = None,
    method: str = "suppression",
) -> pd.DataFrame | None:
    """Return the run's one disclosure plan, as every notebook of the run applies it.

    Notebook 01 (the first of every run) computes the plan over every count the run shows about
    the outcomes table (prevalence of every scored definition overall and by ``group``, the 2 x 2
    cells and the number who disagree of every pair of the compared definitions, the
    Jacobson-Truax categories) and over ``methods`` and ``extra``, and writes it beside the
    reports (``write=True``). The other notebooks read that file and add their own counts with
    :func:`extend_disclosure`, so a count is hidden in every report or in none, and no hidden
    count can be worked out from counts shown anywhere in the run (the linear audit of
    :func:`analysis.report.disclosure.recoverable`), nor a small difference of two nested counts
    (:func:`analysis.report.disclosure.nested_differences`, audited as unshown small counts). A
    notebook run on its own (no plan file in its folder) computes the outcome part from the same
    inputs.

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
        Compute the plan afresh and write it (hidden values blanked) beside the reports.
    threshold : int
        Smallest count shown.
    cache : str
        The run's data cache folder (notebook parameter ``data_cache``): the counts' client
        membership is kept there for the later notebooks' audit (never beside the reports).
    extra : pandas.DataFrame, optional
        Further membership columns (clients x counts, boolean) shown by the notebook.
    method : {"suppression", "rounding"}
        The run's disclosure method (notebook parameter ``disclosure_method``): primary and
        complementary suppression, or NHS Digital's rounding
        (:func:`analysis.report.disclosure.rounding_plan`). A plan file of the other method
        (an earlier run in the same folder) is not used.

    Returns
    -------
    pandas.DataFrame or None
        :func:`analysis.report.disclosure.suppression_plan` or
        :func:`analysis.report.disclosure.rounding_plan` output (``cell``, ``count``,
        ``suppressed``, ``reason``), or None when ``suppress`` is False.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`analysis.report.disclosure.METHODS`.

    Examples
    --------
    >>> nd = outcomes_for_notebook("simulated", {"n_clients": 40}, "phq9")  # doctest: +SKIP
    >>> run_disclosure(nd, suppress=False) is None  # doctest: +SKIP
    True
    """
    from analysis.report.tables import output_folder

    if method not in disclosure.METHODS:
        raise ValueError(f"disclosure_method must be one of {disclosure.METHODS}, got {method!r}")
    if not suppress:
        return None
    folder = output_folder(output_dir)
    if not write:
        plan = disclosure.read_plan(folder)
        if plan is not None and disclosure.plan_method(plan) == method:
            return plan
    m = _base_membership(nd, group)
    if methods is not None:
        m = _join(m, disclosure.method_cells(methods))
    m = _join(m, extra)
    if method == "rounding":
        plan = disclosure.rounding_plan(m)
    else:
        unshown = _unshown(m.columns)
        # nested counts whose difference is small: protected like small counts (differencing)
        m, differences = _with_differences(m, [c for c in m.columns if c not in unshown], threshold)
        plan = disclosure.suppression_plan(
            m,
            threshold=threshold,
            protect=disclosure.headline_cells(m),
            unshown=[*unshown, *differences],
        )
    if write:
        disclosure.write_plan(plan, folder, threshold)
        _store(cache, m)
    return plan


def read_disclosure(
    output_dir: str = "", suppress: bool = True, cache: str = "", method: str = ""
) -> pd.DataFrame | None:
    """The run's plan as notebook 01 (and the notebooks after it) wrote it.

    For a notebook that shows counts of the outcome table under other names (notebook 05's
    specifications): with the run's data ``cache``, every count of the plan carries its value
    (hidden ones too, from the counts' client membership kept there), so the notebook can tell
    which of its numbers are the plan's counts. The values stay in memory: the plan file beside
    the reports is not changed.

    Parameters
    ----------
    output_dir : str
        The run's output folder (``""``: the interactive folder).
    suppress : bool
        False: None (no disclosure control).
    cache : str
        The run's data cache folder (notebook parameter ``data_cache``; ``""``: none, the hidden
        counts stay without a value).
    method : str
        The run's disclosure method; a plan file of another method is not used (None). ``""``:
        any.

    Returns
    -------
    pandas.DataFrame or None
        :func:`analysis.report.disclosure.read_plan` (``cell``, ``count``, ``suppressed``,
        ``reason``); None when ``suppress`` is False or no plan was written (the notebook run
        on its own: its counts then get primary suppression and the derived-percentage rule
        only).

    Examples
    --------
    >>> read_disclosure("", suppress=False) is None
    True
    """
    from analysis.report.tables import output_folder

    if not suppress:
        return None
    plan = disclosure.read_plan(output_folder(output_dir))
    if plan is not None and method and disclosure.plan_method(plan) != method:
        plan = None
    m = _stored(cache)
    if plan is not None and m is not None:
        counts = m.sum(axis=0)
        plan = plan.assign(count=plan["cell"].map(counts).fillna(plan["count"]))
    return plan


def extend_disclosure(
    plan: pd.DataFrame | None,
    nd: NotebookData,
    extra: pd.DataFrame | None,
    group: str = "",
    output_dir: str = "",
    threshold: int = disclosure.SMALL_COUNT,
    cache: str = "",
) -> pd.DataFrame | None:
    """Add a notebook's own counts to the run's plan; earlier decisions stay as they are.

    Parameters
    ----------
    plan : pandas.DataFrame or None
        The run's plan (:func:`run_disclosure`); None (suppression off) is returned as is.
    nd : NotebookData
        The notebook's data (to rebuild the outcome counts' membership when the run's cache
        holds none).
    extra : pandas.DataFrame or None
        Membership (clients x counts, boolean) of the counts this notebook shows; counts the
        plan already has keep their decision.
    group, output_dir, threshold, cache
        As :func:`run_disclosure`. The extended plan is written back beside the reports and
        the membership to the cache, so the next notebook audits against these counts too.
        Small differences of nested counts are protected as in :func:`run_disclosure`.

    Returns
    -------
    pandas.DataFrame or None
        The plan with a row per new count (:func:`analysis.report.disclosure.extend_plan`).

    Examples
    --------
    >>> extend_disclosure(None, None, None) is None
    True
    """
    from analysis.report.tables import output_folder

    if plan is None:
        return None
    m = _stored(cache)
    if m is None:
        m = _base_membership(nd, group)
    m = _join(m, extra)
    if not [c for c in m.columns if c not in set(plan["cell"])]:
        return plan
    unshown = set(_unshown(m.columns)) | set(
        plan.loc[plan["reason"].astype(str) == disclosure.UNSHOWN, "cell"]
    )
    differences: list[str] = []
    if disclosure.plan_method(plan) != "rounding":  # rounding shows every count rounded
        m, differences = _with_differences(m, [c for c in m.columns if c not in unshown], threshold)
    known = [c for c in m.columns if c in set(plan["cell"])]
    new = [c for c in m.columns if c not in set(plan["cell"])]
    ext = disclosure.extend_plan(
        plan, m[known + new], threshold=threshold, unshown=[*_unshown(new), *differences]
    )
    disclosure.write_plan(ext, output_folder(output_dir), threshold)
    _store(cache, m)
    return ext


def perspective_cells(outcomes: pd.DataFrame, definitions) -> pd.DataFrame:
    """Membership of the practitioner-perspective counts (notebook 01).

    As :func:`analysis.compare.prevalence.perspective_coverage`: per perspective with at least
    one definition, ``"perspective <k>: evaluable"`` (evaluable under at least one of its
    definitions) and ``"perspective <k>: met"`` (meeting at least one).

    Examples
    --------
    >>> out = pd.DataFrame({"id": [1, 2], "definition": ["a", "a"], "status": ["met", "not_met"]})
    >>> perspective_cells(out, [{"name": "a", "perspectives": [5]}]).sum().tolist()
    [2, 1]
    """
    from analysis.compare.prevalence import PERSPECTIVES

    scored = set(outcomes["definition"])
    sets = {}
    for number in PERSPECTIVES:
        names = [
            d["name"]
            for d in definitions
            if number in (d.get("perspectives") or []) and d["name"] in scored
        ]
        if not names:
            continue
        sub = outcomes.loc[outcomes["definition"].isin(names)]
        sets[f"perspective {number}: evaluable"] = sub.loc[
            sub["status"].isin(["met", "not_met"]), "id"
        ]
        sets[f"perspective {number}: met"] = sub.loc[sub["status"] == "met", "id"]
    return disclosure.membership_from_ids(sets, pd.unique(outcomes["id"]))


def survival_cells(
    tte: pd.DataFrame,
    prefix: str = "km",
    clients: pd.DataFrame | None = None,
    group: str = "",
    outcomes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Membership of the counts of a time-to-event table (notebook 03).

    Per definition: ``"<prefix> <d>: clients"`` (in the analysis), ``": met"`` (event),
    ``": dropout"`` (dropout before the event), ``": censored other"``; with ``group``, also
    per level (``" | <level>"``); with ``outcomes``, ``": excluded"`` (evaluable under the
    definition but not in the analysis: no time at risk).

    Examples
    --------
    >>> t = pd.DataFrame({"id": [1, 2, 3], "definition": "a", "event_type": [1, 2, 0]})
    >>> survival_cells(t).sum().tolist()
    [3, 1, 1, 1]
    """
    sets: dict = {}
    lv = None
    if group and clients is not None and group in clients.columns:
        lv = tte["id"].map(clients.set_index("id")[group])
    for d, sub in tte.groupby("definition", sort=False, observed=True):
        parts = [("", sub)]
        if lv is not None:
            parts += [(f" | {v}", sub.loc[lv.loc[sub.index] == v]) for v in pd.unique(lv.dropna())]
        for sfx, s in parts:
            sets[f"{prefix} {d}: clients{sfx}"] = s["id"]
            sets[f"{prefix} {d}: met{sfx}"] = s.loc[s["event_type"] == 1, "id"]
            sets[f"{prefix} {d}: dropout{sfx}"] = s.loc[s["event_type"] == 2, "id"]
            sets[f"{prefix} {d}: censored other{sfx}"] = s.loc[s["event_type"] == 0, "id"]
    ids = pd.unique(tte["id"])
    if outcomes is not None:
        ev = outcomes.loc[outcomes["status"].isin(["met", "not_met"])]
        for d, sub in ev.groupby("definition", sort=False, observed=True):
            inside = set(tte.loc[tte["definition"] == d, "id"])
            sets[f"{prefix} {d}: excluded"] = [i for i in sub["id"] if i not in inside]
        ids = pd.unique(pd.concat([tte["id"], outcomes["id"]]))
    return disclosure.membership_from_ids(sets, ids)


def landmark_cells(sample: pd.DataFrame, ids=None, prefix: str = "landmark") -> pd.DataFrame:
    """Membership of the counts of notebook 04's landmark table (early alliance and success).

    Per definition: ``"<prefix> <d>: clients"`` (records of
    :func:`analysis.compare.alliance.landmark_sample`), ``": met"`` and ``": not_met"`` (not
    shown, but clients - met: audited like the outcome table's not met).

    Parameters
    ----------
    sample : pandas.DataFrame
        :func:`analysis.compare.alliance.landmark_sample` (``id``, ``definition``,
        ``success``).
    ids : iterable, optional
        Every client of the run (the membership's rows); default the sample's.
    prefix : str
        The counts' prefix.

    Examples
    --------
    >>> t = pd.DataFrame({"id": [1, 2, 3], "definition": "a", "success": [1.0, 0.0, 0.0]})
    >>> landmark_cells(t).sum().tolist()
    [3, 1, 2]
    """
    sets: dict = {}
    for d, sub in sample.groupby("definition", sort=False, observed=True):
        sets[f"{prefix} {d}: clients"] = sub["id"]
        sets[f"{prefix} {d}: met"] = sub.loc[sub["success"] == 1, "id"]
        sets[f"{prefix} {d}: not_met"] = sub.loc[sub["success"] != 1, "id"]
    return disclosure.membership_from_ids(sets, pd.unique(sample["id"]) if ids is None else ids)


def severity_cells(outcomes: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """Membership of the severity-bias counts (notebook 02): evaluable clients with a baseline.

    ``"severity <d>: clients"`` and ``"severity <d>: met"``.

    Examples
    --------
    >>> out = pd.DataFrame({"id": [1, 2], "definition": "a", "status": ["met", "not_met"]})
    >>> severity_cells(out, pd.DataFrame({"id": [1, 2], "severity": [20.0, None]})).sum().tolist()
    [1, 1]
    """
    known = set(baseline.loc[baseline["severity"].notna(), "id"])
    ev = outcomes.loc[outcomes["status"].isin(["met", "not_met"]) & outcomes["id"].isin(known)]
    sets = {}
    for d, sub in ev.groupby("definition", sort=False, observed=True):
        sets[f"severity {d}: clients"] = sub["id"]
        sets[f"severity {d}: met"] = sub.loc[sub["status"] == "met", "id"]
    return disclosure.membership_from_ids(sets, pd.unique(outcomes["id"]))


def group_outcome_cells(outcomes: pd.DataFrame, groups: pd.Series, prefix: str) -> pd.DataFrame:
    """Membership of prevalence counts by a derived grouping (e.g. sudden gain, notebook 06).

    ``groups`` maps client id -> level; the counts are named as
    :func:`analysis.report.disclosure.outcome_cells` with level ``"<prefix><level>"``.

    Examples
    --------
    >>> out = pd.DataFrame({"id": [1, 2], "definition": "a", "status": ["met", "not_met"]})
    >>> list(group_outcome_cells(out, pd.Series({1: "x", 2: "y"}), "g ").columns)[:2]
    ['N | g x', 'N | g y']
    """
    g = groups.dropna().map(lambda v: f"{prefix}{v}")
    m = disclosure.outcome_cells(outcomes, group=g, categories=False)
    return m[[c for c in m.columns if f" | {prefix}" in c]]


def signal_cells(status: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Membership of the not-on-track signal's confusion counts (notebook 06).

    Per definition, among clients with an end status and evaluable: ``"signal <d>: tp"``
    (signalled, not met), ``": fp"`` (signalled, met), ``": fn"``, ``": tn"``; and
    ``"signal: clients"`` (with an end status), ``"signal: signalled"``,
    ``"signal: better than expected"``.

    Examples
    --------
    >>> st = pd.DataFrame({"id": [1, 2], "signal": [True, False]})
    >>> out = pd.DataFrame({"id": [1, 2], "definition": "a", "status": ["not_met", "met"]})
    >>> signal_cells(st, out).sum().tolist()[:4]
    [1, 0, 0, 1]
    """
    sig = status.set_index("id")["signal"].astype(bool)
    ev = outcomes.loc[outcomes["status"].isin(["met", "not_met"]) & outcomes["id"].isin(sig.index)]
    sets = {}
    for d, sub in ev.groupby("definition", sort=False, observed=True):
        s = sub["id"].map(sig).to_numpy(dtype=bool)
        bad = (sub["status"] != "met").to_numpy()
        sets[f"signal {d}: tp"] = sub["id"][s & bad]
        sets[f"signal {d}: fp"] = sub["id"][s & ~bad]
        sets[f"signal {d}: fn"] = sub["id"][~s & bad]
        sets[f"signal {d}: tn"] = sub["id"][~s & ~bad]
    sets["signal: clients"] = sig.index
    sets["signal: signalled"] = sig.index[sig.to_numpy()]
    if "better_than_expected" in status.columns:
        better = status.set_index("id")["better_than_expected"].fillna(False).astype(bool)
        sets["signal: better than expected"] = better.index[better.to_numpy()]
    ids = pd.unique(pd.concat([outcomes["id"], status["id"]]))
    return disclosure.membership_from_ids(sets, ids)


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
    sets : pandas.DataFrame or None
        The distinct client sets behind the counts of ``results`` (clients x sets, boolean;
        ``run_multiverse(..., members=True)``), for the run's disclosure plan.
    set_cells : pandas.DataFrame or None
        Indexed like ``results``: per count column, the name of its set in ``sets`` (None where
        a count is not one set's size).
    """

    cohort: Cohort
    instrument: Instrument
    grid: dict
    grid_source: str
    definitions: tuple
    results: pd.DataFrame
    sets: pd.DataFrame | None = None
    set_cells: pd.DataFrame | None = None


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
    cache: str = "",
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
    cache : str
        The run's data cache folder (notebook parameter ``data_cache``): the cohort is read from
        it when it was loaded with the same ``dataset`` and ``dataset_options``
        (:func:`read_cached_cohort`), so the main job loads each run's data once; otherwise it is
        loaded here.

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
    cohort = read_cached_cohort(cache, dataset, dataset_options)
    if cohort is None:
        cohort = datasets.load_dataset(dataset, **(dataset_options or {}))
    # the registry as every other notebook builds it: the package's and the cohort's own
    # instrument files (a user's export may name some), so a user's measure is known here too
    registry = load_registry(instruments=cohort.meta.get("instruments"))
    instrument = get_instrument(measure, registry)
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
        registry=registry,
    )
    results, sets, set_cells = run_multiverse(
        cohort,
        grid,
        definitions=defs,
        measure=measure,
        registry=registry,
        group=group or None,
        scheduler=scheduler,
        members=True,
    )
    return MultiverseData(cohort, instrument, grid, where, tuple(defs), results, sets, set_cells)


def multiverse_disclosure(
    md: MultiverseData | None,
    missing: str = "last_available",
    post: str | float = "last",
    output_dir: str = "",
    suppress: bool = True,
    cache: str = "",
    threshold: int = disclosure.SMALL_COUNT,
    method: str = "suppression",
) -> tuple[pd.DataFrame | None, dict | None]:
    """Audit notebook 05's counts with the run's plan: the plan extended, and each count's cell.

    Every specification shows its evaluable and met clients (overall and per arm). Counts over
    the same clients are one count of the plan (one column per distinct set: a specification
    counting notebook 01's clients is notebook 01's count); the distinct sets are added to the
    run's plan with every earlier decision kept (:func:`analysis.report.disclosure.extend_plan`),
    with the small differences of nested sets protected
    (:func:`analysis.report.disclosure.nested_differences`: an imputation strategy's evaluable
    clients contain the complete cases, a population lies within everyone, met within
    evaluable), so that no hidden count of the run can be worked out from the multiverse's
    counts, by subtraction across specifications or otherwise. A count equal in value to a
    count notebook 01 hides by complementary suppression (its own specification's, or another
    giving the same number) is hidden too. The extended plan is written back beside the reports
    and the membership to the run's cache.

    Parameters
    ----------
    md : MultiverseData
        From :func:`multiverse_for_notebook` (its ``sets`` and ``set_cells``).
    missing, post : str
        The run's missing-data strategy and post rule (its own specifications,
        :func:`analysis.compare.multiverse.matching_specifications`).
    output_dir : str
        The run's output folder (``""``: the interactive folder).
    suppress : bool
        False: ``(None, None)``, nothing hidden.
    cache : str
        The run's data cache (notebook parameter ``data_cache``) with the membership of the
        run's counts. Without it (or without the run's plan) the multiverse's counts are
        audited among themselves, and the plan is not written (it would not be the run's).
    threshold : int
        Smallest count shown.
    method : {"suppression", "rounding"}
        The run's disclosure method. Under rounding every count is shown rounded and nothing
        is audited: the run's plan is returned as :func:`read_disclosure` reads it, with no
        cells (:func:`analysis.report.disclosure_tables.mask_multiverse` rounds).

    Returns
    -------
    (pandas.DataFrame or None, dict or None)
        The plan (:func:`analysis.report.disclosure.extend_plan` output, every count with its
        value) and, per count column of ``md.results`` (``n_met``, ``n_evaluable``, per arm
        ``n_met_other``, ...), the plan count of each row (None: no set, primary suppression
        only) for :func:`analysis.report.disclosure_tables.mask_multiverse`'s ``cells``.

    Examples
    --------
    Suppression off (simulated data): nothing is planned or hidden.

    >>> multiverse_disclosure(None, suppress=False)
    (None, None)

    On BtheB with the main job's plan and cache (notebook 05 as the main job runs it):

    >>> md = multiverse_for_notebook("btheb", {}, "bdi2")  # doctest: +SKIP
    >>> plan, cells = multiverse_disclosure(md, "last_available", "last", "reports/btheb",
    ...                                     cache=data_cache)  # doctest: +SKIP
    >>> cells["n_evaluable"][0]  # doctest: +SKIP
    'remission: evaluable'
    """
    from analysis.compare.multiverse import matching_specifications
    from analysis.report import disclosure_tables
    from analysis.report.tables import output_folder

    if not suppress:
        return None, None
    if method == "rounding":
        return read_disclosure(output_dir, suppress, cache, method), None
    if md.sets is None or md.set_cells is None:
        raise ValueError("the multiverse was computed without its client sets (members=True)")
    results, sets, set_cells = md.results, md.sets, md.set_cells
    folder = output_folder(output_dir)
    plan = disclosure.read_plan(folder)
    if plan is not None and disclosure.plan_method(plan) != "suppression":
        plan = None  # another method's plan (as read_disclosure): not this run's
    m_run = _stored(cache) if plan is not None else None
    write = plan is not None
    if plan is None:
        plan = disclosure.no_plan()
    if m_run is None:
        m_run = pd.DataFrame(index=sets.index)
    else:  # every count of the plan with its value (hidden ones too), as read_disclosure
        plan = plan.assign(count=plan["cell"].map(m_run.sum(axis=0)).fillna(plan["count"]))
    index = m_run.index.union(sets.index)
    m_run = m_run.reindex(index, fill_value=False).astype(bool)
    sets = sets.reindex(index, fill_value=False).astype(bool)
    # a multiverse set equal to a count the run already shows is that count
    unshown_run = set(plan.loc[plan["reason"].astype(str) == disclosure.UNSHOWN, "cell"])
    shown_run = [
        c
        for c in m_run.columns
        if c not in unshown_run and " minus " not in c and c not in _unshown([c])
    ]
    by_bits: dict[bytes, list[str]] = {}
    if shown_run:
        for c, bits in zip(
            shown_run, np.packbits(m_run[shown_run].to_numpy().T, axis=1), strict=True
        ):
            by_bits.setdefault(bits.tobytes(), []).append(c)
    definition = dict(
        zip(results["spec"].astype(str), results["definition"].astype(str), strict=True)
    )
    rename = {}
    for c, bits in zip(sets.columns, np.packbits(sets.to_numpy().T, axis=1), strict=True):
        same = by_bits.get(bits.tobytes())
        if same:  # "multiverse <spec>: met | B" -> "<definition>: met | B" where it is the same
            spec, kind = c.removeprefix("multiverse ").split(": ", 1)
            natural = f"{definition.get(spec, '')}: {kind}"
            rename[c] = natural if natural in same else same[0]
    sets = sets.drop(columns=list(rename))
    cells = {
        c: [None if v is None or pd.isna(v) else rename.get(v, v) for v in set_cells[c]]
        for c in set_cells.columns
    }
    # a count equal in value to one notebook 01 hides (complementary) is hidden as well
    own = matching_specifications(results, md.definitions, missing=missing, post=post)
    by_value = disclosure_tables._spec_cells(results, own, plan) if len(plan) else {}
    hidden_run = dict(zip(plan["cell"], plan["suppressed"].astype(bool), strict=True))
    reasons = dict(zip(plan["cell"], plan["reason"].astype(str), strict=True))
    forced: dict[str, str] = {}
    for c, seq in by_value.items():
        for i, run_cell in enumerate(seq):
            mine = cells[c][i]
            if (
                run_cell is not None
                and mine is not None
                and mine in sets.columns
                and hidden_run.get(run_cell)
                and not reasons[run_cell].startswith("primary")
            ):
                forced.setdefault(mine, run_cell)
    if forced:
        plan = pd.concat(
            [
                plan,
                pd.DataFrame(
                    {
                        "cell": list(forced),
                        "count": [int(sets[c].sum()) for c in forced],
                        "suppressed": True,
                        "reason": [
                            f"complementary: equal to {r}, hidden there" for r in forced.values()
                        ],
                    }
                ),
            ],
            ignore_index=True,
        )
    m = _join(m_run, sets)
    m, differences = _with_differences(m, [*shown_run, *sets.columns], threshold)
    known = [c for c in m.columns if c in set(plan["cell"])]
    new = [c for c in m.columns if c not in set(plan["cell"])]
    ext = (
        disclosure.extend_plan(plan, m[known + new], threshold=threshold, unshown=differences)
        if new
        else plan
    )
    if write:
        disclosure.write_plan(ext, folder, threshold)
        _store(cache, m)
    return ext, cells


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
                f"{CUTOFF_TYPE_LABELS.get(cs['cutoff_rule'], 'cutoff ' + str(cs['cutoff_rule']))}: "
                f"{float(cs['cutoff']):.2f} points"
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


def pattern_name(pattern: pd.Series | dict, definitions) -> str:
    """Plan name of an overlap pattern: the definitions met, or none.

    Examples
    --------
    >>> pattern_name({"a": True, "b": False}, ["a", "b"])
    'pattern: a'
    """
    met = [d for d in definitions if bool(pattern[d])]
    return "pattern: " + (", ".join(met) if met else "none")


def profile_table(cohort: Cohort) -> pd.DataFrame:
    """The client characteristics notebook 02's family profiles average.

    The cohort's client table without ``therapist`` and ``site`` (identifiers of people and
    places, not characteristics of a client).

    Examples
    --------
    >>> from analysis.data.datasets import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=20, seed=1)
    >>> "therapist" in profile_table(cohort).columns
    False
    """
    c = cohort.clients
    return c.drop(columns=[x for x in ("therapist", "site") if x in c.columns])


def first_plan_cells(nd: NotebookData, outcomes: pd.DataFrame) -> pd.DataFrame:
    """Counts the run's first plan covers beyond the outcome cells (notebook 01's ``extra``).

    Notebook 01's practitioner perspectives (:func:`perspective_cells`) and notebook 02's
    agreement counts on the compared definitions (:func:`agreement_cells`: 2 x 2 cells,
    overlap patterns, family groups and profiles, severity bias): in the first plan, so that
    the bounds of two hidden counts (:func:`analysis.report.disclosure.suppression_plan`, step
    4) are protected across both reports; notebook 02 then finds them already decided.

    Parameters
    ----------
    nd : NotebookData
        From :func:`outcomes_for_notebook`.
    outcomes : pandas.DataFrame
        Every scored definition's rows (``nd.all_outcomes``), for the perspectives.

    Returns
    -------
    pandas.DataFrame
        Clients x counts, boolean.
    """
    return _join(
        perspective_cells(outcomes, list(nd.definitions)),
        agreement_cells(nd.outcomes, nd.baseline, profile_table(nd.cohort)),
    )


def agreement_cells(
    outcomes: pd.DataFrame,
    baseline: pd.DataFrame | None = None,
    profile: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Membership of the counts notebook 02 shows beyond notebook 01's.

    The 2 x 2 cells of every pair of ``outcomes``' definitions, the overlap patterns (clients
    evaluable under every definition, by the set met: :func:`pattern_name`;
    ``"pattern: evaluable under all"`` and ``"pattern: excluded"``), the family groups of every
    pair of families (``"families <a> / <b>: <group>"``), with ``profile`` (the client table
    the family profiles average) the numerators and complements of their percentages
    (:func:`analysis.compare.agreement.family_profile_sets`: ``"families <a> / <b>: <group>:
    <column>"`` and ``": not <column>"``), and the severity-bias counts
    (:func:`severity_cells`).

    Examples
    --------
    >>> out = pd.DataFrame({"id": [1, 2, 1, 2], "definition": ["a", "a", "b", "b"],
    ...                     "family": ["x", "x", "y", "y"],
    ...                     "status": ["met", "not_met", "met", "met"]})
    >>> m = agreement_cells(out)
    >>> int(m["a x b: met/met"].sum()), int(m["pattern: a, b"].sum())
    (1, 1)
    """
    from analysis.compare import agreement

    defs = list(dict.fromkeys(outcomes["definition"]))
    pairs = [(a, b) for i, a in enumerate(defs) for b in defs[i + 1 :]]
    m = disclosure.outcome_cells(outcomes, pairs=pairs, categories=False)
    ids = m.index
    wide = agreement.success_indicators(outcomes)
    complete = wide.notna().all(axis=1)
    sets: dict = {
        "pattern: evaluable under all": wide.index[complete],
        "pattern: excluded": wide.index[~complete],
    }
    names = wide.loc[complete].astype(bool).apply(lambda r: pattern_name(r, list(wide)), axis=1)
    for name, sub in names.groupby(names):
        sets[str(name)] = sub.index
    if "family" in outcomes.columns:
        fam = agreement.family_success(outcomes)
        fams = list(dict.fromkeys(outcomes["family"]))
        for i, fa in enumerate(fams):
            for fb in fams[i + 1 :]:
                both = fam[[fa, fb]].dropna()
                a, b = both[fa].eq(1), both[fb].eq(1)
                key = f"families {fa} / {fb}"
                sets[f"{key}: both"] = both.index[a & b]
                sets[f"{key}: only {fa}"] = both.index[a & ~b]
                sets[f"{key}: only {fb}"] = both.index[~a & b]
                sets[f"{key}: neither"] = both.index[~a & ~b]
                sets.update(agreement.family_profile_sets(outcomes, fa, fb, profile))
    m = _join(m, disclosure.membership_from_ids(sets, ids))
    if baseline is not None:
        m = _join(m, severity_cells(outcomes, baseline))
    return m


def gain_cells(byperson: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Membership of the sudden-gain counts (notebook 06), overall and per level of ``by``.

    ``"sg: clients"``, ``"sg: with gain"``, ``"sg: reversed"`` and ``"sg: without reversal"``
    (each also ``" | <level>"``), as :func:`analysis.compare.sessions.gain_summary` counts them.

    Examples
    --------
    >>> bp = pd.DataFrame({"id": [1, 2, 3], "sg_crit123": [1.0, 1.0, 0.0],
    ...                    "sg_reversal": [1.0, 0.0, None]})
    >>> gain_cells(bp).sum().tolist()
    [3, 2, 1, 1]
    """
    g = byperson["sg_crit123"].fillna(0).astype(int).eq(1).to_numpy()
    r = byperson["sg_reversal"].fillna(0).astype(int).eq(1).to_numpy()
    ids = byperson["id"].to_numpy()
    parts = [("", np.ones(len(byperson), dtype=bool))]
    if by and by in byperson.columns:
        parts += [(f" | {v}", (byperson[by] == v).to_numpy()) for v in pd.unique(byperson[by])]
    sets = {}
    for sfx, inside in parts:
        sets[f"sg: clients{sfx}"] = ids[inside]
        sets[f"sg: with gain{sfx}"] = ids[inside & g]
        sets[f"sg: reversed{sfx}"] = ids[inside & r]
        sets[f"sg: without reversal{sfx}"] = ids[inside & g & ~r]
    return disclosure.membership_from_ids(sets, ids)


def methods_for_plan(
    nd: NotebookData,
    measure: str,
    reliability: float | None = None,
    methods: tuple = ("JT", "GLN", "HLL", "EN", "NK", "HA", "HLM"),
    cutoff_type: str = "default",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    post: str | float = "last",
    missing: str = "last_available",
    hlm_test: str = "cohort",
) -> pd.DataFrame | None:
    """The reliable-change methods comparison notebook 01 shows, for the run's disclosure plan.

    As notebook 01 computes it (:func:`analysis.outcomes.engine.compare_methods` with the same
    arguments), so that its category counts enter the plan before any table of the run is
    shown. None when the data have no Jacobson-Truax definition or no method can be computed.

    Examples
    --------
    >>> nd = outcomes_for_notebook("btheb", {}, "bdi2")  # doctest: +SKIP
    >>> methods_for_plan(nd, "bdi2")["method"].nunique()  # doctest: +SKIP
    7
    """
    everything = nd.all_outcomes if nd.all_outcomes is not None else nd.outcomes
    if "clinically_significant" not in set(everything["definition"]):
        return None
    try:
        res = outcomes.compare_methods(
            nd.cohort,
            measure,
            reliability=reliability,
            methods=tuple(methods),
            cutoff_type=cutoff_type,
            m_functional=m_functional,
            sd_functional=sd_functional,
            post=post if post == "last" else float(post),
            missing=missing,
            hlm_test=hlm_test,
            registry=nd.registry,
        )
    except ValueError:
        return None
    return res if res.attrs.get("methods") else None
