"""Typed parameters of the main job, checked before any notebook starts.

Every parameter a run may set has a declared type (and, where it matters, allowed values or a
range). Values come from a runs file (YAML, already typed by the YAML parser) or from a command-line
override (text, converted by the declared type). Nothing is coerced silently: the text ``"false"``
is not a boolean, and a site code that YAML reads as a number (``site: 0012`` becomes the integer
10) is rejected with a hint to quote it.

The schema is :data:`SCHEMA` (the parameters of the shipped notebooks, with their constraints)
extended by :func:`schema_for_notebooks` with any further parameter a notebook declares in its
``parameters`` cell (type taken from the type hint, e.g. ``alpha: float = 0.05``), so that a new
notebook needs no edit here. Names in :data:`RESERVED` are set by the pipeline from the run itself.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from analysis.registry.instruments import get_instrument

__all__ = [
    "Param",
    "ParameterError",
    "SCHEMA",
    "RESERVED",
    "schema_for_notebooks",
    "validate_parameters",
    "parse_override",
    "with_registry_defaults",
]


class ParameterError(ValueError):
    """A parameter is unknown or has a wrong type or value; ``name`` says which one."""

    def __init__(self, name: str, message: str):
        super().__init__(f"parameter {name!r}: {message}")
        self.name = name


@dataclass(frozen=True)
class Param:
    """One declared parameter.

    Attributes
    ----------
    name : str
    type : type
        One of ``bool``, ``int``, ``float``, ``str``, ``dict``, ``list``, or ``object`` (any YAML
        value; only for notebook parameters declared without a type hint).
    help : str
        What it means, with units.
    nullable : bool
        Whether ``null`` (None) is allowed.
    choices : tuple
        Allowed values (empty: any value of the type).
    minimum, maximum : float, optional
        Inclusive bounds for numbers.
    exclusive : bool
        Bounds are exclusive (e.g. a reliability strictly between 0 and 1).
    """

    name: str
    type: type
    help: str = ""
    nullable: bool = False
    choices: tuple = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False


# Set by the pipeline from the run (its name, dataset and output folder), never by a user.
RESERVED = frozenset({"run_name", "dataset", "dataset_options", "output_dir"})

_P = Param
SCHEMA: dict[str, Param] = {
    p.name: p
    for p in [
        _P("measure", str, "outcome measure, a code of the instrument registry (e.g. bdi2)"),
        # r = 1 gives S_diff = 0 and an infinite RCI; r = 0 is meaningless (Jacobson & Truax 1991)
        _P(
            "reliability",
            float,
            "reliability of the measure for the RCI (absent: the "
            "instrument registry's value for the measure)",
            minimum=0.0,
            maximum=1.0,
            exclusive=True,
        ),
        _P("reliability_source", str, "full citation of the reliability"),
        # Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19: cutoffs a, b, c
        # default: c where the registry has confirmed functional norms, else the published
        # clinical cutoff (analysis.registry.instruments.resolve_cutoff); a only on request
        _P(
            "cutoff_type",
            str,
            "Jacobson-Truax cutoff: default (the registry's rule: c with confirmed functional "
            "norms, else the published clinical cutoff; alias instrument), published, a, b or c",
            choices=("default", "published", "instrument", "a", "b", "c"),
        ),
        # analysis.outcomes.clinsig HLM_TESTS: cohort = R clinicalsignificance's rule
        _P(
            "hlm_test",
            str,
            "HLM rule: cohort (slope against the cohort's mean slope, as the R package) or zero "
            "(the client's own slope against zero)",
            choices=("cohort", "zero"),
        ),
        _P("definitions", str, "definitions YAML file; empty for the package default"),
        # the strategies of analysis.outcomes.rules.MISSING_STRATEGIES
        _P(
            "missing",
            str,
            "missing-data strategy, applied to every definition",
            choices=("last_available", "locf", "bocf", "completers", "dropout_as_failure"),
        ),
        _P("compare", list, "definitions compared side by side; empty for the headline ones"),
        _P("m_functional", float, "functional population mean (points)", nullable=True),
        _P(
            "sd_functional",
            float,
            "functional population SD (points)",
            nullable=True,
            minimum=0.0,
            exclusive=True,
        ),
        _P("post", str, '"last" observed score, or a time point written as text, e.g. "8"'),
        _P("group", str, 'client-table column to split prevalence by ("" for none)'),
        # notebook 05: the specification grid (analysis.compare.multiverse.load_grid)
        _P(
            "multiverse",
            object,
            "specification grid of the multiverse (notebook 05): a YAML file's path or a mapping "
            "of the same form; empty for the package default (config/multiverse.yaml)",
            nullable=True,
        ),
        # White, Royston & Wood (2011) Stat Med 30(4):377-399 recommend m >= 20; Rubin needs m >= 2
        _P(
            "imputations",
            int,
            "imputations m for multiple imputation in the multiverse (null: the grid's option)",
            nullable=True,
            minimum=2,
        ),
        # notebook 06, sudden gains (Tang & DeRubeis 1999; criteria as R suddengains): criterion
        # 1 is a positive number of points, criterion 2 a proportion of the pregain score
        _P(
            "sg_cutoff",
            float,
            "sudden gain criterion 1 (points, > 0); null: the registry's, else from the RCI",
            nullable=True,
            minimum=0.0,
            exclusive=True,
        ),
        _P(
            "sg_pct",
            float,
            "sudden gain criterion 2, proportion (0-1) of the pregain score (0.25 = 25 %); null "
            "skips it",
            nullable=True,
            minimum=0.0,
            maximum=1.0,
        ),
        _P(
            "sg_multiple",
            str,
            "gain kept for clients with several: first, last, smallest or largest",
            choices=("first", "last", "smallest", "largest"),
        ),
        _P(
            "sg_reversal_window",
            str,
            "sessions checked for a reversal: after_gain or r_package (R's window)",
            choices=("after_gain", "r_package"),
        ),
        # notebook 06, expected recovery curves (analysis.compare.on_track): a central band
        _P(
            "band",
            float,
            "central probability of the expected-curve band, strictly between 0 and 1",
            minimum=0.0,
            maximum=1.0,
            exclusive=True,
        ),
        _P("folds", int, "cross-fitting folds for the expected curves (>= 2)", minimum=2),
        # notebook 03, analysis.compare.survival.EVENT_DEFINITIONS
        _P(
            "event",
            str,
            "time-to-success event: sustained (met and held to the end) or first_met",
            choices=("sustained", "first_met"),
        ),
        _P(
            "suppress_small_counts",
            bool,
            "show counts 1-4 as <5 and suppress derived percentages (default: on for real data)",
        ),
        _P(
            "disclosure_method",
            str,
            "disclosure control with suppress_small_counts on: suppression (1-4 as <5, with "
            "complements) or rounding (NHS Digital 2018: 1-7 as 1-7, others to the nearest 5)",
            choices=("suppression", "rounding"),
        ),
        _P(
            "client_outcomes",
            bool,
            "also write per-client outcomes beside the report (outcomes-identifiable.csv)",
        ),
    ]
}

_TYPE_NAMES = {
    bool: "a boolean (true or false, unquoted)",
    int: "an integer",
    float: "a number",
    str: "text",
    dict: "a mapping",
    list: "a list",
    object: "any value",
}
_HINTS = {"bool": bool, "int": int, "float": float, "str": str, "dict": dict, "list": list}


def schema_for_notebooks(notebooks: Iterable[str | Path]) -> dict[str, Param]:
    """:data:`SCHEMA` plus every other parameter the notebooks declare.

    Parameters
    ----------
    notebooks : iterable of path
        Notebooks with a cell tagged ``parameters``.

    Returns
    -------
    dict
        Name -> :class:`Param`. A declared parameter missing from :data:`SCHEMA` takes its type
        from its type hint (``object`` without a hint); a default of ``None`` makes it nullable.
        :data:`RESERVED` names are left out.
    """
    from papermill import inspect_notebook

    schema = dict(SCHEMA)
    for nb in notebooks:
        for name, info in inspect_notebook(str(nb)).items():
            if name in schema or name in RESERVED:
                continue
            typ = _HINTS.get(str(info.get("inferred_type_name", "")).strip(), object)
            schema[name] = Param(
                name, typ, str(info.get("help", "")), nullable=str(info.get("default")) == "None"
            )
    return schema


def _check_value(p: Param, value: Any, where: str) -> Any:
    name = where or p.name
    if value is None:
        if p.nullable or p.type is object:
            return None
        raise ParameterError(name, f"must be {_TYPE_NAMES[p.type]}, got null")
    t = p.type
    if t is object:
        return value
    if t is bool:
        if not isinstance(value, bool):
            got = f"the text {value!r}" if isinstance(value, str) else f"{value!r}"
            raise ParameterError(name, f"must be {_TYPE_NAMES[bool]}, got {got}")
        out: Any = value
    elif t in (int, float):
        ok = isinstance(value, int) if t is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok:
            got = f"the text {value!r}" if isinstance(value, str) else repr(value)
            raise ParameterError(name, f"must be {_TYPE_NAMES[t]}, got {got}")
        out = t(value)
        if t is float and not math.isfinite(out):
            raise ParameterError(name, f"must be a finite number, got {value!r}")
        lo, hi = p.minimum, p.maximum
        bad_lo = lo is not None and (out <= lo if p.exclusive else out < lo)
        bad_hi = hi is not None and (out >= hi if p.exclusive else out > hi)
        if bad_lo or bad_hi:
            if lo is not None and hi is not None:
                rng = ("strictly " if p.exclusive else "") + "between"
            else:
                rng = "above" if lo is not None else "below"
            bounds = " and ".join(str(b) for b in (lo, hi) if b is not None)
            raise ParameterError(name, f"must be {rng} {bounds}, got {value!r}")
    elif t is str:
        if not isinstance(value, str):
            if isinstance(value, bool | int | float):
                raise ParameterError(
                    name,
                    f"must be text, but YAML read the unquoted value as the "
                    f"{type(value).__name__} {value!r} (codes such as 0012 or 1e3 change "
                    'meaning); write it in quotes, e.g. "0012"',
                )
            raise ParameterError(name, f"must be text, got {type(value).__name__} {value!r}")
        out = value
    elif t is dict:
        if not isinstance(value, Mapping):
            raise ParameterError(name, f"must be a mapping, got {value!r}")
        out = dict(value)
    else:  # list
        if not isinstance(value, list):
            raise ParameterError(name, f"must be a list, got {value!r}")
        out = list(value)
    if p.choices and out not in p.choices:
        raise ParameterError(name, f"must be one of {list(p.choices)}, got {value!r}")
    return out


def validate_parameters(
    parameters: Any, schema: Mapping[str, Param] | None = None, where: str = ""
) -> dict[str, Any]:
    """Check a parameter mapping against the schema and return the typed values.

    Parameters
    ----------
    parameters : mapping
        Parameter name -> value as read from YAML (or converted by :func:`parse_override`).
    schema : mapping, optional
        Name -> :class:`Param` (default :data:`SCHEMA`).
    where : str
        Prefix naming the place in error messages, e.g. ``"runs.btheb.parameters"``.

    Returns
    -------
    dict
        A new dict in the input's order; integers given for a float become floats.

    Raises
    ------
    ParameterError
        (a ValueError) naming the parameter: not a mapping, an unknown or reserved name, a wrong
        type (the text ``"false"`` for a boolean, a number for a text code), a value outside its
        range or choices.
    """
    schema = SCHEMA if schema is None else schema
    if not isinstance(parameters, Mapping):
        raise ParameterError(
            where or "parameters",
            f"must be a mapping of name: value, got {type(parameters).__name__}",
        )
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        full = f"{where}.{key}" if where else str(key)
        if not isinstance(key, str):
            raise ParameterError(full, "a parameter name must be text")
        if key in RESERVED:
            raise ParameterError(full, "is set by the pipeline from the run; do not set it")
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(full, f"unknown parameter{hint}; known: {sorted(schema)}")
        out[key] = _check_value(schema[key], value, full)
    return out


_OVERRIDE = re.compile(
    r"^(?:(?P<run>[A-Za-z0-9_-]+)\.)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$", re.S
)


def parse_override(
    text: str, schema: Mapping[str, Param] | None = None
) -> tuple[str | None, str, Any]:
    """Parse one command-line override ``NAME=VALUE`` or ``RUN.NAME=VALUE``.

    The value is text converted by the parameter's declared type: ``str`` keeps it verbatim (so
    ``site=0012`` stays ``"0012"``), ``bool`` accepts only ``true`` / ``false``, numbers must parse,
    ``dict`` / ``list`` are read as YAML, and ``null`` gives None where allowed.

    Returns
    -------
    (run, name, value)
        ``run`` is None when the override applies to every run.

    Raises
    ------
    ParameterError
        For a malformed override, an unknown name or a value of the wrong type.
    """
    schema = SCHEMA if schema is None else schema
    m = _OVERRIDE.match(text)
    if not m:
        raise ParameterError(text, "an override must look like NAME=VALUE or RUN.NAME=VALUE")
    run, name, raw = m["run"], m["name"], m["value"]
    shown = f"{run}.{name}" if run else name
    if name in RESERVED:
        raise ParameterError(shown, "is set by the pipeline from the run; do not set it")
    if name not in schema:
        validate_parameters({name: raw}, schema)  # raises the unknown-name error
    p = schema[name]
    if raw.strip().lower() in ("null", "none", "~") and (p.nullable or p.type is object):
        return run, name, None
    value: Any
    try:
        if p.type is str:
            value = raw
        elif p.type is bool:
            low = raw.strip().lower()
            if low not in ("true", "false"):
                raise ParameterError(shown, f"must be true or false, got {raw!r}")
            value = low == "true"
        elif p.type is int:
            value = int(raw.strip())
        elif p.type is float:
            value = float(raw.strip())
        else:
            value = yaml.safe_load(raw)
    except ValueError as exc:
        if isinstance(exc, ParameterError):
            raise
        raise ParameterError(shown, f"must be {_TYPE_NAMES[p.type]}, got {raw!r}") from None
    return run, name, _check_value(p, value, shown)


def with_registry_defaults(parameters: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Fill the parameters that default to the instrument registry's value for the measure.

    A run that names a ``measure`` but no ``reliability`` gets the registry's
    reliability of that measure, with its source as ``reliability_source`` unless one is given;
    so a run never silently uses another instrument's reliability (a notebook's literal default).

    Parameters
    ----------
    parameters : mapping
        Typed run parameters (:func:`validate_parameters`).
    where : str
        Prefix naming the place in error messages, e.g. ``"runs.help.parameters"``.

    Returns
    -------
    dict
        A new dict; the input is not modified. Without ``measure`` it is a plain copy (the
        notebook's own default measure applies).

    Raises
    ------
    ParameterError
        When the registry has no reliability for the measure and none is given.

    Examples
    --------
    >>> p = with_registry_defaults({"measure": "phq9"})
    >>> p["reliability"] == get_instrument("phq9").reliability["value"]
    True
    >>> with_registry_defaults({"measure": "phq9", "reliability": 0.8})["reliability"]
    0.8
    """
    out = dict(parameters)
    measure = out.get("measure")
    if not measure or out.get("reliability") is not None:
        return out
    rel = get_instrument(measure).reliability or {}
    if "value" not in rel:
        raise ParameterError(
            f"{where}.reliability" if where else "reliability",
            f"the instrument registry has no reliability for {measure!r}; give one "
            "(with reliability_source)",
        )
    out["reliability"] = float(rel["value"])
    if not out.get("reliability_source"):
        kind = str(rel.get("type", "")).replace("_", " ")
        flag = "confirmed" if rel.get("confirmed") else "unconfirmed"
        out["reliability_source"] = f"{rel['source']} ({kind}; {flag}; instrument registry)"
    return out
