"""Benchmark: radnomo's radiomics engine vs PyRadiomics (not a timed test; ratios come from the same run).

For each case (image + mask of one sequence), each engine runs in a fresh process limited to one
compute thread (SimpleITK/ITK, OpenMP, BLAS) and, where ``taskset`` exists, pinned to one CPU, so
"one worker on one core". Printed per case: seconds per engine, the ratio PyRadiomics / radnomo (the
speed-up), peak memory (max RSS of the measuring process) and its ratio, and the largest relative
difference between the two engines' values. With ``--parts`` each engine also runs once under cProfile
and the time is split into parts (shape, discretisation, filters, texture matrices, first order, the
rest) with a speed-up per part. Then the whole cohort extraction (``extract_radiomics``) with the
radnomo engine on 1 worker (one core) and on ``--workers`` workers: the scaling, and a projection of the
paper-size study (224 patients x 4 sequences) on 2 cores.

Cases:

* ``--manifest M`` — a preprocessed cohort manifest (``radnomo synth --size paper`` then ``radnomo
  preprocess``); ``--patients``/``--sequences`` select from it;
* otherwise synthetic ellipsoidal ROIs of ``--roi-voxels`` voxels (default small, for ``make bench``).

    .venv/bin/python tests/benchmarks/bench_radiomics.py --engine both
    .venv/bin/python tests/benchmarks/bench_radiomics.py --manifest /data/pre/manifest.csv --parts --engine both
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
STUDY_YAML = REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml"
ENGINES = ("pyradiomics", "radnomo")

#: cProfile (file name ending, function) -> part: the outermost function doing that work in each engine.
PARTS = {
    "shape": (("radiomics/shape.py", "_initSegmentBasedCalculation"), ("engine/shape.py", "shape_features")),
    "discretisation": (("radiomics/base.py", "_applyBinning"), ("engine/extractor.py", "discretize")),
    "filters": (("~", "<built-in method SimpleITK._SimpleITK.LaplacianRecursiveGaussianImageFilter_Execute>"),
                ("radiomics/imageoperations.py", "_swt3"), ("engine/log_filter.py", "laplacian_of_gaussian"),
                ("engine/extractor.py", "wavelet_images")),
    "first order": (("radiomics/firstorder.py", "_initCalculation"), ("radiomics/firstorder.py", "_moment"),
                    ("radiomics/firstorder.py", "get10PercentileFeatureValue"),
                    ("radiomics/firstorder.py", "get90PercentileFeatureValue"),
                    ("radiomics/firstorder.py", "getMedianFeatureValue"),
                    ("radiomics/firstorder.py", "getInterquartileRangeFeatureValue"),
                    ("radiomics/firstorder.py", "getMeanAbsoluteDeviationFeatureValue"),
                    ("radiomics/firstorder.py", "getEnergyFeatureValue"),
                    ("radiomics/firstorder.py", "getMeanFeatureValue"),
                    ("radiomics/firstorder.py", "getVarianceFeatureValue"),
                    ("radiomics/firstorder.py", "getMinimumFeatureValue"),
                    ("radiomics/firstorder.py", "getMaximumFeatureValue"),
                    ("radiomics/firstorder.py", "getRangeFeatureValue"),
                    ("radiomics/firstorder.py", "getRootMeanSquaredFeatureValue"),
                    ("engine/firstorder.py", "firstorder_features")),
    "texture matrices": (("~", "<built-in method radiomics._cmatrices.calculate_glcm>"),
                         ("~", "<built-in method radiomics._cmatrices.calculate_glrlm>"),
                         ("~", "<built-in method radiomics._cmatrices.calculate_glszm>"),
                         ("~", "<built-in method radiomics._cmatrices.calculate_gldm>"),
                         ("~", "<built-in method radiomics._cmatrices.calculate_ngtdm>"),
                         ("engine/kernels.py", "neighbourhood_counts"), ("engine/kernels.py", "run_length_counts"),
                         ("engine/kernels.py", "size_zones"), ("engine/kernels.py", "line_has_two_voxels")),
}


def make_cases(root: Path, n: int, roi_voxels: int, seed: int = 0) -> list[dict]:
    """Ellipsoidal ROIs of about ``roi_voxels`` voxels at 1 mm in smoothed noise (one sequence each)."""
    import SimpleITK as sitk

    r = (3 * roi_voxels / (4 * np.pi)) ** (1 / 3)
    half = int(np.ceil(r * 1.25)) + 8
    shape = (2 * half, 2 * half, 2 * half)
    cases = []
    for i in range(n):
        rng = np.random.default_rng(seed + i)
        z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
        d2 = ((z - half) / (r * 0.8)) ** 2 + ((y - half) / (r * 1.1)) ** 2 + ((x - half) / (r * 1.1)) ** 2
        roi = d2 <= 1
        img = rng.normal(0, 1, shape).astype(np.float32)
        img = sitk.GetArrayFromImage(sitk.SmoothingRecursiveGaussian(sitk.GetImageFromArray(img), 2.0))
        img = 400 + 60 * img / img.std() + 80 * roi
        sitk.WriteImage(sitk.GetImageFromArray(img.astype(np.float32)), str(root / f"c{i}.nrrd"))
        sitk.WriteImage(sitk.GetImageFromArray(roi.astype(np.uint8)), str(root / f"c{i}_mask.nrrd"))
        cases.append({"id": f"c{i}/pvp", "patient": f"c{i}", "sequence": "pvp", "image": str(root / f"c{i}.nrrd"),
                      "mask": str(root / f"c{i}_mask.nrrd")})
    return cases


def manifest_cases(path: Path, patients: list[str] | None, sequences: list[str] | None) -> list[dict]:
    from radnomo.io.manifest import read_manifest

    man = read_manifest(path)
    out = []
    for pid in man.patients:
        if patients and pid not in patients:
            continue
        for seq in man.sequences:
            if sequences and seq not in sequences:
                continue
            out.append({"id": f"{pid}/{seq}", "patient": pid, "sequence": seq,
                        "image": str(man.image_path(pid, seq)), "mask": str(man.mask_path(pid, seq))})
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _categorise(prof, total: float) -> dict[str, float]:
    """Seconds per part of a cProfile run (cumulative time of each part's outermost functions)."""
    import pstats

    st = pstats.Stats(prof)
    parts = {k: 0.0 for k in PARTS}
    for (filename, _, func), (_, _, _, cumtime, _) in st.stats.items():
        for part, keys in PARTS.items():
            if any(func == f and filename.endswith(suffix) for suffix, f in keys):
                parts[part] += cumtime
    parts["rest"] = total - sum(parts.values())
    return parts


def measure(engine: str, case: dict, params_path: Path, profile: bool, device: str | None = None,
            image_threads: int = 1) -> dict:
    """In a fresh process: one engine on one case, one thread (with ``device``, the radnomo engine's GPU
    path with ``image_threads`` filtered images at once). Prints JSON."""
    from radnomo.parallel import limit_threads

    limit_threads(1)
    from radnomo.features.params import load_params
    from radnomo.features.radiomics import extract_image, make_engine_extractor
    from radnomo.io.images import read_image_and_mask

    params = load_params(params_path)
    label = params.settings.get("label", 1)
    image, mask = read_image_and_mask(case["image"], case["mask"], label=label)
    if device is not None and engine == "radnomo":
        from radnomo.features.engine import Extractor

        extractor = Extractor(params.params, label=label, device=device, threads=image_threads)
    else:
        extractor = make_engine_extractor(params, label, engine)
    if engine == "radnomo":  # compile/load the kernels outside the timing (once per worker process)
        from radnomo.features.engine import kernels  # noqa: F401
        _warm_up(extractor)
    rss_before = _peak_mb()
    t0 = time.perf_counter()
    parts = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
        values = extract_image(image, mask, params, label=label, extractor=extractor)
        prof.disable()
        seconds = time.perf_counter() - t0
        parts = _categorise(prof, seconds)
    else:
        values = extract_image(image, mask, params, label=label, extractor=extractor)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_mb": _peak_mb(), "peak_mb_before": rss_before, "parts": parts,
            "values": values}


