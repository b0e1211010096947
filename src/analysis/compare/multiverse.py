"""A multiverse of success: every defensible analytic choice side by side.

How much does "success" depend on how it is defined and computed? A *specification* fixes one
choice on each dimension of a grid (definition, J&T cutoff type, reliability of the RCI, missing
post scores, post-score rule, population); the multiverse computes the success rate (and the arm
difference, where the data have arms) under every specification, draws the specification curve and
says which choice moves the rate most.

The grid is data (``config/multiverse.yaml``, or a mapping of the same form). Shared work is done
once: one call of the definitions engine per (missing-data strategy, post rule) scores every
(definition, cutoff type, reliability) variant at once; populations are masks over its table.
Per-client outcomes come only from the engine (:func:`analysis.outcomes.engine.score_definitions`).

References
----------
- Steegen S., Tuerlinckx F., Gelman A. & Vanpaemel W. (2016) Increasing transparency through a
  multiverse analysis. Perspect Psychol Sci 11(5):702-712.
- Simonsohn U., Simmons J.P. & Nelson L.D. (2020) Specification curve analysis. Nat Hum Behav
  4:1208-1214.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.registry.paths import CONFIG_DIR

__all__ = [
    "CHOICES",
    "DEFAULT_GRID",
    "load_grid",
    "expand_grid",
    "run_multiverse",
    "decompose_spread",
    "specification_curve",
]

#: The dimensions of a specification, in the order of the grid file and the output columns.
CHOICES = ("definition", "cutoff_type", "reliability", "missing", "post", "population")
DEFAULT_GRID = CONFIG_DIR / "multiverse.yaml"
_POPULATIONS = ("all", "finished", "severe", "chronic")
_CUTOFF_RULES = ("clinically_significant",)
_RCI_RULES = ("reliable_change", "clinically_significant")
_NA = "n/a"


def load_grid(grid: Mapping | str | Path | None = None) -> dict[str, Any]:
    """Read and check a specification grid.

    Parameters
    ----------
    grid : mapping, path or None
        A mapping with ``grid`` (choice -> list of levels, or the keywords ``headline`` for
        definitions and ``registry`` for reliability) and optional ``options`` (``imputations``,
        ``seed``, ``alpha``); a YAML file of that form; or None for the package default.

    Returns
    -------
    dict
        ``{"grid": {...}, "options": {...}}`` with every choice present (defaults filled in).

    Raises
    ------
    ValueError
        Naming the file and the key: an unknown choice, an empty list, an unknown population.

    Examples
    --------
    >>> g = load_grid({"grid": {"missing": ["locf"]}})
    >>> g["grid"]["missing"], g["grid"]["population"][:2]
    (['locf'], ['all', 'finished'])
    """
    import yaml

    with open(DEFAULT_GRID, encoding="utf-8") as fh:
        default = yaml.safe_load(fh)
    where = "the multiverse grid"
    if grid is None:
        raw: Mapping = default
    elif isinstance(grid, Mapping):
        raw = grid
    else:
        where = str(grid)
        with open(grid, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected a mapping with 'grid' and 'options'")
    unknown_top = sorted(set(raw) - {"grid", "options"})
    if unknown_top:
        raise ValueError(f"{where}: unknown key(s) {unknown_top}; allowed: grid, options")
    levels = dict(default["grid"])
    given = raw.get("grid") or {}
    unknown = sorted(set(given) - set(CHOICES))
    if unknown:
        raise ValueError(f"{where}: unknown choice(s) {unknown}; allowed: {list(CHOICES)}")
    for key, value in given.items():
        if isinstance(value, str) and key in ("definitions", "definition", "reliability"):
            levels[key] = value
        elif isinstance(value, (list, tuple)) and len(value) > 0:
            levels[key] = list(value)
        else:
            raise ValueError(f"{where}: grid.{key} must be a non-empty list, got {value!r}")
    if "definition" in levels:  # the file spells it "definitions"
        levels["definitions"] = levels.pop("definition")
    bad_pop = sorted(set(levels["population"]) - set(_POPULATIONS))
    if bad_pop:
        raise ValueError(f"{where}: grid.population {bad_pop} unknown; allowed {_POPULATIONS}")
    options = {**default["options"], **(raw.get("options") or {})}
    unknown_opt = sorted(set(options) - set(default["options"]))
    if unknown_opt:
        raise ValueError(f"{where}: unknown option(s) {unknown_opt}")
    if int(options["imputations"]) < 2:
        raise ValueError(f"{where}: options.imputations must be at least 2")
    return {"grid": levels, "options": options}


def _reliability_levels(ins, spec) -> list[tuple[float, str]]:
    if spec != "registry":
        return [(float(v), "given in the grid") for v in spec]
    out = []
    if ins.reliability is not None:
        out.append((float(ins.reliability["value"]), str(ins.reliability.get("source", ""))))
    for alt in ins.extra.get("reliability_alternatives", []) or []:
        values = alt["value"] if isinstance(alt["value"], (list, tuple)) else [alt["value"]]
        note = " (a bound of the published range)" if len(values) > 1 else ""
        for v in map(float, values):
            if all(abs(v - o[0]) > 1e-12 for o in out):
                out.append((v, str(alt.get("source", "")) + note))
    return out


def expand_grid(
    grid: Mapping,
    definitions: list[dict],
    registry: Mapping,
    clients: pd.DataFrame | None = None,
    measures: Iterable[str] | None = None,
    measure: str | None = None,
) -> pd.DataFrame:
    """Every specification of a grid, with the reason where one cannot be computed.

    Parameters
    ----------
    grid : mapping
        Output of :func:`load_grid`.
    definitions : list of dict
        Validated definitions (:func:`analysis.registry.definitions.load_definitions`), ``"{measure}"``
        already substituted.
    registry : mapping
        Instrument registry (code -> :class:`analysis.registry.instruments.Instrument`).
    clients : pandas.DataFrame, optional
        The client table: decides whether ``finished`` (column ``end_reason``) and ``chronic``
        (column ``chronic``) can be computed.
    measures : iterable of str, optional
        Measures present in the data; definitions on other measures are skipped.
    measure : str, optional
        The run's primary measure: the ``severe`` population is its top severity band at baseline.

    Returns
    -------
    pandas.DataFrame
        One row per specification: ``spec`` (1, 2, ...), the :data:`CHOICES` columns
        (``cutoff_type`` and ``reliability`` are "n/a" where the definition does not use them),
        ``reliability_source``, ``computable`` (bool) and ``reason`` (why not; empty otherwise).
        Choices that do not enter a definition (a cutoff type for response) are collapsed to one
        "n/a" specification rather than repeated.

    Raises
    ------
    ValueError
        If the grid names a definition that is not in ``definitions``.
    """
    levels = grid["grid"]
    by_name = {d["name"]: d for d in definitions}
    if levels["definitions"] == "headline":
        names = [d["name"] for d in definitions if d.get("headline")] or list(by_name)
    else:
        names = list(levels["definitions"])
        unknown = sorted(set(names) - set(by_name))
        if unknown:
            raise ValueError(f"the multiverse grid names unknown definition(s) {unknown}")
    present = None if measures is None else set(measures)
    primary = registry.get(measure) if measure else None
    cols = set(clients.columns) if clients is not None else set()
    rows = []
    for name in names:
        d = by_name[name]
        ins = registry.get(d.get("measure", ""))
        reason_def = ""
        if d.get("measure") and present is not None and d["measure"] not in present:
            reason_def = f"measure {d['measure']} not in the data"
        if d["rule"] in _CUTOFF_RULES:
            cut_levels = []
            for c in levels["cutoff_type"]:
                why = ""
                if c == "c" and not ((ins.norms or {}).get("functional") if ins else None):
                    why = f"cutoff c needs functional norms, which {d.get('measure')} lacks"
                if c == "b" and not ((ins.norms or {}).get("functional") if ins else None):
                    why = f"cutoff b needs functional norms, which {d.get('measure')} lacks"
                if c == "instrument" and (ins is None or ins.cutoff is None):
                    why = f"{d.get('measure')} has no clinical cutoff in the registry"
                cut_levels.append((str(c), why))
        else:
            cut_levels = [(_NA, "")]
        if d["rule"] in _RCI_RULES and ins is not None:
            rel_levels = _reliability_levels(ins, levels["reliability"]) or [(np.nan, "")]
        else:
            rel_levels = [(_NA, "")]
        for (cut, why_cut), (rel, rel_src), missing, post, pop in itertools.product(
            cut_levels, rel_levels, levels["missing"], levels["post"], levels["population"]
        ):
            why = reason_def or why_cut
            if not why and pop == "finished" and "end_reason" not in cols:
                why = "no end reason recorded, so finished courses are unknown"
            if not why and pop == "chronic" and "chronic" not in cols:
                why = "no chronicity recorded (client column 'chronic')"
            if not why and pop == "severe" and not (primary is not None and primary.bands):
                why = f"the primary measure {measure} has no severity bands in the registry"
            if not why and missing == "completers" and "end_reason" not in cols:
                why = "completers needs an end reason per client"
            rows.append(
                {
                    "definition": name,
                    "cutoff_type": cut,
                    "reliability": rel,
                    "missing": str(missing),
                    "post": post,
                    "population": pop,
                    "reliability_source": rel_src,
                    "computable": not why,
                    "reason": why,
                }
            )
    out = pd.DataFrame(rows)
    out.insert(0, "spec", np.arange(1, len(out) + 1))
    return out


def _variant_name(row) -> str:
    return f"{row['definition']}|{row['cutoff_type']}|{row['reliability']}"


def _variants(specs: pd.DataFrame, by_name: dict[str, dict]) -> list[dict]:
    out, seen = [], set()
    for _, r in specs.iterrows():
        key = _variant_name(r)
        if key in seen:
            continue
        seen.add(key)
        d = copy.deepcopy(by_name[r["definition"]])
        d["name"] = key
        d["headline"] = False
        if r["cutoff_type"] != _NA:
            d["cutoff_type"] = r["cutoff_type"]
        if r["reliability"] != _NA and not pd.isna(r["reliability"]):
            d["reliability"] = float(r["reliability"])
        out.append(d)
    # composites refer to their parts by name: keep the parts' original definitions too
    return out


def _population_masks(cohort, measure: str | None, registry) -> dict[str, np.ndarray]:
    clients = cohort.clients
    n = len(clients)
    masks = {"all": np.ones(n, bool)}
    if "end_reason" in clients.columns:
        masks["finished"] = (clients["end_reason"].astype(str) == "planned").to_numpy()
    if "chronic" in clients.columns:
        masks["chronic"] = clients["chronic"].fillna(False).astype(bool).to_numpy()
    ins = registry.get(measure) if measure else None
    if ins is not None and ins.bands:
        s = cohort.scores
        rows = s.loc[(s["measure"] == measure) & s["score"].notna(), ["id", "time", "score"]]
        first = rows.sort_values(["id", "time"]).drop_duplicates("id")
        base = clients[["id"]].merge(first, on="id", how="left")["score"].to_numpy(float)
        top = float(ins.bands["values"][-1])
        masks["severe"] = (base >= top) if ins.better_is == "lower" else (base <= top)
    return masks


def _rate_row(met: np.ndarray, ev: np.ndarray, alpha: float) -> dict[str, float]:
    from analysis.compare.prevalence import wilson_interval

    n_ev = int(ev.sum())
    n_met = int((met & ev).sum())
    if n_ev == 0:
        return {"n_evaluable": 0, "n_met": 0, "rate": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    lo, hi = wilson_interval(np.array([n_met]), np.array([n_ev]), alpha=alpha)
    return {
        "n_evaluable": n_ev,
        "n_met": n_met,
        "rate": n_met / n_ev,
        "ci_low": float(np.asarray(lo)[0]),
        "ci_high": float(np.asarray(hi)[0]),
    }


def _arm_row(met, ev, arm, ref, other, alpha) -> dict[str, Any]:
    from statsmodels.stats.proportion import confint_proportions_2indep

    a, b = ev & (arm == other), ev & (arm == ref)
    x1, n1, x2, n2 = int((met & a).sum()), int(a.sum()), int((met & b).sum()), int(b.sum())
    out = {
        "arm_comparison": f"{other} vs {ref}",
        "risk_difference": np.nan,
        "rd_ci_low": np.nan,
        "rd_ci_high": np.nan,
        "odds_ratio": np.nan,
        "or_ci_low": np.nan,
        "or_ci_high": np.nan,
        "arm_note": "",
    }
    if min(n1, n2) == 0:
        out["arm_note"] = "not computed: an arm has no evaluable client"
        return out
    out["risk_difference"] = x1 / n1 - x2 / n2
    lo, hi = confint_proportions_2indep(
        x1, n1, x2, n2, method="newcomb", compare="diff", alpha=alpha
    )
    out["rd_ci_low"], out["rd_ci_high"] = float(lo), float(hi)
    if min(x1, n1 - x1, x2, n2 - x2) == 0:
        out["arm_note"] = "odds ratio not computed: a cell of the 2 x 2 table is empty"
        return out
    out["odds_ratio"] = (x1 / (n1 - x1)) / (x2 / (n2 - x2))
    lo, hi = confint_proportions_2indep(
        x1, n1, x2, n2, method="logit", compare="odds-ratio", alpha=alpha
    )
    out["or_ci_low"], out["or_ci_high"] = float(lo), float(hi)
    return out


def run_multiverse(
    cohort,
    grid: Mapping | str | Path | None = None,
    definitions: list[dict] | str | Path | None = None,
    measure: str | None = None,
    registry: Mapping | None = None,
    group: str | None = "arm",
    score: Callable[..., pd.DataFrame] | None = None,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Success rate (and arm difference) under every specification of a grid.

    Parameters
    ----------
    cohort : analysis.data.cohort.Cohort
        Scores and clients.
    grid : mapping, path or None
        The specification grid (:func:`load_grid`); default the package's.
    definitions : list of dict, path or None
        Definitions (default: the package's file), with ``"{measure}"`` set to ``measure``.
    measure : str, optional
        The run's primary measure (registry code), for ``"{measure}"`` and the severity band.
    registry : mapping, optional
        Instrument registry (default the package's).
    group : str or None
        Client column with the arms; the arm difference compares the second level with the first
        (sorted); None or a column with fewer than two levels skips it.
    score : callable, optional
        The definitions engine (default :func:`analysis.outcomes.engine.score_definitions`); a test may
        pass a stand-in with the same signature.
    scheduler : None, "local", str or distributed.Client
        None (default) computes in this process. ``"local"`` runs the blocks of specifications
        (one per missing-data strategy and post rule) on a local Dask cluster of two worker
        processes; a string such as ``"tcp://10.0.0.5:8786"`` uses an existing Dask scheduler;
        a ``distributed.Client`` is used as it is. Results are identical to the in-process run.

    Returns
    -------
    pandas.DataFrame
        ``multiverse.csv``: one row per specification, the choice columns of
        :func:`expand_grid`, then ``n_evaluable``, ``n_met``, ``rate`` (proportion met among
        evaluable clients), ``ci_low``, ``ci_high`` (95 % Wilson; Rubin's rules under multiple
        imputation), ``arm_comparison``, ``risk_difference``, ``rd_ci_low``, ``rd_ci_high``
        (Newcombe), ``odds_ratio``, ``or_ci_low``, ``or_ci_high`` (logit), ``arm_note``,
        ``computable`` and ``reason`` ("not computed: ..." where the data cannot support it).

    Raises
    ------
    ValueError
        For an invalid grid or definitions file.
    """
    from analysis.registry.definitions import load_definitions, validate_definitions
    from analysis.registry.instruments import load_registry

    reg = registry if registry is not None else load_registry()
    g = load_grid(grid) if not (isinstance(grid, Mapping) and "options" in grid) else grid
    alpha = float(g["options"]["alpha"])
    if definitions is None or isinstance(definitions, (str, Path)):
        defs = load_definitions(definitions, measure=measure, registry=reg)
    else:
        defs = validate_definitions({"definitions": list(definitions)}, reg, measure)
    defs = [dict(d) for d in defs]
    measures = set(pd.unique(cohort.scores["measure"].astype(str)))
    specs = expand_grid(g, defs, reg, cohort.clients, measures, measure)
    masks = _population_masks(cohort, measure, reg)
    if score is None:
        from analysis.outcomes.engine import score_definitions as score
    ids = cohort.clients["id"].to_numpy()
    arm = None
    if group and group in cohort.clients.columns:
        levels = sorted(pd.unique(cohort.clients[group].dropna().astype(str)))
        if len(levels) >= 2:
            arm = (cohort.clients[group].astype(str).to_numpy(), levels[0], levels[1])
    results: dict[int, dict] = {}
    comp = specs.loc[specs["computable"]]
    jobs = [
        (missing, post, block)
        for (missing, post), block in comp.groupby(["missing", "post"], sort=False)
    ]
    shared = dict(
        cohort=cohort,
        defs=defs,
        measure=measure,
        registry=reg,
        score=score,
        grid=g,
        masks=masks,
        arm=arm,
        alpha=alpha,
        ids=ids,
    )
    if scheduler is None:
        for missing, post, block in jobs:
            results.update(_run_block(missing, post, block, **shared))
    else:
        for part in _on_dask(jobs, shared, scheduler):
            results.update(part)
    rows = []
    for _, r in specs.iterrows():
        res = results.get(r["spec"], {})
        row = {**r.to_dict(), **res}
        if res.get("reason"):
            row["computable"] = False
        rows.append(row)
    out = pd.DataFrame(rows)
    for c in ("n_evaluable", "n_met", "rate", "ci_low", "ci_high"):
        if c not in out.columns:
            out[c] = np.nan
    out["reason"] = out["reason"].fillna("").astype(str)
    front = ["spec", *[c if c != "definition" else "definition" for c in CHOICES]]
    rest = [c for c in out.columns if c not in front]
    return out[front + rest]


