"""The project's own files promise what they deliver: environment, notebooks, README commands."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_in_step_with_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {_name(r) for r in py["project"]["dependencies"]}
    for extra in ("data", "test"):
        wanted |= {_name(r) for r in py["project"]["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            have |= {_name(d) for d in dep["pip"] if not d.startswith("-e")}
            assert "-e ." in dep["pip"]
        else:
            have.add(_name(dep))
    assert wanted - have == set(), f"missing from environment.yml: {sorted(wanted - have)}"


def test_notebooks_stripped_with_one_parameters_cell():
    nbs = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert nbs
    for p in nbs:
        nb = json.loads(p.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), p
        tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, p
        assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_readme_commands_exist_in_makefile():
    readme = (ROOT / "README.md").read_text()
    make = (ROOT / "Makefile").read_text()
    for target in re.findall(r"^\s*make ([a-z-]+)", readme, flags=re.M):
        assert re.search(rf"^{target}:", make, flags=re.M), f"README uses make {target}"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_names_only_files_that_exist():
    """Every repository path the README quotes (`src/...`, `tests/...`, `analysis/...` for
    src/analysis/...) exists: a newcomer sent to `src/analysis/data/io.py` found nothing."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = set(
        re.findall(r"`((?:src|tests|examples|benchmarks|notebooks|\.ci|analysis)/[^`\s]*)`", readme)
    )
    assert len(quoted) > 20  # the scan finds the README's paths at all
    missing = [
        q
        for q in sorted(quoted)
        if "NN_" not in q  # a naming pattern (notebooks/NN_name.py), not a file
        and not (ROOT / ("src/" + q if q.startswith("analysis/") else q)).exists()
    ]
    assert not missing, f"README names files that do not exist: {missing}"


def test_readme_lint_paths_are_the_makefiles():
    """The README's `make lint` row lists the folders LINT_PATHS checks (it named a `tools`
    folder that does not exist and left out notebooks and examples)."""
    make = (ROOT / "Makefile").read_text()
    paths = re.search(r"^LINT_PATHS := (.*)$", make, flags=re.M).group(1).split()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(ln for ln in readme.splitlines() if ln.startswith("| `make lint`"))
    said = re.search(r"format check of ([a-z, ]+?) \(", row).group(1)
    assert [p.strip() for p in said.split(",")] == paths


def test_readme_layout_names_every_module():
    """The README's layout drawing lists every module of every layer (four report modules were
    missing from it), so a developer finds where a piece lives."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("### The layout: six layers")
    drawing = readme[start : readme.index("```", readme.index("```", start) + 3)]
    words = set(re.findall(r"[a-z_]+", drawing))
    absent = [
        f"{layer.name}.{mod.stem}"
        for layer in sorted((ROOT / "src" / "analysis").iterdir())
        if layer.is_dir() and (layer / "__init__.py").exists()
        for mod in sorted(layer.glob("*.py"))
        if mod.stem != "__init__" and mod.stem not in words
    ]
    assert not absent, f"modules missing from the README's layout drawing: {absent}"


# ------------------------------------------------------------- a clone that stands on its own

#: Names and path parts that reach the folder beside the checkout (built in pieces so that this
#: file does not match its own scan).
_OUTSIDE = re.compile(
    r"(^|[/\\])" + "shar" + r"ed([/\\]|$)|ANALYSIS_" + "SHARED_DIR|ANALYSIS_" + "VALIDATION_DATA"
)
_OUTSIDE_NAMES = {"SHAR" + "ED", "CLAUS_DIR", "VALIDATION_" + "DIR"}


def _code_strings_and_names(path: Path):
    """Yield (line, text) of every string constant (docstrings excluded) and every name used."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node.lineno, node.value
        elif isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.alias):
            yield node.lineno, node.name


