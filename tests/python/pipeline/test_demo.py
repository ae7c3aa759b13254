"""The demo end to end (synthetic cohort -> report), run once per module, and tests on its outputs.

Needs R with the radnomo R package (fit_study), PyRadiomics and torch; skipped otherwise.
Takes a few minutes on 2 cores (the demo's budget).
"""

from __future__ import annotations

import html
import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from test_report import cell, parse_tables, section

from radnomo.report import tables as T

pytestmark = pytest.mark.slow

DEMO_N = int(os.environ.get("RADNOMO_TEST_DEMO_N", "60"))  # as tests/python/conftest.py's demo_run


@pytest.fixture(scope="module")
def demo(demo_run):
    """The test session's demo run (tests/python/conftest.py: run once, shared with the browser tests)."""
    return demo_run


@pytest.fixture(scope="module")
def results(demo):
    return json.loads(demo.results.read_text(encoding="utf-8"))


def test_every_stage_ran_and_rerun_skips_all(demo):
    from radnomo.pipeline.demo import run_demo

    assert set(demo.stages) == {"split", "preprocess", "radiomics", "deep", "stats", "validate", "shap", "model",
                                "report"}
    again = run_demo(demo.out_dir.parent, n=DEMO_N, workers=2, progress=False, log=lambda m: None)
    assert all(o.skipped for o in again.stages.values())
    assert {k: o.key for k, o in again.stages.items()} == {k: o.key for k, o in demo.stages.items()}


def test_report_has_every_table_and_figure(demo, results):
    page = demo.report.read_text(encoding="utf-8")
    assert "http://" not in page.replace("http://www.w3.org", "") and "<script" not in page  # offline, no JS
    tables = results["tables"]
    for name in ("table1", "clinical_univariable", "clinical_multivariable", "metrics", "delong", "steps",
                 "scores", "decision", "rad_score_terms", "dl_score_terms", "gradcam", "delong_matrix_train",
                 "delong_matrix_test", "table1_train_by_outcome", "table1_test_by_outcome", "fits",
                 "validation_summary", "validation_performance", "validation_calibration", "selection_stability",
                 "selection_jaccard", "validation_resamples"):
        assert name in tables, name
        assert (demo.out_dir / "report" / "tables" / f"{name}.csv").exists()
    figs = results["figures"]
    assert len(figs["roc"]) == 2 and len(figs["calibration"]) == 2 and len(figs["decision"]) == 2
    assert figs["validation"] == ["figures/calibration_validation.png", "figures/dca_validation.png",
                                "figures/selection_stability.png"]
    assert figs["nomogram"] == ["figures/nomogram.png"] and len(figs["gradcam"]) == 4
    assert len(figs["shap"]) == 2 + 2 * 2  # a summary and 2 patients per score (demo: report.shap_patients 2)
    for f in (f for v in figs.values() for f in v):
        assert (demo.out_dir / "report" / f).is_file(), f
    # every figure embedded, none twice
    assert page.count("data:image/png;base64,") == sum(len(v) for v in figs.values())
    # the declared tables, numbered as a journal prints them, and the declared figures, all on the page
    html_tables = parse_tables(page)
    items = results["report_items"]
    declared = [i for i in items if i["kind"] == "table"]
    assert [i["anchor"] for i in declared] == list(html_tables)
    assert {html_tables[a]["title"].split(".")[0] for a in ("table-1", "table-2", "table-3")} == \
        {"Table 1", "Table 2", "Table 3"}
    assert not [i for i in items if i["kind"] == "missing"]
    for i in items:
        assert f'id="{i["anchor"]}"' in page, i
    for sid in ("headline", "warnings", "participants", "development", "performance", "validation",
                "explainability", "checklists", "run-record"):
        assert f'id="{sid}"' in page, sid
    # the order: headline, warnings, Table 1, ..., checklists, run record
    pos = [page.index(f'id="{a}"') for a in ("headline", "warnings", "table-1", "table-2", "table-3",
                                             "table-validation", "fig-shap", "checklists", "run-record")]
    assert pos == sorted(pos)
    # internal names only in the CSVs: no raw term or column names in the tables and captions
    body = page[page.index('id="participants"'):page.index('id="checklists"')]
    body = re.sub(r'<p class="source">.*?</p>', "", body, flags=re.S)  # "Source: tables/<name>.csv" lines
    text = html.unescape(re.sub(r"<[^>]+>", " ", body))  # what a reader sees (no ids, no image data)
    for raw in ("lnafp", "neu_lym", "multiple_low_signal", "label = 1", "selection_dl_coefficients",
                "dl_score_terms", "t2_P0001_k022", "pvp_original_"):
        assert raw not in text, raw
    # the checklists' exports beside the page
    for key in ("tripod_ai", "clear", "metrics"):
        assert (demo.out_dir / "report" / f"checklist_{key}.csv").is_file()
        assert (demo.out_dir / "report" / f"checklist_{key}.md").is_file()
    assert results["checklists"]["metrics"]["score"]["score"] is not None
    # Table 3 covers the four models on train and test, with the cut-off chosen on train
    m = pd.DataFrame(tables["metrics"])
    assert set(m.model) == {"clinical", "rad_score", "dl_score", "nomogram"} and set(m.set) == {"train", "test"}
    for model, g in m.groupby("model"):
        assert g.loc[g.set == "test", "threshold"].iloc[0] == g.loc[g.set == "train", "threshold"].iloc[0]


