"""Run one function over many cases: parallel, cached per case, failures recorded.

This is the engine under ``radnomo preprocess``, ``radnomo extract radiomics``
and the deep-feature engine. It talks only to the standard
:class:`concurrent.futures.Executor` interface, so the same code runs on

* nothing (``workers=1``: in this process, serially),
* a local process pool (the default, one process per core), or
* a Dask cluster (``executor=dask.distributed.Client(address).get_executor()``,
  see :func:`dask_executor`); dask is imported only there.

Each case's result is written to ``cache_dir/<name>.json`` atomically as soon
as it arrives, together with a cache key (e.g. a hash of the input files and
parameters). A rerun with the same key loads the result instead of computing
it, so Ctrl-C or a crash loses nothing that had finished. A case whose function
raises is recorded (message and traceback) and the others go on.

Caches hold data, never code: an entry is two lines of JSON — a header with
the format, case id and key, then the result (dicts, lists, strings, numbers
including NaN/Inf, booleans, ``None``; numpy arrays as base64 ``.npy`` bytes
read back with ``allow_pickle=False``). The header is read and its key compared
first; the result is parsed only when the key matches, and nothing in an entry
is ever executed. Entry names are a salted hash of the case id (the salt is
kept in the cache folder), so no patient id appears in a cache file name.

Workers die with their parent: a pool's workers watch the process that made the
pool and kill themselves when it is gone (also after a SIGKILL of the parent,
which no cleanup handler sees); on Linux they also ask the kernel for a SIGKILL
when the process that forked them ends (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import contextlib
import hashlib
import io
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path

ERROR_COLUMNS = ["case_id", "error_type", "message", "traceback"]
_CACHE_FORMAT = 2  # 1: pickle (no longer read); 2: JSON header line + JSON result
_CACHE_SUFFIX = ".json"
_CACHE_SALT = "cache_salt.txt"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseFailure:
    """A payload that is already a failure (e.g. an empty manifest cell): :func:`run_cases`
    records ``message`` as the case's error without calling the function."""

    message: str
    error_type: str = "InputError"


@dataclass
class RunResult:
    """Outcome of :func:`run_cases`.

    Attributes
    ----------
    results : case id -> the function's return value, for every case that
        succeeded now or earlier (cached), in input order.
    errors : one row per failed case: ``case_id, error_type, message, traceback``.
    n_cached : how many results came from the cache.
    n_computed : how many were computed in this run.
    seconds : wall-clock time of the run.
    """

    results: dict[str, Any]
    errors: pd.DataFrame
    n_cached: int = 0
    n_computed: int = 0
    seconds: float = 0.0
    case_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def n_failed(self) -> int:
        return len(self.errors)


