"""The run folder's layout: every stage's folder and files, named once.

A run folder holds one sub-folder per stage (``split/``, ``preprocess/``, ``radiomics/``, ``deep/``,
``stats/``, ``validate/``, ``shap/``, ``model/``, ``report/``) plus ``config.effective.yaml`` and
``run.json``. :class:`RunLayout` names them all; a stage, the model-artifact builder and the report
builder read another stage's outputs only through it (never by building paths from strings), so
where a file lives is decided here and nowhere else::

    layout = RunLayout.at("demo_out/run")
    layout.stats.study_rds          # demo_out/run/stats/study.rds
    layout.stats.table("metrics")   # demo_out/run/stats/tables/metrics.csv
    layout.stats.outputs(layout.stats.study_rds)  # ["study.rds"], relative to the stage folder
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Score kinds with SHAP inputs and outputs: Rad score, DL score.
SHAP_KINDS = ("rad", "dl")


@dataclass(frozen=True)
class _StageFolder:
    dir: Path

    def outputs(self, *paths: Path) -> list[str]:
        """``paths`` relative to the stage folder (POSIX), as a stage's recorded outputs."""
        return [Path(p).relative_to(self.dir).as_posix() for p in paths]


@dataclass(frozen=True)
class SplitFiles(_StageFolder):
    """``split/``: the analysed patients with their split, the clinical table, the manifest, exclusions."""

    @property
    def split_csv(self) -> Path:  # patient_id, label, split (train/test)
        return self.dir / "split.csv"

    @property
    def clinical_csv(self) -> Path:  # patient_id + the clinical variables
        return self.dir / "clinical.csv"

    @property
    def manifest_csv(self) -> Path:  # the manifest with absolute image/mask paths, label and split
        return self.dir / "manifest.csv"

    @property
    def excluded_csv(self) -> Path:  # patients left out, with the reason
        return self.dir / "excluded.csv"


@dataclass(frozen=True)
class PreprocessFiles(_StageFolder):
    """``preprocess/``: preprocessed images and their manifest."""

    @property
    def manifest_csv(self) -> Path:
        return self.dir / "manifest.csv"


@dataclass(frozen=True)
class RadiomicsFiles(_StageFolder):
    """``radiomics/``: the feature table and the parameters it was extracted with."""

    @property
    def features(self) -> Path:
        return self.dir / "radiomics.parquet"

    @property
    def params_yaml(self) -> Path:
        return self.dir / "params.yaml"


@dataclass(frozen=True)
class DeepFiles(_StageFolder):
    """``deep/``: fine-tuned models per sequence, the feature table, training history, Grad-CAM."""

    @property
    def features(self) -> Path:
        return self.dir / "deep.parquet"

    @property
    def history_csv(self) -> Path:
        return self.dir / "history.csv"

    @property
    def gradcam_csv(self) -> Path:  # one row per map; ``png`` relative to this folder
        return self.dir / "gradcam.csv"

    @property
    def models_dir(self) -> Path:
        return self.dir / "models"

    @property
    def gradcam_dir(self) -> Path:
        return self.dir / "gradcam"

    def model_weights(self) -> list[Path]:
        """The fine-tuned weights, ``models/<sequence>/model.pt``, sorted by sequence."""
        return sorted(self.models_dir.glob("*/model.pt"))


@dataclass(frozen=True)
class StatsFiles(_StageFolder):
    """``stats/``: the analysis tables, R's fitted study and its tables, the SHAP inputs."""

    @property
    def data_train(self) -> Path:
        return self.dir / "data_train.csv.gz"

    @property
    def data_test(self) -> Path:
        return self.dir / "data_test.csv.gz"

    @property
    def columns_json(self) -> Path:  # {"radiomics": [...], "deep": [...], "clinical": [...]}
        return self.dir / "columns.json"

    @property
    def fit_script(self) -> Path:  # fit_study.R: the same fit in R alone
        return self.dir / "fit_study.R"

    @property
    def study_rds(self) -> Path:
        return self.dir / "study.rds"

    @property
    def nomogram_png(self) -> Path:
        return self.dir / "nomogram.png"

    @property
    def tables_dir(self) -> Path:
        return self.dir / "tables"

    def table(self, name: str) -> Path:
        """``tables/<name>.csv`` (``metrics``, ``scores``, ``fits``, ``table1``, ...)."""
        return self.tables_dir / f"{name}.csv"

    def tables(self) -> list[Path]:
        """Every table written, sorted by name."""
        return sorted(self.tables_dir.glob("*.csv")) if self.tables_dir.exists() else []

    def shap_coefficients(self, kind: str) -> Path:
        """The ``kind`` (rad/dl) score's intercept and coefficients of its selected terms."""
        return self.dir / f"shap_{kind}_coefficients.csv"

    def shap_terms(self, kind: str, part: str) -> Path:
        """The ``kind`` score's selected terms of each ``part`` (train/test) patient."""
        return self.dir / f"shap_{kind}_{part}.csv"


