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


#: Patients of the demo the test session runs (``RADNOMO_TEST_DEMO_N``).
DEMO_N = int(os.environ.get("RADNOMO_TEST_DEMO_N", "60"))


def demo_missing() -> str | None:
    """Why the demo cannot run here (``None`` when it can): R with the radnomo R package
    (fit_study), PyRadiomics and torch are needed."""
    try:
        from radnomo.stats.session import r_namespace

        ns = r_namespace()
        ns.find("fit_study")
    except (ImportError, LookupError) as exc:  # no R / rpy2 / radnomo R package (MissingDependencyError), or an old one
        return f"R / radnomo R package with fit_study not available: {exc}"
    for mod in ("radiomics", "torch", "torchvision"):
        try:
            __import__(mod)
        except ImportError:
            return f"{mod} not installed"
    return None


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The demo end to end (synthetic cohort -> report), run once per test session and shared by
    the demo tests (tests/python/pipeline/test_demo.py) and the browser tests of its report
    (tests/python/report/test_browser_demo.py). ``RADNOMO_TEST_DEMO_DIR``: keep it in that folder
    (reruns then reuse every finished stage). Skipped where R, PyRadiomics or torch are missing."""
    why = demo_missing()
    if why:
        pytest.skip(why)
    from radnomo.pipeline.demo import run_demo

    keep = os.environ.get("RADNOMO_TEST_DEMO_DIR")
    out = Path(keep) if keep else tmp_path_factory.mktemp("demo")
    return run_demo(out, n=DEMO_N, workers=2, progress=False, log=lambda m: None)
