"""The main job: execute every notebook for every configured run, render HTML, write the index.

Usage
-----
``python -m analysis run [-f RUNS.yaml] [-p NAME=VALUE ...] [--only RUN ...] [--jobs N]
[--scheduler ADDRESS] [--keep-going] [--timeout SECONDS] [--out FOLDER] [--notebook PATH ...]``

The command line is here; the run configuration is :mod:`analysis.run.runs`, the kernels
:mod:`analysis.run.kernel`, the execution :mod:`analysis.run.execute`.

Runs and parameters
    ``config/runs.yaml`` (in the package) is the default set of runs. ``-f FILE`` replaces it by
    another runs file of the same form: a top-level mapping ``runs:`` whose entries are run names
    (letters, digits, ``_`` and ``-``) mapping to ``title``, ``dataset`` (btheb, help, simulated or
    file), ``dataset_options`` (a mapping given to the loader) and ``parameters`` (a mapping of
    notebook parameters). ``-p NAME=VALUE`` (also ``--set``; repeatable) overrides one parameter
    in every selected run; ``-p RUN.NAME=VALUE`` only in run ``RUN``. Overrides are applied after
    the file, in the order given. The value is converted by the parameter's declared type (see
    :mod:`analysis.run.params`): ``-p suppress_small_counts=false``, ``-p btheb.reliability=0.9``,
    ``-p post=8`` (text, since ``post`` is text).

    User instruments: ``instruments:`` at the top of a runs file adds instruments for every run
    (a YAML file or a list of them, relative to the project root, each of the form
    ``instruments: {code: entry}``; or the entries themselves, a mapping of code -> entry); a
    run's ``dataset_options.instruments`` adds files for that run. They are validated like the
    package's registry (:func:`analysis.registry.instruments.load_user_instruments`) before
    anything runs and are active while the run executes (its notebooks' kernels included).

    Before any notebook starts, every run and every parameter is checked against the typed schema
    (:mod:`analysis.run.params`); an unknown name, a wrong type (the text ``"false"`` for a
    boolean, a code that YAML read as a number), an unknown dataset or a file whose top level is
    not a mapping stops the job with exit code 2 and a message naming the parameter; a user's
    export (dataset
    ``file``) is read through its spec, so an unreadable file, an export with no data rows or with
    no usable record stops the job there too. ``suppress_small_counts`` is
    set to true for real data and false for simulated data unless the run sets it;
    ``disclosure_method`` (``suppression``, the default, or ``rounding``) chooses how
    (:mod:`analysis.report.disclosure`).

Execution
    Notebooks (``notebooks/NN_*.ipynb`` of the project, whatever the working folder) run under
    papermill in this interpreter through a temporary kernelspec, never a kernel registered by
    hand, over IPC sockets where the platform has them. Each run starts one kernel and executes
    its notebooks in it one after the other, resetting the namespace between notebooks (imported
    modules stay loaded); a failing notebook's kernel is replaced. Each run loads and scores its
    data once, into a temporary folder handed to the notebooks (parameter ``data_cache``, read by
    :func:`analysis.run.workflow.outcomes_for_notebook`). Each executed notebook is rendered to one
    self-contained HTML file without code (no external scripts), next to its CSV tables, in
    ``<out>/<run>/``; ``<out>/index.html`` lists every run. A progress line names the run and
    notebook being executed.

    ``--jobs N`` (N > 1, several runs) executes the runs on a local Dask distributed cluster of
    N worker processes, one run per worker at a time. ``--scheduler ADDRESS`` (e.g.
    ``tcp://10.0.0.5:8786``) executes them on an existing Dask cluster instead: its workers must
    import this project (same environment) and write to ``--out`` (a shared folder); a notebook
    declaring a ``scheduler`` parameter (the multiverse grid) is given the address and runs its
    grid on that cluster too, so the cluster needs a worker thread more than the runs executing
    at once. The CSV tables are byte for byte the same whatever ``--jobs`` or ``--scheduler``.

Failures
    An exception, a failing magic, a cell running longer than ``--timeout`` seconds, ``sys.exit``
    or a dead kernel fails the notebook: its HTML opens with a red failure banner naming the cell,
    the job stops (``--keep-going``: runs everything else and lists every failure at the end) and
    the exit code is 1.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from pathlib import Path
from typing import Any

import yaml

from analysis.registry import paths
from analysis.run.execute import DEFAULT_TIMEOUT, _git_commit, _versions, run_all
from analysis.run.runs import discover_notebooks, load_runs, prepare_runs

__all__ = [
    "provenance",
    "main",
]


def provenance(run: str = "", data_sha256: str = "") -> dict[str, Any]:
    """What produced a report: run name, git commit, date (UTC), data SHA-256, package versions.

    Parameters
    ----------
    run : str
        Run name (``runs.yaml``).
    data_sha256 : str
        :func:`analysis.data.datasets.fingerprint` of the input cohort.

    Returns
    -------
    dict
        Keys ``run``, ``git_commit``, ``date``, ``data_sha256``, ``versions``.
    """
    return {
        "run": run,
        "git_commit": _git_commit(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "data_sha256": data_sha256,
        "versions": _versions(),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis run``: the main job (see the module docstring).

    Returns
    -------
    int
        0 when every notebook succeeded, 1 when any failed, 2 for a bad configuration (nothing
        executed).
    """
    ap = argparse.ArgumentParser(
        prog="python -m analysis run",
        description="Execute every notebook for every run; HTML reports, CSV tables, index.",
        epilog="Examples: -p btheb.reliability=0.9   -p suppress_small_counts=false   "
        "-f my_runs.yaml --only mine --jobs 2",
    )
    ap.add_argument(
        "-f",
        "--runs-file",
        metavar="RUNS.yaml",
        help="runs file replacing the package's config/runs.yaml (same form)",
    )
    ap.add_argument(
        "-p",
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="[RUN.]NAME=VALUE",
        help="override one parameter in every run, or only in RUN (repeatable)",
    )
    ap.add_argument("--only", nargs="+", metavar="RUN", help="run names to execute (default: all)")
    ap.add_argument(
        "--notebook",
        action="append",
        metavar="PATH",
        help="execute these notebooks instead of the project's (repeatable)",
    )
    ap.add_argument("--out", help="output folder (default: <project>/reports)")
    ap.add_argument(
        "--keep-going",
        action="store_true",
        help="after a failure run the rest, then list every failure",
    )
    ap.add_argument(
        "--timeout",
        type=int,
        default=DEFAULT_TIMEOUT,
        help=f"seconds allowed per cell (default {DEFAULT_TIMEOUT})",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs executed in parallel on a local Dask cluster of N worker processes (default 1:"
        " in this process)",
    )
    ap.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of an existing Dask scheduler (tcp://host:8786) to execute the runs on; "
        "notebooks with a multiverse grid run it there too",
    )
    args = ap.parse_args(argv)
    if args.jobs < 1 or args.timeout < 1:
        print("error: --jobs and --timeout must be at least 1", file=sys.stderr)
        return 2
    notebooks = (
        [Path(p).resolve() for p in args.notebook] if args.notebook else discover_notebooks()
    )
    try:
        missing = [str(p) for p in notebooks if not p.is_file()]
        if missing or not notebooks:
            raise ValueError(f"notebook(s) not found: {missing or 'none in the project'}")
        runs = load_runs(args.runs_file)
        if args.only:
            unknown = sorted(set(args.only) - set(runs))
            if unknown:
                raise ValueError(f"unknown run(s) {unknown}; configured: {sorted(runs)}")
            runs = {k: v for k, v in runs.items() if k in args.only}
        runs = prepare_runs(runs, args.overrides, notebooks)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out_root = Path(args.out).resolve() if args.out else paths.reports_dir()
    out_root.mkdir(parents=True, exist_ok=True)
    where = (
        f"on the Dask cluster at {args.scheduler}" if args.scheduler else f"{args.jobs} in parallel"
    )
    print(
        f"{len(runs)} run(s) x {len(notebooks)} notebook(s), {where}, into {out_root}",
        flush=True,
    )
    results = run_all(
        runs,
        out_root,
        notebooks,
        keep_going=args.keep_going,
        timeout=args.timeout,
        jobs=args.jobs,
        scheduler=args.scheduler,
    )
    failed = [r for r in results if not r.ok]
    print(
        f"\n{len(results) - len(failed)} of {len(results)} notebooks succeeded; "
        f"index: {out_root / 'index.html'}",
        flush=True,
    )
    if failed:
        print(f"{len(failed)} FAILED:", file=sys.stderr)
        for r in failed:
            print(f"  FAILED [run {r.run}] {r.error}", file=sys.stderr)
    return 1 if failed else 0
