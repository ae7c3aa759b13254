"""SHAP figures of the report, drawn again from the run's SHAP values with readable term names.

The shap stage draws its own plots with the internal term names (``shap/*.png``); the report draws
the same plots (:func:`radnomo.explain.shap.plot_shap_summary`, ``plot_shap_patient``) from the
same values (``shap/shap_<kind>_test.csv``) and terms (``stats/shap_<kind>_*.csv``), with each term
named by :meth:`radnomo.report.labels.Labels.feature`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from radnomo.io.names import visible_name
from radnomo.pipeline.layout import RunLayout
from radnomo.report.build_tables import ReportInputs

#: The score model of each SHAP kind.
SCORE_MODEL = {"rad": "rad_score", "dl": "dl_score"}


def _readable(columns, labels) -> dict[str, str]:
    """Term -> readable name, made unique (a suffix where two terms would read the same)."""
    out, seen = {}, {}
    for c in columns:
        name = labels.feature(str(c))
        seen[name] = seen.get(name, 0) + 1
        out[c] = name if seen[name] == 1 else f"{name} ({seen[name]})"
    return out


def draw_shap(inp: ReportInputs, layout: RunLayout, kind: str, folder: Path) -> list[tuple[Path, str]]:
    """The summary and per-patient SHAP plots of score ``kind`` (``rad``/``dl``): ``[(png, caption)]``;
    ``[]`` when the shap stage left no values for it."""
    from radnomo.explain.shap import expected_value, plot_shap_patient, plot_shap_summary

    values, coef_csv = layout.shap.values(kind), layout.stats.shap_coefficients(kind)
    if not values.exists() or not coef_csv.exists():
        return []
    read = lambda p: pd.read_csv(p, dtype={"patient_id": str}).set_index("patient_id")  # noqa: E731
    phi, te, tr = read(values), read(layout.stats.shap_terms(kind, "test")), read(layout.stats.shap_terms(kind, "train"))
    coef = pd.read_csv(coef_csv)
    b = pd.Series(coef.estimate.to_numpy(float), index=coef.term.astype(str))
    base = expected_value(b.drop(labels=["(Intercept)"], errors="ignore"), tr, float(b.get("(Intercept)", 0.0)))
    names = _readable(phi.columns, inp.labels)
    phi, te = phi.rename(columns=names), te[list(names)].rename(columns=names)
    score = inp.labels.model(SCORE_MODEL[kind])
    out = [(plot_shap_summary(phi, te, folder / f"shap_{kind}_summary.png",
                              title=f"{score}: test set (n = {len(te)}), training background (n = {len(tr)})"),
            f"{score}: every test patient's SHAP value per term (colour: the term's value).")]
    n = int((inp.settings.get("report") or {}).get("shap_patients", 3))
    for pid in phi.index[:n]:
        p = plot_shap_patient(phi.loc[pid], te.loc[pid], base, folder / f"shap_{kind}_patient_{visible_name(pid)}.png",
                              title=f"{score}: test-set patient {pid}")
        out.append((p, f"{score}: the terms' contributions for test-set patient {pid}."))
    return out
