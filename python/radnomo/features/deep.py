"""Deep features: DenseNet-169 final-pooling features of ROI slices, per patient.

For each patient and sequence the ROI slices (:mod:`radnomo.features.slices`)
go through DenseNet-169 — the model fine-tuned for that sequence by
``radnomo train-deep`` (``model_dir``), or plain ImageNet / random / file
weights — and the **final pooling layer** gives 1664 values per slice
(``features`` -> ReLU -> global average pool; :data:`FEATURE_LAYER`). The
slice vectors are aggregated per patient:

* ``"mean"`` (default): element-wise mean over the patient's ROI slices;
* ``"max"``: element-wise maximum over the ROI slices;
* ``"largest"``: the vector of the slice with the most ROI voxels (first such
  slice on ties).

The table has one row per patient and the columns ``<sequence>_dl_<k>``,
k = 1..1664 (6656 for the study's four sequences); its Arrow metadata record
the weights (source, SHA-256, training configuration), the layer, the
aggregation, the slice settings and sampling, library versions and what
determines the values on this machine (``compute``: torch/torchvision versions,
intra-op threads, the CPU's instruction set as torch sees it, CPU model, oneDNN,
deterministic mode, device; :func:`radnomo.runtime.deep_compute_record`). Per-slice
features are cached next to the table so that reruns (also with another
aggregation) skip finished patients; a patient that fails in a sequence is
reported and left out of the table, and the others go on.

Reproducibility: extraction runs in torch's deterministic mode
(:func:`deterministic_torch`) with a fixed number of intra-op threads (the
given one, else torch's current setting, recorded), patients and slices in
manifest order, no random augmentation, and the Parquet file holds no time
stamp: the same extraction twice on one machine gives a byte-identical file.
On the CPU the values depend on the thread count (1 vs 2 threads differ by
~4e-7) and on the instruction set oneDNN/MKL dispatch to (AVX2 vs AVX-512), so
another CPU kind can give slightly different features; the per-slice cache is
keyed by these determinants too.

Modules: :mod:`.slices` (ROI slices), :mod:`.deep_model` (network, weights),
:mod:`.deep_inference` (batched deterministic inference, aggregation), :mod:`.deep_train` and
:mod:`.deep_train_loop` (fine-tuning). The names users need are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.features.deep_model import (  # noqa: F401  (re-exported)
    FEATURE_DIM,
    FEATURE_LAYER,
    IMAGENET_FILENAME,
    WeightsInfo,
    build_densenet169,
    imagenet_weights_path,
    model_logits,
    pooled_features,
)
from radnomo.features.deep_train import (  # noqa: F401  (re-exported)
    DeepTrainConfig,
    TrainResult,
    select_training_patients,
    torch_threads,
    train_deep_model,
    train_deep_models,
)
from radnomo.features.deep_inference import (  # noqa: F401  (re-exported)
    AGGREGATIONS,
    aggregate_features,
    deterministic_torch,
    feature_columns,
    load_sequence_model,
    slice_features,
)
from radnomo.features.slices import SliceConfig, SliceStack, load_slice_stack, sampling_table
from radnomo.io.atomic import atomic_path
from radnomo.io.names import visible_name

@dataclass(frozen=True)
class DeepExtractConfig:
    """Settings of deep feature extraction.

    Parameters
    ----------
    aggregation : ``"mean"`` (default), ``"max"`` or ``"largest"`` (see the module docstring).
    batch_size : slices per forward pass.
    slices : :class:`SliceConfig`; ``None`` (default) takes the fine-tuned model's
        training slice settings, or ``SliceConfig()`` (224 px, all ROI slices) without one.
    mixed_precision : bfloat16 autocast on CUDA (faster, ~3 significant digits);
        default off so features are float32 everywhere. Ignored on the CPU.
    """

    aggregation: str = "mean"
    batch_size: int = 32
    slices: SliceConfig | None = None
    mixed_precision: bool = False

    def __post_init__(self):
        if self.aggregation not in AGGREGATIONS:
            raise InputError(f"aggregation must be one of {list(AGGREGATIONS)}, not {self.aggregation!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, not {self.batch_size!r}")
        if self.slices is not None and not isinstance(self.slices, SliceConfig):
            raise InputError(f"slices must be a SliceConfig or None, not {type(self.slices).__name__}")


@dataclass
class DeepFeatureResult:
    """Outcome of :func:`extract_deep_features`."""

    table: pd.DataFrame
    metadata: dict[str, Any]
    failures: list[dict[str, str]] = field(default_factory=list)
    path: Path | None = None
    sampling: pd.DataFrame | None = None




def _load_slice_cache(path: Path):
    """A per-slice cache entry (``.npz`` read with ``allow_pickle=False``: data only), or ``None``
    when it is unreadable or not what this code writes (it is then recomputed)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            feats, kidx, roi, nroi = z["features"], z["slice_index"], z["roi_voxels"], z["n_roi_slices"]
    except Exception:  # corrupt, truncated, foreign or pickled content
        return None
    if (feats.dtype.kind != "f" or feats.ndim != 2 or kidx.dtype.kind not in "iu" or roi.dtype.kind not in "iu"
            or len(kidx) != len(feats) or len(roi) != len(feats) or nroi.size != 1):
        return None
    return feats, kidx, roi, int(nroi)


