"""Reading the study cohort (manifest + clinical table) and splitting it.

The split is stratified by outcome and seeded: in each outcome class
``round(n_class * test_fraction)`` patients, drawn by a seeded permutation,
go to the test set (the study's 7:3 split); or the manifest's ``split``
column is used as given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from radnomo.errors import InputError
from radnomo.io.manifest import Manifest, manifest_from_frame, read_manifest
from radnomo.io.tables import read_table


class PipelineWarning(UserWarning):
    """A problem the pipeline reported and went on with (listed in the report)."""


@dataclass(frozen=True)
class Cohort:
    """The study's patients.

    Attributes
    ----------
    manifest : image manifest restricted to the configured sequences and to
        patients with an outcome and a clinical row.
    clinical : clinical table (``patient_id`` + the clinical variables), same patients.
    labels : 0/1 outcome by ``patient_id``.
    excluded : ``patient_id, reason`` of patients left out.
    """

    manifest: Manifest
    clinical: pd.DataFrame
    labels: pd.Series
    excluded: pd.DataFrame


def load_cohort(manifest_path, clinical_path, *, outcome: str = "label", id: str = "patient_id",
                sequences=(), clinical_variables=(), require_outcome: bool = True) -> Cohort:
    """Read and cross-check the manifest and the clinical table.

    Patients without a clinical row or without an outcome are excluded with a
    :class:`PipelineWarning` naming them; a missing clinical column or sequence
    is an :class:`~radnomo.errors.InputError`.
    """
    if manifest_path is None:
        raise InputError("config data.manifest is not set (the cohort manifest file)")
    man = read_manifest(manifest_path)
    if sequences:
        missing = [s for s in sequences if s not in man.sequences]
        if missing:
            raise InputError(f"manifest {manifest_path}: sequence(s) {missing} from data.sequences are not in it; "
                             f"it has {list(man.sequences)}")
        drop = [f"{s}{suf}" for s in man.sequences if s not in sequences for suf in ("_image", "_mask")]
        man = manifest_from_frame(man.table.drop(columns=drop), root=man.root, path=man.path)
    if clinical_path is not None:
        clin = read_table(clinical_path)
        if id not in clin.columns:
            raise InputError(f"clinical table {clinical_path}: no id column {id!r}; columns are {list(clin.columns)[:20]}")
        clin = clin.rename(columns={id: "patient_id"}) if id != "patient_id" else clin
        clin["patient_id"] = clin["patient_id"].astype(str).str.strip()
        dup = clin["patient_id"][clin["patient_id"].duplicated()].unique().tolist()
        if dup:
            raise InputError(f"clinical table {clinical_path}: duplicated {id} {dup[:10]}")
    else:
        clin = pd.DataFrame({"patient_id": man.patients})
    missing_cols = [c for c in clinical_variables if c not in clin.columns]
    if missing_cols:
        raise InputError(f"clinical table {clinical_path}: column(s) {missing_cols} from data.clinical_variables "
                         f"are missing; it has {list(clin.columns)[:30]}")
    table = man.table.copy()
    if outcome in table.columns:
        y = table.set_index("patient_id")[outcome]
    elif outcome in clin.columns:
        y = clin.set_index("patient_id")[outcome].reindex(table["patient_id"])
    elif require_outcome:
        raise InputError(f"outcome column {outcome!r} is in neither the manifest {manifest_path} "
                         f"nor the clinical table {clinical_path}")
    else:
        y = pd.Series(np.nan, index=table["patient_id"])
    excluded = []
    no_clin = sorted(set(table["patient_id"]) - set(clin["patient_id"]))
    excluded += [{"patient_id": p, "reason": "no row in the clinical table"} for p in no_clin]
    if require_outcome:
        bad_y = y.index[y.isna() | ~y.isin([0, 1, 0.0, 1.0, True, False])].tolist()
        excluded += [{"patient_id": p, "reason": f"outcome {outcome!r} missing or not 0/1"} for p in bad_y
                     if p not in no_clin]
    na_clin = clin.loc[clin[list(clinical_variables)].isna().any(axis=1), "patient_id"].tolist() if clinical_variables else []
    excluded += [{"patient_id": p, "reason": "missing clinical value(s)"} for p in na_clin
                 if p in set(table["patient_id"]) and p not in {e["patient_id"] for e in excluded}]
    excl = pd.DataFrame(excluded, columns=["patient_id", "reason"])
    if len(excl):
        warnings.warn(f"{len(excl)} patient(s) excluded: " + "; ".join(
            f"{r.patient_id} ({r.reason})" for r in excl.head(10).itertuples()), PipelineWarning, stacklevel=2)
    keep = [p for p in table["patient_id"] if p not in set(excl["patient_id"])]
    if not keep:
        raise InputError(f"no patient of {manifest_path} is usable (all excluded: see the reasons above)")
    man = man.subset(keep)
    clin = clin.set_index("patient_id").loc[keep].reset_index()
    labels = y.loc[keep].astype(float)
    if require_outcome:
        labels = labels.astype(int)
    return Cohort(manifest=man, clinical=clin, labels=labels, excluded=excl)


def stratified_split(labels: pd.Series, test_fraction: float = 0.3, seed: int = 20250101) -> pd.Series:
    """Seeded random split stratified by outcome.

    Parameters
    ----------
    labels : 0/1 outcome indexed by patient id.
    test_fraction : share of each outcome class put in the test set
        (``round(n_class * test_fraction)`` patients per class).
    seed : seed of the permutations (numpy ``default_rng``).

    Returns
    -------
    Series ``"train"``/``"test"`` indexed like ``labels``.
    """
    if not 0 < test_fraction < 1:
        raise InputError(f"test_fraction must be in (0, 1), not {test_fraction!r}")
    rng = np.random.default_rng(seed)
    split = pd.Series("train", index=labels.index, dtype=object)
    for cls in sorted(pd.unique(labels)):
        ids = labels.index[labels == cls].to_numpy()
        n_test = int(round(len(ids) * test_fraction))
        if len(ids) >= 2 and n_test == len(ids):
            n_test -= 1
        chosen = rng.permutation(ids)[:n_test]
        split.loc[chosen] = "test"
    for part in ("train", "test"):
        sub = labels[split == part]
        if sub.nunique() < 2:
            raise InputError(f"the {part} set has only outcome {sorted(sub.unique())} after the split; "
                             f"the cohort is too small or too unbalanced ({labels.value_counts().to_dict()})")
    return split


def manifest_split(manifest: Manifest) -> pd.Series:
    """The manifest's own ``split`` column (``train``/``test``) by patient id."""
    if "split" not in manifest.table.columns:
        raise InputError(f"split.method is 'manifest' but the manifest {manifest.path} has no 'split' column")
    return manifest.table.set_index("patient_id")["split"].astype(str)
