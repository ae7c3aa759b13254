"""Array back ends for the feature formulas: numpy (CPU) and torch (any device, float64).

The formulas in :mod:`.texture` are written once against the small namespace
defined here (``sum``, ``nanmean``, ``log2``, ...), so the CPU engine and the GPU
path evaluate the same expressions. With numpy the calls are numpy's own, with
PyRadiomics' axis layout, so reductions run in the same order as in PyRadiomics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: numpy.spacing(1): PyRadiomics' epsilon inside logarithms and denominators.
EPS = float(np.spacing(1))


class NumpyBackend:
    """numpy: the CPU engine."""

    name = "numpy"
    e = np.e

    @staticmethod
    def asarray(x, dtype=np.float64):
        return np.asarray(x, dtype=dtype)

    @staticmethod
    def to_numpy(x) -> np.ndarray:
        return np.asarray(x)

    @staticmethod
    def sum(x, axis=None, keepdims=False):
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def mean(x, axis=None):
        return np.mean(x, axis=axis)

    @staticmethod
    def nanmean(x, axis=None):
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return np.nanmean(x, axis=axis)

    @staticmethod
    def amax(x, axis=None):
        return np.amax(x, axis=axis)

    log2 = staticmethod(np.log2)
    abs = staticmethod(np.abs)
    sqrt = staticmethod(np.sqrt)
    fmax = staticmethod(np.fmax)

    @staticmethod
    def eigvals(x):
        return np.linalg.eigvals(x)

    @staticmethod
    def sort_last(x):
        return np.sort(x, axis=-1)

    @staticmethod
    def scatter_sum(index, values, size):
        """``out[k, a] = sum of values[n, a] over n with index[n] == k`` (sequential, in n order)."""
        out = np.empty((size, values.shape[1]), np.float64)
        for a in range(values.shape[1]):
            out[:, a] = np.bincount(index, weights=values[:, a], minlength=size)
        return out

    @staticmethod
    def item(x) -> float:
        v = np.asarray(x).reshape(())
        v = v.item()
        return float(v.real) if isinstance(v, complex) else float(v)


class TorchBackend:
    """torch, float64, on ``device`` (the GPU path; also runs on the CPU for testing)."""

    name = "torch"
    e = math.e

    def __init__(self, device: str = "cuda"):
        import torch

        self.torch = torch
        self.device = torch.device(device)

    def asarray(self, x, dtype=None):
        t = self.torch
        if isinstance(x, t.Tensor):
            return x.to(device=self.device, dtype=dtype or t.float64)
        return t.as_tensor(np.asarray(x), dtype=dtype or t.float64, device=self.device)

    @staticmethod
    def to_numpy(x) -> np.ndarray:
        return x.detach().cpu().numpy()

    def sum(self, x, axis=None, keepdims=False):
        if axis is None:
            return self.torch.sum(x)
        return self.torch.sum(x, dim=axis, keepdim=keepdims)

    def mean(self, x, axis=None):
        return self.torch.mean(x) if axis is None else self.torch.mean(x, dim=axis)

    def nanmean(self, x, axis=None):
        t = self.torch
        if x.is_complex():  # mean over the entries that are not NaN (numpy's nanmean on complex)
            ok = ~(t.isnan(x.real) | t.isnan(x.imag))
            z = t.where(ok, x, t.zeros((), dtype=x.dtype, device=x.device))
            n = ok.sum() if axis is None else ok.sum(dim=axis)
            return (z.sum() if axis is None else z.sum(dim=axis)) / n
        return t.nanmean(x) if axis is None else t.nanmean(x, dim=axis)

    def amax(self, x, axis=None):
        return self.torch.amax(x) if axis is None else self.torch.amax(x, dim=axis)

    def log2(self, x):
        return self.torch.log2(x)

    def abs(self, x):
        return self.torch.abs(x)

    def sqrt(self, x):
        return self.torch.sqrt(x)

    def fmax(self, a, b):
        return self.torch.fmax(a, b)

    def eigvals(self, x):
        ev = self.torch.linalg.eigvals(x)
        if bool((ev.imag == 0).all()):  # numpy returns a real array when every eigenvalue is real
            return ev.real
        return ev

    def sort_last(self, x):
        if x.is_complex():  # numpy sorts complex numbers by real part, then imaginary part
            order = self.torch.argsort(x.imag, dim=-1, stable=True)
            x = self.torch.gather(x, -1, order)
            order = self.torch.argsort(x.real, dim=-1, stable=True)
            return self.torch.gather(x, -1, order)
        return self.torch.sort(x, dim=-1).values

    def scatter_sum(self, index, values, size):
        t = self.torch
        idx = index if isinstance(index, t.Tensor) else t.as_tensor(np.asarray(index), device=self.device)
        out = t.zeros((size, values.shape[1]), dtype=values.dtype, device=values.device)
        out.index_add_(0, idx.to(device=values.device, dtype=t.int64), values)
        return out

    @staticmethod
    def item(x) -> float:
        v = x.item() if hasattr(x, "item") else x
        return float(v.real) if isinstance(v, complex) else float(v)


NUMPY = NumpyBackend()


def get_backend(device: str | None) -> Any:
    """``None``/``"cpu-numpy"`` -> numpy; a torch device name (``"cuda"``, ``"cpu"``) -> torch."""
    if device in (None, "numpy"):
        return NUMPY
    return TorchBackend(device)
