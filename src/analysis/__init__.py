"""Psychotherapy outcome definitions, side by side.

``analysis`` takes a cohort in long format (one row per client x time point x measure, plus a client
table) and answers, per definition of a successful outcome: who succeeds, how often, how far the
definitions agree, how fast each is reached and what predicts it.

Modules (one concern each): ``paths``; ``schema`` and ``cohort`` (the data model, pandera);
``io`` (the only module that touches files: readers, quarantine, cohort folders) and ``scoring``
(item-level questionnaire scoring); ``instruments`` and ``definitions`` (the two registries,
YAML); ``rules`` (rule kinds), ``outcomes`` (the per-client outcomes table) and ``clinsig``
(reliable and clinically significant change, matching the R package clinicalsignificance);
``stats``, ``agreement``, ``survival``, ``alliance``; ``simulate`` and ``datasets``; ``plots``,
``plots_compare``, ``report``; ``params``, ``pipeline``, ``workflow`` and ``cli`` (the headless
main job).
"""

from analysis.clinsig import (
    anchor_group,
    anchor_individual,
    anchor_individual_prepost,
    clinical_significance,
    clinical_significance_prepost,
    ha_group_summary,
    percentage_change,
    percentage_change_prepost,
    summarise_categories,
)
from analysis.cohort import Cohort
from analysis.outcomes import compare_methods, score_definitions, score_outcomes

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
