"""3-D shape features with PyRadiomics' definitions (``radiomics/shape.py``, ``cshape.c``).

The mesh (marching cubes on the mask padded by one voxel, vertices at edge
midpoints) and its surface area and volume come from :func:`.kernels.mesh`,
which accumulates them triangle by triangle in PyRadiomics' order.

The maximum diameters are where PyRadiomics spends its time: it compares every
pair of mesh vertices (quadratic in the surface). The largest distance between
two points of a set is attained between two vertices of its convex hull, so here

* Maximum 3D diameter: the vertices are first reduced to the two extremes of
  each line of the grid along x (a point strictly between two others on a line
  is not a hull vertex), then to the vertices of their 3-D convex hull (Qhull,
  via scipy), and only those pairs are compared;
* Maximum 2D diameters (slice, column, row): the vertices are grouped by their
  exactly equal z (y, x) coordinate, as PyRadiomics' ``a[d] == b[d]`` test does,
  and in each plane only the vertices of the plane's 2-D convex hull (monotone
  chain) are compared.

Distances are computed with PyRadiomics' arithmetic, so the maxima are the same
numbers. Degenerate point sets (a flat ROI: no 3-D hull) fall back to comparing
all candidate pairs.
"""

from __future__ import annotations

import functools
import logging
from typing import Callable

import numpy as np
from scipy.spatial import ConvexHull

from radnomo.features.engine import kernels
from radnomo.features.engine._mc_table import EDGE_POINTS, TRIANGLES

log = logging.getLogger(__name__)

#: Below this many candidate points, compare all pairs instead of building a hull.
_BRUTE_FORCE_MAX = 1500


def _line_extremes(verts: np.ndarray) -> np.ndarray:
    """For every line (equal z and y) the vertices with the smallest and largest x."""
    order = np.lexsort((verts[:, 2], verts[:, 1], verts[:, 0]))
    v = verts[order]
    new_line = np.empty(len(v), bool)
    new_line[0] = True
    new_line[1:] = (v[1:, 0] != v[:-1, 0]) | (v[1:, 1] != v[:-1, 1])
    first = np.flatnonzero(new_line)
    last = np.append(first[1:] - 1, len(v) - 1)
    keep = np.unique(np.concatenate([first, last]))
    return v[keep]


def max_diameter_3d(verts: np.ndarray) -> float:
    """Largest squared distance between two mesh vertices (PyRadiomics' arithmetic)."""
    if len(verts) < 2:
        return 0.0
    cand = _line_extremes(verts)
    if len(cand) > _BRUTE_FORCE_MAX:
        try:
            cand = np.ascontiguousarray(cand[ConvexHull(cand).vertices])
        except Exception as exc:  # flat or otherwise degenerate: compare all candidates
            log.debug("convex hull failed (%s); comparing all %d candidate vertices", exc, len(cand))
    return kernels.max_sq_distance(np.ascontiguousarray(cand), -1)


def max_diameter_plane(verts: np.ndarray, axis: int) -> float:
    """Largest squared distance between two vertices with the same coordinate along ``axis``."""
    if len(verts) < 2:
        return 0.0
    others = [a for a in range(3) if a != axis]
    order = np.lexsort((verts[:, others[1]], verts[:, others[0]], verts[:, axis]))
    return kernels.max_sq_distance_in_planes(verts, axis, order.astype(np.int64))


def _diameters(verts: np.ndarray) -> list[float]:
    """Maximum 2-D diameters in the slice, column and row planes, then the maximum 3-D diameter (mm)."""
    d = [max_diameter_plane(verts, 0), max_diameter_plane(verts, 1), max_diameter_plane(verts, 2),
         max_diameter_3d(verts)]
    return [float(np.sqrt(v)) for v in d]


def _eigenvalues(padded: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """Eigenvalues (increasing) of the covariance of the ROI's voxel centres in mm, as PyRadiomics
    computes them (tiny negative values set to 0)."""
    coords = np.array(np.where(padded != 0), dtype="int").transpose((1, 0))
    n = coords.shape[0]
    phys = coords * spacing[None, :]
    phys -= np.mean(phys, axis=0)
    phys /= np.sqrt(n)
    cov = np.dot(phys.T.copy(), phys)
    ev = np.linalg.eigvals(cov)
    tiny = np.bitwise_and(ev < 0, ev > -1e-10)
    if np.sum(tiny) > 0:
        ev[tiny] = 0
    ev.sort()
    return ev


def shape_features(mask: np.ndarray, spacing_zyx, names) -> dict[str, float]:
    """Shape features of a boolean ROI array (z, y, x) cropped to its bounding box.

    ``spacing_zyx``: voxel spacing in mm, numpy order. Returns ``{name: value}`` for ``names``.
    """
    spacing = np.asarray(spacing_zyx, dtype=np.float64)
    padded = np.pad(mask.astype(np.uint8), 1)
    area, volume, verts = kernels.mesh(padded, spacing, TRIANGLES, EDGE_POINTS)
    # computed once, only when a feature asks for them (a failure is that feature's NaN)
    diameters = functools.cache(lambda: _diameters(verts))
    eigen = functools.cache(lambda: _eigenvalues(padded, spacing))

    def axis_length(k):
        ev = eigen()
        return np.nan if ev[k] < 0 else np.sqrt(ev[k]) * 4

    def ratio(k):
        ev = eigen()
        return np.nan if ev[k] < 0 or ev[2] < 0 else np.sqrt(ev[k] / ev[2])

    def voxel_volume():
        z, y, x = spacing
        return int(np.count_nonzero(mask)) * (z * x * y)

    funcs: dict[str, Callable[[], float]] = {
        "MeshVolume": lambda: volume,
        "VoxelVolume": voxel_volume,
        "SurfaceArea": lambda: area,
        "SurfaceVolumeRatio": lambda: area / volume,
        "Sphericity": lambda: (36 * np.pi * volume ** 2) ** (1.0 / 3.0) / area,
        "Compactness1": lambda: volume / (area ** (3.0 / 2.0) * np.sqrt(np.pi)),
        "Compactness2": lambda: (36.0 * np.pi) * (volume ** 2.0) / (area ** 3.0),
        "SphericalDisproportion": lambda: area / (36 * np.pi * volume ** 2) ** (1.0 / 3.0),
        "Maximum3DDiameter": lambda: diameters()[3],
        "Maximum2DDiameterSlice": lambda: diameters()[0],
        "Maximum2DDiameterColumn": lambda: diameters()[1],
        "Maximum2DDiameterRow": lambda: diameters()[2],
        "MajorAxisLength": lambda: axis_length(2),
        "MinorAxisLength": lambda: axis_length(1),
        "LeastAxisLength": lambda: axis_length(0),
        "Elongation": lambda: ratio(1),
        "Flatness": lambda: ratio(0),
    }
    return _evaluate(funcs, names)


def _evaluate(funcs: dict[str, Callable[[], float]], names) -> dict[str, float]:
    """``{name: value}`` for ``names``; a feature whose formula raises is logged and NaN (as in PyRadiomics)."""
    out = {}
    with np.errstate(all="ignore"):
        for name in names:
            try:
                out[name] = float(np.real(funcs[name]()))
            except Exception:
                log.error("shape feature %s failed", name, exc_info=True)
                out[name] = float("nan")
    return out
