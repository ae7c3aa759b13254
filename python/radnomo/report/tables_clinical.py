"""Journal tables of the clinical side: Table 1 (baseline characteristics), Table 2 (univariable and
multivariable odds ratios), a fitted model's coefficients."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from radnomo.report.formatting import DASH, fmt_num, fmt_or_ci, fmt_p, num
from radnomo.report.journal import JournalTable, Row
from radnomo.report.labels import Labels

# ------------------------------------------------------------------------------------- Table 1 ---

#: The fixed columns of R ``baseline_table()``; the others are the groups.
TABLE1_FIXED = ("variable", "level", "summary", "overall", "p_value", "test")

#: What ``summary`` says in R's table, as the row label writes it.
_SUMMARY_TEXT = {"mean ± SD": "mean ± SD", "median (IQR)": "median (IQR)", "n (%)": "n (%)"}

TABLE1_RULE = (
    "Continuous variables: mean ± SD, or median (IQR: first and third quartiles) when the variable is "
    "skewed (absolute sample skewness above 1 over all patients with a value); p-values from the "
    "Mann–Whitney U test (Kruskal–Wallis for more than two groups). Categorical variables: n (%) among "
    "patients with a value; p-values from Pearson's χ² test (Yates' correction for 2 × 2 tables) or "
    "Fisher's exact test when an expected count is below 5. Variables are treated as continuous when "
    "numeric with more than five distinct values and not declared categorical (R baseline_table).")


def table1(df: pd.DataFrame, labels: Labels, *, anchor: str = "table-1",
           title: str = "Baseline characteristics", group_n: Mapping[str, Any] | None = None,
           source: str = "table1", caption: str = "") -> JournalTable:
    """Table 1 from R ``baseline_table()`` output (``table1*.csv``: variable, level, summary, overall,
    one column per group, p_value, test).

    One row per continuous variable (its label, unit and summary statistic), a heading row per
    categorical variable carrying its single p-value and test, with its levels indented below it.

    Parameters
    ----------
    df
        The CSV as read by pandas.
    labels
        Readable names.
    group_n
        Patients per column, keyed by the CSV's column name (``overall``, ``training set``,
        ``label = 1``, ...): shown as ``(n = ..)`` in the heading.
    """
    missing = {"variable", "level", "summary", "overall", "p_value", "test"} - set(df.columns)
    if missing:
        raise ValueError(f"{source}: not a baseline_table() output (missing column(s) {sorted(missing)})")
    cols = list(df.columns)
    groups = cols[cols.index("overall") + 1: cols.index("p_value")]
    data_cols = ["overall", *groups]
    headings = ["Characteristic", *_table1_headings(data_cols, labels, dict(group_n or {})), "p", "Test"]
    rows: list[Row] = []
    tests_used: list[str] = []
    for var, sub in df.groupby("variable", sort=False):
        var = str(var)
        first = sub.iloc[0]
        test = "" if pd.isna(first["test"]) else str(first["test"])
        if test and test not in tests_used:
            tests_used.append(test)
        summary = str(first["summary"])
        name = labels.with_unit(var)
        continuous = summary != "n (%)" and pd.isna(first["level"])
        if continuous:
            rows.append(Row([f"{name}, {_SUMMARY_TEXT.get(summary, summary)}",
                             *[_cell(first[c]) for c in data_cols], fmt_p(first["p_value"]), test],
                            indent=0, kind="row"))
            rest = sub.iloc[1:]
        else:
            rows.append(Row([f"{name}, n (%)", *[""] * len(data_cols), fmt_p(first["p_value"]), test],
                            indent=0, kind="variable"))
            rest = sub
        binary = {_level_text(v) for v in rest["level"] if _level_text(v) != "Missing"} <= {"0", "1"}
        for _, r in rest.iterrows():
            rows.append(Row([labels.level(var, r["level"], binary=binary), *[_cell(r[c]) for c in data_cols], "", ""],
                            indent=1, kind="row"))
    notes = [TABLE1_RULE]
    if tests_used:
        notes.append("Tests used: " + ", ".join(tests_used) + ".")
    return JournalTable(anchor=anchor, title=title, columns=headings, rows=rows, footnotes=notes,
                        caption=caption, sources=[source])


def _table1_headings(data_cols: list[str], labels: Labels, group_n: dict) -> list[str]:
    """Column headings of Table 1's groups, with ``(n = ..)`` where known."""
    out = []
    for c in data_cols:
        h = "Overall" if c == "overall" else labels.group(c)
        n = group_n.get(c)
        out.append(h + (f" (n = {int(n)})" if num(n) is not None else ""))
    return out


