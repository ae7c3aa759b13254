"""``radnomo extract``: feature extraction commands (``radiomics``; ``deep`` from the deep engine)."""

from __future__ import annotations

from pathlib import Path

import click

from radnomo.cli import LazyGroup
from radnomo.cli.guard import claim_output
from radnomo.cli.options import executor_context, manifest_argument, progress_option, scheduler_option, workers_option

#: Sub-commands living in other modules, imported on first use.
EXTRACT_COMMANDS: dict[str, str] = {
    "deep": "radnomo.cli.deep:extract_deep",
}


@click.group("extract", cls=LazyGroup, lazy_commands=EXTRACT_COMMANDS)
def extract():
    """Extract features from a (preprocessed) cohort manifest into a Parquet feature table."""


@extract.command("radiomics")
@manifest_argument
@click.option("--params", "params_yaml", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="PyRadiomics parameter YAML (schema-checked); the reference study's is "
                   "pipelines/hcc_recurrence/radiomics.yaml (1197 features per sequence).")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Feature table to write (.parquet): one row per patient, columns "
                   "<sequence>_<image type>_<class>_<feature>; failures go to <out>.errors.csv.")
@click.option("--label", type=click.IntRange(min=1), default=None,
              help="Mask label of the ROI (default: setting.label of the YAML, else 1).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Per-case cache (default: <out>.cache next to the table); a rerun skips unchanged cases.")
@click.option("--engine", type=click.Choice(["radnomo", "pyradiomics"]), default=None,
              help="radnomo: PyRadiomics' feature values from radnomo's faster engine (falls back to "
                   "PyRadiomics, with a notice, for settings it does not implement); pyradiomics: PyRadiomics "
                   "itself. Default: radnomo (as radiomics.engine in a study configuration).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True,
              help="radnomo engine only: cuda runs the LoG/wavelet filters, texture matrices and formulas on the "
                   "GPU with torch (same values within 1e-6 relative); auto = cuda when a GPU is present.")
@workers_option
@scheduler_option
@progress_option
def radiomics(manifest, params_yaml, out_path, label, cache_dir, engine, device, workers, scheduler, progress):
    """Radiomics features (PyRadiomics' definitions) of every patient and sequence in MANIFEST.

    Cases run in parallel (--workers processes, or a Dask cluster with --scheduler); each finished case is
    cached at once, so an interrupted run resumes where it stopped. Exit status 1 if any patient failed.
    """
    from radnomo.features.radiomics import extract_radiomics

    if out_path.suffix.lower() != ".parquet":
        raise click.BadParameter(f"{out_path}: the feature table must be a .parquet file", param_hint="--out")
    with claim_output(out_path, "file", extra_dirs=[cache_dir]), executor_context(scheduler) as executor:
        result = extract_radiomics(manifest, params_yaml, out_path, workers=workers, executor=executor,
                                   progress=progress, label=label, cache_dir=cache_dir, engine=engine,
                                   device=device)
    if result.table_path is not None:
        click.echo(f"{result.n_ok} patient(s) x {result.n_features} features ({result.n_cached} from cache) "
                   f"-> {result.table_path}")
    if result.n_failed:
        click.echo(f"{result.n_failed} of {result.n_failed + result.n_ok} patient(s) failed; "
                   f"see {result.errors_path}", err=True)
        for _, row in result.errors.iterrows():
            click.echo(f"  {row['case_id']}: {row['message']}", err=True)
        raise SystemExit(1)
