"""Fixtures for the synthetic-cohort tests: a few ``tiny`` patients written once per session."""

from __future__ import annotations

import pytest

from radnomo.synth import generate_cohort, simulate_subjects

SEED = 20240607


@pytest.fixture(scope="session")
def large_table():
    """20,000 simulated patients (clinical + latent + risk + label); about 1 s."""
    return simulate_subjects(20000, SEED)


@pytest.fixture(scope="session")
def cohort3(tmp_path_factory):
    """Three tiny patients written in-process."""
    out = tmp_path_factory.mktemp("cohort3")
    return generate_cohort(out, n=3, size="tiny", seed=SEED, workers=1, progress=False)


@pytest.fixture(scope="session")
def cohort5(tmp_path_factory):
    """Five tiny patients, same seed, written by two worker processes."""
    out = tmp_path_factory.mktemp("cohort5")
    return generate_cohort(out, n=5, size="tiny", seed=SEED, workers=2, progress=False)


@pytest.fixture(scope="session")
def synth_seed():
    """The seed of the session cohorts."""
    return SEED
