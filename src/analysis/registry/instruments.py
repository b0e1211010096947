"""Registry of outcome measures: range, direction, cutoff, reliability, norms, each with a source.

The registry is data (``config/instruments.yaml``); this module loads, validates and queries it.
Every value carries its source and a ``confirmed`` flag (see the YAML header).

User instruments
    A user's own instruments (e.g. the Beck Anxiety Inventory, not in the package) live in a YAML
    file of the same form, ``instruments: {code: entry}``, anywhere outside the package. Each entry
    is validated by exactly the same checks as the package's (errors name the file, the instrument
    and the key). A user entry never silently replaces a package entry: a code that is already in
    the registry stops with an error, unless the entry says ``override: true`` together with
    ``override_reason: "<why, with the source>"`` (then it replaces the package entry, and both
    keys are kept in :attr:`Instrument.extra` with ``defined_in``, the file). The same code in
    two user files is an error too.

    User files reach every part of the package through :func:`load_registry`: the default
    registry is the package's plus the files named in the environment variable
    ``ANALYSIS_INSTRUMENTS`` (absolute paths separated by ``os.pathsep``). A runs file names them
    (``instruments:`` at its top level or in a run's ``dataset_options``); the main job puts them
    there for the duration of a run (:func:`using_instruments`), so the notebooks' kernels it
    starts see the same registry. In process nothing is global: the ``file`` dataset loader lists
    the files in the cohort's ``meta["instruments"]`` and whoever scores the cohort builds its
    registry with ``load_registry(instruments=cohort.meta["instruments"])``.
"""

from __future__ import annotations

import difflib
import operator
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.registry.config import ConfigError, load_yaml
from analysis.registry.paths import CONFIG_DIR, cache_by_file

__all__ = [
    "Instrument",
    "load_registry",
    "get_instrument",
    "registry_table",
    "is_case",
    "is_remitted",
    "default_cutoff",
    "CUTOFF_TYPES",
    "CUTOFF_TYPE_LABELS",
    "resolve_cutoff",
    "cutoff_choices",
    "DEFAULT_REGISTRY",
    "USER_INSTRUMENTS_ENV",
    "instrument_files",
    "load_user_instruments",
    "activate_instruments",
    "using_instruments",
]

DEFAULT_REGISTRY = CONFIG_DIR / "instruments.yaml"
#: Environment variable naming user instrument files (absolute paths separated by os.pathsep).
USER_INSTRUMENTS_ENV = "ANALYSIS_INSTRUMENTS"
_USER_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_OVERRIDE_KEYS = ("override", "override_reason")

_CASE_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Instrument:
    """One measure of the registry (an immutable record, not a fitted object).

    Attributes
    ----------
    code : str
        The ``measure`` code used in the data, e.g. ``"phq9"``.
    label, name, construct, family : str
        Short label (``"PHQ-9"``), full name, construct measured and family
        (``symptom``, ``functional``, ``alliance``, ``personal``, ``child_family``).
    min, max : float
        Score range in points (inclusive).
    integer : bool
        Whether totals are whole points.
    better_is : {"lower", "higher"}
        Direction of improvement.
    cutoff, reliability, norms, bands, reliable_change, mcid : dict
        Raw registry entries, each with ``value`` (or means/SDs), ``source`` and ``confirmed``.
    remission : dict or None
        The instrument's published *remission* threshold, distinct from the caseness cutoff:
        ``value`` (points), ``remission_if`` (the comparison that makes a score remitted, e.g.
        ``"<"`` for PHQ-9 < 5), ``source``, ``confirmed``.
    """

    code: str
    label: str
    name: str
    construct: str
    family: str
    min: float
    max: float
    integer: bool
    better_is: str
    items: int | None = None
    cutoff: dict[str, Any] | None = None
    reliability: dict[str, Any] | None = None
    norms: dict[str, Any] = field(default_factory=dict)
    bands: dict[str, Any] | None = None
    reliable_change: dict[str, Any] | None = None
    mcid: dict[str, Any] | None = None
    remission: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cutoff_value(self) -> float | None:
        """Clinical cutoff in score points, or None when the instrument has none."""
        return None if self.cutoff is None else float(self.cutoff["value"])

    @property
    def remission_value(self) -> float | None:
        """Remission threshold in points (see ``remission['remission_if']``), or None."""
        return None if self.remission is None else float(self.remission["value"])

    @property
    def reliability_value(self) -> float | None:
        """Reliability coefficient (alpha or test-retest, see ``reliability['type']``)."""
        return None if self.reliability is None else float(self.reliability["value"])


_REQUIRED = ("label", "name", "construct", "family", "min", "max", "better_is")
_KNOWN = set(_REQUIRED) | {
    "items",
    "integer",
    "cutoff",
    "reliability",
    "norms",
    "bands",
    "reliable_change",
    "mcid",
    "remission",
}
#: Families an instrument may belong to (outcome-definition families without ``composite``).
_FAMILIES = ("symptom", "functional", "alliance", "personal", "child_family")
#: Allowed ``reliability.type`` values.
_RELIABILITY_TYPES = ("internal_consistency", "test_retest")
#: Extra keys holding lists of alternative values, and the main key whose checks they follow.
_ALTERNATIVES = {
    "reliability_alternatives": "reliability",
    "cutoff_alternatives": "cutoff",
    "reliable_change_alternatives": "reliable_change",
    "remission_alternatives": "remission",
}


class _Where:
    """Builds error messages naming the file, the instrument and the key."""

    def __init__(self, path: Path, code: str) -> None:
        self.path, self.code = path, code

    def __call__(self, key: str, msg: str) -> ValueError:
        return ValueError(f"{self.path}: instrument '{self.code}', key '{key}': {msg}")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)


