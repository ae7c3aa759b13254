"""The validate stage (issue 13): R ``validate_study`` on the training split with the stats stage's data
and settings, its tables, caching, and the report's internal-validation section.

Driven without images on the synthetic study of ``conftest.py`` (stats -> validate -> shap -> model ->
report; 3-fold CV x 2).
"""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest

from conftest import N_TRAIN, run_stages, synth_config, write_upstream
from test_report import cell, parse_tables, section


def _direct(run, **kw):
    """radnomo.stats.validate_study called by hand on the in-memory training set with the run's settings."""
    from radnomo.stats import validate_study

    cfg = run.ctx.config
    s, v = cfg.stats, cfg.validation
    train = run.train
    args = dict(outcome="label", radiomics=[c for c in train if c.startswith("rad")],
                deep=[c for c in train if c.startswith("dl")], clinical=["age", "sex", "lnafp"], id="patient_id",
                mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold, pca_variance=s.pca_variance, nfolds=s.nfolds,
                lambda_=s.lambda_, clinical_alpha=s.clinical_alpha, score=s.score, separation=s.separation,
                method=v.method, B=v.B, folds=v.folds, repeats=v.repeats, seed=s.seed, workers=1)
    args.update(kw)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_study(train, **args)


def _csv(run, name):
    return pd.read_csv(run.root / "validate" / f"{name}.csv")


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str):
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns), what
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12, atol=1e-14,
                                       equal_nan=True, err_msg=f"{what}: {c}")
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), f"{what}: {c}"


def test_stage_writes_the_tables_and_equals_a_direct_call(synthetic_run):
    """The stage passes the stats stage's columns and settings (and the training rows, through
    data_train.csv.gz) unchanged: same tables as validate_study on the in-memory training set."""
    info = synthetic_run.ctx.outcomes["validate"].info
    assert info["method"] == "cv" and info["n_resamples"] == 6 and info["resamples"]["failed"] == 0
    for name in ("validation_performance", "validation_summary", "validation_calibration", "selection_stability",
                 "selection_counts", "selection_jaccard", "validation_resamples", "validation_timing"):
        assert (synthetic_run.root / "validate" / f"{name}.csv").exists(), name
    ref = _direct(synthetic_run)
    _same(_csv(synthetic_run, "validation_performance"), ref.performance, "performance")
    _same(_csv(synthetic_run, "validation_calibration"), ref.calibration, "calibration")
    _same(_csv(synthetic_run, "selection_stability"), ref.stability, "stability")
    _same(_csv(synthetic_run, "selection_jaccard"), ref.jaccard, "jaccard")
    perf = _csv(synthetic_run, "validation_performance")
    assert set(perf.model) == {"clinical", "rad_score", "dl_score", "nomogram"}
    assert perf.metric.unique().tolist() == ["auc", "brier", "scaled_brier", "citl", "recalibration_intercept",
                                             "slope", "emax", "e90"]


def test_apparent_and_test_columns_equal_the_stats_stage(synthetic_run):
    """apparent = the stats stage's own training fit (pROC AUC; calibration() Brier, slope and
    recalibration intercept of the nomogram); test = the stats stage's test-set numbers."""
    t = synthetic_run.root / "stats" / "tables"
    summ = _csv(synthetic_run, "validation_summary").set_index(["model", "metric"])
    m = pd.read_csv(t / "metrics.csv").set_index(["set", "model"])
    for model in ("clinical", "rad_score", "dl_score", "nomogram"):
        assert summ.loc[(model, "auc"), "apparent"] == pytest.approx(m.loc[("train", model), "auc"], abs=1e-12)
        assert summ.loc[(model, "auc"), "test"] == pytest.approx(m.loc[("test", model), "auc"], abs=1e-12)
    for part, col in (("train", "apparent"), ("test", "test")):
        cal = pd.read_csv(t / f"calibration_{part}_stats.csv").iloc[0]
        assert summ.loc[("nomogram", "brier"), col] == pytest.approx(cal["brier"], abs=1e-12)
        if part == "test":  # on the training set the recalibration of the fitted model is exactly (0, 1)
            assert summ.loc[("nomogram", "slope"), col] == pytest.approx(cal["slope"], rel=1e-7)
            assert summ.loc[("nomogram", "recalibration_intercept"), col] == pytest.approx(
                cal["recalibration_intercept"], rel=1e-7, abs=1e-9)
            assert summ.loc[("nomogram", "citl"), col] == pytest.approx(cal["intercept"], rel=1e-7, abs=1e-9)
    # corrected = apparent - optimism; the AUC interval surrounds the corrected AUC
    np.testing.assert_allclose(summ.corrected, summ.apparent - summ.optimism, atol=1e-12)
    auc = summ.xs("auc", level="metric")
    assert ((auc.lower <= auc.corrected) & (auc.corrected <= auc.upper)).all()
    assert summ.drop(index="auc", level="metric")[["lower", "upper"]].isna().all().all()


