"""Write notebooks/04_alliance.ipynb (kept as code so its cells are reviewable)."""
from _compare_common import BASE_PARAMETERS, SETUP, code, md, methods_cell, write

PARAMS = BASE_PARAMETERS.replace(
    'output_dir: str = ""',
    'alliance_measure: str = "wai_sr"  # alliance measure: wai_sr (12-60) or srs (0-40), higher is better\n'
    'early_sessions: int = 3  # first sessions averaged for early alliance\n'
    'alliance_threshold: float = 48.0  # points; WAI-SR item mean 4 (a convention); use 36 for the SRS\n'
    'alliance_by_session: float = 6.0  # session by which the alliance threshold must be reached\n'
    'alliance_growth_points: float = 4.0  # points of growth from first to last sessions that count\n'
    'rupture_drop: float = 4.0  # points of session-to-session fall that count as a rupture\n'
    'output_dir: str = ""',
)
cells = [
    md(
        "# The working alliance: predictor and outcome\n\n"
        "Does a good early alliance go with success under each definition? Do alliance and "
        "symptoms move together from session to session, and does this session's alliance "
        "predict next session's change? Alliance as a success in its own right, and how much "
        "outcomes differ between therapists."
    ),
    code(
        SETUP
        + '''
alliance_ok = workflow.has_measure(cohort, alliance_measure)
therapist_ok = "therapist" in cohort.clients.columns and cohort.clients["therapist"].nunique() >= 3
report.show_banner(
    cohort,
    {**shown_parameters, **{k: v for k, v in globals().items() if k in {
        "run_name", "dataset", "measure", "reliability", "alliance_measure", "early_sessions",
        "alliance_threshold", "alliance_by_session", "alliance_growth_points", "rupture_drop",
        "suppress_small_counts"}}},
    summary=("Alliance scores: " + (alliance_measure if alliance_ok else "none in this dataset")
             + "; therapists: " + ("recorded" if therapist_ok else "not recorded") + "."),
)'''
    ),
    md(
        "## Early alliance as a predictor of each definition\n\n"
        "Correlation of success (1/0) with the mean alliance over the first sessions, and the "
        "partial correlation controlling for baseline severity on the primary measure. The "
        "meta-analytic alliance-outcome correlation is r = .28 (Flueckiger et al. 2018). "
        "Definitions of the alliance family are themselves built from alliance scores, so their "
        "correlation with early alliance is high by construction, not a finding."
    ),
    code(
        '''if alliance_ok:
    early = alliance.early_alliance(cohort.scores, alliance_measure, early_sessions)
    pred = alliance.alliance_predicts_outcomes(result, early, severity=nd.baseline)
    report.write_csv(pred, output_dir, "alliance_predicts_outcomes.csv")
    shown = pd.DataFrame({
        "definition": pred["definition"].str.replace("_", " "), "clients": pred["n"], "met": pred["n_met"],
        "r (95% CI)": workflow.format_estimate(pred["r"], pred["r_ci_low"], pred["r_ci_high"]),
        "partial r, severity held constant (95% CI)": workflow.format_estimate(
            pred["partial_r"], pred["partial_ci_low"], pred["partial_ci_high"]),
        "note": pred["note"],
    })
    if suppress_small_counts:
        shown = report.suppress_small_counts(shown, ["clients", "met"], shown.columns[3:5], ("met", "clients"))
    report.show_table(shown, f"Early {alliance_measure} (sessions 1-{early_sessions}) and success")
    if pred["r"].notna().any():
        report.show_figure(plots_compare.forest_plot(
            pred, "partial_r", "partial_ci_low", "partial_ci_high", xlabel="partial correlation with early alliance",
            title=f"Early alliance and success, severity held constant, {run_name}"))
else:
    say(workflow.absent("Early alliance as a predictor", cohort, f"alliance scores ({alliance_measure})"))'''
    ),
    md(
        "## Session by session, within clients\n\n"
        "Repeated-measures correlation of alliance and symptoms (between-client differences "
        "removed), and a mixed model of next session's symptom change on this session's "
        "alliance (the client's deviation from their own average)."
    ),
    code(
        '''pairs = alliance.session_pairs(cohort.scores, alliance_measure, measure) if alliance_ok else None
if pairs is not None and pairs["id"].nunique() >= 3 and pairs.groupby("id").size().ge(2).sum() >= 3:
    rm = alliance.within_client_association(pairs)
    report.write_csv(rm, output_dir, "alliance_rm_corr.csv")
    report.show_table(rm.round(4), f"Within-client correlation of {alliance_measure} and {instrument.label}")
    nxt = alliance.alliance_predicts_next_change(pairs)
    report.write_csv(nxt, output_dir, "alliance_next_change.csv")
    report.show_table(nxt.round(4), f"Next-session change in {instrument.label} (points) on this session's alliance")
else:
    say(workflow.absent("The session-level association", cohort,
                        f"session-by-session {alliance_measure} and {measure} scores"))'''
    ),
    md(
        "## Alliance as an outcome\n\n"
        "Three alliance definitions of success: the alliance reaches the threshold by the given "
        "session; it grows from the first to the last sessions; a rupture (a marked fall) is "
        "followed by repair (a return to the earlier level)."
    ),
    code(
        '''if alliance_ok:
    a_out = alliance.alliance_outcomes(
        cohort.scores, cohort.clients, alliance_measure, threshold=alliance_threshold,
        by_session=alliance_by_session, early_sessions=early_sessions,
        growth_points=alliance_growth_points, rupture_drop=rupture_drop)
    a_prev = stats.prevalence(a_out)
    report.write_csv(a_prev, output_dir, "alliance_outcome_prevalence.csv")
    report.show_table(report.format_prevalence(a_prev, suppress=suppress_small_counts),
                      "Alliance definitions of success")
    both = pd.concat([result, a_out], ignore_index=True)
    a_pairs = agreement.pairwise_agreement(both)
    a_pairs = a_pairs.loc[(a_pairs["family_a"] == "alliance") != (a_pairs["family_b"] == "alliance")]
    report.write_csv(a_pairs, output_dir, "alliance_outcome_agreement.csv")
    report.show_table(workflow.format_pairs(a_pairs, suppress=suppress_small_counts),
                      "Agreement of alliance definitions with the symptom definitions")
else:
    say(workflow.absent("Alliance as an outcome", cohort, f"alliance scores ({alliance_measure})"))'''
    ),
    md(
        "## Therapist effects\n\n"
        "Share of the variance in change on the primary measure that lies between therapists "
        "(intraclass correlation from a random-intercept model), and each therapist's estimated "
        "deviation, by rank only. Published therapist effects average about 5 % (Johns et al. 2019)."
    ),
    code(
        '''if therapist_ok:
    change = nd.baseline.merge(
        outcomes.change_table(nd.all_outcomes, "reliable_improvement")[["id", "change"]], on="id"
    ).merge(cohort.clients[["id", "therapist"]], on="id")
    icc, effects = alliance.therapist_icc(change, "change")
    per_def = []
    for d in dict.fromkeys(result["definition"]):
        sub = result.loc[(result["definition"] == d) & result["status"].isin(["met", "not_met"])]
        sub = sub.assign(success=sub["status"].eq("met").astype(float)).merge(cohort.clients[["id", "therapist"]], on="id")
        if sub["success"].nunique() > 1:
            per_def.append(alliance.therapist_icc(sub, "success")[0].assign(dv=f"success: {d}"))
    icc_all = pd.concat([icc, *per_def], ignore_index=True)
    report.write_csv(icc_all, output_dir, "alliance_therapist_icc.csv")
    report.show_table(icc_all.round(4), "Therapist intraclass correlation (random-intercept model, REML)")
    report.show_figure(plots_compare.caterpillar_plot(effects, units=f"{instrument.label} points of change",
                                                      title=f"Therapist effects on change, {run_name}"))
else:
    say(workflow.absent("Therapist effects", cohort, "therapist recorded for at least three therapists"))'''
    ),
    methods_cell(

        "Correlations with Fisher-z intervals (pingouin `corr`, `partial_corr`); repeated-measures "
        "correlation (Bakdash & Marusich 2017, pingouin `rm_corr`); next-session change: linear "
        "mixed model with a random intercept per client and the alliance split into within- and "
        "between-client parts (Curran & Bauer 2011; statsmodels). Alliance definitions after "
        "Duncan et al. (2003, SRS cutoff 36), Kivlighan & Shaughnessy (2000, growth) and "
        "Stevens et al. (2007, rupture and repair); the WAI-SR threshold is a convention (no "
        "published cutoff). Therapist ICC: random-intercept model (statsmodels MixedLM, REML); "
        "for success (1/0) a linear-probability approximation. Reference values: alliance-outcome "
        "r = .278 (Flueckiger et al. 2018, Psychotherapy 55(4):316); therapist effects about 5 % "
        "(Johns et al. 2019, Clin Psychol Rev 67:78)."
    ),
]
write(cells, PARAMS, "notebooks/04_alliance.ipynb")
