"""The public API is listed once, in ``analysis._PUBLIC``, and each name is where it says."""

from __future__ import annotations

import importlib

import pytest

import analysis


@pytest.mark.parametrize("name", analysis.__all__)
def test_public_name_is_defined_in_the_module_listed(name):
    """``from analysis import X`` gives the object of the module that defines it (no copy)."""
    module = analysis._PUBLIC[name]
    obj = getattr(analysis, name)
    assert obj is getattr(importlib.import_module(module), name)
    assert obj.__module__ == module  # defined there, not re-exported from elsewhere


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'clinsig_prepost'"):
        analysis.clinsig_prepost  # noqa: B018


def test_the_issue_names_are_public():
    """The names the README's index promises (issue 12)."""
    for name in (
        "clinical_significance",
        "score_definitions",
        "pairwise_agreement",
        "prevalence",
        "time_to_event",
        "sudden_gains",
        "run_multiverse",
        "NotComputedError",
    ):
        assert name in analysis.__all__
