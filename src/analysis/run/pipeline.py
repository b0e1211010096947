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
    not a mapping stops the job with exit code 2 and a message naming the parameter; a user's export (dataset
    ``file``) is read through its spec, so an unreadable file, an export with no data rows or with
    no usable record stops the job there too. ``suppress_small_counts`` is
    set to true for real data and false for simulated data unless the run sets it.

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
import html
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.registry import paths
from analysis.run.execute import DEFAULT_TIMEOUT, _git_commit, _versions, run_all
from analysis.run.runs import discover_notebooks, load_runs, prepare_runs

__all__ = [
    "render_html",
    "provenance",
    "write_index",
    "main",
]


_BANNER = (
    '<div class="analysis-failure" role="alert" style="background:#f8d7da;border:3px solid #a00;'
    'padding:1em;margin:1em 0;font-size:1.2em"><strong>THIS REPORT FAILED.</strong> {msg} '
    "Its results are incomplete and must not be used.</div>"
)

# lab template without the external scripts (require.js, MathJax, mermaid from a CDN): the report
# is one file that works offline and can be emailed.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""


def render_html(
    ipynb: Path, html_path: Path, failure: str = "", provenance: dict[str, Any] | None = None
) -> Path:
    """Render an executed notebook to one self-contained HTML file without code.

    Parameters
    ----------
    ipynb : Path
        Executed notebook.
    html_path : Path
        Output file.
    failure : str
        When not empty, a red failure banner with this message opens the page.
    provenance : dict, optional
        Run, commit, date, data SHA-256 and package versions (see
        :func:`analysis.report.tables.provenance_html`); closes the page as its footer. Default: the
        current commit, date and versions, the data SHA-256 "not recorded".

    Returns
    -------
    Path
        ``html_path``.
    """
    import nbformat  # imported here: jsonschema's format checkers take seconds to import
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    nb.metadata["title"] = ("FAILED: " if failure else "") + Path(ipynb).stem.replace("_", " ")
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"analysis_report.html.j2": _TEMPLATE})],
        template_file="analysis_report.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    if failure:
        i = body.find(">", body.find("<body")) + 1
        body = body[:i] + _BANNER.format(msg=html.escape(failure)) + body[i:]
    body = _with_footer(body, provenance)
    html_path.write_text(body, encoding="utf-8")
    return html_path


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


def _with_footer(body: str, prov: dict[str, Any] | None) -> str:
    from analysis.report.tables import provenance_html

    footer = provenance_html(prov if prov is not None else provenance())
    i = body.rfind("</body>")
    return body[:i] + footer + body[i:] if i >= 0 else body + footer


def _headline(run_dir: Path, info: dict[str, Any]) -> str:
    prev = run_dir / "prevalence_headline.csv"  # the headline definitions (notebook 01)
    if not prev.exists():
        prev = run_dir / "prevalence.csv"
    if not prev.exists():
        return "<em>no headline table</em>"
    from analysis.report.tables import format_prevalence, table_html

    suppress = info.get("parameters", {}).get("suppress_small_counts", not info.get("simulated"))
    return table_html(format_prevalence(pd.read_csv(prev), suppress=bool(suppress)))


def write_index(out_root: Path) -> Path:
    """Write ``index.html`` listing every run found under ``out_root`` (from its ``run.json``).

    Each run shows its title, links to every report (failed ones marked), the dataset and whether
    it is simulated, the final typed parameters, the SHA-256 of the input data, git commit, date,
    package versions and the headline table (success rate per definition with its 95 % CI).
    Failures are listed first. No client-level data is read.

    Returns
    -------
    Path
        ``out_root / "index.html"``.
    """
    rows, failures = [], []
    for rj in sorted(Path(out_root).glob("*/run.json")):
        info = json.loads(rj.read_text("utf-8"))
        run = html.escape(info["run"])
        for n in info["notebooks"]:
            if not n["ok"]:
                failures.append(f"<li>run {run}: {html.escape(n['error'])}</li>")
        links = "<br>".join(
            f'<a href="{run}/{html.escape(n["html"])}">'
            + html.escape(Path(n["notebook"]).stem.replace("_", " "))
            + "</a>"
            + ("" if n["ok"] else ' <strong style="color:#a00">FAILED</strong>')
            for n in info["notebooks"]
            if n.get("html")
        )
        params = "<br>".join(
            f"{html.escape(str(k))} = {html.escape(json.dumps(v, sort_keys=True))}"
            for k, v in info["parameters"].items()
        )
        versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        kind = {True: "<strong>SIMULATED data</strong>", False: "real data", None: "not loaded"}[
            info["simulated"]
        ]
        rows.append(
            f"<tr><td><strong>{html.escape(info['title'])}</strong><br>run {run}<br>{links}</td>"
            f"<td>{html.escape(info['dataset'])}: {kind}"
            f"<br>{info['n_clients']} clients<br><small>{html.escape(info['description'])}"
            f"</small></td><td><small>{params}</small></td>"
            f"<td><small>input data SHA-256 <code>{info['data_sha256']}</code><br>git commit "
            f"{html.escape(info['git_commit'])}<br>{html.escape(info['date'])}<br>"
            f"{html.escape(versions)}</small></td>"
            f"<td>{_headline(rj.parent, info)}</td></tr>"
        )
    failed = (
        (
            '<div class="analysis-failure" role="alert" style="background:#f8d7da;border:3px solid '
            '#a00;padding:1em"><strong>Some reports FAILED</strong> and must not be used:<ul>'
            + "".join(failures)
            + "</ul></div>"
        )
        if failures
        else ""
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Psychotherapy outcome definitions: reports</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:0.4em;vertical-align:top}</style></head><body>"
        "<h1>Psychotherapy outcome definitions: reports</h1>"
        + failed
        + "<p>Each run applies every report to one dataset. Success rates are per definition, "
        "among evaluable clients, with 95 % Wilson intervals; where small-count suppression is on, "
        "counts from 1 to 4 are shown as &lt;5 and the percentages derived from them are "
        "suppressed. Per-client outcomes are only in the CSV files beside each report.</p>"
        "<table><tr><th>run and reports</th><th>data</th><th>parameters</th>"
        "<th>provenance</th><th>headline: success rate per definition</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    path = Path(out_root) / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


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
