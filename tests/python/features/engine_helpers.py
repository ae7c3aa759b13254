"""Comparison of radnomo's radiomics engine with PyRadiomics itself (shared by the test_engine* files).

Every comparison runs PyRadiomics (``RadiomicsFeatureExtractor.execute``) and the engine on the same
image, mask and parameters, and requires the same feature names in the same order and values within

* 1e-9 relative for every feature, except
* 1e-6 relative for the features in :data:`ORDER_SENSITIVE`: their value is a sum of terms of both
  signs (or a difference of two nearly equal sums), so a different but equally valid order or rounding
  of the terms (numpy's pairwise sums over differently shaped arrays, ``d*d*d`` for libm's
  ``pow(d, 3)``) can move the result by more than 1e-9 of itself when it is close to zero.

NaN must match NaN; a zero must be matched exactly.
"""

from __future__ import annotations

import math
import time

import numpy as np

from radnomo.features.engine import Extractor
from radnomo.features.radiomics import quiet_pyradiomics

RTOL = 1e-9
RTOL_SENSITIVE = 1e-6

#: Features that are sums of terms of both signs (see module docstring), by "<class>_<feature>".
ORDER_SENSITIVE = {
    "glcm_ClusterShade",  # sum of p(i,j) (i + j - mu_x - mu_y)^3
    "glcm_Correlation",  # covariance / (sigma_x sigma_y): covariance is a signed sum
    "glcm_Imc1",  # (HXY - HXY1) / max(HX, HY): a difference of two entropies
    "glcm_Imc2",  # sqrt(1 - exp(-2 (HXY2 - HXY)))
    "glcm_MCC",  # square root of an eigenvalue of a matrix built from sums
    "firstorder_Skewness",  # mean of (x - mean)^3
    "firstorder_Mean",  # mean of values of both signs (filtered images: close to zero)
}


def pyradiomics_values(image, mask, params: dict, label=None) -> dict[str, float]:
    """PyRadiomics' own output (diagnostics left out) as floats."""
    from radiomics import featureextractor

    quiet_pyradiomics()
    p = {k: (dict(v) if isinstance(v, dict) else v) for k, v in params.items()}
    p["setting"] = {**dict(p.get("setting") or {}), "additionalInfo": False}
    if "featureClass" in p:
        p["featureClass"] = {k: (v or None) for k, v in p["featureClass"].items()}
    raw = featureextractor.RadiomicsFeatureExtractor(p).execute(image, mask, label=label)
    return {k: float(np.asarray(v).real) for k, v in raw.items() if not k.startswith("diagnostics_")}


def relative_difference(got: float, ref: float) -> float:
    if math.isnan(ref) or math.isnan(got):
        return 0.0 if (math.isnan(ref) and math.isnan(got)) else math.inf
    if got == ref:
        return 0.0
    return abs(got - ref) / max(abs(ref), abs(got))


def tolerance(name: str) -> float:
    parts = name.split("_")
    return RTOL_SENSITIVE if "_".join(parts[-2:]) in ORDER_SENSITIVE else RTOL


def compare(image, mask, params: dict, *, label=None, device=None, what: str = "") -> dict[str, float]:
    """Run both, check names, order and values; return the worst relative difference per feature class."""
    t0 = time.perf_counter()
    ref = pyradiomics_values(image, mask, params, label)
    t1 = time.perf_counter()
    got = Extractor(params, label=label, device=device).execute(image, mask, label=label)
    t2 = time.perf_counter()
    assert list(got) == list(ref), (what, [k for k in ref if k not in got][:5], [k for k in got if k not in ref][:5])
    worst: dict[str, float] = {}
    bad = []
    for name, r in ref.items():
        d = relative_difference(got[name], r)
        cls = name.split("_")[-2]
        worst[cls] = max(worst.get(cls, 0.0), d)
        if d > tolerance(name):
            bad.append((name, got[name], r, d))
    assert not bad, f"{what}: {len(bad)} feature(s) differ from PyRadiomics, e.g. {bad[:5]}"
    worst["_seconds_pyradiomics"] = t1 - t0
    worst["_seconds_radnomo"] = t2 - t1
    return worst
