"""Display helpers of analysis.report.tables: small-count suppression, tables, figures, methods."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from analysis.report import tables as report


def _prev() -> pd.DataFrame:
    # hand-made prevalence rows (as analysis.compare.prevalence.prevalence returns them)
    return pd.DataFrame(
        {
            "definition": ["a", "b", "c", "d"],
            "n_met": [2, 40, 0, 48],
            "n_evaluable": [50, 97, 30, 50],
            "n_not_evaluable": [0, 3, 0, 7],
            "proportion": [0.04, 40 / 97, 0.0, 0.96],
            "ci_low": [0.011, 0.32, 0.0, 0.865],
            "ci_high": [0.135, 0.51, 0.114, 0.989],
        }
    )


def test_format_prevalence_suppresses_what_derives_from_small_counts():
    prev = _prev()
    before = prev.copy()
    out = report.format_prevalence(prev, suppress=True).set_index("definition")
    # a: 2 met of 50 -> "<5", the percentage 4.0 % would reveal it: suppressed
    assert out.loc["a", "met"] == "<5" and out.loc["a", "% met (95% CI)"] == "suppressed"
    # b: 3 not evaluable -> "<5", but 40 / 97 does not derive from it: shown
    assert out.loc["b", "not evaluable"] == "<5"
    assert out.loc["b", "% met (95% CI)"] == "41.2 (32.0 to 51.0)"  # CI as a paper prints it
    # c: zero is not a small count (nothing to disclose), shown as 0
    assert out.loc["c", "met"] == 0 and out.loc["c", "% met (95% CI)"].startswith("0.0")
    # d: 48 of 50 met: 2 not met = 50 - 48 could be recovered by subtraction -> suppressed
    assert out.loc["d", "met"] == 48 and out.loc["d", "% met (95% CI)"] == "suppressed"
    pd.testing.assert_frame_equal(prev, before)  # input not modified
    shown = report.format_prevalence(prev, suppress=False).set_index("definition")
    assert shown.loc["a", "met"] == 2 and shown.loc["a", "% met (95% CI)"].startswith("4.0")


def test_suppress_small_counts_threshold_and_unknown_basis():
    t = pd.DataFrame({"n": [1, 4, 5, 0], "pct": [1.0, 2.0, 3.0, 4.0]})
    out = report.suppress_small_counts(t, ["n"], ["pct"])
    assert out["n"].tolist() == ["<5", "<5", 5, 0]
    assert out["pct"].tolist() == ["suppressed", "suppressed", 3.0, 4.0]
    with pytest.raises(ValueError, match="derived_from"):
        report.suppress_small_counts(t, ["n"], ["pct"], derived_from=["m"])


def test_table_html_has_caption_and_escapes():
    page = report.table_html(pd.DataFrame({"x": ["<b>"]}), "My caption")
    assert page.startswith('<table class="analysis-table"><caption>My caption</caption>')
    assert "&lt;b&gt;" in page and "<b>" not in page


def test_figure_html_needs_alt_text_and_title():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(ValueError, match="alt text"):
        report.figure_html(ax)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="title"):
        report.figure_html(ax, alt="a line")
    fig, ax = plt.subplots()
    ax.set_title("A line")
    page = report.figure_html(ax, alt="a rising line")
    assert page.startswith('<figure><img src="data:image/png;base64,')
    assert 'alt="a rising line"' in page
    assert not plt.get_fignums() or fig.number not in plt.get_fignums()  # closed


def test_methods_need_a_source_for_every_row():
    ok = pd.DataFrame({"item": ["cutoff"], "value": ["14"], "source": ["Beck et al. (1996)"]})
    page = report.methods_html(ok, "First.\n\nSecond.")
    assert page.startswith('<section class="analysis-methods"><h2>Methods</h2>')
    assert "<p>First.</p><p>Second.</p>" in page
    with pytest.raises(ValueError, match="without a source: \\['cutoff'\\]"):
        report.methods_html(ok.assign(source=""))
    with pytest.raises(ValueError, match="lacks column"):
        report.methods_html(ok.drop(columns="source"))


# ------------------------------------------------------------------ where tables go, provenance


def test_output_folder_never_beside_the_notebook(tmp_path, monkeypatch):
    """An empty ``output_dir`` (a notebook run by hand in JupyterLab, working folder
    ``notebooks/``) writes under ``reports/lab``; a relative one resolves against the project
    root, not the working folder; an absolute one is kept."""
    root = tmp_path / "project"
    monkeypatch.setenv("ANALYSIS_PROJECT_ROOT", str(root))
    monkeypatch.chdir(tmp_path)  # stands for notebooks/
    table = pd.DataFrame({"definition": ["remission"], "n_met": [3]})
    written = report.write_csv(table, "", "outcomes.csv")
    assert written == root / "reports" / "lab" / "outcomes.csv"
    assert written.read_text() == "definition,n_met\nremission,3\n"
    assert report.write_csv(table, "mine", "t.csv") == root / "mine" / "t.csv"
    assert report.write_csv(table, tmp_path / "abs", "t.csv") == tmp_path / "abs" / "t.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abs", "project"]  # nothing in cwd


def test_rendered_report_carries_its_own_provenance_footer(tmp_path):
    """Each notebook's HTML ends with run, commit, date, data SHA-256 and package versions."""
    import nbformat

    from analysis.report import html as report_html
    from analysis.run import pipeline

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Outcomes")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    ipynb = tmp_path / "01_outcome_definitions.ipynb"
    nbformat.write(nb, ipynb)
    prov = {
        "run": "btheb",
        "git_commit": "abc1234",
        "date": "2026-12-01 19:00 UTC",
        "data_sha256": "f" * 64,
        "versions": {"python": "3.11.7", "analysis": "0.2.0", "pandas": "2.2.3"},
    }
    page = report_html.render_html(ipynb, tmp_path / "a.html", provenance=prov).read_text()
    footer = page[page.index('<footer class="analysis-provenance"') :]
    assert footer.index("</footer>") < footer.index("</body>")
    for text in (
        "<code>btheb</code>",
        "commit <code>abc1234</code>",
        "2026-12-01 19:00 UTC",
        "SHA-256 <code>" + "f" * 64,
        "analysis 0.2.0, pandas 2.2.3",
    ):
        assert text in footer, text
    # without a provenance record: the current commit, date and versions; no data fingerprint
    import analysis

    page = report_html.with_footer("<html><body><p>report</p></body></html>", pipeline.provenance())
    assert page.endswith("</footer></body></html>")
    assert f"analysis {analysis.__version__}" in page
    assert "SHA-256 <code>not recorded</code>" in page
