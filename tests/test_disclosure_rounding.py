"""The rounding method of disclosure control (NHS Digital 2018; issue 17, item 1).

NHS Digital (2018) Disclosure control methodology for HES and ECDS: below national level 0 stays
0, counts 1-7 are replaced ("*", here "1-7"), every other count is rounded to the nearest 5, and
percentages are calculated from the rounded numerator and denominator. Hand-worked examples, the
arithmetic in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.report import disclosure
from analysis.report import disclosure_tables as masks
from analysis.report.disclosure import membership_from_ids, rounded_count, rounding_plan
from analysis.report.tables import format_prevalence


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: (p + z2/2n -/+ z sqrt(p(1-p)/n + z2/4n2)) /
    (1 + z2/n)."""
    p = k / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)


def test_rounded_count_follows_the_nhs_rule():
    # 0 -> 0; 1..7 -> "1-7"; 8 / 5 = 1.6 -> 2 x 5 = 10; 12 / 5 = 2.4 -> 10; 13 / 5 = 2.6 -> 15;
    # 97 / 5 = 19.4 -> 95; 100 stays; 1003 / 5 = 200.6 -> 1005
    got = [rounded_count(n) for n in (0, 1, 3, 7, 8, 12, 13, 97, 100, 1003)]
    assert got == [0, "1-7", "1-7", "1-7", 10, 10, 15, 95, 100, 1005]
    assert pd.isna(rounded_count(float("nan")))
    with pytest.raises(ValueError, match="negative"):
        rounded_count(-1)


def _btheb_like():
    """100 clients; definition a: 28 met, 69 not met, 97 evaluable, 3 not evaluable."""
    ids = list(range(100))
    m = membership_from_ids(
        {
            "N": ids,
            "a: met": ids[:28],
            "a: not_met": ids[28:97],
            "a: evaluable": ids[:97],
            "a: not_evaluable": ids[97:],
        },
        ids,
    )
    prev = pd.DataFrame(
        {
            "definition": ["a"],
            "n_met": [28],
            "n_evaluable": [97],
            "n_not_evaluable": [3],
            "proportion": [28 / 97],
            "ci_low": [_wilson(28, 97)[0]],
            "ci_high": [_wilson(28, 97)[1]],
        }
    )
    return m, prev


def test_rounding_plan_shows_every_count_rounded_and_marks_1_to_7():
    m, _ = _btheb_like()
    plan = rounding_plan(m)
    shown = dict(zip(plan["cell"], plan["shown"], strict=True))
    # 100 -> 100; 28 -> 30; 69 / 5 = 13.8 -> 70; 97 -> 95; 3 -> "1-7"
    assert shown == {
        "N": "100",
        "a: met": "30",
        "a: not_met": "70",
        "a: evaluable": "95",
        "a: not_evaluable": "1-7",
    }
    assert plan.loc[plan["suppressed"], "cell"].tolist() == ["a: not_evaluable"]
    assert disclosure.plan_method(plan) == "rounding"
    assert disclosure.shown_count(plan, "a: evaluable") == "95"
    # no complementary suppression: with N = 100 public, 97 evaluable is still shown (as 95)
    assert not plan.set_index("cell").loc["a: evaluable", "suppressed"]


def test_mask_prevalence_rate_from_the_rounded_counts():
    m, prev = _btheb_like()
    plan = rounding_plan(m)
    csv = masks.mask_prevalence(prev, prev, plan).iloc[0]
    # met 28 -> 30, evaluable 97 -> 95, not evaluable 3 -> "1-7"
    assert [csv["n_met"], csv["n_evaluable"], csv["n_not_evaluable"]] == [30, 95, "1-7"]
    # rate 30 / 95 = 0.3158 (the unrounded 28 / 97 = 0.2887): a whole percentage, 32 %, as the
    # rounded denominator is below 4,000; Wilson(30, 95) = 0.2310 to 0.4149 -> 23 % to 41 %
    lo, hi = _wilson(30, 95)
    assert round(lo, 4) == 0.2310 and round(hi, 4) == 0.4149
    assert [csv["proportion"], csv["ci_low"], csv["ci_high"]] == [0.32, 0.23, 0.41]
    shown = masks.mask_prevalence(format_prevalence(prev, suppress=False), prev, plan).iloc[0]
    assert shown["% met (95% CI)"] == "32 (23 to 41)"
    assert [shown["met"], shown["evaluable"], shown["not evaluable"]] == [30, 95, "1-7"]


