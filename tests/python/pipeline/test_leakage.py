"""No leakage from the test set, checked by behaviour: poisoning the test patients changes nothing fitted.

After the split, every test patient's outcome is flipped, its radiomics and deep features are replaced
by large noise and its clinical values are scrambled. The statistics, validation, SHAP and model
stages are run on the poisoned run folder and on the clean one (the session's synthetic study), and
every fitted quantity must be identical: the selection chain of each block (Mann-Whitney U filter,
correlation pruning, z-score centre and scale, PCA rotation, LASSO path choice and coefficients), the
score models, the clinical models, the nomogram, the training-set scores and metrics, the training
cut-offs, the bootstrap calibration, SHAP's coefficients and background, the whole-pipeline
validation's apparent/optimism/corrected numbers and its selection frequencies. Only what is *about*
the test set (its scores, metrics, Table 1 columns) may differ, and it must (the poison reached it).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import N_TRAIN, run_stages, synth_config, write_upstream

#: Tables that describe the test set (may and should change), or compare the sets.
ABOUT_TEST = ("table1", "table1_test_by_outcome", "calibration_test_curve", "calibration_test_stats")


def _poison(d: pd.DataFrame, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    bad = d.copy()
    test = bad.index >= N_TRAIN
    n = int(test.sum())
    bad.loc[test, "label"] = 1 - bad.loc[test, "label"]
    feats = [c for c in bad.columns if c.startswith(("rad", "dl"))]
    bad.loc[test, feats] = rng.normal(size=(n, len(feats))) * 100
    bad.loc[test, "age"] = rng.permutation(bad.loc[test, "age"].to_numpy()) + 30
    bad.loc[test, "lnafp"] = rng.normal(0, 5, n).round(3)
    bad.loc[test, "sex"] = np.where(bad.loc[test, "sex"] == "F", "M", "F")
    return bad


@pytest.fixture(scope="module")
def poisoned(synthetic_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("poisoned")
    write_upstream(root, _poison(synthetic_run.data))
    ctx = run_stages(root, synth_config(), ("stats", "validate", "shap", "model"))
    return ctx.layout


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True, obj=what)


def test_every_fitted_table_is_unchanged(synthetic_run, poisoned):
    clean = synthetic_run.ctx.layout
    names = sorted(p.stem for p in clean.stats.tables())
    assert names == sorted(p.stem for p in poisoned.stats.tables())
    for name in names:
        a, b = pd.read_csv(clean.stats.table(name)), pd.read_csv(poisoned.stats.table(name))
        if name in ABOUT_TEST:
            continue
        if "set" in a.columns:  # scores, metrics, DeLong, decision curves: the training rows
            a, b = a.loc[a["set"] == "train"], b.loc[b["set"] == "train"]
            assert len(a)
        _frames_equal(a, b, name)
    # the poison reached the statistics: the test set's rows did change
    sa, sb = (pd.read_csv(x.stats.table("scores")) for x in (clean, poisoned))
    assert not sa.loc[sa.set == "test", "outcome"].equals(sb.loc[sb.set == "test", "outcome"])
    ma, mb = (pd.read_csv(x.stats.table("metrics")) for x in (clean, poisoned))
    assert not np.allclose(ma.loc[ma.set == "test", "auc"], mb.loc[mb.set == "test", "auc"])


def test_selection_chain_score_and_clinical_models_are_unchanged(synthetic_run, poisoned):
    """The frozen study itself (study.rds): z-score centre/scale, PCA rotation, LASSO, refits."""
    from radnomo.pipeline import study_adapter as sa

    a, b = sa.load(synthetic_run.ctx.layout.stats.study_rds), sa.load(poisoned.stats.study_rds)
    for block in ("selection_rad", "selection_dl"):
        sa_, sb_ = getattr(a, block), getattr(b, block)
        assert sa_.kept_mwu == sb_.kept_mwu and sa_.kept_correlation == sb_.kept_correlation, block
        assert sa_.selected == sb_.selected and sa_.selected, block
        pd.testing.assert_series_equal(sa_.center, sb_.center, check_exact=True, obj=f"{block} centre")
        pd.testing.assert_series_equal(sa_.scale, sb_.scale, check_exact=True, obj=f"{block} scale")
        assert (sa_.rotation is None) == (sb_.rotation is None)
        if sa_.rotation is not None:
            pd.testing.assert_frame_equal(sa_.rotation, sb_.rotation, check_exact=True, obj=f"{block} PCA")
        assert (sa_.lambda_min, sa_.lambda_1se, sa_.lambda_used) == (sb_.lambda_min, sb_.lambda_1se, sb_.lambda_used)
        _frames_equal(sa_.coefficients, sb_.coefficients, f"{block} LASSO")
    assert a.selection_dl.rotation is not None  # the deep block went through the PCA
    for model in ("rad_score", "dl_score", "nomogram"):
        _frames_equal(getattr(a, model).coefficients, getattr(b, model).coefficients, model)
    _frames_equal(a.clinical.multivariable, b.clinical.multivariable, "clinical model")
    assert a.clinical.selected == b.clinical.selected


def test_shap_inputs_model_and_validation_are_unchanged(synthetic_run, poisoned):
    clean = synthetic_run.ctx.layout
    for kind in ("rad", "dl"):
        for p in (clean.stats.shap_coefficients(kind), clean.stats.shap_terms(kind, "train")):
            rel = p.relative_to(clean.root)
            _frames_equal(pd.read_csv(p), pd.read_csv(poisoned.root / rel), str(rel))
    ma, mb = (json.loads(x.model.model_json.read_text(encoding="utf-8")) for x in (clean, poisoned))
    assert ma["cutoffs"] == mb["cutoffs"] and ma["cutoffs"]
    assert ma["coefficients"] == mb["coefficients"] and ma["columns"] == mb["columns"]
    # whole-pipeline validation: training set only, so apparent / optimism / corrected are unchanged
    pa, pb = (pd.read_csv(x.validate.table("validation_performance")) for x in (clean, poisoned))
    _frames_equal(pa, pb, "validation_performance")
    for name in ("selection_stability", "selection_counts", "validation_calibration"):
        _frames_equal(pd.read_csv(clean.validate.table(name)), pd.read_csv(poisoned.validate.table(name)), name)
