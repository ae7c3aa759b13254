"""Radiomics features with PyRadiomics' definitions, for a whole cohort.

Per case, every sequence's image and mask are read and checked
(:mod:`radnomo.io.images`), the features configured in the parameter YAML
(:mod:`radnomo.features.params`) are computed by one of two engines, and the
case's row is cached (:mod:`radnomo.parallel`). The cohort table is written to
Parquet with provenance in its Arrow metadata (:mod:`radnomo.io.tables`).

Engines (``engine=``): ``"pyradiomics"`` runs PyRadiomics itself;
``"radnomo"`` (:mod:`radnomo.features.engine`) gives PyRadiomics' values several
times faster and, for a setting it does not implement, falls back to
PyRadiomics with a one-line notice (the table's metadata records which engine
ran and why).

Column names are ``<sequence>_<image type>_<class>_<feature>`` with
PyRadiomics' image type names, e.g. ``pvp_original_glcm_Contrast``,
``t2_wavelet-LLH_firstorder_Mean``, ``ap_log-sigma-5-0-mm-3D_gldm_DependenceEntropy``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.features.params import RadiomicsParams, load_params
from radnomo.io.atomic import file_sha256
from radnomo.io.images import ImageContext, read_image_and_mask
from radnomo.io.manifest import Manifest, read_manifest
from radnomo.io.tables import write_feature_table
from radnomo.parallel import CaseFailure, RunResult, hash_key, run_cases, write_errors

ENGINE = "radiomics"

# --- extraction engines (issue 15) ------------------------------------------------------------------
#: Engines that compute radiomics features: radnomo's own (radnomo.features.engine) or PyRadiomics.
ENGINES = ("radnomo", "pyradiomics")
#: Engine used when none is given.
DEFAULT_ENGINE = "radnomo"

_log = logging.getLogger(__name__)


def check_engine(engine: str | None) -> str:
    """``engine`` checked (``None`` -> :data:`DEFAULT_ENGINE`); an unknown name is an :class:`InputError`."""
    if engine is None:
        return DEFAULT_ENGINE
    if engine not in ENGINES:
        raise InputError(f"unknown radiomics engine {engine!r}; choose one of {list(ENGINES)}")
    return engine


def engine_for(params: RadiomicsParams, engine: str | None, label: int | None = None) -> tuple[str, str | None]:
    """The engine that will run, and why not the one asked for: ``(engine, fallback reason or None)``.

    The radnomo engine falls back to PyRadiomics for settings it does not implement.
    """
    engine = check_engine(engine)
    if engine == "radnomo":
        from radnomo.features.engine import unsupported_reason

        reason = unsupported_reason(params.params, label)
        if reason is not None:
            return "pyradiomics", f"the radnomo engine does not implement {reason}"
    return engine, None


def _notice_fallback(reason: str) -> None:
    _log.warning("radiomics: %s; extracting with PyRadiomics instead", reason)


def engine_record(params: RadiomicsParams, requested: str | None, label: int | None = None) -> dict[str, Any]:
    """Provenance of the extraction engine for the table metadata.

    ``settings`` and ``enabled_image_types`` are what PyRadiomics records in its diagnostics
    (``diagnostics_Configuration_Settings`` / ``_EnabledImageTypes``) for these parameters.
    """
    from radnomo.features.engine import ENGINE_VERSION, resolve_params

    used, reason = engine_for(params, requested, label)
    settings, image_types, _ = resolve_params(params.params, label)
    return {"requested": check_engine(requested), "used": used, "fallback_reason": reason,
            "radnomo_engine_version": ENGINE_VERSION if used == "radnomo" else None,
            "settings": settings, "enabled_image_types": image_types}


#: Filtered images of one case processed at once on the GPU path (the CPU parts of one image overlap
#: the device's work on another).
GPU_IMAGE_THREADS = 4


def resolve_radiomics_device(device: str | None) -> str:
    """``"cpu"`` or ``"cuda"`` for the radnomo engine: ``None``/``cpu`` -> cpu (the default: the
    compiled CPU kernels), ``auto`` -> cuda when torch sees a GPU, ``cuda`` -> cuda or an
    :class:`InputError` without one."""
    if device is None or device == "cpu":
        return "cpu"
    from radnomo.runtime import resolve_device

    return resolve_device(device)


def make_engine_extractor(params: RadiomicsParams, label: int | None = None, engine: str | None = None,
                          device: str = "cpu"):
    """An extractor with PyRadiomics' ``execute(image, mask, label=)`` for the engine that will run.

    ``device`` (``"cpu"`` or ``"cuda"``, as resolved by :func:`resolve_radiomics_device`) applies to
    the radnomo engine; PyRadiomics always runs on the CPU.
    """
    used, reason = engine_for(params, engine, label)
    if reason is not None:
        _notice_fallback(reason)
    if used == "radnomo":
        from radnomo.features.engine import Extractor

        if device == "cpu":
            return Extractor(params.params, label=label)
        return Extractor(params.params, label=label, device=device, threads=GPU_IMAGE_THREADS)
    return make_extractor(params, label)
# --- end of extraction engines ------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtractionResult:
    """What :func:`extract_radiomics` produced.

    Attributes
    ----------
    table_path : the Parquet feature table (written even when some cases failed;
        ``None`` when every case failed).
    errors_path : CSV with one row per failed case (``case_id, error_type, message, traceback``).
    errors : the same table in memory.
    n_failed, n_ok, n_cached : counts of failed, succeeded (now or before) and cached cases.
    n_features : feature columns in the table.
    """

    table_path: Path | None
    errors_path: Path
    errors: pd.DataFrame
    n_failed: int
    n_ok: int
    n_cached: int
    n_features: int


def quiet_pyradiomics(level: int = logging.WARNING) -> None:
    """Set PyRadiomics' logger (very chatty at INFO) to ``level``."""
    import radiomics

    radiomics.setVerbosity(level)
    logging.getLogger("radiomics").setLevel(level)


