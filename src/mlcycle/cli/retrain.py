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
    """Train a challenger on the latest dataset plus feedback and promote it if it wins."""
    from rich.console import Console

    from mlcycle.cli.train import _progress
    from mlcycle.loop.retrain import REFUSED
    from mlcycle.loop.retrain import retrain as run_retrain

    console = Console(stderr=as_json)
    with _progress(console) as reporter:
        result = run_retrain(if_needed=if_needed, reporter=reporter)
    if as_json:
        print_json(result.to_dict())
    else:
        print_outcome(console, result)
    if result.outcome == REFUSED:
        raise typer.Exit(1)


def print_outcome(console, result) -> None:
    """What triggered the retrain, what was trained, each promotion and the outcome."""
    from mlcycle.loop.retrain import NOT_NEEDED

    if result.outcome == NOT_NEEDED:
        console.print("No retrain needed: no rule breached and the data is unchanged.")
        return
    for reason in result.decision.reasons or ["asked for (no --if-needed)"]:
        console.print(f"Trigger: {reason}")
    console.print(
        f"Trained version {result.version} on {result.dataset} "
        f"({result.feedback_rows:,} feedback-labelled production texts added)."
    )
    for move in result.promotions:
        failed = [g["name"] for g in move["gates"] if not g["passed"]]
        detail = f" (failed gates: {', '.join(failed)})" if failed else ""
        console.print(f"{move['alias']}: {move['action']}{detail}")
    console.print(f"Retrain outcome: {result.outcome}; MLflow run {result.run_id}.")
