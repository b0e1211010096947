"""Every notebook runs with its own default parameters, as JupyterLab runs it (papermill with no
injected parameters): the defaults are a BtheB run with ``reliability = None``, meaning the
instrument registry's value for the measure. The reports once crashed formatting that None.

The outputs go to ``<root>/reports/lab`` (the notebooks' default ``output_dir``); the project root
is pointed at a temporary folder so the checkout's ``reports/`` is not touched.
"""

from __future__ import annotations

import nbformat
import pytest

from analysis.registry import paths
from analysis.registry.instruments import get_instrument

pytestmark = pytest.mark.slow  # six notebooks, about 10 s each

NOTEBOOKS = sorted(p.name for p in paths.notebooks_dir().glob("0*.ipynb"))


def _html_outputs(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            out.append(str(data.get("text/html", "")) + str(data.get("text/markdown", "")))
    return "\n".join(out)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_with_its_own_defaults(name, tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill")
    src = paths.notebooks_dir() / name
    assert "reliability: float = None" in src.read_text("utf-8")  # the default under test
    monkeypatch.setenv("ANALYSIS_PROJECT_ROOT", str(tmp_path))
    out = tmp_path / name
    # no parameters: papermill injects no cell, the notebook's own defaults apply
    papermill.execute_notebook(
        str(src), str(out), cwd=str(src.parent), kernel_name="python3", progress_bar=False
    )
    nb = nbformat.read(out, as_version=4)
    assert not any(c.metadata.get("tags") == ["injected-parameters"] for c in nb.cells)
    html = _html_outputs(nb)
    assert "Traceback" not in html
    if name.startswith("01"):
        # no per-client file is written by default, so the summary does not mention one
        assert "Times are in months." in html and "per-client file" not in html
        # BDI-II "case if >= 14" (Beck, Steer & Brown 1996) as a J&T boundary is 13.5
        assert "13.50 points (scores are whole numbers: 13 or less is functional, 14 or" in html
        # HLM counts every BtheB client unchanged, and says why (the fit's numbers)
        assert "HLM counts all 73 evaluable clients unchanged: their slopes vary little" in html
    if name.startswith("05"):
        return
    # the methods table prints BDI-II's registry reliability, .92 (Beck, Steer & Brown 1996,
    # alpha in outpatients), not "None"
    assert get_instrument("bdi2").reliability["value"] == 0.92
    methods = html.split('class="analysis-methods"', 1)[1]  # not the parameters at the top
    row = methods.split("reliability (RCI)</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>0.92</td>" in row and "Beck, Steer" in row
