"""The report page's context (:func:`radnomo.report.templating.render_report`'s schema): the
headline, warnings and deviations, the sections with their declared tables and figures, the
internal-validation notes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from radnomo.report import tables as T
from radnomo.report.anchors import ANCHORS
from radnomo.report.build_figures import FigureSpec, Panel
from radnomo.report.build_tables import ReportInputs, TableSpec, tables_of_run
from radnomo.report.tables_performance import CORRECTED_BY
from radnomo.report.templating import data_uri

#: The page's sections (id, title, introduction; the introduction may name the placeholders of
#: :meth:`~radnomo.report.build_tables.ReportInputs.words`), in order.
SECTIONS = (
    ("participants", "Participants", "Characteristics of the patients of the training and test sets."),
    ("development", "Model development", "Feature selection on the training set, the clinical variables' odds "
     "ratios, and the fitted models in full."),
    ("performance", "Model performance", "Discrimination, classification, calibration and clinical utility of the "
     "{n_models} models on the training set (apparent) and the held-out test set."),
    ("validation", "Internal validation", None),
    ("explainability", "Explainability", "What drives the scores: {explained}."),
)

BOOTSTRAP_CAVEAT = (
    "The Efron-Gong optimism bootstrap (validation.method: boot; what rms::validate and rms::calibrate do) is "
    "known to under-correct when the predictors were selected from many candidates (p >> n, as here): each "
    "bootstrap resample holds about 63% of the original patients, so a model that memorised its resample also "
    "looks good on the original data. Repeated cross-validation (the default) and .632+ do not share this bias "
    "to the same degree; the final-model-only calibration curve (rms::calibrate on the nomogram, which treats "
    "its selected inputs as fixed predictors) understates the optimism for the same reason.")


def headline(inp: ReportInputs, record: Mapping[str, Any]) -> dict:
    """The main result: the nomogram's test AUC (95% CI) beside its training AUC and the
    optimism-corrected AUC; the synthetic cohort's oracle AUC as a note."""
    mt = inp.get("metrics")
    h = None if mt is None else T.headline(mt, validation=inp.get("validation_summary"))
    out: dict[str, Any] = {"model_label": inp.labels.model("nomogram"), "test": None, "train": None,
                           "corrected": None, "note": None}
    if h is None:
        out["note"] = "No model was fitted: there is no result to report (see the warnings)."
        return out
    out["test"], out["train"] = h.get("test"), h.get("train")
    if h.get("corrected") and inp.validation:
        out["corrected"] = dict(h["corrected"], estimator=f"{inp.validation['short']}; apparent "
                                f"{h['corrected']['apparent']:.3f}")
    oracle = record.get("oracle")
    if oracle:
        exp = oracle.get("expected_oracle_auc")
        out["note"] = (f"Synthetic cohort: the true risk's AUC (oracle AUC) on this cohort is "
                       f"{float(oracle['oracle_auc']):.3f}" + (f" (expected {float(exp):.3f})" if exp is not None
                                                               else "") + ".")
    if h.get("test") is None:
        out["note"] = ((out["note"] or "") + " The test set was not evaluated (see the warnings).").strip()
    return out


#: Appended to a deviation that had no effect on the run (a ``deep.*`` setting with the deep block off).
NOT_USED_DEEP = " (not used: deep features off)"


def deviations(record: Mapping[str, Any]) -> list[dict]:
    """Settings of this run that differ from the study's configuration. With the deep block off
    (``deep.enabled: false`` in the run's configuration) the other ``deep.*`` settings changed
    nothing: they stay listed (the record is complete) but their value is marked
    :data:`NOT_USED_DEEP`."""
    show = lambda v: v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False)  # noqa: E731
    deep = (record.get("configuration") or {}).get("deep")
    deep_off = isinstance(deep, Mapping) and deep.get("enabled") is False
    out = []
    for d in record.get("deviations_from_study_config") or []:
        name = str(d["setting"])
        unused = deep_off and name.startswith("deep.") and name != "deep.enabled"
        out.append({"setting": name, "study": show(d["study"]),
                    "this_run": show(d["this run"]) + (NOT_USED_DEEP if unused else "")})
    return out


def validation_notes(inp: ReportInputs, record: Mapping[str, Any]) -> list[dict]:
    """The internal-validation section's text: estimator, columns, caveat, deviations, failures."""
    v = inp.validation
    if v is None:
        return [{"type": "warning", "text": "Internal validation not run (validation.enabled: false). The apparent "
                 "(training-set) performance of a model whose predictors were selected from thousands of "
                 "candidates is optimistic."}]
    how = CORRECTED_BY.get(str(v["method"]), "Corrected = apparent − optimism")
    out = [{"type": "text", "text": f"Estimator: {v['estimator']} (R validate_study, training set only). Every "
            "resample refits the entire chain of the statistics stage with its settings and seed — Mann–Whitney U "
            "filter, correlation pruning, z-scoring, " + ("PCA of the deep block, " if inp.scope.deep else "")
            + "LASSO, score refits, univariable and "
            "multivariable clinical selection, the nomogram and the separation policy — so the corrected numbers "
            "include the optimism of the feature selection. " + how + "; its 95% CI "
            "is Hanley–McNeil's at the corrected AUC (approximate: it ignores the uncertainty of the optimism "
            "itself). Test: the frozen model on the test set."},
           {"type": "note", "text": BOOTSTRAP_CAVEAT}]
    devs = [d for d in record.get("deviations_from_study_config") or []
            if d["setting"].startswith("validation.") and d["setting"] != "validation.workers"]
    if devs:
        out.append({"type": "warning", "text": "This run's validation settings differ from the study's: "
                    + "; ".join(f"{d['setting']} {json.dumps(d['this run'])} (study: {json.dumps(d['study'])})"
                                for d in devs)
                    + f" — {v['n_resamples']} refits, so its corrected numbers carry more Monte-Carlo noise than "
                    "the study's."})
    res = v.get("resamples") or {}
    if res.get("failed"):
        out.append({"type": "warning", "text": f"{res['failed']} of {res.get('resamples')} resamples failed and are "
                    "left out of the estimates (see the resamples table)."})
    if inp.get("validation_summary") is None:
        out.append({"type": "warning", "text": "No model was fitted on the training set: nothing to validate."})
    return out


