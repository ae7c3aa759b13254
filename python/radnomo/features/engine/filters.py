"""The filtered images the engine computes features on, each cropped to the ROI's bounding box.

:func:`filtered_images` yields them in PyRadiomics' order and with its names: the original image,
PyRadiomics' own generators for most filters, and two faster equivalents that give the same numbers
bit for bit (:func:`log_images`, :func:`wavelet_images`). With a torch back end (``xp``, the GPU path)
those two run on its device (:mod:`.gpu_filters`, the same numbers bit for bit).
"""

from __future__ import annotations

import logging
from typing import Any, Iterator, Mapping

import numpy as np

log = logging.getLogger(__name__)


def filtered_images(image, feature_mask, crop, settings: Mapping[str, Any],
                    image_types: Mapping[str, Mapping[str, Any]], xp=None) -> Iterator[tuple]:
    """``(array, spacing, image type name, settings)`` for every enabled image type, cropped to ``crop``.

    Each image type's settings are ``settings`` updated with its own (``imageType: {LoG: {sigma: ...}}``).
    Lazy: one filtered image is computed at a time, as the caller asks for it (on a torch back end
    ``xp`` the LoG images of all sigmas are computed together, then handed out one by one).
    """
    import SimpleITK as sitk
    from radiomics import imageoperations

    for image_type, custom in image_types.items():
        args = dict(settings)
        args.update(custom)
        if image_type == "Original":
            yield np.array(sitk.GetArrayViewFromImage(image)[crop]), image.GetSpacing(), "original", args
            continue
        if image_type == "Wavelet":
            cropped = wavelet_images(image, crop, args, xp)
            if cropped is not None:
                yield from cropped
                continue
        if image_type == "LoG":
            yield from log_images(image, crop, args, xp)
            continue
        generator = getattr(imageoperations, f"get{image_type}Image")
        for filtered, type_name, kwargs in generator(image, feature_mask, **args):
            # keep only the bounding box of the filtered image (what PyRadiomics' classes see)
            arr = np.array(sitk.GetArrayViewFromImage(filtered)[crop])
            yield arr, filtered.GetSpacing(), type_name, kwargs


def log_images(image, crop, settings: Mapping[str, Any], xp=None):
    """PyRadiomics' LoG images (``getLoGImage``: its checks, warnings, names and order), each computed by
    :func:`.log_filter.laplacian_of_gaussian` (SimpleITK's numbers, bit for bit) and cropped to the box;
    on a torch back end ``xp`` by :func:`.gpu_filters.laplacian_of_gaussian` (the same numbers)."""
    import SimpleITK as sitk

    from radnomo.features.engine.log_filter import laplacian_of_gaussian

    size = np.array(image.GetSize())
    spacing = np.array(image.GetSpacing())
    if np.min(size) < 4:
        log.warning("Image too small to apply LoG filter, size: %s", size)
        return
    arr = sitk.GetArrayViewFromImage(image)
    valid = []
    for sigma in settings.get("sigma", []):
        if not sigma > 0.0:
            log.warning("applyLoG: sigma must be greater than 0.0: %g", sigma)
            continue
        if not np.all(size >= np.ceil(sigma / spacing) + 1):
            log.warning("applyLoG: sigma(%g)/spacing(%s) + 1 must be greater than the size(%s) of the inputImage",
                        sigma, spacing, size)
            continue
        valid.append(sigma)
    on_device = None
    if xp is not None and valid:
        from radnomo.features.engine import gpu_filters

        torch = xp.torch
        batch = gpu_filters.laplacian_of_gaussian(torch, torch.as_tensor(np.array(arr), device=xp.device),
                                                  image.GetSpacing(), [float(s) for s in valid])
        on_device = batch[(slice(None),) + tuple(crop)].cpu().numpy()
        del batch
    for k, sigma in enumerate(valid):
        if on_device is not None:
            filtered = on_device[k]
        else:
            filtered = laplacian_of_gaussian(arr, image.GetSpacing(), float(sigma))[crop]
        yield (np.ascontiguousarray(filtered), image.GetSpacing(),
               "log-sigma-%s-mm-3D" % (str(sigma).replace(".", "-")), settings)


