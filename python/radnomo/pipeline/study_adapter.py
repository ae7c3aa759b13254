"""How the pipeline reads a fitted study (``radnomo.stats.fit_study``'s ``Study``).

Everything the pipeline needs from the bridge's ``Study`` object goes through
this module, so that the contract is in one place:

* :func:`fit` calls ``radnomo.stats.fit_study(train, test, outcome=, radiomics=,
  deep=, clinical=, id=, mwu_alpha=, cor_threshold=, pca_variance=, nfolds=,
  lambda_=, clinical_alpha=, B=, seed=, thresholds=, score=, separation=)``;
* :func:`study_frames` collects every DataFrame the study holds (attributes that
  are DataFrames, and dicts of DataFrames such as ``calibration["train"]``) as
  named tables;
* :func:`score_terms` returns, for the Rad score or the DL score, the logistic
  model's coefficients and the selected terms (z-scored features or PC scores)
  of given patients — what SHAP needs;
* :func:`predict` scores new patients with the frozen study.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from radnomo.errors import InputError

#: Models of the study, in report order: name in the tables -> label in the report.
MODEL_LABELS = {"clinical": "Clinical model", "rad_score": "Rad score", "dl_score": "DL score",
                "nomogram": "DL-Rad-Clinical nomogram"}


def _stats():
    import radnomo.stats as st  # R and rpy2: loaded when a study is fitted or read

    return st


def fit(train: pd.DataFrame, test: pd.DataFrame | None, *, outcome: str, radiomics, deep, clinical, id: str,
        settings) -> Any:
    """Fit the study's statistics on ``train`` (evaluated on ``test``) through the R bridge."""
    st = _stats()
    return st.fit_study(train, test, outcome=outcome, radiomics=list(radiomics), deep=list(deep),
                        clinical=list(clinical), id=id, mwu_alpha=settings.mwu_alpha,
                        cor_threshold=settings.cor_threshold, pca_variance=settings.pca_variance,
                        nfolds=settings.nfolds, lambda_=settings.lambda_, clinical_alpha=settings.clinical_alpha,
                        B=settings.B, seed=settings.seed, thresholds=settings.thresholds(),
                        score=settings.score, separation=settings.separation)


def load(path: str | Path) -> Any:
    """A study saved with ``save_rds`` (R ``readRDS``)."""
    st = _stats()
    return st.load_study(str(path))


def _items(study):
    if dataclasses.is_dataclass(study):
        return [(f.name, getattr(study, f.name)) for f in dataclasses.fields(study)]
    return [(k, v) for k, v in vars(study).items() if not k.startswith("_")]


def study_frames(study) -> dict[str, pd.DataFrame]:
    """Every table of the study: ``name -> DataFrame`` (dict members as ``name_key``)."""
    out: dict[str, pd.DataFrame] = {}

    def visit(name: str, value, depth: int) -> None:
        if isinstance(value, pd.DataFrame):
            out[name] = value
        elif depth > 2:
            return
        elif isinstance(value, dict):
            for k, v in value.items():
                visit(f"{name}_{k}", v, depth + 1)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for sub, v in _items(value):
                visit(f"{name}_{sub}", v, depth + 1)

    for name, value in _items(study):
        visit(name, value, 0)
    return out


def score_terms(study, kind: str, data: pd.DataFrame) -> tuple[pd.Series, float, pd.DataFrame]:
    """Coefficients (without intercept), intercept and selected terms of a score model.

    Parameters
    ----------
    kind : ``"rad"`` or ``"dl"``.
    data : patients (rows) with the feature columns.

    Returns
    -------
    (coefficients by term, intercept, terms DataFrame indexed like ``data``)
    """
    if kind not in ("rad", "dl"):
        raise InputError(f"kind must be 'rad' or 'dl', not {kind!r}")
    selection = getattr(study, f"selection_{kind}", None)
    model = getattr(study, f"{kind}_score", None)
    if selection is None or model is None:
        raise InputError(f"the fitted study has no {kind} score (selection_{kind}/{kind}_score)")
    coefs = model.coefficients  # the score's logistic refit: term, estimate, ...
    b = pd.Series(coefs["estimate"].to_numpy(float), index=coefs["term"].astype(str))
    intercept = float(b.get("(Intercept)", 0.0))
    b = b.drop(labels=["(Intercept)"], errors="ignore")
    terms = selection.transform(data[list(selection.kept_correlation)])
    terms.index = data.index
    return b, intercept, terms[list(b.index)]


def predict(study, newdata: pd.DataFrame, id: str = "patient_id") -> pd.DataFrame:
    """Scores of new patients (one row per patient, ``id`` first)."""
    out = study.predict(newdata)
    if not isinstance(out, pd.DataFrame):
        out = pd.DataFrame(out)
    if "id" in out.columns and id not in out.columns:
        out = out.rename(columns={"id": id})
    if id not in out.columns:
        out.insert(0, id, newdata[id].to_numpy())
    out[id] = out[id].astype(str)
    return out.reset_index(drop=True)
