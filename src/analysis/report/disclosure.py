"""Statistical disclosure control for the counts a run shows.

Two methods, chosen per run (parameter ``disclosure_method``): ``suppression`` (default), primary
and complementary suppression checked by a linear audit across every table of the run; and
``rounding``, NHS Digital's rule of 2018 (section "Rounding" below).

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

Rounding
--------
NHS Digital (2018) *Disclosure control methodology for Hospital Episode Statistics (HES) and
Emergency Care Data Set (ECDS)* (digital.nhs.uk, "change to disclosure control methodology for
HES and ECDS from September 2018") replaced suppression by rounding because secondary
suppression "takes considerable time, has a risk of error, and can produce inconsistent
outputs"; NHS Digital applies the same rules to the Sexual and Reproductive Health Activity
Dataset from 2019-20 ("Changes to the SRHAD disclosure control methodology for 2019-20"). Below
national level (every report of this project is):

1. a count of 0 is shown as 0;
2. a count from 1 to 7 is replaced by "*" (here ``"1-7"``, :data:`ROUNDED_SMALL`, so that a reader
   sees what it stands for; the Methods row says so);
3. every other count is rounded to the nearest 5 (:func:`rounded_count`: 8 -> 10, 97 -> 95);
4. totals are computed from the unrounded values and then rounded, so rows need not add up
   (here every count, total or part, is rounded on its own);
5. percentages are calculated from the rounded numerator and denominator, so they "will differ
   from the percentage that could be calculated using unrounded numbers, by quite a large
   degree for smaller denominators"; the precision shown depends on the rounded denominator
   (one decimal place needs a rounded denominator of at least 4,000 to be within 0.1 of the
   unrounded percentage; here whole percentages below 4,000, one decimal from it);
6. simple statistics (mean, median, mode) over 1 to 7 values are not calculated ("*"); over 8
   or more they are shown; complex calculations (standardised rates, confidence intervals,
   regression models) need no disclosure control.

How this project applies it (:mod:`analysis.report.disclosure_tables`): a plan from
:func:`rounding_plan` marks the 1-7 counts (``suppressed``) and holds each count's display
(``shown``); every ``mask_*`` function rounds a count by its own value, so one count reads the
same everywhere without an audit. The number of clients is rounded too (run.json, the index,
the data description, the reports' sentences). Every other number a rounded run shows is a
statistic of the rounded counts it shows, or is not shown:

- computed from the rounded counts: percentages and their 95 % Wilson intervals (prevalence,
  multiverse rates, per-session shares; whole percentages below a rounded denominator of
  4,000); percent agreement, PABAK, Cohen's kappa with its interval, McNemar's p and the two
  prevalences of a pair from its four rounded 2 x 2 cells (``rounded_pairs``; the heat maps
  draw the same values); risk differences and odds ratios between arms from the rounded arm
  counts (CSV and HTML alike). None is shown where a count it rests on (or its complement) is
  1-7;
- not shown, because at full precision they give exact counts back: Kaplan-Meier and
  cumulative-incidence curves and their step tables (a step is events over the exact number at
  risk), the Kaplan-Meier share met by the end (its denominator, factorised, is the evaluable
  count), rates pooled over multiple imputations (rate x imputations x N is whole; with nothing
  missing it equals the complete-case rate) and means of a group whose size is rounded (mean x
  size is whole for one size only);
- model estimates (median times, hazard ratios, log-rank and regression tests, correlations)
  are computed from the unrounded data (rule 6: complex calculations) and not shown where a
  count they rest on is 1-7; the CSVs hold them, like every non-count, to 3 significant digits
  (:func:`analysis.report.tables.coarse_statistics`), never at full precision.

Figures on real data: the Jacobson plot's hexagons are drawn from 8 clients and coloured by bins
of clients (8-10, 11-15, ...), never an exact count. A difference of two rounded counts brackets
a 1-7 count within an interval of width 8 or more, never one value
(tests/test_disclosure_run.py plays that interval attack on a whole run, and the attacks
through full-precision statistics: KM fractions, 2 x 2 tables behind kappa and McNemar's p, N
behind a pooled rate).

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
  Emergency Care Data Set (ECDS)* (digital.nhs.uk, "change to disclosure control methodology for
  HES and ECDS from September 2018"): the earlier rule replaced values 1-5 by "*" and applied
  secondary suppression, "checking that other values within the data cannot be used to
  recalculate the original small numbers"; NHS England (formerly NHS Digital) applies the same
  rules to its other secondary-care datasets (e.g. SRHAD from 2019-20).
- Office for National Statistics (2006) *Disclosure Control of Health Statistics* (guidance of the
  National Statistician for health statistics published for England) and ONS *Policy on
  protecting confidentiality in tables of birth and death statistics* (ons.gov.uk, disclosure
  control methodology): small cells and the cells from which they can be derived are protected in
  tables, charts and individual figures alike; ONS research-output checking commonly uses a
  threshold of 10.

Run-wide use. The first notebook of a run (01) builds the plan over every count it and the run's
other reports show about the outcomes table (:func:`analysis.run.workflow.run_disclosure`) and
writes it beside the reports (:data:`PLAN_FILE`, hidden values blanked); each later notebook reads
it and adds its own counts (:func:`extend_plan`: earlier decisions fixed, the new counts chosen so
that nothing of the run becomes recoverable) and writes it back, the counts' client membership
kept in the run's temporary data cache, never beside the reports. So a count is shown or hidden
identically in every report and CSV of the run (:mod:`analysis.report.disclosure_tables` applies
the plan to a table). A notebook run on its own recomputes the outcome part from the same inputs.
Notebook 04 adds its landmark counts; notebook 05 adds every specification's evaluable and met
counts, one count per distinct client set (a specification counting notebook 01's clients shows
notebook 01's count; :func:`analysis.run.workflow.multiverse_disclosure`); notebook 03's survival
curves on real data leave out a definition whose counts are hidden and are shown only at times by
which at least the threshold of clients have met the definition since the time shown before, with
none or at least the threshold leaving in between
(:func:`analysis.report.disclosure_tables.mask_curves`); notebook 02 adds the numerators of its
family profiles' percentages (a percentage of a group is a count of clients).

Differencing. Two shown counts over nested client sets (S within T: a sub-population within
everyone, complete cases within the clients evaluable under imputation) give T - S, a count no
table shows. Every plan of a run therefore also holds, as unshown counts, the differences of
nested counts from 1 to ``threshold - 1`` (:func:`nested_differences`); the audit protects them
as it protects any small count (Hundepool et al. 2012, ch. 4-5, disclosure by differencing).

How much is hidden. The audit is over the membership patterns present in the data, so it also
counts relations that hold by coincidence of these data as known to a reader; with few patterns
(100 clients of BtheB fall into about 20) most counts end up linked to a small one, and many are
hidden. A linked-tables audit over the tables' own structure (Hundepool et al. 2012, 4.3-4.4;
tau-ARGUS) would hide fewer and is the next step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

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
    "method_cells",
    "run_plan",
    "PLAN_FILE",
    "write_plan",
    "read_plan",
    "no_plan",
    "membership_from_ids",
    "extend_plan",
    "UNSHOWN",
    "unshown_cells",
    "nested_differences",
    "METHODS",
    "ROUNDED_SMALL",
    "rounded_count",
    "rounded_in_text",
    "rounding_plan",
    "plan_method",
]

#: The run's plan, written by the first notebook beside the reports and read by the others.
PLAN_FILE = "disclosure_plan.csv"

#: Smallest count shown by default (counts 1-4 appear as "<5").
SMALL_COUNT = 5

_TOL = 1e-8

#: Reason of a count no report shows (audited as hidden, needing no protection).
UNSHOWN = "not shown in any report"

#: The disclosure methods a run can choose (run/notebook parameter ``disclosure_method``).
METHODS = ("suppression", "rounding")

#: How the rounding method shows a count from 1 to 7 (NHS Digital 2018 shows "*"; spelled out
#: here so that a reader sees the range, not a footnote mark).
ROUNDED_SMALL = "1-7"

# the rounding method: counts below this are shown as ROUNDED_SMALL, the others to this base
_ROUND_BELOW = 8
_ROUND_BASE = 5

# shown counts tried per step of complementary suppression (the least costly few, as before the
# one-SVD-per-step rewrite: keeping the candidate set keeps every decision)
_TRIALS = 8

# a hidden count is recoverable when its residual off the shown span is below this (largest
# absolute value; 0/1 patterns)
_RESID = 1e-6
# a shown column is redundant (some null vector of the shown columns uses it) when its squared
# row norm in the null space exceeds this
_NULL = 1e-9


def _atoms(membership: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Return the unique membership patterns (atoms x cells, float) and their sizes."""
    m = membership.to_numpy(dtype=bool)
    if m.shape[0] == 0:
        return np.zeros((0, m.shape[1])), np.zeros(0)
    patterns, counts = np.unique(m, axis=0, return_counts=True)
    return patterns.astype(float), counts.astype(float)


