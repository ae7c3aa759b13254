"""The embedded R session used by the bridge.

R is started lazily, on the first bridge call, never at import time. Every
call goes through the R package's internal ``bridge_call()``, which runs an
exported radnomo function or one of the bridge's own helpers (``bridge_*`` in
R/bridge.R; nothing else) and returns its value together with the warnings
it raised (re-issued here as :class:`radnomo.errors.RWarning` or the subclass
of its R condition class) or its error (raised here as
:class:`radnomo.errors.RError` or the subclass of its R class, e.g.
:class:`radnomo.errors.RInputError`, an ``InputError``, for bad input).

R is single-threaded: one re-entrant lock (:data:`r_lock`) guards the
session. The bridge's functions hold it for the whole call, from converting
the arguments to converting the result (:func:`bridged`); the conversion
helpers take it too, so R objects are never touched from two threads at once.

Starting R leaves the process environment as it was: ``LD_LIBRARY_PATH`` is
restored after R's start-up, and ``TZ`` is never set.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from radnomo.errors import (  # noqa: F401  (warning classes re-exported: radnomo.stats.session.RWarning, ...)
    R_ERROR_CLASSES,
    R_WARNING_CLASSES,
    DegenerateSetWarning,
    EventLevelWarning,
    MissingDependencyError,
    NoModelWarning,
    NothingSelectedWarning,
    RWarning,
    SeparationWarning,
    r_error,
)

from radnomo.stats import _convert as cv
from radnomo.stats._rstart import start_r
from radnomo.stats._lock import bridged, r_lock  # noqa: F401  (bridged: re-exported for the bridge modules)

R_PACKAGE = "radnomo"
REQUIRED_R_PACKAGES = ("glmnet", "rms", "pROC")

#: R condition class -> Python warning category / exception (see radnomo.errors)
WARNING_CLASSES = R_WARNING_CLASSES
ERROR_CLASSES = R_ERROR_CLASSES


_state: dict[str, Any] = {}


def _init():
    if "bridge_call" in _state:
        return _state
    try:
        import rpy2.rinterface as ri
        import rpy2.rinterface_lib.callbacks  # noqa: F401  (console callbacks)
    except Exception as exc:  # ImportError, or R not found by rpy2
        raise MissingDependencyError(
            f"rpy2/R could not be loaded ({exc}). Install R and rpy2 (run 'make setup' "
            "in the radnomo repository, or see README: Installation)."
        ) from exc
    start_r()
    # bootstrap: the only base R functions used by name load the package's namespace
    require = ri.baseenv.find("requireNamespace")
    missing = [p for p in (R_PACKAGE, *REQUIRED_R_PACKAGES)
               if not require(ri.StrSexpVector([p]), quietly=ri.BoolSexpVector([True]))[0]]
    if missing:
        raise MissingDependencyError(
            f"R package(s) {missing} are not installed in R's library. "
            "Run 'make setup' in the radnomo repository (it installs glmnet, rms and pROC "
            "from Debian and the radnomo R package with 'R CMD INSTALL .')."
        )
    ns = ri.baseenv.find("asNamespace")(ri.StrSexpVector([R_PACKAGE]))
    _state["ri"] = ri
    _state["ns"] = ns
    _state["bridge_call"] = ns.find("bridge_call")
    _invoke(_state, "bridge_init", [], [])  # R-side set-up (R/bridge.R)
    return _state


def r_namespace():
    """The radnomo R namespace environment (starts R if needed)."""
    with r_lock:
        return _init()["ns"]


def _caller_stacklevel() -> int:
    """``warnings.warn``'s stacklevel (seen from the caller) of the first frame outside the bridge."""
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def _invoke(st: dict, name: str, values: list, names: list[str]) -> Any:
    """Run ``bridge_call(name, args)`` in R; re-issue its warnings, raise its error."""
    ri = st["ri"]
    arglist = ri.ListSexpVector(values)
    arglist.do_slot_assign("names", ri.StrSexpVector(names))
    res = st["bridge_call"](ri.StrSexpVector([name]), arglist)
    comps = dict(zip([str(n) for n in res.do_slot("names")], res))
    classes = list(comps.get("warning_classes", [])) or [""] * len(comps["warnings"])
    level = _caller_stacklevel() if len(comps["warnings"]) else 1
    for msg, cls in zip(comps["warnings"], classes):
        warnings.warn(f"[R {name}] {msg}", WARNING_CLASSES.get(str(cls), RWarning), stacklevel=level)
    if not comps["ok"][0]:
        err_cls = str(comps["error_class"][0]) if "error_class" in comps else ""
        raise r_error(err_cls, f"{name}: {comps['error'][0]}")
    return comps["value"]


def call(name: str, *args, **kwargs) -> Any:
    """Call the exported radnomo R function (or bridge helper) ``name``.

    Positional and keyword arguments are converted with
    :func:`radnomo.stats._convert.to_r`; keyword names are passed to R
    unchanged (use R's argument names). Returns the raw R value (an rpy2
    object): convert it while still holding :data:`r_lock` (write bridge
    functions with :func:`bridged`). R warnings are re-issued as
    :class:`RWarning` (subclass by R class), and an R error raises
    :class:`radnomo.errors.RError` (subclass by R class) with R's message.
    """
    from rpy2.robjects import default_converter
    from rpy2.robjects.conversion import localconverter

    with r_lock, localconverter(default_converter):
        st = _init()
        values = [cv.to_r(a) for a in args] + [cv.to_r(v) for v in kwargs.values()]
        names = [""] * len(args) + list(kwargs.keys())
        return _invoke(st, name, values, names)


def r_version() -> str | None:
    """R's version string, or None when R cannot be started."""
    with r_lock:
        try:
            st = _init()
        except Exception:
            return None
        return str(st["ri"].baseenv.find("R.version.string")[0])


def r_package_versions(packages=(R_PACKAGE, *REQUIRED_R_PACKAGES, "rmda", "arrow")) -> dict[str, str | None]:
    """Installed versions of R packages (None when absent).

    Diagnostics (``radnomo doctor``, the run record): works without the radnomo R
    package, so it reads the versions with base R's own functions, not through
    ``bridge_call``.
    """
    with r_lock:
        ri = start_r()
        require = ri.baseenv.find("requireNamespace")
        pv = ri.baseenv.find("asNamespace")(ri.StrSexpVector(["utils"])).find("packageVersion")
        as_char = ri.baseenv.find("as.character")
        out: dict[str, str | None] = {}
        for p in packages:
            if require(ri.StrSexpVector([p]), quietly=ri.BoolSexpVector([True]))[0]:
                out[p] = str(as_char(pv(ri.StrSexpVector([p])))[0])
            else:
                out[p] = None
        return out
