"""A plain two-wave export (assessment and discharge, what most services have) and a measure
without a clinical cutoff run every notebook out of the box (issue 19, item 3): what the data
cannot support is listed as "not computed: <reason>" and the report still renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.run import pipeline

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SEED = 20261201


def _two_wave_export(path: Path) -> pd.DataFrame:
    """40 clients, PHQ-9 at assessment and discharge, two arms, four therapists (seeded)."""
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    rows = []
    for i in range(40):
        pre = int(rng.integers(10, 27))
        post = int(np.clip(pre - rng.integers(-3, 12), 0, 27))
        arm, therapist = ("CBT" if i % 2 else "TAU"), f"T{i % 4}"
        rows += [
            (f"c{i:02d}", "assessment", pre, arm, therapist),
            (f"c{i:02d}", "discharge", post, arm, therapist),
        ]
    frame = pd.DataFrame(rows, columns=["client", "wave", "PHQ9", "arm", "therapist"])
    frame.to_csv(path, index=False)
    return frame


def _html_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_two_wave_export_runs_every_notebook(tmp_path):
    good = _two_wave_export(tmp_path / "export.csv")
    runs = {
        "runs": {
            "clinic": {
                "title": "Two waves",
                "dataset": "file",
                "dataset_options": {
                    "path": str(tmp_path / "export.csv"),
                    "layout": "long",
                    "columns": {"id": "client", "time": "wave", "score": "PHQ9"},
                    "measure": "phq9",
                    "time_map": {"assessment": 0, "discharge": 1},
                    "clients": {"columns": {"arm": "arm", "therapist": "therapist"}},
                    "time_unit": "session",
                    "name": "clinic",
                },
                # values checked here, not disclosure control (tests/test_disclosure_run.py)
                "parameters": {
                    "measure": "phq9",
                    "group": "arm",
                    "client_outcomes": True,
                    "suppress_small_counts": False,
                },
            }
        }
    }
    (tmp_path / "runs.yaml").write_text(yaml.safe_dump(runs), encoding="utf-8")
    out = tmp_path / "out"
    # every notebook, with the default methods comparison (JT ... HA, HLM)
    assert pipeline.main(["-f", str(tmp_path / "runs.yaml"), "--out", str(out)]) == 0
    rep = out / "clinic"
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert (rep / f"{nb.stem}.html").stat().st_size > 0, nb.stem

    # HLM left out with its reason; the pre/post methods computed for every client
    methods = pd.read_csv(rep / "methods_summary.csv")
    assert list(methods["method"]) == ["JT", "GLN", "HLL", "EN", "NK", "HA"]
    assert (methods["evaluable"] == 40).all()
    html01 = _html_text(rep / "01_outcome_definitions.html")
    assert "not computed: HLM needs at least 3 clients with 3 or more scores" in html01
    assert "at most 2 per client" in html01

    # the JT reliable improvement by hand: S_diff = sqrt(2) SD(pre) sqrt(1 - .89) (registry's
    # PHQ-9 alpha .89, Kroenke et al. 2001); improved when (post - pre) / S_diff < -1.96
    w = good.pivot(index="client", columns="wave", values="PHQ9")
    s_diff = np.sqrt(2) * w["assessment"].std(ddof=1) * np.sqrt(1 - 0.89)
    improved = int(((w["discharge"] - w["assessment"]) / s_diff < -1.96).sum())
    res = pd.read_csv(rep / "outcomes-identifiable.csv")
    ri = res.loc[res["definition"] == "reliable_improvement"]
    assert len(ri) == 40 and int((ri["status"] == "met").sum()) == improved


def test_measure_without_a_cutoff_runs_notebook_01_with_the_default_definitions(tmp_path):
    """A user's centred BAI (no cutoff, bands or norms): the default definitions file's cutoff
    definitions are skipped with the reason, change-based ones are scored."""
    rng = np.random.default_rng(SEED + 1)
    print(f"seed {SEED + 1}")
    rows = [
        (f"p{i:02d}", t, round(float(rng.normal(0.2 - 0.08 * t, 0.5)), 4))
        for i in range(30)
        for t in range(1, 5)
    ]
    pd.DataFrame(rows, columns=["patient", "t", "bai_c"]).to_csv(tmp_path / "x.csv", index=False)
    entry = {
        "label": "BAI (centred)",
        "name": "Beck Anxiety Inventory item mean, centred",
        "construct": "anxiety",
        "family": "symptom",
        "min": -3,
        "max": 3,
        "integer": False,
        "better_is": "lower",
        "reliability": {
            "value": 0.92,
            "type": "internal_consistency",
            "source": "Beck A.T. et al. (1988) J Consult Clin Psychol 56(6):893-897",
            "confirmed": True,
        },
    }
    (tmp_path / "ins.yaml").write_text(yaml.safe_dump({"instruments": {"bai_c": entry}}))
    runs = {
        "instruments": str(tmp_path / "ins.yaml"),
        "runs": {
            "centred": {
                "title": "Centred BAI",
                "dataset": "file",
                "dataset_options": {
                    "path": str(tmp_path / "x.csv"),
                    "columns": {"id": "patient", "time": "t", "score": "bai_c"},
                    "measure": "bai_c",
                    "time_unit": "session",
                    "name": "centred",
                },
                "parameters": {"measure": "bai_c", "group": "", "client_outcomes": True},
            }
        },
    }
    (tmp_path / "runs.yaml").write_text(yaml.safe_dump(runs), encoding="utf-8")
    out = tmp_path / "out"
    nb = str(ROOT / "notebooks" / "01_outcome_definitions.ipynb")
    assert (
        pipeline.main(["-f", str(tmp_path / "runs.yaml"), "--out", str(out), "--notebook", nb]) == 0
    )
    html = _html_text(out / "centred" / "01_outcome_definitions.html")
    text = html.replace("&#x27;", "'")
    # the reason names the definition and the instrument by their labels (issue 17)
    assert "not computed: definition Below caseness at end: BAI (centred) has no clinical" in text
    assert "not computed: no published remission threshold for BAI (centred)" in text
    res = pd.read_csv(out / "centred" / "outcomes-identifiable.csv")
    assert "reliable_improvement" in set(res["definition"])
    assert not {"remission", "below_caseness", "clinically_significant"} & set(res["definition"])
