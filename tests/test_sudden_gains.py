"""Sudden gains and losses against the R package suddengains (v0.7, GitHub
milanwiedemann/suddengains, MIT) and hand-worked windows.

Reference values come from the package's own tests (tests/testthat/test-create_bysg.R,
test-create_byperson.R, test-describe_sg.R, test-identify_sg.R, test-identify_sl.R,
test-select_cases.R) and its vignette's ``check_interval`` output; the R calls are quoted in each
test. The example data ``sgdata`` is read through the ``validation_file`` fixture.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.outcomes.sudden_gains import (
    check_interval,
    crit1_cutoff_from_rci,
    describe_sudden_gains,
    select_cases,
    sudden_gain_intervals,
    sudden_gains,
    sudden_gains_byperson,
    sudden_losses,
)

NA = np.nan


def _long(wide: pd.DataFrame, cols: list[str], time_values=None) -> pd.DataFrame:
    """Wide (one column per session) -> long with columns id, session, bdi."""
    times = time_values if time_values is not None else list(range(1, len(cols) + 1))
    out = wide.melt(id_vars="id", value_vars=cols, var_name="col", value_name="bdi")
    out["session"] = out["col"].map(dict(zip(cols, times, strict=True)))
    return out[["id", "session", "bdi"]]


@pytest.fixture(scope="module")
def sgdata_long(validation_file) -> pd.DataFrame:
    wide = pd.read_csv(validation_file("real/suddengains_sgdata/sgdata.csv"))
    return _long(wide, [f"bdi_s{i}" for i in range(1, 13)])


# R tests/testthat/test-create_bysg.R, expected tibble (their data = sgdata rows 1-18):
# create_bysg(data = df, sg_crit1_cutoff = 7, sg_crit3_adjust = TRUE, id_var_name = "id",
#             tx_start_var_name = "bdi_s1", tx_end_var_name = "bdi_s12",
#             sg_var_list = bdi_s1 ... bdi_s12, sg_measure_name = "bdi")
# columns: id_sg, sg_session_n, sg_freq_byperson, 2n, 1n, n, n1, n2, n3, magnitude, tx_change,
#          change_proportion, reversal_value, reversal
R_BYSG_1_18 = [
    ("1_sg_3", 3, 2, 35, 37, 34, 23, 24, 21, 11, 28, 0.39285714285714285, 28.5, 1),
    ("1_sg_7", 7, 2, 24, 21, 29, 17, 11, 11, 12, 28, 0.42857142857142855, 23, 0),
    ("3_sg_8", 8, 1, 37, NA, 35, 26, 24, NA, 9, 16, 0.5625, 30.5, 0),
    ("4_sg_3", 3, 1, 31, 30, 32, 22, 22, 20, 10, 3, 3.3333333333333335, 27, 1),
    ("5_sg_3", 3, 2, 39, 37, 36, 26, 26, 23, 10, 31, 0.3225806451612903, 31, 0),
    ("5_sg_8", 8, 2, 23, 21, 19, 6, 7, 8, 13, 31, 0.41935483870967744, 12.5, 0),
    ("9_sg_3", 3, 1, 35, 34, 32, 23, 24, 22, 9, 24, 0.375, 27.5, 0),
    ("10_sg_2", 2, 2, NA, 35, 35, 25, 25, 17, 10, 27, 0.37037037037037035, 30, 0),
    ("10_sg_4", 4, 2, 35, 25, 25, 17, 17, 16, 8, 27, 0.2962962962962963, 21, 0),
    ("12_sg_3", 3, 1, 38, 38, 31, 23, 21, 22, 8, 13, 0.6153846153846154, 27, 1),
    ("13_sg_3", 3, 2, 34, 33, 36, 23, 25, 23, 13, 25, 0.52, 29.5, 0),
    ("13_sg_8", 8, 2, 23, 19, 18, 10, 9, 8, 8, 25, 0.32, 14, 0),
    ("14_sg_2", 2, 1, NA, 39, 37, 23, NA, 23, 14, 25, 0.56, 30, 0),
    ("18_sg_3", 3, 1, NA, 38, 35, 24, NA, 22, 11, NA, NA, 29.5, 0),
]
BYSG_COLS = [
    "id_sg", "sg_session_n", "sg_freq_byperson", "score_2n", "score_1n", "score_n", "score_n1",
    "score_n2", "score_n3", "sg_magnitude", "sg_tx_change", "sg_change_proportion",
    "sg_reversal_value", "sg_reversal",
]  # fmt: skip


def test_bysg_matches_r_create_bysg(sgdata_long):
    """Every gain of sgdata clients 1-18, every column, as R's test-create_bysg.R expects."""
    g = sudden_gains(sgdata_long, time="session", score="bdi", cutoff=7, tx_start=1, tx_end=12)
    got = g.loc[g["id"] <= 18, BYSG_COLS].reset_index(drop=True)
    exp = pd.DataFrame(R_BYSG_1_18, columns=BYSG_COLS)
    assert got["id_sg"].tolist() == exp["id_sg"].tolist()
    num = BYSG_COLS[1:]
    np.testing.assert_allclose(
        got[num].to_numpy(float), exp[num].to_numpy(float), rtol=1e-12, equal_nan=True
    )
    # person 5: first gain from session 3 to 4, largest (13 points) from 8 to 9
    p5 = g.loc[g["id"] == 5]
    assert p5[["pregain_time", "postgain_time"]].to_numpy().tolist() == [[3, 4], [8, 9]]