def _check_sourced(sub: Any, key: str, err: _Where, need_value: bool = True) -> None:
    """A sourced entry: a mapping with a non-empty ``source`` and a boolean ``confirmed``."""
    if not isinstance(sub, dict):
        raise err(key, f"must be a mapping with 'value', 'source' and 'confirmed', got {sub!r}")
    needed = ("value", "source", "confirmed") if need_value else ("source", "confirmed")
    missing = [k for k in needed if k not in sub]
    if missing:
        raise err(key, f"lacks {missing} (every value needs 'source' and 'confirmed')")
    if not isinstance(sub["source"], str) or not sub["source"].strip():
        raise err(f"{key}.source", "must be a non-empty citation string")
    if not isinstance(sub["confirmed"], bool):
        raise err(f"{key}.confirmed", f"must be true or false, got {sub['confirmed']!r}")


def _values(v: Any, key: str, err: _Where, allow_range: bool) -> list[float]:
    """The number(s) of a ``value``: one number, or (alternatives only) a range [low, high]."""
    if _is_number(v):
        return [float(v)]
    if allow_range and isinstance(v, list) and len(v) == 2 and all(map(_is_number, v)):
        if not v[0] <= v[1]:
            raise err(key, f"range {v} must be [low, high]")
        return [float(x) for x in v]
    raise err(key, f"must be a number{' or a range [low, high]' if allow_range else ''}, got {v!r}")


def _check_value(
    kind: str, sub: dict, key: str, err: _Where, lo: float, hi: float, allow_range: bool = False
) -> None:
    """Kind-specific checks of one sourced value (``kind`` is the main key it follows)."""
    vals = _values(sub["value"], f"{key}.value", err, allow_range)
    if kind == "cutoff":
        if sub.get("case_if") not in _CASE_OPS:
            raise err(
                f"{key}.case_if", f"must be one of {sorted(_CASE_OPS)}, got {sub.get('case_if')!r}"
            )
        if not all(lo <= x <= hi for x in vals):
            raise err(
                f"{key}.value", f"cutoff {sub['value']} lies outside the range [{lo:g}, {hi:g}]"
            )
    elif kind == "reliability":
        if not all(0 < x < 1 for x in vals):
            raise err(f"{key}.value", f"reliability must lie in (0, 1), got {sub['value']}")
        if sub.get("type") not in _RELIABILITY_TYPES:
            raise err(
                f"{key}.type", f"must be one of {list(_RELIABILITY_TYPES)}, got {sub.get('type')!r}"
            )
    elif kind == "remission":
        if sub.get("remission_if") not in _CASE_OPS:
            raise err(
                f"{key}.remission_if",
                f"must be one of {sorted(_CASE_OPS)}, got {sub.get('remission_if')!r}",
            )
        if not all(lo <= x <= hi for x in vals):
            raise err(
                f"{key}.value",
                f"remission threshold {sub['value']} lies outside the range [{lo:g}, {hi:g}]",
            )
    elif kind in ("reliable_change", "mcid"):
        if not all(0 < x <= hi - lo for x in vals):
            raise err(
                f"{key}.value",
                f"must be a positive change of at most {hi - lo:g} points "
                f"(the range), got {sub['value']}",
            )


def _check_bands(b: Any, err: _Where, lo: float, hi: float) -> None:
    _check_sourced(b, "bands", err, need_value=False)
    vals, labels = b.get("values"), b.get("labels")
    if not isinstance(vals, list) or not vals or not all(map(_is_number, vals)):
        raise err("bands.values", f"must be a non-empty list of numbers, got {vals!r}")
    if np.any(np.diff(np.asarray(vals, dtype=float)) <= 0):
        raise err("bands.values", f"lower band edges must be strictly increasing, got {vals}")
    if vals[0] < lo or vals[-1] > hi:
        raise err("bands.values", f"band edges {vals} must lie within the range [{lo:g}, {hi:g}]")
    if not isinstance(labels, list) or len(labels) != len(vals):
        raise err("bands.labels", f"needs one label per band edge ({len(vals)}), got {labels!r}")


def _check_norms(norms: Any, err: _Where, lo: float, hi: float) -> None:
    if not isinstance(norms, dict):
        raise err(
            "norms",
            f"must be a mapping of sample name to {{mean, sd, source, confirmed}}, got {norms!r}",
        )
    for group, g in norms.items():
        key = f"norms.{group}"
        _check_sourced(g, key, err, need_value=False)
        if group == "functional" and not ("mean" in g and "sd" in g):
            raise err(
                key, "needs both 'mean' and 'sd' (used for the Jacobson-Truax cutoffs b and c)"
            )
        if "mean" in g and not (_is_number(g["mean"]) and lo <= g["mean"] <= hi):
            raise err(f"{key}.mean", f"must be a number within [{lo:g}, {hi:g}], got {g['mean']!r}")
        if "sd" in g and not (_is_number(g["sd"]) and g["sd"] > 0):
            raise err(f"{key}.sd", f"must be a positive number, got {g['sd']!r}")


