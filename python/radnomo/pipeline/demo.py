"""``radnomo demo``: generate the small synthetic cohort and run the study on it.

The demo's settings are the reference study's ``config.yaml`` with the lighter
ones of its ``demo.yaml`` merged in (both ship with the package:
``radnomo/studies/hcc_recurrence/``, see :mod:`radnomo.studies`);
the report lists every difference, and shows the nomogram's test AUC next to
the synthetic cohort's oracle AUC (the AUC of the true risk).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from radnomo.pipeline.config import apply_overrides, load_config, merge, parse_config, read_yaml
from radnomo.pipeline.runner import RunSummary, run_study
from radnomo.studies import study_file

DEMO_SEED = 20250101


def demo_config_path() -> Path:
    """The reference study's ``demo.yaml`` (package data)."""
    return study_file(file="demo.yaml")


def demo_config(manifest: Path, clinical: Path, overrides=()):
    """The demo's effective configuration (study config + demo.yaml + ``overrides``)."""
    study = study_file()
    raw = merge(read_yaml(study), read_yaml(demo_config_path()))
    raw.setdefault("data", {})
    raw["data"]["manifest"] = str(Path(manifest).resolve())
    raw["data"]["clinical"] = str(Path(clinical).resolve())
    return parse_config(apply_overrides(raw, overrides), base_dir=study.parent)


def run_demo(out_dir: str | Path = "demo_out", *, n: int = 60, seed: int = DEMO_SEED, workers: int | None = None,
             progress: bool = True, overrides=(), log: Callable[[str], None] = print) -> RunSummary:
    """Generate ``n`` synthetic patients (size ``small``) in ``out_dir/cohort`` and run the study into ``out_dir/run``.

    ``seed`` is the synthetic cohort's seed (patients, images, outcomes; ``radnomo demo --seed``);
    the split, deep-training and statistics seeds are the study configuration's. A rerun reuses
    the cohort (patients are regenerated when the seed changed) and every finished stage.
    """
    from radnomo.synth import cohort as synth_cohort

    out_dir = Path(out_dir)
    log(f"[demo] synthetic cohort: {n} patients -> {out_dir / 'cohort'}")
    paths = synth_cohort.generate_cohort(out_dir / "cohort", n=n, size="small", seed=seed, workers=workers, progress=progress)
    cfg = demo_config(paths.manifest, paths.clinical, overrides)
    truth = json.loads(Path(paths.ground_truth).read_text(encoding="utf-8"))
    oracle = {k: truth["outcome"][k] for k in ("oracle_auc", "expected_oracle_auc", "drivers", "model")
              if k in truth.get("outcome", {})}
    oracle["cohort_seed"] = truth.get("generator", {}).get("seed", seed)
    notes = [f"synthetic cohort: radnomo.synth.generate_cohort(n={n}, size='small', seed={seed})",
             "true drivers of the outcome: " + ", ".join(sorted(oracle.get("drivers", {})))]
    return run_study(cfg, out_dir / "run", workers=workers, progress=progress, log=log,
                     reference=load_config(study_file()), notes=notes, oracle=oracle)
