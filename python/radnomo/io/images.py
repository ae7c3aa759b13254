"""Reading and checking images and masks with SimpleITK.

Images may be single files (NIfTI ``.nii``/``.nii.gz``, NRRD ``.nrrd``/``.nhdr``,
MetaImage ``.mha``/``.mhd``, anything else SimpleITK reads) or a folder holding
a DICOM series (read with GDCM; when the folder holds several series, e.g.
a CT and its DICOM-SEG, the one with most files is used and a warning is logged; CT rescale slope/intercept is applied by
SimpleITK, so CT comes back in HU). Masks are label images on the same grid as
their image.

Every error is an :class:`~radnomo.errors.InputError` whose message names the
patient, the sequence and the file (see :class:`ImageContext`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path

#: Relative tolerance used when comparing image and mask geometry (fraction of
#: the voxel spacing for origins and spacings; absolute for direction cosines).
GEOMETRY_TOLERANCE = 1e-3
#: Plausible voxel spacings in mm (min, max); a spacing outside is an error (a wrong
#: header, e.g. metres or a unit-less 1e6). Medical images: ~0.05 mm (micro-CT) to ~10 mm (slices).
DEFAULT_SPACING_RANGE = (0.05, 20.0)
#: An ROI covering more than this share of its image's voxels gets a warning (an all-ones mask?).
DEFAULT_MAX_ROI_FRACTION = 0.5

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageContext:
    """Where an image comes from, used to word error messages.

    Attributes
    ----------
    patient_id, sequence : the case and sequence (``None`` when unknown).
    """

    patient_id: str | None = None
    sequence: str | None = None

    def where(self, path: str | Path | None = None, kind: str = "image") -> str:
        parts = []
        if self.patient_id is not None:
            parts.append(f"patient {self.patient_id!r}")
        if self.sequence is not None:
            parts.append(f"sequence {self.sequence!r}")
        if path is not None:
            parts.append(f"{kind} {path}")
        return ", ".join(parts) if parts else kind


def itk_reason(exc: BaseException) -> str:
    """The informative line of a SimpleITK/ITK exception text (its ``ITK ERROR:`` line, else the last)."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if "ITK ERROR" in ln:
            rest = ln.split("ITK ERROR:", 1)[-1].split("):", 1)[-1].strip()
            return " ".join([rest] + lines[i + 1:i + 2]).strip() or ln
    return lines[-1] if lines else type(exc).__name__


def _read_dicom_folder(path: Path, ctx: ImageContext, kind: str) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    series = reader.GetGDCMSeriesIDs(str(path))
    if not series:
        raise InputError(f"{ctx.where(path, kind)}: folder holds no DICOM series")
    files_by_series = {s: reader.GetGDCMSeriesFileNames(str(path), s) for s in series}
    counts = sorted((len(f) for f in files_by_series.values()), reverse=True)
    if len(counts) > 1 and counts[0] == counts[1]:
        raise InputError(
            f"{ctx.where(path, kind)}: folder holds {len(series)} DICOM series of the same size "
            f"{list(series)}; put each series in its own folder"
        )
    uid = max(files_by_series, key=lambda s: len(files_by_series[s]))
    if len(series) > 1:
        logging.getLogger(__name__).warning(
            "%s: folder holds %d DICOM series; using %s (%d files), the one with most files",
            ctx.where(path, kind), len(series), uid, len(files_by_series[uid]))
    files = files_by_series[uid]
    reader.SetFileNames(files)
    return reader.Execute()


def check_spacing(image: sitk.Image, spacing_range=DEFAULT_SPACING_RANGE, *, where: str = "image") -> None:
    """Raise :class:`InputError` when a voxel spacing is outside ``spacing_range`` (mm; ``None``: no check)."""
    if spacing_range is None:
        return
    lo, hi = float(spacing_range[0]), float(spacing_range[1])
    sp = list(image.GetSpacing())
    if not all(np.isfinite(sp)) or any(s < lo or s > hi for s in sp):
        raise InputError(f"{where}: voxel spacing {[float(f'{s:.6g}') for s in sp]} mm is outside the plausible "
                         f"range {lo:g}-{hi:g} mm (a wrong header or unit?); fix the file, or widen the range "
                         "(preprocess: spacing_range_mm / --spacing-range)")