def test_mask_prevalence_hides_a_rate_on_a_count_of_1_to_7_and_keeps_zero():
    ids = list(range(60))
    m = membership_from_ids(
        {
            "b: met": ids[:3],  # 3 met: "1-7", the rate is not shown
            "b: not_met": ids[3:50],
            "b: evaluable": ids[:50],
            "b: not_evaluable": ids[50:],
            "c: met": [],  # 0 met of 50: 0 stays 0, rate 0 / 50 = 0 %
            "c: not_met": ids[:50],
            "c: evaluable": ids[:50],
            "c: not_evaluable": ids[50:],
            "d: met": ids[:45],  # 45 met of 50: not met 5 is "1-7", the rate is not shown
            "d: not_met": ids[45:50],
            "d: evaluable": ids[:50],
            "d: not_evaluable": ids[50:],
        },
        ids,
    )
    prev = pd.DataFrame(
        {
            "definition": ["b", "c", "d"],
            "n_met": [3, 0, 45],
            "n_evaluable": [50, 50, 50],
            "n_not_evaluable": [10, 10, 10],
            "proportion": [0.06, 0.0, 0.9],
            "ci_low": [0.02, 0.0, 0.79],
            "ci_high": [0.16, 0.07, 0.96],
        }
    )
    out = masks.mask_prevalence(prev, prev, rounding_plan(m))
    assert out["n_met"].tolist() == ["1-7", 0, 45]
    assert out["proportion"].tolist() == ["suppressed", 0.0, "suppressed"]
    # Wilson(0, 50): 0 to 0.0713 -> 0.07
    assert out.loc[1, "ci_high"] == round(_wilson(0, 50)[1], 2) == 0.07


def test_mask_pairs_percent_agreement_and_pabak_from_rounded_counts():
    cells = {"met/met": 20, "met/not_met": 10, "not_met/met": 12, "not_met/not_met": 35}
    ids = list(range(77))
    sets, start = {}, 0
    for k, n in cells.items():
        sets[f"a x b: {k}"] = ids[start : start + n]
        start += n
    sets["a x b: both evaluable"] = ids
    plan = rounding_plan(membership_from_ids(sets, ids))
    pairs = pd.DataFrame(
        {
            "definition_a": ["a"],
            "definition_b": ["b"],
            "n_both": [77],
            "both_met": [20],
            "only_a": [10],
            "only_b": [12],
            "neither": [35],
            "percent_agree": [100 * 55 / 77],
            "kappa": [0.4],
            "pabak": [2 * 55 / 77 - 1],
            "prevalence_a": [30 / 77],
            "prevalence_b": [32 / 77],
            "prevalence_difference": [-2 / 77],
        }
    )
    r = masks.mask_pairs(pairs, pairs, plan).iloc[0]
    # 77 -> 75, 20, 10, 12 -> 10, 35
    assert [r["n_both"], r["both_met"], r["only_a"], r["only_b"], r["neither"]] == [
        75,
        20,
        10,
        10,
        35,
    ]
    # every statistic from the rounded cells 20, 10, 10, 35 (n = 75), never from the exact ones:
    # agree = 20 + 35 = 55 of 75: 73.3 % -> 73 %; PABAK = 2 x 55 / 75 - 1 = 0.4667 -> 0.47 (not
    # 2 x 0.73 - 1 = 0.46 from the rounded percentage)
    assert r["percent_agree"] == 73
    assert r["pabak"] == pytest.approx(0.47)
    # met under a = 30 (-> 30) of 75 = 0.40; under b = 32 (-> 30) of 75 = 0.40; difference 0
    assert (r["prevalence_a"], r["prevalence_b"], r["prevalence_difference"]) == (0.4, 0.4, 0.0)
    # kappa: p_o = 55/75, p_e = 0.4 x 0.4 + 0.6 x 0.6 = 0.52: (0.7333 - 0.52) / 0.48 = 4/9
    # (the exact table's kappa 0.4 given in ``pairs`` is replaced)
    assert r["kappa"] == pytest.approx(4 / 9)
    # a pair with a cell of 1-7: the cell reads "1-7", every statistic "suppressed"
    small = pairs.assign(only_a=[3], n_both=[70])
    sets["a x b: met/not_met"] = ids[20:23]
    plan2 = rounding_plan(membership_from_ids(sets, ids))
    r2 = masks.mask_pairs(small, small, plan2).iloc[0]
    assert r2["only_a"] == "1-7"
    assert {r2[c] for c in ("percent_agree", "kappa", "pabak", "prevalence_a")} == {"suppressed"}


