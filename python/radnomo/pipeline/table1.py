"""Table 1: baseline characteristics by split and by outcome (R ``baseline_table`` through the bridge)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from radnomo.io.atomic import write_csv
from radnomo.pipeline.config import StudyConfig


def _group_columns_in_order(df: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """``baseline_table``'s columns with the group columns in the given order (R sorts them alphabetically)."""
    rest = [c for c in df.columns if c not in groups]
    at = rest.index("overall") + 1 if "overall" in rest else min(2, len(rest))
    return df[[*rest[:at], *[g for g in groups if g in df.columns], *rest[at:]]]


def table1(table: pd.DataFrame, cfg: StudyConfig) -> pd.DataFrame:
    """Baseline characteristics, training vs test set, with p-values (R ``baseline_table``), all analysed patients.

    Columns: variable, level, overall, training set, test set, p_value, test.
    """
    from radnomo.stats import baseline_table  # R: started when a table is made

    data = table[["split", "label", *cfg.data.clinical_variables]].copy()
    # group labels that cannot collide with baseline_table's own columns (it has a 'test' column)
    data["split"] = data["split"].map({"train": "training set", "test": "test set"})
    cat = [c for c in cfg.data.categorical if c in cfg.data.clinical_variables] + ["label"]
    out = baseline_table(data, "split", [*cfg.data.clinical_variables, "label"], categorical=cat)
    return _group_columns_in_order(out, ["training set", "test set"])


def table1_by_outcome(table: pd.DataFrame, cfg: StudyConfig, split: str) -> pd.DataFrame:
    """Baseline characteristics of one set (``train``/``test``) by outcome, with p-values.

    Columns: variable, level, overall, ``outcome = 1``, ``outcome = 0`` (named
    with the configured outcome), p_value, test.
    """
    from radnomo.stats import baseline_table

    data = table.loc[table["split"] == split, ["label", *cfg.data.clinical_variables]].copy()
    pos, neg = f"{cfg.data.outcome} = 1", f"{cfg.data.outcome} = 0"
    data["label"] = data["label"].map({1: pos, 0: neg})
    cat = [c for c in cfg.data.categorical if c in cfg.data.clinical_variables]
    out = baseline_table(data, "label", list(cfg.data.clinical_variables), categorical=cat)
    return _group_columns_in_order(out, [pos, neg])


def write_table1(table: pd.DataFrame, cfg: StudyConfig, path_of: Callable[[str], Path]) -> tuple[list[str], list[str]]:
    """Write ``table1``, ``table1_train_by_outcome`` and ``table1_test_by_outcome`` to ``path_of(name)``.

    A table R cannot make is reported, not fatal (the rest of the study stands).
    Returns ``(names written, warnings)``.
    """
    jobs = [("table1", "Table 1", lambda: table1(table, cfg))]
    jobs += [(f"table1_{part}_by_outcome", f"Table 1 by outcome ({part} set)",
              lambda part=part: table1_by_outcome(table, cfg, part)) for part in ("train", "test")]
    names, msgs = [], []
    for name, what, make in jobs:
        try:
            write_csv(make(), path_of(name))
            names.append(name)
        except Exception as exc:  # noqa: BLE001 - reported, the rest of the study stands
            msgs.append(f"{what} failed: {exc}")
    return names, msgs
