"""Cohort manifests.

A manifest is a CSV or Parquet table with one row per patient:

* ``patient_id`` (required, unique, non-empty);
* ``label`` (optional; 0/1 outcome) and ``split`` (optional; ``train``/``test``);
* for each sequence ``<seq>``: a column ``<seq>_image`` and a column
  ``<seq>_mask``. Paths are resolved against the manifest's folder when they
  are relative. The study's sequences are ``t2``, ``ap``, ``pvp``, ``dp``, but
  any names work.

Other columns are kept untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from radnomo.errors import InputError

STUDY_SEQUENCES: tuple[str, ...] = ("t2", "ap", "pvp", "dp")
_IMAGE_SUFFIX = "_image"
_MASK_SUFFIX = "_mask"


@dataclass(frozen=True)
class Manifest:
    """A validated cohort manifest.

    Attributes
    ----------
    table : the manifest rows (``patient_id`` as string), paths as given.
    root : folder against which relative paths are resolved.
    sequences : sequence names, in column order.
    path : the file it was read from (``None`` when built in memory).
    """

    table: pd.DataFrame
    root: Path
    sequences: tuple[str, ...]
    path: Path | None = None

    @property
    def patients(self) -> list[str]:
        return self.table["patient_id"].tolist()

    @property
    def has_labels(self) -> bool:
        return "label" in self.table.columns

    def image_path(self, patient_id: str, sequence: str) -> Path:
        return self._resolve(patient_id, sequence, _IMAGE_SUFFIX)

    def mask_path(self, patient_id: str, sequence: str) -> Path:
        return self._resolve(patient_id, sequence, _MASK_SUFFIX)

    def row(self, patient_id: str) -> pd.Series:
        rows = self.table.loc[self.table["patient_id"] == str(patient_id)]
        if rows.empty:
            raise InputError(f"patient {patient_id!r} is not in the manifest {self._where()}")
        return rows.iloc[0]

    def _resolve(self, patient_id: str, sequence: str, suffix: str) -> Path:
        if sequence not in self.sequences:
            raise InputError(
                f"sequence {sequence!r} is not in the manifest {self._where()}; "
                f"it has {list(self.sequences)}"
            )
        value = self.row(patient_id)[f"{sequence}{suffix}"]
        if pd.isna(value) or str(value).strip() == "":
            raise InputError(
                f"patient {patient_id!r}, sequence {sequence!r}: column "
                f"'{sequence}{suffix}' is empty in the manifest {self._where()}"
            )
        p = Path(str(value))
        return p if p.is_absolute() else (self.root / p)

    def _where(self) -> str:
        return str(self.path) if self.path else "(in memory)"

    def subset(self, patient_ids) -> "Manifest":
        keep = self.table["patient_id"].isin([str(p) for p in patient_ids])
        return Manifest(self.table.loc[keep].reset_index(drop=True), self.root, self.sequences, self.path)

    def case_files(self, patient_id: str) -> dict[str, dict[str, str]]:
        """``{sequence: {"image": path, "mask": path}}`` of one patient (paths resolved, as strings).

        Raises :class:`InputError` naming the patient, sequence and column when a cell is empty.
        """
        return {seq: {"image": str(self.image_path(patient_id, seq)), "mask": str(self.mask_path(patient_id, seq))}
                for seq in self.sequences}

    def empty_cells(self) -> dict[str, list[str]]:
        """``{patient_id: [empty image/mask columns]}`` for patients with an empty path cell."""
        cols = [f"{s}{suf}" for s in self.sequences for suf in (_IMAGE_SUFFIX, _MASK_SUFFIX)]
        out: dict[str, list[str]] = {}
        for _, row in self.table.iterrows():
            empty = [c for c in cols if pd.isna(row[c]) or str(row[c]).strip() == ""]
            if empty:
                out[row["patient_id"]] = empty
        return out

    def input_digest(self, patient_id: str, sequence: str) -> str | None:
        """SHA-256 over the content of one patient/sequence's image and mask files.

        Used to key caches by what the files contain (not their names), so a
        re-preprocessed image never reuses stale results. ``None`` when a file
        is missing (the reader then reports the proper error).
        """
        import hashlib

        from radnomo.io.atomic import file_sha256

        paths = (self.image_path(patient_id, sequence), self.mask_path(patient_id, sequence))
        if not all(p.exists() for p in paths):
            return None
        h = hashlib.sha256()
        for p in paths:
            h.update(file_sha256(p).encode())
        return h.hexdigest()

    def check_files(self) -> list[str]:
        """Return one message per missing image/mask file (empty list: all present)."""
        problems = []
        for pid in self.patients:
            for seq in self.sequences:
                for kind, fn in (("image", self.image_path), ("mask", self.mask_path)):
                    try:
                        p = fn(pid, seq)
                    except InputError as exc:
                        problems.append(str(exc))
                        continue
                    if not p.exists():
                        problems.append(f"patient {pid!r}, sequence {seq!r}: {kind} file not found: {p}")
        return problems


def sequences_from_columns(columns) -> tuple[str, ...]:
    """Sequence names that have both ``<seq>_image`` and ``<seq>_mask`` columns."""
    seqs = []
    for c in columns:
        if c.endswith(_IMAGE_SUFFIX):
            s = c[: -len(_IMAGE_SUFFIX)]
            if f"{s}{_MASK_SUFFIX}" in columns and s not in seqs:
                seqs.append(s)
    return tuple(seqs)


def manifest_from_frame(table: pd.DataFrame, root: str | Path = ".", path: Path | None = None) -> Manifest:
    """Validate an in-memory manifest table and return a :class:`Manifest`."""
    where = str(path) if path else "(in memory)"
    if "patient_id" not in table.columns:
        raise InputError(f"manifest {where} has no 'patient_id' column; columns are {list(table.columns)}")
    if len(table) == 0:
        raise InputError(f"the manifest {where} has no patients (it has a header but no rows)")
    table = table.copy()
    if table["patient_id"].isna().any():
        raise InputError(f"manifest {where}: 'patient_id' is empty in row(s) "
                         f"{[int(i) + 1 for i in table.index[table['patient_id'].isna()]]}")
    table["patient_id"] = table["patient_id"].astype(str).str.strip()
    dup = table["patient_id"][table["patient_id"].duplicated()].unique().tolist()
    if dup:
        raise InputError(f"manifest {where}: duplicated patient_id {dup}")
    if (table["patient_id"] == "").any():
        raise InputError(f"manifest {where}: 'patient_id' is empty in some rows")
    orphans = [c for c in table.columns
               if (c.endswith(_IMAGE_SUFFIX) and f"{c[:-len(_IMAGE_SUFFIX)]}{_MASK_SUFFIX}" not in table.columns)
               or (c.endswith(_MASK_SUFFIX) and f"{c[:-len(_MASK_SUFFIX)]}{_IMAGE_SUFFIX}" not in table.columns)]
    if orphans:
        raise InputError(f"manifest {where}: column(s) {orphans} have no matching image/mask partner "
                         f"(each sequence needs '<seq>_image' and '<seq>_mask')")
    seqs = sequences_from_columns(list(table.columns))
    if not seqs:
        raise InputError(f"manifest {where} has no '<sequence>_image'/'<sequence>_mask' column pairs")
    if "label" in table.columns:
        bad = table.loc[~table["label"].isna() & ~table["label"].isin([0, 1, "0", "1", True, False]), "patient_id"]
        if len(bad):
            raise InputError(f"manifest {where}: 'label' must be 0 or 1; patient(s) {bad.tolist()[:10]} have other values")
        if not table["label"].isna().any():
            table["label"] = table["label"].astype(int)
    if "split" in table.columns:
        bad = table.loc[~table["split"].isin(["train", "test"]), "patient_id"]
        if len(bad):
            raise InputError(f"manifest {where}: 'split' must be 'train' or 'test'; patient(s) {bad.tolist()[:10]} have other values")
    return Manifest(table.reset_index(drop=True), Path(root), seqs, path)


def read_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest from CSV or Parquet.

    Raises :class:`~radnomo.errors.InputError` naming the file and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"manifest file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            table = pd.read_csv(path, dtype={"patient_id": str})
        else:
            raise InputError(f"manifest {path}: unsupported format {suffix!r} (use .csv or .parquet)")
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow parse errors
        raise InputError(f"manifest {path} could not be read: {exc}") from exc
    return manifest_from_frame(table, root=path.resolve().parent, path=path)
