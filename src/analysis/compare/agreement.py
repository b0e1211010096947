"""Do the definitions agree? Kappa, PABAK, McNemar, overlap, family disagreement, severity bias.

Every function takes the outcomes table (:data:`analysis.outcomes.engine.OUTCOME_COLUMNS`, produced
by :func:`analysis.outcomes.engine.score_definitions`) and works on its columns only, never on
particular definition names, so it serves any set of definitions. A client enters a pairwise
comparison only when evaluable (``met`` or ``not_met``) under both definitions of the pair. Nothing
here returns client identifiers except :func:`success_indicators`, whose rows are for further
computation, not display.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import binom, chi2, norm
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from analysis.registry.instruments import load_registry

__all__ = [
    "MCNEMAR_METHODS",
    "mcnemar_p",
    "cohen_kappa_2x2",
    "success_indicators",
    "pairwise_agreement",
    "agreement_matrix",
    "overlap_patterns",
    "family_success",
    "family_disagreement",
    "family_profile_sets",
    "severity_bias",
    "PUBLISHED_SEVERITY_BIAS",
    "published_severity_comparison",
    "check_separation",
]

_NEEDED = ("id", "definition", "status")

#: McNemar variants: mid-p (default, Fagerland, Lydersen & Laake 2013), exact conditional, and the
#: asymptotic chi-squared test without continuity correction.
MCNEMAR_METHODS = ("midp", "exact", "asymptotic")


def mcnemar_p(b: int, c: int, method: str = "midp") -> float:
    """Two-sided p value of McNemar's test from the two discordant counts of a paired 2x2 table.

    Parameters
    ----------
    b, c : int
        Discordant counts (clients): ``b`` met under the first definition only, ``c`` under the
        second only. Non-negative whole numbers.
    method : {"midp", "exact", "asymptotic"}
        ``"midp"`` (default): the mid-p test, ``2 [P(X <= min(b, c)) - P(X = min(b, c)) / 2]``
        with ``X ~ Bin(b + c, 1/2)``; ``"exact"``: the exact conditional (binomial) test
        ``min(1, 2 P(X <= min(b, c)))``; ``"asymptotic"``: ``(b - c)^2 / (b + c)`` referred to
        chi-squared with 1 df (no continuity correction).

    Returns
    -------
    float
        p value in [0, 1]; 1.0 when ``b + c = 0`` (no discordant pair: no evidence of a
        difference).

    Raises
    ------
    ValueError
        For negative or non-integer counts or an unknown method.

    Notes
    -----
    Fagerland, Lydersen & Laake (2013) compared the tests over 10,000 scenarios: the exact
    conditional test is very conservative; the mid-p test and the asymptotic test without
    continuity correction keep the nominal level closely with more power, and they recommend the
    mid-p test (the asymptotic one for larger samples). The mid-p value equals the exact value
    minus ``P(X = min(b, c))``; for ``b = c`` both are 1.

    References
    ----------
    Fagerland M.W., Lydersen S. & Laake P. (2013) The McNemar test for binary matched-pairs data:
    mid-p and asymptotic are better than exact conditional. BMC Med Res Methodol 13:91.
    doi:10.1186/1471-2288-13-91
    McNemar Q. (1947) Note on the sampling error of the difference between correlated proportions
    or percentages. Psychometrika 12(2):153-157.

    Examples
    --------
    >>> round(mcnemar_p(5, 10), 6)  # (9888 - 3003) / 32768
    0.210114
    >>> round(mcnemar_p(5, 10, "exact"), 6)
    0.301758
    """
    if method not in MCNEMAR_METHODS:
        raise ValueError(f"method must be one of {list(MCNEMAR_METHODS)}, got {method!r}")
    for name, v in (("b", b), ("c", c)):
        if isinstance(v, bool) or not float(v).is_integer() or v < 0:
            raise ValueError(
                f"discordant count {name} must be a non-negative whole number, got {v!r}"
            )
    b, c = int(b), int(c)
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    if method == "asymptotic":
        return float(chi2.sf((b - c) ** 2 / n, 1))
    exact = min(1.0, 2.0 * float(binom.cdf(k, n, 0.5)))
    if method == "exact":
        return exact
    return float(min(1.0, 2.0 * (float(binom.cdf(k, n, 0.5)) - 0.5 * float(binom.pmf(k, n, 0.5)))))


def cohen_kappa_2x2(n11: int, n10: int, n01: int, n00: int) -> tuple[float, float]:
    """Cohen's kappa of a 2x2 agreement table and its large-sample standard error.

    Parameters
    ----------
    n11, n10, n01, n00 : int
        Cell counts (clients): both met, first only, second only, neither.

    Returns
    -------
    (kappa, se) : tuple of float
        ``kappa = (p_o - p_e) / (1 - p_e)``; NaN (both) when ``n = 0`` or ``p_e = 1`` (both
        definitions constant with the same value, so chance agreement is certain). When only one
        definition is constant, ``p_e = p_o`` and kappa is exactly 0 (defined: ``p_e < 1``).

    Notes
    -----
    The standard error is the non-null large-sample formula of Fleiss, Cohen & Everitt (1969)
    (the one statsmodels ``cohens_kappa`` reports as ``std_kappa``), with ``p_ij`` the cell
    proportions and ``p_i.``, ``p_.j`` the margins:
    ``var = [sum_i p_ii (1 - (p_i. + p_.i)(1 - k))^2 + (1 - k)^2 sum_{i != j} p_ij (p_.i + p_j.)^2
    - (k - p_e (1 - k))^2] / (n (1 - p_e)^2)``.

    References
    ----------
    Cohen J. (1960) Educ Psychol Meas 20(1):37-46. Fleiss J.L., Cohen J. & Everitt B.S. (1969)
    Psychol Bull 72(5):323-327.

    Examples
    --------
    >>> [round(v, 6) for v in cohen_kappa_2x2(20, 5, 10, 15)]
    [0.4, 0.126996]
    >>> cohen_kappa_2x2(3, 0, 5, 0)[0]  # first definition met by everyone: p_e = p_o
    0.0
    """
    t = np.array([[n11, n10], [n01, n00]], dtype=float)
    n = t.sum()
    if n == 0:
        return np.nan, np.nan
    p = t / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    p_o = float(np.trace(p))
    p_e = float(row @ col)
    if p_e >= 1.0 - 1e-12:
        return np.nan, np.nan
    k = (p_o - p_e) / (1.0 - p_e)
    diag = sum(p[i, i] * (1.0 - (row[i] + col[i]) * (1.0 - k)) ** 2 for i in range(2))
    off = (1.0 - k) ** 2 * sum(
        p[i, j] * (col[i] + row[j]) ** 2 for i in range(2) for j in range(2) if i != j
    )
    var = (diag + off - (k - p_e * (1.0 - k)) ** 2) / (n * (1.0 - p_e) ** 2)
    return float(k), float(np.sqrt(max(var, 0.0)))


def _check(outcomes: pd.DataFrame, extra: tuple[str, ...] = ()) -> None:
    if not isinstance(outcomes, pd.DataFrame):
        raise TypeError(f"outcomes must be a pandas DataFrame, got {type(outcomes).__name__}")
    missing = [c for c in (*_NEEDED, *extra) if c not in outcomes.columns]
    if missing:
        raise ValueError(
            f"the outcomes table lacks column(s) {missing}; expected the per-client outcomes "
            "table of analysis.outcomes.engine (id, definition, family, measure, status, ...)"
        )
    bad = ~outcomes["status"].isin(["met", "not_met", "not_evaluable"])
    if bad.any():
        raise ValueError(
            "column 'status' must be met / not_met / not_evaluable; offending rows: "
            f"{outcomes.loc[bad, ['id', 'definition', 'status']].head(5).to_dict('records')}"
        )
    dup = outcomes.duplicated(["id", "definition"])
    if dup.any():
        raise ValueError(
            "each client may appear once per definition; duplicated (id, definition) rows: "
            f"{outcomes.loc[dup, ['id', 'definition']].head(5).to_dict('records')}"
        )


def success_indicators(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Wide 1/0/NaN table of success: one row per client, one column per definition.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table. Not modified.

    Returns
    -------
    pandas.DataFrame
        Index ``id``; one float column per definition (order of first appearance): 1.0 met,
        0.0 not met, NaN not evaluable. Holds client identifiers: for computation, not reports.

    Raises
    ------
    ValueError
        If a needed column is missing, a status is unknown or (id, definition) repeats.

    Examples
    --------
    On the bundled simulated cohort (60 clients, PHQ-9): client C000001 met all three
    definitions; 7 clients are not evaluable for remission (NaN):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> three = outcomes[outcomes["definition"].isin(
    ...     ["remission", "response", "reliable_improvement"])]
    >>> wide = success_indicators(three)
    >>> wide.head(2)
             remission  response  reliable_improvement
    id
    C000001        1.0       1.0                   1.0
    C000002        0.0       0.0                   0.0
    >>> wide.shape, wide.notna().sum().to_dict()
    ((60, 3), {'remission': 53, 'response': 58, 'reliable_improvement': 58})
    """
    _check(outcomes)
    order = list(dict.fromkeys(outcomes["definition"]))
    val = np.where(
        outcomes["status"].eq("met"), 1.0, np.where(outcomes["status"].eq("not_met"), 0.0, np.nan)
    )
    wide = (
        outcomes.assign(_v=val)
        .pivot(index="id", columns="definition", values="_v")
        .reindex(columns=order)
    )
    wide.columns.name = None
    return wide


