"""Shared pytest fixtures for radnomo's Python tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TZ", "UTC")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config, items):
    """Tests marked ``extended`` (minutes each) run only with RADNOMO_SLOW=1; otherwise they are
    deselected — reported as deselected, not as skipped tests."""
    if os.environ.get("RADNOMO_SLOW") == "1":
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("extended") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
#: Reference data shipped with the repository (public data and other software's outputs);
#: sources and licences in tests/reference/PROVENANCE.md.
REFERENCE = REPO / "tests" / "reference"


def _reference_file(*parts: str) -> Path:
    """A file or folder of tests/reference; a missing one fails the calling test (never skips)."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"reference data missing: {path} (part of the repository; see "
                    "tests/reference/PROVENANCE.md)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def reference_file():
    """``reference_file("clinstats", "rmda", "dcaData.csv")``: a path in tests/reference that must exist."""
    return _reference_file


@pytest.fixture(scope="session")
def separating_study_frame():
    """The R tests' separating study (tests/testthat/helper-separation.R, ``separating_study()``):
    42 patients, 14 events, 8 deep columns sharing a strong latent signal, so that the plain
    refits separate (the demo's failure in issue 9). Sourced through the bridge's R."""
    import rpy2.robjects as ro

    from radnomo.stats import _convert as cv
    from radnomo.stats.session import r_namespace

    r_namespace()  # R started by the bridge (its environment handling)
    env = ro.r("new.env()")
    ro.r["sys.source"](str(REPO / "tests" / "testthat" / "helper-separation.R"), envir=env)
    return cv.from_r(env["separating_study"]())
