"""Write the tiny test notebooks of tests/notebooks/ (kept as code so their cells are reviewable).

Run from anywhere: ``python tests/notebooks/make_notebooks.py``. Each failing notebook has a
parameters cell, one cell that succeeds, then the failing cell, then a cell that must never run.
``ok_interpreter`` succeeds and records which interpreter executed it.
"""

from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent

PARAMS = 'output_dir: str = ""  # folder for outputs; empty means the working folder'

FAILING = {
    "fail_exception": "raise RuntimeError('deliberate failure in a test notebook')",
    "fail_magic": "%run no_such_script_anywhere.py",
    "fail_timeout": "import time\n\ntime.sleep(600)",
    "fail_sys_exit": "import sys\n\nsys.exit(1)",
    "fail_kernel_killed": "import os\n\nos.kill(os.getpid(), 9)",
}

OK = """import pathlib
import sys

pathlib.Path(output_dir or ".", "interpreter.txt").write_text(sys.executable, encoding="utf-8")
print("interpreter recorded")"""


def _notebook(cells: list[str]) -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    params = nbf.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbf.v4.new_markdown_cell("# Test notebook"), params]
    nb.cells += [nbf.v4.new_code_cell(src) for src in cells]
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    for name, bad in FAILING.items():
        cells = ["x = 1", bad, "print('this cell must never run')"]
        nbf.write(_notebook(cells), HERE / f"{name}.ipynb")
    nbf.write(_notebook([OK]), HERE / "ok_interpreter.ipynb")
