"""The package as installed from a wheel (not the source tree) finds its study configurations, the
report's templates and the reporting checklists' item lists.

Builds a wheel from a copy of the sources (``pip wheel --no-deps --no-build-isolation``),
installs it into a fresh virtual environment that sees the project environment's
dependencies (a ``.pth`` line naming its site-packages; the editable radnomo there is
*not* activated, since nested ``.pth`` files are not processed), and runs from a
temporary folder with ``PYTHONPATH`` unset: ``radnomo demo --help``, the shipped
study configuration and the demo's configuration must load from the installed files.
The full ``radnomo demo`` from a wheel is run by hand (NOTES.md), not here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _run(cmd, cwd, env=None, timeout=600):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of the fresh environment, its bin folder, a clean environment for subprocesses)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "python", src / "python",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["TZ"] = "UTC"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", root / "dist", src], cwd=root, env=env)
    wheels = list((root / "dist").glob("radnomo-*.whl"))
    assert len(wheels) == 1, wheels

    venv = root / "venv"
    base = Path(getattr(sys, "_base_executable", sys.executable))
    _run([base, "-m", "venv", "--without-pip", venv], cwd=root, env=env)
    py = venv / "bin" / "python"
    purelib = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root, env=env)
                   .strip())
    # the project environment's dependencies, after the fresh environment's own site-packages
    (purelib / "_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", py, "install", "--no-deps", "--no-index", "-q", wheels[0]],
         cwd=root, env=env)
    work = root / "cwd"
    work.mkdir()
    return py, venv / "bin", env, work, purelib


def test_the_wheel_holds_the_study_configs_and_no_empty_data(installed):
    py, _, env, work, purelib = installed
    files = sorted(p.relative_to(purelib / "radnomo").as_posix() for p in (purelib / "radnomo").rglob("*.yaml"))
    assert files == ["report/checklists_data/clear.yaml", "report/checklists_data/metrics.yaml",
                     "report/checklists_data/tripod_ai.yaml", "studies/hcc_recurrence/config.yaml",
                     "studies/hcc_recurrence/demo.yaml", "studies/hcc_recurrence/radiomics.yaml"]
    assert not (purelib / "radnomo" / "data").exists()


def test_installed_package_finds_its_study_configs(installed):
    py, _, env, work, purelib = installed
    code = (
        "import radnomo, radnomo.studies as s\n"
        "from radnomo.pipeline.config import load_config, study_config_path\n"
        "from radnomo.pipeline.demo import demo_config, demo_config_path\n"
        "print(radnomo.__file__)\n"
        "cfg = load_config(study_config_path())\n"
        "assert len(cfg.data.clinical_variables) == 22, cfg.data.clinical_variables\n"
        "assert cfg.resolve(cfg.radiomics.params).is_file()\n"
        "demo = demo_config('m.csv', 'c.csv')\n"
        "assert demo.deep.train.epochs == 1 and demo_config_path().parent == study_config_path().parent\n"
        "print(study_config_path())\n"
    )
    out = _run([py, "-c", code], cwd=work, env=env).splitlines()
    assert out[0].startswith(str(purelib)), out  # the installed package, not the source tree
    assert out[1] == str(purelib / "radnomo" / "studies" / "hcc_recurrence" / "config.yaml")


def test_installed_console_script_runs(installed):
    _, bindir, env, work, _ = installed
    out = _run([bindir / "radnomo", "demo", "--help"], cwd=work, env=env)
    assert "--seed" in out and "studies/hcc_recurrence" in out
    assert "radnomo" in _run([bindir / "radnomo", "--version"], cwd=work, env=env)


def test_the_wheel_holds_the_report_templates_and_checklists(installed):
    """The report's templates and the checklists' data are package data: the installed package
    renders a page and fills the three checklists from its own files."""
    py, bindir, env, work, purelib = installed
    report = purelib / "radnomo" / "report"
    templates = sorted(p.name for p in (report / "templates").iterdir())
    assert templates == ["macros.html.j2", "report.css", "report.html.j2"]
    code = (
        "import radnomo.report.templating as t, radnomo.report.checklists as c\n"
        "assert t.TEMPLATE_DIR.is_relative_to(__import__('pathlib').Path(c.__file__).parent)\n"
        "page = t.render_report({'title': 'Wheel', 'checklists': c.checklist_context(c.RunFacts())})\n"
        "assert '<h1>Wheel</h1>' in page and 'TRIPOD+AI' in page and 'METRICS' in page\n"
        "print(len(c.TRIPOD_AI), len(c.CLEAR), len(c.METRICS), t.__file__)\n"
    )
    out = _run([py, "-c", code], cwd=work, env=env).split()
    assert out[:3] == ["52", "58", "30"] and out[3].startswith(str(purelib))
    assert "--pdf" in _run([bindir / "radnomo", "report", "--help"], cwd=work, env=env)
