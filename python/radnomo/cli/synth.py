"""``radnomo synth``: write a synthetic multi-phase liver MRI cohort."""

from __future__ import annotations

import click

from radnomo.cli.guard import claim_output, command
from radnomo.cli.options import progress_option, seed_option, workers_option


@command("synth")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created; a rerun skips finished patients).")
@click.option("--n", "n", type=click.IntRange(min=1), default=None,
              help="Number of patients [default: 60 for small, 224 for paper].")
@click.option("--size", type=click.Choice(["small", "paper", "tiny"]), default="small", show_default=True,
              help="small: miniature anatomy, ~64x64x24 voxels (demo/tests); paper: clinical "
                   "matrices ~256x256x40; tiny: unit tests only.")
@seed_option
@workers_option
@progress_option
def synth(out_dir, n, size, seed, workers, progress):
    """Write a synthetic four-phase liver MRI cohort with a known ground truth.

    Writes manifest.csv/.parquet, clinical.csv/.parquet, ground_truth.json and
    images/<patient>/<seq>.nii.gz + <seq>_mask.nii.gz for t2, ap, pvp, dp.
    """
    from radnomo.synth import generate_cohort, summary

    if seed < 0:
        raise click.BadParameter("must be a non-negative integer", param_hint="--seed")
    with claim_output(out_dir, "dir"):
        paths = generate_cohort(out_dir, n=n, size=size, seed=seed, workers=workers, progress=progress)
    click.echo(summary(paths))
