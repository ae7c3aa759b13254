"""The study configuration schema (python/radnomo/pipeline/config.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from radnomo.errors import InputError
from radnomo.pipeline.config import apply_overrides, config_diff, load_config, parse_config, read_yaml

STUDY = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence" / "config.yaml"


def test_study_config_has_the_papers_settings():
    cfg = load_config(STUDY)
    # The study: 7:3 split, |r| > 0.9 pruning, LASSO lambda_min, DenseNet-169 at 224 px,
    # 50 epochs, SGD lr 0.01 momentum 0.9, batch 32, four sequences.
    assert cfg.split.test_fraction == 0.3
    assert cfg.stats.cor_threshold == 0.9 and cfg.stats.lambda_ == "min"
    assert cfg.deep.train.epochs == 50 and cfg.deep.train.lr == 0.01 and cfg.deep.train.momentum == 0.9
    assert cfg.deep.train.batch_size == 32 and cfg.deep.slices.image_size == 224
    assert cfg.data.sequences == ("t2", "ap", "pvp", "dp")
    assert cfg.preprocess.settings.reference == "pvp" and cfg.preprocess.settings.spacing == (1.0, 1.0, 1.0)
    assert cfg.resolve(cfg.radiomics.params) == STUDY.parent / "radiomics.yaml"
    assert config_diff(cfg.raw, load_config(STUDY).raw) == []


def test_unknown_keys_are_named_with_the_allowed_ones():
    with pytest.raises(InputError, match=r"stats: unknown key\(s\) \['lamda'\].*allowed.*lambda"):
        parse_config({"stats": {"lamda": "min"}})
    with pytest.raises(InputError, match=r"unknown key\(s\) \['model'\]"):
        parse_config({"model": {}})
    with pytest.raises(InputError, match=r"deep.train: unknown key\(s\) \['epoch'\]"):
        parse_config({"deep": {"train": {"epoch": 2}}})
    with pytest.raises(InputError, match=r"preprocess: unknown key\(s\) \['spacings'\]"):
        parse_config({"preprocess": {"spacings": [1, 1, 1]}})


@pytest.mark.parametrize("override, pattern", [
    ("split.test_fraction=1.5", r"split.test_fraction: must be a number in \(0, 1\)"),
    ("stats.B=5", r"stats.B: must be an integer >= 10"),
    ("stats.lambda=max", r"stats.lambda"),
    ("stats.score=ridge", r"stats.score: must be .logistic. or .lasso."),
    ("stats.separation=ridge", r"stats.separation: must be .firth., .lasso. or .error., not .ridge."),
    ("stats.separation=true", r"stats.separation: must be .firth., .lasso. or .error., not True"),
    ("deep.train.epochs=0", r"deep.train: epochs must be a positive integer"),
    ("deep.slices.image_size=16", r"deep.slices: image_size must be an integer >= 32"),
    ("preprocess.registration=elastic", r"preprocess: registration must be one of"),
    ("split.seed=abc", r"split.seed: must be an integer"),
    ("report.shap_patients=-1", r"report.shap_patients"),
])
def test_overrides_pass_the_same_checks(override, pattern):
    with pytest.raises(InputError, match=pattern):
        load_config(STUDY, [override])


def test_overrides_parse_yaml_values_and_show_in_the_diff():
    cfg = load_config(STUDY, ["deep.train.epochs=2", "deep.slices.max_slices_per_patient=3",
                              "stats.B=100", "deep.weights_fallback=none", "data.sequences=[t2, pvp]"])
    assert cfg.deep.train.epochs == 2 and cfg.deep.slices.max_slices_per_patient == 3
    # the deep trainer sees the same slice settings as the extraction
    assert cfg.deep.train.slices == cfg.deep.slices
    assert cfg.data.sequences == ("t2", "pvp")
    diff = {r["setting"]: (r["study"], r["this run"]) for r in config_diff(cfg.raw, load_config(STUDY).raw)}
    assert diff == {"deep.train.epochs": (50, 2), "deep.slices.max_slices_per_patient": (None, 3),
                    "stats.B": (1000, 100), "deep.weights_fallback": ("error", "none"),
                    "data.sequences": (["t2", "ap", "pvp", "dp"], ["t2", "pvp"])}


def test_bad_override_syntax():
    with pytest.raises(InputError, match="section.key=value"):
        apply_overrides({}, ["epochs"])
    with pytest.raises(InputError, match="must be section.key"):
        apply_overrides({}, ["epochs=3"])


def test_file_errors(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    p = tmp_path / "c.yaml"
    p.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(InputError, match="top level must be a mapping"):
        read_yaml(p)
    p.write_text("data: {categorical: [sex], clinical_variables: [age]}\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"data.categorical: \['sex'\] are not in data.clinical_variables"):
        load_config(p)


def test_dca_thresholds():
    cfg = parse_config({"stats": {"dca_max_threshold": 0.5, "dca_step": 0.1}})
    assert cfg.stats.thresholds() == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]


def test_model_and_report_configuration_hold_no_absolute_machine_paths(tmp_path):
    """The model artifact and the report travel: absolute input paths must not appear in them."""
    import yaml

    from radnomo.pipeline.config import load_config
    from radnomo.pipeline.model import load_model

    study = Path(__file__).resolve().parents[3] / "pipelines" / "hcc_recurrence"
    raw = yaml.safe_load((study / "config.yaml").read_text(encoding="utf-8"))
    elsewhere = tmp_path / "site" / "cohort"
    raw["data"]["manifest"] = str(elsewhere / "manifest.csv")
    raw["data"]["clinical"] = str(elsewhere / "clinical.csv")
    raw["radiomics"]["params"] = str(study / "radiomics.yaml")  # absolute, outside the config folder
    cfgdir = tmp_path / "cfg"
    cfgdir.mkdir()
    (cfgdir / "study.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    cfg = load_config(cfgdir / "study.yaml")
    port = cfg.portable()
    assert port["data"]["manifest"] == "manifest.csv" and port["data"]["clinical"] == "clinical.csv"
    assert port["radiomics"]["params"] == "radiomics.yaml"
    assert cfg.raw["data"]["manifest"] == str(elsewhere / "manifest.csv")  # the checked config is untouched
    text = cfg.model_yaml()
    assert str(tmp_path) not in text and str(study) not in text and "base folder" not in text
    # the stored configuration still loads as a model configuration
    mdir = tmp_path / "model"
    mdir.mkdir()
    (mdir / "config.yaml").write_text(text, encoding="utf-8")
    (mdir / "radiomics_params.yaml").write_text((study / "radiomics.yaml").read_text(encoding="utf-8"),
                                                encoding="utf-8")
    (mdir / "model.json").write_text('{"format": "radnomo-study-model-v1"}', encoding="utf-8")
    model = load_model(mdir)
    assert model.config.data.clinical_variables == cfg.data.clinical_variables


def test_separation_policy_setting():
    """stats.separation: firth (the study's default, written in config.yaml), lasso or error."""
    cfg = load_config(STUDY)
    assert cfg.stats.separation == "firth" and cfg.raw["stats"]["separation"] == "firth"
    assert "separation" in read_yaml(STUDY)["stats"]
    assert parse_config({}).stats.separation == "firth"  # default when the key is absent
    for policy in ("firth", "lasso", "error"):
        assert load_config(STUDY, [f"stats.separation={policy}"]).stats.separation == policy
    diff = config_diff(load_config(STUDY, ["stats.separation=error"]).raw, cfg.raw)
    assert diff == [{"setting": "stats.separation", "study": "firth", "this run": "error"}]


def test_validation_section_defaults_and_the_demos_setting():
    """validation: on by default with the study's setting (repeated CV, 10 folds x 20 repeats, R's B = 200);
    the demo's lighter setting is merged from demo.yaml and shows as a deviation."""
    from radnomo.pipeline.config import merge

    cfg = load_config(STUDY)
    v = cfg.validation
    assert (v.enabled, v.method, v.B, v.folds, v.repeats, v.workers) == (True, "cv", 200, 10, 20, None)
    assert v.n_resamples == 200 and "10-fold cross-validation, 20 repeat(s)" in v.describe()
    assert set(read_yaml(STUDY)["validation"]) == {"enabled", "method", "B", "folds", "repeats", "workers"}
    assert parse_config({}).validation == v  # the file's values are the defaults
    demo = parse_config(merge(read_yaml(STUDY), read_yaml(STUDY.parent / "demo.yaml")), base_dir=STUDY.parent)
    assert (demo.validation.folds, demo.validation.repeats, demo.validation.method) == (5, 2, "cv")
    diff = {r["setting"] for r in config_diff(demo.raw, cfg.raw)}
    assert {"validation.folds", "validation.repeats"} <= diff
    boot = load_config(STUDY, ["validation.method=boot", "validation.B=50"]).validation
    assert boot.n_resamples == 50 and "optimism bootstrap, B = 50" in boot.describe()


@pytest.mark.parametrize("override, pattern", [
    ("validation.method=bootstrap", r"validation.method: must be 'cv', 'boot' or '632plus', not 'bootstrap'"),
    ("validation.folds=1", r"validation.folds: must be an integer >= 2"),
    ("validation.repeats=0", r"validation.repeats: must be an integer in 1..10000"),
    ("validation.B=2.5", r"validation.B: must be an integer"),
    ("validation.workers=0", r"validation.workers: must be null or an integer in 1..1024"),
    ("validation.enabled=yes please", r"validation.enabled: must be true or false"),
    ("validation.fold=5", r"validation: unknown key\(s\) \['fold'\].*allowed.*folds"),
])
def test_validation_settings_are_checked(override, pattern):
    with pytest.raises(InputError, match=pattern):
        load_config(STUDY, [override])


def test_config_serialisers_are_methods():
    """effective_yaml / portable / model_yaml: the run record, the portable copy, the model's copy."""
    import yaml

    cfg = load_config(STUDY, [f"data.manifest={STUDY.parent / 'm.csv'}", "data.clinical=/elsewhere/c.csv"])
    assert cfg.effective_yaml().startswith(f"# base folder: {cfg.base_dir}\n")
    assert yaml.safe_load(cfg.effective_yaml()) == cfg.raw
    port = cfg.portable()
    assert port["data"]["manifest"] == "m.csv" and port["data"]["clinical"] == "c.csv"
    model = yaml.safe_load(cfg.model_yaml())
    assert model["data"]["manifest"] is None and model["data"]["clinical"] is None
    assert cfg.model_yaml().startswith("# radnomo model configuration")


def test_radiomics_engine_setting():
    from radnomo.features.radiomics import DEFAULT_ENGINE, ENGINES
    from radnomo.pipeline.config import RADIOMICS_ENGINES

    assert RADIOMICS_ENGINES == ENGINES and RADIOMICS_ENGINES[0] == DEFAULT_ENGINE
    assert parse_config({}).radiomics.engine == DEFAULT_ENGINE
    assert load_config(STUDY, ["radiomics.engine=pyradiomics"]).radiomics.engine == "pyradiomics"
    with pytest.raises(InputError, match=r"radiomics.engine: must be 'radnomo' or 'pyradiomics', not 'fast'"):
        load_config(STUDY, ["radiomics.engine=fast"])


def test_labels_section():
    cfg = load_config(STUDY)
    lab = cfg.labels
    assert set(lab.variables) == set(cfg.data.clinical_variables)  # every clinical variable has a label
    assert lab.variable("lnafp") == "ln AFP" and lab.unit("lnafp") == "ln(ng/mL)"
    assert lab.variable_with_unit("lnafp") == "ln AFP (ln(ng/mL))" and lab.variable_with_unit("sex") == "Sex"
    assert (lab.outcome.event, lab.outcome.nonevent) == ("Recurrence ≤ 6 months", "No recurrence")
    assert lab.model("nomogram") == "DL-Rad-Clinical nomogram" and lab.model("rad_score") == "Rad score"
    # all optional: an unlabelled name shows as itself
    empty = parse_config({}).labels
    assert empty.variable("age") == "age" and empty.unit("age") is None and empty.model("clinical") == "clinical"
    assert parse_config({"labels": {"variables": {"age": "Age"}}}).labels.variable("age") == "Age"


@pytest.mark.parametrize("labels, pattern", [
    ({"colours": {}}, r"labels: unknown key\(s\) \['colours'\]"),
    ({"variables": {"age": {"label": "Age", "units": "y"}}}, r"labels.variables.age: unknown key\(s\) \['units'\]"),
    ({"variables": {"age": {"label": 3}}}, r"labels.variables.age.label: must be a non-empty string"),
    ({"variables": {"age": {"label": "Age", "unit": 5}}}, r"labels.variables.age.unit: must be null or"),
    ({"variables": ["age"]}, r"labels.variables: must be a mapping"),
    ({"outcome": {"event": "E", "non_event": "N"}}, r"labels.outcome: unknown key\(s\) \['non_event'\]"),
    ({"outcome": {"event": ""}}, r"labels.outcome.event: must be a non-empty string"),
    ({"models": {"radscore": "Rad"}}, r"labels.models: unknown key\(s\) \['radscore'\].*rad_score"),
    ({"models": {"nomogram": None}}, r"labels.models.nomogram: must be a non-empty string"),
])
def test_labels_are_checked(labels, pattern):
    with pytest.raises(InputError, match=pattern):
        parse_config({"labels": labels})


def test_shipped_study_configs_are_the_reference_folders():
    """radnomo/studies/hcc_recurrence (package data, used by `radnomo demo` and the report) and the
    repository's documented pipelines/hcc_recurrence hold identical YAML files."""
    from radnomo.pipeline.config import study_config_path
    from radnomo.studies import available, study_dir, study_file

    assert available() == ["hcc_recurrence"]
    shipped = study_dir()
    assert study_config_path() == shipped / "config.yaml" == study_file()
    yamls = sorted(p.name for p in shipped.glob("*.yaml"))
    assert yamls == sorted(p.name for p in STUDY.parent.glob("*.yaml"))
    assert yamls == ["config.yaml", "demo.yaml", "radiomics.yaml"]
    for name in yamls:
        assert (shipped / name).read_bytes() == (STUDY.parent / name).read_bytes(), (
            f"{name}: pipelines/hcc_recurrence and python/radnomo/studies/hcc_recurrence differ; copy the edited one")
    with pytest.raises(InputError, match="no study 'nope'"):
        study_dir("nope")


def test_general_schema_knows_no_study():
    """The defaults hold no study's variables or title; the HCC study's live in its config.yaml."""
    cfg = parse_config({})
    assert cfg.data.clinical_variables == () and cfg.data.categorical == () and cfg.data.sequences == ()
    assert "HCC" not in cfg.effective_yaml() and "recurrence" not in cfg.effective_yaml().lower()
    study = load_config(STUDY)
    assert len(study.data.clinical_variables) == 22 and "lnafp" in study.data.clinical_variables
    assert "HCC" in study.report.title
    import radnomo.pipeline.config as config_module

    assert config_module.STUDY_CLINICAL == study.data.clinical_variables  # deprecated alias, read from the file


def test_constraints_are_declared_per_field():
    """Every plain section field declares its kind (and range/choices); one validator reads them."""
    import dataclasses

    from radnomo.pipeline import config_sections as cs
    from radnomo.pipeline.config_schema import expectation

    for cls in (cs.DataSection, cs.SplitSection, cs.RadiomicsSection, cs.DeepSection, cs.StatsSection,
                cs.ValidationSection, cs.ReportSection):
        for f in dataclasses.fields(cls):
            assert "kind" in f.metadata or f.name in ("train", "slices"), f"{cls.__name__}.{f.name}"
    meta = {f.name: f.metadata for f in dataclasses.fields(cs.ValidationSection)}
    assert expectation(meta["repeats"]) == "an integer in 1..10000"
    assert expectation(meta["workers"]) == "null or an integer in 1..1024"
    assert expectation(meta["method"]) == "'cv', 'boot' or '632plus'"
    stats = {f.name: f.metadata for f in dataclasses.fields(cs.StatsSection)}
    assert expectation(stats["mwu_alpha"]) == "a number in (0, 1]" and expectation(stats["nfolds"]) == "an integer >= 3"


@pytest.mark.parametrize("section, pattern", [
    ({"data": {"sequences": "t2"}}, None),
    ({"data": {"sequences": [1]}}, r"data.sequences: must be a list of names, not \(1,\)"),
    ({"data": {"outcome": ""}}, r"data.outcome: must be a column name"),
    ({"data": {"manifest": 3}}, r"data.manifest: must be null or a file path, not 3"),
    ({"data": {"missing": "drop"}}, r"data.missing: must be 'complete_cases' or 'error', not 'drop'"),
    ({"stats": {"dca_step": 0.5, "dca_max_threshold": 0.4}}, r"stats.dca_step: must be in \(0, dca_max_threshold\]"),
    ({"stats": {"mwu_alpha": 0}}, r"stats.mwu_alpha: must be a number in \(0, 1\], not 0"),
    ({"stats": {"nfolds": True}}, r"stats.nfolds: must be an integer >= 3, not True"),
    ({"deep": {"threads": 0}}, r"deep.threads: must be null or an integer >= 1, not 0"),
    ({"deep": {"device": "tpu"}}, r"deep.device: must be 'auto', 'cpu' or 'cuda', not 'tpu'"),
    ({"report": {"title": ""}}, r"report.title: must be a non-empty string"),
    ({"radiomics": {"params": ""}}, r"radiomics.params: must be a parameter file path or an inline"),
    ({"split": {"test_fraction": float("nan")}}, r"split.test_fraction: must be a number in \(0, 1\)"),
])
def test_declared_constraints_name_the_key(section, pattern):
    if pattern is None:
        assert parse_config(section).data.sequences == ("t2",)
        return
    with pytest.raises(InputError, match=pattern):
        parse_config(section)