def _warm_up(extractor) -> None:
    """Run the engine once on a tiny image so numba's compiled kernels are loaded."""
    import SimpleITK as sitk

    rng = np.random.default_rng(0)
    img = sitk.GetImageFromArray(rng.normal(0, 1, (12, 12, 12)))
    m = np.zeros((12, 12, 12), np.uint8)
    m[3:9, 3:9, 3:9] = 1
    mk = sitk.GetImageFromArray(m)
    mk.CopyInformation(img)
    try:
        extractor.execute(img, mk)
    except Exception:  # e.g. a filter setting too large for the tiny image: the kernels are loaded anyway
        pass


def _run_child(engine: str, case: dict, params: Path, profile: bool, cpu: int | None, out: Path,
               device: str | None = None, image_threads: int = 1) -> dict:
    cmd = [sys.executable, __file__, "--_measure", engine, "--_case", json.dumps(case), "--params", str(params),
           "--_out", str(out)] + (["--_profile"] if profile else [])
    if device is not None:
        cmd += ["--_device", device, "--_image-threads", str(image_threads)]
    if cpu is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(cpu)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS="1")
    subprocess.run(cmd, check=True, env=env)
    return json.loads(out.read_text(encoding="utf-8"))


def _worst_difference(a: dict, b: dict) -> tuple[float, str]:
    worst, name = 0.0, ""
    for k, ref in b.items():
        got = a[k]
        if math.isnan(ref) and math.isnan(got):
            continue
        d = 0.0 if got == ref else abs(got - ref) / max(abs(ref), abs(got))
        if d > worst:
            worst, name = d, k
    return worst, name


