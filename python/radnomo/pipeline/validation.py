"""The validate stage's R call: ``radnomo.stats.validate_study`` on the stats stage's training table.

With several workers, R's ``validate_study`` forks the process (``parallel::mclapply``). Forking
a Python process that embeds R is only safe when no other Python thread can hold the GIL at
that moment: a forked R worker calls back into Python (rpy2's ``R_ProcessEvents`` hook) and
waits forever for a GIL whose holder does not exist in the child. A pipeline run has such
threads (the stage's memory sampler, torch's, a test runner's), so with ``workers > 1`` the
call runs in a fresh single-threaded Python process (``python -m radnomo.pipeline.validation
SPEC.json``) that writes the tables; with one worker it runs in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from radnomo.errors import InputError, RadnomoError, RError

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


def run_validation(stage_dir, train_csv, columns_json, kwargs: dict[str, Any], *, subprocess_: bool | None = None,
                   timeout: float | None = None) -> dict:
    """:func:`validate_training_set`, in a fresh Python process when R will fork (``workers > 1``).

    ``subprocess_``: force (True) or avoid (False) the separate process; default: when
    ``kwargs["workers"] > 1``. Errors in the child are raised here with their message
    (:class:`~radnomo.errors.RError` for R's, :class:`~radnomo.errors.InputError` for input errors).
    """
    if subprocess_ is None:
        subprocess_ = int(kwargs.get("workers", 1)) > 1
    if not subprocess_:
        return validate_training_set(stage_dir, train_csv, columns_json, kwargs)
    stage_dir = Path(stage_dir)
    spec = stage_dir / "validate_call.json"
    result = stage_dir / "validate_result.json"
    result.unlink(missing_ok=True)
    spec.write_text(json.dumps({"stage_dir": str(stage_dir), "train_csv": str(train_csv),
                                "columns_json": str(columns_json), "kwargs": kwargs, "result": str(result)}),
                    encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "radnomo.pipeline.validation", str(spec)], capture_output=True,
                          text=True, timeout=timeout, env=os.environ.copy())
    spec.unlink(missing_ok=True)
    out = json.loads(result.read_text(encoding="utf-8")) if result.exists() else None
    result.unlink(missing_ok=True)
    if out is None or "error" in out:
        msg = (out or {}).get("error") or (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        kind = (out or {}).get("kind", "")
        cls = {"RInputError": InputError, "InputError": InputError}.get(kind, RError)
        raise cls(f"validate stage: {msg}")
    return out


def _child(spec_path: str) -> int:
    """Entry point of the separate process (``python -m radnomo.pipeline.validation SPEC.json``)."""
    from radnomo.parallel import die_with_parent

    die_with_parent()  # Linux: killed with its parent; no watcher thread (this process must stay single-threaded)
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    try:
        out = validate_training_set(spec["stage_dir"], spec["train_csv"], spec["columns_json"], spec["kwargs"])
        code = 0
    except RadnomoError as exc:
        out, code = {"error": str(exc), "kind": type(exc).__name__}, 1
    Path(spec["result"]).write_text(json.dumps(out), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
