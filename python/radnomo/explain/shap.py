"""SHAP values of the study's logistic score models (Rad score, DL score).

For a logistic model ``logit p = b0 + sum_j b_j x_j`` with independent inputs,
the exact SHAP value of term ``j`` for patient ``i`` on the log-odds scale is

    phi_ij = b_j * (x_ij - E[x_j]),

with the expectation taken over a background set — here the training set
(Lundberg & Lee 2017, linear models; ``shap.LinearExplainer`` with an
independent masker on the same background gives the same numbers). The
values add up to the patient's score minus the mean training score:
``sum_j phi_ij = f(x_i) - E[f(x)]``.

Plots (matplotlib, Agg): a summary "beeswarm" (one row per term, one dot per
patient at its SHAP value, coloured by the term's value) and a per-patient bar
plot (signed contributions to that patient's score).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from radnomo.errors import InputError


def _coef_series(coefficients) -> pd.Series:
    if isinstance(coefficients, pd.Series):
        s = coefficients.astype(float)
    elif isinstance(coefficients, Mapping):
        s = pd.Series({str(k): float(v) for k, v in coefficients.items()})
    else:
        raise InputError("coefficients must be a pandas Series or a mapping term -> coefficient")
    return s.drop(labels=[k for k in s.index if k in ("(Intercept)", "intercept", "Intercept")], errors="ignore")


def linear_shap_values(coefficients, x: pd.DataFrame, background: pd.DataFrame) -> pd.DataFrame:
    """Exact SHAP values of a linear predictor (log-odds scale for a logistic model).

    Parameters
    ----------
    coefficients : term -> coefficient (an intercept entry is ignored).
    x : patients to explain (rows) x terms (columns, at least the coefficients' terms).
    background : the reference set (the training patients), same terms.

    Returns
    -------
    DataFrame, same rows as ``x``, one column per term: ``b_j * (x_ij - mean(background_j))``.
    """
    b = _coef_series(coefficients)
    for name, frame in (("x", x), ("background", background)):
        missing = [t for t in b.index if t not in frame.columns]
        if missing:
            raise InputError(f"SHAP: {name} lacks the model term(s) {missing}")
    if len(background) == 0:
        raise InputError("SHAP: the background set is empty")
    xs = x[list(b.index)].astype(float)
    mu = background[list(b.index)].astype(float).mean(axis=0)
    if xs.isna().any().any():
        bad = xs.index[xs.isna().any(axis=1)].tolist()[:10]
        raise InputError(f"SHAP: missing term values for row(s) {bad}")
    return (xs - mu) * b


def expected_value(coefficients, background: pd.DataFrame, intercept: float = 0.0) -> float:
    """Mean linear predictor over the background: ``b0 + sum_j b_j mean(background_j)``."""
    b = _coef_series(coefficients)
    return float(intercept + (background[list(b.index)].astype(float).mean(axis=0) * b).sum())


def shap_importance(values: pd.DataFrame) -> pd.Series:
    """Mean |SHAP| per term, largest first."""
    return values.abs().mean(axis=0).sort_values(ascending=False)


def plot_shap_summary(values: pd.DataFrame, x: pd.DataFrame, path: str | os.PathLike, *, title: str = "",
                      max_terms: int = 20, seed: int = 0) -> Path:
    """Beeswarm summary: one row per term (by mean |SHAP|), one dot per patient, colour = term value."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    order = list(shap_importance(values).index[:max_terms])[::-1]
    rng = np.random.default_rng(seed)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(order) + 1.6))
    sc = None
    for row, term in enumerate(order):
        v = values[term].to_numpy(float)
        f = x[term].to_numpy(float)
        lo, hi = np.nanpercentile(f, 5), np.nanpercentile(f, 95)
        c = np.clip((f - lo) / (hi - lo), 0, 1) if hi > lo else np.full_like(f, 0.5)
        jitter = rng.uniform(-0.28, 0.28, size=len(v))
        sc = ax.scatter(v, row + jitter, c=c, cmap="coolwarm", vmin=0, vmax=1, s=14, alpha=0.85, linewidths=0)
    ax.axvline(0, color="0.4", lw=0.8)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([_short(t) for t in order], fontsize=8)
    ax.set_xlabel("SHAP value (contribution to the score, log-odds)")
    ax.set_title(title or "SHAP summary")
    if sc is not None:
        cb = fig.colorbar(sc, ax=ax, pad=0.01, fraction=0.04)
        cb.set_ticks([0, 1])
        cb.set_ticklabels(["low", "high"])
        cb.set_label("term value")
    fig.tight_layout()
    return _save(fig, path)


def plot_shap_patient(values: pd.Series, x: pd.Series, base_value: float, path: str | os.PathLike, *,
                      title: str = "", max_terms: int = 15) -> Path:
    """Per-patient bar plot: signed SHAP contributions (largest |value| first), with the score they add up to."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    order = values.abs().sort_values(ascending=False).index[:max_terms][::-1]
    v = values[order]
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(order) + 1.6))
    colors = ["#c0392b" if z > 0 else "#2e86c1" for z in v]
    ax.barh(range(len(order)), v.to_numpy(float), color=colors)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels([f"{_short(t)} = {x[t]:.3g}" for t in order], fontsize=8)
    ax.axvline(0, color="0.3", lw=0.8)
    score = base_value + float(values.sum())
    # short axis label: long term names push the axes right, and a long centred label was cut off
    ax.set_xlabel("SHAP value (log-odds)")
    # title centred on the figure, not on the (right-shifted) axes
    fig.suptitle((title or "SHAP values of one patient")
                 + f"\nscore {score:.3f} = mean training score {base_value:.3f} + sum of bars", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _short(name: str, n: int = 48) -> str:
    return name if len(name) <= n else name[: n - 3] + "..."


def _save(fig, path) -> Path:
    import matplotlib.pyplot as plt

    from radnomo.io.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
    return path