def _model_name(results, model):
    from radnomo.report.labels import DEFAULT_MODELS

    return DEFAULT_MODELS[model]


def test_html_numbers_agree_with_results_json_and_csv(demo, results):
    """The page's tables show results.json's numbers (formatted), which are the CSVs' numbers."""
    page = demo.report.read_text(encoding="utf-8")
    ht = parse_tables(page)
    tables = results["tables"]
    n = {s: (c["n"], c["events"]) for s, c in results["run_record"]["patients"].items()}
    for r in tables["metrics"]:
        after = {"train": "Training set", "test": "Test set"}[r["set"]] + " (n = %d, events = %d)" % n[r["set"]]
        shown = cell(ht, "table-3", _model_name(results, r["model"]), "AUC (95% CI)", after=after)
        assert shown == T.auc_text(r["auc"], r["auc_lower"], r["auc_upper"], r["set"]), (r["model"], r["set"])
        if "no interval" not in shown:  # a perfect separation has no interval to parse
            est, lo, hi = T.parse_ci(shown)
            assert est == pytest.approx(r["auc"], abs=5e-4) and lo == pytest.approx(r["auc_lower"], abs=5e-4)
        assert cell(ht, "table-3", _model_name(results, r["model"]), "Cut-off", after=after) == \
            f"{r['threshold']:.3f}"
    for r in tables["nomogram_coefficients"]:
        if r["term"] not in ("(Intercept)", "Intercept"):
            row = next(x for x in ht["table-model"]["rows"] if x[1].startswith(f"{r['estimate']:.3f} ("))
            assert row[2] == T.fmt_or_ci(r["odds_ratio"], r["or_lower"], r["or_upper"]) and row[3] == \
                T.fmt_p(r["p_value"])
    lnafp = next(r for r in tables["clinical_univariable"] if r["term"] == "lnafp")
    assert cell(ht, "table-2", "ln AFP (ln(ng/mL))", "Univariable OR (95% CI)") == \
        T.fmt_or_ci(lnafp["odds_ratio"], lnafp["or_lower"], lnafp["or_upper"])
    v = next(r for r in tables["validation_summary"] if r["model"] == "nomogram" and r["metric"] == "auc")
    assert cell(ht, "table-validation", "AUC", "Corrected (95% CI)", after="DL-Rad-Clinical nomogram") == \
        T.fmt_ci(v["corrected"], v["lower"], v["upper"])
    age = next(r for r in tables["table1"] if r["variable"] == "age")
    assert cell(ht, "table-1", "Age (years), mean ± SD", "Overall (n = 60)") == age["overall"]
    # results.json holds the CSVs' numbers
    for name in ("table1", "clinical_multivariable", "metrics", "delong", "steps", "rad_score_terms",
                 "validation_summary", "selection_jaccard", "validation_resamples"):
        csv = pd.read_csv(demo.out_dir / "report" / "tables" / f"{name}.csv")
        js = pd.DataFrame(tables[name])
        num = csv.select_dtypes("number").columns
        np.testing.assert_allclose(csv[num].to_numpy(float), js[num].to_numpy(float), rtol=1e-12, equal_nan=True)


