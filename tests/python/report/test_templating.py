"""radnomo.report.templating: the page renders from a synthetic context, self-contained and complete."""

import re

import pytest

from radnomo.report import checklists as C
from radnomo.report.templating import number_items, render_checklists, render_report


def test_renders_every_part(report_context):
    ctx, _ = report_context
    html = render_report(ctx)
    assert html.startswith("<!DOCTYPE html>")
    # escaped text, inline CSS, no external resource
    assert "&lt;synthetic&gt; &amp; demo" in html and "<synthetic>" not in html
    assert "<style>" in html and "@media print" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    # headline first: test AUC before the training AUC, both before the first section
    i_test, i_train, i_sec = (html.index(s) for s in ("0.569 (0.268–0.871)", "0.997 (0.990–1.000)", 'id="participants"'))
    assert i_test < i_train < i_sec
    assert "0.404 (0.225–0.584)" in html
    # numbered tables and figures, in page order
    assert [int(n) for n in re.findall(r"<strong>Table (\d+)\.</strong>", html)] == list(range(1, 11))
    assert [int(n) for n in re.findall(r"<strong>Figure (\d+)\.</strong>", html)] == list(range(1, 9))
    # every in-page link has a target; every checklist anchor is present
    ids = set(re.findall(r'id="([^"]+)"', html))
    links = set(re.findall(r'href="#([^"]+)"', html))
    assert links and links <= ids, links - ids
    assert set(C.ANCHORS.values()) <= ids, set(C.ANCHORS.values()) - ids
    assert len(re.findall(r'id="([^"]+)"', html)) == len(ids)  # ids unique
    # checklists page and run record as tables, no raw JSON blocks
    for name in ("TRIPOD+AI", "CLEAR", "METRICS"):
        assert f"<h3>{name}</h3>" in html
    assert "To be completed by the authors:" in html
    assert "<pre>" not in html
    # tables in scrolling containers, images scale down
    assert html.count('class="table-wrap"') >= 11 and "max-width: 100%" in html


def test_numbering_keeps_given_numbers():
    ctx = {"title": "t", "sections": [{"id": "s", "title": "S", "blocks": [
        {"type": "table", "table": {"anchor": "a", "title": "A", "columns": ["x"], "rows": [], "number": 2}},
        {"type": "table", "table": {"anchor": "b", "title": "B", "columns": ["x"], "rows": []}},
        {"type": "figures", "figures": [{"src": "f.png", "caption": "c"}, {"src": "g.png", "caption": "d"}]}]}]}
    out = number_items(ctx)
    blocks = out["sections"][0]["blocks"]
    assert [blocks[0]["table"]["number"], blocks[1]["table"]["number"]] == [2, 3]
    assert [f["number"] for f in blocks[2]["figures"]] == [1, 2]
    assert "number" not in ctx["sections"][0]["blocks"][1]["table"]  # the input is not modified
    html = render_report(ctx)
    assert 'id="figure-1"' in html and 'src="f.png"' in html


def test_minimal_context_and_errors():
    html = render_report({"title": "Only a title"})
    assert "<h1>Only a title</h1>" in html and 'href="#headline"' not in html
    with pytest.raises(ValueError, match="title"):
        render_report({})
    assert "<h3>CLEAR</h3>" in render_checklists(C.checklist_context(C.facts_from_run({})), title="Checklists")
