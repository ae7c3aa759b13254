"""Reliability cases: where results go (I02 locks, I04 permissions, I05 unwritable outputs, I16 names;
F1-F2 failing writes).
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from rel_helpers import (assert_clean_error, assert_same_features, assert_unchanged, cli, features, run_process,
                         snapshot, write_cohort)


def _extract(finished, params_yaml, out=None, *extra):
    return cli("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out",
               out or finished["out"], "--workers", 1, "--no-progress", *extra)


# ------------------------------------------------------------------------------------ I02 locks ---

HOLDER = """
import sys, time
from radnomo.io.outputs import output_lock
with output_lock(sys.argv[1], sys.argv[2], command="radnomo extract radiomics (the first run)"):
    print("locked", flush=True)
    time.sleep(120)
"""


def _hold(path: Path, kind: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), kind], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_I02_second_run_refuses_naming_the_running_one_then_stale_lock_is_taken_over(finished, params_yaml):
    holder = _hold(finished["out"], "file")
    try:
        res = _extract(finished, params_yaml)
        assert_clean_error(res.output, f"pid {holder.pid}", "radnomo extract radiomics (the first run)",
                           "is being written by another radnomo process", rc=1, got_rc=res.exit_code)
        assert_unchanged(finished["before"], finished["outdir"])  # nothing of the first run replaced
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    lock = finished["out"].with_name("radiomics.parquet.lock")
    assert lock.exists()  # left behind by the killed run: stale, taken over
    res = _extract(finished, params_yaml)
    assert res.exit_code == 0, res.output
    assert not lock.exists()  # released (removed) at the end
    assert_same_features(features(finished["out"]), finished["table"], ["C1", "C2", "C3"])


def test_I02_folder_outputs_are_locked_too(tmp_path):
    out = tmp_path / "pre"
    holder = _hold(out, "dir")
    try:
        manifest = write_cohort(tmp_path / "c")
        for args in (["preprocess", manifest, "--out", out, "--no-progress"],
                     ["synth", "--out", out, "--n", 1, "--size", "tiny", "--no-progress"],
                     ["run", Path(__file__).parents[3] / "pipelines" / "hcc_recurrence" / "config.yaml",
                      "--out", out, "--until", "split"]):
            res = cli(*args)
            assert_clean_error(res.output, f"pid {holder.pid}", "is being written", rc=1, got_rc=res.exit_code)
        assert sorted(p.name for p in out.iterdir()) == ["radnomo.lock"]  # no work started
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()


def test_I02_lock_unit_reentrant_and_released():
    import tempfile

    from radnomo.io.outputs import OutputLockedError, output_lock

    with tempfile.TemporaryDirectory() as d:
        with output_lock(d, "dir") as lock:
            with output_lock(d, "dir"):  # the same process may nest
                assert lock.exists()
            assert lock.exists()
        assert not lock.exists()
        holder = _hold(Path(d), "dir")
        try:
            with pytest.raises(OutputLockedError, match=f"pid {holder.pid}"):
                with output_lock(d, "dir"):
                    pass
        finally:
            holder.kill()
            holder.wait()


@pytest.mark.parametrize("case", ["concurrent"])
def test_I02_two_real_extractions_at_once(case, finished, params_yaml, tmp_path):
    """Two `radnomo extract radiomics` processes into one --out: one runs, the other refuses (or starts
    after the first finished); the table and errors file are the first's, complete."""
    env = dict(os.environ, TZ="UTC")
    cmd = [str(Path(sys.executable).parent / "radnomo"), "extract", "radiomics", str(finished["manifest"]),
           "--params", str(params_yaml), "--out", str(tmp_path / "o" / "r.parquet"), "--workers", "1",
           "--no-progress"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    rcs = [p.returncode for p in procs]
    assert 0 in rcs, outs
    for rc, (so, se) in zip(rcs, outs):
        assert "Traceback" not in se
        if rc != 0:
            assert rc == 1 and "is being written by another radnomo process" in se, se
    assert_same_features(features(tmp_path / "o" / "r.parquet"), finished["table"], ["C1", "C2", "C3"])


# ------------------------------------------------------------------------------ I04 permissions ---

def _modes(folder: Path):
    return {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")}


@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775),
                                                      (0o027, 0o640, 0o750)])
