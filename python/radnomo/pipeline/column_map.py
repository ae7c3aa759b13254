"""Column maps: an external cohort's clinical table whose column names differ from the model's.

``radnomo predict/evaluate --map THEIRS=MODEL_NAME`` (or a YAML/CSV mapping file) renames the
table's columns before the cohort is read; every name is checked (unknown, absent, colliding).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from radnomo.errors import InputError
from radnomo.io.tables import read_table


def read_column_map(specs) -> dict[str, str]:
    """Column mapping from ``--map`` values: ``THEIRS=MODEL_NAME`` pairs and/or mapping files.

    A file is YAML (a mapping ``their_name: model_name``) or CSV with two columns
    (first: the name in your table, second: the model's name; a header row).
    Returns ``{their name: model name}``; the same name mapped twice is an error.
    """
    out: dict[str, str] = {}

    def add(src, dst, where):
        src, dst = str(src).strip(), str(dst).strip()
        if not src or not dst:
            raise InputError(f"column mapping {where}: empty column name in {src!r} -> {dst!r}")
        if src in out and out[src] != dst:
            raise InputError(f"column mapping: {src!r} is mapped twice ({out[src]!r} and {dst!r})")
        out[src] = dst

    for spec in specs or ():
        spec = str(spec)
        p = Path(spec)
        if p.is_file():
            suffix = p.suffix.lower()
            if suffix in (".yaml", ".yml"):
                try:
                    data = yaml.safe_load(p.read_text(encoding="utf-8"))
                except yaml.YAMLError as exc:
                    raise InputError(f"column mapping file {p} is not valid YAML: {exc}") from exc
                if not isinstance(data, dict) or not data:
                    raise InputError(f"column mapping file {p} must hold a mapping 'their_name: model_name'")
                for k, v in data.items():
                    if isinstance(v, (dict, list)) or v is None:
                        raise InputError(f"column mapping file {p}: {k!r} must map to one column name, not {v!r}")
                    add(k, v, str(p))
            elif suffix == ".csv":
                t = pd.read_csv(p, dtype=str, keep_default_na=False)
                if t.shape[1] != 2 or not len(t):
                    raise InputError(f"column mapping file {p} must have two columns (your name, the model's name) "
                                     f"and a header row; it has columns {list(t.columns)}")
                for a, b in t.itertuples(index=False):
                    add(a, b, str(p))
            else:
                raise InputError(f"column mapping file {p}: use .yaml/.yml or .csv")
        elif "=" in spec:
            a, b = spec.split("=", 1)
            add(a, b, repr(spec))
        else:
            raise InputError(f"--map {spec!r}: expected THEIR_NAME=MODEL_NAME or an existing .yaml/.csv mapping file")
    return out


def check_column_map(mapping: dict[str, str], columns, allowed, where: str) -> None:
    """Raise :class:`InputError` naming unknown names: sources not in ``columns``, targets not in ``allowed``,
    and targets that would collide with a column already there."""
    columns = list(columns)
    absent = [s for s in mapping if s not in columns]
    if absent:
        raise InputError(f"column mapping: {absent} not found in {where}; its columns are {columns[:30]}")
    unknown = sorted({t for t in mapping.values() if t not in set(allowed)})
    if unknown:
        raise InputError(f"column mapping: {unknown} are not names the model reads; map to one of {sorted(allowed)}")
    targets = list(mapping.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        raise InputError(f"column mapping: several columns are mapped to {dup}")
    clash = sorted(t for t in targets if t in columns and t not in mapping)
    if clash:
        raise InputError(f"column mapping: {where} already has column(s) {clash}; a mapping onto them would "
                         "give two columns of that name (drop or rename the existing one)")


def mapped_clinical_table(clinical, mapping: dict[str, str], allowed, id_column: str, work: Path) -> Path:
    """The clinical table with its columns renamed by ``mapping`` (checked), written to ``work``.

    The copy keeps the values unchanged (Parquet); an identifier column mapped onto
    ``id_column`` is read as text (leading zeros kept).
    """
    clinical = Path(clinical)
    id_src = next((s for s, t in mapping.items() if t == id_column), None)
    if id_src is not None and clinical.suffix.lower() in (".csv", ".txt"):
        if not clinical.exists():
            raise InputError(f"table not found: {clinical}")
        t = pd.read_csv(clinical, dtype={id_src: str})
    else:
        t = read_table(clinical)
    check_column_map(mapping, t.columns, allowed, f"the clinical table {clinical}")
    t = t.rename(columns=mapping)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    out = work / f"{clinical.stem}.mapped.parquet"
    t.to_parquet(out, index=False)
    return out
