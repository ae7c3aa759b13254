"""Step 4: intensity normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk


@dataclass(frozen=True)
class Normalize:
    """Intensity normalisation.

    Parameters
    ----------
    method : ``"pyradiomics"`` (the study's normalisation is PyRadiomics'
        ``normalize: true`` with ``normalizeScale: 100`` at extraction; the image
        is left unchanged here), ``"zscore"`` ((I − mean) / SD over the whole
        image, population SD) or ``"none"``.
    """

    method: str = "pyradiomics"

    def apply(self, image: sitk.Image) -> tuple[sitk.Image, dict]:
        record = {"method": self.method}
        if self.method in ("none", "pyradiomics"):
            if self.method == "pyradiomics":
                record["note"] = "normalisation deferred to PyRadiomics (normalize, normalizeScale)"
            return image, record
        arr = sitk.GetArrayViewFromImage(image).astype(np.float64)
        mean, sd = float(arr.mean()), float(arr.std())
        if not sd > 0:
            raise ValueError("z-score normalisation of a constant image (SD 0)")
        out = sitk.Cast((sitk.Cast(image, sitk.sitkFloat64) - mean) / sd, sitk.sitkFloat32)
        record.update(mean=mean, sd=sd)
        return out, record
