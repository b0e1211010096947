"""Harm indicators (a definition whose meeting is a bad outcome) are read from the definition's
rule options, not its name, and the reports show them apart from the definitions of success."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.registry import paths
from analysis.registry.definitions import harm_indicators, is_harm, load_definitions


def test_default_definitions_have_one_harm_indicator():
    # NHS TT reliable deterioration (outcome: reliable_deterioration) is the only default one;
    # NHS reliable improvement (outcome: reliable_improvement) is a success
    defs = load_definitions(measure="phq9")
    assert harm_indicators(defs) == {"nhs_reliable_deterioration"}


@pytest.mark.parametrize(
    ("definition", "harm"),
    [
        ({"name": "a", "rule": "reliable_change", "direction": "deterioration"}, True),
        ({"name": "a", "rule": "fixed_change", "direction": "deterioration"}, True),
        ({"name": "a", "rule": "fixed_change", "direction": "improvement"}, False),
        # the name says deterioration, the rule counts improvement: not a harm indicator
        ({"name": "deterioration", "rule": "nhs", "outcome": "reliable_improvement"}, False),
        ({"name": "x", "rule": "nhs", "outcome": "reliable_deterioration"}, True),
    ],
)
def test_is_harm_reads_the_rule_not_the_name(definition, harm):
    assert is_harm(definition) is harm


@pytest.mark.slow
def test_reports_show_deterioration_apart_from_success(tmp_path):
    """Simulated cohort (seed 5, 300 clients): notebook 01 shows NHS TT reliable deterioration
    only in the harm table; notebook 03 computes no time to success for it."""
    from analysis.run import execute

    runs = {
        "sim": {
            "title": "simulated",
            "dataset": "simulated",
            "dataset_options": {"n_clients": 300, "seed": 5},
            "parameters": {"measure": "phq9", "reliability": 0.89},
        }
    }
    nbs = [
        paths.notebooks_dir() / n
        for n in ["01_outcome_definitions.ipynb", "03_time_to_success.ipynb"]
    ]
    results = execute.run_all(runs, tmp_path, notebooks=nbs)
    assert all(r.ok for r in results), [r.error for r in results]
    out = tmp_path / "sim"
    prev = pd.read_csv(out / "prevalence.csv")  # the CSV keeps every definition
    assert "nhs_reliable_deterioration" in set(prev["definition"])
    page = (out / "01_outcome_definitions.html").read_text("utf-8")
    success, rest = page.split("Harm indicators, not successes", 1)
    success = success.split("Clients meeting each definition of success, all clients", 1)[1]
    assert "NHS TT reliable deterioration" not in success
    assert "NHS TT reliable improvement" in success
    assert "NHS TT reliable deterioration" in rest.split("</table>", 1)[0]
    km = pd.read_csv(out / "survival_median_all.csv")
    assert "nhs_reliable_deterioration" not in set(km["definition"])
    assert "nhs_reliable_improvement" in set(km["definition"])
    page3 = (out / "03_time_to_success.html").read_text("utf-8")
    assert "Not analysed as a time to success: NHS TT reliable deterioration" in page3
