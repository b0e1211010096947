"""Tests of the reliable-change families (analysis.outcomes.clinsig and the modules it calls).

Checked against the R package clinicalsignificance and hand calculations.

Golden values: the R package's test snapshots (``tests/testthat/_snaps/*.md``) and README for
``claus_2020`` (HAM-D, pre = 1, post = 4, 40 complete cases, reliability 0.80; combined with
cutoff c, M_func = 8, SD_func = 8), as listed in
/work/shared/data/real/clinicalsignificance_claus2020_jacobson1989/README.md and in issue 3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.outcomes.anchor import anchor_group, anchor_individual
from analysis.outcomes.clinsig import clinical_significance, summarise_categories
from analysis.outcomes.distribution import (
    classify_prepost,
    clinical_cutoff,
    clinical_significance_prepost,
    ha_group_summary,
    ha_true_cutoff,
    reliable_change_index,
)
from analysis.outcomes.percentage import percentage_change


@pytest.fixture(scope="module")
def claus(claus_2020) -> pd.DataFrame:
    """claus_2020 from the shared validation data (conftest: fails, never skips, when absent)."""
    return claus_2020


def counts(result, column="category", group=None):
    return summarise_categories(result, column, group)["n"].tolist()


COMBINED = dict(cutoff_type="c", m_functional=8, sd_functional=8)


@pytest.mark.parametrize(
    ("method", "extra", "rc", "combined"),
    [
        # cs_distribution / cs_combined(claus_2020, id, time, hamd, pre = 1, post = 4,
        #   reliability = 0.8, [m_functional = 8, sd_functional = 8, cutoff_type = "c"], rci_method)
        ("JT", {}, [29, 10, 1], [26, 3, 10, 1, 0]),
        ("GLN", {}, [29, 10, 1], [26, 3, 10, 1, 0]),
        ("EN", {}, [32, 5, 3], [26, 6, 5, 3, 0]),
        ("HLL", {}, [12, 16, 12], [12, 0, 16, 11, 1]),
        ("NK", {"reliability_post": 0.5}, [28, 11, 1], [26, 2, 11, 1, 0]),
        ("NK", {"reliability_post": 0.8}, [29, 10, 1], [26, 3, 10, 1, 0]),
        ("HA", {}, [32, 7, 1], [23, 9, 7, 1, 0]),
        # HLM: every measurement of each client, no pre/post (R: rci_method = "HLM")
        ("HLM", {}, [11, 20, 9], [10, 1, 20, 9, 0]),
    ],
)
def test_r_package_golden_values(claus, method, extra, rc, combined):
    """Counts equal the R package's published results on claus_2020, method by method."""
    kw = dict(outcome="hamd", pre=1, post=4, reliability=0.8, rci_method=method, **extra)
    dist = clinical_significance(claus, **kw)
    assert counts(dist, "reliable_change") == rc
    comb = clinical_significance(claus, **kw, **COMBINED)
    assert counts(comb, "reliable_change") == rc
    assert counts(comb) == combined
    assert comb["evaluable"].sum() == 40


def test_not_evaluable_clients_are_kept_with_reason(claus):
    """43 clients, 40 complete at times 1 and 4; the 3 others stay with a reason."""
    res = clinical_significance(claus, outcome="hamd", pre=1, post=4, reliability=0.8)
    assert len(res) == 43
    bad = res.loc[~res["evaluable"]]
    assert len(bad) == 3
    assert bad["reason"].astype(str).str.startswith("no score at").all()
    assert bad["reliable_change"].isna().all()


def test_jt_cutoff_c_value(claus):
    """Cutoff c = (SD_pre * 8 + 8 * M_pre) / (SD_pre + 8) = 19.887 for hamd (data README)."""
    res = clinical_significance(claus, outcome="hamd", pre=1, post=4, reliability=0.8, **COMBINED)
    assert res["cutoff"].iloc[0] == pytest.approx(19.887, abs=5e-4)


def test_bdi2_registry_norms_reproduce_r_package_cutoff_c_on_claus_2020(claus):
    """The registry's BDI-II norms (M 7.69, SD 7.52) are the ones the R package clinicalsignificance
    uses for claus_2020; requested as cutoff c they reproduce its published README output:
    cs_combined(claus_2020, id, time, bdi, pre = 1, post = 4, reliability = 0.801,
    m_functional = 7.69, sd_functional = 7.52, cutoff_type = "c") -> Cutoff 21.02, M clinical 35.48,
    SD clinical 8.16; Recovered 10, Improved 8, Unchanged 22, Deteriorated 0, Harmed 0 (N used 40).

    By hand (Jacobson & Truax 1991, cutoff c), from the 40 complete cases' pre scores
    M_clin = 35.475, SD_clin = 8.1586:
    c = (SD_clin * M_func + SD_func * M_clin) / (SD_clin + SD_func)
      = (8.1586 * 7.69 + 7.52 * 35.475) / (8.1586 + 7.52)
      = (62.740 + 266.772) / 15.6786 = 329.512 / 15.6786 = 21.017.
    The registry's *default* for the BDI-II stays the published cutoff (the norms are unconfirmed).
    """
    from analysis.registry.instruments import get_instrument, resolve_cutoff

    chosen = resolve_cutoff(get_instrument("bdi2"), "c")
    assert chosen["kwargs"] == {"cutoff_type": "c", "m_functional": 7.69, "sd_functional": 7.52}
    res = clinical_significance(
        claus, outcome="bdi", pre=1, post=4, reliability=0.801, **chosen["kwargs"]
    )
    assert res["cutoff"].iloc[0] == pytest.approx(21.017, abs=5e-4)
    assert round(res["cutoff"].iloc[0], 2) == 21.02
    assert counts(res) == [10, 8, 22, 0, 0]
    assert resolve_cutoff(get_instrument("bdi2"))["kwargs"] == {"cutoff": 13.5}


