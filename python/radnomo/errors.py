"""Exception and warning types raised by radnomo.

Every error that a user can cause (a bad manifest, a missing file, a wrong
option) is a :class:`RadnomoError` with a message naming the file, patient,
sequence or column concerned and what is wrong.

Errors and warnings of the R package keep their meaning across the bridge
(:mod:`radnomo.stats`): R signals classed conditions (``radnomo_input_error``,
``radnomo_nothing_selected``, ``radnomo_separation``, ...) and the bridge
raises (or warns with) the Python class that :data:`R_ERROR_CLASSES` /
:data:`R_WARNING_CLASSES` map them to. An R error of another class is an
:class:`RError`; an R warning of another class an :class:`RWarning`::

    RadnomoError
     +-- InputError (also ValueError)
     |    +-- RInputError (also RError)        R: radnomo_input_error
     +-- MissingDependencyError (also ImportError)
     +-- RError (also RuntimeError)            R: any other error
          +-- NothingSelectedError             R: radnomo_nothing_selected
          +-- SeparationError                  R: radnomo_separation_error

    UserWarning
     +-- RWarning                              R: any other warning
          +-- SeparationWarning                R: radnomo_separation
          +-- NothingSelectedWarning           R: radnomo_nothing_selected
          +-- NoModelWarning                   R: radnomo_no_model
          +-- DegenerateSetWarning             R: radnomo_degenerate_set
          +-- ... (one per class, see R_WARNING_CLASSES)
"""


class RadnomoError(Exception):
    """Base class of radnomo's own errors."""


class InputError(RadnomoError, ValueError):
    """Bad user input: a file, patient, sequence, column or option is wrong."""


class MissingDependencyError(RadnomoError, ImportError):
    """An optional dependency (R package, PyRadiomics, torch, weights) is missing."""


class RError(RadnomoError, RuntimeError):
    """An error raised by R code of the radnomo R package; carries R's message.

    ``r_class`` is the R condition's radnomo class (``""`` when it had none)."""

    r_class: str = ""


class SeparationError(RError):
    """R error of class ``radnomo_separation_error``: a logistic fit separated and the
    separation policy was ``"error"``."""


class RInputError(RError, InputError):
    """R error of class ``radnomo_input_error``: the R package rejected an argument or the data
    (a bad column, a wrong value); an :class:`InputError` as the same mistake made in Python."""


class NothingSelectedError(RError):
    """R error of class ``radnomo_nothing_selected``: no feature passed a selection step."""


class RMissingDependencyError(RError, MissingDependencyError):
    """R error of class ``radnomo_missing_dependency``: an optional R package (or Python, for
    R's ``read_feature_table``) is missing."""


# ----------------------------------------------------------------- warnings --
class RWarning(UserWarning):
    """A warning raised by R code of the radnomo R package."""


class SeparationWarning(RWarning):
    """R class ``radnomo_separation``: (quasi-)complete separation or non-convergence was
    found in a logistic fit and the separation policy was applied (the message names the
    model and the policy)."""


class NothingSelectedWarning(RWarning):
    """R class ``radnomo_nothing_selected`` (as a warning): a block of ``fit_study`` selected
    nothing and is left out of the study."""


class NoModelWarning(RWarning):
    """R class ``radnomo_no_model``: nothing was selected in any block; the study has no model."""


class DegenerateSetWarning(RWarning):
    """R class ``radnomo_degenerate_set``: a set (e.g. the test set) has a single outcome
    class and is not evaluated."""


class EventLevelWarning(RWarning):
    """R message class ``radnomo_event_level``: which value of a non-0/1 outcome was taken
    as the event (pass ``event=`` to choose it and silence this)."""


class UndefinedMetricWarning(RWarning):
    """R class ``radnomo_undefined_metric``: a metric (PPV, a DeLong CI or test) is undefined
    for these data and reported as NA."""


class SmallSampleWarning(RWarning):
    """R class ``radnomo_small_sample``: too few patients per calibration group."""


class ConstantFeaturesWarning(RWarning):
    """R class ``radnomo_constant_features``: constant columns were left out."""


class SingleTermWarning(RWarning):
    """R class ``radnomo_single_term``: one term survived before the LASSO."""


class BootstrapFailuresWarning(RWarning):
    """R class ``radnomo_bootstrap_failures``: some bootstrap refits failed."""


class UnscoredWarning(RWarning):
    """R class ``radnomo_unscored``: some patients could not be scored by every model."""


class UnseenLevelWarning(RWarning):
    """R class ``radnomo_unseen_level``: a categorical value not seen in training."""


class MissingGroupWarning(RWarning):
    """R class ``radnomo_missing_group``: patients without a group in Table 1."""


#: R error class -> Python exception (the first radnomo_* class of the condition is looked up)
R_ERROR_CLASSES: dict[str, type[RError]] = {
    "radnomo_input_error": RInputError,
    "radnomo_nothing_selected": NothingSelectedError,
    "radnomo_separation_error": SeparationError,
    "radnomo_separation": SeparationError,
    "radnomo_missing_dependency": RMissingDependencyError,
}

#: R warning (or message) class -> Python warning category
R_WARNING_CLASSES: dict[str, type[RWarning]] = {
    "radnomo_separation": SeparationWarning,
    "radnomo_nothing_selected": NothingSelectedWarning,
    "radnomo_no_model": NoModelWarning,
    "radnomo_degenerate_set": DegenerateSetWarning,
    "radnomo_event_level": EventLevelWarning,
    "radnomo_undefined_metric": UndefinedMetricWarning,
    "radnomo_small_sample": SmallSampleWarning,
    "radnomo_constant_features": ConstantFeaturesWarning,
    "radnomo_single_term": SingleTermWarning,
    "radnomo_bootstrap_failures": BootstrapFailuresWarning,
    "radnomo_unscored": UnscoredWarning,
    "radnomo_unseen_level": UnseenLevelWarning,
    "radnomo_missing_group": MissingGroupWarning,
}


def r_error(r_class: str, message: str) -> RError:
    """The Python exception for an R error of radnomo class ``r_class`` (``""``: none)."""
    err = R_ERROR_CLASSES.get(r_class, RError)(message)
    err.r_class = r_class
    return err
