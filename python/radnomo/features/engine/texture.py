"""Texture features (GLCM, GLRLM, GLSZM, GLDM, NGTDM) from their matrices.

Each ``<class>_features`` function takes the integer counts from
:mod:`.kernels` (or the torch kernels of :mod:`.gpu`), the grey levels present
in the ROI and the feature names to compute, and returns
``{name: value}``. The definitions are PyRadiomics' (``radiomics/glcm.py`` etc.
of pyradiomics-bhklab 3.1.4: the same matrix normalisation, the same handling of
empty angles, grey levels and sizes, the same epsilon, the same guards against
division by zero, the same mean over angles), vectorised over the angles, and
the reductions run over the same axes in the same memory layout, so on the CPU
the values agree with PyRadiomics to the last few bits.

A feature whose computation raises gives NaN, as in PyRadiomics.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import numpy as np

from radnomo.features.engine.backend import EPS

log = logging.getLogger(__name__)


def _evaluate(funcs: dict[str, Callable[[], Any]], names: Iterable[str], xp) -> dict[str, float]:
    out = {}
    with np.errstate(all="ignore"):
        for name in names:
            try:
                out[name] = xp.item(funcs[name]())
            except Exception:  # PyRadiomics: a failing feature is logged and set to NaN
                log.error("feature %s failed", name, exc_info=True)
                out[name] = float("nan")
    return out


def _present(counts, levels, axes: int, xp):
    """Keep the rows (and, for ``axes == 2``, the columns) of grey levels present in the ROI; as float64."""
    idx = xp.asarray(np.asarray(levels) - 1, dtype=_index_dtype(xp))
    m = counts[idx]
    if axes == 2:
        m = m[:, idx]
    return xp.asarray(m)


def _index_dtype(xp):
    return np.int64 if xp.name == "numpy" else xp.torch.int64


# --------------------------------------------------------------------------------------------------- GLCM

def glcm_features(counts, levels, names, xp, *, symmetrical: bool = True, weights=None) -> dict[str, float]:
    """GLCM features. ``counts``: (Ng, Ng, Na) co-occurrences of levels i -> j per angle.

    ``weights`` (per angle, ``weightingNorm``): the angles' matrices are summed with these weights.
    """
    P = _present(counts, levels, 2, xp)
    if symmetrical:
        P = P + P.transpose(1, 0, 2) if xp.name == "numpy" else P + P.permute(1, 0, 2)
    if weights is not None:
        P = xp.sum(P * xp.asarray(weights)[None, None, :], 2, keepdims=True)
    sumP = xp.sum(P, (0, 1))
    if P.shape[2] > 1:
        keep = sumP != 0
        if not bool(keep.all()):
            P = P[:, :, keep]
            sumP = sumP[keep]
    sumP[sumP == 0] = float("nan")
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


# --------------------------------------------------------------------------------------------------- GLRLM

def glrlm_features(counts, levels, names, xp, *, weights=None) -> dict[str, float]:
    """GLRLM features. ``counts``: (Ng, Nr, Na) runs of level i and length j + 1 per angle.

    ``weights`` (per angle, ``weightingNorm``): the angles' matrices are summed with these weights.
    """
    P = _present(counts, levels, 1, xp)
    if weights is not None:
        P = xp.sum(P * xp.asarray(weights)[None, None, :], 2, keepdims=True)
    Nr = xp.sum(P, (0, 1))
    if P.shape[2] > 1:
        keep = Nr != 0
        if not bool(keep.all()):
            P = P[:, :, keep]
            Nr = Nr[keep]
    Nr[Nr == 0] = float("nan")
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


# --------------------------------------------------------------------------------------------------- GLSZM / GLDM

def _zone_like(P, iv, jv, Nz, xp):
    """The formulas GLSZM and GLDM share; ``P`` (Ng, Nj) with empty columns removed, ``jv`` their sizes."""
    ps = xp.sum(P, 0)
    pg = xp.sum(P, 1)
    i2 = iv ** 2
    j2 = jv ** 2

    def variance(p, v):
        p = p / Nz
        u = xp.sum(p * v, 0, keepdims=True)
        return xp.sum(p * (v - u) ** 2, 0)

    def entropy():
        p = P / Nz
        return -xp.sum(p * xp.log2(p + EPS), (0, 1))

    return ps, pg, i2, j2, variance, entropy


def _zone_matrix(levels_of_zones, sizes_of_zones, levels, xp):
    """(Ng present, distinct zone sizes) counts, the sizes, the number of zones and of voxels."""
    if xp.name == "numpy":
        zl = np.asarray(levels_of_zones)
        zs = np.asarray(sizes_of_zones)
        lv = np.asarray(levels)
        sizes, size_idx = np.unique(zs, return_inverse=True)
        counts = np.zeros((len(lv), len(sizes)), np.float64)
        np.add.at(counts, (np.searchsorted(lv, zl), size_idx), 1.0)
        return counts, sizes.astype(np.float64), float(len(zs)), float(np.sum(zs))
    torch = xp.torch
    zl = torch.as_tensor(levels_of_zones, device=xp.device)
    zs = torch.as_tensor(sizes_of_zones, device=xp.device)
    lv = torch.as_tensor(np.asarray(levels), device=xp.device)
    sizes, size_idx = torch.unique(zs, return_inverse=True)
    flat = torch.searchsorted(lv, zl) * len(sizes) + size_idx
    counts = torch.bincount(flat, minlength=len(lv) * len(sizes)).to(torch.float64).reshape(len(lv), len(sizes))
    return counts, sizes.to(torch.float64), float(zs.numel()), float(zs.sum().item())


def glszm_features(levels_of_zones, sizes_of_zones, levels, names, xp) -> dict[str, float]:
    """GLSZM features from the zones' grey levels and sizes (one entry per zone)."""
    counts, sizes, Nz, Np = _zone_matrix(levels_of_zones, sizes_of_zones, levels, xp)
    P = xp.asarray(counts)
    iv = xp.asarray(np.asarray(levels, dtype=np.float64))
    jv = xp.asarray(sizes)
    Nz = Nz or 1.0
    Np = Np or 1.0
    ps, pg, i2, j2, variance, entropy = _zone_like(P, iv, jv, Nz, xp)
    funcs = {
        "SmallAreaEmphasis": lambda: xp.sum(ps / j2, 0) / Nz,
        "LargeAreaEmphasis": lambda: xp.sum(ps * j2, 0) / Nz,
        "GrayLevelNonUniformity": lambda: xp.sum(pg ** 2, 0) / Nz,
        "GrayLevelNonUniformityNormalized": lambda: xp.sum(pg ** 2, 0) / Nz ** 2,
        "SizeZoneNonUniformity": lambda: xp.sum(ps ** 2, 0) / Nz,
        "SizeZoneNonUniformityNormalized": lambda: xp.sum(ps ** 2, 0) / Nz ** 2,
        "ZonePercentage": lambda: xp.asarray(Nz / Np),
        "GrayLevelVariance": lambda: variance(pg, iv),
        "ZoneVariance": lambda: variance(ps, jv),
        "ZoneEntropy": entropy,
        "LowGrayLevelZoneEmphasis": lambda: xp.sum(pg / i2, 0) / Nz,
        "HighGrayLevelZoneEmphasis": lambda: xp.sum(pg * i2, 0) / Nz,
        "SmallAreaLowGrayLevelEmphasis": lambda: xp.sum(P / (i2[:, None] * j2[None, :]), (0, 1)) / Nz,
        "SmallAreaHighGrayLevelEmphasis": lambda: xp.sum(P * i2[:, None] / j2[None, :], (0, 1)) / Nz,
        "LargeAreaLowGrayLevelEmphasis": lambda: xp.sum(P * j2[None, :] / i2[:, None], (0, 1)) / Nz,
        "LargeAreaHighGrayLevelEmphasis": lambda: xp.sum(P * i2[:, None] * j2[None, :], (0, 1)) / Nz,
    }
    return _evaluate(funcs, names, xp)


