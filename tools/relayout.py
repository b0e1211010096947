"""Move the flat modules of ``src/analysis/`` into the six layer subpackages (issue 12).

Run once at the repository root, after every branch that still edits the flat modules has been
merged::

    python tools/relayout.py            # move, rewrite, create the subpackage __init__ files
    python tools/relayout.py --dry-run  # print what it would do, change nothing

What it does, in order:

1. ``git mv`` each flat module named in :data:`MAP` that exists into its subpackage (a module that
   does not exist is skipped, so the script works whatever branches have landed; one already moved
   is skipped too, so running it twice changes nothing the second time).
2. Rewrites every import and reference in ``src/``, ``tests/``, ``benchmarks/``, ``tools/``,
   ``docs/``, ``notebooks/*.ipynb`` (cell sources only; the notebooks stay stripped),
   ``README.md``, ``Makefile`` and ``pyproject.toml`` (not ``CHANGELOG.md``: history keeps the
   names it had):

   - dotted names anywhere (imports, strings, comments, monkeypatch targets, entry points):
     ``analysis.io`` -> ``analysis.data.io``, ``analysis.rules.Trajectories`` ->
     ``analysis.outcomes.rules.Trajectories``;
   - ``from analysis import io, stats as s, Cohort`` -> ``from analysis import Cohort`` +
     ``from analysis.data import io`` + ``from analysis.compare import prevalence as s``
     (a renamed module keeps its old name as an alias, so the code below the import is untouched);
   - relative imports inside the moved modules become absolute;
   - file paths ``src/analysis/io.py`` -> ``src/analysis/data/io.py``;
   - :data:`FIXUPS`: the few lines that depend on a module's folder (``paths.PACKAGE_DIR``).
3. Creates each subpackage's ``__init__.py`` (docstring: what it owns, what it may import) and
   replaces the package docstring of ``analysis/__init__.py`` with the layout.
4. Runs ``ruff check --select I --fix`` on the Python files it changed, when ruff is installed
   (``--no-ruff`` skips it), so the split import lines are sorted as the linter wants. It does not
   run ``ruff format``: main is not format-clean, and the move should not reformat it.

Standard library only. Delete this script (and RELAYOUT_PLAN.md) after it has run on main.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

# old flat module name -> "subpackage/new_module_name". Add entries here for modules that land
# later; an entry whose flat file does not exist is skipped.
MAP: dict[str, str] = {
    # registry: pure configuration, the lowest layer
    "paths": "registry/paths",
    "instruments": "registry/instruments",
    "definitions": "registry/definitions",
    "config_loader": "registry/config",  # the one YAML loader, if created flat first
    # data: the data model, readers, quarantine, item scoring, bundled and simulated data
    "schema": "data/schema",
    "cohort": "data/cohort",
    "io": "data/io",
    "scoring": "data/items",
    "datasets": "data/datasets",
    "simulate": "data/simulate",
    # outcomes: rule kinds, the engine that writes the outcomes table, reliable-change methods
    "rules": "outcomes/rules",
    "outcomes": "outcomes/engine",
    "clinsig": "outcomes/clinsig",
    "hlm_reml": "outcomes/hlm",
    "imputation": "outcomes/imputation",
    # compare: what is computed from the outcomes table
    "stats": "compare/prevalence",
    "agreement": "compare/agreement",
    "survival": "compare/survival",
    "alliance": "compare/alliance",
    "sudden_gains": "outcomes/sudden_gains",  # a rule kind: rules.py dispatches to it
    "on_track": "compare/on_track",
    "multiverse": "compare/multiverse",
    # report: figures, tables, suppression, HTML
    "plots": "report/plots",
    "plots_compare": "report/plots_compare",
    "report": "report/tables",
    "disclosure": "report/disclosure",
    "plots_session": "report/plots_session",
    # run: parameters, the pipeline, notebook glue, the command line
    "params": "run/params",
    "pipeline": "run/pipeline",
    "workflow": "run/workflow",
    "cli": "run/cli",
}

# Layers from lowest to highest; a module may import its own layer and the ones before it.
LAYERS: list[str] = ["registry", "data", "outcomes", "compare", "report", "run"]

DOCSTRINGS: dict[str, str] = {
    "registry": """Registry: the project's configuration, the lowest layer.

Owns where things live (``paths``), the instrument registry (``instruments``: range, direction,
cutoffs, reliability, norms of every instrument) and the definitions of success
(``definitions``), read from the YAML files in ``analysis/config/``, each number next to its
source. Every YAML config is read and validated here.

May import: nothing from ``analysis`` outside this subpackage. It sits below ``data`` because the
readers and the schema validate scores against the instruments' ranges.
""",
    "data": """Data: the data model and everything that reads or writes cohort files.

