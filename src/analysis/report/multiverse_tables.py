"""Display tables and sentences of the multiverse of success (notebook 05).

Reads the table of :func:`analysis.compare.multiverse.run_multiverse` (``multiverse.csv``) and
turns it into what a reviewer reads: which rates may be shown under disclosure control, the range
of success rates per definition, the decomposition of the spread in words, the arm difference and
the specifications that could not be computed, with their reasons. No statistics are computed
here beyond ranges and counts of specifications.

Disclosure control: a success rate is derived from ``n_met`` and ``n_evaluable``; where either
count, or the complement ``n_evaluable - n_met``, is from 1 to 4 the counts are shown as "<5" and
the rate (and anything derived from it: its place on the specification curve, its share of the
spread) is not shown (:func:`analysis.report.tables.suppress_small_counts`, NHS England's rule
for published health statistics). The arm difference is hidden likewise from the per-arm counts.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.compare.multiverse import CHOICES, level_label
from analysis.report.tables import SMALL_COUNT, parameter_label, suppress_small_counts
from analysis.report.text import plain_label

__all__ = [
    "rate_hidden",
    "arm_hidden",
    "shown_results",
    "format_specifications",
    "range_by_definition",
    "spread_in_words",
    "format_spread",
    "skipped_specifications",
    "describe_specification",
    "choice_words",
    "MI_COUNT_NOTE",
    "arm_difference_absent",
    "hidden_rates_note",
]

_CHOICE_WORDS = {
    "definition": "the definition of success",
    "cutoff_type": "the J&T cutoff",
    "reliability": "the reliability of the RCI",
    "missing": "the missing-data strategy",
    "post": "the post-score rule",
    "population": "the population counted",
}


#: How a specification's choices are named in a table or a sentence: the choices that are also
#: parameters of a run by the parameter's label.
_CHOICE_NAMES = {
    "definition": "definition",
    **{c: parameter_label(c) for c in ("cutoff_type", "reliability", "missing", "post")},
    "population": "population",
}


def _choice_value(choice: str, value, label: Callable[[str], str]) -> str:
    """One choice's level as a reviewer reads it (a definition by its label).

    Another level by :func:`analysis.compare.multiverse.level_label` (a number, or "n/a", as it
    is).
    """
    if choice == "definition":
        return label(str(value))
    return level_label(choice, value) or plain_label(str(value))


def choice_words(label: Callable[[str], str] = plain_label) -> Callable[[str, object], str]:
    """``(choice, level) -> "name: level"``: one choice of a specification as a report writes it.

    E.g. the rows beneath :func:`analysis.compare.multiverse.specification_curve`.

    Examples
    --------
    >>> words = choice_words()
    >>> words("missing", "bocf"), words("population", "severe")
    ('missing data: baseline observation carried forward (BOCF)', 'population: severe at baseline')
    """

    def words(choice: str, value) -> str:
        name = _CHOICE_NAMES.get(choice, plain_label(choice))
        return f"{name}: {_choice_value(choice, value, label)}"

    return words


def describe_specification(
    spec: pd.Series | dict, label: Callable[[str], str] = plain_label
) -> str:
    """One specification's choices in words, e.g. for the example of a skipped group.

    Parameters
    ----------
    spec : pandas.Series or dict
        A row of :func:`analysis.compare.multiverse.run_multiverse` (its choice columns).
    label : callable
        Definition name -> label (:func:`analysis.report.text.labeller`).

    Returns
    -------
    str
        ``"definition: <label>; J&T cutoff: cutoff c; reliability (RCI): 0.73; missing data:
        last available score; post score: the last score observed after baseline; population:
        all clients"``.

    Examples
    --------
    >>> from analysis.report.text import labeller
    >>> lab = labeller([{"name": "wsas_reliable_improvement",
    ...                  "label": "WSAS reliable improvement"}])
    >>> describe_specification({"definition": "wsas_reliable_improvement", "cutoff_type": "n/a",
    ...     "reliability": 0.73, "missing": "last_available", "post": "last",
    ...     "population": "all"}, lab).split("; ")  # doctest: +NORMALIZE_WHITESPACE
    ['definition: WSAS reliable improvement', 'J&T cutoff: n/a', 'reliability (RCI): 0.73',
     'missing data: last available score',
     'post score: the last score observed after baseline', 'population: all clients']
    """
    words = choice_words(label)
    return "; ".join(words(c, spec[c]) for c in CHOICES)


def _small(v: pd.Series, threshold: int) -> pd.Series:
    v = pd.to_numeric(v, errors="coerce")
    return (v >= 1) & (v < threshold)


def rate_hidden(results: pd.DataFrame, threshold: int = SMALL_COUNT) -> pd.Series:
    """True where a specification's success rate derives from a small count.

    Parameters
    ----------
    results : pandas.DataFrame
        ``n_met`` and ``n_evaluable`` per specification (clients).
    threshold : int
        Smallest count shown (default 5).

    Returns
    -------
    pandas.Series of bool
        Index of ``results``: ``n_met``, ``n_evaluable`` or ``n_evaluable - n_met`` from 1 to
        ``threshold - 1``.

    Examples
    --------
    >>> r = pd.DataFrame({"n_met": [3, 10, 48, 0], "n_evaluable": [50, 50, 50, 50]})
    >>> rate_hidden(r).tolist()
    [True, False, True, False]
    """
    met, ev = results["n_met"], results["n_evaluable"]
    comp = pd.to_numeric(ev, errors="coerce") - pd.to_numeric(met, errors="coerce")
    return _small(met, threshold) | _small(ev, threshold) | _small(comp, threshold)


def arm_hidden(results: pd.DataFrame, threshold: int = SMALL_COUNT) -> pd.Series:
    """True where the arm difference derives from a small count in either arm.

    Parameters
    ----------
    results : pandas.DataFrame
        ``n_met_other``, ``n_evaluable_other``, ``n_met_ref``, ``n_evaluable_ref`` (clients);
        without them (no arms) nothing is hidden.
    threshold : int
        Smallest count shown (default 5).

    Returns
    -------
    pandas.Series of bool

    Examples
    --------
    >>> r = pd.DataFrame({"n_met_other": [10, 2], "n_evaluable_other": [30, 30],
    ...                   "n_met_ref": [12, 12], "n_evaluable_ref": [30, 30]})
    >>> arm_hidden(r).tolist()
    [False, True]
    """
    out = pd.Series(False, index=results.index)
    for side in ("other", "ref"):
        met_c, ev_c = f"n_met_{side}", f"n_evaluable_{side}"
        if met_c not in results.columns:
            return out
        part = results[[met_c, ev_c]].set_axis(["n_met", "n_evaluable"], axis=1)
        out |= rate_hidden(part, threshold)
    return out


def shown_results(
    results: pd.DataFrame, suppress: bool = True, masked: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, int]:
    """The computed specifications whose rate may be shown (curve, ranges, spread).

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse`.
    suppress : bool
        Apply disclosure control (:func:`rate_hidden`).
    masked : pandas.DataFrame, optional
        :func:`analysis.report.disclosure_tables.mask_multiverse` of ``results`` with the run's
        plan (same index): a rate or arm difference it reads as "suppressed" is hidden too.

    Returns
    -------
    (pandas.DataFrame, int)
        The rows with a computed rate that may be shown, and how many computed rows were
        hidden. Where the arm difference derives from a small count its columns are set to NaN.

    Examples
    --------
    >>> r = pd.DataFrame({"rate": [0.06, 0.2, np.nan], "n_met": [3, 10, 0],
    ...                   "n_evaluable": [50, 50, 0]})
    >>> shown, hidden = shown_results(r)
    >>> len(shown), hidden
    (1, 1)
    """
    done = results.loc[results["rate"].notna()]
    if not suppress:
        return done.copy(), 0
    keep = ~rate_hidden(done)
    if masked is not None and "rate" in masked.columns:
        keep &= ~masked.loc[done.index, "rate"].astype(str).isin(_NOT_SHOWN)
    out = done.loc[keep].copy()
    arm_cols = [
        c
        for c in (
            "risk_difference",
            "rd_ci_low",
            "rd_ci_high",
            "odds_ratio",
            "or_ci_low",
            "or_ci_high",
        )
        if c in out.columns
    ]
    if arm_cols:
        out.loc[arm_hidden(out), arm_cols] = np.nan
        if masked is not None and "risk_difference" in masked.columns:
            gone = masked.loc[out.index, "risk_difference"].astype(str).isin(_NOT_SHOWN)
            out.loc[gone, arm_cols] = np.nan
    return out, int((~keep).sum())


# what multiverse.csv writes for a value it does not show: hidden by suppression, or not shown
# by the rounding method (a pooled multiple-imputation estimate; disclosure_tables.NOT_SHOWN)
_NOT_SHOWN = ("suppressed", "not shown")


def _where_in_csv(masked: pd.DataFrame | None, index: pd.Index, column: str, what: str) -> str:
    """What ``multiverse.csv`` (the masked table) shows of ``column`` on the rows ``index``."""
    n = len(index)
    if masked is None or column not in masked.columns:
        return f"multiverse.csv holds {what}"
    n_sup = int(masked.loc[index, column].astype(str).eq("suppressed").sum())
    if n_sup == 0:
        return f"multiverse.csv holds {what}"
    if n_sup == n:
        return (
            f'multiverse.csv lists these specifications with {what} shown as "suppressed" '
            "(disclosure control)"
        )
    return (
        f'multiverse.csv holds {what}, shown as "suppressed" (disclosure control) in {n_sup} '
        f"of these {n} specifications"
    )


def hidden_rates_note(
    results: pd.DataFrame,
    shown: pd.DataFrame,
    masked: pd.DataFrame | None = None,
    threshold: int = SMALL_COUNT,
    method: str = "suppression",
) -> str:
    """Why some computed specifications are left out of the figures, and what the CSV shows of them.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse` (every specification).
    shown : pandas.DataFrame
        :func:`shown_results`' rows (same index as ``results``).
    masked : pandas.DataFrame, optional
        What ``multiverse.csv`` holds: :func:`analysis.report.disclosure_tables.mask_multiverse`
        of ``results`` (same index). A hidden rate it shows as "suppressed" is said to be so:
        the sentence never claims the file holds a rate it hides.
    threshold : int
        Smallest count shown as it is (:data:`SMALL_COUNT`).
    method : {"suppression", "rounding"}
        The run's disclosure method: under rounding the small counts are those of 1-7, and a
        pooled multiple-imputation rate the CSV marks "not shown" is said to be left out for
        that reason.

    Returns
    -------
    str
        ``""`` when no computed rate is hidden; otherwise one sentence.

    Examples
    --------
    >>> r = pd.DataFrame({"rate": [0.06, 0.2, 0.3, np.nan]})
    >>> m = r.astype(object).assign(rate=["suppressed", 0.2, 0.3, np.nan])
    >>> note = hidden_rates_note(r, r.iloc[[1, 2]], m)
    >>> note[:54]
    '1 computed specification(s) rest on counts from 1 to 4'
    >>> note.split("; ")[-1][:54]
    'multiverse.csv lists these specifications with their r'
    >>> 'in 1 of these 2 specifications' in hidden_rates_note(r, r.iloc[[1]], m)
    True
    """
    hidden = results.index[results["rate"].notna()].difference(shown.index)
    if not len(hidden):
        return ""
    if method == "rounding":
        pooled = (
            hidden[masked.loc[hidden, "rate"].astype(str).eq("not shown").to_numpy()]
            if masked is not None and "rate" in masked.columns
            else hidden[:0]
        )
        small = hidden.difference(pooled)
        parts = []
        if len(small):
            parts.append(
                f"{len(small)} computed specification(s) rest on a count of 1-7 (met, not met or "
                "evaluable): their rates are left out of every figure and table below "
                'and read "suppressed" in multiverse.csv (disclosure control)'
            )
        if len(pooled):
            parts.append(
                f"{len(pooled)} use multiple imputation: their pooled rates are not shown "
                'anywhere (multiverse.csv: "not shown"), because a rate pooled over the '
                "imputations, times their number, gives the exact count back"
            )
        return "; ".join(parts) + "."
    return (
        f"{len(hidden)} computed specification(s) rest on counts from 1 to {threshold - 1} (met, "
        "not met or evaluable) or on a count hidden in notebook 01: their rates are left out of "
        "every figure and table below (disclosure control); "
        f"{_where_in_csv(masked, hidden, 'rate', 'their rates')}."
    )


def arm_difference_absent(
    results: pd.DataFrame,
    shown: pd.DataFrame,
    group: str,
    masked: pd.DataFrame | None = None,
    method: str = "suppression",
) -> str:
    """Why the arm difference is not drawn (fewer than two specifications show it): a sentence.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse` (every specification).
    shown : pandas.DataFrame
        :func:`shown_results`' rows (arm columns NaN where hidden).
    group : str
        The client column of the arms.
    masked : pandas.DataFrame, optional
        What ``multiverse.csv`` holds (:func:`analysis.report.disclosure_tables.mask_multiverse`
        of ``results``, same index): where it shows a hidden difference as "suppressed", the
        sentence says so.
    method : {"suppression", "rounding"}
        The run's disclosure method (under rounding the small counts are those of 1-7, and pooled
        multiple-imputation differences are not shown).

    Returns
    -------
    str
        When the arm difference was computed under some specifications but is hidden in all but
        fewer than two: that disclosure control hides it (counts from 1 to 4 in an arm or
        overall), with the numbers of specifications; otherwise that fewer than two arms have
        evaluable clients.

    Examples
    --------
    >>> r = pd.DataFrame({"risk_difference": [0.1, 0.2, np.nan]})
    >>> arm_difference_absent(r, r.iloc[:0], "arm")[:58]
    'The arm difference: not shown: computed under 2 specificat'
    >>> arm_difference_absent(r.iloc[2:], r.iloc[:0], "arm")[:54]
    "The arm difference: not computed: the column 'arm' has"
    """
    n_done = int(results["risk_difference"].notna().sum()) if "risk_difference" in results else 0
    n_shown = int(shown["risk_difference"].notna().sum()) if "risk_difference" in shown else 0
    if n_done and n_done == n_shown:
        return (
            f"The arm difference: not drawn: computed under only {n_done} specification(s), "
            "fewer than the two a curve needs; multiverse.csv holds it."
        )
    if n_done:
        done = results.index[results["risk_difference"].notna()]
        hidden = done.difference(shown.index[shown["risk_difference"].notna()])
        return (
            f"The arm difference: not shown: computed under {n_done} specification(s), but in "
            f"{n_done - n_shown} of them it rests on "
            + (
                "a count of 1-7 (met, not met or evaluable, in an arm or overall) or is a pooled "
                "multiple-imputation estimate, not shown under the rounding method, leaving "
                if method == "rounding"
                else f"counts from 1 to {SMALL_COUNT - 1} (met, not met or evaluable, in an arm "
                "or overall) and is hidden (disclosure control), leaving "
            )
            + f"{n_shown}, fewer than the two a curve needs; "
            f"{_where_in_csv(masked, hidden, 'risk_difference', 'the differences')}."
        )
    return (
        f"The arm difference: not computed: the column {group!r} has fewer than two arms with "
        "evaluable clients in at least two specifications."
    )


def _pct_ci(est, lo, hi, scale: float = 100.0, digits: int = 1) -> list[str]:
    return [
        ""
        if pd.isna(e)
        else f"{scale * e:.{digits}f} ({scale * a:.{digits}f} to {scale * b:.{digits}f})"
        for e, a, b in zip(est, lo, hi, strict=True)
    ]


#: how a count of a multiply-imputed specification is labelled in a display table
MI_COUNT_NOTE = "mean over the imputations, rounded"


def format_specifications(
    results: pd.DataFrame,
    suppress: bool = True,
    label: Callable[[str], str] = plain_label,
    masked: pd.DataFrame | None = None,
    digits: int = 1,
) -> pd.DataFrame:
    """Display version of a set of specifications (e.g. the run's own, or the extremes).

    Parameters
    ----------
    results : pandas.DataFrame
        Rows of :func:`analysis.compare.multiverse.run_multiverse`.
    suppress : bool
        Counts 1-4 shown as "<5", and the percentages and arm difference derived from them as
        "suppressed".
    label : callable
        Definition name -> label (:func:`analysis.report.text.labeller`).
    masked : pandas.DataFrame, optional
        :func:`analysis.report.disclosure_tables.mask_multiverse` of the run's results with its
        plan (index of ``results`` included): its hidden counts and statistics are shown as it
        shows them (a specification's count that is notebook 01's reads as notebook 01 shows it).
    digits : int
        Decimals of the percentages (0 under the rounding method: whole percentages, as NHS
        Digital 2018 asks below a rounded denominator of 4,000).

    Returns
    -------
    pandas.DataFrame
        The choice columns (headed as ``J&T cutoff``, ``missing data``, ...; the definition by
        its label, other levels in words), ``met``, ``evaluable`` (under multiple imputation the
        means over the imputations, rounded, labelled so in the cell: the pooled rate is not
        their ratio), ``% met (95% CI)`` and, where the data have arms,
        ``risk difference, % points (95% CI)`` and ``odds ratio (95% CI)``.

    Examples
    --------
    >>> r = pd.DataFrame({"definition": ["response"], "cutoff_type": "n/a",
    ...     "reliability": "n/a", "missing": "locf", "post": "last", "population": "all",
    ...     "n_met": [3], "n_evaluable": [40], "rate": [0.075], "ci_low": [0.03],
    ...     "ci_high": [0.2]})
    >>> format_specifications(r).iloc[0][["met", "% met (95% CI)"]].tolist()
    ['<5', 'suppressed']
    """
    out = pd.DataFrame(
        {_CHOICE_NAMES[c]: [_choice_value(c, v, label) for v in results[c]] for c in CHOICES}
    )
    out["met"] = pd.array(results["n_met"].to_numpy(float), dtype="Int64")
    out["evaluable"] = pd.array(results["n_evaluable"].to_numpy(float), dtype="Int64")
    out["% met (95% CI)"] = _pct_ci(
        results["rate"], results["ci_low"], results["ci_high"], digits=digits
    )
    derived = ["% met (95% CI)"]
    has_arm = "risk_difference" in results.columns and results["risk_difference"].notna().any()
    if has_arm:
        rd = "risk difference, % points (95% CI)"
        out[rd] = _pct_ci(
            results["risk_difference"], results["rd_ci_low"], results["rd_ci_high"], digits=digits
        )
        out["odds ratio (95% CI)"] = _pct_ci(
            results["odds_ratio"], results["or_ci_low"], results["or_ci_high"], 1.0, 2
        )
    out = out.reset_index(drop=True)
    if suppress:
        out = suppress_small_counts(
            out,
            ["met", "evaluable"],
            derived,
            ("met", "evaluable"),
            derived_from=["met", "evaluable"],
        )
        if has_arm:
            hide = arm_hidden(results).to_numpy() | rate_hidden(results).to_numpy()
            for c in (rd, "odds ratio (95% CI)"):
                out[c] = out[c].astype(object).where(~hide, "suppressed")
    if suppress and masked is not None:
        m = masked.loc[results.index].reset_index(drop=True)
        pairs = [("met", "n_met"), ("evaluable", "n_evaluable"), ("% met (95% CI)", "rate")]
        if has_arm:
            pairs += [(rd, "risk_difference"), ("odds ratio (95% CI)", "odds_ratio")]
        for shown_col, col in pairs:
            if col in m.columns:
                lab = m[col].map(lambda v: v if isinstance(v, str) else None)
                out[shown_col] = out[shown_col].astype(object).where(lab.isna(), lab)
        for shown_col, col in (("met", "n_met"), ("evaluable", "n_evaluable")):
            # a count the CSV shows as another number (rounding method): as the CSV shows it
            if col in m.columns:
                v = pd.to_numeric(m[col].where(m[col].map(lambda x: not isinstance(x, str))))
                own = pd.to_numeric(results[col].reset_index(drop=True), errors="coerce")
                other = v.notna() & (v != own)
                out[shown_col] = out[shown_col].astype(object).where(~other, v.astype("Int64"))
    # under multiple imputation the counts are means over the imputations, rounded, and the rate
    # is pooled (Rubin's rules), not met / evaluable: say so in the cell
    mi = (results["missing"].astype(str) == "multiple_imputation").to_numpy()
    if mi.any():
        for c in ("met", "evaluable"):
            out[c] = [
                f"{v} ({MI_COUNT_NOTE})" if m and str(v)[:1].isdigit() else v
                for v, m in zip(out[c].astype(object), mi, strict=True)
            ]
    return out


def range_by_definition(
    shown: pd.DataFrame, label: Callable[[str], str] = plain_label
) -> pd.DataFrame:
    """The range of success rates per definition over the shown specifications.

    Parameters
    ----------
    shown : pandas.DataFrame
        :func:`shown_results`' rows.
    label : callable
        Definition name -> label (:func:`analysis.report.text.labeller`).

    Returns
    -------
    pandas.DataFrame
        ``definition``, ``specifications``, ``lowest %``, ``median %``, ``highest %``,
        ``range (% points)``; a last row ``all definitions``.

    Examples
    --------
    >>> r = pd.DataFrame({"definition": ["a", "a", "b"], "rate": [0.2, 0.5, 0.4]})
    >>> range_by_definition(r)["range (% points)"].tolist()
    [30.0, 0.0, 30.0]
    """

    def one(rates: pd.Series) -> dict:
        return {
            "specifications": int(rates.size),
            "lowest %": round(100 * rates.min(), 1),
            "median %": round(100 * rates.median(), 1),
            "highest %": round(100 * rates.max(), 1),
            "range (% points)": round(100 * (rates.max() - rates.min()), 1),
        }

    rows = [
        {"definition": label(str(d)), **one(g["rate"])}
        for d, g in shown.groupby("definition", sort=False)
    ]
    rows.append({"definition": "all definitions", **one(shown["rate"])})
    return pd.DataFrame(rows)


def format_spread(spread: pd.DataFrame) -> pd.DataFrame:
    """Display version of :func:`analysis.compare.multiverse.decompose_spread` (percentage points).

    Returns
    -------
    pandas.DataFrame
        ``choice`` (in words), ``levels``, ``comparisons``, ``median shift (% points)``,
        ``largest shift (% points)``, ``share of variance (eta squared)``.

    Examples
    --------
    >>> t = pd.DataFrame({"choice": ["missing"], "levels": [2], "comparisons": [3],
    ...                   "median_shift": [0.061], "max_shift": [0.1], "eta_squared": [0.4]})
    >>> shown = format_spread(t)
    >>> shown["choice"].tolist(), shown["median shift (% points)"].tolist()
    (['the missing-data strategy'], [6.1])
    """
    return pd.DataFrame(
        {
            "choice": spread["choice"].map(lambda c: _CHOICE_WORDS.get(c, c)),
            "levels": spread["levels"],
            "comparisons": spread["comparisons"],
            "median shift (% points)": (100 * spread["median_shift"]).round(1),
            "largest shift (% points)": (100 * spread["max_shift"]).round(1),
            "share of variance (eta squared)": spread["eta_squared"].round(2),
        }
    )


def spread_in_words(spread: pd.DataFrame) -> str:
    """Which choice moves the success rate most, in one or two sentences.

    Parameters
    ----------
    spread : pandas.DataFrame
        :func:`analysis.compare.multiverse.decompose_spread`, sorted by ``median_shift``.

    Returns
    -------
    str

    Examples
    --------
    >>> t = pd.DataFrame({"choice": ["definition", "missing"], "levels": [3, 2],
    ...                   "comparisons": [4, 6], "median_shift": [0.16, 0.06],
    ...                   "max_shift": [0.2, 0.1], "eta_squared": [0.8, 0.1]})
    >>> print(spread_in_words(t))  # doctest: +NORMALIZE_WHITESPACE
    The choice that moves the success rate most is the definition of success: with every other
    choice held fixed, changing it alone shifts the rate by a median of 16.0 percentage points
    (up to 20.0; 4 comparisons). Next: the missing-data strategy, median 6.0 points (up to 10.0).
    """
    ranked = spread.loc[spread["median_shift"].notna()]
    if ranked.empty:
        return (
            "No choice could be compared with every other choice held fixed "
            "(each varies in a different set of specifications)."
        )
    top = ranked.iloc[0]
    first = _CHOICE_WORDS.get(top["choice"], top["choice"])
    text = (
        f"The choice that moves the success rate most is {first}: "
        f"with every other choice held fixed, changing it alone shifts the rate by a median of "
        f"{100 * top['median_shift']:.1f} percentage points (up to {100 * top['max_shift']:.1f}; "
        f"{int(top['comparisons'])} comparisons)."
    )
    if len(ranked) > 1:
        nxt = ranked.iloc[1]
        text += (
            f" Next: {_CHOICE_WORDS.get(nxt['choice'], nxt['choice'])}, median "
            f"{100 * nxt['median_shift']:.1f} points (up to {100 * nxt['max_shift']:.1f})."
        )
    return text


def skipped_specifications(
    results: pd.DataFrame, label: Callable[[str], str] = plain_label
) -> pd.DataFrame:
    """The specifications that were not computed, grouped by reason.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse`.
    label : callable
        Definition name -> label (:func:`analysis.report.text.labeller`).

    Returns
    -------
    pandas.DataFrame
        ``reason``, ``specifications`` (how many), ``definitions`` (their labels,
        comma-separated), ``example`` (the choices of the first one,
        :func:`describe_specification`); most frequent reason first. Empty when every
        specification was computed.

    Examples
    --------
    >>> r = pd.DataFrame({"definition": ["a", "b"], "cutoff_type": "c", "reliability": "n/a",
    ...     "missing": "locf", "post": "last", "population": "chronic",
    ...     "computable": [False, True], "reason": ["no chronicity recorded", ""]})
    >>> skipped_specifications(r)[["reason", "specifications"]].values.tolist()
    [['no chronicity recorded', 1]]
    """
    cols = ["reason", "specifications", "definitions", "example"]
    bad = results.loc[~results["computable"].astype(bool)]
    if bad.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for reason, g in bad.groupby("reason", sort=False):
        first = g.iloc[0]
        rows.append(
            {
                "reason": str(reason).removeprefix("not computed: "),
                "specifications": len(g),
                "definitions": ", ".join(
                    label(d) for d in dict.fromkeys(g["definition"].astype(str))
                ),
                "example": describe_specification(first, label),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("specifications", ascending=False, kind="stable", ignore_index=True)
