"""The catalogue (CASES.md) lists 44 cases plus the fault injection, and each has its test."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_every_listed_case_has_a_test():
    rows = re.findall(r"^\| ([PIF]\d\d) \|.*\| ([\w., ]+\.py) \|$", (HERE / "CASES.md").read_text(encoding="utf-8"),
                      flags=re.M)
    ids = [r[0] for r in rows]
    assert len(set(ids)) == len(ids)
    assert sorted(i for i in ids if i[0] == "P") == [f"P{i:02d}" for i in range(1, 29)]
    assert sorted(i for i in ids if i[0] == "I") == [f"I{i:02d}" for i in range(1, 17)]
    for case, files in rows:
        texts = [(HERE / f.strip()).read_text(encoding="utf-8") for f in files.split(",")]
        assert any(case in t for t in texts), f"{case} has no test in {files}"