def test_run_record(results, demo):
    rec = results["run_record"]
    assert rec["seeds"]["split"] == 20250101 and rec["versions"]["pyradiomics"]
    assert rec["seeds"]["synthetic_cohort"] == 20250101
    # what determines the CPU/GPU deep features, from the deep stage
    dc = rec["deep_features"]
    assert dc["intra_op_threads"] == 1 and dc["deterministic_algorithms"] is True and dc["torch"]
    assert {"torchvision", "cpu_capability", "cpu_model", "mkldnn_enabled", "device"} <= set(dc)
    # every separation policy the statistics applied is a warning of the run (same text as the fits table)
    for r in results["tables"]["fits"]:
        if r["note"]:
            assert f"[stats] separation: {r['note']}" in rec["warnings"]
    assert rec["versions"]["R"].startswith("R version")
    assert rec["input_hashes"]["manifest_sha256"] and rec["input_hashes"]["images_sha256"]
    counts = rec["patients"]
    assert counts["train"]["n"] + counts["test"]["n"] == DEMO_N
    # the 7:3 stratified split: round(0.3 n_class) per class in test
    split = pd.DataFrame(results["tables"]["split"])
    for cls, g in split.groupby("label"):
        assert (g.split == "test").sum() == round(0.3 * len(g))
    dev = {d["setting"] for d in rec["deviations_from_study_config"]}
    assert {"deep.train.epochs", "deep.slices.image_size", "radiomics.params", "stats.B", "validation.folds",
            "validation.repeats"} <= dev
    assert any("random initialisation" in w for w in rec["warnings"]) or rec["configuration"]["deep"]["train"]["weights"] != "imagenet"
    steps = pd.DataFrame(results["tables"]["steps"])
    assert {"radiomics", "deep", "clinical", "nomogram"} <= set(steps.block)
    # warnings are shown at the top of the page, before the tables
    page = demo.report.read_text(encoding="utf-8")
    assert rec["warnings"] and page.index('id="warnings"') < page.index('id="table-1"')
    warn = html.unescape(section(page, "warnings"))
    assert all(w in warn for w in rec["warnings"])
    # the run record as tables: versions, seeds, hashes, timings
    record = parse_record(page)
    assert record["run-seeds"]["split"] == "20250101" and record["run-software"]["pyradiomics"]
    assert record["run-inputs"]["Manifest (SHA-256)"] == rec["input_hashes"]["manifest_sha256"]
    assert set(record["run-stages"]) >= {"split", "stats", "validate", "model"}
    # nothing that leaves the run (report, model) names this machine's folders
    root = str(demo.out_dir.resolve().parent)
    assert root not in page and root not in json.dumps(results)
    for f in (demo.out_dir / "model").rglob("*"):
        if f.suffix in (".json", ".yaml", ".csv"):
            assert root not in f.read_text(encoding="utf-8"), f


def parse_record(page: str) -> dict[str, dict[str, str]]:
    """The run record's parts: ``{part id: {key: value}}``."""
    import re
    from html import unescape

    out = {}
    parts = list(re.finditer(r'<div id="(run-[\w-]+)" class="record-part">', page))
    for m, nxt in zip(parts, parts[1:] + [None]):
        chunk = page[m.end():nxt.start() if nxt else page.index("</section>", m.end())]
        rows = re.findall(r'<th scope="row">(.*?)</th><td>(.*?)</td>', chunk, re.S)
        out[m.group(1)] = {unescape(k): unescape(v) for k, v in rows}
    return out


