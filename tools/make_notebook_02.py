"""Write notebooks/02_agreement.ipynb (kept as code so its cells are reviewable)."""
from _compare_common import BASE_PARAMETERS, SETUP, code, md, methods_cell, write

cells = [
    md(
        "# Do the definitions agree?\n\n"
        "Several definitions of a successful outcome applied to the same clients: how often each "
        "is met, how far they agree beyond chance, who succeeds under which of them, on whom "
        "families of definitions disagree, and whether a definition favours milder or more "
        "severe clients at baseline."
    ),
    code(
        SETUP
        + '''
prev = stats.prevalence(result)
pairs = agreement.pairwise_agreement(result)
report.write_csv(prev, output_dir, "agreement_prevalence.csv")
report.write_csv(pairs, output_dir, "agreement_pairs.csv")
report.show_banner(
    cohort,
    {**shown_parameters, **{k: v for k, v in globals().items() if k in {
        "run_name", "dataset", "measure", "reliability", "cutoff_type", "post", "group",
        "suppress_small_counts"}}},
    summary=f"{result['definition'].nunique()} definitions on {cohort.n_clients} clients; "
    f"kappa ranged from {pairs['kappa'].min():.2f} to {pairs['kappa'].max():.2f} across "
    f"{len(pairs)} pairs." if pairs["kappa"].notna().any() else "",
)'''
    ),
    md("## How often is each definition met?\n\nAmong evaluable clients, with 95 % Wilson intervals."),
    code(
        '''report.show_table(
    report.format_prevalence(prev, suppress=suppress_small_counts),
    "Clients meeting each definition, all clients",
)'''
    ),
    md(
        "## Agreement beyond chance\n\n"
        "Cohen's kappa compares observed agreement with the agreement expected from the two "
        "prevalences; it is close to 0 even at 90 % agreement when one outcome is rare, so the "
        "prevalence-adjusted bias-adjusted kappa (PABAK = 2 x agreement - 1) stands beside it. "
        "McNemar's exact test asks whether the two definitions are met equally often in the same "
        "clients. Kappa is *undefined* when a definition gives every compared client the same "
        "result."
    ),
    code(
        '''report.show_table(
    workflow.format_pairs(pairs, suppress=suppress_small_counts),
    "Pairs of definitions, among clients evaluable under both",
)
undefined = pairs.loc[pairs["kappa"].isna()]
if len(undefined):
    say(
        f"Kappa is undefined for {len(undefined)} of {len(pairs)} pairs, because at least one "
        "definition of the pair gives every compared client the same result."
    )
if len(pairs):
    ax = plots_compare.kappa_heatmap(
        agreement.agreement_matrix(pairs, "kappa"), title=f"Cohen's kappa between definitions, {run_name}"
    )
    report.show_figure(ax)
    ax = plots_compare.kappa_heatmap(
        agreement.agreement_matrix(pairs, "pabak"), title=f"PABAK between definitions, {run_name}",
        value_label="PABAK (prevalence-adjusted bias-adjusted kappa)",
    )
    report.show_figure(ax)
else:
    say("Only one definition was scored, so there is no pair to compare.")'''
    ),
    md(
        "## Who succeeds under which definitions?\n\n"
        "Each bar counts the clients who meet exactly the set of definitions marked below it "
        "(clients evaluable under every definition)."
    ),
    code(
        '''patterns = agreement.overlap_patterns(result)
report.write_csv(patterns, output_dir, "agreement_patterns.csv")
shown = patterns
if suppress_small_counts:
    shown = patterns.loc[patterns["n_clients"] >= report.SMALL_COUNT]
    hidden = int(patterns["n_clients"].sum() - shown["n_clients"].sum())
    if hidden:
        say(f"Patterns shared by fewer than {report.SMALL_COUNT} clients are left out of the "
            f"figure ({hidden} clients in all).")
if len(shown):
    report.show_figure(plots_compare.upset_figure(shown, f"Who succeeds under which definitions, {run_name}"))
else:
    say("No success pattern is shared by enough clients to be shown.")
if patterns.attrs.get("n_excluded"):
    say(f"{patterns.attrs['n_excluded']} clients are not evaluable under every definition and "
        "are not in the figure.")'''
    ),
    md(
        "## On whom do families of definitions disagree?\n\n"
        "A client succeeds under a family (symptom, functional, alliance, ...) when any of its "
        "definitions is met. Counts and averaged profiles only; no client is listed."
    ),
    code(
        '''families = list(dict.fromkeys(result["family"]))
if len(families) < 2:
    say(workflow.absent("Disagreement between families", cohort,
                        f"definitions outside the {families[0]} family"))
else:
    profile = cohort.clients.drop(columns=[c for c in ("therapist", "site") if c in cohort.clients])
    for i, fa in enumerate(families):
        for fb in families[i + 1:]:
            dis = agreement.family_disagreement(result, fa, fb, profile=profile)
            report.write_csv(dis, output_dir, f"agreement_families_{fa}_{fb}.csv")
            derived = [c for c in dis.columns if c not in ("group", "n_clients")]
            shown = dis.round(1)
            if suppress_small_counts:
                shown = report.suppress_small_counts(shown, ["n_clients"], derived)
            report.show_table(shown, f"{fa} versus {fb} success: clients and average profile")'''
    ),
    md(
        "## Is a definition biased by baseline severity?\n\n"
        "Per definition, a logistic regression of success on the baseline score of the primary "
        "measure: an odds ratio above 1 per 10 points means the definition favours more severe "
        "clients, below 1 milder ones (Psychiatric Services 2020, 71(4):312: effect size >= 0.8, "
        "OR 2.3; remission, OR 0.43)."
    ),
    code(
        '''bias = agreement.severity_bias(result, severity=nd.baseline, per=10)
report.write_csv(bias, output_dir, "agreement_severity_bias.csv")
shown = pd.DataFrame({
    "definition": bias["definition"].str.replace("_", " "),
    "clients": bias["n"],
    "met": bias["n_met"],
    f"odds ratio per 10 {instrument.label} points (95% CI)": workflow.format_estimate(
        bias["odds_ratio"], bias["ci_low"], bias["ci_high"]),
    "p": bias["p_value"].round(4),
    "note": bias["note"],
})
if suppress_small_counts:
    shown = report.suppress_small_counts(shown, ["clients", "met"], shown.columns[3:5], ("met", "clients"))
report.show_table(shown, f"Severity bias: success against baseline {instrument.label}")
if bias["odds_ratio"].notna().any():
    ax = plots_compare.forest_plot(
        bias, "odds_ratio", "ci_low", "ci_high", ref=1.0, log=True,
        xlabel=f"odds ratio of success per 10 points of baseline {instrument.label}",
        title=f"Severity bias of each definition, {run_name}",
    )
    report.show_figure(ax)'''
    ),
    methods_cell(

        "Prevalence: Wilson score intervals (Wilson 1927). Kappa and its large-sample standard "
        "error: statsmodels `cohens_kappa` (Cohen 1960; Fleiss, Cohen & Everitt 1969), interval "
        "kappa +/- 1.96 SE. PABAK: Byrt, Bishop & Carlin (1993) J Clin Epidemiol 46(5):423-429. "
        "McNemar's test: exact binomial on the discordant pairs (statsmodels). Overlap: UpSet "
        "plot (Lex et al. 2014, upsetplot). Severity bias: logistic regression (statsmodels), "
        "Wald intervals, as in Psychiatric Services (2020) 71(4):312, doi:10.1176/appi.ps.201900295. "
        "A pair is compared on the clients evaluable under both definitions. Counts from 1 to 4 "
        "are shown as <5 when suppression is on."
    ),
]
write(cells, BASE_PARAMETERS, "notebooks/02_agreement.ipynb")
