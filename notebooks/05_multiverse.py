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
# # A multiverse of success: every defensible choice side by side
#
# A success rate rests on choices besides the definition itself: which J&T cutoff, which reliability for the reliable change index, what to do with clients whose post score is missing, which score counts as the post score, and who is counted. Each combination of choices is one *specification*; this report computes the success rate (and the arm difference, where the data have arms) under every specification of the grid, draws them sorted as a specification curve with the choices beneath, and says which choice moves the rate most (multiverse analysis: Steegen et al. 2016; specification curve: Simonsohn et al. 2020).

# %% tags=["parameters"]
run_name: str = "btheb"  # name of the run, used in titles
dataset: str = "btheb"  # btheb, help, simulated, or file (a user's export)
dataset_options: dict = {}  # loader options; for a file, the reader specification
measure: str = "bdi2"  # primary outcome measure, a registry code (bdi2: BDI-II)
reliability: float = None  # RCI reliability (0-1); None: the registry's value for the measure
reliability_source: str = ""  # citation of the reliability; empty: the registry's
cutoff_type: str = "instrument"  # J&T cutoff: instrument (registry default), a, b or c
m_functional: float = None  # functional population mean (points), cutoffs b and c
sd_functional: float = None  # functional population SD (points), cutoffs b and c
post: str = "last"  # "last" observed score, or a time point such as "8"
definitions: str = ""  # definitions YAML file; empty: the package default
missing: str = "last_available"  # last_available, locf, bocf, completers or dropout_as_failure
group: str = "arm"  # client column to compare groups by ("" for none)
suppress_small_counts: bool = True  # disclosure control: counts 1-4 hidden, with complements
disclosure_method: str = "suppression"  # suppression, or rounding (NHS 2018: nearest 5, 1-7)
multiverse: str = ""  # specification grid YAML (or a runs file's mapping); empty: the default
imputations: int = None  # m, imputations per specification; None: the grid's options
scheduler: str = ""  # set by the main job's --scheduler: a Dask cluster for the grid; empty: here
output_dir: str = ""  # folder for the CSV tables; empty: reports/lab
data_cache: str = ""  # set by the main job: the run's data and disclosure counts; empty: none

# %%
import pandas as pd

from analysis.compare import multiverse as mv
from analysis.outcomes import rules
from analysis.registry.instruments import cutoff_choices
from analysis.report import disclosure_tables as masks
from analysis.report import multiverse_tables as mvt
from analysis.report import tables as report
from analysis.report import text
from analysis.run import workflow

md = workflow.multiverse_for_notebook(
    dataset,
    dataset_options,
    measure,
    multiverse=multiverse,
    imputations=imputations,
    reliability=reliability,
    cutoff_type=cutoff_type,
    m_functional=m_functional,
    sd_functional=sd_functional,
    definitions=definitions,
    group=group,
    scheduler=scheduler or None,
    cache=data_cache,
)
cohort, instrument, results = md.cohort, md.instrument, md.results
say = text.say
reliability_cited = text.reliability_citation(instrument, reliability, reliability_source)
label = text.labeller(md.definitions)
# every specification's counts audited with the run's plan (one count per distinct client set;
# notebook 01's clients are notebook 01's count), small differences of nested sets protected;
# under rounding every count is rounded instead
plan, plan_cells = workflow.multiverse_disclosure(
    md, missing, post, output_dir, suppress_small_counts, data_cache, method=disclosure_method
)
masked = masks.mask_multiverse(
    results,
    suppress_small_counts,
    plan=plan,
    own=mv.matching_specifications(results, md.definitions, missing=missing, post=post),
    method=disclosure_method,
    cells=plan_cells,
)
report.write_csv(masked, output_dir, "multiverse.csv")
# rates as the CSV shows them (under rounding: from the rounded counts) for text and figures
shown, n_hidden = mvt.shown_results(
    masks.rates_as_shown(results, masked), suppress=suppress_small_counts, masked=masked
)
n_spec, n_done = len(results), int(results["computable"].sum())
# whole percentages under the rounding method (NHS Digital 2018: below a rounded denominator of
# 4,000), one decimal otherwise
rounding = bool(suppress_small_counts) and disclosure_method == "rounding"
dp = 0 if rounding else 1
if len(shown):
    summary = (
        f"{n_spec} specifications of the grid, {n_done} computed; success rates from "
        f"{100 * shown['rate'].min():.{dp}f} % to {100 * shown['rate'].max():.{dp}f} % "
        f"over the {len(shown)} shown."
    )
