"""Hostile clinic exports (tester's pass, branch jbad): each input here was once read without a
word, relabelled, or crashed with an error naming no file or key. Every file is written here into
``tmp_path``; the expected counts are worked out in the comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data.readers import read_cohort_file
from analysis.registry import instruments


@pytest.fixture(autouse=True)
def _no_user_instruments(monkeypatch):
    monkeypatch.delenv(instruments.USER_INSTRUMENTS_ENV, raising=False)


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def _reasons(q) -> list[tuple[int, str]]:
    return sorted(zip(q.rows["row"].astype(int), q.rows["reason"], strict=True))


def test_excel_error_cell_is_quarantined_not_read_as_missing(tmp_path):
    """A score cell holding #DIV/0! (a failed formula) was read by pandas as NaN, i.e. as an
    empty cell = a missing assessment, so the record vanished from the account. It must be
    quarantined as non_numeric_score naming the Excel error code."""
    openpyxl = pytest.importorskip("openpyxl")
    f = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["id", "time", "measure", "score"])
    ws.append(["c1", 0, "phq9", 12])
    ws.append(["c1", 1, "phq9", "#DIV/0!"])  # openpyxl stores this text as an error cell
    ws.append(["c1", 2, "phq9", None])  # a truly empty cell: a missing assessment
    wb.save(f)
    assert ws["D3"].data_type == "e"
    cohort, q = read_cohort_file({"path": str(f)})
    # 3 records: line 2 kept, line 3 quarantined (error cell), line 4 kept as missing
    assert (q.rows_in, q.rows_kept, q.rows_quarantined) == (3, 2, 1)
    assert _reasons(q) == [(3, "non_numeric_score")]
    assert "#DIV/0!" in q.rows["detail"].iloc[0]
    assert np.isnan(cohort.scores.loc[4, "score"])


def test_infinite_week_is_an_invalid_time(tmp_path):
    """time_unit week has no whole-number check, so 'inf' was kept as week +inf."""
    f = _write(tmp_path / "w.csv", "id,time,measure,score\nc1,0,phq9,12\nc1,inf,phq9,10\n")
    cohort, q = read_cohort_file({"path": str(f), "time_unit": "week"})
    assert _reasons(q) == [(3, "invalid_time")]
    assert "not a finite number" in q.rows["detail"].iloc[0]
    assert cohort.scores["time"].tolist() == [0.0]


def test_constant_measure_does_not_relabel_a_measure_column(tmp_path):
    """measure: gad7 on a file whose own 'measure' column says phq9 relabelled every PHQ-9 score
    as GAD-7 without a word. It must stop, naming the line and the value."""
    f = _write(tmp_path / "m.csv", "id,time,measure,score\nc1,0,phq9,12\nc1,1,phq9,8\n")
    with pytest.raises(ValueError, match=r"m\.csv: .*measure: 'gad7'.*'phq9' at line/row 2"):
        read_cohort_file({"path": str(f), "measure": "gad7"})
    # the same code, or a measure_map onto it, is consistent and reads
    cohort, q = read_cohort_file({"path": str(f), "measure": "phq9"})
    assert q.account() == "rows in 2 = kept 2 + quarantined 0"
    with pytest.raises(ValueError, match="give one of them"):
        read_cohort_file({"path": str(f), "measure": "phq9", "columns": {"measure": "measure"}})


def test_na_values_add_to_the_defaults(tmp_path):
    """na_values: ['-99'] replaced the defaults, so an empty cell became 'score '' is not a
    number' (quarantined) although an empty cell marks a missing assessment."""
    f = _write(
        tmp_path / "na.csv",
        "id,time,measure,score\nc1,0,phq9,12\nc1,1,phq9,\nc1,2,phq9,-99\nc1,3,phq9,NA\n",
    )
    cohort, q = read_cohort_file({"path": str(f), "na_values": ["-99"]})
    # 4 records: 12 kept; empty, -99 and NA are missing assessments, kept as NaN
    assert q.account() == "rows in 4 = kept 4 + quarantined 0"
    assert cohort.scores["score"].isna().sum() == 3


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"columns": ["id", "time"]}, "spec key 'columns' must be a mapping"),
        ({"header_row": "two"}, "spec key 'header_row' must be a whole number"),
        ({"na_values": "-99"}, "spec key 'na_values' must be a list"),
        ({"clients": {"columns": {"arm": "measure"}, "recode": {"arm": ["a"]}}}, "recode.arm"),
        ({"date_format": "%Q"}, "spec key 'date_format' '%Q' is not a valid format"),
    ],
)
def test_spec_values_of_the_wrong_kind_name_the_key(tmp_path, extra, message):
    """These crashed with AttributeError / a bare 'invalid literal for int()' naming no key."""
    f = _write(tmp_path / "s.csv", "id,time,measure,score\nc1,0,phq9,12\n")
    with pytest.raises(ValueError, match=message) as err:
        read_cohort_file({"path": str(f), **extra})
    assert str(err.value).startswith(str(f))


