"""The report in a real browser (headless Chromium through Selenium, networking off) and printed to PDF.

Skipped, with the reason, only where Chromium, chromedriver or selenium is not installed.
"""

from pathlib import Path

import pytest

from radnomo.errors import MissingDependencyError
from radnomo.report.pdf import html_to_pdf
from radnomo.report.templating import render_report

from . import browser_helpers as B

REASON = B.missing_browser()
needs_browser = pytest.mark.skipif(REASON is not None, reason=f"browser tests need Chromium: {REASON}")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The synthetic report written to disk (figures beside it and embedded)."""
    from .conftest import synthetic_context

    folder = tmp_path_factory.mktemp("report")
    ctx = synthetic_context(folder)
    html = folder / "report.html"
    html.write_text(render_report(ctx), encoding="utf-8")
    return html, ctx


@pytest.fixture(scope="module")
def driver():
    if REASON is not None:
        pytest.skip(f"browser tests need Chromium: {REASON}")
    d = B.make_driver()
    yield d
    d.quit()


@needs_browser
def test_report_in_the_browser(driver, page):
    html, ctx = page
    B.open_report(driver, html)
    assert B.console_messages(driver) == []
    assert B.image_count(driver) == 8
    assert B.broken_images(driver) == []
    assert B.unresolved_links(driver) == []
    # the declared tables are there with the numbers of the context
    for sec in ctx["sections"]:
        for b in sec["blocks"]:
            if b["type"] == "table":
                t = b["table"]
                shown = B.table_texts(driver, t["anchor"])
                assert len(shown) == len(t["rows"])
                for r, cells in zip(t["rows"], shown):
                    assert cells[: len(r["cells"])] == [c.strip() for c in r["cells"]], t["anchor"]
    headline = driver.find_element("id", "headline").text
    assert "0.569 (0.268–0.871)" in headline and "0.404 (0.225–0.584)" in headline


@needs_browser
@pytest.mark.parametrize("width", [1280, 390])
def test_no_horizontal_scrolling(driver, page, width):
    html, _ = page
    B.open_report(driver, html)
    scroll, view = B.page_width(driver, width)
    assert scroll <= view, (scroll, view, B.overflowing_elements(driver))


@needs_browser
def test_networking_is_off(driver, tmp_path):
    p = tmp_path / "net.html"
    p.write_text("<!DOCTYPE html><title>x</title><img alt='remote' src='http://example.invalid/x.png'>",
                 encoding="utf-8")
    B.open_report(driver, p)
    assert B.broken_images(driver) == ["remote"]
    B.console_messages(driver)


@needs_browser
def test_pdf(page, tmp_path):
    html, _ = page
    pdf = html_to_pdf(html, tmp_path / "report.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    n = B.pdf_page_count(pdf)
    assert 4 <= n <= 60
    text = B.pdf_text(pdf)
    if text is None:
        assert B.pdf_has_content_streams(pdf)
        pytest.skip("PDF text not checked: neither pypdf nor pdftotext (poppler-utils) is installed")
    flat = " ".join(text.split())
    assert "Test set AUC (95% CI)" in flat
    assert "0.569 (0.268–" in flat and "Reporting checklists" in flat
    assert "METRICS" in flat and "To be completed by the authors" in flat


def test_missing_chromium_is_named(tmp_path):
    p = tmp_path / "r.html"
    p.write_text("<!DOCTYPE html><title>x</title>", encoding="utf-8")
    with pytest.raises(MissingDependencyError, match="not found"):
        html_to_pdf(p, tmp_path / "r.pdf", chromium=tmp_path / "no-chromium-here")


def test_pdf_page_count_without_poppler(tmp_path, monkeypatch):
    """The fallback counter reads page objects (no /Pages)."""
    monkeypatch.setattr(B.shutil, "which", lambda name: None)
    p = tmp_path / "x.pdf"
    p.write_bytes(b"%PDF-1.4\n1 0 obj <</Type /Pages /Count 2>> endobj\n2 0 obj <</Type /Page>> endobj\n"
                  b"3 0 obj <</Type/Page /Parent 1 0 R>> endobj\n")
    assert B.pdf_page_count(p) == 2
