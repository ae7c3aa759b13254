"""Write a whole synthetic cohort to a folder.

Layout of ``out_dir``::

    manifest.csv, manifest.parquet     patient_id, label, <seq>_image, <seq>_mask (relative paths)
    clinical.csv, clinical.parquet     patient_id, Table 1 variables, label
    ground_truth.json                  generative model, per-patient truth, oracle AUC
    images/P0001/{t2,ap,pvp,dp}.nii.gz          int16 images
    images/P0001/{t2,ap,pvp,dp}_mask.nii.gz     uint8 whole-liver ROI masks (liver minus main vessels)
    images/P0001/truth.json                     written last: marks the patient as finished

Every file is written atomically; a rerun into the same folder with the same
seed and size skips patients whose ``truth.json`` exists. NIfTI files are
gzip-compressed with a fixed header (no time stamp), so the same seed gives
byte-identical files.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import SimpleITK as sitk

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path, write_bytes_atomic, write_text_atomic
from radnomo.runtime import default_workers
from radnomo.synth.acquisition import PHASES, SCANNERS, SEQUENCES
from radnomo.synth.clinical import (CLINICAL_COLUMNS, OUTCOME_MODEL, VARIABLES, check_seed, expected_auc,
                                    mann_whitney_auc, simulate_subjects)
from radnomo.synth.patient import render_patient
from radnomo.synth.sizes import SizeSpec, get_size

GENERATOR_VERSION = "1"


@dataclass(frozen=True)
class CohortPaths:
    """Where :func:`generate_cohort` wrote the cohort."""

    root: Path
    manifest: Path
    manifest_parquet: Path
    clinical: Path
    clinical_parquet: Path
    ground_truth: Path


def write_nifti_deterministic(image: sitk.Image, path: str | Path) -> Path:
    """Write ``image`` as ``.nii.gz`` atomically with a reproducible gzip stream (mtime 0)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="radnomo_nii_") as tmp:
        raw = Path(tmp) / "image.nii"
        sitk.WriteImage(image, str(raw), useCompression=False)
        data = raw.read_bytes()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return write_bytes_atomic(path, buf.getvalue())


def _patient_dir(root: Path, pid: str) -> Path:
    return root / "images" / pid


def _relative_paths(pid: str) -> dict:
    out = {}
    for seq in SEQUENCES:
        out[f"{seq}_image"] = f"images/{pid}/{seq}.nii.gz"
        out[f"{seq}_mask"] = f"images/{pid}/{seq}_mask.nii.gz"
    return out


def _patient_job(index: int, seed: int, spec: SizeSpec, subject: dict, root: str) -> dict:
    """Render and write one patient (runs in a worker process); return its truth record."""
    root = Path(root)
    pid = subject["patient_id"]
    pdir = _patient_dir(root, pid)
    done = pdir / "truth.json"
    if done.exists():
        truth = json.loads(done.read_text(encoding="utf-8"))
        if truth.get("seed") == seed and truth.get("size") == spec.name:
            return truth
    data = render_patient(index, seed, spec, subject=subject)
    for seq in SEQUENCES:
        write_nifti_deterministic(data.images[seq], pdir / f"{seq}.nii.gz")
        write_nifti_deterministic(data.masks[seq], pdir / f"{seq}_mask.nii.gz")
    truth = dict(data.truth, seed=seed, size=spec.name)
    write_text_atomic(done, json.dumps(truth, indent=1, sort_keys=True))
    return truth


def _init_worker(owner: int | None = None):
    from radnomo.parallel import die_with_parent

    die_with_parent(owner)  # a killed `radnomo synth` leaves no worker behind
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def _write_table(df: pd.DataFrame, csv_path: Path, parquet_path: Path) -> None:
    write_text_atomic(csv_path, df.to_csv(index=False, lineterminator="\n"))
    with atomic_path(parquet_path) as tmp:
        df.to_parquet(tmp, index=False, compression="zstd")


def _ground_truth(subjects: pd.DataFrame, truths: list[dict], seed: int, spec: SizeSpec) -> dict:
    labels, risk = subjects["label"].to_numpy(), subjects["true_risk"].to_numpy()
    oracle = mann_whitney_auc(risk, labels)
    patients = []
    for (_, row), tr in zip(subjects.iterrows(), truths):
        rec = {
            "patient_id": row["patient_id"], "label": int(row["label"]),
            "true_risk": float(row["true_risk"]), "linear_predictor": float(row["linear_predictor"]),
            "latent": {"texture_pvp": float(row["texture_pvp"]), "t2_pattern": float(row["t2_pattern"])},
            "drivers": {"lnafp": float(row["lnafp"]), "multiple_low_signal": int(row["multiple_low_signal"])},
            "unreported": {"inr": float(row["inr"]), "creatinine_mg_dl": float(row["creatinine_mg_dl"]),
                           "ascites": int(row["ascites"])},
        }
        rec.update({k: v for k, v in tr.items() if k not in ("patient_id", "seed", "size")})
        patients.append(rec)
    return {
        "generator": {"name": "radnomo.synth", "version": GENERATOR_VERSION, "seed": seed, "size": spec.name,
                      "n": len(subjects), "size_spec": spec.as_dict()},
        "outcome": {
            "name": "early recurrence within 6 months after ablation",
            "model": OUTCOME_MODEL.as_dict(),
            "drivers": {
                "lnafp": "clinical column lnafp (ln ng/mL), log-OR per unit",
                "multiple_low_signal": "clinical column multiple_low_signal (0/1), log-OR yes vs no",
                "texture_pvp": "latent image factor (standard normal): SD of the multiplicative parenchymal "
                               "Gaussian random field = 0.07 exp(0.45 u); correlation length "
                               f"{spec.texture_corr_mm} mm; weight per phase "
                               + ", ".join(f"{k} {v.texture_weight}" for k, v in PHASES.items()),
                "t2_pattern": "latent image factor (standard normal): hyperintense parenchymal spots on T2WI, "
                              "volume fraction 0.012 exp(0.6 u), contrast 0.30 exp(0.3 u) (max 0.8), "
                              f"Gaussian radius {spec.spot_radius_mm} mm",
            },
            "target_prevalence": 0.308,
            "prevalence": float(labels.mean()),
            "n_events": int(labels.sum()),
            # null (not NaN, which is not JSON) when undefined: one class or one patient
            "oracle_auc": _finite_or_none(oracle),
            "oracle_auc_definition": "Mann-Whitney AUC of true_risk against label on this cohort",
            "expected_oracle_auc": _finite_or_none(expected_auc(risk)),
        },
        "variables": VARIABLES,
        "sequences": SEQUENCES,
        "phase_contrast": {k: vars(v) for k, v in PHASES.items()},
        "scanners": [vars(s) for s in SCANNERS],
        "conventions": {
            "coordinates": "LPS millimetres (ITK/DICOM); anatomy frame has the liver centre at the origin",
            "transform": "per phase Euler3DTransform mapping phase physical points to the anatomy frame; "
                         "phase A -> phase B point mapping is T_B^-1 o T_A",
            "mask": "whole-liver ROI minus the main portal/hepatic vessels and the IVC, on each phase's own grid",
        },
        "patients": patients,
    }