def test_describe_matches_r_describe_sg(sgdata_long):
    """R test-describe_sg.R on the whole sgdata (cutoff 7, other options default):
    bysg: total_n 24, sg_total_n 24, sg_pct 100, sg_multiple_pct 70.83, sg_reversal_n 4,
    sg_reversal_pct 16.67, sg_magnitude_m 11, sg_magnitude_sd 3.43; byperson (first gain):
    total_n 43, sg_total_n 24, sg_n 15, sg_pct 34.88, sg_multiple_n 8, sg_multiple_pct 18.6,
    sg_reversal_n 3, sg_reversal_pct 20, sg_magnitude_m 11.4, sg_magnitude_sd 3.98."""
    g = sudden_gains(sgdata_long, time="session", score="bdi", cutoff=7)
    d = {k: round(v, 2) for k, v in describe_sudden_gains(g, "bysg").items()}
    assert d == {
        "total_n": 24, "sg_total_n": 24, "sg_pct": 100, "sg_multiple_pct": 70.83,
        "sg_reversal_n": 4, "sg_reversal_pct": 16.67, "sg_magnitude_m": 11,
        "sg_magnitude_sd": 3.43,
    }  # fmt: skip
    p = sudden_gains_byperson(sgdata_long, time="session", score="bdi", cutoff=7)
    d = {k: round(v, 2) for k, v in describe_sudden_gains(p, "byperson").items()}
    assert d == {
        "total_n": 43, "sg_total_n": 24, "sg_n": 15, "sg_pct": 34.88, "sg_multiple_n": 8,
        "sg_multiple_pct": 18.6, "sg_reversal_n": 3, "sg_reversal_pct": 20.0,
        "sg_magnitude_m": 11.4, "sg_magnitude_sd": 3.98,
    }  # fmt: skip


def test_byperson_first_and_largest_match_r(sgdata_long):
    """R test-create_byperson.R: the selected gain of each of clients 1-18 with
    multiple_sg_select = "first" and "largest"; clients without a gain keep sg_crit123 = 0."""
    kw = dict(time="session", score="bdi", cutoff=7)
    first = sudden_gains_byperson(sgdata_long, **kw, multiple="first").query("id <= 18")
    largest = sudden_gains_byperson(sgdata_long, **kw, multiple="largest").query("id <= 18")
    exp_first = ["1_sg_3", NA, "3_sg_8", "4_sg_3", "5_sg_3", NA, NA, NA, "9_sg_3", "10_sg_2", NA,
                 "12_sg_3", "13_sg_3", "14_sg_2", NA, NA, NA, "18_sg_3"]  # fmt: skip
    exp_largest = list(exp_first)
    exp_largest[0], exp_largest[4] = "1_sg_7", "5_sg_8"
    assert first["id_sg"].fillna("NA").tolist() == pd.Series(exp_first).fillna("NA").tolist()
    assert largest["id_sg"].fillna("NA").tolist() == pd.Series(exp_largest).fillna("NA").tolist()
    none = first["id_sg"].isna()
    assert (first.loc[none, "sg_crit123"] == 0).all()
    assert (first.loc[none, "sg_freq_byperson"] == 0).all()
    assert first.loc[first["id"] == 4, "sg_reversal"].item() == 1


