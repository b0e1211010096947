"""Figures and sentences of notebooks 02 and 03 show no more than the run's disclosure plan.

A reviewer found, on BtheB with suppression on, heat maps printing every kappa while the pairs
table read "suppressed" (remission vs response kappa 0.72: with the shown margins it gives a
hidden 2 x 2 count back), a forest plot drawing every severity-bias odds ratio the table hid,
and a proportional-hazards table printing the chi-square and p its CSV hid.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from analysis.compare import agreement  # noqa: E402
from analysis.outcomes import engine as outcomes  # noqa: E402
from analysis.report import disclosure, plots_compare  # noqa: E402
from analysis.report import disclosure_tables as masks  # noqa: E402


def _outcomes(cells: dict[tuple[str, str, str], int]) -> pd.DataFrame:
    """Engine-shaped outcomes of remission, response and reliable improvement.

    ``cells`` maps (remission, response, reliable) statuses to a number of clients.
    """
    rows, i = [], 0
    for statuses, n in cells.items():
        for _ in range(n):
            for d, st in zip(("remission", "response", "reliable"), statuses, strict=True):
                rows.append({"id": f"c{i:03d}", "definition": d, "status": st})
            i += 1
    out = pd.DataFrame(rows)
    for c in outcomes.OUTCOME_COLUMNS:
        if c not in out:
            out[c] = {"family": "symptom", "measures": "bdi2", "reason": "", "category": ""}.get(
                c, np.nan
            )
    return out[outcomes.OUTCOME_COLUMNS]


@pytest.fixture
def run():
    """Remission x response: 28 / 4 / 8 / 37 (the BtheB cells of issue 17; met/not_met = 4 is
    small); reliable improvement splits each cell about in half, so its own pairs have no
    small cell (remission x reliable 16 / 16 / 22 / 23).
    kappa(remission, response), n = 77: p_o = (28 + 37) / 77 = .844156; margins remission
    32/45, response 36/41; p_e = (32*36 + 45*41) / 77^2 = (1152 + 1845) / 5929 = .505481;
    kappa = (.844156 - .505481) / (1 - .505481) = .338674 / .494519 = .684857 -> 0.68.
    """
    m, n = "met", "not_met"
    out = _outcomes(
        {
            (m, m, m): 14,
            (m, m, n): 14,
            (m, n, m): 2,
            (m, n, n): 2,
            (n, m, m): 4,
            (n, m, n): 4,
            (n, n, m): 18,
            (n, n, n): 19,
        }
    )
    pairs = agreement.pairwise_agreement(out)
    return out, pairs


def _hand_plan() -> pd.DataFrame:
    """Only the remission x response 2 x 2 hidden (its met/not_met = 4 is small)."""
    cells = [
        f"remission x response: {x}/{y}" for x in ("met", "not_met") for y in ("met", "not_met")
    ]
    return pd.DataFrame(
        {
            "cell": cells,
            "suppressed": True,
            "reason": ["complementary", "primary: fewer than 5", "complementary", "complementary"],
        }
    )


def test_run_plan_hides_every_pair_here_and_so_does_the_matrix(run):
    """The run-wide plan (headline counts protected) hides all three pairs of this cohort: the
    heat map's matrix has no value left off the diagonal."""
    out, pairs = run
    plan = disclosure.run_plan(
        out[["id", "definition", "status"]],
        pairs=list(zip(pairs["definition_a"], pairs["definition_b"], strict=True)),
    )
    assert masks.mask_pairs(pairs, pairs, plan)["kappa"].tolist() == ["suppressed"] * 3
    matrix, hidden = masks.mask_matrix(pairs, plan, "kappa")
    off = ~np.eye(3, dtype=bool)
    assert np.isnan(matrix.to_numpy()[off]).all() and hidden.to_numpy()[off].all()
    ax = plots_compare.kappa_heatmap(agreement.agreement_matrix(pairs, "kappa"), hidden=hidden)
    assert _texts(ax).count("hidden") == 6 and "0.68" not in _texts(ax)
    plt.close(ax.figure)


