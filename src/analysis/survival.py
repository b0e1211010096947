"""How fast is each definition met? Time to first success, Kaplan-Meier, competing risks, Cox.

The starting point is the per-client outcomes table (:mod:`analysis.outcomes`): its ``first_met``
column is the first time point after baseline at which a definition's criterion held. Together with
the scores (for the last observed time) and the client table (for the end reason), every evaluable
client x definition becomes one time-to-event record: the time from baseline to the first
success, or to the last observation when success was never seen. Dropout ends follow-up: it is
censoring for Kaplan-Meier and a competing event for the Aalen-Johansen cumulative incidence; a
planned end of treatment, or a course still ongoing, is censoring. All estimators are lifelines'.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times

__all__ = [
    "EVENT_CODES",
    "time_to_event",
    "km_summary",
    "km_curves",
    "cumulative_incidence",
    "logrank_by_group",
    "cox_models",
]

EVENT_CODES = {0: "censored (end of treatment, ongoing or unknown)", 1: "met", 2: "dropout"}


def time_to_event(
    outcomes: pd.DataFrame,
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    end_reason: str = "end_reason",
) -> pd.DataFrame:
    """One time-to-first-success record per evaluable client x definition.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table (``id, definition, family, measure, status, first_met``). Only rows
        with status ``met`` or ``not_met`` are used. Not modified.
    scores : pandas.DataFrame
        Long scores (``id, time, measure, score``, optional ``date``). Baseline time of a measure
        is its earliest time in the data (as in :func:`analysis.outcomes.prepost`); the last
        observed time is the client's latest non-missing score on the definition's measure.
    clients : pandas.DataFrame
        Client table with ``id`` and, when known, the ``end_reason`` column (planned / dropout /
        ongoing / unknown). Without it nobody is counted as a dropout.
    end_reason : str
        Name of the end-reason column.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``definition``, ``family``, ``measure``, ``duration`` (time since baseline in the
        cohort's time unit: sessions, weeks or months), ``weeks`` (days between the baseline and
        the event or censoring dates / 7; NaN without a ``date`` column), ``event`` (1 met, 0
        not), ``event_type`` (1 met, 2 dropout before success, 0 other censoring: see
        :data:`EVENT_CODES`), ``end_reason``. Holds identifiers: for computation, not display.

    Raises
    ------
    ValueError
        If a needed column is missing.
    """
    need = ["id", "definition", "measure", "status", "first_met"]
    miss = [c for c in need if c not in outcomes.columns]
    if miss:
        raise ValueError(f"the outcomes table lacks column(s) {miss}")
    miss = [c for c in ("id", "time", "measure", "score") if c not in scores.columns]
    if miss:
        raise ValueError(f"the scores lack column(s) {miss}")
    ev = outcomes.loc[outcomes["status"].isin(["met", "not_met"])].copy()
    if "family" not in ev.columns:
        ev["family"] = ""
    obs = scores.loc[scores["score"].notna() & scores["measure"].isin(ev["measure"].unique())]
    t0 = scores.groupby("measure")["time"].min().rename("t0")
    last = obs.groupby(["id", "measure"])["time"].max().rename("last_time")
    ev = ev.merge(t0, left_on="measure", right_index=True, how="left")
    ev = ev.merge(last, left_on=["id", "measure"], right_index=True, how="left")
    event = ev["first_met"].notna()
    end_time = ev["first_met"].where(event, ev["last_time"])
    if end_reason in clients.columns:
        reason = ev["id"].map(clients.set_index("id")[end_reason]).fillna("unknown").astype(str)
    else:
        reason = pd.Series("unknown", index=ev.index)
    etype = np.where(event, 1, np.where(reason.eq("dropout"), 2, 0))
    weeks = np.full(len(ev), np.nan)
    if "date" in scores.columns:
        dates = (
            scores.loc[scores["date"].notna(), ["id", "measure", "time", "date"]]
            .drop_duplicates(["id", "measure", "time"])
            .set_index(["id", "measure", "time"])["date"]
        )
        dates = pd.to_datetime(dates)
        d0 = dates.reindex(pd.MultiIndex.from_arrays([ev["id"], ev["measure"], ev["t0"]]))
        d1 = dates.reindex(pd.MultiIndex.from_arrays([ev["id"], ev["measure"], end_time]))
        weeks = (d1.to_numpy() - d0.to_numpy()) / np.timedelta64(1, "D") / 7.0
    out = pd.DataFrame(
        {
            "id": ev["id"].to_numpy(),
            "definition": ev["definition"].to_numpy(),
            "family": ev["family"].to_numpy(),
            "measure": ev["measure"].to_numpy(),
            "duration": (end_time - ev["t0"]).to_numpy(dtype=float),
            "weeks": np.asarray(weeks, dtype=float),
            "event": event.astype(int).to_numpy(),
            "event_type": etype.astype(int),
            "end_reason": reason.to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def _groups(tte: pd.DataFrame, duration: str):
    if duration not in tte.columns:
        raise ValueError(f"column {duration!r} not in the time-to-event table")
    for d in dict.fromkeys(tte["definition"]):
        sub = tte.loc[(tte["definition"] == d) & tte[duration].notna()]
        yield d, sub


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
        One row per definition: ``definition``, ``n``, ``n_met``, ``n_dropout`` (censored by
        dropout), ``n_censored_other``, ``median`` (time at which half are estimated to have met
        the definition; NaN when the curve never reaches 50 %), ``median_ci_low``,
        ``median_ci_high`` (NaN = not reached), ``proportion_met_end`` (1 - KM at the last time).

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
    """
    rows = []
    for d, sub in _groups(tte, duration):
        row = {
            "definition": d,
            "n": len(sub),
            "n_met": int(sub["event"].sum()),
            "n_dropout": int((sub["event_type"] == 2).sum()),
            "n_censored_other": int((sub["event_type"] == 0).sum()),
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
    return pd.DataFrame(rows)


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
        ``ci_high`` (pointwise, exponential Greenwood), ``at_risk``.
    """
    parts = []
    for d, sub in _groups(tte, duration):
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
                }
            )
        )
    cols = ["definition", "time", "proportion_met", "ci_low", "ci_high", "at_risk"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


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
        (log-log transformed Greenwood-type interval of lifelines; NaN where undefined).

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
    """
    parts = []
    for d, sub in _groups(tte, duration):
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
                }
            )
        )
    cols = ["definition", "time", "cumulative_incidence", "ci_low", "ci_high"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


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
        ``note`` when fewer than two groups have clients.

    Raises
    ------
    ValueError
        If ``group`` is not a client-table column.

    References
    ----------
    Mantel N. (1966) Cancer Chemother Rep 50(3):163-170 (lifelines
    ``multivariate_logrank_test``).
    """
    if group not in clients.columns:
        raise ValueError(f"column {group!r} not in the client table ({list(clients.columns)})")
    g = clients.set_index("id")[group]
    rows = []
    for d, sub in _groups(tte, duration):
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
    return pd.DataFrame(rows)


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
        for scores), ``ci_low``, ``ci_high``, ``p_value``, ``n``, ``n_met``, ``note``.
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
    """
    if "id" not in covariates.columns or covariates.shape[1] < 2:
        raise ValueError("covariates needs an 'id' column and at least one covariate column")
    cov = covariates.set_index("id")
    cat = [c for c in cov.columns if not pd.api.types.is_numeric_dtype(cov[c])]
    design = pd.get_dummies(cov, columns=cat, drop_first=True, dtype=float) if cat else cov
    design = design.astype(float)
    coef_rows, ph_rows = [], []
    for d, sub in _groups(tte, duration):
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
                }
            )
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cph = CoxPHFitter(alpha=alpha).fit(
                data[[duration, "event", *xcols]], duration_col=duration, event_col="event"
            )
            ph = proportional_hazard_test(
                cph, data[[duration, "event", *xcols]], time_transform="rank"
            )
        note = "; ".join(sorted({str(w.message).split("\n")[0][:120] for w in caught}))
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
        ],
    )
    ph = pd.DataFrame(
        ph_rows, columns=["definition", "covariate", "test_statistic", "p_value", "note"]
    )
    return coef, ph