else:
    summary = f"{n_spec} specifications of the grid, {n_done} computed; no rate can be shown."
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
    "group": group,
    "suppress_small_counts": suppress_small_counts,
    "disclosure_method": disclosure_method,
    "multiverse": md.grid_source,
    "imputations": md.grid["options"]["imputations"],
}
report.show_banner(cohort, shown_parameters, summary=summary)
if n_hidden:
    say(
        mvt.hidden_rates_note(
            results, shown, masked, method="rounding" if rounding else "suppression"
        )
    )

# %% [markdown]
# ## The specification curve
#
# Each dot is the success rate of one specification (95 % interval shaded: Wilson, or Rubin's rules under multiple imputation), sorted from lowest to highest; beneath, a mark shows which choice each specification made on every dimension that varies. A flat curve means the choices hardly matter; a steep one, that the answer depends on them.

# %%
if len(shown) >= 2:
    top, bottom = mv.specification_curve(shown, describe=mvt.choice_words(label))
    top.set_title(f"Specification curve: {len(shown)} specifications, {run_name}")
    report.show_figure(top)
    report.show_table(
        mvt.range_by_definition(shown, label),
        "Range of the success rate per definition over the specifications",
    )
else:
    say("The specification curve: not computed: fewer than two specifications can be shown.")

# %% [markdown]
# ## Which choice moves the success rate most
#
# For each choice, the specifications are grouped by every *other* choice; within a group only that choice varies, so the range of the rate within the group is what that choice alone does. The *median shift* summarises those ranges over the groups (in percentage points), the *largest shift* is the biggest of them, and the *share of variance* is the part of the variance of all rates explained by the choice alone (eta squared).

# %%
spread = None
if len(shown) < 2:  # too few rates shown (computed, or left out by disclosure control)
    say("Decomposition of the spread: not computed: fewer than two specifications can be shown.")
else:
    try:
        spread = mv.decompose_spread(shown)
    except ValueError as exc:
        why = str(exc).removeprefix("decompose_spread: ")  # reviewers read it: no function name
        say(f"Decomposition of the spread: not computed: {why}.")
if spread is not None and len(spread):
    report.write_csv(spread, output_dir, "multiverse_spread.csv")
    say(mvt.spread_in_words(spread))
    report.show_table(mvt.format_spread(spread), "Which choice moves the success rate most")
elif spread is not None:
    say("Decomposition of the spread: not computed: no choice has more than one computed level.")

# %% [markdown]
# ## The arm difference under every specification
#
# Where the data have arms: the difference in success rate between the arms (second arm minus the first, sorted by name) under every specification, with its 95 % interval (Newcombe's hybrid score interval; Rubin's rules under multiple imputation). The odds ratios with their intervals are in multiverse.csv.

# %%
has_arm = "risk_difference" in shown.columns and shown["risk_difference"].notna().sum() >= 2
if has_arm:
    arms = shown["arm_comparison"].dropna().iloc[0]
    top, bottom = mv.specification_curve(
        shown, value="risk_difference", describe=mvt.choice_words(label)
    )
    top.set_title(f"Arm difference ({arms}) under every specification, {run_name}")
    top.set_ylabel("risk difference (percentage points)")
    report.show_figure(top)
    rd = shown.loc[shown["risk_difference"].notna()]
    above = int((rd["rd_ci_low"] > 0).sum())
    below = int((rd["rd_ci_high"] < 0).sum())
    say(
        f"Arm difference ({arms}): from {100 * rd['risk_difference'].min():.{dp}f} to "
        f"{100 * rd['risk_difference'].max():.{dp}f} percentage points over {len(rd)} "
        f"specifications; the 95 % interval lies above zero in {above} and below zero in "
        f"{below} of them."
    )
elif group and group in cohort.clients.columns:
    say(
        mvt.arm_difference_absent(
            results, shown, group, masked, method="rounding" if rounding else "suppression"
        )
    )
