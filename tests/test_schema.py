"""The data model rejects bad input with an error that names the column and shows the rows."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data.schema import validate_clients, validate_cohort_frames, validate_scores


def _good() -> pd.DataFrame:
    return pd.DataFrame(
        {"id": ["a", "a", "b"], "time": [1, 2, 1], "measure": "phq9", "score": [12, 8, 20]},
        index=[2, 3, 4],
    )


def test_good_input_is_coerced_not_dropped():
    out = validate_scores(_good())
    assert len(out) == 3 and out["score"].dtype == float and out["id"].dtype == object


def test_missing_column():
    with pytest.raises(ValueError, match=r"missing column\(s\) \['score'\]"):
        validate_scores(_good().drop(columns="score"), source="clinic.csv")


def test_non_numeric_score_names_column_and_row():
    bad = _good().astype({"score": object})
    bad.loc[3, "score"] = "twelve"
    with pytest.raises(ValueError) as exc:
        validate_scores(bad, source="clinic.csv")
    msg = str(exc.value)
    assert "clinic.csv" in msg and "column 'score'" in msg and "a number" in msg
    assert "twelve" in msg and "\n  3 " in msg  # the offending row, by its label


def test_score_out_of_range():
    bad = _good()
    bad.loc[4, "score"] = 28  # PHQ-9 maximum is 27
    with pytest.raises(ValueError, match="instrument's range") as exc:
        validate_scores(bad)
    assert "28" in str(exc.value)


def test_duplicate_client_time_measure():
    bad = pd.concat([_good(), _good().iloc[[0]].rename(index={2: 9})])
    with pytest.raises(ValueError, match="one row per client x time x measure") as exc:
        validate_scores(bad)
    assert "\n  9 " in str(exc.value)


def test_unknown_measure_and_negative_time():
    bad = _good()
    bad.loc[2, "measure"] = "phq10"
    bad.loc[3, "time"] = -1
    with pytest.raises(ValueError) as exc:
        validate_scores(bad)
    assert "registry code" in str(exc.value) and "time must be >= 0" in str(exc.value)


def test_clients_unique_and_end_reason_coded():
    with pytest.raises(ValueError, match="end_reason"):
        validate_clients(pd.DataFrame({"id": ["a"], "end_reason": ["moved away"]}))
    with pytest.raises(ValueError, match="column 'id'"):
        validate_clients(pd.DataFrame({"id": ["a", "a"]}))


def test_scores_of_unknown_clients():
    with pytest.raises(ValueError, match="not in the client table"):
        validate_cohort_frames(_good(), pd.DataFrame({"id": ["a"]}))
