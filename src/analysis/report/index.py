"""The index page of a main-job output folder: every run, its reports, its CSV tables.

The index reads only what the runs wrote beside their reports (``run.json``, the headline
prevalence CSV, ``multiverse.csv``, the names of the CSV files and of reports that were not
produced); it never reads client-level data.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.html import NOT_PRODUCED_SUFFIX, PAGE_STYLE
from analysis.report.tables import disclosure_parameters, parameter_label, parameter_value

__all__ = [
    "write_index",
    "not_produced",
    "NOT_PRODUCED_SUFFIX",
    "multiverse_range",
    "is_identifiable",
    "IDENTIFIABLE_FILES",
]

#: Files a run writes that hold client-level, identifiable data, by exact name: the records of a
#: user's export that were quarantined (client ids and raw values; ``analysis.run.execute``).
#: Client-level tables written on request are named ``*-identifiable.csv``
#: (``analysis.report.tables.write_identifiable_csv``).
IDENTIFIABLE_FILES = frozenset({"quarantine.csv"})


def is_identifiable(name: str) -> bool:
    """Whether a file in a run's folder holds identifiable client-level data (not for sharing).

    Examples
    --------
    >>> names = ["quarantine.csv", "outcomes-identifiable.csv", "prevalence.csv"]
    >>> [is_identifiable(n) for n in names]
    [True, True, False]
    """
    return name in IDENTIFIABLE_FILES or name.endswith("-identifiable.csv")


def not_produced(folder: str | Path, notebook: str, reason: str) -> Path:
    """Record that a notebook's report is not produced on this run, and why (one sentence).

    The renderer then writes no HTML for it and the index shows the sentence instead of a link.

    Parameters
    ----------
    folder : str or Path
        The run's output folder (the notebook's ``output_dir``).
    notebook : str
        The notebook's file stem, e.g. ``"04_alliance"``.
    reason : str
        One sentence for the index, e.g. "The dataset has no alliance scores."

    Returns
    -------
    Path
        The marker file.

    Examples
    --------
    >>> import tempfile
    >>> p = not_produced(tempfile.mkdtemp(), "04_alliance", "No alliance scores.")
    >>> p.name, p.read_text()
    ('04_alliance.not_produced.txt', 'No alliance scores.')
    """
    path = Path(folder) / f"{notebook}{NOT_PRODUCED_SUFFIX}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(reason.strip(), encoding="utf-8")
    return path


def multiverse_range(run_dir: Path, suppress: bool | None = None) -> str:
    r"""The range of success rates over the shown specifications of ``multiverse.csv``.

    The same range as notebook 05 states: over the computed specifications whose rate may be
    shown (:func:`analysis.report.multiverse_tables.shown_results`: under small-count
    suppression, none whose rate rests on a count from 1 to 4).

    Parameters
    ----------
    run_dir : Path
        The run's folder.
    suppress : bool, optional
        Small-count suppression; default the run's ``suppress_small_counts`` from ``run.json``
        (on when absent).

    Returns
    -------
    str
        ``"multiverse: 31.2 % to 58.0 % success over the 96 specifications shown (of 100
        computed)"``, or ``""`` when the file is absent, has no computed ``rate`` shown, or lacks
        the counts (``n_met``, ``n_evaluable``) that suppression needs. ``rate`` is a proportion
        (0-1). The computed specifications are those the ``computable`` column marks true
        (a rate masked as "suppressed" in the file was computed all the same); without that
        column, the rows with a rate.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "multiverse.csv").write_text(
    ...     "spec,n_met,n_evaluable,rate\na,10,40,0.25\nb,0,0,\nc,20,40,0.5\nd,3,40,0.075\n"
    ... )
    >>> multiverse_range(d)
    'multiverse: 25.0 % to 50.0 % success over the 2 specifications shown (of 3 computed)'
    >>> multiverse_range(d, suppress=False)
    'multiverse: 7.5 % to 50.0 % success over the 3 specifications shown (of 3 computed)'
    """
    from analysis.report.multiverse_tables import shown_results

    path = Path(run_dir) / "multiverse.csv"
    if not path.exists():
        return ""
    mv = pd.read_csv(path, comment="#")
    if "rate" not in mv.columns:
        return ""
    rj = Path(run_dir) / "run.json"
    params = json.loads(rj.read_text("utf-8")).get("parameters", {}) if rj.exists() else {}
    if suppress is None:
        suppress = bool(params.get("suppress_small_counts", True))
    if suppress and not {"n_met", "n_evaluable"} <= set(mv.columns):
        return ""
    # computed = the grid's computable specifications, counted before the rates are made numbers:
    # a rate hidden by disclosure control ("suppressed") was computed all the same
    if "computable" in mv.columns:
        n_computed = int(mv["computable"].astype(str).str.lower().isin(["true", "1"]).sum())
    else:
        n_computed = int(mv["rate"].notna().sum())
    mv["rate"] = pd.to_numeric(mv["rate"], errors="coerce")
    shown, _ = shown_results(mv, suppress=suppress)
    rate = shown["rate"]
    if rate.empty:
        return ""
    # whole percentages under the rounding method (as its reports show them)
    rounding = params.get("disclosure_method") == "rounding" and params.get(
        "suppress_small_counts", True
    )
    dp = ".0f" if rounding else ".1f"
    return (
        f"multiverse: {100 * rate.min():{dp}} % to {100 * rate.max():{dp}} % success over the "
        f"{len(rate)} specifications shown (of {n_computed} computed)"
    )


def _headline(run_dir: Path, info: dict[str, Any]) -> str:
    """The run's headline table, exactly as notebook 01 showed it (its shown-values CSV)."""
    from analysis.report.tables import format_prevalence, table_html

    shown = run_dir / "prevalence_headline_shown.csv"  # what notebook 01 displayed, suppressed
    if shown.exists():
        return table_html(pd.read_csv(shown, dtype=str, keep_default_na=False))
    prev = run_dir / "prevalence_headline.csv"
    if not prev.exists():
        prev = run_dir / "prevalence.csv"
    if not prev.exists():
        return "<em>no headline table</em>"
    suppress = info.get("parameters", {}).get("suppress_small_counts", not info.get("simulated"))
    return table_html(format_prevalence(pd.read_csv(prev), suppress=bool(suppress)))