def test_nomogram_test_auc_is_shown_next_to_the_oracle_auc(results, demo):
    """The headline: the nomogram's test AUC (95% CI) beside its training AUC and the optimism-corrected
    AUC, and the synthetic cohort's oracle AUC (ground_truth.json). (The clinical drivers: test_drivers.py.)"""
    oracle = results["run_record"]["oracle"]
    truth = json.loads((demo.out_dir.parent / "cohort" / "ground_truth.json").read_text(encoding="utf-8"))["outcome"]
    assert oracle["oracle_auc"] == truth["oracle_auc"] and 0.5 < oracle["oracle_auc"] <= 1
    assert set(oracle["drivers"]) == {"lnafp", "multiple_low_signal", "t2_pattern", "texture_pvp"}
    m = pd.DataFrame(results["tables"]["metrics"])
    nomo = m.loc[m.model == "nomogram"].set_index("set")
    page = demo.report.read_text(encoding="utf-8")
    head = section(page, "headline")
    for s in ("test", "train"):
        r = nomo.loc[s]
        assert T.auc_text(r.auc, r.auc_lower, r.auc_upper, s) in head, s
    assert head.index("Test set AUC") < head.index("Training set AUC") < head.index("Optimism-corrected")
    assert f"oracle AUC) on this cohort is {oracle['oracle_auc']:.3f}" in head
    # and the whole-pipeline (CV) corrected training AUC, with the estimator named
    v = pd.DataFrame(results["tables"]["validation_summary"])
    cv = v.loc[(v.model == "nomogram") & (v.metric == "auc")].iloc[0]
    assert T.fmt_ci(cv["corrected"], cv["lower"], cv["upper"]) in head and "5-fold CV x 2" in head
    assert cv["test"] == pytest.approx(nomo.loc["test", "auc"], abs=1e-12)


def test_validation_used_the_stats_settings_and_the_demos_budget(demo, results):
    """The validate stage refitted the study's chain 5 x 2 times on the training set: its apparent
    performance is the stats stage's training fit; the report's numbers are the stage's."""
    rec = json.loads((demo.out_dir / "validate" / "stage.json").read_text(encoding="utf-8"))
    assert rec["info"]["n_resamples"] == 10 and rec["info"]["method"] == "cv"
    assert rec["info"]["resamples"]["succeeded"] + rec["info"]["resamples"]["failed"] == 10
    summ = pd.read_csv(demo.out_dir / "validate" / "validation_summary.csv")
    m = pd.read_csv(demo.out_dir / "stats" / "tables" / "metrics.csv")
    for model, g in summ.loc[summ.metric == "auc"].groupby("model"):
        train_auc = m.loc[(m.set == "train") & (m.model == model), "auc"].iloc[0]
        assert g.apparent.iloc[0] == pytest.approx(train_auc, abs=1e-12), model
    js = pd.DataFrame(results["tables"]["validation_summary"])
    np.testing.assert_allclose(js.select_dtypes("number").to_numpy(float),
                               summ.select_dtypes("number").to_numpy(float), rtol=1e-12, equal_nan=True)
    assert results["validation"]["settings"] == {"enabled": True, "method": "cv", "B": 200, "folds": 5,
                                                 "repeats": 2}


def test_shap_equals_closed_form(demo):
    stats_dir = demo.out_dir / "stats"
    for kind in ("rad", "dl"):
        coef = pd.read_csv(stats_dir / f"shap_{kind}_coefficients.csv").set_index("term")["estimate"]
        tr = pd.read_csv(stats_dir / f"shap_{kind}_train.csv", dtype={"patient_id": str}).set_index("patient_id")
        te = pd.read_csv(stats_dir / f"shap_{kind}_test.csv", dtype={"patient_id": str}).set_index("patient_id")
        phi = pd.read_csv(demo.out_dir / "shap" / f"shap_{kind}_test.csv", dtype={"patient_id": str}).set_index("patient_id")
        b = coef.drop("(Intercept)")
        np.testing.assert_allclose(phi[b.index].to_numpy(), ((te[b.index] - tr[b.index].mean()) * b).to_numpy(),
                                   atol=1e-10)
        # and the SHAP values add up to the study's own linear score (R predict) minus its training mean
        scores = pd.read_csv(demo.out_dir / "model" / ".." / "stats" / "tables" / "scores.csv", dtype={"id": str})
        p = scores.loc[scores.set == "test"].set_index("id")[f"{kind}_score"].loc[phi.index]
        ok = (p > 1e-9) & (p < 1 - 1e-9)  # logit recoverable from the stored probability
        assert ok.any()
        lp = np.log(p[ok] / (1 - p[ok]))
        base = coef["(Intercept)"] + (tr[b.index].mean() * b).sum()
        np.testing.assert_allclose((phi.loc[ok[ok].index, b.index].sum(axis=1) + base).to_numpy(), lp.to_numpy(),
                                   rtol=1e-6, atol=1e-6)


