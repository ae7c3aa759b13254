"""Image preprocessing with SimpleITK: registration → N4 → resampling → normalisation.

Each step is a small frozen dataclass with an ``apply``-style method that
returns its output and a record of its parameters; :func:`preprocess_cohort`
composes them for a whole manifest.
"""

from radnomo.preprocess.bias import N4
from radnomo.preprocess.cohort import PreprocessResult, preprocess_case, preprocess_cohort
from radnomo.preprocess.config import PreprocessConfig
from radnomo.preprocess.normalize import Normalize
from radnomo.preprocess.patient import preprocess_images
from radnomo.preprocess.registration import Registration
from radnomo.preprocess.resample import Resample, reference_grid

__all__ = ["N4", "Normalize", "PreprocessConfig", "PreprocessResult", "Registration", "Resample",
           "preprocess_case", "preprocess_cohort", "preprocess_images", "reference_grid"]
