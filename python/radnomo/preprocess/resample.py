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

    def record(self, grid: sitk.Image) -> dict:
        return {"spacing": list(self.spacing), "size": list(grid.GetSize()), "origin": list(grid.GetOrigin()),
                "image_interpolator": "BSpline", "mask_interpolator": "NearestNeighbor"}
