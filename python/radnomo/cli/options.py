"""Options and arguments shared by several commands, defined once.

Conventions of every command:

* a command that reads a cohort takes its manifest as the argument ``MANIFEST``
  (:func:`manifest_argument`; the old ``--manifest FILE`` spelling of the deep
  commands still works, hidden and with a deprecation warning);
* ``--workers N`` is a number of worker *processes*; torch's CPU *threads* are
  ``--threads N`` (deep commands; ``deep.threads`` in a study configuration);
* ``--progress/--no-progress`` (``--quiet`` is a hidden synonym of ``--no-progress``).
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import click

workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Number of parallel worker processes (default: all CPU cores).",
)

threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="torch CPU threads inside this process (default: torch's, all cores). On a busy shared CPU 1 is "
         "often faster.",
)

device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Compute device; 'auto' uses a GPU when one is present.",
)

seed_option = click.option(
    "--seed", type=int, default=20250101, show_default=True, help="Random seed."
)

scheduler_option = click.option(
    "--scheduler", metavar="ADDRESS", default=None,
    help="Run the cases on a Dask cluster at this scheduler address (e.g. tcp://10.0.0.5:8786) instead of "
         "local processes; the workers must see the same paths.")


def executor_context(scheduler: str | None):
    """A Dask executor for ``--scheduler``, else nothing (local processes)."""
    if scheduler:
        from radnomo.parallel import dask_executor

        return dask_executor(scheduler)
    return contextlib.nullcontext(None)


_MANIFEST_TYPE = click.Path(exists=True, dir_okay=False, path_type=Path)


def progress_option(f):
    """``--progress/--no-progress`` (default on) plus the hidden synonym ``--quiet``; passes ``progress``."""

    @functools.wraps(f)
    def wrapper(*args, progress=True, quiet=False, **kwargs):
        return f(*args, progress=progress and not quiet, **kwargs)

    wrapper = click.option("--quiet", is_flag=True, hidden=True, help="Same as --no-progress.")(wrapper)
    return click.option("--progress/--no-progress", default=True, show_default=True,
                        help="Show progress bars with counts and ETA.")(wrapper)


def manifest_argument(f=None, *, deprecated_option: bool = False):
    """The cohort manifest as the argument ``MANIFEST`` (CSV or Parquet); passes ``manifest``.

    ``deprecated_option=True`` also accepts the former ``--manifest FILE`` (hidden; warns).
    """
    if f is None:
        return functools.partial(manifest_argument, deprecated_option=deprecated_option)
    if not deprecated_option:
        return click.argument("manifest", type=_MANIFEST_TYPE)(f)

    @functools.wraps(f)
    def wrapper(*args, manifest=None, manifest_option=None, **kwargs):
        if manifest_option is not None:
            if manifest is not None:
                raise click.UsageError("give the manifest once: as the argument MANIFEST (--manifest is its old, "
                                       "deprecated spelling)")
            click.echo("warning: --manifest is deprecated; give the manifest as the argument MANIFEST", err=True)
            manifest = manifest_option
        if manifest is None:
            raise click.UsageError("Missing argument 'MANIFEST'.")
        return f(*args, manifest=manifest, **kwargs)

    wrapper = click.option("--manifest", "manifest_option", type=_MANIFEST_TYPE, default=None, hidden=True,
                           help="Deprecated: give the manifest as the argument MANIFEST.")(wrapper)
    return click.argument("manifest", type=_MANIFEST_TYPE, required=False, metavar="MANIFEST")(wrapper)


def _stage_names() -> tuple[str, ...]:
    """The pipeline's stages in order (imported on first use: the pipeline is heavy for ``--help``)."""
    import importlib

    for module, name in (("radnomo.pipeline.stages", "STAGES"), ("radnomo.pipeline.runner", "STAGES")):
        try:
            stages = getattr(importlib.import_module(module), name, None)
        except ImportError:
            stages = None
        if stages:
            return tuple(stages)
    raise RuntimeError("radnomo.pipeline.stages.STAGES not found")  # pragma: no cover - a broken install


class StageChoice(click.Choice):
    """A choice of the pipeline's stage names, read from the pipeline when first needed."""

    def __init__(self):
        super().__init__((), case_sensitive=True)

    @property
    def choices(self):
        return _stage_names()

    @choices.setter
    def choices(self, value):  # click.Choice.__init__ sets it; the stage list is the pipeline's
        pass


until_option = click.option("--until", type=StageChoice(), default=None,
                            help="Stop after this stage (a disabled stage, e.g. deep with deep.enabled: false, "
                                 "is an error).")
