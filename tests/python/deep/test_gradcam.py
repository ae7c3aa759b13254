"""Grad-CAM: the maths against a closed form, localisation on a synthetic case with a known signal, overlays.

Two independent checks:

1. **Closed form** (random DenseNet-169): with the target layer ``features.norm5``
   (output ``A``), the head is ``s = w . mean_xy relu(A) + b``, so
   ``ds/dA_k(x, y) = w_k 1[A_k(x, y) > 0] / (H W)`` and Grad-CAM is
   ``relu(sum_k alpha_k A_k)`` with ``alpha_k`` the spatial mean of that gradient.
   radnomo's hook-based map must equal this, computed here by hand.
2. **Known signal**: a random DenseNet-169 does not localise anything and training
   one on 2 CPU cores is too slow for a test, so the network is set
   deterministically: every convolution is zero except ``conv0`` (with ``norm0``:
   the local mean intensity above 0.7 into channel 0, a bright-spot detector) and the transitions' 1x1 convolutions (channel 0
   passed on). DenseNet's concatenation then carries the local intensity through
   all four dense blocks, and the pooled feature 0 measures bright spots. The head is fitted on blob vs no-blob slices (difference of class
   means of the pooled features, midpoint threshold). The blob is then the only
   signal that raises the logit, so Grad-CAM on the last dense block must peak
   at the blob (placed off-centre, upper right, to catch flips/transposes) and
   keep its mass inside the ROI.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deep_cohort import synthetic_volume
from radnomo.errors import InputError
from radnomo.explain.gradcam import cam_mass_inside, grad_cam, gradcam_for_patients, save_gradcam_overlay
from radnomo.features.deep_model import build_densenet169, pooled_features
from radnomo.features.slices import IMAGENET_MEAN, IMAGENET_STD, SliceConfig, roi_slices_from_arrays, to_network_input


def test_grad_cam_equals_closed_form_at_norm5(weights_file):
    model, _, _ = build_densenet169(weights_file)
    with torch.no_grad():
        model.classifier.weight.copy_(torch.randn(1, 1664, generator=torch.Generator().manual_seed(1)) * 0.05)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    grads_before = [p.grad for p in model.parameters()]
    cams, logits = grad_cam(model, x, target_layer="features.norm5")
    assert all(g is None for g in grads_before) and all(p.grad is None for p in model.parameters())
    with torch.no_grad():
        a = model.features(x)  # norm5 output, (2, 1664, 2, 2)
        w = model.classifier.weight[0].view(1, -1, 1, 1)
        hw = a.shape[2] * a.shape[3]
        alpha = (w * (a > 0).float() / hw).mean(dim=(2, 3), keepdim=True)
        ref = torch.relu((alpha * a).sum(1, keepdim=True))
        ref = torch.nn.functional.interpolate(ref, size=(64, 64), mode="bilinear", align_corners=False)[:, 0]
        ref = ref / ref.flatten(1).amax(1).view(-1, 1, 1)
        ref_logits = model.classifier(torch.relu(a).mean(dim=(2, 3))).squeeze(1)
    np.testing.assert_allclose(cams, ref.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits, ref_logits.numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(InputError, match="no layer"):
        grad_cam(model, x, target_layer="features.nope")


def _intensity_densenet(weights_file):
    model, _, _ = build_densenet169(weights_file)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.zero_()
        std = torch.tensor(IMAGENET_STD)
        # conv0 channel 0 = local mean over 7x7 and the 3 channels of (v - mean_c), v in [0, 1]
        model.features.conv0.weight[0] = (std / (3 * 49)).view(3, 1, 1)
        # norm0 subtracts 0.7 more: after ReLU, channel 0 = local mean intensity above 0.7 (a bright-spot detector;
        # per-volume percentile scaling puts the blob near 1 and the rest of the ROI mostly below 0.7)
        model.features.norm0.running_mean[0] = -float(np.mean(IMAGENET_MEAN)) + 0.7
        for t in ("transition1", "transition2", "transition3"):
            getattr(model.features, t).conv.weight[0, 0] = 1.0
    return model


def test_grad_cam_localises_known_signal_inside_roi(weights_file):
    rng = np.random.default_rng(5)
    cfg = SliceConfig(image_size=160, margin_fraction=0.5)
    blob = (12, 20)  # (j, i): upper right of the ROI disk centred at (16, 16)

    def slices(label, centre=blob):
        img, msk = synthetic_volume(label, rng, blob_center=centre)
        return roi_slices_from_arrays(img, msk, config=cfg)

    model = _intensity_densenet(weights_file)
    pos = [slices(1, c) for c in ((12, 20), (20, 12), (12, 12), (20, 20))]
    neg = [slices(0) for _ in range(4)]
    with torch.no_grad():
        fp = pooled_features(model, to_network_input(np.concatenate([s.images[1:3] for s in pos])))
        fn = pooled_features(model, to_network_input(np.concatenate([s.images[1:3] for s in neg])))
        w = fp.mean(0) - fn.mean(0)
        model.classifier.weight.copy_(w[None])
        model.classifier.bias.fill_(float(-(w @ (fp.mean(0) + fn.mean(0))) / 2))
    test_pos, test_neg = slices(1), slices(0)
    k = 1  # position of slice 2, the widest
    cams, logits = grad_cam(model, to_network_input(np.stack([test_pos.images[k], test_neg.images[k]])))
    assert logits[0] > 0 > logits[1]  # the fitted head separates blob from no blob
    cam, mask, img = cams[0], test_pos.masks[k], test_pos.images[k]
    assert cam.max() == pytest.approx(1.0) and cam.std() > 0.1  # non-trivial
    roi_fraction = mask.mean()
    inside = cam_mass_inside(cam, mask)
    # mass concentrated in the ROI: the ROI is ~17 % of the field of view and holds > 2.5x that share of the
    # map (the 5 x 5 last-block grid, upsampled bilinearly, blurs the map by about one 32-px cell)
    assert roi_fraction < 0.25 and inside > 2.5 * roi_fraction
    # the blob: brightest 5x5 region of the input; the CAM peak must lie within one 32-px cell of it
    bj, bi = np.unravel_index(np.argmax(img), img.shape)
    pj, pi = np.unravel_index(np.argmax(cam), cam.shape)
    assert np.hypot(pj - bj, pi - bi) <= 160 / 5
    half = 80
    assert cam[:half, half:].mean() > 1.5 * cam[half:, :half].mean()  # upper right vs lower left


def test_overlay_png_and_patient_api(manifest, weights_file, tmp_path):
    rng = np.random.default_rng(0)
    cam = rng.random((64, 64)).astype(np.float32)
    img = rng.random((64, 64)).astype(np.float32)
    mask = np.zeros((64, 64), bool); mask[16:48, 16:48] = True
    png = save_gradcam_overlay(img, cam, mask, tmp_path / "o.png", title="test")
    from matplotlib.image import imread

    pix = imread(png)
    assert pix.ndim == 3 and pix.shape[0] > 300 and pix.shape[1] > 300 and pix[..., :3].std() > 0.05

    table = gradcam_for_patients(manifest, "t2", ["p2", "zz"], tmp_path / "cams", weights=str(weights_file),
                                 slices="all", slice_config=SliceConfig(image_size=64), device="cpu",
                                 progress=False)
    ok = table[table["png"].notna()]
    assert ok["slice_index"].tolist() == [1, 2, 3, 4]
    assert all((tmp_path / "cams" / f"t2_p2_k{k:03d}.png").exists() for k in (1, 2, 3, 4))
    assert ok["probability"].between(0, 1).all()
    bad = table[table["png"].isna()]
    assert bad["patient_id"].tolist() == ["zz"] and "not in the manifest" in bad["error"].iloc[0]
    with pytest.raises(InputError, match="slice 0 is not an ROI slice"):
        from radnomo.explain.gradcam import _pick
        from radnomo.features.slices import load_slice_stack

        _pick(load_slice_stack(manifest, "p1", "t2", SliceConfig(image_size=32)), [0])
