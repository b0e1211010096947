"""``python -m analysis validate``: the row account of an input file, running nothing.

Reads an export as a run would (a reader spec, or a run of a runs file), prints rows in = kept +
quarantined with the reasons, and writes the quarantined rows where asked. When the columns are
not named it lists the file's columns and a spec to start from. The reading itself lives in
:mod:`analysis.data.readers`; this module is only the command line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.data.cohort import Cohort
from analysis.data.quarantine import REASONS, Quarantine
from analysis.data.readers import load_spec, read_cohort_file, read_table
from analysis.registry.paths import resolve_path

__all__ = ["main_validate"]


def _spec_help(path: str, spec: dict) -> str:
    """What ``validate`` needs when the columns are not named: the file's columns and a spec."""
    try:
        data, _, _ = read_table(
            resolve_path(path),
            spec.get("format"),
            sheet=spec.get("sheet"),
            header_row=int(spec.get("header_row", 1)),
            encoding=spec.get("encoding"),
            sep=spec.get("sep"),
        )
    except (ValueError, OSError):
        return ""
    cols = [str(c) for c in data.columns]
    shown = ", ".join(cols[:30]) + (f", ... ({len(cols)} columns)" if len(cols) > 30 else "")
    return (
        f"\nThe file's columns are: {shown}\n"
        "Tell the reader which column is which, in a reader spec (a YAML file) or in a runs file:\n"
        "  # long layout: one line per client x time point (x measure)\n"
        "  columns: {id: <client column>, time: <session column>, measure: <questionnaire "
        "column>, score: <total column>}\n"
        "  measure: phq9                 # instead of a measure column, when the file holds one "
        "measure\n"
        "  scores: {phq9: <PHQ-9 column>, gad7: <GAD-7 column>}   # or one column per measure\n"
        "  # wide layout: one line per client, one column per measure x time point\n"
        "  layout: wide\n"
        "  columns: {id: <client column>}\n"
        "  wide: {pattern: '^(?P<measure>phq9|gad7)_s(?P<time>\\d+)$'}   # or "
        "{<column>: {measure: phq9, time: 0}, ...}\n"
        'then: make validate ARGS="FILE --spec my_spec.yaml" or make validate '
        'ARGS="-f my_runs.yaml" (see analysis.data.readers and README, "Your own data")'
    )


def _print_account(cohort: Cohort, q: Quarantine, max_show: int) -> None:
    s = q.summary()
    print(f"file: {s['source']}")
    # A data row, not a physical line: a quoted note with a line break spans two lines of the
    # file but is one row (the README's example: 121 rows on 122 lines after the header).
    print(f"unit: {s['unit']}; data rows read: {s['lines_in']} (header excluded)")
    for k, v in s.get("reading", {}).items():
        print(f"{k}: {v}")
    print(q.account())
    print(f"clients: {cohort.n_clients}; measures: {', '.join(cohort.measures) or '-'}")
    if s["reasons"]:
        print("quarantined by reason:")
        for r, n in s["reasons"].items():
            print(f"  {r:<18} {n:>6}  {REASONS.get(r, '')}")
        shown = q.rows.sort_values(["row", "column"], kind="mergesort").head(max_show)
        print("quarantined records (row = line in the file / sheet row / record number):")
        with pd.option_context("display.width", 200, "display.max_colwidth", 90):
            print(shown[["row", "column", "reason", "detail"]].to_string(index=False))
        if len(q.rows) > max_show:
            print(f"  ... {len(q.rows) - max_show} more (use --quarantine-out)")
    for k, v in s.get("notes", {}).items():
        print(f"note: {k} = {v}")
    if cohort.scores["score"].notna().sum() == 0:
        print("WARNING: no usable score: the main job would stop before any notebook")


