"""Atomic file writes: write to a temporary file in the same folder, then rename.

A crash or Ctrl-C therefore never leaves a half-written result behind, and a
rerun that finds the final file can trust it. A failing write (disk full,
``ENOSPC``; file too large) removes the temporary file and leaves any previous
version of the destination untouched.

Permissions: the final file gets the mode an ordinary ``open(path, "w")`` would
give it, ``0o666`` minus the process umask (``0o644`` with the usual umask
022), not the ``0o600`` of the temporary file; folders are created with
``0o777`` minus the umask (``0o755``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from pathlib import Path

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it (``/proc/self/status`` on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (briefly process-wide)
        old = os.umask(0o022)
        os.umask(old)
    return old


def file_mode() -> int:
    """Mode of a new regular file under the current umask (``0o666 & ~umask``)."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None):
    """Yield a temporary path next to ``path``; move it into place on success.

    Parameters
    ----------
    path : final destination.
    suffix : suffix of the temporary file (defaults to the destination's own
        suffixes, so writers that look at the extension, e.g. SimpleITK, work).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if os.path.isfile(tmp):
            os.chmod(tmp, file_mode())  # mkstemp made it 0600; give it the umask's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    return Path(path)


def write_csv(df, path: str | os.PathLike, index: bool = False) -> Path:
    """A pandas DataFrame as CSV, written atomically; returns the path."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index)
    return Path(path)


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file (a folder: of its files, sorted by name)."""
    path = Path(path)
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(f.relative_to(path).as_posix().encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(chunk), b""):
                h.update(block)
    return h.hexdigest()