def test_ha_group_level(claus):
    """R cs_combined(..., rci_method = "HA"): group level Changed 0.90, Functional 0.76."""
    res = clinical_significance(
        claus, outcome="hamd", pre=1, post=4, reliability=0.8, rci_method="HA", **COMBINED
    )
    g = ha_group_summary(res).set_index("category")["percent"]
    assert g["changed"] == pytest.approx(0.90, abs=0.005)
    assert g["functional"] == pytest.approx(0.76, abs=0.005)
    assert res.attrs["clinsig"]["critical"] == pytest.approx(1.644854, abs=1e-6)


def test_ha_group_level_per_group(claus):
    """Per-group HA proportions recomputed by hand from the raw claus_2020 table with the R formulas
    (create_summary_table.cs_combined): whole-sample SEM = SD_pre sqrt(1 - .8), r_dd from the
    whole-sample SDs and pre-post correlation, then per group Phi(-mean_change / (SD_change
    sqrt(r_dd))) and Phi((cutoff - M_post) / (SD_post sqrt(r_post)))."""
    from scipy.stats import norm

    res = clinical_significance(
        claus,
        outcome="hamd",
        pre=1,
        post=4,
        reliability=0.8,
        rci_method="HA",
        group="treatment",
        **COMBINED,
    )
    g = ha_group_summary(res, group="treatment").set_index(["treatment", "category"])["percent"]
    w = claus.pivot(index="id", columns="time", values="hamd")[[1, 4]].dropna()
    arm = claus.drop_duplicates("id").set_index("id")["treatment"].reindex(w.index)
    pre, post = w[1], w[4]
    sem = pre.std() * np.sqrt(0.2)
    r1 = (pre.var() - sem**2) / pre.var()
    r2 = (post.var() - sem**2) / post.var()
    rho = np.corrcoef(pre, post)[0, 1]
    sd1, sd2 = pre.std(), post.std()
    r_dd = (sd1**2 * r1 + sd2**2 * r2 - 2 * sd1 * sd2 * rho) / (
        sd1**2 + sd2**2 - 2 * sd1 * sd2 * rho
    )
    cutoff = res.attrs["clinsig"]["cutoff"]
    for a in ("PA", "TAU"):
        ch = (post - pre)[arm == a]
        po = post[arm == a]
        assert g[a, "changed"] == pytest.approx(norm.cdf(-ch.mean() / (ch.std() * np.sqrt(r_dd))))
        assert g[a, "functional"] == pytest.approx(
            norm.cdf((cutoff - po.mean()) / (po.std() * np.sqrt(r2)))
        )
    assert g["PA", "changed"] != pytest.approx(g["TAU", "changed"])  # the groups differ


def test_ha_harmed_follows_r_published_path_on_claus(claus):
    """R cs_combined(claus_2020, ..., rci_method = "HA"): 1 deteriorated, 0 harmed. R's path makes
    every reliably deteriorated client who is not clinical at pre 'harmed', so the one deteriorated
    client must be clinical at pre; the true-score option cannot change that."""
    kw = dict(outcome="hamd", pre=1, post=4, reliability=0.8, rci_method="HA", **COMBINED)
    res = clinical_significance(claus, **kw)
    det = res.loc[res["reliable_change"] == "deteriorated"]
    assert len(det) == 1 and bool(det["clinical_pre"].iloc[0])
    assert counts(clinical_significance(claus, ha_harmed="true_score", **kw)) == [23, 9, 7, 1, 0]


def test_ha_harmed_constructed_non_clinical_client_deteriorates():
    """Six clients, lower is better, r = .9, cutoff c with M_func = 6, SD_func = 6 (R formulas of
    calc_rci.cs_ha, calc_cutoff_from_data.cs_ha and create_summary_table.cs_combined, by hand):
      pre  = 11, 22, 2, 10, 2, 22 : M 11.5, SD 8.98332;  post = 11, 1, 21, 28, 10, 6 : M 12.8333,
      SD 9.94820; r(pre, post) = -.600887.  SEM = 8.98332 sqrt(.1) = 2.84077.
      r_xx pre = (SD^2 - SEM^2)/SD^2 = .9; post = (98.9667 - 8.07)/98.9667 = .918457;
      functional = (36 - 8.07)/36 = .775833.
      r_dd = (80.7*.9 + 98.9667*.918457 - 2*8.98332*9.94820*(-.600887)) /
             (80.7 + 98.9667 - 2*8.98332*9.94820*(-.600887)) = .943776.
      RCI_i = ((post - pre) .943776 + 1.33333 (1 - .943776)) / (sqrt(.943776) sqrt(2) 2.84077)
            = 0.0192, -5.0589, 4.6137, 4.3719, 1.9537, -3.8498;  z = qnorm(.95) = 1.644854.
      true cutoff c = (8.98332 sqrt(.9) 6 + 6 sqrt(.775833) 11.5) / (8.98332 sqrt(.9) + 6
                      sqrt(.775833)) = 8.10519;
      cs_indiv = (12.8333 + (post - 12.8333) .918457 - 8.10519) / (sqrt(.918457) 2.84077)
               = 1.1182, -2.2554, 4.4918, 6.8533, 0.7808, -0.5686.
      clinical_pre = pre > 8.10519: T, T, F, T, F, T.
      Client 2: clinical, RCI -5.06 < -z, cs_indiv -2.26 < -z -> recovered.
      Client 6: clinical, RCI -3.85 but cs_indiv -0.57 -> improved.   Client 1 -> unchanged.
      Client 4: clinical, RCI 4.37 > z -> deteriorated.
      Clients 3 and 5: NOT clinical at pre and RCI > z -> harmed in R's path.
      True-score option: client 3 cs_indiv 4.49 > z -> harmed; client 5 cs_indiv 0.78 (post true
      score not reliably clinical) -> deteriorated."""
    d = pd.DataFrame(
        {
            "id": np.repeat(np.arange(1, 7), 2),
            "time": [1, 2] * 6,
            "score": [11, 11, 22, 1, 2, 21, 10, 28, 2, 10, 22, 6],
        }
    )
    kw = dict(reliability=0.9, rci_method="HA", cutoff_type="c", m_functional=6, sd_functional=6)
    r_path = clinical_significance(d, **kw)
    np.testing.assert_allclose(
        r_path["rci"], [0.0192, -5.0589, 4.6137, 4.3719, 1.9537, -3.8498], atol=5e-4
    )
    np.testing.assert_allclose(
        r_path["cs_indiv"], [1.1182, -2.2554, 4.4918, 6.8533, 0.7808, -0.5686], atol=5e-4
    )
    assert r_path["cutoff"].iloc[0] == pytest.approx(8.10519, abs=5e-5)
    assert r_path.attrs["clinsig"]["r_dd"] == pytest.approx(0.943776, abs=5e-6)
    assert r_path["category"].astype(str).tolist() == [
        "unchanged",
        "recovered",
        "harmed",
        "deteriorated",
        "harmed",
        "improved",
    ]
    sym = clinical_significance(d, ha_harmed="true_score", **kw)
    assert sym["category"].astype(str).tolist()[2:5] == ["harmed", "deteriorated", "deteriorated"]
    with pytest.raises(ValueError, match="ha_harmed"):
        clinical_significance(d, ha_harmed="symmetric", **kw)


