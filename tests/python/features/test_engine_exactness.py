"""radnomo's radiomics engine against PyRadiomics itself: the same feature names, order and values.

Tolerances and the features allowed 1e-6 instead of 1e-9 (sums of terms of both signs) are in
engine_helpers.py. Cases: PyRadiomics' reference images (brain1, brain2, breast1, the prostate phantom) with the study's
1197-feature configuration and with every one of PyRadiomics' own baseline configurations for them
(normalisation, resampling, resegmentation, force2D, fixed bin count, weighting, flat region), the
IBSI digital phantom, the liver CT, synthetic patients of all four phases, and edge cases (2-D ROI,
single-voxel slab, tiny ROIs, ROI at the image border, other labels, anisotropic and rotated grids).
The paper-size synthetic patients (1.3 M-voxel ROIs, minutes per sequence in PyRadiomics) run with
RADNOMO_SLOW=1 (test_engine_paper_size.py).
"""

from __future__ import annotations

import ast
import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from engine_helpers import compare, pyradiomics_values
from feature_helpers import REPO, reference_dir
from ibsi_map import IBSI_TAGS
from radnomo.features.engine import Extractor, unsupported_reason
from radnomo.io.images import read_image_and_mask

STUDY = yaml.safe_load((REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml").read_text(encoding="utf-8"))
ALL_CLASSES = {"featureClass": {c: [] for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")}}


def _case(name):
    d = reference_dir("pyradiomics", "data")
    return read_image_and_mask(d / f"{name}_image.nrrd", d / f"{name}_label.nrrd")


# ------------------------------------------------------------------------------------------ reference cases

@pytest.mark.parametrize("case", ["brain1", "brain2", "breast1"])
def test_pyradiomics_reference_cases_study_configuration(case):
    image, mask = _case(case)
    worst = compare(image, mask, STUDY, what=case)
    assert set(worst) >= {"shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}


def _baseline_configurations():
    ref = reference_dir("pyradiomics")
    derived = pd.read_csv(ref / "baseline_settings_by_testcase_DERIVED.csv")
    rows = []
    for _, r in derived.iterrows():
        if r["case"].startswith("lung"):  # lung images are not in tests/reference
            continue
        settings = {k: v for k, v in ast.literal_eval(r["settings"]).items() if v is not None}
        classes = [f.replace("baseline_", "").replace(".csv", "") for f in r["present_in_files"].split(";")]
        rows.append(pytest.param(r["case"], settings, classes, id=r["column"]))
    return rows


@pytest.mark.parametrize("case, settings, classes", _baseline_configurations())
def test_pyradiomics_baseline_configurations(case, settings, classes):
    """Each of PyRadiomics' own test configurations, both engines (the radnomo engine implements all but
    shape2D, for which :func:`unsupported_reason` must say so)."""
    params = {"setting": settings, "featureClass": {c: [] for c in classes}}
    if "shape2D" in classes:
        assert unsupported_reason(params) == "feature class 'shape2D'"
        return
    assert unsupported_reason(params) is None
    image, mask = _case(case)
    compare(image, mask, params, what=f"{case} {settings}")


def test_all_features_of_every_class_distances_and_dependence_threshold():
    """Default feature lists (MCC and SumAverage included), two distances, GLDM alpha 2, fixed bin count."""
    image, mask = _case("breast1")
    compare(image, mask, {**ALL_CLASSES, "setting": {"binCount": 40, "distances": [1, 2], "gldm_a": 2}},
            what="all features")


def test_deprecated_features_requested_by_name():
    """Deprecated features that PyRadiomics still computes are computed; those that raise are left out."""
    image, mask = _case("breast1")
    params = {"featureClass": {"firstorder": ["Mean", "StandardDeviation"],
                               "shape": ["Compactness1", "Compactness2", "SphericalDisproportion", "MeshVolume"],
                               "glcm": ["Dissimilarity", "Contrast", "SumVariance", "Homogeneity1"],
                               "gldm": ["DependencePercentage", "GrayLevelNonUniformityNormalized",
                                        "DependenceEntropy"]}}
    compare(image, mask, params, what="deprecated")


@pytest.mark.parametrize("norm", ["infinity", "euclidean", "manhattan", "no_weighting"])
def test_weighting_norms_on_an_anisotropic_grid(norm):
    image, mask = _case("breast1")
    image.SetSpacing((0.7, 0.8, 2.5))
    mask.SetSpacing((0.7, 0.8, 2.5))
    compare(image, mask, {"featureClass": {"glcm": [], "glrlm": []}, "setting": {"weightingNorm": norm}},
            what=norm)


def _prostate():
    d = reference_dir("pyradiomics", "data")
    return read_image_and_mask(d / "prostate_phantom_subvolume.nrrd", d / "prostate_phantom_subvolume-label.nrrd")


@pytest.mark.parametrize("label", [1, 7, 8, 9])
def test_prostate_phantom_every_label_study_configuration(label):
    """PyRadiomics' prostate phantom (uint16, 0.5 x 0.5 x 3 mm, labels 1, 7, 8, 9 of 168 to 9,088
    voxels in one label map): the study's 1,197 features of each label equal PyRadiomics'."""
    image, mask = _prostate()
    worst = compare(image, mask, STUDY, label=label, what=f"prostate label {label}")
    assert set(worst) >= {"shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}


def test_prostate_phantom_label_from_settings():
    """The label chosen in the parameter file (``setting: label``) instead of the call: same values as
    PyRadiomics, and different from label 1's (the setting is honoured, not ignored)."""
    image, mask = _prostate()
    params = {"featureClass": ALL_CLASSES["featureClass"], "setting": {"binWidth": 25, "label": 8}}
    compare(image, mask, params, what="prostate setting label 8")
    got8 = Extractor(params).execute(image, mask)
    got1 = Extractor({**params, "setting": {"binWidth": 25, "label": 1}}).execute(image, mask)
    assert got8["original_shape_VoxelVolume"] == pytest.approx(2997 * 0.5 * 0.5 * 3.0)
    assert got1["original_shape_VoxelVolume"] == pytest.approx(168 * 0.5 * 0.5 * 3.0)


# ------------------------------------------------------------------------------------------ IBSI, liver CT

def test_ibsi_digital_phantom_both_engines():
    """The IBSI phantom with the IBSI configuration: equal to PyRadiomics, hence the same agreement
    with the IBSI consensus values as test_radiomics_reference.py establishes for PyRadiomics."""
    ibsi = reference_dir("ibsi")
    image, mask = read_image_and_mask(ibsi / "ibsi_1_digital_phantom" / "nifti" / "image" / "phantom.nii.gz",
                                      ibsi / "ibsi_1_digital_phantom" / "nifti" / "mask" / "mask.nii.gz")
    fc = {c: sorted({k.split("_", 1)[1] for k in IBSI_TAGS if k.startswith(c + "_")})
          for c in ("firstorder", "shape", "glcm", "glrlm", "glszm", "ngtdm", "gldm")}
    params = {"featureClass": fc, "setting": {"binWidth": 1, "label": 1, "voxelArrayShift": 0,
                                              "minimumROIDimensions": 1}}
    compare(image, mask, params, what="IBSI")
    got = Extractor(params).execute(image, mask)
    with open(ibsi / "reference_values" / "ibsi_1_reference_values_digital_phantom.csv", encoding="utf-8-sig") as fh:
        ref = {r["tag"]: float(r["reference value"]) for r in csv.DictReader(fh) if r["reference value"]}
    # two values read straight off the consensus table (3 significant digits)
    assert got["original_shape_MeshVolume"] == pytest.approx(ref["morph_volume"], rel=5e-3)
    assert got["original_glszm_SmallAreaEmphasis"] == pytest.approx(ref["szm_sze_3D"], rel=5e-3)


def test_liver_ct_study_configuration():
    liver = reference_dir("liver", "dcmqi_ct3slice")
    image, mask = read_image_and_mask(liver, liver / "liver_seg.nrrd")
    compare(image, mask, STUDY, what="liver CT")
    got = Extractor({"featureClass": {"firstorder": ["Mean", "Minimum", "Maximum"]}}).execute(image, mask)
    assert got["original_firstorder_Mean"] == pytest.approx(37.3289, abs=5e-5)  # dcmqi's SR example
    assert (got["original_firstorder_Minimum"], got["original_firstorder_Maximum"]) == (-778, 221)


# ------------------------------------------------------------------------------------------ synthetic patients

@pytest.fixture(scope="module")
def synthetic_cohort(tmp_path_factory):
    from radnomo.synth.cohort import generate_cohort

    out = tmp_path_factory.mktemp("synth")
    generate_cohort(out, n=2, size="small", seed=7, workers=1, progress=False)
    return out


@pytest.mark.parametrize("seq", ["t2", "ap", "pvp", "dp"])
def test_synthetic_patient_all_phases(synthetic_cohort, seq):
    """`radnomo synth` small patients (int16, anisotropic 0.7-0.8 x 2.2-2.7 mm), the study's 1197 features."""
    folder = synthetic_cohort / "images" / "P0001"
    image, mask = read_image_and_mask(folder / f"{seq}.nii.gz", folder / f"{seq}_mask.nii.gz")
    compare(image, mask, STUDY, what=f"synthetic {seq}")


# ------------------------------------------------------------------------------------------ edge cases

def _image(shape=(12, 14, 16), seed=0, spacing=(1.0, 1.0, 1.0), dtype=np.float32):
    rng = np.random.default_rng(seed)
    arr = (rng.normal(100, 20, shape)).astype(dtype)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    return img


def _mask_like(image, mask_arr):
    m = sitk.GetImageFromArray(mask_arr.astype(np.uint8))
    m.CopyInformation(image)
    return m


SMALL = {"featureClass": {c: [] for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
         "setting": {"binWidth": 10, "minimumROIDimensions": 1}}


def test_edge_2d_roi_single_slice():
    """A one-slice ROI in a 3-D image: out-of-plane angles are empty (GLCM) or zeroed (GLRLM) as in
    PyRadiomics; the mesh is a slab one voxel thick."""
    image = _image()
    m = np.zeros((12, 14, 16), np.uint8)
    m[6, 3:10, 4:12] = 1
    m[6, 5, 13] = 1
    compare(image, _mask_like(image, m), SMALL, what="2D ROI")
    compare(image, _mask_like(image, m), {**STUDY, "setting": {**STUDY["setting"], "minimumROIDimensions": 2}},
            what="2D ROI, study")


def test_edge_single_voxel_raises_like_pyradiomics():
    image = _image()
    m = np.zeros((12, 14, 16), np.uint8)
    m[5, 5, 5] = 1
    mask = _mask_like(image, m)
    with pytest.raises(ValueError) as theirs:
        pyradiomics_values(image, mask, SMALL)
    with pytest.raises(ValueError) as ours:
        Extractor(SMALL).execute(image, mask)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("settings, shape", [({"minimumROIDimensions": 2}, "line"), ({"minimumROIDimensions": 3},
                                                                                     "slab")])
def test_edge_too_few_dimensions_raises_like_pyradiomics(settings, shape):
    image = _image()
    m = np.zeros((12, 14, 16), np.uint8)
    if shape == "line":
        m[5, 5, 3:9] = 1
    else:
        m[5, 2:9, 3:9] = 1
    mask = _mask_like(image, m)
    params = {**SMALL, "setting": {**SMALL["setting"], **settings}}
    with pytest.raises(ValueError) as theirs:
        pyradiomics_values(image, mask, params)
    with pytest.raises(ValueError) as ours:
        Extractor(params).execute(image, mask)
    assert str(ours.value) == str(theirs.value)


def test_edge_empty_mask_and_missing_label_raise_like_pyradiomics():
    image = _image()
    for m, label in ((np.zeros((12, 14, 16), np.uint8), None), (np.ones((12, 14, 16), np.uint8) * 3, 2)):
        mask = _mask_like(image, m)
        with pytest.raises(ValueError) as theirs:
            pyradiomics_values(image, mask, SMALL, label=label)
        with pytest.raises(ValueError) as ours:
            Extractor(SMALL, label=label).execute(image, mask, label=label)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("voxels", [
    [(5, 5, 5), (5, 5, 6)],  # two voxels (a line)
    [(5, 5, 5), (6, 6, 6)],  # two voxels touching at a corner
    [(5, 5, 5), (5, 6, 5), (6, 5, 5), (5, 5, 6)],  # a tiny corner
    [(5, 5, 5), (7, 8, 9), (5, 8, 5)],  # three separate voxels
])
def test_edge_tiny_rois(voxels):
    image = _image()
    m = np.zeros((12, 14, 16), np.uint8)
    for v in voxels:
        m[v] = 1
    compare(image, _mask_like(image, m), SMALL, what=f"tiny {voxels}")


def test_edge_roi_at_the_border_with_holes_and_other_labels():
    """ROI touching three faces of the image, with a hole and a second component; label 2 among 1 and 3;
    int16 intensities without normalisation; rotated, anisotropic grid."""
    rng = np.random.default_rng(3)
    arr = rng.integers(-200, 400, (10, 12, 14)).astype(np.int16)
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing((0.6, 0.9, 3.0))
    image.SetDirection((0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
    m = np.ones((10, 12, 14), np.uint8)
    m[0:6, 0:7, 0:8] = 2
    m[2, 3, 4] = 1
    m[8:10, 10:12, 12:14] = 2
    m[9, 0, 13] = 3
    mask = _mask_like(image, m)
    params = {**SMALL, "setting": {"binWidth": 25, "label": 2, "minimumROIDimensions": 1}}
    compare(image, mask, params, label=2, what="border/label 2")
    compare(image, mask, {**STUDY, "setting": {**STUDY["setting"], "label": 2}}, label=2, what="border, study")


def test_edge_flat_region():
    """Every ROI voxel in one bin: PyRadiomics' guards against division by zero give its values."""
    image = _image()
    arr = sitk.GetArrayFromImage(image)
    m = np.zeros(arr.shape, np.uint8)
    m[3:9, 4:10, 5:11] = 1
    arr[m == 1] = 7.5
    flat = sitk.GetImageFromArray(arr)
    flat.CopyInformation(image)
    compare(flat, _mask_like(flat, m), SMALL, what="flat")


def test_resampling_resegmentation_precrop_and_image_types():
    """Settings whose preprocessing PyRadiomics' own functions do, and the simpler filters."""
    image, mask = _case("breast1")
    params = {"imageType": {"Original": {}, "Square": {}, "SquareRoot": {}, "Logarithm": {}, "Exponential": {},
                            "Gradient": {}, "Wavelet": {"wavelet": "db2"}, "LoG": {"sigma": [1.5]}},
              "featureClass": {"firstorder": [], "glszm": [], "glcm": ["Contrast", "Idmn"]},
              "setting": {"resampledPixelSpacing": [1.2, 1.2, 1.2], "interpolator": "sitkBSpline",
                          "resegmentRange": [-50, 900], "resegmentMode": "absolute", "normalize": True,
                          "normalizeScale": 50, "removeOutliers": 3, "binWidth": 8}}
    compare(image, mask, params, what="preprocessing + filters")
    params = {**params, "setting": {"preCrop": True, "padDistance": 6, "binWidth": 15}}
    compare(image, mask, params, what="preCrop")


def test_threads_give_the_same_values():
    image, mask = _case("breast1")
    serial = Extractor(STUDY).execute(image, mask)
    threaded = Extractor(STUDY, threads=2).execute(image, mask)
    assert list(serial) == list(threaded)
    assert all(serial[k] == threaded[k] or (math.isnan(serial[k]) and math.isnan(threaded[k])) for k in serial)


# ------------------------------------------------------------------------------------------ coverage / fallback

@pytest.mark.parametrize("params, reason", [
    ({"setting": {"symmetricalGLCM": False}}, "setting 'symmetricalGLCM: false'"),
    ({"imageType": {"LBP3D": {}}}, "image type 'LBP3D'"),
    ({"voxelSetting": {"kernelRadius": 2}}, "setting 'kernelRadius'"),
    ({"setting": {"force2D": True}, "featureClass": {"shape2D": []}}, "feature class 'shape2D'"),
    ({"imageType": {"Original": {"label": 2}}}, "setting 'label' under imageType 'Original'"),
])
def test_unsupported_settings_are_named(params, reason):
    assert unsupported_reason(params) == reason
    with pytest.raises(ValueError, match="does not implement"):
        Extractor(params)


def test_supported_study_configuration():
    assert unsupported_reason(STUDY) is None
    assert unsupported_reason({}) is None  # PyRadiomics' defaults (all classes; shape2D computes nothing in 3-D)


# ------------------------------------------------------------------------------------------ filters

@pytest.mark.parametrize("shape, box, settings", [
    ((41, 50, 60), ((14, 30), (15, 33), (20, 40)), {}),  # inside, margin within the image
    ((41, 50, 59), ((0, 12), (30, 50), (40, 59)), {}),  # touching faces: the periodic extension enters
    ((40, 51, 61), ((2, 38), (1, 9), (50, 61)), {"wavelet": "db3"}),
    ((41, 50, 60), ((0, 41), (3, 20), (5, 30)), {"force2D": True, "force2Ddimension": 0}),
    ((41, 50, 60), ((10, 31), (13, 37), (20, 40)), {"force2D": True, "force2Ddimension": 1}),
])
def test_wavelet_on_the_bounding_box_is_bit_identical(shape, box, settings):
    """The engine transforms the ROI's box plus a margin; PyRadiomics the whole image, then crops."""
    from radiomics import imageoperations

    from radnomo.features.engine.extractor import wavelet_images

    rng = np.random.default_rng(1)
    image = sitk.GetImageFromArray(rng.normal(0, 100, shape))
    m = np.zeros(shape, np.uint8)
    crop = tuple(slice(a, b) for a, b in box)
    m[crop] = 1
    mask = _mask_like(image, m)
    ours = list(wavelet_images(image, crop, settings))
    theirs = list(imageoperations.getWaveletImage(image, mask, **settings))
    assert [t[1] for t in theirs] == [o[2] for o in ours]
    for (arr, _, name, _), (img, _, _) in zip(ours, theirs):
        assert np.array_equal(arr, sitk.GetArrayViewFromImage(img)[crop]), name


@pytest.mark.parametrize("shape, spacing, sigma, dtype", [
    ((30, 40, 50), (0.8, 0.9, 2.5), 3.0, np.float64),
    ((6, 9, 4), (1.0, 1.0, 1.0), 1.0, np.float64),  # four voxels along x: the smallest ITK filters
    ((25, 21, 33), (1.0, 1.0, 1.0), 5.0, np.float32),
    ((20, 22, 24), (0.7, 0.7, 3.0), 2.0, np.int16),
])
def test_log_filter_is_bit_identical_to_simpleitk(shape, spacing, sigma, dtype):
    """PyRadiomics' LoG is SimpleITK's LaplacianRecursiveGaussianImageFilter (normalised across scale)."""
    from radnomo.features.engine.log_filter import laplacian_of_gaussian

    rng = np.random.default_rng(5)
    arr = (rng.normal(0, 100, shape)).astype(dtype)
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing(spacing)
    f = sitk.LaplacianRecursiveGaussianImageFilter()
    f.SetNormalizeAcrossScale(True)
    f.SetSigma(sigma)
    theirs = sitk.GetArrayFromImage(f.Execute(image))
    ours = laplacian_of_gaussian(arr, spacing, sigma)
    assert ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)
