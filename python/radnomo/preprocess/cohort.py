"""Preprocess one patient or a whole cohort: register → N4 → resample → normalise.

Outputs under ``out_dir``::

    images/<patient>/<seq>.nii.gz        preprocessed images (float32, 1 mm)
    masks/<patient>/<seq>_mask.nii.gz    masks on the same grid (uint8)
    qc/<patient>.png                     mosaic of every phase with the ROI contour
    manifest.csv, manifest.parquet       the same manifest format, paths relative to out_dir
    qc.csv                               one row per patient and phase
    errors.csv                           one row per failed patient
    preprocess.json                      configuration and software versions
    .cache/                              per-patient results (JSON, data only) for reruns

``<patient>`` is the patient id made file-safe (never starting with ``.``), or with
``hash_names`` a salted hash of it (salt in ``name_salt.txt``). Input checks per
patient (its error, the others go on): empty manifest cells, NaN/Inf voxels,
voxel spacing outside ``spacing_range_mm``, a 2-D image; an ROI covering more
than ``max_roi_fraction`` of the image is a warning (``qc.csv`` column
``warning``). Before anything of a patient is written, its preprocessed images
must be finite and not constant (QC), else the patient fails.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path, file_sha256, write_text_atomic
from radnomo.io.images import (ImageContext, check_volume, itk_reason, read_image_and_mask, roi_coverage_warning,
                               roi_fraction, write_image)
from radnomo.io.manifest import Manifest, read_manifest
from radnomo.io.names import folder_salt, patient_name
from radnomo.parallel import CaseFailure, cache_file, hash_key, load_cached, run_cases, write_errors
from radnomo.preprocess.bias import N4
from radnomo.preprocess.config import PreprocessConfig
from radnomo.preprocess.normalize import Normalize
from radnomo.preprocess.qc import qc_mosaic
from radnomo.preprocess.registration import Registration
from radnomo.preprocess.resample import Resample, crop_grid

#: Bumped when the outputs of the same configuration change.
PIPELINE_VERSION = 2


@dataclass(frozen=True)
class PreprocessResult:
    """What :func:`preprocess_cohort` wrote.

    Attributes
    ----------
    out_dir, manifest_path, qc_path, errors_path : outputs (see module docs).
    manifest : the output manifest (succeeded patients only).
    qc : the QC table.
    errors : failed patients (``case_id, error_type, message, traceback``).
    n_ok, n_failed, n_cached : counts.
    """

    out_dir: Path
    manifest_path: Path
    qc_path: Path
    errors_path: Path
    manifest: Manifest | None
    qc: pd.DataFrame
    errors: pd.DataFrame
    n_ok: int
    n_failed: int
    n_cached: int


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


def _case_files(manifest: Manifest, pid: str) -> dict[str, dict[str, str]]:
    return manifest.case_files(pid)


def preprocess_case(manifest: Manifest | str | Path, patient_id: str, out_dir: str | Path,
                    config: PreprocessConfig | None = None, *, label: int = 1) -> dict[str, Any]:
    """Preprocess one patient of ``manifest`` and write its outputs under ``out_dir``.

    Returns ``{"outputs": {seq: {"image", "mask"}}, "qc": [rows], "records": {seq: step records}}``
    with paths relative to ``out_dir``. No cache, no manifest/QC table: see
    :func:`preprocess_cohort` for that.
    """
    config = config or PreprocessConfig()
    man = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    man.row(patient_id)  # clear error when absent
    payload = _payloads(man.subset([patient_id]), config, Path(out_dir).resolve(), label)[str(patient_id)]
    if isinstance(payload, CaseFailure):
        raise InputError(payload.message)
    return _preprocess_payload(payload)


def _preprocess_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Worker function: read, preprocess and write one patient.

    ``payload`` has ``patient_id``, ``sequences`` (``{seq: {"image", "mask"}}``
    paths), ``config`` (:meth:`PreprocessConfig.to_dict`), ``out_dir`` and
    ``label``. Returns output paths (relative to ``out_dir``) and QC rows.
    """
    config = PreprocessConfig(**{k: (tuple(v) if isinstance(v, list) else v)
                                 for k, v in payload["config"].items()})
    pid, label = payload["patient_id"], int(payload.get("label", 1))
    out_dir = Path(payload["out_dir"])
    images, masks, warnings = {}, {}, {}
    for seq, files in payload["sequences"].items():
        ctx = ImageContext(pid, seq)
        images[seq], masks[seq] = read_image_and_mask(files["image"], files["mask"], label=label, context=ctx,
                                                      spacing_range=config.spacing_range_mm, max_roi_fraction=None)
        check_volume(images[seq], where=ctx.where(files["image"]), purpose="preprocessing (registration, N4, resampling)")
        check_not_constant(images[seq], masks[seq] == label, where=ctx.where(files["image"]), what="the image")
        w = roi_coverage_warning(masks[seq], label, config.max_roi_fraction, where=ctx.where(files["mask"], "mask"))
        if w:
            warnings[seq] = w
    try:
        out_images, out_masks, records = preprocess_images(images, masks, config, label=label)
    except RuntimeError as exc:  # SimpleITK/ITK: one line, with the patient
        raise InputError(f"patient {pid!r}: preprocessing failed in ITK: {itk_reason(exc)}") from exc
    for seq in out_images:
        check_preprocessed(out_images[seq], out_masks[seq], where=f"patient {pid!r}, sequence {seq!r}")
    name = payload.get("name") or patient_name(pid)
    outputs, qc_rows, notes = {}, [], {}
    writes = []
    for seq in out_images:
        img_rel = Path("images") / name / f"{seq}.nii.gz"
        mask_rel = Path("masks") / name / f"{seq}_mask.nii.gz"
        writes += [(out_images[seq], out_dir / img_rel), (out_masks[seq], out_dir / mask_rel)]
        outputs[seq] = {"image": img_rel.as_posix(), "mask": mask_rel.as_posix()}
    _write_all(writes)
    for seq in out_images:
        rec = records[seq]
        reg = rec["registration"]
        n_roi = int(np.count_nonzero(sitk.GetArrayViewFromImage(out_masks[seq])))
        if n_roi == 0:
            raise InputError(f"patient {pid!r}, sequence {seq!r}: the ROI is empty after resampling to "
                             f"{list(config.spacing)} mm")
        if reg.get("metric_after") is not None:
            notes[seq] = f"MI {reg['metric_before']:.3f} -> {reg['metric_after']:.3f}"
        qc_rows.append({
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
            "roi_fraction": round(roi_fraction(out_masks[seq]), 6), "warning": warnings.get(seq),
        })
    qc_mosaic(out_images, out_masks, out_dir / "qc" / f"{name}.png",
              title=f"patient {pid}: registered to {config.reference}, N4 {'on' if config.n4 else 'off'}, "
                    f"{'x'.join(f'{s:g}' for s in config.spacing)} mm", notes=notes)
    return {"outputs": outputs, "qc": qc_rows, "records": records}


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


