"""What reviewers see: tables with small counts suppressed, figures with alt text, summaries.

Functions here format results for the rendered HTML (they never compute science). Per-client rows
never reach the HTML: they go to CSV files beside it (:func:`write_csv`).
"""

from __future__ import annotations

import base64
import html
import io as _io
import re
from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.registry.definitions import FAMILY_LABELS

__all__ = [
    "SMALL_COUNT",
    "suppress_small_counts",
    "format_prevalence",
    "prevalence_csv",
    "table_html",
    "show_table",
    "figure_html",
    "show_figure",
    "parameter_value",
    "parameter_label",
    "parameter_codes",
    "PARAMETER_LABELS",
    "banner_html",
    "coarse_statistics",
    "disclosure_parameters",
    "show_banner",
    "methods_html",
    "show_methods",
    "write_csv",
    "write_identifiable_csv",
    "IDENTIFIABLE_NOTE",
    "output_folder",
    "provenance_html",
    "INTERACTIVE_FOLDER",
]

# counts 1..4 are shown as "<5": a common disclosure-control rule (e.g. NHS England / NHS Digital
# small-number suppression in published statistics)
SMALL_COUNT = 5


def _display(obj) -> None:
    from IPython.display import HTML, display

    display(HTML(obj))


def suppress_small_counts(
    table: pd.DataFrame,
    count_cols: Iterable[str],
    derived_cols: Iterable[str] = (),
    complement: tuple[str, str] | None = None,
    threshold: int = SMALL_COUNT,
    derived_from: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Show counts from 1 to ``threshold - 1`` as ``"<threshold"``; blank what derives from them.

    Parameters
    ----------
    table : pandas.DataFrame
        Not modified.
    count_cols : iterable of str
        Count columns to check and mask.
    derived_cols : iterable of str
        Columns (percentages, CIs) masked as ``"suppressed"`` in any row where a count was masked.
    complement : (part, total), optional
        Also treat ``total - part`` as a count (e.g. not-met = evaluable - met), so a small
        complement cannot be recovered by subtraction.
    threshold : int
        Smallest count shown (default 5).
    derived_from : iterable of str, optional
        The counts the derived columns are computed from (default: every count column). A small
        count outside this list is masked itself but does not blank the derived columns (e.g. the
        number of non-evaluable clients does not enter the success percentage).

    Returns
    -------
    pandas.DataFrame
        A copy with object dtype in the masked columns.
    """
    out = table.copy()
    count_cols, derived_cols = list(count_cols), list(derived_cols)
    small = pd.DataFrame(False, index=out.index, columns=count_cols)
    for c in count_cols:
        v = pd.to_numeric(out[c], errors="coerce")
        small[c] = (v >= 1) & (v < threshold)
    basis = count_cols if derived_from is None else list(derived_from)
    unknown = sorted(set(basis) - set(count_cols))
    if unknown:
        raise ValueError(f"derived_from names {unknown}, which are not count columns {count_cols}")
    row_small = small[basis].any(axis=1)
    if complement is not None:
        part, total = complement
        comp = pd.to_numeric(out[total]) - pd.to_numeric(out[part])
        comp_small = (comp >= 1) & (comp < threshold)
        row_small |= comp_small
    for c in count_cols:
        out[c] = out[c].astype(object).where(~small[c], f"<{threshold}")
    for c in derived_cols:
        out[c] = out[c].astype(object).where(~row_small, "suppressed")
    return out


def format_prevalence(prev: pd.DataFrame, suppress: bool = True, label=None) -> pd.DataFrame:
    """Prevalence table for display: percentages with 95 % Wilson CI, small counts suppressed.

    Parameters
    ----------
    prev : pandas.DataFrame
        Output of :func:`analysis.compare.prevalence.prevalence`.
    suppress : bool
        Apply :func:`suppress_small_counts` (default True; always on for non-simulated data in the
        pipeline unless configured otherwise).
    label : callable, optional
        Definition name -> label shown (default: the name with underscores as spaces, e.g. the
        definitions file's ``label`` through :func:`analysis.report.text.labeller`).

    Returns
    -------
    pandas.DataFrame
        Grouping columns (headed in words; a ``family`` column shows the family's label),
        ``definition``, ``met``, ``evaluable``, ``not evaluable``, ``% met (95% CI)``
        (``"41.2 (32.0 to 51.0)"``; "not computed" without evaluable clients).

    Examples
    --------
    >>> prev = pd.DataFrame({"family": ["child_family"], "definition": ["sdq_normal_band"],
    ...     "n_met": [14], "n_evaluable": [34], "n_not_evaluable": [0],
    ...     "proportion": [14 / 34], "ci_low": [0.2626], "ci_high": [0.5763]})
    >>> format_prevalence(prev).iloc[0, [0, 1, 5]].tolist()
    ['child and family', 'sdq normal band', '41.2 (26.3 to 57.6)']
    """
    keys = [
        c
        for c in prev.columns
        if c
        not in {
            "definition",
            "n_met",
            "n_evaluable",
            "n_not_evaluable",
            "proportion",
            "ci_low",
            "ci_high",
        }
    ]
    pct = np.where(
        prev["n_evaluable"] > 0,
        [
            f"{100 * p:.1f} ({100 * lo:.1f} to {100 * hi:.1f})"
            for p, lo, hi in zip(prev["proportion"], prev["ci_low"], prev["ci_high"], strict=True)
        ],
        "not computed",
    )
    out = pd.DataFrame(
        {  # grouping columns headed in words; a family by its label (FAMILY_LABELS)
            **{
                k.replace("_", " "): prev[k].map(lambda f: FAMILY_LABELS.get(f, f))
                if k == "family"
                else prev[k]
                for k in keys
            },
            "definition": [
                (label or (lambda d: str(d).replace("_", " ")))(d) for d in prev["definition"]
            ],
            "met": prev["n_met"],
            "evaluable": prev["n_evaluable"],
            "not evaluable": prev["n_not_evaluable"],
            "% met (95% CI)": pct,
        }
    )
    if suppress:
        # the percentage derives from met and evaluable (and so from not met = evaluable - met)
        out = suppress_small_counts(
            out,
            ["met", "evaluable", "not evaluable"],
            ["% met (95% CI)"],
            ("met", "evaluable"),
            derived_from=["met", "evaluable"],
        )
    return out


def prevalence_csv(prev: pd.DataFrame, suppress: bool = True) -> pd.DataFrame:
    """The prevalence table as written beside a report: the same cells hidden as in the report.

    With ``suppress``, counts from 1 to 4 read "<5" and the proportion and its interval read
    "suppressed" wherever the report's percentage is (met or not met small), so a CSV never
    gives back what its report hides.

    Examples
    --------
    >>> import pandas as pd
    >>> prev = pd.DataFrame({"definition": ["a"], "n_met": [2], "n_evaluable": [52],
    ...                      "n_not_evaluable": [0], "proportion": [2 / 52], "ci_low": [0.01],
    ...                      "ci_high": [0.13]})
    >>> prevalence_csv(prev).iloc[0].tolist()
    ['a', '<5', 52, 0, 'suppressed', 'suppressed', 'suppressed']
    """
    if not suppress:
        return prev
    return suppress_small_counts(
        prev,
        ["n_met", "n_evaluable", "n_not_evaluable"],
        ["proportion", "ci_low", "ci_high"],
        ("n_met", "n_evaluable"),
        derived_from=["n_met", "n_evaluable"],
    )


def _float_cell(v, floatfmt: str) -> str:
    """A float for a table cell: empty for NaN, never "-0" (a negative value rounded to zero)."""
    if pd.isna(v):
        return ""
    s = floatfmt.format(v)
    return s[1:] if re.fullmatch(r"-0(?:\.0*)?(?:e[+-]?\d+)?", s) else s


def table_html(df: pd.DataFrame, caption: str = "", floatfmt: str = "{:.3g}") -> str:
    """An HTML table (no index) with a caption; floats formatted for display only.

    Examples
    --------
    >>> import pandas as pd
    >>> page = table_html(pd.DataFrame({"PABAK": [-0.0001, -0.5, float("nan")]}), "x", "{:.2f}")
    >>> [c for c in ("0.00", "-0.50", "-0.00", "nan") if f"<td>{c}</td>" in page]
    ['0.00', '-0.50']

    A pivot's column-axis name (``columns.name``) would be written as an extra, empty leading
    column; it is dropped:

    >>> d = pd.DataFrame({"method": ["JT", "HA"], "level": ["a", "a"], "n": [1, 3]})
    >>> wide = d.pivot(index="method", columns="level", values="n").reset_index()
    >>> "<th>level</th>" in table_html(wide), "<th></th>" in table_html(wide)
    (False, False)
    """
    shown = df.copy()
    shown.columns.name = None  # to_html writes a named column axis as an empty leading column
    for c in shown.columns:
        if pd.api.types.is_float_dtype(shown[c]):
            shown[c] = shown[c].map(lambda v: _float_cell(v, floatfmt))
    body = shown.to_html(index=False, escape=True, border=0, classes="analysis-table")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    # pandas writes ``<table border="0" class=...>`` or ``<table class=...>`` depending on version
    return re.sub(r"<table[^>]*>", lambda _: f'<table class="analysis-table">{cap}', body, count=1)


def show_table(df: pd.DataFrame, caption: str = "", floatfmt: str = "{:.3g}") -> None:
    """Display :func:`table_html` in a notebook (returns None, so nothing else is printed)."""
    _display(table_html(df, caption, floatfmt))


def figure_html(obj, alt: str | None = None, dpi: int = 110) -> str:
    """Render a figure (or axes) to an embedded PNG ``<img>`` with alt text, and close it.

    Parameters
    ----------
    obj : matplotlib Figure or Axes
    alt : str, optional
        Alt text; default the figure's ``alt_text`` attribute set by :mod:`analysis.report.plots`.

    Raises
    ------
    ValueError
        If no alt text is given or attached, or the figure has no title: every figure in a
        report must have both.
    """
    fig = obj.figure if hasattr(obj, "figure") and not isinstance(obj, plt.Figure) else obj
    text = alt or getattr(fig, "alt_text", None)
    if not text:
        raise ValueError(
            "a report figure needs alt text (pass alt= or use analysis.report.plots helpers)"
        )
    titled = bool(fig.get_suptitle()) or any(
        ax.get_title() or ax.get_title("left") for ax in fig.axes
    )
    if not titled:
        raise ValueError("a report figure needs a title (ax.set_title or fig.suptitle)")
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(text)}" '
        f'style="max-width:100%"/><figcaption>{html.escape(text)}</figcaption></figure>'
    )


def show_figure(obj, alt: str | None = None) -> None:
    """Display :func:`figure_html` in a notebook (no object representation is printed)."""
    _display(figure_html(obj, alt))


def _plain(value) -> str:
    """A parameter value as a reviewer reads it (no Python quotes or reprs)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str):  # an identifier-like value ("last_available") in words
        return (value.replace("_", " ") if re.fullmatch(r"[a-z0-9_]+", value) else value) or (
            "(empty)"
        )
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value) if value else "(empty)"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v)}" for k, v in value.items()) if value else "(empty)"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _names_a_measure(name) -> bool:
    """Whether a parameter's value is an instrument code (``measure``, ``alliance_measure``)."""
    return isinstance(name, str) and (name == "measure" or name.endswith("_measure"))