def gldm_features(counts, levels, names, xp) -> dict[str, float]:
    """GLDM features. ``counts``: (Ng, Na + 1) voxels of level i with k dependent neighbours."""
    P = _present(counts, levels, 1, xp)
    pd_all = xp.sum(P, 0)
    keep = pd_all != 0
    P = P[:, keep]
    jv = xp.asarray(np.arange(1, len(keep) + 1, dtype=np.float64))[keep]
    iv = xp.asarray(np.asarray(levels, dtype=np.float64))
    Nz = xp.sum(xp.sum(P, 0), 0)
    Nz = Nz if float(Nz) != 0 else Nz + 1
    pd, pg, i2, j2, variance, entropy = _zone_like(P, iv, jv, Nz, xp)
    funcs = {
        "SmallDependenceEmphasis": lambda: xp.sum(pd / j2, 0) / Nz,
        "LargeDependenceEmphasis": lambda: xp.sum(pd * j2, 0) / Nz,
        "GrayLevelNonUniformity": lambda: xp.sum(pg ** 2, 0) / Nz,
        "DependenceNonUniformity": lambda: xp.sum(pd ** 2, 0) / Nz,
        "DependenceNonUniformityNormalized": lambda: xp.sum(pd ** 2, 0) / Nz ** 2,
        "GrayLevelVariance": lambda: variance(pg, iv),
        "DependenceVariance": lambda: variance(pd, jv),
        "DependenceEntropy": entropy,
        "LowGrayLevelEmphasis": lambda: xp.sum(pg / i2, 0) / Nz,
        "HighGrayLevelEmphasis": lambda: xp.sum(pg * i2, 0) / Nz,
        "SmallDependenceLowGrayLevelEmphasis": lambda: xp.sum(P / (i2[:, None] * j2[None, :]), (0, 1)) / Nz,
        "SmallDependenceHighGrayLevelEmphasis": lambda: xp.sum(P * i2[:, None] / j2[None, :], (0, 1)) / Nz,
        "LargeDependenceLowGrayLevelEmphasis": lambda: xp.sum(P * j2[None, :] / i2[:, None], (0, 1)) / Nz,
        "LargeDependenceHighGrayLevelEmphasis": lambda: xp.sum(P * (j2[None, :] * i2[:, None]), (0, 1)) / Nz,
    }
    return _evaluate(funcs, names, xp)


