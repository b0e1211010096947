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
# # Who counts as a success? Outcome definitions side by side
#
# The same clients can be a success under one definition of a good outcome and not under another. This report applies every definition of the definitions file that the data can express (symptom elimination, functional gains, alliance, the practitioners' personal markers and composites) and counts, for each, how many clients meet it, with 95 % Wilson confidence intervals. It then compares the reliable-change methods on the primary measure.

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
rci_methods: list = ["JT", "GLN", "HLL", "EN", "NK", "HA", "HLM"]  # reliable-change methods
hlm_test: str = "cohort"  # HLM rule: cohort (slope against the cohort mean, as R) or zero
group: str = "arm"  # client column to compare groups by ("" for none)
suppress_small_counts: bool = True  # disclosure control: counts 1-4 hidden, with complements
disclosure_method: str = "suppression"  # suppression, or rounding (NHS 2018: nearest 5, 1-7)
client_outcomes: bool = False  # also write per-client outcomes (identifiable data)
output_dir: str = ""  # folder for the CSV tables; empty: reports/lab
data_cache: str = ""  # set by the main job: the run's data, loaded once; empty: load here

# %%
import pandas as pd

from analysis.compare import agreement
from analysis.compare import prevalence as stats
from analysis.outcomes import clinsig, rules
from analysis.outcomes import engine as outcomes
from analysis.outcomes.hlm import HLM_TEST_LABELS
from analysis.registry.definitions import harm_indicators
from analysis.report import disclosure, plots, text
from analysis.report import disclosure_tables as masks
from analysis.report import tables as report
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
    cache=data_cache,
)
cohort, instrument, result = nd.cohort, nd.instrument, nd.all_outcomes
reliability_cited = text.reliability_citation(instrument, reliability, reliability_source)
post_rule = post if post == "last" else float(post)
overall = stats.prevalence(result, by="family")
by_group = (
    stats.prevalence(result, by=group, groups=cohort.clients)
    if group and group in cohort.clients.columns
    else None
)
if client_outcomes:  # personal data: only when the run asks, marked identifiable
    report.write_identifiable_csv(result[outcomes.OUTCOME_COLUMNS], output_dir, "outcomes")
# the run's one disclosure plan (real data): written here, read by every later report; it
# covers every count this report shows, the reliable-change methods' categories included
plan = workflow.run_disclosure(
    nd,
    group,
    output_dir,
    suppress_small_counts,
    methods=workflow.methods_for_plan(
        nd,
        measure,
        reliability,
        tuple(rci_methods),
        cutoff_type,
        m_functional,
        sd_functional,
        post,
        missing,
        hlm_test,
    )
    if suppress_small_counts
    else None,
    write=True,
    cache=data_cache,
    extra=workflow.first_plan_cells(nd, result),
    method=disclosure_method,
)
# the CSVs hide what the reports hide
report.write_csv(masks.mask_prevalence(overall, overall, plan), output_dir, "prevalence.csv")
if by_group is not None:
    report.write_csv(
        masks.mask_prevalence(by_group, by_group, plan, group),
        output_dir,
        f"prevalence_by_{group}.csv",
    )
head_prev = stats.prevalence(nd.outcomes)
report.write_csv(
    masks.mask_prevalence(head_prev, head_prev, plan), output_dir, "prevalence_headline.csv"
)
label = text.labeller(**nd.labels)
note_label = text.labeller(  # a reason names definitions and instruments: both by label
    **{**{code: ins.label for code, ins in nd.registry.items()}, **nd.labels}
)
head = masks.mask_prevalence(
    report.format_prevalence(head_prev, suppress=False, label=label), head_prev, plan
)
# the headline as shown (hidden counts as "<5"): the index repeats this table
report.write_csv(head, output_dir, "prevalence_headline_shown.csv")
headline = "; ".join(
    f"{d} {pct}" + (" %" if pct[0].isdigit() else "")
    for d, pct in zip(head["definition"], head["% met (95% CI)"], strict=True)
)
report.show_banner(
    cohort,
    {
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
                "m_functional",
                "sd_functional",
                "post",
                "definitions",
                "missing",
                "rci_methods",
                "hlm_test",
                "group",
                "suppress_small_counts",
                "disclosure_method",
            }
        },
        "reliability_source": reliability_cited,
    },
    summary=f"{result['definition'].nunique()} definition(s) could be computed on these data. "
    f"The share of evaluable clients counted as a success (percent, 95 % Wilson interval) under "
    f"the headline definitions was: {headline}. Missing-data strategy: {missing.replace('_', ' ')}. Times are "
    f"in {cohort.time_unit}s" + (" (also in the per-client file)." if client_outcomes else "."),
)

# %% [markdown]
# ## The definitions