def _instrument_label(code: str) -> str | None:
    """The registry label of an instrument code (``"bdi2"`` -> ``"BDI-II"``); None if unknown."""
    from analysis.registry.instruments import get_instrument

    try:
        return get_instrument(code).label
    except (ValueError, KeyError):
        return None


#: How the reports and the index name each parameter of the notebooks (the exact names are in a
#: run's ``run.json``); a parameter not listed is shown by its name in words.
PARAMETER_LABELS = {
    "run_name": "run",
    "dataset": "dataset",
    "dataset_options": "dataset options",
    "measure": "primary measure",
    "reliability": "reliability (RCI)",
    "reliability_source": "source of the reliability",
    "cutoff_type": "J&T cutoff",
    "m_functional": "functional population mean (points)",
    "sd_functional": "functional population SD (points)",
    "post": "post score",
    "definitions": "definitions file",
    "missing": "missing data",
    "compare": "definitions compared",
    "group": "groups compared (client column)",
    "suppress_small_counts": "small-count suppression",
    "disclosure_method": "disclosure method",
    "client_outcomes": "per-client tables (identifiable)",
    "rci_methods": "reliable-change methods",
    "hlm_test": "HLM rule",
    "event": "event",
    "alliance_measure": "alliance measure",
    "landmark": "landmark (time point)",
    "multiverse": "specification grid",
    "imputations": "imputations (m)",
    "sg_cutoff": "sudden gain criterion 1 (points)",
    "sg_pct": "sudden gain criterion 2 (share of the pregain score)",
    "sg_crit3": "sudden gain criterion 3 (t test)",
    "sg_multiple": "gain kept for a client with several",
    "sg_reversal_window": "sessions checked for a reversal",
    "band": "expected-curve band (central probability)",
    "folds": "cross-fitting folds",
    "seed": "seed of the fold assignment",
}

