"""What every texture class shares: evaluating the formulas (a failing feature gives NaN) and keeping
the grey levels present in the ROI."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import numpy as np

log = logging.getLogger("radnomo.features.engine.texture")


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


def _per_angle(P, weights, xp):
    """Angle matrices ``P`` (..., ..., n_angles) as PyRadiomics combines them: summed with
    ``weights`` when given (``weightingNorm``), angles with an empty matrix dropped (when more than
    one), and each angle's total (NaN for an empty one). Returns ``(P, totals)``."""
    if weights is not None:
        P = xp.sum(P * xp.asarray(weights)[None, None, :], 2, keepdims=True)
    totals = xp.sum(P, (0, 1))
    if P.shape[2] > 1:
        keep = totals != 0
        if not bool(keep.all()):
            P = P[:, :, keep]
            totals = totals[keep]
    totals[totals == 0] = float("nan")
    return P, totals
