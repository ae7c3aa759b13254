"""`radnomo doctor`: check the installation and say how to fix what is missing."""

from __future__ import annotations

import sys

import click

from radnomo.cli.guard import command
from radnomo.runtime import package_version

REQUIRED_PY = ("numpy", "pandas", "pyarrow", "SimpleITK", "rpy2")
OPTIONAL_PY = ("torch", "torchvision", "shap", "dask", "distributed")


def collect() -> tuple[list[tuple[str, str]], list[str]]:
    """Return (rows of (what, value), problems)."""
    rows: list[tuple[str, str]] = [("Python", sys.version.split()[0])]
    problems: list[str] = []
    for name in REQUIRED_PY:
        v = package_version(name)
        rows.append((name, v or "MISSING"))
        if v is None:
            problems.append(f"Python package {name} is missing: run 'make setup' (or pip install -r requirements.txt)")
    pyrad = package_version("pyradiomics-bhklab") or package_version("pyradiomics")
    rows.append(("PyRadiomics", pyrad or "MISSING"))
    if pyrad is None:
        problems.append("PyRadiomics is missing: pip install pyradiomics-bhklab (see requirements.txt)")
    for name in OPTIONAL_PY:
        rows.append((name, package_version(name) or "not installed (optional)"))
    try:
        from radnomo.runtime import resolve_device

        dev = resolve_device("auto")
        if dev == "cuda":
            import torch

            dev = f"cuda ({torch.cuda.get_device_name(0)})"
        rows.append(("compute device", dev))
    except Exception as exc:  # pragma: no cover - depends on torch install
        rows.append(("compute device", f"unknown ({exc})"))
    try:
        from radnomo.stats.session import r_package_versions, r_version

        versions = r_package_versions()
        rows.append(("R", (r_version() or "radnomo R package not loadable").replace("R version ", "")))
        for pkg in ("radnomo", "glmnet", "rms", "pROC"):
            rows.append((f"R: {pkg}", versions.get(pkg) or "MISSING"))
            if versions.get(pkg) is None:
                fix = ("R CMD INSTALL . (in the radnomo repository), or 'make setup'" if pkg == "radnomo"
                       else f"apt-get install r-cran-{pkg.lower()} (or 'make setup')")
                problems.append(f"R package {pkg} is missing: {fix}")
        for pkg in ("rmda", "arrow"):
            rows.append((f"R: {pkg}", versions.get(pkg) or "not installed (optional)"))
    except Exception as exc:
        rows.append(("R", f"NOT AVAILABLE ({exc})"))
        problems.append("R could not be started through rpy2: install R (apt-get install r-base-core) and "
                        "rpy2==3.5.17, or run 'make setup'")
    return rows, problems


@command()
def doctor():
    """Check Python, R, rpy2, PyRadiomics, torch, the compute device and R packages.

    Exits with status 1 and says what to do when something required is missing.
    """
    rows, problems = collect()
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        click.echo(f"{k.ljust(width)}  {v}")
    if problems:
        click.echo("\nProblems:", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
        sys.exit(1)
    click.echo("\nAll required components are present.")
