"""``radnomo run``, ``radnomo demo``, ``radnomo predict``, ``radnomo evaluate`` and ``radnomo report``."""

from __future__ import annotations

from pathlib import Path

import click

from radnomo.cli.guard import claim_output, command
from radnomo.cli.options import manifest_argument, progress_option, until_option, workers_option

#: Default seed of the demo's synthetic cohort (radnomo.pipeline.demo.DEMO_SEED; kept here so
#: ``radnomo --help`` does not import the pipeline).
DEMO_SEED = 20250101

set_option = click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
                          help="Override a configuration setting (checked like the file); repeatable.")
map_option = click.option(
    "--map", "column_map", multiple=True, metavar="THEIRS=MODEL_NAME|FILE",
    help="Your clinical table's column THEIRS is the model's MODEL_NAME (e.g. --map Sex=sex --map LnAFP=lnafp); "
         "or a mapping file: YAML 'Sex: sex' lines, or CSV with two columns (your name, the model's name). "
         "Repeatable. Unknown names are errors.")


@command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder (one sub-folder per stage; a rerun redoes only what changed).")
@set_option
@workers_option
@until_option
@progress_option
def run(config, out_dir, overrides, workers, until, progress):
    """Run the study described by CONFIG (YAML) into --out: split, preprocessing, radiomics,
    deep features, statistics (R fit_study), whole-pipeline internal validation (R validate_study),
    SHAP, the model artifact and the report. The cohort is the configuration's data.manifest
    (and data.clinical); set them in the file or with --set data.manifest=FILE."""
    from radnomo.pipeline.config import load_config
    from radnomo.pipeline.runner import active_stages, run_study

    cfg = load_config(config, overrides)
    if until is not None:
        try:
            active_stages(cfg, until)
        except ValueError as exc:  # a stage this configuration disables
            raise click.BadParameter(str(exc), param_hint="--until") from exc
    with claim_output(out_dir, "dir"):
        res = run_study(cfg, out_dir, workers=workers, progress=progress, until=until, log=click.echo)
    if res.report.exists():
        click.echo(f"report: {res.report}\nresults: {res.results}\nmodel: {res.model}")


@command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo_out"),
              show_default=True, help="Folder for the synthetic cohort and the run.")
@click.option("--n", "n", type=click.IntRange(min=20), default=60, show_default=True, help="Number of patients.")
@click.option("--seed", type=click.IntRange(min=0), default=DEMO_SEED, show_default=True,
              help="Seed of the synthetic cohort (patients, images, outcomes). The split, deep-training and "
                   "statistics seeds stay the study configuration's (change them with --set).")
@set_option
@workers_option
@progress_option
def demo(out_dir, n, seed, overrides, workers, progress):
    """Generate the small synthetic cohort and run the reference study on it with lighter settings
    (listed in the report as deviations from the study's configuration; both ship with radnomo:
    radnomo/studies/hcc_recurrence/config.yaml and demo.yaml)."""
    from radnomo.pipeline.demo import run_demo

    with claim_output(out_dir, "dir"):
        res = run_demo(out_dir, n=n, seed=seed, workers=workers, progress=progress, overrides=overrides,
                       log=click.echo)
    click.echo(f"report: {res.report}\nresults: {res.results}\nmodel: {res.model}")


@command()
@click.argument("model", type=click.Path(exists=True, file_okay=False, path_type=Path))
@manifest_argument
@click.option("--clinical", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Clinical table of the new patients: only the variables the frozen model uses are needed "
                   "(model.json: clinical_variables_used).")
@map_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("scores.csv"), show_default=True,
              help="Scores CSV (preprocessed images and features go to <out stem>_work/).")
@workers_option
@progress_option
def predict(model, manifest, clinical, column_map, out, workers, progress):
    """Score the patients of MANIFEST with the frozen MODEL (a run's model/ folder)."""
    from radnomo.pipeline.model import predict_cohort, read_column_map

    mapping = read_column_map(column_map)
    with claim_output(out, "file"):
        scores = predict_cohort(model, manifest, clinical, out, column_map=mapping, workers=workers,
                                progress=progress, log=click.echo)
    click.echo(f"{len(scores)} patients scored -> {out}")


@command()
@click.argument("model", type=click.Path(exists=True, file_okay=False, path_type=Path))
@manifest_argument
@click.option("--clinical", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Clinical table of the cohort: only the variables the frozen model uses are needed "
                   "(and the outcome, when the manifest lacks it).")
@map_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("evaluation"),
              show_default=True, help="Output folder (scores.csv, metrics.csv, delong.csv, calibration_*.csv, "
                   "decision.csv, evaluation.json).")
@workers_option
@progress_option
def evaluate(model, manifest, clinical, column_map, out_dir, workers, progress):
    """Evaluate the frozen MODEL on a labelled external cohort (R evaluate_study): Table 3's metrics at
    the training cut-offs, DeLong tests, the nomogram's calibration (as external validation) and
    decision curves at the study's thresholds."""
    from radnomo.pipeline.model import evaluate_cohort, read_column_map

    mapping = read_column_map(column_map)
    with claim_output(out_dir, "dir"):
        res = evaluate_cohort(model, manifest, clinical, out_dir, column_map=mapping, workers=workers,
                              progress=progress, log=click.echo)
    if "metrics" in res:
        click.echo(res["metrics"].to_string(index=False))
    else:
        click.echo("not evaluated (see the warnings above); scores written")
    click.echo(f"-> {out_dir}")


@command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--pdf", is_flag=True, help="Also print the report to RUN_DIR/report/report.pdf with headless "
                                          "Chromium (Debian: apt-get install chromium).")
def report(run_dir, pdf):
    """(Re)build the report of the finished run in RUN_DIR (a `radnomo run --out` folder, or a
    `radnomo demo --out` folder): report.html, results.json, tables, figures and the pre-filled
    TRIPOD+AI, CLEAR and METRICS checklists, from the run's files; nothing is refitted."""
    from radnomo.report.rebuild import rebuild_report

    with claim_output(run_dir, "dir"):
        files = rebuild_report(run_dir, pdf=pdf)
    for k, p in files.items():
        click.echo(f"{k}: {p}")
