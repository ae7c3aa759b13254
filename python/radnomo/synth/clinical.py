"""Clinical table and outcome model of the synthetic cohort.

Every patient ``i`` draws from its own random stream
``numpy.random.SeedSequence(seed, spawn_key=(i, STREAM_SUBJECT))``, so the row
of patient ``i`` does not depend on how many patients are simulated: the table
for ``n`` patients is the first ``n`` rows of the table for any larger ``n``.

Variables (snake_case column, unit) and their marginals
---------------------------------------------------------
Marginals marked *Table 1* are the reference study's published values quoted in
issue 3 (age 57.9 +/- 7.8 years, male 70.1 %, LnAFP 2.6 +/- 2.0, maximum
diameter 2.0 +/- 0.8 cm, multiple low-signal lesions 51.8 %, portal
hypertension 41.1 %, early recurrence 30.8 % = 69/224). The paper's other
Table 1 values were not available here; those marginals are *assumed*,
plausible values for a Child-Pugh A/B HCC ablation cohort and are labelled so
in :data:`VARIABLES` (``source``). Dependence between variables is a Gaussian
copula with the weak correlations of :data:`_CORRELATIONS` (e.g. portal
hypertension with low platelets, ALT with AST), so that everything except the
outcome drivers is noise or only weakly associated with them.

Derived variables use their published formulas (:mod:`radnomo.synth.scores`):

* ALBI score = 0.66 * log10(bilirubin, umol/L) - 0.085 * albumin (g/L)
  (Johnson et al., J Clin Oncol 2015;33:550);
* MELD = 3.78 ln(bilirubin mg/dL) + 11.2 ln(INR) + 9.57 ln(creatinine mg/dL)
  + 6.43, each lab value floored at 1 (Kamath et al., Hepatology 2001;33:464;
  UNOS convention); INR = PT / 12 s (assumed normal PT 12 s, ISI 1);
  creatinine is simulated but not reported;
* Child-Pugh points from bilirubin (<34, 34-50, >50 umol/L), albumin (>35,
  28-35, <28 g/L), INR (<1.7, 1.7-2.3, >2.3), ascites (simulated, linked to
  portal hypertension) and no encephalopathy; class A for 5-6 points, B for
  7 or more (class C patients are not ablation candidates, so C is capped at B).

Outcome
-------
``label`` (early recurrence within 6 months, 0/1) is drawn from the logistic
model of :data:`OUTCOME_MODEL`::

    logit P(label = 1) = b0 + ln(1.41) * lnafp + ln(2.96) * multiple_low_signal
                         + b_tex * texture_pvp + b_t2 * t2_pattern

where ``texture_pvp`` and ``t2_pattern`` are standard-normal latent image
factors (rendered into the portal-venous texture and the T2WI pattern by
:mod:`radnomo.synth.anatomy`). The intercept ``b0`` is tuned so that the
expected prevalence is 30.8 %; ``b_tex = b_t2`` are tuned so that the AUC of
the true risk (oracle AUC) is about 0.87. :func:`calibrate_outcome_model`
recomputes both from scratch; the tests check that the constants match.

``label`` is in the clinical table *and* in the manifest (identical values), so
the clinical table alone is enough for a clinical model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from radnomo.errors import InputError
from radnomo.synth.scores import albi_score, child_pugh_points, meld_score

#: Random-stream ids within a patient's SeedSequence spawn key.
STREAM_SUBJECT = 0
STREAM_ANATOMY = 1
STREAM_ACQUISITION = 2

#: Clinical columns in output order.
CLINICAL_COLUMNS: tuple[str, ...] = (
    "age", "sex", "tumor_number", "max_diameter_cm", "multiple_low_signal", "lnafp",
    "alt", "ast", "alb", "ggt", "tbil", "pt", "plt", "neu_lym", "child_pugh",
    "albi_score", "meld_score", "viral_hepatitis", "portal_hypertension",
    "dangerous_position", "treatment_history", "complication",
)

#: Variable dictionary: column -> description, unit, type, target marginal, source.
VARIABLES: dict[str, dict] = {
    "age": dict(description="age", unit="years", type="continuous",
                target="mean 57.9, SD 7.8", source="Table 1"),
    "sex": dict(description="sex", unit="male/female", type="categorical",
                target="male 70.1 %", source="Table 1"),
    "tumor_number": dict(description="number of tumours", unit="count (1-3)", type="integer",
                         target="1: 72 %, 2: 20 %, 3: 8 %", source="assumed"),
    "max_diameter_cm": dict(description="maximum tumour diameter", unit="cm", type="continuous",
                            target="mean 2.0, SD 0.8 (log-normal, 0.5-5 cm)", source="Table 1"),
    "multiple_low_signal": dict(description="multiple (>= 3) low-signal lesions in arterial/portal phase",
                                unit="0/1", type="binary", target="51.8 %", source="Table 1"),
    "lnafp": dict(description="natural log of alpha-fetoprotein (ng/mL)", unit="ln(ng/mL)",
                  type="continuous", target="mean 2.6, SD 2.0 (floored at ln 0.5)", source="Table 1"),
    "alt": dict(description="alanine aminotransferase", unit="U/L", type="continuous",
                target="log-normal, median 32", source="assumed"),
    "ast": dict(description="aspartate aminotransferase", unit="U/L", type="continuous",
                target="log-normal, median 34", source="assumed"),
    "alb": dict(description="serum albumin", unit="g/L", type="continuous",
                target="mean 38.8, SD 5.0", source="assumed"),
    "ggt": dict(description="gamma-glutamyl transferase", unit="U/L", type="continuous",
                target="log-normal, median 52", source="assumed"),
    "tbil": dict(description="total bilirubin", unit="umol/L", type="continuous",
                 target="log-normal, median 15", source="assumed"),
    "pt": dict(description="prothrombin time", unit="s", type="continuous",
               target="mean 12.6, SD 1.1", source="assumed"),
    "plt": dict(description="platelet count", unit="10^9/L", type="continuous",
                target="log-normal, median 120", source="assumed"),
    "neu_lym": dict(description="neutrophil-to-lymphocyte ratio", unit="ratio", type="continuous",
                    target="log-normal, median 2.2", source="assumed"),
    "child_pugh": dict(description="Child-Pugh class", unit="A/B", type="categorical",
                       target="derived (mostly A)", source="derived"),
    "albi_score": dict(description="ALBI score = 0.66 log10(TBIL umol/L) - 0.085 ALB g/L",
                       unit="score", type="continuous", target="derived", source="derived"),
    "meld_score": dict(description="MELD score (UNOS 2001 formula)", unit="score",
                       type="continuous", target="derived", source="derived"),
    "viral_hepatitis": dict(description="chronic viral hepatitis (HBV/HCV)", unit="0/1",
                            type="binary", target="85 %", source="assumed"),
    "portal_hypertension": dict(description="portal hypertension", unit="0/1", type="binary",
                                target="41.1 %", source="Table 1"),
    "dangerous_position": dict(description="tumour in a dangerous position (subcapsular or next to a major vessel)",
                               unit="0/1", type="binary", target="35 %", source="assumed"),
    "treatment_history": dict(description="previous HCC treatment", unit="0/1", type="binary",
                              target="40 %", source="assumed"),
    "complication": dict(description="ablation complication", unit="0/1", type="binary",
                         target="10 %", source="assumed"),
    "label": dict(description="early recurrence within 6 months of ablation", unit="0/1",
                  type="binary", target="30.8 %", source="Table 1 (69/224)"),
}

# Latent-normal (copula) variables in order; correlations between them.
_LATENT = ("age", "male", "lnafp", "diam", "ntum", "mls", "alt", "ast", "alb", "ggt",
           "tbil", "pt", "plt", "nlr", "viral", "ph", "danger", "history", "compl", "creat")
_CORRELATIONS = {
    ("lnafp", "diam"): 0.20, ("lnafp", "ntum"): 0.10, ("lnafp", "mls"): 0.10,
    ("mls", "ntum"): 0.20, ("mls", "history"): 0.10, ("diam", "compl"): 0.10,
    ("danger", "compl"): 0.20, ("alt", "ast"): 0.75, ("ast", "ggt"): 0.40,
    ("alt", "ggt"): 0.35, ("alb", "tbil"): -0.30, ("alb", "pt"): -0.30,
    ("tbil", "pt"): 0.30, ("plt", "ph"): -0.50, ("ph", "alb"): -0.25,
    ("ph", "tbil"): 0.20, ("viral", "alt"): 0.15, ("age", "viral"): -0.10,
    ("age", "creat"): 0.15, ("lnafp", "alt"): 0.10,
}


def _copula_cholesky() -> np.ndarray:
    k = len(_LATENT)
    idx = {name: j for j, name in enumerate(_LATENT)}
    c = np.eye(k)
    for (a, b), r in _CORRELATIONS.items():
        c[idx[a], idx[b]] = c[idx[b], idx[a]] = r
    return np.linalg.cholesky(c)  # raises if not positive definite


_CHOL = _copula_cholesky()
_LATENT_INDEX = {name: j for j, name in enumerate(_LATENT)}


@dataclass(frozen=True)
class OutcomeModel:
    """True logistic model of early recurrence.

    Attributes
    ----------
    intercept : log-odds at all drivers zero.
    coefficients : log odds ratio per unit of each driver (``lnafp`` per
        ln(ng/mL), ``multiple_low_signal`` yes vs no, latent factors per SD).
    """

    intercept: float
    coefficients: dict

    def linear_predictor(self, frame: pd.DataFrame) -> np.ndarray:
        lp = np.full(len(frame), self.intercept, dtype=float)
        for name, beta in self.coefficients.items():
            lp += beta * frame[name].to_numpy(dtype=float)
        return lp

    def risk(self, frame: pd.DataFrame) -> np.ndarray:
        return special.expit(self.linear_predictor(frame))

    def as_dict(self) -> dict:
        return {
            "link": "logit",
            "intercept": self.intercept,
            "coefficients_log_or": dict(self.coefficients),
            "odds_ratios": {k: math.exp(v) for k, v in self.coefficients.items()},
        }


#: Latent image-factor effect (log-OR per SD) and intercept; values from
#: ``calibrate_outcome_model()`` (target prevalence 0.308, oracle AUC 0.87),
#: rounded to 4 decimals. The test suite re-runs the calibration.
LATENT_LOG_OR = 1.3210
INTERCEPT = -2.8114
OUTCOME_MODEL = OutcomeModel(
    intercept=INTERCEPT,
    coefficients={
        "lnafp": math.log(1.41),
        "multiple_low_signal": math.log(2.96),
        "texture_pvp": LATENT_LOG_OR,
        "t2_pattern": LATENT_LOG_OR,
    },
)


def subject_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """Random generator of patient ``index`` (0-based) and ``stream`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index), int(stream))))


def check_seed(seed) -> int:
    """Return ``seed`` as an int, or raise :class:`InputError` if it is not a non-negative integer."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, not {seed!r}")
    return int(seed)


def _lognormal(z: float, median: float, sdlog: float) -> float:
    return median * math.exp(sdlog * z)


_Q = {p: float(stats.norm.ppf(p)) for p in (0.701, 0.518, 0.411, 0.85, 0.35, 0.40, 0.10, 0.72, 0.92)}


def _binary(z: float, p: float) -> int:
    return int(z < _Q[p])

# log-normal diameter with mean 2.0 cm, SD 0.8 cm (moment matching)
_DIAM_SDLOG = math.sqrt(math.log(1 + (0.8 / 2.0) ** 2))
_DIAM_MU = math.log(2.0) - _DIAM_SDLOG**2 / 2
# AFP below 0.5 ng/mL is reported at the assay's detection limit
_LNAFP_MIN = math.log(0.5)
# pre-floor normal chosen (numerically) so the floored variable has mean 2.6, SD 2.0
_LNAFP_MU, _LNAFP_SD = 2.540, 2.115


def _one_subject(seed: int, index: int) -> dict:
    rng = subject_rng(seed, index, STREAM_SUBJECT)
    z = _CHOL @ rng.standard_normal(len(_LATENT))
    g = {name: float(z[j]) for name, j in _LATENT_INDEX.items()}
    u_tex, u_t2 = rng.standard_normal(2).tolist()
    u_asc, u_out = rng.random(2).tolist()

    age = float(np.clip(57.9 + 7.8 * g["age"], 25, 90))
    ntum = 1 if g["ntum"] < _Q[0.72] else (2 if g["ntum"] < _Q[0.92] else 3)
    diam = float(np.clip(math.exp(_DIAM_MU + _DIAM_SDLOG * g["diam"]), 0.5, 5.0))
    lnafp = max(_LNAFP_MU + _LNAFP_SD * g["lnafp"], _LNAFP_MIN)
    tbil = _lognormal(g["tbil"], 15.0, 0.40)
    alb = 38.8 + 5.0 * g["alb"]
    pt = 12.6 + 1.1 * g["pt"]
    creat = _lognormal(g["creat"], 0.8, 0.20)
    ph = _binary(g["ph"], 0.411)
    inr = pt / 12.0
    # ascites: none / mild / moderate, more frequent with portal hypertension
    p_asc = (0.10, 0.02) if ph else (0.02, 0.0)
    ascites = 2 if u_asc < p_asc[1] else (1 if u_asc < p_asc[0] else 0)
    row = {
        "age": round(age, 1),
        "sex": "male" if g["male"] < _Q[0.701] else "female",
        "tumor_number": ntum,
        "max_diameter_cm": round(diam, 2),
        "multiple_low_signal": _binary(g["mls"], 0.518),
        "lnafp": round(lnafp, 3),
        "alt": round(_lognormal(g["alt"], 32.0, 0.55), 1),
        "ast": round(_lognormal(g["ast"], 34.0, 0.50), 1),
        "alb": round(alb, 1),
        "ggt": round(_lognormal(g["ggt"], 52.0, 0.75), 1),
        "tbil": round(tbil, 1),
        "pt": round(pt, 1),
        "plt": round(_lognormal(g["plt"], 120.0, 0.45), 0),
        "neu_lym": round(_lognormal(g["nlr"], 2.2, 0.45), 2),
        "viral_hepatitis": _binary(g["viral"], 0.85),
        "portal_hypertension": ph,
        "dangerous_position": _binary(g["danger"], 0.35),
        "treatment_history": _binary(g["history"], 0.40),
        "complication": _binary(g["compl"], 0.10),
        # not in the clinical table:
        "_inr": inr, "_creat": creat, "_ascites": ascites,
        "texture_pvp": float(u_tex), "t2_pattern": float(u_t2), "_u_outcome": u_out,
    }
    cp = child_pugh_points(row["tbil"], row["alb"], round(row["pt"], 1) / 12.0, ascites)
    row["child_pugh"] = "A" if cp <= 6 else "B"
    row["albi_score"] = round(float(albi_score(row["tbil"], row["alb"])), 3)
    row["meld_score"] = round(float(meld_score(row["tbil"], row["pt"] / 12.0, creat)), 2)
    return row


def patient_id(index: int) -> str:
    """Patient id of 0-based ``index``: ``P0001`` for 0 (at least 4 digits)."""
    return f"P{index + 1:04d}"


def simulate_subjects(n: int, seed: int, model: OutcomeModel = OUTCOME_MODEL) -> pd.DataFrame:
    """Simulate ``n`` patients: clinical variables, latent image factors, true risk and label.

    Parameters
    ----------
    n : number of patients (>= 1).
    seed : non-negative integer; patient ``i`` depends only on ``(seed, i)``.
    model : the outcome model (default :data:`OUTCOME_MODEL`).

    Returns
    -------
    DataFrame with ``patient_id``, the :data:`CLINICAL_COLUMNS`, the latent
    factors ``texture_pvp`` and ``t2_pattern`` (standard normal),
    ``linear_predictor`` (log-odds), ``true_risk`` (probability), ``label``
    (0/1, drawn as ``uniform < true_risk`` with the patient's own uniform) and
    the unreported helpers ``inr``, ``creatinine_mg_dl``, ``ascites``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n (number of patients) must be a positive integer, not {n!r}")
    seed = check_seed(seed)
    rows = [_one_subject(seed, i) for i in range(int(n))]
    df = pd.DataFrame(rows)
    df.insert(0, "patient_id", [patient_id(i) for i in range(int(n))])
    df["linear_predictor"] = model.linear_predictor(df)
    df["true_risk"] = special.expit(df["linear_predictor"])
    df["label"] = (df["_u_outcome"] < df["true_risk"]).astype(int)
    df = df.rename(columns={"_inr": "inr", "_creat": "creatinine_mg_dl", "_ascites": "ascites"})
    df = df.drop(columns=["_u_outcome"])
    cols = (["patient_id", *CLINICAL_COLUMNS, "label", "texture_pvp", "t2_pattern",
             "linear_predictor", "true_risk", "inr", "creatinine_mg_dl", "ascites"])
    return df[cols]


def simulate_clinical(n: int, seed: int) -> pd.DataFrame:
    """The clinical table of the first ``n`` patients: ``patient_id``, Table 1 variables, ``label``.

    Pure table, no images; fast enough for tens of thousands of rows. See the
    module docstring for units and marginals.
    """
    return simulate_subjects(n, seed)[["patient_id", *CLINICAL_COLUMNS, "label"]].copy()


def mann_whitney_auc(score, label) -> float:
    """AUC as the Mann-Whitney probability P(score_case > score_control) + 0.5 P(tie)."""
    score = np.asarray(score, dtype=float)
    label = np.asarray(label).astype(int)
    n1, n0 = int(label.sum()), int((1 - label).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = stats.rankdata(score)
    return float((ranks[label == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def expected_auc(risk) -> float:
    """Expected AUC of ``risk`` when labels are Bernoulli(risk) (population oracle AUC).

    AUC = sum_{i != j} r_i (1 - r_j) [s_i > s_j] / sum_{i != j} r_i (1 - r_j)
    (ties count one half), computed in O(n log n) after sorting. NaN for fewer
    than two patients (no pairs).
    """
    r = np.sort(np.asarray(risk, dtype=float))
    if r.size < 2:
        return float("nan")
    w1, w0 = r, 1.0 - r
    # pairs (case i, control j) with r_i > r_j: cumulative control weight below i
    cum0 = np.cumsum(w0) - w0
    num = float(np.sum(w1 * cum0))
    den = float(w1.sum() * w0.sum() - np.sum(w1 * w0))
    return num / den if den > 0 else float("nan")


def calibrate_outcome_model(prevalence: float = 0.308, auc: float = 0.87, n: int = 20000,
                            seed: int = 12345) -> tuple[float, float]:
    """Solve for ``(intercept, latent log-OR)`` giving the target prevalence and oracle AUC.

    Uses the simulated driver distribution of ``n`` patients (fixed ``seed``)
    and expected (not sampled) prevalence and AUC, by nested root finding.
    """
    from scipy.optimize import brentq

    df = simulate_subjects(n, seed)
    fixed = OUTCOME_MODEL.coefficients["lnafp"] * df["lnafp"] + \
        OUTCOME_MODEL.coefficients["multiple_low_signal"] * df["multiple_low_signal"]
    latent = df["texture_pvp"] + df["t2_pattern"]

    def intercept_for(beta):
        lp = fixed + beta * latent
        return brentq(lambda b0: special.expit(b0 + lp).mean() - prevalence, -20, 20)

    def auc_gap(beta):
        b0 = intercept_for(beta)
        return expected_auc(special.expit(b0 + fixed + beta * latent)) - auc

    beta = brentq(auc_gap, 0.0, 5.0, xtol=1e-6)
    return float(intercept_for(beta)), float(beta)
