"""Images, masks, geometry, misalignment and latent textures of radnomo.synth (tiny size)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy import ndimage, stats

from radnomo.io.manifest import read_manifest
from radnomo.synth import SIZES, render_patient, simulate_patient, simulate_subjects
from radnomo.synth.anatomy import AnatomyParams, liver_signed_distance, vessel_distance_at
from radnomo.synth.cohort import write_nifti_deterministic

SEQS = ("t2", "ap", "pvp", "dp")


def _truth(paths):
    return json.loads(paths.ground_truth.read_text(encoding="utf-8"))


def _affine(rec):
    h = np.asarray(rec["transform"]["matrix_4x4"])
    return h[:3, :3], h[:3, 3]


def test_manifest_and_files(cohort3):
    m = read_manifest(cohort3.manifest)
    assert m.sequences == SEQS
    assert m.patients == ["P0001", "P0002", "P0003"]
    assert m.check_files() == []
    mp = read_manifest(cohort3.manifest_parquet)
    pd.testing.assert_frame_equal(m.table, mp.table)
    clin = pd.read_parquet(cohort3.clinical_parquet)
    assert clin["label"].tolist() == m.table["label"].tolist()
    gt = _truth(cohort3)
    assert [p["label"] for p in gt["patients"]] == m.table["label"].tolist()
    assert gt["outcome"]["model"]["odds_ratios"]["lnafp"] == pytest.approx(1.41)
    assert gt["outcome"]["model"]["odds_ratios"]["multiple_low_signal"] == pytest.approx(2.96)
    assert set(gt["outcome"]["model"]["coefficients_log_or"]) == {"lnafp", "multiple_low_signal",
                                                                   "texture_pvp", "t2_pattern"}


def test_geometry_spacing_direction(cohort3):
    gt = _truth(cohort3)
    m = read_manifest(cohort3.manifest)
    spec = SIZES["tiny"]
    for rec in gt["patients"]:
        pid = rec["patient_id"]
        sizes = set()
        for seq in SEQS:
            img = sitk.ReadImage(str(m.image_path(pid, seq)))
            mask = sitk.ReadImage(str(m.mask_path(pid, seq)))
            ph = rec["phases"][seq]
            assert img.GetPixelID() == sitk.sitkInt16 and mask.GetPixelID() == sitk.sitkUInt8
            sp = img.GetSpacing()
            assert spec.inplane_spacing[0] <= sp[0] == sp[1] <= spec.inplane_spacing[1]
            assert spec.slice_thickness[0] <= sp[2] <= spec.slice_thickness[1]
            assert sp[2] / sp[0] > 2  # anisotropic
            np.testing.assert_allclose(sp, ph["spacing"], atol=1e-5)
            np.testing.assert_allclose(img.GetOrigin(), ph["origin"], atol=1e-4)
            np.testing.assert_allclose(img.GetDirection(), ph["direction"], atol=1e-6)
            d = np.asarray(img.GetDirection()).reshape(3, 3)
            np.testing.assert_allclose(d @ d.T, np.eye(3), atol=1e-6)
            assert np.linalg.det(d) == pytest.approx(1.0, abs=1e-6)
            assert list(img.GetSize()) == ph["size"]
            # mask on the image's own grid
            assert mask.GetSize() == img.GetSize()
            np.testing.assert_allclose(mask.GetSpacing(), sp, atol=1e-6)
            np.testing.assert_allclose(mask.GetOrigin(), img.GetOrigin(), atol=1e-6)
            np.testing.assert_allclose(mask.GetDirection(), img.GetDirection(), atol=1e-9)
            marr = sitk.GetArrayViewFromImage(mask)
            assert set(np.unique(marr)) <= {0, 1} and marr.sum() == ph["mask_voxels"] > 100
            sizes.add(tuple(img.GetSize()) + tuple(np.round(sp, 4)))
        assert len(sizes) == 4  # every phase has its own grid


def _mask_points_in_anatomy(mask, rec):
    idx = np.argwhere(sitk.GetArrayViewFromImage(mask) > 0)[:, ::-1].astype(float)  # x, y, z
    d = np.asarray(mask.GetDirection()).reshape(3, 3)
    phys = np.asarray(mask.GetOrigin()) + (idx * np.asarray(mask.GetSpacing())) @ d.T
    M, o = _affine(rec)
    return phys @ M.T + o


def test_masks_inside_liver_and_outside_vessels(cohort3):
    gt = _truth(cohort3)
    m = read_manifest(cohort3.manifest)
    for rec in gt["patients"]:
        params = AnatomyParams(**{k: v for k, v in rec["anatomy"].items()})
        for seq in SEQS:
            mask = sitk.ReadImage(str(m.mask_path(rec["patient_id"], seq)))
            pts = _mask_points_in_anatomy(mask, rec["phases"][seq]).astype(np.float32)
            sd = liver_signed_distance(params, pts[:, 0], pts[:, 1], pts[:, 2])
            # partial-volume tolerance: half a slice thickness
            tol = mask.GetSpacing()[2] / 2
            assert np.mean(sd <= tol) > 0.99, (rec["patient_id"], seq)
            assert np.mean(sd <= 0) > 0.9
            sub = pts[:: max(1, len(pts) // 300)]
            vd = np.array([vessel_distance_at(params, p) for p in sub])
            assert np.mean(vd >= -tol) > 0.98


def _dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def test_recorded_misalignment_is_present(cohort3):
    """Phase B's mask resampled into phase A with the recorded transforms matches A's mask
    better than with the identity (i.e. the phases really are misaligned as recorded)."""
    gt = _truth(cohort3)
    m = read_manifest(cohort3.manifest)
    gains, shifts = [], []
    for rec in gt["patients"]:
        masks = {s: sitk.ReadImage(str(m.mask_path(rec["patient_id"], s))) for s in SEQS}
        for a, b in (("pvp", "ap"), ("pvp", "dp"), ("pvp", "t2"), ("ap", "dp")):
            Ma, oa = _affine(rec["phases"][a])
            Mb, ob = _affine(rec["phases"][b])
            Mbi = np.linalg.inv(Mb)
            comp = sitk.AffineTransform(3)
            comp.SetMatrix((Mbi @ Ma).ravel().tolist())
            comp.SetTranslation((Mbi @ (oa - ob)).tolist())
            ref = masks[a]
            good = sitk.GetArrayFromImage(sitk.Resample(masks[b], ref, comp, sitk.sitkNearestNeighbor, 0)) > 0
            raw = sitk.GetArrayFromImage(sitk.Resample(masks[b], ref, sitk.Transform(3, sitk.sitkIdentity),
                                                       sitk.sitkNearestNeighbor, 0)) > 0
            ma = sitk.GetArrayFromImage(ref) > 0
            dg, dr = _dice(ma, good), _dice(ma, raw)
            assert dg > 0.85, (rec["patient_id"], a, b, dg)
            gains.append(dg - dr)
            shifts.append(np.linalg.norm(np.asarray(rec["phases"][a]["transform"]["translation_mm"])
                                         - np.asarray(rec["phases"][b]["transform"]["translation_mm"])))
    gains, shifts = np.asarray(gains), np.asarray(shifts)
    assert shifts.max() > 1.0  # recorded misalignment of more than 1 mm somewhere
    assert gains[shifts > 1.0].mean() > 0.02
    assert gains.min() > -0.02  # the recorded transform never makes things worse


def test_same_seed_gives_identical_bytes_and_patient_independent_of_n(cohort3, cohort5):
    for pid in ("P0001", "P0002", "P0003"):
        for seq in SEQS:
            for name in (f"{seq}.nii.gz", f"{seq}_mask.nii.gz"):
                a = (cohort3.root / "images" / pid / name).read_bytes()
                b = (cohort5.root / "images" / pid / name).read_bytes()
                assert a == b, (pid, name)
    c3 = pd.read_csv(cohort3.clinical)
    c5 = pd.read_csv(cohort5.clinical)
    pd.testing.assert_frame_equal(c3, c5.head(3))
    g3, g5 = _truth(cohort3), _truth(cohort5)
    assert g3["patients"] == g5["patients"][:3]


def test_nifti_writer_is_byte_deterministic(tmp_path):
    img = sitk.GetImageFromArray(np.arange(60, dtype=np.int16).reshape(3, 4, 5))
    img.SetSpacing((0.8, 0.8, 4.0))
    write_nifti_deterministic(img, tmp_path / "a.nii.gz")
    write_nifti_deterministic(img, tmp_path / "b.nii.gz")
    assert (tmp_path / "a.nii.gz").read_bytes() == (tmp_path / "b.nii.gz").read_bytes()
    back = sitk.ReadImage(str(tmp_path / "a.nii.gz"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back), sitk.GetArrayFromImage(img))
    np.testing.assert_allclose(back.GetSpacing(), (0.8, 0.8, 4.0))


def test_simulate_patient_matches_written_files(cohort3, synth_seed):
    imgs = simulate_patient(1, synth_seed, "tiny")
    assert set(imgs) == {*SEQS, *(f"{s}_mask" for s in SEQS)}
    for seq in ("pvp", "t2_mask"):
        name = seq.replace("_mask", "") + ("_mask" if seq.endswith("_mask") else "")
        disk = sitk.ReadImage(str(cohort3.root / "images" / "P0002" / f"{name}.nii.gz"))
        np.testing.assert_array_equal(sitk.GetArrayFromImage(disk), sitk.GetArrayFromImage(imgs[seq]))


def _lesion_contrast(data, seq):
    """Mean lesion-core signal / mean liver ROI signal in ``seq``."""
    les = data.truth["anatomy"]["lesions"][0]
    img = data.images[seq]
    rec = data.truth["phases"][seq]
    M, o = _affine(rec)
    centre_phase = np.linalg.solve(M, np.asarray(les["center"]) - o)
    arr = sitk.GetArrayFromImage(img).astype(float)
    idx = np.argwhere(np.ones(arr.shape, bool))[:, ::-1].astype(float)
    d = np.asarray(img.GetDirection()).reshape(3, 3)
    phys = np.asarray(img.GetOrigin()) + (idx * np.asarray(img.GetSpacing())) @ d.T
    core = (np.linalg.norm(phys - centre_phase, axis=1) < 0.5 * les["radius"]).reshape(arr.shape)
    roi = sitk.GetArrayFromImage(data.masks[seq]) > 0
    return arr[core].mean() / np.median(arr[roi & ~core])


def test_lesion_phase_behaviour(synth_seed):
    data = render_patient(0, synth_seed, "tiny")
    c = {s: _lesion_contrast(data, s) for s in SEQS}
    assert c["ap"] > 1.3      # arterial hyperenhancement
    assert c["pvp"] < 0.9     # portal-venous washout
    assert c["dp"] < 0.9      # delay washout
    assert 1.1 < c["t2"] < 1.8  # mild T2 hyperintensity


def _heterogeneity(img, mask):
    """Inter-quartile range of the band-passed relative signal inside the eroded ROI.

    Band pass: Gaussian 0.7 mm (noise) minus Gaussian 2 mm (bias field, organ shape).
    """
    sp = np.asarray(img.GetSpacing())[::-1]
    a = sitk.GetArrayFromImage(img).astype(np.float32)
    m = sitk.GetArrayFromImage(sitk.BinaryErode(mask, [1, 1, 1])) > 0
    lo = ndimage.gaussian_filter(a, 0.7 / sp)
    bg = ndimage.gaussian_filter(a, 2.0 / sp)
    v = ((lo - bg) / np.maximum(bg, 1))[m]
    q = np.percentile(v, [25, 75])
    return q[1] - q[0]


@pytest.fixture(scope="module")
def texture_panel():
    rows = []
    for i in range(20):
        d = render_patient(i, 777, "tiny")
        rows.append(dict(pvp=_heterogeneity(d.images["pvp"], d.masks["pvp"]),
                         ap=_heterogeneity(d.images["ap"], d.masks["ap"]),
                         t2=_heterogeneity(d.images["t2"], d.masks["t2"])))
    subj = simulate_subjects(20, 777)
    return pd.concat([subj.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def test_texture_factor_is_visible_in_portal_phase(texture_panel, large_table):
    df = texture_panel
    rho_pvp = stats.spearmanr(df["pvp"], df["texture_pvp"])[0]
    rho_ap = stats.spearmanr(df["ap"], df["texture_pvp"])[0]
    assert rho_pvp > 0.7
    assert rho_pvp > rho_ap  # strongest in the portal-venous phase
    # the factor differs between recurrence groups (large table: latent; panel: measured in PVP)
    g = large_table.groupby("label")["texture_pvp"].mean()
    assert g[1] - g[0] > 0.4
    u = stats.mannwhitneyu(df.loc[df.label == 1, "pvp"], df.loc[df.label == 0, "pvp"], alternative="greater")
    assert df.loc[df.label == 1, "pvp"].median() > df.loc[df.label == 0, "pvp"].median(), u


def test_t2_pattern_is_visible_on_t2(texture_panel):
    df = texture_panel
    assert stats.spearmanr(df["t2"], df["t2_pattern"])[0] > 0.45


def test_rerun_skips_finished_patients(cohort3, synth_seed):
    import os
    from radnomo.synth import generate_cohort

    f = cohort3.root / "images" / "P0001" / "pvp.nii.gz"
    before = os.stat(f).st_mtime_ns
    generate_cohort(cohort3.root, n=3, size="tiny", seed=synth_seed, workers=1, progress=False)
    assert os.stat(f).st_mtime_ns == before
