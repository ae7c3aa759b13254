"""Patient anatomy: liver, vessels, tumours, nodules, textures, rendered on a reference grid.

Coordinates are millimetres in the patient's *anatomy frame*: LPS axes (x to
the patient's left, y posterior, z superior, as in DICOM/ITK), origin at the
liver centre. :func:`sample_anatomy` draws the parameters (recorded in the
ground truth); :func:`render_tissue` turns them into fractional tissue maps
and random fields on a regular reference grid; :mod:`radnomo.synth.acquisition`
turns those into the four MRI phases.

Arrays are indexed ``[z, y, x]`` like ``SimpleITK.GetArrayFromImage``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from radnomo.synth.sizes import SizeSpec

#: Full-size liver semi-axes (mm): left-right, antero-posterior, cranio-caudal.
LIVER_SEMI_AXES_MM = (80.0, 62.0, 70.0)


@dataclass(frozen=True)
class RefGrid:
    """A regular axis-aligned grid: ``origin`` (x, y, z) of voxel 0, ``spacing`` (x, y, z), ``shape`` (z, y, x)."""

    origin: tuple[float, float, float]
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]

    def axes(self):
        """1-D coordinate vectors broadcastable to ``shape``: (x[None,None,:], y[None,:,None], z[:,None,None])."""
        nz, ny, nx = self.shape
        x = (self.origin[0] + self.spacing[0] * np.arange(nx, dtype=np.float32))[None, None, :]
        y = (self.origin[1] + self.spacing[1] * np.arange(ny, dtype=np.float32))[None, :, None]
        z = (self.origin[2] + self.spacing[2] * np.arange(nz, dtype=np.float32))[:, None, None]
        return x, y, z

    def index_slices(self, lo, hi):
        """Index slices (z, y, x) covering the physical box [lo, hi] (x, y, z), clipped to the grid."""
        out = []
        for ax, n in zip((2, 1, 0), self.shape):
            i0 = int(math.floor((lo[ax] - self.origin[ax]) / self.spacing[ax]))
            i1 = int(math.ceil((hi[ax] - self.origin[ax]) / self.spacing[ax])) + 1
            out.append(slice(max(i0, 0), min(max(i1, 0), n)))
        return tuple(out)  # (z, y, x) order because of the loop order above

    def sub_axes(self, sl):
        x, y, z = self.axes()
        return x[:, :, sl[2]], y[:, sl[1], :], z[sl[0], :, :]


@dataclass
class AnatomyParams:
    """Sampled anatomy of one patient (all lengths in mm, anatomy frame)."""

    semi_axes: tuple[float, float, float]
    shape_freqs: list  # K x 3 wave vectors on the unit sphere of directions
    shape_phases: list
    shape_amps: list
    vessels: list  # dicts: name, kind (portal/hepatic/ivc), a, b (points), ra, rb (radii)
    lesions: list  # dicts: center, radius, lobulation (freqs, phases, amps), dangerous
    nodules: list  # dicts: center, radius
    body_center: tuple[float, float]
    body_semi: tuple[float, float]
    fat_thickness: float
    texture_amplitude: float
    spot_fraction: float
    spot_contrast: float
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        def clean(v):
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple, np.ndarray)):
                return [clean(x) for x in v]
            if isinstance(v, (np.floating, float)):
                return round(float(v), 4)
            if isinstance(v, np.integer):
                return int(v)
            return v
        return clean(self.__dict__)


# --------------------------------------------------------------------------- shapes

def _radial_perturbation(dx, dy, dz, freqs, phases, amps):
    """Smooth function of direction: sum_k amp_k cos(2 pi f_k . u + phase_k), u = unit vector."""
    r = np.sqrt(dx * dx + dy * dy + dz * dz) + 1e-6
    ux, uy, uz = dx / r, dy / r, dz / r
    out = np.zeros(np.broadcast_shapes(np.shape(ux), np.shape(uy), np.shape(uz)), dtype=np.float32)
    for f, ph, a in zip(freqs, phases, amps):
        out += np.float32(a) * np.cos(np.float32(2 * np.pi) * (f[0] * ux + f[1] * uy + f[2] * uz) + np.float32(ph))
    return out, r


def liver_signed_distance(params: AnatomyParams, x, y, z):
    """Approximate signed distance (mm, negative inside) to the liver surface."""
    a, b, c = params.semi_axes
    qx, qy, qz = x / a, y / b, z / c
    pert, rho = _radial_perturbation(qx, qy, qz, params.shape_freqs, params.shape_phases, params.shape_amps)
    mean_axis = (a + b + c) / 3.0
    return ((rho - (1.0 + pert)) * np.float32(mean_axis)).astype(np.float32)


def _segment_distance(x, y, z, a, b):
    """Distance from points to segment a-b and the segment parameter t in [0, 1]."""
    ab = np.asarray(b, dtype=np.float32) - np.asarray(a, dtype=np.float32)
    L2 = float(ab @ ab) + 1e-9
    px, py, pz = x - a[0], y - a[1], z - a[2]
    t = np.clip((px * ab[0] + py * ab[1] + pz * ab[2]) / np.float32(L2), 0.0, 1.0)
    dx, dy, dz = px - t * ab[0], py - t * ab[1], pz - t * ab[2]
    return np.sqrt(dx * dx + dy * dy + dz * dz), t


def vessel_distance_at(params: AnatomyParams, point) -> float:
    """Smallest distance (mm) from ``point`` to any vessel wall (negative inside a vessel)."""
    p = np.asarray(point, dtype=np.float32)
    best = np.inf
    for v in params.vessels:
        d, t = _segment_distance(p[0], p[1], p[2], v["a"], v["b"])
        best = min(best, float(d - (v["ra"] + t * (v["rb"] - v["ra"]))))
    return best


# --------------------------------------------------------------------------- sampling

def _sample_shape(rng, k, amp):
    freqs, phases, amps = [], [], []
    for _ in range(k):
        v = rng.standard_normal(3)
        v = v / np.linalg.norm(v) * rng.uniform(0.25, 0.7)
        freqs.append(v.tolist())
        phases.append(float(rng.uniform(0, 2 * np.pi)))
        amps.append(float(rng.uniform(0.3, 1.0) * amp))
    return freqs, phases, amps


def _vessel_tree(rng, semi, scale, min_r):
    a, b, c = semi
    jit = lambda s: rng.uniform(-s, s)  # noqa: E731
    r = lambda mm: max(mm * scale, min_r)  # noqa: E731
    vessels = []
    # portal vein: enters at the hilum (inferior, medial), splits right/left, then segmental
    outside = (0.25 * a + jit(0.05 * a), 0.35 * b + jit(0.05 * b), -1.25 * c)
    hilum = (0.15 * a + jit(0.05 * a), 0.15 * b + jit(0.05 * b), -0.25 * c + jit(0.05 * c))
    vessels.append(dict(name="portal_main", kind="portal", a=outside, b=hilum, ra=r(7.0), rb=r(6.0)))
    for side, sx in (("right", -1.0), ("left", 1.0)):
        tip = (sx * (0.40 + jit(0.05)) * a, jit(0.15) * b, jit(0.1) * c)
        vessels.append(dict(name=f"portal_{side}", kind="portal", a=hilum, b=tip, ra=r(5.0), rb=r(4.0)))
        for j in range(2):
            end = (sx * (0.70 + jit(0.08)) * a, (-0.35 if j == 0 else 0.3) * b + jit(0.1) * b,
                   (0.3 if j == 0 else -0.3) * c + jit(0.1) * c)
            vessels.append(dict(name=f"portal_{side}_{j + 1}", kind="portal", a=tip, b=end, ra=r(3.5), rb=r(2.2)))
    # inferior vena cava: posterior, cranio-caudal; hepatic veins converge on it superiorly
    ivc_x, ivc_y = 0.05 * a + jit(0.04 * a), 0.78 * b + jit(0.04 * b)
    vessels.append(dict(name="ivc", kind="ivc", a=(ivc_x, ivc_y, -1.3 * c), b=(ivc_x, ivc_y, 1.3 * c),
                        ra=r(10.0), rb=r(10.0)))
    confluence = (ivc_x, ivc_y - 0.05 * b, 0.75 * c)
    for name, tgt in (("hepatic_right", (-0.65, -0.1, -0.35)), ("hepatic_middle", (0.0, -0.5, -0.3)),
                      ("hepatic_left", (0.6, -0.25, -0.05))):
        end = (tgt[0] * a + jit(0.05 * a), tgt[1] * b + jit(0.05 * b), tgt[2] * c + jit(0.05 * c))
        vessels.append(dict(name=name, kind="hepatic", a=confluence, b=end, ra=r(5.0), rb=r(2.0)))
    for v in vessels:
        v["a"] = [float(t) for t in v["a"]]
        v["b"] = [float(t) for t in v["b"]]
    return vessels


def _place(rng, params, radius, depth_range, avoid, tries=400):
    """Random centre inside the liver with signed depth in ``depth_range`` (mm) and clear of ``avoid``."""
    a, b, c = params.semi_axes
    best, best_depth = np.zeros(3), -np.inf
    for _ in range(tries):
        p = rng.uniform(-1, 1, 3) * np.array([a, b, c]) * 0.9
        depth = -float(liver_signed_distance(params, *[np.float32(t) for t in p]))
        if depth > best_depth:
            best, best_depth = p, depth
        if not (depth_range[0] <= depth <= depth_range[1]):
            continue
        if vessel_distance_at(params, p) < radius * 1.1:
            continue
        if any(np.linalg.norm(p - np.asarray(o["center"])) < radius + o["radius"] + 1.0 for o in avoid):
            continue
        return p.tolist()
    # no point met every condition (a very large tumour): the deepest point tried
    return best.tolist()


def sample_anatomy(subject: dict, spec: SizeSpec, rng: np.random.Generator) -> AnatomyParams:
    """Draw the anatomy of one patient.

    Parameters
    ----------
    subject : the patient's row of :func:`radnomo.synth.clinical.simulate_subjects`
        (uses ``tumor_number``, ``max_diameter_cm``, ``multiple_low_signal``,
        ``dangerous_position``, ``texture_pvp``, ``t2_pattern``).
    spec : cohort size.
    rng : the patient's anatomy stream.
    """
    s = spec.anatomy_scale
    semi = tuple(float(v * s * rng.uniform(0.9, 1.1)) for v in LIVER_SEMI_AXES_MM)
    freqs, phases, amps = _sample_shape(rng, 7, 0.07)
    params = AnatomyParams(
        semi_axes=semi, shape_freqs=freqs, shape_phases=phases, shape_amps=amps,
        vessels=_vessel_tree(rng, semi, s, spec.min_vessel_radius_mm), lesions=[], nodules=[],
        body_center=(0.9 * semi[0], 0.3 * semi[1]), body_semi=(1.9 * semi[0], 1.45 * semi[1]),
        fat_thickness=float(rng.uniform(0.08, 0.16) * semi[1]),
        # latent PVP texture: SD of the multiplicative parenchymal field
        texture_amplitude=float(0.08 * math.exp(0.55 * float(subject["texture_pvp"]))),
        # latent T2 pattern: volume fraction and contrast of hyperintense spots
        spot_fraction=float(0.03 * math.exp(0.7 * float(subject["t2_pattern"]))),
        spot_contrast=float(min(0.40 * math.exp(0.3 * float(subject["t2_pattern"])), 0.8)),
    )
    # tumours: the largest has the clinical maximum diameter
    dmax = max(float(subject["max_diameter_cm"]) * 10.0 * s, spec.min_lesion_diameter_mm)
    for k in range(int(subject["tumor_number"])):
        d = dmax if k == 0 else max(dmax * rng.uniform(0.4, 0.9), spec.min_lesion_diameter_mm)
        radius = d / 2.0
        dangerous = bool(subject["dangerous_position"]) and k == 0
        depth = (radius * 0.9, radius * 1.4) if dangerous else (radius * 1.5, 1e9)
        center = _place(rng, params, radius, depth, params.lesions)
        lf, lp, la = _sample_shape(rng, 4, 0.08)
        params.lesions.append(dict(center=center, radius=radius, diameter_mm=d, dangerous=dangerous,
                                   lob_freqs=lf, lob_phases=lp, lob_amps=la))
    # small hypointense nodules: >= 3 when the clinical flag is set, else 0-2
    if int(subject["multiple_low_signal"]):
        n_nod = int(rng.integers(3, 9))
    else:
        n_nod = int(rng.choice([0, 1, 2], p=[0.5, 0.3, 0.2]))
    for _ in range(n_nod):
        radius = rng.uniform(*spec.nodule_diameter) / 2.0
        center = _place(rng, params, radius, (radius * 1.5, 1e9), params.lesions + params.nodules)
        params.nodules.append(dict(center=center, radius=float(radius)))
    return params


# --------------------------------------------------------------------------- rendering

@dataclass
class TissueMaps:
    """Fractional tissue maps and unit random fields on the reference grid (float32, [z, y, x])."""

    grid: RefGrid
    liver: np.ndarray        # liver fraction (0-1), vessels included
    vessel: dict             # kind -> fraction
    lesion: np.ndarray       # tumour fraction
    capsule: np.ndarray      # tumour capsule rim fraction
    nodule: np.ndarray       # nodule fraction
    body: np.ndarray         # inside-body fraction
    fat: np.ndarray          # subcutaneous fat fraction
    texture: np.ndarray      # latent PVP field, SD = texture amplitude
    background_texture: np.ndarray  # latent-free parenchymal heterogeneity (SD 0.025)
    lesion_texture: np.ndarray
    body_texture: np.ndarray
    spots: np.ndarray        # T2 spot map: relative signal increase (peak = spot contrast)

    @property
    def vessel_any(self) -> np.ndarray:
        out = np.zeros_like(self.liver)
        for v in self.vessel.values():
            np.maximum(out, v, out=out)
        return out

    def roi(self) -> np.ndarray:
        """Whole-liver ROI fraction: liver minus the main vessels."""
        return self.liver * (1.0 - self.vessel_any)


def reference_grid(params: AnatomyParams, spec: SizeSpec) -> RefGrid:
    """A grid covering every phase's field of view (margins for FOV, offsets, misalignment)."""
    a, b, c = params.semi_axes
    half_xy = 1.5 * max(a, b) + 3.0 * spec.translation_sd
    half_z = 1.5 * c + 4.5 * spec.translation_sd
    sxy, sz = spec.ref_spacing
    nxy = int(math.ceil(2 * half_xy / sxy)) + 1
    nz = int(math.ceil(2 * half_z / sz)) + 1
    origin = (-(nxy - 1) * sxy / 2, -(nxy - 1) * sxy / 2, -(nz - 1) * sz / 2)
    return RefGrid(origin=origin, spacing=(sxy, sxy, sz), shape=(nz, nxy, nxy))


