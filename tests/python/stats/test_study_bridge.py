"""fit_study through the bridge: no leakage, predict reproduces, save/load round trip.

Data: tests/vectors/study.csv (known generative model, see generate.py there).
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radnomo import stats

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


@pytest.fixture(scope="module")
def data():
    st = pd.read_csv(VECTORS / "study.csv", dtype={"patient_id": str})
    tr = st[st.split == "train"].reset_index(drop=True)
    te = st[st.split == "test"].reset_index(drop=True)
    return st, tr, te


def _fit(tr, te, st):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return stats.fit_study(tr, te, radiomics=[c for c in st if c.startswith("rad_")],
                               deep=[c for c in st if c.startswith("dl_")], clinical=["lnafp", "mls", "age"],
                               B=20, seed=5, thresholds=np.arange(10) / 10)


@pytest.fixture(scope="module")
def study(data):
    st, tr, te = data
    return _fit(tr, te, st)


def test_study_structure_and_truth(study):
    assert set(study.metrics["model"]) == {"clinical", "rad_score", "dl_score", "nomogram"}
    assert set(study.metrics["set"]) == {"train", "test"}
    # the Youden cut-off is chosen on train and reused on test
    m = study.metrics.set_index(["model", "set"])
    for model in ("clinical", "rad_score", "dl_score", "nomogram"):
        assert m.loc[(model, "train"), "threshold"] == m.loc[(model, "test"), "threshold"]
    # the known drivers: lnafp and mls in the clinical model; rad_01..03 informative
    # (with ~100 training patients mls, true OR 2.96, need not reach p < 0.05; its OR must point the right way)
    assert "lnafp" in study.clinical.selected
    uni = study.clinical.univariable.set_index("variable")
    assert uni.loc["mls", "odds_ratio"] > 1 and uni.loc["lnafp", "odds_ratio"] > 1
    assert set(study.selection_rad.selected) & {"rad_01", "rad_02", "rad_03"}
    assert study.selection_dl.rotation is not None
    assert set(study.calibration) == {"train", "test"}


def test_no_leakage_from_test_set(data, study):
    st, tr, te = data
    rng = np.random.default_rng(3)
    bad = te.copy()
    bad["label"] = rng.permutation(bad["label"].to_numpy())
    feats = [c for c in st if c.startswith(("rad_", "dl_"))]
    bad[feats] = bad[feats].to_numpy()[rng.permutation(len(bad))] * 3.0 + 7.0
    other = _fit(tr, bad, st)
    pd.testing.assert_frame_equal(other.selection_rad.coefficients, study.selection_rad.coefficients)
    pd.testing.assert_frame_equal(other.selection_dl.coefficients, study.selection_dl.coefficients)
    pd.testing.assert_frame_equal(other.nomogram.coefficients, study.nomogram.coefficients)
    pd.testing.assert_frame_equal(other.clinical.multivariable, study.clinical.multivariable)
    pd.testing.assert_series_equal(other.selection_rad.center, study.selection_rad.center)
    mt = lambda s: s.metrics[s.metrics.set == "train"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(mt(other), mt(study))


def test_predict_reproduces_training_scores_and_rds_round_trip(data, study, tmp_path):
    st, tr, te = data
    pred = study.predict(tr)
    train_scores = study.scores[study.scores.set == "train"].reset_index(drop=True)
    for col in ("clinical", "rad_score", "dl_score", "nomogram"):
        np.testing.assert_allclose(pred[col].to_numpy(float), train_scores[col].to_numpy(float), rtol=1e-12)
    path = study.save_rds(tmp_path / "study.rds")
    again = stats.load_study(path)
    pd.testing.assert_frame_equal(again.metrics, study.metrics)
    assert again.scores is None and again.settings.get("stripped") is True
    assert tr["patient_id"].iloc[0].encode() not in __import__("gzip").decompress(path.read_bytes())
    np.testing.assert_allclose(again.predict(te)["nomogram"].to_numpy(float),
                               study.predict(te)["nomogram"].to_numpy(float), rtol=0, atol=0)