def _level_text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    t = str(v)
    return t[:-2] if t.endswith(".0") and t[:-2].lstrip("-").isdigit() else t


def _cell(v: Any) -> str:
    return DASH if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


# ------------------------------------------------------------------------------------- Table 2 ---

def levels_from_table1(df: pd.DataFrame | None) -> dict[str, list[str]]:
    """The categorical variables' levels in Table 1's order (``{variable: [level, ...]}``), used to
    name the reference level of a factor in Table 2."""
    if df is None or not len(df):
        return {}
    out: dict[str, list[str]] = {}
    for var, sub in df.groupby("variable", sort=False):
        levs = [str(v) for v in sub["level"] if not pd.isna(v) and str(v) != "Missing"]
        if levs:
            out[str(var)] = levs
    return out


def _term_level(variable: str, term: str) -> str | None:
    """The level a factor term stands for (``sexmale`` -> ``male``, ``sex=male`` -> ``male``), or
    ``None`` when the term is the variable itself (a numeric or 0/1 term)."""
    if term == variable:
        return None
    for pre in (variable + "=", variable):
        if term.startswith(pre):
            return term[len(pre):]
    return None


def table2(univariable: pd.DataFrame, labels: Labels, *, multivariable: pd.DataFrame | None = None,
           vif: pd.DataFrame | None = None, levels: Mapping[str, Sequence[str]] | None = None,
           anchor: str = "table-2", title: str = "Univariable and multivariable logistic regression",
           clinical_alpha: float | None = None, multivariable_method: str | None = None,
           caption: str = "") -> JournalTable:
    """Table 2: odds ratios (95% CI) and p of the univariable and multivariable clinical models, and
    the multivariable model's variance inflation factors.

    Parameters
    ----------
    univariable
        ``clinical_univariable.csv``: variable, term, odds_ratio, or_lower, or_upper, p_value and,
        optionally, separation (True where the univariable fit separated: OR not estimable).
    multivariable
        ``clinical_multivariable.csv``: variable, term, odds_ratio, or_lower, or_upper, p_value.
    vif
        ``clinical_vif.csv``: term, vif.
    levels
        Categorical levels (:func:`levels_from_table1`) to name a factor's reference level.
    clinical_alpha
        The univariable p threshold for entering the multivariable model (footnote).
    multivariable_method
        ``"firth"`` when the multivariable model was refitted with Firth's method (footnote).
    """
    need = {"variable", "term", "odds_ratio", "or_lower", "or_upper", "p_value"}
    if need - set(univariable.columns):
        raise ValueError(f"clinical_univariable: missing column(s) {sorted(need - set(univariable.columns))}")
    multi = {} if multivariable is None else {str(r["term"]): r for _, r in multivariable.iterrows()}
    vifs = {} if vif is None or not len(vif) else {str(r["term"]): r["vif"] for _, r in vif.iterrows()}
    levels = {k: list(v) for k, v in (levels or {}).items()}
    has_vif = bool(vifs)
    cols = ["Characteristic", "Univariable OR (95% CI)", "p", "Multivariable OR (95% CI)", "p"]
    if has_vif:
        cols.append("VIF")
    rows: list[Row] = []
    separated = []
    for var, sub in univariable.groupby("variable", sort=False):
        var = str(var)
        terms = [(str(r["term"]), r) for _, r in sub.iterrows()]
        factor = len(terms) > 1 or _term_level(var, terms[0][0]) is not None
        if factor:
            rows.append(Row([labels.with_unit(var), *[""] * (len(cols) - 1)], indent=0, kind="variable"))
            named = {_term_level(var, t) for t, _ in terms}
            ref = [lv for lv in levels.get(var, []) if lv not in named]
            if len(ref) == 1:
                rows.append(Row([f"{labels.level(var, ref[0], binary=set(levels[var]) <= {'0', '1'})} (reference)",
                                 "1 (reference)", "",
                                 "1 (reference)" if any(t in multi for t, _ in terms) else "", "",
                                 *([""] if has_vif else [])], indent=1))
        for term, r in terms:
            rows.append(Row(_table2_cells(var, term, r, multi.get(term), vifs if has_vif else None, labels, levels,
                                          separated), indent=1 if factor else 0))
    notes = _table2_notes(clinical_alpha, multivariable_method, separated, has_vif,
                          profile=_profile_ci(multivariable))
    srcs = ["clinical_univariable"] + (["clinical_multivariable"] if multivariable is not None else []) + \
        (["clinical_vif"] if has_vif else [])
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=srcs)


