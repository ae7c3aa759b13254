"""Stage ``split``: read the cohort, exclude unusable patients (reported), split 7:3 stratified."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from radnomo.io.atomic import file_sha256, write_csv
from radnomo.pipeline.cohort import PipelineWarning, load_cohort, manifest_split, stratified_split
from radnomo.pipeline.context import RunContext, Stage, code_versions


def key(ctx: RunContext) -> dict:
    """Data and split settings, the manifest's and clinical table's SHA-256."""
    cfg = ctx.config
    manifest, clinical = cfg.resolve(cfg.data.manifest), cfg.resolve(cfg.data.clinical)
    return {**code_versions(), "data": cfg.section_dict("data"), "split": cfg.section_dict("split"),
            "manifest_sha256": file_sha256(manifest) if manifest and manifest.exists() else None,
            "clinical_sha256": file_sha256(clinical) if clinical and clinical.exists() else None}


def run(ctx: RunContext, d: Path) -> dict:
    cfg = ctx.config
    out = ctx.layout.split
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PipelineWarning)
        cohort = load_cohort(cfg.resolve(cfg.data.manifest), cfg.resolve(cfg.data.clinical),
                             outcome=cfg.data.outcome, id=cfg.data.id, sequences=cfg.data.sequences,
                             clinical_variables=cfg.data.clinical_variables, categorical=cfg.data.categorical,
                             missing=cfg.data.missing)
    msgs = [str(w.message) for w in caught if issubclass(w.category, PipelineWarning)]
    if cfg.split.method == "manifest":
        split = manifest_split(cohort.manifest).loc[cohort.labels.index]
    else:
        split = stratified_split(cohort.labels, cfg.split.test_fraction, cfg.split.seed, cohort.excluded)
    table = pd.DataFrame({"patient_id": cohort.labels.index, "label": cohort.labels.to_numpy(),
                          "split": split.loc[cohort.labels.index].to_numpy()})
    write_csv(table, out.split_csv)
    write_csv(cohort.clinical, out.clinical_csv)
    man = cohort.manifest.table.copy()
    for s in cohort.manifest.sequences:
        man[f"{s}_image"] = [str(cohort.manifest.image_path(p, s)) for p in man["patient_id"]]
        man[f"{s}_mask"] = [str(cohort.manifest.mask_path(p, s)) for p in man["patient_id"]]
    man["label"] = table["label"].to_numpy()
    man["split"] = table["split"].to_numpy()
    write_csv(man, out.manifest_csv)
    write_csv(cohort.excluded, out.excluded_csv)
    counts = table.groupby("split")["label"].agg(["count", "sum"]).rename(columns={"count": "n", "sum": "events"})
    return {"n": len(table), "counts": counts.astype(int).to_dict(orient="index"),
            "sequences": list(cohort.manifest.sequences), "excluded": len(cohort.excluded), "warnings": msgs}


STAGE = Stage(name="split", inputs=(), outputs=("split.csv", "clinical.csv", "manifest.csv"), key=key, run=run,
              log_warnings=True)  # excluded patients: count and reasons on the console too
