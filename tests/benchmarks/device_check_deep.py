"""Device check: the deep engine's user path end to end on a CUDA GPU.

Not part of the test suite (CI has no GPU). Generates a small synthetic cohort
(NIfTI), fine-tunes DenseNet-169 for one sequence on the training patients
with ``device="cuda"`` (mixed precision), extracts the 1664 pooled features on
the GPU and on the CPU with the same fine-tuned model and compares them, and
writes Grad-CAM overlays on the GPU. Prints a JSON summary (also to
``--out/device_check_deep.json``).

    python3 tests/benchmarks/device_check_deep.py --out DIR [--n 12] [--epochs 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--work", type=Path, default=None,
                    help="scratch folder for the cohort and models (default: a new temporary folder)")
    args = ap.parse_args(argv)

    import torch

    from radnomo.explain.gradcam import gradcam_for_patients
    from radnomo.features.deep import DeepExtractConfig, extract_deep_features
    from radnomo.features.deep_train import DeepTrainConfig, train_deep_model
    from radnomo.features.slices import SliceConfig
    from radnomo.io.manifest import manifest_from_frame, read_manifest
    from radnomo.synth import generate_cohort

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    import tempfile

    work = args.work if args.work is not None else Path(tempfile.mkdtemp(prefix="radnomo_device_check_"))
    res: dict = {"torch": torch.__version__, "cuda": torch.cuda.is_available()}
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    res["gpu"] = torch.cuda.get_device_name(0)
    t = time.perf_counter()
    paths = generate_cohort(work / "cohort", n=args.n, size="small", seed=7, workers=8, progress=False)
    res["synth_s"] = round(time.perf_counter() - t, 1)
    m = read_manifest(paths.manifest)
    table = m.table.copy()
    n_train = int(round(0.7 * len(table)))
    table["split"] = ["train"] * n_train + ["test"] * (len(table) - n_train)
    m = manifest_from_frame(table, root=m.root)
    slices = SliceConfig(image_size=args.image_size)
    cfg = DeepTrainConfig(epochs=args.epochs, batch_size=32, weights="none", seed=3, slices=slices)
    t = time.perf_counter()
    tr = train_deep_model(m, "pvp", work / "models" / "pvp", config=cfg, device="cuda", progress=False)
    res["train_s"] = round(time.perf_counter() - t, 1)
    res["train_history"] = tr.history.to_dict(orient="records")
    res["train_patients"] = list(tr.train_patients)
    ecfg = DeepExtractConfig(slices=slices)
    t = time.perf_counter()
    gpu = extract_deep_features(m, work / "deep_gpu.parquet", model_dir=work / "models", sequences=["pvp"],
                                config=ecfg, device="cuda", progress=False)
    res["extract_gpu_s"] = round(time.perf_counter() - t, 1)
    few = m.patients[:3]
    t = time.perf_counter()
    cpu = extract_deep_features(m, work / "deep_cpu.parquet", model_dir=work / "models", sequences=["pvp"],
                                patients=few, config=ecfg, device="cpu", progress=False)
    res["extract_cpu_3_patients_s"] = round(time.perf_counter() - t, 1)
    a = gpu.table.set_index("patient_id").loc[few].to_numpy(float)
    b = cpu.table.set_index("patient_id").loc[few].to_numpy(float)
    res["features_shape_gpu"] = list(gpu.table.shape)
    res["gpu_vs_cpu_max_abs_diff"] = float(np.max(np.abs(a - b)))
    res["gpu_vs_cpu_max_rel_diff"] = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-3)))
    res["metadata_device"] = gpu.metadata["device"]
    cams = gradcam_for_patients(m, "pvp", [p for p in m.patients[n_train:]][:2], out / "gradcam",
                                model_dir=work / "models", device="cuda", progress=False)
    res["gradcam"] = pd.DataFrame(cams).drop(columns=["png"], errors="ignore").to_dict(orient="records")
    (out / "device_check_deep.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    print(json.dumps(res, indent=2, default=str))
    return res


if __name__ == "__main__":
    main()