#: What an empty value (None, "" or an empty list) of these parameters means.
_EMPTY_MEANS = {
    "reliability": "the instrument registry's value for the measure",
    "reliability_source": "the instrument registry's source",
    "definitions": "the package's definitions file",
    "compare": "the headline definitions",
    "group": "none",
    "dataset_options": "none",
    "sg_cutoff": "the registry's, else from the reliable change index",
    "sg_pct": "not used",
}


def _value_labels(name: str):
    """The labels of one parameter's values (a mapping or a function); None if it has none.

    Each comes from where the parameter's values are defined (one producer per label).
    """
    if name == "dataset":
        from analysis.data.datasets import DATASET_LABELS

        return DATASET_LABELS
    if name == "cutoff_type":
        from analysis.registry.instruments import CUTOFF_TYPE_LABELS

        return CUTOFF_TYPE_LABELS
    if name == "missing":
        from analysis.outcomes.rules import MISSING_STRATEGY_LABELS

        return MISSING_STRATEGY_LABELS
    if name == "post":
        from analysis.outcomes.rules import post_label

        return post_label
    if name == "hlm_test":
        from analysis.outcomes.hlm import HLM_TEST_LABELS

        return HLM_TEST_LABELS
    if name == "event":
        from analysis.compare.survival import EVENT_LABELS

        return EVENT_LABELS
    if name in ("sg_multiple", "sg_reversal_window"):
        from analysis.outcomes.sudden_gains import OPTION_LABELS

        return OPTION_LABELS[name.removeprefix("sg_")]
    return None