else:
    say(text.absent("The arm difference", cohort, f"arms (client column {group!r})"))

# %% [markdown]
# ## This run's own specification, and the extremes
#
# The specifications that match this run's parameters (the ones notebooks 01-04 use: cutoff type, reliability, missing-data strategy and post rule, everyone counted), then the lowest and highest success rate of the multiverse.

# %%
own = mv.matching_specifications(results, md.definitions, missing=missing, post=post)
own = own.loc[own["computable"]]
if len(own):
    report.show_table(
        mvt.format_specifications(
            masks.rates_as_shown(own, masked), suppress_small_counts, label, masked, dp
        ),
        "This run's own specification (as in notebooks 01-04)",
    )
else:
    say(
        "This run's own specification is not part of the grid (its missing-data strategy, post "
        "rule or reliability is not among the grid's levels)."
    )
if len(shown):
    ends = shown.loc[[shown["rate"].idxmin(), shown["rate"].idxmax()]]
    report.show_table(
        mvt.format_specifications(ends, suppress_small_counts, label, masked, dp),
        "The lowest and the highest success rate of the multiverse",
    )

# %% [markdown]
# ## Specifications not computed
#
# Combinations that the data or the instruments cannot support are skipped, each with its reason (a choice that does not enter a definition is not repeated: a cutoff type for response is "n/a").

# %%
skipped = mvt.skipped_specifications(results, label)
if len(skipped):
    report.show_table(skipped, f"{int(skipped['specifications'].sum())} specifications skipped")
else:
    say("Every specification of the grid was computed.")

# %%
options = md.grid["options"]
levels = md.grid["grid"]
rel_sources = (
    results.loc[
        results["computable"] & (results["reliability"].astype(str) != "n/a"),
        ["reliability", "reliability_source"],
    ]
    .drop_duplicates()
    .astype(str)
)
run_rel = text.reliability_shown(instrument, reliability)
rel_sources["reliability"] = [f"{float(v):g}" for v in rel_sources["reliability"]]
rows = [
    (
        "specification grid",
        md.grid_source,
        "parameter specification grid (analysis/config/multiverse.yaml)",
    ),
    (
        "primary outcome measure",
        f"{instrument.name} ({instrument.min:g}-{instrument.max:g} points, "
        f"{instrument.better_is} is better)",
        "instrument registry (analysis/config/instruments.yaml)",
    ),
    (
        "J&T cutoff types",
        ", ".join(mv.level_label("cutoff_type", c) for c in levels["cutoff_type"]),
        "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19",
    ),
    # what each cutoff type is for the primary measure: boundary or norms, with their source
    *cutoff_choices(instrument, levels["cutoff_type"]),
    # one row per reliability with one source; the run's own value is marked on its grid row
    *[
        (
            f"reliability {r.reliability}" + (" (this run's)" if r.reliability == run_rel else ""),
            "RCI reliability",
            reliability_cited if r.reliability == run_rel else r.reliability_source or "grid",
        )
        for r in rel_sources.itertuples()
    ],
    *(
        [("the run's reliability", run_rel, reliability_cited)]
        if run_rel not in set(rel_sources["reliability"])
        else []
    ),
    *[
        (
            f"missing data: {mv.level_label('missing', m)}",
            rules.MISSING_STRATEGY_TEXT[m],
            "grid; the strategies of this project's definitions engine (sources in the text)",
        )
        for m in levels["missing"]
        if m in rules.MISSING_STRATEGY_TEXT
    ],
    (
        "post-score rules",
        "; ".join(mv.level_label("post", p) for p in levels["post"]),
        "grid (a number is a time point in the run's time unit)",
    ),
    (
        "populations",
        ", ".join(mv.level_label("population", p) for p in levels["population"]),
        f"{mv.level_label('population', 'severe')}: top severity band of the primary measure at "
        "baseline (instrument registry); "
        f"{mv.level_label('population', 'chronic')}: client column 'chronic'; "
        f"{mv.level_label('population', 'finished')}: end reason 'planned'",
    ),
    (
        "success rate interval",
        "95 % Wilson score interval",
        "Wilson E.B. (1927) J Am Stat Assoc 22(158):209-212",
    ),
    (
        "arm difference intervals",
        "risk difference: Newcombe hybrid score; odds ratio: logit (Woolf)",
        "Newcombe R.G. (1998) Stat Med 17(8):873-890; statsmodels (confidence interval of the "
        "difference of two independent proportions)",
    ),
    masks.methods_row(
        suppress_small_counts,
        cohort.simulated,
        method=disclosure_method,
        detail="in the multiverse, every specification's met and evaluable counts (and each "
        "arm's) are audited with the run's other counts, by subtraction between specifications "
        "too (disclosure by differencing: Hundepool A. et al. (2012) Statistical Disclosure "
        "Control, Wiley, ch. 4-5), a count of the same clients as one of notebook 01's shown as "
        "the plan shows it there; a specification's rate, interval and arm statistics are "
        "suppressed, and left out of the figures, where a count they rest on is hidden",
    ),
    (
        "data",
        cohort.description or cohort.name,
        cohort.citation or "user-supplied data file (path in the parameters above)",
    ),
]
if "multiple_imputation" in levels["missing"]:
    rows += [
        (
            f"missing data: {mv.level_label('missing', 'multiple_imputation')}",
            f"m = {options['imputations']} imputations of each missing post score by chained "
            f"equations with predictive mean matching ({options['pmm_donors']} donors), seed "
            f"{options['seed']}; predictors: baseline, last observed score and its time, arm",
            "van Buuren S. & Groothuis-Oudshoorn K. (2011) J Stat Softw 45(3):1-67; statsmodels "
            "MICEData",
        ),
        (
            "pooling",
            "Rubin's rules (mean of the estimates; total variance = within + (1 + 1/m) "
            "between), Barnard-Rubin degrees of freedom",
            "Rubin D.B. (1987) Multiple Imputation for Nonresponse in Surveys, Wiley; Barnard J. "
            "& Rubin D.B. (1999) Biometrika 86(4):948-955",
        ),
        (
            "number of imputations",
            f"m = {options['imputations']}",
            "White I.R., Royston P. & Wood A.M. (2011) Stat Med 30(4):377-399 (m >= 20)",
        ),
    ]
