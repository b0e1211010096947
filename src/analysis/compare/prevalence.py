"""Prevalence of success per definition, with confidence intervals (statsmodels)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

__all__ = ["wilson_interval", "prevalence", "PERSPECTIVES", "perspective_coverage"]


def wilson_interval(
    count: np.ndarray | int, nobs: np.ndarray | int, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (statsmodels ``proportion_confint``).

    Parameters
    ----------
    count, nobs : int or array of int
        Successes (e.g. clients who met a definition) and trials (clients evaluable), of the same
        or broadcastable shapes; ``0 <= count <= nobs``. ``nobs == 0`` gives NaN bounds, and so
        does a NaN count or trial number.
    alpha : float, default 0.05
        1 - confidence level (0.05 for 95 %), in (0, 1).

    Returns
    -------
    low, high : numpy.ndarray of float
        Lower and upper bounds (proportions, 0-1), of the broadcast shape of ``count`` and
        ``nobs`` (0-d arrays for two scalars).

    Raises
    ------
    ValueError
        If ``alpha`` is not in (0, 1), or a count is negative or larger than its ``nobs``.

    Notes
    -----
    With p = count / n (n = nobs) and z the 1 - alpha/2 standard normal quantile (1.95996 for
    95 %), the bounds are
    (p + z^2/(2n) -/+ z sqrt(p(1-p)/n + z^2/(4n^2))) / (1 + z^2/n)
    (Wilson 1927; the score interval Brown, Cai & DasGupta 2001 recommend over the Wald interval
    for small n or p near 0 or 1). Computed by statsmodels ``proportion_confint(method="wilson")``.

    References
    ----------
    Wilson E.B. (1927) Probable inference, the law of succession, and statistical inference.
    J Am Stat Assoc 22(158):209-212.
    Brown L.D., Cai T.T. & DasGupta A. (2001) Interval estimation for a binomial proportion.
    Stat Sci 16(2):101-133.

    Examples
    --------
    8 of 20: centre (0.4 + 3.8415/40) / 1.19207 = 0.41612, half-width
    1.95996 * sqrt(0.012 + 0.0024009) / 1.19207 = 0.19731:

    >>> low, high = wilson_interval(8, 20)
    >>> print(f"{float(low):.4f} {float(high):.4f}")
    0.2188 0.6134

    Remission (PHQ-9) in the bundled simulated cohort: 13 of the 53 evaluable clients.

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> status = outcomes.loc[outcomes["definition"] == "remission", "status"]
    >>> met, evaluable = int((status == "met").sum()), int(status.isin(["met", "not_met"]).sum())
    >>> low, high = wilson_interval(met, evaluable)
    >>> print(f"{met}/{evaluable} = {met / evaluable:.3f}, 95 % CI {low:.3f} to {high:.3f}")
    13/53 = 0.245, 95 % CI 0.149 to 0.376

    Arrays are computed elementwise; no trials give NaN:

    >>> low, high = wilson_interval([0, 5, 0], [10, 5, 0])
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0, 0.5655, nan], [0.2775, 1.0, nan])
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1) (0.05 for 95 %), got {alpha!r}")
    count = np.asarray(count, dtype=float)
    nobs = np.asarray(nobs, dtype=float)
    bad = (count < 0) | (count > nobs) | (nobs < 0)
    if np.any(bad):
        shown = (
            np.broadcast_to(count, bad.shape)[bad][:5],
            np.broadcast_to(nobs, bad.shape)[bad][:5],
        )
        raise ValueError(
            "counts must satisfy 0 <= count <= nobs; got count, nobs = "
            + ", ".join(f"({c:g}, {n:g})" for c, n in zip(*shown, strict=True))
        )
    safe = np.where(nobs > 0, nobs, 1.0)
    lo, hi = proportion_confint(count, safe, alpha=alpha, method="wilson")
    lo = np.where(nobs > 0, lo, np.nan)
    hi = np.where(nobs > 0, hi, np.nan)
    return lo, hi


def prevalence(
    outcomes: pd.DataFrame,
    by: str | list[str] | None = None,
    groups: pd.DataFrame | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How often each definition is met, among evaluable clients, with Wilson intervals.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes, one row per client x definition (``id, definition, status, ...``; the
        table of :func:`analysis.outcomes.engine.score_definitions`). Not modified.
    by : str or list of str, optional
        Grouping column(s) (e.g. ``"arm"``), taken from ``outcomes`` or from ``groups``.
    groups : pandas.DataFrame, optional
        Client table with ``id`` and the ``by`` columns, one row per client, joined on ``id``.
    alpha : float, default 0.05
        1 - confidence level (0.05 for 95 %).

    Returns
    -------
    pandas.DataFrame
        One row per definition (x group): the ``by`` columns, ``definition``, ``n_met``,
        ``n_evaluable``, ``n_not_evaluable`` (clients), ``proportion`` (0-1, NaN if none
        evaluable), ``ci_low``, ``ci_high`` (Wilson, 0-1). Definitions keep their order of
        appearance.

    Raises
    ------
    ValueError
        When a ``by`` column is in neither ``outcomes`` nor ``groups``, when ``alpha`` is not in
        (0, 1), or (pandas ``MergeError``, a ``ValueError``) when ``groups`` has two rows for a
        client.

    Notes
    -----
    ``proportion = n_met / n_evaluable``, where the evaluable clients are those with status
    ``met`` or ``not_met``; clients ``not_evaluable`` are counted apart, never as failures (the
    missing-data strategy of the definitions engine decides who is evaluable). The interval is
    Wilson's score interval (:func:`wilson_interval`; Wilson 1927).

    References
    ----------
    Wilson E.B. (1927) Probable inference, the law of succession, and statistical inference.
    J Am Stat Assoc 22(158):209-212.

    Examples
    --------
    Client c is not evaluable for remission, so remission is met by 1 of 2 evaluable clients:

    >>> import pandas as pd
    >>> outcomes = pd.DataFrame({
    ...     "id": ["a", "b", "c"] * 2,
    ...     "definition": ["remission"] * 3 + ["response"] * 3,
    ...     "status": ["met", "not_met", "not_evaluable", "met", "met", "not_met"],
    ... })
    >>> prevalence(outcomes)[["definition", "n_met", "n_evaluable", "proportion"]].round(3)
      definition  n_met  n_evaluable  proportion
    0  remission      1            2       0.500
    1   response      2            3       0.667

    On the bundled simulated cohort (60 clients, PHQ-9 the primary measure), every definition
    of the package's definitions file, then two of them by arm:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> table = prevalence(outcomes)
    >>> cols = ["definition", "n_met", "n_evaluable", "proportion", "ci_low", "ci_high"]
    >>> table[cols].head(3).round(3)
           definition  n_met  n_evaluable  proportion  ci_low  ci_high
    0       remission     13           53       0.245   0.149    0.376
    1  below_caseness     24           53       0.453   0.327    0.585
    2        response     23           58       0.397   0.281    0.525
    >>> two = outcomes[outcomes["definition"].isin(["remission", "response"])]
    >>> by_arm = prevalence(two, by="arm", groups=cohort.clients)
    >>> by_arm[["arm", "definition", "n_met", "n_evaluable", "proportion"]].round(3)
      arm definition  n_met  n_evaluable  proportion
    0   A  remission      7           25       0.280
    1   A   response     12           27       0.444
    2   B  remission      6           28       0.214
    3   B   response     11           31       0.355
    """
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    data = outcomes
    if groups is not None and keys:
        data = outcomes.merge(groups[["id", *keys]], on="id", how="left", validate="many_to_one")
    missing = [k for k in keys if k not in data.columns]
    if missing:
        raise ValueError(f"grouping column(s) {missing} not found in outcomes or groups")
    order = list(dict.fromkeys(data["definition"]))
    d = data.assign(
        _met=data["status"].eq("met").astype(int),
        _ev=data["status"].isin(["met", "not_met"]).astype(int),
        _ne=data["status"].eq("not_evaluable").astype(int),
    )
    g = d.groupby([*keys, "definition"], sort=False, dropna=False, observed=True)
    res = g.agg(n_met=("_met", "sum"), n_evaluable=("_ev", "sum"), n_not_evaluable=("_ne", "sum"))
    res = res.reset_index()
    res["proportion"] = np.where(
        res["n_evaluable"] > 0,
        res["n_met"] / res["n_evaluable"].where(res["n_evaluable"] > 0),
        np.nan,
    )
    res["ci_low"], res["ci_high"] = wilson_interval(res["n_met"], res["n_evaluable"], alpha)
    for k in keys:  # grouping columns sort by their values (a categorical's: not its categories)
        if isinstance(res[k].dtype, pd.CategoricalDtype):
            res[k] = res[k].astype(object)
    res["definition"] = pd.Categorical(res["definition"], categories=order, ordered=True)
    res = res.sort_values([*keys, "definition"], kind="stable").reset_index(drop=True)
    res["definition"] = res["definition"].astype(str)
    return res