def _soft(signed_distance, width):
    """Fraction inside from a signed distance (mm): linear ramp over ``width`` mm."""
    return np.clip(0.5 - signed_distance / np.float32(width), 0.0, 1.0).astype(np.float32)


def _gaussian_field(rng, shape, sigma_vox):
    f = rng.standard_normal(shape, dtype=np.float32)
    f = ndimage.gaussian_filter(f, sigma=sigma_vox, mode="wrap", truncate=3.0)
    sd = float(f.std())
    return f / np.float32(sd if sd > 0 else 1.0)


def render_tissue(params: AnatomyParams, spec: SizeSpec, rng: np.random.Generator) -> TissueMaps:
    """Render the anatomy on its reference grid; ``rng`` draws the random fields."""
    grid = reference_grid(params, spec)
    x, y, z = grid.axes()
    w = float(min(grid.spacing))
    liver = _soft(liver_signed_distance(params, x, y, z), w)
    vessel = _vessel_maps(params, grid, w)
    lesion, capsule = _lesion_maps(params, grid, w)
    nodule = _nodule_map(params, grid, w)
    body, fat = _body_maps(params, grid, x, y, w)

    sig = lambda mm: tuple(mm / s for s in (grid.spacing[2], grid.spacing[1], grid.spacing[0]))  # noqa: E731
    texture = _gaussian_field(rng, grid.shape, sig(spec.texture_corr_mm)) * np.float32(params.texture_amplitude)
    background_texture = _gaussian_field(rng, grid.shape, sig(2.5 * spec.texture_corr_mm)) * np.float32(0.025)
    lesion_texture = _gaussian_field(rng, grid.shape, sig(spec.texture_corr_mm)) * np.float32(0.06)
    body_texture = _gaussian_field(rng, grid.shape, sig(4.0 * spec.texture_corr_mm)) * np.float32(0.12)

    parenchyma = liver * (1 - np.maximum(lesion, nodule)) * (1 - np.maximum.reduce(list(vessel.values())))
    spots = _t2_spots(params, spec, grid, rng, parenchyma, sig(spec.spot_radius_mm))

    return TissueMaps(grid=grid, liver=liver, vessel=vessel, lesion=lesion * liver, capsule=capsule * liver,
                      nodule=nodule * liver, body=body, fat=fat, texture=texture,
                      background_texture=background_texture, lesion_texture=lesion_texture,
                      body_texture=body_texture, spots=spots.astype(np.float32))


