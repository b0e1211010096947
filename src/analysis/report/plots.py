"""Figures, drawn with seaborn/matplotlib. Each helper takes ``ax=None`` and returns the axes.

Every figure has a title, labelled axes with units, and a short description in ``ax.figure``'s
``alt_text`` attribute, which :mod:`analysis.report.tables` uses as the image's alt text.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

__all__ = ["CATEGORY_COLOURS", "hexagon_bins", "jacobson_plot", "set_alt_text", "trajectory_plot"]

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


def _band_lines(ev: pd.DataFrame, critical: float, x: np.ndarray):
    """Post scores where RCI = -critical and +critical, for x = pre (None if not linear).

    Every pre/post RCI of :mod:`analysis.outcomes.clinsig` is linear in (pre, post):
    rci = a post + b pre
    + c. The coefficients are recovered exactly by least squares from the clients' own values.
    """
    if len(ev) < 3 or ev["pre"].nunique() < 2:
        return None
    design = np.column_stack([ev["post"], ev["pre"], np.ones(len(ev))])
    coef, *_ = np.linalg.lstsq(design, ev["rci"].to_numpy(float), rcond=None)
    a, b, c = coef
    if not np.allclose(design @ coef, ev["rci"], atol=1e-6) or abs(a) < 1e-12:
        return None
    return [(k * critical - c - b * x) / a for k in (-1, 1)]


def jacobson_plot(
    result: pd.DataFrame,
    critical: float | None = None,
    units: str = "points",
    measure_label: str = "score",
    ax: Axes | None = None,
    title: str | None = None,
    aggregate: bool = False,
    threshold: int = 5,
    counts: dict | None = None,
) -> Axes:
    """Jacobson plot: post against pre, band of no reliable change, cutoff, coloured by category.

    Parameters
    ----------
    result : pandas.DataFrame
        Output of :func:`analysis.outcomes.clinsig.clinical_significance` (columns ``pre``,
        ``post``,
        ``rci``, ``cutoff``, ``category`` or ``reliable_change``, ``evaluable``). Only evaluable
        clients are drawn.
    critical : float, optional
        Critical RCI for the band; default the one the result was computed with
        (``result.attrs["clinsig"]["critical"]``), else 1.959964.
    units, measure_label : str
        Axis labels: "<measure_label> at pre (<units>)".
    ax : matplotlib Axes, optional
    title : str, optional
    aggregate : bool
        Real data (disclosure control on): no client's own pre and post score is drawn. The
        clients are binned (hexagons of the pre x post plane; a hexagon holding fewer than
        ``threshold`` clients is left blank; colours by bins of clients, :func:`hexagon_bins`,
        never an exact count) and the category counts are given in the legend
        instead of coloured points (NHS England / ONS small-number practice: a chart shows no
        more than a table may; :mod:`analysis.report.disclosure`). False (simulated data): one
        point per client, coloured by category.
    threshold : int
        Smallest number of clients a hexagon or a category count shows (default 5).
    counts : dict, optional
        Category -> count as shown in the run's tables (e.g. "<5", "suppressed"); default the
        counts with 1 to ``threshold - 1`` shown as "<threshold".

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The band holds the (pre, post) points with ``|RCI| <= critical``: for JT it is
    ``post = pre +/- critical * S_diff`` (Jacobson & Truax 1991, Figure 1); for GLN, HLL, EN, NK
    and HA its edges are the straight lines where the method's RCI equals +/- critical. HLM's
    RCI does not depend on pre and post alone, so no band is drawn for it.
    """
    ax = ax if ax is not None else plt.subplots(figsize=(6, 6))[1]
    info = result.attrs.get("clinsig", {})
    if critical is None:
        critical = float(info.get("critical", 1.959964))
    ev = result.loc[result["evaluable"].to_numpy(bool)].copy()
    for col in ("category", "reliable_change"):
        if col in ev:
            ev[col] = ev[col].astype(object)
    hue = "category" if "category" in ev and ev["category"].notna().any() else "reliable_change"
    lo = float(np.nanmin([ev["pre"].min(), ev["post"].min()]))
    hi = float(np.nanmax([ev["pre"].max(), ev["post"].max()]))
    pad = 0.05 * (hi - lo if hi > lo else 1)
    lims = (lo - pad, hi + pad)
    x = np.array(lims)
    ax.plot(x, x, color="black", lw=1, label="no change")
    method = info.get("method", ev["method"].iloc[0] if "method" in ev and len(ev) else "JT")
    lines = None if method == "HLM" else _band_lines(ev, critical, x)
    if lines is not None:
        lower, upper = np.minimum(*lines), np.maximum(*lines)
        ax.fill_between(x, lower, upper, color="grey", alpha=0.2, label="no reliable change")
    cut = ev["cutoff"].dropna() if "cutoff" in ev else pd.Series(dtype=float)
    if len(cut):
        c = float(cut.iloc[0])
        ax.axvline(c, color="black", ls="--", lw=1)
        ax.axhline(c, color="black", ls="--", lw=1, label=f"clinical cutoff ({c:.1f})")
    palette = {k: v for k, v in CATEGORY_COLOURS.items() if k in set(ev[hue].dropna())}
    if aggregate:
        hb = ax.hexbin(
            ev["pre"],
            ev["post"],
            gridsize=12,
            mincnt=threshold,
            cmap="Blues",
            extent=(*lims, *lims),
            linewidths=0.2,
        )
        _binned_colours(ax, hb, threshold)
        tally = ev[hue].value_counts()
        for cat in palette:
            n = int(tally.get(cat, 0))
            shown = (counts or {}).get(cat)
            if shown is None:
                shown = f"<{threshold}" if 1 <= n < threshold else str(n)
            ax.plot([], [], ls="", marker="s", color=palette[cat], label=f"{cat}: {shown}")
    else:
        sns.scatterplot(
            data=ev, x="pre", y="post", hue=hue, palette=palette, ax=ax, s=30, alpha=0.8
        )
    ax.set_xlim(lims)
    ax.set_ylim(lims)
    ax.set_aspect("equal")
    ax.set_xlabel(f"{measure_label} at pre ({units})")
    ax.set_ylabel(f"{measure_label} at post ({units})")
    ax.set_title(title or f"Jacobson plot: {measure_label}, pre vs post ({method})")
    ax.legend(loc="best", fontsize="small")
    what = (
        f"Binned density (hexagons of at least {threshold} clients, coloured by bins of clients) "
        f"of {measure_label} at post "
        "against pre, no individual client shown, with the clients per category in the legend"
        if aggregate
        else f"Scatter of {len(ev)} clients' {measure_label} at post against pre"
    )
    set_alt_text(
        ax,
        f"{what}, with the diagonal of no change, a grey band of no reliable change and the "
        "clinical cutoff as dashed lines"
        + ("." if aggregate else "; points coloured by outcome category."),
    )
    return ax


def hexagon_bins(counts, threshold: int = 5) -> list[tuple[int, int]]:
    """The colour bins of an aggregated Jacobson plot: no colour gives a hexagon's exact count.

    The first bin runs from ``threshold`` to the next multiple of 5 above it, then bins of five
    (11-15, 16-20, ...) up to the largest count: a hexagon of 5 clients reads "5-10" (suppression,
    threshold 5), one of 8 reads "8-10" (rounding: hexagons from 8 clients, so none stands on
    1-7). A continuous colour bar would give each hexagon's count back (a reviewer read 5, 6, 7,
    8, 9, 11, 12 and 15 from the pixel colours).

    Parameters
    ----------
    counts : array-like of int
        Clients per drawn hexagon (each >= ``threshold``).
    threshold : int
        Smallest number of clients a hexagon is drawn from.

    Returns
    -------
    list of (low, high)
        Inclusive bins covering ``threshold`` to the largest count (at least one bin).

    Examples
    --------
    >>> hexagon_bins([8, 9, 12, 15, 16], threshold=8)
    [(8, 10), (11, 15), (16, 20)]
    >>> hexagon_bins([5, 6], threshold=5)
    [(5, 10)]
    """
    top = max([int(c) for c in counts] + [threshold])
    first = (threshold // 5 + 1) * 5
    bins = [(threshold, first)]
    while bins[-1][1] < top:
        lo = bins[-1][1] + 1
        bins.append((lo, lo + 4))
    return bins


def _binned_colours(ax: Axes, hb, threshold: int) -> None:
    """Colour a hexbin by :func:`hexagon_bins` (one colour per bin) with a colour bar of the bins.

    The hexagons keep their counts (``hb.get_array()``); a :class:`~matplotlib.colors.BoundaryNorm`
    at the bins' edges gives every count of a bin the same colour.
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap

    counts = np.asarray(hb.get_array(), dtype=float)
    bins = hexagon_bins(counts, threshold)
    edges = [bins[0][0] - 0.5] + [hi + 0.5 for _, hi in bins]
    colours = plt.get_cmap("Blues")(np.linspace(0.35, 1.0, len(bins)))
    hb.set_cmap(ListedColormap(colours))
    hb.set_norm(BoundaryNorm(edges, len(bins)))
    bar = ax.figure.colorbar(hb, ax=ax, shrink=0.7, label="clients per hexagon")
    bar.set_ticks([(lo + hi) / 2 for lo, hi in bins])
    bar.set_ticklabels([f"{lo}-{hi}" for lo, hi in bins])
    bar.minorticks_off()


