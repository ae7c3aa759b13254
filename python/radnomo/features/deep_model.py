"""DenseNet-169 for the deep-learning engine: building, weights, pooled features.

The network is torchvision's DenseNet-169 with its 1000-class ImageNet head
replaced by one logit (probability of the positive label through a sigmoid).
Its deep features are the **final pooling layer**: ``features`` (ending with
``norm5``) -> ReLU -> global average pool -> 1664 values per slice, exactly
torchvision's ``DenseNet.forward`` before the classifier.

Weights (``weights=``):

* ``"imagenet"``: torchvision's weights API,
  ``densenet169(weights=DenseNet169_Weights.IMAGENET1K_V1)``, which reads
  ``$TORCH_HOME/hub/checkpoints/densenet169-b2777c0a.pth`` if present (and
  downloads it where the network allows); when it cannot be had, a
  :class:`~radnomo.errors.MissingDependencyError` says how to provide it;
* ``"none"``: random initialisation (seeded), recorded as such;
* a file path: a torchvision-style DenseNet-169 ``state_dict`` saved with
  ``torch.save`` (old-style ``norm.1`` keys, as in torchvision's own file, are
  renamed the way torchvision does) or a model written by
  :func:`save_finetuned_model` (``radnomo train-deep``'s ``model.pt``).
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from radnomo.errors import InputError, MissingDependencyError
from radnomo.io.atomic import atomic_path, file_sha256

#: Length of DenseNet-169's pooled feature vector (its final norm5 has 1664 channels).
FEATURE_DIM = 1664
#: Human-readable name of the layer the features come from (recorded in metadata).
FEATURE_LAYER = "features.norm5 -> ReLU -> global average pool (torchvision DenseNet.forward before classifier)"
#: File name of torchvision's ImageNet DenseNet-169 weights (DenseNet169_Weights.IMAGENET1K_V1).
IMAGENET_FILENAME = "densenet169-b2777c0a.pth"
FINETUNED_FORMAT = "radnomo-densenet169-finetuned-v1"

# torchvision's original DenseNet checkpoints name layers "norm.1", "conv.2", ...;
# the current module names are "norm1", "conv2": drop the dot as torchvision does.
_OLD_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


@dataclass(frozen=True)
class WeightsInfo:
    """Where a model's weights came from (recorded in every output).

    source : ``"imagenet"``, ``"none"`` (random initialisation) or ``"file"``.
    path : the file read (``None`` for ``"none"``).
    sha256 : SHA-256 of that file (``None`` for ``"none"``).
    finetuned : whether the file is a radnomo fine-tuned model.
    """

    source: str
    path: str | None = None
    sha256: str | None = None
    finetuned: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def imagenet_weights_path() -> Path:
    """Where torchvision's weights API looks for the ImageNet file (``$TORCH_HOME/hub/checkpoints``)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / IMAGENET_FILENAME


def _missing_weights_message(detail: str) -> str:
    return (
        "ImageNet weights for DenseNet-169 are not available "
        f"({detail}). Provide them in one of these ways: put '{IMAGENET_FILENAME}' "
        f"(from https://download.pytorch.org/models/{IMAGENET_FILENAME}) into '{imagenet_weights_path().parent}' "
        "(that is $TORCH_HOME/hub/checkpoints/), or pass --weights FILE (weights='path/to/file.pth'), "
        "or train from random initialisation with --weights none."
    )


def remap_legacy_keys(state_dict: dict) -> dict:
    """Rename old-style DenseNet keys (``...denselayer1.norm.1.weight`` -> ``...denselayer1.norm1.weight``)."""
    out = {}
    for key, value in state_dict.items():
        m = _OLD_KEY.match(key)
        out[m.group(1) + m.group(2) if m else key] = value
    return out


def _new_densenet(seed: int, meta: bool = False):
    """torchvision DenseNet-169, randomly initialised from ``seed`` (``meta``: no storage, to be assigned)."""
    import torch
    import torchvision

    if meta:
        with torch.device("meta"):
            return torchvision.models.densenet169(weights=None)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return torchvision.models.densenet169(weights=None)


def _replace_head(model, seed: int, meta: bool = False) -> None:
    """Replace the ImageNet head by one logit, initialised from ``seed + 1``."""
    import torch
    from torch import nn

    if meta:
        with torch.device("meta"):
            model.classifier = nn.Linear(model.classifier.in_features, 1)
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        model.classifier = nn.Linear(model.classifier.in_features, 1)


