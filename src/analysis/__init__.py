"""Psychotherapy outcome definitions, side by side.

``analysis`` takes a cohort in long format (one row per client x time point x measure, plus a client
table) and answers, per definition of a successful outcome: who succeeds, how often, how far the
definitions agree, how fast each is reached and what predicts it.

The package is six layers; a lower layer never imports a higher one (tests/test_layout.py)::

    registry  instruments, definitions, paths, the YAML loader       (imports nothing)
    data      schema, Cohort, readers, quarantine, items, datasets    (registry)
    outcomes  rule kinds, the outcomes table, reliable change         (data, registry)
    compare   prevalence, agreement, survival, alliance               (outcomes and below)
    report    figures, tables, suppression, HTML                      (compare and below)
    run       parameters, pipeline, notebook glue, command line       (everything)

The public API is re-exported here; ``from analysis import clinical_significance`` is the way in.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The public API, listed once, in the order of the flow: name -> the module that defines it.
#: Loaded on first use (PEP 562), so ``import analysis`` and the command line stay fast while
#: ``from analysis import clinical_significance`` works as an ordinary import.
_PUBLIC: dict[str, str] = {
    # registry: instruments and definitions
    "get_instrument": "analysis.registry.instruments",
    "load_registry": "analysis.registry.instruments",
    "load_definitions": "analysis.registry.definitions",
    # data: the cohort, reading, storing, simulating
    "Cohort": "analysis.data.cohort",
    "load_dataset": "analysis.data.datasets",
    "read_cohort_file": "analysis.data.readers",
    "read_cohort": "analysis.data.store",
    "write_cohort": "analysis.data.store",
    "simulate_cohort": "analysis.data.simulate",
    # outcomes: the one outcomes table; reliable change by family; sudden gains
    "score_definitions": "analysis.outcomes.engine",
    "score_outcomes": "analysis.outcomes.engine",
    "compare_methods": "analysis.outcomes.engine",
    "clinical_significance": "analysis.outcomes.clinsig",
    "summarise_categories": "analysis.outcomes.clinsig",
    "clinical_significance_prepost": "analysis.outcomes.distribution",
    "clinical_cutoff": "analysis.outcomes.distribution",
    "reliable_change_index": "analysis.outcomes.distribution",
    "ha_group_summary": "analysis.outcomes.distribution",
    "percentage_change": "analysis.outcomes.percentage",
    "percentage_change_prepost": "analysis.outcomes.percentage",
    "anchor_individual": "analysis.outcomes.anchor",
    "anchor_individual_prepost": "analysis.outcomes.anchor",
    "anchor_group": "analysis.outcomes.anchor",
    "NotComputedError": "analysis.outcomes.prepost",
    "sudden_gains": "analysis.outcomes.sudden_gains",
    # compare: definitions side by side
    "prevalence": "analysis.compare.prevalence",
    "wilson_interval": "analysis.compare.prevalence",
    "pairwise_agreement": "analysis.compare.agreement",
    "time_to_event": "analysis.compare.survival",
    "km_summary": "analysis.compare.survival",
    "on_track": "analysis.compare.on_track",
    "run_multiverse": "analysis.compare.multiverse",
}

__all__ = list(_PUBLIC)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    """The module's names and the public API."""
    return sorted({*globals(), *__all__})


__version__ = "0.2.0"  # the one place; pyproject.toml and CITATION.cff follow