def check_finite(image: sitk.Image, *, where: str = "image") -> None:
    """Raise :class:`InputError` naming the count when a floating-point image has NaN/Inf voxels."""
    arr = sitk.GetArrayViewFromImage(image)
    if np.issubdtype(arr.dtype, np.floating):
        bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        if bad:
            n_nan = int(np.count_nonzero(np.isnan(arr)))
            raise InputError(f"{where}: image contains {bad} NaN/Inf voxel(s) ({n_nan} NaN, {bad - n_nan} Inf) "
                             f"of {arr.size}; replace or mask them before using the image")


def check_volume(image: sitk.Image, *, where: str = "image", min_size: int = 4, purpose: str = "preprocessing") -> None:
    """Raise :class:`InputError` when ``image`` is not a 3-D volume with ``min_size`` voxels along every axis
    (e.g. a 2-D slice where the study expects a 3-D image)."""
    size = list(image.GetSize())
    if any(n < min_size for n in size):
        kind = "a 2-D image (a single slice)" if 1 in size and sum(n > 1 for n in size) == 2 else "too small"
        raise InputError(f"{where}: is {kind}, size {' x '.join(map(str, size))} voxels; {purpose} needs a 3-D "
                         f"volume with at least {min_size} voxels along every axis")


def read_image(path: str | Path, *, context: ImageContext | None = None, kind: str = "image",
               spacing_range=DEFAULT_SPACING_RANGE) -> sitk.Image:
    """Read an image file or a DICOM series folder.

    Parameters
    ----------
    path : file (NIfTI, NRRD, MHA, ...) or folder with one DICOM series.
    context : patient/sequence named in error messages.
    kind : word used in messages (``"image"`` or ``"mask"``).
    spacing_range : plausible voxel spacings (mm); ``None`` disables the check.

    Returns
    -------
    SimpleITK.Image, 3-D, with its physical geometry (spacing in mm, LPS). A 2-D
    image comes back as one slice (size 1 along z).

    Raises
    ------
    InputError
        Missing file, unreadable file, not a scalar image, NaN/Inf voxels,
        implausible spacing.
    """
    ctx = context or ImageContext()
    path = Path(path)
    if not path.exists():
        raise InputError(f"{ctx.where(path, kind)}: file not found")
    try:
        if path.is_dir():
            image = _read_dicom_folder(path, ctx, kind)
        else:
            image = sitk.ReadImage(str(path))
    except InputError:
        raise
    except Exception as exc:  # SimpleITK raises RuntimeError with ITK's text
        first = str(exc).strip().splitlines()
        reason = next((ln for ln in first if "ERROR" in ln or "Could not" in ln or "Unable" in ln),
                      first[-1] if first else type(exc).__name__)
        raise InputError(f"{ctx.where(path, kind)}: cannot be read as an image ({reason.strip()})") from exc
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{ctx.where(path, kind)}: has {image.GetNumberOfComponentsPerPixel()} "
                         "components per voxel; a scalar (grey-level or label) image is needed")
    if image.GetDimension() == 2:
        image = sitk.JoinSeries(image)
    if image.GetDimension() != 3:
        raise InputError(f"{ctx.where(path, kind)}: is {image.GetDimension()}-D; a 3-D image is needed")
    check_finite(image, where=ctx.where(path, kind))
    check_spacing(image, spacing_range, where=ctx.where(path, kind))
    return image


def read_mask(path: str | Path, *, label: int = 1, context: ImageContext | None = None,
              spacing_range=DEFAULT_SPACING_RANGE) -> sitk.Image:
    """Read a label image and check that ``label`` is present.

    Floating-point masks with integral values (some tools write them) are cast to
    an integer type; non-integral values are an error.

    Returns
    -------
    SimpleITK.Image of an integer pixel type.
    """
    ctx = context or ImageContext()
    mask = read_image(path, context=ctx, kind="mask", spacing_range=spacing_range)
    arr = sitk.GetArrayViewFromImage(mask)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(arr == np.round(arr)):
            raise InputError(f"{ctx.where(path, 'mask')}: mask has non-integer values; a label image is needed")
        mask = sitk.Cast(mask, sitk.sitkInt32)
        arr = sitk.GetArrayViewFromImage(mask)
    n = int(np.count_nonzero(arr == label))
    if n == 0:
        present = np.unique(arr)
        raise InputError(f"{ctx.where(path, 'mask')}: mask is empty for label {label} "
                         f"(labels present: {present[:10].tolist()})")
    return mask


def geometry(image: sitk.Image) -> dict:
    """Geometry of an image as plain lists: size (voxels), spacing (mm), origin (mm), direction."""
    return {"size": list(image.GetSize()), "spacing": list(image.GetSpacing()),
            "origin": list(image.GetOrigin()), "direction": list(image.GetDirection())}


