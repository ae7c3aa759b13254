"""Starting the embedded R without leaking its library path to child processes.

R's start-up sets ``LD_LIBRARY_PATH`` (``/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu:...``) in the
process environment. Worker processes started later (the image engine's process pool, the
predict/evaluate extraction) would inherit it and could load the system's libpython instead of
this interpreter's, failing on import. The loader reads ``LD_LIBRARY_PATH`` only at process start,
so restoring it does not affect the running R.

Every path into R goes through :func:`start_r` first — the session (``session._init``) and the
converters (``_convert._load``, whose ``import rpy2.robjects`` would otherwise start R itself,
without the restore).
"""

from __future__ import annotations

import os

_started = False


def start_r():
    """Start R once (restoring ``LD_LIBRARY_PATH``) and return ``rpy2.rinterface``."""
    global _started
    import rpy2.rinterface as ri
    from rpy2.rinterface_lib import embedded

    if _started or embedded.isinitialized():
        _started = True
        return ri
    saved = os.environ.get("LD_LIBRARY_PATH")
    ri.initr_simple()  # rpy2 3.5 (pinned; requirements.txt)
    if saved is None:
        os.unsetenv("LD_LIBRARY_PATH")
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = saved  # also calls putenv
    _started = True
    return ri