def test_mask_multiverse_under_rounding():
    r = pd.DataFrame(
        {
            "missing": ["locf", "locf", "locf"],
            "n_evaluable": [97, 50, 50],
            "n_met": [28, 3, 45],
            "rate": [28 / 97, 0.06, 0.9],
            "ci_low": [0.2, 0.02, 0.79],
            "ci_high": [0.39, 0.16, 0.96],
        }
    )
    out = masks.mask_multiverse(r, True, method="rounding")
    assert out["n_evaluable"].tolist() == [95, 50, 50]
    assert out["n_met"].tolist() == [30, "1-7", 45]
    # 30 / 95 -> 0.32 (23 % to 41 %); 3 met and 5 not met (50 - 45) are 1-7: not shown
    assert out["rate"].tolist() == [0.32, "suppressed", "suppressed"]
    assert out.loc[0, ["ci_low", "ci_high"]].tolist() == [0.23, 0.41]
    # suppression (the default) keeps its rule: 1-4 as "<5"
    assert masks.mask_multiverse(r, True)["n_met"].tolist() == [28, "<5", 45]


def test_methods_row_says_what_rounding_means():
    item, value, source = masks.methods_row(True, method="rounding")
    assert item == "small counts"
    assert "nearest 5" in value and '"1-7"' in value and "between 1 and 7" in value
    assert "rounded counts" in value
    assert "NHS Digital (2018)" in source and "SRHAD" in source
    assert "<5" in masks.methods_row(True)[1]  # suppression unchanged


def test_share_category_counts_and_labels_under_rounding():
    plan = rounding_plan(pd.DataFrame({"x": [True] * 9}))
    t = pd.DataFrame({"n": [97, 20, 40], "k": [28, 2, 36], "share": [28 / 97, 0.1, 0.9]})
    out = masks.mask_share(t, "n", "k", ["share"], plan)
    # 28 / 97 -> 30 / 95 = 0.32; 2 of 20 is 1-7; 36 of 40 leaves 4 (1-7): share hidden
    assert out["share"].tolist() == [0.32, "suppressed", "suppressed"]
    assert out["k"].tolist() == [30, "1-7", 35]
    jt = pd.DataFrame({"category": ["improved"] * 13 + ["harmed"] * 2 + ["unchanged"] * 0})
    assert masks.category_counts(jt, plan, "d") == {"improved": "15", "harmed": "1-7"}
    assert masks.is_hidden(["1-7", 95, "suppressed"]) == [True, False, True]
    assert masks.count_subject("1-7") == "Between 1 and 7 clients"


def test_plan_file_holds_no_exact_count_and_extends(tmp_path):
    m, _ = _btheb_like()
    plan = rounding_plan(m)
    path = disclosure.write_plan(plan, tmp_path)
    text = path.read_text()
    assert "97" not in text and "28" not in text and "69" not in text
    back = disclosure.read_plan(tmp_path)
    assert disclosure.plan_method(back) == "rounding"
    assert back["count"].isna().all()
    assert back.set_index("cell").loc["a: evaluable", "shown"] == "95"
    # a later notebook adds its counts: rounded, the earlier ones untouched
    m2 = m.assign(**{"km a: clients": m["a: evaluable"]})
    ext = disclosure.extend_plan(back, m2)
    assert ext.set_index("cell").loc["km a: clients", "shown"] == "95"
    assert len(ext) == len(back) + 1


