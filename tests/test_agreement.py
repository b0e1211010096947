"""Agreement statistics against hand-worked 2x2 tables (arithmetic in the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _compare_synthetic import make_cohort

from analysis.compare import agreement
from analysis.compare import prevalence as stats
from analysis.compare.agreement import check_separation
from analysis.outcomes import engine as outcomes


def outcomes_from_2x2(n11: int, n10: int, n01: int, n00: int, extra_ne: int = 0) -> pd.DataFrame:
    """Tidy outcomes for definitions a and b with the given 2x2 cells (rows a, columns b)."""
    a = ["met"] * (n11 + n10) + ["not_met"] * (n01 + n00) + ["not_evaluable"] * extra_ne
    b = ["met"] * n11 + ["not_met"] * n10 + ["met"] * n01 + ["not_met"] * n00 + ["met"] * extra_ne
    ids = [f"c{i:03d}" for i in range(len(a))]
    base = np.linspace(10, 25, len(a))
    rows = []
    for d, fam, st in (("a", "symptom", a), ("b", "functional", b)):
        rows.append(
            pd.DataFrame(
                {
                    "id": ids,
                    "definition": d,
                    "family": fam,
                    "measures": "phq9",
                    "status": st,
                    "reason": "",
                    "baseline_time": 1.0,
                    "post_time": 2.0,
                    "baseline": base,
                    "post": np.nan,
                    "change": np.nan,
                    "rci": np.nan,
                    "category": "",
                    "first_met_time": np.nan,
                    "met_time": np.nan,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)[outcomes.OUTCOME_COLUMNS]


def test_kappa_pabak_mcnemar_hand_worked():
    """Table [[20, 5], [10, 15]], n = 50.
    p_o = 35/50 = .70; marginals a .50/.50, b .60/.40; p_e = .5*.6 + .5*.4 = .50;
    kappa = (.70 - .50) / (1 - .50) = .40.  PABAK = 2*.70 - 1 = .40.
    Var (Fleiss, Cohen & Everitt 1969), p = [[.4, .1], [.2, .3]], 1 - kappa = .6:
      diagonal  .4*(1 - 1.1*.6)^2 + .3*(1 - .9*.6)^2 = .4*.1156 + .3*.2116 = .10972
      off-diag  .36*(.1*(.6 + .5)^2 + .2*(.4 + .5)^2) = .36*(.121 + .162) = .10188
      minus     (.4 - .5*.6)^2 = .01
      var = (.10972 + .10188 - .01) / (50 * .5^2) = .2016 / 12.5 = .016128, SE = .126996
      95 % CI = .40 +/- 1.959964*.126996 = (.151092, .648908).
    McNemar (default mid-p, Fagerland, Lydersen & Laake 2013): discordant b = 5, c = 10,
      exact p = 2 * P(Bin(15, .5) <= 5) = 2 * (1 + 15 + 105 + 455 + 1365 + 3003) / 32768
              = 9888 / 32768 = .3017578;
      mid-p = 2 * (P(X <= 5) - P(X = 5) / 2) = (9888 - 3003) / 32768 = 6885 / 32768
            = .2101135."""
    o = outcomes_from_2x2(20, 5, 10, 15, extra_ne=3)
    r = agreement.pairwise_agreement(o).iloc[0]
    assert (r.n_both, r.both_met, r.only_a, r.only_b, r.neither) == (50, 20, 5, 10, 15)
    assert r.percent_agree == pytest.approx(70.0)
    assert r.kappa == pytest.approx(0.40, abs=1e-12)
    assert r.kappa_se == pytest.approx(np.sqrt(0.016128), abs=1e-9)
    assert (r.kappa_ci_low, r.kappa_ci_high) == pytest.approx((0.151092, 0.648908), abs=1e-6)
    assert r.pabak == pytest.approx(0.40)
    assert (r.mcnemar_b, r.mcnemar_c, r.mcnemar_method) == (5, 10, "midp")
    assert r.mcnemar_p == pytest.approx(6885 / 32768, abs=1e-12)
    exact = agreement.pairwise_agreement(o, mcnemar="exact").iloc[0]
    assert exact.mcnemar_p == pytest.approx(9888 / 32768, abs=1e-12)
    assert r.prevalence_difference == pytest.approx(25 / 50 - 30 / 50)
    assert (r.family_a, r.family_b, r.note) == ("symptom", "functional", "")


def test_rare_outcome_kappa_near_zero_pabak_high():
    """a met by 5, b by 5 other clients, 90 neither: p_o = .90, p_e = .95^2 + .05^2 = .905,
    kappa = (.90 - .905)/(1 - .905) = -.0526316; PABAK = 2*.9 - 1 = .80."""
    r = agreement.pairwise_agreement(outcomes_from_2x2(0, 5, 5, 90)).iloc[0]
    assert r.kappa == pytest.approx(-0.005 / 0.095, abs=1e-9)
    assert r.pabak == pytest.approx(0.8)


def test_one_constant_definition_gives_kappa_zero():
    """b met by all 50, a by 30: p_a = .6, p_b = 1, p_o = 30/50 = .6,
    p_e = .6*1 + .4*0 = .6 < 1, so kappa = (.6 - .6)/(1 - .6) = 0 (defined, not NaN).
    FCE variance with p = [[.6, 0], [.4, 0]], k = 0, margins row (.6, .4), col (1, 0):
      diagonal .6*(1 - (.6 + 1))^2 + 0 = .6*.36 = .216
      off-diag (1 - 0)^2 * (0*(1 + .4)^2 + .4*(0 + .6)^2) = .4*.36 = .144
      minus (0 - .6*1)^2 = .36  -> var = (.216 + .144 - .36) / (50 * .16) = 0, SE = 0."""
    r = agreement.pairwise_agreement(outcomes_from_2x2(30, 0, 20, 0)).iloc[0]  # b met by all
    assert r.kappa == 0.0 and r.kappa_se == pytest.approx(0.0, abs=1e-8)  # rounding only
    assert "kappa = 0" in r.note and "'b' gives the same" in r.note
    assert r.pabak == pytest.approx(2 * 30 / 50 - 1)
    m = agreement.agreement_matrix(agreement.pairwise_agreement(outcomes_from_2x2(30, 0, 20, 0)))
    assert m.loc["a", "b"] == 0.0 and m.loc["a", "a"] == 1.0


def test_both_constant_same_value_kappa_undefined():
    """Both met by all 40: p_e = 1*1 + 0*0 = 1, kappa undefined (0/0)."""
    r = agreement.pairwise_agreement(outcomes_from_2x2(40, 0, 0, 0)).iloc[0]
    assert np.isnan(r.kappa) and "undefined" in r.note
    assert r.mcnemar_p == 1.0  # no discordant pair


def test_mcnemar_variants_hand_worked():
    """b = 1, c = 7 (n = 8); Bin(8, .5): P(X = 0) = 1/256, P(X = 1) = 8/256.
    exact = 2 * (1 + 8) / 256 = 18/256 = .0703125
    mid-p = 2 * (9/256 - 8/512) = 2 * (18 - 8)/512 = 20/512 = .0390625
    asymptotic = chi2_1 tail of (1 - 7)^2 / 8 = 4.5 -> .0338949 (scipy chi2.sf(4.5, 1))."""
    assert agreement.mcnemar_p(1, 7, "exact") == pytest.approx(18 / 256, abs=1e-12)
    assert agreement.mcnemar_p(1, 7) == pytest.approx(20 / 512, abs=1e-12)
    assert agreement.mcnemar_p(7, 1, "midp") == pytest.approx(20 / 512, abs=1e-12)
    assert agreement.mcnemar_p(1, 7, "asymptotic") == pytest.approx(0.0338949, abs=1e-6)
    assert agreement.mcnemar_p(4, 4) == 1.0 and agreement.mcnemar_p(0, 0, "exact") == 1.0
    with pytest.raises(ValueError, match="method"):
        agreement.mcnemar_p(1, 2, "chisq")
    with pytest.raises(ValueError, match="non-negative"):
        agreement.mcnemar_p(-1, 2)


def test_wilson_interval_hand_worked():
    """7 of 20 (a met and b not met... here: definition a among 20): p = .35, z^2 = 3.841459;
    centre = (7 + 1.920729)/(20 + 3.841459) = .374169;
    half = 1.959964*sqrt(20*.35*.65 + .960365)/23.841459 = 1.959964*2.347416/23.841459 = .192976;
    CI = (.181193, .567145)."""
    o = outcomes_from_2x2(7, 0, 0, 13)
    p = stats.prevalence(o).set_index("definition").loc["a"]
    assert (p.n_met, p.n_evaluable) == (7, 20)
    assert (p.ci_low, p.ci_high) == pytest.approx((0.181193, 0.567145), abs=1e-5)


def test_wilson_interval_refuses_impossible_counts():
    """A count above its trials or below 0, or alpha outside (0, 1), is an error (statsmodels
    returns NaN for the first two); no trials and NaN counts still give NaN bounds."""
    with pytest.raises(ValueError, match=r"0 <= count <= nobs.*\(7, 5\)"):
        stats.wilson_interval([1, 7], [5, 5])
    with pytest.raises(ValueError, match="0 <= count <= nobs"):
        stats.wilson_interval(-1, 5)
    with pytest.raises(ValueError, match="alpha"):
        stats.wilson_interval(1, 5, alpha=1.5)
    lo, hi = stats.wilson_interval([0, np.nan], [0, 5])
    assert np.isnan(lo).all() and np.isnan(hi).all()


def test_overlap_and_family_disagreement_counts():
    o = outcomes_from_2x2(20, 5, 10, 15, extra_ne=3)
    pat = agreement.overlap_patterns(o).set_index(["a", "b"])["n_clients"]
    assert pat[(True, True)] == 20 and pat[(False, True)] == 10 and pat.sum() == 50
    assert agreement.overlap_patterns(o).attrs["n_excluded"] == 3
    prof = pd.DataFrame({"id": o["id"].unique(), "chronic": [True, False] * 26 + [True]})
    dis = agreement.family_disagreement(o, "symptom", "functional", profile=prof).set_index("group")
    assert dis["n_clients"].to_dict() == {
        "both": 20,
        "only symptom": 5,
        "only functional": 10,
        "neither": 15,
    }
    # the 5 'only symptom' clients are c020..c024: chronic at even positions -> c020, c022, c024
    assert dis.loc["only symptom", "% chronic"] == pytest.approx(60.0)
    assert "id" not in dis.columns
    with pytest.raises(ValueError, match="families present"):
        agreement.family_disagreement(o, "symptom", "alliance")


def test_severity_bias_recovers_generating_odds_ratio():
    """Success simulated from logit P = -1 + ln(2)/10 * (baseline - 15): OR per 10 points = 2."""
    seed = 7
    print("seed", seed)
    rng = np.random.default_rng(seed)
    n = 4000
    base = rng.uniform(5, 27, n)
    met = rng.random(n) < 1 / (1 + np.exp(-(-1 + np.log(2) / 10 * (base - 15))))
    o = pd.DataFrame(
        {
            "id": [f"x{i}" for i in range(n)],
            "definition": "d",
            "family": "symptom",
            "status": np.where(met, "met", "not_met"),
            "baseline": base,
        }
    )
    r = agreement.severity_bias(o).iloc[0]
    assert r.ci_low < 2.0 < r.ci_high and r.odds_ratio == pytest.approx(2.0, rel=0.2)
    const = o.assign(status="met")
    assert "same result" in agreement.severity_bias(const).iloc[0]["note"]


def test_severity_bias_with_separation_is_not_estimable():
    """Every client with a baseline above 15 met, every one at or below not: complete separation,
    no finite maximum-likelihood odds ratio (Albert & Anderson 1984); no number is shown."""
    base = np.arange(6.0, 26.0)  # 20 clients, 6..25 points
    o = pd.DataFrame(
        {
            "id": [f"x{i}" for i in range(20)],
            "definition": "d",
            "family": "symptom",
            "status": np.where(base > 15, "met", "not_met"),
            "baseline": base,
        }
    )
    r = agreement.severity_bias(o).iloc[0]
    assert np.isnan(r["odds_ratio"]) and np.isnan(r["ci_low"])
    assert r["note"].startswith("not estimable: separation")
    # one overlapping pair (15 met, 16 not) removes the separation: an estimate is shown
    overlap = o.assign(status=np.where((base > 15) ^ np.isin(base, [15, 16]), "met", "not_met"))
    r2 = agreement.severity_bias(overlap).iloc[0]
    assert np.isfinite(r2["odds_ratio"]) and r2["odds_ratio"] > 1 and r2["note"] == ""


def test_inputs_not_mutated_and_bad_input():
    c = make_cohort(n=80)
    o = outcomes.score_outcomes(c, "phq9", reliability=0.84)
    before = o.copy()
    agreement.pairwise_agreement(o)
    agreement.severity_bias(o)
    agreement.overlap_patterns(o)
    pd.testing.assert_frame_equal(o, before)
    with pytest.raises(ValueError, match="status"):
        agreement.pairwise_agreement(o.assign(status="yes"))
    with pytest.raises(ValueError, match="duplicated"):
        agreement.pairwise_agreement(pd.concat([o, o.head(1)]))
    with pytest.raises(ValueError, match="lacks column"):
        agreement.pairwise_agreement(o.drop(columns="status"))


# guard moved from data/io.py (issue 12): beside the models it guards


def test_check_separation():
    d = pd.DataFrame(
        {
            "arm": ["A", "A", "B", "B", "B"],
            "alliance": [5.0, 4.5, 3.0, 4.0, 2.0],
            "age": [30, 40, 35, 50, 45],
            "met": [1, 1, 0, 1, 0],
        }
    )
    assert check_separation(d, ["age"], "met") is None
    w = check_separation(d, ["arm", "alliance", "age"], "met")
    assert "'arm': level 'A' has only events (2 of 2)" in w
    assert "'alliance': every event has alliance > 3" in w
    assert "age" not in w.split("Separation")[1].split(":", 1)[1].replace("'age'", "")
    with pytest.raises(ValueError, match="must be 0/1"):
        check_separation(d.assign(met=[0, 1, 2, 0, 1]), ["arm"], "met")
