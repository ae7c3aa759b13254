"""Whole-pipeline internal validation (twin of R/validate.R ``validate_study``).

Every resample refits the entire chain of :func:`radnomo.stats.fit_study`
(selection, scores, clinical model, nomogram, separation policy); see the R
help page ``?radnomo::validate_study`` for the estimators (repeated
stratified cross-validation by default, Efron–Gong optimism bootstrap,
.632+) and the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from radnomo.stats import _convert as cv
from radnomo.stats._base import RFit, tuple_of_str, vector_arg
from radnomo.stats.session import bridged, call
from radnomo.stats.study import study_frame


@dataclass(frozen=True)
class Validation(RFit):
    """Optimism-corrected performance of a whole study.

    ``performance``: model, metric, apparent, optimism, corrected, lower, upper
    (the interval only for the AUC); ``calibration``: the nomogram's apparent and
    corrected calibration curves on a grid of risks; ``stability``: selection
    frequency per feature; ``selected_terms``: terms selected per resample;
    ``jaccard``: mean pairwise Jaccard index per block; ``resamples``: counts of
    resamples that failed, separated or had no model; ``decision``: opt-in net benefit
    per model and threshold (model, threshold, apparent, optimism, corrected, lower,
    upper; the band is the apparent bootstrap percentile interval shifted by the
    optimism, see ``?radnomo::validate_study``); ``timing``: where a refit spends its time.
    """

    performance: pd.DataFrame = None
    calibration: pd.DataFrame | None = None
    stability: pd.DataFrame | None = None
    selected_terms: pd.DataFrame | None = None
    jaccard: pd.DataFrame | None = None
    resamples: pd.DataFrame | None = None
    decision: pd.DataFrame | None = None
    timing: pd.DataFrame | None = None
    method: str = "cv"
    n_resamples: int = 0


def _frame(h: cv.RHandle, name: str):
    v = h.component(name)
    return v if isinstance(v, pd.DataFrame) else None


@bridged
def validation_from_r(h: cv.RHandle) -> Validation:
    """Wrap an R ``radnomo_validation`` object."""
    return Validation(robj=h, performance=_frame(h, "performance"), calibration=_frame(h, "calibration"),
                      stability=_frame(h, "stability"), selected_terms=_frame(h, "selected_terms"),
                      jaccard=_frame(h, "jaccard"), resamples=_frame(h, "resamples"),
                      decision=_frame(h, "decision"), timing=_frame(h, "timing"),
                      method=str(h.component("method")), n_resamples=int(h.component("n_resamples") or 0))


@bridged
def validate_study(train: pd.DataFrame, outcome: str = "label", radiomics=(), deep=(), clinical=(),
                   id: str = "patient_id", mwu_alpha: float = 0.05, cor_threshold: float = 0.9,
                   pca_variance: float = 0.95, nfolds: int = 10, lambda_: str = "min",
                   clinical_alpha: float = 0.05, score: str = "logistic", separation: str = "firth",
                   event=None, method: str = "cv", B: int = 200, folds: int = 10, repeats: int = 20,
                   seed: int = 1, workers: int = 1, indices=None, progress: bool = False,
                   thresholds=None) -> Validation:
    """Internal validation of the whole study on ``train`` (R ``radnomo::validate_study``).

    Same data and settings as :func:`radnomo.stats.fit_study` (``lambda_`` is R's
    ``lambda``); ``method``: ``"cv"`` (repeated stratified k-fold, the default),
    ``"boot"`` (Efron–Gong optimism bootstrap) or ``"632plus"``; ``indices``: an
    optional list of 1-based training-row vectors, one per resample; ``thresholds``:
    the decision curve's risk thresholds (R's default 0 to 0.99 by 0.01). The same
    ``seed`` gives identical results with any ``workers`` (forked R processes).
    """
    radiomics, deep, clinical = tuple_of_str(radiomics), tuple_of_str(deep), tuple_of_str(clinical)
    kwargs = dict(outcome=outcome, radiomics=cv.r_strvec(list(radiomics)), deep=cv.r_strvec(list(deep)),
                  clinical=cv.r_strvec(list(clinical)), id=id, mwu_alpha=float(mwu_alpha),
                  cor_threshold=float(cor_threshold), pca_variance=float(pca_variance), nfolds=int(nfolds),
                  clinical_alpha=float(clinical_alpha), score=str(score), separation=str(separation),
                  event=None if event is None else str(event), method=str(method), B=int(B), folds=int(folds),
                  repeats=int(repeats), seed=int(seed), workers=int(workers), progress=bool(progress))
    kwargs["lambda"] = str(lambda_)
    if thresholds is not None:
        kwargs["thresholds"] = vector_arg(thresholds, "thresholds")
    if indices is not None:
        import rpy2.rinterface as ri

        kwargs["indices"] = ri.ListSexpVector([cv.r_numvec([float(i) for i in ix]) for ix in indices])
    res = call("validate_study", study_frame(train, radiomics + deep, "train"), **kwargs)
    return validation_from_r(cv.RHandle(res))


@dataclass(frozen=True)
class Evaluation(RFit):
    """A frozen study evaluated on labelled data (R ``radnomo::evaluate_study``).

    ``scores`` (per patient: outcome and each model's risk), ``metrics`` (AUC with
    DeLong CI and the cut-off metrics at the training cut-offs), ``delong``,
    ``calibration`` (the nomogram's, as validation on independent data; None when
    not computable) and ``decision`` (decision curves).
    """

    scores: pd.DataFrame = None
    metrics: pd.DataFrame | None = None
    delong: pd.DataFrame | None = None
    calibration: object = None
    decision: pd.DataFrame | None = None


@bridged
def evaluate_study(study, data: pd.DataFrame, outcome: str | None = None, event=None, thresholds=None,
                   set: str = "external") -> Evaluation:
    """Apply a frozen :class:`~radnomo.stats.Study` to labelled ``data`` and evaluate it.

    One implementation with ``fit_study``'s test-set evaluation: metrics at the
    training cut-offs, DeLong tests, the nomogram's calibration (Hosmer–Lemeshow
    with G df) and decision curves. ``outcome``/``event``/``thresholds`` default
    to the study's.
    """
    from radnomo.stats.evaluate import calibration_from_r

    kwargs = {"set": str(set)}
    if outcome is not None:
        kwargs["outcome"] = str(outcome)
    if event is not None:
        kwargs["event"] = str(event)
    if thresholds is not None:
        import numpy as np

        kwargs["thresholds"] = cv.r_numvec(np.asarray(thresholds, dtype=float))
    frame = study_frame(data, study.feature_columns, "data")
    h = cv.RHandle(call("evaluate_study", study.robj, frame, **kwargs))
    cal = cv.list_component(h.robj, "calibration")
    return Evaluation(robj=h, scores=h.component("scores"), metrics=_frame(h, "metrics"),
                      delong=_frame(h, "delong"),
                      calibration=None if cal is None or isinstance(cal, type(cv.ri.NULL))
                      else calibration_from_r(cv.RHandle(cal)),
                      decision=_frame(h, "decision"))


@bridged
def validation_metrics(y, p) -> dict[str, float]:
    """Validation metrics of predicted risks ``p`` against 0/1 outcomes ``y``, with the
    definitions of :func:`validate_study` (R ``radnomo::validation_metrics``): ``auc``, ``brier``, ``scaled_brier``,
    ``citl`` (calibration-in-the-large), ``recalibration_intercept``, ``slope``, ``emax``,
    ``e90``. A metric undefined for these data is NaN. Rows whose risk is missing are
    left out (as in R).
    """
    res = cv.from_r(call("validation_metrics", vector_arg(y, "y"), vector_arg(p, "p")),
                    simplify_scalars=False)
    return {str(k): float(v) for k, v in res.items()}
