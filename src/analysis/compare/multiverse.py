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

from analysis.outcomes.rules import MISSING_STRATEGY_LABELS, post_label
from analysis.registry.instruments import CUTOFF_TYPE_LABELS
from analysis.registry.paths import CONFIG_DIR

__all__ = [
    "CHOICES",
    "DEFAULT_GRID",
    "POPULATION_LABELS",
    "level_label",
    "load_grid",
    "expand_grid",
    "run_multiverse",
    "decompose_spread",
    "specification_curve",
    "matching_specifications",
]

#: The dimensions of a specification, in the order of the grid file and the output columns.
CHOICES = ("definition", "cutoff_type", "reliability", "missing", "post", "population")
DEFAULT_GRID = CONFIG_DIR / "multiverse.yaml"
_POPULATIONS = ("all", "finished", "severe", "chronic")
#: How a report names each population of the grid (what each counts: :func:`run_multiverse`).
POPULATION_LABELS = {
    "all": "all clients",
    "finished": "finished courses",
    "severe": "severe at baseline",
    "chronic": "chronic presentation",
}
#: The missing-data levels of the grid: the engine's strategies and multiple imputation.
_MISSING_LEVEL_LABELS = {**MISSING_STRATEGY_LABELS, "multiple_imputation": "multiple imputation"}
_CUTOFF_RULES = ("clinically_significant",)
_RCI_RULES = ("reliable_change", "clinically_significant")
_NA = "n/a"


