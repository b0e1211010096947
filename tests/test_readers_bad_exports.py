"""Clinic exports as they come (issue 19, item 1): each kind of bad export is read faithfully or
stops with a message naming the file, the line and the value. Every file is generated here into
``tmp_path`` (bytes written explicitly, so the encoding and line structure are exactly the case
being tested); nothing binary is committed.

Row numbers are PHYSICAL lines of the file (the header is line 1).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.data import items as items_mod
from analysis.data.quarantine import REASONS
from analysis.data.readers import read_cohort_file, read_table
from analysis.registry import instruments
from analysis.run import pipeline
from analysis.run import runs as run_config
from analysis.run.validate import main_validate

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_user_instruments(monkeypatch):
    """Every test starts from the package registry alone (no instruments activated before)."""
    monkeypatch.delenv(instruments.USER_INSTRUMENTS_ENV, raising=False)


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def _reasons(q) -> list[tuple[int, str]]:
    return sorted(zip(q.rows["row"].astype(int), q.rows["reason"], strict=True))


# --- encodings --------------------------------------------------------------------------------


def test_cp1252_file_with_umlauts_is_detected_and_said(tmp_path):
    """An Excel 'CSV (Trennzeichen-getrennt)' export: cp1252 bytes (ü = 0xfc, ß = 0xdf), which are
    not valid UTF-8. Read as cp1252, ids intact, and the row account says so."""
    f = _write(
        tmp_path / "praxis.csv",
        "id,time,measure,score\nMüller,1,phq9,14\nMüller,2,phq9,9\nStraße,1,phq9,30\n",
        "cp1252",
    )
    cohort, q = read_cohort_file({"path": str(f)})
    # 3 records: Müller x 2 kept, Straße PHQ-9 30 > 27 quarantined at line 4
    assert (q.rows_in, q.rows_kept, q.rows_quarantined) == (3, 2, 1)
    assert _reasons(q) == [(4, "out_of_range")]
    assert q.rows["id"].tolist() == ["Straße"]
    assert sorted(cohort.clients["id"]) == ["Müller"]
    # the first non-UTF-8 byte is the ü of line 2, byte 2 ("M" is byte 1)
    assert q.reading["encoding"] == "cp1252 (detected: not valid UTF-8 at line 2, byte 2 (0xfc))"
    assert q.summary()["reading"]["encoding"].startswith("cp1252")


def test_mixed_encoding_stops_naming_line_and_byte(tmp_path):
    """A UTF-8 export with one Latin-1 line appended: reading it all as cp1252 would turn every
    earlier 'Bärtschi' into 'BÃ¤rtschi', so it stops. Lines 2-3 hold 'ä' as UTF-8 (0xc3 0xa4);
    line 4 'Jürg' has ü as Latin-1 0xfc at byte 2 ('J' is byte 1)."""
    text = b"id,time,measure,score\n" + "Bärtschi,1,phq9,14\nBärtschi,2,phq9,9\n".encode()
    f = tmp_path / "mixed.csv"
    f.write_bytes(text + "Jürg,1,phq9,4\n".encode("latin-1"))
    with pytest.raises(ValueError) as exc:
        read_cohort_file({"path": str(f)})
    msg = str(exc.value)
    assert msg.startswith(str(f))
    assert "line 4, byte 2 (0xfc) is not valid UTF-8" in msg
    assert "mixes encodings" in msg and "first at line 2" in msg
    assert "Re-save the whole file as UTF-8" in msg and "encoding:" in msg
    # the user's stated encoding is obeyed (the reader does not second-guess a given encoding)
    _, q = read_cohort_file({"path": str(f), "encoding": "cp1252"})
    assert q.rows_kept == 3 and q.reading["encoding"] == "cp1252 (given)"
    # all-ASCII before the bad line: a cp1252 file whose first umlaut comes late is still detected
    g = _write(
        tmp_path / "late.csv", "id,time,measure,score\na,1,phq9,3\nJürg,1,phq9,4\n", "cp1252"
    )
    _, q = read_cohort_file({"path": str(g)})
    assert q.rows_kept == 2
    assert q.reading["encoding"] == "cp1252 (detected: not valid UTF-8 at line 3, byte 2 (0xfc))"


def test_encoding_given_wrongly_names_line_and_byte(tmp_path):
    f = _write(tmp_path / "x.csv", "id,time,measure,score\na,1,phq9,3\nJürg,1,phq9,4\n", "cp1252")
    with pytest.raises(ValueError) as exc:
        read_cohort_file({"path": str(f), "encoding": "utf-8"})
    msg = str(exc.value)
    assert msg.startswith(str(f)) and "line 3, byte 2 (0xfc) is not valid utf-8" in msg
    # given correctly, it reads; an unknown encoding name is refused
    _, q = read_cohort_file({"path": str(f), "encoding": "cp1252"})
    assert q.rows_kept == 2 and q.reading["encoding"] == "cp1252 (given)"
    with pytest.raises(ValueError, match="encoding must be one of"):
        read_cohort_file({"path": str(f), "encoding": "ebcdic"})


def test_utf8_with_byte_order_mark(tmp_path):
    f = _write(tmp_path / "x.csv", "\ufeffid,time,measure,score\na,1,phq9,3\n")
    cohort, q = read_cohort_file({"path": str(f)})
    assert q.rows_kept == 1 and q.reading["encoding"] == "utf-8-sig (detected (byte order mark))"


# --- delimiter and decimal comma --------------------------------------------------------------


# CORE-OM clinical scores (0-40, mean item score x 10: fractional by design, registry
# integer: false), so the decimals are legitimate values
EURO = (
    "Klient;Sitzung;Fragebogen;Wert\n"
    "A;1;core_om;12,5\nA;2;core_om;7\nB;1;core_om;40,5\nB;2;core_om;3.5\n"
)


def test_semicolon_and_decimal_comma_sniffed(tmp_path):
    """The European Excel default: ';' between fields, ',' as the decimal mark. Sniffed without a
    spec; with no 'decimal' given both 12,5 and 3.5 are read (the account says so)."""
    f = _write(tmp_path / "euro.csv", EURO, "cp1252")
    spec = {
        "path": str(f),
        "columns": {"id": "Klient", "time": "Sitzung", "measure": "Fragebogen", "score": "Wert"},
    }
    cohort, q = read_cohort_file(spec)
    # 4 records; B at session 1 scores 40.5 > 40: out of range at line 4
    assert (q.rows_in, q.rows_kept) == (4, 3) and _reasons(q) == [(4, "out_of_range")]
    assert cohort.scores["score"].tolist() == [12.5, 7.0, 3.5]
    assert q.reading["delimiter"] == "';' (semicolon) (sniffed)"
    assert q.reading["decimal"].startswith("',' or '.'")


def test_decimal_comma_given_is_strict(tmp_path):
    f = _write(tmp_path / "euro.csv", EURO)
    spec = {
        "path": str(f),
        "sep": ";",
        "decimal": ",",
        "columns": {"id": "Klient", "time": "Sitzung", "measure": "Fragebogen", "score": "Wert"},
    }
    cohort, q = read_cohort_file(spec)
    # 3.5 at line 5 is not a number when the decimal mark is ','; 40,5 at line 4 out of range
    assert _reasons(q) == [(4, "out_of_range"), (5, "non_numeric_score")]
    detail = q.rows.set_index("row").loc[5, "detail"]
    assert detail == "score '3.5' is not a number (decimal is ',' in the spec)"
    assert cohort.scores["score"].tolist() == [12.5, 7.0]
    assert q.reading["delimiter"] == "';' (semicolon) (given)"


def test_decimal_comma_in_comma_file_gets_a_hint(tmp_path):
    f = _write(tmp_path / "x.csv", 'id,time,measure,score\na,1,phq9,"12,5"\n')
    _, q = read_cohort_file({"path": str(f)})
    assert _reasons(q) == [(2, "non_numeric_score")]
    assert q.rows["detail"].iloc[0] == (
        "score '12,5' is not a number (a decimal comma? set decimal: ',' in the spec)"
    )


def test_wrong_field_count_names_line_and_delimiter(tmp_path):
    f = _write(tmp_path / "x.csv", "id;time;measure;score\na;1;phq9;3\nb;1;phq9;4;extra\n")
    with pytest.raises(ValueError) as exc:
        read_cohort_file({"path": str(f)})
    msg = str(exc.value)
    assert msg.startswith(str(f))
    assert "line 3 has 5 fields but the header (line 1) has 4" in msg
    assert "delimiter ';' (semicolon), guessed from the header line" in msg  # sniffer gave up
    assert "'extra' in field 5" in msg


def test_unclosed_quote_names_the_line(tmp_path):
    f = _write(tmp_path / "x.csv", 'id,time,measure,score\na,1,phq9,3\nb,1,"phq9,4\n')
    with pytest.raises(ValueError, match=r"x\.csv: line \d+: cannot be parsed .*unclosed quote"):
        read_cohort_file({"path": str(f)})


# --- duplicate headers ------------------------------------------------------------------------


def test_duplicate_column_names_stop_naming_them(tmp_path):
    """pandas would silently rename the second 'score' to 'score.1' and ignore it."""
    f = _write(tmp_path / "x.csv", "id,time,measure,score,score\na,1,phq9,3,5\n")
    with pytest.raises(ValueError) as exc:
        read_cohort_file({"path": str(f)})
    msg = str(exc.value)
    assert msg.startswith(str(f))
    assert "duplicate column name(s) in the header (line 1): 'score' in columns 4 (D), 5 (E)" in msg


def test_duplicate_column_names_in_excel_second_header_row(tmp_path):
    """A two-row Excel header read from its second row: 'pre' under both PHQ-9 and GAD-7."""
    f = tmp_path / "wide.xlsx"
    rows = [
        ["", "PHQ-9", "", "GAD-7", ""],
        ["id", "pre", "post", "pre", "post"],
        ["a", 12, 8, 9, 5],
    ]
    pd.DataFrame(rows).to_excel(f, header=False, index=False)
    with pytest.raises(ValueError) as exc:
        read_table(f, header_row=2)
    msg = str(exc.value)
    assert "(sheet row 2): 'pre' in columns 2 (B), 4 (D); 'post' in columns 3 (C), 5 (E)" in msg


# --- physical line numbers --------------------------------------------------------------------


def test_quoted_line_break_counts_as_a_line(tmp_path):
    """An Excel note typed with Alt+Enter spans lines 2-3 (a quoted line break); the record after
    it starts on line 4 and the out-of-range one on line 5, as a text editor shows them."""
    text = (
        "id,time,measure,score,note\n"
        'a,1,phq9,12,"first line\nsecond line"\n'
        "a,2,phq9,8,\n"
        "b,1,phq9,31,typo\n"
    )
    f = _write(tmp_path / "x.csv", text)
    data, rows, _ = read_table(f)
    assert rows.tolist() == [2, 4, 5] and data.loc[0, "note"] == "first line\nsecond line"
    _, q = read_cohort_file({"path": str(f)})
    assert _reasons(q) == [(5, "out_of_range")]
    out = q.to_csv(tmp_path / "quarantine.csv")
    assert pd.read_csv(out)["row"].tolist() == [5]


def test_quoted_line_break_in_error_line_numbers(tmp_path):
    text = 'id,time,measure,score,note\na,1,phq9,12,"x\ny\nz"\na,2,phq9,8,,oops\n'
    f = _write(tmp_path / "x.csv", text)
    with pytest.raises(ValueError, match="line 5 has 6 fields"):
        read_cohort_file({"path": str(f)})


# --- client data: conflicts and recode maps ---------------------------------------------------


CONFLICT = (
    "client,session,arm,score\n"
    "c1,1,CBT,20\n"
    "c1,2,TAU,15\n"  # c1's arm differs from line 2
    "c2,1,CBT,18\n"
    "c2,2,CBT,12\n"
)


def _conflict_spec(f: Path, **clients) -> dict:
    return {
        "path": str(f),
        "measure": "phq9",
        "columns": {"id": "client", "time": "session", "score": "score"},
        "clients": {"columns": {"arm": "arm"}, **clients},
    }


def test_conflicting_arms_stop_naming_client_and_lines(tmp_path):
    """Before: c1 silently got the first row's arm (CBT)."""
    f = _write(tmp_path / "x.csv", CONFLICT)
    with pytest.raises(ValueError) as exc:
        read_cohort_file(_conflict_spec(f))
    msg = str(exc.value)
    assert msg.startswith(str(f)) and "client data of 1 client(s) conflict" in msg
    assert (
        "client 'c1': arm (column 'arm') differs between rows: 'CBT' at line 2, 'TAU' at line 3"
        in msg
    )
    assert "c2" not in msg and "on_conflict: quarantine" in msg