def test_unknown_measure_in_disguise_gets_a_hint(tmp_path):
    """'PHQ-9' (the label clinics write) is phq9: say so, with the measure_map line to add."""
    f = _write(tmp_path / "u.csv", "id,time,measure,score\nc1,0,PHQ-9,12\nc1,1,xyz,8\n")
    _, q = read_cohort_file({"path": str(f)})
    detail = dict(zip(q.rows["row"], q.rows["detail"], strict=True))
    assert "add measure_map: {'PHQ-9': phq9}" in detail[2]
    assert "measure_map" not in detail[3]  # no guess for a code that resembles none


def test_excel_error_cell_keeps_pandas_frame_dtypes(tmp_path):
    """An Excel sheet without error cells reads exactly as before (no copy, no marker)."""
    pytest.importorskip("openpyxl")
    f = tmp_path / "ok.xlsx"
    pd.DataFrame({"id": ["c1"], "time": [0], "measure": ["phq9"], "score": [7]}).to_excel(
        f, index=False
    )
    cohort, q = read_cohort_file({"path": str(f)})
    assert q.account() == "rows in 1 = kept 1 + quarantined 0"
    assert cohort.scores["score"].tolist() == [7.0]


def test_yaml_not_utf8_names_file_line_and_byte(tmp_path):
    """A runs file saved as ANSI (cp1252) by Notepad, 'Müller' in a title, raised a bare
    'utf-8 codec can't decode byte 0xfc in position 32' naming no file."""
    from analysis.registry.config import ConfigError, load_yaml

    f = tmp_path / "runs.yaml"
    f.write_bytes("runs:\n  r1:\n    title: Praxis Müller\n".encode("cp1252"))
    # line 3 is '    title: Praxis M\xfcller': the 0xfc byte is the 20th on it
    with pytest.raises(ConfigError, match=r"runs\.yaml, line 3, byte 20 \(0xfc\): .*UTF-8"):
        load_yaml(f, what="runs file")


def test_validate_refuses_a_negative_max_show(tmp_path, capsys):
    """--max-show -1 printed all records but the last and said '... 4 more' of 3."""
    from analysis.run.validate import main_validate

    f = _write(tmp_path / "s.csv", "id,time,measure,score\nc1,0,phq9,99\n")
    with pytest.raises(SystemExit) as exc:
        main_validate([str(f), "--max-show", "-1"])
    assert exc.value.code == 2
    assert "--max-show must be 0 or more" in capsys.readouterr().err


def test_dates_against_the_session_order_are_noted(tmp_path):
    """Session 2 dated two months before session 1 was read without a word. Which of the two is
    wrong cannot be known, so both are kept and the account's notes say where (no client id)."""
    f = _write(
        tmp_path / "d.csv",
        "id,time,measure,score,date\n"
        "c1,1,phq9,12,2025-03-01\n"  # line 2
        "c1,2,phq9,10,2025-01-01\n"  # line 3: before session 1's date
        "c1,3,phq9,9,2025-03-08\n"  # line 4: after it, fine
        "c2,1,phq9,9,2025-01-01\n"  # another client's dates are not compared with c1's
        "c2,2,phq9,9,2025-01-01\n",  # same day as the session before: allowed
    )
    cohort, q = read_cohort_file({"path": str(f)})
    assert q.account() == "rows in 5 = kept 5 + quarantined 0"
    note = q.notes["dates_out_of_time_order"]
    assert note.startswith("1 record(s) dated before an earlier time point")
    assert "line/row 3 (time 2 dated 2025-01-01, an earlier time point 2025-03-01)" in note
    assert "c1" not in note
    ordered = _write(tmp_path / "ok.csv", "id,time,measure,score,date\nc1,1,phq9,1,2025-01-01\n")
    assert "dates_out_of_time_order" not in read_cohort_file({"path": str(ordered)})[1].notes


def test_excel_unicode_text_utf16_is_read(tmp_path):
    """Excel's 'Save as Unicode text' writes UTF-16 with a byte order mark, tab-separated; it was
    decoded as cp1252 into column names like 'ÿþi\\x00d\\x00'."""
    f = tmp_path / "export.txt"
    f.write_bytes(
        "id\ttime\tmeasure\tscore\r\nc1\t0\tphq9\t12\r\nc1\t1\tphq9\t8\r\n".encode("utf-16")
    )
    cohort, q = read_cohort_file({"path": str(f)})
    assert q.account() == "rows in 2 = kept 2 + quarantined 0"
    assert q.reading["encoding"].startswith("utf-16 (detected")
    assert q.reading["delimiter"].startswith("tab")
    assert cohort.scores["score"].tolist() == [12.0, 8.0]


