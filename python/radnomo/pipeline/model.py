"""The reusable model artifact, and scoring / evaluating new cohorts with it.

A model is a folder (``<run>/model/``) holding everything the fitted pipeline
needs, unchanged:

* ``config.yaml`` — the effective study configuration (preprocessing, slices,
  aggregation, clinical variables, ...);
* ``preprocess.json`` — the preprocessing settings;
* ``radiomics_params.yaml`` — the PyRadiomics parameters;
* ``deep/<sequence>/model.pt`` — the fine-tuned DenseNet-169 weights per sequence;
* ``study.rds`` — the fitted R study (selection incl. z-score and PCA
  parameters, score models, clinical model, nomogram), R ``saveRDS``;
* ``model.json`` — coefficients, cut-offs chosen on the training set, the
  feature columns the study expects, the logistic fits and which of them were
  penalised (``fits``, ``penalised``: Firth's method or the LASSO score under
  ``stats.separation``; ``study.rds`` holds those fits, so scoring reproduces
  them), versions.

:func:`predict_cohort` recomputes preprocessing and features for new patients
with these settings and applies the frozen study; :func:`evaluate_cohort`
adds the study's metrics on a labelled cohort, at the training cut-offs.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import yaml

from radnomo.errors import InputError
from radnomo.io.atomic import write_text_atomic
from radnomo.pipeline.study_adapter import MODEL_LABELS

MODEL_FORMAT = "radnomo-study-model-v1"


def _cutoffs(metrics: pd.DataFrame | None) -> dict[str, float]:
    if metrics is None or "threshold" not in metrics.columns:
        return {}
    sc = next((c for c in ("split", "set", "dataset") if c in metrics.columns), None)
    rows = metrics if sc is None else metrics.loc[metrics[sc] == "train"]
    return {str(r.model): float(r.threshold) for r in rows.itertuples()}


def write_model(ctx, d: Path) -> dict:
    """Assemble the artifact in ``d`` from a finished run (stages preprocess..stats)."""
    from radnomo.pipeline.stages import model_config_yaml, write_json

    cfg = ctx.config
    write_text_atomic(d / "config.yaml", model_config_yaml(cfg))
    write_json(cfg.raw["preprocess"], d / "preprocess.json")
    shutil.copyfile(ctx.path("radiomics", "params.yaml"), d / "radiomics_params.yaml")
    shutil.copyfile(ctx.path("stats", "study.rds"), d / "study.rds")
    seqs = []
    if cfg.deep.enabled:
        for mp in sorted((ctx.rundir.root / "deep" / "models").glob("*/model.pt")):
            dst = d / "deep" / mp.parent.name / "model.pt"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(mp, dst)
            seqs.append(mp.parent.name)
    tables = ctx.rundir.root / "stats" / "tables"
    metrics = pd.read_csv(tables / "metrics.csv") if (tables / "metrics.csv").exists() else None
    coefs = {p.stem: pd.read_csv(p).to_dict(orient="records") for p in sorted(tables.glob("*coefficients*.csv"))}
    cols = json.loads(ctx.path("stats", "columns.json").read_text(encoding="utf-8"))
    from radnomo.runtime import software_versions

    # which logistic fits were penalised (Firth) or replaced (LASSO score): study.rds holds those fits,
    # so predict/evaluate reproduce them; recorded here for the reader
    fits = []
    if (tables / "fits.csv").exists():
        from radnomo.pipeline.report import records

        f = pd.read_csv(tables / "fits.csv")
        if "note" in f.columns:
            f["note"] = ["" if pd.isna(v) else str(v) for v in f["note"]]  # all-empty notes read as NaN floats
        fits = records(f)
    info = {"format": MODEL_FORMAT, "cutoffs": _cutoffs(metrics), "columns": cols,
            "separation_policy": cfg.stats.separation, "fits": fits,
            "penalised": {r["model"]: r["method"] for r in fits if r.get("method") not in ("ml", None)},
            "deep_sequences": seqs, "sequences": (ctx.rundir.read_record("split") or {}).get("info", {}).get("sequences"),
            "coefficients": coefs, "versions": software_versions(),
            "outcome": cfg.data.outcome, "id": cfg.data.id}
    write_json(info, d / "model.json")
    return {"cutoffs": info["cutoffs"], "deep_sequences": seqs}


@dataclass(frozen=True)
class StudyModel:
    """A loaded model artifact."""

    path: Path
    info: dict
    config: object  # StudyConfig

    @property
    def cutoffs(self) -> dict[str, float]:
        return dict(self.info.get("cutoffs", {}))


def load_model(path: str | Path) -> StudyModel:
    """Open a model folder written by ``radnomo run`` (``<run>/model``)."""
    from radnomo.pipeline.config import parse_config

    path = Path(path)
    mj = path / "model.json"
    if not mj.exists():
        raise InputError(f"{path} is not a radnomo model folder (no model.json); use the 'model' folder of a run")
    info = json.loads(mj.read_text(encoding="utf-8"))
    if info.get("format") != MODEL_FORMAT:
        raise InputError(f"{mj}: unknown model format {info.get('format')!r} (expected {MODEL_FORMAT!r})")
    raw = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    raw["radiomics"] = {"params": "radiomics_params.yaml"}
    raw["data"] = {**raw["data"], "manifest": None, "clinical": None}
    return StudyModel(path=path, info=info, config=parse_config(raw, base_dir=path))


def features_for(model: StudyModel, manifest, clinical, work: Path, *, workers=None, progress=True,
                 log: Callable[[str], None] = print, require_outcome: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Preprocess + radiomics + deep features of a new cohort with the model's frozen settings.

    Returns the analysis table (``patient_id``, outcome if present, clinical
    variables, feature columns) and warnings.
    """
    from radnomo.features.deep import DeepExtractConfig, extract_deep_features
    from radnomo.features.params import load_params
    from radnomo.features.radiomics import extract_radiomics
    from radnomo.io.manifest import read_manifest
    from radnomo.io.tables import read_feature_table
    from radnomo.pipeline.cohort import load_cohort

    cfg = model.config
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    seqs = tuple(model.info.get("sequences") or cfg.data.sequences)
    cohort = load_cohort(manifest, clinical, outcome=cfg.data.outcome, id=cfg.data.id, sequences=seqs,
                         clinical_variables=cfg.data.clinical_variables, require_outcome=require_outcome)
    msgs = [f"excluded {r.patient_id}: {r.reason}" for r in cohort.excluded.itertuples()]
    man = cohort.manifest
    if cfg.preprocess.enabled:
        from radnomo.preprocess.cohort import preprocess_cohort

        log("[predict] preprocessing")
        res = preprocess_cohort(man, work / "preprocess", cfg.preprocess.settings, workers=workers, progress=progress)
        msgs += [f"preprocess failed for {r.case_id}: {r.message}" for r in res.errors.itertuples()]
        man = read_manifest(res.manifest_path)
    log("[predict] radiomics")
    rres = extract_radiomics(man, load_params(model.path / "radiomics_params.yaml"), work / "radiomics.parquet",
                             workers=workers, progress=progress)
    msgs += [f"radiomics failed for {r.case_id}: {r.message}" for r in rres.errors.itertuples()]
    rad, _ = read_feature_table(work / "radiomics.parquet")
    blocks = [rad]
    if model.info.get("columns", {}).get("deep"):
        log("[predict] deep features")
        dres = extract_deep_features(man, work / "deep.parquet", model_dir=model.path / "deep",
                                     config=DeepExtractConfig(aggregation=cfg.deep.aggregation,
                                                              batch_size=cfg.deep.extract_batch_size),
                                     device=cfg.deep.device, num_threads=cfg.deep.threads, progress=progress)
        msgs += [f"deep features failed for {f['patient_id']} ({f['sequence']}): {f['error']}" for f in dres.failures]
        blocks.append(dres.table)
    table = cohort.clinical[["patient_id", *cfg.data.clinical_variables]].copy()
    if require_outcome or not cohort.labels.isna().all():
        table.insert(1, "label", cohort.labels.loc[table.patient_id].to_numpy())
    for b in blocks:
        table = table.merge(b, on="patient_id", how="inner")
    need = [c for k in ("radiomics", "deep") for c in model.info["columns"].get(k, [])]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise InputError(f"the new cohort's features lack {len(missing)} column(s) the model was fitted with, "
                         f"e.g. {missing[:5]} (different sequences or radiomics parameters?)")
    return table, msgs


