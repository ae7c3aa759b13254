"""File and folder names derived from patient ids.

* :func:`visible_name` — the id itself when it is a safe file name, else the id
  with unsafe characters replaced plus a short hash (so two ids never share a
  name). A name never starts with ``.`` or ``-``: per-patient files and folders
  are never hidden and never look like command-line options.
* :func:`hashed_name` — ``p`` + 20 hex digits of an HMAC-SHA-256 of the id under
  a secret salt: keeps patient ids out of folder and file names (the mapping back
  is in the output's manifest, not in the names). The salt of an output folder
  is made once (:func:`folder_salt`) and kept there so reruns give the same names.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from pathlib import Path

#: File in an output folder holding the salt of its hashed names.
SALT_FILE = "name_salt.txt"


def visible_name(patient_id: str, max_len: int = 80) -> str:
    """A safe, visible file name for ``patient_id`` (see module docs)."""
    pid = str(patient_id)
    clean = re.sub(r"[^A-Za-z0-9._-]", "_", pid)[:max_len]
    if clean == pid and not clean.startswith((".", "-")) and clean:
        return clean
    clean = clean.lstrip(".-") or "patient"
    return f"{clean}-{hashlib.sha1(pid.encode('utf-8')).hexdigest()[:8]}"


def hashed_name(patient_id: str, salt: str) -> str:
    """``p`` + 20 hex digits of HMAC-SHA-256(salt, patient id): no id in the name."""
    if not salt:
        raise ValueError("hashed_name needs a non-empty salt")
    digest = hmac.new(salt.encode("utf-8"), str(patient_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return f"p{digest[:20]}"


def patient_name(patient_id: str, salt: str | None = None) -> str:
    """:func:`hashed_name` when a salt is given, else :func:`visible_name`."""
    return hashed_name(patient_id, salt) if salt else visible_name(patient_id)


def folder_salt(folder: str | os.PathLike, filename: str = SALT_FILE) -> str:
    """The salt kept in ``folder/<filename>``, created (random, 128 bits) when missing.

    The file gets the umask's mode like every output (whoever may read the folder's
    files may read the salt: it keeps ids out of *names*, for people who see only
    file listings, logs or paths)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    for _ in range(20):
        try:
            text = path.read_text(encoding="ascii").strip()
            if not text:  # a concurrent process is writing it
                time.sleep(0.05)
                continue
            if re.fullmatch(r"[0-9a-f]{32,128}", text):
                return text
            raise ValueError(f"{path} does not hold a salt (32-128 hex digits)")
        except FileNotFoundError:
            pass
        salt = secrets.token_hex(16)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
        except FileExistsError:  # made by a concurrent process: read theirs
            continue
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(salt + "\n")
        return salt
    raise ValueError(f"cannot read or create the salt file {path}")
