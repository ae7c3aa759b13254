"""The report's tables, declared: each with its anchor, title, caption and source CSV tables.

:data:`TABLES` lists every journal table of the page in order. A table is built from the run's
CSV tables by name (``sources``; the first is required, the others are used when present), never
found by guessing a name. When its required source is missing (no model was fitted, the test set
had one class, validation was switched off, ...) the page says so, naming the table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dataclasses
import math

import pandas as pd

from radnomo.report import tables as T
from radnomo.report.anchors import ANCHORS
from radnomo.report.formatting import DASH, fmt_ci, fmt_num, num
from radnomo.report.journal import JournalTable, Row
from radnomo.report.labels import Labels
from radnomo.report.scope import ModelScope

#: The study's models in display order.
MODELS = ("clinical", "rad_score", "dl_score", "nomogram")


@dataclass
class ReportInputs:
    """What the table and figure builders read: the run's tables by name, the labels, settings.

    ``tables``: every CSV table of the run (``report/tables/<name>.csv``); ``settings``: the
    configuration's sections as plain mappings; ``validation``: what the validate stage did
    (:func:`radnomo.report.build_data.validation_info`) or ``None``; ``set_n``: patients and
    events per set (``{"train": (42, 14)}``); ``scope``: the run's feature blocks (deep on or off),
    which decide the declared tables and figures shown and their wording."""

    tables: dict[str, pd.DataFrame]
    labels: Labels
    settings: Mapping[str, Any]
    validation: dict | None = None
    set_n: dict[str, tuple[int, int]] = field(default_factory=dict)
    scope: ModelScope = field(default_factory=ModelScope)

    def words(self) -> dict[str, str]:
        """The placeholders of declared titles and captions (:meth:`ModelScope.words`)."""
        return self.scope.words(self.labels.model("nomogram"))

    def get(self, name: str) -> pd.DataFrame | None:
        """Table ``name`` when the run wrote it with at least one row, else ``None``."""
        df = self.tables.get(name)
        return df if df is not None and len(df) else None


@dataclass(frozen=True)
class TableSpec:
    """One declared table: ``section`` (page section id), ``anchor`` (HTML id), ``title``,
    ``caption`` (both may name the placeholders of :meth:`ReportInputs.words`: ``{models}``,
    ``{nomogram}``, ...), ``sources`` (CSV table names; the first is required), ``make`` (inputs,
    spec -> JournalTable) and ``needs`` (the feature block without which the table is not part of
    the study, so not shown: ``"deep"`` for the DL score)."""

    section: str
    anchor: str
    title: str
    caption: str
    sources: tuple[str, ...]
    make: Callable[[ReportInputs, TableSpec], JournalTable]
    needs: str | None = None


def resolved(spec, inp: ReportInputs):
    """A declared table or figure with its title and caption worded for the run (placeholders filled)."""
    w = inp.words()
    return dataclasses.replace(spec, title=spec.title.format(**w), caption=spec.caption.format(**w))


def tables_of_run(inp: ReportInputs) -> list[TableSpec]:
    """The declared tables that are part of this run's study (its blocks), worded for it."""
    return [resolved(t, inp) for t in TABLES if inp.scope.has(t.needs)]


def _n_of(inp: ReportInputs, split: str) -> str:
    n = inp.set_n.get(split)
    return f" (n = {n[0]}, events = {n[1]})" if n else ""


def _group_n(inp: ReportInputs, df: pd.DataFrame, split: str | None) -> dict[str, int]:
    """Patients per Table 1 column: overall, per set, per outcome class (from the split table)."""
    sp = inp.tables.get("split")
    if sp is None:
        return {}
    sub = sp if split is None else sp.loc[sp["split"] == split]
    out = {"overall": len(sub)}
    for s in ("train", "test"):
        out[{"train": "training set", "test": "test set"}[s]] = int((sp["split"] == s).sum())
    for c in df.columns:
        if c.startswith("label = "):
            out[c] = int((sub["label"].astype(str) == c.split("= ", 1)[1]).sum())
    return out


def _table1(split: str | None) -> Callable[[ReportInputs, TableSpec], JournalTable]:
    def make(inp: ReportInputs, spec: TableSpec) -> JournalTable:
        df = inp.tables[spec.sources[0]]
        return T.table1(df, inp.labels, anchor=spec.anchor, title=spec.title, caption=spec.caption,
                        group_n=_group_n(inp, df, split), source=spec.sources[0])
    return make


