"""Quality-control mosaics: each phase at three axial levels of the ROI, with its contour."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
import SimpleITK as sitk

from radnomo.io.atomic import atomic_path


def roi_slices(mask: sitk.Image, n: int = 3) -> list[int]:
    """``n`` axial slice indices spread over the ROI (25/50/75 % of its z extent for n=3)."""
    arr = sitk.GetArrayViewFromImage(mask)
    zs = np.nonzero(arr.reshape(arr.shape[0], -1).any(axis=1))[0]
    if zs.size == 0:
        return [arr.shape[0] // 2] * n
    qs = np.linspace(0.25, 0.75, n) if n > 1 else [0.5]
    return [int(zs[min(len(zs) - 1, int(round(q * (len(zs) - 1))))]) for q in qs]


def qc_mosaic(images: Mapping[str, sitk.Image], masks: Mapping[str, sitk.Image], path: str | Path, *,
              title: str = "", notes: Mapping[str, str] | None = None) -> Path:
    """Write a PNG: one row per phase, three axial slices, ROI contour in red.

    Grey levels are windowed to the 1st–99th percentile of each phase.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    seqs = list(images)
    first_mask = masks[seqs[0]]
    zs = roi_slices(first_mask)
    fig = Figure(figsize=(3 * len(zs), 3 * len(seqs) + 0.6), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(seqs), len(zs), squeeze=False)
    for r, seq in enumerate(seqs):
        arr = sitk.GetArrayViewFromImage(images[seq])
        marr = sitk.GetArrayViewFromImage(masks[seq])
        lo, hi = np.percentile(arr, [1, 99])
        sp = images[seq].GetSpacing()
        for c, z in enumerate(zs):
            ax = axes[r][c]
            ax.imshow(arr[z], cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest",
                      aspect=sp[1] / sp[0])
            if marr[z].any() and marr[z].min() != marr[z].max():
                ax.contour(marr[z] > 0, levels=[0.5], colors="red", linewidths=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            label = f"{seq}  z={z}"
            if notes and seq in notes and c == 0:
                label += f"\n{notes[seq]}"
            ax.set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