# %%
report.show_table(
    pd.DataFrame(
        {
            "definition": [label(d["name"]) for d in nd.definitions],
            "family": [text.family_label(d["family"]) for d in nd.definitions],
            "rule": [d["description"] for d in nd.definitions],
            "source": [d["source"] for d in nd.definitions],
        }
    ),
    "Definitions computed on these data",
)
if nd.skipped:
    report.show_table(
        pd.DataFrame(
            {
                "definition": [label(d) for d in nd.skipped],
                "not computed": [  # definitions and measures in the reason by their labels
                    f"not computed: {text.in_words(why, note_label)}" for why in nd.skipped.values()
                ],
            }
        ),
        f"{len(nd.skipped)} definition(s) of the file the data cannot support",
    )

# %% [markdown]
# ## How many clients count as a success?

# %%
# harm indicators (rule option direction: deterioration, or the NHS deterioration outcome) are a
# bad outcome, not a success: shown apart
harm = overall["definition"].isin(harm_indicators(nd.definitions))
for rows, title in [
    (~harm, "Clients meeting each definition of success, all clients, by family of definitions"),
    (harm, "Harm indicators, not successes: clients meeting each (a reliable deterioration)"),
]:
    if rows.any():
        part = overall.loc[rows].reset_index(drop=True)
        report.show_table(
            masks.mask_prevalence(
                report.format_prevalence(part, suppress=False, label=label), part, plan
            ),
            title,
        )
if by_group is not None:
    harm_g = by_group["definition"].isin(harm_indicators(nd.definitions))
    for rows, title in [
        (~harm_g, f"Clients meeting each definition of success, by {group}"),
        (harm_g, f"Harm indicators, not successes, by {group}"),
    ]:
        if rows.any():
            part = by_group.loc[rows].reset_index(drop=True)
            report.show_table(
                masks.mask_prevalence(
                    report.format_prevalence(part, suppress=False, label=label), part, plan, group
                ),
                title,
            )
elif group:
    text.say(
        f"No split by {group!r}: the client table has no such column "
        f"(its columns: {', '.join(c for c in cohort.clients.columns if c != 'id')})."
    )

# %% [markdown]
# ## The practitioners' ten perspectives
#
# Practitioners asked what a successful outcome is gave ten different answers (the practitioner
# panel "What Do You Consider to be a Successful Psychotherapy Outcome?", 2024). Each row says which
# definitions of this run express a perspective and for how many clients it could be computed.

# %%
coverage = stats.perspective_coverage(result, list(nd.definitions))
shown = pd.DataFrame(
    {
        "perspective": coverage["perspective"].astype(str) + ". " + coverage["label"],
        "definitions": [
            ", ".join(label(n) for n in names.split(", ")) if names else "none in this run"
            for names in coverage["definitions"]
        ],
        "clients evaluable": coverage["clients_evaluable"],
        "clients met": coverage["clients_met"],
    }
)
shown = masks.mask(
    shown,
    plan,
    {
        f"clients {k}": [f"perspective {n}: {k}" for n in coverage["perspective"]]
        for k in ("evaluable", "met")
    },
)
report.show_table(shown, "Practitioner perspectives: clients each could be computed for")
n_cov = int((coverage["clients_evaluable"] > 0).sum())
text.say(f"{n_cov} of the 10 perspectives could be computed on these data.")

# %% [markdown]
# ## The Jacobson plot
#
# Baseline score against post score on the primary measure, one point per client on simulated data (on real data clients are counted in hexagons: no client's own scores are drawn). Clients inside the grey band have not changed reliably; the dashed lines mark the Jacobson-Truax cutoff. By default (J&T cutoff: registry default) the cutoff follows the instrument registry: cutoff *c*, between the clinical and a functional population, where confirmed functional norms exist (e.g. PHQ-9: Kocalevent, Hinz & Brähler 2013), otherwise the instrument's published clinical cutoff (e.g. BDI-II >= 14); cutoff *a* (two standard deviations of the baseline scores beyond their mean) depends on the sample and is used only on request. The Methods section says which cutoff was used and why.

# %%
jt_ok = "clinically_significant" in set(result["definition"])
if jt_ok:
    jt = outcomes.change_table(result, "clinically_significant")
    # smallest hexagon drawn: the smallest count the run shows (8 under rounding: none on 1-7)
    hex_min = 8 if disclosure_method == "rounding" else report.SMALL_COUNT
    ax = plots.jacobson_plot(
        jt,
        measure_label=instrument.label,
        title=f"Jacobson plot: {instrument.label}, {run_name}"
        + (
            ""
            if suppress_small_counts
            else " (simulated data: one point per client)"
            if cohort.simulated
            else " (one point per client)"
        ),
        aggregate=bool(suppress_small_counts),
        threshold=hex_min,
        counts=masks.category_counts(jt, plan, "clinically_significant"),
    )
    report.show_figure(ax)
    if suppress_small_counts:
        text.say(
            "On real data the plot shows no client's own scores: clients are counted in hexagons "
            f"(a hexagon with fewer than {hex_min} clients is left blank; its colour gives a "
            "range of clients, not an exact number), and the legend gives the number of clients "
            "per category"
            + (" as the tables show it (rounded)." if disclosure_method == "rounding" else ".")
        )
