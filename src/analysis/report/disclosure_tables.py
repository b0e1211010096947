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

from analysis.report.disclosure import SMALL_COUNT, any_suppressed

__all__ = [
    "mask",
    "mask_prevalence",
    "mask_pairs",
    "mask_km",
    "mask_curves",
    "mask_landmark",
    "curves_note",
    "prevalence_cells",
    "category_counts",
    "shown_value",
    "mask_excluded",
    "mask_share",
    "methods_row",
    "mask_by_session",
    "mask_multiverse",
    "is_hidden",
    "mask_matrix",
    "hidden_note",
    "count_subject",
]


def _label(plan: pd.DataFrame, cell: str, threshold: int) -> str | None:
    row = plan.loc[plan["cell"] == cell]
    if row.empty or not bool(row["suppressed"].iloc[0]):
        return None
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
        A copy; hidden entries are strings (object dtype).

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
    hidden_in_row: list[set[str]] = [set() for _ in range(len(out))]
    for col, seq in cells.items():
        for i, cell in enumerate(seq):
            if cell is not None and cell in known:
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
        its interval "suppressed" when met, not met or evaluable is hidden.

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
    return mask(table, plan, cells, derived, threshold)


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
        hidden.

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
    return mask(table, plan, cells, derived, threshold)


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
        Category -> the number as a string, ``"<5"`` or ``"suppressed"``.

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
        "suppressed" when a count it derives from is hidden.

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
    if plan is not None and excluded is not None and len(excluded):
        ex = mask_excluded(excluded, plan, prefix, threshold)
        bad = set(ex.loc[~ex["n"].astype(str).str.isdigit(), "definition"].astype(str))
        rows = [i for i, d in enumerate(names) if d in bad]
        for c in out.columns:
            if c in ("events", "share_events") or c.startswith("% with the event"):
                for i in rows:
                    out.iloc[i, out.columns.get_loc(c)] = "suppressed"
    return out


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
    the events at that time, and the number at risk at the start gives the clients. So, with a
    plan (real data, suppression on):

    - a definition with any time-to-event count the plan hides (``"<prefix> <d>: clients"``,
      ``": met"``, ``": dropout"``, ``": censored other"``, ``": excluded"``, as
      :func:`mask_km` hides them in the tables) gets no curve at all;
    - every other curve ends at the last time at which at least ``threshold`` clients are at
      risk: rows with fewer at risk are not returned (published Kaplan-Meier plots are commonly
      cut where few remain at risk; here the cut is the run's small-count threshold, so no
      step stands on fewer than ``threshold`` clients).

    The figure and the CSV beside it take the same rows, so they agree.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`analysis.compare.survival.km_curves` or
        :func:`analysis.compare.survival.cumulative_incidence` (``definition``, ``time``, ...).
        ``at_risk`` is used when present, else counted from ``tte``.
    tte : pandas.DataFrame
        :func:`analysis.compare.survival.time_to_event` (``definition`` and ``duration``): the
        clients at risk at ``t`` are those of the definition with ``duration >= t``.
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
        without a curve, ``attrs["cut"]``: the definitions whose curve ends early (time of the
        last row kept).

    Examples
    --------
    Ten clients, one event at each time 1..10: the curve ends at time 6, where 5 are still at
    risk (at time 7 only 4 are); definition ``b`` has its met count hidden and gets no curve:

    >>> import pandas as pd
    >>> tte = pd.DataFrame({"definition": ["a"] * 10 + ["b"] * 10,
    ...                     "duration": list(range(1, 11)) * 2})
    >>> curves = pd.DataFrame({"definition": ["a"] * 10 + ["b"] * 10,
    ...                        "time": [float(t) for t in range(1, 11)] * 2,
    ...                        "proportion_met": [t / 10 for t in range(1, 11)] * 2})
    >>> plan = pd.DataFrame({"cell": ["km b: met"], "suppressed": [True],
    ...                      "reason": ["primary: fewer than 5"]})
    >>> shown = mask_curves(curves, tte, plan)
    >>> shown["time"].tolist(), shown["at_risk"].tolist()
    ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [10, 9, 8, 7, 6, 5])
    >>> shown.attrs["hidden"], shown.attrs["cut"]
    (['b'], {'a': 6.0})
    >>> len(mask_curves(curves, tte, None))
    20
    """
    out = curves.copy()
    out.attrs = {"hidden": [], "cut": {}}
    if plan is None or not len(out):
        return out
    if "at_risk" not in out.columns:
        dur = {
            str(d): pd.to_numeric(s[duration], errors="coerce").dropna().to_numpy()
            for d, s in tte.groupby("definition", sort=False)
        }
        out["at_risk"] = [
            int((dur.get(str(d), pd.Series(dtype=float)) >= t).sum())
            for d, t in zip(out["definition"], out["time"], strict=True)
        ]
    keep = pd.Series(True, index=out.index)
    hidden, cut = [], {}
    known = set(plan["cell"])
    for d, sub in out.groupby("definition", sort=False):
        own = [f"{prefix} {d}: {k}" for k in _CURVE_CELLS if f"{prefix} {d}: {k}" in known]
        if any_suppressed(plan, own):
            keep[sub.index] = False
            hidden.append(str(d))
            continue
        small = pd.to_numeric(sub["at_risk"], errors="coerce").fillna(0) < threshold
        if small.any():
            first = small.to_numpy().argmax()  # at risk only falls with time: a prefix stays
            keep[sub.index[first:]] = False
            if first:
                cut[str(d)] = float(sub["time"].iloc[first - 1])
            else:
                hidden.append(str(d))
    shown = out.loc[keep].reset_index(drop=True)
    shown.attrs = {"hidden": hidden, "cut": cut}
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
    the last time at which at least 5 clients are at risk (a: 6).
    """
    hidden = list(shown.attrs.get("hidden", []))
    cut = dict(shown.attrs.get("cut", {}))
    if not hidden and not cut:
        return ""
    parts = []
    if hidden:
        parts.append(
            "no curve for "
            + ", ".join(label(d) for d in hidden)
            + " (counts hidden in this run's tables)"
        )
    if cut:
        parts.append(
            f"each curve ends at the last time at which at least {threshold} clients are at "
            "risk (" + ", ".join(f"{label(d)}: {t:g}" for d, t in cut.items()) + ")"
        )
    return "Disclosure control: " + "; ".join(parts) + "."


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
    ``threshold - 1``. With no plan (suppression off): unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n": [20, 20], "k": [2, 10], "share": [0.1, 0.5]})
    >>> mask_share(t, "n", "k", ["share"], pd.DataFrame({"cell": []}))["share"].tolist()
    ['suppressed', 0.5]
    """
    if plan is None:
        return table.copy()
    from analysis.report.tables import suppress_small_counts

    return suppress_small_counts(
        table, [count, part], list(derived), (part, count), threshold=threshold
    )


def methods_row(suppress: bool, simulated: bool = False, threshold: int = SMALL_COUNT) -> tuple:
    """The Methods row of a report on disclosure control: ``(item, value, source)``.

    Examples
    --------
    >>> methods_row(False, simulated=True)[1]
    'shown as they are (simulated data: no person behind them)'
    """
    if suppress:
        value = (
            f"1-{threshold - 1} shown as <{threshold}; further counts shown as 'suppressed' so "
            "that no hidden count can be worked out from totals, margins or another table of "
            "this run (complementary suppression, one plan for the whole run: the run's "
            "disclosure plan, a CSV file beside the reports); percentages and statistics "
            "derived from a hidden count are suppressed"
        )
    elif simulated:
        value = "shown as they are (simulated data: no person behind them)"
    else:
        value = "shown as they are (suppression off)"
    source = (
        "NHS Digital (2018) disclosure control methodology for HES and ECDS (small numbers and "
        "secondary suppression); Hundepool A. et al. (2012) Statistical Disclosure Control, "
        "Wiley, ch. 4; parameter: suppress small counts"
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


_SPEC_COUNTS = {
    "n_met": ("met", None),
    "n_evaluable": ("evaluable", None),
    "n_met_other": ("met", "other"),
    "n_evaluable_other": ("evaluable", "other"),
    "n_met_ref": ("met", "ref"),
    "n_evaluable_ref": ("evaluable", "ref"),
}


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
    cells : mapping of str to sequence, optional
        Count column -> per row, the plan count it shows: the plan extended with the
        multiverse's own counts (:func:`analysis.run.workflow.multiverse_disclosure`, which
        audits every specification's counts with the run's). Given, it replaces the matching
        by value above.

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


def is_hidden(values: Iterable) -> list[bool]:
    """Which entries of a masked column the plan hides (``"<5"``, ``"suppressed"``).

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
    >>> is_hidden([0.72, "suppressed", "<5", float("nan"), 12])
    [False, True, True, False, False]
    """
    return [isinstance(v, str) and (v == "suppressed" or v.startswith("<")) for v in values]


def mask_matrix(
    pairs: pd.DataFrame,
    plan: pd.DataFrame | None,
    value: str = "kappa",
    threshold: int = SMALL_COUNT,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A square matrix of one pairwise statistic as the pairs table shows it, for a heat map.

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
    keys = pairs[["definition_a", "definition_b", value]].reset_index(drop=True)
    gone = is_hidden(mask_pairs(keys, keys, plan, threshold)[value])
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
    """
    s = str(shown)
    if s.startswith("<"):
        return f"Fewer than {s[1:]} {noun}"
    if s == "suppressed":
        return f"Some {noun} (count hidden by disclosure control)"
    return f"{s} {noun}"
