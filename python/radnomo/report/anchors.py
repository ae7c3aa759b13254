"""The HTML ids of the report's sections, tables, figures and run-record parts.

Checklist answers link to them (:mod:`radnomo.report.checklists`) and the report builder gives each
to the element that shows it (:mod:`radnomo.report.build`), so a link from a checklist always lands.
"""

#: HTML ids of the report's tables, figures and run-record parts that checklist answers link to.
ANCHORS = {
    "headline": "headline",
    "warnings": "warnings",
    "deviations": "deviations",
    "table1": "table-1",
    "table1_outcome": "table-1-outcome",
    "table2": "table-2",
    "model": "table-model",
    "rad_score": "table-rad-score",
    "dl_score": "table-dl-score",
    "table3": "table-3",
    "delong": "table-delong",
    "validation": "table-validation",
    "selection": "table-selection",
    "roc": "fig-roc",
    "calibration": "fig-calibration",
    "dca": "fig-dca",
    "nomogram": "fig-nomogram",
    "shap": "fig-shap",
    "gradcam": "fig-gradcam",
    "stability": "fig-selection-stability",
    "deep_history": "fig-deep-history",
    "run_software": "run-software",
    "run_seeds": "run-seeds",
    "run_preprocessing": "run-preprocessing",
    "run_features": "run-features",
    "run_config": "run-config",
    "run_inputs": "run-inputs",
    "run_stages": "run-stages",
    "run_files": "run-files",
    "checklists": "checklists",
}
