"""Table 1 by split and by outcome (python/radnomo/pipeline/table1.py; R baseline_table through the bridge)."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from radnomo.errors import MissingDependencyError
from radnomo.pipeline.table1 import table1, table1_by_outcome, write_table1


@pytest.fixture(scope="module", autouse=True)
def r_session():
    """R with the radnomo R package; only its absence (a missing optional dependency) skips."""
    from radnomo.stats.session import r_namespace

    try:
        r_namespace()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))


def test_table1_training_column_first_and_by_outcome_per_set():
    """Table 1 lists the training set before the test set; by-outcome tables count each set's groups.

    Hand-made cohort: counts checked by hand (train: 3 events of 6, test: 1 of 4).
    """
    table = pd.DataFrame({"split": ["train"] * 6 + ["test"] * 4,
                          "label": [1, 1, 1, 0, 0, 0, 1, 0, 0, 0],
                          "age": [50.0, 61, 72, 45, 58, 66, 49, 70, 55, 63],
                          "sex": ["m", "f", "m", "m", "f", "m", "f", "m", "m", "f"]})
    cfg = SimpleNamespace(data=SimpleNamespace(clinical_variables=("age", "sex"), categorical=("sex",),
                                               outcome="recurrence"))
    t1 = table1(table, cfg)
    cols = list(t1.columns)
    assert cols.index("training set") < cols.index("test set")
    lab = t1.loc[(t1.variable == "label") & (t1.level.astype(str) == "1")].iloc[0]
    assert lab["training set"].startswith("3 (") and lab["test set"].startswith("1 (")
    tr = table1_by_outcome(table, cfg, "train")
    cols = list(tr.columns)
    assert cols.index("recurrence = 1") < cols.index("recurrence = 0")
    sex_m = tr.loc[(tr.variable == "sex") & (tr.level == "m")].iloc[0]
    assert sex_m["recurrence = 1"].startswith("2 (") and sex_m["recurrence = 0"].startswith("2 (")
    assert sex_m["overall"].startswith("4 (")
    te = table1_by_outcome(table, cfg, "test")
    sex_f = te.loc[(te.variable == "sex") & (te.level == "f")].iloc[0]
    assert sex_f["recurrence = 1"].startswith("1 (") and sex_f["recurrence = 0"].startswith("1 (")


def test_a_failing_table_is_reported_and_the_others_written(tmp_path):
    table = pd.DataFrame({"split": ["train"] * 4 + ["test"] * 4, "label": [1, 0, 1, 0, 1, 0, 1, 0],
                          "age": [50.0, 61, 72, 45, 58, 66, 49, 70]})
    cfg = SimpleNamespace(data=SimpleNamespace(clinical_variables=("age", "absent"), categorical=(),
                                               outcome="y"))
    names, msgs = write_table1(table, cfg, lambda n: tmp_path / f"{n}.csv")
    assert names == [] and len(msgs) == 3 and msgs[0].startswith("Table 1 failed:")
    cfg.data.clinical_variables = ("age",)
    names, msgs = write_table1(table, cfg, lambda n: tmp_path / f"{n}.csv")
    assert names == ["table1", "table1_train_by_outcome", "table1_test_by_outcome"] and msgs == []
    assert all((tmp_path / f"{n}.csv").exists() for n in names)