def _title(stem: str) -> str:
    words = stem.split("_", 1)[-1] if stem[:2].isdigit() else stem
    return words.replace("_", " ").capitalize()


def _question(run_dir: Path, stem: str) -> str:
    """Return the report's own heading: its notebook's first level-1 title.

    E.g. "Do the definitions agree?"; "" when the executed notebook is not there or has none.
    """
    path = run_dir / f"{stem}.ipynb"
    try:
        cells = json.loads(path.read_text("utf-8")).get("cells", [])
    except (OSError, ValueError):
        return ""
    for cell in cells:
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return ""


def write_index(out_root: Path) -> Path:
    """Write ``index.html`` listing every run found under ``out_root`` (from its ``run.json``).

    Each run shows its title, a link to every report with the question it answers (the report's
    own heading; failed ones marked; a report not produced shows why instead), a link to every
    CSV table beside the reports (identifiable files, see :func:`is_identifiable`, listed apart
    and marked not for sharing), the dataset and whether it
    is simulated, the final typed parameters, the SHA-256 of the input data, git commit, date,
    package versions, the headline table (success rate per definition with its 95 % CI) and, when
    the run wrote ``multiverse.csv``, the range of its success rates. Failures are listed first.
    No client-level data is read. The page holds at 1280 px: long values wrap.

    Parameters
    ----------
    out_root : Path
        The main job's output folder (``<out_root>/<run>/run.json`` per run).

    Returns
    -------
    Path
        ``out_root / "index.html"``.
    """
    rows, failures = [], []
    for rj in sorted(Path(out_root).glob("*/run.json")):
        info = json.loads(rj.read_text("utf-8"))
        run_dir = rj.parent
        run = html.escape(info["run"])
        for n in info["notebooks"]:
            if not n["ok"]:
                failures.append(f"<li>run {run}: {html.escape(n['error'])}</li>")
        items = []
        for n in info["notebooks"]:
            stem = Path(n["notebook"]).stem
            marker = run_dir / f"{stem}{NOT_PRODUCED_SUFFIX}"
            if n["ok"] and marker.exists():
                items.append(
                    f"{html.escape(_title(stem))}: <em>not produced</em>: "
                    + html.escape(marker.read_text("utf-8").strip())
                )
            elif n.get("html") and (run_dir / n["html"]).exists():
                question = _question(run_dir, stem)
                items.append(
                    f'<a href="{run}/{html.escape(n["html"])}">{html.escape(_title(stem))}</a>'
                    + (f": {html.escape(question)}" if question else "")
                    + ("" if n["ok"] else ' <strong style="color:#a00">FAILED</strong>')
                )
        names = sorted(p.name for p in run_dir.glob("*.csv"))
        csvs = [c for c in names if not is_identifiable(c)]
        private = [c for c in names if is_identifiable(c)]
        csv_links = ", ".join(
            f'<a href="{run}/{html.escape(c)}">{html.escape(c)}</a>' for c in csvs
        )
        private_links = (
            '<p class="analysis-identifiable"><strong>Identifiable, not for sharing</strong> '
            "(client-level data: keep them where the raw data are kept): "
            + ", ".join(f'<a href="{run}/{html.escape(c)}">{html.escape(c)}</a>' for c in private)
            + "</p>"
            if private
            else ""
        )
        # in words, as the reports show them; run.json has the exact names and values
        params = (
            "<br>".join(
                f"{html.escape(parameter_label(k))}: {html.escape(parameter_value(v, k))}"
                for k, v in disclosure_parameters(info["parameters"]).items()
            )
            + f'<br><a href="{run}/{html.escape(rj.name)}">exact names and values (run.json)</a>'
        )

        versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        kind = {True: "<strong>SIMULATED data</strong>", False: "real data", None: "not loaded"}[
            info["simulated"]
        ]
        mv = multiverse_range(run_dir)
        rows.append(
            f"<tr><td><strong>{html.escape(info['title'])}</strong><br>run {run}<br>"
            + "<br>".join(items)
            + (f"<details><summary>{len(csvs)} tables (CSV)</summary>{csv_links}</details>")
            + private_links
            + f"</td><td>{html.escape(info['dataset'])}: {kind}"
            f"<br>{info['n_clients']} clients<br><small>{html.escape(info['description'])}"
            f"</small></td><td><small>{params}</small></td>"
            f"<td><small>input data SHA-256 <code>{info['data_sha256']}</code><br>git commit "
            f"{html.escape(info['git_commit'])}<br>{html.escape(info['date'])}<br>"
            f"{html.escape(versions)}</small></td>"
            f"<td>{_headline(run_dir, info)}"
            + (f"<p>{html.escape(mv)}</p>" if mv else "")
            + "</td></tr>"
        )
    failed = (
        (
            '<div class="analysis-failure" role="alert" style="background:#f8d7da;border:3px solid '
            '#a00;padding:1em"><strong>Some reports FAILED</strong> and must not be used:<ul>'
            + "".join(failures)
            + "</ul></div>"
        )
        if failures
        else ""
    )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Psychotherapy outcome definitions: reports</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:100%}"
        "table{border-collapse:collapse;table-layout:fixed;width:100%}"
        "td,th{border:1px solid #ccc;padding:0.4em;vertical-align:top;overflow-wrap:anywhere}"
        "td table{table-layout:auto;width:auto}</style>"
        + PAGE_STYLE
        + "</head><body class='analysis-page'>"
        "<h1>Psychotherapy outcome definitions: reports</h1>"
        + failed
        + "<p>Each run applies every report to one dataset. Success rates are per definition, "
        "among evaluable clients, with 95 % Wilson intervals. Where small-count suppression is on, "
        "counts from 1 to 4 are shown as &lt;5, further counts are hidden wherever a hidden count "
        "could otherwise be worked out from the counts shown anywhere in the run, and the "
        "percentages and statistics derived from a hidden count are hidden too; a run with the "
        "rounding method (parameter disclosure method) shows counts from 1 to 7 as 1-7, every "
        "other count rounded to the nearest 5 and percentages from the rounded counts. Per-client "
        "outcomes are written only when the run asks for them, to a file marked identifiable.</p>"
        "<table><colgroup><col style='width:22%'><col style='width:14%'><col style='width:18%'>"
        "<col style='width:16%'><col style='width:30%'></colgroup>"
        "<tr><th>run, reports and tables</th><th>data</th><th>parameters</th>"
        "<th>provenance</th><th>headline: success rate per definition</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    path = Path(out_root) / "index.html"
    path.write_text(page, encoding="utf-8")
    return path
