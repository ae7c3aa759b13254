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
  feature columns the study expects, the clinical variables it reads
  (``clinical_variables_used``), the logistic fits and which of them were
  penalised (``fits``, ``penalised``: Firth's method or the LASSO score under
  ``stats.separation``; ``study.rds`` holds those fits, so scoring reproduces
  them), versions.

:func:`predict_cohort` recomputes preprocessing and features for new patients
with these settings and applies the frozen study; :func:`evaluate_cohort`
evaluates it on a labelled cohort with R ``evaluate_study`` (the code the
study used for its own test set: training cut-offs, DeLong, calibration as
validation, decision curves). Both read only the clinical variables the
frozen study uses, and accept a column mapping for tables whose names differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from radnomo.errors import InputError
from radnomo.io.atomic import write_csv
from radnomo.io.jsonio import records, write_json
from radnomo.pipeline.column_map import check_column_map, mapped_clinical_table, read_column_map
from radnomo.features.params import load_params
from radnomo.io.manifest import read_manifest
from radnomo.io.tables import read_feature_table, read_table
from radnomo.pipeline import study_adapter as sa
from radnomo.pipeline.cohort import load_cohort
from radnomo.pipeline.config import StudyConfig, parse_config

__all__ = ["MODEL_FORMAT", "StudyModel", "load_model", "model_study", "study_clinical_variables", "read_column_map",
           "check_column_map", "load_new_cohort", "features_for", "score_table", "predict_cohort",
           "evaluate_table", "evaluate_cohort"]

#: Format tag of ``model.json``.
MODEL_FORMAT = "radnomo-study-model-v1"


@dataclass(frozen=True)
class StudyModel:
    """A loaded model artifact."""

    path: Path
    info: dict
    config: StudyConfig

    @property
    def cutoffs(self) -> dict[str, float]:
        return dict(self.info.get("cutoffs", {}))


def load_model(path: str | Path) -> StudyModel:
    """Open a model folder written by ``radnomo run`` (``<run>/model``)."""
    path = Path(path)
    mj = path / "model.json"
    if not mj.exists():
        raise InputError(f"{path} is not a radnomo model folder (no model.json); use the 'model' folder of a run")
    info = json.loads(mj.read_text(encoding="utf-8"))
    if info.get("format") != MODEL_FORMAT:
        raise InputError(f"{mj}: unknown model format {info.get('format')!r} (expected {MODEL_FORMAT!r})")
    raw = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8"))
    raw["radiomics"] = {**(raw.get("radiomics") or {}), "params": "radiomics_params.yaml"}
    raw["data"] = {**raw["data"], "manifest": None, "clinical": None}
    return StudyModel(path=path, info=info, config=parse_config(raw, base_dir=path))


def model_study(model: StudyModel):
    """The model's frozen R study (``study.rds``) through the bridge."""
    return sa.load(model.path / "study.rds")


def study_clinical_variables(study, candidates=None) -> tuple[str, ...]:
    """The clinical variables a fitted study reads when it scores patients.

    Those of the clinical model (the candidates that passed the univariable step) and
    the nomogram's clinical predictors — not every candidate of the study: an external
    site needs only these. ``candidates`` (the study's clinical candidates) filters out
    the nomogram's score terms.
    """
    used = list(getattr(getattr(study, "clinical", None), "selected", ()) or ())
    nomo = getattr(study, "nomogram", None)
    if nomo is not None:
        used += [p for p in nomo.predictors if p not in ("rad_score", "dl_score")]
    if candidates is None:
        candidates = tuple(study.settings.get("clinical") or ()) if isinstance(study.settings, dict) else ()
        if isinstance(candidates, str):
            candidates = (candidates,)
    keep = set(candidates)
    return tuple(dict.fromkeys(v for v in used if not keep or v in keep))


# ------------------------------------------------------ features, scores ---

