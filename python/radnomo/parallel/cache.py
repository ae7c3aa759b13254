"""The per-case cache of :func:`radnomo.parallel.run_cases`: keys, entry files, data-only encoding.

An entry is two lines of JSON — a header with the format, case id and key, then the result (dicts,
lists, strings, numbers including NaN/Inf, booleans, ``None``; numpy arrays as base64 ``.npy`` bytes
read back with ``allow_pickle=False``). The header is read and its key compared first; the result is
parsed only when the key matches, and nothing in an entry is ever executed. Entry names are a salted
hash of the case id (the salt is kept in the cache folder), so no patient id appears in a file name.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from radnomo.io.atomic import atomic_path

_CACHE_FORMAT = 2  # 1: pickle (no longer read); 2: JSON header line + JSON result
_CACHE_SUFFIX = ".json"
_CACHE_SALT = "cache_salt.txt"


def hash_key(*parts: Any) -> str:
    """A stable SHA-256 key of JSON-serialisable ``parts`` (dict keys sorted)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_file(cache_dir: str | Path, case_id: str) -> Path:
    """The cache entry of ``case_id``: a salted hash of the id (salt kept in ``cache_dir``)."""
    from radnomo.io.names import folder_salt, hashed_name

    cache_dir = Path(cache_dir)
    return cache_dir / f"{hashed_name(case_id, folder_salt(cache_dir, _CACHE_SALT))}{_CACHE_SUFFIX}"


def _encode(value: Any, where: str = "result") -> Any:
    """``value`` as JSON data (see module docs); anything else is a ``TypeError``."""
    import numpy as np

    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            return value.item()
        raise TypeError(f"{where}: numpy scalar of type {value.dtype} cannot be cached")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"{where}: numpy array of dtype {value.dtype} cannot be cached (data only)")
        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buf.getvalue()).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict key {k!r} is not a string")
            if k == "__ndarray__":
                raise TypeError(f"{where}: the key '__ndarray__' is reserved")
            out[k] = _encode(v, f"{where}[{k!r}]")
        return out
    raise TypeError(f"{where}: a {type(value).__name__} cannot be cached (data only: dict, list, str, "
                    "number, bool, None, numpy array)")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__ndarray__"}:
            import numpy as np

            return np.load(io.BytesIO(base64.b64decode(value["__ndarray__"])), allow_pickle=False)
        return {k: _decode(v) for k, v in value.items()}
    return value


def load_cached(cache_dir: str | Path | None, case_id: str, key: str) -> tuple[bool, Any]:
    """Return ``(True, result)`` when ``cache_dir`` holds ``case_id``'s result under ``key``.

    The header line (format, case id, key) is checked before the result is parsed; an
    entry that does not match, or is not the data format, is ignored (recomputed).
    """
    if cache_dir is None:
        return False, None
    f = cache_file(cache_dir, case_id)
    if not f.exists():
        return False, None
    try:
        with open(f, "rb") as fh:
            header = json.loads(fh.readline(65536).decode("utf-8"))
            if (not isinstance(header, dict) or header.get("format") != _CACHE_FORMAT
                    or header.get("key") != key or header.get("case_id") != case_id):
                return False, None
            result = _decode(json.loads(fh.read().decode("utf-8")))
    except (OSError, ValueError, TypeError, KeyError):  # a corrupt or foreign entry is recomputed
        return False, None
    return True, result


def store_cached(cache_dir: str | Path, case_id: str, key: str, result: Any) -> Path:
    """Write ``result`` for ``case_id`` under ``key`` atomically (data only; ``TypeError`` otherwise)."""
    body = json.dumps(_encode(result), allow_nan=True, separators=(",", ":"))
    header = json.dumps({"format": _CACHE_FORMAT, "case_id": case_id, "key": key})
    f = cache_file(cache_dir, case_id)
    with atomic_path(f) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(header + "\n" + body + "\n")
    return f


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove temporary files (``.<name>.<random>.tmp<suffix>``) that a killed run left in ``folder``.

    Call it only while holding ``folder``'s lock (no other run can be writing there).
    """
    removed = []
    for p in Path(folder).glob(".*.tmp*"):
        if p.is_file():
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    return removed
