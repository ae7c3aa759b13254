"""PyRadiomics parameter files: schema check, hashing and expected feature counts.

A parameter file is PyRadiomics' own YAML format (top-level ``imageType``,
``featureClass``, ``setting``, ``voxelSetting``). :func:`load_params` checks it
before any image is touched: unknown top-level keys, image types, feature
classes, feature names and settings are errors naming the key; values are then
checked with PyRadiomics' own pykwalify schema.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from radnomo.errors import InputError

#: pykwalify (ruamel.yaml) is not thread-safe; validations are serialised.
_PYKWALIFY_LOCK = threading.Lock()

TOP_LEVEL_KEYS = ("imageType", "featureClass", "setting", "voxelSetting")

#: Number of derived images each image type yields in 3-D (LoG: one per sigma).
_WAVELET_3D = 8


def _schema_keys() -> tuple[set[str], set[str]]:
    """Allowed ``setting`` names (PyRadiomics' schema file) and image type names (its filters)."""
    from radiomics import getParameterValidationFiles

    schema_file, _ = getParameterValidationFiles()
    with open(schema_file, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    from radiomics import getImageTypes

    settings = set(schema["mapping"]["setting"]["mapping"])
    return settings, set(getImageTypes())


def _feature_names() -> dict[str, dict[str, bool]]:
    """``{class: {feature: deprecated}}`` for every PyRadiomics feature class."""
    from radiomics import getFeatureClasses

    return {name: dict(cls.getFeatureNames()) for name, cls in getFeatureClasses().items()}


@dataclass(frozen=True)
class RadiomicsParams:
    """A checked PyRadiomics parameter set.

    Attributes
    ----------
    params : the parameter dictionary as PyRadiomics takes it.
    text : the YAML text it came from (recorded in feature-table metadata).
    sha256 : SHA-256 of the canonical JSON form of ``params`` (key order and
        comments do not change it).
    source : the file it was read from, if any.
    """

    params: dict[str, Any]
    text: str
    sha256: str
    source: str | None = None

    @classmethod
    def from_dict(cls, params: dict[str, Any], *, source: str | None = None, text: str | None = None) -> "RadiomicsParams":
        """Check ``params`` and build the object (``None`` settings are dropped: PyRadiomics default)."""
        checked = check_params(params, where=source or "(parameters)")
        canonical = json.dumps(checked, sort_keys=True)
        return cls(params=checked, text=text if text is not None else yaml.safe_dump(checked, sort_keys=True),
                   sha256=hashlib.sha256(canonical.encode("utf-8")).hexdigest(), source=source)

    @property
    def settings(self) -> dict[str, Any]:
        return dict(self.params.get("setting", {}))

    def expected_feature_count(self) -> int:
        """Number of features one ROI yields with these parameters (3-D extraction)."""
        return expected_feature_count(self.params)


def check_params(params: Any, *, where: str = "(parameters)") -> dict[str, Any]:
    """Validate a PyRadiomics parameter dictionary; return a cleaned copy.

    Raises
    ------
    InputError
        naming the file and the offending key or value.
    """
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InputError(f"parameter file {where}: top level must be a mapping with keys {list(TOP_LEVEL_KEYS)}")
    unknown = [k for k in params if k not in TOP_LEVEL_KEYS]
    if unknown:
        raise InputError(f"parameter file {where}: unknown top-level key(s) {unknown}; allowed: {list(TOP_LEVEL_KEYS)}")
    allowed_settings, allowed_types = _schema_keys()
    out: dict[str, Any] = {}
    image_types = _check_image_types(params.get("imageType") or {}, allowed_types, allowed_settings, where)
    if image_types:
        out["imageType"] = image_types
    classes = _check_feature_classes(params.get("featureClass") or {}, where)
    if classes:
        out["featureClass"] = classes
    for section in ("setting", "voxelSetting"):
        block = params.get(section) or {}
        if not isinstance(block, dict):
            raise InputError(f"parameter file {where}: '{section}' must be a mapping")
        bad = [k for k in block if k not in allowed_settings]
        if bad:
            raise InputError(f"parameter file {where}: unknown setting(s) {[f'{section}.{k}' for k in bad]}")
        block = {k: v for k, v in block.items() if v is not None}
        if block:
            out[section] = block
    if "binWidth" in out.get("setting", {}) and "binCount" in out.get("setting", {}):
        raise InputError(f"parameter file {where}: give either 'setting.binWidth' or 'setting.binCount', not both")

    _pykwalify_check(out, where)
    return out


def _check_image_types(image_types: Any, allowed_types, allowed_settings, where: str) -> dict[str, dict]:
    """The ``imageType`` block checked (known image types and settings), each type's settings a dict."""
    if not isinstance(image_types, dict):
        raise InputError(f"parameter file {where}: 'imageType' must be a mapping of image type -> settings")
    lower_types = {t.lower(): t for t in allowed_types}
    for name, custom in image_types.items():
        if name not in allowed_types:
            hint = f" (did you mean {lower_types[name.lower()]!r}?)" if name.lower() in lower_types else ""
            raise InputError(f"parameter file {where}: unknown image type 'imageType.{name}'{hint}; "
                             f"allowed: {sorted(allowed_types)}")
        for key in (custom or {}):
            if key not in allowed_settings:
                raise InputError(f"parameter file {where}: unknown setting 'imageType.{name}.{key}'")
    return {k: dict(v or {}) for k, v in image_types.items()}


def _check_feature_classes(classes: Any, where: str) -> dict[str, list[str]]:
    """The ``featureClass`` block checked (known classes and features), each class's list (empty: all)."""
    if not isinstance(classes, dict):
        raise InputError(f"parameter file {where}: 'featureClass' must be a mapping of class -> feature list")
    names = _feature_names()
    for cls_name, feats in classes.items():
        if cls_name not in names:
            raise InputError(f"parameter file {where}: unknown feature class 'featureClass.{cls_name}'; "
                             f"allowed: {sorted(names)}")
        if feats is None:
            continue
        if not isinstance(feats, list):
            raise InputError(f"parameter file {where}: 'featureClass.{cls_name}' must be a list of feature "
                             "names or empty (all features)")
        bad = [f for f in feats if f not in names[cls_name]]
        if bad:
            raise InputError(f"parameter file {where}: unknown feature(s) {bad} in 'featureClass.{cls_name}'")
    return {k: (list(v) if v else []) for k, v in classes.items()}


def _pykwalify_check(params: dict[str, Any], where: str) -> None:
    """Check value types and ranges with PyRadiomics' own schema."""
    import logging

    import pykwalify.core
    from radiomics import getParameterValidationFiles

    schema_file, schema_funcs = getParameterValidationFiles()
    log = logging.getLogger("pykwalify")
    old = log.level
    log.setLevel(logging.CRITICAL)
    with _PYKWALIFY_LOCK:
        _pykwalify_validate(params, where, schema_file, schema_funcs, log, old)


def _pykwalify_validate(params, where, schema_file, schema_funcs, log, old) -> None:
    import pykwalify.core

    try:
        core = pykwalify.core.Core(source_data=params or {"setting": {}}, schema_files=[schema_file],
                                   extensions=[schema_funcs])
        core.validate(raise_exception=True)
    except Exception as exc:
        msg = getattr(exc, "msg", None) or str(exc)
        raise InputError(f"parameter file {where}: invalid value: {msg}") from exc
    finally:
        log.setLevel(old)


def load_params(path: str | Path) -> RadiomicsParams:
    """Read and schema-check a PyRadiomics parameter YAML (or JSON) file.

    Raises
    ------
    InputError
        File missing or not YAML, unknown key (named), invalid value.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"parameter file not found: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"parameter file {path} is not valid YAML: {exc}") from exc
    return RadiomicsParams.from_dict(raw or {}, source=str(path), text=text)


def _n_enabled(cls_features: dict[str, bool], selected: list[str] | None) -> int:
    if selected:
        return len(selected)
    return sum(1 for deprecated in cls_features.values() if not deprecated)


def expected_feature_count(params: dict[str, Any]) -> int:
    """Features per ROI for a checked parameter dict (3-D; 2-D shape and force2D not counted).

    Shape features are computed once (on the original image); every other
    enabled class once per derived image: Original 1, Wavelet 8 (3-D, one
    level), LoG one per sigma, other filters 1.
    """
    names = _feature_names()
    classes = params.get("featureClass") or {c: [] for c in names if c != "shape2D"}
    image_types = params.get("imageType") or {"Original": {}}
    settings = params.get("setting", {})
    n_images = 0
    for name, custom in image_types.items():
        merged = {**settings, **(custom or {})}
        if name == "Wavelet":
            n_images += _WAVELET_3D if not merged.get("force2D") else 4
        elif name == "LoG":
            n_images += len(merged.get("sigma") or [])
        else:
            n_images += 1
    total = 0
    for cls_name, selected in classes.items():
        n = _n_enabled(names[cls_name], selected)
        total += n if cls_name in ("shape", "shape2D") else n * n_images
    return total
