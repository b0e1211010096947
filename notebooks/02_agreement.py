# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Do the definitions agree?
#
# Several definitions of a successful outcome applied to the same clients: how often each is met, how far they agree beyond chance, who succeeds under which of them, on whom families of definitions disagree, and whether a definition favours milder or more severe clients at baseline.

# %% tags=["parameters"]
run_name: str = "btheb"  # name of the run, used in titles
dataset: str = "btheb"  # btheb, help, simulated, or file (a user's export)
dataset_options: dict = {}  # loader options; for a file, the reader specification
measure: str = "bdi2"  # primary outcome measure, a registry code (bdi2: BDI-II)
reliability: float = None  # RCI reliability (0-1); None: the registry's value for the measure
reliability_source: str = ""  # citation of the reliability; empty: the registry's
cutoff_type: str = "default"  # J&T cutoff: default (registry rule), published, a, b or c
m_functional: float = None  # functional population mean (points), cutoffs b and c
sd_functional: float = None  # functional population SD (points), cutoffs b and c
post: str = "last"  # "last" observed score, or a time point such as "8"
definitions: str = ""  # definitions YAML file; empty: the package default
missing: str = "last_available"  # last_available, locf, bocf, completers or dropout_as_failure
compare: list = []  # definitions side by side; empty: the headline ones
group: str = "arm"  # client column to compare groups by ("" for none)
suppress_small_counts: bool = True  # disclosure control: counts 1-4 hidden, with complements
disclosure_method: str = "suppression"  # suppression, or rounding (NHS 2018: nearest 5, 1-7)
output_dir: str = ""  # folder for the CSV tables; empty: reports/lab
data_cache: str = ""  # set by the main job: the run's data, loaded once; empty: load here

# %%
import pandas as pd

from analysis.compare import agreement
from analysis.compare import prevalence as stats
from analysis.outcomes import rules
from analysis.report import disclosure_tables as masks
from analysis.report import plots_compare, text
from analysis.report import tables as report
from analysis.report.disclosure import rounded_count
from analysis.run import workflow

nd = workflow.outcomes_for_notebook(
    dataset,
    dataset_options,
    measure,
    reliability=reliability,
    cutoff_type=cutoff_type,
    m_functional=m_functional,
    sd_functional=sd_functional,
    post=post,
    definitions=definitions,
    missing=missing,
    compare=compare,
    cache=data_cache,
)
cohort, instrument, result = nd.cohort, nd.instrument, nd.outcomes
units = text.time_units(cohort.time_unit)
has_group = bool(group) and group in cohort.clients.columns and cohort.clients[group].nunique() > 1
say = text.say
reliability_cited = text.reliability_citation(instrument, reliability, reliability_source)
label = text.labeller(**nd.labels)
shown_parameters = {
    "run_name": run_name,
    "dataset": dataset,
    "measure": measure,
    "reliability": reliability,
    "reliability_source": reliability_cited,
    "cutoff_type": cutoff_type,
    "m_functional": m_functional,
    "sd_functional": sd_functional,
    "post": post,
    "definitions": definitions,
    "missing": missing,
    "compare": compare,
    "group": group,
    "suppress_small_counts": suppress_small_counts,
    "disclosure_method": disclosure_method,
}
prev = stats.prevalence(result)
pairs = agreement.pairwise_agreement(result)
# the client characteristics the family profiles average (percentages of yes/no ones are counts)
profile = workflow.profile_table(cohort)
# the run's disclosure plan (notebook 01's), with this report's own counts added
plan = workflow.extend_disclosure(
    workflow.run_disclosure(
        nd, group, output_dir, suppress_small_counts, cache=data_cache, method=disclosure_method
    ),
    nd,
    workflow.agreement_cells(result, nd.baseline, profile),
    group,
    output_dir,
    cache=data_cache,
)
report.write_csv(masks.mask_prevalence(prev, prev, plan), output_dir, "agreement_prevalence.csv")
pairs_masked = masks.mask_pairs(pairs, pairs, plan)
report.write_csv(pairs_masked, output_dir, "agreement_pairs.csv")
# the kappas the pairs table shows (a hidden pair's kappa gives a hidden 2 x 2 count back;
# under rounding, the kappas of the rounded cells)
pairs_gone = pd.Series(masks.is_hidden(pairs_masked["kappa"]), index=pairs.index, dtype=bool)
kappa_shown = masks.rounded_pairs(pairs, plan).loc[~pairs_gone, "kappa"]
# the number of clients as the run shows counts (rounded under the rounding method)
n_shown = (
    rounded_count(cohort.n_clients)
    if suppress_small_counts and disclosure_method == "rounding"
    else cohort.n_clients
)
report.show_banner(
    cohort,
    {
        **shown_parameters,
        **{
            k: v
            for k, v in globals().items()
            if k
            in {
                "run_name",
                "dataset",
                "measure",
                "reliability",
                "cutoff_type",
                "post",
                "group",
                "suppress_small_counts",
                "disclosure_method",
            }
        },
    },
    summary=f"{result['definition'].nunique()} definitions on {n_shown} clients; "
    f"kappa ranged from {kappa_shown.min():.2f} to {kappa_shown.max():.2f} across "
    f"{len(kappa_shown)} pairs"
    + (f" ({int(pairs_gone.sum())} hidden by disclosure control)." if pairs_gone.any() else ".")
    if kappa_shown.notna().any()
    else f"{result['definition'].nunique()} definitions on {n_shown} clients; every "
    "pair's kappa is hidden by disclosure control."
    if pairs_gone.any()
    else "",
)