def _pair_stats(
    x: np.ndarray, y: np.ndarray, alpha: float, names=("a", "b"), mcnemar: str = "midp"
) -> dict:
    both = ~np.isnan(x) & ~np.isnan(y)
    a, b = x[both] == 1, y[both] == 1
    n11, n10 = int((a & b).sum()), int((a & ~b).sum())
    n01, n00 = int((~a & b).sum()), int((~a & ~b).sum())
    n = n11 + n10 + n01 + n00
    row = {
        "n_both": n,
        "both_met": n11,
        "only_a": n10,
        "only_b": n01,
        "neither": n00,
        "percent_agree": 100.0 * (n11 + n00) / n if n else np.nan,
        "kappa": np.nan,
        "kappa_se": np.nan,
        "kappa_ci_low": np.nan,
        "kappa_ci_high": np.nan,
        "pabak": 2.0 * (n11 + n00) / n - 1.0 if n else np.nan,
        "mcnemar_b": n10,
        "mcnemar_c": n01,
        "mcnemar_method": mcnemar,
        "mcnemar_p": np.nan,
        "note": "",
    }
    if n == 0:
        row["note"] = "no client evaluable under both definitions"
        return row
    kap, se = cohen_kappa_2x2(n11, n10, n01, n00)
    const_a = n11 + n10 in (0, n)
    const_b = n11 + n01 in (0, n)
    if np.isnan(kap):
        row["note"] = (
            f"kappa undefined: {names[0]!r} and {names[1]!r} give the same result for every "
            "client evaluable under both (expected chance agreement 1)"
        )
    else:
        z = float(norm.ppf(1 - alpha / 2))
        row.update(kappa=kap, kappa_se=se, kappa_ci_low=kap - z * se, kappa_ci_high=kap + z * se)
        if const_a or const_b:
            which = names[0] if const_a else names[1]
            row["note"] = (
                f"kappa = 0 by construction: {which!r} gives the same result for every client "
                "evaluable under both, so observed agreement equals chance agreement"
            )
    row["mcnemar_p"] = mcnemar_p(n10, n01, mcnemar)
    return row