def _svd(shown: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Thin SVD of the shown columns (atoms x k) and its numerical rank (1e-10 of the largest)."""
    u, sv, vh = np.linalg.svd(shown, full_matrices=False)
    rank = int((sv > sv.max() * 1e-10).sum()) if sv.size and sv.max() > 0 else 0
    return u, sv, vh, rank


def _exposed(shown: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each target column (atoms x m), whether it lies in the span of ``shown`` (atoms x k).

    One SVD of the shown columns, then every target's residual at once.
    """
    if targets.shape[1] == 0:
        return np.zeros(0, dtype=bool)
    zero = ~targets.any(axis=0)
    if shown.shape[1] == 0:
        return zero
    u, _, _, rank = _svd(shown)
    q = u[:, :rank]
    resid = targets - q @ (q.T @ targets)
    return (np.abs(resid).max(axis=0) < _RESID) | zero


def recoverable(membership: pd.DataFrame, suppressed: Iterable[str]) -> list[str]:
    """List the hidden counts that can be recomputed exactly from the shown ones.

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
    idx = [j for j, c in enumerate(membership.columns) if c in hidden]
    flags = _exposed(p[:, shown], p[:, idx])
    return [membership.columns[j] for j, f in zip(idx, flags, strict=True) if f]


def suppression_plan(
    membership: pd.DataFrame,
    threshold: int = SMALL_COUNT,
    protect: Iterable[str] = (),
    fixed: Mapping[str, bool] | None = None,
    unshown: Iterable[str] = (),
    bounds: bool = True,
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
        Counts to keep shown when another choice exists (e.g. a definition's evaluable count). If
        hiding one of them is the only way to protect a small count, it is hidden and the reason
        says so. The cohort size (a column named ``"N"``) is public, printed in every report's
        data line, and is never hidden when it is at least ``threshold``: other counts are
        hidden to protect a small count it would reveal.
    fixed : mapping of str to bool, optional
        Counts already decided by an earlier report of the run (cell -> hidden): they keep their
        decision (a hidden one counts as hidden, a shown one is never hidden now), and only the
        other counts are chosen (:func:`extend_plan`).
    unshown : iterable of str
        Counts no report shows but that matter to the audit (e.g. not met = evaluable - met,
        the group sizes): one from 1 to ``threshold - 1`` is protected like any small count;
        a larger one is treated as hidden without needing protection, so it never forces
        other counts to be hidden. Its row reads ``suppressed`` False, reason "not shown".
    bounds : bool
        Also protect against what the bounds of a hidden count give with a linear relation of
        two hidden counts (step 4 of the Notes). False: the linear audit alone (steps 1-3).

    Returns
    -------
    pandas.DataFrame
        One row per count: ``cell`` (column name), ``count`` (clients), ``suppressed`` (bool),
        ``reason`` ("" when shown; "primary: fewer than <threshold>"; "complementary: would
        reveal <cell>"; the earlier reason for a fixed cell).

    Raises
    ------
    ValueError
        If a column is not boolean, ``threshold`` < 1, or the fixed decisions alone already
        reveal a hidden count and no free count can prevent it.

    Notes
    -----
    Secondary suppression by a greedy choice with a clean-up pass (Hundepool et al. 2012,
    sections 4.2-4.3: hide the cells of least information loss that protect every primary cell;
    check by audit).

    1. Hide every count from 1 to ``threshold - 1`` (primary).
    2. While a hidden count is recoverable (:func:`recoverable`, the linear audit), consider the
       shown counts that enter a linear expression of a recoverable one. For each, count how
       many recoverable counts hiding it alone would protect; hide the one that protects the
       most, then the least protected tier (detail before headline counts, cohort and group sizes
       last), then the smallest count (least information lost). When no single count protects
       any, hide the smallest count of the expression.
    3. Clean-up: every complementary count, largest first, is shown again if the audit still
       recovers nothing without it.

    4. Bounds (``bounds=True``). A reader knows more than the shown numbers: a count shown as
       "<5" lies between 1 and ``threshold - 1`` and one shown as "suppressed" is at least
       ``threshold``. When the sum or the difference of two hidden counts, one of them small, is
       a linear combination of the shown counts, those bounds can leave a single value: in
       BtheB, two pair tables over the same clients gave x - y = 3 with both "<5", so x = 4 and
       y = 1 (a reviewer's attack). While such a pair pins a value, the cheapest shown count of
       its expression whose hiding breaks the relation is hidden too. Where only counts an
       earlier report of the run showed pin it, nothing hidden now can protect it: its reason
       says so. Relations of three or more hidden counts are not searched.

    The result passes the linear audit by construction (tested). Greedy choices are not
    optimal (optimal secondary suppression is NP-hard; Hundepool et al. 2012, 4.3), but step 3
    removes every complementary count that is not needed given the others.

    Computation (the same decisions as one audit per trial, tested against that algorithm in
    ``tests/test_disclosure_speed.py``; about 75 times faster on 2,000 clients x 600 counts,
    ``benchmarks/bench_disclosure.py``). The atom vectors are taken in an orthonormal basis of
    their span (its dimension, the rank of the patterns, is often far below the number of
    atoms). Step 2 takes one SVD of the shown columns S per step. It gives the recoverable
    counts T, the candidates (the minimum-norm expression of the first three), and every trial
    at once: hiding shown column i protects t iff t is not in span(S without i). If a null
    vector of S uses i, the span does not change (nothing is protected, and i would be
    recoverable). Otherwise t's coefficient c_i = pinv(S)[i] @ t is the same in every expression
    of t, and t's residual off the smaller span is c_i r_i, where r_i = d / |d|^2 is the part of
    column i off the other columns and d = pinv(S)[i]. So t is protected iff
    max |c_i r_i| >= 1e-6, as in the audit. Step 3 keeps an orthonormal basis of the shown span
    and the residuals of the hidden counts off it. Showing j adds the direction of r_j = s_j
    minus its projection on the span (nothing if r_j = 0). A hidden count becomes recoverable
    iff its residual lies along that direction.

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
    from threadpoolctl import threadpool_limits

    # many small decompositions: one BLAS thread is some 30 times faster than several
    # competing for the cores
    with threadpool_limits(1):
        return _suppression_plan(membership, threshold, protect, fixed, unshown, bounds)


def _suppression_plan(
    membership, threshold, protect, fixed, unshown=(), bounds=False
) -> pd.DataFrame:
    """Carry out :func:`suppression_plan` (arguments checked)."""
    names = list(membership.columns)
    fixed = dict(fixed or {})
    unshown_set = set(unshown)
    patterns, _ = _atoms(membership)
    counts = membership.sum(axis=0).to_numpy(dtype=float)
    # the cohort size is public: every report's data line, the index and run.json print it, so
    # it is never chosen for complementary suppression (hiding it would protect nothing)
    if "N" in names and "N" not in fixed and counts[names.index("N")] >= threshold:
        fixed["N"] = False
    is_fixed = np.array([n in fixed for n in names])
    primary = (counts >= 1) & (counts < threshold) & ~is_fixed
    hidden = primary.copy()
    reason = np.where(primary, f"primary: fewer than {threshold}", "").astype(object)
    for j, n in enumerate(names):
        if n in fixed:
            hidden[j] = bool(fixed[n])
            reason[j] = "fixed by an earlier report" if fixed[n] else ""
    # counts no report shows: hidden in the audit; only a small one needs protection
    exempt = np.array([n in unshown_set and n not in fixed for n in names]) & ~primary
    hidden |= exempt
    reason[exempt] = UNSHOWN
    protected_set = set(protect)
    protected = np.array([n in protected_set for n in names])
    sizes = np.array([n == "N" or n.startswith("N | ") for n in names])  # cohort, group sizes
    tier = np.where(sizes, 2, np.where(protected, 1, 0))

    # counts that counts already shown by an earlier report determine: hiding them now protects
    # nothing (a small one is hidden all the same, and the reason says it was already revealed)
    fixed_shown = np.flatnonzero(is_fixed & ~hidden)
    lost = np.zeros(len(names), dtype=bool)
    if fixed_shown.size:
        others = np.flatnonzero(~(is_fixed & ~hidden) & (counts > 0))
        if others.size:
            lost[others] = _exposed(patterns[:, fixed_shown], patterns[:, others])
    for j in np.flatnonzero(lost & primary):
        reason[j] += " (also the difference of counts an earlier report showed)"

    targets_of = (counts > 0) & ~lost & ~exempt  # hidden counts that must not be recoverable
    # Every count's atom vector lies in the span of all of them, of dimension (the rank of the
    # patterns) often far below the number of atoms (2,000 clients, 600 counts: rank 185). Work
    # in an orthonormal basis of that span (atoms x rank): inner products, spans and SVDs are
    # those of the atom vectors; only the test "largest |residual| < 1e-6" is in atom
    # coordinates, and the 2-norm brackets it (max <= norm <= max * sqrt(atoms)), so a residual
    # is mapped back to atoms only when its norm falls between the two bounds.
    n_atoms = patterns.shape[0]
    if n_atoms:
        pu, psv, pvh = np.linalg.svd(patterns, full_matrices=False)
        prank = int((psv > psv.max() * 1e-12).sum()) if psv.size and psv.max() > 0 else 0
        atom_basis = pu[:, :prank]
        reduced = psv[:prank, None] * pvh[:prank]  # rank x counts
    else:
        atom_basis, reduced = np.zeros((0, 0)), np.zeros((0, len(names)))

    def revealed(res: np.ndarray) -> np.ndarray:
        """Whether each residual (reduced coordinates, columns) is below 1e-6 in every atom."""
        norm = np.sqrt((res**2).sum(axis=0))
        out = norm < _RESID
        unsure = ~out & (norm < _RESID * np.sqrt(n_atoms))
        if unsure.any():
            out[unsure] = np.abs(atom_basis @ res[:, unsure]).max(axis=0) < _RESID
        return out

    while True:
        idx_shown = np.flatnonzero(~hidden)
        idx_hidden = np.flatnonzero(hidden & targets_of)
        if not idx_hidden.size or not idx_shown.size:
            break
        shown = reduced[:, idx_shown]
        # one SVD of the shown columns per step: which hidden counts they reveal, the
        # coefficients of the revealed ones and every trial below
        u, sv, vh, rank = _svd(shown)
        q = u[:, :rank]
        targets = reduced[:, idx_hidden]
        bare = idx_hidden[revealed(targets - q @ (q.T @ targets))]
        if not bare.size:
            break
        free = np.flatnonzero(~hidden & ~is_fixed & ~lost & (counts > 0))
        if not free.size:
            raise ValueError(
                f"counts {[names[j] for j in bare]} are revealed by counts an earlier report "
                "already showed, and no other count can be hidden to protect them"
            )
        # the shown counts in the minimum-norm expression of the first few revealed counts
        # (numpy.linalg.lstsq's cut-off of small singular values, for atoms x shown counts)
        cut = int((sv > sv.max() * np.finfo(float).eps * max(n_atoms, idx_shown.size)).sum())
        first = reduced[:, bare[:3]]
        coef = vh[:cut].T @ ((u[:, :cut].T @ first) / sv[:cut, None])
        involved = {int(i) for i in idx_shown[(np.abs(coef) > _TOL).any(axis=1)]}
        cand = [i for i in free if i in involved] or list(free)
        # the least costly few (tier, then size)
        cand = sorted(cand, key=lambda i: (tier[i], counts[i], i))[:_TRIALS]
        # Hiding shown column i (S = shown, s_i its column) protects revealed count t iff t is
        # not in span(S \ s_i). If a null vector of S uses i (i redundant), the span does not
        # change: nothing is protected and i itself is revealed once hidden. Otherwise every
        # expression of t has the same coefficient c_i = pinv(S)[i] @ t, and t - (its
        # projection on span(S \ s_i)) = c_i r_i, with r_i = d_i / |d_i|^2 the part of s_i off
        # the other columns and d_i = pinv(S)[i] (row i of V diag(1/sv) U^T).
        pos = np.searchsorted(idx_shown, cand)
        vr = vh[:rank, pos]  # rank x candidates
        null_sq = 1.0 - (vr**2).sum(axis=0)  # squared row norms of the null space of S
        d = q @ (vr / sv[:rank, None])  # reduced coordinates x candidates
        d2 = (d**2).sum(axis=0)
        c = d.T @ reduced[:, bare]  # candidates x revealed
        r_max = np.abs(atom_basis @ d).max(axis=0) / d2 if n_atoms else np.zeros(len(cand))
        best, best_key = None, None
        for n, i in enumerate(cand):
            if null_sq[n] > _NULL:
                protects = -1  # protects nothing, and i is revealed
            else:  # r_max: the largest |entry| of r_i in atom coordinates
                protects = int((np.abs(c[n]) * r_max[n] >= _RESID).sum()) - int(r_max[n] < _RESID)
            key = (-protects, tier[i], counts[i], i)
            if best_key is None or key < best_key:
                best, best_key = i, key
        hidden[best] = True
        reason[best] = f"complementary: would reveal {names[bare[0]]}"

    # clean-up: show again every complementary count the audit does not need. Keep an
    # orthonormal basis of the shown span and the residuals of the hidden counts off it; showing
    # j adds the direction of r_j (the part of its column off the span), and reveals a hidden
    # count iff that count's residual lies along r_j.
    comp = [j for j in np.flatnonzero(hidden & ~primary & ~is_fixed & ~exempt)]
    if comp:
        idx_shown = np.flatnonzero(~hidden)
        if idx_shown.size:
            u, _, _, rank = _svd(reduced[:, idx_shown])
            basis = u[:, :rank]
        else:
            basis = np.zeros((reduced.shape[0], 0))
        held = list(np.flatnonzero(hidden & targets_of))
        res = reduced[:, held]
        res = res - basis @ (basis.T @ res)
        for j in sorted(comp, key=lambda j: (-tier[j], -counts[j], j)):
            col = held.index(j)
            keep = np.arange(len(held)) != col
            s = reduced[:, j]
            r = s - basis @ (basis.T @ s)
            norm = np.linalg.norm(r)
            if norm < _TOL:
                new_res = res[:, keep]  # j is already a combination of the shown counts
                direction = None
            else:
                direction = r / norm
                direction -= basis @ (basis.T @ direction)  # orthogonalise once more
                direction /= np.linalg.norm(direction)
                new_res = res[:, keep] - np.outer(direction, direction @ res[:, keep])
            if new_res.shape[1] and revealed(new_res).any():
                continue  # showing j reveals a hidden count: it stays hidden
            hidden[j] = False
            reason[j] = ""
            held.pop(col)
            res = new_res
            if direction is not None:
                basis = np.column_stack([basis, direction])
    if bounds:
        _protect_bounded_pairs(
            reduced,
            revealed,
            hidden,
            reason,
            primary,
            targets_of,
            is_fixed,
            lost,
            counts,
            tier,
            names,
            threshold,
        )
    return pd.DataFrame(
        {
            "cell": names,
            "count": counts.astype(int),
            "suppressed": hidden & ~exempt,
            "reason": reason.astype(str),
        }
    )


def _pinned(a: float, b: float, sign: int, small_b: bool, threshold: int) -> bool:
    """Whether ``x_a + sign * x_b = a + sign * b`` leaves one value of a small ``x_a``.

    ``x_a`` lies in 1 .. threshold - 1 (shown "<threshold"); ``x_b`` too when ``small_b``, else
    it is at least ``threshold`` (shown "suppressed").
    """
    k = a + sign * b
    hi_b = threshold - 1 if small_b else np.inf
    lo_b = 1 if small_b else threshold
    values = [x for x in range(1, threshold) if lo_b <= sign * (k - x) <= hi_b]
    return len(values) == 1


def _protect_bounded_pairs(
    reduced,
    revealed,
    hidden,
    reason,
    primary,
    targets_of,
    is_fixed,
    lost,
    counts,
    tier,
    names,
    threshold,
) -> None:
    """Step 4 of :func:`suppression_plan`, in place on ``hidden`` and ``reason``."""
    settled: set[tuple[int, int, int]] = set()  # pairs only earlier reports' counts pin
    for _ in range(len(names)):
        idx_shown = np.flatnonzero(~hidden)
        held = np.flatnonzero(hidden & targets_of)
        small = [k for k, j in enumerate(held) if primary[j]]
        if not idx_shown.size or not small or len(held) < 2:
            return
        u, sv, vh, rank = _svd(reduced[:, idx_shown])
        q = u[:, :rank]
        res = reduced[:, held] - q @ (q.T @ reduced[:, held])
        found = None
        for ka in small:
            for kb in range(len(held)):
                if kb == ka:
                    continue
                for sign in (1, -1):
                    if (held[ka], held[kb], sign) in settled:
                        continue
                    if not revealed((res[:, ka] + sign * res[:, kb])[:, None])[0]:
                        continue
                    a, b = held[ka], held[kb]
                    if _pinned(counts[a], counts[b], sign, bool(primary[b]), threshold):
                        found = (a, b, sign)
                        break
                if found:
                    break
            if found:
                break
        if found is None:
            return
        a, b, sign = found
        vec = reduced[:, a] + sign * reduced[:, b]
        coef, *_ = np.linalg.lstsq(reduced[:, idx_shown], vec, rcond=None)
        free = ~hidden & ~is_fixed & ~lost & (counts > 0)
        cand = [int(i) for i in idx_shown[np.abs(coef) > _TOL] if free[i]]
        cand = sorted(cand, key=lambda i: (tier[i], counts[i], i))
        chosen = None
        for i in cand:
            rest = np.setdiff1d(idx_shown, [i])
            uu, _, _, rr = _svd(reduced[:, rest])
            qq = uu[:, :rr]
            if not revealed((vec - qq @ (qq.T @ vec))[:, None])[0]:
                chosen = i
                break
        if chosen is None:
            # only counts an earlier report of the run showed pin the pair: hiding a count now
            # protects nothing (as for a count those reports already determine, step 1)
            settled.add((a, b, sign))
            note = " (also pinned by its bounds and counts an earlier report showed)"
            if note not in reason[a]:
                reason[a] += note
            continue
        hidden[chosen] = True
        reason[chosen] = f"complementary: with {names[b]}, its bounds would reveal {names[a]}"


def rounded_count(value):
    """A count as the rounding method shows it: 0 as 0, 1-7 as ``"1-7"``, others to the nearest 5.

    NHS Digital's rule for counts below national level (2018, module docstring): "*" for 1 to 7
    (here :data:`ROUNDED_SMALL`, ``"1-7"``), 0 kept, every other count rounded to the nearest
    5 (8 -> 10, 12 -> 10, 13 -> 15, 97 -> 95). An integer count is never halfway between two
    multiples of 5; a fractional count (a mean over imputations) is rounded half up, and one
    strictly between 0 and 8 reads ``"1-7"``.

    Parameters
    ----------
    value : int, float or None
        A count (clients). NaN, None and text are returned unchanged.

    Returns
    -------
    int or str
        The rounded count (int) or ``"1-7"``.

    Raises
    ------
    ValueError
        If the count is negative.

    Examples
    --------
    >>> [rounded_count(n) for n in (0, 1, 7, 8, 12, 13, 97, 100)]
    [0, '1-7', '1-7', 10, 10, 15, 95, 100]
    """
    v = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(v) or isinstance(value, bool):
        return value
    if v < 0:
        raise ValueError(f"a count cannot be negative, got {value!r}")
    if v == 0:
        return 0
    if v < _ROUND_BELOW:
        return ROUNDED_SMALL
    return int(np.floor(v / _ROUND_BASE + 0.5) * _ROUND_BASE)


def rounding_plan(membership: pd.DataFrame) -> pd.DataFrame:
    """The run's plan under the rounding method: every count rounded, 1-7 shown as "1-7".

    No complementary suppression: a count's display depends on its own value only (NHS Digital
    2018 replaced secondary suppression by this rule), so every report and CSV of the run shows
    a count identically without an audit. A difference of rounded counts brackets a hidden 1-7
    count within an interval of width 8 or more, never one value (tests/test_disclosure_run.py
    plays that interval attack on a whole run).

    Parameters
    ----------
    membership : pandas.DataFrame
        One row per client, one boolean column per count (as :func:`suppression_plan`).

    Returns
    -------
    pandas.DataFrame
        ``cell``, ``count`` (exact, kept in memory only: :func:`write_plan` writes the shown
        value), ``suppressed`` (True for 1-7), ``reason`` ("primary: 1-7 (rounding)" or ""),
        ``shown`` (:func:`rounded_count` as text) and ``method`` ("rounding").

    Raises
    ------
    ValueError
        If a column is not boolean.

    Examples
    --------
    >>> import pandas as pd
    >>> m = membership_from_ids({"N": range(100), "evaluable": range(97),
    ...                          "not evaluable": range(97, 100), "met": range(28)})
    >>> rounding_plan(m)[["cell", "shown"]].values.tolist()
    [['N', '100'], ['evaluable', '95'], ['not evaluable', '1-7'], ['met', '30']]
    """
    bad = [c for c in membership.columns if not pd.api.types.is_bool_dtype(membership[c])]
    if bad:
        raise ValueError(f"membership columns must be boolean; not: {bad}")
    counts = membership.sum(axis=0).astype(int).to_numpy()
    shown = [str(rounded_count(int(n))) for n in counts]
    small = np.array([s == ROUNDED_SMALL for s in shown], dtype=bool)
    return pd.DataFrame(
        {
            "cell": list(membership.columns),
            "count": counts,
            "suppressed": small,
            "reason": np.where(small, "primary: 1-7 (rounding)", "").astype(str),
            "shown": shown,
            "method": "rounding",
        }
    )


def rounded_in_text(text: str | None, count) -> str | None:
    """``text`` with the number ``count`` written as the rounding method shows it.

    For a sentence that states a run's number of clients (a dataset's description): under the
    rounding method N is shown rounded like every other count (:func:`rounded_count`), so that
    no exact total anchors a subtraction of rounded parts. Only the whole number ``count``
    (not part of a longer number or a decimal) is replaced.

    Parameters
    ----------
    text : str or None
        The sentence; None or "" returned unchanged.
    count : int
        The exact count.

    Returns
    -------
    str or None

    Examples
    --------
    >>> rounded_in_text("97 patients, 1997 data, 97.5 % female", 97)
    '95 patients, 1997 data, 97.5 % female'
    """
    if not text or count is None or pd.isna(count):
        return text
    import re

    shown = str(rounded_count(int(count)))
    return re.sub(rf"(?<![\d.,]){int(count)}(?![\d]|[.,]\d)", shown, str(text))


def plan_method(plan: pd.DataFrame | None) -> str:
    """The disclosure method of a plan: ``"rounding"`` or ``"suppression"``.

    A plan from :func:`rounding_plan` (or read back from its file) carries a ``method`` column;
    any other plan is a suppression plan.

    Examples
    --------
    >>> import pandas as pd
    >>> plan_method(rounding_plan(pd.DataFrame({"a": [True] * 9}))), plan_method(no_plan())
    ('rounding', 'suppression')
    """
    if plan is None or "method" not in plan.columns or not len(plan):
        return "suppression"
    return "rounding" if (plan["method"].astype(str) == "rounding").any() else "suppression"


def shown_count(plan: pd.DataFrame, cell: str, threshold: int = SMALL_COUNT) -> str:
    """How a count appears in a report: the number, or ``"<threshold"`` / ``"suppressed"``.

    Under a rounding plan (:func:`rounding_plan`): the plan's ``shown`` value (the count rounded
    to the nearest 5, or ``"1-7"``).

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
    if plan_method(plan) == "rounding":
        return str(r["shown"])
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
        ``"<a> x <b>: <status a>/<status b>"`` for the 2 x 2 cells, ``"<a> x <b>: disagree"``
        (met under one only), ``"<a> x <b>: both evaluable"`` for their total and
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
    # text columns as plain objects: a categorical table (score_definitions(categorical=True))
    # would order definitions and categories by their categories (file order) instead of by
    # name, and the plan's choices follow the order of its cells
    text = [c for c in ("id", "definition", "status", "category") if c in outcomes.columns]
    outcomes = outcomes.astype({c: object for c in text})
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
        cols[f"{a} x {b}: disagree"] = (
            ((sa == "met") & (sb == "not_met")) | ((sa == "not_met") & (sb == "met"))
        ).to_numpy()
        cols[f"{a} x {b}: both evaluable"] = (
            sa.isin(["met", "not_met"]) & sb.isin(["met", "not_met"])
        ).to_numpy()
    if categories and "category" in outcomes.columns:
        cat = outcomes.dropna(subset=["category"])
        for (d, c), sub in cat.groupby(["definition", "category"], observed=True, sort=True):
            cols[f"{d}: category {c}"] = ids.isin(sub["id"])
    return pd.DataFrame(cols, index=ids)


