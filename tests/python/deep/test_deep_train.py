"""Fine-tuning: training split only, seeded, resumable with identical results.

References: the patient-level AUC is checked against SciPy's Mann-Whitney U
statistic (AUC = U / (n1 * n0), ties counted 1/2); resume equality is checked
bit-for-bit against an uninterrupted run of the same configuration (CPU).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import mannwhitneyu

import radnomo.features.deep_train as deep_train
from radnomo.errors import InputError
from radnomo.features.deep_train import DeepTrainConfig, patient_auc, select_training_patients, train_deep_model
from radnomo.features.slices import SliceConfig
from radnomo.io.manifest import manifest_from_frame

TINY = dict(epochs=2, batch_size=8, weights="none", seed=17, slices=SliceConfig(image_size=32))


def test_config_validation():
    DeepTrainConfig()  # the study's defaults are valid
    assert DeepTrainConfig().to_dict()["lr"] == 0.01 and DeepTrainConfig().epochs == 50
    for bad in (dict(epochs=0), dict(batch_size=1), dict(lr=0), dict(momentum=1.0), dict(weight_decay=-1),
                dict(hflip_probability=2), dict(crop_padding=500), dict(slices="224")):
        with pytest.raises(InputError):
            DeepTrainConfig(**bad)


def test_patient_auc_matches_mann_whitney():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)
    s = np.round(rng.normal(size=40) + y, 1)  # rounding creates ties
    u = mannwhitneyu(s[y == 1], s[y == 0]).statistic
    assert patient_auc(y, s) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-12)
    assert np.isnan(patient_auc([1, 1], [0.2, 0.3]))


def test_training_patients_selection(manifest):
    assert select_training_patients(manifest) == ["p1", "p2", "p3", "p4"]
    assert select_training_patients(manifest, ["p2", "p1"]) == ["p2", "p1"]
    with pytest.raises(InputError, match="split='test'"):
        select_training_patients(manifest, ["p1", "p5"])
    with pytest.raises(InputError, match="not in the manifest"):
        select_training_patients(manifest, ["p1", "zz"])
    nosplit = manifest_from_frame(manifest.table.drop(columns="split"), root=manifest.root)
    with pytest.raises(InputError, match="no 'split' column"):
        select_training_patients(nosplit)
    assert select_training_patients(nosplit, ["p5", "p6"]) == ["p5", "p6"]


def test_no_test_patient_is_ever_read_for_training(manifest, tmp_path, monkeypatch):
    seen = []
    real = deep_train.load_slice_stack

    def spy(m, pid, seq, cfg):
        seen.append(pid)
        return real(m, pid, seq, cfg)

    monkeypatch.setattr(deep_train, "load_slice_stack", spy)
    res = train_deep_model(manifest, "t2", tmp_path / "t2", config=DeepTrainConfig(**{**TINY, "epochs": 1}),
                           device="cpu", progress=False)
    assert sorted(set(seen)) == ["p1", "p2", "p3", "p4"]
    assert res.train_patients == ["p1", "p2", "p3", "p4"]
    used = pd.read_csv(tmp_path / "t2" / "train_slices.csv", dtype={"patient_id": str})
    assert set(used.patient_id) == {"p1", "p2", "p3", "p4"} and len(used) == 16
    saved = torch.load(tmp_path / "t2" / "model.pt", map_location="cpu", weights_only=True)
    assert saved["train_patients"] == ["p1", "p2", "p3", "p4"]
    assert saved["base_weights"]["source"] == "none"
    assert list(res.history.columns) == ["epoch", "lr", "loss", "auc"]
    assert np.isfinite(res.history["loss"]).all()


def test_resume_equals_uninterrupted_run(manifest, tmp_path):
    cfg = DeepTrainConfig(**TINY)
    full = train_deep_model(manifest, "ap", tmp_path / "full", config=cfg, device="cpu", progress=False)
    part = train_deep_model(manifest, "ap", tmp_path / "resumed", config=cfg, device="cpu", progress=False,
                            stop_after_epoch=1)
    assert not (tmp_path / "resumed" / "model.pt").exists()
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir()) == ["epoch_001.pt"]
    rest = train_deep_model(manifest, "ap", tmp_path / "resumed", config=cfg, device="cpu", progress=False)
    assert rest.resumed_from_epoch == 1 and len(part.history) == 1
    a = torch.load(full.model_path, map_location="cpu", weights_only=True)
    b = torch.load(rest.model_path, map_location="cpu", weights_only=True)
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k
    pd.testing.assert_frame_equal(full.history, rest.history)
    # the learning rate follows the cosine schedule: 0.01 then 0.01 * (1 + cos(pi/2)) / 2
    assert full.history["lr"].tolist() == pytest.approx([0.01, 0.005])
    # a finished run is skipped on rerun
    again = train_deep_model(manifest, "ap", tmp_path / "full", config=cfg, device="cpu", progress=False)
    assert again.skipped
    # checkpoints of another configuration are not silently mixed in
    (tmp_path / "mixed" / "checkpoints").mkdir(parents=True)
    for p in (tmp_path / "full" / "checkpoints").glob("*.pt"):
        (tmp_path / "mixed" / "checkpoints" / p.name).write_bytes(p.read_bytes())
    with pytest.raises(InputError, match="another configuration"):
        train_deep_model(manifest, "ap", tmp_path / "mixed", config=DeepTrainConfig(**{**TINY, "lr": 0.02}),
                         device="cpu", progress=False)


def test_finished_model_is_not_reused_when_training_images_change(cohort_dir, tmp_path):
    """The skip-if-done / resume fingerprint covers the training images' content and labels."""
    import shutil

    import SimpleITK as sitk

    from radnomo.io.manifest import read_manifest

    work = tmp_path / "cohort"
    shutil.copytree(cohort_dir, work)
    m = read_manifest(work / "manifest.csv")
    cfg = DeepTrainConfig(**{**TINY, "epochs": 1})
    first = train_deep_model(m, "t2", tmp_path / "t2", config=cfg, device="cpu", progress=False)
    again = train_deep_model(m, "t2", tmp_path / "t2", config=cfg, device="cpu", progress=False)
    assert again.skipped and not first.skipped
    p = m.image_path("p1", "t2")
    img = sitk.ReadImage(str(p))
    new = sitk.GetImageFromArray(sitk.GetArrayFromImage(img).astype(np.float32) * 0.5 + 3.0)
    new.CopyInformation(img)
    sitk.WriteImage(new, str(p))
    # never silently stale: the old checkpoints are refused with a clear message...
    with pytest.raises(InputError, match="training images"):
        train_deep_model(m, "t2", tmp_path / "t2", config=cfg, device="cpu", progress=False)
    # ...and an explicit fresh start retrains
    changed = train_deep_model(m, "t2", tmp_path / "t2", config=cfg, device="cpu", progress=False, resume=False)
    assert not changed.skipped
