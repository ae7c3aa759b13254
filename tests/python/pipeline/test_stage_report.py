"""Stage ``report`` (``pipeline/stages/report.py``): what it does around the builder."""

from __future__ import annotations

from radnomo.pipeline.config import load_config, study_config_path
from radnomo.pipeline.context import RunContext
from radnomo.pipeline.stages import report as report_stage


def test_rebuilding_removes_the_pdf_of_the_previous_report(tmp_path, monkeypatch):
    """A report.pdf printed from an earlier build would contradict the rebuilt page (seen: the PDF
    kept the old clinical_alpha after a rerun with a new one)."""
    logs = []
    ctx = RunContext.create(load_config(study_config_path()), tmp_path, progress=False, log=logs.append)
    ctx.layout.report.dir.mkdir(parents=True)
    pdf = ctx.layout.report.dir / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4 old")
    monkeypatch.setattr(report_stage, "build_report", lambda layout, config, outcomes: {"built": True})
    assert report_stage.run(ctx, ctx.layout.report.dir) == {"built": True}
    assert not pdf.exists()
    assert any("PDF of the previous report was removed" in m for m in logs)