def load_new_cohort(model: StudyModel, manifest, clinical, work: Path, *, clinical_variables=None, column_map=None,
                    require_outcome: bool = False):
    """Read and check a new cohort's manifest and clinical table for a frozen model.

    Only ``clinical_variables`` (default: those the frozen study uses,
    :func:`study_clinical_variables`) must be in the clinical table — the study's
    other candidates are not read, and an empty cell in them excludes nobody.
    ``column_map`` (``{name in the clinical table: model's name}``) renames the
    table's columns first (checked: unknown names are errors naming them). The
    variables are checked like the study's own (:func:`radnomo.pipeline.cohort.load_cohort`:
    numeric unless declared categorical, empty cells under ``data.missing``).

    Returns ``(cohort, clinical_variables)``.
    """
    cfg = model.config
    if clinical_variables is None:
        clinical_variables = study_clinical_variables(model_study(model), cfg.data.clinical_variables)
    clinical_variables = tuple(clinical_variables)
    if column_map:
        if clinical is None:
            raise InputError("a column mapping (--map) renames the clinical table's columns; give the table "
                             "with --clinical")
        allowed = {*cfg.data.clinical_variables, cfg.data.id, cfg.data.outcome}
        clinical = mapped_clinical_table(clinical, column_map, allowed, cfg.data.id, work)
    if clinical_variables and clinical is None:
        raise InputError(f"the model uses the clinical variable(s) {list(clinical_variables)}; give a table with "
                         "them (--clinical; --map THEIR_NAME=MODEL_NAME when your names differ)")
    if clinical is not None and clinical_variables:
        have = list(read_table(clinical).columns)
        lacking = [c for c in clinical_variables if c not in have]
        if lacking:
            raise InputError(f"the clinical table {clinical} lacks {lacking}, which the model uses (it needs "
                             f"only {list(clinical_variables)}); its columns are {have[:30]}. Name the matching "
                             "columns with --map THEIR_NAME=MODEL_NAME (or a mapping file)")
    seqs = tuple(model.info.get("sequences") or cfg.data.sequences)
    cohort = load_cohort(manifest, clinical, outcome=cfg.data.outcome, id=cfg.data.id, sequences=seqs,
                         clinical_variables=clinical_variables, require_outcome=require_outcome,
                         categorical=[c for c in cfg.data.categorical if c in clinical_variables],
                         missing=cfg.data.missing)
    return cohort, clinical_variables


def features_for(model: StudyModel, manifest, clinical, work: Path, *, clinical_variables=None, column_map=None,
                 workers=None, progress=True, log: Callable[[str], None] = print,
                 require_outcome: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """Preprocess + radiomics + deep features of a new cohort with the model's frozen settings.

    The cohort is read by :func:`load_new_cohort` (only the clinical variables the
    frozen study uses; ``column_map`` renames the clinical table's columns).
    Returns the analysis table (``patient_id``, outcome if present, the clinical
    variables, feature columns) and warnings.
    """
    from radnomo.features.deep import DeepExtractConfig, extract_deep_features  # torch: loaded when needed
    from radnomo.features.radiomics import extract_radiomics

    cfg = model.config
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    cohort, clinical_variables = load_new_cohort(model, manifest, clinical, work, clinical_variables=clinical_variables,
                                                 column_map=column_map, require_outcome=require_outcome)
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
                             workers=workers, progress=progress, engine=cfg.radiomics.engine)
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
    table = cohort.clinical[["patient_id", *clinical_variables]].copy()
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


def score_table(model: StudyModel, study, table: pd.DataFrame) -> pd.DataFrame:
    """Scores of the patients of an analysis table: the study's risks, ``<model>_positive``
    (score >= the training cut-off) and ``label`` when the table has it."""
    scores = sa.predict(study, table, id="patient_id")
    for m, cut in model.cutoffs.items():
        if m in scores.columns:
            scores[f"{m}_positive"] = (scores[m] >= cut).astype(int)
    if "label" in table.columns:
        y = table.set_index("patient_id").loc[scores.patient_id, "label"]
        scores.insert(1, "label", outcome_column(y).array)
    return scores


def outcome_column(y: pd.Series) -> pd.Series:
    """0/1 outcomes as integers (``1``, not ``1.0``, in a CSV); a missing one stays empty (pandas'
    nullable ``Int64``). Values other than 0/1 are left as they are."""
    num = pd.to_numeric(y, errors="coerce")
    if y.notna().equals(num.notna()) and num.dropna().isin([0, 1]).all():
        return num.astype("Int64")
    return y


def predict_cohort(model_path, manifest, clinical=None, out=None, *, work=None, column_map=None, workers=None,
                   progress=True, log: Callable[[str], None] = print) -> pd.DataFrame:
    """Score new patients with a frozen model.

    Only the clinical variables the frozen study uses are read from ``clinical``
    (:func:`study_clinical_variables`); ``column_map`` (``{their name: model name}``,
    :func:`read_column_map`) renames the clinical table's columns first.

    Returns one row per patient: ``patient_id``, the study's scores/risks
    (``clinical``, ``rad_score``, ``dl_score``, ``nomogram`` as the study names
    them) and ``<model>_positive`` (score >= the training cut-off). Written to
    ``out`` (CSV) when given.
    """
    model = load_model(model_path)
    if work is None and out is not None:
        work = Path(out).parent / (Path(out).stem + "_work")
    if work is None:
        raise InputError("give out= or work= (a folder for the new cohort's preprocessed images and features)")
    study = model_study(model)
    used = study_clinical_variables(study, model.config.data.clinical_variables)
    table, msgs = features_for(model, manifest, clinical, work, clinical_variables=used, column_map=column_map,
                               workers=workers, progress=progress, log=log)
    for m in msgs:
        log(f"[predict] warning: {m}")
    scores = score_table(model, study, table)
    if out:
        write_csv(scores, Path(out))
    return scores


