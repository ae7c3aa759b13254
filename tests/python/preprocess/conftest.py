"""Make this folder's helper module (phantoms) importable by its tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from phantoms import cohort_dir  # noqa: E402,F401  (fixture)