def _pyradiomics_params(params: RadiomicsParams, label: int | None) -> dict[str, Any]:
    p = {k: (dict(v) if isinstance(v, dict) else v) for k, v in params.params.items()}
    if "featureClass" in p:
        p["featureClass"] = {k: (v or None) for k, v in p["featureClass"].items()}
    setting = dict(p.get("setting", {}))
    setting["additionalInfo"] = False
    if label is not None:
        setting["label"] = int(label)
    p["setting"] = setting
    return p


def make_extractor(params: RadiomicsParams, label: int | None = None):
    """A PyRadiomics ``RadiomicsFeatureExtractor`` configured by ``params``."""
    from radiomics import featureextractor

    from radnomo.features.params import _PYKWALIFY_LOCK

    quiet_pyradiomics()
    with _PYKWALIFY_LOCK:  # PyRadiomics validates with pykwalify/ruamel.yaml, not thread-safe
        return featureextractor.RadiomicsFeatureExtractor(_pyradiomics_params(params, label))


def _to_float(value: Any) -> float:
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"feature value is not a scalar: shape {arr.shape}")
    v = arr.reshape(()).item()
    if isinstance(v, complex):
        v = v.real
    return float(v)


def extract_image(image, mask, params: RadiomicsParams, *, label: int | None = None,
                  extractor=None, engine: str | None = None) -> dict[str, float]:
    """Features of one ROI: ``{"<image type>_<class>_<feature>": value}``.

    Parameters
    ----------
    image, mask : SimpleITK images on the same grid (or file paths).
    params : checked parameters.
    label : mask label (default: ``setting.label``, else 1).
    extractor : a ready extractor from :func:`make_engine_extractor` / :func:`make_extractor`
        (saves set-up time; ``engine`` is then ignored).
    engine : ``"radnomo"`` or ``"pyradiomics"`` (default :data:`DEFAULT_ENGINE`).

    Diagnostics are not returned. Raises ``ValueError`` (PyRadiomics') when the
    ROI is too small for the settings.
    """
    ext = extractor or make_engine_extractor(params, label, engine)
    raw = ext.execute(image, mask, label=label)
    return {k: _to_float(v) for k, v in raw.items() if not k.startswith("diagnostics_")}


def case_payloads(manifest: Manifest, params: RadiomicsParams, *, label: int | None = None,
                  engine: str = "pyradiomics", device: str = "cpu") -> dict[str, dict]:
    """One picklable payload per patient for :func:`extract_case` (``engine``: the one that will run;
    ``device``: ``"cpu"`` or ``"cuda"`` for the radnomo engine).

    A patient whose manifest row is unusable (an empty image/mask cell) gets a
    :class:`~radnomo.parallel.CaseFailure`: that patient fails, the others go on.
    """
    out = {}
    for pid in manifest.patients:
        try:
            seqs = manifest.case_files(pid)
        except InputError as exc:
            out[pid] = CaseFailure(str(exc))
            continue
        out[pid] = {"patient_id": pid, "sequences": seqs, "params": params.params, "params_text": params.text,
                    "label": label, "engine": engine, "device": device}
    return out


