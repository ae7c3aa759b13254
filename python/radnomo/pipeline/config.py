"""The study configuration: a schema-checked YAML file of frozen sections.

A configuration file has the sections ``data``, ``split``, ``preprocess``,
``radiomics``, ``deep``, ``stats``, ``validation``, ``report`` and ``labels``
(all optional; a missing key takes its general default, see
:mod:`radnomo.pipeline.config_sections`). Unknown keys are errors that name
the key and the allowed ones; each field declares its type and range
(:mod:`radnomo.pipeline.config_schema`) and one validator checks them when
the sections are built. ``--set section.key=value`` overrides (value parsed
as YAML) go through the same checks.

The schema is general: a study's own values (its clinical variables, title,
display names) are in its ``config.yaml``; the reference study's ships as
package data (:mod:`radnomo.studies`, ``radnomo/studies/hcc_recurrence/``).

Sub-sections reuse the engines' own validated settings objects:
``preprocess`` -> :class:`radnomo.preprocess.config.PreprocessConfig` (plus
``enabled``); ``deep.train`` -> :class:`radnomo.features.deep_train.DeepTrainConfig`
(without ``slices``); ``deep.slices`` -> :class:`radnomo.features.slices.SliceConfig`.

Relative paths (``data.manifest``, ``data.clinical``, ``radiomics.params``)
are resolved against the folder of the configuration file.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from radnomo.errors import InputError
from radnomo.pipeline.config_schema import require
from radnomo.pipeline.config_sections import (  # noqa: F401  (re-exported: the configuration's public names)
    MODEL_NAMES, RADIOMICS_ENGINES, VALIDATION_METHODS, DataSection, DeepSection, LabelsSection, OutcomeLabels,
    PreprocessSection, RadiomicsSection, ReportSection, SplitSection, StatsSection, ValidationSection,
    VariableLabel, build_declared, check_keys, parse_labels,
)

SECTIONS = ("data", "split", "preprocess", "radiomics", "deep", "stats", "validation", "report", "labels")
#: Configuration entries that are file paths: (section, key) or (section, sub, key).
PATH_KEYS = (("data", "manifest"), ("data", "clinical"), ("radiomics", "params"), ("deep", "train", "weights"))


@dataclass(frozen=True)
class StudyConfig:
    """The whole, checked configuration. ``raw`` is the effective nested mapping
    (defaults filled in, paths as written); ``base_dir`` resolves relative paths."""

    data: DataSection
    split: SplitSection
    preprocess: PreprocessSection
    radiomics: RadiomicsSection
    deep: DeepSection
    stats: StatsSection
    report: ReportSection
    validation: ValidationSection = ValidationSection()
    labels: LabelsSection = LabelsSection()
    raw: dict = field(repr=False, compare=False, default_factory=dict)
    base_dir: Path = Path(".")

    def resolve(self, path: str | None) -> Path | None:
        """A config path resolved against :attr:`base_dir`."""
        if path is None:
            return None
        p = Path(path)
        return p if p.is_absolute() else (self.base_dir / p)

    def section_dict(self, name: str) -> dict:
        """The effective settings of one section (for stage hashes and the report)."""
        return copy.deepcopy(self.raw[name])

    # ---------------------------------------------------------- serialisers ---

    def effective_yaml(self) -> str:
        """The effective configuration as YAML (paths as written; base folder noted).

        For the run folder's own record only (it names this machine's folders);
        what leaves the run (model artifact, report) uses :meth:`portable`.
        """
        return f"# base folder: {self.base_dir}\n" + yaml.safe_dump(self.raw, sort_keys=False)

    def portable(self) -> dict:
        """The effective configuration with no absolute machine paths (for the model artifact and the report).

        Absolute input paths (``data.manifest``, ``data.clinical``, ``radiomics.params``,
        ``deep.train.weights``) become relative to the configuration's folder when
        inside it, else just the file name; the inputs themselves are identified by
        their SHA-256 in the run record.
        """
        raw = copy.deepcopy(self.raw)
        for keys in PATH_KEYS:
            node = raw
            for k in keys[:-1]:
                node = node.get(k) if isinstance(node, dict) else None
            if isinstance(node, dict) and keys[-1] in node:
                node[keys[-1]] = _portable_path(node[keys[-1]], self.base_dir)
        return raw

    def model_yaml(self) -> str:
        """The configuration stored with the model: portable, without the study cohort's file paths."""
        raw = self.portable()
        raw["data"] = {**raw["data"], "manifest": None, "clinical": None}
        return ("# radnomo model configuration (the study cohort's files are not part of the model)\n"
                + yaml.safe_dump(raw, sort_keys=False))