def hash_key(*parts: Any) -> str:
    """A stable SHA-256 key of JSON-serialisable ``parts`` (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def safe_name(case_id: str) -> str:
    """A visible file name for ``case_id`` (:func:`radnomo.io.names.visible_name`: unsafe
    characters replaced plus a short hash when changed; never starting with ``.``)."""
    from radnomo.io.names import visible_name

    return visible_name(case_id)


def cache_file(cache_dir: str | Path, case_id: str) -> Path:
    """The cache entry of ``case_id``: a salted hash of the id (salt kept in ``cache_dir``)."""
    from radnomo.io.names import folder_salt, hashed_name

    cache_dir = Path(cache_dir)
    return cache_dir / f"{hashed_name(case_id, folder_salt(cache_dir, _CACHE_SALT))}{_CACHE_SUFFIX}"


def _encode(value: Any, where: str = "result") -> Any:
    """``value`` as JSON data (see module docs); anything else is a ``TypeError``."""
    import numpy as np

    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            return value.item()
        raise TypeError(f"{where}: numpy scalar of type {value.dtype} cannot be cached")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"{where}: numpy array of dtype {value.dtype} cannot be cached (data only)")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict key {k!r} is not a string")
            if k == "__ndarray__":
                raise TypeError(f"{where}: the key '__ndarray__' is reserved")
            out[k] = _encode(v, f"{where}[{k!r}]")
        return out
    raise TypeError(f"{where}: a {type(value).__name__} cannot be cached (data only: dict, list, str, "
                    "number, bool, None, numpy array)")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            import numpy as np

            return np.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
        return {k: _decode(v) for k, v in value.items()}
    return value


def load_cached(cache_dir: str | Path | None, case_id: str, key: str) -> tuple[bool, Any]:
    """Return ``(True, result)`` when ``cache_dir`` holds ``case_id``'s result under ``key``.

    The header line (format, case id, key) is checked before the result is parsed; an
    entry that does not match, or is not the data format, is ignored (recomputed).
    """
    if cache_dir is None:
        return False, None
    f = cache_file(cache_dir, case_id)
    if not f.exists():
        return False, None
    try:
        with open(f, "rb") as fh:
            header = json.loads(fh.readline(65536).decode("utf-8"))
            if (not isinstance(header, dict) or header.get("format") != _CACHE_FORMAT
                    or header.get("key") != key or header.get("case_id") != case_id):
                return False, None
            result = _decode(json.loads(fh.read().decode("utf-8")))
    except (OSError, ValueError, TypeError, KeyError):  # a corrupt or foreign entry is recomputed
        return False, None
    return True, result


def store_cached(cache_dir: str | Path, case_id: str, key: str, result: Any) -> Path:
    """Write ``result`` for ``case_id`` under ``key`` atomically (data only; ``TypeError`` otherwise)."""
    body = json.dumps(_encode(result), allow_nan=True, separators=(",", ":"))
    header = json.dumps({"format": _CACHE_FORMAT, "case_id": case_id, "key": key})
    f = cache_file(cache_dir, case_id)
    with atomic_path(f) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(header + "\n" + body + "\n")
    return f


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove temporary files (``.<name>.<random>.tmp<suffix>``) that a killed run left in ``folder``.

    Call it only while holding ``folder``'s lock (no other run can be writing there).
    """
    removed = []
    for p in Path(folder).glob(".*.tmp*"):
        if p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed


def _call(fn: Callable, payload: Any) -> tuple[str, Any, float]:
    """Run ``fn(payload)`` in a worker; never raises (errors come back as data)."""
    t0 = time.perf_counter()
    try:
        out = fn(payload)
        return "ok", out, time.perf_counter() - t0
    except BaseException as exc:  # noqa: BLE001 - a worker must report, not die
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "error", (type(exc).__name__, str(exc), traceback.format_exc()), time.perf_counter() - t0


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


def _progress_bar(total: int, desc: str, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="case", disable=not enabled, initial=initial, dynamic_ncols=True)