def test_run_plan_method_and_errors():
    out = pd.DataFrame(
        {"id": range(12), "definition": "a", "status": ["met"] * 3 + ["not_met"] * 9}
    )
    plan = disclosure.run_plan(out, method="rounding")
    # 3 met -> "1-7"; 9 not met -> 10; 12 evaluable -> 10; N 12 -> 10
    shown = dict(zip(plan["cell"], plan["shown"], strict=True))
    assert shown["a: met"] == "1-7" and shown["a: not_met"] == "10" and shown["N"] == "10"
    with pytest.raises(ValueError, match="disclosure method"):
        disclosure.run_plan(out, method="perturbation")


def test_no_kaplan_meier_step_and_no_km_end_share_under_rounding():
    """Finding A1/A4: step hazards 10/77, 3/51 and the KM share met by the end (1 - 0.5824... =
    69300/165967, 165967 = 97 x 59 x 29) give the exact at-risk and evaluable counts back. Under
    rounding no curve row is returned and the KM end share reads "not shown", with the reason
    in one sentence; under suppression the same curves are cut at 5 at risk as before."""
    ids = list(range(20))
    plan = rounding_plan(membership_from_ids({"a: met": ids[:12], "km a: clients": ids}, ids))
    tte = pd.DataFrame({"definition": ["a"] * 12, "duration": list(range(1, 13))})
    curves = pd.DataFrame(
        {
            "definition": ["a"] * 12,
            "time": [float(t) for t in range(1, 13)],
            "proportion_met": list(np.linspace(0.05, 0.6, 12)),
        }
    )
    shown = masks.mask_curves(curves, tte, plan)
    assert len(shown) == 0 and shown.attrs["hidden"] == ["a"]
    note = masks.curves_note(shown)
    assert note.startswith("Disclosure control (rounding):") and "exact number at risk" in note
    assert "counts hidden" not in note  # finding C4: nothing is 'hidden' here, it is not shown
    km = pd.DataFrame(
        {
            "definition": ["a"],
            "n": [97],
            "n_met": [40],
            "median": [8.0],
            "proportion_met_end": [1 - 69300 / 165967],
        }
    )
    out = masks.mask_km(km, km, plan).iloc[0]
    assert out["n"] == 95 and out["n_met"] == 40 and out["median"] == 8.0
    assert out["proportion_met_end"] == masks.NOT_SHOWN
    disp = pd.DataFrame({"definition": ["a"], "% met by end (Kaplan-Meier)": ["41.8"]})
    assert masks.mask_km(disp, km, plan).iloc[0, 1] == masks.NOT_SHOWN
    # suppression (default): each step here is 1 event (durations 1, 2, ..., 12), a count of
    # 1-4 that the step would show, so the curve ends before its first step: no row
    sup = pd.DataFrame({"cell": ["km a: clients"], "suppressed": [False], "reason": [""]})
    kept = masks.mask_curves(curves, tte, sup)
    assert len(kept) == 0
    assert masks.mask_km(km, km, sup).iloc[0]["proportion_met_end"] == 1 - 69300 / 165967


def test_rounded_shares_recomputes_under_rounding_only():
    t = pd.DataFrame(
        {"k": [28, 45, 0], "n": [97, 50, 30], "p": [28 / 97, 0.9, 0.0], "ci_low": [0.2, 0.8, 0.0]}
    )
    plan = rounding_plan(pd.DataFrame({"x": [True] * 9}))
    out = masks.rounded_shares(t, plan, t["k"], t["n"], ["p", "ci_low"])
    # 28 / 97 -> 30 / 95 = 0.32, Wilson low 0.23; 45 of 50 leaves 5 (1-7): "suppressed";
    # 0 of 30: 0.0, Wilson low 0.0
    assert out["p"].tolist() == [0.32, "suppressed", 0.0]
    assert out["ci_low"].tolist() == [0.23, "suppressed", 0.0]
    pct = masks.rounded_shares(t, plan, t["k"], t["n"], ["p"], scale=100)
    assert pct.loc[0, "p"] == 32  # whole percentages below a rounded denominator of 4,000
    # suppression plan or none: unchanged
    assert masks.rounded_shares(t, None, t["k"], t["n"], ["p"]).equals(t)
    assert masks.rounded_shares(t, disclosure.no_plan(), t["k"], t["n"], ["p"]).equals(t)


