"""Compiled kernels (numba): texture matrices and the shape mesh.

Every kernel works on a *padded, flattened* grey-level array ``g`` of the ROI's
bounding box (the cropped image PyRadiomics hands its feature classes), with

* ``g == -1`` in the padding (outside the bounding box),
* ``g == 0`` inside the bounding box but outside the ROI,
* ``g >= 1`` the discretised grey level of an ROI voxel,

so a neighbour is tested with one load and no bounds checks. Angles are given as
flat offsets into that padded array, computed from PyRadiomics' own angle
generator (:func:`radiomics.cMatrices.generate_angles`), so the set of angles,
their order and their limits on thin ROIs are PyRadiomics'.

The kernels count the same events as PyRadiomics' C kernels (``cmatrices.c``,
``cshape.c``) and return integer counts; the one floating-point accumulation that
depends on order (NGTDM's sum of absolute differences per grey level) runs over
the voxels in the same C order as PyRadiomics, so it is bit-identical.

All kernels release the GIL (``nogil``), so images can be processed in threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, nogil=True)


@njit(**_JIT)
def neighbourhood_counts(g, roi, offsets, glcm_index, n_glcm, ng, alpha):
    """GLCM, GLDM and NGTDM counts in one pass over the ROI voxels.

    Parameters
    ----------
    g : flat padded grey levels (see module docstring).
    roi : flat indices of the ROI voxels in ``g``, increasing (C order).
    offsets : flat offsets of the bidirectional angles (GLDM / NGTDM neighbourhood).
    glcm_index : for each offset, its GLCM angle index or -1 (GLCM uses one direction per angle).
    n_glcm : number of GLCM angles.
    ng : highest grey level.
    alpha : GLDM dependence threshold (``gldm_a``).

    Returns
    -------
    glcm : (ng, ng, n_glcm) int64, ``glcm[i-1, j-1, a]`` = voxels of level i whose neighbour along angle a has level j.
    gldm : (ng, n_offsets + 1) int64, voxels of level i with k dependent neighbours.
    ngtdm_n : (ng,) int64, voxels of level i.
    ngtdm_s : (ng,) float64, sum over those voxels of |i - mean of the neighbours in the ROI|.
    """
    na = offsets.shape[0]
    glcm = np.zeros((ng, ng, max(n_glcm, 1)), np.int64)
    gldm = np.zeros((ng, na + 1), np.int64)
    ngtdm_n = np.zeros(ng, np.int64)
    ngtdm_s = np.zeros(ng, np.float64)
    for t in range(roi.shape[0]):
        p = roi[t]
        gi = g[p]
        cnt = 0
        tot = 0
        dep = 0
        for a in range(na):
            gj = g[p + offsets[a]]
            if gj > 0:
                cnt += 1
                tot += gj
                d = gi - gj
                if d < 0:
                    d = -d
                if d <= alpha:
                    dep += 1
                k = glcm_index[a]
                if k >= 0:
                    glcm[gi - 1, gj - 1, k] += 1
        if cnt == 0:
            diff = 0.0
        else:
            diff = float(gi) - float(tot) / float(cnt)
        if diff < 0:
            diff = -diff
        ngtdm_n[gi - 1] += 1
        ngtdm_s[gi - 1] += diff
        gldm[gi - 1, dep] += 1
    return glcm, gldm, ngtdm_n, ngtdm_s


@njit(**_JIT)
def run_length_counts(g, roi, offsets, ng, nr):
    """GLRLM counts: ``(ng, nr, n_angles)`` int64, runs of level i and length j+1 along each angle.

    ``offsets`` are the flat offsets of PyRadiomics' one-directional distance-1 angles; all are
    positive (their first non-zero component is), so in C order a voxel's predecessor along an
    angle comes first: one pass per angle carries the length of the current run forward and counts
    a run where it ends (next voxel outside the ROI, of another level, or in the padding).

    Also returns, per angle, the longest run found. PyRadiomics zeroes an angle along which no line
    of the bounding box holds two ROI voxels; when the longest run is 1 that has to be checked with
    :func:`line_has_two_voxels`.
    """
    na = offsets.shape[0]
    out = np.zeros((ng, nr, na), np.int64)
    longest = np.zeros(na, np.int64)
    run = np.empty(g.shape[0], np.int32)
    for a in range(na):
        off = offsets[a]
        best = 0
        for t in range(roi.shape[0]):
            p = roi[t]
            v = g[p]
            if g[p - off] == v:
                r = run[p - off] + 1
            else:
                r = 1
            run[p] = r
            if g[p + off] != v:
                out[v - 1, r - 1, a] += 1
                if r > best:
                    best = r
        longest[a] = best
    return out, longest


@njit(**_JIT)
def line_has_two_voxels(g, shape, pad, off):
    """True when some line of the bounding box along flat offset ``off`` holds two ROI voxels."""
    sz, sy, sx = shape[0], shape[1], shape[2]
    for z in range(pad, sz - pad):
        for y in range(pad, sy - pad):
            base = (z * sy + y) * sx
            for x in range(pad, sx - pad):
                p = base + x
                if g[p - off] != -1:
                    continue
                n = 0
                j = p
                while g[j] != -1:
                    if g[j] > 0:
                        n += 1
                        if n > 1:
                            return True
                    j += off
    return False


@njit(**_JIT)
def _root(parent, p):
    while parent[p] != p:
        parent[p] = parent[parent[p]]
        p = parent[p]
    return p


@njit(**_JIT)
def size_zones(g, roi, back):
    """GLSZM zones: connected regions of equal grey level.

    ``back`` are the flat offsets of the one-directional distance-1 angles (all positive): joining
    every ROI voxel to its equal-level neighbours at ``-back`` (union-find, in C order) joins all
    26-connected neighbours, as PyRadiomics' region growing does. Returns ``(levels, sizes)``, one
    entry per zone (int64 arrays).
    """
    n = roi.shape[0]
    parent = np.empty(g.shape[0], np.int32)
    nb = back.shape[0]
    for t in range(n):
        p = roi[t]
        v = g[p]
        r = p
        parent[p] = p
        for a in range(nb):
            q = p - back[a]
            if g[q] == v:
                rq = _root(parent, q)
                if rq != r:
                    if rq < r:
                        parent[r] = rq
                        r = rq
                    else:
                        parent[rq] = r
    zone = np.empty(g.shape[0], np.int32)
    levels = np.empty(n, np.int64)
    sizes = np.zeros(n, np.int64)
    nz = 0
    for t in range(n):
        p = roi[t]
        r = _root(parent, p)
        if r == p:
            zone[p] = nz
            levels[nz] = g[p]
            nz += 1
        sizes[zone[r]] += 1
    return levels[:nz], sizes[:nz]


@njit(**_JIT)
# Long on purpose: one compiled loop over the cubes in cshape.c's order (bit-identical sums, no per-cube calls)
def mesh(mask, spacing, triangles, edge_points):
    """Marching cubes over a binary mask padded by one voxel: surface area, volume, mesh vertices.

    Surface area and (signed, divided by 6) volume are accumulated cube by cube in the
    same order and with the same arithmetic as PyRadiomics' ``cshape.c``, so they are
    bit-identical. Each mesh vertex is listed once (the three edges at corner 6 of each
    cube), as physical coordinates (z, y, x) in mm.
    """
    nz, ny, nx = mask.shape
    cap = 1024
    verts = np.empty((cap, 3), np.float64)
    nv = 0
    area = 0.0
    volume = 0.0
    vert_bits = (6, 4, 3)
    vert_edges = (6, 7, 11)
    s0 = spacing[0]
    s1 = spacing[1]
    s2 = spacing[2]
    for iz in range(nz - 1):
        for iy in range(ny - 1):
            for ix in range(nx - 1):
                idx = 0
                if mask[iz, iy, ix]:
                    idx |= 1
                if mask[iz, iy, ix + 1]:
                    idx |= 2
                if mask[iz, iy + 1, ix + 1]:
                    idx |= 4
                if mask[iz, iy + 1, ix]:
                    idx |= 8
                if mask[iz + 1, iy, ix]:
                    idx |= 16
                if mask[iz + 1, iy, ix + 1]:
                    idx |= 32
                if mask[iz + 1, iy + 1, ix + 1]:
                    idx |= 64
                if mask[iz + 1, iy + 1, ix]:
                    idx |= 128
                sign = 1.0
                if idx & 128:
                    idx ^= 255
                    sign = -1.0
                if idx == 0:
                    continue
                for t in range(3):
                    if idx & (1 << vert_bits[t]):
                        if nv == cap:
                            cap *= 2
                            grown = np.empty((cap, 3), np.float64)
                            grown[:nv] = verts[:nv]
                            verts = grown
                        e = vert_edges[t]
                        verts[nv, 0] = (iz + edge_points[e, 0]) * s0
                        verts[nv, 1] = (iy + edge_points[e, 1]) * s1
                        verts[nv, 2] = (ix + edge_points[e, 2]) * s2
                        nv += 1
                k = 0
                while triangles[idx, 3 * k] >= 0:
                    ea = triangles[idx, 3 * k]
                    eb = triangles[idx, 3 * k + 1]
                    ec = triangles[idx, 3 * k + 2]
                    a0 = (iz + edge_points[ea, 0]) * s0
                    a1 = (iy + edge_points[ea, 1]) * s1
                    a2 = (ix + edge_points[ea, 2]) * s2
                    b0 = (iz + edge_points[eb, 0]) * s0
                    b1 = (iy + edge_points[eb, 1]) * s1
                    b2 = (ix + edge_points[eb, 2]) * s2
                    c0 = (iz + edge_points[ec, 0]) * s0
                    c1 = (iy + edge_points[ec, 1]) * s1
                    c2 = (ix + edge_points[ec, 2]) * s2
                    x0 = a1 * b2 - b1 * a2
                    x1 = a2 * b0 - b2 * a0
                    x2 = a0 * b1 - b0 * a1
                    volume += sign * (x0 * c0 + x1 * c1 + x2 * c2)
                    a0 -= c0
                    a1 -= c1
                    a2 -= c2
                    b0 -= c0
                    b1 -= c1
                    b2 -= c2
                    x0 = a1 * b2 - b1 * a2
                    x1 = a2 * b0 - b2 * a0
                    x2 = a0 * b1 - b0 * a1
                    x0 = x0 * x0
                    x1 = x1 * x1
                    x2 = x2 * x2
                    area += 0.5 * np.sqrt(x0 + x1 + x2)
                    k += 1
    return area, volume / 6.0, verts[:nv].copy()


@njit(**_JIT)
def max_sq_distance(points, axis):
    """Largest squared distance over all pairs of ``points`` (n, 3); with ``axis`` >= 0 only over
    pairs that share that coordinate exactly. Squares are summed as PyRadiomics does."""
    best = 0.0
    n = points.shape[0]
    for i in range(n):
        a0 = points[i, 0]
        a1 = points[i, 1]
        a2 = points[i, 2]
        for j in range(i):
            if axis >= 0 and points[j, axis] != points[i, axis]:
                continue
            d0 = a0 - points[j, 0]
            d1 = a1 - points[j, 1]
            d2 = a2 - points[j, 2]
            d = d0 * d0 + d1 * d1 + d2 * d2
            if d > best:
                best = d
    return best


@njit(**_JIT)
def _hull_2d(u, v, lo, hi, work):
    """Andrew's monotone chain over points lo..hi-1 (sorted by u, then v); indices of the hull in ``work``."""
    k = 0
    for i in range(lo, hi):
        while k >= 2:
            o = work[k - 2]
            a = work[k - 1]
            cross = (u[a] - u[o]) * (v[i] - v[o]) - (v[a] - v[o]) * (u[i] - u[o])
            if cross > 0:
                break
            k -= 1
        work[k] = i
        k += 1
    lower = k + 1
    for i in range(hi - 2, lo - 1, -1):
        while k >= lower:
            o = work[k - 2]
            a = work[k - 1]
            cross = (u[a] - u[o]) * (v[i] - v[o]) - (v[a] - v[o]) * (u[i] - u[o])
            if cross > 0:
                break
            k -= 1
        work[k] = i
        k += 1
    return k - 1 if k > 1 else k


