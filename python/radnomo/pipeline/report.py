"""The study report: one self-contained HTML page, ``results.json`` and every table as CSV.

The HTML embeds its figures as base64 PNG data URIs and its CSS inline; it
loads nothing from the network. Every table in the page is rendered from the
same DataFrame that is written to ``tables/<name>.csv`` and to
``results.json["tables"][<name>]`` (records), so the three always agree; HTML
numbers are shown to 4 significant digits.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radnomo.pipeline.study_adapter import MODEL_LABELS

#: Per-feature tables (thousands of rows: PCA rotation, Mann-Whitney U of every feature) are
#: written as CSV only, not into results.json or the page.
CSV_ONLY_SUFFIXES = ("_rotation", "_mwu")

# Sections of the report: (title, table-name candidates, explanation).
TABLE_SECTIONS = [
    ("Table 1. Baseline characteristics by split", ["table1", "baseline"],
     "Training vs test set; p-values compare the two sets (comparability of the split)."),
    ("Table 1 (cont.). Baseline characteristics by outcome, training set", ["table1_train_by_outcome"],
     "Patients with vs without the outcome, training set; p-values compare the two groups."),
    ("Table 1 (cont.). Baseline characteristics by outcome, test set", ["table1_test_by_outcome"],
     "Patients with vs without the outcome, test set; p-values compare the two groups."),
    ("Table 2. Univariable logistic regression (clinical variables)", ["clinical_univariable", "univariable"],
     "Odds ratios with Wald 95% CIs, training set."),
    ("Table 2 (cont.). Multivariable clinical model", ["clinical_multivariable", "multivariable"],
     "Variables with univariable p below stats.clinical_alpha; training set."),
    ("Model fits", ["fits"],
     "One row per logistic model: (quasi-)complete separation detected, whether plain maximum likelihood "
     "converged, the method used (ml; firth: Firth's bias-reduced refit; lasso: the LASSO linear predictor) "
     "and what was done (stats.separation)."),
    ("Table 3. Performance of the clinical model, Rad score, DL score and nomogram", ["metrics"],
     "AUC with DeLong 95% CI; the cut-off (Youden) is chosen on the training set and reused on the test set."),
    ("DeLong comparisons of AUCs", ["delong"], "Paired DeLong tests between the models, per set."),
    ("DeLong p-values, training set", ["delong_matrix_train"], "Two-sided p-values of the paired DeLong tests."),
    ("DeLong p-values, test set", ["delong_matrix_test"], "Two-sided p-values of the paired DeLong tests."),
    ("Features surviving each selection step", ["steps", "selection_steps"],
     "Counts after Mann–Whitney U, correlation pruning, PCA and LASSO (training set)."),
]


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "NA"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def table_html(df: pd.DataFrame, name: str, max_rows: int = 200) -> str:
    """An HTML table with ``id="t-<name>"``; numbers to 4 significant digits."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = []
    for rec in df.head(max_rows).itertuples(index=False):
        rows.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in rec) + "</tr>")
    more = f"<p class='note'>{len(df) - max_rows} more rows in tables/{name}.csv</p>" if len(df) > max_rows else ""
    return (f"<div class='tw'><table id='t-{html.escape(name)}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>{more}")


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe records (NaN/inf -> null)."""
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (np.floating, float)):
                v = float(v) if math.isfinite(float(v)) else None
            elif isinstance(v, np.bool_):
                v = bool(v)
            clean[str(k)] = v
        out.append(clean)
    return out


def img_html(path: Path, caption: str, width: int | None = None) -> str:
    """A figure embedded as a base64 data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    style = f" style='max-width:{width}px'" if width else ""
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'{style}>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def find(tables: dict[str, pd.DataFrame], candidates) -> str | None:
    """The first table whose name equals, then ends with, one of ``candidates``."""
    for c in candidates:
        if c in tables:
            return c
    for c in candidates:
        for n in tables:
            if n.endswith(c):
                return n
    return None


#: The validate stage's tables, in the order the report shows them.
VALIDATION_TABLE_ORDER = ("validation_summary", "validation_performance", "validation_calibration",
                          "selection_stability", "selection_counts", "selection_jaccard", "validation_resamples",
                          "validation_timing")

#: Colours of the feature blocks (selection-stability figure).
BLOCK_COLOURS = {"radiomics": "#2e86c1", "deep": "#c0392b", "clinical": "#27ae60"}

