"""Texture features (GLCM, GLRLM, GLSZM, GLDM, NGTDM) from their matrices.

Each ``<class>_features`` function takes the integer counts from
:mod:`.kernels` (or the torch kernels of :mod:`.gpu`), the grey levels present
in the ROI and the feature names to compute, and returns
``{name: value}``. The definitions are PyRadiomics' (``radiomics/glcm.py`` etc.
of pyradiomics-bhklab 3.1.4: the same matrix normalisation, the same handling of
empty angles, grey levels and sizes, the same epsilon, the same guards against
division by zero, the same mean over angles), vectorised over the angles, and
the reductions run over the same axes in the same memory layout, so on the CPU
the values agree with PyRadiomics to the last few bits.

One module per matrix: :mod:`.glcm`, :mod:`.glrlm`, :mod:`.zones` (GLSZM and GLDM, which share
their formulas) and :mod:`.ngtdm`; :mod:`.common` evaluates the formulas. A feature whose computation
raises gives NaN, as in PyRadiomics.
"""

from radnomo.features.engine.texture.glcm import glcm_features
from radnomo.features.engine.texture.glrlm import glrlm_features
from radnomo.features.engine.texture.ngtdm import ngtdm_features
from radnomo.features.engine.texture.zones import gldm_features, glszm_features

__all__ = ["glcm_features", "gldm_features", "glrlm_features", "glszm_features", "ngtdm_features"]
