"""radnomo.report.tables: journal tables from the run's CSVs; formatted cells agree with the CSV numbers."""

import math

import pandas as pd
import pytest

from radnomo.report import tables as T
from radnomo.report.labels import Labels

L = Labels()


def test_formatting_rules():
    assert [T.fmt_p(p) for p in (0.0004, 0.001, 0.0123, 0.5, 0.9996, None, float("nan"))] == \
        ["<0.001", "0.001", "0.012", "0.500", ">0.999", "—", "—"]
    assert T.fmt_ci(0.5694, 0.268, 0.871) == "0.569 (0.268–0.871)"
    assert T.fmt_ci(0.5, None, 0.7) == "0.500"
    assert [T.fmt_ratio(v) for v in (0.004, 0.256, 7.222, 63.6, 5677.6, math.inf, None)] == \
        ["<0.01", "0.26", "7.22", "63.6", "5678", "∞", "—"]
    assert T.fmt_pct(11 / 14, 11, 14) == "78.6% (11/14)"
    assert T.fmt_pct(0.5, 4.5, 9) == "50.0%"  # counts that are not whole numbers are not shown
    assert T.fmt_pct(0.786, lower=0.52, upper=0.92) == "78.6% (52.0–92.0)"
    assert T.fmt_num(-0.0001) == "0.000"
    assert T.parse_ci("0.569 (0.268–0.871)") == (0.569, 0.268, 0.871)


def test_table1_one_row_per_variable_levels_indented(csv):
    raw = csv("table1")
    t = T.table1(raw, L, group_n={"overall": 60, "training set": 42, "test set": 18})
    assert t.columns == ["Characteristic", "Overall (n = 60)", "Training set (n = 42)", "Test set (n = 18)", "p", "Test"]
    text = " ".join(" ".join(r.cells) for r in t.rows)
    assert "NA" not in text.split() and "nan" not in text
    top = [r for r in t.rows if r.indent == 0]
    assert len(top) == raw["variable"].nunique()  # one top-level row per variable
    for var, sub in raw.groupby("variable", sort=False):
        row = next(r for r in top if r.cells[0].startswith(L.with_unit(var) + ","))
        assert row.cells[-2] == T.fmt_p(sub["p_value"].iloc[0])  # one p-value per variable
        assert row.cells[-1] == sub["test"].iloc[0]
        if sub["summary"].iloc[0] == "n (%)":
            assert row.kind == "variable" and row.cells[0].endswith("n (%)")
            i = t.rows.index(row)
            levels = t.rows[i + 1: i + 1 + len(sub)]
            assert all(r.indent == 1 and r.cells[-2:] == ["", ""] for r in levels)
            assert [r.cells[2] for r in levels] == list(sub["training set"])
        else:
            assert row.cells[0].endswith(sub["summary"].iloc[0])  # the summary statistic is stated
            assert row.cells[1:4] == [sub["overall"].iloc[0], sub["training set"].iloc[0], sub["test set"].iloc[0]]
    # 0/1 variables read No/Yes, a 1/2/3 variable keeps its numbers
    assert t.cell("Yes", "Overall (n = 60)", after="Multiple low signal, n (%)") == "32 (53.3%)"
    assert t.cell("1", "Overall (n = 60)", after="Tumor number, n (%)") == "45 (75.0%)"
    assert any("skewness" in n for n in t.footnotes)


def test_table1_by_outcome_uses_outcome_names(csv):
    lab = Labels({"outcome": {"event": "Recurrence", "nonevent": "No recurrence"}})
    t = T.table1(csv("table1_train_by_outcome"), lab)
    assert t.columns[1:4] == ["Overall", "Recurrence", "No recurrence"]


def test_table1_rejects_other_tables(csv):
    with pytest.raises(ValueError, match="baseline_table"):
        T.table1(csv("metrics"), L)