def _needed_parts(variants: list[dict], by_name: dict[str, dict]) -> list[dict]:
    """The definitions that composites among ``variants`` refer to (transitively), and only
    those: the engine scores nothing the grid does not use."""
    need: dict[str, dict] = {}
    todo = [v for v in variants]
    while todo:
        d = todo.pop()
        refs = d.get("of") or list(dict.fromkeys((d.get("map") or {}).values()))
        for ref in refs:
            if ref not in need and ref in by_name:
                need[ref] = by_name[ref]
                todo.append(by_name[ref])
    order = list(by_name)
    return sorted(need.values(), key=lambda d: order.index(d["name"]))


def _status_by_definition(outcomes: pd.DataFrame, ids: np.ndarray) -> dict[str, np.ndarray]:
    """Status per definition as arrays in the client table's order (no wide pivot)."""
    out = {}
    for name, idx in outcomes.groupby("definition", sort=False).indices.items():
        sub_ids = outcomes["id"].to_numpy()[idx]
        pos = pd.Index(sub_ids).get_indexer(ids)
        st = outcomes["status"].to_numpy()[idx]
        out[name] = np.where(pos >= 0, st[pos], None)
    return out


def _run_block(
    missing, post, block, *, cohort, defs, measure, registry, score, grid, masks, arm, alpha, ids
) -> dict[int, dict]:
    """Every specification sharing one missing-data strategy and post rule: one engine call."""
    by_name = {d["name"]: d for d in defs}
    variants = _variants(block, by_name)
    parts = _needed_parts(variants, by_name)
    results: dict[int, dict] = {}
    if missing == "multiple_imputation":
        try:
            blocks = _score_imputed(cohort, parts + variants, measure, post, registry, score, grid)
        except ValueError as exc:
            return {s: {"reason": f"not computed: {exc}"} for s in block["spec"]}
    else:
        try:
            blocks = [
                score(
                    cohort,
                    parts + variants,
                    measure=measure,
                    missing=missing,
                    post=post,
                    registry=registry,
                )
            ]
        except ValueError as exc:
            return {s: {"reason": f"not computed: {exc}"} for s in block["spec"]}
    status = [_status_by_definition(b, ids) for b in blocks]
    skipped = blocks[0].attrs.get("skipped", {})
    for _, r in block.iterrows():
        key = _variant_name(r)
        if key not in status[0]:
            why = skipped.get(key, "the engine did not score it")
            results[r["spec"]] = {"reason": f"not computed: {why}"}
            continue
        mask = masks[r["population"]]
        per_imp = []
        for st in status:
            s = st[key]
            per_imp.append(((s == "met") & mask, np.isin(s, ("met", "not_met")) & mask))
        results[r["spec"]] = _summarise(per_imp, arm, alpha)
    return results