def trajectory_plot(
    data: pd.DataFrame,
    result: pd.DataFrame | None = None,
    id: str = "id",
    time: str = "time",
    outcome: str = "score",
    hue: str = "category",
    units: str = "points",
    time_label: str = "time",
    measure_label: str = "score",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Individual trajectories: one line per client over time, coloured by outcome category.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format scores (one row per client x time point). Not modified.
    result : pandas.DataFrame, optional
        Per-client output of :func:`analysis.outcomes.clinsig.clinical_significance` (or any
        frame with
        ``id`` and ``hue``); clients not evaluable there are drawn as "not evaluable".
    id, time, outcome : str
        Column names in ``data``.
    hue : str
        Column of ``result`` for colour (``category`` or ``reliable_change``); ignored without
        ``result``.
    units, time_label, measure_label : str
        Axis labels: "<measure_label> (<units>)" against "<time_label>".
    ax : matplotlib Axes, optional
    title : str, optional
    aggregate : bool
        Real data (disclosure control on): no client's own pre and post score is drawn. The
        clients are binned (hexagons of the pre x post plane; a hexagon holding fewer than
        ``threshold`` clients is left blank; colours by bins of clients, :func:`hexagon_bins`,
        never an exact count) and the category counts are given in the legend
        instead of coloured points (NHS England / ONS small-number practice: a chart shows no
        more than a table may; :mod:`analysis.report.disclosure`). False (simulated data): one
        point per client, coloured by category.
    threshold : int
        Smallest number of clients a hexagon or a category count shows (default 5).
    counts : dict, optional
        Category -> count as shown in the run's tables (e.g. "<5", "suppressed"); default the
        counts with 1 to ``threshold - 1`` shown as "<threshold".

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If a column is missing.
    """
    for col in (id, time, outcome):
        if col not in data.columns:
            raise ValueError(f"column {col!r} not in data (columns: {list(data.columns)})")
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4.5))[1]
    d = data[[id, time, outcome]].dropna().sort_values([id, time])
    if result is not None:
        if hue not in result.columns or "id" not in result.columns:
            raise ValueError(f"result needs columns 'id' and {hue!r}")
        lab = result.set_index("id")[hue].astype(object)
        if "evaluable" in result:
            lab = lab.where(result.set_index("id")["evaluable"].astype(bool), "not evaluable")
        d = d.assign(_hue=d[id].map(lab).fillna("not evaluable"))
    else:
        d = d.assign(_hue="client")
    palette = {k: v for k, v in CATEGORY_COLOURS.items() if k in set(d["_hue"])}
    palette = palette or {"client": "#4575b4"}
    seen = set()
    for _key, sub in d.groupby(id, sort=False):
        h = sub["_hue"].iloc[0]
        ax.plot(
            sub[time],
            sub[outcome],
            color=palette.get(h, "#4575b4"),
            lw=0.8,
            alpha=0.6,
            marker="o",
            ms=2.5,
            label=None if h in seen else h,
        )
        seen.add(h)
    ax.set_xlabel(time_label)
    ax.set_ylabel(f"{measure_label} ({units})")
    ax.set_title(title or f"Individual trajectories: {measure_label}")
    if result is not None:
        ax.legend(loc="best", fontsize="small", title=hue.replace("_", " "))
    set_alt_text(
        ax,
        f"Line plot of {d[id].nunique()} clients' {measure_label} over {time_label}, one line per "
        "client" + (f", coloured by {hue.replace('_', ' ')}." if result is not None else "."),
    )
    return ax
