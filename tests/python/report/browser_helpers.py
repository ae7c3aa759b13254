"""Drive Debian's headless Chromium through Selenium (chromedriver) to check a report as a reader
sees it: opened from disk with networking off, console messages, images, in-page links, horizontal
scrolling at a given width; and read a printed PDF's page count and text.

Selenium never downloads a driver here: the Service is given Debian's ``chromedriver`` path, so
Selenium Manager is not used.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path

CHROMEDRIVER_NAMES = ("chromedriver",)


def missing_browser() -> str | None:
    """Why the browser tests cannot run here (``None`` when they can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -r requirements.txt)"
    from radnomo.errors import MissingDependencyError
    from radnomo.report.pdf import find_chromium

    try:
        find_chromium()
    except MissingDependencyError:
        return "Chromium is not installed (apt-get install chromium chromium-driver; make setup does it)"
    if not any(shutil.which(n) for n in CHROMEDRIVER_NAMES):
        return "chromedriver is not installed (apt-get install chromium-driver; make setup does it)"
    return None


def make_driver(width: int = 1280, height: int = 900):
    """A headless Chromium WebDriver with networking off (host names resolve to nothing, and the
    DevTools network emulation is offline), console logging on, and the viewport ``width`` x
    ``height`` CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from radnomo.report.pdf import HEADLESS_FLAGS, find_chromium

    opts = webdriver.ChromeOptions()
    opts.binary_location = find_chromium()
    for flag in HEADLESS_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which(CHROMEDRIVER_NAMES[0])), options=opts)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                "downloadThroughput": -1, "uploadThroughput": -1})
    set_viewport(driver, width, height)
    return driver


def set_viewport(driver, width: int, height: int = 900) -> None:
    """Emulate a viewport of ``width`` x ``height`` CSS pixels (a phone at 390)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def open_report(driver, html_path: str | Path) -> None:
    """Open a report from disk (``file://``) and wait until it and its images have loaded."""
    driver.get(Path(html_path).resolve().as_uri())
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all(Array.from(document.images).map(i => i.complete ? 1 : new Promise(r => {"
        "i.onload = r; i.onerror = r;}))).then(() => done(true));")


def console_messages(driver, level: str = "WARNING") -> list[str]:
    """Console messages at ``level`` or above since the last call (SEVERE are errors)."""
    order = {"ALL": 0, "DEBUG": 1, "INFO": 2, "WARNING": 3, "SEVERE": 4}
    return [e["message"] for e in driver.get_log("browser") if order.get(e["level"], 4) >= order[level]]


def broken_images(driver) -> list[str]:
    """Images that did not load (natural width 0), by their alt text or source."""
    return driver.execute_script(
        "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.alt || i.src.slice(0, 80));")


def image_count(driver) -> int:
    return driver.execute_script("return document.images.length;")


def unresolved_links(driver) -> list[str]:
    """In-page links (``href="#..."``) whose target id does not exist."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href').slice(1))"
        ".filter(id => !document.getElementById(decodeURIComponent(id)));")


def page_width(driver, width: int) -> tuple[int, int]:
    """At a viewport ``width`` px wide: (document scroll width, viewport width). The page scrolls
    horizontally when the first is larger."""
    set_viewport(driver, width)
    return tuple(driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];"))


def overflowing_elements(driver, limit: int = 5) -> list[str]:
    """Elements whose right edge passes the viewport (to say *what* overflows)."""
    return driver.execute_script(
        "const w = document.documentElement.clientWidth; const out = [];"
        "for (const e of document.body.querySelectorAll('*')) { const r = e.getBoundingClientRect();"
        "  if (r.right > w + 1 && !e.closest('.table-wrap')) out.push(e.tagName + (e.id ? '#' + e.id : '')"
        "  + (e.className ? '.' + e.className : '') + ' ' + Math.round(r.right)); }"
        f"return out.slice(0, {limit});")


def table_texts(driver, table_id: str) -> list[list[str]]:
    """The visible text of a table's body cells, row by row (the table inside element ``table_id``)."""
    return driver.execute_script(
        "const t = document.getElementById(arguments[0]).querySelector('table');"
        "return Array.from(t.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.innerText.trim()));",
        table_id)


# ------------------------------------------------------------------------------------------ PDF ---

def pdf_page_count(pdf: str | Path) -> int:
    """Number of pages: ``pdfinfo`` (poppler-utils) when installed, else the page objects counted in
    the file (Chromium writes uncompressed page dictionaries)."""
    if shutil.which("pdfinfo"):
        out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, encoding="utf-8",
                             errors="replace", check=True).stdout
        return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    data = Path(pdf).read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


def pdf_text(pdf: str | Path) -> str | None:
    """The PDF's text: ``pypdf`` if importable, else ``pdftotext`` (poppler-utils); ``None`` when
    neither is available (Chromium's fonts are subset with glyph ids, so no honest minimal parser)."""
    try:
        import pypdf  # type: ignore

        return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(str(pdf)).pages)
    except ImportError:
        pass
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-enc", "UTF-8", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, encoding="utf-8", errors="replace", check=True).stdout
    return None


def pdf_has_content_streams(pdf: str | Path) -> bool:
    """Whether the PDF's (Flate) content streams decode and draw something (a cheap sanity check
    that does not need poppler)."""
    data = Path(pdf).read_bytes()
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            if len(zlib.decompress(m.group(1))) > 100:
                return True
        except zlib.error:
            continue
    return False
