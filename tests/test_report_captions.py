"""Captions and sentences of the reports say the numbers they show (reviewer's findings)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def _specs(**extra) -> pd.DataFrame:
    base = {
        "definition": ["response", "response"],
        "cutoff_type": "n/a",
        "reliability": "n/a",
        "missing": ["locf", "multiple_imputation"],
        "post": "last",
        "population": "all",
        "n_met": [20, 27],
        "n_evaluable": [40, 32],
        "rate": [0.5, 0.833],
        "ci_low": [0.35, 0.672],
        "ci_high": [0.65, 0.994],
    }
    return pd.DataFrame({**base, **extra})


def test_arm_difference_curve_in_percentage_points_like_the_text():
    """The caption said 'estimates from -0.2 to 0.1' (proportions) beside the text's '-25.0 to 9.5
    percentage points'."""
    from analysis.compare import multiverse as mv

    r = _specs(risk_difference=[-0.25, 0.095], rd_ci_low=[-0.4, -0.1], rd_ci_high=[-0.1, 0.3])
    top, _ = mv.specification_curve(r, value="risk_difference")
    cap = top.figure.alt_text
    assert "estimates from -25.0 to 9.5 percentage points" in cap
    assert top.get_ylabel() == "risk difference (percentage points)"
    top, _ = mv.specification_curve(r)  # the rate, in %
    assert "estimates from 50.0 to 83.3 %," in top.figure.alt_text


def test_pooled_counts_are_labelled_as_means_over_the_imputations():
    """27 / 32 = 84.4 %, but the pooled rate is 83.3 %: the counts are rounded means."""
    from analysis.report import multiverse_tables as mvt

    out = mvt.format_specifications(_specs(), suppress=True)
    assert out["met"].tolist()[0] == 20 and out["evaluable"].tolist()[0] == 40  # observed
    assert out["met"].tolist()[1] == f"27 ({mvt.MI_COUNT_NOTE})"
    assert out["evaluable"].tolist()[1] == f"32 ({mvt.MI_COUNT_NOTE})"
    assert out["% met (95% CI)"].tolist()[1] == "83.3 (67.2 to 99.4)"


def test_arm_difference_hidden_by_disclosure_says_so():
    """The clinic run (12 and 12 clients per arm): arm differences computed under 20
    specifications, each with 1 to 4 clients met in an arm, so hidden; the report said 'fewer
    than two arms with evaluable clients'."""
    import numpy as np

    from analysis.report import multiverse_tables as mvt

    n = 20
    r = pd.DataFrame(
        {
            "rate": [0.25] * n,
            "n_met": [6] * n,
            "n_evaluable": [24] * n,
            "risk_difference": [-0.25] * n,
            "n_met_other": [1] * n,
            "n_evaluable_other": [12] * n,
            "n_met_ref": [5] * n,
            "n_evaluable_ref": [12] * n,
        }
    )
    shown, hidden = mvt.shown_results(r)
    assert hidden == 0 and shown["risk_difference"].isna().all()
    msg = mvt.arm_difference_absent(r, shown, "arm")
    assert "not shown: computed under 20 specification(s)" in msg
    assert "in 20 of them it rests on counts from 1 to 4" in msg and "leaving 0" in msg
    assert "fewer than two arms" not in msg
    none = r.assign(risk_difference=np.nan)
    assert "fewer than two arms" in mvt.arm_difference_absent(none, none, "arm")


@pytest.mark.slow
def test_index_states_the_multiverse_range_notebook_05_states(tmp_path):
    """The clinic example (examples/bai_clinic, 24 clients): the index said the range over every
    computed specification, notebook 05 over the ones shown (disclosure control)."""
    import re

    from analysis.registry import paths
    from analysis.run import execute
    from analysis.run import runs as run_config

    runs = run_config.prepare_runs(
        run_config.load_runs(paths.project_root() / "examples" / "bai_clinic" / "runs.yaml")
    )
    nb = paths.notebooks_dir() / "05_multiverse.ipynb"
    results = execute.run_all(runs, tmp_path, notebooks=[nb])
    assert all(r.ok for r in results), [r.error for r in results]
    index = (tmp_path / "index.html").read_text("utf-8")
    page = (tmp_path / "clinic" / "05_multiverse.html").read_text("utf-8")
    said = re.search(r"success rates from (\S+ %) to (\S+ %) over the (\d+) shown", page)
    assert said, "notebook 05's summary sentence"
    lo, hi, n = said.groups()
    assert f"multiverse: {lo} to {hi} success over the {n} specifications shown" in index
    mv = pd.read_csv(tmp_path / "clinic" / "multiverse.csv", comment="#")
    assert int(n) < mv["rate"].notna().sum()  # some are hidden: the two ranges could differ


