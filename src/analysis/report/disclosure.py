"""Statistical disclosure control for the counts a run shows: primary and complementary suppression,
checked by a linear audit across every table of the run.

A report shows many counts that are sums over the same clients: met, not met and not evaluable per
definition, overall and by arm, the cells of every 2 x 2 agreement table, category counts. Hiding a
small count (*primary suppression*) is not enough when the hidden value can be recovered by
subtraction from a total, a margin or a cell of another table (77 - 28 - 8 - 37 = 4). This module
treats every count of a run as a set of clients, finds which hidden counts are linear combinations
of the shown ones, and hides further counts (*complementary suppression*) until none is.

How it works. Each count is a column of a boolean membership table (clients x counts). Clients
with the same membership pattern form an *atom*; a count is the sum of its atoms' sizes. A hidden
count is *recoverable* when its atom vector lies in the linear span of the shown counts' vectors
: then it equals a linear combination of shown numbers. Only the atoms that exist in the data
enter the test, so it also flags relations that hold by coincidence of this data (two counts over
the same clients): conservative, never lenient. This is the linear audit of
tabular disclosure control (Hundepool et al. 2012, ch. 4); it does not model bounds from
non-negativity, so it is a necessary, not a sufficient, protection for very sparse tables.

Sources
-------
- Primary threshold: counts from 1 to ``threshold - 1`` are hidden (default 5, i.e. 1-4 shown as
  "<5"). NHS Digital's rule for Hospital Episode Statistics (2018) hides 1-7 and rounds other
  counts to the nearest 5; ONS research outputs commonly use a threshold of 10. The threshold is a
  run parameter.
- Complementary suppression: Hundepool A., Domingo-Ferrer J., Franconi L., Giessing S., Schulte
  Nordholt E., Spicer K. & de Wolf P.-P. (2012) *Statistical Disclosure Control*. Wiley, ch. 4
  (tabular data: primary and secondary suppression, audit).
- NHS Digital (2018) *Disclosure control methodology for Hospital Episode Statistics (HES) and
  Emergency Care Data Set (ECDS)*: secondary suppression "checking that other values within the
  data cannot be used to recalculate the original small numbers".
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = [
    "SMALL_COUNT",
    "suppression_plan",
    "recoverable",
    "outcome_cells",
    "headline_cells",
    "shown_count",
    "any_suppressed",
]

#: Smallest count shown by default (counts 1-4 appear as "<5").
SMALL_COUNT = 5

_TOL = 1e-8


def _atoms(membership: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Unique membership patterns (atoms x cells, float) and their sizes."""
    m = membership.to_numpy(dtype=bool)
    if m.shape[0] == 0:
        return np.zeros((0, m.shape[1])), np.zeros(0)
    patterns, counts = np.unique(m, axis=0, return_counts=True)
    return patterns.astype(float), counts.astype(float)


