"""Notebook 05 (the multiverse of success) and its grid parameter.

The notebook runs under papermill on a small simulated cohort (seed 5, 300 clients) with a grid
given as a file (``multiverse=``); its ``multiverse.csv`` must equal
:func:`analysis.compare.multiverse.run_multiverse` called directly on the same cohort, and its
HTML must carry the specification curve. A bad grid given to the main job (``-p multiverse=``, or a
runs file's ``multiverse:`` mapping) stops it with exit code 2 naming the parameter, the file and
the key, before any notebook runs.
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis.registry import paths
from analysis.run import execute, pipeline
from analysis.run import runs as run_config

NB = paths.notebooks_dir() / "05_multiverse.ipynb"

_GRID = """\
grid:
  definitions: [response, reliable_improvement, clinically_significant, mcs_reliable_improvement]
  cutoff_type: [instrument, a]
  reliability: [0.84, 0.89]
  missing: [last_available, bocf, multiple_imputation]
  post: [last]
  population: [all, finished, severe, chronic]
options:
  imputations: 3
  seed: 11
  pmm_donors: 5
"""


def test_committed_without_outputs_and_parameters_literal():
    nb = nbformat.read(NB, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = []
    for line in tagged[0].source.splitlines():
        assert re.match(r"^\w+: \w+ = .+  # [^=]+$", line), line
        names.append(line.split(":")[0])
    assert {"multiverse", "imputations", "suppress_small_counts", "output_dir"} <= set(names)


@pytest.fixture(scope="module")
def sim_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb05")
    grid = out / "grid.yaml"
    grid.write_text(_GRID, encoding="utf-8")
    params = {
        "run_name": "sim", "dataset": "simulated",
        "dataset_options": {"n_clients": 300, "seed": 5}, "measure": "phq9",
        "reliability": 0.89, "group": "arm", "suppress_small_counts": True,
        "multiverse": str(grid),
    }  # fmt: skip
    r = execute.execute_notebook(NB, out, params, kernel_name="python3", run="sim")
    assert r.ok, r.error
    return out, grid


@pytest.mark.slow
def test_multiverse_csv_equals_run_multiverse_called_directly(sim_out):
    """The notebook adds nothing of its own to the numbers: every row of multiverse.csv is what
    run_multiverse gives on the same cohort, grid and definitions (CSV keeps 6 digits)."""
    from analysis.compare.multiverse import run_multiverse
    from analysis.data.datasets import load_dataset
    from analysis.outcomes.engine import definitions_for_run

    out, grid = sim_out
    got = pd.read_csv(out / "multiverse.csv", keep_default_na=False, na_values=[""])
    cohort = load_dataset("simulated", n_clients=300, seed=5)
    defs = definitions_for_run("phq9", reliability=0.89, cutoff_type="instrument")
    want = run_multiverse(cohort, grid, definitions=defs, measure="phq9", group="arm")
    assert list(got.columns) == list(want.columns)
    assert {"rate", "computable", "reason"} <= set(got.columns)  # the index reads rate, computable
    assert len(got) == len(want) > 0
    # response 1 (cutoff, reliability n/a) x 3 missing x 4 populations = 12; reliable improvement
    # 2 reliabilities x 3 x 4 = 24; clinically significant 2 cutoffs x 2 x 3 x 4 = 48; SF-36 MCS
    # reliable improvement 2 x 3 x 4 = 24, all skipped (no SF-36 in the simulated cohort): 108
    assert len(got) == 108
    assert got["computable"].tolist() == want["computable"].tolist()
    assert got["reason"].fillna("").tolist() == want["reason"].tolist()
    for c in ("definition", "cutoff_type", "missing", "population"):
        assert got[c].astype(str).tolist() == want[c].astype(str).tolist(), c
    # suppression is on: the notebook, run on its own (no run plan), audits the multiverse's
    # counts among themselves; a hidden entry reads "<5" or "suppressed", every other is the
    # number run_multiverse gives
    n_hidden = 0
    for c in ("n_evaluable", "n_met", "rate", "ci_low", "ci_high", "risk_difference"):
        text = got[c].astype(str)
        hidden = text.isin(["<5", "suppressed"]).to_numpy()
        n_hidden += int(hidden.sum())
        np.testing.assert_allclose(
            pd.to_numeric(got.loc[~hidden, c]).to_numpy(float),
            want.loc[~hidden, c].to_numpy(float),
            rtol=1e-5,
            equal_nan=True,
        )
        assert want.loc[hidden, c].notna().all(), c  # only numbers are hidden
    assert 0 < n_hidden < 0.5 * 6 * int(want["computable"].sum())
    # not the run's plan: a notebook run on its own writes none beside its tables
    assert not (out / "disclosure_plan.csv").exists()
    got = got.assign(**{c: pd.to_numeric(got[c], errors="coerce") for c in ("rate", "ci_low")})
    done = got.loc[got["computable"]]
    rated = done.loc[done["rate"].notna() & done["ci_low"].notna()]
    assert rated["rate"].between(0, 1).all() and (rated["ci_low"] <= rated["rate"]).all()
    mcs = got["definition"] == "mcs_reliable_improvement"
    assert (~got.loc[mcs, "computable"]).all()
    assert got.loc[mcs, "reason"].str.contains("measure SF-36 MCS not in the data").all()
    assert got.loc[~mcs, "computable"].sum() > 60


@pytest.mark.slow
def test_html_has_the_curve_the_spread_and_the_methods(sim_out):
    out, _ = sim_out
    html = (out / "05_multiverse.html").read_text("utf-8")
    assert 'alt="Specification curve of ' in html  # the figure, with its alt text
    assert "Which choice moves the success rate most" in html
    assert "The choice that moves the success rate most is" in html
    assert "Arm difference" in html
    assert "skipped" in html and "measure SF-36 MCS not in the data" in html
    for source in ("Steegen", "Simonsohn", "Rubin D.B. (1987)", "van Buuren", "missing at random"):
        assert source in html, source
    spread = pd.read_csv(out / "multiverse_spread.csv")
    assert set(spread["choice"]) <= {
        "definition", "cutoff_type", "reliability", "missing", "post", "population"
    }  # fmt: skip


def _stopped(tmp_path, capsys, *argv) -> str:
    out = tmp_path / "out"
    assert pipeline.main(["--only", "btheb", "--out", str(out), *argv]) == 2
    assert not out.exists() or not any(out.iterdir())  # nothing ran
    return capsys.readouterr().err


def test_bad_grid_stops_before_any_notebook_naming_file_and_key(tmp_path, capsys):
    """-p multiverse=FILE with an unknown missing-data strategy, an unknown choice, a bad
    option, a missing file or an unknown definition: exit code 2, the parameter, the file and the
    key named."""
    bad = tmp_path / "grid.yaml"
    bad.write_text("grid:\n  missing: [locf, hot_deck]\n", encoding="utf-8")
    err = _stopped(tmp_path, capsys, "-p", f"multiverse={bad}")
    assert "runs.btheb.parameters.multiverse" in err
    assert f"{bad}: grid.missing" in err and "hot_deck" in err
    bad.write_text("grid:\n  cutoff: [a]\n", encoding="utf-8")
    err = _stopped(tmp_path, capsys, "-p", f"multiverse={bad}")
    assert "unknown choice(s) ['cutoff']" in err and str(bad) in err
    bad.write_text("options:\n  imputations: 1\n", encoding="utf-8")
    assert "options.imputations" in _stopped(tmp_path, capsys, "-p", f"multiverse={bad}")
    bad.write_text("grid:\n  definitions: [response, nosuch]\n", encoding="utf-8")
    assert "nosuch" in _stopped(tmp_path, capsys, "-p", f"multiverse={bad}")
    err = _stopped(tmp_path, capsys, "-p", f"multiverse={tmp_path / 'none.yaml'}")
    assert "no such grid file" in err
    assert "imputations" in _stopped(tmp_path, capsys, "-p", "imputations=1")


def test_grid_in_the_runs_file_as_a_mapping(tmp_path, capsys):
    """A run may give the grid itself; a bad one is named like a file's, a good one passes."""
    runs = tmp_path / "runs.yaml"
    runs.write_text(
        "runs:\n  mine:\n    dataset: btheb\n    parameters:\n      measure: bdi2\n"
        "      multiverse:\n        grid:\n          population: [all, everyone]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert pipeline.main(["-f", str(runs), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "runs.mine.parameters.multiverse" in err and "grid.population" in err
    assert "everyone" in err
    good = run_config.load_runs(runs)
    good["mine"]["parameters"]["multiverse"] = {"grid": {"population": ["all"]}}
    typed = run_config.prepare_runs(good)
    assert typed["mine"]["parameters"]["multiverse"] == {"grid": {"population": ["all"]}}
    typed = run_config.prepare_runs(good, ["multiverse=src/analysis/config/multiverse.yaml"])
    assert typed["mine"]["parameters"]["multiverse"].endswith("multiverse.yaml")
