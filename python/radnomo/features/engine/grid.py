"""The grey-level grid the texture matrices are counted on: PyRadiomics' discretisation, its angles
(as offsets into the padded, flattened grid) and the angles' weights (``weightingNorm``)."""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np

log = logging.getLogger(__name__)


def angles(size, distances, bidirectional: bool, settings: Mapping[str, Any]) -> np.ndarray:
    """PyRadiomics' angles (its own C generator) for a bounding box of ``size`` (z, y, x).

    With ``force2D`` the angles stay in the plane normal to ``force2Ddimension``, as in PyRadiomics.
    """
    from radiomics import cMatrices

    force2d = bool(settings.get("force2D", False))
    dim = int(settings.get("force2Ddimension", 0))
    return np.asarray(cMatrices.generate_angles(np.asarray(size), np.asarray(distances), bidirectional, force2d, dim),
                      dtype=np.int64).reshape(-1, 3)


def flat_offsets(angles: np.ndarray, padded_shape) -> np.ndarray:
    """Each angle (z, y, x) as a step in the flattened grid of ``padded_shape``."""
    _, ny, nx = padded_shape
    return (angles[:, 0] * ny * nx + angles[:, 1] * nx + angles[:, 2]).astype(np.int64)


def angle_weights(angles: np.ndarray, spacing_xyz, norm: str | None, matrix: str) -> np.ndarray | None:
    """PyRadiomics' per-angle weights for ``weightingNorm`` (``None``: no weighting, angles kept apart).

    GLCM: ``exp(-d**2)`` with d the angle's infinity / euclidean / manhattan length in mm; GLRLM: that
    length itself; ``no_weighting`` (or an unknown name, with PyRadiomics' warning): 1.
    """
    if norm is None:
        return None
    spacing = np.asarray(spacing_xyz, dtype=np.float64)[::-1]
    w = np.empty(len(angles))
    for k, a in enumerate(angles):
        step = np.abs(a) * spacing
        if norm == "infinity":
            w[k] = np.exp(-max(step) ** 2) if matrix == "glcm" else max(step)
        elif norm == "euclidean":
            w[k] = np.exp(-np.sum(step ** 2)) if matrix == "glcm" else np.sqrt(np.sum(step ** 2))
        elif norm == "manhattan":
            w[k] = np.exp(-np.sum(step) ** 2) if matrix == "glcm" else np.sum(step)
        else:
            if norm != "no_weighting":
                log.warning("weighting norm %r is unknown, weights set to 1", norm)
            w[k] = 1
    return w


def discretize(values: np.ndarray, settings: Mapping[str, Any]) -> np.ndarray:
    """Grey levels of the ROI values with PyRadiomics' bin edges (``getBinEdges`` / ``binImage``).

    Fixed bin width: edges ``arange(min - min % w, max + 2 w, w)`` from the lowest multiple of the width,
    ``numpy.digitize`` against them (the same numbers as PyRadiomics, without its Python ``min``/``max``
    over the array). ``binCount``: PyRadiomics' ``getBinEdges`` itself.
    """
    if settings.get("binCount") is not None:
        from radiomics import imageoperations

        edges = imageoperations.getBinEdges(values, **settings)
    else:
        width = settings.get("binWidth", 25)
        lo = values.min()
        hi = values.max()
        if values.dtype.kind == "f" and (np.isnan(lo) or np.isnan(hi)):
            lo, hi = min(values), max(values)  # PyRadiomics' Python min/max (order-dependent with NaN)
        low = lo - (lo % width)
        high = hi + 2 * width
        edges = np.arange(low, high, width)
        if len(edges) == 1:
            edges = [edges[0] - .5, edges[0] + .5]
    return np.digitize(values, edges)
