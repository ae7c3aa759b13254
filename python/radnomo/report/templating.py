"""Render the report page from Jinja2 templates (``report/templates/``) and a plain context dict.

The page is self-contained: the CSS is inlined, figures are ``data:`` URIs or paths relative to the
HTML file, and nothing is loaded from the network.

Context schema (every key optional unless marked *required*)::

    title: str                                  # required: page title and <h1>
    subtitle: str                               # one line under the title
    generated: str                              # e.g. "2026-11-29 21:46 UTC, radnomo 0.1.0"
    headline: {                                 # the first thing on the page (id "headline")
        model_label: str,                       # "DL-Rad-Clinical nomogram"
        test: {text: str, n: int, events: int}, # text: "0.569 (0.268–0.871)"
        train: {text: str, n: int, events: int},
        corrected: {text: str, estimator: str} | None,
        note: str | None,                       # e.g. the synthetic cohort's oracle AUC
    }
    warnings: [str]                             # id "warnings"; the section is shown when given (even [])
    deviations: [{setting: str, study: str, this_run: str}]   # id "deviations" (inside the warnings section)
    sections: [                                 # the body, in order; each is a contents entry
        {id: str, title: str, intro: str | None,
         blocks: [
            {type: "table", table: JournalTable.to_dict()},        # id = table.anchor
            {type: "figure", figure: FIGURE},
            {type: "figures", figures: [FIGURE, ...],              # a responsive grid;
             id: str | None, caption: str | None},                 # id: the group's, caption under it
            {type: "text", text: str},
            {type: "note", text: str},                             # small print
            {type: "warning", text: str, id: str | None},
            {type: "list", items: [str]},
            {type: "keyvalue", id: str | None, rows: [[key, value], ...]},
         ]},
    ]
    checklists: [ ... ]                         # radnomo.report.checklists.checklist_context()
    run_record: [{id: str, title: str, rows: [[key, value], ...], note: str | None}]

    FIGURE = {id: str, number: int | None, src: str, alt: str, caption: str, width: int | None}
             # src: a data: URI or a path relative to report.html; width: max CSS px (default: 100%)

Tables and figures without a ``number`` are numbered in page order (Table 1, 2, ...; Figure 1,
2, ...) by :func:`number_items`. The contents sidebar lists the headline, warnings, every section,
the checklists and the run record.
"""

from __future__ import annotations

import base64
import copy
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).with_name("templates")


def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             trim_blocks=True, lstrip_blocks=True)
    return env


def data_uri(path: str | Path) -> str:
    """A file as a ``data:`` URI (PNG, SVG, JPEG), to embed a figure in the page."""
    p = Path(path)
    mime = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def number_items(context: Mapping[str, Any]) -> dict:
    """A copy of ``context`` whose tables and figures carry numbers in page order (existing numbers
    are kept and the count continues after them)."""
    ctx = copy.deepcopy(dict(context))
    t = f = 0
    for sec in ctx.get("sections") or []:
        for b in sec.get("blocks") or []:
            if b.get("type") == "table":
                tab = b["table"]
                t = tab["number"] if tab.get("number") else t + 1
                tab["number"] = t
            figs = [b["figure"]] if b.get("type") == "figure" else b.get("figures") or [] if b.get("type") == "figures" else []
            for fig in figs:
                f = fig["number"] if fig.get("number") else f + 1
                fig["number"] = f
    return ctx


def _with_defaults(context: Mapping[str, Any]) -> dict:
    if not context.get("title"):
        raise ValueError("render_report: the context needs a 'title'")
    ctx = number_items(context)
    for key, default in (("subtitle", None), ("generated", None), ("headline", None), ("warnings", None),
                         ("deviations", []), ("sections", []), ("checklists", []), ("run_record", [])):
        ctx.setdefault(key, default)
    if ctx["warnings"] is None and ctx["deviations"]:
        ctx["warnings"] = []
    for sec in ctx["sections"]:
        sec.setdefault("intro", None)
        sec.setdefault("blocks", [])
        for b in sec["blocks"]:
            for fig in ([b["figure"]] if b.get("type") == "figure" else b.get("figures") or []):
                fig.setdefault("width", None)
                fig.setdefault("alt", fig.get("caption", ""))
                fig.setdefault("id", f"figure-{fig['number']}")
            if b.get("type") == "table":
                b["table"].setdefault("caption", "")
                b["table"].setdefault("footnotes", [])
            if b.get("type") == "keyvalue":
                b.setdefault("id", None)
    for r in ctx["run_record"]:
        r.setdefault("note", None)
    h = ctx["headline"]
    if h:
        for k in ("test", "train", "corrected", "note"):
            h.setdefault(k, None)
    return ctx


def css() -> str:
    """The report's stylesheet (screen and print)."""
    return (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")


def render_report(context: Mapping[str, Any]) -> str:
    """The report page (HTML) for ``context`` (schema in this module's docstring)."""
    ctx = _with_defaults(context)
    return _env().get_template("report.html.j2").render(css=css(), **ctx)


def render_checklists(checklists: list[dict], *, title: str) -> str:
    """A stand-alone page of the checklists alone (same styles), e.g. for a supplement."""
    return render_report({"title": title, "checklists": checklists})
