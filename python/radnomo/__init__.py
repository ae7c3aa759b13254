"""radnomo: deep-learning + radiomics + clinical nomograms from multi-phase MRI.

The Python package is the feature engine (images -> feature tables), the
pipeline driver and the bridge (:mod:`radnomo.stats`) to the radnomo R package,
which holds the statistics.
"""

__version__ = "0.2.0"

__all__ = ["__version__"]
