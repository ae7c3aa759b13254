"""Grad-CAM for the DenseNet-169 deep models.

Grad-CAM (Selvaraju et al., ICCV 2017): for a target layer with activations
``A_k(x, y)`` and the model's output logit ``s``, the channel weights are the
spatial means of the gradients, ``alpha_k = mean_xy ds/dA_k(x, y)``, and the map
is ``ReLU(sum_k alpha_k A_k)``, upsampled (bilinear) to the input size and
scaled to [0, 1] per slice (a map that is zero everywhere stays zero). The
default target layer is the output of the last dense block,
``features.denseblock4`` (7 x 7 for 224-px inputs), as in the reference
study's Figure 8. Implemented with a forward hook and ``torch.autograd.grad``,
so the model's parameters and their ``.grad`` are left untouched.

Overlays (:func:`save_gradcam_overlay`) show the slice the network saw in
grey, the heatmap (jet colour map, semi-transparent) on top, and the ROI
contour.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from radnomo.errors import InputError

DEFAULT_TARGET_LAYER = "features.denseblock4"


def grad_cam(model, x, *, target_layer: str = DEFAULT_TARGET_LAYER, target: str = "positive"):
    """Grad-CAM maps of a batch.

    Parameters
    ----------
    model : DenseNet-169 with a one-logit head (:func:`radnomo.features.deep_model.build_densenet169`).
    x : ``(n, 3, S, S)`` network input (ImageNet-normalised), on the model's device.
    target_layer : name of the module whose output is explained.
    target : ``"positive"`` explains the logit (evidence for label 1), ``"negative"`` its negative.

    Returns
    -------
    (cams, logits) : ``cams`` ``(n, S, S)`` float32 in [0, 1]; ``logits`` ``(n,)``.
    """
    import torch
    import torch.nn.functional as F

    from radnomo.features.deep_model import model_logits

    if target not in ("positive", "negative"):
        raise InputError(f"target must be 'positive' or 'negative', not {target!r}")
    try:
        layer = model.get_submodule(target_layer)
    except AttributeError as exc:
        raise InputError(f"the model has no layer {target_layer!r} (e.g. 'features.denseblock4', 'features.norm5')") from exc
    store = {}

    def hook(_module, _inp, output):
        store["a"] = output

    handle = layer.register_forward_hook(hook)
    model.eval()
    try:
        with torch.enable_grad():
            logits = model_logits(model, x)
            score = logits.sum() if target == "positive" else -logits.sum()
            acts = store["a"]
            (grads,) = torch.autograd.grad(score, acts)
    finally:
        handle.remove()
    alpha = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((alpha * acts).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    cam = torch.where(peak > 1e-12, cam / peak, torch.zeros_like(cam))
    return cam.float().cpu().numpy(), logits.detach().float().cpu().numpy()


def cam_mass_inside(cam: np.ndarray, mask: np.ndarray) -> float:
    """Fraction of a map's total mass that lies inside ``mask`` (NaN for an all-zero map)."""
    cam = np.asarray(cam, dtype=float)
    tot = cam.sum()
    return float(cam[np.asarray(mask, bool)].sum() / tot) if tot > 0 else float("nan")


