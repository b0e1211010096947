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
import os
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


def test_implement_csv_is_the_published_rds(validation_file, tmp_path):
    """examples/implement_rds_to_csv.py turns the published completedata.RDS into the long CSV the
    runs file expects; it equals the validation folder's CSV (15 significant digits there)."""
    import runpy

    # the data first: without the validation folder this skips with the same message as every
    # other validation test (and fails under CI), not with "needs rdata"
    rds = validation_file(f"{FOLDER}/completedata.RDS")
    ref = validation_file(f"{FOLDER}/implement_sessions_long_centered.csv")
    if importlib.util.find_spec("rdata") is None:
        # rdata is in the test extras, so the project's CI always has it
        why = "needs `pip install rdata` (the converter's reader of R data files; test extras)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(why)
        pytest.skip(why)
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


def _bai_by_time(path: Path) -> tuple[dict[str, dict[int, float | None]], dict[str, str]]:
    """BAI parcel mean per client and time point from the raw file (None: a parcel missing)."""
    series: dict[str, dict[int, float | None]] = {}
    therapist: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            therapist[row["patient"]] = row["therapist"]
            parts = [row[f"bai_parcel_{i}"] for i in (1, 2, 3)]
            value = sum(float(p) for p in parts) / 3 if all(p.strip() for p in parts) else None
            series.setdefault(row["patient"], {})[int(row["t"])] = value
    return series, therapist


def _anova_icc1(groups: dict[str, list[float]]) -> float:
    """One-way ANOVA ICC(1) for unequal group sizes.

    ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW) with k0 = (N - sum n_j^2 / N) / (J - 1)
    (Donner A. (1986) Int Stat Rev 54(1):67-82).
    """
    values = [x for g in groups.values() for x in g]
    n_all, n_groups = len(values), len(groups)
    grand = sum(values) / n_all
    means = {k: sum(g) / len(g) for k, g in groups.items()}
    msb = sum(len(g) * (means[k] - grand) ** 2 for k, g in groups.items()) / (n_groups - 1)
    msw = sum((x - means[k]) ** 2 for k, g in groups.items() for x in g) / (n_all - n_groups)
    k0 = (n_all - sum(len(g) ** 2 for g in groups.values()) / n_all) / (n_groups - 1)
    return (msb - msw) / (msb + (k0 - 1) * msw)


