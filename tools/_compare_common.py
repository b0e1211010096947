"""Cells shared by the comparison notebooks 02-04 (imported by tools/make_notebook_0[234].py)."""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

# Mirrors notebook 01's parameters; every line: literal, type hint, comment without an equals sign.
BASE_PARAMETERS = '''run_name: str = "btheb"  # name of the run, used in titles
dataset: str = "btheb"  # btheb, help, simulated, or file (a user's export)
dataset_options: dict = {}  # loader options; for a user file, the reader specification
measure: str = "bdi2"  # primary outcome measure, a registry code: bdi2 is BDI-II, 0-63, lower is better
reliability: float = 0.92  # reliability of the measure for the reliable change index (0-1)
reliability_source: str = ""  # citation of the reliability; empty means the registry's, when the value is the registry's
cutoff_type: str = "a"  # Jacobson-Truax cutoff for clinically significant change: a, b, c or instrument
m_functional: float = None  # functional population mean (points), for cutoffs b and c
sd_functional: float = None  # functional population SD (points), for cutoffs b and c
post: str = "last"  # post score: "last" observed, or a time point such as "8"
definitions: str = ""  # definitions YAML file; empty means the package default
missing: str = "last_available"  # missing-data strategy: last_available, locf, bocf, completers or dropout_as_failure
compare: list = []  # definitions compared side by side; empty means the headline ones
group: str = "arm"  # client-table column compared between groups ("" for none)
suppress_small_counts: bool = True  # show counts 1-4 as "<5" and suppress derived values
output_dir: str = ""  # folder for the CSV tables; empty means the working folder'''

SETUP = '''import pandas as pd

from analysis import agreement, alliance, outcomes, plots_compare, report, rules, stats, survival, workflow

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
)
cohort, instrument, result = nd.cohort, nd.instrument, nd.outcomes
units = {"session": "sessions", "week": "weeks", "month": "months"}.get(cohort.time_unit, cohort.time_unit)
has_group = bool(group) and group in cohort.clients.columns and cohort.clients[group].nunique() > 1
say = workflow.say
reliability_cited = workflow.reliability_citation(instrument, reliability, reliability_source)
shown_parameters = {
    "run_name": run_name, "dataset": dataset, "measure": measure, "reliability": reliability,
    "reliability_source": reliability_cited, "cutoff_type": cutoff_type,
    "m_functional": m_functional, "sd_functional": sd_functional, "post": post,
    "definitions": definitions, "missing": missing, "compare": compare, "group": group,
    "suppress_small_counts": suppress_small_counts,
}'''


def write(cells, params_text, path):
    params = code(params_text)
    params.metadata["tags"] = ["parameters"]
    nb = nbf.v4.new_notebook()
    nb.cells = [cells[0], params, *cells[1:]]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nbf.write(nb, path)


def methods_cell(text: str):
    """The closing Methods section: every threshold and definition with its source, then text."""
    return code(
        """rows = [
    ("primary outcome measure", f"{instrument.name} ({instrument.min:g}-{instrument.max:g} points, "
     f"{instrument.better_is} is better)", "instrument registry (analysis/config/instruments.yaml)"),
    ("reliability (RCI)", f"{reliability:g}", reliability_cited),
    ("reliable change index", "|RCI| > 1.96 (two-sided 5 % level)",
     "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19"),
    ("J&T cutoff", f"type {cutoff_type}", "Jacobson N.S. & Truax P. (1991) J Consult Clin Psychol 59(1):12-19"),
    ("missing data", rules.MISSING_STRATEGY_TEXT[missing],
     "parameter of this report (analysis.rules.MISSING_STRATEGY_TEXT)"),
    ("small counts", f"1-{report.SMALL_COUNT - 1} shown as <{report.SMALL_COUNT}"
     if suppress_small_counts else "shown as they are (suppression off)",
     "disclosure control rule for published health statistics (NHS England); "
     "parameter suppress_small_counts"),
    ("data", cohort.description or cohort.name,
     cohort.citation or "user-supplied data file (path in the parameters above)"),
]
rows += [(f"definition {d['name']}", d["description"], d["source"] or "definitions file")
         for d in nd.definitions if d["name"] in set(result["definition"])]
report.show_methods(pd.DataFrame(rows, columns=["item", "value", "source"]), __METHODS__)""".replace(
            "__METHODS__", repr(text)
        )
    )