rows += [
    (f"definition: {label(d['name'])}", d["description"], d["source"] or "definitions file")
    for d in md.definitions
    if d["name"] in set(results["definition"])
]
report.show_methods(
    pd.DataFrame(rows, columns=["item", "value", "source"]),
    "Multiverse analysis: every reasonable combination of analytic choices is computed and shown "
    "side by side instead of one chosen combination (Steegen S., Tuerlinckx F., Gelman A. & "
    "Vanpaemel W. (2016) Increasing transparency through a multiverse analysis. Perspect Psychol "
    "Sci 11(5):702-712). Specification curve: the estimates sorted, with the choices of each "
    "beneath (Simonsohn U., Simmons J.P. & Nelson L.D. (2020) Specification curve analysis. Nat "
    "Hum Behav 4:1208-1214). The definitions engine computes shared parts once per missing-data "
    "strategy and post rule; populations are subsets of its per-client table. The spread is "
    "decomposed by holding every other choice fixed (median and largest within-group range) and "
    "by eta squared; it describes this grid, not a population of possible analyses."
    "\n\n"
    "Multiple imputation (where the grid includes it): each missing post score is drawn m times "
    "from its predictive distribution given the baseline, the last observed score and its time "
    "and the arm, by chained equations with predictive mean matching, so that every imputed "
    "value is a score observed in another client and stays on the instrument's scale (van Buuren "
    "& Groothuis-Oudshoorn 2011). The success rate is computed on each completed dataset and "
    "pooled with Rubin's rules (Rubin 1987). Assumptions: the post scores are missing at random "
    "given what the model sees (MAR: dropout depends on the observed baseline, trajectory and arm, "
    "not on the unobserved outcome itself); the predictors relate linearly to the post score; "
    "clients who left are exchangeable with observed clients of the same predicted post score. "
    "If clients left because they were doing badly (or well) beyond what their scores so far "
    "show, the imputed rates are biased; the single-value rules beside them (BOCF, dropout as "
    "failure) bound that risk from the pessimistic side.",
)
