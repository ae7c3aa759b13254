"""Texture matrices and formulas with torch (float64), for ``Extractor(device="cuda")``.

The same counts as :mod:`.kernels`, computed data-parallel over the voxels of the
ROI's padded box (see :mod:`.kernels` for the ``-1 / 0 / level`` encoding):

* GLCM, GLDM, NGTDM: for every angle, the neighbour levels are a shifted view of
  the box; co-occurrences and dependence counts are ``bincount``s, the NGTDM
  neighbour sums and counts are accumulated per voxel;
* GLRLM: per angle, a voxel starts a run when its predecessor differs; every
  voxel finds its run's start by pointer jumping (log2 of the longest run
  steps), and each run is counted at its last voxel with length = distance to
  its start;
* GLSZM: connected components by minimum-label propagation over the 26
  neighbours of equal level with pointer jumping, then zone sizes by
  ``bincount``.

The formulas are :mod:`.texture`'s, evaluated with :class:`.backend.TorchBackend`
on the same device. The LoG and wavelet images are computed on the device too
(:mod:`.gpu_filters`); discretisation, first-order statistics and shape stay on
the CPU (run images on several threads, ``Extractor(threads=)``, to overlap
them with the device's work). Float64 throughout;
the only differences to the CPU engine come from summation order (atomic adds
on the GPU), far below the 1e-6 the tests allow.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from radnomo.features.engine import kernels
from radnomo.features.engine.grid import angle_weights, angles, flat_offsets
from radnomo.features.engine.texture import (gldm_features, glcm_features, glrlm_features, glszm_features,
                                             ngtdm_features)


def _shifted(gt, pad: int, size, offset):
    """The box shifted by ``offset`` (dz, dy, dx) inside the padded tensor ``gt``."""
    dz, dy, dx = (int(v) for v in offset)
    return gt[pad + dz:pad + dz + size[0], pad + dy:pad + dy + size[1], pad + dx:pad + dx + size[2]]


def neighbourhood_counts(torch, gt, pad, size, bi, glcm_index, n_glcm, ng, alpha):
    """GLCM (ng, ng, n_glcm), GLDM (ng, n_bi + 1), NGTDM n (ng,) and s (ng,) on ``gt``'s device."""
    inner = _shifted(gt, pad, size, (0, 0, 0))
    roi = inner > 0
    gi = inner[roi].to(torch.int64)
    cnt = torch.zeros_like(gi)
    tot = torch.zeros_like(gi)
    dep = torch.zeros_like(gi)
    glcm = torch.zeros(ng * ng * max(n_glcm, 1), dtype=torch.int64, device=gt.device)
    for a, off in enumerate(bi):
        gj = _shifted(gt, pad, size, off)[roi].to(torch.int64)
        valid = gj > 0
        cnt += valid
        tot += torch.where(valid, gj, 0)
        dep += valid & ((gi - gj).abs() <= alpha)
        k = int(glcm_index[a])
        if k >= 0:
            idx = ((gi[valid] - 1) * ng + (gj[valid] - 1)) * n_glcm + k
            glcm += torch.bincount(idx, minlength=glcm.numel())
    diff = torch.where(cnt > 0, gi.to(torch.float64) - tot.to(torch.float64) / cnt.clamp(min=1).to(torch.float64),
                       torch.zeros((), dtype=torch.float64, device=gt.device)).abs()
    n = torch.bincount(gi - 1, minlength=ng)
    s = torch.zeros(ng, dtype=torch.float64, device=gt.device).index_add_(0, gi - 1, diff)
    gldm = torch.bincount((gi - 1) * (len(bi) + 1) + dep, minlength=ng * (len(bi) + 1))
    return glcm.reshape(ng, ng, max(n_glcm, 1)), gldm.reshape(ng, len(bi) + 1), n, s


def run_length_counts(torch, g_flat, roi_idx, offsets, ng, nr):
    """GLRLM counts (ng, nr, n_angles) and the longest run per angle (see :func:`.kernels.run_length_counts`)."""
    na = len(offsets)
    out = torch.zeros(ng * nr * na, dtype=torch.int64, device=g_flat.device)
    longest = np.zeros(na, np.int64)
    v = g_flat[roi_idx]
    for a, off in enumerate(offsets):
        off = int(off)
        start = g_flat[roi_idx - off] != v
        end = g_flat[roi_idx + off] != v
        # pointer jumping: link[p] = p at a run start, else the predecessor; then link = link[link]
        link = torch.full_like(g_flat, -1, dtype=torch.int64)
        link[roi_idx] = torch.where(start, roi_idx, roi_idx - off)
        while True:
            nxt = link[link[roi_idx]]
            if torch.equal(nxt, link[roi_idx]):
                break
            link[roi_idx] = nxt
        length = (roi_idx[end] - link[roi_idx[end]]) // off + 1
        lv = v[end].to(torch.int64)
        out += torch.bincount(((lv - 1) * nr + (length - 1)) * na + a, minlength=out.numel())
        longest[a] = int(length.max().item()) if length.numel() else 0
    return out.reshape(ng, nr, na), longest


