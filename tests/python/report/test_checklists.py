"""radnomo.report.checklists: item lists as published, answers from the run, METRICS score, exports."""

import csv as csvmod
import io

import pytest

from radnomo.report import checklists as C

# TRIPOD+AI (Collins et al., BMJ 2024;385:e078378, Table 1): 27 main items and their sub-items.
TRIPOD_NUMBERS = ["1", "2", "3a", "3b", "3c", "4", "5a", "5b", "6a", "6b", "6c", "7", "8a", "8b", "8c", "9a", "9b",
                  "9c", "10", "11", "12a", "12b", "12c", "12d", "12e", "12f", "12g", "13", "14", "15", "16", "17",
                  "18a", "18b", "18c", "18d", "18e", "18f", "19", "20a", "20b", "20c", "21", "22", "23a", "23b", "24",
                  "25", "26", "27a", "27b", "27c"]


@pytest.fixture(scope="module")
def facts(results):
    return C.facts_from_run(results)


def test_item_lists_match_the_papers():
    assert [i.number for i in C.TRIPOD_AI] == TRIPOD_NUMBERS
    assert len({n.rstrip("abcdefg") for n in TRIPOD_NUMBERS}) == 27
    assert [i.number for i in C.CLEAR] == [str(k) for k in range(1, 59)]
    assert [i.number for i in C.METRICS] == [str(k) for k in range(1, 31)]
    w = {i.number: i.weight for i in C.METRICS}
    assert sum(w.values()) == pytest.approx(1.0, abs=1e-3)
    # spot checks against the paper's Table 1 / the authors' calculator
    assert (w["3"], w["18"], w["27"], w["30"]) == (0.0919, 0.0599, 0.0749, 0.0075)
    cond = {i.number: i.condition for i in C.METRICS if i.condition}
    assert cond == {"8": 1, "9": 2, "10": 1, "12": 3, "14": 4, "15": 4, "16": 4, "17": 5}
    assert C.CLEAR[17].title.startswith("Definition of the reference standard")
    assert "ANCHORS" in dir(C) and len(set(C.ANCHORS.values())) == len(C.ANCHORS)


def test_facts_from_the_demo_run(facts):
    assert facts.sets == {"train": {"n": 42, "events": 14}, "test": {"n": 18, "events": 6}}
    assert list(facts.sets) == ["train", "test"]
    assert (facts.split_method, facts.split_seed, facts.test_fraction) == ("stratified", 20250101, 0.3)
    assert facts.missing_data == "complete_cases" and facts.n_excluded == 0
    assert facts.feature_counts == {"radiomics": 520, "deep": 6540, "clinical": 22}
    assert facts.discretization == "fixed bin width 25"
    assert facts.image_types == ["Original", "LoG (sigma [2.0])"]
    assert facts.clinical_selected == ["sex", "treatment_history", "complication"]
    assert facts.final_terms == ["rad_score", "dl_score", "sex=male", "treatment_history", "complication"]
    assert facts.headline["test"]["text"] == "0.569 (0.268–0.871)"
    assert facts.validation["method"] == "cv"
    assert facts.calibration and facts.decision_curves and facts.delong and facts.model_artifact and facts.synthetic
    assert facts.deep["architecture"] == "DenseNet-169" and facts.deep["pretrained"] is False
    assert facts.software["R:rms"]


def test_answers_use_the_run(facts):
    tri = {i.number: i for i in C.fill("tripod_ai", facts)}
    assert tri["11"].status == "filled" and "complete-case" in tri["11"].text
    assert tri["12a"].status == "filled" and "seed 20250101" in tri["12a"].text and "70:30" in tri["12a"].text
    assert "0.569 (0.268–0.871)" in tri["23a"].text and C.ANCHORS["table3"] in tri["23a"].anchors
    assert tri["17"].status == "authors" and tri["17"].todo_text.startswith("To be completed by the authors: ")
    assert "42 patients (14 events)" in tri["21"].text
    assert "5 predictor terms" in tri["10"].text and "2.8 events per term" in tri["10"].text
    clear = {i.number: i for i in C.fill("clear", facts)}
    assert clear["23"].status == "filled" and "bin width 25" in clear["23"].text
    assert "520 hand-crafted radiomics features" in clear["27"].text
    assert "mwu 51" in clear["33"].text
    assert "random initialisation" in clear["35"].text  # the demo's deep models had no ImageNet weights
    # nothing filled without saying where the report shows it, except statements of what was not done
    for items in (tri.values(), clear.values()):
        for i in items:
            assert i.status in ("filled", "partial", "authors", "not_applicable")
            if i.status == "filled" and not any(w in i.text for w in ("No ", "no ")):
                assert i.anchors, (i.checklist, i.number)


