"""The rule kinds of outcome definitions, vectorised over clients.

Each rule takes a :class:`Trajectories` context and a validated definition (see
:mod:`analysis.registry.definitions`) and returns a :class:`RuleResult`: per client (client-table
order)
whether the definition is met, whether the client is evaluable and why not, the change figures and
the first time point at which the criterion held. No per-client Python loops: every step is a
groupby or an array operation.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.outcomes.distribution import RCI_METHODS, clinical_significance_prepost
from analysis.outcomes.sudden_gains import rule_sudden_gain
from analysis.registry.instruments import Instrument, is_remitted, resolve_cutoff

__all__ = [
    "MISSING_STRATEGIES",
    "MISSING_STRATEGY_LABELS",
    "MISSING_STRATEGY_TEXT",
    "post_label",
    "NotComputable",
    "Trajectories",
    "RuleResult",
    "RULE_FUNCTIONS",
    "apply_rule",
]


class NotComputable(ValueError):
    """The data cannot support a definition (e.g. too few evaluable clients for an RCI).

    :func:`analysis.outcomes.engine.score_definitions` lists such definitions as skipped, with this
    message, instead of failing the whole table; configuration errors stay plain ValueErrors.
    """


#: Missing-data strategies for the post score, named as the field names them (see
#: :data:`MISSING_STRATEGY_TEXT` for the wording a report's Methods section uses).
MISSING_STRATEGIES = ("last_available", "locf", "bocf", "completers", "dropout_as_failure")

#: How a report names each strategy (tables and parameter lists); the paragraph that says what it
#: does is :data:`MISSING_STRATEGY_TEXT`.
MISSING_STRATEGY_LABELS = {
    "last_available": "last available score",
    "locf": "last observation carried forward (LOCF)",
    "bocf": "baseline observation carried forward (BOCF)",
    "completers": "completers only",
    "dropout_as_failure": "dropout counted as failure",
}

#: The post-score rule ``"last"`` of :func:`analysis.outcomes.engine.score_definitions`, in words.
_POST_LAST = "the last score observed after baseline"


def post_label(post) -> str:
    """The post-score rule (parameter ``post``) as a report names it.

    Parameters
    ----------
    post : str or float
        ``"last"`` (the last observed score after baseline, the engine's default) or a time point
        (a number, or a number written as text, in the data's time unit).

    Returns
    -------
    str

    Examples
    --------
    >>> post_label("last"), post_label("8"), post_label(8.0)
    ('the last score observed after baseline', 'the score at time 8', 'the score at time 8')
    """
    if str(post) == "last":
        return _POST_LAST
    try:
        return f"the score at time {float(post):g}"
    except (TypeError, ValueError):
        return f"the score at time {post}"


#: One paragraph per strategy, for the Methods section of every report (shown by the notebooks).
MISSING_STRATEGY_TEXT = {
    "last_available": (
        "last available score: the post score is the client's last observed score after "
        "baseline (or the score at the fixed post time); a client without one is not evaluable "
        "and leaves the denominator."
    ),
    "locf": (
        "last observation carried forward (LOCF): the post score is the client's last observed "
        "score up to the post time (the last one, or the fixed time point), the baseline "
        "included; a client seen only at baseline keeps the baseline score (change 0), as NHS "
        "Talking Therapies reports do for paired scores."
    ),
    "bocf": (
        "baseline observation carried forward (BOCF): clients who dropped out (end reason "
        "'dropout') and clients without a post score take their baseline score as the post "
        "score (change 0, so no improvement), carried to their last observation (which still "
        "ends their follow-up in time to success), a conservative imputation (National Research "
        "Council (2010) The Prevention and Treatment of Missing Data in Clinical Trials, "
        "National Academies Press, ch. 4)."
    ),
    "completers": (
        "completers only: the clients whose end reason is 'planned' are the only ones "
        "evaluable, under every definition; the post score is their last observed score (or the "
        "one at the fixed post time)."
    ),
    "dropout_as_failure": (
        "dropout counted as failure (non-responder imputation): a client with a baseline score "
        "but no post score counts as not met (a failure) under every definition for which they are "
        "otherwise eligible, instead of leaving the denominator (National Research Council "
        "(2010), ch. 4). Definitions judged on the whole trajectory (alliance threshold, growth, "
        "rupture-repair, flag counts) count a client seen only at baseline as not met."
    ),
}
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass
class RuleResult:
    """Per-client result of one rule (arrays aligned with the client table)."""

    met: np.ndarray
    evaluable: np.ndarray
    reason: np.ndarray
    first_met: np.ndarray
    baseline: np.ndarray | None = None
    post: np.ndarray | None = None
    rci: np.ndarray | None = None
    category: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: time from which the criterion held at every later assessment up to the post time (NaN if
    #: it did not hold at the last one); None when the rule has no assessment-by-assessment
    #: criterion (the engine then uses ``first_met``, or the post time for growth)
    met_time: np.ndarray | None = None


def _frame(pos, time, score, baseline) -> pd.DataFrame:
    """Build the rows frame of :meth:`Trajectories.measure`: ``pos, time, score, baseline``.

    A fresh RangeIndex, on the numpy arrays themselves (no copy: they are fresh selections).
    """
    return pd.DataFrame(
        {"pos": pos, "time": time, "score": score, "baseline": baseline}, copy=False
    )


def _floats(col: pd.Series) -> np.ndarray:
    """A numeric column as a float array without a copy where it already is one (float32 kept)."""
    arr = col.to_numpy()
    if arr.dtype in (np.float32, np.float64):
        return arr
    return col.to_numpy(float)


class Trajectories:
    """Per-measure views of a cohort's scores, computed once and shared by all rules.

    Parameters
    ----------
    scores, clients : pandas.DataFrame
        The cohort's tables (not modified).
    registry : dict
        Instrument registry.
    missing : {"last_available", "locf", "bocf", "completers", "dropout_as_failure"}
        Post-score strategy (:data:`MISSING_STRATEGY_TEXT`). ``last_available``: the last observed
        score after baseline, or the score at the fixed time (a client with none is not
        evaluable). ``locf``: the last observation up to the post time, baseline included.
        ``bocf``: dropouts and clients without a post score take the baseline score.
        ``completers``: as ``last_available``, only for clients whose ``end_reason`` is
        ``planned``. ``dropout_as_failure``: as ``bocf`` for clients without a post score (not
        for dropouts who have one), and :func:`analysis.outcomes.engine.score_definitions` then
        counts
        them as not met (``fail`` below).
    post : "last" or float
        ``"last"`` or a fixed time point (session, week or month) for the post score.
    """

    def __init__(self, scores, clients, registry, missing="last_available", post="last"):
        if missing not in MISSING_STRATEGIES:
            raise ValueError(f"missing must be one of {MISSING_STRATEGIES}, got {missing!r}")
        if missing == "completers" and "end_reason" not in clients.columns:
            raise ValueError(
                "missing='completers' needs an 'end_reason' column in the client table"
            )
        if post != "last":
            try:
                post = float(post)
            except (TypeError, ValueError):
                raise ValueError(f"post must be 'last' or a time point, got {post!r}") from None
        self.scores = scores
        self.clients = clients
        self.registry = registry
        self.missing = missing
        self.post_rule = post
        self.ids = pd.Index(clients["id"], name="id")
        self._cache: dict[str, dict[str, Any]] = {}
        self._shared: dict[tuple, Any] = {}
        # one pass over the (possibly 10^7) score rows: measure codes and client positions as
        # integers, so that every later selection and sort is on numbers, not strings
        meas = scores["measure"]
        if isinstance(meas.dtype, pd.CategoricalDtype):  # codes as stored: no 8-byte copy
            self._mcode = meas.cat.codes.to_numpy()
            uniq = list(meas.cat.categories)
        else:
            codes, uniq = pd.factorize(meas, sort=False)
            self._mcode = codes.astype(np.int16 if len(uniq) < 2**15 else np.int64)
        self._mindex = {m: i for i, m in enumerate(uniq)}
        if isinstance(meas.dtype, pd.CategoricalDtype):  # categories absent from the rows
            present = set(np.unique(self._mcode[self._mcode >= 0]).tolist())
            self._mindex = {m: i for m, i in self._mindex.items() if i in present}
        sid = scores["id"]
        if isinstance(sid.dtype, pd.CategoricalDtype):  # large cohorts: map categories once
            pos_of_cat = np.append(self.ids.get_indexer(sid.cat.categories), -1).astype(np.int32)
            self._pos = pos_of_cat[sid.cat.codes.to_numpy()]  # code -1 (missing) picks the -1
        else:
            self._pos = self.ids.get_indexer(sid).astype(np.int32)
        # as stored (float32 from a compact read: no 8-byte copy of 10^8 rows); each measure's
        # rows are widened to float64 when selected, so every result is the same
        self._time = _floats(scores["time"])
        self._score = _floats(scores["score"])

    def instrument(self, measure: str) -> Instrument:
        """Return the registry entry of ``measure`` (range, direction, cutoffs, reliability)."""
        return self.registry[measure]

    def release(self, measure: str) -> None:
        """Drop the cached views of a measure (memory on very large cohorts)."""
        self._cache.pop(measure, None)
        for key in [k for k in self._shared if measure in k[1]]:
            del self._shared[key]

    def shared(self, kind: str, measures: tuple[str, ...], make) -> Any:
        """Return a value several definitions derive from the same measures, computed once.

        E.g. the PHQ-9 and GAD-7 rows paired by session for the four NHS outcomes: computed by
        ``make()`` at the first call and released with the first of ``measures`` released.
        """
        key = (kind, tuple(measures))
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def has(self, measure: str) -> bool:
        """Whether the scores hold any row of ``measure``."""
        return measure in self._mindex

    def completer(self) -> np.ndarray | None:
        """Under ``completers``: True for clients whose end reason is ``planned``; else None."""
        if self.missing != "completers":
            return None
        return self.clients["end_reason"].astype(str).to_numpy() == "planned"

    def _dropout(self) -> np.ndarray:
        if "end_reason" not in self.clients.columns:
            return np.zeros(len(self.ids), bool)
        return self.clients["end_reason"].astype(str).to_numpy() == "dropout"

    def measure(self, measure: str) -> dict[str, Any]:
        """Baseline, post and post-baseline rows of one measure (cached).

        Returns
        -------
        dict with ``baseline``, ``post``, ``baseline_time``, ``post_time`` (float arrays; the
        post time is the time of the score used as post; under ``bocf`` and
        ``dropout_as_failure`` the time of the client's last observation after baseline up to
        the post time, to which the baseline is carried, else the baseline time), ``n``
        (observed scores, int array), ``reason`` (str array, "" when both scores exist),
        ``fail`` (bool array: under ``dropout_as_failure``, clients whose post score is
        missing), ``rows`` (observed rows after baseline up to the client's post time,
        with ``pos, time, score, baseline``; ``pos`` = client position in the client table),
        ``all_rows`` (every observed row, same columns).
        """
        if measure in self._cache:
            return self._cache[measure]
        n_ids = len(self.ids)
        sel = np.flatnonzero(self._mcode == self._mindex.get(measure, -1))
        pos = self._pos[sel]
        time = self._time[sel].astype(float, copy=False)
        score = self._score[sel].astype(float, copy=False)
        del sel
        known = pos >= 0
        if not known.all():
            pos, time, score = pos[known], time[known], score[known]
        # by client, then time (lexsort is stable: data already in that order, the common case
        # of exports sorted by client and session, keep it and skip the sort)
        if (
            len(pos) > 1
            and not ((pos[1:] > pos[:-1]) | ((pos[1:] == pos[:-1]) & (time[1:] >= time[:-1]))).all()
        ):
            order = np.lexsort((time, pos))
            pos, time, score = pos[order], time[order], score[order]
            del order
        # each client's first row (indices: one selection for the three reads)
        first = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]]) if len(pos) else np.zeros(0, int)
        base = np.full(n_ids, np.nan)
        t0 = np.full(n_ids, np.nan)
        pos_first = pos[first]
        base[pos_first] = score[first]
        t0[pos_first] = time[first]
        del first, pos_first
        observed = ~np.isnan(score)
        if not observed.all():
            pos, time, score = pos[observed], time[observed], score[observed]
        del observed
        obase = base[pos]
        # observed rows after baseline, as a mask over the observed rows (in client and time
        # order, so each client's rows after baseline are the end of its run of rows)
        after = time > t0[pos]
        brk = pos[1:] != pos[:-1]  # a new client starts at the next row
        if len(pos):
            starts = np.flatnonzero(np.r_[True, brk])
            n = np.zeros(n_ids, np.int64)
            n[pos[starts]] = np.diff(np.r_[starts, len(pos)])  # = np.bincount(pos, n_ids)
            del starts
        else:
            n = np.zeros(n_ids, np.int64)
        reason = np.full(n_ids, "", dtype=object)
        post = np.full(n_ids, np.nan)
        ptime = np.full(n_ids, np.nan)
        fail = np.zeros(n_ids, bool)
        if self.post_rule == "last":
            if not len(pos):
                last = np.zeros(0, bool)
            elif not np.isnan(time).any():
                # times in order within a client: its rows after baseline end its run, so its
                # last row after baseline is its last row, when that one is after baseline
                last = np.r_[brk, True] & after
            else:  # missing times (sorted last): the last of the rows after baseline
                ai = np.flatnonzero(after)
                pa = pos[ai]
                last = np.zeros(len(pos), bool)
                last[ai[np.r_[pa[1:] != pa[:-1], True]]] = True
                del ai, pa
            last = np.flatnonzero(last)
            pos_last = pos[last]
            post[pos_last] = score[last]
            ptime[pos_last] = time[last]
            del last, pos_last
            no_post = "no score after baseline"
        else:
            pt = float(self.post_rule)
            if self.missing == "locf":  # the last observation at or before the post time
                up_ = time <= pt
                up, ut, us = pos[up_], time[up_], score[up_]
                last = np.r_[up[1:] != up[:-1], True] if len(up) else np.zeros(0, bool)
                post[up[last]] = us[last]
                ptime[up[last]] = ut[last]
            else:
                at = after & (time == pt)
                post[pos[at]] = score[at]
                ptime[pos[at]] = pt
            no_post = f"no score at time {pt:g}"
        del brk
        has_base = ~np.isnan(base)
        horizon = np.inf if self.post_rule == "last" else float(self.post_rule)
        if self.missing == "locf":  # seen only at baseline: the baseline is carried forward
            carry = np.isnan(post) & has_base
            post[carry] = base[carry]
            ptime[carry] = t0[carry]
        elif self.missing in ("bocf", "dropout_as_failure"):
            carry = np.isnan(post) & has_base
            if self.missing == "bocf":
                carry |= self._dropout() & has_base
            else:
                fail = carry.copy()
            post[carry] = base[carry]
            # the baseline is carried to the client's last observation after baseline (up to
            # the post time), so that follow-up still ends where observation ended
            seen = after & (time <= horizon)
            last_seen = np.full(n_ids, np.nan)
            np.fmax.at(last_seen, pos[seen], time[seen])
            ptime[carry] = np.where(np.isnan(last_seen), t0, last_seen)[carry]
        reason[np.isnan(post)] = no_post
        reason[~has_base] = "no baseline score"
        if self.missing == "completers":
            er = self.clients["end_reason"].astype(str).to_numpy()
            nc = (er != "planned") & (reason == "")
            reason[nc] = np.char.add("not a completer (end reason: ", er[nc].astype(str)) + ")"
        # assessments after baseline up to the client's own post time: the trajectory on which
        # first_met and met_time are read (so that both end where the status is judged)
        after &= time <= ptime[pos]
        a_idx = np.flatnonzero(after)
        del after
        obs = _frame(pos, time, score, obase)
        after = _frame(pos[a_idx], time[a_idx], score[a_idx], obase[a_idx])
        out = {
            "baseline": base,
            "post": post,
            "baseline_time": t0,
            "post_time": ptime,
            "n": n,
            "reason": reason,
            "fail": fail,
            "rows": after,
            "all_rows": obs,
        }
        self._cache[measure] = out
        return out


def _by_client_time(rows: pd.DataFrame) -> pd.DataFrame:
    """Return ``rows`` in client, then time order (stable).

    As they are when already so (the rows of :meth:`Trajectories.measure` are), else sorted.
    """
    pos, time = rows["pos"].to_numpy(), rows["time"].to_numpy()
    if (
        len(pos) < 2
        or ((pos[1:] > pos[:-1]) | ((pos[1:] == pos[:-1]) & (time[1:] >= time[:-1]))).all()
    ):
        return rows
    return rows.sort_values(["pos", "time"], kind="stable")


def _group_min(pos: np.ndarray, values: np.ndarray, n_ids: int) -> np.ndarray:
    """Smallest non-NaN value per client position (NaN where none).

    As ``groupby(pos).min()`` placed on ``n_ids`` clients, without a sort (``np.fmin.at`` skips
    NaN as pandas does).
    """
    out = np.full(n_ids, np.nan)
    np.fmin.at(out, pos, values)
    return out


def _group_max(pos: np.ndarray, values: np.ndarray, n_ids: int) -> np.ndarray:
    """Largest non-NaN value per client position (NaN where none), as ``groupby(pos).max()``."""
    out = np.full(n_ids, np.nan)
    np.fmax.at(out, pos, values)
    return out


def _first(rows: pd.DataFrame, flag, n_ids: int) -> np.ndarray:
    """Earliest ``time`` per client among rows where ``flag`` holds (NaN if never)."""
    flag = np.asarray(flag, bool)
    return _group_min(rows["pos"].to_numpy()[flag], rows["time"].to_numpy(float)[flag], n_ids)


def _since(rows: pd.DataFrame, flag, n_ids: int) -> np.ndarray:
    """Start of the final run of assessments where ``flag`` holds, per client.

    The time from which the criterion held at every later assessment of ``rows`` (NaN when it
    does not hold at the client's last one). ``rows`` are one client's assessments up to the
    post time.
    """
    flag = np.asarray(flag, bool)
    if not len(rows):
        return np.full(n_ids, np.nan)
    pos = rows["pos"].to_numpy()
    time = rows["time"].to_numpy(float)
    # last time not held (-inf where the criterion held at every assessment)
    last_off = _group_max(pos, np.where(flag, -np.inf, time), n_ids)[pos]
    ok = flag & (time > last_off)
    return _group_min(pos[ok], time[ok], n_ids)


def _held(rows: pd.DataFrame, flag, n_ids: int) -> tuple[np.ndarray, np.ndarray]:
    """(first time the criterion held, time from which it held through the last assessment).

    :func:`_first` and :func:`_since`; on rows in client and time order without a missing time
    (the rows of :meth:`Trajectories.measure` and the NHS sessions paired from them) read from
    the runs of each client's rows instead of unbuffered ``ufunc.at`` updates: a client's
    smallest time among some of its rows is the time of the first of them, its largest that of
    the last (equal times give equal values), so the result is the same.
    """
    flag = np.asarray(flag, bool)
    pos = rows["pos"].to_numpy()
    time = rows["time"].to_numpy(float)
    if len(pos) < 2 or np.isnan(time).any():
        return _first(rows, flag, n_ids), _since(rows, flag, n_ids)
    step, same = pos[1:] > pos[:-1], pos[1:] == pos[:-1]
    if not (step | (same & (time[1:] >= time[:-1]))).all():
        return _first(rows, flag, n_ids), _since(rows, flag, n_ids)
    del step, same

    def first_of_runs(idx: np.ndarray) -> np.ndarray:  # time of each client's first listed row
        out = np.full(n_ids, np.nan)
        p = pos[idx]
        lead = np.r_[True, p[1:] != p[:-1]] if len(p) else np.zeros(0, bool)
        out[p[lead]] = time[idx[lead]]
        return out

    first = first_of_runs(np.flatnonzero(flag))
    # the last time the criterion did not hold (-inf where it held at every assessment)
    off = np.flatnonzero(~flag)
    p = pos[off]
    tail = np.r_[p[1:] != p[:-1], True] if len(p) else np.zeros(0, bool)
    last_off = np.full(n_ids, -np.inf)
    last_off[p[tail]] = time[off[tail]]
    del off, p, tail
    since = first_of_runs(np.flatnonzero(flag & (time > last_off[pos])))
    return first, since


def _sign(ins: Instrument) -> int:
    return -1 if ins.better_is == "lower" else 1


def _case(values, ins: Instrument, d: dict) -> np.ndarray:
    cut = d.get("cutoff", ins.cutoff_value)
    if cut is None:  # the instrument cannot support it (e.g. WAI-SR, centred scores): skipped
        raise NotComputable(
            f"definition {d['name']!r}: {ins.code} has no clinical cutoff in the registry; give "
            "'cutoff' and 'case_if'"
        )
    op = _OPS[
        d.get(
            "case_if", (ins.cutoff or {}).get("case_if", ">=" if ins.better_is == "lower" else "<=")
        )
    ]
    v = np.asarray(values, float)
    return np.where(np.isnan(v), np.nan, op(v, float(cut)).astype(float))


def _base(m: dict) -> dict:
    return {"baseline": m["baseline"], "post": m["post"]}


def rule_cutoff(t: Trajectories, d: dict) -> RuleResult:
    """Below caseness: not a case at the post score by the cutoff (registry default).

    This is not remission (see :func:`rule_remission`).

    With ``require_case_at_start`` (default false here; the ``caseness_change`` rule sets it),
    clients who were not a case at baseline are not evaluable.
    """
    ins = t.instrument(d["measure"])
    m = t.measure(d["measure"])
    c0, c1 = _case(m["baseline"], ins, d), _case(m["post"], ins, d)
    ev = m["reason"] == ""
    reason = m["reason"].copy()
    if d.get("require_case_at_start", False):
        not_case = ev & (c0 == 0)
        reason[not_case] = f"not a case at baseline ({ins.label})"
        ev = ev & (c0 == 1)
    rows = m["rows"]
    first, since = _held(rows, _case(rows["score"], ins, d) == 0, len(t.ids))
    return RuleResult(c1 == 0, ev, reason, first, **_base(m), met_time=since)


def rule_caseness_change(t: Trajectories, d: dict) -> RuleResult:
    """Below caseness at the end: a case at baseline and not a case at the post score.

    By the registry's cutoff, e.g. PHQ-9 < 10, BDI-II < 14, CES-D < 16; not remission.
    """
    return rule_cutoff(t, {**d, "require_case_at_start": True})


def rule_remission(t: Trajectories, d: dict) -> RuleResult:
    """Remission by the instrument's published remission threshold, among baseline cases.

    Not "below caseness" (rule ``caseness_change``): PHQ-9 remission is a score below 5
    (Psychiatr Serv 2020 71(4):312), caseness 10 or more; BDI-II remission below 10 (Wiles N. et
    al. 2014 Health Technol Assess 18(31)), caseness 14 or more; HAM-D 17 remission 7 or below
    (Frank E. et al. 1991 Arch Gen Psychiatry 48(9):851-855). The threshold and its source are the
    registry's ``remission`` entry (:func:`analysis.registry.instruments.is_remitted`).

    Evaluable: baseline and post present and a case at baseline (registry ``cutoff``), as in the
    source (episodes with baseline PHQ-9 >= 10). Met: the post score is remitted.

    Raises
    ------
    NotComputable
        When the registry has no published remission threshold for the instrument (e.g. CES-D):
        the definition is then listed as not computed, with this reason.
    """
    ins = t.instrument(d["measure"])
    if ins.remission is None:
        raise NotComputable(
            f"no published remission threshold for {ins.label} in the instrument "
            "registry (below caseness is a separate definition)"
        )
    m = t.measure(d["measure"])
    c0 = _case(m["baseline"], ins, d)
    ev = m["reason"] == ""
    reason = m["reason"].copy()
    not_case = ev & (c0 == 0)
    reason[not_case] = f"not a case at baseline ({ins.label})"
    ev = ev & (c0 == 1)
    rows = m["rows"]
    first, since = _held(rows, is_remitted(rows["score"].to_numpy(), ins) == 1, len(t.ids))
    res = RuleResult(
        is_remitted(m["post"], ins) == 1, ev, reason, first, **_base(m), met_time=since
    )
    rem = ins.remission
    res.extra.update(
        threshold=f"{rem['remission_if']} {float(rem['value']):g}",
        threshold_source=str(rem.get("source", "")),
        threshold_confirmed=bool(rem.get("confirmed", False)),
    )
    return res


def rule_band_change(t: Trajectories, d: dict) -> RuleResult:
    """Move into a named band of the instrument (e.g. the SDQ 'normal' band) from outside it."""
    ins = t.instrument(d["measure"])
    if not ins.bands or d["into"] not in ins.bands["labels"]:
        raise NotComputable(
            f"definition {d['name']!r}: {ins.code} has no band {d['into']!r} in the registry"
        )
    edges = np.asarray(ins.bands["values"], float)
    k = ins.bands["labels"].index(d["into"])

    def band(v):
        v = np.asarray(v, float)
        b = np.searchsorted(edges, v, side="right") - 1
        return np.where(np.isnan(v), -1, b)

    m = t.measure(d["measure"])
    b0, b1 = band(m["baseline"]), band(m["post"])
    ev = m["reason"] == ""
    reason = m["reason"].copy()
    already = ev & (b0 == k)
    reason[already] = f"already in the {d['into']} band at baseline"
    ev = ev & (b0 != k)
    first, since = _held(m["rows"], band(m["rows"]["score"]) == k, len(t.ids))
    return RuleResult(b1 == k, ev, reason, first, **_base(m), met_time=since)


def _jt(t: Trajectories, d: dict, cutoff_type=None) -> tuple[pd.DataFrame, float, float, float]:
    """Reliable change (any pre/post method of :mod:`analysis.outcomes.clinsig`) on a measure.

    Returns the per-client clinsig table, S_diff (points, JT family), the critical |RCI| and the
    cutoff (NaN without one).
    """
    ins = t.instrument(d["measure"])
    method = d.get("method", "JT")
    if method not in RCI_METHODS or method == "HLM":
        raise ValueError(
            f"definition {d['name']!r}: reliable change method must be one of "
            f"{[m for m in RCI_METHODS if m != 'HLM']} (HLM needs clinical_significance on long "
            f"data), got {method!r}"
        )
    rel = d.get("reliability", ins.reliability_value)
    if rel is None:
        raise NotComputable(
            f"definition {d['name']!r}: no reliability for {ins.code}; give 'reliability'"
        )
    m = t.measure(d["measure"])
    ok = m["reason"] == ""
    if ok.sum() < 2:
        raise NotComputable(
            f"definition {d['name']!r}: fewer than 2 evaluable clients on {ins.code}; "
            "the RCI needs "
            "the SD of at least 2 baseline scores"
        )
    level = d.get("significance_level", 0.05)
    kw: dict[str, Any] = {}
    chosen = None
    if cutoff_type is not None:
        # the run's cutoff rule: the registry's default (c with confirmed functional norms, else
        # the published clinical cutoff), the published cutoff, or a/b/c as requested
        try:
            chosen = resolve_cutoff(ins, cutoff_type, d.get("m_functional"), d.get("sd_functional"))
        except ValueError as exc:  # e.g. cutoff c without norms: the instrument cannot support it
            raise NotComputable(f"definition {d['name']!r}: {exc}") from None
        if not chosen["kwargs"]:
            raise NotComputable(f"definition {d['name']!r}: {chosen['reason']}")
        kw = chosen["kwargs"]
    js = clinical_significance_prepost(
        pd.DataFrame(
            {
                "id": np.arange(len(t.ids)),
                "pre": np.where(ok, m["baseline"], np.nan),
                "post": np.where(ok, m["post"], np.nan),
            }
        ),
        reliability=float(rel),
        reliability_post=d.get("reliability_post"),
        rci_method=method,
        better_is=ins.better_is,
        significance_level=level,
        **kw,
    )
    info = js.attrs["clinsig"]
    if chosen is not None:
        info["cutoff_rule"] = chosen["cutoff_type"]
        info["cutoff_reason"] = chosen["reason"]
    s_diff = float(info.get("s_diff", np.nan)) if method == "JT" else np.nan
    cutoff = info.get("cutoff")
    return js, s_diff, float(info["critical"]), np.nan if cutoff is None else float(cutoff)


def _first_reliable(t, d, m, s_diff, crit, extra=None, deterioration=False):
    """Return (first time, time held since) of the JT criterion on the trajectory.

    Towards improvement, or towards deterioration.
    """
    rows = m["rows"]
    ins = t.instrument(d["measure"])
    toward = _sign(ins) * (rows["score"] - rows["baseline"]).to_numpy() / s_diff
    flag = toward < -crit if deterioration else toward > crit
    return _held(rows, flag if extra is None else flag & extra, len(t.ids))


def rule_reliable_change(t: Trajectories, d: dict) -> RuleResult:
    """Reliable improvement (or, with ``direction: deterioration``, reliable deterioration).

    By any pre/post method of
    :func:`analysis.outcomes.distribution.clinical_significance_prepost` (default JT).
    ``first_met`` follows the trajectory for JT; for other methods it is the post time when met.
    ``extra`` carries ``s_diff`` (points) and ``critical`` (|RCI|).
    """
    m = t.measure(d["measure"])
    js, s_diff, crit, _ = _jt(t, d)
    det = d.get("direction", "improvement") == "deterioration"
    want = "deteriorated" if det else "improved"
    met = js["reliable_change"].eq(want).to_numpy()
    if np.isnan(s_diff):  # no per-assessment criterion: judged at the post time only
        first = since = np.where(met, m["post_time"], np.nan)
    else:
        first, since = _first_reliable(t, d, m, s_diff, crit, deterioration=det)
    res = RuleResult(
        met,
        m["reason"] == "",
        m["reason"].copy(),
        first,
        rci=js["rci"].to_numpy(),
        category=js["category"].astype(object).to_numpy(),
        **_base(m),
        met_time=since,
    )
    res.extra.update(_rc_extra(js, s_diff, crit))
    return res


def _rc_extra(js: pd.DataFrame, s_diff: float, crit: float) -> dict[str, Any]:
    """Scalars a report prints about reliable change.

    S_diff and the threshold in points, the SD used and where it came from, and (with a cutoff)
    which J&T cutoff rule and why.
    """
    info = js.attrs["clinsig"]
    out = {
        "s_diff": s_diff,
        "critical": crit,
        "threshold_points": info.get("threshold_points"),
        "sd_pre_used": info.get("sd_pre_used"),
        "sd_pre_source": info.get("sd_pre_source"),
    }
    for key in ("cutoff_rule", "cutoff_reason"):
        if key in info:
            out[key] = info[key]
    return {k: (np.nan if v is None else v) for k, v in out.items()}


def rule_clinically_significant(t: Trajectories, d: dict) -> RuleResult:
    """Recovered (J&T combined): reliable improvement and a move across the J&T cutoff.

    From the clinical to the functional side of the cutoff.

    ``cutoff_type`` (default ``default``): the registry's default rule
    (:func:`analysis.registry.instruments.default_cutoff`: cutoff c where confirmed functional
    norms exist, e.g. PHQ-9 with Kocalevent, Hinz & Brähler 2013; else the published clinical
    cutoff, e.g. BDI-II >= 14; alias ``instrument``), ``published``, or ``a``/``b``/``c`` as
    requested (Jacobson & Truax 1991; Bauer, Lambert & Nielsen 2004). ``extra`` carries the
    cutoff (points), the rule used and the reason, S_diff and the threshold in points.
    """
    ins = t.instrument(d["measure"])
    m = t.measure(d["measure"])
    js, s_diff, crit, cut = _jt(t, d, d.get("cutoff_type", "default"))
    met = js["category"].eq("recovered").to_numpy()
    if np.isnan(s_diff):
        first = since = np.where(met, m["post_time"], np.nan)
    else:
        rows = m["rows"]
        sc, b = rows["score"].to_numpy(), rows["baseline"].to_numpy()
        s = _sign(ins)
        func_now = sc < cut if s == -1 else sc > cut
        clin_base = b > cut if s == -1 else b < cut
        first, since = _first_reliable(t, d, m, s_diff, crit, func_now & clin_base)
    res = RuleResult(
        met,
        m["reason"] == "",
        m["reason"].copy(),
        first,
        rci=js["rci"].to_numpy(),
        category=js["category"].astype(object).to_numpy(),
        **_base(m),
        met_time=since,
    )
    res.extra.update(cutoff=cut, **_rc_extra(js, s_diff, crit))
    return res


def _points(d: dict, ins: Instrument, key: str, reg_key: str) -> float:
    v = d.get(key)
    if v is None:
        entry = getattr(ins, reg_key)
        if entry is None:
            raise NotComputable(
                f"definition {d['name']!r}: give '{key}' "
                f"({ins.code} has no {reg_key} in the registry)"
            )
        v = entry["value"]
    return float(v)


def rule_fixed_change(t: Trajectories, d: dict) -> RuleResult:
    """Change of at least ``points`` towards improvement.

    E.g. PHQ-9 >= 6 points; the registry's ``reliable_change`` by default.
    ``direction: deterioration`` counts the other way.
    """
    ins = t.instrument(d["measure"])
    pts = _points(d, ins, "points", "reliable_change")
    m = t.measure(d["measure"])
    sgn = _sign(ins) * (-1 if d.get("direction", "improvement") == "deterioration" else 1)
    toward = sgn * (m["post"] - m["baseline"])
    rows = m["rows"]
    first, since = _held(rows, sgn * (rows["score"] - rows["baseline"]) >= pts, len(t.ids))
    return RuleResult(
        toward >= pts, m["reason"] == "", m["reason"].copy(), first, **_base(m), met_time=since
    )


def rule_mid(t: Trajectories, d: dict) -> RuleResult:
    """Improvement of at least the minimal important difference (registry ``mcid`` by default)."""
    ins = t.instrument(d["measure"])
    return rule_fixed_change(t, {**d, "points": _points(d, ins, "mid", "mcid")})


def rule_percentage_change(t: Trajectories, d: dict) -> RuleResult:
    """At least ``percent`` % change from baseline towards improvement (default 50: response)."""
    ins = t.instrument(d["measure"])
    pct = float(d.get("percent", 50)) / 100
    m = t.measure(d["measure"])
    s = _sign(ins)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = s * (m["post"] - m["baseline"]) / m["baseline"]
        rows = m["rows"]
        frac_r = s * (rows["score"] - rows["baseline"]).to_numpy() / rows["baseline"].to_numpy()
    ev = m["reason"] == ""
    reason = m["reason"].copy()
    zero = ev & (m["baseline"] == 0)
    reason[zero] = "baseline score 0: percentage change undefined"
    first, since = _held(rows, frac_r >= pct, len(t.ids))
    return RuleResult(frac >= pct, ev & ~zero, reason, first, **_base(m), met_time=since)


def _pair_keys(pd_, td, pa_, ta) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of (client position, time) for two sets of rows without a missing time.

    Ordered as the pairs are and equal where they are: ``pos * span + time - first time`` when
    every time is a whole number (sessions, weeks), else ``pos * n_times + rank of time``.
    """
    if len(td) and len(ta):
        lo, hi = min(td.min(), ta.min()), max(td.max(), ta.max())
        whole = np.array_equal(td, np.trunc(td)) and np.array_equal(ta, np.trunc(ta))
        if whole and hi - lo < 2**24:  # exact in int64 for any client position
            span = int(hi - lo) + 1
            return (
                pd_.astype(np.int64) * span + (td - lo).astype(np.int64),
                pa_.astype(np.int64) * span + (ta - lo).astype(np.int64),
            )
    times = np.unique(np.concatenate([td, ta]))
    return (
        pd_.astype(np.int64) * len(times) + np.searchsorted(times, td),
        pa_.astype(np.int64) * len(times) + np.searchsorted(times, ta),
    )


def _pair_sessions(d: pd.DataFrame, a: pd.DataFrame) -> pd.DataFrame:
    """Inner join of two measures' rows on (client position, time), in the order of ``d``.

    The result of ``d.merge(a, on=["pos", "time"], suffixes=("_d", "_a"))``; when each side has
    one row per client and time (the usual case) done by a binary search on integer keys, without
    the merge's hash tables (10^7 rows: about 2 GB less at the peak).
    """
    cols = ["pos", "time", "score", "baseline"]
    pd_, td = d["pos"].to_numpy(), d["time"].to_numpy(float)
    pa_, ta = a["pos"].to_numpy(), a["time"].to_numpy(float)
    if not (np.isnan(td).any() or np.isnan(ta).any()):
        kd, ka = _pair_keys(pd_, td, pa_, ta)
        if (np.diff(kd) > 0).all() and (np.diff(ka) > 0).all():  # sorted, one row per key
            idx = np.searchsorted(ka, kd)
            hit = idx < len(ka)
            hit[hit] = ka[idx[hit]] == kd[hit]
            left, right = np.flatnonzero(hit), idx[hit]
            return pd.DataFrame(
                {
                    "pos": pd_[left],
                    "time": td[left],
                    "score_d": d["score"].to_numpy()[left],
                    "baseline_d": d["baseline"].to_numpy()[left],
                    "score_a": a["score"].to_numpy()[right],
                    "baseline_a": a["baseline"].to_numpy()[right],
                },
                copy=False,
            )
    return d[cols].merge(a[cols], on=["pos", "time"], suffixes=("_d", "_a"))


def _nhs_sessions(md, ma, idep, ianx, pd_, pa_):
    """Pair the sessions where both NHS measures were scored, with their criteria.

    Returns the rows (``pos, time``) and, per row, reliable improvement, reliable deterioration
    and caseness (boolean arrays).
    """
    r = _pair_sessions(md["rows"], ma["rows"])
    rdd = (r["score_d"] - r["baseline_d"]).to_numpy()
    rda = (r["score_a"] - r["baseline_a"]).to_numpy()
    rimp = (rdd <= -pd_) | (rda <= -pa_)
    rdet = (rdd >= pd_) | (rda >= pa_)
    rcase1 = (_case(r["score_d"], idep, {"name": ""}) == 1) | (
        _case(r["score_a"], ianx, {"name": ""}) == 1
    )
    return r[["pos", "time"]], rimp, rdet, rcase1


def rule_nhs(t: Trajectories, d: dict) -> RuleResult:
    """NHS Talking Therapies paired outcomes on depression (PHQ-9) and anxiety (GAD-7).

    Over the denominators NHS Digital publishes; the measures are options (these by default).

    Finished course of treatment (NHS Digital glossary): a referral that has *ended* having had at
    least ``min_sessions`` (2) attended treatment appointments. Ended: ``end_reason`` other than
    ``ongoing`` (``unknown``: not evaluable); without an ``end_reason`` column every course counts
    as ended. Attended appointments: the client table's ``n_sessions`` where present, else the
    number of sessions with a PHQ-9 or GAD-7 score. Every client outside the finished courses is
    not evaluable under every NHS outcome, with the reason.

    Caseness at the first measurement: PHQ-9 >= 10 or anxiety measure at or above its registry
    cutoff (GAD-7 >= 8). Reliable change per measure by the registry's fixed threshold (PHQ-9 6
    points, GAD-7 4 points, inclusive).

    - recovery: a case at the first measurement and a case on neither measure at the last.
      Denominator: finished courses at caseness at the first measurement (NHS Digital: recovered
      / (finished courses - not at caseness));
    - reliable_improvement: reliable improvement on at least one measure, reliable deterioration
      on neither. Denominator: every finished course with paired scores, at caseness or not (NHS
      Digital: reliably improved / finished courses);
    - reliable_deterioration: reliable deterioration on at least one, reliable improvement on
      neither. Denominator: every finished course with paired scores, as for reliable improvement
      (NHS England's published computation: Percentage_ReliableDeterioration = reliably
      deteriorated finished courses / Count_FinishedCourseTreatment);
    - reliable_recovery: recovery and reliable improvement. Denominator as recovery.

    References: NHS England (2024) NHS Talking Therapies for anxiety and depression manual, v7;
    NHS Digital, Psychological Therapies: reports on the use of IAPT services, June 2020,
    Outcomes ("27,884 / (57,060 - 3,200) * 100 = 51.8%" recovery, "39,417 / 57,060 * 100 =
    69.1%" reliable improvement); NHS Digital / OHID Fingertips glossary (finished course); NHS
    England, github.com/nhsengland/Talking-Therapies, "Key Metrics Dashboard/KM monthly
    update.sql" (every Percentage_* outcome: numerator among CompletedTreatment_Flag referrals
    over Count_FinishedCourseTreatment, minus Count_NotAtCaseness for recovery). NHS's
    denominators also count finished courses without paired scores (as not improved); here such
    courses are not evaluable, with the reason, so with unpaired finished courses the rates here
    are over fewer courses than NHS's.
    """
    dep, anx = d.get("depression", "phq9"), d.get("anxiety", "gad7")
    idep, ianx = t.instrument(dep), t.instrument(anx)
    md, ma = t.measure(dep), t.measure(anx)
    cd0, cd1 = (
        _case(md["baseline"], idep, {"name": d["name"]}),
        _case(md["post"], idep, {"name": d["name"]}),
    )
    ca0, ca1 = (
        _case(ma["baseline"], ianx, {"name": d["name"]}),
        _case(ma["post"], ianx, {"name": d["name"]}),
    )
    pd_ = _points({"name": d["name"]}, idep, "points", "reliable_change")
    pa_ = _points({"name": d["name"]}, ianx, "points", "reliable_change")
    dd = md["post"] - md["baseline"]  # lower is better on both
    da = ma["post"] - ma["baseline"]
    imp = (dd <= -pd_) | (da <= -pa_)
    det = (dd >= pd_) | (da >= pa_)
    case0 = (cd0 == 1) | (ca0 == 1)
    case1 = (cd1 == 1) | (ca1 == 1)
    outcome = d["outcome"]
    met = {
        "recovery": case0 & ~case1,
        "reliable_improvement": imp & ~det,
        "reliable_deterioration": det & ~imp,
        "reliable_recovery": case0 & ~case1 & imp & ~det,
    }.get(outcome)
    if met is None:
        raise ValueError(
            f"definition {d['name']!r}: outcome must be recovery, reliable_improvement, "
            f"reliable_recovery or reliable_deterioration, got {outcome!r}"
        )
    n = len(t.ids)
    cl = t.clients
    end = (
        cl["end_reason"].astype(str).to_numpy()
        if "end_reason" in cl.columns
        else np.full(n, "planned", dtype=object)
    )
    if "n_sessions" in cl.columns:
        n_sess = pd.to_numeric(cl["n_sessions"], errors="coerce").to_numpy(float)
    else:
        n_sess = np.maximum(md["n"], ma["n"]).astype(float)
    min_s = int(d.get("min_sessions", 2))
    # finished course first (NHS Digital counts paired scores among finished courses only)
    reason = np.full(n, "", dtype=object)
    reason[end == "ongoing"] = "course not finished (ongoing)"
    reason[(reason == "") & (end == "unknown")] = "whether the referral ended is unknown"
    few = (reason == "") & ~(n_sess >= min_s)
    reason[few] = f"fewer than {min_s} attended treatment sessions"
    pair = np.where(md["reason"] != "", md["reason"], ma["reason"]).astype(object)
    unpaired = (reason == "") & (pair != "")
    reason[unpaired] = "no paired PHQ-9/GAD-7 scores: " + pair[unpaired].astype(str)
    finished = reason == ""
    if outcome in ("recovery", "reliable_recovery"):
        reason[finished & ~case0] = "not a case at the first measurement"
        ev = finished & case0
    else:  # reliable improvement and deterioration: every finished course with paired scores
        ev = finished
    # first session at which the paired criterion held, on sessions where both were scored;
    # the pairing and the per-session criteria are the same for the four NHS outcomes: once
    r, rimp, rdet, rcase1 = t.shared(
        f"nhs_sessions {pd_!r} {pa_!r}",
        (dep, anx),
        lambda: _nhs_sessions(md, ma, idep, ianx, pd_, pa_),
    )
    rflag = {
        "recovery": ~rcase1,
        "reliable_improvement": rimp & ~rdet,
        "reliable_deterioration": rdet & ~rimp,
        "reliable_recovery": ~rcase1 & rimp & ~rdet,
    }[outcome]
    first, since = _held(r, rflag, len(t.ids))
    res = RuleResult(
        met, ev, reason, first, baseline=md["baseline"], post=md["post"], met_time=since
    )
    res.extra["measure"] = f"{dep}+{anx}"
    res.extra["measures"] = (dep, anx)
    return res


def _rank_in_client(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank each row within its client, and count its client's rows.

    ``pos`` non-decreasing (rows grouped by client); rank 0 = first, as ``groupby.cumcount``.
    """
    n = len(pos)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    group = np.cumsum(np.r_[True, pos[1:] != pos[:-1]]) - 1
    rank = np.arange(n) - starts[group]
    size = np.diff(np.r_[starts, n])[group]
    return rank, size


def _runs(rows: pd.DataFrame, flag: np.ndarray) -> pd.DataFrame:
    """Find runs of consecutive assessments (per client) where ``flag`` holds: start, length.

    ``rows`` in client, then time order; one row per run (``pos``, ``start``, ``length``).
    """
    f = np.asarray(flag, bool)
    pos, time = rows["pos"].to_numpy(), rows["time"].to_numpy()
    if not len(f):
        return pd.DataFrame({"pos": pos[:0], "start": time[:0], "length": np.zeros(0, np.int64)})
    brk = np.r_[True, (pos[1:] != pos[:-1]) | (f[1:] != f[:-1])]  # a new client or a switch
    first = np.flatnonzero(brk & f)  # the first row of each run where the flag holds
    ends = np.r_[np.flatnonzero(brk)[1:], len(f)]  # each run ends where the next one starts
    length = ends[np.searchsorted(np.flatnonzero(brk), first)] - first
    return pd.DataFrame({"pos": pos[first], "start": time[first], "length": length})


def rule_threshold_sustained(t: Trajectories, d: dict) -> RuleResult:
    """Threshold reached by time ``by`` and held for ``sustained`` consecutive assessments.

    Reached: at or beyond ``threshold`` on the better side. All assessments count, the first one
    included.

    ``threshold: registry`` takes value and direction from the registry's cutoff: an assessment
    counts when it is *not* flagged by the cutoff. For the SRS (registry: a score of 36 or less
    flags an alliance concern; Duncan B.L., Miller S.D., Sparks J.A. et al. (2003) J Brief Ther
    3(1):3-12) a session counts only above 36, so 36 is never both a concern and strong.
    """
    ins = t.instrument(d["measure"])
    m = t.measure(d["measure"])
    rows = _by_client_time(m["all_rows"])
    if d["threshold"] == "registry":
        flag = _case(rows["score"].to_numpy(), ins, {"name": d["name"]}) == 0
    else:
        thr = float(d["threshold"])
        sc = rows["score"].to_numpy()
        flag = sc >= thr if _sign(ins) == 1 else sc <= thr
    runs = _runs(rows, flag)
    need = int(d.get("sustained", 1))
    ok = runs.loc[runs["length"] >= need]
    if "by" in d:
        ok = ok.loc[ok["start"] <= float(d["by"])]
    first = _group_min(ok["pos"].to_numpy(), ok["start"].to_numpy(float), len(t.ids))
    ev = m["n"] >= need
    reason = np.where(ev, "", f"fewer than {need} {ins.label} assessments").astype(object)
    return RuleResult(~np.isnan(first), ev, reason, first, baseline=m["baseline"], post=m["post"])


def rule_growth(t: Trajectories, d: dict) -> RuleResult:
    """Growth from early to late assessments of at least ``delta`` points, towards better.

    The mean of the ``late`` last assessments minus the mean of the ``early`` first ones
    (defaults 3 and 3).
    """
    ins = t.instrument(d["measure"])
    m = t.measure(d["measure"])
    rows = _by_client_time(m["all_rows"])
    e, l_ = int(d.get("early", 3)), int(d.get("late", 3))
    pos = rows["pos"].to_numpy()
    rank, size = _rank_in_client(pos)  # the first e and last l_ rows of each client, as
    score = rows["score"]  # groupby head / tail; the means by pandas' groupby on those rows
    early = score[rank < e].groupby(pos[rank < e]).mean()
    late = score[rank >= size - l_].groupby(pos[rank >= size - l_]).mean()
    n = np.bincount(pos, minlength=len(t.ids))
    diff = np.full(len(t.ids), np.nan)
    enough = np.flatnonzero(n >= e + l_)
    diff[enough] = (_sign(ins) * (late - early)).reindex(enough).to_numpy()
    ev = ~np.isnan(diff)
    reason = np.where(ev, "", f"fewer than {e + l_} {ins.label} assessments").astype(object)
    met = diff >= float(d["delta"])
    # growth is judged on the whole course: it is known (first and lastingly) at the last one
    last_time = _group_max(pos, rows["time"].to_numpy(float), len(t.ids))
    first = np.where(met, last_time, np.nan)
    return RuleResult(met, ev, reason, first, baseline=m["baseline"], post=m["post"])


def rule_rupture_repair(t: Trajectories, d: dict) -> RuleResult:
    """Rupture followed by repair, among clients with a rupture.

    A rupture is a drop of at least ``drop`` points (towards worse) from one assessment to the
    next; it is repaired when a score within the next ``within`` assessments (default 3) returns to
    the pre-drop level. Denominator: clients with at least 3 assessments and at least one rupture
    whose repair window was observed (``within`` further assessments, or repaired). Clients who
    never had a rupture are not evaluable (reason "no rupture ..."), not failures; nor is a client
    whose only ruptures came too late to observe their repair. ``first_met`` is the time of the
    first repair; ``extra["n_rupture"]`` counts ruptures per client.

    Reference: Safran J.D. & Muran J.C. (2000) Negotiating the therapeutic alliance; operational
    rule after Stiles W.B. et al. (2004) J Couns Psychol 51(1):81-92 and Stevens C.L., Muran J.C.,
    Safran J.D., Gorman B.S. & Winston A. (2007) Am J Psychother 61(2):109-129: a drop then a
    return to the earlier level.
    """
    ins = t.instrument(d["measure"])
    m = t.measure(d["measure"])
    rows = _by_client_time(m["all_rows"])
    s = _sign(ins)
    drop, within = float(d["drop"]), int(d.get("within", 3))
    sc = rows["score"].to_numpy() * s  # higher = better after this
    pos = rows["pos"].to_numpy()
    times = rows["time"].to_numpy()
    n_rows = len(sc)
    # a drop from the previous assessment of the same client (row i against row i - 1)
    rupture = np.zeros(n_rows, bool)
    rupture[1:] = (pos[1:] == pos[:-1]) & (sc[:-1] - sc[1:] >= drop)
    prev = np.empty_like(sc)  # the pre-drop level (the previous score)
    if n_rows:
        prev[1:], prev[0] = sc[:-1], sc[-1]
    repaired_at = np.full(n_rows, np.nan)
    for k in range(1, min(within, n_rows - 1) + 1):  # over lags (a few steps), not clients
        head = slice(0, n_rows - k)  # row i against row i + k (views, no rolled copies)
        hit = (
            rupture[head]
            & (pos[k:] == pos[head])
            & (sc[k:] >= prev[head])
            & np.isnan(repaired_at[head])
        )
        repaired_at[head][hit] = times[k:][hit]
    n_ids = len(t.ids)
    first = _group_min(pos, repaired_at, n_ids)
    # assessments after each row (same client): the repair window is observed when there are
    # at least `within` of them, or the rupture was repaired
    rank, size = _rank_in_client(pos)
    after = size - 1 - rank
    observable = rupture & ((after >= within) | ~np.isnan(repaired_at))
    n_rupt = np.bincount(pos[rupture], minlength=n_ids)
    n_obs = np.bincount(pos[observable], minlength=n_ids)
    enough = m["n"] >= 3
    ev = enough & (n_obs > 0)
    reason = np.where(
        ~enough,
        f"fewer than 3 {ins.label} assessments",
        np.where(
            n_rupt == 0,
            f"no rupture (a drop of {drop:g} points or more) observed",
            np.where(n_obs == 0, "rupture too late to observe its repair", ""),
        ),
    ).astype(object)
    res = RuleResult(
        ev & ~np.isnan(first), ev, reason, first, baseline=m["baseline"], post=m["post"]
    )
    res.extra["n_rupture"] = n_rupt
    return res


def rule_status_change(t: Trajectories, d: dict) -> RuleResult:
    """Score a status change, e.g. employment, from ``start`` at baseline to ``end`` at post.

    Employment: ``start`` 0 (not working) at baseline and ``end`` 1 (working) at the post
    assessment. Clients not in the start state are not evaluable.
    """
    m = t.measure(d["measure"])
    a, b = float(d.get("start", 0)), float(d.get("end", 1))
    ev = m["reason"] == ""
    reason = m["reason"].copy()
    other = ev & (m["baseline"] != a)
    reason[other] = f"not in the start state ({d['measure']} = {a:g}) at baseline"
    rows = m["rows"]
    first, since = _held(rows, rows["score"] == b, len(t.ids))
    return RuleResult(m["post"] == b, ev & ~other, reason, first, **_base(m), met_time=since)


def rule_flag_count(t: Trajectories, d: dict) -> RuleResult:
    """Count a flag (e.g. a new coping skill): met when recorded ``at_least`` times (default 1)."""
    m = t.measure(d["measure"])
    rows = _by_client_time(m["all_rows"])
    k = int(d.get("at_least", 1))
    on = (rows["score"] == 1).to_numpy()
    pos, time = rows["pos"].to_numpy()[on], rows["time"].to_numpy(float)[on]
    hit = _rank_in_client(pos)[0] + 1 == k  # the k-th recorded flag of each client
    first = np.full(len(t.ids), np.nan)
    first[pos[hit]] = time[hit]
    ev = m["n"] > 0
    reason = np.where(ev, "", f"no {d['measure']} record").astype(object)
    return RuleResult(~np.isnan(first), ev, reason, first)


RULE_FUNCTIONS = {
    "cutoff": rule_cutoff,
    "caseness_change": rule_caseness_change,
    "remission": rule_remission,
    "band_change": rule_band_change,
    "reliable_change": rule_reliable_change,
    "fixed_change": rule_fixed_change,
    "clinically_significant": rule_clinically_significant,
    "percentage_change": rule_percentage_change,
    "mid": rule_mid,
    "nhs": rule_nhs,
    "threshold_sustained": rule_threshold_sustained,
    "growth": rule_growth,
    "rupture_repair": rule_rupture_repair,
    "status_change": rule_status_change,
    "flag_count": rule_flag_count,
    "sudden_gain": rule_sudden_gain,
}


def apply_rule(t: Trajectories, d: dict) -> RuleResult:
    """Apply one (non-composite) validated definition."""
    return RULE_FUNCTIONS[d["rule"]](t, d)