def pairwise_agreement(
    outcomes: pd.DataFrame, alpha: float = 0.05, mcnemar: str = "midp"
) -> pd.DataFrame:
    """Agreement of every pair of definitions: 2x2 counts, kappa with CI, PABAK, McNemar.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table (``id, definition, status``; ``family`` used when present). Not
        modified.
    alpha : float
        1 - confidence level of the kappa interval (0.05: 95 %).
    mcnemar : {"midp", "exact", "asymptotic"}
        McNemar variant (see :func:`mcnemar_p`); the default mid-p test is the one Fagerland,
        Lydersen & Laake (2013) recommend.

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair (k definitions: k (k - 1) / 2 rows; definitions in order of
        first appearance): ``definition_a``, ``definition_b``, ``family_a``, ``family_b``,
        ``n_both`` (clients evaluable under both), ``both_met``, ``only_a``, ``only_b``,
        ``neither`` (clients),
        ``percent_agree`` (0-100), ``kappa``, ``kappa_se``, ``kappa_ci_low``, ``kappa_ci_high``
        (NaN only when undefined), ``pabak`` (-1 to 1), ``mcnemar_b``, ``mcnemar_c`` (the
        discordant counts the test uses: a only, b only), ``mcnemar_method``, ``mcnemar_p``
        (two-sided), ``prevalence_a``, ``prevalence_b`` (0-1, among the ``n_both``),
        ``prevalence_difference`` (a - b), and ``note`` (why kappa is undefined or 0 by
        construction, in words; "" otherwise).

    Raises
    ------
    TypeError
        If ``outcomes`` is not a data frame.
    ValueError
        For a malformed outcomes table (see :func:`success_indicators`), or an unknown
        ``mcnemar`` method (see :func:`mcnemar_p`).

    Notes
    -----
    Cohen's kappa ``(p_o - p_e) / (1 - p_e)`` and its large-sample standard error (Fleiss, Cohen &
    Everitt 1969; :func:`cohen_kappa_2x2`); the interval is kappa +/- z SE. Kappa is computed
    whenever ``p_e < 1``: when one definition is constant and the other is not, ``p_e = p_o`` and
    kappa = 0 (said in ``note``); it is undefined (NaN, said in ``note``) only when ``p_e = 1``,
    i.e. both definitions constant with the same value. Kappa is near zero even at 90 % agreement
    when one outcome is rare, so the prevalence-adjusted bias-adjusted kappa
    ``PABAK = 2 p_o - 1`` (Byrt, Bishop & Carlin 1993) is given beside it. McNemar's test of
    equal paired prevalences uses the discordant counts b and c; by default the mid-p test,
    which Fagerland, Lydersen & Laake (2013) recommend over the conservative exact conditional
    test (available as ``mcnemar="exact"``, with the asymptotic test as ``"asymptotic"``).

    References
    ----------
    Cohen J. (1960) A coefficient of agreement for nominal scales. Educ Psychol Meas 20(1):37-46.
    Fleiss J.L., Cohen J. & Everitt B.S. (1969) Large sample standard errors of kappa and weighted
    kappa. Psychol Bull 72(5):323-327.
    Byrt T., Bishop J. & Carlin J.B. (1993) Bias, prevalence and kappa. J Clin Epidemiol
    46(5):423-429.
    McNemar Q. (1947) Note on the sampling error of the difference between correlated proportions
    or percentages. Psychometrika 12(2):153-157.
    Fagerland M.W., Lydersen S. & Laake P. (2013) The McNemar test for binary matched-pairs data:
    mid-p and asymptotic are better than exact conditional. BMC Med Res Methodol 13:91.

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"id": list(range(8)) * 2, "definition": ["A"] * 8 + ["B"] * 8,
    ...                     "status": ["met"] * 3 + ["not_met"] * 3 + ["met", "not_met"]
    ...                     + ["met"] * 2 + ["not_met"] * 4 + ["met", "not_met"]})
    >>> res = pairwise_agreement(out)
    >>> res[["both_met", "only_a", "only_b", "neither"]].values.tolist()
    [[3, 1, 0, 4]]
    >>> float(res["kappa"].iloc[0])  # p_o = 7/8, p_e = .5 * .375 + .5 * .625 = .5: (7/8 - .5) / .5
    0.75

    On the bundled simulated cohort (60 clients, PHQ-9), three symptom definitions. Every client
    in remission also responded, so the discordant pairs all lie on one side (b = 0):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> three = outcomes[outcomes["definition"].isin(
    ...     ["remission", "response", "reliable_improvement"])]
    >>> pairs = pairwise_agreement(three)
    >>> pairs[["definition_a", "definition_b", "n_both", "both_met", "only_a", "only_b",
    ...        "neither"]]
      definition_a          definition_b  n_both  both_met  only_a  only_b  neither
    0    remission              response      53        13       0       9       31
    1    remission  reliable_improvement      53        13       0      19       21
    2     response  reliable_improvement      58        23       0      10       25

    Remission against response: p_o = 44/53 = 0.8302, p_e = (13 * 22 + 40 * 31) / 53^2 = 0.5433,
    kappa = (0.8302 - 0.5433) / (1 - 0.5433) = 0.628; PABAK = 2 * 0.8302 - 1 = 0.660; McNemar
    mid-p with b = 0, c = 9: 2 * 0.5^9 - 0.5^9 = 0.002.

    >>> pairs[["kappa", "kappa_ci_low", "kappa_ci_high", "pabak", "mcnemar_p"]].round(3)
       kappa  kappa_ci_low  kappa_ci_high  pabak  mcnemar_p
    0  0.628         0.423          0.834  0.660      0.002
    1  0.352         0.174          0.529  0.283      0.000
    2  0.665         0.487          0.843  0.655      0.001
    """
    wide = success_indicators(outcomes)
    fam = (
        outcomes.drop_duplicates("definition").set_index("definition")["family"]
        if "family" in outcomes.columns
        else pd.Series(dtype=object)
    )
    defs = list(wide.columns)
    rows = []
    for i, a in enumerate(defs):
        for b in defs[i + 1 :]:
            r = _pair_stats(wide[a].to_numpy(), wide[b].to_numpy(), alpha, (a, b), mcnemar)
            n = r["n_both"]
            pa = (r["both_met"] + r["only_a"]) / n if n else np.nan
            pb = (r["both_met"] + r["only_b"]) / n if n else np.nan
            rows.append(
                {
                    "definition_a": a,
                    "definition_b": b,
                    "family_a": fam.get(a, ""),
                    "family_b": fam.get(b, ""),
                    **r,
                    "prevalence_a": pa,
                    "prevalence_b": pb,
                    "prevalence_difference": pa - pb,
                }
            )
    cols = [
        "definition_a",
        "definition_b",
        "family_a",
        "family_b",
        "n_both",
        "both_met",
        "only_a",
        "only_b",
        "neither",
        "percent_agree",
        "kappa",
        "kappa_se",
        "kappa_ci_low",
        "kappa_ci_high",
        "pabak",
        "mcnemar_b",
        "mcnemar_c",
        "mcnemar_method",
        "mcnemar_p",
        "prevalence_a",
        "prevalence_b",
        "prevalence_difference",
        "note",
    ]
    return pd.DataFrame(rows, columns=cols)