def test_byperson_last_and_smallest():
    """Client with gains of 12 (session 3->4) and 9 (6->7): last and smallest pick the second;
    first and largest the first."""
    d = pd.DataFrame(
        {"id": 1, "time": range(1, 11), "score": [40, 41, 40, 28, 29, 28, 19, 18, 18, 17]}
    )
    g = sudden_gains(d, cutoff=7)
    assert g["sg_magnitude"].tolist() == [12.0, 9.0]
    pick = {m: sudden_gains_byperson(d, cutoff=7, multiple=m)["id_sg"].item() for m in
            ("first", "last", "smallest", "largest")}  # fmt: skip
    assert pick == {"first": "1_sg_3", "last": "1_sg_6", "smallest": "1_sg_6",
                    "largest": "1_sg_3"}  # fmt: skip


# R tests/testthat/test-identify_sg.R (df1 and df2, sessions x_2n ... x_n3)
DF1 = [
    [28, 19, 23, 12, 13, NA], [28, 19, 23, 11, 12, NA], [28, 19, NA, 12, 13, NA],
    [28, 19, 23, 12, 13, NA], [28, 19, 23, 12, 14, NA], [28, 19, NA, 12, 13, NA],
    [28, 19, 23, 11, 12, NA], [28, 25, 28, 11, 12, NA], [28, 26, 28, 11, 12, NA],
    [NA, 26, 28, NA, 12, 11],
]  # fmt: skip
DF1_EXPECT = [[0, 0, NA], [0, 1, NA], [NA, NA, NA], [0, 0, NA], [0, 0, NA], [NA, NA, NA],
              [0, 1, NA], [0, 1, NA], [0, 1, NA], [NA, NA, NA]]  # fmt: skip


def _rows(rows) -> pd.DataFrame:
    wide = pd.DataFrame(rows, columns=[f"s{i}" for i in range(1, 7)])
    wide.insert(0, "id", range(1, len(rows) + 1))
    return _long(wide, [f"s{i}" for i in range(1, 7)])


def _crit123(iv: pd.DataFrame) -> np.ndarray:
    return iv.pivot(index="id", columns="pregain_time", values="crit123").to_numpy()


def test_identify_matches_r_identify_sg():
    """identify_sg(df1, sg_crit1_cutoff = 7, ...): sg_2to3, sg_3to4, sg_4to5 as R's test; df2 the
    same with a gain at 2to3, 3to4, 4to5 and none."""
    iv = sudden_gain_intervals(_rows(DF1), time="session", score="bdi", cutoff=7)
    np.testing.assert_array_equal(_crit123(iv), np.array(DF1_EXPECT, float))
    df2 = [[35, 37, 23, 23, 24, 21], [35, 37, 34, 24, 24, 21], [35, 37, 34, 34, 24, 21],
           [35, 37, 34, 37, 37, 37]]  # fmt: skip
    iv = sudden_gain_intervals(_rows(df2), time="session", score="bdi", cutoff=7)
    np.testing.assert_array_equal(_crit123(iv), np.eye(4, 3))


def test_identify_losses_matches_r_identify_sl():
    """identify_sl(df2, sg_crit1_cutoff = -7, ...) in R's test-identify_sl.R: sl_2to3, sl_3to4,
    sl_4to5 = (0,1,0), (0,0,1), (1,0,0), (0,0,0)."""
    df2 = [[10, 11, 12, 30, 28, 33], [10, 11, 12, 10, 28, 33], [10, 11, 30, 30, 28, 33],
           [35, 37, 34, 23, 24, 21]]  # fmt: skip
    iv = sudden_gain_intervals(_rows(df2), time="session", score="bdi", cutoff=-7, kind="sl")
    exp = [[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 0, 0]]
    np.testing.assert_array_equal(_crit123(iv), np.array(exp, float))


