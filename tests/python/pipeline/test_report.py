"""Report building blocks (python/radnomo/report/build_*.py: the report stage's builder); the HTML
table parser the demo and validate-stage tests share."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from radnomo.io.jsonio import records
from radnomo.report.build_html import table_html
from radnomo.report.build_plots import roc_points


class TableParser(HTMLParser):
    """Cells of every <table id=...> in a page: {id: [[cell, ...], ...]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self._t, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._t = a.get("id")
            self.tables[self._t] = []
        elif tag == "tr" and self._t is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._t].append(self._row)
            self._row = None
        elif tag == "table":
            self._t = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def parse_tables(html_text: str) -> dict:
    p = TableParser()
    p.feed(html_text)
    return p.tables


def assert_table_matches(cells: list[list[str]], recs: list[dict], rel: float = 5e-4):
    """HTML cells (4 significant digits) agree with the JSON records."""
    header, rows = cells[0], cells[1:]
    assert len(rows) == min(len(recs), 200)
    for row, rec in zip(rows, recs):
        for col, cell in zip(header, row):
            v = rec[col]
            if v is None:
                assert cell == "NA"
            elif isinstance(v, bool) or isinstance(v, str):
                assert cell == str(v)
            elif isinstance(v, (int, float)):
                got = float(cell)
                assert math.isclose(got, float(v), rel_tol=rel, abs_tol=1e-12), (col, cell, v)


def test_html_table_and_records_agree():
    df = pd.DataFrame({"model": ["a", "b"], "auc": [0.123456789, np.nan], "n": [10, 20], "flag": [True, False]})
    tables = parse_tables(table_html(df, "x"))
    recs = records(df)
    assert recs[1]["auc"] is None and recs[0]["n"] == 10
    assert tables["t-x"][0] == ["model", "auc", "n", "flag"]
    assert tables["t-x"][1] == ["a", "0.1235", "10", "True"]
    assert_table_matches(tables["t-x"], recs)


def test_roc_points_match_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 80)
    s = np.round(rng.normal(size=80) + y, 1)  # ties on purpose
    fpr, tpr = roc_points(y, s)
    ref_fpr, ref_tpr, _ = metrics.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)
    # trapezoid area = AUC (Mann-Whitney), sklearn's roc_auc_score as reference
    assert np.trapezoid(tpr, fpr) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)


def test_delong_matrix_is_symmetric_per_set():
    from radnomo.report.build_data import delong_matrix

    d = pd.DataFrame({"set": ["train"] * 3, "model_1": ["a", "a", "b"], "model_2": ["b", "c", "c"],
                      "p": [0.1, 0.2, 0.3]})
    m = delong_matrix(d)["delong_matrix_train"].set_index("model")
    assert m.loc["a", "b"] == m.loc["b", "a"] == 0.1 and m.loc["c", "b"] == 0.3
    assert np.isnan(m.loc["a", "a"])


def test_set_counts_per_split():
    """n and events per set for the figure titles (hand-counted)."""
    from radnomo.report.build_plots import set_counts

    sc = pd.DataFrame({"set": ["train", "train", "test", "train", "test"], "outcome": [1, 0, 1, 1, 0],
                       "nomogram": [0.1, 0.2, 0.3, 0.4, 0.5]})
    assert set_counts(sc) == {"train": (3, 2), "test": (2, 1)}
