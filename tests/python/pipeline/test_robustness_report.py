"""A report that still renders on degenerate cohorts (issue 9, section 3).

The robustness sweep's generated cohorts (tests/testthat/helper-robustness.R, sourced here through
rpy2, so R and Python use the same generator) are written as the upstream stages' outputs (split,
clinical table, radiomics and deep Parquet feature tables; no images), and the stats, SHAP, model and
report stages run on them:

* ``demo1``: the demo that failed (42 training patients, 14 events, deep PCs separating): separation;
* ``oneclass60``: a test set with a single outcome class (not evaluated);
* ``null60rad``: nothing passes the Mann-Whitney U filter in the radiomics block;
* ``null40all``: nothing selected in any block: a study without models;
* ``const60``: constant feature columns (R's fit_study stops on them; the stage removes them first).

Each must give report.html (with the run's warnings, R's text included, at the top), a valid
results.json (strict JSON) and no misleading output for absent models; the validate stage (3-fold CV,
one repeat) runs on each too.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import write_upstream

from radnomo.pipeline.config import parse_config
from radnomo.pipeline.context import RunContext
from radnomo.pipeline.stages import STAGE_BY_NAME

REPO = Path(__file__).resolve().parents[3]
STUDY_DIR = REPO / "pipelines" / "hcc_recurrence"
HELPER = REPO / "tests" / "testthat" / "helper-robustness.R"


@pytest.fixture(scope="module")
def make_cohort():
    """``id -> dict(train, test, radiomics, deep, clinical, args)`` from the R generator."""
    import rpy2.robjects as ro

    from radnomo.stats import _convert as cv
    from radnomo.stats.session import r_namespace

    r_namespace()
    ro.r["source"](str(HELPER))
    make = ro.r("function(id) rb_make_cohort(rb_cohort_specs()[[id]])")

    def get(cid: str) -> dict:
        co = make(cid)
        strs = lambda k: [str(x) for x in co.rx2(k)]  # noqa: E731
        args = co.rx2("args")
        return {"train": cv.from_r(co.rx2("train")), "test": cv.from_r(co.rx2("test")),
                "radiomics": strs("radiomics"), "deep": strs("deep"), "clinical": strs("clinical"),
                "args": {str(k): float(v[0]) for k, v in zip(args.names or [], args)}}

    return get


def _upstream(root: Path, c: dict) -> None:
    """The split/radiomics/deep stages' outputs of a cohort (its own train/test split)."""
    d = pd.concat([c["train"].assign(split="train"), c["test"].assign(split="test")], ignore_index=True)
    write_upstream(root, d, radiomics=c["radiomics"], deep=c["deep"], clinical=c["clinical"])


def _config(c: dict):
    cat = [v for v in c["clinical"] if c["train"][v].dtype == object or str(c["train"][v].dtype) == "bool"]
    stats = {"B": 10, "nfolds": 5, "seed": 1, "separation": "firth", **c["args"]}
    return parse_config({"data": {"sequences": ["t2"], "clinical_variables": c["clinical"], "categorical": cat},
                         "deep": {"enabled": bool(c["deep"])}, "stats": stats, "report": {"shap_patients": 1},
                         "validation": {"folds": 3, "repeats": 1, "workers": 1}},
                        base_dir=STUDY_DIR)


@pytest.fixture(scope="module")
def run_cohort(make_cohort, tmp_path_factory):
    """Run stats -> shap -> model -> report on a cohort; returns (ctx, results.json, report.html, ROC models drawn)."""
    import radnomo.report.build_figures as report

    cache: dict[str, tuple] = {}

    def run(cid: str):
        if cid in cache:
            return cache[cid]
        c = make_cohort(cid)
        root = tmp_path_factory.mktemp(cid)
        _upstream(root, c)
        ctx = RunContext.create(_config(c), root, progress=False, log=lambda m: None)
        drawn: dict[str, list[str]] = {}
        plot_roc = report.plot_roc

        def spy(scores, models, path, split, auc, **kw):
            drawn[split] = list(models)
            return plot_roc(scores, models, path, split, auc, **kw)

        report.plot_roc = spy
        try:
            for name in ("stats", "validate", "shap", "model", "report"):
                ctx.outcomes[name] = STAGE_BY_NAME[name](ctx)
        finally:
            report.plot_roc = plot_roc
        text = (root / "report" / "results.json").read_text(encoding="utf-8")

        def no_constants(name):  # strict JSON: NaN / Infinity are not JSON
            raise ValueError(f"results.json holds {name}")

        res = json.loads(text, parse_constant=no_constants)
        page = (root / "report" / "report.html").read_text(encoding="utf-8")
        cache[cid] = (ctx, res, page, drawn)
        return cache[cid]

    return run


def _top_warnings(page: str) -> str:
    """The warnings section (after the headline, before the first table), as text."""
    top = page[page.index('<section id="warnings"'):page.index('<section id="participants"')]
    assert page.index('id="headline"') < page.index('id="warnings"')
    return html.unescape(top)