def test_two_workers_from_a_threaded_process_give_the_same_results(synthetic_run, tmp_path):
    """Two R workers while another Python thread keeps taking the GIL (as the stage's memory sampler
    does): no deadlock (the embedded R uses socket workers, not forks of this process), and the
    numbers of the single-worker stage (one RNG stream per resample)."""
    import threading

    from radnomo.pipeline.validation import validate_training_set

    stop = threading.Event()
    busy = threading.Thread(target=lambda: [sum(range(1000)) for _ in iter(stop.is_set, True)], daemon=True)
    busy.start()
    try:
        s = synthetic_run.ctx.config.stats
        v = synthetic_run.ctx.config.validation
        kwargs = dict(outcome="label", id="patient_id", mwu_alpha=s.mwu_alpha, cor_threshold=s.cor_threshold,
                      pca_variance=s.pca_variance, nfolds=s.nfolds, lambda_=s.lambda_,
                      clinical_alpha=s.clinical_alpha, score=s.score, separation=s.separation, method=v.method,
                      B=v.B, folds=v.folds, repeats=v.repeats, seed=s.seed, workers=2, progress=False)
        stats_dir = synthetic_run.root / "stats"
        out = validate_training_set(tmp_path, stats_dir / "data_train.csv.gz", stats_dir / "columns.json", kwargs)
    finally:
        stop.set()
    assert out["n_resamples"] == 6 and "validation_performance" in out["tables"]
    _same(pd.read_csv(tmp_path / "validation_performance.csv"), _csv(synthetic_run, "validation_performance"),
          "performance, 2 workers")
    _same(pd.read_csv(tmp_path / "selection_stability.csv"), _csv(synthetic_run, "selection_stability"),
          "stability, 2 workers")


def test_report_section_numbers_equal_results_json(synthetic_run):
    from radnomo.report import tables as T

    root = synthetic_run.root
    res = json.loads((root / "report" / "results.json").read_text(encoding="utf-8"))
    page = (root / "report" / "report.html").read_text(encoding="utf-8")
    tables = parse_tables(page)
    for name in ("validation_summary", "selection_jaccard", "validation_resamples"):
        csv = pd.read_csv(root / "report" / "tables" / f"{name}.csv")
        js = pd.DataFrame(res["tables"][name])
        num = csv.select_dtypes("number").columns
        np.testing.assert_allclose(csv[num].to_numpy(float), js[num].to_numpy(float), rtol=1e-12, equal_nan=True)
    # the page's validation table shows results.json's numbers, every model and metric
    t = tables["table-validation"]
    assert t["columns"] == ["Metric", "Apparent", "Optimism", "Corrected (95% CI)", "Test set"]
    names = dict(T.VALIDATION_METRICS)
    from radnomo.report.labels import DEFAULT_MODELS

    for r in res["tables"]["validation_summary"]:
        after = DEFAULT_MODELS[r["model"]]
        assert cell(tables, "table-validation", names[r["metric"]], "Apparent", after=after) == T.fmt_num(r["apparent"])
        assert cell(tables, "table-validation", names[r["metric"]], "Corrected (95% CI)", after=after) == \
            T.fmt_ci(r["corrected"], r["lower"], r["upper"])
        assert cell(tables, "table-validation", names[r["metric"]], "Test set", after=after) == T.fmt_num(r["test"])
    for r in res["tables"]["selection_jaccard"]:
        assert cell(tables, "table-selection-jaccard", T.BLOCK_NAMES[r["block"]], "Mean Jaccard index") == \
            T.fmt_num(r["mean_jaccard"])
    for r in res["tables"]["validation_resamples"]:
        assert cell(tables, "table-validation-resamples", r["reason"][:1].upper() + r["reason"][1:], "Number") == \
            str(r["n"])
    # the stage's CSV is what the report shows
    _same(pd.read_csv(root / "report" / "tables" / "validation_summary.csv"), _csv(synthetic_run, "validation_summary"),
          "summary")
    v = res["validation"]
    assert v["method"] == "cv" and v["n_resamples"] == 6 and v["settings"]["folds"] == 3
    assert res["figures"]["validation"] == ["figures/calibration_validation.png", "figures/dca_validation.png",
                                              "figures/selection_stability.png"]
    sec = html.unescape(section(page, "validation"))
    assert "repeated stratified 3-fold cross-validation, 2 repeat(s)" in sec
    assert "known to under-correct" in sec and "rms::calibrate" in sec
    # the run's setting differs from the study's (10 folds x 20): said so, workers not counted
    assert "validation.folds 3 (study: 10)" in sec and "validation.repeats 2 (study: 20)" in sec
    assert "validation.workers" not in sec
    # both corrected calibration curves are labelled in the figure's caption; each table shown once
    assert "final-model-only bootstrap correction (rms::calibrate; selection not repeated)" in sec
    assert "whole-pipeline correction" in sec
    for anchor in ("table-validation", "table-selection-jaccard", "fig-calibration-validation",
                   "fig-selection-stability"):
        assert page.count(f'id="{anchor}"') == 1 and f'id="{anchor}"' in sec


