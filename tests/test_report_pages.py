"""Reviewer-grade pages (issue 17, items 1-3): the index links every report and CSV, reports link
back, a report with nothing to show is not produced, numbers read as in a paper, and the run-wide
disclosure plan recovers nothing by subtraction.

The disclosure test here works on synthetic outcomes with the structure of a run (several
definitions sharing not-evaluable clients, two arms, 2 x 2 tables, categories): the audit of
:func:`analysis.report.disclosure.recoverable` over every count of the plan plus a brute-force
search of signed sums of up to three shown counts.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.report import disclosure, text
from analysis.report.html import BACK_LINK, NOT_PRODUCED_SUFFIX, render_html
from analysis.report.index import multiverse_range, not_produced, write_index


def _run_dir(root: Path, name: str = "btheb") -> Path:
    d = root / name
    d.mkdir(parents=True)
    info = {
        "run": name,
        "title": "Beat the Blues trial, BDI-II",
        "dataset": name,
        "simulated": False,
        "description": "trial",
        "parameters": {"measure": "bdi2", "reliability_source": "x" * 300},
        "data_sha256": "f" * 64,
        "n_clients": 100,
        "versions": {"analysis": "0.2.0"},
        "git_commit": "abc",
        "date": "2026-12-01",
        "notebooks": [
            {
                "notebook": "01_outcome_definitions.ipynb",
                "html": "01_outcome_definitions.html",
                "ok": True,
                "error": "",
            },
            {"notebook": "04_alliance.ipynb", "html": "04_alliance.html", "ok": True, "error": ""},
        ],
    }
    (d / "run.json").write_text(json.dumps(info))
    (d / "01_outcome_definitions.html").write_text("<html><body>r</body></html>")
    pd.DataFrame(
        {
            "family": ["symptom"],
            "definition": ["response"],
            "n_met": [20],
            "n_evaluable": [80],
            "n_not_evaluable": [20],
            "proportion": [0.25],
            "ci_low": [0.17],
            "ci_high": [0.35],
        }
    ).to_csv(d / "prevalence.csv", index=False)
    pd.DataFrame(
        {
            "spec": ["a", "b", "c", "d"],
            "n_met": [10, 0, 20, 3],
            "n_evaluable": [40, 0, 40, 40],
            "rate": [0.25, None, 0.5, 0.075],
        }
    ).to_csv(d / "multiverse.csv", index=False)
    return d


def test_index_links_every_report_and_csv_and_says_why_a_report_is_missing(tmp_path):
    d = _run_dir(tmp_path)
    not_produced(d, "04_alliance", "The dataset has no alliance scores.")
    page = write_index(tmp_path).read_text("utf-8")
    assert '<a href="btheb/01_outcome_definitions.html">Outcome definitions</a>' in page
    for csv in ("prevalence.csv", "multiverse.csv"):
        assert f'<a href="btheb/{csv}">{csv}</a>' in page
    # the alliance report is not linked; the index says why
    assert "04_alliance.html" not in page
    assert "Alliance: <em>not produced</em>: The dataset has no alliance scores." in page
    # multiverse range over the shown specifications only, as notebook 05 states it (25 % and
    # 50 %; b not computed; d's 3 of 40 is a small count, hidden under suppression, the default)
    assert (
        "multiverse: 25.0 % to 50.0 % success over the 2 specifications shown (of 3 computed)"
        in page
    )
    # long parameter values wrap (no table wider than the page at 1280 px)
    assert "overflow-wrap:anywhere" in page and "table-layout:fixed" in page
    # parameter names by their labels (analysis.report.tables.PARAMETER_LABELS)
    assert "source of the reliability: " in page
    # an instrument code shows as the instrument's label (registry: bdi2 is BDI-II)
    assert "primary measure: BDI-II" in page and "bdi2" not in page


def test_index_says_what_each_report_answers_from_its_own_heading(tmp_path):
    """A newcomer read only "Outcome definitions", "Agreement" ... on the index: each link now
    carries the report's own heading (its notebook's first level-1 title, one producer)."""
    import json

    d = _run_dir(tmp_path)
    nb = {
        "cells": [
            {"cell_type": "code", "source": "x = 1"},
            {"cell_type": "markdown", "source": ["# Who counts as a success?\n", "Text.\n"]},
        ]
    }
    (d / "01_outcome_definitions.ipynb").write_text(json.dumps(nb), "utf-8")
    page = write_index(tmp_path).read_text("utf-8")
    assert (
        '<a href="btheb/01_outcome_definitions.html">Outcome definitions</a>: '
        "Who counts as a success?" in page
    )


def test_index_lists_identifiable_files_apart_marked_not_for_sharing(tmp_path):
    """quarantine.csv (a user's rejected records: client ids, raw values) and a per-client
    outcomes file are not among the shareable tables; they are listed apart, marked."""
    d = _run_dir(tmp_path)
    pd.DataFrame({"client": ["c1"], "value": ["x"]}).to_csv(d / "quarantine.csv")
    pd.DataFrame({"id": ["c1"]}).to_csv(d / "outcomes-identifiable.csv")
    page = write_index(tmp_path).read_text("utf-8")
    shareable = page.split("<details>", 1)[1].split("</details>", 1)[0]
    assert "2 tables (CSV)" in shareable  # prevalence.csv and multiverse.csv only
    assert "quarantine" not in shareable and "identifiable" not in shareable
    marked = page.split("Identifiable, not for sharing", 1)[1].split("</p>", 1)[0]
    assert '<a href="btheb/quarantine.csv">quarantine.csv</a>' in marked
    assert '<a href="btheb/outcomes-identifiable.csv">outcomes-identifiable.csv</a>' in marked
    # a run without such files shows no such line
    (d / "quarantine.csv").unlink()
    (d / "outcomes-identifiable.csv").unlink()
    assert "not for sharing" not in write_index(tmp_path).read_text("utf-8")


def test_multiverse_range_absent_or_empty(tmp_path):
    assert multiverse_range(tmp_path) == ""
    pd.DataFrame({"spec": ["a"], "rate": [None]}).to_csv(tmp_path / "multiverse.csv")
    assert multiverse_range(tmp_path) == ""


def test_multiverse_range_counts_suppressed_rates_as_computed(tmp_path):
    # the masked multiverse.csv: 5 grid rows, 4 computable; of those, 2 rates are shown as
    # "suppressed" (disclosure control) and 2 are numbers -> 2 shown of 4 computed (the reviewer
    # found "247 shown (of 247 computed)" where notebook 05 said 288 computed)
    (tmp_path / "multiverse.csv").write_text(
        "spec,computable,n_met,n_evaluable,rate\n"
        "a,True,10,40,0.25\nb,True,<5,40,suppressed\nc,True,20,40,0.5\n"
        "d,True,suppressed,40,suppressed\ne,False,0,0,\n"
    )
    assert multiverse_range(tmp_path, suppress=True) == (
        "multiverse: 25.0 % to 50.0 % success over the 2 specifications shown (of 4 computed)"
    )


def test_report_links_back_and_is_not_written_when_nothing_to_show(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Alliance")]
    ipynb = tmp_path / "04_alliance.ipynb"
    nbformat.write(nb, ipynb)
    page = render_html(ipynb, tmp_path / "04_alliance.html", provenance={"run": "x"})
    body = page.read_text("utf-8")
    assert BACK_LINK in body and 'href="../index.html"' in body
    assert "<title>Alliance</title>" in body  # the title in words, not the file name
    (tmp_path / f"04_alliance{NOT_PRODUCED_SUFFIX}").write_text("No alliance scores.")
    out = render_html(ipynb, tmp_path / "04_alliance.html", provenance={"run": "x"})
    assert not out.exists()  # the stale page is removed, none written
    # a failed notebook is always rendered (with its banner), marker or not
    out = render_html(ipynb, tmp_path / "04_alliance.html", failure="boom")
    assert "THIS REPORT FAILED" in out.read_text("utf-8")


def test_numbers_read_as_in_a_paper():
    assert [text.format_p(p) for p in (0.0, 0.0004, 0.001, 0.0234, 0.5, np.nan)] == [
        "< .001",
        "< .001",
        ".001",
        ".023",
        ".500",
        "",
    ]
    assert text.number(-0.0004) == "0.00" and text.number(-0.004, 2) == "0.00"
    assert text.number(-0.006, 2) == "-0.01"
    # the "6.0 (4.0 to nan)": a Kaplan-Meier bound the curve never reaches
    assert text.format_estimate([6.0], [4.0], [np.nan], 1) == ["6.0 (4.0 to not reached)"]
    km = pd.DataFrame(
        {
            "definition": ["reliable_improvement"],
            "n": [40],
            "n_met": [20],
            "n_dropout": [6],
            "median": [np.nan],
            "median_ci_low": [np.nan],
            "median_ci_high": [np.nan],
            "proportion_met_end": [0.4],
        }
    )
    lab = text.labeller([{"name": "reliable_improvement", "label": "Reliable improvement (JT)"}])
    shown = text.format_km(km, "sessions", label=lab)
    assert shown.iloc[0].tolist()[0] == "Reliable improvement (JT)"
    assert shown.iloc[0, 4] == "not reached"
    assert "nan" not in " ".join(map(str, shown.iloc[0].tolist()))


def _synthetic_run(seed: int, n: int) -> tuple[pd.DataFrame, pd.Series]:
    """Three definitions on ``n`` clients, 3 clients not evaluable under all, two arms, JT
    categories with a rare 'harmed' (2 clients), like BtheB's structure."""
    rng = np.random.default_rng(seed)
    ids = np.arange(n)
    arm = pd.Series(np.where(rng.random(n) < 0.5, "A", "B"), index=ids)
    ne = set(rng.choice(ids, 3, replace=False).tolist())
    rows = []
    cats = np.array(["recovered", "improved", "unchanged", "deteriorated", "harmed"])
    for d, p in (("remission", 0.3), ("response", 0.35), ("clinically_significant", 0.1)):
        met = rng.random(n) < p
        for i in ids:
            status = "not_evaluable" if i in ne else ("met" if met[i] else "not_met")
            cat = None
            if d == "clinically_significant" and i not in ne:
                cat = "recovered" if met[i] else cats[1 + (i % 4) if i % 17 else 4]
            rows.append((i, d, status, cat))
    out = pd.DataFrame(rows, columns=["id", "definition", "status", "category"])
    return out, arm


def _brute_force(m: pd.DataFrame, plan: pd.DataFrame, depth: int = 3) -> list:
    shown = plan.loc[~plan["suppressed"], "cell"].tolist()
    hidden = plan.loc[plan["suppressed"] & (plan["count"] > 0), "cell"].tolist()
    x = m.astype(int)
    hid = {h: x[h].to_numpy() for h in hidden}
    found = []
    vecs = {c: x[c].to_numpy() for c in shown}
    for k in range(1, depth + 1):
        for combo in itertools.combinations(shown, k):
            for signs in itertools.product((1, -1), repeat=k):
                v = sum(s * vecs[c] for s, c in zip(signs, combo, strict=True))
                for h, hv in hid.items():
                    if np.array_equal(v, hv):
                        found.append((h, combo, signs))
    return found


def test_run_plan_recovers_nothing_across_the_tables_of_a_run():
    """Every count of a 29-client run (prevalence overall and by arm, every 2 x 2 table and its
    total, categories): no hidden count is a linear combination of shown ones, and no signed sum
    of up to three shown counts equals a hidden one. Primary suppression alone leaks."""
    out, arm = _synthetic_run(17, 29)
    defs = ["remission", "response", "clinically_significant"]
    pairs = list(itertools.combinations(defs, 2))
    m = disclosure.outcome_cells(out, arm, pairs)
    plan = disclosure.run_plan(out, arm, pairs)
    hidden = plan.loc[plan["suppressed"], "cell"].tolist()
    assert "remission: not_evaluable" in hidden  # 3 clients
    assert disclosure.recoverable(m, hidden) == []
    assert _brute_force(m, plan) == []
    primary = plan.loc[plan["reason"].str.startswith("primary"), "cell"].tolist()
    assert disclosure.recoverable(m, primary)  # N - evaluable = not evaluable, as in the issue
    # the same inputs give the same plan (every notebook of a run computes or reads the same)
    again = disclosure.run_plan(out.sample(frac=1, random_state=1), arm, pairs)
    assert again.set_index("cell")["suppressed"].equals(plan.set_index("cell")["suppressed"])


def test_plan_file_keeps_no_hidden_value(tmp_path):
    out, arm = _synthetic_run(3, 29)
    plan = disclosure.run_plan(out, arm)
    path = disclosure.write_plan(plan, tmp_path)
    back = disclosure.read_plan(tmp_path)
    assert back["count"].isna().equals(plan["suppressed"])
    written = path.read_text()
    for cell, count in plan.loc[plan["suppressed"], ["cell", "count"]].itertuples(index=False):
        line = next(ln for ln in written.splitlines() if ln.startswith(f"{cell},"))
        assert f",{count}," not in line


def test_prevalence_and_pairs_follow_the_plan():
    out, arm = _synthetic_run(17, 29)
    from analysis.compare import agreement
    from analysis.compare import prevalence as stats

    plan = disclosure.run_plan(out, arm, [("remission", "response")])
    prev = stats.prevalence(out)
    shown = text.format_prevalence_plan(prev, plan)
    row = shown.set_index("definition").loc["remission"]
    assert row["not evaluable"] == "<5"
    hid = set(plan.loc[plan["suppressed"], "cell"])
    if {"remission: met", "remission: not_met", "remission: evaluable"} & hid:
        assert row["% met (95 % CI)"] == "suppressed"
    pairs = agreement.pairwise_agreement(out.loc[out["definition"].isin(["remission", "response"])])
    fp = text.format_pairs(pairs, plan=plan)
    cells = [
        f"remission x response: {x}/{y}" for x in ("met", "not_met") for y in ("met", "not_met")
    ]
    if hid & set(cells):
        assert (
            fp.iloc[0][["% agree", "kappa (95 % CI)", "PABAK", "McNemar p"]] == "suppressed"
        ).all()


def test_jacobson_plot_on_real_data_shows_no_client():
    """Aggregated: no scatter points, every drawn hexagon holds at least 5 clients, the two
    'harmed' clients appear only as "harmed: <5" in the legend (issue 17: BtheB's two orange
    points, HELP's single red one)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PathCollection, PolyCollection

    from analysis.report.plots import jacobson_plot

    rng = np.random.default_rng(5)
    pre = rng.normal(30, 5, 60)
    post = pre - rng.normal(8, 6, 60)
    cat = np.array(["improved"] * 30 + ["unchanged"] * 28 + ["harmed"] * 2, dtype=object)
    res = pd.DataFrame(
        {
            "pre": pre,
            "post": post,
            "rci": (post - pre) / 4,
            "cutoff": 20.0,
            "category": cat,
            "evaluable": True,
        }
    )
    ax = jacobson_plot(res, measure_label="BDI-II", aggregate=True, threshold=5)
    hexes = [
        c for c in ax.collections if isinstance(c, PolyCollection) and c.get_array() is not None
    ]
    assert len(hexes) == 1 and (np.asarray(hexes[0].get_array()) >= 5).all()
    assert np.asarray(hexes[0].get_array()).sum() <= 60
    assert not [c for c in ax.collections if type(c) is PathCollection]  # no points
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "harmed: <5" in labels and "improved: 30" in labels
    assert "no individual client shown" in ax.figure.alt_text
    # simulated data: one point per client
    ax = jacobson_plot(res, measure_label="PHQ-9")
    assert [c for c in ax.collections if type(c) is PathCollection]