@pytest.mark.parametrize(
    ("pre", "post", "alpha", "kind", "cutoff", "crit", "n_pre", "n_post", "sd_pre", "sd_post"),
    [
        # vignette: check_interval(c(32, 31, 33), c(5, 6, 7), 7, .25, TRUE, .05) -> 2.776
        ([32, 31, 33], [5, 6, 7], 0.05, "sg", 7, 2.776, 3, 3, 1, 1),
        # same, sg_crit3_alpha = .01 -> 4.604 (t(0.995, 4))
        ([32, 31, 33], [5, 6, 7], 0.01, "sg", 7, 4.604, 3, 3, 1, 1),
        # c(NA, 31, 33), c(5, NA, 7), criterion 3 only, alpha .01 -> 9.925 (t(0.995, 2))
        ([NA, 31, 33], [5, NA, 7], 0.01, "sg", None, 9.925, 2, 2, 1.414, 1.414),
        # loss: c(5, NA, 7), c(16, 12, 14), cutoff -7 -> 3.182 (t(0.975, 3))
        ([5, NA, 7], [16, 12, 14], 0.05, "sl", -7, 3.182, 2, 3, 1.414, 2),
    ],
)
def test_check_interval_matches_vignette(pre, post, alpha, kind, cutoff, crit, n_pre, n_post,
                                         sd_pre, sd_post):  # fmt: skip
    """The four check_interval calls of the vignette: every one a gain (loss) with the printed
    critical value, counts and SDs (R prints 3 decimals)."""
    kw = {} if cutoff is not None else {"pct": None}
    r = check_interval(pre, post, cutoff=cutoff, crit3_alpha=alpha, kind=kind, **kw)
    assert r["crit123"] == 1.0
    assert round(r["critical_value"], 3) == crit
    assert (r["n_pre"], r["n_post"]) == (n_pre, n_post)
    assert (round(r["sd_pre"], 3), round(r["sd_post"], 3)) == (sd_pre, sd_post)


def test_missing_sessions_in_the_window_by_hand():
    """Hand-worked windows around a gain from session 4 to 5.

    Client 1: 20, NA, 22, 21 | 10, NA, 11, 12. Pre window sessions 2-4 = (NA, 22, 21): n 2, mean
    21.5, SD 0.7071; post window 5-7 = (10, NA, 11): n 2, mean 10.5, SD 0.7071. df = 2 + 2 - 2 =
    2, t(0.975, 2) = 4.303; s_pooled = sqrt((0.5 + 0.5) / 2) = 0.7071; 4.303 * 0.7071 = 3.043 <
    11 -> criterion 3 met; 21 - 10 = 11 >= 7 and >= 0.25 * 21 -> a gain.

    Client 2: 30, NA, 20, 22 | 12, NA, 16, 30. Pre (NA, 20, 22): mean 21, SD 1.4142; post (12,
    NA, 16): mean 14, SD 2.8284; s_pooled = sqrt((2 + 8) / 2) = 2.2361. Adjusted: 4.303 * 2.2361
    = 9.622 > 7 -> not met; fixed 2.776 * 2.2361 = 6.207 < 7 -> met (crit3_adjust=False).

    Client 3: one score missing on one side only: 30, 20, 21, 22 | 12, 13, NA, 30: pre (20, 21,
    22) SD 1, post (12, 13, NA) SD 0.7071; df 3, t(0.975, 3) = 3.182.
    """
    d = pd.DataFrame(
        {
            "id": np.repeat([1, 2, 3], 8),
            "time": np.tile(np.arange(1, 9), 3),
            "score": [20, NA, 22, 21, 10, NA, 11, 12,
                      30, NA, 20, 22, 12, NA, 16, 30,
                      30, 20, 21, 22, 12, 13, NA, 30],
        }
    )  # fmt: skip
    iv = sudden_gain_intervals(d, cutoff=7).query("pregain_time == 4").set_index("id")
    assert iv.loc[1, "critical_value"] == pytest.approx(4.302653, abs=1e-6)
    assert iv.loc[1, ["mean_pre", "mean_post", "n_pre", "n_post"]].tolist() == [21.5, 10.5, 2, 2]
    assert iv.loc[1, "crit123"] == 1.0
    assert iv.loc[2, ["crit1", "crit2", "crit3", "crit123"]].tolist() == [1.0, 1.0, 0.0, 0.0]
    assert iv.loc[3, "critical_value"] == pytest.approx(3.182446, abs=1e-6)
    fixed = sudden_gain_intervals(d, cutoff=7, crit3_adjust=False).query("pregain_time == 4")
    assert fixed.set_index("id").loc[2, "crit123"] == 1.0
    assert (fixed["critical_value"] == 2.776).all()


