"""Separation through the bridge: classed warnings and errors, and Firth's estimates.

Reference: brglm2's Firth fit (``glm(method = brglm2::brglmFit, type = "AS_mean")``)
computed directly in R through ``stats::glm`` — independent of radnomo's
policy code — on constructed separable and quasi-separable data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from radnomo import stats
from radnomo.errors import RError, SeparationError
from radnomo.stats import _convert as cv


def _quasi_separated(seed: int = 3, n: int = 80) -> pd.DataFrame:
    """``q`` is 1 only in events (quasi-complete separation); ``x`` overlaps."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    x = rng.normal(0.6 * y, 1.0)
    q = ((y == 1) & (rng.random(n) < 0.35)).astype(int)
    return pd.DataFrame({"label": y, "x": x, "q": q})


def _complete_separated() -> pd.DataFrame:
    return pd.DataFrame({"label": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
                         "x": [1.0, 2.2, 2.9, 4.1, 5.0, 6.3, 7.0, 8.2, 9.1, 10.0],
                         "w": [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2, 0.6, 0.5, 0.3]})


def _firth_reference(d: pd.DataFrame, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Firth's coefficients and SEs from brglm2 called directly in R (not through radnomo or
    the bridge, which calls only radnomo's exports)."""
    import rpy2.robjects as ro

    fit = ro.r("""function(d, f) {
        fit <- glm(as.formula(f), data = d, family = binomial(), method = brglm2::brglmFit, type = "AS_mean")
        c(coef(fit), sqrt(diag(vcov(fit))))
    }""")(cv.r_dataframe(d), "label ~ " + " + ".join(terms))
    out = np.asarray(fit, float)
    k = len(out) // 2
    return out[:k], out[k:]


def _caught(fn):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = fn()
    return out, [w for w in rec if issubclass(w.category, stats.SeparationWarning)]


@pytest.mark.parametrize("make", [_quasi_separated, _complete_separated], ids=["quasi", "complete"])
def test_firth_estimates_through_the_bridge(make):
    d = make()
    terms = ["x", "q"] if "q" in d else ["x", "w"]
    b_ref, se_ref = _firth_reference(d, terms)
    assert np.all(np.isfinite(b_ref)) and np.max(np.abs(b_ref)) < 20

    sc, w = _caught(lambda: stats.score_model(d[terms], d["label"], terms))
    assert len(w) == 1 and "Firth" in str(w[0].message)
    np.testing.assert_allclose(sc.coefficients["estimate"], b_ref, rtol=0, atol=1e-8)
    np.testing.assert_allclose(sc.coefficients["std_error"], se_ref, rtol=0, atol=1e-8)
    assert sc.separation.iloc[0]["method"] == "firth" and bool(sc.separation.iloc[0]["separation"])

    nm, w = _caught(lambda: stats.fit_nomogram(d, "label", terms))
    assert len(w) == 1 and "nomogram" in str(w[0].message)
    np.testing.assert_allclose(nm.coefficients["estimate"], b_ref, rtol=0, atol=1e-8)
    assert nm.separation.iloc[0]["method"] == "firth"

    cl, w = _caught(lambda: stats.clinical_logistic(d, "label", terms, alpha=1.0))
    assert len(w) >= 1
    np.testing.assert_allclose(cl.multivariable["estimate"], b_ref[1:], rtol=0, atol=1e-8)


def test_separation_error_policy_is_a_classed_python_error():
    d = _quasi_separated()
    with pytest.raises(SeparationError, match="(?i)separation"):
        stats.score_model(d[["x", "q"]], d["label"], ["x", "q"], separation="error")
    with pytest.raises(SeparationError):
        stats.fit_nomogram(d, "label", ["x", "q"], separation="error")
    # a SeparationError is an RError (callers catching RError keep working)
    assert issubclass(SeparationError, RError)


def test_no_separation_no_warning_and_maximum_likelihood():
    d = _quasi_separated()
    with warnings.catch_warnings():
        warnings.simplefilter("error", stats.RWarning)
        sc = stats.score_model(d[["x"]], d["label"], ["x"])
    assert sc.separation.iloc[0]["method"] == "ml"


def test_calibration_bootstrap_counts_firth_refits():
    d = _quasi_separated(n=120)
    nm, _ = _caught(lambda: stats.fit_nomogram(d, "label", ["x", "q"]))
    cal = stats.calibration(d["label"], nm.predict(d), fit=nm, B=20, seed=2)
    assert cal.bootstrap_resamples == {"requested": 20, "failed": 0, "firth": 20}
    assert np.all(np.isfinite(cal.bootstrap["bias_corrected"].to_numpy()[1:-1]))


def test_event_argument_and_announced_default_level():
    """A character outcome: ``event=`` picks the event; the default is announced (R message -> warning)."""
    d = _quasi_separated()
    d["cc"] = np.where(d["label"] == 1, "case", "control")
    risk = 1 / (1 + np.exp(-d["x"]))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        inverted = stats.roc_metrics(d["cc"], risk).iloc[0]["auc"]
    assert any(issubclass(w.category, stats.EventLevelWarning) and "event = 'control'" in str(w.message) for w in rec)
    right = stats.roc_metrics(d["cc"], risk, event="case").iloc[0]["auc"]
    assert right == pytest.approx(stats.roc_metrics(d["label"], risk).iloc[0]["auc"], abs=1e-12)
    assert inverted == pytest.approx(1 - right, abs=1e-12)
    cl = stats.clinical_logistic(d, "cc", ["x"], event="case")
    ref = stats.clinical_logistic(d, "label", ["x"])
    np.testing.assert_allclose(cl.multivariable["estimate"], ref.multivariable["estimate"], atol=1e-10)


def test_r_condition_classes_map_to_python_exceptions():
    """R's classed errors keep their meaning in Python: bad input is an InputError (ValueError)."""
    from radnomo.errors import InputError, NothingSelectedError, RInputError

    d = _quasi_separated()
    with pytest.raises(InputError, match="nope"):
        stats.clinical_logistic(d, "label", ["nope"])
    with pytest.raises(ValueError):
        stats.roc_metrics([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(RInputError):
        stats.roc_metrics([0, 1, 1], [0.1, 0.2])
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(40, 5)), columns=[f"f{i}" for i in range(5)])
    y = np.r_[np.zeros(20), np.ones(20)]
    with pytest.raises(NothingSelectedError):
        stats.select_features(x, y, mwu_alpha=1e-9, seed=1)
    # (an unclassed R error stays a plain RError: test_bridge_core.py)


def test_fit_nomogram_formula_through_the_bridge():
    """An R formula with rms terms as text: the same fit as R's fit_nomogram(data, formula)."""
    rng = np.random.default_rng(5)
    n = 150
    d = pd.DataFrame({"age": rng.normal(60, 10, n), "w": rng.normal(size=n)})
    d["label"] = (rng.random(n) < 1 / (1 + np.exp(-(0.04 * (d["age"] - 60) ** 2 / 10 - 0.5 + d["w"])))).astype(int)
    nm = stats.fit_nomogram(d, "label ~ rcs(age, 3) + w", title="Spline")
    import rpy2.robjects as ro

    ref_coef = np.asarray(ro.r("function(d, f) coef(radnomo::fit_nomogram(d, as.formula(f)))")(
        cv.r_dataframe(d), "label ~ rcs(age, 3) + w"), float)
    np.testing.assert_allclose(nm.coefficients["estimate"], ref_coef, atol=1e-12)
    assert list(nm.predictors) == ["age", "w"] and len(nm.coefficients) == 4
    from radnomo.errors import InputError

    with pytest.raises(InputError):
        stats.fit_nomogram(d, "label ~ w", ["age"])
