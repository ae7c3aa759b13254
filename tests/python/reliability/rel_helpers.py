"""Helpers of the reliability suite (issue 12): tiny cohorts, CLI runners, assertions.

Every case runs a ``radnomo`` command the way a careless or hostile user would and
checks four things: the exit code, the message (one line naming what is wrong,
no Python traceback), that the other patients went on, and that finished work
(an earlier good output in the same place) was neither lost nor changed.

``RADNOMO_SLOW=1`` (``make test-reliability``) runs the slow cases too (whole-study
fault injection); without it they are skipped and ``make test`` runs the rest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
STUDY_CONFIG = REPO / "pipelines" / "hcc_recurrence" / "config.yaml"
RADNOMO = Path(sys.executable).parent / "radnomo"
SLOW = os.environ.get("RADNOMO_SLOW") == "1"

def slow(test):
    """Mark a case slow: it runs only with RADNOMO_SLOW=1 (make test-reliability); otherwise it is
    deselected (tests/python/conftest.py), not skipped."""
    return pytest.mark.slow(pytest.mark.extended(test))

SEQS = ("ap", "pvp")

#: A small PyRadiomics parameter set: first order + three GLCM features on the original image.
PARAMS = """\
imageType:
  Original: {}
featureClass:
  firstorder: [Mean, Energy, Entropy, Maximum]
  glcm: [Contrast, JointEntropy, Idm]
setting:
  binWidth: 10
  label: 1
"""


# ----------------------------------------------------------------------------- images ---

def image_arrays(seed: int, size=(16, 16, 12), roi=((3, 9), (4, 12), (4, 12))):
    """A noisy image with a brighter box ROI (z, y, x arrays) and its mask."""
    rng = np.random.default_rng(seed)
    arr = rng.normal(100.0, 15.0, size[::-1]).astype(np.float32)
    m = np.zeros(size[::-1], np.uint8)
    (z0, z1), (y0, y1), (x0, x1) = roi
    m[z0:z1, y0:y1, x0:x1] = 1
    arr[m == 1] += 40 + rng.normal(0, 10, int(m.sum()))
    return arr, m


def write_image(arr, path: Path, spacing=(1.0, 1.0, 1.0), like: sitk.Image | None = None) -> sitk.Image:
    img = sitk.GetImageFromArray(arr)
    if like is not None:
        img.CopyInformation(like)
    else:
        img.SetSpacing(tuple(spacing)[: img.GetDimension()])
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(path))
    return img


def write_case(root: Path, pid: str, seq: str, seed: int, *, spacing=(1.0, 1.0, 1.0), size=(16, 16, 12),
               folder: str | None = None) -> tuple[str, str]:
    """Write one patient's sequence (NRRD image + mask); return their paths relative to ``root``."""
    arr, m = image_arrays(seed, size)
    d = folder or f"img_{pid}".replace("/", "_")
    img = write_image(arr, root / d / f"{seq}.nrrd", spacing)
    write_image(m, root / d / f"{seq}_mask.nrrd", like=img)
    return f"{d}/{seq}.nrrd", f"{d}/{seq}_mask.nrrd"


def write_cohort(root: Path, ids=("C1", "C2", "C3"), seqs=SEQS, **kw) -> Path:
    """A tiny cohort (``ids`` x ``seqs``, 16x16x12 voxels) with labels and a manifest.csv."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, pid in enumerate(ids):
        row = {"patient_id": pid, "label": i % 2}
        for j, s in enumerate(seqs):
            row[f"{s}_image"], row[f"{s}_mask"] = write_case(root, pid, s, seed=100 * i + j, **kw)
        rows.append(row)
    path = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def edit_manifest(path: Path, fn) -> Path:
    """Rewrite a manifest CSV through ``fn(DataFrame) -> DataFrame``."""
    df = pd.read_csv(path, dtype={"patient_id": str})
    fn(df).to_csv(path, index=False)
    return path


# ---------------------------------------------------------------------------- running ---

def cli(*args, input=None, env=None):
    """Run ``radnomo ARGS`` in this process (click's runner). An exception that radnomo does not turn
    into a clean error propagates and fails the test (a traceback is never an acceptable answer)."""
    from radnomo.cli import main

    res = CliRunner().invoke(main, [str(a) for a in args], input=input, env=env, catch_exceptions=False)
    return res


def run_process(*args, env=None, timeout=300, **kw) -> subprocess.CompletedProcess:
    """Run the installed ``radnomo`` console script in a child process."""
    e = dict(os.environ, TZ="UTC", MPLBACKEND="Agg")
    e.update(env or {})
    return subprocess.run([str(RADNOMO), *map(str, args)], capture_output=True, text=True, env=e, timeout=timeout,
                          **kw)


def assert_clean_error(text: str, *needles: str, rc: int | None = None, got_rc: int | None = None) -> None:
    """``text`` is a clean error: no traceback, an ``Error:`` line, and every needle in it."""
    assert "Traceback" not in text, text
    assert 'File "' not in text, text
    for n in needles:
        assert n in text, f"{n!r} not in:\n{text}"
    if rc is not None:
        assert got_rc == rc, f"exit status {got_rc}, expected {rc}:\n{text}"


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` (lock files excluded)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def features(path: Path) -> pd.DataFrame:
    from radnomo.io.tables import read_feature_table

    return read_feature_table(path)[0].set_index("patient_id")


# ---------------------------------------------------------------------------- fixtures ---

@pytest.fixture(scope="session")
def params_yaml(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("params") / "small.yaml"
    p.write_text(PARAMS, encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def good(tmp_path_factory, params_yaml):
    """A finished extraction of the tiny cohort: ``{"root", "manifest", "out", "table"}`` (read-only use:
    copy it with :func:`finished_copy`)."""
    root = tmp_path_factory.mktemp("good")
    manifest = write_cohort(root / "cohort")
    out = root / "out" / "radiomics.parquet"
    res = cli("extract", "radiomics", manifest, "--params", params_yaml, "--out", out, "--workers", 1,
              "--no-progress")
    assert res.exit_code == 0, res.output
    return {"root": root, "manifest": manifest, "out": out, "table": features(out)}


@pytest.fixture
def finished(good, tmp_path):
    """A private copy of the finished extraction (cohort + outputs) in ``tmp_path``."""
    shutil.copytree(good["root"], tmp_path / "w")
    root = tmp_path / "w"
    return {"root": root, "manifest": root / "cohort" / "manifest.csv", "out": root / "out" / "radiomics.parquet",
            "outdir": root / "out", "table": good["table"], "before": snapshot(root / "out")}


def assert_unchanged(before: dict, folder: Path, keep=None) -> None:
    """Every file of ``before`` (optionally only those in ``keep``) is still there, byte-identical."""
    now = snapshot(folder)
    for rel, digest in before.items():
        if keep is not None and rel not in keep:
            continue
        assert now.get(rel) == digest, f"{rel} was lost or changed"


def assert_same_features(table: pd.DataFrame, reference: pd.DataFrame, ids) -> None:
    """The patients ``ids`` have exactly the reference's feature values."""
    for pid in ids:
        assert pid in table.index, f"patient {pid} missing from the table"
        pd.testing.assert_series_equal(table.loc[pid], reference.loc[pid], check_names=False)
