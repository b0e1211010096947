"""Every path the project uses, derived from one place.

The project root is the folder holding ``pyproject.toml`` above this package (src layout, editable
install). ``ANALYSIS_PROJECT_ROOT`` overrides it, for an installed copy run against a checkout.
Nothing here depends on the caller's working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PACKAGE_DIR",
    "CONFIG_DIR",
    "project_root",
    "notebooks_dir",
    "data_dir",
    "reports_dir",
]

PACKAGE_DIR = Path(__file__).resolve().parent
CONFIG_DIR = PACKAGE_DIR / "config"


def project_root() -> Path:
    """Return the project's root folder.

    Returns
    -------
    pathlib.Path
        ``$ANALYSIS_PROJECT_ROOT`` when set, else the nearest folder above this package that holds
        ``pyproject.toml``.

    Raises
    ------
    FileNotFoundError
        If neither is found (an installed, non-editable copy without the variable).
    """
    env = os.environ.get("ANALYSIS_PROJECT_ROOT")
    if env:
        return Path(env).resolve()
    for parent in PACKAGE_DIR.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    raise FileNotFoundError(
        "Cannot find the project root (a folder with pyproject.toml and notebooks/ above "
        f"{PACKAGE_DIR}). Set ANALYSIS_PROJECT_ROOT to the checkout."
    )


def notebooks_dir() -> Path:
    """Folder of the parameterised notebooks (``<root>/notebooks``)."""
    return project_root() / "notebooks"


def data_dir() -> Path:
    """Folder for generated data (``<root>/data``; gitignored but for its README)."""
    return project_root() / "data"


def reports_dir() -> Path:
    """Folder for rendered reports (``<root>/reports``; rebuilt by the pipeline)."""
    return project_root() / "reports"
