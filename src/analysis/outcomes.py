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

from analysis.cohort import Cohort
from analysis.instruments import Instrument, get_instrument

__all__ = [
    "OUTCOME_COLUMNS",
    "STATUSES",
    "prepost",
    "score_outcomes",
    "disagreement_counts",
    "change_table",
    "score_definitions",
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
_CATEGORY_LEVELS = ["recovered", "improved", "unchanged", "deteriorated", "harmed"]
_STATUS = np.array(STATUSES, dtype=object)
_CATEGORY_OBJ = np.array([*_CATEGORY_LEVELS, None], dtype=object)  # code -1 -> None
_EMPTY = np.array("", dtype=object)


def _status_code(status: np.ndarray) -> np.ndarray:
    return np.select([status == "met", status == "not_met"], [0, 1], 2)


def prepost(
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    measure: str,
    post: str | float = "last",
    missing: str = "last_available",
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
        time point (session, week or month), missing if that assessment is missing.
    missing : {"last_available", "locf", "completers"}
        Missing-data strategy (see :class:`analysis.rules.Trajectories`).

    Returns
    -------
    pandas.DataFrame
        One row per client (client-table order): ``id``, ``baseline`` (the score at the client's
        first assessment of the measure), ``post`` (points; NaN when absent), ``baseline_time``,
        ``post_time``, ``n_timepoints`` (observed scores), ``reason`` ("" when both scores exist,
        else why not).

    Raises
    ------
    ValueError
        If the measure has no rows, or ``post`` is neither "last" nor a time in the data.
    """
    from analysis.instruments import load_registry
    from analysis.rules import Trajectories

    rows = scores.loc[scores["measure"] == measure]
    if rows.empty:
        raise ValueError(
            f"measure {measure!r} has no rows in the scores (measures present: "
            f"{sorted(scores['measure'].unique())})"
        )
    if post != "last":
        try:
            pt = float(post)
        except (TypeError, ValueError):
            raise ValueError(f"post must be 'last' or a time point, got {post!r}") from None
        if pt not in set(rows["time"].tolist()):
            raise ValueError(
                f"post={post!r} is not a time point of {measure!r} "
                f"(times: {sorted(rows['time'].unique().tolist())})"
            )
        post = pt
    m = Trajectories(scores, clients, load_registry(), missing=missing, post=post).measure(measure)
    return pd.DataFrame(
        {
            "id": clients["id"].to_numpy(),
            "baseline": m["baseline"],
            "post": m["post"],
            "baseline_time": m["baseline_time"],
            "post_time": m["post_time"],
            "n_timepoints": m["n"],
            "reason": m["reason"],
        }
    )


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
    post_rule = post if post == "last" else float(post)
    jt = {"measure": measure, "reliability": rel, "significance_level": significance_level}
    norms = {
        k: v
        for k, v in (("m_functional", m_functional), ("sd_functional", sd_functional))
        if v is not None
    }
    defs = []
    if ins.cutoff is not None:
        defs.append(
            {
                "name": "remission",
                "family": "symptom",
                "rule": "caseness_change",
                "measure": measure,
            }
        )
    if ins.better_is == "lower":
        defs.append(
            {
                "name": "response",
                "family": "symptom",
                "rule": "percentage_change",
                "measure": measure,
                "percent": 50,
            }
        )
    defs.append(
        {"name": "reliable_improvement", "family": "symptom", "rule": "reliable_change", **jt}
    )
    defs.append(
        {
            "name": "clinically_significant",
            "family": "symptom",
            "rule": "clinically_significant",
            "cutoff_type": cutoff_type,
            **jt,
            **norms,
        }
    )
    from analysis.instruments import load_registry

    scored = score_definitions(
        cohort, defs, post=post_rule, registry={**load_registry(), measure: ins}
    )
    res = scored[OUTCOME_COLUMNS].copy()
    # every row of a client carries the RCI and J&T category of the outcome measure
    jt_rows = res.loc[res["definition"] == "clinically_significant"].set_index("id")
    res["rci"] = res["id"].map(jt_rows["rci"])
    res["category"] = res["id"].map(jt_rows["category"])
    jt = scored.attrs["details"]["clinically_significant"]  # computed once, by the rule
    res.attrs["cutoff"] = float(jt["cutoff"])
    res.attrs["s_diff"] = float(jt["s_diff"])
    res.attrs["critical"] = float(jt["critical"])
    res.attrs["reliability"] = rel
    return res


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
    cols = ["definition_a", "definition_b", "n_both", "both_met", "only_a", "only_b", "neither",
            "n_disagree", "percent_agree"]
    return pd.DataFrame(rows, columns=cols)


def change_table(outcomes: pd.DataFrame, definition: str = "clinically_significant") -> pd.DataFrame:
    """Per-client change on one definition's measure, in :func:`analysis.clinsig.clinical_significance` form.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        Output of :func:`score_definitions` or :func:`score_outcomes`.
    definition : str
        A reliable-change or clinically-significant definition (default the generic
        ``clinically_significant``; its J&T cutoff is read from ``attrs``).

    Returns
    -------
    pandas.DataFrame
        One row per client: ``id``, ``pre`` (baseline), ``post``, ``change``, ``rci``, ``cutoff``,
        ``category``, ``evaluable``; ``attrs["clinsig"]`` carries the method (JT) and the critical
        value at the 5 % level, as :func:`analysis.plots.jacobson_plot` expects.

    Raises
    ------
    ValueError
        If the definition is not in the table.
    """
    one = outcomes.loc[outcomes["definition"] == definition].reset_index(drop=True)
    if one.empty:
        raise ValueError(
            f"definition {definition!r} not in the outcomes (have {sorted(outcomes['definition'].unique())})"
        )
    details = outcomes.attrs.get("details", {}).get(definition, {})
    cutoff = details.get("cutoff", outcomes.attrs.get("cutoff", np.nan))
    out = pd.DataFrame(
        {
            "id": one["id"],
            "pre": one["baseline"],
            "post": one["post"],
            "change": one["change"],
            "rci": one["rci"],
            "cutoff": cutoff,
            "category": one["category"],
            "evaluable": one["status"].ne("not_evaluable"),
        }
    )
    # the critical |RCI| the rule used (its significance level), 1.96 when not recorded
    critical = details.get("critical", float(stats.norm.ppf(0.975)))
    out.attrs["clinsig"] = {"method": "JT", "critical": float(critical), "cutoff": cutoff}
    return out


def _composite(d: dict, parts: dict[str, pd.DataFrame], clients: pd.DataFrame) -> pd.DataFrame:
    """any_of / all_of / k_of_n / primary over already scored definitions (client order)."""
    if d["rule"] == "primary":
        col = d["column"]
        if col not in clients.columns:
            raise ValueError(f"definition {d['name']!r}: the client table has no column {col!r}")
        choice = clients[col].map(d["map"]).to_numpy(dtype=object)
        n = len(clients)
        status = np.full(n, "not_evaluable", dtype=object)
        reason = np.full(n, f"no primary definition in column {col!r}", dtype=object)
        first = np.full(n, np.nan)
        for name in set(d["map"].values()):
            sel = choice == name
            p = parts[name]
            status[sel] = _STATUS[p["status"]][sel]
            reason[sel] = np.where(
                np.asarray(p["reason"])[sel] == "",
                "",
                name + ": " + np.asarray(p["reason"])[sel].astype(str),
            )
            first[sel] = np.asarray(p["first_met"])[sel]
        return pd.DataFrame(
            {
                "status": status,
                "reason": np.where(status == "not_evaluable", reason, ""),
                "first_met": first,
            }
        )
    st = np.column_stack([_STATUS[parts[n]["status"]] for n in d["of"]])
    fm = np.column_stack([np.asarray(parts[n]["first_met"]) for n in d["of"]])
    n_met = (st == "met").sum(axis=1)
    n_ne = (st == "not_evaluable").sum(axis=1)
    k = {"any_of": 1, "all_of": len(d["of"]), "k_of_n": d.get("k", 1)}[d["rule"]]
    met = n_met >= k
    not_met = n_met + n_ne < k
    status = np.where(met, "met", np.where(not_met, "not_met", "not_evaluable"))
    fm_met = np.where(st == "met", fm, np.nan)
    srt = np.sort(fm_met, axis=1)  # NaN last
    first = np.where(met, srt[:, k - 1], np.nan)
    reason = np.where(
        status == "not_evaluable",
        np.char.add(n_ne.astype(str), f" of {len(d['of'])} components not evaluable"),
        "",
    )
    return pd.DataFrame({"status": status, "reason": reason, "first_met": first})


def score_definitions(
    cohort: Cohort,
    definitions: list[dict] | str | None = None,
    measure: str | None = None,
    missing: str = "last_available",
    post: str | float = "last",
    registry: dict[str, Instrument] | None = None,
) -> pd.DataFrame:
    """Score every definition of a definitions file on a cohort: the project's per-client table.

    Parameters
    ----------
    cohort : Cohort
    definitions : list of dict, path or None
        Validated definitions (:func:`analysis.definitions.load_definitions`), a YAML path, or
        None for the package's default file.
    measure : str, optional
        The run's primary outcome measure, substituted for ``"{measure}"`` in the file.
    missing : {"last_available", "locf", "completers"}
        Missing-data strategy for the post score (see :class:`analysis.rules.Trajectories`):
        the last available score (default), last observation carried forward (NHS practice), or
        completers only. Reports state which.
    post : "last" or float
        Post score: the last one, or the score at a fixed time point.
    registry : dict, optional
        Instrument registry.

    Returns
    -------
    pandas.DataFrame
        One row per client x scored definition, columns :data:`OUTCOME_COLUMNS`: ``status`` is met / not_met / not_evaluable, ``reason`` says why a client
        is not evaluable, ``first_met`` is the first time point (session, week or month) at which
        the criterion held, ``n_timepoints`` the observed assessments of the measure.
        ``attrs["skipped"]`` maps each definition the data cannot express to the reason (e.g. a
        measure absent from the data); ``attrs["missing"]`` records the strategy.

    Raises
    ------
    ValueError
        For an invalid definitions file (naming the definition and key), an unknown missing-data
        strategy, or a rule that cannot be computed (e.g. no reliability for the RCI).
    """
    from analysis.definitions import load_definitions, validate_definitions
    from analysis.instruments import load_registry
    from analysis.rules import NotComputable, Trajectories, apply_rule

    reg = registry if registry is not None else load_registry()
    if definitions is None or isinstance(definitions, str) or hasattr(definitions, "__fspath__"):
        defs = load_definitions(definitions, measure=measure, registry=reg)
    else:
        defs = validate_definitions({"definitions": list(definitions)}, reg, measure)
    traj = Trajectories(cohort.scores, cohort.clients, reg, missing=missing, post=post)
    n = len(traj.ids)
    ids = traj.ids.to_numpy()
    nan = np.full(n, np.nan)
    parts: dict[str, dict] = {}  # status, reason, first_met arrays of each scored definition
    # free each measure's cached trajectories after the last definition that needs it (memory)
    last_use: dict[str, int] = {}
    for i, d in enumerate(defs):
        for key in ("measure", "depression", "anxiety"):
            if key in d:
                last_use[d[key]] = i
        if d["rule"] == "nhs":
            last_use[d.get("depression", "phq9")] = i
            last_use[d.get("anxiety", "gad7")] = i
    skipped: dict[str, str] = {}
    details: dict[str, dict] = {}
    columns: dict[str, list] = {c: [] for c in OUTCOME_COLUMNS}
    for i, d in enumerate(defs):
        for measure_done in [m for m, j in last_use.items() if j == i - 1]:
            traj.release(measure_done)
        name = d["name"]
        if d["rule"] in ("any_of", "all_of", "k_of_n", "primary"):
            refs = d["of"] if "of" in d else list(dict.fromkeys(d["map"].values()))
            absent = [r for r in refs if r not in parts]
            if absent:
                skipped[name] = f"component(s) not computed: {absent}"
                continue
            comp = _composite(d, parts, cohort.clients)
            col = {
                "measure": "", "status": _status_code(comp["status"].to_numpy()),
                "reason": comp["reason"].to_numpy(dtype=object), "baseline": nan, "post": nan,
                "change": nan, "rci": nan, "category": np.full(n, -1, dtype=np.int8),
                "first_met": comp["first_met"].to_numpy(dtype=float),
                "n_timepoints": np.zeros(n, dtype=np.int32),
            }
        else:
            needed = [d[k] for k in ("measure",) if k in d]
            if d["rule"] == "nhs":
                needed = [d.get("depression", "phq9"), d.get("anxiety", "gad7")]
            absent = [m for m in needed if not traj.has(m)]
            if absent:
                skipped[name] = f"measure(s) not in the data: {absent}"
                continue
            try:
                r = apply_rule(traj, d)
            except NotComputable as exc:
                skipped[name] = str(exc)
                continue
            details[name] = {k: v for k, v in r.extra.items() if np.ndim(v) == 0}
            m = traj.measure(needed[0])
            base = r.baseline if r.baseline is not None else nan
            postv = r.post if r.post is not None else nan
            ev = np.asarray(r.evaluable, bool)
            col = {
                "measure": r.extra.get("measure", needed[0]),
                        "status": np.where(~ev, 2, np.where(np.asarray(r.met, bool), 0, 1)).astype(np.int8),
                "reason": np.where(ev, _EMPTY, np.asarray(r.reason, dtype=object)),
                "baseline": np.asarray(base, float),
                "post": np.asarray(postv, float),
                "change": np.asarray(postv, float) - np.asarray(base, float),
                "rci": nan if r.rci is None else np.asarray(r.rci, float),
                "category": (np.full(n, -1, dtype=np.int8) if r.category is None
                             else pd.Categorical(r.category, categories=_CATEGORY_LEVELS)
                             .codes.astype(np.int8)),
                "first_met": np.where(ev, r.first_met, np.nan),
                "n_timepoints": np.asarray(m["n"], dtype=np.int32),
            }
        parts[name] = {"status": col["status"], "reason": col["reason"],
                       "first_met": col["first_met"]}
        col.update(id=ids, definition=name, family=d["family"])  # scalars broadcast, no copy
        for key, values in col.items():
            columns[key].append(np.broadcast_to(np.asarray(values, dtype=object)
                                                if np.ndim(values) == 0 else values, (n,)))
    if not columns["id"]:
        raise ValueError(f"none of the definitions can be computed on {cohort.name!r}: {skipped}")
    del traj  # release the per-row arrays before the (large) output is assembled
    out = pd.DataFrame(index=pd.RangeIndex(sum(len(a) for a in columns["id"])))
    for key in OUTCOME_COLUMNS:  # one column at a time, freeing its pieces: bounded peak memory
        values = np.concatenate(columns.pop(key))
        if key == "status":  # small integer codes until here (memory), shared strings after
            values = _STATUS[values]
        elif key == "category":
            values = _CATEGORY_OBJ[values]
        out[key] = values
    out.attrs["skipped"] = skipped
    out.attrs["missing"] = missing
    out.attrs["details"] = details
    return out


def compare_methods(
    cohort: Cohort,
    measure: str,
    reliability: float | None = None,
    methods: tuple[str, ...] | None = None,
    cutoff_type: str = "a",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    reliability_post: float | None = None,
    post: str | float = "last",
    significance_level: float = 0.05,
) -> pd.DataFrame:
    """Every reliable-change method of :mod:`analysis.clinsig` on one measure, side by side.

    Parameters
    ----------
    cohort : Cohort
    measure : str
        Registry code of the outcome (range and direction from the registry).
    reliability : float, optional
        Default: the registry's value.
    methods : tuple of str, optional
        Default all of ``analysis.clinsig.RCI_METHODS`` (JT, GLN, HLL, EN, NK, HA, HLM).
    cutoff_type : {"a", "b", "c", "instrument"}
        Cutoff for the combined categories (HA uses its true-score cutoff); ``instrument`` is the
        registry's clinical cutoff for the pre/post methods, and cutoff a for HA and HLM, whose
        cutoffs are defined on true scores.
    m_functional, sd_functional : float, optional
        Functional norms (points) for cutoffs b and c; default the registry's.
    reliability_post : float, optional
        Post-test reliability for NK (default: the same as ``reliability``).
    post : "last" or float
        Post score rule, as in :func:`prepost`. HLM uses every observed score from baseline up to
        the post time, and needs at least three.
    significance_level : float

    Returns
    -------
    pandas.DataFrame
        One row per client x method: ``id``, ``method``, ``pre``, ``post``, ``change``, ``rci``,
        ``reliable_change`` (improved / unchanged / deteriorated), ``category`` (recovered /
        improved / unchanged / deteriorated / harmed), ``evaluable``, ``reason``.

    Raises
    ------
    ValueError
        As :func:`analysis.clinsig.clinical_significance` (e.g. reliability outside (0, 1)).
    """
    from analysis.clinsig import RCI_METHODS, clinical_significance, clinical_significance_prepost

    ins = get_instrument(measure)
    rel = reliability if reliability is not None else ins.reliability_value
    func = (ins.norms or {}).get("functional", {})
    m_f = m_functional if m_functional is not None else func.get("mean")
    sd_f = sd_functional if sd_functional is not None else func.get("sd")
    pp = prepost(cohort.scores, cohort.clients, measure, post=post)
    ok = pp["reason"] == ""
    wide = pd.DataFrame(
        {"id": pp["id"], "pre": pp["baseline"].where(ok), "post": pp["post"].where(ok)}
    )
    cols = [
        "id",
        "pre",
        "post",
        "change",
        "rci",
        "reliable_change",
        "category",
        "evaluable",
        "reason",
    ]
    frames = []
    for method in methods or RCI_METHODS:
        kw = dict(
            reliability=rel,
            rci_method=method,
            better_is=ins.better_is,
            significance_level=significance_level,
        )
        if cutoff_type == "instrument" and method not in ("HA", "HLM"):
            # the registry's clinical cutoff, shifted by 1e-9 so that a score exactly on it falls
            # on the side case_if gives (as in analysis.rules)
            if ins.cutoff is None:
                raise ValueError(f"{measure!r} has no clinical cutoff in the registry")
            shift = {">=": -1e-9, ">": 0.0, "<=": 1e-9, "<": 0.0}[ins.cutoff["case_if"]]
            kw.update(cutoff=ins.cutoff_value + shift)
        elif cutoff_type == "instrument":  # HA and HLM: true-score cutoffs; use a, said in notes
            kw.update(cutoff_type="a")
        else:
            kw.update(cutoff_type=cutoff_type, m_functional=m_f, sd_functional=sd_f)
        if method == "NK":
            kw["reliability_post"] = reliability_post
        if method == "HLM":
            rows = cohort.scores.loc[
                (cohort.scores["measure"] == measure) & cohort.scores["score"].notna(),
                ["id", "time", "score"],
            ]
            rows = rows.merge(pp[["id", "baseline_time", "post_time"]], on="id")
            rows = rows.loc[
                (rows["time"] >= rows["baseline_time"]) & (rows["time"] <= rows["post_time"])
            ]
            res = clinical_significance(
                rows[["id", "time", "score"]],
                rci_method="HLM",
                **{k: v for k, v in kw.items() if k not in ("rci_method", "reliability")},
            )
            res = pp[["id"]].merge(res, on="id", how="left")
            res["evaluable"] = res["evaluable"].astype("boolean").fillna(False).astype(bool)
            res["reason"] = (
                res["reason"]
                .astype(object)
                .where(res["evaluable"] | res["reason"].notna(), "fewer than 3 scores")
            )
        else:
            res = clinical_significance_prepost(wide, **kw)
            res["reason"] = np.where(ok.to_numpy(), res["reason"].astype(object), pp["reason"])
        res = res[cols].copy()
        for c in ("reliable_change", "category", "reason"):
            res[c] = res[c].astype(object)
        res.insert(1, "method", method)
        frames.append(res)
    return pd.concat(frames, ignore_index=True)
