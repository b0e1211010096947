"""Write notebooks/03_time_to_success.ipynb (kept as code so its cells are reviewable)."""
from _compare_common import BASE_PARAMETERS, SETUP, code, md, methods_cell, write

PARAMS = BASE_PARAMETERS.replace(
    'output_dir: str = ""',
    'alliance_measure: str = "wai_sr"  # alliance measure for the Cox model: wai_sr or srs\n'
    'early_sessions: int = 3  # first sessions averaged for early alliance\n'
    'output_dir: str = ""',
)
cells = [
    md(
        "# How fast is each definition met?\n\n"
        "Time from baseline to the first assessment at which each definition held. Dropout and "
        "the end of treatment end follow-up: Kaplan-Meier curves treat both as censoring, the "
        "cumulative incidence treats dropout as a competing event."
    ),
    code(
        SETUP
        + '''
tte = survival.time_to_event(result, cohort.scores, cohort.clients)
km = survival.km_summary(tte)
report.write_csv(km, output_dir, "survival_median.csv")
report.show_banner(
    cohort,
    {**shown_parameters, **{k: v for k, v in globals().items() if k in {
        "run_name", "dataset", "measure", "reliability", "cutoff_type", "post", "group",
        "alliance_measure", "early_sessions", "suppress_small_counts"}}},
    summary=f"Time is counted in {units} since baseline; {int((tte['event_type'] == 2).sum())} "
    "client-definition records end in dropout before success.",
)'''
    ),
    md("## Kaplan-Meier: time to first success\n\nMedian time with 95 % interval (NaN: not reached)."),
    code(
        '''report.show_table(workflow.format_km(km, units, suppress_small_counts), f"Time to first success, in {units}")
curves = survival.km_curves(tte)
report.write_csv(curves, output_dir, "survival_km_curves.csv")
report.show_figure(plots_compare.km_plot(curves, units=units, title=f"Time to first success, {run_name}"))'''
    ),
    md("## In weeks"),
    code(
        '''if tte["weeks"].notna().any():
    km_w = survival.km_summary(tte, duration="weeks")
    report.write_csv(km_w, output_dir, "survival_median_weeks.csv")
    report.show_table(workflow.format_km(km_w, "weeks", suppress_small_counts), "Time to first success, in weeks (from dates)")
    report.show_figure(plots_compare.km_plot(survival.km_curves(tte, duration="weeks"), units="weeks",
                                             title=f"Time to first success in weeks, {run_name}"))
else:
    say(workflow.absent("Time in weeks", cohort, f"assessment dates (its time is in {units})"))'''
    ),
    md(
        "## Dropout as a competing risk\n\n"
        "Aalen-Johansen cumulative incidence: the share of clients who have met the definition, "
        "not assuming that those who dropped out would have succeeded like those who stayed."
    ),
    code(
        '''if (tte["event_type"] == 2).any():
    cif = survival.cumulative_incidence(tte)
    report.write_csv(cif, output_dir, "survival_cumulative_incidence.csv")
    report.show_figure(plots_compare.cif_plot(cif, units=units, title=f"Cumulative incidence of success, dropout competing, {run_name}"))
    end = cif.groupby("definition", sort=False).tail(1)
    say("Cumulative incidence at the last time: " + ", ".join(
        f"{d.replace('_', ' ')} {100 * v:.0f} %" for d, v in zip(end["definition"], end["cumulative_incidence"])) + ".")
else:
    say(workflow.absent("Competing risks", cohort, "client who dropped out before success"))'''
    ),
    md("## Do the arms differ? Log-rank test"),
    code(
        '''if has_group:
    lr = survival.logrank_by_group(tte, cohort.clients, group=group)
    report.write_csv(lr, output_dir, "survival_logrank.csv")
    report.show_table(lr.drop(columns=["n", "n_met"]).round(4), f"Log-rank test of time to first success by {group}")
else:
    say(workflow.absent("Log-rank test between groups", cohort, f"client column {group!r} with two or more groups"))'''
    ),
    md(
        "## What predicts a faster success? Cox model\n\n"
        "Hazard ratios per point of baseline severity and of early alliance, and for the arm; "
        "the proportional-hazards assumption is checked per covariate (Grambsch-Therneau test on "
        "rank-transformed time: a small p means the hazard ratio changes over time)."
    ),
    code(
        '''cov = nd.baseline.rename(columns={"severity": "baseline_severity"})
if workflow.has_measure(cohort, alliance_measure):
    early = alliance.early_alliance(cohort.scores, alliance_measure, early_sessions)
    cov = cov.merge(early[["id", "early_alliance"]], on="id", how="left")
else:
    say(workflow.absent("Early alliance in the Cox model", cohort, f"alliance scores ({alliance_measure})"))
if has_group:
    cov = cov.merge(cohort.clients[["id", group]], on="id", how="left")
coef, ph = survival.cox_models(tte, cov)
report.write_csv(coef, output_dir, "survival_cox.csv")
report.write_csv(ph, output_dir, "survival_cox_ph_test.csv")
shown = pd.DataFrame({
    "definition": coef["definition"].str.replace("_", " "), "covariate": coef["covariate"],
    "hazard ratio (95% CI)": workflow.format_estimate(coef["hazard_ratio"], coef["ci_low"], coef["ci_high"]),
    "p": coef["p_value"].round(4), "clients": coef["n"], "met": coef["n_met"], "note": coef["note"],
})
report.show_table(shown, "Cox proportional-hazards models of time to first success")
if len(ph):
    report.show_table(ph.round(4), "Proportional-hazards check (Grambsch-Therneau, rank time)")
    bad = ph.loc[ph["p_value"] < 0.05]
    say("The proportional-hazards assumption is in doubt (p < .05) for: " + "; ".join(
        f"{r.definition.replace('_', ' ')} / {r.covariate}" for r in bad.itertuples()) + "."
        if len(bad) else "No covariate shows evidence against proportional hazards (all p >= .05).")'''
    ),
    methods_cell(

        "Time to event: from the baseline assessment to the first later assessment at which the "
        "definition held (the outcomes table's `first_met`), else to the last observed assessment "
        "(censored). Kaplan-Meier (Kaplan & Meier 1958) and median with the Brookmeyer-Crowley "
        "interval (lifelines). Aalen-Johansen cumulative incidence (Aalen & Johansen 1978) with "
        "tied discrete times handled exactly, not by random jittering. Log-rank test (Mantel "
        "1966). Cox model (Cox 1972, Efron ties) with the Grambsch & Therneau (1994) test. Only "
        "clients evaluable under a definition enter its analysis."
    ),
]
write(cells, PARAMS, "notebooks/03_time_to_success.ipynb")
