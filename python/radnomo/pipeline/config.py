"""The study configuration: a schema-checked YAML file of frozen sections.

A configuration file has the sections ``data``, ``split``, ``preprocess``,
``radiomics``, ``deep``, ``stats``, ``validation`` and ``report`` (all optional except
``data``; a missing key takes the default shown in
``pipelines/hcc_recurrence/config.yaml``). Unknown keys are errors that name
the key and the allowed ones; types and ranges are checked when the section
objects are built. ``--set section.key=value`` overrides (value parsed as
YAML) go through the same checks.

Sub-sections reuse the engines' own validated settings objects:
``preprocess`` -> :class:`radnomo.preprocess.config.PreprocessConfig` (plus
``enabled``); ``deep.train`` -> :class:`radnomo.features.deep_train.DeepTrainConfig`
(without ``slices``); ``deep.slices`` -> :class:`radnomo.features.slices.SliceConfig`.

Relative paths (``data.manifest``, ``data.clinical``, ``radiomics.params``)
are resolved against the folder of the configuration file.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from radnomo.errors import InputError

#: Clinical variables of the reference study's Table 1 (the synthetic cohort's clinical.csv).
STUDY_CLINICAL = (
    "age", "sex", "tumor_number", "max_diameter_cm", "multiple_low_signal", "lnafp", "alt", "ast", "alb",
    "ggt", "tbil", "pt", "plt", "neu_lym", "child_pugh", "albi_score", "meld_score", "viral_hepatitis",
    "portal_hypertension", "dangerous_position", "treatment_history", "complication",
)
STUDY_CATEGORICAL = (
    "sex", "tumor_number", "multiple_low_signal", "child_pugh", "viral_hepatitis", "portal_hypertension",
    "dangerous_position", "treatment_history", "complication",
)
SECTIONS = ("data", "split", "preprocess", "radiomics", "deep", "stats", "validation", "report", "labels")
#: Radiomics engines (as :data:`radnomo.features.radiomics.ENGINES`; the first is the default).
RADIOMICS_ENGINES = ("radnomo", "pyradiomics")
#: Models of the study whose display names ``labels.models`` may set.
MODEL_NAMES = ("clinical", "rad_score", "dl_score", "nomogram")


def _check(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise InputError(f"config {where}: {msg}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))


def _str_tuple(v, where: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        v = [v]
    _check(isinstance(v, (list, tuple)) and all(isinstance(s, str) and s for s in v), where,
           f"must be a list of names, not {v!r}")
    return tuple(v)


@dataclass(frozen=True)
class DataSection:
    """Where the cohort is and what to predict.

    Parameters
    ----------
    manifest : cohort manifest (CSV/Parquet; see :mod:`radnomo.io.manifest`).
    clinical : clinical table (CSV/Parquet) with ``id`` and the clinical variables.
    outcome : 0/1 outcome column (in the manifest or the clinical table).
    id : patient identifier column.
    sequences : sequences to use (empty: all of the manifest's).
    clinical_variables : candidates of the clinical model and rows of Table 1.
    categorical : which of them are categorical in Table 1; the others must be numeric
        (a value that is not a number is an error naming column, patients and values).
    missing : empty cells in ``clinical_variables``: ``"complete_cases"`` (default;
        those patients are excluded and listed on the console, at the top of the
        report and in ``split/excluded.csv``) or ``"error"`` (stop, naming the cells).
    """

    manifest: str | None = None
    clinical: str | None = None
    outcome: str = "label"
    id: str = "patient_id"
    sequences: tuple[str, ...] = ()
    clinical_variables: tuple[str, ...] = STUDY_CLINICAL
    categorical: tuple[str, ...] = STUDY_CATEGORICAL
    missing: str = "complete_cases"

    def __post_init__(self):
        for name in ("manifest", "clinical"):
            v = getattr(self, name)
            _check(v is None or (isinstance(v, str) and v.strip()), f"data.{name}", f"must be a file path, not {v!r}")
        for name in ("outcome", "id"):
            _check(isinstance(getattr(self, name), str) and getattr(self, name), f"data.{name}",
                   f"must be a column name, not {getattr(self, name)!r}")
        for name in ("sequences", "clinical_variables", "categorical"):
            object.__setattr__(self, name, _str_tuple(getattr(self, name), f"data.{name}"))
        extra = sorted(set(self.categorical) - set(self.clinical_variables))
        _check(not extra, "data.categorical", f"{extra} are not in data.clinical_variables")
        _check(self.missing in ("complete_cases", "error"), "data.missing",
               f"must be 'complete_cases' or 'error', not {self.missing!r}")


@dataclass(frozen=True)
class SplitSection:
    """Train/test split.

    Parameters
    ----------
    method : ``"stratified"`` (random, stratified by outcome, seeded) or
        ``"manifest"`` (the manifest's ``split`` column).
    test_fraction : share of patients in the test set (study: 0.3, i.e. 7:3).
    seed : random seed of the stratified split.
    """

    method: str = "stratified"
    test_fraction: float = 0.3
    seed: int = 20250101

    def __post_init__(self):
        _check(self.method in ("stratified", "manifest"), "split.method",
               f"must be 'stratified' or 'manifest', not {self.method!r}")
        _check(_is_num(self.test_fraction) and 0 < self.test_fraction < 1, "split.test_fraction",
               f"must be a number in (0, 1), not {self.test_fraction!r}")
        _check(_is_int(self.seed), "split.seed", f"must be an integer, not {self.seed!r}")


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
class RadiomicsSection:
    """PyRadiomics extraction.

    Parameters
    ----------
    params : a parameter file (path, relative to the config file) or an inline
        mapping in PyRadiomics' format (checked by :func:`radnomo.features.params.check_params`).
    """

    params: Any = "radiomics.yaml"
    engine: str = "radnomo"

    def __post_init__(self):
        _check(isinstance(self.params, (str, dict)) and self.params != "", "radiomics.params",
               "must be a parameter file path or an inline PyRadiomics parameter mapping")
        _check(self.engine in RADIOMICS_ENGINES, "radiomics.engine",
               f"must be 'radnomo' or 'pyradiomics', not {self.engine!r}")


@dataclass(frozen=True)
class DeepSection:
    """Deep learning: fine-tuning, slices, extraction and Grad-CAM.

    Parameters
    ----------
    enabled : compute deep features (off: no DL score, nomogram without it).
    device : ``auto``, ``cpu`` or ``cuda``.
    weights_fallback : when ``train.weights`` is ``imagenet`` and the ImageNet file
        is absent: ``"error"`` (the study) or ``"none"`` (random initialisation; the
        report records it).
    aggregation : slice -> patient aggregation (``mean``, ``max``, ``largest``).
    extract_batch_size : slices per forward pass during extraction.
    train : :class:`DeepTrainConfig` fields (except ``slices``).
    slices : :class:`SliceConfig` fields.
    gradcam_patients : test patients per sequence with Grad-CAM overlays.
    threads : torch CPU threads for training and extraction (``null``: torch's default,
        all cores). On a shared, busy CPU 1 is often much faster (no thread oversubscription).
    """

    enabled: bool = True
    device: str = "auto"
    weights_fallback: str = "error"
    aggregation: str = "mean"
    extract_batch_size: int = 32
    gradcam_patients: int = 2
    threads: int | None = None
    train: Any = None   # DeepTrainConfig (with slices)
    slices: Any = None  # SliceConfig

    def __post_init__(self):
        _check(isinstance(self.enabled, bool), "deep.enabled", f"must be true or false, not {self.enabled!r}")
        _check(self.device in ("auto", "cpu", "cuda"), "deep.device", f"must be auto, cpu or cuda, not {self.device!r}")
        _check(self.weights_fallback in ("error", "none"), "deep.weights_fallback",
               f"must be 'error' or 'none', not {self.weights_fallback!r}")
        _check(self.aggregation in ("mean", "max", "largest"), "deep.aggregation",
               f"must be mean, max or largest, not {self.aggregation!r}")
        _check(_is_int(self.extract_batch_size) and self.extract_batch_size >= 1, "deep.extract_batch_size",
               f"must be a positive integer, not {self.extract_batch_size!r}")
        _check(_is_int(self.gradcam_patients) and self.gradcam_patients >= 0, "deep.gradcam_patients",
               f"must be an integer >= 0, not {self.gradcam_patients!r}")
        _check(self.threads is None or (_is_int(self.threads) and self.threads >= 1), "deep.threads",
               f"must be null or a positive integer, not {self.threads!r}")


@dataclass(frozen=True)
class StatsSection:
    """The statistics half (R ``fit_study``), fitted on the training split only.

    Parameters
    ----------
    mwu_alpha : Mann–Whitney U p-value threshold of radiomics pre-selection.
    cor_threshold : |Pearson r| above which one of a pair is dropped (study: 0.9).
    pca_variance : share of variance kept by the deep features' PCA.
    nfolds : cross-validation folds of the LASSO.
    lambda_ : ``"min"`` (study: λmin) or ``"1se"``; YAML key ``lambda``.
    clinical_alpha : univariable p-value threshold for the multivariable clinical model.
    B : bootstrap resamples of the bias-corrected calibration curve (rms::calibrate).
    seed : seed of the LASSO folds and the bootstrap.
    dca_max_threshold, dca_step : decision-curve thresholds 0, step, ..., max.
    score : how the Rad and DL scores are formed from the selected terms:
        ``"logistic"`` (study: an unpenalised logistic refit) or ``"lasso"``
        (the LASSO linear predictor itself; more stable in small training sets).
    separation : what every logistic fit of the study (score refits, clinical model,
        nomogram, bootstrap refits) does when its data are (quasi-)completely separated
        or maximum likelihood does not converge: ``"firth"`` (study default: Firth's
        bias-reduced refit, finite estimates), ``"lasso"`` (a separated Rad/DL score
        refit is replaced by the LASSO linear predictor; the others use Firth) or
        ``"error"`` (stop). Applied policies are listed in the report's warnings and
        its "Model fits" table.
    """

    mwu_alpha: float = 0.05
    cor_threshold: float = 0.9
    pca_variance: float = 0.95
    nfolds: int = 10
    lambda_: str = "min"
    clinical_alpha: float = 0.05
    B: int = 1000
    seed: int = 20250101
    dca_max_threshold: float = 0.99
    dca_step: float = 0.01
    score: str = "logistic"
    separation: str = "firth"

    def __post_init__(self):
        for name in ("mwu_alpha", "clinical_alpha"):
            v = getattr(self, name)
            _check(_is_num(v) and 0 < v <= 1, f"stats.{name}", f"must be in (0, 1], not {v!r}")
        _check(_is_num(self.cor_threshold) and 0 < self.cor_threshold <= 1, "stats.cor_threshold",
               f"must be in (0, 1], not {self.cor_threshold!r}")
        _check(_is_num(self.pca_variance) and 0 < self.pca_variance <= 1, "stats.pca_variance",
               f"must be in (0, 1], not {self.pca_variance!r}")
        _check(_is_int(self.nfolds) and self.nfolds >= 3, "stats.nfolds", f"must be an integer >= 3, not {self.nfolds!r}")
        _check(self.lambda_ in ("min", "1se"), "stats.lambda", f"must be 'min' or '1se', not {self.lambda_!r}")
        _check(self.score in ("logistic", "lasso"), "stats.score", f"must be 'logistic' or 'lasso', not {self.score!r}")
        _check(self.separation in ("firth", "lasso", "error"), "stats.separation",
               f"must be 'firth', 'lasso' or 'error', not {self.separation!r}")
        _check(_is_int(self.B) and self.B >= 10, "stats.B", f"must be an integer >= 10, not {self.B!r}")
        _check(_is_int(self.seed), "stats.seed", f"must be an integer, not {self.seed!r}")
        _check(_is_num(self.dca_max_threshold) and 0 < self.dca_max_threshold < 1, "stats.dca_max_threshold",
               f"must be in (0, 1), not {self.dca_max_threshold!r}")
        _check(_is_num(self.dca_step) and 0 < self.dca_step <= self.dca_max_threshold, "stats.dca_step",
               f"must be in (0, dca_max_threshold], not {self.dca_step!r}")

    def thresholds(self) -> list[float]:
        """Decision-curve thresholds 0, step, ..., max (rounded to 10 decimals)."""
        n = int(math.floor(self.dca_max_threshold / self.dca_step + 1e-9))
        return [round(i * self.dca_step, 10) for i in range(n + 1)]


#: Estimators of the whole-pipeline internal validation (R ``validate_study(method = )``).
VALIDATION_METHODS = ("cv", "boot", "632plus")


@dataclass(frozen=True)
class ValidationSection:
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
    folds, repeats : cross-validation folds and repeats (``cv``; the study: 10 x 20).
    workers : forked R processes for the resamples (``null``: the run's ``--workers``,
        all cores by default). Not part of the stage's key: the same seed gives
        identical results with any number of workers.
    """

    enabled: bool = True
    method: str = "cv"
    B: int = 200
    folds: int = 10
    repeats: int = 20
    workers: int | None = None

    def __post_init__(self):
        _check(isinstance(self.enabled, bool), "validation.enabled", f"must be true or false, not {self.enabled!r}")
        _check(self.method in VALIDATION_METHODS, "validation.method",
               f"must be 'cv', 'boot' or '632plus', not {self.method!r}")
        _check(_is_int(self.B) and 1 <= self.B <= 100000, "validation.B",
               f"must be an integer in 1..100000, not {self.B!r}")
        _check(_is_int(self.folds) and self.folds >= 2, "validation.folds",
               f"must be an integer >= 2, not {self.folds!r}")
        _check(_is_int(self.repeats) and 1 <= self.repeats <= 10000, "validation.repeats",
               f"must be an integer in 1..10000, not {self.repeats!r}")
        _check(self.workers is None or (_is_int(self.workers) and 1 <= self.workers <= 1024), "validation.workers",
               f"must be null or an integer in 1..1024, not {self.workers!r}")

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
class ReportSection:
    """The report: ``title``; ``shap_patients`` test patients with per-patient SHAP bar plots."""

    title: str = "Early recurrence of HCC after thermal ablation: DL-Rad-Clinical nomogram"
    shap_patients: int = 3

    def __post_init__(self):
        _check(isinstance(self.title, str) and self.title, "report.title", "must be a non-empty string")
        _check(_is_int(self.shap_patients) and 0 <= self.shap_patients <= 50, "report.shap_patients",
               f"must be an integer in 0..50, not {self.shap_patients!r}")


@dataclass(frozen=True)
class VariableLabel:
    """Display name and unit of one variable (``labels.variables.<name>``)."""

    label: str
    unit: str | None = None


@dataclass(frozen=True)
class OutcomeLabels:
    """Display names of the outcome's two classes (``labels.outcome``)."""

    event: str = "Event"
    nonevent: str = "No event"


@dataclass(frozen=True)
class LabelsSection:
    """Display names for the report (all optional; a name without a label shows as itself).

    YAML::

        labels:
          variables: {lnafp: {label: ln AFP, unit: ln(ng/mL)}}
          outcome: {event: Recurrence <= 6 months, nonevent: No recurrence}
          models: {nomogram: DL-Rad-Clinical nomogram}

    ``models`` keys are the study's models (:data:`MODEL_NAMES`).
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


def _parse_labels(mapping) -> tuple[LabelsSection, dict]:
    """``labels:`` -> (section, effective raw mapping); every key and type checked."""
    top = _check_keys(mapping, ("variables", "outcome", "models"), "labels")
    variables, raw_vars = {}, {}
    vmap = _check_keys(top.get("variables"), None, "labels.variables")
    for name, spec in vmap.items():
        where = f"labels.variables.{name}"
        _check(isinstance(name, str) and name, "labels.variables", f"variable names must be strings, not {name!r}")
        if isinstance(spec, str):
            spec = {"label": spec}
        spec = _check_keys(spec, ("label", "unit"), where)
        label, unit = spec.get("label"), spec.get("unit")
        _check(isinstance(label, str) and label.strip(), f"{where}.label", f"must be a non-empty string, not {label!r}")
        _check(unit is None or (isinstance(unit, str) and unit.strip()), f"{where}.unit",
               f"must be null or a non-empty string, not {unit!r}")
        variables[name] = VariableLabel(label=label, unit=unit)
        raw_vars[name] = {"label": label, "unit": unit}
    out = _check_keys(top.get("outcome"), ("event", "nonevent"), "labels.outcome")
    for k in out:
        _check(isinstance(out[k], str) and out[k].strip(), f"labels.outcome.{k}",
               f"must be a non-empty string, not {out[k]!r}")
    outcome = OutcomeLabels(**out)
    models = _check_keys(top.get("models"), MODEL_NAMES, "labels.models")
    for k, v in models.items():
        _check(isinstance(v, str) and v.strip(), f"labels.models.{k}", f"must be a non-empty string, not {v!r}")
    raw = {"variables": raw_vars, "outcome": {"event": outcome.event, "nonevent": outcome.nonevent},
           "models": dict(models)}
    return LabelsSection(variables=variables, outcome=outcome, models=dict(models)), raw


@dataclass(frozen=True)
class StudyConfig:
    """The whole, checked configuration. ``raw`` is the effective nested mapping
    (defaults filled in, paths as written); ``base_dir`` resolves relative paths."""

    data: DataSection
    split: SplitSection
    preprocess: PreprocessSection
    radiomics: RadiomicsSection
    deep: DeepSection
    stats: StatsSection
    report: ReportSection
    validation: ValidationSection = ValidationSection()
    labels: LabelsSection = LabelsSection()
    raw: dict = field(repr=False, compare=False, default_factory=dict)
    base_dir: Path = Path(".")

    def resolve(self, path: str | None) -> Path | None:
        """A config path resolved against :attr:`base_dir`."""
        if path is None:
            return None
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p)

    def section_dict(self, name: str) -> dict:
        """The effective settings of one section (for stage hashes and the report)."""
        return copy.deepcopy(self.raw[name])

    # ---------------------------------------------------------- serialisers ---

    def effective_yaml(self) -> str:
        """The effective configuration as YAML (paths as written; base folder noted).

        For the run folder's own record only (it names this machine's folders);
        what leaves the run (model artifact, report) uses :meth:`portable`.
        """
        return f"# base folder: {self.base_dir}\n" + yaml.safe_dump(self.raw, sort_keys=False)

    def portable(self) -> dict:
        """The effective configuration with no absolute machine paths (for the model artifact and the report).

        Absolute input paths (``data.manifest``, ``data.clinical``, ``radiomics.params``,
        ``deep.train.weights``) become relative to the configuration's folder when
        inside it, else just the file name; the inputs themselves are identified by
        their SHA-256 in the run record.
        """
        raw = copy.deepcopy(self.raw)
        for keys in PATH_KEYS:
            node = raw
            for k in keys[:-1]:
                node = node.get(k) if isinstance(node, dict) else None
            if isinstance(node, dict) and keys[-1] in node:
                node[keys[-1]] = _portable_path(node[keys[-1]], self.base_dir)
        return raw

    def model_yaml(self) -> str:
        """The configuration stored with the model: portable, without the study cohort's file paths."""
        raw = self.portable()
        raw["data"] = {**raw["data"], "manifest": None, "clinical": None}
        return ("# radnomo model configuration (the study cohort's files are not part of the model)\n"
                + yaml.safe_dump(raw, sort_keys=False))


#: Configuration entries that are file paths: (section, key) or (section, sub, key).
PATH_KEYS = (("data", "manifest"), ("data", "clinical"), ("radiomics", "params"), ("deep", "train", "weights"))


def _portable_path(value: Any, base_dir: Path) -> Any:
    """A path without this machine's folders: relative to ``base_dir`` when inside it, else the file name."""
    if not isinstance(value, str) or value in ("imagenet", "none") or not Path(value).is_absolute():
        return value
    p = Path(value)
    try:
        return p.relative_to(Path(base_dir).resolve()).as_posix()
    except ValueError:
        return p.name


# ---------------------------------------------------------------- parsing ---

def _simple_fields(cls) -> dict[str, Any]:
    """YAML key -> default of a plain section dataclass (``lambda_`` is ``lambda``)."""
    out = {}
    for f in dataclasses.fields(cls):
        key = "lambda" if f.name == "lambda_" else f.name
        out[key] = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    return out


def _check_keys(mapping, allowed, where: str) -> dict:
    """``mapping`` as a dict (``None`` -> ``{}``); keys not in ``allowed`` (``None``: any) are errors."""
    if mapping is None:
        return {}
    _check(isinstance(mapping, dict), where, f"must be a mapping of settings, not {type(mapping).__name__}")
    unknown = [] if allowed is None else [k for k in mapping if k not in allowed]
    if unknown:
        raise InputError(f"config {where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    return dict(mapping)


def _build(cls, values: dict, where: str):
    try:
        return cls(**values)
    except InputError as exc:
        msg = str(exc)
        raise InputError(msg if msg.startswith("config ") else f"config {where}: {msg}") from exc
    except TypeError as exc:  # wrong types the dataclass check did not catch
        raise InputError(f"config {where}: {exc}") from exc


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def parse_config(mapping: Mapping[str, Any] | None, base_dir: str | Path = ".") -> StudyConfig:
    """Check a configuration mapping (as read from YAML) and build :class:`StudyConfig`.

    Raises
    ------
    InputError
        Unknown section or key (named, with the allowed ones), wrong type or range.
    """
    from radnomo.features.deep_train import DeepTrainConfig
    from radnomo.features.slices import SliceConfig
    from radnomo.preprocess.config import PreprocessConfig

    top = _check_keys(mapping or {}, SECTIONS, "(top level)")
    raw: dict[str, Any] = {}

    def simple(name, cls):
        defaults = _simple_fields(cls)
        given = _check_keys(top.get(name), defaults, name)
        eff = {**defaults, **given}
        values = {("lambda_" if k == "lambda" else k): v for k, v in eff.items()}
        obj = _build(cls, _tuples(values) if cls is not RadiomicsSection else values, name)
        raw[name] = _plain(eff)
        return obj

    data = simple("data", DataSection)
    split = simple("split", SplitSection)
    radiomics = simple("radiomics", RadiomicsSection)
    stats = simple("stats", StatsSection)
    validation = simple("validation", ValidationSection)
    report = simple("report", ReportSection)

    pre_allowed = PreprocessSection.allowed()
    pre = _check_keys(top.get("preprocess"), pre_allowed, "preprocess")
    enabled = pre.pop("enabled", True)
    _check(isinstance(enabled, bool), "preprocess.enabled", f"must be true or false, not {enabled!r}")
    pconf = _build(PreprocessConfig, _tuples(pre), "preprocess")
    preprocess = PreprocessSection(enabled=enabled, settings=pconf)
    raw["preprocess"] = {"enabled": enabled, **pconf.to_dict()}

    deep_simple = {k: v for k, v in _simple_fields(DeepSection).items() if k not in ("train", "slices")}
    deep_allowed = list(deep_simple) + ["train", "slices"]
    dg = _check_keys(top.get("deep"), deep_allowed, "deep")
    train_fields = [f.name for f in dataclasses.fields(DeepTrainConfig) if f.name != "slices"]
    slice_fields = [f.name for f in dataclasses.fields(SliceConfig)]
    tr = _check_keys(dg.pop("train", None), train_fields, "deep.train")
    sl = _check_keys(dg.pop("slices", None), slice_fields, "deep.slices")
    slices = _build(SliceConfig, _tuples(sl), "deep.slices")
    train = _build(DeepTrainConfig, {**_tuples(tr), "slices": slices}, "deep.train")
    deep = _build(DeepSection, {**deep_simple, **dg, "train": train, "slices": slices}, "deep")
    train_raw = {f: _plain(getattr(train, f)) for f in train_fields}
    raw["deep"] = {**deep_simple, **dg, "train": train_raw, "slices": slices.to_dict()}

    labels, raw["labels"] = _parse_labels(top.get("labels"))

    return StudyConfig(data=data, split=split, preprocess=preprocess, radiomics=radiomics, deep=deep,
                       stats=stats, report=report, validation=validation, labels=labels, raw=raw,
                       base_dir=Path(base_dir))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"section.key=value"`` -> (path, value); the value is parsed as YAML (``null``, numbers, lists)."""
    if "=" not in text:
        raise InputError(f"override {text!r} must look like section.key=value")
    key, value = text.split("=", 1)
    path = [p for p in key.strip().split(".")]
    if len(path) < 2 or any(not p for p in path):
        raise InputError(f"override {text!r}: the key must be section.key (e.g. deep.train.epochs=2)")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as exc:
        raise InputError(f"override {text!r}: the value is not valid YAML: {exc}") from exc
    return path, parsed


def apply_overrides(mapping: Mapping[str, Any], overrides) -> dict:
    """A deep copy of ``mapping`` with ``section.key=value`` overrides (and/or nested mappings) merged in."""
    out = copy.deepcopy(dict(mapping or {}))
    for ov in overrides or ():
        if isinstance(ov, Mapping):
            out = merge(out, ov)
            continue
        path, value = parse_override(ov)
        node = out
        for p in path[:-1]:
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                raise InputError(f"override {ov!r}: {p!r} is a setting, not a section")
            node = nxt
        node[path[-1]] = value
    return out


def merge(base: Mapping, update: Mapping) -> dict:
    """Recursive merge of two nested mappings (``update`` wins; inline radiomics params are replaced whole)."""
    out = copy.deepcopy(dict(base))
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k != "params":
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with clear errors."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"config file {path}: the top level must be a mapping of sections {list(SECTIONS)}")
    return data


def load_config(path: str | Path, overrides=()) -> StudyConfig:
    """Read, override and check a configuration file (paths resolve against its folder)."""
    path = Path(path)
    return parse_config(apply_overrides(read_yaml(path), overrides), base_dir=path.resolve().parent)


def config_diff(effective: Mapping, reference: Mapping, prefix: str = "") -> list[dict]:
    """Settings that differ between two effective configurations.

    Returns rows ``{"setting": "deep.train.epochs", "study": 50, "this run": 2}``
    (sorted by setting), recursing into sections; ``data`` paths are included.
    """
    rows = []
    for k in sorted(set(effective) | set(reference)):
        a, b = effective.get(k), reference.get(k)
        name = f"{prefix}{k}"
        if isinstance(a, Mapping) and isinstance(b, Mapping) and not (k == "params"):
            rows += config_diff(a, b, name + ".")
        elif _plain(a) != _plain(b):
            rows.append({"setting": name, "study": _plain(b), "this run": _plain(a)})
    return rows


def study_config_path() -> Path | None:
    """``pipelines/hcc_recurrence/config.yaml`` of this source tree, if present."""
    p = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence" / "config.yaml"
    return p if p.exists() else None
