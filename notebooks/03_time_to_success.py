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
# # How fast is each definition met?
#
# Time from each client's own baseline assessment to success under each definition. The event is named at the top: *sustained* (the default: the assessment from which the definition held through the end of the client's course, so that the clients with the event are exactly those counted as met in notebook 01) or *first met* (the first assessment at which the criterion held, even if it was lost again). Dropout and the end of treatment end follow-up: Kaplan-Meier curves treat both as censoring, the cumulative incidence treats dropout as a competing event.

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
event: str = "sustained"  # sustained (met and held to the end) or first_met
alliance_measure: str = "wai_sr"  # wai_sr (12-60) or srs (0-40), higher is better
landmark: int = 3  # alliance over sessions 1..L predicts success after L
output_dir: str = ""  # folder for the CSV tables; empty: reports/lab
data_cache: str = ""  # set by the main job: the run's data, loaded once; empty: load here

# %%
import pandas as pd

from analysis.compare import alliance, survival
from analysis.compare import prevalence as stats
from analysis.outcomes import rules
from analysis.registry.definitions import harm_indicators
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
event_words = survival.EVENT_LABELS[event]
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
# harm indicators (e.g. reliable deterioration) are not a success: no time to success for them
harm = sorted(harm_indicators(nd.definitions) & set(nd.all_outcomes["definition"]))
tte_all = survival.time_to_event(
    nd.all_outcomes.loc[~nd.all_outcomes["definition"].isin(harm)],
    cohort.scores,
    cohort.clients,
    event=event,
)
km_all = survival.km_summary(tte_all)
prev_all = stats.prevalence(nd.all_outcomes).set_index("definition")
excluded = survival.excluded_records(tte_all)
km_all["n_met_notebook_01"] = km_all["definition"].map(prev_all["n_met"])
km_all["n_evaluable_notebook_01"] = km_all["definition"].map(prev_all["n_evaluable"])
km_all["n_excluded"] = (
    km_all["definition"].map(excluded.groupby("definition")["n"].sum()).fillna(0).astype(int)
)
tte = tte_all.loc[tte_all["definition"].isin(set(result["definition"]))].reset_index(drop=True)
km = km_all.loc[km_all["definition"].isin(set(result["definition"]))].reset_index(drop=True)
# the run's disclosure plan (notebook 01's) with this report's counts: the Kaplan-Meier counts
# of every definition (overall and by group) and the landmark Cox models' counts
cov = nd.baseline.rename(columns={"severity": "baseline_severity"})
lm_time = float(landmark)
if workflow.has_measure(cohort, alliance_measure):
    early = alliance.early_alliance(cohort.scores, alliance_measure, landmark)
    lm_time = early.attrs["landmark"]
    cov = cov.merge(early[["id", "early_alliance"]], on="id", how="left")
if has_group:
    cov = cov.merge(cohort.clients[["id", group]], on="id", how="left")
