"""Stage ``deep``: fine-tune DenseNet-169 per sequence on the training patients, extract features, Grad-CAM."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from radnomo.errors import MissingDependencyError
from radnomo.io.atomic import write_csv
from radnomo.io.manifest import read_manifest
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.context import RunContext, Stage, code_versions

GRADCAM_COLUMNS = ["patient_id", "sequence", "slice_index", "probability", "cam_inside_roi", "png"]


def deep_weights(cfg: StudyConfig) -> tuple[str, list[str]]:
    """The initial weights to train from, and warnings (ImageNet file absent -> fallback)."""
    w = str(cfg.deep.train.weights)
    if w != "imagenet":
        return w, []
    from radnomo.features.deep_model import imagenet_weights_path  # torch: loaded when needed

    if imagenet_weights_path().exists():
        return w, []
    if cfg.deep.weights_fallback == "none":
        return "none", [f"ImageNet weights for DenseNet-169 not found at {imagenet_weights_path()}; "
                        "the deep models were trained from random initialisation (deep.weights_fallback: none)"]
    raise MissingDependencyError(
        f"ImageNet weights for DenseNet-169 not found at {imagenet_weights_path()}; put them there, set "
        "deep.train.weights to a weights file, or set deep.weights_fallback: none to train from random weights")


def key(ctx: RunContext) -> dict:
    """The preprocessing's and split's keys, the deep settings, the initial weights."""
    return {**code_versions(), "preprocess": ctx.key("preprocess"), "split": ctx.key("split"),
            "deep": ctx.config.section_dict("deep"), "weights": deep_weights(ctx.config)[0]}


def gradcam_picks(test: pd.DataFrame, k: int) -> list[str]:
    """``k`` test patients, alternating outcome 1 and 0 (first ones by id)."""
    if k <= 0 or test.empty:
        return []
    pos = test.loc[test.label == 1, "patient_id"].tolist()
    neg = test.loc[test.label == 0, "patient_id"].tolist()
    out = []
    while len(out) < k and (pos or neg):
        for lst in (pos, neg):
            if lst and len(out) < k:
                out.append(lst.pop(0))
    return out


def _gradcam(ctx: RunContext, man, split: pd.DataFrame, patients: pd.Series) -> pd.DataFrame:
    """Grad-CAM maps of a few test patients per sequence (``gradcam.csv``'s rows, PNG paths relative)."""
    from radnomo.explain.gradcam import gradcam_for_patients
    from radnomo.features.deep import torch_threads

    cfg, out = ctx.config, ctx.layout.deep
    test = split.loc[(split.split == "test") & split.patient_id.isin(patients)]
    picks = gradcam_picks(test, cfg.deep.gradcam_patients)
    cams = []
    if picks:
        from radnomo.report.labels import Labels

        labels = Labels.from_config(cfg)  # the figure titles in the configured words
        with torch_threads(cfg.deep.threads):
            for s in man.sequences:
                cams.append(gradcam_for_patients(man, s, picks, out.gradcam_dir, model_dir=out.models_dir,
                                                 device=cfg.deep.device, progress=False,
                                                 sequence_label=labels.sequence(s), event_label=labels.event))
    cam = pd.concat(cams, ignore_index=True) if cams else pd.DataFrame(columns=GRADCAM_COLUMNS)
    if "png" in cam.columns:
        cam["png"] = [str(Path(p).relative_to(out.dir)) if isinstance(p, str) else p for p in cam["png"]]
    return cam


def run(ctx: RunContext, d: Path) -> dict:
    from radnomo.features.deep import DeepExtractConfig, extract_deep_features, train_deep_models

    cfg, out = ctx.config, ctx.layout.deep
    weights, msgs = deep_weights(cfg)
    man = read_manifest(ctx.layout.preprocess.manifest_csv)
    split = pd.read_csv(ctx.layout.split.split_csv, dtype={"patient_id": str})
    train_ids = [p for p in split.loc[split.split == "train", "patient_id"] if p in set(man.patients)]
    tcfg = dataclasses.replace(cfg.deep.train, weights=weights)
    results = train_deep_models(man, out.models_dir, config=tcfg, train_patients=train_ids,
                                device=cfg.deep.device, num_threads=cfg.deep.threads, progress=ctx.progress)
    history = pd.concat([r.history.assign(sequence=s) for s, r in results.items()], ignore_index=True)
    write_csv(history, out.history_csv)
    fails = [f"deep training skipped {p} ({s}): {e}" for s, r in results.items() for p, e in r.failures]
    ecfg = DeepExtractConfig(aggregation=cfg.deep.aggregation, batch_size=cfg.deep.extract_batch_size)
    res = extract_deep_features(man, out.features, model_dir=out.models_dir, config=ecfg,
                                device=cfg.deep.device, num_threads=cfg.deep.threads, progress=ctx.progress)
    fails += [f"deep features failed for {f['patient_id']} ({f['sequence']}): {f['error']}" for f in res.failures]
    write_csv(_gradcam(ctx, man, split, res.table.patient_id), out.gradcam_csv)
    # what determines the features on this machine (torch, threads, CPU instruction set, ...): run record
    return {"weights": weights, "n_patients": int(len(res.table)), "n_features": int(res.table.shape[1] - 1),
            "n_train_patients": len(train_ids), "compute": res.metadata.get("compute"), "warnings": msgs + fails}


# the deep engine's caches (checkpoints, per-slice features) are keyed by weights and slice settings,
# not by the images: dropped when this stage's inputs changed
STAGE = Stage(name="deep", inputs=("preprocess", "split"), outputs=("deep.parquet", "history.csv", "gradcam.csv"),
              key=key, run=run, clean_on_change=("models", ".deep.parquet.parts", "gradcam"),
              log_warnings=True)  # patients that failed: named on the console too
