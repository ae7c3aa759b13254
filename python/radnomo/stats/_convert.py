"""Explicit conversions between Python/pandas/numpy values and R objects.

The bridge never activates rpy2's global converters and does not use
``pandas2ri`` for data: numeric matrices cross as one R double vector with a
``dim`` attribute (a memory copy, fast even for 11,000+ columns), narrow data
frames column by column with explicit NA handling. Calls run inside a local
``localconverter(default_converter)`` context (see ``session.call``); no
converter is ever activated globally.

Every conversion that touches R memory holds the session lock
(:data:`radnomo.stats._lock.r_lock`, re-entrant), so a conversion never runs
while another thread is inside R; a bridge function holds it for the whole
call (:func:`radnomo.stats._lock.bridged`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.stats._lock import bridged as _locked
from radnomo.stats._rstart import start_r

# rpy2 is imported lazily by the session; these helpers take the modules as
# attributes of this namespace once loaded (see _load()).
ri = None  # rpy2.rinterface
ro = None  # rpy2.robjects


def _load():
    global ri, ro
    if ri is None:
        _ri = start_r()  # before rpy2.robjects, which would start R without restoring the environment
        import rpy2.robjects as _ro

        ri, ro = _ri, _ro


# --------------------------------------------------------------------------- #
# Python -> R
# --------------------------------------------------------------------------- #

@_locked
def r_strvec(values) -> Any:
    _load()
    return ri.StrSexpVector([ri.NA_Character if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                             for v in values])


@_locked
def r_numvec(values) -> Any:
    """numpy/sequence -> R double vector (NaN/None -> NA_real_)."""
    _load()
    arr = np.asarray(values, dtype=float)
    vec = ri.FloatSexpVector.from_memoryview(memoryview(np.ascontiguousarray(arr.ravel())))
    if np.isnan(arr).any():
        # R's NaN is not NA; turn every NaN into NA_real_ explicitly.
        idx = np.flatnonzero(np.isnan(arr.ravel()))
        for i in idx:
            vec[int(i)] = ri.NA_Real
    return vec


@_locked
def r_matrix(x, colnames: Sequence[str] | None = None) -> Any:
    """A 2-D numeric array (or DataFrame) -> R double matrix with column names.

    One memory copy (column-major), no per-element Python work.
    """
    _load()
    if isinstance(x, pd.DataFrame):
        colnames = list(map(str, x.columns)) if colnames is None else list(colnames)
        dtypes = x.dtypes
        bad_kinds = {dt for dt in set(dtypes) if not pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt)}
        non_numeric = [c for c, dt in zip(x.columns, dtypes) if dt in bad_kinds] if bad_kinds else []
        if non_numeric:
            raise InputError(f"feature columns must be numeric; non-numeric: {non_numeric[:10]}")
        arr = x.to_numpy(dtype=float)
    else:
        arr = np.asarray(x, dtype=float)
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D feature matrix, got an array with shape {arr.shape}")
    n, p = arr.shape
    flat = np.asfortranarray(arr).ravel(order="F")
    vec = r_numvec(flat)
    vec.do_slot_assign("dim", ri.IntSexpVector([n, p]))
    if colnames is not None:
        if len(colnames) != p:
            raise InputError(f"{len(colnames)} column names for a matrix with {p} columns")
        dimnames = ri.ListSexpVector([ri.NULL, r_strvec(colnames)])
        vec.do_slot_assign("dimnames", dimnames)
    return vec


def _r_column(s: pd.Series) -> Any:
    _load()
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        vec = ri.IntSexpVector([ri.NA_Integer if c < 0 else int(c) + 1 for c in codes])
        vec.do_slot_assign("levels", r_strvec([str(c) for c in s.cat.categories]))
        return _set_class(vec, "factor")
    if pd.api.types.is_bool_dtype(s):
        return ri.BoolSexpVector([ri.NA_Logical if pd.isna(v) else bool(v) for v in s])
    if pd.api.types.is_integer_dtype(s) and not s.isna().any():
        return ri.IntSexpVector([int(v) for v in s])
    if pd.api.types.is_numeric_dtype(s):
        return r_numvec(s.to_numpy(dtype=float, na_value=np.nan))
    return r_strvec([None if pd.isna(v) else v for v in s])


def _set_class(x, cls: str):
    """Set the class attribute with R's C API ``Rf_setAttrib``, which (like ``class<-``,
    unlike rpy2's ``do_slot_assign``) also flags the object for S3 dispatch."""
    from rpy2.rinterface_lib import memorymanagement, openrlib

    value = ri.StrSexpVector([cls])
    with memorymanagement.rmemory() as rmemory:
        sym = rmemory.protect(openrlib.rlib.Rf_install(b"class"))
        openrlib.rlib.Rf_setAttrib(x.__sexp__._cdata, sym, value.__sexp__._cdata)
    return x


