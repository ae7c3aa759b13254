"""JSON for results and run records: numpy scalars, paths and non-finite numbers handled once.

* :func:`json_default` — the ``default=`` of :func:`json.dumps` for what the standard encoder
  refuses (numpy integers, numpy floats that are not Python floats (``float32``; a non-finite one
  becomes ``null``), paths; anything else as its text). Python floats and ``float64`` (a ``float``
  subclass) never reach it: a NaN among them is written as ``NaN``, as :mod:`json` does;
* :func:`write_json` — sorted, indented JSON written atomically;
* :func:`records` — a DataFrame as JSON-safe records (NaN/inf -> ``None``, numpy scalars -> Python).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radnomo.io.atomic import write_text_atomic


def json_default(o: Any) -> Any:
    """JSON value of what :func:`json.dumps` cannot encode itself (non-finite floats -> ``None``)."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if not np.isfinite(o) else float(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, tuple):
        return list(o)
    return str(o)


def write_json(obj: Any, path: str | Path) -> Path:
    """``obj`` as indented JSON with sorted keys, written atomically (UTF-8)."""
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=json_default))


def records(df: pd.DataFrame) -> list[dict]:
    """JSON-safe records of ``df`` (NaN/inf -> ``None``; numpy integers, floats, bools -> Python's)."""
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, (np.integer,)):
                v = int(v)
            elif isinstance(v, (np.floating, float)):
                v = float(v) if math.isfinite(float(v)) else None
            elif isinstance(v, np.bool_):
                v = bool(v)
            clean[str(k)] = v
        out.append(clean)
    return out