def _common(ctx, res: dict, page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert {"title", "tables", "figures", "run_record"} <= set(res)
    # every warning of the run is listed at the top of the page, verbatim (escaped)
    warns = res["run_record"]["warnings"]
    assert warns == [f"[{s}] {w}" for s in ctx.outcomes for w in (ctx.rundir.read_record(s) or {}).get(
        "info", {}).get("warnings", [])]
    top = _top_warnings(page)
    for w in warns:
        assert w in top
    # every declared table and figure is either on the page or named as not available, at its anchor
    from test_report import parse_tables

    shown = parse_tables(page)
    for item in res["report_items"]:
        assert f'id="{item["anchor"]}"' in page
        if item["kind"] == "missing":
            assert "not available in this run" in item["text"] and item["anchor"] not in shown
        elif item["kind"] == "table":
            assert shown[item["anchor"]]["rows"], item
    assert not any("nomogram plot failed" in w for w in warns)
    # the fits table is there (empty without models), with one row per fitted model
    assert "fits" in res["tables"] and "steps" in res["tables"]
    # the whole-pipeline validation ran and has its section (a table, or why there is none)
    assert res["validation"]["n_resamples"] in (0, 3) and '<section id="validation"' in page
    # the checklists are filled and exported even for a degenerate run
    assert res["checklists"]["tripod_ai"]["counts"]["filled"] > 0
    assert (ctx.rundir.root / "report" / "checklist_metrics.csv").is_file()


def test_separation_demo_like(run_cohort):
    ctx, res, page, drawn = run_cohort("demo1")
    _common(ctx, res, page)
    fits = {r["model"]: r["method"] for r in res["tables"]["fits"]}
    assert fits["dl_score"] == "firth" and fits["nomogram"] == "firth"
    warns = res["run_record"]["warnings"]
    assert any(w.startswith("[stats] separation: The DL score refit shows (quasi-)complete separation") for w in warns)
    assert any(w.startswith("[stats] separation: The nomogram model") for w in warns)
    assert {r["set"] for r in res["tables"]["metrics"]} == {"train", "test"}
    assert len(res["figures"]["roc"]) == 2 and (ctx.rundir.root / "stats" / "nomogram.png").exists()


def test_single_class_test_set(run_cohort):
    ctx, res, page, drawn = run_cohort("oneclass60")
    _common(ctx, res, page)
    warns = res["run_record"]["warnings"]
    assert any("DegenerateSetWarning" in w and "The test set has a single outcome class" in w for w in warns)
    # the test set is kept (scores) but not evaluated: no test metrics, ROC, calibration or decision curve
    assert {r["set"] for r in res["tables"]["metrics"]} == {"train"}
    assert {r["set"] for r in res["tables"]["scores"]} == {"train", "test"}
    for kind in ("roc", "calibration", "decision"):
        assert res["figures"][kind] == [f"figures/{'dca' if kind == 'decision' else kind}_train.png"]
    # the clinical model is absent (no candidate passed): no ROC curve is drawn for it
    assert "clinical" not in {r["model"] for r in res["tables"]["fits"]}
    assert drawn == {"train": ["rad_score", "dl_score", "nomogram"]}


def test_nothing_passes_the_filter_in_a_block(run_cohort):
    ctx, res, page, drawn = run_cohort("null60rad")
    _common(ctx, res, page)
    warns = res["run_record"]["warnings"]
    assert any("The radiomics block: No feature passed the Mann-Whitney U step" in w for w in warns)
    assert "rad_score" not in {r["model"] for r in res["tables"]["fits"]}
    assert all(r["rad_score"] is None for r in res["tables"]["scores"])
    assert "rad_score" not in {r["model"] for r in res["tables"]["metrics"]}
    assert all("rad_score" not in models for models in drawn.values()) and set(drawn) == {"train", "test"}


def test_no_model_at_all(run_cohort):
    ctx, res, page, drawn = run_cohort("null40all")
    _common(ctx, res, page)
    warns = res["run_record"]["warnings"]
    assert any(w.startswith("[stats] NoModelWarning: [R fit_study] No block produced a model") for w in warns)
    assert res["tables"]["fits"] == []
    assert "metrics" not in res["tables"]
    assert all(r["nomogram"] is None for r in res["tables"]["scores"])
    # nothing to draw: no ROC of all-NA risks, no nomogram; the sections say so
    assert drawn == {} and "roc" not in res["figures"]
    assert not (ctx.rundir.root / "stats" / "nomogram.png").exists()
    # nothing to validate: the validation says so (R's no-model warning), without an empty table
    assert res["validation"]["n_resamples"] == 0 and "validation_summary" not in res["tables"]
    assert "No model was fitted on the training set: nothing to validate." in page
    assert any(w.startswith("[validate] NoModelWarning") for w in warns)
    missing = {i["anchor"]: i["text"] for i in res["report_items"] if i["kind"] == "missing"}
    assert missing["table-3"].startswith("Performance of the clinical model, Rad score, DL score and nomogram: "
                                         "not available in this run (no metrics.csv was written")
    assert {"table-model", "fig-roc", "fig-nomogram", "table-validation"} <= set(missing)
    assert "No model was fitted: there is no result to report" in page  # the headline says so
    assert (ctx.rundir.root / "model" / "model.json").exists()


def test_constant_columns_removed_by_the_stage(run_cohort):
    ctx, res, page, drawn = run_cohort("const60")
    _common(ctx, res, page)
    warns = res["run_record"]["warnings"]
    assert any("2 feature(s) constant on the training set removed before selection" in w for w in warns)
    assert {r["set"] for r in res["tables"]["metrics"]} == {"train", "test"}
