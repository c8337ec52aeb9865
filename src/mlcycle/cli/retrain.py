"""``mlcycle retrain``: retrain on the latest data plus feedback, promote through the gates."""

from __future__ import annotations

import typer

from mlcycle.cli.output import print_json


def retrain(
    if_needed: bool = typer.Option(
        False, "--if-needed", help="Only when a monitoring rule is breached or the data is newer."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train a challenger on the latest dataset plus feedback and promote it if it wins.

    A model imported with ``mlcycle models import`` is retrained by running the MLproject
    the project file names (model.retrain), then imported and gated the same way.
    """
    from mlcycle.cli.views import console, print_retrain, progress
    from mlcycle.loop.retrain import REFUSED
    from mlcycle.loop.retrain import retrain as run_retrain

    out = console(stderr=as_json)
    with progress(out) as reporter:
        result = run_retrain(if_needed=if_needed, reporter=reporter)
    if as_json:
        print_json(result.to_dict())
    else:
        print_retrain(out, result)
    if result.outcome == REFUSED:
        raise typer.Exit(1)
