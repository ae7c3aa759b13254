"""Journal tables of performance: Table 3 (metrics per model and set), DeLong comparisons, internal
validation, feature selection; the headline numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from radnomo.report.formatting import DASH, count, fmt_ci, fmt_num, fmt_p, fmt_pct, int_or_none, num
from radnomo.report.journal import JournalTable, Row, n_suffix
from radnomo.report.labels import Labels

# ------------------------------------------------------------------------------------- Table 3 ---

#: Table 3 proportions: metric column, numerator and denominator from TP/FP/TN/FN.
_PROPORTIONS = (("sensitivity", "Sensitivity"), ("specificity", "Specificity"), ("ppv", "PPV"),
                ("npv", "NPV"), ("accuracy", "Accuracy"))


def _confusion(r: Mapping[str, Any]) -> dict[str, tuple[float, float]] | None:
    """Numerators/denominators of the proportions, recovered from n, events, sensitivity and
    specificity (exact counts only; ``None`` when they are not whole numbers)."""
    n, ev, se, sp = (num(r.get(k)) for k in ("n", "n_events", "sensitivity", "specificity"))
    if None in (n, ev, se, sp):
        return None
    tp, tn = se * ev, sp * (n - ev)
    if count(tp) is None or count(tn) is None:
        return None
    tp, tn = float(count(tp)), float(count(tn))
    fn, fp = ev - tp, (n - ev) - tn
    return {"sensitivity": (tp, ev), "specificity": (tn, n - ev), "ppv": (tp, tp + fp),
            "npv": (tn, tn + fn), "accuracy": (tp + tn, n)}


def table3(metrics: pd.DataFrame, labels: Labels, *, validation: pd.DataFrame | None = None,
           anchor: str = "table-3", title: str = "Performance of the models",
           models: Sequence[str] | None = None, caption: str = "",
           validation_estimator: str | None = None) -> JournalTable:
    """Table 3: per set (training, test) and model, the AUC with its DeLong 95% CI, sensitivity,
    specificity, PPV, NPV and accuracy at the training-set Youden cut-off, and, when the validate
    stage ran, the optimism-corrected AUC (95% CI) on the training rows.

    Parameters
    ----------
    metrics
        ``metrics.csv``: set, model, n, n_events, auc, auc_lower, auc_upper, threshold, sensitivity,
        specificity, ppv, npv, accuracy (and, if R provides them, ``<metric>_lower``/``_upper``).
    validation
        ``validation_summary.csv`` (or ``validation_performance.csv``): model, metric, apparent,
        corrected, lower, upper.
    models
        Models in display order (default: the CSV's order).
    """
    need = {"set", "model", "auc", "auc_lower", "auc_upper", "sensitivity", "specificity", "ppv", "npv",
            "accuracy"}
    if need - set(metrics.columns):
        raise ValueError(f"metrics: missing column(s) {sorted(need - set(metrics.columns))}")
    corrected = {}
    if validation is not None and len(validation):
        for _, r in validation.loc[validation["metric"] == "auc"].iterrows():
            corrected[str(r["model"])] = r
    cols = ["Model", "AUC (95% CI)"]
    if corrected:
        cols.append("Optimism-corrected AUC (95% CI)")
    cols += [lab for _, lab in _PROPORTIONS] + ["Cut-off"]
    rows: list[Row] = []
    order = list(models) if models else list(dict.fromkeys(metrics["model"].astype(str)))
    for s, sub in metrics.groupby("set", sort=False):
        first = sub.iloc[0]
        rows.append(Row([labels.set_name(str(s)) + n_suffix(first.get("n"), first.get("n_events"))],
                        kind="section"))
        by_model = {str(r["model"]): r for _, r in sub.iterrows()}
        for m in order:
            if m not in by_model:
                continue
            r = by_model[m]
            cells = [labels.model(m), auc_text(r["auc"], r["auc_lower"], r["auc_upper"], str(s))]
            if corrected:
                c = corrected.get(m)
                cells.append(fmt_ci(c["corrected"], c["lower"], c["upper"]) if c is not None and str(s) == "train"
                             else "")
            conf = _confusion(r)
            for key, _ in _PROPORTIONS:
                num, den = conf[key] if conf else (None, None)
                cells.append(fmt_pct(r[key], num, den, r.get(f"{key}_lower"), r.get(f"{key}_upper")))
            cells.append(fmt_num(r.get("threshold"), 3))
            rows.append(Row(cells, indent=1))
    notes = _table3_notes(metrics, bool(corrected), validation_estimator)
    srcs = ["metrics"] + (["validation_summary"] if corrected else [])
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=srcs)


def _table3_notes(metrics: pd.DataFrame, corrected: bool, validation_estimator: str | None) -> list[str]:
    notes = ["AUC, area under the ROC curve with its DeLong 95% CI. Sensitivity, specificity, PPV "
             "(positive predictive value), NPV (negative predictive value) and accuracy at the cut-off "
             "(predicted risk) that maximises Youden's index on the training set, reused unchanged on the "
             "test set; counts in brackets."]
    if not any(f"{k}_lower" in metrics.columns for k, _ in _PROPORTIONS):
        notes.append("Confidence intervals of the proportions are not part of the run's outputs (metrics.csv).")
    if corrected:
        notes.append("Optimism-corrected AUC: the training-set AUC corrected by internal validation of the whole "
                     "modelling process" + (f" ({validation_estimator})" if validation_estimator else "")
                     + "; its 95% CI is Hanley–McNeil's at the corrected value.")
    return notes


def delong_table(delong: pd.DataFrame, labels: Labels, *, anchor: str = "table-delong",
                 title: str = "Pairwise comparison of AUCs (DeLong's test)", caption: str = "") -> JournalTable:
    """Pairwise DeLong tests per set (``delong.csv``: set, model_1, model_2, auc_1, auc_2, difference,
    lower, upper, p): the AUC difference with its 95% CI and the p-value."""
    cols = ["Comparison", "ΔAUC (95% CI)", "p"]
    rows: list[Row] = []
    for s, sub in delong.groupby("set", sort=False):
        rows.append(Row([labels.set_name(str(s))], kind="section"))
        for _, r in sub.iterrows():
            rows.append(Row([f"{labels.model(r['model_1'])} vs {labels.model(r['model_2'])}",
                             fmt_ci(r["difference"], r["lower"], r["upper"]), fmt_p(r["p"])], indent=1))
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, caption=caption,
                        footnotes=["ΔAUC, AUC of the first model minus that of the second; paired DeLong test, "
                                   "two-sided; not adjusted for multiple comparisons."], sources=["delong"])


#: Validation metrics in display order, with their names.
VALIDATION_METRICS = (("auc", "AUC"), ("brier", "Brier score"), ("scaled_brier", "Scaled Brier score"),
                      ("citl", "Calibration-in-the-large"), ("recalibration_intercept", "Recalibration intercept"),
                      ("slope", "Calibration slope"), ("emax", "Emax"), ("e90", "E90"))


#: How each validation method gets its corrected value (``validate_study``'s ``method``).
CORRECTED_BY = {
    "boot": "Corrected = apparent − optimism (Efron–Gong: optimism = mean over the bootstrap resamples of the "
            "resample model's performance on its resample minus on the original data)",
    "cv": "Corrected = the cross-validated estimate itself (AUC averaged over the held-out folds, the other "
          "metrics from each repeat's pooled out-of-fold risks); optimism = apparent − corrected",
    "632plus": "Corrected = the .632+ combination of the apparent and out-of-bag performance (AUC and Brier score "
               "only; the other metrics have no .632+ estimate); optimism = apparent − corrected",
}

#: Mark of an optimism left undefined because the apparent value is not estimable.
NO_APPARENT_MARK = "ᵃ"


def validation_table(summary: pd.DataFrame, labels: Labels, *, anchor: str = "table-validation",
                     title: str = "Internal validation of the whole modelling process",
                     estimator: str | None = None, caption: str = "", method: str | None = None) -> JournalTable:
    """Apparent, optimism and optimism-corrected performance per model (``validation_summary.csv``:
    model, metric, apparent, optimism, corrected, lower, upper, and test when present).

    ``method`` (``"boot"``, ``"cv"``, ``"632plus"``; ``None``: unknown) decides what "corrected" is.
    For the bootstrap (and an unknown method) corrected = apparent − optimism, so a row without an
    apparent value or an optimism shows no corrected value either. Cross-validation and .632+
    estimate the corrected value directly (optimism = apparent − corrected): where the apparent
    value is not estimable (a separated training-set fit has no finite calibration slope or
    recalibration intercept) the held-out estimate still exists and is shown, its optimism marked
    :data:`NO_APPARENT_MARK` and explained in a footnote."""
    has_test = "test" in summary.columns
    cols = ["Metric", "Apparent", "Optimism", "Corrected (95% CI)"] + (["Test set"] if has_test else [])
    names = dict(VALIDATION_METRICS)
    direct = method in ("cv", "632plus")
    rows: list[Row] = []
    marked = False
    for m, sub in summary.groupby("model", sort=False):
        rows.append(Row([labels.model(str(m))], kind="section"))
        for _, r in sub.iterrows():
            app, opt = num(r["apparent"]), num(r["optimism"])
            corrected = fmt_ci(r["corrected"], r.get("lower"), r.get("upper"))
            optimism = fmt_num(r["optimism"])
            if app is None or opt is None:
                if not direct:
                    corrected = DASH
                elif corrected != DASH and app is None:
                    optimism = DASH + NO_APPARENT_MARK
                    marked = True
            cells = [names.get(str(r["metric"]), str(r["metric"])), fmt_num(r["apparent"]), optimism, corrected]
            if has_test:
                cells.append(fmt_num(r["test"]))
            rows.append(Row(cells, indent=1))
    how = CORRECTED_BY.get(str(method), "Corrected = apparent − optimism")
    notes = [how + ", training set" + (f"; {estimator}" if estimator else "")
             + ". Calibration-in-the-large and recalibration intercept: ideal 0; slope: ideal 1; Emax, E90: "
             "maximum and 90th percentile of the absolute difference between predicted risk and the smoothed "
             "calibration curve."]
    if marked:
        notes.append(f"{NO_APPARENT_MARK} No apparent value, so no optimism: the model's training-set fit separates "
                     "the outcome, and the recalibration model of its own risks has no finite slope or "
                     "recalibration intercept. The corrected value is the held-out estimate, which does not need the "
                     "apparent one.")
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=["validation_summary"])


#: Names of the selection steps (``steps.csv``).
STEP_NAMES = {"input": "Candidate features", "mwu": "Mann–Whitney U filter", "correlation": "Correlation pruning",
              "pca": "Principal components", "lasso": "LASSO", "univariable": "Univariable logistic filter",
              "predictors": "Predictors of the nomogram"}
BLOCK_NAMES = {"radiomics": "Radiomics features", "deep": "Deep features", "clinical": "Clinical variables",
               "nomogram": "Nomogram"}


def selection_table(steps: pd.DataFrame, *, anchor: str = "table-selection",
                    title: str = "Features remaining after each selection step", caption: str = "",
                    settings: Mapping[str, Any] | None = None) -> JournalTable:
    """Feature counts per block and step (``steps.csv``: block, step, n_features), training set."""
    rows: list[Row] = []
    for b, sub in steps.groupby("block", sort=False):
        rows.append(Row([BLOCK_NAMES.get(str(b), str(b))], kind="section"))
        for _, r in sub.iterrows():
            n = num(r["n_features"])
            rows.append(Row([STEP_NAMES.get(str(r["step"]), str(r["step"])), DASH if n is None else str(int(n))],
                            indent=1))
    notes = ["Training set only; every step is refitted inside each resample of the internal validation."]
    if settings:
        notes.append("Settings: " + "; ".join(f"{k} = {v}" for k, v in settings.items()) + ".")
    return JournalTable(anchor=anchor, title=title, columns=["Step", "Features"], rows=rows, footnotes=notes,
                        caption=caption, sources=["steps"])


# ------------------------------------------------------------------------------------- headline ---

def auc_text(auc: Any, lower: Any, upper: Any, split: str | None = None) -> str:
    """An AUC with its 95% CI (:func:`fmt_ci`), without a zero-width interval: an AUC of 1 whose
    interval collapses to 1–1 (pROC's DeLong CI of a perfect separation) reads ``"1.000 (perfect
    separation on the training set; no interval)"``, any other degenerate interval ``"0.700 (no
    interval: zero width)"``."""
    a, lo, hi = num(auc), num(lower), num(upper)
    if a is None or lo is None or hi is None or abs(hi - lo) > 1e-12:
        return fmt_ci(auc, lower, upper)
    if a >= 1.0 - 1e-12:
        where = f" on the {Labels.set_name(split).lower()}" if split else ""
        return f"{fmt_num(a)} (perfect separation{where}; no interval)"
    return f"{fmt_num(a)} (no interval: zero width)"


def headline(metrics: pd.DataFrame, *, model: str = "nomogram", validation: pd.DataFrame | None = None) -> dict | None:
    """The report's headline numbers for ``model``: ``{"test": {...}, "train": {...}, "corrected":
    {...} | None}`` with ``auc``, ``lower``, ``upper`` (floats) and ``n``/``events`` per set, plus
    ``text`` (each formatted with :func:`fmt_ci`; a set's AUC by :func:`auc_text`, so without a
    zero-width interval); ``None`` when the model has no metrics."""
    sub = metrics.loc[metrics["model"].astype(str) == model]
    if not len(sub):
        return None
    out: dict[str, Any] = {"model": model}
    for s in ("train", "test"):
        r = sub.loc[sub["set"].astype(str) == s]
        if len(r):
            r = r.iloc[0]
            out[s] = {"auc": num(r["auc"]), "lower": num(r["auc_lower"]), "upper": num(r["auc_upper"]),
                      "n": int_or_none(r.get("n")), "events": int_or_none(r.get("n_events")),
                      "text": auc_text(r["auc"], r["auc_lower"], r["auc_upper"], s)}
    out["corrected"] = None
    if validation is not None and len(validation):
        v = validation.loc[(validation["model"].astype(str) == model) & (validation["metric"] == "auc")]
        if len(v) and num(v.iloc[0]["corrected"]) is not None:
            r = v.iloc[0]
            out["corrected"] = {"auc": num(r["corrected"]), "lower": num(r.get("lower")),
                                "upper": num(r.get("upper")), "apparent": num(r.get("apparent")),
                                "text": fmt_ci(r["corrected"], r.get("lower"), r.get("upper"))}
    return out
