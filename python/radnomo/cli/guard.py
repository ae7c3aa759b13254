"""What every command does around its work: one-line errors, checked and locked outputs.

* :class:`RadnomoCommand` (the class of every ``radnomo`` command, through
  :func:`command`) runs the command inside :func:`cli_errors`, the one
  error-to-exit handler: radnomo's own errors and operating-system errors
  (permission denied, no space left, a file where a folder is needed) become a
  one-line ``Error: ...`` and exit status 1 — never a Python traceback.

  Exit status: 0 success; 1 an error of the data, the files or the run (or,
  for per-patient commands, some patients failed); 2 a usage error (a bad or
  missing option or argument, from click).
* :func:`claim_output` checks that an output folder or file can be written
  *before* any work starts, then holds its exclusive lock for the command's
  duration (:mod:`radnomo.io.outputs`), so a second run into the same output
  refuses and names the running one.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from radnomo.errors import RadnomoError


def one_line(text: str) -> str:
    """``text`` on one line (e.g. a YAML parser's multi-line message)."""
    return " ".join(part.strip() for part in str(text).strip().splitlines() if part.strip())


@contextlib.contextmanager
def cli_errors():
    """Re-raise radnomo errors and ``OSError`` as :class:`click.ClickException` (one line, exit 1)."""
    from radnomo.io.outputs import os_error_message

    try:
        yield
    except RadnomoError as exc:
        raise click.ClickException(one_line(str(exc)) or type(exc).__name__) from exc
    except OSError as exc:
        raise click.ClickException(os_error_message(exc, "cannot read or write a file")) from exc
    except MemoryError as exc:
        raise click.ClickException("out of memory; use fewer --workers or a smaller cohort") from exc


class RadnomoCommand(click.Command):
    """A click command whose radnomo and operating-system errors end it with one line and exit status 1."""

    def invoke(self, ctx):
        with cli_errors():
            return super().invoke(ctx)


def command(name: str | None = None, **kwargs):
    """``click.command`` with :class:`RadnomoCommand` (every radnomo command is made with it)."""
    return click.command(name, cls=RadnomoCommand, **kwargs)


@contextlib.contextmanager
def claim_output(path: str | Path, kind: str = "dir", *, extra_dirs=()):
    """Check that ``path`` (a folder, ``kind="dir"``, or a file, ``kind="file"``) and ``extra_dirs``
    can be written, then lock ``path`` until the block ends. Errors are one-line click errors."""
    from radnomo.io.outputs import check_output_dir, check_output_file, output_lock

    with cli_errors():
        for d in extra_dirs:
            if d is not None:
                check_output_dir(d)
        if kind == "dir":
            check_output_dir(path)
        else:
            check_output_file(path)
        stack = contextlib.ExitStack()
        stack.enter_context(output_lock(path, kind))
    with stack:
        yield Path(path)
