"""Set-up shared by the comparison notebooks (02-04): one place to load a cohort and score it.

Notebooks 01-04 all start from the same three things: the cohort, the outcome instrument and the
outcomes table of the definitions engine (:func:`analysis.outcomes.engine.score_definitions`, the only
producer of per-client outcomes). :func:`outcomes_for_notebook` builds them once, the same way for
every notebook, so that every report reads the same table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data import datasets
from analysis.data.cohort import Cohort
from analysis.outcomes import engine as outcomes
from analysis.registry.instruments import Instrument, get_instrument, load_registry

__all__ = [
    "NotebookData",
    "outcomes_for_notebook",
    "has_measure",
    "reliability_citation",
    "absent",
    "format_estimate",
    "format_pairs",
    "format_km",
    "say",
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
    cutoff_type: str = "default",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    post: str | float = "last",
    definitions: str = "",
    missing: str = "last_available",
    compare: list | None = None,
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
        published clinical cutoff; published/instrument; a, b or c on request) and functional
        norms (points) for clinically significant change on the primary measure.
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

    Returns
    -------
    NotebookData

    Raises
    ------
    ValueError
        From the loader or the scoring (unknown dataset, measure or definition, bad post time
        point, invalid definitions file naming the definition and key).
    """
    from analysis.registry.paths import project_root

    post_rule = post if post == "last" else float(post)
    cohort = datasets.load_dataset(dataset, **(dataset_options or {}))
    # the registry is built here, from the package's and the cohort's own instrument files (a
    # user's export may name some); nothing process-wide is changed
    registry = load_registry(instruments=cohort.meta.get("instruments"))
    instrument = get_instrument(measure, registry)
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
    pp = outcomes.prepost(
        cohort.scores, cohort.clients, measure, post=post_rule, missing=missing, registry=registry
    )
    baseline = pd.DataFrame({"id": pp["id"], "severity": pp["baseline"]})
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


def reliable_change_rows(outcomes: pd.DataFrame, skipped: dict | None = None) -> list[tuple]:
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
                f"cutoff {cs['cutoff_rule']}: {float(cs['cutoff']):.2f} points",
                f"{cs['cutoff_reason']}. {jt_src}; Bauer S., Lambert M.J. & Nielsen S.L. (2004) "
                "J Pers Assess 82(1):60-70 (cutoff c where norms exist)",
            )
        )
    else:
        why = skipped.get("clinically_significant", "not among the definitions of this run")
        rows.append(("J&T cutoff for clinically significant change", f"not computed: {why}", ""))
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