def _payloads(manifest: Manifest, config: PreprocessConfig, out_dir: Path, label: int,
              salt: str | None = None) -> dict[str, dict | CaseFailure]:
    """One payload per patient; a patient whose manifest row is unusable (an empty image or
    mask cell) gets a :class:`CaseFailure`: that patient fails, the others go on."""
    out: dict[str, dict | CaseFailure] = {}
    for pid in manifest.patients:
        try:
            files = _case_files(manifest, pid)
        except InputError as exc:
            out[pid] = CaseFailure(str(exc))
            continue
        out[pid] = {"patient_id": pid, "sequences": files, "config": config.to_dict(), "out_dir": str(out_dir),
                    "label": label, "name": patient_name(pid, salt)}
    return out


def _case_key(case_id: str, payload: Mapping[str, Any]) -> str:
    hashes = {}
    for seq, files in payload["sequences"].items():
        for kind in ("image", "mask"):
            p = Path(files[kind])
            if not p.exists():
                raise InputError(f"patient {case_id!r}, sequence {seq!r}: {kind} file not found: {p}")
            hashes[f"{seq}_{kind}"] = file_sha256(p)
    return hash_key("preprocess", PIPELINE_VERSION, case_id, hashes, payload["config"], payload["label"])


def _drop_stale_cache(cache_dir: Path, out_dir: Path, payloads: Mapping[str, Mapping]) -> None:
    """Forget cached cases whose output files have gone (so they are recomputed)."""
    for pid, payload in payloads.items():
        if isinstance(payload, CaseFailure):
            continue
        f = cache_file(cache_dir, pid)
        if not f.exists():
            continue
        try:
            key = _case_key(pid, payload)
        except InputError:
            continue
        hit, value = load_cached(cache_dir, pid, key)
        if hit and not all((out_dir / p).exists() for o in value["outputs"].values() for p in o.values()):
            f.unlink()