def _cohort_run(cases: list[dict], params: Path, workers: int, root: Path, cpu_list: str | None) -> float:
    """extract_radiomics with the radnomo engine over one manifest of ``cases`` (each its own patient)."""
    import pandas as pd

    rows = [{"patient_id": c["id"].replace("/", "_"), "pvp_image": c["image"], "pvp_mask": c["mask"]} for c in cases]
    man = root / f"bench_manifest_{workers}.csv"
    pd.DataFrame(rows).to_csv(man, index=False)
    code = ("import sys, time, json; from radnomo.features.radiomics import extract_radiomics; t=time.perf_counter(); "
            f"r=extract_radiomics({str(man)!r}, {str(params)!r}, {str(root / f'w{workers}.parquet')!r}, "
            f"workers={workers}, progress=False, cache_dir={str(root / f'cache_w{workers}')!r}, engine='radnomo'); "
            "assert r.n_failed == 0, r.errors; print(json.dumps(time.perf_counter()-t))")
    cmd = [sys.executable, "-c", code]
    if cpu_list and shutil.which("taskset"):
        cmd = ["taskset", "-c", cpu_list] + cmd
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=("radnomo", "pyradiomics", "both"), default="both")
    ap.add_argument("--manifest", type=Path, default=None, help="preprocessed cohort manifest (paper-size cases)")
    ap.add_argument("--patients", nargs="*", default=None)
    ap.add_argument("--sequences", nargs="*", default=None)
    ap.add_argument("--roi-voxels", type=int, default=60_000, help="synthetic cases: ROI size")
    ap.add_argument("--cases", type=int, default=2, help="synthetic cases: how many")
    ap.add_argument("--workers", type=int, default=2, help="scaling line: radnomo with 1 vs this many workers")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--parts", action="store_true", help="also a cProfile run per engine, split into parts")
    ap.add_argument("--cpu", type=int, default=0, help="CPU the one-core runs are pinned to (taskset)")
    ap.add_argument("--params", type=Path, default=STUDY_YAML)
    ap.add_argument("--_measure", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_case", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_out", type=Path, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_profile", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_device", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--_image-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._measure:
        res = measure(args._measure, json.loads(args._case), args.params, args._profile, args._device,
                      args._image_threads)
        args._out.write_text(json.dumps(res), encoding="utf-8")
        return

    engines = ENGINES if args.engine == "both" else (args.engine,)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; params {args.params.name}",
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = (manifest_cases(args.manifest, args.patients, args.sequences) if args.manifest
                 else make_cases(root, args.cases, args.roi_voxels))
        results: dict[str, dict[str, dict]] = {}
        for case in cases:
            import SimpleITK as sitk

            m = sitk.GetArrayFromImage(sitk.ReadImage(case["mask"]))
            case_info = f"{case['id']}: image {sitk.ReadImage(case['image']).GetSize()}, ROI {int((m == 1).sum())} voxels"
            print(case_info, flush=True)
            results[case["id"]] = {}
            for engine in engines:
                results[case["id"]][engine] = _run_child(engine, case, args.params, False, args.cpu,
                                                         root / "out.json")
                print(f"  {engine:<12} {results[case['id']][engine]['seconds']:8.2f} s  "
                      f"peak {results[case['id']][engine]['peak_mb']:7.0f} MB", flush=True)
                if args.parts:
                    results[case["id"]][engine + "_parts"] = _run_child(engine, case, args.params, True, args.cpu,
                                                                        root / "out.json")["parts"]
        print(f"\none worker on one core (pinned to CPU {args.cpu}, one thread), per sequence")
        header = f"{'case':<16}" + "".join(f"{e + ' s':>16}" for e in engines)
        if len(engines) == 2:
            header += f"{'speed-up':>10}{'mem ratio':>11}{'max rel diff':>14}"
        print(header)
        tot = {e: 0.0 for e in engines}
        for cid, r in results.items():
            line = f"{cid:<16}" + "".join(f"{r[e]['seconds']:>16.2f}" for e in engines)
            for e in engines:
                tot[e] += r[e]["seconds"]
            if len(engines) == 2:
                worst, name = _worst_difference(r["radnomo"]["values"], r["pyradiomics"]["values"])
                line += (f"{r['pyradiomics']['seconds'] / r['radnomo']['seconds']:>10.2f}"
                         f"{r['radnomo']['peak_mb'] / r['pyradiomics']['peak_mb']:>11.2f}{worst:>14.1e}")
            print(line)
        if len(engines) == 2:
            print(f"{'total':<16}" + "".join(f"{tot[e]:>16.2f}" for e in engines)
                  + f"{tot['pyradiomics'] / tot['radnomo']:>10.2f}")
        if args.parts and len(engines) == 2:
            print("\nparts (cProfile runs, seconds summed over cases; 'rest' = total minus the parts)")
            print(f"{'part':<18}{'pyradiomics':>12}{'radnomo':>10}{'speed-up':>10}")
            sums = {e: {p: 0.0 for p in [*PARTS, "rest"]} for e in engines}
            for r in results.values():
                for e in engines:
                    for p, v in r[e + "_parts"].items():
                        sums[e][p] += v
            for p in [*PARTS, "rest"]:
                a, b = sums["pyradiomics"][p], sums["radnomo"][p]
                print(f"{p:<18}{a:>12.2f}{b:>10.2f}{(a / b if b else float('inf')):>10.2f}")
            sd = {e: sums[e]["shape"] + sums[e]["discretisation"] for e in engines}
            print(f"{'shape+discret.':<18}{sd['pyradiomics']:>12.2f}{sd['radnomo']:>10.2f}"
                  f"{sd['pyradiomics'] / sd['radnomo']:>10.2f}")
        if not args.no_scaling and "radnomo" in engines:
            scale_cases = cases if len(cases) >= args.workers else cases * args.workers
            one = _cohort_run(scale_cases, args.params, 1, root, str(args.cpu))
            many = _cohort_run(scale_cases, args.params, args.workers, root, None)
            per = one / len(scale_cases)
            print(f"\ncohort extraction, radnomo engine, {len(scale_cases)} sequence(s): 1 worker (one core) "
                  f"{one:.1f} s, {args.workers} workers {many:.1f} s: {one / many:.2f}x")
            if args.manifest:
                n = 224 * 4
                print(f"projection, paper-size study (224 patients x 4 sequences = {n}) on {args.workers} cores: "
                      f"radnomo {n * per / (one / many) / 3600:.2f} h"
                      + (f", PyRadiomics {n * tot['pyradiomics'] / len(results) / (one / many) / 3600:.2f} h "
                         "(same scaling assumed)" if "pyradiomics" in engines else ""))
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