def level_label(choice: str, value) -> str | None:
    """A level of one choice of the grid as a report names it; None for a value without a label.

    Parameters
    ----------
    choice : str
        One of :data:`CHOICES` other than ``definition`` (whose labels are the definitions
        file's): ``cutoff_type``, ``missing``, ``post``, ``population``; ``reliability`` and
        unknown choices give None.
    value : object
        The level (``"n/a"``, a choice that does not enter the definition, gives None).

    Examples
    --------
    >>> level_label("missing", "multiple_imputation"), level_label("population", "severe")
    ('multiple imputation', 'severe at baseline')
    >>> level_label("post", "last"), level_label("cutoff_type", "default")
    ('the last score observed after baseline', 'registry default')
    >>> level_label("reliability", 0.9) is None, level_label("missing", "n/a") is None
    (True, True)
    """
    if choice == "post" and str(value) != _NA:
        return post_label(value)
    labels = {
        "cutoff_type": CUTOFF_TYPE_LABELS,
        "missing": _MISSING_LEVEL_LABELS,
        "population": POPULATION_LABELS,
    }.get(choice, {})
    return labels.get(str(value))


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
        Naming the file and the key: an unknown choice or option, an empty list, a level that
        is not a value of its choice (an unknown missing-data strategy, cutoff type or population,
        a reliability outside (0, 1), a post rule that is neither "last" nor a number), an
        option of the wrong type (``imputations`` below 2, ``alpha`` outside (0, 1)).

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
            try:
                raw = yaml.safe_load(fh) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"{where}: not valid YAML: {exc}") from None
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where}: expected a mapping with 'grid' and 'options'")
    unknown_top = sorted(set(map(str, raw)) - {"grid", "options"})
    if unknown_top:
        raise ValueError(f"{where}: unknown key(s) {unknown_top}; allowed: grid, options")
    levels = dict(default["grid"])
    given = raw.get("grid") or {}
    if not isinstance(given, Mapping):
        raise ValueError(f"{where}: grid must be a mapping of choice -> levels, got {given!r}")
    given = dict(given)
    if "definition" in given:  # singular as in the output column; the file says "definitions"
        if "definitions" in given:
            raise ValueError(f"{where}: give grid.definitions once (also given as 'definition')")
        given["definitions"] = given.pop("definition")
    allowed = ["definitions", *CHOICES[1:]]
    unknown = sorted(set(map(str, given)) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown choice(s) {unknown}; allowed: {allowed}")
    for key, value in given.items():
        if isinstance(value, str) and key in ("definitions", "reliability"):
            levels[key] = value
        elif isinstance(value, (list, tuple)) and len(value) > 0:
            levels[key] = list(value)
        else:
            raise ValueError(f"{where}: grid.{key} must be a non-empty list, got {value!r}")
    _check_levels(levels, where)
    given_opt = raw.get("options") or {}
    if not isinstance(given_opt, Mapping):
        raise ValueError(f"{where}: options must be a mapping, got {given_opt!r}")
    options = {**default["options"], **given_opt}
    unknown_opt = sorted(set(options) - set(default["options"]))
    if unknown_opt:
        raise ValueError(
            f"{where}: unknown option(s) {unknown_opt}; allowed: {sorted(default['options'])}"
        )
    _check_options(options, where)
    return {"grid": levels, "options": options}


_MISSING_LEVELS = (
    "last_available",
    "locf",
    "bocf",
    "completers",
    "dropout_as_failure",
    "multiple_imputation",
)
_CUTOFF_LEVELS = ("default", "published", "instrument", "a", "b", "c")  # resolve_cutoff


def _check_levels(levels: dict, where: str) -> None:
    """Every level a valid value of its choice; the error names the file, key and value."""
    d = levels["definitions"]
    if isinstance(d, str):
        if d != "headline":
            raise ValueError(f"{where}: grid.definitions must be 'headline' or a list, got {d!r}")
    elif not all(isinstance(x, str) and x for x in d):
        raise ValueError(f"{where}: grid.definitions must list definition names, got {d!r}")
    rel = levels["reliability"]
    if isinstance(rel, str):
        if rel != "registry":
            raise ValueError(
                f"{where}: grid.reliability must be 'registry' or a list of numbers, got {rel!r}"
            )
    else:
        for v in rel:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1
            if not ok:
                raise ValueError(
                    f"{where}: grid.reliability: {v!r} is not a reliability strictly between 0 "
                    "and 1 (Jacobson & Truax 1991: r = 1 gives no standard error of difference)"
                )
    checks = (
        ("missing", _MISSING_LEVELS),
        ("cutoff_type", _CUTOFF_LEVELS),
        ("population", _POPULATIONS),
    )
    for key, allowed in checks:
        bad = [v for v in levels[key] if v not in allowed]
        if bad:
            raise ValueError(f"{where}: grid.{key}: {bad} unknown; allowed: {list(allowed)}")
    for v in levels["post"]:
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
        if v != "last" and not number:
            raise ValueError(
                f"{where}: grid.post: {v!r} must be 'last' or a time point (a number, in the "
                "run's time unit)"
            )


def _check_options(options: dict, where: str) -> None:
    def integer(key, lowest):
        v = options[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < lowest:
            raise ValueError(f"{where}: options.{key} must be an integer >= {lowest}, got {v!r}")

    integer("imputations", 2)
    integer("seed", 0)
    integer("pmm_donors", 1)
    a = options["alpha"]
    if isinstance(a, bool) or not isinstance(a, (int, float)) or not 0 < a < 1:
        raise ValueError(f"{where}: options.alpha must be between 0 and 1, got {a!r}")


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
        Validated definitions (:func:`analysis.registry.definitions.load_definitions`),
        ``"{measure}"``
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

    Examples
    --------
    Two definitions on the PHQ-9 of the bundled simulated cohort: remission uses neither a
    cutoff type nor an RCI (one specification per population); clinically significant change
    takes J&T cutoffs a and c and the registry's two PHQ-9 reliabilities (0.89, 0.84). Without
    a ``chronic`` column in the client table the chronic population cannot be computed:

    >>> from analysis import load_dataset, load_definitions, load_registry
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> registry = load_registry()
    >>> definitions = load_definitions(measure="phq9", registry=registry)
    >>> grid = load_grid({"grid": {"definitions": ["remission", "clinically_significant"],
    ...                            "cutoff_type": ["a", "c"], "missing": ["locf"],
    ...                            "population": ["all", "chronic"]}})
    >>> specs = expand_grid(grid, definitions, registry, cohort.clients.drop(columns="chronic"),
    ...                     set(cohort.scores["measure"]), measure="phq9")
    >>> specs[["spec", "definition", "cutoff_type", "reliability", "population", "computable"]]
       spec              definition cutoff_type reliability population  computable
    0     1               remission         n/a         n/a        all        True
    1     2               remission         n/a         n/a    chronic       False
    2     3  clinically_significant           a        0.89        all        True
    3     4  clinically_significant           a        0.89    chronic       False
    4     5  clinically_significant           a        0.84        all        True
    5     6  clinically_significant           a        0.84    chronic       False
    6     7  clinically_significant           c        0.89        all        True
    7     8  clinically_significant           c        0.89    chronic       False
    8     9  clinically_significant           c        0.84        all        True
    9    10  clinically_significant           c        0.84    chronic       False
    >>> specs.loc[1, "reason"]
    "no chronicity recorded (client column 'chronic')"
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
        shown = ins.label if ins is not None else d.get("measure")  # reasons reach the report
        if d.get("measure") and present is not None and d["measure"] not in present:
            reason_def = f"measure {shown} not in the data"
        if d["rule"] in _CUTOFF_RULES:
            cut_levels = []
            for c in levels["cutoff_type"]:
                why = ""
                if c == "c" and not ((ins.norms or {}).get("functional") if ins else None):
                    why = f"cutoff c needs functional norms, which {shown} lacks"
                if c == "b" and not ((ins.norms or {}).get("functional") if ins else None):
                    why = f"cutoff b needs functional norms, which {shown} lacks"
                if c == "published" and (ins is None or ins.cutoff is None):
                    why = f"{shown} has no clinical cutoff in the registry"
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
                why = (
                    f"the primary measure {primary.label if primary else measure} has no severity "
                    "bands in the registry"
                )
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
        "n_met_other": x1,
        "n_evaluable_other": n1,
        "n_met_ref": x2,
        "n_evaluable_ref": n2,
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
    members: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
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
        The definitions engine (default :func:`analysis.outcomes.engine.score_definitions`); a test
        may pass a stand-in with the same signature.
    scheduler : None, "local", str or distributed.Client
        None (default) computes in this process. ``"local"`` runs the blocks of specifications
        (one per missing-data strategy and post rule) on a local Dask cluster of two worker
        processes; a string such as ``"tcp://10.0.0.5:8786"`` uses an existing Dask scheduler;
        a ``distributed.Client`` is used as it is. Results are identical to the in-process run.
    members : bool
        Also return the clients behind every count (for disclosure control: a report that shows
        these counts audits them with the run's other counts,
        :func:`analysis.run.workflow.multiverse_disclosure`).

    Returns
    -------
    pandas.DataFrame
        ``multiverse.csv``: one row per specification, the choice columns of
        :func:`expand_grid`, then ``n_evaluable``, ``n_met``, ``rate`` (proportion met among
        evaluable clients), ``ci_low``, ``ci_high`` (95 % Wilson; Rubin's rules under multiple
        imputation), ``arm_comparison`` ("B vs A": the second arm against the first),
        ``n_met_other``, ``n_evaluable_other``, ``n_met_ref``, ``n_evaluable_ref`` (the counts
        per arm; under multiple imputation their means over the imputations, rounded),
        ``risk_difference``, ``rd_ci_low``, ``rd_ci_high`` (Newcombe), ``odds_ratio``,
        ``or_ci_low``, ``or_ci_high`` (logit), ``arm_note``,
        ``computable`` and ``reason`` ("not computed: ..." where the data cannot support it).
        Counts are clients; rates, intervals and the risk difference are proportions (0-1).
    (pandas.DataFrame, pandas.DataFrame, pandas.DataFrame)
        With ``members=True``: the table above; the distinct client sets behind its counts
        (indexed by client id, one boolean column per distinct set, named after the first
        specification that counts it, ``"multiverse <spec>: met"``, ``"... : evaluable"``, per
        arm ``"... | <arm>"``); and, indexed like the table, per count column (``n_met``,
        ``n_evaluable``, ``n_met_other``, ...) the name of its set, or None where a count is
        zero, not computed, or not the size of one set (under multiple imputation a count that
        differs between imputations is a rounded mean, not a number of clients).

    Raises
    ------
    ValueError
        For an invalid grid (:func:`load_grid`, naming the key) or definitions file, or a grid
        that names a definition the definitions file lacks (:func:`expand_grid`).

    Notes
    -----
    Per specification, ``rate = n_met / n_evaluable`` with Wilson's score interval (Wilson 1927;
    :func:`analysis.compare.prevalence.wilson_interval`). The arm difference is
    ``p_other - p_ref`` with Newcombe's hybrid score interval (Newcombe 1998, method 10;
    statsmodels ``confint_proportions_2indep(method="newcomb")``) and the odds ratio
    ``(x1 / (n1 - x1)) / (x2 / (n2 - x2))`` with the logit (Woolf) interval. Under multiple
    imputation the rate, the risk difference and the log odds ratio are pooled over the
    imputations with Rubin's rules (Rubin 1987; :func:`analysis.outcomes.imputation.rubin_pool`,
    with Barnard & Rubin's 1999 degrees of freedom for the rate), each imputation's variance the
    binomial (Wald) one. The multiverse itself follows Steegen et
    al. (2016) and Simonsohn, Simmons & Nelson (2020).

    References
    ----------
    Steegen S., Tuerlinckx F., Gelman A. & Vanpaemel W. (2016) Increasing transparency through a
    multiverse analysis. Perspect Psychol Sci 11(5):702-712.
    Simonsohn U., Simmons J.P. & Nelson L.D. (2020) Specification curve analysis. Nat Hum Behav
    4:1208-1214.
    Wilson E.B. (1927) Probable inference, the law of succession, and statistical inference.
    J Am Stat Assoc 22(158):209-212.
    Newcombe R.G. (1998) Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Stat Med 17(8):873-890.
    Woolf B. (1955) On estimating the relation between blood group and disease. Ann Hum Genet
    19(4):251-253.
    Rubin D.B. (1987) Multiple Imputation for Nonresponse in Surveys. New York: Wiley.
    Barnard J. & Rubin D.B. (1999) Small-sample degrees of freedom with multiple imputation.
    Biometrika 86(4):948-955.

    Examples
    --------
    A small grid on the bundled simulated cohort (60 clients, PHQ-9): two definitions, J&T cutoffs
    a and c, one reliability, two missing-data strategies, everyone or the severe at baseline.
    Remission uses no cutoff and no RCI, so it has one specification per strategy and population
    (cutoff "n/a"), clinically significant change one per cutoff too: 4 + 8 = 12.

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> grid = {"grid": {"definitions": ["remission", "clinically_significant"],
    ...                  "cutoff_type": ["a", "c"], "reliability": [0.84],
    ...                  "missing": ["locf", "bocf"], "population": ["all", "severe"]}}
    >>> mv = run_multiverse(cohort, grid, measure="phq9")
    >>> choices = ["definition", "cutoff_type", "missing", "population"]
    >>> print(mv[[*choices, "n_met", "n_evaluable", "rate"]].round(3).to_string())
                    definition cutoff_type missing population  n_met  n_evaluable   rate
    0                remission         n/a    locf        all     13           55  0.236
    1                remission         n/a    locf     severe      3           23  0.130
    2                remission         n/a    bocf        all     13           55  0.236
    3                remission         n/a    bocf     severe      3           23  0.130
    4   clinically_significant           a    locf        all     20           60  0.333
    5   clinically_significant           a    locf     severe      5           23  0.217
    6   clinically_significant           a    bocf        all     18           60  0.300
    7   clinically_significant           a    bocf     severe      5           23  0.217
    8   clinically_significant           c    locf        all     22           60  0.367
    9   clinically_significant           c    locf     severe      8           23  0.348
    10  clinically_significant           c    bocf        all     20           60  0.333
    11  clinically_significant           c    bocf     severe      8           23  0.348

    The arm difference of the first specification: 6 of 30 in arm B against 7 of 25 in arm A,
    0.200 - 0.280 = -0.080:

    >>> first = mv.iloc[0]
    >>> print(first["arm_comparison"], first["n_met_other"], first["n_evaluable_other"],
    ...       first["n_met_ref"], first["n_evaluable_ref"])
    B vs A 6 30 7 25
    >>> print(f"{first['risk_difference']:.3f} ({first['rd_ci_low']:.3f} to "
    ...       f"{first['rd_ci_high']:.3f})")
    -0.080 (-0.302 to 0.141)

    The clients behind the counts: the evaluable clients of specifications 1 and 3 (LOCF and
    BOCF, everyone) are one set, 55 clients, named after specification 1:

    >>> mv, sets, cells = run_multiverse(cohort, grid, measure="phq9", members=True)
    >>> cells.loc[[0, 2], "n_evaluable"].tolist(), int(sets["multiverse 1: evaluable"].sum())
    (['multiverse 1: evaluable', 'multiverse 1: evaluable'], 55)
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
    by_name = {d["name"]: d for d in defs}
    in_grid = [by_name[n] for n in pd.unique(specs["definition"])] if len(specs) else []
    in_grid += _needed_parts(in_grid, by_name)
    cohort = _only_measures(cohort, _measures_named(in_grid, measures) | {measure})
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
        members=members,
    )
    if scheduler is None:
        for missing, post, block in jobs:
            results.update(_run_block(missing, post, block, **shared))
    else:
        for part in _on_dask(jobs, shared, scheduler):
            results.update(part)
    rows, packed = [], []
    for _, r in specs.iterrows():
        res = dict(results.get(r["spec"], {}))
        packed.append(res.pop("_sets", {}))
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
    out = out[front + rest]
    if not members:
        return out
    sets, cells = _named_sets(out, packed, ids, arm)
    return out, sets, cells


