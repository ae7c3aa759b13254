"""Benchmark: whole-pipeline validation (``validate_study``) at the study's size.

Input as ``bench_pipeline.py`` makes it: 156 training patients (70 % of 224) x
4,788 radiomics + 6,656 deep features (radiomics-like correlated columns) +
the synthetic cohort's clinical variables. Runs ``validate_study`` (Efron-Gong
bootstrap by default; ``--method cv`` for the default estimator) with 1 and
with 2 workers in the same run and prints both times, the speed-up ratio, the
projected time of B = 200, and where a resample's refit spends its time.

    .venv/bin/python tests/benchmarks/bench_validate.py [--B 20] [--method boot]

Goal (issue 13): B = 200 under 10 minutes on 2 cores; >= 1.8x from 1 to 2 workers.
The machine's load average is printed before and after each timing: on a
shared machine only ratios from the same run are comparable. Through the
bridge R's workers are socket processes (``radnomo.parallel = "psock"``, each
loads radnomo once, a few seconds); from plain R they are forked.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TZ", "UTC")


def _cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--B", type=int, default=20, help="resamples to time (projected to 200)")
    ap.add_argument("--method", default="boot", choices=("boot", "cv", "632plus"))
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts to time")
    args = ap.parse_args(argv)

    import pandas as pd

    from bench_pipeline import synthetic_feature_tables
    from radnomo import stats

    clinical, rad, deep = synthetic_feature_tables()
    data = clinical.merge(rad, on="patient_id").merge(deep, on="patient_id")
    data = data.rename(columns={"recurrence": "label"}) if "recurrence" in data else data
    outcome = "label" if "label" in data else [c for c in clinical.columns if c.startswith("recur")][0]
    train = data.sample(frac=0.7, random_state=1).reset_index(drop=True)
    rad_cols = [c for c in rad.columns if c != "patient_id"]
    deep_cols = [c for c in deep.columns if c != "patient_id"]
    clin_cols = [c for c in clinical.columns if c not in ("patient_id", outcome)
                 and pd.api.types.is_numeric_dtype(clinical[c])][:22]
    print(f"train {len(train)} patients, {len(rad_cols)} radiomics + {len(deep_cols)} deep + "
          f"{len(clin_cols)} clinical; method {args.method}, B = {args.B}")
    times = {}
    result = None
    for w in [int(x) for x in args.workers.split(",")]:
        load0 = os.getloadavg()
        cpu0 = _cpu_seconds()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.validate_study(train, outcome=outcome, radiomics=rad_cols, deep=deep_cols,
                                          clinical=clin_cols, method=args.method, B=args.B, folds=5,
                                          repeats=max(1, args.B // 5), seed=1, workers=w)
        times[w] = time.perf_counter() - t0
        n = result.n_resamples
        load1 = os.getloadavg()
        cpu = _cpu_seconds() - cpu0
        print(f"workers {w}: {times[w]:.1f} s for {n} resamples ({times[w] / n:.2f} s each); "
              f"projected B = 200: {times[w] / n * 200 / 60:.1f} min; load average (1 min) "
              f"{load0[0]:.2f} before, {load1[0]:.2f} after")
        # CPU seconds of this process and its (reaped) R workers: what a resample costs on an idle core
        print(f"  CPU {cpu:.1f} s ({cpu / n:.2f} s per resample; B = 200 on 2 idle cores: "
              f"{cpu / n * 200 / 2 / 60:.1f} min at perfect scaling)")
    if 1 in times and 2 in times:
        print(f"speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x (goal >= 1.8x)")
    timing = result.robj.component("timing")
    if isinstance(timing, pd.DataFrame):
        print("mean seconds per resample refit, by step:")
        print(timing.to_string(index=False))
    nom = result.performance[result.performance.model == "nomogram"]
    print(nom.to_string(index=False))
    dec = result.robj.component("decision")
    if isinstance(dec, pd.DataFrame):
        print("nomogram decision curve (net benefit), thresholds 0.1-0.5:")
        sel = (dec.model == "nomogram") & dec.threshold.round(2).isin([0.1, 0.2, 0.3, 0.4, 0.5])
        print(dec[sel].to_string(index=False))
    return {"times": times}


if __name__ == "__main__":
    main()