else:
    text.say(
        "The Jacobson plot and the methods comparison are left out: "
        + nd.skipped.get(
            "clinically_significant",
            "the definitions file has no definition named 'clinically_significant'",
        )
        + "."
    )

# %% [markdown]
# ## Every reliable-change method side by side
#
# The same clients classified by each reliable-change method of the R package clinicalsignificance (Claus, Wager & Bonnet 2024): Jacobson-Truax (JT), Gulliksen-Lord-Novick (GLN), Hsu-Linn-Lord (HLL), Edwards-Nunnally (EN), Nunnally-Kotsch (NK), Hageman-Arrindell (HA) and the hierarchical linear model (HLM, which needs at least three assessments per client). By default (HLM rule: the client's slope against the cohort's mean slope), HLM judges, as the R package, each client's slope against the cohort's average slope (an empirical-Bayes deviation): a client who improves about as much as the average counts as unchanged, and one who improves clearly less than the average as deteriorated, even if their score fell. With the other rule (the client's own slope against zero), it judges the client's own slope (fixed plus random) against zero. The Methods section states which rule was used.

# %%
methods = (
    None
    if not jt_ok
    else outcomes.compare_methods(
        cohort,
        measure,
        reliability=reliability,
        methods=tuple(rci_methods),
        cutoff_type=cutoff_type,
        m_functional=m_functional,
        sd_functional=sd_functional,
        post=post_rule,
        missing=missing,
        hlm_test=hlm_test,
        registry=nd.registry,
    )
)
if methods is not None and methods.attrs.get("not_computed"):
    report.show_table(
        pd.DataFrame(
            {
                "method": list(methods.attrs["not_computed"]),
                "left out": [f"not computed: {w}" for w in methods.attrs["not_computed"].values()],
            }
        ),
        "Reliable-change methods left out (the data cannot support them)",
    )
if methods is not None and not methods.attrs.get("methods"):
    text.say("No reliable-change method could be computed on these data (reasons above).")
    methods = None
if methods is not None:
    if client_outcomes:  # one row per client and method: identifiable
        report.write_identifiable_csv(methods, output_dir, "methods_outcomes")
    summ = clinsig.summarise_categories(
        methods, "category", group="method", levels=clinsig.CATEGORIES
    )
    counts = summ.pivot(index="method", columns="level", values="n").rename_axis(columns=None)
    counts = (
        counts.reindex(columns=list(clinsig.CATEGORIES))
        .reindex(methods.attrs["methods"])
        .reset_index()
    )
    counts["evaluable"] = (
        summ.groupby("method")["n_evaluable"].first().reindex(counts["method"]).to_numpy()
    )
    plan = workflow.extend_disclosure(  # (already in the plan: nothing new)
        plan, nd, disclosure.method_cells(methods), group, output_dir, cache=data_cache
    )
    shown = masks.mask(
        counts,
        plan,
        {
            c: [
                f"method {m}: {'evaluable' if c == 'evaluable' else 'category ' + c}"
                for m in counts["method"]
            ]
            for c in [*clinsig.CATEGORIES, "evaluable"]
        },
    )
    report.write_csv(shown, output_dir, "methods_summary.csv")
    report.show_table(shown, f"Clients per category and reliable-change method, {instrument.label}")
    text.say(
        f"Cutoff for the combined categories: {methods.attrs['cutoff']['reason']}; "
        f"{methods.attrs['cutoff']['true_score_methods']}."
    )
    hlm_n = int(((methods["method"] == "HLM") & methods["evaluable"].astype(bool)).sum())
    hlm_text = text.hlm_all_unchanged(  # the count as the run shows it under rounding
        methods,
        cohort.time_unit,
        n_shown=masks.shown_value(hlm_n, "method HLM: evaluable", plan)
        if disclosure_method == "rounding"
        else None,
    )
    if hlm_text:
        text.say(hlm_text)

# %% [markdown]
# ## Where do the headline definitions disagree?
#
# For each pair of headline definitions: among clients evaluable under both, how many are a success under one and not the other (counts only; no client is listed).

