"""radnomo.report.labels: readable names from the config's labels: section, with defaults."""

import pytest

from radnomo.report.labels import Labels, default_label


def test_defaults_are_readable():
    L = Labels()
    assert L.label("rad_score") == "Rad score"
    assert L.label("dl_score") == "DL score"
    assert (L.label("max_diameter_cm"), L.unit("max_diameter_cm")) == ("Max diameter", "cm")
    assert L.with_unit("max_diameter_cm") == "Max diameter (cm)"
    assert L.label("some_unknown_name") == "Some unknown name"
    assert L.label("Weird") == "Weird"
    assert L.model("nomogram") == "DL-Rad-Clinical nomogram"
    assert L.model("my_model") == "My model"
    assert (L.event, L.nonevent) == ("Event", "No event")
    assert default_label("ggt") == ("GGT", None)


def test_config_mapping_wins():
    L = Labels({"variables": {"lnafp": {"label": "ln AFP", "unit": "ln ng/mL"}, "neu_lym": "NLR",
                              "sex": {"label": "Sex", "levels": {"female": "Women", "male": "Men"}},
                              "size_cm": {"label": "Size"}},
                "outcome": {"event": "Recurrence ≤ 6 months", "nonevent": "No recurrence"},
                "models": {"nomogram": "Combined nomogram"}}, outcome="label")
    assert L.with_unit("lnafp") == "ln AFP (ln ng/mL)"
    assert L.with_unit("neu_lym") == "NLR"
    assert L.with_unit("size_cm") == "Size"  # a configured label without unit: no unit guessed from the name
    assert L.level("sex", "male") == "Men"
    assert L.level("label", 1) == "Recurrence ≤ 6 months"
    assert L.level("label", "0") == "No recurrence"
    assert L.group("label = 1") == "Recurrence ≤ 6 months"
    assert L.group("training set") == "Training set"
    assert L.model("nomogram") == "Combined nomogram"
    assert L.model("clinical") == "Clinical model"


def test_levels_and_features():
    L = Labels()
    assert L.level("complication", 0) == "No" and L.level("complication", 1.0) == "Yes"
    assert L.level("tumor_number", 1, binary=False) == "1"
    assert L.level("child_pugh", "A") == "A"
    assert L.feature("pvp_original_glszm_LowGrayLevelZoneEmphasis") == "PVP original GLSZM: LowGrayLevelZoneEmphasis"
    assert L.feature("t2_dl_14") == "T2WI deep feature 14"
    assert L.feature("sex=male") == "Sex: Male"
    assert L.feature("PC3") == "DL principal component 3"
    assert L.feature("rad_score") == "Rad score"


def test_unknown_section_is_an_error():
    with pytest.raises(ValueError, match="unknown section"):
        Labels({"variable": {}})
