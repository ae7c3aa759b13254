"""radnomo.parallel.run_cases: serial, process pool, cache/resume, failures, interruption, Dask."""

from __future__ import annotations

import concurrent.futures as cf
import os
import time

import pytest

from radnomo.errors import InputError
from radnomo.parallel import cache_file, load_cached, run_cases, store_cached


def square(x):
    if x < 0:
        raise ValueError(f"negative input {x}")
    return x * x


def slow_or_interrupt(x):
    if x == 99:
        raise KeyboardInterrupt
    return x + 1


def pid_sleep(x):
    time.sleep(0.3)
    return os.getpid()


def test_serial_results_errors_and_order(tmp_path):
    res = run_cases(square, {"a": 2, "b": -1, "c": 3}, cache_dir=tmp_path, workers=1, progress=False)
    assert res.results == {"a": 4, "c": 9}
    assert res.errors["case_id"].tolist() == ["b"]
    assert res.errors.loc[0, "error_type"] == "ValueError" and "negative input -1" in res.errors.loc[0, "message"]
    assert "Traceback" in res.errors.loc[0, "traceback"]
    assert res.n_failed == 1 and res.n_computed == 2


def test_cache_skips_finished_and_key_change_recomputes(tmp_path):
    cases = {"a": 2, "c": 3}
    run_cases(square, cases, cache_dir=tmp_path / "cache", key_fn=lambda c, p: f"k{p}", workers=1, progress=False)
    res = run_cases(square, cases, cache_dir=tmp_path / "cache", key_fn=lambda c, p: f"k{p}", workers=1,
                    progress=False)
    assert res.n_cached == 2 and res.n_computed == 0 and res.results == {"a": 4, "c": 9}
    res = run_cases(square, cases, cache_dir=tmp_path / "cache", key_fn=lambda c, p: f"v2-{p}", workers=1,
                    progress=False)
    assert res.n_cached == 0 and res.n_computed == 2


def test_process_pool_uses_several_processes(tmp_path):
    res = run_cases(pid_sleep, {str(i): i for i in range(4)}, workers=2, progress=False)
    assert len(res.results) == 4
    assert len(set(res.results.values())) == 2  # two worker processes, none of them this one
    assert os.getpid() not in res.results.values()


def test_interrupt_keeps_finished_results(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(KeyboardInterrupt):
        run_cases(slow_or_interrupt, [("a", 1), ("b", 2), ("stop", 99), ("z", 5)], cache_dir=cache,
                  key_fn=lambda c, p: str(p), workers=1, progress=False)
    assert load_cached(cache, "a", "1") == (True, 2)
    assert load_cached(cache, "b", "2") == (True, 3)
    assert load_cached(cache, "z", "5") == (False, None)
    res = run_cases(slow_or_interrupt, [("a", 1), ("b", 2), ("z", 5)], cache_dir=cache, key_fn=lambda c, p: str(p),
                    workers=1, progress=False)
    assert res.n_cached == 2 and res.results == {"a": 2, "b": 3, "z": 6}


def test_corrupt_cache_entry_is_recomputed(tmp_path):
    store_cached(tmp_path, "a", "k", 123)
    cache_file(tmp_path, "a").write_bytes(b"not a cache entry")
    assert load_cached(tmp_path, "a", "k") == (False, None)


def test_any_executor_and_bad_input(tmp_path):
    with cf.ThreadPoolExecutor(2) as ex:
        res = run_cases(square, {"a": 2, "b": -3}, executor=ex, progress=False)
    assert res.results == {"a": 4} and res.n_failed == 1
    with pytest.raises(InputError, match="duplicated"):
        run_cases(square, [("a", 1), ("a", 2)], progress=False)
    with pytest.raises(InputError, match="workers"):
        run_cases(square, {"a": 1}, workers=0, progress=False)


def test_key_failure_is_a_case_failure(tmp_path):
    def key(cid, p):
        if p == 2:
            raise InputError(f"patient {cid!r}: image file not found")
        return str(p)

    res = run_cases(square, {"a": 1, "b": 2}, cache_dir=tmp_path, key_fn=key, workers=1, progress=False)
    assert res.results == {"a": 1} and "image file not found" in res.errors.loc[0, "message"]


def test_dask_local_cluster_executor():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = run_cases(square, {"a": 2, "b": -1, "c": 4}, executor=client.get_executor(), progress=False)
    assert res.results == {"a": 4, "c": 16}
    assert res.errors["case_id"].tolist() == ["b"]


def test_limit_threads_caps_itk_and_blas_without_importing_torch():
    """In a fresh interpreter (numpy's OpenBLAS already loaded): ITK and BLAS pools at 1 thread,
    OMP_NUM_THREADS set for libraries imported later, and torch not imported by the initialiser."""
    import subprocess
    import sys

    code = ("import numpy, sys, os, SimpleITK as sitk\n"
            "from radnomo.parallel import limit_threads\n"
            "limit_threads(1)\n"
            "from threadpoolctl import threadpool_info\n"
            "print(sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(), os.environ['OMP_NUM_THREADS'],\n"
            "      max(d['num_threads'] for d in threadpool_info()), 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1", "1", "False"]