def test_table2_cells_match_the_csv(csv):
    uni, multi, vif = csv("clinical_univariable"), csv("clinical_multivariable"), csv("clinical_vif")
    t = T.table2(uni, L, multivariable=multi, vif=vif, levels=T.levels_from_table1(csv("table1")),
                 clinical_alpha=0.1, multivariable_method="firth")
    assert t.columns == ["Characteristic", "Univariable OR (95% CI)", "p", "Multivariable OR (95% CI)", "p", "VIF"]
    age = uni.loc[uni.term == "age"].iloc[0]
    assert t.cell("Age", 1) == f"{age.odds_ratio:.2f} ({age.or_lower:.2f}–{age.or_upper:.2f})"
    assert t.cell("Age", 2) == T.fmt_p(age.p_value)
    assert t.cell("Age", 3) == ""  # not in the multivariable model
    # factor: heading row, reference level, level row with univariable and multivariable ORs and the VIF
    assert t.row("Sex").kind == "variable"
    assert t.cell("Female (reference)", 1) == "1 (reference)"
    m = multi.loc[multi.term == "sexmale"].iloc[0]
    assert t.cell("Male", 3) == T.fmt_or_ci(m.odds_ratio, m.or_lower, m.or_upper)
    assert t.cell("Male", 4) == T.fmt_p(m.p_value)
    assert t.cell("Male", 5) == f"{vif.loc[vif.term == 'sexmale', 'vif'].iloc[0]:.2f}"
    # the separated univariable fit is not shown as an OR of 0.00 (0.00-inf)
    assert t.cell("Complication", 1) == "Not estimable (separation)"
    assert any("Firth" in n for n in t.footnotes) and any("p < 0.1" in n for n in t.footnotes)


def test_table3_cells_match_the_csv(csv):
    metrics, val = csv("metrics"), csv("validation_summary")
    t = T.table3(metrics, L, validation=val)
    assert "Optimism-corrected AUC (95% CI)" in t.columns
    for s, section in (("train", "Training set (n = 42, events = 14)"), ("test", "Test set (n = 18, events = 6)")):
        assert t.row(section).kind == "section"
        for _, r in metrics.loc[metrics.set == s].iterrows():
            cell = t.cell(L.model(r.model), "AUC (95% CI)", after=section)
            est, lo, hi = T.parse_ci(cell)
            assert (est, lo, hi) == (round(r.auc, 3), round(r.auc_lower, 3), round(r.auc_upper, 3))
            sens = t.cell(L.model(r.model), "Sensitivity", after=section)
            assert sens.startswith(f"{100 * r.sensitivity:.1f}%")
            tp = round(r.sensitivity * r.n_events)
            assert sens.endswith(f"({tp}/{r.n_events})")
            acc = t.cell(L.model(r.model), "Accuracy", after=section)
            assert acc == f"{100 * r.accuracy:.1f}% ({round(r.accuracy * r.n)}/{r.n})"
    c = val.loc[(val.model == "nomogram") & (val.metric == "auc")].iloc[0]
    assert t.cell(L.model("nomogram"), "Optimism-corrected AUC (95% CI)", after="Training set (n = 42, events = 14)") \
        == T.fmt_ci(c.corrected, c.lower, c.upper)
    assert t.cell(L.model("nomogram"), "Optimism-corrected AUC (95% CI)", after="Test set (n = 18, events = 6)") == ""


def test_table3_shows_proportion_cis_when_r_gives_them(csv):
    m = csv("metrics").head(1).assign(sensitivity_lower=0.5, sensitivity_upper=0.9)
    t = T.table3(m, L)
    assert t.rows[1].cells[2].endswith("(50.0–90.0)")


