"""Reporting checklists pre-filled from a run: TRIPOD+AI, CLEAR and METRICS (with its score).

Sources of the item lists (numbering, sections and short titles checked against them):

* **TRIPOD+AI** — Collins GS, Moons KGM, Dhiman P, et al. TRIPOD+AI statement: updated guidance for
  reporting clinical prediction models that use regression or machine learning methods. BMJ
  2024;385:e078378 (doi:10.1136/bmj-2023-078378), Table 1 (the checklist, 27 main items; items 3, 5,
  6, 8, 9, 12, 18, 20, 23 and 27 have sub-items a, b, c, ...), as published in PMC11019967 (CC BY
  4.0). The short titles below are our own summaries of the item texts, not quotations.
* **CLEAR** — Kocak B, Baessler B, Bakas S, et al. CheckList for EvaluAtion of Radiomics research
  (CLEAR): a step-by-step reporting guideline for authors and reviewers endorsed by ESR and EuSoMII.
  Insights Imaging 2023;14:75 (doi:10.1186/s13244-023-01415-8), 58 items, as listed in the
  authors' online checklist (CLEAR v1.0, clearchecklist.github.io). Items 53 and 58 are marked
  "not essential" there.
* **METRICS** — Kocak B, Akinci D'Antonoli T, Mercaldo N, et al. METhodological RadiomICs Score
  (METRICS): a quality scoring tool for radiomics research endorsed by EuSoMII. Insights Imaging
  2024;15:8 (doi:10.1186/s13244-023-01572-w), Table 1: 30 items in 9 categories with weights and
  5 conditions. Weights of items 1–23 checked against the paper's Table 1; those of items 24–30
  against the authors' web calculator (METRICS Tool v1.0, metricsscore.github.io), which is also
  the source of the scoring rule implemented in :func:`metrics_score`: score = Σ weights of items
  answered "yes" / Σ weights of items answered "yes" or "no" × 100, items made non-applicable by
  a condition counting in neither sum; quality bands: <20 very low, 20–<40 low, 40–<60 moderate,
  60–<80 good, 80–100 excellent. The conditions: 1 segmentation (items 8–10), 2 fully automated
  segmentation (item 9), 3 hand-crafted features (item 12), 4 tabular data (items 14–16),
  5 end-to-end deep learning (item 17).

The item lists (number, section, short title, METRICS weight and condition) are package data,
``checklists_data/<key>.yaml``. Each item names either a *filler* — a function of :class:`RunFacts`
(:mod:`radnomo.report.checklist_fill_tripod`, :mod:`radnomo.report.checklist_fill_radiomics`) that
returns an :class:`Answer`: what the run itself shows (text and the report anchors of the
tables/figures that show it), and/or what the authors still have to supply — or, under
``authors:``, what the authors must supply where the run cannot answer. Nothing is claimed that
the run cannot know (centres, dates, ethics, segmentation readers, clinical context): those items
say "To be completed by the authors: ..." with what is needed.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from radnomo.report import checklist_fill_radiomics, checklist_fill_tripod
from radnomo.report.anchors import ANCHORS
from radnomo.report.checklist_answers import AUTHORS, Answer, authors
from radnomo.report.checklist_facts import RunFacts, facts_from_run

__all__ = ["ANCHORS", "AUTHORS", "Answer", "CHECKLISTS", "CLEAR", "EXPORT_COLUMNS", "FilledItem", "Item", "METRICS",
           "METRICS_CONDITIONS", "MetricsScore", "RunFacts", "TRIPOD_AI", "checklist_context", "export_all",
           "facts_from_run", "fill", "load_checklist", "metrics_category", "metrics_conditions", "metrics_score",
           "only_anchors", "to_csv", "to_markdown"]

#: The item lists, package data: ``checklists_data/<key>.yaml``.
DATA_DIR = Path(__file__).with_name("checklists_data")

#: The checklists in the report's order.
KEYS = ("tripod_ai", "clear", "metrics")

Filler = Callable[[RunFacts], Answer]


@dataclass(frozen=True)
class Item:
    """One checklist item: number as printed (``"12c"``), section, our short title, filler; for
    METRICS its weight and the condition (1–5) that can make it non-applicable."""

    number: str
    section: str
    title: str
    filler: Filler
    weight: float | None = None
    condition: int | None = None


def _fillers() -> dict[str, Filler]:
    """Every filler by its name in the YAML files (``t12a``, ``c33``, ``m18``, ...)."""
    out: dict[str, Filler] = {}
    for mod in (checklist_fill_tripod, checklist_fill_radiomics):
        for name, fn in vars(mod).items():
            if callable(fn) and getattr(fn, "__module__", None) == mod.__name__ and name[:1] in "tcm" \
                    and name[1:2].isdigit():
                out[name] = fn
    return out


def _authors_only(what: str) -> Filler:
    return lambda f: authors(what)


@lru_cache(maxsize=None)
def load_checklist(key: str) -> dict[str, Any]:
    """``checklists_data/<key>.yaml`` as ``{"key", "name", "citation", "items": (Item, ...)}`` (and
    ``conditions`` for METRICS). Raises ``ValueError`` when an item names an unknown filler or
    neither a filler nor what the authors must supply."""
    import yaml

    doc = yaml.safe_load((DATA_DIR / f"{key}.yaml").read_text(encoding="utf-8"))
    fillers = _fillers()
    items = []
    for d in doc["items"]:
        where = f"{key}.yaml item {d.get('number')}"
        if "filler" in d:
            if d["filler"] not in fillers:
                raise ValueError(f"{where}: unknown filler {d['filler']!r}")
            fn = fillers[d["filler"]]
        elif d.get("authors"):
            fn = _authors_only(str(d["authors"]))
        else:
            raise ValueError(f"{where}: needs 'filler' or 'authors'")
        items.append(Item(str(d["number"]), str(d["section"]), str(d["title"]), fn,
                          None if d.get("weight") is None else float(d["weight"]),
                          None if d.get("condition") is None else int(d["condition"])))
    out = {"key": key, "name": str(doc["name"]), "citation": str(doc["citation"]), "items": tuple(items)}
    if "conditions" in doc:
        out["conditions"] = {int(k): str(v) for k, v in doc["conditions"].items()}
    return out


CHECKLISTS: dict[str, dict[str, Any]] = {k: load_checklist(k) for k in KEYS}
TRIPOD_AI: tuple[Item, ...] = CHECKLISTS["tripod_ai"]["items"]
CLEAR: tuple[Item, ...] = CHECKLISTS["clear"]["items"]
METRICS: tuple[Item, ...] = CHECKLISTS["metrics"]["items"]

#: The METRICS conditions (paper's Table 1 footnotes; web calculator's "Condition#1-5").
METRICS_CONDITIONS: dict[int, str] = CHECKLISTS["metrics"]["conditions"]


# -------------------------------------------------------------------------------------- filling ---

def metrics_conditions(facts: RunFacts, overrides: Mapping[int, bool | None] | None = None) -> dict[int, bool | None]:
    """The five METRICS conditions for this run: segmentation yes (radnomo extracts inside masks);
    fully automated segmentation unknown (``None``: the authors say); hand-crafted features yes when
    radiomics features were extracted; tabular data yes; end-to-end deep learning no (radnomo's deep
    features are turned into a table and modelled with logistic regression). ``overrides`` replace any."""
    c: dict[int, bool | None] = {1: True, 2: None, 3: "radiomics" in facts.feature_counts or bool(facts.radiomics_params),
                                 4: True, 5: False}
    c.update(dict(overrides or {}))
    return c


@dataclass
class FilledItem:
    """A checklist row: the item and radnomo's answer."""

    checklist: str
    number: str
    section: str
    title: str
    status: str
    text: str
    anchors: tuple[str, ...]
    todo: str
    weight: float | None = None
    value: str | None = None

    @property
    def todo_text(self) -> str:
        return f"{AUTHORS}: {self.todo}." if self.todo else ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["anchors"] = list(self.anchors)
        d["todo_text"] = self.todo_text
        return d


