"""``mlcycle data``: generate (and later add, list, show, diff) datasets."""

from __future__ import annotations

import typer

app = typer.Typer(help="Datasets: generate the synthetic NACE set.", no_args_is_help=True)
