"""Every bridge function: its results arrive in Python intact.

Published reference numbers (pROC on aSAH, rmda, dcurves) are owned by the R
tests (tests/testthat: test-roc.R, test-dca.R), R-vs-Python equality by
tests/cross. Here the converted results are checked against independent
Python computations: Newton–Raphson logistic regression (Wald CIs), scipy's
Mann–Whitney U / chi-squared / Fisher tests, closed-form Brier score, net
benefit and linear predictions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from radnomo import stats
from radnomo import errors
from radnomo.errors import InputError


# ----------------------------------------------------------------- helpers --
def logistic_irls(X: np.ndarray, y: np.ndarray, iters: int = 50):
    """Plain Newton–Raphson logistic regression with intercept; returns (beta, se)."""
    Xd = np.column_stack([np.ones(len(y)), X])
    beta = np.zeros(Xd.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-Xd @ beta))
        W = p * (1 - p)
        H = Xd.T @ (Xd * W[:, None])
        step = np.linalg.solve(H, Xd.T @ (y - p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1 / (1 + np.exp(-Xd @ beta))
    cov = np.linalg.inv(Xd.T @ (Xd * (p * (1 - p))[:, None]))
    return beta, np.sqrt(np.diag(cov))


@pytest.fixture(scope="module")
def clin():
    from pathlib import Path

    return pd.read_csv(Path(__file__).resolve().parents[2] / "vectors" / "clinical.csv", dtype={"patient_id": str})


@pytest.fixture(scope="module")
def sel():
    from pathlib import Path

    return pd.read_csv(Path(__file__).resolve().parents[2] / "vectors" / "selection.csv", dtype={"patient_id": str})


# ------------------------------------------------------- decision curve --
def test_decision_curve_table_and_closed_form(clin):
    # reference numbers (rmda, dcurves) are owned by tests/testthat/test-dca.R, R-vs-Python
    # equality by tests/cross; here: the table's shape and one closed-form net benefit
    y, risk = clin["label"].to_numpy(float), clin["risk_a"].to_numpy(float)
    dc = stats.decision_curve(y, {"risk": risk})
    assert list(dc.columns[:6]) == ["model", "threshold", "tpr", "fpr", "net_benefit", "standardized_net_benefit"]
    assert dc["model"].tolist()[:1] == ["risk"] and set(dc["model"]) == {"risk", "all", "none"}
    assert len(dc) == 3 * 101
    row = dc[(dc.model == "risk") & np.isclose(dc.threshold, 0.3)].iloc[0]
    pos = risk >= 0.3
    tp, fp, n = np.sum(pos & (y == 1)), np.sum(pos & (y == 0)), len(y)
    assert row["net_benefit"] == pytest.approx(tp / n - fp / n * 0.3 / 0.7, abs=1e-12)


# ------------------------------------------------------ clinical / nomogram --
def test_clinical_logistic_ors_match_independent_fit(clin):
    cl = stats.clinical_logistic(clin, "label", ["lnafp", "mls", "age", "alb"])
    assert {"variable", "term", "odds_ratio", "or_lower", "or_upper", "p_value"} <= set(cl.univariable.columns)
    z = sps.norm.ppf(0.975)
    y = clin["label"].to_numpy(float)
    for var in ["lnafp", "mls", "age", "alb"]:
        beta, se = logistic_irls(clin[[var]].to_numpy(float), y)
        row = cl.univariable.set_index("variable").loc[var]
        assert row["odds_ratio"] == pytest.approx(np.exp(beta[1]), rel=1e-7)
        assert row["or_lower"] == pytest.approx(np.exp(beta[1] - z * se[1]), rel=1e-6)
        assert row["or_upper"] == pytest.approx(np.exp(beta[1] + z * se[1]), rel=1e-6)
        assert row["p_value"] == pytest.approx(2 * sps.norm.sf(abs(beta[1] / se[1])), rel=1e-5)
    # the true drivers are selected; the multivariable ORs match an independent fit
    assert {"lnafp", "mls"} <= set(cl.selected)
    sel = list(cl.selected)
    beta, se = logistic_irls(clin[sel].to_numpy(float), y)
    mv = cl.multivariable.set_index("term")
    for j, var in enumerate(sel):
        assert mv.loc[var, "odds_ratio"] == pytest.approx(np.exp(beta[j + 1]), rel=1e-7)
    assert (cl.vif["vif"] >= 1).all()
    risk = cl.predict(clin)
    Xd = np.column_stack([np.ones(len(y)), clin[sel].to_numpy(float)])
    np.testing.assert_allclose(risk, 1 / (1 + np.exp(-Xd @ beta)), rtol=1e-7)


def test_nomogram_points_reproduce_the_model(clin, tmp_path):
    nm = stats.fit_nomogram(clin, "label", ["lnafp", "mls"])
    assert {"variable", "value", "points"} <= set(nm.points.columns)
    assert list(nm.total_points.columns) == ["total_points", "risk"]
    beta, _ = logistic_irls(clin[["lnafp", "mls"]].to_numpy(float), clin["label"].to_numpy(float))
    coef = nm.coefficients.set_index("term")["estimate"]
    assert coef["lnafp"] == pytest.approx(beta[1], rel=1e-6)
    assert coef["mls"] == pytest.approx(beta[2], rel=1e-6)
    # total points -> risk is monotone increasing, and points are linear in the linear predictor
    tp = nm.total_points
    assert np.all(np.diff(tp["risk"]) > 0) and np.all(np.diff(tp["total_points"]) > 0)
    lp = nm.predict(clin, type="link")
    pts = nm.predict(clin, type="points")
    slope, intercept = np.polyfit(lp, pts, 1)
    np.testing.assert_allclose(pts, slope * lp + intercept, atol=1e-6)
    out = stats.plot_nomogram(nm, tmp_path / "nomogram.png")
    assert out.exists() and out.stat().st_size > 5000
    # display labels reach R's plot (what R draws is checked in test-nomogram.R); duplicates are refused
    labelled = stats.plot_nomogram(nm, tmp_path / "labelled.png", labels={"lnafp": "ln AFP (ng/mL)"})
    assert labelled.read_bytes() != out.read_bytes()
    with pytest.raises(InputError):
        stats.plot_nomogram(nm, tmp_path / "dup.png", labels={"lnafp": "Same", "mls": "Same"})
    named = stats.plot_nomogram(nm, tmp_path / "levels.png", level_labels={"mls": {"0": "No", "1": "Yes"}})
    assert named.read_bytes() != out.read_bytes()


# --------------------------------------------------------------- selection --
def test_select_features_seeded_reproducible_and_finds_signal(sel):
    x, y = sel.filter(regex="^f"), sel["label"]
    a = stats.select_features(x, y, seed=11)
    b = stats.select_features(x, y, seed=11)
    pd.testing.assert_frame_equal(a.coefficients, b.coefficients)
    assert a.steps["step"].tolist() == ["input", "mwu", "correlation", "lasso"]
    assert a.steps["n_features"].iloc[0] == 40
    # MWU p-values equal scipy's asymptotic test with continuity correction
    for f in ["f01", "f10", "f33"]:
        p = sps.mannwhitneyu(x.loc[y == 1, f], x.loc[y == 0, f], alternative="two-sided",
                             method="asymptotic", use_continuity=True).pvalue
        assert a.mwu.set_index("feature").loc[f, "p_value"] == pytest.approx(p, rel=1e-10)
    # f05 is a near copy of f01: at most one of them survives pruning
    assert not {"f01", "f05"} <= set(a.kept_correlation)
    assert set(a.selected) & {"f01", "f02", "f03", "f04", "f05"}
    # z-score parameters are the training mean and SD (n-1)
    for f in a.kept_correlation[:3]:
        assert a.center[f] == pytest.approx(x[f].mean(), rel=1e-12)
        assert a.scale[f] == pytest.approx(x[f].std(ddof=1), rel=1e-12)
    z = a.transform(x)
    assert list(z.columns) == list(a.selected)


def test_select_features_bad_input_is_named(sel):
    x, y = sel.filter(regex="^f").copy(), sel["label"]
    x["f07"] = 3.0
    # a constant training column is left out with a warning naming it (no longer an error)
    with pytest.warns(stats.RWarning, match="f07") as rec:
        s7 = stats.select_features(x, y, seed=1)
    assert "f07" not in list(s7.selected)
    assert any(w.category is errors.ConstantFeaturesWarning for w in rec)
    # bad input is an InputError (R class radnomo_input_error), as the same mistake made in Python
    with pytest.raises(InputError, match="only one class"):
        stats.select_features(sel.filter(regex="^f"), np.zeros(len(y)), seed=1)  # one class only
    with pytest.raises(InputError, match="must match"):
        stats.select_features(sel.filter(regex="^f"), y[:-3], seed=1)  # mismatched lengths
    xn = sel.filter(regex="^f").copy()
    xn.loc[3, "f12"] = np.nan
    with pytest.raises(InputError, match="f12"):
        stats.select_features(xn, y, seed=1)
    with pytest.raises(InputError):
        stats.select_features(sel.filter(regex="^f"), y.replace({1: 2}), seed=1)  # not binary


def test_score_model_ors_match_independent_fit(sel):
    x, y = sel.filter(regex="^f"), sel["label"]
    s = stats.select_features(x, y, seed=11)
    z = s.transform(x)
    sm = stats.score_model(z, y, s.selected)
    beta, se = logistic_irls(z.to_numpy(float), y.to_numpy(float))
    est = sm.coefficients.set_index("term")["estimate"]
    for j, f in enumerate(s.selected):
        assert est[f] == pytest.approx(beta[j + 1], rel=1e-6)
    Xd = np.column_stack([np.ones(len(y)), z.to_numpy(float)])
    np.testing.assert_allclose(sm.predict(z), Xd @ beta, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------- calibration --
def test_calibration_statistics_match_closed_forms(clin, tmp_path):
    y, risk = clin["label"].to_numpy(float), clin["risk_a"].to_numpy(float)
    cal = stats.calibration(y, risk)
    st = cal.stats.iloc[0]
    assert st["brier"] == pytest.approx(np.mean((y - risk) ** 2), rel=1e-12)
    beta, _ = logistic_irls(np.log(risk / (1 - risk))[:, None], y)
    assert st["slope"] == pytest.approx(beta[1], rel=1e-6)
    assert st["intercept_lower"] < st["intercept"] < st["intercept_upper"]
    assert st["slope_lower"] < st["slope"] < st["slope_upper"]
    assert cal.curve["n"].sum() == len(y)
    out = stats.plot_calibration(cal, tmp_path / "cal.png", title="test")
    assert out.exists() and out.stat().st_size > 5000


# ----------------------------------------------------------------- Table 1 --
def test_baseline_table_pvalues_match_scipy(clin):
    t = stats.baseline_table(clin, "label", ["age", "lnafp", "sex", "child_pugh"])
    for col in ("variable", "level", "overall", "p_value", "test"):
        assert col in t.columns
    first = t.groupby("variable", sort=False).head(1).set_index("variable")
    g1, g0 = clin[clin.label == 1], clin[clin.label == 0]
    p = sps.mannwhitneyu(g1["lnafp"], g0["lnafp"], alternative="two-sided", method="asymptotic",
                         use_continuity=True).pvalue
    assert first.loc["lnafp", "p_value"] == pytest.approx(p, rel=1e-10)
    tab = pd.crosstab(clin["sex"], clin["label"]).to_numpy()
    chi = sps.chi2_contingency(tab, correction=True)
    if (chi.expected_freq < 5).any():
        expected_p = sps.fisher_exact(tab).pvalue
    else:
        expected_p = chi.pvalue
    assert first.loc["sex", "p_value"] == pytest.approx(expected_p, rel=1e-8)
    import re

    mean, sd = clin["age"].mean(), clin["age"].std(ddof=1)
    shown = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", first.loc["age", "overall"])]
    assert shown[0] == pytest.approx(mean, abs=0.006) and shown[1] == pytest.approx(sd, abs=0.006)


def test_decision_curve_plot(tmp_path, clin):
    dc = stats.decision_curve(clin["label"], {"risk_a": clin["risk_a"]})
    out = stats.plot_decision_curve(dc, tmp_path / "dca.png")
    assert out.exists() and out.stat().st_size > 5000


def test_perfect_separation_and_ties_warn_not_crash():
    from radnomo.stats import RWarning

    d = pd.DataFrame({"label": [0, 0, 0, 0, 1, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6, 7, 8],
                      "w": [0.3, 0.1, 0.4, 0.1, 0.5, 0.9, 0.2, 0.6]})
    with pytest.warns(RWarning, match="(?i)separat"):
        stats.clinical_logistic(d, "label", ["x", "w"])
    # tied scores: a valid AUC, no error
    r = stats.roc_metrics([0, 0, 1, 1, 0, 1], [0.5, 0.5, 0.5, 0.9, 0.1, 0.5]).iloc[0]
    assert 0.5 < r["auc"] < 1


def test_calibration_validation_flag_changes_only_hl_df(clin):
    y, risk = clin["label"], clin["risk_a"]
    dev = stats.calibration(y, risk, groups=8).stats.iloc[0]
    val = stats.calibration(y, risk, groups=8, validation=True).stats.iloc[0]
    assert dev["hl_df"] == 6 and val["hl_df"] == 8
    assert val["hl_p"] == pytest.approx(sps.chi2.sf(dev["hl_statistic"], 8), rel=1e-12)
    assert val["slope"] == dev["slope"] and val["brier"] == dev["brier"]


def test_r_messages_name_the_outcome_series(clin):
    """A named pandas Series reaches R's messages under its own name (R falls back to 'y' for plain
    arrays): the event-level warning and the two-classes error say 'recurrence', not 'y'."""
    import warnings

    from radnomo.errors import EventLevelWarning

    y = clin["label"].map({0: "early", 1: "none"}).rename("recurrence")
    for named, expected in ((y, "'recurrence'"), (y.to_numpy(), "'y'")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            stats.roc_metrics(named, clin["lnafp"])
        msgs = [str(w.message) for w in caught if issubclass(w.category, EventLevelWarning)]
        assert msgs and all(f"Outcome {expected}" in m for m in msgs), msgs
    with pytest.raises(InputError) as err:
        stats.delong_test(pd.Series([0, 1, 2] * 5, name="recurrence"), {"a": np.arange(15.0), "b": np.arange(15.0)})
    assert "recurrence" in str(err.value) and "'y'" not in str(err.value)