def table_block(spec: TableSpec, inp: ReportInputs) -> dict:
    """A declared table's block, or a warning (with the table's anchor) naming what is missing."""
    if inp.get(spec.sources[0]) is None:
        return {"type": "warning", "id": spec.anchor,
                "text": f"{spec.title}: not available in this run (no {spec.sources[0]}.csv was written; see the "
                        "warnings)."}
    return {"type": "table", "table": spec.make(inp, spec).to_dict()}


def figure_block(spec: FigureSpec, panels: list[Panel]) -> dict:
    """A declared figure's block (its panels embedded as data URIs), or a warning naming it; ``spec``
    worded for the run (:func:`radnomo.report.build_tables.resolved`)."""
    title = spec.title
    if not panels:
        return {"type": "warning", "id": spec.anchor, "text": f"{title}: not available in this run."}
    many = len(panels) > 1
    figs = [{"id": f"{spec.anchor}-{p.suffix}", "src": data_uri(p.path), "alt": f"{title}: {p.caption}",
             "caption": f"{title}. {p.caption}" + ("" if many else f" {spec.caption}")} for p in panels]
    return {"type": "figures", "id": spec.anchor, "caption": spec.caption if many else None, "figures": figs}


def sections(inp: ReportInputs, drawn: list[tuple[FigureSpec, list[Panel]]], record: Mapping[str, Any]) -> list[dict]:
    """The page's sections with their tables (first) and figures, in declared order: those of the
    run's study (its blocks; ``drawn`` from :func:`radnomo.report.build_figures.draw_figures`)."""
    out = []
    words = inp.words()
    for sid, title, intro in SECTIONS:
        blocks: list[dict] = validation_notes(inp, record) if sid == "validation" else []
        skip_missing = sid == "validation" and inp.validation is None
        for spec in tables_of_run(inp):
            if spec.section == sid and not (skip_missing and inp.get(spec.sources[0]) is None):
                blocks.append(table_block(spec, inp))
        for spec, panels in drawn:
            if spec.section == sid and (panels or not skip_missing):
                blocks.append(figure_block(spec, panels))
        out.append({"id": sid, "title": title, "intro": intro.format(**words) if intro else intro,
                    "blocks": blocks})
    number_tables(out)
    return out


#: The journal's main tables keep their numbers (Table 1 baseline, Table 2 odds ratios, Table 3
#: performance); the others are supplementary tables S1, S2, ... in page order.
MAIN_TABLES = {ANCHORS["table1"]: 1, ANCHORS["table2"]: 2, ANCHORS["table3"]: 3}


def number_tables(secs: list[dict]) -> None:
    """Give every table block its number: 1-3 for the main tables, ``S<k>`` for the others."""
    k = 0
    for sec in secs:
        for b in sec["blocks"]:
            if b["type"] == "table":
                t = b["table"]
                if t["anchor"] in MAIN_TABLES:
                    t["number"] = MAIN_TABLES[t["anchor"]]
                else:
                    k += 1
                    t["number"] = f"S{k}"


def anchor_labels(context: Mapping[str, Any]) -> dict[str, str]:
    """Anchor id -> how a checklist names it ("Table 3", "Figures 2–3", "Run record: Seeds"), from a
    numbered context (:func:`radnomo.report.templating.number_items`)."""
    out = {"headline": "Main result", "warnings": "Warnings", "deviations": "Deviations", "checklists": "Checklists"}
    for sec in context.get("sections") or []:
        for b in sec.get("blocks") or []:
            if b.get("type") == "table":
                out[b["table"]["anchor"]] = f"Table {b['table']['number']}"
            elif b.get("type") == "figures":
                nums = [f["number"] for f in b["figures"]]
                out[b["id"]] = f"Figure {nums[0]}" if len(nums) == 1 else f"Figures {nums[0]}–{nums[-1]}"
            elif b.get("type") == "warning" and b.get("id"):
                out[b["id"]] = "not available in this run"
    for part in context.get("run_record") or []:
        out[part["id"]] = f"Run record: {part['title']}"
    return out


def only_shown(checklists: list[dict], labels: Mapping[str, str]) -> list[dict]:
    """The checklists' "shown in" links limited to the anchors this page has (``labels``' keys):
    a run without the validate stage, say, has no validation table to link to."""
    for c in checklists:
        for r in c["rows"]:
            r["anchors"] = [a for a in r["anchors"] if a["id"] in labels]
    return checklists
