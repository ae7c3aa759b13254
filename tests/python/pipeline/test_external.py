"""External validation as another site does it (issue 13): `evaluate` through R ``evaluate_study``,
only the clinical variables the frozen model uses, and column mappings.

The frozen model is the synthetic study's (``conftest.py``: stats -> ... -> model, no images); its
test patients play the external cohort. The feature-extraction half of predict/evaluate is covered
by the demo test (tests/python/pipeline/test_demo.py).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from radnomo.errors import InputError


@pytest.fixture(scope="module")
def frozen(synthetic_run):
    """(model, study, external analysis table) of the synthetic run."""
    from radnomo.pipeline.model import load_model, model_study

    model = load_model(synthetic_run.root / "model")
    return model, model_study(model), synthetic_run.test


def previous_evaluate(scores: pd.DataFrame, cutoffs: dict, thresholds) -> dict:
    """What `radnomo evaluate` computed before it called R evaluate_study: the exported R functions
    composed in Python (pipeline/model.py ``evaluate_scores`` and ``calibration_groups``, removed)."""
    from radnomo.stats import calibration, decision_curve, delong_test, roc_metrics

    y = scores["label"].astype(int).to_numpy()
    models = [m for m in ("clinical", "rad_score", "dl_score", "nomogram") if m in scores and scores[m].notna().any()]
    metrics = pd.concat([roc_metrics(y, scores[m].to_numpy(float), threshold=cutoffs.get(m)).assign(model=m)
                         for m in models], ignore_index=True)
    out = {"metrics": metrics[["model", *[c for c in metrics.columns if c != "model"]]]}
    out["delong"] = delong_test(y, {m: scores[m].to_numpy(float) for m in models})
    cal = calibration(y, scores["nomogram"].to_numpy(float), groups=int(min(10, max(3, len(y) // 10))),
                      validation=True)
    out["calibration_curve"], out["calibration_stats"] = cal.curve, cal.stats
    out["decision"] = decision_curve(y, {m: scores[m].to_numpy(float) for m in models}, thresholds=thresholds)
    return out


def _same(a: pd.DataFrame, b: pd.DataFrame, what: str, rtol: float = 1e-12):
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert list(a.columns) == list(b.columns), (what, list(a.columns), list(b.columns))
    assert len(a) == len(b), what
    for c in a.columns:
        if pd.api.types.is_numeric_dtype(a[c]) and pd.api.types.is_numeric_dtype(b[c]):
            np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=rtol, atol=1e-14,
                                       equal_nan=True, err_msg=f"{what}: {c}")
        else:
            assert a[c].astype(str).tolist() == b[c].astype(str).tolist(), f"{what}: {c}"


def test_evaluate_via_r_equals_the_previous_outputs(frozen):
    """R evaluate_study through the bridge gives the tables the Python composition gave, same columns."""
    from radnomo.pipeline.model import evaluate_table, score_table

    model, study, ext = frozen
    scores = score_table(model, study, ext)
    thresholds = model.config.stats.thresholds()
    ref = previous_evaluate(scores, model.cutoffs, thresholds)
    got, warns = evaluate_table(study, ext)
    assert set(got) == set(ref) == {"metrics", "delong", "calibration_curve", "calibration_stats", "decision"}
    for name in ref:
        _same(got[name], ref[name], name)
    # the decision curves use the study's thresholds, which are the configuration's
    assert sorted(got["decision"].threshold.unique()) == pytest.approx(thresholds)


def test_evaluate_equals_the_studys_own_test_set_evaluation(frozen, synthetic_run):
    """The same R code evaluated the test set during the run: identical numbers."""
    from radnomo.pipeline.model import evaluate_table

    model, study, ext = frozen
    got, _ = evaluate_table(study, ext)
    t = synthetic_run.root / "stats" / "tables"
    m = pd.read_csv(t / "metrics.csv")
    _same(got["metrics"], m.loc[m.set == "test"].drop(columns="set"), "metrics")
    _same(got["calibration_stats"], pd.read_csv(t / "calibration_test_stats.csv"), "calibration stats")
    dc = pd.read_csv(t / "decision.csv")
    _same(got["decision"], dc.loc[dc.set == "test"].drop(columns="set"), "decision")


def test_evaluate_needs_the_outcome_and_degenerate_sets_give_scores_only(frozen):
    from radnomo.pipeline.model import evaluate_table

    model, study, ext = frozen
    with pytest.raises(InputError, match="outcome of every patient"):
        evaluate_table(study, ext.drop(columns="label"))
    got, warns = evaluate_table(study, ext.loc[ext.label == 0])
    assert got == {} and any("single outcome class" in w for w in warns)


def test_the_model_asks_only_for_the_clinical_variables_it_uses(frozen, synthetic_run):
    from radnomo.pipeline.model import study_clinical_variables

    model, study, _ = frozen
    used = study_clinical_variables(study, model.config.data.clinical_variables)
    # the clinical model's selected candidates (Table 2) and the nomogram's clinical predictors
    mv = pd.read_csv(synthetic_run.root / "stats" / "tables" / "clinical_multivariable.csv")
    assert set(used) == set(study.clinical.selected) and set(used) < {"age", "sex", "lnafp"}
    assert all(any(t.startswith(v) for t in mv.term) for v in used)
    assert set(study.nomogram.predictors) == {"rad_score", "dl_score", *used}
    info = json.loads((synthetic_run.root / "model" / "model.json").read_text(encoding="utf-8"))
    assert info["clinical_variables_used"] == list(used)


def _external_files(tmp_path, ext: pd.DataFrame, clinical: pd.DataFrame):
    """A manifest (image paths need not exist to read the cohort) and a clinical table."""
    man = pd.DataFrame({"patient_id": ext.patient_id, "label": ext.label,
                        "t2_image": [f"img/{p}.nii.gz" for p in ext.patient_id],
                        "t2_mask": [f"img/{p}_mask.nii.gz" for p in ext.patient_id]})
    man.to_csv(tmp_path / "manifest.csv", index=False)
    clinical.to_csv(tmp_path / "clinical.csv", index=False)
    return tmp_path / "manifest.csv", tmp_path / "clinical.csv"


def test_a_table_with_only_the_used_variables_under_other_names(frozen, tmp_path):
    """A site's table: other names, only the variables the model uses, an unused study variable missing
    for some patients — nobody is excluded for it, the mapped values arrive unchanged."""
    from radnomo.pipeline.model import load_new_cohort, score_table, study_clinical_variables

    model, study, ext = frozen
    used = study_clinical_variables(study, model.config.data.clinical_variables)
    theirs = {v: v.upper() + "_site" for v in used}
    clin = ext[["patient_id", *used]].rename(columns={**theirs, "patient_id": "PatientID"})
    clin["Age"] = np.where(np.arange(len(clin)) % 3 == 0, np.nan, 50.0)  # an unused variable, partly empty
    man, clin_path = _external_files(tmp_path, ext, clin)
    mapping = {"PatientID": "patient_id", **{t: v for v, t in theirs.items()}}
    cohort, variables = load_new_cohort(model, man, clin_path, tmp_path / "work", column_map=mapping,
                                        require_outcome=True)
    assert variables == used and len(cohort.excluded) == 0 and len(cohort.clinical) == len(ext)
    assert list(cohort.clinical.columns) == ["patient_id", *[c for c in clin.rename(columns=mapping).columns
                                                             if c != "patient_id"]]
    for v in used:
        got = cohort.clinical.set_index("patient_id")[v].loc[ext.patient_id]
        assert got.astype(str).tolist() == ext[v].astype(str).tolist(), v
    # scoring with only these columns gives the run's test-set risks
    table = cohort.clinical[["patient_id", *used]].merge(ext.drop(columns=["age", "sex", "lnafp"]), on="patient_id")
    a = score_table(model, study, table).set_index("patient_id")
    b = score_table(model, study, ext).set_index("patient_id")
    for m in ("clinical", "rad_score", "dl_score", "nomogram"):
        np.testing.assert_allclose(a[m].to_numpy(float), b.loc[a.index, m].to_numpy(float), rtol=1e-12, err_msg=m)


def test_missing_used_variable_and_unknown_mapping_names_are_named(frozen, tmp_path):
    from radnomo.pipeline.model import load_new_cohort, study_clinical_variables

    model, study, ext = frozen
    used = study_clinical_variables(study, model.config.data.clinical_variables)
    v = used[0]
    clin = ext[["patient_id", *used]].rename(columns={v: "Marker"})
    man, clin_path = _external_files(tmp_path, ext, clin)
    with pytest.raises(InputError, match=rf"lacks \['{v}'\], which the model uses.*--map THEIR_NAME=MODEL_NAME"):
        load_new_cohort(model, man, clin_path, tmp_path / "w1")
    with pytest.raises(InputError, match=r"\['Markr'\] not found in the clinical table"):
        load_new_cohort(model, man, clin_path, tmp_path / "w2", column_map={"Markr": v})
    with pytest.raises(InputError, match=r"\['lnafpp'\] are not names the model reads; map to one of"):
        load_new_cohort(model, man, clin_path, tmp_path / "w3", column_map={"Marker": "lnafpp"})
    with pytest.raises(InputError, match=r"already has column\(s\) \['patient_id'\]"):
        load_new_cohort(model, man, clin_path, tmp_path / "w4", column_map={"Marker": "patient_id"})
    with pytest.raises(InputError, match=r"give a table with them \(--clinical"):
        load_new_cohort(model, man, None, tmp_path / "w5")
    with pytest.raises(InputError, match=r"give the table with --clinical"):
        load_new_cohort(model, man, None, tmp_path / "w6", column_map={"Marker": v})
    cohort, _ = load_new_cohort(model, man, clin_path, tmp_path / "w7", column_map={"Marker": v})
    assert len(cohort.clinical) == len(ext)


def test_used_variables_are_checked_like_the_studys(frozen, tmp_path):
    """A numeric variable holding text is an error naming column and patient (the study's own check)."""
    from radnomo.pipeline.model import load_new_cohort

    model, study, ext = frozen
    if "lnafp" not in study.clinical.selected:
        pytest.skip("the synthetic study did not select lnafp")
    clin = ext[["patient_id", "lnafp"]].astype({"lnafp": object})
    clin.loc[0, "lnafp"] = "high"
    man, clin_path = _external_files(tmp_path, ext, clin)
    with pytest.raises(InputError, match=r"column 'lnafp': P\d+ \('high'\)"):
        load_new_cohort(model, man, clin_path, tmp_path / "w")


def test_read_column_map_pairs_and_files(tmp_path):
    from radnomo.pipeline.model import read_column_map

    assert read_column_map(["Sex=sex", "LnAFP=lnafp"]) == {"Sex": "sex", "LnAFP": "lnafp"}
    y = tmp_path / "map.yaml"
    y.write_text("Sex: sex\nLnAFP: lnafp\n", encoding="utf-8")
    c = tmp_path / "map.csv"
    c.write_text("column,model_column\nAge (years),age\n", encoding="utf-8")
    assert read_column_map([str(y), str(c), "ID=patient_id"]) == {"Sex": "sex", "LnAFP": "lnafp",
                                                                   "Age (years)": "age", "ID": "patient_id"}
    assert read_column_map(["Sex=sex", "Sex=sex"]) == {"Sex": "sex"}
    with pytest.raises(InputError, match="'Sex' is mapped twice"):
        read_column_map(["Sex=sex", "Sex=gender"])
    with pytest.raises(InputError, match="expected THEIR_NAME=MODEL_NAME or an existing"):
        read_column_map(["Sex"])
    with pytest.raises(InputError, match="empty column name"):
        read_column_map(["=sex"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InputError, match="must hold a mapping"):
        read_column_map([str(bad)])
    three = tmp_path / "three.csv"
    three.write_text("a,b,c\nx,y,z\n", encoding="utf-8")
    with pytest.raises(InputError, match="must have two columns"):
        read_column_map([str(three)])


def test_cli_map_errors_are_one_line(frozen, tmp_path):
    from click.testing import CliRunner

    from radnomo.cli import main

    model, study, ext = frozen
    man, clin_path = _external_files(tmp_path, ext, ext[["patient_id", "age", "sex", "lnafp"]])
    r = CliRunner().invoke(main, ["evaluate", str(model.path), str(man), "--clinical", str(clin_path),
                                  "--map", "Gender=sex", "--out", str(tmp_path / "ev"), "--quiet"])
    assert r.exit_code == 1 and "Error: column mapping: ['Gender'] not found in the clinical table" in r.output
    assert "Traceback" not in r.output
    r = CliRunner().invoke(main, ["predict", str(model.path), str(man), "--map", "Sex", "--out",
                                  str(tmp_path / "s.csv"), "--quiet"])
    assert r.exit_code == 1 and "expected THEIR_NAME=MODEL_NAME" in r.output
    r = CliRunner().invoke(main, ["predict", "--help"])
    assert "--map" in r.output and "THEIRS=MODEL_NAME" in r.output
