"""radnomo's radiomics extraction engine: PyRadiomics' feature values, several times faster.

``Extractor(params).execute(image, mask)`` returns the same ordered
``{"<image type>_<class>_<feature>": value}`` as PyRadiomics'
``RadiomicsFeatureExtractor(params).execute(image, mask)`` (diagnostics aside)
for the settings it implements; :func:`unsupported_reason` names the first
setting it does not, and callers then use PyRadiomics
(:func:`radnomo.features.radiomics.extract_image` does, with a one-line notice).

What is reused unchanged from PyRadiomics: loading, normalisation, resampling,
mask checks and resegmentation (its ``imageoperations``), the filters (its image
generators: SimpleITK's LoG, PyWavelets' stationary wavelet transform), the
angle generator and the marching-cubes table. What is new: one discretisation
per filtered image, compiled texture kernels (:mod:`.kernels`), vectorised
formulas (:mod:`.texture`, :mod:`.firstorder`) and maximum diameters over convex
hulls (:mod:`.shape`). See NOTES.md for the measured effect of each step.

``device="cuda"`` computes the texture matrices and formulas with torch in
float64 on the GPU (:mod:`.gpu`).
"""

from radnomo.features.engine.extractor import (ENGINE_VERSION, SUPPORTED_CLASSES, SUPPORTED_IMAGE_TYPES,
                                               Extractor, extract, resolve_params, unsupported_reason)

__all__ = ["ENGINE_VERSION", "SUPPORTED_CLASSES", "SUPPORTED_IMAGE_TYPES", "Extractor", "extract",
           "resolve_params", "unsupported_reason"]
