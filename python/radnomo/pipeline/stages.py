"""The study's stages, each a function of a :class:`RunContext`.

split -> preprocess -> radiomics -> deep (training, features, Grad-CAM) ->
stats (R ``fit_study``: selection, Rad/DL scores, clinical model, nomogram,
evaluation; training split only) -> validate (R ``validate_study``: the whole
modelling process refitted in every resample of the training split) -> shap ->
model (the reusable artifact) -> report. Each stage writes into its own folder of the run directory and is
skipped on a rerun when its key (settings + upstream keys + input hashes) is
unchanged (:mod:`radnomo.pipeline.rundir`).
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from radnomo.errors import InputError, MissingDependencyError
from radnomo.io.atomic import atomic_path, file_sha256, write_text_atomic
from radnomo.io.manifest import read_manifest
from radnomo.pipeline.cohort import PipelineWarning, load_cohort, manifest_split, stratified_split
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.rundir import RunDirectory, StageOutcome

#: Bumped when a stage's outputs change meaning; part of every stage key.
STAGES_VERSION = 4  # 4: separation policy and fits table; deep compute record
STAGES = ("split", "preprocess", "radiomics", "deep", "stats", "validate", "shap", "model", "report")


@dataclass
class RunContext:
    """What every stage sees: the configuration, the run folder and the outcomes so far."""

    config: StudyConfig
    rundir: RunDirectory
    workers: int | None = None
    progress: bool = True
    log: Callable[[str], None] = print
    outcomes: dict[str, StageOutcome] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def key(self, stage: str) -> str | None:
        o = self.outcomes.get(stage)
        return o.key if o else None

    def path(self, stage: str, name: str) -> Path:
        return self.rundir.root / stage / name


def write_csv(df: pd.DataFrame, path: Path, index: bool = False) -> Path:
    """CSV, atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)
    return path


def write_json(obj: Any, path: Path) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, (Path, tuple)):
        return str(o) if isinstance(o, Path) else list(o)
    return str(o)


# ------------------------------------------------------------------ split ---

def stage_split(ctx: RunContext) -> StageOutcome:
    """Read the cohort, exclude unusable patients (reported), split 7:3 stratified."""
    cfg = ctx.config
    manifest = cfg.resolve(cfg.data.manifest)
    clinical = cfg.resolve(cfg.data.clinical)
    parts = {"version": STAGES_VERSION, "data": cfg.section_dict("data"), "split": cfg.section_dict("split"),
             "manifest_sha256": file_sha256(manifest) if manifest and manifest.exists() else None,
             "clinical_sha256": file_sha256(clinical) if clinical and clinical.exists() else None}

    def run(d: Path) -> dict:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PipelineWarning)
            cohort = load_cohort(manifest, clinical, outcome=cfg.data.outcome, id=cfg.data.id,
                                 sequences=cfg.data.sequences, clinical_variables=cfg.data.clinical_variables,
                                 categorical=cfg.data.categorical, missing=cfg.data.missing)
        msgs = [str(w.message) for w in caught if issubclass(w.category, PipelineWarning)]
        if cfg.split.method == "manifest":
            split = manifest_split(cohort.manifest).loc[cohort.labels.index]
        else:
            split = stratified_split(cohort.labels, cfg.split.test_fraction, cfg.split.seed, cohort.excluded)
        table = pd.DataFrame({"patient_id": cohort.labels.index, "label": cohort.labels.to_numpy(),
                              "split": split.loc[cohort.labels.index].to_numpy()})
        write_csv(table, d / "split.csv")
        write_csv(cohort.clinical, d / "clinical.csv")
        man = cohort.manifest.table.copy()
        for s in cohort.manifest.sequences:
            for suf in ("_image", "_mask"):
                man[f"{s}{suf}"] = [str(cohort.manifest.image_path(p, s) if suf == "_image"
                                        else cohort.manifest.mask_path(p, s)) for p in man["patient_id"]]
        man["label"] = table["label"].to_numpy()
        man["split"] = table["split"].to_numpy()
        write_csv(man, d / "manifest.csv")
        write_csv(cohort.excluded, d / "excluded.csv")
        counts = table.groupby("split")["label"].agg(["count", "sum"]).rename(columns={"count": "n", "sum": "events"})
        return {"n": len(table), "counts": counts.astype(int).to_dict(orient="index"),
                "sequences": list(cohort.manifest.sequences), "excluded": len(cohort.excluded), "warnings": msgs}

    outcome = ctx.rundir.run_stage("split", parts, run, ["split.csv", "clinical.csv", "manifest.csv"], ctx.log)
    for msg in outcome.info.get("warnings", []):  # excluded patients: count and reasons on the console too
        ctx.log(f"[split] warning: {msg}")
    return outcome


