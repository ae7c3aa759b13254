"""Rebuild the report of a finished run from its folder (``radnomo report RUN_DIR [--pdf]``)."""

from __future__ import annotations

from pathlib import Path

from radnomo.errors import InputError
from radnomo.pipeline.layout import RunLayout

#: The stages whose records the report reads, in run order.
STAGES = ("split", "preprocess", "radiomics", "deep", "stats", "validate", "shap", "model")


def run_layout(run_dir: str | Path) -> RunLayout:
    """The layout of ``run_dir``: a run folder (``config.effective.yaml``, ``stats/``), or a demo
    folder holding one as ``run/``. Raises :class:`InputError` naming what is missing."""
    root = Path(run_dir)
    for cand in (root, root / "run"):
        lay = RunLayout.at(cand)
        if lay.effective_config.is_file():
            if not (lay.stats.dir / "stage.json").is_file():
                raise InputError(f"{cand}: the run has no finished statistics stage (stats/stage.json); run "
                                 "`radnomo run` to the end first")
            return lay
    raise InputError(f"{root} is not a radnomo run folder (no config.effective.yaml in it or in {root / 'run'})")


def rebuild_report(run_dir: str | Path, *, pdf: bool = False) -> dict[str, Path]:
    """Build ``report/`` of a finished run again (same files as the report stage) and, with
    ``pdf``, print it to ``report/report.pdf`` (headless Chromium; a missing Chromium is a
    :class:`~radnomo.errors.MissingDependencyError`, checked before anything is written)."""
    from radnomo.pipeline.config import load_config
    from radnomo.pipeline.rundir import RunDirectory, StageOutcome
    from radnomo.report.build import build_report
    from radnomo.report.pdf import find_chromium, html_to_pdf

    lay = run_layout(run_dir)
    if pdf:
        find_chromium()
    cfg = load_config(lay.effective_config)
    records = RunDirectory(lay.root)
    stages = {}
    for name in STAGES:
        rec = records.read_record(name)
        if rec:
            stages[name] = StageOutcome(name, lay.stage_dir(name), rec["key"], True, rec.get("info", {}) or {})
    build_report(lay, cfg, stages)
    out = {"report": lay.report.html, "results": lay.report.results_json}
    if pdf:
        out["pdf"] = html_to_pdf(lay.report.html, lay.report.dir / "report.pdf")
    return out
