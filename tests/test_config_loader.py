"""The one YAML loader: analysis.registry.config."""

from __future__ import annotations

import pytest
import yaml

from analysis.registry.config import ConfigError, load_yaml
from analysis.registry.paths import CONFIG_DIR

TOP_KEYS = {
    "instruments.yaml": "instruments",
    "definitions.yaml": "definitions",
    "scoring.yaml": "rules",
    "runs.yaml": "runs",
    "simulation.yaml": "cohort",
    "multiverse.yaml": "grid",  # merged after this test was written (issue 16)
}


@pytest.mark.parametrize("name", sorted(TOP_KEYS))
def test_every_bundled_config_reads_as_safe_load_does(name):
    """The loader returns exactly what yaml.safe_load returns for every bundled file (so readers can
    switch to it without a change in content), and none of them gives a key twice."""
    path = CONFIG_DIR / name
    got = load_yaml(path, top_key=TOP_KEYS[name])
    assert got == yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(CONFIG_DIR.glob("*.yaml")) == {CONFIG_DIR / n for n in TOP_KEYS}


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path):
    p = tmp_path / "defs.yaml"
    p.write_text(
        "definitions:\n"  # line 1
        "  remission:\n"  # line 2
        "    cutoff: 10\n"  # line 3
        "    measure: phq9\n"  # line 4
        "    cutoff: 5\n",  # line 5: the same key again
        encoding="utf-8",
    )
    assert yaml.safe_load(p.read_text())["definitions"]["remission"]["cutoff"] == 5  # silent
    with pytest.raises(ConfigError) as err:
        load_yaml(p, what="definitions file")
    msg = str(err.value)
    assert msg.startswith(f"{p}, line 5, column 5: not a valid definitions file")
    assert "'cutoff' is given twice (first on line 3)" in msg


def test_same_key_in_different_mappings_is_fine(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text("a: {x: 1}\nb: {x: 2}\nbase: &b {y: 1}\nc:\n  <<: *b\n  y: 2\n", encoding="utf-8")
    assert load_yaml(p) == {"a": {"x": 1}, "b": {"x": 2}, "base": {"y": 1}, "c": {"y": 2}}


def test_syntax_error_names_line_and_column(tmp_path):
    p = tmp_path / "runs.yaml"
    p.write_text("runs:\n  btheb:\n    title: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"runs\.yaml, line 4, column 1: not a valid runs file"):
        load_yaml(p, what="runs file")


def test_top_level_must_be_a_mapping(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"x\.yaml: the top level .* got list"):
        load_yaml(p)


def test_unknown_top_level_key_with_suggestion(tmp_path):
    p = tmp_path / "runs.yaml"
    p.write_text("rusn:\n  a: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown top-level key\(s\) in the runs file: 'rusn' "):
        load_yaml(p, what="runs file", allowed_keys=["runs"])
    with pytest.raises(ConfigError, match=r"did you mean 'runs'\?"):
        load_yaml(p, what="runs file", allowed_keys=["runs"])


def test_required_top_key(tmp_path):
    p = tmp_path / "i.yaml"
    p.write_text("instruments: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"needs a top-level key 'instruments' .* it is a int"):
        load_yaml(p, top_key="instruments")
    p.write_text("instruments: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"non-empty mapping or list; it is a dict"):
        load_yaml(p, top_key="instruments")
    p.write_text("", encoding="utf-8")
    assert load_yaml(p) == {}
    with pytest.raises(ConfigError, match="it is missing"):
        load_yaml(p, top_key="instruments")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="instrument registry .*nope.yaml does not exist"):
        load_yaml(tmp_path / "nope.yaml", what="instrument registry")


# ----------------------------------------------- every reader goes through load_yaml (issue 12)


def _twice(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_every_config_reader_refuses_a_key_given_twice(tmp_path):
    """PyYAML would keep the second entry silently; each reader now names file and line."""
    from analysis.data import items, readers, simulate
    from analysis.registry import definitions, instruments

    where = r"c\.yaml, line 3, column \d+: .*key 'x' is given twice \(first on line 2\)"
    p = _twice(tmp_path, "instruments:\n  x: {min: 0}\n  x: {min: 1}\n")
    with pytest.raises(ConfigError, match=where):
        instruments.load_user_instruments([p])
    p = _twice(tmp_path, "rules:\n  x: {n_items: 2}\n  x: {n_items: 3}\n")
    with pytest.raises(ConfigError, match=where):
        items.load_scoring_rules(p)
    p = _twice(tmp_path, "definitions:\n- x: 1\n  x: 2\n")
    with pytest.raises(ConfigError, match=r"c\.yaml, line 3, .*key 'x' is given twice"):
        definitions.load_definitions(p)
    p = _twice(tmp_path, "path: a.csv\nx: 1\nx: 2\n")
    with pytest.raises(ConfigError, match=r"c\.yaml, line 3, .*key 'x' is given twice"):
        readers.load_spec(p)
    p = _twice(tmp_path, "n_clients: 10\nx: 1\nx: 2\n")
    with pytest.raises(simulate.ParameterError, match=r"c\.yaml, line 3, .*key 'x' is given twice"):
        simulate.load_params(p)


def test_readers_keep_their_top_level_messages(tmp_path):
    from analysis.data import items
    from analysis.registry import instruments

    p = _twice(tmp_path, "instrument:\n  x: {}\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: .*top-level key 'instruments'"):
        instruments.load_user_instruments([p])
    p = _twice(tmp_path, "rules: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: 'rules' must be a mapping"):
        items.load_scoring_rules(p)