def headline_cells(membership: pd.DataFrame) -> list[str]:
    """List the counts a reader most needs, to keep shown where possible.

    The cohort size, per-group size, each definition's overall met / not met / evaluable / not
    evaluable: pass them as ``protect`` to :func:`suppression_plan` so complementary suppression
    hides detail cells first.

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
        or (
            " | " not in c
            and " x " not in c
            and ": category " not in c
            and ":" in c
            and not c.split(":")[0].startswith(_DETAIL_PREFIXES)
        )
    ]


# counts of the methods comparison, perspectives and later reports: detail, not headline
_DETAIL_PREFIXES = (
    "method ",
    "perspective ",
    "pattern",
    "families ",
    "severity ",
    "km ",
    "cox ",
    "sg",
    "signal",
)


def method_cells(methods: pd.DataFrame) -> pd.DataFrame:
    """Membership of the counts of the reliable-change methods comparison (notebook 01).

    Parameters
    ----------
    methods : pandas.DataFrame
        :func:`analysis.outcomes.engine.compare_methods` output: one row per client x method with
        ``id``, ``method``, ``category`` and ``evaluable``.

    Returns
    -------
    pandas.DataFrame
        Indexed by client id, boolean columns ``"method <m>: category <c>"`` and
        ``"method <m>: evaluable"``.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"id": [1, 2], "method": ["JT", "JT"], "category": ["improved", None],
    ...                   "evaluable": [True, False]})
    >>> list(method_cells(m).columns)
    ['method JT: evaluable', 'method JT: category improved']
    """
    ids = pd.Index(pd.unique(methods["id"]), name="id")
    cols: dict[str, np.ndarray] = {}
    for m, sub in methods.groupby("method", sort=False):
        cols[f"method {m}: evaluable"] = ids.isin(sub.loc[sub["evaluable"].astype(bool), "id"])
        cat = sub.dropna(subset=["category"])
        for c, part in cat.groupby("category", sort=True, observed=True):
            cols[f"method {m}: category {c}"] = ids.isin(part["id"])
    return pd.DataFrame(cols, index=ids)


def run_plan(
    outcomes: pd.DataFrame,
    group: pd.Series | None = None,
    pairs: Iterable[tuple[str, str]] = (),
    extra: pd.DataFrame | None = None,
    threshold: int = SMALL_COUNT,
    suppress: bool = True,
    method: str = "suppression",
) -> pd.DataFrame:
    """Plan disclosure for a whole run: every count its reports and CSVs show, audited together.

    Every notebook of a run shows counts about the same clients (prevalence overall and by group,
    2 x 2 agreement cells, category counts). Computing one plan over all of them, with the
    headline counts protected, makes a count shown or hidden identically everywhere, and no hidden
    count can be worked out from counts shown in any table of the run (the linear audit of
    :func:`recoverable`), nor a small difference of two nested counts (:func:`nested_differences`,
    planned as counts not shown).

    Parameters
    ----------
    outcomes : pandas.DataFrame
        The engine's outcomes table for every definition scored on the run (``id``,
        ``definition``, ``status``, ``category``).
    group : pandas.Series, optional
        Group (e.g. arm) per client, indexed by client id.
    pairs : iterable of (str, str)
        Definition pairs whose 2 x 2 tables any report shows.
    extra : pandas.DataFrame, optional
        Further boolean membership columns indexed by client id (e.g. :func:`method_cells`).
        Clients absent from it are members of none of its counts.
    threshold : int
        Smallest count shown (counts 1 to ``threshold - 1`` are hidden).
    suppress : bool
        False (simulated data, or the user turned suppression off): every count shown.
    method : {"suppression", "rounding"}
        Primary and complementary suppression (:func:`suppression_plan`), or NHS Digital's
        rounding (:func:`rounding_plan`).

    Returns
    -------
    pandas.DataFrame
        As :func:`suppression_plan`: ``cell``, ``count``, ``suppressed``, ``reason``; under
        suppression with a row per small nested difference (``"<T> minus <S>"``, not shown);
        under rounding also ``shown`` and ``method``.

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`METHODS`.

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"id": range(12), "definition": "a",
    ...                     "status": ["met"] * 3 + ["not_met"] * 9})
    >>> plan = run_plan(out)
    >>> plan.loc[plan["suppressed"], "cell"].tolist()
    ['a: met', 'a: not_met']
    """
    if method not in METHODS:
        raise ValueError(f"disclosure method must be one of {METHODS}, got {method!r}")
    m = outcome_cells(outcomes, group=group, pairs=pairs)
    if extra is not None and not extra.empty:
        add = extra.reindex(m.index.union(extra.index)).fillna(False).astype(bool)
        m = m.reindex(add.index).fillna(False).astype(bool).join(add, rsuffix=" (extra)")
    if not suppress:
        counts = m.sum(axis=0).astype(int)
        return pd.DataFrame(
            {"cell": m.columns, "count": counts.to_numpy(), "suppressed": False, "reason": ""}
        )
    if method == "rounding":
        return rounding_plan(m)
    # nested counts whose difference is small: protected like small counts (differencing)
    diff = nested_differences(m, threshold)
    if diff.shape[1]:
        m = m.join(diff)
    return suppression_plan(
        m, threshold=threshold, protect=headline_cells(m), unshown=list(diff.columns)
    )


def membership_from_ids(sets: Mapping[str, Iterable], ids: Iterable | None = None) -> pd.DataFrame:
    """Membership table of counts given as sets of client ids.

    Parameters
    ----------
    sets : mapping of str to iterable
        Count name -> the ids of the clients it counts.
    ids : iterable, optional
        Every client id (rows); default the union of ``sets``.

    Returns
    -------
    pandas.DataFrame
        Indexed by client id, one boolean column per count.

    Examples
    --------
    >>> membership_from_ids({"a": [1, 2], "b": [2]}).sum().tolist()
    [2, 1]
    """
    members = {k: set(v) for k, v in sets.items()}
    index = pd.Index(
        list(dict.fromkeys(ids))
        if ids is not None
        else sorted(set().union(*members.values()), key=str),
        name="id",
    )
    return pd.DataFrame({k: index.isin(list(v)) for k, v in members.items()}, index=index)


def extend_plan(
    plan: pd.DataFrame,
    membership: pd.DataFrame,
    threshold: int = SMALL_COUNT,
    protect: Iterable[str] = (),
    unshown: Iterable[str] = (),
) -> pd.DataFrame:
    """Add a later report's counts to the run's plan without changing what was already decided.

    Parameters
    ----------
    plan : pandas.DataFrame
        The run's plan so far (:func:`run_plan` or :func:`read_plan`).
    membership : pandas.DataFrame
        Boolean membership (clients x counts) of the plan's counts (those known) and of the new
        counts of this report. Counts already in ``plan`` keep their decision; the new ones
        are hidden as :func:`suppression_plan` decides with the old ones fixed, so no count of
        the run (old or new) can be recovered from the counts shown anywhere in it.
    threshold : int
        Smallest count shown.
    protect : iterable of str
        New counts to keep shown when another choice exists.
    unshown : iterable of str
        New counts no report shows (:func:`suppression_plan`); the plan's own "not shown"
        counts stay so.

    Returns
    -------
    pandas.DataFrame
        ``plan`` with one row appended per new count (``cell``, ``count``, ``suppressed``,
        ``reason``). A rounding plan (:func:`rounding_plan`) gets the new counts rounded.

    Examples
    --------
    >>> import pandas as pd
    >>> m = membership_from_ids({"all": range(10), "met": range(3), "not met": range(3, 10)})
    >>> plan = suppression_plan(m[["all", "met"]])
    >>> ext = extend_plan(plan, m)
    >>> ext.loc[ext["suppressed"], "cell"].tolist()   # not met = all - met would reveal met
    ['met', 'not met']
    """
    if plan_method(plan) == "rounding":  # each count shown by its own value: nothing to audit
        new = [c for c in membership.columns if c not in set(plan["cell"])]
        if not new:
            return plan
        return pd.concat([plan, rounding_plan(membership[new])], ignore_index=True)
    old = dict(zip(plan["cell"], plan["suppressed"].astype(bool), strict=True))
    was_unshown = set(plan.loc[plan["reason"].astype(str) == UNSHOWN, "cell"])
    new = [c for c in membership.columns if c not in old]
    if not new:
        return plan
    fixed = {c: old[c] for c in membership.columns if c in old and c not in was_unshown}
    decided = suppression_plan(
        membership,
        threshold=threshold,
        protect=protect,
        fixed=fixed,
        unshown=[*was_unshown, *unshown],
    )
    add = decided.loc[decided["cell"].isin(new)]
    return pd.concat([plan, add], ignore_index=True)


def unshown_cells(names: Iterable[str]) -> list[str]:
    """Of the counts :func:`outcome_cells` names, those no report shows.

    Group sizes (``"N | <level>"``) and not met (``"<d>: not_met"``, overall and per level)
    appear in no table: they follow from the ones shown (evaluable - met) and matter only when
    small.

    Examples
    --------
    >>> unshown_cells(["N", "N | A", "a: met", "a: not_met", "a: not_met | A", "a x b: met/met"])
    ['N | A', 'a: not_met', 'a: not_met | A']
    """
    import re

    pat = re.compile(r"^N \| |^[^:]*: not_met( \| .*)?$")
    return [n for n in names if pat.search(n) and " x " not in n.split(":")[0]]


def nested_differences(
    membership: pd.DataFrame,
    threshold: int = SMALL_COUNT,
    cells: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Membership of the small differences between nested counts, to protect in the audit.

    Two counts over nested client sets (S within T: complete cases within the clients evaluable
    under imputation, a sub-population within the whole cohort, met within evaluable) give
    their difference T - S, the number of clients in T but not in S, to anyone who reads both.
    When that difference is from 1 to ``threshold - 1`` it is a small count like any other:
    "disclosure by differencing" (Hundepool et al. 2012, 4.2 and 5.2). Passing these
    differences to :func:`suppression_plan` as ``unshown`` counts makes the audit protect them
    (a small unshown count is protected like a primary one), so it hides S, T or another count
    until T - S cannot be worked out.

    Parameters
    ----------
    membership : pandas.DataFrame
        One row per client, one boolean column per count (as :func:`suppression_plan`).
    threshold : int
        Smallest count shown; differences from 1 to ``threshold - 1`` are returned.
    cells : iterable of str, optional
        The counts to pair (those a report shows); default every column. Differences equal to
        a column of ``membership`` are left out (that count is audited already).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``membership``, one boolean column per distinct small difference, named
        ``"<T> minus <S>"`` after the first nested pair (in column order of S) that gives it;
        no columns when there is none.

    Raises
    ------
    ValueError
        If a name in ``cells`` is not a column, a column is not boolean, or ``threshold`` < 1.

    Notes
    -----
    S is within T when no client of S is outside T. Only pairs whose sizes differ by 1 to
    ``threshold - 1`` are compared (the sizes sorted, a window per S), each comparison over
    the clients packed eight to a byte, so thousands of counts take well under a second.
    A linear audit needs these extra cells: T - S is always a linear combination of the shown
    T and S, but the audit protects only the hidden counts it is given.

    References
    ----------
    Hundepool A., Domingo-Ferrer J., Franconi L., Giessing S., Schulte Nordholt E., Spicer K.
    & de Wolf P.-P. (2012) *Statistical Disclosure Control*. Wiley, ch. 4 (tabular data) and
    ch. 5 (disclosure by differencing of linked and nested tables).
    NHS Digital (2018) *Disclosure control methodology for HES and ECDS*: secondary suppression
    "checking that other values within the data cannot be used to recalculate the original
    small numbers".

    Examples
    --------
    Twenty clients evaluable under multiple imputation (ids 0-19), eighteen of them complete
    cases (0-17), six met (0-5): the two evaluable counts differ by 20 - 18 = 2 clients (18 and
    19); met is nested in both, but 18 - 6 = 12 and 20 - 6 = 14 are not small:

    >>> m = membership_from_ids({"imputed": range(20), "complete cases": range(18),
    ...                          "met": range(6)})
    >>> d = nested_differences(m)
    >>> d.sum().to_dict()
    {'imputed minus complete cases': 2}

    Audited with the difference as an unshown count (hidden as a small count is), one of the two
    evaluable counts is hidden:

    >>> plan = suppression_plan(m.join(d), unshown=d.columns)
    >>> plan.loc[plan["suppressed"], "cell"].tolist()
    ['complete cases', 'imputed minus complete cases']
    """
    if threshold < 1:
        raise ValueError(f"threshold must be >= 1, got {threshold}")
    names = list(membership.columns) if cells is None else list(dict.fromkeys(cells))
    unknown = [c for c in names if c not in membership.columns]
    if unknown:
        raise ValueError(f"cells {unknown} are not columns of the membership table")
    bad = [c for c in membership.columns if not pd.api.types.is_bool_dtype(membership[c])]
    if bad:
        raise ValueError(f"membership columns must be boolean; not: {bad}")
    empty = pd.DataFrame(index=membership.index)
    if threshold < 2 or not names or membership.shape[0] == 0:
        return empty
    every = np.packbits(membership.to_numpy(dtype=bool).T, axis=1)  # counts x bytes
    seen = {row.tobytes() for row in every}
    pos = {c: j for j, c in enumerate(membership.columns)}
    packed = every[[pos[c] for c in names]]
    counts = membership[names].to_numpy(dtype=bool).sum(axis=0)
    order = np.argsort(counts, kind="stable")
    ranked = counts[order]
    n = membership.shape[0]
    found: dict[str, np.ndarray] = {}
    for i, size in enumerate(counts):
        if size == 0:  # T - {} = T: T itself, protected as a count of its own
            continue
        lo = np.searchsorted(ranked, size + 1, side="left")
        hi = np.searchsorted(ranked, size + threshold - 1, side="right")
        if lo >= hi:
            continue
        cand = order[lo:hi]
        inside = ~(packed[i][None, :] & ~packed[cand]).any(axis=1)  # S within T
        for j in cand[inside]:
            diff = packed[j] & ~packed[i]
            key = diff.tobytes()
            if key in seen:
                continue
            seen.add(key)
            found[f"{names[j]} minus {names[i]}"] = np.unpackbits(diff)[:n].astype(bool)
    if not found:
        return empty
    return pd.DataFrame(found, index=membership.index)


