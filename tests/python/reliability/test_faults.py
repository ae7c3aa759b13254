"""Fault injection: SIGKILL in the middle of a long stage, then a rerun, gives the results of an
uninterrupted run (F3: `radnomo preprocess`; F4, slow: every long stage of `radnomo run` —
preprocess, radiomics, deep, stats — killed in turn, then finished; the report also shows the
excluded patient at the top, I14).

F4 runs with ``RADNOMO_SLOW=1`` (``make test-reliability``): about 5 minutes on 2 cores.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from rel_helpers import RADNOMO, features, run_process, slow, write_cohort


def _kill_when(cmd, ready, timeout=600.0) -> str:
    """Start ``cmd``, SIGKILL it as soon as ``ready(lines)`` is true; return what it printed."""
    proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, TZ="UTC"))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(ln.rstrip("\n") for ln in proc.stdout), daemon=True)
    reader.start()
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            if ready(list(lines)):
                assert proc.poll() is None, "the command ended before it could be killed:\n" + "\n".join(lines)
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return "\n".join(lines)
            if proc.poll() is not None:
                raise AssertionError("the command ended before it could be killed:\n" + "\n".join(lines))
            time.sleep(0.1)
        raise AssertionError("timed out waiting to kill:\n" + "\n".join(lines))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _entries(folder: Path) -> int:
    return len(list(folder.glob("p*.json"))) if folder.exists() else 0


def _arrays(folder: Path) -> dict[str, np.ndarray]:
    return {p.relative_to(folder).as_posix(): sitk.GetArrayFromImage(sitk.ReadImage(str(p)))
            for p in sorted(folder.rglob("*.nii.gz"))}


def _table(path: Path, drop=("second", "time")) -> pd.DataFrame:
    df = pd.read_csv(path)
    return df[[c for c in df.columns if not any(d in c.lower() for d in drop)]]


# --------------------------------------------------------------------------------- F3 preprocess ---

def test_F3_preprocess_killed_then_rerun_equals_uninterrupted(tmp_path):
    manifest = write_cohort(tmp_path / "c", ids=[f"P{i}" for i in range(5)], size=(40, 40, 24))
    args = ["preprocess", manifest, "--reference", "pvp", "--workers", 1, "--no-progress"]
    ref = run_process(*args, "--out", tmp_path / "ref")
    assert ref.returncode == 0, ref.stderr
    out = tmp_path / "run"
    _kill_when([RADNOMO, *args, "--out", out], lambda _: _entries(out / ".cache") >= 2)
    assert not (out / "manifest.csv").exists()  # killed mid-stage
    done = _entries(out / ".cache")
    r = run_process(*args, "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"({done} from cache)" in r.stdout
    pd.testing.assert_frame_equal(pd.read_csv(out / "manifest.csv"), pd.read_csv(tmp_path / "ref" / "manifest.csv"))
    pd.testing.assert_frame_equal(_table(out / "qc.csv"), _table(tmp_path / "ref" / "qc.csv"))
    a, b = _arrays(out), _arrays(tmp_path / "ref")
    assert sorted(a) == sorted(b) and len(a) == 20
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ------------------------------------------------------------------------------- F4 whole study ---

STUDY = {
    "preprocess": {"registration_iterations": 20, "registration_sampling": 0.05, "n4": False},
    "radiomics": {"params": {"imageType": {"Original": {}}, "featureClass": {
        "shape": None, "firstorder": None, "glcm": ["Contrast", "JointEntropy", "Idm", "Correlation"]},
        "setting": {"normalize": True, "normalizeScale": 100, "binWidth": 25, "voxelArrayShift": 300, "label": 1}}},
    "deep": {"weights_fallback": "none", "gradcam_patients": 1, "threads": 1,
             "train": {"epochs": 2, "batch_size": 8, "weights": "none"},
             "slices": {"image_size": 32, "max_slices_per_patient": 2}},
    "stats": {"B": 20, "nfolds": 3, "clinical_alpha": 0.1, "score": "lasso"},
    "validation": {"enabled": False},
    "report": {"shap_patients": 1},
}


@pytest.fixture(scope="module")
def study_cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("study")
    r = run_process("synth", "--out", root / "cohort", "--n", 40, "--size", "tiny", "--no-progress", "--workers", 2)
    assert r.returncode == 0, r.stderr
    clin = pd.read_csv(root / "cohort" / "clinical.csv", dtype={"patient_id": str})
    clin[clin.patient_id != "P0005"].to_csv(root / "cohort" / "clinical.csv", index=False)  # one excluded
    cfg = {"data": {"manifest": str(root / "cohort" / "manifest.csv"), "clinical": str(root / "cohort" / "clinical.csv")},
           **STUDY}
    (root / "study.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return root


def _stage_started(name: str):
    return lambda lines: any(ln.startswith(f"[{name}] running") for ln in lines)


@slow
def test_F4_study_killed_in_every_long_stage_then_rerun_equals_uninterrupted(study_cohort):
    root = study_cohort
    cmd = ["run", root / "study.yaml", "--quiet", "--workers", 2]
    ref = run_process(*cmd, "--out", root / "ref", timeout=1800)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    out = root / "run"
    t = {}

    def after(name, seconds, cond=lambda: True):
        def ready(lines):
            if not _stage_started(name)(lines):
                return False
            t.setdefault(name, time.monotonic())
            return time.monotonic() - t[name] >= seconds and cond()
        return ready

    kills = {
        "preprocess": after("preprocess", 0, lambda: _entries(out / "preprocess" / ".cache") >= 3),
        "radiomics": after("radiomics", 0, lambda: _entries(out / "radiomics" / "radiomics.parquet.cache") >= 3),
        "deep": after("deep", 8),
        "stats": after("stats", 2),
    }
    for stage, ready in kills.items():
        printed = _kill_when([RADNOMO, *cmd, "--out", out], ready)
        assert f"[{stage}] done" not in printed, f"{stage} finished before the kill"
        assert not (out / stage / "stage.json").exists()
    r = run_process(*cmd, "--out", out, timeout=1800)
    assert r.returncode == 0, r.stdout + r.stderr
    # the same results as the uninterrupted run
    for rel in ("split/split.csv", "preprocess/manifest.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / rel), pd.read_csv(root / "ref" / rel), obj=rel)
    a, b = _arrays(out / "preprocess"), _arrays(root / "ref" / "preprocess")
    assert sorted(a) == sorted(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    for rel in ("radiomics/radiomics.parquet", "deep/deep.parquet"):
        pd.testing.assert_frame_equal(features(out / rel), features(root / "ref" / rel), obj=rel)
    tables = sorted(p.name for p in (root / "ref" / "report" / "tables").glob("*.csv"))
    assert "metrics.csv" in tables and "nomogram_coefficients.csv" in tables or "rad_score_coefficients.csv" in tables
    for name in tables:
        pd.testing.assert_frame_equal(_table(out / "report" / "tables" / name),
                                      _table(root / "ref" / "report" / "tables" / name), obj=name)
    # I14: the excluded patient is counted at the top of the report
    html = (out / "report" / "report.html").read_text(encoding="utf-8")
    box = html[html.index("id='warnings'"):]
    assert "1 of 40 patient(s) excluded" in box[:5000] and "P0005 (no row in the clinical table)" in box[:5000]
    assert html.index("id='warnings'") < html.index("<h2")
