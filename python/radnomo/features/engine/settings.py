"""Which PyRadiomics settings the radnomo engine implements, and PyRadiomics' defaults for them.

:func:`resolve_params` merges a parameter dictionary with PyRadiomics' defaults exactly as
``RadiomicsFeatureExtractor`` does; :func:`unsupported_reason` names the first setting, image type or
feature class the engine does not implement (callers then use PyRadiomics);
:func:`class_feature_names` lists a class's features in PyRadiomics' order.
"""

from __future__ import annotations

from typing import Any, Mapping

#: Image types whose filter is PyRadiomics' own generator, called unchanged.
SUPPORTED_IMAGE_TYPES = ("Original", "LoG", "Wavelet", "Square", "SquareRoot", "Logarithm", "Exponential",
                         "Gradient")
#: Feature classes the engine computes.
SUPPORTED_CLASSES = ("shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm")
TEXTURE_CLASSES = ("glcm", "glrlm", "glszm", "gldm", "ngtdm")

#: Settings the engine implements, with PyRadiomics' meaning (everything else -> PyRadiomics).
_SUPPORTED_SETTINGS = {
    # preprocessing: PyRadiomics' own functions are called
    "minimumROIDimensions", "minimumROISize", "geometryTolerance", "correctMask", "additionalInfo", "label",
    "label_channel", "normalize", "normalizeScale", "removeOutliers", "resampledPixelSpacing", "interpolator",
    "padDistance", "preCrop", "resegmentRange", "resegmentMode", "resegmentShape",
    # discretisation and features
    "binWidth", "binCount", "voxelArrayShift", "distances", "gldm_a", "symmetricalGLCM", "weightingNorm",
    "force2D", "force2Ddimension",
    # filters: PyRadiomics' own generators are called
    "sigma", "start_level", "level", "wavelet", "gradientUseSpacing",
}

#: Deprecated PyRadiomics features that raise instead of returning a value (PyRadiomics leaves them out).
RAISING_DEPRECATED = {
    "glcm": {"Dissimilarity", "Homogeneity1", "Homogeneity2", "SumVariance"},
    "gldm": {"DependencePercentage", "GrayLevelNonUniformityNormalized"},
}


def resolve_params(params: Mapping[str, Any], label: int | None = None) -> tuple[dict, dict, dict]:
    """PyRadiomics' settings, enabled image types and enabled features for a parameter dict.

    The same defaults and merging as ``RadiomicsFeatureExtractor`` (``_getDefaultSettings`` updated
    with ``setting`` and ``voxelSetting``; no image type -> Original; no feature class -> all).
    """
    from radiomics import featureextractor, getFeatureClasses

    settings = featureextractor.RadiomicsFeatureExtractor._getDefaultSettings()
    settings.update(dict(params.get("setting") or {}))
    settings.update(dict(params.get("voxelSetting") or {}))
    settings["additionalInfo"] = False
    if label is not None:
        settings["label"] = int(label)
    image_types = {k: dict(v or {}) for k, v in (params.get("imageType") or {}).items()} or {"Original": {}}
    classes = params.get("featureClass") or {}
    if not classes:
        classes = {name: [] for name in getFeatureClasses()}
    return settings, image_types, {k: (list(v) if v else []) for k, v in classes.items()}


def unsupported_reason(params: Mapping[str, Any], label: int | None = None) -> str | None:
    """``None`` when the engine covers ``params``; otherwise why not (one line)."""
    settings, image_types, classes = resolve_params(params, label)
    for name in image_types:
        if name not in SUPPORTED_IMAGE_TYPES:
            return f"image type {name!r}"
    for name in classes:
        if name == "shape2D" and not settings.get("force2D"):
            continue  # PyRadiomics computes nothing for shape2D on 3-D images without force2D
        if name not in SUPPORTED_CLASSES:
            return f"feature class {name!r}"
    weighting = (None, "infinity", "euclidean", "manhattan", "no_weighting")
    every = {**settings}
    for custom in image_types.values():
        every.update(custom)
    for key, value in every.items():
        if key not in _SUPPORTED_SETTINGS:
            return f"setting {key!r}"
    for name, custom in image_types.items():
        if "label" in custom:
            return f"setting 'label' under imageType {name!r}"
    for custom in [settings, *image_types.values()]:
        if custom.get("weightingNorm") not in weighting:
            return f"setting 'weightingNorm: {custom.get('weightingNorm')}'"
        if custom.get("symmetricalGLCM", True) is not True:
            return "setting 'symmetricalGLCM: false'"
    return None


def class_feature_names(class_name: str, selected: list[str] | None) -> list[str]:
    """Features PyRadiomics outputs for a class, in its order (all non-deprecated ones when none are named)."""
    from radiomics import getFeatureClasses

    available = getFeatureClasses()[class_name].getFeatureNames()
    if not selected:
        names = [n for n, deprecated in available.items() if not deprecated]
    else:
        names = list(dict.fromkeys(selected))
        unknown = [n for n in names if n not in available]
        if unknown:
            raise LookupError(f"Feature not found: {unknown[0]}")
    raising = RAISING_DEPRECATED.get(class_name, set())
    return [n for n in names if n not in raising]
