"""Helpers for feature tests: the reference-data location (tests/reference) and tiny synthetic cases."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk



REPO = Path(__file__).resolve().parents[3]
#: Reference data shipped with the repository; sources and licences in tests/reference/PROVENANCE.md.
REFERENCE = REPO / "tests" / "reference"


def reference_dir(*parts: str) -> Path:
    """A file or folder of tests/reference; a missing one fails the test (never skips)."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"reference data missing: {path} (part of the repository; see "
                    "tests/reference/PROVENANCE.md)", pytrace=False)
    return path


def tiny_case(root: Path, pid: str, seq: str, *, seed: int, size=(16, 16, 12), roi=((4, 10), (5, 12), (5, 12)),
              mean: float = 100.0) -> tuple[str, str]:
    """Write a small noisy image with a brighter box ROI; return (image, mask) paths relative to ``root``."""
    rng = np.random.default_rng(seed)
    arr = rng.normal(mean, 15.0, size[::-1]).astype(np.float32)
    m = np.zeros(size[::-1], np.uint8)
    (z0, z1), (y0, y1), (x0, x1) = roi
    m[z0:z1, y0:y1, x0:x1] = 1
    arr[m == 1] += 40 + rng.normal(0, 10, int(m.sum()))
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((1.0, 1.0, 1.0))
    msk = sitk.GetImageFromArray(m)
    msk.CopyInformation(img)
    (root / pid).mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(img, str(root / pid / f"{seq}.nrrd"))
    sitk.WriteImage(msk, str(root / pid / f"{seq}_mask.nrrd"))
    return f"{pid}/{seq}.nrrd", f"{pid}/{seq}_mask.nrrd"


def tiny_cohort(root: Path, n: int = 3, seqs=("ap", "pvp")) -> Path:
    rows = []
    for i in range(n):
        pid = f"C{i + 1}"
        row = {"patient_id": pid, "label": i % 2}
        for j, s in enumerate(seqs):
            row[f"{s}_image"], row[f"{s}_mask"] = tiny_case(root, pid, s, seed=100 * i + j)
        rows.append(row)
    path = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


#: A small parameter set (fast): original image, first order + GLCM.
SMALL_PARAMS = """\
imageType:
  Original: {}
featureClass:
  firstorder:
  glcm: [Contrast, JointEntropy, Idm]
setting:
  binWidth: 10
  label: 1
"""


@pytest.fixture
def small_params(tmp_path) -> Path:
    p = tmp_path / "small.yaml"
    p.write_text(SMALL_PARAMS, encoding="utf-8")
    return p
