"""Journal-style tables of the report, built from the CSV tables a run writes.

Each function takes the run's DataFrames as written to ``stats/tables/*.csv`` and
``validate/*.csv`` (column names below), a :class:`~radnomo.report.labels.Labels`, and returns a
:class:`JournalTable`: a title, column headings, rows (with an indent level) of *formatted* cells,
and footnotes. Nothing is recomputed: every number comes from the CSV (one implementation per
number, in R); the tables only choose, label, order and format.

Formatting (one rule for the whole report):

* p-values: three decimals; ``<0.001`` below 0.001 and ``>0.999`` above 0.999 (:func:`fmt_p`).
* AUC and other 0-1 statistics with a CI: three decimals, ``0.569 (0.268–0.871)`` (:func:`fmt_ci`).
* Odds ratios: two decimals below 10, one below 100, none above; ``<0.01`` below 0.01; an infinite
  or undefined bound is written ``∞``/``—`` (:func:`fmt_ratio`).
* Proportions (sensitivity, ...): a percentage with one decimal, and the counts behind it when they
  can be recovered exactly from the CSV (``78.6% (11/14)``) (:func:`fmt_pct`).
* A missing value is an em dash (``—``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from radnomo.report.labels import Labels

DASH = "—"
EN = "–"


# ------------------------------------------------------------------------------------- formatting ---

def _num(v: Any) -> float | None:
    """A float, or ``None`` for missing/blank/non-numeric values (infinities are kept)."""
    if v is None:
        return None
    if isinstance(v, str):
        s = v.strip().lower()
        if s in ("", "na", "nan", "none", "null"):
            return None
        if s in ("inf", "+inf", "infinity"):
            return math.inf
        if s in ("-inf", "-infinity"):
            return -math.inf
        try:
            return float(s)
        except ValueError:
            return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def fmt_p(p: Any) -> str:
    """A p-value: ``<0.001``, ``>0.999`` or three decimals; ``—`` when missing."""
    v = _num(p)
    if v is None or not math.isfinite(v):
        return DASH
    if v < 0.001:
        return "<0.001"
    if v > 0.999:
        return ">0.999"
    return f"{v:.3f}"


def fmt_num(v: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals (``−`` for minus is not used: CSV-comparable text)."""
    x = _num(v)
    if x is None:
        return DASH
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    out = f"{x:.{digits}f}"
    return "0" + out[2:] if out.startswith("-0") and float(out) == 0 else out


def fmt_ci(est: Any, lower: Any, upper: Any, digits: int = 3) -> str:
    """``est (lower–upper)``; the estimate alone when the interval is missing."""
    e = fmt_num(est, digits)
    if e == DASH:
        return DASH
    if _num(lower) is None or _num(upper) is None:
        return e
    return f"{e} ({fmt_num(lower, digits)}{EN}{fmt_num(upper, digits)})"


def fmt_ratio(v: Any) -> str:
    """An odds ratio: two decimals below 10, one below 100, none above; ``<0.01``; ``∞``."""
    x = _num(v)
    if x is None:
        return DASH
    if math.isinf(x):
        return "∞"
    if x < 0.01:
        return "<0.01"
    if x < 10:
        return f"{x:.2f}"
    if x < 100:
        return f"{x:.1f}"
    return f"{x:.0f}"


def fmt_or_ci(ratio: Any, lower: Any, upper: Any) -> str:
    """``OR (lower–upper)`` with :func:`fmt_ratio` for each part."""
    r = fmt_ratio(ratio)
    if r == DASH:
        return DASH
    if _num(lower) is None or _num(upper) is None:
        return r
    return f"{r} ({fmt_ratio(lower)}{EN}{fmt_ratio(upper)})"


def _count(x: float, tol: float = 1e-6) -> int | None:
    r = round(x)
    return int(r) if abs(x - r) < tol * max(1.0, abs(x)) else None


def fmt_pct(prop: Any, numerator: Any = None, denominator: Any = None, lower: Any = None,
            upper: Any = None) -> str:
    """A proportion as a percentage with one decimal, with its 95% CI when given (``78.6% (55.2–91.4)``),
    else with its counts when both are whole numbers (``78.6% (11/14)``)."""
    p = _num(prop)
    if p is None or not math.isfinite(p):
        return DASH
    out = f"{100 * p:.1f}%"
    lo, hi = _num(lower), _num(upper)
    if lo is not None and hi is not None:
        return f"{out} ({100 * lo:.1f}{EN}{100 * hi:.1f})"
    n, d = _num(numerator), _num(denominator)
    if n is not None and d is not None:
        ni, di = _count(n), _count(d)
        if ni is not None and di is not None and di > 0:
            return f"{out} ({ni}/{di})"
    return out


