"""The study's statistics in one call (twin of R/study.R ``fit_study``).

Wide feature tables cross the bridge as one numeric matrix (radiomics + deep
columns) plus a narrow data frame (identifier, outcome, clinical columns);
R joins them (``bridge_frame``) before calling ``fit_study``, so a
statistician calling ``radnomo::fit_study()`` on the same data frame in R gets
the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.stats import _convert as cv
from radnomo.stats._base import RFit, tuple_of_str
from radnomo.stats.clinical import ClinicalModel, Nomogram, clinical_from_r, nomogram_from_r
from radnomo.stats.evaluate import Calibration, calibration_from_r
from radnomo.stats.select import ScoreModel, Selection, score_from_r, selection_from_r
from radnomo.stats.session import bridged, call


@bridged
def study_frame(data: pd.DataFrame, feature_columns, name: str = "data"):
    """``data`` -> an R data.frame, wide numeric ``feature_columns`` crossing as one matrix."""
    feature_columns = list(feature_columns)
    missing = [c for c in feature_columns if c not in data.columns]
    if missing:
        raise InputError(f"{name} lacks feature column(s) {missing[:10]}"
                         + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    wide = set(feature_columns)
    narrow = data[[c for c in data.columns if c not in wide]]
    if not feature_columns:
        return cv.r_dataframe(narrow)
    m = cv.r_matrix(data[feature_columns])
    return call("bridge_frame", m, cv.r_dataframe(narrow))


@dataclass(frozen=True)
class Study(RFit):
    """A fitted study: Rad and DL selections and scores, clinical model, nomogram,
    and their evaluation on train (and test).

    Tables: ``scores`` (per patient and set: predicted risks of the clinical
    model, Rad score, DL score and nomogram), ``metrics`` (roc_metrics per set
    and model; cut-offs chosen on train, reused on test), ``delong``,
    ``decision`` (decision curves per set), ``steps`` (features surviving each
    selection step), ``calibration`` (``{"train": Calibration, "test": ...}``),
    ``fits`` (one row per logistic model — ``model``, ``separation``
    (separation detected), ``converged`` (plain maximum likelihood converged),
    ``method`` (``"ml"``, ``"firth"`` or ``"lasso"``: what was used) and
    ``note`` — or ``None`` for a study saved before R recorded it).
    """

    scores: pd.DataFrame = None
    metrics: pd.DataFrame = None
    delong: pd.DataFrame = None
    decision: pd.DataFrame = None
    steps: pd.DataFrame = None
    calibration: dict = field(default_factory=dict)
    fits: pd.DataFrame | None = None
    selection_rad: Selection | None = None
    selection_dl: Selection | None = None
    rad_score: ScoreModel | None = None
    dl_score: ScoreModel | None = None
    clinical: ClinicalModel | None = None
    nomogram: Nomogram | None = None
    settings: dict = field(default_factory=dict)

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """All input feature columns the frozen model reads (radiomics + deep)."""
        return tuple_of_str(self.settings.get("radiomics")) + tuple_of_str(self.settings.get("deep"))

    @bridged
    def predict(self, newdata: pd.DataFrame) -> pd.DataFrame:
        """Apply the frozen study to new patients (R ``predict.radnomo_study``)."""
        frame = study_frame(newdata, self.feature_columns, "newdata")
        return cv.from_r(call("bridge_predict", self.robj, frame))

    @bridged
    def save_rds(self, path, strip: bool = True) -> Path:
        """Save the R study object with ``saveRDS`` (readable by R's ``readRDS``).

        With ``strip`` (default) patient-level data (training identifiers,
        outcomes, feature values inside the fits) is removed first by R's
        ``strip_study()``; predictions are unchanged.
        """
        from radnomo.io.atomic import atomic_path

        obj = call("strip_study", self.robj) if strip else self.robj
        with atomic_path(path) as tmp:
            call("bridge_save_rds", obj, str(tmp))
        return Path(path)


def _maybe(h: cv.RHandle, name: str, wrap):
    comp = cv.list_component(h.robj, name)
    if comp is None or isinstance(comp, type(cv.ri.NULL)):
        return None
    return wrap(cv.RHandle(comp))


def _fits_frame(fits) -> pd.DataFrame | None:
    """R's ``fits`` data.frame with plain types (logical columns may hold NA), or None when absent."""
    if not isinstance(fits, pd.DataFrame):
        return None
    fits = fits.reset_index(drop=True)
    for col in ("separation", "converged"):  # R logical with NA arrives as float (1.0 / 0.0 / NaN)
        if col in fits.columns:
            fits[col] = pd.Series([None if pd.isna(v) else bool(v) for v in fits[col]], dtype=object)
    if "note" in fits.columns:
        fits["note"] = ["" if pd.isna(v) else str(v) for v in fits["note"]]
    return fits


@bridged
def study_from_r(h: cv.RHandle) -> Study:
    """Wrap an R ``radnomo_study`` object."""
    cal = cv.list_component(h.robj, "calibration")
    calibrations = {}
    if cal is not None and not isinstance(cal, type(cv.ri.NULL)):
        for name, obj in zip(cv._names(cal) or [], cal):
            if not isinstance(obj, type(cv.ri.NULL)):
                calibrations[name] = calibration_from_r(cv.RHandle(obj))
    settings = h.component("settings", simplify_scalars=True) or {}
    return Study(
        robj=h,
        scores=h.component("scores"),
        metrics=h.component("metrics"),
        delong=h.component("delong"),
        decision=h.component("decision"),
        steps=h.component("steps"),
        calibration=calibrations,
        fits=_fits_frame(h.component("fits")),
        selection_rad=_maybe(h, "selection_rad", selection_from_r),
        selection_dl=_maybe(h, "selection_dl", selection_from_r),
        rad_score=_maybe(h, "rad_score", score_from_r),
        dl_score=_maybe(h, "dl_score", score_from_r),
        clinical=_maybe(h, "clinical", clinical_from_r),
        nomogram=_maybe(h, "nomogram", nomogram_from_r),
        settings=settings if isinstance(settings, dict) else {},
    )


@bridged
def fit_study(train: pd.DataFrame, test: pd.DataFrame | None = None, outcome: str = "label",
              radiomics=(), deep=(), clinical=(), id: str = "patient_id", mwu_alpha: float = 0.05,
              cor_threshold: float = 0.9, pca_variance: float = 0.95, nfolds: int = 10,
              lambda_: str = "min", clinical_alpha: float = 0.05, B: int = 200, seed: int = 1,
              thresholds=None, score: str = "logistic", separation: str = "firth") -> Study:
    """Fit the study's statistics on ``train`` and evaluate on ``train`` and ``test``.

    Mirrors R ``radnomo::fit_study`` (``lambda_`` is R's ``lambda``). ``train``
    and ``test`` hold ``id``, ``outcome``, the ``radiomics`` and ``deep``
    feature columns and the ``clinical`` candidate columns. Everything is
    fitted on ``train`` only. ``score``: ``"logistic"`` (the study's refit) or
    ``"lasso"`` (the LASSO linear predictor as the score, no refit).
    ``separation``: what a logistic fit does when its data are (quasi-)completely
    separated or maximum likelihood does not converge — ``"firth"`` (Firth's
    bias-reduced refit), ``"lasso"`` (a separated Rad/DL refit is replaced by
    the LASSO linear predictor; other fits use Firth) or ``"error"``; each
    applied policy is an R warning (:class:`RWarning`) and a row of ``Study.fits``.
    """
    if separation not in ("firth", "lasso", "error"):
        raise InputError(f"separation must be 'firth', 'lasso' or 'error', not {separation!r}")
    radiomics, deep, clinical = tuple_of_str(radiomics), tuple_of_str(deep), tuple_of_str(clinical)
    feats = radiomics + deep
    kwargs = dict(outcome=outcome, radiomics=cv.r_strvec(list(radiomics)), deep=cv.r_strvec(list(deep)),
                  clinical=cv.r_strvec(list(clinical)), id=id, mwu_alpha=float(mwu_alpha),
                  cor_threshold=float(cor_threshold), pca_variance=float(pca_variance), nfolds=int(nfolds),
                  clinical_alpha=float(clinical_alpha), B=int(B), seed=int(seed))
    kwargs["lambda"] = str(lambda_)
    kwargs["score"] = str(score)
    kwargs["separation"] = str(separation)
    if thresholds is not None:
        kwargs["thresholds"] = cv.r_numvec(np.asarray(thresholds, dtype=float))
    test_r = None if test is None else study_frame(test, feats, "test")
    res = call("fit_study", study_frame(train, feats, "train"), test_r, **kwargs)
    return study_from_r(cv.RHandle(res))


@bridged
def load_study(path) -> Study:
    """Read a study saved with :meth:`Study.save_rds` (or R's ``saveRDS``)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"study file not found: {path}")
    return study_from_r(cv.RHandle(call("bridge_read_study", str(path))))
