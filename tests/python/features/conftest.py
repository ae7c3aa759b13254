"""Make this folder's helper modules (feature_helpers, ibsi_map) importable by its tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feature_helpers import small_params  # noqa: E402,F401  (fixture)