def _parse(code: str, entry: Any, path: Path) -> Instrument:
    if not isinstance(entry, dict):
        raise ValueError(
            f"{path}: instrument '{code}' must be a mapping, got {type(entry).__name__}"
        )
    err = _Where(path, code)
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise ValueError(f"{path}: instrument '{code}' lacks key(s) {missing}")
    if entry["better_is"] not in ("lower", "higher"):
        raise err("better_is", f"must be 'lower' or 'higher', got {entry['better_is']!r}")
    if entry["family"] not in _FAMILIES:
        raise err("family", f"must be one of {list(_FAMILIES)}, got {entry['family']!r}")
    if not (_is_number(entry["min"]) and _is_number(entry["max"])):
        raise err("min", f"min and max must be numbers, got {entry['min']!r} and {entry['max']!r}")
    lo, hi = float(entry["min"]), float(entry["max"])
    if not lo < hi:
        raise err("min", f"min must be below max, got {lo:g} and {hi:g}")
    for key in entry:
        # a misspelt key (reliabilty, cutof) would be kept as an 'extra' note and the value
        # silently unused: reliable change then falls back to nothing, a cutoff to none
        if key not in _KNOWN and key not in _ALTERNATIVES:
            close = difflib.get_close_matches(
                str(key), sorted(_KNOWN | set(_ALTERNATIVES)), n=1, cutoff=0.8
            )
            if close and close[0] not in entry:
                raise err(
                    str(key),
                    f"unknown key; did you mean {close[0]!r}? (a misspelt key would be kept as a "
                    "note and its value never used)",
                )
    if "integer" in entry and not isinstance(entry["integer"], bool):
        raise err("integer", f"must be true or false (unquoted), got {entry['integer']!r}")
    items = entry.get("items")
    if items is not None and not (
        isinstance(items, int) and not isinstance(items, bool) and items > 0
    ):
        raise err("items", f"must be a positive whole number, got {items!r}")
    for key in ("cutoff", "reliability", "reliable_change", "mcid", "remission"):
        sub = entry.get(key)
        if sub is None:
            continue
        _check_sourced(sub, key, err)
        _check_value(key, sub, key, err, lo, hi)
    for key, kind in _ALTERNATIVES.items():
        alts = entry.get(key)
        if alts is None:
            continue
        if not isinstance(alts, list):
            raise err(key, f"must be a list of sourced values, got {alts!r}")
        for i, sub in enumerate(alts):
            _check_sourced(sub, f"{key}[{i}]", err)
            _check_value(kind, sub, f"{key}[{i}]", err, lo, hi, allow_range=True)
    for key, sub in entry.items():
        # any other sourced value (e.g. a responder rule) must carry its source and flag too
        if key not in _KNOWN and isinstance(sub, dict) and "value" in sub:
            _check_sourced(sub, key, err)
    if entry.get("bands") is not None:
        _check_bands(entry["bands"], err, lo, hi)
    if entry.get("norms") is not None:
        _check_norms(entry["norms"], err, lo, hi)
    cut = entry.get("cutoff")
    rel = entry.get("reliability")
    return Instrument(
        code=code,
        label=str(entry["label"]),
        name=str(entry["name"]),
        construct=str(entry["construct"]),
        family=str(entry["family"]),
        min=float(entry["min"]),
        max=float(entry["max"]),
        integer=bool(entry.get("integer", False)),
        better_is=str(entry["better_is"]),
        items=entry.get("items"),
        cutoff=cut,
        reliability=rel,
        norms=dict(entry.get("norms") or {}),
        bands=entry.get("bands"),
        reliable_change=entry.get("reliable_change"),
        mcid=entry.get("mcid"),
        remission=entry.get("remission"),
        extra={k: v for k, v in entry.items() if k not in _KNOWN},
    )


def _read_entries(p: Path) -> dict:
    raw = load_yaml(p, what="instrument file", top_key="instruments")
    if not isinstance(raw["instruments"], dict):
        raise ConfigError(
            f"{p}: expected a top-level mapping with key 'instruments' (a mapping of measure "
            "code -> entry)"
        )
    return raw["instruments"]


@cache_by_file(maxsize=8)  # reloaded when the file changes
def _load_cached(path: str) -> dict[str, Instrument]:
    p = Path(path)
    return {str(code): _parse(str(code), e, p) for code, e in _read_entries(p).items()}


@lru_cache(maxsize=32)
def _load_user_cached(path: str, mtime_ns: int) -> tuple[tuple[str, Instrument, bool], ...]:
    p = Path(path)
    out = []
    for code, entry in _read_entries(p).items():
        code = str(code)
        if not _USER_CODE.match(code):
            raise ValueError(
                f"{p}: instrument '{code}': a measure code must be lower-case letters, digits "
                "and '_', starting with a letter (e.g. bai)"
            )
        if not isinstance(entry, dict):
            raise ValueError(
                f"{p}: instrument '{code}' must be a mapping, got {type(entry).__name__}"
            )
        override = entry.get("override", False)
        if not isinstance(override, bool):
            raise ValueError(
                f"{p}: instrument '{code}', key 'override': must be true or false, got {override!r}"
            )
        reason = entry.get("override_reason")
        if override and not (isinstance(reason, str) and reason.strip()):
            raise ValueError(
                f"{p}: instrument '{code}', key 'override_reason': override: true needs a "
                "non-empty reason (why the package's entry is replaced, with the source)"
            )
        if reason is not None and not override:
            raise ValueError(
                f"{p}: instrument '{code}', key 'override_reason': given without override: true"
            )
        ins = _parse(code, {k: v for k, v in entry.items() if k not in _OVERRIDE_KEYS}, p)
        extra = {**ins.extra, "defined_in": str(p)}
        if override:
            extra.update(override=True, override_reason=reason)
        out.append((code, replace(ins, extra=extra), override))
    return tuple(out)


