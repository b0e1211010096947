"""Outcomes: from a cohort to the one per-client outcomes table.

Owns the rule kinds (``rules``), the engine that scores every definition into the outcomes
table (``engine``) and the reliable and clinically significant change methods, split by family:
``clinsig`` (the long-format entry point ``clinical_significance`` and ``summarise_categories``),
``distribution`` (JT, GLN, HLL, EN, NK, HA and the clinical cutoffs), ``hlm`` (the REML growth
model and its classification), ``percentage``, ``anchor``, and ``prepost`` (the long -> pre/post
reshaping, checks, category labels and ``NotComputedError`` they share). Also sudden gains
(``sudden_gains``) and multiple imputation of post scores (``imputation``).

May import: ``analysis.data``, ``analysis.registry``.
"""

__all__: list[str] = []
