"""The demo's real report in a real browser (headless Chromium through Selenium, networking off) and
printed to PDF with ``radnomo report RUN_DIR --pdf``.

Uses the test session's demo run (``demo_run``, tests/python/conftest.py: run once, shared with
tests/python/pipeline/test_demo.py). Skipped, with the reason, only where Chromium, chromedriver or
selenium is not installed (or where the demo cannot run: no R / PyRadiomics / torch).
"""

from __future__ import annotations

import json

import pytest

from radnomo.report import tables as T
from radnomo.report.labels import DEFAULT_MODELS

from . import browser_helpers as B

pytestmark = pytest.mark.slow

REASON = B.missing_browser()
needs_browser = pytest.mark.skipif(REASON is not None, reason=f"browser tests need Chromium: {REASON}")


@pytest.fixture(scope="module")
def demo_report(demo_run):
    """(report.html, results.json) of the session's demo."""
    return demo_run.report, json.loads(demo_run.results.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def opened(demo_report):
    """A headless Chromium with the demo's report open (viewport 1280 px)."""
    if REASON is not None:
        pytest.skip(f"browser tests need Chromium: {REASON}")
    d = B.make_driver()
    B.open_report(d, demo_report[0])
    yield d
    d.quit()


def _rows(driver, anchor: str) -> list[list[str]]:
    return B.table_texts(driver, anchor)


def _cell(rows: list[list[str]], label: str, j: int, after: str | None = None) -> str:
    start = 0 if after is None else next(i for i, r in enumerate(rows) if r[0].startswith(after)) + 1
    return next(r for r in rows[start:] if r[0] == label)[j]


@needs_browser
def test_the_page_loads_cleanly(opened, demo_report):
    _, res = demo_report
    assert B.console_messages(opened) == []
    assert B.broken_images(opened) == []
    assert B.image_count(opened) == sum(len(v) for v in res["figures"].values())
    assert B.unresolved_links(opened) == []
    # the contents list every section, and each link lands on it
    toc = opened.execute_script("return Array.from(document.querySelectorAll('nav.toc a')).map(a => a.hash);")
    assert toc[:3] == ["#headline", "#warnings", "#participants"] and "#run-record" in toc


@needs_browser
def test_every_declared_table_is_there_with_the_results_numbers(opened, demo_report):
    _, res = demo_report
    for item in res["report_items"]:
        assert item["kind"] != "missing", item
        if item["kind"] == "table":
            assert _rows(opened, item["anchor"]), item["anchor"]
        else:
            shown = opened.execute_script("return Array.from(document.getElementById(arguments[0])"
                                          ".querySelectorAll('img')).filter(i => i.naturalWidth > 0).length;",
                                          item["anchor"])
            assert shown == len(item["panels"]), item["anchor"]
    t3 = _rows(opened, "table-3")
    for r in res["tables"]["metrics"]:
        after = {"train": "Training set", "test": "Test set"}[r["set"]]
        assert _cell(t3, DEFAULT_MODELS[r["model"]], 1, after) == T.fmt_ci(r["auc"], r["auc_lower"], r["auc_upper"])
    model = _rows(opened, "table-model")
    for r in res["tables"]["nomogram_coefficients"]:
        if r["term"] not in ("(Intercept)", "Intercept"):
            row = next(x for x in model if x[1].startswith(f"{r['estimate']:.3f} ("))
            assert row[2] == T.fmt_or_ci(r["odds_ratio"], r["or_lower"], r["or_upper"])
    head = opened.find_element("id", "headline").text
    nomo = {r["set"]: r for r in res["tables"]["metrics"] if r["model"] == "nomogram"}
    for s in ("test", "train"):
        assert T.auc_text(nomo[s]["auc"], nomo[s]["auc_lower"], nomo[s]["auc_upper"], s) in head


@needs_browser
@pytest.mark.parametrize("width", [1280, 390])
def test_no_horizontal_scrolling(opened, width):
    scroll, view = B.page_width(opened, width)
    assert scroll <= view, (scroll, view, B.overflowing_elements(opened))
    B.set_viewport(opened, 1280)


@needs_browser
def test_report_command_prints_the_pdf(demo_run, demo_report, tmp_path):
    from click.testing import CliRunner

    from radnomo.cli import main

    _, res = demo_report
    r = CliRunner().invoke(main, ["report", str(demo_run.out_dir), "--pdf"])
    assert r.exit_code == 0, r.output
    pdf = demo_run.out_dir / "report" / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert 8 <= B.pdf_page_count(pdf) <= 150
    again = json.loads(demo_run.results.read_text(encoding="utf-8"))
    assert again["tables"] == res["tables"]  # rebuilt from the run's files: the same numbers
    text = B.pdf_text(pdf)
    if text is None:
        assert B.pdf_has_content_streams(pdf)
        pytest.skip("PDF text not checked: neither pypdf nor pdftotext (poppler-utils) is installed")
    flat = " ".join(text.split())
    nomo = next(m for m in res["tables"]["metrics"] if m["model"] == "nomogram" and m["set"] == "test")
    assert T.fmt_ci(nomo["auc"], nomo["auc_lower"], nomo["auc_upper"]) in flat
    assert "Reporting checklists" in flat and "Run record" in flat
