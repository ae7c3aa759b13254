"""The embedded R session's lock (its own module so that the session and the
conversions can both use it without importing each other)."""

from __future__ import annotations

import functools
import threading


class SessionLock:
    """The R session's re-entrant lock; knows which thread holds it (:meth:`held`)."""

    def __init__(self):
        self._lock = threading.RLock()
        self._owner: int | None = None
        self._depth = 0

    def __enter__(self):
        self._lock.acquire()
        self._owner = threading.get_ident()
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
        self._lock.release()
        return False

    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        return self._owner == threading.get_ident()


#: the one lock of the embedded R session: R is single-threaded, and rpy2 objects
#: are R memory, so every call into R and every conversion holds it
r_lock = SessionLock()


def bridged(fn):
    """Decorator: run ``fn`` (a bridge function: convert arguments, call R, convert the
    result) holding :data:`r_lock` throughout."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with r_lock:
            return fn(*args, **kwargs)

    return wrapper
