"""Data: the data model and everything that reads or writes cohort files.

Owns the long-format schema and its pandera validation (``schema``), the ``Cohort`` container
(``cohort``), the readers (``readers``), the quarantine of rejected records (``quarantine``), the
Parquet cohort store and CSV writer (``store``), item-level questionnaire scoring (``items``), the
bundled real datasets (``datasets``) and the simulated cohort (``simulate``).

May import: ``analysis.registry``.
"""

__all__: list[str] = []
