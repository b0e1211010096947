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
# # Session by session: sudden gains and being on track
#
# Two session-level ideas of success. A *sudden gain* is a large, stable improvement between two consecutive sessions (Tang & DeRubeis 1999), found here with the criteria of the R package suddengains. *Being on track* compares each session's score with the score expected for clients who started at the same severity; a client whose score is worse than the expected band is *not on track*, the signal that lets a therapist act (Lambert's OQ system). How early does the signal come, and how well does it predict a final non-success under each definition?

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
client_outcomes: bool = False  # also write per-gain and per-client tables (identifiable)
sg_cutoff: float = None  # sudden gain criterion 1 (points); None: registry, else RCI
sg_pct: float = 0.25  # criterion 2, share of the pregain score; None skips it
sg_crit3: bool = True  # criterion 3: pre/post three-session means, t test
sg_multiple: str = "first"  # gain kept: first, last, smallest or largest
sg_reversal_window: str = "after_gain"  # after_gain, or r_package (R's window)
band: float = 0.8  # central probability of the expected-curve band
folds: int = 5  # cross-fitting folds for the expected curves
seed: int = 0  # seed of the fold assignment
output_dir: str = ""  # folder for the CSV tables; empty: reports/lab
data_cache: str = ""  # set by the main job: the run's data, loaded once; empty: load here

# %%
import pandas as pd

from analysis.compare import prevalence as stats
from analysis.outcomes import rules
from analysis.report import disclosure_tables as masks
from analysis.report import tables as report
from analysis.report import text
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
from analysis.compare import on_track, sessions
from analysis.outcomes import sudden_gains
from analysis.report import plots_session

scores = cohort.scores.loc[cohort.scores["measure"] == measure, ["id", "time", "score"]]
# the run's disclosure plan (notebook 01's); this report's counts are added where computed
plan = workflow.run_disclosure(
    nd, group, output_dir, suppress_small_counts, cache=data_cache, method=disclosure_method
)
n_times = int(scores["time"].nunique())
session_ok = cohort.time_unit == "session" and n_times >= sudden_gains.MIN_TIMEPOINTS_RULE
report.show_banner(
    cohort,
    {
        **shown_parameters,
        **{
            k: v
            for k, v in globals().items()
            if k
            in {
                "sg_cutoff",
                "sg_pct",
                "sg_crit3",
                "sg_multiple",
                "sg_reversal_window",
                "band",
                "folds",
                "seed",
            }
        },
    },
    summary=(
        f"{instrument.label}: {n_times} time points ({units}); "
        + (
            "session-by-session analyses shown."
            if session_ok
            else "too few sessions for session-by-session analyses."
        )
    ),
)

# %% [markdown]
# ## Sudden gains
#
# A gain between two consecutive sessions counts when (1) the improvement is at least the cutoff, (2) it is at least a quarter of the pregain score, and (3) the mean of the three sessions before exceeds the mean of the three from the postgain session on by more than a t critical value times their pooled SD, the critical value adjusted for missing sessions (Lutz et al. 2013). A gain is *reversed* when a later score loses more than half of it.

