"""Every bridge function, checked against independent references.

References (provenance):
- pROC 1.18.0 on its aSAH data (loaded from the installed pROC; numbers in
  tests/reference/PROVENANCE.md);
- real rmda 1.6 output on its dcaData (tests/reference/clinstats/rmda);
- dcurves' R output on df_binary (tests/reference/clinstats/dcurves);
- independent Python implementations in this file: Newton–Raphson logistic
  regression (Wald CIs), scipy's Mann–Whitney U / chi-squared / Fisher tests,
  closed-form Brier score and linear SHAP-free predictions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from radnomo import stats
from radnomo.errors import RError


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


@pytest.fixture(scope="session")
def asah_csv(tmp_path_factory):
    """pROC's aSAH data set, written to a CSV by R from the installed pROC package."""
    from rpy2 import robjects

    from radnomo.stats import session

    session.r_namespace()  # starts R the bridge's way (library path restored for child processes)
    path = tmp_path_factory.mktemp("asah") / "aSAH.csv"
    robjects.r('''function(path) {
        e <- new.env()
        utils::data("aSAH", package = "pROC", envir = e)
        utils::write.csv(e$aSAH, path, row.names = FALSE)
    }''')(str(path))
    return path


@pytest.fixture(scope="module")
def asah(asah_csv):
    df = pd.read_csv(asah_csv)
    assert df.shape == (113, 7) and int((df["outcome"] == "Poor").sum()) == 41
    df["y"] = (df["outcome"] == "Poor").astype(int)
    df["wfns"] = df["wfns"].astype(float)  # pROC: an ordered factor with levels 1..5
    return df


@pytest.fixture(scope="module")
def clin():
    from pathlib import Path

    return pd.read_csv(Path(__file__).resolve().parents[2] / "vectors" / "clinical.csv", dtype={"patient_id": str})


@pytest.fixture(scope="module")
def sel():
    from pathlib import Path

    return pd.read_csv(Path(__file__).resolve().parents[2] / "vectors" / "selection.csv", dtype={"patient_id": str})


# --------------------------------------------------------------- ROC/DeLong --
def test_roc_metrics_matches_proc_asah(asah):
    # pROC 1.18.0: AUC s100b 0.7313685637 (DeLong CI 0.6301182118-0.8326189156);
    # Youden threshold 0.205 with sensitivity 0.6341463, specificity 0.8055556.
    r = stats.roc_metrics(asah["y"], asah["s100b"])
    assert list(r.columns[:3]) == ["n", "n_events", "auc"]
    row = r.iloc[0]
    assert row["auc"] == pytest.approx(0.7313685637, abs=1e-9)
    assert row["auc_lower"] == pytest.approx(0.6301182118, abs=1e-9)
    assert row["auc_upper"] == pytest.approx(0.8326189156, abs=1e-9)
    assert row["threshold"] == pytest.approx(0.205, abs=1e-12)
    assert row["sensitivity"] == pytest.approx(0.6341463, abs=1e-7)
    assert row["specificity"] == pytest.approx(0.8055556, abs=1e-7)
    # the 2x2 table at the cut-off, counted here independently (positive <=> score >= t)
    pos = asah["s100b"] >= row["threshold"]
    tp, fp = int((pos & (asah.y == 1)).sum()), int((pos & (asah.y == 0)).sum())
    tn, fn = int((~pos & (asah.y == 0)).sum()), int((~pos & (asah.y == 1)).sum())
    assert row["ppv"] == pytest.approx(tp / (tp + fp), abs=1e-12)
    assert row["npv"] == pytest.approx(tn / (tn + fn), abs=1e-12)
    assert row["accuracy"] == pytest.approx((tp + tn) / len(asah), abs=1e-12)
    for marker, auc, lo, hi in (("wfns", 0.8236788618, 0.7485348878, 0.8988228358),
                                ("ndka", 0.6119579946, 0.5012449993, 0.7226709899)):
        r = stats.roc_metrics(asah["y"], asah[marker]).iloc[0]
        assert (r["auc"], r["auc_lower"], r["auc_upper"]) == pytest.approx((auc, lo, hi), abs=1e-9)


def test_roc_metrics_reuses_given_threshold_and_never_flips(asah):
    r = stats.roc_metrics(asah["y"], -asah["s100b"], threshold=-0.2).iloc[0]
    assert r["auc"] == pytest.approx(1 - 0.7313685637, abs=1e-9)  # below 0.5, reported as is
    assert r["threshold"] == -0.2


