"""Labels and numbers as a reviewer reads them (issue 17 item 2): the functions of
``analysis.report.text`` and ``analysis.report.multiverse_tables`` that turn identifiers into the
labels of the definitions and instruments files and statistics into a paper's notation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.compare.multiverse import CHOICES
from analysis.registry.definitions import FAMILIES, FAMILY_LABELS
from analysis.report import multiverse_tables as mvt
from analysis.report import text
from analysis.report.html import reviewer_leftovers
from analysis.report.tables import format_prevalence, parameter_value, table_html

DEFS = [
    {"name": "wsas_reliable_improvement", "label": "WSAS reliable improvement"},
    {"name": "srs_strong_alliance", "label": "Strong alliance (SRS)"},
    {"name": "remission", "label": "Remission"},
]


def test_family_and_measure_labels_come_from_the_registry():
    # every family of the definitions file has a label, and none is an identifier
    assert set(FAMILY_LABELS) == set(FAMILIES)
    assert text.family_label("child_family") == "child and family"
    assert text.family_label("personal") == "personal markers"
    # instruments.yaml: sf36_mcs -> "SF-36 MCS", wai_sr -> "WAI-SR", sdq_total -> "SDQ total
    # (parent)"; an unknown code in words
    assert text.measure_label("sf36_mcs") == "SF-36 MCS"
    assert text.measure_label("wai_sr") == "WAI-SR"
    assert text.measure_label("sdq_total") == "SDQ total (parent)"
    assert text.measure_label("my_scale") == "my scale"


def test_name_list_and_in_words_use_labels_never_python_lists():
    lab = text.labeller(DEFS)
    names = ["wsas_reliable_improvement", "srs_strong_alliance"]
    assert text.name_list(names, lab) == "WSAS reliable improvement, Strong alliance (SRS)"
    assert "[" not in text.name_list(names, lab) and "'" not in text.name_list(names, lab)
    assert text.name_list([], lab) == "none"
    cov = text.labeller(baseline_severity="baseline PHQ-9 (per point)")
    note = "not estimable: covariate 'baseline_severity': every event has the largest value"
    assert text.in_words(note, cov) == (
        "not estimable: covariate baseline PHQ-9 (per point): every event has the largest value"
    )
    assert text.in_words("definition 'remission' was not computed", lab) == (
        "definition Remission was not computed"
    )
    # file names stay (a reader opens them); NaN is empty, never "nan"
    assert text.in_words("see prevalence_by_arm.csv") == "see prevalence_by_arm.csv"
    assert text.in_words(float("nan")) == ""


def test_statistics_table_reads_as_a_paper():
    """A within-client correlation as pingouin ``rm_corr`` returns it and a mixed-model row:
    r -0.0849 (-0.103 to -0.0667), p 1.2e-19 -> "< .001"; a p of 0.0234 -> ".023"; a p of
    exactly 0 -> "< .001" (never "p = 0"); an estimate of -0.0004 -> "0.00" (never "-0.00"); a
    NaN estimate -> "not computed"; a NaN upper bound -> "not reached"."""
    rm = pd.DataFrame(
        {
            "r": [-0.0849],
            "ci_low": [-0.103],
            "ci_high": [-0.0667],
            "p_value": [1.2e-19],
            "dof": [12087.0],
            "n_clients": [1861],
            "n_sessions": [13949],
        }
    )
    shown = text.statistics_table(rm, "r")
    assert list(shown.columns) == ["r (95 % CI)", "p", "df", "clients", "sessions"]
    assert shown.iloc[0].tolist() == ["-0.08 (-0.10 to -0.07)", "< .001", "12087", 1861, 13949]
    nxt = pd.DataFrame(
        {
            "term": ["alliance_within", "symptom", "alliance_between"],
            "estimate": [-0.0004, 0.5, np.nan],
            "se": [0.0076, 0.01, np.nan],
            "ci_low": [-0.015, 0.48, np.nan],
            "ci_high": [0.0145, np.nan, np.nan],
            "p_value": [0.0234, 0.0, np.nan],
            "note": [np.nan, "Check mle_retvals", "singular fit"],
        }
    )
    term = text.labeller(alliance_within="WAI-SR: client's deviation from own mean (per point)")
    shown = text.statistics_table(nxt, "estimate", values={"term": term}, digits=2)
    assert list(shown.columns) == ["term", "estimate (95 % CI)", "SE", "p", "note"]
    assert shown["term"].tolist() == [
        "WAI-SR: client's deviation from own mean (per point)",
        "symptom",
        "alliance between",
    ]
    assert shown["estimate (95 % CI)"].tolist() == [
        "0.00 (-0.01 to 0.01)",  # -0.0004 -> 0.00; -0.015 -> -0.01 (2 decimals, no "-0")
        "0.50 (0.48 to not reached)",
        "not computed",
    ]
    assert shown["p"].tolist() == [".023", "< .001", "not computed"]
    assert shown["SE"].tolist() == ["0.01", "0.01", "not computed"]
    assert shown["note"].tolist() == ["", "Check mle retvals", "singular fit"]
    # the raw table would be flagged on a page; the shown one is clean
    assert reviewer_leftovers(table_html(nxt))
    assert reviewer_leftovers(table_html(shown)) == []
    pd.testing.assert_frame_equal(nxt, nxt.copy())  # input not modified (a copy is shown)


def test_format_prevalence_names_families_and_prints_intervals_a_to_b():
    """14 of 34 met, Wilson 95 % CI 26.3 to 57.6 % (given): "41.2 (26.3 to 57.6)"; the family
    child_family by its label, the grouping column headed in words."""
    prev = pd.DataFrame(
        {
            "family": ["child_family", "symptom"],
            "definition": ["sdq_normal_band", "remission"],
            "n_met": [14, 0],
            "n_evaluable": [34, 0],
            "n_not_evaluable": [0, 12],
            "proportion": [14 / 34, np.nan],
            "ci_low": [0.2626, np.nan],
            "ci_high": [0.5763, np.nan],
        }
    )
    out = format_prevalence(prev, suppress=False, label=text.labeller(DEFS))
    assert out["family"].tolist() == ["child and family", "symptom"]
    assert out["definition"].tolist() == ["sdq normal band", "Remission"]
    assert out["% met (95% CI)"].tolist() == ["41.2 (26.3 to 57.6)", "not computed"]
    by_gain = prev.rename(columns={"family": "sudden_gain"})
    assert "sudden gain" in format_prevalence(by_gain, suppress=False).columns


def test_parameter_values_in_words():
    assert parameter_value("last_available") == "last available"
    assert parameter_value({"sep": ";"}) == "sep: ;"
    assert parameter_value([]) == "(empty)"
    assert parameter_value(0.92) == "0.92"
    # instrument codes as the registry's labels, only where the parameter names a measure
    assert parameter_value("bdi2", "measure") == "BDI-II"
    assert parameter_value("phq9", "measure") == "PHQ-9"
    assert parameter_value("wai_sr", "alliance_measure") == "WAI-SR"
    assert parameter_value("hope", "group") == "hope"  # not a measure parameter: as it is
    assert parameter_value("not_registered", "measure") == "not registered"
    # run parameter values by the labels defined beside their values (issue 17)
    assert parameter_value("last", "post") == "the last score observed after baseline"
    assert parameter_value("8", "post") == "the score at time 8"
    assert parameter_value("cohort", "hlm_test").startswith("client's slope against the cohort")
    assert parameter_value("default", "cutoff_type") == "registry default"
    assert parameter_value("c", "cutoff_type") == "cutoff c"
    assert parameter_value("dropout_as_failure", "missing") == "dropout counted as failure"
    assert parameter_value("first_met", "event") == "first met"
    assert parameter_value("after_gain", "sg_reversal_window").startswith("every session after")
    assert parameter_value("btheb", "dataset") == "Beat the Blues trial (built in)"
    assert parameter_value([], "compare") == "the headline definitions"
    assert parameter_value(True, "suppress_small_counts") == "on"


def test_banner_shows_the_measure_label():
    from types import SimpleNamespace

    from analysis.report.tables import banner_html

    # banner_html reads only these attributes of a cohort
    cohort = SimpleNamespace(
        simulated=False, meta={}, description="trial", name="btheb", citation="ref"
    )
    page = banner_html(cohort, {"measure": "bdi2", "alliance_measure": "wai_sr", "post": "last"})
    assert "<td>primary measure</td>\n      <td>BDI-II</td>" in page
    assert "<td>alliance measure</td>\n      <td>WAI-SR</td>" in page
    # the post rule by its label (analysis.outcomes.rules.post_label), not the code "last"
    assert "<td>post score</td>\n      <td>the last score observed after baseline</td>" in page


def _specs():
    return pd.DataFrame(
        {
            "definition": ["wsas_reliable_improvement", "mcs_reliable_improvement"],
            "cutoff_type": ["n/a", "n/a"],
            "reliability": ["0.73", "0.88"],
            "missing": ["last_available", "dropout_as_failure"],
            "post": ["last", "last"],
            "population": ["all", "all"],
            "computable": [False, True],
            "reason": ["not computed: measure WSAS not in the data", ""],
            "n_met": [np.nan, 30],
            "n_evaluable": [np.nan, 60],
            "rate": [np.nan, 0.5],
            "ci_low": [np.nan, 0.375],
            "ci_high": [np.nan, 0.625],
        }
    )


def test_multiverse_tables_describe_specifications_by_label():
    lab = text.labeller(DEFS)
    specs = _specs()
    assert mvt.describe_specification(specs.iloc[0], lab) == (
        "definition: WSAS reliable improvement; J&T cutoff: n/a; reliability (RCI): 0.73; "
        "missing data: last available score; post score: the last score observed after "
        "baseline; population: all clients"
    )
    skipped = mvt.skipped_specifications(specs, lab)
    assert skipped.iloc[0].tolist() == [
        "measure WSAS not in the data",
        1,
        "WSAS reliable improvement",
        mvt.describe_specification(specs.iloc[0], lab),
    ]
    shown = mvt.format_specifications(specs.iloc[[1]], suppress=True, label=lab)
    assert list(shown.columns[: len(CHOICES)]) == [
        "definition",
        "J&T cutoff",
        "reliability (RCI)",
        "missing data",
        "post score",
        "population",
    ]
    # no label in the file: the name in words; 30 of 60: 50.0 % (37.5 to 62.5, given)
    row = shown.iloc[0]
    assert row["definition"] == "mcs reliable improvement"
    assert row["missing data"] == "dropout counted as failure"  # the strategy's label
    assert row["population"] == "all clients" and row["post score"].startswith("the last score")
    assert row["% met (95% CI)"] == "50.0 (37.5 to 62.5)"
    ranges = mvt.range_by_definition(specs.loc[specs["computable"]], lab)
    assert ranges["definition"].tolist() == ["mcs reliable improvement", "all definitions"]
    page = table_html(skipped) + table_html(shown)
    assert reviewer_leftovers(page) == []


def test_table_html_never_prints_minus_zero_or_nan():
    """A negative zero (e.g. a PABAK of 2 x 0.5 - 1 computed as -0.0) reads "0", though
    "{:.3g}".format(-0.0) is "-0"; a NaN cell is empty; -0.5 keeps its sign."""
    page = table_html(pd.DataFrame({"PABAK": [-0.0, -0.5, np.nan]}))
    assert "<td>0</td>" in page and "<td>-0.5</td>" in page
    assert reviewer_leftovers(page) == []


def test_upset_caption_agrees_with_the_figure_when_patterns_are_hidden():
    """BtheB (issue 17): 77 clients evaluable under all 4 definitions, 6 of them in patterns of
    fewer than 5 clients left out, 71 drawn; the caption gives both numbers."""
    import matplotlib

    matplotlib.use("Agg")
    from analysis.report.plots_compare import upset_figure

    patterns = pd.DataFrame({"remission": [1, 0], "response": [1, 0], "n_clients": [30, 41]})
    fig = upset_figure(patterns, "t", n_evaluable=77, label=text.labeller(DEFS))
    assert (
        "among the 77 clients evaluable under all 2 definitions (71 of them in the patterns "
        "shown; the smallest patterns are left out). No set-size bars" in fig.alt_text
    )
    assert upset_figure(patterns, "t").alt_text.endswith(
        "among 71 clients evaluable under all 2 definitions."
    )
    # under a disclosure plan the total is not shown (77 - 71 would give the hidden patterns'
    # 6, and the plan treats that total as unshown): the caption says "patterns shown" only
    hidden = upset_figure(patterns, "t", label=text.labeller(DEFS), partial=True).alt_text
    assert (
        "among the clients evaluable under all 2 definitions, in the patterns shown (71 "
        "clients; patterns hidden by disclosure control are left out)." in hidden
    )
    assert "77" not in hidden
    # finding C5: with patterns left out upsetplot's set-size bars are sums over the shown
    # patterns only (all 30 here), not set sizes: not drawn (one axes fewer than the whole figure)
    assert hidden.endswith("would not be the numbers who meet each definition.")
    whole = upset_figure(patterns, "t", label=text.labeller(DEFS))
    part = upset_figure(patterns, "t", label=text.labeller(DEFS), partial=True)
    assert len(part.axes) == len(whole.axes) - 1


def test_prevalence_under_the_plan_names_families_too():
    """The plan-aware display (format_prevalence_plan) labels a family group like
    format_prevalence; with no plan every count is shown: 14 of 34 -> "41.2 (26.3 to 57.6)"."""
    prev = pd.DataFrame(
        {
            "family": ["child_family"],
            "definition": ["sdq_normal_band"],
            "n_met": [14],
            "n_evaluable": [34],
            "n_not_evaluable": [0],
            "proportion": [14 / 34],
            "ci_low": [0.2626],
            "ci_high": [0.5763],
        }
    )
    out = text.format_prevalence_plan(prev, None, group="family")
    assert out.iloc[0].tolist() == [
        "child and family",
        "sdq normal band",
        14,
        34,
        0,
        "41.2 (26.3 to 57.6)",
    ]


def test_scan_finds_parameter_codes_of_the_old_pages():
    """Leftovers copied from the pages of the main job before issue 17's labels (commit
    40d277c): each is flagged as a parameter code; the same facts by their labels are not."""
    old = [
        "<p>run name = btheb<br>dataset = btheb<br>post = last<br>group = arm</p>",
        "<table><tr><td>hlm test</td><td>cohort</td></tr></table>",
        "<table><tr><td>post</td><td>last</td></tr></table>",
        "<p>J&amp;T cutoff for clinically significant change cutoff published: 13.50 points</p>",
        "<p>missing data: last available; post score: last; population: all</p>",
        "<p>By default (cutoff type default) the cutoff follows the registry.</p>",
        "<table><tr><td>Remission</td><td>bocf</td><td>severe</td></tr></table>",
    ]
    for page in old:
        assert any(kind == "parameter code" for kind, _ in reviewer_leftovers(page)), page
    new = [
        "<p>run: btheb<br>dataset: Beat the Blues trial (built in)<br>post score: the last "
        "score observed after baseline<br>groups compared (client column): arm</p>",
        "<table><tr><td>HLM rule</td><td>client's slope against the cohort's mean slope "
        "(as the R package clinicalsignificance)</td></tr></table>",
        "<p>J&amp;T cutoff for clinically significant change: published clinical cutoff: "
        "13.50 points</p>",
        "<p>missing data: last available score; post score: the last score observed after "
        "baseline; population: all clients; J&amp;T cutoff: cutoff a</p>",
        "<table><tr><td>Remission</td><td>baseline observation carried forward (BOCF)</td>"
        "<td>severe at baseline</td></tr></table>",
    ]
    for page in new:
        assert reviewer_leftovers(page) == [], page
