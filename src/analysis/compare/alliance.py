"""The working alliance as a predictor of each outcome definition, and as an outcome itself.

Alliance scores live in the long scores table under an alliance measure code (``wai_sr``: WAI-SR,
12 items, 12-60 points, higher is better; ``srs``: Session Rating Scale, 0-40, higher is better),
one row per client x session. Functions here return tidy tables; statistics come from pingouin
(correlations, repeated-measures correlation) and statsmodels (mixed models).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import statsmodels.formula.api as smf
from scipy.stats import norm

__all__ = [
    "early_alliance",
    "alliance_predicts_outcomes",
    "landmark_sample",
    "session_pairs",
    "within_client_association",
    "alliance_predicts_next_change",
    "therapist_icc",
]


def _need(df: pd.DataFrame, cols, what: str) -> None:
    miss = [c for c in cols if c not in df.columns]
    if miss:
        raise ValueError(f"{what} lacks column(s) {miss} (has {list(df.columns)})")


def _first(res: pd.DataFrame, *names: str):
    """First row's value of the first column present.

    pingouin renamed CI95% -> CI95 and p-val -> p_val in 0.7.
    """
    for n in names:
        if n in res.columns:
            return res[n].iloc[0]
    raise KeyError(f"none of {names} in pingouin's result ({list(res.columns)})")


def _ci(r: float, n_eff: int) -> tuple[float, float]:
    """95 % Fisher-z interval of a correlation, unrounded.

    pingouin rounds some of its own intervals to 2 decimals; same function, ``decimals=6``.
    """
    lo, hi = pg.compute_esci(stat=r, nx=n_eff, ny=n_eff, eftype="r", decimals=6)
    return float(lo), float(hi)


def _p(res: pd.DataFrame) -> float:
    return float(_first(res, "p_val", "p-val", "pval"))


def _rows_of(scores: pd.DataFrame, measure: str) -> pd.DataFrame:
    _need(scores, ("id", "time", "measure", "score"), "scores")
    rows = scores.loc[
        (scores["measure"] == measure) & scores["score"].notna(), ["id", "time", "score"]
    ]
    if rows.empty:
        raise ValueError(
            f"measure {measure!r} has no observed scores (measures present: "
            f"{sorted(scores['measure'].unique())})"
        )
    return rows.sort_values(["id", "time"], kind="stable")


def early_alliance(
    scores: pd.DataFrame, measure: str = "wai_sr", sessions: int = 3
) -> pd.DataFrame:
    """Mean alliance over the first sessions of treatment, per client.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores. Not modified.
    measure : str
        Alliance measure code (``wai_sr`` or ``srs``; higher is better).
    sessions : int
        Number of first time points of the measure (in the cohort's time order) counted as early
        (default 3: sessions 1-3).

    Returns
    -------
    pandas.DataFrame
        One row per client with an early score: ``id``, ``early_alliance`` (mean, points),
        ``n_early`` (early scores observed). ``attrs["landmark"]`` is the time of the last early
        session (the landmark L of :func:`alliance_predicts_outcomes`).

    Raises
    ------
    ValueError
        If the measure is absent or ``sessions`` is not a positive integer.

    Examples
    --------
    WAI-SR (12-60 points) in the bundled simulated cohort (60 clients) is first rated at
    session 1 or 2; the first three time points of the measure (sessions 1-3) are early:

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> early = early_alliance(cohort.scores, "wai_sr", sessions=3)
    >>> early.head(3)
            id  early_alliance  n_early
    0  C000001            41.5        2
    1  C000002            33.5        2
    2  C000003            46.0        3
    >>> len(early), early.attrs["landmark"]
    (60, 3.0)
    """
    if int(sessions) != sessions or sessions < 1:
        raise ValueError(f"sessions must be a positive integer, got {sessions!r}")
    rows = _rows_of(scores, measure)
    times = np.sort(scores.loc[scores["measure"] == measure, "time"].unique())
    last_early = times[min(int(sessions), len(times)) - 1]
    early = rows.loc[rows["time"] <= last_early]
    out = early.groupby("id")["score"].agg(early_alliance="mean", n_early="size").reset_index()
    out.attrs["landmark"] = float(last_early)
    return out


def landmark_sample(
    outcomes: pd.DataFrame,
    early: pd.DataFrame,
    severity: pd.DataFrame | None = None,
    landmark: float | None = None,
) -> pd.DataFrame:
    """The client-definition records of :func:`alliance_predicts_outcomes`' landmark analysis.

    A record enters when evaluable (met or not met), still in treatment after the landmark L
    (``post_time`` > L), not yet meeting the definition at L (``first_met_time`` missing or
    > L), and with early alliance and baseline severity (Anderson, Cain & Gelber 1983).

    Parameters
    ----------
    outcomes, early, severity, landmark
        As :func:`alliance_predicts_outcomes`.

    Returns
    -------
    pandas.DataFrame
        The outcome rows kept, with ``early_alliance``, ``severity`` (points) and ``success``
        (1.0 met, 0.0 not met); ``attrs["landmark"]``: L (None without a landmark). Its
        records per definition are the ``n`` (and its successes the ``n_met``) of
        :func:`alliance_predicts_outcomes`, so a report can audit those counts by client
        (:func:`analysis.run.workflow.landmark_cells`).

    Raises
    ------
    ValueError
        A needed column is missing.

    Examples
    --------
    The 35 clients of the remission analysis in :func:`alliance_predicts_outcomes`' example:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> early = early_alliance(cohort.scores, "wai_sr", sessions=3)
    >>> s = landmark_sample(outcomes[outcomes["definition"] == "remission"], early)
    >>> len(s), int(s["success"].sum())
    (35, 8)
    """
    _need(outcomes, ("id", "definition", "status", "baseline"), "outcomes")
    _need(early, ("id", "early_alliance"), "early")
    lm = landmark if landmark is not None else early.attrs.get("landmark")
    data = outcomes.loc[outcomes["status"].isin(["met", "not_met"])]
    if lm is not None:
        _need(outcomes, ("post_time", "first_met_time"), "outcomes")
        lm = float(lm)
        still = data["post_time"].gt(lm) & ~data["first_met_time"].le(lm)
        data = data.loc[still]
    data = data.merge(early[["id", "early_alliance"]], on="id", how="inner")
    if severity is not None:
        _need(severity, ("id", "severity"), "severity")
        data = data.merge(severity[["id", "severity"]], on="id", how="left")
    else:
        data = data.assign(severity=data["baseline"])
    data = data.assign(success=data["status"].eq("met").astype(float))
    data = data.dropna(subset=["early_alliance", "severity"]).reset_index(drop=True)
    data.attrs["landmark"] = lm
    return data


def alliance_predicts_outcomes(
    outcomes: pd.DataFrame,
    early: pd.DataFrame,
    severity: pd.DataFrame | None = None,
    min_n: int = 10,
    landmark: float | None = None,
    alliance_measures: tuple[str, ...] = ("wai_sr", "srs"),
) -> pd.DataFrame:
    """Early alliance and later success under each definition, in a landmark design.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        The outcomes table (:func:`analysis.outcomes.engine.score_definitions`); evaluable rows
        are used.
    early : pandas.DataFrame
        Output of :func:`early_alliance` (``id``, ``early_alliance``: mean over sessions 1..L).
    severity : pandas.DataFrame, optional
        ``id``, ``severity`` (baseline symptom score, points) to partial out. Default: each
        definition's own ``baseline``.
    min_n : int
        Smallest number of clients for an estimate.
    landmark : float, optional
        Landmark time L (default ``early.attrs["landmark"]``, the last early session): a client
        enters a definition's analysis only when still in treatment after L (``post_time`` > L)
        and not yet meeting the definition at L (``first_met_time`` missing or > L), so that an
        alliance measured up to L can only predict a success that comes after it.
    alliance_measures : tuple of str
        Measures of the alliance: a definition of the alliance family, or one built on these
        measures (e.g. a composite with an alliance part), is not predicted by the alliance (it
        would predict itself); its row is listed with ``predictor_of_itself`` True and no estimate.

    Returns
    -------
    pandas.DataFrame
        One row per definition: ``definition``, ``family``, ``predictor_of_itself`` (bool),
        ``landmark`` (L), ``n`` (clients in the landmark set), ``n_met``, ``r`` (point-biserial
        correlation of success, 1/0, with early alliance), ``r_ci_low``, ``r_ci_high``, ``r_p``,
        ``partial_r`` (baseline severity held constant), ``partial_ci_low``, ``partial_ci_high``,
        ``partial_p``, ``note``.

    Notes
    -----
    Pearson correlation with the Fisher-z interval (pingouin ``corr``, ``partial_corr``). With a
    binary outcome this is the point-biserial correlation. Without the landmark, successes reached
    during sessions 1..L (while the alliance is measured) make early alliance look predictive of
    an outcome it only accompanies (Flueckiger et al. 2020 on reverse causation; landmark
    analysis: Anderson, Cain & Gelber 1983). The meta-analytic alliance-outcome correlation is
    .278 [.256, .299] (Flueckiger et al. 2018).

    References
    ----------
    Flueckiger C., Del Re A.C., Wampold B.E. & Horvath A.O. (2018) The alliance in adult
    psychotherapy: a meta-analytic synthesis. Psychotherapy 55(4):316-340.
    Anderson J.R., Cain K.C. & Gelber R.D. (1983) Analysis of survival by tumor response.
    J Clin Oncol 1(11):710-719.

    Examples
    --------
    On the bundled simulated cohort (60 clients): of the 53 clients evaluable for remission
    (PHQ-9), 35 were still in treatment and not yet remitted at the landmark (session 3); among
    them a better early WAI-SR goes with later remission (r = 0.34). A strong alliance on the
    SRS is an alliance outcome and is listed apart:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> some = outcomes[outcomes["definition"].isin(
    ...     ["remission", "reliable_improvement", "srs_strong_alliance"])]
    >>> early = early_alliance(cohort.scores, "wai_sr", sessions=3)
    >>> res = alliance_predicts_outcomes(some, early)
    >>> cols = ["definition", "predictor_of_itself", "n", "n_met", "r", "r_ci_low", "r_ci_high",
    ...         "partial_r"]
    >>> print(res[cols].round(2).to_string())
                 definition  predictor_of_itself   n  n_met     r  r_ci_low  r_ci_high  partial_r
    0             remission                False  35      8  0.34      0.01       0.61       0.36
    1  reliable_improvement                False  20      2  0.50      0.08       0.77       0.46
    2   srs_strong_alliance                 True  26      0   NaN       NaN        NaN        NaN
    """
    data = landmark_sample(outcomes, early, severity, landmark)
    lm = data.attrs["landmark"]
    first = outcomes.drop_duplicates("definition").set_index("definition")
    # every measure a definition used, over all its rows (a client-chosen definition varies)
    used = (
        outcomes.groupby("definition", sort=False, observed=True)["measures"].agg(
            lambda m: set("+".join(m.astype(str).unique()).split("+"))
        )
        if "measures" in outcomes.columns
        else pd.Series(dtype=object)
    )
    rows = []
    for d in dict.fromkeys(outcomes["definition"]):
        fam = first["family"].get(d, "") if "family" in first else ""
        itself = fam == "alliance" or bool(used.get(d, set()) & set(alliance_measures))
        sub = data.loc[data["definition"] == d]
        row = {
            "definition": d,
            "family": fam,
            "predictor_of_itself": itself,
            "landmark": np.nan if lm is None else lm,
            "n": len(sub),
            "n_met": int(sub["success"].sum()),
        }
        for k in (
            "r",
            "r_ci_low",
            "r_ci_high",
            "r_p",
            "partial_r",
            "partial_ci_low",
            "partial_ci_high",
            "partial_p",
        ):
            row[k] = np.nan
        row["note"] = ""
        if itself:
            row["note"] = "built from alliance scores: alliance cannot predict it (listed apart)"
        elif len(sub) < min_n:
            row["note"] = f"fewer than {min_n} clients with early alliance"
        elif sub["success"].nunique() < 2:
            row["note"] = "every client has the same result"
        elif sub["early_alliance"].nunique() < 2:
            row["note"] = "early alliance does not vary"
        else:
            c = pg.corr(sub["success"], sub["early_alliance"])
            lo, hi = _ci(float(c["r"].iloc[0]), len(sub))
            row.update(r=float(c["r"].iloc[0]), r_ci_low=lo, r_ci_high=hi, r_p=_p(c))
            if sub["severity"].nunique() > 1:
                pc = pg.partial_corr(data=sub, x="early_alliance", y="success", covar="severity")
                lo, hi = _ci(float(pc["r"].iloc[0]), len(sub) - 1)
                row.update(
                    partial_r=float(pc["r"].iloc[0]),
                    partial_ci_low=lo,
                    partial_ci_high=hi,
                    partial_p=_p(pc),
                )
        rows.append(row)
    return pd.DataFrame(rows)


def session_pairs(
    scores: pd.DataFrame, alliance_measure: str = "wai_sr", symptom_measure: str = "phq9"
) -> pd.DataFrame:
    """Alliance and symptom score of the same client at the same session, side by side.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long scores (``id, time, measure, score``). Not modified. Where a client has two scores
        of one measure at one session, the first is kept.
    alliance_measure : str
        Alliance measure code (``wai_sr``: WAI-SR, 12-60 points; ``srs``: 0-40; higher is better).
    symptom_measure : str
        Symptom measure code (e.g. ``phq9``, 0-27 points, lower is better).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``time``, ``alliance``, ``symptom`` (points): rows where both were observed,
        sorted by client and time. Holds identifiers: for computation, not display.

    Raises
    ------
    ValueError
        If either measure has no observed score.

    Examples
    --------
    WAI-SR and PHQ-9 scores of the same session in the bundled simulated cohort (60 clients):

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> pairs = session_pairs(cohort.scores, "wai_sr", "phq9")
    >>> pairs.head(3)
            id  time  alliance  symptom
    0  C000001   2.0      40.0      2.0
    1  C000001   3.0      43.0      4.0
    2  C000002   2.0      34.0     21.0
    >>> len(pairs), pairs["id"].nunique()
    (420, 60)
    """
    a = _rows_of(scores, alliance_measure).rename(columns={"score": "alliance"})
    s = _rows_of(scores, symptom_measure).rename(columns={"score": "symptom"})
    a = a.drop_duplicates(["id", "time"])
    s = s.drop_duplicates(["id", "time"])
    return a.merge(s, on=["id", "time"]).sort_values(["id", "time"]).reset_index(drop=True)


def within_client_association(pairs: pd.DataFrame) -> pd.DataFrame:
    """Session-level association of alliance and symptoms within clients (repeated-measures r).

    Parameters
    ----------
    pairs : pandas.DataFrame
        Output of :func:`session_pairs` (``id``, ``alliance``, ``symptom``).

    Returns
    -------
    pandas.DataFrame
        One row: ``r`` (repeated-measures correlation), ``ci_low``, ``ci_high``, ``p_value``,
        ``dof``, ``n_clients`` (with at least two sessions), ``n_sessions``.

    Raises
    ------
    ValueError
        If fewer than three clients have two or more paired sessions.

    Notes
    -----
    The common within-client slope of an ANCOVA with a client factor, expressed as a correlation
    (pingouin ``rm_corr``); it equals the Pearson correlation of the client-mean-centred scores.
    Between-client differences (e.g. more severe clients rating the alliance lower) are removed.

    References
    ----------
    Bakdash J.Z. & Marusich L.R. (2017) Repeated measures correlation. Front Psychol 8:456.

    Examples
    --------
    On the bundled simulated cohort (60 clients, WAI-SR and PHQ-9): within clients, sessions
    with a better alliance have slightly lower symptom scores (r = -0.10, 416 sessions of 56
    clients; dof = 416 - 56 - 1 = 359):

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> pairs = session_pairs(cohort.scores, "wai_sr", "phq9")
    >>> within_client_association(pairs).round(3)
           r  ci_low  ci_high  p_value  dof  n_clients  n_sessions
    0 -0.097  -0.198    0.006    0.066  359         56         416
    """
    _need(pairs, ("id", "alliance", "symptom"), "pairs")
    data = pairs.dropna(subset=["alliance", "symptom"])
    k = data.groupby("id")["alliance"].transform("size")
    data = data.loc[k >= 2]
    if data["id"].nunique() < 3:
        raise ValueError("fewer than three clients have two or more sessions with both measures")
    res = pg.rm_corr(data=data, x="alliance", y="symptom", subject="id")
    lo, hi = _ci(float(res["r"].iloc[0]), int(res["dof"].iloc[0]) + 2)
    return pd.DataFrame(
        {
            "r": [float(res["r"].iloc[0])],
            "ci_low": [lo],
            "ci_high": [hi],
            "p_value": [_p(res)],
            "dof": [int(res["dof"].iloc[0])],
            "n_clients": [int(data["id"].nunique())],
            "n_sessions": [len(data)],
        }
    )


#: statsmodels' MixedLM warnings, as a report says them (reviewers read the notes; the library's
#: own words, e.g. "Check mle retvals", mean nothing to them).
_MIXED_WARNINGS = (
    ("failed to converge", "the first optimiser did not converge"),
    ("Retrying MixedLM optimization", "refitted with a second optimiser (L-BFGS)"),
    ("on the boundary", "a variance estimate is on its boundary (0)"),
    ("covariance is singular", "a variance estimate is on its boundary (0)"),
    ("not positive definite", "standard errors unreliable (Hessian not positive definite)"),
)


def _fit_mixed(formula: str, data: pd.DataFrame, group: str):
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = smf.mixedlm(formula, data, groups=data[group]).fit(reml=True)
    for w in caught:
        said = str(w.message).split("\n")[0]
        words = [plain for key, plain in _MIXED_WARNINGS if key in said]
        notes.append(words[0] if words else f"estimation warning: {said[:120]}")
    return fit, "; ".join(dict.fromkeys(notes))


def alliance_predicts_next_change(pairs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Test whether this session's alliance predicts the symptom change to the next session.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Output of :func:`session_pairs`.
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per fixed effect: ``term`` (``alliance_within``: the client's deviation from
        their own mean alliance, points; ``alliance_between``: the client's mean, points;
        ``symptom``: current symptom score, points), ``estimate`` (symptom points of next-session
        change per alliance point), ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``n_sessions``,
        ``n_clients``, ``note`` (estimation warnings, e.g. a variance on the boundary).

    Raises
    ------
    ValueError
        If fewer than three clients have two consecutive paired sessions.

    Notes
    -----
    Linear mixed model with a random intercept per client (statsmodels ``MixedLM``, REML):
    ``symptom(t+1) - symptom(t) = b0 + b1 (A_it - mean_i A) + b2 mean_i A + b3 symptom(t) + u_i
    + e_it``; the within-client coefficient ``b1`` separates the session-level effect from
    stable between-client differences (Curran & Bauer 2011). A negative ``b1`` on a
    lower-is-better symptom scale means a better alliance precedes improvement.

    References
    ----------
    Curran P.J. & Bauer D.J. (2011) The disaggregation of within-person and between-person
    effects in longitudinal models of change. Annu Rev Psychol 62:583-619.
    Flueckiger C. et al. (2020) J Consult Clin Psychol 88(9):829-843 (alliance and early symptoms
    influence each other).

    Examples
    --------
    On the bundled simulated cohort (60 clients): a client's WAI-SR one point above their own
    mean goes with a next-session PHQ-9 change of -0.04 points (not distinguishable from 0);
    clients with a better alliance overall improve faster (-0.19 points per point):

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> pairs = session_pairs(cohort.scores, "wai_sr", "phq9")
    >>> model = alliance_predicts_next_change(pairs)
    >>> model[["term", "estimate", "ci_low", "ci_high", "p_value", "n_sessions",
    ...        "n_clients"]].round(3)
                   term  estimate  ci_low  ci_high  p_value  n_sessions  n_clients
    0   alliance_within    -0.038  -0.114    0.037    0.318         360         56
    1  alliance_between    -0.188  -0.333   -0.042    0.011         360         56
    2           symptom    -0.637  -0.727   -0.547    0.000         360         56
    """
    _need(pairs, ("id", "time", "alliance", "symptom"), "pairs")
    d = pairs.dropna(subset=["alliance", "symptom"]).sort_values(["id", "time"])
    d = d.assign(
        change_next=d.groupby("id")["symptom"].shift(-1) - d["symptom"],
        alliance_between=d.groupby("id")["alliance"].transform("mean"),
    )
    d = d.assign(alliance_within=d["alliance"] - d["alliance_between"]).dropna(
        subset=["change_next"]
    )
    if d["id"].nunique() < 3:
        raise ValueError(
            "fewer than three clients have two consecutive sessions with both measures"
        )
    fit, note = _fit_mixed("change_next ~ alliance_within + alliance_between + symptom", d, "id")
    z = float(norm.ppf(1 - alpha / 2))
    terms = ["alliance_within", "alliance_between", "symptom"]
    return pd.DataFrame(
        {
            "term": terms,
            "estimate": [float(fit.fe_params[t]) for t in terms],
            "se": [float(fit.bse_fe[t]) for t in terms],
            "ci_low": [float(fit.fe_params[t] - z * fit.bse_fe[t]) for t in terms],
            "ci_high": [float(fit.fe_params[t] + z * fit.bse_fe[t]) for t in terms],
            "p_value": [float(fit.pvalues[t]) for t in terms],
            "n_sessions": len(d),
            "n_clients": int(d["id"].nunique()),
            "note": note,
        }
    )


def therapist_icc(
    data: pd.DataFrame, dv: str, group: str = "therapist", alpha: float = 0.05
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Therapist effects: intraclass correlation from a random-intercept model, and each effect.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per client: ``dv`` (e.g. change in symptom points, or success as 1/0) and
        ``group`` (therapist). Rows with a missing value are left out. Not modified.
    dv : str
        Outcome column.
    group : str
        Therapist column.
    alpha : float
        1 - confidence level of each therapist's interval.

    Returns
    -------
    (icc, effects) : tuple of pandas.DataFrame
        ``icc``: one row with ``dv``, ``n_clients``, ``n_therapists``, ``var_therapist``,
        ``var_residual`` (dv units squared), ``icc`` (0-1: share of outcome variance between
        therapists), ``note`` (estimation warnings). ``effects``: one row per therapist:
        ``therapist``, ``n_clients``, ``effect`` (predicted random intercept, BLUP, dv units),
        ``se`` (conditional SD), ``ci_low``, ``ci_high``; sorted by ``effect``, for a caterpillar
        plot.

    Raises
    ------
    ValueError
        If a column is missing or fewer than three therapists have clients.

    Notes
    -----
    ``y_ij = mu + u_j + e_ij``, ``u_j ~ N(0, s2_u)``, ``e_ij ~ N(0, s2_e)``, REML (statsmodels
    ``MixedLM``); ICC = s2_u / (s2_u + s2_e). For a binary dv this is a linear-probability
    approximation. In balanced data with a positive estimate it equals the one-way ANOVA
    estimator (MSB - MSW) / (MSB + (n - 1) MSW). Published therapist effects average about 5 %
    (Johns et al. 2019).

    References
    ----------
    Johns R.G., Barkham M., Kellett S. & Saxon D. (2019) A systematic review of therapist effects:
    a critical narrative update and refinement to review. Clin Psychol Rev 67:78-93.
    Wampold B.E. & Brown G.S. (2005) J Consult Clin Psychol 73(5):914-923.

    Examples
    --------
    Change in PHQ-9 points by therapist in the bundled simulated cohort: with 600 clients of
    80 therapists about 6 % of the variance lies between therapists (the simulation is
    calibrated to the 5 % of Johns et al. 2019); 2.502 / (2.502 + 37.473) = 0.063:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=600, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> change = outcomes.loc[outcomes["definition"] == "remission", ["id", "change"]]
    >>> change = change.merge(cohort.clients[["id", "therapist"]], on="id")
    >>> icc, effects = therapist_icc(change, "change", group="therapist")
    >>> icc[["n_clients", "n_therapists", "var_therapist", "var_residual", "icc"]].round(3)
       n_clients  n_therapists  var_therapist  var_residual    icc
    0        565            80          2.502        37.473  0.063
    >>> len(effects), list(effects.columns)
    (80, ['therapist', 'n_clients', 'effect', 'se', 'ci_low', 'ci_high'])
    """
    _need(data, (dv, group), "data")
    d = data[[group, dv]].dropna().rename(columns={group: "grp", dv: "y"})
    d = d.assign(grp=d["grp"].astype(str))
    if d["grp"].nunique() < 3:
        raise ValueError(f"fewer than three {group} groups have a {dv!r} value")
    fit, note = _fit_mixed("y ~ 1", d, "grp")
    var_u = float(fit.cov_re.iloc[0, 0])
    var_e = float(fit.scale)
    icc = pd.DataFrame(
        {
            "dv": [dv],
            "n_clients": [len(d)],
            "n_therapists": [int(d["grp"].nunique())],
            "var_therapist": [var_u],
            "var_residual": [var_e],
            "icc": [var_u / (var_u + var_e) if var_u + var_e > 0 else np.nan],
            "note": [note],
        }
    )
    z = float(norm.ppf(1 - alpha / 2))
    counts = d.groupby("grp").size()
    if var_u <= 1e-12 * max(var_e, 1e-300):
        # The therapist variance is estimated on its boundary (0): every empirical-Bayes effect is
        # shrunk to 0 and statsmodels cannot invert the singular covariance, so report that.
        names = list(counts.index)
        eff = np.zeros(len(names))
        se = np.zeros(len(names))
        icc.loc[0, "note"] = "; ".join(
            x
            for x in (note, "therapist variance estimated at 0 (boundary): no therapist effect")
            if x
        )
    else:
        re = fit.random_effects
        names = list(re)
        eff = np.array([float(np.asarray(re[n])[0]) for n in names])
        se = np.array([float(np.sqrt(np.asarray(fit.random_effects_cov[n])[0, 0])) for n in names])
    effects = (
        pd.DataFrame(
            {
                "therapist": names,
                "n_clients": counts.reindex(names).to_numpy(),
                "effect": eff,
                "se": se,
                "ci_low": eff - z * se,
                "ci_high": eff + z * se,
            }
        )
        .sort_values("effect", kind="stable")
        .reset_index(drop=True)
    )
    return icc, effects