@dataclass(frozen=True)
class ValidateFiles(_StageFolder):
    """``validate/``: the whole-pipeline internal validation's tables."""

    @property
    def script(self) -> Path:  # validate_study.R: the same call in R alone
        return self.dir / "validate_study.R"

    def table(self, name: str) -> Path:
        """``<name>.csv`` (``validation_performance``, ``validation_summary``, ``selection_stability``, ...)."""
        return self.dir / f"{name}.csv"


@dataclass(frozen=True)
class ShapFiles(_StageFolder):
    """``shap/``: SHAP values of the test patients and their plots."""

    def values(self, kind: str) -> Path:
        return self.dir / f"shap_{kind}_test.csv"

    def summary_png(self, kind: str) -> Path:
        return self.dir / f"shap_{kind}_summary.png"

    def patient_png(self, kind: str, safe_id: str) -> Path:
        return self.dir / f"shap_{kind}_patient_{safe_id}.png"

    def pngs(self) -> list[Path]:
        return sorted(self.dir.glob("*.png")) if self.dir.exists() else []


@dataclass(frozen=True)
class ModelFiles(_StageFolder):
    """``model/``: the reusable model artifact (see :mod:`radnomo.pipeline.model`)."""

    @property
    def model_json(self) -> Path:
        return self.dir / "model.json"

    @property
    def study_rds(self) -> Path:
        return self.dir / "study.rds"

    @property
    def config_yaml(self) -> Path:
        return self.dir / "config.yaml"

    @property
    def preprocess_json(self) -> Path:
        return self.dir / "preprocess.json"

    @property
    def radiomics_params(self) -> Path:
        return self.dir / "radiomics_params.yaml"

    @property
    def deep_dir(self) -> Path:
        return self.dir / "deep"

    def deep_weights(self, sequence: str) -> Path:
        return self.deep_dir / sequence / "model.pt"


@dataclass(frozen=True)
class ReportFiles(_StageFolder):
    """``report/``: the HTML page, results.json, every table and figure."""

    @property
    def html(self) -> Path:
        return self.dir / "report.html"

    @property
    def results_json(self) -> Path:
        return self.dir / "results.json"

    @property
    def tables_dir(self) -> Path:
        return self.dir / "tables"

    @property
    def figures_dir(self) -> Path:
        return self.dir / "figures"


@dataclass(frozen=True)
class RunLayout:
    """Every folder and file of a run folder (see the module docstring)."""

    root: Path
    split: SplitFiles
    preprocess: PreprocessFiles
    radiomics: RadiomicsFiles
    deep: DeepFiles
    stats: StatsFiles
    validate: ValidateFiles
    shap: ShapFiles
    model: ModelFiles
    report: ReportFiles

    @classmethod
    def at(cls, root: str | os.PathLike) -> RunLayout:
        """The layout of the run folder ``root`` (nothing is created)."""
        r = Path(root)
        return cls(root=r, split=SplitFiles(r / "split"), preprocess=PreprocessFiles(r / "preprocess"),
                   radiomics=RadiomicsFiles(r / "radiomics"), deep=DeepFiles(r / "deep"),
                   stats=StatsFiles(r / "stats"), validate=ValidateFiles(r / "validate"),
                   shap=ShapFiles(r / "shap"), model=ModelFiles(r / "model"), report=ReportFiles(r / "report"))

    @property
    def effective_config(self) -> Path:  # the effective configuration (this machine's paths)
        return self.root / "config.effective.yaml"

    @property
    def run_json(self) -> Path:  # reference configuration, notes and oracle of the run (report input)
        return self.root / "run.json"

    def stage_dir(self, name: str) -> Path:
        """The folder of stage ``name``."""
        folder = getattr(self, name, None)
        if not isinstance(folder, _StageFolder):
            raise ValueError(f"unknown stage {name!r}")
        return folder.dir
