"""The statistics stage on data that separate (issue 9): the study completes under stats.separation,
and says what it did — fits table (CSV, results.json, report), warnings at the top of the report and in
the run record, model.json — and the saved model reproduces the penalised fits.

Data: the R tests' constructed separating study (tests/testthat/test-separation.R), written as the
upstream stages' outputs (split, clinical table, radiomics and deep feature tables), so that only the
stats, SHAP, model and report stages run (no images; a few seconds).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import write_upstream

from radnomo.pipeline.config import parse_config
from radnomo.pipeline.context import RunContext
from radnomo.pipeline.stages import STAGE_BY_NAME
from radnomo.pipeline.stages.stats import stats_warnings

STUDY_DIR = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence"



@pytest.fixture(scope="module")
def separating_data(separating_study_frame):
    return separating_study_frame


def _config(policy: str):
    # the R test's settings: fit_study defaults with clinical_alpha 0.5, B 20, seed 1
    return parse_config({"data": {"sequences": ["t2"], "clinical_variables": ["age", "sex"], "categorical": ["sex"]},
                         "stats": {"B": 20, "clinical_alpha": 0.5, "seed": 1, "separation": policy},
                         "report": {"shap_patients": 1}}, base_dir=STUDY_DIR)


def _run(root: Path, d: pd.DataFrame, policy: str, stages=("stats", "shap", "model", "report")):
    write_upstream(root, d, n_train=30, clinical=["age", "sex"])  # the R test's split: first 30 train
    ctx = RunContext.create(_config(policy), root, progress=False, log=lambda m: None)
    for name in stages:
        ctx.outcomes[name] = STAGE_BY_NAME[name](ctx)
    return ctx


@pytest.fixture(scope="module")
def firth_run(separating_data, tmp_path_factory):
    return _run(tmp_path_factory.mktemp("firth_run"), separating_data, "firth")


def test_fits_table_and_separation_warnings_everywhere(firth_run):
    root = firth_run.rundir.root
    fits = pd.read_csv(root / "stats" / "tables" / "fits.csv", keep_default_na=False)
    assert fits["model"].tolist() == ["rad_score", "dl_score", "clinical", "nomogram"]
    pen = fits.loc[fits.method != "ml"].set_index("model")
    assert pen["method"].to_dict() == {"dl_score": "firth", "nomogram": "firth"}
    notes = pen["note"].tolist()
    # the stage's warnings: each applied policy once, as "separation: <R's warning text>", first
    info = firth_run.outcomes["stats"].info
    assert info["separation_policy"] == "firth" and info["penalised"] == {"dl_score": "firth", "nomogram": "firth"}
    assert info["warnings"][:2] == [f"separation: {n}" for n in notes]
    assert not any(n in w for n in notes for w in info["warnings"][2:])  # R's copy not repeated
    # results.json: the fits table and the warnings in the run record
    res = json.loads((root / "report" / "results.json").read_text(encoding="utf-8"))
    assert [r["method"] for r in res["tables"]["fits"]] == ["ml", "firth", "ml", "firth"]
    assert res["tables"]["fits"][1]["separation"] is True and res["tables"]["fits"][1]["note"] == notes[0]
    assert res["tables"]["fits"][0]["note"] == ""  # nothing happened: an empty note, not null
    for n in notes:
        assert f"[stats] separation: {n}" in res["run_record"]["warnings"]
    # the report: warnings at the top, a "Model fits" table with the notes, before Table 3
    page = (root / "report" / "report.html").read_text(encoding="utf-8")
    import html

    top = html.unescape(page[page.index('id="warnings"'):page.index('id="table-1"')])
    for n in notes:
        assert f"[stats] separation: {n}" in top
    # the "Model fits" table (after the warnings, before Table 3) carries every note
    assert page.index('id="warnings"') < page.index('id="table-fits"') < page.index('id="table-3"')
    fits_html = page[page.index('id="table-fits"'):]
    assert "Model fits" in fits_html[:400]
    fits_html = html.unescape(fits_html[:fits_html.index("</table>")])
    assert all(n in fits_html for n in notes)
    # the R script that reruns the statistics uses the same policy
    assert 'separation = "firth"' in (root / "stats" / "fit_study.R").read_text(encoding="utf-8")


def test_model_records_the_penalised_fits_and_reproduces_them(firth_run):
    from radnomo.pipeline import study_adapter as sa

    root = firth_run.rundir.root
    info = json.loads((root / "model" / "model.json").read_text(encoding="utf-8"))
    assert info["separation_policy"] == "firth"
    assert info["penalised"] == {"dl_score": "firth", "nomogram": "firth"}
    fits = pd.read_csv(root / "stats" / "tables" / "fits.csv", keep_default_na=False)
    assert [r["model"] for r in info["fits"]] == fits["model"].tolist()
    assert [r["note"] for r in info["fits"]] == fits["note"].tolist()
    # the model's study.rds (stripped of patient data) scores the training patients as the run did
    study = sa.load(root / "model" / "study.rds")
    assert study.fits is not None and study.fits["method"].tolist() == fits["method"].tolist()
    train = pd.read_csv(root / "stats" / "data_train.csv.gz", dtype={"patient_id": str})
    got = sa.predict(study, train).set_index("patient_id")
    ref = pd.read_csv(root / "stats" / "tables" / "scores.csv", dtype={"id": str})
    ref = ref.loc[ref.set == "train"].set_index("id").loc[got.index]
    for m in ("rad_score", "dl_score", "clinical", "nomogram"):
        np.testing.assert_allclose(got[m].to_numpy(float), ref[m].to_numpy(float), rtol=1e-10, atol=0, err_msg=m)


def test_lasso_and_error_policies_through_the_stage(separating_data, tmp_path):
    from radnomo.errors import RError

    ctx = _run(tmp_path / "lasso", separating_data, "lasso", stages=("stats",))
    fits = pd.read_csv(tmp_path / "lasso" / "stats" / "tables" / "fits.csv", keep_default_na=False)
    assert fits.set_index("model")["method"].to_dict() == {"rad_score": "ml", "dl_score": "lasso",
                                                           "clinical": "ml", "nomogram": "firth"}
    assert any(w.startswith("separation: The DL score refit") and "LASSO" in w
               for w in ctx.outcomes["stats"].info["warnings"])
    # "error" keeps the old behaviour: the stage stops with R's message (not recorded as finished)
    with pytest.raises(RError, match='separation = "error"'):
        _run(tmp_path / "error", separating_data, "error", stages=("stats",))
    assert not (tmp_path / "error" / "stats" / "stage.json").exists()


def test_stats_warnings_names_policies_once_and_counts_repeats():
    fits = pd.DataFrame({"model": ["rad_score", "nomogram"], "method": ["ml", "firth"], "note": ["", "Nomo note."]})
    msgs = ["[R fit_study] Nomo note.", "[R fit_study] ci.auc() noise", "[R fit_study] ci.auc() noise", "other"]
    cats = ["RWarning", "RWarning", "RWarning", "UserWarning"]
    assert stats_warnings(msgs, cats, fits) == ["separation: Nomo note.",
                                                "RWarning: [R fit_study] ci.auc() noise (2 times)",
                                                "UserWarning: other"]
    # a policy whose R warning was not caught (e.g. a cached study) is still listed, from the table
    assert stats_warnings([], [], fits) == ["separation: Nomo note."]
    assert stats_warnings(["x"], ["RWarning"], None) == ["RWarning: x"]
