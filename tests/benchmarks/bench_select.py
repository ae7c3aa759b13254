"""Benchmark: select_features through the rpy2 bridge on the study's width.

156 training patients x 11,444 features (4 x 1197 radiomics + 4 x 1664 deep),
with a few informative columns. Prints the total seconds of
``radnomo.stats.select_features`` and the share spent converting data
between Python and R (matrix in, result tables out), measured in the same run.
Goal (issue 2): under 10 s on 2 cores, conversion under 10 % of it.

Run: ``.venv/bin/python tests/benchmarks/bench_select.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def make_data(n=156, p=11444, seed=1):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.31).astype(int)
    # correlated blocks like radiomics features derived from common images
    base = rng.normal(size=(n, 300))
    x = base[:, rng.integers(0, 300, size=p)] + 0.6 * rng.normal(size=(n, p))
    x[:, :20] += 0.8 * y[:, None]
    cols = [f"{s}_f{j}" for s in ("t2", "ap", "pvp", "dp") for j in range(p // 4)]
    return pd.DataFrame(x, columns=cols[:p]), y


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("TZ", "UTC")
    from radnomo import stats
    from radnomo.stats import _convert as cv
    from radnomo.stats._base import matrix_arg
    from radnomo.stats.session import call

    x, y = make_data()
    stats.roc_metrics(y, x.iloc[:, 0])  # start R and load packages outside the timing
    print(f"data: {x.shape[0]} rows x {x.shape[1]} columns")
    for r in range(args.repeats):
        t0 = time.perf_counter()
        sel = stats.select_features(x, y, seed=42)
        total = time.perf_counter() - t0
        # conversion share: the same conversions timed alone
        t1 = time.perf_counter()
        m = matrix_arg(x)
        yv = cv.r_numvec(y)
        t_in = time.perf_counter() - t1
        res = call("select_features", m, yv, seed=42)
        t2 = time.perf_counter()
        h = cv.RHandle(res)
        for comp in ("steps", "mwu", "kept_mwu", "kept_correlation", "center", "scale", "rotation",
                     "lambda_min", "lambda_1se", "lambda_used", "coefficients", "selected"):
            h.component(comp)
        t_out = time.perf_counter() - t2
        conv = t_in + t_out
        print(f"run {r + 1}: total {total:.2f} s; conversion {conv:.3f} s "
              f"(in {t_in:.3f}, out {t_out:.3f}) = {100 * conv / total:.1f} % of total; "
              f"selected {len(sel.selected)} features; steps "
              + ", ".join(f"{a}={b}" for a, b in zip(sel.steps['step'], sel.steps['n_features'])))
    print("goal: total < 10 s on 2 cores, conversion < 10 %")


if __name__ == "__main__":
    main()
