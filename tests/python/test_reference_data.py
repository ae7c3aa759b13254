"""The reference data listed in tests/reference/PROVENANCE.md are part of the repository.

Every listed file must be present with its recorded size and MD5, and every file in
tests/reference must be listed (so that nothing is added without its source and licence).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2] / "tests" / "reference"
ROW = re.compile(r"^\| `([^`]+)` \| (\d+) \| ([0-9a-f]{32}) \| (yes|no) \|$")


def _listed() -> dict[str, tuple[int, str]]:
    provenance = REFERENCE / "PROVENANCE.md"
    assert provenance.is_file(), f"missing: {provenance} (lists the reference data's sources and licences)"
    text = provenance.read_text(encoding="utf-8")
    rows = [ROW.match(line) for line in text.splitlines() if line.startswith("| `")]
    assert all(rows), [line for line in text.splitlines() if line.startswith("| `") and not ROW.match(line)]
    return {m.group(1): (int(m.group(2)), m.group(3)) for m in rows}


def test_every_listed_reference_file_is_present_and_unchanged():
    listed = _listed()
    assert len(listed) > 10
    missing = [f for f in listed if not (REFERENCE / f).is_file()]
    assert not missing, f"reference file(s) listed in tests/reference/PROVENANCE.md are missing: {missing}"
    for name, (size, md5) in listed.items():
        data = (REFERENCE / name).read_bytes()
        assert len(data) == size, f"{name}: {len(data)} bytes, PROVENANCE.md says {size}"
        assert hashlib.md5(data).hexdigest() == md5, f"{name}: MD5 differs from PROVENANCE.md"


def test_every_reference_file_is_listed():
    listed = _listed()
    present = {p.relative_to(REFERENCE).as_posix() for p in REFERENCE.rglob("*") if p.is_file()}
    unlisted = sorted(present - set(listed) - {"PROVENANCE.md"})
    assert not unlisted, f"file(s) in tests/reference without an entry in PROVENANCE.md: {unlisted}"
