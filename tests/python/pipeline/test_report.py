"""Report building blocks (python/radnomo/report/build_*.py: the report stage's builder); the HTML
table parser the demo, robustness and validate-stage tests share."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radnomo.report.build_plots import roc_points

REPO = Path(__file__).resolve().parents[3]


class TableParser(HTMLParser):
    """The journal tables of a page: ``{anchor: {"title", "columns", "rows"}}``, keyed by the id of
    each ``<div class="table-block">``; ``rows`` are the body rows' cell texts (first cell: the
    row label, stripped)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._id = None
        self._row = self._cell = None
        self._in_head = False
        self._title = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and "table-block" in (a.get("class") or "").split():
            self._id = a.get("id")
            self.tables[self._id] = {"title": "", "columns": [], "rows": []}
        elif self._id is None:
            return
        elif tag == "p" and a.get("class") == "table-title":
            self._title = ""
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if self._id is None:
            return
        t = self.tables[self._id]
        if tag == "p" and self._title is not None:
            t["title"], self._title = " ".join(self._title.split()), None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (t["columns"].extend if self._in_head else t["rows"].append)(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table":
            self._id = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._title is not None:
            self._title += data


def parse_tables(html_text: str) -> dict[str, dict]:
    p = TableParser()
    p.feed(html_text)
    return p.tables


def cell(tables: dict, anchor: str, row: str, column: str, *, after: str | None = None) -> str:
    """The text of the cell in row ``row`` (its label; the first after the row labelled ``after``)
    and column ``column`` (heading) of table ``anchor``."""
    t = tables[anchor]
    rows = t["rows"]
    start = 0 if after is None else next(i for i, r in enumerate(rows) if r[0] == after) + 1
    r = next(r for r in rows[start:] if r[0] == row)
    return r[t["columns"].index(column)]


def section(page: str, sid: str) -> str:
    """The HTML of the page's section ``sid`` (up to the next section)."""
    start = page.index(f'<section id="{sid}"')
    end = page.find("<section ", start + 1)
    return page[start:end if end > 0 else len(page)]


def test_table_parser_reads_a_rendered_journal_table():
    from radnomo.report.journal import JournalTable, Row
    from radnomo.report.templating import render_report

    t = JournalTable(anchor="table-x", title="X", columns=["Model", "AUC (95% CI)"],
                     rows=[Row(["Training set"], kind="section"), Row(["Rad score", "0.791 (0.65–0.93)"], indent=1)])
    page = render_report({"title": "t", "sections": [{"id": "s", "title": "S",
                                                       "blocks": [{"type": "table", "table": t.to_dict()}]}]})
    tables = parse_tables(page)
    assert tables["table-x"]["columns"] == ["Model", "AUC (95% CI)"]
    assert tables["table-x"]["title"] == "Table 1. X"
    assert cell(tables, "table-x", "Rad score", "AUC (95% CI)", after="Training set") == "0.791 (0.65–0.93)"


def test_declared_tables_and_figures():
    """Every declared table and figure has its own anchor; the checklists' table and figure anchors
    are all declared (so their links land); the first source names a table the run writes."""
    from radnomo.report.anchors import ANCHORS
    from radnomo.report.build_figures import FIGURES
    from radnomo.report.build_page import SECTIONS
    from radnomo.report.build_tables import TABLES

    anchors = [t.anchor for t in TABLES] + [f.anchor for f in FIGURES]
    assert len(anchors) == len(set(anchors))
    wanted = {v for k, v in ANCHORS.items() if v.startswith(("table-", "fig-"))}
    assert wanted <= set(anchors), wanted - set(anchors)
    sections = {s[0] for s in SECTIONS}
    assert {t.section for t in TABLES} | {f.section for f in FIGURES} <= sections
    assert all(t.title and t.caption and t.sources for t in TABLES)
    assert all(f.title and f.caption and f.sources for f in FIGURES)


def test_labels_from_the_study_config():
    from radnomo.pipeline.config import load_config
    from radnomo.report.labels import Labels

    cfg = load_config(REPO / "pipelines" / "hcc_recurrence" / "config.yaml")
    lab = Labels.from_config(cfg)
    assert lab.with_unit("lnafp") == "ln AFP (ln(ng/mL))" and lab.with_unit("sex") == "Sex"
    assert lab.group("label = 1") == "Recurrence ≤ 6 months" and lab.group("label = 0") == "No recurrence"
    assert lab.model("nomogram") == "DL-Rad-Clinical nomogram"
    assert lab.feature("pvp_original_glszm_LowGrayLevelZoneEmphasis") == "PVP original GLSZM: LowGrayLevelZoneEmphasis"


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


def test_report_command_refuses_a_folder_that_is_not_a_run(tmp_path):
    from click.testing import CliRunner

    from radnomo.cli import main

    r = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert r.exit_code == 1 and "is not a radnomo run folder" in r.output
