"""The README's "Your own data" walk-through stays true (issue 19 item 5, issue 17 item 4): its
files are the ones in ``examples/bai_clinic/`` (with ``my_study/`` paths), ``make validate``
prints what the README shows, and ``make clean`` removes only what the project generated."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from analysis.registry import instruments
from analysis.run import runs as run_config
from analysis.run.validate import main_validate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "bai_clinic"


@pytest.fixture(autouse=True)
def _no_user_instruments(monkeypatch):
    monkeypatch.delenv(instruments.USER_INSTRUMENTS_ENV, raising=False)


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[text.index("## Your own data") : text.index("## Data that come with it")]


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", _section(), flags=re.S)


def test_readme_runs_file_is_the_example(tmp_path):
    runs_block = next(b for b in _blocks("yaml") if b.lstrip().startswith("instruments: my_study"))
    readme = yaml.safe_load(runs_block.replace("my_study/", "examples/bai_clinic/"))
    example = yaml.safe_load((EXAMPLE / "runs.yaml").read_text(encoding="utf-8"))
    assert readme == example


def test_readme_instrument_entry_is_valid_and_agrees_with_the_example(tmp_path):
    block = next(b for b in _blocks("yaml") if b.startswith("instruments:\n  bai:"))
    f = tmp_path / "instruments.yaml"
    f.write_text(block, encoding="utf-8")
    mine = instruments.load_user_instruments(f)["bai"]
    example = instruments.load_user_instruments(EXAMPLE / "instruments.yaml")["bai"]
    for key in ("label", "name", "family", "min", "max", "better_is", "integer", "items"):
        assert getattr(mine, key) == getattr(example, key), key
    assert mine.reliability_value == example.reliability_value == 0.92
    assert mine.cutoff_value == example.cutoff_value == 16


def test_readme_validate_output_is_what_validate_prints(capsys):
    shown = next(b for b in _blocks("text") if b.startswith("== run clinic"))
    assert main_validate(["-f", str(EXAMPLE / "runs.yaml")]) == 0
    printed = capsys.readouterr().out

    def body(text: str) -> list[str]:
        return [ln.rstrip() for ln in text.strip().splitlines() if not ln.startswith("file: ")]

    assert body(printed) == body(shown)


def test_validate_counts_data_rows_not_physical_lines(capsys):
    """The example export has a header and 122 physical data lines, one record's note spanning
    two of them: validate reports 121 data rows (as many as records), never "lines"."""
    raw = (EXAMPLE / "bai_export.csv").read_bytes()
    assert raw.count(b"\n") == 123  # header + 121 records + the note's second line
    assert main_validate(["-f", str(EXAMPLE / "runs.yaml")]) == 0
    out = capsys.readouterr().out
    assert "data rows read: 121 (header excluded)" in out
    assert "lines read" not in out
    assert "rows in 121 = kept 120 + quarantined 1" in out


def test_readme_spec_file_is_a_runs_dataset_options_plus_instruments(tmp_path, capsys):
    """The README's spec file: the run's dataset_options at top level validate the export as the
    runs file does once `instruments:` names the user's file; without it every row is set aside
    as unknown_measure, and the detail says where to add the instrument."""
    run = yaml.safe_load((EXAMPLE / "runs.yaml").read_text(encoding="utf-8"))
    opts = dict(run["runs"]["clinic"]["dataset_options"])
    opts["path"] = str(EXAMPLE / "bai_export.csv")
    bare = tmp_path / "bare.yaml"
    bare.write_text(yaml.safe_dump(opts), encoding="utf-8")
    assert main_validate([opts["path"], "--spec", str(bare)]) == 0
    out = capsys.readouterr().out
    assert "rows in 121 = kept 0 + quarantined 121" in out
    assert "under 'instruments:' in the spec or runs file" in out
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        yaml.safe_dump({**opts, "instruments": str(EXAMPLE / "instruments.yaml")}), encoding="utf-8"
    )
    assert main_validate([opts["path"], "--spec", str(spec)]) == 0
    assert "rows in 121 = kept 120 + quarantined 1" in capsys.readouterr().out


def test_example_run_passes_the_main_jobs_checks():
    runs = run_config.prepare_runs(run_config.load_runs(EXAMPLE / "runs.yaml"))
    assert runs["clinic"]["parameters"]["measure"] == "bai"
    assert runs["clinic"]["instruments"] == [str((EXAMPLE / "instruments.yaml").resolve())]


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_clean_removes_only_what_the_project_generated(tmp_path):
    """A copy of the Makefile in an empty project: make clean removes reports/*, data/simulated,
    .venv and the test and lint caches (.hypothesis, left by make test), keeps the READMEs, the
    user's my_study/ and other folders of data/."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for rel in (
        "reports/README.md",
        "reports/run/x.html",
        "data/README.md",
        "data/simulated/abc/scores.parquet",
        "data/big/scores.parquet",
        "my_study/bai_export.csv",
        ".venv/bin/python",
        ".hypothesis/examples/x",
        ".pytest_cache/v/x",
        ".ruff_cache/x",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True, timeout=60)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == [
        "Makefile",
        "data/README.md",
        "data/big/scores.parquet",
        "my_study/bai_export.csv",
        "reports/README.md",
    ]
