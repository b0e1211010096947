"""How fast is each definition met? Time to first success, Kaplan-Meier, competing risks, Cox.

The starting point is the outcomes table (:func:`analysis.outcomes.engine.score_definitions`), the
only producer of per-client outcomes: every evaluable client x definition becomes one time-to-event
record from the client's own ``baseline_time`` to the event (``met_time``, sustained success, by
default; or ``first_met_time``) or to the post time (censored). Dropout ends follow-up: it is
censoring for Kaplan-Meier and a competing event for the Aalen-Johansen cumulative incidence; a
planned end of treatment, or a course still ongoing, is censoring. All estimators are lifelines'.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times

__all__ = [
    "EVENT_CODES",
    "EVENT_DEFINITIONS",
    "EVENT_LABELS",
    "time_to_event",
    "km_summary",
    "km_curves",
    "cumulative_incidence",
    "logrank_by_group",
    "cox_models",
    "cox_separation",
    "check_durations",
    "excluded_records",
    "KM_SUMMARY_COLUMNS",
]

#: Columns of :func:`km_summary`, also when there is no record (zero rows).
KM_SUMMARY_COLUMNS = (
    "definition",
    "n",
    "n_met",
    "n_dropout",
    "n_censored_other",
    "n_no_duration",
    "median",
    "median_ci_low",
    "median_ci_high",
    "proportion_met_end",
)
_EXCLUDED_COLUMNS = ("definition", "reason", "n")

EVENT_CODES = {0: "censored (end of treatment, ongoing or unknown)", 1: "met", 2: "dropout"}

#: How a report names each event definition (parameter ``event``) in a title or a table.
EVENT_LABELS = {"sustained": "sustained", "first_met": "first met"}

#: The two event definitions of time to success, as a report explains them.
EVENT_DEFINITIONS = {
    "sustained": (
        "sustained: the event is the assessment from which the definition held through the end "
        "of the client's course; only clients whose status is met have the event, so the share "
        "with the event equals the share met in notebook 01"
    ),
    "first_met": (
        "first met: the event is the first assessment at which the definition's criterion held, "
        "even if it no longer held at the end"
    ),
}


def time_to_event(
    outcomes: pd.DataFrame,
    scores: pd.DataFrame | None,
    clients: pd.DataFrame,
    end_reason: str = "end_reason",
    event: str = "sustained",
    landmark: float | None = None,
) -> pd.DataFrame:
    """One time-to-success record per evaluable client x definition, from the outcomes table.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        The outcomes table of :func:`analysis.outcomes.engine.score_definitions` (``id, definition,
        family, measures, status, baseline_time, post_time, first_met_time, met_time``). Rows
        with status ``met`` or ``not_met`` are used, every definition (NHS rules and composites
        included). Not modified.
    scores : pandas.DataFrame or None
        Long scores; only their ``date`` column is used (for ``weeks``), when present.
    clients : pandas.DataFrame
        Client table with ``id`` and, when known, the ``end_reason`` column (planned / dropout /
        ongoing / unknown). Without it nobody is counted as a dropout.
    end_reason : str
        Name of the end-reason column.
    event : {"sustained", "first_met"}
        Event definition (:data:`EVENT_DEFINITIONS`): ``sustained`` (default) at ``met_time``,
        ``first_met`` at ``first_met_time``.
    landmark : float, optional
        Landmark time L (cohort time unit, e.g. session 3; a finite number >= 0): only clients
        still followed after L (post time > L) and without the event by L enter, and time counts
        from L. Default: no landmark, time counts from each client's own ``baseline_time``.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``definition``, ``family``, ``measures``, ``start_time`` (the client's own
        baseline time, or L), ``end_time`` (event or censoring time), ``duration`` (end - start,
        cohort time unit: sessions, weeks or months), ``weeks`` (days between the assessments'
        dates at start and end / 7; NaN without a ``date`` column), ``event`` (1 the event, 0
        not), ``event_type`` (1 event, 2 dropout before the event, 0 other censoring:
        :data:`EVENT_CODES`), ``end_reason``. Holds identifiers: for computation, not display.
        ``attrs["event"]`` names the event definition, ``attrs["landmark"]`` L, and
        ``attrs["excluded"]`` holds the evaluable records that cannot enter, counted per
        definition and reason: met at the first assessment (no time at risk), no assessment
        after baseline (imputed post score), or, with a landmark, event or end of follow-up by
        L. It is a tuple of ``(definition, reason, n)`` records (pandas compares ``attrs`` when
        it prints or combines frames, which a DataFrame there would break); read it as a table
        with :func:`excluded_records`.

    Raises
    ------
    ValueError
        If a needed column is missing, ``event`` is unknown, ``landmark`` is negative or not a
        finite number, or a record would have a duration <= 0 or missing (naming the clients and
        definitions).

    Examples
    --------
    On the bundled simulated cohort (60 clients, sessions, PHQ-9): client C000001 remitted at
    session 2, one session after their baseline; C000002 dropped out at session 12 without
    remitting (event type 2, a competing event; censored for Kaplan-Meier):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> tte = time_to_event(outcomes, cohort.scores, cohort.clients)
    >>> remission = tte[tte["definition"] == "remission"]
    >>> remission[["id", "start_time", "end_time", "duration", "weeks", "event",
    ...            "event_type"]].head(3)
            id  start_time  end_time  duration  weeks  event  event_type
    0  C000001         1.0       2.0       1.0    2.0      1           1
    1  C000002         1.0      12.0      11.0   12.0      0           2
    2  C000003         1.0       3.0       2.0    2.0      0           2

    Of the 53 clients evaluable for remission, 13 met it (as many as notebook 01 counts: the
    event is sustained remission), 17 dropped out first and 23 ended otherwise:

    >>> remission["event_type"].value_counts().sort_index().to_dict()
    {0: 23, 1: 13, 2: 17}

    With a landmark at session 3, time counts from session 3, and the records that cannot enter
    are counted in ``attrs["excluded"]``:

    >>> landmark = time_to_event(outcomes, cohort.scores, cohort.clients, landmark=3)
    >>> excluded = excluded_records(landmark)
    >>> excluded.loc[excluded["definition"] == "remission", ["reason", "n"]].to_numpy().tolist()
    [['event by the landmark (3)', 4], ['follow-up ended by the landmark (3)', 12]]
    """
    if event not in EVENT_DEFINITIONS:
        raise ValueError(f"event must be one of {list(EVENT_DEFINITIONS)}, got {event!r}")
    if landmark is not None:
        try:
            lm = float(landmark)
        except (TypeError, ValueError):
            lm = np.nan
        if not (np.isfinite(lm) and lm >= 0) or isinstance(landmark, bool):
            raise ValueError(
                f"landmark must be a time point >= 0 in the cohort's time unit (e.g. session 3), "
                f"got {landmark!r}"
            )
    need = [
        "id",
        "definition",
        "status",
        "baseline_time",
        "post_time",
        "first_met_time",
        "met_time",
    ]
    miss = [c for c in need if c not in outcomes.columns]
    if miss:
        raise ValueError(
            f"the outcomes table lacks column(s) {miss}; expected the table of "
            "analysis.outcomes.engine.score_definitions"
        )
    ev = outcomes.loc[outcomes["status"].isin(["met", "not_met"])]
    fam = ev["family"] if "family" in ev.columns else pd.Series("", index=ev.index)
    meas = ev["measures"] if "measures" in ev.columns else pd.Series("", index=ev.index)
    when = ev["met_time" if event == "sustained" else "first_met_time"].to_numpy(float)
    if event == "sustained":
        when = np.where(ev["status"].eq("met").to_numpy(), when, np.nan)
    t0 = ev["baseline_time"].to_numpy(float)
    t1 = ev["post_time"].to_numpy(float)
    hit = ~np.isnan(when)
    end = np.where(hit, when, t1)
    start = t0.copy()
    why = np.full(len(ev), "", dtype=object)
    # equal times are explained (no time at risk); earlier ones are errors, raised below
    why[hit & (when == t0)] = "met at the first assessment (no time at risk)"
    why[(why == "") & ~hit & (t1 == t0)] = "no assessment after baseline (post score imputed)"
    if landmark is not None:
        why[(why == "") & hit & (when <= lm)] = f"event by the landmark ({lm:g})"
        why[(why == "") & ~hit & (t1 <= lm)] = f"follow-up ended by the landmark ({lm:g})"
        why[(why == "") & (t0 > lm)] = f"baseline after the landmark ({lm:g})"
        start = np.full(len(ev), lm)
    keep = why == ""
    excluded = (
        pd.DataFrame({"definition": ev["definition"].to_numpy()[~keep], "reason": why[~keep]})
        .value_counts(sort=False)
        .rename("n")
        .reset_index()
    )
    dur = end - start
    bad = keep & ~(dur > 0)
    if bad.any():
        shown = ev.loc[bad, ["id", "definition"]].head(10)
        raise ValueError(
            f"{int(bad.sum())} time-to-event record(s) have a duration <= 0 or missing "
            "(event or end of follow-up not after the start); clients: "
            + ", ".join(f"{i} ({d})" for i, d in zip(shown["id"], shown["definition"], strict=True))
        )
    ids = ev["id"].to_numpy()
    if end_reason in clients.columns:
        reason = pd.Series(ids).map(clients.set_index("id")[end_reason]).fillna("unknown")
        reason = reason.astype(str).to_numpy()
    else:
        reason = np.full(len(ev), "unknown", dtype=object)
    etype = np.where(hit, 1, np.where(reason == "dropout", 2, 0))
    weeks = np.full(len(ev), np.nan)
    if scores is not None and "date" in scores.columns:
        dates = (
            scores.loc[scores["date"].notna(), ["id", "time", "date"]]
            .drop_duplicates(["id", "time"])
            .set_index(["id", "time"])["date"]
        )
        dates = pd.to_datetime(dates)
        d0 = dates.reindex(pd.MultiIndex.from_arrays([ids, start])).to_numpy()
        d1 = dates.reindex(pd.MultiIndex.from_arrays([ids, end])).to_numpy()
        weeks = (d1 - d0) / np.timedelta64(1, "D") / 7.0
    out = pd.DataFrame(
        {
            "id": ids,
            "definition": ev["definition"].to_numpy(),
            "family": fam.to_numpy(),
            "measures": meas.to_numpy(),
            "start_time": start,
            "end_time": end,
            "duration": dur,
            "weeks": np.asarray(weeks, dtype=float),
            "event": hit.astype(int),
            "event_type": etype.astype(int),
            "end_reason": reason,
        }
    ).loc[keep]
    out = out.reset_index(drop=True)
    records = tuple(
        (str(d), str(r), int(n))
        for d, r, n in zip(excluded["definition"], excluded["reason"], excluded["n"], strict=True)
    )
    out.attrs.update(event=event, landmark=landmark, excluded=records)
    return out


def excluded_records(tte: pd.DataFrame) -> pd.DataFrame:
    """The records :func:`time_to_event` could not enter, as a table.

    Parameters
    ----------
    tte : pandas.DataFrame
        Output of :func:`time_to_event` (reads ``attrs["excluded"]``; a frame without it, e.g.
        one built by hand, has no excluded record).

    Returns
    -------
    pandas.DataFrame
        ``definition``, ``reason`` (met at the first assessment, no assessment after baseline,
        event or end of follow-up by the landmark, baseline after the landmark), ``n``
        (client-definition records, int); zero rows when none was excluded.

    Examples
    --------
    Two clients met the definition at their first assessment (no time at risk); one has time
    at risk from session 1 to 4:

    >>> out = pd.DataFrame({"id": ["a", "b", "c"], "definition": "remission",
    ...                     "status": "met", "baseline_time": 1.0, "post_time": 4.0,
    ...                     "first_met_time": [1.0, 1.0, 4.0], "met_time": [1.0, 1.0, 4.0]})
    >>> tte = time_to_event(out, None, pd.DataFrame({"id": ["a", "b", "c"]}))
    >>> len(tte), excluded_records(tte).to_numpy().tolist()
    (1, [['remission', 'met at the first assessment (no time at risk)', 2]])
    """
    records = tte.attrs.get("excluded", ())
    if isinstance(records, pd.DataFrame):  # a table stored by an older version
        return records.reset_index(drop=True)
    out = pd.DataFrame(list(records), columns=list(_EXCLUDED_COLUMNS))
    return out.astype({"definition": object, "reason": object, "n": int})


def check_durations(
    data: pd.DataFrame, duration: str, *, event: str | None = None, unit: str = "sessions"
) -> pd.DataFrame:
    """Refuse durations a survival model must not see.

    Call before fitting Kaplan-Meier, cumulative incidence or Cox models (lifelines silently
    accepts some of these or fails with an unclear message).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per client; not modified.
    duration : str
        Column of time to event or censoring (``unit``), must be finite and >= 0.
    event : str, optional
        Event indicator column; when given it must be 0/1 (or boolean) without missing values.
    unit : str
        Unit named in messages (``sessions``, ``weeks``, ``days``).

    Returns
    -------
    pandas.DataFrame
        ``data`` itself (unchanged) when valid, so calls can be chained.

    Raises
    ------
    ValueError
        Naming the column, the unit and the first offending rows (index labels and values) when a
        duration is missing, not a number, infinite or negative, or an event flag is not 0/1.
    TypeError
        If ``data`` is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> ok = pd.DataFrame({"duration": [3.0, 0.0, 12.0], "event": [1, 0, 1]})
    >>> check_durations(ok, "duration", event="event") is ok
    True
    >>> check_durations(pd.DataFrame({"duration": [3.0, -1.0]}), "duration")
    Traceback (most recent call last):
    ...
    ValueError: column 'duration': 1 duration(s) negative; ... First rows: 1: -1.0
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if duration not in data.columns:
        raise ValueError(f"duration column {duration!r} not in data; found {list(data.columns)}")
    d = pd.to_numeric(data[duration], errors="coerce")
    problems = {
        "missing or not a number": d.isna(),
        "infinite": np.isinf(d),
        "negative": d < 0,
    }
    for what, mask in problems.items():
        if mask.any():
            shown = data.loc[mask, duration].head(5)
            raise ValueError(
                f"column '{duration}': {int(mask.sum())} duration(s) {what}; survival analysis "
                f"needs finite durations >= 0 {unit}. First rows: "
                + ", ".join(f"{i}: {v}" for i, v in shown.items())
            )
    if event is not None:
        if event not in data.columns:
            raise ValueError(f"event column {event!r} not in data")
        e = data[event]
        bad = e.isna() | ~e.isin([0, 1, True, False])
        if bad.any():
            shown = e[bad].head(5)
            raise ValueError(
                f"column '{event}': {int(bad.sum())} event flag(s) not 0/1. First rows: "
                + ", ".join(f"{i}: {v}" for i, v in shown.items())
            )
    return data


