"""Figures, drawn with seaborn/matplotlib. Each helper takes ``ax=None`` and returns the axes.

Every figure has a title, labelled axes with units, and a short description in ``ax.figure``'s
``alt_text`` attribute, which :mod:`analysis.report` uses as the image's alt text.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

__all__ = ["CATEGORY_COLOURS", "jacobson_plot", "set_alt_text"]

CATEGORY_COLOURS = {
    "recovered": "#1a9850",
    "improved": "#91cf60",
    "unchanged": "#999999",
    "deteriorated": "#fc8d59",
    "harmed": "#d73027",
    "not evaluable": "#dddddd",
}


def set_alt_text(ax: Axes, text: str) -> Axes:
    """Attach alt text to the figure of ``ax`` (read by the report renderer); returns ``ax``."""
    ax.figure.alt_text = text  # type: ignore[attr-defined]
    return ax


def jacobson_plot(
    result: pd.DataFrame,
    critical: float = 1.959964,
    units: str = "points",
    measure_label: str = "score",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Jacobson plot: post against pre score, reliable-change band, cutoff lines, coloured by category.

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`analysis.clinsig.clinical_significance` (columns ``pre``, ``post``,
        ``change``, ``rci``, ``cutoff``, ``category`` or ``reliable_change``, ``evaluable``).
        Only evaluable clients are drawn.
    critical : float
        Critical |RCI| for the band (1.96 at the 5 % level).
    units, measure_label : str
        Axis labels: "<measure_label> at pre (<units>)".
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The band is ``post = pre +/- critical * S_diff`` where ``S_diff = change / rci`` (constant across
    clients for the JT method); points inside it have not changed reliably (Jacobson & Truax 1991,
    Figure 1).
    """
    ax = ax if ax is not None else plt.subplots(figsize=(6, 6))[1]
    ev = result.loc[result["evaluable"]].copy()
    hue = "category" if ev["category"].notna().any() else "reliable_change"
    lo = float(np.nanmin([ev["pre"].min(), ev["post"].min()]))
    hi = float(np.nanmax([ev["pre"].max(), ev["post"].max()]))
    pad = 0.05 * (hi - lo if hi > lo else 1)
    lims = (lo - pad, hi + pad)
    sdiff = ev["change"] / ev["rci"]
    sdiff = sdiff.replace([np.inf, -np.inf], np.nan).dropna()
    x = np.array(lims)
    ax.plot(x, x, color="black", lw=1, label="no change")
    if len(sdiff):
        half = critical * float(sdiff.median())
        ax.fill_between(x, x - half, x + half, color="grey", alpha=0.2, label="no reliable change")
    cut = ev["cutoff"].dropna()
    if len(cut):
        c = float(cut.iloc[0])
        ax.axvline(c, color="black", ls="--", lw=1)
        ax.axhline(c, color="black", ls="--", lw=1, label=f"clinical cutoff ({c:.1f})")
    palette = {k: v for k, v in CATEGORY_COLOURS.items() if k in set(ev[hue].dropna())}
    sns.scatterplot(data=ev, x="pre", y="post", hue=hue, palette=palette, ax=ax, s=30, alpha=0.8)
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{measure_label} at pre ({units})")
    ax.set_ylabel(f"{measure_label} at post ({units})")
    ax.set_title(title or f"Jacobson plot: {measure_label}, pre vs post")
    ax.legend(loc="best", fontsize="small")
    set_alt_text(
        ax,
        f"Scatter of {len(ev)} clients' {measure_label} at post against pre, with the diagonal of "
        "no change, a grey band of no reliable change and the clinical cutoff as dashed lines; "
        "points coloured by outcome category.",
    )
    return ax