def _image_hashes(manifest_csv: Path) -> str:
    man = read_manifest(manifest_csv)
    h = {}
    for p in man.patients:
        for s in man.sequences:
            h[f"{p}/{s}"] = [file_sha256(man.image_path(p, s)), file_sha256(man.mask_path(p, s))]
    from radnomo.parallel import hash_key

    return hash_key(h)


# ------------------------------------------------------------- preprocess ---

def stage_preprocess(ctx: RunContext) -> StageOutcome:
    """Registration to the reference phase, N4, 1 mm resampling (or pass-through when disabled)."""
    cfg = ctx.config
    src = ctx.path("split", "manifest.csv")
    parts = {"version": STAGES_VERSION, "split": ctx.key("split"), "preprocess": cfg.section_dict("preprocess"), "images": _image_hashes(src)}

    def run(d: Path) -> dict:
        if not cfg.preprocess.enabled:
            shutil.copyfile(src, d / "manifest.csv")
            return {"enabled": False, "n_ok": int(len(pd.read_csv(src))), "n_failed": 0, "warnings": []}
        from radnomo.preprocess.cohort import preprocess_cohort

        res = preprocess_cohort(src, d, cfg.preprocess.settings, workers=ctx.workers, progress=ctx.progress)
        msgs = [f"preprocess failed for patient {r.case_id}: {r.message}" for r in res.errors.itertuples()]
        if res.n_ok == 0:
            raise InputError(f"preprocessing failed for every patient (see {d / 'errors.csv'})")
        return {"enabled": True, "n_ok": res.n_ok, "n_failed": res.n_failed, "n_cached": res.n_cached,
                "warnings": msgs}

    return ctx.rundir.run_stage("preprocess", parts, run, ["manifest.csv"], ctx.log)


# -------------------------------------------------------------- radiomics ---

def radiomics_params(cfg: StudyConfig):
    """The configured PyRadiomics parameters (file or inline mapping), checked."""
    from radnomo.features.params import RadiomicsParams, load_params

    p = cfg.radiomics.params
    if isinstance(p, dict):
        return RadiomicsParams.from_dict(p, source="config radiomics.params (inline)")
    return load_params(cfg.resolve(p))


def stage_radiomics(ctx: RunContext) -> StageOutcome:
    """PyRadiomics features of every patient and sequence (radiomics.parquet)."""
    params = radiomics_params(ctx.config)
    parts = {"version": STAGES_VERSION, "preprocess": ctx.key("preprocess"), "params_sha256": params.sha256}

    def run(d: Path) -> dict:
        from radnomo.features.radiomics import extract_radiomics

        write_text_atomic(d / "params.yaml", params.text)
        res = extract_radiomics(ctx.path("preprocess", "manifest.csv"), params, d / "radiomics.parquet",
                                workers=ctx.workers, progress=ctx.progress)
        if res.table_path is None:
            raise InputError(f"radiomics extraction failed for every patient (see {res.errors_path})")
        msgs = [f"radiomics failed for {r.case_id}: {r.message}" for r in res.errors.itertuples()]
        return {"n_ok": res.n_ok, "n_failed": res.n_failed, "n_features": res.n_features,
                "n_features_per_sequence": params.expected_feature_count(), "warnings": msgs}

    return ctx.rundir.run_stage("radiomics", parts, run, ["radiomics.parquet", "params.yaml"], ctx.log)


# ------------------------------------------------------------------- deep ---

def deep_weights(cfg: StudyConfig) -> tuple[str, list[str]]:
    """The initial weights to train from, and warnings (ImageNet file absent -> fallback)."""
    w = str(cfg.deep.train.weights)
    if w != "imagenet":
        return w, []
    from radnomo.features.deep_model import imagenet_weights_path

    if imagenet_weights_path().exists():
        return w, []
    if cfg.deep.weights_fallback == "none":
        return "none", [f"ImageNet weights for DenseNet-169 not found at {imagenet_weights_path()}; "
                        "the deep models were trained from random initialisation (deep.weights_fallback: none)"]
    raise MissingDependencyError(
        f"ImageNet weights for DenseNet-169 not found at {imagenet_weights_path()}; put them there, set "
        "deep.train.weights to a weights file, or set deep.weights_fallback: none to train from random weights")


