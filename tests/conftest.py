"""Shared fixtures. Matplotlib uses the Agg backend; seeds are fixed and printed by the tests."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ANALYSIS_SHARED_DIR", ROOT.parent / "shared"))
CLAUS_DIR = SHARED / "data" / "real" / "clinicalsignificance_claus2020_jacobson1989"


@pytest.fixture(scope="session")
def claus_2020() -> pd.DataFrame:
    """claus_2020 from the R package clinicalsignificance (43 patients x 4 measurements)."""
    path = CLAUS_DIR / "claus_2020.csv"
    if not path.exists():
        pytest.fail(f"shared validation data missing: {path}")
    return pd.read_csv(path)
