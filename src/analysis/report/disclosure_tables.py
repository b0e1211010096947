"""The run's disclosure plan applied to the tables a report shows and the CSVs beside it.

:mod:`analysis.report.disclosure` decides, once per run, which counts are hidden (primary and
complementary suppression, audited across every table). The functions here take a table (for
display or for a CSV), say which plan count each of its count columns holds, and hide what the
plan hides: the count itself (``"<5"`` for primary, ``"suppressed"`` for complementary
suppression) and every statistic of the row derived from a hidden count (percentages,
confidence intervals, kappa, PABAK, percent agreement, p values, hazard ratios). So a count is
hidden in every report and CSV of a run or in none (Hundepool et al. 2012, *Statistical
Disclosure Control*, Wiley, ch. 4; NHS Digital 2018 disclosure control methodology for HES:
"checking that other values within the data cannot be used to recalculate the original small
numbers").

With no plan (``plan=None``: suppression off, e.g. simulated data) tables are returned as they
are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from analysis.compare.multiverse import SET_COUNTS
from analysis.report.disclosure import (
    ROUNDED_SMALL,
    SMALL_COUNT,
    any_suppressed,
    plan_method,
    rounded_count,
)

__all__ = [
    "mask",
    "mask_prevalence",
    "mask_pairs",
    "rounded_pairs",
    "mask_km",
    "mask_curves",
    "km_steps",
    "mask_families",
    "mask_landmark",
    "curves_note",
    "NOT_SHOWN",
    "MEANS_NOT_SHOWN",
    "means_not_shown",
    "KM_NOT_SHOWN",
    "prevalence_cells",
    "category_counts",
    "shown_value",
    "mask_excluded",
    "mask_share",
    "methods_row",
    "mask_by_session",
    "mask_multiverse",
    "rates_as_shown",
    "rounded_shares",
    "is_hidden",
    "mask_matrix",
    "hidden_note",
    "count_subject",
]


def _label(plan: pd.DataFrame, cell: str, threshold: int) -> str | None:
    row = plan.loc[plan["cell"] == cell]
    if row.empty or not bool(row["suppressed"].iloc[0]):
        return None
    if plan_method(plan) == "rounding":
        return ROUNDED_SMALL
    return f"<{threshold}" if str(row["reason"].iloc[0]).startswith("primary") else "suppressed"


def mask(
    table: pd.DataFrame,
    plan: pd.DataFrame | None,
    cells: Mapping[str, Sequence[str | None]],
    derived: Mapping[str, Sequence[Iterable[str]]] | None = None,
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Hide the counts the run's plan hides, and the statistics derived from them.

    Parameters
    ----------
    table : pandas.DataFrame
        A display table or a CSV table, one row per position of the sequences below. Not
        modified.
    plan : pandas.DataFrame or None
        The run's plan (:func:`analysis.report.disclosure.run_plan`, ``read_plan`` or
        ``extend_plan``: ``cell``, ``suppressed``, ``reason``); None returns a copy unchanged
        (suppression off).
    cells : mapping of str to sequence
        Count column -> the plan count it holds in each row (None: a count the plan does not
        know; it gets primary suppression, 1 to ``threshold - 1`` shown as ``"<threshold"``).
    derived : mapping of str to sequence, optional
        Statistic column -> per row, the plan counts it is computed from; it reads
        ``"suppressed"`` when any of them is hidden (in the plan, or in that row by primary
        suppression).
    threshold : int
        The plan's threshold.

    Returns
    -------
    pandas.DataFrame
        A copy; hidden entries are strings (object dtype). Under a rounding plan
        (:func:`analysis.report.disclosure.rounding_plan`) every count of ``cells`` is shown
        rounded to the nearest 5 (:func:`analysis.report.disclosure.rounded_count`), 1-7 as
        ``"1-7"``, whatever its plan entry; the derived statistics are hidden where a count they
        come from is 1-7 (callers that show a percentage recompute it from the rounded counts,
        e.g. :func:`mask_prevalence`).

    Raises
    ------
    ValueError
        If a sequence's length differs from the table's number of rows.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["a: met", "a: evaluable"], "suppressed": [True, False],
    ...                      "reason": ["primary: fewer than 5", ""]})
    >>> t = pd.DataFrame({"met": [3], "evaluable": [20], "%": [15.0]})
    >>> mask(t, plan, {"met": ["a: met"], "evaluable": ["a: evaluable"]},
    ...      {"%": [["a: met", "a: evaluable"]]}).iloc[0].tolist()
    ['<5', 20, 'suppressed']
    """
    out = table.copy().reset_index(drop=True)
    if plan is None:
        return table.copy()
    derived = dict(derived or {})
    for col, seq in [*cells.items(), *derived.items()]:
        if len(seq) != len(out):
            raise ValueError(f"column {col!r}: {len(seq)} plan entries for {len(out)} rows")
    touched = set(cells) | set(derived)
    for c in touched:
        out[c] = out[c].astype(object)
    known = set(plan["cell"])
    planned = (
        dict(zip(plan["cell"], pd.to_numeric(plan["count"], errors="coerce"), strict=True))
        if "count" in plan.columns
        else {}
    )
    rounding = plan_method(plan) == "rounding"
    hidden_in_row: list[set[str]] = [set() for _ in range(len(out))]
    for col, seq in cells.items():
        for i, cell in enumerate(seq):
            if rounding:  # a count's display is a function of its own value (rounded_count)
                lab = _label(plan, cell, threshold) if cell is not None and cell in known else None
                v = pd.to_numeric(pd.Series([out.at[i, col]]), errors="coerce").iloc[0]
                if lab is None and pd.notna(v):
                    r = rounded_count(v)
                    if r == ROUNDED_SMALL:
                        lab = r
                    else:
                        out.at[i, col] = r
            elif cell is not None and cell in known:
                lab = _label(plan, cell, threshold)
                v = pd.to_numeric(pd.Series([out.at[i, col]]), errors="coerce").iloc[0]
                c = planned.get(cell)
                if lab is None and c is not None and pd.notna(c) and pd.notna(v) and v != c:
                    # the table's count is not the plan's: not audited, so not shown
                    lab = "suppressed"
            else:
                v = pd.to_numeric(pd.Series([out.at[i, col]]), errors="coerce").iloc[0]
                lab = f"<{threshold}" if pd.notna(v) and 1 <= v < threshold else None
            if lab is not None:
                out.at[i, col] = lab
                hidden_in_row[i].add(cell if cell is not None else f"column {col}")
    for col, seq in derived.items():
        for i, basis in enumerate(seq):
            basis = list(basis)
            if any(
                (b in known and _label(plan, b, threshold)) or b in hidden_in_row[i] for b in basis
            ):
                out.at[i, col] = "suppressed"
    out.index = table.index
    return out


# NHS Digital (2018): a percentage to one decimal place is within 0.1 of the percentage of the
# unrounded counts only from a rounded denominator of 4,000; below it, whole percentages
_ONE_DECIMAL_FROM = 4000


def _rounded_rate(part, total) -> tuple[float, float, float, int] | None:
    """A proportion and its 95 % Wilson interval from the rounded counts (rounding method).

    Returns ``(proportion, low, high, decimals)``, each rounded to ``decimals`` (2: whole
    percentages; 3 from a rounded denominator of 4,000), or None where the part, the total or
    the rest (total - part) is from 1 to 7 (the derived-statistics rule), or the total is 0 or
    missing.
    """
    from analysis.compare.prevalence import wilson_interval

    k = pd.to_numeric(pd.Series([part]), errors="coerce").iloc[0]
    n = pd.to_numeric(pd.Series([total]), errors="coerce").iloc[0]
    if pd.isna(k) or pd.isna(n) or n <= 0:
        return None
    kr, nr, rest = rounded_count(k), rounded_count(n), rounded_count(n - k)
    if ROUNDED_SMALL in (kr, nr, rest) or nr == 0:
        return None
    lo, hi = wilson_interval(int(kr), int(nr))
    dec = 3 if nr >= _ONE_DECIMAL_FROM else 2
    return round(kr / nr, dec), round(float(lo), dec), round(float(hi), dec), dec


def _percent(value: float, decimals: int):
    """A percentage at ``decimals`` places; whole percentages as int ("27", not "27.0")."""
    return int(round(value)) if decimals <= 0 else round(value, decimals)


def _rate_text(rate: tuple[float, float, float, int]) -> str:
    """``"32 (23 to 42)"``: a percentage and its interval at the precision of ``rate``."""
    p, lo, hi, dec = rate
    d = dec - 2
    return f"{100 * p:.{d}f} ({100 * lo:.{d}f} to {100 * hi:.{d}f})"


def prevalence_cells(
    prev: pd.DataFrame, group: str | None = None, suffix: str = ""
) -> tuple[list[str], list[str]]:
    """Per row of a prevalence table, its definition and its plan suffix (``" | <level>"``).

    Examples
    --------
    >>> import pandas as pd
    >>> prevalence_cells(pd.DataFrame({"definition": ["a"], "arm": ["TAU"]}), "arm")
    (['a'], [' | TAU'])
    """
    names = [str(d) for d in prev["definition"]]
    if group:
        sfx = [f" | {suffix}{lv}" for lv in prev[group]]
    else:
        sfx = [""] * len(prev)
    return names, sfx


# column names of the prevalence tables, as computed, written and displayed
_MET = ("n_met", "met")
_NOT_MET = ("n_not_met", "not met")
_EVAL = ("n_evaluable", "evaluable")
_NOT_EVAL = ("n_not_evaluable", "not evaluable")
_PREV_STATS = ("proportion", "ci_low", "ci_high", "% met (95% CI)", "% met (95 % CI)")


