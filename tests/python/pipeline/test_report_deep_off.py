"""A report of a run without the deep block (``deep.enabled: false``) describes no DL score.

The synthetic study (conftest.py) is run twice more without its deep features: once with the
reference study's wording (its title and its nomogram name "DL-Rad-Clinical nomogram") and the
internal validation, once without the validate stage (a run whose page lacks the validation
tables). Neither the page's captions and section texts nor the TRIPOD+AI / CLEAR / METRICS answers
may mention the DL score, DenseNet, Grad-CAM, the deep block or its PCA; the run with deep features
(``synthetic_run``) still does. The checklists' Markdown and CSV exports link only to anchors the
page has.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_study_data, run_stages, synth_config, write_upstream

#: Wording that describes a deep block, a DL score or its parts.
DEEP_WORDS = re.compile(r"\bDL\b|DL-|DenseNet|[Dd]eep|Grad-CAM|\bPCA\b|principal component")

STUDY_TITLE = "Early recurrence of HCC after thermal ablation: DL-Rad-Clinical nomogram"


def _deep_off(root: Path, **sections):
    write_upstream(root, make_study_data(), deep=[])
    cfg = synth_config(deep={"enabled": False}, **sections)
    stages = ("stats", "validate", "shap", "model", "report") if cfg.validation.enabled else \
        ("stats", "shap", "model", "report")
    return run_stages(root, cfg, stages)


@pytest.fixture(scope="module")
def deep_off_run(tmp_path_factory):
    """The synthetic study without deep features, worded like the reference study (title, nomogram name)."""
    root = tmp_path_factory.mktemp("deep_off")
    _deep_off(root, report={"title": STUDY_TITLE, "shap_patients": 1},
              labels={"models": {"nomogram": "DL-Rad-Clinical nomogram"}})
    return root


def _text(fragment: str) -> str:
    t = re.sub(r'src="data:[^"]+"', "", fragment)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", t)))


def study_text(page: str) -> str:
    """The page's own wording: title, headline, and every section from Participants to the end of
    Explainability (the deviations table and the run record's configuration dump are left out: they
    quote the configuration, deep.enabled included)."""
    title = page[page.index("<title>"):page.index("</title>")]
    head = page[page.index('<section id="headline"'):page.index('<section id="warnings"')]
    body = page[page.index('<section id="participants"'):page.index('<section id="checklists"')]
    return _text(title + head + body)


def checklist_answers(report_dir: Path) -> list[str]:
    """Every answer of the three exported checklists, except items that do not apply ("Not applicable:
    does the study include end-to-end deep learning — no" is a correct answer about deep learning)."""
    out = []
    for key in ("tripod_ai", "clear", "metrics"):
        df = pd.read_csv(report_dir / f"checklist_{key}.csv", keep_default_na=False)
        out += [f"{key} {r.number}: {r.answer}" for r in df.itertuples() if r.status != "not_applicable"]
    return out


def test_deep_off_page_and_checklists_describe_no_dl_score(deep_off_run):
    rep = deep_off_run / "report"
    page = (rep / "report.html").read_text(encoding="utf-8")
    text = study_text(page)
    assert not DEEP_WORDS.findall(text), sorted({m for m in DEEP_WORDS.findall(text)})
    hits = [a for a in checklist_answers(rep) if DEEP_WORDS.search(a)]
    assert not hits, hits
    # the run's nomogram is named after its blocks, the study's title follows
    res = json.loads((rep / "results.json").read_text(encoding="utf-8"))
    assert res["title"] == "Early recurrence of HCC after thermal ablation: Rad-Clinical nomogram"
    assert "Main result: Rad-Clinical nomogram" in text
    assert "Logistic regression of the outcome on the Rad score and the selected clinical variables (the " \
           "Rad-Clinical nomogram)" in text
    assert "Performance of the clinical model, Rad score and nomogram" in text
    assert "clinical utility of the three models" in text
    # no DL-score table, Grad-CAM or training-history figure: not part of this study, not "not available"
    for anchor in ("table-dl-score", "fig-gradcam", "fig-deep-history"):
        assert f'id="{anchor}"' not in page
    assert {i["anchor"] for i in res["report_items"]}.isdisjoint({"table-dl-score", "fig-gradcam", "fig-deep-history"})
    assert "deep_train" not in res["run_record"]["seeds"]
    # the answers still say what the run did
    answers = " ".join(checklist_answers(rep))
    assert "Rad score: LASSO (glmnet" in answers and "the three prespecified models (clinical, Rad score, " \
                                                       "nomogram)" in answers


def test_deep_on_run_still_describes_the_dl_score(synthetic_run):
    rep = synthetic_run.root / "report"
    page = (rep / "report.html").read_text(encoding="utf-8")
    text = study_text(page)
    assert "DL-Rad-Clinical nomogram" in text and "SHAP values of the Rad and DL scores" in text
    assert "Performance of the clinical model, Rad score, DL score and nomogram" in text
    assert "clinical utility of the four models" in text
    assert "Logistic regression of the outcome on the Rad score, the DL score and the selected clinical " \
           "variables (the DL-Rad-Clinical nomogram)" in text
    assert 'id="table-dl-score"' in page and 'id="fig-gradcam"' in page
    answers = " ".join(checklist_answers(rep))
    assert "Rad and DL scores: LASSO (glmnet" in answers and "deep features then reduced by PCA" in answers
    assert "the four prespecified models (clinical, Rad score, DL score, nomogram)" in answers


def _linked(report_dir: Path) -> dict[str, set[str]]:
    """Anchors each checklist export links to (Markdown links and the CSV's "shown_in")."""
    out = {}
    for key in ("tripod_ai", "clear", "metrics"):
        md = (report_dir / f"checklist_{key}.md").read_text(encoding="utf-8")
        out[f"{key}.md"] = set(re.findall(r"\]\(report\.html#([\w-]+)\)", md))
        df = pd.read_csv(report_dir / f"checklist_{key}.csv", keep_default_na=False)
        out[f"{key}.csv"] = {a.lstrip("#") for s in df["shown_in"] for a in s.split()}
    return out


@pytest.mark.parametrize("validation", [True, False], ids=["validated", "no-validate-stage"])
def test_checklist_exports_link_only_anchors_the_page_has(deep_off_run, tmp_path, validation):
    if validation:
        rep = deep_off_run / "report"
    else:
        _deep_off(tmp_path, validation={"enabled": False})
        rep = tmp_path / "report"
    page = (rep / "report.html").read_text(encoding="utf-8")
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    linked = _linked(rep)
    for name, anchors in linked.items():
        assert anchors, name
        assert anchors <= ids, (name, sorted(anchors - ids))
    if not validation:
        assert "table-validation" not in ids
    # the Markdown names the links as the page does ("Table 3"), not by their ids
    md = (rep / "checklist_tripod_ai.md").read_text(encoding="utf-8")
    assert "[Table 3](report.html#table-3)" in md


def test_markdown_export_drops_anchors_a_page_lacks(tmp_path):
    """export_all(anchor_labels=...): only those anchors, labelled; without it every anchor (as before)."""
    from radnomo.report import checklists as C

    res = json.loads((Path(__file__).parents[1] / "report" / "data" / "results.json").read_text(encoding="utf-8"))
    facts = C.facts_from_run(res)
    C.export_all(facts, tmp_path / "all")
    assert "#table-dl-score" in (tmp_path / "all" / "checklist_tripod_ai.md").read_text(encoding="utf-8")
    C.export_all(facts, tmp_path / "some", anchor_labels={"table-3": "Table 3", "fig-roc": "Figures 2–3"})
    for key in ("tripod_ai", "clear", "metrics"):
        md = (tmp_path / "some" / f"checklist_{key}.md").read_text(encoding="utf-8")
        assert set(re.findall(r"report\.html#([\w-]+)", md)) <= {"table-3", "fig-roc"}
    md = (tmp_path / "some" / "checklist_tripod_ai.md").read_text(encoding="utf-8")
    assert "[Table 3](report.html#table-3)" in md and "[Figures 2–3](report.html#fig-roc)" in md


def test_scope_words():
    from radnomo.report.scope import ModelScope

    full, no_deep, no_rad = ModelScope(), ModelScope(deep=False), ModelScope(radiomics=False)
    assert full.nomogram_name == "DL-Rad-Clinical nomogram" and no_deep.nomogram_name == "Rad-Clinical nomogram"
    assert no_rad.nomogram_name == "DL-Clinical nomogram"
    assert (full.score_names(), no_deep.score_names(), no_rad.score_names()) == ("Rad and DL scores", "Rad score",
                                                                                  "DL score")
    assert no_rad.model_list() == "the clinical model, DL score and nomogram" and no_rad.n_models == "three"
    assert no_deep.models == ("clinical", "rad_score", "nomogram")
    assert not no_deep.has("deep") and no_deep.has(None) and no_deep.has("radiomics")


def test_a_custom_nomogram_name_is_kept():
    from radnomo.report.labels import run_model_names
    from radnomo.report.scope import ModelScope

    assert run_model_names({"nomogram": "DL-Rad-Clinical nomogram"}, ModelScope(deep=False)) == {
        "nomogram": "Rad-Clinical nomogram"}
    assert run_model_names({}, ModelScope(deep=False)) == {"nomogram": "Rad-Clinical nomogram"}
    assert run_model_names({"nomogram": "Combined model"}, ModelScope(deep=False)) == {"nomogram": "Combined model"}
    assert run_model_names({}, ModelScope()) == {}