alliance_based = {
    d
    for d, f, m in zip(result["definition"], result["family"], result["measures"], strict=True)
    if f == "alliance" or {"wai_sr", "srs", alliance_measure} & set(str(m).split("+"))
}
tte_lm = survival.time_to_event(
    result.loc[~result["definition"].isin(alliance_based)],
    cohort.scores,
    cohort.clients,
    event=event,
    landmark=lm_time,
)
complete = cov.dropna()["id"]
plan = workflow.extend_disclosure(
    workflow.run_disclosure(
        nd, group, output_dir, suppress_small_counts, cache=data_cache, method=disclosure_method
    ),
    nd,
    pd.concat(
        [
            workflow.survival_cells(
                tte_all, "km", cohort.clients, group if has_group else "", nd.all_outcomes
            ),
            workflow.survival_cells(tte_lm.loc[tte_lm["id"].isin(set(complete))], "cox"),
        ],
        axis=1,
    )
    .astype("boolean")  # absent from one table: in none (no object downcasting warning)
    .fillna(False)
    .astype(bool),
    group,
    output_dir,
    cache=data_cache,
)
report.write_csv(masks.mask_km(km_all, km_all, plan), output_dir, "survival_median_all.csv")
report.write_csv(masks.mask_km(km, km, plan), output_dir, "survival_median.csv")
# the number of dropout records as the run shows counts (rounded under rounding: an exact total
# of rounded parts gives them back)
dropout_records = int((tte["event_type"] == 2).sum())
if suppress_small_counts and disclosure_method == "rounding":
    dropout_records = rounded_count(dropout_records)
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
                "event",
                "alliance_measure",
                "landmark",
                "suppress_small_counts",
                "disclosure_method",
            }
        },
    },
    summary=f"Time is counted in {units} from each client's own baseline. Event definition, "
    f"{survival.EVENT_DEFINITIONS[event]}. "
    + (
        f"{dropout_records} client-definition records of the headline "
        "definitions end in dropout before success."
        if masks.mask_km(km, km, plan)["n_dropout"].astype(str).str.isdigit().all()
        else ""
    ),
)

# %% [markdown]
# ## Kaplan-Meier: time to success
#
# Median time with 95 % interval (not reached: the curve stays above one half). Every definition the run computes is in the CSV file survival_median_all.csv; the headline ones are shown here.

# %%
if len(tte):
    report.show_table(
        masks.mask_km(text.format_km(km, units, False, label=label), km, plan),
        f"Time to success ({event_words}), in {units}",
    )
    curves = masks.mask_curves(survival.km_curves(tte), tte, plan)
    report.write_csv(masks.mask_km(curves, curves, plan), output_dir, "survival_km_curves.csv")
    if len(curves):  # disclosure control may leave no curve to draw
        report.show_figure(
            plots_compare.km_plot(
                curves.assign(definition=curves["definition"].map(label)),
                units=units,
                title=f"Time to success ({event_words}), {run_name}",
            )
        )
    if masks.curves_note(curves, label):
        say(masks.curves_note(curves, label))
else:
    say(
        "Time to success: not computed: no client has time at risk under the headline "
        "definitions (no client evaluable with an assessment after baseline; notebook 01 gives "
        "the reasons)."
    )
if harm:
    say(
        "Not analysed as a time to success: "
        + ", ".join(label(d) for d in harm)
        + " (a harm indicator: meeting it is a bad outcome; notebook 01 shows it apart from the "
        "definitions of success)."
    )
if len(excluded):
    say(
        "Records that cannot enter a time-to-event analysis (counted, not dropped silently): "
        + "; ".join(
            f"{label(r.definition)}: {r.n} {r.reason}"
            for r in masks.mask_excluded(excluded, plan).itertuples()
        )
        + "."
    )

# %% [markdown]
# ## Does this agree with notebook 01?
#
# Under the sustained event, a client has the event exactly when notebook 01 counts them as met, so the share of evaluable clients with the event equals notebook 01's share met. The Kaplan-Meier share met by the end differs, for the reasons the last column states for each definition (with their numbers where small-count suppression is off): clients who met the definition at their first assessment have no time at risk and are left out, which lowers it (it is then the share among clients not yet met); clients censored without the event count as at risk until they leave, which raises it (it estimates what would have been seen with full follow-up); under the first-met event, criteria met once and lost again count as events.