def mask_prevalence(
    table: pd.DataFrame,
    prev: pd.DataFrame,
    plan: pd.DataFrame | None,
    group: str | None = None,
    threshold: int = SMALL_COUNT,
    suffix: str = "",
) -> pd.DataFrame:
    """Hide, in a prevalence table (display or CSV), what the run's plan hides.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`analysis.compare.prevalence.prevalence` output (for a CSV) or
        :func:`analysis.report.tables.format_prevalence` of it (for display), row for row.
    prev : pandas.DataFrame
        The prevalence table the rows come from (its ``definition`` names and ``group``
        levels name the plan's counts ``"<definition>: met | <level>"``).
    plan : pandas.DataFrame or None
        The run's plan; None: unchanged.
    group : str, optional
        The grouping column of ``prev``.
    threshold : int
        The plan's threshold.
    suffix : str
        Prefix of the level in the plan's names (e.g. ``"sudden gain "``).

    Returns
    -------
    pandas.DataFrame
        Met, not met, evaluable and not evaluable as the plan shows them; the percentage and
        its interval "suppressed" when met, not met or evaluable is hidden. Under a rounding
        plan the counts are rounded to the nearest 5 (1-7 read "1-7") and the percentage and
        its 95 % Wilson interval are computed from the rounded met and evaluable, as whole
        percentages below a rounded denominator of 4,000 (NHS Digital 2018: percentages from
        the rounded numerator and denominator); "suppressed" where met, not met or evaluable
        is from 1 to 7.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["a: met", "a: not_met", "a: evaluable", "a: not_evaluable"],
    ...                      "suppressed": [False, True, False, False],
    ...                      "reason": ["", "complementary: would reveal b", "", ""]})
    >>> prev = pd.DataFrame({"definition": ["a"], "n_met": [30], "n_evaluable": [33],
    ...                      "n_not_evaluable": [0], "proportion": [0.9], "ci_low": [0.8],
    ...                      "ci_high": [0.97]})
    >>> mask_prevalence(prev, prev, plan).iloc[0].tolist()
    ['a', 30, 33, 0, 'suppressed', 'suppressed', 'suppressed']
    """
    names, sfx = prevalence_cells(prev, group, suffix)
    cells: dict[str, list] = {}
    for cols, status in ((_MET, "met"), (_NOT_MET, "not_met"), (_EVAL, "evaluable")):
        for c in cols:
            if c in table.columns:
                cells[c] = [f"{d}: {status}{s}" for d, s in zip(names, sfx, strict=True)]
    for c in _NOT_EVAL:
        if c in table.columns:
            cells[c] = [f"{d}: not_evaluable{s}" for d, s in zip(names, sfx, strict=True)]
    basis = [
        [f"{d}: met{s}", f"{d}: not_met{s}", f"{d}: evaluable{s}"]
        for d, s in zip(names, sfx, strict=True)
    ]
    derived = {c: basis for c in _PREV_STATS if c in table.columns}
    out = mask(table, plan, cells, derived, threshold)
    if plan_method(plan) != "rounding" or not derived:
        return out
    # rounding: the percentage and its Wilson interval from the rounded met and evaluable
    k = prev["n_met"].tolist() if "n_met" in prev.columns else [None] * len(prev)
    n = prev["n_evaluable"].tolist() if "n_evaluable" in prev.columns else [None] * len(prev)
    for i in range(len(out)):
        if all(is_hidden([out.iloc[i, out.columns.get_loc(c)]])[0] for c in derived):
            continue
        rate = _rounded_rate(k[i], n[i])
        if rate is None:
            exact = pd.to_numeric(pd.Series([n[i]]), errors="coerce").iloc[0]
            if pd.notna(exact) and exact > 0:  # a count from 1 to 7 behind it
                for c in derived:
                    out.iloc[i, out.columns.get_loc(c)] = "suppressed"
            continue
        for c in derived:
            j = out.columns.get_loc(c)
            if c.startswith("%"):
                out.iloc[i, j] = _rate_text(rate)
            else:
                out.iloc[i, j] = {"proportion": rate[0], "ci_low": rate[1], "ci_high": rate[2]}[c]
    return out


# a pair's 2 x 2 cells, as computed (pairwise_agreement) and as displayed
_PAIR_CELLS = {
    "both_met": "met/met",
    "both met": "met/met",
    "only_a": "met/not_met",
    "only a": "met/not_met",
    "only_b": "not_met/met",
    "only b": "not_met/met",
    "neither": "not_met/not_met",
    "n_disagree": "disagree",
    "n disagree": "disagree",
    "mcnemar_b": "met/not_met",
    "mcnemar_c": "not_met/met",
    "n_both": "both evaluable",
    "n both": "both evaluable",
    "clients in both": "both evaluable",
}
_PAIR_KEYS = {
    "definition_a",
    "definition_b",
    "definition A",
    "definition B",
    "family_a",
    "family_b",
    "note",
}


