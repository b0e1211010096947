"""Write notebooks/01_outcome_definitions.ipynb (kept as code so its cells are reviewable)."""

from pathlib import Path

import nbformat as nbf

METHODS_TEXT = (
    "Reliable change index: RCI = (post - baseline) / S_diff with S_diff = sqrt(2) x SD_baseline x "
    "sqrt(1 - r), SD_baseline being the SD of the evaluable clients' baseline scores; a change is "
    "reliable when |RCI| > 1.96 (Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol "
    "59(1):12-19). Response (at least 50 % reduction from baseline) and remission (no longer a "
    "case by the instrument's cutoff) follow Frank E. et al. (1991) Arch Gen Psychiatry "
    "48(9):851-855.\n\n"
    "Confidence intervals are Wilson score intervals (Wilson E.B. (1927) J Am Stat Assoc "
    "22(158):209-212). When small-count suppression is on (parameter suppress_small_counts, shown "
    "at the top), counts from 1 to 4 are shown as <5 and the percentages derived from them are "
    "suppressed; client-level outcomes are never shown in a report, only in the CSV file "
    "outcomes.csv beside it."
)

nb = nbf.v4.new_notebook()
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
params = code(
    '''run_name: str = "btheb"  # name of the run, used in titles
dataset: str = "btheb"  # btheb, help, simulated, or file (a user's export)
dataset_options: dict = {}  # loader options; for a user file, the reader specification
measure: str = "bdi2"  # outcome measure, a registry code: bdi2 is BDI-II, 0-63, lower is better
reliability: float = 0.92  # reliability of the measure for the reliable change index (0-1)
reliability_source: str = "Beck, Steer & Brown (1996) BDI-II manual: alpha .92"  # source of the reliability
cutoff_type: str = "a"  # Jacobson-Truax cutoff for clinically significant change: a, b or c
m_functional: float = None  # functional population mean (points), for cutoffs b and c
sd_functional: float = None  # functional population SD (points), for cutoffs b and c
post: str = "last"  # post score: "last" observed, or a time point such as "8"
group: str = "arm"  # client-table column to split prevalence by ("" for none)
suppress_small_counts: bool = True  # show counts 1-4 as "<5" and suppress derived percentages
output_dir: str = ""  # folder for the CSV tables; empty means the working folder'''
)
params.metadata["tags"] = ["parameters"]
nb.cells = [
    md(
        "# Who counts as a success? Outcome definitions side by side\n\n"
        "The same clients can be a success under one definition of a good outcome and not under "
        "another. This report applies four standard definitions to one outcome measure and counts, "
        "for each, how many clients meet it, with 95 % Wilson confidence intervals."
    ),
    params,
    code(
        '''import pandas as pd

from analysis import datasets, outcomes, plots, report, stats
from analysis.instruments import get_instrument

post_rule = post if post == "last" else float(post)
cohort = datasets.load_dataset(dataset, **dataset_options)
instrument = get_instrument(measure)
result = outcomes.score_outcomes(
    cohort,
    measure,
    reliability=reliability,
    cutoff_type=cutoff_type,
    m_functional=m_functional,
    sd_functional=sd_functional,
    post=post_rule,
)
overall = stats.prevalence(result)
by_group = stats.prevalence(result, by=group, groups=cohort.clients) if group else None
report.write_csv(result, output_dir, "outcomes.csv")
report.write_csv(overall, output_dir, "prevalence.csv")
if by_group is not None:
    report.write_csv(by_group, output_dir, f"prevalence_by_{group}.csv")
shown_overall = report.format_prevalence(overall, suppress=suppress_small_counts)
headline = "; ".join(
    f"{d.replace('_', ' ')} {pct}" + (" %" if pct[0].isdigit() else "")
    for d, pct in zip(shown_overall["definition"], shown_overall["% met (95% CI)"], strict=True)
)
report.show_banner(
    cohort,
    {k: v for k, v in globals().items() if k in {
        "run_name", "dataset", "measure", "reliability", "reliability_source", "cutoff_type",
        "m_functional", "sd_functional", "post", "group", "suppress_small_counts"}},
    summary=f"On {instrument.label}, the share of evaluable clients counted as a success "
    f"(percent, 95 % Wilson interval) was: {headline}.",
)'''
    ),
    md(
        "## The definitions\n\n"
        "- **Remission**: a case at baseline and no longer a case at the post assessment, by the "
        "instrument's clinical cutoff (clients who were not a case at baseline are not evaluable).\n"
        "- **Response**: at least a 50 % reduction from the baseline score.\n"
        "- **Reliable improvement**: the Jacobson-Truax reliable change index beyond 1.96 in the "
        "direction of improvement.\n"
        "- **Clinically significant change** (recovered): reliable improvement *and* a move from "
        "the clinical to the functional side of the Jacobson-Truax cutoff."
    ),
    md("## How many clients count as a success?"),
    code(
        '''report.show_table(
    report.format_prevalence(overall, suppress=suppress_small_counts),
    f"Clients meeting each definition on {instrument.label}, all clients",
)
if by_group is not None:
    report.show_table(
        report.format_prevalence(by_group, suppress=suppress_small_counts),
        f"Clients meeting each definition on {instrument.label}, by {group}",
    )'''
    ),
    md(
        "## The Jacobson plot\n\n"
        "Each point is a client: baseline score against post score. Points inside the grey band "
        "have not changed reliably; the dashed lines mark the clinical cutoff."
    ),
    code(
        '''ax = plots.jacobson_plot(
    outcomes.change_table(result),
    critical=result.attrs["critical"],
    measure_label=instrument.label,
    title=f"Jacobson plot: {instrument.label}, {run_name}",
)
report.show_figure(ax)'''
    ),
    md(
        "## Where do the definitions disagree?\n\n"
        "For each pair of definitions: among clients evaluable under both, how many are a success "
        "under one and not the other (counts only; no client is listed)."
    ),
    code(
        '''dis = outcomes.disagreement_counts(result)
report.write_csv(dis, output_dir, "disagreement.csv")
shown = dis.rename(columns=lambda c: c.replace("_", " "))
if suppress_small_counts:
    shown = report.suppress_small_counts(
        shown, ["both met", "only a", "only b", "neither", "n disagree"], ["percent agree"]
    )
report.show_table(shown, "Pairs of definitions: agreement and disagreement (clients)")'''
    ),
    code(
        '''cut = instrument.cutoff or {}
report.show_methods(
    pd.DataFrame(
        {
            "item": [
                "outcome measure",
                "direction",
                "clinical cutoff (remission)",
                "reliability (RCI)",
                "J&T cutoff for clinically significant change",
                "post score",
                "response",
                "reliable change",
                "small counts",
            ],
            "value": [
                f"{instrument.name} ({instrument.min:g}-{instrument.max:g} points)",
                f"{instrument.better_is} is better",
                f"case if {cut.get('case_if', '')} {cut.get('value', 'n/a')}",
                f"{reliability:g}",
                f"type {cutoff_type}: {result.attrs['cutoff']:.2f} points",
                "last observed score after baseline" if post == "last" else f"time {post}",
                "at least 50 % reduction from baseline",
                "|RCI| > 1.96 (two-sided 5 % level)",
                f"1-{report.SMALL_COUNT - 1} shown as <{report.SMALL_COUNT}"
                if suppress_small_counts else "shown as they are (suppression off)",
            ],
            "source": [
                cohort.citation,
                "instrument registry",
                cut.get("source") or "instrument registry (no source recorded)",
                reliability_source,
                "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19",
                "parameter of this report",
                "Frank E. et al. (1991) Arch Gen Psychiatry 48(9):851-855",
                "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19",
                "disclosure control rule for published health statistics (NHS England); "
                "parameter suppress_small_counts",
            ],
        }
    ),
    METHODS_TEXT,
)'''.replace("METHODS_TEXT", repr(METHODS_TEXT))
    ),
]
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nb.metadata["language_info"] = {"name": "python"}
nbf.write(nb, Path(__file__).resolve().parents[1] / "notebooks" / "01_outcome_definitions.ipynb")
