"""Report: what a reader sees.

Owns the figures (``plots``, ``plots_compare``, ``plots_session``), display tables, small-count
suppression and the HTML fragments of a report (``tables``), the run-wide disclosure plan
(``disclosure``) and its application to every table and CSV (``disclosure_tables``), sentences
and numbers as a reviewer reads them (``text``), the rendered page (``html``) and the index of a
main-job output folder (``index``).

May import: ``analysis.compare``, ``analysis.outcomes``, ``analysis.data``, ``analysis.registry``.
"""

__all__: list[str] = []