def save_gradcam_overlay(image: np.ndarray, cam: np.ndarray, mask: np.ndarray | None, path: str | os.PathLike, *,
                         title: str | None = None, alpha: float = 0.45, dpi: int = 120) -> Path:
    """Write a PNG: slice in grey, Grad-CAM heatmap (jet, ``alpha``) over it, ROI contour in lime.

    ``image`` is in [0, 1] (the network's view of the slice), ``cam`` in [0, 1].
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from radnomo.io.atomic import atomic_path

    fig = Figure(figsize=(4.6, 4.0), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(image, cmap="gray", vmin=0.0, vmax=1.0, interpolation="bilinear")
    cam = np.asarray(cam, dtype=float)
    empty = not np.isfinite(cam).any() or np.nanmax(cam) <= 0
    # near-zero heat is left transparent so the anatomy under it stays readable
    shown = np.ma.masked_less(np.nan_to_num(cam), 0.05)
    im = ax.imshow(shown, cmap="jet", alpha=alpha, vmin=0.0, vmax=1.0, interpolation="bilinear")
    if empty:
        ax.text(0.5, 0.03, "Grad-CAM is zero on this slice:\nno region raises the predicted risk",
                transform=ax.transAxes, ha="center", va="bottom", fontsize=8, color="white",
                bbox=dict(facecolor="black", alpha=0.6, edgecolor="none"))
    if mask is not None and np.asarray(mask).any() and not np.asarray(mask).all():
        ax.contour(np.asarray(mask, float), levels=[0.5], colors="lime", linewidths=1.2)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    cb = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label("Grad-CAM (scaled to max 1)", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def gradcam_title(patient_id: str, sequence: str, slice_index: int, probability: float, *,
                  sequence_label: str | None = None, event_label: str | None = None) -> str:
    """An overlay's title: ``"P0002 · PVP · slice 22 · p(Recurrence ≤ 6 months) = 0.08"`` with the
    study's display labels (``labels.sequences`` and ``labels.outcome.event`` of the configuration),
    ``"P0002 · pvp · slice 22 · p(label 1) = 0.08"`` without them."""
    seq = sequence_label or sequence
    event = event_label or "label 1"
    return f"{patient_id} · {seq} · slice {int(slice_index)} · p({event}) = {probability:.2f}"


def _pick(stack, slices) -> list[int]:
    """Positions in the stack for ``slices``: "largest", "all", or original slice indices k."""
    if isinstance(slices, str):
        if slices == "largest":
            return [int(np.argmax(stack.roi_voxels))]
        if slices == "all":
            return list(range(len(stack)))
        raise InputError(f"slices must be 'largest', 'all' or a list of slice indices, not {slices!r}")
    pos = []
    for k in slices:
        hit = np.flatnonzero(stack.slice_index == int(k))
        if hit.size == 0:
            raise InputError(f"patient {stack.patient_id!r}, sequence {stack.sequence!r}: slice {k} is not an ROI slice "
                             f"(ROI slices used: {stack.slice_index.tolist()})")
        pos.append(int(hit[0]))
    return pos


def gradcam_for_patients(
    manifest,
    sequence: str,
    patients: Sequence[str],
    out_dir: str | os.PathLike,
    *,
    model_dir: str | os.PathLike | None = None,
    weights: str = "imagenet",
    slices: str | Sequence[int] = "largest",
    slice_config=None,
    target_layer: str = DEFAULT_TARGET_LAYER,
    device: str = "auto",
    progress: bool = True,
    sequence_label: str | None = None,
    event_label: str | None = None,
) -> pd.DataFrame:
    """Grad-CAM overlays for chosen patients and slices of one sequence.

    Parameters
    ----------
    manifest, sequence : where the slices come from.
    patients : patient ids.
    out_dir : PNGs are written as ``<out_dir>/<sequence>_<patient>_k<slice>.png``.
    model_dir, weights : the model, as in :func:`radnomo.features.deep.extract_deep_features`.
    slices : ``"largest"`` (the slice with most ROI, default), ``"all"`` or original slice indices ``k``.
    slice_config : :class:`~radnomo.features.slices.SliceConfig`; ``None``: the fine-tuned model's.
    target_layer, device : see :func:`grad_cam`.
    sequence_label, event_label : display names of the sequence and of the outcome's event for the
        overlays' titles (:func:`gradcam_title`; default the raw sequence name and "label 1").

    Returns
    -------
    DataFrame, one row per overlay (``patient_id, sequence, slice_index, probability,
    cam_inside_roi, png``) or per failed patient (``error``); failures do not stop the others.
    """
    from tqdm.auto import tqdm

    from radnomo.features.deep import _slice_kwargs, load_sequence_model
    from radnomo.features.slices import SliceConfig, load_slice_stack
    from radnomo.runtime import resolve_device

    dev = resolve_device(device)
    if sequence not in manifest.sequences:
        raise InputError(f"sequence {sequence!r} is not in the manifest; it has {list(manifest.sequences)}")
    model, _info, record = load_sequence_model(sequence, model_dir=model_dir, weights=weights)
    model.to(dev)
    if slice_config is None:
        slice_config = SliceConfig(**_slice_kwargs(record["train_config"]["slices"])) if record else SliceConfig()
    out_dir = Path(out_dir)
    rows = []
    for pid in tqdm([str(p) for p in patients], desc=f"grad-cam {sequence}", disable=not progress):
        try:
            stack = load_slice_stack(manifest, pid, sequence, slice_config)
            pos = _pick(stack, slices)
        except InputError as exc:
            rows.append({"patient_id": pid, "sequence": sequence, "error": str(exc)})
            continue
        rows.extend(_overlays(model, pid, sequence, stack, pos, out_dir, device=dev, target_layer=target_layer,
                              sequence_label=sequence_label, event_label=event_label))
    return pd.DataFrame(rows)


def _overlays(model, pid: str, sequence: str, stack, pos: list[int], out_dir: Path, *, device: str,
              target_layer: str, sequence_label: str | None = None, event_label: str | None = None) -> list[dict]:
    """Grad-CAM of the slices at positions ``pos`` of one patient's ``stack``: a PNG each, and its row."""
    import torch

    from radnomo.features.slices import to_network_input

    x = to_network_input(torch.from_numpy(stack.images[pos])).to(device)
    cams, logits = grad_cam(model, x, target_layer=target_layer)
    rows = []
    for j, p in enumerate(pos):
        k = int(stack.slice_index[p])
        prob = float(1.0 / (1.0 + np.exp(-logits[j])))
        png = out_dir / f"{sequence}_{_file_part(pid)}_k{k:03d}.png"
        save_gradcam_overlay(stack.images[p], cams[j], stack.masks[p], png,
                             title=gradcam_title(pid, sequence, k, prob, sequence_label=sequence_label,
                                                 event_label=event_label))
        rows.append({"patient_id": pid, "sequence": sequence, "slice_index": k, "probability": prob,
                     "cam_inside_roi": cam_mass_inside(cams[j], stack.masks[p]), "png": str(png)})
    return rows


def _file_part(pid: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", pid)