def predict_cohort(model_path, manifest, clinical=None, out=None, *, work=None, workers=None, progress=True,
                   log: Callable[[str], None] = print) -> pd.DataFrame:
    """Score new patients with a frozen model.

    Returns one row per patient: ``patient_id``, the study's scores/risks
    (``clinical``, ``rad_score``, ``dl_score``, ``nomogram`` as the study names
    them) and ``<model>_positive`` (score >= the training cut-off). Written to
    ``out`` (CSV) when given.
    """
    from radnomo.pipeline import study_adapter as sa

    model = load_model(model_path)
    if work is None and out is not None:
        work = Path(out).parent / (Path(out).stem + "_work")
    if work is None:
        raise InputError("give out= or work= (a folder for the new cohort's preprocessed images and features)")
    table, msgs = features_for(model, manifest, clinical, work, workers=workers, progress=progress, log=log)
    for m in msgs:
        log(f"[predict] warning: {m}")
    study = sa.load(model.path / "study.rds")
    scores = sa.predict(study, table, id="patient_id")
    for m, cut in model.cutoffs.items():
        if m in scores.columns:
            scores[f"{m}_positive"] = (scores[m] >= cut).astype(int)
    if "label" in table.columns:
        scores.insert(1, "label", table.set_index("patient_id").loc[scores.patient_id, "label"].to_numpy())
    if out:
        from radnomo.pipeline.stages import write_csv

        write_csv(scores, Path(out))
    return scores