def test_other_tables(csv):
    co = T.coefficients_table(csv("nomogram_coefficients"), L, anchor="table-model", title="Nomogram",
                              source="nomogram_coefficients", method="firth")
    assert co.cell("Intercept", "OR (95% CI)") == "—"
    r = csv("nomogram_coefficients").iloc[2]
    assert co.cell("DL score", "β (SE)") == f"{r.estimate:.3f} ({r.std_error:.3f})"
    assert co.cell("Sex: Male", "p") == T.fmt_p(csv("nomogram_coefficients").iloc[3].p_value)
    d = T.delong_table(csv("delong"), L)
    assert d.cell("Clinical model vs Rad score", "p", after="Test set") == "0.006"
    v = T.validation_table(csv("validation_summary"), L)
    assert v.cell("AUC", "Corrected (95% CI)", after="DL-Rad-Clinical nomogram").startswith("0.404 (")
    s = T.selection_table(csv("steps"))
    assert s.cell("LASSO", "Features", after="Deep features") == "8"
    frame = s.to_frame()
    assert list(frame.columns) == ["Step", "Features"] and frame.iloc[1, 0].startswith("  ")


def test_headline(csv):
    h = T.headline(csv("metrics"), validation=csv("validation_summary"))
    assert h["test"]["text"] == "0.569 (0.268–0.871)" and h["test"]["n"] == 18 and h["test"]["events"] == 6
    assert h["train"]["text"] == "0.997 (0.990–1.000)"
    assert h["corrected"]["text"] == "0.404 (0.225–0.584)"
    assert T.headline(csv("metrics"), model="nothing") is None
    assert T.headline(csv("metrics"))["corrected"] is None


def test_firth_tables_say_which_interval_they_show(csv):
    """R marks each coefficient table's interval (ci_method): Wald for ordinary fits, the profile
    penalised likelihood for Firth fits; the footnotes follow it (no 'Wald' under a profile CI)."""
    co = csv("nomogram_coefficients")
    wald = T.coefficients_table(co.assign(ci_method="Wald"), L, anchor="a", title="t", source="s")
    assert any("Wald 95% CI" in n for n in wald.footnotes) and not any("profile" in n for n in wald.footnotes)
    prof = T.coefficients_table(co.assign(ci_method="profile penalised likelihood"), L, anchor="a", title="t",
                                source="s", method="firth")
    assert not any("Wald" in n for n in prof.footnotes)
    assert any("profile penalised likelihood" in n and "Heinze" in n for n in prof.footnotes)
    uni, multi = csv("clinical_univariable"), csv("clinical_multivariable")
    t2 = T.table2(uni, L, multivariable=multi.assign(ci_method="profile penalised likelihood"),
                  multivariable_method="firth")
    assert any("Wald confidence intervals (univariable)" in n for n in t2.footnotes)
    assert any("Firth" in n and "profile penalised likelihood" in n for n in t2.footnotes)


def test_table3_has_no_zero_width_auc_interval(csv):
    """A training AUC of 1 (pROC's DeLong CI 1-1) reads as a perfect separation in Table 3, as in the
    headline (user trial: "1.000 (1.000-1.000)")."""
    m = csv("metrics").copy()
    i = m.index[(m["set"] == "train")][0]
    m.loc[i, ["auc", "auc_lower", "auc_upper"]] = 1.0
    t = T.table3(m, L)
    texts = [c for r in t.rows for c in r.cells]
    assert "1.000 (perfect separation on the training set; no interval)" in texts
    assert "1.000 (1.000–1.000)" not in texts


def test_nomogram_caption_names_axes_too_short_to_label():
    from radnomo.report.build_figures import short_axes_note

    pts = pd.DataFrame({"variable": ["rad_score"] * 3 + ["plt"] * 2 + ["sex"] * 2,
                        "points": [0.0, 50.0, 100.0, 0.0, 0.18, 0.0, 12.0]})
    note = short_axes_note(pts, L)
    assert "(0.2 points)" in note and "Rad score" not in note and "Sex" not in note
    assert short_axes_note(pts[pts.variable != "plt"], L) == ""
    assert short_axes_note(None, L) == ""
