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

One patient's steps and checks are in :mod:`radnomo.preprocess.patient`; this module
runs them over a manifest (in parallel, cached per patient) and writes the tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path, file_sha256, write_text_atomic
from radnomo.io.manifest import Manifest, read_manifest
from radnomo.io.names import folder_salt, patient_name
from radnomo.parallel import CaseFailure, cache_file, hash_key, load_cached, run_cases, write_errors
from radnomo.preprocess.config import PreprocessConfig
from radnomo.preprocess.patient import (  # noqa: F401  (check_preprocessed, preprocess_images: re-exported)
    check_preprocessed,
    preprocess_images,
    preprocess_payload,
)

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
    return preprocess_payload(payload)


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
    run = run_cases(preprocess_payload, payloads, cache_dir=cache_dir, key_fn=_case_key, workers=workers,
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
