"""Shared pieces of the bridge's function modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.stats import _convert as cv
from radnomo.stats.session import bridged, call


def matrix_arg(x, name: str = "x"):
    """A feature matrix argument -> R double matrix with column names.

    ``x`` is a pandas DataFrame (column names kept) or a 2-D array (columns
    named ``V1..Vp``, as R would).
    """
    if isinstance(x, pd.DataFrame):
        return cv.r_matrix(x)
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise InputError(f"{name} must be a 2-D table of features, got shape {arr.shape}")
    return cv.r_matrix(arr, [f"V{j + 1}" for j in range(arr.shape[1])])


def vector_arg(v, name: str):
    """A numeric/label vector argument -> R vector (length checks are done in R)."""
    if isinstance(v, pd.Series):
        v = v.to_numpy()
    arr = np.asarray(v)
    if arr.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind in "biuf":
        return cv.r_numvec(arr.astype(float))
    return cv.r_strvec(list(arr))


def outcome_name(y) -> str | None:
    """The outcome's name for R's messages: a named pandas Series' name (else ``None``: R says 'y')."""
    name = getattr(y, "name", None) if isinstance(y, pd.Series) else None
    return None if name is None else str(name)


@bridged
def named_vectors_arg(values, name: str):
    """A dict (or DataFrame) of equally long numeric vectors -> R named list."""
    if isinstance(values, pd.DataFrame):
        values = {c: values[c] for c in values.columns}
    if not isinstance(values, dict) or not values:
        raise InputError(f"{name} must be a non-empty dict of name -> numeric vector")
    import rpy2.rinterface as ri

    lst = ri.ListSexpVector([vector_arg(v, f"{name}[{k!r}]") for k, v in values.items()])
    lst.do_slot_assign("names", cv.r_strvec([str(k) for k in values]))
    return lst


def frame(value) -> pd.DataFrame:
    """Convert an R data.frame (rpy2 object) to pandas."""
    return cv.from_r(value)


@dataclass(frozen=True)
class RFit:
    """Base of the bridge's fitted-model results: keeps the R object for predictions."""

    robj: cv.RHandle = field(repr=False, compare=False)

    @bridged
    def _predict(self, newdata, type: str) -> np.ndarray:
        out = cv.from_r(call("bridge_predict", self.robj, newdata, type=type), simplify_scalars=False)
        return np.asarray(out, dtype=float)

    @property
    def r_object(self) -> Any:
        """The underlying rpy2 object (for advanced use in R)."""
        return self.robj.robj


def tuple_of_str(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)
