"""Fine-tuning DenseNet-169 on ROI slices of the training patients.

One model per sequence. Every ROI slice of a training patient is a sample
carrying its patient's label; the loss is binary cross-entropy on the single
logit. The defaults are the reference study's: SGD with learning rate 0.01 and
momentum 0.9, cosine annealing over 50 epochs, batches of 32, random
horizontal flips and random crops, ImageNet initialisation.

Only training patients are ever read: the manifest's ``split`` column
(``train``) or an explicit list of patient ids; a manifest with neither is an
error, so test patients can never leak into training.

Reproducibility and resuming: the head (and, with ``weights="none"``, every
layer) is initialised from ``seed``; each epoch's sample order, flips and crop
offsets come from a generator seeded by ``(seed, epoch)``; after every epoch a
checkpoint (model, optimiser, scheduler, loss scaler, history) is
written atomically (training draws nothing from the global RNG, so the
per-epoch generator is the whole random state). A rerun resumes from the last checkpoint of the same
configuration and produces the same weights as an uninterrupted run (on the
CPU; cuDNN kernels on a GPU are not bit-deterministic).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from radnomo.errors import InputError
from radnomo.features.deep_model import FEATURE_LAYER, build_densenet169, save_finetuned_model, weights_info
from radnomo.features.deep_train_loop import (  # noqa: F401  (run_epoch, _amp_settings, ...: re-exported)
    TrainingData,
    TrainingRun,
    _amp_settings,
    _checkpoints,
    augment_batch,
    epoch_generator,
    patient_auc,
    run_epoch,
    torch_threads,
)
from radnomo.features.slices import SliceConfig, load_slice_stack, sampling_table
from radnomo.io.atomic import atomic_path, write_text_atomic

@dataclass(frozen=True)
class DeepTrainConfig:
    """Settings of DenseNet-169 fine-tuning (defaults: the reference study unless noted).

    Parameters
    ----------
    epochs : training epochs (study: 50); the cosine schedule spans them.
    batch_size : slices per batch (study: 32).
    lr : initial SGD learning rate (study: 0.01), annealed by a cosine to 0.
    momentum : SGD momentum (study: 0.9).
    weight_decay : L2 penalty (not stated in the study; default 0).
    crop_padding : random crop = zero-pad by this many pixels on each side, then
        crop ``image_size`` at a random offset; ``None`` -> ``image_size // 8``
        (the study names "random crop" without its size).
    hflip_probability : probability of a horizontal flip (study: random flip; 0.5).
    seed : seeds initialisation, sample order and augmentation.
    weights : ``"imagenet"`` (study), ``"none"`` or a weights file path.
    slices : :class:`~radnomo.features.slices.SliceConfig` (image size, slice sampling).
    mixed_precision : use autocast (bfloat16, or float16 with loss scaling) on CUDA;
        ignored on the CPU.
    keep_checkpoints : number of most recent epoch checkpoints kept on disk.
    """

    epochs: int = 50
    batch_size: int = 32
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    crop_padding: int | None = None
    hflip_probability: float = 0.5
    seed: int = 20250101
    weights: str = "imagenet"
    slices: SliceConfig = field(default_factory=SliceConfig)
    mixed_precision: bool = True
    keep_checkpoints: int = 2

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise InputError(f"epochs must be a positive integer, not {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            raise InputError(f"batch_size must be an integer >= 2 (batch norm needs 2 samples), not {self.batch_size!r}")
        if not (float(self.lr) > 0 and math.isfinite(float(self.lr))):
            raise InputError(f"lr must be a positive number, not {self.lr!r}")
        if not (0.0 <= float(self.momentum) < 1.0):
            raise InputError(f"momentum must be within [0, 1), not {self.momentum!r}")
        if not (float(self.weight_decay) >= 0.0):
            raise InputError(f"weight_decay must be >= 0, not {self.weight_decay!r}")
        if not isinstance(self.slices, SliceConfig):
            raise InputError(f"slices must be a SliceConfig, not {type(self.slices).__name__}")
        if self.crop_padding is not None and (not isinstance(self.crop_padding, int) or not 0 <= self.crop_padding < self.slices.image_size):
            raise InputError(f"crop_padding must be an integer in [0, image_size), not {self.crop_padding!r}")
        if not (0.0 <= float(self.hflip_probability) <= 1.0):
            raise InputError(f"hflip_probability must be within [0, 1], not {self.hflip_probability!r}")
        if not isinstance(self.seed, int):
            raise InputError(f"seed must be an integer, not {self.seed!r}")
        if not isinstance(self.weights, (str, os.PathLike)):
            raise InputError(f"weights must be 'imagenet', 'none' or a file path, not {self.weights!r}")
        if not isinstance(self.keep_checkpoints, int) or self.keep_checkpoints < 1:
            raise InputError(f"keep_checkpoints must be a positive integer, not {self.keep_checkpoints!r}")

    @property
    def padding(self) -> int:
        return self.slices.image_size // 8 if self.crop_padding is None else self.crop_padding

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs, "batch_size": self.batch_size, "lr": float(self.lr),
            "momentum": float(self.momentum), "weight_decay": float(self.weight_decay),
            "optimizer": "SGD", "scheduler": "CosineAnnealingLR(T_max=epochs), stepped per epoch",
            "loss": "BCEWithLogits on one logit per slice (slice carries its patient's label)",
            "crop_padding": self.padding, "hflip_probability": float(self.hflip_probability),
            "seed": self.seed, "weights": str(self.weights), "slices": self.slices.to_dict(),
            "mixed_precision": bool(self.mixed_precision),
        }


@dataclass
class TrainResult:
    """Outcome of :func:`train_deep_model` for one sequence."""

    sequence: str
    model_path: Path
    history: pd.DataFrame
    train_patients: list[str]
    failures: list[tuple[str, str]]
    resumed_from_epoch: int = 0
    skipped: bool = False


def select_training_patients(manifest, train_patients: Sequence[str] | None = None) -> list[str]:
    """Training patients: ``train_patients`` if given, else the manifest's ``split == "train"`` rows.

    Raises :class:`InputError` when neither is available, when a listed id is not
    in the manifest or is marked ``test`` there, or when labels are missing.
    """
    table = manifest.table
    if train_patients is not None:
        ids = [str(p).strip() for p in train_patients]
        if not ids:
            raise InputError("the list of training patients is empty")
        unknown = sorted(set(ids) - set(manifest.patients))
        if unknown:
            raise InputError(f"training patient(s) {unknown[:10]} are not in the manifest {manifest.path or '(in memory)'}")
        if "split" in table.columns:
            test = table.loc[table["patient_id"].isin(ids) & (table["split"] == "test"), "patient_id"].tolist()
            if test:
                raise InputError(f"training patient(s) {test[:10]} are marked split='test' in the manifest; refusing to train on them")
        ids = list(dict.fromkeys(ids))
    elif "split" in table.columns:
        ids = table.loc[table["split"] == "train", "patient_id"].tolist()
        if not ids:
            raise InputError(f"the manifest {manifest.path or '(in memory)'} has no patient with split='train'")
    else:
        raise InputError(
            f"the manifest {manifest.path or '(in memory)'} has no 'split' column and no training patients were given; "
            "add a split column (train/test) or pass the training patient ids (--train-ids FILE) so that test patients are never used for training"
        )
    if not manifest.has_labels:
        raise InputError(f"the manifest {manifest.path or '(in memory)'} has no 'label' column; training needs labels")
    labels = table.set_index("patient_id").loc[ids, "label"]
    missing = labels.index[labels.isna()].tolist()
    if missing:
        raise InputError(f"training patient(s) {missing[:10]} have no label")
    return ids


def _fingerprint(sequence: str, config: DeepTrainConfig, train_patients: list[str], weights_sha: str | None,
                 inputs: dict | None = None) -> str:
    """What a trained model depends on: settings, training patients, their labels and image/mask content."""
    blob = json.dumps({"sequence": sequence, "config": config.to_dict(), "train": sorted(train_patients),
                       "weights_sha256": weights_sha, "inputs": inputs or {}}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _label_of(manifest, pid: str):
    if "label" not in manifest.table.columns:
        return None
    v = manifest.row(pid)["label"]
    return None if pd.isna(v) else int(v)


def load_training_slices(manifest, sequence: str, patients: list[str], slices: SliceConfig, progress: bool = True):
    """Read the ROI slices of ``patients``; return ``(stacks, failures)`` (bad cases reported, not fatal)."""
    from tqdm.auto import tqdm

    stacks, failures = [], []
    for pid in tqdm(patients, desc=f"slices {sequence}", disable=not progress, leave=False):
        try:
            stacks.append(load_slice_stack(manifest, pid, sequence, slices))
        except InputError as exc:
            failures.append((pid, str(exc)))
    return stacks, failures


# Long on purpose: 40 of its lines are the signature and the documented parameters; the steps are helpers
def train_deep_model(
    manifest,
    sequence: str,
    out_dir: str | os.PathLike,
    *,
    config: DeepTrainConfig = DeepTrainConfig(),
    train_patients: Sequence[str] | None = None,
    device: str = "auto",
    resume: bool = True,
    stop_after_epoch: int | None = None,
    num_threads: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """Fine-tune DenseNet-169 for one sequence on the training patients' ROI slices.

    Parameters
    ----------
    manifest : :class:`~radnomo.io.manifest.Manifest` with ``label``.
    sequence : the sequence to train on.
    out_dir : folder for this sequence's model: ``model.pt`` (final, loadable with
        ``weights=<out_dir>/model.pt``), ``checkpoints/epoch_NNN.pt``, ``history.csv``,
        ``train_slices.csv`` (slice sampling).
    config : :class:`DeepTrainConfig`.
    train_patients : explicit training ids (else the manifest's ``split``).
    device : ``"auto"``, ``"cpu"`` or ``"cuda"``.
    resume : continue from the last checkpoint of the same configuration, and skip
        the work entirely when ``model.pt`` of that configuration exists.
    stop_after_epoch : stop after this epoch without writing ``model.pt`` (an
        interruption, for tests and time-boxed runs); rerun to continue.
    num_threads : torch CPU threads during training (``None``: torch's default).

    Returns
    -------
    TrainResult ; ``history`` has one row per epoch: ``epoch, lr, loss`` (mean
    slice BCE) and ``auc`` (patient-level AUC on the training patients, from the
    mean slice probability of the epoch's augmented training passes).
    """
    from radnomo.runtime import resolve_device, software_versions

    dev = resolve_device(device)
    if sequence not in manifest.sequences:
        raise InputError(f"sequence {sequence!r} is not in the manifest; it has {list(manifest.sequences)}")
    ids = select_training_patients(manifest, train_patients)
    out_dir = Path(out_dir)
    model_path = out_dir / "model.pt"

    with torch_threads(num_threads):
        inputs = {pid: {"label": _label_of(manifest, pid), "digest": manifest.input_digest(pid, sequence)}
                  for pid in ids}
        fp = _fingerprint(sequence, config, ids, weights_info(config.weights).sha256, inputs)
        done = _finished_model(sequence, model_path, fp, ids) if resume else None
        if done is not None:
            return done
        checkpoint = _checkpoint_to_resume(out_dir / "checkpoints", fp) if resume else None
        model, winfo, _ = build_densenet169(config.weights, seed=config.seed)
        stacks, failures = load_training_slices(manifest, sequence, ids, config.slices, progress)
        data = TrainingData.of(stacks, sequence)
        model.to(dev)
        run = TrainingRun.start_or_resume(model, config, dev, out_dir / "checkpoints", fp, checkpoint, resume)
        resumed_from = run.start - 1
        if not run.train(data, config, device=dev, sequence=sequence, stop_after_epoch=stop_after_epoch,
                         progress=progress):
            return TrainResult(sequence, model_path, pd.DataFrame(run.history), data.patients, failures,
                               resumed_from_epoch=resumed_from)
        record = {
            "sequence": sequence, "fingerprint": fp, "train_config": config.to_dict(),
            "base_weights": winfo.to_dict(), "train_patients": data.patients, "failures": [list(f) for f in failures],
            "history": run.history, "feature_layer": FEATURE_LAYER, "device": dev,
            "versions": software_versions(), "n_slices": int(data.images.shape[0]),
        }
        hist = _save_model(out_dir, model, stacks, record)
    return TrainResult(sequence, model_path, hist, data.patients, failures, resumed_from_epoch=resumed_from)


def _finished_model(sequence: str, model_path: Path, fp: str, ids: list[str]) -> TrainResult | None:
    """The result of an earlier run with the same fingerprint (its ``model.pt``), else ``None``."""
    import torch

    if not model_path.exists():
        return None
    done = torch.load(model_path, map_location="cpu", weights_only=True)
    if done.get("fingerprint") != fp:
        return None
    return TrainResult(sequence, model_path, pd.DataFrame(done.get("history", [])),
                       list(done.get("train_patients", ids)),
                       [tuple(f) for f in done.get("failures", [])], skipped=True)


def _checkpoint_to_resume(ckpt_dir: Path, fp: str) -> dict | None:
    """The last checkpoint in ``ckpt_dir`` (``None`` when there is none); one of another fingerprint is an error."""
    import torch

    existing = _checkpoints(ckpt_dir)
    if not existing:
        return None
    ck = torch.load(existing[-1], map_location="cpu", weights_only=True)
    if ck.get("fingerprint") != fp:
        raise InputError(f"{ckpt_dir} holds checkpoints of another configuration, training set or training images; "
                         "use another output folder, or resume=False (--no-resume) to start over")
    return ck


def _save_model(out_dir: Path, model, stacks, record: dict) -> pd.DataFrame:
    """Write ``history.csv``, ``train_slices.csv``, ``model.pt`` (with ``record``) and ``train_record.json``;
    return the history."""
    hist = pd.DataFrame(record["history"])
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "history.csv") as tmp:
        hist.to_csv(tmp, index=False)
    with atomic_path(out_dir / "train_slices.csv") as tmp:
        sampling_table(stacks).to_csv(tmp, index=False)
    model.cpu()
    save_finetuned_model(model, out_dir / "model.pt", record)
    write_text_atomic(out_dir / "train_record.json", json.dumps({k: v for k, v in record.items() if k != "history"},
                                                                indent=2, default=str))
    return hist


def train_deep_models(
    manifest,
    out_dir: str | os.PathLike,
    *,
    sequences: Sequence[str] | None = None,
    config: DeepTrainConfig = DeepTrainConfig(),
    train_patients: Sequence[str] | None = None,
    device: str = "auto",
    resume: bool = True,
    num_threads: int | None = None,
    progress: bool = True,
) -> dict[str, TrainResult]:
    """Train one model per sequence into ``out_dir/<sequence>/`` (see :func:`train_deep_model`)."""
    seqs = list(sequences) if sequences else list(manifest.sequences)
    return {
        s: train_deep_model(manifest, s, Path(out_dir) / s, config=config, train_patients=train_patients,
                            device=device, resume=resume, num_threads=num_threads, progress=progress)
        for s in seqs
    }
