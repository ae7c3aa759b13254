"""Stage ``stats``: R ``fit_study`` on the training split (evaluated on both), its tables and ``study.rds``.

The jobs, each in its own place: the analysis table (:mod:`radnomo.pipeline.analysis`), the fit
(:func:`fit`), Table 1 (:mod:`radnomo.pipeline.table1`), SHAP's inputs
(:mod:`radnomo.pipeline.shap_inputs`) and the nomogram's figure.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from radnomo.io.atomic import atomic_path, write_csv, write_text_atomic
from radnomo.io.jsonio import records, write_json
from radnomo.pipeline import study_adapter as sa
from radnomo.pipeline.analysis import analysis_table, drop_constant_on_train
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.context import RunContext, Stage, code_versions
from radnomo.pipeline.layout import StatsFiles
from radnomo.pipeline.shap_inputs import write_shap_inputs
from radnomo.pipeline.table1 import write_table1

_RERUN_R = """# Rerun the study's statistics in R from this folder's tables alone:
#   Rscript fit_study.R
library(radnomo)
train <- read.csv("data_train.csv.gz", check.names = FALSE)
test  <- read.csv("data_test.csv.gz", check.names = FALSE)
cols  <- jsonlite::fromJSON("columns.json")
study <- fit_study(train, test, outcome = "label", radiomics = cols$radiomics, deep = cols$deep,
                   clinical = cols$clinical, id = "patient_id",
                   mwu_alpha = {mwu_alpha}, cor_threshold = {cor_threshold}, pca_variance = {pca_variance},
                   nfolds = {nfolds}, lambda = "{lam}", clinical_alpha = {clinical_alpha}, B = {B},
                   seed = {seed}, thresholds = seq(0, {dmax}, by = {dstep}), score = "{score}",
                   separation = "{separation}")
print(study$metrics)
print(study$fits)   # per logistic model: separation, convergence, method used (ml / firth / lasso)
"""


def key(ctx: RunContext) -> dict:
    """Upstream keys, the stats settings, the clinical variables, the code versions (radnomo's, R's)."""
    cfg = ctx.config
    return {**code_versions(r=True), "split": ctx.key("split"), "radiomics": ctx.key("radiomics"),
            "deep": ctx.key("deep"), "stats": cfg.section_dict("stats"), "clinical": list(cfg.data.clinical_variables),
            "tables": 2}  # 2: Table 1 by outcome per set; training-set column first


def fits_table(study: Any) -> pd.DataFrame | None:
    """The study's ``fits`` table (one row per logistic model: model, separation, converged, method, note)."""
    fits = getattr(study, "fits", None)
    return fits if isinstance(fits, pd.DataFrame) else None


def stats_warnings(messages: list[str], categories: list[str], fits: pd.DataFrame | None) -> list[str]:
    """The statistics stage's warnings: R's, with each applied separation policy named as such.

    Every ``fits`` row with a note (a separation policy was applied) gives one
    ``"separation: <note>"`` line (R's ``radnomo_separation`` warning, same text),
    listed first; R's own copy of that warning is not repeated. Identical
    warnings (pROC's, repeated per model) are given once with a count.
    """
    notes = []
    if fits is not None and "note" in fits.columns:
        notes = [str(n) for n in fits["note"] if isinstance(n, str) and n.strip()]
    out = [f"separation: {n}" for n in dict.fromkeys(notes)]
    rest: dict[str, int] = {}
    for msg, cat in zip(messages, categories):
        text = msg.split("] ", 1)[1] if msg.startswith("[R ") and "] " in msg else msg
        if text in notes:
            continue
        key = f"{cat}: {msg}"
        rest[key] = rest.get(key, 0) + 1
    out += [k if n == 1 else f"{k} ({n} times)" for k, n in rest.items()]
    return out


def write_inputs(files: StatsFiles, cfg: StudyConfig, train: pd.DataFrame, test: pd.DataFrame,
                 columns: dict[str, list[str]]) -> None:
    """The fit's inputs and the R script that reruns it from them alone."""
    with atomic_path(files.data_train) as tmp:
        train.to_csv(tmp, index=False, compression="gzip")
    with atomic_path(files.data_test) as tmp:
        test.to_csv(tmp, index=False, compression="gzip")
    write_json(columns, files.columns_json)
    s = cfg.stats
    write_text_atomic(files.fit_script, _RERUN_R.format(
        mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold, pca_variance=s.pca_variance, nfolds=s.nfolds,
        lam=s.lambda_, clinical_alpha=s.clinical_alpha, B=s.B, seed=s.seed, dmax=s.dca_max_threshold,
        dstep=s.dca_step, score=s.score, separation=s.separation))


