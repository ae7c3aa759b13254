"""The report's HTML: tables, embedded figures, the validation section and the page.

The page embeds its figures as base64 PNG data URIs and its CSS inline; it loads nothing from the
network. Numbers are shown to 4 significant digits.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.layout import RunLayout
from radnomo.report.build_data import CSV_ONLY_SUFFIXES, corrected_auc, find
from radnomo.report.build_plots import split_column

#: The report's figures: section ("roc", "calibration", "decision", "validation") -> [(png, caption)].
Figures = dict[str, list[tuple[Path, str]]]

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


def img_html(path: Path, caption: str, width: int | None = None) -> str:
    """A figure embedded as a base64 data URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    style = f" style='max-width:{width}px'" if width else ""
    return (f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(caption)}'{style}>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


BOOTSTRAP_CAVEAT = (
    "The Efron-Gong optimism bootstrap (validation.method: boot; what rms::validate and rms::calibrate do) is "
    "known to under-correct when the predictors were selected from many candidates (p >> n, as here): each "
    "bootstrap resample holds about 63% of the original patients, so a model that memorised its resample also "
    "looks good on the original data. Repeated cross-validation (the default) and .632+ do not share this bias "
    "to the same degree; the final-model-only calibration curve (rms::calibrate on the nomogram, which treats "
    "the selected scores as fixed predictors) understates the optimism for the same reason.")


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


def _fmt3(v) -> str:
    return "NA" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{float(v):.3f}"


def _validation_note(vinfo: dict, test_n: str) -> str:
    """What the validation's columns mean, for the estimator used."""
    return (
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


def validation_html(tables: dict[str, pd.DataFrame], vinfo: dict | None, record: dict, figs: dict,
                    test_n: str) -> tuple[list[str], set[str]]:
    """The report's internal-validation section and the tables it shows."""
    out = ["<h2 id='validation'>Internal validation of the whole modelling process</h2>"]
    used: set[str] = set()
    if vinfo is None:
        out.append("<p class='warn'>Not run (validation.enabled: false). The apparent (training-set) performance "
                   "of a model whose predictors were selected from thousands of candidates is optimistic.</p>")
        return out, used
    out.append(_validation_note(vinfo, test_n))
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




def _top(tables: dict[str, pd.DataFrame], record: dict, vinfo: dict | None) -> list[str]:
    """Patients per set, deviations from the study's configuration, warnings, the oracle line."""
    body = []
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
    mname = find(tables, ["metrics"])
    if oracle and mname:
        body += _oracle_line(tables[mname], tables, oracle, vinfo)
    return body


def _oracle_line(mt: pd.DataFrame, tables: dict[str, pd.DataFrame], oracle: dict, vinfo: dict | None) -> list[str]:
    """The nomogram's test AUC beside the synthetic cohort's oracle AUC (and the corrected training AUC)."""
    ms = split_column(mt)
    row = mt.loc[(mt.model == "nomogram") & ((mt[ms] == "test") if ms else True)]
    if not len(row):
        return []
    corrected = ""
    cv = corrected_auc(tables, "nomogram")
    if cv is not None and vinfo is not None:
        corrected = (f"; optimism-corrected training AUC {cv['corrected']:.3f} "
                     f"(95% CI {_fmt3(cv['lower'])}–{_fmt3(cv['upper'])}; {vinfo['short']}, "
                     f"apparent {cv['apparent']:.3f})")
    return [f"<p class='warn'>Nomogram test AUC {float(row.auc.iloc[0]):.3f} "
            f"(DeLong 95% CI {float(row.auc_lower.iloc[0]):.3f}–{float(row.auc_upper.iloc[0]):.3f}) "
            f"vs the synthetic cohort's oracle AUC {float(oracle['oracle_auc']):.3f} "
            f"(the true risk's AUC on this cohort; expected {float(oracle.get('expected_oracle_auc', float('nan'))):.3f})"
            f"{corrected}.</p>"]


def _tables(tables: dict[str, pd.DataFrame], record: dict, vinfo: dict | None, figs: Figures,
            set_n: dict[str, str]) -> tuple[list[str], set[str]]:
    """Tables 1-3 and the other study tables, the validation section, the selected features."""
    body, used = [], set()
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
    return body, used


def _figures(layout: RunLayout, config: StudyConfig, tables: dict[str, pd.DataFrame], figs: Figures) -> list[str]:
    """ROC, calibration and decision curves, the nomogram, SHAP plots, Grad-CAM examples."""
    body = []
    for key, title in (("roc", "ROC curves"), ("calibration", "Calibration curves"), ("decision", "Decision curves")):
        body.append(f"<h2>{title}</h2>")
        body += [img_html(p, c) for p, c in figs.get(key, [])] or ["<p class='warn'>Not available.</p>"]
    body.append("<h2>Nomogram</h2>")
    nomo = layout.stats.nomogram_png
    body.append(img_html(nomo, "DL-Rad-Clinical nomogram (training set)", 1000) if nomo.exists()
                else "<p class='warn'>Not available.</p>")
    body.append("<h2>SHAP</h2><p class='note'>Exact linear SHAP values b_j (x_j − mean_train x_j) of the Rad and "
                "DL score logistic models on their selected terms (log-odds); test patients, training background.</p>")
    body += [img_html(p, p.stem.replace("_", " ")) for p in layout.shap.pngs()] or ["<p class='warn'>Not available.</p>"]
    if config.deep.enabled:
        body.append("<h2>Grad-CAM examples</h2><p class='note'>Fine-tuned DenseNet-169 per sequence, test patients; "
                    "title gives the slice and the model's probability.</p>")
        g = tables.get("gradcam")
        pngs = [] if g is None or "png" not in g.columns else [layout.deep.dir / p for p in g.png.dropna()]
        body += [img_html(p, p.stem, 300) for p in pngs if p.exists()] or ["<p class='warn'>Not available.</p>"]
    return body


def _record(tables: dict[str, pd.DataFrame], record: dict, used: set[str]) -> list[str]:
    """The run record (versions, seeds, hashes, counts, timings, notes, configuration) and the other tables."""
    body = ["<h2>Run record</h2>"]
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
    return body


def render_page(layout: RunLayout, config: StudyConfig, tables: dict[str, pd.DataFrame], record: dict,
                vinfo: dict | None, figs: Figures, set_n: dict[str, str]) -> str:
    """The whole HTML page."""
    title = html.escape(config.report.title)
    body = [f"<h1>{title}</h1>", *_top(tables, record, vinfo)]
    sections, used = _tables(tables, record, vinfo, figs, set_n)
    body += sections + _figures(layout, config, tables, figs) + _record(tables, record, used)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{title}</title><style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>")
