"""Options shared by several commands, defined once."""

from __future__ import annotations

import click

workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Number of parallel worker processes (default: all CPU cores).",
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
