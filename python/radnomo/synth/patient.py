"""One synthetic patient: clinical row -> anatomy -> four phases with masks and ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import SimpleITK as sitk

from radnomo.synth.acquisition import SCANNERS, SEQUENCES, acquire_phase, choose_scanner, sample_geometry
from radnomo.synth.anatomy import render_tissue, sample_anatomy
from radnomo.synth.clinical import (STREAM_ACQUISITION, STREAM_ANATOMY, check_seed, patient_id,
                                    simulate_subjects, subject_rng)
from radnomo.synth.sizes import SizeSpec, get_size

# sub-streams of the anatomy/acquisition streams (spawn keys are (index, stream, sub))
_SUB_FIELDS = 1


@dataclass(frozen=True)
class PatientData:
    """Images (int16) and ROI masks (uint8) per sequence, and the patient's ground truth."""

    patient_id: str
    images: dict
    masks: dict
    truth: dict


def _rng(seed, index, stream, sub=0):
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index), int(stream), int(sub))))


def render_patient(index: int, seed: int, size: str | SizeSpec = "small", subject: dict | None = None) -> PatientData:
    """Simulate patient ``index`` (0-based) of the cohort with ``seed``.

    Parameters
    ----------
    index : 0-based patient index (patient id ``P{index+1:04d}``).
    seed : cohort seed (non-negative integer).
    size : cohort size name or :class:`SizeSpec`.
    subject : the patient's row of :func:`simulate_subjects` (computed when omitted).

    Returns
    -------
    :class:`PatientData`; ``truth`` holds the scanner, the anatomy parameters
    (lesions, nodules, vessels, latent-texture amplitudes) and per phase the
    grid and the rigid transform (see :class:`~radnomo.synth.acquisition.PhaseGeometry`).
    """
    seed = check_seed(seed)
    spec = get_size(size)
    if subject is None:
        subject = simulate_subjects(index + 1, seed).iloc[index].to_dict()
    anat_rng = subject_rng(seed, index, STREAM_ANATOMY)
    params = sample_anatomy(subject, spec, anat_rng)
    maps = render_tissue(params, spec, _rng(seed, index, STREAM_ANATOMY, _SUB_FIELDS))
    acq_rng = subject_rng(seed, index, STREAM_ACQUISITION)
    scanner_id = choose_scanner(acq_rng)
    scanner = SCANNERS[scanner_id]
    images, masks, phases = {}, {}, {}
    for j, seq in enumerate(SEQUENCES):
        geom = sample_geometry(params, spec, seq, acq_rng)
        img, mask = acquire_phase(maps, seq, geom, scanner, _rng(seed, index, STREAM_ACQUISITION, 1 + j))
        images[seq], masks[seq] = img, mask
        phases[seq] = geom.as_dict()
        phases[seq]["mask_voxels"] = int(sitk.GetArrayViewFromImage(mask).sum())
    truth = {
        "patient_id": patient_id(index),
        "scanner": scanner.name,
        "scanner_id": scanner_id,
        "anatomy": params.as_dict(),
        "phases": phases,
    }
    return PatientData(patient_id(index), images, masks, truth)


def simulate_patient(i: int, seed: int, size: str | SizeSpec = "small") -> dict:
    """Images and masks of patient ``i`` as a dict of SimpleITK images.

    Keys are the sequences ``t2``, ``ap``, ``pvp``, ``dp`` (int16 images) and
    ``t2_mask``, ``ap_mask``, ``pvp_mask``, ``dp_mask`` (uint8 ROI masks on the
    same grid as their image). Use :func:`render_patient` for the ground truth.
    """
    data = render_patient(i, seed, size)
    out = dict(data.images)
    out.update({f"{k}_mask": v for k, v in data.masks.items()})
    return out