#: Features per block in the selection-stability figure.
STABILITY_TOP = {"radiomics": 15, "deep": 10, "clinical": 10}

BOOTSTRAP_CAVEAT = (
    "The Efron-Gong optimism bootstrap (validation.method: boot; what rms::validate and rms::calibrate do) is "
    "known to under-correct when the predictors were selected from many candidates (p >> n, as here): each "
    "bootstrap resample holds about 63% of the original patients, so a model that memorised its resample also "
    "looks good on the original data. Repeated cross-validation (the default) and .632+ do not share this bias "
    "to the same degree; the final-model-only calibration curve (rms::calibrate on the nomogram, which treats "
    "the selected scores as fixed predictors) understates the optimism for the same reason.")


# ------------------------------------------------------------------ plots ---

def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _split_col(df: pd.DataFrame) -> str | None:
    return next((c for c in ("split", "set", "dataset") if c in df.columns), None)


def _label_col(df: pd.DataFrame) -> str:
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
    sc = _split_col(scores)
    y = _label_col(scores)
    groups = scores.groupby(sc, sort=False) if sc else [("all", scores)]
    return {str(k): (int(len(g)), int(g[y].sum())) for k, g in groups}


def plot_roc(scores: pd.DataFrame, models: list[str], path: Path, split: str, auc: dict[str, float]) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.6, 5.2))
    y = scores[_label_col(scores)].to_numpy(int)
    for m in models:
        fpr, tpr = roc_points(y, scores[m].to_numpy(float))
        lab = MODEL_LABELS.get(m, m) + (f" (AUC {auc[m]:.3f})" if m in auc else "")
        ax.plot(fpr, tpr, lw=1.8, label=lab)
    ax.plot([0, 1], [0, 1], ls="--", color="0.6", lw=0.8)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("Sensitivity")
    ax.set_title(f"ROC curves, {split} set (n = {len(y)}, events = {int(y.sum())})")
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
        ax.plot(boot.predicted, boot.bias_corrected, color="#c0392b", lw=1.8, label="Bias-corrected (bootstrap)")
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


def plot_selection_stability(stability: pd.DataFrame, path: Path, title: str) -> Path:
    """Horizontal bars: selection frequency of the top features per block, coloured by block."""
    plt = _plt()
    top = stability_top(stability)
    fig, ax = plt.subplots(figsize=(7.2, max(2.5, 0.24 * len(top) + 1.2)))
    ypos = np.arange(len(top))[::-1]
    ax.barh(ypos, top.frequency, color=[BLOCK_COLOURS.get(b, "0.5") for b in top.block])
    ax.set_yticks(ypos)
    ax.set_yticklabels([str(f) if len(str(f)) <= 48 else str(f)[:45] + "..." for f in top.feature], fontsize=6.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("Fraction of resamples in which the feature was selected")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=c, label=b) for b, c in BLOCK_COLOURS.items() if b in set(top.block)],
              fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_dca(dc: pd.DataFrame, path: Path, title: str) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    ymax = 0.05
    for m, sub in dc.groupby("model", sort=False):
        nb = sub.net_benefit.to_numpy(float)
        ymax = max(ymax, np.nanmax(nb) if np.isfinite(nb).any() else 0)
        style = dict(color="0.5", ls="--") if m == "all" else dict(color="k", lw=0.8) if m == "none" else {}
        lab = {"all": "Treat all", "none": "Treat none"}.get(m, MODEL_LABELS.get(m, m))
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