# %%
rec = km_all.assign(
    events=km_all["n_met"]
    + km_all["definition"]
    .map(
        excluded.loc[excluded["reason"].str.startswith("met at the first")]
        .groupby("definition")["n"]
        .sum()
    )
    .fillna(0)
    .astype(int),
)
rec = rec.assign(
    share_events=100 * rec["events"] / (rec["n"] + rec["n_excluded"]),
    share_notebook_01=100 * rec["n_met_notebook_01"] / rec["n_evaluable_notebook_01"],
    share_km_end=100 * rec["proportion_met_end"],
)
rec_shown = masks.mask_km(rec, rec, plan, excluded=excluded)
report.write_csv(rec_shown, output_dir, "survival_reconciliation.csv")
shown = pd.DataFrame(
    {
        "definition": rec["definition"].map(label),
        "evaluable (notebook 01)": rec["n_evaluable_notebook_01"],
        "% met (notebook 01)": rec["share_notebook_01"].round(1),
        f"% with the event ({event_words})": rec["share_events"].round(1),
        "% met by end (Kaplan-Meier)": rec["share_km_end"].round(1),
        "why the Kaplan-Meier share differs": text.km_share_reasons(
            rec, excluded, event, suppress_small_counts
        ),
    }
)
shown = masks.mask_km(shown, rec, plan, excluded=excluded)
report.show_table(shown, "Share met: notebook 01 and this report, every definition")
rec_gone = pd.DataFrame(  # column by column: DataFrame.apply fails on a table of no rows
    {c: masks.is_hidden(rec_shown[c]) for c in rec_shown.columns}, index=rec_shown.index
).any(axis=1)
if masks.hidden_note(rec.loc[rec_gone, "definition"], rec["definition"], label):
    say(masks.hidden_note(rec.loc[rec_gone, "definition"], rec["definition"], label))
# a worked example: the first reported definition none of whose counts are hidden
first = rec.loc[rec["definition"].isin(set(result["definition"])) & ~rec_gone].head(1)
for r in first.itertuples():
    # the numbers as the tables show them (under rounding: rounded, shares from rounded counts)
    v = (
        rec_shown.loc[r.Index].to_dict()
        if suppress_small_counts and disclosure_method == "rounding"
        else rec.loc[r.Index].to_dict()
    )
    total, dp = r.n + r.n_excluded, ".1f"
    if suppress_small_counts and disclosure_method == "rounding":
        total, dp = rounded_count(total), ".0f"  # whole percentages from rounded counts
    say(
        f"For {label(r.definition)}: notebook 01 counts {v['n_met_notebook_01']} of "
        f"{v['n_evaluable_notebook_01']} evaluable clients as met ({v['share_notebook_01']:{dp}} %); "
        f"here {v['events']} of {total} have the {event_words} event "
        f"({v['share_events']:{dp}} %)"
        + (
            ", the same share."
            if abs(r.share_events - r.share_notebook_01) < 1e-9
            else ": the first-met event also counts criteria met once and lost again."
        )
        + (
            ""  # not from rounded counts: its denominators give the exact counts back
            if suppress_small_counts and disclosure_method == "rounding"
            else f" The Kaplan-Meier estimate of the share met by the end is {r.share_km_end:.1f} %."
        )
    )

# %% [markdown]
# ## In weeks

# %%
if tte["weeks"].notna().any():
    km_w = survival.km_summary(tte, duration="weeks")
    # the same clients as in sessions: the same counts of the plan
    report.write_csv(masks.mask_km(km_w, km_w, plan), output_dir, "survival_median_weeks.csv")
    report.show_table(
        masks.mask_km(text.format_km(km_w, "weeks", False, label=label), km_w, plan),
        f"Time to success ({event_words}), in weeks (from dates)",
    )
    curves_w = masks.mask_curves(survival.km_curves(tte, duration="weeks"), tte, plan, "weeks")
    if len(curves_w):  # disclosure control may leave no curve to draw
        report.show_figure(
            plots_compare.km_plot(
                curves_w.assign(definition=curves_w["definition"].map(label)),
                units="weeks",
                title=f"Time to success ({event_words}) in weeks, {run_name}",
            )
        )
    if masks.curves_note(curves_w, label):
        say(masks.curves_note(curves_w, label))
else:
    say(text.absent("Time in weeks", cohort, f"assessment dates (its time is in {units})"))

# %% [markdown]
# ## Dropout as a competing risk
#
# Aalen-Johansen cumulative incidence: the share of clients who have met the definition, not assuming that those who dropped out would have succeeded like those who stayed.

