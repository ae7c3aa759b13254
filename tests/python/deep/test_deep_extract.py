"""Deep feature extraction: 1664 per slice, aggregation, table layout and metadata, caching, failures.

Reference for the values: an independent computation with torchvision's own
``DenseNet.forward`` (classifier replaced by the identity) on the same slices,
followed by NumPy mean / max / arg-max-ROI selection.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision

import radnomo.features.deep as deep
from radnomo.errors import InputError
from radnomo.features.deep import (
    DeepExtractConfig,
    aggregate_features,
    extract_deep_features,
    feature_columns,
)
from radnomo.features.deep_model import build_densenet169, save_finetuned_model
from radnomo.features.slices import SliceConfig, load_slice_stack, to_network_input
from radnomo.io.manifest import manifest_from_frame
from radnomo.io.tables import read_feature_table

S32 = SliceConfig(image_size=32)


def _reference_slice_features(weights_file, manifest, pid, seq, slices):
    ref = torchvision.models.densenet169(weights=None)
    ref.load_state_dict(torch.load(weights_file, weights_only=True))
    ref.classifier = torch.nn.Identity()
    ref.eval()
    st = load_slice_stack(manifest, pid, seq, slices)
    with torch.no_grad():
        return ref(to_network_input(st.images)).numpy().astype(np.float64), st.roi_voxels


def test_table_values_metadata_and_cache(manifest, weights_file, tmp_path, monkeypatch):
    out = tmp_path / "deep.parquet"
    res = extract_deep_features(manifest, out, weights=str(weights_file), config=DeepExtractConfig(slices=S32),
                                device="cpu", progress=False)
    assert res.failures == []
    assert list(res.table.columns) == ["patient_id"] + feature_columns("t2") + feature_columns("ap")
    assert res.table.shape == (6, 1 + 2 * 1664)
    assert feature_columns("t2")[0] == "t2_dl_1" and feature_columns("t2")[-1] == "t2_dl_1664"
    table, meta = read_feature_table(out)
    pd.testing.assert_frame_equal(table, res.table, check_dtype=False)
    assert meta["layer"].startswith("features.norm5 -> ReLU -> global average pool")
    assert meta["aggregation"] == "mean" and meta["feature_dim"] == 1664
    w = meta["weights"]["t2"]
    assert w["source"] == "file" and w["finetuned"] is False and len(w["sha256"]) == 64
    assert meta["versions"]["torch"] and meta["versions"]["torchvision"]
    assert meta["slice_sampling"]["ap"]["p3"] == [1, 2, 3, 4]
    assert meta["slices"]["t2"]["image_size"] == 32
    sampling = pd.read_csv(tmp_path / "deep_slices.csv", dtype={"patient_id": str})
    assert len(sampling) == 6 * 2 * 4

    ref, roi = _reference_slice_features(weights_file, manifest, "p2", "ap", S32)
    got = res.table.set_index("patient_id").loc["p2", feature_columns("ap")].to_numpy(float)
    np.testing.assert_allclose(got, ref.mean(axis=0), rtol=1e-4, atol=1e-6)

    # rerun with other aggregations: slice features come from the cache (the network is never called)
    def boom(*a, **k):
        raise AssertionError("slice features recomputed despite the cache")

    monkeypatch.setattr(deep, "slice_features", boom)
    for how, expect in (("max", ref.max(axis=0)), ("largest", ref[int(np.argmax(roi))])):
        r2 = extract_deep_features(manifest, out, weights=str(weights_file), sequences=["ap"],
                                   config=DeepExtractConfig(slices=S32, aggregation=how), device="cpu", progress=False)
        got = r2.table.set_index("patient_id").loc["p2", feature_columns("ap")].to_numpy(float)
        np.testing.assert_allclose(got, expect, rtol=1e-4, atol=1e-6)
        assert r2.metadata["aggregation"] == how


def test_aggregation_closed_form():
    f = np.array([[1.0, 5.0], [3.0, -1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(aggregate_features(f, [10, 30, 20], "mean"), [2.0, 2.0])
    np.testing.assert_array_equal(aggregate_features(f, [10, 30, 20], "max"), [3.0, 5.0])
    np.testing.assert_array_equal(aggregate_features(f, [10, 30, 20], "largest"), [3.0, -1.0])
    with pytest.raises(InputError):
        DeepExtractConfig(aggregation="median")


def test_one_bad_patient_is_reported_and_others_go_on(manifest, weights_file, tmp_path):
    table = manifest.table.copy()
    table.loc[table.patient_id == "p3", "t2_image"] = "gone.nii.gz"
    broken = manifest_from_frame(table, root=manifest.root)
    res = extract_deep_features(broken, None, weights=str(weights_file), config=DeepExtractConfig(slices=S32),
                                device="cpu", progress=False)
    assert res.table["patient_id"].tolist() == ["p1", "p2", "p4", "p5", "p6"]
    assert len(res.failures) == 1
    f = res.failures[0]
    assert f["patient_id"] == "p3" and f["sequence"] == "t2" and "gone.nii.gz" in f["error"]


def test_finetuned_model_dir_and_its_slice_settings(manifest, weights_file, tmp_path):
    model, _, _ = build_densenet169(weights_file)
    with torch.no_grad():
        model.classifier.weight.fill_(0.001)
    rec = {"train_config": {"slices": SliceConfig(image_size=40, max_slices_per_patient=2).to_dict()},
           "train_patients": ["p1", "p2"], "fingerprint": "abc"}
    save_finetuned_model(model, tmp_path / "models" / "t2" / "model.pt", rec)
    res = extract_deep_features(manifest, None, model_dir=tmp_path / "models", sequences=["t2"], device="cpu",
                                progress=False)
    w = res.metadata["weights"]["t2"]
    assert w["finetuned"] and w["n_train_patients"] == 2 and w["train_fingerprint"] == "abc"
    assert res.metadata["slices"]["t2"]["image_size"] == 40
    assert res.metadata["slice_sampling"]["t2"]["p1"] == [1, 4]
    with pytest.raises(InputError, match="no fine-tuned model"):
        extract_deep_features(manifest, None, model_dir=tmp_path / "models", sequences=["ap"], device="cpu",
                              progress=False)


def test_cache_is_keyed_by_image_content(cohort_dir, weights_file, tmp_path, monkeypatch):
    """Re-preprocessed (changed) images must not reuse stale cached slice features."""
    import shutil

    import SimpleITK as sitk

    from radnomo.io.manifest import read_manifest

    work = tmp_path / "cohort"
    shutil.copytree(cohort_dir, work)
    m = read_manifest(work / "manifest.csv")
    out = tmp_path / "deep.parquet"
    cfg = DeepExtractConfig(slices=S32)
    first = extract_deep_features(m, out, weights=str(weights_file), sequences=["ap"], config=cfg,
                                  device="cpu", progress=False)
    # change p2's arterial image content (same file name)
    img_path = m.image_path("p2", "ap")
    img = sitk.ReadImage(str(img_path))
    arr = sitk.GetArrayFromImage(img).astype(np.float32)
    new = sitk.GetImageFromArray(np.sqrt(np.abs(arr)) * 7.0)
    new.CopyInformation(img)
    sitk.WriteImage(new, str(img_path))

    calls = []
    real = deep.slice_features

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(deep, "slice_features", counting)
    second = extract_deep_features(m, out, weights=str(weights_file), sequences=["ap"], config=cfg,
                                   device="cpu", progress=False)
    assert len(calls) == 1  # only the changed patient/sequence was recomputed
    a = first.table.set_index("patient_id")
    b = second.table.set_index("patient_id")
    assert not np.allclose(a.loc["p2"].to_numpy(float), b.loc["p2"].to_numpy(float))
    np.testing.assert_array_equal(a.drop(index="p2").to_numpy(), b.drop(index="p2").to_numpy())
