"""``radnomo train-deep``, ``radnomo extract deep`` and ``radnomo gradcam``: thin wrappers over
:mod:`radnomo.features.deep` and :mod:`radnomo.explain.gradcam`."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from radnomo.cli.guard import claim_output, command
from radnomo.cli.options import device_option, manifest_argument, seed_option, threads_option


def _weights(value: str) -> str:
    return value if value in ("imagenet", "none") else str(Path(value))


def _read_ids(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    ids = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    if not ids:
        raise click.BadParameter(f"{path} lists no patient ids", param_hint="--train-ids")
    return ids


def _slice_config(image_size, max_slices, margin):
    from radnomo.features.slices import SliceConfig

    return SliceConfig(image_size=image_size, max_slices_per_patient=max_slices, margin_fraction=margin)


def threads_or_workers(f):
    """``--threads`` (torch CPU threads) plus the hidden, deprecated ``--workers`` that meant the same here
    (everywhere else ``--workers`` counts processes); passes ``threads``."""

    @functools.wraps(f)
    def wrapper(*args, threads=None, workers=None, **kwargs):
        if workers is not None:
            if threads is not None:
                raise click.UsageError("give --threads only (--workers of the deep commands is its old name)")
            click.echo("warning: --workers of the deep commands is deprecated (it set torch threads); "
                       "use --threads", err=True)
            threads = workers
        return f(*args, threads=threads, **kwargs)

    wrapper = click.option("--workers", type=click.IntRange(min=1), default=None, hidden=True,
                           help="Deprecated: use --threads.")(wrapper)
    return threads_option(wrapper)


deep_manifest_argument = manifest_argument(deprecated_option=True)
weights_option = click.option("--weights", default="imagenet", show_default=True,
                              help="'imagenet' (torchvision weights API / $TORCH_HOME cache), 'none' (random "
                                   "initialisation) or a DenseNet-169 state_dict file.")
sequence_option = click.option("--sequence", "sequences", multiple=True,
                               help="Sequence(s) to use (repeatable; default: all in the manifest).")
image_size_option = click.option("--image-size", type=click.IntRange(min=32), default=224, show_default=True,
                                 help="Slice size fed to the network (study: 224).")
max_slices_option = click.option("--max-slices", type=click.IntRange(min=1), default=None,
                                 help="At most this many evenly spaced ROI slices per patient (default: all).")
margin_option = click.option("--margin", type=click.FloatRange(0, 2), default=0.1, show_default=True,
                             help="Context around the ROI bounding box, fraction of its side.")


@command("train-deep")
@deep_manifest_argument
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder; one sub-folder per sequence with model.pt, checkpoints, history.csv.")
@sequence_option
@click.option("--train-ids", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Text file with one training patient id per line (default: the manifest's split == 'train').")
@weights_option
@click.option("--epochs", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=2), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=0.01, show_default=True)
@click.option("--momentum", type=click.FloatRange(0, 1, max_open=True), default=0.9, show_default=True)
@click.option("--weight-decay", type=click.FloatRange(min=0), default=0.0, show_default=True)
@image_size_option
@max_slices_option
@margin_option
@click.option("--no-resume", is_flag=True, help="Start over instead of resuming from the last checkpoint.")
@click.option("--no-amp", is_flag=True, help="Disable mixed precision on the GPU.")
@device_option
@seed_option
@threads_or_workers
def train_deep(manifest, out_dir, sequences, train_ids, weights, epochs, batch_size, lr, momentum,
               weight_decay, image_size, max_slices, margin, no_resume, no_amp, device, seed, threads):
    """Fine-tune DenseNet-169 on the training patients' ROI slices of MANIFEST, one model per sequence.

    Defaults are the reference study's: ImageNet weights, SGD lr 0.01 momentum 0.9,
    cosine annealing over 50 epochs, batch 32, random flip and crop. Checkpoints are
    written every epoch; rerunning the command resumes.
    """
    from radnomo.features.deep import DeepTrainConfig, train_deep_models
    from radnomo.io.manifest import read_manifest

    with claim_output(out_dir, "dir"):
        cohort = read_manifest(manifest)
        cfg = DeepTrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum,
                              weight_decay=weight_decay, seed=seed, weights=_weights(weights),
                              slices=_slice_config(image_size, max_slices, margin), mixed_precision=not no_amp)
        results = train_deep_models(cohort, out_dir, sequences=sequences or None, config=cfg,
                                    train_patients=_read_ids(train_ids), device=device, resume=not no_resume,
                                    num_threads=threads)
    for seq, r in results.items():
        last = r.history.iloc[-1] if len(r.history) else None
        state = "already trained (skipped)" if r.skipped else "trained"
        msg = f"{seq}: {state}; {len(r.train_patients)} training patients; model {r.model_path}"
        if last is not None:
            msg += f"; final epoch loss {last['loss']:.4f}, patient AUC {last['auc']:.3f}"
        if cfg.weights == "none":
            msg += " [random initialisation: --weights none]"
        click.echo(msg)
        for pid, err in r.failures:
            click.echo(f"  skipped patient {pid}: {err}", err=True)


@command("deep")
@deep_manifest_argument
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Feature table to write (.parquet).")
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Output folder of `radnomo train-deep` (fine-tuned model per sequence).")
@weights_option
@sequence_option
@click.option("--aggregation", type=click.Choice(["mean", "max", "largest"]), default="mean", show_default=True,
              help="Patient-level aggregation of the slice features.")
@click.option("--image-size", type=click.IntRange(min=32), default=None,
              help="Slice size (default: the fine-tuned model's, else 224).")
@max_slices_option
@margin_option
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--no-resume", is_flag=True, help="Recompute cached slice features.")
@device_option
@threads_or_workers
def extract_deep(manifest, out, model_dir, weights, sequences, aggregation, image_size, max_slices, margin,
                 batch_size, no_resume, device, threads):
    """DenseNet-169 final-pooling features (1664 per slice) of the patients of MANIFEST, aggregated per
    patient, into a Parquet table with columns <sequence>_dl_<k>."""
    from radnomo.features.deep import DeepExtractConfig, extract_deep_features
    from radnomo.io.manifest import read_manifest

    if model_dir is not None and weights != "imagenet":
        raise click.UsageError("give either --model-dir (fine-tuned models) or --weights, not both")

    with claim_output(out, "file"):
        cohort = read_manifest(manifest)
        slices = None
        if image_size is not None or max_slices is not None:
            slices = _slice_config(image_size or 224, max_slices, margin)
        cfg = DeepExtractConfig(aggregation=aggregation, batch_size=batch_size, slices=slices)
        res = extract_deep_features(cohort, out, model_dir=model_dir, weights=_weights(weights),
                                    sequences=sequences or None, config=cfg, device=device,
                                    num_threads=threads, resume=not no_resume)
    src = {s: w["source"] + (" (fine-tuned)" if w["finetuned"] else "") for s, w in res.metadata["weights"].items()}
    click.echo(f"wrote {out}: {len(res.table)} patients x {res.table.shape[1] - 1} features; weights {src}")
    for f in res.failures:
        click.echo(f"  skipped patient {f['patient_id']}, sequence {f['sequence']}: {f['error']}", err=True)


@command("gradcam")
@deep_manifest_argument
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the PNG overlays and gradcam.csv.")
@click.option("--sequence", required=True, help="Sequence to explain.")
@click.option("--patient", "patients", multiple=True, required=True, help="Patient id (repeatable).")
@click.option("--slices", default="largest", show_default=True,
              help="'largest' (slice with most ROI), 'all', or comma-separated slice indices k.")
@click.option("--model-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Output folder of `radnomo train-deep`.")
@weights_option
@click.option("--layer", default="features.denseblock4", show_default=True, help="Target layer.")
@device_option
def gradcam(manifest, out_dir, sequence, patients, slices, model_dir, weights, layer, device):
    """Grad-CAM heatmaps (last dense block) over ROI slices of patients of MANIFEST, saved as PNG overlays
    with the ROI contour."""
    from radnomo.explain.gradcam import gradcam_for_patients
    from radnomo.io.atomic import atomic_path
    from radnomo.io.manifest import read_manifest

    if slices not in ("largest", "all"):
        try:
            slices = [int(s) for s in slices.split(",") if s.strip()]
        except ValueError:
            raise click.BadParameter("use 'largest', 'all' or comma-separated integers", param_hint="--slices")

    with claim_output(out_dir, "dir"):
        table = gradcam_for_patients(read_manifest(manifest), sequence, patients, out_dir, model_dir=model_dir,
                                     weights=_weights(weights), slices=slices, target_layer=layer, device=device)
        with atomic_path(out_dir / "gradcam.csv") as tmp:
            table.to_csv(tmp, index=False)
    ok = table[table["png"].notna()] if "png" in table else table.iloc[0:0]
    click.echo(f"wrote {len(ok)} overlay(s) to {out_dir}")
    if "error" in table:
        for _, r in table[table["error"].notna()].iterrows():
            click.echo(f"  skipped patient {r['patient_id']}: {r['error']}", err=True)
