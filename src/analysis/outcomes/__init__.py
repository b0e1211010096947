"""Outcomes: from a cohort to the one per-client outcomes table.

Owns the rule kinds (``rules``), the engine that scores every definition into the outcomes
table (``engine``) and the reliable and clinically significant change methods (``clinsig``;
to be split by family: distribution-based, HLM, percentage, anchor).

May import: ``analysis.data``, ``analysis.registry``.
"""

__all__: list[str] = []
