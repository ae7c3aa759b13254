"""Reliability cases: bad images and masks of one patient (P09-P17; I08-I11).

Per-patient problems in ``radnomo extract radiomics``: patient C2's ``pvp`` files are
damaged after a finished extraction; the rerun into the same output must exit 1, name
C2, the sequence and the file with what is wrong, extract C1 and C3 with the same values
as before, and record C2 in ``radiomics.errors.csv``. The preprocessing cases do the
same with ``radnomo preprocess``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from rel_helpers import (assert_clean_error, assert_same_features, cli, features, image_arrays, write_cohort,
                         write_image)


def _c2(finished, name):
    return finished["root"] / "cohort" / "img_C2" / name


def _missing(f):
    _c2(f, "pvp.nrrd").unlink()


def _garbage(f):
    _c2(f, "pvp.nrrd").write_bytes(b"NRRD0004\n" + bytes(range(256)) * 8)


def _empty_mask(f):
    img = sitk.ReadImage(str(_c2(f, "pvp.nrrd")))
    write_image(np.zeros((12, 16, 16), np.uint8), _c2(f, "pvp_mask.nrrd"), like=img)


def _mask_other_grid(f):
    write_image(np.ones((10, 16, 16), np.uint8), _c2(f, "pvp_mask.nrrd"))


def _fractional_mask(f):
    img = sitk.ReadImage(str(_c2(f, "pvp.nrrd")))
    m = np.zeros((12, 16, 16), np.float32)
    m[3:9, 4:12, 4:12] = 0.5
    write_image(m, _c2(f, "pvp_mask.nrrd"), like=img)


def _rgb_image(f):
    img = sitk.Compose([sitk.ReadImage(str(_c2(f, "pvp.nrrd")))] * 3)
    sitk.WriteImage(img, str(_c2(f, "pvp.nrrd")))


def _single_voxel_roi(f):
    img = sitk.ReadImage(str(_c2(f, "pvp.nrrd")))
    m = np.zeros((12, 16, 16), np.uint8)
    m[5, 5, 5] = 1
    write_image(m, _c2(f, "pvp_mask.nrrd"), like=img)


def _nan_voxels(f):
    arr, _ = image_arrays(7)
    arr[0, 0, :3] = np.nan
    arr[1, 1, :2] = np.inf
    write_image(arr, _c2(f, "pvp.nrrd"))


def _huge_spacing(f):
    for name in ("pvp.nrrd", "pvp_mask.nrrd"):
        img = sitk.ReadImage(str(_c2(f, name)))
        img.SetSpacing((1e6, 1e6, 1e6))
        sitk.WriteImage(img, str(_c2(f, name)))


CASES = {
    "P09_image_file_missing": (_missing, ["image file not found", "pvp.nrrd"]),
    "P10_image_unreadable": (_garbage, ["pvp.nrrd", "cannot be read as an image"]),
    "P11_mask_empty": (_empty_mask, ["pvp_mask.nrrd", "mask is empty for label 1"]),
    "P12_mask_on_another_grid": (_mask_other_grid, ["pvp_mask.nrrd", "geometry does not match", "size"]),
    "P13_mask_not_a_label_image": (_fractional_mask, ["pvp_mask.nrrd", "non-integer values"]),
    "P14_rgb_image": (_rgb_image, ["pvp.nrrd", "3 components per voxel"]),
    "P15_roi_too_small": (_single_voxel_roi, ["pvp.nrrd", "single voxel"]),
    "I08_nan_inf_voxels": (_nan_voxels, ["pvp.nrrd", "image contains 5 NaN/Inf voxel(s) (3 NaN, 2 Inf)"]),
    "I09_implausible_spacing": (_huge_spacing, ["pvp.nrrd", "voxel spacing [1000000.0, 1000000.0, 1000000.0] mm",
                                                "outside the plausible range 0.05-20 mm"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_image_fails_only_that_patient(case, finished, params_yaml):
    damage, needles = CASES[case]
    damage(finished)
    res = cli("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert_clean_error(res.output, "C2", "'pvp'", *needles, rc=1, got_rc=res.exit_code)
    assert "1 of 3 patient(s) failed" in res.output
    table = features(finished["out"])
    assert sorted(table.index) == ["C1", "C3"]
    assert_same_features(table, finished["table"], ["C1", "C3"])
    errors = pd.read_csv(finished["out"].with_name("radiomics.errors.csv"))
    assert errors.case_id.tolist() == ["C2"]


# ---------------------------------------------------------------------------------- preprocess ---

@pytest.fixture
def pre_cohort(tmp_path):
    return write_cohort(tmp_path / "c", size=(24, 24, 12))


def _preprocess(manifest, out, *extra):
    return cli("preprocess", manifest, "--out", out, "--reference", "pvp", "--workers", 1, "--no-progress",
               "--no-n4", "--registration", "none", *extra)


def test_I08_nan_voxels_named_before_preprocessing_writes_anything(pre_cohort, tmp_path):
    arr, _ = image_arrays(3, (24, 24, 12))
    arr[2, 2, 2] = np.nan
    write_image(arr, pre_cohort.parent / "img_C2" / "ap.nrrd")
    res = _preprocess(pre_cohort, tmp_path / "pre")
    assert_clean_error(res.output, "patient 'C2', sequence 'ap'", "image contains 1 NaN/Inf voxel(s)", rc=1,
                       got_rc=res.exit_code)
    assert not (tmp_path / "pre" / "images" / "C2").exists()  # nothing of C2 written (no NaN -> 0 in NIfTI)
    out = pd.read_csv(tmp_path / "pre" / "manifest.csv")
    assert out.patient_id.tolist() == ["C1", "C3"]


def test_I09_spacing_range_is_configurable_and_constant_output_fails_qc(pre_cohort, tmp_path):
    """Spacing 30 mm: refused by default (0.05-20 mm), accepted with --spacing-range 0.05,50. An image
    that preprocesses to a constant fails QC loudly (no output for that patient)."""
    for name in ("pvp.nrrd", "pvp_mask.nrrd", "ap.nrrd", "ap_mask.nrrd"):
        p = pre_cohort.parent / "img_C2" / name
        img = sitk.ReadImage(str(p))
        img.SetSpacing((30.0, 1.0, 1.0))
        sitk.WriteImage(img, str(p))
    res = _preprocess(pre_cohort, tmp_path / "pre")
    assert_clean_error(res.output, "C2", "outside the plausible range 0.05-20 mm", rc=1, got_rc=res.exit_code)
    res = _preprocess(pre_cohort, tmp_path / "pre2", "--spacing-range", "0.05,50")
    assert res.exit_code == 0, res.output
    # a constant image fails loudly for that patient (input check; the output QC: next test), nothing written
    img = sitk.ReadImage(str(pre_cohort.parent / "img_C3" / "ap.nrrd"))
    const = sitk.GetImageFromArray(np.full((12, 24, 24), 17.46, np.float32))
    const.CopyInformation(img)
    sitk.WriteImage(const, str(pre_cohort.parent / "img_C3" / "ap.nrrd"))
    res = _preprocess(pre_cohort, tmp_path / "pre3", "--spacing-range", "0.05,50", "--normalization", "none")
    assert_clean_error(res.output, "patient 'C3', sequence 'ap'", "is constant (17.46 everywhere)", rc=1,
                       got_rc=res.exit_code)
    assert not (tmp_path / "pre3" / "images" / "C3").exists()
    assert pd.read_csv(tmp_path / "pre3" / "manifest.csv").patient_id.tolist() == ["C1", "C2"]


def test_I09_constant_image_check_unit():
    from radnomo.errors import InputError
    from radnomo.preprocess.cohort import check_preprocessed

    mask = sitk.GetImageFromArray(np.ones((4, 4, 4), np.uint8))
    with pytest.raises(InputError, match=r"x: QC failed: the preprocessed image is constant \(17.46 everywhere\)"):
        check_preprocessed(sitk.GetImageFromArray(np.full((4, 4, 4), 17.46, np.float32)), mask, where="x")
    roi_const = np.random.default_rng(0).normal(0, 1, (4, 4, 4)).astype(np.float32)
    roi_const[1:3, 1:3, 1:3] = 5.0
    inner = np.zeros((4, 4, 4), np.uint8)
    inner[1:3, 1:3, 1:3] = 1
    with pytest.raises(InputError, match="constant inside the ROI"):
        check_preprocessed(sitk.GetImageFromArray(roi_const), sitk.GetImageFromArray(inner), where="x")
    with pytest.raises(InputError, match="NaN/Inf"):
        check_preprocessed(sitk.GetImageFromArray(np.full((4, 4, 4), np.nan, np.float32)), mask, where="x")
    noisy = sitk.GetImageFromArray(np.random.default_rng(0).normal(0, 1, (4, 4, 4)).astype(np.float32))
    check_preprocessed(noisy, mask, where="x")


def test_I10_2d_image_named_with_patient_and_sequence(pre_cohort, tmp_path):
    arr, m = image_arrays(5, (24, 24, 12))
    img = write_image(arr[6], pre_cohort.parent / "img_C2" / "ap.nrrd")
    write_image(m[6], pre_cohort.parent / "img_C2" / "ap_mask.nrrd", like=img)
    res = _preprocess(pre_cohort, tmp_path / "pre")
    assert_clean_error(res.output, "patient 'C2', sequence 'ap'", "is a 2-D image", "24 x 24 x 1",
                       "needs a 3-D volume", rc=1, got_rc=res.exit_code)
    assert "RecursiveGaussian" not in res.output
    assert pd.read_csv(tmp_path / "pre" / "manifest.csv").patient_id.tolist() == ["C1", "C3"]


def test_I11_roi_covering_the_image_warns(finished, params_yaml, pre_cohort, tmp_path):
    img = sitk.ReadImage(str(_c2(finished, "pvp.nrrd")))
    write_image(np.ones((12, 16, 16), np.uint8), _c2(finished, "pvp_mask.nrrd"), like=img)
    res = cli("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", finished["out"],
              "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    assert "patient 'C2', sequence 'pvp'" in res.output and "the ROI covers 100.0 % of the image" in res.output
    assert sorted(features(finished["out"]).index) == ["C1", "C2", "C3"]
    # preprocess: the warning on the console and in qc.csv; configurable share
    img = sitk.ReadImage(str(pre_cohort.parent / "img_C1" / "pvp.nrrd"))
    write_image(np.ones((12, 24, 24), np.uint8), pre_cohort.parent / "img_C1" / "pvp_mask.nrrd", like=img)
    res = _preprocess(pre_cohort, tmp_path / "pre")
    assert res.exit_code == 0, res.output
    assert "warning: patient 'C1', sequence 'pvp'" in res.output and "covers 100.0 %" in res.output
    qc = pd.read_csv(tmp_path / "pre" / "qc.csv")
    assert qc.loc[qc.patient_id == "C1", "warning"].notna().any()
    assert qc.loc[qc.patient_id != "C1", "warning"].isna().all()
    res = _preprocess(pre_cohort, tmp_path / "pre_quiet", "--max-roi-fraction", "1")
    assert res.exit_code == 0 and "covers" not in res.output


def test_P16_reference_sequence_not_in_manifest(pre_cohort, tmp_path):
    res = cli("preprocess", pre_cohort, "--out", tmp_path / "pre", "--reference", "t1", "--workers", 1,
              "--no-progress")
    assert_clean_error(res.output, "reference sequence 't1' is not in the manifest", "['ap', 'pvp']", rc=1,
                       got_rc=res.exit_code)
