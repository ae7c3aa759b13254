"""radnomo's engine against PyRadiomics on a paper-size synthetic patient, all four phases (slow).

`radnomo synth --size paper` then `radnomo preprocess` (whole field of view at 1 mm: images of about
200 x 200 x 170 voxels, liver ROIs of about 1.3 M voxels), the study's 1197 features per phase.
PyRadiomics needs one to two minutes per phase on one core and synthesis plus preprocessing about
1.5 minutes, so this runs only with RADNOMO_SLOW=1 (marked slow as well). The fast representative
subset is test_engine_exactness.py.

RADNOMO_PAPER_CASE=<preprocessed manifest> uses an existing preprocessed cohort instead (its first
patient).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from engine_helpers import compare
from feature_helpers import REPO

# deselected unless RADNOMO_SLOW=1 (tests/python/conftest.py): ~10 min
pytestmark = [pytest.mark.slow, pytest.mark.extended]

STUDY = yaml.safe_load((REPO / "pipelines" / "hcc_recurrence" / "radiomics.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def paper_manifest(tmp_path_factory):
    given = os.environ.get("RADNOMO_PAPER_CASE")
    if given:
        return Path(given)
    import pandas as pd

    from radnomo.preprocess import preprocess_cohort
    from radnomo.synth.cohort import generate_cohort

    root = tmp_path_factory.mktemp("paper")
    generate_cohort(root / "synth", n=2, size="paper", seed=11, workers=2, progress=False)
    first = pd.read_csv(root / "synth" / "manifest.csv").head(1)
    for col in first.columns:
        if col.endswith(("_image", "_mask")):
            first[col] = [str((root / "synth" / v).resolve()) for v in first[col]]
    first.to_csv(root / "one.csv", index=False)
    preprocess_cohort(root / "one.csv", root / "pre", workers=1, progress=False)
    return root / "pre" / "manifest.csv"


@pytest.mark.parametrize("seq", ["t2", "ap", "pvp", "dp"])
def test_paper_size_patient(paper_manifest, seq):
    from radnomo.io.images import read_image_and_mask
    from radnomo.io.manifest import read_manifest

    man = read_manifest(paper_manifest)
    pid = man.patients[0]
    image, mask = read_image_and_mask(man.image_path(pid, seq), man.mask_path(pid, seq))
    worst = compare(image, mask, STUDY, what=f"paper-size {seq}")
    print(f"\n{seq}: " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items() if not k.startswith("_"))
          + f"; PyRadiomics {worst['_seconds_pyradiomics']:.1f} s, radnomo {worst['_seconds_radnomo']:.1f} s")
