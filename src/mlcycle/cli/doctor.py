"""``mlcycle doctor``: check the project home and repair what killed processes left."""

from __future__ import annotations

import typer


def doctor(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only report; change nothing (exit 1 if anything is found)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check the project home: permissions, leftover work folders, unfinished dataset adds.

    Repairs what it finds (an add in progress elsewhere is left alone); exits 0 when
    the home is healthy afterwards, 1 when something is left that it could not repair.
    """
    from mlcycle.core.settings import get_settings
    from mlcycle.data.housekeeping import check_home

    result = check_home(get_settings(), repair=not dry_run)
    if as_json:
        from mlcycle.cli.output import print_json

        print_json(result.to_dict())
    else:
        for finding in result.findings:
            mark = "repaired" if finding.repaired else "NOT repaired"
            typer.echo(f"[{mark}] {finding.line()}")
        verdict = "healthy" if result.healthy else "not healthy"
        found = len(result.findings)
        summary = f"{found} problem{'s' if found != 1 else ''} found" if found else "nothing to do"
        typer.echo(f"Project home {result.home}: {verdict} ({summary}).")
    if not result.healthy:
        raise typer.Exit(1)