def _btheb_pair(n_both=97, cells=(28, 12, 0, 57)):
    """The reviewer's BtheB pair (reliable improvement x clinically significant change)."""
    a, b, c, d = cells
    return pd.DataFrame(
        {
            "definition_a": ["ri"],
            "definition_b": ["csc"],
            "n_both": [n_both],
            "both_met": [a],
            "only_a": [b],
            "only_b": [c],
            "neither": [d],
            "percent_agree": [100 * (a + d) / n_both],
            "kappa": [0.7327823691460055],
            "kappa_se": [0.07],
            "kappa_ci_low": [0.6],
            "kappa_ci_high": [0.87],
            "pabak": [2 * (a + d) / n_both - 1],
            "mcnemar_method": ["midp"],
            "mcnemar_p": [2.0**-12],
            "prevalence_a": [(a + b) / n_both],
            "prevalence_b": [(a + c) / n_both],
            "prevalence_difference": [(b - c) / n_both],
            "note": [""],
        }
    )


def test_kappa_mcnemar_and_pabak_from_the_rounded_cells_in_csv_and_display():
    """Finding A2/B1: kappa 0.7327823691460055 and McNemar p = 2^-12 gave the exact table
    (28, 12, 0, 57) back. From the rounded cells (30, 10, 0, 55), n = 95:
    p_o = 85/95 = 0.8947; p_e = (40/95)(30/95) + (55/95)(65/95) = 0.1330 + 0.3961 = 0.5291;
    kappa = (0.8947 - 0.5291) / 0.4709 = 0.7765; McNemar mid-p on b = 10, c = 0:
    2 x (P(X = 0) / 2) = 2^-10 (exact cells: 2^-12); PABAK = 2 x 85/95 - 1 = 0.7895 -> 0.79."""
    pairs = _btheb_pair()
    plan = rounding_plan(pd.DataFrame({"x": [True] * 9}))
    r = masks.mask_pairs(pairs, pairs, plan).iloc[0]
    assert [r["n_both"], r["both_met"], r["only_a"], r["only_b"], r["neither"]] == [
        95,
        30,
        10,
        0,
        55,
    ]
    assert r["kappa"] == pytest.approx(0.7765, abs=5e-5)
    assert r["mcnemar_p"] == pytest.approx(2.0**-10)
    assert r["pabak"] == 0.79 and r["percent_agree"] == 89
    assert (r["prevalence_a"], r["prevalence_b"]) == (round(40 / 95, 2), round(30 / 95, 2))
    # the kappa interval from the rounded table too: kappa +/- 1.96 SE of (30, 10, 0, 55)
    from analysis.compare.agreement import cohen_kappa_2x2

    k, se = cohen_kappa_2x2(30, 10, 0, 55)
    assert r["kappa_ci_low"] == pytest.approx(k - 1.959963984540054 * se)
    # the display table (notebooks 01, 02, 04) shows the same values, formatted
    from analysis.report.text import format_pairs

    d = masks.mask_pairs(format_pairs(pairs, suppress=False), pairs, plan).iloc[0]
    assert d["% agree"] == "89" and d["PABAK"] == "0.79"
    assert d["kappa (95 % CI)"].startswith("0.78 (")
    assert d["McNemar p"] == "< .001"  # 2^-10 = 0.00098
    # notebook 01's disagreement table (columns in words): the same whole percentage
    words = pairs.rename(columns={"percent_agree": "percent agree"})
    assert masks.mask_pairs(words, pairs, plan).iloc[0]["percent agree"] == 89
    # the heat maps draw the same values as the table
    m, hidden = masks.mask_matrix(pairs, plan, "pabak")
    assert m.loc["ri", "csc"] == 0.79 and not hidden.loc["ri", "csc"]
    m, _ = masks.mask_matrix(pairs, plan, "kappa")
    assert m.loc["ri", "csc"] == pytest.approx(0.7765, abs=5e-5)
    # suppression (the default) is unchanged: the exact values
    assert masks.rounded_pairs(pairs, None)["kappa"].iloc[0] == 0.7327823691460055