def test_I04_outputs_respect_the_umask(umask, file_mode, dir_mode, finished, params_yaml, tmp_path):
    old = os.umask(umask)
    try:
        res = _extract(finished, params_yaml, tmp_path / "x" / "r.parquet")
        assert res.exit_code == 0, res.output
        res = cli("preprocess", finished["manifest"], "--out", tmp_path / "pre", "--reference", "pvp",
                  "--registration", "none", "--no-n4", "--workers", 1, "--no-progress", "--hash-names")
        assert res.exit_code == 0, res.output
    finally:
        os.umask(old)
    modes = {**_modes(tmp_path / "x"), **{f"pre/{k}": v for k, v in _modes(tmp_path / "pre").items()}}
    assert any(k.endswith(".nii.gz") for k in modes) and any(k.endswith(".png") for k in modes)
    for rel, mode in modes.items():
        is_dir = (tmp_path / "x" / rel).is_dir() if not rel.startswith("pre/") else (tmp_path / rel).is_dir()
        assert mode == (dir_mode if is_dir else file_mode), f"{rel}: {oct(mode)} under umask {oct(umask)}"


# ------------------------------------------------------------------------- I05 unwritable outputs ---

def _immutable(path: Path) -> bool:
    """Make ``path`` read-only even for root (chattr +i); False where that is not possible."""
    if shutil.which("chattr") is None:
        return False
    r = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if r.returncode != 0:
        return False
    try:
        (path / ".probe").touch()
    except OSError:
        return True
    (path / ".probe").unlink()
    subprocess.run(["chattr", "-i", str(path)])
    return False


def test_I05_read_only_output_folder_is_a_one_line_error_before_work(finished, params_yaml, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    immutable = _immutable(ro)
    if not immutable:
        if os.geteuid() != 0:
            ro.chmod(0o555)
        else:  # root without chattr: simulate the kernel's answer
            real_open = os.open

            def refuse(path, flags, *a, **k):
                if str(path).startswith(str(ro)) and flags & os.O_CREAT:
                    raise PermissionError(errno.EACCES, "Permission denied", str(path))
                return real_open(path, flags, *a, **k)

            monkeypatch.setattr(os, "open", refuse)
    try:
        res = _extract(finished, params_yaml, ro / "r.parquet")
        assert_clean_error(res.output, str(ro), "not writable", "permission denied", rc=1, got_rc=res.exit_code)
        res = cli("preprocess", finished["manifest"], "--out", ro / "pre", "--no-progress")
        assert_clean_error(res.output, str(ro / "pre"), rc=1, got_rc=res.exit_code)
        assert list(ro.iterdir()) == []  # nothing started
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(ro)])
        ro.chmod(0o755)


def test_I05_file_where_a_folder_is_needed(finished, params_yaml, tmp_path):
    blocker = tmp_path / "existing_file"
    blocker.write_text("not a folder", encoding="utf-8")
    res = _extract(finished, params_yaml, blocker / "f.parquet")
    assert_clean_error(res.output, "existing_file", "is not a folder", rc=1, got_rc=res.exit_code)
    res = cli("preprocess", finished["manifest"], "--out", blocker, "--no-progress")  # click's own check
    assert_clean_error(res.output, "existing_file", "is a file", rc=2, got_rc=res.exit_code)
    res = cli("synth", "--out", blocker / "cohort", "--n", 1, "--size", "tiny", "--no-progress")
    assert_clean_error(res.output, "existing_file", "is a file, not a folder", rc=1, got_rc=res.exit_code)
    assert blocker.read_text(encoding="utf-8") == "not a folder"


# ----------------------------------------------------------------------------------- I16 names ---