@pytest.mark.slow
def test_implement_every_notebook_end_to_end_against_hand_computation(validation_file, tmp_path):
    """examples/implement.yaml as a user runs it (`python -m analysis run -f`), with the export
    copied to a folder of the test's own; every notebook renders, and its numbers equal an
    independent computation from the raw CSV (standard library only).

    What the numbers are, and their limits (the data are centred at the t = 1 sample mean, so only
    change-based definitions are run; no remission, cutoff, band or clinically significant change):
    - baseline = the BAI parcel mean at the client's first time point (t = 1); 11 of the 57 have
      no t = 1 BAI score (a parcel missing), so they are not evaluable (the engine does not move
      the baseline to a later session), leaving 46;
    - post = the last observed BAI score after t = 1; change = post - baseline (item-mean points);
    - reliable improvement (Jacobson & Truax 1991): change / S_diff < -1.96 with S_diff =
      sqrt(2) x SD(46 baselines) x sqrt(1 - .92) = sqrt(2) x 0.58398 x 0.28284 = 0.23359 points;
      the alpha .92 is the 21-item total's (Beck et al. 1988), assumed for the parcel mean;
    - time to reliable improvement (notebook 03, event "sustained"): the first session from which
      the criterion held at every later observed session; sessions since t = 1;
    - therapist ICC of change (notebook 04, REML random intercept) against the one-way ANOVA
      ICC(1) with k0 for 13 therapists of 1 to 7 clients (k0 = 3.44): ANOVA gives -0.152 (the
      within-therapist mean square exceeds the between), REML its boundary 0: no therapist
      effect either way. The two estimators coincide only in balanced data; with these group
      sizes they may differ, hence the tolerance (0.01; CSV values carry 6 significant digits).
    """
    import shutil

    from analysis.run import pipeline

    src = validation_file(f"{FOLDER}/implement_sessions_long_centered.csv")
    folder = tmp_path / "my_study" / "implement"  # where the runs file expects the export
    folder.mkdir(parents=True)
    data = Path(shutil.copy(src, folder / src.name))
    raw = yaml.safe_load(RUNS.read_text(encoding="utf-8"))
    run = raw["runs"]["implement"]
    assert run["dataset_options"]["path"] == f"my_study/implement/{src.name}"
    run["dataset_options"]["path"] = str(data)
    raw["instruments"] = str(ROOT / raw["instruments"])
    run["parameters"]["definitions"] = str(ROOT / run["parameters"]["definitions"])
    run["parameters"]["client_outcomes"] = True  # the per-client table, checked by hand below
    runs = tmp_path / "implement.yaml"
    runs.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    out = tmp_path / "reports"
    assert pipeline.main(["-f", str(runs), "--out", str(out)]) == 0
    rep = out / "implement"
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    for name in notebooks:  # main() returned 0: every notebook ran; each rendered
        assert (rep / f"{name}.html").stat().st_size > 0, name
    assert instruments.USER_INSTRUMENTS_ENV not in os.environ  # the run's registry was scoped

    # BAI change per client and reliable improvement, by hand
    bai, therapist = _bai_by_time(data)
    base, post, post_t = {}, {}, {}
    for pid, s in bai.items():
        if s[1] is None:
            continue
        after = [t for t in sorted(s) if t > 1 and s[t] is not None]
        base[pid], post[pid], post_t[pid] = s[1], s[after[-1]], after[-1]
    assert len(base) == 46
    mean = sum(base.values()) / len(base)
    sd = math.sqrt(sum((b - mean) ** 2 for b in base.values()) / (len(base) - 1))
    s_diff = math.sqrt(2) * sd * math.sqrt(1 - 0.92)
    assert math.isclose(s_diff, 0.23359, abs_tol=5e-6)
    met = {p for p in base if (post[p] - base[p]) / s_diff < -1.96}
    assert len(met) == 20

    import pandas as pd

    res = pd.read_csv(rep / "outcomes-identifiable.csv", dtype={"id": str})
    ri = res.loc[res["definition"] == "reliable_improvement"].set_index("id")
    assert len(ri) == 57 and set(ri.index[ri["status"] != "not_evaluable"]) == set(base)
    assert (ri.loc[ri["status"] == "not_evaluable", "reason"] == "no baseline score").all()
    for pid in base:
        assert math.isclose(ri.loc[pid, "change"], post[pid] - base[pid], abs_tol=5e-6), pid
    assert set(ri.index[ri["status"] == "met"]) == met
    # centred data: no definition needing an absolute level was run
    assert set(res["definition"]) == {
        "reliable_improvement",
        "reliable_deterioration",
        "wai_growth",
        "wai_rupture_repair",
    }

    # time to reliable improvement (sustained): first session from which it held to the end
    met_at: dict[str, int] = {}
    for pid in met:
        s = bai[pid]
        seen = [t for t in sorted(s) if t > 1 and s[t] is not None]
        held = [(s[t] - base[pid]) / s_diff < -1.96 for t in seen]
        k = len(held)
        while k and held[k - 1]:
            k -= 1
        met_at[pid] = seen[k]
        assert ri.loc[pid, "met_time"] == met_at[pid], pid
    med = pd.read_csv(rep / "survival_median.csv").set_index("definition")
    assert med.loc["reliable_improvement", "n_met"] == 20
    assert med.loc["reliable_improvement", "n"] == 46
    # Kaplan-Meier (product-limit) share met by the end, by hand: durations in sessions since
    # t = 1, the event at the sustained met time, censoring at the last observed session
    dur = {p: (met_at[p] - 1, True) if p in met else (post_t[p] - 1, False) for p in base}
    surv, at_risk = 1.0, len(dur)
    for t in sorted({d for d, _ in dur.values()}):
        events = sum(1 for d, e in dur.values() if d == t and e)
        surv *= 1 - events / at_risk
        at_risk -= sum(1 for d, _ in dur.values() if d == t)
    assert math.isclose(
        med.loc["reliable_improvement", "proportion_met_end"], 1 - surv, abs_tol=1e-6
    )

    # therapist ICC of change (notebook 04) against the one-way ANOVA estimator
    groups: dict[str, list[float]] = {}
    for pid in base:
        groups.setdefault(therapist[pid], []).append(post[pid] - base[pid])
    icc1 = _anova_icc1(groups)
    assert len(groups) == 13 and math.isclose(icc1, -0.15172, abs_tol=5e-5)
    icc = pd.read_csv(rep / "alliance_therapist_icc.csv").set_index("dv")
    assert icc.loc["change", "n_clients"] == 46 and icc.loc["change", "n_therapists"] == 13
    assert abs(icc.loc["change", "icc"] - max(icc1, 0.0)) < 0.01
