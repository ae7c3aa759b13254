"""Cohort reading and the stratified split (python/radnomo/pipeline/cohort.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radnomo.errors import InputError
from radnomo.pipeline.cohort import PipelineWarning, load_cohort, stratified_split


def test_stratified_split_is_7_to_3_per_class_and_seeded():
    labels = pd.Series([1] * 69 + [0] * 155, index=[f"P{i:03d}" for i in range(224)])  # the study's 69/224
    s = stratified_split(labels, 0.3, seed=5)
    assert (s[labels == 1] == "test").sum() == round(69 * 0.3) == 21
    assert (s[labels == 0] == "test").sum() == round(155 * 0.3) == 46
    assert s.equals(stratified_split(labels, 0.3, seed=5))
    assert not s.equals(stratified_split(labels, 0.3, seed=6))


def test_split_refuses_a_set_without_both_outcomes():
    with pytest.raises(InputError, match="too small or too unbalanced"):
        stratified_split(pd.Series([1, 0, 0, 0, 0], index=list("abcde")), 0.3, seed=1)


def _write(tmp_path, clinical_rows):
    man = pd.DataFrame({"patient_id": ["A", "B", "C", "D"], "label": [1, 0, 1, 0],
                        "t2_image": ["a.nii"] * 4, "t2_mask": ["m.nii"] * 4,
                        "pvp_image": ["a.nii"] * 4, "pvp_mask": ["m.nii"] * 4})
    man.to_csv(tmp_path / "manifest.csv", index=False)
    pd.DataFrame(clinical_rows).to_csv(tmp_path / "clinical.csv", index=False)
    return tmp_path / "manifest.csv", tmp_path / "clinical.csv"


def test_load_cohort_excludes_and_names_patients(tmp_path):
    m, c = _write(tmp_path, {"patient_id": ["A", "B", "C"], "age": [50, np.nan, 60]})
    with pytest.warns(PipelineWarning, match=r"2 of 4 patient\(s\) excluded.*D \(no row in the clinical table\).*B \(empty clinical cell\(s\): age\)"):
        co = load_cohort(m, c, clinical_variables=["age"], sequences=["pvp"])
    assert co.manifest.patients == ["A", "C"] and co.manifest.sequences == ("pvp",)
    assert co.labels.to_dict() == {"A": 1, "C": 1}
    assert set(co.excluded.patient_id) == {"B", "D"}


def test_load_cohort_errors_name_file_and_column(tmp_path):
    m, c = _write(tmp_path, {"patient_id": ["A", "B", "C", "D"], "age": [1, 2, 3, 4]})
    with pytest.raises(InputError, match=r"clinical.csv: column\(s\) \['lnafp'\]"):
        load_cohort(m, c, clinical_variables=["age", "lnafp"])
    with pytest.raises(InputError, match=r"sequence\(s\) \['dp'\]"):
        load_cohort(m, c, sequences=["dp"])
    with pytest.raises(InputError, match="outcome column 'recurrence'"):
        load_cohort(m, c, outcome="recurrence")
    with pytest.raises(InputError, match="no id column 'pid'"):
        load_cohort(m, c, id="pid")


def test_outcome_disagreement_excludes_only_that_patient(tmp_path):
    """A patient whose outcome differs between manifest and clinical table is excluded with a reason
    naming both values and both files; the others go on."""
    m, c = _write(tmp_path, {"patient_id": ["A", "B", "C", "D"], "age": [50, 55, 60, 65], "label": [1, 1, 1, 0]})
    with pytest.warns(PipelineWarning, match=r"1 of 4 patient\(s\) excluded \(1 outcome 'label' differs between "
                      r"manifest and clinical table\)"):
        co = load_cohort(m, c, clinical_variables=["age"])
    assert co.manifest.patients == ["A", "C", "D"]
    assert co.labels.to_dict() == {"A": 1, "C": 1, "D": 0}
    assert co.excluded.to_dict(orient="records") == [
        {"patient_id": "B", "reason": "outcome 'label' differs between manifest and clinical table: 0 in the "
                                      "manifest manifest.csv, 1 in the clinical table clinical.csv"}]


def test_outcome_disagreement_of_every_patient_stops(tmp_path):
    m, c = _write(tmp_path, {"patient_id": ["A", "B", "C", "D"], "label": [0, 1, 0, 1]})
    with pytest.warns(PipelineWarning), pytest.raises(InputError, match=r"no patient of .*manifest.csv is usable: "
                                                                        r"4 of 4 patient\(s\) excluded"):
        load_cohort(m, c)


def test_fit_size_check_names_the_counts():
    from radnomo.pipeline.cohort import check_fit_size

    ids = [f"P{i}" for i in range(16)]
    y = pd.Series([i % 2 for i in range(16)], index=ids)
    split = pd.Series(["train"] * 12 + ["test"] * 4, index=ids)
    check_fit_size(y, split, nfolds=5, validation_folds=5)  # enough
    with pytest.raises(InputError) as e:
        check_fit_size(y, split, nfolds=15, n_excluded=2)
    msg = str(e.value)
    assert msg.startswith("the cohort is too small to fit the models (2 patient(s) excluded before the split")
    assert "training set 12 patient(s) (6 event(s), 6 non-event(s)), test set 4 patient(s) (2 event(s), " \
           "2 non-event(s))" in msg
    assert "at least 15 training patients (stats.nfolds" in msg and "one event and one non-event" not in msg
    assert "bootstrap" not in msg
    one_class = pd.Series([0] * 12 + [1, 0, 1, 0], index=ids)
    with pytest.raises(InputError, match=r"training set 12 patient\(s\) \(0 event\(s\), 12 non-event\(s\)\).*"
                                         r"at least one event and one non-event in the training set"):
        check_fit_size(one_class, split, nfolds=5)
    with pytest.raises(InputError, match=r"test set 0 patient\(s\).*need at least 20 training patients \(validation.folds\); at least one test patient\."):
        check_fit_size(y, pd.Series("train", index=ids), nfolds=5, validation_folds=20)


def test_fit_size_check_knows_the_bootstrap_minimum():
    """6 training patients pass stats.nfolds = 5 but R's bootstrap calibration of the nomogram needs more
    than 10 (R/calibration.R): the early check says so instead of the stats stage failing after the
    feature extraction (found in a user trial)."""
    from radnomo.pipeline.cohort import MIN_BOOTSTRAP_TRAIN, check_fit_size

    assert MIN_BOOTSTRAP_TRAIN == 10
    ids = [f"P{i}" for i in range(8)]
    y = pd.Series([i % 2 for i in range(8)], index=ids)
    split = pd.Series(["train"] * 6 + ["test"] * 2, index=ids)
    with pytest.raises(InputError, match=r"more than 10 training patients \(the nomogram's bootstrap calibration\)"):
        check_fit_size(y, split, nfolds=5, validation_folds=5)
    ids = [f"P{i}" for i in range(13)]
    y = pd.Series([i % 2 for i in range(13)], index=ids)
    check_fit_size(y, pd.Series(["train"] * 11 + ["test"] * 2, index=ids), nfolds=5)  # 11 > 10: enough


def test_run_stops_after_the_split_when_the_cohort_is_too_small(tmp_path):
    """radnomo run stops right after the split (before preprocessing) when the training set is smaller
    than stats.nfolds; --until split still splits such a cohort."""
    from radnomo.pipeline.config import parse_config
    from radnomo.pipeline.runner import run_study

    ids = [f"S{i:02d}" for i in range(12)]
    pd.DataFrame({"patient_id": ids, "label": [i % 2 for i in range(12)], "ap_image": "x.nrrd",
                  "ap_mask": "x_mask.nrrd"}).to_csv(tmp_path / "manifest.csv", index=False)
    pd.DataFrame({"patient_id": ids, "age": np.arange(12.0)}).to_csv(tmp_path / "clinical.csv", index=False)
    study = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence"
    cfg = parse_config({"data": {"manifest": str(tmp_path / "manifest.csv"), "clinical": str(tmp_path / "clinical.csv"),
                                 "sequences": ["ap"], "clinical_variables": ["age"]}}, base_dir=study)
    assert cfg.stats.nfolds == 10
    summary = run_study(cfg, tmp_path / "split_only", until="split", progress=False, log=lambda m: None)
    assert (summary.out_dir / "split" / "split.csv").exists()
    with pytest.raises(InputError, match=r"too small to fit the models: training set 8 patient\(s\) \(4 event\(s\), "
                                         r"4 non-event\(s\)\), test set 4 patient\(s\).*at least 10 training patients"):
        run_study(cfg, tmp_path / "run", progress=False, log=lambda m: None)
    assert (tmp_path / "run" / "split" / "split.csv").exists() and not (tmp_path / "run" / "preprocess").exists()
    # the reused split is checked too (a rerun does not go on to preprocessing)
    with pytest.raises(InputError, match="too small to fit the models"):
        run_study(cfg, tmp_path / "run", progress=False, log=lambda m: None)
    assert not (tmp_path / "run" / "preprocess").exists()


def test_predict_scores_write_the_outcome_as_integers(tmp_path, monkeypatch):
    """scores.csv of predict/evaluate: the outcome as 0/1 integers (empty where unknown), not 0.0/1.0."""
    from types import SimpleNamespace

    from radnomo.io.atomic import write_csv
    from radnomo.pipeline import model as M
    from radnomo.pipeline import study_adapter as sa

    def predict(study, table, id):
        return pd.DataFrame({"patient_id": table[id].to_numpy(), "nomogram": [0.2, 0.7, 0.4]})

    monkeypatch.setattr(sa, "predict", predict)
    fake = SimpleNamespace(cutoffs={"nomogram": 0.5})
    for labels, want in (([1.0, 0.0, 1.0], "1,0,1"), ([1.0, np.nan, 0.0], "1,,0")):
        table = pd.DataFrame({"patient_id": ["A", "B", "C"], "label": labels})
        scores = M.score_table(fake, None, table)
        write_csv(scores, tmp_path / "scores.csv")
        lines = (tmp_path / "scores.csv").read_text().splitlines()
        assert lines[0] == "patient_id,label,nomogram,nomogram_positive"
        assert ",".join(ln.split(",")[1] for ln in lines[1:]) == want
        back = pd.read_csv(tmp_path / "scores.csv")
        assert back["label"].tolist()[0] == 1


def test_bootstrap_minimum_is_the_one_r_enforces():
    """MIN_BOOTSTRAP_TRAIN mirrors R's bootstrap calibration (R/calibration.R): R refuses a fit on that
    many patients and accepts one more, so the early check and R agree."""
    import numpy as np

    from radnomo import stats
    from radnomo.pipeline.cohort import MIN_BOOTSTRAP_TRAIN

    rng = np.random.default_rng(4)
    for n, ok in ((MIN_BOOTSTRAP_TRAIN, False), (MIN_BOOTSTRAP_TRAIN + 1, True)):
        d = pd.DataFrame({"a": rng.normal(size=n), "label": [0, 1] * (n // 2) + [0] * (n % 2)})
        nm = stats.fit_nomogram(d, "label", ["a"])
        risk = nm.predict(d)
        if ok:
            stats.calibration(d["label"], risk, fit=nm, B=5, seed=1)
        else:
            with pytest.raises(InputError, match="more than 10 patients"):
                stats.calibration(d["label"], risk, fit=nm, B=5, seed=1)
