"""Reporting checklists pre-filled from a run: TRIPOD+AI, CLEAR and METRICS (with its score).

Sources of the item lists (numbering, sections and short titles checked against them):

* **TRIPOD+AI** — Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance for
  reporting clinical prediction models that use regression or machine learning methods. BMJ
  2024;385:e078378 (doi:10.1136/bmj-2023-078378), Table 1 (the checklist, 27 main items; items 3, 5,
  6, 8, 9, 12, 18, 20, 23 and 27 have sub-items a, b, c, ...), as published in PMC11019967 (CC BY
  4.0). The short titles below are our own summaries of the item texts, not quotations.
* **CLEAR** — Kocak B, Baessler B, Bakas S, et al. CheckList for EvaluAtion of Radiomics research
  (CLEAR): a step-by-step reporting guideline for authors and reviewers endorsed by ESR and EuSoMII.
  Insights Imaging 2023;14:75 (doi:10.1186/s13244-023-01415-8), 58 items, as listed in the
  authors' online checklist (CLEAR v1.0, clearchecklist.github.io). Items 53 and 58 are marked
  "not essential" there.
* **METRICS** — Kocak B, Akinci D'Antonoli T, Mercaldo N, et al. METhodological RadiomICs Score
  (METRICS): a quality scoring tool for radiomics research endorsed by EuSoMII. Insights Imaging
  2024;15:8 (doi:10.1186/s13244-023-01572-w), Table 1: 30 items in 9 categories with weights and
  5 conditions. Weights of items 1–23 checked against the paper's Table 1; those of items 24–30
  against the authors' web calculator (METRICS Tool v1.0, metricsscore.github.io), which is also
  the source of the scoring rule implemented in :func:`metrics_score`: score = Σ weights of items
  answered "yes" / Σ weights of items answered "yes" or "no" × 100, items made non-applicable by
  a condition counting in neither sum; quality bands: <20 very low, 20–<40 low, 40–<60 moderate,
  60–<80 good, 80–100 excellent. The conditions: 1 segmentation (items 8–10), 2 fully automated
  segmentation (item 9), 3 hand-crafted features (item 12), 4 tabular data (items 14–16),
  5 end-to-end deep learning (item 17).

Every item has a *filler*: a function of :class:`RunFacts` that returns an :class:`Answer` — what
the run itself shows (text and the report anchors of the tables/figures that show it), and/or
what the authors still have to supply. Nothing is claimed that the run cannot know (centres,
dates, ethics, segmentation readers, clinical context): those items say "To be completed by the
authors: ..." with what is needed.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from radnomo.report.labels import Labels

#: HTML ids of the report's tables, figures and run-record parts that checklist answers link to.
#: The report template gives each of these ids to the element that shows it (phase 2's builder
#: must keep them).
ANCHORS = {
    "headline": "headline",
    "warnings": "warnings",
    "deviations": "deviations",
    "table1": "table-1",
    "table1_outcome": "table-1-outcome",
    "table2": "table-2",
    "model": "table-model",
    "rad_score": "table-rad-score",
    "dl_score": "table-dl-score",
    "table3": "table-3",
    "delong": "table-delong",
    "validation": "table-validation",
    "selection": "table-selection",
    "roc": "fig-roc",
    "calibration": "fig-calibration",
    "dca": "fig-dca",
    "nomogram": "fig-nomogram",
    "shap": "fig-shap",
    "gradcam": "fig-gradcam",
    "stability": "fig-selection-stability",
    "deep_history": "fig-deep-history",
    "run_software": "run-software",
    "run_seeds": "run-seeds",
    "run_preprocessing": "run-preprocessing",
    "run_features": "run-features",
    "run_config": "run-config",
    "run_inputs": "run-inputs",
    "run_stages": "run-stages",
    "run_files": "run-files",
    "checklists": "checklists",
}

AUTHORS = "To be completed by the authors"


# -------------------------------------------------------------------------------------- run facts ---

@dataclass
class RunFacts:
    """What a finished run knows, as plain values (filled by :func:`facts_from_run`).

    ``sets``: ``{"train": {"n": 42, "events": 14}, "test": {...}}``; ``feature_counts``: candidate
    features per block (``radiomics``, ``deep``, ``clinical``); ``selection_steps``: rows of
    ``steps.csv`` (block, step, n_features); ``metrics``: rows of ``metrics.csv``; ``headline``: the
    nomogram's AUCs (:func:`radnomo.report.tables.headline`); ``validation``: the validate stage's
    record (method, estimator, n_resamples, ...) or ``None``; ``fits``: per model, the fitting method
    (``ml``/``firth``/``lasso``) and whether the data separate; ``figures``: report figure keys ->
    file names.
    """

    title: str = ""
    outcome: str = "label"
    sets: dict[str, dict[str, int]] = field(default_factory=dict)
    n_total: int | None = None
    n_excluded: int | None = None
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
    from radnomo.report.tables import headline as _headline

    import pandas as pd

    rec = dict(run_record if run_record is not None else results.get("run_record") or {})
    cfg = dict(config if config is not None else rec.get("configuration") or {})
    data = cfg.get("data") or {}
    f = RunFacts(title=str(results.get("title") or (cfg.get("report") or {}).get("title") or ""))
    f.outcome = str(data.get("outcome") or "label")
    patients = rec.get("patients") or {}
    order = sorted(patients, key=lambda k: ({"train": 0, "test": 1}.get(str(k), 2), str(k)))
    f.sets = {str(k): {"n": int(patients[k].get("n", 0)), "events": int(patients[k].get("events", 0))} for k in order}
    if f.sets:
        f.n_total = sum(v["n"] for v in f.sets.values())
    excluded = _records(results, "excluded")
    f.n_excluded = len(excluded)
    split = cfg.get("split") or {}
    f.split_method, f.split_seed, f.test_fraction = split.get("method"), split.get("seed"), split.get("test_fraction")
    f.missing_data = data.get("missing")
    f.sequences = [str(s) for s in data.get("sequences") or []]
    f.clinical_variables = [str(v) for v in data.get("clinical_variables") or []]
    f.categorical = [str(v) for v in data.get("categorical") or []]
    f.preprocessing = dict(cfg.get("preprocess") or {})
    params = (cfg.get("radiomics") or {}).get("params")
    f.radiomics_params = dict(params) if isinstance(params, Mapping) else {}
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
    if deep.get("enabled"):
        f.deep = {"architecture": "DenseNet-169", "aggregation": deep.get("aggregation"),
                  "image_size": (deep.get("slices") or {}).get("image_size"),
                  "epochs": (deep.get("train") or {}).get("epochs"), "lr": (deep.get("train") or {}).get("lr"),
                  "weights": (deep.get("train") or {}).get("weights"),
                  "pretrained": not any("weights for DenseNet-169 not found" in w for w in rec.get("warnings") or [])}
    multi = _records(results, "clinical_multivariable")
    f.clinical_selected = list(dict.fromkeys(str(r["variable"]) for r in multi if r.get("variable")))
    f.final_terms = [str(r["term"]) for r in _records(results, "nomogram_coefficients")
                     if str(r.get("term")) not in ("Intercept", "(Intercept)")]
    f.metrics = _records(results, "metrics")
    f.models = list(dict.fromkeys(str(r["model"]) for r in f.metrics))
    f.fits = _records(results, "fits")
    if f.metrics:
        summ = _records(results, "validation_summary") or _records(results, "validation_performance")
        f.headline = _headline(pd.DataFrame(f.metrics), validation=pd.DataFrame(summ) if summ else None)
    f.validation = results.get("validation")
    tables = results.get("tables") or {}
    f.calibration = any(n.startswith("calibration_") for n in tables)
    f.decision_curves = bool(tables.get("decision"))
    f.delong = bool(tables.get("delong"))
    figs = results.get("figures") or {}
    f.figures = {str(k): [str(p) for p in v] for k, v in figs.items()}
    f.shap = bool(tables.get("shap_rad_test") or tables.get("shap_dl_test") or figs.get("shap"))
    f.gradcam = bool(tables.get("gradcam") or figs.get("gradcam"))
    stages = rec.get("stages") or {}
    f.model_artifact = "model" in stages
    f.software = dict(rec.get("versions") or {})
    f.seeds = dict(rec.get("seeds") or {})
    f.input_hashes = dict(rec.get("input_hashes") or {})
    f.warnings = [str(w) for w in rec.get("warnings") or []]
    f.deviations = list(rec.get("deviations_from_study_config") or [])
    f.synthetic = bool(rec.get("oracle"))
    return f


def _image_type_text(name: str, settings: Any) -> str:
    if isinstance(settings, Mapping) and settings:
        inner = ", ".join(f"{k} {v}" for k, v in settings.items())
        return f"{name} ({inner})"
    return str(name)


# ----------------------------------------------------------------------------------------- answers ---

@dataclass
class Answer:
    """A checklist answer: ``text`` (what the run shows), ``anchors`` (report ids that show it),
    ``todo`` (what the authors must add; empty when radnomo's answer is complete), ``applicable``
    (False where the item does not apply to this run), and ``value`` (METRICS only: "yes", "no" or
    ``None`` when the authors must judge)."""

    text: str = ""
    anchors: tuple[str, ...] = ()
    todo: str = ""
    applicable: bool = True
    value: str | None = None

    @property
    def status(self) -> str:
        """``filled`` (radnomo answered), ``partial`` (radnomo answered part; authors add the rest),
        ``authors`` (authors only), ``not_applicable``."""
        if not self.applicable:
            return "not_applicable"
        if self.text and not self.todo:
            return "filled"
        return "partial" if self.text else "authors"


def authors(what: str) -> Answer:
    """An item only the authors can answer."""
    return Answer(todo=what)


def _a(*keys: str) -> tuple[str, ...]:
    return tuple(ANCHORS[k] for k in keys)


def _n_text(f: RunFacts) -> str:
    parts = [f"{Labels.set_name(k).lower()} {v['n']} patients ({v['events']} events)" for k, v in f.sets.items()]
    return "; ".join(parts)


def _split_text(f: RunFacts) -> str:
    if f.split_method == "manifest":
        return "the split given in the cohort manifest"
    frac = f" {100 * (1 - f.test_fraction):.0f}:{100 * f.test_fraction:.0f}" if f.test_fraction is not None else ""
    how = "stratified by outcome" if f.split_method == "stratified" else str(f.split_method or "random")
    return f"random{frac} training/test split at patient level, {how}, seed {f.split_seed}"


def _missing_text(f: RunFacts) -> str:
    if f.missing_data == "complete_cases":
        ex = f"; {f.n_excluded} patient(s) excluded" if f.n_excluded is not None else ""
        return ("complete-case analysis: patients with a missing clinical value or image/mask are excluded "
                f"before the split, each named with its reason{ex}")
    if f.missing_data == "error":
        return "missing values are refused (data.missing: error); no patient had one"
    return f"missing data handling: {f.missing_data}" if f.missing_data else ""


def _preproc_text(f: RunFacts) -> str:
    p = f.preprocessing
    if not p or not p.get("enabled", True):
        return "No image preprocessing by radnomo (preprocess.enabled: false)."
    bits = []
    if p.get("registration"):
        bits.append(f"{p['registration']} registration of every sequence to {str(p.get('reference', '')).upper()}")
    if p.get("n4"):
        bits.append("N4 bias-field correction")
    if p.get("spacing"):
        bits.append("resampling to " + " × ".join(f"{float(s):g}" for s in p["spacing"]) + " mm voxels")
    if p.get("normalization"):
        norm = p["normalization"]
        setting = f.radiomics_params.get("setting") or {}
        if norm == "pyradiomics" and setting.get("normalize"):
            norm = f"z-score within the image, scaled by {setting.get('normalizeScale', 1)} (PyRadiomics normalize)"
        bits.append(f"intensity normalisation: {norm}")
    if p.get("crop_margin_mm"):
        bits.append(f"crop to the ROI + {p['crop_margin_mm']} mm")
    text = "; ".join(bits) + "."
    return text[:1].upper() + text[1:]


def _features_text(f: RunFacts) -> str:
    bits = []
    if "radiomics" in f.feature_counts:
        seqs = ", ".join(s.upper() for s in f.sequences)
        bits.append(f"{f.feature_counts['radiomics']} hand-crafted radiomics features ({seqs}; classes: "
                    f"{', '.join(f.feature_classes) or 'per the parameter file'}; image types: "
                    f"{', '.join(f.image_types) or 'original'})")
    if "deep" in f.feature_counts:
        arch = (f.deep or {}).get("architecture", "CNN")
        bits.append(f"{f.feature_counts['deep']} deep features ({arch} per sequence, fine-tuned on the training "
                    "set, slice features averaged per patient)")
    if "clinical" in f.feature_counts:
        bits.append(f"{f.feature_counts['clinical']} clinical variables")
    return "; ".join(bits)


def _steps_text(f: RunFacts) -> str:
    by_block: dict[str, list[str]] = {}
    for r in f.selection_steps:
        by_block.setdefault(str(r["block"]), []).append(f"{r['step']} {r['n_features']}")
    return "; ".join(f"{b}: " + " → ".join(v) for b, v in by_block.items())


def _metric(f: RunFacts, model: str, s: str) -> dict | None:
    return next((m for m in f.metrics if m.get("model") == model and m.get("set") == s), None)


def _headline_text(f: RunFacts) -> str:
    h = f.headline or {}
    if not h:
        return ""
    bits = []
    if h.get("test"):
        bits.append(f"test AUC {h['test']['text']}")
    if h.get("train"):
        bits.append(f"training AUC {h['train']['text']}")
    if h.get("corrected"):
        bits.append(f"optimism-corrected AUC {h['corrected']['text']}")
    return "Nomogram: " + ", ".join(bits) + " (95% CIs)."


def _validation_text(f: RunFacts) -> str:
    v = f.validation or {}
    if not v:
        return "no internal validation of the modelling process (validate stage not run)"
    return f"{v.get('estimator') or v.get('method')}, repeating every selection and fitting step"


def _software_text(f: RunFacts) -> str:
    keys = ("radnomo", "python", "R", "R:glmnet", "R:rms", "R:pROC", "pyradiomics", "SimpleITK", "torch")
    return ", ".join(f"{k.replace('R:', '')} {f.software[k]}" for k in keys if f.software.get(k))


def _fits_text(f: RunFacts) -> str:
    firth = [str(r["model"]) for r in f.fits if r.get("method") == "firth"]
    return (f" Firth's bias-reduced logistic regression was used where the data separate ({', '.join(firth)})."
            if firth else "")


def _youden_text(f: RunFacts) -> str:
    m = _metric(f, "nomogram", "train")
    cut = "" if not m or m.get("threshold") is None else f" (nomogram: {float(m['threshold']):.3f})"
    return ("Output: predicted probability of the outcome. Classification for sensitivity, specificity, PPV, NPV "
            f"and accuracy at the cut-off maximising Youden's index on the training set{cut}, reused unchanged "
            "on the test set.")


# -------------------------------------------------------------------------------- item definitions ---

Filler = Callable[[RunFacts], Answer]


@dataclass(frozen=True)
class Item:
    """One checklist item: number as printed (``"12c"``), section, our short title, filler; for
    METRICS its weight and the condition (1–5) that can make it non-applicable."""

    number: str
    section: str
    title: str
    filler: Filler
    weight: float | None = None
    condition: int | None = None


def _static(what: str) -> Filler:
    return lambda f: authors(what)


# ---- TRIPOD+AI -------------------------------------------------------------------------------------

def _t1(f):
    return Answer(f"Run title: \"{f.title}\"." if f.title else "", todo="a title that identifies the study as "
                  "developing and evaluating a multivariable prediction model, the target population and the outcome")


def _t2(f):
    return Answer(" ".join(x for x in (f"Numbers for the abstract: {_n_text(f)}." if f.sets else "",
                                       _headline_text(f)) if x), _a("headline", "table3"),
                  todo="the structured abstract (TRIPOD+AI for Abstracts)")


def _t4(f):
    test = " and evaluates it on a held-out test set" if f.test else ""
    return Answer(f"This run develops the model on the training set{test}.", todo="the study objectives")


def _t5a(f):
    syn = " The data of this run are a synthetic cohort (radnomo.synth)." if f.synthetic else ""
    return Answer(("One cohort (manifest + clinical table), split into development and test sets." + syn),
                  _a("run_inputs"), todo="the data sources (design, routine care/registry), rationale and representativeness")


def _t6b(f):
    ex = (f"radnomo's cohort checks excluded {f.n_excluded} patient(s) (reasons listed under warnings)."
          if f.n_excluded else "radnomo's cohort checks excluded no patient.")
    return Answer(ex, _a("warnings"), todo="the study's inclusion and exclusion criteria")


def _t7(f):
    return Answer(_preproc_text(f) + " Cohort checks (image/mask readability, geometry, outcome agreement between "
                  "manifest and clinical table); features constant on the training set are removed; QC images "
                  "are written per patient.", _a("run_preprocessing", "warnings"),
                  todo="whether preprocessing and quality checks were similar across sociodemographic groups")


def _t8a(f):
    return Answer(f"Outcome column '{f.outcome}' (1 = event).", _a("table1"),
                  todo="the outcome definition, time horizon, how and when it was assessed, and the rationale")


def _t9a(f):
    return Answer("Candidate predictors: " + _features_text(f) + ". All candidates entered the modelling pipeline "
                  "(no pre-selection outside it).", _a("selection", "run_features"),
                  todo="why these clinical variables and imaging sequences were chosen (literature, previous models)")


def _t9b(f):
    return Answer("Radiomics features follow the parameter file (feature classes, image types, discretisation) "
                  "and PyRadiomics' feature definitions; deep features are the penultimate-layer activations of "
                  "the fine-tuned network.", _a("run_features"),
                  todo="how and when each clinical predictor and image was acquired, and blinding to the outcome")


def _t10(f):
    if not f.sets:
        return authors("how the study size was arrived at and its justification")
    epp = ""
    ntr, evtr = f.train.get("n"), f.train.get("events")
    if f.final_terms and evtr:
        epp = (f" The final model has {len(f.final_terms)} predictor terms: "
               f"{evtr / len(f.final_terms):.1f} events per term in the training set.")
    return Answer(f"Sample: {_n_text(f)}.{epp}", _a("table1", "table3"),
                  todo="how the study size was arrived at and whether it was sufficient (sample size calculation)")


def _t11(f):
    t = _missing_text(f)
    return Answer(t + "." if t else "", _a("warnings", "table1"), todo="" if t else "how missing data were handled")


def _t12a(f):
    val = _validation_text(f)
    return Answer(f"{_split_text(f)[:1].upper() + _split_text(f)[1:]}; every selection, scaling and fitting step is "
                  f"fitted on the training set only; internal validation: {val}; the test set is used once, for "
                  "evaluation.", _a("table1", "validation", "run_seeds"))


def _t12b(f):
    s = f.stats_settings
    return Answer("Radiomics and deep features: Mann–Whitney U filter (p < "
                  f"{s.get('mwu_alpha', '?')}), correlation pruning (|r| > {s.get('cor_threshold', '?')}), "
                  "z-scoring with training means and SDs; deep features then reduced by PCA "
                  f"({100 * float(s.get('pca_variance', 0.95)):.0f}% of the variance). Clinical variables: continuous "
                  "variables entered linearly (no transformation), categorical ones as indicator terms.",
                  _a("selection"))


def _t12c(f):
    s = f.stats_settings
    lam = s.get("lambda", "min")
    return Answer(f"Logistic regression models. Rad and DL scores: LASSO (glmnet, λ{lam} by {s.get('nfolds', '?')}"
                  f"-fold cross-validation) then a {s.get('score', 'logistic')} score on the selected terms; clinical "
                  f"model: univariable screening (p < {s.get('clinical_alpha', '?')}) then multivariable logistic "
                  "regression; nomogram: logistic regression on the Rad score, DL score and selected clinical "
                  f"variables (rms).{_fits_text(f)} Internal validation: {_validation_text(f)}.",
                  _a("selection", "table2", "model", "validation"))


def _t12e(f):
    bits = ["discrimination: AUC with DeLong 95% CI and ROC curves"]
    if f.calibration:
        bits.append("calibration: calibration intercept and slope, Hosmer–Lemeshow test, calibration curves")
    if f.decision_curves:
        bits.append("clinical utility: decision curves (net benefit)")
    if f.delong:
        bits.append("model comparison: paired DeLong tests")
    bits.append("classification: sensitivity, specificity, PPV, NPV and accuracy at the training Youden cut-off")
    return Answer("; ".join(bits) + ".", _a("table3", "roc", "calibration", "dca", "delong"),
                  todo="the rationale for these measures")


def _t12f(f):
    return Answer("No model updating (recalibration) was done in this run.")


def _t12g(f):
    if not f.model_artifact:
        return Answer("Predictions on the test set come from the model fitted on the training set (coefficients in "
                      "the model tables).", _a("model"))
    return Answer("Predictions come from the frozen model (folder model/ of the run: configuration, preprocessing "
                  "and radiomics settings, deep models, R study object); `radnomo predict` applies it to new "
                  "patients. Formula: the coefficient tables and the nomogram.", _a("model", "nomogram", "run_files"))


def _t13(f):
    tr = f.train
    frac = f" (events {tr['events']} of {tr['n']}, {100 * tr['events'] / tr['n']:.0f}%, in the training set)" \
        if tr.get("n") else ""
    return Answer(f"No class-imbalance method (no resampling or weighting) was used{frac}.", _a("table1"))


def _t15(f):
    return Answer(_youden_text(f), _a("table3"),
                  todo="the rationale for the classification cut-off, if classification is intended")


def _t16(f):
    if not f.test:
        return Answer(applicable=False, text="No separate evaluation data in this run.")
    return Answer("The training and test sets are a random split of one cohort: same setting, eligibility, outcome "
                  "definition and predictors; Table 1 compares their characteristics.", _a("table1"))


def _t18f(f):
    ver = f.software.get("radnomo")
    return Answer(f"Analysis run with radnomo {ver or ''} (the run folder holds the effective configuration and "
                  "the R scripts that rerun the statistics: stats/fit_study.R, validate/validate_study.R).",
                  _a("run_config", "run_software"), todo="where the analysis code is available (repository, DOI)")


def _t20a(f):
    if not f.sets:
        return authors("the flow of participants (diagram)")
    ex = f"{f.n_excluded} excluded by the cohort checks; " if f.n_excluded is not None else ""
    return Answer(f"{(f.n_total or 0) + (f.n_excluded or 0)} patients in the cohort; {ex}{_n_text(f)}.",
                  _a("table1", "warnings"), todo="a participant flow diagram, and follow-up time if prognostic")


def _t20b(f):
    return Answer("Table 1: characteristics overall, by set and by outcome, with missing values where present.",
                  _a("table1", "table1_outcome"),
                  todo="key dates, treatments received and follow-up time; differences across demographic groups")


def _t20c(f):
    if not f.test:
        return Answer(applicable=False, text="No separate evaluation data in this run.")
    return Answer("Table 1 compares the training and test sets (p-values per variable).", _a("table1"))


def _t21(f):
    if not f.sets:
        return authors("participants and events in each analysis")
    v = f.validation or {}
    res = f" Internal validation resampled the training set {v.get('n_resamples')} times." if v.get("n_resamples") else ""
    return Answer(f"Development (feature selection, tuning by cross-validation, fitting): training set "
                  f"{f.train.get('n')} patients ({f.train.get('events')} events). Evaluation: test set "
                  f"{f.test.get('n')} patients ({f.test.get('events')} events).{res}", _a("table3", "validation"))


def _t22(f):
    art = " The frozen model (folder model/) reproduces the predictions." if f.model_artifact else ""
    return Answer("The full model: coefficients of the nomogram and of the Rad and DL scores, and the nomogram "
                  f"itself.{art}", _a("model", "rad_score", "dl_score", "nomogram"),
                  todo="restrictions on access to or reuse of the model, if any")


def _t23a(f):
    return Answer(" ".join(x for x in (_headline_text(f), "Every model's AUC with its 95% CI per set, ROC and "
                                       "calibration curves, decision curves.") if x),
                  _a("table3", "validation", "roc", "calibration", "dca"),
                  todo="performance in key subgroups (e.g. sociodemographic), if examined")


def _t24(f):
    return Answer("No model updating was done.")


def _t26(f):
    n = len(f.warnings)
    return Answer(f"The run lists {n} warning(s) (separation, fallbacks, removed features) and its "
                  "internal validation shows the optimism of the apparent performance." if n else "",
                  _a("warnings", "validation") if n else (),
                  todo="the study's limitations and their effect on bias, uncertainty and generalisability")


def _t27a(f):
    return Answer("radnomo refuses incomplete input at prediction time: a missing clinical value or an unreadable "
                  "image/mask is named per patient (`radnomo predict`).",
                  todo="how poor-quality or unavailable input data should be handled in practice")


TRIPOD_AI: tuple[Item, ...] = (
    Item("1", "Title", "Title", _t1),
    Item("2", "Abstract", "Abstract", _t2),
    Item("3a", "Introduction: background", "Healthcare context and rationale",
         _static("the healthcare context (diagnostic or prognostic), rationale and existing models")),
    Item("3b", "Introduction: background", "Target population, intended purpose and users",
         _static("the target population, the model's place in the care pathway and its intended users")),
    Item("3c", "Introduction: background", "Known health inequalities",
         _static("known health inequalities between sociodemographic groups")),
    Item("4", "Introduction: objectives", "Objectives", _t4),
    Item("5a", "Methods: data", "Data sources, rationale and representativeness", _t5a),
    Item("5b", "Methods: data", "Dates of data collection",
         _static("start and end of participant accrual, and end of follow-up if applicable")),
    Item("6a", "Methods: participants", "Study setting and centres",
         _static("the study setting and the number and location of centres")),
    Item("6b", "Methods: participants", "Eligibility criteria", _t6b),
    Item("6c", "Methods: participants", "Treatments received",
         _static("treatments received and how they were handled in development or evaluation")),
    Item("7", "Methods: data preparation", "Data pre-processing and quality checking", _t7),
    Item("8a", "Methods: outcome", "Outcome definition and time horizon", _t8a),
    Item("8b", "Methods: outcome", "Outcome assessors (subjective assessment)",
         _static("qualifications and demographics of the outcome assessors, if assessment is subjective")),
    Item("8c", "Methods: outcome", "Blinding of outcome assessment",
         _static("actions to blind the outcome assessment")),
    Item("9a", "Methods: predictors", "Choice and pre-selection of predictors", _t9a),
    Item("9b", "Methods: predictors", "Definition and measurement of predictors", _t9b),
    Item("9c", "Methods: predictors", "Predictor assessors (subjective measurement)",
         _static("qualifications and demographics of readers who segmented or rated images")),
    Item("10", "Methods: sample size", "Study size and its justification", _t10),
    Item("11", "Methods: missing data", "Handling of missing data", _t11),
    Item("12a", "Methods: analytical methods", "Use of the data (partitioning)", _t12a),
    Item("12b", "Methods: analytical methods", "Handling of predictors", _t12b),
    Item("12c", "Methods: analytical methods", "Model type, building steps, tuning, internal validation", _t12c),
    Item("12d", "Methods: analytical methods", "Heterogeneity across clusters",
         _static("whether data come from several centres and how heterogeneity across them was handled")),
    Item("12e", "Methods: analytical methods", "Performance measures and plots", _t12e),
    Item("12f", "Methods: analytical methods", "Model updating (evaluation)", _t12f),
    Item("12g", "Methods: analytical methods", "How predictions were calculated (evaluation)", _t12g),
    Item("13", "Methods: class imbalance", "Class imbalance methods", _t13),
    Item("14", "Methods: fairness", "Approaches to model fairness",
         _static("approaches used to address model fairness, or that none were")),
    Item("15", "Methods: model output", "Model output and classification thresholds", _t15),
    Item("16", "Methods: training versus evaluation", "Differences between development and evaluation data", _t16),
    Item("17", "Methods: ethical approval", "Ethical approval and consent",
         _static("the ethics committee and the informed consent or its waiver")),
    Item("18a", "Open science", "Funding", _static("the source of funding and the funders' role")),
    Item("18b", "Open science", "Conflicts of interest", _static("conflicts of interest of all authors")),
    Item("18c", "Open science", "Protocol", _static("where the protocol can be accessed, or that none was prepared")),
    Item("18d", "Open science", "Registration", _static("registry and number, or that the study was not registered")),
    Item("18e", "Open science", "Data sharing", _static("the availability of the study data")),
    Item("18f", "Open science", "Code sharing", _t18f),
    Item("19", "Patient and public involvement", "Patient and public involvement",
         _static("patient and public involvement, or that there was none")),
    Item("20a", "Results: participants", "Flow of participants", _t20a),
    Item("20b", "Results: participants", "Characteristics of participants", _t20b),
    Item("20c", "Results: participants", "Comparison with the development data (evaluation)", _t20c),
    Item("21", "Results: model development", "Participants and events in each analysis", _t21),
    Item("22", "Results: model specification", "Full prediction model", _t22),
    Item("23a", "Results: model performance", "Performance with confidence intervals", _t23a),
    Item("23b", "Results: model performance", "Heterogeneity of performance across clusters",
         _static("performance across centres, if examined")),
    Item("24", "Results: model updating", "Results of model updating", _t24),
    Item("25", "Discussion", "Interpretation", _static("the overall interpretation, including fairness")),
    Item("26", "Discussion", "Limitations", _t26),
    Item("27a", "Discussion: usability", "Handling of poor-quality or unavailable input data", _t27a),
    Item("27b", "Discussion: usability", "User interaction and expertise required",
         _static("whether users interact with the input data or model, and the expertise needed")),
    Item("27c", "Discussion: usability", "Next steps for research", _static("next steps: applicability and generalisability")),
)


# ---- CLEAR -----------------------------------------------------------------------------------------

def _c12(f):
    return Answer("The pipeline's stages (split → preprocess → radiomics/deep features → statistics → validation → "
                  "explanation → model → report) with their timings are in the run record.", _a("run_stages"),
                  todo="a flowchart figure of the technical pipeline")


def _c15(f):
    return Answer(_split_text(f)[:1].upper() + _split_text(f)[1:] + "; no patient appears in both sets.",
                  _a("table1", "run_seeds"))


def _c16(f):
    return Answer("Processing: " + _preproc_text(f), _a("run_preprocessing"),
                  todo="the image acquisition protocol (scanners, field strength, sequence parameters, contrast timing)")


def _c17(f):
    n = len(f.clinical_variables)
    return Answer(f"{n} clinical variables, summarised in Table 1.", _a("table1"),
                  todo="the definition and measurement of each clinical variable")


def _c19(f):
    p = f.preprocessing
    src = (f" Masks drawn on {str(p.get('reference', '')).upper()} are used for every registered sequence "
           f"(preprocess.mask_source: {p.get('mask_source')}).") if p.get("mask_source") == "reference" else ""
    return Answer(src.strip(), _a("run_preprocessing") if src else (),
                  todo="the segmentation strategy (manual, semi-automated, automated; software; region, margins)")


def _c21(f):
    return Answer(_preproc_text(f), _a("run_preprocessing"))


def _c22(f):
    sp = f.preprocessing.get("spacing")
    if not sp:
        return authors("the resampling method and its parameters")
    return Answer("Resampled to " + " × ".join(f"{float(s):g}" for s in sp) + " mm isotropic voxels after "
                  "registration (SimpleITK).", _a("run_preprocessing"),
                  todo="")


def _c23(f):
    return (Answer(f"Gray-level discretisation: {f.discretization}.", _a("run_features")) if f.discretization
            else authors("the discretisation method and its parameters"))


def _c24(f):
    return (Answer("Image types: " + ", ".join(f.image_types) + ".", _a("run_features")) if f.image_types
            else authors("the image types (original, filtered)"))


def _c25(f):
    eng = {"pyradiomics": "PyRadiomics", "radnomo": "radnomo's engine (PyRadiomics' feature definitions)"}.get(
        f.radiomics_engine or "", "PyRadiomics-defined features")
    ver = f.software.get("pyradiomics")
    deep = f"; deep features: {f.deep['architecture']}" if f.deep else ""
    return Answer(f"Hand-crafted features: {eng}" + (f" (PyRadiomics {ver})" if ver else "") + deep + ".",
                  _a("run_features", "run_software"))


def _c26(f):
    return (Answer("Feature classes: " + ", ".join(f.feature_classes) + ".", _a("run_features")) if f.feature_classes
            else authors("the feature classes"))


def _c27(f):
    return (Answer(_features_text(f) + ".", _a("selection")) if f.feature_counts else authors("the number of features"))


def _c28(f):
    return Answer("The complete extraction settings are the run's parameter file (radiomics/params.yaml); every "
                  "setting not in it is PyRadiomics' default.", _a("run_features", "run_files"))


def _c30(f):
    return _t13(f)


def _c32(f):
    return Answer("Features z-scored with the training set's means and SDs (applied unchanged to the test set); "
                  "image intensities normalised before extraction (see pre-processing).", _a("selection", "run_preprocessing"))


def _c33(f):
    return Answer("Steps with feature counts: " + _steps_text(f) + ".", _a("selection", "stability"))


def _c34(f):
    return Answer("Logistic regression (LASSO-penalised for selection, then unpenalised or Firth refits); "
                  "the nomogram combines the scores and the clinical variables." + _fits_text(f), _a("model", "table2"))


def _c35(f):
    s = f.stats_settings
    deep = ""
    if f.deep:
        d = f.deep
        deep = (f" Deep models: {d['architecture']} fine-tuned for {d.get('epochs')} epoch(s), learning rate {d.get('lr')}, "
                f"input {d.get('image_size')} px, starting from "
                + ("ImageNet weights" if d.get("pretrained") else "random initialisation") + ".")
    return Answer(f"LASSO penalty chosen by {s.get('nfolds', '?')}-fold cross-validation on the training set "
                  f"(λ{s.get('lambda', 'min')}), seed {s.get('seed', '?')}.{deep}", _a("run_seeds", "run_config"))


def _c37(f):
    return Answer("No model selection among algorithms: the four prespecified models (clinical, Rad score, DL score, "
                  "nomogram) are all reported; clinical variables are selected by univariable screening (p < "
                  f"{f.stats_settings.get('clinical_alpha', '?')}).", _a("table2", "table3"))


def _c38(f):
    v = f" and internal validation of the whole pipeline ({_validation_text(f)})" if f.validation else ""
    return Answer(f"Internal hold-out test set{v}.", _a("table3", "validation"),
                  todo="external testing, if done (radnomo evaluate on another cohort)")


def _c40(f):
    return Answer("95% CIs: AUC by DeLong; optimism-corrected AUC by Hanley–McNeil; calibration intercept and "
                  "slope with CIs.", _a("table3", "validation", "calibration"))


def _c41(f):
    return (Answer("Paired DeLong tests between all models, per set.", _a("delong")) if f.delong
            else authors("statistical comparison of model performance"))


def _c42(f):
    return Answer("The clinical model (non-radiomic), the Rad and DL scores and the combined nomogram are compared "
                  "on the same patients.", _a("table3", "delong", "dca"))


def _c43(f):
    bits = []
    if f.shap:
        bits.append("SHAP values of the Rad and DL score terms")
    if f.gradcam:
        bits.append("Grad-CAM maps of the deep models")
    bits.append("the nomogram (points per predictor)")
    return Answer("Explainability: " + "; ".join(bits) + ".", _a("shap", "gradcam", "nomogram") if f.gradcam
                  else _a("shap", "nomogram"))


def _c44(f):
    return Answer("Table 1.", _a("table1", "table1_outcome"))


def _c46(f):
    extra = "; selection frequencies over the validation resamples" if f.validation else ""
    return Answer("Features surviving each selection step" + extra + ".", _a("selection", "stability"),
                  todo="reproducibility (test-retest, inter-reader) results, if assessed")


def _c47(f):
    return _t23a(f)


def _c54(f):
    return Answer("The run's feature tables (radiomics/radiomics.parquet, deep/deep.parquet) can be shared.",
                  _a("run_files"), todo="whether and where the feature data are shared")


def _c55(f):
    return Answer("Settings: the run's effective configuration and parameter files.", _a("run_config", "run_files"),
                  todo="whether and where the pre-processing settings and scripts are shared")


def _c56(f):
    return _t18f(f)


def _c57(f):
    return (Answer("Final model files: the run's model/ folder.", _a("run_files"), todo="whether and where it is shared")
            if f.model_artifact else authors("whether the final model files are shared"))


def _c58(f):
    return (Answer("The model/ folder runs with `radnomo predict` (a ready-to-use command line).", _a("run_files"),
                   todo="whether a ready-to-use system is shared") if f.model_artifact
            else authors("whether a ready-to-use system is shared"))


CLEAR: tuple[Item, ...] = (
    Item("1", "Title", "Relevant title, specifying the radiomic methodology", _t1),
    Item("2", "Abstract", "Structured summary with relevant information", _t2),
    Item("3", "Keywords", "Relevant keywords for radiomics", _static("keywords")),
    Item("4", "Introduction", "Scientific or clinical background", _static("the scientific or clinical background")),
    Item("5", "Introduction", "Rationale for using a radiomic approach", _static("the rationale for radiomics")),
    Item("6", "Introduction", "Study objective(s)", _t4),
    Item("7", "Method: study design", "Adherence to guidelines or checklists",
         lambda f: Answer("This report pre-fills CLEAR, TRIPOD+AI and METRICS.", _a("checklists"),
                          todo="a statement of adherence, with the completed checklists as supplements")),
    Item("8", "Method: study design", "Ethical details", _static("ethics approval, consent and data protection")),
    Item("9", "Method: study design", "Sample size calculation", _t10),
    Item("10", "Method: study design", "Study nature (retrospective, prospective)", _static("the study nature")),
    Item("11", "Method: study design", "Eligibility criteria", _t6b),
    Item("12", "Method: study design", "Flowchart for technical pipeline", _c12),
    Item("13", "Method: data", "Data source", _t5a),
    Item("14", "Method: data", "Data overlap", _static("overlap with data used in previous studies")),
    Item("15", "Method: data", "Data split methodology", _c15),
    Item("16", "Method: data", "Imaging protocol (acquisition and processing)", _c16),
    Item("17", "Method: data", "Definition of non-radiomic predictor variables", _c17),
    Item("18", "Method: data", "Definition of the reference standard (outcome)", _t8a),
    Item("19", "Method: segmentation", "Segmentation strategy", _c19),
    Item("20", "Method: segmentation", "Details of operators performing segmentation",
         _static("who segmented (number, experience, blinding)")),
    Item("21", "Method: pre-processing", "Image pre-processing details", _c21),
    Item("22", "Method: pre-processing", "Resampling method and its parameters", _c22),
    Item("23", "Method: pre-processing", "Discretization method and its parameters", _c23),
    Item("24", "Method: pre-processing", "Image types (original, filtered, transformed)", _c24),
    Item("25", "Method: feature extraction", "Feature extraction method", _c25),
    Item("26", "Method: feature extraction", "Feature classes", _c26),
    Item("27", "Method: feature extraction", "Number of features", _c27),
    Item("28", "Method: feature extraction", "Default configuration statement for remaining parameters", _c28),
    Item("29", "Method: data preparation", "Handling of missing data", _t11),
    Item("30", "Method: data preparation", "Details of class imbalance", _c30),
    Item("31", "Method: data preparation", "Details of segmentation reliability analysis",
         _static("segmentation reliability (inter-/intra-reader) analysis, if done")),
    Item("32", "Method: data preparation", "Feature scaling details", _c32),
    Item("33", "Method: data preparation", "Dimension reduction details", _c33),
    Item("34", "Method: modeling", "Algorithm details", _c34),
    Item("35", "Method: modeling", "Training and tuning details", _c35),
    Item("36", "Method: modeling", "Handling of confounders", _static("how confounders were handled")),
    Item("37", "Method: modeling", "Model selection strategy", _c37),
    Item("38", "Method: evaluation", "Testing technique (internal, external)", _c38),
    Item("39", "Method: evaluation", "Performance metrics and rationale for choosing", _t12e),
    Item("40", "Method: evaluation", "Uncertainty evaluation and measures", _c40),
    Item("41", "Method: evaluation", "Statistical performance comparison", _c41),
    Item("42", "Method: evaluation", "Comparison with non-radiomic and combined methods", _c42),
    Item("43", "Method: evaluation", "Interpretability and explainability methods", _c43),
    Item("44", "Results", "Baseline demographic and clinical characteristics", _c44),
    Item("45", "Results", "Flowchart for eligibility criteria", _t20a),
    Item("46", "Results", "Feature statistics (reproducibility, feature selection)", _c46),
    Item("47", "Results", "Model performance evaluation", _c47),
    Item("48", "Results", "Comparison with non-radiomic and combined approaches", _c42),
    Item("49", "Discussion", "Overview of important findings", _static("an overview of the important findings")),
    Item("50", "Discussion", "Previous works with differences from the current study",
         _static("previous works and how this study differs")),
    Item("51", "Discussion", "Practical implications", _static("practical implications")),
    Item("52", "Discussion", "Strengths and limitations", _t26),
    Item("53", "Open science: data availability", "Sharing images along with segmentation data (not essential)",
         _static("whether images and segmentations are shared")),
    Item("54", "Open science: data availability", "Sharing radiomic feature data", _c54),
    Item("55", "Open science: code availability", "Sharing pre-processing scripts or settings", _c55),
    Item("56", "Open science: code availability", "Sharing source code for modeling", _c56),
    Item("57", "Open science: model availability", "Sharing final model files", _c57),
    Item("58", "Open science: model availability", "Sharing a ready-to-use system (not essential)", _c58),
)


# ---- METRICS ---------------------------------------------------------------------------------------

def _yes(text: str, anchors: Sequence[str] = ()) -> Answer:
    return Answer(text, tuple(anchors), value="yes")


def _m11(f):
    if not f.preprocessing or not f.preprocessing.get("enabled", True):
        return authors("the image preprocessing (none was done by radnomo)")
    bits = [_preproc_text(f)]
    if f.discretization:
        bits.append(f"Discretisation: {f.discretization}.")
    if f.image_types:
        bits.append("Image types: " + ", ".join(f.image_types) + ".")
    return _yes(" ".join(bits), _a("run_preprocessing", "run_features"))


def _m12(f):
    if f.radiomics_engine == "pyradiomics":
        return _yes(f"PyRadiomics {f.software.get('pyradiomics', '')} (IBSI-compliant software).", _a("run_software"))
    return Answer("Features follow PyRadiomics' definitions"
                  + (" (computed by radnomo's engine)" if f.radiomics_engine == "radnomo" else "") + ".",
                  _a("run_software"), todo="whether the extraction software counts as standardised (IBSI-compliant) "
                  "— radnomo's own engine is not IBSI-certified; PyRadiomics is (radiomics engine: pyradiomics)")


def _m13(f):
    deep = f" Deep features: {f.deep['architecture']} (settings in the configuration)." if f.deep else ""
    return _yes("Feature types and classes reported; the complete parameter file is part of the run "
                f"(radiomics/params.yaml).{deep}", _a("run_features", "run_config"))


def _m15(f):
    if not f.selection_steps:
        return authors("how redundant features were removed")
    return _yes("Mann–Whitney U filter, correlation pruning, PCA (deep) and LASSO, with counts after each step: "
                + _steps_text(f) + ".", _a("selection"))


def _m16(f):
    tr = f.train
    if not tr or not f.final_terms:
        return authors("whether the training data size suits the number of features in the final model")
    return Answer(f"Final model: {len(f.final_terms)} terms fitted on {tr['n']} patients ({tr['events']} events, "
                  f"{tr['events'] / len(f.final_terms):.1f} events per term); apparent versus test and "
                  "optimism-corrected performance are reported.", _a("table3", "validation"),
                  todo="a judgement (or calculation) that this dimensionality suits the data size")


def _m18(f):
    if not f.test:
        return authors("the data partitioning")
    return _yes(_split_text(f)[:1].upper() + _split_text(f)[1:] + ", done first; every processing, scaling and "
                "selection step is fitted on the training set only and applied unchanged to the test set.",
                _a("table1", "run_seeds"))


def _m20(f):
    hist = " Training histories of the deep models are part of the run." if f.deep else ""
    return _yes("AUC, sensitivity, specificity, PPV, NPV and accuracy (with the counts of the confusion matrix) "
                f"per model and set.{hist}", _a("table3", "roc"))


def _m21(f):
    return _yes("95% confidence intervals (DeLong for AUCs; Hanley–McNeil for the corrected AUC) and "
                "internal validation by resampling.", _a("table3", "validation"))


def _m22(f):
    if not f.calibration:
        return Answer("No calibration assessment in this run.", value="no")
    return _yes("Calibration intercept and slope, Hosmer–Lemeshow test and calibration curves (training, "
                "bootstrap-corrected, and test).", _a("calibration", "validation"))


def _m23(f):
    n = len(f.sequences)
    if n <= 1:
        return _yes("A single imaging set is used.")
    return Answer(f"This run combines {n} sequences and does not compare single-sequence models.",
                  todo="a comparison with single-sequence (uni-parametric) models, if done")


def _m24(f):
    if "clinical" not in f.models:
        return authors("a comparison with a non-radiomic approach")
    return _yes("Compared with the clinical (non-radiomic) model by DeLong tests and decision curves.",
                _a("table3", "delong", "dca"))


def _m25(f):
    if "clinical" not in f.models:
        return authors("a comparison with simple or classical statistical models")
    return _yes("The clinical logistic regression model is the classical reference; decision curves compare with "
                "treating all or none.", _a("table3", "delong", "dca"))


def _m26(f):
    return _yes("Internal hold-out test set: " + _n_text(f) + ".", _a("table3")) if f.test else \
        Answer("No independent test set in this run.", value="no")


def _m30(f):
    if f.model_artifact:
        return Answer("The final model exists as the run's model/ folder, usable with `radnomo predict`.",
                      _a("run_files"), todo="whether it is shared with the public")
    return authors("whether the final model is shared")


METRICS: tuple[Item, ...] = (
    Item("1", "Study design", "Adherence to radiomics and/or machine learning-specific checklists or guidelines",
         lambda f: Answer("This report pre-fills CLEAR, TRIPOD+AI and METRICS.", _a("checklists"),
                          todo="whether the study adhered to a checklist in its design and reporting"), 0.0368),
    Item("2", "Study design", "Eligibility criteria that describe a representative study population",
         _static("the eligibility criteria and the representativeness of the sample"), 0.0735),
    Item("3", "Study design", "High-quality reference standard with a clear definition",
         _static("the reference standard and its quality"), 0.0919),
    Item("4", "Imaging data", "Multi-center", _static("whether images come from more than one institution"), 0.0438),
    Item("5", "Imaging data", "Clinical translatability of the imaging data source for radiomics analysis",
         _static("whether acquisition follows established standardisation"), 0.0292),
    Item("6", "Imaging data", "Imaging protocol with acquisition parameters",
         _static("the acquisition protocol"), 0.0438),
    Item("7", "Imaging data", "The interval between imaging used and reference standard",
         _static("the interval between imaging and the reference standard"), 0.0292),
    Item("8", "Segmentation", "Transparent description of segmentation methodology",
         _static("the segmentation methodology"), 0.0337, condition=1),
    Item("9", "Segmentation", "Formal evaluation of fully automated segmentation",
         _static("a formal evaluation of the automated segmentation (applies only if fully automated)"), 0.0225,
         condition=2),
    Item("10", "Segmentation", "Test set segmentation masks produced by a single reader or automated tool",
         _static("who produced the test-set masks"), 0.0112, condition=1),
    Item("11", "Image processing and feature extraction",
         "Appropriate use of image preprocessing techniques with transparent description", _m11, 0.0622),
    Item("12", "Image processing and feature extraction", "Use of standardized feature extraction software",
         _m12, 0.0311, condition=3),
    Item("13", "Image processing and feature extraction",
         "Transparent reporting of feature extraction parameters, otherwise providing a default configuration "
         "statement", _m13, 0.0415),
    Item("14", "Feature processing", "Removal of non-robust features",
         _static("removal of non-robust features (test-retest, multiple segmentations, perturbations); "
                 "radnomo does not do it"), 0.0200, condition=4),
    Item("15", "Feature processing", "Removal of redundant features", _m15, 0.0200, condition=4),
    Item("16", "Feature processing", "Appropriateness of dimensionality compared to data size", _m16, 0.0300,
         condition=4),
    Item("17", "Feature processing", "Robustness assessment of end-to-end deep learning pipelines",
         _static("robustness of the end-to-end deep learning pipeline"), 0.0200, condition=5),
    Item("18", "Preparation for modeling", "Proper data partitioning process", _m18, 0.0599),
    Item("19", "Preparation for modeling", "Handling of confounding factors",
         _static("how confounding factors were analysed and handled"), 0.0300),
    Item("20", "Metrics and comparison", "Use of appropriate performance evaluation metrics for task", _m20, 0.0352),
    Item("21", "Metrics and comparison", "Consideration of uncertainty", _m21, 0.0234),
    Item("22", "Metrics and comparison", "Calibration assessment", _m22, 0.0176),
    Item("23", "Metrics and comparison", "Use of uni-parametric imaging or proof of its inferiority", _m23, 0.0117),
    Item("24", "Metrics and comparison", "Comparison with a non-radiomic approach or proof of added clinical value",
         _m24, 0.0293),
    Item("25", "Metrics and comparison", "Comparison with simple or classical statistical models", _m25, 0.0176),
    Item("26", "Testing", "Internal testing", _m26, 0.0375),
    Item("27", "Testing", "External testing", _static("testing on data from other institutions, if done"), 0.0749),
    Item("28", "Open science", "Data availability", _static("whether any data are shared with the public"), 0.0075),
    Item("29", "Open science", "Code availability", lambda f: Answer(
        _t18f(f).text, _t18f(f).anchors, todo="whether all scripts are shared with the public, with instructions"),
        0.0075),
    Item("30", "Open science", "Model availability", _m30, 0.0075),
)

#: The METRICS conditions (paper's Table 1 footnotes; web calculator's "Condition#1-5").
METRICS_CONDITIONS = {
    1: "Does the study include segmentation?",
    2: "Does the study include fully automated segmentation?",
    3: "Does the study include hand-crafted feature extraction?",
    4: "Does the study include tabular data?",
    5: "Does the study include end-to-end deep learning?",
}

CHECKLISTS: dict[str, dict[str, Any]] = {
    "tripod_ai": {"name": "TRIPOD+AI", "items": TRIPOD_AI,
                  "citation": "Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance for "
                              "reporting clinical prediction models that use regression or machine learning methods. "
                              "BMJ 2024;385:e078378. doi:10.1136/bmj-2023-078378"},
    "clear": {"name": "CLEAR", "items": CLEAR,
              "citation": "Kocak B, Baessler B, Bakas S, et al. CheckList for EvaluAtion of Radiomics research (CLEAR): "
                          "a step-by-step reporting guideline for authors and reviewers endorsed by ESR and EuSoMII. "
                          "Insights Imaging 2023;14:75. doi:10.1186/s13244-023-01415-8"},
    "metrics": {"name": "METRICS", "items": METRICS,
                "citation": "Kocak B, Akinci D'Antonoli T, Mercaldo N, et al. METhodological RadiomICs Score (METRICS): "
                            "a quality scoring tool for radiomics research endorsed by EuSoMII. Insights Imaging "
                            "2024;15:8. doi:10.1186/s13244-023-01572-w"},
}


# -------------------------------------------------------------------------------------- filling ---

def metrics_conditions(facts: RunFacts, overrides: Mapping[int, bool | None] | None = None) -> dict[int, bool | None]:
    """The five METRICS conditions for this run: segmentation yes (radnomo extracts inside masks);
    fully automated segmentation unknown (``None``: the authors say); hand-crafted features yes when
    radiomics features were extracted; tabular data yes; end-to-end deep learning no (radnomo's deep
    features are turned into a table and modelled with logistic regression). ``overrides`` replace any."""
    c: dict[int, bool | None] = {1: True, 2: None, 3: "radiomics" in facts.feature_counts or bool(facts.radiomics_params),
                                 4: True, 5: False}
    c.update(dict(overrides or {}))
    return c


@dataclass
class FilledItem:
    """A checklist row: the item and radnomo's answer."""

    checklist: str
    number: str
    section: str
    title: str
    status: str
    text: str
    anchors: tuple[str, ...]
    todo: str
    weight: float | None = None
    value: str | None = None

    @property
    def todo_text(self) -> str:
        return f"{AUTHORS}: {self.todo}." if self.todo else ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["anchors"] = list(self.anchors)
        d["todo_text"] = self.todo_text
        return d


def fill(checklist: str, facts: RunFacts, *, conditions: Mapping[int, bool | None] | None = None) -> list[FilledItem]:
    """Every item of ``checklist`` (``"tripod_ai"``, ``"clear"`` or ``"metrics"``) with its answer
    from ``facts``. For METRICS, an item whose condition is false is not applicable and one whose
    condition is unknown is left to the authors; the value is ``"yes"``/``"no"`` only where
    radnomo's answer is complete."""
    spec = CHECKLISTS[checklist]
    conds = metrics_conditions(facts, conditions) if checklist == "metrics" else {}
    out = []
    for it in spec["items"]:
        ans = it.filler(facts)
        if it.condition is not None:
            cond = conds.get(it.condition)
            parent = conds.get(1) if it.condition == 2 else True
            if cond is False or parent is False:
                ans = Answer(f"Not applicable: {METRICS_CONDITIONS[it.condition].lower().rstrip('?')} — no.",
                             applicable=False)
            elif cond is None:
                ans = Answer(ans.text, ans.anchors, todo=(ans.todo or "the answer") + f" (condition: "
                             f"{METRICS_CONDITIONS[it.condition]})")
        value = ans.value if checklist == "metrics" and ans.status == "filled" else None
        if not ans.applicable:
            value = "n/a"
        out.append(FilledItem(checklist=spec["name"], number=it.number, section=it.section, title=it.title,
                              status=ans.status, text=ans.text, anchors=ans.anchors, todo=ans.todo,
                              weight=it.weight, value=value))
    return out


@dataclass
class MetricsScore:
    """METRICS score of the items radnomo could answer.

    ``score``: Σ weights "yes" / Σ weights "yes"+"no" × 100 over the items radnomo answered (the
    paper's formula applied to the answered items); ``lower``/``upper``: the score of the whole
    checklist if every remaining item were answered "no"/"yes" (the range the authors' answers can
    give); ``remaining``: the applicable items left to the authors."""

    score: float | None
    category: str | None
    lower: float
    upper: float
    answered: list[str]
    remaining: list[str]
    not_applicable: list[str]


def metrics_category(score: float | None) -> str | None:
    """The METRICS quality band of a score in percent."""
    if score is None or math.isnan(score):
        return None
    s = round(score, 1)
    for bound, name in ((20, "Very low"), (40, "Low"), (60, "Moderate"), (80, "Good")):
        if s < bound:
            return name
    return "Excellent"


def metrics_score(items: Sequence[FilledItem]) -> MetricsScore:
    """The METRICS score (see :class:`MetricsScore`) of filled METRICS items."""
    yes = sum(i.weight for i in items if i.value == "yes")
    no = sum(i.weight for i in items if i.value == "no")
    open_ = [i for i in items if i.value is None]
    rest = sum(i.weight for i in open_)
    applicable = yes + no + rest
    score = 100 * yes / (yes + no) if yes + no > 0 else None
    return MetricsScore(score=score, category=metrics_category(score),
                        lower=100 * yes / applicable if applicable else 0.0,
                        upper=100 * (yes + rest) / applicable if applicable else 0.0,
                        answered=[i.number for i in items if i.value in ("yes", "no")],
                        remaining=[f"{i.number}. {i.title}" for i in open_],
                        not_applicable=[i.number for i in items if i.value == "n/a"])


def checklist_context(facts: RunFacts, *, conditions: Mapping[int, bool | None] | None = None,
                      anchor_labels: Mapping[str, str] | None = None) -> list[dict]:
    """The template context of the checklists page: one dict per checklist (``id``, ``name``,
    ``citation``, ``rows`` (see :meth:`FilledItem.to_dict`; each anchor as ``{"id", "label"}``),
    ``counts`` per status, and ``score`` for METRICS)."""
    labels = dict(anchor_labels or {})
    out = []
    for key, spec in CHECKLISTS.items():
        rows = fill(key, facts, conditions=conditions)
        ctx_rows = []
        for r in rows:
            d = r.to_dict()
            d["anchors"] = [{"id": a, "label": labels.get(a, a)} for a in r.anchors]
            ctx_rows.append(d)
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("filled", "partial", "authors", "not_applicable")}
        entry = {"id": f"checklist-{key.replace('_', '-')}", "key": key, "name": spec["name"],
                 "citation": spec["citation"], "rows": ctx_rows, "counts": counts, "score": None}
        if key == "metrics":
            entry["score"] = asdict(metrics_score(rows))
        out.append(entry)
    return out