def stage_deep(ctx: RunContext) -> StageOutcome:
    """Fine-tune DenseNet-169 per sequence on the training patients, extract features, Grad-CAM."""
    cfg = ctx.config
    weights, msgs = deep_weights(cfg)
    parts = {"version": STAGES_VERSION, "preprocess": ctx.key("preprocess"), "split": ctx.key("split"), "deep": cfg.section_dict("deep"),
             "weights": weights}

    def run(d: Path) -> dict:
        import dataclasses

        from radnomo.explain.gradcam import gradcam_for_patients
        from radnomo.features.deep import DeepExtractConfig, extract_deep_features, train_deep_models

        man = read_manifest(ctx.path("preprocess", "manifest.csv"))
        split = pd.read_csv(ctx.path("split", "split.csv"), dtype={"patient_id": str})
        train_ids = [p for p in split.loc[split.split == "train", "patient_id"] if p in set(man.patients)]
        tcfg = dataclasses.replace(cfg.deep.train, weights=weights)
        threads = cfg.deep.threads
        results = train_deep_models(man, d / "models", config=tcfg, train_patients=train_ids,
                                    device=cfg.deep.device, num_threads=threads, progress=ctx.progress)
        history = pd.concat([r.history.assign(sequence=s) for s, r in results.items()], ignore_index=True)
        write_csv(history, d / "history.csv")
        fails = [f"deep training skipped {p} ({s}): {e}" for s, r in results.items() for p, e in r.failures]
        ecfg = DeepExtractConfig(aggregation=cfg.deep.aggregation, batch_size=cfg.deep.extract_batch_size)
        res = extract_deep_features(man, d / "deep.parquet", model_dir=d / "models", config=ecfg,
                                    device=cfg.deep.device, num_threads=threads, progress=ctx.progress)
        fails += [f"deep features failed for {f['patient_id']} ({f['sequence']}): {f['error']}" for f in res.failures]
        cams = []
        test_ids = split.loc[(split.split == "test") & split.patient_id.isin(res.table.patient_id)]
        picks = _gradcam_picks(test_ids, cfg.deep.gradcam_patients)
        if picks:
            from radnomo.features.deep import torch_threads

            with torch_threads(threads):
                for s in man.sequences:
                    cams.append(gradcam_for_patients(man, s, picks, d / "gradcam", model_dir=d / "models",
                                                     device=cfg.deep.device, progress=False))
        cam = pd.concat(cams, ignore_index=True) if cams else pd.DataFrame(
            columns=["patient_id", "sequence", "slice_index", "probability", "cam_inside_roi", "png"])
        if "png" in cam.columns:
            cam["png"] = [str(Path(p).relative_to(d)) if isinstance(p, str) else p for p in cam["png"]]
        write_csv(cam, d / "gradcam.csv")
        # what determines the features on this machine (torch, threads, CPU instruction set, ...): run record
        return {"weights": weights, "n_patients": int(len(res.table)), "n_features": int(res.table.shape[1] - 1),
                "n_train_patients": len(train_ids), "compute": res.metadata.get("compute"),
                "warnings": msgs + fails}

    # the deep engine's caches (checkpoints, per-slice features) are keyed by weights and slice
    # settings, not by the images: drop them when this stage's inputs changed
    return ctx.rundir.run_stage("deep", parts, run, ["deep.parquet", "history.csv", "gradcam.csv"], ctx.log,
                                clean_on_change=("models", ".deep.parquet.parts", "gradcam"))


def _gradcam_picks(test: pd.DataFrame, k: int) -> list[str]:
    """``k`` test patients, alternating outcome 1 and 0 (first ones by id)."""
    if k <= 0 or test.empty:
        return []
    pos = test.loc[test.label == 1, "patient_id"].tolist()
    neg = test.loc[test.label == 0, "patient_id"].tolist()
    out = []
    while len(out) < k and (pos or neg):
        for lst in (pos, neg):
            if lst and len(out) < k:
                out.append(lst.pop(0))
    return out


# ------------------------------------------------------------------ stats ---