def parameter_codes(name: str | None = None) -> set[str]:
    """The codes a reviewer page must not show as a value, as the code and in words.

    Each parameter value (and multiverse level) whose label differs from its code: what
    :func:`analysis.report.html.reviewer_leftovers` looks for in table cells and after a
    parameter's name. The single letters of the J&T cutoffs (a, b, c: the paper's own names,
    shown as "cutoff a") are left out, as they are also ordinary words and cell values.

    Parameters
    ----------
    name : str, optional
        One parameter (e.g. ``"post"``, ``"dataset"``); None: every parameter's and every
        multiverse level's codes except the dataset names (a run is often named after its
        dataset, and the run's name is shown as it is).

    Examples
    --------
    >>> codes = parameter_codes()
    >>> {"last", "locf", "dropout as failure", "dropout_as_failure", "cohort", "severe"} <= codes
    True
    >>> "a" in codes, "first met" in codes, "btheb" in codes, "btheb" in parameter_codes("dataset")
    (False, False, False, True)
    """
    from analysis.compare.multiverse import POPULATION_LABELS, level_label

    if name is None:
        maps = [
            POPULATION_LABELS,
            {"multiple_imputation": level_label("missing", "multiple_imputation")},
        ]
        names = [n for n in PARAMETER_LABELS if n != "dataset"]
    else:
        maps, names = [], [name]
    for n in names:
        labels = _value_labels(n)
        if n == "post":
            maps.append({"last": labels("last")})
        elif isinstance(labels, dict):
            maps.append(labels)
    codes = set()
    for m in maps:
        for code, label in m.items():
            for form in (code, code.replace("_", " ")):
                if form != label and len(form) > 1:
                    codes.add(form)
    return codes


