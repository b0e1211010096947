"""Report: what a reader sees.

Owns the figures (``plots``, ``plots_compare``), display tables, small-count suppression and the
HTML fragments of a report (``tables``; later split into tables and HTML), and disclosure control.

May import: ``analysis.compare``, ``analysis.outcomes``, ``analysis.data``, ``analysis.registry``.
"""

__all__: list[str] = []
