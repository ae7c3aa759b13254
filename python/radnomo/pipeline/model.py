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
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from radnomo.errors import InputError
from radnomo.io.atomic import write_text_atomic
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
    # the clinical variables the frozen study reads (predict/evaluate ask only for these)
    from radnomo.pipeline import study_adapter as sa

    used = study_clinical_variables(sa.load(d / "study.rds"), cfg.data.clinical_variables)
    info = {"format": MODEL_FORMAT, "cutoffs": _cutoffs(metrics), "columns": cols,
            "clinical_variables_used": list(used),
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


def model_study(model: StudyModel):
    """The model's frozen R study (``study.rds``) through the bridge."""
    from radnomo.pipeline import study_adapter as sa

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


# ------------------------------------------------------------ column maps ---

def read_column_map(specs) -> dict[str, str]:
    """Column mapping from ``--map`` values: ``THEIRS=MODEL_NAME`` pairs and/or mapping files.

    A file is YAML (a mapping ``their_name: model_name``) or CSV with two columns
    (first: the name in your table, second: the model's name; a header row).
    Returns ``{their name: model name}``; the same name mapped twice is an error.
    """
    out: dict[str, str] = {}

    def add(src, dst, where):
        src, dst = str(src).strip(), str(dst).strip()
        if not src or not dst:
            raise InputError(f"column mapping {where}: empty column name in {src!r} -> {dst!r}")
        if src in out and out[src] != dst:
            raise InputError(f"column mapping: {src!r} is mapped twice ({out[src]!r} and {dst!r})")
        out[src] = dst

    for spec in specs or ():
        spec = str(spec)
        p = Path(spec)
        if p.is_file():
            suffix = p.suffix.lower()
            if suffix in (".yaml", ".yml"):
                try:
                    data = yaml.safe_load(p.read_text(encoding="utf-8"))
                except yaml.YAMLError as exc:
                    raise InputError(f"column mapping file {p} is not valid YAML: {exc}") from exc
                if not isinstance(data, dict) or not data:
                    raise InputError(f"column mapping file {p} must hold a mapping 'their_name: model_name'")
                for k, v in data.items():
                    if isinstance(v, (dict, list)) or v is None:
                        raise InputError(f"column mapping file {p}: {k!r} must map to one column name, not {v!r}")
                    add(k, v, str(p))
            elif suffix == ".csv":
                t = pd.read_csv(p, dtype=str, keep_default_na=False)
                if t.shape[1] != 2 or not len(t):
                    raise InputError(f"column mapping file {p} must have two columns (your name, the model's name) "
                                     f"and a header row; it has columns {list(t.columns)}")
                for a, b in t.itertuples(index=False):
                    add(a, b, str(p))
            else:
                raise InputError(f"column mapping file {p}: use .yaml/.yml or .csv")
        elif "=" in spec:
            a, b = spec.split("=", 1)
            add(a, b, repr(spec))
        else:
            raise InputError(f"--map {spec!r}: expected THEIR_NAME=MODEL_NAME or an existing .yaml/.csv mapping file")
    return out


def check_column_map(mapping: dict[str, str], columns, allowed, where: str) -> None:
    """Raise :class:`InputError` naming unknown names: sources not in ``columns``, targets not in ``allowed``,
    and targets that would collide with a column already there."""
    columns = list(columns)
    absent = [s for s in mapping if s not in columns]
    if absent:
        raise InputError(f"column mapping: {absent} not found in {where}; its columns are {columns[:30]}")
    unknown = sorted({t for t in mapping.values() if t not in set(allowed)})
    if unknown:
        raise InputError(f"column mapping: {unknown} are not names the model reads; map to one of {sorted(allowed)}")
    targets = list(mapping.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        raise InputError(f"column mapping: several columns are mapped to {dup}")
    clash = sorted(t for t in targets if t in columns and t not in mapping)
    if clash:
        raise InputError(f"column mapping: {where} already has column(s) {clash}; a mapping onto them would "
                         "give two columns of that name (drop or rename the existing one)")


def mapped_clinical_table(clinical, mapping: dict[str, str], allowed, id_column: str, work: Path) -> Path:
    """The clinical table with its columns renamed by ``mapping`` (checked), written to ``work``.

    The copy keeps the values unchanged (Parquet); an identifier column mapped onto
    ``id_column`` is read as text (leading zeros kept).
    """
    from radnomo.io.tables import read_table

    clinical = Path(clinical)
    id_src = next((s for s, t in mapping.items() if t == id_column), None)
    if id_src is not None and clinical.suffix.lower() in (".csv", ".txt"):
        if not clinical.exists():
            raise InputError(f"table not found: {clinical}")
        t = pd.read_csv(clinical, dtype={id_src: str})
    else:
        t = read_table(clinical)
    check_column_map(mapping, t.columns, allowed, f"the clinical table {clinical}")
    t = t.rename(columns=mapping)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{clinical.stem}.mapped.parquet"
    t.to_parquet(out, index=False)
    return out


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
    from radnomo.io.tables import read_table
    from radnomo.pipeline.cohort import load_cohort

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
    from radnomo.features.deep import DeepExtractConfig, extract_deep_features
    from radnomo.features.params import load_params
    from radnomo.features.radiomics import extract_radiomics
    from radnomo.io.manifest import read_manifest
    from radnomo.io.tables import read_feature_table

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
    from radnomo.pipeline import study_adapter as sa

    scores = sa.predict(study, table, id="patient_id")
    for m, cut in model.cutoffs.items():
        if m in scores.columns:
            scores[f"{m}_positive"] = (scores[m] >= cut).astype(int)
    if "label" in table.columns:
        scores.insert(1, "label", table.set_index("patient_id").loc[scores.patient_id, "label"].to_numpy())
    return scores


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
        from radnomo.pipeline.stages import write_csv

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
    from radnomo.pipeline.report import records
    from radnomo.pipeline.stages import write_csv, write_json

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
