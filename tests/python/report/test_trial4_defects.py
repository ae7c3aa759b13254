"""Report defects found in the fourth user trial: separated calibration fits, optimism rows without an
apparent value, degenerate AUC intervals, exclusion reasons, deep-off wording, Grad-CAM titles.
Built from small hand-made frames (numbers of the trial's demo run)."""

from __future__ import annotations

import pandas as pd

from radnomo.report import build_tables as BT
from radnomo.report import tables as T
from radnomo.report.labels import Labels

L = Labels()

# the trial's demo run: calibration of a nomogram whose training-set risks separate the outcome
CAL_TRAIN = pd.DataFrame([{"n": 28, "intercept": -0.2478, "intercept_lower": -1.5506, "intercept_upper": 1.0549,
                           "slope": 33.565, "slope_lower": -61780.288, "slope_upper": 61847.419, "brier": 0.0196,
                           "hl_statistic": 3.353, "hl_df": 1, "hl_p": 0.067}])
CAL_TEST = pd.DataFrame([{"n": 12, "intercept": 0.1335, "intercept_lower": -1.4785, "intercept_upper": 1.7455,
                          "slope": -0.0631, "slope_lower": -0.5082, "slope_upper": 0.3820, "brier": 0.342,
                          "hl_statistic": 30.6, "hl_df": 3, "hl_p": 1e-6}])
FITS = pd.DataFrame({"model": ["clinical", "rad_score", "nomogram"], "separation": [False, False, True],
                     "converged": [True, True, True], "method": ["ml", "ml", "firth"], "note": ["", "", "sep"]})


def _metrics(train_auc: float) -> pd.DataFrame:
    return pd.DataFrame({"set": ["train", "test"], "model": ["nomogram", "nomogram"], "n": [28, 12],
                         "n_events": [9, 4], "auc": [train_auc, 0.406], "auc_lower": [min(train_auc, 0.9), 0.028],
                         "auc_upper": [1.0, 0.785]})


def _calibration_table(tables: dict) -> T.JournalTable:
    inp = BT.ReportInputs(tables=tables, labels=L, settings={})
    spec = next(s for s in BT.TABLES if s.anchor == "table-calibration-stats")
    return spec.make(inp, spec)


def test_calibration_slope_of_a_separated_fit_is_not_estimable():
    t = _calibration_table({"calibration_train_stats": CAL_TRAIN, "calibration_test_stats": CAL_TEST,
                            "metrics": _metrics(1.0), "fits": FITS})
    slope = "Calibration slope (95% CI)"
    train = t.rows[0].cells[t.columns.index(slope)]
    assert train == "Not estimable (separation)"
    assert "61780" not in " ".join(" ".join(r.cells) for r in t.rows)
    # the calibration intercept (offset model) stays estimable; the test set is untouched
    assert t.rows[0].cells[t.columns.index("Calibration intercept (95% CI)")] == "-0.248 (-1.551–1.055)"
    assert t.rows[1].cells[t.columns.index(slope)] == "-0.063 (-0.508–0.382)"
    assert any(n.startswith("Not estimable (separation):") and "AUC 1" in n for n in t.footnotes)


def test_calibration_absurd_interval_hidden_even_without_auc_one():
    # a flagged (Firth) fit whose risks do not separate completely: the slope is shown when its CI is sane ...
    sane = CAL_TRAIN.assign(slope=0.8, slope_lower=0.3, slope_upper=1.3)
    t = _calibration_table({"calibration_train_stats": sane, "metrics": _metrics(0.97), "fits": FITS})
    assert t.rows[0].cells[3] == "0.800 (0.300–1.300)"
    assert len(t.footnotes) == 1
    # ... and not when R stopped at an absurd interval
    t = _calibration_table({"calibration_train_stats": CAL_TRAIN, "metrics": _metrics(0.97), "fits": FITS})
    assert t.rows[0].cells[3] == "Not estimable (separation)"
    # without a separation flag the reason is the interval itself
    t = _calibration_table({"calibration_train_stats": CAL_TRAIN, "metrics": _metrics(0.97)})
    assert t.rows[0].cells[3] == "Not estimable (no finite interval)"
    assert any(n.startswith("Not estimable (no finite interval):") for n in t.footnotes)


