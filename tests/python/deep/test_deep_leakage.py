"""Fine-tuning sees the training patients only (behavioural leakage check of the deep engine).

The same cohort is written twice; in the second copy every test patient is poisoned: outcome
flipped, image replaced by other noise with a bright blob where no ROI was, ROI moved. Fine-tuning
one sequence on each copy (seeded, one CPU thread, deterministic) must give bit-identical weights,
history and slice sampling. As a positive control, poisoning one *training* patient the same way
must change the weights (so the comparison can fail).
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import SimpleITK as sitk
import torch

from deep_cohort import SHAPE, write_cohort
from radnomo.features.deep_train import DeepTrainConfig, train_deep_model
from radnomo.features.slices import SliceConfig
from radnomo.io.manifest import read_manifest

TINY = DeepTrainConfig(epochs=1, batch_size=4, weights="none", seed=11, slices=SliceConfig(image_size=32))


def _poison(folder, patients):
    man = pd.read_csv(folder / "manifest.csv")
    rng = np.random.default_rng(99)
    for pid in patients:
        row = man.index[man["patient_id"] == pid][0]
        man.loc[row, "label"] = 1 - man.loc[row, "label"]
        for seq in ("t2", "ap"):
            img = rng.normal(300.0, 40.0, SHAPE).astype(np.float32)
            img[:, 2:8, 2:8] += 500.0
            msk = np.zeros(SHAPE, np.uint8)
            msk[1:5, 20:30, 4:14] = 1
            for kind, arr in (("image", img), ("mask", msk)):
                im = sitk.GetImageFromArray(arr)
                im.SetSpacing((1.0, 1.0, 1.0))
                sitk.WriteImage(im, str(folder / man.loc[row, f"{seq}_{kind}"]))
    man.to_csv(folder / "manifest.csv", index=False)


def _train(folder, out):
    res = train_deep_model(read_manifest(folder / "manifest.csv"), "t2", out, config=TINY, device="cpu",
                           num_threads=1, progress=False)
    state = torch.load(out / "model.pt", weights_only=True)["state_dict"]
    return res, state


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_poisoned_test_patients_leave_fine_tuning_unchanged(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    write_cohort(clean)
    poisoned = tmp_path / "poisoned"
    shutil.copytree(clean, poisoned)
    _poison(poisoned, ["p5", "p6"])  # the test patients (split "test")
    control = tmp_path / "control"
    shutil.copytree(clean, control)
    _poison(control, ["p2"])  # a training patient

    ra, sa = _train(clean, tmp_path / "m_clean")
    rb, sb = _train(poisoned, tmp_path / "m_poisoned")
    assert _same(sa, sb)
    pd.testing.assert_frame_equal(ra.history, rb.history)
    assert (tmp_path / "m_clean" / "train_slices.csv").read_bytes() == \
        (tmp_path / "m_poisoned" / "train_slices.csv").read_bytes()
    slices = pd.read_csv(tmp_path / "m_clean" / "train_slices.csv")
    assert set(slices["patient_id"]) == {"p1", "p2", "p3", "p4"}

    _, sc = _train(control, tmp_path / "m_control")
    assert not _same(sa, sc)  # the check can fail: a training patient's change reaches the weights
