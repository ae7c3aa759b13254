"""DenseNet-169 on ROI slices, for extraction: deterministic inference in batches, the per-patient
aggregation of the slice features, and the model of a sequence (fine-tuned or given weights)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from radnomo.errors import InputError
from radnomo.features.deep_model import FEATURE_DIM, build_densenet169, pooled_features
from radnomo.features.slices import to_network_input

#: How slice features become one patient vector (see :mod:`radnomo.features.deep`).
AGGREGATIONS: tuple[str, ...] = ("mean", "max", "largest")


def feature_columns(sequence: str) -> list[str]:
    """Column names ``<sequence>_dl_1`` ... ``<sequence>_dl_1664``."""
    return [f"{sequence}_dl_{k}" for k in range(1, FEATURE_DIM + 1)]


def aggregate_features(slice_features: np.ndarray, roi_voxels: np.ndarray, how: str = "mean") -> np.ndarray:
    """Aggregate ``(n, 1664)`` slice features into one patient vector (see the module docstring)."""
    f = np.asarray(slice_features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] == 0:
        raise InputError(f"slice features must be a non-empty (n, d) array, got shape {f.shape}")
    if how == "mean":
        return f.mean(axis=0)
    if how == "max":
        return f.max(axis=0)
    if how == "largest":
        return f[int(np.argmax(np.asarray(roi_voxels)))]
    raise InputError(f"aggregation must be one of {list(AGGREGATIONS)}, not {how!r}")


@contextlib.contextmanager
def deterministic_torch(device: str = "cpu"):
    """Torch's deterministic mode for inference, restored afterwards.

    ``torch.use_deterministic_algorithms(True)`` (``warn_only`` on CUDA, where a
    kernel without a deterministic variant should not stop a study) and, on
    CUDA, cuDNN's deterministic algorithms without benchmarking (autotuning
    could pick another convolution algorithm from one run to the next).
    """
    import torch

    prev = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(True, warn_only=(device == "cuda"))
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev[0], warn_only=prev[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev[2], prev[3]


def slice_features(model, images: np.ndarray, *, device: str = "cpu", batch_size: int = 32,
                   mixed_precision: bool = False) -> np.ndarray:
    """Pooled DenseNet features of ``(n, S, S)`` slices in [0, 1] -> ``(n, 1664)`` float32.

    On a GPU without ``mixed_precision`` the convolutions run in true float32
    (cuDNN's TF32 shortcut is switched off here): features extracted on a GPU
    then agree with CPU-extracted ones to float32 rounding, so a model trained
    on GPU features scores patients extracted on a CPU unchanged. (With TF32
    they differed by up to 5e-3 on an H200.)
    """
    import contextlib

    import torch

    model.eval()
    out = []
    use_amp = mixed_precision and device == "cuda"
    exact = torch.backends.cudnn.flags(enabled=True, allow_tf32=False) if (device == "cuda" and not use_amp) \
        else contextlib.nullcontext()
    with torch.inference_mode(), exact:
        for i in range(0, len(images), batch_size):
            x = to_network_input(torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size]))).to(device)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_amp):
                out.append(pooled_features(model, x).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, FEATURE_DIM), np.float32)


def load_sequence_model(sequence: str, *, model_dir: str | os.PathLike | None, weights: str, seed: int = 0):
    """The model for ``sequence``: ``model_dir/<sequence>/model.pt`` if ``model_dir`` is given, else ``weights``.

    Returns ``(model, WeightsInfo, record)`` (``record``: the fine-tuning record, or ``{}``).
    """
    if model_dir is not None:
        path = Path(model_dir) / sequence / "model.pt"
        if not path.exists():
            raise InputError(f"sequence {sequence!r}: no fine-tuned model at {path}; run `radnomo train-deep` first "
                             "or extract with --weights instead of --model-dir")
        return build_densenet169(path, seed=seed)
    return build_densenet169(weights, seed=seed)