def size_zones(torch, g_flat, roi_idx, offsets):
    """GLSZM zones (levels, sizes) by minimum-label propagation with pointer jumping."""
    label = torch.full_like(g_flat, -1, dtype=torch.int64)
    label[roi_idx] = roi_idx
    v = g_flat[roi_idx]
    both = [int(o) for o in offsets] + [-int(o) for o in offsets]
    while True:
        before = label[roi_idx].clone()
        cur = before
        for off in both:
            q = roi_idx + off
            same = g_flat[q] == v
            cur = torch.where(same, torch.minimum(cur, label[q]), cur)
            label[roi_idx] = cur
        # pointer jumping to the current root
        while True:
            nxt = label[label[roi_idx]]
            if torch.equal(nxt, label[roi_idx]):
                break
            label[roi_idx] = nxt
        if torch.equal(label[roi_idx], before):
            break
    roots = label[roi_idx]
    uniq, sizes = torch.unique(roots, return_counts=True)
    return g_flat[uniq].to(torch.int64), sizes


def texture(g3: np.ndarray, pad: int, present: np.ndarray, kwargs: Mapping[str, Any], classes: list[str],
            names: Mapping[str, list[str]], xp, distances, spacing) -> dict[str, dict[str, float]]:
    """All requested texture classes of one image on ``xp``'s device (see :meth:`.Extractor._texture`)."""
    torch = xp.torch
    size = tuple(s - 2 * pad for s in g3.shape)
    gt = torch.as_tensor(g3, device=xp.device)
    ng = int(present[-1])
    out: dict[str, dict[str, float]] = {}
    if any(c in classes for c in ("glcm", "gldm", "ngtdm")):
        bi = angles(size, distances, True, kwargs)
        uni = angles(size, distances, False, kwargs)
        uni_keys = {tuple(a): k for k, a in enumerate(uni.tolist())}
        glcm_index = [uni_keys.get(tuple(a), -1) for a in bi.tolist()]
        glcm, gldm, ngt_n, ngt_s = neighbourhood_counts(torch, gt, pad, size, bi.tolist(), glcm_index, len(uni), ng,
                                                        int(kwargs.get("gldm_a", 0)))
        if "glcm" in classes:
            out["glcm"] = glcm_features(glcm.to(torch.float64), present, names["glcm"], xp,
                                        symmetrical=kwargs.get("symmetricalGLCM", True),
                                        weights=angle_weights(uni, spacing, kwargs.get("weightingNorm"), "glcm"))
        if "gldm" in classes:
            out["gldm"] = gldm_features(gldm.to(torch.float64), present, names["gldm"], xp)
        if "ngtdm" in classes:
            out["ngtdm"] = ngtdm_features(ngt_n.to(torch.float64), ngt_s, names["ngtdm"], xp)
    g_flat = gt.reshape(-1)
    roi_idx = torch.nonzero(g_flat > 0).reshape(-1)
    padded_shape = g3.shape
    if "glrlm" in classes:
        uni1_angles = angles(size, [1], False, kwargs)
        uni1 = flat_offsets(uni1_angles, padded_shape)
        runs, longest = run_length_counts(torch, g_flat, roi_idx, uni1.tolist(), ng, int(max(size)))
        g_cpu = None
        for a in np.flatnonzero(longest < 2):
            g_cpu = g3.ravel() if g_cpu is None else g_cpu
            if not kernels.line_has_two_voxels(g_cpu, np.asarray(padded_shape, dtype=np.int64), pad, uni1[a]):
                runs[:, :, a] = 0
        out["glrlm"] = glrlm_features(runs.to(torch.float64), present, names["glrlm"], xp,
                                      weights=angle_weights(uni1_angles, spacing, kwargs.get("weightingNorm"),
                                                            "glrlm"))
    if "glszm" in classes:
        offsets = flat_offsets(angles(size, [1], False, kwargs), padded_shape)
        zl, zs = size_zones(torch, g_flat, roi_idx, offsets.tolist())
        out["glszm"] = glszm_features(zl, zs, present, names["glszm"], xp)
    return out