def test_conflicting_arms_quarantined_when_asked(tmp_path):
    f = _write(tmp_path / "x.csv", CONFLICT)
    cohort, q = read_cohort_file(_conflict_spec(f, on_conflict="quarantine"))
    # 4 records: c1's two (lines 2, 3) set aside with the reason, c2's two kept
    assert (q.rows_in, q.rows_kept, q.rows_quarantined) == (4, 2, 2)
    assert _reasons(q) == [(2, "invalid_client_data"), (3, "invalid_client_data")]
    assert set(q.rows["column"]) == {"client"}
    assert q.rows["detail"].iloc[0] == (
        "arm (column 'arm') differs between rows: 'CBT' at line 2, 'TAU' at line 3"
    )
    assert cohort.clients.to_dict("records") == [{"id": "c2", "arm": "CBT"}]


def test_arm_outside_recode_map_stops(tmp_path):
    """Before: code 3 became a third arm '3' in every report."""
    (tmp_path / "s.csv").write_text("id,time,measure,score\na,1,phq9,9\nb,1,phq9,12\nc,1,phq9,7\n")
    (tmp_path / "c.csv").write_text("id,group\na,1\nb,2\nc,3\n")
    spec = {
        "path": str(tmp_path / "s.csv"),
        "clients": {
            "path": str(tmp_path / "c.csv"),
            "columns": {"arm": "group"},
            "recode": {"arm": {1: "CBT", 2: "TAU"}},
        },
    }
    with pytest.raises(ValueError) as exc:
        read_cohort_file(spec)
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "c.csv"))
    assert (
        "client 'c': arm (column 'group') value(s) '3' outside the recode map ['1', '2'] "
        "at line(s) 4" in msg
    )
    spec["clients"]["on_conflict"] = "quarantine"
    cohort, q = read_cohort_file(spec)
    assert _reasons(q) == [(4, "invalid_client_data")] and q.rows["id"].tolist() == ["c"]
    assert dict(zip(cohort.clients["id"], cohort.clients["arm"], strict=True)) == {
        "a": "CBT",
        "b": "TAU",
    }