def test_selection_stability_figure_picks_the_top_features_per_block():
    from radnomo.report.build_plots import stability_top

    st = pd.DataFrame({"block": ["radiomics"] * 3 + ["deep"] * 2 + ["clinical"],
                       "feature": ["r1", "r2", "r3", "d1", "d2", "c1"], "frequency": [0.2, 0.9, 0.5, 1.0, 0.1, 0.4]})
    top = stability_top(st, {"radiomics": 2, "deep": 1, "clinical": 5})
    assert top.feature.tolist() == ["r2", "r3", "d1", "c1"]


def test_rerun_skips_workers_do_not_count_settings_do(synthetic_run, tmp_path):
    d = synthetic_run.data
    write_upstream(tmp_path, d)
    ctx = run_stages(tmp_path, synth_config(), ("stats", "validate", "report"))
    keys = {k: o.key for k, o in ctx.outcomes.items()}
    assert keys["validate"] == synthetic_run.ctx.outcomes["validate"].key  # same data and settings, same key
    again = run_stages(tmp_path, synth_config(validation={"workers": 2}), ("stats", "validate", "report"))
    assert all(o.skipped for o in again.outcomes.values())
    changed = run_stages(tmp_path, synth_config(validation={"repeats": 1}), ("stats", "validate", "report"))
    assert changed.outcomes["stats"].skipped and not changed.outcomes["validate"].skipped
    assert not changed.outcomes["report"].skipped and changed.outcomes["report"].key != keys["report"]
    assert changed.outcomes["validate"].info["n_resamples"] == 3
    # a changed statistics setting reruns the validation too (it uses the stats settings)
    st = run_stages(tmp_path, synth_config(validation={"repeats": 1}, stats={"mwu_alpha": 0.1}), ("stats", "validate"))
    assert not st.outcomes["stats"].skipped and not st.outcomes["validate"].skipped


def test_disabled_validation_is_not_run_and_the_report_says_so(synthetic_run, tmp_path):
    from radnomo.pipeline.runner import active_stages

    cfg = synth_config(validation={"enabled": False})
    assert "validate" not in active_stages(cfg)
    assert active_stages(synth_config(), until="validate")[-1] == "validate"
    write_upstream(tmp_path, synthetic_run.data)
    ctx = run_stages(tmp_path, cfg, ("stats", "model", "report"))
    res = json.loads((tmp_path / "report" / "results.json").read_text(encoding="utf-8"))
    assert res["validation"] is None and "validation_summary" not in res["tables"]
    page = (tmp_path / "report" / "report.html").read_text(encoding="utf-8")
    assert "Internal validation not run (validation.enabled: false)" in section(page, "validation")
    assert "table-validation" not in page
    assert ctx.outcomes["report"].info["figures"].get("validation") is None


def test_the_r_script_reproduces_the_stage_in_r_alone(synthetic_run, tmp_path):
    """validate/validate_study.R, run by Rscript from the run folder's tables, gives the stage's numbers."""
    import shutil
    import subprocess

    rscript = shutil.which("Rscript")
    if rscript is None:
        pytest.skip("Rscript not on PATH")
    vdir = synthetic_run.root / "validate"
    out = tmp_path / "perf_r.csv"
    code = f'source("validate_study.R"); write.csv(v$performance, "{out}", row.names = FALSE)'
    r = subprocess.run([rscript, "-e", code], cwd=vdir, capture_output=True, text=True, timeout=600,
                       env={**__import__("os").environ, "TZ": "UTC"})
    assert r.returncode == 0, r.stderr[-2000:]
    _same(pd.read_csv(out), _csv(synthetic_run, "validation_performance"), "performance from Rscript")