def test_intervals_tested_are_rs():
    """With 6 sessions R tests 2->3, 3->4 and 4->5, never 1->2 or 5->6, even with criterion 3
    off; labels count from 0 with identify_sg_1to2."""
    d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [40, 20, 20, 20, 20, 5]})
    iv = sudden_gain_intervals(d, cutoff=7, crit3=False)
    assert iv[["pregain_time", "postgain_time"]].to_numpy().tolist() == [[2, 3], [3, 4], [4, 5]]
    assert iv["crit123"].sum() == 0
    iv0 = sudden_gain_intervals(d, cutoff=7, crit3=False, identify_sg_1to2=True)
    assert iv0["sg_session_n"].tolist() == [1, 2, 3]


def test_reversal_window_r_and_after_gain():
    """Gain 32 -> 20 (3 -> 4), reversal value 20 + 12 / 2 = 26. Session 5 (postgain + 1) = 27
    is worse than 26, all later sessions better. R (identify_sg_1to2 = FALSE) starts at
    postgain + 2 -> no reversal; 'after_gain' and R with identify_sg_1to2 = TRUE -> reversal."""
    d = pd.DataFrame({"id": 1, "time": range(1, 9), "score": [30, 31, 32, 20, 27, 19, 18, 17]})
    kw = dict(cutoff=7)  # criterion 3 keeps 27 -> 19 from being a second gain
    assert sudden_gains(d, **kw)["sg_reversal"].item() == 0
    assert sudden_gains(d, **kw, reversal_window="after_gain")["sg_reversal"].item() == 1
    assert sudden_gains(d, **kw, identify_sg_1to2=True)["sg_reversal"].item() == 1
    assert sudden_gains(d, **kw)["sg_reversal_value"].item() == 26


def test_losses_crit2_r_and_mirror():
    """Pregain 20 -> postgain 24 (worse by 4 = 20 %), cutoff -3. R's loss criterion 2
    (20 - 24 = -4 <= 0.25 * 20 = 5) is met; the mirrored one (4 >= 5) is not."""
    d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [20, 20, 20, 24, 24, 24]})
    r = sudden_losses(d, cutoff=-3, crit3=False)
    assert r["id_sg"].tolist() == ["1_sl_3"]
    assert r["sg_magnitude"].item() == -4
    assert len(sudden_losses(d, cutoff=-3, crit3=False, loss_crit2="mirror")) == 0


def test_better_is_higher_mirrors_lower():
    """Scores 50 - BDI with better_is='higher' find the same gains with the same magnitudes
    (criterion 2 off: it is relative to the pregain score, which the mirror changes)."""
    d = pd.DataFrame({"id": 1, "time": range(1, 9), "score": [30, 31, 32, 20, 21, 19, 27, 18]})
    up = d.assign(score=50 - d["score"])
    lo = sudden_gains(d, cutoff=7, pct=None)
    hi = sudden_gains(up, cutoff=7, pct=None, better_is="higher")
    cols = ["id_sg", "sg_magnitude", "sg_tx_change", "sg_reversal"]
    pd.testing.assert_frame_equal(lo[cols], hi[cols])
    assert hi["sg_reversal_value"].item() == 50 - lo["sg_reversal_value"].item()
    # criterion 2 for higher-is-better: 30 -> 36 is +6 = 20 % of 30 < 25 % -> not met
    h = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [30, 30, 30, 36, 36, 36]})
    assert sudden_gain_intervals(h, cutoff=None, crit3=False, better_is="higher")[
        "crit2"
    ].tolist() == [0.0, 0.0, 0.0]


