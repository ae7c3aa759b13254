"""First-order statistics of the ROI intensities, with PyRadiomics' definitions.

Computed on the 1-D array of ROI values once per image: one mean, one set of
centred values, one partition for all percentiles (the median included). The
statistics use numpy's reductions on arrays with the same values in the same
order as PyRadiomics (``radiomics/firstorder.py``: the population variance
through ``nanstd ** 2``, the robust MAD over the closed 10-90th percentile
range, ...), so most are the same to the last bit. Two are not, by design:
the third and fourth moments (Skewness, Kurtosis) use ``d**2 * d`` and
``d**2 * d**2`` instead of libm's ``pow`` (30 times slower), and the median of
an even count is numpy's linear interpolation at 0.5 instead of the mean of the
two middle values; both differ by an ulp or two.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from radnomo.features.engine.backend import EPS


# Long on purpose: a flat table of PyRadiomics' 19 first-order formulas over shared, lazily computed moments
def firstorder_features(values: np.ndarray, level_counts: np.ndarray, names, *, spacing_xyz,
                        voxel_shift: float = 0.0) -> dict[str, float]:
    """First-order features.

    Parameters
    ----------
    values : ROI intensities (float64, C order of the cropped image).
    level_counts : voxels per grey level present after discretisation (increasing level).
    names : features to compute, in output order.
    spacing_xyz : voxel spacing (x, y, z) in mm (TotalEnergy).
    voxel_shift : PyRadiomics' ``voxelArrayShift`` (Energy, TotalEnergy, RootMeanSquared).
    """
    x = values
    n = x.shape[0]
    cache: dict[str, float] = {}

    def mean():
        if "mean" not in cache:
            cache["mean"] = np.mean(x)
        return cache["mean"]

    def centred():
        if "d" not in cache:
            cache["d"] = x - mean()
        return cache["d"]

    def squares():
        if "d2" not in cache:
            cache["d2"] = np.power(centred(), 2)  # = d * d, as numpy.power(d, 2) is
        return cache["d2"]

    def moment(k):
        # PyRadiomics: mean(numpy.power(d, k)). For k = 3, 4 numpy calls libm's pow (30x slower);
        # d^2 * d and d^2 * d^2 differ from it by an ulp or two per term (relative ~1e-15 in the mean).
        key = f"m{k}"
        if key not in cache:
            if k == 2:
                cache[key] = np.mean(squares())
            elif k == 3:
                cache[key] = np.mean(squares() * centred())
            else:
                d2 = squares()
                cache[key] = np.mean(d2 * d2)
        return cache[key]

    def quantiles():
        if "q" not in cache:
            cache["q"] = tuple(np.percentile(x, [10, 25, 50, 75, 90]))
        return cache["q"]

    def energy_sum():
        if "energy" not in cache:
            cache["energy"] = np.sum((x + voxel_shift) ** 2)
        return cache["energy"]

    def probabilities():
        c = level_counts.astype(float)
        return c / np.sum(c)

    def robust_mad():
        q10, q90 = quantiles()[0], quantiles()[4]
        keep = (x >= q10) & (x <= q90)  # PyRadiomics: not (x - q10 < 0 or x - q90 > 0): the same test
        cnt = int(np.count_nonzero(keep))
        kept = np.where(keep, x, 0.0)
        m = np.sum(kept) / cnt
        return np.sum(np.where(keep, np.absolute(x - m), 0.0)) / cnt

    def skewness():
        m2, m3 = moment(2), moment(3)
        if m2 == 0:
            m2 = 1.0
        return m3 / m2 ** 1.5

    def kurtosis():
        m2, m4 = moment(2), moment(4)
        if m2 == 0:
            m2 = 1.0
        return m4 / m2 ** 2.0

    funcs: dict[str, Callable[[], float]] = {
        "Energy": energy_sum,
        "TotalEnergy": lambda: energy_sum() * np.multiply.reduce(tuple(spacing_xyz)),
        "Entropy": lambda: -1.0 * np.sum(probabilities() * np.log2(probabilities() + EPS)),
        "Minimum": lambda: np.min(x),
        "10Percentile": lambda: quantiles()[0],
        "90Percentile": lambda: quantiles()[4],
        "Maximum": lambda: np.max(x),
        "Mean": mean,
        "Median": lambda: quantiles()[2],
        "InterquartileRange": lambda: quantiles()[3] - quantiles()[1],
        "Range": lambda: np.max(x) - np.min(x),
        "MeanAbsoluteDeviation": lambda: np.mean(np.absolute(centred())),
        "RobustMeanAbsoluteDeviation": robust_mad,
        "RootMeanSquared": lambda: np.sqrt(energy_sum() / float(n)) if n else 0.0,
        "StandardDeviation": lambda: np.sqrt(moment(2)),
        "Skewness": skewness,
        "Kurtosis": kurtosis,
        "Variance": lambda: np.sqrt(moment(2)) ** 2,
        "Uniformity": lambda: np.sum(probabilities() ** 2),
    }
    out = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name in names:
            try:
                out[name] = float(funcs[name]())
            except Exception:
                out[name] = float("nan")
    return out
