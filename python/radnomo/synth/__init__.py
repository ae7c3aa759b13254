"""Synthetic multi-phase liver MRI cohorts with a known truth.

``generate_cohort(out_dir, n=None, size="small", seed=..., workers=None, progress=True)``
writes four-phase NIfTI images (T2WI ``t2``, arterial ``ap``, portal venous
``pvp``, delay ``dp``) with whole-liver ROI masks, a manifest, the clinical
table of the reference study's Table 1 and ``ground_truth.json``.
``simulate_clinical(n, seed)`` is the clinical table alone (fast) and
``simulate_patient(i, seed, size)`` one patient's images.

Modules: :mod:`.clinical` (variables, outcome model), :mod:`.scores` (ALBI, MELD,
Child-Pugh), :mod:`.sizes`,
:mod:`.anatomy` (liver, vessels, tumours, latent textures),
:mod:`.acquisition` (phases, geometry, scanners, bias, noise),
:mod:`.patient`, :mod:`.cohort` (writing). ``label`` is in both the
manifest and the clinical table (identical values).
"""

from radnomo.synth.clinical import (CLINICAL_COLUMNS, OUTCOME_MODEL, VARIABLES, OutcomeModel,
                                    simulate_clinical, simulate_subjects)
from radnomo.synth.cohort import CohortPaths, generate_cohort, summary
from radnomo.synth.patient import PatientData, render_patient, simulate_patient
from radnomo.synth.sizes import SIZES, SizeSpec

__all__ = [
    "CLINICAL_COLUMNS", "OUTCOME_MODEL", "VARIABLES", "OutcomeModel", "simulate_clinical", "simulate_subjects",
    "CohortPaths", "generate_cohort", "summary", "PatientData", "render_patient", "simulate_patient",
    "SIZES", "SizeSpec",
]