def parameter_label(name: str) -> str:
    """How a report names a parameter (:data:`PARAMETER_LABELS`, else its name in words).

    Examples
    --------
    >>> parameter_label("cutoff_type"), parameter_label("post"), parameter_label("my_option")
    ('J&T cutoff', 'post score', 'my option')
    """
    return PARAMETER_LABELS.get(str(name), str(name).replace("_", " "))


def parameter_value(value, name: str | None = None) -> str:
    """A parameter's value as the report's parameter tables show it (no quotes or reprs).

    The reports and the index show parameters in words; the exact names and values a run used
    are in its ``run.json`` (linked from the index).

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str, optional
        The parameter's name. Where it names a measure (``measure``, or ending in
        ``_measure``, e.g. ``alliance_measure``) and the value is a code of the instrument
        registry, the instrument's label is shown (``bdi2`` -> ``BDI-II``) rather than the code;
        a code the registry does not know is shown in words like any other value. The values of
        ``dataset``, ``cutoff_type``, ``missing``, ``post``, ``hlm_test``, ``event``,
        ``sg_multiple`` and ``sg_reversal_window`` are shown by the labels defined beside each
        parameter's values (e.g. :data:`analysis.outcomes.rules.MISSING_STRATEGY_LABELS`,
        :func:`analysis.outcomes.rules.post_label`); an empty value of a parameter whose empty
        value means a default says which.

    Returns
    -------
    str

    Examples
    --------
    >>> parameter_value("last_available"), parameter_value(None), parameter_value(True)
    ('last available', 'none', 'on')
    >>> parameter_value({}), parameter_value(["JT", "HLM"]), parameter_value(0.9)
    ('(empty)', 'JT, HLM', '0.9')
    >>> parameter_value("bdi2", "measure"), parameter_value("wai_sr", "alliance_measure")
    ('BDI-II', 'WAI-SR')
    >>> parameter_value("bdi2"), parameter_value("my_scale", "measure")
    ('bdi2', 'my scale')
    >>> parameter_value("last", "post"), parameter_value("cohort", "hlm_test")[:26]
    ('the last score observed after baseline', "client's slope against the")
    >>> parameter_value("locf", "missing"), parameter_value("", "definitions")
    ('last observation carried forward (LOCF)', "the package's definitions file")
    """
    if _names_a_measure(name) and isinstance(value, str):
        label = _instrument_label(value)
        if label:
            return label
    if name in _EMPTY_MEANS and (value is None or (not isinstance(value, bool) and not value)):
        return _EMPTY_MEANS[name]
    labels = _value_labels(name) if isinstance(name, str) else None
    if callable(labels) and value is not None:
        return labels(value)
    if isinstance(labels, dict) and str(value) in labels:
        return labels[str(value)]
    return _plain(value)


