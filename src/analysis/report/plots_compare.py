"""Figures for comparing definitions: agreement heat map, UpSet, survival, forest, caterpillar.

Like :mod:`analysis.report.plots`, each helper takes ``ax=None`` (or builds its own figure),
returns the
axes (the UpSet helper returns the figure), gives every axis a label with units and a title, and
attaches alt text (``figure.alt_text``) for :func:`analysis.report.tables.show_figure`.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.report.plots import set_alt_text

__all__ = [
    "kappa_heatmap",
    "upset_figure",
    "km_plot",
    "cif_plot",
    "forest_plot",
    "caterpillar_plot",
]


def _label(d: str) -> str:
    return str(d).replace("_", " ")


def kappa_heatmap(
    matrix: pd.DataFrame,
    ax: Axes | None = None,
    title: str = "Agreement between definitions",
    value_label: str = "Cohen's kappa",
    hidden: pd.DataFrame | None = None,
) -> Axes:
    """Heat map of a square agreement matrix (:func:`analysis.compare.agreement.agreement_matrix`).

    Parameters
    ----------
    matrix : pandas.DataFrame
        Definitions x definitions (labels as shown), float.
    ax : matplotlib.axes.Axes, optional
        Where to draw; default a new figure.
    title, value_label : str
        Title and colour-bar label (a kappa label fixes the scale at -1 to 1).
    hidden : pandas.DataFrame, optional
        Boolean, the shape of ``matrix``: True where disclosure control hides the pair's value
        (:func:`analysis.report.disclosure_tables.mask_matrix`). Such a cell is drawn grey and
        annotated "hidden", and its value is never drawn (even if ``matrix`` holds one).

    Returns
    -------
    matplotlib.axes.Axes
        With alt text saying how many pairs are hidden.

    Notes
    -----
    Cells with an undefined value (NaN, not hidden) are left blank and marked "undefined".
    """
    n = len(matrix)
    ax = ax if ax is not None else plt.subplots(figsize=(1.2 * n + 3, 1.0 * n + 2))[1]
    vals = matrix.to_numpy(dtype=float).copy()
    gone = (
        np.zeros(vals.shape, dtype=bool)
        if hidden is None
        else hidden.reindex(index=matrix.index, columns=matrix.columns, fill_value=False)
        .astype(bool)
        .to_numpy()
    )
    vals[gone] = np.nan
    im = ax.imshow(
        np.ma.masked_invalid(vals),
        cmap="RdYlGn",
        vmin=-1 if "kappa" in value_label.lower() else None,
        vmax=1 if "kappa" in value_label.lower() else None,
    )
    labels = [_label(c) for c in matrix.columns]
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    for i in range(n):
        for j in range(n):
            v = vals[i, j]
            if gone[i, j]:
                ax.add_patch(
                    plt.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="lightgrey", edgecolor="none")
                )
            ax.text(
                j,
                i,
                "hidden" if gone[i, j] else "undefined" if np.isnan(v) else f"{v:.2f}",
                ha="center",
                va="center",
                fontsize="small",
            )
    ax.figure.colorbar(im, ax=ax, label=value_label)
    ax.set_xlabel("definition")
    ax.set_ylabel("definition")
    ax.set_title(title)
    n_hidden = int(np.triu(gone, 1).sum())
    set_alt_text(
        ax,
        f"Heat map of {value_label} between every pair of {n} outcome definitions; "
        "greener cells agree more; 'undefined' where a definition is constant"
        + (
            f"; {n_hidden} pairs hidden by disclosure control (grey, 'hidden')."
            if n_hidden
            else "."
        ),
    )
    return ax


def upset_figure(
    patterns: pd.DataFrame,
    title: str = "Who succeeds under which definitions",
    n_evaluable: int | None = None,
    label=None,
    partial: bool = False,
) -> Figure:
    """UpSet plot (upsetplot) of success patterns (``agreement.overlap_patterns``).

    Parameters
    ----------
    patterns : pandas.DataFrame
        The patterns to draw: one 0/1 column per definition and ``n_clients``.
    title : str
        Figure title.
    n_evaluable : int, optional
        Clients evaluable under every definition, when ``patterns`` leaves some out (patterns of
        fewer than 5 clients hidden by disclosure control): the caption then gives both numbers,
        so that it agrees with the figure.
    label : callable, optional
        Definition name -> label (the definitions file's); default the name in words.
    partial : bool
        ``patterns`` leaves some out but their total may not be shown (the run's disclosure
        plan does not show the number evaluable under all definitions: with the shown sum it
        would give the hidden patterns' sum): the caption says the figure holds the patterns
        shown only, without the total. Whenever patterns are left out the set-size bars are
        not drawn (they would be sums over the shown patterns, not the definitions' set sizes).

    Returns
    -------
    matplotlib.figure.Figure
        With ``alt_text`` set.

    Raises
    ------
    ValueError
        If there is no pattern to draw.
    """
    from upsetplot import UpSet

    defs = [c for c in patterns.columns if c != "n_clients"]
    if patterns.empty:
        raise ValueError("no client is evaluable under every definition: nothing to draw")
    name = label or _label
    series = patterns.rename(columns={d: name(d) for d in defs}).set_index([name(d) for d in defs])[
        "n_clients"
    ]
    fig = plt.figure(figsize=(2 + 0.6 * len(patterns), 2 + 0.5 * len(defs)))
    with warnings.catch_warnings():
        # upsetplot 0.9 triggers pandas FutureWarnings internally (downcasting, groupby)
        warnings.simplefilter("ignore", FutureWarning)
        # every shown pattern meets no definition (set sizes all 0): matplotlib widens the axis
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high")
        # with patterns left out, upsetplot's set-size bars would be sums over the shown
        # patterns only, not the definitions' set sizes: not drawn then
        whole = not (partial or (n_evaluable is not None and int(n_evaluable) != series.sum()))
        axes = UpSet(series, sort_by="cardinality", totals_plot_elements=2 if whole else 0).plot(
            fig=fig
        )
    # upsetplot's default axis names ("Intersection size") in the report's words
    axes["intersections"].set_ylabel("clients with this pattern")
    if whole:  # the set-size bars are drawn
        axes["totals"].set_xlabel("clients meeting it")
    fig.suptitle(title)
    shown = int(patterns["n_clients"].sum())
    among = f"among {shown} clients evaluable under all {len(defs)} definitions"
    if partial and n_evaluable is None:
        among = (
            f"among the clients evaluable under all {len(defs)} definitions, in the patterns "
            f"shown ({shown} clients; patterns hidden by disclosure control are left out)"
        )
    elif n_evaluable is not None and int(n_evaluable) != shown:
        among = (
            f"among the {int(n_evaluable)} clients evaluable under all {len(defs)} definitions "
            f"({shown} of them in the patterns shown; the smallest patterns are left out)"
        )
    fig.alt_text = (  # type: ignore[attr-defined]
        f"UpSet plot: bars give the number of clients who meet exactly the set of definitions "
        f"marked by the dots below them, {among}."
        + (
            ""
            if whole
            else " No set-size bars: with patterns left out they would not be the numbers who "
            "meet each definition."
        )
    )
    return fig


def km_plot(
    curves: pd.DataFrame,
    units: str = "sessions",
    ax: Axes | None = None,
    title: str = "Time to first success (Kaplan-Meier)",
    value: str = "proportion_met",
    ylabel: str = "clients who met the definition (%)",
) -> Axes:
    """Step curves of the cumulative share meeting each definition, with pointwise 95 % bands.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`analysis.compare.survival.km_curves` (``value="proportion_met"``) or
        :func:`analysis.compare.survival.cumulative_incidence` (``value="cumulative_incidence"``).
    units : str
        Time unit for the x label (sessions, weeks, months).
    """
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4.5))[1]
    for d, sub in curves.groupby("definition", sort=False):
        line = ax.step(sub["time"], 100 * sub[value], where="post", label=_label(d))[0]
        ax.fill_between(
            sub["time"],
            100 * sub["ci_low"].fillna(sub[value]),
            100 * sub["ci_high"].fillna(sub[value]),
            step="post",
            alpha=0.15,
            color=line.get_color(),
        )
    ax.set_ylim(0, 100)
    ax.set_xlabel(f"time since baseline ({units})")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:  # no curve may be left (disclosure control)
        ax.legend(fontsize="small", loc="best")
    set_alt_text(
        ax,
        f"{title}: one step curve per definition of the percentage of clients who "
        f"have met it, against {units} since baseline, with shaded 95 % intervals.",
    )
    return ax


def cif_plot(
    cif: pd.DataFrame,
    units: str = "sessions",
    ax: Axes | None = None,
    title: str = "Cumulative incidence of success, dropout as a competing risk",
) -> Axes:
    """:func:`km_plot` for Aalen-Johansen cumulative incidence curves."""
    return km_plot(
        cif,
        units=units,
        ax=ax,
        title=title,
        value="cumulative_incidence",
        ylabel="cumulative incidence of success (%)",
    )


def forest_plot(
    table: pd.DataFrame,
    estimate: str,
    low: str,
    high: str,
    label: str = "definition",
    ref: float = 0.0,
    log: bool = False,
    xlabel: str = "estimate",
    title: str = "",
    ax: Axes | None = None,
    n_hidden: int = 0,
) -> Axes:
    """Point estimates with intervals, one row per ``label``; NaN estimates are skipped.

    ``table`` holds only the rows that may be shown; ``n_hidden`` rows left out by disclosure
    control are counted in the alt text.
    """
    t = table.dropna(subset=[estimate]).reset_index(drop=True)
    ax = ax if ax is not None else plt.subplots(figsize=(6.5, 0.45 * max(len(t), 2) + 1.5))[1]
    y = np.arange(len(t))[::-1]
    est = t[estimate].to_numpy(dtype=float)
    ax.errorbar(
        est,
        y,
        # arrays, not Series: matplotlib warns on a one-row Series (float() of a Series)
        xerr=np.vstack([est - t[low].to_numpy(dtype=float), t[high].to_numpy(dtype=float) - est]),
        fmt="o",
        color="black",
        capsize=3,
    )
    ax.axvline(ref, color="grey", ls="--", lw=1)
    if log:
        ax.set_xscale("log")
    ax.set_yticks(y, [_label(v) for v in t[label]])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label.replace("_", " "))
    ax.set_title(title)
    set_alt_text(
        ax,
        f"Forest plot: {xlabel} with 95 % intervals for {len(t)} "
        f"{label.replace('_', ' ')}s; the dashed line marks no effect ({ref:g})"
        + (f"; {n_hidden} hidden by disclosure control are not drawn." if n_hidden else "."),
    )
    return ax


def caterpillar_plot(
    effects: pd.DataFrame,
    units: str = "points",
    ax: Axes | None = None,
    title: str = "Therapist effects",
) -> Axes:
    """Sorted therapist random intercepts with 95 % intervals (``alliance.therapist_icc``).

    Therapists are shown by rank only, never by identifier.
    """
    e = effects.sort_values("effect").reset_index(drop=True)
    ax = ax if ax is not None else plt.subplots(figsize=(7, 4))[1]
    x = np.arange(1, len(e) + 1)
    ax.errorbar(
        x,
        e["effect"],
        yerr=[e["effect"] - e["ci_low"], e["ci_high"] - e["effect"]],
        fmt="o",
        ms=3,
        color="black",
        ecolor="grey",
        capsize=0,
    )
    ax.axhline(0, color="firebrick", lw=1)
    ax.set_xlabel("therapist (ranked by estimated effect)")
    ax.set_ylabel(f"deviation from the average ({units})")
    ax.set_title(title)
    set_alt_text(
        ax,
        f"Caterpillar plot of {len(e)} therapists' estimated deviations from the "
        f"average outcome ({units}), sorted, with 95 % intervals; the red line is the "
        "average.",
    )
    return ax