def _on_dask(jobs, shared, scheduler):
    """Run the blocks on Dask distributed: ``"local"`` starts a local cluster (one process per
    core), anything else is a scheduler address (``tcp://host:8786``) or a ``Client``."""
    from distributed import Client, LocalCluster, progress

    own = None
    if isinstance(scheduler, Client):
        client = scheduler
    elif scheduler == "local":
        # ":0": any free port for the cluster's HTTP endpoints (None still binds 8787 for metrics,
        # which another Dask cluster on the machine may hold)
        own = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        client = Client(own)
    else:
        client = Client(scheduler)
    try:
        common = client.scatter(shared, broadcast=True)
        futures = [
            client.submit(_run_block_packed, m, p, b, common, pure=False) for m, p, b in jobs
        ]
        progress(futures, notebook=False)
        return client.gather(futures)
    finally:
        if not isinstance(scheduler, Client):
            client.close()
        if own is not None:
            own.close()


def _run_block_packed(missing, post, block, shared):
    return _run_block(missing, post, block, **shared)


def _summarise(per_imp, arm, alpha) -> dict[str, Any]:
    from analysis.outcomes.imputation import rubin_pool

    if len(per_imp) == 1:
        met, ev = per_imp[0]
        row = _rate_row(met, ev, alpha)
        if arm is not None:
            row.update(_arm_row(met, ev, *arm, alpha=alpha))
        return row
    # multiple imputation: evaluable sets may differ only by imputed clients; pool with Rubin
    rates, var, n_ev = [], [], []
    for met, ev in per_imp:
        n = ev.sum()
        p = (met & ev).sum() / n if n else np.nan
        rates.append(p)
        var.append(p * (1 - p) / n if n else np.nan)
        n_ev.append(n)
    if np.isnan(rates).any():
        return {"reason": "not computed: no evaluable client in an imputed dataset"}
    pooled = rubin_pool(rates, var, n=int(np.mean(n_ev)), alpha=alpha)
    row = {
        "n_evaluable": int(round(np.mean(n_ev))),
        "n_met": int(round(pooled["estimate"] * np.mean(n_ev))),
        "rate": float(pooled["estimate"]),
        "ci_low": max(0.0, float(pooled["ci_low"])),
        "ci_high": min(1.0, float(pooled["ci_high"])),
    }
    if arm is not None:
        labels, ref, other = arm
        rds, rd_var, lors, lor_var = [], [], [], []
        for met, ev in per_imp:
            a, b = ev & (labels == other), ev & (labels == ref)
            x1, n1, x2, n2 = (met & a).sum(), a.sum(), (met & b).sum(), b.sum()
            if min(n1, n2) == 0:
                rds = []
                break
            p1, p2 = x1 / n1, x2 / n2
            rds.append(p1 - p2)
            rd_var.append(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
            if min(x1, n1 - x1, x2, n2 - x2) > 0:
                lors.append(np.log((x1 / (n1 - x1)) / (x2 / (n2 - x2))))
                lor_var.append(1 / x1 + 1 / (n1 - x1) + 1 / x2 + 1 / (n2 - x2))
        row["arm_comparison"] = f"{other} vs {ref}"
        if rds:
            rd = rubin_pool(rds, rd_var, alpha=alpha)
            row.update(
                risk_difference=rd["estimate"], rd_ci_low=rd["ci_low"], rd_ci_high=rd["ci_high"]
            )
        if len(lors) == len(per_imp):
            lo = rubin_pool(lors, lor_var, alpha=alpha)
            row.update(
                odds_ratio=float(np.exp(lo["estimate"])),
                or_ci_low=float(np.exp(lo["ci_low"])),
                or_ci_high=float(np.exp(lo["ci_high"])),
            )
        else:
            row["arm_note"] = "odds ratio not computed: an empty cell in an imputed dataset"
    return row


def _score_imputed(cohort, defs, measure, post, registry, score, grid) -> list[pd.DataFrame]:
    """Score every definition on ``m`` completed cohorts (post scores imputed under MAR)."""
    from analysis.outcomes.imputation import impute_post

    m = int(grid["options"]["imputations"])
    seed = int(grid["options"]["seed"])
    nhs_default = {"depression": "phq9", "anxiety": "gad7"}  # as analysis.outcomes.rules.rule_nhs
    nhs = {d.get(k, v) for d in defs if d["rule"] == "nhs" for k, v in nhs_default.items()}
    used = sorted(({d["measure"] for d in defs if "measure" in d} | nhs) - {None})
    clients = cohort.clients
    scores = cohort.scores
    ids = clients["id"]
    if "end_reason" in clients.columns:
        dropout = (clients["end_reason"].astype(str) != "planned").to_numpy()
    else:
        dropout = None
    arm_cols = {}
    if "arm" in clients.columns:
        for level in sorted(pd.unique(clients["arm"].dropna().astype(str)))[1:]:
            arm_cols[f"arm_{level}"] = (clients["arm"].astype(str) == level).astype(float)
    frame = pd.DataFrame(index=range(len(clients)))
    placed = {}
    for k, meas in enumerate(used):
        rows = scores.loc[(scores["measure"] == meas) & scores["score"].notna()]
        if rows.empty:
            continue
        rows = rows.sort_values(["id", "time"])
        first = rows.drop_duplicates("id", keep="first").set_index("id")
        last = rows.drop_duplicates("id", keep="last").set_index("id")
        base = first["score"].reindex(ids).to_numpy(float)
        last_s = last["score"].reindex(ids).to_numpy(float)
        last_t = last["time"].reindex(ids).to_numpy(float)
        base_t = first["time"].reindex(ids).to_numpy(float)
        final_wave = np.nanmax(rows["time"].to_numpy(float))
        miss = dropout if dropout is not None else (last_t < final_wave)
        miss = miss & ~np.isnan(base)
        post_v = np.where(miss | (last_t <= base_t), np.nan, last_s)
        frame[f"post{k}"] = post_v
        frame[f"base{k}"] = base
        frame[f"last{k}"] = last_s
        frame[f"time{k}"] = last_t
        placed[meas] = (k, miss, last_t)
    for c, v in arm_cols.items():
        frame[c] = v.to_numpy()
    completed = []
    if not placed:
        return [
            score(
                cohort,
                defs,
                measure=measure,
                missing="last_available",
                post=post,
                registry=registry,
            )
        ]
    imputed = {}
    for meas, (k, _miss, _last_t) in placed.items():
        preds = [f"base{k}", f"last{k}", f"time{k}", *arm_cols]
        ok = frame[[f"base{k}"]].notna().to_numpy().ravel()
        imp = impute_post(
            frame.loc[ok, [f"post{k}", *preds]],
            post=f"post{k}",
            predictors=preds,
            m=m,
            seed=seed + k,
            k_pmm=int(grid["options"]["pmm_donors"]),
        )
        full = np.full((m, len(frame)), np.nan)
        full[:, ok] = imp
        imputed[meas] = full
    for j in range(m):
        extra = []
        for meas, (_k, miss, last_t) in placed.items():
            sel = np.flatnonzero(miss)
            extra.append(
                pd.DataFrame(
                    {
                        "id": ids.to_numpy()[sel],
                        "time": last_t[sel] + 1.0,
                        "measure": meas,
                        "score": imputed[meas][j, sel],
                    }
                )
            )
        new_scores = pd.concat(
            [scores[["id", "time", "measure", "score"]], *extra], ignore_index=True
        )
        c = cohort.with_scores(new_scores)
        completed.append(
            score(c, defs, measure=measure, missing="last_available", post=post, registry=registry)
        )
    return completed


def decompose_spread(results: pd.DataFrame, value: str = "rate") -> pd.DataFrame:
    """Which analytic choice moves the success rate most.

    For each choice, the specifications are grouped by every *other* choice; within a group only
    that choice varies, so the spread of the estimate within the group is what that choice alone
    does. The table summarises those spreads over the groups.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`run_multiverse` (rows that were not computed are ignored).
    value : str
        The estimate to decompose (default ``rate``, a proportion).

    Returns
    -------
    pandas.DataFrame
        One row per choice with more than one computed level: ``choice``, ``levels``,
        ``comparisons`` (groups in which it varies), ``median_shift`` and ``max_shift`` (median and
        largest within-group range of ``value``, in the estimate's units: multiply a rate by 100
        for percentage points) and ``eta_squared`` (share of the variance of ``value`` across all
        computed specifications explained by the choice alone). Sorted by ``median_shift``.

    Raises
    ------
    ValueError
        If fewer than two specifications were computed.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"definition": ["a", "a", "b", "b"], "cutoff_type": "n/a",
    ...                   "reliability": "n/a", "missing": ["locf", "bocf"] * 2, "post": "last",
    ...                   "population": "all", "rate": [0.50, 0.40, 0.30, 0.28]})
    >>> t = decompose_spread(r)
    >>> t[["choice", "comparisons", "median_shift", "max_shift"]].round(3).values.tolist()
    [['definition', 2, 0.16, 0.2], ['missing', 2, 0.06, 0.1]]
    """
    done = results.loc[results[value].notna()].copy()
    if len(done) < 2:
        raise ValueError("decompose_spread: fewer than two specifications were computed")
    for c in CHOICES:
        done[c] = done[c].astype(str)
    total = float(((done[value] - done[value].mean()) ** 2).sum())
    rows = []
    for c in CHOICES:
        if done[c].nunique() < 2:
            continue
        others = [o for o in CHOICES if o != c]
        spread = done.groupby(others, sort=False)[value].agg(["max", "min", "size"])
        spread = spread.loc[spread["size"] > 1]
        shifts = (spread["max"] - spread["min"]).to_numpy()
        means = done.groupby(c)[value].mean()
        n_l = done.groupby(c)[value].size()
        between = float((n_l * (means - done[value].mean()) ** 2).sum())
        rows.append(
            {
                "choice": c,
                "levels": int(means.size),
                "comparisons": int(len(shifts)),
                "median_shift": float(np.median(shifts)) if len(shifts) else np.nan,
                "max_shift": float(shifts.max()) if len(shifts) else np.nan,
                "eta_squared": between / total if total > 0 else 0.0,
            }
        )
    out = pd.DataFrame(
        rows,
        columns=["choice", "levels", "comparisons", "median_shift", "max_shift", "eta_squared"],
    )
    return out.sort_values("median_shift", ascending=False, na_position="last", ignore_index=True)


def specification_curve(results: pd.DataFrame, value: str = "rate", ax=None):
    """The specification curve: estimates sorted, with the choices beneath.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`run_multiverse`.
    value : str
        Estimate to plot (``rate`` or ``risk_difference``), with ``ci_low``/``ci_high`` or
        ``rd_ci_low``/``rd_ci_high``.
    ax : sequence of two matplotlib Axes, optional
        Upper (curve) and lower (choice indicators) axes; created when None.

    Returns
    -------
    tuple of matplotlib Axes
        (curve, indicators). The figure has a title and alt text (``fig.alt_text``).

    Raises
    ------
    ValueError
        If no specification was computed.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    done = results.loc[results[value].notna()].sort_values(value, ignore_index=True)
    if done.empty:
        raise ValueError("specification_curve: no specification was computed")
    lo, hi = ("ci_low", "ci_high") if value == "rate" else ("rd_ci_low", "rd_ci_high")
    varying = [c for c in CHOICES if done[c].astype(str).nunique() > 1]
    labels = [(c, lvl) for c in varying for lvl in sorted(done[c].astype(str).unique())]
    if ax is None:
        fig, (top, bottom) = plt.subplots(
            2,
            1,
            figsize=(9, 3 + 0.22 * max(len(labels), 4)),
            sharex=True,
            gridspec_kw={"height_ratios": [2, max(1, 0.25 * len(labels))]},
        )
    else:
        top, bottom = ax
        fig = top.figure
    x = np.arange(len(done))
    scale = 100 if value == "rate" else 1
    top.fill_between(
        x, done[lo] * scale, done[hi] * scale, color="0.85", step="mid", label="95 % CI"
    )
    sns.scatterplot(
        x=x, y=done[value] * scale, ax=top, s=12, color="C0", edgecolor="none", label="estimate"
    )
    top.set_ylabel("success rate (%)" if value == "rate" else "risk difference")
    top.set_title(f"Specification curve: {len(done)} specifications")
    top.legend(loc="upper left", frameon=False)
    for row, (c, lvl) in enumerate(labels):
        on = (done[c].astype(str) == lvl).to_numpy()
        bottom.scatter(x[on], np.full(on.sum(), row), s=6, marker="|", color="0.2")
    bottom.set_yticks(range(len(labels)))
    bottom.set_yticklabels(
        [f"{c.replace('_', ' ')}: {lvl.replace('_', ' ')}" for c, lvl in labels], fontsize=7
    )
    bottom.set_ylim(-0.5, len(labels) - 0.5)
    bottom.invert_yaxis()
    bottom.set_xlabel("specification (sorted by estimate)")
    fig.alt_text = (
        f"Specification curve of {len(done)} specifications: estimates from "
        f"{done[value].min() * scale:.1f} to {done[value].max() * scale:.1f}"
        f"{' %' if value == 'rate' else ''}, sorted, with the analytic choices of each beneath."
    )
    return top, bottom
