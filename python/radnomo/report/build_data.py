"""The report's data: every table of a run, the run record, what the validation did.

Everything is read through the run's :class:`~radnomo.pipeline.layout.RunLayout` and the stages'
records (``stage.json``); nothing here draws or renders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from radnomo.pipeline.config import StudyConfig, config_diff, load_config, study_config_path
from radnomo.pipeline.layout import SHAP_KINDS, RunLayout
from radnomo.pipeline.rundir import RunDirectory, StageOutcome
from radnomo.report.build_plots import split_column

#: Per-feature tables (thousands of rows: PCA rotation, Mann-Whitney U of every feature) are
#: written as CSV only, not into results.json or the page.
CSV_ONLY_SUFFIXES = ("_rotation", "_mwu")


#: The validate stage's tables, in the order the report shows them.
VALIDATION_TABLE_ORDER = ("validation_summary", "validation_performance", "validation_calibration",
                          "validation_decision", "selection_stability", "selection_counts", "selection_jaccard",
                          "validation_resamples", "validation_timing")


def delong_matrix(delong: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """DeLong p-values as a model x model matrix per set (symmetric; diagonal empty)."""
    out = {}
    sc = split_column(delong)
    groups = delong.groupby(sc, sort=False) if sc else [("all", delong)]
    for split, g in groups:
        models = list(dict.fromkeys([*g.model_1, *g.model_2]))
        m = pd.DataFrame(np.nan, index=models, columns=models)
        for r in g.itertuples():
            m.loc[r.model_1, r.model_2] = m.loc[r.model_2, r.model_1] = float(r.p)
        m.index.name = "model"
        out[f"delong_matrix_{split}"] = m.reset_index()
    return out


def collect_tables(layout: RunLayout, config: StudyConfig, stages: Mapping[str, StageOutcome]) -> dict[str, pd.DataFrame]:
    """Every table of the run: the study's, the validation's (when it ran in ``stages``), the split's,
    SHAP's, the deep training history, Grad-CAM."""
    t: dict[str, pd.DataFrame] = {}
    for p in layout.stats.tables():
        t[p.stem] = pd.read_csv(p)
    if "fits" in t and "note" in t["fits"].columns:  # an empty note is "" (nothing happened), not NA
        t["fits"]["note"] = ["" if pd.isna(v) else str(v) for v in t["fits"]["note"]]
    if "delong" in t and {"model_1", "model_2", "p"} <= set(t["delong"].columns):
        t.update(delong_matrix(t["delong"]))
    if "validate" in stages and layout.validate.dir.exists():
        for name in VALIDATION_TABLE_ORDER:
            p = layout.validate.table(name)
            if p.exists():
                t[name] = pd.read_csv(p)
    t["split"] = pd.read_csv(layout.split.split_csv, dtype={"patient_id": str})
    ex = layout.split.excluded_csv
    if ex.exists():
        e = pd.read_csv(ex, dtype={"patient_id": str})
        if len(e):
            t["excluded"] = e
    for kind in SHAP_KINDS:
        p = layout.stats.shap_coefficients(kind)
        if p.exists():
            t[f"{kind}_score_terms"] = pd.read_csv(p)
        p = layout.shap.values(kind)
        if p.exists():
            t[f"shap_{kind}_test"] = pd.read_csv(p, dtype={"patient_id": str})
    if config.deep.enabled:
        t["deep_history"] = pd.read_csv(layout.deep.history_csv)
        g = pd.read_csv(layout.deep.gradcam_csv, dtype={"patient_id": str})
        if len(g):
            t["gradcam"] = g
    return t


def software_record() -> dict[str, Any]:
    """Python's, radnomo's and the libraries' versions, R's and its packages' (R absent: said so)."""
    from radnomo.runtime import software_versions

    versions = software_versions()
    try:
        from radnomo.stats.session import r_package_versions, r_version

        versions["R"] = r_version()
        versions.update({f"R:{k}": v for k, v in r_package_versions().items()})
    except Exception as exc:  # noqa: BLE001 - R absent: recorded, not fatal for the record
        versions["R"] = f"unavailable ({exc})"
    return versions


def run_record(layout: RunLayout, config: StudyConfig, stages: Mapping[str, StageOutcome]) -> dict[str, Any]:
    """Software versions, seeds, configuration and its deviations, input hashes, counts, warnings, timings."""
    cfg = config
    records = RunDirectory(layout.root)
    raw = cfg.portable()  # no absolute machine paths in the report
    versions = software_record()
    runmeta = json.loads(layout.run_json.read_text(encoding="utf-8")) if layout.run_json.exists() else {}
    ref = runmeta.get("reference_config")
    if ref is None:
        p = study_config_path()
        ref = load_config(p).raw if p else None
    # display names (labels:) change no number: not a deviation from the study's methods
    deviations = [d for d in (config_diff(raw, ref) if ref is not None else [])
                  if not str(d.get("setting", "")).startswith("labels.") and d.get("setting") != "labels"]
    timings, warns = {}, []
    for name, o in stages.items():
        rec = records.read_record(name) or {}
        timings[name] = {"key": o.key, "skipped_this_run": o.skipped, "seconds": rec.get("seconds"),
                        "peak_rss_mb": rec.get("peak_rss_mb"), "finished": rec.get("finished")}
        warns += [f"[{name}] {w}" for w in (rec.get("info", {}) or {}).get("warnings", [])]
    split_rec = records.read_record("split") or {}
    pre_rec = records.read_record("preprocess") or {}
    seeds = {"split": cfg.split.seed, "preprocess": cfg.preprocess.settings.seed,
             **({"deep_train": cfg.deep.train.seed} if cfg.deep.enabled else {}), "stats": cfg.stats.seed}
    if (runmeta.get("oracle") or {}).get("cohort_seed") is not None:
        seeds["synthetic_cohort"] = runmeta["oracle"]["cohort_seed"]
    return {
        "versions": versions,
        "seeds": seeds,
        "configuration": raw,
        "deviations_from_study_config": deviations,
        "input_hashes": {"manifest_sha256": split_rec.get("inputs", {}).get("manifest_sha256"),
                         "clinical_sha256": split_rec.get("inputs", {}).get("clinical_sha256"),
                         "images_sha256": pre_rec.get("inputs", {}).get("images")},
        "patients": split_rec.get("info", {}).get("counts"),
        # what determines the deep features (bit-reproducible for the same values of these)
        "deep_features": ((records.read_record("deep") or {}).get("info", {}) or {}).get("compute")
        if cfg.deep.enabled else None,
        "stages": timings,
        "warnings": warns,
        "notes": runmeta.get("notes", []),
        "oracle": runmeta.get("oracle"),
    }


def validation_info(config: StudyConfig, stages: Mapping[str, StageOutcome]) -> dict | None:
    """What the validate stage did (``None`` when it did not run): method, estimator in words, resamples."""
    o = stages.get("validate")
    if o is None:
        return None
    info = o.info or {}
    v = config.validation
    short = {"cv": f"{v.folds}-fold CV x {v.repeats}", "boot": f"optimism bootstrap, B = {v.B}",
             "632plus": f".632+ bootstrap, B = {v.B}"}[v.method]
    return {"method": info.get("method", v.method), "estimator": info.get("estimator", v.describe()),
            "short": short, "n_resamples": info.get("n_resamples", v.n_resamples),
            "settings": {k: val for k, val in config.section_dict("validation").items() if k != "workers"},
            "resamples": info.get("resamples", {})}
