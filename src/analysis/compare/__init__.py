"""Compare: analyses of the outcomes table, definitions side by side.

Owns prevalence with Wilson intervals (``prevalence``), agreement between definitions
(``agreement``), time to success (``survival``), the working alliance (``alliance``) and later
the multiverse and session-level analyses (sudden gains, on track). The statistical guards live
beside the models they guard: ``survival.check_durations``, ``agreement.check_separation``.

May import: ``analysis.outcomes``, ``analysis.data``, ``analysis.registry``.
"""

__all__: list[str] = []
