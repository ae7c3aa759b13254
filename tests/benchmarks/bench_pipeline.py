"""Benchmark of the study pipeline: wall time and peak memory per stage.

1. ``demo``: ``radnomo demo`` (synthetic cohort, n = 60 by default, the demo's
   lighter settings), every stage from the images.
2. ``paper-stats``: the statistics stages (stats = R ``fit_study``, SHAP, report)
   at the paper's size: 224 patients, 4788 radiomics + 6656 deep feature
   columns. The image stages are not run here (hours on 2 cores): the feature
   tables are synthetic matrices of the study's width, built from the synthetic
   cohort's clinical table and latent image factors (a few informative columns,
   the rest correlated noise), so only the timing is meaningful, not the AUCs.
   The stage timings come from each stage's ``stage.json``.

Writes ``bench_pipeline.json`` (and prints it). Goals: demo under 10 minutes
on 2 cores; the paper-size statistics stages under 2 minutes.

Usage: ``python tests/benchmarks/bench_pipeline.py [--out DIR] [--demo-n 40] [--skip-demo]``
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path


def bench_demo(out: Path, n: int) -> dict:
    from radnomo.pipeline.demo import run_demo

    from radnomo.pipeline.rundir import RunDirectory

    t = time.perf_counter()
    res = run_demo(out / "demo", n=n, workers=2, progress=False, log=lambda m: None)
    total = time.perf_counter() - t
    rd = RunDirectory(res.out_dir)
    stages = {}
    for k in res.stages:  # from stage.json: the run that computed the stage (also when this one skipped it)
        rec = rd.read_record(k) or {}
        stages[k] = {"seconds": rec.get("seconds"), "peak_rss_mb": rec.get("peak_rss_mb")}
    return {"n": n, "wall_seconds_this_call": round(total, 1),
            "stage_seconds_total": round(sum(v["seconds"] or 0 for v in stages.values()), 1), "stages": stages}


def synthetic_feature_tables(n: int = 224, seed: int = 20250101):
    """Clinical table + feature matrices of the study's width (see the module docstring)."""
    import numpy as np
    import pandas as pd

    from radnomo.synth.clinical import simulate_subjects

    subj = simulate_subjects(n, seed)
    rng = np.random.default_rng(seed)

    def block(prefix_cols, informative):
        k = len(prefix_cols)
        base = rng.normal(size=(n, 12))  # 12 latent directions -> strongly correlated columns (like radiomics)
        mix = rng.normal(size=(12, k))
        x = base @ mix / np.sqrt(12) + 0.15 * rng.normal(size=(n, k))
        for j, lat in enumerate(informative):
            x[:, j] += 0.5 * subj[lat].to_numpy()
        return pd.DataFrame(x, columns=prefix_cols)

    seqs = ("t2", "ap", "pvp", "dp")
    rad_cols = [f"{s}_rad_{k}" for s in seqs for k in range(1, 1198)]
    deep_cols = [f"{s}_dl_{k}" for s in seqs for k in range(1, 1665)]
    rad = block(rad_cols, ["t2_pattern"] * 5 + ["texture_pvp"] * 5)
    deep = block(deep_cols, ["texture_pvp"] * 10)
    rad.insert(0, "patient_id", subj.patient_id)
    deep.insert(0, "patient_id", subj.patient_id)
    clinical = subj[[c for c in subj.columns if c not in ("texture_pvp", "t2_pattern", "linear_predictor",
                                                            "true_risk", "inr", "creatinine_mg_dl", "ascites")]]
    return clinical, rad, deep


def bench_paper_stats(out: Path) -> dict:
    import pandas as pd

    from radnomo.io.atomic import write_csv
    from radnomo.io.tables import write_feature_table
    from radnomo.pipeline.cohort import stratified_split
    from radnomo.pipeline.config import load_config, study_config_path
    from radnomo.pipeline.rundir import StageOutcome
    from radnomo.pipeline.stages import STAGE_BY_NAME, RunContext

    clinical, rad, deep = synthetic_feature_tables()
    root = out / "paper_stats"
    cfg = load_config(study_config_path())
    ctx = RunContext.create(cfg, root, workers=2, progress=False, log=lambda m: None)
    lay = ctx.layout
    for name in ("split", "radiomics", "deep"):
        lay.stage_dir(name).mkdir(parents=True, exist_ok=True)
    labels = clinical.set_index("patient_id")["label"]
    split = stratified_split(labels, cfg.split.test_fraction, cfg.split.seed)
    write_csv(pd.DataFrame({"patient_id": labels.index, "label": labels.to_numpy(), "split": split.to_numpy()}),
              lay.split.split_csv)
    write_csv(clinical.drop(columns="label"), lay.split.clinical_csv)
    write_feature_table(rad, lay.radiomics.features)
    write_feature_table(deep, lay.deep.features)
    write_csv(pd.DataFrame(columns=["epoch", "loss", "sequence"]), lay.deep.history_csv)
    write_csv(pd.DataFrame(columns=["patient_id", "png"]), lay.deep.gradcam_csv)
    lay.run_json.write_text(json.dumps({"notes": ["benchmark: synthetic feature tables"]}), encoding="utf-8")
    for name in ("split", "preprocess", "radiomics", "deep"):
        ctx.outcomes[name] = StageOutcome(name, lay.stage_dir(name), f"bench-{name}", True)
    stages = {}
    for name in ("stats", "shap"):
        o = STAGE_BY_NAME[name](ctx)
        ctx.outcomes[name] = o
        stages[name] = {"seconds": round(o.seconds, 1), "peak_rss_mb": o.peak_rss_mb}
    ctx.outcomes["model"] = StageOutcome("model", lay.stage_dir("model"), "bench-model", True)
    o = STAGE_BY_NAME["report"](ctx)
    stages["report"] = {"seconds": round(o.seconds, 1), "peak_rss_mb": o.peak_rss_mb}
    return {"n": len(clinical), "n_radiomics": rad.shape[1] - 1, "n_deep": deep.shape[1] - 1,
            "B": cfg.stats.B, "nfolds": cfg.stats.nfolds, "stages": stages,
            "statistics_seconds": round(sum(s["seconds"] for s in stages.values()), 1)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--demo-n", type=int, default=60)
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--skip-paper", action="store_true")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="radnomo_bench_pipeline_"))
    out.mkdir(parents=True, exist_ok=True)
    from radnomo.runtime import default_workers

    result = {"machine": {"platform": platform.platform(), "cores": default_workers()}}
    for name, skip, fn in (("demo", args.skip_demo, lambda: bench_demo(out, args.demo_n)),
                           ("paper_stats", args.skip_paper, lambda: bench_paper_stats(out))):
        if skip:
            continue
        t = time.perf_counter()
        try:
            result[name] = fn()
        except Exception as exc:  # recorded: a benchmark reports what happened
            result[name] = {"error": f"{type(exc).__name__}: {exc}", "seconds_until_error": round(time.perf_counter() - t, 1)}
    (out / "bench_pipeline.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(json.dumps(result, indent=2))
    print(f"-> {out / 'bench_pipeline.json'}")
    return result


if __name__ == "__main__":
    main()
