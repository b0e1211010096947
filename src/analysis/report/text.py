"""Sentences and numbers as a reviewer reads them, and the run's disclosure plan on tables.

Numbers follow the conventions of a journal article: ``p < .001`` and ``p = .023`` (APA 7th ed.
§6.36: no leading zero for a probability), "95 % CI", "not reached" for a median a survival curve
never reaches, "not computed" for an estimate that could not be computed, and never "nan" or
"-0". Definitions and variables are shown by their label (the definitions file's ``label``, the
instrument registry's label), never by an identifier.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from analysis.data.datasets import CLIENT_COLUMN_LABELS
from analysis.registry.definitions import FAMILY_LABELS
from analysis.registry.instruments import Instrument
from analysis.report.disclosure import SMALL_COUNT

__all__ = [
    "time_units",
    "reliability_citation",
    "reliability_shown",
    "km_share_reasons",
    "hlm_all_unchanged",
    "absent",
    "say",
    "number",
    "format_p",
    "format_estimate",
    "format_pairs",
    "kappa_note",
    "family_profile_headers",
    "format_km",
    "labeller",
    "plain_label",
    "family_label",
    "measure_label",
    "name_list",
    "in_words",
    "STAT_HEADERS",
    "statistics_table",
    "hidden_label",
    "apply_plan",
    "format_prevalence_plan",
]


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

    Examples
    --------
    >>> from analysis.registry.instruments import get_instrument
    >>> reliability_citation(get_instrument("phq9"), 0.8, "my pilot study")
    'my pilot study'
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


def reliability_shown(instrument: Instrument, reliability: float | None) -> str:
    """The reliability used for the reliable change index, as a report prints it.

    Parameters
    ----------
    instrument : Instrument
        The primary measure's registry entry.
    reliability : float or None
        The run's parameter (None: the registry's value for the measure, the notebooks' documented
        default, which the outcome engine then uses).

    Returns
    -------
    str
        The value in ``:g`` format (``"0.92"``); for None, the registry's value; when the registry
        holds none either, ``"not computed: no reliability given or in the instrument registry"``
        (the reliable change index then cannot be computed).

    Examples
    --------
    >>> from analysis.registry.instruments import get_instrument
    >>> reliability_shown(get_instrument("phq9"), None)  # Kroenke et al. 2001, in the registry
    '0.89'
    >>> reliability_shown(get_instrument("phq9"), 0.8)
    '0.8'
    """
    if reliability is None:
        reliability = (instrument.reliability or {}).get("value")
    if reliability is None:
        return "not computed: no reliability given or in the instrument registry"
    return f"{float(reliability):g}"


def km_share_reasons(
    rec: pd.DataFrame, excluded: pd.DataFrame, event: str, suppress: bool = True
) -> list[str]:
    """Why each definition's Kaplan-Meier share met by the end differs from notebook 01's share.

    Notebook 03's reconciliation table sets, per definition, notebook 01's share met (met /
    evaluable) beside the Kaplan-Meier estimate of the share met by the end. They differ for these
    reasons, each stated with its number of clients where it applies:

    - clients who met the definition at their first assessment have no time at risk and are left
      out of the Kaplan-Meier estimate (it is then the share among those not yet met: lower);
    - clients with no assessment after baseline are left out likewise;
    - clients censored without the event (by dropout or at the end of their own follow-up) count
      as still at risk until they leave, so with unequal follow-up the estimate is above the crude
      share (Kaplan E.L. & Meier P. (1958) J Am Stat Assoc 53:457-481);
    - under the first-met event, criteria met once and lost again are events too.

    Parameters
    ----------
    rec : pandas.DataFrame
        The reconciliation table: ``definition``, ``n_met_notebook_01``, ``events``,
        ``n_dropout``, ``n_censored_other``, ``share_notebook_01`` and ``share_km_end`` (percent).
    excluded : pandas.DataFrame
        ``attrs["excluded"]`` of :func:`analysis.compare.survival.time_to_event`: ``definition``,
        ``reason``, ``n``.
    event : str
        ``"sustained"`` or ``"first_met"``.
    suppress : bool
        Small-count suppression is on (real data): the reasons are named without their numbers,
        since these counts are not in the run's disclosure plan (the records left out are shown,
        masked by the plan, in the sentence beside the Kaplan-Meier table).

    Returns
    -------
    list of str
        One entry per row of ``rec``, in its order: "" where the two shares agree to 0.1 points.

    Examples
    --------
    >>> rec = pd.DataFrame({"definition": ["srs"], "n_met_notebook_01": [590], "events": [590],
    ...     "n_dropout": [295], "n_censored_other": [760], "share_notebook_01": [35.9],
    ...     "share_km_end": [8.6]})
    >>> ex = pd.DataFrame({"definition": ["srs"], "n": [491],
    ...     "reason": ["met at the first assessment (no time at risk)"]})
    >>> print(km_share_reasons(rec, ex, "sustained", suppress=False)[0])
    ... # doctest: +NORMALIZE_WHITESPACE
    491 met it at the first assessment and are left out (lowers the estimate); 1055 censored
    without the event (295 by dropout) count as at risk until they leave (raises it)
    """

    def count(n: int) -> str:
        return "clients" if suppress else str(n)

    def excl(d: str, start: str) -> int:
        e = excluded.loc[
            (excluded["definition"] == d) & excluded["reason"].astype(str).str.startswith(start),
            "n",
        ]
        return int(e.sum())

    out = []
    for r in rec.itertuples():
        if abs(r.share_km_end - r.share_notebook_01) < 0.05:
            out.append("")
            continue
        parts = []
        first = excl(r.definition, "met at the first")
        if first:
            parts.append(
                f"{count(first)} met it at the first assessment and are left out (lowers the "
                "estimate)"
            )
        nopost = excl(r.definition, "no assessment after baseline")
        if nopost:
            parts.append(f"{count(nopost)} with no assessment after baseline are left out")
        cens = int(r.n_dropout) + int(r.n_censored_other)
        if cens:
            parts.append(
                f"{count(cens)} censored without the event"
                + ("" if suppress else f" ({r.n_dropout} by dropout)")
                + " count as at risk until they leave (raises it)"
            )
        again = int(r.events) - int(r.n_met_notebook_01)
        if event != "sustained" and again > 0:
            parts.append(f"{count(again)} met it once and lost it again (events here)")
        out.append("; ".join(parts))
    return out


def hlm_all_unchanged(
    methods: pd.DataFrame, time_unit: str = "session", n_shown: str | None = None
) -> str:
    """Why the HLM method counts no client as reliably changed, when it does so; else "".

    Parameters
    ----------
    methods : pandas.DataFrame
        :func:`analysis.outcomes.engine.compare_methods` (``method``, ``evaluable``,
        ``reliable_change``: "improved", "unchanged" or "deteriorated", ``rci``;
        ``attrs["hlm_fit"]`` and ``attrs["hlm_test"]``).
    time_unit : str
        The cohort's time unit (slopes are points per unit).
    n_shown : str, optional
        The number of HLM-evaluable clients as the run's disclosure control shows it (e.g.
        rounded to the nearest 5); default the exact number.

    Returns
    -------
    str
        One sentence from the fit: a boundary (singular) fit with its note; otherwise the
        between-client SD of the slopes (square root of the random-slope variance), the cohort's
        mean slope and the largest |RCI| (empirical-Bayes slope deviation over its standard error,
        Raudenbush & Bryk 2002) against the critical value. "" when HLM was not computed or some
        client changed reliably.

    Examples
    --------
    >>> m = pd.DataFrame({"method": "HLM", "evaluable": True, "reliable_change": "unchanged",
    ...                   "rci": [1.69, -0.4]})
    >>> m.attrs = {"hlm_test": "cohort", "hlm_fit": {"singular": False, "fit_warnings": [],
    ...     "cov_re": [[74.8, 0.9], [0.9, 0.1872]], "fixed_slope": -1.35, "critical": 1.96}}
    >>> print(hlm_all_unchanged(m, "month"))  # doctest: +NORMALIZE_WHITESPACE
    HLM counts all 2 evaluable clients unchanged: their slopes vary little around the cohort's
    mean slope (-1.35 points per month; SD between clients 0.43), so no client's slope differs
    from the cohort's mean slope by more than 1.96 times its standard error (largest 1.69).
    """
    fit = methods.attrs.get("hlm_fit") or {}
    h = methods.loc[(methods["method"] == "HLM") & methods["evaluable"].astype(bool)]
    if not fit or h.empty or h["reliable_change"].astype(str).ne("unchanged").any():
        return ""
    lead = f"HLM counts all {len(h) if n_shown is None else n_shown} evaluable clients unchanged: "
    if fit.get("singular"):
        notes = "; ".join(fit.get("fit_warnings") or []) or "boundary (singular) fit"
        return lead + f"the fit is on the boundary ({notes})."
    against = (
        "the cohort's mean slope" if methods.attrs.get("hlm_test", "cohort") == "cohort" else "zero"
    )
    sd = math.sqrt(max(float(fit["cov_re"][1][1]), 0.0))
    return (
        lead + f"their slopes vary little around the cohort's mean slope "
        f"({number(fit['fixed_slope'])} points per {time_unit}; SD between clients "
        f"{number(sd)}), so no client's slope differs from {against} by more than "
        f"{number(fit['critical'])} times its standard error (largest "
        f"{number(h['rci'].abs().max())})."
    )


def absent(what: str, cohort, needs: str) -> str:
    """The one sentence a notebook shows instead of a section whose data are absent.

    Examples
    --------
    >>> class C: name = "btheb"
    >>> absent("Alliance as a predictor", C(), "alliance scores")
    'Alliance as a predictor: not available for this dataset (btheb), which has no alliance scores.'
    """
    return f"{what}: not available for this dataset ({cohort.name}), which has no {needs}."


def say(text: str) -> None:
    """Show one Markdown paragraph in a notebook (e.g. the sentence of an absent section)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def number(x, digits: int = 2, missing: str = "not computed") -> str:
    """A number for display: fixed decimals, no "-0", ``missing`` for NaN or None.

    Examples
    --------
    >>> number(-0.0001), number(0.456, 1), number(float("nan"))
    ('0.00', '0.5', 'not computed')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
        return missing
    s = f"{float(x):.{digits}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


def format_p(p) -> str:
    """A p value as in a paper: ``< .001``, ``.023``, ``.48``; "" when not computed.

    Three decimals below .01 and two otherwise would also be common; this uses three throughout
    (APA 7th ed.: exact p to two or three decimals, ``p < .001`` below that, no leading zero).

    Examples
    --------
    >>> format_p(0.0), format_p(0.02345), format_p(1.0), format_p(float("nan"))
    ('< .001', '.023', '1.000', '')
    """
    if p is None or pd.isna(p):
        return ""
    if p < 0.001:
        return "< .001"
    s = f"{p:.3f}"
    return s[1:] if s.startswith("0") else s


def format_estimate(
    est, low, high, digits: int = 2, missing: str = "not computed", open_bound: str = "not reached"
) -> list[str]:
    """``"0.45 (0.30 to 0.60)"`` strings for display.

    Parameters
    ----------
    est, low, high : array-like of float
        Estimates and interval bounds (same length).
    digits : int
        Decimals.
    missing : str
        Shown when the estimate is NaN.
    open_bound : str
        Shown for a NaN bound of a computed estimate (a Kaplan-Meier interval whose upper end the
        curve never reaches).

    Examples
    --------
    >>> format_estimate([6.0, float("nan")], [4.0, 1.0], [float("nan"), 2.0], 1)
    ['6.0 (4.0 to not reached)', 'not computed']
    """
    e, lo, hi = (pd.Series(v, dtype=float).to_numpy() for v in (est, low, high))
    return [
        missing
        if pd.isna(a)
        else f"{number(a, digits)} ({number(b, digits, open_bound)} to "
        f"{number(c, digits, open_bound)})"
        for a, b, c in zip(e, lo, hi, strict=True)
    ]


def plain_label(name: str) -> str:
    """An identifier as words (the fallback when no label is known): ``"arm_TAU"`` -> ``"arm TAU"``.

    Examples
    --------
    >>> plain_label("baseline_severity")
    'baseline severity'
    """
    return str(name).replace("_", " ")


def labeller(definitions: Iterable[Mapping] = (), **extra: str) -> Callable[[str], str]:
    """A function from a definition (or variable) name to its label.

    Parameters
    ----------
    definitions : iterable of dict
        Definitions with ``name`` and ``label`` (the definitions file).
    **extra : str
        Further name -> label pairs (variables, columns).

    Examples
    --------
    >>> lab = labeller([{"name": "reliable_improvement", "label": "Reliable improvement (JT)"}])
    >>> lab("reliable_improvement"), lab("baseline_severity")
    ('Reliable improvement (JT)', 'baseline severity')
    """
    table = {d["name"]: d.get("label") or plain_label(d["name"]) for d in definitions}
    table.update(extra)
    return lambda name: table.get(name, plain_label(name))


def family_label(family: str) -> str:
    """How a report names a family of definitions (the registry's ``FAMILY_LABELS``).

    Parameters
    ----------
    family : str
        A family of the definitions file (``symptom``, ``functional``, ``alliance``,
        ``personal``, ``child_family``, ``composite``); an unknown one is shown in words.

    Examples
    --------
    >>> family_label("child_family"), family_label("personal"), family_label("my_family")
    ('child and family', 'personal markers', 'my family')
    """
    return FAMILY_LABELS.get(str(family), plain_label(family))


def measure_label(code: str, registry: Mapping[str, Instrument] | None = None) -> str:
    """An instrument code as a report names it: the instrument registry's ``label``.

    Parameters
    ----------
    code : str
        Registry code, e.g. ``"sf36_mcs"``.
    registry : dict, optional
        Instrument registry (default: the package's, ``instruments.yaml``).

    Returns
    -------
    str
        The label; a code the registry does not know, in words.

    Examples
    --------
    >>> measure_label("sf36_mcs"), measure_label("wai_sr"), measure_label("my_scale")
    ('SF-36 MCS', 'WAI-SR', 'my scale')
    """
    if registry is None:
        from analysis.registry.instruments import load_registry

        registry = load_registry()
    ins = registry.get(str(code))
    return ins.label if ins is not None else plain_label(code)


def name_list(names: Iterable[str], label: Callable[[str], str] = plain_label) -> str:
    """Identifiers as one comma-separated list of labels (never a Python list).

    Examples
    --------
    >>> lab = labeller([{"name": "srs_strong_alliance", "label": "Strong alliance (SRS)"}])
    >>> name_list(["srs_strong_alliance", "goal_progress"], lab)
    'Strong alliance (SRS), goal progress'
    >>> name_list([])
    'none'
    """
    shown = [label(str(n)) for n in names]
    return ", ".join(shown) if shown else "none"


_CODE_IN = re.compile(
    r"'([a-z][a-z0-9]*(?:_[A-Za-z0-9]+)*)'"  # a quoted name: 'remission'
    r"|(?<![\w./-])([a-z][a-z0-9]*(?:_[A-Za-z0-9]+)+)(?![\w-]*\.\w)\b"  # a bare snake_case one
)


def in_words(sentence: str, label: Callable[[str], str] = plain_label) -> str:
    """A sentence (a note, a reason) with the identifiers in it replaced by their labels.

    Parameters
    ----------
    sentence : str
        E.g. a model's note naming a covariate: ``"covariate 'baseline_severity': ..."``.
    label : callable
        Identifier -> label (:func:`labeller`). Replaced: a snake_case identifier, and any
        single-quoted name (the quotes go with it). File names (``prevalence_by_arm.csv``) are
        left as they are.

    Examples
    --------
    >>> lab = labeller(baseline_severity="baseline PHQ-9 (per point)")
    >>> in_words("not estimable: covariate 'baseline_severity': every event has the largest", lab)
    'not estimable: covariate baseline PHQ-9 (per point): every event has the largest'
    >>> in_words("see prevalence_by_arm.csv for arm_TAU")
    'see prevalence_by_arm.csv for arm TAU'
    >>> in_words("definition 'remission' was not computed", labeller(remission="Remission"))
    'definition Remission was not computed'
    """
    if sentence is None or (isinstance(sentence, float) and math.isnan(sentence)):
        return ""
    return _CODE_IN.sub(lambda m: label(m.group(1) or m.group(2)), str(sentence))


#: Column names of the package's statistics tables -> the heading a paper uses.
STAT_HEADERS = {
    "n": "clients",
    "n_clients": "clients",
    "n_sessions": "sessions",
    "n_pairs": "pairs",
    "n_met": "met",
    "n_evaluable": "evaluable",
    "p_value": "p",
    "p": "p",
    "dof": "df",
    "df": "df",
    "se": "SE",
    "test_statistic": "test statistic",
    "estimate": "estimate",
    "note": "note",
    "n_no_duration": "records without a duration",
}


def statistics_table(
    table: pd.DataFrame,
    estimate: str | None = None,
    label: Callable[[str], str] = plain_label,
    headers: Mapping[str, str] | None = None,
    values: Mapping[str, Callable[[object], str]] | None = None,
    digits: int = 2,
) -> pd.DataFrame:
    """A statistics table as a paper prints it: headings in words, p and CIs formatted.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of the package (e.g. a regression or correlation summary). Not modified.
    estimate : str, optional
        The column whose 95 % interval is ``ci_low`` / ``ci_high``: shown as one column
        ``"<heading> (95 % CI)"``, ``"0.45 (0.30 to 0.60)"`` (:func:`format_estimate`).
    label : callable
        Shows the values of a ``definition`` column (definition name -> label).
    headers : dict, optional
        Column -> heading, over :data:`STAT_HEADERS` (an unknown column: its name in words).
    values : dict, optional
        Column -> function shown for each value (e.g. a covariate's label).
    digits : int
        Decimals of the other float columns (:func:`number`; NaN shows "not computed").

    Returns
    -------
    pandas.DataFrame
        Same rows; p values as :func:`format_p` (``< .001``, never ``0``), no "nan", no "-0";
        identifiers inside text cells (a term, a software note) in words (:func:`in_words`).

    Examples
    --------
    >>> t = pd.DataFrame({"term": ["alliance_within"], "estimate": [-0.0004], "se": [0.12],
    ...                   "ci_low": [-0.2], "ci_high": [0.24], "p_value": [0.00001],
    ...                   "n_clients": [40]})
    >>> statistics_table(t, "estimate").iloc[0, :4].tolist()
    ['alliance within', '0.00 (-0.20 to 0.24)', '0.12', '< .001']
    >>> list(statistics_table(t, "estimate").columns)
    ['term', 'estimate (95 % CI)', 'SE', 'p', 'clients']
    """
    heads = {**STAT_HEADERS, **(headers or {})}
    values = dict(values or {})
    values.setdefault("definition", label)
    out = {}
    for c in table.columns:
        if c in ("ci_low", "ci_high") and estimate is not None:
            continue
        head = heads.get(c, plain_label(c))
        col = table[c]
        if c == estimate and {"ci_low", "ci_high"} <= set(table.columns):
            out[f"{head} (95 % CI)"] = format_estimate(
                col, table["ci_low"], table["ci_high"], digits
            )
        elif c in values:
            out[head] = [values[c](v) for v in col]
        elif heads.get(c) == "p":
            out[head] = [format_p(v) or "not computed" for v in col]
        elif pd.api.types.is_float_dtype(col) and not col.dropna().apply(float.is_integer).all():
            out[head] = [number(v, digits) for v in col]
        elif pd.api.types.is_float_dtype(col):
            out[head] = [number(v, 0) for v in col]
        elif pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
            out[head] = ["" if pd.isna(v) else in_words(v) for v in col]
        else:
            out[head] = col.tolist()
    return pd.DataFrame(out, index=range(len(table)))


def hidden_label(plan: pd.DataFrame, cell: str, threshold: int = SMALL_COUNT) -> str | None:
    """How a hidden count is shown ("<5" or "suppressed"), or None when the plan shows it."""
    row = plan.loc[plan["cell"] == cell]
    if row.empty or not bool(row["suppressed"].iloc[0]):
        return None
    return f"<{threshold}" if str(row["reason"].iloc[0]).startswith("primary") else "suppressed"


def apply_plan(
    table: pd.DataFrame,
    plan: pd.DataFrame,
    cells: Callable[[pd.Series], Mapping[str, str]],
    derived: Callable[[pd.Series], tuple[Iterable[str], Iterable[str]]] | None = None,
    threshold: int = SMALL_COUNT,
    fallback: bool = True,
) -> pd.DataFrame:
    """Hide, in a display table, the counts the run's plan hides and whatever derives from them.

    Parameters
    ----------
    table : pandas.DataFrame
        Display table. Not modified.
    plan : pandas.DataFrame
        The run's plan (:func:`analysis.report.disclosure.run_plan` or ``read_plan``).
    cells : callable
        Row -> {column: plan cell name} for the count columns of that row.
    derived : callable, optional
        Row -> (derived columns, cells they derive from); the columns show "suppressed" when any
        of those cells is hidden.
    threshold : int
        The plan's threshold.
    fallback : bool
        A count whose cell is not in the plan gets primary suppression (1 to threshold - 1 shown
        as "<threshold", its row's derived columns hidden).

    Returns
    -------
    pandas.DataFrame
        A copy, object dtype where something was hidden.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["a: met", "a: evaluable"], "count": [3, 20],
    ...                      "suppressed": [True, False], "reason": ["primary: fewer than 5", ""]})
    >>> t = pd.DataFrame({"definition": ["a"], "met": [3], "evaluable": [20], "%": [15.0]})
    >>> apply_plan(t, plan, lambda r: {"met": "a: met", "evaluable": "a: evaluable"},
    ...            lambda r: (["%"], ["a: met"])).iloc[0].tolist()
    ['a', '<5', 20, 'suppressed']
    """
    out = table.copy().astype(object)
    known = set(plan["cell"])
    for i, row in table.iterrows():
        mapping = dict(cells(row))
        hidden_cells = set()
        for col, cell in mapping.items():
            if cell in known:
                lab = hidden_label(plan, cell, threshold)
            elif fallback:
                v = pd.to_numeric(pd.Series([row[col]]), errors="coerce").iloc[0]
                lab = f"<{threshold}" if pd.notna(v) and 1 <= v < threshold else None
            else:
                lab = None
            if lab is not None:
                out.at[i, col] = lab
                hidden_cells.add(cell)
        if derived is not None:
            cols, basis = derived(row)
            basis = list(basis)
            hide = any(hidden_label(plan, c, threshold) for c in basis if c in known) or bool(
                hidden_cells & set(basis)
            )
            if hide:
                for c in cols:
                    out.at[i, c] = "suppressed"
    return out


def format_prevalence_plan(
    prev: pd.DataFrame,
    plan: pd.DataFrame | None,
    label: Callable[[str], str] = plain_label,
    group: str | None = None,
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Prevalence for display under the run's plan: labels, counts, "% met (95 % CI)".

    Parameters
    ----------
    prev : pandas.DataFrame
        :func:`analysis.compare.prevalence.prevalence` output (optionally by ``group``).
    plan : pandas.DataFrame or None
        The run's plan; None shows every count (suppression off).
    label : callable
        Definition name -> label.
    group : str, optional
        The grouping column of ``prev`` whose levels are the plan's `` | <level>`` suffixes.
    threshold : int
        The plan's threshold.

    Returns
    -------
    pandas.DataFrame
        ``group`` (when given; headed in words, a family by :func:`family_label`),
        ``definition`` (label), ``met``, ``evaluable``, ``not evaluable``,
        ``% met (95 % CI)``. The percentage is hidden when met, not met or evaluable is hidden.

    Examples
    --------
    >>> import pandas as pd
    >>> prev = pd.DataFrame({"definition": ["a"], "n_met": [3], "n_evaluable": [20],
    ...                      "n_not_evaluable": [0], "proportion": [0.15], "ci_low": [0.05],
    ...                      "ci_high": [0.36]})
    >>> format_prevalence_plan(prev, None)["% met (95 % CI)"].tolist()
    ['15.0 (5.0 to 36.0)']
    """
    pct = [
        "not computed"
        if not n
        else f"{number(100 * p, 1)} ({number(100 * lo, 1)} to {number(100 * hi, 1)})"
        for n, p, lo, hi in zip(
            prev["n_evaluable"], prev["proportion"], prev["ci_low"], prev["ci_high"], strict=True
        )
    ]
    out = pd.DataFrame(
        {
            # the grouping column headed in words; a family by its label
            **(
                {
                    plain_label(group): prev[group].astype(str).map(family_label)
                    if group == "family"
                    else prev[group].astype(str)
                }
                if group
                else {}
            ),
            "definition": [label(d) for d in prev["definition"]],
            "met": prev["n_met"].astype(int),
            "evaluable": prev["n_evaluable"].astype(int),
            "not evaluable": prev["n_not_evaluable"].astype(int),
            "% met (95 % CI)": pct,
        }
    )
    if plan is None:
        return out
    names = prev["definition"].tolist()
    levels = prev[group].tolist() if group else [None] * len(prev)

    def suffix(i) -> str:
        return "" if levels[i] is None else f" | {levels[i]}"

    def cells(row):
        d, s = names[row.name], suffix(row.name)
        return {
            "met": f"{d}: met{s}",
            "evaluable": f"{d}: evaluable{s}",
            "not evaluable": f"{d}: not_evaluable{s}",
        }

    def derived(row):
        d, s = names[row.name], suffix(row.name)
        return ["% met (95 % CI)"], [f"{d}: met{s}", f"{d}: not_met{s}", f"{d}: evaluable{s}"]

    return apply_plan(out.reset_index(drop=True), plan, cells, derived, threshold)


def family_profile_headers(
    columns, outcomes: pd.DataFrame, registry: Mapping[str, Instrument] | None = None
) -> dict[str, str]:
    """Headings of :func:`analysis.compare.agreement.family_disagreement`'s columns for a report.

    ``baseline_<family>`` (the mean baseline score of the family's first definition) is named
    by that definition's measure and the family; ``n_clients`` is "clients"; ``group`` "success
    under"; a profiled client column by its label
    (:data:`analysis.data.datasets.CLIENT_COLUMN_LABELS`), else in words.

    Examples
    --------
    >>> import pandas as pd
    >>> o = pd.DataFrame({"family": ["symptom", "functional"], "definition": ["r", "w"],
    ...                   "measures": ["cesd", "employment"]})
    >>> h = family_profile_headers(["group", "n_clients", "baseline_symptom",
    ...                             "baseline_functional", "mean last_time", "% homeless"], o)
    >>> list(h.values())  # doctest: +NORMALIZE_WHITESPACE
    ['success under', 'clients', 'mean baseline CES-D, symptom (points)',
     'mean baseline Employment, functional (points)',
     'mean time of the last assessment', '% homeless']
    """
    out = {}
    for c in columns:
        c = str(c)
        if c == "group":
            out[c] = "success under"
        elif c == "n_clients":
            out[c] = "clients"
        elif c.startswith("baseline_"):
            fam = c.removeprefix("baseline_")
            first = outcomes.loc[outcomes["family"] == fam, "measures"]
            measure = str(first.iloc[0]).split("+")[0] if len(first) else ""
            out[c] = (
                f"mean baseline {measure_label(measure, registry)}, {family_label(fam)} (points)"
                if measure
                else f"mean baseline, {family_label(fam)}"
            )
        elif c.startswith(("mean ", "% ")):
            stat, col = c.split(" ", 1)
            out[c] = f"{stat} {CLIENT_COLUMN_LABELS.get(col, plain_label(col))}"
        else:
            out[c] = plain_label(c)
    return out


def kappa_note(pairs: pd.DataFrame, hidden) -> str:
    """The sentence under the pairs table on the kappas it does not give ("" when it gives all).

    A kappa can be missing for two different reasons, said apart: it is *undefined* (no client
    evaluable under both definitions, or both definitions give every compared client the same
    result, so chance agreement is 1), or it is *not shown* (disclosure control hides the pair's
    statistics: derived from a hidden count). A hidden pair is counted as not shown only, never
    as undefined (that would tell something about its hidden counts).

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`analysis.compare.agreement.pairwise_agreement` (``kappa``, ``n_both``).
    hidden : array-like of bool
        Per row of ``pairs``: its statistics are hidden by disclosure control.

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> pairs = pd.DataFrame({"kappa": [float("nan"), float("nan"), 0.4, float("nan"), 0.2],
    ...                       "n_both": [40, 0, 50, 30, 60]})
    >>> hidden = [False, False, False, True, True]
    >>> print(kappa_note(pairs, hidden))  # doctest: +NORMALIZE_WHITESPACE
    Kappa is undefined for 2 of 5 pairs (1 because both definitions give every client evaluable
    under both the same result, so chance agreement is 1; 1 because no client is evaluable under
    both); it is not shown for 2 pairs (disclosure control: derived from a hidden count).
    >>> kappa_note(pairs.iloc[[2]], [False])
    ''
    """
    gone = np.asarray(hidden, dtype=bool)
    kappa = pd.to_numeric(pairs["kappa"], errors="coerce").to_numpy()
    undefined = np.isnan(kappa) & ~gone
    nobody = undefined & (pd.to_numeric(pairs["n_both"], errors="coerce").fillna(0) == 0).to_numpy()
    constant = undefined & ~nobody
    parts = []
    if undefined.any():
        why = []
        if constant.any():
            why.append(
                f"{int(constant.sum())} because both definitions give every client evaluable under "
                "both the same result, so chance agreement is 1"
            )
        if nobody.any():
            why.append(f"{int(nobody.sum())} because no client is evaluable under both")
        parts.append(
            f"Kappa is undefined for {int(undefined.sum())} of {len(kappa)} pairs ("
            + "; ".join(why)
            + ")"
        )
    if gone.any():
        parts.append(
            ("it is" if parts else "Kappa is")
            + f" not shown for {int(gone.sum())} "
            + ("pair" if gone.sum() == 1 else "pairs")
            + " (disclosure control: derived from a hidden count)"
        )
    return "; ".join(parts) + "." if parts else ""


def format_pairs(
    pairs: pd.DataFrame,
    suppress: bool = True,
    plan: pd.DataFrame | None = None,
    label: Callable[[str], str] = plain_label,
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Display version of :func:`analysis.compare.agreement.pairwise_agreement` (no 2x2 cells).

    Parameters
    ----------
    pairs : pandas.DataFrame
        Pairwise agreement table.
    suppress : bool
        Hide small counts and what derives from them.
    plan : pandas.DataFrame, optional
        The run's plan: percent agreement, kappa, PABAK and McNemar's p derive from the pair's
        2 x 2 cells and are hidden when any of them is hidden anywhere in the run. Without a
        plan, pairs compared on 1 to 4 clients are hidden (primary suppression).
    label : callable
        Definition name -> label.
    threshold : int
        Smallest count shown.

    Returns
    -------
    pandas.DataFrame
        ``definition A``, ``definition B``, ``clients in both``, ``% agree``,
        ``kappa (95 % CI)``, ``PABAK``, ``McNemar p``, ``note``.

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"definition_a": ["a"], "definition_b": ["b"], "n_both": [30],
    ...                   "percent_agree": [80.0], "kappa": [0.5], "kappa_ci_low": [0.2],
    ...                   "kappa_ci_high": [0.8], "pabak": [-0.0001], "mcnemar_p": [0.0002],
    ...                   "note": [""]})
    >>> format_pairs(p).iloc[0, 3:7].tolist()
    ['80.0', '0.50 (0.20 to 0.80)', '0.00', '< .001']
    """
    stats = ["% agree", "kappa (95 % CI)", "PABAK", "McNemar p"]
    out = pd.DataFrame(
        {
            "definition A": [label(d) for d in pairs["definition_a"]],
            "definition B": [label(d) for d in pairs["definition_b"]],
            "clients in both": pairs["n_both"],
            "% agree": [number(v, 1) for v in pairs["percent_agree"]],
            "kappa (95 % CI)": [
                "undefined" if s == "not computed" else s
                for s in format_estimate(
                    pairs["kappa"], pairs["kappa_ci_low"], pairs["kappa_ci_high"]
                )
            ],
            "PABAK": [number(v, 2) for v in pairs["pabak"]],
            "McNemar p": [format_p(p) for p in pairs["mcnemar_p"]],
            "note": [in_words(n, label) for n in pairs["note"]],
        }
    ).reset_index(drop=True)
    if not suppress:
        return out
    a_names, b_names = pairs["definition_a"].tolist(), pairs["definition_b"].tolist()

    def both(i):
        a, b = a_names[i], b_names[i]
        return [f"{a} x {b}: {x}/{y}" for x in ("met", "not_met") for y in ("met", "not_met")]

    use = plan if plan is not None else pd.DataFrame(columns=["cell", "count", "suppressed"])

    def total(i):
        return f"{a_names[i]} x {b_names[i]}: both evaluable"

    def cells(row):
        return {"clients in both": total(row.name)}

    def derived(row):
        return stats, [*both(row.name), total(row.name)]

    if "reason" not in use.columns:
        use = use.assign(reason="")
    return apply_plan(out, use, cells, derived, threshold)


def format_km(
    km: pd.DataFrame, unit: str, suppress: bool = True, label: Callable[[str], str] = plain_label
) -> pd.DataFrame:
    """Display version of :func:`analysis.compare.survival.km_summary`.

    Returns
    -------
    pandas.DataFrame
        ``definition`` (label), ``clients``, ``met``, ``dropout``, ``median (<unit>, 95 % CI)``
        ("not reached" where the curve, or an interval bound, stays above one half),
        ``% met by end (Kaplan-Meier)``; with ``suppress``, counts 1-4 are "<5" and a row with a
        hidden count (or a hidden complement clients - met) hides its median and percentage.

    Examples
    --------
    >>> import pandas as pd
    >>> km = pd.DataFrame({"definition": ["response"], "n": [40], "n_met": [20],
    ...                    "n_dropout": [6], "median": [6.0], "median_ci_low": [4.0],
    ...                    "median_ci_high": [float("nan")], "proportion_met_end": [0.5]})
    >>> format_km(km, "sessions").iloc[0, 4]
    '6.0 (4.0 to not reached)'
    """
    from analysis.report.tables import suppress_small_counts

    med = f"median ({unit}, 95 % CI)"
    shown = pd.DataFrame(
        {
            "definition": [label(d) for d in km["definition"]],
            "clients": km["n"],
            "met": km["n_met"],
            "dropout": km["n_dropout"],
            med: format_estimate(
                km["median"], km["median_ci_low"], km["median_ci_high"], 1, missing="not reached"
            ),
            "% met by end (Kaplan-Meier)": [number(100 * p, 1) for p in km["proportion_met_end"]],
        }
    )
    if suppress:
        shown = suppress_small_counts(
            shown,
            ["clients", "met", "dropout"],
            [med, "% met by end (Kaplan-Meier)"],
            ("met", "clients"),
        )
    return shown


def time_units(unit: str) -> str:
    """The plural a reader expects for a cohort's time unit (axis labels, sentences).

    Examples
    --------
    >>> time_units("session"), time_units("month"), time_units("visit")
    ('sessions', 'months', 'visit')
    """
    return {"session": "sessions", "week": "weeks", "month": "months"}.get(unit, unit)