def test_reference_sd_four_clients_by_hand():
    """Four PHQ-9 clients, pre 13, 17, 17, 17 (mean 16, deviations -3, 1, 1, 1, sample SD
    sqrt(12/3) = 2.0), post 8, 17, 16, 18; r = .84 (sqrt(1 - .84) = .4).
      Sample SD: S_diff = sqrt(2) * 2.0 * .4 = 1.13137; client 1 (-5 points): RCI = -4.42,
      threshold 1.959964 * 1.13137 = 2.217 points -> reliably improved.
      Reference SD 5.0: S_diff = sqrt(2) * 5.0 * .4 = 2.82843; RCI = -5 / 2.82843 = -1.77,
      threshold 5.544 points -> unchanged.
      s_diff = 2.82843 given directly: the same.  rc_points = 6 (NHS Talking Therapies PHQ-9):
      |-5| < 6 -> unchanged; a drop of exactly 6 is reliable (inclusive)."""
    d = pd.DataFrame(
        {
            "id": np.repeat([1, 2, 3, 4], 2),
            "time": [0, 1] * 4,
            "score": [13, 8, 17, 17, 17, 16, 17, 18],
        }
    )
    sample = clinical_significance(d, reliability=0.84)
    assert sample["rci"].iloc[0] == pytest.approx(-5 / 1.1313708, abs=1e-6)  # -4.419
    assert sample.attrs["clinsig"]["s_diff"] == pytest.approx(1.1313708, abs=1e-6)
    assert sample.attrs["clinsig"]["threshold_points"] == pytest.approx(2.2174, abs=1e-4)
    assert sample.attrs["clinsig"]["sd_pre_source"] == "sample"
    assert sample["reliable_change"].iloc[0] == "improved"
    ref = clinical_significance(d, reliability=0.84, sd_pre=5.0)
    assert ref["rci"].iloc[0] == pytest.approx(-1.7677670, abs=1e-6)
    assert ref.attrs["clinsig"]["s_diff"] == pytest.approx(2.8284271, abs=1e-6)
    assert ref.attrs["clinsig"]["threshold_points"] == pytest.approx(5.5436, abs=1e-4)
    assert ref.attrs["clinsig"]["sd_pre_used"] == 5.0
    assert ref["reliable_change"].iloc[0] == "unchanged"
    given = clinical_significance(d, s_diff=2.8284271)
    np.testing.assert_allclose(given["rci"], ref["rci"], rtol=1e-6)
    rcp = clinical_significance(d, rc_points=6)
    assert rcp["reliable_change"].astype(str).tolist()[0] == "unchanged"
    assert rcp.attrs["clinsig"]["threshold_points"] == 6.0
    six = d.assign(score=[13, 7, 17, 17, 17, 16, 17, 18])  # a drop of exactly 6
    assert clinical_significance(six, rc_points=6)["reliable_change"].iloc[0] == "improved"
    np.testing.assert_allclose(
        reliable_change_index([13, 17, 17, 17], [8, 17, 16, 18], reliability=0.84, sd_pre=5.0),
        ref["rci"],
    )
    with pytest.raises(ValueError, match="needs rci_method='JT'"):
        clinical_significance(d, reliability=0.84, rci_method="EN", s_diff=2.0)
    with pytest.raises(ValueError, match="at most one"):
        clinical_significance(d, reliability=0.84, sd_pre=5.0, s_diff=2.0)
    with pytest.raises(ValueError, match="not defined"):
        clinical_significance(d, reliability=0.84, rci_method="HA", sd_pre=5.0)


def test_hlm_own_slope_against_zero_option():
    """Thirty clients (seed 0) who all improve by about 1 point a session (slope -1 + N(0, .15),
    intercepts N(21, 2), residual N(0, 1), sessions 0-5): R's rule (each slope against the
    cohort's mean slope) finds nobody changed, the client's own slope against zero finds every
    client improved. The fit is regular (not on the boundary), and in a balanced design the REML
    fixed slope is the mean of the clients' OLS slopes, computed here with numpy."""
    rng = np.random.default_rng(0)
    n = 30
    t = np.tile(np.arange(6.0), n)
    ids = np.repeat(np.arange(n), 6)
    b = np.repeat(rng.normal(21, 2, n), 6)
    dev = np.repeat(rng.normal(0, 0.15, n), 6)
    d = pd.DataFrame({"id": ids, "time": t, "score": b + (-1 + dev) * t + rng.normal(0, 1, 6 * n)})
    ols = [np.polyfit(g["time"], g["score"], 1)[0] for _, g in d.groupby("id")]
    cohort = clinical_significance(d, rci_method="HLM")
    own = clinical_significance(d, rci_method="HLM", hlm_test="zero")
    info = own.attrs["clinsig"]
    assert info["hlm_test"] == "zero" and not info["singular"]
    assert info["fixed_slope"] == pytest.approx(np.mean(ols), abs=1e-6)
    assert (cohort["reliable_change"] == "unchanged").all()
    assert (own["reliable_change"] == "improved").all()
    np.testing.assert_allclose(
        own["rci"], (info["fixed_slope"] + own["eb_slope"]) / own["eb_slope_sd"]
    )
    with pytest.raises(ValueError, match="hlm_test"):
        clinical_significance(d, rci_method="HLM", hlm_test="mean")