def test_crit1_cutoff_from_rci():
    """define_crit1_cutoff(sd = 10.5, reliability = 0.931):
    se = 10.5 * sqrt(0.069) = 10.5 * 0.262679 = 2.75812,
    sdiff = sqrt(2) * se = 3.90058, reliable change value = 1.96 * sdiff = 7.6451."""
    r = crit1_cutoff_from_rci(sd=10.5, reliability=0.931)
    assert r["standard_error_measurement"] == pytest.approx(2.75812, abs=1e-5)
    assert r["standard_error_difference"] == pytest.approx(3.90058, abs=1e-5)
    assert r["reliable_change_value"] == pytest.approx(7.6451, abs=1e-4)
    r2 = crit1_cutoff_from_rci(data_sd=[1, 2, 3, 4], reliability=0.9)
    assert r2["sd"] == pytest.approx(math.sqrt(5 / 3))
    with pytest.raises(ValueError, match="exactly one"):
        crit1_cutoff_from_rci(sd=1, data_sd=[1, 2], reliability=0.9)


def test_select_cases_matches_r():
    """R test-select_cases.R: pattern -> T, T, T, T, F, F, T; min_sess 5 -> F, F, F, T, F, F, T."""
    rows = [[NA, 10, 10, 10, 10, NA], [NA, 10, 10, 10, NA, 10], [10, NA, 10, 10, 10, NA],
            [10, NA, 10, 10, 10, 10], [10, NA, NA, 10, 10, 10], [10, NA, NA, NA, NA, 10],
            [10, 10, 10, 10, 10, 10]]  # fmt: skip
    d = _rows(rows)
    kw = dict(time="session", score="bdi")
    pat = select_cases(d, **kw)["sg_select"].tolist()
    assert pat == [True, True, True, True, False, False, True]
    mins = select_cases(d, **kw, method="min_sess", min_sess_num=5)["sg_select"].tolist()
    assert mins == [False, False, False, True, False, False, True]


def test_input_not_mutated_and_absent_rows_equal_nan_rows(sgdata_long):
    """The input frame is unchanged; dropping the NaN rows (absent sessions) gives the same
    gains when the grid is given."""
    before = sgdata_long.copy()
    g = sudden_gains(sgdata_long, time="session", score="bdi", cutoff=7)
    pd.testing.assert_frame_equal(sgdata_long, before)
    sparse = sgdata_long.dropna(subset=["bdi"])
    g2 = sudden_gains(sparse, time="session", score="bdi", cutoff=7, sessions=range(1, 13))
    pd.testing.assert_frame_equal(g.reset_index(drop=True), g2.reset_index(drop=True))


def test_errors_name_columns():
    d = pd.DataFrame({"id": [1, 1], "time": [1, 1], "score": [3, 4]})
    with pytest.raises(ValueError, match="'bdi'"):
        sudden_gains(d, score="bdi", cutoff=7)
    with pytest.raises(ValueError, match="same client and session"):
        sudden_gains(d, cutoff=7)
    with pytest.raises(ValueError, match="numeric"):
        sudden_gains(d.assign(score=["a", "b"]), cutoff=7)
    with pytest.raises(ValueError, match="at least one"):
        sudden_gains(d.assign(time=[1, 2]), cutoff=None, pct=None, crit3=False)
    with pytest.raises(ValueError, match="negative"):
        sudden_losses(d.assign(time=[1, 2]), cutoff=7)


