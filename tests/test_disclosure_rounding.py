"""The rounding method of disclosure control (NHS Digital 2018; issue 17, item 1).

NHS Digital (2018) Disclosure control methodology for HES and ECDS: below national level 0 stays
0, counts 1-7 are replaced ("*", here "1-7"), every other count is rounded to the nearest 5, and
percentages are calculated from the rounded numerator and denominator. Hand-worked examples, the
arithmetic in the comments.
"""

from __future__ import annotations

import math

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
    # agree = 20 + 35 = 55 (rounded 55) of 75: 73.3 % -> 73 %; PABAK = 2 x 0.73 - 1 = 0.46
    assert r["percent_agree"] == 73
    assert r["pabak"] == pytest.approx(0.46)
    # met under a = 30 (-> 30) of 75 = 0.40; under b = 32 (-> 30) of 75 = 0.40; difference 0
    assert (r["prevalence_a"], r["prevalence_b"], r["prevalence_difference"]) == (0.4, 0.4, 0.0)
    assert r["kappa"] == 0.4  # a complex calculation: shown as computed (no cell is 1-7)
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


def test_mask_curves_under_rounding_cuts_at_8_and_hides_a_definition_with_a_1_to_7_count():
    ids = list(range(20))
    plan = rounding_plan(
        membership_from_ids(
            {
                "a: met": ids[:12],
                "a: not_evaluable": [],
                "b: met": ids[:12],
                "b: not_evaluable": ids[18:],  # 2 not evaluable: no curve for b
            },
            ids,
        )
    )
    # 40 records, events in steps of 10, 10, 10, 8 and 2 (a step of 1-7 events would end the
    # curve too, issue 17: every step here but the last shows 8 or more)
    dur = [1] * 10 + [2] * 10 + [3] * 10 + [4] * 8 + [5] * 2
    tte = pd.DataFrame({"definition": ["a"] * 40 + ["b"] * 40, "duration": dur * 2})
    curves = pd.DataFrame(
        {
            "definition": ["a"] * 5 + ["b"] * 5,
            "time": [1.0, 2.0, 3.0, 4.0, 5.0] * 2,
            "proportion_met": [m / 40 for m in (10, 20, 30, 38, 40)] * 2,
        }
    )
    shown = masks.mask_curves(curves, tte, plan)
    # at risk 40, 30, 20, 10, then 2 at t = 5 (fewer than 8: cut)
    assert shown["time"].tolist() == [1.0, 2.0, 3.0, 4.0]
    # rounded to the nearest 5: 40, 30, 20, 10
    assert shown["at_risk"].tolist() == [40, 30, 20, 10]
    assert shown.attrs["hidden"] == ["b"] and shown.attrs["threshold"] == 8
    assert "at least 8 clients" in masks.curves_note(shown)


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