def instrument_files(value: Any, *, root: str | Path | None = None) -> list[Path]:
    """Normalise an ``instruments:`` setting to a list of absolute file paths.

    Parameters
    ----------
    value : None, str, path or list of them
        One YAML file or several; relative paths resolve against ``root`` (default the project
        root, like every path of a runs file; never the working folder).
    root : str or Path, optional

    Returns
    -------
    list of pathlib.Path
        Absolute paths, duplicates removed, in the order given.

    Raises
    ------
    TypeError
        If ``value`` is neither text, a path nor a list of them.
    FileNotFoundError
        If a file does not exist.
    """
    if value is None or value == "" or value == []:
        return []
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[Path] = []
    for v in items:
        if not isinstance(v, (str, Path)):
            raise TypeError(f"instruments: expected a file path or a list of file paths, got {v!r}")
        p = Path(v).expanduser()
        if not p.is_absolute():
            if root is None:
                from analysis.registry.paths import project_root

                root = project_root()
            p = Path(root) / p
        p = p.resolve()
        if not p.is_file():
            raise FileNotFoundError(f"instrument file {p}: no such file")
        if p not in out:
            out.append(p)
    return out


def _env_files() -> list[Path]:
    text = os.environ.get(USER_INSTRUMENTS_ENV, "")
    return [Path(t) for t in text.split(os.pathsep) if t.strip()]


def load_user_instruments(
    files: Any, base: dict[str, Instrument] | None = None
) -> dict[str, Instrument]:
    r"""Add user instrument files to a registry, validated like the package's.

    Parameters
    ----------
    files : str, path or list of them
        YAML files of the form ``instruments: {code: entry}`` (see the module docstring);
        relative paths resolve against the project root. An entry may add ``override: true``
        and ``override_reason`` to replace an entry of ``base``.
    base : dict, optional
        The registry extended (default: the package's, without any user file).

    Returns
    -------
    dict of str to Instrument
        ``base`` plus the user entries (a new dict). A user entry's ``extra`` holds
        ``defined_in`` (its file) and, for an override, ``override`` and ``override_reason``.

    Raises
    ------
    ValueError
        Naming the file, the instrument and the key: an entry failing a registry check (see
        :func:`load_registry`), a code already in ``base`` without ``override: true``, an
        ``override: true`` without a reason or for a code ``base`` does not have, the same code in
        two user files, or a code that is not lower-case letters, digits and ``_``.
    FileNotFoundError
        If a file does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "mine.yaml"
    >>> _ = f.write_text(
    ...     "instruments:\n  bai:\n    label: BAI\n    name: Beck Anxiety Inventory\n"
    ...     "    construct: anxiety\n    family: symptom\n    min: 0\n    max: 63\n"
    ...     "    better_is: lower\n")
    >>> reg = load_user_instruments(f)
    >>> reg["bai"].max, "phq9" in reg
    (63.0, True)
    """
    reg = dict(base if base is not None else _load_cached(str(DEFAULT_REGISTRY.resolve())))
    package = set(reg)
    origin: dict[str, Path] = {}
    for p in instrument_files(files):
        for code, ins, override in _load_user_cached(str(p), p.stat().st_mtime_ns):
            if code in origin:
                raise ValueError(
                    f"{p}: instrument '{code}' is also defined in {origin[code]}; a measure code "
                    "may be defined in one user file only"
                )
            if code in package and not override:
                raise ValueError(
                    f"{p}: instrument '{code}' is already in the instrument registry (the "
                    f"package's {DEFAULT_REGISTRY.name} or a file given before); choose another "
                    "code, or add override: true and override_reason: '<why, with the source>' "
                    "to replace that entry"
                )
            if override and code not in package:
                raise ValueError(
                    f"{p}: instrument '{code}', key 'override': there is no registry entry "
                    f"'{code}' to override (registry codes: {sorted(package)})"
                )
            reg[code] = ins
            origin[code] = p
    return reg


def load_registry(
    path: str | Path | None = None, *, instruments: Any = None
) -> dict[str, Instrument]:
    """Load the instrument registry.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; default the package's ``config/instruments.yaml`` extended by the user
        instrument files named in ``$ANALYSIS_INSTRUMENTS`` (see the module docstring and
        :func:`load_user_instruments`). An explicit ``path`` is read alone.
    instruments : str, path or list of them, optional
        Further user instrument files (relative to the project root), added to the default
        registry for this call only; files already active are not read twice.

    Returns
    -------
    dict of str to Instrument
        Keyed by measure code. A fresh dict each call (the cached records are immutable).

    Raises
    ------
    ValueError
        If an entry lacks a required key; has an unknown direction or family; a value (cutoff,
        reliability, reliable_change, mcid, remission, norms, bands, alternatives) without a
        ``source`` string and a boolean ``confirmed``; a reliability outside (0, 1) or of a type
        other than ``internal_consistency`` / ``test_retest``; an unknown ``case_if`` or
        ``remission_if``; a cutoff, remission threshold or band edge outside [min, max]; band
        edges not strictly increasing or labels not matching them; a reliable change or MCID
        that is not a positive number of points within the range; or ``norms.functional``
        without both mean and SD. The message names the file, the instrument and the key
        (e.g. ``instrument 'phq9', key 'reliability.value'``). User files add the errors of
        :func:`load_user_instruments`.

    Examples
    --------
    >>> reg = load_registry()
    >>> "phq9" in reg, reg["gad7"].max
    (True, 21.0)

    Every measure of the simulated cohort is in the registry, with its range (points) and
    direction:

    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> [m for m in cohort.measures if m not in reg]
    []
    >>> [(reg[m].label, reg[m].min, reg[m].max, reg[m].better_is) for m in ("phq9", "wsas", "srs")]
    [('PHQ-9', 0.0, 27.0, 'lower'), ('WSAS', 0.0, 40.0, 'lower'), ('SRS', 0.0, 40.0, 'higher')]
    """
    if path is not None:
        if instruments:
            raise ValueError("load_registry: give either a registry path or user instruments")
        return dict(_load_cached(str(Path(path).resolve())))
    base = _load_cached(str(DEFAULT_REGISTRY.resolve()))
    files = _env_files()
    files += [f for f in instrument_files(instruments) if f not in files]
    if not files:
        return dict(base)
    return load_user_instruments(files, base)


