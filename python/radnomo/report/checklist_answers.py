"""Checklist answers (:class:`Answer`) and the sentences they are made of, from :class:`RunFacts`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from radnomo.report.anchors import ANCHORS
from radnomo.report.checklist_facts import RunFacts
from radnomo.report.labels import Labels

AUTHORS = "To be completed by the authors"


@dataclass
class Answer:
    """A checklist answer: ``text`` (what the run shows), ``anchors`` (report ids that show it),
    ``todo`` (what the authors must add; empty when radnomo's answer is complete), ``applicable``
    (False where the item does not apply to this run), and ``value`` (METRICS only: "yes", "no" or
    ``None`` when the authors must judge)."""

    text: str = ""
    anchors: tuple[str, ...] = ()
    todo: str = ""
    applicable: bool = True
    value: str | None = None

    @property
    def status(self) -> str:
        """``filled`` (radnomo answered), ``partial`` (radnomo answered part; authors add the rest),
        ``authors`` (authors only), ``not_applicable``."""
        if not self.applicable:
            return "not_applicable"
        if self.text and not self.todo:
            return "filled"
        return "partial" if self.text else "authors"


def authors(what: str) -> Answer:
    """An item only the authors can answer."""
    return Answer(todo=what)


def shown(*keys: str) -> tuple[str, ...]:
    return tuple(ANCHORS[k] for k in keys)


def n_text(f: RunFacts) -> str:
    parts = [f"{Labels.set_name(k).lower()} {v['n']} patients ({v['events']} events)" for k, v in f.sets.items()]
    return "; ".join(parts)


def split_text(f: RunFacts) -> str:
    if f.split_method == "manifest":
        return "the split given in the cohort manifest"
    frac = f" {100 * (1 - f.test_fraction):.0f}:{100 * f.test_fraction:.0f}" if f.test_fraction is not None else ""
    how = "stratified by outcome" if f.split_method == "stratified" else str(f.split_method or "random")
    return f"random{frac} training/test split at patient level, {how}, seed {f.split_seed}"


def _is_missing_data(reason: str) -> bool:
    """Whether a cohort exclusion (``split/excluded.csv``'s reason) is for missing data: no clinical row,
    an empty manifest (image/mask) or clinical cell, a missing outcome. Other reasons (an outcome that
    differs between manifest and clinical table) are not missing data."""
    r = reason.strip().lower()
    return (r.startswith(("no row in the clinical table", "empty manifest cell", "empty clinical cell"))
            or (r.startswith("outcome ") and "missing" in r.split(":")[0]))


def exclusion_counts(f: RunFacts) -> tuple[dict[str, int], dict[str, int]]:
    """Cohort exclusions per reason (the reason up to its first colon, as the split stage's warning
    counts them): ``(missing data, other reasons)``."""
    miss: dict[str, int] = {}
    other: dict[str, int] = {}
    for r in f.exclusions:
        reason = str(r.get("reason") or "unknown reason")
        key = reason.split(":")[0].strip()
        into = miss if _is_missing_data(reason) else other
        into[key] = into.get(key, 0) + 1
    return miss, other


def _count_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def exclusions_text(f: RunFacts) -> str:
    """``"1 patient(s) excluded for missing data (1 empty clinical cell(s)); 1 patient(s) excluded for
    another reason, not missing data (1 outcome 'label' differs between manifest and clinical table)"``."""
    miss, other = exclusion_counts(f)
    n_miss, n_other = sum(miss.values()), sum(other.values())
    out = (f"{n_miss} patient(s) excluded for missing data ({_count_text(miss)})" if n_miss
           else "no patient excluded for missing data")
    if n_other:
        out += (f"; {n_other} patient(s) excluded for other reasons, not missing data ({_count_text(other)}; "
                "see Warnings)")
    return out


def missing_text(f: RunFacts) -> str:
    if f.missing_data == "complete_cases":
        return ("complete-case analysis: patients with a missing clinical value, outcome or image/mask are excluded "
                f"before the split, each named with its reason; {exclusions_text(f)}")
    if f.missing_data == "error":
        return ("missing clinical values are refused (data.missing: error), so no patient had one; patients "
                "without a clinical row, outcome or image/mask are excluded before the split, each named with its "
                f"reason; {exclusions_text(f)}")
    return f"missing data handling: {f.missing_data}" if f.missing_data else ""


def preproc_text(f: RunFacts) -> str:
    p = f.preprocessing
    if not p or not p.get("enabled", True):
        return "No image preprocessing by radnomo (preprocess.enabled: false)."
    bits = []
    if p.get("registration"):
        bits.append(f"{p['registration']} registration of every sequence to {str(p.get('reference', '')).upper()}")
    if p.get("n4"):
        bits.append("N4 bias-field correction")
    if p.get("spacing"):
        bits.append("resampling to " + " × ".join(f"{float(s):g}" for s in p["spacing"]) + " mm voxels")
    if p.get("normalization"):
        norm = p["normalization"]
        setting = f.radiomics_params.get("setting") or {}
        if norm == "pyradiomics" and setting.get("normalize"):
            norm = f"z-score within the image, scaled by {setting.get('normalizeScale', 1)} (PyRadiomics normalize)"
        bits.append(f"intensity normalisation: {norm}")
    if p.get("crop_margin_mm"):
        bits.append(f"crop to the ROI + {p['crop_margin_mm']} mm")
    text = "; ".join(bits) + "."
    return text[:1].upper() + text[1:]


def features_text(f: RunFacts) -> str:
    bits = []
    if "radiomics" in f.feature_counts:
        seqs = ", ".join(s.upper() for s in f.sequences)
        bits.append(f"{f.feature_counts['radiomics']} hand-crafted radiomics features ({seqs}; classes: "
                    f"{', '.join(f.feature_classes) or 'per the parameter file'}; image types: "
                    f"{', '.join(f.image_types) or 'original'})")
    if "deep" in f.feature_counts:
        arch = (f.deep or {}).get("architecture", "CNN")
        bits.append(f"{f.feature_counts['deep']} deep features ({arch} per sequence, fine-tuned on the training "
                    "set, slice features averaged per patient)")
    if "clinical" in f.feature_counts:
        bits.append(f"{f.feature_counts['clinical']} clinical variables")
    return "; ".join(bits)


def steps_text(f: RunFacts) -> str:
    by_block: dict[str, list[str]] = {}
    for r in f.selection_steps:
        by_block.setdefault(str(r["block"]), []).append(f"{r['step']} {r['n_features']}")
    return "; ".join(f"{b}: " + " → ".join(v) for b, v in by_block.items())


def metric(f: RunFacts, model: str, s: str) -> dict | None:
    return next((m for m in f.metrics if m.get("model") == model and m.get("set") == s), None)


def headline_text(f: RunFacts) -> str:
    h = f.headline or {}
    if not h:
        return ""
    bits = []
    if h.get("test"):
        bits.append(f"test AUC {h['test']['text']}")
    if h.get("train"):
        bits.append(f"training AUC {h['train']['text']}")
    if h.get("corrected"):
        bits.append(f"optimism-corrected AUC {h['corrected']['text']}")
    return "Nomogram: " + ", ".join(bits) + " (95% CIs)."


def validation_text(f: RunFacts) -> str:
    v = f.validation or {}
    if not v:
        return "no internal validation of the modelling process (validate stage not run)"
    return f"{v.get('estimator') or v.get('method')}, repeating every selection and fitting step"


def software_text(f: RunFacts) -> str:
    keys = ("radnomo", "python", "R", "R:glmnet", "R:rms", "R:pROC", "pyradiomics", "SimpleITK", "torch")
    return ", ".join(f"{k.replace('R:', '')} {f.software[k]}" for k in keys if f.software.get(k))


def fits_text(f: RunFacts) -> str:
    firth = [str(r["model"]) for r in f.fits if r.get("method") == "firth"]
    return (f" Firth's bias-reduced logistic regression was used where the data separate ({', '.join(firth)})."
            if firth else "")


def youden_text(f: RunFacts) -> str:
    m = metric(f, "nomogram", "train")
    cut = "" if not m or m.get("threshold") is None else f" (nomogram: {float(m['threshold']):.3f})"
    return ("Output: predicted probability of the outcome. Classification for sensitivity, specificity, PPV, NPV "
            f"and accuracy at the cut-off maximising Youden's index on the training set{cut}, reused unchanged "
            "on the test set.")


def yes(text: str, anchors: Sequence[str] = ()) -> Answer:
    """A complete METRICS answer "yes"."""
    return Answer(text, tuple(anchors), value="yes")
