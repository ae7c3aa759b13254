"""The ``radnomo`` command line.

Commands are thin wrappers over the Python API. Each command (or command
group) lives in its own module and is registered in :data:`COMMANDS` as
``"name": "module:attribute"``; modules are imported only when their command
runs, so ``radnomo --help`` stays fast (torch and PyRadiomics are heavy).

Every command is a :class:`radnomo.cli.guard.RadnomoCommand` (one error-to-exit
handler: exit 1 with a one-line message for radnomo's and the operating
system's errors, 2 for usage errors); the shared options and the conventions
(``MANIFEST`` argument, ``--workers`` = processes, ``--threads`` = torch
threads) are in :mod:`radnomo.cli.options`.
"""

from __future__ import annotations

import importlib
import logging

import click

from radnomo import __version__
from radnomo.cli.guard import RadnomoCommand

#: Explicit registry of sub-commands: name -> "module:attribute".
COMMANDS: dict[str, str] = {
    "train-deep": "radnomo.cli.deep:train_deep",
    "gradcam": "radnomo.cli.deep:gradcam",
    "doctor": "radnomo.cli.doctor:doctor",
    "preprocess": "radnomo.cli.preprocess:preprocess",
    "extract": "radnomo.cli.extract:extract",
    "synth": "radnomo.cli.synth:synth",
    "run": "radnomo.cli.run:run",
    "demo": "radnomo.cli.run:demo",
    "predict": "radnomo.cli.run:predict",
    "evaluate": "radnomo.cli.run:evaluate",
    "report": "radnomo.cli.run:report",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use (its own commands are RadnomoCommands)."""

    command_class = RadnomoCommand

    def __init__(self, *args, lazy_commands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx, cmd_name):
        if cmd_name in self.lazy_commands:
            module_name, attr = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


class _EchoWarnings(logging.Handler):
    """radnomo's logged warnings on the command's stderr as ``warning: ...`` (one line each)."""

    def emit(self, record):
        try:
            click.echo(f"warning: {record.getMessage()}", err=True)
        except Exception:  # pragma: no cover - a closed stream
            self.handleError(record)


def show_warnings() -> None:
    """Send warnings of the ``radnomo`` loggers to stderr through click (installed once)."""
    log = logging.getLogger("radnomo")
    if not any(isinstance(h, _EchoWarnings) for h in log.handlers):
        handler = _EchoWarnings(level=logging.WARNING)
        log.addHandler(handler)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.version_option(__version__, prog_name="radnomo")
def main():
    """radnomo: radiomics + deep-learning + clinical nomograms from multi-phase MRI.

    Typical study: `radnomo synth` (or your own manifest) -> `radnomo preprocess`
    -> `radnomo extract radiomics|deep` -> `radnomo run CONFIG.yaml`.
    """
    show_warnings()
