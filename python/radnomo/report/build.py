"""The study report: one self-contained HTML page, ``results.json``, every table as CSV, the figures,
and the reporting checklists (``checklist_*.csv``/``.md``).

:func:`build_report` gathers the run's tables and record (:mod:`radnomo.report.build_data`), builds
the declared tables (:mod:`radnomo.report.build_tables`) and draws the declared figures
(:mod:`radnomo.report.build_figures`), fills the TRIPOD+AI, CLEAR and METRICS checklists from the
run (:mod:`radnomo.report.checklists`), and renders the page from the templates
(:func:`radnomo.report.templating.render_report`; the context: :mod:`radnomo.report.build_page`,
the run record: :mod:`radnomo.report.build_record`). Readable names come from the configuration's
``labels:`` section; internal names stay in the CSV files. Every number of a table in the page is
formatted from the CSV written to ``tables/<name>.csv`` and to ``results.json["tables"][<name>]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from radnomo import __version__
from radnomo.io.atomic import write_csv, write_text_atomic
from radnomo.io.jsonio import records
from radnomo.pipeline.config import StudyConfig
from radnomo.pipeline.layout import ReportFiles, RunLayout
from radnomo.pipeline.rundir import StageOutcome
from radnomo.report import build_page as page
from radnomo.report import checklists as C
from radnomo.report.build_data import CSV_ONLY_SUFFIXES, collect_tables, run_record, validation_info
from radnomo.report.build_figures import draw_figures, results_figures, set_counts
from radnomo.report.build_record import run_record_parts
from radnomo.report.build_tables import ReportInputs
from radnomo.report.labels import DEFAULT_MODELS, Labels
from radnomo.report.scope import ModelScope
from radnomo.report.templating import number_items, render_report


def report_inputs(layout: RunLayout, config: StudyConfig, stages: Mapping[str, StageOutcome]):
    """``(inputs, run record)`` of a run: its tables by name, labels, settings, validation, counts."""
    tables = collect_tables(layout, config, stages)
    record = run_record(layout, config, stages)
    settings = {s: config.section_dict(s) for s in ("stats", "report", "validation")}
    inp = ReportInputs(tables=tables, labels=Labels.from_config(config), settings=settings,
                       validation=validation_info(config, stages), set_n=set_counts(tables),
                       scope=ModelScope.from_config(config))
    return inp, record


def run_title(config: StudyConfig, labels: Labels) -> str:
    """The report's title (``report.title``); where the run renamed radnomo's default nomogram after its
    blocks (:func:`radnomo.report.labels.run_model_names`: no deep block, no "DL-Rad-Clinical
    nomogram"), the title names the run's nomogram too."""
    full, name = DEFAULT_MODELS["nomogram"], labels.model("nomogram")
    title = config.report.title
    if name != full and name == ModelScope.from_config(config).nomogram_name:
        title = title.replace(full, name)
    return title


def _items(context: dict, report_dir: Path) -> list[dict]:
    """``results.json["report_items"]``: the page's declared tables and figures, numbered."""
    out = []
    for sec in context["sections"]:
        for b in sec["blocks"]:
            if b["type"] == "table":
                t = b["table"]
                out.append({"kind": "table", "anchor": t["anchor"], "number": t["number"], "title": t["title"],
                            "section": sec["id"], "sources": t["sources"]})
            elif b["type"] == "figures":
                out.append({"kind": "figure", "anchor": b["id"], "numbers": [f["number"] for f in b["figures"]],
                            "section": sec["id"], "panels": [f["id"] for f in b["figures"]]})
            elif b["type"] == "warning" and b.get("id"):
                out.append({"kind": "missing", "anchor": b["id"], "section": sec["id"], "text": b["text"]})
    return out


def _subtitle(record: Mapping, analysed: Mapping[str, tuple[int, int]] | None = None) -> str | None:
    """Patients and events per set as split; where fewer were analysed (patients left out for
    lack of features), the analysed counts, which the tables use, with the split's in brackets."""
    counts = record.get("patients") or {}
    if not counts:
        return None
    analysed = analysed or {}
    names = {"train": "training set", "test": "test set"}
    order = sorted(counts, key=lambda k: ({"train": 0, "test": 1}.get(k, 2), k))
    parts = []
    for k in order:
        n, ev = counts[k].get("n"), counts[k].get("events")
        if k in analysed and analysed[k][0] != n:
            parts.append(f"{names.get(k, k)} {analysed[k][0]} patients analysed ({analysed[k][1]} events; "
                         f"{n} in the split)")
        else:
            parts.append(f"{names.get(k, k)} {n} patients ({ev} events)")
    return ", ".join(parts).capitalize()


def build_report(layout: RunLayout, config: StudyConfig, stages: Mapping[str, StageOutcome],
                 out: ReportFiles | None = None) -> dict:
    """Write ``report.html``, ``results.json``, ``tables/*.csv``, ``figures/*.png`` and
    ``checklist_<name>.csv``/``.md`` into ``out`` (default: the run's ``report/`` folder).

    ``stages``: the outcomes of this run's stages so far (their keys, whether they were skipped;
    the validation section appears when ``validate`` is among them). Returns the report stage's
    summary (tables, figure counts, checklist files)."""
    out = layout.report if out is None else out
    inp, record = report_inputs(layout, config, stages)
    out.tables_dir.mkdir(parents=True, exist_ok=True)
    for name, df in inp.tables.items():
        write_csv(df, out.tables_dir / f"{name}.csv")
    drawn = draw_figures(inp, layout, out.figures_dir)
    big = sorted(n for n in inp.tables if n.endswith(CSV_ONLY_SUFFIXES))
    title = run_title(config, inp.labels)
    results = {"title": title,
               "tables": {n: records(df) for n, df in inp.tables.items() if n not in big},
               "tables_csv_only": big, "figures": results_figures(drawn, out.dir),
               "validation": inp.validation, "run_record": record}
    facts = C.facts_from_run(results)
    context = number_items({
        "title": title, "subtitle": _subtitle(record, inp.set_n),
        "generated": f"radnomo {__version__}; tables in tables/*.csv, numbers in results.json",
        "headline": page.headline(inp, record), "warnings": list(record["warnings"]),
        "deviations": page.deviations(record), "sections": page.sections(inp, drawn, record),
        "run_record": run_record_parts(record, out.dir, steps=records(inp.tables["steps"])
                                       if "steps" in inp.tables else [],
                                       n_excluded=len(inp.tables.get("excluded", ())))})
    labels = page.anchor_labels(context)
    context["checklists"] = page.only_shown(C.checklist_context(facts, anchor_labels=labels), labels)
    exported = C.export_all(facts, out.dir, anchor_labels=labels)  # links only to anchors the page has
    write_text_atomic(out.html, render_report(context))
    results["report_items"] = _items(context, out.dir)
    results["checklists"] = {c["key"]: {"counts": c["counts"], "score": c["score"]} for c in context["checklists"]}
    write_text_atomic(out.results_json, json.dumps(results, indent=1, default=str, allow_nan=False))
    return {"tables": sorted(inp.tables), "figures": {k: len(v) for k, v in results["figures"].items()},
            "checklists": sorted(p.name for p in exported.values()), "warnings": []}
