"""ROI slices for the deep-learning engine.

For each patient and sequence the preprocessed image is cut, layer by layer,
into the axial slices that contain ROI, as the reference study did for its
DenseNet-169 ("retain only the ROI region"):

1. **Slices**: every slice along the image's third axis (``k``, the axial
   direction for axially acquired MRI; SimpleITK arrays are ``(k, j, i)``)
   with at least ``min_roi_voxels`` ROI voxels. If ``max_slices_per_patient``
   is set and there are more, that many are taken evenly spaced from the
   first to the last ROI slice (deterministic). Which slices were used is
   recorded (:func:`sampling_table`).
2. **Intensity**: clipped to the ``intensity_percentiles`` of the ROI voxels
   of the whole volume and scaled to [0, 1].
3. **Crop**: one square field of view per patient and sequence, centred on
   the ROI's in-plane bounding box (union over all its slices), its side the
   larger box side plus ``margin_fraction`` of it on each side, square in
   millimetres (so anisotropic pixels keep their aspect). Parts outside the
   image are zero.
4. **ROI only**: voxels outside the ROI are set to 0.
5. **Resize** to ``image_size`` x ``image_size`` (bilinear with
   anti-aliasing; the mask by nearest neighbour).

:func:`to_network_input` then replicates the grey slice to three channels and
applies the ImageNet normalisation (mean 0.485/0.456/0.406, std
0.229/0.224/0.225, torchvision's ``IMAGENET1K_V1`` transforms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radnomo.errors import InputError

#: ImageNet channel statistics used by torchvision's pretrained DenseNet-169.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class SliceConfig:
    """How ROI slices are cut from a volume (see the module docstring).

    Parameters
    ----------
    image_size : side of the network input in pixels. The study used 224
        (DenseNet's ImageNet size); smaller sizes (>= 32) are for CPU demos and
        tests. DenseNet-169's pooled output stays 1664 values at any size.
    margin_fraction : context kept around the ROI's bounding box, as a fraction
        of the box side, on each side (default 0.1; the study does not state it).
    max_slices_per_patient : at most this many slices per patient and sequence,
        evenly spaced; ``None`` (default, the study) keeps every ROI slice.
    intensity_percentiles : lower/upper percentile (0-100) of ROI intensities
        mapped to 0 and 1.
    min_roi_voxels : a slice counts as an ROI slice with at least this many
        ROI voxels.
    """

    image_size: int = 224
    margin_fraction: float = 0.1
    max_slices_per_patient: int | None = None
    intensity_percentiles: tuple[float, float] = (0.5, 99.5)
    min_roi_voxels: int = 1

    def __post_init__(self):
        if not isinstance(self.image_size, int) or self.image_size < 32:
            raise InputError(f"image_size must be an integer >= 32 (DenseNet downsamples 32x), not {self.image_size!r}")
        if not (0.0 <= float(self.margin_fraction) <= 2.0):
            raise InputError(f"margin_fraction must be within [0, 2], not {self.margin_fraction!r}")
        if self.max_slices_per_patient is not None and (
            not isinstance(self.max_slices_per_patient, int) or self.max_slices_per_patient < 1
        ):
            raise InputError(f"max_slices_per_patient must be a positive integer or None, not {self.max_slices_per_patient!r}")
        lo, hi = (float(v) for v in self.intensity_percentiles)
        if not (0.0 <= lo < hi <= 100.0):
            raise InputError(f"intensity_percentiles must satisfy 0 <= low < high <= 100, not {self.intensity_percentiles!r}")
        object.__setattr__(self, "intensity_percentiles", (lo, hi))
        if not isinstance(self.min_roi_voxels, int) or self.min_roi_voxels < 1:
            raise InputError(f"min_roi_voxels must be a positive integer, not {self.min_roi_voxels!r}")

    def to_dict(self) -> dict:
        return {
            "image_size": self.image_size,
            "margin_fraction": float(self.margin_fraction),
            "max_slices_per_patient": self.max_slices_per_patient,
            "intensity_percentiles": list(self.intensity_percentiles),
            "min_roi_voxels": self.min_roi_voxels,
        }


@dataclass
class SliceStack:
    """The ROI slices of one patient and sequence.

    Attributes
    ----------
    images : ``(n, S, S)`` float32 in [0, 1], zero outside the ROI.
    masks : ``(n, S, S)`` bool ROI masks on the same grid.
    slice_index : ``(n,)`` index ``k`` of each slice in the original volume.
    roi_voxels : ``(n,)`` ROI voxels of each slice in the original volume.
    n_roi_slices : number of ROI slices before sampling.
    """

    patient_id: str
    sequence: str
    images: np.ndarray
    masks: np.ndarray
    slice_index: np.ndarray
    roi_voxels: np.ndarray
    n_roi_slices: int
    label: int | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def sample_slice_indices(roi_slices: np.ndarray, max_slices: int | None) -> np.ndarray:
    """Evenly spaced subset (first and last included) of ``roi_slices``; all if ``max_slices`` is None."""
    roi_slices = np.asarray(roi_slices, dtype=int)
    if max_slices is None or len(roi_slices) <= max_slices:
        return roi_slices
    pos = np.unique(np.round(np.linspace(0, len(roi_slices) - 1, max_slices)).astype(int))
    return roi_slices[pos]


def _square_box(mask3d: np.ndarray, spacing_ji: tuple[float, float], margin: float):
    """Square (in mm) field of view around the in-plane ROI bounding box: ((j0, j1), (i0, i1))."""
    any_j = np.flatnonzero(mask3d.any(axis=(0, 2)))
    any_i = np.flatnonzero(mask3d.any(axis=(0, 1)))
    sj, si = spacing_ji
    cj = 0.5 * (any_j[0] + any_j[-1])
    ci = 0.5 * (any_i[0] + any_i[-1])
    ext_mm = max((any_j[-1] - any_j[0] + 1) * sj, (any_i[-1] - any_i[0] + 1) * si)
    side_mm = ext_mm * (1.0 + 2.0 * margin)
    nj = max(1, int(round(side_mm / sj)))
    ni = max(1, int(round(side_mm / si)))
    j0 = int(round(cj - (nj - 1) / 2.0))
    i0 = int(round(ci - (ni - 1) / 2.0))
    return (j0, j0 + nj), (i0, i0 + ni)


def _crop(arr: np.ndarray, box) -> np.ndarray:
    """Crop ``arr`` (k, j, i) to ``box`` in (j, i); zero where the box leaves the image."""
    (j0, j1), (i0, i1) = box
    out = np.zeros((arr.shape[0], j1 - j0, i1 - i0), dtype=arr.dtype)
    sj0, sj1 = max(j0, 0), min(j1, arr.shape[1])
    si0, si1 = max(i0, 0), min(i1, arr.shape[2])
    if sj1 > sj0 and si1 > si0:
        out[:, sj0 - j0:sj1 - j0, si0 - i0:si1 - i0] = arr[:, sj0:sj1, si0:si1]
    return out


def _resize(stack: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(stack, dtype=np.float32))[:, None]
    if nearest:
        r = F.interpolate(t, size=(size, size), mode="nearest")
    else:
        r = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return r[:, 0].numpy()


def roi_slices_from_arrays(
    image: np.ndarray,
    mask: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    config: SliceConfig = SliceConfig(),
    patient_id: str = "?",
    sequence: str = "?",
    label: int | None = None,
) -> SliceStack:
    """Cut the ROI slices out of a volume (arrays in SimpleITK's ``(k, j, i)`` order).

    Parameters
    ----------
    image, mask : 3-D arrays of equal shape; mask voxels != 0 are ROI.
    spacing : voxel spacing ``(i, j, k)`` in mm, SimpleITK's order.
    config : :class:`SliceConfig`.
    patient_id, sequence : used in error messages and carried along.

    Raises
    ------
    InputError : shapes differ, the mask is empty, or the ROI intensities are non-finite.
    """
    where = f"patient {patient_id!r}, sequence {sequence!r}"
    image = np.asarray(image)
    mask = np.asarray(mask) != 0
    if image.ndim == 2:
        image, mask = image[None], mask[None]
    if image.ndim != 3 or image.shape != mask.shape:
        raise InputError(f"{where}: image shape {image.shape} and mask shape {mask.shape} must be equal 3-D shapes")
    per_slice = mask.sum(axis=(1, 2))
    roi_slices = np.flatnonzero(per_slice >= config.min_roi_voxels)
    if roi_slices.size == 0:
        raise InputError(f"{where}: the mask has no slice with >= {config.min_roi_voxels} ROI voxel(s)")
    roi_vals = image[mask].astype(np.float64)
    if not np.all(np.isfinite(roi_vals)):
        raise InputError(f"{where}: the image has non-finite values inside the ROI")
    lo, hi = np.percentile(roi_vals, config.intensity_percentiles)
    scaled = np.clip((image.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0) if hi > lo else (mask * 1.0).astype(np.float32)
    scaled = np.where(mask, scaled, 0.0).astype(np.float32)

    chosen = sample_slice_indices(roi_slices, config.max_slices_per_patient)
    box = _square_box(mask, (float(spacing[1]), float(spacing[0])), float(config.margin_fraction))
    img_c = _crop(scaled[chosen], box)
    msk_c = _crop(mask[chosen].astype(np.float32), box)
    images = np.clip(_resize(img_c, config.image_size, nearest=False), 0.0, 1.0).astype(np.float32)
    masks = _resize(msk_c, config.image_size, nearest=True) > 0.5
    images[~masks] = 0.0
    return SliceStack(
        patient_id=str(patient_id),
        sequence=str(sequence),
        images=images,
        masks=masks,
        slice_index=chosen.astype(int),
        roi_voxels=per_slice[chosen].astype(int),
        n_roi_slices=int(roi_slices.size),
        label=label,
    )


def load_slice_stack(manifest, patient_id: str, sequence: str, config: SliceConfig = SliceConfig()) -> SliceStack:
    """Read one patient's image and mask for ``sequence`` from a manifest and cut its ROI slices.

    Raises :class:`~radnomo.errors.InputError` naming the patient, sequence and
    file when a file is missing or unreadable or the geometries differ.
    """
    import SimpleITK as sitk

    where = f"patient {patient_id!r}, sequence {sequence!r}"
    img_p, msk_p = manifest.image_path(patient_id, sequence), manifest.mask_path(patient_id, sequence)
    for kind, p in (("image", img_p), ("mask", msk_p)):
        if not p.exists():
            raise InputError(f"{where}: {kind} file not found: {p}")
    try:
        img = sitk.ReadImage(str(img_p))
        msk = sitk.ReadImage(str(msk_p))
    except RuntimeError as exc:
        raise InputError(f"{where}: could not read {img_p} / {msk_p}: {exc}") from exc
    if img.GetDimension() != 3 or msk.GetDimension() != 3:
        raise InputError(f"{where}: image {img_p} and mask {msk_p} must be 3-D")
    if img.GetSize() != msk.GetSize() or not np.allclose(img.GetSpacing(), msk.GetSpacing(), rtol=1e-3, atol=1e-4):
        raise InputError(
            f"{where}: image {img_p} (size {img.GetSize()}, spacing {img.GetSpacing()}) and mask {msk_p} "
            f"(size {msk.GetSize()}, spacing {msk.GetSpacing()}) are not on the same grid; run `radnomo preprocess` first"
        )
    label = None
    if manifest.has_labels:
        v = manifest.row(patient_id)["label"]
        label = None if pd.isna(v) else int(v)
    try:
        return roi_slices_from_arrays(
            sitk.GetArrayFromImage(img), sitk.GetArrayFromImage(msk), spacing=img.GetSpacing(),
            config=config, patient_id=patient_id, sequence=sequence, label=label,
        )
    except InputError as exc:
        raise InputError(f"{exc} (image {img_p}, mask {msk_p})") from exc


def to_network_input(images):
    """``(n, S, S)`` or ``(n, 1, S, S)`` tensor in [0, 1] -> ``(n, 3, S, S)`` ImageNet-normalised float tensor."""
    import torch

    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.ndim == 3:
        x = x[:, None]
    x = x.float().expand(-1, 3, -1, -1)
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def sampling_table(stacks) -> pd.DataFrame:
    """One row per slice used: patient_id, sequence, slice_index (k), roi_voxels, position, n_roi_slices."""
    rows = []
    for s in stacks:
        for pos, (k, a) in enumerate(zip(s.slice_index, s.roi_voxels)):
            rows.append({"patient_id": s.patient_id, "sequence": s.sequence, "slice_index": int(k),
                         "roi_voxels": int(a), "position": pos, "n_roi_slices": s.n_roi_slices})
    return pd.DataFrame(rows, columns=["patient_id", "sequence", "slice_index", "roi_voxels", "position", "n_roi_slices"])
