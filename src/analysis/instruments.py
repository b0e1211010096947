"""Registry of outcome measures: range, direction, cutoff, reliability and norms, each with a source.

The registry is data (``config/instruments.yaml``); this module only loads, validates and queries it.
Every value carries its source and a ``confirmed`` flag (see the YAML header).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from analysis.paths import CONFIG_DIR

__all__ = [
    "Instrument",
    "load_registry",
    "get_instrument",
    "registry_table",
    "is_case",
    "DEFAULT_REGISTRY",
]

DEFAULT_REGISTRY = CONFIG_DIR / "instruments.yaml"

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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def cutoff_value(self) -> float | None:
        """Clinical cutoff in score points, or None when the instrument has none."""
        return None if self.cutoff is None else float(self.cutoff["value"])

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
}


def _parse(code: str, entry: Any, path: Path) -> Instrument:
    if not isinstance(entry, dict):
        raise ValueError(f"{path}: instrument '{code}' must be a mapping, got {type(entry).__name__}")
    missing = [k for k in _REQUIRED if k not in entry]
    if missing:
        raise ValueError(f"{path}: instrument '{code}' lacks key(s) {missing}")
    if entry["better_is"] not in ("lower", "higher"):
        raise ValueError(
            f"{path}: instrument '{code}': better_is must be 'lower' or 'higher', "
            f"got {entry['better_is']!r}"
        )
    if not float(entry["min"]) < float(entry["max"]):
        raise ValueError(f"{path}: instrument '{code}': min must be below max")
    for key in ("cutoff", "reliability", "reliable_change", "mcid"):
        sub = entry.get(key)
        if sub is None:
            continue
        if "value" not in sub or "source" not in sub or "confirmed" not in sub:
            raise ValueError(
                f"{path}: instrument '{code}', key '{key}' needs 'value', 'source' and 'confirmed'"
            )
    cut = entry.get("cutoff")
    if cut is not None and cut.get("case_if") not in _CASE_OPS:
        raise ValueError(
            f"{path}: instrument '{code}': cutoff.case_if must be one of {sorted(_CASE_OPS)}"
        )
    rel = entry.get("reliability")
    if rel is not None:
        if not 0 < float(rel["value"]) < 1:
            raise ValueError(f"{path}: instrument '{code}': reliability must lie in (0, 1)")
        if rel.get("type") not in ("internal_consistency", "test_retest"):
            raise ValueError(
                f"{path}: instrument '{code}': reliability.type must be "
                "'internal_consistency' or 'test_retest'"
            )
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
        extra={k: v for k, v in entry.items() if k not in _KNOWN},
    )


@lru_cache(maxsize=8)
def _load_cached(path: str) -> dict[str, Instrument]:
    p = Path(path)
    with p.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, dict) or not isinstance(raw.get("instruments"), dict):
        raise ValueError(f"{p}: expected a top-level mapping with key 'instruments'")
    return {str(code): _parse(str(code), e, p) for code, e in raw["instruments"].items()}


def load_registry(path: str | Path | None = None) -> dict[str, Instrument]:
    """Load the instrument registry.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; default the package's ``config/instruments.yaml``.

    Returns
    -------
    dict of str to Instrument
        Keyed by measure code. A fresh dict each call (the cached records are immutable).

    Raises
    ------
    ValueError
        If an entry lacks a required key, has an unknown direction, a reliability outside (0, 1)
        or a value without ``source`` and ``confirmed``; the message names the file and instrument.
    """
    return dict(_load_cached(str(Path(path or DEFAULT_REGISTRY).resolve())))


def get_instrument(measure: str, registry: dict[str, Instrument] | None = None) -> Instrument:
    """Return one instrument by measure code.

    Raises
    ------
    ValueError
        If the code is not in the registry (the message lists the known codes).
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
        reliability_confirmed``.
    """
    reg = registry if registry is not None else load_registry()
    rows = []
    for code, ins in reg.items():
        cut, rel = ins.cutoff or {}, ins.reliability or {}
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