def test_delong_test_matches_proc(asah):
    d = stats.delong_test(asah["y"], {"wfns": asah["wfns"], "s100b": asah["s100b"], "ndka": asah["ndka"]})
    assert list(d.columns) == ["model_1", "model_2", "auc_1", "auc_2", "difference", "lower", "upper", "z", "p"]
    assert list(zip(d.model_1, d.model_2)) == [("wfns", "s100b"), ("wfns", "ndka"), ("s100b", "ndka")]
    a = d.iloc[0]
    assert a["z"] == pytest.approx(2.20898359144091, abs=1e-9)
    assert a["p"] == pytest.approx(0.0271757822291882, abs=1e-12)
    assert (a["lower"], a["upper"]) == pytest.approx((0.0104061769564846, 0.174214419249478), abs=1e-9)
    assert a["difference"] == pytest.approx(0.8236788618 - 0.7313685637, abs=1e-9)
    b = d.iloc[1]
    assert b["z"] == pytest.approx(2.79777591868904, abs=1e-9)
    assert b["p"] == pytest.approx(0.00514557970691098, abs=1e-12)


# ----------------------------------------------------------- decision curve --
def test_decision_curve_matches_rmda_at_every_threshold(reference_file):
    d = pd.read_csv(reference_file("clinstats", "rmda", "dcaData.csv"))
    # keep_default_na=False: rmda's model name "None" must not be read as a missing value
    ref = pd.read_csv(reference_file("clinstats", "rmda", "rmda_dcaData_optin_fittedrisk.csv"),
                      keep_default_na=False, na_values=["NA"])
    risk = 1 / (1 + np.exp(-(-4 + 1.2 * d["Marker1"])))
    dc = stats.decision_curve(d["Cancer"], {"risk": risk})
    assert list(dc.columns[:6]) == ["model", "threshold", "tpr", "fpr", "net_benefit", "standardized_net_benefit"]
    assert set(dc["model"]) == {"risk", "all", "none"}
    mapping = {"Cancer ~ risk": "risk", "All": "all", "None": "none"}
    n_compared = 0
    for ref_model, ours in mapping.items():
        r = ref[ref["model"] == ref_model].set_index("thresholds")
        o = dc[dc["model"] == ours].set_index("threshold")
        common = [t for t in r.index if np.isfinite(r.loc[t, "NB"]) and np.isclose(o.index, t).any()]
        assert len(common) >= 99, f"{ours}: only {len(common)} thresholds compared"
        for t in common:
            orow = o.iloc[int(np.argmin(np.abs(o.index - t)))]
            assert orow["net_benefit"] == pytest.approx(r.loc[t, "NB"], abs=1e-9), (ours, t)
            assert orow["standardized_net_benefit"] == pytest.approx(r.loc[t, "sNB"], abs=1e-9), (ours, t)
            n_compared += 1
    assert n_compared >= 297


def test_decision_curve_dcurves_value_at_025(reference_file):
    # dcurves: dca(cancer ~ cancerpredmarker, df_binary) at 0.25 -> all -0.1466667, none 0, model 0.0640000
    df = pd.read_csv(reference_file("clinstats", "dcurves", "df_binary.csv"))
    dc = stats.decision_curve(df["cancer"], {"marker": df["cancerpredmarker"]}, thresholds=[0.25])
    nb = dc.set_index("model")["net_benefit"]
    assert nb["all"] == pytest.approx(-0.1466667, abs=1e-7)
    assert nb["none"] == 0
    assert nb["marker"] == pytest.approx(0.0640000, abs=1e-7)


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
    with pytest.warns(stats.RWarning, match="f07"):
        s7 = stats.select_features(x, y, seed=1)
    assert "f07" not in list(s7.selected)
    with pytest.raises(RError):
        stats.select_features(sel.filter(regex="^f"), np.zeros(len(y)), seed=1)  # one class only
    with pytest.raises(RError):
        stats.select_features(sel.filter(regex="^f"), y[:-3], seed=1)  # mismatched lengths
    xn = sel.filter(regex="^f").copy()
    xn.loc[3, "f12"] = np.nan
    with pytest.raises(RError, match="f12"):
        stats.select_features(xn, y, seed=1)
    with pytest.raises(RError):
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