def _cache_key(info: WeightsInfo, slices: SliceConfig, compute: dict | None = None) -> str:
    """Per-slice cache folder key: weights, slices, layer and what determines the values (``compute``)."""
    blob = json.dumps({"weights": info.to_dict(), "slices": slices.to_dict(), "layer": FEATURE_LAYER,
                       "compute": compute}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _portable_weights(info: dict, folder: Path | None) -> dict:
    """``info`` with its file path relative to ``folder`` when inside it (runs in two folders record the same)."""
    p = info.get("path")
    if folder is None or not p:
        return info
    try:
        return {**info, "path": Path(p).resolve().relative_to(Path(folder).resolve()).as_posix()}
    except ValueError:
        return info


def _patient_slice_features(manifest, pid, seq, model, slices, cfg, dev, cache_dir):
    """Per-slice features of one patient/sequence, from the cache when present."""
    cache = None
    if cache_dir is not None:
        # keyed by the image/mask content: re-preprocessed inputs never reuse stale features
        digest = manifest.input_digest(pid, seq)
        if digest is not None:
            cache = cache_dir / seq / f"{visible_name(pid)}-{digest[:16]}.npz"
    if cache is not None and cache.exists():
        hit = _load_slice_cache(cache)
        if hit is not None:
            return hit
    stack: SliceStack = load_slice_stack(manifest, pid, seq, slices)
    feats = slice_features(model, stack.images, device=dev, batch_size=cfg.batch_size,
                           mixed_precision=cfg.mixed_precision)
    if cache is not None:
        with atomic_path(cache) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, features=feats, slice_index=stack.slice_index, roi_voxels=stack.roi_voxels,
                         n_roi_slices=stack.n_roi_slices)
    return feats, stack.slice_index, stack.roi_voxels, stack.n_roi_slices