@_locked
def r_dataframe(df: pd.DataFrame) -> Any:
    """A narrow pandas DataFrame -> R data.frame (column by column, NA-aware)."""
    _load()
    cols = [_r_column(df[c]) for c in df.columns]
    lst = ri.ListSexpVector(cols)
    lst.do_slot_assign("names", r_strvec([str(c) for c in df.columns]))
    lst.do_slot_assign("row.names", ri.IntSexpVector([ri.NA_Integer, -len(df)]))
    return _set_class(lst, "data.frame")


@_locked
def to_r(value: Any) -> Any:
    """Convert a Python value to an R object (explicit rules, no global converter)."""
    _load()
    if value is None:
        return ri.NULL
    if isinstance(value, RHandle):
        return value.robj
    if isinstance(value, ri.Sexp):
        return value
    if isinstance(value, pd.DataFrame):
        return r_dataframe(value)
    if isinstance(value, pd.Series):
        return _r_column(value)
    if isinstance(value, bool | np.bool_):
        return ri.BoolSexpVector([bool(value)])
    if isinstance(value, int | np.integer):
        return ri.IntSexpVector([int(value)])
    if isinstance(value, float | np.floating):
        return r_numvec([float(value)])
    if isinstance(value, str):
        return ri.StrSexpVector([value])
    if isinstance(value, np.ndarray):
        if value.ndim == 2:
            return r_matrix(value)
        if value.dtype.kind in "fiu":
            return r_numvec(value)
        if value.dtype.kind == "b":
            return ri.BoolSexpVector([bool(v) for v in value])
        return r_strvec(list(value))
    if isinstance(value, Mapping):
        lst = ri.ListSexpVector([to_r(v) for v in value.values()])
        lst.do_slot_assign("names", r_strvec([str(k) for k in value.keys()]))
        return lst
    if isinstance(value, list | tuple):
        if all(isinstance(v, str) for v in value):
            return r_strvec(value)
        if all(isinstance(v, bool | np.bool_) for v in value):
            return ri.BoolSexpVector([bool(v) for v in value])
        if all(isinstance(v, int | float | np.integer | np.floating) for v in value):
            return r_numvec(value)
        return ri.ListSexpVector([to_r(v) for v in value])
    raise TypeError(f"cannot convert {type(value).__name__} to R")


# --------------------------------------------------------------------------- #
# R -> Python
# --------------------------------------------------------------------------- #

def _names(x) -> list[str] | None:
    nm = x.do_slot("names") if "names" in x.list_attrs() else None
    return None if nm is None else [str(n) for n in nm]


def _classes(x) -> list[str]:
    return [str(c) for c in x.do_slot("class")] if "class" in x.list_attrs() else []


