"""Cohort reading and the stratified split (python/radnomo/pipeline/cohort.py)."""

from __future__ import annotations

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