def test_I16_names_stay_visible_and_can_be_hashed(tmp_path, params_yaml):
    manifest = write_cohort(tmp_path / "c", ids=(".hidden", "../up", "C3"), size=(24, 24, 12))
    res = cli("preprocess", manifest, "--out", tmp_path / "pre", "--reference", "pvp", "--registration", "none",
              "--no-n4", "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    res = cli("extract", "radiomics", tmp_path / "pre" / "manifest.csv", "--params", params_yaml, "--out",
              tmp_path / "f" / "r.parquet", "--workers", 1, "--no-progress")
    assert res.exit_code == 0, res.output
    for base in (tmp_path / "pre", tmp_path / "f"):
        for p in base.rglob("*"):
            rel = p.relative_to(base)
            assert not any(part.startswith(".") and part != ".cache" for part in rel.parts), rel
    assert not (tmp_path / "up").exists() and not (tmp_path / "pre" / "up").exists()  # no path traversal
    assert sorted(features(tmp_path / "f" / "r.parquet").index) == ["../up", ".hidden", "C3"]
    # hashed names: no patient id in any file or folder name
    res = cli("preprocess", manifest, "--out", tmp_path / "pre_h", "--reference", "pvp", "--registration", "none",
              "--no-n4", "--workers", 1, "--no-progress", "--hash-names")
    assert res.exit_code == 0, res.output
    names = [p.relative_to(tmp_path / "pre_h").as_posix() for p in (tmp_path / "pre_h").rglob("*")]
    assert not [n for n in names if "hidden" in n or "up" in n.replace("upper", "") or "C3" in n], names
    out = pd.read_csv(tmp_path / "pre_h" / "manifest.csv", dtype={"patient_id": str})
    assert sorted(out.patient_id) == ["../up", ".hidden", "C3"]
    assert all((tmp_path / "pre_h" / p).exists() for p in out.pvp_image)
    # the same names on a rerun (salt kept), everything from the cache
    before = snapshot(tmp_path / "pre_h" / "images")
    res = cli("preprocess", manifest, "--out", tmp_path / "pre_h", "--reference", "pvp", "--registration", "none",
              "--no-n4", "--workers", 1, "--no-progress", "--hash-names")
    assert res.exit_code == 0 and "(3 from cache)" in res.output
    assert snapshot(tmp_path / "pre_h" / "images") == before


# ----------------------------------------------------------------------------- failing writes ---

def test_F1_disk_full_leaves_no_partial_file(finished, params_yaml, monkeypatch):
    """ENOSPC in the middle of writing the table: one-line error, no partial table or temporary file,
    the previous table untouched (the per-patient cache still lets a rerun skip the work)."""
    import pyarrow.parquet as pq

    real = pq.write_table

    def full_disk(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1" + b"\0" * 100)  # a partial write ...
        raise OSError(errno.ENOSPC, "No space left on device", str(where))  # ... then the disk is full

    monkeypatch.setattr(pq, "write_table", full_disk)
    res = _extract(finished, params_yaml)
    assert_clean_error(res.output, "no space left on the device", rc=1, got_rc=res.exit_code)
    assert_unchanged(finished["before"], finished["outdir"])
    leftovers = [p.name for p in finished["outdir"].iterdir() if ".tmp" in p.name]
    assert leftovers == []
    monkeypatch.setattr(pq, "write_table", real)
    res = _extract(finished, params_yaml)
    assert res.exit_code == 0 and "(3 from cache)" in res.output


def test_F2_real_failing_write_file_size_limit(finished, params_yaml, tmp_path):
    """A real failing write (RLIMIT_FSIZE: the kernel refuses to grow a file past 8 KB, EFBIG): the
    17 KB table cannot be written; the command says so in one line and leaves no partial file."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))

    out = tmp_path / "o" / "r.parquet"
    r = run_process("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", out,
                    "--workers", 1, "--no-progress", preexec_fn=limit)
    assert_clean_error(r.stderr, "File too large", rc=1, got_rc=r.returncode)
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if ".tmp" in p.name] == []
    r = run_process("extract", "radiomics", finished["manifest"], "--params", params_yaml, "--out", out,
                    "--workers", 1, "--no-progress")
    assert r.returncode == 0 and "(3 from cache)" in r.stdout
