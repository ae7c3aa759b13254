"""NGTDM (neighbouring grey-tone difference matrix) features, PyRadiomics' definitions."""

from __future__ import annotations

import numpy as np

from radnomo.features.engine.texture.common import _evaluate


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
