"""Preprocessing steps and the cohort runner, on small synthetic phantoms with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from click.testing import CliRunner

from phantoms import phantom
from radnomo.errors import InputError
from radnomo.io.manifest import read_manifest
from radnomo.preprocess import (N4, Normalize, PreprocessConfig, Registration, Resample, preprocess_cohort,
                                reference_grid)


def test_config_validation():
    assert PreprocessConfig().reference == "pvp"
    with pytest.raises(InputError, match="registration"):
        PreprocessConfig(registration="bspline")
    with pytest.raises(InputError, match="spacing"):
        PreprocessConfig(spacing=(1, 1))
    with pytest.raises(InputError, match="n4_shrink_factor"):
        PreprocessConfig(n4_shrink_factor=0)
    with pytest.raises(InputError, match="normalization"):
        PreprocessConfig(normalization="minmax")


@pytest.mark.parametrize("method", ["rigid", "affine"])
def test_registration_recovers_known_translation(method):
    fixed, _ = phantom("pvp")
    moving, _ = phantom("ap", shift_mm=(3.0, -2.0, 2.5), seed=3)  # other contrast: needs mutual information
    tx, rec = Registration(method=method).apply(fixed, moving)
    # the transform maps fixed-space points to the moving image: a pure shift of (3, -2, 2.5) mm
    centre = fixed.TransformContinuousIndexToPhysicalPoint([s / 2 for s in fixed.GetSize()])
    moved = np.array(tx.TransformPoint(centre)) - np.array(centre)
    np.testing.assert_allclose(moved, (3.0, -2.0, 2.5), atol=0.5)
    assert rec["metric_after"] < rec["metric_before"] - 0.1  # Mattes MI: lower is better


def test_resample_to_1mm_grid_and_nearest_neighbour_mask():
    img, msk = phantom("pvp")  # 1.5 x 1.5 x 2.5 mm, 40 x 40 x 20
    grid = reference_grid(img, (1.0, 1.0, 1.0))
    assert grid.GetSize() == (60, 60, 50) and grid.GetSpacing() == (1.0, 1.0, 1.0)
    r = Resample((1.0, 1.0, 1.0))
    out_m = r.mask(msk, grid)
    assert set(np.unique(sitk.GetArrayFromImage(out_m))) <= {0, 1}
    # the ROI volume is preserved to within a few percent (sphere of radius 7 mm: 1437 mm3)
    vol_in = sitk.GetArrayFromImage(msk).sum() * 1.5 * 1.5 * 2.5
    vol_out = sitk.GetArrayFromImage(out_m).sum() * 1.0
    assert vol_out == pytest.approx(vol_in, rel=0.05)
    assert vol_out == pytest.approx(4 / 3 * np.pi * 7 ** 3, rel=0.08)
    # physical extent is kept: first and last voxel faces coincide
    assert np.allclose(np.array(grid.GetOrigin()) - 0.5, np.array(img.GetOrigin()) - np.array(img.GetSpacing()) / 2)
    out_i = r.image(img, grid)
    assert out_i.GetPixelID() == sitk.sitkFloat32


def test_n4_removes_a_multiplicative_bias():
    biased, _ = phantom("pvp", bias=True, seed=5)
    clean, _ = phantom("pvp", bias=False, seed=5)
    organ = sitk.GetArrayFromImage(clean) > 450  # organ plateau 500 (lesion 350 and rod 900 excluded)
    organ &= sitk.GetArrayFromImage(clean) < 560

    def cv(img):
        a = sitk.GetArrayFromImage(img)[organ]
        return a.std() / a.mean()

    corrected, rec = N4(shrink_factor=2, iterations=(50, 50)).apply(biased)
    assert cv(biased) > 0.07  # exp(0.4 x) across the organ: ~7.6 % CV (noise alone: 2 %)
    # back to the noise floor of the unbiased phantom (measured: 7.6 % -> 2.05 %, unbiased 2.0 %)
    assert cv(corrected) < 1.2 * cv(clean)
    assert rec["shrink_factor"] == 2 and rec["iterations"] == [50, 50]
    off, rec_off = N4(enabled=False).apply(biased)
    np.testing.assert_allclose(sitk.GetArrayFromImage(off), sitk.GetArrayFromImage(biased), rtol=1e-6)


def test_normalize_zscore_and_deferred():
    img, _ = phantom("t2")
    z, rec = Normalize("zscore").apply(img)
    a = sitk.GetArrayFromImage(z).astype(np.float64)
    assert a.mean() == pytest.approx(0, abs=1e-5) and a.std() == pytest.approx(1, abs=1e-5)
    same, rec = Normalize("pyradiomics").apply(img)
    assert same is img and "PyRadiomics" in rec["note"]


def test_preprocess_cohort_outputs_qc_errors_and_rerun(cohort_dir, tmp_path):
    root = cohort_dir.parent
    # break patient P02: its dp mask becomes empty
    m = sitk.ReadImage(str(root / "P02" / "dp_mask.nii.gz"))
    sitk.WriteImage(m * 0, str(root / "P02" / "dp_mask.nii.gz"))
    out = tmp_path / "pre"
    cfg = PreprocessConfig(n4_iterations=(20, 20), registration_iterations=100)
    res = preprocess_cohort(cohort_dir, out, cfg, workers=1, progress=False)
    assert res.n_ok == 1 and res.n_failed == 1
    assert "P02" in res.errors.loc[0, "message"] and "dp_mask" in res.errors.loc[0, "message"]
    assert pd.read_csv(out / "errors.csv")["case_id"].tolist() == ["P02"]

    man = read_manifest(out / "manifest.csv")  # same manifest format, paths relative to out
    assert man.sequences == ("t2", "ap", "pvp", "dp") and man.patients == ["P01"]
    assert man.table.loc[0, "label"] == 0 and man.table.loc[0, "split"] == "train" and man.table.loc[0, "age"] == 50
    pd.testing.assert_frame_equal(pd.read_parquet(out / "manifest.parquet"), pd.read_csv(out / "manifest.csv"),
                                  check_dtype=False)
    for seq in man.sequences:
        img = sitk.ReadImage(str(man.image_path("P01", seq)))
        msk = sitk.ReadImage(str(man.mask_path("P01", seq)))
        assert img.GetSpacing() == (1.0, 1.0, 1.0) and msk.GetSize() == img.GetSize()
    qc = pd.read_csv(out / "qc.csv")
    assert len(qc) == 4 and set(qc["sequence"]) == set(man.sequences)
    ap = qc.set_index("sequence").loc["ap"]
    assert ap["metric_after"] < ap["metric_before"]  # ap was shifted by (3, -2, 0) mm
    assert ap["n4_shrink_factor"] == 4 and ap["n4_iterations"] == "20 20"
    png = out / "qc" / "P01.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000

    # the registered ap lesion overlaps the reference mask (its intensity is ap's lesion value 700)
    ap_img = sitk.GetArrayFromImage(sitk.ReadImage(str(man.image_path("P01", "ap"))))
    roi = sitk.GetArrayFromImage(sitk.ReadImage(str(man.mask_path("P01", "ap")))) == 1
    assert np.median(ap_img[roi]) == pytest.approx(700, abs=40)

    # rerun after fixing P02: P01 from cache, P02 computed
    sitk.WriteImage(sitk.ReadImage(str(root / "P02" / "pvp_mask.nii.gz")), str(root / "P02" / "dp_mask.nii.gz"))
    res2 = preprocess_cohort(cohort_dir, out, cfg, workers=1, progress=False)
    assert res2.n_ok == 2 and res2.n_failed == 0 and res2.n_cached == 1
    assert read_manifest(out / "manifest.csv").patients == ["P01", "P02"]


def test_unknown_reference_is_an_error(cohort_dir, tmp_path):
    with pytest.raises(InputError, match="reference sequence 'venous'"):
        preprocess_cohort(cohort_dir, tmp_path / "o", PreprocessConfig(reference="venous"), progress=False)


def test_cli_preprocess(cohort_dir, tmp_path):
    from radnomo.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["preprocess", "--help"])
    assert r.exit_code == 0
    for opt in ("--out", "--reference", "--registration", "--n4-shrink", "--n4-iterations", "--spacing",
                "--normalization", "--workers", "--scheduler"):
        assert opt in r.output
    r = runner.invoke(main, ["preprocess", str(cohort_dir), "--out", str(tmp_path / "o"), "--workers", "1",
                             "--no-n4", "--registration", "none", "--spacing", "2", "--no-progress"])
    assert r.exit_code == 0, r.output
    img = sitk.ReadImage(str(tmp_path / "o" / "images" / "P01" / "t2.nii.gz"))
    assert img.GetSpacing() == (2.0, 2.0, 2.0)
    r = runner.invoke(main, ["preprocess", str(cohort_dir), "--out", str(tmp_path / "o"), "--spacing", "1,x,1"])
    assert r.exit_code == 2 and "--spacing" in r.output
