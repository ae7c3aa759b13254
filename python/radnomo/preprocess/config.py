"""Preprocessing configuration: one frozen, validated dataclass."""

from __future__ import annotations

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
    normalization : ``"pyradiomics"`` — the study's intensity normalisation,
        done by PyRadiomics at extraction (``normalize: true``,
        ``normalizeScale: 100``: z-score over the whole image × 100); nothing is
        changed here. ``"zscore"`` — (I − mean) / SD over the whole image, here.
        ``"none"``.
    seed : seed of the metric's random sampling (reproducible registrations).
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
    normalization: str = "pyradiomics"
    seed: int = 20250101

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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["n4_iterations"] = list(self.n4_iterations)
        d["spacing"] = list(self.spacing)
        return d
