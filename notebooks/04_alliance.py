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
# # The working alliance: predictor and outcome
#
# Does a good early alliance go with success under each definition? Do alliance and symptoms move together from session to session, and does this session's alliance predict next session's change? Alliance as a success in its own right, and how much outcomes differ between therapists.

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
alliance_measure: str = "wai_sr"  # wai_sr (12-60) or srs (0-40), higher is better
landmark: int = 3  # alliance over sessions 1..L predicts success after L
output_dir: str = ""  # folder for the CSV tables; empty: reports/lab
data_cache: str = ""  # set by the main job: the run's data, loaded once; empty: load here

# %%
import numpy as np
import pandas as pd

from analysis.compare import agreement, alliance
from analysis.compare import prevalence as stats
from analysis.outcomes import engine as outcomes
from analysis.outcomes import rules
from analysis.report import disclosure_tables as masks
from analysis.report import index, plots_compare, text
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
    compare=compare,
    cache=data_cache,
)
cohort, instrument, result = nd.cohort, nd.instrument, nd.outcomes
units = text.time_units(cohort.time_unit)
has_group = bool(group) and group in cohort.clients.columns and cohort.clients[group].nunique() > 1
say = text.say
reliability_cited = text.reliability_citation(instrument, reliability, reliability_source)
label = text.labeller(**nd.labels)
alliance_label = text.measure_label(alliance_measure, nd.registry)
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
alliance_ok = workflow.has_measure(cohort, alliance_measure)
therapist_ok = "therapist" in cohort.clients.columns and cohort.clients["therapist"].nunique() >= 3
if not alliance_ok and not therapist_ok:
    # nothing this report could show: no page is rendered; the index gives this sentence
    index.not_produced(
        report.output_folder(output_dir),
        "04_alliance",
        f"This dataset ({cohort.name}) has neither alliance scores nor therapists recorded for "
        "at least three clients, so there is no alliance or therapist analysis to report.",
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
                "alliance_measure",
                "landmark",
                "suppress_small_counts",
                "disclosure_method",
            }
        },
    },
    summary=(
        "Alliance scores: "
        + (alliance_label if alliance_ok else "none in this dataset")
        + "; therapists: "
        + ("recorded" if therapist_ok else "not recorded")
        + "."
    ),
)

# %% [markdown]
# ## Early alliance as a predictor of each definition: a landmark design
#
# Correlation of success (1/0) with the mean alliance over sessions 1 to L (the landmark, a parameter), and the partial correlation controlling for baseline severity on the primary measure. So that the alliance can only predict what comes after it, a client enters a definition's analysis only when still in treatment after L and not yet meeting the definition at L: otherwise early alliance would 'predict' successes already reached while it was measured. Definitions built from alliance scores (the alliance family, and composites with an alliance part) would predict themselves; they are listed apart and left out of the forest plot. The meta-analytic alliance-outcome correlation is r = .28 (Flueckiger et al. 2018).

# %%
if alliance_ok:
    early = alliance.early_alliance(cohort.scores, alliance_measure, landmark)
    lm_time = early.attrs["landmark"]
    pred = alliance.alliance_predicts_outcomes(
        nd.all_outcomes,
        early,
        severity=nd.baseline,
        landmark=lm_time,
        alliance_measures=tuple(dict.fromkeys(("wai_sr", "srs", alliance_measure))),
    )
    # the landmark counts join the run's plan (audited with every other count of the run)
    plan0 = workflow.extend_disclosure(
        workflow.run_disclosure(
            nd, group, output_dir, suppress_small_counts, cache=data_cache, method=disclosure_method
        ),
        nd,
        workflow.landmark_cells(
            alliance.landmark_sample(nd.all_outcomes, early, nd.baseline, lm_time)
        ),
        group,
        output_dir,
        cache=data_cache,
    )
    report.write_csv(
        masks.mask_landmark(pred, pred, plan0), output_dir, "alliance_predicts_outcomes.csv"
    )
    own = pred.loc[pred["predictor_of_itself"]]
    pred = pred.loc[
        ~pred["predictor_of_itself"] & pred["definition"].isin(set(result["definition"]))
    ]
    shown = pd.DataFrame(
        {
            "definition": pred["definition"].map(label),
            "clients": pred["n"],
            "met": pred["n_met"],
            "r (95% CI)": text.format_estimate(pred["r"], pred["r_ci_low"], pred["r_ci_high"]),
            "partial r, severity held constant (95% CI)": text.format_estimate(
                pred["partial_r"], pred["partial_ci_low"], pred["partial_ci_high"]
            ),
            "note": pred["note"],
        }
    )
    shown = masks.mask_landmark(shown, pred, plan0)
    report.show_table(
        shown,
        f"Early {alliance_label} (sessions 1-{lm_time:g}) and success after session {lm_time:g}",
    )
    if len(own):
        say(
            "Not predicted by the alliance, because built from alliance scores (listed apart): "
            + ", ".join(own["definition"].map(label))
            + "."
        )
    if pred["partial_r"].notna().any():
        report.show_figure(
            plots_compare.forest_plot(
                pred.assign(definition=pred["definition"].map(label)),
                "partial_r",
                "partial_ci_low",
                "partial_ci_high",
                xlabel="partial correlation with early alliance",
                title=f"Early alliance and later success, severity held constant, {run_name}",
            )
        )
