"""``mlcycle models``: registered models, aliases and promotion."""

from __future__ import annotations

import re

import typer

from mlcycle.cli.output import print_json

app = typer.Typer(help="Registered models: list versions, promote.", no_args_is_help=True)

_ALIAS = re.compile(r"^[A-Za-z][\w-]*$")


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="Registered model name, e.g. nace."),
    version: int = typer.Option(..., "--version", min=1, help="Version to promote."),
    to: str = typer.Option("production", "--to", help="Alias to point at the version."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Point NAME@TO at a version (promotion gates come with registry governance)."""
    from mlcycle.core.errors import InvalidInput
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.ops import set_alias

    if not _ALIAS.match(to) or to.lower() == "latest":
        raise InvalidInput(f"{to!r} is not a usable alias; use letters, digits, - or _.")
    use_tracking()
    previous = set_alias(name, to, str(version))
    if as_json:
        print_json({"name": name, "alias": to, "version": str(version), "previous": previous})
        return
    was = f" (was version {previous})" if previous else ""
    typer.echo(f"{name}@{to} -> version {version}{was}")


@app.command("list")
def list_models(
    name: str = typer.Argument("nace", help="Registered model name."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """List the versions of a registered model with their aliases."""
    from rich.console import Console
    from rich.table import Table

    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.ops import list_versions

    use_tracking()
    versions = list_versions(name)
    if as_json:
        print_json([v.__dict__ for v in versions])
        return
    table = Table(title=f"Registered model {name}")
    for column in ("version", "aliases", "run"):
        table.add_column(column)
    for v in versions:
        table.add_row(v.version, ", ".join(v.aliases), v.run_id or "")
    Console().print(table)