def _vector(x) -> Any:
    """An atomic R vector -> numpy array (numbers) or list (strings)."""
    if isinstance(x, ri.FloatSexpVector):
        return np.array(x.memoryview(), dtype=float, copy=True) if len(x) else np.array([], dtype=float)
    if isinstance(x, ri.IntSexpVector):
        arr = np.array(x.memoryview(), dtype=np.int64) if len(x) else np.array([], dtype=np.int64)
        if "factor" in _classes(x):
            levels = [str(v) for v in x.do_slot("levels")]
            codes = np.where(arr == ri.NA_Integer, -1, arr - 1)
            return pd.Categorical.from_codes(codes, categories=levels)
        na = arr == ri.NA_Integer
        if na.any():
            out = arr.astype(float)
            out[na] = np.nan
            return out
        return arr
    if isinstance(x, ri.BoolSexpVector):
        vals = list(x)
        if any(v is ri.NA_Logical for v in vals):
            return np.array([np.nan if v is ri.NA_Logical else float(bool(v)) for v in vals])
        return np.array([bool(v) for v in vals])
    if isinstance(x, ri.StrSexpVector):
        return [None if v is ri.NA_Character else str(v) for v in x]
    raise TypeError(f"not an atomic vector: {type(x).__name__}")


@_locked
def r_to_dataframe(x) -> pd.DataFrame:
    names = _names(x) or []
    data = {}
    for name, col in zip(names, x):
        v = _vector(col)
        data[name] = v
    return pd.DataFrame(data, columns=names)


@_locked
def from_r(x, simplify_scalars: bool = True) -> Any:
    """Convert an R value to Python: data.frame -> DataFrame, atomic vectors ->
    numpy/list (length-1 -> scalar when ``simplify_scalars``), named lists ->
    dict, matrices -> DataFrame with dimnames. Other objects are wrapped in
    :class:`RHandle`."""
    _load()
    if x is ri.NULL or isinstance(x, type(ri.NULL)):
        return None
    cls = _classes(x)
    if "data.frame" in cls:
        return r_to_dataframe(x)
    if isinstance(x, ri.FloatSexpVector | ri.IntSexpVector | ri.BoolSexpVector | ri.StrSexpVector):
        attrs = x.list_attrs()
        if "dim" in attrs and len(x.do_slot("dim")) == 2:
            nrow, ncol = (int(v) for v in x.do_slot("dim"))
            flat = np.asarray(_vector(x))
            arr = flat.reshape((nrow, ncol), order="F")
            rn = cn = None
            if "dimnames" in attrs:
                dn = x.do_slot("dimnames")
                rn = None if dn[0] is ri.NULL else [str(v) for v in dn[0]]
                cn = None if dn[1] is ri.NULL else [str(v) for v in dn[1]]
            return pd.DataFrame(arr, index=rn, columns=cn)
        v = _vector(x)
        names = _names(x)
        if names is not None and "factor" not in cls:
            return pd.Series(v, index=names)
        if isinstance(v, pd.Categorical):
            return v
        if simplify_scalars and len(v) == 1:
            v0 = v[0]
            return v0.item() if isinstance(v0, np.generic) else v0
        return v
    if isinstance(x, ri.ListSexpVector) and not (set(cls) - {"list"}):
        names = _names(x)
        items = [from_r(v, simplify_scalars) for v in x]
        return dict(zip(names, items)) if names else items
    return RHandle(x)


@_locked
def list_component(x, name: str):
    """Component ``name`` of an R list (``NULL`` -> None), unconverted."""
    names = _names(x) or []
    if name not in names:
        return None
    return x[names.index(name)]


class RHandle:
    """An R object kept on the R side (a fitted model, an S3 object).

    It is passed back to R unchanged when given as an argument to a bridge
    function; ``classes`` lists its R classes.
    """

    __slots__ = ("robj",)

    def __init__(self, robj):
        self.robj = robj

    @property
    @_locked
    def classes(self) -> list[str]:
        return _classes(self.robj)

    @_locked
    def component(self, name: str, simplify_scalars: bool = True):
        """Convert the list component ``name`` of this R object to Python."""
        comp = list_component(self.robj, name)
        return None if comp is None else from_r(comp, simplify_scalars)

    def __repr__(self):
        return f"<RHandle of R class {self.classes or [type(self.robj).__name__]}>"
