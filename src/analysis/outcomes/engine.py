"""Per-client outcome definitions: who counts as a success, and from when.

:func:`score_definitions` is the only producer of per-client outcomes in the package: it applies
every definition of a definitions file (rule kinds in :mod:`analysis.outcomes.rules`) under one
missing-data strategy and returns the tidy outcomes table (:data:`OUTCOME_COLUMNS`), one row per
client x definition. Every comparison (prevalence, agreement, time to success, alliance, the
methods comparison, the notebooks) reads that table.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.data.cohort import Cohort
from analysis.registry.instruments import CUTOFF_TYPES, Instrument, get_instrument, resolve_cutoff

__all__ = [
    "OUTCOME_COLUMNS",
    "STATUSES",
    "prepost",
    "definitions_for_run",
    "score_definitions",
    "score_outcomes",
    "change_table",
    "compare_methods",
]

#: The columns of the outcomes table, in order (documented in :func:`score_definitions`).
OUTCOME_COLUMNS = [
    "id",
    "definition",
    "family",
    "measures",
    "status",
    "reason",
    "baseline_time",
    "post_time",
    "baseline",
    "post",
    "change",
    "rci",
    "category",
    "first_met_time",
    "met_time",
]
STATUSES = ("met", "not_met", "not_evaluable")
_CATEGORY_LEVELS = ["recovered", "improved", "unchanged", "deteriorated", "harmed"]
_STATUS = np.array(STATUSES, dtype=object)
_CATEGORY_OBJ = np.array([*_CATEGORY_LEVELS, None], dtype=object)  # code -1 -> None
_EMPTY = np.array("", dtype=object)
# rules judged on the whole trajectory of assessments rather than a baseline and a post score
_TRAJECTORY_RULES = ("threshold_sustained", "growth", "rupture_repair", "flag_count")
_IMPUTED_FAIL = "no post score: counted as not met (dropout_as_failure)"
_COMPOSITE_RULES = ("any_of", "all_of", "k_of_n", "primary")
_TIME_COLUMNS = ("baseline_time", "post_time", "first_met_time", "met_time")


def _measures_of(d: dict) -> list[str]:
    """The measures a (non-composite) definition reads, its own measure first."""
    if d["rule"] == "nhs":
        return [d.get("depression", "phq9"), d.get("anxiety", "gad7")]
    return [d["measure"]] if "measure" in d else []


def _refs_of(d: dict) -> list[str]:
    """The definitions a composite reads (none for other rules)."""
    if d["rule"] not in _COMPOSITE_RULES:
        return []
    return list(d["of"]) if "of" in d else list(dict.fromkeys(d["map"].values()))


def _same_bits(narrow: np.ndarray, wide) -> bool:
    """Whether float32 ``narrow`` widened back holds every float64 value of ``wide`` bit for bit.

    Stricter than equality (-0.0 and NaN payloads included), and one pass of integer compares
    instead of ``array_equal(equal_nan=True)``'s several (10^6 clients: 0.1 instead of 0.8 s).

    Examples
    --------
    >>> _same_bits(np.array([1.0, np.nan], np.float32), np.array([1.0, np.nan]))
    True
    >>> _same_bits(np.array([0.1], np.float32), np.array([0.1]))
    False
    """
    back = np.asarray(narrow).astype(np.float64)
    wide = np.broadcast_to(np.asarray(wide, dtype=np.float64), back.shape)
    return bool((back.view(np.int64) == np.ascontiguousarray(wide).view(np.int64)).all())


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the operating system (glibc ``malloc_trim``).

    Arrays of 10^6 clients (8 MB) are allocated on the heap once glibc has raised its mmap
    threshold, and a freed one in the middle of the heap stays resident: at 10^6 clients about
    0.3 GB by the end of the engine's work. Called when a measure's views are freed; does
    nothing where the C library has no ``malloc_trim`` (macOS, Windows, musl).
    """
    global _MALLOC_TRIM
    if _MALLOC_TRIM is None:
        try:
            import ctypes

            _MALLOC_TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _MALLOC_TRIM = False
    if _MALLOC_TRIM:
        _MALLOC_TRIM(0)


_MALLOC_TRIM = None


def _time_dtype(scores: pd.DataFrame):
    """The dtype of the time columns: float32 where the cohort holds its times so, else float64.

    A compact read (:func:`analysis.data.store.read_cohort` with ``compact=True``) stores the
    times as float32 where that is lossless; every time of the outcomes table is one of the
    cohort's assessment times (or NaN), so it is exact in float32 too.

    Examples
    --------
    >>> _time_dtype(pd.DataFrame({"time": np.array([0.0, 1.0], np.float32)}))
    dtype('float32')
    >>> _time_dtype(pd.DataFrame({"time": [0, 1]}))
    dtype('float64')
    """
    if "time" in scores.columns and scores["time"].dtype == np.float32:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


# text columns of the outcomes table held as codes into their distinct values while the table is
# assembled (never one Python object per row): pandas Categoricals, or object arrays of shared
# strings with categorical=False
_STRING_COLUMNS = ("definition", "family", "measures", "reason")


class _StringColumn:
    """A text column of the outcomes table, block by block (one block per definition).

    Blocks may be added in any order (the engine scores definitions measure by measure, not in
    file order); each is placed by its slot, and the codes of the distinct values are assigned
    in slot order when the column is built, so that the categories are in order of first
    appearance in the table (every block's "" first) whatever order the blocks were added in.
    """

    def __init__(self) -> None:
        self.values: dict = {}  # distinct value -> code, in order of first appearance
        self.pieces: dict = {}  # slot -> (codes or None for a whole block, the block's values)

    def _code(self, value) -> int:
        return self.values.setdefault(value, len(self.values))

    def add(self, values, n: int, slot: int) -> None:
        if np.ndim(values) == 0:
            self.pieces[slot] = (None, [values.item() if hasattr(values, "item") else values])
            return
        arr = np.asarray(values, dtype=object)
        empty = arr == ""  # most rows (evaluable clients): no hashing of those
        rest = np.flatnonzero(~empty)
        local, found = pd.factorize(arr[rest], use_na_sentinel=False)
        # local code 0: "", held until the table is built in the narrowest integer type
        codes = np.zeros(n, dtype=np.int8 if len(found) < 127 else np.int32)
        codes[rest] = local + 1
        self.pieces[slot] = (codes, ["", *found])

    def drop(self, slot: int) -> None:
        self.pieces.pop(slot, None)

    def column(self, n: int, categorical: bool):
        # the codes of every block, in slot order (categories in order of first appearance)
        coded = []
        for slot in sorted(self.pieces):
            local, uniq = self.pieces.pop(slot)
            coded.append((local, [self._code(u) for u in uniq]))
        cats = list(self.values)
        # written straight into the narrowest integer type (no 4-byte copy of 10^7 codes)
        dtype = np.int8 if len(cats) < 2**7 else np.int16 if len(cats) < 2**15 else np.int32
        codes = np.empty(n * len(coded), dtype=dtype)
        for k, (local, glob) in enumerate(coded):
            table = np.array(glob, dtype=dtype)
            codes[k * n : (k + 1) * n] = table[0] if local is None else table[local]
            coded[k] = None  # the block's codes: freed as they are copied
        if categorical:
            return pd.Categorical.from_codes(codes, categories=cats, validate=False)
        table = np.empty(len(cats), dtype=object)
        table[:] = cats
        return table[codes]


