"""The run folder's layout (python/radnomo/pipeline/layout.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from radnomo.pipeline.layout import RunLayout
from radnomo.pipeline.stages import STAGES


def test_names_of_every_stage_folder_and_file(tmp_path):
    lay = RunLayout.at(tmp_path)
    assert [lay.stage_dir(s) for s in STAGES] == [tmp_path / s for s in STAGES]
    assert lay.split.split_csv == tmp_path / "split" / "split.csv"
    assert lay.stats.table("metrics") == tmp_path / "stats" / "tables" / "metrics.csv"
    assert lay.stats.shap_terms("dl", "train") == tmp_path / "stats" / "shap_dl_train.csv"
    assert lay.model.deep_weights("t2") == tmp_path / "model" / "deep" / "t2" / "model.pt"
    assert lay.report.results_json == tmp_path / "report" / "results.json"
    assert lay.stats.outputs(lay.stats.study_rds, lay.stats.table("fits")) == ["study.rds", "tables/fits.csv"]
    assert not any(tmp_path.iterdir())  # naming creates nothing
    with pytest.raises(ValueError, match="unknown stage"):
        lay.stage_dir("root")


def test_stages_write_where_the_layout_says(synthetic_run):
    """Every output a stage recorded is a file the layout names (no stage builds its own paths)."""
    ctx = synthetic_run.ctx
    lay = ctx.layout
    named = {lay.stats.study_rds, lay.stats.data_train, lay.stats.data_test, lay.validate.script,
             lay.model.model_json, lay.model.study_rds, lay.model.config_yaml, lay.report.html,
             lay.report.results_json, *lay.stats.tables(), *lay.shap.pngs()}
    named |= {lay.validate.table(n) for n in ctx.outcomes["validate"].info["tables"]}
    for name, outcome in ctx.outcomes.items():
        for rel in (ctx.rundir.read_record(name) or {})["outputs"]:
            p = lay.stage_dir(name) / rel
            assert p.exists() and p in named, p
    for kind in ("rad", "dl"):
        assert lay.stats.shap_coefficients(kind).exists() and lay.shap.values(kind).exists()
    assert Path(lay.model.radiomics_params).exists() and lay.model.preprocess_json.exists()