def fill(checklist: str, facts: RunFacts, *, conditions: Mapping[int, bool | None] | None = None) -> list[FilledItem]:
    """Every item of ``checklist`` (``"tripod_ai"``, ``"clear"`` or ``"metrics"``) with its answer
    from ``facts``. For METRICS, an item whose condition is false is not applicable and one whose
    condition is unknown is left to the authors; the value is ``"yes"``/``"no"`` only where
    radnomo's answer is complete."""
    spec = CHECKLISTS[checklist]
    conds = metrics_conditions(facts, conditions) if checklist == "metrics" else {}
    out = []
    for it in spec["items"]:
        ans = it.filler(facts)
        if it.condition is not None:
            cond = conds.get(it.condition)
            parent = conds.get(1) if it.condition == 2 else True
            if cond is False or parent is False:
                ans = Answer(f"Not applicable: {METRICS_CONDITIONS[it.condition].lower().rstrip('?')} — no.",
                             applicable=False)
            elif cond is None:
                ans = Answer(ans.text, ans.anchors, todo=(ans.todo or "the answer") + f" (condition: "
                             f"{METRICS_CONDITIONS[it.condition]})")
        value = ans.value if checklist == "metrics" and ans.status == "filled" else None
        if not ans.applicable:
            value = "n/a"
        out.append(FilledItem(checklist=spec["name"], number=it.number, section=it.section, title=it.title,
                              status=ans.status, text=ans.text, anchors=ans.anchors, todo=ans.todo,
                              weight=it.weight, value=value))
    return out


