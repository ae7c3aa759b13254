"""Stage ``model``: the reusable model artifact (see :mod:`radnomo.pipeline.model` for its contents)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from radnomo.io.atomic import write_text_atomic
from radnomo.io.jsonio import records, write_json
from radnomo.pipeline import study_adapter as sa
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.context import RunContext, Stage, code_versions
from radnomo.pipeline.layout import ModelFiles, RunLayout
from radnomo.pipeline.model import MODEL_FORMAT, study_clinical_variables
from radnomo.runtime import software_versions


def key(ctx: RunContext) -> dict:
    """Upstream keys, the preprocessing settings (stored with the model), the code versions."""
    return {**code_versions(r=True), "stats": ctx.key("stats"), "deep": ctx.key("deep"),
            "radiomics": ctx.key("radiomics"), "preprocess": ctx.config.section_dict("preprocess"),
            "artifact": 2}  # 2: model.json lists the clinical variables the study uses


def cutoffs(metrics: pd.DataFrame | None) -> dict[str, float]:
    """Each model's cut-off chosen on the training set (the study's ``metrics`` table)."""
    if metrics is None or "threshold" not in metrics.columns:
        return {}
    rows = metrics.loc[metrics["set"] == "train"] if "set" in metrics.columns else metrics
    return {str(r.model): float(r.threshold) for r in rows.itertuples()}


def fit_records(path: Path) -> list[dict]:
    """The study's logistic fits (``fits.csv``): which were penalised (Firth) or replaced (LASSO score)."""
    if not path.exists():
        return []
    f = pd.read_csv(path)
    if "note" in f.columns:
        f["note"] = ["" if pd.isna(v) else str(v) for v in f["note"]]  # all-empty notes read as NaN floats
    return records(f)


def copy_files(layout: RunLayout, config: StudyConfig, out: ModelFiles) -> list[str]:
    """Configuration, preprocessing settings, radiomics parameters, study.rds and the deep models;
    returns the sequences with a deep model."""
    write_text_atomic(out.config_yaml, config.model_yaml())
    write_json(config.raw["preprocess"], out.preprocess_json)
    shutil.copyfile(layout.radiomics.params_yaml, out.radiomics_params)
    shutil.copyfile(layout.stats.study_rds, out.study_rds)
    seqs = []
    if config.deep.enabled:
        for mp in layout.deep.model_weights():
            dst = out.deep_weights(mp.parent.name)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mp, dst)
            seqs.append(mp.parent.name)
    return seqs


def build_model(layout: RunLayout, config: StudyConfig, out: ModelFiles, sequences: list[str] | None) -> dict:
    """Assemble the artifact in ``out`` from a finished run (stages preprocess..stats).

    ``sequences``: the run's sequences (the split stage's). Returns the cut-offs and deep sequences.
    """
    seqs = copy_files(layout, config, out)
    stats = layout.stats
    metrics = pd.read_csv(stats.table("metrics")) if stats.table("metrics").exists() else None
    coefs = {p.stem: pd.read_csv(p).to_dict(orient="records") for p in stats.tables() if "coefficients" in p.stem}
    cols = json.loads(stats.columns_json.read_text(encoding="utf-8"))
    # which logistic fits were penalised (Firth) or replaced (LASSO score): study.rds holds those fits,
    # so predict/evaluate reproduce them; recorded here for the reader
    fits = fit_records(stats.table("fits"))
    # the clinical variables the frozen study reads (predict/evaluate ask only for these)
    used = study_clinical_variables(sa.load(out.study_rds), config.data.clinical_variables)
    info = {"format": MODEL_FORMAT, "cutoffs": cutoffs(metrics), "columns": cols,
            "clinical_variables_used": list(used), "separation_policy": config.stats.separation, "fits": fits,
            "penalised": {r["model"]: r["method"] for r in fits if r.get("method") not in ("ml", None)},
            "deep_sequences": seqs, "sequences": sequences, "coefficients": coefs, "versions": software_versions(),
            "outcome": config.data.outcome, "id": config.data.id}
    write_json(info, out.model_json)
    return {"cutoffs": info["cutoffs"], "deep_sequences": seqs}


def run(ctx: RunContext, d: Path) -> dict:
    sequences = (ctx.rundir.read_record("split") or {}).get("info", {}).get("sequences")
    return build_model(ctx.layout, ctx.config, ctx.layout.model, sequences)


STAGE = Stage(name="model", inputs=("stats", "deep", "radiomics"), outputs=("model.json", "study.rds", "config.yaml"),
              key=key, run=run)
