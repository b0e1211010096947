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
