"""Clinical table and outcome model of radnomo.synth.

Reference values: the reference study's Table 1 as quoted in issue 3 (age
57.9 +/- 7.8, male 70.1 %, LnAFP 2.6 +/- 2.0, diameter 2.0 +/- 0.8 cm,
multiple low-signal lesions 51.8 %, portal hypertension 41.1 %, early
recurrence 69/224 = 30.8 %) and the generative ORs (LnAFP 1.41, multiple
low-signal lesions 2.96). Tolerances are about 4 standard errors at n = 20,000.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

from radnomo.errors import InputError
from radnomo.synth import CLINICAL_COLUMNS, OUTCOME_MODEL, simulate_clinical
from radnomo.synth.clinical import (INTERCEPT, LATENT_LOG_OR, albi_score, calibrate_outcome_model,
                                    child_pugh_points, expected_auc, mann_whitney_auc, meld_score,
                                    simulate_subjects)


def test_table1_marginals(large_table):
    df = large_table
    n = len(df)
    se = lambda p: math.sqrt(p * (1 - p) / n)  # noqa: E731
    assert df["age"].mean() == pytest.approx(57.9, abs=4 * 7.8 / math.sqrt(n))
    assert df["age"].std() == pytest.approx(7.8, rel=0.03)
    assert (df["sex"] == "male").mean() == pytest.approx(0.701, abs=4 * se(0.701))
    assert df["lnafp"].mean() == pytest.approx(2.6, abs=4 * 2.0 / math.sqrt(n))
    assert df["lnafp"].std() == pytest.approx(2.0, rel=0.03)
    assert df["max_diameter_cm"].mean() == pytest.approx(2.0, abs=4 * 0.8 / math.sqrt(n))
    assert df["max_diameter_cm"].std() == pytest.approx(0.8, rel=0.04)
    assert df["multiple_low_signal"].mean() == pytest.approx(0.518, abs=4 * se(0.518))
    assert df["portal_hypertension"].mean() == pytest.approx(0.411, abs=4 * se(0.411))
    assert df["label"].mean() == pytest.approx(0.308, abs=4 * se(0.308))
    assert set(df["tumor_number"]) == {1, 2, 3}
    assert set(df["child_pugh"]) == {"A", "B"} and (df["child_pugh"] == "A").mean() > 0.85
    assert df["max_diameter_cm"].between(0.5, 5.0).all()


def test_columns_and_types():
    df = simulate_clinical(30, 5)
    assert list(df.columns) == ["patient_id", *CLINICAL_COLUMNS, "label"]
    assert df["patient_id"].tolist()[:3] == ["P0001", "P0002", "P0003"]
    for col in ("multiple_low_signal", "viral_hepatitis", "portal_hypertension", "dangerous_position",
                "treatment_history", "complication", "label"):
        assert set(df[col]) <= {0, 1}, col
    assert set(df["sex"]) <= {"male", "female"}


def test_prefix_property_and_determinism():
    a = simulate_clinical(7, 11)
    b = simulate_clinical(40, 11)
    pd.testing.assert_frame_equal(a, b.head(7))
    pd.testing.assert_frame_equal(a, simulate_clinical(7, 11))
    assert not simulate_clinical(7, 12).equals(a)


def _irls(X, y, iters=25):
    """Plain Newton-Raphson logistic MLE with standard errors from the inverse information."""
    beta = np.zeros(X.shape[1])
    for _ in range(iters):
        p = special.expit(X @ beta)
        W = p * (1 - p)
        info = X.T @ (X * W[:, None])
        beta = beta + np.linalg.solve(info, X.T @ (y - p))
    p = special.expit(X @ beta)
    info = X.T @ (X * (p * (1 - p))[:, None])
    return beta, np.sqrt(np.diag(np.linalg.inv(info)))


def test_logistic_regression_recovers_true_odds_ratios(large_table):
    from sklearn.linear_model import LogisticRegression

    names = ["lnafp", "multiple_low_signal", "texture_pvp", "t2_pattern"]
    X = np.column_stack([np.ones(len(large_table))] + [large_table[c].to_numpy(float) for c in names])
    y = large_table["label"].to_numpy(float)
    beta, se = _irls(X, y)
    # independent implementation: scikit-learn without penalty
    sk = LogisticRegression(C=np.inf, max_iter=1000, tol=1e-10).fit(X[:, 1:], y)
    np.testing.assert_allclose(beta[1:], sk.coef_[0], atol=2e-3)
    truth = [OUTCOME_MODEL.intercept] + [OUTCOME_MODEL.coefficients[c] for c in names]
    for name, b, s, t in zip(["intercept", *names], beta, se, truth):
        assert abs(b - t) < 1.96 * s, f"{name}: estimate {b:.3f} +/- {1.96 * s:.3f} does not cover the truth {t:.3f}"
    # the ORs the issue asks for
    assert math.exp(OUTCOME_MODEL.coefficients["lnafp"]) == pytest.approx(1.41)
    assert math.exp(OUTCOME_MODEL.coefficients["multiple_low_signal"]) == pytest.approx(2.96)


def test_oracle_auc_is_realistic(large_table):
    risk, label = large_table["true_risk"], large_table["label"]
    auc = mann_whitney_auc(risk, label)
    assert 0.85 <= auc <= 0.90
    assert expected_auc(risk) == pytest.approx(auc, abs=0.01)
    from sklearn.metrics import roc_auc_score

    assert auc == pytest.approx(roc_auc_score(label, risk), abs=1e-12)


def test_true_risk_is_the_documented_model(large_table):
    df = large_table.head(200)
    lp = (INTERCEPT + math.log(1.41) * df["lnafp"] + math.log(2.96) * df["multiple_low_signal"]
          + LATENT_LOG_OR * (df["texture_pvp"] + df["t2_pattern"]))
    np.testing.assert_allclose(df["true_risk"], 1 / (1 + np.exp(-lp)), rtol=1e-12)


def test_calibration_constants_match_a_fresh_calibration():
    b0, beta = calibrate_outcome_model(n=20000, seed=12345)
    assert b0 == pytest.approx(INTERCEPT, abs=2e-3)
    assert beta == pytest.approx(LATENT_LOG_OR, abs=2e-3)


def test_expected_auc_small_case():
    # hand computation: risks 0.2, 0.5, 0.8; weight of (case i, control j) = r_i (1 - r_j)
    r = [0.2, 0.5, 0.8]
    w = {(i, j): r[i] * (1 - r[j]) for i in range(3) for j in range(3) if i != j}
    num = sum(v for (i, j), v in w.items() if r[i] > r[j])
    assert expected_auc(r) == pytest.approx(num / sum(w.values()), rel=1e-12)


def test_derived_scores(large_table):
    df = large_table.head(500)
    # ALBI from the reported (rounded) TBIL and ALB, rounded to 3 decimals
    np.testing.assert_allclose(df["albi_score"], 0.66 * np.log10(df["tbil"]) - 0.085 * df["alb"], atol=6e-4)
    assert float(albi_score(17.1, 40.0)) == pytest.approx(0.66 * 1.2329961 - 3.4, abs=1e-6)
    # MELD by hand: bilirubin 2 mg/dL (34.2 umol/L), INR 1.5, creatinine 1.2 mg/dL
    # 3.78 ln 2 + 11.2 ln 1.5 + 9.57 ln 1.2 + 6.43 = 2.62012 + 4.54118 + 1.74480 + 6.43
    assert float(meld_score(34.2, 1.5, 1.2)) == pytest.approx(15.3361, abs=1e-3)
    assert float(meld_score(10.0, 0.9, 0.7)) == pytest.approx(6.43)  # all floored at 1
    # Child-Pugh: bilirubin 40 umol/L (2), albumin 30 g/L (2), INR 1.2 (1), mild ascites (2), no HE (1)
    assert child_pugh_points(40.0, 30.0, 1.2, 1) == 8
    assert child_pugh_points(15.0, 40.0, 1.0, 0) == 5
    assert (df["meld_score"] >= 6.43 - 1e-9).all()


@pytest.mark.parametrize("kwargs", [dict(n=0, seed=1), dict(n=3, seed=-1), dict(n=2.5, seed=1),
                                    dict(n=3, seed="x")])
def test_bad_input(kwargs):
    with pytest.raises(InputError):
        simulate_subjects(**kwargs)
