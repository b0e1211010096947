"""The definitions engine against an independent plain-pandas recomputation (issue 14, item 3).

The engine (:func:`analysis.outcomes.engine.score_definitions` with the per-measure views of
:class:`analysis.outcomes.rules.Trajectories`) is optimised for 10^6 clients; these tests recompute
two definitions of the default file from the raw long scores with ordinary pandas groupbys, the
way the definitions file and the registry describe them, on 5,000 simulated clients with about 12
sessions each, and require the engine's rows to be identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.data.simulate import simulate_cohort
from analysis.outcomes.engine import score_definitions
from analysis.registry.instruments import get_instrument

# longer courses than the default cohort, as benchmarks/bench_definitions.py: about 12 sessions
_LONGER = {
    "endings": {"planned_intercept": -5.5, "dropout_intercept": -4.0, "min_planned_session": 6}
}


@pytest.fixture(scope="module")
def scored():
    cohort = simulate_cohort(_LONGER, n_clients=5000, n_therapists=200, seed=11, validate=False)
    out = score_definitions(cohort, None, measure="phq9")
    return cohort, out


def _plain_prepost(cohort, measure: str) -> pd.DataFrame:
    """Baseline (first assessment), post (last observed score after it) and the observed rows
    after baseline, per client, with plain pandas (``last_available``)."""
    rows = cohort.scores.loc[cohort.scores["measure"] == measure, ["id", "time", "score"]]
    rows = rows.assign(id=rows["id"].astype(str)).sort_values(["id", "time"], kind="stable")
    first = rows.groupby("id", sort=False).head(1).set_index("id")
    obs = rows.dropna(subset=["score"])
    after = obs.loc[obs["time"].to_numpy() > obs["id"].map(first["time"]).to_numpy()]
    last = after.groupby("id", sort=False).tail(1).set_index("id")
    ids = cohort.clients["id"].astype(str)
    pp = pd.DataFrame(
        {
            "baseline": first["score"].reindex(ids).to_numpy(),
            "baseline_time": first["time"].reindex(ids).to_numpy(),
            "post": last["score"].reindex(ids).to_numpy(),
            "post_time": last["time"].reindex(ids).to_numpy(),
        },
        index=ids,
    )
    return pp, after.assign(baseline=after["id"].map(first["score"]))


def _engine_rows(out: pd.DataFrame, name: str, ids) -> pd.DataFrame:
    d = out.loc[out["definition"] == name].set_index(out.loc[out["definition"] == name, "id"])
    return d.loc[list(ids)]


def _status(evaluable, met) -> np.ndarray:
    return np.where(~evaluable, "not_evaluable", np.where(met, "met", "not_met"))


def test_response_equals_plain_pandas(scored):
    """response: (baseline - post) / baseline >= 50 % on PHQ-9 (lower is better); baseline 0 is
    not evaluable; first_met_time: the first assessment after baseline where it held."""
    cohort, out = scored
    pp, after = _plain_prepost(cohort, "phq9")
    ok = pp["baseline"].notna() & pp["post"].notna() & (pp["baseline"] != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        met = (pp["baseline"] - pp["post"]) / pp["baseline"] >= 0.5
    hit = after.loc[(after["baseline"] - after["score"]) / after["baseline"] >= 0.5]
    first = hit.groupby("id")["time"].min().reindex(pp.index).where(ok.to_numpy())
    eng = _engine_rows(out, "response", pp.index)
    assert ok.sum() > 3000  # most of 5,000 clients are evaluable: a real comparison
    assert met[ok].sum() > 500
    np.testing.assert_array_equal(eng["status"].astype(str), _status(ok.to_numpy(), met.to_numpy()))
    np.testing.assert_array_equal(eng["baseline"], pp["baseline"])
    np.testing.assert_array_equal(eng["post"], pp["post"])
    np.testing.assert_array_equal(eng["post_time"], pp["post_time"])
    np.testing.assert_array_equal(eng["baseline_time"], pp["baseline_time"])
    np.testing.assert_array_equal(eng["first_met_time"], first.to_numpy())
    assert eng["measures"].astype(str).eq("phq9").all()
    assert eng["family"].astype(str).eq("symptom").all()


def test_reliable_improvement_equals_plain_pandas(scored):
    """reliable_improvement (Jacobson & Truax 1991): S_diff = SD(baseline of evaluable clients)
    * sqrt(2 * (1 - r)), with r the registry's PHQ-9 reliability; met when
    (baseline - post) / S_diff > 1.96 (PHQ-9: lower is better)."""
    cohort, out = scored
    pp, after = _plain_prepost(cohort, "phq9")
    ok = pp["baseline"].notna() & pp["post"].notna()
    r = get_instrument("phq9").reliability_value
    s_diff = pp.loc[ok, "baseline"].std(ddof=1) * np.sqrt(2 * (1 - r))
    rci = (pp["post"] - pp["baseline"]) / s_diff
    met = ok & (-rci > 1.959963984540054)
    eng = _engine_rows(out, "reliable_improvement", pp.index)
    assert met.sum() > 500 and (ok & ~met).sum() > 500
    np.testing.assert_array_equal(eng["status"].astype(str), _status(ok.to_numpy(), met.to_numpy()))
    np.testing.assert_allclose(eng["rci"].where(ok.to_numpy()), rci.where(ok), rtol=1e-12)
    hit = after.loc[(after["baseline"] - after["score"]) / s_diff > 1.959963984540054]
    first = hit.groupby("id")["time"].min().reindex(pp.index).where(ok.to_numpy())
    np.testing.assert_array_equal(eng["first_met_time"], first.to_numpy())
    # met_time: the start of the final run of assessments where the criterion held
    a = after.assign(flag=(after["baseline"] - after["score"]) / s_diff > 1.959963984540054)
    last_off = a.loc[~a["flag"]].groupby("id")["time"].max()
    a = a.assign(last_off=a["id"].map(last_off).fillna(-np.inf))
    since = a.loc[a["flag"] & (a["time"] > a["last_off"])].groupby("id")["time"].min()
    since = since.reindex(pp.index).where(met.to_numpy())
    np.testing.assert_array_equal(eng["met_time"], since.to_numpy())


def test_table_shape_and_order(scored):
    """One row per client x scored definition, clients in client-table order in every block."""
    cohort, out = scored
    names = list(dict.fromkeys(out["definition"].astype(str)))
    assert len(out) == len(names) * len(cohort.clients)
    ids = cohort.clients["id"].astype(str).to_numpy()
    for name in names:
        block = out.loc[out["definition"] == name, "id"].astype(str).to_numpy()
        np.testing.assert_array_equal(block, ids)


def test_categorical_table_has_the_same_values(scored):
    """categorical=True (the default) changes the dtypes of the text columns only: the same
    values, row by row as categorical=False (a missing J&T category is NaN there and None in
    the object table)."""
    cohort, cat = scored
    out = score_definitions(cohort, None, measure="phq9", categorical=False)
    text = ["id", "definition", "family", "measures", "status", "reason", "category"]
    assert all(isinstance(cat[c].dtype, pd.CategoricalDtype) for c in text)
    assert all(out[c].dtype == object for c in text)
    assert list(cat["status"].cat.categories) == ["met", "not_met", "not_evaluable"]
    back = cat.copy()
    for c in text:
        back[c] = back[c].astype(object).where(back[c].notna(), None)
    pd.testing.assert_frame_equal(back, out)
    assert cat.memory_usage().sum() < 0.7 * out.memory_usage().sum()


def test_compare_layer_reads_the_categorical_table_alike(scored):
    """The readers in analysis.compare give the same tables from the categorical outcomes table
    as from the object one (they group with observed=True: no empty groups, no warnings)."""
    from analysis.compare.agreement import family_success, pairwise_agreement, success_indicators
    from analysis.compare.prevalence import prevalence
    from analysis.compare.survival import time_to_event

    cohort, out = scored
    cat = score_definitions(cohort, None, measure="phq9", categorical=True)
    some = ["remission", "response", "reliable_improvement", "nhs_recovery", "wai_growth"]
    groups = cohort.clients[["id", "arm"]]
    pd.testing.assert_frame_equal(prevalence(cat), prevalence(out))
    pd.testing.assert_frame_equal(
        prevalence(cat, by="arm", groups=groups), prevalence(out, by="arm", groups=groups)
    )
    sub_cat = cat.loc[cat["definition"].isin(some)]  # categories still list all 31
    sub_out = out.loc[out["definition"].isin(some)]
    pd.testing.assert_frame_equal(prevalence(sub_cat), prevalence(sub_out))

    def plain(wide):  # the id index and definition / family columns as plain labels
        return wide.set_axis(wide.index.astype(object), axis=0).set_axis(list(wide.columns), axis=1)

    assert list(success_indicators(sub_cat).columns) == some
    pd.testing.assert_frame_equal(
        plain(success_indicators(sub_cat)), plain(success_indicators(sub_out))
    )
    pd.testing.assert_frame_equal(plain(family_success(cat)), plain(family_success(out)))
    pd.testing.assert_frame_equal(pairwise_agreement(sub_cat), pairwise_agreement(sub_out))
    a = time_to_event(sub_cat, cohort.scores, cohort.clients)
    b = time_to_event(sub_out, cohort.scores, cohort.clients)
    pd.testing.assert_frame_equal(a, b, check_categorical=False, check_dtype=False)


def test_compact_read_gives_the_same_table(scored, tmp_path):
    """A cohort read back with read_cohort(compact=True) (categorical ids and measures, float32
    times, no date column) scores to exactly the table of the cohort in memory; the four time
    columns come back in the cohort's time dtype (float32), every other column as before."""
    from analysis.data.store import read_cohort, write_cohort
    from analysis.outcomes.engine import _TIME_COLUMNS

    cohort, out = scored
    folder = write_cohort(cohort, tmp_path / "c")
    back = read_cohort(folder, validate=False, compact=True)
    assert list(back.scores.columns) == ["id", "time", "measure", "score"]
    assert isinstance(back.scores["id"].dtype, pd.CategoricalDtype)
    assert back.scores["time"].dtype == np.float32  # whole sessions: lossless
    assert len(back.scores) == len(cohort.scores)
    again = score_definitions(back, None, measure="phq9")
    assert out[list(_TIME_COLUMNS)].dtypes.eq(np.float64).all()  # a cohort in memory: float64
    assert again[list(_TIME_COLUMNS)].dtypes.eq(np.float32).all()  # the cohort's time dtype
    assert again.drop(columns=list(_TIME_COLUMNS)).dtypes.equals(
        out.drop(columns=list(_TIME_COLUMNS)).dtypes
    )  # scores, RCI, text: unchanged
    assert again["met_time"].notna().sum() > 1000  # the time columns are filled, not all NaN
    # every value the same: float32 holds each time exactly
    widened = again.astype({c: np.float64 for c in _TIME_COLUMNS})
    pd.testing.assert_frame_equal(widened, out, check_exact=True)