# validation_summary of the trial's demo run (cv): the separated nomogram has no apparent slope
SUMMARY = pd.DataFrame({
    "model": ["nomogram"] * 3, "metric": ["auc", "slope", "brier"],
    "apparent": [1.0, float("nan"), 0.0196], "optimism": [0.3667, float("nan"), float("nan")],
    "corrected": [0.6333, 0.0638, float("nan")], "lower": [0.4035, float("nan"), float("nan")],
    "upper": [0.8632, float("nan"), float("nan")], "test": [0.406, -0.063, 0.342]})


def test_validation_corrected_without_apparent_follows_the_method():
    nomo = L.model("nomogram")
    # bootstrap (and an unknown method): corrected = apparent − optimism, so no corrected value without both
    for method in ("boot", None):
        v = T.validation_table(SUMMARY, L, method=method)
        assert v.cell("Calibration slope", "Apparent", after=nomo) == "—"
        assert v.cell("Calibration slope", "Optimism", after=nomo) == "—"
        assert v.cell("Calibration slope", "Corrected (95% CI)", after=nomo) == "—"
        assert v.cell("AUC", "Corrected (95% CI)", after=nomo) == "0.633 (0.404–0.863)"
        assert v.footnotes[0].startswith("Corrected = apparent − optimism")
    # cross-validation estimates the corrected value directly: shown, its missing optimism explained
    v = T.validation_table(SUMMARY, L, method="cv")
    assert v.cell("Calibration slope", "Corrected (95% CI)", after=nomo) == "0.064"
    assert v.cell("Calibration slope", "Optimism", after=nomo) == "—ᵃ"
    assert v.cell("AUC", "Optimism", after=nomo) == "0.367"
    assert "optimism = apparent − corrected" in v.footnotes[0]
    assert "Corrected = apparent − optimism" not in " ".join(v.footnotes)
    assert any(n.startswith("ᵃ No apparent value") for n in v.footnotes)
    # a metric the method does not estimate stays empty
    assert v.cell("Brier score", "Corrected (95% CI)", after=nomo) == "—"


PERFECT = "1.000 (perfect separation on the training set; no interval)"


def _results(train_auc: float = 1.0, excluded: list | None = None, deep: bool = True) -> dict:
    m = _metrics(train_auc).assign(auc_lower=lambda d: d["auc"].where(d["set"] == "train", 0.028))
    cfg = {"data": {"missing": "complete_cases"}, "deep": {"enabled": deep}}
    return {"tables": {"metrics": m.to_dict("records"), "excluded": excluded or []},
            "run_record": {"configuration": cfg, "patients": {"train": {"n": 28, "events": 9},
                                                              "test": {"n": 12, "events": 4}}}}


def test_perfect_training_auc_has_no_zero_width_interval():
    from radnomo.report import checklist_fill_tripod as TR
    from radnomo.report import checklists as C
    from radnomo.report.build_page import headline

    h = T.headline(_metrics(1.0).assign(auc_lower=[1.0, 0.028]))
    assert h["train"]["text"] == PERFECT
    assert h["test"]["text"] == "0.406 (0.028–0.785)"
    assert T.headline(_metrics(0.97))["train"]["text"] == "0.970 (0.900–1.000)"  # an ordinary interval stays
    # the page's headline and TRIPOD items 2 and 23a say the same
    inp = BT.ReportInputs(tables={"metrics": _metrics(1.0).assign(auc_lower=[1.0, 0.028])}, labels=L, settings={})
    assert headline(inp, {})["train"]["text"] == PERFECT
    f = C.facts_from_run(_results())
    for item in (TR.t2, TR.t23a):
        text = item(f).text
        assert f"training AUC {PERFECT}" in text and "1.000 (1.000–1.000)" not in text


