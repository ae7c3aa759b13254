"""Cohort sizes: how many patients, how large the anatomy and the image grids are.

``paper`` is the clinical geometry (full-size liver, 0.7-0.9 mm in-plane,
3-6 mm slices, matrices about 256 x 256 x 40). ``small`` (the default, for the
demo and the pipeline tests) keeps the clinical in-plane spacing but shrinks
the anatomy to 0.3 of its length (a miniature liver about 48 mm across) and
uses 2-2.8 mm slices, so volumes are about 64-80 x 64-80 x 24 voxels and the
liver at 1 mm isotropic has only tens of thousands of voxels. ``tiny`` is for
this package's own unit tests (liver about 30 mm across, about 40 x 40 x 12
voxels). Lesion diameters follow the clinical diameter times
``anatomy_scale`` (floored at ``min_lesion_diameter_mm``); textures, spots
and nodules keep sizes in millimetres that survive resampling to 1 mm.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from radnomo.errors import InputError


@dataclass(frozen=True)
class SizeSpec:
    """Geometry of one cohort size (all lengths in mm).

    Attributes
    ----------
    name : size name.
    default_n : number of patients when ``n`` is not given.
    anatomy_scale : length factor applied to a full-size liver (semi-axes
        80 x 62 x 70 mm, left-right x antero-posterior x cranio-caudal).
    inplane_spacing : (min, max) in-plane pixel spacing.
    slice_thickness : (min, max) slice spacing (= thickness, no gap).
    fov_margin : (min, max) ratio of the field of view to the liver extent.
    ref_spacing : (in-plane, through-plane) spacing of the internal reference
        grid on which the anatomy is rendered before each phase is sampled.
    translation_sd : SD of the per-phase rigid translation (x, y; z is 1.5x).
    rotation_sd_deg : SD of the per-phase rotation about each axis (degrees).
    nodule_diameter : (min, max) diameter of the small hypointense nodules.
    min_lesion_diameter_mm : smallest rendered lesion diameter.
    min_vessel_radius_mm : smallest rendered vessel radius.
    texture_corr_mm : Gaussian correlation length (sigma) of the PVP texture field.
    spot_radius_mm : Gaussian radius (sigma) of the T2 spots.
    """

    name: str
    default_n: int
    anatomy_scale: float
    inplane_spacing: tuple[float, float]
    slice_thickness: tuple[float, float]
    fov_margin: tuple[float, float]
    ref_spacing: tuple[float, float]
    translation_sd: float
    rotation_sd_deg: float
    nodule_diameter: tuple[float, float]
    min_lesion_diameter_mm: float
    min_vessel_radius_mm: float
    texture_corr_mm: float
    spot_radius_mm: float

    def as_dict(self) -> dict:
        return asdict(self)


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(
        name="tiny", default_n=8, anatomy_scale=0.18, inplane_spacing=(0.7, 0.9),
        slice_thickness=(2.0, 2.8), fov_margin=(1.15, 1.3), ref_spacing=(0.7, 1.0),
        translation_sd=1.2, rotation_sd_deg=2.0, nodule_diameter=(2.5, 3.5),
        min_lesion_diameter_mm=3.0, min_vessel_radius_mm=0.8, texture_corr_mm=1.6,
        spot_radius_mm=0.9,
    ),
    "small": SizeSpec(
        name="small", default_n=60, anatomy_scale=0.3, inplane_spacing=(0.7, 0.9),
        slice_thickness=(2.0, 2.8), fov_margin=(1.15, 1.3), ref_spacing=(0.7, 1.0),
        translation_sd=1.5, rotation_sd_deg=2.0, nodule_diameter=(2.8, 4.5),
        min_lesion_diameter_mm=3.5, min_vessel_radius_mm=0.9, texture_corr_mm=1.8,
        spot_radius_mm=1.0,
    ),
    "paper": SizeSpec(
        name="paper", default_n=224, anatomy_scale=1.0, inplane_spacing=(0.7, 0.9),
        slice_thickness=(3.0, 6.0), fov_margin=(1.15, 1.3), ref_spacing=(1.0, 1.5),
        translation_sd=3.0, rotation_sd_deg=2.0, nodule_diameter=(5.0, 9.0),
        min_lesion_diameter_mm=5.0, min_vessel_radius_mm=1.5, texture_corr_mm=3.0,
        spot_radius_mm=1.8,
    ),
}


def get_size(size: str | SizeSpec) -> SizeSpec:
    """Return the :class:`SizeSpec` named ``size`` (or ``size`` itself)."""
    if isinstance(size, SizeSpec):
        return size
    if size not in SIZES:
        raise InputError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    return SIZES[size]