def _read_state(path: Path) -> dict:
    import torch

    if not path.is_file():
        raise InputError(f"weights file not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(f"weights file {path} could not be read by torch.load: {exc}") from exc
    if not isinstance(obj, dict):
        raise InputError(f"weights file {path} does not hold a state_dict (got {type(obj).__name__})")
    return obj


def build_densenet169(weights: str | os.PathLike = "imagenet", *, seed: int = 0):
    """Build DenseNet-169 with a one-logit head and load ``weights``.

    Parameters
    ----------
    weights : ``"imagenet"``, ``"none"`` or a path (see the module docstring).
    seed : seeds the random initialisation (the new head; all layers for ``"none"``)
        without touching the global RNG.

    Returns
    -------
    (model, WeightsInfo, extra) : the model on the CPU in eval mode; ``extra`` holds
        a fine-tuned file's training record (empty otherwise).

    Raises
    ------
    MissingDependencyError : ImageNet weights requested but unavailable.
    InputError : a weights file is missing, unreadable or not DenseNet-169.
    """
    extra: dict[str, Any] = {}
    if isinstance(weights, str) and weights == "none":
        model = _new_densenet(seed)
        _replace_head(model, seed)
        info = WeightsInfo(source="none")
    elif isinstance(weights, str) and weights == "imagenet":
        model, info = _imagenet_model()
        _replace_head(model, seed)
    else:
        path = Path(weights)
        state = _read_state(path)
        model = _new_densenet(seed, meta=True)  # every tensor comes from the file: skip the random init
        finetuned = state.get("format") == FINETUNED_FORMAT
        if finetuned:
            extra = {k: v for k, v in state.items() if k != "state_dict"}
            state = state["state_dict"]
        state = remap_legacy_keys(state)
        head = state.get("classifier.weight")
        if head is not None and tuple(head.shape) == (1, FEATURE_DIM):
            _replace_head(model, seed, meta=True)
            finetuned = True
        try:
            model.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as exc:
            raise InputError(f"weights file {path} is not a torchvision DenseNet-169 state_dict: {str(exc)[:600]}") from exc
        if model.classifier.out_features != 1:
            _replace_head(model, seed)
        info = WeightsInfo(source="file", path=str(path), sha256=file_sha256(path), finetuned=finetuned)
    model.eval()
    return model, info, extra


def weights_info(weights: str | os.PathLike = "imagenet") -> WeightsInfo:
    """The :class:`WeightsInfo` of ``weights`` without building a model (hashes the file)."""
    if isinstance(weights, str) and weights == "none":
        return WeightsInfo(source="none")
    if isinstance(weights, str) and weights == "imagenet":
        cache = imagenet_weights_path()
        return WeightsInfo(source="imagenet", path=str(cache), sha256=file_sha256(cache) if cache.exists() else None)
    path = Path(weights)
    if not path.is_file():
        raise InputError(f"weights file not found: {path}")
    return WeightsInfo(source="file", path=str(path), sha256=file_sha256(path))


def _imagenet_model():
    """torchvision's weights API (reads the TORCH_HOME cache; downloads where possible)."""
    import torchvision
    from torchvision.models import DenseNet169_Weights

    cache = imagenet_weights_path()
    try:
        model = torchvision.models.densenet169(weights=DenseNet169_Weights.IMAGENET1K_V1)
    except Exception as exc:  # URLError, OSError, hash mismatch, corrupt file
        detail = f"{type(exc).__name__}: {exc}"
        if cache.exists():
            detail = f"the file {cache} exists but could not be loaded: {detail}"
        raise MissingDependencyError(_missing_weights_message(detail)) from exc
    return model, WeightsInfo(source="imagenet", path=str(cache), sha256=file_sha256(cache) if cache.exists() else None)


def save_finetuned_model(model, path: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write a fine-tuned model (state_dict + JSON-like ``record``) atomically; loadable by :func:`build_densenet169`."""
    import torch

    payload = dict(record)
    payload["format"] = FINETUNED_FORMAT
    payload["state_dict"] = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    # through a file object: torch names the archive's folder after a *path* (here the random temporary
    # name), which would make two identical models differ byte for byte; a file object gives "archive/"
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(payload, fh)
    return Path(path)


def pooled_features(model, x):
    """The final pooling layer: ``relu(features(x))`` averaged over space -> ``(n, 1664)``."""
    import torch.nn.functional as F

    f = F.relu(model.features(x))
    return F.adaptive_avg_pool2d(f, 1).flatten(1)


def model_logits(model, x):
    """One logit per input, ``(n,)`` (sigmoid -> probability of label 1)."""
    return model.classifier(pooled_features(model, x)).squeeze(1)