def test_only_conftest_names_the_validation_folder():
    """No test module reaches the folder beside the checkout (``../shared``) or the variable that
    names it: published data come only through conftest's ``validation_file`` fixture, which marks
    the test ``validation``. Fails on e.g. ``ROOT.parent / "shared"`` or ``from conftest import
    VALIDATION_DIR`` in a test module."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.name in ("conftest.py", "test_packaging.py"):
            continue
        for line, text in _code_strings_and_names(path):
            if _OUTSIDE.search(text) or text in _OUTSIDE_NAMES:
                found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert not found, "use the validation_file fixture instead:\n" + "\n".join(found)
    assert _OUTSIDE.search("../" + "shar" + "ed/data") and not _OUTSIDE.search("shared_runs")


def _pytest(tmp_path: Path, *args: str, ci: bool = False):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["ANALYSIS_VALIDATION_DATA"] = str(tmp_path / "empty")  # a folder that does not exist
    if ci:
        env["CI"] = "true"
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_without_validation_data_only_validation_tests_skip(tmp_path):
    """With the validation-data folder absent, the whole suite still collects; every
    ``validation`` test skips with the message naming ANALYSIS_VALIDATION_DATA and where to get
    the data, none errors."""
    res = _pytest(tmp_path, "-m", "validation")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    summary = out.strip().splitlines()[-1]
    assert re.search(r"\d+ skipped", summary), summary
    assert not re.search(r"passed|failed|error", summary), summary
    skips = [ln for ln in out.splitlines() if ln.startswith("SKIPPED")]
    data = [ln for ln in skips if "published validation data not found" in ln]
    assert data and all("ANALYSIS_VALIDATION_DATA" in ln and "get it from" in ln for ln in data)
    # and one line says it once for all of them, with their number
    n_skipped = sum(int(re.match(r"SKIPPED \[(\d+)\]", ln).group(1)) for ln in data)
    (once,) = [ln for ln in out.splitlines() if "validation test(s) skipped:" in ln]
    assert once.startswith(f"{n_skipped} validation test(s) skipped: the published validation")
    assert "No other test needs them." in once
    # any other skip of a validation test is an explicit reason of its own (an optional
    # dependency such as rdata), never an error: the summary above has no "error"


def test_without_validation_data_ci_fails_and_ordinary_tests_run(tmp_path):
    """Under ``CI=true`` an absent validation-data folder fails the validation test (not a skip);
    the module's ordinary tests run and none skips."""
    res = _pytest(tmp_path, "tests/test_instruments.py", ci=True)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-3000:]
    assert "Under CI the validation data must be present" in out
    summary = out.strip().splitlines()[-1]
    assert re.fullmatch(r"=* ?1 failed, \d+ passed in .*", summary), summary


def test_version_in_one_place():
    """``analysis.__version__`` is the only version: pyproject reads it (dynamic), CITATION.cff and
    the newest CHANGELOG entry repeat it, and nothing else states one."""
    import analysis

    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in py["project"] and py["project"]["dynamic"] == ["version"]
    assert py["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "analysis.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", analysis.__version__)
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["version"] == analysis.__version__
    assert cff["license"] == py["project"]["license"] == "MIT"
    newest = re.search(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.M)
    assert newest and newest.group(1) == analysis.__version__
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_gates_agree_lint_before_tests_and_one_ruff():
    """``.ci/run`` runs ``make lint`` before ``make test``; ``make lint`` checks and format-checks
    src, tests, benchmarks and notebooks; the pre-commit ruff rev lies in pyproject's ruff range."""
    from packaging.specifiers import SpecifierSet

    ci = (ROOT / ".ci" / "run").read_text()
    assert 0 <= ci.index("make lint") < ci.index("make test")
    make = (ROOT / "Makefile").read_text()
    paths = re.search(r"^LINT_PATHS := (.*)$", make, flags=re.M).group(1).split()
    assert {"src", "tests", "benchmarks", "notebooks"} <= set(paths)
    assert "ruff check $(LINT_PATHS)" in make and "ruff format --check $(LINT_PATHS)" in make
    pre = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    (rev,) = [r["rev"] for r in pre["repos"] if r["repo"].endswith("/ruff-pre-commit")]
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (req,) = [r for r in py["project"]["optional-dependencies"]["test"] if _name(r) == "ruff"]
    spec = SpecifierSet(req[len("ruff") :].split(";")[0].strip())
    assert rev.lstrip("v") in spec, (rev, str(spec))
    assert "0.6.9" not in spec  # the old pin is outside: the check can fail


def test_import_under_python_OO():
    """``python -OO`` strips docstrings; the package still imports (no ``__doc__.replace``), and
    no module of the package edits a docstring without checking it is there."""
    import subprocess
    import sys

    code = "import analysis; assert analysis.clinical_significance.__doc__ is None"
    res = subprocess.run([sys.executable, "-OO", "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    for path in sorted((ROOT / "src" / "analysis").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if re.search(r"__doc__\s*\.", line) or re.search(r"__doc__\s*[+%]", line):
                guard = "\n".join(lines[max(0, i - 3) : i])
                assert re.search(r"if [^\n]*__doc__", guard), f"{path.name}:{i + 1}: {line.strip()}"


def test_notebooks_and_their_percent_scripts_are_in_sync():
    """Each notebook is paired with a percent-format script (jupytext): the script is what is
    reviewed and linted, the .ipynb what papermill runs. Same cells, same sources, same tags;
    ``make notebooks`` (jupytext --sync) brings them back in step."""
    import jupytext

    nbs = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert nbs
    for ipynb in nbs:
        script = ipynb.with_suffix(".py")
        assert script.is_file(), f"{ipynb.name} has no paired script {script.name}"
        a = jupytext.read(script)
        b = jupytext.read(ipynb)
        assert b.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", ipynb.name
        cells_a = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in a.cells]
        cells_b = [(c.cell_type, c.source, c.metadata.get("tags", [])) for c in b.cells]
        assert cells_a == cells_b, f"{ipynb.name} and {script.name} differ: run make notebooks"


def test_no_generator_scripts_hold_notebook_code():
    """Notebooks have one source (their paired script): no tools/make_notebook_*.py."""
    assert not list((ROOT / "tools").glob("make_notebook_*.py"))
