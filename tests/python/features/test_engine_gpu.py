"""The engine's torch path (``device=``): texture matrices and formulas in float64 with torch.

On a CUDA machine it must match the CPU engine within 1e-6 relative (test_cuda_*, skipped where
``torch.cuda.is_available()`` is False). The same torch code also runs on the CPU (``device="cpu"``),
which checks its logic on every machine: there it matches the CPU engine within the exactness
tolerances of engine_helpers.py.
"""

from __future__ import annotations

import math

import pytest
import SimpleITK as sitk
import yaml

from engine_helpers import relative_difference, tolerance
from feature_helpers import REPO, reference_dir
from radnomo.features.engine import Extractor
from radnomo.io.images import read_image_and_mask

torch = pytest.importorskip("torch")

STUDY = yaml.safe_load((REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml").read_text(encoding="utf-8"))
ALL = {"featureClass": {c: [] for c in ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
       "setting": {"binWidth": 20, "distances": [1, 2], "gldm_a": 1}}
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device (torch.cuda.is_available())")


def _case(name="breast1"):
    d = reference_dir("pyradiomics", "data")
    return read_image_and_mask(d / f"{name}_image.nrrd", d / f"{name}_label.nrrd")


def _check(params, device, rtol=None, case="breast1"):
    image, mask = _case(case)
    cpu = Extractor(params).execute(image, mask)
    dev = Extractor(params, device=device).execute(image, mask)
    assert list(cpu) == list(dev)
    bad = []
    for k, v in cpu.items():
        d = relative_difference(dev[k], v)
        if d > (rtol if rtol is not None else tolerance(k)):
            bad.append((k, dev[k], v, d))
    assert not bad, bad[:5]


@pytest.mark.parametrize("params", [STUDY, ALL], ids=["study", "all-features"])
def test_torch_path_on_cpu_matches_cpu_engine(params):
    _check(params, "cpu")


def test_torch_path_weighting_and_flat_region():
    _check({"featureClass": {"glcm": [], "glrlm": []}, "setting": {"weightingNorm": "euclidean"}}, "cpu")
    image, mask = _case()
    arr = sitk.GetArrayFromImage(image) * 0 + 7
    flat = sitk.GetImageFromArray(arr)
    flat.CopyInformation(image)
    params = {"featureClass": {c: [] for c in ("glcm", "glrlm", "glszm", "gldm", "ngtdm")}}
    a = Extractor(params).execute(flat, mask)
    b = Extractor(params, device="cpu").execute(flat, mask)
    assert all(a[k] == b[k] or (math.isnan(a[k]) and math.isnan(b[k])) or abs(a[k] - b[k]) <= 1e-9 * abs(a[k])
               for k in a)


@needs_cuda
@pytest.mark.parametrize("params", [STUDY, ALL], ids=["study", "all-features"])
def test_cuda_matches_cpu_engine(params):
    _check(params, "cuda", rtol=1e-6)


@needs_cuda
def test_cuda_reference_case_brain1():
    _check(STUDY, "cuda", rtol=1e-6, case="brain1")


# --- the filters on the device (gpu_filters): the same numbers as the CPU engine, bit for bit ---------------
def _volume(shape, dtype, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * 50 + 100).astype(dtype)


def _filters_equal_on(device):
    import numpy as np
    import pywt

    from radnomo.features.engine import gpu_filters, log_filter

    # odd and even sizes, anisotropic spacing, both precisions PyWavelets keeps
    for shape, spacing, dtype in (((21, 16, 24), (0.7, 1.0, 2.5), np.float64), ((12, 15, 9), (1.0, 1.0, 1.0),
                                                                                 np.float32)):
        arr = _volume(shape, dtype)
        sigmas = [0.5, 1.0, 2.5]
        got = gpu_filters.laplacian_of_gaussian(torch, torch.as_tensor(arr, device=device), spacing, sigmas)
        assert got.dtype == torch.float32
        for k, s in enumerate(sigmas):
            ref = log_filter.laplacian_of_gaussian(arr, spacing, s)
            assert np.array_equal(got[k].cpu().numpy(), ref), (shape, s)
        even = arr[tuple(slice(0, n - n % 2) for n in shape)]
        for name in ("coif1", "haar", "db3"):
            w = pywt.Wavelet(name)
            ref = pywt.swtn(even, w, level=1, start_level=0, axes=(2, 1, 0))[0]
            dec = gpu_filters.swtn_level1(torch, torch.as_tensor(even, device=device), w, (2, 1, 0))
            assert list(dec) == list(ref)
            for key in ref:
                assert dec[key].dtype == torch.as_tensor(ref[key]).dtype
                assert np.array_equal(dec[key].cpu().numpy(), ref[key]), (name, key, dtype)


def test_torch_filters_bit_identical_on_cpu():
    """LoG (vs the numba filter, itself SimpleITK's bit for bit) and wavelet (vs PyWavelets' swtn)."""
    _filters_equal_on("cpu")


def test_torch_log_matches_simpleitk():
    import numpy as np

    from radnomo.features.engine import gpu_filters

    arr = _volume((14, 17, 20), np.float64, seed=3)
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing((0.8, 1.2, 2.0))
    f = sitk.LaplacianRecursiveGaussianImageFilter()
    f.SetSigma(1.5)
    f.SetNormalizeAcrossScale(True)
    ref = sitk.GetArrayFromImage(f.Execute(image))
    got = gpu_filters.laplacian_of_gaussian(torch, torch.as_tensor(arr), image.GetSpacing(), [1.5])[0].numpy()
    assert np.array_equal(got, ref)


def _filtered_images_equal_on(device, case="breast1"):
    import numpy as np

    from radnomo.features.engine.backend import get_backend
    from radnomo.features.engine.extractor import load_and_check
    from radnomo.features.engine.filters import filtered_images
    from radnomo.features.engine.settings import resolve_params

    settings, image_types, _ = resolve_params(STUDY, None)
    image, mask = _case(case)
    image, _, feature_mask, crop = load_and_check(image, mask, settings)
    cpu = list(filtered_images(image, feature_mask, crop, settings, image_types))
    dev = list(filtered_images(image, feature_mask, crop, settings, image_types, get_backend(device)))
    assert [c[2] for c in cpu] == [d[2] for d in dev]
    assert len(cpu) == 1 + len(image_types["LoG"]["sigma"]) + 8
    for c, d in zip(cpu, dev):
        assert c[0].dtype == d[0].dtype and np.array_equal(c[0], d[0]), c[2]


def test_torch_filtered_images_of_a_case_identical():
    """The study's 13 images of a reference case: same names, order, dtype and values, bit for bit."""
    _filtered_images_equal_on("cpu")


@needs_cuda
def test_cuda_filters_bit_identical():
    _filters_equal_on("cuda")
    _filtered_images_equal_on("cuda", case="brain1")


# --- edge cases through the torch path (same inputs as test_engine_exactness' edge tests) -------------------
def _edge_image(shape=(12, 14, 16), seed=0, dtype="float32", spacing=(1.0, 1.0, 1.0)):
    import numpy as np

    arr = np.random.default_rng(seed).normal(100, 20, shape).astype(dtype)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing)
    return img


def _edge_mask(image, voxels=None, block=None):
    import numpy as np

    m = np.zeros(sitk.GetArrayViewFromImage(image).shape, np.uint8)
    for v in voxels or []:
        m[v] = 1
    if block is not None:
        m[block] = 1
    mask = sitk.GetImageFromArray(m)
    mask.CopyInformation(image)
    return mask


EVERY = {"imageType": {"Original": {}, "LoG": {"sigma": [1.0, 2.0]}, "Wavelet": {}},
         "featureClass": {c: [] for c in ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")},
         "setting": {"binWidth": 10, "minimumROIDimensions": 1}}


@pytest.mark.parametrize("what", ["two voxels", "corner", "three apart", "2D slice", "float32 anisotropic odd",
                                  "int16 rotated label 2", "breast1 resampled db2 preCrop"])
def test_torch_path_edge_cases_match_cpu_engine(what):
    """Tiny and flat ROIs, a one-slice ROI, float32 input without normalisation (PyWavelets' float32
    filters), int16 input on a rotated grid with another label, resampling with another wavelet and
    preCrop: the torch path (filters, matrices, formulas) gives the CPU engine's values."""
    import numpy as np

    params, label = EVERY, None
    if what == "two voxels":
        image = _edge_image()
        mask = _edge_mask(image, [(5, 5, 5), (5, 5, 6)])
    elif what == "corner":
        image = _edge_image()
        mask = _edge_mask(image, [(5, 5, 5), (5, 6, 5), (6, 5, 5), (5, 5, 6)])
    elif what == "three apart":
        image = _edge_image()
        mask = _edge_mask(image, [(5, 5, 5), (7, 8, 9), (5, 8, 5)])
    elif what == "2D slice":
        image = _edge_image()
        mask = _edge_mask(image, block=(6, slice(3, 10), slice(4, 12)))
    elif what == "float32 anisotropic odd":
        image = _edge_image((13, 17, 15), seed=2, spacing=(0.7, 1.1, 2.5))
        mask = _edge_mask(image, block=(slice(2, 11), slice(3, 14), slice(1, 13)))
    elif what == "int16 rotated label 2":
        arr = np.random.default_rng(3).integers(-200, 400, (10, 12, 14)).astype(np.int16)
        image = sitk.GetImageFromArray(arr)
        image.SetSpacing((0.6, 0.9, 3.0))
        image.SetDirection((0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
        m = np.ones((10, 12, 14), np.uint8)
        m[0:6, 0:7, 0:8] = 2
        m[8:10, 10:12, 12:14] = 2
        mask = sitk.GetImageFromArray(m)
        mask.CopyInformation(image)
        params = {**EVERY, "setting": {"binWidth": 25, "label": 2, "minimumROIDimensions": 1}}
        label = 2
    else:
        image, mask = _case("breast1")
        params = {"imageType": {"Original": {}, "Wavelet": {"wavelet": "db2"}, "LoG": {"sigma": [1.5]}},
                  "featureClass": {"firstorder": [], "glszm": [], "glrlm": [], "glcm": []},
                  "setting": {"resampledPixelSpacing": [1.2, 1.2, 1.2], "interpolator": "sitkBSpline",
                              "preCrop": True, "padDistance": 6, "binWidth": 15}}
    cpu = Extractor(params, label=label).execute(image, mask)
    dev = Extractor(params, label=label, device="cpu").execute(image, mask)
    assert list(cpu) == list(dev)
    bad = [(k, dev[k], v) for k, v in cpu.items() if relative_difference(dev[k], v) > tolerance(k)]
    assert not bad, (what, bad[:5])
