"""The IMPLEMENT trial export (Flückiger et al. 2016) read as a user would, through
``examples/implement.yaml`` (issue 19, item 4), checked against an independent computation from
the published file.

Source: Flückiger C. et al. (2016) EBioMedicine 3:163-171; data redistributed (MIT) by the trial's
group in PsychometricsMZ/dsem_tutorial (``completedata.RDS``), reshaped to
``implement_sessions_long_centered.csv`` in the validation-data folder (README there).
"""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import pytest
import yaml

from analysis.data.readers import read_cohort_file
from analysis.registry import instruments

ROOT = Path(__file__).resolve().parents[1]
FOLDER = "real/flueckiger2016_implement_alliance"
RUNS = ROOT / "examples" / "implement.yaml"


@pytest.fixture(autouse=True)
def _no_user_instruments(monkeypatch):
    monkeypatch.delenv(instruments.USER_INSTRUMENTS_ENV, raising=False)


def _spec(path: Path) -> dict:
    """The runs file's reader spec, with the user's copy of the export replaced by ours."""
    raw = yaml.safe_load(RUNS.read_text(encoding="utf-8"))
    spec = dict(raw["runs"]["implement"]["dataset_options"])
    spec["path"] = str(path)
    spec["instruments"] = raw["instruments"]  # as the main job adds them (relative to the root)
    return spec


def _by_hand(path: Path) -> tuple[dict[str, float], dict[str, str]]:
    """BAI change per client from the raw long file with the standard library only: the BAI score
    at a time point is the mean of the three parcels (all present), baseline the first observed,
    post the last observed; change = post - baseline (centred points; centring cancels)."""
    series: dict[str, list[tuple[int, float]]] = {}
    therapist: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            therapist[row["patient"]] = row["therapist"]
            parts = [row[f"bai_parcel_{i}"] for i in (1, 2, 3)]
            if all(p.strip() for p in parts):
                series.setdefault(row["patient"], []).append(
                    (int(row["t"]), sum(float(p) for p in parts) / 3)
                )
    change = {}
    for pid, obs in series.items():
        obs.sort()
        if len(obs) >= 2:
            change[pid] = obs[-1][1] - obs[0][1]
    return change, therapist


def test_implement_bai_change_per_client_matches_hand_computation(validation_file):
    path = validation_file(f"{FOLDER}/implement_sessions_long_centered.csv")
    cohort, q = read_cohort_file(_spec(path))
    # 855 lines x 2 measures (BAI parcel mean, WAI item mean); nothing quarantined
    assert (q.lines_in, q.rows_in, q.rows_kept, q.rows_quarantined) == (855, 1710, 1710, 0)
    assert cohort.n_clients == 57 and sorted(cohort.measures) == ["bai_pm_c", "wai_im_c"]
    # one BAI line has only some parcels: missing, and counted (never averaged over fewer)
    assert q.notes["bai_pm_c_missing_too_few_parts_present"] == 1

    bai = cohort.scores[cohort.scores["measure"].eq("bai_pm_c")].dropna(subset=["score"])
    bai = bai.sort_values(["id", "time"], kind="mergesort")
    first = bai.groupby("id")["score"].first()
    last = bai.groupby("id")["score"].last()
    n = bai.groupby("id").size()
    got = (last - first)[n >= 2].to_dict()

    expected, therapist = _by_hand(path)
    assert sorted(got) == sorted(expected) and len(expected) == 57  # all have 2+ BAI scores
    for pid, value in expected.items():
        assert math.isclose(got[pid], value, abs_tol=1e-12), pid
    # patient 1 worked by hand: parcel changes t1 -> t15 are 0.857920 - 1.257920 = -0.4,
    # 0.840580 - 0.173913 = 0.666667 and 0.694149 - 0.569149 = 0.125; their mean is
    # (-0.4 + 0.666667 + 0.125) / 3 = 0.130556 points (BAI item-mean metric; worse)
    assert math.isclose(got["1"], 0.391667 / 3, abs_tol=1e-6)
    # therapist ids travel into the client table unchanged (13 therapists)
    tab = dict(zip(cohort.clients["id"], cohort.clients["therapist"].astype(int), strict=True))
    assert tab == {k: int(v) for k, v in therapist.items()} and len(set(tab.values())) == 13


@pytest.mark.skipif(importlib.util.find_spec("rdata") is None, reason="needs `pip install rdata`")
def test_implement_csv_is_the_published_rds(validation_file, tmp_path):
    """examples/implement_rds_to_csv.py turns the published completedata.RDS into the long CSV the
    runs file expects; it equals the validation folder's CSV (15 significant digits there)."""
    import runpy

    rds = validation_file(f"{FOLDER}/completedata.RDS")
    ref = validation_file(f"{FOLDER}/implement_sessions_long_centered.csv")
    mod = runpy.run_path(str(ROOT / "examples" / "implement_rds_to_csv.py"))
    assert mod["main"]([str(rds), str(tmp_path)]) == 0
    with (
        (tmp_path / mod["FILENAME"]).open(encoding="utf-8") as fa,
        ref.open(encoding="utf-8") as fb,
    ):
        mine, theirs = list(csv.reader(fa)), list(csv.reader(fb))
    assert mine[0] == theirs[0] and len(mine) == len(theirs) == 856
    for a, b in zip(mine[1:], theirs[1:], strict=True):
        assert a[:3] == b[:3]
        for x, y in zip(a[3:], b[3:], strict=True):
            assert (x == "") == (y == "") and (
                x == "" or math.isclose(float(x), float(y), abs_tol=1e-13)
            )
