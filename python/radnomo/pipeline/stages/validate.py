"""Stage ``validate``: R ``validate_study`` on the training split with the stats stage's data and settings.

Writes ``validation_performance.csv`` (model, metric, apparent, optimism, corrected, lower, upper),
``validation_summary.csv`` (the same with the test set's value of each metric),
``validation_calibration.csv`` (the nomogram's apparent and corrected calibration curves),
``selection_stability.csv`` (selection frequency per feature), ``selection_counts.csv`` (terms
selected per resample and block), ``selection_jaccard.csv``, ``validation_resamples.csv`` (failed /
separated resamples), ``validation_decision.csv`` (opt-in net benefit per model and threshold:
apparent, optimism, corrected, shifted bootstrap band), ``validation_timing.csv`` (where a refit spends its time) and
``validate_study.R`` (the same call in R alone, from the stats folder's tables).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from radnomo.io.atomic import write_csv, write_text_atomic
from radnomo.pipeline.context import RunContext, Stage, code_versions
from radnomo.pipeline.validation import validate_training_set, validation_summary, validation_test_metrics

_VALIDATE_R = """# Rerun the whole-pipeline internal validation in R from the stats folder's tables alone:
#   Rscript validate_study.R
library(radnomo)
train <- read.csv("../stats/data_train.csv.gz", check.names = FALSE)
cols  <- jsonlite::fromJSON("../stats/columns.json")
v <- validate_study(train, outcome = "label", radiomics = cols$radiomics, deep = cols$deep,
                    clinical = cols$clinical, id = "patient_id",
                    mwu_alpha = {mwu_alpha}, cor_threshold = {cor_threshold}, pca_variance = {pca_variance},
                    nfolds = {nfolds}, lambda = "{lam}", clinical_alpha = {clinical_alpha}, score = "{score}",
                    separation = "{separation}", method = "{method}", B = {B}, folds = {folds},
                    repeats = {repeats}, seed = {seed}, workers = {workers},
                    thresholds = seq(0, {dca_max}, by = {dca_step}))
print(v)               # apparent, optimism, corrected (95% CI for the AUC) per model
head(v$stability, 20)  # selection frequency per feature
"""


def key(ctx: RunContext) -> dict:
    """The stats stage's key, the validation settings (not the worker count), the code versions."""
    settings = {k: val for k, val in ctx.config.section_dict("validation").items() if k != "workers"}
    return {**code_versions(r=True), "stats": ctx.key("stats"), "validation": settings}


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def counted(messages: list[str]) -> list[str]:
    """Identical messages once, with a count."""
    seen: dict[str, int] = {}
    for m in messages:
        seen[m] = seen.get(m, 0) + 1
    return [m if n == 1 else f"{m} ({n} times)" for m, n in seen.items()]


def run(ctx: RunContext, d: Path) -> dict:
    cfg, s, v = ctx.config, ctx.config.stats, ctx.config.validation
    files, stats = ctx.layout.validate, ctx.layout.stats
    workers = v.workers if v.workers is not None else (ctx.workers or cpu_count())
    write_text_atomic(files.script, _VALIDATE_R.format(
        mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold, pca_variance=s.pca_variance, nfolds=s.nfolds,
        lam=s.lambda_, clinical_alpha=s.clinical_alpha, score=s.score, separation=s.separation,
        method=v.method, B=v.B, folds=v.folds, repeats=v.repeats, seed=s.seed, workers=workers,
        dca_max=s.dca_max_threshold, dca_step=s.dca_step))
    kwargs = dict(outcome="label", id="patient_id", mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold,
                  pca_variance=s.pca_variance, nfolds=s.nfolds, lambda_=s.lambda_,
                  clinical_alpha=s.clinical_alpha, score=s.score, separation=s.separation, method=v.method,
                  B=v.B, folds=v.folds, repeats=v.repeats, seed=s.seed, workers=workers, progress=False,
                  thresholds=s.thresholds())
    out = validate_training_set(d, stats.data_train, stats.columns_json, kwargs)
    msgs = counted(out["warnings"])
    names = list(out["tables"])
    perf = pd.read_csv(files.table("validation_performance")) if "validation_performance" in names else None
    if perf is not None and len(perf):
        scores = pd.read_csv(stats.table("scores"), dtype={"id": str})
        test = validation_test_metrics(scores, list(dict.fromkeys(perf["model"])))
        write_csv(validation_summary(perf, test), files.table("validation_summary"))
        names.append("validation_summary")
    res = pd.read_csv(files.table("validation_resamples")) if "validation_resamples" in names else None
    counts = {} if res is None else {str(r.reason): int(r.n) for r in res.itertuples()}
    if counts.get("failed"):
        msgs.append(f"{counts['failed']} of {out['n_resamples']} validation resample(s) failed "
                    "(left out of the estimates; reasons in validation_resamples.csv)")
    return {"tables": names, "method": out["method"], "n_resamples": out["n_resamples"],
            "estimator": v.describe(), "workers": workers, "resamples": counts, "warnings": msgs}


STAGE = Stage(name="validate", inputs=("stats",), key=key, run=run,
              outputs=lambda info: ["validate_study.R"] + [f"{n}.csv" for n in info["tables"]])
