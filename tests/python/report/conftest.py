"""Fixtures of the report component tests.

``data/`` holds tables of a finished demo run (``radnomo demo``, synthetic cohort seed 20250101,
60 patients; stats/tables/*.csv, validate/validation_summary.csv) and a trimmed ``results.json``
of the same run (large per-patient tables left out), so the tests need no run of their own.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).with_name("data")


@pytest.fixture(scope="session")
def csv():
    """``csv("metrics")``: a table of the demo run as pandas reads it."""
    return lambda name: pd.read_csv(DATA / f"{name}.csv")


@pytest.fixture(scope="session")
def results():
    """The demo run's (trimmed) results.json."""
    return json.loads((DATA / "results.json").read_text(encoding="utf-8"))


def tiny_png(path: Path, width: int = 64, height: int = 40) -> Path:
    """A small PNG drawn with Pillow (a figure stand-in)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(img).line([(0, height - 1), (width - 1, 0)], fill="navy", width=2)
    img.save(path)
    return path


def synthetic_context(folder: Path) -> dict:
    """A full report context from the demo run's tables: every section, table, figure and run-record
    part the checklists link to (ids of ``checklists.ANCHORS``), figures as files next to the page
    (relative paths) and as data URIs."""
    from radnomo.report import checklists as C
    from radnomo.report import tables as T
    from radnomo.report.labels import Labels
    from radnomo.report.templating import data_uri

    read = lambda n: pd.read_csv(DATA / f"{n}.csv")  # noqa: E731
    res = json.loads((DATA / "results.json").read_text(encoding="utf-8"))
    facts = C.facts_from_run(res)
    labels = Labels({"variables": {"lnafp": {"label": "ln AFP", "unit": "ln ng/mL"}},
                     "outcome": {"event": "Recurrence ≤ 6 months", "nonevent": "No recurrence"}})
    A = C.ANCHORS
    figs = folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)

    def fig(key: str, caption: str, embed: bool = False) -> dict:
        p = tiny_png(figs / f"{key}.png", 480, 360)
        return {"id": A[key], "src": data_uri(p) if embed else f"figures/{p.name}", "caption": caption,
                "alt": caption}

    t1 = T.table1(read("table1"), labels, anchor=A["table1"], title="Baseline characteristics by set",
                  group_n={"overall": 60, "training set": 42, "test set": 18})
    t1b = T.table1(read("table1_train_by_outcome"), labels, anchor=A["table1_outcome"],
                   title="Baseline characteristics by outcome, training set")
    t2 = T.table2(read("clinical_univariable"), labels, multivariable=read("clinical_multivariable"),
                  vif=read("clinical_vif"), levels=T.levels_from_table1(read("table1")), clinical_alpha=0.1,
                  multivariable_method="firth", anchor=A["table2"])
    tm = T.coefficients_table(read("nomogram_coefficients"), labels, anchor=A["model"], title="The nomogram model",
                              source="nomogram_coefficients", method="firth")
    t3 = T.table3(read("metrics"), labels, validation=read("validation_summary"), anchor=A["table3"])
    td = T.delong_table(read("delong"), labels, anchor=A["delong"])
    tv = T.validation_table(read("validation_summary"), labels, anchor=A["validation"])
    ts = T.selection_table(read("steps"), anchor=A["selection"])
    h = facts.headline
    return {
        "title": "Early recurrence of HCC after thermal ablation <synthetic> & demo",
        "subtitle": "Report components test",
        "generated": "2026-11-29 21:46 UTC, radnomo 0.1.0",
        "headline": {"model_label": labels.model("nomogram"), "test": h["test"], "train": h["train"],
                     "corrected": dict(h["corrected"], estimator="5-fold CV × 2"),
                     "note": "Synthetic cohort: oracle AUC 0.754."},
        "warnings": facts.warnings,
        "deviations": [{"setting": d["setting"], "study": json.dumps(d["study"]), "this_run": json.dumps(d["this run"])}
                       for d in facts.deviations],
        "sections": [
            {"id": "participants", "title": "Participants", "blocks": [
                {"type": "table", "table": t1.to_dict()}, {"type": "table", "table": t1b.to_dict()}]},
            {"id": "models", "title": "Models", "blocks": [
                {"type": "table", "table": ts.to_dict()}, {"type": "table", "table": t2.to_dict()},
                {"type": "table", "table": tm.to_dict()},
                {"type": "table", "table": T.coefficients_table(read("nomogram_coefficients"), labels,
                                                                anchor=A["rad_score"], title="Rad score",
                                                                source="rad_score_coefficients").to_dict()},
                {"type": "table", "table": T.coefficients_table(read("nomogram_coefficients"), labels,
                                                                anchor=A["dl_score"], title="DL score",
                                                                source="dl_score_coefficients").to_dict()},
                {"type": "figure", "figure": fig("nomogram", "The nomogram.", embed=True)}]},
            {"id": "performance", "title": "Performance", "blocks": [
                {"type": "table", "table": t3.to_dict()}, {"type": "table", "table": td.to_dict()},
                {"type": "table", "table": tv.to_dict()},
                {"type": "figures", "figures": [fig("roc", "ROC curves."), fig("calibration", "Calibration."),
                                                fig("dca", "Decision curves."),
                                                fig("stability", "Selection stability.")]}]},
            {"id": "explain", "title": "Explainability", "blocks": [
                {"type": "figures", "figures": [fig("shap", "SHAP."), fig("gradcam", "Grad-CAM."),
                                                fig("deep_history", "Training history.")]},
                {"type": "note", "text": "Grad-CAM maps of a lightly trained model."}]},
        ],
        "checklists": C.checklist_context(facts),
        "run_record": [{"id": A[k], "title": k.replace("run_", "").title(), "rows": [["key", "value"]]}
                       for k in A if k.startswith("run_")],
    }


@pytest.fixture
def report_context(tmp_path):
    """(context, folder): :func:`synthetic_context` with its figures written under ``folder``."""
    return synthetic_context(tmp_path), tmp_path