# %%
if session_ok:
    first_scores = scores.dropna().sort_values(["id", "time"]).groupby("id")["score"].first()
    if sg_cutoff is None:
        cutoff, cutoff_source = sudden_gains.default_cutoff(instrument, first_scores, reliability)
    else:
        cutoff, cutoff_source = float(sg_cutoff), "parameter sudden gain criterion 1"
    sg_options = dict(
        cutoff=cutoff,
        pct=sg_pct,
        crit3=sg_crit3,
        better_is=instrument.better_is,
        identify_sg_1to2=True,
        reversal_window=sg_reversal_window,
    )
    bysg = sudden_gains.sudden_gains(scores, **sg_options)
    byperson = sudden_gains.sudden_gains_byperson(
        scores, cutoff=cutoff, bysg=bysg, multiple=sg_multiple
    )
    if has_group:
        byperson = byperson.merge(cohort.clients[["id", group]], on="id", how="left")
        bysg = bysg.merge(cohort.clients[["id", group]], on="id", how="left")
    gains = sessions.gain_summary(byperson, by=group if has_group else None)
    if client_outcomes:  # one row per gain / client: personal data, only when the run asks
        report.write_identifiable_csv(bysg, output_dir, "sudden_gains_bysg")
        report.write_identifiable_csv(byperson, output_dir, "sudden_gains_byperson")
    gain_groups = byperson.set_index("id")["sg_crit123"].map({1.0: "with gain", 0.0: "without"})
    plan = workflow.extend_disclosure(
        plan,
        nd,
        pd.concat(
            [
                workflow.gain_cells(byperson, group if has_group else None),
                workflow.group_outcome_cells(result, gain_groups, "sudden gain "),
            ],
            axis=1,
        )
        .fillna(False)
        .astype(bool),
        group,
        output_dir,
        cache=data_cache,
    )
    sfx = [f" | {v}" for v in gains[group]] if has_group else [""] * len(gains)
    gain_cells = {
        c: [f"sg: {c.replace('_', ' ')}{x}" for x in sfx]
        for c in ("clients", "with_gain", "reversed", "without_reversal")
    }
    gain_basis = [[f"sg: clients{x}", f"sg: with gain{x}"] for x in sfx]
    # under rounding: the share with a gain and its interval from the rounded counts
    gains = masks.rounded_shares(
        gains, plan, gains["with_gain"], gains["clients"], ["proportion", "ci_low", "ci_high"]
    )
    report.write_csv(
        masks.mask(
            gains,
            plan,
            gain_cells,
            {c: gain_basis for c in ("proportion", "ci_low", "ci_high", "magnitude_mean")},
        ),
        output_dir,
        "sudden_gains_summary.csv",
    )
    num = {c: pd.to_numeric(gains[c], errors="coerce") for c in ("proportion", "ci_low", "ci_high")}
    shown = gains.assign(
        **{
            "% with a gain (95% CI)": pd.Series(
                text.format_estimate(
                    100 * num["proportion"], 100 * num["ci_low"], 100 * num["ci_high"], digits=1
                ),
                index=gains.index,
            ).where(
                ~pd.Series(masks.is_hidden(gains["proportion"]), index=gains.index), "suppressed"
            )
        }
    )
    shown = shown.drop(columns=["proportion", "ci_low", "ci_high"]).round(2)
    shown["magnitude_mean"] = (  # a mean over no gain
        shown["magnitude_mean"].astype(object).where(shown["magnitude_mean"].notna(), "no gain")
    )
    shown = masks.mask(
        shown.reset_index(drop=True),
        plan,
        {**gain_cells, "gains": [None] * len(shown)},
        {c: gain_basis for c in ("% with a gain (95% CI)", "magnitude_mean")},
    )
    report.show_table(
        shown.rename(columns=sessions.GAIN_SUMMARY_LABELS).rename(columns=text.plain_label),
        f"Clients with a sudden gain on {instrument.label} (criterion 1: {cutoff:.3g} points)",
    )
    if len(bysg):
        report.show_figure(
            plots_session.sudden_gain_timing_plot(
                bysg,
                group=group if has_group else None,
                units=cohort.time_unit,
                title=f"When sudden gains happen, {run_name}",
            )
        )
else:
    say(
        text.absent(
            "Sudden gains",
            cohort,
            f"session-by-session {instrument.label} scores "
            f"(at least {sudden_gains.MIN_TIMEPOINTS_RULE} sessions)",
        )
    )

# %% [markdown]
# ## Outcome of clients with and without a sudden gain
#
# Success under each definition among clients with a sudden gain and among the others (Wilson 95 % intervals). Sudden gains predict a lasting good outcome in the literature (Tang & DeRubeis 1999; meta-analysis: Aderka et al. 2012).

# %%
if session_ok:
    groups = byperson[["id"]].assign(
        sudden_gain=byperson["sg_crit123"].map({1.0: "with gain", 0.0: "without"})
    )
    by_gain = stats.prevalence(result, by="sudden_gain", groups=groups)
    report.write_csv(
        masks.mask_prevalence(by_gain, by_gain, plan, "sudden_gain", suffix="sudden gain "),
        output_dir,
        "sudden_gains_outcomes.csv",
    )
    report.show_table(
        masks.mask_prevalence(
            report.format_prevalence(by_gain, suppress=False, label=label),
            by_gain,
            plan,
            "sudden_gain",
            suffix="sudden gain ",
        ),
        "Success by sudden gain",
    )