def test_compact_read_keeps_float64_where_float32_would_round(tmp_path):
    """A score of 36.3 (SRS) has no exact float32: the column stays float64, values unchanged."""
    from analysis.data.cohort import Cohort
    from analysis.data.store import read_cohort, write_cohort

    scores = pd.DataFrame(
        {"id": ["a", "a", "b"], "time": [1.0, 2.0, 1.0], "measure": "srs",
         "score": [36.3, 38.0, np.nan]}
    )  # fmt: skip
    folder = write_cohort(Cohort(scores, pd.DataFrame({"id": ["a", "b"]}), name="x"), tmp_path)
    back = read_cohort(folder, validate=False, compact=True).scores
    assert back["score"].dtype == np.float64 and back["time"].dtype == np.float32
    np.testing.assert_array_equal(back["score"].to_numpy(), [36.3, 38.0, np.nan])
    assert back["id"].astype(str).tolist() == ["a", "a", "b"]


def test_compact_cohort_is_still_checked(tmp_path):
    """The construction checks (analysis.data.schema.check_cohort_frames) read the compact
    dtypes (categorical measure codes, float32 times) as they are and still refuse a PHQ-9 score
    of 28 (range 0-27 points) and a negative time."""
    from analysis.data.cohort import Cohort
    from analysis.data.schema import check_cohort_frames
    from analysis.data.store import read_cohort, write_cohort

    scores = pd.DataFrame(
        {"id": ["a", "a", "b"], "time": [0.0, 1.0, 0.0], "measure": "phq9",
         "score": [20.0, 27.0, np.nan]}
    )  # fmt: skip
    folder = write_cohort(Cohort(scores, pd.DataFrame({"id": ["a", "b"]}), name="x"), tmp_path)
    back = read_cohort(folder, validate=False, compact=True).scores
    assert back["time"].dtype == np.float32
    assert isinstance(back["measure"].dtype, pd.CategoricalDtype)
    clients = pd.DataFrame({"id": ["a", "b"]})
    check_cohort_frames(back, clients)  # in range: passes
    bad = back.copy()
    bad.loc[1, "score"] = 28.0
    with pytest.raises(ValueError, match=r"1 score\(s\) of measure 'phq9' outside"):
        check_cohort_frames(bad, clients)
    bad = back.copy()
    bad.loc[2, "time"] = np.float32(-1)
    with pytest.raises(ValueError, match="column 'time': 1 value"):
        check_cohort_frames(bad, clients)


