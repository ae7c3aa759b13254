"""Device check: the radiomics engine's GPU path (issue 15) on a CUDA machine, in one run.

Not part of the test suite (CI has no GPU). It

1. runs ``tests/python/features/test_engine_gpu.py`` (there the CUDA tests run: the LoG and wavelet
   images bit for bit equal to the CPU engine's, the 1197 study features and every class's features
   within 1e-6 relative of the CPU engine on reference cases);
2. makes one paper-size synthetic sequence (an ellipsoidal ROI of ``--roi-voxels`` voxels, 1 mm) and
   times, each in a fresh process: PyRadiomics on one core (one thread, pinned), radnomo's CPU engine
   on one core, and the GPU path with 1, 4 and 8 filtered images at a time;
3. prints the speed-ups against PyRadiomics from this same run (issue 15's goal: the GPU path >= 20x
   PyRadiomics on one core) and the largest relative difference of the GPU path's 1197 values to
   the CPU engine's and to PyRadiomics'; writes everything to ``--out/device_check_radiomics.json``.

On the device machine (its python3 has torch, numba, numpy, pandas, pyarrow; SimpleITK, PyWavelets,
PyRadiomics and pykwalify are carried): first, here, ``sh tests/benchmarks/device_prepare.sh`` (makes
``.device/``: Python 3.12 wheels and SimpleITK as an xz tarball, ~35 MB, ignored by git), then one
``run`` with ``carry: [".device"]`` and the command::

    set -e; mkdir -p .device/site; tar xJf .device/simpleitk.tar.xz -C .device/site;
    python3 -m pip install -q --no-deps --no-index --target .device/site .device/*.whl;
    export PYTHONPATH=python:.device/site PYTHONUNBUFFERED=1;
    python3 tests/benchmarks/device_check_radiomics.py --out $OUT

(run from the repository root; ``.device/site`` is the packages' folder inside the ignored ``.device/``)

(about 4-6 minutes: PyRadiomics alone takes about a minute, and numba compiles the CPU kernels once).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import bench_radiomics as bench  # noqa: E402


def _pytest(out: Path) -> dict:
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
           str(REPO / "tests" / "python" / "features" / "test_engine_gpu.py")]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    (out / "pytest_gpu.txt").write_text(res.stdout + res.stderr, encoding="utf-8")
    tail = (res.stdout + res.stderr).strip().splitlines()[-15:]
    return {"rc": res.returncode, "seconds": round(time.perf_counter() - t, 1), "tail": tail}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--roi-voxels", type=int, default=1_300_000)
    ap.add_argument("--threads", type=int, nargs="*", default=[1, 4, 8], help="GPU path: images at a time")
    ap.add_argument("--skip-tests", action="store_true")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    import torch

    res: dict = {"torch": torch.__version__, "cuda": torch.cuda.is_available(), "cpus": os.cpu_count()}
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device")
    res["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(res), flush=True)
    if not args.skip_tests:
        res["pytest"] = _pytest(args.out)
        print(json.dumps(res["pytest"], indent=1), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        case = bench.make_cases(root, 1, args.roi_voxels)[0]
        runs = {}
        runs["pyradiomics"] = bench._run_child("pyradiomics", case, bench.STUDY_YAML, False, 0, root / "o.json")
        runs["radnomo_cpu"] = bench._run_child("radnomo", case, bench.STUDY_YAML, False, 0, root / "o.json")
        for n in args.threads:
            runs[f"radnomo_cuda_{n}"] = bench._run_child("radnomo", case, bench.STUDY_YAML, False, None,
                                                         root / "o.json", device="cuda", image_threads=n)
            print(f"cuda, {n} image thread(s): {runs[f'radnomo_cuda_{n}']['seconds']:.2f} s", flush=True)
    base = runs["pyradiomics"]["seconds"]
    summary = {}
    for name, r in runs.items():
        row = {"seconds": round(r["seconds"], 3), "speed_up_vs_pyradiomics_1core": round(base / r["seconds"], 2),
               "peak_mb": round(r["peak_mb"])}
        if name != "pyradiomics":
            row["max_rel_diff_vs_pyradiomics"] = bench._worst_difference(r["values"], runs["pyradiomics"]["values"])
        if name.startswith("radnomo_cuda"):
            row["max_rel_diff_vs_cpu_engine"] = bench._worst_difference(r["values"], runs["radnomo_cpu"]["values"])
        summary[name] = row
    res["case"] = {"roi_voxels": args.roi_voxels, "features": len(runs["pyradiomics"]["values"])}
    res["runs"] = summary
    text = json.dumps(res, indent=1)
    print(text, flush=True)
    (args.out / "device_check_radiomics.json").write_text(text, encoding="utf-8")
    return res


if __name__ == "__main__":
    main()
