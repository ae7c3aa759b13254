"""CPU deep features are deterministic on a given machine: the same run twice gives an identical Parquet.

Two complete runs (fine-tuning one epoch from seeded random weights, then
extraction) into two separate folders, with nothing shared (no cache, fresh
model files), must give bit-identical feature values and a byte-identical
Parquet file (no time stamp or machine path in it); the metadata records what
determines the values (torch/torchvision, intra-op threads, the CPU's
instruction set, CPU model, oneDNN, deterministic mode, device).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import torch

from radnomo.features.deep import DeepExtractConfig, extract_deep_features, feature_columns, train_deep_models
from radnomo.features.deep_train import DeepTrainConfig
from radnomo.features.slices import SliceConfig
from radnomo.io.tables import read_feature_table
from radnomo.runtime import deep_compute_record

TINY = DeepTrainConfig(epochs=1, batch_size=4, weights="none", seed=5, slices=SliceConfig(image_size=32))


def _run(manifest, folder, threads=1):
    folder.mkdir()
    train_deep_models(manifest, folder / "models", config=TINY, device="cpu", num_threads=threads, progress=False)
    return extract_deep_features(manifest, folder / "deep.parquet", model_dir=folder / "models",
                                 config=DeepExtractConfig(batch_size=3), device="cpu", num_threads=threads,
                                 progress=False)


def test_same_run_twice_gives_an_identical_parquet(manifest, tmp_path):
    a = _run(manifest, tmp_path / "a")
    b = _run(manifest, tmp_path / "b")
    # the fine-tuned weights are identical, bit for bit
    for seq in ("t2", "ap"):
        sa = torch.load(tmp_path / "a" / "models" / seq / "model.pt", weights_only=True)["state_dict"]
        sb = torch.load(tmp_path / "b" / "models" / seq / "model.pt", weights_only=True)["state_dict"]
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
        # and so are the model files (their SHA-256 is recorded in the features' metadata)
        assert (tmp_path / "a" / "models" / seq / "model.pt").read_bytes() == \
            (tmp_path / "b" / "models" / seq / "model.pt").read_bytes()
    # the feature values: bit-identical (not merely close)
    ta, ma = read_feature_table(a.path)
    tb, mb = read_feature_table(b.path)
    assert list(ta.columns) == list(tb.columns) and len(ta) == 6
    cols = feature_columns("t2") + feature_columns("ap")
    va, vb = ta[cols].to_numpy(np.float64), tb[cols].to_numpy(np.float64)
    assert np.isfinite(va).all() and va.std() > 0
    assert np.array_equal(va.view(np.uint64), vb.view(np.uint64))
    # the metadata hold no time stamp and no machine path: equal, and so are the files, byte for byte
    assert ma == mb
    assert str(tmp_path) not in json.dumps(ma)
    assert ma["weights"]["t2"]["path"] == "models/t2/model.pt"
    assert hashlib.sha256(a.path.read_bytes()).digest() == hashlib.sha256(b.path.read_bytes()).digest()
    assert pq.ParquetFile(a.path).metadata.created_by.startswith("parquet-cpp-arrow")


def test_the_metadata_record_what_determines_the_values(manifest, tmp_path):
    res = _run(manifest, tmp_path / "a")
    c = res.metadata["compute"]
    assert c == deep_compute_record("cpu", 1, deterministic=True)
    assert c["device"] == "cpu" and c["intra_op_threads"] == 1 and c["deterministic_algorithms"] is True
    assert c["torch"] == torch.__version__ and c["torchvision"]
    assert c["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert isinstance(c["mkldnn_enabled"], bool) and "cpu_model" in c
    # deterministic mode is switched on for extraction only, and restored
    assert torch.are_deterministic_algorithms_enabled() is False
    _, meta = read_feature_table(res.path)
    assert meta["compute"] == c


def test_thread_count_is_part_of_the_cache_key(manifest, weights_file, tmp_path, monkeypatch):
    """Features cached with one thread count are not reused under another (their values may differ)."""
    import radnomo.features.deep as deep

    cfg = DeepExtractConfig(slices=SliceConfig(image_size=32))
    out = tmp_path / "deep.parquet"
    extract_deep_features(manifest, out, weights=str(weights_file), sequences=["t2"], patients=["p1"], config=cfg,
                          device="cpu", num_threads=1, progress=False)
    calls = []
    real = deep.slice_features
    monkeypatch.setattr(deep, "slice_features", lambda *a, **k: calls.append(1) or real(*a, **k))
    extract_deep_features(manifest, out, weights=str(weights_file), sequences=["t2"], patients=["p1"], config=cfg,
                          device="cpu", num_threads=1, progress=False)
    assert calls == []  # same determinants: from the cache
    r2 = extract_deep_features(manifest, out, weights=str(weights_file), sequences=["t2"], patients=["p1"],
                               config=cfg, device="cpu", num_threads=2, progress=False)
    assert calls == [1] and r2.metadata["compute"]["intra_op_threads"] == 2
    assert torch.get_num_threads() == 1  # restored (the deep tests' session setting)
