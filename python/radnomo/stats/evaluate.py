"""Discrimination, calibration, decision curves and Table 1 (twins of R/roc.R,
R/calibration.R, R/dca.R, R/table1.R)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.stats import _convert as cv
from radnomo.stats._base import RFit, frame, named_vectors_arg, outcome_name, tuple_of_str, vector_arg
from radnomo.stats.session import bridged, call


@bridged
def roc_metrics(y, score, threshold: float | None = None, event=None) -> pd.DataFrame:
    """AUC with DeLong 95% CI and the metrics at a cut-off (R ``radnomo::roc_metrics``).

    Higher score = higher risk; positive <=> score >= threshold; the threshold
    is Youden-optimal when ``None``. Columns: n, n_events, auc, auc_lower,
    auc_upper, threshold, sensitivity, specificity, ppv, npv, accuracy.
    ``event``: the outcome value that is the event (default 1 / the second level).
    """
    return frame(call("roc_metrics", vector_arg(y, "y"), vector_arg(score, "score"),
                      threshold=None if threshold is None else float(threshold), event=None if event is None else str(event),
                      outcome_name=outcome_name(y)))


@bridged
def delong_test(y, scores, event=None) -> pd.DataFrame:
    """Paired DeLong tests for every pair of ``scores`` (dict name -> score), R ``delong_test``."""
    return frame(call("delong_test", vector_arg(y, "y"), named_vectors_arg(scores, "scores"), event=None if event is None else str(event),
                      outcome_name=outcome_name(y)))


@bridged
def decision_curve(y, risks, thresholds=None, policy: str = "opt-in", bootstraps: int = 0,
                   seed: int | None = None, conf_level: float = 0.95, event=None) -> pd.DataFrame:
    """Net benefit by rmda's definitions (R ``radnomo::decision_curve``).

    ``risks``: dict name -> predicted risks (or a DataFrame). ``thresholds``
    default ``0, 0.01, ..., 1``.
    """
    if policy not in ("opt-in", "opt-out"):
        raise InputError(f"policy must be 'opt-in' or 'opt-out', not {policy!r}")
    kwargs = dict(policy=policy, bootstraps=int(bootstraps), seed=None if seed is None else int(seed),
                  conf_level=float(conf_level), event=None if event is None else str(event),
                  outcome_name=outcome_name(y))
    if thresholds is not None:
        kwargs["thresholds"] = cv.r_numvec(np.asarray(thresholds, dtype=float))
    return frame(call("decision_curve", vector_arg(y, "y"), named_vectors_arg(risks, "risks"), **kwargs))


@bridged
def plot_decision_curve(dc: pd.DataFrame, file, ylim=None) -> Path:
    """Plot a decision curve table to ``file`` (PNG/PDF/SVG)."""
    call("plot_decision_curve", cv.r_dataframe(dc), str(file),
         ylim=None if ylim is None else cv.r_numvec(np.asarray(ylim, dtype=float)))
    return Path(file)


@dataclass(frozen=True)
class Calibration(RFit):
    """Calibration of predicted risks: grouped curve, statistics and (with a fit) bootstrap curves
    and ``optimism_corrected`` (rms::validate's table: index, apparent, optimism, corrected, n)."""

    curve: pd.DataFrame = None
    stats: pd.DataFrame = None
    bootstrap: pd.DataFrame | None = None
    bootstrap_resamples: dict | None = None
    optimism_corrected: pd.DataFrame | None = None


@bridged
def calibration(y, risk, fit=None, B: int = 1000, seed: int | None = None, groups: int = 10,
                validation: bool = False, separation: str = "firth", event=None) -> Calibration:
    """Observed vs predicted, calibration intercept/slope with 95% CIs, Brier, Hosmer–Lemeshow
    (``G - 2`` df, or ``G`` df with ``validation=True`` for risks applied to independent data);
    with ``fit`` (a nomogram) also rms::calibrate bootstrap curves (R ``radnomo::calibration``;
    ``separation``: how a bootstrap refit that separates is handled, ``"firth"`` refits it with
    Firth's method; ``bootstrap_resamples`` counts requested, failed and Firth refits)."""
    res = call("calibration", vector_arg(y, "y"), vector_arg(risk, "risk"),
               fit=None if fit is None else fit.robj, B=int(B),
               seed=None if seed is None else int(seed), groups=int(groups), validation=bool(validation),
               separation=str(separation), event=None if event is None else str(event),
               outcome_name=outcome_name(y))
    return calibration_from_r(cv.RHandle(res))


@bridged
def calibration_from_r(h: cv.RHandle) -> Calibration:
    """Wrap an R ``radnomo_calibration`` object."""
    boot = h.component("bootstrap")
    res = cv.list_component(h.robj, "bootstrap_resamples")
    counts = None
    if res is not None and not isinstance(res, type(cv.ri.NULL)):
        counts = {str(k): int(v) for k, v in zip(cv._names(res) or [], res)}
    oc = h.component("optimism_corrected")
    return Calibration(robj=h, curve=h.component("curve"), stats=h.component("stats"),
                       bootstrap=boot if isinstance(boot, pd.DataFrame) else None, bootstrap_resamples=counts,
                       optimism_corrected=oc if isinstance(oc, pd.DataFrame) else None)


@bridged
def plot_calibration(cal: Calibration, file, title: str | None = None) -> Path:
    """Calibration plot to ``file`` (PNG/PDF/SVG)."""
    call("plot_calibration", cal.robj, str(file), title=title)
    return Path(file)


@bridged
def baseline_table(data: pd.DataFrame, group: str, vars, categorical=None, digits: int = 2,
                   summary="auto") -> pd.DataFrame:
    """Table 1 by ``group`` with p-values (R ``radnomo::baseline_table``).

    ``summary``: ``"auto"`` (median (IQR) for skewed continuous variables, |skewness| > 1,
    else mean ± SD), ``"mean_sd"``, ``"median_iqr"``, or a dict variable -> one of the last two.
    Missing values get a "Missing" row; group columns whose level equals a fixed column name
    are named ``"<group>=<level>"``.
    """
    kwargs = {"digits": int(digits)}
    if categorical is not None:
        kwargs["categorical"] = cv.r_strvec(list(tuple_of_str(categorical)))
    if isinstance(summary, dict):
        vec = cv.r_strvec([str(v) for v in summary.values()])
        vec.do_slot_assign("names", cv.r_strvec([str(k) for k in summary]))
        kwargs["summary"] = vec
    else:
        kwargs["summary"] = str(summary)
    return frame(call("baseline_table", cv.r_dataframe(data), group,
                      cv.r_strvec(list(tuple_of_str(vars))), **kwargs))
