"""Stage ``preprocess``: registration to the reference phase, N4, 1 mm resampling (or pass-through)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from radnomo.errors import InputError
from radnomo.io.atomic import file_sha256
from radnomo.io.manifest import read_manifest
from radnomo.parallel import hash_key
from radnomo.pipeline.context import RunContext, Stage, code_versions


def _sha256_or_missing(path: Path) -> str:
    """The file's SHA-256, or a marker naming why it cannot be read: a missing or unreadable image
    is the preprocess stage's per-patient error (that patient is reported and left out, the others
    go on), not a reason to stop the run while computing the cache key."""
    try:
        return file_sha256(path)
    except OSError as exc:
        return f"unreadable:{type(exc).__name__}"


def image_hashes(manifest_csv: Path) -> str:
    """One hash of every image's and mask's SHA-256 of a manifest."""
    man = read_manifest(manifest_csv)
    h = {f"{p}/{s}": [_sha256_or_missing(man.image_path(p, s)), _sha256_or_missing(man.mask_path(p, s))]
         for p in man.patients for s in man.sequences}
    return hash_key(h)


def key(ctx: RunContext) -> dict:
    """The split's key, the preprocessing settings, the images' hashes."""
    return {**code_versions(), "split": ctx.key("split"), "preprocess": ctx.config.section_dict("preprocess"),
            "images": image_hashes(ctx.layout.split.manifest_csv)}


def run(ctx: RunContext, d: Path) -> dict:
    cfg = ctx.config
    src = ctx.layout.split.manifest_csv
    if not cfg.preprocess.enabled:
        shutil.copyfile(src, ctx.layout.preprocess.manifest_csv)
        return {"enabled": False, "n_ok": int(len(pd.read_csv(src))), "n_failed": 0, "warnings": []}
    from radnomo.preprocess.cohort import preprocess_cohort  # SimpleITK: loaded when the stage runs

    res = preprocess_cohort(src, d, cfg.preprocess.settings, workers=ctx.workers, progress=ctx.progress)
    msgs = [f"preprocess failed for patient {r.case_id}: {r.message}" for r in res.errors.itertuples()]
    if res.n_ok == 0:
        raise InputError(f"preprocessing failed for every patient (see {d / 'errors.csv'})")
    return {"enabled": True, "n_ok": res.n_ok, "n_failed": res.n_failed, "n_cached": res.n_cached, "warnings": msgs}


STAGE = Stage(name="preprocess", inputs=("split",), outputs=("manifest.csv",), key=key, run=run,
              log_warnings=True)  # patients that failed: named on the console too