# %%
if (tte["event_type"] == 2).any():
    cif = masks.mask_curves(survival.cumulative_incidence(tte), tte, plan)
    report.write_csv(masks.mask_km(cif, cif, plan), output_dir, "survival_cumulative_incidence.csv")
    if len(cif):  # disclosure control may leave no curve to draw
        report.show_figure(
            plots_compare.cif_plot(
                cif.assign(definition=cif["definition"].map(label)),
                units=units,
                title=f"Cumulative incidence of success, dropout competing, {run_name}",
            )
        )
    if masks.curves_note(cif, label):
        say(masks.curves_note(cif, label))
    end = cif.groupby("definition", sort=False).tail(1)
    if len(end):
        say(
            "Cumulative incidence at the last time shown: "
            + ", ".join(
                f"{label(d)} {100 * v:.0f} %"
                for d, v in zip(end["definition"], end["cumulative_incidence"], strict=True)
            )
            + "."
        )
else:
    say(text.absent("Competing risks", cohort, "client who dropped out before success"))

# %% [markdown]
# ## Do the arms differ? Log-rank test

# %%
if has_group:
    lr = survival.logrank_by_group(tte, cohort.clients, group=group)
    report.write_csv(masks.mask_km(lr, lr, plan), output_dir, "survival_logrank.csv")
    shown_lr = lr.drop(columns=["n", "n_met"]).rename(
        columns={"test_statistic": "chi-square", "p_value": "p", "dof": "df"}
    )
    shown_lr = shown_lr.rename(columns=lambda c: text.STAT_HEADERS.get(c, c.replace("_", " ")))
    shown_lr["groups"] = shown_lr["groups"].str.replace(";", " vs ", regex=False)
    if "definition" in shown_lr:
        shown_lr["definition"] = shown_lr["definition"].map(label)
    if "p" in shown_lr:
        shown_lr["p"] = [text.format_p(v) for v in shown_lr["p"]]
    report.show_table(
        masks.mask_km(shown_lr.round(2), lr, plan),
        f"Log-rank test of time to success ({event_words}) by {group}",
    )
else:
    say(
        text.absent(
            "Log-rank test between groups",
            cohort,
            f"client column {group!r} with two or more groups",
        )
    )

# %% [markdown]
# ## What predicts a faster success? Cox model from the landmark
#
# Hazard ratios per point of baseline severity and of early alliance, and for the arm. Early alliance is the mean over sessions 1 to L (the landmark, a parameter); so that it can only predict what comes after it, the models count time from L and include only clients still in treatment and not yet meeting the definition at L (a landmark analysis). Definitions built from alliance scores are left out: the alliance would predict itself. A model with separation or without convergence says *not estimable*. The proportional-hazards assumption is checked per covariate (Grambsch-Therneau test on rank-transformed time: a small p means the hazard ratio changes over time).

# %%
# cov, lm_time and tte_lm: the landmark analysis set up once above (its counts joined the run's
# disclosure plan there)
if not workflow.has_measure(cohort, alliance_measure):
    say(
        text.absent(
            "Early alliance in the Cox model",
            cohort,
            f"alliance scores ({text.measure_label(alliance_measure, nd.registry)})",
        )
    )
