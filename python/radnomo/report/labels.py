"""Human-readable names for the report: variables (with units), outcome levels, models, features.

The study config's ``labels:`` section (``cfg.labels``, a plain mapping) is::

    labels:
      variables:                      # clinical variables (and any other column the report shows)
        lnafp: {label: "ln AFP", unit: "ln ng/mL"}
        sex: {label: "Sex", levels: {female: "Female", male: "Male"}}   # levels: optional
      outcome: {event: "Recurrence ≤ 6 months", nonevent: "No recurrence", label: "Early recurrence"}
      models: {nomogram: "DL-Rad-Clinical nomogram"}
      sequences: {t2: "T2WI"}         # optional: MRI sequence names in feature labels

Every lookup falls back to a readable default (``rad_score`` -> "Rad score", ``max_diameter_cm`` ->
"Max diameter" with unit "cm", an unknown name -> the name with underscores as spaces), so the
report never needs a label to render; internal names stay in the CSV files only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

#: Default names of radnomo's four models (the study's own wording).
DEFAULT_MODELS = {
    "clinical": "Clinical model",
    "rad_score": "Rad score",
    "dl_score": "DL score",
    "nomogram": "DL-Rad-Clinical nomogram",
}

#: Default names of columns that are not clinical variables.
DEFAULT_VARIABLES = {
    "rad_score": "Rad score",
    "dl_score": "DL score",
    "label": "Outcome",
    "outcome": "Outcome",
    "patient_id": "Patient",
    "(Intercept)": "Intercept",
    "Intercept": "Intercept",
}

#: Unit suffixes recognised in variable names when the config gives no unit (``max_diameter_cm``).
_UNIT_SUFFIXES = {"cm": "cm", "mm": "mm", "ml": "mL", "kg": "kg", "years": "years", "yrs": "years",
                  "days": "days", "months": "months", "pct": "%"}

#: Tokens written in capitals in default labels.
_UPPER_TOKENS = {"dl", "ct", "mri", "pet", "id", "bmi", "afp", "alt", "ast", "ggt", "alb", "pt", "plt",
                 "albi", "meld", "inr", "crp", "ldh", "cea", "psa", "roi", "voi", "pca", "pc"}

#: Radiomics feature classes and image types as written in papers (IBSI / PyRadiomics names).
_FEATURE_CLASSES = {"firstorder": "first order", "shape": "shape", "shape2D": "shape 2D", "glcm": "GLCM",
                    "glrlm": "GLRLM", "glszm": "GLSZM", "gldm": "GLDM", "ngtdm": "NGTDM"}

#: Default names of MRI sequences (the study's four phases).
DEFAULT_SEQUENCES = {"t2": "T2WI", "ap": "AP", "pvp": "PVP", "dp": "DP"}


def run_model_names(models: Mapping[str, str], scope) -> dict[str, str]:
    """The configured model names (``labels.models``) for a run of ``scope``
    (:class:`~radnomo.report.scope.ModelScope`): a nomogram left at radnomo's default name
    ("DL-Rad-Clinical nomogram", also the reference study's) is named after the blocks the run has
    ("Rad-Clinical nomogram" without the deep block); any other name is the study's choice and kept."""
    out = {str(k): str(v) for k, v in models.items()}
    if out.get("nomogram", DEFAULT_MODELS["nomogram"]) == DEFAULT_MODELS["nomogram"]:
        if scope.nomogram_name != DEFAULT_MODELS["nomogram"]:
            out["nomogram"] = scope.nomogram_name
    return out


def _finite(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def default_label(name: str) -> tuple[str, str | None]:
    """A readable label and unit from an internal name: ``max_diameter_cm`` -> ("Max diameter", "cm"),
    ``rad_score`` -> ("Rad score", None), ``neu_lym`` -> ("Neu lym", None)."""
    if name in DEFAULT_VARIABLES:
        return DEFAULT_VARIABLES[name], None
    tokens = [t for t in re.split(r"[_\s]+", str(name)) if t]
    unit = None
    if len(tokens) > 1 and tokens[-1].lower() in _UNIT_SUFFIXES:
        unit = _UNIT_SUFFIXES[tokens.pop().lower()]
    words = [t.upper() if t.lower() in _UPPER_TOKENS else t for t in tokens]
    if not words:
        return str(name), unit
    first = words[0]
    if first.islower():
        first = first[0].upper() + first[1:]
    return " ".join([first, *words[1:]]), unit


class Labels:
    """Readable names from the config's ``labels:`` mapping (or ``None``), with defaults.

    Parameters
    ----------
    mapping
        ``{"variables": {name: {"label", "unit", "levels"}}, "outcome": {"event", "nonevent", "label"},
        "models": {model: str}, "sequences": {seq: str}}``; every part optional.
    outcome
        The outcome column's internal name (``data.outcome``), so that it is labelled as the outcome.
    """

    def __init__(self, mapping: Mapping[str, Any] | None = None, *, outcome: str = "label"):
        m = dict(mapping or {})
        unknown = set(m) - {"variables", "outcome", "models", "sequences"}
        if unknown:
            raise ValueError(f"labels: unknown section(s) {sorted(unknown)}; expected variables, outcome, models, "
                             "sequences")
        self._vars: dict[str, dict] = {}
        for k, v in (m.get("variables") or {}).items():
            self._vars[str(k)] = {"label": v} if isinstance(v, str) else dict(v or {})
        self._outcome = dict(m.get("outcome") or {})
        self._models = {str(k): str(v) for k, v in (m.get("models") or {}).items()}
        self._sequences = {str(k): str(v) for k, v in (m.get("sequences") or {}).items()}
        self.outcome_name = outcome

    @classmethod
    def from_config(cls, config) -> Labels:
        """The labels of a study configuration's ``labels:`` section (``config.labels``, a
        :class:`~radnomo.pipeline.config_sections.LabelsSection`); the outcome column is the
        analysis table's ``label``. A nomogram named radnomo's default "DL-Rad-Clinical nomogram" is
        named after the run's blocks (:func:`run_model_names`)."""
        from radnomo.report.scope import ModelScope

        sec = config.labels
        variables = {name: {"label": v.label, "unit": v.unit} for name, v in sec.variables.items()}
        return cls({"variables": variables,
                    "outcome": {"event": sec.outcome.event, "nonevent": sec.outcome.nonevent},
                    "models": run_model_names(sec.models, ModelScope.from_config(config))}, outcome="label")

    # -- variables ---------------------------------------------------------------------------------
    def label(self, name: str) -> str:
        """The variable's label (config, else a readable default); the outcome column gives the
        outcome's label."""
        name = str(name)
        v = self._vars.get(name)
        if v and v.get("label"):
            return str(v["label"])
        if name == self.outcome_name:
            return self.outcome_label
        if name in self._models:
            return self._models[name]
        return default_label(name)[0]

    def unit(self, name: str) -> str | None:
        """The variable's unit (config, else one recognised from the name's suffix), or ``None``."""
        v = self._vars.get(str(name))
        if v is not None and "unit" in v:
            return str(v["unit"]) if v["unit"] else None
        if v and v.get("label"):  # a configured label without a unit: do not guess one from the name
            return None
        return default_label(str(name))[1]

    def with_unit(self, name: str) -> str:
        """``"Label (unit)"``, or the label alone when there is no unit."""
        u = self.unit(name)
        return f"{self.label(name)} ({u})" if u else self.label(name)

    def level(self, name: str, level: Any, *, binary: bool = True) -> str:
        """A category's name: the config's ``levels`` of the variable, the outcome's event/non-event
        names for the outcome column, ``No``/``Yes`` for 0/1 when the variable is binary (pass
        ``binary=False`` for a variable with other levels too, e.g. 1, 2, 3), else the level as
        written."""
        name = str(name)
        text = "" if not _finite(level) else str(level)
        if text.endswith(".0") and text[:-2].lstrip("-").isdigit():
            text = text[:-2]
        v = self._vars.get(name) or {}
        levels = {str(k): str(val) for k, val in (v.get("levels") or {}).items()}
        if text in levels:
            return levels[text]
        if name == self.outcome_name:
            if text in ("1", "True", "true"):
                return self.event
            if text in ("0", "False", "false"):
                return self.nonevent
        if text == "Missing":
            return "Missing"
        if binary and text in ("0", "1") and not levels:
            return "Yes" if text == "1" else "No"
        return text[:1].upper() + text[1:] if text.islower() else text

    # -- outcome -----------------------------------------------------------------------------------
    @property
    def event(self) -> str:
        """Name of the outcome's event level (``1``)."""
        return str(self._outcome.get("event") or "Event")

    @property
    def nonevent(self) -> str:
        """Name of the outcome's non-event level (``0``)."""
        return str(self._outcome.get("nonevent") or "No event")

    @property
    def outcome_label(self) -> str:
        """Name of the outcome itself (default "Outcome")."""
        return str(self._outcome.get("label") or "Outcome")

    # -- models, sets, sequences, features ---------------------------------------------------------
    def model(self, name: str) -> str:
        """A model's name: config, else radnomo's default (``DEFAULT_MODELS``), else readable."""
        name = str(name)
        return self._models.get(name) or DEFAULT_MODELS.get(name) or default_label(name)[0]

    @staticmethod
    def set_name(name: str) -> str:
        """``train`` -> "Training set", ``test`` -> "Test set"; others capitalised."""
        s = str(name)
        return {"train": "Training set", "test": "Test set", "training set": "Training set",
                "test set": "Test set", "overall": "Overall", "all": "All patients"}.get(s.lower(), s[:1].upper() + s[1:])

    def sequence(self, name: str) -> str:
        """An MRI sequence's name (``t2`` -> "T2WI")."""
        return self._sequences.get(name) or DEFAULT_SEQUENCES.get(name) or name.upper()

    def group(self, column: str) -> str:
        """A Table 1 group column's heading: ``"label = 1"`` -> the event name, ``"training set"`` ->
        "Training set", ``"overall"`` -> "Overall"."""
        m = re.fullmatch(r"\s*(.+?)\s*=\s*(.+?)\s*", str(column))
        if m:
            return self.level(m.group(1), m.group(2))
        return self.set_name(column)

    def feature(self, name: str) -> str:
        """A feature's name for a table or a plot: radiomics ``<seq>_<image type>_<class>_<Feature>``
        -> "PVP original GLSZM: LowGrayLevelZoneEmphasis"; deep ``<seq>_dl_<k>`` -> "T2WI deep feature
        14"; ``sex=male`` -> "Sex: Male"; principal components and others unchanged or labelled."""
        s = str(name)
        if "=" in s:
            var, lev = s.split("=", 1)
            return f"{self.label(var)}: {self.level(var, lev)}"
        parts = s.split("_")
        if len(parts) >= 4 and parts[2] in _FEATURE_CLASSES:
            seq = self.sequence(parts[0])
            image_type = parts[1].replace("-", " ")
            return f"{seq} {image_type} {_FEATURE_CLASSES[parts[2]]}: {'_'.join(parts[3:])}"
        if len(parts) == 3 and parts[1] == "dl" and parts[2].isdigit():
            return f"{self.sequence(parts[0])} deep feature {parts[2]}"
        if re.fullmatch(r"PC\d+", s):
            return f"DL principal component {s[2:]}"
        if s in self._vars or s in DEFAULT_VARIABLES or s in DEFAULT_MODELS or re.fullmatch(r"[a-z][a-z0-9_]*", s):
            return self.with_unit(s)
        return s