def analysis_table(ctx: RunContext) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """One row per patient: id, outcome, split, clinical variables, radiomics and deep features.

    Returns ``(table, radiomics columns, deep columns, warnings)``; patients
    without features are left out (named in the warnings).
    """
    from radnomo.io.tables import read_feature_table

    cfg = ctx.config
    split = pd.read_csv(ctx.path("split", "split.csv"), dtype={"patient_id": str})
    clin = pd.read_csv(ctx.path("split", "clinical.csv"), dtype={"patient_id": str})
    clin = clin[["patient_id", *cfg.data.clinical_variables]]
    rad, _ = read_feature_table(ctx.path("radiomics", "radiomics.parquet"))
    table = split.merge(clin, on="patient_id", how="inner")
    msgs = []
    rad_cols = [c for c in rad.columns if c != "patient_id"]
    blocks = [rad]
    deep_cols: list[str] = []
    if cfg.deep.enabled:
        dl, _ = read_feature_table(ctx.path("deep", "deep.parquet"))
        deep_cols = [c for c in dl.columns if c != "patient_id"]
        blocks.append(dl)
    for b in blocks:
        lost = sorted(set(table.patient_id) - set(b.patient_id))
        if lost:
            msgs.append(f"{len(lost)} patient(s) without features left out of the statistics: {lost[:10]}")
        table = table.merge(b, on="patient_id", how="inner")
    feats = rad_cols + deep_cols
    x = table[feats].to_numpy(float)
    bad = [c for c, ok in zip(feats, np.isfinite(x).all(axis=0)) if not ok]
    if bad:
        msgs.append(f"{len(bad)} feature(s) with missing/non-finite values dropped: {bad[:10]}")
        table = table.drop(columns=bad)
        rad_cols = [c for c in rad_cols if c not in bad]
        deep_cols = [c for c in deep_cols if c not in bad]
    return table, rad_cols, deep_cols, msgs


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


def stage_stats(ctx: RunContext) -> StageOutcome:
    """R ``fit_study`` on the training split (evaluation on both); tables, study.rds, SHAP inputs."""
    cfg = ctx.config
    parts = {"version": STAGES_VERSION, "split": ctx.key("split"), "radiomics": ctx.key("radiomics"), "deep": ctx.key("deep"),
             "stats": cfg.section_dict("stats"), "clinical": list(cfg.data.clinical_variables),
             "tables": 2}  # 2: Table 1 by outcome per set; training-set column first

    def run(d: Path) -> dict:
        from radnomo.pipeline import study_adapter as sa

        table, rad_cols, deep_cols, msgs = analysis_table(ctx)
        train = table.loc[table.split == "train"].drop(columns="split").reset_index(drop=True)
        test = table.loc[table.split == "test"].drop(columns="split").reset_index(drop=True)
        # features constant on the training set carry no information (and break z-scoring):
        # decided on the training set only
        const = [c for c in rad_cols + deep_cols if np.ptp(train[c].to_numpy(float)) == 0]
        if const:
            msgs.append(f"{len(const)} feature(s) constant on the training set removed before selection "
                        f"(e.g. {const[:5]})")
            drop = set(const)
            rad_cols = [c for c in rad_cols if c not in drop]
            deep_cols = [c for c in deep_cols if c not in drop]
            train, test = train.drop(columns=const), test.drop(columns=const)
        with atomic_path(d / "data_train.csv.gz") as tmp:
            train.to_csv(tmp, index=False, compression="gzip")
        with atomic_path(d / "data_test.csv.gz") as tmp:
            test.to_csv(tmp, index=False, compression="gzip")
        cols = {"radiomics": rad_cols, "deep": deep_cols, "clinical": list(cfg.data.clinical_variables)}
        write_json(cols, d / "columns.json")
        s = cfg.stats
        write_text_atomic(d / "fit_study.R", _RERUN_R.format(
            mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold, pca_variance=s.pca_variance, nfolds=s.nfolds,
            lam=s.lambda_, clinical_alpha=s.clinical_alpha, B=s.B, seed=s.seed, dmax=s.dca_max_threshold,
            dstep=s.dca_step, score=s.score, separation=s.separation))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            study = sa.fit(train, test, outcome="label", radiomics=rad_cols, deep=deep_cols,
                           clinical=cfg.data.clinical_variables, id="patient_id", settings=s)
        fits = fits_table(study)
        msgs += stats_warnings([str(w.message) for w in caught], [w.category.__name__ for w in caught], fits)
        (d / "tables").mkdir(exist_ok=True)
        names = []
        for name, df in sa.study_frames(study).items():
            write_csv(df, d / "tables" / f"{name}.csv")
            names.append(name)
        try:
            write_csv(table1(table, cfg), d / "tables" / "table1.csv")
            names.append("table1")
        except Exception as exc:  # reported, the rest of the study stands
            msgs.append(f"Table 1 failed: {exc}")
        for part in ("train", "test"):
            try:
                write_csv(table1_by_outcome(table, cfg, part), d / "tables" / f"table1_{part}_by_outcome.csv")
                names.append(f"table1_{part}_by_outcome")
            except Exception as exc:  # reported, the rest of the study stands
                msgs.append(f"Table 1 by outcome ({part} set) failed: {exc}")
        study.save_rds(str(d / "study.rds"))
        # inputs of SHAP: selected terms and coefficients of the Rad and DL score models
        shap_inputs = {}
        for kind in ("rad", "dl"):
            if kind == "dl" and not deep_cols:
                continue
            try:
                b, b0, terms_train = sa.score_terms(study, kind, train)
                _, _, terms_test = sa.score_terms(study, kind, test)
            except InputError as exc:
                msgs.append(f"SHAP inputs for the {kind} score unavailable: {exc}")
                continue
            write_csv(pd.DataFrame({"term": ["(Intercept)", *b.index], "estimate": [b0, *b.to_numpy()]}),
                      d / f"shap_{kind}_coefficients.csv")
            write_csv(terms_train.assign(patient_id=train.patient_id.to_numpy()), d / f"shap_{kind}_train.csv")
            write_csv(terms_test.assign(patient_id=test.patient_id.to_numpy()), d / f"shap_{kind}_test.csv")
            shap_inputs[kind] = len(b)
        try:
            if getattr(study, "nomogram", None) is not None:  # none when no block produced a model (R warns)
                _plot_nomogram(study, d / "nomogram.png")
        except Exception as exc:  # drawing is not worth failing the run for; reported
            msgs.append(f"nomogram plot failed: {exc}")
        return {"tables": sorted(names), "n_train": len(train), "n_test": len(test),
                "n_radiomics": len(rad_cols), "n_deep": len(deep_cols), "shap_terms": shap_inputs,
                "separation_policy": s.separation, "fits": _fit_records(fits),
                "penalised": {r["model"]: r["method"] for r in _fit_records(fits) if r.get("method") not in ("ml", None)},
                "warnings": msgs}

    return ctx.rundir.run_stage("stats", parts, run,
                                lambda info: ["study.rds", "data_train.csv.gz", "data_test.csv.gz"]
                                + [f"tables/{n}.csv" for n in info["tables"]], ctx.log)


