"""Per-client outcome definitions: who counts as a success, and from when.

Every definition gives, per client, a status (``met`` / ``not_met`` / ``not_evaluable``) with the
reason when not evaluable, the baseline and post scores, the change, the reliable change index, the
combined Jacobson-Truax category, and the first time point at which it was met. The result is the
tidy table that every notebook and report uses (:data:`OUTCOME_COLUMNS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.clinsig import _score_prepost, clinical_cutoff
from analysis.cohort import Cohort
from analysis.instruments import Instrument, get_instrument, is_case

__all__ = [
    "OUTCOME_COLUMNS",
    "STATUSES",
    "prepost",
    "score_outcomes",
    "disagreement_counts",
    "change_table",
]

OUTCOME_COLUMNS = [
    "id",
    "definition",
    "family",
    "measure",
    "status",
    "reason",
    "baseline",
    "post",
    "change",
    "rci",
    "category",
    "first_met",
    "n_timepoints",
]
STATUSES = ("met", "not_met", "not_evaluable")


def prepost(
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    measure: str,
    post: str | float = "last",
    baseline_time: float | None = None,
) -> pd.DataFrame:
    """Baseline and post score of every client on one measure.

    Parameters
    ----------
    scores : pandas.DataFrame
        Long format (``id, time, measure, score``). Not modified.
    clients : pandas.DataFrame
        Client table; every client appears in the result, scored or not.
    measure : str
        Registry code, e.g. ``"bdi2"``.
    post : "last" or float
        ``"last"``: the last observed score after baseline (default); a number: the score at that
        time point (session or month), missing if that assessment is missing.
    baseline_time : float, optional
        Time of the baseline assessment; default the earliest time of this measure in the data.

    Returns
    -------
    pandas.DataFrame
        One row per client (client-table order): ``id``, ``baseline``, ``post`` (points; NaN when
        absent), ``baseline_time``, ``post_time``, ``n_timepoints`` (observed scores of this
        measure), ``reason`` ("" when both scores exist, else why not).

    Raises
    ------
    ValueError
        If the measure has no rows, or ``post`` is neither "last" nor a time in the data.
    """
    rows = scores.loc[scores["measure"] == measure, ["id", "time", "score"]]
    if rows.empty:
        raise ValueError(f"measure {measure!r} has no rows in the scores (measures present: "
                         f"{sorted(scores['measure'].unique())})")
    t0 = float(rows["time"].min()) if baseline_time is None else float(baseline_time)
    obs = rows.loc[rows["score"].notna()]
    ids = pd.Index(clients["id"], name="id")
    base = obs.loc[obs["time"] == t0].set_index("id")["score"].reindex(ids)
    later = obs.loc[obs["time"] > t0].sort_values(["id", "time"], kind="stable")
    if post == "last":
        last = later.groupby("id").tail(1).set_index("id")
        post_score = last["score"].reindex(ids)
        post_time = last["time"].reindex(ids)
        no_post = "no score after baseline"
    else:
        try:
            pt = float(post)
        except (TypeError, ValueError):
            raise ValueError(f"post must be 'last' or a time point, got {post!r}") from None
        if pt not in set(rows["time"].tolist()):
            raise ValueError(
                f"post={post!r} is not a time point of {measure!r} "
                f"(times: {sorted(rows['time'].unique().tolist())})"
            )
        at = obs.loc[obs["time"] == pt].set_index("id")["score"]
        post_score = at.reindex(ids)
        post_time = pd.Series(np.where(post_score.notna(), pt, np.nan), index=ids)
        no_post = f"no score at time {pt:g}"
    n_obs = obs.groupby("id").size().reindex(ids, fill_value=0)
    reason = np.where(
        base.isna(),
        f"no baseline score (time {t0:g})",
        np.where(post_score.isna(), no_post, ""),
    )
    return pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "baseline": base.to_numpy(dtype=float),
            "post": post_score.to_numpy(dtype=float),
            "baseline_time": t0,
            "post_time": post_time.to_numpy(dtype=float),
            "n_timepoints": n_obs.to_numpy(dtype=int),
            "reason": reason,
        }
    )


def _first_time(rows: pd.DataFrame, flag: np.ndarray, ids: pd.Index) -> np.ndarray:
    hit = rows.loc[flag]
    return hit.groupby("id")["time"].min().reindex(ids).to_numpy(dtype=float)


def score_outcomes(
    cohort: Cohort,
    measure: str,
    reliability: float | None = None,
    cutoff_type: str = "a",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    post: str | float = "last",
    significance_level: float = 0.05,
    instrument: Instrument | None = None,
) -> pd.DataFrame:
    """The first outcome definitions, per client, on one measure.

    Definitions (``family`` in brackets):

    - ``remission`` (symptom): a case at baseline and not a case at post, by the instrument's
      clinical cutoff (registry). Clients who were not a case at baseline are not evaluable.
    - ``response`` (symptom): at least a 50 % reduction from baseline, (baseline - post) /
      baseline >= 0.5 (lower-is-better scales only; a baseline of 0 is not evaluable).
    - ``reliable_improvement`` (symptom): Jacobson-Truax RCI beyond the critical value towards
      improvement.
    - ``clinically_significant`` (symptom): recovered in the combined J&T sense: reliable
      improvement and a move from the clinical to the functional side of cutoff a, b or c.

    Parameters
    ----------
    cohort : Cohort
    measure : str
        Registry code of the outcome, e.g. ``"bdi2"`` (BDI-II, 0-63, lower is better).
    reliability : float, optional
        Reliability in (0, 1); default the registry's value for the instrument.
    cutoff_type : {"a", "b", "c"}
        J&T cutoff for clinically significant change (b and c need functional norms: the
        arguments, or the registry's ``norms.functional``).
    m_functional, sd_functional : float, optional
        Functional population mean and SD (points).
    post : "last" or float
        Post score rule (see :func:`prepost`).
    significance_level : float
        Two-sided level of the reliable change criterion (0.05: |RCI| > 1.96).
    instrument : Instrument, optional
        Default: looked up in the registry.

    Returns
    -------
    pandas.DataFrame
        One row per client x definition with the columns of :data:`OUTCOME_COLUMNS`: ``id``,
        ``definition``, ``family``, ``measure``, ``status`` (met / not_met / not_evaluable),
        ``reason``, ``baseline``, ``post``, ``change`` (points, post - baseline), ``rci``,
        ``category`` (combined J&T category), ``first_met`` (earliest time point after baseline at
        which the criterion held, in the cohort's time unit; NaN if never), ``n_timepoints``.

    Raises
    ------
    ValueError
        For an unknown measure, a missing reliability, or cutoff b/c without norms.

    References
    ----------
    Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19 (RCI, cutoffs a-c).
    Frank E. et al. (1991) Arch Gen Psychiatry 48(9):851-855 (response and remission).
    """
    ins = instrument or get_instrument(measure)
    rel = reliability if reliability is not None else ins.reliability_value
    if rel is None:
        raise ValueError(f"no reliability given and none in the registry for {measure!r}")
    func = ins.norms.get("functional", {}) if ins.norms else {}
    m_f = m_functional if m_functional is not None else func.get("mean")
    sd_f = sd_functional if sd_functional is not None else func.get("sd")
    pp = prepost(cohort.scores, cohort.clients, measure, post=post)
    ok = pp["reason"].eq("").to_numpy()
    if ok.sum() < 2:
        raise ValueError(f"fewer than 2 clients have a baseline and a post score on {measure!r}")
    js = _score_prepost(
        pp.rename(columns={"baseline": "pre"})[["id", "pre", "post"]],
        reliability=rel,
        cutoff_type=cutoff_type,
        m_functional=m_f,
        sd_functional=sd_f,
        m_clinical=None,
        sd_clinical=None,
        better_is=ins.better_is,
        significance_level=significance_level,
    )
    s = -1 if ins.better_is == "lower" else 1
    critical = float(stats.norm.ppf(1 - significance_level / 2))
    sd_pre = float(np.std(pp.loc[ok, "baseline"], ddof=1))
    s_diff = np.sqrt(2.0) * sd_pre * np.sqrt(1.0 - rel)
    cutoff = float(js["cutoff"].iloc[0])
    ids = pd.Index(pp["id"], name="id")

    # every post-baseline observation, for the time at which each criterion first held
    rows = cohort.scores.loc[
        (cohort.scores["measure"] == measure) & cohort.scores["score"].notna(), ["id", "time", "score"]
    ]
    rows = rows.merge(pp[["id", "baseline", "baseline_time"]], on="id")
    rows = rows.loc[(rows["time"] > rows["baseline_time"]) & rows["baseline"].notna()]
    toward = s * (rows["score"] - rows["baseline"]).to_numpy() / s_diff
    rel_imp = toward > critical
    past_cut = (rows["score"] < cutoff) if s == -1 else (rows["score"] > cutoff)
    base_clin = (rows["baseline"] > cutoff) if s == -1 else (rows["baseline"] < cutoff)

    out = []

    def add(name, family, met, evaluable, reason, first):
        status = np.where(~evaluable, "not_evaluable", np.where(met, "met", "not_met"))
        out.append(
            pd.DataFrame(
                {
                    "id": pp["id"].to_numpy(),
                    "definition": name,
                    "family": family,
                    "measure": measure,
                    "status": status,
                    "reason": np.where(evaluable, "", reason),
                    "baseline": pp["baseline"].to_numpy(),
                    "post": pp["post"].to_numpy(),
                    "change": js["change"].to_numpy(),
                    "rci": js["rci"].to_numpy(),
                    "category": js["category"].to_numpy(),
                    "first_met": first,
                    "n_timepoints": pp["n_timepoints"].to_numpy(),
                }
            )
        )

    reason = pp["reason"].to_numpy()
    # remission: case at baseline, not a case at post (instrument cutoff from the registry)
    if ins.cutoff is not None:
        case0 = is_case(pp["baseline"], ins)
        case1 = is_case(pp["post"], ins)
        ev = ok & (case0 == 1)
        r = np.where(ok, f"not a case at baseline ({ins.label} cutoff {ins.cutoff_value:g})", reason)
        case_rows = is_case(rows["score"], ins) == 0
        add("remission", "symptom", case1 == 0, ev, r, _first_time(rows, case_rows, ids))
    # response: >= 50 % reduction from baseline (lower-is-better scales)
    if ins.better_is == "lower":
        base = pp["baseline"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = (base - pp["post"].to_numpy()) / base
            frac_rows = (rows["baseline"] - rows["score"]).to_numpy() / rows["baseline"].to_numpy()
        ev = ok & (base > 0)
        r = np.where(ok, "baseline score 0: percentage change undefined", reason)
        add("response", "symptom", frac >= 0.5, ev, r, _first_time(rows, frac_rows >= 0.5, ids))
    imp = js["reliable_change"].eq("improved").to_numpy()
    add("reliable_improvement", "symptom", imp, ok, reason, _first_time(rows, rel_imp, ids))
    rec = js["category"].eq("recovered").to_numpy()
    add(
        "clinically_significant",
        "symptom",
        rec,
        ok,
        reason,
        _first_time(rows, rel_imp & past_cut.to_numpy() & base_clin.to_numpy(), ids),
    )
    res = pd.concat(out, ignore_index=True)
    res.attrs["cutoff"] = cutoff
    res.attrs["s_diff"] = s_diff
    res.attrs["critical"] = critical
    res.attrs["reliability"] = rel
    return res[OUTCOME_COLUMNS]


def disagreement_counts(outcomes: pd.DataFrame) -> pd.DataFrame:
    """How many clients each pair of definitions disagrees on (counts only, no identifiers).

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Tidy outcomes (:data:`OUTCOME_COLUMNS`). Only clients evaluable under both definitions of
        a pair are counted.

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair: ``definition_a``, ``definition_b``, ``n_both``
        (evaluable under both), ``both_met``, ``only_a``, ``only_b``, ``neither``,
        ``n_disagree`` (only_a + only_b), ``percent_agree`` (0-100).
    """
    wide = outcomes.pivot(index="id", columns="definition", values="status")
    defs = list(dict.fromkeys(outcomes["definition"]))
    rows = []
    for i, a in enumerate(defs):
        for b in defs[i + 1 :]:
            both = wide[[a, b]].isin(["met", "not_met"]).all(axis=1)
            x = wide.loc[both, a].eq("met")
            y = wide.loc[both, b].eq("met")
            n = int(both.sum())
            row = {
                "definition_a": a,
                "definition_b": b,
                "n_both": n,
                "both_met": int((x & y).sum()),
                "only_a": int((x & ~y).sum()),
                "only_b": int((~x & y).sum()),
                "neither": int((~x & ~y).sum()),
            }
            row["n_disagree"] = row["only_a"] + row["only_b"]
            row["percent_agree"] = 100 * (n - row["n_disagree"]) / n if n else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def change_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per-client change on the outcome measure, in :func:`analysis.clinsig.clinical_significance` form.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Output of :func:`score_outcomes` (its ``attrs['cutoff']`` is used when present).

    Returns
    -------
    pandas.DataFrame
        One row per client: ``id``, ``pre`` (baseline), ``post``, ``change``, ``rci``, ``cutoff``,
        ``category``, ``evaluable`` (baseline and post both present) — the input of
        :func:`analysis.plots.jacobson_plot`.
    """
    first = outcomes["definition"].iloc[0]
    one = outcomes.loc[outcomes["definition"] == first].reset_index(drop=True)
    return pd.DataFrame(
        {
            "id": one["id"],
            "pre": one["baseline"],
            "post": one["post"],
            "change": one["change"],
            "rci": one["rci"],
            "cutoff": outcomes.attrs.get("cutoff", np.nan),
            "category": one["category"],
            "evaluable": one["baseline"].notna() & one["post"].notna(),
        }
    )