#: The count columns of a specification: (what is counted, which arm: None, "other" or "ref").
SET_COUNTS = {
    "n_met": ("met", None),
    "n_evaluable": ("evaluable", None),
    "n_met_other": ("met", "other"),
    "n_evaluable_other": ("evaluable", "other"),
    "n_met_ref": ("met", "ref"),
    "n_evaluable_ref": ("evaluable", "ref"),
}


def _spec_sets(todo, status, masks, arm) -> dict[int, dict[str, bytes | None]]:
    """Per specification, the clients behind each count as packed bits (None: no exact set).

    ``status`` holds one coded status table per imputation (one without imputation); a count is
    the size of one set only where every imputation gives the same clients.
    """
    side_mask = {None: None}
    if arm is not None:
        labels, ref, other = arm
        side_mask = {None: None, "other": labels == other, "ref": labels == ref}
    out: dict[int, dict[str, bytes | None]] = {}
    for spec, key, pop in todo:
        per = [_met_evaluable(st[key], masks[pop]) for st in status]
        # the pooled met count is the pooled rate times the mean evaluable count: one set's
        # size only where the evaluable clients are the same in every imputation too
        same_ev = all(np.array_equal(per[0][1], ev) for _, ev in per[1:])
        sets: dict[str, bytes | None] = {}
        for col, (kind, side) in SET_COUNTS.items():
            if side not in side_mask:
                continue
            arrays = [met if kind == "met" else ev for met, ev in per]
            if side_mask[side] is not None:
                arrays = [a & side_mask[side] for a in arrays]
            first = arrays[0]
            exact = all(np.array_equal(first, a) for a in arrays[1:])
            exact &= same_ev or side is not None or kind == "evaluable"
            sets[col] = np.packbits(first).tobytes() if exact and first.any() else None
        out[int(spec)] = sets
    return out