# ---------------------------------------------------------------------------------------- tables ---

@dataclass
class Row:
    """One table row: formatted cells (first = row label), indent level (0 = variable, 1 = level),
    kind ``"row"``, ``"variable"`` (a heading row of a group of levels) or ``"section"`` (spans the
    table)."""

    cells: list[str]
    indent: int = 0
    kind: str = "row"


@dataclass
class JournalTable:
    """A table as a journal prints it. ``anchor`` is the HTML id the report gives it (checklists
    link to it); ``sources`` names the CSV tables its numbers come from."""

    anchor: str
    title: str
    columns: list[str]
    rows: list[Row]
    footnotes: list[str] = field(default_factory=list)
    caption: str = ""
    sources: list[str] = field(default_factory=list)
    number: int | None = None

    def to_dict(self) -> dict:
        """The template context of this table (see ``templating.render_report``)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """The formatted table as a DataFrame (indented labels prefixed with two spaces per level),
        for CSV/Markdown export."""
        recs = []
        for r in self.rows:
            cells = list(r.cells) + [""] * (len(self.columns) - len(r.cells))
            cells[0] = "  " * r.indent + cells[0]
            recs.append(cells[: len(self.columns)])
        return pd.DataFrame(recs, columns=_unique(self.columns))

    def row(self, label: str, *, after: str | None = None) -> Row:
        """The first row whose label is ``label`` (after the row labelled ``after``, when given)."""
        start = 0
        if after is not None:
            start = next(i for i, r in enumerate(self.rows) if r.cells[0] == after) + 1
        for r in self.rows[start:]:
            if r.cells[0] == label:
                return r
        raise KeyError(f"{self.anchor}: no row {label!r}" + (f" after {after!r}" if after else ""))

    def cell(self, label: str, column: str | int, *, after: str | None = None) -> str:
        """The formatted cell of row ``label`` and column ``column`` (heading or index)."""
        r = self.row(label, after=after)
        j = column if isinstance(column, int) else self.columns.index(column)
        return r.cells[j] if j < len(r.cells) else ""


def _unique(cols: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        seen[c] = seen.get(c, 0) + 1
        out.append(c if seen[c] == 1 else f"{c} ({seen[c]})")
    return out


def _n_suffix(n: Any, events: Any = None) -> str:
    ni = _num(n)
    if ni is None:
        return ""
    ev = _num(events)
    return f" (n = {int(ni)}" + (f", events = {int(ev)})" if ev is not None else ")")


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
    group_n = dict(group_n or {})
    headings = ["Characteristic"]
    for c in data_cols:
        h = "Overall" if c == "overall" else labels.group(c)
        n = group_n.get(c)
        headings.append(h + (f" (n = {int(n)})" if _num(n) is not None else ""))
    headings += ["p", "Test"]
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
            lev = _term_level(var, term)
            binary = set(levels.get(var, ["0", "1"])) <= {"0", "1"}
            label = labels.level(var, lev, binary=binary) if lev is not None else labels.with_unit(var)
            if _is_true(r.get("separation")):
                uni, up = "Not estimable (separation)", DASH
                separated.append(labels.label(var))
            else:
                uni, up = fmt_or_ci(r["odds_ratio"], r["or_lower"], r["or_upper"]), fmt_p(r["p_value"])
            m = multi.get(term)
            mc, mp = ("", "") if m is None else (fmt_or_ci(m["odds_ratio"], m["or_lower"], m["or_upper"]),
                                                 fmt_p(m["p_value"]))
            cells = [label, uni, up, mc, mp]
            if has_vif:
                cells.append(fmt_num(vifs[term], 2) if term in vifs else "")
            rows.append(Row(cells, indent=1 if factor else 0))
    notes = ["OR, odds ratio per unit (continuous variables) or versus the reference level; 95% Wald "
             "confidence intervals; training set."]
    if clinical_alpha is not None:
        notes.append(f"Variables with a univariable p < {clinical_alpha:g} entered the multivariable model; an empty "
                     "multivariable cell means the variable did not enter it.")
    if multivariable_method == "firth":
        notes.append("The multivariable model's data separate; its coefficients are from Firth's "
                     "bias-reduced logistic regression.")
    if separated:
        notes.append("Not estimable: the univariable fit shows (quasi-)complete separation "
                     f"({', '.join(separated)}); its maximum-likelihood OR is infinite or zero.")
    if has_vif:
        notes.append("VIF, variance inflation factor of the multivariable model's terms.")
    srcs = ["clinical_univariable"] + (["clinical_multivariable"] if multivariable is not None else []) + \
        (["clinical_vif"] if has_vif else [])
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=srcs)


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
    notes = ["β, log-odds coefficient; SE, its standard error; OR, odds ratio per unit of the term "
             "(Wald 95% CI); training set."]
    if method == "firth":
        notes.append("Coefficients from Firth's bias-reduced logistic regression (the data separate).")
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=[source])


# ------------------------------------------------------------------------------------- Table 3 ---

#: Table 3 proportions: metric column, numerator and denominator from TP/FP/TN/FN.
_PROPORTIONS = (("sensitivity", "Sensitivity"), ("specificity", "Specificity"), ("ppv", "PPV"),
                ("npv", "NPV"), ("accuracy", "Accuracy"))


def _confusion(r: Mapping[str, Any]) -> dict[str, tuple[float, float]] | None:
    """Numerators/denominators of the proportions, recovered from n, events, sensitivity and
    specificity (exact counts only; ``None`` when they are not whole numbers)."""
    n, ev, se, sp = (_num(r.get(k)) for k in ("n", "n_events", "sensitivity", "specificity"))
    if None in (n, ev, se, sp):
        return None
    tp, tn = se * ev, sp * (n - ev)
    if _count(tp) is None or _count(tn) is None:
        return None
    tp, tn = float(_count(tp)), float(_count(tn))
    fn, fp = ev - tp, (n - ev) - tn
    return {"sensitivity": (tp, ev), "specificity": (tn, n - ev), "ppv": (tp, tp + fp),
            "npv": (tn, tn + fn), "accuracy": (tp + tn, n)}


def table3(metrics: pd.DataFrame, labels: Labels, *, validation: pd.DataFrame | None = None,
           anchor: str = "table-3", title: str = "Performance of the models",
           models: Sequence[str] | None = None, caption: str = "",
           validation_estimator: str | None = None) -> JournalTable:
    """Table 3: per set (training, test) and model, the AUC with its DeLong 95% CI, sensitivity,
    specificity, PPV, NPV and accuracy at the training-set Youden cut-off, and, when the validate
    stage ran, the optimism-corrected AUC (95% CI) on the training rows.

    Parameters
    ----------
    metrics
        ``metrics.csv``: set, model, n, n_events, auc, auc_lower, auc_upper, threshold, sensitivity,
        specificity, ppv, npv, accuracy (and, if R provides them, ``<metric>_lower``/``_upper``).
    validation
        ``validation_summary.csv`` (or ``validation_performance.csv``): model, metric, apparent,
        corrected, lower, upper.
    models
        Models in display order (default: the CSV's order).
    """
    need = {"set", "model", "auc", "auc_lower", "auc_upper", "sensitivity", "specificity", "ppv", "npv",
            "accuracy"}
    if need - set(metrics.columns):
        raise ValueError(f"metrics: missing column(s) {sorted(need - set(metrics.columns))}")
    corrected = {}
    if validation is not None and len(validation):
        for _, r in validation.loc[validation["metric"] == "auc"].iterrows():
            corrected[str(r["model"])] = r
    cols = ["Model", "AUC (95% CI)"]
    if corrected:
        cols.append("Optimism-corrected AUC (95% CI)")
    cols += [lab for _, lab in _PROPORTIONS] + ["Cut-off"]
    rows: list[Row] = []
    order = list(models) if models else list(dict.fromkeys(metrics["model"].astype(str)))
    for s, sub in metrics.groupby("set", sort=False):
        first = sub.iloc[0]
        rows.append(Row([labels.set_name(str(s)) + _n_suffix(first.get("n"), first.get("n_events"))],
                        kind="section"))
        by_model = {str(r["model"]): r for _, r in sub.iterrows()}
        for m in order:
            if m not in by_model:
                continue
            r = by_model[m]
            cells = [labels.model(m), fmt_ci(r["auc"], r["auc_lower"], r["auc_upper"])]
            if corrected:
                c = corrected.get(m)
                cells.append(fmt_ci(c["corrected"], c["lower"], c["upper"]) if c is not None and str(s) == "train"
                             else "")
            conf = _confusion(r)
            for key, _ in _PROPORTIONS:
                num, den = conf[key] if conf else (None, None)
                cells.append(fmt_pct(r[key], num, den, r.get(f"{key}_lower"), r.get(f"{key}_upper")))
            cells.append(fmt_num(r.get("threshold"), 3))
            rows.append(Row(cells, indent=1))
    notes = ["AUC, area under the ROC curve with its DeLong 95% CI. Sensitivity, specificity, PPV "
             "(positive predictive value), NPV (negative predictive value) and accuracy at the cut-off "
             "(predicted risk) that maximises Youden's index on the training set, reused unchanged on the "
             "test set; counts in brackets."]
    if not any(f"{k}_lower" in metrics.columns for k, _ in _PROPORTIONS):
        notes.append("Confidence intervals of the proportions are not part of the run's outputs (metrics.csv).")
    if corrected:
        notes.append("Optimism-corrected AUC: the training-set AUC corrected by internal validation of the whole "
                     "modelling process" + (f" ({validation_estimator})" if validation_estimator else "")
                     + "; its 95% CI is Hanley–McNeil's at the corrected value.")
    srcs = ["metrics"] + (["validation_summary"] if corrected else [])
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=srcs)


def delong_table(delong: pd.DataFrame, labels: Labels, *, anchor: str = "table-delong",
                 title: str = "Pairwise comparison of AUCs (DeLong's test)", caption: str = "") -> JournalTable:
    """Pairwise DeLong tests per set (``delong.csv``: set, model_1, model_2, auc_1, auc_2, difference,
    lower, upper, p): the AUC difference with its 95% CI and the p-value."""
    cols = ["Comparison", "ΔAUC (95% CI)", "p"]
    rows: list[Row] = []
    for s, sub in delong.groupby("set", sort=False):
        rows.append(Row([labels.set_name(str(s))], kind="section"))
        for _, r in sub.iterrows():
            rows.append(Row([f"{labels.model(r['model_1'])} vs {labels.model(r['model_2'])}",
                             fmt_ci(r["difference"], r["lower"], r["upper"]), fmt_p(r["p"])], indent=1))
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, caption=caption,
                        footnotes=["ΔAUC, AUC of the first model minus that of the second; paired DeLong test, "
                                   "two-sided; not adjusted for multiple comparisons."], sources=["delong"])


#: Validation metrics in display order, with their names.
VALIDATION_METRICS = (("auc", "AUC"), ("brier", "Brier score"), ("scaled_brier", "Scaled Brier score"),
                      ("citl", "Calibration-in-the-large"), ("recalibration_intercept", "Recalibration intercept"),
                      ("slope", "Calibration slope"), ("emax", "Emax"), ("e90", "E90"))


def validation_table(summary: pd.DataFrame, labels: Labels, *, anchor: str = "table-validation",
                     title: str = "Internal validation of the whole modelling process",
                     estimator: str | None = None, caption: str = "") -> JournalTable:
    """Apparent, optimism and optimism-corrected performance per model (``validation_summary.csv``:
    model, metric, apparent, optimism, corrected, lower, upper, and test when present)."""
    has_test = "test" in summary.columns
    cols = ["Metric", "Apparent", "Optimism", "Corrected (95% CI)"] + (["Test set"] if has_test else [])
    names = dict(VALIDATION_METRICS)
    rows: list[Row] = []
    for m, sub in summary.groupby("model", sort=False):
        rows.append(Row([labels.model(str(m))], kind="section"))
        for _, r in sub.iterrows():
            cells = [names.get(str(r["metric"]), str(r["metric"])), fmt_num(r["apparent"]), fmt_num(r["optimism"]),
                     fmt_ci(r["corrected"], r.get("lower"), r.get("upper"))]
            if has_test:
                cells.append(fmt_num(r["test"]))
            rows.append(Row(cells, indent=1))
    notes = ["Corrected = apparent − optimism, training set" + (f"; {estimator}" if estimator else "")
             + ". Calibration-in-the-large and recalibration intercept: ideal 0; slope: ideal 1; Emax, E90: "
             "maximum and 90th percentile of the absolute difference between predicted risk and the smoothed "
             "calibration curve."]
    return JournalTable(anchor=anchor, title=title, columns=cols, rows=rows, footnotes=notes, caption=caption,
                        sources=["validation_summary"])


#: Names of the selection steps (``steps.csv``).
STEP_NAMES = {"input": "Candidate features", "mwu": "Mann–Whitney U filter", "correlation": "Correlation pruning",
              "pca": "Principal components", "lasso": "LASSO", "univariable": "Univariable logistic filter",
              "predictors": "Predictors of the nomogram"}
BLOCK_NAMES = {"radiomics": "Radiomics features", "deep": "Deep features", "clinical": "Clinical variables",
               "nomogram": "Nomogram"}


def selection_table(steps: pd.DataFrame, *, anchor: str = "table-selection",
                    title: str = "Features remaining after each selection step", caption: str = "",
                    settings: Mapping[str, Any] | None = None) -> JournalTable:
    """Feature counts per block and step (``steps.csv``: block, step, n_features), training set."""
    rows: list[Row] = []
    for b, sub in steps.groupby("block", sort=False):
        rows.append(Row([BLOCK_NAMES.get(str(b), str(b))], kind="section"))
        for _, r in sub.iterrows():
            n = _num(r["n_features"])
            rows.append(Row([STEP_NAMES.get(str(r["step"]), str(r["step"])), DASH if n is None else str(int(n))],
                            indent=1))
    notes = ["Training set only; every step is refitted inside each resample of the internal validation."]
    if settings:
        notes.append("Settings: " + "; ".join(f"{k} = {v}" for k, v in settings.items()) + ".")
    return JournalTable(anchor=anchor, title=title, columns=["Step", "Features"], rows=rows, footnotes=notes,
                        caption=caption, sources=["steps"])


# ------------------------------------------------------------------------------------- headline ---

def headline(metrics: pd.DataFrame, *, model: str = "nomogram", validation: pd.DataFrame | None = None) -> dict | None:
    """The report's headline numbers for ``model``: ``{"test": {...}, "train": {...}, "corrected":
    {...} | None}`` with ``auc``, ``lower``, ``upper`` (floats) and ``n``/``events`` per set, plus
    ``text`` (each formatted with :func:`fmt_ci`); ``None`` when the model has no metrics."""
    sub = metrics.loc[metrics["model"].astype(str) == model]
    if not len(sub):
        return None
    out: dict[str, Any] = {"model": model}
    for s in ("train", "test"):
        r = sub.loc[sub["set"].astype(str) == s]
        if len(r):
            r = r.iloc[0]
            out[s] = {"auc": _num(r["auc"]), "lower": _num(r["auc_lower"]), "upper": _num(r["auc_upper"]),
                      "n": _int_or_none(r.get("n")), "events": _int_or_none(r.get("n_events")),
                      "text": fmt_ci(r["auc"], r["auc_lower"], r["auc_upper"])}
    out["corrected"] = None
    if validation is not None and len(validation):
        v = validation.loc[(validation["model"].astype(str) == model) & (validation["metric"] == "auc")]
        if len(v) and _num(v.iloc[0]["corrected"]) is not None:
            r = v.iloc[0]
            out["corrected"] = {"auc": _num(r["corrected"]), "lower": _num(r.get("lower")),
                                "upper": _num(r.get("upper")), "apparent": _num(r.get("apparent")),
                                "text": fmt_ci(r["corrected"], r.get("lower"), r.get("upper"))}
    return out


def _int_or_none(v: Any) -> int | None:
    x = _num(v)
    return None if x is None or not math.isfinite(x) else int(x)


def parse_ci(text: str) -> tuple[float, float | None, float | None]:
    """The numbers of a formatted ``est (lower–upper)`` cell (for tests and consumers)."""
    m = re.fullmatch(r"\s*(-?[\d.]+)%?(?:\s*\((-?[\d.]+)\s*" + EN + r"\s*(-?[\d.]+)\))?\s*", text)
    if not m:
        raise ValueError(f"not an 'estimate (lower–upper)' cell: {text!r}")
    g = m.groups()
    return float(g[0]), (float(g[1]) if g[1] else None), (float(g[2]) if g[2] else None)
