"""Run one function over many cases: parallel, cached per case, failures recorded.

This is the engine under ``radnomo preprocess``, ``radnomo extract radiomics``
and the deep-feature engine. It talks only to the standard
:class:`concurrent.futures.Executor` interface, so the same code runs on

* nothing (``workers=1``: in this process, serially),
* a local process pool (the default, one process per core), or
* a Dask cluster (``executor=dask.distributed.Client(address).get_executor()``,
  see :func:`dask_executor`); dask is imported only there.

Each case's result is pickled to ``cache_dir/<case>.pkl`` atomically as soon as
it arrives, together with a cache key (e.g. a hash of the input files and
parameters). A rerun with the same key loads the result instead of computing
it, so Ctrl-C or a crash loses nothing that had finished. A case whose function
raises is recorded (message and traceback) and the others go on.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import os
import pickle
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path

ERROR_COLUMNS = ["case_id", "error_type", "message", "traceback"]
_CACHE_FORMAT = 1


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
    """A file name for ``case_id``: unsafe characters replaced, plus a short hash to keep names unique."""
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", str(case_id))[:80]
    if clean == str(case_id):
        return clean
    return f"{clean}-{hashlib.sha1(str(case_id).encode()).hexdigest()[:8]}"


def _cache_file(cache_dir: Path, case_id: str) -> Path:
    return cache_dir / f"{safe_name(case_id)}.pkl"


def load_cached(cache_dir: str | Path | None, case_id: str, key: str) -> tuple[bool, Any]:
    """Return ``(True, result)`` when ``cache_dir`` holds ``case_id``'s result under ``key``."""
    if cache_dir is None:
        return False, None
    f = _cache_file(Path(cache_dir), case_id)
    if not f.exists():
        return False, None
    try:
        with open(f, "rb") as fh:
            record = pickle.load(fh)
    except Exception:  # a corrupt cache entry is recomputed
        return False, None
    if (not isinstance(record, dict) or record.get("format") != _CACHE_FORMAT
            or record.get("key") != key or record.get("case_id") != case_id):
        return False, None
    return True, record["result"]


def store_cached(cache_dir: str | Path, case_id: str, key: str, result: Any) -> Path:
    """Write ``result`` for ``case_id`` under ``key`` atomically."""
    f = _cache_file(Path(cache_dir), case_id)
    with atomic_path(f) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump({"format": _CACHE_FORMAT, "case_id": case_id, "key": key, "result": result}, fh,
                        protocol=pickle.HIGHEST_PROTOCOL)
    return f


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


def limit_threads(n: int = 1) -> None:
    """Worker initialiser: one compute thread per process, so N processes use N cores.

    Sets the SimpleITK/ITK global thread count; the OpenMP/BLAS environment
    variables of the worker process (read by libraries imported later, torch
    included); BLAS/OpenMP pools already loaded (numpy's OpenBLAS is, by
    unpickling this function) through threadpoolctl when it is installed; and
    torch's thread count only when torch is already imported (importing it here
    cost every radiomics worker about a second and a few hundred MB).
    """
    import sys

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
    """A local process pool (``forkserver`` start method: safe with ITK's threads)."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=limit_threads,
                                  initargs=(threads_per_worker,))


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

    results: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    case_seconds: dict[str, float] = {}
    todo: list[tuple[str, Any, str]] = []
    for cid, payload in items:
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
                store_cached(cache_dir, cid, key, value)
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


def write_errors(errors: pd.DataFrame, path: str | Path) -> Path:
    """Write an errors table (CSV) atomically; an empty table still gets its header."""
    path = Path(path)
    with atomic_path(path) as tmp:
        errors.reindex(columns=[c for c in errors.columns]).to_csv(tmp, index=False)
    return path