def _portable_path(value: Any, base_dir: Path) -> Any:
    """A path without this machine's folders: relative to ``base_dir`` when inside it, else the file name."""
    if not isinstance(value, str) or value in ("imagenet", "none") or not Path(value).is_absolute():
        return value
    p = Path(value)
    try:
        return p.relative_to(Path(base_dir).resolve()).as_posix()
    except ValueError:
        return p.name


# ---------------------------------------------------------------- parsing ---

def _build(cls, values: dict, where: str):
    """``cls(**values)`` of an engine's settings class; its errors name the section."""
    try:
        return cls(**values)
    except InputError as exc:
        msg = str(exc)
        raise InputError(msg if msg.startswith("config ") else f"config {where}: {msg}") from exc
    except TypeError as exc:  # wrong types the class's own check did not catch
        raise InputError(f"config {where}: {exc}") from exc


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


def _section(cls, mapping, where: str, raw: dict, *, skip=(), extra=None):
    """A declared section from its YAML mapping; its effective mapping goes to ``raw[where]``."""
    values, eff = build_declared(cls, mapping, where, skip=skip)
    raw[where] = eff
    return _build(cls, {**values, **(extra or {})}, where)


def _preprocess(mapping, raw: dict) -> PreprocessSection:
    from radnomo.preprocess.config import PreprocessConfig

    pre = check_keys(mapping, PreprocessSection.allowed(), "preprocess")
    enabled = pre.pop("enabled", True)
    require(isinstance(enabled, bool), "preprocess.enabled", f"must be true or false, not {enabled!r}")
    pconf = _build(PreprocessConfig, _tuples(pre), "preprocess")
    raw["preprocess"] = {"enabled": enabled, **pconf.to_dict()}
    return PreprocessSection(enabled=enabled, settings=pconf)


def _deep(mapping, raw: dict) -> DeepSection:
    from radnomo.features.deep_train import DeepTrainConfig
    from radnomo.features.slices import SliceConfig

    dg = check_keys(mapping, [*DeepSection.yaml_defaults(), "train", "slices"], "deep")
    train_fields = [f.name for f in dataclasses.fields(DeepTrainConfig) if f.name != "slices"]
    slice_fields = [f.name for f in dataclasses.fields(SliceConfig)]
    tr = check_keys(dg.pop("train", None), train_fields, "deep.train")
    sl = check_keys(dg.pop("slices", None), slice_fields, "deep.slices")
    slices = _build(SliceConfig, _tuples(sl), "deep.slices")
    train = _build(DeepTrainConfig, {**_tuples(tr), "slices": slices}, "deep.train")
    deep = _section(DeepSection, dg, "deep", raw, extra={"train": train, "slices": slices})
    raw["deep"] = {**raw["deep"], "train": {f: _plain(getattr(train, f)) for f in train_fields},
                   "slices": slices.to_dict()}
    return deep