else:
    say(text.absent("Early alliance as a predictor", cohort, f"alliance scores ({alliance_label})"))

# %% [markdown]
# ## Session by session, within clients
#
# Repeated-measures correlation of alliance and symptoms (between-client differences removed), and a mixed model of next session's symptom change on this session's alliance (the client's deviation from their own average).

# %%
pairs = alliance.session_pairs(cohort.scores, alliance_measure, measure) if alliance_ok else None
if pairs is not None and pairs["id"].nunique() >= 3 and pairs.groupby("id").size().ge(2).sum() >= 3:
    rm = alliance.within_client_association(pairs)
    # the number of clients as the run shows counts (rounded under the rounding method)
    count_plan = workflow.run_disclosure(
        nd, group, output_dir, suppress_small_counts, cache=data_cache, method=disclosure_method
    )
    if "n_clients" in rm:
        rm = masks.mask(rm, count_plan, {"n_clients": [None] * len(rm)})
    report.write_csv(rm, output_dir, "alliance_rm_corr.csv")
    report.show_table(
        text.statistics_table(rm, "r"),
        f"Within-client correlation of {alliance_label} and {instrument.label}",
    )
    nxt = alliance.alliance_predicts_next_change(pairs)
    if "n_clients" in nxt:
        nxt = masks.mask(nxt, count_plan, {"n_clients": [None] * len(nxt)})
    report.write_csv(nxt, output_dir, "alliance_next_change.csv")
    term_label = text.labeller(
        alliance_within=f"{alliance_label}: client's deviation from own mean (per point)",
        alliance_between=f"{alliance_label}: client's mean (per point)",
        symptom=f"current {instrument.label} (per point)",
    )
    report.show_table(
        text.statistics_table(nxt, "estimate", values={"term": term_label}),
        f"Next-session change in {instrument.label} (points) on this session's alliance",
    )
else:
    say(
        text.absent(
            "The session-level association",
            cohort,
            f"session-by-session {alliance_label} and {instrument.label} scores",
        )
    )

# %% [markdown]
# ## Alliance as an outcome
#
# The alliance definitions of the definitions file (the same ones notebook 01 counts: one rule each, with its source), and how they agree with the other definitions.

# %%
a_out = nd.all_outcomes.loc[nd.all_outcomes["family"] == "alliance"]
if len(a_out):
    a_prev = stats.prevalence(a_out)
    both = pd.concat([result.loc[result["family"] != "alliance"], a_out], ignore_index=True)
    # the run's plan with the pairs of this report added
    plan = workflow.extend_disclosure(
        workflow.run_disclosure(
            nd, group, output_dir, suppress_small_counts, cache=data_cache, method=disclosure_method
        ),
        nd,
        workflow.agreement_cells(both),
        group,
        output_dir,
        cache=data_cache,
    )
    report.write_csv(
        masks.mask_prevalence(a_prev, a_prev, plan), output_dir, "alliance_outcome_prevalence.csv"
    )
    report.show_table(
        masks.mask_prevalence(
            report.format_prevalence(a_prev, suppress=False, label=label), a_prev, plan
        ),
        "Alliance definitions of success",
    )
    a_pairs = agreement.pairwise_agreement(both)
    a_pairs = a_pairs.loc[
        (a_pairs["family_a"] == "alliance") != (a_pairs["family_b"] == "alliance")
    ].reset_index(drop=True)
    report.write_csv(
        masks.mask_pairs(a_pairs, a_pairs, plan), output_dir, "alliance_outcome_agreement.csv"
    )
    report.show_table(
        masks.mask_pairs(text.format_pairs(a_pairs, suppress=False, label=label), a_pairs, plan),
        "Agreement of alliance definitions with the other definitions",
    )