def test_metrics_conditions_and_score(facts):
    items = {i.number: i for i in C.fill("metrics", facts)}
    assert items["17"].status == "not_applicable" and items["17"].value == "n/a"  # no end-to-end deep learning
    assert items["9"].value is None and "fully automated" in items["9"].todo  # unknown: the authors say
    assert items["22"].value == "yes" and items["26"].value == "yes" and items["27"].value is None
    s = C.metrics_score(list(items.values()))
    yes = sum(i.weight for i in items.values() if i.value == "yes")
    left = sum(i.weight for i in items.values() if i.value is None)
    assert s.score == pytest.approx(100.0) and s.category == "Excellent"
    assert s.lower == pytest.approx(100 * yes / (yes + left))
    assert s.upper == pytest.approx(100.0)
    assert "27. External testing" in s.remaining and s.not_applicable == ["17"]
    # the conditions can be set: no segmentation -> items 8-10 not applicable
    no_seg = {i.number: i for i in C.fill("metrics", facts, conditions={1: False})}
    assert all(no_seg[n].value == "n/a" for n in ("8", "9", "10"))


def test_metrics_formula_by_hand():
    def item(n, w, v):
        return C.FilledItem("METRICS", n, "s", "t", "filled", "", (), "", weight=w, value=v)
    items = [item("1", 0.2, "yes"), item("2", 0.3, "no"), item("3", 0.1, "n/a"), item("4", 0.4, None)]
    s = C.metrics_score(items)
    assert s.score == pytest.approx(40.0)  # 0.2 / (0.2 + 0.3)
    assert (s.lower, s.upper) == (pytest.approx(100 * 0.2 / 0.9), pytest.approx(100 * 0.6 / 0.9))
    assert s.category == "Moderate" and s.answered == ["1", "2"] and s.not_applicable == ["3"]
    # bands on the score rounded to one decimal, as the authors' calculator compares toFixed(1)
    assert [C.metrics_category(x) for x in (0, 19.94, 19.96, 20, 59.9, 60, 80, 100)] == \
        ["Very low", "Very low", "Low", "Low", "Moderate", "Good", "Excellent", "Excellent"]


def test_exports(facts, tmp_path):
    items = C.fill("clear", facts)
    text = C.to_csv(items, tmp_path / "clear.csv")
    rows = list(csvmod.DictReader(io.StringIO(text)))
    assert len(rows) == 58 and tuple(rows[0]) == C.EXPORT_COLUMNS
    assert (tmp_path / "clear.csv").read_text(encoding="utf-8") == text
    assert rows[14]["number"] == "15" and "#table-1" in rows[14]["shown_in"]
    md = C.to_markdown(items, title="CLEAR")
    assert md.count("\n| ") == 58 + 2 and "[table-1](report.html#table-1)" in md
    paths = C.export_all(facts, tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == sorted(
        f"checklist_{k}.{e}" for k in C.CHECKLISTS for e in ("csv", "md"))
    assert "METRICS score" in (tmp_path / "out" / "checklist_metrics.md").read_text(encoding="utf-8")


def test_context_for_the_template(facts):
    ctx = C.checklist_context(facts, anchor_labels={"table-1": "Table 1"})
    assert [c["name"] for c in ctx] == ["TRIPOD+AI", "CLEAR", "METRICS"]
    assert ctx[2]["score"]["score"] == pytest.approx(100.0) and ctx[0]["score"] is None
    row = next(r for r in ctx[1]["rows"] if r["number"] == "44")
    assert row["anchors"][0] == {"id": "table-1", "label": "Table 1"}
    assert sum(ctx[0]["counts"].values()) == 52


def test_facts_of_an_empty_run():
    f = C.facts_from_run({})
    for key in C.CHECKLISTS:
        assert len(C.fill(key, f)) == len(C.CHECKLISTS[key]["items"])


def test_item_lists_are_package_data_and_every_filler_is_used(tmp_path, monkeypatch):
    """The item lists come from checklists_data/*.yaml; each item names a filler that exists or
    what the authors must supply; every filler answers some item; a bad file is refused by name."""
    import yaml

    used = set()
    for key in C.KEYS:
        doc = yaml.safe_load((C.DATA_DIR / f"{key}.yaml").read_text(encoding="utf-8"))
        assert [str(d["number"]) for d in doc["items"]] == [i.number for i in C.CHECKLISTS[key]["items"]]
        used |= {d["filler"] for d in doc["items"] if "filler" in d}
        assert all(("filler" in d) != bool(d.get("authors")) for d in doc["items"]), key
    assert used == set(C._fillers())
    bad = tmp_path / "tripod_ai.yaml"
    bad.write_text("name: X\ncitation: Y\nitems:\n- {number: '1', section: S, title: T, filler: nope}\n",
                   encoding="utf-8")
    monkeypatch.setattr(C, "DATA_DIR", tmp_path)
    C.load_checklist.cache_clear()
    try:
        with pytest.raises(ValueError, match="tripod_ai.yaml item 1: unknown filler 'nope'"):
            C.load_checklist("tripod_ai")
    finally:
        C.load_checklist.cache_clear()