def _vessel_maps(params: AnatomyParams, grid: RefGrid, w: float) -> dict[str, np.ndarray]:
    """Fraction of each voxel inside a portal, hepatic or caval vessel (tapered cylinders)."""
    vessel = {k: np.zeros(grid.shape, np.float32) for k in ("portal", "hepatic", "ivc")}
    for v in params.vessels:
        rmax = max(v["ra"], v["rb"]) + 2 * w
        lo = np.minimum(v["a"], v["b"]) - rmax
        hi = np.maximum(v["a"], v["b"]) + rmax
        sl = grid.index_slices(lo, hi)
        sx, sy, sz = grid.sub_axes(sl)
        d, t = _segment_distance(sx, sy, sz, v["a"], v["b"])
        frac = _soft(d - (v["ra"] + t * (v["rb"] - v["ra"])), w)
        np.maximum(vessel[v["kind"]][sl], frac, out=vessel[v["kind"]][sl])
    return vessel


def _lesion_maps(params: AnatomyParams, grid: RefGrid, w: float) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of each voxel inside a (lobulated) tumour, and inside its capsule rim."""
    lesion = np.zeros(grid.shape, np.float32)
    capsule = np.zeros(grid.shape, np.float32)
    for les in params.lesions:
        c0, r = np.asarray(les["center"], np.float32), les["radius"]
        sl = grid.index_slices(c0 - 1.4 * r - 2 * w, c0 + 1.4 * r + 2 * w)
        sx, sy, sz = grid.sub_axes(sl)
        pert, dist = _radial_perturbation(sx - c0[0], sy - c0[1], sz - c0[2],
                                          les["lob_freqs"], les["lob_phases"], les["lob_amps"])
        sd = dist - np.float32(r) * (1.0 + pert)
        np.maximum(lesion[sl], _soft(sd, w), out=lesion[sl])
        rim = np.float32(max(0.12 * r, w))
        np.maximum(capsule[sl], _soft(np.abs(sd - rim / 2) - rim / 2, w), out=capsule[sl])
    return lesion, capsule


def _nodule_map(params: AnatomyParams, grid: RefGrid, w: float) -> np.ndarray:
    """Fraction of each voxel inside a small (spherical) hypointense nodule."""
    nodule = np.zeros(grid.shape, np.float32)
    for nod in params.nodules:
        c0, r = np.asarray(nod["center"], np.float32), nod["radius"]
        sl = grid.index_slices(c0 - r - 2 * w, c0 + r + 2 * w)
        sx, sy, sz = grid.sub_axes(sl)
        d = np.sqrt((sx - c0[0]) ** 2 + (sy - c0[1]) ** 2 + (sz - c0[2]) ** 2) - np.float32(r)
        np.maximum(nodule[sl], _soft(d, w), out=nodule[sl])
    return nodule


def _body_maps(params: AnatomyParams, grid: RefGrid, x, y, w: float) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of each voxel inside the body (an elliptic cylinder) and in its subcutaneous fat layer."""
    bx, by = params.body_center
    ba, bb = params.body_semi
    ell = np.sqrt(((x - bx) / ba) ** 2 + ((y - by) / bb) ** 2)  # (1, ny, nx)
    body_sd = (ell - 1.0) * np.float32(min(ba, bb))
    body = np.broadcast_to(_soft(body_sd, w), grid.shape).copy()
    fat = np.broadcast_to(_soft(np.abs(body_sd + params.fat_thickness / 2) - params.fat_thickness / 2, w),
                          grid.shape).copy()
    return body, fat


