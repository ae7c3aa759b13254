"""The rpy2 bridge to the radnomo R package.

One Python function per exported R function, same names, snake_case
arguments, same numbers: R does the statistics, Python converts inputs and
outputs. Results are pandas DataFrames or small frozen dataclasses holding
DataFrames (and the R object, for predictions on new data).

Conventions (see each function): AUC CIs by DeLong, 95%; ORs with Wald 95%
CIs; decision curves by rmda's definitions (high risk <=> risk >= threshold).
R warnings become :class:`radnomo.errors.RWarning` (subclasses for
radnomo's classed conditions: :class:`SeparationWarning`, ...); R errors raise
:class:`radnomo.errors.RError` with R's message (:class:`radnomo.errors.RInputError`,
an ``InputError``, for bad input; :class:`~radnomo.errors.NothingSelectedError`,
:class:`~radnomo.errors.SeparationError`); the mapping is in :mod:`radnomo.errors`.
The bridge calls only the R package's exported functions and its own helpers
(R/bridge.R). R starts on first use, holding one lock per call.
"""

from radnomo.stats.clinical import ClinicalModel, Nomogram, clinical_logistic, fit_nomogram, plot_nomogram
from radnomo.stats.evaluate import (
    Calibration,
    baseline_table,
    calibration,
    decision_curve,
    delong_test,
    plot_calibration,
    plot_decision_curve,
    roc_metrics,
)
from radnomo.stats.select import ScoreModel, Selection, score_model, select_features, transform_features
from radnomo.errors import (DegenerateSetWarning, EventLevelWarning, NoModelWarning, NothingSelectedWarning,
                            RWarning, SeparationWarning, UndefinedMetricWarning)
from radnomo.stats.study import Study, fit_study, load_study
from radnomo.stats.validate import Evaluation, Validation, evaluate_study, validate_study, validation_metrics

__all__ = [
    "Calibration", "ClinicalModel", "DegenerateSetWarning", "EventLevelWarning", "Nomogram", "NoModelWarning", "NothingSelectedWarning", "RWarning",
    "ScoreModel", "Selection", "SeparationWarning", "UndefinedMetricWarning",
    "baseline_table", "calibration", "clinical_logistic", "decision_curve", "delong_test",
    "fit_nomogram", "plot_calibration", "plot_decision_curve", "plot_nomogram", "roc_metrics",
    "score_model", "select_features", "transform_features", "Study", "fit_study", "load_study",
    "Evaluation", "Validation", "evaluate_study", "validate_study", "validation_metrics",
]
