"""Run one function over many cases (:func:`run_cases`): cached per case, failures recorded as data."""

from __future__ import annotations

import concurrent.futures as cf
import functools
import logging
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path
from radnomo.parallel.cache import hash_key, load_cached, remove_stale_temporaries, store_cached
from radnomo.parallel.workers import process_pool

ERROR_COLUMNS = ["case_id", "error_type", "message", "traceback"]
_log = logging.getLogger("radnomo.parallel")


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


def _progress_bar(total: int, desc: str, enabled: bool, initial: int = 0):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="case", disable=not enabled, initial=initial, dynamic_ncols=True)


def _payload_key(case_id: str, payload: Any) -> str:
    """The default cache key of a case: a hash of its id and its payload's ``repr``."""
    return hash_key(case_id, repr(payload))


@dataclass
class _Tally:
    """What one run has gathered so far: results, failures and each computed case's seconds."""

    cache_dir: str | Path | None
    on_result: Callable[[str, Any], None] | None
    results: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    case_seconds: dict[str, float] = field(default_factory=dict)

    def fail(self, case_id: str, error_type: str, message: str, tb: str = "") -> None:
        self.errors.append({"case_id": case_id, "error_type": error_type, "message": message, "traceback": tb})

    def record(self, case_id: str, key: str, status: str, value: Any, secs: float) -> None:
        """Keep a computed case's outcome: a result is cached first, then passed to ``on_result``."""
        self.case_seconds[case_id] = secs
        if status != "ok":
            self.fail(case_id, *value)
            return
        if self.cache_dir is not None:
            try:
                store_cached(self.cache_dir, case_id, key, value)
            except TypeError as exc:  # not data: kept in memory, not cached
                _log.warning("case %s: result not cached (%s)", case_id, exc)
        self.results[case_id] = value
        if self.on_result is not None:
            self.on_result(case_id, value)


def _case_items(cases: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """``cases`` as ``(case_id, payload)`` pairs; duplicated ids are an :class:`InputError`."""
    items = list(cases.items()) if isinstance(cases, Mapping) else [(str(c), p) for c, p in cases]
    ids = [c for c, _ in items]
    if len(set(ids)) != len(ids):
        dup = sorted({c for c in ids if ids.count(c) > 1})
        raise InputError(f"run_cases: duplicated case ids {dup[:10]}")
    return items


def _plan(items: list[tuple[str, Any]], key_fn: Callable[[str, Any], str],
          tally: _Tally) -> list[tuple[str, Any, str]]:
    """Record the cases that fail before running (a :class:`CaseFailure`, a key that cannot be made)
    and those already cached; return the others as ``(case_id, payload, key)`` to compute."""
    todo: list[tuple[str, Any, str]] = []
    for cid, payload in items:
        if isinstance(payload, CaseFailure):
            tally.fail(cid, payload.error_type, payload.message)
            continue
        try:
            key = key_fn(cid, payload)
        except Exception as exc:  # e.g. an input file is missing: report it as this case's failure
            tally.fail(cid, type(exc).__name__, str(exc), traceback.format_exc())
            continue
        hit, value = load_cached(tally.cache_dir, cid, key)
        if hit:
            tally.results[cid] = value
        else:
            todo.append((cid, payload, key))
    return todo


def _run_serially(fn: Callable, todo: list[tuple[str, Any, str]], tally: _Tally, bar) -> None:
    for cid, payload, key in todo:
        status, value, secs = _call(fn, payload)
        tally.record(cid, key, status, value, secs)
        bar.update(1)


def _run_on_executor(fn: Callable, todo: list[tuple[str, Any, str]], executor: cf.Executor | None,
                     n_workers: int, tally: _Tally, bar) -> None:
    """Submit every case to ``executor`` (or to a process pool made and shut down here) and record
    the outcomes as they arrive. A worker that dies fails its case; an interruption cancels the rest."""
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
            tally.record(cid, key, status, value, secs)
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


def _result(ids: list[str], tally: _Tally, n_cached: int, t_start: float) -> RunResult:
    """The run's :class:`RunResult`: results and errors in the input order of the cases."""
    ordered = {cid: tally.results[cid] for cid in ids if cid in tally.results}
    err_df = pd.DataFrame(tally.errors, columns=ERROR_COLUMNS)
    order = {cid: i for i, cid in enumerate(ids)}
    err_df = err_df.sort_values("case_id", key=lambda s: s.map(order)).reset_index(drop=True)
    return RunResult(results=ordered, errors=err_df, n_cached=n_cached, n_computed=len(ordered) - n_cached,
                     seconds=time.perf_counter() - t_start, case_seconds=tally.case_seconds)


def _execute(fn: Callable, items: list[tuple[str, Any]], key_fn: Callable[[str, Any], str], tally: _Tally, *,
             workers: int | None, executor: cf.Executor | None, progress: bool, desc: str,
             t_start: float) -> RunResult:
    """The body of :func:`run_cases` (under the cache folder's lock when there is one)."""
    from radnomo.runtime import default_workers

    todo = _plan(items, key_fn, tally)
    n_cached = len(tally.results)
    bar = _progress_bar(len(items) - len(tally.errors), desc, progress, initial=n_cached)
    try:
        n_workers = workers or default_workers()
        if executor is None and (n_workers == 1 or len(todo) <= 1):
            _run_serially(fn, todo, tally, bar)
        elif todo:
            _run_on_executor(fn, todo, executor, n_workers, tally, bar)
    finally:
        bar.close()
    return _result([c for c, _ in items], tally, n_cached, t_start)


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
    t_start = time.perf_counter()
    items = _case_items(cases)
    if workers is not None and int(workers) < 1:
        raise InputError(f"workers must be >= 1, not {workers}")
    key_fn = key_fn or _payload_key
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)

    tally = _Tally(cache_dir, on_result)
    run = functools.partial(_execute, fn, items, key_fn, tally, workers=workers, executor=executor,
                            progress=progress, desc=desc, t_start=t_start)
    if cache_dir is None:
        return run()
    from radnomo.io.outputs import output_lock

    with output_lock(cache_dir, "dir"):  # one run at a time per cache; leftovers of killed runs go
        remove_stale_temporaries(cache_dir)
        return run()


def write_errors(errors: pd.DataFrame, path: str | Path) -> Path:
    """Write an errors table (CSV) atomically; an empty table still gets its header."""
    path = Path(path)
    with atomic_path(path) as tmp:
        errors.reindex(columns=[c for c in errors.columns]).to_csv(tmp, index=False)
    return path
