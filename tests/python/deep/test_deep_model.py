"""DenseNet-169 building, weights loading (the user's code paths), pooled features.

References: torchvision's own ``DenseNet.forward`` (features -> ReLU -> global
average pool -> classifier) with the classifier replaced by the identity gives
the pooled vector independently of radnomo's code; torchvision's DenseNet-169
has 1664 channels after ``norm5`` (Huang et al. 2017, growth rate 32,
blocks 6/12/32/32: 64 + 6*32 = 256 -> 128 + 12*32 = 512 -> 256 + 32*32 = 1280
-> 640 + 32*32 = 1664).
"""

from __future__ import annotations

import hashlib
import re

import pytest
import torch
import torchvision

from radnomo.errors import InputError, MissingDependencyError
from radnomo.features.deep_model import (
    FEATURE_DIM,
    IMAGENET_FILENAME,
    build_densenet169,
    imagenet_weights_path,
    model_logits,
    pooled_features,
    remap_legacy_keys,
    save_finetuned_model,
)


@pytest.fixture(scope="module")
def random_state():
    torch.manual_seed(11)
    return torchvision.models.densenet169(weights=None).state_dict()


def _legacy(state):
    """Rename keys to torchvision's original checkpoint naming (norm1 -> norm.1), as in the official file."""
    pat = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$")
    out = {}
    for k, v in state.items():
        m = pat.match(k)
        out[f"{m.group(1)}.{m.group(2)}.{m.group(3)}" if m else k] = v
    return out


def test_feature_dim_and_pooled_matches_torchvision_forward():
    model, info, extra = build_densenet169("none", seed=5)
    assert info.source == "none" and info.sha256 is None and extra == {}
    assert FEATURE_DIM == (((64 + 6 * 32) // 2 + 12 * 32) // 2 + 32 * 32) // 2 + 32 * 32  # = 1664
    ref = torchvision.models.densenet169(weights=None)
    ref.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("classifier")}, strict=False)
    ref.classifier = torch.nn.Identity()
    ref.eval()
    for size in (32, 64):
        x = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(size))
        with torch.inference_mode():
            f = pooled_features(model, x)
            np_ref = ref(x)
            logits = model_logits(model, x)
            ref_logits = model.classifier(np_ref).squeeze(1)
        assert f.shape == (3, 1664)
        torch.testing.assert_close(f, np_ref, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(logits, ref_logits, rtol=1e-5, atol=1e-6)
    assert model.classifier.out_features == 1


def test_none_is_seeded_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a, _, _ = build_densenet169("none", seed=3)
    b, _, _ = build_densenet169("none", seed=3)
    c, _, _ = build_densenet169("none", seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.features.conv0.weight, b.features.conv0.weight)
    assert not torch.equal(a.features.conv0.weight, c.features.conv0.weight)


def test_weights_file_written_by_test_loads_through_user_paths(random_state, tmp_path, monkeypatch):
    # 1) the TORCH_HOME cache under the official file name, with torchvision's legacy key names
    home = tmp_path / "th"
    monkeypatch.setenv("TORCH_HOME", str(home))
    cache = home / "hub" / "checkpoints" / IMAGENET_FILENAME
    cache.parent.mkdir(parents=True)
    torch.save(_legacy(random_state), cache)
    assert imagenet_weights_path() == cache
    m1, info1, _ = build_densenet169("imagenet", seed=1)
    assert info1.source == "imagenet" and info1.path == str(cache)
    assert info1.sha256 == hashlib.sha256(cache.read_bytes()).hexdigest()
    # 2) a plain file path (current key names), as --weights FILE
    plain = tmp_path / "my_weights.pth"
    torch.save(random_state, plain)
    m2, info2, _ = build_densenet169(plain, seed=1)
    assert info2.source == "file" and info2.sha256 == hashlib.sha256(plain.read_bytes()).hexdigest()
    assert not info2.finetuned
    s1, s2 = m1.state_dict(), m2.state_dict()
    for k, v in random_state.items():
        if k.startswith("classifier"):
            continue
        assert torch.equal(s1[k], v), k
        assert torch.equal(s2[k], v), k
    assert torch.equal(s1["classifier.weight"], s2["classifier.weight"])  # same seed -> same new head
    assert s1["classifier.weight"].shape == (1, 1664)


def test_legacy_key_remap():
    assert remap_legacy_keys({"features.denseblock1.denselayer1.norm.1.weight": 1, "features.norm5.bias": 2}) == {
        "features.denseblock1.denselayer1.norm1.weight": 1, "features.norm5.bias": 2}


def test_missing_imagenet_weights_give_clear_error_without_network():
    # TORCH_HOME is an empty temporary folder and downloads are patched to fail (conftest)
    with pytest.raises(MissingDependencyError) as err:
        build_densenet169("imagenet")
    msg = str(err.value)
    assert IMAGENET_FILENAME in msg and "hub/checkpoints" in msg and "--weights" in msg


def test_bad_weights_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        build_densenet169(tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    with pytest.raises(InputError, match="junk.pth"):
        build_densenet169(junk)
    wrong = tmp_path / "resnet.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), wrong)
    with pytest.raises(InputError, match="not a torchvision DenseNet-169"):
        build_densenet169(wrong)


def test_finetuned_roundtrip(tmp_path):
    model, _, _ = build_densenet169("none", seed=9)
    with torch.no_grad():
        model.classifier.bias.fill_(0.37)
    path = save_finetuned_model(model, tmp_path / "m" / "model.pt", {"sequence": "t2", "train_config": {"epochs": 1}})
    again, info, extra = build_densenet169(path, seed=123)
    assert info.finetuned and info.source == "file"
    assert extra["sequence"] == "t2" and extra["train_config"] == {"epochs": 1}
    for k, v in model.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k
