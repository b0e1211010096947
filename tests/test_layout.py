"""The package layout: six layers, a lower layer never imports a higher one (issue 12).

``registry`` < ``data`` < ``outcomes`` < ``compare`` < ``report`` < ``run``. Every module under
``src/analysis`` is parsed with :mod:`ast` (nothing is imported, so the test is fast and sees lazy
imports inside functions too); each ``analysis.X`` it imports is mapped to X's layer. A module may
import its own layer and lower ones; it may not import a higher layer, nor the ``analysis`` facade
(``from analysis import clinical_significance``), which imports every layer.
``analysis/__init__.py`` and ``analysis/__main__.py`` are the facade and sit above the layers.

"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import analysis

LAYERS = ["registry", "data", "outcomes", "compare", "report", "run"]
PKG = Path(analysis.__file__).resolve().parent
FACADE = {"__init__", "__main__"}


def test_the_six_layers_exist():
    assert all((PKG / layer / "__init__.py").is_file() for layer in LAYERS)


def _modules() -> list[tuple[str, Path]]:
    """Every module of the package as (dotted name, path)."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        parts = ["analysis", *rel.parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append((".".join(parts), path))
    return out


def _imports(name: str, path: Path) -> list[tuple[int, str]]:
    """Absolute ``analysis...`` names a module imports, with their line numbers.

    ``from analysis.data import io`` yields ``analysis.data.io``; ``from analysis import Cohort``
    yields ``analysis.Cohort`` (the facade); relative imports are resolved against ``name``.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return [(line, imp) for line, imp in found if imp == "analysis" or imp.startswith("analysis.")]


def layer_of(dotted: str) -> str | None:
    """Layer of ``analysis.<layer>...``; ``"facade"`` for ``analysis`` itself or a name in it."""
    parts = dotted.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    return "facade"


def violations() -> list[str]:
    """Every import of a higher layer (or of the facade) by a module inside a layer."""
    bad = []
    for name, path in _modules():
        parts = name.split(".")
        if len(parts) < 2 or parts[1] not in LAYERS:
            continue  # the facade (__init__, __main__); flat leftovers fail test_no_flat_modules
        own = LAYERS.index(parts[1])
        for line, imp in _imports(name, path):
            target = layer_of(imp)
            if imp == "analysis.__version__":
                continue  # the one constant every layer may read (no import of a layer)
            if target == "facade":
                bad.append(
                    f"{path.relative_to(PKG.parent)}:{line}: {name} imports {imp} from the "
                    "analysis facade (import it from its subpackage)"
                )
            elif LAYERS.index(target) > own:
                bad.append(
                    f"{path.relative_to(PKG.parent)}:{line}: {name} ({parts[1]}) imports {imp} "
                    f"({target}, a higher layer)"
                )
    return bad


def test_every_layer_exists_with_a_docstring_and_all():
    for layer in LAYERS:
        init = PKG / layer / "__init__.py"
        assert init.is_file(), f"missing subpackage analysis.{layer} ({init})"
        tree = ast.parse(init.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc and "May import" in doc, (
            f"{init}: the docstring must say what analysis.{layer} owns and what it may import "
            "('May import: ...')"
        )


def test_no_flat_modules_outside_the_layers():
    flat = [p.name for p in PKG.glob("*.py") if p.stem not in FACADE]
    assert not flat, (
        f"modules outside every layer: {flat}; move each into its subpackage "
        "(git mv it into the layer it belongs to; README, For developers)"
    )


def test_every_module_defines_all():
    missing = []
    for name, path in _modules():
        if path.stem == "__main__":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        ]
        if "__all__" not in targets:
            missing.append(name)
    assert not missing, f"modules without __all__: {missing}"


def test_no_lower_layer_imports_a_higher_one():
    bad = violations()
    assert not bad, "layering violations (lower layers never import higher ones):\n" + "\n".join(
        bad
    )


def test_the_check_catches_a_bad_import(tmp_path, monkeypatch):
    """The checker itself: a registry module importing the run layer is reported, by name."""
    fake = tmp_path / "analysis"
    (fake / "registry").mkdir(parents=True)
    (fake / "__init__.py").write_text('"""facade"""\n')
    (fake / "registry" / "__init__.py").write_text('"""registry. May import: nothing."""\n')
    (fake / "registry" / "bad.py").write_text(
        "def f():\n    from analysis.run import pipeline\n    from ..data import io\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    bad = violations()
    assert len(bad) == 2, bad
    assert "analysis.registry.bad (registry) imports analysis.run.pipeline (run" in bad[0]
    assert "registry/bad.py:2" in bad[0]
    assert "imports analysis.data.io (data, a higher layer)" in bad[1]


def test_public_api_importable_with_OO():
    """``python -OO`` strips docstrings; the facade must not depend on them."""
    code = "import analysis; [getattr(analysis, n) for n in analysis.__all__]; print('ok')"
    out = subprocess.run(
        [sys.executable, "-OO", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