coef, ph = survival.cox_models(tte_lm, cov)
arm_levels = sorted(cohort.clients[group].dropna().astype(str).unique()) if has_group else []
cov_label = text.labeller(  # covariates as the table names them (per unit, as estimated)
    baseline_severity=f"baseline {instrument.label} (per point)",
    early_alliance=f"early alliance, {text.measure_label(alliance_measure, nd.registry)} "
    f"sessions 1-{lm_time:g} (per point)",
    **{f"{group}_{a}": f"{group} {a} (vs {arm_levels[0]})" for a in arm_levels[1:]},
)
report.write_csv(masks.mask_km(coef, coef, plan, "cox"), output_dir, "survival_cox.csv")
report.write_csv(
    masks.mask_km(ph, ph, plan, "cox") if "definition" in ph.columns else ph,
    output_dir,
    "survival_cox_ph_test.csv",
)
shown = pd.DataFrame(
    {
        "definition": coef["definition"].map(label),
        "covariate": coef["covariate"].astype(str).map(cov_label),
        "hazard ratio (95 % CI)": [
            text.in_words(n, cov_label) if n.startswith("not estimable") else e
            for e, n in zip(
                text.format_estimate(coef["hazard_ratio"], coef["ci_low"], coef["ci_high"]),
                coef["note"],
                strict=True,
            )
        ],
        "p": [text.format_p(v) for v in coef["p_value"]],
        "clients": coef["n"],
        "met": coef["n_met"],
        "note": [text.in_words(n, cov_label) for n in coef["note"]],
    }
)
shown = masks.mask_km(shown, coef, plan, "cox")
report.show_table(
    shown, f"Cox models of time to success from the landmark ({units[:-1]} {lm_time:g})"
)
if alliance_based:
    say(
        "Left out of the Cox models (built from alliance scores): "
        + ", ".join(sorted(label(d) for d in alliance_based))
        + "."
    )
if len(ph):
    shown_ph = ph.rename(columns={"test_statistic": "chi-square", "p_value": "p"})
    shown_ph = shown_ph.rename(columns=lambda c: c.replace("_", " "))
    for c in ("definition", "covariate"):
        if c in shown_ph:
            shown_ph[c] = shown_ph[c].astype(str).map(label if c == "definition" else cov_label)
    shown_ph["p"] = [text.format_p(v) for v in shown_ph["p"]]
    # as survival_cox_ph_test.csv: a test from a hidden count of the model reads "suppressed"
    shown_ph = shown_ph.round(2)
    if "definition" in ph.columns:
        shown_ph = masks.mask_km(shown_ph, ph, plan, "cox")
    report.show_table(shown_ph, "Proportional-hazards check (Grambsch-Therneau, rank time)")
    ph_gone = pd.Series(masks.is_hidden(shown_ph["p"]), index=ph.index, dtype=bool)
    bad = ph.loc[~ph_gone & (ph["p_value"] < 0.05)]
    hidden_ph = (
        f" {int(ph_gone.sum())} of {len(ph)} tests are hidden by disclosure control."
        if ph_gone.any()
        else ""
    )
    if ph_gone.all():
        say("Every proportional-hazards test is hidden by disclosure control.")
    elif len(bad):
        say(
            "The proportional-hazards assumption is in doubt (p < .05) for: "
            + "; ".join(
                f"{label(r.definition)} / {cov_label(r.covariate)}" for r in bad.itertuples()
            )
            + "."
            + hidden_ph
        )
    else:
        say(
            "No covariate shows evidence against proportional hazards (all p >= .05"
            + (" among the tests shown" if ph_gone.any() else "")
            + ")."
            + hidden_ph
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
    "Time to event: from each client's own baseline assessment to the event, else to the client's post time (censored). Two event definitions: sustained (default: the assessment from which the definition held through the end, so the clients with the event are those met in notebook 01) and first met (the first assessment at which the criterion held). Records met at the first assessment, or without an assessment after baseline, have no time at risk and are counted apart. Cox models use a landmark at session L (Anderson, Cain & Gelber 1983, J Clin Oncol 1(11):710-719): early alliance over sessions 1..L, time from L, clients still in treatment and not yet meeting the definition at L; monotone likelihood (Heinze & Schemper 2001) is reported as not estimable. Kaplan-Meier (Kaplan & Meier 1958) and median with the Brookmeyer-Crowley interval (lifelines). Aalen-Johansen cumulative incidence (Aalen & Johansen 1978) with tied discrete times handled exactly, not by random jittering. Log-rank test (Mantel 1966). Cox model (Cox 1972, Efron ties) with the Grambsch & Therneau (1994) test. Only clients evaluable under a definition enter its analysis.",
)