def no_plan() -> pd.DataFrame:
    """Return an empty plan (nothing known, nothing hidden).

    Display helpers then apply primary suppression only.

    Examples
    --------
    >>> no_plan().empty
    True
    """
    return pd.DataFrame({"cell": [], "count": [], "suppressed": [], "reason": []})


def write_plan(plan: pd.DataFrame, folder: str | Path, threshold: int = SMALL_COUNT) -> Path:
    """Write the run's plan beside its reports, with hidden counts blanked.

    The file holds, per count, what every report shows (``shown``: the number, "<5" or
    "suppressed"; under rounding the rounded number or "1-7", and a ``method`` column) and why;
    never a hidden value (under rounding never an exact count).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> plan = pd.DataFrame({"cell": ["a", "b"], "count": [3, 40], "suppressed": [True, False],
    ...                      "reason": ["primary: fewer than 5", ""]})
    >>> p = write_plan(plan, tempfile.mkdtemp())
    >>> read_plan(p.parent)["count"].tolist()
    [nan, 40.0]
    """
    if plan_method(plan) == "rounding":  # the shown (rounded) values only, never the exact ones
        out = pd.DataFrame(
            {
                "cell": plan["cell"],
                "shown": plan["shown"].astype(str),
                "suppressed": plan["suppressed"].astype(bool),
                "reason": plan["reason"],
                "method": "rounding",
            }
        )
        path = Path(folder) / PLAN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        out.to_csv(path, index=False)
        return path
    out = pd.DataFrame(
        {
            "cell": plan["cell"],
            "shown": [
                "not shown" if r == UNSHOWN else shown_count(plan, c, threshold)
                for c, r in zip(plan["cell"], plan["reason"].astype(str), strict=True)
            ],
            "suppressed": plan["suppressed"].astype(bool),
            "reason": plan["reason"],
        }
    )
    path = Path(folder) / PLAN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path


def read_plan(folder: str | Path) -> pd.DataFrame | None:
    """Read the run's plan written by :func:`write_plan` (hidden counts NaN); None when absent.

    Examples
    --------
    >>> import tempfile
    >>> read_plan(tempfile.mkdtemp()) is None
    True
    """
    path = Path(folder) / PLAN_FILE
    if not path.exists():
        return None
    t = pd.read_csv(path, dtype={"cell": str, "shown": str, "reason": str}, keep_default_na=False)
    if "method" in t.columns and (t["method"].astype(str) == "rounding").any():
        return pd.DataFrame(  # exact counts are not in the file: NaN (the cache may fill them)
            {
                "cell": t["cell"],
                "count": np.nan,
                "suppressed": t["suppressed"].astype(str).str.lower().eq("true"),
                "reason": t["reason"],
                "shown": t["shown"],
                "method": "rounding",
            }
        )
    return pd.DataFrame(
        {
            "cell": t["cell"],
            "count": pd.to_numeric(t["shown"], errors="coerce"),
            "suppressed": t["suppressed"].astype(str).str.lower().eq("true"),
            "reason": t["reason"],
        }
    )