def test_blank_arm_is_not_a_conflict(tmp_path):
    f = _write(tmp_path / "x.csv", "client,session,arm,score\nc1,1,CBT,20\nc1,2,,15\n")
    cohort, q = read_cohort_file(_conflict_spec(f))
    assert q.rows_quarantined == 0 and cohort.clients["arm"].tolist() == ["CBT"]


# --- empty exports ----------------------------------------------------------------------------


def test_header_only_file_stops(tmp_path):
    f = _write(tmp_path / "x.csv", "id,time,measure,score\n")
    with pytest.raises(ValueError, match=r"x\.csv: the file has no data rows \(only the header"):
        read_cohort_file({"path": str(f)})
    with pytest.raises(ValueError, match="no header line"):
        read_cohort_file({"path": str(_write(tmp_path / "e.csv", ""))})


def _runs_yaml(tmp_path: Path, options: dict, **top) -> Path:
    runs = {
        **top,
        "runs": {
            "mine": {
                "dataset": "file",
                "dataset_options": options,
                "parameters": {"measure": "phq9"},
            }
        },
    }
    f = tmp_path / "runs.yaml"
    f.write_text(yaml.safe_dump(runs), encoding="utf-8")
    return f


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("id,time,measure,score\n", "no data rows"),
        # every record quarantined: nothing to analyse
        ("id,time,measure,score\na,1,phq9,99\nb,1,phq9,x\n", "no usable score (rows in 2 = kept 0"),
        ("id,time,measure,score,score\na,1,phq9,3,4\n", "duplicate column name"),
    ],
)
def test_unusable_export_stops_before_any_notebook(tmp_path, capsys, text, words):
    f = _write(tmp_path / "x.csv", text)
    out = tmp_path / "out"
    code = pipeline.main(["-f", str(_runs_yaml(tmp_path, {"path": str(f)})), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "runs.mine.dataset_options" in err and words in err
    assert not out.exists() or not any(out.iterdir())


# --- client id default ------------------------------------------------------------------------


def test_client_file_id_defaults_to_the_scores_id_column(tmp_path):
    """The scores mapping says id: client; the client file's 'client' column is then its id
    (before: the client file had to have a column named 'id' or set clients.id)."""
    (tmp_path / "s.csv").write_text("client,session,phq\na,1,12\nb,1,15\n")
    (tmp_path / "c.csv").write_text("client,arm\na,CBT\nb,TAU\n")
    spec = {
        "path": str(tmp_path / "s.csv"),
        "measure": "phq9",
        "columns": {"id": "client", "time": "session", "score": "phq"},
        "clients": {"path": str(tmp_path / "c.csv")},
    }
    cohort, q = read_cohort_file(spec)
    assert q.rows_quarantined == 0
    assert dict(zip(cohort.clients["id"], cohort.clients["arm"], strict=True)) == {
        "a": "CBT",
        "b": "TAU",
    }
    (tmp_path / "c.csv").write_text("pid,arm\na,CBT\n")
    with pytest.raises(ValueError) as exc:
        read_cohort_file(spec)
    msg = str(exc.value)
    assert msg.startswith(str(tmp_path / "c.csv"))
    assert "looked for 'client' (the id column of the scores mapping) and 'id'" in msg


# --- user instruments -------------------------------------------------------------------------


BAI = """\
instruments:
  bai:
    label: BAI
    name: Beck Anxiety Inventory
    construct: anxiety
    family: symptom
    items: 21
    min: 0
    max: 63
    integer: true
    better_is: lower
    reliability:
      value: 0.92
      type: internal_consistency
      source: "Beck A.T. et al. (1988) J Consult Clin Psychol 56(6):893-897"
      confirmed: true
"""


def _bai_export(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "anx.csv",
        "client;session;questionnaire;total\n"
        "a;1;BAI;30\na;8;BAI;12\nb;1;BAI;25\nb;8;BAI;64\nb;8;PHQ9;10\n",
    )


def test_user_instrument_through_the_reader(tmp_path):
    """Without the instrument file every BAI row is an unknown measure; with it they are read,
    and the range 0-63 is the user's entry's."""
    exp = _bai_export(tmp_path)
    ins = _write(tmp_path / "my_instruments.yaml", BAI)
    spec = {
        "path": str(exp),
        "columns": {
            "id": "client",
            "time": "session",
            "measure": "questionnaire",
            "score": "total",
        },
        "measure_map": {"BAI": "bai", "PHQ9": "phq9"},
    }
    _, q = read_cohort_file(spec)
    assert [r for _, r in _reasons(q)] == ["unknown_measure"] * 4
    cohort, q = read_cohort_file({**spec, "instruments": str(ins)})
    # 5 records: BAI 64 > 63 at line 5 out of range; 4 kept (3 BAI + 1 PHQ-9)
    assert (q.rows_in, q.rows_kept) == (5, 4) and _reasons(q) == [(5, "out_of_range")]
    assert "outside the bai range 0-63" in q.rows["detail"].iloc[0]
    assert sorted(cohort.measures) == ["bai", "phq9"]
    # the reader did not change the process's registry
    assert "bai" not in instruments.load_registry()


def test_fractional_total_of_whole_point_instrument_is_quarantined(tmp_path):
    """BAI totals are sums of 21 items scored 0-3 (registry entry ``integer: true``): 23,5 is not
    a BAI total (a typing error, or a mean reported as a total), so it is quarantined, not kept."""
    exp = _write(
        tmp_path / "anx.csv",
        "client;session;questionnaire;total\n"
        "a;1;BAI;30\na;8;BAI;23,5\nb;1;BAI;25\nb;8;PHQ9;10.5\nb;9;PHQ9;27,5\n",
    )
    ins = _write(tmp_path / "my_instruments.yaml", BAI)
    spec = {
        "path": str(exp),
        "instruments": str(ins),
        "columns": {
            "id": "client",
            "time": "session",
            "measure": "questionnaire",
            "score": "total",
        },
        "measure_map": {"BAI": "bai", "PHQ9": "phq9"},
    }
    cohort, q = read_cohort_file(spec)
    # 5 records = 2 kept (BAI 30, 25) + 3 quarantined: BAI 23.5 (line 3) and PHQ-9 10.5 (line 5)
    # fractional; PHQ-9 27.5 (line 6) is out of range first (27 is the maximum)
    assert (q.rows_in, q.rows_kept, q.rows_quarantined) == (5, 2, 3)
    assert _reasons(q) == [(3, "non_integer_score"), (5, "non_integer_score"), (6, "out_of_range")]
    detail = q.rows.set_index("row")["detail"]
    assert detail[3] == "BAI totals are whole points; 23.5 is not"
    assert detail[5] == "PHQ-9 totals are whole points; 10.5 is not"
    assert q.rows.set_index("row").loc[3, "value"] == "23,5"
    assert cohort.scores["score"].tolist() == [30.0, 25.0]
    assert q.summary()["reasons"]["non_integer_score"] == 2
    assert "non_integer_score" in REASONS


def test_fractional_totals_computed_by_the_package_are_kept(tmp_path, monkeypatch):
    """Totals the package computes may be fractional by design: a mean of columns (mean_of), and
    an item total prorated without rounding. Neither is quarantined as non_integer_score."""
    f = _write(tmp_path / "m.csv", "id,time,p1,p2\na,1,12,13\na,2,7,7\n")
    spec = {"path": str(f), "scores": {"phq9": {"mean_of": ["p1", "p2"]}}}
    cohort, q = read_cohort_file(spec)
    assert q.rows_kept == 2 and cohort.scores["score"].tolist() == [12.5, 7.0]  # (12 + 13) / 2
    # PHQ-9 items with one blank, prorated under a rule that does not round: 7 answered items of
    # 1 and one 0 sum to 7; 7 * 9 / 8 = 7.875 points
    rules = items_mod.load_scoring_rules()
    rules["phq9"] = dataclasses.replace(rules["phq9"], rounding="none")
    monkeypatch.setattr(items_mod, "load_scoring_rules", lambda path=None: rules)
    cols = [f"q{i}" for i in range(1, 10)]
    g = _write(
        tmp_path / "items.csv",
        "id,time," + ",".join(cols) + "\na,1," + ",".join(["1"] * 7 + ["0", ""]) + "\n",
    )
    cohort, q = read_cohort_file({"path": str(g), "items": {"phq9": cols}})
    assert q.rows_kept == 1 and q.rows_quarantined == 0
    assert cohort.scores["score"].tolist() == [7.875]


def test_user_instrument_through_validate_and_the_runs_file(tmp_path, capsys):
    exp = _bai_export(tmp_path)
    ins = _write(tmp_path / "my_instruments.yaml", BAI)
    options = {
        "path": str(exp),
        "columns": {
            "id": "client",
            "time": "session",
            "measure": "questionnaire",
            "score": "total",
        },
        "measure_map": {"BAI": "bai", "PHQ9": "phq9"},
    }
    runs = _runs_yaml(tmp_path, options, instruments=str(ins))
    assert main_validate(["-f", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "== run mine" in out and "rows in 5 = kept 4 + quarantined 1" in out
    assert "delimiter: ';' (semicolon) (sniffed)" in out and "measures: bai, phq9" in out
    # the runs file given as --spec is understood too
    assert main_validate(["x", "--spec", str(runs)]) == 2  # 'x' replaces the path: no such file
    assert "cannot read" in capsys.readouterr().err
    # the main job's checks accept the measure code of the user's entry
    loaded = run_config.load_runs(runs)
    assert loaded["mine"]["instruments"] == [str(ins.resolve())]
    assert loaded["mine"]["dataset_options"]["instruments"] == [str(ins.resolve())]
    loaded["mine"]["parameters"]["measure"] = "bai"
    typed = run_config.prepare_runs(loaded)
    assert typed["mine"]["parameters"]["measure"] == "bai"
    assert instruments.USER_INSTRUMENTS_ENV not in os.environ  # scoped to the checks
    # the file loader (what a notebook calls) carries the entry's file with the cohort, for the
    # registry built from it; the process's registry and environment stay as they were
    from analysis.data import datasets

    cohort = datasets.load_dataset("file", **loaded["mine"]["dataset_options"])
    reg = instruments.load_registry(instruments=cohort.meta["instruments"])
    assert "bai" in cohort.measures and instruments.get_instrument("bai", reg).max == 63
    assert "bai" not in instruments.load_registry()
    assert instruments.USER_INSTRUMENTS_ENV not in os.environ


def test_user_instruments_inline_in_the_runs_file(tmp_path):
    exp = _bai_export(tmp_path)
    options = {
        "path": str(exp),
        "columns": {
            "id": "client",
            "time": "session",
            "measure": "questionnaire",
            "score": "total",
        },
        "measure_map": {"BAI": "bai"},
    }
    runs = _runs_yaml(tmp_path, options, instruments=yaml.safe_load(BAI)["instruments"])
    loaded = run_config.load_runs(runs)
    assert loaded["mine"]["instruments"] == [str(runs.resolve())]
    cohort, _ = read_cohort_file(loaded["mine"]["dataset_options"])
    assert "bai" in cohort.measures


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        # the same validator as the package registry: file, instrument and key named
        (
            lambda t: t.replace("value: 0.92", "value: 1.2"),
            "instrument 'bai', key 'reliability.value'",
        ),
        (
            lambda t: t.replace("      confirmed: true\n", ""),
            "instrument 'bai', key 'reliability': lacks ['confirmed']",
        ),
        (
            lambda t: t.replace("better_is: lower", "better_is: down"),
            "instrument 'bai', key 'better_is'",
        ),
        (
            lambda t: t.replace("  bai:", "  BAI-21:"),
            "instrument 'BAI-21': a measure code must be lower-case",
        ),
        # never a silent override of a package entry
        (
            lambda t: t.replace("  bai:", "  phq9:"),
            "instrument 'phq9' is already in the instrument registry",
        ),
        (
            lambda t: t.replace("  bai:", "  phq9:").replace(
                "    label: BAI", "    override: true\n    label: BAI"
            ),
            "instrument 'phq9', key 'override_reason': override: true needs a non-empty reason",
        ),
        (
            lambda t: t.replace(
                "    label: BAI", "    override: true\n    override_reason: mine\n    label: BAI"
            ),
            "instrument 'bai', key 'override': there is no registry entry 'bai' to override",
        ),
    ],
)
def test_user_instrument_errors_name_file_instrument_key(tmp_path, edit, words):
    f = _write(tmp_path / "my_instruments.yaml", edit(BAI))
    with pytest.raises(ValueError) as exc:
        instruments.load_user_instruments(f)
    assert str(exc.value).startswith(str(f)) and words in str(exc.value)


def test_user_override_with_reason_replaces_and_is_recorded(tmp_path):
    text = BAI.replace("  bai:", "  phq9:").replace(
        "    label: BAI",
        "    override: true\n    override_reason: local norms, see our protocol\n    label: BAI",
    )
    f = _write(tmp_path / "mine.yaml", text)
    reg = instruments.load_user_instruments(f)
    assert reg["phq9"].max == 63 and reg["phq9"].extra["override_reason"].startswith("local")
    assert reg["phq9"].extra["defined_in"] == str(f.resolve())
    assert instruments.load_registry()["phq9"].max == 27  # the package's is untouched


def test_same_code_in_two_user_files(tmp_path):
    a = _write(tmp_path / "a.yaml", BAI)
    b = _write(tmp_path / "b.yaml", BAI)
    with pytest.raises(ValueError, match=r"b\.yaml: instrument 'bai' is also defined in .*a\.yaml"):
        instruments.load_user_instruments([a, b])


def test_using_instruments_is_scoped(tmp_path):
    f = _write(tmp_path / "mine.yaml", BAI)
    with instruments.using_instruments(f):
        assert "bai" in instruments.load_registry()
    assert "bai" not in instruments.load_registry()


# --- validate without a spec ------------------------------------------------------------------


def test_validate_says_what_it_needs_when_columns_are_not_named(tmp_path, capsys):
    f = _write(tmp_path / "wide.csv", "pid,phq9_s1,phq9_s2\na,12,8\n")
    assert main_validate([str(f)]) == 2
    err = capsys.readouterr().err
    assert "The file's columns are: pid, phq9_s1, phq9_s2" in err
    assert "columns: {id: <client column>" in err and "layout: wide" in err
    assert 'make validate ARGS="-f my_runs.yaml"' in err


def test_composite_mean_of_parts(tmp_path):
    """scores: {m: {mean_of: [...]}}: the mean of the parts, e.g. (1.0 + 2.0 + 3.0) / 3 = 2.0;
    a part missing makes the score missing (counted), unless min_present allows it."""
    f = _write(tmp_path / "x.csv", "id,t,p1,p2,p3\na,1,1.0,2.0,3.0\na,2,1.0,,2.0\na,3,,,\n")
    spec = {
        "path": str(f),
        "columns": {"id": "id", "time": "t"},
        "scores": {"phq9": {"mean_of": ["p1", "p2", "p3"]}},
    }
    cohort, q = read_cohort_file(spec)
    s = cohort.scores["score"].tolist()
    assert s[0] == 2.0 and np.isnan(s[1]) and np.isnan(s[2])
    assert q.notes == {"phq9_missing_too_few_parts_present": 1}
    spec["scores"]["phq9"]["min_present"] = 2
    cohort, q = read_cohort_file(spec)
    assert cohort.scores["score"].tolist()[1] == 1.5  # (1.0 + 2.0) / 2


def test_user_instrument_reaches_the_multiverse_notebook_in_process(tmp_path, monkeypatch):
    """Notebook 05 opened in JupyterLab (in-process, no pipeline environment): its workflow builds
    the registry from the cohort's own instrument files, as every other notebook does; it used
    the package registry alone and stopped on the user's measure ("unknown measure 'bai'")."""
    from analysis.registry.instruments import USER_INSTRUMENTS_ENV
    from analysis.run.workflow import multiverse_for_notebook

    monkeypatch.delenv(USER_INSTRUMENTS_ENV, raising=False)
    exp = _bai_export(tmp_path)
    ins = _write(tmp_path / "my_instruments.yaml", BAI)
    spec = {
        "path": str(exp),
        "instruments": str(ins),
        "columns": {
            "id": "client",
            "time": "session",
            "measure": "questionnaire",
            "score": "total",
        },
        "measure_map": {"BAI": "bai", "PHQ9": "phq9"},
    }
    md = multiverse_for_notebook("file", spec, "bai", group="")
    assert md.instrument.label == "BAI" and md.instrument.reliability["value"] == 0.92
    assert len(md.results) > 0