# --------------------------------------------------------------------------------------------------- NGTDM

def ngtdm_features(n_i, s_i, names, xp) -> dict[str, float]:
    """NGTDM features. ``n_i``: voxels per grey level (index = level - 1); ``s_i``: sums of |differences|."""
    n_np = np.asarray(n_i) if xp.name == "numpy" else None
    if n_np is not None:
        present = n_np != 0
        idx = np.nonzero(present)[0]
    else:
        idx = xp.torch.nonzero(n_i != 0).reshape(-1)
    n = xp.asarray(n_i[idx])
    s = xp.asarray(s_i[idx])
    iv = xp.asarray(idx + 1) if n_np is not None else (idx + 1).to(dtype=xp.torch.float64)
    Nvp = xp.sum(n, 0)
    p = n / Nvp
    ngp = int(p.shape[0])

    def coarseness():
        v = xp.sum(p * s, 0)
        return 1 / v if float(v) != 0 else xp.asarray(1e6)

    def contrast():
        div = ngp * (ngp - 1)
        v = (xp.sum(p[:, None] * p[None, :] * (iv[:, None] - iv[None, :]) ** 2, (0, 1)) * xp.sum(s, 0) / Nvp)
        return v / div if div != 0 else xp.asarray(0.0)

    def busyness():
        ip = iv * p
        absdiff = xp.sum(xp.abs(ip[:, None] - ip[None, :]), (0, 1))
        b = xp.sum(p * s, 0)
        return b / absdiff if float(absdiff) != 0 else xp.asarray(0.0)

    def complexity():
        ps = p * s
        num = ps[:, None] + ps[None, :]
        den = p[:, None] + p[None, :]
        den[den == 0] = 1
        return xp.sum(xp.abs(iv[:, None] - iv[None, :]) * num / den, (0, 1)) / Nvp

    def strength():
        total = xp.sum(s, 0)
        v = xp.sum((p[:, None] + p[None, :]) * (iv[:, None] - iv[None, :]) ** 2, (0, 1))
        return v / total if float(total) != 0 else xp.asarray(0.0)

    funcs = {"Coarseness": coarseness, "Contrast": contrast, "Busyness": busyness, "Complexity": complexity,
             "Strength": strength}
    return _evaluate(funcs, names, xp)