def test_no_gain_gives_empty_table_with_columns():
    d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [20] * 6})
    g = sudden_gains(d, cutoff=7)
    assert len(g) == 0 and {"id_sg", "sg_magnitude", "sg_reversal"} <= set(g.columns)
    p = sudden_gains_byperson(d, cutoff=7)
    assert p["sg_crit123"].tolist() == [0.0]


def _phq9_cohort(series: dict[str, list[float]]):
    from analysis.data.cohort import Cohort

    rows = [
        (cid, t, "phq9", v)
        for cid, vals in series.items()
        for t, v in enumerate(vals, start=1)
        if not np.isnan(v)
    ]
    s = pd.DataFrame(rows, columns=["id", "time", "measure", "score"])
    return Cohort(scores=s, clients=pd.DataFrame({"id": list(series)}), name="hand")


def test_rule_sudden_gain_in_definitions():
    """The ``sudden_gain`` rule kind through the definitions engine, PHQ-9 (registry reliable
    change 6 points = criterion 1).

    a: 20 21 20 | 12 11 12 10 9. Gain 3 -> 4: 8 >= 6, 8 >= 0.25 * 20; windows (20, 21, 20) and
       (12, 11, 12): means 20.33 and 11.67, SDs 0.577, s_pooled 0.577, 2.776 * 0.577 = 1.60 <
       8.67. Reversal value 12 + 8 / 2 = 16, never exceeded -> met, first_met_time = 4.
    b: 20 21 20 | 12 11 17 18 19. Same gain (post window 12, 11, 17: mean 13.33, SD 3.21,
       s_pooled 2.31, 2.776 * 2.31 = 6.41 < 7.00); session 6 = 17 > 16 -> reversed -> not met;
       counted when reversals are allowed.
    c: 20 18 17 only: no interval with both windows -> not evaluable.
    d: 15 throughout -> not met.
    """
    from analysis.outcomes.engine import score_definitions
    from analysis.registry.definitions import validate_definitions

    c = _phq9_cohort(
        {
            "a": [20, 21, 20, 12, 11, 12, 10, 9],
            "b": [20, 21, 20, 12, 11, 17, 18, 19],
            "c": [20, 18, 17, NA, NA, NA, NA, NA],
            "d": [15] * 8,
        }
    )
    defs = validate_definitions(
        {
            "definitions": [
                {"name": "sg", "family": "symptom", "rule": "sudden_gain", "measure": "phq9"},
                {"name": "sg_any", "family": "symptom", "rule": "sudden_gain",
                 "measure": "phq9", "without_reversal": False},
            ]
        }
    )  # fmt: skip
    out = score_definitions(c, defs).set_index(["id", "definition"])
    st = out["status"]
    assert [st[(i, "sg")] for i in "abcd"] == ["met", "not_met", "not_evaluable", "not_met"]
    assert [st[(i, "sg_any")] for i in "abcd"] == ["met", "met", "not_evaluable", "not_met"]
    assert out.loc[("a", "sg"), "first_met_time"] == 4
    assert out.loc[("c", "sg"), "reason"].startswith("no interval with enough scores")
    details = score_definitions(c, defs).attrs["details"]["sg"]
    assert details == {"cutoff": 6.0, "gains": 2, "reversed_gains": 1, "clients_with_gain": 2}


def test_rule_sudden_gain_not_computed_on_few_time_points():
    """Five time points (a trial at 0, 2, 3, 5, 8 months): listed as not computed."""
    from analysis.outcomes.engine import score_definitions
    from analysis.registry.definitions import validate_definitions

    c = _phq9_cohort({"a": [20, 12, 11, 10, 9], "b": [20, 19, 18, 17, 16]})
    defs = validate_definitions(
        {"definitions": [
            {"name": "sg", "family": "symptom", "rule": "sudden_gain", "measure": "phq9"},
            {"name": "rem", "family": "symptom", "rule": "cutoff", "measure": "phq9"},
        ]}
    )  # fmt: skip
    out = score_definitions(c, defs)
    assert "session-by-session" in out.attrs["skipped"]["sg"]
    with pytest.raises(ValueError, match="unknown key"):
        validate_definitions(
            {"definitions": [{"name": "x", "family": "symptom", "rule": "sudden_gain",
                              "measure": "phq9", "multiple": "first"}]}
        )  # fmt: skip


