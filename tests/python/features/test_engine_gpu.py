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