def output_manifest(manifest: Manifest, results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The input manifest's rows for succeeded patients, image/mask columns pointing at the outputs."""
    table = manifest.table.loc[manifest.table["patient_id"].isin(list(results))].copy()
    for seq in manifest.sequences:
        table[f"{seq}_image"] = table["patient_id"].map(lambda p: results[p]["outputs"][seq]["image"])
        table[f"{seq}_mask"] = table["patient_id"].map(lambda p: results[p]["outputs"][seq]["mask"])
    return table.reset_index(drop=True)


def preprocess_cohort(manifest: Manifest | str | Path, out_dir: str | Path,
                      config: PreprocessConfig | None = None, *, workers: int | None = None, executor=None,
                      progress: bool = True, label: int = 1) -> PreprocessResult:
    """Preprocess every patient of a manifest (see the module docs for the outputs).

    Parameters
    ----------
    manifest : a :class:`Manifest` or a manifest file.
    out_dir : output folder (created).
    config : preprocessing settings (default :class:`PreprocessConfig`).
    workers, executor, progress : see :func:`radnomo.parallel.run_cases`.
    label : mask label of the ROI.

    A failing patient is listed in ``errors.csv`` and left out of the output
    manifest; the others go on. A rerun skips patients whose inputs and
    configuration are unchanged and whose outputs still exist.
    """
    config = config or PreprocessConfig()
    man = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    if config.reference not in man.sequences:
        raise InputError(f"reference sequence {config.reference!r} is not in the manifest "
                         f"{man.path or '(in memory)'}; it has {list(man.sequences)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = out_dir / ".cache"
    salt = folder_salt(out_dir) if config.hash_names else None
    payloads = _payloads(man, config, out_dir.resolve(), label, salt)
    if cache_dir.exists():
        _drop_stale_cache(cache_dir, out_dir, payloads)
    run = run_cases(_preprocess_payload, payloads, cache_dir=cache_dir, key_fn=_case_key, workers=workers,
                    executor=executor, progress=progress, desc="preprocess")
    out_table = output_manifest(man, run.results)
    manifest_path = out_dir / "manifest.csv"
    with atomic_path(manifest_path) as tmp:
        out_table.to_csv(tmp, index=False)
    with atomic_path(out_dir / "manifest.parquet") as tmp:
        out_table.to_parquet(tmp, index=False)
    qc = pd.DataFrame([row for r in run.results.values() for row in r["qc"]])
    qc_path = out_dir / "qc.csv"
    with atomic_path(qc_path) as tmp:
        qc.to_csv(tmp, index=False)
    errors_path = write_errors(run.errors, out_dir / "errors.csv")
    from radnomo.runtime import software_versions

    record = {"config": config.to_dict(), "pipeline_version": PIPELINE_VERSION, "label": label,
              "source_manifest": str(man.path) if man.path else None, "versions": software_versions(),
              "steps": ["registration", "n4", "resample", "normalize"]}
    write_text_atomic(out_dir / "preprocess.json", json.dumps(record, indent=2, sort_keys=True, default=str))
    from radnomo.io.manifest import manifest_from_frame

    out_manifest = manifest_from_frame(out_table, root=out_dir.resolve(), path=manifest_path) if len(out_table) else None
    return PreprocessResult(out_dir=out_dir, manifest_path=manifest_path, qc_path=qc_path, errors_path=errors_path,
                            manifest=out_manifest, qc=qc, errors=run.errors, n_ok=len(run.results),
                            n_failed=run.n_failed, n_cached=run.n_cached)
