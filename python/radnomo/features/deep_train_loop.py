"""The training loop of :func:`radnomo.features.deep_train.train_deep_model`.

One epoch (:func:`run_epoch`: order and augmentation from a generator seeded by ``(seed, epoch)``,
mixed precision on CUDA), the optimiser and its state resumed from a checkpoint
(:class:`TrainingRun`), checkpoints written after every epoch, torch's thread count, and the
patient-level AUC reported per epoch.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.features.deep_model import model_logits
from radnomo.features.slices import to_network_input
from radnomo.io.atomic import atomic_path

if TYPE_CHECKING:
    from radnomo.features.deep_train import DeepTrainConfig

_CKPT_FORMAT = "radnomo-densenet169-checkpoint-v1"


def patient_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count 1/2); NaN with a single class."""
    from scipy.stats import rankdata

    y = np.asarray(labels).astype(int)
    s = np.asarray(scores, dtype=float)
    n1, n0 = int((y == 1).sum()), int((y == 0).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def epoch_generator(seed: int, epoch: int):
    """Generator for one epoch's order and augmentation: a function of (seed, epoch) only."""
    import torch

    digest = hashlib.sha256(f"radnomo-deep:{seed}:{epoch}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))


def augment_batch(x, gen, *, padding: int, hflip_probability: float):
    """Random horizontal flip and random crop (zero-pad ``padding`` px, crop back) of ``(b, 1, S, S)``."""
    import torch
    import torch.nn.functional as F

    b, _, s, _ = x.shape
    flips = torch.rand(b, generator=gen) < hflip_probability
    offs = torch.randint(0, 2 * padding + 1, (b, 2), generator=gen)
    x = torch.where(flips.view(b, 1, 1, 1), x.flip(-1), x)
    if padding > 0:
        xp = F.pad(x, (padding, padding, padding, padding))
        x = torch.stack([xp[i, :, int(oy):int(oy) + s, int(ox):int(ox) + s] for i, (oy, ox) in enumerate(offs.tolist())])
    return x


def _batches(n: int, batch_size: int, perm) -> list:
    idx = [perm[i:i + batch_size] for i in range(0, n, batch_size)]
    if len(idx) > 1 and len(idx[-1]) < 2:  # a batch of one breaks batch norm in training mode
        idx = idx[:-1]
    return idx


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Temporarily set torch's intra-op CPU threads (``None``: leave as is)."""
    import torch

    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def run_epoch(model, opt, scaler, images, labels, *, config: DeepTrainConfig, epoch: int, device: str,
              amp_dtype=None, max_batches: int | None = None):
    """One training epoch over ``images`` ``(n, 1, S, S)`` in [0, 1] with slice ``labels`` ``(n,)``.

    Order, flips and crops come from :func:`epoch_generator` ``(config.seed, epoch)``.
    Returns ``(mean BCE loss, per-slice probabilities (NaN for slices not visited))``.
    ``max_batches`` stops early (benchmarks).
    """
    import torch

    model.train()
    n = images.shape[0]
    gen = epoch_generator(config.seed, epoch)
    perm = torch.randperm(n, generator=gen)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    tot, cnt = 0.0, 0
    slice_prob = np.full(n, np.nan)
    for b, bidx in enumerate(_batches(n, config.batch_size, perm)):
        if max_batches is not None and b >= max_batches:
            break
        xb = augment_batch(images[bidx], gen, padding=config.padding, hflip_probability=config.hflip_probability)
        xb = to_network_input(xb).to(device, non_blocking=True)
        yb = labels[bidx].to(device, non_blocking=True)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type="cuda", dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None):
            logit = model_logits(model, xb)
            loss = loss_fn(logit.float(), yb)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        tot += float(loss.detach()) * len(bidx)
        cnt += len(bidx)
        slice_prob[bidx.numpy()] = torch.sigmoid(logit.detach().float()).cpu().numpy()
    return tot / max(cnt, 1), slice_prob


def _checkpoints(folder: Path) -> list[Path]:
    return sorted(folder.glob("epoch_*.pt"))


def _amp_settings(device: str, config: DeepTrainConfig):
    import torch

    if device != "cuda" or not config.mixed_precision:
        return None, False
    if torch.cuda.is_bf16_supported():
        return torch.bfloat16, False
    return torch.float16, True


def _write_checkpoint(folder: Path, epoch: int, model, opt, sched, scaler, history, fp: str, keep: int) -> Path:
    import torch

    payload = {
        "format": _CKPT_FORMAT, "epoch": epoch, "fingerprint": fp,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
        "history": history,
    }
    path = folder / f"epoch_{epoch:03d}.pt"
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # file object: byte-identical reruns (see save_finetuned_model)
        torch.save(payload, fh)
    for old in _checkpoints(folder)[:-keep]:
        old.unlink(missing_ok=True)
    return path


@dataclass
class TrainingData:
    """The training slices as tensors: ``images`` ``(n, 1, S, S)``, ``slice_labels`` ``(n,)``, each
    slice's patient (``owner``: an index into ``patients``) and the patients' labels."""

    images: Any
    slice_labels: Any
    owner: np.ndarray
    patient_labels: np.ndarray
    patients: list[str]

    @classmethod
    def of(cls, stacks, sequence: str) -> TrainingData:
        """Stack the patients' slices; both labels and at least two slices are required."""
        import torch

        labels_p = np.array([s.label for s in stacks], dtype=int)
        if len(set(labels_p.tolist())) < 2:
            raise InputError(f"sequence {sequence!r}: the training patients with readable data have only label(s) "
                             f"{sorted(set(labels_p.tolist()))}; need both 0 and 1")
        images = torch.from_numpy(np.concatenate([s.images for s in stacks]))[:, None]
        y_slice = torch.from_numpy(np.concatenate([np.full(len(s), s.label, dtype=np.float32) for s in stacks]))
        owner = np.concatenate([np.full(len(s), i) for i, s in enumerate(stacks)])
        n = images.shape[0]
        if n < 2:
            raise InputError(f"sequence {sequence!r}: only {n} training slice(s); need at least 2")
        return cls(images, y_slice, owner, labels_p, [s.patient_id for s in stacks])

    def epoch_auc(self, slice_prob: np.ndarray) -> float:
        """AUC of the patients' mean slice probabilities (slices not visited, NaN, left out)."""
        ok = ~np.isnan(slice_prob)
        p_patient = pd.Series(slice_prob[ok]).groupby(self.owner[ok]).mean()
        return patient_auc(self.patient_labels[p_patient.index.to_numpy()], p_patient.to_numpy())


@dataclass
class TrainingRun:
    """A model with its optimiser, cosine schedule and loss scaler, the epochs' history, and the first
    epoch still to run; checkpoints go to ``ckpt_dir`` under the fingerprint ``fp``."""

    model: Any
    opt: Any
    sched: Any
    scaler: Any
    amp_dtype: Any
    history: list[dict]
    start: int
    ckpt_dir: Path
    fp: str

    @classmethod
    def start_or_resume(cls, model, config: DeepTrainConfig, device: str, ckpt_dir: Path, fp: str,
                        checkpoint: dict | None, resume: bool) -> TrainingRun:
        """Set up the optimisation of ``model`` (already on ``device``), continued from ``checkpoint`` when
        given; without ``resume``, earlier checkpoints in ``ckpt_dir`` are deleted."""
        import torch

        opt = torch.optim.SGD(model.parameters(), lr=float(config.lr), momentum=float(config.momentum),
                              weight_decay=float(config.weight_decay))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
        amp_dtype, use_scaler = _amp_settings(device, config)
        scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
        history: list[dict] = []
        start = 1
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            opt.load_state_dict(checkpoint["optimizer"])
            sched.load_state_dict(checkpoint["scheduler"])
            scaler.load_state_dict(checkpoint["scaler"])
            history = list(checkpoint["history"])
            start = int(checkpoint["epoch"]) + 1
        elif not resume:
            for p in _checkpoints(ckpt_dir):
                p.unlink()
        return cls(model, opt, sched, scaler, amp_dtype, history, start, ckpt_dir, fp)

    def train(self, data: TrainingData, config: DeepTrainConfig, *, device: str, sequence: str,
              stop_after_epoch: int | None, progress: bool) -> bool:
        """Run the remaining epochs, a checkpoint after each; ``False`` when stopped by ``stop_after_epoch``."""
        from tqdm.auto import tqdm

        bar = tqdm(range(self.start, config.epochs + 1), desc=f"train {sequence}", disable=not progress,
                   initial=self.start - 1, total=config.epochs)
        for epoch in bar:
            lr_now = self.opt.param_groups[0]["lr"]
            mean_loss, slice_prob = run_epoch(self.model, self.opt, self.scaler, data.images, data.slice_labels,
                                              config=config, epoch=epoch, device=device, amp_dtype=self.amp_dtype)
            self.sched.step()
            auc = data.epoch_auc(slice_prob)
            self.history.append({"epoch": epoch, "lr": lr_now, "loss": mean_loss, "auc": auc})
            bar.set_postfix(loss=f"{self.history[-1]['loss']:.4f}", auc=f"{auc:.3f}")
            _write_checkpoint(self.ckpt_dir, epoch, self.model, self.opt, self.sched, self.scaler, self.history,
                              self.fp, config.keep_checkpoints)
            if stop_after_epoch is not None and epoch >= stop_after_epoch and epoch < config.epochs:
                bar.close()
                return False
        bar.close()
        return True