@dataclass
class MetricsScore:
    """METRICS score of the items radnomo could answer.

    ``score``: Σ weights "yes" / Σ weights "yes"+"no" × 100 over the items radnomo answered (the
    paper's formula applied to the answered items); ``lower``/``upper``: the score of the whole
    checklist if every remaining item were answered "no"/"yes" (the range the authors' answers can
    give); ``remaining``: the applicable items left to the authors."""

    score: float | None
    category: str | None
    lower: float
    upper: float
    answered: list[str]
    remaining: list[str]
    not_applicable: list[str]


def metrics_category(score: float | None) -> str | None:
    """The METRICS quality band of a score in percent."""
    if score is None or math.isnan(score):
        return None
    s = round(score, 1)
    for bound, name in ((20, "Very low"), (40, "Low"), (60, "Moderate"), (80, "Good")):
        if s < bound:
            return name
    return "Excellent"


def metrics_score(items: Sequence[FilledItem]) -> MetricsScore:
    """The METRICS score (see :class:`MetricsScore`) of filled METRICS items."""
    yes = sum(i.weight for i in items if i.value == "yes")
    no = sum(i.weight for i in items if i.value == "no")
    open_ = [i for i in items if i.value is None]
    rest = sum(i.weight for i in open_)
    applicable = yes + no + rest
    score = 100 * yes / (yes + no) if yes + no > 0 else None
    return MetricsScore(score=score, category=metrics_category(score),
                        lower=100 * yes / applicable if applicable else 0.0,
                        upper=100 * (yes + rest) / applicable if applicable else 0.0,
                        answered=[i.number for i in items if i.value in ("yes", "no")],
                        remaining=[f"{i.number}. {i.title}" for i in open_],
                        not_applicable=[i.number for i in items if i.value == "n/a"])


def checklist_context(facts: RunFacts, *, conditions: Mapping[int, bool | None] | None = None,
                      anchor_labels: Mapping[str, str] | None = None) -> list[dict]:
    """The template context of the checklists page: one dict per checklist (``id``, ``name``,
    ``citation``, ``rows`` (see :meth:`FilledItem.to_dict`; each anchor as ``{"id", "label"}``),
    ``counts`` per status, and ``score`` for METRICS)."""
    labels = dict(anchor_labels or {})
    out = []
    for key, spec in CHECKLISTS.items():
        rows = fill(key, facts, conditions=conditions)
        ctx_rows = []
        for r in rows:
            d = r.to_dict()
            d["anchors"] = [{"id": a, "label": labels.get(a, a)} for a in r.anchors]
            ctx_rows.append(d)
        counts = {s: sum(1 for r in rows if r.status == s) for s in ("filled", "partial", "authors", "not_applicable")}
        entry = {"id": f"checklist-{key.replace('_', '-')}", "key": key, "name": spec["name"],
                 "citation": spec["citation"], "rows": ctx_rows, "counts": counts, "score": None}
        if key == "metrics":
            entry["score"] = asdict(metrics_score(rows))
        out.append(entry)
    return out


