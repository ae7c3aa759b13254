"""A tiny synthetic cohort for the deep-feature tests, written as NIfTI.

Each patient has two sequences ("t2", "ap") of 6 x 32 x 32 voxels (k, j, i),
spacing 1 mm; the ROI is a disk of radius 8 voxels in slices 1-4 (slice 2 the
widest); label-1 patients have a bright 5 x 5 blob inside the ROI. Patients
p1-p4 are split "train", p5-p6 "test".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SHAPE = (6, 32, 32)


def synthetic_volume(label: int, rng: np.random.Generator, *, blob_center=(12, 12)):
    """(image, mask) arrays in (k, j, i) order; the blob (label 1) is centred at ``blob_center`` (j, i)."""
    k, j, i = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    radius = np.array([0, 6, 8, 7, 5, 0])[k]
    mask = ((j - 16) ** 2 + (i - 16) ** 2 <= radius ** 2) & (radius > 0)
    image = rng.normal(100.0, 5.0, SHAPE)
    image[mask] += 50.0
    if label == 1:
        bj, bi = blob_center
        blob = (np.abs(j - bj) <= 2) & (np.abs(i - bi) <= 2) & mask
        image[blob] += 150.0
    return image.astype(np.float32), mask.astype(np.uint8)


def write_cohort(folder: Path, labels=(0, 1, 0, 1, 0, 1), splits=("train",) * 4 + ("test",) * 2, seed=7) -> Path:
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    rows = []
    for n, (lab, split) in enumerate(zip(labels, splits), start=1):
        pid = f"p{n}"
        row = {"patient_id": pid, "label": lab, "split": split}
        for seq in ("t2", "ap"):
            img, msk = synthetic_volume(lab, rng)
            for kind, arr in (("image", img), ("mask", msk)):
                im = sitk.GetImageFromArray(arr)
                im.SetSpacing((1.0, 1.0, 1.0))
                rel = f"{pid}_{seq}_{kind}.nii.gz"
                sitk.WriteImage(im, str(folder / rel))
                row[f"{seq}_{kind}"] = rel
        rows.append(row)
    path = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path

