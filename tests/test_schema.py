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


# A Cohort validates on construction (tester's finding: "A validated cohort" was never validated;
# PHQ-9 scores 99 and -5 were accepted and score_definitions marked remission met)


def _cohort(scores: pd.DataFrame, clients: pd.DataFrame | None = None):
    from analysis.data.cohort import Cohort

    return Cohort(scores, clients if clients is not None else pd.DataFrame({"id": ["a", "b"]}),
                  name="x")  # fmt: skip


def test_cohort_refuses_scores_outside_the_instrument_range():
    """Guards: PHQ-9 is 0-27 points (registry); 99 and -5 name the measure, the count and rows."""
    s = pd.DataFrame({"id": ["a", "a"], "time": [0, 1], "measure": ["phq9"] * 2, "score": [99, -5]})
    with pytest.raises(ValueError) as err:
        _cohort(s, pd.DataFrame({"id": ["a"]}))
    msg = str(err.value)
    assert "2 score(s) of measure 'phq9' outside the instrument's range 0-27" in msg
    assert "99" in msg and "-5" in msg and "Nothing was dropped" in msg
    # the range is per measure: 25 is a valid PHQ-9 score but not a valid GAD-7 one (0-21)
    ok = _good().assign(score=[25, 8, 20])
    assert len(_cohort(ok).scores) == 3
    with pytest.raises(ValueError, match=r"1 score\(s\) of measure 'gad7' outside .* 0-21"):
        _cohort(ok.assign(measure=["phq9", "phq9", "gad7"], score=[25, 8, 25]))


def test_cohort_refuses_text_and_infinite_scores_missing_ids_and_bad_times():
    """Guards: text scores were accepted (and later read as missing)."""
    s = _good()
    with pytest.raises(ValueError, match=r"column 'score': 1 value\(s\) are not numbers.*'x'"):
        _cohort(s.assign(score=pd.Series([12, "x", 20], index=s.index, dtype=object)))
    with pytest.raises(ValueError, match=r"column 'score': 1 infinite score"):
        _cohort(s.assign(score=[12, float("inf"), 20]))
    with pytest.raises(ValueError, match=r"column 'id': 1 row\(s\) without a client id"):
        _cohort(s.assign(id=["a", None, "b"]))
    with pytest.raises(ValueError, match=r"column 'time': 1 value\(s\) missing, negative"):
        _cohort(s.assign(time=[1, -2, 1]))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['score'\]"):
        _cohort(s.drop(columns="score"))
    # a numeric text column is fine (readers may hand over object dtype), NaN is a missed score
    ok = _cohort(s.assign(score=pd.Series(["12", None, "20"], index=s.index, dtype=object)))
    assert len(ok.scores) == 3


def test_cohort_refuses_duplicate_client_ids():
    """Guards: a client table with client 'a' twice was accepted."""
    with pytest.raises(ValueError, match=r"\(clients\): column 'id': 2 row\(s\) repeat .*'a'"):
        _cohort(_good(), pd.DataFrame({"id": ["a", "a", "b"]}))
    with pytest.raises(ValueError, match=r"\(clients\): column 'id': 1 client\(s\) without an id"):
        _cohort(_good(), pd.DataFrame({"id": ["a", "b", None]}))


def test_cohort_validation_is_vectorised():
    """Guards the cost budget: 10^6 clients x 12 sessions must validate in ~1-2 s, so 120,000
    score rows (10^4 clients x 12) must take well under a second even on a busy machine."""
    import time

    import numpy as np

    n = 10_000
    s = pd.DataFrame({"id": np.repeat([f"c{i}" for i in range(n)], 12),
                      "time": np.tile(np.arange(12.0), n), "measure": "phq9",
                      "score": np.tile(np.arange(12.0), n)})  # fmt: skip
    c = pd.DataFrame({"id": [f"c{i}" for i in range(n)]})
    t0 = time.perf_counter()
    _cohort(s, c)
    assert time.perf_counter() - t0 < 1.0