def fits_table(study) -> pd.DataFrame | None:
    """The study's ``fits`` table (one row per logistic model: model, separation, converged, method, note)."""
    fits = getattr(study, "fits", None)
    return fits if isinstance(fits, pd.DataFrame) else None


def _fit_records(fits: pd.DataFrame | None) -> list[dict]:
    from radnomo.pipeline.report import records

    return [] if fits is None else records(fits)


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


def _group_columns_in_order(df: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """``baseline_table``'s columns with the group columns in the given order (R sorts them alphabetically)."""
    rest = [c for c in df.columns if c not in groups]
    at = rest.index("overall") + 1 if "overall" in rest else min(2, len(rest))
    return df[[*rest[:at], *[g for g in groups if g in df.columns], *rest[at:]]]


def table1(table: pd.DataFrame, cfg: StudyConfig) -> pd.DataFrame:
    """Baseline characteristics, training vs test set, with p-values (R ``baseline_table``), all analysed patients.

    Columns: variable, level, overall, training set, test set, p_value, test.
    """
    from radnomo.stats import baseline_table

    data = table[["split", "label", *cfg.data.clinical_variables]].copy()
    # group labels that cannot collide with baseline_table's own columns (it has a 'test' column)
    data["split"] = data["split"].map({"train": "training set", "test": "test set"})
    cat = [c for c in cfg.data.categorical if c in cfg.data.clinical_variables] + ["label"]
    out = baseline_table(data, "split", [*cfg.data.clinical_variables, "label"], categorical=cat)
    return _group_columns_in_order(out, ["training set", "test set"])


def table1_by_outcome(table: pd.DataFrame, cfg: StudyConfig, split: str) -> pd.DataFrame:
    """Baseline characteristics of one set (``train``/``test``) by outcome, with p-values.

    Columns: variable, level, overall, ``outcome = 1``, ``outcome = 0`` (named
    with the configured outcome), p_value, test.
    """
    from radnomo.stats import baseline_table

    data = table.loc[table["split"] == split, ["label", *cfg.data.clinical_variables]].copy()
    pos, neg = f"{cfg.data.outcome} = 1", f"{cfg.data.outcome} = 0"
    data["label"] = data["label"].map({1: pos, 0: neg})
    cat = [c for c in cfg.data.categorical if c in cfg.data.clinical_variables]
    out = baseline_table(data, "label", list(cfg.data.clinical_variables), categorical=cat)
    return _group_columns_in_order(out, [pos, neg])


def _plot_nomogram(study, path: Path) -> None:
    if hasattr(study, "plot_nomogram"):
        study.plot_nomogram(str(path))
        return
    from radnomo.stats import plot_nomogram

    plot_nomogram(study.nomogram, path)


# --------------------------------------------------------------- validate ---

#: Metrics of the validation, in report order, with their labels.
VALIDATION_METRICS = {"auc": "AUC (c statistic)", "brier": "Brier score", "scaled_brier": "Scaled Brier score",
                      "citl": "Calibration-in-the-large", "recalibration_intercept": "Recalibration intercept",
                      "slope": "Calibration slope", "emax": "Emax", "e90": "E90"}


def validation_test_metrics(scores: pd.DataFrame, models) -> pd.DataFrame:
    """The validation's metrics of each model on the test set (R, the same function ``validate_study`` uses).

    ``scores``: the stats stage's per-patient risks (``set``, ``outcome``, one column per model).
    Returns ``model, metric, test`` (empty when the test set has a single outcome class or none).
    """
    from radnomo.stats import _convert as cv
    from radnomo.stats.session import call

    rows = []
    sc = scores.loc[scores["set"] == "test"] if "set" in scores.columns else scores.iloc[0:0]
    for m in models:
        if m not in sc.columns:
            continue
        ok = sc[m].notna()
        y, p = sc.loc[ok, "outcome"].to_numpy(float), sc.loc[ok, m].to_numpy(float)
        if len(y) < 2 or len(np.unique(y)) < 2:
            continue
        # radnomo:::validation_metrics: the one implementation of these metrics (R/validate.R)
        res = call("validation_metrics", cv.r_numvec(y), cv.r_numvec(p))
        names = [str(n) for n in res.names]
        rows += [{"model": m, "metric": k, "test": float(v)} for k, v in zip(names, res)]
    return pd.DataFrame(rows, columns=["model", "metric", "test"])


def validation_summary(performance: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Apparent | optimism | corrected (95% CI for the AUC) | test, per model and metric, in report order."""
    out = performance.merge(test, on=["model", "metric"], how="left") if len(test) else performance.assign(test=np.nan)
    from radnomo.pipeline.study_adapter import MODEL_LABELS

    order_m = {m: i for i, m in enumerate(MODEL_LABELS)}
    order_k = {k: i for i, k in enumerate(VALIDATION_METRICS)}
    out = out.assign(_m=out["model"].map(order_m).fillna(99), _k=out["metric"].map(order_k).fillna(99))
    out = out.sort_values(["_m", "_k"], kind="stable").drop(columns=["_m", "_k"]).reset_index(drop=True)
    return out[["model", "metric", "apparent", "optimism", "corrected", "lower", "upper", "test"]]


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
                    repeats = {repeats}, seed = {seed}, workers = {workers})
print(v)               # apparent, optimism, corrected (95% CI for the AUC) per model
head(v$stability, 20)  # selection frequency per feature
"""


def stage_validate(ctx: RunContext) -> StageOutcome:
    """R ``validate_study`` on the training split with the stats stage's data and settings.

    Writes ``validation_performance.csv`` (model, metric, apparent, optimism, corrected,
    lower, upper), ``validation_summary.csv`` (the same with the test set's value of each
    metric), ``validation_calibration.csv`` (the nomogram's apparent and corrected
    calibration curves), ``selection_stability.csv`` (selection frequency per feature),
    ``selection_counts.csv`` (terms selected per resample and block),
    ``selection_jaccard.csv``, ``validation_resamples.csv`` (failed / separated resamples),
    ``validation_timing.csv`` (where a refit spends its time) and ``validate_study.R`` (the
    same call in R alone, from the stats folder's tables).
    """
    cfg = ctx.config
    v = cfg.validation
    settings = {k: val for k, val in cfg.section_dict("validation").items() if k != "workers"}
    parts = {"version": STAGES_VERSION, "stats": ctx.key("stats"), "validation": settings}

    def run(d: Path) -> dict:
        from radnomo.pipeline.validation import validate_training_set

        s = cfg.stats
        workers = v.workers if v.workers is not None else (ctx.workers or _cpu_count())
        write_text_atomic(d / "validate_study.R", _VALIDATE_R.format(
            mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold, pca_variance=s.pca_variance, nfolds=s.nfolds,
            lam=s.lambda_, clinical_alpha=s.clinical_alpha, score=s.score, separation=s.separation,
            method=v.method, B=v.B, folds=v.folds, repeats=v.repeats, seed=s.seed, workers=workers))
        kwargs = dict(outcome="label", id="patient_id", mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold,
                      pca_variance=s.pca_variance, nfolds=s.nfolds, lambda_=s.lambda_,
                      clinical_alpha=s.clinical_alpha, score=s.score, separation=s.separation, method=v.method,
                      B=v.B, folds=v.folds, repeats=v.repeats, seed=s.seed, workers=workers, progress=False)
        out = validate_training_set(d, ctx.path("stats", "data_train.csv.gz"), ctx.path("stats", "columns.json"),
                                    kwargs)
        msgs = _counted(out["warnings"])
        names = list(out["tables"])
        perf = pd.read_csv(d / "validation_performance.csv") if "validation_performance" in names else None
        if perf is not None and len(perf):
            scores = pd.read_csv(ctx.path("stats", "tables/scores.csv"), dtype={"id": str})
            test = validation_test_metrics(scores, list(dict.fromkeys(perf["model"])))
            write_csv(validation_summary(perf, test), d / "validation_summary.csv")
            names.append("validation_summary")
        res = pd.read_csv(d / "validation_resamples.csv") if "validation_resamples" in names else None
        counts = {} if res is None else {str(r.reason): int(r.n) for r in res.itertuples()}
        if counts.get("failed"):
            msgs.append(f"{counts['failed']} of {out['n_resamples']} validation resample(s) failed "
                        "(left out of the estimates; reasons in validation_resamples.csv)")
        return {"tables": names, "method": out["method"], "n_resamples": out["n_resamples"],
                "estimator": v.describe(), "workers": workers, "resamples": counts, "warnings": msgs}

    return ctx.rundir.run_stage("validate", parts, run,
                                lambda info: ["validate_study.R"] + [f"{n}.csv" for n in info["tables"]], ctx.log)


def _cpu_count() -> int:
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _counted(messages: list[str]) -> list[str]:
    """Identical messages once, with a count."""
    seen: dict[str, int] = {}
    for m in messages:
        seen[m] = seen.get(m, 0) + 1
    return [m if n == 1 else f"{m} ({n} times)" for m, n in seen.items()]


# ------------------------------------------------------------------- shap ---

def stage_shap(ctx: RunContext) -> StageOutcome:
    """SHAP summary (test set, training background) and per-patient bar plots for the Rad and DL scores."""
    cfg = ctx.config
    parts = {"version": STAGES_VERSION, "stats": ctx.key("stats"), "shap_patients": cfg.report.shap_patients}

    def run(d: Path) -> dict:
        from radnomo.explain.shap import (expected_value, linear_shap_values, plot_shap_patient,
                                          plot_shap_summary)

        label = {"rad": "Rad score", "dl": "DL score"}
        made = {}
        for kind in ("rad", "dl"):
            cf = ctx.path("stats", f"shap_{kind}_coefficients.csv")
            if not cf.exists():
                continue
            coef = pd.read_csv(cf)
            b = pd.Series(coef.estimate.to_numpy(float), index=coef.term.astype(str))
            b0 = float(b.get("(Intercept)", 0.0))
            b = b.drop(labels=["(Intercept)"], errors="ignore")
            tr = pd.read_csv(ctx.path("stats", f"shap_{kind}_train.csv"), dtype={"patient_id": str}).set_index("patient_id")
            te = pd.read_csv(ctx.path("stats", f"shap_{kind}_test.csv"), dtype={"patient_id": str}).set_index("patient_id")
            if b.empty:
                continue
            phi = linear_shap_values(b, te, tr)
            base = expected_value(b, tr, b0)
            write_csv(phi.reset_index(), d / f"shap_{kind}_test.csv")
            files = [plot_shap_summary(phi, te, d / f"shap_{kind}_summary.png",
                                       title=f"SHAP summary, {label[kind]}: test set (n = {len(te)}), "
                                             f"training background (n = {len(tr)})")]
            for pid in phi.index[: cfg.report.shap_patients]:
                files.append(plot_shap_patient(phi.loc[pid], te.loc[pid], base,
                                               d / f"shap_{kind}_patient_{_safe(pid)}.png",
                                               title=f"{label[kind]}: test-set patient {pid}"))
            made[kind] = {"files": [f.name for f in files], "base_value": base, "n_terms": len(b)}
        return {"plots": made}

    return ctx.rundir.run_stage("shap", parts, run, lambda info: [f for v in info["plots"].values() for f in v["files"]],
                                ctx.log)


def _safe(pid: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", str(pid))


# ------------------------------------------------------------------ model ---

def stage_model(ctx: RunContext) -> StageOutcome:
    """The reusable model artifact (see :mod:`radnomo.pipeline.model`)."""
    from radnomo.pipeline.model import write_model

    parts = {"version": STAGES_VERSION, "stats": ctx.key("stats"), "deep": ctx.key("deep"), "radiomics": ctx.key("radiomics"),
             "preprocess": ctx.config.section_dict("preprocess"),
             "artifact": 2}  # 2: model.json lists the clinical variables the study uses

    def run(d: Path) -> dict:
        return write_model(ctx, d)

    return ctx.rundir.run_stage("model", parts, run, ["model.json", "study.rds", "config.yaml"], ctx.log)


# ----------------------------------------------------------------- report ---

def stage_report(ctx: RunContext) -> StageOutcome:
    """HTML report, results.json and every table as CSV."""
    from radnomo.pipeline.report import build_report

    parts = {s: ctx.key(s) for s in STAGES if s != "report"}
    parts["version"] = STAGES_VERSION
    parts["report"] = ctx.config.section_dict("report")
    parts["layout"] = 2  # 2: internal-validation section (validate stage)

    def run(d: Path) -> dict:
        return build_report(ctx, d)

    return ctx.rundir.run_stage("report", parts, run, ["report.html", "results.json"], ctx.log)


STAGE_FUNCTIONS: dict[str, Callable[[RunContext], StageOutcome]] = {
    "split": stage_split, "preprocess": stage_preprocess, "radiomics": stage_radiomics, "deep": stage_deep,
    "stats": stage_stats, "validate": stage_validate, "shap": stage_shap, "model": stage_model,
    "report": stage_report,
}


def effective_config_yaml(cfg: StudyConfig) -> str:
    """The effective configuration as YAML (paths as written; base folder noted).

    For the run folder's own record only (it names this machine's folders);
    what leaves the run (model artifact, report) uses :func:`portable_config`.
    """
    return f"# base folder: {cfg.base_dir}\n" + yaml.safe_dump(cfg.raw, sort_keys=False)


#: Configuration entries that are file paths: (section, key) or (section, sub, key).
_PATH_KEYS = (("data", "manifest"), ("data", "clinical"), ("radiomics", "params"), ("deep", "train", "weights"))


def _portable_path(value: Any, base_dir: Path) -> Any:
    """A path without this machine's folders: relative to ``base_dir`` when inside it, else the file name."""
    if not isinstance(value, str) or value in ("imagenet", "none") or not Path(value).is_absolute():
        return value
    p = Path(value)
    try:
        return p.relative_to(Path(base_dir).resolve()).as_posix()
    except ValueError:
        return p.name


def portable_config(cfg: StudyConfig) -> dict:
    """The effective configuration with no absolute machine paths (for the model artifact and the report).

    Absolute input paths (``data.manifest``, ``data.clinical``, ``radiomics.params``,
    ``deep.train.weights``) become relative to the configuration's folder when
    inside it, else just the file name; the inputs themselves are identified by
    their SHA-256 in the run record.
    """
    import copy

    raw = copy.deepcopy(cfg.raw)
    for keys in _PATH_KEYS:
        node = raw
        for k in keys[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict) and keys[-1] in node:
            node[keys[-1]] = _portable_path(node[keys[-1]], cfg.base_dir)
    return raw


def model_config_yaml(cfg: StudyConfig) -> str:
    """The configuration stored with the model: portable, without the study cohort's file paths."""
    raw = portable_config(cfg)
    raw["data"] = {**raw["data"], "manifest": None, "clinical": None}
    return ("# radnomo model configuration (the study cohort's files are not part of the model)\n"
            + yaml.safe_dump(raw, sort_keys=False))
