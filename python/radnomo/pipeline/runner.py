"""Run a whole study: ``run_study(config, out_dir)`` (``radnomo run``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from radnomo.io.atomic import write_text_atomic
from radnomo.pipeline.cohort import check_fit_size
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.context import RunContext
from radnomo.pipeline.layout import RunLayout
from radnomo.pipeline.rundir import StageOutcome
from radnomo.pipeline.stages import STAGE_BY_NAME, STAGES


@dataclass(frozen=True)
class RunSummary:
    """Outcome of :func:`run_study`: the run folder, each stage's outcome, the report's paths."""

    out_dir: Path
    stages: dict[str, StageOutcome]

    @property
    def layout(self) -> RunLayout:
        return RunLayout.at(self.out_dir)

    @property
    def report(self) -> Path:
        return self.layout.report.html

    @property
    def results(self) -> Path:
        return self.layout.report.results_json

    @property
    def model(self) -> Path:
        return self.layout.model.dir


def active_stages(config: StudyConfig, until: str | None = None) -> list[str]:
    """Stages that run for this configuration (``deep`` and ``validate`` only when enabled), up to ``until``."""
    enabled = {"deep": config.deep.enabled, "validate": config.validation.enabled}
    stages = [s for s in STAGES if enabled.get(s, True)]
    if until is not None:
        if until not in stages:
            raise ValueError(f"unknown or disabled stage {until!r}; stages: {stages}")
        stages = stages[: stages.index(until) + 1]
    return stages


def check_split_fits(layout: RunLayout, config: StudyConfig) -> None:
    """Stop right after the split (new or reused), before any image is processed, when the split
    cannot be fitted by the statistics stage (:func:`radnomo.pipeline.cohort.check_fit_size`)."""
    split = pd.read_csv(layout.split.split_csv, dtype={"patient_id": str}).set_index("patient_id")
    ex = layout.split.excluded_csv
    n_excluded = len(pd.read_csv(ex)) if ex.exists() and ex.stat().st_size else 0
    v = config.validation
    check_fit_size(split["label"], split["split"], nfolds=config.stats.nfolds,
                   validation_folds=v.folds if v.enabled and v.method == "cv" else None, n_excluded=n_excluded)


def run_study(config: StudyConfig, out_dir: str | Path, *, workers: int | None = None, progress: bool = True,
              log: Callable[[str], None] = print, until: str | None = None,
              reference: StudyConfig | None = None, notes: list[str] | None = None,
              oracle: dict | None = None) -> RunSummary:
    """Run (or resume) the study into ``out_dir``.

    Parameters
    ----------
    config : checked configuration (:func:`radnomo.pipeline.config.load_config`).
    out_dir : run folder; one sub-folder per stage. A rerun skips every stage whose
        settings and inputs are unchanged.
    workers : worker processes for the per-patient stages (default: all cores).
    progress : progress bars.
    until : stop after this stage.
    reference : the configuration the report compares against (default: the
        study's ``pipelines/hcc_recurrence/config.yaml``); each difference is listed.
    notes : extra lines for the report's run record (e.g. how the demo cohort was made).
    oracle : for a synthetic cohort, its ground truth (``oracle_auc``, ``expected_oracle_auc``),
        shown next to the nomogram's test AUC.
    """
    out_dir = Path(out_dir)
    ctx = RunContext.create(config, out_dir, workers=workers, progress=progress, log=log)
    write_text_atomic(ctx.layout.effective_config, config.effective_yaml())
    meta = {"reference_config": reference.raw if reference is not None else None, "notes": list(notes or []),
            "oracle": oracle}
    write_text_atomic(ctx.layout.run_json, json.dumps(meta, indent=2, default=str))
    stages = active_stages(config, until)
    for name in stages:
        ctx.outcomes[name] = STAGE_BY_NAME[name](ctx)
        if name == "split" and "stats" in stages:
            check_split_fits(ctx.layout, config)
    return RunSummary(out_dir=out_dir, stages=dict(ctx.outcomes))
