"""The same inputs through R directly (an Rscript process) and through the
Python bridge must give the same numbers (absolute/relative 1e-10).

R side: tests/cross/run_r.R; inputs: tests/vectors (see generate.py there).
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radnomo import stats

REPO = Path(__file__).resolve().parents[2]
VECTORS = REPO / "tests" / "vectors"
TOL = 1e-10


@pytest.fixture(scope="module")
def r_out(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cross_r")
    env = dict(os.environ, TZ="UTC")
    res = subprocess.run(["Rscript", str(REPO / "tests" / "cross" / "run_r.R"), str(VECTORS), str(out)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert res.returncode == 0, f"Rscript failed:\n{res.stdout}\n{res.stderr}"
    return out


@pytest.fixture(scope="module")
def sel():
    return pd.read_csv(VECTORS / "selection.csv", dtype={"patient_id": str})


@pytest.fixture(scope="module")
def clin():
    return pd.read_csv(VECTORS / "clinical.csv", dtype={"patient_id": str})


def _read(r_out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(r_out / f"{name}.csv", keep_default_na=True)


def assert_same(py, r: pd.DataFrame, label: str):
    """Compare a bridge result (DataFrame or vector) with R's CSV, column by column."""
    if not isinstance(py, pd.DataFrame):
        py = pd.DataFrame({"value": np.asarray(py, dtype=float)})
    py = py.reset_index(drop=True)
    assert list(py.columns) == list(r.columns), f"{label}: columns {list(py.columns)} != {list(r.columns)}"
    assert len(py) == len(r), f"{label}: {len(py)} rows != {len(r)}"
    for col in r.columns:
        a, b = py[col], r[col]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            a = pd.to_numeric(a, errors="raise").to_numpy(dtype=float)
            b = b.to_numpy(dtype=float)
            assert np.array_equal(np.isnan(a), np.isnan(b)), f"{label}.{col}: NA pattern differs"
            m = ~np.isnan(a)
            np.testing.assert_allclose(a[m], b[m], rtol=TOL, atol=TOL, err_msg=f"{label}.{col}")
        else:
            sa = ["" if pd.isna(v) else str(v) for v in a]
            sb = ["" if pd.isna(v) else str(v) for v in b]
            if pd.api.types.is_bool_dtype(a) or pd.api.types.is_bool_dtype(b) or set(sb) <= {"TRUE", "FALSE", ""}:
                sa = [s.upper() for s in sa]
                sb = [s.upper() for s in sb]
            assert sa == sb, f"{label}.{col}: {sa[:5]} != {sb[:5]}"


def test_selection_chain_identical(r_out, sel):
    x = sel.filter(regex="^f")
    y = sel["label"]
    s = stats.select_features(x, y, seed=42)
    assert_same(s.steps, _read(r_out, "select_steps"), "steps")
    assert_same(s.mwu, _read(r_out, "select_mwu"), "mwu")
    assert_same(s.coefficients, _read(r_out, "select_coefficients"), "coefficients")
    assert_same(s.center.to_numpy(), _read(r_out, "select_center"), "center")
    assert_same(s.scale.to_numpy(), _read(r_out, "select_scale"), "scale")
    assert_same(s.predict(x, type="link"), _read(r_out, "select_predict"), "predict")
    z = s.transform(x)
    assert_same(z, _read(r_out, "select_transform"), "transform")
    sm = stats.score_model(z, y, s.selected)
    assert_same(sm.coefficients, _read(r_out, "score_coefficients"), "score coefficients")
    assert_same(sm.predict(z), _read(r_out, "score_predict"), "score predict")


def test_pca_selection_identical(r_out, sel):
    x = sel.filter(regex="^f")
    s = stats.select_features(x, sel["label"], pca=True, pca_variance=0.9, seed=42)
    assert_same(s.steps, _read(r_out, "pca_steps"), "pca steps")
    assert_same(s.coefficients, _read(r_out, "pca_coefficients"), "pca coefficients")
    assert_same(s.predict(x, type="response"), _read(r_out, "pca_predict"), "pca predict")


def test_clinical_and_nomogram_identical(r_out, clin):
    cand = ["lnafp", "mls", "age", "alb", "sex", "child_pugh"]
    cl = stats.clinical_logistic(clin, "label", cand)
    assert_same(cl.univariable, _read(r_out, "clinical_univariable"), "univariable")
    assert_same(cl.multivariable, _read(r_out, "clinical_multivariable"), "multivariable")
    assert_same(cl.vif, _read(r_out, "clinical_vif"), "vif")
    assert_same(cl.predict(clin), _read(r_out, "clinical_predict"), "clinical predict")
    nm = stats.fit_nomogram(clin, "label", ["lnafp", "mls"])
    assert_same(nm.points, _read(r_out, "nomogram_points"), "points")
    assert_same(nm.total_points, _read(r_out, "nomogram_total_points"), "total points")
    assert_same(nm.coefficients, _read(r_out, "nomogram_coefficients"), "nomogram coefficients")
    assert_same(nm.predict(clin), _read(r_out, "nomogram_predict"), "nomogram predict")