def disclosure_parameters(parameters: dict) -> dict:
    """The parameters as a report lists them, with one coherent row for disclosure control.

    ``suppress_small_counts`` switches disclosure control on or off and ``disclosure_method``
    chooses how; listing "suppress small counts = true" beside "disclosure method = rounding"
    reads as if counts were suppressed too. So: with control on and the rounding method, the
    ``suppress_small_counts`` row is left out (``disclosure_method`` says what is done); with
    control off, the ``disclosure_method`` row is left out (no method is applied). Suppression,
    the default, keeps both rows.

    Examples
    --------
    >>> on = {"suppress_small_counts": True, "disclosure_method": "rounding"}
    >>> list(disclosure_parameters(on))
    ['disclosure_method']
    >>> list(disclosure_parameters({**on, "suppress_small_counts": False}))
    ['suppress_small_counts']
    """
    out = dict(parameters)
    if "suppress_small_counts" in out and "disclosure_method" in out:
        if not out["suppress_small_counts"]:
            out.pop("disclosure_method")
        elif out["disclosure_method"] == "rounding":
            out.pop("suppress_small_counts")
    return out


def banner_html(cohort: Cohort, parameters: dict, summary: str = "") -> str:
    """The opening block of a report: dataset, whether simulated, summary and parameters.

    Parameters
    ----------
    cohort : Cohort
    parameters : dict
        The notebook's final typed parameters (shown as a table).
    summary : str
        One or two sentences of headline findings.
    """
    sim = ""
    if cohort.simulated:
        src = cohort.meta.get("params_file", "the default parameter file")
        seed = cohort.meta.get("seed", "?")
        sim = (
            '<p class="simulated-banner" style="background:#fff3cd;padding:0.5em;'
            'border-left:4px solid #e0a800"><strong>Simulated data.</strong> These clients do not '
            f"exist: the cohort was generated from {html.escape(str(src))} with seed "
            f"{html.escape(str(seed))}, calibrated to published figures.</p>"
        )
    parameters = disclosure_parameters(parameters)
    params = pd.DataFrame(
        {
            "parameter": [parameter_label(k) for k in parameters],
            "value": [parameter_value(v, k) for k, v in parameters.items()],
        }
    )
    account = cohort.meta.get("input_account")
    if account:
        reasons = cohort.meta.get("quarantine", {}).get("reasons", {})
        why = ", ".join(f"{k} {v}" for k, v in reasons.items())
        sim += (
            f"<p><strong>Input:</strong> {html.escape(account)}"
            + (
                f" (quarantined: {html.escape(why)}; see quarantine.csv beside this report)"
                if why
                else ""
            )
            + ".</p>"
        )
    description = cohort.description
    if (
        parameters.get("suppress_small_counts")
        and parameters.get("disclosure_method") == "rounding"
    ):
        # N as the run shows every count: rounded (an exact N anchors subtractions)
        from analysis.report.disclosure import rounded_in_text

        description = rounded_in_text(description, cohort.n_clients)
    return (
        '<section class="analysis-summary"><h2>Summary</h2>'
        f"{sim}<p>{html.escape(summary)}</p>"
        f"<p><strong>Data:</strong> {html.escape(description or cohort.name)} "
        f"<em>Source:</em> {html.escape(cohort.citation or 'user-supplied data file')}</p>"
        + table_html(params, "Parameters of this report")
        + "</section>"
    )


def show_banner(cohort: Cohort, parameters: dict, summary: str = "") -> None:
    """Display :func:`banner_html` in a notebook."""
    _display(banner_html(cohort, parameters, summary))


_SNAKE = re.compile(r"\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b")


def _words(value):
    """Snake_case identifiers inside a display string as words; other values unchanged."""
    if not isinstance(value, str):
        return value
    return _SNAKE.sub(lambda m: m.group(1).replace("_", " "), value)