def input_hashes(payload: Mapping[str, Any]) -> dict[str, str]:
    """SHA-256 of every input file of a case: ``{"<seq>_image": hash, "<seq>_mask": hash}``.

    Raises :class:`InputError` naming patient, sequence and file when one is missing.
    """
    out = {}
    pid = payload["patient_id"]
    for seq, files in payload["sequences"].items():
        for kind in ("image", "mask"):
            p = Path(files[kind])
            if not p.exists():
                raise InputError(f"patient {pid!r}, sequence {seq!r}: {kind} file not found: {p}")
            out[f"{seq}_{kind}"] = file_sha256(p)
    return out


def case_key(case_id: str, payload: Mapping[str, Any]) -> str:
    """Cache key: input file hashes + parameters + label + engine (and the radnomo engine's version)."""
    parts = [ENGINE, case_id, input_hashes(payload), payload["params"], payload.get("label")]
    if payload.get("engine", "pyradiomics") == "radnomo":  # PyRadiomics' keys are those of before the engine
        from radnomo.features.engine import ENGINE_VERSION

        parts.append({"engine": "radnomo", "version": ENGINE_VERSION})
    return hash_key(*parts)


def extract_case(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Worker function: all sequences of one patient.

    Returns
    -------
    dict with ``features`` (``{"<seq>_<image type>_<class>_<feature>": value}``),
    ``hashes`` (input file hashes) and ``voxels`` (ROI voxels per sequence).
    """
    import SimpleITK as sitk

    # checked in the submitting process already (pykwalify's YAML loader is not thread-safe, and Dask
    # runs cases in threads)
    params = RadiomicsParams(params=payload["params"], text=payload.get("params_text") or "", sha256="")
    label = payload.get("label") or params.settings.get("label", 1)
    expected = params.expected_feature_count()
    engine = payload.get("engine", "pyradiomics")
    extractor = make_engine_extractor(params, label, engine, payload.get("device", "cpu"))
    who = "radnomo's engine" if engine == "radnomo" else "PyRadiomics"
    pid = payload["patient_id"]
    features: dict[str, float] = {}
    voxels = {}
    for seq, files in payload["sequences"].items():
        ctx = ImageContext(pid, seq)
        image, mask = read_image_and_mask(files["image"], files["mask"], label=label, context=ctx)
        voxels[seq] = int(np.count_nonzero(sitk.GetArrayViewFromImage(mask) == label))
        try:
            values = extract_image(image, mask, params, label=label, extractor=extractor)
        except Exception as exc:
            raise InputError(f"patient {pid!r}, sequence {seq!r}: {who} failed on image {files['image']} "
                             f"with mask {files['mask']}: {exc}") from exc
        if len(values) != expected:
            raise InputError(
                f"patient {pid!r}, sequence {seq!r}: {who} returned {len(values)} features, the parameters "
                f"ask for {expected} (a filter was skipped, e.g. an image smaller than a LoG sigma needs); "
                f"image {files['image']} of size {list(image.GetSize())}")
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            logging.getLogger(__name__).warning("patient %s, sequence %s: %d non-finite feature(s), e.g. %s",
                                                pid, seq, len(bad), bad[:3])
        features.update({f"{seq}_{k}": v for k, v in values.items()})
    return {"features": features, "hashes": input_hashes(payload), "voxels": voxels}


def _preprocessing_record(manifest: Manifest) -> Any:
    """The preprocessing parameters written next to a preprocessed manifest, if any."""
    import json

    if manifest.path is None:
        return None
    rec = Path(manifest.path).resolve().parent / "preprocess.json"
    if rec.exists():
        try:
            return json.loads(rec.read_text(encoding="utf-8"))
        except ValueError:
            return {"unreadable": str(rec)}
    return None


def build_table(manifest: Manifest, results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per succeeded patient (manifest order), ``patient_id`` first, then features."""
    rows, ids = [], []
    for pid in manifest.patients:
        if pid in results:
            rows.append(results[pid]["features"])
            ids.append(pid)
    if not rows:
        return pd.DataFrame({"patient_id": pd.Series([], dtype=str)})
    cols = list(rows[0])
    for r in rows[1:]:
        if list(r) != cols:
            extra = sorted(set(r) ^ set(cols))[:5]
            raise InputError(f"feature columns differ between patients (e.g. {extra}); "
                             "were the cases extracted with different parameters?")
    table = pd.DataFrame(np.array([[r[c] for c in cols] for r in rows], dtype=np.float64), columns=cols)
    table.insert(0, "patient_id", ids)
    return table


def extract_radiomics(
    manifest: Manifest | str | Path,
    params_yaml: RadiomicsParams | str | Path,
    out_path: str | Path,
    *,
    workers: int | None = None,
    executor=None,
    progress: bool = True,
    label: int | None = None,
    cache_dir: str | Path | None = None,
    engine: str | None = None,
    device: str | None = None,
) -> ExtractionResult:
    """Extract radiomics features (PyRadiomics' definitions) for every patient and sequence of a manifest.

    Parameters
    ----------
    manifest : a :class:`Manifest` or the path of a manifest CSV/Parquet.
    params_yaml : PyRadiomics parameter file (schema-checked) or checked params.
    out_path : the Parquet feature table to write.
    workers : parallel processes (default: all cores; 1 = in this process).
    executor : a :class:`concurrent.futures.Executor` to use instead (e.g. Dask's).
    progress : show a progress bar.
    label : mask label (default: the YAML's ``setting.label``, else 1).
    cache_dir : per-case cache (default: ``<out_path>.cache/`` next to the table).
        A rerun skips cases whose input hashes and parameters are unchanged.
    engine : ``"radnomo"`` (PyRadiomics' values, faster; falls back to PyRadiomics with a notice
        for settings it does not implement) or ``"pyradiomics"``; default :data:`DEFAULT_ENGINE`.
        The table's metadata ``radiomics_engine`` records the engine that ran and its settings.
    device : the radnomo engine's compute device: ``"cpu"`` (default), ``"cuda"`` (LoG and wavelet
        filters, texture matrices and formulas on the GPU with torch, float64; the same values within
        1e-6 relative; an error without a GPU) or ``"auto"`` (cuda when present). Not part of the cache
        key (the values do not depend on it beyond that tolerance); recorded in the metadata. With a GPU
        and ``workers`` unset, at most 4 worker processes share it.

    Returns
    -------
    ExtractionResult
        The table holds every patient that succeeded; failures are listed in
        ``<out stem>.errors.csv`` and counted in ``n_failed``.
    """
    man = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    params = params_yaml if isinstance(params_yaml, RadiomicsParams) else load_params(params_yaml)
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".parquet":
        raise InputError(f"output {out_path}: the feature table must be a .parquet file")
    cache = Path(cache_dir) if cache_dir is not None else out_path.with_name(out_path.name + ".cache")
    used, reason = engine_for(params, engine, label)
    if reason is not None:
        _notice_fallback(reason)
    dev = resolve_radiomics_device(device) if used == "radnomo" else "cpu"
    if dev == "cuda" and workers is None and executor is None:
        from radnomo.runtime import default_workers

        workers = min(default_workers(), 4)
    payloads = case_payloads(man, params, label=label, engine=used, device=dev)
    run: RunResult = run_cases(extract_case, payloads, cache_dir=cache, key_fn=case_key, workers=workers,
                               executor=executor, progress=progress, desc="radiomics")
    errors_path = out_path.with_name(out_path.stem + ".errors.csv")
    write_errors(run.errors, errors_path)
    table = build_table(man, run.results)
    meta = _table_metadata(man, params, engine, label, run)
    meta["radiomics_engine"]["device"] = dev
    table_path = None
    if len(table):
        table_path = write_feature_table(table, out_path, meta)
    return ExtractionResult(table_path=table_path, errors_path=errors_path, errors=run.errors,
                            n_failed=run.n_failed, n_ok=len(run.results), n_cached=run.n_cached,
                            n_features=table.shape[1] - 1)


def _table_metadata(man: Manifest, params: RadiomicsParams, engine: str | None, label: int | None,
                    run: RunResult) -> dict[str, Any]:
    """The feature table's metadata: engine and parameters, versions, inputs' hashes, failures."""
    from radnomo.runtime import software_versions

    return {
        "engine": ENGINE,
        "radiomics_engine": engine_record(params, engine, label),
        "versions": software_versions(),
        "params_yaml": params.text,
        "params_sha256": params.sha256,
        "params_source": params.source,
        "label": label,
        "sequences": list(man.sequences),
        "manifest": str(man.path) if man.path else None,
        "input_hashes": {pid: r["hashes"] for pid, r in run.results.items()},
        "roi_voxels": {pid: r["voxels"] for pid, r in run.results.items()},
        "preprocessing": _preprocessing_record(man),
        "n_failed": run.n_failed,
        "failed_patients": run.errors["case_id"].tolist(),
    }
