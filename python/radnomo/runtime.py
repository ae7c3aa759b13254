"""Run-time helpers shared by the engines: compute device, worker count, versions."""

from __future__ import annotations

import importlib
import os
import platform
import sys

from radnomo.errors import InputError


def resolve_device(device: str = "auto") -> str:
    """Return ``"cuda"`` or ``"cpu"``.

    ``auto`` picks CUDA when torch sees a GPU; ``cuda`` without a GPU is an error.
    """
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"device must be 'auto', 'cpu' or 'cuda', not {device!r}")
    if device == "cpu":
        return "cpu"
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if device == "cuda" and not has_cuda:
        raise InputError("--device cuda was requested but no CUDA GPU is available (use --device auto or cpu)")
    return "cuda" if has_cuda else "cpu"


def default_workers() -> int:
    """All cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def package_version(name: str) -> str | None:
    """Installed version of a Python distribution/module, or ``None``."""
    from importlib import metadata

    for dist in (name, name.replace("_", "-")):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    try:
        mod = importlib.import_module(name)
        return getattr(mod, "__version__", "unknown")
    except Exception:
        return None


def software_versions() -> dict[str, str | None]:
    """Versions recorded in feature-table metadata and run records."""
    from radnomo import __version__

    out = {"radnomo": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("numpy", "pandas", "pyarrow", "SimpleITK", "torch", "torchvision"):
        out[name] = package_version(name)
    out["pyradiomics"] = package_version("pyradiomics-bhklab") or package_version("pyradiomics")
    return out
