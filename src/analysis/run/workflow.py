"""Set-up shared by the comparison notebooks (02-04): one place to load a cohort and score it.

Notebooks 01-04 all start from the same three things: the cohort, the outcome instrument and the
outcomes table of the definitions engine (:func:`analysis.outcomes.engine.score_definitions`, the only
producer of per-client outcomes). :func:`outcomes_for_notebook` builds them once, the same way for
every notebook, so that every report reads the same table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from analysis.data import datasets
from analysis.data.cohort import Cohort
from analysis.outcomes import engine as outcomes
from analysis.registry.instruments import Instrument, get_instrument, load_registry

__all__ = [
    "NotebookData",
    "outcomes_for_notebook",
    "write_cache",
    "read_cache",
    "has_measure",
    "reliability_citation",
    "absent",
    "format_estimate",
    "format_pairs",
    "format_km",
    "say",
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
        Tidy per-client outcomes (:data:`analysis.outcomes.engine.OUTCOME_COLUMNS`) of the definitions
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
    cutoff_type: str = "a",
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
        J&T cutoff (a, b, c or instrument) and functional norms (points) for clinically
        significant change on the primary measure.
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


def reliability_citation(instrument: Instrument, reliability: float | None, given: str = "") -> str:
    """The source to print beside the reliability used for the reliable change index.

    Parameters
    ----------
    instrument : Instrument
        The primary measure's registry entry.
    reliability : float or None
        The value used (None: the registry's).
    given : str
        A citation the user supplied (parameter ``reliability_source``); wins when not empty.

    Returns
    -------
    str
        ``given``; else the registry's source when the value is the registry's (stating its
        type and whether it is confirmed); else a plain statement that no source was given, so a
        report never prints another instrument's citation.
    """
    if given:
        return given
    rel = instrument.reliability or {}
    if rel and (reliability is None or abs(float(rel["value"]) - float(reliability)) < 1e-12):
        kind = str(rel.get("type", "")).replace("_", " ")
        flag = "confirmed" if rel.get("confirmed") else "unconfirmed"
        return f"{rel['source']} ({kind}; {flag}; instrument registry)"
    return (
        f"value given for this run; no source stated (the registry's {instrument.label} value is "
        f"{rel.get('value', 'absent')})"
    )


def has_measure(cohort: Cohort, measure: str, min_clients: int = 3) -> bool:
    """True when at least ``min_clients`` clients have an observed score on ``measure``."""
    s = cohort.scores
    obs = s.loc[(s["measure"] == measure) & s["score"].notna(), "id"]
    return bool(obs.nunique() >= min_clients)


def absent(what: str, cohort: Cohort, needs: str) -> str:
    """The one sentence a notebook shows instead of a section whose data are absent.

    Examples
    --------
    >>> absent("Alliance as a predictor", cohort, "alliance scores (wai_sr)")  # doctest: +SKIP
    'Alliance as a predictor: not available for this dataset (btheb), which has no alliance ...'
    """
    return (
        f"{what}: not available for this dataset ({cohort.name}), which has no {needs}; "
        "this section is therefore left out."
    )


def format_estimate(est, low, high, digits: int = 2) -> list[str]:
    """``"0.45 (0.30 to 0.60)"`` strings for display; ``"undefined"`` where the estimate is NaN."""
    e, lo, hi = (pd.Series(v, dtype=float).to_numpy() for v in (est, low, high))
    return [
        "undefined" if pd.isna(a) else f"{a:.{digits}f} ({b:.{digits}f} to {c:.{digits}f})"
        for a, b, c in zip(e, lo, hi, strict=True)
    ]


def format_pairs(pairs: pd.DataFrame, suppress: bool = True) -> pd.DataFrame:
    """Display version of :func:`analysis.compare.agreement.pairwise_agreement` (no 2x2 cell counts).

    Returns
    -------
    pandas.DataFrame
        ``definition a``, ``definition b``, ``clients in both``, ``% agree``,
        ``kappa (95% CI)`` ("undefined" in words when a definition is constant), ``PABAK``,
        ``McNemar p``, ``note``. With ``suppress``, pairs compared on 1-4 clients show "<5" and
        their derived statistics "suppressed" (:func:`analysis.report.tables.suppress_small_counts`).
    """
    from analysis.report.tables import suppress_small_counts

    out = pd.DataFrame(
        {
            "definition a": pairs["definition_a"].str.replace("_", " "),
            "definition b": pairs["definition_b"].str.replace("_", " "),
            "clients in both": pairs["n_both"],
            "% agree": pairs["percent_agree"].round(1),
            "kappa (95% CI)": format_estimate(
                pairs["kappa"], pairs["kappa_ci_low"], pairs["kappa_ci_high"]
            ),
            "PABAK": pairs["pabak"].round(2),
            "McNemar p": pairs["mcnemar_p"].map(lambda p: "" if pd.isna(p) else f"{p:.3g}"),
            "note": pairs["note"],
        }
    )
    if suppress:
        out = suppress_small_counts(
            out, ["clients in both"], ["% agree", "kappa (95% CI)", "PABAK", "McNemar p"]
        )
    return out


def say(text: str) -> None:
    """Show one Markdown paragraph in a notebook (e.g. the sentence of an absent section)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def format_km(km: pd.DataFrame, unit: str, suppress: bool = True) -> pd.DataFrame:
    """Display version of :func:`analysis.compare.survival.km_summary`.

    Returns
    -------
    pandas.DataFrame
        ``definition``, ``clients``, ``met``, ``dropout``, ``median (<unit>, 95% CI)`` ("not
        reached" where the curve stays above one half), ``% met by end (KM)``; small counts
        suppressed when ``suppress``.
    """
    from analysis.report.tables import suppress_small_counts

    med = f"median ({unit}, 95% CI)"
    shown = pd.DataFrame(
        {
            "definition": km["definition"].str.replace("_", " "),
            "clients": km["n"],
            "met": km["n_met"],
            "dropout": km["n_dropout"],
            med: [
                s.replace("undefined", "not reached")
                for s in format_estimate(km["median"], km["median_ci_low"], km["median_ci_high"], 1)
            ],
            "% met by end (KM)": (100 * km["proportion_met_end"]).round(1),
        }
    )
    if suppress:
        shown = suppress_small_counts(
            shown, ["clients", "met", "dropout"], [med, "% met by end (KM)"], ("met", "clients")
        )
    return shown
