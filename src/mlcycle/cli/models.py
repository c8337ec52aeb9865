"""``mlcycle models``: registered models, aliases and promotion."""

from __future__ import annotations

import typer

app = typer.Typer(help="Registered models: list, promote.", no_args_is_help=True)
