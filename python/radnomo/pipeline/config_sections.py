"""The sections of the study configuration, each field with its declared constraint.

General defaults only: nothing here knows a particular study. The reference
study's values (its clinical variables, title, display names) live in its own
``config.yaml`` (:mod:`radnomo.studies`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from radnomo.pipeline.config_schema import (
    Section, check_value, choice, fail, flag, integer, names, number, require, setting, yaml_key,
)

#: Radiomics engines (as :data:`radnomo.features.radiomics.ENGINES`; the first is the default).
RADIOMICS_ENGINES = ("radnomo", "pyradiomics")
#: Models of a study whose display names ``labels.models`` may set.
MODEL_NAMES = ("clinical", "rad_score", "dl_score", "nomogram")
#: Estimators of the whole-pipeline internal validation (R ``validate_study(method = )``).
VALIDATION_METHODS = ("cv", "boot", "632plus")


@dataclass(frozen=True)
class DataSection(Section):
    """Where the cohort is and what to predict.

    Parameters
    ----------
    manifest : cohort manifest (CSV/Parquet; see :mod:`radnomo.io.manifest`).
    clinical : clinical table (CSV/Parquet) with ``id`` and the clinical variables.
    outcome : 0/1 outcome column (in the manifest or the clinical table).
    id : patient identifier column.
    sequences : sequences to use (empty: all of the manifest's).
    clinical_variables : candidates of the clinical model and rows of Table 1 (default: none).
    categorical : which of them are categorical in Table 1; the others must be numeric
        (a value that is not a number is an error naming column, patients and values).
    missing : empty cells in ``clinical_variables``: ``"complete_cases"`` (default;
        those patients are excluded and listed on the console, at the top of the
        report and in ``split/excluded.csv``) or ``"error"`` (stop, naming the cells).
    """

    section = "data"
    manifest: str | None = setting(None, kind="path", nullable=True)
    clinical: str | None = setting(None, kind="path", nullable=True)
    outcome: str = setting("label", kind="column")
    id: str = setting("patient_id", kind="column")
    sequences: tuple[str, ...] = names()
    clinical_variables: tuple[str, ...] = names()
    categorical: tuple[str, ...] = names()
    missing: str = choice("complete_cases", "complete_cases", "error")

    def check(self):
        extra = sorted(set(self.categorical) - set(self.clinical_variables))
        require(not extra, "data.categorical", f"{extra} are not in data.clinical_variables")


@dataclass(frozen=True)
class SplitSection(Section):
    """Train/test split.

    Parameters
    ----------
    method : ``"stratified"`` (random, stratified by outcome, seeded) or
        ``"manifest"`` (the manifest's ``split`` column).
    test_fraction : share of patients in the test set.
    seed : random seed of the stratified split.
    """

    section = "split"
    method: str = choice("stratified", "stratified", "manifest")
    test_fraction: float = number(0.3, "(0, 1)")
    seed: int = integer(20250101)


@dataclass(frozen=True)
class PreprocessSection:
    """Preprocessing: ``enabled`` plus the fields of :class:`PreprocessConfig`."""

    enabled: bool = True
    settings: Any = None  # PreprocessConfig

    @staticmethod
    def allowed() -> list[str]:
        from radnomo.preprocess.config import PreprocessConfig

        return ["enabled"] + [f.name for f in dataclasses.fields(PreprocessConfig)]


@dataclass(frozen=True)
class RadiomicsSection(Section):
    """Radiomics extraction.

    Parameters
    ----------
    params : a parameter file (path, relative to the config file) or an inline
        mapping in PyRadiomics' format (checked by :func:`radnomo.features.params.check_params`).
    engine : ``"radnomo"`` (default: PyRadiomics' feature values from radnomo's faster
        engine, which falls back to PyRadiomics with a notice for settings it does not
        implement) or ``"pyradiomics"`` (PyRadiomics itself); as ``radnomo extract radiomics --engine``.
    device : the radnomo engine's device: ``"cpu"`` (default), ``"cuda"`` (filters, texture matrices
        and formulas on the GPU; same values within 1e-6 relative) or ``"auto"`` (cuda when present);
        as ``radnomo extract radiomics --device``. Not part of the stage's cache key.
    """

    section = "radiomics"
    params: Any = setting("radiomics.yaml", kind="params")
    engine: str = choice(RADIOMICS_ENGINES[0], *RADIOMICS_ENGINES)
    device: str = choice("cpu", "cpu", "cuda", "auto")


@dataclass(frozen=True)
class DeepSection(Section):
    """Deep learning: fine-tuning, slices, extraction and Grad-CAM.

    Parameters
    ----------
    enabled : compute deep features (off: no DL score, nomogram without it).
    device : ``auto``, ``cpu`` or ``cuda``.
    weights_fallback : when ``train.weights`` is ``imagenet`` and the ImageNet file
        is absent: ``"error"`` (default) or ``"none"`` (random initialisation; the
        report records it).
    aggregation : slice -> patient aggregation (``mean``, ``max``, ``largest``).
    extract_batch_size : slices per forward pass during extraction.
    train : :class:`DeepTrainConfig` fields (except ``slices``).
    slices : :class:`SliceConfig` fields.
    gradcam_patients : test patients per sequence with Grad-CAM overlays.
    threads : torch CPU threads for training and extraction (``null``: torch's default,
        all cores). On a shared, busy CPU 1 is often much faster (no thread oversubscription).
    """

    section = "deep"
    enabled: bool = flag(True)
    device: str = choice("auto", "auto", "cpu", "cuda")
    weights_fallback: str = choice("error", "error", "none")
    aggregation: str = choice("mean", "mean", "max", "largest")
    extract_batch_size: int = integer(32, "[1, inf)")
    gradcam_patients: int = integer(2, "[0, inf)")
    threads: int | None = integer(None, "[1, inf)", nullable=True)
    train: Any = None   # DeepTrainConfig (with slices)
    slices: Any = None  # SliceConfig


@dataclass(frozen=True)
class StatsSection(Section):
    """The statistics half (R ``fit_study``), fitted on the training split only.

    Parameters
    ----------
    mwu_alpha : Mann–Whitney U p-value threshold of radiomics pre-selection.
    cor_threshold : |Pearson r| above which one of a pair is dropped.
    pca_variance : share of variance kept by the deep features' PCA.
    nfolds : cross-validation folds of the LASSO.
    lambda_ : ``"min"`` (λmin) or ``"1se"``; YAML key ``lambda``.
    clinical_alpha : univariable p-value threshold for the multivariable clinical model.
    B : bootstrap resamples of the bias-corrected calibration curve (rms::calibrate).
    seed : seed of the LASSO folds and the bootstrap.
    dca_max_threshold, dca_step : decision-curve thresholds 0, step, ..., max.
    score : how the Rad and DL scores are formed from the selected terms:
        ``"logistic"`` (an unpenalised logistic refit) or ``"lasso"``
        (the LASSO linear predictor itself; more stable in small training sets).
    separation : what every logistic fit (score refits, clinical model, nomogram,
        bootstrap refits) does when its data are (quasi-)completely separated or
        maximum likelihood does not converge: ``"firth"`` (default: Firth's
        bias-reduced refit, finite estimates), ``"lasso"`` (a separated Rad/DL score
        refit is replaced by the LASSO linear predictor; the others use Firth) or
        ``"error"`` (stop). Applied policies are listed in the report's warnings and
        its "Model fits" table.
    """

    section = "stats"
    mwu_alpha: float = number(0.05, "(0, 1]")
    cor_threshold: float = number(0.9, "(0, 1]")
    pca_variance: float = number(0.95, "(0, 1]")
    nfolds: int = integer(10, "[3, inf)")
    lambda_: str = choice("min", "min", "1se", key="lambda")
    clinical_alpha: float = number(0.05, "(0, 1]")
    B: int = integer(1000, "[10, inf)")
    seed: int = integer(20250101)
    dca_max_threshold: float = number(0.99, "(0, 1)")
    dca_step: float = number(0.01, "(0, 1)")
    score: str = choice("logistic", "logistic", "lasso")
    separation: str = choice("firth", "firth", "lasso", "error")

    def check(self):
        require(self.dca_step <= self.dca_max_threshold, "stats.dca_step",
                f"must be in (0, dca_max_threshold], not {self.dca_step!r}")

    def thresholds(self) -> list[float]:
        """Decision-curve thresholds 0, step, ..., max (rounded to 10 decimals)."""
        n = int(math.floor(self.dca_max_threshold / self.dca_step + 1e-9))
        return [round(i * self.dca_step, 10) for i in range(n + 1)]


@dataclass(frozen=True)
class ValidationSection(Section):
    """Internal validation of the whole modelling process (R ``validate_study``), on the training split.

    Every resample refits the entire chain of the ``stats`` stage (Mann–Whitney U
    filter, correlation pruning, z-score, PCA, LASSO, score refits, clinical
    selection, nomogram, separation policy) with the ``stats`` section's settings
    and seed.

    Parameters
    ----------
    enabled : run the ``validate`` stage (default true).
    method : ``"cv"`` (default: repeated stratified k-fold cross-validation),
        ``"boot"`` (Efron–Gong optimism bootstrap, as ``rms::validate``; known to
        under-correct when the predictors were selected from many candidates) or
        ``"632plus"`` (Efron & Tibshirani's .632+, AUC and Brier score only).
    B : bootstrap resamples (``boot``, ``632plus``); R's default, 200.
    folds, repeats : cross-validation folds and repeats (``cv``; default 10 x 20).
    workers : forked R processes for the resamples (``null``: the run's ``--workers``,
        all cores by default). Not part of the stage's key: the same seed gives
        identical results with any number of workers.
    """

    section = "validation"
    enabled: bool = flag(True)
    method: str = choice("cv", *VALIDATION_METHODS)
    B: int = integer(200, "[1, 100000]")
    folds: int = integer(10, "[2, inf)")
    repeats: int = integer(20, "[1, 10000]")
    workers: int | None = integer(None, "[1, 1024]", nullable=True)

    @property
    def n_resamples(self) -> int:
        """Models refitted: folds x repeats (``cv``) or B."""
        return self.folds * self.repeats if self.method == "cv" else self.B

    def describe(self) -> str:
        """The estimator in words (for the report)."""
        if self.method == "cv":
            return (f"repeated stratified {self.folds}-fold cross-validation, {self.repeats} repeat(s) "
                    f"({self.n_resamples} refits of the whole pipeline)")
        if self.method == "boot":
            return f"Efron-Gong optimism bootstrap, B = {self.B} refits of the whole pipeline"
        return f".632+ bootstrap (Efron & Tibshirani 1997), B = {self.B} refits of the whole pipeline"


@dataclass(frozen=True)
class ReportSection(Section):
    """The report: ``title``; ``shap_patients`` test patients with per-patient SHAP bar plots."""

    section = "report"
    title: str = setting("radnomo study report", kind="text")
    shap_patients: int = integer(3, "[0, 50]")


# ------------------------------------------------------------------ labels ---

@dataclass(frozen=True)
class VariableLabel:
    """Display name and unit of one variable (``labels.variables.<name>``)."""

    label: str = setting(dataclasses.MISSING, kind="text")
    unit: str | None = setting(None, kind="text", nullable=True)


@dataclass(frozen=True)
class OutcomeLabels:
    """Display names of the outcome's two classes (``labels.outcome``)."""

    event: str = setting("Event", kind="text")
    nonevent: str = setting("No event", kind="text")


@dataclass(frozen=True)
class LabelsSection:
    """Display names for the report (all optional; a name without a label shows as itself).

    YAML::

        labels:
          variables: {lnafp: {label: ln AFP, unit: ln(ng/mL)}, sex: Sex}
          outcome: {event: Recurrence <= 6 months, nonevent: No recurrence}
          models: {nomogram: DL-Rad-Clinical nomogram}

    ``models`` keys are the study's models (:data:`MODEL_NAMES`); a variable given as a
    plain string is its label without a unit.
    """

    variables: dict = field(default_factory=dict)   # name -> VariableLabel
    outcome: OutcomeLabels = OutcomeLabels()
    models: dict = field(default_factory=dict)      # model -> display name

    def variable(self, name: str) -> str:
        """Display name of variable ``name`` (``name`` itself when unlabelled)."""
        v = self.variables.get(name)
        return v.label if v is not None else name

    def unit(self, name: str) -> str | None:
        """Unit of variable ``name`` (``None`` when not given)."""
        v = self.variables.get(name)
        return v.unit if v is not None else None

    def variable_with_unit(self, name: str) -> str:
        """``"ln AFP (ln(ng/mL))"``; the plain display name when there is no unit."""
        u = self.unit(name)
        return f"{self.variable(name)} ({u})" if u else self.variable(name)

    def model(self, name: str) -> str:
        """Display name of model ``name`` (``name`` itself when unlabelled)."""
        return self.models.get(name, name)


# ---------------------------------------------------------------- building ---

def check_keys(mapping, allowed, where: str) -> dict:
    """``mapping`` as a dict (``None`` -> ``{}``); keys not in ``allowed`` (``None``: any) are errors."""
    if mapping is None:
        return {}
    require(isinstance(mapping, dict), where, f"must be a mapping of settings, not {type(mapping).__name__}")
    unknown = [] if allowed is None else [k for k in mapping if k not in allowed]
    if unknown:
        fail(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return dict(mapping)


def build_declared(cls, mapping, where: str, *, skip=()) -> tuple[Any, dict]:
    """Build a dataclass of declared fields from a YAML mapping: keys checked, defaults filled,
    each value checked under ``<where>.<key>``. Returns ``(object, effective YAML mapping)``;
    fields in ``skip`` are left to the caller (neither allowed nor set)."""
    fields = {yaml_key(f): f for f in dataclasses.fields(cls) if "kind" in f.metadata and f.name not in skip}
    given = check_keys(mapping, fields, where)
    values, eff = {}, {}
    for key, f in fields.items():
        if key in given:
            v = given[key]
        elif f.default is not dataclasses.MISSING:
            v = f.default
        elif f.default_factory is not dataclasses.MISSING:
            v = f.default_factory()
        else:
            fail(f"{where}.{key}", "is required")
        values[f.name] = check_value(f.metadata, v, f"{where}.{key}")
        eff[key] = list(values[f.name]) if isinstance(values[f.name], tuple) else values[f.name]
    return values, eff


def parse_labels(mapping) -> tuple[LabelsSection, dict]:
    """``labels:`` -> (section, effective YAML mapping); every key and type checked."""
    top = check_keys(mapping, ("variables", "outcome", "models"), "labels")
    variables, raw_vars = {}, {}
    for name, spec in check_keys(top.get("variables"), None, "labels.variables").items():
        require(isinstance(name, str) and name, "labels.variables", f"variable names must be strings, not {name!r}")
        values, raw_vars[name] = build_declared(VariableLabel, {"label": spec} if isinstance(spec, str) else spec,
                                                f"labels.variables.{name}")
        variables[name] = VariableLabel(**values)
    values, raw_outcome = build_declared(OutcomeLabels, top.get("outcome"), "labels.outcome")
    models = check_keys(top.get("models"), MODEL_NAMES, "labels.models")
    for k, v in models.items():
        check_value({"kind": "text"}, v, f"labels.models.{k}")
    section = LabelsSection(variables=variables, outcome=OutcomeLabels(**values), models=models)
    return section, {"variables": raw_vars, "outcome": raw_outcome, "models": dict(models)}