def activate_instruments(files: Any, *, root: str | Path | None = None) -> list[Path]:
    """Make user instrument files part of this process's default registry (and its children's).

    Validates them first (against the registry already active), then adds them to
    ``$ANALYSIS_INSTRUMENTS``, which :func:`load_registry` reads; kernels started afterwards by
    this process inherit it. Files already active are not added twice.

    Parameters
    ----------
    files : str, path or list of them
        See :func:`instrument_files`.
    root : str or Path, optional
        Base of relative paths (default the project root).

    Returns
    -------
    list of pathlib.Path
        The files active now.

    Raises
    ------
    ValueError, FileNotFoundError
        As :func:`load_user_instruments`; nothing is activated then.
    """
    new = instrument_files(files, root=root)
    active = _env_files()
    merged = active + [p for p in new if p not in active]
    if merged != active:
        load_user_instruments(merged, _load_cached(str(DEFAULT_REGISTRY.resolve())))
        os.environ[USER_INSTRUMENTS_ENV] = os.pathsep.join(map(str, merged))
    return merged


@contextmanager
def using_instruments(files: Any, *, root: str | Path | None = None) -> Iterator[list[Path]]:
    """Activate user instrument files for the duration of a ``with`` block (then restore).

    Used by the main job around each run, so one run's instruments do not leak into the next.
    Yields the active files (see :func:`activate_instruments`).
    """
    old = os.environ.get(USER_INSTRUMENTS_ENV)
    try:
        yield activate_instruments(files, root=root)
    finally:
        if old is None:
            os.environ.pop(USER_INSTRUMENTS_ENV, None)
        else:
            os.environ[USER_INSTRUMENTS_ENV] = old


def get_instrument(measure: str, registry: dict[str, Instrument] | None = None) -> Instrument:
    """Return one instrument by measure code.

    Parameters
    ----------
    measure : str
        Registry code, as in the ``measure`` column of a cohort's scores (e.g. ``"phq9"``).
    registry : dict of str to Instrument, optional
        Default :func:`load_registry` (the package's registry plus the active user files).

    Returns
    -------
    Instrument
        Range (``min``, ``max``, score points), direction (``better_is``) and the sourced entries
        (``cutoff``, ``remission``, ``reliability``, ``norms``, ``reliable_change``, ``mcid``),
        each value with the ``source`` it was read from and a ``confirmed`` flag.

    Raises
    ------
    ValueError
        If the code is not in the registry (the message lists the known codes).

    Examples
    --------
    PHQ-9 (0-27 points, lower is better): caseness at 10 or more (Kroenke, Spitzer & Williams
    2001), alpha .89, the cutoff applied to the simulated cohort's first session.

    >>> phq9 = get_instrument("phq9")
    >>> phq9.min, phq9.max, phq9.better_is, phq9.cutoff["value"], phq9.cutoff["case_if"]
    (0.0, 27.0, 'lower', 10, '>=')
    >>> phq9.cutoff["source"][:40]
    'Kroenke K., Spitzer R.L. & Williams J.B.'
    >>> phq9.reliability_value, phq9.reliability["type"]
    (0.89, 'internal_consistency')
    >>> from analysis import load_dataset
    >>> cohort = load_dataset("simulated", n_clients=60, seed=1)
    >>> first = cohort.scores.query("measure == 'phq9' and time == 1")["score"]
    >>> int((first >= phq9.cutoff_value).sum()), len(first)  # cases at session 1, of 60
    (55, 60)
    >>> get_instrument("bai")  # not in the package's registry
    Traceback (most recent call last):
    ...
    ValueError: Unknown measure 'bai'; the instrument registry knows [...]
    """
    reg = registry if registry is not None else load_registry()
    try:
        return reg[measure]
    except KeyError:
        raise ValueError(
            f"Unknown measure {measure!r}; the instrument registry knows {sorted(reg)}"
        ) from None


def registry_table(registry: dict[str, Instrument] | None = None) -> pd.DataFrame:
    """The registry as a tidy table, one row per instrument.

    Returns
    -------
    pandas.DataFrame
        Columns ``measure, label, construct, family, min, max, better_is, cutoff, case_if,
        cutoff_source, cutoff_confirmed, reliability, reliability_type, reliability_source,
        reliability_confirmed, reliable_change, reliable_change_source, reliable_change_confirmed,
        mcid, mcid_confirmed, remission, remission_if, remission_source, remission_confirmed,
        norm_mean, norm_sd, norm_confirmed``. Values are in score points
        (reliability a coefficient); ``norm_*`` is the functional (non-clinical) sample.
        Missing values are NaN (numbers) or None (sources and flags).
    """
    reg = registry if registry is not None else load_registry()
    rows = []
    for code, ins in reg.items():
        cut, rel = ins.cutoff or {}, ins.reliability or {}
        rc, mcid = ins.reliable_change or {}, ins.mcid or {}
        rem = ins.remission or {}
        func = (ins.norms or {}).get("functional") or {}
        rows.append(
            {
                "measure": code,
                "label": ins.label,
                "construct": ins.construct,
                "family": ins.family,
                "min": ins.min,
                "max": ins.max,
                "better_is": ins.better_is,
                "cutoff": cut.get("value", np.nan),
                "case_if": cut.get("case_if"),
                "cutoff_source": cut.get("source"),
                "cutoff_confirmed": cut.get("confirmed"),
                "reliability": rel.get("value", np.nan),
                "reliability_type": rel.get("type"),
                "reliability_source": rel.get("source"),
                "reliability_confirmed": rel.get("confirmed"),
                "reliable_change": rc.get("value", np.nan),
                "reliable_change_source": rc.get("source"),
                "reliable_change_confirmed": rc.get("confirmed"),
                "mcid": mcid.get("value", np.nan),
                "mcid_confirmed": mcid.get("confirmed"),
                "remission": rem.get("value", np.nan),
                "remission_if": rem.get("remission_if"),
                "remission_source": rem.get("source"),
                "remission_confirmed": rem.get("confirmed"),
                "norm_mean": func.get("mean", np.nan),
                "norm_sd": func.get("sd", np.nan),
                "norm_confirmed": func.get("confirmed"),
            }
        )
    return pd.DataFrame(rows)