def test_binary_file_named_csv_stops_naming_what_it_is(tmp_path):
    """An .xlsx renamed .csv was read as cp1252 garbage ('line 3 has 3 fields ... aòùÏ')."""
    pytest.importorskip("openpyxl")
    x = tmp_path / "real.xlsx"
    pd.DataFrame({"id": ["c1"], "time": [0], "measure": ["phq9"], "score": [7]}).to_excel(
        x, index=False
    )
    f = tmp_path / "export.csv"
    f.write_bytes(x.read_bytes())
    with pytest.raises(
        ValueError, match=r"export\.csv: not a text \(CSV\) file: .*ZIP.*format: excel"
    ):
        read_cohort_file({"path": str(f)})
    # and the advice works: format: excel reads it whatever its suffix
    assert read_cohort_file({"path": str(f), "format": "excel"})[1].rows_kept == 1
    g = tmp_path / "nobom.csv"
    g.write_bytes("id,time,measure,score\nc1,0,phq9,12\n".encode("utf-16-le"))
    with pytest.raises(ValueError, match=r"nobom\.csv: not a text \(CSV\) file: line 1 holds NUL"):
        read_cohort_file({"path": str(g)})


def test_schema_refuses_an_infinite_time():
    """validate_scores (the store's and the readers' safety net) let time = inf pass ge(0)."""
    from analysis.data.schema import validate_scores

    bad = pd.DataFrame(
        {"id": ["a", "a"], "time": [0.0, np.inf], "measure": ["phq9"] * 2, "score": [1.0, 2.0]}
    )
    with pytest.raises(ValueError, match=r"(?s)my\.csv: .*column 'time'.*finite"):
        validate_scores(bad, source="my.csv")
    assert len(validate_scores(bad.iloc[:1])) == 1


def test_dates_after_the_export_are_noted(tmp_path):
    """2205 typed for 2025 was kept without a word; an assessment cannot postdate the export
    that records it (its modification time), so the account notes it (kept, line, no id)."""
    import os

    f = _write(
        tmp_path / "d.csv",
        "id,time,measure,score,date\nc1,1,phq9,12,2025-03-01\nc1,2,phq9,10,2205-03-08\n",
    )
    written = pd.Timestamp("2025-06-30").timestamp()
    os.utime(f, (written, written))
    _, q = read_cohort_file({"path": str(f)})
    assert q.account() == "rows in 2 = kept 2 + quarantined 0"
    assert q.notes["dates_after_the_export"] == (
        "1 record(s) dated after the file was written (2025-06-30), first at line/row 3 "
        "(2205-03-08); kept: check the date"
    )


def test_unknown_client_that_lost_its_leading_zeros_gets_a_hint(tmp_path):
    """Scores say '001', the client file (saved from Excel) says 1: every record was quarantined
    as unknown_client with no hint why."""
    f = _write(tmp_path / "s.csv", "id,time,measure,score\n001,0,phq9,12\nc9,0,phq9,8\n")
    c = _write(tmp_path / "clients.csv", "id,arm\n1,CBT\nc1,WL\n")
    _, q = read_cohort_file({"path": str(f), "clients": {"path": str(c)}})
    detail = dict(zip(q.rows["row"], q.rows["detail"], strict=True))
    assert detail[2].startswith("client '001' is not in the client table (the client table has '1'")
    assert detail[3] == "client 'c9' is not in the client table"


def test_mean_of_beside_a_plain_score_column(tmp_path):
    """A plain score column beside a mean_of composite raised pandas' FutureWarning (an error
    under this suite's warning filter) on the composite's 'incomplete' flags. GAD-7 here is the
    mean of G1 and G2: (1 + 2) / 2 = 1.5 on line 2; both parts blank on line 3: missing."""
    f = _write(tmp_path / "mo.csv", "pid,t,P,G1,G2\nc1,0,3,1,2\nc1,1,4,,\n")
    spec = {
        "path": str(f),
        "columns": {"id": "pid", "time": "t"},
        "scores": {"phq9": "P", "gad7": {"mean_of": ["G1", "G2"]}},
    }
    cohort, q = read_cohort_file(spec)
    assert q.account() == "rows in 4 = kept 4 + quarantined 0"
    gad = cohort.scores[cohort.scores["measure"].eq("gad7")]["score"].tolist()
    assert gad[0] == 1.5 and np.isnan(gad[1])
    assert q.notes == {"gad7_missing_too_few_parts_present": 0}