Owns the long-format schema and its pandera validation (``schema``), the ``Cohort`` container
(``cohort``), the readers, quarantine and Parquet cohort store (``io``), item-level
questionnaire scoring (``items``), the bundled real datasets (``datasets``) and the simulated
cohort (``simulate``).

May import: ``analysis.registry``.
""",
    "outcomes": """Outcomes: from a cohort to the one per-client outcomes table.

Owns the rule kinds (``rules``), the engine that scores every definition into the outcomes
table (``engine``) and the reliable and clinically significant change methods (``clinsig``;
to be split by family: distribution-based, HLM, percentage, anchor).

May import: ``analysis.data``, ``analysis.registry``.
""",
    "compare": """Compare: analyses of the outcomes table, definitions side by side.

Owns prevalence with Wilson intervals (``prevalence``), agreement between definitions
(``agreement``), time to success (``survival``), the working alliance (``alliance``) and later
the multiverse and session-level analyses (sudden gains, on track).

May import: ``analysis.outcomes``, ``analysis.data``, ``analysis.registry``.
""",
    "report": """Report: what a reader sees.

Owns the figures (``plots``, ``plots_compare``), display tables, small-count suppression and the
HTML fragments of a report (``tables``; later split into tables and HTML), and disclosure control.

May import: ``analysis.compare``, ``analysis.outcomes``, ``analysis.data``, ``analysis.registry``.
""",
    "run": """Run: the headless main job and its entry points, the top layer.

Owns the typed run parameters (``params``), the pipeline that runs every notebook for every
configured run and renders the HTML and the index (``pipeline``), the loading and scoring glue
the notebooks call (``workflow``) and the command line (``cli``).

May import: every other layer. Nothing imports ``run`` but ``analysis.__main__`` and notebooks.
""",
}

TOP_DOCSTRING = '''"""Psychotherapy outcome definitions, side by side.

``analysis`` takes a cohort in long format (one row per client x time point x measure, plus a client
table) and answers, per definition of a successful outcome: who succeeds, how often, how far the
definitions agree, how fast each is reached and what predicts it.

The package is six layers; a lower layer never imports a higher one (tests/test_layout.py)::

    registry  instruments, definitions, paths, the YAML loader       (imports nothing)
    data      schema, Cohort, readers, quarantine, items, datasets    (registry)
    outcomes  rule kinds, the outcomes table, reliable change         (data, registry)
    compare   prevalence, agreement, survival, alliance               (outcomes and below)
    report    figures, tables, suppression, HTML                      (compare and below)
    run       parameters, pipeline, notebook glue, command line       (everything)