def parse_config(mapping: Mapping[str, Any] | None, base_dir: str | Path = ".") -> StudyConfig:
    """Check a configuration mapping (as read from YAML) and build :class:`StudyConfig`.

    Raises
    ------
    InputError
        Unknown section or key (named, with the allowed ones), wrong type or range.
    """
    top = check_keys(mapping or {}, SECTIONS, "(top level)")
    raw: dict[str, Any] = {}
    sections = {name: _section(cls, top.get(name), name, raw) for name, cls in (
        ("data", DataSection), ("split", SplitSection), ("radiomics", RadiomicsSection),
        ("stats", StatsSection), ("validation", ValidationSection), ("report", ReportSection))}
    preprocess = _preprocess(top.get("preprocess"), raw)
    deep = _deep(top.get("deep"), raw)
    labels, raw["labels"] = parse_labels(top.get("labels"))
    raw = {name: raw[name] for name in ("data", "split", "radiomics", "stats", "validation", "report",
                                        "preprocess", "deep", "labels")}
    return StudyConfig(**sections, preprocess=preprocess, deep=deep, labels=labels, raw=raw,
                       base_dir=Path(base_dir))


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"section.key=value"`` -> (path, value); the value is parsed as YAML (``null``, numbers, lists)."""
    if "=" not in text:
        raise InputError(f"override {text!r} must look like section.key=value")
    key, value = text.split("=", 1)
    path = [p for p in key.strip().split(".")]
    if len(path) < 2 or any(not p for p in path):
        raise InputError(f"override {text!r}: the key must be section.key (e.g. deep.train.epochs=2)")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as exc:
        raise InputError(f"override {text!r}: the value is not valid YAML: {exc}") from exc
    return path, parsed


def apply_overrides(mapping: Mapping[str, Any], overrides) -> dict:
    """A deep copy of ``mapping`` with ``section.key=value`` overrides (and/or nested mappings) merged in."""
    out = copy.deepcopy(dict(mapping or {}))
    for ov in overrides or ():
        if isinstance(ov, Mapping):
            out = merge(out, ov)
            continue
        path, value = parse_override(ov)
        node = out
        for p in path[:-1]:
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                raise InputError(f"override {ov!r}: {p!r} is a setting, not a section")
            node = nxt
        node[path[-1]] = value
    return out


def merge(base: Mapping, update: Mapping) -> dict:
    """Recursive merge of two nested mappings (``update`` wins; inline radiomics params are replaced whole)."""
    out = copy.deepcopy(dict(base))
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k != "params":
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def read_yaml(path: str | Path) -> dict:
    """Read a YAML mapping, with clear errors."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"config file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"config file {path}: the top level must be a mapping of sections {list(SECTIONS)}")
    return data


def load_config(path: str | Path, overrides=()) -> StudyConfig:
    """Read, override and check a configuration file (paths resolve against its folder)."""
    path = Path(path)
    return parse_config(apply_overrides(read_yaml(path), overrides), base_dir=path.resolve().parent)


def config_diff(effective: Mapping, reference: Mapping, prefix: str = "") -> list[dict]:
    """Settings that differ between two effective configurations.

    Returns rows ``{"setting": "deep.train.epochs", "study": 50, "this run": 2}``
    (sorted by setting), recursing into sections; ``data`` paths are included.
    """
    rows = []
    for k in sorted(set(effective) | set(reference)):
        a, b = effective.get(k), reference.get(k)
        name = f"{prefix}{k}"
        if isinstance(a, Mapping) and isinstance(b, Mapping) and not (k == "params"):
            rows += config_diff(a, b, name + ".")
        elif _plain(a) != _plain(b):
            rows.append({"setting": name, "study": _plain(b), "this run": _plain(a)})
    return rows


def study_config_path() -> Path | None:
    """The reference study's ``config.yaml`` as installed (package data, :mod:`radnomo.studies`);
    ``None`` if this installation lacks it."""
    from radnomo.studies import find_study_file

    return find_study_file()


def __getattr__(name: str):
    """Deprecated: ``STUDY_CLINICAL`` / ``STUDY_CATEGORICAL`` (the reference study's clinical variables)
    are read from its ``config.yaml``; the general schema holds no study's variables."""
    if name in ("STUDY_CLINICAL", "STUDY_CATEGORICAL"):
        data = read_yaml(study_config_path()).get("data", {})
        return tuple(data.get("clinical_variables" if name == "STUDY_CLINICAL" else "categorical", ()))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
