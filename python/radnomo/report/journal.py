"""A table as a journal prints it (:class:`JournalTable`, :class:`Row`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from radnomo.report.formatting import num

@dataclass
class Row:
    """One table row: formatted cells (first = row label), indent level (0 = variable, 1 = level),
    kind ``"row"``, ``"variable"`` (a heading row of a group of levels) or ``"section"`` (spans the
    table)."""

    cells: list[str]
    indent: int = 0
    kind: str = "row"


@dataclass
class JournalTable:
    """A table as a journal prints it. ``anchor`` is the HTML id the report gives it (checklists
    link to it); ``sources`` names the CSV tables its numbers come from."""

    anchor: str
    title: str
    columns: list[str]
    rows: list[Row]
    footnotes: list[str] = field(default_factory=list)
    caption: str = ""
    sources: list[str] = field(default_factory=list)
    number: int | None = None

    def to_dict(self) -> dict:
        """The template context of this table (see ``templating.render_report``)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """The formatted table as a DataFrame (indented labels prefixed with two spaces per level),
        for CSV/Markdown export."""
        recs = []
        for r in self.rows:
            cells = list(r.cells) + [""] * (len(self.columns) - len(r.cells))
            cells[0] = "  " * r.indent + cells[0]
            recs.append(cells[: len(self.columns)])
        return pd.DataFrame(recs, columns=unique(self.columns))

    def row(self, label: str, *, after: str | None = None) -> Row:
        """The first row whose label is ``label`` (after the row labelled ``after``, when given)."""
        start = 0
        if after is not None:
            start = next(i for i, r in enumerate(self.rows) if r.cells[0] == after) + 1
        for r in self.rows[start:]:
            if r.cells[0] == label:
                return r
        raise KeyError(f"{self.anchor}: no row {label!r}" + (f" after {after!r}" if after else ""))

    def cell(self, label: str, column: str | int, *, after: str | None = None) -> str:
        """The formatted cell of row ``label`` and column ``column`` (heading or index)."""
        r = self.row(label, after=after)
        j = column if isinstance(column, int) else self.columns.index(column)
        return r.cells[j] if j < len(r.cells) else ""


def unique(cols: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        seen[c] = seen.get(c, 0) + 1
        out.append(c if seen[c] == 1 else f"{c} ({seen[c]})")
    return out


def n_suffix(n: Any, events: Any = None) -> str:
    ni = num(n)
    if ni is None:
        return ""
    ev = num(events)
    return f" (n = {int(ni)}" + (f", events = {int(ev)})" if ev is not None else ")")
