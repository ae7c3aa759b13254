"""Stage ``report``: HTML report, results.json and every table as CSV (:mod:`radnomo.report.build`)."""

from __future__ import annotations

from pathlib import Path

from radnomo.pipeline.context import RunContext, Stage, code_versions
from radnomo.report.build import build_report

#: The stages whose outputs the report reads (every stage before it).
UPSTREAM = ("split", "preprocess", "radiomics", "deep", "stats", "validate", "shap", "model")


def key(ctx: RunContext) -> dict:
    """Every upstream stage's key, the report settings, the report's layout version."""
    parts: dict = {s: ctx.key(s) for s in UPSTREAM}
    parts.update(code_versions())
    parts["report"] = ctx.config.section_dict("report")
    parts["labels"] = ctx.config.section_dict("labels")  # the names the page shows
    parts["layout"] = 3  # 2: internal-validation section (validate stage); 3: templated page, checklists
    return parts


def run(ctx: RunContext, d: Path) -> dict:
    stale = ctx.layout.report.dir / "report.pdf"  # printed from an earlier build: it would contradict the new page
    if stale.exists():
        stale.unlink()
        ctx.log("[report] the PDF of the previous report was removed (radnomo report RUN_DIR --pdf prints the new one)")
    return build_report(ctx.layout, ctx.config, ctx.outcomes)


STAGE = Stage(name="report", inputs=UPSTREAM, outputs=("report.html", "results.json"), key=key, run=run)