def _groups(tte: pd.DataFrame, duration: str):
    """Yield ``(definition, records with a duration, number of records without one)``.

    A record without a duration (``weeks`` where the assessments have no date) cannot enter a
    survival estimate; it is counted, never dropped silently (``n_no_duration``).
    """
    if duration not in tte.columns:
        raise ValueError(f"column {duration!r} not in the time-to-event table")
    for d in dict.fromkeys(tte["definition"]):
        mine = tte.loc[tte["definition"] == d]
        has = mine[duration].notna()
        sub = mine.loc[has]
        check_durations(sub, duration, event="event")
        yield d, sub, int((~has).sum())


def cox_separation(data: pd.DataFrame, duration: str, event: str, covariates: list[str]) -> str:
    """Detect monotone likelihood (separation) in a Cox model: no finite hazard ratio exists.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per client: ``duration``, ``event`` (0/1) and numeric ``covariates``. Not
        modified.
    duration, event : str
        Column names.
    covariates : list of str
        Covariate columns (numeric; dummies for categories).

    Returns
    -------
    str
        "" when no covariate separates; else the reason, naming the covariate.

    Notes
    -----
    The partial likelihood of one covariate is monotone, and its estimate infinite, when at
    every event time the client with the event has the largest (or at every event time the
    smallest) covariate value of the risk set, ties included (Bryson & Johnson 1981; Heinze &
    Schemper 2001), e.g. one arm has every event before any client of the other arm has one.
    Checked one covariate at a time; a combination of covariates that separates is caught by the
    fit's convergence check of :func:`cox_models`.

    References
    ----------
    Bryson M.C. & Johnson M.E. (1981) The incidence of monotone likelihood in the Cox model.
    Technometrics 23(4):381-383.
    Heinze G. & Schemper M. (2001) A solution to the problem of monotone likelihood in Cox
    regression. Biometrics 57(1):114-119.

    Examples
    --------
    >>> d = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 0], "x": [1.0, 1, 0, 0]})
    >>> cox_separation(d, "t", "e", ["x"])
    "covariate 'x': every event has the largest value at risk (monotone likelihood)"
    """
    d = data.sort_values(duration, kind="stable")
    t = d[duration].to_numpy(float)
    e = d[event].to_numpy(int) == 1
    if not e.any():
        return ""
    first_at = np.searchsorted(t, t, side="left")  # risk set at t_i: rows first_at[i]:
    for cov in covariates:
        x = d[cov].to_numpy(float)
        if np.ptp(x) == 0:
            continue
        smax = np.maximum.accumulate(x[::-1])[::-1]
        smin = np.minimum.accumulate(x[::-1])[::-1]
        for side, ok in (
            ("largest", x[e] >= smax[first_at[e]]),
            ("smallest", x[e] <= smin[first_at[e]]),
        ):
            if np.all(ok):
                return (
                    f"covariate {cov!r}: every event has the {side} value at risk "
                    "(monotone likelihood)"
                )
    return ""