def methods_html(sources: pd.DataFrame, text: str = "") -> str:
    """The closing block of a report: every threshold with its source, then the methods text.

    Parameters
    ----------
    sources : pandas.DataFrame
        Columns ``item``, ``value``, ``source``: one row per threshold or choice.
    text : str
        Paragraph(s) on formulas and conventions, with citations (blank lines separate paragraphs).

    Returns
    -------
    str
        ``<section class="analysis-methods">`` with an ``<h2>Methods</h2>`` heading.

    Raises
    ------
    ValueError
        If a column is missing or a row has an empty source: every threshold needs one.
    """
    missing = sorted({"item", "value", "source"} - set(sources.columns))
    if missing:
        raise ValueError(f"methods table lacks column(s) {missing}")
    empty = sources.loc[sources["source"].fillna("").astype(str).str.strip() == "", "item"]
    if len(empty):
        raise ValueError(f"methods rows without a source: {empty.tolist()}")
    paras = "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())
    shown = sources[["item", "value", "source"]].copy()
    for c in ("item", "value", "source"):  # identifiers (definition, parameter names) in words
        shown[c] = [_words(v) for v in shown[c]]
    return (
        '<section class="analysis-methods"><h2>Methods</h2>'
        + table_html(shown, "Thresholds and their sources")
        + paras
        + "</section>"
    )


def show_methods(sources: pd.DataFrame, text: str = "") -> None:
    """Display :func:`methods_html` in a notebook (the last output of every report)."""
    _display(methods_html(sources, text))


#: Sub-folder of ``reports/`` for tables of a notebook run by hand (``output_dir`` left empty).
INTERACTIVE_FOLDER = "lab"


def output_folder(output_dir: str | Path | None = "") -> Path:
    """Resolve a notebook's ``output_dir`` to the folder its tables go to, never the notebook's.

    Parameters
    ----------
    output_dir : str or Path, optional
        The notebook parameter. Empty (a notebook run by hand in JupyterLab): ``reports/lab``
        under the project root. Relative: against the project root, never the working folder
        (which is ``notebooks/`` in JupyterLab). Absolute (the main job passes
        ``reports/<run>``): as given.

    Returns
    -------
    pathlib.Path
        An absolute folder (not created here).

    Examples
    --------
    >>> from analysis.registry import paths
    >>> output_folder("") == paths.reports_dir() / "lab"
    True
    >>> output_folder("reports/mine") == paths.project_root() / "reports" / "mine"
    True
    """
    from analysis.registry import paths

    if output_dir is None or not str(output_dir).strip():
        return paths.reports_dir() / INTERACTIVE_FOLDER
    p = Path(output_dir).expanduser()
    return p if p.is_absolute() else paths.project_root() / p


