"""Stage ``shap``: SHAP values (test set, training background) and plots for the Rad and DL scores.

Reads the score models' coefficients and selected terms the stats stage wrote
(:mod:`radnomo.pipeline.shap_inputs`); exact linear SHAP, no R.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from radnomo.io.atomic import write_csv
from radnomo.io.names import visible_name
from radnomo.pipeline.context import RunContext, Stage, code_versions
from radnomo.pipeline.layout import SHAP_KINDS

LABELS = {"rad": "Rad score", "dl": "DL score"}


def key(ctx: RunContext) -> dict:
    """The stats stage's key and the number of per-patient plots."""
    return {**code_versions(), "stats": ctx.key("stats"), "shap_patients": ctx.config.report.shap_patients}


def _read_terms(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"patient_id": str}).set_index("patient_id")


def explain(ctx: RunContext, kind: str) -> dict | None:
    """SHAP values and plots of one score (``None`` when the stats stage left it no terms)."""
    from radnomo.explain.shap import expected_value, linear_shap_values, plot_shap_patient, plot_shap_summary

    stats, out = ctx.layout.stats, ctx.layout.shap
    if not stats.shap_coefficients(kind).exists():
        return None
    coef = pd.read_csv(stats.shap_coefficients(kind))
    b = pd.Series(coef.estimate.to_numpy(float), index=coef.term.astype(str))
    b0 = float(b.get("(Intercept)", 0.0))
    b = b.drop(labels=["(Intercept)"], errors="ignore")
    tr, te = _read_terms(stats.shap_terms(kind, "train")), _read_terms(stats.shap_terms(kind, "test"))
    if b.empty:
        return None
    phi = linear_shap_values(b, te, tr)
    base = expected_value(b, tr, b0)
    write_csv(phi.reset_index(), out.values(kind))
    files = [plot_shap_summary(phi, te, out.summary_png(kind),
                               title=f"SHAP summary, {LABELS[kind]}: test set (n = {len(te)}), "
                                     f"training background (n = {len(tr)})")]
    for pid in phi.index[: ctx.config.report.shap_patients]:
        files.append(plot_shap_patient(phi.loc[pid], te.loc[pid], base, out.patient_png(kind, visible_name(pid)),
                                       title=f"{LABELS[kind]}: test-set patient {pid}"))
    return {"files": [f.name for f in files], "base_value": base, "n_terms": len(b)}


def run(ctx: RunContext, d: Path) -> dict:
    made = {kind: info for kind in SHAP_KINDS if (info := explain(ctx, kind)) is not None}
    return {"plots": made}


STAGE = Stage(name="shap", inputs=("stats",), key=key, run=run,
              outputs=lambda info: [f for v in info["plots"].values() for f in v["files"]])