def test_percentage_change(claus):
    """R cs_percentage(hamd, pre = 1, post = 4, pct_improvement = 0.5[, pct_deterioration = .3])."""
    for det in (None, 0.3):
        res = percentage_change(
            claus, outcome="hamd", pre=1, post=4, pct_improvement=0.5, pct_deterioration=det
        )
        assert counts(res) == [16, 24, 0]


def test_anchor_individual_overall_and_by_group(claus):
    """R cs_anchor(bdi, pre = 1, post = 4, mid_improvement = 7[, group = treatment])."""
    res = anchor_individual(
        claus, outcome="bdi", pre=1, post=4, mid_improvement=7, group="treatment"
    )
    assert counts(res) == [25, 11, 4]
    by = summarise_categories(res, group="treatment").set_index(["treatment", "level"])["n"]
    assert [by["TAU", k] for k in ("improved", "unchanged", "deteriorated")] == [8, 7, 4]
    assert [by["PA", k] for k in ("improved", "unchanged", "deteriorated")] == [17, 4, 0]


def test_anchor_group_within_matches_paired_t(claus):
    """Frequentist group-level anchor: mean change with a paired-t 95 % CI (R t.test paired)."""
    res = anchor_group(claus, outcome="bdi", pre=1, post=4, mid_improvement=7)
    w = claus.pivot(index="id", columns="time", values="bdi")[[1, 4]].dropna()
    d = w[4] - w[1]
    half = 2.0226909 * d.std() / np.sqrt(len(d))  # qt(0.975, 39) = 2.022691
    assert res["n"].iloc[0] == len(d) == 40
    assert res["difference"].iloc[0] == pytest.approx(d.mean())
    assert res["lower"].iloc[0] == pytest.approx(d.mean() - half, rel=1e-6)
    # mean change -9.6 (CI entirely below -7?) decides the category; check consistency
    lo, hi = res["lower"].iloc[0], res["upper"].iloc[0]
    expected = (
        "Large clinically significant effect"
        if hi < -7
        else "Probably clinically significant effect"
        if d.mean() < -7
        else "Not significantly beyond the threshold"
    )
    assert lo < hi < 0
    assert res["category"].iloc[0] == expected


def test_anchor_group_between(claus):
    """Between-group anchor effect: TAU - PA mean BDI at time 4 with a Welch 95 % interval
    computed by hand (R t.test default): SE = sqrt(v1/n1 + v2/n2), Welch-Satterthwaite df =
    SE^4 / ((v1/n1)^2/(n1-1) + (v2/n2)^2/(n2-1)), half-width = qt(.975, df) * SE."""
    from scipy.stats import t as t_dist

    res = anchor_group(
        claus, outcome="bdi", post=4, mid_improvement=7, group="treatment", effect="between"
    )
    assert res[["reference", "comparison"]].iloc[0].tolist() == ["PA", "TAU"]
    at4 = claus.loc[claus["time"] == 4].dropna(subset=["bdi"])
    tau, pa = at4.loc[at4.treatment == "TAU", "bdi"], at4.loc[at4.treatment == "PA", "bdi"]
    diff = tau.mean() - pa.mean()
    a, b = tau.var() / len(tau), pa.var() / len(pa)
    se = np.sqrt(a + b)
    df = (a + b) ** 2 / (a**2 / (len(tau) - 1) + b**2 / (len(pa) - 1))
    half = t_dist.ppf(0.975, df) * se
    assert res["difference"].iloc[0] == pytest.approx(diff)
    assert res["lower"].iloc[0] == pytest.approx(diff - half, rel=1e-9)
    assert res["upper"].iloc[0] == pytest.approx(diff + half, rel=1e-9)
    assert res["category"].iloc[0] in {
        "Statistically not significant",
        "Statistically significant but not clinically relevant",
        "Not significantly beyond the threshold",
        "Probably clinically significant effect",
        "Large clinically significant effect",
    }
    if diff - half < 0 < diff + half:  # CI contains 0
        assert res["category"].iloc[0] == "Statistically not significant"


def test_who5_higher_is_better(claus):
    """WHO-5 raw (0-25, higher is better), pre 1, post 4, r = 0.8, cutoff a.

    Hand calculation: the 40 complete pre scores have SD 1.09515, so S_diff = sqrt(2) * 1.09515 *
    sqrt(0.2) = 0.69264 and reliable change needs |change| > 1.96 * 0.69264 = 1.358 points, i.e.
    |change| >= 2 on an integer scale. The sorted changes contain 21 values >= 2 and one <= -2
    (-3): 21 improved / 18 unchanged / 1 deteriorated. Cutoff a = M_pre + 2 SD = 1.075 + 2 *
    1.09515 = 3.265 (higher is better, so a is above the clinical mean). Recovered = improved with
    pre <= 3 and post >= 4: 15 of the 21; the client going 4 -> 1 (change -3) starts functional
    and ends non-functional: harmed. Hence 15 / 6 / 18 / 0 / 1.
    """
    res = clinical_significance(
        claus, outcome="who", pre=1, post=4, reliability=0.8, better_is="higher", cutoff_type="a"
    )
    assert res["cutoff"].iloc[0] == pytest.approx(3.2653, abs=1e-4)
    assert counts(res, "reliable_change") == [21, 18, 1]
    assert counts(res) == [15, 6, 18, 0, 1]
    # mirroring the scale (-who, lower is better) gives the same categories
    mirrored = claus.assign(who=-claus["who"])
    res2 = clinical_significance(
        mirrored, outcome="who", pre=1, post=4, reliability=0.8, better_is="lower", cutoff_type="a"
    )
    assert counts(res2) == [15, 6, 18, 0, 1]


