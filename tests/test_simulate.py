"""Fast tests of analysis.data.simulate: determinism, data model, ranges, parameters, CLI, I/O."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.data.schema import validate_scores
from analysis.data.simulate import (
    DEFAULT_PARAMS,
    SIMULATED_MEASURES,
    ParameterError,
    load_params,
    main,
    simulate_cohort,
)
from analysis.data.store import read_cohort, write_cohort
from analysis.registry.instruments import load_registry

SEED = 11
N = 300


@pytest.fixture(scope="module")
def cohort():
    print(f"seed {SEED}, {N} clients, 20 therapists")
    return simulate_cohort(n_clients=N, n_therapists=20, seed=SEED)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes(tmp_path):
    """Two runs with the same seed and parameters write byte-identical Parquet files."""
    a = write_cohort(simulate_cohort(n_clients=200, n_therapists=10, seed=SEED), tmp_path / "a")
    b = write_cohort(simulate_cohort(n_clients=200, n_therapists=10, seed=SEED), tmp_path / "b")
    for name in ("scores.parquet", "clients.parquet", "cohort.json"):
        assert _sha(a / name) == _sha(b / name), name
    c = write_cohort(simulate_cohort(n_clients=200, n_therapists=10, seed=SEED + 1), tmp_path / "c")
    assert _sha(a / "scores.parquet") != _sha(c / "scores.parquet")


def test_labelled_as_simulated(cohort):
    assert cohort.simulated is True
    assert cohort.time_unit == "session"
    assert "SIMULATED" in cohort.description
    assert cohort.meta["seed"] == SEED
    assert cohort.meta["params_file"] == "analysis/config/simulation.yaml (package default)"
    assert cohort.meta["params_sha256"] == hashlib.sha256(DEFAULT_PARAMS.read_bytes()).hexdigest()


def test_scores_valid_and_in_range(cohort):
    """Every row passes the data-model schema; every score lies in the registry range, integer
    instruments are whole points, binary flags are 0/1, GBO is a mean of whole-point goals."""
    s = validate_scores(cohort.scores)
    assert len(s) == len(cohort.scores)
    reg = load_registry()
    assert set(s["measure"]) == set(SIMULATED_MEASURES)
    for m, grp in s.groupby("measure"):
        x = grp["score"].dropna()
        ins = reg[m]
        assert x.between(ins.min, ins.max).all(), m
        if ins.integer:
            assert (x == np.rint(x)).all(), m
    gbo = s.loc[s["measure"] == "gbo", "score"].dropna()
    # mean of 1, 2 or 3 whole-point goal ratings: a multiple of 1/2 or 1/3, so 6 x GBO is whole
    assert np.allclose(gbo * 6, np.rint(gbo * 6))
    srs = s.loc[s["measure"] == "srs", "score"].dropna()
    assert np.allclose(srs * 10, np.rint(srs * 10))


def test_clients_table(cohort):
    c = cohort.clients
    assert c["id"].is_unique and len(c) == N
    assert set(c["end_reason"]) <= {"planned", "dropout", "ongoing"}
    assert set(c["primary_definition"]) <= {"symptom", "functional", "alliance", "personal"}
    for col in (
        "therapist",
        "site",
        "arm",
        "referral_date",
        "start_date",
        "end_date",
        "ptsd",
        "child_family",
        "comorbid",
        "chronic",
        "n_sessions",
    ):
        assert col in c.columns, col
    assert (c["start_date"] >= c["referral_date"]).all()
    ended = c["end_reason"] != "ongoing"
    assert (c.loc[ended, "end_date"] >= c.loc[ended, "start_date"]).all()
    assert c.loc[~ended, "end_date"].isna().all()
    # sessions in the scores match the client table
    n_phq = cohort.scores.loc[cohort.scores["measure"] == "phq9"].groupby("id").size()
    assert (n_phq.reindex(c["id"]).to_numpy() == c["n_sessions"].to_numpy()).all()


def test_subgroup_measures_only_in_subgroups(cohort):
    s, c = cohort.scores, cohort.clients.set_index("id")
    pcl_ids = set(s.loc[s["measure"] == "pcl5", "id"])
    assert pcl_ids == set(c.index[c["ptsd"]])
    sdq_ids = set(s.loc[s["measure"] == "sdq_total", "id"])
    assert sdq_ids == set(c.index[c["child_family"]])


def test_first_session_complete_and_phq9_every_session(cohort):
    s = cohort.scores
    first = s.loc[(s["time"] == 1) & s["measure"].isin(["phq9", "gad7", "wsas"])]
    assert first["score"].notna().all()
    assert len(first) == 3 * N


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"cohort": {"n_clients": -5}}, "cohort.n_clients"),
        ({"measures": {"phq9": {"reliability": 1.5}}}, "measures.phq9.reliability"),
        ({"measures": {"xyz": {"reliability": 0.8}}}, "measures.xyz"),
        ({"alliance": {"p_rupture": 2}}, "alliance.p_rupture"),
        ({"cohort": {"n_clientz": 10}}, "cohort.n_clientz"),
        ({"subgroups": {"primary_definition": {"symptom": 0.9}}}, "subgroups.primary_definition"),
    ],
)
def test_bad_parameters_name_the_parameter(override, name):
    with pytest.raises(ParameterError, match=name.replace(".", r"\.")):
        simulate_cohort(override, n_clients=10)


def test_bad_counts_as_arguments():
    with pytest.raises(ParameterError, match="cohort.n_therapists"):
        simulate_cohort(n_clients=10, n_therapists=0)
    with pytest.raises(TypeError, match="seed"):
        simulate_cohort(n_clients=10, seed=-1)


def test_default_file_every_number_has_a_source():
    def leaves(node, path=""):
        if isinstance(node, dict) and "value" in node:
            yield path, node
        elif isinstance(node, dict):
            for k, v in node.items():
                yield from leaves(v, f"{path}.{k}" if path else k)
        else:
            yield path, {"value": node}

    raw = yaml.safe_load(DEFAULT_PARAMS.read_text("utf-8"))
    missing = [p for p, leaf in leaves(raw) if not str(leaf.get("source", "")).strip()]
    assert missing == []
    values, path, sha = load_params()
    assert values["cohort"]["n_clients"] == 2000 and values["cohort"]["n_therapists"] == 80


def test_partial_params_file(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("cohort:\n  n_clients: 40\nmeasures:\n  phq9:\n    reliability: 0.9\n")
    values, path, sha = load_params(f)
    assert values["cohort"]["n_clients"] == 40
    assert values["measures"]["phq9"]["reliability"] == 0.9
    assert values["measures"]["gad7"]["reliability"] == 0.83  # from the defaults
    assert path == str(f) and len(sha) == 64


def test_cli_writes_cohort(tmp_path, capsys):
    out = tmp_path / "sim"
    code = main(["--clients", "60", "--therapists", "6", "--seed", "5", "--out", str(out)])
    assert code == 0
    assert "SIMULATED" in capsys.readouterr().out
    back = read_cohort(out)
    assert back.simulated and back.n_clients == 60 and back.meta["seed"] == 5
    again = simulate_cohort(n_clients=60, n_therapists=6, seed=5)

    # store.write_cohort stores rows in a canonical order (scores by id, time, measure; clients
    # by id)
    def canon(df, keys):
        return df.sort_values(keys, kind="mergesort").reset_index(drop=True)

    keys = ["id", "time", "measure"]
    pd.testing.assert_frame_equal(canon(back.scores, keys), canon(again.scores, keys))
    pd.testing.assert_frame_equal(canon(back.clients, ["id"]), canon(again.clients, ["id"]))


@pytest.mark.parametrize(
    ("yaml_text", "argv", "needle"),
    [
        (None, ["--clients", "-3"], "--clients"),
        (None, ["--therapists", "0"], "--therapists"),
        ("measures:\n  gad7:\n    reliability: 1.5\n", [], "measures.gad7.reliability"),
        ("measures:\n  bogus:\n    reliability: 0.8\n", [], "unknown measure 'bogus'"),
    ],
)
def test_cli_bad_parameters_exit_2(tmp_path, capsys, yaml_text, argv, needle):
    args = ["--out", str(tmp_path / "o"), *argv]
    if yaml_text is not None:
        f = tmp_path / "bad.yaml"
        f.write_text(yaml_text)
        args += ["--params", str(f)]
    assert main(args) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o" / "scores.parquet").exists()


def test_cli_out_an_existing_file_exit_2(tmp_path, capsys):
    """Guards: --out naming an existing file ended in a FileExistsError traceback."""
    f = tmp_path / "taken.csv"
    f.write_text("keep me")
    assert main(["--clients", "10", "--out", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: output") and "is an existing file, not a folder" in err
    assert "Traceback" not in err and f.read_text() == "keep me"


def test_inputs_not_mutated():
    over = {"cohort": {"n_clients": 20}}
    simulate_cohort(over)
    assert over == {"cohort": {"n_clients": 20}}


@pytest.fixture(scope="module")
def big():
    print("seed 5, 4000 clients, 80 therapists")
    return simulate_cohort(n_clients=4000, seed=5, validate=False)


def _wide(cohort, measure):
    s = cohort.scores
    return s.loc[s["measure"] == measure].pivot(index="id", columns="time", values="score")


def test_alliance_rises_early_and_dropouts_have_lower_alliance(big):
    """Alliance grows over the first sessions (Lin, Kivlighan & Hill; Kivlighan & Shaughnessy
    2000) and low alliance predicts dropout (issue 4, item 2)."""
    wai = _wide(big, "wai_sr")
    # growth 0.45 SD x 8 points x sqrt(.9) x (1 - e^-1.5) = 2.6 points by session 4, less the
    # stationary rupture dip 0.1 x 1 / (1 - 0.35) = 0.15 SD = 1.2 points: about 1.4 points
    assert wai[4].mean() - wai[1].mean() > 0.8
    c = big.clients.set_index("id")
    early = wai[[1.0, 2.0]].mean(axis=1)
    by_reason = early.groupby(c["end_reason"]).mean()
    assert by_reason["dropout"] < by_reason["planned"] - 1.0


def test_functional_change_follows_symptoms_modestly(big):
    """WSAS change correlates modestly with PHQ-9 change (reference-values.md section 3: no
    confirmed value, sweep .3-.7; calibrated to about .33), far from 1 and clearly above 0."""
    s = big.scores
    ended = big.clients.loc[big.clients["n_sessions"] >= 4, "id"]
    d = s.loc[s["id"].isin(ended)]

    def change(m):
        w = d.loc[d["measure"] == m].sort_values("time").groupby("id")["score"]
        return w.first() - w.last()

    r = change("phq9").corr(change("wsas"))
    assert 0.22 < r < 0.5


def test_good_enough_level(big):
    """Planned endings come when clients have improved (Barkham et al. 2006): among planned
    endings the last PHQ-9 is lower than among dropouts, and those ending early are at least as
    often below caseness as those ending after 12 sessions."""
    c = big.clients.set_index("id")
    last = _wide(big, "phq9").ffill(axis=1).iloc[:, -1]
    ended = c["end_reason"].isin(["planned", "dropout"]) & (c["n_sessions"] >= 2)
    means = last[ended].groupby(c.loc[ended, "end_reason"]).mean()
    assert means["planned"] < means["dropout"] - 2
    planned = c["end_reason"] == "planned"
    short = (last[planned & (c["n_sessions"] <= 6)] < 10).mean()
    long = (last[planned & (c["n_sessions"] >= 12)] < 10).mean()
    assert short > long


# --------------------------------------------------------------------------------------------
# perspective coverage (issue 15, item 3) and the streaming writer (item 4)
# --------------------------------------------------------------------------------------------
def _perspective_measures() -> dict[int, set[str]]:
    """Measures (or client columns) behind each practitioner perspective of the default
    definitions file, read from the YAML directly (composites resolved through ``of``; the NHS
    rules use PHQ-9 and GAD-7; ``{measure}`` is the run's primary outcome, PHQ-9 here)."""
    from analysis.registry.paths import CONFIG_DIR

    defs = yaml.safe_load((CONFIG_DIR / "definitions.yaml").read_text("utf-8"))["definitions"]
    by_name = {d["name"]: d for d in defs}

    def measures(d: dict) -> set[str]:
        if d.get("rule") == "nhs":
            return {"phq9", "gad7"}
        if "of" in d:
            return set().union(*(measures(by_name[n]) for n in d["of"]))
        if d.get("rule") == "primary":
            return {f"column:{d['column']}"}
        m = d.get("measure", "")
        return {"phq9" if m == "{measure}" else m}

    out: dict[int, set[str]] = {}
    for d in defs:
        for p in d.get("perspectives", []):
            out.setdefault(int(p), set()).update(measures(d))
    return out


def _coverage(cohort) -> dict[int, int]:
    """Per perspective: the largest number of clients with a baseline and a later score on one
    of its measures (for a client-table column: clients with a value)."""
    s = cohort.scores.dropna(subset=["score"])
    paired = (s.groupby(["measure", "id"]).size() >= 2).groupby(level="measure").sum()
    out = {}
    for p, ms in _perspective_measures().items():
        n = [
            int(cohort.clients[m.split(":", 1)[1]].notna().sum())
            if m.startswith("column:")
            else int(paired.get(m, 0))
            for m in ms
        ]
        out[p] = max(n)
    return out


def test_every_perspective_has_data_in_the_default_cohort():
    """Each of the ten practitioner perspectives (../shared/docs/mission.md) has at least one
    measure with a baseline and a later score for more than 0 clients of the default cohort
    (2,000 clients, default seed), so that it can be computed in the default run."""
    from analysis.data.simulate import DEFAULT_SEED

    assert sorted(_perspective_measures()) == list(range(1, 11))
    c = simulate_cohort(seed=DEFAULT_SEED, validate=False)
    coverage = _coverage(c)
    print(coverage)
    assert all(v > 0 for v in coverage.values()), coverage
    # perspective 1 (Rathus Assertiveness Schedule) only in its subgroup of about 25 %
    ras_ids = set(c.scores.loc[c.scores["measure"] == "ras", "id"])
    flagged = set(c.clients.loc[c.clients["assertiveness"], "id"])
    assert ras_ids == flagged and 0.2 < len(flagged) / c.n_clients < 0.3


def test_coverage_check_fails_without_the_measure():
    """The coverage check can fail: with no assertiveness subgroup perspective 1 counts 0."""
    c = simulate_cohort({"subgroups": {"p_assertiveness": 0.0}}, n_clients=200, seed=SEED)
    cov = _coverage(c)
    assert cov[1] == 0 and cov[2] > 0


def test_stream_equals_in_memory_across_blocks(tmp_path, monkeypatch):
    """simulate_to_parquet writes the same cohort as simulate_cohort + write_cohort (blocks of
    64 clients here, so that three blocks are streamed), and is deterministic for a seed."""
    import analysis.data.simulate as sim

    monkeypatch.setattr(sim, "_BLOCK", 64)
    mem = sim.simulate_cohort(n_clients=150, n_therapists=7, seed=SEED)
    ref = write_cohort(mem, tmp_path / "ref")
    a = sim.simulate_to_parquet(tmp_path / "a", n_clients=150, n_therapists=7, seed=SEED)
    b = sim.simulate_to_parquet(tmp_path / "b", n_clients=150, n_therapists=7, seed=SEED)
    for name in ("scores.parquet", "clients.parquet", "cohort.json"):
        assert _sha(a / name) == _sha(b / name), name
    assert (a / "cohort.json").read_text() == (ref / "cohort.json").read_text()
    got, want = read_cohort(a), read_cohort(ref)
    pd.testing.assert_frame_equal(got.scores, want.scores)
    pd.testing.assert_frame_equal(got.clients, want.clients)
    assert got.clients["id"].is_unique and len(got.clients) == 150


def test_perspective_coverage_of_the_default_cohort_counts_by_hand():
    """Notebook 01's perspective table (issue 15 item 3) on the default simulated cohort: every
    one of the ten perspectives has evaluable clients, and perspective 1's count equals the
    clients evaluable under its definitions recounted from the outcomes table directly."""
    from analysis.compare.prevalence import perspective_coverage
    from analysis.data.simulate import load_default
    from analysis.outcomes.engine import score_definitions
    from analysis.registry.definitions import load_definitions

    cohort = load_default()
    defs = [dict(d) for d in load_definitions(None, measure="phq9")]
    out = score_definitions(cohort, defs, measure="phq9")
    cov = perspective_coverage(out, defs).set_index("perspective")
    assert (cov["clients_evaluable"] > 0).all(), cov
    p1 = [d["name"] for d in defs if 1 in (d.get("perspectives") or [])]
    sub = out.loc[out["definition"].isin(p1) & out["status"].isin(["met", "not_met"])]
    assert cov.loc[1, "clients_evaluable"] == sub["id"].nunique() > 0


def test_load_default_gives_the_same_rows_generated_or_cached(tmp_path, monkeypatch):
    """The first call (which generates and caches) returns the cohort every later call reads
    from the cache, row for row: before, the first call returned the simulator's order (client,
    session, measure order of SIMULATED_MEASURES) and later ones the store's sorted order."""
    from analysis.data.simulate import load_default
    from analysis.registry import paths

    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path)
    fresh = load_default(n_clients=12, seed=3)
    assert len(list((tmp_path / "simulated").iterdir())) == 1  # written to the cache
    cached = load_default(n_clients=12, seed=3)
    pd.testing.assert_frame_equal(fresh.scores, cached.scores)
    pd.testing.assert_frame_equal(fresh.clients, cached.clients)