# --------------------------------------------------------------------------------------- export ---

EXPORT_COLUMNS = ("checklist", "number", "section", "title", "status", "answer", "shown_in", "to_be_completed",
                  "weight", "metrics_value")


def _export_rows(items: Sequence[FilledItem]) -> list[dict]:
    return [{"checklist": i.checklist, "number": i.number, "section": i.section, "title": i.title,
             "status": i.status, "answer": i.text, "shown_in": " ".join("#" + a for a in i.anchors),
             "to_be_completed": i.todo_text, "weight": "" if i.weight is None else f"{i.weight:.4f}",
             "metrics_value": i.value or ""} for i in items]


def to_csv(items: Sequence[FilledItem], path: str | Path | None = None) -> str:
    """The filled items as CSV (``EXPORT_COLUMNS``); written to ``path`` when given."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(_export_rows(items))
    text = buf.getvalue()
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _md(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def to_markdown(items: Sequence[FilledItem], *, title: str | None = None, citation: str | None = None,
                score: MetricsScore | None = None, report: str = "report.html",
                anchor_labels: Mapping[str, str] | None = None) -> str:
    """The filled items as a Markdown table (links point into ``report``; a link's text is the
    anchor's label in ``anchor_labels`` — "Table 3" — where given, else the anchor id)."""
    labels = dict(anchor_labels or {})
    lines = []
    if title:
        lines += [f"# {title}", ""]
    if citation:
        lines += [f"Checklist: {citation}", ""]
    if score is not None:
        s = "n/a" if score.score is None else f"{score.score:.1f}% ({score.category})"
        lines += [f"METRICS score of the items radnomo answered: {s}; whole checklist between {score.lower:.1f}% "
                  f"and {score.upper:.1f}% depending on the {len(score.remaining)} item(s) left to the authors.", ""]
    lines += ["| No. | Section | Item | Answer from the run | Shown in | To be completed by the authors |",
              "| --- | --- | --- | --- | --- | --- |"]
    for i in items:
        links = ", ".join(f"[{_md(labels.get(a, a))}]({report}#{a})" for a in i.anchors)
        lines.append(f"| {_md(i.number)} | {_md(i.section)} | {_md(i.title)} | {_md(i.text)} | {links} | "
                     f"{_md(i.todo)} |")
    return "\n".join(lines) + "\n"


def only_anchors(items: Sequence[FilledItem], anchors) -> list[FilledItem]:
    """The items with their "shown in" anchors limited to ``anchors`` (the ids a report page has)."""
    keep = set(anchors)
    return [dataclasses.replace(i, anchors=tuple(a for a in i.anchors if a in keep)) for i in items]


def export_all(facts: RunFacts, folder: str | Path, *, conditions: Mapping[int, bool | None] | None = None,
               anchor_labels: Mapping[str, str] | None = None) -> dict[str, Path]:
    """Write ``checklist_<key>.csv`` and ``.md`` for every checklist into ``folder``; returns the paths.

    ``anchor_labels``: the report page's anchors (id -> "Table 3", from
    :func:`radnomo.report.build_page.anchor_labels`); when given, the exports link only to those (a
    run without the validate stage or without the deep block lacks some tables and figures) and the
    Markdown names each link by its label."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for key, spec in CHECKLISTS.items():
        items = fill(key, facts, conditions=conditions)
        if anchor_labels is not None:
            items = only_anchors(items, anchor_labels)
        p = folder / f"checklist_{key}.csv"
        to_csv(items, p)
        m = folder / f"checklist_{key}.md"
        m.write_text(to_markdown(items, title=f"{spec['name']} checklist, pre-filled by radnomo",
                                 citation=spec["citation"], score=metrics_score(items) if key == "metrics" else None,
                                 anchor_labels=anchor_labels),
                     encoding="utf-8")
        out[f"{key}_csv"], out[f"{key}_md"] = p, m
    return out
