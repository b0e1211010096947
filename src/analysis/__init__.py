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

from analysis.data.cohort import Cohort
from analysis.outcomes.anchor import anchor_group, anchor_individual, anchor_individual_prepost
from analysis.outcomes.clinsig import clinical_significance, summarise_categories
from analysis.outcomes.distribution import clinical_significance_prepost, ha_group_summary
from analysis.outcomes.percentage import percentage_change, percentage_change_prepost
from analysis.outcomes.engine import compare_methods, score_definitions, score_outcomes

__all__ = [
    "Cohort",
    "anchor_group",
    "anchor_individual",
    "clinical_significance",
    "clinical_significance_prepost",
    "compare_methods",
    "ha_group_summary",
    "percentage_change",
    "percentage_change_prepost",
    "anchor_individual_prepost",
    "score_definitions",
    "score_outcomes",
    "summarise_categories",
]
__version__ = "0.2.0"  # the one place; pyproject.toml and CITATION.cff follow
