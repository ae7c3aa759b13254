"""Reliability cases: bad manifests (P01-P08 of the 28 that were handled well; I06, I07 of the 16 fixed).

Each bad manifest is given to ``radnomo extract radiomics`` with ``--out`` pointing at an
earlier, finished extraction: the command must fail with one line naming the file and
what is wrong, and the finished table, its errors file and its cache must be untouched.
"""

from __future__ import annotations

import pandas as pd
import pytest

from rel_helpers import (assert_clean_error, assert_same_features, assert_unchanged, cli, edit_manifest, features,
                         write_case)


def _copy_with(finished, fn, name="bad.csv"):
    df = pd.read_csv(finished["manifest"], dtype={"patient_id": str})
    path = finished["manifest"].with_name(name)
    out = fn(df)
    if out is not None:
        out.to_csv(path, index=False)
    return path


def _raw(finished, text: bytes, name: str):
    path = finished["manifest"].with_name(name)
    path.write_bytes(text)
    return path


CASES = {
    # id: (make the bad manifest, expected exit code, words the message must contain)
    "P01_manifest_file_missing": (lambda f: f["manifest"].with_name("nope.csv"), 2, ["nope.csv", "does not exist"]),
    "P02_no_patient_id_column": (lambda f: _copy_with(f, lambda d: d.rename(columns={"patient_id": "pid"})), 1,
                                 ["bad.csv", "no 'patient_id' column"]),
    "P03_duplicated_patient_id": (lambda f: _copy_with(f, lambda d: d.assign(patient_id=["C1", "C1", "C3"])), 1,
                                  ["bad.csv", "duplicated patient_id", "C1"]),
    "P04_image_column_without_mask": (lambda f: _copy_with(f, lambda d: d.drop(columns=["pvp_mask"])), 1,
                                      ["bad.csv", "pvp_image", "no matching image/mask partner"]),
    "P05_label_not_0_1": (lambda f: _copy_with(f, lambda d: d.assign(label=[0, 2, 1])), 1,
                          ["bad.csv", "'label' must be 0 or 1", "C2"]),
    "P06_split_not_train_test": (lambda f: _copy_with(f, lambda d: d.assign(split=["train", "validation", "test"])),
                                 1, ["bad.csv", "'split' must be 'train' or 'test'", "C2"]),
    "P07_unsupported_format": (lambda f: _raw(f, b"patient_id\tlabel\n", "cohort.xlsx"), 1,
                               ["cohort.xlsx", "unsupported format '.xlsx'"]),
    "P08_garbage_bytes": (lambda f: _raw(f, bytes(range(256)) * 40, "garbage.csv"), 1,
                          ["garbage.csv", "could not be read"]),
    "I06_manifest_without_rows": (lambda f: _copy_with(f, lambda d: d.iloc[0:0]), 1,
                                  ["bad.csv", "has no patients"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_manifest_is_refused_and_finished_output_kept(case, finished, params_yaml):
    make, rc, needles = CASES[case]
    manifest = make(finished)
    res = cli("extract", "radiomics", manifest, "--params", params_yaml, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert_clean_error(res.output, *needles, rc=rc, got_rc=res.exit_code)
    assert_unchanged(finished["before"], finished["outdir"])


def test_I06_empty_manifest_also_refused_by_preprocess(finished, tmp_path):
    manifest = _copy_with(finished, lambda d: d.iloc[0:0])
    res = cli("preprocess", manifest, "--out", tmp_path / "pre", "--reference", "pvp", "--workers", 1,
              "--no-progress")
    assert_clean_error(res.output, "has no patients", rc=1, got_rc=res.exit_code)
    assert not (tmp_path / "pre" / "manifest.csv").exists()


def test_I07_empty_image_cell_fails_only_that_patient(finished, params_yaml):
    """An empty pvp_image cell for C2: C2 fails with a message naming the cell; C1 and C3 are extracted
    (values equal to the finished run's), and the table is rewritten with them."""
    edit_manifest(finished["manifest"], lambda d: d.assign(pvp_image=[d.pvp_image[0], None, d.pvp_image[2]]))
    res = cli("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert_clean_error(res.output, "C2", "'pvp_image' is empty", rc=1, got_rc=res.exit_code)
    table = features(finished["out"])
    assert sorted(table.index) == ["C1", "C3"]
    assert_same_features(table, finished["table"], ["C1", "C3"])
    errors = pd.read_csv(finished["out"].with_name("radiomics.errors.csv"))
    assert errors.case_id.tolist() == ["C2"]


def test_I07_empty_image_cell_in_preprocess(tmp_path):
    from rel_helpers import write_cohort

    manifest = write_cohort(tmp_path / "c", size=(24, 24, 12))
    edit_manifest(manifest, lambda d: d.assign(ap_mask=[d.ap_mask[0], "  ", d.ap_mask[2]]))
    res = cli("preprocess", manifest, "--out", tmp_path / "pre", "--reference", "pvp", "--workers", 1,
              "--no-progress", "--no-n4")
    assert_clean_error(res.output, "C2", "'ap_mask' is empty", rc=1, got_rc=res.exit_code)
    out = pd.read_csv(tmp_path / "pre" / "manifest.csv", dtype={"patient_id": str})
    assert out.patient_id.tolist() == ["C1", "C3"]