def mask_pairs(
    table: pd.DataFrame,
    pairs: pd.DataFrame,
    plan: pd.DataFrame | None,
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Hide, in a table of definition pairs (display or CSV), what the run's plan hides.

    Parameters
    ----------
    table : pandas.DataFrame
        Pairwise agreement (:func:`analysis.compare.agreement.pairwise_agreement`), a
        disagreement table or their display versions, row for row with ``pairs``.
    pairs : pandas.DataFrame
        ``definition_a``, ``definition_b`` per row (names as in the plan).
    plan : pandas.DataFrame or None
        The run's plan; None: unchanged.
    threshold : int
        The plan's threshold.

    Returns
    -------
    pandas.DataFrame
        The 2 x 2 cells, their total and the number who disagree as the plan shows them; every
        other column but the definitions and the note (percent agreement, kappa and its
        interval, PABAK, McNemar's p, ...) "suppressed" when any 2 x 2 cell of the pair is
        hidden. Under a rounding plan the counts are rounded (1-7 read "1-7") and every
        statistic of the pair (percent agreement, a whole percentage below 4,000; PABAK; kappa,
        its standard error and interval; McNemar's p; the prevalences and their difference) is
        computed from the four rounded 2 x 2 cells (:func:`rounded_pairs`), raw and display
        columns alike; "suppressed" where a cell is 1-7.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = ["a x b: met/met", "a x b: met/not_met", "a x b: not_met/met",
    ...          "a x b: not_met/not_met", "a x b: both evaluable"]
    >>> plan = pd.DataFrame({"cell": cells, "suppressed": [True, True, True, True, False],
    ...                      "reason": ["complementary"] + ["primary: fewer than 5"] + [""] * 3})
    >>> t = pd.DataFrame({"definition_a": ["a"], "definition_b": ["b"], "n_both": [40],
    ...                   "only_a": [3], "percent_agree": [80.0]})
    >>> mask_pairs(t, t, plan).iloc[0].tolist()
    ['a', 'b', 40, '<5', 'suppressed']
    """
    a, b = pairs["definition_a"].astype(str).tolist(), pairs["definition_b"].astype(str).tolist()
    cells = {
        c: [f"{x} x {y}: {_PAIR_CELLS[c]}" for x, y in zip(a, b, strict=True)]
        for c in table.columns
        if c in _PAIR_CELLS
    }
    basis = [
        [f"{x} x {y}: {s}" for s in ("met/met", "met/not_met", "not_met/met", "not_met/not_met")]
        for x, y in zip(a, b, strict=True)
    ]
    derived = {c: basis for c in table.columns if c not in _PAIR_CELLS and c not in _PAIR_KEYS}
    out = mask(table, plan, cells, derived, threshold)
    if plan_method(plan) != "rounding":
        return out
    # rounding: every statistic of the pair from its four rounded 2 x 2 cells (rounded_pairs)
    if not {"both_met", "only_a", "only_b", "neither"} <= set(pairs.columns):
        return out
    rp = rounded_pairs(pairs, plan)
    from analysis.report.text import format_estimate, format_p

    kappa_text = format_estimate(rp["kappa"], rp["kappa_ci_low"], rp["kappa_ci_high"])
    shown = {
        "percent_agree": rp["percent_agree"].tolist(),
        "percent agree": rp["percent_agree"].tolist(),
        "pabak": rp["pabak"].tolist(),
        "kappa": rp["kappa"].tolist(),
        "kappa_se": rp["kappa_se"].tolist(),
        "kappa_ci_low": rp["kappa_ci_low"].tolist(),
        "kappa_ci_high": rp["kappa_ci_high"].tolist(),
        "mcnemar_p": rp["mcnemar_p"].tolist(),
        "prevalence_a": rp["prevalence_a"].tolist(),
        "prevalence_b": rp["prevalence_b"].tolist(),
        "prevalence_difference": rp["prevalence_difference"].tolist(),
        "% agree": ["" if pd.isna(v) else f"{v:.0f}" for v in rp["percent_agree"]],
        "PABAK": ["" if pd.isna(v) else f"{v:.2f}" for v in rp["pabak"]],
        "kappa (95 % CI)": ["undefined" if s == "not computed" else s for s in kappa_text],
        "McNemar p": [format_p(v) for v in rp["mcnemar_p"]],
    }
    small = rp["_small"].tolist()
    for c, values in shown.items():
        if c not in out.columns:
            continue
        out[c] = out[c].astype(object)  # a whole percentage stays 87, not 87.0
        j = out.columns.get_loc(c)
        for i in range(len(out)):
            if is_hidden([out.iloc[i, j]])[0]:
                continue
            out.iloc[i, j] = "suppressed" if small[i] else values[i]
    return out


def rounded_pairs(pairs: pd.DataFrame, plan: pd.DataFrame | None) -> pd.DataFrame:
    """Pairwise agreement recomputed from the rounded 2 x 2 cells (rounding method).

    Under the rounding method every number a run shows is a rounded count or a statistic of the
    rounded counts the run shows (NHS Digital 2018: percentages from the rounded numbers). A
    statistic computed from the exact cells gives them back: McNemar's p fixes the discordant
    cells b and c, kappa then the concordant ones (a reviewer recovered every 2 x 2 table of a
    run from ``mcnemar_p`` and ``kappa`` at full precision). So each pair's cells are rounded as
    the tables show them (:func:`analysis.report.disclosure.rounded_count`) and percent
    agreement, PABAK, Cohen's kappa with its standard error and interval, McNemar's p and the
    two prevalences are computed from those four rounded cells, their sum the total: the same
    formulas as :func:`analysis.compare.agreement.pairwise_agreement`. Where a cell is 1-7 the
    statistics are NaN and ``_small`` is True (they are not shown).

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`analysis.compare.agreement.pairwise_agreement` (``both_met``, ``only_a``,
        ``only_b``, ``neither``; statistic columns are replaced).
    plan : pandas.DataFrame or None
        The run's plan; anything but a rounding plan: ``pairs`` returned unchanged.

    Returns
    -------
    pandas.DataFrame
        A copy of ``pairs`` (same rows, 2 x 2 cells unchanged) with ``percent_agree`` (0-100, a
        whole percentage below a rounded total of 4,000, one decimal from it), ``pabak``,
        ``kappa``, ``kappa_se``, ``kappa_ci_low``, ``kappa_ci_high``, ``mcnemar_p``,
        ``prevalence_a``, ``prevalence_b``, ``prevalence_difference`` from the rounded cells
        and ``_small`` (a cell is 1-7).

    Examples
    --------
    Cells 28, 12, 0, 57 (n = 97) round to 30, 10, 0, 55 (n = 95): agreement 85 / 95 = 89 %,
    PABAK 2 x 85 / 95 - 1 = 0.79; kappa: p_e = (40/95)(30/95) + (55/95)(65/95) = 0.5291, so
    (0.8947 - 0.5291) / (1 - 0.5291) = 0.7765 (exact cells: 0.7328); McNemar's mid-p on b = 10,
    c = 0 (not on the exact 12 and 0):

    >>> import pandas as pd
    >>> from analysis.report.disclosure import rounding_plan
    >>> plan = rounding_plan(pd.DataFrame({"a": [True] * 9}))
    >>> p = pd.DataFrame({"definition_a": ["a"], "definition_b": ["b"], "n_both": [97],
    ...                   "both_met": [28], "only_a": [12], "only_b": [0], "neither": [57]})
    >>> r = rounded_pairs(p, plan).iloc[0]
    >>> float(r["percent_agree"]), float(r["pabak"]), round(float(r["kappa"]), 4)
    (89.0, 0.79, 0.7765)
    """
    out = pairs.copy()
    if plan_method(plan) != "rounding":
        return out
    from analysis.compare.agreement import cohen_kappa_2x2, mcnemar_p

    method = pairs["mcnemar_method"] if "mcnemar_method" in pairs.columns else None
    cols = {
        c: []
        for c in (
            "percent_agree",
            "pabak",
            "kappa",
            "kappa_se",
            "kappa_ci_low",
            "kappa_ci_high",
            "mcnemar_p",
            "prevalence_a",
            "prevalence_b",
            "prevalence_difference",
            "_small",
        )
    }
    nan = float("nan")
    for i in range(len(pairs)):
        raw = [pairs[c].iloc[i] for c in ("both_met", "only_a", "only_b", "neither")]
        cells = [rounded_count(v) for v in raw]
        small = any(not isinstance(v, (int, float)) or pd.isna(v) for v in cells)
        n = 0 if small else int(sum(cells))
        if small or n == 0:
            for c in cols:
                cols[c].append(bool(small) if c == "_small" else nan)
            continue
        a, b, c_, d = (int(v) for v in cells)
        dec = 1 if n >= _ONE_DECIMAL_FROM else 0
        po = (a + d) / n
        kap, se = cohen_kappa_2x2(a, b, c_, d)
        m = "midp" if method is None else str(method.iloc[i])
        pa, pb = round((a + b) / n, dec + 2), round((a + c_) / n, dec + 2)
        cols["percent_agree"].append(_percent(100 * po, dec))
        cols["pabak"].append(round(2 * po - 1, 2))
        cols["kappa"].append(kap)
        cols["kappa_se"].append(se)
        cols["kappa_ci_low"].append(kap - 1.959963984540054 * se)
        cols["kappa_ci_high"].append(kap + 1.959963984540054 * se)
        cols["mcnemar_p"].append(mcnemar_p(b, c_, m))
        cols["prevalence_a"].append(pa)
        cols["prevalence_b"].append(pb)
        cols["prevalence_difference"].append(round(pa - pb, dec + 2))
        cols["_small"].append(False)
    for c, v in cols.items():
        out[c] = v
    return out


# percent agreement and PABAK, as computed and as displayed
_PAIR_PERCENT = ("percent_agree", "percent agree", "% agree")
_PAIR_PABAK = ("pabak", "PABAK")


def category_counts(
    table: pd.DataFrame,
    plan: pd.DataFrame | None,
    definition: str,
    column: str = "category",
    threshold: int = SMALL_COUNT,
) -> dict | None:
    """Category -> count as the run's tables show it (for a figure's legend).

    Parameters
    ----------
    table : pandas.DataFrame
        Rows with a ``column`` of categories (e.g. the Jacobson-Truax change table).
    plan : pandas.DataFrame or None
        The run's plan (counts named ``"<definition>: category <c>"``); None: None.
    definition : str
        The definition whose categories these are.
    column : str
        The category column.
    threshold : int
        The plan's threshold.

    Returns
    -------
    dict or None
        Category -> the number as a string, ``"<5"`` or ``"suppressed"``; under a rounding
        plan the number rounded to the nearest 5 or ``"1-7"``.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["d: category harmed"], "suppressed": [True],
    ...                      "reason": ["primary: fewer than 5"]})
    >>> jt = pd.DataFrame({"category": ["harmed"] + ["improved"] * 6})
    >>> category_counts(jt, plan, "d")
    {'improved': '6', 'harmed': '<5'}
    """
    if plan is None:
        return None
    tally = table[column].dropna().value_counts()
    if plan_method(plan) == "rounding":
        return {cat: str(rounded_count(int(n))) for cat, n in tally.items()}
    out = {}
    for cat, n in tally.items():
        cell = f"{definition}: category {cat}"
        lab = _label(plan, cell, threshold) if cell in set(plan["cell"]) else None
        if lab is None and cell not in set(plan["cell"]) and 1 <= n < threshold:
            lab = f"<{threshold}"
        out[cat] = lab if lab is not None else str(int(n))
    return out


# a time-to-event summary's columns (km_summary, notebook 03's reconciliation, format_km)
_KM_CELLS = {
    "n": "clients",
    "clients": "clients",
    "n_met": "met",
    "met": "met",
    "n_dropout": "dropout",
    "dropout": "dropout",
    "n_censored_other": "censored other",
    "n_excluded": "excluded",
}
_KM_KEYS = {"definition", "groups", "note", "covariate", "event", "time", "weeks"}


def mask_km(
    table: pd.DataFrame,
    km: pd.DataFrame,
    plan: pd.DataFrame | None,
    prefix: str = "km",
    threshold: int = SMALL_COUNT,
    excluded: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Hide, in a time-to-event table (display or CSV), what the run's plan hides.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`analysis.compare.survival.km_summary` (or a table built from it, row for row:
        the reconciliation table, :func:`analysis.report.text.format_km`, Cox coefficients).
    km : pandas.DataFrame
        The rows' ``definition`` names.
    plan : pandas.DataFrame or None
        The run's plan, with the counts of
        :func:`analysis.run.workflow.survival_cells` (``"<prefix> <d>: clients"``, ``": met"``,
        ``": dropout"``, ``": censored other"``, ``": excluded"``); None: unchanged.
    prefix : str
        ``"km"`` (Kaplan-Meier) or ``"cox"`` (landmark models).
    threshold : int
        The plan's threshold.
    excluded : pandas.DataFrame, optional
        The records left out per definition and reason: the events (met plus those met at the
        first assessment) and their share are hidden where :func:`mask_excluded` hides a reason.

    Returns
    -------
    pandas.DataFrame
        The counts as the plan shows them (``n_no_duration``, not a count of the plan: primary
        suppression only); notebook 01's counts (``n_met_notebook_01``,
        ``n_evaluable_notebook_01``, ``evaluable (notebook 01)``) as notebook 01 shows them;
        every other column but the keys (medians, intervals, shares, estimates, p values)
        "suppressed" when a count it derives from is hidden. With a plan, a note "fewer than
        N successes" reads "too few successes to fit a model" (no number beside a rounded or
        hidden count). Under a rounding plan the shares of counts come from the rounded counts
        and the Kaplan-Meier share met by the end (and the column saying why it differs) reads
        :data:`NOT_SHOWN` (its denominator, factorised, is the exact evaluable count).

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["km a: clients", "km a: met", "km a: dropout"],
    ...                      "suppressed": [False, True, False],
    ...                      "reason": ["", "primary: fewer than 5", ""]})
    >>> km = pd.DataFrame({"definition": ["a"], "n": [30], "n_met": [3], "n_dropout": [6],
    ...                    "median": [8.0]})
    >>> mask_km(km, km, plan).iloc[0].tolist()
    ['a', 30, '<5', 6, 'suppressed']
    """
    names = [str(d) for d in km["definition"]]
    cells: dict[str, list] = {
        c: [f"{prefix} {d}: {_KM_CELLS[c]}" if _KM_CELLS[c] else None for d in names]
        for c in table.columns
        if c in _KM_CELLS
    }
    for c in ("n_met_notebook_01",):
        if c in table.columns:
            cells[c] = [f"{d}: met" for d in names]
    # records without a duration (weeks without dates): no count of the plan; shown unless 1-4
    # (a 0 hidden as "derived" would be given back by n_met = n_no_duration + notebook 01's met)
    if "n_no_duration" in table.columns:
        cells["n_no_duration"] = [None] * len(names)
    for c in ("n_evaluable_notebook_01", "evaluable (notebook 01)"):
        if c in table.columns:
            cells[c] = [f"{d}: evaluable" for d in names]
    own = [
        [f"{prefix} {d}: {k}" for k in ("clients", "met", "dropout", "censored other", "excluded")]
        for d in names
    ]
    nb01 = [[f"{d}: met", f"{d}: not_met", f"{d}: evaluable"] for d in names]
    derived = {}
    for c in table.columns:
        if c in cells or c in _KM_KEYS:
            continue
        derived[c] = nb01 if "notebook_01" in c or "notebook 01" in c else own
    # events = met + those met at the first assessment (among the excluded): from those only
    for c in ("events", "share_events"):
        if c in derived:
            derived[c] = [
                [f"{prefix} {d}: met", f"{prefix} {d}: excluded"]
                + ([f"{prefix} {d}: clients"] if c == "share_events" else [])
                for d in names
            ]
    out = mask(table, plan, cells, derived, threshold)
    if plan is not None and "note" in out.columns:
        # "fewer than 10 successes" beside a met shown as 10 (rounded from 8 or 9) contradicts
        # it, and beside a hidden met it bounds that count: the note names no number
        out["note"] = (
            out["note"]
            .astype(object)
            .replace(to_replace=r"^fewer than \d+ successes$", value=_FEW_EVENTS, regex=True)
        )
    if plan_method(plan) == "rounding":
        _round_km_shares(out, km)
        # the Kaplan-Meier share met by the end is a product of (1 - events / at risk) over the
        # exact counts: as a fraction its denominator gives the exact evaluable count back
        # (1 - 0.5824... = 69300 / 165967, 165967 = 97 x 59 x 29): not shown under rounding
        for c in _KM_END:
            if c in out.columns:
                out[c] = NOT_SHOWN
    if plan is not None and excluded is not None and len(excluded):
        ex = mask_excluded(excluded, plan, prefix, threshold)
        bad = set(ex.loc[~ex["n"].astype(str).str.isdigit(), "definition"].astype(str))
        rows = [i for i, d in enumerate(names) if d in bad]
        for c in out.columns:
            if c in ("events", "share_events") or c.startswith("% with the event"):
                for i in rows:
                    out.iloc[i, out.columns.get_loc(c)] = "suppressed"
    return out


# the note of a model not fitted for too few events, as a run with a plan shows it
_FEW_EVENTS = "too few successes to fit a model"

#: How the rounding method marks a statistic it does not show at all (not from rounded counts).
NOT_SHOWN = "not shown"

# Kaplan-Meier shares met by the end (CSV and display names)
_KM_END = (
    "proportion_met_end",
    "share_km_end",
    "% met by end (Kaplan-Meier)",
    "why the Kaplan-Meier share differs",
)

#: Why the rounding method shows no Kaplan-Meier or cumulative-incidence step (one sentence).
KM_NOT_SHOWN = (
    "Kaplan-Meier and cumulative-incidence curves, their step tables and the Kaplan-Meier share "
    "met by the end are not shown under the rounding method: each step's height is events over "
    "the exact number at risk, so the steps give back the exact counts that rounding to 5 hides."
)


#: Why the rounding method shows no mean or percentage of a group whose size it rounds.
MEANS_NOT_SHOWN = (
    "The average profiles (mean scores and percentages per group) are not shown under the "
    "rounding method: a mean over a group whose size is shown rounded gives the exact size back "
    "(mean x size is a whole number for one size only)."
)


def means_not_shown(
    table: pd.DataFrame, columns: Sequence[str], plan: pd.DataFrame | None
) -> pd.DataFrame:
    """Under a rounding plan, ``columns`` (means over a group of clients) read "not shown".

    A full-precision mean of a group whose size the run shows rounded gives that size back: a
    share of 43.28358208955224 % is 58/134 and only 134 of the sizes 133-137 a rounded 135
    allows gives a whole number (reviewer's finding on HELP's family profiles). Hidden entries
    ("suppressed", "1-7") stay as they are. Any other plan: ``table`` unchanged.

    Parameters
    ----------
    table : pandas.DataFrame
        A masked table.
    columns : sequence of str
        Its columns of means or percentages.
    plan : pandas.DataFrame or None
        The run's plan.

    Returns
    -------
    pandas.DataFrame
        A copy.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.report.disclosure import rounding_plan
    >>> t = pd.DataFrame({"n_clients": [135], "% homeless": [43.28358208955224]})
    >>> means_not_shown(t, ["% homeless"], rounding_plan(pd.DataFrame({"a": [True]})))
       n_clients % homeless
    0        135  not shown
    """
    out = table.copy()
    if plan_method(plan) != "rounding":
        return out
    for c in columns:
        if c in out.columns:
            out[c] = [v if is_hidden([v])[0] else NOT_SHOWN for v in out[c].astype(object)]
    return out


