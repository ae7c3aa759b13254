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

The package's modules: :mod:`.run` (:func:`run_cases`, :class:`RunResult`,
:class:`CaseFailure`, :func:`write_errors`), :mod:`.cache` (keys and cache entries) and
:mod:`.workers` (process pools, Dask, thread limits, workers that die with their parent).

Workers die with their parent: a pool's workers watch the process that made the
pool and kill themselves when it is gone (also after a SIGKILL of the parent,
which no cleanup handler sees); on Linux they also ask the kernel for a SIGKILL
when the process that forked them ends (``PR_SET_PDEATHSIG``).
"""

from radnomo.parallel.cache import (
    cache_file,
    hash_key,
    load_cached,
    remove_stale_temporaries,
    store_cached,
)
from radnomo.parallel.run import ERROR_COLUMNS, CaseFailure, RunResult, run_cases, write_errors
from radnomo.parallel.workers import (
    dask_executor,
    die_with_parent,
    limit_threads,
    process_pool,
    worker_init,
)

__all__ = [
    "ERROR_COLUMNS",
    "CaseFailure",
    "RunResult",
    "cache_file",
    "dask_executor",
    "die_with_parent",
    "hash_key",
    "limit_threads",
    "load_cached",
    "process_pool",
    "remove_stale_temporaries",
    "run_cases",
    "store_cached",
    "worker_init",
    "write_errors",
]
