"""JSON and CSV writers for results and run records (python/radnomo/io/jsonio.py, io/atomic.write_csv)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from radnomo.io.atomic import write_csv
from radnomo.io.jsonio import json_default, records, write_json


def test_json_default_numpy_paths_tuples_and_non_finite():
    assert json_default(np.int64(3)) == 3 and isinstance(json_default(np.int64(3)), int)
    assert json_default(np.float32(0.5)) == 0.5 and json_default(np.float64(np.nan)) is None
    assert json_default(np.float64(np.inf)) is None
    assert json_default(Path("a/b")) == "a/b" and json_default((1, 2)) == [1, 2]
    assert json_default({1, 2}.__class__) == "<class 'set'>"  # anything else: its text


def test_write_json_is_sorted_indented_and_atomic(tmp_path):
    p = write_json({"b": np.int32(2), "a": [np.float32(1.5), np.float32(np.nan)], "p": Path("x")}, tmp_path / "o.json")
    text = p.read_text(encoding="utf-8")
    assert json.loads(text) == {"a": [1.5, None], "b": 2, "p": "x"}
    # float64 is a Python float: json writes its NaN itself (as before; results.json uses records())
    assert "NaN" in write_json({"x": np.float64(np.nan)}, tmp_path / "n.json").read_text(encoding="utf-8")
    assert text.index('"a"') < text.index('"b"') and "\n  " in text
    assert sorted(f.name for f in tmp_path.iterdir()) == ["n.json", "o.json"]  # no temporary left


def test_records_are_json_safe():
    df = pd.DataFrame({"i": np.array([1, 2], dtype=np.int64), "f": [0.25, np.nan], "g": [np.inf, -1.0],
                       "b": np.array([True, False]), "s": ["x", None]})
    recs = records(df)
    assert recs == [{"i": 1, "f": 0.25, "g": None, "b": True, "s": "x"},
                    {"i": 2, "f": None, "g": -1.0, "b": False, "s": None}]
    assert all(type(r["i"]) is int and type(r["b"]) is bool for r in recs)
    json.dumps(recs, allow_nan=False)  # strict JSON
    assert records(df.iloc[0:0]) == []


def test_write_csv(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    p = write_csv(df, tmp_path / "sub" / "t.csv")
    assert p == tmp_path / "sub" / "t.csv"
    pd.testing.assert_frame_equal(pd.read_csv(p), df)
    write_csv(df.set_index("a"), p, index=True)
    assert pd.read_csv(p).columns.tolist() == ["a", "b"]
    assert not math.isnan(pd.read_csv(p)["a"].iloc[0])
