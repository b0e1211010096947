"""Is a client on track? Expected recovery curves and a "not on track" signal.

Routine outcome monitoring compares a client's score, session by session, with the score expected
for clients who started at the same severity, and raises a signal when the client is doing worse
than expected (Lambert's OQ system; Finch, Lambert & Schaalje 2001). The peers' curves are
proprietary; this module estimates them from the cohort itself (or from a reference cohort) with
a documented model and cross-fitting, so that a client's own data never set their own
expectation.

Model
-----
For each session after baseline, with ``L = log(1 + sessions since baseline)`` (the negatively
accelerated, log-linear dose-effect curve of psychotherapy: Howard et al. 1986) and ``b`` the
baseline score, the conditional quantile ``q`` of the score is

    Q_q(score | b, L) = a0 + a1 b + (c0 + c1 b) L + (d0 + d1 b) L^2      (``degree=2``)

estimated by quantile regression (statsmodels ``QuantReg``; Koenker & Bassett 1978) at the median
(the *expected* score) and at the two ends of the prediction band (default the 10th and 90th
percentiles, an 80 % band). Quantile regression needs no normality and gives the band directly;
the interaction with ``b`` makes the curve's shape depend on starting severity. The band is a
choice of this module, not the OQ-45's (proprietary) rule.

Cross-fitting: clients are split at random into ``folds`` groups (default 5, seeded); each group's
expected scores come from the model fitted on the other groups. With ``reference=`` the model is
fitted once on the reference cohort and applied to everyone (no client of the reference should be
in ``data``; this is not checked).

Signal and end status
---------------------
*Not on track* at a session: the score is worse than the band's worse end (lower is better: above
the upper quantile). The signal is *raised* for a client when it fires at any session before their
last one (the last session is the outcome, not a warning). *Better than expected at the end*: the
last score is better than the expected (median) score for that session.

Signal performance: with "final non-success" under an outcome definition as the condition to be
predicted, sensitivity = P(signal | non-success), specificity = P(no signal | success), positive
predictive value = P(non-success | signal), negative predictive value = P(success | no signal),
each with a Wilson interval (statsmodels ``proportion_confint``).

References
----------
Finch A.E., Lambert M.J. & Schaalje B.G. (2001) Psychotherapy quality control: the statistical
generation of expected recovery curves for integration into an early warning system. Clin Psychol
Psychother 8(4):231-242. (Cited for the idea of expected recovery curves; its model and volume
details were not checked against the paper in this project.)
Aderka I.M., Nickerson A., Boe H.J. & Hofmann S.G. (2012) Sudden gains during psychological
treatments of anxiety and depression: a meta-analysis. J Consult Clin Psychol 80(1):93-101.
Lambert M.J. (2007) Presidential address: What we have learned from a decade of research aimed at
improving psychotherapy outcome in routine care. Psychother Res 17(1):1-14.
Howard K.I., Kopta S.M., Krause M.S. & Orlinsky D.E. (1986) The dose-effect relationship in
psychotherapy. Am Psychol 41(2):159-164.
Koenker R. & Bassett G. (1978) Regression quantiles. Econometrica 46(1):33-50.
Wilson E.B. (1927) J Am Stat Assoc 22(158):209-212.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.regression.quantile_regression import QuantReg
from statsmodels.tools.sm_exceptions import IterationLimitWarning

from analysis.compare.prevalence import wilson_interval
from analysis.outcomes.prepost import NotComputedError

__all__ = [
    "ExpectedRecovery",
    "baseline_and_followup",
    "on_track",
    "end_status",
    "signal_performance",
    "signal_performance_by_session",
    "severity_points",
]

_PERF_COLUMNS = ("definition", "measure", "count", "n", "estimate", "ci_low", "ci_high", "tp",
                 "fp", "fn", "tn")  # fmt: skip


def baseline_and_followup(
    data: pd.DataFrame, id: str = "id", time: str = "time", score: str = "score"
) -> pd.DataFrame:
    """Each client's post-baseline scores with their baseline (first observed score).

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per client and session (not modified); rows with a missing score are
        ignored.
    id, time, score : str
        Column names: client id, session number, score (points).

    Returns
    -------
    pandas.DataFrame
        ``<id>``, ``time``, ``score``, ``baseline`` (points), ``baseline_time``, ``elapsed``
        (sessions since baseline, > 0), sorted by client and session.

    Raises
    ------
    TypeError
        If ``data`` is not a data frame.
    ValueError
        A column is missing or not numeric, or a client has two rows for one session.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": [1, 1, 1], "time": [0, 1, 2], "score": [20, 15, 12]})
    >>> baseline_and_followup(d)[["time", "baseline", "elapsed"]].to_numpy().tolist()
    [[1.0, 20.0, 1.0], [2.0, 20.0, 2.0]]
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in (id, time, score) if c not in data.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not in data; columns are {list(data.columns)} "
            "(name them with id=, time=, score=)"
        )
    for c in (time, score):
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise ValueError(f"column {c!r} must be numeric, got dtype {data[c].dtype}")
    d = data.loc[data[score].notna(), [id, time, score]]
    dup = d.duplicated([id, time], keep=False)
    if dup.any():
        rows = list(d.index[dup][:6])
        raise ValueError(
            f"several scores for the same client and session in columns {id!r}, {time!r} "
            f"(rows {rows})"
        )
    d = pd.DataFrame(
        {id: d[id].to_numpy(), "time": d[time].to_numpy(float), "score": d[score].to_numpy(float)}
    ).sort_values([id, "time"], kind="stable")
    first = d.groupby(id, sort=False).head(1).set_index(id)
    d["baseline"] = d[id].map(first["score"])
    d["baseline_time"] = d[id].map(first["time"])
    d["elapsed"] = d["time"] - d["baseline_time"]
    return d.loc[d["elapsed"] > 0].reset_index(drop=True)


