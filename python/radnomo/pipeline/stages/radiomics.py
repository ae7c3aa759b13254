"""Stage ``radiomics``: radiomics features of every patient and sequence (``radiomics.parquet``)."""

from __future__ import annotations

from pathlib import Path

from radnomo.errors import InputError
from radnomo.features.params import RadiomicsParams, load_params
from radnomo.io.atomic import write_text_atomic
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.context import RunContext, Stage, code_versions


def radiomics_params(cfg: StudyConfig) -> RadiomicsParams:
    """The configured PyRadiomics parameters (file or inline mapping), checked."""
    p = cfg.radiomics.params
    if isinstance(p, dict):
        return RadiomicsParams.from_dict(p, source="config radiomics.params (inline)")
    return load_params(cfg.resolve(p))


def key(ctx: RunContext) -> dict:
    """The preprocessing's key, the parameters' SHA-256 and the engine asked for."""
    return {**code_versions(), "preprocess": ctx.key("preprocess"),
            "params_sha256": radiomics_params(ctx.config).sha256, "engine": ctx.config.radiomics.engine}


def run(ctx: RunContext, d: Path) -> dict:
    from radnomo.features.radiomics import extract_radiomics  # the engines: loaded when the stage runs

    params = radiomics_params(ctx.config)
    out = ctx.layout.radiomics
    write_text_atomic(out.params_yaml, params.text)
    res = extract_radiomics(ctx.layout.preprocess.manifest_csv, params, out.features, workers=ctx.workers,
                            progress=ctx.progress, engine=ctx.config.radiomics.engine,
                            device=ctx.config.radiomics.device)
    if res.table_path is None:
        raise InputError(f"radiomics extraction failed for every patient (see {res.errors_path})")
    msgs = [f"radiomics failed for {r.case_id}: {r.message}" for r in res.errors.itertuples()]
    return {"n_ok": res.n_ok, "n_failed": res.n_failed, "n_features": res.n_features,
            "n_features_per_sequence": params.expected_feature_count(), "warnings": msgs}


STAGE = Stage(name="radiomics", inputs=("preprocess",), outputs=("radiomics.parquet", "params.yaml"), key=key,
              run=run, log_warnings=True)  # patients that failed: named on the console too
