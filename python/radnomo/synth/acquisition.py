"""MRI acquisition of the four phases: contrast, geometry, misalignment, scanner, bias, noise.

Each phase is an independent acquisition of the same anatomy:

1. the phase's tissue contrast (:data:`PHASES`) turns the tissue maps into a
   noiseless intensity image on the reference grid (relative units,
   parenchyma = 1 before the textures);
2. slice profile: a Gaussian blur with FWHM equal to the pixel spacing
   in-plane and the slice thickness through-plane (partial volume);
3. rigid misalignment: the phase is sampled through its own Euler transform
   ``T_p`` (ITK convention: it maps a point of the phase image's physical
   space to the anatomy frame), on its own grid (spacing, matrix, field of
   view, direction);
4. scanner: a multiplicative scale, a smooth multiplicative bias field
   (exponential of a random quadratic polynomial) and Rician noise;
5. rounding to int16, like scanner-exported images.

The ROI mask of each phase is the whole-liver fraction minus the main vessels,
blurred and sampled the same way, thresholded at 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from radnomo.synth.anatomy import AnatomyParams, TissueMaps
from radnomo.synth.sizes import SizeSpec

#: Study sequences in manifest order with their long names.
SEQUENCES: dict[str, str] = {"t2": "T2WI", "ap": "arterial phase", "pvp": "portal venous phase",
                             "dp": "delay phase"}


@dataclass(frozen=True)
class PhaseContrast:
    """Tissue intensities of one phase, relative to liver parenchyma (= 1).

    ``base`` is the parenchymal signal in scanner units before the scanner
    scale; ``texture_weight`` scales the latent PVP texture field and
    ``spot_weight`` the latent T2 spot pattern in this phase.
    """

    base: float
    lesion: float
    capsule: float
    portal: float
    hepatic: float
    ivc: float
    nodule: float
    body: float
    fat: float
    texture_weight: float
    spot_weight: float


#: Phase-typical behaviour: arterial hyperenhancement and portal/delay washout of
#: the tumour with an enhancing capsule in the delay phase, mild T2
#: hyperintensity, flow voids on T2, hypointense nodules in the arterial and
#: portal phases, fat bright on T2 and dark on fat-suppressed T1.
PHASES: dict[str, PhaseContrast] = {
    "t2": PhaseContrast(base=320, lesion=1.45, capsule=1.0, portal=0.35, hepatic=0.35, ivc=0.3,
                        nodule=0.95, body=0.85, fat=1.7, texture_weight=0.0, spot_weight=1.0),
    "ap": PhaseContrast(base=420, lesion=1.75, capsule=1.0, portal=1.35, hepatic=0.6, ivc=0.7,
                        nodule=0.68, body=0.75, fat=0.3, texture_weight=0.25, spot_weight=0.0),
    "pvp": PhaseContrast(base=560, lesion=0.72, capsule=1.15, portal=1.55, hepatic=1.45, ivc=1.4,
                         nodule=0.62, body=0.8, fat=0.3, texture_weight=1.0, spot_weight=0.0),
    "dp": PhaseContrast(base=520, lesion=0.68, capsule=1.35, portal=1.25, hepatic=1.25, ivc=1.2,
                        nodule=0.76, body=0.82, fat=0.3, texture_weight=0.5, spot_weight=0.0),
}


@dataclass(frozen=True)
class Scanner:
    """A simulated scanner: intensity scale, bias-field strength (SD of log-bias coefficients), noise SD / parenchyma."""

    name: str
    scale: float
    bias_strength: float
    noise_fraction: float
    probability: float


SCANNERS: tuple[Scanner, ...] = (
    Scanner("scanner_A_1.5T", scale=1.0, bias_strength=0.08, noise_fraction=0.025, probability=0.45),
    Scanner("scanner_B_3T", scale=2.3, bias_strength=0.16, noise_fraction=0.035, probability=0.35),
    Scanner("scanner_C_1.5T", scale=0.55, bias_strength=0.25, noise_fraction=0.045, probability=0.20),
)


def choose_scanner(rng: np.random.Generator) -> int:
    return int(rng.choice(len(SCANNERS), p=[s.probability for s in SCANNERS]))


# --------------------------------------------------------------------------- geometry

@dataclass(frozen=True)
class PhaseGeometry:
    """Grid and misalignment of one phase (lengths in mm, angles in degrees)."""

    size: tuple[int, int, int]            # x, y, z voxels
    spacing: tuple[float, float, float]   # x, y, z
    origin: tuple[float, float, float]
    direction: tuple[float, ...]          # 9 values, row-major, columns are the image axes
    rotation_deg: tuple[float, float, float]
    translation_mm: tuple[float, float, float]
    center_mm: tuple[float, float, float]
    gain: float

    def transform(self) -> sitk.Euler3DTransform:
        """Rigid transform mapping this phase's physical points to the anatomy frame."""
        t = sitk.Euler3DTransform()
        t.SetCenter(self.center_mm)
        t.SetRotation(*[math.radians(a) for a in self.rotation_deg])
        t.SetTranslation(self.translation_mm)
        return t

    def reference_image(self, pixel=sitk.sitkUInt8) -> sitk.Image:
        img = sitk.Image([int(v) for v in self.size], pixel)
        img.SetSpacing(self.spacing)
        img.SetOrigin(self.origin)
        img.SetDirection(self.direction)
        return img

    def as_dict(self) -> dict:
        t = self.transform()
        m = np.asarray(t.GetMatrix()).reshape(3, 3)
        offset = np.asarray(t.TransformPoint((0.0, 0.0, 0.0)))
        h = np.eye(4)
        h[:3, :3] = m
        h[:3, 3] = offset
        return {
            "size": list(self.size), "spacing": [round(v, 6) for v in self.spacing],
            "origin": [round(v, 6) for v in self.origin],
            "direction": [round(v, 9) for v in self.direction],
            "transform": {
                "type": "Euler3DTransform (ITK convention: maps points of this phase's "
                        "physical space to the anatomy frame)",
                "rotation_deg": [round(v, 6) for v in self.rotation_deg],
                "translation_mm": [round(v, 6) for v in self.translation_mm],
                "center_mm": [round(v, 6) for v in self.center_mm],
                "matrix_4x4": [[round(float(v), 9) for v in row] for row in h],
            },
            "gain": round(self.gain, 6),
        }