def _design(baseline: np.ndarray, elapsed: np.ndarray, degree: int) -> np.ndarray:
    b = np.asarray(baseline, float)
    lg = np.log1p(np.asarray(elapsed, float))
    cols = [np.ones_like(b), b]
    for k in range(1, degree + 1):
        cols += [lg**k, b * lg**k]
    return np.column_stack(cols)


class ExpectedRecovery:
    """Expected score and prediction band by session, conditional on baseline severity.

    Quantile regression of the score on baseline, log(1 + sessions since baseline) and their
    interactions (see the module notes).

    Parameters
    ----------
    band : float, default 0.8
        Central probability of the prediction band (0.8: 10th to 90th percentile).
    degree : int, default 2
        Polynomial degree in log(1 + sessions since baseline).

    Attributes
    ----------
    params_ : dict
        Quantile -> coefficient array (intercept, baseline, then per power of L: L^k, b L^k).
    quantiles_ : tuple of float
        (lower, 0.5, upper).
    n_clients_, n_rows_ : int
        Clients and post-baseline scores used in the fit.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> b = rng.uniform(10, 25, 300)
    >>> d = pd.DataFrame({"id": np.repeat(np.arange(300), 6), "time": np.tile(range(6), 300)})
    >>> d["score"] = np.repeat(b, 6) - 0.3 * np.repeat(b, 6) * np.log1p(d["time"]) / np.log(6)
    >>> d["score"] += rng.normal(0, 1, len(d))
    >>> m = ExpectedRecovery().fit(d)
    >>> round(float(m.predict([20.0], [5.0])["expected"].iloc[0]), 0)
    14.0
    """

    def __init__(self, band: float = 0.8, degree: int = 2):
        if not 0 < band < 1:
            raise ValueError(f"band must lie in (0, 1), got {band}")
        if degree not in (1, 2, 3):
            raise ValueError(f"degree must be 1, 2 or 3, got {degree}")
        self.band = band
        self.degree = degree

    def fit(
        self, data: pd.DataFrame, id: str = "id", time: str = "time", score: str = "score"
    ) -> ExpectedRecovery:
        """Fit on long data (first observed score of each client = baseline); returns self.

        Raises
        ------
        ValueError
            Bad columns, or fewer post-baseline scores than 5 per coefficient.
        """
        rows = baseline_and_followup(data, id, time, score)
        return self._fit_rows(rows, id)

    def _fit_rows(self, rows: pd.DataFrame, id: str) -> ExpectedRecovery:
        x = _design(rows["baseline"], rows["elapsed"], self.degree)
        if len(rows) < 5 * x.shape[1]:
            raise ValueError(
                f"too few post-baseline scores to fit expected recovery curves ({len(rows)}; "
                f"need at least {5 * x.shape[1]})"
            )
        lo = (1 - self.band) / 2
        self.quantiles_ = (lo, 0.5, 1 - lo)
        self.params_ = {}
        y = rows["score"].to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IterationLimitWarning)
            for q in self.quantiles_:
                self.params_[q] = QuantReg(y, x).fit(q=q, max_iter=5000).params
        self.n_clients_ = int(rows[id].nunique())
        self.n_rows_ = len(rows)
        self.baseline_range_ = (float(rows["baseline"].min()), float(rows["baseline"].max()))
        self.elapsed_max_ = float(rows["elapsed"].max())
        return self

    def predict(self, baseline, elapsed) -> pd.DataFrame:
        """Predict the expected score and band.

        Parameters
        ----------
        baseline : array-like of float
            Baseline scores (points).
        elapsed : array-like of float
            Sessions since baseline (> 0), same length.

        Returns
        -------
        pandas.DataFrame
            ``expected`` (median), ``lower``, ``upper`` (the band's lower and upper quantiles,
            points; ``lower <= upper`` enforced by sorting the three quantiles).
        """
        if not hasattr(self, "params_"):
            raise ValueError("fit the model first (ExpectedRecovery().fit(data))")
        x = _design(baseline, elapsed, self.degree)
        pred = np.column_stack([x @ self.params_[q] for q in self.quantiles_])
        pred = np.sort(pred, axis=1)  # quantile crossing: keep the band ordered
        return pd.DataFrame({"lower": pred[:, 0], "expected": pred[:, 1], "upper": pred[:, 2]})


