"""Feature tables: Parquet files with provenance in the Arrow schema metadata.

One row per patient, a ``patient_id`` column first, then numeric feature
columns. Metadata (engine, library versions, parameters, input hashes, ...) is
stored as JSON under the schema metadata key ``b"radnomo"`` so that any Arrow
reader (Python, R arrow) sees it, and :func:`read_feature_table` returns it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from radnomo.errors import InputError
from radnomo.io.atomic import atomic_path

METADATA_KEY = b"radnomo"


def write_feature_table(table: pd.DataFrame, path: str | Path, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``table`` to Parquet atomically with ``metadata`` (JSON-serialisable).

    The table must have a unique ``patient_id`` column.
    """
    if "patient_id" not in table.columns:
        raise InputError(f"feature table for {path} has no 'patient_id' column")
    if table["patient_id"].duplicated().any():
        dup = table.loc[table["patient_id"].duplicated(), "patient_id"].tolist()[:10]
        raise InputError(f"feature table for {path}: duplicated patient_id {dup}")
    table = table.copy()
    table["patient_id"] = table["patient_id"].astype(str)
    cols = ["patient_id"] + [c for c in table.columns if c != "patient_id"]
    arrow = pa.Table.from_pandas(table[cols], preserve_index=False)
    meta = dict(arrow.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(metadata or {}, sort_keys=True, default=str).encode("utf-8")
    arrow = arrow.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")
    return Path(path)


def read_feature_table(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a feature table; return ``(table, metadata)``."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"feature table not found: {path}")
    try:
        arrow = pq.read_table(path)
    except Exception as exc:
        raise InputError(f"feature table {path} could not be read as Parquet: {exc}") from exc
    raw = (arrow.schema.metadata or {}).get(METADATA_KEY)
    meta = json.loads(raw.decode("utf-8")) if raw else {}
    df = arrow.to_pandas()
    if "patient_id" in df.columns:
        df["patient_id"] = df["patient_id"].astype(str)
    return df, meta


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a plain CSV or Parquet table (clinical tables, manifests)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"table not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv", ".txt"):
        raise InputError(f"table {path}: unsupported format {path.suffix!r} (use .csv or .parquet)")
    try:
        df = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path, dtype={"patient_id": str})
    except pd.errors.EmptyDataError:
        raise InputError(f"table {path} is empty (no header, no rows)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise InputError(f"table {path} could not be read: {exc}") from None
    if "patient_id" in df.columns:
        df["patient_id"] = df["patient_id"].astype(str)
    return df
