"""What SHAP needs from the fitted study: each score model's selected terms and coefficients.

Written by the stats stage beside the study (``shap_<kind>_coefficients.csv``,
``shap_<kind>_train.csv``, ``shap_<kind>_test.csv`` for the Rad (``rad``) and DL (``dl``) scores),
read by the shap stage, which needs no R.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from radnomo.errors import InputError
from radnomo.io.atomic import write_csv
from radnomo.pipeline import study_adapter as sa
from radnomo.pipeline.layout import SHAP_KINDS, StatsFiles


def write_shap_inputs(study: Any, train: pd.DataFrame, test: pd.DataFrame, files: StatsFiles, *,
                      deep: bool) -> tuple[dict[str, int], list[str]]:
    """Selected terms and coefficients of the Rad and DL score models (DL only when ``deep``).

    Returns ``({kind: number of terms}, warnings)``; a score without inputs (nothing selected,
    no model) is named in the warnings.
    """
    made: dict[str, int] = {}
    msgs: list[str] = []
    for kind in SHAP_KINDS:
        if kind == "dl" and not deep:
            continue
        try:
            b, b0, terms_train = sa.score_terms(study, kind, train)
            _, _, terms_test = sa.score_terms(study, kind, test)
        except InputError as exc:
            msgs.append(f"SHAP inputs for the {kind} score unavailable: {exc}")
            continue
        write_csv(pd.DataFrame({"term": ["(Intercept)", *b.index], "estimate": [b0, *b.to_numpy()]}),
                  files.shap_coefficients(kind))
        write_csv(terms_train.assign(patient_id=train.patient_id.to_numpy()), files.shap_terms(kind, "train"))
        write_csv(terms_test.assign(patient_id=test.patient_id.to_numpy()), files.shap_terms(kind, "test"))
        made[kind] = len(b)
    return made, msgs
