"""The stats stage labels the nomogram's axes from the config's ``labels:`` section."""

from __future__ import annotations

from radnomo.pipeline.config import load_config
from radnomo.pipeline.stages.stats import nomogram_labels
from radnomo.studies import study_file


def test_nomogram_axis_labels_from_the_config():
    cfg = load_config(study_file())
    labels = nomogram_labels(cfg, ["rad_score", "dl_score", "lnafp", "multiple_low_signal"])
    assert labels["rad_score"] == "Rad score" and labels["dl_score"] == "DL score"
    assert labels["lnafp"] != "lnafp" and "AFP" in labels["lnafp"]
    assert labels["multiple_low_signal"] != "multiple_low_signal"
    assert len(set(labels.values())) == len(labels)


def test_nomogram_axis_labels_made_distinct():
    cfg = load_config(study_file())
    labels = nomogram_labels(cfg, ["size_mm", "size mm"])
    assert len(set(labels.values())) == 2