def test_cutoff_b_paper_default_and_r_option():
    """J&T (1991, p. 13): b = M_func +/- 2 SD_func; the R package uses SD_clin instead."""
    # lower is better: b = 8 + 2 * 4 = 16 (paper) or 8 + 2 * 6 = 20 (R)
    assert clinical_cutoff("b", 25, 6, 8, 4) == 16
    assert clinical_cutoff("b", 25, 6, 8, 4, cutoff_b_sd="clinical") == 20
    # higher is better: b = 100 - 2 * 10 = 80
    assert clinical_cutoff("b", 60, 15, 100, 10, better_is="higher") == 80
    # a = 25 - 2 * 6 = 13; c = (6 * 8 + 4 * 25) / 10 = 14.8
    assert clinical_cutoff("a", 25, 6) == 13
    assert clinical_cutoff("c", 25, 6, 8, 4) == pytest.approx(14.8)


def test_ha_true_cutoff_hand_calculation():
    """SEM = 6 sqrt(0.2); r_clin = 0.8; r_func = (16 - 7.2) / 16 = 0.55.

    c = (6 sqrt(.8) 8 + 4 sqrt(.55) 25) / (6 sqrt(.8) + 4 sqrt(.55)).
    """
    w1, w2 = 6 * np.sqrt(0.8), 4 * np.sqrt(0.55)
    assert ha_true_cutoff("c", 25, 6, 0.8, 8, 4) == pytest.approx((w1 * 8 + w2 * 25) / (w1 + w2))
    assert ha_true_cutoff("a", 25, 6, 0.8) == pytest.approx(25 - 2 * 6 * np.sqrt(0.8))
    assert ha_true_cutoff("b", 25, 6, 0.8, 8, 4, cutoff_b_sd="clinical") == pytest.approx(
        8 + 2 * 6 * np.sqrt(0.8)
    )


def test_cutoff_b_r_convention_reproduces_r(claus):
    """R's cutoff b for hamd: M_f - direction * 2 * SD_pre = 8 + 2 * SD_pre."""
    res = clinical_significance(
        claus,
        outcome="hamd",
        pre=1,
        post=4,
        reliability=0.8,
        cutoff_type="b",
        m_functional=8,
        sd_functional=8,
        cutoff_b_sd="clinical",
    )
    sd_pre = res.attrs["clinsig"]["sd_pre"]
    assert res["cutoff"].iloc[0] == pytest.approx(8 + 2 * sd_pre)


def test_boundaries_follow_r():
    """Strict inequalities: |RCI| equal to the critical value is unchanged; a score at the cutoff
    is neither clinical at pre nor functional at post (R calc_cutoff_from_data.default)."""
    cls = classify_prepost([20, 10, 10], [10, 10, 20], [-1.96, 0, 2.5], 1.96, "lower", cutoff=10)
    assert cls["reliable_change"].tolist() == ["unchanged", "unchanged", "deteriorated"]
    assert cls["clinical_pre"].tolist() == [True, False, False]
    assert cls["clinical_post"].tolist() == [True, True, True]
    assert cls["category"].tolist() == ["unchanged", "unchanged", "harmed"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(reliability=1.2), "strictly between 0 and 1"),
        (dict(reliability=0.0), "strictly between 0 and 1"),
        (dict(reliability=0.8, cutoff_type="c"), "functional norms"),
        (dict(reliability=0.8, cutoff_type="b", m_functional=8), "functional norms"),
        (dict(reliability=0.8, pre=0), "pre=0 is not a value"),
        (dict(reliability=0.8, post=9), "post=9 is not a value"),
        (dict(reliability=0.8, rci_method="XX"), "rci_method"),
        (dict(reliability=0.8, cutoff_type="d", m_functional=8, sd_functional=8), "cutoff_type"),
        (dict(reliability=0.8, better_is="up"), "better_is"),
        (dict(reliability=0.8, significance_level=1.5), "significance_level"),
        (dict(reliability=0.8, outcome="nope"), "column 'nope'"),
    ],
)
def test_bad_arguments_raise(claus, kwargs, match):
    kw = dict(outcome="hamd", pre=1, post=4) | kwargs
    with pytest.raises(ValueError, match=match):
        clinical_significance(claus, **kw)


def test_two_scores_at_one_time_raise(claus):
    dup = pd.concat([claus, claus.iloc[[0]]])
    with pytest.raises(ValueError, match="two scores"):
        clinical_significance(dup, outcome="hamd", pre=1, post=4, reliability=0.8)
    with pytest.raises(ValueError, match="two scores"):
        clinical_significance(dup, outcome="hamd", rci_method="HLM")


def test_input_not_mutated(claus):
    before = claus.copy()
    clinical_significance(claus, outcome="hamd", pre=1, post=4, reliability=0.8, **COMBINED)
    clinical_significance(claus, outcome="hamd", rci_method="HLM", **COMBINED)
    pd.testing.assert_frame_equal(claus, before)


def test_hlm_not_evaluable_with_fewer_than_three_waves():
    """Clients with < 3 measurements are kept, not evaluable, with the reason."""
    rng = np.random.default_rng(20240601)  # seed printed in the test id for reproducibility
    rows = []
    for i in range(30):
        slope = rng.normal(-2, 1)
        for t in range(1, 5):
            rows.append({"id": f"c{i}", "time": t, "score": 25 + slope * t + rng.normal(0, 2)})
    d = pd.DataFrame(rows)
    d.loc[(d["id"] == "c0") & (d["time"] > 2), "score"] = np.nan
    res = clinical_significance(d, rci_method="HLM")
    row = res.set_index("id").loc["c0"]
    assert not row["evaluable"]
    assert row["n_timepoints"] == 2
    assert "HLM needs >= 3" in row["reason"]
    assert res["evaluable"].sum() == 29


