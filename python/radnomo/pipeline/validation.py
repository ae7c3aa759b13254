"""The validate stage's R call: ``radnomo.stats.validate_study`` on the stats stage's training table.

With several workers R runs the resamples in socket R processes when it is embedded in Python
(the bridge sets ``options(radnomo.parallel = "psock")``): forking the Python process that
embeds R deadlocked a forked R worker on the GIL held by another Python thread (the stage's
memory sampler, torch's), so the call is safe from the pipeline's threaded process.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

#: R ``validate_study`` components -> file names in the stage folder.
VALIDATION_TABLES = {"performance": "validation_performance", "calibration": "validation_calibration",
                     "stability": "selection_stability", "selected_terms": "selection_counts",
                     "jaccard": "selection_jaccard", "resamples": "validation_resamples",
                     "timing": "validation_timing"}


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    from radnomo.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def validate_training_set(stage_dir, train_csv, columns_json, kwargs: dict[str, Any]) -> dict:
    """Run ``radnomo.stats.validate_study`` in this process and write its tables into ``stage_dir``.

    ``kwargs``: validate_study's settings (without the data and the column lists). Returns
    ``{"tables": [...], "method", "n_resamples", "warnings": ["<category>: <message>", ...]}``.
    """
    from radnomo.stats import validate_study

    stage_dir = Path(stage_dir)
    train = pd.read_csv(train_csv, dtype={"patient_id": str})
    cols = json.loads(Path(columns_json).read_text(encoding="utf-8"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        val = validate_study(train, radiomics=cols["radiomics"], deep=cols["deep"], clinical=cols["clinical"],
                             **kwargs)
    names = []
    for comp, name in VALIDATION_TABLES.items():
        df = val.robj.component("timing") if comp == "timing" else getattr(val, comp)
        if isinstance(df, pd.DataFrame):
            _write_csv(df, stage_dir / f"{name}.csv")
            names.append(name)
    return {"tables": names, "method": val.method, "n_resamples": int(val.n_resamples),
            "warnings": [f"{w.category.__name__}: {w.message}" for w in caught]}
