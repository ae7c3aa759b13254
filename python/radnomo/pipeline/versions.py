"""Software versions that are part of the stages' cache keys.

A stage's result depends on the code that computed it, not only on its settings and inputs: every
key holds radnomo's version, and the keys of the stages that call R (stats, validate, model) hold
the installed R package's version too, so a fixed statistics function is not skipped on resume.

The R package's version is asked from the embedded R session the bridge uses
(:func:`radnomo.stats.session.r_package_versions`), once per process: that is the library the
stages will load (same R, same library paths, same ``R_LIBS``), which a separate ``Rscript`` found
on ``PATH`` or a ``DESCRIPTION`` file read from a guessed library folder need not be. Those stages
start R anyway; on a resume that skips them, the question costs one R start-up (about a second).
"""

from __future__ import annotations

import functools


def radnomo_version() -> str:
    """The Python package's version (``radnomo.__version__``)."""
    import radnomo

    return radnomo.__version__


@functools.lru_cache(maxsize=1)
def _r_package_version_cached() -> str | None:
    from radnomo.stats.session import R_PACKAGE, r_package_versions

    return r_package_versions((R_PACKAGE,)).get(R_PACKAGE)


def r_package_version() -> str | None:
    """The installed radnomo R package's version (``utils::packageVersion("radnomo")``), cached per
    process; ``None`` when R or the package is not installed (the stage itself then says why)."""
    try:
        return _r_package_version_cached()
    except Exception:  # noqa: BLE001 - no R / rpy2: the stage that needs R reports it when it runs
        return None