def test_missing_data_item_tells_exclusion_reasons_apart():
    from radnomo.report import checklist_fill_tripod as TR
    from radnomo.report import checklists as C

    mismatch = {"patient_id": "P0005", "reason": "outcome 'label' differs between manifest and clinical table: 1 in "
                "the manifest manifest.csv, 0 in the clinical table clinical_mismatch.csv"}
    f = C.facts_from_run(_results(excluded=[mismatch]))
    t11 = TR.t11(f).text
    assert "no patient excluded for missing data" in t11
    assert ("1 patient(s) excluded for other reasons, not missing data (1 outcome 'label' differs between manifest "
            "and clinical table; see Warnings)") in t11
    assert "; 1 patient(s) excluded." not in t11
    assert TR.t6b(f).text == ("radnomo's cohort checks excluded 1 patient(s) (1 outcome 'label' differs between "
                              "manifest and clinical table); each is named with its reason under Warnings.")
    clear = {r.number: r for r in C.fill("clear", f)}
    assert clear["29"].text == TR.t11(f).text  # CLEAR's missing-data item says the same
    missing = [{"patient_id": "P1", "reason": "empty clinical cell(s): lnafp"},
               {"patient_id": "P2", "reason": "no row in the clinical table"},
               {"patient_id": "P3", "reason": "outcome 'label' missing or not 0/1"},
               {"patient_id": "P4", "reason": "empty manifest cell(s): t2_image"}]
    t11 = TR.t11(C.facts_from_run(_results(excluded=missing + [mismatch]))).text
    assert ("4 patient(s) excluded for missing data (1 empty clinical cell(s), 1 no row in the clinical table, "
            "1 outcome 'label' missing or not 0/1, 1 empty manifest cell(s))") in t11
    assert "1 patient(s) excluded for other reasons" in t11
    assert "other reasons" not in TR.t11(C.facts_from_run(_results(excluded=missing))).text


def test_deep_off_wording_and_unused_deep_deviations():
    from radnomo.report import checklist_fill_radiomics as RA
    from radnomo.report import checklists as C
    from radnomo.report.build_page import deviations

    off = RA.c34(C.facts_from_run(_results(deep=False))).text
    assert "the nomogram combines the Rad score and the selected clinical variables." in off
    assert "scores" not in off and "DL" not in off
    on = RA.c34(C.facts_from_run(_results(deep=True))).text
    assert "the nomogram combines the Rad score, the DL score and the selected clinical variables." in on
    devs = [{"setting": "deep.enabled", "study": True, "this run": False},
            {"setting": "deep.train.epochs", "study": 50, "this run": 1},
            {"setting": "stats.B", "study": 1000, "this run": 100}]
    rows = {d["setting"]: d for d in deviations({"configuration": {"deep": {"enabled": False}},
                                                 "deviations_from_study_config": devs})}
    assert rows["deep.train.epochs"]["this_run"] == "1 (not used: deep features off)"
    assert rows["deep.enabled"]["this_run"] == "false" and rows["stats.B"]["this_run"] == "100"
    # deep on (or no configuration in the record): nothing is marked
    for cfg in ({"deep": {"enabled": True}}, {}):
        rows = {d["setting"]: d for d in deviations({"configuration": cfg, "deviations_from_study_config": devs})}
        assert rows["deep.train.epochs"]["this_run"] == "1"


def test_gradcam_titles_use_the_display_labels(monkeypatch, tmp_path):
    from types import SimpleNamespace

    import numpy as np

    from radnomo.explain import gradcam as G

    lab = Labels({"outcome": {"event": "Recurrence ≤ 6 months", "nonevent": "No recurrence"}})
    assert G.gradcam_title("P0002", "pvp", 22, 0.0812, sequence_label=lab.sequence("pvp"),
                           event_label=lab.event) == "P0002 · PVP · slice 22 · p(Recurrence ≤ 6 months) = 0.08"
    assert G.gradcam_title("P0002", "pvp", 22, 0.0812) == "P0002 · pvp · slice 22 · p(label 1) = 0.08"
    # the overlays pass the labels through to the drawn title
    titles = []
    monkeypatch.setattr(G, "grad_cam", lambda model, x, target_layer: (np.zeros((1, 8, 8)), np.array([-2.43])))
    monkeypatch.setattr(G, "save_gradcam_overlay", lambda *a, title=None, **k: titles.append(title))
    stack = SimpleNamespace(images=np.zeros((2, 8, 8), np.float32), masks=np.ones((2, 8, 8), bool),
                            slice_index=np.array([21, 22]))
    G._overlays(None, "P0002", "pvp", stack, [1], tmp_path, device="cpu", target_layer="x",
                sequence_label="PVP", event_label="Recurrence ≤ 6 months")
    assert titles == ["P0002 · PVP · slice 22 · p(Recurrence ≤ 6 months) = 0.08"]