def _table2_cells(var: str, term: str, r, m, vifs: dict | None, labels: Labels, levels: dict[str, list[str]],
                  separated: list[str]) -> list[str]:
    """One term's row of Table 2 (``m``: its multivariable row or ``None``; ``vifs``: ``None`` without
    a VIF column); a separated univariable fit is named in ``separated``."""
    lev = _term_level(var, term)
    binary = set(levels.get(var, ["0", "1"])) <= {"0", "1"}
    label = labels.level(var, lev, binary=binary) if lev is not None else labels.with_unit(var)
    if _is_true(r.get("separation")):
        uni, up = "Not estimable (separation)", DASH
        separated.append(labels.label(var))
    else:
        uni, up = fmt_or_ci(r["odds_ratio"], r["or_lower"], r["or_upper"]), fmt_p(r["p_value"])
    mc, mp = ("", "") if m is None else (fmt_or_ci(m["odds_ratio"], m["or_lower"], m["or_upper"]),
                                         fmt_p(m["p_value"]))
    cells = [label, uni, up, mc, mp]
    if vifs is not None:
        cells.append(fmt_num(vifs[term], 2) if term in vifs else "")
    return cells


#: How radnomo's R tables name the profile penalised-likelihood interval (Firth fits; R/firth.R).
PROFILE_NOTE = ("95% CI from the profile penalised likelihood and p from the penalised likelihood-ratio test "
                "(Heinze & Schemper, Stat Med 2002;21:2409)")


def _profile_ci(coefs: pd.DataFrame | None) -> bool:
    """Whether a coefficient table's CIs are profile penalised-likelihood intervals (its ``ci_method``)."""
    if coefs is None or "ci_method" not in coefs.columns:
        return False
    return any("profile" in str(v).lower() for v in coefs["ci_method"])


def _table2_notes(clinical_alpha: float | None, multivariable_method: str | None, separated: list[str],
                  has_vif: bool, profile: bool = False) -> list[str]:
    notes = ["OR, odds ratio per unit (continuous variables) or versus the reference level; 95% Wald "
             "confidence intervals" + (" (univariable)" if profile else "") + "; training set."]
    if clinical_alpha is not None:
        notes.append(f"Variables with a univariable p < {clinical_alpha:g} entered the multivariable model; an empty "
                     "multivariable cell means the variable did not enter it.")
    if multivariable_method == "firth":
        notes.append("The multivariable model's data separate; its coefficients are from Firth's "
                     "bias-reduced logistic regression" + (f", with {PROFILE_NOTE}." if profile else "."))
    if separated:
        notes.append("Not estimable: the univariable fit shows (quasi-)complete separation "
                     f"({', '.join(separated)}); its maximum-likelihood OR is infinite or zero.")
    if has_vif:
        notes.append("VIF, variance inflation factor of the multivariable model's terms.")
    return notes


def _is_true(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    try:
        return bool(v) and not (isinstance(v, float) and math.isnan(v))
    except (TypeError, ValueError):
        return False


def coefficients_table(coefs: pd.DataFrame, labels: Labels, *, anchor: str, title: str,
                       source: str, method: str | None = None, caption: str = "") -> JournalTable:
    """A fitted logistic model in full (``*_coefficients.csv``: term, estimate, std_error, p_value,
    odds_ratio, or_lower, or_upper): β (SE), OR (95% CI), p per term, the intercept first.

    This is the one table per model: the LASSO path coefficients (``selection_*_coefficients``) and
    the SHAP term list (``*_score_terms``) repeat these numbers and stay in the CSV files."""
    need = {"term", "estimate", "std_error", "p_value", "odds_ratio", "or_lower", "or_upper"}
    if need - set(coefs.columns):
        raise ValueError(f"{source}: missing column(s) {sorted(need - set(coefs.columns))}")
    cols = ["Term", "β (SE)", "OR (95% CI)", "p"]
    rows = []
    for _, r in coefs.iterrows():
        term = str(r["term"])
        intercept = term in ("(Intercept)", "Intercept")
        rows.append(Row([labels.feature(term) if not intercept else "Intercept",
                         f"{fmt_num(r['estimate'], 3)} ({fmt_num(r['std_error'], 3)})",
                         DASH if intercept else fmt_or_ci(r["odds_ratio"], r["or_lower"], r["or_upper"]),
                         fmt_p(r["p_value"])]))
    profile = _profile_ci(coefs)
    notes = ["β, log-odds coefficient; SE, its standard error; OR, odds ratio per unit of the term "
             + ("(95% CI below); training set." if profile else "(Wald 95% CI); training set.")]
    if method == "firth" or profile:
        notes.append("Coefficients from Firth's bias-reduced logistic regression (the data separate)"
                     + (f"; {PROFILE_NOTE}." if profile else "."))
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=[source])
