"""Feature extractors and their registry.

:data:`EXTRACTORS` maps an engine name to ``"module:function"``; the module is
imported only when the engine is used (PyRadiomics and torch are heavy). Every
extractor takes ``(manifest, <engine config>, out_path, *, workers, executor,
progress, ...)`` and writes one Parquet feature table.
"""

from __future__ import annotations

import importlib
from typing import Callable

from radnomo.errors import InputError

#: Explicit registry of feature engines: name -> "module:function".
EXTRACTORS: dict[str, str] = {
    "radiomics": "radnomo.features.radiomics:extract_radiomics",
    "deep": "radnomo.features.deep:extract_deep",
}


def get_extractor(name: str) -> Callable:
    """The extraction function registered as ``name``.

    Raises
    ------
    InputError
        unknown name, or its module is not available.
    """
    if name not in EXTRACTORS:
        raise InputError(f"unknown feature extractor {name!r}; registered: {sorted(EXTRACTORS)}")
    module_name, attr = EXTRACTORS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise InputError(f"feature extractor {name!r} is registered as {EXTRACTORS[name]!r} "
                             "but that module is not installed yet") from exc
        raise
    return getattr(module, attr)
