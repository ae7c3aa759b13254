"""``radnomo preprocess``: registration, N4, 1 mm resampling and normalisation for a cohort."""

from __future__ import annotations

from pathlib import Path

import click

from radnomo.cli.guard import claim_output, command
from radnomo.cli.options import (  # noqa: F401  (executor_context: also imported from here by older code)
    executor_context, manifest_argument, progress_option, scheduler_option, workers_option,
)


@command("preprocess")
@manifest_argument
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder: images/, masks/, qc/ PNGs, manifest.csv(.parquet), qc.csv, errors.csv.")
@click.option("--reference", default="pvp", show_default=True,
              help="Sequence every other phase is registered to (portal venous in the study); its mask is used "
                   "for all phases unless --mask-source own.")
@click.option("--registration", type=click.Choice(["rigid", "affine", "none"]), default="rigid",
              show_default=True, help="Registration model (Mattes mutual information; affine starts from rigid).")
@click.option("--mask-source", type=click.Choice(["reference", "own"]), default="reference", show_default=True,
              help="'reference': every phase uses the reference phase's mask; 'own': each phase's mask is carried "
                   "through its registration.")
@click.option("--n4/--no-n4", default=True, show_default=True, help="N4 bias-field correction.")
@click.option("--n4-shrink", type=click.IntRange(1, 16), default=4, show_default=True,
              help="N4 fits the bias field on the image shrunk by this factor (larger: faster).")
@click.option("--n4-iterations", default="50,50,30", show_default=True,
              help="N4 iterations per fitting level, comma-separated (one number per level).")
@click.option("--spacing", default="1,1,1", show_default=True,
              help="Output voxel size in mm, 'x,y,z' (B-spline for images, nearest neighbour for masks).")
@click.option("--crop-margin", "crop_margin", type=click.FloatRange(min=0), default=None,
              help="Cut the output grid to the ROI's bounding box plus this many mm per side (voxel values "
                   "unchanged, much faster). Default: whole field of view, as the study's whole-image "
                   "normalisation (PyRadiomics normalize: true) needs; use >= 8 x the largest LoG sigma (40 for sigma 5 mm).")
@click.option("--normalization", type=click.Choice(["pyradiomics", "zscore", "none"]), default="pyradiomics",
              show_default=True,
              help="'pyradiomics': leave intensities, the study normalises at extraction (normalize: true, "
                   "normalizeScale: 100); 'zscore': (I - mean)/SD over the whole image here; 'none'.")
@click.option("--label", type=click.IntRange(min=1), default=1, show_default=True, help="Mask label of the ROI.")
@click.option("--spacing-range", default="0.05,20", show_default=True,
              help="Plausible input voxel spacing 'min,max' in mm; an image outside is that patient's error.")
@click.option("--max-roi-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help="Warn when an ROI covers more than this share of its image (an all-ones mask?).")
@click.option("--hash-names", is_flag=True,
              help="Name per-patient folders/files by a salted hash of the patient id instead of the id "
                   "(salt kept in OUT/name_salt.txt; manifest.csv maps ids to files).")
@workers_option
@scheduler_option
@progress_option
def preprocess(manifest, out_dir, reference, registration, mask_source, n4, n4_shrink, n4_iterations, spacing,
               crop_margin, normalization, label, spacing_range, max_roi_fraction, hash_names, workers, scheduler,
               progress):
    """Preprocess every patient of MANIFEST (CSV or Parquet with <seq>_image/<seq>_mask columns).

    Steps: register each phase to --reference, N4 bias correction, resample to --spacing, normalise.
    Finished patients are skipped on a rerun; a failing patient is written to errors.csv and the others
    go on (exit status 1 if any failed).
    """
    from radnomo.preprocess import PreprocessConfig, preprocess_cohort

    try:
        its = tuple(int(x) for x in n4_iterations.split(","))
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {n4_iterations!r}",
                                 param_hint="--n4-iterations")
    try:
        sp = tuple(float(x) for x in spacing.split(","))
    except ValueError:
        raise click.BadParameter(f"expected 'x,y,z' in mm, got {spacing!r}", param_hint="--spacing")
    if len(sp) == 1:
        sp = sp * 3
    try:
        rng = tuple(float(x) for x in spacing_range.split(","))
    except ValueError:
        raise click.BadParameter(f"expected 'min,max' in mm, got {spacing_range!r}", param_hint="--spacing-range")
    config = PreprocessConfig(reference=reference, registration=registration, mask_source=mask_source,
                              n4=n4, n4_shrink_factor=n4_shrink, n4_iterations=its, spacing=sp,
                              crop_margin_mm=crop_margin, normalization=normalization, spacing_range_mm=rng,
                              max_roi_fraction=max_roi_fraction, hash_names=hash_names)
    with claim_output(out_dir, "dir"), executor_context(scheduler) as executor:
        result = preprocess_cohort(manifest, out_dir, config, workers=workers, executor=executor,
                                   progress=progress, label=label)
    click.echo(f"preprocessed {result.n_ok} patient(s) ({result.n_cached} from cache) -> {result.manifest_path}; "
               f"QC: {result.qc_path}")
    if len(result.qc) and "warning" in result.qc:
        for w in result.qc["warning"].dropna():
            click.echo(f"warning: {w}", err=True)
    if result.n_failed:
        click.echo(f"{result.n_failed} patient(s) failed; see {result.errors_path}", err=True)
        for _, row in result.errors.iterrows():
            click.echo(f"  {row['case_id']}: {row['message']}", err=True)
        raise SystemExit(1)