# ----------------------------------------------------------------- report ---

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;color:#222;
line-height:1.45;padding:0 1em} h1{font-size:1.6em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0} th,td{border:1px solid #ccc;padding:.2em .5em;
text-align:right} th{background:#f3f3f3} td:first-child,th:first-child{text-align:left} .tw{overflow-x:auto}
figure{display:inline-block;margin:.5em;vertical-align:top} img{max-width:520px;border:1px solid #eee}
figcaption{font-size:.85em;color:#555;max-width:520px} .note{color:#666;font-size:.9em}
.warn{background:#fff6e0;border-left:4px solid #e6a700;padding:.4em .8em} pre{background:#f7f7f7;padding:.6em;
overflow-x:auto;font-size:.8em}
"""


def delong_matrix(delong: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """DeLong p-values as a model x model matrix per set (symmetric; diagonal empty)."""
    out = {}
    sc = _split_col(delong)
    groups = delong.groupby(sc, sort=False) if sc else [("all", delong)]
    for split, g in groups:
        models = list(dict.fromkeys([*g.model_1, *g.model_2]))
        m = pd.DataFrame(np.nan, index=models, columns=models)
        for r in g.itertuples():
            m.loc[r.model_1, r.model_2] = m.loc[r.model_2, r.model_1] = float(r.p)
        m.index.name = "model"
        out[f"delong_matrix_{split}"] = m.reset_index()
    return out


def collect_tables(ctx) -> dict[str, pd.DataFrame]:
    """Every table of the run: the study's, the split's, SHAP's, the deep training history, Grad-CAM."""
    t: dict[str, pd.DataFrame] = {}
    sdir = ctx.rundir.root / "stats" / "tables"
    if sdir.exists():
        for p in sorted(sdir.glob("*.csv")):
            t[p.stem] = pd.read_csv(p)
    if "fits" in t and "note" in t["fits"].columns:  # an empty note is "" (nothing happened), not NA
        t["fits"]["note"] = ["" if pd.isna(v) else str(v) for v in t["fits"]["note"]]
    if "delong" in t and {"model_1", "model_2", "p"} <= set(t["delong"].columns):
        t.update(delong_matrix(t["delong"]))
    vdir = ctx.rundir.root / "validate"
    if "validate" in ctx.outcomes and vdir.exists():
        for name in VALIDATION_TABLE_ORDER:
            p = vdir / f"{name}.csv"
            if p.exists():
                t[name] = pd.read_csv(p)
    t["split"] = pd.read_csv(ctx.path("split", "split.csv"), dtype={"patient_id": str})
    ex = ctx.path("split", "excluded.csv")
    if ex.exists():
        e = pd.read_csv(ex, dtype={"patient_id": str})
        if len(e):
            t["excluded"] = e
    for kind in ("rad", "dl"):
        p = ctx.path("stats", f"shap_{kind}_coefficients.csv")
        if p.exists():
            t[f"{kind}_score_terms"] = pd.read_csv(p)
        p = ctx.path("shap", f"shap_{kind}_test.csv")
        if p.exists():
            t[f"shap_{kind}_test"] = pd.read_csv(p, dtype={"patient_id": str})
    if ctx.config.deep.enabled:
        t["deep_history"] = pd.read_csv(ctx.path("deep", "history.csv"))
        g = pd.read_csv(ctx.path("deep", "gradcam.csv"), dtype={"patient_id": str})
        if len(g):
            t["gradcam"] = g
    return t


def run_record(ctx) -> dict[str, Any]:
    """Software versions, seeds, configuration and its deviations, input hashes, counts, warnings, timings."""
    from radnomo.pipeline.config import config_diff
    from radnomo.pipeline.stages import portable_config
    from radnomo.runtime import software_versions

    cfg = ctx.config
    raw = portable_config(cfg)  # no absolute machine paths in the report
    versions = software_versions()
    try:
        from radnomo.stats.session import r_package_versions, r_version

        versions["R"] = r_version()
        versions.update({f"R:{k}": v for k, v in r_package_versions().items()})
    except Exception as exc:  # R absent: recorded, not fatal for the record
        versions["R"] = f"unavailable ({exc})"
    runmeta = json.loads((ctx.rundir.root / "run.json").read_text(encoding="utf-8")) if (ctx.rundir.root / "run.json").exists() else {}
    ref = runmeta.get("reference_config")
    if ref is None:
        from radnomo.pipeline.config import load_config, study_config_path

        p = study_config_path()
        ref = load_config(p).raw if p else None
    deviations = config_diff(raw, ref) if ref is not None else []
    stages, warns = {}, []
    for name, o in ctx.outcomes.items():
        rec = ctx.rundir.read_record(name) or {}
        stages[name] = {"key": o.key, "skipped_this_run": o.skipped, "seconds": rec.get("seconds"),
                        "peak_rss_mb": rec.get("peak_rss_mb"), "finished": rec.get("finished")}
        warns += [f"[{name}] {w}" for w in (rec.get("info", {}) or {}).get("warnings", [])]
    split_rec = ctx.rundir.read_record("split") or {}
    pre_rec = ctx.rundir.read_record("preprocess") or {}
    seeds = {"split": cfg.split.seed, "preprocess": cfg.preprocess.settings.seed,
             "deep_train": cfg.deep.train.seed, "stats": cfg.stats.seed}
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
        "deep_features": ((ctx.rundir.read_record("deep") or {}).get("info", {}) or {}).get("compute")
        if cfg.deep.enabled else None,
        "stages": stages,
        "warnings": warns,
        "notes": runmeta.get("notes", []),
        "oracle": runmeta.get("oracle"),
    }


def _fmt3(v) -> str:
    return "NA" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{float(v):.3f}"


def validation_info(ctx) -> dict | None:
    """What the validate stage did (``None`` when it did not run): method, estimator in words, resamples."""
    o = ctx.outcomes.get("validate")
    if o is None:
        return None
    info = o.info or {}
    v = ctx.config.validation
    short = {"cv": f"{v.folds}-fold CV x {v.repeats}", "boot": f"optimism bootstrap, B = {v.B}",
             "632plus": f".632+ bootstrap, B = {v.B}"}[v.method]
    return {"method": info.get("method", v.method), "estimator": info.get("estimator", v.describe()),
            "short": short, "n_resamples": info.get("n_resamples", v.n_resamples),
            "settings": {k: val for k, val in ctx.config.section_dict("validation").items() if k != "workers"},
            "resamples": info.get("resamples", {})}


def corrected_auc(tables: dict[str, pd.DataFrame], model: str) -> dict | None:
    """The validation's AUC row of ``model`` (apparent, corrected, lower, upper) or ``None``."""
    perf = tables.get("validation_summary")
    if perf is None:
        perf = tables.get("validation_performance")
    if perf is None or not len(perf):
        return None
    row = perf.loc[(perf.model == model) & (perf.metric == "auc")]
    if not len(row) or not np.isfinite(float(row.corrected.iloc[0])):
        return None
    r = row.iloc[0]
    return {k: (float(r[k]) if pd.notna(r[k]) else None) for k in ("apparent", "corrected", "lower", "upper")}


def validation_html(tables: dict[str, pd.DataFrame], vinfo: dict | None, record: dict, figs: dict,
                    test_n: str) -> tuple[list[str], set[str]]:
    """The report's internal-validation section and the tables it shows."""
    out = ["<h2 id='validation'>Internal validation of the whole modelling process</h2>"]
    used: set[str] = set()
    if vinfo is None:
        out.append("<p class='warn'>Not run (validation.enabled: false). The apparent (training-set) performance "
                   "of a model whose predictors were selected from thousands of candidates is optimistic.</p>")
        return out, used
    out.append(
        "<p class='note'>Estimator: <b>" + html.escape(vinfo["estimator"]) + "</b> (R validate_study, training "
        "set only). Every resample refits the entire chain of the statistics stage with its settings and seed "
        "— Mann–Whitney U filter, correlation pruning, z-score, PCA of the deep block, LASSO, score refits, "
        "univariable and multivariable clinical selection, the nomogram and the separation policy — so the "
        "corrected numbers include the optimism of the feature selection. <i>apparent</i>: the model fitted on "
        "the whole training set, judged on it; <i>corrected</i> = apparent − optimism"
        + (" (cross-validation: AUC averaged over the held-out folds, the other metrics from each repeat's pooled "
           "out-of-fold risks)" if vinfo["method"] == "cv" else "")
        + "; <i>lower</i>–<i>upper</i>: 95% CI of the corrected AUC (Hanley–McNeil standard error of an AUC of "
        "the corrected size with this training set's numbers of events and non-events; approximate: it ignores "
        "the uncertainty of the optimism estimate itself); <i>test</i>: the frozen model on the test "
        f"set{html.escape(test_n)} (the same metric definitions). <i>citl</i>: calibration-in-the-large, the "
        "intercept of glm(y ~ 1 + offset(logit(risk))) (ideal 0); <i>recalibration_intercept</i> and "
        "<i>slope</i>: the logistic recalibration model glm(y ~ logit(risk)) (what rms::validate reports as "
        "Intercept and Slope; ideal 0 and 1; NA where the risks separate the outcomes); <i>emax</i>, "
        "<i>e90</i>: maximum and 90th percentile of |risk − lowess calibration curve|.</p>")
    out.append(f"<p class='note'>{html.escape(BOOTSTRAP_CAVEAT)}</p>")
    devs = [d for d in record.get("deviations_from_study_config", [])
            if d["setting"].startswith("validation.") and d["setting"] != "validation.workers"]
    if devs:
        out.append("<p class='warn'>This run's validation setting differs from the study's: "
                   + "; ".join(f"{html.escape(d['setting'])} {html.escape(json.dumps(d['this run']))} "
                               f"(study: {html.escape(json.dumps(d['study']))})" for d in devs)
                   + f" — {vinfo['n_resamples']} refits, so its corrected numbers carry more Monte-Carlo "
                   "noise than the study's.</p>")
    res = vinfo.get("resamples") or {}
    if res.get("failed"):
        out.append(f"<p class='warn'>{res['failed']} of {res.get('resamples')} resamples failed and are left out "
                   "of the estimates (see validation_resamples).</p>")
    name = "validation_summary" if "validation_summary" in tables else "validation_performance"
    used.add("validation_performance")
    if name in tables and len(tables[name]):
        out.append("<h3>Apparent | optimism-corrected (95% CI) | test, per model and metric</h3>")
        out.append(table_html(tables[name], name))
        used.add(name)
        used.add("validation_performance")
    else:
        out.append("<p class='warn'>No model was fitted on the training set: nothing to validate.</p>")
    out += [img_html(p, c) for p, c in figs.get("validation", [])]
    for n, title in (("selection_jaccard", "Selection stability: mean pairwise Jaccard index of the selected "
                                           "sets, per block"),
                     ("validation_resamples", "Resamples: succeeded, failed, separated (policy applied), without "
                                              "a model"),
                     ("validation_timing", "Mean seconds per refit, by step")):
        if n in tables:
            out.append(f"<h3>{html.escape(title)}</h3>" + table_html(tables[n], n))
            used.add(n)
    notes = []
    for n in ("validation_calibration", "selection_stability", "selection_counts"):
        if n in tables:
            used.add(n)
            notes.append(f"{n}.csv ({len(tables[n])} rows)")
    if notes:
        out.append("<p class='note'>Also in tables/: " + ", ".join(html.escape(x) for x in notes)
                   + " (the corrected calibration curve, every feature's selection frequency, the number of "
                   "terms selected per resample).</p>")
    return out, used


def build_report(ctx, out: Path) -> dict:
    """Write ``report.html``, ``results.json``, ``tables/*.csv`` and ``figures/*.png`` into ``out``."""
    from radnomo.io.atomic import write_text_atomic
    from radnomo.pipeline.stages import write_csv

    tables = collect_tables(ctx)
    record = run_record(ctx)
    (out / "tables").mkdir(exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    for name, df in tables.items():
        write_csv(df, out / "tables" / f"{name}.csv")
    figs: dict[str, list[tuple[Path, str]]] = {}

    # ROC per split, from the per-patient scores
    sname = find(tables, ["scores"])
    mname = find(tables, ["metrics"])
    if sname:
        sc = tables[sname]
        sc_split = _split_col(sc)
        # only the models the study fitted: an absent model's risks are all NA (no curve to draw)
        models = [m for m in MODEL_LABELS if m in sc.columns and sc[m].notna().any()]
        for split in ("train", "test"):
            sub = sc if sc_split is None else sc.loc[sc[sc_split] == split]
            if len(sub) and models and sub[_label_col(sub)].nunique() == 2:
                auc = {}
                if mname:
                    mt = tables[mname]
                    ms = _split_col(mt)
                    for r in mt.itertuples():
                        if ms is None or getattr(r, ms) == split:
                            auc[getattr(r, "model")] = float(getattr(r, "auc"))
                p = plot_roc(sub, models, out / "figures" / f"roc_{split}.png", split, auc)
                figs.setdefault("roc", []).append((p, f"ROC curves, {split} set"))
    # "n = .., events = .." of each set, for the figure titles
    set_n = {k: f" (n = {n}, events = {e})" for k, (n, e) in set_counts(tables[sname]).items()} if sname else {}
    # calibration per split
    for split in ("train", "test"):
        curve = next((tables[n] for n in tables if "calibration" in n and split in n and "curve" in n), None)
        boot = next((tables[n] for n in tables if "calibration" in n and split in n and "bootstrap" in n), None)
        if curve is None:
            curve = next((tables[n] for n in tables if n.startswith("calibration") and split in n
                          and {"predicted", "observed"} <= set(tables[n].columns)), None)
        if curve is not None or boot is not None:
            extra = " (bootstrap bias-corrected)" if boot is not None else ""
            p = plot_calibration_tables(curve, boot, out / "figures" / f"calibration_{split}.png",
                                        f"Nomogram calibration, {split} set{set_n.get(split, '')}" + ("\n" + extra.strip() if extra else ""))
            figs.setdefault("calibration", []).append((p, f"Calibration of the nomogram, {split} set{extra}"))
    # decision curves per split
    dname = find(tables, ["decision", "decision_curve"])
    if dname:
        dc = tables[dname]
        ds = _split_col(dc)
        for split in ("train", "test"):
            sub = dc if ds is None else dc.loc[dc[ds] == split]
            if len(sub) and {"model", "threshold", "net_benefit"} <= set(sub.columns):
                p = plot_dca(sub, out / "figures" / f"dca_{split}.png", f"Decision curves, {split} set{set_n.get(split, '')}")
                figs.setdefault("decision", []).append((p, f"Decision curves, {split} set"))

    # whole-pipeline validation: corrected calibration beside the final-model-only one; selection stability
    vinfo = validation_info(ctx)
    if vinfo is not None and "validation_calibration" in tables and len(tables["validation_calibration"]):
        final_only = next((tables[n] for n in tables if n.startswith("calibration") and "train" in n
                           and "bootstrap" in n), None)
        p = plot_validation_calibration(
            tables["validation_calibration"], final_only, out / "figures" / "calibration_validation.png",
            f"Nomogram calibration, training set{set_n.get('train', '')}:\noptimism-corrected two ways",
            vinfo["short"])
        figs.setdefault("validation", []).append(
            (p, "Calibration of the nomogram on the training set, corrected by resampling the whole pipeline "
                f"({vinfo['short']}) and, for comparison, by the final-model-only bootstrap (rms::calibrate)"))
    if vinfo is not None and "selection_stability" in tables and len(tables["selection_stability"]):
        p = plot_selection_stability(tables["selection_stability"], out / "figures" / "selection_stability.png",
                                     f"Selection stability over {vinfo['n_resamples']} resamples "
                                     f"({vinfo['short']})")
        figs.setdefault("validation", []).append(
            (p, "Selection frequency of the most often selected features per block (deep block: the features "
                "kept before the PCA)"))

    body = [f"<h1>{html.escape(ctx.config.report.title)}</h1>"]
    counts = record.get("patients") or {}
    body.append("<p>" + ", ".join(f"{k}: {v.get('n')} patients ({v.get('events')} events)"
                                  for k, v in counts.items()) + "</p>")
    if record["deviations_from_study_config"]:
        body.append("<div class='warn'><b>This run differs from the study's configuration</b> "
                    "(pipelines/hcc_recurrence/config.yaml):" + table_html(pd.DataFrame(
                        [{k: json.dumps(v) if not isinstance(v, str) else v for k, v in r.items()}
                         for r in record["deviations_from_study_config"]]), "deviations", 500) + "</div>")
    if record["warnings"]:
        body.append(f"<div class='warn' id='warnings'><b>{len(record['warnings'])} warning(s) in this run</b> "
                    "(excluded patients, failed cases, removed features, fallbacks, separation policies applied):<ul>"
                    + "".join(f"<li>{html.escape(w)}</li>" for w in record["warnings"]) + "</ul></div>")
    oracle = record.get("oracle")
    if oracle and mname:
        mt = tables[mname]
        ms = _split_col(mt)
        row = mt.loc[(mt.model == "nomogram") & ((mt[ms] == "test") if ms else True)]
        if len(row):
            corrected = ""
            cv = corrected_auc(tables, "nomogram")
            if cv is not None and vinfo is not None:
                corrected = (f"; optimism-corrected training AUC {cv['corrected']:.3f} "
                             f"(95% CI {_fmt3(cv['lower'])}–{_fmt3(cv['upper'])}; {vinfo['short']}, "
                             f"apparent {cv['apparent']:.3f})")
            body.append(f"<p class='warn'>Nomogram test AUC {float(row.auc.iloc[0]):.3f} "
                        f"(DeLong 95% CI {float(row.auc_lower.iloc[0]):.3f}–{float(row.auc_upper.iloc[0]):.3f}) "
                        f"vs the synthetic cohort's oracle AUC {float(oracle['oracle_auc']):.3f} "
                        f"(the true risk's AUC on this cohort; expected {float(oracle.get('expected_oracle_auc', float('nan'))):.3f})"
                        f"{corrected}.</p>")
    used = set()
    for title, cands, expl in TABLE_SECTIONS:
        n = find(tables, cands)
        body.append(f"<h2>{html.escape(title)}</h2><p class='note'>{html.escape(expl)}</p>")
        if n:
            used.add(n)
            body.append(table_html(tables[n], n))
        else:
            body.append("<p class='warn'>Not available in this run.</p>")
    vhtml, vused = validation_html(tables, vinfo, record, figs, set_n.get("test", ""))
    body += vhtml
    used |= vused
    body.append("<h2>Selected features and their weights</h2>")
    for n in [n for n in tables if n.endswith("_score_terms") or ("coefficients" in n and n not in used)]:
        used.add(n)
        body.append(f"<h3>{html.escape(n)}</h3>" + table_html(tables[n], n))
    for key, title in (("roc", "ROC curves"), ("calibration", "Calibration curves"), ("decision", "Decision curves")):
        body.append(f"<h2>{title}</h2>")
        body += [img_html(p, c) for p, c in figs.get(key, [])] or ["<p class='warn'>Not available.</p>"]
    body.append("<h2>Nomogram</h2>")
    nomo = ctx.path("stats", "nomogram.png")
    body.append(img_html(nomo, "DL-Rad-Clinical nomogram (training set)", 1000) if nomo.exists()
                else "<p class='warn'>Not available.</p>")
    body.append("<h2>SHAP</h2><p class='note'>Exact linear SHAP values b_j (x_j − mean_train x_j) of the Rad and "
                "DL score logistic models on their selected terms (log-odds); test patients, training background.</p>")
    shap_dir = ctx.rundir.root / "shap"
    shap_pngs = sorted(shap_dir.glob("*.png")) if shap_dir.exists() else []
    body += [img_html(p, p.stem.replace("_", " ")) for p in shap_pngs] or ["<p class='warn'>Not available.</p>"]
    if ctx.config.deep.enabled:
        body.append("<h2>Grad-CAM examples</h2><p class='note'>Fine-tuned DenseNet-169 per sequence, test patients; "
                    "title gives the slice and the model's probability.</p>")
        g = tables.get("gradcam")
        pngs = [] if g is None or "png" not in g.columns else [ctx.rundir.root / "deep" / p for p in g.png.dropna()]
        body += [img_html(p, p.stem, 300) for p in pngs if p.exists()] or ["<p class='warn'>Not available.</p>"]
    body.append("<h2>Run record</h2>")
    for k in ("versions", "seeds", "input_hashes", "patients", "deep_features", "stages"):
        body.append(f"<h3>{k.replace('_', ' ')}</h3><pre>{html.escape(json.dumps(record[k], indent=1, default=str))}</pre>")
    body.append("<h3>warnings</h3>" + (f"<p>{len(record['warnings'])}, listed at the top of the report.</p>"
                                       if record["warnings"] else "<p>None.</p>"))
    if record["notes"]:
        body.append("<h3>notes</h3><ul>" + "".join(f"<li>{html.escape(str(w))}</li>" for w in record["notes"]) + "</ul>")
    body.append("<h3>configuration</h3><pre>" + html.escape(json.dumps(record["configuration"], indent=1, default=str))
                + "</pre>")
    body.append("<h2>Other tables</h2>")
    for n in tables:
        if n.endswith(CSV_ONLY_SUFFIXES):
            body.append(f"<p class='note'>{html.escape(n)}: {tables[n].shape[0]} rows x {tables[n].shape[1]} "
                        f"columns, in tables/{html.escape(n)}.csv</p>")
        elif n not in used and n not in ("split",):
            body.append(f"<h3>{html.escape(n)}</h3>" + table_html(tables[n], n, 50))
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(ctx.config.report.title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(body) + "</body></html>")
    write_text_atomic(out / "report.html", page)
    big = sorted(n for n in tables if n.endswith(CSV_ONLY_SUFFIXES))
    results = {"title": ctx.config.report.title,
               "tables": {n: records(df) for n, df in tables.items() if n not in big},
               "tables_csv_only": big,
               "figures": {k: [str(p.relative_to(out)) for p, _ in v] for k, v in figs.items()},
               "validation": vinfo,
               "run_record": record}
    write_text_atomic(out / "results.json", json.dumps(results, indent=1, default=str, allow_nan=False))
    return {"tables": sorted(tables), "figures": {k: len(v) for k, v in figs.items()},
            "warnings": []}
