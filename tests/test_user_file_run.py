"""A researcher's own clinic export through the main job (issue 8, item 3): the same readers,
the same reports, the row account in the report and the quarantined rows beside it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.run import pipeline

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def _export(path: Path) -> pd.DataFrame:
    """24 clients x 4 sessions x PHQ-9 and GAD-7 (seed 424242), plus two bad lines."""
    rng = np.random.default_rng(424242)
    print("seed 424242")
    rows = []
    for i in range(24):
        p0, g0 = rng.integers(8, 24), rng.integers(5, 19)
        drop = rng.integers(0, 12)
        for s in range(1, 5):
            p = int(np.clip(p0 - drop * (s - 1) / 3, 0, 27))
            g = int(np.clip(g0 - drop * (s - 1) / 4, 0, 21))
            rows += [(f"client{i:02d}", s, "phq9", p), (f"client{i:02d}", s, "gad7", g)]
    good = pd.DataFrame(rows, columns=["client", "session", "questionnaire", "total"])
    bad = pd.DataFrame(
        [("client00", 5, "phq9", 99), ("client01", -1, "gad7", 3)], columns=good.columns
    )
    pd.concat([good, bad]).to_csv(path, index=False)
    return good


def test_user_export_runs_through_the_main_job(tmp_path):
    good = _export(tmp_path / "clinic.csv")
    runs = {
        "runs": {
            "clinic": {
                "title": "My clinic (PHQ-9 and GAD-7)",
                "dataset": "file",
                "dataset_options": {
                    "path": str(tmp_path / "clinic.csv"),
                    "layout": "long",
                    "columns": {
                        "id": "client",
                        "time": "session",
                        "measure": "questionnaire",
                        "score": "total",
                    },
                    "time_unit": "session",
                    "name": "clinic",
                    "description": "Test export",
                },
                # no reliability: the registry's PHQ-9 value (alpha .89, Kroenke et al. 2001)
                "parameters": {"measure": "phq9", "group": "", "client_outcomes": True},
            }
        }
    }
    (tmp_path / "runs.yaml").write_text(yaml.safe_dump(runs))
    out = tmp_path / "out"
    nb = str(ROOT / "notebooks" / "01_outcome_definitions.ipynb")
    args = ["-f", str(tmp_path / "runs.yaml"), "--out", str(out), "--notebook", nb]
    assert pipeline.main(args) == 0

    # NHS TT recovery recomputed independently: case at session 1 (PHQ-9 >= 10 or GAD-7 >= 8),
    # a case on neither at session 4; all clients have 4 sessions
    w = good.pivot_table(index="client", columns=["questionnaire", "session"], values="total")
    case0 = (w[("phq9", 1)] >= 10) | (w[("gad7", 1)] >= 8)
    case4 = (w[("phq9", 4)] >= 10) | (w[("gad7", 4)] >= 8)
    expected = int((case0 & ~case4).sum())
    res = pd.read_csv(out / "clinic" / "outcomes-identifiable.csv")
    rec = res.loc[res["definition"] == "nhs_recovery"]
    assert len(rec) == 24
    assert int((rec["status"] == "met").sum()) == expected
    assert int((rec["status"] == "not_evaluable").sum()) == int((~case0).sum())

    q = pd.read_csv(out / "clinic" / "quarantine.csv")
    assert sorted(q["reason"]) == ["invalid_time", "out_of_range"]
    assert q["row"].tolist() == sorted(q["row"].tolist())
    page = (out / "clinic" / "01_outcome_definitions.html").read_text("utf-8")
    assert "rows in 194 = kept 192 + quarantined 2" in page
    assert "client0" not in page and "client1" not in page  # no identifiers in the report

    # the report carries its own provenance footer, the same as run.json (issue 18)
    info = json.loads((out / "clinic" / "run.json").read_text("utf-8"))
    footer = page[page.index('<footer class="analysis-provenance"') :]
    assert len(info["data_sha256"]) == 64
    assert f"SHA-256 <code>{info['data_sha256']}</code>" in footer
    assert f"commit <code>{info['git_commit']}</code>" in footer and info["date"] in footer
    # the reliability came from the registry for PHQ-9, with its source
    assert info["parameters"]["reliability"] == 0.89
    assert "instrument registry" in info["parameters"]["reliability_source"]
