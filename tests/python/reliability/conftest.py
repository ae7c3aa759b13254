"""Make the reliability suite's helper module importable; its fixtures are registered here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from rel_helpers import finished, good, params_yaml  # noqa: E402,F401  (fixtures)