def _rotation_matrix(ax, ay, az):
    """ITK Euler3D default order (Z-X-Y): R = Rz Rx Ry, angles in radians."""
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ rx @ ry


def sample_geometry(params: AnatomyParams, spec: SizeSpec, sequence: str, rng: np.random.Generator) -> PhaseGeometry:
    """Draw the grid (spacing, matrix, FOV, direction) and rigid misalignment of one phase."""
    a, b, c = params.semi_axes
    sxy = float(rng.uniform(*spec.inplane_spacing))
    sz = float(rng.uniform(*spec.slice_thickness))
    fov_xy = 2 * max(a, b) * float(rng.uniform(*spec.fov_margin))
    fov_z = 2 * c * float(rng.uniform(*spec.fov_margin))
    nxy, nz = max(int(round(fov_xy / sxy)), 8), max(int(round(fov_z / sz)), 4)
    rot = tuple(float(np.clip(rng.normal(0, spec.rotation_sd_deg), -2.5 * spec.rotation_sd_deg,
                              2.5 * spec.rotation_sd_deg)) for _ in range(3))
    tsd = np.array([1.0, 1.0, 1.5]) * spec.translation_sd
    trans = tuple(float(v) for v in np.clip(rng.normal(0, tsd), -2.5 * tsd, 2.5 * tsd))
    # T2WI is often planned slightly oblique; the dynamic phases are axial
    tilt = math.radians(float(rng.uniform(-6, 6))) if sequence == "t2" else 0.0
    direction = _rotation_matrix(tilt, 0.0, 0.0)
    # centre the FOV on where the liver centre appears in this phase, with a positioning offset
    R = _rotation_matrix(*[math.radians(v) for v in rot])
    liver_center_phase = R.T @ (-np.asarray(trans))  # T(x) = R x + t (centre at origin) = 0
    offset = rng.uniform(-0.05, 0.05, 3) * np.array([fov_xy, fov_xy, fov_z])
    fov_center = liver_center_phase + offset
    extent = np.array([(nxy - 1) * sxy, (nxy - 1) * sxy, (nz - 1) * sz])
    origin = fov_center - direction @ (extent / 2)
    gain = float(rng.uniform(0.9, 1.1))
    return PhaseGeometry(size=(nxy, nxy, nz), spacing=(sxy, sxy, sz), origin=tuple(float(v) for v in origin),
                         direction=tuple(float(v) for v in direction.ravel()), rotation_deg=rot,
                         translation_mm=trans, center_mm=(0.0, 0.0, 0.0), gain=gain)


# --------------------------------------------------------------------------- intensities

