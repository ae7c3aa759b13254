"""One patient's preprocessing: register → N4 → resample → normalise.

:func:`preprocess_images` runs the steps on one patient's images in memory;
:func:`preprocess_payload`, the worker of :func:`radnomo.preprocess.cohort.preprocess_cohort`,
reads and checks a patient's files, preprocesses them, checks the results (QC:
finite, not constant) and writes the images, masks and QC mosaic.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import SimpleITK as sitk

from radnomo.errors import InputError
from radnomo.io.images import (ImageContext, check_volume, itk_reason, read_image_and_mask, roi_coverage_warning,
                               roi_fraction, write_image)
from radnomo.io.names import patient_name
from radnomo.preprocess.bias import N4
from radnomo.preprocess.config import PreprocessConfig
from radnomo.preprocess.normalize import Normalize
from radnomo.preprocess.qc import qc_mosaic
from radnomo.preprocess.registration import Registration
from radnomo.preprocess.resample import Resample, crop_grid


def _steps(config: PreprocessConfig):
    return (Registration(method=config.registration, bins=config.registration_bins,
                         sampling=config.registration_sampling, iterations=config.registration_iterations,
                         seed=config.seed),
            N4(shrink_factor=config.n4_shrink_factor, iterations=config.n4_iterations, enabled=config.n4),
            Resample(spacing=config.spacing),
            Normalize(method=config.normalization))


def preprocess_images(images: Mapping[str, sitk.Image], masks: Mapping[str, sitk.Image],
                      config: PreprocessConfig, *, label: int = 1) -> tuple[dict, dict, dict]:
    """Preprocess the phases of one patient in memory.

    Parameters
    ----------
    images, masks : ``{sequence: image}`` and ``{sequence: mask}`` (each mask on its image's grid).
    config : the steps' settings; ``config.reference`` must be a key of ``images``.

    Returns
    -------
    (images, masks, records): the output images and masks on one grid, and per
    sequence the record of every step (registration, n4, resample, normalize).
    """
    if config.reference not in images:
        raise InputError(f"reference sequence {config.reference!r} is not among the sequences {list(images)}")
    register, n4, resample, normalize = _steps(config)
    ref = images[config.reference]
    full_grid = resample.grid(ref)
    out_images, out_masks, records = {}, {}, {}
    transforms, reg_records, reg_seconds = {}, {}, {}
    for seq, img in images.items():
        t0 = time.perf_counter()
        if seq == config.reference:
            transforms[seq] = sitk.Euler3DTransform()
            reg_records[seq] = {"method": "reference", "metric_before": None, "metric_after": None}
        else:
            transforms[seq], reg_records[seq] = register.apply(ref, img)
        reg_seconds[seq] = time.perf_counter() - t0
    # masks on the full grid first (nearest neighbour, cheap), then the (optionally cropped) grid
    full_masks = {seq: (resample.mask(sitk.Cast(masks[seq] == label, sitk.sitkUInt8), full_grid, transforms[seq])
                        if config.mask_source == "own" and seq != config.reference else None)
                  for seq in images}
    ref_full_mask = resample.mask(sitk.Cast(masks[config.reference] == label, sitk.sitkUInt8), full_grid)
    grid, start = full_grid, (0, 0, 0)
    if config.crop_margin_mm is not None:
        grid, start = crop_grid(full_grid, [ref_full_mask] + [m for m in full_masks.values() if m is not None],
                                config.crop_margin_mm)

    def on_grid(mask_full: sitk.Image) -> sitk.Image:
        if grid is full_grid:
            return mask_full
        return sitk.RegionOfInterest(mask_full, list(grid.GetSize()), list(start))

    ref_mask = on_grid(ref_full_mask)
    resample_rec = resample.record(grid, full_grid=full_grid, crop_start=start, crop_margin_mm=config.crop_margin_mm)
    for seq, img in images.items():
        t0 = time.perf_counter()
        corrected, n4_rec = n4.apply(img)
        res_img = resample.image(corrected, grid, transforms[seq])
        res_mask = on_grid(full_masks[seq]) if full_masks[seq] is not None else ref_mask
        norm_img, norm_rec = normalize.apply(res_img)
        out_images[seq], out_masks[seq] = norm_img, res_mask
        reg_rec = reg_records[seq]
        reg_rec["seconds"] = reg_seconds[seq]
        records[seq] = {"registration": reg_rec, "n4": n4_rec, "resample": dict(resample_rec),
                        "normalize": norm_rec, "seconds": time.perf_counter() - t0 + reg_seconds[seq]}
    return out_images, out_masks, records


def preprocess_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Worker function: read, preprocess and write one patient.

    ``payload`` has ``patient_id``, ``sequences`` (``{seq: {"image", "mask"}}``
    paths), ``config`` (:meth:`PreprocessConfig.to_dict`), ``out_dir`` and
    ``label``. Returns output paths (relative to ``out_dir``) and QC rows.
    """
    config = PreprocessConfig(**{k: (tuple(v) if isinstance(v, list) else v)
                                 for k, v in payload["config"].items()})
    pid, label = payload["patient_id"], int(payload.get("label", 1))
    out_dir = Path(payload["out_dir"])
    images, masks, warnings = _read_case(pid, payload["sequences"], config, label)
    try:
        out_images, out_masks, records = preprocess_images(images, masks, config, label=label)
    except RuntimeError as exc:  # SimpleITK/ITK: one line, with the patient
        raise InputError(f"patient {pid!r}: preprocessing failed in ITK: {itk_reason(exc)}") from exc
    for seq in out_images:
        check_preprocessed(out_images[seq], out_masks[seq], where=f"patient {pid!r}, sequence {seq!r}")
    name = payload.get("name") or patient_name(pid)
    outputs = _write_case(out_images, out_masks, out_dir, name)
    qc_rows, notes = [], {}
    for seq in out_images:
        reg = records[seq]["registration"]
        n_roi = int(np.count_nonzero(sitk.GetArrayViewFromImage(out_masks[seq])))
        if n_roi == 0:
            raise InputError(f"patient {pid!r}, sequence {seq!r}: the ROI is empty after resampling to "
                             f"{list(config.spacing)} mm")
        if reg.get("metric_after") is not None:
            notes[seq] = f"MI {reg['metric_before']:.3f} -> {reg['metric_after']:.3f}"
        qc_rows.append(_qc_row(pid, seq, config, records[seq], n_roi, name, out_masks[seq], warnings.get(seq)))
    qc_mosaic(out_images, out_masks, out_dir / "qc" / f"{name}.png",
              title=f"patient {pid}: registered to {config.reference}, N4 {'on' if config.n4 else 'off'}, "
                    f"{'x'.join(f'{s:g}' for s in config.spacing)} mm", notes=notes)
    return {"outputs": outputs, "qc": qc_rows, "records": records}


def _read_case(pid: str, sequences: Mapping[str, Mapping[str, str]], config: PreprocessConfig,
               label: int) -> tuple[dict, dict, dict]:
    """Read and check every sequence's image and mask; returns images, masks and ROI-coverage warnings."""
    images, masks, warnings = {}, {}, {}
    for seq, files in sequences.items():
        ctx = ImageContext(pid, seq)
        images[seq], masks[seq] = read_image_and_mask(files["image"], files["mask"], label=label, context=ctx,
                                                      spacing_range=config.spacing_range_mm, max_roi_fraction=None)
        check_volume(images[seq], where=ctx.where(files["image"]), purpose="preprocessing (registration, N4, resampling)")
        check_not_constant(images[seq], masks[seq] == label, where=ctx.where(files["image"]), what="the image")
        w = roi_coverage_warning(masks[seq], label, config.max_roi_fraction, where=ctx.where(files["mask"], "mask"))
        if w:
            warnings[seq] = w
    return images, masks, warnings


def _write_case(out_images: Mapping[str, sitk.Image], out_masks: Mapping[str, sitk.Image], out_dir: Path,
                name: str) -> dict[str, dict[str, str]]:
    """Write the preprocessed images and masks (``images/<name>/<seq>.nii.gz``, ``masks/<name>/<seq>_mask.nii.gz``);
    returns their paths relative to ``out_dir``."""
    outputs, writes = {}, []
    for seq in out_images:
        img_rel = Path("images") / name / f"{seq}.nii.gz"
        mask_rel = Path("masks") / name / f"{seq}_mask.nii.gz"
        writes += [(out_images[seq], out_dir / img_rel), (out_masks[seq], out_dir / mask_rel)]
        outputs[seq] = {"image": img_rel.as_posix(), "mask": mask_rel.as_posix()}
    _write_all(writes)
    return outputs


def _qc_row(pid: str, seq: str, config: PreprocessConfig, rec: Mapping[str, Any], n_roi: int, name: str,
            out_mask: sitk.Image, warning: str | None) -> dict[str, Any]:
    """One sequence's row of the QC table (registration, N4, resampling, normalisation, ROI)."""
    reg = rec["registration"]
    return {
        "patient_id": pid, "sequence": seq, "reference": config.reference,
        "registration": reg["method"], "metric_before": reg.get("metric_before"),
        "metric_after": reg.get("metric_after"), "registration_seconds": reg.get("seconds"),
        "n4": rec["n4"]["enabled"], "n4_shrink_factor": rec["n4"]["shrink_factor"],
        "n4_iterations": " ".join(map(str, rec["n4"]["iterations"])), "n4_seconds": rec["n4"]["seconds"],
        "spacing_mm": " ".join(f"{s:g}" for s in config.spacing),
        "size": " ".join(map(str, rec["resample"]["size"])),
        "crop_margin_mm": config.crop_margin_mm, "normalization": rec["normalize"]["method"],
        "roi_voxels": n_roi, "roi_volume_mm3": n_roi * float(np.prod(config.spacing)),
        "seconds": rec["seconds"], "qc_png": f"qc/{name}.png",
        "roi_fraction": round(roi_fraction(out_mask), 6), "warning": warning,
    }


def check_preprocessed(image: sitk.Image, mask: sitk.Image, *, where: str, rel_tol: float = 1e-6) -> None:
    """QC of a preprocessed image before it is written: finite, and not (near-)constant.

    Raises :class:`InputError` when the image has NaN/Inf voxels, or when its
    standard deviation over the whole image or over the ROI is at most ``rel_tol``
    times its mean absolute value (a constant image: e.g. a resampling that fell
    outside the data because of a wrong spacing).
    """
    arr = sitk.GetArrayViewFromImage(image)
    finite = np.isfinite(arr)
    if not finite.all():
        raise InputError(f"{where}: QC failed: the preprocessed image has {int(arr.size - finite.sum())} NaN/Inf "
                         "voxel(s); nothing was written for this patient")
    check_not_constant(image, mask, where=f"{where}: QC failed", what="the preprocessed image", rel_tol=rel_tol,
                       hint="check the input's spacing/orientation and the registration; nothing was written "
                            "for this patient")


def check_not_constant(image: sitk.Image, mask: sitk.Image, *, where: str, what: str = "the image",
                       rel_tol: float = 1e-6, hint: str = "check the file") -> None:
    """Raise :class:`InputError` when ``image`` is (near-)constant over the whole image or inside ``mask``
    (standard deviation at most ``rel_tol`` times the mean absolute value)."""
    a = sitk.GetArrayViewFromImage(image).astype(np.float64, copy=False)
    if float(np.std(a)) <= rel_tol * max(float(np.mean(np.abs(a))), 1e-12):
        raise InputError(f"{where}: {what} is constant ({float(a.flat[0]):.6g} everywhere); {hint}")
    roi = a[sitk.GetArrayViewFromImage(mask) > 0]
    if roi.size > 1 and float(np.std(roi)) <= rel_tol * max(float(np.mean(np.abs(roi))), 1e-12):
        raise InputError(f"{where}: {what} is constant inside the ROI ({float(roi[0]):.6g} in all {roi.size} "
                         f"voxels); {hint}")


def _write_all(writes) -> None:
    """Write (image, path) pairs, several at a time: SimpleITK's gzip writing releases
    the GIL, so threads overlap it (about 2x on 2 cores for a paper-size patient).
    As many threads as ITK may use in this process (1 inside a pool worker)."""
    from concurrent.futures import ThreadPoolExecutor

    n = max(1, min(len(writes), sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(), 4))
    if n == 1:
        for img, path in writes:
            write_image(img, path)
        return
    with ThreadPoolExecutor(max_workers=n) as ex:
        for fut in [ex.submit(write_image, img, path) for img, path in writes]:
            fut.result()  # re-raise the first failure