def test_no_leakage_from_the_test_set(demo):
    """Permuting the test labels and replacing the test features by noise changes nothing fitted."""
    from radnomo.stats import fit_study

    d = demo.out_dir / "stats"
    train = pd.read_csv(d / "data_train.csv.gz", dtype={"patient_id": str})
    test = pd.read_csv(d / "data_test.csv.gz", dtype={"patient_id": str})
    cols = json.loads((d / "columns.json").read_text(encoding="utf-8"))
    cfg = json.loads((demo.out_dir / "stats" / "stage.json").read_text(encoding="utf-8"))["inputs"]["stats"]
    kw = dict(outcome="label", radiomics=cols["radiomics"], deep=cols["deep"], clinical=cols["clinical"],
              id="patient_id", mwu_alpha=cfg["mwu_alpha"], cor_threshold=cfg["cor_threshold"],
              pca_variance=cfg["pca_variance"], nfolds=cfg["nfolds"], lambda_=cfg["lambda"],
              clinical_alpha=cfg["clinical_alpha"], B=cfg["B"], seed=cfg["seed"])
    rng = np.random.default_rng(7)
    bad = test.copy()
    bad["label"] = rng.permutation(bad["label"].to_numpy())
    feats = cols["radiomics"] + cols["deep"]
    bad[feats] = rng.normal(size=(len(bad), len(feats))) * 100
    a = fit_study(train, test, **kw)
    b = fit_study(train, bad, **kw)
    for attr in ("selection_rad", "selection_dl", "rad_score", "dl_score"):
        pd.testing.assert_frame_equal(getattr(a, attr).coefficients, getattr(b, attr).coefficients)
    pd.testing.assert_frame_equal(a.clinical.multivariable, b.clinical.multivariable)
    pd.testing.assert_frame_equal(a.nomogram.coefficients, b.nomogram.coefficients)
    pd.testing.assert_frame_equal(a.steps, b.steps)
    tr = lambda s: s.scores.loc[s.scores.set == "train"].reset_index(drop=True)
    pd.testing.assert_frame_equal(tr(a), tr(b))
    mt = lambda s: s.metrics.loc[s.metrics.set == "train"].reset_index(drop=True)
    pd.testing.assert_frame_equal(mt(a), mt(b))
    # and the run's own fit is the one fitted on these training rows
    run_coef = pd.read_csv(demo.out_dir / "stats" / "tables" / "nomogram_coefficients.csv")
    np.testing.assert_allclose(run_coef.select_dtypes("number").to_numpy(float),
                               a.nomogram.coefficients.select_dtypes("number").to_numpy(float), rtol=1e-10)


def test_deep_models_saw_only_training_patients(demo):
    import torch

    split = pd.read_csv(demo.out_dir / "split" / "split.csv", dtype={"patient_id": str})
    train_ids = set(split.loc[split.split == "train", "patient_id"])
    for p in sorted((demo.out_dir / "deep" / "models").glob("*/model.pt")):
        rec = torch.load(p, map_location="cpu", weights_only=False)
        assert set(rec["train_patients"]) <= train_ids and rec["train_patients"], p


def test_predict_reproduces_the_run_scores(demo, tmp_path):
    """`predict` with the saved model on training patients gives the scores computed during `run`."""
    from radnomo.pipeline.model import predict_cohort

    split = pd.read_csv(demo.out_dir / "split" / "split.csv", dtype={"patient_id": str})
    man = pd.read_csv(demo.out_dir / "split" / "manifest.csv", dtype={"patient_id": str})
    pick = split.loc[split.split == "train", "patient_id"].head(4).tolist()
    sub = man.loc[man.patient_id.isin(pick)].drop(columns=["split"])
    sub.to_csv(tmp_path / "manifest.csv", index=False)
    clinical = demo.out_dir.parent / "cohort" / "clinical.csv"
    got = predict_cohort(demo.model, tmp_path / "manifest.csv", clinical, tmp_path / "scores.csv",
                         workers=2, progress=False, log=lambda m: None).set_index("patient_id")
    ref = pd.read_csv(demo.out_dir / "stats" / "tables" / "scores.csv", dtype={"id": str})
    ref = ref.loc[ref.set == "train"].set_index("id").loc[pick]
    for m in ("clinical", "rad_score", "dl_score", "nomogram"):
        np.testing.assert_allclose(got.loc[pick, m].to_numpy(float), ref[m].to_numpy(float), rtol=1e-5, atol=1e-7,
                                   err_msg=m)
    info = json.loads((demo.model / "model.json").read_text(encoding="utf-8"))
    cut = info["cutoffs"]
    assert ((got.loc[pick, "nomogram"] >= cut["nomogram"]).astype(int) == got.loc[pick, "nomogram_positive"]).all()
    # model.json records the fits (which were penalised): the scores above reproduce them whichever they were
    fits = pd.read_csv(demo.out_dir / "stats" / "tables" / "fits.csv", keep_default_na=False)
    assert [(r["model"], r["method"]) for r in info["fits"]] == list(zip(fits["model"], fits["method"]))
    assert info["penalised"] == {m: k for m, k in zip(fits["model"], fits["method"]) if k != "ml"}


