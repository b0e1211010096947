"""Readers that never lose a row: the bad-input corpus, binary formats, writers and guards.

Expected values are worked out by hand from the files in tests/data/bad_inputs (see its README):
each bad line's number (header = line 1), its reason and the account rows in = kept + quarantined.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data.quarantine import REASONS
from analysis.data.readers import read_cohort_file
from analysis.data.store import read_cohort, write_cohort, write_table_csv
from analysis.run.validate import main_validate

HERE = Path(__file__).resolve().parent
BAD = HERE / "data" / "bad_inputs"
SRC = HERE.parent / "src"
CLAUS = "real/clinicalsignificance_claus2020_jacobson1989"  # under ANALYSIS_VALIDATION_DATA


def _read(file, **spec):
    return read_cohort_file({"path": str(BAD / file), **spec})


def _reasons(q):
    return list(zip(q.rows["row"].tolist(), q.rows["reason"].tolist(), strict=True))


def _account(q, n_in, kept):
    assert (q.rows_in, q.rows_kept, q.rows_quarantined) == (n_in, kept, n_in - kept)
    assert q.balanced
    s = q.summary()
    assert s["rows_in"] == s["rows_kept"] + s["rows_quarantined"]


# --------------------------------------------------------------------------------- corpus


def test_out_of_range():
    cohort, q = _read("out_of_range.csv")
    _account(q, 4, 2)
    assert _reasons(q) == [(3, "out_of_range"), (5, "out_of_range")]
    assert q.rows["detail"].iloc[0] == "score 30 outside the phq9 range 0-27"
    assert cohort.scores["score"].tolist() == [14.0, 9.0]
    assert cohort.scores.index.tolist() == [2, 4]  # row label = line in the file


def test_unknown_measure():
    _, q = _read("unknown_measure.csv")
    _account(q, 3, 2)
    assert _reasons(q) == [(3, "unknown_measure")]
    assert "'PHQ-9' is not a registry code" in q.rows["detail"].iloc[0]
    # a newcomer whose measure is their own (the README's BAI) learns where to add it
    assert "under 'instruments:' in the spec or runs file" in q.rows["detail"].iloc[0]
    # recoded to phq9, the line conflicts with line 2 (14 vs 12 at session 0): both set aside
    _, q2 = _read("unknown_measure.csv", measure_map={"PHQ-9": "phq9"})
    assert _reasons(q2) == [(2, "duplicate"), (3, "duplicate")]


def test_duplicate():
    """c1 session 1 has 11 and 12 (conflict: neither kept); c2 session 0 is repeated exactly."""
    cohort, q = _read("duplicate.csv")
    _account(q, 6, 3)
    assert _reasons(q) == [(3, "duplicate"), (4, "duplicate"), (6, "duplicate")]
    assert "rows 3, 4; none kept" in q.rows["detail"].iloc[0]
    assert "exact repeat of the record at row 5" in q.rows["detail"].iloc[2]
    assert cohort.scores.index.tolist() == [2, 5, 7]


def test_unparseable_date():
    cohort, q = _read("unparseable_date.csv")
    _account(q, 4, 2)
    assert _reasons(q) == [(3, "unparseable_date"), (4, "unparseable_date")]
    assert q.rows["value"].tolist() == ["11", "9"]
    assert cohort.scores["date"].isna().tolist() == [False, True]  # a blank date is not an error


def test_negative_session():
    _, q = _read("negative_session.csv")
    _account(q, 3, 2)
    assert _reasons(q) == [(3, "invalid_time")]
    assert q.rows["detail"].iloc[0] == "session number -1 is negative"


def test_fractional_session():
    _, q = _read("fractional_session.csv")
    _account(q, 4, 2)
    assert _reasons(q) == [(3, "invalid_time"), (5, "invalid_time")]
    assert q.rows["detail"].tolist() == [
        "session number 1.5 is not a whole number",
        "time 'two' is not a number",
    ]
    # in weeks a fractional time is fine; only the text is rejected
    _, qw = _read("fractional_session.csv", time_unit="week")
    assert _reasons(qw) == [(5, "invalid_time")]


def test_wide_unmapped_column():
    """3 lines x (4 mapped + 1 unmapped) = 15 records; GAD-7 40 is out of range; blanks kept."""
    spec = {
        "layout": "wide",
        "columns": {"id": "client"},
        "wide": {"pattern": r"(?P<measure>phq9|gad7)_s(?P<time>\d+)"},
    }
    cohort, q = _read("wide_unmapped.csv", **spec)
    _account(q, 15, 11)
    assert q.lines_in == 3
    counts = q.summary()["reasons"]
    assert counts == {"unmapped_column": 3, "out_of_range": 1}
    assert set(q.rows.loc[q.rows["reason"].eq("unmapped_column"), "column"]) == {"therapist_note"}
    assert q.rows.loc[q.rows["reason"].eq("out_of_range"), "row"].tolist() == [4]
    s = cohort.scores
    assert s["score"].isna().sum() == 2  # c2's blank follow-ups: explicitly missing, kept
    assert s.loc[(s["id"] == "c1") & (s["measure"] == "phq9"), "score"].tolist() == [15.0, 9.0]
    # declared as ignorable, the note column is no longer a problem
    _, q2 = _read("wide_unmapped.csv", ignore=["therapist_note"], **spec)
    _account(q2, 12, 11)


def test_wide_explicit_mapping_with_time_labels(tmp_path):
    f = tmp_path / "btheb_like.csv"
    f.write_text("id,arm,bdi.pre,bdi.2m\n1,TAU,29,2\n2,BtheB,32,16\n", encoding="utf-8")
    spec = {
        "path": str(f),
        "layout": "wide",
        "wide": {"pattern": r"(?P<measure>bdi)\.(?P<time>\w+)"},
        "measure_map": {"bdi": "bdi2"},
        "time_map": {"pre": 0, "2m": 2},
        "time_unit": "month",
        "clients": {"columns": {"arm": "arm"}},
    }
    cohort, q = read_cohort_file(spec)
    _account(q, 4, 4)
    assert cohort.scores["time"].tolist() == [0.0, 2.0, 0.0, 2.0]
    assert cohort.clients.set_index("id")["arm"].to_dict() == {"1": "TAU", "2": "BtheB"}
    assert cohort.time_unit == "month"


# ------------------------------------------------------------------------- binary formats


@pytest.fixture
def spss_file(tmp_path):
    """Long SPSS file: measure and arm coded with value labels; 99 labelled 'refused'."""
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame(
        {
            "client": ["a", "a", "b", "b"],
            "session": [0.0, 1.0, 0.0, 1.0],
            "questionnaire": [1.0, 1.0, 2.0, 2.0],
            "total": [14.0, 99.0, 12.0, 8.0],
            "group": [1.0, 1.0, 2.0, 2.0],
        }
    )
    path = tmp_path / "labels.sav"
    pyreadstat.write_sav(
        df,
        str(path),
        variable_value_labels={
            "questionnaire": {1.0: "phq9", 2.0: "gad7"},
            "group": {1.0: "CBT", 2.0: "TAU"},
            "total": {99.0: "refused"},
        },
    )
    return path


def test_spss_value_labels(spss_file):
    spec = {
        "path": str(spss_file),
        "columns": {
            "id": "client",
            "time": "session",
            "measure": "questionnaire",
            "score": "total",
        },
        "clients": {"columns": {"arm": "group"}},
    }
    cohort, q = read_cohort_file(spec)
    _account(q, 4, 3)
    assert _reasons(q) == [(2, "out_of_range")]  # record 2 (no lines in a .sav)
    assert (
        q.rows["detail"].iloc[0] == "score 99 (value label 'refused') outside the phq9 range 0-27"
    )
    assert sorted(cohort.measures) == ["gad7", "phq9"]
    assert cohort.clients.set_index("id")["arm"].to_dict() == {"a": "CBT", "b": "TAU"}


def test_stata_and_parquet(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["a", "a", "b"],
            "time": [0.0, 1.0, -2.0],
            "measure": ["gad7"] * 3,
            "score": [9.0, 5, 7],
        }
    )
    df.to_stata(tmp_path / "x.dta", write_index=False)
    df.to_parquet(tmp_path / "x.parquet")
    for name in ("x.dta", "x.parquet"):
        cohort, q = read_cohort_file({"path": str(tmp_path / name)})
        _account(q, 3, 2)
        assert _reasons(q) == [(3, "invalid_time")]
        assert cohort.scores["score"].tolist() == [9.0, 5.0]


def test_excel_header_row_offset(tmp_path):
    """Two title lines and a blank row above the header (sheet row 4); data from sheet row 5."""
    pytest.importorskip("openpyxl")
    path = tmp_path / "clinic.xlsx"
    body = pd.DataFrame(
        {
            "Client": ["a", "a", "b", "b"],
            "Session": [1, 2, 1, 2],
            "PHQ9": [16, 12, 40, 7],
            "GAD7": [11, 8, 10, "refused"],
        }
    )
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        pd.DataFrame([["Clinic export 2024"], ["generated by system X"]]).to_excel(
            xw, sheet_name="scores", index=False, header=False
        )
        body.to_excel(xw, sheet_name="scores", index=False, startrow=3)
    spec = {
        "path": str(path),
        "sheet": "scores",
        "header_row": 4,
        "columns": {"id": "Client", "time": "Session"},
        "scores": {"phq9": "PHQ9", "gad7": "GAD7"},
    }
    cohort, q = read_cohort_file(spec)
    _account(q, 8, 6)
    assert _reasons(q) == [(7, "out_of_range"), (8, "non_numeric_score")]
    assert q.rows["column"].tolist() == ["PHQ9", "GAD7"]
    assert cohort.scores.loc[5].set_index("measure")["score"].to_dict() == {"gad7": 11, "phq9": 16}


def test_items_scored_in_reader(tmp_path):
    """A long file of PHQ-9 items: blanks prorated, out-of-range item quarantined."""
    items = [f"q{i}" for i in range(1, 10)]
    f = tmp_path / "items.csv"
    rows = [
        "a,0," + ",".join(["2"] * 9),  # 18
        "a,1," + ",".join(["1"] * 7 + ["0", ""]),  # 7 * 9 / 8 = 7.875 -> 8
        "b,0," + ",".join(["3"] * 6 + ["", "", ""]),  # 3 blank: NaN (kept)
        "b,1," + ",".join(["4"] + ["0"] * 8),  # item 4 > 3: quarantined
    ]
    f.write_text("id,session," + ",".join(items) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    spec = {"path": str(f), "columns": {"time": "session"}, "items": {"phq9": items}}
    cohort, q = read_cohort_file(spec)
    _account(q, 4, 3)
    assert _reasons(q) == [(5, "invalid_items")]
    assert q.rows["detail"].iloc[0] == "q1=4 outside 0-3 (whole points)"
    sc = cohort.scores["score"].tolist()
    assert sc[:2] == [18.0, 8.0] and np.isnan(sc[2])
    assert q.notes == {"phq9_prorated": 1, "phq9_too_many_missing_items": 1}


def test_client_table_and_unknown_client(tmp_path):
    (tmp_path / "clients.csv").write_text("cid,th,end\nc1,T1,planned\n", encoding="utf-8")
    spec = {
        "path": str(BAD / "negative_session.csv"),
        "clients": {
            "path": str(tmp_path / "clients.csv"),
            "id": "cid",
            "columns": {"therapist": "th", "end_reason": "end"},
        },
    }
    cohort, q = read_cohort_file(spec)
    assert cohort.clients.to_dict("records") == [
        {"id": "c1", "therapist": "T1", "end_reason": "planned"}
    ]
    (tmp_path / "clients.csv").write_text("cid,th,end\nc9,T1,planned\n", encoding="utf-8")
    _, q = read_cohort_file(spec)
    assert set(q.rows["reason"]) == {"unknown_client", "invalid_time"}
    assert q.rows_kept == 0


def test_relative_path_resolves_against_project_root(monkeypatch, tmp_path):
    monkeypatch.setenv("ANALYSIS_PROJECT_ROOT", str(HERE.parent))
    monkeypatch.chdir(tmp_path)
    _, q = read_cohort_file({"path": "tests/data/bad_inputs/negative_session.csv"})
    assert q.source == str(BAD / "negative_session.csv")


def test_unreadable_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_cohort_file({"path": str(tmp_path / "nope.csv")})
    with pytest.raises(ValueError, match="unknown spec key"):
        read_cohort_file({"path": str(BAD / "mixed.csv"), "colums": {}})
    with pytest.raises(ValueError, match=r"column\(s\) \['visit'\] named in the spec"):
        read_cohort_file({"path": str(BAD / "mixed.csv"), "columns": {"time": "visit"}})
    with pytest.raises(ValueError, match="cannot infer the format"):
        read_cohort_file({"path": str(HERE / "data" / "bad_inputs" / "README.md")})


def test_missing_default_columns_are_not_said_to_be_named_in_a_spec(tmp_path):
    """Without a spec the reader looks for its default column names; the message says so (a
    newcomer was told of columns 'named in the spec' when they had given no spec), and the
    command line names the file once, not twice."""
    f = tmp_path / "export.csv"
    f.write_text("client,visit,phq\n1,0,10\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"expected by default \(no 'columns:' mapping given\)"):
        read_cohort_file({"path": str(f)})
    cp = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(f)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
    )
    assert cp.returncode == 2
    first = cp.stderr.splitlines()[0]
    assert first.count(str(f)) == 1, first


def test_output_piped_into_head_is_not_a_traceback():
    """``python -m analysis ... | head -1``: the reader closes the pipe early; the command stops
    quietly instead of printing a BrokenPipeError traceback."""
    cmd = f"'{sys.executable}' -m analysis --help | head -1"
    cp = subprocess.run(
        ["bash", "-c", cmd + "; exit ${PIPESTATUS[0]}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
    )
    assert cp.stdout.startswith("usage: python -m analysis")
    assert "Traceback" not in cp.stderr, cp.stderr


# ----------------------------------------------------------------------------- real data


def test_claus_2020_wide_totals_match_tidy(validation_file):
    """Claus et al. (2020) raw items (wide): BDI-II and HAMD-17 totals at 4 time points through
    the reader equal the tidy claus_2020.csv of the R package clinicalsignificance (Claus, Wager &
    Bonnet 2024, J Stat Softw 111(1)); 43 patients x 4 times x 2 measures = 344 records, none
    quarantined.
    """
    raw = validation_file(f"{CLAUS}/claus_2020_raw_items.csv")
    spec = {
        "path": str(raw),
        "layout": "wide",
        "wide": {"pattern": r"(?P<measure>BDI|HAMD)(?P<time>[1-4])\.total"},
        "measure_map": {"BDI": "bdi2", "HAMD": "hamd17"},
        "ignore_pattern": r"^(?!(BDI|HAMD)[1-4]\.total$)",
        "clients": {
            "columns": {"arm": "treatment", "age": "age"},
            "recode": {"arm": {0: "TAU", 1: "PA"}},
        },
    }
    cohort, q = read_cohort_file(spec)
    _account(q, 344, 344)
    tidy = pd.read_csv(validation_file(f"{CLAUS}/claus_2020.csv"))
    exp = tidy.melt(id_vars=["id", "time"], value_vars=["bdi", "hamd"], var_name="measure")
    exp["measure"] = exp["measure"].map({"bdi": "bdi2", "hamd": "hamd17"})
    exp["id"] = exp["id"].astype(str)
    got = cohort.scores.merge(exp, on=["id", "time", "measure"], how="outer", validate="1:1")
    assert len(got) == 344
    np.testing.assert_array_equal(got["score"].to_numpy(), got["value"].to_numpy())
    assert cohort.scores["score"].isna().sum() == 9 + 8  # missing bdi 9, hamd 8 (README)
    assert cohort.clients["arm"].value_counts().to_dict() == {"PA": 23, "TAU": 20}


# ------------------------------------------------------------------------------- writers


def test_write_read_cohort_deterministic(tmp_path):
    cohort, _ = _read("duplicate.csv", name="dup", description="test")
    write_cohort(cohort, tmp_path / "a")
    write_cohort(cohort, tmp_path / "b")
    for f in ("scores.parquet", "clients.parquet", "cohort.json"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    back = read_cohort(tmp_path / "a")
    pd.testing.assert_frame_equal(
        back.scores.reset_index(drop=True), cohort.scores.reset_index(drop=True)
    )
    assert (back.name, back.description) == ("dup", "test")
    assert back.meta["quarantine"]["rows_quarantined"] == 3


def test_write_table_csv_deterministic(tmp_path):
    df = pd.DataFrame({"id": ["b", "a", "a"], "time": [1, 2, 1], "x": [1 / 3, np.nan, 2.0]})
    before = df.copy()
    p = write_table_csv(df, tmp_path / "t.csv")
    write_table_csv(df.sample(frac=1, random_state=1), tmp_path / "u.csv")
    assert p.read_bytes() == (tmp_path / "u.csv").read_bytes()
    assert p.read_text() == "id,time,x\na,1,2.000000\na,2,\nb,1,0.333333\n"
    pd.testing.assert_frame_equal(df, before)


# ------------------------------------------------------------------------------- command


def test_main_validate_in_process(capsys, tmp_path):
    out_csv = tmp_path / "q.csv"
    rc = main_validate([str(BAD / "mixed.csv"), "--quarantine-out", str(out_csv)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "rows in 10 = kept 3 + quarantined 7" in out
    assert "  duplicate               2" in out
    for reason in (
        "out_of_range",
        "unparseable_date",
        "invalid_time",
        "unknown_measure",
        "non_numeric_score",
    ):
        assert f"  {reason:<18}      1  {REASONS[reason]}" in out
    assert "session number 1.5 is not a whole number" in out
    q = pd.read_csv(out_csv)
    assert q["row"].tolist() == [4, 6, 7, 8, 9, 10, 11]


def test_main_validate_unreadable(capsys, tmp_path):
    rc = main_validate([str(tmp_path / "missing.csv")])
    assert rc == 2
    assert "cannot read" in capsys.readouterr().err
    spec = tmp_path / "spec.yaml"
    spec.write_text("columns: {score: total}\n", encoding="utf-8")
    rc = main_validate([str(BAD / "mixed.csv"), "--spec", str(spec)])
    err = capsys.readouterr().err
    assert rc == 2 and "['total']" in err and "mixed.csv" in err


def test_validate_subprocess():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    res = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(BAD / "mixed.csv")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "rows in 10 = kept 3 + quarantined 7" in res.stdout


def test_spec_and_inputs_not_mutated():
    spec = {"path": str(BAD / "wide_unmapped.csv"), "layout": "wide", "columns": {"id": "client"}}
    spec["wide"] = {"pattern": r"(?P<measure>phq9|gad7)_s(?P<time>\d+)"}
    before = repr(spec)
    cohort, _ = read_cohort_file(spec)
    assert repr(spec) == before
    assert cohort.meta["sha256"] and cohort.meta["quarantine"]["rows_in"] == 15


def test_client_file_keeps_unmapped_columns(tmp_path):
    """A client file with the data model's own column names needs no mapping: every column is
    kept (a fresh-clone user lost arm and therapist this way)."""
    (tmp_path / "s.csv").write_text("id,time,measure,score\na,1,phq9,12\na,2,phq9,8\nb,1,phq9,15\n")
    (tmp_path / "c.csv").write_text("id,arm,therapist,site\na,CBT,t1,north\nb,TAU,t2,south\n")
    cohort, q = read_cohort_file(
        {
            "path": str(tmp_path / "s.csv"),
            "clients": {"path": str(tmp_path / "c.csv"), "columns": {"site": "site"}},
        }
    )
    got = cohort.clients.set_index("id")
    assert got.loc["a", "arm"] == "CBT" and got.loc["b", "therapist"] == "t2"
    assert got.loc["b", "site"] == "south" and q.rows_quarantined == 0


def test_duplicate_client_names_the_client_file_and_its_lines(tmp_path):
    """A client listed twice in a separate client file: the error names that file and its lines
    (header = line 1), not the scores file."""
    (tmp_path / "s.csv").write_text("id,time,measure,score\na,1,phq9,12\nb,1,phq9,15\n")
    (tmp_path / "c.csv").write_text("id,arm\na,CBT\nb,TAU\na,TAU\n")
    with pytest.raises(ValueError) as exc:
        read_cohort_file(
            {"path": str(tmp_path / "s.csv"), "clients": {"path": str(tmp_path / "c.csv")}}
        )
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "c.csv"))
    assert "\n  2  a  CBT" in msg and "\n  4  a  TAU" in msg