def test_hlm_eb_matches_statsmodels(claus):
    """The empirical Bayes slopes and SDs equal statsmodels' random_effects(_cov).

    statsmodels is run to a tight optimum (BFGS, gtol 1e-10; its default stops near 1e-4
    relative). claus_2020 is a boundary fit (intercept-slope correlation -1), where the REML
    surface is flat along the boundary, so two optimisers agree to about 1e-6 (measured 9e-7);
    the tolerance is 1e-5 here and 1e-6 on well-conditioned data (tests/test_hlm_reml.py).
    """
    import warnings

    import statsmodels.formula.api as smf

    res = clinical_significance(claus, outcome="hamd", rci_method="HLM").set_index("id")
    d = claus[["id", "time", "hamd"]].dropna()
    d = d[d.groupby("id")["hamd"].transform("size") >= 3]  # R's rule: >= 3 measurements
    model = smf.mixedlm("hamd ~ time", d, groups="id", re_formula="~time")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels warns about the boundary
        fit = model.fit(reml=True, method="bfgs", gtol=1e-10)
    assert res.attrs["clinsig"]["reml_loglik"] == pytest.approx(fit.llf, rel=1e-10)
    cov = np.asarray(fit.cov_re)
    assert cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]) < -0.9999  # the reference is singular too
    assert res.attrs["clinsig"]["singular"]
    assert "boundary (singular) fit" in res.attrs["clinsig"]["fit_warnings"][0]
    for key, re in fit.random_effects.items():
        assert res.loc[key, "eb_slope"] == pytest.approx(re["time"], rel=1e-5, abs=1e-9)
        sd = np.sqrt(fit.random_effects_cov[key].loc["time", "time"])
        assert res.loc[key, "eb_slope_sd"] == pytest.approx(sd, rel=1e-5)


def test_prepost_entry_point_equals_long(claus):
    long = clinical_significance(claus, outcome="hamd", pre=1, post=4, reliability=0.8, **COMBINED)
    wide = claus.pivot(index="id", columns="time", values="hamd")[[1, 4]].reset_index()
    wide.columns = ["client", "t1", "t4"]
    res = clinical_significance_prepost(
        wide, reliability=0.8, id="client", pre="t1", post="t4", **COMBINED
    )
    assert res["category"].tolist() == long["category"].tolist()
    np.testing.assert_allclose(res["rci"], long["rci"])


def test_reliable_change_index_jt_hand_calculation():
    """pre SD of [10, 20, 30] = 10; S_diff = sqrt(2) * 10 * sqrt(0.2) = 6.3246."""
    rci = reliable_change_index([10, 20, 30], [10, 10, 40], "JT", 0.8)
    np.testing.assert_allclose(rci, [0, -10 / 6.324555, 10 / 6.324555], rtol=1e-6)


def test_group_summary_counts_by_hand(claus):
    """Per-arm JT combined counts recomputed by hand from the raw table: S_diff = sqrt(2) SD_pre
    sqrt(.2) and cutoff c = (SD_pre 8 + 8 M_pre) / (SD_pre + 8) from all 40 complete clients;
    recovered = RCI < -1.96 & pre > c & post < c, harmed = RCI > 1.96 & pre <= c & post >= c."""
    res = clinical_significance(
        claus, outcome="hamd", pre=1, post=4, reliability=0.8, group="treatment", **COMBINED
    )
    s = summarise_categories(res, group="treatment").set_index(["treatment", "level"])["n"]
    w = claus.pivot(index="id", columns="time", values="hamd")[[1, 4]].dropna()
    arm = claus.drop_duplicates("id").set_index("id")["treatment"].reindex(w.index)
    pre, post = w[1], w[4]
    rci = (post - pre) / (np.sqrt(2) * pre.std() * np.sqrt(0.2))
    c = (pre.std() * 8 + 8 * pre.mean()) / (pre.std() + 8)
    imp, det = rci < -1.959964, rci > 1.959964
    rec = imp & (pre > c) & (post < c)
    harm = det & (pre <= c) & (post >= c)
    cat = np.select(
        [rec, imp, det & ~harm, harm],
        ["recovered", "improved", "deteriorated", "harmed"],
        "unchanged",
    )
    for a in ("PA", "TAU"):
        expected = pd.Series(cat[(arm == a).to_numpy()]).value_counts()
        for level in ("recovered", "improved", "unchanged", "deteriorated", "harmed"):
            assert s[a, level] == expected.get(level, 0), (a, level)
    assert s.sum() == 40


scores = st.floats(min_value=0, max_value=60, allow_nan=False).map(lambda x: round(x, 1))


@settings(max_examples=60, deadline=None)
@given(
    pre=st.lists(scores, min_size=4, max_size=30),
    shift=st.lists(st.floats(-20, 20, allow_nan=False), min_size=30, max_size=30),
    method=st.sampled_from(["JT", "GLN", "HLL", "EN", "NK", "HA"]),
    cut=st.sampled_from(["a", "b", "c"]),
)
def test_property_mirroring_scale_mirrors_categories(pre, shift, method, cut):
    """Negating the scores and flipping better_is (and the norms) gives the same categories."""
    pre = np.array(pre)
    post = np.round(pre + np.array(shift[: len(pre)]), 1)
    if np.std(pre) < 0.5 or np.std(post) < 0.5:
        return
    wide = pd.DataFrame({"id": range(len(pre)), "pre": pre, "post": post})
    kw = dict(reliability=0.8, rci_method=method, cutoff_type=cut, sd_functional=5)
    try:
        a = clinical_significance_prepost(wide, m_functional=8, better_is="lower", **kw)
    except ValueError as err:  # HA's true-score reliability can be undefined (SEM >= SD)
        assume(method != "HA" or "HA:" not in str(err))
        raise
    neg = wide.assign(pre=-wide["pre"], post=-wide["post"])
    b = clinical_significance_prepost(neg, m_functional=-8, better_is="higher", **kw)
    ok = np.isfinite(a["rci"]) & np.isfinite(b["rci"])
    # ties exactly at a threshold can flip with rounding; exclude them
    crit = a.attrs["clinsig"]["critical"]
    ok &= ~np.isclose(np.abs(a["rci"]), crit) & ~np.isclose(a["pre"], a["cutoff"])
    ok &= ~np.isclose(a["post"], a["cutoff"])
    assert a.loc[ok, "category"].tolist() == b.loc[ok, "category"].tolist()


