"""Registry: the project's configuration, the lowest layer.

Owns where things live (``paths``), the instrument registry (``instruments``: range, direction,
cutoffs, reliability, norms of every instrument) and the definitions of success
(``definitions``), read from the YAML files in ``analysis/config/``, each number next to its
source. Every YAML config is read and validated here.

May import: nothing from ``analysis`` outside this subpackage. It sits below ``data`` because the
readers and the schema validate scores against the instruments' ranges.
"""

__all__: list[str] = []