# %% [markdown]
# ## How often is each definition met?
#
# Among evaluable clients, with 95 % Wilson intervals.

# %%
report.show_table(
    masks.mask_prevalence(
        report.format_prevalence(prev, suppress=False, label=text.labeller(**nd.labels)),
        prev,
        plan,
    ),
    "Clients meeting each definition, all clients",
)

# %% [markdown]
# ## Agreement beyond chance
#
# Cohen's kappa compares observed agreement with the agreement expected from the two prevalences; it is close to 0 even at 90 % agreement when one outcome is rare, so the prevalence-adjusted bias-adjusted kappa (PABAK = 2 x agreement - 1) stands beside it. McNemar's mid-p test (Fagerland, Lydersen & Laake 2013) asks whether the two definitions are met equally often in the same clients, from the discordant counts b and c. Kappa is 0 when one definition gives every compared client the same result, and undefined only when both do (expected agreement 1).

# %%
report.show_table(
    masks.mask_pairs(
        text.format_pairs(pairs, suppress=False, label=text.labeller(**nd.labels)),
        pairs,
        plan,
    ),
    "Pairs of definitions, among clients evaluable under both",
)
if len(pairs) and not pairs_gone.all() and text.kappa_note(pairs, pairs_gone):
    # undefined (a constant pair) and not shown (disclosure control) are said apart
    say(text.kappa_note(pairs, pairs_gone))
if len(pairs) and pairs_gone.all():
    say(
        "Disclosure control hides the statistics of every pair (as in the table: a count of the "
        "pair is small, or would give a small count back), so the kappa and PABAK heat maps are "
        "not drawn."
    )
elif len(pairs):
    # drawn from the statistics as the pairs table shows them: a hidden pair is grey, "hidden"
    for stat, title, value_label in [
        ("kappa", "Cohen's kappa", "Cohen's kappa"),
        ("pabak", "PABAK", "PABAK (prevalence-adjusted bias-adjusted kappa)"),
    ]:
        matrix, hidden = masks.mask_matrix(pairs, plan, stat)
        ax = plots_compare.kappa_heatmap(
            matrix.rename(index=label, columns=label),
            title=f"{title} between definitions, {run_name}",
            value_label=value_label,
            hidden=hidden.rename(index=label, columns=label),
        )
        report.show_figure(ax)
    if pairs_gone.any():
        say(
            f"In the heat maps, {int(pairs_gone.sum())} of {len(pairs)} pairs are grey and marked *hidden*: "
            "disclosure control hides their statistics, as in the table (a count of the pair is "
            "small, or would give a small count back); *undefined* marks a kappa that cannot be "
            "computed."
        )
else:
    say("Only one definition was scored, so there is no pair to compare.")

# %% [markdown]
# ## Who succeeds under which definitions?
#
# Each bar counts the clients who meet exactly the set of definitions marked below it (clients evaluable under every definition).

# %%
patterns = agreement.overlap_patterns(result)
pattern_cells = [
    workflow.pattern_name(r, list(patterns.columns[:-1])) for _, r in patterns.iterrows()
]
patterns_shown = masks.mask(patterns, plan, {"n_clients": pattern_cells})
report.write_csv(patterns_shown, output_dir, "agreement_patterns.csv")
keep = patterns_shown["n_clients"].astype(str).str.isdigit().to_numpy()
# the figure draws each pattern's count as the table shows it (rounded under rounding)
shown = patterns.loc[keep].assign(
    n_clients=pd.to_numeric(patterns_shown.loc[keep, "n_clients"]).astype(int).to_numpy()
)
if len(shown) < len(patterns):
    say(
        f"{len(patterns) - len(shown)} patterns are left out of the figure (disclosure control: "
        + (
            "shared by 1-7 clients)"
            if suppress_small_counts and disclosure_method == "rounding"
            else f"shared by fewer than {report.SMALL_COUNT} clients, or hidden so that no small "
            "pattern can be worked out)"
        )
        + "; so the figure has no set-size bars (with patterns left out they would not be the "
        "numbers who meet each definition)."
    )
