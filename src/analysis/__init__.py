"""Psychotherapy outcome definitions, side by side.

``analysis`` takes a cohort in long format (one row per client x time point x measure, plus a client
table) and answers, per definition of a successful outcome: who succeeds, how often, how far the
definitions agree, how fast each is reached and what predicts it.

Modules (one concern each): ``paths``, ``instruments`` (registry of measures), ``schema`` (the data
model, validated with pandera), ``io`` (the only module that touches files), ``datasets`` (real
published trials), ``clinsig`` (reliable and clinically significant change), ``outcomes`` (per-client
outcome definitions), ``stats`` (prevalence with intervals), ``plots``, ``report`` and ``pipeline``
(rendering and the headless main job), ``cli``.
"""

from analysis.clinsig import clinical_significance
from analysis.cohort import Cohort

__all__ = ["Cohort", "clinical_significance"]
__version__ = "0.1.0"