def test_baseline_and_identify_sg_1to2_as_the_vignette(sgdata_long, validation_file):
    """Vignette: with bdi_s0 in sg_var_list and identify_sg_1to2 = TRUE a gain from session 1 to
    2 can be found; labels then equal the session numbers (sg_1to2 ... sg_10to11)."""
    wide = pd.read_csv(validation_file("real/suddengains_sgdata/sgdata.csv"))
    cols = [f"bdi_s{i}" for i in range(0, 13)]
    long0 = _long(wide, cols, time_values=list(range(13)))
    iv = sudden_gain_intervals(long0, time="session", score="bdi", cutoff=7, identify_sg_1to2=True)
    assert (iv["sg_session_n"] == iv["pregain_time"]).all()
    assert iv["pregain_time"].min() == 1 and iv["postgain_time"].max() == 11
    # intervals from session 2 on have the same windows as without the baseline, except that
    # the first one (2 -> 3) gains a third pre-gain score (session 0 is now in its window)
    iv1 = sudden_gain_intervals(sgdata_long, time="session", score="bdi", cutoff=7)
    a = iv.loc[iv["pregain_time"] >= 3].set_index(["id", "pregain_time"])["crit123"]
    b = iv1.loc[iv1["pregain_time"] >= 3].set_index(["id", "pregain_time"])["crit123"]
    pd.testing.assert_series_equal(a, b.loc[a.index])


def test_hostile_input_is_refused_with_a_hint():
    """Guards (tester's findings): empty data raised IndexError; pct=25 (a percentage typed for
    a proportion) silently found no gain; an inf score silently found none. The series drops
    from 30 to 12 between sessions 3 and 4 (18 points, 60 % of 30): one gain with pct=0.25."""
    d = pd.DataFrame({"id": 1, "time": range(1, 7), "score": [30.0, 31, 30, 12, 11, 10]})
    assert len(sudden_gains(d, cutoff=5)) == 1
    with pytest.raises(ValueError, match="the data have no rows"):
        sudden_gains(d.iloc[:0], cutoff=5)
    with pytest.raises(ValueError, match=r"pct is a proportion .* got 25; did you mean pct=0.25"):
        sudden_gains(d, cutoff=5, pct=25)
    with pytest.raises(ValueError, match="pct must be a proportion between 0 and 1, got -0.2"):
        sudden_gains(d, cutoff=5, pct=-0.2)
    with pytest.raises(ValueError, match=r"1 infinite score\(s\) \(rows \[4\]\)"):
        sudden_gains(d.assign(score=d["score"].where(d["time"] != 5, np.inf)), cutoff=5)


def test_window_stats_from_transposed_rows_bit_for_bit():
    """The engine's window statistics on the transposed session grid (issue 14) equal numpy's
    ``nanmean`` and ``nanstd(ddof=1)`` of each client's window bit for bit (sign of zero
    included), for windows of 1-9 sessions with missing scores, thirds and -0.0."""
    from analysis.outcomes.sudden_gains import _window_stats_t

    rng = np.random.default_rng(3)
    for width in range(1, 10):
        w = np.round(rng.standard_normal((20_000, width)) * 10, 2) / 3
        w[rng.random(w.shape) < 0.3] = np.nan
        w[rng.random(w.shape) < 0.1] = -0.0
        cnt, mean, sd = _window_stats_t(np.ascontiguousarray(w.T))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref_mean, ref_sd = np.nanmean(w, axis=1), np.nanstd(w, axis=1, ddof=1)
        np.testing.assert_array_equal(cnt, (~np.isnan(w)).sum(axis=1))
        for got, ref in ((mean, ref_mean), (sd, ref_sd)):
            np.testing.assert_array_equal(got, ref)  # NaN where numpy gives NaN
            same = ~np.isnan(ref)
            assert (got[same].view(np.int64) == ref[same].view(np.int64)).all()
        assert (mean == 0).any() and np.isnan(sd).any()  # zeros and 1-score windows were tested
