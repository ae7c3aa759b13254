"""Regenerate the shared cross-language test vectors in this folder.

Run: ``.venv/bin/python tests/vectors/generate.py``. Deterministic (numpy
PCG64 with fixed seeds); the CSV files are committed so that R (testthat,
tests/cross/run_r.R) and Python (pytest) read exactly the same inputs.
Numbers are written with 17 significant digits so both languages parse
identical doubles.

- ``selection.csv``: 90 patients x 40 features (f01..f40) + ``label``. f01..f04
  are informative (shifted by 0.9 SD in cases), f05 is a near copy of f01
  (r ~ 0.97, so correlation pruning has a pair to resolve), the rest noise.
- ``clinical.csv``: 150 patients; ``label`` from a known logistic model on
  ``lnafp`` (log-OR 0.35) and ``mls`` (log-OR 1.09), plus noise variables
  ``age``, ``alb``, ``sex`` (factor), ``child_pugh`` (factor A/B) and two
  model scores ``score_a``/``score_b`` with ties, and a risk ``risk_a``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def selection_vector() -> pd.DataFrame:
    rng = np.random.default_rng(20250101)
    n, p = 90, 40
    label = (rng.random(n) < 0.35).astype(int)
    x = rng.normal(size=(n, p))
    x[:, :4] += 0.9 * label[:, None]
    x[:, 4] = x[:, 0] + 0.25 * rng.normal(size=n)
    x = x * rng.uniform(0.5, 20, size=p) + rng.uniform(-50, 50, size=p)  # radiomics-like scales
    df = pd.DataFrame(x, columns=[f"f{j + 1:02d}" for j in range(p)])
    df.insert(0, "label", label)
    df.insert(0, "patient_id", [f"S{i + 1:03d}" for i in range(n)])
    return df


def clinical_vector() -> pd.DataFrame:
    rng = np.random.default_rng(20250102)
    n = 150
    lnafp = rng.normal(2.6, 2.0, n)
    mls = (rng.random(n) < 0.518).astype(int)
    lp = -2.3 + 0.35 * lnafp + 1.09 * mls
    label = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    df = pd.DataFrame({
        "patient_id": [f"C{i + 1:03d}" for i in range(n)],
        "label": label,
        "lnafp": lnafp,
        "mls": mls,
        "age": np.round(rng.normal(57.9, 7.8, n)),
        "alb": rng.normal(40, 4, n),
        "sex": np.where(rng.random(n) < 0.701, "male", "female"),
        "child_pugh": np.where(rng.random(n) < 0.9, "A", "B"),
    })
    df["score_a"] = np.round(lp + rng.normal(0, 1.0, n), 1)  # rounded: ties
    df["score_b"] = np.round(0.5 * lnafp + rng.normal(0, 1.5, n), 1)
    df["risk_a"] = 1 / (1 + np.exp(-(lp + rng.normal(0, 0.5, n))))
    return df


def study_vector() -> pd.DataFrame:
    """140 patients: 30 radiomics-like (rad_01..), 40 deep-like (dl_01..) features,
    clinical lnafp/mls/age, outcome from a known model, and a 7:3 ``split``."""
    rng = np.random.default_rng(20250103)
    n = 140
    lnafp = rng.normal(2.6, 2.0, n)
    mls = (rng.random(n) < 0.518).astype(int)
    tex = rng.normal(size=n)  # latent image factors
    pat = rng.normal(size=n)
    lp = -2.4 + 0.34 * lnafp + 1.09 * mls + 0.9 * tex + 0.9 * pat
    label = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    rad = rng.normal(size=(n, 30))
    rad[:, :3] += 0.8 * tex[:, None]
    dl = rng.normal(size=(n, 40)) + 0.5 * rng.normal(size=(n, 1))
    dl[:, :5] += 0.7 * pat[:, None]
    df = pd.DataFrame({"patient_id": [f"T{i + 1:03d}" for i in range(n)], "label": label,
                       "split": np.where(rng.random(n) < 0.7, "train", "test"),
                       "lnafp": lnafp, "mls": mls, "age": np.round(rng.normal(57.9, 7.8, n))})
    for j in range(30):
        df[f"rad_{j + 1:02d}"] = rad[:, j] * 10 + 100
    for j in range(40):
        df[f"dl_{j + 1:02d}"] = np.abs(dl[:, j])
    return df


def main():
    for name, df in (("selection.csv", selection_vector()), ("clinical.csv", clinical_vector()),
                     ("study.csv", study_vector())):
        df.to_csv(HERE / name, index=False, float_format="%.17g")
        print(f"wrote {HERE / name} {df.shape}")


if __name__ == "__main__":
    main()