@settings(max_examples=60, deadline=None)
@given(
    pre=st.lists(scores, min_size=3, max_size=30, unique=True),
    better_is=st.sampled_from(["lower", "higher"]),
    cut=st.sampled_from([None, "a", "c"]),
)
def test_property_post_equal_pre_is_unchanged(pre, better_is, cut):
    """A client with post == pre has RCI 0 under JT and is unchanged, whatever the others do;
    percentage change and anchor also call every post == pre client unchanged."""
    pre = np.array(pre)
    post = pre + np.r_[0.0, np.linspace(-15, 15, len(pre) - 1)]
    wide = pd.DataFrame({"id": range(len(pre)), "pre": pre, "post": post})
    res = clinical_significance_prepost(
        wide,
        reliability=0.8,
        better_is=better_is,
        cutoff_type=cut,
        m_functional=5,
        sd_functional=5,
    )
    assert res["rci"].iloc[0] == 0
    assert res["reliable_change"].iloc[0] == "unchanged"
    if cut is not None:
        assert res["category"].iloc[0] == "unchanged"
    n = len(pre)
    long = pd.DataFrame(
        {"id": np.r_[range(n), range(n)], "time": np.repeat([1, 2], n), "score": np.r_[pre, pre]}
    )
    pct = percentage_change(long, pct_improvement=0.5, better_is=better_is)
    assert (pct["category"] == "unchanged").all()
    anc = anchor_individual(long, mid_improvement=1, better_is=better_is)
    assert (anc["category"] == "unchanged").all()


def test_wide_percentage_and_anchor_equal_long(claus_2020):
    """The wide entry points give the R package's results too: cs_percentage(hamd,
    pct_improvement = 0.5) 16 / 24 / 0 and cs_anchor(bdi, mid_improvement = 7) 25 / 11 / 4."""
    from analysis.outcomes.anchor import anchor_individual_prepost
    from analysis.outcomes.percentage import percentage_change_prepost

    def wide(col):
        w = claus_2020.pivot(index="id", columns="time", values=col)
        return pd.DataFrame({"id": w.index, "pre": w[1].to_numpy(), "post": w[4].to_numpy()})

    pct = percentage_change_prepost(wide("hamd"), pct_improvement=0.5)
    ev = pct.loc[pct["evaluable"], "category"].value_counts()
    assert [ev.get(k, 0) for k in ("improved", "unchanged", "deteriorated")] == [16, 24, 0]
    anc = anchor_individual_prepost(wide("bdi"), mid_improvement=7)
    ev = anc.loc[anc["evaluable"], "category"].value_counts()
    assert [ev.get(k, 0) for k in ("improved", "unchanged", "deteriorated")] == [25, 11, 4]
    with pytest.raises(ValueError, match="duplicated client ids"):
        percentage_change_prepost(pd.concat([wide("hamd")] * 2), pct_improvement=0.5)


def test_long_to_wide_equals_a_pivot_with_string_ids_and_refuses_missing_ones():
    """The vectorised reshaping (one factorisation of the ids, integer placement) gives what a
    pandas pivot gives: string ids in order of first appearance, rows in any order, other time
    points ignored, and the RCI of J&T recomputed by hand from the pivot. A missing id is no
    client: it was once kept as a client named NaN, now it is refused (tester's finding)."""
    rng = np.random.default_rng(20261201)
    n = 200
    ids = np.array([f"p{k:04d}" for k in rng.permutation(n)], dtype=object)
    d = pd.DataFrame(
        {
            "id": np.repeat(ids, 3),
            "time": np.tile([1, 2, 3], n),
            "score": rng.normal(20, 5, 3 * n).round(),
        }
    )
    d.loc[d.index[::17], "score"] = np.nan
    d = d.sample(frac=1.0, random_state=7).reset_index(drop=True)
    res = clinical_significance(d, pre=1, post=3, reliability=0.8)
    order = pd.unique(d["id"])
    wide = d.pivot_table(index="id", columns="time", values="score", dropna=False)
    wide = wide.reindex(list(order))
    assert res["id"].tolist() == list(order)
    got = res.set_index("id")
    np.testing.assert_array_equal(got["pre"].to_numpy(), wide[1].to_numpy())
    np.testing.assert_array_equal(got["post"].to_numpy(), wide[3].to_numpy())
    ok = got[["pre", "post"]].notna().all(axis=1)
    s_diff = np.sqrt(2) * got.loc[ok, "pre"].std(ddof=1) * np.sqrt(1 - 0.8)
    expected = (got["post"] - got["pre"]) / s_diff
    np.testing.assert_allclose(got["rci"], expected, rtol=1e-12)
    no_id = pd.DataFrame({"id": [np.nan, np.nan], "time": [1, 3], "score": [30, 10]})
    with pytest.raises(ValueError, match=r"column 'id': 2 row\(s\) without a client id"):
        clinical_significance(pd.concat([d, no_id]), pre=1, post=3, reliability=0.8)


def test_duplicate_pre_score_is_reported_with_its_rows(claus):
    dup = pd.concat([claus, claus.loc[(claus["id"] == claus["id"].iloc[5]) & (claus["time"] == 4)]])
    with pytest.raises(ValueError, match=r"2 rows share a client") as err:
        clinical_significance(dup, outcome="hamd", pre=1, post=4, reliability=0.8)
    assert "hamd" in str(err.value)  # the offending rows are shown with id, time and score


def test_hlm_without_slope_variance_is_not_evaluable_with_reason(claus, monkeypatch):
    """If REML puts the random-slope variance at 0, every EB slope and its SD are 0 (an RCI of
    0 / 0): no client is classified, each says why. The fit is replaced by one with
    G = diag(4, 0) to reach this boundary deterministically."""
    import analysis.outcomes.hlm as hlm

    real = hlm.fit_growth_arrays

    def no_slope(*args, **kwargs):
        fit = real(*args, **kwargs)
        k = fit.random_effects.shape[0]
        rcov = np.zeros((k, 2, 2))
        rcov[:, 0, 0] = 1.0
        re = np.column_stack([np.ones(k), np.zeros(k)])
        return hlm.GrowthFit(
            fit.fe_params,
            np.diag([4.0, 0.0]),
            fit.scale,
            re,
            rcov,
            fit.llf,
            np.array([0.5, 0.0, 0.0]),
            True,
            True,
            ["boundary (singular) fit"],
            fit.n_obs,
            k,
        )

    monkeypatch.setattr(hlm, "fit_growth_arrays", no_slope)
    res = clinical_significance(claus, outcome="hamd", rci_method="HLM")
    fitted = res["n_timepoints"] >= 3
    assert not res["evaluable"].any()
    assert res.loc[fitted, "reason"].str.contains("random-slope variance is 0").all()
    assert res.loc[~fitted, "reason"].str.contains("HLM needs >= 3").all()
    assert res["reliable_change"].isna().all()