@njit(**_JIT)
def max_sq_distance_in_planes(points, axis, order):
    """Largest squared distance between two points with equal ``axis`` coordinate.

    ``order`` sorts the points by (that coordinate, then the other two); within each plane
    only the vertices of the plane's convex hull (monotone chain) are compared.
    """
    n = order.shape[0]
    if n < 2:
        return 0.0
    if axis == 0:
        ua, va = 1, 2
    elif axis == 1:
        ua, va = 0, 2
    else:
        ua, va = 0, 1
    w = np.empty(n, np.float64)
    u = np.empty(n, np.float64)
    v = np.empty(n, np.float64)
    for i in range(n):
        w[i] = points[order[i], axis]
        u[i] = points[order[i], ua]
        v[i] = points[order[i], va]
    work = np.empty(2 * n + 2, np.int64)
    best = 0.0
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and w[hi] == w[lo]:
            hi += 1
        if hi - lo >= 2:
            if hi - lo <= 3:
                h = hi - lo
                for i in range(h):
                    work[i] = lo + i
            else:
                h = _hull_2d(u, v, lo, hi, work)
            for i in range(h):
                p = order[work[i]]
                for j in range(i):
                    q = order[work[j]]
                    d0 = points[p, 0] - points[q, 0]
                    d1 = points[p, 1] - points[q, 1]
                    d2 = points[p, 2] - points[q, 2]
                    d = d0 * d0 + d1 * d1 + d2 * d2
                    if d > best:
                        best = d
        lo = hi
    return best
