"""Captions and sentences of the reports say the numbers they show (reviewer's findings)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.compare import agreement  # noqa: E402
from analysis.report import plots_compare  # noqa: E402
from analysis.report.disclosure import SMALL_COUNT  # noqa: E402


@pytest.fixture(scope="module")
def btheb_headline():
    from analysis.run import workflow

    nd = workflow.outcomes_for_notebook("btheb", {}, "bdi2", reliability=0.92)
    return nd.outcomes


def test_upset_caption_counts_every_evaluable_client_and_the_hidden_ones(btheb_headline):
    """BtheB, the 4 headline definitions: 77 clients are evaluable under all 4; patterns shared by
    fewer than 5 clients hold 6 of them (71 drawn). The caption said 71."""
    patterns = agreement.overlap_patterns(btheb_headline)
    assert len(patterns.columns) - 1 == 4
    assert patterns["n_clients"].sum() == 77
    shown = patterns.loc[patterns["n_clients"] >= SMALL_COUNT]
    assert shown["n_clients"].sum() == 71
    cap = plots_compare.upset_figure(shown, n_evaluable=77).alt_text
    assert "77 clients are evaluable under all 4 definitions" in cap
    assert "fewer than 5 clients are not drawn (6 clients)" in cap
    assert "71" not in cap


def test_upset_caption_hides_a_small_hidden_total():
    p = pd.DataFrame({"a": [True, False], "b": [True, True], "n_clients": [40, 31]})
    cap = plots_compare.upset_figure(p, n_evaluable=74).alt_text  # 3 clients not drawn
    assert "74 clients are evaluable" in cap and "(fewer than 5 clients)" in cap
    assert "(3 clients)" not in cap
    assert "not drawn" not in plots_compare.upset_figure(p).alt_text  # all drawn: 71
    with pytest.raises(ValueError, match="below the 71 clients drawn"):
        plots_compare.upset_figure(p, n_evaluable=70)