def evaluate_table(study, table: pd.DataFrame, set_label: str = "external") -> tuple[dict[str, pd.DataFrame], list[str]]:
    """R ``evaluate_study`` of the frozen study on a labelled analysis table (through the bridge).

    One implementation with the study's own test-set evaluation: AUC with DeLong 95%
    CI and sensitivity/specificity/PPV/NPV/accuracy at the **training cut-offs**,
    paired DeLong tests, the nomogram's calibration as external validation
    (Hosmer–Lemeshow with G df, about 10 patients per group, 3 to 10 groups) and
    decision curves at the **study's thresholds** (stored in the study; the study
    configuration's ``stats.dca_*``). Returns ``({"metrics", "delong",
    "calibration_curve", "calibration_stats", "decision"}, warnings)`` — tables R
    could not compute (a single outcome class, no nomogram) are absent.
    """
    import warnings as _w

    from radnomo.stats import evaluate_study

    if "label" not in table.columns or table["label"].isna().any():
        raise InputError("evaluation needs the outcome of every patient (column 'label' of the manifest or the "
                         "clinical table; --map THEIR_NAME=label when it is named differently)")
    with _w.catch_warnings(record=True) as caught:
        _w.simplefilter("always")
        ev = evaluate_study(study, table, set=set_label)
    msgs = [str(w.message) for w in caught]
    out: dict[str, pd.DataFrame] = {}
    for name in ("metrics", "delong", "decision"):
        df = getattr(ev, name)
        if isinstance(df, pd.DataFrame):
            out[name] = df.drop(columns=["set"], errors="ignore").reset_index(drop=True)
    if ev.calibration is not None:
        out["calibration_curve"], out["calibration_stats"] = ev.calibration.curve, ev.calibration.stats
    return out, msgs


def evaluate_cohort(model_path, manifest, clinical=None, out_dir=None, *, column_map=None, workers=None,
                    progress=True, log: Callable[[str], None] = print) -> dict[str, pd.DataFrame]:
    """Score a labelled external cohort and evaluate the frozen model on it (R ``evaluate_study``).

    Writes ``scores.csv``, ``metrics.csv``, ``delong.csv``, ``calibration_curve.csv``,
    ``calibration_stats.csv``, ``decision.csv`` and ``evaluation.json`` into ``out_dir``
    (see :func:`evaluate_table`). Only the clinical variables the frozen study uses are
    read; ``column_map`` renames the clinical table's columns first.
    """
    if out_dir is None:
        raise InputError("evaluate needs an output folder")
    out_dir = Path(out_dir)
    model = load_model(model_path)
    study = model_study(model)
    used = study_clinical_variables(study, model.config.data.clinical_variables)
    table, msgs = features_for(model, manifest, clinical, out_dir / "work", clinical_variables=used,
                               column_map=column_map, workers=workers, progress=progress, log=log,
                               require_outcome=True)
    for m in msgs:
        log(f"[evaluate] warning: {m}")
    scores = score_table(model, study, table)
    write_csv(scores, out_dir / "scores.csv")
    res, warns = evaluate_table(study, table)
    for w in dict.fromkeys(warns):
        log(f"[evaluate] warning: {w}")
    for k, v in res.items():
        write_csv(v, out_dir / f"{k}.csv")
    thresholds = study.settings.get("thresholds") if isinstance(study.settings, dict) else None
    write_json({"model": str(model.path), "implementation": "R radnomo::evaluate_study (through radnomo.stats)",
                "cutoffs": model.cutoffs, "clinical_variables": list(used), "column_map": dict(column_map or {}),
                "n_patients": int(len(table)), "n_events": int(table["label"].sum()),
                "decision_thresholds": list(np.atleast_1d(thresholds).astype(float)) if thresholds is not None else None,
                "warnings": list(dict.fromkeys(msgs + warns)),
                "tables": {k: records(v) for k, v in res.items()}}, out_dir / "evaluation.json")
    return {"scores": scores, **res}
