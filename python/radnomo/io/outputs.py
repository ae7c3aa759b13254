"""Output folders and files: checked before any work starts, and locked while a run writes them.

* :func:`check_output_dir` / :func:`check_output_file` create what is missing and
  prove that the place can be written (a probe file is created and removed), so a
  read-only folder, a file standing where a folder is needed or a full disk is
  a one-line :class:`OutputError` before a patient is processed.
* :func:`output_lock` takes an exclusive lock on an output (a folder:
  ``<folder>/radnomo.lock``; a file: ``<file>.lock`` beside it) for as long as
  a run writes it. A second run into the same output refuses with
  :class:`OutputLockedError`, naming the process that holds it. The lock is an
  ``flock`` on the lock file, which the kernel releases when its process dies:
  a lock file left by a killed run is stale and is taken over (and said so), it
  never blocks the next run. The lock file records who holds it (pid, host,
  command, start time) and is removed on release. Locks are re-entrant within a
  process (a command that locks a folder may call code that locks it again).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

from radnomo.errors import InputError

#: Name of the lock file inside a locked output folder.
DIR_LOCK_NAME = "radnomo.lock"

_log = logging.getLogger(__name__)
_HELD: dict[str, list] = {}  # lock path -> [fd, depth]
_HELD_LOCK = threading.Lock()


class OutputError(InputError):
    """An output folder or file cannot be written (read-only, not a folder, disk full, ...)."""


class OutputLockedError(OutputError):
    """Another running process holds the output's lock."""


def os_error_message(exc: OSError, what: str = "") -> str:
    """One line for an :class:`OSError`: ``<what>: <reason> (<file>)``."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the device"
    elif exc.errno in (errno.EROFS,):
        reason = "read-only file system"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied (read-only or not yours)"
    fname = exc.filename if exc.filename is not None else ""
    where = f" ({fname})" if fname and str(fname) not in what else ""
    return f"{what + ': ' if what else ''}{reason}{where}"


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Make sure ``path`` is a folder this process can write into (created when missing).

    Raises :class:`OutputError` with one line naming the folder and the reason.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} exists and is not a folder")
    anc = _nearest_existing(path.parent) if not path.exists() else path
    if anc.exists() and not anc.is_dir():
        raise OutputError(f"{what} {path}: {anc} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(os_error_message(exc, f"{what} {path} cannot be created")) from exc
    probe = None
    try:
        fd = os.open(path / f".radnomo-write-test-{os.getpid()}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        probe = path / f".radnomo-write-test-{os.getpid()}"
        os.close(fd)
    except OSError as exc:
        raise OutputError(os_error_message(exc, f"{what} {path} is not writable")) from exc
    finally:
        if probe is not None:
            with contextlib.suppress(OSError):
                probe.unlink()
    return path


def check_output_file(path: str | os.PathLike, what: str = "output file") -> Path:
    """Make sure ``path`` can be written: not a folder, its folder writable (created when missing)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{what} {path} is a folder; give a file name")
    check_output_dir(path.parent if str(path.parent) else Path("."), what=f"folder of the {what}")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{what} {path} exists and is not writable")
    return path


def lock_path_for(output: str | os.PathLike, kind: str) -> Path:
    """The lock file of an output folder (``kind="dir"``) or file (``kind="file"``)."""
    output = Path(output)
    if kind == "dir":
        return output / DIR_LOCK_NAME
    if kind == "file":
        return output.with_name(output.name + ".lock")
    raise ValueError(f"kind must be 'dir' or 'file', not {kind!r}")


def _holder_text(raw: str) -> str:
    try:
        h = json.loads(raw)
    except ValueError:
        return "another process (its lock file is unreadable)"
    parts = [f"pid {h.get('pid')}"]
    if h.get("host") and h.get("host") != socket.gethostname():
        parts[0] += f" on {h['host']}"
    if h.get("command"):
        parts.append(f"'{h['command']}'")
    if h.get("started"):
        parts.append(f"started {h['started']}")
    return "another radnomo process (" + ", ".join(parts) + ")"


def _command_line() -> str:
    argv = list(sys.argv)
    if argv and Path(argv[0]).name in ("radnomo", "__main__.py"):
        argv[0] = "radnomo"
    text = " ".join(argv)
    return text if len(text) <= 300 else text[:297] + "..."


def _acquire(lock: Path, output: Path, command: str | None) -> int:
    from radnomo.io.atomic import file_mode

    for _ in range(20):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, file_mode())
        except OSError as exc:
            raise OutputError(os_error_message(exc, f"output {output}: its lock file {lock} cannot be created")) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                os.close(fd)
                raise OutputError(os_error_message(exc, f"output {output}: cannot lock {lock}")) from exc
            raw = ""
            with contextlib.suppress(OSError):
                raw = os.pread(fd, 4096, 0).decode("utf-8", "replace")
            os.close(fd)
            raise OutputLockedError(
                f"output {output} is being written by {_holder_text(raw)}; wait for it to finish or stop it, "
                f"or write elsewhere (lock file {lock})") from None
        # the file may have been removed and re-created by the previous holder between open and flock
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        old = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
        if old:
            _log.info("output %s: a stale lock (%s, no longer running) was taken over", output,
                      _holder_text(old).removeprefix("another radnomo process "))
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command or _command_line(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        return fd
    raise OutputLockedError(f"output {output}: its lock file {lock} keeps changing; is another run starting?")


@contextlib.contextmanager
def output_lock(output: str | os.PathLike, kind: str = "dir", *, command: str | None = None):
    """Hold an exclusive lock on an output folder or file for the duration of the block.

    Parameters
    ----------
    output : the folder (``kind="dir"``; created when missing) or file (``kind="file"``).
    command : what to record as the holder (default: this process' command line).

    Raises
    ------
    OutputLockedError
        Another live process holds the lock (the message names it).
    OutputError
        The lock file cannot be created (read-only folder, ...).
    """
    output = Path(output)
    lock = lock_path_for(output, kind)
    if kind == "dir":
        check_output_dir(output)
    else:
        check_output_file(output)
    key = os.path.realpath(lock)
    with _HELD_LOCK:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
        else:
            _HELD[key] = [_acquire(lock, output, command), 1]
    try:
        yield lock
    finally:
        with _HELD_LOCK:
            held = _HELD[key]
            held[1] -= 1
            if held[1] == 0:
                del _HELD[key]
                with contextlib.suppress(OSError):
                    os.unlink(lock)
                with contextlib.suppress(OSError):
                    fcntl.flock(held[0], fcntl.LOCK_UN)
                os.close(held[0])
