"""Fixtures for the deep-feature tests (cohort built by :mod:`deep_cohort`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deep_cohort import write_cohort


@pytest.fixture(scope="session")
def cohort_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("deep_cohort")
    write_cohort(folder)
    return folder


@pytest.fixture(scope="session")
def manifest(cohort_dir):
    from radnomo.io.manifest import read_manifest

    return read_manifest(cohort_dir / "manifest.csv")


@pytest.fixture(autouse=True)
def _no_network_weights(monkeypatch, tmp_path):
    """No test may download weights: TORCH_HOME points to an empty folder and downloads fail."""
    import torch

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))

    def _fail(*args, **kwargs):
        raise OSError("network access disabled in tests")

    monkeypatch.setattr(torch.hub, "download_url_to_file", _fail)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """One intra-op thread: on the shared 2-core CI/dev machines two threads contend and run ~10x slower."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def weights_file(tmp_path_factory) -> Path:
    """A DenseNet-169 state_dict (random, seeded) saved like a user's --weights FILE; loads fast."""
    import torch
    import torchvision

    path = tmp_path_factory.mktemp("weights") / "densenet169_random.pth"
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(2024)
        torch.save(torchvision.models.densenet169(weights=None).state_dict(), path)
    return path