def on_track(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    score: str = "score",
    *,
    better_is: Literal["lower", "higher"] = "lower",
    band: float = 0.8,
    degree: int = 2,
    folds: int = 5,
    seed: int = 0,
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Session-by-session expected scores and the not-on-track signal, cross-fitted.

    Parameters
    ----------
    data : pandas.DataFrame
        Long data, one row per client and session (not modified). The first observed score of a
        client is the baseline.
    id, time, score : str
        Column names: client id, session number, score (e.g. PHQ-9 total, 0-27).
    better_is : {"lower", "higher"}, default "lower"
        Direction of the score.
    band : float, default 0.8
        Central probability of the prediction band.
    degree : int, default 2
        Polynomial degree in log(1 + sessions since baseline).
    folds : int, default 5
        Cross-fitting folds (clients assigned at random with ``seed``); at least 2.
    seed : int, default 0
        Seed of the fold assignment.
    reference : pandas.DataFrame, optional
        A reference cohort with the same columns: fit once on it instead of cross-fitting.

    Returns
    -------
    pandas.DataFrame
        One row per post-baseline score: ``<id>``, ``time``, ``elapsed`` (sessions since
        baseline), ``score``, ``baseline``, ``expected``, ``lower``, ``upper`` (points),
        ``deviation`` (score - expected, signed so that positive = worse than expected),
        ``not_on_track`` (bool: worse than the band's worse end), ``fold`` (-1 with a reference).
        Clients with no score after their baseline have no row.

    Raises
    ------
    TypeError
        If ``data`` is not a data frame.
    ValueError
        Bad columns or options (``better_is``, ``band`` outside (0, 1), ``degree`` not 1-3,
        ``folds`` < 2), two scores of one client at one session, or too few post-baseline scores
        in a training fold (fewer than 5 per coefficient: 30 for ``degree=2``).
    NotComputedError
        (a ``ValueError``) when the data have no rows or no client has a score after their
        baseline: the message is the reason, for "not computed: <reason>".

    Notes
    -----
    The expected score is the median, and the band the ``(1 - band) / 2`` and
    ``(1 + band) / 2`` quantiles, of a quantile regression (Koenker & Bassett 1978) of the score
    on the baseline ``b``, ``L = log(1 + sessions since baseline)`` (the log-linear dose-effect
    curve, Howard et al. 1986) and their interactions, up to ``L^degree``:
    ``Q_q = a0 + a1 b + sum_k (c_k + d_k b) L^k``. Each client's expectation comes from the
    model fitted on the other folds (cross-fitting), so no client sets their own expected
    curve. Expected recovery curves and the not-on-track signal follow the idea of Lambert's
    routine outcome monitoring (Finch, Lambert & Schaalje 2001); the model and the 80 % band are
    this module's choices, not the OQ-45's proprietary rule (see the module's notes).

    References
    ----------
    Koenker R. & Bassett G. (1978) Regression quantiles. Econometrica 46(1):33-50.
    Howard K.I., Kopta S.M., Krause M.S. & Orlinsky D.E. (1986) The dose-effect relationship in
    psychotherapy. Am Psychol 41(2):159-164.
    Finch A.E., Lambert M.J. & Schaalje B.G. (2001) Psychotherapy quality control: the
    statistical generation of expected recovery curves for integration into an early warning
    system. Clin Psychol Psychother 8(4):231-242.

    Examples
    --------
    On synthetic data that follow the model (a linear decline with normal noise), about 10 % of
    the scores lie above an 80 % band (78 of 800, 9.8 %):

    >>> from analysis.compare.on_track import on_track
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> n = 200
    >>> d = pd.DataFrame({"id": np.repeat(np.arange(n), 5), "time": np.tile(range(5), n)})
    >>> d["score"] = 20 - 2 * d["time"] + rng.normal(0, 2, len(d))
    >>> t = on_track(d)
    >>> sorted(t.columns)[:4], int(t["not_on_track"].sum()), len(t)
    (['baseline', 'deviation', 'elapsed', 'expected'], 78, 800)

    On the bundled simulated cohort (60 clients, PHQ-9 session by session, 0-27 points, lower is
    better): client C000001 started at 13 points and scored 2 at session 2, well below the
    expected 10.3; 52 of the 379 post-baseline scores (13.7 %) lie above the band:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores[cohort.scores["measure"] == "phq9"]
    >>> track = on_track(phq9)
    >>> track[["id", "time", "score", "baseline", "expected", "lower", "upper",
    ...        "not_on_track"]].head(3).round(1)
            id  time  score  baseline  expected  lower  upper  not_on_track
    0  C000001   2.0    2.0      13.0      10.3    6.7   14.0         False
    1  C000001   3.0    4.0      13.0       9.5    2.2   15.9         False
    2  C000002   2.0   21.0      24.0      16.7   11.2   22.7         False
    >>> len(track), track["id"].nunique(), int(track["not_on_track"].sum())
    (379, 58, 52)

    How well does a signal before the last session predict that a client does not remit
    (:func:`end_status`, :func:`signal_performance`)? It caught 14 of the 40 clients who did
    not remit, and all 14 clients it flagged did not:

    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> remission = outcomes[outcomes["definition"] == "remission"]
    >>> perf = signal_performance(end_status(track), remission)
    >>> perf[["measure", "count", "n", "estimate", "ci_low", "ci_high"]].round(3)
           measure  count   n  estimate  ci_low  ci_high
    0  sensitivity     14  40     0.350   0.221    0.505
    1  specificity     13  13     1.000   0.772    1.000
    2          ppv     14  14     1.000   0.785    1.000
    3          npv     13  39     0.333   0.206    0.490
    """
    if better_is not in ("lower", "higher"):
        raise ValueError(f"better_is must be 'lower' or 'higher', got {better_is!r}")
    if not (isinstance(folds, int) and folds >= 2):
        raise ValueError(f"folds must be a whole number >= 2, got {folds!r}")
    ExpectedRecovery(band, degree)  # checks band and degree before any data are looked at
    rows = baseline_and_followup(data, id, time, score)
    if not len(rows):
        what = (
            "the data have no rows"
            if not len(data)
            else f"no client has a score after their baseline (first observed score; "
            f"{len(data)} row(s) in data)"
        )
        raise NotComputedError(f"{what}: no session to compare with an expected recovery curve")
    parts = []
    if reference is not None:
        model = ExpectedRecovery(band, degree).fit(reference, id, time, score)
        pred = model.predict(rows["baseline"], rows["elapsed"])
        parts.append(pd.concat([rows, pred, pd.Series(-1, index=rows.index, name="fold")], axis=1))
    else:
        clients = pd.unique(rows[id])
        rng = np.random.default_rng(seed)
        fold_of = pd.Series(rng.permutation(len(clients)) % folds, index=clients)
        f = rows[id].map(fold_of).to_numpy()
        for k in range(folds):
            test = rows.loc[f == k]
            if not len(test):
                continue
            model = ExpectedRecovery(band, degree)._fit_rows(rows.loc[f != k], id)
            pred = model.predict(test["baseline"], test["elapsed"]).set_index(test.index)
            parts.append(test.assign(**{c: pred[c] for c in pred.columns}, fold=k))
    out = pd.concat(parts).sort_index()
    s = 1.0 if better_is == "lower" else -1.0
    out["deviation"] = s * (out["score"] - out["expected"])
    worse_end = out["upper"] if better_is == "lower" else out["lower"]
    out["not_on_track"] = (s * (out["score"] - worse_end)) > 0
    cols = [id, "time", "elapsed", "score", "baseline", "expected", "lower", "upper",
            "deviation", "not_on_track", "fold"]  # fmt: skip
    return out[cols].reset_index(drop=True)


def end_status(
    track: pd.DataFrame,
    id: str = "id",
    *,
    better_is: Literal["lower", "higher"] = "lower",
    by: float | None = None,
) -> pd.DataFrame:
    """Per client: signal raised or not, the first signal's session, last score vs expected.

    Parameters
    ----------
    track : pandas.DataFrame
        The result of :func:`on_track`.
    id : str
        Client id column.
    better_is : {"lower", "higher"}
        Direction of the score (as given to :func:`on_track`).
    by : float, optional
        Count only signals at sessions up to ``by`` (session number), to ask how early the
        signal is useful; default every session before the client's last.

    Returns
    -------
    pandas.DataFrame
        One row per client with a post-baseline score: ``<id>``, ``last_time``, ``last_score``,
        ``last_expected`` (points), ``better_than_expected`` (bool: last score better than the
        expected median), ``signal`` (bool: not on track at a session before the last, up to
        ``by``), ``first_signal_time`` (session, NaN if none), ``n_signals`` (sessions flagged
        before the last), ``n_sessions`` (post-baseline scores).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"id": [1, 1, 1], "time": [1, 2, 3], "score": [18, 16, 9],
    ...                   "expected": [15, 13, 11], "not_on_track": [False, True, False]})
    >>> end_status(t)[["signal", "first_signal_time", "better_than_expected"]].to_numpy(
    ...     ).tolist()
    [[True, 2.0, True]]
    """
    need = [id, "time", "score", "expected", "not_on_track"]
    missing = [c for c in need if c not in track.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the on-track table (see on_track())")
    t = track.sort_values([id, "time"], kind="stable")
    last = t.groupby(id, sort=False).tail(1).set_index(id)
    last_time = t[id].map(last["time"])
    early = t["time"] < last_time
    if by is not None:
        early &= t["time"] <= by
    flagged = t.loc[early & t["not_on_track"].astype(bool)]
    s = 1.0 if better_is == "lower" else -1.0
    out = pd.DataFrame(
        {
            id: last.index.to_numpy(),
            "last_time": last["time"].to_numpy(float),
            "last_score": last["score"].to_numpy(float),
            "last_expected": last["expected"].to_numpy(float),
        }
    )
    out["better_than_expected"] = s * (out["last_score"] - out["last_expected"]) < 0
    first = flagged.groupby(id)["time"].min()
    count = flagged.groupby(id).size()
    out["signal"] = out[id].isin(first.index)
    out["first_signal_time"] = out[id].map(first).astype(float)
    out["n_signals"] = out[id].map(count).fillna(0).astype(int).to_numpy()
    out["n_sessions"] = out[id].map(t.groupby(id).size()).to_numpy()
    return out


def signal_performance(
    status: pd.DataFrame,
    outcomes: pd.DataFrame,
    id: str = "id",
    *,
    success: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Sensitivity, specificity, PPV and NPV of the signal for a final non-success.

    Parameters
    ----------
    status : pandas.DataFrame
        :func:`end_status` (``<id>``, ``signal``).
    outcomes : pandas.DataFrame
        Either the tidy outcomes table (``id``, ``definition``, ``status`` in met / not_met /
        not_evaluable; one result per definition, not-evaluable clients left out) or a client
        table with a boolean column named by ``success``.
    id : str
        Client id column in both tables.
    success : str, optional
        Column of ``outcomes`` holding success (True) / non-success (False); needed when
        ``outcomes`` has no ``definition`` column. Missing values are left out.
    alpha : float, default 0.05
        1 - confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per definition (or one, named by ``success``) x measure: ``definition``,
        ``measure`` (sensitivity, specificity, ppv, npv), ``count``, ``n``, ``estimate`` (0-1,
        NaN if n = 0), ``ci_low``, ``ci_high`` (Wilson), and the confusion counts ``tp``, ``fp``,
        ``fn``, ``tn`` (signal = test positive, non-success = condition present).

    Raises
    ------
    ValueError
        Missing columns, or no ``success`` column for a client table.

    Examples
    --------
    >>> import pandas as pd
    >>> st = pd.DataFrame({"id": [1, 2, 3, 4], "signal": [True, True, False, False]})
    >>> oc = pd.DataFrame({"id": [1, 2, 3, 4], "ok": [False, True, True, False]})
    >>> r = signal_performance(st, oc, success="ok")
    >>> r.set_index("measure")["estimate"].tolist()
    [0.5, 0.5, 0.5, 0.5]
    """
    for c in (id, "signal"):
        if c not in status.columns:
            raise ValueError(f"column {c!r} not in the status table (see end_status())")
    if "definition" in outcomes.columns and success is None:
        for c in (id, "status"):
            if c not in outcomes.columns:
                raise ValueError(f"column {c!r} not in the outcomes table")
        o = outcomes.loc[outcomes["status"].isin(["met", "not_met"])]
        o = pd.DataFrame(
            {id: o[id], "definition": o["definition"], "ok": o["status"].eq("met").to_numpy()}
        )
    else:
        if success is None or success not in outcomes.columns:
            raise ValueError(
                "give success= naming the outcomes column with success (True) / non-success "
                f"(False); columns are {list(outcomes.columns)}"
            )
        o = outcomes.loc[outcomes[success].notna(), [id, success]]
        o = pd.DataFrame({id: o[id], "definition": success, "ok": o[success].astype(bool)})
    m = o.merge(status[[id, "signal"]], on=id, how="inner")
    rows = []
    for name, g in m.groupby("definition", sort=False):
        sig, bad = g["signal"].astype(bool).to_numpy(), ~g["ok"].to_numpy(bool)
        tp, fp = int(np.sum(sig & bad)), int(np.sum(sig & ~bad))
        fn, tn = int(np.sum(~sig & bad)), int(np.sum(~sig & ~bad))
        for measure, k, n in (
            ("sensitivity", tp, tp + fn),
            ("specificity", tn, tn + fp),
            ("ppv", tp, tp + fp),
            ("npv", tn, tn + fn),
        ):
            lo, hi = wilson_interval(k, n, alpha)
            rows.append(
                {
                    "definition": name,
                    "measure": measure,
                    "count": k,
                    "n": n,
                    "estimate": k / n if n else np.nan,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "tp": tp,
                    "fp": fp,
                    "fn": fn,
                    "tn": tn,
                }  # fmt: skip
            )
    return pd.DataFrame(rows, columns=list(_PERF_COLUMNS))


def signal_performance_by_session(
    track: pd.DataFrame,
    outcomes: pd.DataFrame,
    id: str = "id",
    *,
    sessions=None,
    better_is: Literal["lower", "higher"] = "lower",
    success: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Signal performance counting signals up to each session: how early is it useful.

    :func:`signal_performance`, with the signal of :func:`end_status` (``by=``) at each session.

    Parameters
    ----------
    track : pandas.DataFrame
        The result of :func:`on_track`.
    outcomes : pandas.DataFrame
        As :func:`signal_performance`.
    id : str
        Client id column.
    sessions : sequence of float, optional
        The sessions ``by`` to evaluate; default every session in ``track`` but the last.
    better_is, success, alpha
        As :func:`end_status` and :func:`signal_performance`.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`signal_performance` with ``by`` (session) first.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"id": [1, 1, 2, 2], "time": [1, 2, 1, 2], "score": [9, 9, 5, 5],
    ...                   "expected": [6, 6, 6, 6], "not_on_track": [True, True, False, False]})
    >>> oc = pd.DataFrame({"id": [1, 2], "ok": [False, True]})
    >>> r = signal_performance_by_session(t, oc, sessions=[1], success="ok")
    >>> r.loc[r["measure"] == "sensitivity", ["by", "estimate"]].to_numpy().tolist()
    [[1.0, 1.0]]
    """
    times = np.sort(track["time"].unique()) if sessions is None else np.asarray(sessions, float)
    if sessions is None:
        times = times[:-1]
    parts = []
    for k in times:
        st = end_status(track, id, better_is=better_is, by=float(k))
        r = signal_performance(st, outcomes, id, success=success, alpha=alpha)
        parts.append(r.assign(by=float(k)))
    cols = ["by", *_PERF_COLUMNS]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def severity_points(instrument, baseline_scores) -> dict[str, float]:
    """Baselines at which to draw expected curves, one per severity band or baseline tertile.

    The midpoint of each severity band of the instrument (registry ``bands``) that holds at
    least one baseline score, else the medians of the baseline tertiles.

    Parameters
    ----------
    instrument : analysis.registry.instruments.Instrument
        Registry entry (``bands``: lower bounds and labels; ``max``).
    baseline_scores : array-like of float
        The cohort's baseline scores (points).

    Returns
    -------
    dict
        Label -> baseline (points), in increasing order.

    Examples
    --------
    >>> from analysis.registry.instruments import load_registry
    >>> severity_points(load_registry()["bdi2"], [10, 25, 40])
    {'minimal': 6.5, 'moderate': 24.0, 'severe': 46.0}
    """
    b = pd.Series(baseline_scores, dtype=float).dropna()
    bands = instrument.bands or {}
    if bands.get("values") and bands.get("labels") and len(b):
        lows = [float(v) for v in bands["values"]]
        highs = [*(v - 1 if instrument.integer else v for v in lows[1:]), float(instrument.max)]
        out = {}
        for lab, lo, hi in zip(bands["labels"], lows, highs, strict=True):
            if ((b >= lo) & (b <= hi)).any():
                out[str(lab)] = (lo + hi) / 2
        if out:
            return out
    if len(b) < 3:
        return {"median": float(b.median())} if len(b) else {}
    q = pd.qcut(b, 3, labels=["lower third", "middle third", "upper third"])
    return {str(k): float(v) for k, v in b.groupby(q, observed=True).median().items()}