else:
    say(
        text.absent(
            "Outcomes by sudden gain", cohort, f"session-by-session {instrument.label} scores"
        )
    )

# %% [markdown]
# ## Expected recovery curves
#
# For each session, the expected (median) score and an 80 % prediction band given the baseline score, from a quantile regression on baseline, log(1 + sessions since baseline) and their interactions, fitted on the other clients only (cross-fitting): a client's own scores never set their own expectation.

# %%
track = None
if session_ok:
    try:
        track = on_track.on_track(
            scores, better_is=instrument.better_is, band=band, folds=folds, seed=seed
        )
    except ValueError as exc:
        say(f"Expected recovery curves: not computed: {exc}")
if track is not None:
    if client_outcomes:  # one row per client and session: personal data
        report.write_identifiable_csv(track, output_dir, "on_track_sessions")
    model = on_track.ExpectedRecovery(band=band).fit(scores)
    points = on_track.severity_points(instrument, track.groupby("id")["baseline"].first())
    report.show_figure(
        plots_session.expected_curves_plot(
            model,
            points,
            float(track["elapsed"].quantile(0.95)),
            units=units,
            score_label=f"{instrument.label} (points, {instrument.better_is} is better)",
            title=f"Expected recovery by starting severity, {run_name}",
        )
    )
    share = track.groupby("elapsed")["not_on_track"].agg(["mean", "size", "sum"]).reset_index()
    share["mean"] = (100 * share["mean"]).round(1)  # a percentage, as the other tables show it
    share.columns = [f"{units} since baseline", "% not on track", "scores", "not on track"]
    share = masks.mask_share(share, "scores", "not on track", ["% not on track"], plan).drop(
        columns="not on track"
    )
    report.show_table(share.head(15), "Share of scores worse than the expected band, by session")
elif not session_ok:
    say(
        text.absent(
            "Expected recovery curves", cohort, f"session-by-session {instrument.label} scores"
        )
    )

# %% [markdown]
# ## How well does the signal predict a final non-success?
#
# The signal is raised when a client is not on track at any session before their last one. For each definition: sensitivity (share of final non-successes signalled), specificity (share of successes not signalled), positive predictive value (share of signalled clients who end as non-successes), with Wilson 95 % intervals; then the same counting signals only up to each session, to show how early the signal is useful. *Better than expected at the end*: the last score better than the expected one.

