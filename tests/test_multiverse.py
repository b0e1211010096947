"""The multiverse of success: a hand-worked eight-client grid, skipped combinations, the spread."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.compare.multiverse import decompose_spread, expand_grid, load_grid, run_multiverse
from analysis.data.cohort import Cohort

# Eight clients, PHQ-9 at sessions 1-3 (lower is better); "-" = no assessment.
#   client  t1  t2  t3  end      arm  response (>= 50 %, last)  change >= 6 points (last)
#   c1      20  15   8  planned  A    12/20 = 60 %   yes        12  yes
#   c2      20  12   -  dropout  A     8/20 = 40 %   no          8  yes
#   c3      16  10   6  planned  A    10/16 = 62.5 % yes        10  yes
#   c4      18  16  15  planned  A     3/18 = 17 %   no          3  no
#   c5      24   -   -  dropout  B    no post score: not evaluable
#   c6      12   6   7  planned  B     5/12 = 42 %   no          5  no
#   c7      22  10  10  planned  B    12/22 = 55 %   yes        12  yes
#   c8      14   7   -  planned  B     7/14 = 50 %   yes         7  yes   (a short planned course)
_SCORES = {
    "c1": [20, 15, 8],
    "c2": [20, 12, None],
    "c3": [16, 10, 6],
    "c4": [18, 16, 15],
    "c5": [24, None, None],
    "c6": [12, 6, 7],
    "c7": [22, 10, 10],
    "c8": [14, 7, None],
}
_END = {
    "c1": "planned",
    "c2": "dropout",
    "c3": "planned",
    "c4": "planned",
    "c5": "dropout",
    "c6": "planned",
    "c7": "planned",
    "c8": "planned",
}
_DEFS = [
    {
        "name": "response",
        "family": "symptom",
        "rule": "percentage_change",
        "measure": "phq9",
        "percent": 50,
        "source": "Frank et al. (1991)",
        "headline": True,
    },
    {
        "name": "six_points",
        "family": "symptom",
        "rule": "fixed_change",
        "measure": "phq9",
        "points": 6,
        "source": "NHS Talking Therapies manual (2024)",
        "headline": True,
    },
]


def _cohort() -> Cohort:
    rows = [
        (cid, float(t + 1), "phq9", float(v))
        for cid, vals in _SCORES.items()
        for t, v in enumerate(vals)
        if v is not None
    ]
    scores = pd.DataFrame(rows, columns=["id", "time", "measure", "score"])
    clients = pd.DataFrame(
        {
            "id": list(_SCORES),
            "end_reason": [_END[c] for c in _SCORES],
            "arm": ["A"] * 4 + ["B"] * 4,
        }
    )
    return Cohort(scores=scores, clients=clients, name="eight")


def test_eight_client_grid_by_hand():
    """Two choices per dimension (definition, missing, post, population); cutoff type and
    reliability do not enter these rules and collapse to "n/a". Expected rates (table above):
    last available, everyone, last score: evaluable c1-c4, c6-c8 (7): response 4/7 (c1 c3 c7 c8),
    six points 5/7 (c1 c2 c3 c7 c8).
    completers (end planned: c1 c3 c4 c6 c7 c8): response 4/6, six points 4/6 (c2 drops out).
    finished courses as a population: the same six clients -> 4/6 and 4/6, under either strategy.
    score at session 3: evaluable c1 c3 c4 c6 c7 (5): response 3/5 (c1 8/20, c3, c7), six
    points 3/5; completers and finished change nothing (all five are planned)."""
    grid = load_grid(
        {
            "grid": {
                "missing": ["last_available", "completers"],
                "post": ["last", 3],
                "population": ["all", "finished"],
            }
        }
    )
    res = run_multiverse(_cohort(), grid, definitions=_DEFS, measure="phq9")
    assert len(res) == 16 and res["computable"].all()
    assert (res["cutoff_type"] == "n/a").all() and (res["reliability"] == "n/a").all()
    got = {
        (r.definition, r.missing, str(r.post), r.population): (r.n_met, r.n_evaluable)
        for r in res.itertuples()
    }
    expected = {}
    for d, last_all in (("response", (4, 7)), ("six_points", (5, 7))):
        expected[(d, "last_available", "last", "all")] = last_all
        for key in (
            ("completers", "last", "all"),
            ("last_available", "last", "finished"),
            ("completers", "last", "finished"),
        ):
            expected[(d, *key)] = (4, 6)
        for m in ("last_available", "completers"):
            for p in ("all", "finished"):
                expected[(d, m, "3", p)] = (3, 5)
    assert got == expected
    row = res.loc[
        (res["definition"] == "response")
        & (res["missing"] == "last_available")
        & (res["post"] == "last")
        & (res["population"] == "all")
    ].iloc[0]
    assert row["rate"] == pytest.approx(4 / 7)
    # arm difference, by hand: B met 2 of 3 evaluable (c7, c8; c6 not), A met 2 of 4 (c1, c3)
    assert row["risk_difference"] == pytest.approx(2 / 3 - 2 / 4)
    assert row["odds_ratio"] == pytest.approx((2 / 1) / (2 / 2))


def test_skipped_combinations_say_why():
    """Cutoff c without functional norms, a population the data do not record, a measure absent."""
    from analysis.registry.instruments import load_registry

    reg = load_registry()
    defs = [
        {
            "name": "csc",
            "family": "symptom",
            "rule": "clinically_significant",
            "measure": "gbo",
            "source": "Jacobson & Truax (1991)",
            "headline": True,
        },
        {
            "name": "wsas",
            "family": "functional",
            "rule": "reliable_change",
            "measure": "wsas",
            "source": "Jacobson & Truax (1991)",
            "headline": True,
        },
    ]
    grid = load_grid(
        {
            "grid": {
                "cutoff_type": ["a", "c"],
                "reliability": [0.9],
                "missing": ["last_available"],
                "population": ["all", "chronic"],
            }
        }
    )
    clients = pd.DataFrame({"id": ["x"]})
    specs = expand_grid(grid, defs, reg, clients, measures=["gbo"], measure="gbo")
    reasons = set(specs.loc[~specs["computable"], "reason"])
    assert any("chronicity" in r for r in reasons)
    assert any("measure WSAS not in the data" in r for r in reasons)  # label, not code
    if not (reg["gbo"].norms or {}).get("functional"):
        assert any("cutoff c needs functional norms" in r for r in reasons)
    ok = specs.loc[specs["computable"]]
    assert set(ok["definition"]) == {"csc"} and set(ok["population"]) == {"all"}


def test_load_grid_errors_name_the_key(tmp_path):
    with pytest.raises(ValueError, match="unknown choice"):
        load_grid({"grid": {"cutoff": ["a"]}})
    with pytest.raises(ValueError, match="population"):
        load_grid({"grid": {"population": ["everyone"]}})
    p = tmp_path / "g.yaml"
    p.write_text("grid:\n  missing: []\n")
    with pytest.raises(ValueError, match=r"g\.yaml: grid\.missing"):
        load_grid(p)


def test_decompose_spread_by_hand():
    """Rates: definition a 50 / 40 %, b 30 / 28 % under missing x / y. Within-definition shifts
    from 'missing': 10 and 2 points (median 6); within-missing shifts from 'definition': 20 and
    12 points (median 16)."""
    r = pd.DataFrame(
        {
            "definition": ["a", "a", "b", "b"],
            "cutoff_type": "n/a",
            "reliability": "n/a",
            "missing": ["x", "y", "x", "y"],
            "post": "last",
            "population": "all",
            "rate": [0.50, 0.40, 0.30, 0.28],
        }
    )
    t = decompose_spread(r).set_index("choice")
    assert t.loc["definition", "median_shift"] == pytest.approx(0.16)
    assert t.loc["missing", "median_shift"] == pytest.approx(0.06)
    assert t.loc["missing", "max_shift"] == pytest.approx(0.10)
    # eta^2 of definition: group means .45 and .29, grand mean .37:
    # between = 2 (.08^2) + 2 (.08^2) = .0256; total = .13^2 + .03^2 + .07^2 + .09^2 = .0308
    assert t.loc["definition", "eta_squared"] == pytest.approx(0.0256 / 0.0308)
    assert list(t.index) == ["definition", "missing"]
    with pytest.raises(ValueError, match="fewer than two"):
        decompose_spread(r.iloc[:1])


def test_multiple_imputation_in_the_grid_pools_over_imputations():
    """Under multiple imputation every client with a baseline is evaluable (c5's end score is
    drawn from observed donors), and the pooled interval is wider than zero."""
    grid = load_grid(
        {
            "grid": {"missing": ["multiple_imputation"], "population": ["all"]},
            "options": {"imputations": 4, "seed": 1, "pmm_donors": 2},
        }
    )
    res = run_multiverse(_cohort(), grid, definitions=_DEFS, measure="phq9")
    assert res["computable"].all(), res["reason"].tolist()
    assert (res["n_evaluable"] == 8).all()
    assert np.isfinite(res["ci_low"]).all() and (res["ci_high"] > res["ci_low"]).all()


@pytest.mark.slow
def test_dask_local_cluster_gives_the_in_process_result():
    """The grid on a local Dask cluster of two worker processes equals the in-process run, value
    for value (imputations included: their seeds are fixed per measure)."""
    pytest.importorskip("distributed")
    grid = load_grid(
        {
            "grid": {
                "missing": ["last_available", "completers", "multiple_imputation"],
                "post": ["last", 3],
                "population": ["all", "finished"],
            },
            "options": {"imputations": 3, "seed": 5, "pmm_donors": 2},
        }
    )
    here = run_multiverse(_cohort(), grid, definitions=_DEFS, measure="phq9")
    there = run_multiverse(_cohort(), grid, definitions=_DEFS, measure="phq9", scheduler="local")
    pd.testing.assert_frame_equal(here, there)


def test_vectorised_summaries_equal_the_per_specification_ones():
    """The counts of many specifications summarised at once (Wilson, Newcombe, logit odds ratio,
    all in one array call) equal the per-specification path, which calls statsmodels' and the
    project's interval functions one specification at a time; empty arms and empty 2 x 2 cells
    give the same notes."""
    from analysis.compare.multiverse import _arm_row, _block_counts, _rate_row, _summarise_counts

    rng = np.random.default_rng(3)
    n = 60
    labels = np.where(rng.random(n) < 0.5, "A", "B")
    status = {
        "k1": rng.choice(np.array(["met", "not_met", "not_evaluable", None], object), n),
        "k2": np.where(labels == "A", "met", "not_met").astype(object),  # a zero cell per arm
        "k3": np.where(labels == "A", "met", "not_evaluable").astype(object),  # arm B empty
    }
    masks = {"all": np.ones(n, bool), "half": np.arange(n) < 30, "none": np.zeros(n, bool)}
    arm = (labels, "A", "B")
    todo = [(i + 1, k, p) for i, (k, p) in enumerate((k, p) for k in status for p in masks)]
    fast = _summarise_counts(_block_counts(todo, status, masks, arm), arm, 0.05)
    for spec, key, pop in todo:
        s = status[key]
        met = (s == "met") & masks[pop]
        ev = np.isin(s, ("met", "not_met")) & masks[pop]
        slow = {**_rate_row(met, ev, 0.05), **_arm_row(met, ev, *arm, alpha=0.05)}
        got = fast[spec]
        assert set(slow) == set(got), (spec, set(slow) ^ set(got))
        for k, v in slow.items():
            if isinstance(v, str):
                assert got[k] == v, (spec, k)
            else:
                assert got[k] == pytest.approx(v, rel=1e-12, nan_ok=True), (spec, k)


def test_scoring_only_the_measures_the_definitions_name_changes_nothing():
    """run_multiverse hands the engine only the score rows of the measures its definitions name
    (speed at 10^5 clients). The headline definitions of the package's file (PHQ-9, GAD-7 through
    the NHS rules, WSAS, employment, SRS; the markers and WAI-SR left out), under every
    single-value missing-data strategy and two post rules, give the same table as the engine
    scoring the whole cohort (a stand-in ``score`` that ignores the reduced cohort)."""
    from analysis.data.datasets import load_dataset
    from analysis.outcomes.engine import definitions_for_run, score_definitions

    full = load_dataset("simulated", n_clients=300, seed=2)
    defs = definitions_for_run("phq9")
    seen = []

    def on_full(cohort, definitions, **kw):
        seen.append(len(cohort.scores))
        return score_definitions(full, definitions, **kw)

    grid = load_grid(
        {
            "grid": {
                "definitions": "headline",
                "cutoff_type": ["instrument"],
                "reliability": [0.85],
                "missing": ["last_available", "locf", "bocf", "completers", "dropout_as_failure"],
                "post": ["last", 6],
                "population": ["all", "severe"],
            }
        }
    )
    reduced = run_multiverse(full, grid, definitions=defs, measure="phq9")
    whole = run_multiverse(full, grid, definitions=defs, measure="phq9", score=on_full)
    assert reduced["computable"].sum() > 50
    assert seen and all(n < 0.8 * len(full.scores) for n in seen)  # rows were left out
    pd.testing.assert_frame_equal(reduced, whole)


def test_status_arrays_same_on_fast_and_general_path():
    """The engine's table stacked per definition in client order takes a shortcut; shuffled rows
    (and a client absent from one definition) take the general path; both give the same codes."""
    from analysis.compare.multiverse import _status_by_definition

    ids = np.array(["a", "b", "c"], object)
    table = pd.DataFrame(
        {
            "definition": ["x"] * 3 + ["y"] * 3,
            "id": list(ids) * 2,
            "status": ["met", "not_met", "not_evaluable", "not_met", "met", "met"],
        }
    )
    fast = _status_by_definition(table, ids)
    slow = _status_by_definition(table.sample(frac=1, random_state=1), ids)
    assert {k: v.tolist() for k, v in fast.items()} == {"x": [1, 0, -1], "y": [0, 1, 1]}
    assert {k: v.tolist() for k, v in slow.items()} == {"x": [1, 0, -1], "y": [0, 1, 1]}
    partial = _status_by_definition(table.drop(index=[4]), ids)  # b absent from y
    assert partial["y"].tolist() == [0, -1, 1]


def test_members_are_the_clients_behind_every_count():
    """``members=True``: the clients behind each count, by hand from the table above.
    Last available, everyone, response: evaluable c1-c4, c6-c8 (7), met c1 c3 c7 c8 (4);
    completers and finished courses both count c1 c3 c4 c6 c7 c8 (6): one set, named after
    the first specification that counts it; six points, finished courses: met c1 c3 c7 c8, the
    same clients as response's met under last available: one set again. Arm B met under
    response, last available: c7 c8. Under multiple imputation (4 imputations) every client
    with a baseline is evaluable in every imputation (8, a set); its met count is a set only
    where all imputations agree."""
    grid = load_grid(
        {
            "grid": {
                "missing": ["last_available", "completers", "multiple_imputation"],
                "population": ["all", "finished"],
            },
            "options": {"imputations": 4, "seed": 1, "pmm_donors": 2},
        }
    )
    res, sets, cells = run_multiverse(
        _cohort(), grid, definitions=_DEFS, measure="phq9", members=True
    )
    plain = run_multiverse(_cohort(), grid, definitions=_DEFS, measure="phq9")
    pd.testing.assert_frame_equal(res, plain)  # the table is the same either way
    assert list(cells.index) == list(res.index)
    assert set(cells.columns) == {
        "n_met", "n_evaluable", "n_met_other", "n_evaluable_other", "n_met_ref", "n_evaluable_ref"
    }  # fmt: skip
    assert not sets.columns.duplicated().any()
    assert not sets.T.duplicated().any()  # one column per distinct set

    def who(name):
        return sorted(sets.index[sets[name]])

    def row(d, m, p):
        return res.index[
            (res["definition"] == d) & (res["missing"] == m) & (res["population"] == p)
        ][0]

    r = row("response", "last_available", "all")
    assert who(cells.at[r, "n_evaluable"]) == ["c1", "c2", "c3", "c4", "c6", "c7", "c8"]
    assert who(cells.at[r, "n_met"]) == ["c1", "c3", "c7", "c8"]
    assert cells.at[r, "n_met"] == f"multiverse {res.at[r, 'spec']}: met"
    assert who(cells.at[r, "n_met_other"]) == ["c7", "c8"]
    assert cells.at[r, "n_met_other"].endswith(": met | B")
    six = ["c1", "c3", "c4", "c6", "c7", "c8"]
    for m, p in (("completers", "all"), ("last_available", "finished"), ("completers", "finished")):
        assert who(cells.at[row("response", m, p), "n_evaluable"]) == six
    same = cells.at[row("six_points", "last_available", "finished"), "n_met"]
    assert same == cells.at[r, "n_met"]
    # every named count is its set's size
    for c in cells.columns:
        for i in res.index:
            if cells.at[i, c] is not None:
                assert sets[cells.at[i, c]].sum() == res.at[i, c], (i, c)
    mi = row("response", "multiple_imputation", "all")
    assert sets[cells.at[mi, "n_evaluable"]].sum() == 8