def is_case(score: pd.Series | np.ndarray | float, instrument: Instrument) -> Any:
    """Whether each score is in the clinical range (a *case*) by the instrument's cutoff.

    Parameters
    ----------
    score : array-like of float
        Totals in the instrument's points. NaN gives NaN (not evaluable), never False.
    instrument : Instrument
        Must have a cutoff.

    Returns
    -------
    numpy.ndarray of float (1.0 case, 0.0 not a case, NaN missing), or a float for a scalar.

    Raises
    ------
    ValueError
        If the instrument has no clinical cutoff.
    """
    if instrument.cutoff is None:
        raise ValueError(f"Instrument {instrument.code!r} has no clinical cutoff in the registry")
    op = _CASE_OPS[instrument.cutoff["case_if"]]
    arr = np.asarray(score, dtype=float)
    out = np.where(np.isnan(arr), np.nan, op(arr, instrument.cutoff_value).astype(float))
    return out if out.ndim else float(out)


def is_remitted(score: pd.Series | np.ndarray | float, instrument: Instrument) -> Any:
    """Whether each score is in remission by the instrument's published remission threshold.

    Remission is not "below the caseness cutoff": e.g. PHQ-9 caseness is 10 or more (NHS Talking
    Therapies), remission is a score below 5 (the registry's ``remission`` entry and its source).

    Parameters
    ----------
    score : array-like of float
        Totals in the instrument's points. NaN gives NaN (not evaluable), never False.
    instrument : Instrument
        Must have a ``remission`` entry.

    Returns
    -------
    numpy.ndarray of float (1.0 remitted, 0.0 not, NaN missing), or a float for a scalar.

    Raises
    ------
    ValueError
        If the instrument has no published remission threshold in the registry.

    Examples
    --------
    >>> is_remitted([3, 5, 12], get_instrument("phq9")).tolist()
    [1.0, 0.0, 0.0]
    """
    if instrument.remission is None:
        raise ValueError(
            f"Instrument {instrument.code!r} has no published remission threshold in the "
            "registry (below-caseness is a different definition: use is_case)"
        )
    op = _CASE_OPS[instrument.remission["remission_if"]]
    arr = np.asarray(score, dtype=float)
    out = np.where(np.isnan(arr), np.nan, op(arr, instrument.remission_value).astype(float))
    return out if out.ndim else float(out)


def _boundary_points(instrument: Instrument) -> float:
    """The published cutoff as a J&T cutoff point (strict on both sides, as clinsig uses it).

    For integer totals the boundary lies half a point inside the gap, so that "clinical at pre"
    (strictly beyond) and "functional at post" (strictly on the other side) reproduce the
    published ``case_if`` exactly: PHQ-9 ``>= 10`` gives 9.5 (pre 10 clinical, post 9
    functional). For non-integer totals the published value itself is returned.
    """
    cut = instrument.cutoff or {}
    v = float(cut["value"])
    if not instrument.integer:  # a hair inside, so a score exactly on it keeps case_if's side
        return v + {">=": -1e-9, ">": 0.0, "<=": 1e-9, "<": 0.0}[cut["case_if"]]
    return {">=": v - 0.5, ">": v + 0.5, "<=": v + 0.5, "<": v - 0.5}[cut["case_if"]]