# %%
SIGNAL_HEADERS = {  # the signal's 2 x 2 counts and statistics as a reader names them
    "tp": "signalled, not a success",
    "fp": "signalled, a success",
    "fn": "not signalled, not a success",
    "tn": "not signalled, a success",
    "sensitivity": "sensitivity",
    "specificity": "specificity",
    "ppv": "PPV",
    "npv": "NPV",
}
if track is not None:
    status = on_track.end_status(track, better_is=instrument.better_is)
    perf = on_track.signal_performance(status, result)
    # under rounding: each estimate and its interval from the rounded counts
    perf = masks.rounded_shares(
        perf, plan, perf["count"], perf["n"], ["estimate", "ci_low", "ci_high"]
    )
    plan = workflow.extend_disclosure(
        plan, nd, workflow.signal_cells(status, result), group, output_dir, cache=data_cache
    )
    conf = {c: [f"signal {d}: {c}" for d in perf["definition"]] for c in ("tp", "fp", "fn", "tn")}
    conf_basis = [
        [f"signal {d}: {c}" for c in ("tp", "fp", "fn", "tn")] for d in perf["definition"]
    ]
    report.write_csv(
        masks.mask(
            perf,
            plan,
            conf,
            {c: conf_basis for c in perf.columns if c not in ("definition", "measure", *conf)},
        ),
        output_dir,
        "on_track_signal_performance.csv",
    )
    wide = perf.assign(
        estimate_ci=pd.Series(
            text.format_estimate(
                *(
                    pd.to_numeric(perf[c], errors="coerce")
                    for c in ("estimate", "ci_low", "ci_high")
                )
            ),
            index=perf.index,
        ).where(~pd.Series(masks.is_hidden(perf["estimate"]), index=perf.index), "suppressed")
    )
    wide = wide.pivot(index="definition", columns="measure", values="estimate_ci")
    wide = wide.reindex(list(dict.fromkeys(perf["definition"])))[
        ["sensitivity", "specificity", "ppv", "npv"]
    ]
    counts = perf.drop_duplicates("definition").set_index("definition")[["tp", "fp", "fn", "tn"]]
    shown = counts.join(wide).reset_index()
    shown["definition"] = shown["definition"].map(label)
    shown = masks.mask(
        shown,
        plan,
        {c: [f"signal {d}: {c}" for d in counts.index] for c in ("tp", "fp", "fn", "tn")},
        {
            c: [[f"signal {d}: {k}" for k in ("tp", "fp", "fn", "tn")] for d in counts.index]
            for c in ("sensitivity", "specificity", "ppv", "npv")
        },
    )
    report.show_table(
        shown.rename(columns=SIGNAL_HEADERS),
        "Not-on-track signal and final non-success: clients signalled or not, by final outcome; "
        "sensitivity, specificity, PPV and NPV with 95 % CI",
    )
    early = on_track.signal_performance_by_session(
        track, result, better_is=instrument.better_is, sessions=sorted(track["time"].unique())[:8]
    )
    early_shown = masks.mask_by_session(early, plan)
    report.write_csv(early_shown, output_dir, "on_track_signal_by_session.csv")
    how_early = early.loc[early["measure"].isin(["sensitivity", "ppv"])].assign(
        value=lambda t: (100 * t["estimate"]).round(0)
    )
    # a percentage the plan hides (from 1-4 clients, or 1-4 left over, or from hidden counts)
    hide = pd.to_numeric(early_shown.loc[how_early.index, "estimate"], errors="coerce").isna()
    how_early["value"] = how_early["value"].where(~hide | how_early["estimate"].isna())
    how_early = how_early.pivot_table(
        index=["definition", "measure"], columns="by", values="value", sort=False
    )
    how_early.columns = [f"by {units[:-1]} {c:g}" for c in how_early.columns]
    how_early = how_early.reset_index()
    how_early["definition"] = how_early["definition"].map(label)
    how_early["measure"] = how_early["measure"].map(SIGNAL_HEADERS)
    report.show_table(
        how_early,
        "How early: % of final non-successes signalled (sensitivity) and % of "
        "signalled clients ending as non-successes (PPV), signals counted up to "
        "each session",
    )
    timing = status.loc[status["signal"], "first_signal_time"]
    n_sig = masks.shown_value(int(status["signal"].sum()), "signal: signalled", plan)
    n_st = masks.shown_value(len(status), "signal: clients", plan)
    say(
        f"{n_sig} of {n_st} clients were signalled before their last "
        f"session; median first signal at {units[:-1]} {timing.median():g}."
        if len(timing)
        else "No client was signalled before their last session."
    )
    better = status["better_than_expected"].mean()
    if (
        masks.shown_value(
            int(status["better_than_expected"].sum()), "signal: better than expected", plan
        ).isdigit()
        and n_st.isdigit()
    ):
        say(f"Better than expected at the end: {100 * better:.1f} % of {n_st} clients.")
else:
    say(text.absent("Signal performance", cohort, f"session-by-session {instrument.label} scores"))

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
    "Sudden gains: Tang & DeRubeis (1999) J Consult Clin Psychol 67(6):894-904, with the criteria, missing-session critical values (Lutz et al. 2013, Psychother Res 23(1):14-24) and reversal rule of the R package suddengains (Wiedemann et al. 2020, PLOS ONE 15(3):e0230276), reproduced on its example data; here the reversal window starts at the session after the gain unless the parameter on the sessions checked for a reversal asks for the R package's window. Expected recovery curves: quantile regression (Koenker & Bassett 1978; statsmodels QuantReg) on baseline and log(1 + sessions since baseline) (the log-linear dose-effect curve: Howard et al. 1986, Am Psychol 41(2):159-164), cross-fitted over clients; expected recovery curves as an early warning after Lambert's OQ system (Finch, Lambert & Schaalje 2001); the band is a choice of this report, not the proprietary OQ-45 rule. Sudden gains and outcome: Aderka et al. (2012) J Consult Clin Psychol 80(1):93-101. Signal performance with Wilson (1927) intervals.",
)
