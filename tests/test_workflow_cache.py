"""The main job loads each run's data once and hands it to every notebook (issue 14, item 3).

Notebooks 01-04 and 06 read the scored table from the run's data cache
(:func:`analysis.run.workflow.read_cache`); notebook 05 (the multiverse) scores its own grid and
needs only the cohort, which it reads from the same cache (:func:`read_cached_cohort`).
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data import datasets
from analysis.run import workflow

OPTIONS = {"n_clients": 40, "seed": 3}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cache")
    assert workflow.write_cache(
        str(folder), dataset="simulated", dataset_options=OPTIONS, measure="phq9"
    )
    return str(folder)


def test_cached_cohort_is_the_loaded_cohort(cache):
    got = workflow.read_cached_cohort(cache, "simulated", OPTIONS)
    want = datasets.load_dataset("simulated", **OPTIONS)
    assert got is not None
    pd.testing.assert_frame_equal(got.scores, want.scores)
    pd.testing.assert_frame_equal(got.clients, want.clients)
    assert (got.name, got.simulated) == (want.name, want.simulated)


def test_cache_of_other_data_is_not_used(cache, tmp_path):
    assert workflow.read_cached_cohort(cache, "simulated", {"n_clients": 41, "seed": 3}) is None
    assert workflow.read_cached_cohort(cache, "btheb", {}) is None
    assert workflow.read_cached_cohort(str(tmp_path), "simulated", OPTIONS) is None
    assert workflow.read_cached_cohort("", "simulated", OPTIONS) is None


def test_multiverse_reads_the_run_cache_instead_of_loading(cache, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("the multiverse loaded the data again")

    grid = {
        "grid": {
            "definitions": ["response"],
            "cutoff_type": ["default"],
            "reliability": "registry",
            "missing": ["last_available"],
            "post": ["last"],
            "population": ["all"],
        }
    }
    monkeypatch.setattr(datasets, "load_dataset", no_load)
    md = workflow.multiverse_for_notebook(
        "simulated", OPTIONS, "phq9", multiverse=grid, group="arm", cache=cache
    )
    assert md.cohort.clients["id"].nunique() == 40
    assert len(md.results) >= 1
    # without the cache it must load (and the stub says so)
    with pytest.raises(AssertionError, match="loaded the data again"):
        workflow.multiverse_for_notebook("simulated", OPTIONS, "phq9", multiverse=grid)