@pytest.mark.parametrize("categorical", [False, True])
def test_definition_skipped_while_scoring_leaves_no_gap(categorical):
    """The engine scores measure by measure (not in file order) into one block per definition;
    a definition found not computable only while scoring (caseness on WAI-SR: no clinical cutoff)
    leaves its block empty, and the blocks after it move down: the table equals the table of the
    same file without that definition (values, order, categories), composites included."""
    from analysis import load_dataset
    from analysis.outcomes.engine import definitions_for_run

    cohort = load_dataset("simulated", n_clients=60, seed=1)
    by = {d["name"]: d for d in definitions_for_run("phq9")}
    bad = dict(by["below_caseness"], name="wai_caseness", measure="wai_sr")
    either = dict(by["any_family"], name="either", of=["remission", "wai_growth"])
    kept = [by["remission"], by["response"], by["wai_growth"], by["nhs_recovery"], either]
    with_bad = [kept[0], bad, *kept[1:]]
    got = score_definitions(cohort, with_bad, measure="phq9", categorical=categorical)
    want = score_definitions(cohort, kept, measure="phq9", categorical=categorical)
    assert list(got.attrs["skipped"]) == ["wai_caseness"]
    assert "no clinical cutoff" in got.attrs["skipped"]["wai_caseness"]
    assert list(dict.fromkeys(got["definition"].astype(str))) == [d["name"] for d in kept]
    assert len(got) == 5 * 60
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert list(got.attrs["details"]) == list(want.attrs["details"])


def test_prevalence_by_family_same_from_either_dtype(scored):
    """prevalence by a categorical column of the table (family) sorts by the values, as from the
    object table (the rows of prevalence.csv were in category order before)."""
    from analysis.compare.prevalence import prevalence

    cohort, cat = scored
    obj = score_definitions(cohort, None, measure="phq9", categorical=False)
    a, b = prevalence(cat, by="family"), prevalence(obj, by="family")
    assert a["family"].tolist()[:2] == ["alliance", "alliance"]  # alphabetical, not file order
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_categorical_table_survives_a_parquet_round_trip(scored, tmp_path):
    """The run's data cache writes the table to Parquet and uses it only when it reads back
    identical: the categorical columns (the id categories unnamed) come back unchanged."""
    _cohort, out = scored
    out.to_parquet(tmp_path / "everything.parquet")
    back = pd.read_parquet(tmp_path / "everything.parquet")
    assert isinstance(back["id"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(back, out, check_exact=True)
