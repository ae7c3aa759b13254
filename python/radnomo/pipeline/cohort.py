"""Reading the study cohort (manifest + clinical table) and splitting it.

The split is stratified by outcome and seeded: in each outcome class
``round(n_class * test_fraction)`` patients, drawn by a seeded permutation,
go to the test set (the study's 7:3 split); or the manifest's ``split``
column is used as given.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

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


#: Policies for empty clinical cells in the model variables (config ``data.missing``).
MISSING_POLICIES = ("complete_cases", "error")


def _value(v) -> str:
    """A cell value for a message: numbers plainly (1, 0.5), anything else quoted."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    return repr(str(v))


def _shorten(items: list[str], n: int = 10) -> str:
    return ", ".join(items[:n]) + (f", ... ({len(items)} in all)" if len(items) > n else "")


def check_numeric_columns(clin: pd.DataFrame, columns, where: str) -> None:
    """Raise :class:`InputError` when a column that must be numeric holds values that are not numbers.

    Names the column, the patients and the offending values (empty cells are not offending:
    they are missing values).
    """
    problems = []
    for col in columns:
        values = clin[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        text = values.astype("string").str.strip()
        present = values.notna() & (text != "")
        parsed = pd.to_numeric(text.where(present), errors="coerce")
        bad = present & parsed.isna()
        if bad.any():
            cases = [f"{pid} ({val!r})" for pid, val in zip(clin.loc[bad, "patient_id"], values[bad])]
            problems.append(f"column {col!r}: {_shorten(cases)}")
    if problems:
        raise InputError(f"clinical table {where}: variables not declared categorical (data.categorical) must be "
                         "numeric, but these patients have values that are not numbers: " + "; ".join(problems)
                         + ". Fix the values, leave unknown values empty, or declare the variable categorical")


def _file_name(path) -> str:
    """A file's name for a message or the exclusion table (no machine path)."""
    return Path(str(path)).name if path is not None else "?"


def outcome_disagreements(manifest_y: pd.Series, clinical_y: pd.Series, outcome: str, manifest_path,
                          clinical_path) -> dict[str, str]:
    """Patients whose outcome differs between the manifest and the clinical table: ``{patient: reason}``,
    the reason naming both values and both files (patients with a missing value in either are not
    compared: a missing outcome is its own exclusion reason)."""
    common = manifest_y.index.intersection(clinical_y.index)
    a, b = manifest_y.reindex(common), clinical_y.reindex(common)
    both = a.notna() & b.notna()
    an = pd.to_numeric(a[both], errors="coerce")
    bn = pd.to_numeric(b[both], errors="coerce")
    differ = ~((an == bn) | (a[both].astype(str) == b[both].astype(str)))
    m, c = _file_name(manifest_path), _file_name(clinical_path)
    return {str(pid): (f"outcome {outcome!r} differs between manifest and clinical table: {_value(a[pid])} in "
                       f"the manifest {m}, {_value(b[pid])} in the clinical table {c}")
            for pid in differ.index[differ]}


def exclusion_summary(excluded: pd.DataFrame, n_total: int | None = None) -> str:
    """``"3 of 60 patient(s) excluded (2 no row in the clinical table, 1 ...): P1 (...), ..."``."""
    counts = excluded["reason"].map(lambda r: r.split(":")[0]).value_counts()
    of = f" of {n_total}" if n_total is not None else ""
    head = f"{len(excluded)}{of} patient(s) excluded (" + ", ".join(f"{n} {r}" for r, n in counts.items()) + ")"
    cases = [f"{r.patient_id} ({r.reason})" for r in excluded.itertuples()]
    return f"{head}: {_shorten(cases)}; listed in split/excluded.csv"


def _manifest(manifest_path, sequences) -> Manifest:
    """The manifest, with only the ``sequences`` asked for (all when empty); an absent one is an error."""
    if manifest_path is None:
        raise InputError("config data.manifest is not set (the cohort manifest file)")
    man = read_manifest(manifest_path)
    if sequences:
        absent = [s for s in sequences if s not in man.sequences]
        if absent:
            raise InputError(f"manifest {manifest_path}: sequence(s) {absent} from data.sequences are not in it; "
                             f"it has {list(man.sequences)}")
        drop = [f"{s}{suf}" for s in man.sequences if s not in sequences for suf in ("_image", "_mask")]
        man = manifest_from_frame(man.table.drop(columns=drop), root=man.root, path=man.path)
    return man


def _clinical(clinical_path, id: str, man: Manifest, clinical_variables, categorical) -> pd.DataFrame:
    """The clinical table keyed by ``patient_id`` (text), checked: id column, duplicates, variables, numbers."""
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
    if categorical is not None:
        check_numeric_columns(clin, [c for c in clinical_variables if c not in set(categorical)], clinical_path)
    return clin


def _outcomes(table: pd.DataFrame, clin: pd.DataFrame, outcome: str, require_outcome: bool, manifest_path,
              clinical_path) -> tuple[pd.Series, dict[str, str]]:
    """The outcome per patient, from the manifest or the clinical table, and ``{patient: reason}`` of the
    patients whose outcome differs between the two files (when both have it; those are excluded)."""
    if outcome in table.columns:
        y = table.set_index("patient_id")[outcome]
        differ = {}
        if outcome in clin.columns and clinical_path is not None:
            differ = outcome_disagreements(y, clin.set_index("patient_id")[outcome], outcome, manifest_path,
                                           clinical_path)
        return y, differ
    if outcome in clin.columns:
        return clin.set_index("patient_id")[outcome].reindex(table["patient_id"]), {}
    if require_outcome:
        raise InputError(f"outcome column {outcome!r} is in neither the manifest {manifest_path} "
                         f"nor the clinical table {clinical_path}")
    return pd.Series(np.nan, index=table["patient_id"]), {}


def _empty_clinical_cells(clin: pd.DataFrame, clinical_variables, in_cohort: set) -> dict[str, list[str]]:
    """``{patient: [variables with an empty cell]}`` of the cohort's patients."""
    empty_clin: dict[str, list[str]] = {}
    if clinical_variables:
        cells = clin[list(clinical_variables)]
        blank = cells.isna() | cells.apply(lambda c: c.astype("string").str.strip() == "").fillna(False)
        for i in np.flatnonzero(blank.any(axis=1).to_numpy()):
            pid = clin["patient_id"].iloc[i]
            if pid in in_cohort:
                empty_clin[pid] = [c for c in clinical_variables if bool(blank[c].iloc[i])]
    return empty_clin


def _exclusions(man: Manifest, table: pd.DataFrame, clin: pd.DataFrame, y: pd.Series, *, outcome: str,
                require_outcome: bool, clinical_variables, policy: str, clinical_path,
                outcome_differs: dict[str, str] | None = None) -> pd.DataFrame:
    """Patients left out, first reason each: no clinical row, an outcome that differs between manifest
    and clinical table (``outcome_differs``), a bad outcome, empty manifest or clinical cells."""
    excluded = []
    no_clin = sorted(set(table["patient_id"]) - set(clin["patient_id"]))
    excluded += [{"patient_id": p, "reason": "no row in the clinical table"} for p in no_clin]
    excluded += [{"patient_id": p, "reason": why} for p, why in (outcome_differs or {}).items() if p not in no_clin]
    if require_outcome:
        done = {e["patient_id"] for e in excluded}
        bad_y = y.index[y.isna() | ~y.isin([0, 1, 0.0, 1.0, True, False])].tolist()
        excluded += [{"patient_id": p, "reason": f"outcome {outcome!r} missing or not 0/1"} for p in bad_y
                     if p not in done]
    done = {e["patient_id"] for e in excluded}
    for p, cols in man.empty_cells().items():
        if p not in done:
            excluded.append({"patient_id": p, "reason": f"empty manifest cell(s): {', '.join(cols)}"})
    done = {e["patient_id"] for e in excluded}
    empty_clin = _empty_clinical_cells(clin, clinical_variables, set(table["patient_id"]))
    if empty_clin and policy == "error":
        cases = [f"{p} ({', '.join(c)})" for p, c in empty_clin.items()]
        raise InputError(f"clinical table {clinical_path}: {len(empty_clin)} patient(s) have empty cells in model "
                         f"variables (data.clinical_variables): {_shorten(cases)}; fill them, drop the variables, "
                         "or set data.missing: complete_cases to leave these patients out")
    excluded += [{"patient_id": p, "reason": f"empty clinical cell(s): {', '.join(c)}"} for p, c in empty_clin.items()
                 if p not in done]
    return pd.DataFrame(excluded, columns=["patient_id", "reason"])


def load_cohort(manifest_path, clinical_path, *, outcome: str = "label", id: str = "patient_id",
                sequences=(), clinical_variables=(), require_outcome: bool = True, categorical=None,
                missing: str = "complete_cases") -> Cohort:
    """Read and cross-check the manifest and the clinical table.

    Patients without a clinical row, without an outcome, with an outcome that differs
    between the manifest and the clinical table (both values and both files named),
    with an empty image/mask cell in the manifest or (``missing="complete_cases"``, the
    default) with an empty clinical cell in ``clinical_variables`` are excluded with a
    :class:`PipelineWarning` giving their count, names and reasons (the empty
    columns are named); the others go on. ``missing="error"`` makes an empty clinical
    cell an error naming the cells. A missing clinical column or sequence is an
    :class:`~radnomo.errors.InputError`; so are values that are not numbers in a
    clinical variable not listed in ``categorical`` (when ``categorical`` is given).
    """
    if missing not in MISSING_POLICIES:
        raise InputError(f"missing must be one of {list(MISSING_POLICIES)}, not {missing!r}")
    man = _manifest(manifest_path, sequences)
    clin = _clinical(clinical_path, id, man, clinical_variables, categorical)
    table = man.table.copy()
    y, differ = _outcomes(table, clin, outcome, require_outcome, manifest_path, clinical_path)
    excl = _exclusions(man, table, clin, y, outcome=outcome, require_outcome=require_outcome,
                       clinical_variables=clinical_variables, policy=missing, clinical_path=clinical_path,
                       outcome_differs=differ)
    if len(excl):
        warnings.warn(exclusion_summary(excl, len(table)), PipelineWarning, stacklevel=2)
    keep = [p for p in table["patient_id"] if p not in set(excl["patient_id"])]
    if not keep:
        raise InputError(f"no patient of {manifest_path} is usable: {exclusion_summary(excl, len(table))}")
    man = man.subset(keep)
    clin = clin.set_index("patient_id").loc[keep].reset_index()
    labels = y.loc[keep].astype(float)
    if require_outcome:
        labels = labels.astype(int)
    return Cohort(manifest=man, clinical=clin, labels=labels, excluded=excl)


def stratified_split(labels: pd.Series, test_fraction: float = 0.3, seed: int = 20250101,
                     excluded: pd.DataFrame | None = None) -> pd.Series:
    """Seeded random split stratified by outcome.

    Parameters
    ----------
    labels : 0/1 outcome indexed by patient id.
    test_fraction : share of each outcome class put in the test set
        (``round(n_class * test_fraction)`` patients per class).
    seed : seed of the permutations (numpy ``default_rng``).
    excluded : patients excluded before the split (``patient_id, reason``), named in
        the error when too few patients are left for a split.

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
            why = ""
            if excluded is not None and len(excluded):
                why = f"; {exclusion_summary(excluded)}"
            counts = {int(k): int(v) for k, v in labels.value_counts().sort_index().items()}
            raise InputError(f"the {part} set has only outcome {sorted(int(v) for v in sub.unique())} after the "
                             f"split; the cohort is too small or too unbalanced ({counts}){why}")
    return split


def manifest_split(manifest: Manifest) -> pd.Series:
    """The manifest's own ``split`` column (``train``/``test``) by patient id."""
    if "split" not in manifest.table.columns:
        raise InputError(f"split.method is 'manifest' but the manifest {manifest.path} has no 'split' column")
    return manifest.table.set_index("patient_id")["split"].astype(str)


def _set_counts(labels: pd.Series) -> tuple[int, int, int]:
    """``(patients, events, non-events)`` of 0/1 outcomes."""
    y = pd.to_numeric(labels, errors="coerce")
    return int(len(y)), int((y == 1).sum()), int((y == 0).sum())


#: R's bootstrap calibration of the nomogram needs more training patients than this (R/calibration.R).
MIN_BOOTSTRAP_TRAIN = 10


def check_fit_size(labels: pd.Series, split: pd.Series, *, nfolds: int, validation_folds: int | None = None,
                   n_excluded: int = 0) -> None:
    """Stop before any image is processed when the split cannot be fitted by the statistics stage.

    What R's ``fit_study`` needs (R/study.R, R/select.R): a training set with both outcome classes
    (at least one event and one non-event), at least ``nfolds`` patients (the LASSO's
    cross-validation folds, ``stats.nfolds``) and more than :data:`MIN_BOOTSTRAP_TRAIN` (the
    nomogram's bootstrap calibration, R/calibration.R), and a test set with at least one patient; with the
    internal validation by cross-validation (``validation_folds``), at least that many training
    patients too (R ``validate_study``). ``labels`` and ``split`` (``"train"``/``"test"``) are indexed
    by patient; ``n_excluded``: patients excluded before the split (named in the message). Raises one
    :class:`InputError` naming the counts of both sets and every unmet need.
    """
    part = split.reindex(labels.index)
    n_tr, ev_tr, ne_tr = _set_counts(labels[part == "train"])
    n_te, ev_te, ne_te = _set_counts(labels[part == "test"])
    need = []
    if ev_tr < 1 or ne_tr < 1:
        need.append("at least one event and one non-event in the training set")
    if n_tr < nfolds:
        need.append(f"at least {nfolds} training patients (stats.nfolds: the LASSO's cross-validation folds)")
    if n_tr <= MIN_BOOTSTRAP_TRAIN:
        need.append(f"more than {MIN_BOOTSTRAP_TRAIN} training patients (the nomogram's bootstrap calibration)")
    if validation_folds is not None and n_tr < validation_folds:
        need.append(f"at least {validation_folds} training patients (validation.folds)")
    if n_te < 1:
        need.append("at least one test patient")
    if need:
        excl = (f" ({n_excluded} patient(s) excluded before the split, listed in split/excluded.csv)"
                if n_excluded else "")
        raise InputError(f"the cohort is too small to fit the models{excl}: training set {n_tr} patient(s) ({ev_tr} "
                         f"event(s), {ne_tr} non-event(s)), test set {n_te} patient(s) ({ev_te} event(s), {ne_te} "
                         f"non-event(s)); the statistics need " + "; ".join(need) + ". Stopped before preprocessing "
                         "(add patients, change the split, or lower stats.nfolds / validation.folds)")
