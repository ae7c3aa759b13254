"""Preprocessing configuration: one frozen, validated dataclass."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from radnomo.errors import InputError

REGISTRATION_METHODS = ("rigid", "affine", "none")
NORMALIZATION_METHODS = ("pyradiomics", "zscore", "none")
MASK_SOURCES = ("reference", "own")


@dataclass(frozen=True)
class PreprocessConfig:
    """How ``radnomo preprocess`` treats every patient.

    Steps, in order: (1) register every phase to ``reference`` (estimate the
    transform), (2) N4 bias-field correction, (3) resample every phase onto one
    grid of ``spacing`` mm covering the reference phase (B-spline for images,
    nearest neighbour for masks; the registration transform is applied in this
    same single interpolation), (4) intensity normalisation.

    Parameters
    ----------
    reference : sequence every other phase is registered to (study: ``"pvp"``,
        portal venous).
    registration : ``"rigid"`` (6 degrees of freedom), ``"affine"`` (rigid, then
        12 degrees of freedom) or ``"none"``. Metric: Mattes mutual information.
    registration_bins : histogram bins of the Mattes metric.
    registration_sampling : fraction of voxels sampled by the metric (0–1].
    registration_iterations : optimiser iterations per resolution level.
    mask_source : ``"reference"`` — every phase gets the reference phase's mask
        (the mask follows the reference); ``"own"`` — each phase's own mask is
        carried through its registration transform (nearest neighbour).
    n4 : apply N4 bias-field correction.
    n4_shrink_factor : N4 runs on the image shrunk by this integer factor (the
        field is then evaluated at full resolution); 4 keeps it affordable.
    n4_iterations : iterations per fitting level (one level per entry).
    spacing : output voxel size in mm (x, y, z).
    crop_margin_mm : ``None`` (default) — the output grid covers the reference
        phase's whole field of view. A number ``m`` >= 0 — the output grid is
        cut to the bounding box of the ROI (the reference mask; with
        ``mask_source="own"`` the union of every phase's resampled mask) plus
        ``m`` mm on every side, clipped to the field of view. The cropped grid's
        voxels are a subset of the full grid's, so every voxel value inside it
        is identical to the uncropped output (B-spline interpolation does not
        depend on the output grid); resampling and writing become several
        times cheaper. What can change is anything computed over the *whole*
        image: (a) PyRadiomics' ``normalize: true`` z-scores over the whole
        image it is given, so with the study's parameters
        (``normalization="pyradiomics"``) intensity and texture features are
        then normalised over the cropped box, not over the field of view —
        keep ``None`` to reproduce the study's whole-image normalisation;
        (b) PyRadiomics applies the LoG filter to the whole image it is given
        (``preCrop`` false), so LoG responses near the crop's border differ
        (ITK's recursive Gaussian extends the border): measured on a phantom,
        LoG features inside the ROI differ from the uncropped ones by up to
        ~1e-2 relative with a margin of 4 × the largest sigma, ~1e-3 at 6 ×
        and ~1e-5 at 8 × (tests/python/preprocess/test_crop.py); use a margin
        of at least 8 × the largest LoG sigma (40 mm for the study's sigma
        5 mm). Original and wavelet features were identical at any margin.
        Deep slices use ROI voxels only and are unaffected. ``normalization="zscore"`` is computed here over the
        output grid, i.e. over the crop when cropping.
    normalization : ``"pyradiomics"`` — the study's intensity normalisation,
        done by PyRadiomics at extraction (``normalize: true``,
        ``normalizeScale: 100``: z-score over the whole image × 100); nothing is
        changed here. ``"zscore"`` — (I − mean) / SD over the whole image, here.
        ``"none"``.
    seed : seed of the metric's random sampling (reproducible registrations).
    spacing_range_mm : ``(min, max)`` plausible voxel spacing of the input images in
        mm (default 0.05-20); an image with a spacing outside is that patient's error
        (a wrong header or unit would otherwise give a meaningless resampled image).
    max_roi_fraction : an ROI covering more than this share of its image's voxels
        (default 0.5) is reported as a warning (an all-ones mask, the field of view
        given as ROI); ``None``: no check.
    hash_names : name the per-patient folders and files (``images/<name>/``,
        ``masks/<name>/``, ``qc/<name>.png``) by a salted hash of the patient id
        instead of the id (the salt is kept in ``<out>/name_salt.txt``; the output
        manifest maps ids to files). Default ``False``: the id, made file-safe.
    """

    reference: str = "pvp"
    registration: str = "rigid"
    registration_bins: int = 50
    registration_sampling: float = 0.1
    registration_iterations: int = 200
    mask_source: str = "reference"
    n4: bool = True
    n4_shrink_factor: int = 4
    n4_iterations: tuple[int, ...] = (50, 50, 30)
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    crop_margin_mm: float | None = None
    normalization: str = "pyradiomics"
    seed: int = 20250101
    spacing_range_mm: tuple[float, float] = (0.05, 20.0)
    max_roi_fraction: float | None = 0.5
    hash_names: bool = False

    def __post_init__(self):
        if not isinstance(self.reference, str) or not self.reference:
            raise InputError(f"reference must be a sequence name, not {self.reference!r}")
        if self.registration not in REGISTRATION_METHODS:
            raise InputError(f"registration must be one of {REGISTRATION_METHODS}, not {self.registration!r}")
        if self.normalization not in NORMALIZATION_METHODS:
            raise InputError(f"normalization must be one of {NORMALIZATION_METHODS}, not {self.normalization!r}")
        if self.mask_source not in MASK_SOURCES:
            raise InputError(f"mask_source must be one of {MASK_SOURCES}, not {self.mask_source!r}")
        if not isinstance(self.registration_bins, int) or self.registration_bins < 8:
            raise InputError(f"registration_bins must be an integer >= 8, not {self.registration_bins!r}")
        if not (0 < float(self.registration_sampling) <= 1):
            raise InputError(f"registration_sampling must be in (0, 1], not {self.registration_sampling!r}")
        if not isinstance(self.registration_iterations, int) or self.registration_iterations < 1:
            raise InputError(f"registration_iterations must be a positive integer, not {self.registration_iterations!r}")
        if not isinstance(self.n4_shrink_factor, int) or not 1 <= self.n4_shrink_factor <= 16:
            raise InputError(f"n4_shrink_factor must be an integer in 1..16, not {self.n4_shrink_factor!r}")
        its = tuple(self.n4_iterations)
        if not its or any((not isinstance(i, int)) or i < 1 for i in its):
            raise InputError(f"n4_iterations must be positive integers (one per level), not {self.n4_iterations!r}")
        object.__setattr__(self, "n4_iterations", its)
        sp = tuple(float(s) for s in self.spacing)
        if len(sp) != 3 or any(not s > 0 for s in sp):
            raise InputError(f"spacing must be three positive numbers (mm), not {self.spacing!r}")
        object.__setattr__(self, "spacing", sp)
        if self.crop_margin_mm is not None:
            try:
                margin = float(self.crop_margin_mm)
            except (TypeError, ValueError):
                margin = float("nan")
            if isinstance(self.crop_margin_mm, bool) or not (math.isfinite(margin) and margin >= 0):
                raise InputError(f"crop_margin_mm must be None (whole field of view) or a number of mm >= 0, "
                                 f"not {self.crop_margin_mm!r}")
            object.__setattr__(self, "crop_margin_mm", margin)

        try:
            rng = tuple(float(v) for v in self.spacing_range_mm)
        except (TypeError, ValueError):
            rng = ()
        if len(rng) != 2 or not all(math.isfinite(v) for v in rng) or not 0 < rng[0] < rng[1]:
            raise InputError(f"spacing_range_mm must be two numbers 0 < min < max (mm), not {self.spacing_range_mm!r}")
        object.__setattr__(self, "spacing_range_mm", rng)
        if self.max_roi_fraction is not None:
            ok = isinstance(self.max_roi_fraction, (int, float)) and not isinstance(self.max_roi_fraction, bool)
            if not ok or not 0 < float(self.max_roi_fraction) <= 1:
                raise InputError(f"max_roi_fraction must be None or a number in (0, 1], not {self.max_roi_fraction!r}")
            object.__setattr__(self, "max_roi_fraction", float(self.max_roi_fraction))
        if not isinstance(self.hash_names, bool):
            raise InputError(f"hash_names must be true or false, not {self.hash_names!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["n4_iterations"] = list(self.n4_iterations)
        d["spacing"] = list(self.spacing)
        d["spacing_range_mm"] = list(self.spacing_range_mm)
        return d
