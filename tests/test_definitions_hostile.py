"""Definitions files with the slips a researcher makes (tester's pass, branch jbad). Each one
used to load and then score silently by a default (``direction: deteriorition`` counted
improvement; ``cutoff: .nan`` or ``points: -5`` made almost everyone a success; ``headline:
'no'`` was truthy) or crash at scoring time naming neither the file nor the definition. Now each
stops at load, naming the file, the definition and the key.
"""

from __future__ import annotations

import pytest

from analysis.outcomes.distribution import RCI_METHODS
from analysis.registry.definitions import _CHOICES, validate_definitions


def _one(**d) -> dict:
    return {"definitions": [{"name": "a", "family": "symptom", **d}]}


@pytest.mark.parametrize(
    "definition, message",
    [
        (
            {"rule": "reliable_change", "measure": "phq9", "direction": "deterioation"},
            "key 'direction' must be one of",
        ),
        ({"rule": "cutoff", "measure": "phq9", "cutoff": 10, "case_if": "=>"}, "'case_if'"),
        ({"rule": "reliable_change", "measure": "phq9", "method": "XY"}, "key 'method'"),
        ({"rule": "reliable_change", "measure": "phq9", "reliability": 1.0}, "strictly between"),
        (
            {"rule": "reliable_change", "measure": "phq9", "significance_level": 5},
            "strictly between 0 and 1",
        ),
        ({"rule": "percentage_change", "measure": "phq9", "percent": -50}, "must be positive"),
        ({"rule": "percentage_change", "measure": "phq9", "percent": 150}, "more than 100 %"),
        ({"rule": "fixed_change", "measure": "phq9", "points": -5}, "must be positive"),
        ({"rule": "nhs", "outcome": "recovry"}, "key 'outcome'"),
        ({"rule": "remission", "measure": "phq9", "headline": "no"}, "true or false"),
        ({"rule": "cutoff", "measure": "phq9", "cutoff": float("nan")}, "finite"),
        (
            {"rule": "cutoff", "measure": "phq9", "cutoff": 500},
            r"outside the PHQ-9 range \[0, 27\]",
        ),
        (
            {
                "rule": "clinically_significant",
                "measure": "phq9",
                "m_functional": 5,
                "sd_functional": -3,
            },
            "key 'sd_functional' must be positive",
        ),
        ({"rule": "band_change", "measure": "bdi2", "into": "nrmal"}, "names no band of BDI-II"),
        ({"rule": "remission", "measure": "phq9", "perspectives": "4"}, "list of whole numbers"),
    ],
)
def test_slips_stop_at_load_naming_definition_and_key(definition, message):
    with pytest.raises(ValueError, match=message) as err:
        validate_definitions(_one(**definition), path="my_definitions.yaml")
    assert str(err.value).startswith("my_definitions.yaml: definition #1 ('a')")


def test_k_true_is_not_a_count():
    """YAML's true is the int 1 to Python; k: true silently meant 'k = 1'."""
    raw = {
        "definitions": [
            {"name": "a", "family": "symptom", "rule": "remission", "measure": "phq9"},
            {"name": "b", "family": "composite", "rule": "k_of_n", "of": ["a"], "k": True},
        ]
    }
    with pytest.raises(ValueError, match="'k' must be a whole number"):
        validate_definitions(raw)


def test_valid_values_still_load():
    raw = _one(
        rule="reliable_change",
        measure="phq9",
        direction="deterioration",
        method="HA",
        reliability=0.84,
        significance_level=0.05,
        headline=True,
    )
    assert validate_definitions(raw)[0]["method"] == "HA"


def test_method_list_matches_the_reliable_change_methods():
    """The loader's list is the scoring layer's RCI_METHODS without HLM (long data only)."""
    assert set(_CHOICES["method"]) == set(RCI_METHODS) - {"HLM"}


# --- user instrument files --------------------------------------------------------------------

_ENTRY = """instruments:
  xyz:
    label: XYZ
    name: X Y Z scale
    construct: anxiety
    family: symptom
    min: 0
    max: 40
    better_is: lower
"""


def test_misspelt_instrument_key_is_an_error(tmp_path):
    """'reliabilty' was kept as a free-text note: the instrument then had no reliability and
    every reliable-change definition on it was quietly not computed."""
    from analysis.registry.instruments import load_registry

    f = tmp_path / "ins.yaml"
    f.write_text(
        _ENTRY + "    reliabilty: {value: 0.9, type: internal_consistency, source: s, "
        "confirmed: true}\n"
    )
    with pytest.raises(
        ValueError,
        match=r"ins\.yaml: instrument 'xyz', key 'reliabilty'.*"
        r"did you mean 'reliability'",
    ):
        load_registry(instruments=[f])


def test_integer_flag_must_be_a_boolean(tmp_path):
    """integer: 'false' (quoted) was bool('false') = True."""
    from analysis.registry.instruments import load_registry

    f = tmp_path / "ins.yaml"
    f.write_text(_ENTRY + "    integer: 'false'\n")
    with pytest.raises(ValueError, match="key 'integer': must be true or false"):
        load_registry(instruments=[f])
    f.write_text(_ENTRY + "    integer: false\n")
    assert load_registry(instruments=[f])["xyz"].integer is False