# --------------------------------------------------------------------------------------- export ---

EXPORT_COLUMNS = ("checklist", "number", "section", "title", "status", "answer", "shown_in", "to_be_completed",
                  "weight", "metrics_value")


def _export_rows(items: Sequence[FilledItem]) -> list[dict]:
    return [{"checklist": i.checklist, "number": i.number, "section": i.section, "title": i.title,
             "status": i.status, "answer": i.text, "shown_in": " ".join("#" + a for a in i.anchors),
             "to_be_completed": i.todo_text, "weight": "" if i.weight is None else f"{i.weight:.4f}",
             "metrics_value": i.value or ""} for i in items]


def to_csv(items: Sequence[FilledItem], path: str | Path | None = None) -> str:
    """The filled items as CSV (``EXPORT_COLUMNS``); written to ``path`` when given."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(_export_rows(items))
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _md(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(items: Sequence[FilledItem], *, title: str | None = None, citation: str | None = None,
                score: MetricsScore | None = None, report: str = "report.html") -> str:
    """The filled items as a Markdown table (links point into ``report``)."""
    lines = []
    if title:
        lines += [f"# {title}", ""]
    if citation:
        lines += [f"Checklist: {citation}", ""]
    if score is not None:
        s = "n/a" if score.score is None else f"{score.score:.1f}% ({score.category})"
        lines += [f"METRICS score of the items radnomo answered: {s}; whole checklist between {score.lower:.1f}% "
                  f"and {score.upper:.1f}% depending on the {len(score.remaining)} item(s) left to the authors.", ""]
    lines += ["| No. | Section | Item | Answer from the run | Shown in | To be completed by the authors |",
              "| --- | --- | --- | --- | --- | --- |"]
    for i in items:
        links = ", ".join(f"[{a}]({report}#{a})" for a in i.anchors)
        lines.append(f"| {_md(i.number)} | {_md(i.section)} | {_md(i.title)} | {_md(i.text)} | {links} | "
                     f"{_md(i.todo)} |")
    return "\n".join(lines) + "\n"


def export_all(facts: RunFacts, folder: str | Path, *, conditions: Mapping[int, bool | None] | None = None) -> dict[str, Path]:
    """Write ``checklist_<key>.csv`` and ``.md`` for every checklist into ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for key, spec in CHECKLISTS.items():
        items = fill(key, facts, conditions=conditions)
        p = folder / f"checklist_{key}.csv"
        to_csv(items, p)
        m = folder / f"checklist_{key}.md"
        m.write_text(to_markdown(items, title=f"{spec['name']} checklist, pre-filled by radnomo",
                                 citation=spec["citation"], score=metrics_score(items) if key == "metrics" else None),
                     encoding="utf-8")
        out[f"{key}_csv"], out[f"{key}_md"] = p, m
    return out