def km_summary(tte: pd.DataFrame, duration: str = "duration", alpha: float = 0.05) -> pd.DataFrame:
    """Median time to first success per definition (Kaplan-Meier), with its confidence interval.

    Parameters
    ----------
    tte : pandas.DataFrame
        Output of :func:`time_to_event`.
    duration : str
        ``"duration"`` (cohort time unit) or ``"weeks"``.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per definition: ``definition``, ``n`` (records with a duration), ``n_met``,
        ``n_dropout`` (censored by dropout), ``n_censored_other``, ``n_no_duration`` (records
        left out because their ``duration`` is missing, e.g. ``weeks`` where the assessments
        have no date; not in ``n``), ``median`` (time at which half are estimated to have met
        the definition; NaN when the curve never reaches 50 %), ``median_ci_low``,
        ``median_ci_high`` (NaN = not reached), ``proportion_met_end`` (1 - KM at the last time;
        NaN without a record). Times are in the unit of ``duration`` (the cohort's: sessions,
        weeks or months; or weeks); counts are client-definition records. No record at all (e.g.
        a baseline-only export): these columns with zero rows (:data:`KM_SUMMARY_COLUMNS`).

    Raises
    ------
    ValueError
        If the ``duration`` column is missing, or a duration is negative, infinite or not a
        number, or an event flag is not 0/1 (:func:`check_durations`, naming the rows).

    Notes
    -----
    Kaplan-Meier product-limit estimate of the probability of not yet having met the definition,
    with censoring at dropout and at the end of follow-up (lifelines ``KaplanMeierFitter``); the
    median's interval is the set of times at which the pointwise (exponential Greenwood) band
    crosses 0.5 (lifelines ``median_survival_times``; Brookmeyer & Crowley 1982).

    References
    ----------
    Kaplan E.L. & Meier P. (1958) J Am Stat Assoc 53(282):457-481.
    Brookmeyer R. & Crowley J. (1982) A confidence interval for the median survival time.
    Biometrics 38(1):29-41.

    Examples
    --------
    >>> tte = pd.DataFrame({"definition": "A", "duration": [2, 4, 4, 6, 8, 8.0],
    ...                     "event": [1, 1, 0, 1, 0, 0], "event_type": [1, 1, 0, 1, 0, 0]})
    >>> res = km_summary(tte)  # S(6) = 5/6 * 4/5 * 2/3 = 4/9, so 1 - 4/9 met by the end
    >>> float(res["median"].iloc[0]), round(float(res["proportion_met_end"].iloc[0]), 3)
    (6.0, 0.556)

    On the bundled simulated cohort (60 clients, time in sessions): half of the clients are
    estimated to show reliable improvement (PHQ-9) 6 sessions after their baseline; remission
    and response never reach 50 % (median NaN, not reached):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> tte = time_to_event(outcomes, cohort.scores, cohort.clients)
    >>> three = tte[tte["definition"].isin(["remission", "response", "reliable_improvement"])]
    >>> km = km_summary(three)
    >>> km[["definition", "n", "n_met", "median", "median_ci_low", "proportion_met_end"]].round(3)
                 definition   n  n_met  median  median_ci_low  proportion_met_end
    0             remission  53     13     NaN            8.0               0.347
    1              response  58     23     NaN            3.0               0.448
    2  reliable_improvement  58     33     6.0            2.0               0.639
    """
    rows = []
    for d, sub, n_none in _groups(tte, duration):
        row = {
            "definition": d,
            "n": len(sub),
            "n_met": int(sub["event"].sum()),
            "n_dropout": int((sub["event_type"] == 2).sum()),
            "n_censored_other": int((sub["event_type"] == 0).sum()),
            "n_no_duration": n_none,
            "median": np.nan,
            "median_ci_low": np.nan,
            "median_ci_high": np.nan,
            "proportion_met_end": np.nan,
        }
        if len(sub):
            kmf = KaplanMeierFitter(alpha=alpha).fit(sub[duration], sub["event"])
            ci = median_survival_times(kmf.confidence_interval_survival_function_)
            med = float(kmf.median_survival_time_)

            def fin(v):
                return float(v) if np.isfinite(v) else np.nan

            row.update(
                median=fin(med),
                median_ci_low=fin(ci.iloc[0, 0]),
                median_ci_high=fin(ci.iloc[0, 1]),
                proportion_met_end=1.0 - float(kmf.survival_function_.iloc[-1, 0]),
            )
        rows.append(row)
    out = pd.DataFrame(rows, columns=list(KM_SUMMARY_COLUMNS))
    counts = ["n", "n_met", "n_dropout", "n_censored_other", "n_no_duration"]
    return out.astype({c: int for c in counts} | {c: float for c in KM_SUMMARY_COLUMNS[6:]})


