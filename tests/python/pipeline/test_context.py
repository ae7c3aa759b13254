"""Stages, their context and their cache keys (python/radnomo/pipeline/context.py, versions.py, stages/)."""

from __future__ import annotations

import pytest

from conftest import make_study_data, run_stages, synth_config, write_upstream

from radnomo.pipeline.context import RunContext, code_versions
from radnomo.pipeline.stages import STAGE_BY_NAME, STAGE_LIST, STAGES

#: Stages that call R: their keys hold the R package's version.
R_STAGES = ("stats", "validate", "model")


def test_stage_list_order_and_declarations():
    assert STAGES == ("split", "preprocess", "radiomics", "deep", "stats", "validate", "shap", "model", "report")
    seen: set[str] = set()
    for st in STAGE_LIST:
        assert st.inputs and set(st.inputs) <= seen or st.name == "split", st.name  # inputs run before it
        assert callable(st.key) and callable(st.run) and st.outputs, st.name
        seen.add(st.name)
    assert STAGE_BY_NAME["report"].inputs == STAGES[:-1]


def test_keys_hold_code_versions_and_the_radiomics_engine(tmp_path, monkeypatch):
    import radnomo
    import radnomo.pipeline.context as context

    monkeypatch.setattr(context, "r_package_version", lambda: "1.2.3")
    ctx = RunContext.create(synth_config(), tmp_path, progress=False, log=lambda m: None)
    for name in ("radiomics", "deep", *R_STAGES, "shap", "report"):
        if name == "radiomics":
            parts = STAGE_BY_NAME[name].key(ctx)
            assert parts["engine"] == ctx.config.radiomics.engine
        elif name == "deep":
            continue  # its key asks for the ImageNet weights file (tested with the deep stage)
        else:
            parts = STAGE_BY_NAME[name].key(ctx)
        assert parts["radnomo"] == radnomo.__version__, name
        assert (parts.get("radnomo_r") == "1.2.3") == (name in R_STAGES), name
    assert code_versions(r=True)["radnomo_r"] == "1.2.3"
    other = RunContext.create(synth_config(radiomics={"engine": "pyradiomics"}), tmp_path, log=lambda m: None)
    assert STAGE_BY_NAME["radiomics"].key(other) != STAGE_BY_NAME["radiomics"].key(ctx)


def test_r_package_version_is_the_installed_one():
    """The version R itself reports for the package the bridge loads (skipped only without R)."""
    from radnomo.errors import MissingDependencyError
    from radnomo.pipeline.versions import r_package_version
    from radnomo.stats.session import r_namespace

    try:
        r_namespace()
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    import rpy2.robjects as ro

    want = str(ro.r('as.character(utils::packageVersion("radnomo"))')[0])
    assert r_package_version() == want


def test_a_new_r_package_version_reruns_the_stats_stage_on_resume(tmp_path, monkeypatch):
    """Resume: unchanged versions skip the R stages; a changed R package version reruns them."""
    import radnomo.pipeline.context as context
    from radnomo.pipeline.versions import r_package_version

    if r_package_version() is None:
        pytest.skip("R / the radnomo R package not available")
    write_upstream(tmp_path, make_study_data())
    names = ("stats", "shap")
    first = run_stages(tmp_path, synth_config(), names)
    assert not any(o.skipped for o in first.outcomes.values())
    again = run_stages(tmp_path, synth_config(), names)
    assert all(o.skipped for o in again.outcomes.values())
    monkeypatch.setattr(context, "r_package_version", lambda: "999.0.0")  # a fixed R function was installed
    fixed = run_stages(tmp_path, synth_config(), names)
    assert not fixed.outcomes["stats"].skipped and fixed.outcomes["stats"].key != first.outcomes["stats"].key
    assert not fixed.outcomes["shap"].skipped  # downstream of stats: redone too
    monkeypatch.setattr(context, "radnomo_version", lambda: "999.0.0")  # a new radnomo: every stage reruns
    new = run_stages(tmp_path, synth_config(), ("shap",))
    assert not new.outcomes["shap"].skipped