def extract_deep_features(
    manifest,
    out: str | os.PathLike | None = None,
    *,
    model_dir: str | os.PathLike | None = None,
    weights: str = "imagenet",
    sequences: Sequence[str] | None = None,
    patients: Sequence[str] | None = None,
    config: DeepExtractConfig = DeepExtractConfig(),
    device: str = "auto",
    num_threads: int | None = None,
    resume: bool = True,
    progress: bool = True,
) -> DeepFeatureResult:
    """Extract DenseNet-169 pooled features (1664 per slice, aggregated per patient).

    Parameters
    ----------
    manifest : :class:`~radnomo.io.manifest.Manifest`.
    out : Parquet file to write (atomically, via :func:`radnomo.io.tables.write_feature_table`);
        ``None``: return the table only. With ``out``, per-slice features are cached in
        ``.<out name>.parts/`` beside it and the slice sampling is written to
        ``<out stem>_slices.csv``.
    model_dir : output folder of ``train-deep`` (``<model_dir>/<sequence>/model.pt``, one fine-tuned
        model per sequence, the study's approach). ``None``: use ``weights`` for every sequence.
    weights : ``"imagenet"``, ``"none"`` or a weights file (used when ``model_dir`` is None).
    sequences, patients : subsets (default: all in the manifest).
    config : :class:`DeepExtractConfig`.
    device : ``"auto"``, ``"cpu"`` or ``"cuda"``.
    num_threads : torch intra-op CPU threads (``None``: torch's current setting); recorded in
        ``metadata["compute"]`` with the other determinants of the values.
    resume : reuse cached per-slice features.

    Returns
    -------
    DeepFeatureResult ; ``table`` has ``patient_id`` then ``<seq>_dl_<k>`` (float64) for the
    patients that succeeded in every sequence; ``failures`` lists ``{patient_id, sequence, error}``.
    """
    import torch

    from radnomo.io.tables import write_feature_table
    from radnomo.runtime import deep_compute_record, resolve_device

    dev = resolve_device(device)
    threads = int(num_threads) if num_threads is not None else int(torch.get_num_threads())
    if threads < 1:
        raise InputError(f"num_threads must be a positive integer, not {num_threads!r}")
    compute = deep_compute_record(dev, threads, deterministic=True)
    seqs, pids = _selection(manifest, sequences, patients)
    run = _Extraction(manifest, pids, config, dev, compute, Path(out) if out is not None else None, resume, progress)
    with torch_threads(threads), deterministic_torch(dev):
        for seq in seqs:
            run.add_sequence(seq, model_dir=model_dir, weights=weights)
    table, sampling, metadata = run.result(seqs)
    if run.out is not None:
        write_feature_table(table, run.out, metadata)
        with atomic_path(run.out.with_name(f"{run.out.stem}_slices.csv")) as tmp:
            sampling.to_csv(tmp, index=False)
    return DeepFeatureResult(table=table, metadata=metadata, failures=run.failures, path=run.out, sampling=sampling)


def _selection(manifest, sequences: Sequence[str] | None, patients: Sequence[str] | None):
    """The sequences and patients to extract (default: all of the manifest's); unknown ones are an error."""
    seqs = list(sequences) if sequences else list(manifest.sequences)
    bad = [s for s in seqs if s not in manifest.sequences]
    if bad:
        raise InputError(f"sequence(s) {bad} are not in the manifest; it has {list(manifest.sequences)}")
    pids = [str(p) for p in patients] if patients is not None else manifest.patients
    unknown = sorted(set(pids) - set(manifest.patients))
    if unknown:
        raise InputError(f"patient(s) {unknown[:10]} are not in the manifest")
    return seqs, pids


