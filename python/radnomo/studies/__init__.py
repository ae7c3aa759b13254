"""Study configurations shipped with radnomo (package data).

Each study is a folder ``radnomo/studies/<name>/`` holding ``config.yaml`` (every
setting of the study), the radiomics parameters it names and, for the reference
study, ``demo.yaml`` (the lighter settings ``radnomo demo`` merges in). They are
installed with the package, so ``radnomo demo`` and the report's list of
deviations from the study work from a wheel as from the source tree.

The repository's ``pipelines/hcc_recurrence/`` holds the same files next to the
study's README (a test keeps the copies identical).
"""

from __future__ import annotations

from pathlib import Path

from radnomo.errors import InputError

#: The reference study: early recurrence of HCC after thermal ablation.
REFERENCE_STUDY = "hcc_recurrence"

_ROOT = Path(__file__).resolve().parent


def available() -> list[str]:
    """Names of the shipped studies."""
    return sorted(p.parent.name for p in _ROOT.glob("*/config.yaml"))


def study_dir(name: str = REFERENCE_STUDY) -> Path:
    """The folder of shipped study ``name``."""
    d = _ROOT / name
    if not (d / "config.yaml").is_file():
        raise InputError(f"no study {name!r} in this radnomo installation ({_ROOT}); available: {available()}")
    return d


def find_study_file(name: str = REFERENCE_STUDY, file: str = "config.yaml") -> Path | None:
    """A file of shipped study ``name``, or ``None`` when this installation lacks it."""
    p = _ROOT / name / file
    return p if p.is_file() else None


def study_file(name: str = REFERENCE_STUDY, file: str = "config.yaml") -> Path:
    """A file of shipped study ``name`` (``config.yaml``, ``demo.yaml``, ``radiomics.yaml``)."""
    p = study_dir(name) / file
    if not p.is_file():
        raise InputError(f"study {name!r} has no {file} in this radnomo installation ({p.parent})")
    return p
