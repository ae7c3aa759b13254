"""radnomo.io.names (per-patient names) and radnomo.io.outputs (checks and locks of outputs)."""

from __future__ import annotations

import os

import pytest

from radnomo.io.names import folder_salt, hashed_name, patient_name, visible_name
from radnomo.io.outputs import OutputError, check_output_dir, check_output_file, lock_path_for, output_lock


def test_visible_names_are_safe_unique_and_never_hidden():
    assert visible_name("P0001") == "P0001"
    for pid in (".hidden", "..", "-rf", "a/b", "../up", "", "é"):
        name = visible_name(pid)
        assert not name.startswith((".", "-")) and "/" not in name and name, (pid, name)
    assert visible_name("a/b") != visible_name("a_b")  # replaced characters get a hash suffix


def test_hashed_names_depend_on_the_salt_and_hide_the_id(tmp_path):
    salt = folder_salt(tmp_path)
    assert folder_salt(tmp_path) == salt  # kept
    n = hashed_name("MRN12345", salt)
    assert n.startswith("p") and "12345" not in n and n == hashed_name("MRN12345", salt)
    assert n != hashed_name("MRN12345", folder_salt(tmp_path / "other"))
    assert patient_name("X", None) == "X" and patient_name("X", salt) == hashed_name("X", salt)
    with pytest.raises(ValueError):
        hashed_name("X", "")


def test_output_checks(tmp_path):
    assert check_output_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(OutputError, match="exists and is not a folder"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "f" / "sub")
    with pytest.raises(OutputError, match="is a folder"):
        check_output_file(tmp_path / "a")
    assert check_output_file(tmp_path / "new" / "t.parquet").parent.is_dir()
    assert lock_path_for(tmp_path / "t.parquet", "file").name == "t.parquet.lock"
    assert lock_path_for(tmp_path, "dir").name == "radnomo.lock"


def test_lock_records_the_holder_and_is_removed(tmp_path):
    import json

    with output_lock(tmp_path / "o.parquet", "file", command="radnomo test") as lock:
        info = json.loads(lock.read_text(encoding="utf-8"))
        assert info["pid"] == os.getpid() and info["command"] == "radnomo test"
    assert not lock.exists()