def default_cutoff(instrument: Instrument, cutoff_type: str | None = None) -> dict[str, Any]:
    """The clinical-significance cutoff an analysis should use for an instrument, and why.

    Jacobson & Truax (1991) cutoff *c* needs the mean and SD of a functional (non-clinical)
    population; methodologists use it where such norms exist (Bauer, Lambert & Nielsen 2004).
    Without confirmed norms the instrument's published clinical cutoff is the next best choice;
    cutoff *a* (2 SD beyond the clinical sample's mean) depends on the sample and is used only on
    request.

    Parameters
    ----------
    instrument : Instrument
    cutoff_type : {None, "c", "published", "a", "b"}
        None (default) chooses: ``"c"`` when ``norms.functional`` is confirmed, otherwise
        ``"published"`` when the instrument has a clinical cutoff, otherwise ``"none"``. Any
        other value is returned as requested, with the reason saying it was requested.
        Unconfirmed norms (BDI-II: Kühner et al. 2007 as quoted by the R package
        clinicalsignificance; CES-D: Radloff 1977 from memory) serve ``"c"``/``"b"`` only on
        request, and every reason that involves them says they are UNCONFIRMED.

    Returns
    -------
    dict
        ``cutoff_type`` (``"c"``, ``"published"``, ``"a"``, ``"b"`` or ``"none"``),
        ``m_functional``, ``sd_functional`` (points; None unless c/b with norms), ``cutoff``
        (points, for ``"published"``: the boundary to pass as ``clinsig``'s ``cutoff=``, see
        Notes; else None), ``source`` (citation of the norms or cutoff) and ``reason`` (a
        sentence the report can show).

    Raises
    ------
    ValueError
        For an unknown ``cutoff_type``, or c/b requested without functional norms, or
        ``"published"`` requested for an instrument without a clinical cutoff.

    Notes
    -----
    ``clinsig`` judges a pre score clinical when strictly beyond the cutoff and a post score
    functional when strictly on the other side. For integer totals the published cutoff is
    therefore returned half a point inside the gap (PHQ-9 caseness ``>= 10`` -> 9.5), which
    reproduces the published rule exactly (non-integer totals: 1e-9 inside).

    References
    ----------
    Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19.
    Bauer S., Lambert M.J. & Nielsen S.L. (2004) Clinical significance methods: a comparison of
    statistical techniques. J Pers Assess 82(1):60-70.

    Examples
    --------
    >>> default_cutoff(get_instrument("phq9"))["cutoff_type"]
    'c'
    >>> d = default_cutoff(get_instrument("bdi2"))
    >>> d["cutoff_type"], d["cutoff"]
    ('published', 13.5)
    """
    func = (instrument.norms or {}).get("functional")
    cut = instrument.cutoff
    out: dict[str, Any] = {
        "cutoff_type": None,
        "m_functional": None,
        "sd_functional": None,
        "cutoff": None,
        "source": None,
        "reason": "",
    }
    valid = (None, "c", "b", "a", "published")
    if cutoff_type not in valid:
        raise ValueError(f"cutoff_type must be one of {list(valid)}, got {cutoff_type!r}")
    label = instrument.label
    if cutoff_type in ("c", "b") or (cutoff_type is None and func and func.get("confirmed")):
        if not func:
            raise ValueError(
                f"cutoff {cutoff_type!r} needs functional norms; the registry has none for "
                f"{label} (pass m_functional and sd_functional with their source)"
            )
        kind = cutoff_type or "c"
        conf = "confirmed" if func.get("confirmed") else "UNCONFIRMED"
        out.update(
            cutoff_type=kind,
            m_functional=float(func["mean"]),
            sd_functional=float(func["sd"]),
            source=func["source"],
        )
        out["reason"] = (
            f"Jacobson-Truax cutoff {kind} with {conf} functional norms for {label} "
            f"(M = {func['mean']:g}, SD = {func['sd']:g}; {func['source']})"
            + ("" if cutoff_type else ": cutoff c is the default where norms exist")
            + (f" ({cutoff_type} requested)" if cutoff_type else "")
        )
        return out
    if cutoff_type == "a":
        out.update(cutoff_type="a")
        out["reason"] = (
            "Jacobson-Truax cutoff a (2 SD beyond the clinical sample's mean) as requested; it "
            "depends on the sample and says nothing about the non-clinical population"
        )
        return out
    if cut is not None:
        conf = "confirmed" if cut.get("confirmed") else "UNCONFIRMED"
        out.update(
            cutoff_type="published", cutoff=_boundary_points(instrument), source=cut["source"]
        )
        if cutoff_type == "published":
            why = "requested"
        elif func:  # norms recorded but not read in their source: c only on request
            why = (
                "no confirmed functional norms in the registry, so cutoff c is not the default "
                f"(the registry's norms, M = {func['mean']:g}, SD = {func['sd']:g}; "
                f"{func['source']}, are UNCONFIRMED; cutoff c uses them only on request)"
            )
        else:
            why = "no confirmed functional norms in the registry, so cutoff c is not available"
        out["reason"] = (
            f"the published {conf} clinical cutoff of {label} (case if score {cut['case_if']} "
            f"{cut['value']:g}; {cut['source']}): {why}"
        )
        return out
    if cutoff_type == "published":
        raise ValueError(f"{label} has no published clinical cutoff in the registry")
    out.update(cutoff_type="none")
    out["reason"] = (
        f"not computed: {label} has neither confirmed functional norms nor a published clinical "
        "cutoff in the registry (cutoff a only on request)"
    )
    return out


#: Values of the run parameter ``cutoff_type`` (notebooks, runs.yaml, definitions): ``default``
#: (alias ``instrument``, the name earlier versions used) is :func:`default_cutoff`'s choice;
#: ``published`` the registry's clinical cutoff; ``a``, ``b``, ``c`` the Jacobson-Truax cutoffs
#: as requested.
CUTOFF_TYPES = ("default", "published", "instrument", "a", "b", "c")

#: How a report names each cutoff type (parameter ``cutoff_type``, a multiverse level):
#: short, for table cells; what the type resolves to for an instrument is
#: :func:`cutoff_choices`.
CUTOFF_TYPE_LABELS = {
    "default": "registry default",
    "instrument": "registry default",
    "published": "published clinical cutoff",
    "a": "cutoff a",
    "b": "cutoff b",
    "c": "cutoff c",
}


