"""Write notebooks/04_alliance.ipynb (kept as code so its cells are reviewable)."""
from _compare_common import BASE_PARAMETERS, SETUP, code, md, methods_cell, write

PARAMS = BASE_PARAMETERS.replace(
    'output_dir: str = ""',
    'alliance_measure: str = "wai_sr"  # alliance measure: wai_sr (12-60) or srs (0-40), higher is better\n'
    'landmark: int = 3  # landmark L: alliance averaged over sessions 1 to L predicts success after L\n'
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
        "run_name", "dataset", "measure", "reliability", "alliance_measure", "landmark",
        "suppress_small_counts"}}},
    summary=("Alliance scores: " + (alliance_measure if alliance_ok else "none in this dataset")
             + "; therapists: " + ("recorded" if therapist_ok else "not recorded") + "."),
)'''
    ),
    md(
        "## Early alliance as a predictor of each definition: a landmark design\n\n"
        "Correlation of success (1/0) with the mean alliance over sessions 1 to L (the landmark, a "
        "parameter), and the partial correlation controlling for baseline severity on the primary "
        "measure. So that the alliance can only predict what comes after it, a client enters a "
        "definition's analysis only when still in treatment after L and not yet meeting the "
        "definition at L: otherwise early alliance would 'predict' successes already reached "
        "while it was measured. Definitions built from alliance scores (the alliance family, and "
        "composites with an alliance part) would predict themselves; they are listed apart and "
        "left out of the forest plot. The meta-analytic alliance-outcome correlation is r = .28 "
        "(Flueckiger et al. 2018)."
    ),
    code(
        '''if alliance_ok:
    early = alliance.early_alliance(cohort.scores, alliance_measure, landmark)
    lm_time = early.attrs["landmark"]
    pred = alliance.alliance_predicts_outcomes(
        nd.all_outcomes, early, severity=nd.baseline, landmark=lm_time,
        alliance_measures=tuple(dict.fromkeys(("wai_sr", "srs", alliance_measure))))
    report.write_csv(pred, output_dir, "alliance_predicts_outcomes.csv")
    own = pred.loc[pred["predictor_of_itself"]]
    pred = pred.loc[~pred["predictor_of_itself"] & pred["definition"].isin(set(result["definition"]))]
    shown = pd.DataFrame({
        "definition": pred["definition"].str.replace("_", " "), "clients": pred["n"], "met": pred["n_met"],
        "r (95% CI)": workflow.format_estimate(pred["r"], pred["r_ci_low"], pred["r_ci_high"]),
        "partial r, severity held constant (95% CI)": workflow.format_estimate(
            pred["partial_r"], pred["partial_ci_low"], pred["partial_ci_high"]),
        "note": pred["note"],
    })
    if suppress_small_counts:
        shown = report.suppress_small_counts(shown, ["clients", "met"], shown.columns[3:5], ("met", "clients"))
    report.show_table(shown, f"Early {alliance_measure} (sessions 1-{lm_time:g}) and success after session {lm_time:g}")
    if len(own):
        say("Not predicted by the alliance, because built from alliance scores (listed apart): "
            + ", ".join(own["definition"].str.replace("_", " ")) + ".")
    if pred["partial_r"].notna().any():
        report.show_figure(plots_compare.forest_plot(
            pred, "partial_r", "partial_ci_low", "partial_ci_high", xlabel="partial correlation with early alliance",
            title=f"Early alliance and later success, severity held constant, {run_name}"))
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
        "The alliance definitions of the definitions file (the same ones notebook 01 counts: "
        "one rule each, with its source), and how they agree with the other definitions."
    ),
    code(
        '''a_out = nd.all_outcomes.loc[nd.all_outcomes["family"] == "alliance"]
if len(a_out):
    a_prev = stats.prevalence(a_out)
    report.write_csv(a_prev, output_dir, "alliance_outcome_prevalence.csv")
    report.show_table(report.format_prevalence(a_prev, suppress=suppress_small_counts),
                      "Alliance definitions of success")
    both = pd.concat([result.loc[result["family"] != "alliance"], a_out], ignore_index=True)
    a_pairs = agreement.pairwise_agreement(both)
    a_pairs = a_pairs.loc[(a_pairs["family_a"] == "alliance") != (a_pairs["family_b"] == "alliance")]
    report.write_csv(a_pairs, output_dir, "alliance_outcome_agreement.csv")
    report.show_table(workflow.format_pairs(a_pairs, suppress=suppress_small_counts),
                      "Agreement of alliance definitions with the other definitions")
else:
    say(workflow.absent("Alliance as an outcome", cohort, "alliance scores for the alliance definitions"))'''
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
        "between-client parts (Curran & Bauer 2011; statsmodels). Early alliance as a predictor: "
        "landmark design (Anderson, Cain & Gelber 1983, J Clin Oncol 1(11):710-719), alliance "
        "over sessions 1..L, outcomes of clients still in treatment and not yet meeting the "
        "definition at L; alliance-based definitions are not predicted by the alliance. Alliance "
        "definitions: those of the definitions file, with their sources (listed below). Therapist ICC: random-intercept model (statsmodels MixedLM, REML); "
        "for success (1/0) a linear-probability approximation. Reference values: alliance-outcome "
        "r = .278 (Flueckiger et al. 2018, Psychotherapy 55(4):316); therapist effects about 5 % "
        "(Johns et al. 2019, Clin Psychol Rev 67:78)."
    ),
]
write(cells, PARAMS, "notebooks/04_alliance.ipynb")