def agreement_matrix(pairs: pd.DataFrame, value: str = "kappa") -> pd.DataFrame:
    """Square, symmetric matrix of one pairwise statistic, for display or a heat map.

    Parameters
    ----------
    pairs : pandas.DataFrame
        Output of :func:`pairwise_agreement`.
    value : str
        Column to spread (``kappa``, ``pabak``, ``percent_agree``, ``mcnemar_p``, ...).

    Returns
    -------
    pandas.DataFrame
        Definitions as index and columns; the diagonal is 1 for kappa and PABAK, 100 for percent
        agreement, NaN otherwise.

    Raises
    ------
    ValueError
        If ``value`` is not a column of ``pairs``.

    Examples
    --------
    Kappa between three symptom definitions on the bundled simulated cohort (60 clients, PHQ-9):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> three = outcomes[outcomes["definition"].isin(
    ...     ["remission", "response", "reliable_improvement"])]
    >>> agreement_matrix(pairwise_agreement(three)).round(2)
                          remission  response  reliable_improvement
    remission                  1.00      0.63                  0.35
    response                   0.63      1.00                  0.66
    reliable_improvement       0.35      0.66                  1.00
    """
    if value not in pairs.columns:
        raise ValueError(f"{value!r} is not a column of the pairs table ({list(pairs.columns)})")
    defs = list(dict.fromkeys([*pairs["definition_a"], *pairs["definition_b"]]))
    m = pd.DataFrame(np.nan, index=defs, columns=defs)
    for r in pairs.itertuples(index=False):
        v = getattr(r, value)
        m.loc[r.definition_a, r.definition_b] = v
        m.loc[r.definition_b, r.definition_a] = v
    diag = {"kappa": 1.0, "pabak": 1.0, "percent_agree": 100.0}.get(value, np.nan)
    for d in defs:
        m.loc[d, d] = diag
    return m


def overlap_patterns(outcomes: pd.DataFrame) -> pd.DataFrame:
    """How many clients succeed under exactly which set of definitions (input of an UpSet plot).

    Only clients evaluable under every definition are counted, so that each pattern is complete.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table. Not modified.

    Returns
    -------
    pandas.DataFrame
        One row per observed pattern: one bool column per definition (met or not), then
        ``n_clients``. Sorted by ``n_clients`` descending. ``attrs["n_excluded"]`` holds the number
        of clients not evaluable under at least one definition.

    Examples
    --------
    On the bundled simulated cohort (60 clients, PHQ-9): of the 53 clients evaluable under all
    three definitions, 21 met none, 13 all three, 10 reliable improvement only and 9 response
    and reliable improvement but not remission; 7 clients are left out:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> three = outcomes[outcomes["definition"].isin(
    ...     ["remission", "response", "reliable_improvement"])]
    >>> patterns = overlap_patterns(three)
    >>> patterns
       remission  response  reliable_improvement  n_clients
    0      False     False                 False         21
    1       True      True                  True         13
    2      False     False                  True         10
    3      False      True                  True          9
    >>> patterns.attrs["n_excluded"]
    7
    """
    wide = success_indicators(outcomes)
    complete = wide.notna().all(axis=1)
    defs = list(wide.columns)
    if not complete.any():
        out = pd.DataFrame(columns=[*defs, "n_clients"])
    else:
        out = (
            wide.loc[complete]
            .astype(bool)
            .value_counts(subset=defs, sort=True)
            .rename("n_clients")
            .reset_index()
        )
    out.attrs["n_excluded"] = int((~complete).sum())
    return out


