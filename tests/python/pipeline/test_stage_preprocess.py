"""Stage ``preprocess``: its cache key over the images (``pipeline/stages/preprocess.py``)."""

from __future__ import annotations

import pandas as pd

from radnomo.pipeline.stages.preprocess import image_hashes


def _manifest(tmp_path, image_name="a_t2.nii.gz"):
    for name in ("a_t2.nii.gz", "a_t2_mask.nii.gz", "b_t2.nii.gz", "b_t2_mask.nii.gz"):
        (tmp_path / name).write_bytes(name.encode() * 10)
    m = pd.DataFrame({"patient_id": ["A", "B"], "label": [0, 1],
                      "t2_image": [str(tmp_path / image_name), str(tmp_path / "b_t2.nii.gz")],
                      "t2_mask": [str(tmp_path / "a_t2_mask.nii.gz"), str(tmp_path / "b_t2_mask.nii.gz")]})
    path = tmp_path / "manifest.csv"
    m.to_csv(path, index=False)
    return path


def test_image_hashes_follow_the_files(tmp_path):
    path = _manifest(tmp_path)
    h1 = image_hashes(path)
    assert image_hashes(path) == h1
    (tmp_path / "b_t2.nii.gz").write_bytes(b"changed")
    assert image_hashes(path) != h1


def test_a_missing_image_does_not_stop_the_key(tmp_path):
    """A missing image is the stage's per-patient error (that patient is reported and left out), not
    an exception while the run computes the stage's key (seen: the whole run stopped after split)."""
    path = _manifest(tmp_path, image_name="a_t2_MISSING.nii.gz")
    h = image_hashes(path)
    assert isinstance(h, str) and len(h) == 64
    (tmp_path / "a_t2_MISSING.nii.gz").write_bytes(b"now there")
    assert image_hashes(path) != h