def _named_sets(out: pd.DataFrame, packed: list[dict], ids, arm) -> tuple:
    """Return the distinct sets of ``packed`` (one dict per row) as a membership table.

    And, per row and count column, the name of its set (see :func:`run_multiverse`,
    ``members``).
    """
    n = len(ids)
    side_name = {None: ""}
    if arm is not None:
        side_name = {None: "", "other": f" | {arm[2]}", "ref": f" | {arm[1]}"}
    names: dict[bytes, str] = {}
    columns: dict[str, np.ndarray] = {}
    cols = [c for c in SET_COUNTS if SET_COUNTS[c][1] in side_name]
    cells = {c: [] for c in cols}
    for spec, sets in zip(out["spec"], packed, strict=True):
        for c in cols:
            bits = sets.get(c)
            if bits is None:
                cells[c].append(None)
                continue
            if bits not in names:
                kind, side = SET_COUNTS[c]
                name = f"multiverse {spec}: {kind}{side_name[side]}"
                names[bits] = name
                columns[name] = np.unpackbits(np.frombuffer(bits, np.uint8))[:n].astype(bool)
            cells[c].append(names[bits])
    sets = pd.DataFrame(columns, index=pd.Index(ids, name="id"))
    return sets, pd.DataFrame(cells, index=out.index, dtype=object)