def test_mask_matrix_hides_what_the_pairs_table_hides(run):
    _, pairs = run
    plan = _hand_plan()
    table = masks.mask_pairs(pairs, pairs, plan)
    row = (pairs["definition_a"] == "remission") & (pairs["definition_b"] == "response")
    assert pairs.loc[row, "kappa"].round(6).item() == pytest.approx(0.684857, abs=1e-6)
    assert table.loc[row, "kappa"].item() == "suppressed"  # the table hides it ...
    matrix, hidden = masks.mask_matrix(pairs, plan, "kappa")
    # ... and so does the figure's matrix, in both triangles
    assert np.isnan(matrix.loc["remission", "response"])
    assert np.isnan(matrix.loc["response", "remission"])
    assert hidden.loc["remission", "response"] and hidden.loc["response", "remission"]
    # every pair the table shows keeps its value; the diagonal is 1 and never hidden
    for r in table.itertuples():
        shown = not isinstance(r.kappa, str)
        assert hidden.loc[r.definition_a, r.definition_b] == (not shown)
        if shown:
            assert matrix.loc[r.definition_a, r.definition_b] == pytest.approx(r.kappa)
    assert (np.diag(matrix) == 1).all() and not np.diag(hidden).any()
    # remission x reliable 16 / 16 / 22 / 23: p_o = 39/77 = .506494, p_e = (32*38 + 45*39)/5929
    # = .501096, kappa = .005398 / .498904 = .010819 (shown: no cell of the pair is hidden)
    assert matrix.loc["reliable", "remission"] == pytest.approx(0.010818, abs=2e-6)
    # without a plan: exactly agreement_matrix, nothing hidden
    matrix, hidden = masks.mask_matrix(pairs, None, "pabak")
    pd.testing.assert_frame_equal(matrix, agreement.agreement_matrix(pairs, "pabak"))
    assert not hidden.to_numpy().any()
    with pytest.raises(ValueError, match="nope"):
        masks.mask_matrix(pairs, plan, "nope")


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_heatmap_draws_hidden_cells_grey_without_their_value(run):
    _, pairs = run
    plan = _hand_plan()
    full = agreement.agreement_matrix(pairs, "kappa")
    _, hidden = masks.mask_matrix(pairs, plan, "kappa")
    # even handed the full matrix, a hidden cell shows "hidden", never its value
    ax = plots_compare.kappa_heatmap(full, hidden=hidden)
    texts = _texts(ax)
    assert "0.68" not in texts
    assert texts.count("hidden") == 2  # remission/response, both triangles
    assert "undefined" not in texts
    grey = [p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb("lightgrey")]
    assert len(grey) == 2
    assert "1 pairs hidden by disclosure control" in ax.figure.alt_text
    plt.close(ax.figure)
    # without a plan: every value printed, as before
    ax = plots_compare.kappa_heatmap(full)
    assert "0.68" in _texts(ax) and "hidden" not in _texts(ax)
    assert "hidden" not in ax.figure.alt_text
    plt.close(ax.figure)
    # an undefined (not hidden) kappa still reads "undefined"
    m = full.copy()
    m.loc["reliable", "response"] = m.loc["response", "reliable"] = np.nan
    ax = plots_compare.kappa_heatmap(m, hidden=hidden)
    assert _texts(ax).count("undefined") == 2 and _texts(ax).count("hidden") == 2
    plt.close(ax.figure)


def test_forest_plot_counts_the_hidden_rows_in_its_alt_text():
    t = pd.DataFrame(
        {"definition": ["a", "b"], "or": [0.5, 2.0], "lo": [0.3, 1.2], "hi": [0.8, 3.3]}
    )
    ax = plots_compare.forest_plot(t, "or", "lo", "hi", ref=1.0, log=True, n_hidden=3)
    assert "for 2 definitions" in ax.figure.alt_text
    assert "3 hidden by disclosure control are not drawn" in ax.figure.alt_text
    assert sorted(x.get_text() for x in ax.get_yticklabels()) == ["a", "b"]
    plt.close(ax.figure)
    ax = plots_compare.forest_plot(t, "or", "lo", "hi", ref=1.0, log=True)
    assert "hidden" not in ax.figure.alt_text
    plt.close(ax.figure)