#: The ten practitioner perspectives on a successful outcome, in short (our summary of the
#: practitioner panel "What Do You Consider to be a Successful Psychotherapy Outcome?", Featured,
#: 2024); definitions name the ones they express in ``perspectives``.
PERSPECTIVES: dict[int, str] = {
    1: "assertiveness and self-compassion",
    2: "emotion regulation and acceptance",
    3: "a connected, value-oriented life",
    4: "symptom improvement without remission, success defined with the client",
    5: "self-esteem",
    6: "a new coping skill, felt relief",
    7: "a strong working alliance",
    8: "individual goals, hope, feeling heard",
    9: "functioning and self-efficacy beyond symptoms",
    10: "child and family functioning",
}


def perspective_coverage(outcomes: pd.DataFrame, definitions: list[dict]) -> pd.DataFrame:
    """How many clients each practitioner perspective could be computed for.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        The engine's outcomes table (columns ``id``, ``definition``, ``status``).
    definitions : list of dict
        The definitions of the run (each may list ``perspectives``, numbers 1-10).

    Returns
    -------
    pandas.DataFrame
        One row per perspective 1-10: ``perspective``, ``label`` (:data:`PERSPECTIVES`),
        ``definitions`` (the run's definitions expressing it, comma-separated; empty when none),
        ``clients_evaluable`` (clients evaluable under at least one of them), ``clients_met``
        (clients meeting at least one of them). Perspectives the definitions scored on these data
        do not express have 0 clients.

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"id": [1, 2, 1, 2], "definition": ["a", "a", "b", "b"],
    ...                     "status": ["met", "not_evaluable", "not_met", "met"]})
    >>> defs = [{"name": "a", "perspectives": [5]}, {"name": "b", "perspectives": [5, 7]}]
    >>> t = perspective_coverage(out, defs).set_index("perspective")
    >>> [int(t.loc[5, c]) for c in ("clients_evaluable", "clients_met")]
    [2, 2]
    >>> int(t.loc[7, "clients_met"])
    1
    """
    scored = set(outcomes["definition"])
    rows = []
    for number, label in PERSPECTIVES.items():
        names = [
            d["name"] for d in definitions
            if number in (d.get("perspectives") or []) and d["name"] in scored
        ]  # fmt: skip
        sub = outcomes.loc[outcomes["definition"].isin(names)]
        ev = sub.loc[sub["status"].isin(["met", "not_met"]), "id"].nunique()
        met = sub.loc[sub["status"] == "met", "id"].nunique()
        rows.append(
            {
                "perspective": number,
                "label": label,
                "definitions": ", ".join(names),
                "clients_evaluable": int(ev),
                "clients_met": int(met),
            }
        )
    return pd.DataFrame(rows)
