"""ROI slices: sampling, crop geometry, ROI suppression, ImageNet normalisation.

Expected values are closed-form properties of the synthetic volumes built here
(disk radii, voxel counts) and torchvision's ImageNet statistics
(mean 0.485/0.456/0.406, std 0.229/0.224/0.225, torchvision.models.DenseNet169_Weights).
"""

from __future__ import annotations

import numpy as np
import pytest

from deep_cohort import synthetic_volume
from radnomo.errors import InputError
from radnomo.features.slices import (
    SliceConfig,
    load_slice_stack,
    roi_slices_from_arrays,
    sample_slice_indices,
    sampling_table,
    to_network_input,
)


def test_roi_slices_cover_every_roi_layer_and_suppress_outside():
    img, msk = synthetic_volume(1, np.random.default_rng(0))
    st = roi_slices_from_arrays(img, msk, config=SliceConfig(image_size=48), patient_id="a", sequence="t2")
    # the disk has radii 0, 6, 8, 7, 5, 0 in slices 0..5: ROI slices are 1..4
    assert st.slice_index.tolist() == [1, 2, 3, 4]
    assert st.n_roi_slices == 4
    assert st.images.shape == (4, 48, 48) and st.masks.shape == (4, 48, 48)
    # ROI voxel counts per slice, counted independently on the input mask
    assert st.roi_voxels.tolist() == [int(msk[k].sum()) for k in (1, 2, 3, 4)]
    assert st.images.dtype == np.float32
    assert st.images.min() >= 0.0 and st.images.max() <= 1.0
    assert np.all(st.images[~st.masks] == 0.0)  # only the ROI is retained
    assert st.images[st.masks].mean() > 0.05
    assert len(st) == 4 and st.label is None


def test_crop_is_square_around_roi_with_margin():
    img, msk = synthetic_volume(0, np.random.default_rng(1))
    size = 60
    st = roi_slices_from_arrays(img, msk, config=SliceConfig(image_size=size, margin_fraction=0.25))
    widest = st.masks[list(st.slice_index).index(2)]  # radius 8: 17 voxels across
    rows = np.flatnonzero(widest.any(axis=1))
    cols = np.flatnonzero(widest.any(axis=0))
    # the 17-voxel box plus 25 % each side = 25.5 -> 26 voxels; ROI spans 17/26 of the side
    expect = size * 17 / 26
    assert abs((rows[-1] - rows[0] + 1) - expect) <= 2.5
    assert abs((cols[-1] - cols[0] + 1) - expect) <= 2.5
    # centred
    assert abs((rows[0] + rows[-1]) / 2 - (size - 1) / 2) <= 1.5
    assert abs((cols[0] + cols[-1]) / 2 - (size - 1) / 2) <= 1.5


def test_anisotropic_pixels_keep_their_aspect():
    # ROI 20 voxels along j at 1 mm and 10 voxels along i at 2 mm: a 20 mm x 20 mm square
    msk = np.zeros((3, 40, 40), np.uint8)
    msk[1, 10:30, 15:25] = 1
    img = np.where(msk > 0, 200.0, 50.0).astype(np.float32)
    st = roi_slices_from_arrays(img, msk, spacing=(2.0, 1.0, 3.0), config=SliceConfig(image_size=64, margin_fraction=0.0))
    m = st.masks[0]
    h = np.flatnonzero(m.any(axis=1)); w = np.flatnonzero(m.any(axis=0))
    assert abs((h[-1] - h[0]) - (w[-1] - w[0])) <= 1
    assert h[-1] - h[0] + 1 >= 60  # no margin: the ROI fills the field of view


def test_sampling_even_and_recorded():
    ks = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    assert sample_slice_indices(ks, None).tolist() == ks.tolist()
    assert sample_slice_indices(ks, 20).tolist() == ks.tolist()
    assert sample_slice_indices(ks, 2).tolist() == [3, 12]
    # np.linspace(0, 9, 4) = 0, 3, 6, 9
    assert sample_slice_indices(ks, 4).tolist() == [3, 6, 9, 12]
    img, msk = synthetic_volume(0, np.random.default_rng(2))
    st = roi_slices_from_arrays(img, msk, config=SliceConfig(image_size=32, max_slices_per_patient=2),
                                patient_id="x", sequence="ap")
    assert st.slice_index.tolist() == [1, 4] and st.n_roi_slices == 4
    tab = sampling_table([st])
    assert tab.to_dict("list") == {"patient_id": ["x", "x"], "sequence": ["ap", "ap"], "slice_index": [1, 4],
                                   "roi_voxels": [int(msk[1].sum()), int(msk[4].sum())], "position": [0, 1],
                                   "n_roi_slices": [4, 4]}


def test_network_input_is_three_channel_imagenet_normalised():
    mean = np.array([0.485, 0.456, 0.406]); std = np.array([0.229, 0.224, 0.225])
    x = np.stack([np.zeros((8, 8)), np.ones((8, 8)), np.full((8, 8), 0.5)]).astype(np.float32)
    t = to_network_input(x).numpy()
    assert t.shape == (3, 3, 8, 8)
    for i, v in enumerate((0.0, 1.0, 0.5)):
        np.testing.assert_allclose(t[i, :, 0, 0], (v - mean) / std, rtol=1e-6)


def test_bad_inputs_name_patient_and_sequence(manifest, tmp_path):
    img, msk = synthetic_volume(0, np.random.default_rng(3))
    with pytest.raises(InputError, match=r"patient 'p9', sequence 'dp'.*no slice"):
        roi_slices_from_arrays(img, np.zeros_like(msk), patient_id="p9", sequence="dp")
    with pytest.raises(InputError, match="shape"):
        roi_slices_from_arrays(img, msk[:, :10], patient_id="p9", sequence="dp")
    with pytest.raises(InputError):
        SliceConfig(image_size=16)
    with pytest.raises(InputError):
        SliceConfig(intensity_percentiles=(90, 10))
    from radnomo.io.manifest import manifest_from_frame

    table = manifest.table.copy()
    table.loc[0, "t2_mask"] = "missing_mask.nii.gz"
    broken = manifest_from_frame(table, root=manifest.root)
    with pytest.raises(InputError, match=r"patient 'p1', sequence 't2': mask file not found: .*missing_mask"):
        load_slice_stack(broken, "p1", "t2", SliceConfig(image_size=32))


def test_load_from_manifest_carries_label(manifest):
    st = load_slice_stack(manifest, "p2", "ap", SliceConfig(image_size=32))
    assert st.label == 1 and st.patient_id == "p2" and st.sequence == "ap"
    assert st.slice_index.tolist() == [1, 2, 3, 4]