def fit(cfg: StudyConfig, train: pd.DataFrame, test: pd.DataFrame, columns: dict[str, list[str]]):
    """R ``fit_study``; returns ``(study, fits table, warnings)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = sa.fit(train, test, outcome="label", radiomics=columns["radiomics"], deep=columns["deep"],
                       clinical=cfg.data.clinical_variables, id="patient_id", settings=cfg.stats)
    fits = fits_table(study)
    msgs = stats_warnings([str(w.message) for w in caught], [w.category.__name__ for w in caught], fits)
    return study, fits, msgs


def nomogram_labels(lab: Any, predictors) -> dict[str, str]:
    """Axis labels of the nomogram (``lab``: the run's :class:`~radnomo.report.labels.Labels`; term ->
    label, made distinct)."""
    out: dict[str, str] = {}
    for t in predictors:
        text = lab.feature(str(t))
        out[str(t)] = text if text not in out.values() else f"{text} ({t})"
    return out


def nomogram_level_labels(lab: Any, categorical, predictors, train: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Display names of categorical predictors' values on the nomogram (``categorical`` columns and 0/1
    columns; the configured level names, else No/Yes for 0/1), for the training set's values, keyed as
    R prints the axis values (``1``, not ``1.0``)."""
    out: dict[str, dict[str, str]] = {}
    for p in map(str, predictors):
        if p not in train.columns:
            continue
        values = pd.Series(train[p]).dropna().unique()
        binary = set(map(str, values)) <= {"0", "1", "0.0", "1.0"}
        if p not in categorical and not binary:
            continue
        keys = [str(v)[:-2] if str(v).endswith(".0") and str(v)[:-2].lstrip("-").isdigit() else str(v)
                for v in values]
        names = {k: lab.level(p, k, binary=binary) for k in keys}
        if any(k != v for k, v in names.items()):
            out[p] = names
    return out


def plot_nomogram(study: Any, path: Path, cfg: StudyConfig, train: pd.DataFrame) -> list[str]:
    """The nomogram's figure, axes, categorical values and title in the config's words (none when no
    block produced a model: R warned); a failure is reported."""
    from radnomo.report.labels import Labels
    from radnomo.stats import plot_nomogram as draw

    try:
        if getattr(study, "nomogram", None) is not None:
            lab = Labels.from_config(cfg)
            preds = study.nomogram.predictors
            draw(study.nomogram, path, labels=nomogram_labels(lab, preds),
                 level_labels=nomogram_level_labels(lab, set(cfg.data.categorical), preds, train),
                 title=lab.model("nomogram"))
    except Exception as exc:  # noqa: BLE001 - drawing is not worth failing the run for; reported
        return [f"nomogram plot failed: {exc}"]
    return []


def run(ctx: RunContext, d: Path) -> dict:
    cfg, files = ctx.config, ctx.layout.stats
    at = analysis_table(ctx.layout, cfg)
    train, test, rad_cols, deep_cols, const_msgs = drop_constant_on_train(at.part("train"), at.part("test"),
                                                                          at.radiomics, at.deep)
    columns = {"radiomics": rad_cols, "deep": deep_cols, "clinical": list(cfg.data.clinical_variables)}
    write_inputs(files, cfg, train, test, columns)
    study, fits, fit_msgs = fit(cfg, train, test, columns)
    files.tables_dir.mkdir(exist_ok=True)
    names = []
    for name, df in sa.study_frames(study).items():
        write_csv(df, files.table(name))
        names.append(name)
    t1_names, t1_msgs = write_table1(at.table, cfg, files.table)
    study.save_rds(str(files.study_rds))
    shap_terms, shap_msgs = write_shap_inputs(study, train, test, files, deep=bool(deep_cols))
    plot_msgs = plot_nomogram(study, files.nomogram_png, cfg, train)
    fit_records = [] if fits is None else records(fits)
    return {"tables": sorted(names + t1_names), "n_train": len(train), "n_test": len(test),
            "n_radiomics": len(rad_cols), "n_deep": len(deep_cols), "shap_terms": shap_terms,
            "separation_policy": cfg.stats.separation, "fits": fit_records,
            "penalised": {r["model"]: r["method"] for r in fit_records if r.get("method") not in ("ml", None)},
            "warnings": at.warnings + const_msgs + fit_msgs + t1_msgs + shap_msgs + plot_msgs}


STAGE = Stage(name="stats", inputs=("split", "radiomics", "deep"),
              outputs=lambda info: ["study.rds", "data_train.csv.gz", "data_test.csv.gz"]
              + [f"tables/{n}.csv" for n in info["tables"]], key=key, run=run)
