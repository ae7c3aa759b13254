"""The report's figures, declared: each with its anchor, title, caption, source CSV tables and how
it is drawn (or which stage's image it is).

:data:`FIGURES` lists every figure of the page in order. A figure has one or more panels (one per
set, per score, per Grad-CAM map), each a PNG in ``report/figures/`` embedded in the page; the
figure's anchor is the id of the group, each panel's id is ``<anchor>-<suffix>``. A figure whose
sources are missing draws nothing and the page says it is not available.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from radnomo.pipeline.layout import SHAP_KINDS, RunLayout
from radnomo.report import build_plots as P
from radnomo.report.anchors import ANCHORS
from radnomo.report.build_tables import ReportInputs, resolved

SETS = ("train", "test")


@dataclass(frozen=True)
class Panel:
    """One image of a figure: its file, the part of the caption that is its own, its id suffix."""

    path: Path
    caption: str
    suffix: str


@dataclass(frozen=True)
class FigureSpec:
    """One declared figure: ``section``, ``anchor``, ``title``, ``caption``, ``sources`` (CSV tables
    or stage files it shows; ``title`` and ``caption`` may name the placeholders of
    :meth:`~radnomo.report.build_tables.ReportInputs.words`: ``{nomogram}``, the study's label of
    the nomogram, ``{scores}``, ...), ``results_key`` (its key in ``results.json["figures"]``),
    ``draw`` (inputs, layout, figures folder -> panels) and ``needs`` (the feature block without
    which the figure is not part of the study, so not shown: ``"deep"`` for Grad-CAM)."""

    section: str
    anchor: str
    title: str
    caption: str
    sources: tuple[str, ...]
    results_key: str
    draw: Callable[[ReportInputs, RunLayout, Path], list[Panel]]
    needs: str | None = None


def _n(inp: ReportInputs, split: str) -> str:
    n = inp.set_n.get(split)
    return f" (n = {n[0]}, events = {n[1]})" if n else ""


def plot_roc(*args, **kwargs) -> Path:
    """:func:`radnomo.report.build_plots.plot_roc` (a name of this module, so tests can watch it)."""
    return P.plot_roc(*args, **kwargs)


def _roc(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    sc = inp.get("scores")
    if sc is None:
        return []
    # only the models the study fitted: an absent model's risks are all NA (no curve to draw)
    models = [m for m in inp.scope.models if m in sc.columns and sc[m].notna().any()]
    mt = inp.get("metrics")
    out = []
    for split in SETS:
        sub = sc.loc[sc["set"] == split]
        if not len(sub) or not models or sub[P.label_column(sub)].nunique() != 2:
            continue
        auc = {} if mt is None else {str(r.model): float(r.auc) for r in mt.loc[mt["set"] == split].itertuples()}
        p = plot_roc(sub, models, folder / f"roc_{split}.png", split, auc, labels=inp.labels)
        out.append(Panel(p, f"{inp.labels.set_name(split)}{_n(inp, split)}.", split))
    return out


def _calibration(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    out = []
    for split in SETS:
        curve, boot = inp.get(f"calibration_{split}_curve"), inp.get(f"calibration_{split}_bootstrap")
        if curve is None and boot is None:
            continue
        title = f"{inp.labels.model('nomogram')}, {inp.labels.set_name(split).lower()}{_n(inp, split)}"
        p = P.plot_calibration_tables(curve, boot, folder / f"calibration_{split}.png", title)
        extra = (" Lines: apparent and final-model-only bootstrap-corrected calibration (rms::calibrate; the "
                 "feature selection is not repeated, so the correction is too small)." if boot is not None else "")
        out.append(Panel(p, f"{inp.labels.set_name(split)}: observed proportion per risk group (95% CI).{extra}",
                         split))
    return out


def _dca(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    dc = inp.get("decision")
    if dc is None:
        return []
    out = []
    for split in SETS:
        sub = dc.loc[dc["set"] == split]
        if len(sub):
            p = P.plot_dca(sub, folder / f"dca_{split}.png", f"{inp.labels.set_name(split)}{_n(inp, split)}",
                           labels=inp.labels)
            out.append(Panel(p, f"{inp.labels.set_name(split)}.", split))
    return out


def _copy(src: Path, folder: Path, name: str) -> Path:
    dst = folder / name
    shutil.copyfile(src, dst)
    return dst


#: A nomogram axis spanning fewer points than this (of the top axis' 100) is too short to label.
SHORT_AXIS_POINTS = 5.0


def short_axes_note(points: pd.DataFrame | None, labels) -> str:
    """The caption's note on predictors whose axis spans fewer than :data:`SHORT_AXIS_POINTS` points
    (``nomogram_points.csv``: variable, points): rms draws such an axis as a stub with one or two tick
    labels, so the caption names them and their span (user trial: "Platelet count" drawn as "400")."""
    if points is None or not len(points) or not {"variable", "points"} <= set(points.columns):
        return ""
    span = points.groupby("variable", sort=False)["points"].agg(lambda p: float(p.max() - p.min()))
    short = span[span < SHORT_AXIS_POINTS]
    if not len(short):
        return ""
    names = "; ".join(f"{labels.feature(str(v))} ({s:.1f} points)" for v, s in short.items())
    return (f" Axes too short to label fully (each moves the total by fewer than {SHORT_AXIS_POINTS:g} of the "
            f"100 points, so changes the predicted risk little): {names}.")


def _nomogram(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    if not layout.stats.nomogram_png.exists():
        return []
    note = short_axes_note(inp.get("nomogram_points"), inp.labels)
    return [Panel(_copy(layout.stats.nomogram_png, folder, "nomogram.png"), "Training set." + note, "plot")]


def _validation_calibration(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    v, whole = inp.validation, inp.get("validation_calibration")
    if v is None or whole is None:
        return []
    p = P.plot_validation_calibration(whole, inp.get("calibration_train_bootstrap"),
                                      folder / "calibration_validation.png",
                                      f"{inp.labels.model('nomogram')}, training set{_n(inp, 'train')}", v["short"])
    return [Panel(p, f"Whole-pipeline correction: {v['estimator']}.", "plot")]


def _validation_dca(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    v, vd = inp.validation, inp.get("validation_decision")
    if v is None or vd is None or not (vd["model"] == "nomogram").any():
        return []
    dc = inp.get("decision")
    test = None if dc is None else dc.loc[dc["set"] == "test"]
    p = P.plot_validation_dca(vd, test, folder / "dca_validation.png", f"training set{_n(inp, 'train')}",
                              v["short"], inp.labels.model("nomogram"))
    return [Panel(p, f"Correction: {v['estimator']}.", "plot")]


def _stability(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    v, st = inp.validation, inp.get("selection_stability")
    if v is None or st is None:
        return []
    p = P.plot_selection_stability(st, folder / "selection_stability.png",
                                   f"Selection frequency over {v['n_resamples']} resamples ({v['short']})",
                                   labels=inp.labels)
    note = "Deep block: the features kept before the PCA." if inp.scope.deep else "Training set."
    return [Panel(p, note, "plot")]


def _shap(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    from radnomo.report.build_shap import draw_shap

    out = []
    for kind in SHAP_KINDS:
        out += [Panel(p, cap, p.stem.removeprefix("shap_")) for p, cap in draw_shap(inp, layout, kind, folder)]
    return out


def _gradcam(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    g = inp.get("gradcam")
    if g is None or "png" not in g.columns:
        return []
    split = inp.tables.get("split")
    outcome = {} if split is None else dict(zip(split["patient_id"].astype(str), split["label"]))
    out = []
    for r in g.dropna(subset=["png"]).itertuples():
        src = layout.deep.dir / str(r.png)
        if not src.exists():
            continue
        y = outcome.get(str(r.patient_id))
        status = "" if y is None else f"; {inp.labels.level('label', y)}"
        cap = (f"{inp.labels.sequence(str(r.sequence))}, test-set patient {r.patient_id}{status}: slice "
               f"{int(r.slice_index)}, predicted probability {float(r.probability):.3f}.")
        out.append(Panel(_copy(src, folder, f"gradcam_{Path(str(r.png)).name}"), cap, Path(str(r.png)).stem))
    return out


def _history(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[Panel]:
    h = inp.get("deep_history")
    if h is None:
        return []
    p = P.plot_history(h, folder / "deep_history.png", labels=inp.labels)
    return [Panel(p, "Training loss and training-set AUC per epoch, per sequence.", "plot")]


A = ANCHORS

# Long on purpose: the declared list of the report's figures (one entry each, in page order)
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("development", A["nomogram"], "The {nomogram}",
               "Points per predictor; the total points give the predicted probability of the outcome.",
               ("nomogram_coefficients", "stats/nomogram.png"), "nomogram", _nomogram),
    FigureSpec("performance", A["roc"], "ROC curves", "ROC curves of the models; AUCs with their DeLong 95% CIs "
               "are in the performance table.", ("scores", "metrics"), "roc", _roc),
    FigureSpec("performance", A["calibration"], "Calibration of the {nomogram}",
               "Predicted probability versus observed proportion; the dashed line is perfect calibration.",
               ("calibration_train_curve", "calibration_test_curve", "calibration_train_bootstrap"), "calibration",
               _calibration),
    FigureSpec("performance", A["dca"], "Decision curves", "Net benefit of the models against treating all or "
               "no patients, by threshold probability.", ("decision",), "decision", _dca),
    FigureSpec("validation", "fig-calibration-validation", "Calibration of the {nomogram} corrected two ways",
               "Training set: apparent calibration, the final-model-only bootstrap correction (rms::calibrate; "
               "selection not repeated) and the whole-pipeline correction (every selection and fitting step "
               "repeated in each resample).", ("validation_calibration", "calibration_train_bootstrap"),
               "validation", _validation_calibration),
    FigureSpec("validation", "fig-dca-validation", "Decision curve of the {nomogram} corrected for optimism",
               "Opt-in net benefit on the training set: apparent and optimism-corrected by whole-pipeline "
               "resampling; the band is the apparent curve's bootstrap percentile interval shifted by the "
               "optimism (sampling uncertainty of the net benefit, not of the correction); the test set's "
               "curve for comparison.", ("validation_decision", "decision"), "validation", _validation_dca),
    FigureSpec("validation", A["stability"], "Selection stability",
               "How often each of the most often selected features was selected over the resamples of the "
               "internal validation, per block.", ("selection_stability",), "validation", _stability),
    FigureSpec("explainability", A["shap"], "SHAP values of the {scores}",
               "Exact linear SHAP values b_j (x_j − mean_train x_j) of the score models' selected terms (log-odds); "
               "test patients, training background.", ("shap_rad_test", "shap_dl_test", "rad_score_terms",
                                                       "dl_score_terms"), "shap", _shap),
    FigureSpec("explainability", A["gradcam"], "Grad-CAM maps of the deep models",
               "Fine-tuned DenseNet-169 per sequence, test patients: the regions that raised the predicted "
               "probability.", ("gradcam",), "gradcam", _gradcam, needs="deep"),
    FigureSpec("explainability", A["deep_history"], "Training of the deep models",
               "Fine-tuning of the DenseNet-169 per sequence on the training set.", ("deep_history",),
               "deep_history", _history, needs="deep"),
)


def draw_figures(inp: ReportInputs, layout: RunLayout, folder: Path) -> list[tuple[FigureSpec, list[Panel]]]:
    """Every declared figure of the run's study (its blocks) drawn into ``folder``: ``[(spec, panels)]``
    in page order, each spec worded for the run (placeholders filled)."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = [resolved(spec, inp) for spec in FIGURES if inp.scope.has(spec.needs)]
    return [(spec, spec.draw(inp, layout, folder)) for spec in specs]


def results_figures(drawn: list[tuple[FigureSpec, list[Panel]]], report_dir: Path) -> dict[str, list[str]]:
    """``results.json["figures"]``: results key -> PNG paths relative to the report folder."""
    out: dict[str, list[str]] = {}
    for spec, panels in drawn:
        if panels:
            out.setdefault(spec.results_key, []).extend(p.path.relative_to(report_dir).as_posix() for p in panels)
    return out


def set_counts(tables: dict[str, pd.DataFrame]) -> dict[str, tuple[int, int]]:
    """Patients and events per set from the per-patient scores table (``{}`` without one)."""
    sc = tables.get("scores")
    return P.set_counts(sc) if sc is not None and len(sc) else {}
