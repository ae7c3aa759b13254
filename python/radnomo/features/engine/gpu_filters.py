"""The LoG and wavelet images with torch, for ``Extractor(device=...)`` (the GPU path).

Both give the CPU engine's numbers bit for bit on any device that rounds every elementwise
operation to IEEE-754 (torch's separate ``*``, ``+`` and ``-`` kernels do; nothing here uses fused
operations such as ``addcmul``, ``alpha=`` or matrix products, which may fuse a multiply and an add):

* :func:`laplacian_of_gaussian` is :func:`.log_filter.laplacian_of_gaussian` (SimpleITK's recursive
  Gaussian Laplacian) with the recursion run over all lines of an axis at once: the non-recursive
  input terms of every position are computed in one vectorised step, then the four-term feedback
  runs position after position, in ITK's order of operations, float64 throughout and float32 where
  SimpleITK stores an intermediate image;
* :func:`swtn_level1` is PyWavelets' one-level stationary transform (``swtn``, periodic), the sum over
  filter taps in the order of PyWavelets' C loop (``downsampling_convolution_periodization`` with
  step 1: taps in increasing order, except the last ``F/2`` outputs, whose wrapped taps come first
  in decreasing order), in the input's precision (float32 stays float32, as in PyWavelets).

Each pass costs a few small kernel launches per voxel position along the axis, so the LoG of all
requested sigmas is computed together (a leading batch dimension with one coefficient set per sigma).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from radnomo.features.engine.log_filter import coefficients


def _lin(terms):
    """``((t0 + t1) + t2) + ...`` of already multiplied terms (left to right, as C evaluates a sum)."""
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _recursive(torch, data, c):
    """ITK's recursive filter along dim 1 of ``data`` (batch, line, rest...) -> float32.

    ``c``: (batch, 20) float64 coefficients (see :func:`.log_filter.coefficients`), one row per batch
    entry; the operation order is :func:`.log_filter._recursive_lines`'.
    """
    d = data.to(torch.float64).contiguous()  # each position's lines contiguous (coalesced on a GPU)
    ln = d.shape[1]
    shape = (d.shape[0],) + (1,) * (d.dim() - 2)
    k = [c[:, j].reshape(shape) for j in range(20)]
    n0, n1, n2, n3, d1, d2, d3, d4, m1, m2, m3, m4 = k[:12]
    bn1, bn2, bn3, bn4, bm1, bm2, bm3, bm4 = k[12:]
    s1 = torch.empty_like(d)
    s2 = torch.empty_like(d)
    # causal start: the line continues with its first value
    v, x1, x2, x3 = d[:, 0], d[:, 1], d[:, 2], d[:, 3]
    a0 = _lin([v * n0, v * n1, v * n2, v * n3])
    a1 = _lin([x1 * n0, v * n1, v * n2, v * n3])
    a2 = _lin([x2 * n0, x1 * n1, v * n2, v * n3])
    a3 = _lin([x3 * n0, x2 * n1, x1 * n2, v * n3])
    a0 = a0 - _lin([v * bn1, v * bn2, v * bn3, v * bn4])
    a1 = a1 - _lin([a0 * d1, v * bn2, v * bn3, v * bn4])
    a2 = a2 - _lin([a1 * d1, a0 * d2, v * bn3, v * bn4])
    a3 = a3 - _lin([a2 * d1, a1 * d2, a0 * d3, v * bn4])
    for i, a in enumerate((a0, a1, a2, a3)):
        s1[:, i] = a
    # anti-causal start: the line continues with its last value
    w, y2, y3 = d[:, ln - 1], d[:, ln - 2], d[:, ln - 3]
    b1 = _lin([w * m1, w * m2, w * m3, w * m4])
    b2 = _lin([w * m1, w * m2, w * m3, w * m4])
    b3 = _lin([y2 * m1, w * m2, w * m3, w * m4])
    b4 = _lin([y3 * m1, y2 * m2, w * m3, w * m4])
    b1 = b1 - _lin([w * bm1, w * bm2, w * bm3, w * bm4])
    b2 = b2 - _lin([b1 * d1, w * bm2, w * bm3, w * bm4])
    b3 = b3 - _lin([b2 * d1, b1 * d2, w * bm3, w * bm4])
    b4 = b4 - _lin([b3 * d1, b2 * d2, b1 * d3, w * bm4])
    for i, b in zip((ln - 1, ln - 2, ln - 3, ln - 4), (b1, b2, b3, b4)):
        s2[:, i] = b
    # input terms of every position at once, then the feedback position by position
    if ln > 4:
        u = _lin([d[:, 4:] * n0.unsqueeze(1), d[:, 3:ln - 1] * n1.unsqueeze(1), d[:, 2:ln - 2] * n2.unsqueeze(1),
                  d[:, 1:ln - 3] * n3.unsqueeze(1)])
        for i in range(4, ln):
            fb = _lin([s1[:, i - 1] * d1, s1[:, i - 2] * d2, s1[:, i - 3] * d3, s1[:, i - 4] * d4])
            torch.sub(u[:, i - 4], fb, out=s1[:, i])
        # positions i = ln-4 .. 1 write s2[i-1]
        u = _lin([d[:, 1:ln - 3] * m1.unsqueeze(1), d[:, 2:ln - 2] * m2.unsqueeze(1),
                  d[:, 3:ln - 1] * m3.unsqueeze(1), d[:, 4:] * m4.unsqueeze(1)])
        for i in range(ln - 4, 0, -1):
            fb = _lin([s2[:, i] * d1, s2[:, i + 1] * d2, s2[:, i + 2] * d3, s2[:, i + 3] * d4])
            torch.sub(u[:, i - 1], fb, out=s2[:, i - 1])
    return (s1 + s2).to(torch.float32)


def _filter_axis(torch, arr, axis: int, coef):
    """Filter the batched volume ``arr`` (batch, z, y, x) along numpy axis ``axis`` (0-2)."""
    moved = arr.movedim(axis + 1, 1)
    return _recursive(torch, moved, coef).movedim(1, axis + 1)


def laplacian_of_gaussian(torch, arr, spacing_xyz: Sequence[float], sigmas: Sequence[float]):
    """SimpleITK's ``LaplacianRecursiveGaussianImageFilter`` (normalised across scale) for each sigma.

    ``arr``: a 3-D tensor (z, y, x) of any real dtype (read as double); returns float32 (len(sigmas),
    z, y, x) on ``arr``'s device, equal bit for bit to :func:`.log_filter.laplacian_of_gaussian` per sigma.
    """
    if arr.dim() != 3 or min(arr.shape) < 4:
        raise ValueError("laplacian_of_gaussian needs a 3-D array with at least 4 voxels along every axis")
    dev = arr.device

    def coef(axis_xyz, order):
        rows = [coefficients(float(s), float(spacing_xyz[axis_xyz]), order) for s in sigmas]
        return torch.as_tensor(np.stack(rows), dtype=torch.float64, device=dev)

    batch = arr.to(torch.float64).unsqueeze(0).expand(len(sigmas), *arr.shape)
    total = None
    for dim in range(3):  # ITK axis: 0 = x, 1 = y, 2 = z; numpy axis = 2 - dim
        term = _filter_axis(torch, batch, 2 - dim, coef(dim, 2))
        for other in (o for o in range(3) if o != dim):
            term = _filter_axis(torch, term, 2 - other, coef(other, 0))
        scale = 1.0 / (spacing_xyz[dim] * spacing_xyz[dim])
        scaled = term.to(torch.float64) * scale
        total = (0.0 + scaled) if total is None else (total.to(torch.float64) + scaled)
        total = total.to(torch.float32)
    return total


def _swt_axis(torch, x, axis: int, filt: np.ndarray):
    """One-level periodic SWT of ``x`` along ``axis`` with filter ``filt``, PyWavelets' summation order.

    Output ``p`` = sum over taps ``t`` of ``filt[t] * x[(p + F/2 - t) mod N]``.
    """
    n = x.shape[axis]
    f = len(filt)
    half = f // 2
    coef = [float(v) for v in filt]

    def tap(t, lo=0, hi=None):
        # x[(p + half - t) mod N] for p in [lo, hi)
        idx = (torch.arange(lo, n if hi is None else hi, device=x.device) + half - t) % n
        return x.index_select(axis, idx) * coef[t]

    # all outputs with taps in increasing order (PyWavelets' first two loops)
    out = _lin([tap(t) for t in range(f)])
    if f > 1 and n > half:
        # the last F/2 outputs (i = p + F/2 >= N): wrapped taps i-N .. 0 first, then i-N+1 .. F-1
        tail = []
        for p in range(n - half, n):
            i = p + half
            order = list(range(i - n, -1, -1)) + list(range(i - n + 1, f))
            tail.append(_lin([tap(t, p, p + 1) for t in order]))
        out.narrow(axis, n - half, half).copy_(torch.cat(tail, dim=axis))
    return out


def _float32_filters(wavelet) -> tuple[np.ndarray, np.ndarray]:
    """The decomposition filters PyWavelets applies to float32 data, read from its response to a unit
    impulse (its float32 tables are not the float64 filters rounded: coif1's 0.85257202 is 0.85257196)."""
    import pywt

    f = wavelet.dec_len
    n, m, half = 4 * f, f, f // 2
    x = np.zeros(n, np.float32)
    x[m] = 1
    (lo, hi), = pywt.swt(x, wavelet, level=1, start_level=0, trim_approx=False)
    # output p = sum_t filter[t] * x[(p + F/2 - t) mod N]  ->  filter[t] = output[t + m - F/2]
    return (np.asarray(lo[m - half:m - half + f], np.float64), np.asarray(hi[m - half:m - half + f], np.float64))


def swtn_level1(torch, data, wavelet, axes: Sequence[int]) -> dict:
    """``pywt.swtn(data, wavelet, level=1, start_level=0, axes=axes)[0]`` with torch (same keys, same order).

    ``data``: a tensor with even length along every axis in ``axes`` (PyRadiomics pads odd ones).
    """
    if data.dtype not in (torch.float32, torch.float64):
        data = data.to(torch.float64)
    if data.dtype == torch.float32:  # PyWavelets' own float32 filter values (not the doubles rounded)
        lo, hi = _float32_filters(wavelet)
    else:
        lo = np.asarray(wavelet.dec_lo, dtype=np.float64)
        hi = np.asarray(wavelet.dec_hi, dtype=np.float64)
    coeffs = {"": data}
    for axis in axes:
        new = {}
        for key, x in coeffs.items():
            new[key + "a"] = _swt_axis(torch, x, axis, lo)
            new[key + "d"] = _swt_axis(torch, x, axis, hi)
        coeffs = new
    return coeffs
