"""Print the HTML report to PDF with headless Chromium (Debian's ``chromium`` package).

Chromium lays the page out with the report's print stylesheet (A4, page breaks before the
checklists and the run record, no figure or table row cut across pages). Networking is switched
off for the browser (every host name resolves to nothing), so a report that tried to load
anything from outside would print without it rather than reach out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from radnomo.errors import MissingDependencyError, RadnomoError

#: Executable names tried, in order, when no ``chromium=`` is given.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Flags of every headless run: no sandbox (root in containers), no GPU, no network, no first-run UI.
HEADLESS_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                  "--disable-background-networking", "--disable-sync", "--metrics-recording-only",
                  "--host-resolver-rules=MAP * ~NOTFOUND", "--allow-file-access-from-files")


def find_chromium(chromium: str | os.PathLike | None = None) -> str:
    """The Chromium executable: ``chromium`` if given (a path or a name on PATH), else the first of
    :data:`CHROMIUM_NAMES` on PATH. Raises :class:`MissingDependencyError` naming the package."""
    if chromium is not None:
        p = shutil.which(str(chromium))
        if p is None:
            raise MissingDependencyError(f"Chromium executable {str(chromium)!r} not found or not executable.")
        return p
    for name in CHROMIUM_NAMES:
        p = shutil.which(name)
        if p:
            return p
    raise MissingDependencyError(
        "Printing the report to PDF needs Chromium, which was not found (tried: " + ", ".join(CHROMIUM_NAMES)
        + "). On Debian: apt-get install chromium (make setup installs it).")


def html_to_pdf(html_path: str | os.PathLike, pdf_path: str | os.PathLike, *,
                chromium: str | os.PathLike | None = None, timeout: float = 180.0) -> Path:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium; returns the PDF's path.

    No header or footer lines are added (no file path or date in the margins). Raises
    :class:`MissingDependencyError` when Chromium is missing and :class:`RadnomoError` when it fails
    or writes no PDF (its last output lines in the message)."""
    html = Path(html_path).resolve()
    if not html.is_file():
        raise RadnomoError(f"html_to_pdf: no such file {html}")
    out = Path(pdf_path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    exe = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="radnomo-chromium-") as profile:
        tmp = out.with_name(f".{out.name}.partial")
        tmp.unlink(missing_ok=True)
        cmd = [exe, *HEADLESS_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               "--print-to-pdf-no-header", f"--print-to-pdf={tmp}", html.as_uri()]
        env = dict(os.environ, HOME=profile)  # Chromium writes caches under $HOME
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            tmp.unlink(missing_ok=True)
            raise RadnomoError(f"Chromium did not finish printing {html.name} within {timeout:g} s.") from exc
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = "\n".join(proc.stdout.decode("utf-8", "replace").strip().splitlines()[-8:])
            tmp.unlink(missing_ok=True)
            raise RadnomoError(f"Chromium could not print {html.name} to PDF (exit status {proc.returncode}):\n{tail}")
        os.replace(tmp, out)
    return out
