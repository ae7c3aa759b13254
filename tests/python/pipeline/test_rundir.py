"""Stage caching in the run directory (python/radnomo/pipeline/rundir.py)."""

from __future__ import annotations

import json

import pytest

from radnomo.errors import InputError
from radnomo.pipeline.rundir import RunDirectory


def _stage(calls, text):
    def fn(d):
        calls.append(text)
        (d / "out.txt").write_text(text, encoding="utf-8")
        return {"n": len(text)}
    return fn


def test_rerun_skips_and_changes_invalidate_downstream(tmp_path):
    rd = RunDirectory(tmp_path)
    calls = []
    a = rd.run_stage("a", {"x": 1}, _stage(calls, "A"), ["out.txt"])
    b = rd.run_stage("b", {"up": a.key}, _stage(calls, "B"), ["out.txt"])
    assert not a.skipped and not b.skipped and calls == ["A", "B"]
    rec = json.loads((tmp_path / "a" / "stage.json").read_text(encoding="utf-8"))
    assert rec["key"] == a.key and rec["info"] == {"n": 1} and rec["seconds"] >= 0

    a2 = rd.run_stage("a", {"x": 1}, _stage(calls, "A"), ["out.txt"])
    b2 = rd.run_stage("b", {"up": a2.key}, _stage(calls, "B"), ["out.txt"])
    assert a2.skipped and b2.skipped and calls == ["A", "B"] and a2.info == {"n": 1}

    a3 = rd.run_stage("a", {"x": 2}, _stage(calls, "A"), ["out.txt"])  # settings changed
    b3 = rd.run_stage("b", {"up": a3.key}, _stage(calls, "B"), ["out.txt"])
    assert not a3.skipped and not b3.skipped and calls == ["A", "B", "A", "B"]

    (tmp_path / "b" / "out.txt").unlink()  # a lost output forces a redo
    b4 = rd.run_stage("b", {"up": a3.key}, _stage(calls, "B"), ["out.txt"])
    assert not b4.skipped and calls[-1] == "B"


def test_failed_stage_is_not_recorded(tmp_path):
    rd = RunDirectory(tmp_path)

    def boom(d):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        rd.run_stage("a", {}, boom, [])
    assert rd.read_record("a") is None
    with pytest.raises(InputError, match="did not write its outputs"):
        rd.run_stage("a", {}, lambda d: {}, ["missing.csv"])
    assert rd.read_record("a") is None


def test_caches_are_cleaned_only_when_the_key_changes(tmp_path):
    rd = RunDirectory(tmp_path)

    def interrupted(d):
        (d / "cache").mkdir(exist_ok=True)
        (d / "cache" / "part").write_text("x", encoding="utf-8")
        raise KeyboardInterrupt

    import pytest as _pytest

    with _pytest.raises(KeyboardInterrupt):
        rd.run_stage("s", {"v": 1}, interrupted, [], clean_on_change=("cache",))
    seen = []
    rd.run_stage("s", {"v": 1}, lambda d: seen.append((d / "cache" / "part").exists()) or {}, [],
                 clean_on_change=("cache",))
    assert seen == [True]  # same key: the engine may resume from its cache
    rd.run_stage("s", {"v": 2}, lambda d: seen.append((d / "cache").exists()) or {}, [],
                 clean_on_change=("cache",))
    assert seen == [True, False]  # inputs changed: stale cache removed