def test_cli_evaluate_on_labelled_cohort(demo, tmp_path):
    """`radnomo evaluate` reports Table 3's metrics; on the test set it reproduces the run's test rows."""
    from click.testing import CliRunner

    from radnomo.cli import main

    split = pd.read_csv(demo.out_dir / "split" / "split.csv", dtype={"patient_id": str})
    man = pd.read_csv(demo.out_dir / "split" / "manifest.csv", dtype={"patient_id": str})
    test_ids = split.loc[split.split == "test", "patient_id"].tolist()
    man.loc[man.patient_id.isin(test_ids)].drop(columns=["split"]).to_csv(tmp_path / "m.csv", index=False)
    # another site's clinical table: only the variables the frozen model uses, under other names
    info = json.loads((demo.model / "model.json").read_text(encoding="utf-8"))
    used = info["clinical_variables_used"]
    assert set(used) < set(info["columns"]["clinical"])  # fewer than the study's 22 candidates
    full = pd.read_csv(demo.out_dir.parent / "cohort" / "clinical.csv", dtype={"patient_id": str})
    site = full[["patient_id", *used]].rename(columns={v: f"Site_{v}" for v in used})
    site.to_csv(tmp_path / "site_clinical.csv", index=False)
    maps = [a for v in used for a in ("--map", f"Site_{v}={v}")]
    r = CliRunner().invoke(main, ["evaluate", str(demo.model), str(tmp_path / "m.csv"),
                                  "--clinical", str(tmp_path / "site_clinical.csv"), *maps,
                                  "--out", str(tmp_path / "ev"), "--workers", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    ev_json = json.loads((tmp_path / "ev" / "evaluation.json").read_text(encoding="utf-8"))
    assert ev_json["clinical_variables"] == used and ev_json["implementation"].startswith("R radnomo::evaluate_study")
    ev = pd.read_csv(tmp_path / "ev" / "metrics.csv").set_index("model")
    ref = pd.read_csv(demo.out_dir / "stats" / "tables" / "metrics.csv")
    ref = ref.loc[ref.set == "test"].set_index("model")
    for col in ("auc", "auc_lower", "auc_upper", "sensitivity", "specificity", "accuracy"):
        np.testing.assert_allclose(ev.loc[ref.index, col], ref[col], rtol=1e-4, atol=1e-6, err_msg=col)
    # calibration (external validation: HL with G df) and decision curves reproduce the run's test set
    cal = pd.read_csv(tmp_path / "ev" / "calibration_stats.csv")
    cal_ref = pd.read_csv(demo.out_dir / "stats" / "tables" / "calibration_test_stats.csv")
    for col in ("brier", "slope", "intercept", "hl_statistic", "hl_df", "hl_p"):
        np.testing.assert_allclose(cal[col], cal_ref[col], rtol=1e-4, atol=1e-8, err_msg=col)
    dc = pd.read_csv(tmp_path / "ev" / "decision.csv", keep_default_na=False, na_values=["NA", ""])
    dc_ref = pd.read_csv(demo.out_dir / "stats" / "tables" / "decision.csv", keep_default_na=False, na_values=["NA", ""])
    dc_ref = dc_ref.loc[dc_ref.set == "test"].drop(columns="set").reset_index(drop=True)
    assert len(dc) == len(dc_ref)
    np.testing.assert_allclose(dc["net_benefit"].to_numpy(float), dc_ref["net_benefit"].to_numpy(float),
                               rtol=1e-4, atol=1e-8)