def geometry_mismatch(image: sitk.Image, mask: sitk.Image, tolerance: float = GEOMETRY_TOLERANCE) -> list[str]:
    """Describe how ``mask``'s grid differs from ``image``'s (empty list: same grid).

    Origins and spacings are compared with a tolerance of ``tolerance`` × the
    image spacing; direction cosines with absolute tolerance ``tolerance``.
    """
    problems = []
    if image.GetSize() != mask.GetSize():
        problems.append(f"size {list(mask.GetSize())} vs image {list(image.GetSize())}")
        return problems
    sp = np.asarray(image.GetSpacing())
    if np.any(np.abs(np.asarray(mask.GetSpacing()) - sp) > tolerance * sp):
        problems.append(f"spacing {np.round(mask.GetSpacing(), 6).tolist()} mm vs image {np.round(sp, 6).tolist()} mm")
    if np.any(np.abs(np.asarray(mask.GetOrigin()) - np.asarray(image.GetOrigin())) > tolerance * sp):
        problems.append(f"origin {np.round(mask.GetOrigin(), 4).tolist()} mm vs image "
                        f"{np.round(image.GetOrigin(), 4).tolist()} mm")
    if np.any(np.abs(np.asarray(mask.GetDirection()) - np.asarray(image.GetDirection())) > tolerance):
        problems.append(f"direction {np.round(mask.GetDirection(), 4).tolist()} vs image "
                        f"{np.round(image.GetDirection(), 4).tolist()}")
    return problems


def check_geometry(image: sitk.Image, mask: sitk.Image, *, image_path=None, mask_path=None,
                   context: ImageContext | None = None, tolerance: float = GEOMETRY_TOLERANCE) -> None:
    """Raise :class:`InputError` when ``mask`` is not on ``image``'s grid."""
    problems = geometry_mismatch(image, mask, tolerance)
    if problems:
        ctx = context or ImageContext()
        raise InputError(f"{ctx.where(mask_path, 'mask')}: geometry does not match its image "
                         f"{image_path}: " + "; ".join(problems))


def roi_fraction(mask: sitk.Image, label: int = 1) -> float:
    """Share of the mask's voxels with value ``label`` (0-1)."""
    arr = sitk.GetArrayViewFromImage(mask)
    return float(np.count_nonzero(arr == label)) / max(arr.size, 1)


def roi_coverage_warning(mask: sitk.Image, label: int = 1, max_fraction: float | None = DEFAULT_MAX_ROI_FRACTION,
                         *, where: str = "mask") -> str | None:
    """A warning text when the ROI covers more than ``max_fraction`` of the image (``None``: no check)."""
    if max_fraction is None:
        return None
    frac = roi_fraction(mask, label)
    if frac > float(max_fraction):
        return (f"{where}: the ROI covers {100 * frac:.1f} % of the image (more than {100 * float(max_fraction):g} %); "
                "is this the lesion mask and not the whole field of view?")
    return None


def read_image_and_mask(image_path: str | Path, mask_path: str | Path, *, label: int = 1,
                        context: ImageContext | None = None, spacing_range=DEFAULT_SPACING_RANGE,
                        max_roi_fraction: float | None = DEFAULT_MAX_ROI_FRACTION) -> tuple[sitk.Image, sitk.Image]:
    """Read an image and its mask and check that the mask is non-empty and on the same grid.

    After a successful geometry check the mask gets the image's exact origin,
    spacing and direction (differences within tolerance are rounding noise), so
    that SimpleITK filters accept the pair. An ROI covering more than
    ``max_roi_fraction`` of the image is logged as a warning (``None``: no check).
    """
    ctx = context or ImageContext()
    image = read_image(image_path, context=ctx, kind="image", spacing_range=spacing_range)
    mask = read_mask(mask_path, label=label, context=ctx, spacing_range=spacing_range)
    check_geometry(image, mask, image_path=image_path, mask_path=mask_path, context=ctx)
    mask.CopyInformation(image)
    warning = roi_coverage_warning(mask, label, max_roi_fraction, where=ctx.where(mask_path, "mask"))
    if warning:
        _log.warning("%s", warning)
    return image, mask


def write_image(image: sitk.Image, path: str | Path, *, compress: bool = True) -> Path:
    """Write ``image`` atomically (format from the file suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        sitk.WriteImage(image, str(tmp), compress)
    return path


def roi_voxels(mask: sitk.Image, label: int = 1) -> int:
    """Number of voxels with value ``label``."""
    return int(np.count_nonzero(sitk.GetArrayViewFromImage(mask) == label))