def _measures_named(defs: list[dict], present: set[str]) -> set[str]:
    """Collect every measure of the data that a definition names anywhere.

    Its measure, the NHS rule's depression and anxiety measures, a composite's parts through their
    own definitions: any text value of a definition that is a measure code of the data, plus the
    NHS rule's defaults.
    """
    found: set[str] = set()

    def walk(v):
        if isinstance(v, str):
            if v in present:
                found.add(v)
        elif isinstance(v, Mapping):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    for d in defs:
        walk(d)
        if d.get("rule") == "nhs":  # analysis.outcomes.rules.rule_nhs reads these by default
            found |= {d.get("depression", "phq9"), d.get("anxiety", "gad7")} & present
    return found


def _only_measures(cohort, keep: set):
    """Keep only the score rows of the measures the grid's definitions use.

    The engine then reads and indexes fewer rows; every definition's outcome is unchanged, which
    tests/test_multiverse.py checks against the full cohort.
    """
    s = cohort.scores
    rows = s["measure"].isin(sorted(m for m in keep if m))
    if bool(rows.all()):
        return cohort
    return cohort.with_scores(s.loc[rows].reset_index(drop=True))


def _needed_parts(variants: list[dict], by_name: dict[str, dict]) -> list[dict]:
    """Find the definitions that composites among ``variants`` refer to (transitively).

    Only those: the engine scores nothing the grid does not use.
    """
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
    """Code the status per definition as small integer arrays in the client table's order.

    1 met, 0 not met, -1 not evaluable or absent: one indexing of the whole table, no wide pivot.
    """
    status = outcomes["status"].to_numpy()
    code = np.where(status == "met", 1, np.where(status == "not_met", 0, -1)).astype(np.int8)
    n, out_ids = len(ids), outcomes["id"].to_numpy()
    if n and len(out_ids) % n == 0:  # the engine's usual layout: one block per definition, in
        k = len(out_ids) // n  # the client table's order (checked, else the general path)
        names = outcomes["definition"].to_numpy()
        firsts = names[::n]
        same_ids = bool((out_ids.reshape(k, n) == np.asarray(ids)[None, :]).all())
        if same_ids and bool((names.reshape(k, n) == firsts[:, None]).all()):
            if len(set(firsts)) == k:
                return {name: code[i * n : (i + 1) * n] for i, name in enumerate(firsts)}
    pos = pd.Index(ids).get_indexer(outcomes["id"])
    out = {}
    for name, idx in outcomes.groupby("definition", sort=False, observed=True).indices.items():
        arr = np.full(len(ids), -1, np.int8)
        p = pos[idx]
        ok = p >= 0
        arr[p[ok]] = code[idx][ok]
        out[name] = arr
    return out


def _run_block(
    missing,
    post,
    block,
    *,
    cohort,
    defs,
    measure,
    registry,
    score,
    grid,
    masks,
    arm,
    alpha,
    ids,
    members=False,
) -> dict[int, dict]:
    """Every specification sharing one missing-data strategy and post rule: one engine call.

    With ``members``, each computed specification's entry also holds ``"_sets"``: the clients
    behind its counts (:func:`_spec_sets`).
    """
    by_name = {d["name"]: d for d in defs}
    variants = _variants(block, by_name)
    parts = _needed_parts(variants, by_name)
    results: dict[int, dict] = {}
    if missing == "multiple_imputation":
        try:
            blocks = _score_imputed(cohort, parts + variants, measure, post, registry, score, grid)
        except ValueError as exc:
            # the reason reaches reviewers: without the function's name
            why = str(exc).removeprefix("impute_post: ")
            why = f"not computed: multiple imputation: {why}"
            return {s: {"reason": why} for s in block["spec"]}
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
    todo = []
    for _, r in block.iterrows():
        key = _variant_name(r)
        if key not in status[0]:
            why = skipped.get(key, "the engine did not score it")
            results[r["spec"]] = {"reason": f"not computed: {why}"}
        else:
            todo.append((r["spec"], key, r["population"]))
    if not todo:
        return results
    if len(status) > 1:  # multiple imputation: per imputation, pooled with Rubin's rules
        for spec, key, pop in todo:
            mask = masks[pop]
            per_imp = [_met_evaluable(st[key], mask) for st in status]
            results[spec] = _summarise(per_imp, arm, alpha)
    else:
        results.update(_summarise_counts(_block_counts(todo, status[0], masks, arm), arm, alpha))
    if members:
        for spec, sets in _spec_sets(todo, status, masks, arm).items():
            if not results[spec].get("reason"):
                results[spec]["_sets"] = sets
    return results


