"""Outcome definitions as data: load and validate a definitions file (YAML).

A definitions file lists named definitions, each with a ``rule`` kind and its options::

    definitions:
      - name: nhs_reliable_recovery
        family: symptom       # symptom, functional, alliance, personal, child_family, composite
        perspectives: [4]     # practitioner perspectives of ../shared/docs/mission.md (optional)
        description: Case at start, not at end, and reliable improvement (NHS Talking Therapies).
        source: NHS Talking Therapies Manual (2024)
        rule: nhs
        outcome: reliable_recovery

``headline: true`` marks the definitions that comparison reports (agreement, time to success,
alliance) put side by side; the full list is always scored and reported in notebook 01.
``measure: "{measure}"`` is replaced by the run's primary outcome measure, so one file serves every
dataset; a definition whose measure the data lack is skipped with a stated reason.
The rule kinds and their options are in :data:`RULES`; the scoring lives in
:mod:`analysis.outcomes.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from analysis.registry.config import load_yaml
from analysis.registry.instruments import CUTOFF_TYPES, Instrument, load_registry
from analysis.registry.paths import CONFIG_DIR, cache_by_file

__all__ = [
    "RULES",
    "FAMILIES",
    "FAMILY_LABELS",
    "DEFAULT_DEFINITIONS",
    "load_definitions",
    "validate_definitions",
    "is_harm",
    "harm_indicators",
]

DEFAULT_DEFINITIONS = CONFIG_DIR / "definitions.yaml"
FAMILIES = ("symptom", "functional", "alliance", "personal", "child_family", "composite")
#: How reports name each family (the families the user and the practitioner panel named).
FAMILY_LABELS = {
    "symptom": "symptom",
    "functional": "functional",
    "alliance": "alliance",
    "personal": "personal markers",
    "child_family": "child and family",
    "composite": "composite",
}

#: rule kind -> (required options, optional options)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "cutoff": (("measure",), ("cutoff", "case_if", "require_case_at_start")),
    "caseness_change": (("measure",), ("cutoff", "case_if")),
    "remission": (("measure",), ()),
    "band_change": (("measure", "into"), ()),
    "reliable_change": (
        ("measure",),
        ("method", "reliability", "reliability_post", "direction", "significance_level"),
    ),
    "fixed_change": (("measure",), ("points", "direction")),
    "clinically_significant": (
        ("measure",),
        (
            "method",
            "reliability",
            "reliability_post",
            "cutoff_type",
            "m_functional",
            "sd_functional",
            "significance_level",
        ),
    ),
    "percentage_change": (("measure",), ("percent",)),
    "mid": (("measure",), ("mid",)),
    "nhs": (("outcome",), ("depression", "anxiety", "min_sessions")),
    "threshold_sustained": (("measure", "threshold"), ("by", "sustained")),
    "growth": (("measure", "delta"), ("early", "late")),
    "rupture_repair": (("measure", "drop"), ("within",)),
    "status_change": (("measure",), ("start", "end")),
    "flag_count": (("measure",), ("at_least",)),
    "sudden_gain": (
        ("measure",),
        ("cutoff", "pct", "crit3", "crit3_alpha", "without_reversal", "reversal_window"),
    ),
    "any_of": (("of",), ()),
    "all_of": (("of",), ()),
    "k_of_n": (("of", "k"), ()),
    "primary": (("column", "map"), ()),
}
_COMMON = ("name", "family", "rule", "description", "source", "perspectives", "label", "headline")
_COMPOSITES = ("any_of", "all_of", "k_of_n", "primary")
_NUMERIC = {
    "cutoff",
    "reliability",
    "reliability_post",
    "significance_level",
    "points",
    "percent",
    "mid",
    "threshold",
    "by",
    "delta",
    "drop",
    "m_functional",
    "sd_functional",
    "start",
    "end",
}
#: numeric keys that may instead say ``registry`` (the value and direction from the instrument
#: registry's cutoff, e.g. the SRS concern cutoff)
_REGISTRY_OK = {"threshold"}
_WHOLE = {"sustained", "early", "late", "within", "at_least", "min_sessions"}
#: allowed values of the keys that take a word; a typo here used to score silently by the
#: default (``direction: deteriortion`` counted improvement) or crash at scoring naming no file.
#: ``method``: the pre/post reliable-change methods of analysis.outcomes.distribution
#: (RCI_METHODS without HLM, which needs the long data; tests/test_definitions_hostile.py keeps
#: the two lists in step); ``outcome``: the NHS Talking Therapies outcomes of rules.rule_nhs.
_CHOICES = {
    "direction": ("improvement", "deterioration"),
    "case_if": (">=", ">", "<=", "<"),
    "method": ("JT", "GLN", "HLL", "EN", "NK", "HA"),
    "outcome": ("recovery", "reliable_improvement", "reliable_recovery", "reliable_deterioration"),
}
#: numbers that must lie strictly between 0 and 1 (a reliability of 1 gives S_diff = 0,
#: Jacobson & Truax 1991; a significance level of 5 is a percentage typed for a proportion)
_UNIT_OPEN = {"reliability", "reliability_post", "significance_level"}
#: numbers that must be positive: a change of -5 points or -50 % is met by every client who got
#: worse, and an SD of 0 or less is no spread
_POSITIVE = {"points", "percent", "mid", "sd_functional", "drop", "delta"}
#: thresholds on the measure's own scale: they must lie within the instrument's range
_ON_SCALE = {"cutoff", "threshold", "m_functional"}


def is_harm(definition: Mapping[str, Any]) -> bool:
    """Whether meeting a definition is a bad outcome (a harm indicator), not a success.

    Read from the definition's own rule options, never from its name: ``direction:
    deterioration`` (rules ``reliable_change`` and ``fixed_change``: the score moved reliably
    towards worse) or the NHS Talking Therapies outcome ``reliable_deterioration`` (rule ``nhs``;
    NHS England (2024) NHS Talking Therapies manual v7: reliable deterioration is reported beside,
    not among, the improvement and recovery rates).

    Parameters
    ----------
    definition : mapping
        One validated definition (a ``definitions`` entry of the YAML file).

    Returns
    -------
    bool

    Examples
    --------
    >>> is_harm({"name": "x", "rule": "nhs", "outcome": "reliable_deterioration"})
    True
    >>> is_harm({"name": "x", "rule": "reliable_change", "measure": "phq9"})
    False
    """
    if definition.get("direction") == "deterioration":
        return True
    return definition.get("rule") == "nhs" and definition.get("outcome") == "reliable_deterioration"


def harm_indicators(definitions: Iterable[Mapping[str, Any]]) -> set[str]:
    """Names of the definitions that are harm indicators (:func:`is_harm`).

    Reports show these apart from the definitions of success (a client who deteriorated reliably
    is not a success).

    Examples
    --------
    >>> worse = {"name": "worse", "rule": "fixed_change", "direction": "deterioration"}
    >>> sorted(harm_indicators([worse, {"name": "better", "rule": "fixed_change"}]))
    ['worse']
    """
    return {str(d["name"]) for d in definitions if is_harm(d)}


def _err(path: str, i: int, name: str, msg: str) -> ValueError:
    return ValueError(f"{path}: definition #{i + 1} ({name!r}): {msg}")


def validate_definitions(
    raw: Any,
    registry: dict[str, Instrument] | None = None,
    measure: str | None = None,
    path: str = "definitions",
) -> list[dict[str, Any]]:
    """Validate parsed definitions and substitute ``{measure}``.

    Parameters
    ----------
    raw : Any
        The parsed YAML (a mapping with a ``definitions`` list).
    registry : dict, optional
        Instrument registry; every ``measure`` (and NHS ``depression``/``anxiety``) must be in it.
    measure : str, optional
        The run's primary outcome measure, substituted for ``"{measure}"``. Without it, such
        definitions are dropped (listed in the error-free result's absence; see
        :func:`analysis.outcomes.engine.score_definitions`).
    path : str
        File name for messages.

    Returns
    -------
    list of dict
        One dict per definition, in file order, with defaults filled in.

    Raises
    ------
    ValueError
        Naming the file, the definition and the key: top level not a mapping with a
        ``definitions`` list, a missing or unknown key, an unknown rule kind, family or measure, a
        duplicate name, or a composite naming an unknown or later definition.
    """
    reg = registry if registry is not None else load_registry()
    if not isinstance(raw, dict) or not isinstance(raw.get("definitions"), list):
        raise ValueError(f"{path}: the top level must be a mapping with a 'definitions' list")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, d in enumerate(raw["definitions"]):
        if not isinstance(d, dict):
            raise _err(path, i, "?", "each definition must be a mapping")
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise _err(path, i, "?", "missing key 'name'")
        for key in ("family", "rule"):
            if key not in d:
                raise _err(path, i, name, f"missing key '{key}'")
        if name in seen:
            raise _err(path, i, name, "duplicate name")
        kind = d["rule"]
        if kind not in RULES:
            raise _err(path, i, name, f"unknown rule kind {kind!r}; known: {sorted(RULES)}")
        if d["family"] not in FAMILIES:
            raise _err(path, i, name, f"unknown family {d['family']!r}; known: {list(FAMILIES)}")
        required, optional = RULES[kind]
        for key in required:
            if key not in d:
                raise _err(path, i, name, f"rule {kind!r} needs key '{key}'")
        unknown = set(d) - set(required) - set(optional) - set(_COMMON)
        if unknown:
            raise _err(path, i, name, f"unknown key(s) {sorted(unknown)} for rule {kind!r}")
        for key in _NUMERIC & set(d):
            v = d[key]
            if key in _REGISTRY_OK and v == "registry":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise _err(path, i, name, f"key '{key}' must be a number, got {v!r}")
            if not math.isfinite(v):  # .nan compares false: every client 'met' a NaN cutoff
                raise _err(path, i, name, f"key '{key}' must be a finite number, got {v!r}")
            if key in _UNIT_OPEN and not 0 < v < 1:
                raise _err(
                    path, i, name, f"key '{key}' must lie strictly between 0 and 1, got {v!r}"
                )
            if key in _POSITIVE and not v > 0:
                raise _err(path, i, name, f"key '{key}' must be positive, got {v!r}")
        for key, allowed in _CHOICES.items():
            if key in d and d[key] not in allowed:
                raise _err(
                    path, i, name, f"key '{key}' must be one of {list(allowed)}, got {d[key]!r}"
                )
        for key in ("headline",):
            if key in d and not isinstance(d[key], bool):
                raise _err(
                    path, i, name, f"key '{key}' must be true or false (unquoted), got {d[key]!r}"
                )
        if "perspectives" in d and not (
            isinstance(d["perspectives"], list)
            and all(isinstance(x, int) and not isinstance(x, bool) for x in d["perspectives"])
        ):
            raise _err(
                path,
                i,
                name,
                f"'perspectives' must be a list of whole numbers, got {d['perspectives']!r}",
            )
        for key in _WHOLE & set(d):
            if not (isinstance(d[key], int) and not isinstance(d[key], bool) and d[key] >= 1):
                raise _err(
                    path, i, name, f"key '{key}' must be a whole number >= 1, got {d[key]!r}"
                )
        if "cutoff_type" in d and d["cutoff_type"] not in CUTOFF_TYPES:
            raise _err(
                path,
                i,
                name,
                f"'cutoff_type' must be one of {list(CUTOFF_TYPES)}, got {d['cutoff_type']!r}",
            )
        d = dict(d)
        for key in ("measure", "depression", "anxiety"):
            if key in d and d[key] == "{measure}":
                if measure is None:
                    d = {}
                    break
                d[key] = measure
            if d and key in d and d[key] not in reg:
                raise _err(path, i, name, f"unknown measure {d[key]!r} in key '{key}'")
        if not d:
            continue
        ins = reg.get(d["measure"]) if isinstance(d.get("measure"), str) else None
        if ins is not None:
            for key in sorted(_ON_SCALE & set(d)):
                v = d[key]
                if v != "registry" and not ins.min <= v <= ins.max:
                    raise _err(
                        path,
                        i,
                        name,
                        f"key '{key}' = {v!r} lies outside the {ins.label} range "
                        f"[{ins.min:g}, {ins.max:g}]",
                    )
            if kind == "percentage_change" and ins.better_is == "lower" and ins.min >= 0:
                if d.get("percent", 50) > 100:  # a score cannot fall below 0: never met
                    raise _err(
                        path,
                        i,
                        name,
                        f"key 'percent' = {d['percent']!r}: a reduction of more than 100 % "
                        f"cannot happen on {ins.label} (range {ins.min:g}-{ins.max:g})",
                    )
            if kind == "band_change" and ins.bands and d["into"] not in ins.bands["labels"]:
                raise _err(
                    path,
                    i,
                    name,
                    f"'into' names no band of {ins.label}: {d['into']!r}; its bands are "
                    f"{list(ins.bands['labels'])}",
                )
        if kind in _COMPOSITES[:3]:
            parts = d["of"]
            if not isinstance(parts, list) or not parts:
                raise _err(path, i, name, "'of' must be a non-empty list of definition names")
            missing = [p for p in parts if p not in seen]
            if missing:
                raise _err(path, i, name, f"'of' names unknown or later definition(s) {missing}")
            if kind == "k_of_n" and not (
                isinstance(d["k"], int)
                and not isinstance(d["k"], bool)
                and 1 <= d["k"] <= len(parts)
            ):
                raise _err(path, i, name, f"'k' must be a whole number from 1 to {len(parts)}")
        if kind == "primary":
            if not isinstance(d["map"], dict) or not d["map"]:
                raise _err(path, i, name, "'map' must map client-table values to definitions")
            missing = [v for v in d["map"].values() if v not in seen]
            if missing:
                raise _err(path, i, name, f"'map' names unknown or later definition(s) {missing}")
        d.setdefault("description", "")
        d.setdefault("source", "")
        d.setdefault("perspectives", [])
        d.setdefault("headline", False)
        seen.add(name)
        out.append(d)
    return out


@cache_by_file(maxsize=8)  # reloaded when the file changes
def _read(path: str) -> Any:
    return load_yaml(path, what="definitions file", top_key="definitions")


def load_definitions(
    path: str | Path | None = None,
    measure: str | None = None,
    registry: dict[str, Instrument] | None = None,
) -> list[dict[str, Any]]:
    """Load and validate a definitions file (default: the package's ``config/definitions.yaml``).

    Each definition carries its rule kind (:data:`RULES`), options (thresholds in score points,
    windows in sessions) and the ``source`` of its rule; thresholds the file does not state come
    from the instrument registry when the definitions are scored
    (:func:`analysis.outcomes.engine.score_definitions`). The file is re-read when it changes.

    Parameters
    ----------
    path : str or Path, optional
        A definitions YAML file (the package's form: a ``definitions`` list); default the
        package's ``config/definitions.yaml``.
    measure : str, optional
        The run's primary outcome measure (a registry code, e.g. ``"phq9"``), substituted for
        ``"{measure}"`` in the file; without it such definitions are left out.
    registry : dict of str to Instrument, optional
        Instrument registry the measures must belong to; default
        :func:`analysis.registry.instruments.load_registry`.

    Returns
    -------
    list of dict
        One dict per definition, in file order: ``name``, ``family``, ``rule`` and the rule's
        options, with ``description``, ``source``, ``perspectives`` ([] by default) and
        ``headline`` (False by default) filled in.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        From the YAML loader (a syntax error or a key given twice, naming file, line and column)
        and :func:`validate_definitions` (naming the file, the definition and the key: a missing
        or unknown key, an unknown rule kind, family or measure, a duplicate name, a composite
        naming an unknown or later definition).

    Examples
    --------
    >>> defs = load_definitions(measure="phq9")
    >>> [d["name"] for d in defs if d["rule"] == "nhs"][:1]
    ['nhs_recovery']
    >>> response = next(d for d in defs if d["name"] == "response")
    >>> response["rule"], response["measure"], response["percent"], response["source"]
    ('percentage_change', 'phq9', 50, 'Frank E. et al. (1991) Arch Gen Psychiatry 48(9):851-855')

    On the simulated cohort, the definitions whose measure the data lack are skipped, with the
    reason, when scored:

    >>> from analysis import load_dataset, score_definitions
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> absent = [d["measure"] for d in defs if d.get("measure", "phq9") not in cohort.measures]
    >>> len(defs), sorted(absent)
    (33, ['sf36_mcs', 'sf36_sf'])
    >>> out = score_definitions(cohort, defs)
    >>> out.attrs["skipped"]["mcs_reliable_improvement"]
    'measure(s) not in the data: SF-36 MCS'
    >>> out.query("definition == 'response'")["status"].value_counts().to_dict()
    {'not_met': 35, 'met': 23, 'not_evaluable': 2}
    """
    p = Path(path) if path else DEFAULT_DEFINITIONS
    return validate_definitions(_read(str(p.resolve())), registry, measure, path=str(p))
