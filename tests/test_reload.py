"""Edited YAML files are read again on the next call (issue 18 item 5): the loaders of the
instrument registry, the definitions and the scoring rules cache by path, modification time and
size, not by path alone (``functools.lru_cache`` kept a kernel on the old values until restart)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from analysis.data.items import DEFAULT_SCORING_RULES, load_scoring_rules
from analysis.registry.definitions import DEFAULT_DEFINITIONS, load_definitions
from analysis.registry.instruments import DEFAULT_REGISTRY, load_registry
from analysis.registry.paths import cache_by_file


def _edit(path, old: str, new: str) -> None:
    """Replace one text in the file and move its mtime on (a same-size edit within the clock's
    resolution would otherwise keep the key; a person's edit is seconds apart)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    st = path.stat()
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_registry_reloaded_after_edit(tmp_path):
    path = tmp_path / "instruments.yaml"
    shutil.copy(DEFAULT_REGISTRY, path)
    before = load_registry(path)["phq9"].max
    assert before == 27  # PHQ-9 total 0-27 (Kroenke, Spitzer & Williams 2001)
    assert load_registry(path)["phq9"].max == 27  # unchanged file: same result
    text = path.read_text(encoding="utf-8")
    block = text[text.index("\n  phq9:") :]
    line = next(ln for ln in block.splitlines() if ln.strip().startswith("label:"))
    _edit(path, line, line.replace("PHQ-9", "PHQ-9 edited"))
    assert load_registry(path)["phq9"].label == "PHQ-9 edited"


def test_definitions_reloaded_after_edit(tmp_path):
    path = tmp_path / "definitions.yaml"
    shutil.copy(DEFAULT_DEFINITIONS, path)
    first = load_definitions(path, measure="phq9")[0]
    _edit(path, f"name: {first['name']}", f"name: {first['name']}_edited")
    assert load_definitions(path, measure="phq9")[0]["name"] == first["name"] + "_edited"


def test_scoring_rules_reloaded_after_edit(tmp_path):
    path = tmp_path / "scoring.yaml"
    shutil.copy(DEFAULT_SCORING_RULES, path)
    assert load_scoring_rules(path)["phq9"].max_missing == 2
    _edit(path, "max_missing: 2", "max_missing: 1")
    assert load_scoring_rules(path)["phq9"].max_missing == 1


def test_cache_by_file_reads_once_until_the_file_changes(tmp_path):
    calls = []

    @cache_by_file(maxsize=2)
    def load(p):
        calls.append(p)
        return Path(p).read_text()

    f = tmp_path / "x.yaml"
    f.write_text("a: 1")
    assert load(str(f)) == load(str(f)) == "a: 1"
    assert len(calls) == 1 and load.cache_info().hits == 1
    f.write_text("a: 12")  # size changes
    assert load(str(f)) == "a: 12" and len(calls) == 2