def generate_cohort(out_dir, n: int | None = None, size: str | SizeSpec = "small", seed: int = 20250101,
                    workers: int | None = None, progress: bool = True) -> CohortPaths:
    """Generate a synthetic multi-phase liver MRI cohort in ``out_dir``.

    Parameters
    ----------
    out_dir : output folder (created).
    n : number of patients (default: the size's default, 60 for ``small``, 224 for ``paper``).
    size : ``"small"``, ``"paper"`` or ``"tiny"`` (tests), see :mod:`radnomo.synth.sizes`.
    seed : non-negative integer; the same seed gives byte-identical files and
        patient ``i`` is the same whatever ``n`` is.
    workers : worker processes (default: all cores, at most ``n``); 1 runs in-process.
    progress : show a tqdm progress bar.

    Returns
    -------
    :class:`CohortPaths`.
    """
    seed = check_seed(seed)
    spec = get_size(size)
    if n is None:
        n = spec.default_n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n (number of patients) must be a positive integer, not {n!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers must be a positive integer, not {workers!r}")
    workers = min(workers or default_workers(), n)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)

    subjects = simulate_subjects(n, seed)
    rows = subjects.to_dict(orient="records")
    truths = _render_patients(rows, seed, spec, root, workers=workers, progress=progress)

    manifest = pd.DataFrame([{"patient_id": r["patient_id"], "label": int(r["label"]),
                              **_relative_paths(r["patient_id"])} for r in rows])
    clinical = subjects[["patient_id", *CLINICAL_COLUMNS, "label"]]
    paths = CohortPaths(root=root, manifest=root / "manifest.csv", manifest_parquet=root / "manifest.parquet",
                        clinical=root / "clinical.csv", clinical_parquet=root / "clinical.parquet",
                        ground_truth=root / "ground_truth.json")
    _write_table(manifest, paths.manifest, paths.manifest_parquet)
    _write_table(clinical, paths.clinical, paths.clinical_parquet)
    gt = _ground_truth(subjects, truths, seed, spec)
    write_text_atomic(paths.ground_truth, json.dumps(gt, indent=1, sort_keys=True, allow_nan=True))
    return paths


def _render_patients(rows: list[dict], seed: int, spec: SizeSpec, root: Path, *, workers: int,
                     progress: bool) -> list[dict | None]:
    """Render and write every patient's images (in ``workers`` processes); their ground-truth records,
    in patient order."""
    from tqdm.auto import tqdm

    n = len(rows)
    truths: list[dict | None] = [None] * n
    bar = tqdm(total=n, desc=f"synth {spec.name}", unit="patient", disable=not progress)
    try:
        if workers == 1:
            for i in range(n):
                truths[i] = _patient_job(i, seed, spec, rows[i], str(root))
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                     initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(_patient_job, i, seed, spec, rows[i], str(root)): i for i in range(n)}
                for fut in as_completed(futures):
                    truths[futures[fut]] = fut.result()
                    bar.update(1)
    finally:
        bar.close()
    return truths


def summary(paths: CohortPaths) -> str:
    """A short human-readable summary of a generated cohort."""
    gt = json.loads(Path(paths.ground_truth).read_text(encoding="utf-8"))
    o = gt["outcome"]
    n = gt["generator"]["n"]
    auc = o["oracle_auc"]
    auc_s = "n/a" if auc is None or (isinstance(auc, float) and math.isnan(auc)) else f"{auc:.3f}"
    return (f"synthetic cohort: {n} patients (size {gt['generator']['size']}, seed {gt['generator']['seed']})\n"
            f"early recurrence: {o['n_events']}/{n} = {100 * o['prevalence']:.1f} % (target 30.8 %)\n"
            f"oracle AUC of the true risk: {auc_s} (expected "
            f"{'n/a' if o['expected_oracle_auc'] is None else format(o['expected_oracle_auc'], '.3f')})\n"
            f"manifest:     {paths.manifest}\nclinical:     {paths.clinical}\n"
            f"ground truth: {paths.ground_truth}")


__all__ = ["CohortPaths", "generate_cohort", "summary", "write_nifti_deterministic"]


def _finite_or_none(x):
    """A float, or None when it is missing or not finite (JSON has no NaN)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None
