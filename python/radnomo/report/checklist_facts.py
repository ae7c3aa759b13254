"""What a finished run knows, for the reporting checklists: :class:`RunFacts` from ``results.json``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from radnomo.report.scope import ModelScope


@dataclass
class RunFacts:
    """What a finished run knows, as plain values (filled by :func:`facts_from_run`).

    ``sets``: ``{"train": {"n": 42, "events": 14}, "test": {...}}``; ``feature_counts``: candidate
    features per block (``radiomics``, ``deep``, ``clinical``); ``selection_steps``: rows of
    ``steps.csv`` (block, step, n_features); ``exclusions``: rows of ``split/excluded.csv``
    (patient_id, reason); ``metrics``: rows of ``metrics.csv``; ``headline``: the
    nomogram's AUCs (:func:`radnomo.report.tables.headline`); ``validation``: the validate stage's
    record (method, estimator, n_resamples, ...) or ``None``; ``fits``: per model, the fitting method
    (``ml``/``firth``/``lasso``) and whether the data separate; ``figures``: report figure keys ->
    file names; ``scope``: the run's feature blocks (deep on or off: whether there is a DL score).
    """

    title: str = ""
    outcome: str = "label"
    sets: dict[str, dict[str, int]] = field(default_factory=dict)
    n_total: int | None = None
    n_excluded: int | None = None
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    split_method: str | None = None
    split_seed: int | None = None
    test_fraction: float | None = None
    missing_data: str | None = None
    sequences: list[str] = field(default_factory=list)
    clinical_variables: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    preprocessing: dict[str, Any] = field(default_factory=dict)
    radiomics_params: dict[str, Any] = field(default_factory=dict)
    radiomics_engine: str | None = None
    image_types: list[str] = field(default_factory=list)
    feature_classes: list[str] = field(default_factory=list)
    discretization: str | None = None
    feature_counts: dict[str, int] = field(default_factory=dict)
    selection_steps: list[dict[str, Any]] = field(default_factory=list)
    stats_settings: dict[str, Any] = field(default_factory=dict)
    deep: dict[str, Any] | None = None
    scope: ModelScope = field(default_factory=ModelScope)
    clinical_selected: list[str] = field(default_factory=list)
    final_terms: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    fits: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    headline: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None
    calibration: bool = False
    decision_curves: bool = False
    delong: bool = False
    shap: bool = False
    gradcam: bool = False
    model_artifact: bool = False
    software: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, Any] = field(default_factory=dict)
    input_hashes: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    deviations: list[dict[str, Any]] = field(default_factory=list)
    synthetic: bool = False
    figures: dict[str, list[str]] = field(default_factory=dict)

    @property
    def train(self) -> dict[str, int]:
        return self.sets.get("train", {})

    @property
    def test(self) -> dict[str, int]:
        return self.sets.get("test", {})


def _records(results: Mapping[str, Any], name: str) -> list[dict]:
    return list((results.get("tables") or {}).get(name) or [])


def facts_from_run(results: Mapping[str, Any], run_record: Mapping[str, Any] | None = None,
                   config: Mapping[str, Any] | None = None) -> RunFacts:
    """Gather :class:`RunFacts` from a run's ``results.json`` (``results``), its run record
    (default ``results["run_record"]``) and its configuration (default the record's
    ``configuration``: the portable effective config)."""
    rec = dict(run_record if run_record is not None else results.get("run_record") or {})
    cfg = dict(config if config is not None else rec.get("configuration") or {})
    f = RunFacts(title=str(results.get("title") or (cfg.get("report") or {}).get("title") or ""))
    _data_facts(f, results, rec, cfg)
    _feature_facts(f, results, rec, cfg)
    _model_facts(f, results)
    _record_facts(f, results, rec)
    return f


def _data_facts(f: RunFacts, results: Mapping[str, Any], rec: dict, cfg: dict) -> None:
    """Patients per set, exclusions, the split, missing data, sequences and clinical variables."""
    data = cfg.get("data") or {}
    f.outcome = str(data.get("outcome") or "label")
    patients = rec.get("patients") or {}
    order = sorted(patients, key=lambda k: ({"train": 0, "test": 1}.get(str(k), 2), str(k)))
    f.sets = {str(k): {"n": int(patients[k].get("n", 0)), "events": int(patients[k].get("events", 0))} for k in order}
    if f.sets:
        f.n_total = sum(v["n"] for v in f.sets.values())
    f.exclusions = _records(results, "excluded")
    f.n_excluded = len(f.exclusions)
    split = cfg.get("split") or {}
    f.split_method, f.split_seed, f.test_fraction = split.get("method"), split.get("seed"), split.get("test_fraction")
    f.missing_data = data.get("missing")
    f.sequences = [str(s) for s in data.get("sequences") or []]
    f.clinical_variables = [str(v) for v in data.get("clinical_variables") or []]
    f.categorical = [str(v) for v in data.get("categorical") or []]
    f.preprocessing = dict(cfg.get("preprocess") or {})


def _feature_facts(f: RunFacts, results: Mapping[str, Any], rec: dict, cfg: dict) -> None:
    """Radiomics parameters (image types, classes, discretisation), feature counts, selection, deep settings."""
    params = (cfg.get("radiomics") or {}).get("params")
    f.radiomics_params = dict(params) if isinstance(params, Mapping) else {}
    f.radiomics_engine = (cfg.get("radiomics") or {}).get("engine")
    f.image_types = [_image_type_text(k, v) for k, v in (f.radiomics_params.get("imageType") or {}).items()]
    f.feature_classes = list((f.radiomics_params.get("featureClass") or {}).keys())
    setting = f.radiomics_params.get("setting") or {}
    if "binWidth" in setting:
        f.discretization = f"fixed bin width {setting['binWidth']}"
    elif "binCount" in setting:
        f.discretization = f"fixed bin count {setting['binCount']}"
    elif f.radiomics_params:
        f.discretization = "fixed bin width 25 (PyRadiomics' default)"
    steps = _records(results, "steps")
    f.selection_steps = steps
    f.feature_counts = {str(r["block"]): int(r["n_features"]) for r in steps if r.get("step") == "input"}
    f.stats_settings = dict(cfg.get("stats") or {})
    deep = cfg.get("deep") or {}
    f.scope = ModelScope.from_mapping(cfg)
    if f.scope.deep:
        train = deep.get("train") or {}
        f.deep = {"architecture": "DenseNet-169", "aggregation": deep.get("aggregation"),
                  "image_size": (deep.get("slices") or {}).get("image_size"),
                  "epochs": train.get("epochs"), "lr": train.get("lr"), "weights": train.get("weights"),
                  "pretrained": not any("weights for DenseNet-169 not found" in w for w in rec.get("warnings") or [])}


def _model_facts(f: RunFacts, results: Mapping[str, Any]) -> None:
    """The selected clinical variables, the final model's terms, metrics, fits and headline."""
    import pandas as pd

    from radnomo.report.tables_performance import headline

    multi = _records(results, "clinical_multivariable")
    f.clinical_selected = list(dict.fromkeys(str(r["variable"]) for r in multi if r.get("variable")))
    f.final_terms = [str(r["term"]) for r in _records(results, "nomogram_coefficients")
                     if str(r.get("term")) not in ("Intercept", "(Intercept)")]
    f.metrics = _records(results, "metrics")
    f.models = list(dict.fromkeys(str(r["model"]) for r in f.metrics))
    f.fits = _records(results, "fits")
    if f.metrics:
        summ = _records(results, "validation_summary") or _records(results, "validation_performance")
        f.headline = headline(pd.DataFrame(f.metrics), validation=pd.DataFrame(summ) if summ else None)
    f.validation = results.get("validation")