def _round_km_shares(out: pd.DataFrame, km: pd.DataFrame) -> None:
    """Round, in place, ``events`` and the shares of counts over counts (rounding method).

    Events over clients and notebook 01's met over evaluable come from the rounded counts, as
    whole percentages; "suppressed" where one of the counts is 1-7. (The Kaplan-Meier share met
    by the end is set to :data:`NOT_SHOWN` by :func:`mask_km`.)
    """
    num = {
        c: pd.to_numeric(km[c], errors="coerce").tolist()
        for c in km.columns
        if c in ("events", "n", "n_excluded", "n_met_notebook_01", "n_evaluable_notebook_01")
    }
    for i in range(len(out)):
        idx = out.index[i]
        if (
            "events" in out.columns
            and "events" in num
            and not is_hidden([out.at[idx, "events"]])[0]
        ):
            out.at[idx, "events"] = rounded_count(num["events"][i])
        for c in out.columns:
            if is_hidden([out.at[idx, c]])[0]:
                continue
            if (c == "share_events" or c.startswith("% with the event")) and {"events", "n"} <= set(
                num
            ):
                total = num["n"][i] + (num["n_excluded"][i] if "n_excluded" in num else 0)
                rate = _rounded_rate(num["events"][i], total)
            elif c in ("share_notebook_01", "% met (notebook 01)") and {
                "n_met_notebook_01",
                "n_evaluable_notebook_01",
            } <= set(num):
                rate = _rounded_rate(num["n_met_notebook_01"][i], num["n_evaluable_notebook_01"][i])
            else:
                continue
            out.at[idx, c] = "suppressed" if rate is None else _percent(100 * rate[0], rate[3] - 2)


_LANDMARK_KEYS = {"definition", "family", "predictor_of_itself", "landmark", "note"}


def mask_landmark(
    table: pd.DataFrame,
    pred: pd.DataFrame,
    plan: pd.DataFrame | None,
    threshold: int = SMALL_COUNT,
    prefix: str = "landmark",
) -> pd.DataFrame:
    """Hide, in notebook 04's landmark table (display or CSV), what the run's plan hides.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`analysis.compare.alliance.alliance_predicts_outcomes` or a display table built
        from it row for row (counts ``n`` / ``clients`` and ``n_met`` / ``met``).
    pred : pandas.DataFrame
        The rows' ``definition`` names.
    plan : pandas.DataFrame or None
        The run's plan with :func:`analysis.run.workflow.landmark_cells` (``"<prefix> <d>:
        clients"``, ``": met"``, ``": not_met"``); None: unchanged.
    threshold : int
        The plan's threshold.
    prefix : str
        The counts' prefix.

    Returns
    -------
    pandas.DataFrame
        The counts as the plan shows them; every other column but the keys (correlations,
        intervals, p values) "suppressed" where clients, met or not met (clients - met) is
        hidden (a statistic of a 0/1 outcome gives away its small part).

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["landmark a: clients", "landmark a: met",
    ...                               "landmark a: not_met"], "suppressed": [False, False, True],
    ...                      "reason": ["", "", "primary: fewer than 5"]})
    >>> pred = pd.DataFrame({"definition": ["a"], "n": [30], "n_met": [27], "r": [0.2]})
    >>> mask_landmark(pred, pred, plan).iloc[0].tolist()
    ['a', 30, 27, 'suppressed']
    """
    names = [str(d) for d in pred["definition"]]
    which = {"n": "clients", "clients": "clients", "n_met": "met", "met": "met"}
    cells = {c: [f"{prefix} {d}: {which[c]}" for d in names] for c in table.columns if c in which}
    basis = [[f"{prefix} {d}: {k}" for k in ("clients", "met", "not_met")] for d in names]
    derived = {c: basis for c in table.columns if c not in which and c not in _LANDMARK_KEYS}
    if plan is not None:  # a definition without a landmark count (none in the sample)
        known = set(plan["cell"])
        cells = {c: [x if x in known else None for x in v] for c, v in cells.items()}
        derived = {c: [[x for x in b if x in known] for b in v] for c, v in derived.items()}
    return mask(table, plan, cells, derived, threshold)


_CURVE_CELLS = ("clients", "met", "dropout", "censored other", "excluded")
_NB01_CELLS = ("met", "not_met", "evaluable", "not_evaluable")