def test_roc_and_delong_identical(r_out, clin):
    assert_same(stats.roc_metrics(clin["label"], clin["score_a"]), _read(r_out, "roc_youden"), "roc youden")
    assert_same(stats.roc_metrics(clin["label"], clin["score_b"], threshold=1.0), _read(r_out, "roc_fixed"), "roc fixed")
    d = stats.delong_test(clin["label"], {"a": clin["score_a"], "b": clin["score_b"], "lnafp": clin["lnafp"]})
    assert_same(d, _read(r_out, "delong"), "delong")


def test_decision_curves_identical(r_out, clin):
    y = clin["label"]
    assert_same(stats.decision_curve(y, {"risk_a": clin["risk_a"]}), _read(r_out, "dca_optin"), "dca opt-in")
    assert_same(stats.decision_curve(y, {"risk_a": clin["risk_a"]}, policy="opt-out",
                                     thresholds=np.arange(0, 11) * 0.05), _read(r_out, "dca_optout"), "dca opt-out")
    assert_same(stats.decision_curve(y, {"risk_a": clin["risk_a"]}, thresholds=[0.1, 0.2, 0.3],
                                     bootstraps=50, seed=9), _read(r_out, "dca_boot"), "dca bootstrap")


def test_calibration_identical(r_out, clin):
    cal = stats.calibration(clin["label"], clin["risk_a"])
    assert_same(cal.curve, _read(r_out, "calibration_curve"), "calibration curve")
    assert_same(cal.stats, _read(r_out, "calibration_stats"), "calibration stats")
    nm = stats.fit_nomogram(clin, "label", ["lnafp", "mls"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calb = stats.calibration(clin["label"], nm.predict(clin), fit=nm, B=40, seed=3)
    assert_same(calb.bootstrap, _read(r_out, "calibration_bootstrap"), "calibration bootstrap")
    assert_same(calb.optimism_corrected, _read(r_out, "calibration_optimism"), "calibration optimism (rms::validate)")


def test_baseline_table_identical(r_out, clin):
    t = stats.baseline_table(clin, "label", ["age", "lnafp", "mls", "sex", "child_pugh"])
    assert_same(t, _read(r_out, "baseline"), "baseline")


def test_fit_study_identical(r_out):
    st = pd.read_csv(VECTORS / "study.csv", dtype={"patient_id": str})
    tr, te = st[st.split == "train"].reset_index(drop=True), st[st.split == "test"].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = stats.fit_study(tr, te, radiomics=[c for c in st if c.startswith("rad_")],
                             deep=[c for c in st if c.startswith("dl_")], clinical=["lnafp", "mls", "age"],
                             B=30, seed=5, thresholds=np.arange(10) / 10)
    assert_same(fs.scores, _read(r_out, "study_scores"), "study scores")
    assert_same(fs.metrics, _read(r_out, "study_metrics"), "study metrics")
    assert_same(fs.delong, _read(r_out, "study_delong"), "study delong")
    assert_same(fs.decision, _read(r_out, "study_decision"), "study decision")
    assert_same(fs.steps, _read(r_out, "study_steps"), "study steps")
    assert_same(fs.calibration["train"].bootstrap, _read(r_out, "study_calibration_train"), "study calibration")
    assert_same(fs.predict(te), _read(r_out, "study_predict_test"), "study predict")


def test_validate_study_identical(r_out):
    """Whole-pipeline validation: the bridge and R give the same tables (same seed)."""
    st = pd.read_csv(VECTORS / "study.csv", dtype={"patient_id": str})
    tr = st[st.split == "train"].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vs = stats.validate_study(tr, radiomics=[c for c in st if c.startswith("rad_")],
                                  clinical=["lnafp", "mls", "age"], method="cv", folds=3, repeats=2, seed=7,
                                  nfolds=5, thresholds=np.arange(11) * 0.05)
    assert_same(vs.performance, _read(r_out, "validate_performance"), "validate performance")
    assert_same(vs.stability, _read(r_out, "validate_stability"), "validate stability")
    assert_same(vs.calibration, _read(r_out, "validate_calibration"), "validate calibration")
    assert_same(vs.decision, _read(r_out, "validate_decision"), "validate decision curve")
    assert sorted(vs.decision["threshold"].unique()) == pytest.approx(np.arange(11) * 0.05)


def test_evaluate_study_identical(r_out):
    """A frozen study evaluated on the test set: bridge == R, and == fit_study's own test rows."""
    st = pd.read_csv(VECTORS / "study.csv", dtype={"patient_id": str})
    tr, te = st[st.split == "train"].reset_index(drop=True), st[st.split == "test"].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fs = stats.fit_study(tr, te, radiomics=[c for c in st if c.startswith("rad_")],
                             deep=[c for c in st if c.startswith("dl_")], clinical=["lnafp", "mls", "age"],
                             B=30, seed=5, thresholds=np.arange(10) / 10)
        ev = stats.evaluate_study(fs, te, set="test")
    assert_same(ev.metrics, _read(r_out, "evaluate_metrics"), "evaluate metrics")
    assert_same(ev.metrics, fs.metrics[fs.metrics.set == "test"], "evaluate vs fit_study test metrics")
