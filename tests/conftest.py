"""Shared fixtures. Matplotlib uses the Agg backend; seeds are fixed and printed by the tests.

Published validation data (datasets of the R packages clinicalsignificance and suddengains, the
IMPLEMENT alliance sessions) are not redistributed in this repository. Tests that compare against
them are marked ``validation`` and read them through the ``validation_file`` fixture from the folder
named by ``ANALYSIS_VALIDATION_DATA`` (default: ``../shared/data`` beside the checkout). Where the
folder is absent they are skipped with a message saying where to get the data; under CI
(``CI=true``) absence is a failure, so the project's own CI always runs them.

The project's reference document ``reference-values.md`` lives beside the validation data, in
``ANALYSIS_VALIDATION_DATA/../docs`` (default ``../shared/docs``); tests read it as
``validation_file("../docs/reference-values.md")``, so they are validation tests too.

No other test reads anything outside the repository (``tests/test_packaging.py`` checks).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
VALIDATION_DIR = Path(
    os.environ.get("ANALYSIS_VALIDATION_DATA", ROOT.parent / "shared" / "data")
).resolve()

#: Where a user can get each published dataset (its public source), by top folder.
WHERE_TO_GET = {
    "clinicalsignificance": "the R package clinicalsignificance (CRAN; GitHub "
    "pedscience/clinicalsignificance, GPL >= 3): claus_2020, jacobson_1989, hechler_2014",
    "flueckiger2016": "the IMPLEMENT trial data (Flueckiger et al. 2016), redistributed under MIT "
    "in GitHub PsychometricsMZ/dsem_tutorial, data/completedata.RDS",
    "suddengains": "the R package suddengains (CRAN; GitHub milanwiedemann/suddengains, MIT): "
    "example data sgdata",
    "reference-values": "the project's reference document docs/reference-values.md (the "
    "instruments' published values with sources), kept in the docs/ folder beside the "
    "validation data",
}

VALIDATION_MARKER_FIXTURES = ("validation_file", "claus_2020")


def _where(relpath: str) -> str:
    for key, text in WHERE_TO_GET.items():
        if key in relpath:
            return text
    return "the public repository named in the test's docstring"


def pytest_collection_modifyitems(config, items):
    """Every test that uses a validation-data fixture carries the ``validation`` marker."""
    for item in items:
        if set(VALIDATION_MARKER_FIXTURES) & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.validation)


_NOT_FOUND = "published validation data not found"


def _require(path: Path) -> Path:
    path = path.resolve()
    if path.exists():
        return path
    rel = str(path)
    msg = (
        f"{_NOT_FOUND}: {path}. This test compares the project's results "
        f"with published values on that dataset; get it from {_where(rel)} and point "
        "ANALYSIS_VALIDATION_DATA at the folder that holds it (default ../shared/data)."
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " Under CI the validation data must be present.")
    pytest.skip(msg)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """One line that says why the validation tests skipped, whatever their number, after the
    short summary (whose lines name each missing file and where to get it). An outer wrapper, so
    that it comes after the terminal reporter's own summary."""
    result = yield
    skipped = terminalreporter.stats.get("skipped", [])
    n = sum(_NOT_FOUND in str(getattr(r, "longrepr", "")) for r in skipped)
    if n:
        terminalreporter.write_line(
            f"{n} validation test(s) skipped: the published validation data are not in "
            f"{VALIDATION_DIR} (ANALYSIS_VALIDATION_DATA names the folder; README, 'Validation "
            "data'). No other test needs them."
        )
    return result


@pytest.fixture(scope="session")
def validation_file() -> Callable[..., Path]:
    """Return ``get(relpath)``: the path of a published validation file under
    ``ANALYSIS_VALIDATION_DATA``; skips the test (fails under ``CI=true``) when it is absent."""

    def get(relpath: str) -> Path:
        return _require(VALIDATION_DIR / relpath)

    return get


@pytest.fixture(scope="session")
def claus_2020(validation_file) -> pd.DataFrame:
    """claus_2020 from the R package clinicalsignificance (43 patients x 4 measurements)."""
    path = validation_file("real/clinicalsignificance_claus2020_jacobson1989/claus_2020.csv")
    return pd.read_csv(path)