else:
    say(
        text.absent(
            "Alliance as an outcome", cohort, "alliance scores for the alliance definitions"
        )
    )

# %% [markdown]
# ## Therapist effects
#
# Share of the variance in change on the primary measure that lies between therapists (intraclass correlation from a random-intercept model), and each therapist's estimated deviation, by rank only. Published therapist effects average about 5 % (Johns et al. 2019).

# %%
icc_why = ""  # why the therapist ICC on change could not be computed ("" when it was)
if therapist_ok and "reliable_improvement" not in set(nd.all_outcomes["definition"]):
    icc_why = (
        f"change comes from the definition {label('reliable_improvement')}, not computed here"
        + (
            f" ({nd.skipped['reliable_improvement']})"
            if "reliable_improvement" in nd.skipped
            else ""
        )
    )
elif therapist_ok:
    change = nd.baseline.merge(
        outcomes.change_table(nd.all_outcomes, "reliable_improvement")[["id", "change"]], on="id"
    ).merge(cohort.clients[["id", "therapist"]], on="id")
    try:  # too few clients per therapist, or a singular fit: said, not a failed report
        icc, effects = alliance.therapist_icc(change, "change")
    except (ValueError, np.linalg.LinAlgError) as exc:
        icc_why = str(exc).splitlines()[0] or type(exc).__name__
if therapist_ok and not icc_why:
    per_def, def_why = [], {}
    for d in dict.fromkeys(result["definition"]):
        sub = result.loc[(result["definition"] == d) & result["status"].isin(["met", "not_met"])]
        sub = sub.assign(success=sub["status"].eq("met").astype(float)).merge(
            cohort.clients[["id", "therapist"]], on="id"
        )
        if sub["success"].nunique() > 1:
            try:
                per_def.append(alliance.therapist_icc(sub, "success")[0].assign(dv=f"success: {d}"))
            except (ValueError, np.linalg.LinAlgError) as exc:
                def_why[d] = str(exc).splitlines()[0] or type(exc).__name__
    icc_all = pd.concat([icc, *per_def], ignore_index=True)
    report.write_csv(icc_all, output_dir, "alliance_therapist_icc.csv")
    dv_label = text.labeller(change=f"change in {instrument.label} (points)")
    report.show_table(
        text.statistics_table(
            icc_all,
            headers={
                "dv": "outcome",
                "n_therapists": "therapists",
                "var_therapist": "variance between therapists",
                "var_residual": "residual variance",
                "icc": "ICC",
            },
            values={
                "dv": lambda v: (
                    f"success: {label(v.removeprefix('success: '))}"
                    if v.startswith("success: ")
                    else dv_label(v)
                ),
            },
            digits=3,
        ),
        "Therapist intraclass correlation (random-intercept model, REML)",
    )
    report.show_figure(
        plots_compare.caterpillar_plot(
            effects,
            units=f"{instrument.label} points of change",
            title=f"Therapist effects on change, {run_name}",
        )
    )
    for d, why in def_why.items():
        say(f"Therapist ICC for success under {label(d)}: not computed: {why}.")
elif therapist_ok:
    say(f"Therapist effects: not computed: {icc_why}.")
else:
    say(
        text.absent("Therapist effects", cohort, "therapist recorded for at least three therapists")
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
    (f"definition: {label(d['name'])}", d["description"], d["source"] or "definitions file")
    for d in nd.definitions
    if d["name"] in set(result["definition"])
]
report.show_methods(
    pd.DataFrame(rows, columns=["item", "value", "source"]),
    "Correlations with Fisher-z intervals (pingouin); repeated-measures correlation (Bakdash & Marusich 2017, pingouin); next-session change: linear mixed model with a random intercept per client and the alliance split into within- and between-client parts (Curran & Bauer 2011; statsmodels). Early alliance as a predictor: landmark design (Anderson, Cain & Gelber 1983, J Clin Oncol 1(11):710-719), alliance over sessions 1..L, outcomes of clients still in treatment and not yet meeting the definition at L; alliance-based definitions are not predicted by the alliance. Alliance definitions: those of the definitions file, with their sources (listed below). Therapist ICC: random-intercept model (statsmodels MixedLM, REML); for success (1/0) a linear-probability approximation. Reference values: alliance-outcome r = .278 (Flueckiger et al. 2018, Psychotherapy 55(4):316); therapist effects about 5 % (Johns et al. 2019, Clin Psychol Rev 67:78).",
)