if len(shown):
    report.show_figure(
        plots_compare.upset_figure(
            shown,
            f"Who succeeds under which definitions, {run_name}",
            # the total evaluable under all definitions is shown only without a plan: the plan
            # does not show it (with the shown patterns' sum it would give the hidden ones')
            n_evaluable=int(patterns["n_clients"].sum()) if plan is None else None,
            label=text.labeller(**nd.labels),
            partial=len(shown) < len(patterns),
        )
    )
else:
    say("No success pattern is shared by enough clients to be shown.")
if patterns.attrs.get("n_excluded"):
    n_out = masks.mask(
        pd.DataFrame({"n": [patterns.attrs["n_excluded"]]}), plan, {"n": ["pattern: excluded"]}
    )["n"].iloc[0]
    say(
        f"{masks.count_subject(n_out)} are not evaluable under every definition and are not in "
        "the figure."
    )

# %% [markdown]
# ## On whom do families of definitions disagree?
#
# A client succeeds under a family (symptom, functional, alliance, ...) when any of its definitions is met. Counts and averaged profiles only; no client is listed.

# %%
families = list(dict.fromkeys(result["family"]))
if len(families) < 2:
    say(
        text.absent(
            "Disagreement between families", cohort, f"definitions outside the {families[0]} family"
        )
    )
else:
    for i, fa in enumerate(families):
        for fb in families[i + 1 :]:
            dis = agreement.family_disagreement(result, fa, fb, profile=profile)
            stats = [c for c in dis.columns if c not in ("group", "n_clients")]
            # percentages through the plan (their numerators are counts); means of 1-4 hidden
            report.write_csv(
                masks.means_not_shown(masks.mask_families(dis, plan, fa, fb), stats, plan),
                output_dir,
                f"agreement_families_{fa}_{fb}.csv",
            )
            shown = masks.means_not_shown(
                masks.mask_families(dis, plan, fa, fb, decimals=1), stats, plan
            )
            shown = shown.rename(
                columns=text.family_profile_headers(shown.columns, result, nd.registry)
            )
            report.show_table(
                shown,
                f"{text.family_label(fa)} versus {text.family_label(fb)} success: clients and "
                "average profile",
            )
    if suppress_small_counts and disclosure_method == "rounding":
        say(masks.MEANS_NOT_SHOWN)

# %% [markdown]
# ## Is a definition biased by baseline severity?
#
# Per definition, a logistic regression of success on the baseline score of the primary measure: an odds ratio above 1 per 10 points means the definition favours more severe clients, below 1 milder ones. Psychiatric Services (2020) 71(4):312 reports, for 5,554 psychotherapy episodes with baseline PHQ-9 >= 10, OR 0.43 for remission defined as PHQ-9 < 5 (and OR 2.3 for an effect size >= 0.8). The published remission figure is set beside this run's *Remission* only when that is the same definition (PHQ-9 < 5 among baseline cases); *Below caseness at end* (PHQ-9 < 10) is a different definition and is never compared with it.

# %%
bias = agreement.severity_bias(result, severity=nd.baseline, per=10)
bias_cells = {
    "clients": [f"severity {d}: clients" for d in bias["definition"]],
    "met": [f"severity {d}: met" for d in bias["definition"]],
}
bias_basis = [[f"severity {d}: clients", f"severity {d}: met"] for d in bias["definition"]]
bias_masked = masks.mask(
    bias,
    plan,
    {"n": bias_cells["clients"], "n_met": bias_cells["met"]},
    {
        c: bias_basis
        for c in bias.columns
        if c not in ("definition", "family", "n", "n_met", "note")
    },
)
report.write_csv(bias_masked, output_dir, "agreement_severity_bias.csv")
shown = pd.DataFrame(
    {
        "definition": bias["definition"].map(text.labeller(**nd.labels)),
        "clients": bias["n"],
        "met": bias["n_met"],
        f"odds ratio per 10 {instrument.label} points (95% CI)": text.format_estimate(
            bias["odds_ratio"], bias["ci_low"], bias["ci_high"]
        ),
        "p": [text.format_p(v) for v in bias["p_value"]],
        "note": bias["note"],
    }
)
shown = masks.mask(shown, plan, bias_cells, {c: bias_basis for c in shown.columns[3:5]})
report.show_table(shown, f"Severity bias: success against baseline {instrument.label}")
# the figure draws only the odds ratios the table shows
bias_gone = pd.Series(masks.is_hidden(bias_masked["odds_ratio"]), index=bias.index)
bias_drawn = bias.loc[~bias_gone & bias["odds_ratio"].notna()]
if bias_gone.any():
    say(
        f"{int(bias_gone.sum())} of {len(bias)} odds ratios are hidden by disclosure control "
        "(from a small count, or one that would give a small count back) and are not drawn"
        + (": no odds ratio is left to draw." if bias_drawn.empty else " in the figure below.")
    )