@dataclass
class _Extraction:
    """One run of :func:`extract_deep_features`: its settings and what the sequences have given so far."""

    manifest: Any
    pids: list[str]
    config: DeepExtractConfig
    dev: str
    compute: dict
    out: Path | None
    resume: bool
    progress: bool
    per_seq: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    weights_meta: dict[str, Any] = field(default_factory=dict)
    slice_meta: dict[str, Any] = field(default_factory=dict)
    sampling_rows: list[pd.DataFrame] = field(default_factory=list)

    def add_sequence(self, seq: str, *, model_dir, weights: str) -> None:
        """Aggregated features of every patient in ``seq`` (a patient whose slices cannot be read fails)."""
        from tqdm.auto import tqdm

        model, info, record = load_sequence_model(seq, model_dir=model_dir, weights=weights)
        model.to(self.dev)
        slices = self.config.slices
        if slices is None:
            slices = SliceConfig(**_slice_kwargs(record["train_config"]["slices"])) if record else SliceConfig()
        self.slice_meta[seq] = slices.to_dict()
        self.weights_meta[seq] = {
            **_portable_weights(info.to_dict(), self.out.parent if self.out is not None else None),
            "train_config": record.get("train_config"),
            "n_train_patients": len(record.get("train_patients", [])) or None,
            "train_fingerprint": record.get("fingerprint")}
        cache_dir = self._cache_dir(seq, info, slices)
        self.per_seq[seq] = {}
        for pid in tqdm(self.pids, desc=f"deep features {seq}", disable=not self.progress):
            try:
                feats, kidx, roi, nroi = _patient_slice_features(self.manifest, pid, seq, model, slices, self.config,
                                                                 self.dev, cache_dir)
            except InputError as exc:
                self.failures.append({"patient_id": pid, "sequence": seq, "error": str(exc)})
                continue
            self.per_seq[seq][pid] = aggregate_features(feats, roi, self.config.aggregation)
            self.sampling_rows.append(pd.DataFrame({"patient_id": pid, "sequence": seq, "slice_index": kidx,
                                                    "roi_voxels": roi, "position": np.arange(len(kidx)),
                                                    "n_roi_slices": nroi}))
        model.cpu()

    def _cache_dir(self, seq: str, info: WeightsInfo, slices: SliceConfig) -> Path | None:
        """The per-slice cache folder of these weights, slices and compute settings (emptied for ``seq``
        without ``resume``); ``None`` without an output file."""
        if self.out is None:
            return None
        cache_dir = self.out.parent / f".{self.out.name}.parts" / _cache_key(info, slices, self.compute)
        if not self.resume and cache_dir.exists():
            for f in cache_dir.glob(f"{seq}/*.npz"):
                f.unlink()
        return cache_dir

    def result(self, seqs: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        """The table (patients that succeeded in every sequence), the slice sampling and the metadata."""
        ok = [p for p in self.pids if all(p in self.per_seq[s] for s in seqs)]
        blocks = [pd.DataFrame({"patient_id": ok})]
        for s in seqs:
            mat = np.stack([self.per_seq[s][p] for p in ok]) if ok else np.zeros((0, FEATURE_DIM))
            blocks.append(pd.DataFrame(mat, columns=feature_columns(s)))
        table = pd.concat(blocks, axis=1)
        sampling = pd.concat(self.sampling_rows, ignore_index=True) if self.sampling_rows else sampling_table([])
        return table, sampling, self._metadata(seqs, ok, sampling)

    def _metadata(self, seqs: list[str], ok: list[str], sampling: pd.DataFrame) -> dict[str, Any]:
        from radnomo.runtime import software_versions

        return {
            "engine": "deep",
            "model": "torchvision densenet169",
            "layer": FEATURE_LAYER,
            "feature_dim": FEATURE_DIM,
            "aggregation": self.config.aggregation,
            "aggregation_definition": {"mean": "element-wise mean over the ROI slices",
                                       "max": "element-wise maximum over the ROI slices",
                                       "largest": "the slice with the most ROI voxels"}[self.config.aggregation],
            "sequences": seqs,
            "weights": self.weights_meta,
            "slices": self.slice_meta,
            "slice_sampling": {s: {p: sampling.loc[(sampling.sequence == s) & (sampling.patient_id == p),
                                                   "slice_index"].astype(int).tolist()
                                   for p in ok} for s in seqs},
            "device": self.dev,
            "mixed_precision": bool(self.config.mixed_precision and self.dev == "cuda"),
            "versions": software_versions(),
            "compute": self.compute,
            "failures": self.failures,
            "n_patients": len(ok),
        }


def _slice_kwargs(d: dict) -> dict:
    d = dict(d)
    d["intensity_percentiles"] = tuple(d["intensity_percentiles"])
    return d


