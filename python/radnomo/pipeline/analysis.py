"""The statistics' input: one row per patient with outcome, split, clinical variables and features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radnomo.io.tables import read_feature_table
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.layout import RunLayout


@dataclass
class AnalysisTable:
    """The analysis table and what it holds.

    ``table``: ``patient_id``, ``label``, ``split``, the clinical variables, radiomics and deep
    feature columns; ``radiomics``/``deep``: the feature columns of each block; ``warnings``:
    patients and features left out, and why.
    """

    table: pd.DataFrame
    radiomics: list[str]
    deep: list[str]
    warnings: list[str]

    def part(self, split: str) -> pd.DataFrame:
        """The ``train`` or ``test`` rows, without the ``split`` column."""
        return self.table.loc[self.table.split == split].drop(columns="split").reset_index(drop=True)


def analysis_table(layout: RunLayout, cfg: StudyConfig) -> AnalysisTable:
    """Split, clinical table and feature tables of a run, joined (see :class:`AnalysisTable`).

    Patients without features are left out; features with a missing or non-finite value in any
    patient are dropped (both named in the warnings).
    """
    split = pd.read_csv(layout.split.split_csv, dtype={"patient_id": str})
    clin = pd.read_csv(layout.split.clinical_csv, dtype={"patient_id": str})
    clin = clin[["patient_id", *cfg.data.clinical_variables]]
    rad, _ = read_feature_table(layout.radiomics.features)
    table = split.merge(clin, on="patient_id", how="inner")
    msgs = []
    rad_cols = [c for c in rad.columns if c != "patient_id"]
    blocks = [rad]
    deep_cols: list[str] = []
    if cfg.deep.enabled:
        dl, _ = read_feature_table(layout.deep.features)
        deep_cols = [c for c in dl.columns if c != "patient_id"]
        blocks.append(dl)
    for b in blocks:
        lost = sorted(set(table.patient_id) - set(b.patient_id))
        if lost:
            msgs.append(f"{len(lost)} patient(s) without features left out of the statistics: {lost[:10]}")
        table = table.merge(b, on="patient_id", how="inner")
    feats = rad_cols + deep_cols
    x = table[feats].to_numpy(float)
    bad = [c for c, ok in zip(feats, np.isfinite(x).all(axis=0)) if not ok]
    if bad:
        msgs.append(f"{len(bad)} feature(s) with missing/non-finite values dropped: {bad[:10]}")
        table = table.drop(columns=bad)
        rad_cols = [c for c in rad_cols if c not in bad]
        deep_cols = [c for c in deep_cols if c not in bad]
    return AnalysisTable(table, rad_cols, deep_cols, msgs)


def drop_constant_on_train(train: pd.DataFrame, test: pd.DataFrame, radiomics: list[str], deep: list[str]):
    """Remove features constant on the training set (no information; they break z-scoring).

    Decided on the training set only. Returns ``(train, test, radiomics, deep, warnings)``.
    """
    const = [c for c in radiomics + deep if np.ptp(train[c].to_numpy(float)) == 0]
    if not const:
        return train, test, radiomics, deep, []
    drop = set(const)
    msg = f"{len(const)} feature(s) constant on the training set removed before selection (e.g. {const[:5]})"
    return (train.drop(columns=const), test.drop(columns=const), [c for c in radiomics if c not in drop],
            [c for c in deep if c not in drop], [msg])
