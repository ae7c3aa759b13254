"""Step 3: resample onto one isotropic grid (B-spline for images, nearest neighbour for masks)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk


def reference_grid(reference: sitk.Image, spacing: tuple[float, float, float]) -> sitk.Image:
    """An empty image of voxel size ``spacing`` (mm) covering ``reference``'s field of view.

    Same direction; the grid's outer voxel faces coincide with the reference's
    where the extent divides evenly (origin moved by half the spacing change).
    """
    old_sp = np.asarray(reference.GetSpacing(), float)
    new_sp = np.asarray(spacing, float)
    size = np.asarray(reference.GetSize(), float)
    new_size = np.maximum(1, np.ceil(size * old_sp / new_sp - 1e-6)).astype(int)
    direction = np.asarray(reference.GetDirection(), float).reshape(3, 3)
    origin = np.asarray(reference.GetOrigin(), float) + direction @ ((new_sp - old_sp) / 2.0)
    grid = sitk.Image([int(s) for s in new_size], sitk.sitkUInt8)
    grid.SetSpacing([float(s) for s in new_sp])
    grid.SetOrigin([float(o) for o in origin])
    grid.SetDirection(reference.GetDirection())
    return grid


def crop_grid(grid: sitk.Image, masks, margin_mm: float) -> tuple[sitk.Image, tuple[int, ...]]:
    """The sub-grid of ``grid`` around the non-zero voxels of ``masks``, plus ``margin_mm`` on each side.

    Parameters
    ----------
    grid : the full output grid.
    masks : one or more masks already resampled onto ``grid`` (their union is used).
    margin_mm : margin added to the bounding box on every side, in mm (rounded
        up to whole voxels per axis); the box is clipped to ``grid``.

    Returns
    -------
    (sub_grid, start_index): ``sub_grid`` has ``grid``'s spacing and direction and
    its voxel centres are exactly ``grid``'s voxels ``start_index ..
    start_index + size - 1`` (x, y, z order), so values resampled onto it equal
    the corresponding voxels resampled onto ``grid``. An all-empty union gives
    the whole grid back.
    """
    union = None
    for m in masks:
        arr = sitk.GetArrayViewFromImage(m) != 0
        union = arr.copy() if union is None else (union | arr)
    if union is None or not union.any():
        return grid, (0, 0, 0)
    size = np.asarray(grid.GetSize(), int)
    lo, hi = [], []
    for ax_np in (2, 1, 0):  # numpy axes (z, y, x) -> x, y, z
        other = tuple(a for a in range(3) if a != ax_np)
        idx = np.nonzero(union.any(axis=other))[0]
        lo.append(int(idx[0]))
        hi.append(int(idx[-1]))
    pad = np.ceil(float(margin_mm) / np.asarray(grid.GetSpacing(), float) - 1e-9).astype(int)
    start = np.maximum(0, np.asarray(lo) - pad)
    stop = np.minimum(size - 1, np.asarray(hi) + pad)
    new_size = stop - start + 1
    sub = sitk.Image([int(v) for v in new_size], sitk.sitkUInt8)
    sub.SetSpacing(grid.GetSpacing())
    sub.SetDirection(grid.GetDirection())
    sub.SetOrigin(grid.TransformIndexToPhysicalPoint([int(v) for v in start]))
    return sub, tuple(int(v) for v in start)


@dataclass(frozen=True)
class Resample:
    """Resample an image or mask onto ``grid`` through an optional transform.

    Parameters
    ----------
    spacing : target voxel size, mm.

    ``image(img, grid, transform)`` uses B-spline (3rd order) interpolation and
    returns float32; ``mask(msk, grid, transform)`` uses nearest neighbour and
    returns uint8. Voxels outside the source are 0.
    """

    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def grid(self, reference: sitk.Image) -> sitk.Image:
        return reference_grid(reference, self.spacing)

    def image(self, image: sitk.Image, grid: sitk.Image, transform: sitk.Transform | None = None) -> sitk.Image:
        tx = transform if transform is not None else sitk.Transform(3, sitk.sitkIdentity)
        return sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), grid, tx, sitk.sitkBSpline, 0.0, sitk.sitkFloat32)

    def mask(self, mask: sitk.Image, grid: sitk.Image, transform: sitk.Transform | None = None) -> sitk.Image:
        tx = transform if transform is not None else sitk.Transform(3, sitk.sitkIdentity)
        return sitk.Resample(mask, grid, tx, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)

    def record(self, grid: sitk.Image, *, full_grid: sitk.Image | None = None, crop_start=None,
               crop_margin_mm: float | None = None) -> dict:
        rec = {"spacing": list(self.spacing), "size": list(grid.GetSize()), "origin": list(grid.GetOrigin()),
               "image_interpolator": "BSpline", "mask_interpolator": "NearestNeighbor",
               "crop_margin_mm": crop_margin_mm}
        if full_grid is not None:
            rec.update(full_size=list(full_grid.GetSize()), full_origin=list(full_grid.GetOrigin()),
                       crop_start_index=list(crop_start) if crop_start is not None else [0, 0, 0])
        return rec
