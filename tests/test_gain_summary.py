"""The sudden-gain summary (analysis.compare.sessions.gain_summary) and the labels a report puts
on its columns: every count is of clients except ``gains`` (reviewer: a row read "977 | 69 | 70 |
12 | 57", where 70 - 12 != 57 because 70 counted gains and 12, 57 counted clients)."""

from __future__ import annotations

import pandas as pd

from analysis.compare.sessions import GAIN_SUMMARY_LABELS, gain_summary


def test_gain_counts_add_up_under_their_labels():
    # 4 clients: A has 2 gains (selected gain reversed), B 1 gain (not reversed), C 1 gain
    # (not reversed), D none. Hand count: clients 4, with a gain 3, gains 2 + 1 + 1 = 4,
    # reversed 1 (A), not reversed 3 - 1 = 2 (B, C); mean selected gain (9 + 6 + 7) / 3 = 7.33
    bp = pd.DataFrame(
        {
            "sg_crit123": [1.0, 1.0, 1.0, 0.0],
            "sg_freq_byperson": [2, 1, 1, 0],
            "sg_reversal": [1.0, 0.0, 0.0, None],
            "sg_magnitude": [9.0, 6.0, 7.0, None],
        }
    )
    row = gain_summary(bp).iloc[0]
    assert (row["clients"], row["with_gain"], row["gains"]) == (4, 3, 4)
    assert (row["reversed"], row["without_reversal"]) == (1, 2)
    assert row["magnitude_mean"] == 22 / 3
    shown = gain_summary(bp).rename(columns=GAIN_SUMMARY_LABELS).iloc[0]
    # the labelled columns say what they count, and the client counts add up
    assert (
        shown["clients whose gain reversed"] + shown["clients whose gain did not reverse"]
        == shown["clients with a gain"]
        == 3
    )
    assert shown["gains (all, of these clients)"] == 4
    assert not any("gains not reversed" in v for v in GAIN_SUMMARY_LABELS.values())
