"""Exception types raised by radnomo.

Every error that a user can cause (a bad manifest, a missing file, a wrong
option) is a :class:`RadnomoError` with a message naming the file, patient,
sequence or column concerned and what is wrong.
"""


class RadnomoError(Exception):
    """Base class of radnomo's own errors."""


class InputError(RadnomoError, ValueError):
    """Bad user input: a file, patient, sequence, column or option is wrong."""


class MissingDependencyError(RadnomoError, ImportError):
    """An optional dependency (R package, PyRadiomics, torch, weights) is missing."""


class RError(RadnomoError, RuntimeError):
    """An error raised by R code of the radnomo R package; carries R's message."""


class SeparationError(RError):
    """R error of class ``radnomo_separation``: a logistic fit separated and the separation
    policy was ``"error"``."""


class RInputError(RError, InputError):
    """R error of class ``radnomo_input_error``: the R package rejected an argument or the data
    (a bad column, a wrong value); an :class:`InputError` as the same mistake made in Python."""


class NothingSelectedError(RError):
    """R error of class ``radnomo_nothing_selected``: no feature passed a selection step."""