def test_km_share_reasons_state_each_reason_with_its_number():
    """Notebook 03 on the simulated cohort (seed 2026): SRS strong alliance, notebook 01 590 of
    1645 met (35.9 %), Kaplan-Meier 8.6 %: 491 met it at the first assessment (left out: lower)
    and 295 + 760 = 1055 were censored without the event. The paragraph said only 'higher when
    clients are censored early'."""
    from analysis.report import text

    rec = pd.DataFrame(
        {
            "definition": ["srs_strong_alliance", "remission", "coping"],
            "n_met_notebook_01": [590, 349, 30],
            "events": [590, 349, 33],
            "n_dropout": [295, 399, 2],
            "n_censored_other": [760, 912, 1],
            "share_notebook_01": [35.9, 21.0, 50.0],
            "share_km_end": [8.6, 21.0, 60.0],
        }
    )
    ex = pd.DataFrame(
        {
            "definition": ["srs_strong_alliance", "coping"],
            "reason": [
                "met at the first assessment (no time at risk)",
                "no assessment after baseline (post score imputed)",
            ],
            "n": [491, 3],
        }
    )
    srs, rem, coping = text.km_share_reasons(rec, ex, "sustained", suppress=False)
    assert srs.startswith("491 met it at the first assessment and are left out (lowers")
    assert "1055 censored without the event (295 by dropout)" in srs
    assert rem == ""  # the shares agree
    # suppression on (real data): these counts are not in the run's disclosure plan, so the
    # reasons are named without them
    coping = text.km_share_reasons(rec, ex, "sustained")[2]
    assert coping == (
        "clients with no assessment after baseline are left out; clients censored without the "
        "event count as at risk until they leave (raises it)"
    )
    first = text.km_share_reasons(rec, ex, "first_met", suppress=False)[2]
    assert first.startswith("3 with no assessment") and first.endswith(
        "3 met it once and lost it again (events here)"
    )


def test_cutoff_between_whole_numbers_says_which_scores_fall_on_each_side():
    """BDI-II totals are whole numbers; its published 'case if >= 14' (Beck, Steer & Brown 1996)
    is the J&T boundary 13.5, so 13 or less is functional and 14 or more clinical."""
    from analysis.registry.instruments import get_instrument
    from analysis.run import workflow

    o = pd.DataFrame()
    o.attrs["details"] = {
        "clinically_significant": {"cutoff": 13.5, "cutoff_rule": "published", "cutoff_reason": "x"}
    }
    bdi = get_instrument("bdi2")
    assert bdi.integer and bdi.cutoff["value"] == 14 and bdi.cutoff["case_if"] == ">="
    row = workflow.reliable_change_rows(o, instrument=bdi)[0][1]
    assert row == (
        "published clinical cutoff: 13.50 points (scores are whole numbers: 13 or less is "
        "functional, 14 or more clinical)"
    )
    assert workflow.reliable_change_rows(o)[0][1] == "published clinical cutoff: 13.50 points"


def test_hlm_all_unchanged_on_btheb_says_why():
    """BtheB (73 clients with 3+ BDI-II scores, at most 5 in 8 months): the REML fit's
    random-slope variance is 0.187 (SD sqrt(0.187) = 0.43 points per month) around a mean slope
    of -1.35; the largest |empirical-Bayes deviation / its SE| is 1.69 < 1.96, so HLM counts
    every client unchanged."""
    from analysis.outcomes import engine
    from analysis.report import text
    from analysis.run import workflow

    nd = workflow.outcomes_for_notebook("btheb", {}, "bdi2", reliability=0.92)
    m = engine.compare_methods(
        nd.cohort, "bdi2", reliability=0.92, methods=("JT", "HLM"), registry=nd.registry
    )
    assert not m.attrs["hlm_fit"]["singular"]
    assert m.loc[m["method"] == "HLM", "reliable_change"].dropna().eq("unchanged").sum() == 73
    assert text.hlm_all_unchanged(m, "month") == (
        "HLM counts all 73 evaluable clients unchanged: their slopes vary little around the "
        "cohort's mean slope (-1.35 points per month; SD between clients 0.43), so no client's "
        "slope differs from the cohort's mean slope by more than 1.96 times its standard error "
        "(largest 1.69)."
    )
    # a method where some client changed reliably gets no such sentence
    jt = m.loc[m["method"] == "JT"]
    jt.attrs = m.attrs
    assert text.hlm_all_unchanged(jt.assign(method="HLM"), "month") == ""