def mask_curves(
    curves: pd.DataFrame,
    tte: pd.DataFrame,
    plan: pd.DataFrame | None,
    duration: str = "duration",
    prefix: str = "km",
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Curves (Kaplan-Meier or cumulative incidence) as a report on real data may draw them.

    Every step of a survival curve gives away a count: its height with the number at risk gives
    the events at that time, and the fall of the number at risk between two steps the clients
    censored in between. So, with a plan (real data, suppression on):

    - a definition with any time-to-event count the plan hides (``"<prefix> <d>: clients"``,
      ``": met"``, ``": dropout"``, ``": censored other"``, ``": excluded"``, as
      :func:`mask_km` hides them in the tables) gets no curve at all;
    - every other curve is *coarsened* (:func:`km_steps`): shown only at the times
      ``t_1 < t_2 < ...`` where at least ``threshold`` clients have met the definition since
      the previous time shown, with between two times shown either no client or at least
      ``threshold`` clients of each kind (dropout, other censoring) leaving follow-up, and the
      curve ends at the last such time from which the clients still to meet the definition
      and those of each kind still to leave are again 0 or at least ``threshold``. The curve
      and its numbers at risk are recomputed (lifelines) on the records with each event
      delayed to the next time shown and each censoring brought forward to the last time
      shown, so every number the figure and the CSV give (heights, intervals, numbers at risk)
      is a function of counts of 0 or at least ``threshold``; the step from one time shown to
      the next, drawn flat in between, is the estimate at that time. This is the practice of
      the rounded Kaplan-Meier curves of OpenSAFELY studies (Hulme W.J., ``round_km`` in the R
      package osutils, rdrr.io/github/wjchulme/osutils/man/round_km.html: "delaying event
      times until at least threshold events have occurred"), with exact counts instead of
      rounded ones; ONS and NHS Digital small-number rules apply to charts as to tables (module
      docstring of :mod:`analysis.report.disclosure`). A curve with no such time is not drawn.

    The figure and the CSV beside it take the same rows, so they agree. Under a rounding plan
    no row is returned (``attrs["rounding"]`` True, every definition in ``attrs["hidden"]``):
    each step is events over the exact number at risk, so a curve gives the exact counts of
    clients and events back however the numbers at risk are shown (a reviewer recovered every
    at-risk and event count of BtheB's and HELP's curves from the step heights);
    :func:`curves_note` says why in one sentence (:data:`KM_NOT_SHOWN`).

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`analysis.compare.survival.km_curves` (``proportion_met``) or
        :func:`analysis.compare.survival.cumulative_incidence` (``cumulative_incidence``):
        ``definition``, ``time``, ... ``at_risk`` is used when present, else counted from
        ``tte``.
    tte : pandas.DataFrame
        :func:`analysis.compare.survival.time_to_event` (``definition``, ``duration``,
        ``event_type``: 1 met, 2 dropout, 0 other censoring) that the curves were computed
        from; without ``event_type``, ``event`` (1 met) or, without either, every record an
        event.
    plan : pandas.DataFrame or None
        The run's plan (:func:`analysis.run.workflow.survival_cells` counts); None (simulated
        data, suppression off): the curves unchanged.
    duration : str
        ``"duration"`` or ``"weeks"`` (the column of ``tte`` the curves were computed on).
    prefix : str
        The plan's prefix of the counts (``"km"``).
    threshold : int
        The plan's threshold (smallest count shown, 5 by default).

    Returns
    -------
    pandas.DataFrame
        The rows that may be shown, with ``at_risk``; ``attrs["hidden"]``: the definitions left
        without a curve, ``attrs["cut"]``: the definitions whose curve ends before the data
        (time of the last row kept); under suppression ``attrs["coarsened"]`` is True.

    Examples
    --------
    Sixteen clients of ``a``: 1 meets the definition at time 1, 3 at time 2, 2 at time 3, 5
    at time 5; 5 are censored at time 4. Steps of 1 and 3 events are not shown: the first time
    shown is 3 (1 + 3 + 2 = 6 events, none censored before), the next 5 (5 events; the 5
    censored in between are >= 5), and nothing is left after it. At time 3, 6 of 16 have met
    (0.375, the Kaplan-Meier estimate there: 1 - 15/16 * 12/15 * 10/12); at time 5 the 5 still
    at risk (16 - 6 - 5) all meet it (1.0). Definition ``b`` has its met count hidden and gets
    no curve:

    >>> import pandas as pd
    >>> from analysis.compare.survival import km_curves
    >>> a = pd.DataFrame({"definition": "a", "duration": [1, 2, 2, 2, 3, 3] + [5] * 5 + [4] * 5,
    ...                   "event_type": [1] * 11 + [0] * 5})
    >>> tte = pd.concat([a, a.assign(definition="b")], ignore_index=True)
    >>> tte["event"] = (tte["event_type"] == 1).astype(int)
    >>> plan = pd.DataFrame({"cell": ["km b: met"], "suppressed": [True],
    ...                      "reason": ["primary: fewer than 5"]})
    >>> shown = mask_curves(km_curves(tte), tte, plan)
    >>> shown[["time", "proportion_met", "at_risk"]].round(3).values.tolist()
    [[0.0, 0.0, 16.0], [3.0, 0.375, 16.0], [5.0, 1.0, 5.0]]
    >>> shown.attrs["hidden"], shown.attrs["cut"]
    (['b'], {})
    >>> len(mask_curves(km_curves(tte), tte, None))
    12
    """
    out = curves.copy()
    out.attrs = {"hidden": [], "cut": {}}
    if plan is None or not len(out):
        return out
    if plan_method(plan) != "rounding":
        return _coarsened_curves(out, tte, plan, duration, prefix, threshold)
    if "at_risk" not in out.columns:
        dur = {
            str(d): pd.to_numeric(s[duration], errors="coerce").dropna().to_numpy()
            for d, s in tte.groupby("definition", sort=False, observed=True)
        }
        out["at_risk"] = [
            int((dur.get(str(d), pd.Series(dtype=float)) >= t).sum())
            for d, t in zip(out["definition"], out["time"], strict=True)
        ]
    # rounding: every step gives exact counts back (events / at risk): no curve at all
    shown = out.iloc[0:0].copy()
    shown.attrs = {
        "hidden": [str(d) for d in dict.fromkeys(out["definition"])],
        "cut": {},
        "rounding": True,
    }
    return shown


def km_steps(durations, kinds, threshold: int = SMALL_COUNT) -> list[float]:
    """The times at which a curve may be shown under suppression (:func:`mask_curves`).

    Greedy from the start: the next time shown is the first event time ``t`` after the last
    one shown (``s``; at the start, every earlier time) such that the events in ``(s, t]`` are
    at least ``threshold`` and, for each kind of leaving (dropout, other censoring), the
    clients leaving in ``[s, t)`` are 0 or at least ``threshold``. Then the tail: while the
    events after the last time kept, or the clients of a kind leaving from it on, are from 1
    to ``threshold - 1`` (the tables give the totals, so the tail is a difference a reader can
    take), the last time is replaced by the first later event time that satisfies both rules,
    or dropped when there is none. Delaying events until ``threshold`` have occurred is
    OpenSAFELY's rounded Kaplan-Meier practice (Hulme W.J., ``round_km``, R package osutils).

    Parameters
    ----------
    durations : array-like of float
        Time of each record's event or censoring (one definition).
    kinds : array-like of int
        Per record: 1 event (met), any other value a kind of leaving (2 dropout, 0 other).
    threshold : int
        Smallest count shown.

    Returns
    -------
    list of float
        The times shown (event times), increasing; empty when none qualifies (no curve).

    Examples
    --------
    Steps of 1 and 3 events are never shown on their own: events 2 at time 1, 1 at 2 and 3 at
    3 give one time, 3 (2 + 1 + 3 = 6 events); the 5 events at time 5 make the next:

    >>> km_steps([1, 1, 2, 3, 3, 3, 5, 5, 5, 5, 5], [1] * 11)
    [3.0, 5.0]
    """
    t = pd.to_numeric(pd.Series(list(durations)), errors="coerce").to_numpy(dtype=float)
    k = pd.Series(list(kinds)).to_numpy()
    has = ~pd.isna(t)
    t, k = t[has], k[has]
    ev = k == 1
    kinds_out = [x for x in pd.unique(k[~ev])]

    def ok(n) -> bool:
        return n == 0 or n >= threshold

    times = sorted(set(t[ev].tolist()))

    def step_ok(last: float, cand: float) -> bool:
        n_ev = int((ev & (t > last) & (t <= cand)).sum())
        gone = [int(((k == x) & (t >= last) & (t < cand)).sum()) for x in kinds_out]
        return n_ev >= threshold and all(ok(g) for g in gone)

    def tail_ok(start: float) -> bool:
        return ok(int((ev & (t > start)).sum())) and all(
            ok(int(((k == x) & (t >= start)).sum())) for x in kinds_out
        )

    steps: list[float] = []
    last = -float("inf")
    for cand in times:
        if cand > last and step_ok(last, cand):
            steps.append(float(cand))
            last = float(cand)
    # the tail (after the last time shown) is a difference from the tables' totals: when it is
    # 1 to threshold - 1, the last step is moved to a later event time that leaves a safe tail,
    # else dropped, and so on back
    while steps and not tail_ok(steps[-1]):
        steps.pop()
        last = steps[-1] if steps else -float("inf")
        later = [c for c in times if c > last and step_ok(last, c) and tail_ok(c)]
        if later:
            steps.append(float(later[0]))
    return steps


def _coarsen(sub: pd.DataFrame, duration: str, steps: list[float]) -> pd.DataFrame:
    """Records ``sub`` on the coarsened time axis of ``steps`` (:func:`mask_curves`).

    Each event is delayed to the next time of ``steps`` and each censoring brought forward to
    the last one (0 before the first); events after the last step are moved past it.
    """
    out = sub.copy()
    t = pd.to_numeric(out[duration], errors="coerce").to_numpy(dtype=float)
    ev = (out["event_type"] == 1).to_numpy()
    grid = pd.Series(steps, dtype=float).to_numpy()
    new = t.copy()
    for i, x in enumerate(t):
        if pd.isna(x):
            continue
        if ev[i]:
            j = grid.searchsorted(x, side="left")  # first step >= x
            new[i] = grid[j] if j < len(grid) else grid[-1] + 1.0
        else:
            j = grid.searchsorted(x, side="right") - 1  # last step <= x
            new[i] = grid[j] if j >= 0 else 0.0
    out[duration] = new
    return out


def _coarsened_curves(
    out: pd.DataFrame,
    tte: pd.DataFrame,
    plan: pd.DataFrame,
    duration: str,
    prefix: str,
    threshold: int,
) -> pd.DataFrame:
    """:func:`mask_curves` under a suppression plan: the curves at :func:`km_steps` only."""
    from analysis.compare import survival

    if "event_type" not in tte.columns:  # as "event" says; without it every record an event
        tte = tte.assign(event_type=tte["event"].astype(int) if "event" in tte.columns else 1)
    if "event" not in tte.columns:
        tte = tte.assign(event=(tte["event_type"] == 1).astype(int))
    value = "cumulative_incidence" if "cumulative_incidence" in out.columns else "proportion_met"
    known = set(plan["cell"])
    parts, hidden, cut, no_steps = [], [], {}, []
    for d, sub in out.groupby("definition", sort=False, observed=True):
        own = [f"{prefix} {d}: {k}" for k in _CURVE_CELLS if f"{prefix} {d}: {k}" in known]
        if any_suppressed(plan, own):
            hidden.append(str(d))
            continue
        mine = tte.loc[tte["definition"].astype(str) == str(d)]
        steps = km_steps(mine[duration], mine["event_type"], threshold)
        if not steps:
            hidden.append(str(d))
            no_steps.append(str(d))
            continue
        coarse = _coarsen(mine, duration, steps)
        if value == "proportion_met":
            redrawn = survival.km_curves(coarse, duration=duration)
        else:
            redrawn = survival.cumulative_incidence(coarse, duration=duration)
            t = pd.to_numeric(coarse[duration], errors="coerce").dropna().to_numpy()
            redrawn["at_risk"] = [int((t >= x).sum()) for x in redrawn["time"]]
        redrawn = redrawn.loc[redrawn["time"].isin([0.0, *steps])]
        redrawn["at_risk"] = redrawn["at_risk"].astype(int)
        redrawn["definition"] = sub["definition"].iloc[0]
        parts.append(
            redrawn[
                [c for c in out.columns if c in redrawn.columns]
                + ([] if "at_risk" in out.columns else ["at_risk"])
            ]
        )
        if float(sub["time"].max()) > steps[-1]:
            cut[str(d)] = steps[-1]
    cols = list(out.columns) + ([] if "at_risk" in out.columns else ["at_risk"])
    shown = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    ).reset_index(drop=True)
    shown.attrs = {
        "hidden": hidden,
        "cut": cut,
        "threshold": threshold,
        "coarsened": True,
        "no_steps": no_steps,
    }
    return shown


def curves_note(shown: pd.DataFrame, label=str, threshold: int = SMALL_COUNT) -> str:
    """The sentence under a figure drawn from :func:`mask_curves` ("" when nothing was left out).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"definition": ["a"], "time": [6.0]})
    >>> s.attrs = {"hidden": ["b"], "cut": {"a": 6.0}}
    >>> print(curves_note(s))  # doctest: +NORMALIZE_WHITESPACE
    Disclosure control: no curve for b (counts hidden in this run's tables); each curve ends at
    the last time at which at least 5 clients are at risk and before a step of fewer than 5
    events or exits (a: 6).
    """
    if shown.attrs.get("rounding"):
        return "Disclosure control (rounding): " + KM_NOT_SHOWN
    hidden = list(shown.attrs.get("hidden", []))
    cut = dict(shown.attrs.get("cut", {}))
    threshold = int(shown.attrs.get("threshold", threshold))
    if not hidden and not cut and not (shown.attrs.get("coarsened") and len(shown)):
        return ""
    parts = []
    no_steps = list(shown.attrs.get("no_steps", []))
    plan_hidden = [d for d in hidden if d not in no_steps]
    if plan_hidden:
        parts.append(
            "no curve for "
            + ", ".join(label(d) for d in plan_hidden)
            + " (counts hidden in this run's tables)"
        )
    if no_steps:
        parts.append(
            "no curve for "
            + ", ".join(label(d) for d in no_steps)
            + f" (no time by which at least {threshold} clients had met it with the clients "
            "leaving follow-up in between none or at least " + f"{threshold})"
        )
    if shown.attrs.get("coarsened") and len(shown):
        parts.append(
            f"each curve is shown only at the times by which at least {threshold} more clients "
            f"have met the definition since the previous time shown (between them, none or at "
            f"least {threshold} clients of each kind leave follow-up), so a step may gather "
            "several times"
            + (
                "; a curve ends at the last such time before its data end ("
                + ", ".join(f"{label(d)}: {t:g}" for d, t in cut.items())
                + ")"
                if cut
                else ""
            )
        )
    elif cut:
        parts.append(
            f"each curve ends at the last time at which at least {threshold} clients are at "
            f"risk and before a step of fewer than {threshold} events or exits ("
            + ", ".join(f"{label(d)}: {t:g}" for d, t in cut.items())
            + ")"
        )
    return "Disclosure control: " + "; ".join(parts) + "."


def mask_families(
    table: pd.DataFrame,
    plan: pd.DataFrame | None,
    family_a: str,
    family_b: str,
    decimals: int | None = None,
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Hide, in a family-profile table, what the run's plan hides and the means of few clients.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`analysis.compare.agreement.family_disagreement` (``group``, ``n_clients``,
        ``baseline_<family>``, ``mean <col>``, ``% <col>``; ``attrs["n_values"]``). Not
        modified.
    plan : pandas.DataFrame or None
        The run's plan with the family counts of
        :func:`analysis.run.workflow.agreement_cells` (given the profile): the group
        ``"families <a> / <b>: <group>"`` and, per percentage column ``% <col>``, its numerator
        ``": <col>"`` and complement ``": not <col>"``. None (suppression off): the table
        unchanged (rounded to ``decimals``).
    family_a, family_b : str
        The two families.
    decimals : int, optional
        Round the statistics before masking (the display table); None keeps full precision
        (the CSV).
    threshold : int
        The plan's threshold.

    Returns
    -------
    pandas.DataFrame
        ``n_clients`` as the plan shows it; a percentage "suppressed" where its group, its
        numerator or its complement is hidden or not in the plan (a percentage of a group
        whose size is shown gives its numerator back: 31 of 65 = 47.69 %); a mean (baseline
        scores, ``mean <col>``) "suppressed" where the group is hidden, or has fewer than
        ``threshold`` clients or values (a mean over 1-4 clients is individual data; NHS
        Digital 2018 does not calculate simple statistics over small numbers), and always for
        a column of yes/no values (``attrs["binary"]``: its mean is a share of clients).

    Examples
    --------
    Group "both" has 65 clients, 31 of them homeless (47.7 %); group "neither" 6 clients, 2 of
    them homeless (2 is hidden, so is its percentage) and a mean age over 4 recorded values
    (hidden, fewer than 5):

    >>> import pandas as pd
    >>> t = pd.DataFrame({"group": ["both", "neither"], "n_clients": [65, 6],
    ...                   "% homeless": [100 * 31 / 65, 100 * 2 / 6], "mean age": [41.2, 39.0]})
    >>> t.attrs["n_values"] = {"% homeless": [65, 6], "mean age": [65, 4]}
    >>> k = "families x / y"
    >>> plan = pd.DataFrame({"cell": [f"{k}: both", f"{k}: both: homeless",
    ...                               f"{k}: both: not homeless", f"{k}: neither",
    ...                               f"{k}: neither: homeless", f"{k}: neither: not homeless"],
    ...                      "suppressed": [False, False, False, False, True, False],
    ...                      "reason": ["", "", "", "", "primary: fewer than 5", ""]})
    >>> mask_families(t, plan, "x", "y", decimals=1).values.tolist()
    [['both', 65, 47.7, 41.2], ['neither', 6, 'suppressed', 'suppressed']]
    """
    n_values = dict(table.attrs.get("n_values", {}))
    binary = set(table.attrs.get("binary", []))
    out = table.copy()
    if decimals is not None:
        out = out.round(decimals)
    if plan is None:
        return out
    key = f"families {family_a} / {family_b}"
    groups = [f"{key}: {g}" for g in table["group"]]
    known = set(plan["cell"])
    derived: dict[str, list[list[str]]] = {}
    for c in table.columns:
        if c in ("group", "n_clients"):
            continue
        if c.startswith("% "):
            col = c[2:]
            derived[c] = [[g, f"{g}: {col}", f"{g}: not {col}"] for g in groups]
        else:
            derived[c] = [[g] for g in groups]
    masked = mask(out, plan, {"n_clients": groups}, derived, threshold)
    sizes = pd.to_numeric(table["n_clients"], errors="coerce").fillna(0).to_numpy()
    for c, basis in derived.items():
        nv = n_values.get(c)
        for i, cells in enumerate(basis):
            unknown = any(b not in known for b in cells)  # not audited: not shown
            # the mean of a yes/no measure (e.g. employed at baseline) is a share of clients,
            # its numerator a count no plan audits: not shown (a reviewer: 0.5522 = 74 / 134)
            unknown = unknown or c in binary
            few = not c.startswith("% ") and (
                sizes[i] < threshold or (nv is not None and nv[i] < threshold)
            )
            if unknown or few:
                masked.iloc[i, masked.columns.get_loc(c)] = "suppressed"
    return masked


def shown_value(value, cell: str | None, plan: pd.DataFrame | None, threshold: int = SMALL_COUNT):
    """One count as the run's plan shows it (for a sentence): the number, "<5" or "suppressed".

    Examples
    --------
    >>> shown_value(12, "a: met", None)
    '12'
    """
    t = mask(pd.DataFrame({"n": [value]}), plan, {"n": [cell]}, threshold=threshold)
    return str(t["n"].iloc[0])


def mask_excluded(
    excluded: pd.DataFrame,
    plan: pd.DataFrame | None,
    prefix: str = "km",
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Hide the records left out of a time-to-event analysis, per definition and reason.

    The reasons of a definition add up to its ``"<prefix> <d>: excluded"`` count, so when one
    reason's count is small, or that total is hidden, every reason of the definition is hidden.

    Parameters
    ----------
    excluded : pandas.DataFrame
        ``definition``, ``reason``, ``n`` (``attrs["excluded"]`` of
        :func:`analysis.compare.survival.time_to_event`).
    plan : pandas.DataFrame or None
        The run's plan; None: unchanged.
    prefix : str
        As :func:`mask_km`.
    threshold : int
        The plan's threshold.

    Returns
    -------
    pandas.DataFrame
        ``excluded`` with ``n`` as shown.

    Examples
    --------
    >>> import pandas as pd
    >>> ex = pd.DataFrame({"definition": ["a", "a"], "reason": ["x", "y"], "n": [2, 9]})
    >>> plan = pd.DataFrame({"cell": ["km a: excluded"], "suppressed": [False], "reason": [""]})
    >>> mask_excluded(ex, plan)["n"].tolist()
    ['<5', 'suppressed']
    """
    if plan is None:
        return excluded.copy()
    out = mask(excluded, plan, {"n": [None] * len(excluded)}, threshold=threshold)
    if plan_method(plan) == "rounding":  # each reason rounded on its own (no audit)
        return out
    small = out["n"].astype(str).str.startswith("<")
    for d in pd.unique(excluded["definition"]):
        rows = (excluded["definition"] == d).to_numpy()
        total = _label(plan, f"{prefix} {d}: excluded", threshold)
        if total is not None or small[rows].any():
            out.loc[rows & ~small.to_numpy(), "n"] = "suppressed"
    return out


def mask_share(
    table: pd.DataFrame,
    count: str,
    part: str,
    derived: Iterable[str],
    plan: pd.DataFrame | None,
    threshold: int = SMALL_COUNT,
) -> pd.DataFrame:
    """Primary suppression of a count outside the plan and of the share of it in ``part``.

    For per-session tables (scores per session, signals counted up to each session) whose
    counts are not clients of the run's plan: the count ``count`` and its part ``part`` read
    "<5" from 1 to ``threshold - 1``, and the ``derived`` columns (shares, estimates, intervals)
    "suppressed" where the part, the count or the rest (``count - part``) is from 1 to
    ``threshold - 1``. With no plan (suppression off): unchanged. Under a rounding plan the
    counts are rounded and the shares and Wilson intervals computed from the rounded counts
    (:func:`_round_share`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n": [20, 20], "k": [2, 10], "share": [0.1, 0.5]})
    >>> mask_share(t, "n", "k", ["share"], pd.DataFrame({"cell": []}))["share"].tolist()
    ['suppressed', 0.5]

    Under a rounding plan the counts are rounded and the share is the rounded part over the
    rounded count (10 / 20 = 0.5; 2 of 20 is "1-7"):

    >>> from analysis.report.disclosure import rounding_plan
    >>> r = mask_share(t, "n", "k", ["share"], rounding_plan(pd.DataFrame({"a": [True]})))
    >>> r.values.tolist()
    [[20, '1-7', 'suppressed'], [20, 10, 0.5]]
    """
    if plan is None:
        return table.copy()
    if plan_method(plan) == "rounding":
        return _round_share(table, count, part, list(derived))
    from analysis.report.tables import suppress_small_counts

    return suppress_small_counts(
        table, [count, part], list(derived), (part, count), threshold=threshold
    )


def rounded_shares(
    table: pd.DataFrame,
    plan: pd.DataFrame | None,
    part: Sequence,
    total: Sequence,
    columns: Sequence[str],
    scale: float = 1.0,
) -> pd.DataFrame:
    """Under the rounding method, shares and their Wilson intervals from the rounded counts.

    For a table whose share columns were computed from exact counts (a proportion of clients
    with a sudden gain, a sensitivity): each row's ``columns`` are recomputed from the row's
    ``part`` and ``total`` rounded to the nearest 5 (:func:`_rounded_rate`: whole percentages
    below a rounded denominator of 4,000); a column whose name contains ``ci_low`` /
    ``ci_high`` gets the Wilson bound, any other the share. Where the part, the total or the
    rest is 1-7 the columns read "suppressed" (the derived-statistics rule). Under any other
    plan (or none) the table is returned unchanged.

    Parameters
    ----------
    table : pandas.DataFrame
        Not modified.
    plan : pandas.DataFrame or None
        The run's plan.
    part, total : sequence of numbers
        Per row, the exact numerator and denominator (clients).
    columns : sequence of str
        The share columns of ``table`` to recompute.
    scale : float
        1 for proportions, 100 for percentages.

    Returns
    -------
    pandas.DataFrame
        A copy.

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.report.disclosure import rounding_plan
    >>> plan = rounding_plan(pd.DataFrame({"a": [True]}))
    >>> t = pd.DataFrame({"with": [28, 3], "all": [97, 40], "p": [28 / 97, 3 / 40]})
    >>> rounded_shares(t, plan, t["with"], t["all"], ["p"])["p"].tolist()  # 30 / 95 -> 0.32
    [0.32, 'suppressed']
    """
    out = table.copy()
    if plan_method(plan) != "rounding":
        return out
    part, total = list(part), list(total)
    for i in range(len(out)):
        rate = _rounded_rate(part[i], total[i])
        n = pd.to_numeric(pd.Series([total[i]]), errors="coerce").iloc[0]
        for c in columns:
            j = out.columns.get_loc(c)
            if rate is None:
                if pd.notna(n) and n > 0:
                    out[c] = out[c].astype(object)
                    out.iloc[i, j] = "suppressed"
                continue
            pick = 1 if "ci_low" in c else 2 if "ci_high" in c else 0
            out.iloc[i, j] = round(scale * rate[pick], rate[3] - (2 if scale == 100 else 0))
    return out


def _round_share(table: pd.DataFrame, count: str, part: str, derived: list[str]) -> pd.DataFrame:
    """:func:`mask_share` under rounding: counts rounded, the share and its interval from them.

    The ``derived`` column named ``ci_low`` / ``ci_high`` (any name containing them) gets the
    Wilson bound from the rounded counts, every other derived column the rounded part over the
    rounded count (:func:`_rounded_rate`); all read "suppressed" where the part, the count or
    the rest is from 1 to 7.
    """
    out = table.copy()
    for c in [count, part, *derived]:
        out[c] = out[c].astype(object)
    for i in range(len(out)):
        k, n = table[part].iloc[i], table[count].iloc[i]
        rate = _rounded_rate(k, n)
        exact = pd.to_numeric(pd.Series([n]), errors="coerce").iloc[0]
        for c in derived:
            j = out.columns.get_loc(c)
            if rate is not None:
                pick = 1 if "ci_low" in c else 2 if "ci_high" in c else 0
                out.iloc[i, j] = rate[pick]
            elif pd.notna(exact) and exact > 0:
                out.iloc[i, j] = "suppressed"
        for c in (count, part):
            out.iloc[i, out.columns.get_loc(c)] = rounded_count(table[c].iloc[i])
    return out


def methods_row(
    suppress: bool,
    simulated: bool = False,
    threshold: int = SMALL_COUNT,
    method: str = "suppression",
    detail: str = "",
) -> tuple:
    """The Methods row of a report on disclosure control: ``(item, value, source)``.

    Parameters
    ----------
    suppress : bool
        Disclosure control on (parameter ``suppress_small_counts``).
    simulated : bool
        The data are simulated.
    threshold : int
        Smallest count shown under suppression.
    method : {"suppression", "rounding"}
        The run's disclosure method (parameter ``disclosure_method``).
    detail : str
        What this report adds to the suppression rule (e.g. notebook 05: how a specification's
        rate is hidden), appended after a semicolon when suppression is on.

    Examples
    --------
    >>> methods_row(False, simulated=True)[1]
    'shown as they are (simulated data: no person behind them)'
    >>> methods_row(True, method="rounding")[1][:59]
    'rounded to the nearest 5; 1-7 shown as "1-7" (between 1 and'
    >>> methods_row(True, detail="rates from them left out")[1].endswith(
    ...     "suppressed; rates from them left out")
    True
    """
    if suppress and method == "rounding":
        value = (
            'rounded to the nearest 5; 1-7 shown as "1-7" (between 1 and 7 clients, number not '
            "shown); 0 shown as 0; the number of clients too. Each count is rounded on its own, "
            "so rows and totals need not add up (the same rule in every report and CSV of this "
            "run). Computed from the rounded counts as shown: percentages (whole percentages "
            "below a rounded denominator of 4,000) and their 95 % Wilson intervals; percent "
            "agreement, PABAK, Cohen's kappa and McNemar's p from the rounded 2 x 2 cells; "
            "risk differences and odds ratios between arms from the rounded arm counts; none of "
            "them is shown where a count it rests on is 1-7. Not shown, because at full "
            "precision they give exact counts back: Kaplan-Meier and cumulative-incidence curves "
            "and their step tables, the Kaplan-Meier share met by the end, rates pooled over "
            "multiple imputations, and means of a group whose size is rounded. Model estimates "
            "(median times to success, hazard ratios, log-rank and regression tests, "
            "correlations) are computed from the unrounded data (complex calculations, NHS "
            "Digital 2018) and are not shown where a count they rest on is 1-7"
        )
        source = (
            "NHS Digital (2018) Disclosure control methodology for Hospital Episode Statistics "
            "(HES) and Emergency Care Data Set (ECDS), digital.nhs.uk (from September 2018; the "
            "same rules for SRHAD from 2019-20); parameters: small-count suppression, "
            "disclosure method"
        )
        return ("small counts", value, source)
    if suppress:
        value = (
            f"1-{threshold - 1} shown as <{threshold}; further counts shown as 'suppressed' so "
            "that no hidden count can be worked out from totals, margins or another table of "
            "this run (complementary suppression, one plan for the whole run: the run's "
            "disclosure plan, a CSV file beside the reports listed in the index, with the reason "
            "for each hidden count); percentages and statistics derived from a hidden count are "
            "suppressed"
        ) + (f"; {detail}" if detail else "")
    elif simulated:
        value = "shown as they are (simulated data: no person behind them)"
    else:
        value = "shown as they are (suppression off)"
    source = (
        "NHS Digital (2018) disclosure control methodology for HES and ECDS (small numbers and "
        "secondary suppression); Hundepool A. et al. (2012) Statistical Disclosure Control, "
        "Wiley, ch. 4; parameter: small-count suppression"
    )
    return ("small counts", value, source)


def mask_by_session(early: pd.DataFrame, plan: pd.DataFrame | None, threshold: int = SMALL_COUNT):
    """Hide, in the signal's performance counted up to each session, what could give away a count.

    Parameters
    ----------
    early : pandas.DataFrame
        :func:`analysis.compare.on_track.signal_performance_by_session` (``definition``,
        ``by``, ``measure``, ``count``, ``n``, ``estimate``, ``ci_low``, ``ci_high``, ``tp``,
        ``fp``, ``fn``, ``tn``).
    plan : pandas.DataFrame or None
        The run's plan with the signal's overall counts (``"signal <d>: tp"`` ...); None:
        unchanged.
    threshold : int
        The plan's threshold.

    Returns
    -------
    pandas.DataFrame
        Counts from 1 to ``threshold - 1`` as "<5" and the estimate and interval "suppressed"
        where the count, its denominator or their difference is small (:func:`mask_share`);
        and, for a definition whose overall confusion counts the plan hides, every count and
        estimate "suppressed" (up to the last session they are the overall ones).

    Examples
    --------
    >>> import pandas as pd
    >>> e = pd.DataFrame({"definition": ["a"], "by": [1], "measure": ["ppv"], "count": [8],
    ...                   "n": [10], "estimate": [0.8], "tp": [8], "fp": [2], "fn": [1],
    ...                   "tn": [9]})
    >>> plan = pd.DataFrame({"cell": ["signal a: tp"], "suppressed": [True],
    ...                      "reason": ["complementary"]})
    >>> set(mask_by_session(e, plan).iloc[0].tolist()[3:])
    {'suppressed'}
    """
    if plan is None:
        return early.copy()
    counts = [c for c in ("count", "n", "tp", "fp", "fn", "tn") if c in early.columns]
    stats = [c for c in ("estimate", "ci_low", "ci_high") if c in early.columns]
    out = mask_share(early, "n", "count", stats, plan, threshold)
    out = mask(out, plan, {c: [None] * len(out) for c in counts if c not in ("n", "count")})
    basis = [[f"signal {d}: {k}" for k in ("tp", "fp", "fn", "tn")] for d in early["definition"]]
    return mask(out, plan, {}, {c: basis for c in counts + stats}, threshold)


#: A specification's count columns, what each counts and for which arm, as the multiverse
#: that writes them defines them (one definition).
_SPEC_COUNTS = SET_COUNTS


def _spec_cells(results: pd.DataFrame, own: pd.DataFrame, plan: pd.DataFrame) -> dict:
    """Count column -> per row, the plan count it equals (or None); see :func:`mask_multiverse`."""
    known = set(plan["cell"])
    planned = (
        dict(zip(plan["cell"], pd.to_numeric(plan["count"], errors="coerce"), strict=True))
        if "count" in plan.columns
        else {}
    )
    cols = [c for c in _SPEC_COUNTS if c in results.columns]
    truth: dict = {}
    for r in own.to_dict("records"):  # the run's own specification: notebook 01's counts
        for c in cols:
            truth.setdefault((str(r["definition"]), c), r[c])
    cells: dict = {c: [] for c in cols}
    for r in results.to_dict("records"):
        d = str(r["definition"])
        arms = str(r.get("arm_comparison", "")).split(" vs ")
        level = dict(zip(("other", "ref"), arms, strict=False)) if len(arms) == 2 else {}
        for c in cols:
            kind, side = _SPEC_COUNTS[c]
            cell = (
                f"{d}: {kind}" + (f" | {level[side]}" if side else "")
                if (side is None or side in level)
                else None
            )
            v, t = r[c], planned.get(cell)  # the plan's value, else the own specification's
            if t is None or pd.isna(t):
                t = truth.get((d, c))
            same = cell in known and t is not None and pd.notna(v) and pd.notna(t) and v == t
            cells[c].append(cell if same else None)
    return cells


def mask_multiverse(
    results: pd.DataFrame,
    suppress: bool,
    threshold: int = SMALL_COUNT,
    plan: pd.DataFrame | None = None,
    own: pd.DataFrame | None = None,
    method: str = "",
    cells: Mapping[str, Sequence[str | None]] | None = None,
):
    """The multiverse table as written beside notebook 05, consistent with the run's plan.

    Every count column (``n_*``) from 1 to ``threshold - 1`` reads "<5"; the overall rate and
    interval read "suppressed" where met, evaluable or not met (evaluable - met) is small, and
    the arm comparison's columns where any arm count or its complement is small (primary
    suppression and the derived-percentage rule, per specification).

    With the run's ``plan``, every count of a specification of definition ``d`` that equals
    notebook 01's count of the same kind (``"d: met"``, ``"d: evaluable"``, per arm
    ``" | <arm>"``; its value from the plan, :func:`analysis.run.workflow.read_disclosure`
    with the run's cache, else from the run's ``own`` specifications,
    :func:`analysis.compare.multiverse.matching_specifications`) is taken for that count: it
    reads exactly as the plan shows it (a count hidden in notebook 01 cannot be read off the
    multiverse, under the own specification or under any other that gives the same number),
    and the rate, interval and arm statistics derived from a hidden count read "suppressed".

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse`.
    suppress : bool
        False: returned unchanged.
    threshold : int
        Smallest count shown.
    plan : pandas.DataFrame, optional
        The run's plan (:func:`analysis.report.disclosure.read_plan`).
    own : pandas.DataFrame, optional
        The run's own specifications (rows of ``results``): notebook 01's value of a hidden
        count the plan holds without its value.
    method : str
        The run's disclosure method (``"rounding"``, ``"suppression"``; ``""``: the plan's).
        Under rounding every count is rounded to the nearest 5 (1-7 read "1-7"), a count equal
        to notebook 01's therefore reads as there, the rate and its Wilson interval come from
        the rounded met and evaluable, the arm comparison's statistics from the rounded arm
        counts, "suppressed" where an arm count or its complement is from 1 to 7; a rate,
        interval, risk difference or odds ratio pooled over multiple imputations reads
        :data:`NOT_SHOWN` (rate x imputations x N is whole for the true N only).
    cells : mapping of str to sequence, optional
        Count column -> per row, the plan count it shows: the plan extended with the
        multiverse's own counts (:func:`analysis.run.workflow.multiverse_disclosure`, which
        audits every specification's counts with the run's). Given, it replaces the matching
        by value above (under suppression; rounding rounds every count alike).

    Returns
    -------
    pandas.DataFrame
        A copy, index kept; hidden entries are strings.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"n_evaluable": [40], "n_met": [38], "rate": [0.95]})
    >>> mask_multiverse(r, True).iloc[0].tolist()
    [40, 38, 'suppressed']

    Notebook 01 hides remission's 77 evaluable (complementary suppression); the own
    specification and another one with 77 evaluable show it as the plan does, a third (43
    evaluable) keeps its numbers:

    >>> plan = pd.DataFrame({"cell": ["remission: met", "remission: evaluable"],
    ...                      "count": [22, None], "suppressed": [False, True],
    ...                      "reason": ["", "complementary: would reveal x"]})
    >>> r = pd.DataFrame({"definition": "remission", "n_evaluable": [77, 77, 43],
    ...                   "n_met": [22, 30, 18], "rate": [22 / 77, 30 / 77, 18 / 43]})
    >>> m = mask_multiverse(r, True, plan=plan, own=r.iloc[[0]])
    >>> m["n_evaluable"].tolist(), m["n_met"].tolist()
    (['suppressed', 'suppressed', 43], [22, 30, 18])
    >>> m["rate"].tolist()[:2], round(m["rate"].iloc[2], 3)
    (['suppressed', 'suppressed'], 0.419)
    """
    from analysis.report.tables import suppress_small_counts

    if not suppress:
        return results.copy()
    if (method or plan_method(plan)) == "rounding":
        return _round_multiverse(results)
    out = results.copy()
    overall = [c for c in ("rate", "ci_low", "ci_high") if c in out.columns]
    if {"n_met", "n_evaluable"} <= set(out.columns):
        out = suppress_small_counts(
            out, ["n_met", "n_evaluable"], overall, ("n_met", "n_evaluable"), threshold
        )
    arm_stats = [
        c for c in out.columns if c.startswith(("risk_difference", "rd_", "odds_ratio", "or_"))
    ]
    for part, total in (("n_met_other", "n_evaluable_other"), ("n_met_ref", "n_evaluable_ref")):
        if {part, total} <= set(out.columns):
            out = suppress_small_counts(out, [part, total], arm_stats, (part, total), threshold)
    if plan is None or "definition" not in results.columns:
        return out
    if cells is None:
        cells = _spec_cells(results, own if own is not None else results.iloc[:0], plan)
    cells = {c: list(seq) for c, seq in cells.items() if c in out.columns}
    rows = list(zip(*cells.values(), strict=True)) if cells else [()] * len(out)
    mine = [{c for c in row if c is not None} for row in rows]
    overall_basis = [[c for c in row if c is not None and " | " not in c] for row in mine]
    derived = {c: overall_basis for c in overall}
    derived.update({c: [list(row) for row in mine] for c in arm_stats})
    return mask(out, plan, cells, derived, threshold)


def rates_as_shown(results: pd.DataFrame, masked: pd.DataFrame) -> pd.DataFrame:
    """The multiverse results with each rate and interval as ``multiverse.csv`` shows it.

    Where :func:`mask_multiverse` shows a number for ``rate``, ``ci_low``, ``ci_high`` or the arm
    difference (``risk_difference``, ``odds_ratio`` and their intervals) (under rounding:
    computed from the rounded counts), that number replaces the computed one, so the
    notebook's text, tables and figures state the rates the CSV states. Hidden entries keep the
    computed value (they are left out by
    :func:`analysis.report.multiverse_tables.shown_results`, which reads ``masked``).

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`analysis.compare.multiverse.run_multiverse`.
    masked : pandas.DataFrame
        :func:`mask_multiverse` of ``results`` (same index).

    Returns
    -------
    pandas.DataFrame
        A copy of ``results``; the columns keep their float dtype.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"n_met": [28, 3], "n_evaluable": [97, 50], "rate": [28 / 97, 0.06]})
    >>> shown = rates_as_shown(r, mask_multiverse(r, True, method="rounding"))
    >>> shown["rate"].round(4).tolist()   # 30 / 95 = 0.3158 -> 0.32; the 3 of 50 stays hidden
    [0.32, 0.06]
    """
    out = results.copy()
    masked = masked.loc[results.index]
    arm = ("risk_difference", "rd_ci_low", "rd_ci_high", "odds_ratio", "or_ci_low", "or_ci_high")
    for c in ("rate", "ci_low", "ci_high", *arm):
        if c in out.columns and c in masked.columns:
            v = pd.to_numeric(
                masked[c].where(~pd.Series(is_hidden(masked[c]), index=masked.index)),
                errors="coerce",
            )
            out[c] = v.where(v.notna(), out[c]).astype(float)
    return out


def _round_multiverse(results: pd.DataFrame) -> pd.DataFrame:
    """:func:`mask_multiverse` under the rounding method (see its ``method``)."""
    out = results.copy()
    counts = [c for c in out.columns if c.startswith("n_")]
    overall = [c for c in ("rate", "ci_low", "ci_high") if c in out.columns]
    arm_stats = [
        c for c in out.columns if c.startswith(("risk_difference", "rd_", "odds_ratio", "or_"))
    ]
    for c in [*counts, *overall, *arm_stats]:
        out[c] = out[c].astype(object)
    for i in range(len(out)):
        row = results.iloc[i]
        # multiple imputation: the rate is pooled (Rubin's rules), not met / evaluable: not shown
        # (rate x imputations x N is a whole number, and with nothing missing it equals the
        # complete-case rate: both give the exact counts back)
        pooled = str(row.get("missing", "")) == "multiple_imputation"
        if pooled:
            for c in [*overall, *arm_stats]:
                out.iloc[i, out.columns.get_loc(c)] = NOT_SHOWN
        if {"n_met", "n_evaluable"} <= set(out.columns):
            rate = _rounded_rate(row["n_met"], row["n_evaluable"])
            ev = pd.to_numeric(pd.Series([row["n_evaluable"]]), errors="coerce").iloc[0]
            for j, c in enumerate(("rate", "ci_low", "ci_high")):
                if c in overall and rate is not None and not pooled:
                    out.iloc[i, out.columns.get_loc(c)] = rate[j]
                elif c in overall and rate is None and pd.notna(ev) and ev > 0:
                    out.iloc[i, out.columns.get_loc(c)] = "suppressed"
        small = False
        for part, total in (("n_met_other", "n_evaluable_other"), ("n_met_ref", "n_evaluable_ref")):
            if {part, total} <= set(out.columns):
                k = pd.to_numeric(pd.Series([row[part]]), errors="coerce").iloc[0]
                n = pd.to_numeric(pd.Series([row[total]]), errors="coerce").iloc[0]
                vals = [v for v in (k, n, n - k) if pd.notna(v)]
                small |= any(rounded_count(v) == ROUNDED_SMALL for v in vals)
        if small:
            for c in arm_stats:
                out.iloc[i, out.columns.get_loc(c)] = "suppressed"
        elif arm_stats and not pooled and pd.notna(row.get("risk_difference")):
            # the arm difference and its intervals from the rounded counts (same formulas)
            for c, v in _arm_from_rounded(row).items():
                if c in arm_stats:
                    out.iloc[i, out.columns.get_loc(c)] = v
        for c in counts:
            out.iloc[i, out.columns.get_loc(c)] = rounded_count(row[c])
    return out


def _arm_from_rounded(row) -> dict:
    """Arm difference of one specification from its rounded arm counts.

    Risk difference (Newcombe interval) and odds ratio (logit interval) by the multiverse's own
    formulas (:mod:`analysis.compare.multiverse`).
    """
    from analysis.compare.multiverse import _summarise_counts

    keys = ("n_met", "n_evaluable", "n_met_other", "n_evaluable_other", "n_met_ref")
    counts = pd.DataFrame(
        {"spec": [0], **{k: [int(rounded_count(row[k]))] for k in (*keys, "n_evaluable_ref")}}
    )
    res = _summarise_counts(counts, (None, "ref", "other"), 0.05)[0]
    return {k: res[k] for k in res if k.startswith(("risk_difference", "rd_", "odds_ratio", "or_"))}


def is_hidden(values: Iterable) -> list[bool]:
    """Which entries of a masked column the plan hides (``"<5"``, ``"suppressed"``, ``"1-7"``).

    Parameters
    ----------
    values : iterable
        A column returned by :func:`mask` (or one of the ``mask_*`` functions).

    Returns
    -------
    list of bool
        True where the entry is a hidden marker; numbers, NaN and other text are shown.

    Examples
    --------
    >>> is_hidden([0.72, "suppressed", "<5", float("nan"), 12, "1-7"])
    [False, True, True, False, False, True]
    """
    return [
        isinstance(v, str) and (v in ("suppressed", ROUNDED_SMALL) or v.startswith("<"))
        for v in values
    ]


def mask_matrix(
    pairs: pd.DataFrame,
    plan: pd.DataFrame | None,
    value: str = "kappa",
    threshold: int = SMALL_COUNT,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A square matrix of one pairwise statistic as the pairs table shows it, for a heat map.

    Under a rounding plan the values are those of :func:`rounded_pairs` (from the rounded 2 x 2
    cells, as the table shows them).

    The values are those of :func:`analysis.compare.agreement.agreement_matrix`, except that a
    pair whose statistic :func:`mask_pairs` hides (a 2 x 2 cell of the pair hidden by the run's
    plan) is NaN, so that a figure cannot show what the table hides (a kappa, with the shown
    margins, can give a hidden 2 x 2 count back).

    Parameters
    ----------
    pairs : pandas.DataFrame
        :func:`analysis.compare.agreement.pairwise_agreement`.
    plan : pandas.DataFrame or None
        The run's plan; None: nothing hidden.
    value : str
        The statistic (``kappa``, ``pabak``, ``percent_agree``, ...).
    threshold : int
        The plan's threshold.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        The matrix (definitions x definitions, float; hidden pairs NaN) and a boolean matrix
        of the same shape, True where the pair is hidden (both triangles). A NaN that is not
        hidden is an undefined statistic (e.g. kappa with a constant definition).

    Raises
    ------
    ValueError
        If ``value`` is not a column of ``pairs``.

    Examples
    --------
    >>> import pandas as pd
    >>> cells = ["a x b: met/met", "a x b: met/not_met", "a x b: not_met/met",
    ...          "a x b: not_met/not_met"]
    >>> plan = pd.DataFrame({"cell": cells, "suppressed": [False, True, True, False],
    ...                      "reason": ["", "primary: fewer than 5", "complementary", ""]})
    >>> pairs = pd.DataFrame({"definition_a": ["a"], "definition_b": ["b"], "kappa": [0.72]})
    >>> m, hidden = mask_matrix(pairs, plan)
    >>> float(m.loc["a", "b"]), bool(hidden.loc["b", "a"]), float(m.loc["a", "a"])
    (nan, True, 1.0)
    """
    from analysis.compare.agreement import agreement_matrix

    if value not in pairs.columns:
        raise ValueError(f"{value!r} is not a column of the pairs table ({list(pairs.columns)})")
    if plan_method(plan) == "rounding" and {"both_met", "only_a", "only_b", "neither"} <= set(
        pairs.columns
    ):  # the values the pairs table shows: from the rounded 2 x 2 cells
        pairs = rounded_pairs(pairs, plan)
    keys = pairs[["definition_a", "definition_b", value]].reset_index(drop=True)
    gone = is_hidden(mask_pairs(keys, keys, plan, threshold)[value])
    if "_small" in pairs.columns:
        gone = [g or bool(s) for g, s in zip(gone, pairs["_small"], strict=True)]
    shown = keys.astype({value: float})
    shown.loc[gone, value] = float("nan")
    matrix = agreement_matrix(shown, value)
    hidden = pd.DataFrame(False, index=matrix.index, columns=matrix.columns)
    for a, b, h in zip(keys["definition_a"], keys["definition_b"], gone, strict=True):
        if h:
            hidden.loc[a, b] = hidden.loc[b, a] = True
    return matrix, hidden


def hidden_note(hidden: Sequence[str], every: Sequence[str], label=str) -> str:
    """A sentence saying for which definitions some entries of a table are hidden.

    Parameters
    ----------
    hidden : sequence of str
        The definitions (names) with a hidden entry.
    every : sequence of str
        Every definition of the table (names).
    label : callable
        Name -> label (``text.labeller(**labels)``).

    Returns
    -------
    str
        Empty when nothing is hidden; "for every definition" when all are.

    Examples
    --------
    >>> hidden_note(["remission"], ["remission", "response"], str.title)
    'Some of these counts are hidden (disclosure control) for Remission.'
    >>> hidden_note(["a", "b"], ["b", "a"])
    'Some of these counts are hidden (disclosure control) for every definition.'
    """
    names = list(dict.fromkeys(str(d) for d in hidden))
    if not names:
        return ""
    if set(names) >= {str(d) for d in every}:
        which = "every definition"
    else:
        which = ", ".join(label(d) for d in names)
    return f"Some of these counts are hidden (disclosure control) for {which}."


def count_subject(shown, noun: str = "clients") -> str:
    """A count as the plan shows it, worded to open a sentence.

    Parameters
    ----------
    shown : int or str
        The count as :func:`mask` or :func:`shown_value` shows it (a number, ``"<5"`` or
        ``"suppressed"``).
    noun : str
        What is counted (plural).

    Returns
    -------
    str
        "12 clients", "Fewer than 5 clients" or "Some clients (count hidden by disclosure
        control)".

    Examples
    --------
    >>> count_subject(12), count_subject("<5"), count_subject("suppressed")
    ('12 clients', 'Fewer than 5 clients', 'Some clients (count hidden by disclosure control)')
    >>> count_subject("1-7")
    'Between 1 and 7 clients'
    """
    s = str(shown)
    if s == ROUNDED_SMALL:
        return f"Between 1 and 7 {noun}"
    if s.startswith("<"):
        return f"Fewer than {s[1:]} {noun}"
    if s == "suppressed":
        return f"Some {noun} (count hidden by disclosure control)"
    return f"{s} {noun}"
