"""The study report: one self-contained HTML page, ``results.json`` and every table as CSV.

:func:`build_report` gathers the run's data (:mod:`radnomo.report.build_data`), draws the figures
(:mod:`radnomo.report.build_plots`) and renders the page (:mod:`radnomo.report.build_html`). Every
table in the page is rendered from the same DataFrame that is written to ``tables/<name>.csv`` and
to ``results.json["tables"][<name>]`` (records), so the three always agree. Its inputs are typed:
the run's :class:`~radnomo.pipeline.layout.RunLayout`, the configuration and the stages' outcomes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from radnomo.io.atomic import write_csv, write_text_atomic
from radnomo.io.jsonio import records
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.layout import ReportFiles, RunLayout
from radnomo.pipeline.rundir import StageOutcome
from radnomo.pipeline.study_adapter import MODEL_LABELS
from radnomo.report.build_data import CSV_ONLY_SUFFIXES, collect_tables, find, run_record, validation_info
from radnomo.report.build_html import Figures, render_page
from radnomo.report.build_plots import (label_column, plot_calibration_tables, plot_dca, plot_roc,
                                        plot_selection_stability, plot_validation_calibration, set_counts,
                                        split_column)

SETS = ("train", "test")


def _roc_figures(tables: dict[str, pd.DataFrame], folder: Path, figs: Figures) -> None:
    """ROC curves per set from the per-patient scores, AUCs from the metrics table."""
    sname, mname = find(tables, ["scores"]), find(tables, ["metrics"])
    if not sname:
        return
    sc = tables[sname]
    sc_split = split_column(sc)
    # only the models the study fitted: an absent model's risks are all NA (no curve to draw)
    models = [m for m in MODEL_LABELS if m in sc.columns and sc[m].notna().any()]
    for split in SETS:
        sub = sc if sc_split is None else sc.loc[sc[sc_split] == split]
        if len(sub) and models and sub[label_column(sub)].nunique() == 2:
            auc = {}
            if mname:
                mt = tables[mname]
                ms = split_column(mt)
                for r in mt.itertuples():
                    if ms is None or getattr(r, ms) == split:
                        auc[getattr(r, "model")] = float(getattr(r, "auc"))
            p = plot_roc(sub, models, folder / f"roc_{split}.png", split, auc)
            figs.setdefault("roc", []).append((p, f"ROC curves, {split} set"))


def _calibration_figures(tables: dict[str, pd.DataFrame], folder: Path, set_n: dict[str, str], figs: Figures) -> None:
    """The nomogram's grouped calibration (and rms' bootstrap-corrected curve) per set."""
    for split in SETS:
        curve = next((tables[n] for n in tables if "calibration" in n and split in n and "curve" in n), None)
        boot = next((tables[n] for n in tables if "calibration" in n and split in n and "bootstrap" in n), None)
        if curve is None:
            curve = next((tables[n] for n in tables if n.startswith("calibration") and split in n
                          and {"predicted", "observed"} <= set(tables[n].columns)), None)
        if curve is not None or boot is not None:
            extra = " (bootstrap bias-corrected)" if boot is not None else ""
            title = f"Nomogram calibration, {split} set{set_n.get(split, '')}" + ("\n" + extra.strip() if extra else "")
            p = plot_calibration_tables(curve, boot, folder / f"calibration_{split}.png", title)
            figs.setdefault("calibration", []).append((p, f"Calibration of the nomogram, {split} set{extra}"))


def _decision_figures(tables: dict[str, pd.DataFrame], folder: Path, set_n: dict[str, str], figs: Figures) -> None:
    dname = find(tables, ["decision", "decision_curve"])
    if not dname:
        return
    dc = tables[dname]
    ds = split_column(dc)
    for split in SETS:
        sub = dc if ds is None else dc.loc[dc[ds] == split]
        if len(sub) and {"model", "threshold", "net_benefit"} <= set(sub.columns):
            p = plot_dca(sub, folder / f"dca_{split}.png", f"Decision curves, {split} set{set_n.get(split, '')}")
            figs.setdefault("decision", []).append((p, f"Decision curves, {split} set"))


def _validation_figures(tables: dict[str, pd.DataFrame], vinfo: dict | None, folder: Path, set_n: dict[str, str],
                        figs: Figures) -> None:
    """Whole-pipeline corrected calibration beside the final-model-only one; selection stability."""
    if vinfo is None:
        return
    if "validation_calibration" in tables and len(tables["validation_calibration"]):
        final_only = next((tables[n] for n in tables if n.startswith("calibration") and "train" in n
                           and "bootstrap" in n), None)
        p = plot_validation_calibration(
            tables["validation_calibration"], final_only, folder / "calibration_validation.png",
            f"Nomogram calibration, training set{set_n.get('train', '')}:\noptimism-corrected two ways",
            vinfo["short"])
        figs.setdefault("validation", []).append(
            (p, "Calibration of the nomogram on the training set, corrected by resampling the whole pipeline "
                f"({vinfo['short']}) and, for comparison, by the final-model-only bootstrap (rms::calibrate)"))
    if "selection_stability" in tables and len(tables["selection_stability"]):
        p = plot_selection_stability(tables["selection_stability"], folder / "selection_stability.png",
                                     f"Selection stability over {vinfo['n_resamples']} resamples "
                                     f"({vinfo['short']})")
        figs.setdefault("validation", []).append(
            (p, "Selection frequency of the most often selected features per block (deep block: the features "
                "kept before the PCA)"))


def make_figures(tables: dict[str, pd.DataFrame], vinfo: dict | None, folder: Path) -> tuple[Figures, dict[str, str]]:
    """Every figure of the report into ``folder``: ``({section: [(png, caption)]}, {set: " (n = .., events = ..)"})``."""
    figs: Figures = {}
    _roc_figures(tables, folder, figs)
    sname = find(tables, ["scores"])
    # "n = .., events = .." of each set, for the figure titles
    set_n = {k: f" (n = {n}, events = {e})" for k, (n, e) in set_counts(tables[sname]).items()} if sname else {}
    _calibration_figures(tables, folder, set_n, figs)
    _decision_figures(tables, folder, set_n, figs)
    _validation_figures(tables, vinfo, folder, set_n, figs)
    return figs, set_n


def build_report(layout: RunLayout, config: StudyConfig, stages: Mapping[str, StageOutcome],
                 out: ReportFiles | None = None) -> dict:
    """Write ``report.html``, ``results.json``, ``tables/*.csv`` and ``figures/*.png`` into ``out``
    (default: the run's ``report/`` folder).

    ``stages``: the outcomes of this run's stages so far (their keys, whether they were skipped;
    the validation section appears when ``validate`` is among them). Returns the report stage's
    summary (tables, figure counts).
    """
    out = layout.report if out is None else out
    tables = collect_tables(layout, config, stages)
    record = run_record(layout, config, stages)
    vinfo = validation_info(config, stages)
    out.tables_dir.mkdir(parents=True, exist_ok=True)
    out.figures_dir.mkdir(exist_ok=True)
    for name, df in tables.items():
        write_csv(df, out.tables_dir / f"{name}.csv")
    figs, set_n = make_figures(tables, vinfo, out.figures_dir)
    write_text_atomic(out.html, render_page(layout, config, tables, record, vinfo, figs, set_n))
    big = sorted(n for n in tables if n.endswith(CSV_ONLY_SUFFIXES))
    results = {"title": config.report.title,
               "tables": {n: records(df) for n, df in tables.items() if n not in big},
               "tables_csv_only": big,
               "figures": {k: [str(p.relative_to(out.dir)) for p, _ in v] for k, v in figs.items()},
               "validation": vinfo,
               "run_record": record}
    write_text_atomic(out.results_json, json.dumps(results, indent=1, default=str, allow_nan=False))
    return {"tables": sorted(tables), "figures": {k: len(v) for k, v in figs.items()}, "warnings": []}