def _record_facts(f: RunFacts, results: Mapping[str, Any], rec: dict) -> None:
    """What the report shows (calibration, decision curves, SHAP, Grad-CAM) and the run record."""
    tables = results.get("tables") or {}
    f.calibration = any(n.startswith("calibration_") for n in tables)
    f.decision_curves = bool(tables.get("decision"))
    f.delong = bool(tables.get("delong"))
    figs = results.get("figures") or {}
    f.figures = {str(k): [str(p) for p in v] for k, v in figs.items()}
    f.shap = bool(tables.get("shap_rad_test") or tables.get("shap_dl_test") or figs.get("shap"))
    f.gradcam = bool(tables.get("gradcam") or figs.get("gradcam"))
    f.model_artifact = "model" in (rec.get("stages") or {})
    f.software = dict(rec.get("versions") or {})
    f.seeds = dict(rec.get("seeds") or {})
    f.input_hashes = dict(rec.get("input_hashes") or {})
    f.warnings = [str(w) for w in rec.get("warnings") or []]
    f.deviations = list(rec.get("deviations_from_study_config") or [])
    f.synthetic = bool(rec.get("oracle"))


def _image_type_text(name: str, settings: Any) -> str:
    if isinstance(settings, Mapping) and settings:
        inner = ", ".join(f"{k} {v}" for k, v in settings.items())
        return f"{name} ({inner})"
    return str(name)