def test_nullable_time_and_score_columns():
    """Nullable Int64 columns with a missing time: the row without a time is ignored and its
    client kept with a reason. JT by hand: SD of pre [20, 22, 15] = 3.6056, S_diff = sqrt(2) *
    3.6056 * sqrt(0.2) = 2.2804; client 1: (8 - 20) / 2.2804 = -5.2623."""
    d = pd.DataFrame(
        {
            "id": [1, 1, 2, 2, 3, 3, 4],
            "time": pd.array([1, 2, 1, 2, 1, 2, None], dtype="Int64"),
            "score": pd.array([20, 8, 22, 21, 15, 14, 3], dtype="Int64"),
        }
    )
    res = clinical_significance(d, pre=1, post=2, reliability=0.8)
    assert res["rci"].iloc[0] == pytest.approx(-5.2623, abs=1e-4)
    assert res["reliable_change"].astype(str).tolist()[:3] == ["improved", "unchanged", "unchanged"]
    assert res["reason"].iloc[3] == "no score at pre (1) or post (2)"


# ------------------------------------------------ data that cannot support a method (issue 12)


def test_ha_on_a_sample_without_variance_is_not_computed():
    """HA's r_dd needs variance: identical pre scores make SD_pre = SEM = 0 (r_xx = 0/0)."""
    from analysis.outcomes.prepost import NotComputedError

    d = pd.DataFrame(
        {"id": [1, 1, 2, 2, 3, 3], "time": [0, 1] * 3, "score": [20, 8, 20, 15, 20, 12]}
    )
    with pytest.raises(
        NotComputedError, match="pre scores of the complete clients have no variance"
    ):
        clinical_significance(d, reliability=0.8, rci_method="HA")
    # every client changes by the same amount: SD of change 0, r_dd = 0/0 (denominator
    # SD_pre^2 + SD_post^2 - 2 SD_pre SD_post rho = 25 + 25 - 2 * 5 * 5 * 1 = 0)
    d2 = pd.DataFrame(
        {"id": [1, 1, 2, 2, 3, 3], "time": [0, 1] * 3, "score": [20, 15, 25, 20, 30, 25]}
    )
    with pytest.raises(NotComputedError, match="r_dd is undefined"):
        clinical_significance(d2, reliability=0.8, rci_method="HA")
    assert issubclass(NotComputedError, ValueError)  # callers catching ValueError still work


def test_hlm_with_two_waves_is_not_computed():
    from analysis.outcomes.prepost import NotComputedError

    d = pd.DataFrame(
        {
            "id": [1, 1, 2, 2, 3, 3, 4, 4],
            "time": [0, 4] * 4,
            "score": [20, 8, 22, 21, 15, 14, 18, 9],
        }
    )
    with pytest.raises(NotComputedError, match=r"at least three waves .* the data have 2 \(0, 4\)"):
        clinical_significance(d, rci_method="HLM", min_timepoints=2)


# hostile input (tester's findings): each was analysed silently before


@pytest.mark.parametrize("method", ["JT", "HLM"])
def test_bad_long_input_is_refused_not_analysed(method):
    """Guards: a text score "x" silently became missing; rows without an id were analysed as a
    client named NaN; an inf score was evaluable with change -inf; empty data gave "pre=nan is
    not a value of column 'time' (values: [])"."""
    from analysis.outcomes.prepost import NotComputedError

    d = pd.DataFrame({"id": list("aabbcc"), "time": [0, 1] * 3, "score": [20, 8, 22, 21, 15, 14]})
    with pytest.raises(ValueError, match=r"column 'score': 1 value\(s\) are not numbers.*'x'"):
        clinical_significance(d.assign(score=d["score"].astype(object).where(d.index != 3, "x")),
                              reliability=0.8, rci_method=method)  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'id': 2 row\(s\) without a client id.*\[4, 5\]"):
        clinical_significance(d.assign(id=d["id"].where(d.index < 4)), reliability=0.8,
                              rci_method=method)  # fmt: skip
    with pytest.raises(ValueError, match=r"column 'score': 1 infinite score.*\[3\]"):
        clinical_significance(d.assign(score=d["score"].astype(float).where(d.index != 3, np.inf)),
                              reliability=0.8, rci_method=method)  # fmt: skip
    with pytest.raises(NotComputedError, match="the data have no rows"):
        clinical_significance(d.iloc[:0], reliability=0.8, rci_method=method)
    # the long-format siblings share the check
    with pytest.raises(ValueError, match="infinite score"):
        percentage_change(
            d.assign(score=d["score"].astype(float).where(d.index != 3, np.inf)),
            pct_improvement=0.5,
        )


def test_bad_wide_input_is_refused_not_analysed():
    """Guards: the per-client (wide) entry points also read a text post score "x" as missing and
    let an inf score through; client 2 is the offending row (label 1)."""
    from analysis.outcomes.distribution import clinical_significance_prepost
    from analysis.outcomes.percentage import percentage_change_prepost

    pp = pd.DataFrame({"id": [1, 2, 3], "pre": [20, 22, 15], "post": [8, 21, 14]})
    text = pp.assign(post=pd.Series([8, "x", 14], dtype=object))
    with pytest.raises(ValueError, match=r"column 'post': 1 value\(s\) are not numbers.*\[1\]"):
        clinical_significance_prepost(text, reliability=0.8)
    with pytest.raises(ValueError, match=r"column 'pre': 1 infinite score"):
        clinical_significance_prepost(pp.assign(pre=[20, np.inf, 15]), reliability=0.8)
    with pytest.raises(ValueError, match=r"column 'post': 1 value\(s\) are not numbers"):
        percentage_change_prepost(text, pct_improvement=0.5)
    with pytest.raises(ValueError, match=r"column 'id': 1 row\(s\) without a client id"):
        percentage_change_prepost(pp.assign(id=[1, None, 3]), pct_improvement=0.5)