def test_hidden_rates_note_says_what_multiverse_csv_shows_of_them():
    import numpy as np

    from analysis.report import multiverse_tables as mvt

    # 4 computed specifications, 1 not computed; rates of a and b rest on counts 1-4 (hidden).
    # In the masked CSV a is "suppressed" and b (hypothetically) shown: the sentence must not
    # claim the file "holds them" as numbers for a (reviewer: BtheB's 41 hidden were all
    # "suppressed" in multiverse.csv while the page said it held them)
    r = pd.DataFrame({"rate": [0.06, 0.08, 0.3, 0.5, np.nan]}, index=list("abcde"))
    shown = r.loc[["c", "d"]]
    all_masked = r.astype(object).assign(rate=["suppressed", "suppressed", 0.3, 0.5, np.nan])
    msg = mvt.hidden_rates_note(r, shown, all_masked)
    assert msg.startswith("2 computed specification(s) rest on counts from 1 to 4")
    assert msg.endswith(
        'multiverse.csv lists these specifications with their rates shown as "suppressed" '
        "(disclosure control)."
    )
    part = all_masked.assign(rate=["suppressed", 0.08, 0.3, 0.5, np.nan])
    assert mvt.hidden_rates_note(r, shown, part).endswith(
        'multiverse.csv holds their rates, shown as "suppressed" (disclosure control) in 1 of '
        "these 2 specifications."
    )
    assert mvt.hidden_rates_note(r, r.loc[["a", "b", "c", "d"]], all_masked) == ""
    # the arm difference: computed under 2, both hidden and "suppressed" in the CSV
    arms = pd.DataFrame({"risk_difference": [0.1, 0.2, np.nan]})
    m = arms.astype(object).assign(risk_difference=["suppressed", "suppressed", np.nan])
    msg = mvt.arm_difference_absent(arms, arms.iloc[:0], "arm", m)
    assert msg.endswith(
        'multiverse.csv lists these specifications with the differences shown as "suppressed" '
        "(disclosure control)."
    )


def test_methods_row_on_disclosure_survives_the_methods_rendering():
    # methods_html turns snake_case words into words, so a file name with an underscore
    # ("disclosure_plan.csv") read "disclosure plan.csv" on every real-data page
    from analysis.report import disclosure_tables as masks
    from analysis.report.tables import methods_html

    item, value, source = masks.methods_row(True)
    assert item == "small counts"
    assert value.startswith("1-4 shown as <5; further counts shown as 'suppressed'")
    assert "_" not in value
    rows = pd.DataFrame([masks.methods_row(True)], columns=["item", "value", "source"])
    page = methods_html(rows)
    assert "the run&#x27;s disclosure plan, a CSV file beside the reports" in page or (
        "the run's disclosure plan, a CSV file beside the reports" in page
    )
    assert "with the reason for each hidden count" in page
    assert "plan.csv" not in page


def test_pivoted_table_has_no_leading_level_column():
    # notebook 01's "Clients per category and reliable-change method": a pivot on "level" showed
    # an empty first column headed "level"; the header must be the method then the categories
    from analysis.report.tables import table_html

    summ = pd.DataFrame(
        {"method": ["JT", "JT", "HA", "HA"], "level": ["Improved", "Unchanged"] * 2,
         "n": [12, 30, 10, 32]}
    )  # fmt: skip
    wide = summ.pivot(index="method", columns="level", values="n").reset_index()
    page = table_html(wide, "Clients per category and reliable-change method")
    heads = [h for h in page.split("<th>")[1:]]
    assert [h.split("</th>")[0] for h in heads] == ["method", "Improved", "Unchanged"]
    assert "<td>HA</td>\n      <td>10</td>\n      <td>32</td>" in page
