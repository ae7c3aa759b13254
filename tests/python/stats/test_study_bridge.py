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


# ------------------------------------------------------------- separation ---


@pytest.fixture(scope="module")
def separating(separating_study_frame):
    d = separating_study_frame
    tr, te = d.iloc[:30].reset_index(drop=True), d.iloc[30:].reset_index(drop=True)
    kw = dict(radiomics=[c for c in d if c.startswith("rad")], deep=[c for c in d if c.startswith("dl")],
              clinical=["age", "sex"], clinical_alpha=0.5, B=20)
    return tr, te, kw


def _fit_collect(tr, te, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = stats.fit_study(tr, te, **kw)
    return st, [str(w.message) for w in caught if issubclass(w.category, stats.RWarning)]


def test_separation_firth_default_finite_fits_warning_and_fits_table(separating, tmp_path):
    import rpy2.robjects as ro

    tr, te, kw = separating
    st, msgs = _fit_collect(tr, te, **kw)  # separation = "firth" is the default
    f = st.fits
    assert list(f.columns) == ["model", "separation", "converged", "method", "note"]
    assert f["model"].tolist() == ["rad_score", "dl_score", "clinical", "nomogram"]
    row = f.set_index("model")
    assert row.loc["dl_score", "method"] == "firth" and row.loc["dl_score", "separation"] is True
    assert row.loc["dl_score", "converged"] is False and row.loc["nomogram", "method"] == "firth"
    assert row.loc["rad_score", "method"] == "ml" and row.loc["rad_score", "note"] == ""
    # the R warning (class radnomo_separation) arrives as an RWarning naming the model and the policy,
    # with the same text as the fits table's note
    for model in ("dl_score", "nomogram"):
        note = row.loc[model, "note"]
        assert "Firth" in note and 'separation = "firth"' in note
        assert f"[R fit_study] {note}" in msgs
    assert any(m.startswith("[R fit_study] The DL score refit") for m in msgs)
    # finite coefficients equal to a direct brglm2 fit (Firth, AS_mean) on the selected terms
    b = st.dl_score.coefficients
    assert np.isfinite(b["estimate"]).all() and b["estimate"].abs().max() < 30
    terms = st.selection_dl.transform(tr[list(st.selection_dl.kept_correlation)])
    sel = [t for t in b["term"] if t != "(Intercept)"]
    frame = terms[sel].assign(y=tr["label"].to_numpy())
    from radnomo.stats import _convert as cv

    direct = ro.r("function(d, f) coef(glm(as.formula(f), data = d, family = binomial(), "
                  "method = brglm2::brglmFit, type = 'AS_mean'))")(cv.r_dataframe(frame), "y ~ " + " + ".join(sel))
    np.testing.assert_allclose(b["estimate"].to_numpy(float), np.asarray(direct), rtol=0, atol=1e-8)
    # the saved (stripped) study keeps the fits table and reproduces the penalised fits' scores
    again = stats.load_study(st.save_rds(tmp_path / "study.rds"))
    pd.testing.assert_frame_equal(again.fits, st.fits)
    for part, data in (("train", tr), ("test", te)):
        ref = st.scores[st.scores.set == part].reset_index(drop=True)
        got = again.predict(data)
        for col in ("rad_score", "dl_score", "clinical", "nomogram"):
            np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-12, atol=0)


def test_separation_lasso_and_error_policies(separating):
    from radnomo.errors import InputError, RError

    tr, te, kw = separating
    st, msgs = _fit_collect(tr, te, separation="lasso", **kw)
    row = st.fits.set_index("model")
    assert row.loc["dl_score", "method"] == "lasso" and row.loc["dl_score", "converged"] is None
    assert "LASSO linear predictor" in row.loc["dl_score", "note"]
    assert row.loc["nomogram", "method"] == "firth"  # no LASSO step in the nomogram: Firth
    assert any("The DL score refit" in m and 'separation = "lasso"' in m for m in msgs)
    with pytest.raises(RError, match=r'separation.*separation = "error"'):
        _fit_collect(tr, te, separation="error", **kw)
    with pytest.raises(InputError, match="separation must be 'firth', 'lasso' or 'error'"):
        stats.fit_study(tr, te, separation="ridge", **kw)


def test_a_study_saved_without_a_fits_table_still_loads(separating, tmp_path):
    """Studies saved before R recorded ``fits`` load with ``fits = None``."""
    import rpy2.robjects as ro

    tr, te, kw = separating
    st, _ = _fit_collect(tr, te, **kw)
    path = st.save_rds(tmp_path / "old.rds")
    ro.r("function(p) { x <- readRDS(p); x$fits <- NULL; saveRDS(x, p) }")(str(path))
    old = stats.load_study(path)
    assert old.fits is None and old.metrics is not None
