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
}
from analysis.compare import on_track, sessions
from analysis.outcomes import sudden_gains
from analysis.report import plots_session

scores = cohort.scores.loc[cohort.scores["measure"] == measure, ["id", "time", "score"]]
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
        cutoff, cutoff_source = float(sg_cutoff), "parameter sg_cutoff"
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
    report.write_csv(gains, output_dir, "sudden_gains_summary.csv")
    shown = gains.assign(
        **{
            "% with a gain (95% CI)": text.format_estimate(
                100 * gains["proportion"], 100 * gains["ci_low"], 100 * gains["ci_high"], digits=1
            )
        }
    )
    shown = shown.drop(columns=["proportion", "ci_low", "ci_high"]).round(2)
    if suppress_small_counts:
        shown = report.suppress_small_counts(
            shown,
            ["clients", "with_gain", "gains", "reversed", "without_reversal"],
            ["% with a gain (95% CI)", "magnitude_mean"],
            ("with_gain", "clients"),
            derived_from=["clients", "with_gain"],
        )
    report.show_table(
        shown,
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
            f"session-by-session {measure} scores "
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
    report.write_csv(by_gain, output_dir, "sudden_gains_outcomes.csv")
    report.show_table(
        report.format_prevalence(by_gain, suppress=suppress_small_counts), "Success by sudden gain"
    )
else:
    say(text.absent("Outcomes by sudden gain", cohort, f"session-by-session {measure} scores"))

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
    report.write_csv(track.drop(columns=["id"]), output_dir, "on_track_sessions.csv")
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
    share = track.groupby("elapsed")["not_on_track"].agg(["mean", "size"]).reset_index()
    share.columns = [f"{units} since baseline", "share not on track", "scores"]
    report.show_table(
        share.head(15).round(3), "Share of scores worse than the expected band, by session"
    )
elif not session_ok:
    say(text.absent("Expected recovery curves", cohort, f"session-by-session {measure} scores"))

# %% [markdown]
# ## How well does the signal predict a final non-success?
#
# The signal is raised when a client is not on track at any session before their last one. For each definition: sensitivity (share of final non-successes signalled), specificity (share of successes not signalled), positive predictive value (share of signalled clients who end as non-successes), with Wilson 95 % intervals; then the same counting signals only up to each session, to show how early the signal is useful. *Better than expected at the end*: the last score better than the expected one.

# %%
if track is not None:
    status = on_track.end_status(track, better_is=instrument.better_is)
    perf = on_track.signal_performance(status, result)
    report.write_csv(perf, output_dir, "on_track_signal_performance.csv")
    wide = perf.assign(
        estimate_ci=text.format_estimate(perf["estimate"], perf["ci_low"], perf["ci_high"])
    )
    wide = wide.pivot(index="definition", columns="measure", values="estimate_ci")
    wide = wide.reindex(list(dict.fromkeys(perf["definition"])))[
        ["sensitivity", "specificity", "ppv", "npv"]
    ]
    counts = perf.drop_duplicates("definition").set_index("definition")[["tp", "fp", "fn", "tn"]]
    shown = counts.join(wide).reset_index()
    shown["definition"] = shown["definition"].str.replace("_", " ")
    if suppress_small_counts:
        shown = report.suppress_small_counts(
            shown, ["tp", "fp", "fn", "tn"], ["sensitivity", "specificity", "ppv", "npv"]
        )
    report.show_table(
        shown, "Not-on-track signal and final non-success (tp: signalled non-success)"
    )
    early = on_track.signal_performance_by_session(
        track, result, better_is=instrument.better_is, sessions=sorted(track["time"].unique())[:8]
    )
    report.write_csv(early, output_dir, "on_track_signal_by_session.csv")
    how_early = early.loc[early["measure"].isin(["sensitivity", "ppv"])].assign(
        value=lambda t: (100 * t["estimate"]).round(0)
    )
    if suppress_small_counts:  # a percentage from 1-4 clients (or 1-4 left over) is not shown
        small = lambda k: (k >= 1) & (k < report.SMALL_COUNT)  # noqa: E731
        hide = small(how_early["count"]) | small(how_early["n"] - how_early["count"])
        how_early["value"] = how_early["value"].where(~hide)
    how_early = how_early.pivot_table(
        index=["definition", "measure"], columns="by", values="value", sort=False
    )
    how_early.columns = [f"by {units[:-1]} {c:g}" for c in how_early.columns]
    how_early = how_early.reset_index()
    how_early["definition"] = how_early["definition"].str.replace("_", " ")
    report.show_table(
        how_early,
        "How early: % of final non-successes signalled (sensitivity) and % of "
        "signalled clients ending as non-successes (PPV), signals counted up to "
        "each session",
    )
    timing = status.loc[status["signal"], "first_signal_time"]
    say(
        f"{int(status['signal'].sum())} of {len(status)} clients were signalled before their last "
        f"session; median first signal at {units[:-1]} {timing.median():g}."
        if len(timing)
        else "No client was signalled before their last session."
    )
    better = status["better_than_expected"].mean()
    say(f"Better than expected at the end: {100 * better:.1f} % of {len(status)} clients.")
else:
    say(text.absent("Signal performance", cohort, f"session-by-session {measure} scores"))

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
        "parameter of this report (analysis.outcomes.rules.MISSING_STRATEGY_TEXT)",
    ),
    (
        "small counts",
        f"1-{report.SMALL_COUNT - 1} shown as <{report.SMALL_COUNT}"
        if suppress_small_counts
        else "shown as they are (suppression off)",
        "disclosure control rule for published health statistics (NHS England); "
        "parameter suppress_small_counts",
    ),
    (
        "data",
        cohort.description or cohort.name,
        cohort.citation or "user-supplied data file (path in the parameters above)",
    ),
]
rows += [
    (f"definition {d['name']}", d["description"], d["source"] or "definitions file")
    for d in nd.definitions
    if d["name"] in set(result["definition"])
]
report.show_methods(
    pd.DataFrame(rows, columns=["item", "value", "source"]),
    "Sudden gains: Tang & DeRubeis (1999) J Consult Clin Psychol 67(6):894-904, with the criteria, missing-session critical values (Lutz et al. 2013, Psychother Res 23(1):14-24) and reversal rule of the R package suddengains (Wiedemann et al. 2020, PLOS ONE 15(3):e0230276), reproduced on its example data; here the reversal window starts at the session after the gain unless sg_reversal_window is r_package. Expected recovery curves: quantile regression (Koenker & Bassett 1978; statsmodels QuantReg) on baseline and log(1 + sessions since baseline) (the log-linear dose-effect curve: Howard et al. 1986, Am Psychol 41(2):159-164), cross-fitted over clients; expected recovery curves as an early warning after Lambert's OQ system (Finch, Lambert & Schaalje 2001); the band is a choice of this report, not the proprietary OQ-45 rule. Sudden gains and outcome: Aderka et al. (2012) J Consult Clin Psychol 80(1):93-101. Signal performance with Wilson (1927) intervals.",
)
