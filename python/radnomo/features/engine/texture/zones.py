"""GLSZM (size-zone) and GLDM (dependence) features: two matrices of grey level by a count (a zone's
size, a voxel's dependent neighbours) that share their formulas (:func:`_zone_like`)."""

from __future__ import annotations

import numpy as np

from radnomo.features.engine.backend import EPS
from radnomo.features.engine.texture.common import _evaluate, _present


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