if len(bias_drawn):
    ax = plots_compare.forest_plot(
        bias_drawn.assign(definition=bias_drawn["definition"].map(label)),
        "odds_ratio",
        "ci_low",
        "ci_high",
        ref=1.0,
        log=True,
        xlabel=f"odds ratio of success per 10 points of baseline {instrument.label}",
        title=f"Severity bias of each definition, {run_name}",
        n_hidden=int(bias_gone.sum()),
    )
    report.show_figure(ax)
published = agreement.published_severity_comparison(bias, result.attrs.get("details", {}), measure)
pub_basis = [[f"severity {d}: clients", f"severity {d}: met"] for d in published["definition"]]
report.write_csv(
    masks.mask(
        published,
        plan,
        {},
        {c: pub_basis for c in ("odds_ratio", "ci_low", "ci_high") if c in published.columns},
    ),
    output_dir,
    "agreement_severity_published.csv",
)
report.show_table(
    masks.mask(
        pd.DataFrame(
            {
                "definition": published["definition"].map(text.labeller(**nd.labels)),
                "published definition": published["published_criterion"],
                "published odds ratio per 10 points": published["published_odds_ratio"],
                "this run (95% CI)": [
                    f"{o:.2f} ({lo:.2f} to {hi:.2f})" if ok else "-"
                    for o, lo, hi, ok in zip(
                        published["odds_ratio"],
                        published["ci_low"],
                        published["ci_high"],
                        published["comparable"],
                        strict=True,
                    )
                ],
                "note": [text.in_words(n, text.labeller(**nd.labels)) for n in published["note"]],
                "source": published["source"],
            }
        ),
        plan,
        {},
        {"this run (95% CI)": pub_basis},
    ),
    "Severity bias beside the published value for the same definition",
)

# %%
rows = [
    (
        "primary outcome measure",
        f"{instrument.name} ({instrument.min:g}-{instrument.max:g} points, "
        f"{instrument.better_is} is better)",
        "instrument registry (analysis/config/instruments.yaml)",
    ),
    ("reliability (RCI)", text.reliability_shown(instrument, reliability), reliability_cited),
    (
        "reliable change index",
        "|RCI| > 1.96 (two-sided 5 % level)",
        "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19",
    ),
    # which J&T cutoff and why (instrument registry), S_diff and the threshold in points
    *workflow.reliable_change_rows(nd.all_outcomes, nd.skipped, instrument),
    (
        "missing data",
        rules.MISSING_STRATEGY_TEXT[missing],
        "parameter missing data of this report (the parameters at the top)",
    ),
    masks.methods_row(suppress_small_counts, cohort.simulated, method=disclosure_method),
    (
        "data",
        cohort.description or cohort.name,
        cohort.citation or "user-supplied data file (path in the parameters above)",
    ),
]
rows += [
    (
        f"definition: {text.labeller(**nd.labels)(d['name'])}",
        d["description"],
        d["source"] or "definitions file",
    )
    for d in nd.definitions
    if d["name"] in set(result["definition"])
]
report.show_methods(
    pd.DataFrame(rows, columns=["item", "value", "source"]),
    "Prevalence: Wilson score intervals (Wilson 1927). Kappa and its large-sample standard error: statsmodels' Cohen's kappa (Cohen 1960; Fleiss, Cohen & Everitt 1969), interval kappa +/- 1.96 SE. PABAK: Byrt, Bishop & Carlin (1993) J Clin Epidemiol 46(5):423-429. McNemar's test: mid-p on the discordant pairs b and c (Fagerland M.W., Lydersen S. & Laake P. (2013) BMC Med Res Methodol 13:91; exact and asymptotic available). Overlap: UpSet plot (Lex et al. 2014, upsetplot). Severity bias: logistic regression (statsmodels), Wald intervals, as in Psychiatric Services (2020) 71(4):312, doi:10.1176/appi.ps.201900295, whose remission odds ratio (0.43) is for PHQ-9 < 5 and is compared only with this run's remission when that is PHQ-9 < 5. A pair is compared on the clients evaluable under both definitions. "
    + (
        "Counts are rounded to the nearest 5 (1 to 7 shown as 1-7) and percent agreement, PABAK, kappa with its interval, McNemar's p and the prevalences of a pair are computed from its four rounded 2 x 2 cells (disclosure method rounding; the heat maps show the same values)."
        if suppress_small_counts and disclosure_method == "rounding"
        else "Counts and the statistics derived from them follow the run's disclosure control (the small counts row above)."
    ),
)
