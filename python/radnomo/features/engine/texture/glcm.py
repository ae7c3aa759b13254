"""GLCM (grey-level co-occurrence matrix) features, PyRadiomics' definitions vectorised over the angles."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from radnomo.features.engine.backend import EPS
from radnomo.features.engine.texture.common import _evaluate, _per_angle, _present


# Long on purpose: a flat table of PyRadiomics' 24 GLCM formulas over shared intermediate sums
def glcm_features(counts, levels, names, xp, *, symmetrical: bool = True, weights=None) -> dict[str, float]:
    """GLCM features. ``counts``: (Ng, Ng, Na) co-occurrences of levels i -> j per angle.

    ``weights`` (per angle, ``weightingNorm``): the angles' matrices are summed with these weights.
    """
    P = _present(counts, levels, 2, xp)
    if symmetrical:
        P = P + P.transpose(1, 0, 2) if xp.name == "numpy" else P + P.permute(1, 0, 2)
    P, sumP = _per_angle(P, weights, xp)
    P = P / sumP[None, None, :]

    ng = int(np.max(levels))
    lv = xp.asarray(np.asarray(levels, dtype=np.float64))
    i = lv[:, None]
    j = lv[None, :]
    i3 = i[:, :, None]
    j3 = j[:, :, None]
    k_sum = xp.asarray(np.arange(2, ng * 2 + 1, dtype=np.float64))
    k_diff = xp.asarray(np.arange(0, ng, dtype=np.float64))
    c: dict[str, Any] = {}

    def px():
        if "px" not in c:
            c["px"] = xp.sum(P, 1, keepdims=True)
        return c["px"]

    def py():
        if "py" not in c:
            c["py"] = xp.sum(P, 0, keepdims=True)
        return c["py"]

    def ux():
        if "ux" not in c:
            c["ux"] = xp.sum(i3 * P, (0, 1), keepdims=True)
        return c["ux"]

    def uy():
        if "uy" not in c:
            c["uy"] = xp.sum(j3 * P, (0, 1), keepdims=True)
        return c["uy"]

    def p_sum():  # p_{x+y}(k), k = 2 .. 2 Ng, shape (2 Ng - 1, Na)
        if "pxAddy" not in c:
            idx = (np.asarray(levels)[:, None] + np.asarray(levels)[None, :] - 2).ravel()
            c["pxAddy"] = xp.scatter_sum(idx, P.reshape(-1, P.shape[2]), 2 * ng - 1)
        return c["pxAddy"]

    def p_diff():  # p_{x-y}(k), k = 0 .. Ng - 1, shape (Ng, Na)
        if "pxSuby" not in c:
            idx = np.abs(np.asarray(levels)[:, None] - np.asarray(levels)[None, :]).ravel()
            c["pxSuby"] = xp.scatter_sum(idx, P.reshape(-1, P.shape[2]), ng)
        return c["pxSuby"]

    def hxy():
        if "HXY" not in c:
            c["HXY"] = (-1) * xp.sum(P * xp.log2(P + EPS), (0, 1))
        return c["HXY"]

    def cluster(power):
        # PyRadiomics: sum(P * ((i + j) - ux - uy) ** power); ** 3 and ** 4 call libm's pow there,
        # here products of the square (an ulp or two per term; a large share of the time otherwise)
        if "t2" not in c:
            t = (i + j)[:, :, None] - ux() - uy()
            c["t"] = t
            c["t2"] = t ** 2
        t2 = c["t2"]
        term = t2 if power == 2 else (t2 * c["t"] if power == 3 else t2 * t2)
        return xp.nanmean(xp.sum(P * term, (0, 1)), 0)

    def correlation():
        sigx = xp.sum(P * ((i3 - ux()) ** 2), (0, 1), keepdims=True) ** 0.5
        sigy = xp.sum(P * ((j3 - uy()) ** 2), (0, 1), keepdims=True) ** 0.5
        corm = xp.sum(P * (i3 - ux()) * (j3 - uy()), (0, 1), keepdims=True)
        corr = corm / (sigx * sigy + EPS)
        corr[sigx * sigy == 0] = 1
        return xp.nanmean(corr)

    def diff_variance():
        pd = p_diff()
        avg = xp.sum(k_diff[:, None] * pd, 0, keepdims=True)
        return xp.nanmean(xp.sum(pd * ((k_diff[:, None] - avg) ** 2), 0), 0)

    def imc1():
        hx = (-1) * xp.sum(px() * xp.log2(px() + EPS), (0, 1))
        hy = (-1) * xp.sum(py() * xp.log2(py() + EPS), (0, 1))
        hxy1 = (-1) * xp.sum(P * xp.log2(px() * py() + EPS), (0, 1))
        div = xp.fmax(hx, hy)
        v = hxy() - hxy1
        nz = div != 0
        v[nz] /= div[nz]
        v[div == 0] = 0
        return xp.nanmean(v, 0)

    def imc2():
        pxy = px() * py()
        hxy2 = (-1) * xp.sum(pxy * xp.log2(pxy + EPS), (0, 1))
        v = (1 - xp.e ** (-2 * (hxy2 - hxy()))) ** 0.5
        v[hxy2 == hxy()] = 0
        return xp.nanmean(v, 0)

    def mcc():
        pxv = px()
        pyv = py()
        n = P.shape[0]
        Q = None
        for k in range(n):  # Q[i, j] = sum_k p(i, k) p(j, k) / (p_x(i) p_y(k)), summed in k order
            term = (P[:, None, k, :] * P[None, :, k, :]) / (pxv * pyv[0, k, :][None, None, :] + EPS)
            Q = term if Q is None else Q + term
        ev = xp.eigvals(Q.transpose((2, 0, 1)) if xp.name == "numpy" else Q.permute(2, 0, 1))
        ev = xp.sort_last(ev)
        if ev.shape[1] < 2:
            return 1.0
        return xp.nanmean(xp.sqrt(ev[:, -2]), 0).real

    funcs: dict[str, Callable[[], Any]] = {
        "Autocorrelation": lambda: xp.nanmean(xp.sum(P * (i * j)[:, :, None], (0, 1)), 0),
        "JointAverage": lambda: xp.mean(ux().reshape(-1), 0),
        "ClusterProminence": lambda: cluster(4),
        "ClusterShade": lambda: cluster(3),
        "ClusterTendency": lambda: cluster(2),
        "Contrast": lambda: xp.nanmean(xp.sum(P * (xp.abs(i - j)[:, :, None] ** 2), (0, 1)), 0),
        "Correlation": correlation,
        "DifferenceAverage": lambda: xp.nanmean(xp.sum(k_diff[:, None] * p_diff(), 0), 0),
        "DifferenceEntropy": lambda: xp.nanmean((-1) * xp.sum(p_diff() * xp.log2(p_diff() + EPS), 0), 0),
        "DifferenceVariance": diff_variance,
        "JointEnergy": lambda: xp.nanmean(xp.sum(P ** 2, (0, 1)), 0),
        "JointEntropy": lambda: xp.nanmean(hxy(), 0),
        "Imc1": imc1,
        "Imc2": imc2,
        "Idm": lambda: xp.nanmean(xp.sum(p_diff() / (1 + (k_diff[:, None] ** 2)), 0), 0),
        "MCC": mcc,
        "Idmn": lambda: xp.nanmean(xp.sum(p_diff() / (1 + ((k_diff[:, None] ** 2) / (ng ** 2))), 0), 0),
        "Id": lambda: xp.nanmean(xp.sum(p_diff() / (1 + k_diff[:, None]), 0), 0),
        "Idn": lambda: xp.nanmean(xp.sum(p_diff() / (1 + (k_diff[:, None] / ng)), 0), 0),
        "InverseVariance": lambda: xp.nanmean(xp.sum(p_diff()[1:, :] / k_diff[1:, None] ** 2, 0), 0),
        "MaximumProbability": lambda: xp.nanmean(xp.amax(P, (0, 1)), 0),
        "SumAverage": lambda: xp.nanmean(xp.sum(k_sum[:, None] * p_sum(), 0), 0),
        "SumEntropy": lambda: xp.nanmean((-1) * xp.sum(p_sum() * xp.log2(p_sum() + EPS), 0), 0),
        "SumSquares": lambda: xp.nanmean(xp.sum(P * ((i3 - ux()) ** 2), (0, 1)), 0),
    }
    return _evaluate(funcs, names, xp)