def run_cases(
    fn: Callable[[Any], Any],
    cases: Mapping[str, Any] | Iterable[tuple[str, Any]],
    *,
    cache_dir: str | Path | None = None,
    key_fn: Callable[[str, Any], str] | None = None,
    workers: int | None = None,
    executor: cf.Executor | None = None,
    progress: bool = True,
    desc: str = "cases",
    on_result: Callable[[str, Any], None] | None = None,
) -> RunResult:
    """Run ``fn(payload)`` for every case and collect results and failures.

    Parameters
    ----------
    fn : a picklable (module-level) function of one argument, the case payload.
    cases : ``{case_id: payload}`` or ``(case_id, payload)`` pairs; ids unique.
    cache_dir : folder for per-case results; ``None`` disables caching.
    key_fn : ``key_fn(case_id, payload) -> str``; a cached result is used only
        when its key equals this one (hash the input files and parameters). It
        runs in this process. Default: a hash of the payload.
    workers : number of local worker processes (default: all cores). ``1``
        runs in this process (no pool). Ignored when ``executor`` is given.
    executor : any :class:`concurrent.futures.Executor` (e.g.
        ``dask.distributed.Client.get_executor()``); not shut down here.
    progress : show a tqdm bar with counts and ETA.
    desc : label of the bar.
    on_result : called in this process as ``on_result(case_id, result)`` when a
        case finishes (after its result is cached).

    Returns
    -------
    RunResult
        Failures are in ``errors``; nothing is raised for a failing case.
        ``KeyboardInterrupt`` cancels pending cases and is re-raised; finished
        cases are already in the cache.
    """
    from radnomo.runtime import default_workers

    t_start = time.perf_counter()
    items = list(cases.items()) if isinstance(cases, Mapping) else [(str(c), p) for c, p in cases]
    ids = [c for c, _ in items]
    if len(set(ids)) != len(ids):
        dup = sorted({c for c in ids if ids.count(c) > 1})
        raise InputError(f"run_cases: duplicated case ids {dup[:10]}")
    if workers is not None and int(workers) < 1:
        raise InputError(f"workers must be >= 1, not {workers}")
    key_fn = key_fn or (lambda cid, payload: hash_key(cid, repr(payload)))
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)

    def execute() -> RunResult:
        results: dict[str, Any] = {}
        errors: list[dict[str, str]] = []
        case_seconds: dict[str, float] = {}
        todo: list[tuple[str, Any, str]] = []
        for cid, payload in items:
            if isinstance(payload, CaseFailure):
                errors.append({"case_id": cid, "error_type": payload.error_type, "message": payload.message,
                               "traceback": ""})
                continue
            try:
                key = key_fn(cid, payload)
            except Exception as exc:  # e.g. an input file is missing: report it as this case's failure
                errors.append({"case_id": cid, "error_type": type(exc).__name__, "message": str(exc),
                               "traceback": traceback.format_exc()})
                continue
            hit, value = load_cached(cache_dir, cid, key)
            if hit:
                results[cid] = value
            else:
                todo.append((cid, payload, key))
        n_cached = len(results)

        def record(cid: str, key: str, status: str, value: Any, secs: float) -> None:
            case_seconds[cid] = secs
            if status == "ok":
                if cache_dir is not None:
                    try:
                        store_cached(cache_dir, cid, key, value)
                    except TypeError as exc:  # not data: kept in memory, not cached
                        _log.warning("case %s: result not cached (%s)", cid, exc)
                results[cid] = value
                if on_result is not None:
                    on_result(cid, value)
            else:
                etype, msg, tb = value
                errors.append({"case_id": cid, "error_type": etype, "message": msg, "traceback": tb})

        bar = _progress_bar(len(items) - len(errors), desc, progress, initial=n_cached)
        try:
            n_workers = workers or default_workers()
            if executor is None and (n_workers == 1 or len(todo) <= 1):
                for cid, payload, key in todo:
                    status, value, secs = _call(fn, payload)
                    record(cid, key, status, value, secs)
                    bar.update(1)
            elif todo:
                own = executor is None
                ex = executor or process_pool(min(n_workers, len(todo)))
                futures: dict[cf.Future, tuple[str, str]] = {}
                try:
                    for cid, payload, key in todo:
                        futures[ex.submit(_call, fn, payload)] = (cid, key)
                    for fut in cf.as_completed(futures):
                        cid, key = futures[fut]
                        try:
                            status, value, secs = fut.result()
                        except BaseException as exc:  # worker died (BrokenProcessPool), cancelled, ...
                            if isinstance(exc, KeyboardInterrupt):
                                raise
                            status, value, secs = "error", (type(exc).__name__, str(exc) or repr(exc),
                                                            traceback.format_exc()), float("nan")
                        record(cid, key, status, value, secs)
                        bar.update(1)
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    if own:
                        ex.shutdown(wait=False, cancel_futures=True)
                        own = False
                    raise
                finally:
                    if own:
                        ex.shutdown(wait=True)
        finally:
            bar.close()

        ordered = {cid: results[cid] for cid in ids if cid in results}
        err_df = pd.DataFrame(errors, columns=ERROR_COLUMNS)
        order = {cid: i for i, cid in enumerate(ids)}
        err_df = err_df.sort_values("case_id", key=lambda s: s.map(order)).reset_index(drop=True)
        return RunResult(results=ordered, errors=err_df, n_cached=n_cached, n_computed=len(ordered) - n_cached,
                         seconds=time.perf_counter() - t_start, case_seconds=case_seconds)

    if cache_dir is None:
        return execute()
    from radnomo.io.outputs import output_lock

    with output_lock(cache_dir, "dir"):  # one run at a time per cache; leftovers of killed runs go
        remove_stale_temporaries(cache_dir)
        return execute()


def write_errors(errors: pd.DataFrame, path: str | Path) -> Path:
    """Write an errors table (CSV) atomically; an empty table still gets its header."""
    path = Path(path)
    with atomic_path(path) as tmp:
        errors.reindex(columns=[c for c in errors.columns]).to_csv(tmp, index=False)
    return path
