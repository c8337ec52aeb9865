"""``mlcycle serve``: the prediction API."""

from __future__ import annotations

import typer


def serve() -> None:
    """Serve a registered model over HTTP."""
    raise typer.Exit(1)
