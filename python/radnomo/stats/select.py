"""Feature selection and score models (twins of R/select.R and R/score.R)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radnomo.stats import _convert as cv
from radnomo.stats._base import RFit, frame, matrix_arg, outcome_name, tuple_of_str, vector_arg
from radnomo.stats.session import bridged, call


@dataclass(frozen=True)
class Selection(RFit):
    """A fitted selection chain (MWU -> correlation pruning -> z-score [-> PCA] -> LASSO).

    Fitted on the data given (the training set); :meth:`predict` and
    :meth:`transform` apply the frozen chain to new data.
    """

    steps: pd.DataFrame = None
    mwu: pd.DataFrame = None
    kept_mwu: tuple[str, ...] = ()
    kept_correlation: tuple[str, ...] = ()
    center: pd.Series = None
    scale: pd.Series = None
    rotation: pd.DataFrame | None = None
    lambda_min: float = float("nan")
    lambda_1se: float = float("nan")
    lambda_used: float = float("nan")
    coefficients: pd.DataFrame = None
    selected: tuple[str, ...] = ()

    @bridged
    def predict(self, x, type: str = "link") -> np.ndarray:
        """LASSO linear predictor (``link``) or probability (``response``) for new data."""
        return self._predict(matrix_arg(x, "x"), type)

    @bridged
    def transform(self, x) -> pd.DataFrame:
        """The selected terms (z-scored features or PC scores) for new data."""
        return frame(call("transform_features", self.robj, matrix_arg(x, "x")))


def _as_series(v) -> pd.Series:
    if isinstance(v, pd.Series):
        return v.astype(float)
    return pd.Series(np.atleast_1d(np.asarray(v, dtype=float)))


@bridged
def select_features(x, y, mwu_alpha: float = 0.05, cor_threshold: float = 0.9, pca: bool = False,
                    pca_variance: float = 0.95, nfolds: int = 10, lambda_: str = "min",
                    seed: int | None = None, event=None) -> Selection:
    """The study's selection chain, fitted on ``x``/``y`` (the training set).

    Mirrors R ``radnomo::select_features`` (``lambda_`` is R's ``lambda``:
    ``"min"`` or ``"1se"``). ``x``: DataFrame of numeric features (patients x
    features; crosses to R as one numeric matrix), ``y``: 0/1 outcome.
    """
    res = call("select_features", matrix_arg(x), vector_arg(y, "y"), mwu_alpha=float(mwu_alpha),
               cor_threshold=float(cor_threshold), pca=bool(pca), pca_variance=float(pca_variance),
               nfolds=int(nfolds), **{"lambda": str(lambda_)}, seed=None if seed is None else int(seed),
               event=None if event is None else str(event), outcome_name=outcome_name(y))
    return selection_from_r(cv.RHandle(res))


@bridged
def selection_from_r(h: cv.RHandle) -> Selection:
    """Wrap an R ``radnomo_selection`` object."""
    rotation = h.component("rotation")
    return Selection(
        robj=h,
        steps=h.component("steps"),
        mwu=h.component("mwu"),
        kept_mwu=tuple_of_str(h.component("kept_mwu", False)),
        kept_correlation=tuple_of_str(h.component("kept_correlation", False)),
        center=_as_series(h.component("center", False)),
        scale=_as_series(h.component("scale", False)),
        rotation=rotation if isinstance(rotation, pd.DataFrame) else None,
        lambda_min=float(h.component("lambda_min")),
        lambda_1se=float(h.component("lambda_1se")),
        lambda_used=float(h.component("lambda_used")),
        coefficients=h.component("coefficients"),
        selected=tuple_of_str(h.component("selected", False)),
    )


def transform_features(selection: Selection, x) -> pd.DataFrame:
    """Selected terms for new data (R ``transform_features``)."""
    return selection.transform(x)


@dataclass(frozen=True)
class ScoreModel(RFit):
    """Logistic regression on selected features; the linear predictor is the score."""

    coefficients: pd.DataFrame = None
    features: tuple[str, ...] = ()
    separation: pd.DataFrame | None = None

    @bridged
    def predict(self, x, type: str = "link") -> np.ndarray:
        """The score (``link``, linear predictor) or probability (``response``)."""
        return self._predict(matrix_arg(x, "x"), type)


@bridged
def score_model(x, y, features, separation: str = "firth", event=None) -> ScoreModel:
    """Logistic regression of ``y`` on ``x[features]`` (R ``radnomo::score_model``);
    ``separation``: ``"firth"`` (Firth's refit under separation), ``"error"`` or ``"warn"``."""
    res = call("score_model", matrix_arg(x), vector_arg(y, "y"), cv.r_strvec(list(tuple_of_str(features))),
               separation=str(separation), event=None if event is None else str(event),
               outcome_name=outcome_name(y))
    return score_from_r(cv.RHandle(res))


@bridged
def score_from_r(h: cv.RHandle) -> ScoreModel:
    """Wrap an R ``radnomo_score`` object."""
    sep = h.component("separation")
    return ScoreModel(robj=h, coefficients=h.component("coefficients"),
                      features=tuple_of_str(h.component("features", False)),
                      separation=sep if isinstance(sep, pd.DataFrame) else None)
