"""Shared printing helpers: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
from typing import Any

import typer


def print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str))


def parse_assignments(items: list[str]) -> dict[str, str]:
    """``["dim=25", "lr=0.1"]`` -> ``{"dim": "25", "lr": "0.1"}``; refuses ``dim`` alone."""
    from mlcycle.core.errors import InvalidInput

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput(f"Parameter {item!r} must be written NAME=VALUE, e.g. -P dim=25.")
        out[name.strip()] = value.strip()
    return out
