"""Tiny synthetic multi-phase cases for preprocessing tests (made here, no external data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

PHASES = ("t2", "ap", "pvp", "dp")
#: Mean intensity (organ, lesion) per phase: different contrasts, so mutual information matters.
CONTRAST = {"t2": (300.0, 600.0), "ap": (400.0, 700.0), "pvp": (500.0, 350.0), "dp": (450.0, 400.0)}


def phantom(phase: str, *, size=(40, 40, 20), spacing=(1.5, 1.5, 2.5), shift_mm=(0.0, 0.0, 0.0),
            bias: bool = False, seed: int = 0) -> tuple[sitk.Image, sitk.Image]:
    """An ellipsoidal 'organ' with a spherical 'lesion', shifted by ``shift_mm`` (physical, x y z).

    Returns (image, lesion mask), both on the same grid (origin 0, identity direction).
    """
    rng = np.random.default_rng(seed)
    nx, ny, nz = size
    z, y, x = np.meshgrid(np.arange(nz) * spacing[2], np.arange(ny) * spacing[1], np.arange(nx) * spacing[0],
                          indexing="ij")
    cx, cy, cz = nx * spacing[0] / 2 + shift_mm[0], ny * spacing[1] / 2 + shift_mm[1], nz * spacing[2] / 2 + shift_mm[2]
    organ = ((x - cx) / 24) ** 2 + ((y - cy) / 20) ** 2 + ((z - cz) / 18) ** 2 <= 1
    lesion = ((x - cx - 6) ** 2 + (y - cy + 3) ** 2 + (z - cz) ** 2) <= 7.0 ** 2
    bright, lesion_v = CONTRAST[phase]
    arr = np.full(x.shape, 60.0)
    arr[organ] = bright
    arr[lesion] = lesion_v
    # an off-centre rod so that rotations/translations are well defined
    rod = ((x - cx + 14) ** 2 + (y - cy - 8) ** 2 <= 3.0 ** 2) & (np.abs(z - cz) < 12)
    arr[rod] = 900.0
    arr = arr + rng.normal(0, 10, arr.shape)
    if bias:
        arr = arr * np.exp(0.4 * (x / x.max() - 0.5))
    img = sitk.GetImageFromArray(arr.astype(np.float32))
    img.SetSpacing(spacing)
    msk = sitk.GetImageFromArray(lesion.astype(np.uint8))
    msk.SetSpacing(spacing)
    return img, msk


def write_cohort(root: Path, n: int = 2, *, shifts=None, fmt: str = ".nii.gz") -> Path:
    """Write ``n`` patients x 4 phases; phase ``ap`` shifted by ``shifts[i]`` mm. Returns manifest.csv."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        pid = f"P{i + 1:02d}"
        row = {"patient_id": pid, "label": i % 2, "split": "train" if i % 2 == 0 else "test", "age": 50 + i}
        for phase in PHASES:
            shift = (shifts[i] if shifts else (0.0, 0.0, 0.0)) if phase == "ap" else (0.0, 0.0, 0.0)
            img, msk = phantom(phase, shift_mm=shift, seed=i * 10 + PHASES.index(phase))
            (root / pid).mkdir(exist_ok=True)
            sitk.WriteImage(img, str(root / pid / f"{phase}{fmt}"))
            sitk.WriteImage(msk, str(root / pid / f"{phase}_mask{fmt}"))
            row[f"{phase}_image"] = f"{pid}/{phase}{fmt}"
            row[f"{phase}_mask"] = f"{pid}/{phase}_mask{fmt}"
        rows.append(row)
    path = root / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def cohort_dir(tmp_path) -> Path:
    return write_cohort(tmp_path / "raw", n=2, shifts=[(3.0, -2.0, 0.0), (0.0, 2.0, 2.5)])
