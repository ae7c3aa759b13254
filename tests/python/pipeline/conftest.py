"""Fixtures of the pipeline tests: a small synthetic study run through the statistics stages.

``synthetic_run`` writes a made-up cohort's upstream stage outputs (split, clinical table, radiomics
and deep Parquet feature tables; no images) and runs stats -> validate -> shap -> model -> report
once per session (~20 s on 2 cores). The data: 90 patients (63 train, 27 test), 40 % events, 30
radiomics and 40 deep features of which a few carry a latent signal, clinical ``age``, ``sex``
(categorical) and ``lnafp`` (related to the outcome).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

STUDY_DIR = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence"

#: Settings of the synthetic study: a fast LASSO, few calibration resamples, 3-fold CV x 2.
SYNTH_CONFIG = {"data": {"sequences": ["t2"], "clinical_variables": ["age", "sex", "lnafp"], "categorical": ["sex"]},
                "stats": {"B": 10, "nfolds": 5, "clinical_alpha": 0.2, "seed": 1},
                "validation": {"folds": 3, "repeats": 2, "workers": 1},
                "report": {"shap_patients": 1}}
N_TRAIN = 63


def make_study_data(n: int = 90, seed: int = 3) -> pd.DataFrame:
    """One row per patient: id, label, clinical variables, ``rad00..rad29``, ``dl00..dl39``."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    lat = np.where(y == 1, 0.9, -0.9) + rng.normal(0, 1.0, n)
    rad = rng.normal(size=(n, 30))
    rad[:, :3] += 0.7 * lat[:, None]
    deep = rng.normal(size=(n, 40))
    deep[:, :5] = deep[:, :5] * 0.7 + 0.6 * lat[:, None]
    d = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)], "label": y,
                      "age": np.round(rng.normal(60, 8, n)), "sex": rng.choice(["F", "M"], n),
                      "lnafp": np.round(1.0 * y + rng.normal(2, 1, n), 3)})
    return pd.concat([d, pd.DataFrame(rad, columns=[f"rad{j:02d}" for j in range(30)]),
                      pd.DataFrame(deep, columns=[f"dl{j:02d}" for j in range(40)])], axis=1)


def write_upstream(root: Path, d: pd.DataFrame, n_train: int = N_TRAIN, *, radiomics=None, deep=None,
                   clinical=None) -> None:
    """The split/radiomics/deep stages' outputs for ``d`` (no images), written where
    :class:`~radnomo.pipeline.layout.RunLayout` puts them.

    The split: ``d``'s ``split`` column when it has one, else the first ``n_train`` patients train,
    the rest test. Feature blocks: ``radiomics``/``deep`` column lists (default: the columns starting
    with ``rad``/``dl``); no deep block when it is empty. Clinical variables: ``clinical`` (default:
    whichever of ``age``, ``sex``, ``lnafp`` ``d`` has).
    """
    from radnomo.io.tables import write_feature_table
    from radnomo.pipeline.layout import RunLayout

    lay = RunLayout.at(root)
    radiomics = [c for c in d if c.startswith("rad")] if radiomics is None else list(radiomics)
    deep = [c for c in d if c.startswith("dl")] if deep is None else list(deep)
    clinical = [c for c in ("age", "sex", "lnafp") if c in d.columns] if clinical is None else list(clinical)
    lay.split.dir.mkdir(parents=True)
    split = d["split"] if "split" in d.columns else ["train"] * n_train + ["test"] * (len(d) - n_train)
    d[["patient_id", "label"]].assign(split=split).to_csv(lay.split.split_csv, index=False)
    d[["patient_id", *clinical]].to_csv(lay.split.clinical_csv, index=False)
    lay.radiomics.dir.mkdir()
    write_feature_table(d[["patient_id", *radiomics]], lay.radiomics.features)
    shutil.copyfile(STUDY_DIR / "radiomics.yaml", lay.radiomics.params_yaml)
    if not deep:
        return
    lay.deep.dir.mkdir()
    write_feature_table(d[["patient_id", *deep]], lay.deep.features)
    pd.DataFrame({"epoch": [1], "lr": [0.01], "loss": [0.7], "auc": [0.5], "sequence": ["t2"]}).to_csv(
        lay.deep.history_csv, index=False)
    pd.DataFrame(columns=["patient_id", "sequence", "slice_index", "probability", "cam_inside_roi", "png"]).to_csv(
        lay.deep.gradcam_csv, index=False)


def synth_config(**sections):
    """The synthetic study's configuration, with sections updated (``validation={"repeats": 3}``)."""
    from radnomo.pipeline.config import merge, parse_config

    return parse_config(merge(SYNTH_CONFIG, sections), base_dir=STUDY_DIR)


def run_stages(root: Path, cfg, names=("stats", "validate", "shap", "model", "report")):
    """Run the named stages (in order) on a run folder whose upstream outputs exist; returns the context."""
    from radnomo.pipeline.context import RunContext
    from radnomo.pipeline.stages import STAGE_BY_NAME

    ctx = RunContext.create(cfg, root, progress=False, log=lambda m: None)
    for n in names:
        ctx.outcomes[n] = STAGE_BY_NAME[n](ctx)
    return ctx


@dataclass
class SyntheticRun:
    root: Path
    data: pd.DataFrame
    ctx: object

    @property
    def train(self) -> pd.DataFrame:
        return self.data.iloc[:N_TRAIN].reset_index(drop=True)

    @property
    def test(self) -> pd.DataFrame:
        return self.data.iloc[N_TRAIN:].reset_index(drop=True)


def _r_or_skip():
    """Skip only where R, rpy2 or the R package is missing (a missing optional dependency); any
    other failure — an R package without validate_study, a broken session — fails the tests."""
    from radnomo.errors import MissingDependencyError
    from radnomo.stats.session import r_namespace

    try:
        ns = r_namespace()
    except MissingDependencyError as exc:
        pytest.skip(f"R / the radnomo R package not available: {exc}")
    ns.find("validate_study")  # LookupError (a failure, not a skip) for an outdated R package


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory) -> SyntheticRun:
    """stats -> validate -> shap -> model -> report on the synthetic study (once per session)."""
    _r_or_skip()
    root = tmp_path_factory.mktemp("synthetic_run")
    d = make_study_data()
    write_upstream(root, d)
    ctx = run_stages(root, synth_config())
    return SyntheticRun(root=root, data=d, ctx=ctx)