def phase_intensity(maps: TissueMaps, contrast: PhaseContrast) -> np.ndarray:
    """Noise-free relative intensity (parenchyma about 1) on the reference grid."""
    k = contrast
    parenchyma = (1.0 + maps.background_texture + np.float32(k.texture_weight) * maps.texture
                  + np.float32(k.spot_weight) * maps.spots)
    img = parenchyma
    img = img + (np.float32(k.lesion) * (1.0 + maps.lesion_texture) - img) * maps.lesion
    img = img + (np.float32(k.capsule) - img) * maps.capsule
    img = img + (np.float32(k.nodule) - img) * maps.nodule
    outside = np.float32(k.body) * (1.0 + maps.body_texture)
    outside = outside + (np.float32(k.fat) - outside) * maps.fat
    img = outside + (img - outside) * maps.liver
    for kind, val in (("portal", k.portal), ("hepatic", k.hepatic), ("ivc", k.ivc)):
        img = img + (np.float32(val) - img) * maps.vessel[kind]
    return (img * maps.body).astype(np.float32)  # air outside the body


def _slice_profile(arr: np.ndarray, maps: TissueMaps, geom: PhaseGeometry) -> np.ndarray:
    """Gaussian blur with FWHM = pixel spacing in-plane and slice thickness through-plane."""
    fwhm = np.array([geom.spacing[2], geom.spacing[1], geom.spacing[0]])
    ref = np.array([maps.grid.spacing[2], maps.grid.spacing[1], maps.grid.spacing[0]])
    sigma = fwhm / 2.3548 / ref
    return ndimage.gaussian_filter(arr, sigma=sigma, truncate=2.5)


def _to_image(arr: np.ndarray, maps: TissueMaps) -> sitk.Image:
    img = sitk.GetImageFromArray(arr.astype(np.float32, copy=False))
    img.SetOrigin(maps.grid.origin)
    img.SetSpacing(maps.grid.spacing)
    return img


def _sample(arr: np.ndarray, maps: TissueMaps, geom: PhaseGeometry) -> np.ndarray:
    out = sitk.Resample(_to_image(arr, maps), geom.reference_image(sitk.sitkFloat32), geom.transform(),
                        sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return sitk.GetArrayFromImage(out)


def bias_field(shape_zyx, strength: float, rng: np.random.Generator) -> np.ndarray:
    """exp of a random quadratic polynomial on [-1, 1]^3 with coefficient SD ``strength``."""
    nz, ny, nx = shape_zyx
    x = np.linspace(-1, 1, nx, dtype=np.float32)[None, None, :]
    y = np.linspace(-1, 1, ny, dtype=np.float32)[None, :, None]
    z = np.linspace(-1, 1, nz, dtype=np.float32)[:, None, None]
    terms = [x, y, z, x * x - 1 / 3, y * y - 1 / 3, z * z - 1 / 3, x * y, x * z, y * z]
    coef = rng.normal(0, strength, len(terms)).astype(np.float32)
    logb = sum(np.float32(cf) * t for cf, t in zip(coef, terms))
    return np.exp(np.broadcast_to(logb, (nz, ny, nx))).astype(np.float32)


def acquire_phase(maps: TissueMaps, sequence: str, geom: PhaseGeometry, scanner: Scanner,
                  rng: np.random.Generator) -> tuple[sitk.Image, sitk.Image]:
    """Simulate one phase; return ``(image int16, mask uint8)`` on the phase's grid."""
    contrast = PHASES[sequence]
    rel = _slice_profile(phase_intensity(maps, contrast), maps, geom)
    rel = _sample(rel, maps, geom)
    signal = rel * np.float32(contrast.base * scanner.scale * geom.gain)
    signal *= bias_field(signal.shape, scanner.bias_strength, rng)
    sd = np.float32(scanner.noise_fraction * contrast.base * scanner.scale * geom.gain)
    n1 = rng.standard_normal(signal.shape, dtype=np.float32)
    n2 = rng.standard_normal(signal.shape, dtype=np.float32)
    mag = np.sqrt((signal + sd * n1) ** 2 + (sd * n2) ** 2)  # Rician magnitude
    arr = np.clip(np.rint(mag), 0, 32767).astype(np.int16)
    img = sitk.GetImageFromArray(arr)
    ref = geom.reference_image()
    img.CopyInformation(ref)

    roi = _sample(_slice_profile(maps.roi(), maps, geom), maps, geom)
    mask = sitk.GetImageFromArray((roi >= 0.5).astype(np.uint8))
    mask.CopyInformation(ref)
    return img, mask