def _t2_spots(params: AnatomyParams, spec: SizeSpec, grid: RefGrid, rng: np.random.Generator,
              parenchyma: np.ndarray, sig_vox) -> np.ndarray:
    """T2 spots: Gaussian blobs at random parenchymal voxels, their count from the volume fraction
    (recorded in ``params.extra["n_spots"]``)."""
    cand = np.flatnonzero(parenchyma.ravel() > 0.99)
    voxel_vol = float(np.prod(grid.spacing))
    spot_vol = (2 * np.pi) ** 1.5 * spec.spot_radius_mm ** 3
    n_spots = int(rng.poisson(params.spot_fraction * cand.size * voxel_vol / spot_vol)) if cand.size else 0
    impulses = np.zeros(grid.shape, np.float32)
    if n_spots:
        idx = rng.choice(cand, size=min(n_spots, cand.size), replace=False)
        impulses.ravel()[idx] = 1.0
    spots = ndimage.gaussian_filter(impulses, sigma=sig_vox, truncate=3.0)
    peak = 1.0 / ((2 * np.pi) ** 1.5 * float(np.prod(sig_vox)))
    spots = np.minimum(spots / np.float32(peak), 1.5) * parenchyma * np.float32(params.spot_contrast)
    params.extra["n_spots"] = int(n_spots)
    return spots