def calibration_groups(n: int) -> int:
    """Risk groups for calibrating ``n`` patients: about 10 per group, 3 to 10 (as R ``fit_study``)."""
    return int(min(10, max(3, n // 10)))


def evaluate_scores(scores: pd.DataFrame, cutoffs: dict[str, float], thresholds=None) -> dict[str, pd.DataFrame]:
    """Metrics of each model on a labelled cohort at the training cut-offs, DeLong comparisons,
    the nomogram's calibration and decision curves of every model.

    AUC with DeLong 95% CI, sensitivity, specificity, PPV, NPV, accuracy (R
    ``roc_metrics``); calibration as external validation (R ``calibration`` with
    ``validation = TRUE``: Hosmer–Lemeshow with G df); decision curves by
    rmda's definitions at ``thresholds`` (default 0, 0.01, ..., 0.99).
    """
    from radnomo.stats import calibration, decision_curve, delong_test, roc_metrics

    if "label" not in scores.columns or scores["label"].isna().any():
        raise InputError("evaluation needs the outcome of every patient (column 'label')")
    y = scores["label"].astype(int).to_numpy()
    # a block left out of the study (nothing selected) has no scores
    models = [m for m in MODEL_LABELS if m in scores.columns and scores[m].notna().any()]
    rows = []
    for m in models:
        r = roc_metrics(y, scores[m].to_numpy(float), threshold=cutoffs.get(m))
        rows.append(r.assign(model=m))
    metrics = pd.concat(rows, ignore_index=True)
    metrics = metrics[["model", *[c for c in metrics.columns if c != "model"]]]
    out = {"metrics": metrics}
    if len(models) >= 2:
        out["delong"] = delong_test(y, {m: scores[m].to_numpy(float) for m in models})
    if "nomogram" in models:
        cal = calibration(y, scores["nomogram"].to_numpy(float), groups=calibration_groups(len(y)), validation=True)
        out["calibration_curve"], out["calibration_stats"] = cal.curve, cal.stats
    if thresholds is None:
        thresholds = [round(0.01 * i, 10) for i in range(100)]
    out["decision"] = decision_curve(y, {m: scores[m].to_numpy(float) for m in models}, thresholds=thresholds)
    return out


def evaluate_cohort(model_path, manifest, clinical=None, out_dir=None, *, workers=None, progress=True,
                    log: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """Score a labelled external cohort and report the study's metrics at the training cut-offs.

    Writes ``scores.csv``, ``metrics.csv``, ``delong.csv``, ``calibration_curve.csv``,
    ``calibration_stats.csv``, ``decision.csv`` and ``evaluation.json`` into ``out_dir``.
    """
    from radnomo.pipeline.report import records
    from radnomo.pipeline.stages import write_csv, write_json

    if out_dir is None:
        raise InputError("evaluate needs an output folder")
    out_dir = Path(out_dir)
    model = load_model(model_path)
    scores = predict_cohort(model_path, manifest, clinical, out_dir / "scores.csv", work=out_dir / "work",
                            workers=workers, progress=progress, log=log)
    res = evaluate_scores(scores, model.cutoffs, thresholds=model.config.stats.thresholds())
    for k, v in res.items():
        write_csv(v, out_dir / f"{k}.csv")
    write_json({"model": str(model.path), "cutoffs": model.cutoffs,
                "tables": {k: records(v) for k, v in res.items()}}, out_dir / "evaluation.json")
    return {"scores": scores, **res}
