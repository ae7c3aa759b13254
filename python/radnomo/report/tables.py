"""Journal-style tables of the report, built from the CSV tables a run writes.

The functions (:mod:`radnomo.report.tables_clinical`, :mod:`radnomo.report.tables_performance`;
formatting in :mod:`radnomo.report.formatting`, the table type in :mod:`radnomo.report.journal`;
all re-exported here) take the run's DataFrames as written to ``stats/tables/*.csv`` and
``validate/*.csv`` (column names below), a :class:`~radnomo.report.labels.Labels`, and return a
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

from radnomo.report.formatting import (DASH, EN, fmt_ci, fmt_num, fmt_or_ci, fmt_p, fmt_pct, fmt_ratio,
                                       parse_ci)
from radnomo.report.journal import JournalTable, Row
from radnomo.report.tables_clinical import (TABLE1_RULE, coefficients_table, levels_from_table1, table1,
                                            table2)
from radnomo.report.tables_performance import (BLOCK_NAMES, STEP_NAMES, VALIDATION_METRICS, auc_text, delong_table,
                                               headline, selection_table, table3, validation_table)

__all__ = ["BLOCK_NAMES", "DASH", "EN", "JournalTable", "Row", "STEP_NAMES", "TABLE1_RULE", "VALIDATION_METRICS",
           "auc_text", "coefficients_table", "delong_table", "fmt_ci", "fmt_num", "fmt_or_ci", "fmt_p", "fmt_pct", "fmt_ratio",
           "headline", "levels_from_table1", "parse_ci", "selection_table", "table1", "table2", "table3",
           "validation_table"]