def _met_evaluable(s: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    if s.dtype == object:  # statuses as text
        met = s == "met"
        ev = met | (s == "not_met")
    else:  # codes of _status_by_definition
        met, ev = s == 1, s >= 0
    if mask is not None:
        met, ev = met & mask, ev & mask
    return met, ev


def _block_counts(todo, status, masks, arm) -> pd.DataFrame:
    """Count met and evaluable clients for every specification of a block.

    Each variant's statuses are read once and counted in every population (and arm) at once, as
    one product with the 0/1 masks.
    """
    pops = list(dict.fromkeys(pop for _, _, pop in todo))
    pop_matrix = np.stack([masks[p] for p in pops]).astype(np.float64)  # populations x clients
    at = {p: i for i, p in enumerate(pops)}
    if arm is not None:
        labels, ref, other = arm
        in_other, in_ref = labels == other, labels == ref
    per_key: dict[str, np.ndarray] = {}
    rows = []
    for spec, key, pop in todo:
        if key not in per_key:
            met, ev = _met_evaluable(status[key])
            cols = [met, ev]
            if arm is not None:
                cols += [met & in_other, ev & in_other, met & in_ref, ev & in_ref]
            per_key[key] = np.rint(pop_matrix @ np.stack(cols, axis=1).astype(np.float64))
        rows.append((spec, *per_key[key][at[pop]]))
    names = ["spec", "n_met", "n_evaluable"]
    if arm is not None:
        names += ["n_met_other", "n_evaluable_other", "n_met_ref", "n_evaluable_ref"]
    out = pd.DataFrame(rows, columns=names)
    for c in names[1:]:
        out[c] = out[c].astype(np.int64)
    return out


def _summarise_counts(counts: pd.DataFrame, arm, alpha: float) -> dict[int, dict]:
    """Compute rates with Wilson intervals and the arm difference for many specifications.

    The arm difference has Newcombe and logit intervals; the values are those of
    :func:`_rate_row` and :func:`_arm_row`, which statsmodels computes elementwise.
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    from analysis.compare.prevalence import wilson_interval

    x, n = counts["n_met"].to_numpy(), counts["n_evaluable"].to_numpy()
    ok = n > 0
    rate = np.where(ok, x / np.where(ok, n, 1), np.nan)
    lo, hi = wilson_interval(x, np.where(ok, n, 1), alpha=alpha)
    out = pd.DataFrame(
        {
            "n_evaluable": n,
            "n_met": np.where(ok, x, 0),
            "rate": rate,
            # Wilson's bounds enclose p; the clip removes rounding (1e-17 above 0 at p = 0)
            "ci_low": np.where(ok, np.minimum(lo, rate), np.nan),
            "ci_high": np.where(ok, np.maximum(hi, rate), np.nan),
        }
    )
    if arm is not None:
        _, ref, other = arm
        x1, n1 = counts["n_met_other"].to_numpy(), counts["n_evaluable_other"].to_numpy()
        x2, n2 = counts["n_met_ref"].to_numpy(), counts["n_evaluable_ref"].to_numpy()
        both = (n1 > 0) & (n2 > 0)
        cells = both & (x1 > 0) & (x1 < n1) & (x2 > 0) & (x2 < n2)
        x1s, x2s = np.where(both, x1, 0), np.where(both, x2, 0)
        n1s, n2s = np.where(both, n1, 1), np.where(both, n2, 1)
        rd = np.where(both, x1s / n1s - x2s / n2s, np.nan)
        rd_lo, rd_hi = confint_proportions_2indep(
            x1s, n1s, x2s, n2s, method="newcomb", compare="diff", alpha=alpha
        )
        # cells with a zero: any stand-in values keep the vectorised call finite; masked below
        c1, c2 = np.where(cells, x1, 1), np.where(cells, x2, 1)
        m1, m2 = np.where(cells, n1, 2), np.where(cells, n2, 2)
        or_lo, or_hi = confint_proportions_2indep(
            c1, m1, c2, m2, method="logit", compare="odds-ratio", alpha=alpha
        )
        odds = (c1 / (m1 - c1)) / (c2 / (m2 - c2))
        note = np.where(
            ~both,
            "not computed: an arm has no evaluable client",
            np.where(~cells, "odds ratio not computed: a cell of the 2 x 2 table is empty", ""),
        )
        out = out.assign(
            arm_comparison=f"{other} vs {ref}",
            n_met_other=x1,
            n_evaluable_other=n1,
            n_met_ref=x2,
            n_evaluable_ref=n2,
            risk_difference=rd,
            rd_ci_low=np.where(both, rd_lo, np.nan),
            rd_ci_high=np.where(both, rd_hi, np.nan),
            odds_ratio=np.where(cells, odds, np.nan),
            or_ci_low=np.where(cells, or_lo, np.nan),
            or_ci_high=np.where(cells, or_hi, np.nan),
            arm_note=note,
        )
    records = out.to_dict("records")
    return {int(s): _plain_row(r) for s, r in zip(counts["spec"], records, strict=True)}


def _plain_row(row: dict) -> dict:
    """Python scalars, as the per-specification path gives (so both paths compare equal)."""
    out = {}
    for k, v in row.items():
        if isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.floating):
            v = float(v)
        out[k] = v
    return out


def _on_dask(jobs, shared, scheduler):
    """Run the blocks on Dask distributed.

    ``"local"`` starts a local cluster (one process per core), anything else is a scheduler
    address (``tcp://host:8786``) or a ``Client``.
    """
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
        counts = np.array(
            [
                [(met & ev & (labels == other)).sum(), (ev & (labels == other)).sum()]
                + [(met & ev & (labels == ref)).sum(), (ev & (labels == ref)).sum()]
                for met, ev in per_imp
            ],
            float,
        ).mean(axis=0)
        row.update(
            zip(
                ("n_met_other", "n_evaluable_other", "n_met_ref", "n_evaluable_ref"),
                (int(round(v)) for v in counts),
                strict=True,
            )
        )
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
    import warnings

    from statsmodels.tools.sm_exceptions import SingularMatrixWarning

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
        # the trajectory so far, without the post score itself: for a client whose post score is
        # observed, the score before it (the baseline when there is none between); for a client
        # whose post score is missing, the last observed score. Its time is a predictor too.
        before = rows.loc[rows.groupby("id").cumcount(ascending=False).to_numpy() == 1]
        before = before.set_index("id")
        prev_s = before["score"].reindex(ids).to_numpy(float)
        prev_t = before["time"].reindex(ids).to_numpy(float)
        prev_s = np.where(np.isnan(prev_s), base, prev_s)
        prev_t = np.where(np.isnan(prev_t), base_t, prev_t)
        frame[f"post{k}"] = post_v
        frame[f"base{k}"] = base
        frame[f"last{k}"] = np.where(miss, last_s, prev_s)
        frame[f"time{k}"] = np.where(miss, last_t, prev_t)
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
        ok = frame[[f"base{k}"]].notna().to_numpy().ravel()
        seen = ok & frame[f"post{k}"].notna().to_numpy()
        # a predictor constant among the clients with a post score cannot be estimated (e.g. the
        # time of the score before the post in a trial with fixed waves), and one equal to an
        # earlier one (two waves only: the score before the post is the baseline) adds nothing
        preds: list[str] = []
        for c in [f"base{k}", f"last{k}", f"time{k}", *arm_cols]:
            v = frame.loc[seen, c].to_numpy(float)
            dup = any(np.array_equal(v, frame.loc[seen, p].to_numpy(float), True) for p in preds)
            if frame.loc[seen, c].nunique(dropna=True) > 1 and not dup:
                preds.append(c)
        preds = preds or [f"base{k}"]
        with warnings.catch_warnings():
            # nearly collinear predictors: the fit uses the pseudo-inverse, the predicted means
            # that PMM matches on stay defined, and numpy draws the parameters from the
            # covariance through an SVD (its warning is about rounding below zero); statsmodels'
            # and numpy's warnings would only reach the report
            warnings.simplefilter("ignore", SingularMatrixWarning)
            warnings.filterwarnings("ignore", "covariance is not symmetric positive-semidefinite")
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


def specification_curve(
    results: pd.DataFrame,
    value: str = "rate",
    ax=None,
    describe: Callable[[str, Any], str] | None = None,
):
    """Draw the specification curve: estimates sorted, with the choices beneath.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`run_multiverse`.
    value : str
        Estimate to plot (``rate`` or ``risk_difference``, proportions), with
        ``ci_low``/``ci_high`` or ``rd_ci_low``/``rd_ci_high``. Drawn and described in percent
        (a rate) or percentage points (a risk difference).
    ax : sequence of two matplotlib Axes, optional
        Upper (curve) and lower (choice indicators) axes; created when None.
    describe : callable, optional
        ``(choice, level) -> text`` of each indicator row (a report passes
        :func:`analysis.report.multiverse_tables.choice_words`, which names a definition by its
        label); default: the choice in words and the level by :func:`level_label`.

    Returns
    -------
    tuple of matplotlib Axes
        (curve, indicators). The figure has a title and alt text (``fig.alt_text``).

    Raises
    ------
    ValueError
        If no specification was computed.

    Examples
    --------
    The specification curve of a small grid on the bundled simulated cohort (60 clients):

    >>> import matplotlib.pyplot as plt
    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> grid = {"grid": {"definitions": ["remission", "clinically_significant"],
    ...                  "cutoff_type": ["a", "c"], "reliability": [0.84],
    ...                  "missing": ["locf", "bocf"], "population": ["all", "severe"]}}
    >>> results = run_multiverse(cohort, grid, measure="phq9")
    >>> curve, indicators = specification_curve(results)
    >>> curve.get_title()
    'Specification curve: 12 specifications'
    >>> curve.figure.alt_text[:62]
    'Specification curve of 12 specifications: estimates from 13.0 '
    >>> plt.close(curve.figure)
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
    scale = 100  # a rate in %, a risk difference in percentage points
    top.fill_between(
        x, done[lo] * scale, done[hi] * scale, color="0.85", step="mid", label="95 % CI"
    )
    sns.scatterplot(
        x=x, y=done[value] * scale, ax=top, s=12, color="C0", edgecolor="none", label="estimate"
    )
    top.set_ylabel("success rate (%)" if value == "rate" else "risk difference (percentage points)")
    top.set_title(f"Specification curve: {len(done)} specifications")
    top.legend(loc="upper left", frameon=False)
    for row, (c, lvl) in enumerate(labels):
        on = (done[c].astype(str) == lvl).to_numpy()
        bottom.scatter(x[on], np.full(on.sum(), row), s=6, marker="|", color="0.2")
    bottom.set_yticks(range(len(labels)))
    if describe is None:

        def describe(c, lvl):
            return f"{c.replace('_', ' ')}: {level_label(c, lvl) or str(lvl).replace('_', ' ')}"

    bottom.set_yticklabels([describe(c, lvl) for c, lvl in labels], fontsize=7)
    bottom.set_ylim(-0.5, len(labels) - 0.5)
    bottom.invert_yaxis()
    bottom.set_xlabel("specification (sorted by estimate)")
    fig.alt_text = (
        f"Specification curve of {len(done)} specifications: estimates from "
        # round, then + 0.0: a value such as -0.04 is shown as 0.0, never "-0.0"
        f"{round(done[value].min() * scale, 1) + 0.0:.1f} to "
        f"{round(done[value].max() * scale, 1) + 0.0:.1f}"
        f"{' %' if value == 'rate' else ' percentage points'}, sorted, with the analytic "
        "choices of each beneath."
    )
    return top, bottom


def _same_post(a, b) -> bool:
    if str(a) == "last" or str(b) == "last":
        return str(a) == str(b)
    try:
        return abs(float(a) - float(b)) < 1e-9
    except (TypeError, ValueError):
        return False


def matching_specifications(
    results: pd.DataFrame,
    definitions: Iterable[Mapping],
    registry: Mapping | None = None,
    missing: str = "last_available",
    post: str | float = "last",
    population: str = "all",
) -> pd.DataFrame:
    """Pick the rows of a multiverse that a single run's choices make (at most one per definition).

    A run fixes each definition's cutoff type and reliability (its parameters applied to the
    primary measure by :func:`analysis.outcomes.engine.definitions_for_run`; other definitions keep
    their file's values, else the registry's reliability and cutoff), one missing-data strategy,
    one post rule and everyone counted: this picks those rows, so a report can show where the
    run's own answer lies in the multiverse.

    Parameters
    ----------
    results : pandas.DataFrame
        :func:`run_multiverse` (or ``multiverse.csv``).
    definitions : iterable of mapping
        The run's validated definitions.
    registry : mapping, optional
        Instrument registry, for a definition without its own reliability (default the
        package's).
    missing, post, population : str
        The run's missing-data strategy, post rule ("last" or a time point, as text or number)
        and population.

    Returns
    -------
    pandas.DataFrame
        The matching rows of ``results``, in its order (empty when the grid does not contain the
        run's choices).

    Examples
    --------
    >>> r = pd.DataFrame({"definition": ["response", "response"], "cutoff_type": "n/a",
    ...     "reliability": "n/a", "missing": ["locf", "bocf"], "post": "last",
    ...     "population": "all"})
    >>> d = [{"name": "response", "rule": "percentage_change", "measure": "phq9"}]
    >>> matching_specifications(r, d, missing="bocf")["missing"].tolist()
    ['bocf']
    """
    from analysis.registry.instruments import load_registry

    reg = registry if registry is not None else load_registry()
    keep = np.zeros(len(results), bool)
    rel_col = results["reliability"].astype(str).to_numpy()
    rel_num = pd.to_numeric(results["reliability"], errors="coerce").to_numpy(float)
    base = (
        (results["missing"].astype(str) == str(missing)).to_numpy()
        & (results["population"].astype(str) == population).to_numpy()
        & np.array([_same_post(p, post) for p in results["post"]], bool)
    )
    for d in definitions:
        ins = reg.get(d.get("measure") or "")
        row = base & (results["definition"].astype(str) == d["name"]).to_numpy()
        if d["rule"] in _CUTOFF_RULES:
            row &= (
                results["cutoff_type"].astype(str) == str(d.get("cutoff_type") or "default")
            ).to_numpy()
        if d["rule"] in _RCI_RULES:
            rel = d.get("reliability")
            if rel is None and ins is not None and ins.reliability is not None:
                rel = ins.reliability["value"]
            if rel is None:
                continue
            row &= np.abs(rel_num - float(rel)) < 1e-9
        else:
            row &= rel_col == _NA
        keep |= row
    return results.loc[keep]
