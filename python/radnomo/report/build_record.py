"""The run record as readable tables: software versions, seeds, inputs, preprocessing, features,
stage timings, the configuration, the run's files.

Each part is ``{"id", "title", "rows": [[key, value], ...], "note"}`` (the template's run-record
context); the ids are :data:`radnomo.report.anchors.ANCHORS`' ``run_*`` entries, which the
checklists link to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from radnomo.report.anchors import ANCHORS

#: Libraries named first in the software part (the others follow alphabetically).
KEY_SOFTWARE = ("radnomo", "python", "R", "R:radnomo", "numpy", "pandas", "pyradiomics", "SimpleITK", "torch",
                "torchvision", "rpy2", "R:rms", "R:glmnet", "R:pROC", "R:brglm2")


def _text(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v, default=str, ensure_ascii=False)
    return str(v)


def flatten(d: Mapping[str, Any], prefix: str = "") -> list[list[str]]:
    """``[[dotted.key, value], ...]`` of a nested mapping (lists as compact JSON)."""
    rows: list[list[str]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            rows += flatten(v, key + ".")
        else:
            rows.append([key, _text(v)])
    return rows


def _software(record: Mapping[str, Any]) -> list[list[str]]:
    v = dict(record.get("versions") or {})
    order = [k for k in KEY_SOFTWARE if k in v] + sorted(k for k in v if k not in KEY_SOFTWARE)
    return [[k.replace("R:", "R package "), _text(v[k])] for k in order]


def _inputs(record: Mapping[str, Any], n_excluded: int) -> list[list[str]]:
    names = {"manifest_sha256": "Manifest (SHA-256)", "clinical_sha256": "Clinical table (SHA-256)",
             "images_sha256": "Images and masks (SHA-256)"}
    rows = [[names.get(k, k), _text(v)] for k, v in (record.get("input_hashes") or {}).items()]
    for s, c in (record.get("patients") or {}).items():
        rows.append([f"Patients, {s}", f"{c.get('n')} ({c.get('events')} events)"])
    rows.append(["Patients excluded by the cohort checks", str(n_excluded)])
    return rows


def _features(config: Mapping[str, Any], record: Mapping[str, Any], steps: list[dict]) -> list[list[str]]:
    rad = dict(config.get("radiomics") or {})
    rows = [["Radiomics engine", _text(rad.get("engine"))]]
    rows += flatten(rad.get("params") or {}, "radiomics.params.") if isinstance(rad.get("params"), Mapping) else \
        [["radiomics.params", _text(rad.get("params"))]]
    rows += [[f"Candidate features, {r['block']}", str(r["n_features"])] for r in steps if r.get("step") == "input"]
    if record.get("deep_features"):
        rows += flatten(record["deep_features"], "deep features: ")
    return rows


def _stages(record: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, t in (record.get("stages") or {}).items():
        sec = t.get("seconds")
        bits = [f"{float(sec):.1f} s" if sec is not None else "time not recorded"]
        if t.get("peak_rss_mb") is not None:
            bits.append(f"peak memory {float(t['peak_rss_mb']):.0f} MiB")
        if t.get("finished"):
            bits.append(f"finished {t['finished']}")
        if t.get("skipped_this_run"):
            bits.append("reused from an earlier run (same inputs and settings)")
        bits.append(f"key {str(t.get('key'))[:12]}")
        rows.append([name, "; ".join(bits)])
    return rows


def _files(report_dir: Path) -> list[list[str]]:
    rows = []
    for sub, what in (("tables", "table"), ("figures", "figure")):
        files = sorted((report_dir / sub).glob("*"))
        if files:
            rows.append([f"report/{sub}/", f"{len(files)} {what}s: " + ", ".join(f.name for f in files)])
    cl = sorted(report_dir.glob("checklist_*"))
    if cl:
        rows.append(["report/checklist_*", ", ".join(f.name for f in cl)])
    rows += [["report/results.json", "every table's numbers, the figures' files, the run record"],
             ["model/", "the frozen model (radnomo predict, radnomo evaluate)"],
             ["stats/fit_study.R, validate/validate_study.R", "rerun the statistics and the validation in R alone"],
             ["config.effective.yaml", "the configuration of this run"]]
    return rows


def run_record_parts(record: Mapping[str, Any], report_dir: Path, *, steps: list[dict],
                     n_excluded: int) -> list[dict]:
    """The run record's parts for the template (see the module docstring)."""
    cfg = dict(record.get("configuration") or {})
    seeds = [[k.replace("_", " "), _text(v)] for k, v in (record.get("seeds") or {}).items()]
    parts = [
        {"id": ANCHORS["run_software"], "title": "Software versions", "rows": _software(record)},
        {"id": ANCHORS["run_seeds"], "title": "Seeds", "rows": seeds,
         "note": "The same seeds, data and settings give the same results."},
        {"id": ANCHORS["run_inputs"], "title": "Inputs", "rows": _inputs(record, n_excluded)},
        {"id": ANCHORS["run_preprocessing"], "title": "Image preprocessing",
         "rows": flatten(cfg.get("preprocess") or {}, "preprocess.")},
        {"id": ANCHORS["run_features"], "title": "Feature extraction", "rows": _features(cfg, record, steps)},
        {"id": ANCHORS["run_stages"], "title": "Stages and timings", "rows": _stages(record)},
        {"id": ANCHORS["run_config"], "title": "Configuration of this run",
         "rows": flatten({k: v for k, v in cfg.items() if k not in ("preprocess", "labels")}),
         "note": "Paths relative to the study folder; the labels section is used for the names in this report."},
        {"id": ANCHORS["run_files"], "title": "Files of this run", "rows": _files(report_dir)},
    ]
    notes = [str(n) for n in record.get("notes") or []]
    if notes:
        parts.append({"id": "run-notes", "title": "Notes", "rows": [[str(i + 1), n] for i, n in enumerate(notes)]})
    return parts
