"""The embedded R session used by the bridge.

R is started lazily, on the first bridge call, never at import time. Every
call goes through the R package's internal ``bridge_call()``, which runs the
named radnomo function and returns its value together with the warnings it
raised (re-issued here as :class:`RWarning`) or its error (raised here as
:class:`radnomo.errors.RError` carrying R's message).
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any

from radnomo.errors import MissingDependencyError, NothingSelectedError, RError, RInputError, SeparationError

R_PACKAGE = "radnomo"
REQUIRED_R_PACKAGES = ("glmnet", "rms", "pROC")

_lock = threading.RLock()
_state: dict[str, Any] = {}


class RWarning(UserWarning):
    """A warning raised by R code of the radnomo R package."""


class SeparationWarning(RWarning):
    """R class ``radnomo_separation``: (quasi-)complete separation or non-convergence was
    found in a logistic fit and the separation policy was applied (the message names the
    model and the policy)."""


class DegenerateSetWarning(RWarning):
    """R class ``radnomo_degenerate_set``: a set (e.g. the test set) has a single outcome
    class and is not evaluated."""


class EventLevelWarning(RWarning):
    """R message class ``radnomo_event_level``: which value of a non-0/1 outcome was taken
    as the event (pass ``event=`` to choose it and silence this)."""


class NoModelWarning(RWarning):
    """R class ``radnomo_no_model``: nothing was selected in any block; the study has no model."""


#: R condition class -> Python warning category
WARNING_CLASSES: dict[str, type[RWarning]] = {
    "radnomo_separation": SeparationWarning,
    "radnomo_degenerate_set": DegenerateSetWarning,
    "radnomo_no_model": NoModelWarning,
    "radnomo_event_level": EventLevelWarning,
}

#: R error class -> Python exception
ERROR_CLASSES: dict[str, type[RError]] = {
    "radnomo_input_error": RInputError,
    "radnomo_nothing_selected": NothingSelectedError,
    "radnomo_separation_error": SeparationError,
    "radnomo_separation": SeparationError,
}


def _start_r(ri) -> None:
    """Start embedded R without leaking its library path to child processes.

    R's start-up sets LD_LIBRARY_PATH (/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu:...)
    in the process environment. Worker processes started later (the image
    engine's process pool) would inherit it and could load the system's
    libpython instead of this interpreter's, failing on import. The loader
    reads LD_LIBRARY_PATH only at process start, so restoring it does not
    affect the running R.
    """
    if getattr(ri, "rpy2_embeddedR_isinitialized", 0) or _state.get("r_started"):
        return
    saved = os.environ.get("LD_LIBRARY_PATH")
    ri.initr_simple() if hasattr(ri, "initr_simple") else ri.initr()
    if saved is None:
        os.unsetenv("LD_LIBRARY_PATH")
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = saved  # also calls putenv
    _state["r_started"] = True


def _init():
    if "bridge_call" in _state:
        return _state
    # R prints timedatectl noise without a time zone (Debian); only set if unset.
    os.environ.setdefault("TZ", "UTC")
    try:
        import rpy2.rinterface as ri
        import rpy2.rinterface_lib.callbacks  # noqa: F401  (console callbacks)
    except Exception as exc:  # ImportError, or R not found by rpy2
        raise MissingDependencyError(
            f"rpy2/R could not be loaded ({exc}). Install R and rpy2 (run 'make setup' "
            "in the radnomo repository, or see README: Installation)."
        ) from exc
    _start_r(ri)
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
    # R runs embedded in this (multi-threaded) process: forking it from R
    # (parallel::mclapply) can deadlock the child, so R-side parallel work
    # uses separate R processes over sockets
    opts = ri.baseenv.find("options")
    arg = ri.ListSexpVector([ri.StrSexpVector(["psock"])])
    arg.do_slot_assign("names", ri.StrSexpVector(["radnomo.parallel"]))
    ri.baseenv.find("do.call")(opts, arg)
    return _state


def r_namespace():
    """The radnomo R namespace environment (starts R if needed)."""
    with _lock:
        return _init()["ns"]


def call(name: str, *args, **kwargs) -> Any:
    """Call the radnomo R function ``name`` with converted arguments.

    Positional and keyword arguments are converted with
    :func:`radnomo.stats._convert.to_r`; keyword names are passed to R
    unchanged (use R's argument names). Returns the raw R value (an rpy2
    object); R warnings are re-issued as :class:`RWarning`, and an R error
    raises :class:`radnomo.errors.RError` with R's message.
    """
    from radnomo.stats import _convert as cv

    from rpy2.robjects import default_converter
    from rpy2.robjects.conversion import localconverter

    with _lock, localconverter(default_converter):
        st = _init()
        ri = st["ri"]
        values = [cv.to_r(a) for a in args] + [cv.to_r(v) for v in kwargs.values()]
        names = [""] * len(args) + list(kwargs.keys())
        arglist = ri.ListSexpVector(values)
        arglist.do_slot_assign("names", ri.StrSexpVector(names))
        res = st["bridge_call"](ri.StrSexpVector([name]), arglist)
        comps = dict(zip([str(n) for n in res.do_slot("names")], res))
        classes = list(comps.get("warning_classes", [])) or [""] * len(comps["warnings"])
        for msg, cls in zip(comps["warnings"], classes):
            warnings.warn(f"[R {name}] {msg}", WARNING_CLASSES.get(str(cls), RWarning), stacklevel=3)
        if not comps["ok"][0]:
            err_cls = str(comps["error_class"][0]) if "error_class" in comps else ""
            raise ERROR_CLASSES.get(err_cls, RError)(f"{name}: {comps['error'][0]}")
        return comps["value"]


def r_version() -> str | None:
    """R's version string, or None when R cannot be started."""
    try:
        st = _init()
    except Exception:
        return None
    ri = st["ri"]
    return str(ri.baseenv.find("R.version.string")[0])


def r_package_versions(packages=(R_PACKAGE, *REQUIRED_R_PACKAGES, "rmda", "arrow")) -> dict[str, str | None]:
    """Installed versions of R packages (None when absent). Does not need radnomo."""
    os.environ.setdefault("TZ", "UTC")
    import rpy2.rinterface as ri

    _start_r(ri)
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
