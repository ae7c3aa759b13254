"""The stats stage labels the nomogram's axes from the config's ``labels:`` section."""

from __future__ import annotations

from radnomo.pipeline.config import load_config
from radnomo.report.labels import Labels
from radnomo.pipeline.stages.stats import nomogram_labels
from radnomo.studies import study_file


def test_nomogram_axis_labels_from_the_config():
    cfg = load_config(study_file())
    labels = nomogram_labels(Labels.from_config(cfg), ["rad_score", "dl_score", "lnafp", "multiple_low_signal"])
    assert labels["rad_score"] == "Rad score" and labels["dl_score"] == "DL score"
    assert labels["lnafp"] != "lnafp" and "AFP" in labels["lnafp"]
    assert labels["multiple_low_signal"] != "multiple_low_signal"
    assert len(set(labels.values())) == len(labels)


def test_nomogram_axis_labels_made_distinct():
    cfg = load_config(study_file())
    labels = nomogram_labels(Labels.from_config(cfg), ["size_mm", "size mm"])
    assert len(set(labels.values())) == 2


def test_nomogram_level_names_from_the_config():
    import pandas as pd

    from radnomo.pipeline.stages.stats import nomogram_level_labels

    cfg = load_config(study_file())
    train = pd.DataFrame({"treatment_history": [0, 1, 1], "sex": ["male", "female", "male"],
                          "lnafp": [1.2, 3.4, 2.2], "rad_score": [0.1, -0.3, 0.5]})
    lv = nomogram_level_labels(Labels.from_config(cfg), set(cfg.data.categorical),
                               ["rad_score", "lnafp", "treatment_history", "sex"], train)
    assert lv["treatment_history"] == {"0": "No", "1": "Yes"}
    assert lv["sex"] == {"male": "Male", "female": "Female"}
    assert "lnafp" not in lv and "rad_score" not in lv