The public API is re-exported here; ``from analysis import clinical_significance`` is the way in.
"""'''

# Lines that depend on the folder a module sits in: module -> [(old text, new text)].
FIXUPS: dict[str, list[tuple[str, str]]] = {
    "paths": [
        (
            "PACKAGE_DIR = Path(__file__).resolve().parent\n",
            "PACKAGE_DIR = Path(__file__).resolve().parents[1]  # analysis/, above registry/\n",
        )
    ],
}

PKG = Path("src/analysis")
TEXT_GLOBS = [
    ("src", "**/*.py"),
    ("src", "**/*.yaml"),
    ("src", "**/*.yml"),
    ("src", "**/*.md"),
    ("tests", "**/*.py"),
    ("tests", "**/*.md"),
    ("benchmarks", "**/*.py"),
    ("benchmarks", "**/*.md"),
    ("tools", "**/*.py"),
    ("tools", "**/*.md"),
    ("docs", "**/*.md"),
    (".", "README.md"),
    (".", "Makefile"),
    (".", "pyproject.toml"),
]
NOTEBOOK_GLOBS = [("notebooks", "*.ipynb"), ("tests/notebooks", "*.ipynb")]
SELF = Path("tools/relayout.py")
PLAN = Path("tools/RELAYOUT_PLAN.md")


def _dest(name: str) -> tuple[str, str]:
    pkg, mod = MAP[name].split("/")
    return pkg, mod


def _submodules(pkg: str) -> set[str]:
    """Module names of a subpackage in the new layout (for names that are also subpackages)."""
    names = {m.split("/")[1] for m in MAP.values() if m.split("/")[0] == pkg}
    folder = PKG / pkg
    if folder.is_dir():
        names |= {p.stem for p in folder.glob("*.py")}
    return names


class Rewriter:
    """Text rewriting for the modules moved (or already moved) into their subpackages."""

    def __init__(self, names: list[str], moved_now: set[str]):
        self.names = names
        self.dotted: list[tuple[re.Pattern[str], str]] = []
        for name in sorted(names, key=len, reverse=True):
            pkg, mod = _dest(name)
            guard = ""
            if name in LAYERS:
                # ``analysis.outcomes`` / ``analysis.report`` are both an old module and a new
                # subpackage: rewrite only in the run that moves them, never a reference to a
                # module of the new subpackage (idempotence).
                if name not in moved_now:
                    continue
                subs = "|".join(sorted(_submodules(pkg)))
                guard = rf"(?!\.(?:{subs})\b)"
            self.dotted.append(
                (re.compile(rf"(?<![\w.])analysis\.{name}(?!\w){guard}"), f"analysis.{pkg}.{mod}")
            )
            self.dotted.append(
                (re.compile(rf"(?<![\w.])analysis/{name}\.py\b"), f"analysis/{pkg}/{mod}.py")
            )
        self.movable = {
            n for n in names if n not in LAYERS or n in moved_now
        }  # names that ``from analysis import`` may rewrite

    _FROM = re.compile(
        r"^(?P<indent>[ \t]*)from analysis import (?:\((?P<paren>[^)]*)\)|(?P<plain>[^\n#(]*))"
        r"(?P<comment>[ \t]*#[^\n]*)?$",
        re.M,
    )

    def _from_import(self, m: re.Match[str]) -> str:
        body = m.group("paren") if m.group("paren") is not None else m.group("plain")
        items = [s.strip() for s in re.split(r"[,\n]", re.sub(r"#[^\n]*", "", body)) if s.strip()]
        keep: list[str] = []
        by_pkg: dict[str, list[str]] = {}
        for item in items:
            parts = item.split()
            name, alias = parts[0], (parts[2] if len(parts) == 3 and parts[1] == "as" else None)
            if name in self.movable:
                pkg, mod = _dest(name)
                local = alias or name
                by_pkg.setdefault(pkg, []).append(mod if mod == local else f"{mod} as {local}")
            else:
                keep.append(item)
        if not by_pkg:
            return m.group(0)
        indent, comment = m.group("indent"), (m.group("comment") or "")
        lines = []
        if keep:
            lines.append(f"{indent}from analysis import {', '.join(keep)}")
        for pkg in sorted(by_pkg, key=LAYERS.index):
            lines.append(f"{indent}from analysis.{pkg} import {', '.join(sorted(by_pkg[pkg]))}")
        lines[0] += comment
        return "\n".join(lines)

    def python(self, text: str, flat_module: bool = False) -> str:
        if flat_module:  # relative imports of a module that moves one folder down
            text = re.sub(
                r"^(\s*)from \.(\w+) import", r"\1from analysis.\2 import", text, flags=re.M
            )
            text = re.sub(r"^(\s*)from \. import", r"\1from analysis import", text, flags=re.M)
        return self.text(text)

    def text(self, text: str) -> str:
        # dotted names first: the ``from analysis import`` rewrite writes new-layout names
        # (``from analysis.outcomes import engine as outcomes``) that must not be rewritten again
        for pattern, repl in self.dotted:
            text = pattern.sub(repl, text)
        return self._FROM.sub(self._from_import, text)


def _git(*args: str, dry: bool) -> None:
    print("  git " + " ".join(args))
    if not dry:
        subprocess.run(["git", *args], check=True)


LONG_BEFORE: dict[Path, set[str]] = {}  # Python lines over 100 characters before the rewrite


def _write(path: Path, old: str, new: str, dry: bool, changed: list[Path]) -> None:
    if new != old:
        changed.append(path)
        if path.suffix == ".py":
            LONG_BEFORE[path] = {line for line in old.splitlines() if len(line) > 100}
        if not dry:
            path.write_text(new, encoding="utf-8")


def _report_long_lines() -> None:
    """Name the lines the longer module names pushed past ruff's 100 characters (E501)."""
    long = [
        f"  {path}:{i}"
        for path, before in sorted(LONG_BEFORE.items())
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if len(line) > 100 and line not in before
    ]
    if long:
        print(f"{len(long)} line(s) now over 100 characters (ruff E501): rewrap them by hand")
        print("\n".join(long))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument(
        "--dry-run", action="store_true", help="print what would be done, change nothing"
    )
    ap.add_argument("--no-ruff", action="store_true", help="do not run ruff on the changed files")
    args = ap.parse_args(argv)
    dry = args.dry_run
    if not (PKG / "__init__.py").is_file():
        print(f"run at the repository root ({PKG}/__init__.py not found)", file=sys.stderr)
        return 2

    # 1. move
    moved_now: set[str] = set()
    present: list[str] = []
    print("moves:")
    for name, target in MAP.items():
        pkg, mod = target.split("/")
        src, dst = PKG / f"{name}.py", PKG / pkg / f"{mod}.py"
        if src.is_file() and not dst.exists():
            if not dry:
                dst.parent.mkdir(exist_ok=True)
            _git("mv", str(src), str(dst), dry=dry)
            moved_now.add(name)
            present.append(name)
        elif src.is_file():
            print(f"  ! both {src} and {dst} exist: merge them by hand; {name} not moved")
        elif dst.is_file():
            print(f"  = {name}: already at {dst}")
            present.append(name)
        else:
            print(f"  - {name}: no {src}, skipped")
    leftover = sorted(
        p.stem
        for p in PKG.glob("*.py")
        if p.stem not in ("__init__", "__main__") and p.stem not in moved_now
    )
    if leftover:
        print(f"  ! flat modules not in MAP (add them and rerun): {', '.join(leftover)}")

    # 2. fixups for folder-dependent lines
    rw = Rewriter(present, moved_now)
    changed: list[Path] = []
    for name, pairs in FIXUPS.items():
        if name not in moved_now:
            continue
        pkg, mod = _dest(name)
        path = (PKG / f"{name}.py") if dry else (PKG / pkg / f"{mod}.py")
        old = path.read_text(encoding="utf-8")
        new = old
        for a, b in pairs:
            if a not in new:
                print(f"  ! fixup for {name} not applied (text changed): {a.strip()}")
            new = new.replace(a, b)
        _write(path, old, new, dry, changed)

    # 3. rewrite references
    files: set[Path] = set()
    for root, pattern in TEXT_GLOBS:
        files |= {p for p in Path(root).glob(pattern) if p.is_file()}
    files -= {SELF, PLAN}
    flat_sources = {PKG / pkg_mod for pkg_mod in (f"{MAP[n]}.py" for n in moved_now)}
    if dry:
        flat_sources = {PKG / f"{n}.py" for n in moved_now}
    for path in sorted(files):
        if ".venv" in path.parts or ".git" in path.parts:
            continue
        old = path.read_text(encoding="utf-8")
        new = rw.python(old, flat_module=path in flat_sources)
        _write(path, old, new, dry, changed)
    for root, pattern in NOTEBOOK_GLOBS:
        for path in sorted(Path(root).glob(pattern)):
            old = path.read_text(encoding="utf-8")
            nb = json.loads(old)
            touched = False
            for cell in nb.get("cells", []):
                src = cell.get("source", "")
                joined = "".join(src) if isinstance(src, list) else src
                new_src = rw.text(joined)
                if new_src != joined:
                    lines = new_src.splitlines(keepends=True)
                    cell["source"] = lines if isinstance(src, list) else new_src
                    touched = True
            if touched:  # nbformat's layout: one-space indent, non-ASCII kept, final newline
                new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
                _write(path, old, new, dry, changed)

    # 4. subpackage __init__ files and the top-level docstring
    for pkg in LAYERS:
        init = PKG / pkg / "__init__.py"
        if init.exists():
            continue
        changed.append(init)
        if not dry:
            init.parent.mkdir(exist_ok=True)
            init.write_text(
                f'"""{DOCSTRINGS[pkg]}"""\n\n__all__: list[str] = []\n', encoding="utf-8"
            )
    top = PKG / "__init__.py"
    old = top.read_text(encoding="utf-8")
    new = re.sub(r'\A"""(?:(?!""").)*"""', lambda _: TOP_DOCSTRING, old, count=1, flags=re.S)
    if "Modules (one concern each)" in old:  # replace the flat-layout docstring only
        _write(top, old, new, dry, changed)

    print(f"moved {len(moved_now)} module(s); changed {len(changed)} file(s):")
    for p in sorted(set(changed)):
        print(f"  {p}")
    if dry:
        print("(dry run: nothing changed)")
        return 0
    if changed:
        subprocess.run(["git", "add", *sorted({str(p) for p in changed})], check=True)

    # 5. ruff: sort the rewritten imports, format the changed Python files
    py = [str(p) for p in sorted(set(changed)) if p.suffix == ".py"]
    if py and not args.no_ruff:
        probe = subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True)
        if probe.returncode == 0:
            # imports only: main is not `ruff format` clean, and the move should not reformat it
            subprocess.run(
                [sys.executable, "-m", "ruff", "check", "--select", "I", "--fix", "-q", *py]
            )
            subprocess.run(["git", "add", *py], check=True)
            print(f"ruff: imports sorted in {len(py)} file(s)")
        else:
            print("ruff not installed: run `ruff check --select I --fix` on the changed files")
    _report_long_lines()
    print(
        "next: run the tests (tests/test_layout.py first), then `git rm tools/relayout.py "
        "tools/RELAYOUT_PLAN.md` and commit"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
