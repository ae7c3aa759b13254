"""The report's figures: ROC, calibration, decision curves, whole-pipeline calibration, selection stability.

Each draws with matplotlib (Agg) into a PNG file and returns its path. Legends and axis labels use
the study's readable names (a :class:`~radnomo.report.labels.Labels`; its defaults when none is
given); internal names stay in the CSV files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from radnomo.report.labels import Labels

#: Colours of the feature blocks (selection-stability figure).
BLOCK_COLOURS = {"radiomics": "#2e86c1", "deep": "#c0392b", "clinical": "#27ae60"}

#: Features per block in the selection-stability figure.
STABILITY_TOP = {"radiomics": 15, "deep": 10, "clinical": 10}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def split_column(df: pd.DataFrame) -> str | None:
    return next((c for c in ("split", "set", "dataset") if c in df.columns), None)


def label_column(df: pd.DataFrame) -> str:
    return next(c for c in ("outcome", "label") if c in df.columns)


def roc_points(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Empirical ROC curve (FPR, TPR) with positive <=> score >= threshold."""
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    distinct = np.r_[np.where(np.diff(s))[0], len(s) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (distinct + 1) - tps
    return np.r_[0, fps / max(1, (1 - y).sum())], np.r_[0, tps / max(1, y.sum())]


def set_counts(scores: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Patients and events per set (``train``/``test``) of the per-patient scores table."""
    sc = split_column(scores)
    y = label_column(scores)
    groups = scores.groupby(sc, sort=False) if sc else [("all", scores)]
    return {str(k): (int(len(g)), int(g[y].sum())) for k, g in groups}


def plot_roc(scores: pd.DataFrame, models: list[str], path: Path, split: str, auc: dict[str, float],
             labels: Labels | None = None) -> Path:
    labels = labels or Labels()
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    y = scores[label_column(scores)].to_numpy(int)
    for m in models:
        fpr, tpr = roc_points(y, scores[m].to_numpy(float))
        lab = labels.model(m) + (f" (AUC {auc[m]:.3f})" if m in auc else "")
        ax.plot(fpr, tpr, lw=1.8, label=lab)
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=0.8)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("Sensitivity")
    ax.set_title(f"{labels.set_name(split)} (n = {len(y)}, events = {int(y.sum())})")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_aspect("equal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_calibration_tables(curve: pd.DataFrame | None, boot: pd.DataFrame | None, path: Path, title: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=0.8, label="Ideal")
    if boot is not None and {"predicted", "apparent", "bias_corrected"} <= set(boot.columns):
        ax.plot(boot.predicted, boot.apparent, color="#2e86c1", lw=1.4, label="Apparent")
        ax.plot(boot.predicted, boot.bias_corrected, color="#c0392b", lw=1.8,
                label="Final model only, bootstrap-corrected\n(rms::calibrate; selection not repeated)")
    if curve is not None and {"predicted", "observed"} <= set(curve.columns):
        yerr = None
        if {"lower", "upper"} <= set(curve.columns):
            yerr = np.vstack([curve.observed - curve.lower, curve.upper - curve.observed]).clip(min=0)
        ax.errorbar(curve.predicted, curve.observed, yerr=yerr, fmt="o", color="k", ms=4, capsize=2,
                    label="Grouped observed (95% CI)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed proportion")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_validation_calibration(whole: pd.DataFrame, final_only: pd.DataFrame | None, path: Path, title: str,
                                whole_label: str) -> Path:
    """The nomogram's calibration corrected by whole-pipeline resampling beside the final-model-only
    (rms::calibrate bootstrap) correction, on the training set."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.8, 5.4))
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=0.8, label="Ideal")
    ax.plot(whole.predicted, whole.apparent, color="0.35", lw=1.2, label="Apparent (training set)")
    if final_only is not None and {"predicted", "bias_corrected"} <= set(final_only.columns):
        ax.plot(final_only.predicted, final_only.bias_corrected, color="#2e86c1", lw=1.6, ls="-.",
                label="Final model only (rms::calibrate bootstrap;\nselection not repeated)")
    ax.plot(whole.predicted, whole.corrected, color="#c0392b", lw=2.0,
            label=f"Whole pipeline ({whole_label};\nselection repeated)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed proportion")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=7.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def stability_top(stability: pd.DataFrame, top=None) -> pd.DataFrame:
    """The most frequently selected features of each block (``STABILITY_TOP`` per block), blocks in
    radiomics, deep, clinical order, highest frequency first."""
    top = STABILITY_TOP if top is None else top
    parts = []
    for b in ("radiomics", "deep", "clinical"):
        sub = stability.loc[stability.block == b].sort_values(["frequency", "feature"], ascending=[False, True],
                                                              kind="stable")
        parts.append(sub.head(top.get(b, 10)))
    return pd.concat(parts, ignore_index=True) if parts else stability.iloc[0:0]


def plot_selection_stability(stability: pd.DataFrame, path: Path, title: str, labels: Labels | None = None) -> Path:
    """Horizontal bars: selection frequency of the top features per block, coloured by block."""
    labels = labels or Labels()
    plt = _plt()
    top = stability_top(stability)
    fig, ax = plt.subplots(figsize=(7.2, max(2.5, 0.24 * len(top) + 1.2)))
    ypos = np.arange(len(top))[::-1]
    ax.barh(ypos, top.frequency, color=[BLOCK_COLOURS.get(b, "0.5") for b in top.block])
    ax.set_yticks(ypos)
    names = [labels.feature(str(f)) for f in top.feature]
    ax.set_yticklabels([f if len(f) <= 56 else f[:53] + "..." for f in names], fontsize=6.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Fraction of resamples in which the feature was selected")
    from matplotlib.patches import Patch

    block_names = {"radiomics": "Radiomics", "deep": "Deep learning", "clinical": "Clinical"}
    ax.legend(handles=[Patch(color=c, label=block_names[b]) for b, c in BLOCK_COLOURS.items() if b in set(top.block)],
              fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_dca(dc: pd.DataFrame, path: Path, title: str, labels: Labels | None = None) -> Path:
    labels = labels or Labels()
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ymax = 0.05
    for m, sub in dc.groupby("model", sort=False):
        nb = sub.net_benefit.to_numpy(float)
        ymax = max(ymax, np.nanmax(nb) if np.isfinite(nb).any() else 0)
        style = dict(color="0.5", ls="--") if m == "all" else dict(color="k", lw=0.8) if m == "none" else {}
        lab = {"all": "Treat all", "none": "Treat none"}.get(m) or labels.model(str(m))
        ax.plot(sub.threshold, nb, label=lab, **style)
    ax.set_ylim(-0.05, 1.1 * ymax)
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path



def plot_validation_dca(vd: pd.DataFrame, test: pd.DataFrame | None, path: Path, title: str, whole_label: str,
                        model_label: str) -> Path:
    """The nomogram's decision curve on the training set: apparent, optimism-corrected by whole-pipeline
    resampling (with its band: the apparent bootstrap percentile interval shifted by the optimism),
    beside the test set's curve and the treat-all / treat-none references."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    nom = vd.loc[vd["model"] == "nomogram"].sort_values("threshold")
    ax.fill_between(nom.threshold, nom.lower, nom.upper, color="#c0392b", alpha=0.15, lw=0,
                    label="95% band (shifted bootstrap percentile)")
    ax.plot(nom.threshold, nom.apparent, color="0.35", lw=1.2, label="Apparent (training set)")
    ax.plot(nom.threshold, nom.corrected, color="#c0392b", lw=2.0, label=f"Optimism-corrected ({whole_label})")
    if test is not None and len(test):
        t = test.loc[test["model"] == "nomogram"].sort_values("threshold")
        ax.plot(t.threshold, t.net_benefit, color="#2e86c1", lw=1.4, ls="-.", label="Test set")
    for ref, style, lab in (("all", dict(color="0.5", ls="--"), "Treat all"), ("none", dict(color="k", lw=0.8),
                                                                                "Treat none")):
        r = vd.loc[vd["model"] == ref].sort_values("threshold")
        if len(r):
            ax.plot(r.threshold, r.apparent, label=lab, **style)
    finite = np.concatenate([nom.apparent.to_numpy(float), nom.upper.to_numpy(float)])
    finite = finite[np.isfinite(finite)]
    ax.set_ylim(-0.05, 1.1 * max(0.05, finite.max() if finite.size else 0.05))
    ax.set_xlabel("Threshold probability")
    ax.set_ylabel("Net benefit")
    ax.set_title(f"{model_label}: {title}", fontsize=10)
    ax.legend(fontsize=7.5)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_history(history: pd.DataFrame, path: Path, labels: Labels | None = None) -> Path:
    """The deep models' training: loss and training-set AUC per epoch, one line per sequence."""
    labels = labels or Labels()
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for seq, g in history.groupby("sequence", sort=False):
        a1.plot(g.epoch, g.loss, marker="o", ms=3, label=labels.sequence(str(seq)))
        if "auc" in g.columns:
            a2.plot(g.epoch, g.auc, marker="o", ms=3, label=labels.sequence(str(seq)))
    a1.set_xlabel("Epoch")
    a1.set_ylabel("Training loss")
    a2.set_xlabel("Epoch")
    a2.set_ylabel("Training-set AUC")
    a2.set_ylim(0, 1)
    a1.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
