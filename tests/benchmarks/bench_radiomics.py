"""Benchmark: radnomo's radiomics extraction vs PyRadiomics' own batch command (not a timed test).

Same synthetic cases, same parameter YAML, serial: seconds per sequence, peak memory (max RSS of the
measured process and its children) and the ratio, plus the largest relative difference of the feature
values. Then radnomo with 1 vs N workers (speed-up; the goal is >= 1.8x on 2 cores).

    .venv/bin/python tests/benchmarks/bench_radiomics.py [--roi-voxels 1000000] [--cases 2] [--workers 2]

Defaults are small so `make bench` stays short; --roi-voxels 1000000 is the paper-size portal-venous
liver ROI at 1 mm.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def make_cases(root: Path, n: int, roi_voxels: int, seed: int = 0) -> Path:
    """Ellipsoidal ROIs of about ``roi_voxels`` voxels at 1 mm in textured noise; one sequence (pvp)."""
    import pandas as pd
    import SimpleITK as sitk

    r = (3 * roi_voxels / (4 * np.pi)) ** (1 / 3)
    half = int(np.ceil(r * 1.25)) + 8
    shape = (2 * half, 2 * half, 2 * half)
    rows = []
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
        d2 = ((z - half) / (r * 0.8)) ** 2 + ((y - half) / (r * 1.1)) ** 2 + ((x - half) / (r * 1.1)) ** 2
        roi = d2 <= 1
        img = rng.normal(0, 1, shape).astype(np.float32)
        img = sitk.GetArrayFromImage(sitk.SmoothingRecursiveGaussian(sitk.GetImageFromArray(img), 2.0))
        img = 400 + 60 * img / img.std() + 80 * roi
        im = sitk.GetImageFromArray(img.astype(np.float32))
        mk = sitk.GetImageFromArray(roi.astype(np.uint8))
        sitk.WriteImage(im, str(root / f"c{i}.nrrd"))
        sitk.WriteImage(mk, str(root / f"c{i}_mask.nrrd"))
        rows.append({"patient_id": f"c{i}", "pvp_image": f"c{i}.nrrd", "pvp_mask": f"c{i}_mask.nrrd",
                     "Image": str(root / f"c{i}.nrrd"), "Mask": str(root / f"c{i}_mask.nrrd")})
        print(f"case c{i}: image {shape}, ROI {int(roi.sum())} voxels", flush=True)
    df = pd.DataFrame(rows)
    df[["patient_id", "pvp_image", "pvp_mask"]].to_csv(root / "manifest.csv", index=False)
    df[["patient_id", "Image", "Mask"]].to_csv(root / "batch.csv", index=False)
    return root


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024.0


def measure(kind: str, root: Path, params: Path, workers: int, one_thread: bool = False) -> None:
    """Run in a fresh process: one engine, print JSON {seconds, peak_mb}.

    ``one_thread``: limit this process to one compute thread (ITK, BLAS), as every
    pool worker is, so that 1 worker vs N workers compares 1 core with N cores.
    """
    if one_thread:
        from radnomo.parallel import limit_threads

        limit_threads(1)
    t0 = time.perf_counter()
    if kind == "pyradiomics":
        exe = Path(sys.executable).with_name("pyradiomics")
        subprocess.run([str(exe), str(root / "batch.csv"), "-p", str(params), "-o", str(root / "pyrad.csv"),
                        "-f", "csv", "-j", "1", "-v", "1"], check=True)
    else:
        from radnomo.features.radiomics import extract_radiomics

        tag = f"w{workers}" + ("t1" if one_thread else "")  # own output and cache: nothing is reused
        res = extract_radiomics(root / "manifest.csv", params, root / f"radnomo_{tag}.parquet",
                                workers=workers, progress=False, cache_dir=root / f"cache_{tag}")
        assert res.n_failed == 0, res.errors
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": _peak_mb()}))


def _run(kind: str, root: Path, params: Path, workers: int = 1, one_thread: bool = False) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_measure", kind, "--_root", str(root), "--params", str(params),
                          "--workers", str(workers)] + (["--_one-thread"] if one_thread else []),
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(root: Path) -> tuple[int, float]:
    import pandas as pd

    from radnomo.io.tables import read_feature_table

    ours, _ = read_feature_table(root / "radnomo_w1.parquet")
    theirs = pd.read_csv(root / "pyrad.csv")
    n, worst = 0, 0.0
    for i, row in theirs.iterrows():
        mine = ours.set_index("patient_id").loc[row["patient_id"]]
        for col in theirs.columns:
            if col.startswith(("original_", "wavelet", "log-")):
                a, b = float(mine[f"pvp_{col}"]), float(row[col])
                worst = max(worst, abs(a - b) / abs(b) if b != 0 else abs(a))
                n += 1
    return n, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--roi-voxels", type=int, default=60_000)
    ap.add_argument("--cases", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--params", type=Path, default=REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml")
    ap.add_argument("--_measure", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_root", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_one-thread", dest="one_thread", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._measure:
        measure(args._measure, args._root, args.params, args.workers, args.one_thread)
        return
    import os

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_cases(Path(tmp), args.cases, args.roi_voxels)
        pyr = _run("pyradiomics", root, args.params)
        one = _run("radnomo", root, args.params, 1)
        n, worst = compare(root)
        many = _run("radnomo", root, args.params, args.workers)
        single = _run("radnomo", root, args.params, 1, one_thread=True)
        per = args.cases
        print(f"\nparams: {args.params.name}; {args.cases} case(s), ROI ~{args.roi_voxels} voxels, serial")
        print(f"{'engine':<22}{'s/sequence':>12}{'peak MB':>10}")
        print(f"{'pyradiomics batch -j1':<22}{pyr['seconds'] / per:>12.2f}{pyr['peak_mb']:>10.0f}")
        print(f"{'radnomo workers=1':<22}{one['seconds'] / per:>12.2f}{one['peak_mb']:>10.0f}")
        print(f"ratio radnomo/pyradiomics: time {one['seconds'] / pyr['seconds']:.2f}, "
              f"memory {one['peak_mb'] / pyr['peak_mb']:.2f}")
        print(f"feature values compared: {n}, largest relative difference {worst:.2e}")
        print(f"radnomo workers={args.workers}: {many['seconds'] / per:.2f} s/sequence, "
              f"speed-up {one['seconds'] / many['seconds']:.2f}x over workers=1 (in-process, ITK may use "
              f"several threads); {single['seconds'] / many['seconds']:.2f}x over one worker on one core "
              f"({single['seconds'] / per:.2f} s/sequence)")
        # (worker processes are children of the forkserver, so their CPU time and memory are not in
        # this process's RUSAGE_CHILDREN: peak MB is reported for workers=1 only)
        print(f"load average after: {os.getloadavg()[0]:.2f} (a speed-up needs {args.workers} idle cores)")


if __name__ == "__main__":
    main()
