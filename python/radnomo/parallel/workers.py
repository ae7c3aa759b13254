"""Where :func:`radnomo.parallel.run_cases` runs its cases: local process pools and Dask clusters.

A pool's workers limit their compute threads to one each (:func:`limit_threads`) and die with their
parent (:func:`die_with_parent`): they watch the process that made the pool and kill themselves when
it is gone (also after a SIGKILL of the parent, which no cleanup handler sees); on Linux they also ask
the kernel for a SIGKILL when the process that forked them ends (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time

from radnomo.errors import InputError


def _process_start_time(pid: int) -> str | None:
    """Start time of process ``pid`` (clock ticks since boot, Linux ``/proc``), ``None`` if unknown/gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, start: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start is not None:
        now = _process_start_time(pid)
        if now is not None and now != start:  # the pid was reused by another process
            return False
    return True


def _watch_parent(owner: int, start: str | None, interval: float) -> None:
    while True:
        time.sleep(interval)
        if not _alive(owner, start):
            os.kill(os.getpid(), signal.SIGKILL)


def die_with_parent(owner: int | None = None, interval: float = 0.5) -> None:
    """Make this (worker) process end when ``owner`` (the process that made the pool) ends.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` — the kernel kills this process when the
    one that forked it ends (for a forkserver pool that is the fork server). Everywhere: a
    daemon thread checks every ``interval`` s that ``owner`` is still the same live process
    (pid and start time) and SIGKILLs this process otherwise.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except Exception:  # pragma: no cover - no libc / prctl
            pass
    if owner is not None:
        start = _process_start_time(owner)
        if not _alive(owner, start):
            os.kill(os.getpid(), signal.SIGKILL)
        threading.Thread(target=_watch_parent, args=(owner, start, interval), daemon=True,
                         name="radnomo-parent-watch").start()


def worker_init(n: int = 1, owner: int | None = None) -> None:
    """Pool worker initialiser: :func:`limit_threads`, :func:`die_with_parent`, and radnomo's
    logged warnings on the worker's stderr as ``warning: ...``."""
    die_with_parent(owner)
    limit_threads(n)
    log = logging.getLogger("radnomo")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        log.addHandler(handler)


def limit_threads(n: int = 1) -> None:
    """Worker initialiser: one compute thread per process, so N processes use N cores.

    Sets the SimpleITK/ITK global thread count; the OpenMP/BLAS environment
    variables of the worker process (read by libraries imported later, torch
    included); BLAS/OpenMP pools already loaded (numpy's OpenBLAS is, by
    unpickling this function) through threadpoolctl when it is installed; and
    torch's thread count only when torch is already imported (importing it here
    cost every radiomics worker about a second and a few hundred MB).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import SimpleITK as sitk

        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(n)
    except ImportError:  # pragma: no cover
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)
    except ImportError:  # pragma: no cover - optional
        pass
    if "torch" in sys.modules:
        try:
            sys.modules["torch"].set_num_threads(n)
        except Exception:  # pragma: no cover - a half-imported torch
            pass


def process_pool(workers: int, threads_per_worker: int = 1) -> cf.ProcessPoolExecutor:
    """A local process pool (``forkserver`` start method: safe with ITK's threads).

    Its workers limit their threads (:func:`limit_threads`) and end when this process
    ends, however it ends (:func:`die_with_parent`).
    """
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=worker_init,
                                  initargs=(threads_per_worker, os.getpid()))


@contextlib.contextmanager
def dask_executor(address: str):
    """Yield a :class:`concurrent.futures.Executor` running on the Dask scheduler at ``address``.

    The workers must be able to import radnomo and read the input paths.
    """
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from radnomo.errors import MissingDependencyError

        raise MissingDependencyError("--scheduler needs dask.distributed: pip install 'dask[distributed]'") from exc
    try:
        client = Client(address, timeout="20s")
    except Exception as exc:
        raise InputError(f"cannot connect to the Dask scheduler at {address!r}: {exc}") from exc
    try:
        yield client.get_executor()
    finally:
        client.close()