def test_pair_statistics_hidden_where_a_rounded_cell_is_1_to_7():
    # only_b = 3 -> "1-7": no statistic of the pair (the heat map cell is hidden too)
    pairs = _btheb_pair(n_both=100, cells=(28, 12, 3, 57))
    plan = rounding_plan(pd.DataFrame({"x": [True] * 9}))
    r = masks.mask_pairs(pairs, pairs, plan).iloc[0]
    assert r["only_b"] == "1-7"
    assert {r[c] for c in ("kappa", "mcnemar_p", "pabak", "percent_agree")} == {"suppressed"}
    m, hidden = masks.mask_matrix(pairs, plan, "kappa")
    assert np.isnan(m.loc["ri", "csc"]) and hidden.loc["ri", "csc"]


def _arm_spec(missing="last_available"):
    from analysis.compare.multiverse import CHOICES

    row = {c: ["x"] for c in CHOICES}
    row.update(
        definition=["remission"],
        missing=[missing],
        computable=[True],
        n_met=[40],
        n_evaluable=[100],
        rate=[0.4],
        ci_low=[0.31],
        ci_high=[0.5],
        arm_comparison=["TAU vs BtheB"],
        n_met_other=[28],
        n_evaluable_other=[52],
        n_met_ref=[12],
        n_evaluable_ref=[48],
        # as computed from the exact arm counts: 28/52 - 12/48 = 0.2885; OR (28/24)/(12/36) = 3.5
        risk_difference=[28 / 52 - 12 / 48],
        rd_ci_low=[0.1],
        rd_ci_high=[0.45],
        odds_ratio=[3.5],
        or_ci_low=[1.5],
        or_ci_high=[8.2],
    )
    return pd.DataFrame(row)


def test_notebook_05_html_risk_difference_and_odds_ratio_from_rounded_arm_counts():
    """Finding A3/B2: the HTML tables of notebook 05 showed the exact RD and OR while
    multiverse.csv used the rounded counts. Rounded arms: 28 of 52 -> 30 of 50 = 0.6 and
    12 of 48 -> 10 of 50 = 0.2: RD = 0.6 - 0.2 = 40.0 % points; OR = (30/20) / (10/40) =
    1.5 / 0.25 = 6.00 (exact: 28.8 points and 3.50)."""
    from analysis.report import multiverse_tables as mvt

    r = _arm_spec()
    masked = masks.mask_multiverse(r, True, method="rounding")
    assert masked.loc[0, "risk_difference"] == pytest.approx(0.4)
    assert masked.loc[0, "odds_ratio"] == pytest.approx(6.0)
    shown = mvt.format_specifications(masks.rates_as_shown(r, masked), True, str, masked)
    row = shown.iloc[0]
    assert row["risk difference, % points (95% CI)"].startswith("40.0 (")
    assert row["odds ratio (95% CI)"].startswith("6.00 (")
    # the table of lowest and highest rates reads shown_results of rates_as_shown: the same
    s, _ = mvt.shown_results(masks.rates_as_shown(r, masked), True, masked)
    assert s["risk_difference"].iloc[0] == pytest.approx(0.4)


