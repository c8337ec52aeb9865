"""``mlcycle demo``: the whole loop on generated data."""

from __future__ import annotations

import typer


def demo() -> None:
    """Run the demo."""
    raise typer.Exit(1)
