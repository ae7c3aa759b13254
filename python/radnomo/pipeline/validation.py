"""The validate stage's R call: ``radnomo.stats.validate_study`` on the stats stage's training table.

With several workers R runs the resamples in socket R processes when it is embedded in Python
(the bridge sets ``options(radnomo.parallel = "psock")``): forking the Python process that
embeds R deadlocked a forked R worker on the GIL held by another Python thread (the stage's
memory sampler, torch's), so the call is safe from the pipeline's threaded process.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radnomo.io.atomic import write_csv
from radnomo.pipeline.study_adapter import MODEL_LABELS

#: Metrics of the validation, in report order, with their labels.
VALIDATION_METRICS = {"auc": "AUC (c statistic)", "brier": "Brier score", "scaled_brier": "Scaled Brier score",
                      "citl": "Calibration-in-the-large", "recalibration_intercept": "Recalibration intercept",
                      "slope": "Calibration slope", "emax": "Emax", "e90": "E90"}

#: R ``validate_study`` components -> file names in the stage folder.
VALIDATION_TABLES = {"performance": "validation_performance", "calibration": "validation_calibration",
                     "stability": "selection_stability", "selected_terms": "selection_counts",
                     "jaccard": "selection_jaccard", "resamples": "validation_resamples",
                     "decision": "validation_decision", "timing": "validation_timing"}


def validate_training_set(stage_dir, train_csv, columns_json, kwargs: dict[str, Any]) -> dict:
    """Run ``radnomo.stats.validate_study`` in this process and write its tables into ``stage_dir``.

    ``kwargs``: validate_study's settings (without the data and the column lists). Returns
    ``{"tables": [...], "method", "n_resamples", "warnings": ["<category>: <message>", ...]}``.
    """
    from radnomo.stats import validate_study

    stage_dir = Path(stage_dir)
    train = pd.read_csv(train_csv, dtype={"patient_id": str})
    cols = json.loads(Path(columns_json).read_text(encoding="utf-8"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        val = validate_study(train, radiomics=cols["radiomics"], deep=cols["deep"], clinical=cols["clinical"],
                             **kwargs)
    names = []
    for comp, name in VALIDATION_TABLES.items():
        df = getattr(val, comp)
        if isinstance(df, pd.DataFrame):
            write_csv(df, stage_dir / f"{name}.csv")
            names.append(name)
    return {"tables": names, "method": val.method, "n_resamples": int(val.n_resamples),
            "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}


def validation_test_metrics(scores: pd.DataFrame, models) -> pd.DataFrame:
    """The validation's metrics of each model on the test set (R, the same function ``validate_study`` uses).

    ``scores``: the stats stage's per-patient risks (``set``, ``outcome``, one column per model).
    Returns ``model, metric, test`` (empty when the test set has a single outcome class or none).
    """
    from radnomo.stats import validation_metrics  # R: started when the stage runs

    rows = []
    sc = scores.loc[scores["set"] == "test"] if "set" in scores.columns else scores.iloc[0:0]
    for m in models:
        if m not in sc.columns:
            continue
        ok = sc[m].notna()
        y, p = sc.loc[ok, "outcome"].to_numpy(float), sc.loc[ok, m].to_numpy(float)
        if len(y) < 2 or len(np.unique(y)) < 2:
            continue
        # R's validation_metrics: the one implementation of these metrics (R/validate.R)
        rows += [{"model": m, "metric": k, "test": v} for k, v in validation_metrics(y, p).items()]
    return pd.DataFrame(rows, columns=["model", "metric", "test"])


def validation_summary(performance: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """Apparent | optimism | corrected (95% CI for the AUC) | test, per model and metric, in report order."""
    out = performance.merge(test, on=["model", "metric"], how="left") if len(test) else performance.assign(test=np.nan)
    order_m = {m: i for i, m in enumerate(MODEL_LABELS)}
    order_k = {k: i for i, k in enumerate(VALIDATION_METRICS)}
    out = out.assign(_m=out["model"].map(order_m).fillna(99), _k=out["metric"].map(order_k).fillna(99))
    out = out.sort_values(["_m", "_k"], kind="stable").drop(columns=["_m", "_k"]).reset_index(drop=True)
    return out[["model", "metric", "apparent", "optimism", "corrected", "lower", "upper", "test"]]
