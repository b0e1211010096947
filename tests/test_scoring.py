"""Item-level scoring of PHQ-9 and GAD-7 against hand-worked totals."""

import numpy as np
import pandas as pd
import pytest

from analysis.data.items import item_problems, load_scoring_rules, score_items
from analysis.registry.instruments import get_instrument

PHQ = [f"phq_{i}" for i in range(1, 10)]
GAD = [f"gad_{i}" for i in range(1, 8)]


def _frame(rows, cols):
    return pd.DataFrame([[np.nan if v is None else v for v in r] for r in rows], columns=cols)


def _band(score, measure):
    """Severity band label from the registry's band lower bounds (Kroenke et al. 2001)."""
    b = get_instrument(measure).bands
    idx = int(np.searchsorted(b["values"], score, side="right")) - 1
    return b["labels"][idx]


def test_rules_have_sources():
    rules = load_scoring_rules()
    assert {"phq9", "gad7"} <= set(rules)
    for r in rules.values():
        assert r.source and r.rounding_source
        assert r.max_missing == 2


def test_phq9_hand_worked():
    """Hand-worked PHQ-9 totals (Kroenke 2001 sum; prorating rule in config/scoring.yaml)."""
    d = _frame(
        [
            [1, 2, 3, 0, 1, 2, 3, 0, 1],  # complete: 1+2+3+0+1+2+3+0+1 = 13
            [1, 1, 1, 1, 1, 1, 1, 1, None],  # 8 answered, sum 8: 8*9/8 = 9 exactly
            [2, 2, 2, 2, 2, 2, 2, None, None],  # 7 answered, sum 14: 14*9/7 = 18
            [0, 0, 0, 0, 0, 0, None, None, None],  # 3 blank > 2 allowed: not scored
            [None] * 9,  # nothing answered: not scored
            [0] * 9,  # complete zero is a real 0, not missing
        ],
        PHQ,
    )
    out = score_items(d, "phq9", PHQ)
    assert out["score"].tolist()[:3] == [13.0, 9.0, 18.0]
    assert np.isnan(out["score"].iloc[3]) and np.isnan(out["score"].iloc[4])
    assert out["score"].iloc[5] == 0.0
    assert out["status"].tolist() == [
        "complete",
        "prorated",
        "prorated",
        "too_many_missing",
        "too_many_missing",
        "complete",
    ]
    assert out["n_missing"].tolist() == [0, 1, 2, 3, 9, 0]


def test_blank_item_is_never_zero():
    """Two blanks with answered items of 3: prorated 3*9 = 27, where blank-as-0 would give 21."""
    d = _frame([[3, 3, 3, 3, 3, 3, 3, None, ""]], PHQ)
    assert score_items(d, "phq9", PHQ)["score"].iloc[0] == 27.0


def test_prorated_total_exactly_on_severity_boundary():
    """PHQ-9, 8 items answered summing to 4: 4 * 9 / 8 = 4.5, half up -> 5 = first 'mild' point.

    Banker's rounding (Python's round) would give 4 ('minimal'); truncation too. And 7 items
    answered summing to 8: 8 * 9 / 7 = 10.29 -> 10, exactly the caseness cutoff and the 'moderate'
    band (Kroenke et al. 2001 bands 5/10/15/20).
    """
    d = _frame([[1, 1, 1, 1, 0, 0, 0, 0, None], [2, 2, 1, 1, 1, 1, 0, None, None]], PHQ)
    out = score_items(d, "phq9", PHQ)
    assert out["score"].tolist() == [5.0, 10.0]
    assert [_band(s, "phq9") for s in out["score"]] == ["mild", "moderate"]
    raw = score_items(d, "phq9", PHQ, rounding="none")["score"]
    np.testing.assert_allclose(raw, [4.5, 72 / 7], rtol=0, atol=1e-12)


def test_gad7_hand_worked():
    """GAD-7: 6 answered summing 9 -> 9*7/6 = 10.5 -> 11 (half up); 5 answered summing 5 -> 7."""
    d = _frame(
        [
            [3, 3, 2, 1, 0, 0, 1],  # complete: 10
            [3, 2, 1, 1, 1, 1, None],  # 6 answered, sum 9: 10.5 -> 11
            [1, 1, 1, 1, 1, None, None],  # 5 answered, sum 5: 5*7/5 = 7
            [1, 1, 1, 1, None, None, None],  # 3 blank: not scored
        ],
        GAD,
    )
    out = score_items(d, "gad7", GAD)
    assert out["score"].iloc[:3].tolist() == [10.0, 11.0, 7.0]
    assert np.isnan(out["score"].iloc[3])
    strict = score_items(d, "gad7", GAD, max_missing=1)
    assert strict["score"].iloc[1] == 11.0 and np.isnan(strict["score"].iloc[2])


def test_out_of_range_items_rejected():
    d = _frame([[1] * 9, [4, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1.5, 1, 1, 1, 1, 1, "x"]], PHQ)
    with pytest.raises(ValueError, match=r"phq9: 2 row\(s\).*row 1: phq_1=4 outside 0-3"):
        score_items(d, "phq9", PHQ)
    probs = item_problems(d, "phq9", PHQ)
    assert probs.iloc[0] == ""
    assert "phq_3=1.5 outside" in probs.iloc[2] and "phq_9=x is not a number" in probs.iloc[2]


def test_input_not_mutated_and_errors():
    d = _frame([[1] * 8 + [None]], PHQ)
    before = d.copy()
    score_items(d, "phq9", PHQ)
    pd.testing.assert_frame_equal(d, before)
    with pytest.raises(ValueError, match="expected 9 item columns"):
        score_items(d, "phq9", PHQ[:8])
    with pytest.raises(ValueError, match="No item-scoring rule"):
        score_items(d, "bdi2", PHQ)
    with pytest.raises(TypeError):
        score_items(d.to_numpy(), "phq9", PHQ)