def _in_span(basis: np.ndarray, target: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether ``target`` (atoms) is a linear combination of the rows of ``basis`` (k x atoms).

    Returns the flag and the least-squares coefficients (length k)."""
    if not target.any():
        return True, np.zeros(basis.shape[0])
    if basis.shape[0] == 0:
        return False, np.zeros(0)
    coef, *_ = np.linalg.lstsq(basis.T, target, rcond=None)
    resid = basis.T @ coef - target
    return bool(np.abs(resid).max() < 1e-6), coef


def recoverable(membership: pd.DataFrame, suppressed: Iterable[str]) -> list[str]:
    """The hidden counts that can be recomputed exactly from the shown ones.

    Parameters
    ----------
    membership : pandas.DataFrame
        One row per client (any index), one boolean column per count shown or hidden in the run.
        The count of a column is its number of True values.
    suppressed : iterable of str
        Names of the hidden counts (columns of ``membership``).

    Returns
    -------
    list of str
        The hidden counts (in column order) whose client set is a linear combination of the shown
        counts' client sets (over the membership patterns present in the data). Empty means the
        linear audit recovers nothing.

    Raises
    ------
    ValueError
        If a name in ``suppressed`` is not a column of ``membership``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"all": [True] * 6, "met": [True, True, False, False, False, False]})
    >>> m["not_met"] = ~m["met"]
    >>> recoverable(m, ["met"])          # met = all - not_met
    ['met']
    >>> recoverable(m, ["met", "not_met"])
    []
    """
    hidden = set(suppressed)
    unknown = sorted(hidden - set(membership.columns))
    if unknown:
        raise ValueError(f"suppressed counts {unknown} are not columns of the membership table")
    p, _ = _atoms(membership)
    shown = np.array([c not in hidden for c in membership.columns])
    basis = p[:, shown].T
    out = []
    for j, name in enumerate(membership.columns):
        if name in hidden and _in_span(basis, p[:, j])[0]:
            out.append(name)
    return out


def suppression_plan(
    membership: pd.DataFrame,
    threshold: int = SMALL_COUNT,
    protect: Iterable[str] = (),
) -> pd.DataFrame:
    """Decide which counts of a run to hide: primary (small) and complementary (recoverable).

    Parameters
    ----------
    membership : pandas.DataFrame
        One row per client, one boolean column per count the run shows (see
        :func:`outcome_cells`). Not modified.
    threshold : int
        Smallest count shown; counts from 1 to ``threshold - 1`` are hidden (default 5). Zero is
        shown (it discloses nothing about an individual).
    protect : iterable of str
        Counts to keep shown when another choice exists (e.g. the cohort size). If hiding one of
        them is the only way to protect a small count, it is hidden and the reason says so.

    Returns
    -------
    pandas.DataFrame
        One row per count: ``cell`` (column name), ``count`` (clients), ``suppressed`` (bool),
        ``reason`` ("" when shown; "primary: fewer than <threshold>"; "complementary: would
        reveal <cell>").

    Raises
    ------
    ValueError
        If a column is not boolean or ``threshold`` < 1.

    Notes
    -----
    Greedy secondary suppression: while a hidden count is recoverable (:func:`recoverable`), the
    smallest non-zero shown count that enters its linear expression is hidden too. Each step hides
    one more count, so it stops. The result passes the linear audit by construction (tested).

    Examples
    --------
    Met / not met by arm, with the totals shown; one arm has 3 clients who met:

    >>> import pandas as pd
    >>> arm = pd.Series(["A"] * 10 + ["B"] * 10)
    >>> met = pd.Series([True] * 3 + [False] * 7 + [True] * 6 + [False] * 4)
    >>> m = pd.DataFrame({"met": met, "met A": met & (arm == "A"), "met B": met & (arm == "B"),
    ...                   "A": arm == "A", "B": arm == "B"})
    >>> plan = suppression_plan(m)
    >>> plan.loc[plan["suppressed"], "cell"].tolist()
    ['met A', 'met B']
    """
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")
    bad = [c for c in membership.columns if not pd.api.types.is_bool_dtype(membership[c])]
    if bad:
        raise ValueError(f"membership columns must be boolean; not: {bad}")
    names = list(membership.columns)
    patterns, _ = _atoms(membership)
    counts = membership.sum(axis=0).to_numpy(dtype=float)
    primary = (counts >= 1) & (counts < threshold)
    hidden = primary.copy()
    reason = np.where(primary, f"primary: fewer than {threshold}", "").astype(object)
    protected = np.array([n in set(protect) for n in names])
    while True:
        p = patterns
        idx_shown = np.flatnonzero(~hidden)
        basis = p[:, idx_shown].T
        exposed = None
        for j in np.flatnonzero(hidden):
            if counts[j] == 0:
                continue
            ok, coef = _in_span(basis, p[:, j])
            if ok:
                exposed = (j, coef)
                break
        if exposed is None:
            break
        j, coef = exposed
        involved = idx_shown[np.abs(coef) > _TOL]
        candidates = [i for i in involved if counts[i] > 0 and not protected[i]]
        if not candidates:
            candidates = [i for i in involved if counts[i] > 0] or list(involved)
        pick = min(candidates, key=lambda i: (counts[i], i))
        hidden[pick] = True
        reason[pick] = f"complementary: would reveal {names[j]}"
    return pd.DataFrame(
        {
            "cell": names,
            "count": counts.astype(int),
            "suppressed": hidden,
            "reason": reason.astype(str),
        }
    )


def shown_count(plan: pd.DataFrame, cell: str, threshold: int = SMALL_COUNT) -> str:
    """How a count appears in a report: the number, or ``"<threshold"`` / ``"suppressed"``.

    Parameters
    ----------
    plan : pandas.DataFrame
        Output of :func:`suppression_plan`.
    cell : str
        A count's name.
    threshold : int
        The plan's threshold (for the "<5" label of primary suppression).

    Raises
    ------
    KeyError
        If the plan has no such count.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["a", "b"], "count": [3, 40], "suppressed": [True, True],
    ...                      "reason": ["primary: fewer than 5", "complementary: would reveal a"]})
    >>> shown_count(plan, "a"), shown_count(plan, "b")
    ('<5', 'suppressed')
    """
    row = plan.loc[plan["cell"] == cell]
    if row.empty:
        raise KeyError(f"no count named {cell!r} in the disclosure plan")
    r = row.iloc[0]
    if not r["suppressed"]:
        return str(int(r["count"]))
    return f"<{threshold}" if str(r["reason"]).startswith("primary") else "suppressed"


def any_suppressed(plan: pd.DataFrame, cells: Iterable[str]) -> bool:
    """Whether any of ``cells`` is hidden: a statistic derived from them must be hidden too.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({"cell": ["a", "b"], "count": [3, 40], "suppressed": [True, False],
    ...                      "reason": ["primary: fewer than 5", ""]})
    >>> any_suppressed(plan, ["a", "b"]), any_suppressed(plan, ["b"])
    (True, False)
    """
    want = set(cells)
    unknown = sorted(want - set(plan["cell"]))
    if unknown:
        raise KeyError(f"no counts named {unknown} in the disclosure plan")
    return bool(plan.loc[plan["cell"].isin(want), "suppressed"].any())


def outcome_cells(
    outcomes: pd.DataFrame,
    group: pd.Series | None = None,
    pairs: Iterable[tuple[str, str]] = (),
    categories: bool = True,
) -> pd.DataFrame:
    """Membership table of every count a run shows about an outcomes table.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        The engine's outcomes table (one row per client x definition) with columns ``id``,
        ``definition``, ``status`` (met / not_met / not_evaluable) and, optionally, ``category``.
    group : pandas.Series, optional
        Group (e.g. arm) per client, indexed by client id; counts are then also made per level.
    pairs : iterable of (str, str)
        Definition pairs whose 2 x 2 agreement tables are shown (cells over the clients evaluable
        under both).
    categories : bool
        Add one count per non-empty ``category`` value per definition (e.g. the Jacobson-Truax
        categories).

    Returns
    -------
    pandas.DataFrame
        Indexed by client id, one boolean column per count, named ``"N"``, ``"N | <level>"``,
        ``"<definition>: <status>"``, ``"<definition>: evaluable"`` (each also ``" | <level>"``),
        ``"<a> x <b>: <status a>/<status b>"`` for the 2 x 2 cells and
        ``"<definition>: category <c>"``.

    Raises
    ------
    ValueError
        If a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"id": [1, 2, 1, 2], "definition": ["a", "a", "b", "b"],
    ...                     "status": ["met", "not_met", "met", "not_evaluable"]})
    >>> list(outcome_cells(out).columns)[:4]
    ['N', 'a: met', 'a: not_met', 'a: not_evaluable']
    """
    need = {"id", "definition", "status"} - set(outcomes.columns)
    if need:
        raise ValueError(f"outcomes table lacks column(s) {sorted(need)}")
    status = outcomes.pivot(index="id", columns="definition", values="status")
    ids = status.index
    cols: dict[str, np.ndarray] = {"N": np.ones(len(ids), dtype=bool)}
    levels: list[tuple[str, np.ndarray]] = [("", np.ones(len(ids), dtype=bool))]
    if group is not None:
        g = group.reindex(ids)
        for level in pd.unique(g.dropna()):
            mask = (g == level).to_numpy()
            cols[f"N | {level}"] = mask
            levels.append((f" | {level}", mask))
    for d in status.columns:
        s = status[d]
        for suffix, mask in levels:
            for st in ("met", "not_met", "not_evaluable"):
                cols[f"{d}: {st}{suffix}"] = (s == st).to_numpy() & mask
            cols[f"{d}: evaluable{suffix}"] = s.isin(["met", "not_met"]).to_numpy() & mask
    for a, b in pairs:
        sa, sb = status[a], status[b]
        for x in ("met", "not_met"):
            for y in ("met", "not_met"):
                cols[f"{a} x {b}: {x}/{y}"] = ((sa == x) & (sb == y)).to_numpy()
    if categories and "category" in outcomes.columns:
        cat = outcomes.dropna(subset=["category"])
        for (d, c), sub in cat.groupby(["definition", "category"], observed=True, sort=True):
            cols[f"{d}: category {c}"] = ids.isin(sub["id"])
    return pd.DataFrame(cols, index=ids)


def headline_cells(membership: pd.DataFrame) -> list[str]:
    """The counts a reader most needs (cohort size, per-group size, each definition's overall
    met / not met / evaluable / not evaluable): pass them as ``protect`` to
    :func:`suppression_plan` so complementary suppression hides detail cells first.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"N": [True], "a: met": [True], "a: met | X": [True],
    ...                   "a x b: met/met": [True]})
    >>> headline_cells(m)
    ['N', 'a: met']
    """
    return [
        c
        for c in membership.columns
        if c == "N"
        or c.startswith("N | ")
        or (" | " not in c and " x " not in c and ": category " not in c)
    ]
