"""Benchmark of the deep feature engine: slices per second for feature extraction and for training.

Runs radnomo's own code paths (:func:`radnomo.features.deep.slice_features` and
:func:`radnomo.features.deep_train.run_epoch`) on synthetic ROI slices built by
:func:`radnomo.features.slices.roi_slices_from_arrays` (no image files, no
SimpleITK needed), with a randomly initialised DenseNet-169 (speed does not
depend on the weights). Prints the figures and the device, and writes them to
``<out>/bench_deep.json`` when ``--out`` (or ``$OUT``) is given.

Usage::

    python tests/benchmarks/bench_deep.py                 # CPU, small counts
    python tests/benchmarks/bench_deep.py --device cuda --out "$OUT"

Measured (image size 224, DenseNet-169, randomly initialised; slices/s):

=====================================  ==================  ==================
device (run)                           extraction          training step
=====================================  ==================  ==================
dev machine CPU, 1 thread, 2 shared    5.0 (fp32, b16)     1.9 (fp32, b8)
cores under load ~5.6 (2026-11-26)
H200 host CPU, 16 threads, torch 2.11  25.1 (fp32, b16)    11.6 (fp32, b8)
NVIDIA H200, torch 2.11, batch 64/32   1205 fp32,          180 bf16 autocast,
(``--device cuda``, 2026-11-26)        1132 bf16 autocast  183 fp32
=====================================  ==================  ==================

On the H200 mixed precision brings nothing at these batch sizes: DenseNet-169's
~600 small kernels per pass and the CPU-side augmentation / per-step host sync
dominate (peak GPU memory 6.2 GiB). A 50-epoch study run of e.g. 2000 ROI slices
per sequence is therefore ~10 min per sequence on that GPU and ~2.5 h on 16 CPU
threads.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path


def _slices(n: int, size: int):
    import numpy as np

    from radnomo.features.slices import SliceConfig, roi_slices_from_arrays

    rng = np.random.default_rng(0)
    out = []
    k, j, i = np.mgrid[:8, :48, :48]
    mask = (j - 24) ** 2 + (i - 24) ** 2 <= 15 ** 2
    while sum(len(s) for s in out) < n:
        img = rng.normal(100, 10, mask.shape) + 50 * mask
        out.append(roi_slices_from_arrays(img, mask, config=SliceConfig(image_size=size)))
    return np.concatenate([s.images for s in out])[:n]


def _sync(device: str):
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def bench_extraction(model, images, *, device: str, batch_size: int, mixed_precision: bool, repeats: int) -> float:
    from radnomo.features.deep import slice_features

    slice_features(model, images[: batch_size], device=device, batch_size=batch_size, mixed_precision=mixed_precision)
    _sync(device)
    t = time.perf_counter()
    for _ in range(repeats):
        slice_features(model, images, device=device, batch_size=batch_size, mixed_precision=mixed_precision)
    _sync(device)
    return repeats * len(images) / (time.perf_counter() - t)


def bench_training(model, images, *, device: str, batch_size: int, batches: int, amp: bool) -> float:
    import numpy as np
    import torch

    from radnomo.features.deep_train import DeepTrainConfig, _amp_settings, run_epoch
    from radnomo.features.slices import SliceConfig

    cfg = DeepTrainConfig(batch_size=batch_size, weights="none", mixed_precision=amp,
                          slices=SliceConfig(image_size=images.shape[-1]))
    x = torch.from_numpy(images)[:, None]
    y = torch.from_numpy((np.arange(len(images)) % 2).astype(np.float32))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    amp_dtype, use_scaler = _amp_settings(device, cfg)
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    run_epoch(model, opt, scaler, x, y, config=cfg, epoch=0, device=device, amp_dtype=amp_dtype, max_batches=1)
    _sync(device)
    t = time.perf_counter()
    run_epoch(model, opt, scaler, x, y, config=cfg, epoch=1, device=device, amp_dtype=amp_dtype, max_batches=batches)
    _sync(device)
    return batches * batch_size / (time.perf_counter() - t)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--extract-slices", type=int, default=None, help="slices per extraction pass (default: 32 CPU, 512 GPU)")
    p.add_argument("--extract-batch", type=int, default=None, help="default: 16 CPU, 64 GPU")
    p.add_argument("--train-batch", type=int, default=None, help="default: 8 CPU, 32 GPU (the study's batch)")
    p.add_argument("--train-batches", type=int, default=None, help="timed training steps (default: 2 CPU, 30 GPU)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", default=os.environ.get("OUT"), help="folder for bench_deep.json")
    a = p.parse_args(argv)

    import torch

    from radnomo.features.deep_model import build_densenet169
    from radnomo.runtime import resolve_device

    dev = resolve_device(a.device)
    gpu = dev == "cuda"
    if a.threads:
        torch.set_num_threads(a.threads)
    if gpu:
        torch.backends.cudnn.benchmark = True
    n_ext = a.extract_slices or (512 if gpu else 32)
    eb = a.extract_batch or (64 if gpu else 16)
    tb = a.train_batch or (32 if gpu else 8)
    tn = a.train_batches or (30 if gpu else 2)
    images = _slices(max(n_ext, tb * (tn + 1)), a.image_size)
    model, _, _ = build_densenet169("none", seed=0)
    model.to(dev)
    res = {
        "device": torch.cuda.get_device_name(0) if gpu else (platform.processor() or platform.machine()),
        "device_kind": dev, "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
        "python": sys.version.split()[0], "image_size": a.image_size, "model": "densenet169",
        "extract_batch": eb, "extract_slices": n_ext, "train_batch": tb, "train_batches_timed": tn,
    }
    reps = 3 if gpu else 1
    res["extract_fp32_slices_per_s"] = bench_extraction(model, images[:n_ext], device=dev, batch_size=eb,
                                                        mixed_precision=False, repeats=reps)
    print(f"[{res['device']}] extraction fp32: {res['extract_fp32_slices_per_s']:.1f} slices/s", flush=True)
    if gpu:
        res["extract_bf16_slices_per_s"] = bench_extraction(model, images[:n_ext], device=dev, batch_size=eb,
                                                            mixed_precision=True, repeats=reps)
        print(f"[{res['device']}] extraction bf16 autocast: {res['extract_bf16_slices_per_s']:.1f} slices/s", flush=True)
    res["train_slices_per_s"] = bench_training(model, images, device=dev, batch_size=tb, batches=tn, amp=True)
    res["train_mixed_precision"] = gpu
    print(f"[{res['device']}] training ({'bf16 autocast' if gpu else 'fp32'}): {res['train_slices_per_s']:.1f} slices/s",
          flush=True)
    if gpu:
        res["train_fp32_slices_per_s"] = bench_training(model, images, device=dev, batch_size=tb, batches=tn, amp=False)
        print(f"[{res['device']}] training fp32: {res['train_fp32_slices_per_s']:.1f} slices/s", flush=True)
        res["gpu_max_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30
    if a.out:
        path = Path(a.out) / "bench_deep.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(res, indent=2), encoding="utf-8")
        print(f"wrote {path}")
    print(json.dumps(res, indent=2))
    return res


if __name__ == "__main__":
    main()
