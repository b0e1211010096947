"""Command line: ``python -m analysis <command>``.

Commands
--------
run       the main job: every notebook for every configured run, HTML in ``reports/``
simulate  generate a simulated cohort (Parquet)
validate  check an input file and print the row account, running nothing

Each command lives in its own module; this file only dispatches (imports are lazy so that
``--help`` is fast).
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_COMMANDS = {
    "run": ("analysis.run.pipeline", "main"),
    "simulate": ("analysis.data.simulate", "main"),
    "validate": ("analysis.run.validate", "main_validate"),
}

_USAGE = """usage: python -m analysis <command> [options]

commands:
  run        run every notebook for every configured run; HTML and CSV into reports/
  simulate   generate a simulated cohort as Parquet
  validate   check an input file and print rows in = kept + quarantined

python -m analysis <command> --help  shows each command's options
"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a command's own ``main(argv) -> int``; returns the exit code."""
    try:
        return _dispatch(argv)
    except BrokenPipeError:
        # output piped into a reader that stopped early (``| head``): not an error of ours;
        # point stdout at devnull so the interpreter's final flush does not raise again
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _dispatch(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_USAGE)
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in _COMMANDS:
        print(f"unknown command {cmd!r}\n\n{_USAGE}", file=sys.stderr)
        return 2
    import importlib

    module, func = _COMMANDS[cmd]
    return int(getattr(importlib.import_module(module), func)(rest) or 0)