def main_validate(argv: list[str] | None = None) -> int:
    """``python -m analysis validate [FILE] [--spec SPEC.yaml] [-f RUNS.yaml [--only RUN ...]]``.

    Reads FILE through the reader spec (without one: long layout with columns ``id, time,
    measure, score``), or every run of dataset ``file`` of a runs file through its
    ``dataset_options`` (with the runs file's user instruments), prints how the file was read
    (encoding, delimiter, decimal mark), the row account, the quarantine reasons by count and the
    quarantined records, and runs nothing else. ``--spec`` also takes a runs file. When the
    columns are not named it lists the file's columns and the spec it needs.

    Returns
    -------
    int
        0 when every file could be read (even with quarantined records); 2 when one cannot be
        read at all (the message names the file and, where known, the line and column).
    """
    parser = argparse.ArgumentParser(
        prog="python -m analysis validate",
        description="Check input files: rows in = rows kept + rows quarantined. Runs nothing.",
        epilog="Examples: validate export.csv --spec my_spec.yaml;  validate -f my_runs.yaml",
    )
    parser.add_argument(
        "file", nargs="?", help="the data file (CSV, Excel, Parquet, SPSS .sav, Stata .dta)"
    )
    parser.add_argument(
        "--spec",
        help="YAML reader spec (column mapping; see analysis.data.readers), or a runs file",
    )
    parser.add_argument(
        "-f",
        "--runs-file",
        metavar="RUNS.yaml",
        help="check every run of dataset 'file' in this runs file (as the main job reads them)",
    )
    parser.add_argument("--only", nargs="+", metavar="RUN", help="with -f: only these runs")
    parser.add_argument(
        "--instruments",
        action="append",
        default=[],
        metavar="FILE.yaml",
        help="user instrument file adding measure codes (repeatable)",
    )
    parser.add_argument("--quarantine-out", help="write the quarantined records to this CSV")
    parser.add_argument("--max-show", type=int, default=50, help="quarantined records printed")
    args = parser.parse_args(argv)
    if args.max_show < 0:  # head(-1) would print all but the last and miscount the rest
        parser.error(f"--max-show must be 0 or more, got {args.max_show}")
    jobs: list[tuple[str, dict[str, Any]]] = []
    try:
        runs_file = args.runs_file
        spec: dict[str, Any] = {}
        if args.spec:
            spec = load_spec(args.spec)
            if "runs" in spec and "path" not in spec:  # a runs file given as the spec
                runs_file = runs_file or args.spec
                spec = {}
        if runs_file:
            from analysis.run.pipeline import load_runs

            runs = load_runs(runs_file)
            chosen = args.only or list(runs)
            unknown = sorted(set(chosen) - set(runs))
            if unknown:
                raise ValueError(f"unknown run(s) {unknown}; the runs file has {sorted(runs)}")
            for name in chosen:
                cfg = runs[name]
                if cfg["dataset"] != "file":
                    print(f"run {name}: dataset {cfg['dataset']!r} is not a user file; skipped")
                    continue
                opts = dict(cfg["dataset_options"])
                if args.file:
                    opts["path"] = str(Path(args.file).resolve())
                opts["instruments"] = [*cfg.get("instruments", []), *args.instruments]
                jobs.append((f"run {name}", opts))
            if not jobs:
                raise ValueError(f"{runs_file}: no run of dataset 'file' to check")
        else:
            if not args.file:
                parser.error("give a data FILE (with --spec) or a runs file (-f RUNS.yaml)")
            spec = {**spec, "path": str(Path(args.file).resolve())}
            if args.instruments:
                from analysis.registry.instruments import instrument_files

                spec["instruments"] = [
                    str(f)
                    for f in instrument_files(spec.get("instruments"))
                    + instrument_files(args.instruments, root=Path.cwd())
                ]
            jobs.append(("", spec))
    except (ValueError, FileNotFoundError, OSError, TypeError, yaml.YAMLError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    code = 0
    for label, spec in jobs:
        if label:
            print(f"== {label}")
        try:
            cohort, q = read_cohort_file(spec)
        except (ValueError, FileNotFoundError, OSError, TypeError, yaml.YAMLError) as err:
            named = spec.get("columns") or spec.get("scores") or spec.get("wide")
            hint = "" if named else _spec_help(spec["path"], spec)
            said = str(err)
            # most reader errors already start with the file's name; do not print it twice
            said = said.removeprefix(f"{spec['path']}: ")
            print(f"error: cannot read {spec['path']}: {said}{hint}", file=sys.stderr)
            code = 2
            continue
        _print_account(cohort, q, args.max_show)
        if args.quarantine_out:
            out = Path(args.quarantine_out)
            if len(jobs) > 1:
                out = out.with_name(f"{out.stem}_{label.split()[-1]}{out.suffix}")
            print(f"quarantine written to {q.to_csv(out)}")
    return code
