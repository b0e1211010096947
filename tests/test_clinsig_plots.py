"""Plots of analysis.report.plots for clinical significance (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.outcomes.clinsig import clinical_significance  # noqa: E402
from analysis.report.plots import jacobson_plot, trajectory_plot  # noqa: E402


@pytest.fixture
def long() -> pd.DataFrame:
    rng = np.random.default_rng(7)  # seed 7
    n = 40
    pre = rng.normal(22, 5, n)
    rows = [
        {"id": f"c{i}", "time": t, "score": pre[i] + t * rng.normal(-2, 2)}
        for i in range(n)
        for t in range(4)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("method", ["JT", "GLN"])
def test_jacobson_band_edges_are_where_rci_equals_critical(long, method):
    """Every vertex of the band lies where |RCI| = critical: for JT ``|post - pre| = 1.96 S_diff``
    (J&T 1991, Figure 1); for GLN
    ``|(post - M_pre) - r (pre - M_pre)| = 1.96 SD_pre sqrt(1 - r^2)``.
    """
    res = clinical_significance(long, pre=0, post=3, reliability=0.8, rci_method=method)
    ax = jacobson_plot(res, measure_label="PHQ-9")
    info = res.attrs["clinsig"]
    x, y = ax.collections[0].get_paths()[0].vertices.T
    if method == "JT":
        rci = (y - x) / info["s_diff"]
    else:
        rci = ((y - info["m_pre"]) - 0.8 * (x - info["m_pre"])) / info["se_prediction"]
    np.testing.assert_allclose(np.abs(rci), info["critical"], rtol=1e-6)
    assert ax.get_xlabel() == "PHQ-9 at pre (points)"
    assert hasattr(ax.figure, "alt_text")
    plt.close(ax.figure)


def test_trajectory_plot_colours_by_category(long):
    """Each client's line has the colour of that client's category (CATEGORY_COLOURS), and the
    legend names exactly the categories drawn (an empty or one-colour plot fails)."""
    from matplotlib.colors import to_hex

    from analysis.report.plots import CATEGORY_COLOURS

    res = clinical_significance(long, pre=0, post=3, reliability=0.8, cutoff_type="a")
    ax = trajectory_plot(long, res, measure_label="PHQ-9", time_label="session")
    assert len(ax.lines) == 40
    category = res.set_index("id")["category"].astype(str)
    assert category.nunique() >= 2  # the check below can tell colours apart
    for line in ax.lines:  # identify the client by its trajectory (ids are unique per pre score)
        x, y = line.get_xdata(), line.get_ydata()
        (client,) = long.loc[(long["time"] == x[0]) & (long["score"] == y[0]), "id"]
        assert to_hex(line.get_color()) == CATEGORY_COLOURS[category[client]], client
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert labels == set(category)
    assert ax.get_ylabel() == "PHQ-9 (points)"
    plt.close(ax.figure)


def test_jacobson_plot_hlm_has_no_band(long):
    res = clinical_significance(long, rci_method="HLM")
    ax = jacobson_plot(res)
    assert len(ax.collections) == 1  # scatter only
    plt.close(ax.figure)
