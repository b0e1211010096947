"""Data: the data model and everything that reads or writes cohort files.

Owns the long-format schema and its pandera validation (``schema``), the ``Cohort`` container
(``cohort``), the readers, quarantine and Parquet cohort store (``io``), item-level
questionnaire scoring (``items``), the bundled real datasets (``datasets``) and the simulated
cohort (``simulate``).

May import: ``analysis.registry``.
"""

__all__: list[str] = []
