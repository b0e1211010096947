"""Figures for session-by-session outcomes: sudden-gain timing and expected recovery curves.

Like :mod:`analysis.report.plots_compare`, each helper takes ``ax=None``, returns the axes,
labels every axis with its unit, sets a title and attaches alt text for
:func:`analysis.report.tables.show_figure`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from analysis.compare.on_track import ExpectedRecovery
from analysis.report.plots import set_alt_text

__all__ = ["sudden_gain_timing_plot", "expected_curves_plot"]


def sudden_gain_timing_plot(
    bysg: pd.DataFrame,
    group: str | None = None,
    units: str = "session",
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Histogram of the pregain session of each sudden gain (one bar per session).

    Parameters
    ----------
    bysg : pandas.DataFrame
        :func:`analysis.outcomes.sudden_gains.sudden_gains` (``pregain_time``), optionally with a
        ``group`` column (e.g. arm), shown as stacked bars.
    group : str, optional
        Column to colour by.
    units : str
        Unit of ``time`` for the axis label.
    title : str
        Figure title.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 3.5))[1]
    if len(bysg):
        sns.histplot(data=bysg, x="pregain_time", hue=group, multiple="stack", discrete=True, ax=ax)
    ax.set_xlabel(f"pregain {units} (the gain happens between it and the next)")
    ax.set_ylabel("sudden gains (count)")
    ax.set_title(title or "When sudden gains happen")
    set_alt_text(
        ax,
        f"Histogram of the {units} before each of {len(bysg)} sudden gains"
        + (f", stacked by {group}" if group else "")
        + ".",
    )
    return ax


def expected_curves_plot(
    model: ExpectedRecovery,
    baselines: dict[str, float],
    elapsed_max: float,
    observed: pd.DataFrame | None = None,
    units: str = "sessions",
    score_label: str = "score (points)",
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Expected recovery curves with prediction bands, one per starting severity.

    Parameters
    ----------
    model : ExpectedRecovery
        A fitted model.
    baselines : dict
        Label -> baseline score (points), e.g. the midpoints of the instrument's severity bands.
    elapsed_max : float
        Last session since baseline shown.
    observed : pandas.DataFrame, optional
        Scores to overlay (columns ``elapsed``, ``score``), e.g. one client's trajectory.
    units : str
        Unit of time for the axis label.
    score_label : str
        y-axis label, with the instrument and its unit.
    title : str
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4.2))[1]
    # the model is fitted on sessions 1, 2, ... after baseline: draw it from 1 and join the
    # baseline (session 0) with a straight segment
    t = np.r_[0.0, np.linspace(1.0, max(float(elapsed_max), 1.0), 60)]
    palette = sns.color_palette("viridis", n_colors=max(len(baselines), 1))
    for (label, b), colour in zip(baselines.items(), palette, strict=False):
        p = model.predict(np.full(len(t), float(b)), t)
        p.loc[0, ["lower", "expected", "upper"]] = b  # at baseline the score is the baseline
        ax.plot(t, p["expected"], color=colour, label=f"{label} (baseline {b:g})")
        ax.fill_between(t, p["lower"], p["upper"], color=colour, alpha=0.15)
    if observed is not None and len(observed):
        ax.plot(observed["elapsed"], observed["score"], "o--", color="black", label="client")
    ax.set_xlabel(f"{units} since baseline")
    ax.set_ylabel(score_label)
    ax.set_title(title or "Expected recovery by starting severity")
    ax.legend(fontsize=8, frameon=False)
    lo, hi = model.quantiles_[0], model.quantiles_[2]
    set_alt_text(
        ax,
        f"Expected score (median) by {units} since baseline for {len(baselines)} starting "
        f"severities, with shaded bands from the {100 * lo:g}th to the {100 * hi:g}th "
        "percentile; a score above the band (for lower-is-better scales) is not on track.",
    )
    return ax
