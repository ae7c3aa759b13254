"""GLRLM (grey-level run-length matrix) features, PyRadiomics' definitions vectorised over the angles."""

from __future__ import annotations

import numpy as np

from radnomo.features.engine.backend import EPS
from radnomo.features.engine.texture.common import _evaluate, _per_angle, _present


# Long on purpose: a flat table of PyRadiomics' 16 GLRLM formulas over shared intermediate sums
def glrlm_features(counts, levels, names, xp, *, weights=None) -> dict[str, float]:
    """GLRLM features. ``counts``: (Ng, Nr, Na) runs of level i and length j + 1 per angle.

    ``weights`` (per angle, ``weightingNorm``): the angles' matrices are summed with these weights.
    """
    P = _present(counts, levels, 1, xp)
    P, Nr = _per_angle(P, weights, xp)
    pr = xp.sum(P, 0)
    pg = xp.sum(P, 1)
    iv = xp.asarray(np.asarray(levels, dtype=np.float64))
    present = xp.sum(pr, 1) != 0
    P = P[:, present, :]
    pr = pr[present, :]
    jv = xp.asarray(np.arange(1, len(present) + 1, dtype=np.float64))[present]
    i2 = iv ** 2
    j2 = jv ** 2

    def gl_variance():
        p = pg / Nr[None, :]
        u = xp.sum(p * iv[:, None], 0, keepdims=True)
        return xp.nanmean(xp.sum(p * (iv[:, None] - u) ** 2, 0), 0)

    def run_variance():
        p = pr / Nr[None, :]
        u = xp.sum(p * jv[:, None], 0, keepdims=True)
        return xp.nanmean(xp.sum(p * (jv[:, None] - u) ** 2, 0), 0)

    def run_entropy():
        p = P / Nr[None, None, :]
        return xp.nanmean(-xp.sum(p * xp.log2(p + EPS), (0, 1)), 0)

    funcs = {
        "ShortRunEmphasis": lambda: xp.nanmean(xp.sum(pr / (j2[:, None]), 0) / Nr, 0),
        "LongRunEmphasis": lambda: xp.nanmean(xp.sum(pr * (j2[:, None]), 0) / Nr, 0),
        "GrayLevelNonUniformity": lambda: xp.nanmean(xp.sum(pg ** 2, 0) / Nr, 0),
        "GrayLevelNonUniformityNormalized": lambda: xp.nanmean(xp.sum(pg ** 2, 0) / (Nr ** 2), 0),
        "RunLengthNonUniformity": lambda: xp.nanmean(xp.sum(pr ** 2, 0) / Nr, 0),
        "RunLengthNonUniformityNormalized": lambda: xp.nanmean(xp.sum(pr ** 2, 0) / Nr ** 2, 0),
        "RunPercentage": lambda: xp.nanmean(Nr / xp.sum(pr * jv[:, None], 0), 0),
        "GrayLevelVariance": gl_variance,
        "RunVariance": run_variance,
        "RunEntropy": run_entropy,
        "LowGrayLevelRunEmphasis": lambda: xp.nanmean(xp.sum(pg / (i2[:, None]), 0) / Nr, 0),
        "HighGrayLevelRunEmphasis": lambda: xp.nanmean(xp.sum(pg * (i2[:, None]), 0) / Nr, 0),
        "ShortRunLowGrayLevelEmphasis": lambda: xp.nanmean(
            xp.sum(P / (i2[:, None, None] * j2[None, :, None]), (0, 1)) / Nr, 0),
        "ShortRunHighGrayLevelEmphasis": lambda: xp.nanmean(
            xp.sum(P * i2[:, None, None] / j2[None, :, None], (0, 1)) / Nr, 0),
        "LongRunLowGrayLevelEmphasis": lambda: xp.nanmean(
            xp.sum(P * j2[None, :, None] / i2[:, None, None], (0, 1)) / Nr, 0),
        "LongRunHighGrayLevelEmphasis": lambda: xp.nanmean(
            xp.sum(P * (j2[None, :, None] * i2[:, None, None]), (0, 1)) / Nr, 0),
    }
    return _evaluate(funcs, names, xp)
