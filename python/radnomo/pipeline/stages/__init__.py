"""The study's stages, one module each, in the order they run.

split -> preprocess -> radiomics -> deep (training, features, Grad-CAM) -> stats (R ``fit_study``:
selection, Rad/DL scores, clinical model, nomogram, evaluation; training split only) -> validate
(R ``validate_study``: the whole modelling process refitted in every resample of the training
split) -> shap -> model (the reusable artifact) -> report.

Each module defines ``STAGE`` (:class:`radnomo.pipeline.context.Stage`: name, inputs, outputs, cache
key, run function). A stage writes into its own folder of the run directory
(:class:`radnomo.pipeline.layout.RunLayout`) and is skipped on a rerun when its key (settings,
upstream keys, input hashes, code versions) is unchanged (:mod:`radnomo.pipeline.rundir`).
"""

from __future__ import annotations

from radnomo.pipeline.context import RunContext, Stage
from radnomo.pipeline.stages import deep, model, preprocess, radiomics, report, shap, split, stats, validate

#: The stages in the order they run.
STAGE_LIST: tuple[Stage, ...] = (split.STAGE, preprocess.STAGE, radiomics.STAGE, deep.STAGE, stats.STAGE,
                                 validate.STAGE, shap.STAGE, model.STAGE, report.STAGE)

#: Stage names in order (``radnomo run --until`` choices).
STAGES: tuple[str, ...] = tuple(s.name for s in STAGE_LIST)

#: Stage by name.
STAGE_BY_NAME: dict[str, Stage] = {s.name: s for s in STAGE_LIST}

__all__ = ["RunContext", "STAGES", "STAGE_BY_NAME", "STAGE_LIST", "Stage"]