def km_curves(tte: pd.DataFrame, duration: str = "duration", alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier curves of the cumulative proportion having met each definition.

    Parameters
    ----------
    tte : pandas.DataFrame
        Output of :func:`time_to_event`.
    duration : str
        ``"duration"`` or ``"weeks"``.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        Long: ``definition``, ``time``, ``proportion_met`` (1 - KM, 0-1), ``ci_low``,
        ``ci_high`` (pointwise, exponential Greenwood), ``at_risk``, ``n_no_duration`` (the
        definition's records left out because their ``duration`` is missing, e.g. ``weeks``
        without dates). ``attrs["n_no_duration"]`` maps every definition with such records to
        their count, also one left without any curve.

    Examples
    --------
    Reliable improvement (PHQ-9) on the bundled simulated cohort (60 clients, time in sessions
    since each client's baseline): 21 of the 58 clients at risk improved reliably one session
    after baseline (21/58 = 0.362), 6 of the 35 still at risk at session 2, so
    1 - (37/58)(29/35) = 0.471 by then:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> tte = time_to_event(outcomes, cohort.scores, cohort.clients)
    >>> improved = tte[tte["definition"] == "reliable_improvement"]
    >>> curve = km_curves(improved)
    >>> curve[["time", "proportion_met", "ci_low", "ci_high", "at_risk"]].head(3).round(3)
       time  proportion_met  ci_low  ci_high  at_risk
    0   0.0           0.000   0.000    0.000       58
    1   1.0           0.362   0.253    0.499       58
    2   2.0           0.471   0.352    0.608       35
    """
    parts, no_duration = [], {}
    for d, sub, n_none in _groups(tte, duration):
        if n_none:
            no_duration[str(d)] = n_none
        if not len(sub):
            continue
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub[duration], sub["event"])
        s = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        parts.append(
            pd.DataFrame(
                {
                    "definition": d,
                    "time": s.index.to_numpy(dtype=float),
                    "proportion_met": 1.0 - s.to_numpy(),
                    "ci_low": 1.0 - ci.iloc[:, 1].to_numpy(),
                    "ci_high": 1.0 - ci.iloc[:, 0].to_numpy(),
                    "at_risk": kmf.event_table["at_risk"].reindex(s.index).to_numpy(),
                    "n_no_duration": n_none,
                }
            )
        )
    cols = ["definition", "time", "proportion_met", "ci_low", "ci_high", "at_risk", "n_no_duration"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out.attrs["n_no_duration"] = no_duration
    return out


class _TiedAalenJohansenFitter(AalenJohansenFitter):
    """lifelines' Aalen-Johansen estimator without random jittering of tied times.

    lifelines jitters event times at random when events of different types share a time, but its
    estimator ``sum S(t-) d_1(t) / n(t)`` over the event table is the exact discrete-time
    Aalen-Johansen estimator for tied data (as in R ``survival::survfit`` with a multi-state
    status). Sessions and months are discrete, so ties are the rule; jittering would make the
    result random. This subclass only switches the tie check off.
    """

    @staticmethod
    def _check_for_duplicates(durations, events):  # noqa: ARG004 - signature of the parent
        return False


def cumulative_incidence(
    tte: pd.DataFrame, duration: str = "duration", alpha: float = 0.05
) -> pd.DataFrame:
    """Cumulative incidence of first success with dropout as a competing risk (Aalen-Johansen).

    Parameters
    ----------
    tte : pandas.DataFrame
        Output of :func:`time_to_event` (``event_type``: 1 met, 2 dropout, 0 censored).
    duration : str
        ``"duration"`` or ``"weeks"``.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        Long: ``definition``, ``time``, ``cumulative_incidence`` (0-1), ``ci_low``, ``ci_high``
        (log-log transformed Greenwood-type interval of lifelines; NaN where undefined),
        ``n_no_duration`` (records left out because their ``duration`` is missing, as in
        :func:`km_curves`, with the same ``attrs["n_no_duration"]``).

    Notes
    -----
    ``CIF(t) = sum_{s <= t} S(s-) d_met(s) / n(s)``, with ``S`` the Kaplan-Meier estimate of
    remaining free of either event. Unlike 1 - KM with dropout censored, it does not assume that
    dropouts would have succeeded at the same rate as those who stayed.

    References
    ----------
    Aalen O.O. & Johansen S. (1978) An empirical transition matrix for non-homogeneous Markov
    chains based on censored observations. Scand J Stat 5(3):141-150.
    Collett D. (2015) Modelling Survival Data in Medical Research, 3rd ed., CRC Press, p. 411
    (variance used by lifelines).

    Examples
    --------
    Reliable improvement (PHQ-9) on the bundled simulated cohort (60 clients, sessions): with
    dropout a competing event, 59.9 % have improved reliably by session 19, against 63.9 % by
    1 - Kaplan-Meier (:func:`km_curves`), which treats dropouts as if they could still improve:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> tte = time_to_event(outcomes, cohort.scores, cohort.clients)
    >>> improved = tte[tte["definition"] == "reliable_improvement"]
    >>> cif = cumulative_incidence(improved)
    >>> cif[["time", "cumulative_incidence", "ci_low", "ci_high"]].tail(1).round(3)
        time  cumulative_incidence  ci_low  ci_high
    15  19.0                 0.599   0.454    0.717
    >>> round(float(km_curves(improved)["proportion_met"].iloc[-1]), 3)
    0.639
    """
    parts, no_duration = [], {}
    for d, sub, n_none in _groups(tte, duration):
        if n_none:
            no_duration[str(d)] = n_none
        if not len(sub) or not (sub["event_type"] == 1).any():
            continue
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 variance where all at risk fail
            ajf = _TiedAalenJohansenFitter(alpha=alpha).fit(
                sub[duration], sub["event_type"], event_of_interest=1
            )
        cif = ajf.cumulative_density_.iloc[:, 0]
        ci = (
            ajf.confidence_interval_cumulative_density_
            if hasattr(ajf, "confidence_interval_cumulative_density_")
            else ajf.confidence_interval_
        )
        # lifelines 0.30 labels its two bounds the wrong way round; take them by value instead
        b1 = ci.iloc[:, 0].reindex(cif.index).to_numpy(dtype=float)
        b2 = ci.iloc[:, 1].reindex(cif.index).to_numpy(dtype=float)
        parts.append(
            pd.DataFrame(
                {
                    "definition": d,
                    "time": cif.index.to_numpy(dtype=float),
                    "cumulative_incidence": cif.to_numpy(dtype=float),
                    "ci_low": np.fmin(b1, b2),
                    "ci_high": np.fmax(b1, b2),
                    "n_no_duration": n_none,
                }
            )
        )
    cols = ["definition", "time", "cumulative_incidence", "ci_low", "ci_high", "n_no_duration"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out.attrs["n_no_duration"] = no_duration
    return out


def logrank_by_group(
    tte: pd.DataFrame, clients: pd.DataFrame, group: str = "arm", duration: str = "duration"
) -> pd.DataFrame:
    """Log-rank test of equal time to first success between groups (e.g. arms), per definition.

    Parameters
    ----------
    tte : pandas.DataFrame
        Output of :func:`time_to_event`.
    clients : pandas.DataFrame
        Client table with ``id`` and ``group``.
    group : str
        Grouping column of the client table.
    duration : str
        ``"duration"`` or ``"weeks"``.

    Returns
    -------
    pandas.DataFrame
        One row per definition: ``definition``, ``groups`` (the group labels, ";"-joined),
        ``n``, ``n_met``, ``test_statistic`` (chi-square), ``df``, ``p_value``; NaN with a
        ``note`` when fewer than two groups have clients; ``n_no_duration`` (records left out
        because their ``duration`` is missing, not in ``n``).

    Raises
    ------
    ValueError
        If ``group`` is not a client-table column.

    References
    ----------
    Mantel N. (1966) Cancer Chemother Rep 50(3):163-170 (lifelines
    ``multivariate_logrank_test``).

    Examples
    --------
    The two arms of the bundled simulated cohort (60 clients, sessions), three PHQ-9 definitions:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> tte = time_to_event(outcomes, cohort.scores, cohort.clients)
    >>> three = tte[tte["definition"].isin(["remission", "response", "reliable_improvement"])]
    >>> test = logrank_by_group(three, cohort.clients, group="arm")
    >>> test[["definition", "groups", "n", "n_met", "test_statistic", "df", "p_value"]].round(3)
                 definition groups   n  n_met  test_statistic  df  p_value
    0             remission    A;B  53     13           0.687   1    0.407
    1              response    A;B  58     23           1.052   1    0.305
    2  reliable_improvement    A;B  58     33           1.578   1    0.209
    """
    if group not in clients.columns:
        raise ValueError(f"column {group!r} not in the client table ({list(clients.columns)})")
    g = clients.set_index("id")[group]
    rows = []
    for d, sub, n_none in _groups(tte, duration):
        lab = sub["id"].map(g)
        keep = lab.notna()
        sub, lab = sub.loc[keep], lab.loc[keep].astype(str)
        levels = sorted(lab.unique())
        row = {
            "definition": d,
            "groups": ";".join(levels),
            "n": len(sub),
            "n_met": int(sub["event"].sum()),
            "test_statistic": np.nan,
            "df": np.nan,
            "p_value": np.nan,
            "note": "",
            "n_no_duration": n_none,
        }
        if len(levels) < 2:
            row["note"] = "fewer than two groups"
        elif sub["event"].sum() == 0:
            row["note"] = "no client met the definition"
        else:
            res = multivariate_logrank_test(sub[duration], lab, sub["event"])
            row.update(
                test_statistic=float(res.test_statistic),
                df=int(res.degrees_of_freedom),
                p_value=float(res.p_value),
            )
        rows.append(row)
    cols = ["definition", "groups", "n", "n_met", "test_statistic", "df", "p_value", "note"]
    return pd.DataFrame(rows, columns=[*cols, "n_no_duration"])


def cox_models(
    tte: pd.DataFrame,
    covariates: pd.DataFrame,
    duration: str = "duration",
    alpha: float = 0.05,
    min_events: int = 10,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cox proportional-hazards model of time to first success per definition, with the PH check.

    Parameters
    ----------
    tte : pandas.DataFrame
        Output of :func:`time_to_event`.
    covariates : pandas.DataFrame
        ``id`` plus covariate columns (e.g. ``baseline_severity`` in points, ``early_alliance``
        in points, ``arm``). Numeric columns enter as they are; other columns are dummy-coded
        against their first level (sorted). Clients with a missing covariate are left out.
    duration : str
        ``"duration"`` or ``"weeks"``.
    alpha : float
        1 - confidence level.
    min_events : int
        Smallest number of successes for a model to be fitted.

    Returns
    -------
    (coefficients, ph_test) : tuple of pandas.DataFrame
        ``coefficients``: ``definition``, ``covariate``, ``hazard_ratio`` (per unit: per point
        for scores), ``ci_low``, ``ci_high``, ``p_value``, ``n``, ``n_met``, ``note``,
        ``n_no_duration`` (records left out because their ``duration`` is missing, not in
        ``n``). A model
        that cannot be estimated (monotone likelihood by :func:`cox_separation`, a fit that does
        not converge or has non-finite standard errors) gives one row with NaN estimates and
        ``note`` "not estimable: <reason>", never a hazard ratio.
        ``ph_test``: ``definition``, ``covariate``, ``test_statistic``, ``p_value`` of the
        Grambsch-Therneau test on rank-transformed time (a small p suggests the hazard ratio
        changes over time), ``note``.

    Raises
    ------
    ValueError
        If ``covariates`` lacks ``id`` or has no other column.

    References
    ----------
    Cox D.R. (1972) J R Stat Soc B 34(2):187-220.
    Grambsch P.M. & Therneau T.M. (1994) Proportional hazards tests and diagnostics based on
    weighted residuals. Biometrika 81(3):515-526 (lifelines ``proportional_hazard_test``).

    Examples
    --------
    Time to remission on the bundled simulated cohort (60 clients, sessions) by baseline PHQ-9
    (points) and arm: each baseline point lowers the hazard of remitting by 13 %:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> tte = time_to_event(outcomes, cohort.scores, cohort.clients)
    >>> remission = tte[tte["definition"] == "remission"]
    >>> baseline = outcomes.loc[outcomes["definition"] == "remission", ["id", "baseline"]]
    >>> covariates = baseline.merge(cohort.clients[["id", "arm"]], on="id")
    >>> coefficients, ph_test = cox_models(remission, covariates)
    >>> coefficients[["covariate", "hazard_ratio", "ci_low", "ci_high", "p_value", "n",
    ...               "n_met"]].round(3)
      covariate  hazard_ratio  ci_low  ci_high  p_value   n  n_met
    0  baseline          0.87   0.760    0.996    0.044  53     13
    1     arm_B          0.66   0.221    1.975    0.458  53     13
    >>> ph_test[["covariate", "test_statistic", "p_value"]].round(3)
      covariate  test_statistic  p_value
    0     arm_B           0.668    0.414
    1  baseline           2.221    0.136
    """
    if "id" not in covariates.columns or covariates.shape[1] < 2:
        raise ValueError("covariates needs an 'id' column and at least one covariate column")
    cov = covariates.set_index("id")
    cat = [c for c in cov.columns if not pd.api.types.is_numeric_dtype(cov[c])]
    design = pd.get_dummies(cov, columns=cat, drop_first=True, dtype=float) if cat else cov
    design = design.astype(float)
    coef_rows, ph_rows = [], []
    for d, sub, n_none in _groups(tte, duration):
        data = sub[["id", duration, "event"]].merge(design, left_on="id", right_index=True)
        data = data.dropna().drop(columns="id")
        xcols = [c for c in design.columns if data[c].nunique() > 1]
        n, n_met = len(data), int(data["event"].sum())
        note = ""
        if n_met < min_events:
            note = f"fewer than {min_events} successes"
        elif not xcols:
            note = "no covariate varies"
        if note:
            coef_rows.append(
                {
                    "definition": d,
                    "covariate": "",
                    "hazard_ratio": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": np.nan,
                    "n": n,
                    "n_met": n_met,
                    "note": note,
                    "n_no_duration": n_none,
                }
            )
            continue
        why = cox_separation(data, duration, "event", xcols)
        cph = None
        if not why:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    cph = CoxPHFitter(alpha=alpha).fit(
                        data[[duration, "event", *xcols]], duration_col=duration, event_col="event"
                    )
                    ph = proportional_hazard_test(
                        cph, data[[duration, "event", *xcols]], time_transform="rank"
                    )
                except (ConvergenceError, np.linalg.LinAlgError, ValueError) as exc:
                    why = f"the fit did not converge ({str(exc).splitlines()[0][:100]})"
            msgs = sorted({str(w.message).split("\n")[0][:120] for w in caught})
            conv = [m for m in msgs if "converge" in m.lower() or "separation" in m.lower()]
            if not why and conv:
                why = f"the fit did not converge ({conv[0]})"
            if not why and not np.all(np.isfinite(cph.summary["se(coef)"].to_numpy(float))):
                why = "standard errors are not finite"
            note = "; ".join(msgs)
        if why:
            coef_rows.append(
                {
                    "definition": d,
                    "covariate": ", ".join(xcols),
                    "hazard_ratio": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": np.nan,
                    "n": n,
                    "n_met": n_met,
                    "note": f"not estimable: {why}",
                    "n_no_duration": n_none,
                }
            )
            continue
        s = cph.summary
        lo = [c for c in s.columns if c.startswith("exp(coef) lower")][0]
        hi = [c for c in s.columns if c.startswith("exp(coef) upper")][0]
        for cov_name, r in s.iterrows():
            coef_rows.append(
                {
                    "definition": d,
                    "covariate": cov_name,
                    "hazard_ratio": float(r["exp(coef)"]),
                    "ci_low": float(r[lo]),
                    "ci_high": float(r[hi]),
                    "p_value": float(r["p"]),
                    "n": n,
                    "n_met": n_met,
                    "note": note,
                    "n_no_duration": n_none,
                }
            )
        for cov_name, r in ph.summary.iterrows():
            name = cov_name[0] if isinstance(cov_name, tuple) else cov_name
            ph_rows.append(
                {
                    "definition": d,
                    "covariate": name,
                    "test_statistic": float(r["test_statistic"]),
                    "p_value": float(r["p"]),
                    "note": note,
                }
            )
    coef = pd.DataFrame(
        coef_rows,
        columns=[
            "definition",
            "covariate",
            "hazard_ratio",
            "ci_low",
            "ci_high",
            "p_value",
            "n",
            "n_met",
            "note",
            "n_no_duration",
        ],
    )
    ph = pd.DataFrame(
        ph_rows, columns=["definition", "covariate", "test_statistic", "p_value", "note"]
    )
    # numeric even when no model was fitted (an empty frame's columns would be object)
    coef = coef.astype({c: float for c in ("hazard_ratio", "ci_low", "ci_high", "p_value")})
    coef = coef.astype({"n": int, "n_met": int, "n_no_duration": int})
    ph = ph.astype({"test_statistic": float, "p_value": float})
    return coef, ph