def family_success(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per client and family: success under any definition of the family.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table with ``family``. Not modified.

    Returns
    -------
    pandas.DataFrame
        Index ``id``; one float column per family: 1.0 if at least one of the family's definitions
        is met, 0.0 if at least one is evaluable and none met, NaN if none is evaluable.

    Examples
    --------
    On the bundled simulated cohort (60 clients, PHQ-9 primary, every definition of the
    package's file): client C000001 met a symptom definition but no functional one; no
    child-and-family definition is evaluable for them:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> families = family_success(outcomes)
    >>> list(families.columns)
    ['symptom', 'functional', 'alliance', 'personal', 'composite', 'child_family']
    >>> families.loc["C000001"].tolist()
    [1.0, 0.0, nan, 1.0, 1.0, nan]
    >>> families.shape
    (60, 6)
    """
    _check(outcomes, ("family",))
    val = np.where(
        outcomes["status"].eq("met"), 1.0, np.where(outcomes["status"].eq("not_met"), 0.0, np.nan)
    )
    order = list(dict.fromkeys(outcomes["family"]))
    fam = (
        outcomes.assign(_v=val)
        .groupby(["id", "family"], observed=True)["_v"]
        .max()
        .unstack("family")
    )
    fam = fam.reindex(columns=order)
    fam.columns.name = None
    return fam


def family_disagreement(
    outcomes: pd.DataFrame,
    family_a: str = "symptom",
    family_b: str = "functional",
    profile: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Clients on whom two families disagree, counted and profiled in aggregate only.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table with ``family``. Not modified.
    family_a, family_b : str
        Families to compare (values of the ``family`` column), e.g. ``"symptom"`` and
        ``"functional"``. Family success = any of its definitions met (:func:`family_success`).
    profile : pandas.DataFrame, optional
        Client table with ``id`` and the columns to profile; numeric columns are averaged, boolean
        columns given as percentages. Other columns are ignored.

    Returns
    -------
    pandas.DataFrame
        Four rows, ``group`` = ``both``, ``only <family_a>``, ``only <family_b>``, ``neither``,
        with ``n_clients``, ``baseline_<family>`` (mean baseline score of the family's first
        definition, in its measure's points) for both families, and one ``mean <col>`` or
        ``% <col>`` column per profiled client column (over the group's clients with a value).
        ``attrs["n_values"]`` maps every averaged or percentage column to the number of values
        per row (clients of the group with a value). Counts are not suppressed here: a
        percentage is a count of clients (its numerator and complement are counts of
        :func:`family_profile_sets`, audited by the run's disclosure plan) and a mean over
        few clients is individual data; :func:`analysis.report.disclosure_tables.mask_families`
        hides them as the plan says.

    Raises
    ------
    ValueError
        If either family is absent from the outcomes (the message lists the families present).

    Examples
    --------
    On the bundled simulated cohort (60 clients): 28 clients succeed on a symptom definition
    but on no functional one, 4 the other way round; the clients with neither were more often
    chronic (6 of 7):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> profile = cohort.clients[["id", "chronic", "n_sessions"]]
    >>> table = family_disagreement(outcomes, "symptom", "functional", profile=profile)
    >>> print(table.round(1).to_string())
                 group  n_clients  baseline_symptom  baseline_functional  % chronic  mean n_sessions
    0             both         17              16.7                 23.2       47.1              8.5
    1     only symptom         28              17.6                 19.2       39.3              6.4
    2  only functional          4              15.2                 18.5       25.0              6.2
    3          neither          7              18.0                 23.4       85.7             12.1
    """
    fam = family_success(outcomes)
    missing = [f for f in (family_a, family_b) if f not in fam.columns]
    if missing:
        raise ValueError(
            f"family/families {missing} not in the outcomes table; families present: "
            f"{list(fam.columns)}"
        )
    both = fam[[family_a, family_b]].dropna()
    a, b = both[family_a].eq(1), both[family_b].eq(1)
    labels = ["both", f"only {family_a}", f"only {family_b}", "neither"]
    group = pd.Series(
        np.select([a & b, a & ~b, ~a & b], labels[:3], labels[3]), index=both.index, name="group"
    )
    data = group.to_frame()
    for f in (family_a, family_b):
        first_def = outcomes.loc[outcomes["family"] == f, "definition"].iloc[0]
        base = outcomes.loc[outcomes["definition"] == first_def].set_index("id")["baseline"]
        data[f"baseline_{f}"] = base.reindex(data.index).astype(float)
    agg_cols = [f"baseline_{family_a}", f"baseline_{family_b}"]
    if profile is not None:
        if "id" not in profile.columns:
            raise ValueError("profile must have an 'id' column")
        prof = profile.set_index("id")
        for c in prof.columns:
            col = prof[c].reindex(data.index)
            if pd.api.types.is_bool_dtype(prof[c]):
                data[f"% {c}"] = 100.0 * col.astype(float)
                agg_cols.append(f"% {c}")
            elif pd.api.types.is_numeric_dtype(prof[c]):
                data[f"mean {c}"] = col.astype(float)
                agg_cols.append(f"mean {c}")
    counts = data.groupby("group").size().reindex(labels, fill_value=0).rename("n_clients")
    means = data.groupby("group")[agg_cols].mean().reindex(labels)
    n_values = data.groupby("group")[agg_cols].count().reindex(labels, fill_value=0)
    out = pd.concat([counts, means], axis=1).reset_index().rename(columns={"index": "group"})
    out.attrs["n_values"] = {c: [int(v) for v in n_values[c]] for c in agg_cols}
    # means of a yes/no (0/1) column are shares of clients: counts, for disclosure control
    out.attrs["binary"] = [
        c
        for c in agg_cols
        if not c.startswith("% ")
        and data[c].notna().any()
        and data[c].dropna().isin([0.0, 1.0]).all()
    ]
    return out


def family_profile_sets(
    outcomes: pd.DataFrame,
    family_a: str,
    family_b: str,
    profile: pd.DataFrame | None = None,
) -> dict[str, pd.Index]:
    """The clients behind every percentage of :func:`family_disagreement`'s profile.

    A percentage of a yes/no client characteristic within a group (e.g. % homeless among the
    clients who succeed under both families) is a count of clients over a count of clients:
    with the group's size shown, it gives both back (31 of 65 = 47.69 %). So its numerator
    and its complement are counts of the run, to be audited like every other
    (:mod:`analysis.report.disclosure`; NHS Digital 2018 and ONS: a figure from which a small
    number can be worked out is protected like the number itself).

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table with ``family``. Not modified.
    family_a, family_b : str
        The two families (as :func:`family_disagreement`).
    profile : pandas.DataFrame, optional
        Client table with ``id``; its boolean columns are the characteristics given as
        percentages. None: no sets.

    Returns
    -------
    dict of str to pandas.Index
        Per group ``g`` (``both``, ``only <a>``, ``only <b>``, ``neither``) and boolean column
        ``c``: ``"families <a> / <b>: <g>: <c>"`` (the group's clients with ``c`` true) and
        ``"families <a> / <b>: <g>: not <c>"`` (with ``c`` false; clients without a value are
        in neither), as client ids.

    Examples
    --------
    >>> import pandas as pd
    >>> out = pd.DataFrame({"id": [1, 2, 3, 1, 2, 3], "definition": ["a"] * 3 + ["b"] * 3,
    ...                     "family": ["x"] * 3 + ["y"] * 3,
    ...                     "status": ["met", "met", "not_met", "met", "met", "met"]})
    >>> prof = pd.DataFrame({"id": [1, 2, 3], "homeless": [True, False, True]})
    >>> sets = family_profile_sets(out, "x", "y", prof)
    >>> key = "families x / y: both"
    >>> list(sets[f"{key}: homeless"]), list(sets[f"{key}: not homeless"])
    ([1], [2])
    """
    if profile is None:
        return {}
    if "id" not in profile.columns:
        raise ValueError("profile must have an 'id' column")
    fam = family_success(outcomes)
    both = fam[[family_a, family_b]].dropna()
    a, b = both[family_a].eq(1), both[family_b].eq(1)
    groups = {
        "both": a & b,
        f"only {family_a}": a & ~b,
        f"only {family_b}": ~a & b,
        "neither": ~a & ~b,
    }
    prof = profile.set_index("id")
    sets: dict[str, pd.Index] = {}
    for c in prof.columns:
        if not pd.api.types.is_bool_dtype(prof[c]):
            continue
        col = prof[c].reindex(both.index)
        yes = col.eq(True).fillna(False).astype(bool)
        no = col.eq(False).fillna(False).astype(bool)
        for g, inside in groups.items():
            key = f"families {family_a} / {family_b}: {g}"
            sets[f"{key}: {c}"] = both.index[inside & yes]
            sets[f"{key}: not {c}"] = both.index[inside & no]
    return sets


def severity_bias(
    outcomes: pd.DataFrame,
    severity: pd.DataFrame | None = None,
    per: float = 10.0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Is a definition biased by baseline severity? Logistic regression of success on baseline.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes table. Not modified.
    severity : pandas.DataFrame, optional
        ``id`` and ``severity`` (baseline score on one common measure, points). Default: each
        definition's own ``baseline`` column (its own measure).
    per : float
        Points per odds ratio (10: odds ratio per 10 points, as in the source).
    alpha : float
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        One row per definition: ``definition``, ``family``, ``n`` (evaluable clients with a
        severity), ``n_met``, ``odds_ratio`` (per ``per`` points), ``ci_low``, ``ci_high``,
        ``p_value`` (Wald), ``note`` (why no estimate, in words; "" otherwise). An odds ratio
        above 1 means the definition favours more severe clients (on a lower-is-better scale).

    Raises
    ------
    ValueError
        If ``severity`` lacks ``id`` or ``severity`` columns.

    Notes
    -----
    ``logit P(met) = b0 + b1 * severity``, maximum likelihood (statsmodels ``Logit``); odds ratio
    ``exp(per * b1)`` with Wald interval ``exp(per * (b1 +/- z SE))``. No estimate when the
    definition is constant or there are fewer than 10 clients; "not estimable: <reason>" when
    baseline severity separates met from not met (complete or quasi-complete separation,
    :func:`check_separation`; Albert & Anderson 1984) or the fit does not converge.

    References
    ----------
    Psychiatric Services (2020) 71(4):312, doi:10.1176/appi.ps.201900295: comparison of PHQ-9
    success metrics in 5,554 psychotherapy episodes (effect size >= 0.8: OR 2.3 per 10 points;
    remission: OR 0.43).

    Examples
    --------
    On the bundled simulated cohort (60 clients, PHQ-9 0-27, lower is better): the odds of
    reliable improvement triple per 10 baseline points, those of remission fall (as in the
    published comparison, though with a wide interval on 53 clients):

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> outcomes = score_definitions(cohort, measure="phq9")
    >>> three = outcomes[outcomes["definition"].isin(
    ...     ["remission", "response", "reliable_improvement"])]
    >>> bias = severity_bias(three)
    >>> bias[["definition", "n", "n_met", "odds_ratio", "ci_low", "ci_high"]].round(2)
                 definition   n  n_met  odds_ratio  ci_low  ci_high
    0             remission  53     13        0.34    0.08     1.52
    1              response  58     23        1.08    0.40     2.92
    2  reliable_improvement  58     33        3.00    1.03     8.74
    """
    _check(outcomes, ("baseline",))
    data = outcomes.loc[outcomes["status"].isin(["met", "not_met"])]
    if severity is not None:
        miss = [c for c in ("id", "severity") if c not in severity.columns]
        if miss:
            raise ValueError(f"severity lacks column(s) {miss}; expected id and severity")
        data = data.drop(columns="baseline").merge(
            severity[["id", "severity"]].rename(columns={"severity": "baseline"}),
            on="id",
            how="left",
        )
    z = float(norm.ppf(1 - alpha / 2))
    rows = []
    fam = outcomes.drop_duplicates("definition").set_index("definition")
    for d in dict.fromkeys(outcomes["definition"]):
        sub = data.loc[(data["definition"] == d) & data["baseline"].notna()]
        y = sub["status"].eq("met").astype(float).to_numpy()
        x = sub["baseline"].astype(float).to_numpy()
        row = {
            "definition": d,
            "family": fam.loc[d, "family"] if "family" in fam.columns else "",
            "n": len(sub),
            "n_met": int(y.sum()),
            "odds_ratio": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "note": "",
        }
        if len(sub) < 10:
            row["note"] = "fewer than 10 evaluable clients"
        elif y.min() == y.max():
            row["note"] = "every evaluable client has the same result"
        elif np.ptp(x) == 0:
            row["note"] = "every evaluable client has the same baseline score"
        elif sep := check_separation(pd.DataFrame({"severity": x, "met": y}), ["severity"], "met"):
            row["note"] = f"not estimable: separation ({sep})"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("error", ConvergenceWarning)
                warnings.simplefilter("error", PerfectSeparationWarning)
                warnings.simplefilter("error", RuntimeWarning)
                try:
                    fit = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
                    b, se = float(fit.params[1]), float(fit.bse[1])
                    row.update(
                        odds_ratio=float(np.exp(per * b)),
                        ci_low=float(np.exp(per * (b - z * se))),
                        ci_high=float(np.exp(per * (b + z * se))),
                        p_value=float(fit.pvalues[1]),
                    )
                except (
                    ConvergenceWarning,
                    PerfectSeparationWarning,
                    RuntimeWarning,
                    np.linalg.LinAlgError,
                ) as exc:
                    row["note"] = (
                        f"not estimable: the logistic regression did not converge "
                        f"({type(exc).__name__})"
                    )
        rows.append(row)
    return pd.DataFrame(rows)


#: Published severity-bias odds ratios (per 10 baseline points) and the exact definition each is
#: for. Psychiatr Serv (2020) 71(4):312, doi:10.1176/appi.ps.201900295, abstract: "remission
#: (PHQ-9 score <5)", 5,554 psychotherapy episodes with baseline PHQ-9 >= 10, remission 22 %,
#: OR 0.43 per 10 baseline points. The OR is for remission < 5, not for "below caseness" (< 10).
PUBLISHED_SEVERITY_BIAS = (
    {
        "definition": "remission",
        "measure": "phq9",
        "threshold": "< 5",
        "criterion": "PHQ-9 remission (< 5) among baseline cases (PHQ-9 >= 10)",
        "odds_ratio": 0.43,
        "rate": 22.0,
        "source": (
            "Psychiatr Serv (2020) 71(4):312, doi:10.1176/appi.ps.201900295 (5,554 episodes; "
            "remission 22 %, OR 0.43 per 10 baseline points)"
        ),
    },
)


def published_severity_comparison(
    bias: pd.DataFrame, details: dict, measure: str, per: float = 10.0
) -> pd.DataFrame:
    """Set a run's severity-bias odds ratios beside the published ones for the same definition.

    A published value is set beside the run's only when the run's definition is the one the
    value is for: same definition name, same measure and the same threshold (for remission the
    registry's threshold, ``details[name]["threshold"]``, e.g. ``"< 5"`` for the PHQ-9). Otherwise
    the row says why it is not comparable; ``below_caseness`` is never compared with a published
    remission figure.

    Parameters
    ----------
    bias : pandas.DataFrame
        :func:`severity_bias` output (``definition``, ``n``, ``n_met``, ``odds_ratio``,
        ``ci_low``, ``ci_high``).
    details : dict
        The outcomes table's ``attrs["details"]`` (definition -> scalars its rule used).
    measure : str
        The run's primary measure (registry code).
    per : float
        Points per odds ratio in ``bias``; the published values are per 10 points.

    Returns
    -------
    pandas.DataFrame
        One row per published value (:data:`PUBLISHED_SEVERITY_BIAS`): ``definition``,
        ``published_criterion``, ``published_odds_ratio``, ``published_rate`` (percent),
        ``comparable`` (bool), ``odds_ratio``, ``ci_low``, ``ci_high``, ``rate`` (percent met among
        evaluable, this run), ``note``, ``source``.

    Examples
    --------
    >>> b = pd.DataFrame({"definition": ["remission"], "n": [40], "n_met": [10],
    ...                   "odds_ratio": [0.5], "ci_low": [0.3], "ci_high": [0.9]})
    >>> r = published_severity_comparison(b, {"remission": {"threshold": "< 5"}}, "phq9")
    >>> bool(r["comparable"].iloc[0]), float(r["published_odds_ratio"].iloc[0])
    (True, 0.43)
    >>> r = published_severity_comparison(b, {"remission": {"threshold": "< 10"}}, "bdi2")
    >>> bool(r["comparable"].iloc[0]), r["note"].iloc[0].split("; ")[1]
    (False, "this run's 'remission' is BDI-II < 10")
    """
    rows = []
    by = bias.set_index("definition") if len(bias) else bias
    for pub in PUBLISHED_SEVERITY_BIAS:
        name = pub["definition"]
        row = {
            "definition": name,
            "published_criterion": pub["criterion"],
            "published_odds_ratio": pub["odds_ratio"],
            "published_rate": pub["rate"],
            "comparable": False,
            "odds_ratio": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "rate": np.nan,
            "note": "",
            "source": pub["source"],
        }
        threshold = (details.get(name) or {}).get("threshold")
        if name not in getattr(by, "index", []):
            row["note"] = f"not comparable: definition {name!r} was not computed on this run"
        elif measure != pub["measure"] or threshold != pub["threshold"]:
            ins = load_registry().get(measure)  # the note reaches reports: the measure's label
            row["note"] = (
                f"not comparable: the published value is for {pub['criterion']}; this run's "
                f"{name!r} is {ins.label if ins else measure} "
                f"{threshold or '(threshold not recorded)'}"
            )
        elif per != 10.0:
            row["note"] = "not comparable: the published odds ratio is per 10 points"
        else:
            r = by.loc[name]
            row.update(
                comparable=True,
                odds_ratio=float(r["odds_ratio"]),
                ci_low=float(r["ci_low"]),
                ci_high=float(r["ci_high"]),
                rate=100.0 * float(r["n_met"]) / float(r["n"]) if r["n"] else np.nan,
                note="same definition, measure and threshold as the published value",
            )
        rows.append(row)
    return pd.DataFrame(rows)


def check_separation(data: pd.DataFrame, covariates: list[str], event: str) -> str | None:
    """Detect covariates that perfectly (or quasi-perfectly) separate a binary outcome.

    Under separation a logistic or Cox model has no finite maximum-likelihood estimate: the
    coefficient drifts towards infinity and lifelines/statsmodels report a huge hazard or odds
    ratio, or a convergence warning, instead of an error. Call this first and put the returned text
    in the report (or refit with a penalty, e.g. lifelines ``CoxPHFitter(penalizer=...)``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per client; not modified. Rows with a missing covariate or event are ignored for
        that covariate.
    covariates : list of str
        Numeric or categorical columns.
    event : str
        Binary outcome / event indicator (0/1 or boolean).

    Returns
    -------
    str or None
        A warning text naming each separating covariate and how it separates (e.g. ``"'arm':
        level 'A' has only events (12 of 12)"`` or ``"'age': every event has age > 61, every
        non-event age <= 61"``), or None when no covariate separates the outcome.

    Raises
    ------
    ValueError
        If a column is missing or ``event`` is not binary.

    Notes
    -----
    A categorical covariate (object, category, bool, or numeric with at most two distinct values)
    separates when one of its levels has only events or only non-events (quasi-complete
    separation: that level's coefficient is infinite). A numeric covariate separates completely
    when the ranges of events and non-events do not overlap. Checks are one covariate at a time;
    separation by a combination of covariates is not detected.

    References
    ----------
    Albert A. & Anderson J.A. (1984) On the existence of maximum likelihood estimates in logistic
    regression models. Biometrika 71(1):1-10. Heinze G. & Schemper M. (2001) A solution to the
    problem of monotone likelihood in Cox regression. Biometrics 57(1):114-119.

    Examples
    --------
    Both clients of arm A met the outcome, so arm A's odds ratio is infinite:

    >>> import pandas as pd
    >>> d = pd.DataFrame({"arm": ["A", "A", "B", "B", "B"], "age": [30, 60, 50, 40, 70],
    ...                   "met": [1, 1, 0, 1, 0]})
    >>> print(check_separation(d, ["arm", "age"], "met"))  # doctest: +ELLIPSIS
    Separation: ... 'arm': level 'A' has only events (2 of 2).
    >>> print(check_separation(d.assign(met=[1, 0, 0, 1, 0]), ["arm", "age"], "met"))
    Separation: ... 'age': every event has age < 50, every non-event age >= 50.
    >>> check_separation(d.assign(met=[1, 0, 1, 0, 1]), ["arm", "age"], "met") is None
    True
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in [*covariates, event] if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in data; found {list(data.columns)}")
    ev_all = data[event]
    if not ev_all.dropna().isin([0, 1, True, False]).all():
        raise ValueError(f"event column '{event}' must be 0/1 or boolean")
    found = []
    for cov in covariates:
        sub = data[[cov, event]].dropna()
        if sub.empty:
            continue
        ev = sub[event].astype(int)
        if ev.nunique() < 2:
            found.append(f"'{event}' has a single value among rows with '{cov}'; nothing to model")
            continue
        x = sub[cov]
        categorical = (
            not pd.api.types.is_numeric_dtype(x)
            or pd.api.types.is_bool_dtype(x)
            or x.nunique() <= 2
        )
        if categorical:
            tab = ev.groupby(x.astype(str)).agg(["sum", "size"])
            for level, (s, n) in tab.iterrows():
                if s == n:
                    found.append(f"'{cov}': level '{level}' has only events ({s} of {n})")
                elif s == 0:
                    found.append(f"'{cov}': level '{level}' has no events (0 of {n})")
        else:
            xe, xn = x[ev == 1], x[ev == 0]
            if xe.min() > xn.max():
                found.append(
                    f"'{cov}': every event has {cov} > {xn.max():g}, every non-event "
                    f"{cov} <= {xn.max():g}"
                )
            elif xe.max() < xn.min():
                found.append(
                    f"'{cov}': every event has {cov} < {xn.min():g}, every non-event "
                    f"{cov} >= {xn.min():g}"
                )
    if not found:
        return None
    return (
        "Separation: the outcome is perfectly predicted, so the model's estimate for these "
        "covariates is not finite (reported ratios are meaningless): " + "; ".join(found) + "."
    )
