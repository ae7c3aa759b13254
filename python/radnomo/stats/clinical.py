"""Clinical logistic models and nomograms (twins of R/clinical.R, R/nomogram.R)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.stats import _convert as cv
from radnomo.stats._base import RFit, tuple_of_str
from radnomo.stats.session import bridged, call


@dataclass(frozen=True)
class ClinicalModel(RFit):
    """Univariable then multivariable logistic regression (the study's Table 2)."""

    univariable: pd.DataFrame = None
    multivariable: pd.DataFrame = None
    vif: pd.DataFrame = None
    selected: tuple[str, ...] = ()
    separation: pd.DataFrame | None = None

    @bridged
    def predict(self, data: pd.DataFrame, type: str = "response") -> np.ndarray:
        return self._predict(cv.r_dataframe(data), type)


@bridged
def clinical_logistic(data: pd.DataFrame, outcome: str, candidates, alpha: float = 0.05,
                      separation: str = "firth", event=None) -> ClinicalModel:
    """Univariable logistic per candidate, multivariable on those with p < ``alpha``; ORs with
    Wald 95% CIs and VIFs (R ``radnomo::clinical_logistic``). ``separation``: what the
    multivariable fit does under (quasi-)complete separation — ``"firth"`` (Firth's
    bias-reduced refit, with a :class:`~radnomo.stats.SeparationWarning`), ``"error"``
    (raises :class:`radnomo.errors.SeparationError`) or ``"warn"``."""
    res = call("clinical_logistic", cv.r_dataframe(data), outcome,
               cv.r_strvec(list(tuple_of_str(candidates))), alpha=float(alpha), separation=str(separation),
               event=None if event is None else str(event))
    return clinical_from_r(cv.RHandle(res))


@bridged
def clinical_from_r(h: cv.RHandle) -> ClinicalModel:
    """Wrap an R ``radnomo_clinical`` object."""
    return ClinicalModel(robj=h, univariable=h.component("univariable"),
                         multivariable=h.component("multivariable"), vif=h.component("vif"),
                         selected=tuple_of_str(h.component("selected", False)),
                         separation=_frame_or_none(h.component("separation")))


def _frame_or_none(v):
    return v if isinstance(v, pd.DataFrame) else None


@dataclass(frozen=True)
class Nomogram(RFit):
    """An rms::lrm model with its nomogram's points tables."""

    points: pd.DataFrame = None
    total_points: pd.DataFrame = None
    coefficients: pd.DataFrame = None
    predictors: tuple[str, ...] = ()
    separation: pd.DataFrame | None = None

    @bridged
    def predict(self, data: pd.DataFrame, type: str = "response") -> np.ndarray:
        """Predicted risk (``response``), linear predictor (``link``) or total ``points``."""
        return self._predict(cv.r_dataframe(data), type)


@bridged
def fit_nomogram(data: pd.DataFrame, outcome: str, predictors=None, separation: str = "firth",
                 event=None, title: str | None = None) -> Nomogram:
    """rms::lrm + rms::nomogram (R ``radnomo::fit_nomogram``); under separation ``"firth"``
    draws Firth's estimates, ``"error"`` raises, ``"warn"`` keeps maximum likelihood.

    ``outcome`` is a column name (then ``predictors`` lists the predictor columns) or an R
    model formula as text, e.g. ``"low ~ rcs(age, 3) + lwt + smoke"`` (rms terms and
    interactions; ``predictors`` is then not given). ``title``: the drawn nomogram's title.
    """
    extra = {"separation": str(separation), "event": None if event is None else str(event),
             "title": None if title is None else str(title)}
    if "~" in outcome:
        if predictors is not None:
            raise InputError("give either a formula or outcome and predictors, not both")
        res = call("fit_nomogram", cv.r_dataframe(data), call("bridge_formula", outcome), **extra)
    else:
        if predictors is None:
            raise InputError("fit_nomogram needs predictors (or a formula 'outcome ~ terms')")
        res = call("fit_nomogram", cv.r_dataframe(data), outcome, cv.r_strvec(list(tuple_of_str(predictors))),
                   **extra)
    return nomogram_from_r(cv.RHandle(res))


@bridged
def nomogram_from_r(h: cv.RHandle) -> Nomogram:
    """Wrap an R ``radnomo_nomogram`` object."""
    return Nomogram(robj=h, points=h.component("points"), total_points=h.component("total_points"),
                    coefficients=h.component("coefficients"),
                    predictors=tuple_of_str(h.component("predictors", False)),
                    separation=_frame_or_none(h.component("separation")))


@bridged
def plot_nomogram(nomogram: Nomogram, file, width: float = 9, height: float = 6,
                  labels: Mapping[str, str] | None = None,
                  level_labels: Mapping[str, Mapping[str, str]] | None = None, title: str | None = None) -> Path:
    """Draw the nomogram to PNG/PDF/SVG (by ``file``'s extension).

    ``labels``: display labels of the axes, term name -> label (R ``plot_nomogram(labels=)``: terms
    not named keep their names; the labels must be distinct). ``level_labels``: display names of
    categorical predictors' values, predictor -> {value: name} (R ``level_labels=``). ``title``: the
    figure's title (default R's: "Nomogram").
    """
    extra = {} if labels is None else {"labels": {str(k): str(v) for k, v in labels.items()}}
    if level_labels:
        extra["level_labels"] = {str(p): {str(k): str(v) for k, v in m.items()} for p, m in level_labels.items()}
    if title is not None:
        extra["title"] = str(title)
    call("plot_nomogram", nomogram.robj, str(file), width=float(width), height=float(height), **extra)
    return Path(file)