def _table2(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    fits = inp.get("fits")
    method = None
    if fits is not None:
        m = fits.loc[fits["model"] == "clinical", "method"]
        method = str(m.iloc[0]) if len(m) else None
    return T.table2(inp.tables["clinical_univariable"], inp.labels, multivariable=inp.get("clinical_multivariable"),
                    vif=inp.get("clinical_vif"), levels=T.levels_from_table1(inp.get("table1")),
                    clinical_alpha=(inp.settings.get("stats") or {}).get("clinical_alpha"),
                    multivariable_method=method, anchor=spec.anchor, title=spec.title, caption=spec.caption)


def _coefficients(model: str) -> Callable[[ReportInputs, TableSpec], JournalTable]:
    def make(inp: ReportInputs, spec: TableSpec) -> JournalTable:
        fits = inp.get("fits")
        method = None
        if fits is not None:
            m = fits.loc[fits["model"] == model, "method"]
            method = str(m.iloc[0]) if len(m) else None
        return T.coefficients_table(inp.tables[spec.sources[0]], inp.labels, anchor=spec.anchor, title=spec.title,
                                    source=spec.sources[0], method=method, caption=spec.caption)
    return make


def _fits(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    """One row per logistic model: separation, ML convergence, the method used and what was done."""
    rows = []
    method_names = {"ml": "Maximum likelihood", "firth": "Firth (bias-reduced)", "lasso": "LASSO linear predictor"}
    for _, r in inp.tables["fits"].iterrows():
        sep = r.get("separation")
        conv = r.get("converged")
        rows.append(Row([inp.labels.model(str(r["model"])), _yes_no(sep), _yes_no(conv),
                         method_names.get(str(r.get("method")), str(r.get("method"))),
                         str(r.get("note") or "") or DASH]))
    return JournalTable(anchor=spec.anchor, title=spec.title, caption=spec.caption, rows=rows,
                        columns=["Model", "Separation", "ML converged", "Method", "Note"], sources=list(spec.sources),
                        footnotes=["Separation: (quasi-)complete separation of the outcome by the model's terms "
                                   "(stats.separation decides what is done)."])


def _yes_no(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return DASH
    return "Yes" if str(v).strip().lower() in ("true", "1", "yes") else "No"


def _table3(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    v = inp.validation
    return T.table3(inp.tables["metrics"], inp.labels, validation=inp.get("validation_summary"), anchor=spec.anchor,
                    title=spec.title, caption=spec.caption, models=inp.scope.models,
                    validation_estimator=v["short"] if v else None)


#: Widest 95% CI of a calibration slope or intercept still shown: beyond it (or with an infinite bound)
#: the recalibration fit did not converge to a finite estimate and its numbers are where R stopped.
CALIBRATION_CI_MAX_WIDTH = 100.0

NOT_ESTIMABLE_SEPARATION = "Not estimable (separation)"
NOT_ESTIMABLE_UNSTABLE = "Not estimable (no finite interval)"


def _nomogram_separates(inp: ReportInputs, split: str) -> bool:
    """Whether the nomogram's risks separate the outcome completely on ``split`` (its AUC there is 1):
    then the recalibration model (outcome on the linear predictor) is itself separated and its
    slope has no finite maximum-likelihood estimate."""
    mt = inp.get("metrics")
    if mt is None or "auc" not in mt.columns:
        return False
    r = mt.loc[(mt["model"].astype(str) == "nomogram") & (mt["set"].astype(str) == split), "auc"]
    a = pd.to_numeric(r, errors="coerce").dropna()
    return bool(len(a)) and float(a.iloc[0]) >= 1.0 - 1e-12


def _fit_flagged_separated(inp: ReportInputs, model: str = "nomogram") -> bool:
    """Whether the stats stage flagged ``model``'s fit as separated (``fits.csv``)."""
    fits = inp.get("fits")
    if fits is None or "separation" not in fits.columns:
        return False
    s = fits.loc[fits["model"].astype(str) == model, "separation"]
    return bool(len(s)) and str(s.iloc[0]).strip().lower() in ("true", "1", "yes")


def _unstable(est: Any, lower: Any, upper: Any) -> bool:
    """An estimate or 95% CI bound that is infinite, or an interval wider than
    :data:`CALIBRATION_CI_MAX_WIDTH` (a missing interval is not unstable: the estimate is shown alone)."""
    vals = [num(v) for v in (est, lower, upper)]
    if any(v is not None and not math.isfinite(v) for v in vals):
        return True
    lo, hi = vals[1], vals[2]
    return lo is not None and hi is not None and hi - lo > CALIBRATION_CI_MAX_WIDTH


def _calibration_cell(est: Any, lower: Any, upper: Any, *, separated: bool, slope: bool) -> tuple[str, str | None]:
    """A calibration intercept/slope cell and why it is not shown (``None`` when it is)."""
    if slope and separated:
        return NOT_ESTIMABLE_SEPARATION, "separation"
    if _unstable(est, lower, upper):
        return (NOT_ESTIMABLE_SEPARATION, "separation") if separated else (NOT_ESTIMABLE_UNSTABLE, "unstable")
    return fmt_ci(est, lower, upper), None


def _calibration_stats(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    """The nomogram's calibration statistics per set (``calibration_<set>_stats.csv``).

    The slope is "Not estimable (separation)" on a set where the nomogram's risks separate the
    outcome (AUC 1): the recalibration model is then separated and R's slope and interval are where
    its iterations stopped (e.g. 33.6 (−61780–61847)). Any intercept or slope whose interval is
    infinite or wider than :data:`CALIBRATION_CI_MAX_WIDTH` is not shown either: "Not estimable
    (separation)" on the training set of a fit the stats stage flagged as separated, else "Not
    estimable (no finite interval)"."""
    rows = []
    why: set[str] = set()
    for name in spec.sources:
        df = inp.get(name)
        if df is None:
            continue
        split = name.split("_")[1]
        r = df.iloc[0]
        complete = _nomogram_separates(inp, split)
        flagged = split == "train" and _fit_flagged_separated(inp)
        icell, iwhy = _calibration_cell(r.get("intercept"), r.get("intercept_lower"), r.get("intercept_upper"),
                                        separated=complete or flagged, slope=False)
        scell, swhy = _calibration_cell(r.get("slope"), r.get("slope_lower"), r.get("slope_upper"),
                                        separated=complete or flagged, slope=complete)
        why |= {w for w in (iwhy, swhy) if w}
        hl_df = "" if pd.isna(r.get("hl_df")) else f" ({int(r['hl_df'])} df)"
        rows.append(Row([inp.labels.set_name(split) + _n_of(inp, split), fmt_num(r.get("brier"), 3), icell, scell,
                         fmt_num(r.get("hl_statistic"), 2) + hl_df, T.fmt_p(r.get("hl_p"))]))
    notes = ["Calibration intercept (calibration-in-the-large; ideal 0) and slope (ideal 1) "
             "of the logistic recalibration model; Hosmer–Lemeshow test over risk groups "
             "(training set: G − 2 df; test set, as external validation: G df)."]
    if "separation" in why:
        notes.append(f"{NOT_ESTIMABLE_SEPARATION}: the recalibration model (outcome on the nomogram's linear "
                     "predictor) has no finite maximum-likelihood estimate, so the numbers R returns are where its "
                     "iterations stopped. Rule: the slope is not shown on a set where the nomogram's predicted risks "
                     "separate the outcome completely (AUC 1); an intercept or slope whose 95% CI is infinite or "
                     f"wider than {CALIBRATION_CI_MAX_WIDTH:g} is not shown on the training set of a fit the stats "
                     "stage flagged as separated (see Model fits). The calibration intercept (linear predictor as "
                     "offset) stays estimable under separation.")
    if "unstable" in why:
        notes.append(f"{NOT_ESTIMABLE_UNSTABLE}: the recalibration fit gave an infinite 95% CI or one wider than "
                     f"{CALIBRATION_CI_MAX_WIDTH:g} (no finite estimate); the value is in the source table.")
    return JournalTable(anchor=spec.anchor, title=spec.title, caption=spec.caption, rows=rows,
                        columns=["Set", "Brier score", "Calibration intercept (95% CI)", "Calibration slope (95% CI)",
                                 "Hosmer–Lemeshow χ²", "p"], sources=list(spec.sources), footnotes=notes)


def _delong(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    return T.delong_table(inp.tables["delong"], inp.labels, anchor=spec.anchor, title=spec.title, caption=spec.caption)


def _selection(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    s = inp.settings.get("stats") or {}
    keep = {k: s[k] for k in ("mwu_alpha", "cor_threshold", "pca_variance", "lambda", "nfolds", "clinical_alpha")
            if k in s}
    return T.selection_table(inp.tables["steps"], anchor=spec.anchor, title=spec.title, caption=spec.caption,
                             settings=keep)


def _validation(inp: ReportInputs, spec: TableSpec) -> JournalTable:
    v = inp.validation or {}
    return T.validation_table(inp.tables["validation_summary"], inp.labels, anchor=spec.anchor, title=spec.title,
                              estimator=v.get("estimator"), caption=spec.caption, method=v.get("method"))


_LABELLERS: dict[str, Callable[[Labels, str], str]] = {
    "model": lambda lab, v: lab.model(v),
    "block": lambda lab, v: T.BLOCK_NAMES.get(v, v),
    "reason": lambda lab, v: v[:1].upper() + v[1:],
}


def _plain(columns: Mapping[str, str], label_column: str | None = None, labeller: str = "model",
           digits: int = 3) -> Callable[[ReportInputs, TableSpec], JournalTable]:
    """A small table shown column by column (``columns``: CSV column -> heading), numbers to ``digits``."""
    def make(inp: ReportInputs, spec: TableSpec) -> JournalTable:
        rows = []
        for _, r in inp.tables[spec.sources[0]].iterrows():
            cells = []
            for c in columns:
                v = r.get(c)
                if c == label_column:
                    cells.append(_LABELLERS[labeller](inp.labels, str(v)))
                elif isinstance(v, (int, float)) and not isinstance(v, bool) and pd.notna(v):
                    cells.append(str(int(v)) if float(v).is_integer() else fmt_num(v, digits))
                else:
                    cells.append(DASH if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
            rows.append(Row(cells))
        return JournalTable(anchor=spec.anchor, title=spec.title, caption=spec.caption, rows=rows,
                            columns=list(columns.values()), sources=list(spec.sources))
    return make


A = ANCHORS

# Long on purpose: the declared list of the report's tables (one entry each, in page order)
TABLES: tuple[TableSpec, ...] = (
    TableSpec("participants", A["table1"], "Baseline characteristics of the training and test sets",
              "Training versus test set; the p-values compare the two sets (comparability of the random split).",
              ("table1",), _table1(None)),
    TableSpec("participants", A["table1_outcome"], "Baseline characteristics by outcome, training set",
              "Patients with versus without the outcome in the training set; the p-values compare the two groups.",
              ("table1_train_by_outcome",), _table1("train")),
    TableSpec("participants", "table-1-outcome-test", "Baseline characteristics by outcome, test set",
              "Patients with versus without the outcome in the test set; the p-values compare the two groups.",
              ("table1_test_by_outcome",), _table1("test")),
    TableSpec("development", A["selection"], "Features remaining after each selection step",
              "Candidate features per block and the number left after each step of the selection, training set.",
              ("steps",), _selection),
    TableSpec("development", A["table2"], "Univariable and multivariable logistic regression of the clinical "
              "variables", "Odds ratios of the clinical variables, training set; the multivariable model is the "
              "clinical model.", ("clinical_univariable", "clinical_multivariable", "clinical_vif"), _table2),
    TableSpec("development", A["model"], "The nomogram model",
              "Logistic regression of the outcome on {nomogram_inputs} (the {nomogram}), training set.",
              ("nomogram_coefficients",), _coefficients("nomogram")),
    TableSpec("development", A["rad_score"], "The Rad score",
              "Logistic model of the radiomics features the LASSO selected, refitted on the training set.",
              ("rad_score_coefficients",), _coefficients("rad_score"), needs="radiomics"),
    TableSpec("development", A["dl_score"], "The DL score",
              "Logistic model of the deep-feature principal components the LASSO selected, refitted on the "
              "training set.", ("dl_score_coefficients",), _coefficients("dl_score"), needs="deep"),
    TableSpec("development", "table-fits", "Model fits",
              "How each logistic model was fitted: separation detected, whether plain maximum likelihood "
              "converged, the method used and the separation policy applied (stats.separation).",
              ("fits",), _fits),
    TableSpec("performance", A["table3"], "Performance of {models}",
              "Discrimination and classification per set; the cut-off is chosen on the training set and reused on "
              "the test set.", ("metrics", "validation_summary"), _table3),
    TableSpec("performance", A["delong"], "Pairwise comparison of the models' AUCs (DeLong's test)",
              "Paired DeLong tests between the models, per set.", ("delong",), _delong),
    TableSpec("performance", "table-calibration-stats", "Calibration of the nomogram",
              "Calibration statistics of the nomogram per set.",
              ("calibration_train_stats", "calibration_test_stats"), _calibration_stats),
    TableSpec("validation", A["validation"], "Internal validation of the whole modelling process",
              "Apparent, optimism and optimism-corrected performance per model and metric, with the frozen "
              "model's test-set value.", ("validation_summary",), _validation),
    TableSpec("validation", "table-selection-jaccard", "Selection stability per block",
              "Mean pairwise Jaccard index of the sets of features selected in the resamples, per block.",
              ("selection_jaccard",), _plain({"block": "Block", "mean_jaccard": "Mean Jaccard index"},
                                             label_column="block", labeller="block")),
    TableSpec("validation", "table-validation-resamples", "Resamples of the internal validation",
              "Resamples that succeeded, failed, separated (policy applied) or produced no model.",
              ("validation_resamples",), _plain({"reason": "Resamples", "n": "Number"}, label_column="reason",
                                                labeller="reason")),
)