def test_severity_bias_odds_ratios_drawn_are_those_the_table_shows():
    """Notebook 02's rule: an odds ratio is drawn only when the masked table shows it."""
    bias = pd.DataFrame(
        {"definition": ["a", "b"], "n": [40, 40], "n_met": [3, 20], "odds_ratio": [0.4, 1.5]}
    )
    plan = pd.DataFrame(
        {
            "cell": ["severity a: clients", "severity a: met", "severity b: clients"]
            + ["severity b: met"],
            "suppressed": [False, True, False, False],
            "reason": ["", "primary: fewer than 5", "", ""],
        }
    )
    cells = {
        "n": [f"severity {d}: clients" for d in bias["definition"]],
        "n_met": [f"severity {d}: met" for d in bias["definition"]],
    }
    basis = [[f"severity {d}: clients", f"severity {d}: met"] for d in bias["definition"]]
    shown = masks.mask(bias, plan, cells, {"odds_ratio": basis})
    assert masks.is_hidden(shown["odds_ratio"]) == [True, False]
    assert masks.is_hidden(masks.mask(bias, None, cells, {"odds_ratio": basis})["odds_ratio"]) == [
        False,
        False,
    ]


def test_ph_check_table_masked_as_its_csv():
    """Notebook 03: the displayed Grambsch-Therneau table hides what survival_cox_ph_test.csv
    hides (both are mask_km with prefix "cox" on the same rows)."""
    ph = pd.DataFrame(
        {
            "definition": ["a", "a", "b"],
            "covariate": ["baseline_severity", "arm_B", "baseline_severity"],
            "test_statistic": [4.1, 0.2, 1.3],
            "p_value": [0.043, 0.65, 0.25],
        }
    )
    plan = pd.DataFrame(
        {
            "cell": ["cox a: clients", "cox a: met", "cox b: clients", "cox b: met"],
            "suppressed": [False, True, False, False],
            "reason": ["", "complementary", "", ""],
        }
    )
    csv = masks.mask_km(ph, ph, plan, "cox")
    shown = ph.rename(columns={"test_statistic": "chi-square", "p_value": "p"})
    shown["p"] = ["0.043", "0.65", "0.25"]
    shown = masks.mask_km(shown, ph, plan, "cox")
    assert csv["p_value"].tolist()[:2] == ["suppressed", "suppressed"]
    assert shown["chi-square"].tolist() == ["suppressed", "suppressed", 1.3]
    assert shown["p"].tolist() == ["suppressed", "suppressed", "0.25"]
    assert masks.is_hidden(shown["p"]) == masks.is_hidden(csv["p_value"])


def test_sentences_name_the_hidden_definitions_by_label():
    lab = {"remission": "Remission (BDI-II < 10)", "response": "Response"}.get
    assert masks.hidden_note([], ["remission"], lab) == ""
    assert masks.hidden_note(["remission", "remission"], ["remission", "response"], lab) == (
        "Some of these counts are hidden (disclosure control) for Remission (BDI-II < 10)."
    )
    assert masks.hidden_note(["response", "remission"], ["remission", "response"], lab) == (
        "Some of these counts are hidden (disclosure control) for every definition."
    )
    # a sentence never opens with "suppressed" or "<5"
    assert masks.count_subject("suppressed") == (
        "Some clients (count hidden by disclosure control)"
    )
    assert masks.count_subject("<5") == "Fewer than 5 clients"
    assert masks.count_subject(12) == "12 clients"
    assert masks.is_hidden([0.72, "suppressed", "<5", np.nan, "0.043", 3]) == [
        False,
        True,
        True,
        False,
        False,
        False,
    ]


def test_forest_plot_of_one_shown_row_draws_without_warning():
    """HELP with suppression on shows one severity-bias odds ratio of five: the forest plot of
    that single row must draw (no pandas FutureWarning from a one-row Series)."""
    import warnings

    t = pd.DataFrame({"definition": ["a"], "or": [1.36], "lo": [1.15], "hi": [1.62]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        ax = plots_compare.forest_plot(t, "or", "lo", "hi", ref=1.0, log=True, n_hidden=4)
    (line,) = [c for c in ax.containers][0].lines[:1]
    assert line.get_xdata().tolist() == [1.36]
    plt.close(ax.figure)