def test_pooled_multiple_imputation_estimates_not_shown_under_rounding():
    """Finding B3: a pooled MI rate x 20 imputations x N is whole (0.2453125 x 20 x 32 = 157),
    and with nothing missing it equals the complete-case rate: under rounding the pooled rate,
    its interval, RD and OR are "not shown" in the CSV, left out of the figures and tables."""
    from analysis.report import multiverse_tables as mvt

    r = _arm_spec("multiple_imputation").assign(rate=[0.2453125])
    masked = masks.mask_multiverse(r, True, method="rounding")
    assert (
        masked.loc[0, ["rate", "ci_low", "risk_difference", "odds_ratio"]].tolist()
        == [masks.NOT_SHOWN] * 4
    )
    s, n_hidden = mvt.shown_results(masks.rates_as_shown(r, masked), True, masked)
    assert len(s) == 0 and n_hidden == 1
    shown = mvt.format_specifications(masks.rates_as_shown(r, masked), True, str, masked)
    assert shown.iloc[0]["% met (95% CI)"] == masks.NOT_SHOWN
    # suppression (the default) unchanged: the pooled rate shown as computed
    assert masks.mask_multiverse(r, True).loc[0, "rate"] == 0.2453125


def test_hexbin_colours_are_bins_never_an_exact_count():
    """Finding A5: a continuous colour bar gave each hexagon's count (5, 6, ..., 15). Bins from
    the smallest hexagon drawn to the next multiple of 5, then fives: rounding (hexagons from
    8): 8-10, 11-15, 16-20; suppression (from 5): 5-10, 11-15."""
    import matplotlib

    matplotlib.use("Agg")
    from analysis.report import plots

    assert plots.hexagon_bins([8, 9, 12, 15, 16], threshold=8) == [(8, 10), (11, 15), (16, 20)]
    assert plots.hexagon_bins([5, 7, 11], threshold=5) == [(5, 10), (11, 15)]
    # a plot: 40 clients at one point (one hexagon of 40) and 9 at another (one of 9)
    ev = pd.DataFrame(
        {
            "pre": [30.0] * 40 + [10.0] * 9,
            "post": [10.0] * 40 + [30.0] * 9,
            "rci": [-5.0] * 40 + [5.0] * 9,
            "cutoff": [20.0] * 49,
            "category": ["recovered"] * 40 + ["deteriorated"] * 9,
            "evaluable": [True] * 49,
        }
    )
    ax = plots.jacobson_plot(ev, aggregate=True, threshold=8, counts={})
    hb = ax.collections[-1]
    assert sorted(hb.get_array().tolist()) == [9.0, 40.0]
    # one colour per bin: 8, 9 and 10 clients look the same; 9 -> bin 0 (8-10), 40 -> bin 6
    rgba = hb.to_rgba(np.array([8.0, 9.0, 10.0, 11.0, 36.0, 40.0]))
    assert (rgba[0] == rgba[1]).all() and (rgba[1] == rgba[2]).all()
    assert not (rgba[2] == rgba[3]).all() and (rgba[4] == rgba[5]).all()
    bar = ax.figure.axes[-1]
    labels = [t.get_text() for t in bar.get_yticklabels()]
    assert labels[0] == "8-10" and labels[-1] == "36-40"
    assert "9" not in labels and "40" not in labels


def test_cox_note_names_no_number_beside_a_rounded_or_hidden_count():
    """Finding B6: "met 10" (rounded from 8 or 9) beside "fewer than 10 successes". Under either
    method the note names no number."""
    coef = pd.DataFrame(
        {"definition": ["a"], "n": [35], "n_met": [9], "note": ["fewer than 10 successes"]}
    )
    plan = rounding_plan(pd.DataFrame({"x": [True] * 9}))
    out = masks.mask_km(coef, coef, plan, "cox").iloc[0]
    assert out["n_met"] == 10 and out["note"] == "too few successes to fit a model"
    sup = pd.DataFrame({"cell": ["cox a: met"], "suppressed": [True], "reason": ["complementary"]})
    out = masks.mask_km(coef, coef, sup, "cox").iloc[0]
    assert out["n_met"] == "suppressed" and "10" not in out["note"]
    assert masks.mask_km(coef, coef, None, "cox").iloc[0]["note"] == "fewer than 10 successes"
