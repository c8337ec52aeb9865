"""``python -m mlcycle`` runs the CLI."""

from mlcycle.cli.main import run

run()
