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


def cpu_model_name() -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (``model name``; ``None`` where absent)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def deep_compute_record(device: str, threads: int | None = None, *, deterministic: bool | None = None) -> dict:
    """What determines deep features computed with torch, recorded with them.

    On a CPU the values are bit-reproducible for the same torch build, number of
    intra-op threads and CPU instruction set (oneDNN/MKL pick kernels by the ISA,
    and the thread count changes how reductions are split: 1 vs 2 threads differ
    by ~4e-7 here). Returns torch and torchvision versions, ``intra_op_threads``
    (``threads`` or torch's current setting), ``cpu_capability``
    (``torch.backends.cpu.get_cpu_capability()``, e.g. ``AVX512``), ``cpu_model``,
    ``mkldnn_enabled`` (oneDNN), ``deterministic_algorithms`` and ``device``
    (with the GPU's name on CUDA).
    """
    import torch

    cap = None
    try:
        cap = torch.backends.cpu.get_cpu_capability()
    except Exception:  # pragma: no cover - very old torch
        pass
    out = {
        "device": device,
        "torch": torch.__version__,
        "torchvision": package_version("torchvision"),
        "intra_op_threads": int(threads) if threads is not None else int(torch.get_num_threads()),
        "cpu_capability": cap,
        "cpu_model": cpu_model_name(),
        "mkldnn_enabled": bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        "deterministic_algorithms": bool(torch.are_deterministic_algorithms_enabled()
                                         if deterministic is None else deterministic),
    }
    if device == "cuda":
        try:
            out["gpu"] = torch.cuda.get_device_name()
            out["cudnn"] = torch.backends.cudnn.version()
        except Exception:  # pragma: no cover - recorded best-effort
            pass
    return out
