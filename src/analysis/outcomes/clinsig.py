"""Reliable and clinically significant change (Jacobson & Truax 1991 and successors).

The public entry point :func:`clinical_significance` follows the R package *clinicalsignificance*
(Claus, Wager & Bonnet 2024, J Stat Softw 111(1)) in names and results, so that a researcher can
switch without losing a classification. Every formula below was read in that package's source
(``R/calc_rci.R``, ``R/calc_cutoff.R``, ``R/create_summary_table.R``, ``R/prep_data.R``,
``R/calc_percentage.R``, ``R/calc_anchor.R``; repository ``pedscience/clinicalsignificance``,
version 2.1.0.9000) and is reproduced exactly, including its conventions at the boundaries:

* reliable change needs ``|RCI|`` strictly beyond the critical value (``direction * rci > crit``);
* a pre score is clinical only when strictly beyond the cutoff on the dysfunctional side, and a post
  score is functional only when strictly beyond it on the functional side, so a score exactly at the
  cutoff is neither (it can be neither recovered nor harmed into);
* percentage change and anchor (MID) thresholds are inclusive (``>=``).

Where the package departs from the original paper (cutoff *b*), the paper is the default and the
package's convention is an option; see :func:`~analysis.outcomes.distribution.clinical_cutoff`.

Everything is vectorised over clients; only HLM fits a model (REML from per-client sufficient
statistics, :mod:`analysis.outcomes.hlm`; equal to statsmodels ``MixedLM`` and lme4 ``lmer``).

References
----------
Jacobson N.S. & Truax P. (1991) Clinical significance: a statistical approach to defining meaningful
change in psychotherapy research. J Consult Clin Psychol 59(1):12-19. doi:10.1037/0022-006X.59.1.12
Claus B.B., Wager J. & Bonnet U. (2024) clinicalsignificance: Clinical Significance Analyses of
Intervention Studies in R. J Stat Softw 111(1):1-39. doi:10.18637/jss.v111.i01
Hsu L.M. (1989) Reliable changes in psychotherapy: taking into account regression toward the mean.
Behav Assess 11(4):459-467 (GLN and HLL).
Speer D.C. (1992) Clinically significant change: Jacobson and Truax (1991) revisited. J Consult Clin
Psychol 60(3):402-408 (EN).
Nunnally J.C. & Kotsch W.E. (1983) Studies of individual subjects: logic and methods of analysis.
Br J Clin Psychol 22(2):83-93 (NK).
Hageman W.J. & Arrindell W.A. (1999) Establishing clinically significant change: increment of
precision and the distinction between individual and group level analysis. Behav Res Ther
37(12):1169-1193 (HA).
Raudenbush S.W. & Bryk A.S. (2002) Hierarchical Linear Models, 2nd ed. Sage (HLM).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.outcomes.distribution import (
    _COMMON_DOC,
    _check_method,
    _check_reference,
    _distribution_change,
)
from analysis.outcomes.hlm import HLM_TESTS, _clinical_significance_hlm
from analysis.outcomes.prepost import (
    CATEGORIES,
    RELIABLE_CHANGE,
    _check_alpha,
    _check_columns,
    _check_direction,
    _check_long,
    _check_reliability,
    _group_of,
    _prepost,
)

__all__ = ["clinical_significance", "summarise_categories"]


def clinical_significance(
    data: pd.DataFrame,
    id: str = "id",
    time: str = "time",
    outcome: str = "score",
    pre=None,
    post=None,
    reliability: float | None = None,
    reliability_post: float | None = None,
    rci_method: str = "JT",
    cutoff_type: str | None = None,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    m_clinical: float | None = None,
    sd_clinical: float | None = None,
    better_is: str = "lower",
    significance_level: float = 0.05,
    cutoff_b_sd: str = "functional",
    group: str | None = None,
    min_timepoints: int = 3,
    sd_pre: float | None = None,
    s_diff: float | None = None,
    rc_points: float | None = None,
    ha_harmed: str = "R",
    hlm_test: str = "cohort",
) -> pd.DataFrame:
    """Reliable change and clinical significance per client (R ``cs_distribution``/``cs_combined``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per client x time point (one outcome). Not modified.
    id, time, outcome : str
        Column names of the client identifier, the time label and the score (score points).
    pre, post : scalar
        Values of ``time`` that mark the pre and the post measurement. Default: the smallest and
        the largest time label. Not used by HLM, which uses every measurement.
    {common}
    group : str, optional
        Column of ``data`` constant within a client (e.g. ``arm``), carried to the output for
        per-group summaries.
    min_timepoints : int
        HLM only: clients with fewer non-missing measurements are not evaluable (R: 3).
    hlm_test : {"cohort", "zero"}
        HLM only. ``"cohort"`` (default, as R): the client's random slope, i.e. the deviation
        of their slope from the cohort's mean (fixed) slope, over its conditional SD: a client
        improving as fast as the average client is "unchanged". ``"zero"``: the client's own
        slope (fixed + random) against zero, over the same conditional SD: "did this client
        change?" rather than "did they change more than the average client?". The conditional
        SD ignores the (small, for many clients) sampling error of the fixed slope.

    Returns
    -------
    pandas.DataFrame
        One row per client, in order of first appearance: ``id``, (``group``), ``pre``, ``post``,
        ``change`` (post - pre, points), ``rci`` (a z value), ``reliable_change`` (strings:
        improved / unchanged / deteriorated; NaN when not evaluable), ``cutoff`` (points, NaN
        without one), ``clinical_pre``, ``clinical_post`` (boolean, see
        :func:`~analysis.outcomes.distribution.classify_prepost`), ``category`` (strings:
        recovered / improved / unchanged / deteriorated / harmed; NaN without a cutoff or when
        not evaluable), ``cs_indiv`` (HA with a cutoff: true-score z of the post score against
        the cutoff), ``n_timepoints``, ``eb_slope``, ``eb_slope_sd`` (HLM only, points per time
        unit), ``evaluable`` (bool), ``reason`` (why not evaluable, "" otherwise) and
        ``method``. ``attrs["clinsig"]`` holds
        the method's constants (critical value, cutoff, SDs, r_dd, ...), the SD used for the
        RCI (``sd_pre_used``, ``sd_pre_source``), ``s_diff`` and ``threshold_points`` (the
        change in points a client must exceed; see
        :func:`~analysis.outcomes.distribution.clinical_significance_prepost`).

    Raises
    ------
    ValueError
        For a reliability outside (0, 1), an unknown method or cutoff type, cutoff b or c without
        functional norms, pre or post labels absent from the data, a client with two scores at
        one time point, a row without a client id, a score that is text (not a number) or
        infinite; each message names the column, the count and the first row labels.
    NotComputedError
        (a ``ValueError``, :mod:`analysis.outcomes.prepost`) when the data cannot support the
        method; the message is the reason, to be shown as "not computed: <reason>": too few
        complete clients to estimate the SD (2; HA 3); HA on a degenerate sample (pre, post or
        change scores without variance, or ``r_dd`` not positive: the reliability of change is
        undefined; also a post SD not above the SEM for the HA cutoff); HLM with fewer than three
        waves (distinct time points) or fewer than 3 clients with ``min_timepoints`` measurements;
        data without rows.
    TypeError
        If ``data`` is not a DataFrame.

    Notes
    -----
    Sample statistics (``M``, ``SD`` with ddof = 1, pre-post correlation) come from the clients
    with both scores; ``s = -1`` when lower is better. Each RCI is referred to the critical value
    ``z`` (``direction * RCI > z`` is reliable improvement):

    * JT: ``(post - pre) / (sqrt(2) SD_pre sqrt(1 - r))``  (Jacobson & Truax 1991)
    * GLN: ``((post - M_pre) - r (pre - M_pre)) / (SD_pre sqrt(1 - r^2))``  (Hsu 1989)
    * HLL: ``((post - M_post) - r (pre - M_pre)) / (SD_pre sqrt(1 - r^2))``  (Hsu 1989)
    * EN: ``(post - [r (pre - M_pre) + M_pre]) / (SD_pre sqrt(1 - r))``  (Speer 1992)
    * NK: ``(post - [r (pre - M_pre) + M_pre]) /
      sqrt(r^2 SD_pre^2 (1 - r) + SD_pre^2 (1 - r_post))`` (Nunnally & Kotsch 1983)
    * HA: with ``SEM = SD_pre sqrt(1 - r)``, ``r_xx = (SD^2 - SEM^2) / SD^2`` at pre and post and
      ``r_dd = (SD_pre^2 r_1 + SD_post^2 r_2 - 2 SD_pre SD_post rho) /
      (SD_pre^2 + SD_post^2 - 2 SD_pre SD_post rho)``:
      ``((post - pre) r_dd + (M_post - M_pre)(1 - r_dd)) / (sqrt(r_dd) sqrt(2) SEM)``, one-sided
      ``z``; recovered when clinical at pre and ``s * (M_post + (post - M_post) r_post - cutoff) /
      (sqrt(r_post) SEM) > z`` (Hageman & Arrindell 1999). Harmed, as R's published path
      (``cs_combined`` -> ``create_summary_table.cs_combined``) computes it: reliably deteriorated
      and not clinical at pre, whatever the post score (R's unused internal helper
      ``.calc_recovered_ha`` would set harmed to FALSE; the package does not call it). With
      ``ha_harmed="true_score"`` the post true score must also lie reliably on the dysfunctional
      side of the cutoff (``s * cs_indiv < -z``).
    * HLM: ``outcome ~ time + (time | id)`` fitted by REML (:mod:`analysis.outcomes.hlm`, the
      estimates of statsmodels ``MixedLM`` and lme4 ``lmer``) on every non-missing measurement of
      clients with at least ``min_timepoints``; RCI = the empirical Bayes estimate of the client's
      random slope (deviation from the fixed slope) divided by its conditional SD, exactly as R's
      ``lme4::ranef(condVar = TRUE)``; with ``hlm_test="zero"``, ``(fixed slope + random slope) /
      conditional SD``. ``pre``/``post`` are the client's first and last non-missing score (used
      for the cutoff). A boundary (singular) fit is flagged in ``attrs["clinsig"]["singular"]``
      with a note in ``fit_warnings``, as lme4 reports it; if the random-slope variance is 0 no
      slope can differ reliably and the clients are not evaluable, with that reason.

    Categories: recovered = reliably improved and clinical at pre and functional at post;
    harmed = reliably deteriorated, not clinical at pre and not functional at post (HA: see
    above).
    Clients missing a score are kept, with ``evaluable = False`` and a reason.

    References
    ----------
    Jacobson & Truax (1991) J Consult Clin Psychol 59(1):12-19. Claus, Wager & Bonnet (2024)
    J Stat Softw 111(1). Further method references in the module docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({{"id": [1, 1, 2, 2, 3, 3], "time": [1, 2] * 3,
    ...                   "score": [20, 8, 22, 21, 15, 14]}})
    >>> clinical_significance(d, reliability=0.8)["reliable_change"].tolist()
    ['improved', 'unchanged', 'unchanged']

    The simulated cohort's PHQ-9 (0-27 points, lower is better), session 1 against session 6,
    with the registry's alpha (.89, Kroenke et al. 2001) and cutoff c from its functional norms
    (M 2.91, SD 3.51; Kocalevent et al. 2013). Clients without a session-6 score are kept, not
    evaluable, with the reason:

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'")
    >>> ins = get_instrument("phq9")
    >>> norms = ins.norms["functional"]
    >>> res = clinical_significance(phq9, pre=1, post=6, reliability=ins.reliability_value,
    ...                             cutoff_type="c", m_functional=norms["mean"],
    ...                             sd_functional=norms["sd"])
    >>> len(res), int(res["evaluable"].sum())
    (60, 30)
    >>> res.loc[~res["evaluable"], "reason"].unique().tolist()
    ['no score at post (6)']
    >>> c = res.attrs["clinsig"]  # S_diff, the drop needed (z S_diff) and cutoff c, in points
    >>> [round(c[k], 2) for k in ("sd_pre", "s_diff", "threshold_points", "cutoff")]
    [5.38, 2.52, 4.94, 9.01]
    >>> res["category"].value_counts().sort_index().to_dict()
    {'deteriorated': 1, 'improved': 8, 'recovered': 8, 'unchanged': 13}

    With the registry's published reliable change instead (NHS Talking Therapies: 6 points):

    >>> rc = clinical_significance(phq9, pre=1, post=6, reliability=ins.reliability_value,
    ...                            rc_points=ins.reliable_change["value"])
    >>> rc["reliable_change"].value_counts().sort_index().to_dict()
    {'deteriorated': 1, 'improved': 13, 'unchanged': 16}
    """
    _check_columns(data, [id, time, outcome, group])
    _check_long(data, id, time, outcome)
    method = _check_method(rci_method)
    _check_direction(better_is)
    _check_alpha(significance_level)
    if hlm_test not in HLM_TESTS:
        raise ValueError(f"hlm_test must be one of {list(HLM_TESTS)}, got {hlm_test!r}")
    _check_reference(method, sd_pre, s_diff, rc_points)
    if method == "HLM":
        return _clinical_significance_hlm(
            data,
            id,
            time,
            outcome,
            cutoff_type,
            m_functional,
            sd_functional,
            m_clinical,
            sd_clinical,
            better_is,
            significance_level,
            cutoff_b_sd,
            group,
            min_timepoints,
            hlm_test=hlm_test,
        )
    if s_diff is None and rc_points is None:
        _check_reliability(reliability)
    if pre is None:
        pre = data[time].min()
    if post is None:
        post = data[time].max()
    pp = _prepost(data, id, time, outcome, pre, post)
    grp_col = None
    if group is not None:
        grp_col = "group" if group in ("id", "pre", "post") else group
        pp[grp_col] = _group_of(data, id, group, pd.Index(pp["id"]))
    return _distribution_change(
        pp,
        reliability=reliability,
        reliability_post=reliability_post,
        rci_method=method,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        m_clinical=m_clinical,
        sd_clinical=sd_clinical,
        better_is=better_is,
        significance_level=significance_level,
        cutoff_b_sd=cutoff_b_sd,
        group=grp_col,
        pre_label=pre,
        post_label=post,
        sd_pre=sd_pre,
        s_diff=s_diff,
        rc_points=rc_points,
        ha_harmed=ha_harmed,
        _ids_unique=True,
    )


if clinical_significance.__doc__:  # None under python -OO
    clinical_significance.__doc__ = (
        clinical_significance.__doc__.replace("    {common}\n", _COMMON_DOC.lstrip("\n"))
        .replace("{{", "{")
        .replace("}}", "}")
    )


def summarise_categories(
    result: pd.DataFrame,
    column: str = "category",
    group: str | None = None,
    levels=None,
) -> pd.DataFrame:
    """Counts and percentages per category, overall or per group.

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`clinical_significance`,
        :func:`~analysis.outcomes.percentage.percentage_change` or
        :func:`~analysis.outcomes.anchor.anchor_individual` (optionally with a group column
        joined).
    column : {"category", "reliable_change"}
        The classification to count: the combined categories (with a cutoff) or reliable change
        alone.
    group : str, optional
        Column to split by.
    levels : sequence of str, optional
        Levels to report; default the five combined categories for ``category`` of a result
        with a ``cutoff`` column, else improved / unchanged / deteriorated.

    Returns
    -------
    pandas.DataFrame
        ``group`` (if given), ``level``, ``n``, ``percent`` (of evaluable clients in the group,
        0-100), ``n_evaluable``. Every level appears, with 0 where absent.

    Raises
    ------
    ValueError
        If ``column`` or ``group`` is not in ``result``.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"id": list(range(1, 7)) * 2, "time": [0] * 6 + [1] * 6,
    ...                   "score": [20, 22, 15, 18, 25, 19, 8, 21, 14, 10, 12, 18]})
    >>> res = clinical_significance(d, reliability=0.8, cutoff_type="a")
    >>> summarise_categories(res)[["level", "n", "percent"]].values.tolist()
    [['recovered', 3, 50.0], ['improved', 0, 0.0], ['unchanged', 3, 50.0],
     ['deteriorated', 0, 0.0], ['harmed', 0, 0.0]]

    By arm on the simulated cohort: PHQ-9 session 1 against session 6, alpha .89 and cutoff c
    from the registry (see :func:`clinical_significance`); percentages of the clients evaluable
    in each arm.

    >>> from analysis import get_instrument, load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> phq9 = cohort.scores.query("measure == 'phq9'").merge(cohort.clients[["id", "arm"]])
    >>> ins = get_instrument("phq9")
    >>> res = clinical_significance(phq9, pre=1, post=6, reliability=ins.reliability_value,
    ...                             cutoff_type="c", m_functional=ins.norms["functional"]["mean"],
    ...                             sd_functional=ins.norms["functional"]["sd"], group="arm")
    >>> summarise_categories(res, group="arm").round(1)
      arm         level  n  percent  n_evaluable
    0   A     recovered  3     27.3           11
    1   A      improved  3     27.3           11
    2   A     unchanged  4     36.4           11
    3   A  deteriorated  1      9.1           11
    4   A        harmed  0      0.0           11
    5   B     recovered  5     26.3           19
    6   B      improved  5     26.3           19
    7   B     unchanged  9     47.4           19
    8   B  deteriorated  0      0.0           19
    9   B        harmed  0      0.0           19
    """
    _check_columns(result, [column, group, "evaluable"])
    if levels is None:
        combined = column == "category" and "cutoff" in result.columns
        levels = CATEGORIES if combined else RELIABLE_CHANGE
    ev = result.loc[result["evaluable"].to_numpy(bool)]
    vals = pd.Categorical(ev[column].astype(object), categories=list(levels))
    if group:
        tab = pd.crosstab(ev[group].to_numpy(), vals, dropna=False).reindex(
            columns=list(levels), fill_value=0
        )
    else:
        tab = pd.DataFrame([pd.Series(vals).value_counts().reindex(list(levels), fill_value=0)])
    total = tab.sum(axis=1)
    rows = []
    for i, key in enumerate(tab.index):
        tot = int(total.iloc[i])
        for lvl in levels:
            n = int(tab.iloc[i][lvl])
            row = {
                "level": lvl,
                "n": n,
                "percent": 100 * n / tot if tot else np.nan,
                "n_evaluable": tot,
            }
            rows.append({group: key, **row} if group else row)
    return pd.DataFrame(rows)