# %%
pairs = agreement.pairwise_agreement(nd.outcomes)
dis = pairs[
    [
        "definition_a",
        "definition_b",
        "n_both",
        "both_met",
        "only_a",
        "only_b",
        "neither",
        "percent_agree",
    ]
].assign(n_disagree=pairs["only_a"] + pairs["only_b"])
report.write_csv(masks.mask_pairs(dis, dis, plan), output_dir, "disagreement.csv")
shown = dis.round({"percent_agree": 1}).assign(
    definition_a=dis["definition_a"].map(label), definition_b=dis["definition_b"].map(label)
)
shown = masks.mask_pairs(shown, dis, plan).rename(
    columns={
        "definition_a": "definition A",
        "definition_b": "definition B",
        "n_both": "clients in both",
        "both_met": "both met",
        "only_a": "only A",
        "only_b": "only B",
        "percent_agree": "% agree",
        "n_disagree": "disagree",
    }
)
report.show_table(shown, "Pairs of headline definitions: agreement and disagreement (clients)")

# %%
cut = instrument.cutoff or {}
rem = instrument.remission or {}
rows = [
    (
        "outcome measure",
        f"{instrument.name} ({instrument.min:g}-{instrument.max:g} points)",
        "instrument registry",
    ),
    ("direction", f"{instrument.better_is} is better", "instrument registry"),
    (
        f"clinical cutoff (caseness; {label('below_caseness')})",
        f"case if {cut.get('case_if', '')} {cut.get('value', 'n/a')}"
        + ("" if cut.get("confirmed", True) else " (UNCONFIRMED)"),
        cut.get("source") or "instrument registry (no source recorded)",
    ),
    (
        "remission threshold (remission)",
        f"remitted if {rem['remission_if']} {rem['value']:g}"
        + ("" if rem.get("confirmed") else " (UNCONFIRMED)")
        if rem
        else f"not computed: no published remission threshold for {instrument.label} in the "
        "instrument registry",
        rem.get("source") or "not applicable (not computed)",
    ),
    ("reliability (RCI)", text.reliability_shown(instrument, reliability), reliability_cited),
    # which J&T cutoff and why (instrument registry), S_diff and the threshold in points
    *workflow.reliable_change_rows(result, nd.skipped, instrument),
    (
        "HLM rule (methods comparison)",
        HLM_TEST_LABELS[hlm_test],
        "parameter HLM rule; Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw 111(1)",
    ),
    (
        "post score",
        rules.post_label(post),
        "parameter post score of this report",
    ),
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
    (f"definition: {label(d['name'])}", d["description"], d["source"] or "definitions file")
    for d in nd.definitions
]
report.show_methods(
    pd.DataFrame(rows, columns=["item", "value", "source"]),
    "Every definition is scored by this project's definitions engine from the definitions file (one rule kind per definition); thresholds not in the file come from the instrument registry with their sources. Reliable-change methods other than JT follow the R package clinicalsignificance (Claus B.B., Wager J. & Bonnet U. (2024) J Stat Softw 111(1)).\n\nReliable change index: RCI = (post - baseline) / S_diff with S_diff = sqrt(2) x SD_baseline x sqrt(1 - r), SD_baseline being the SD of the evaluable clients' baseline scores; a change is reliable when |RCI| > 1.96 (Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19). Response (at least 50 % reduction from baseline) follows Frank E. et al. (1991) Arch Gen Psychiatry 48(9):851-855; remission uses the instrument's published remission threshold (registry, e.g. PHQ-9 < 5), which is not the caseness cutoff (below caseness at end, e.g. PHQ-9 < 10).\n\nConfidence intervals are Wilson score intervals (Wilson E.B. (1927) J Am Stat Assoc 22(158):209-212). "
    + (
        "With the rounding method (parameter disclosure method, shown at the top), counts from 1 to 7 are shown as 1-7 and every other count rounded to the nearest 5, percentages are computed from the rounded counts (NHS Digital 2018; the Methods row small counts says more); client-level"
        if disclosure_method == "rounding"
        else "When small-count suppression is on (parameter small-count suppression, shown at the top), counts from 1 to 4 are shown as <5, and further counts are shown as 'suppressed' so that no hidden count can be worked out from totals, margins or another table of this run (complementary suppression, one plan for the whole run: the run's disclosure plan, a CSV file beside the reports listed in the index, with the reason for each hidden count); the percentages and statistics derived from a hidden count are suppressed; client-level"
    )
    + " outcomes are never shown in a report, only in the file outcomes-identifiable.csv, written beside it when the run asks for it (parameter per-client tables).\n\noutcomes-identifiable.csv has one row per client and definition: the client's id, the definition, its family and every measure the rule used; the status at the end of the client's course (met, not met or not evaluable) and the reason (why not evaluable, or how a status was imputed); the client's own baseline and post times, baseline and post scores, change, reliable change index and Jacobson-Truax category; the first assessment at which the criterion held and the time from which it held through the end (empty unless met). The project's README lists the file's column names. Times are in the data's unit (sessions, weeks or months, stated at the top). The methods comparison uses the same trajectories and the same missing-data strategy as every definition.",
)