def _id_column(ids: pd.Index, n_blocks: int, categorical: bool):
    """The ``id`` column: the client ids repeated once per definition block."""
    pos = np.tile(np.arange(len(ids), dtype=np.int32), n_blocks)
    if categorical and ids.is_unique and not ids.hasnans:
        # categories without the index's name: a Parquet round trip (the run's data cache)
        # gives the column back unchanged
        return pd.Categorical.from_codes(pos, categories=ids.rename(None), validate=False)
    return ids.to_numpy()[pos]


def _category_codes(category) -> np.ndarray:
    """Codes of a J&T category column in ``_CATEGORY_LEVELS`` (-1: missing or another value).

    As ``pd.Categorical(category, categories=_CATEGORY_LEVELS).codes``, by one factorisation
    and a lookup of the few distinct values.
    """
    local, uniq = pd.factorize(np.asarray(category, dtype=object))  # missing: -1
    levels = {c: i for i, c in enumerate(_CATEGORY_LEVELS)}
    table = np.array([levels.get(u, -1) for u in uniq] + [-1], dtype=np.int8)
    return table[local]  # -1 picks the last entry (-1)


def _status_code(status: np.ndarray) -> np.ndarray:
    return np.select([status == "met", status == "not_met"], [0, 1], 2)


def prepost(
    scores: pd.DataFrame,
    clients: pd.DataFrame,
    measure: str,
    post: str | float = "last",
    missing: str = "last_available",
    registry: dict[str, Instrument] | None = None,
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
    missing : str
        Missing-data strategy, one of :data:`analysis.outcomes.rules.MISSING_STRATEGIES` (see
        :class:`analysis.outcomes.rules.Trajectories`).
    registry : dict, optional
        Instrument registry (default :func:`analysis.registry.instruments.load_registry`).

    Returns
    -------
    pandas.DataFrame
        One row per client (client-table order): ``id``, ``baseline`` (the score at the client's
        first assessment of the measure), ``post`` (points; NaN when absent), ``baseline_time``,
        ``post_time`` (time of the score used as post), ``n_timepoints`` (observed scores),
        ``reason`` ("" when both scores exist, else why not).

    Raises
    ------
    ValueError
        If the measure has no rows, or ``post`` is neither "last" nor a time in the data.

    Examples
    --------
    >>> from analysis.data.simulate import simulate_cohort
    >>> c = simulate_cohort(n_clients=20, seed=1)
    >>> list(prepost(c.scores, c.clients, "phq9").columns)[:3]
    ['id', 'baseline', 'post']
    """
    from analysis.outcomes.rules import Trajectories
    from analysis.registry.instruments import load_registry

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
    reg = registry if registry is not None else load_registry()
    m = Trajectories(scores, clients, reg, missing=missing, post=post).measure(measure)
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


def definitions_for_run(
    measure: str,
    definitions=None,
    reliability: float | None = None,
    cutoff_type: str | None = None,
    m_functional: float | None = None,
    sd_functional: float | None = None,
    significance_level: float | None = None,
    registry: dict[str, Instrument] | None = None,
) -> list[dict]:
    """The validated definitions of a run, with the run's parameters applied to its primary measure.

    The reliability, J&T cutoff type and functional norms given for a run govern the reliable
    change and clinically significant definitions on the primary measure; every other definition
    keeps what its file says.

    Parameters
    ----------
    measure : str
        Primary outcome measure (registry code), substituted for ``"{measure}"``.
    definitions : path, list of dict or None
        A definitions YAML file, already validated definitions, or None for the package default.
    reliability : float, optional
        Reliability (0-1) for the RCI on the primary measure; default the registry's.
    cutoff_type : {"default", "published", "instrument", "a", "b", "c"}, optional
        J&T cutoff for clinically significant change on the primary measure (default: the file's;
        values as :func:`analysis.registry.instruments.resolve_cutoff`).
    m_functional, sd_functional : float, optional
        Functional population mean and SD (points) for cutoffs b and c.
    significance_level : float, optional
        Two-sided level of the reliable change criterion (default: the file's, else 0.05).
    registry : dict, optional
        Instrument registry.

    Returns
    -------
    list of dict
        Validated definitions (copies; the file is not changed).

    Raises
    ------
    ValueError
        For an invalid definitions file (naming the definition and key).

    Examples
    --------
    >>> defs = definitions_for_run("phq9", reliability=0.84)
    >>> [d["reliability"] for d in defs if d["name"] == "reliable_improvement"]
    [0.84]
    """
    from analysis.registry.definitions import load_definitions, validate_definitions
    from analysis.registry.instruments import load_registry

    reg = registry if registry is not None else load_registry()
    if definitions is None or isinstance(definitions, str) or hasattr(definitions, "__fspath__"):
        defs = load_definitions(definitions, measure=measure, registry=reg)
    else:
        defs = validate_definitions({"definitions": list(definitions)}, reg, measure)
    out = [dict(d) for d in defs]
    for d in out:
        if d.get("measure") != measure or d["rule"] not in (
            "reliable_change",
            "clinically_significant",
        ):
            continue
        if reliability is not None:
            d["reliability"] = reliability
        if significance_level is not None:
            d["significance_level"] = significance_level
        if d["rule"] == "clinically_significant":
            if cutoff_type is not None:
                d["cutoff_type"] = cutoff_type
            for key, value in (("m_functional", m_functional), ("sd_functional", sd_functional)):
                if value is not None:
                    d[key] = value
    return out


def score_outcomes(
    cohort: Cohort,
    measure: str,
    reliability: float | None = None,
    cutoff_type: str = "default",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    post: str | float = "last",
    significance_level: float = 0.05,
    instrument: Instrument | None = None,
    missing: str = "last_available",
) -> pd.DataFrame:
    """The four symptom definitions of the default definitions file on one measure.

    A thin wrapper over :func:`score_definitions`: it scores the definitions ``remission``,
    ``response``, ``reliable_improvement`` and ``clinically_significant`` of the package's
    ``definitions.yaml`` (whose rules and sources live there, not here) on ``measure``, with the
    run's parameters applied (:func:`definitions_for_run`). Remission (the instrument's published
    remission threshold, e.g. PHQ-9 < 5) is left out for an instrument without a clinical cutoff
    or without a published remission threshold, response for a higher-is-better one.

    Parameters
    ----------
    cohort : Cohort
        Scores in long format and the client table (not modified).
    measure : str
        Registry code of the outcome, e.g. ``"bdi2"`` (BDI-II, 0-63, lower is better).
    reliability : float, optional
        Reliability in (0, 1); default the registry's value for the instrument.
    cutoff_type : {"default", "published", "instrument", "a", "b", "c"}
        J&T cutoff for clinically significant change: ``default`` is the registry's rule (c where
        confirmed functional norms exist, else the published clinical cutoff;
        :func:`analysis.registry.instruments.resolve_cutoff`), ``a`` only on request.
    m_functional, sd_functional : float, optional
        Functional population mean and SD (points).
    post : "last" or float
        Post score rule (see :func:`prepost`).
    significance_level : float
        Two-sided level of the reliable change criterion (0.05: |RCI| > 1.96).
    instrument : Instrument, optional
        Default: looked up in the registry.
    missing : str
        Missing-data strategy (:data:`analysis.outcomes.rules.MISSING_STRATEGIES`).

    Returns
    -------
    pandas.DataFrame
        The outcomes table (:data:`OUTCOME_COLUMNS`, described in :func:`score_definitions`).
        ``attrs`` carries ``cutoff`` (J&T cutoff, points), ``s_diff`` (points), ``critical``
        (|RCI|) and ``reliability`` of the clinically significant definition.

    Raises
    ------
    ValueError
        For an unknown measure, a missing reliability, or cutoff b/c without norms.

    References
    ----------
    Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19 (RCI, cutoffs a-c).
    Frank E. et al. (1991) Arch Gen Psychiatry 48(9):851-855 (response and remission).

    Examples
    --------
    The four definitions on the simulated cohort's PHQ-9 (0-27 points, lower is better; alpha
    .89 from the registry; cutoff c from the registry's functional norms, M 2.91, SD 3.51):

    >>> import pandas as pd
    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> out = score_outcomes(cohort, "phq9")
    >>> pd.crosstab(out["definition"], out["status"])  # in file order (categoricals)
    status                  met  not_met  not_evaluable
    definition
    remission                13       40              7
    response                 23       35              2
    reliable_improvement     33       25              2
    clinically_significant   24       34              2
    >>> a = out.attrs
    >>> round(a["cutoff"], 2), round(a["s_diff"], 2), round(a["critical"], 2), a["reliability"]
    (8.53, 2.5, 1.96, 0.89)
    """
    from analysis.registry.instruments import load_registry

    ins = instrument or get_instrument(measure)
    rel = reliability if reliability is not None else ins.reliability_value
    if rel is None:
        raise ValueError(f"no reliability given and none in the registry for {measure!r}")
    reg = {**load_registry(), measure: ins}
    wanted = ["reliable_improvement", "clinically_significant"]
    if ins.cutoff is not None and ins.remission is not None:
        wanted.insert(0, "remission")
    if ins.better_is == "lower":
        wanted.insert(1 if "remission" in wanted else 0, "response")
    defs = definitions_for_run(
        measure,
        reliability=rel,
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        significance_level=significance_level,
        registry=reg,
    )
    defs = [d for d in defs if d["name"] in wanted and d.get("measure") == measure]
    res = score_definitions(cohort, defs, measure=measure, missing=missing, post=post, registry=reg)
    jt = res.attrs["details"]["clinically_significant"]  # computed once, by the rule
    res.attrs["cutoff"] = float(jt["cutoff"])
    res.attrs["s_diff"] = float(jt["s_diff"])
    res.attrs["critical"] = float(jt["critical"])
    res.attrs["reliability"] = rel
    return res


def change_table(
    outcomes: pd.DataFrame, definition: str = "clinically_significant"
) -> pd.DataFrame:
    """Per-client change on one definition's measure, in the form of ``clinical_significance``.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        The outcomes table (:func:`score_definitions`).
    definition : str
        A reliable-change or clinically-significant definition (default the generic
        ``clinically_significant``; its J&T cutoff is read from ``attrs``).

    Returns
    -------
    pandas.DataFrame
        One row per client: ``id``, ``pre`` (baseline), ``post``, ``change``, ``rci``, ``cutoff``,
        ``category``, ``evaluable``; ``attrs["clinsig"]`` carries the method (JT) and the critical
        value at the 5 % level, as :func:`analysis.report.plots.jacobson_plot` expects.

    Raises
    ------
    ValueError
        If the definition is not in the table.
    """
    one = outcomes.loc[outcomes["definition"] == definition].reset_index(drop=True)
    if one.empty:
        raise ValueError(
            f"definition {definition!r} not in the outcomes "
            f"(have {sorted(outcomes['definition'].unique())})"
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


def _kth(values: np.ndarray, k: np.ndarray | int) -> np.ndarray:
    """k-th smallest non-NaN value per row (1-based); NaN when a row has fewer than k."""
    srt = np.sort(values, axis=1)  # NaN last
    k = np.broadcast_to(np.asarray(k), (len(values),))
    return srt[np.arange(len(values)), np.clip(k - 1, 0, values.shape[1] - 1)]


def _composite(d: dict, parts: dict[str, dict], clients: pd.DataFrame) -> dict:
    """any_of / all_of / k_of_n / primary over already scored definitions (client order).

    Returns the columns status (codes), reason, baseline_time, post_time, first_met_time,
    met_time and measures of the composite.
    """
    n = len(clients)
    if d["rule"] == "primary":
        col = d["column"]
        if col not in clients.columns:
            raise ValueError(f"definition {d['name']!r}: the client table has no column {col!r}")
        choice = clients[col].map(d["map"]).to_numpy(dtype=object)
        out = {
            "status": np.full(n, 2, dtype=np.int8),
            "reason": np.full(n, f"no primary definition in column {col!r}", dtype=object),
            "measures": np.full(n, "", dtype=object),
        }
        for key in ("baseline_time", "post_time", "first_met_time", "met_time"):
            out[key] = np.full(n, np.nan)
        for name in set(d["map"].values()):
            sel = choice == name
            p = parts[name]
            out["status"][sel] = np.asarray(p["status"])[sel]
            # "<part>: <its reason>" (empty stays empty), built once per distinct reason
            codes, uniq = pd.factorize(
                np.asarray(p["reason"], dtype=object)[sel], use_na_sentinel=False
            )
            texts = np.array(["" if u == "" else f"{name}: {u}" for u in uniq], dtype=object)
            out["reason"][sel] = texts[codes]
            out["measures"][sel] = np.broadcast_to(np.asarray(p["measures"], dtype=object), (n,))[
                sel
            ]
            for key in ("baseline_time", "post_time", "first_met_time", "met_time"):
                out[key][sel] = np.asarray(p[key])[sel]
        return out
    of = d["of"]
    code = np.column_stack([np.asarray(parts[p]["status"]) for p in of])
    n_met = (code == 0).sum(axis=1)
    n_ne = (code == 2).sum(axis=1)
    n_parts = len(of)
    if d["rule"] == "all_of":
        # evaluable only where every part is: met when all are met, not met when all are
        # evaluable and at least one is not met
        met = n_met == n_parts
        not_met = (n_ne == 0) & ~met
        k = n_parts
    else:
        # any_of is k_of_n with k = 1: met with at least k parts met; not met when even counting
        # every non-evaluable part as met the count could not reach k
        k = 1 if d["rule"] == "any_of" else int(d["k"])
        met = n_met >= k
        not_met = n_met + n_ne < k
    status = np.where(met, 0, np.where(not_met, 1, 2)).astype(np.int8)
    # one string per possible count, picked by the count (no per-client string building)
    texts = np.array(
        [f"{k} of {n_parts} components not evaluable" for k in range(n_parts + 1)],
        dtype=object,
    )
    reason = np.where(status == 2, texts[n_ne], _EMPTY)

    def stack(key):
        return np.column_stack([np.asarray(parts[p][key], dtype=float) for p in of])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        t0 = np.nanmin(stack("baseline_time"), axis=1)
        t1 = np.nanmax(stack("post_time"), axis=1)
    # first_met_time: the time by which k parts had each held at least once;
    # met_time: the time from which k parts held through the end (the k-th smallest met_time
    # among the parts met at the end)
    first = _kth(stack("first_met_time"), k)
    mt = np.where(code == 0, stack("met_time"), np.nan)
    met_time = np.where(met, _kth(mt, k), np.nan)
    measures = "+".join(
        dict.fromkeys(
            m
            for p in of
            for m in str(np.asarray(parts[p]["measures"], dtype=object).flat[0]).split("+")
            if m
        )
    )
    return {
        "status": status,
        "reason": reason,
        "baseline_time": t0,
        "post_time": t1,
        "first_met_time": first,
        "met_time": met_time,
        "measures": measures,
    }


def score_definitions(
    cohort: Cohort,
    definitions: list[dict] | str | None = None,
    measure: str | None = None,
    missing: str = "last_available",
    post: str | float = "last",
    registry: dict[str, Instrument] | None = None,
    categorical: bool = True,
) -> pd.DataFrame:
    """Score every definition of a definitions file on a cohort: the project's outcomes table.

    This is the only producer of per-client outcomes in the package; prevalence, agreement, time
    to success, alliance and the methods comparison all read its result.

    Parameters
    ----------
    cohort : Cohort
        Scores (``id, time, measure, score``) and client table (``end_reason`` needed by the
        ``completers`` strategy and used by ``bocf``). Not modified.
    definitions : list of dict, path or None
        Validated definitions (:func:`analysis.registry.definitions.load_definitions`,
        :func:`definitions_for_run`), a YAML path, or None for the package's default file.
    measure : str, optional
        The run's primary outcome measure, substituted for ``"{measure}"`` in the file.
    missing : {"last_available", "locf", "bocf", "completers", "dropout_as_failure"}
        Missing-data strategy, applied to every definition
        (:data:`analysis.outcomes.rules.MISSING_STRATEGY_TEXT` gives the wording for a report's
        Methods):

        - ``last_available`` (default): the last observed score after baseline (or the score at
          the fixed ``post`` time); no such score: not evaluable.
        - ``locf``: the last observation up to the post time, the baseline included.
        - ``bocf``: dropouts and clients without a post score take their baseline as post.
        - ``completers``: only clients whose ``end_reason`` is ``planned`` are evaluable.
        - ``dropout_as_failure``: non-responder imputation; a client with a baseline but no post
          score is not met wherever the definition would otherwise evaluate them.
    post : "last" or float
        Post score: the last one, or the score at a fixed time point.
    registry : dict, optional
        Instrument registry.
    categorical : bool, default True
        Dtypes of the text columns. True: ``id``, ``definition``, ``family``, ``measures``,
        ``status``, ``reason`` and ``category`` as :class:`pandas.Categorical` (categories: the
        client ids in client-table order, the definitions in file order, ``STATUSES``, the five
        J&T categories with NaN where there is none, the other values in order of first
        appearance). False: ``object`` columns of Python strings (``category``: None where there
        is none), 1.7x the memory (10^6 clients x 31 definitions: 3.0 instead of 1.7 GB). The
        values and rows are the same either way; the readers in :mod:`analysis.compare` and
        :mod:`analysis.report` take both (they group with ``observed=True``). With categoricals,
        group with ``observed=True`` too, and note that ``crosstab``, ``groupby`` and
        ``sort_values`` order by the categories (definitions in file order, statuses as
        ``STATUSES``), not alphabetically.

    Returns
    -------
    pandas.DataFrame
        One row per client x scored definition (clients in client-table order within each
        definition; n_clients x n_definitions rows), columns :data:`OUTCOME_COLUMNS`:

        - ``id``, ``definition`` (name), ``family`` (symptom, functional, alliance, personal,
          child_family, composite);
        - ``measures``: every measure the rule used, "+"-joined (``"phq9+gad7"`` for the NHS rules;
          a composite lists its parts' measures; a client-chosen (``primary``) definition those of
          the definition the client chose);
        - ``status``: ``met`` / ``not_met`` / ``not_evaluable``, judged at the end of the
          client's course (the post score);
        - ``reason``: why the client is not evaluable, or how a status was imputed
          (``dropout_as_failure``); "" otherwise;
        - ``baseline_time``, ``post_time``: this client's own first assessment and the time of the
          score used as post (under ``bocf`` and ``dropout_as_failure``, for a carried baseline,
          the client's last observation up to the post time, else the baseline time); for rules
          judged on the whole trajectory (threshold sustained, growth, rupture-repair, flag
          count) the last assessment; composites: earliest baseline and latest post time of
          their parts;
        - ``baseline``, ``post``, ``change`` (post - baseline): points on the rule's (first)
          measure; NaN for composites;
        - ``rci``: reliable change index (reliable change and clinically significant rules);
        - ``category``: Jacobson-Truax category (recovered / improved / unchanged /
          deteriorated / harmed) of those rules, else None;
        - ``first_met_time``: the first assessment after baseline (up to the post time) at which
          the criterion held, whatever the status at the end; composites: the time by which
          ``k`` parts (all of them for ``all_of``) had each held once; NaN if never or not
          evaluable;
        - ``met_time``: for ``met`` rows only, the time from which the criterion held at every
          later assessment through the post time (composites: the ``k``-th smallest
          ``met_time`` of the parts met at the end); NaN otherwise. Rules judged once on the
          whole course (growth) give the last assessment's time; achievements that cannot be
          lost (threshold sustained, rupture repaired, a flag recorded) their ``first_met_time``.

        Every time is in the cohort's unit (``cohort.time_unit``: session, week or month), which
        ``attrs["time_unit"]`` records. The four time columns have the dtype of the cohort's
        times when that is float32 (a compact read, :func:`analysis.data.store.read_cohort`
        with ``compact=True``, stores them so only where lossless; every time in the table is
        one of the cohort's assessment times, so the values are exact), else float64;
        ``baseline``, ``post``, ``change`` and ``rci`` are float64. ``attrs["skipped"]`` maps
        each definition the data cannot express to the reason, naming measures and definitions
        by their labels (e.g. "measure(s) not in the data: SF-36 MCS"); ``attrs["missing"]``
        records the strategy; ``attrs["details"]`` the scalars each rule used (cutoff,
        S_diff, critical |RCI|).

    Raises
    ------
    ValueError
        For an invalid definitions file (naming the definition and key), an unknown missing-data
        strategy, or a rule that cannot be computed (e.g. no reliability for the RCI).

    Examples
    --------
    Every definition of the package's file on the simulated cohort, PHQ-9 as the primary
    measure: 31 definitions x 60 clients (two SF-36 definitions are skipped, the data have no
    SF-36).

    >>> import pandas as pd
    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> out = score_definitions(cohort, measure="phq9")
    >>> list(out.columns) == OUTCOME_COLUMNS
    True
    >>> out["definition"].nunique(), len(out), out.attrs["time_unit"]
    (31, 1860, 'session')
    >>> sorted(out.attrs["skipped"])
    ['mcs_reliable_improvement', 'social_functioning_improvement']
    >>> three = ["remission", "reliable_improvement", "nhs_recovery"]
    >>> some = out.loc[out["definition"].isin(three)]
    >>> pd.crosstab(some["definition"], some["status"])  # in file order (categoricals)
    status                met  not_met  not_evaluable
    definition
    remission              13       40              7
    reliable_improvement   33       25              2
    nhs_recovery           25       27              8

    Reliable improvement (Jacobson & Truax 1991) needs a drop of more than 1.96 x S_diff, in
    PHQ-9 points (S_diff from the cohort's baseline SD and the registry's alpha .89):

    >>> d = out.attrs["details"]["reliable_improvement"]
    >>> round(d["s_diff"], 2), round(d["threshold_points"], 2), d["sd_pre_source"]
    (2.5, 4.9, 'sample')
    >>> row = out.query("id == 'C000001' and definition == 'reliable_improvement'")
    >>> row[["baseline", "post", "change", "post_time", "first_met_time", "status"]].values.tolist()
    [[13.0, 4.0, -9.0, 3.0, 2.0, 'met']]
    """
    from analysis.outcomes.prepost import NotComputedError
    from analysis.outcomes.rules import Trajectories, apply_rule
    from analysis.registry.instruments import load_registry

    reg = registry if registry is not None else load_registry()
    defs = definitions_for_run(measure, definitions, registry=reg)
    traj = Trajectories(cohort.scores, cohort.clients, reg, missing=missing, post=post)
    n = len(traj.ids)
    nan = np.full(n, np.nan)
    completer = traj.completer()
    not_completer = None
    if completer is not None:
        er = cohort.clients["end_reason"].astype(str).to_numpy()
        not_completer = np.char.add("not a completer (end reason: ", er.astype(str)) + ")"
    parts: dict[str, dict] = {}  # the columns of each scored definition, for composites
    skipped: dict[str, str] = {}
    labels = {d["name"]: d.get("label") or d["name"] for d in defs}
    details: dict[str, dict] = {}
    last_times: dict[str, np.ndarray] = {}

    def last_time(code: str, m: dict) -> np.ndarray:
        """Time of each client's last observed assessment of a measure (NaN if none).

        Computed once per measure: several trajectory rules share it.
        """
        if code not in last_times:
            rows = m["all_rows"]
            last_times[code] = out = np.full(n, np.nan)
            np.fmax.at(out, rows["pos"].to_numpy(), rows["time"].to_numpy(float))
        return last_times[code]

    changes: dict[tuple[int, int], tuple] = {}

    def change_of(base: np.ndarray, postv: np.ndarray) -> np.ndarray:
        """Post - baseline, once per pair of arrays (the definitions of a measure share them)."""
        key = (id(base), id(postv))
        if key not in changes:  # the arrays are kept with the result: their ids stay theirs
            changes[key] = (base, postv, postv - base)
        return changes[key][2]

    # the order of the work (memory at 10^6 clients): measure by measure, so that each measure's
    # cached views are freed after its last definition; the measures with most rows first, while
    # the table's blocks are still small, and the sudden-gain rule (a session grid of clients x
    # sessions and its criteria) before everything; composites last, in file order. The table
    # keeps the file's order: each definition is written to its own block (slot).
    uses = {i: _measures_of(d) for i, d in enumerate(defs) if d["rule"] not in _COMPOSITE_RULES}
    size = traj.row_counts()
    first_seen: dict[str, int] = {}
    for i, ms_ in uses.items():
        for m_ in ms_:
            first_seen.setdefault(m_, i)

    def order_key(i: int) -> tuple:
        lead = uses[i][0] if uses[i] else ""
        return (
            defs[i]["rule"] != "sudden_gain",
            -size.get(lead, 0),
            first_seen.get(lead, i),
            -len(uses[i]),  # the NHS rules (two measures) before the measure's own definitions
            i,
        )

    plan = sorted(uses, key=order_key)
    plan += [i for i in range(len(defs)) if i not in uses]
    last_use: dict[str, int] = {}
    for step, i in enumerate(plan):
        for m_ in uses.get(i, ()):
            last_use[m_] = step
    # slots: the table's block of each definition, in file order, over the definitions that can
    # be scored as far as known before scoring (measures present, components not left out); a
    # definition skipped while scoring leaves its slot empty and the blocks after it are moved
    # down at the end (none with the default file)
    absent_before: set[str] = set()
    slot_of: dict[int, int] = {}
    for i, d in enumerate(defs):
        refs = _refs_of(d)
        if (i in uses and not all(traj.has(m_) for m_ in uses[i])) or any(
            r_ in absent_before for r_ in refs
        ):
            absent_before.add(d["name"])
            continue
        slot_of[i] = len(slot_of)
    # the number and text columns of the table, written block by block (one block of n rows per
    # definition) into arrays of the table's final size: no per-definition copies held until the
    # end (10^6 clients: about 1.4 GB less at the peak); room for every definition is reserved,
    # the memory of a skipped one is never touched. The four time columns take the dtype of the
    # cohort's times when that is float32 (a compact read): every time in the table is the time
    # of one of the cohort's assessments (or NaN), so float32 holds it exactly (checked).
    time_dtype = _time_dtype(cohort.scores)
    blocks = {
        c: np.empty(
            max(len(slot_of), 1) * n,
            dtype=np.int8 if c in ("status", "category") else (
                time_dtype if c in _TIME_COLUMNS else float
            ),
        )
        for c in OUTCOME_COLUMNS
        if c not in _STRING_COLUMNS and c != "id"
    }  # fmt: skip
    # composites read their parts' columns (views into the blocks); the reasons (object arrays)
    # only of the definitions a client-chosen (primary) composite names: it shows their reasons
    named = {p for d in defs if d["rule"] == "primary" for p in d["map"].values()}
    strings = {c: _StringColumn() for c in _STRING_COLUMNS}
    filled: set[int] = set()
    traj_ids = traj.ids
    r = ms = None
    for step, i in enumerate(plan):
        d = defs[i]
        r = ms = None  # the previous definition's views: freed with its measure, not later
        if step:
            done = [m_ for m_, last in last_use.items() if last == step - 1]
            for m_ in done:
                traj.release(m_)
                last_times.pop(m_, None)
            if done:
                changes.clear()  # the change arrays of released measures
                _trim_heap()
        name = d["name"]
        if d["rule"] in ("any_of", "all_of", "k_of_n", "primary"):
            refs = d["of"] if "of" in d else list(dict.fromkeys(d["map"].values()))
            absent = [r for r in refs if r not in parts]
            if absent:  # named by their labels: the reason is shown in reports
                skipped[name] = "component(s) not computed: " + ", ".join(
                    labels.get(r, r) for r in absent
                )
                continue
            comp = _composite(d, parts, cohort.clients)
            col = {
                **comp,
                "baseline": nan,
                "post": nan,
                "change": nan,
                "rci": nan,
                "category": np.full(n, -1, dtype=np.int8),
            }
            col["first_met_time"] = np.where(comp["status"] == 2, np.nan, comp["first_met_time"])
        else:
            needed = [d[k] for k in ("measure",) if k in d]
            if d["rule"] == "nhs":
                needed = [d.get("depression", "phq9"), d.get("anxiety", "gad7")]
            absent = [m for m in needed if not traj.has(m)]
            if absent:
                skipped[name] = "measure(s) not in the data: " + ", ".join(
                    reg[m].label if m in reg else m for m in absent
                )
                continue
            try:
                r = apply_rule(traj, d)
            except NotComputedError as exc:
                skipped[name] = str(exc)
                continue
            details[name] = {k: v for k, v in r.extra.items() if np.ndim(v) == 0}
            ms = [traj.measure(x) for x in needed]
            with np.errstate(all="ignore"):
                if len(ms) == 1:  # shared by the measure's definitions (one array, not one each)
                    t0, t1 = ms[0]["baseline_time"], ms[0]["post_time"]
                else:
                    t0 = np.fmin.reduce([m["baseline_time"] for m in ms])
                    t1 = np.fmax.reduce([m["post_time"] for m in ms])
            if d["rule"] in _TRAJECTORY_RULES:  # judged on every assessment: to the last one
                t1 = last_time(needed[0], ms[0])
            ev = np.asarray(r.evaluable, bool).copy()
            met = np.asarray(r.met, bool) & ev
            reason = np.where(ev, _EMPTY, np.asarray(r.reason, dtype=object)).astype(object)
            if completer is not None:  # completers: every definition, trajectory rules too
                drop = ~completer & ev
                ev[drop], met[drop] = False, False
                reason[drop] = not_completer[drop]
            if missing == "dropout_as_failure":
                fail = np.logical_or.reduce([m["fail"] for m in ms])
                if d["rule"] in _TRAJECTORY_RULES:  # seen only at baseline: not met
                    fail &= ~ev & (ms[0]["n"] > 0)
                else:  # eligible by the baseline criteria of the rule: not met
                    fail &= ev
                ev[fail], met[fail] = True, False
                reason[fail] = _IMPUTED_FAIL
            first = np.where(ev, np.asarray(r.first_met, float), np.nan)
            if missing == "dropout_as_failure":
                first[fail] = np.nan
            since = first if r.met_time is None else np.asarray(r.met_time, float)
            # met without a lasting run on the trajectory (e.g. a carried-forward score, or the
            # two NHS measures last scored at different sessions): held from the post time
            since = np.where(met, np.where(np.isnan(since), t1, since), np.nan)
            base = np.asarray(r.baseline if r.baseline is not None else nan, float)
            postv = np.asarray(r.post if r.post is not None else nan, float)
            col = {
                "measures": "+".join(needed),
                "status": np.where(~ev, 2, np.where(met, 0, 1)).astype(np.int8),
                "reason": reason,
                "baseline_time": t0,
                "post_time": t1,
                "baseline": base,
                "post": postv,
                "change": change_of(base, postv),
                "rci": nan if r.rci is None else np.asarray(r.rci, float),
                "category": (
                    np.full(n, -1, dtype=np.int8)
                    if r.category is None
                    else _category_codes(r.category)
                ),
                "first_met_time": first,
                "met_time": since,
            }
        col.update(definition=name, family=d["family"])
        slot = slot_of.get(i)
        if slot is None:  # cannot happen: a definition scored has its slot
            raise RuntimeError(f"definition {name!r} has no slot in the table")
        lo = slot * n
        for key in _STRING_COLUMNS:
            strings[key].add(col[key], n, slot)
        for key, arr in blocks.items():
            arr[lo : lo + n] = col[key]
            if (
                key in _TIME_COLUMNS
                and arr.dtype != np.float64
                and not _same_bits(arr[lo : lo + n], col[key])
            ):  # not a time of the cohort (cannot happen with the package's rules): float64
                blocks[key] = arr = arr.astype(np.float64)
                arr[lo : lo + n] = col[key]
        filled.add(slot)
        parts[name] = {
            k: blocks[k][lo : lo + n]
            for k in ("status", "baseline_time", "post_time", "first_met_time", "met_time")
        }
        parts[name]["measures"] = col["measures"]
        if name in named:
            parts[name]["reason"] = col["reason"]
        del col
    skipped = {d["name"]: skipped[d["name"]] for d in defs if d["name"] in skipped}
    details = {d["name"]: details[d["name"]] for d in defs if d["name"] in details}
    n_blocks = len(filled)
    if not n_blocks:
        raise ValueError(f"none of the definitions can be computed on {cohort.name!r}: {skipped}")
    if n_blocks < len(slot_of):  # definitions skipped while scoring: close the gaps, in order
        for new_slot, old_slot in enumerate(sorted(filled)):
            if new_slot != old_slot:
                for arr in blocks.values():
                    arr[new_slot * n : (new_slot + 1) * n] = arr[old_slot * n : (old_slot + 1) * n]
        for key in _STRING_COLUMNS:
            strings[key].pieces = {
                new: strings[key].pieces[old] for new, old in enumerate(sorted(filled))
            }
    del traj, parts, r, ms, d  # release the per-row arrays before the output is assembled
    changes.clear()
    last_times.clear()
    _trim_heap()
    built: dict = {}
    for key in OUTCOME_COLUMNS:  # one column at a time, freeing its pieces: bounded peak memory
        if key == "id":
            values = _id_column(traj_ids, n_blocks, categorical)
        elif key in _STRING_COLUMNS:
            values = strings.pop(key).column(n, categorical)
        else:
            values = blocks.pop(key)[: n * n_blocks]
            if key == "status":
                values = pd.Categorical.from_codes(values, categories=list(STATUSES))
                values = values if categorical else _STATUS[values.codes]
            elif key == "category":
                values = pd.Categorical.from_codes(values, categories=_CATEGORY_LEVELS)
                values = values if categorical else _CATEGORY_OBJ[values.codes]
            elif key not in _TIME_COLUMNS:
                values = values.astype(float, copy=False)
        built[key] = values
        del values
    # the columns as built (no copy of the 10^7-row arrays)
    out = pd.DataFrame(built, index=pd.RangeIndex(n * n_blocks), copy=False)
    del built
    out.attrs["skipped"] = skipped
    out.attrs["missing"] = missing
    out.attrs["details"] = details
    out.attrs["time_unit"] = cohort.time_unit
    return out


def compare_methods(
    cohort: Cohort,
    measure: str,
    reliability: float | None = None,
    methods: tuple[str, ...] | None = None,
    cutoff_type: str = "default",
    m_functional: float | None = None,
    sd_functional: float | None = None,
    reliability_post: float | None = None,
    post: str | float = "last",
    significance_level: float = 0.05,
    missing: str = "last_available",
    registry: dict[str, Instrument] | None = None,
    hlm_test: str = "cohort",
) -> pd.DataFrame:
    """Every reliable-change method (:mod:`analysis.outcomes.clinsig`) on one measure, side by side.

    Parameters
    ----------
    cohort : Cohort
        Scores in long format and the client table (not modified).
    measure : str
        Registry code of the outcome (range and direction from the registry).
    reliability : float, optional
        Default: the registry's value.
    methods : tuple of str, optional
        Default all of ``analysis.outcomes.clinsig.RCI_METHODS`` (JT, GLN, HLL, EN, NK, HA, HLM)
        that the data allow. A method the data cannot support is left out and listed in
        ``attrs["not_computed"]`` with the reason, whether asked for or a default: HLM when
        fewer than 3 clients have 3 or more observed scores from baseline to post (a two-wave
        export), a pre/post method with fewer than 2 complete pairs, HA when the scores or the
        change scores have no variance, a cutoff the instrument cannot support (e.g. no
        clinical cutoff under ``cutoff_type="published"``, cutoff c without norms).
    cutoff_type : {"default", "published", "instrument", "a", "b", "c"}
        Cutoff for the combined categories, resolved by
        :func:`analysis.registry.instruments.resolve_cutoff` (``default``, alias ``instrument``:
        c where the registry has confirmed functional norms, else the published clinical cutoff).
        A published cutoff applies to the pre/post methods; HA and HLM, whose cutoffs are defined
        on true scores, then use cutoff a (said in ``attrs["cutoff"]``).
    m_functional, sd_functional : float, optional
        Functional norms (points) for cutoffs b and c; default the registry's.
    reliability_post : float, optional
        Post-test reliability for NK (default: the same as ``reliability``).
    post : "last" or float
        Post score rule, as in :func:`prepost`. HLM uses every observed score from baseline up to
        the post time, and needs at least three.
    significance_level : float
        Level of the critical value (0.05: two-sided |RCI| > 1.96; one-sided 1.645 for HA, as
        in R; see :func:`analysis.outcomes.clinsig.clinical_significance`).
    missing : str
        Missing-data strategy (:data:`analysis.outcomes.rules.MISSING_STRATEGIES`), the same
        trajectories
        as :func:`score_definitions`: a client evaluable here is evaluable under the reliable
        change definitions of the outcomes table (e.g. completers only under ``completers``;
        under ``dropout_as_failure`` and ``bocf`` clients without a post score keep their
        baseline, change 0). HLM uses only observed scores, so clients whose post score is
        imputed are not evaluable under HLM.
    registry : dict, optional
        Instrument registry (default :func:`analysis.registry.instruments.load_registry`); pass
        the one that holds a user's instruments.
    hlm_test : {"cohort", "zero"}
        HLM rule (:func:`analysis.outcomes.clinsig.clinical_significance`): ``cohort`` judges a
        client's slope against the cohort's mean slope, as the R package clinicalsignificance;
        ``zero`` the client's own slope (fixed + random) against zero.

    Returns
    -------
    pandas.DataFrame
        One row per client x computed method: ``id``, ``method``, ``pre``, ``post``, ``change``,
        ``rci``, ``reliable_change`` (improved / unchanged / deteriorated), ``category``
        (recovered / improved / unchanged / deteriorated / harmed), ``evaluable``, ``reason``.
        ``attrs["not_computed"]``: method -> why it was left out (empty when none was);
        ``attrs["methods"]``: the methods computed, in order; ``attrs["cutoff"]``: the cutoff
        rule used and why, as a report prints it; ``attrs["hlm_test"]``; ``attrs["hlm_fit"]``:
        the HLM fit as :func:`analysis.outcomes.clinsig.clinical_significance` describes it
        (``singular``, ``fit_warnings``, ``cov_re``, ``fixed_slope``, ``critical``; empty
        without HLM).

    Raises
    ------
    ValueError
        For a configuration error: an unknown method, a reliability or significance level outside
        (0, 1), an unknown ``cutoff_type``; no reliability given and none in the registry.

    References
    ----------
    The formulas and their sources are in :func:`analysis.outcomes.clinsig.clinical_significance`
    (Notes): Jacobson & Truax (1991) J Consult Clin Psychol 59(1):12-19 (JT, cutoffs); Hsu (1989)
    (GLN, HLL); Speer (1992) (EN); Nunnally & Kotsch (1983) (NK); Hageman & Arrindell (1999)
    (HA); Raudenbush & Bryk (2002) (HLM); as the R package clinicalsignificance (Claus, Wager &
    Bonnet 2024, J Stat Softw 111(1)).

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.data.cohort import Cohort
    >>> s = pd.DataFrame({"id": list("aabbccdd"), "time": [0.0, 1.0] * 4, "measure": "phq9",
    ...                   "score": [15.0, 6.0, 18.0, 16.0, 12.0, 4.0, 20.0, 21.0]})
    >>> res = compare_methods(Cohort(s, pd.DataFrame({"id": list("abcd")}), name="two waves"),
    ...                       "phq9", methods=("JT", "HLM"), cutoff_type="a")
    >>> res.attrs["methods"], res.attrs["not_computed"]["HLM"][:35]
    (['JT'], 'HLM needs at least 3 clients with 3')

    Every method on the simulated cohort's PHQ-9, first against last observed session (HLM on
    every session in between). The methods differ in who counts as changed: HLL and HLM judge a
    client against the cohort's mean change, so a client improving less than the average client
    is "deteriorated" there.

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> res = compare_methods(cohort, "phq9")
    >>> res.attrs["methods"], res.attrs["not_computed"], res.attrs["cutoff"]["cutoff_type"]
    (['JT', 'GLN', 'HLL', 'EN', 'NK', 'HA', 'HLM'], {}, 'c')
    >>> pd.crosstab(res["method"], res["category"])
    category  deteriorated  harmed  improved  recovered  unchanged
    method
    EN                   0       0        11         24         23
    GLN                  0       0         7         24         27
    HA                   0       0        17         18         23
    HLL                 18       1         0         15         24
    HLM                 21       0         0          9         22
    JT                   0       0         9         24         25
    NK                   0       0         7         24         27
    """
    from analysis.outcomes.distribution import RCI_METHODS

    ins = get_instrument(measure, registry)
    rel = reliability if reliability is not None else ins.reliability_value
    # configuration errors stop here; what the data cannot support is reported per method below
    unknown = [m for m in (methods or ()) if m not in RCI_METHODS]
    if unknown:
        raise ValueError(f"unknown reliable-change method(s) {unknown}; known: {RCI_METHODS}")
    if rel is None:
        raise ValueError(f"no reliability given and none in the registry for {measure!r}")
    if not 0 < float(rel) < 1:
        raise ValueError(f"reliability must lie strictly between 0 and 1, got {rel!r}")
    if not 0 < float(significance_level) < 1:
        raise ValueError(f"significance_level must lie in (0, 1), got {significance_level!r}")
    if cutoff_type not in CUTOFF_TYPES:
        raise ValueError(f"cutoff_type must be one of {list(CUTOFF_TYPES)}, got {cutoff_type!r}")
    try:  # the registry's rule (or the cutoff requested), with the reason a report prints
        chosen = resolve_cutoff(ins, cutoff_type, m_functional, sd_functional)
    except ValueError as exc:  # e.g. cutoff c without norms: every method says so
        chosen = {"cutoff_type": "none", "reason": f"not computed: {exc}", "kwargs": {}}
    pp = prepost(
        cohort.scores, cohort.clients, measure, post=post, missing=missing, registry=registry
    )
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
    not_computed: dict[str, str] = {}
    hlm_fit: dict = {}
    for method in methods or RCI_METHODS:
        try:
            res = _one_method(
                method,
                cohort,
                measure,
                ins,
                rel,
                pp,
                ok,
                wide,
                chosen,
                reliability_post,
                significance_level,
                hlm_test,
            )
        except (ValueError, np.linalg.LinAlgError) as exc:  # the data cannot support it
            not_computed[method] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            continue
        if method == "HLM":
            hlm_fit = dict(res.attrs.get("clinsig", {}))
        res = res[cols].copy()
        for c in ("reliable_change", "category", "reason"):
            res[c] = res[c].astype(object)
        res.insert(1, "method", method)
        frames.append(res)
    out = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["id", "method", *cols[1:]])
    )
    out.attrs["not_computed"] = not_computed
    out.attrs["methods"] = [m for m in (methods or RCI_METHODS) if m not in not_computed]
    out.attrs["hlm_test"] = hlm_test
    out.attrs["hlm_fit"] = hlm_fit
    out.attrs["cutoff"] = {
        "cutoff_type": chosen["cutoff_type"],
        "reason": chosen["reason"],
        "true_score_methods": (
            "HA and HLM use cutoff a (their cutoffs are defined on true scores)"
            if "cutoff" in chosen["kwargs"]
            else f"HA and HLM use cutoff {chosen['cutoff_type']} on true scores"
        ),
    }
    return out


def _one_method(
    method,
    cohort,
    measure,
    ins,
    rel,
    pp,
    ok,
    wide,
    chosen,
    reliability_post,
    significance_level,
    hlm_test="cohort",
) -> pd.DataFrame:
    """One reliable-change method of :func:`compare_methods`.

    Raises ValueError when the data cannot support it (the caller lists it as not computed).
    """
    from analysis.outcomes.clinsig import clinical_significance
    from analysis.outcomes.distribution import clinical_significance_prepost

    kw = dict(
        reliability=rel,
        rci_method=method,
        better_is=ins.better_is,
        significance_level=significance_level,
    )
    if not chosen["kwargs"]:  # the instrument cannot support the cutoff asked for
        raise ValueError(chosen["reason"])
    if "cutoff" in chosen["kwargs"] and method in ("HA", "HLM"):
        kw.update(cutoff_type="a")  # true-score cutoffs: a published cutoff does not apply
    else:
        kw.update(chosen["kwargs"])
    if method == "NK":
        kw["reliability_post"] = reliability_post
    if method == "HLM":
        rows = cohort.scores.loc[
            (cohort.scores["measure"] == measure) & cohort.scores["score"].notna(),
            ["id", "time", "score"],
        ]
        rows = rows.merge(pp.loc[ok, ["id", "baseline_time", "post_time"]], on="id")
        rows = rows.loc[
            (rows["time"] >= rows["baseline_time"]) & (rows["time"] <= rows["post_time"])
        ]
        # the HLM of analysis.outcomes.clinsig needs 3 scores per client (a slope and a
        # residual) and 3 such clients; checked here so a two-wave export leaves HLM out
        per_client = rows.groupby("id").size()
        n3 = int((per_client >= 3).sum())
        if n3 < 3:
            most = int(per_client.max()) if len(per_client) else 0
            raise ValueError(
                f"HLM needs at least 3 clients with 3 or more scores from baseline to post; "
                f"{n3} have (at most {most} per client in these data)"
            )
        res = clinical_significance(
            rows[["id", "time", "score"]],
            rci_method="HLM",
            hlm_test=hlm_test,
            **{k: v for k, v in kw.items() if k not in ("rci_method", "reliability")},
        )
        fit = dict(res.attrs.get("clinsig", {}))  # the HLM fit (singular, notes, slopes)
        res = pp[["id"]].merge(res, on="id", how="left")
        res.attrs["clinsig"] = fit
        res["evaluable"] = res["evaluable"].astype("boolean").fillna(False).astype(bool)
        res["reason"] = (
            res["reason"]
            .astype(object)
            .where(res["evaluable"] | res["reason"].notna(), "fewer than 3 scores")
        )
        res["reason"] = np.where(ok.to_numpy(), res["reason"].astype(object), pp["reason"])
    else:
        res = clinical_significance_prepost(wide, **kw)
        res["reason"] = np.where(ok.to_numpy(), res["reason"].astype(object), pp["reason"])
    return res