def write_csv(df: pd.DataFrame, folder: str | Path | None, name: str) -> Path:
    """Write a table beside the report as deterministic CSV, rows in the order given.

    Delegates to :func:`analysis.data.store.write_table_csv` (the only module that writes
    files), with
    floats to 6 significant digits.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    folder : str or Path or None
        The notebook's ``output_dir``, resolved by :func:`output_folder` (empty: ``reports/lab``;
        relative: against the project root), so a notebook never writes beside itself.
    name : str
        File name, e.g. ``"outcomes.csv"``.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from analysis.data.store import write_table_csv
    from analysis.report.disclosure import plan_method, read_plan

    where = output_folder(folder)
    if name != "disclosure_plan.csv" and plan_method(read_plan(where)) == "rounding":
        df = coarse_statistics(df)
    return write_table_csv(df, where / name, float_format="%.6g", sort_by=[])


def coarse_statistics(df: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """Every non-whole number of a table to ``digits`` significant digits (rounding method).

    Under the rounding method a CSV beside the reports holds no statistic at full precision: a
    value computed from the exact counts and written to 16 digits gives them back as a fraction
    (a reviewer factorised 1 - 0.5824471129802916 = 69300/165967 to find 97 evaluable clients).
    The statistics the method computes from the rounded counts need no such care, but the model
    estimates it computes from the unrounded data (hazard ratios, log-rank statistics, medians,
    regression coefficients) are written as the reports show them, to 3 significant digits, in
    float and in mixed (object) columns alike; whole numbers (counts) and text are unchanged.
    :func:`write_csv` applies it in a folder whose disclosure plan uses the rounding method.

    Examples
    --------
    >>> t = pd.DataFrame({"n": [95], "p": [0.5824471129802916], "x": ["suppressed"]})
    >>> coarse_statistics(t).to_dict("records")
    [{'n': 95, 'p': 0.582, 'x': 'suppressed'}]
    """

    def one(v):
        if isinstance(v, bool | np.bool_) or not isinstance(v, float | np.floating):
            return v
        if not np.isfinite(v) or float(v).is_integer():
            return v
        return float(f"{float(v):.{digits}g}")

    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]) or out[c].dtype == object:
            out[c] = out[c].map(one)
    return out


#: The first lines of the README written beside every client-level file.
IDENTIFIABLE_NOTE = (
    "IDENTIFIABLE: {name} holds one row per client (client identifier, scores, dates or times, "
    "outcome). It is personal data: keep it where the source export is kept, never publish or "
    "e-mail it, and delete it when the analysis no longer needs it. It was written because the "
    "run asked for it (parameter client_outcomes); the reports and the other tables of this "
    "folder hold only counts, with small counts suppressed on real data."
)


def write_identifiable_csv(df: pd.DataFrame, folder: str | Path | None, stem: str) -> Path:
    """Write a client-level table, marked identifiable in its name and by a README beside it.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per client (or client x definition).
    folder : str or Path or None
        As :func:`output_folder`.
    stem : str
        Base name, e.g. ``"outcomes"``: the file is ``<stem>-identifiable.csv`` and the note
        ``<stem>-identifiable.README.txt``.

    Returns
    -------
    pathlib.Path
        The CSV file.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> p = write_identifiable_csv(pd.DataFrame({"id": ["c1"]}), tempfile.mkdtemp(), "outcomes")
    >>> p.name, p.with_name("outcomes-identifiable.README.txt").read_text()[:12]
    ('outcomes-identifiable.csv', 'IDENTIFIABLE')
    """
    name = f"{stem}-identifiable.csv"
    path = write_csv(df, folder, name)
    path.with_name(f"{stem}-identifiable.README.txt").write_text(
        IDENTIFIABLE_NOTE.format(name=name) + "\n", encoding="utf-8"
    )
    return path


def provenance_html(provenance: dict) -> str:
    """The provenance footer of one report: run, commit, date, data SHA-256, package versions.

    Every rendered report carries it (:func:`analysis.report.html.render_html`), so a report
    e-mailed
    on its own still says what produced it; ``reports/index.html`` repeats it per run.

    Parameters
    ----------
    provenance : dict
        Keys ``run``, ``git_commit``, ``date``, ``data_sha256`` (str; 64 hex characters) and
        ``versions`` (dict of package to version). A missing or empty key is shown as
        "not recorded", never left out.

    Returns
    -------
    str
        An HTML ``<footer class="analysis-provenance">`` element (values escaped).

    Examples
    --------
    >>> html_ = provenance_html({"run": "btheb", "git_commit": "abc1234", "date": "2026-12-01",
    ...                          "data_sha256": "0" * 64, "versions": {"pandas": "2.2.3"}})
    >>> "commit <code>abc1234</code>" in html_ and "pandas 2.2.3" in html_
    True
    """

    def val(key: str) -> str:
        v = provenance.get(key)
        return html.escape(str(v)) if v not in (None, "") else "not recorded"

    versions = provenance.get("versions") or {}
    software = ", ".join(html.escape(f"{k} {v}") for k, v in versions.items())
    return (
        '<footer class="analysis-provenance" style="margin-top:3em;padding-top:0.5em;'
        'border-top:1px solid #ccc;font-size:0.85em;color:#444">'
        f"<p><strong>Provenance.</strong> Run <code>{val('run')}</code>; "
        f"commit <code>{val('git_commit')}</code>; date {val('date')}; "
        f"input data SHA-256 <code>{val('data_sha256')}</code>.</p>"
        f"<p>Software: {software or 'not recorded'}.</p></footer>"
    )