def resolve_cutoff(
    instrument: Instrument,
    cutoff_type: str | None = "default",
    m_functional: float | None = None,
    sd_functional: float | None = None,
) -> dict[str, Any]:
    """The J&T cutoff a run uses, as keyword arguments for ``clinsig``, and why.

    Parameters
    ----------
    instrument : Instrument
    cutoff_type : {"default", "published", "instrument", "a", "b", "c"} or None
        ``default`` (or None, or its alias ``instrument``): :func:`default_cutoff`'s choice (c
        where the registry has confirmed functional norms, else the published clinical cutoff);
        ``published``: the registry's clinical cutoff; ``a``, ``b``, ``c`` as requested.
    m_functional, sd_functional : float, optional
        Functional-population mean and SD (points) given for the run. They win over the
        registry's norms for b and c; with ``default`` they make the choice cutoff c.

    Returns
    -------
    dict
        As :func:`default_cutoff` (``cutoff_type``, ``m_functional``, ``sd_functional``,
        ``cutoff``, ``source``, ``reason``), plus ``requested`` (the value given) and ``kwargs``
        (``cutoff_type``, ``m_functional``, ``sd_functional``, ``cutoff`` for
        :func:`analysis.outcomes.clinsig.clinical_significance_prepost`; empty when the
        instrument has neither norms nor a cutoff, ``cutoff_type`` "none").

    Raises
    ------
    ValueError
        For an unknown ``cutoff_type``; b or c without norms (registry or given); ``published``
        for an instrument without a clinical cutoff.

    Examples
    --------
    >>> r = resolve_cutoff(get_instrument("phq9"))
    >>> r["cutoff_type"], r["kwargs"]["m_functional"], r["kwargs"]["sd_functional"]
    ('c', 2.91, 3.51)
    >>> resolve_cutoff(get_instrument("bdi2"))["kwargs"]
    {'cutoff': 13.5}
    >>> resolve_cutoff(get_instrument("bdi2"), "c", m_functional=7, sd_functional=7)["cutoff_type"]
    'c'
    """
    requested = "default" if cutoff_type is None else cutoff_type
    if requested not in CUTOFF_TYPES:
        raise ValueError(f"cutoff_type must be one of {list(CUTOFF_TYPES)}, got {cutoff_type!r}")
    given = m_functional is not None and sd_functional is not None
    if requested in ("b", "c", "default", "instrument") and given:
        kind = requested if requested in ("b", "c") else "c"
        out = {
            "cutoff_type": kind,
            "m_functional": float(m_functional),
            "sd_functional": float(sd_functional),
            "cutoff": None,
            "source": "functional norms given for this run",
            "reason": (
                f"Jacobson-Truax cutoff {kind} with the functional norms given for this run "
                f"(M = {float(m_functional):g}, SD = {float(sd_functional):g} {instrument.label} "
                "points; source as given in the run's parameters)"
            ),
        }
    else:
        asked = {"default": None, "instrument": None}.get(requested, requested)
        out = default_cutoff(instrument, asked)
    kind = out["cutoff_type"]
    if kind in ("b", "c"):
        kwargs = {
            "cutoff_type": kind,
            "m_functional": out["m_functional"],
            "sd_functional": out["sd_functional"],
        }
    elif kind == "a":
        kwargs = {"cutoff_type": "a"}
    elif kind == "published":
        kwargs = {"cutoff": out["cutoff"]}
    else:
        kwargs = {}
    return {**out, "requested": requested, "kwargs": kwargs}


def cutoff_choices(
    instrument: Instrument, cutoff_types: Iterable[str]
) -> list[tuple[str, str, str]]:
    """What each J&T cutoff type means for one instrument: for a methods table.

    Parameters
    ----------
    instrument : Instrument
    cutoff_types : iterable of str
        Values of :data:`CUTOFF_TYPES` (e.g. a multiverse grid's ``cutoff_type`` levels).

    Returns
    -------
    list of (item, value, source) tuples
        One per cutoff type, in the order given: item ``"<label> J&T cutoff, <type's label>"``
        (:data:`CUTOFF_TYPE_LABELS`); value the type it resolves to (its label) with the
        published boundary (points) or the functional norms (points, marked UNCONFIRMED where
        the registry has not read them in their source), or
        ``"not computed: <reason>"`` where the instrument cannot support it; source the reason
        of :func:`resolve_cutoff` (which names the norms' or cutoff's source).

    Raises
    ------
    ValueError
        For a value not in :data:`CUTOFF_TYPES`.

    Examples
    --------
    >>> rows = cutoff_choices(get_instrument("bdi2"), ["default", "c"])
    >>> rows[0][0]
    'BDI-II J&T cutoff, registry default'
    >>> rows[0][1]
    'published clinical cutoff: 13.5 points (case if score >= 14)'
    >>> rows[1][1]
    'cutoff c: functional norms M = 7.69, SD = 7.52 points (UNCONFIRMED)'
    """
    rows = []
    item = f"{instrument.label} J&T cutoff"
    for kind in cutoff_types:
        if kind not in CUTOFF_TYPES:
            raise ValueError(f"cutoff_type must be one of {list(CUTOFF_TYPES)}, got {kind!r}")
        try:
            r = resolve_cutoff(instrument, kind)
        except ValueError as exc:
            rows.append(
                (
                    f"{item}, {CUTOFF_TYPE_LABELS[kind]}",
                    f"not computed: {exc}",
                    "instrument registry",
                )
            )
            continue
        got = r["cutoff_type"]
        if got == "published":
            cut = instrument.cutoff or {}
            value = (
                f"{CUTOFF_TYPE_LABELS['published']}: {r['cutoff']:g} points (case if score "
                f"{cut['case_if']} {cut['value']:g})"
            )
        elif got in ("b", "c"):
            func = (instrument.norms or {}).get("functional") or {}
            conf = "" if func.get("confirmed") else " (UNCONFIRMED)"
            value = (
                f"{CUTOFF_TYPE_LABELS[got]}: functional norms M = {r['m_functional']:g}, "
                f"SD = {r['sd_functional']:g} points{conf}"
            )
        elif got == "a":
            value = (
                f"{CUTOFF_TYPE_LABELS['a']}: 2 SD of the clinical sample's baseline scores beyond "
                "their mean"
            )
        else:
            value = r["reason"]
        rows.append((f"{item}, {CUTOFF_TYPE_LABELS[kind]}", value, r["reason"]))
    return rows