def wavelet_images(image, crop, settings: Mapping[str, Any], xp=None):
    """PyRadiomics' one-level wavelet decompositions, computed on the bounding box plus a margin.

    PyRadiomics (``getWaveletImage``/``_swt3``) pads odd dimensions by one voxel (wrap), runs
    PyWavelets' stationary transform (``swtn``, periodic, one axis after the other) on the whole image
    and then crops each decomposition to the ROI's bounding box. Along an axis, an output voxel depends
    only on the voxels within the filter length, so along every axis where the box plus a margin of
    twice the filter length lies inside the image, only that window is transformed: the same
    arithmetic on the same numbers, bit for bit. Along an axis where the box comes closer to the
    image's edge the whole (padded) axis is kept, because PyWavelets computes the outputs next to the
    edge, where the periodic extension enters, in another order. Returns ``None`` (use PyRadiomics'
    generator) for more than one level or a start level above 0. Same names and order as PyRadiomics.
    On a torch back end ``xp`` the whole padded image is transformed on its device
    (:func:`.gpu_filters.swtn_level1`, PyWavelets' numbers bit for bit).
    """
    import pywt
    import SimpleITK as sitk

    if settings.get("level", 1) != 1 or settings.get("start_level", 0) != 0:
        return None
    wavelet = settings.get("wavelet", "coif1")
    w = wavelet if isinstance(wavelet, pywt.Wavelet) else pywt.Wavelet(wavelet)
    nd = image.GetDimension()
    axes = list(range(nd - 1, -1, -1))
    if settings.get("force2D", False):
        axes.remove(settings.get("force2Ddimension", 0))
    arr = sitk.GetArrayViewFromImage(image)
    if xp is not None:
        return _wavelet_on_device(arr, crop, axes, w, image.GetSpacing(), settings, xp)
    margin = 2 * w.dec_len
    window, pad = [], []
    for d, sl in enumerate(crop):
        n = arr.shape[d]
        lo, hi = sl.start - margin, sl.stop + margin  # [lo, hi)
        if (hi - lo) % 2:
            hi += 1
        if d in axes and (lo < 0 or hi > n):  # whole axis, padded as PyRadiomics pads it
            window.append((0, n))
            pad.append((0, n % 2))
        elif d in axes:
            window.append((lo, hi))
            pad.append((0, 0))
        else:  # not transformed along this axis (force2D): the box itself
            window.append((sl.start, sl.stop))
            pad.append((0, 0))
    data = np.array(arr[tuple(slice(lo, hi) for lo, hi in window)])
    if any(p[1] for p in pad):
        data = np.pad(data, pad, "wrap")
    dec = pywt.swtn(data, w, level=1, start_level=0, axes=tuple(axes))[0]
    inner = tuple(slice(sl.start - lo, sl.stop - lo) for sl, (lo, _) in zip(crop, window))
    spacing = image.GetSpacing()
    approx = "a" * len(axes)

    def gen():
        for name, values in dec.items():
            if name == approx:
                continue
            label = str(name).replace("a", "L").replace("d", "H")
            yield np.ascontiguousarray(values[inner]), spacing, f"wavelet-{label}", settings
        yield np.ascontiguousarray(dec[approx][inner]), spacing, f"wavelet-{'L' * len(axes)}", settings

    return gen()


def _wavelet_on_device(arr, crop, axes, wavelet, spacing, settings, xp):
    """:func:`wavelet_images` on a torch device: the whole image, odd axes padded as PyRadiomics pads them."""
    from radnomo.features.engine import gpu_filters

    torch = xp.torch
    pad = [(0, arr.shape[d] % 2 if d in axes else 0) for d in range(arr.ndim)]
    data = np.array(arr)  # a writable copy (torch refuses read-only arrays)
    if any(p[1] for p in pad):
        data = np.pad(data, pad, "wrap")
    dec = gpu_filters.swtn_level1(torch, torch.as_tensor(data, device=xp.device), wavelet, axes)
    approx = "a" * len(axes)

    def crop_to_host(values):
        return np.ascontiguousarray(values[tuple(crop)].cpu().numpy())

    def gen():
        for name, values in dec.items():
            if name == approx:
                continue
            label = str(name).replace("a", "L").replace("d", "H")
            yield crop_to_host(values), spacing, f"wavelet-{label}", settings
        yield crop_to_host(dec[approx]), spacing, f"wavelet-{'L' * len(axes)}", settings

    return gen()
