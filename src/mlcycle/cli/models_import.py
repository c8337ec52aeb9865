"""``mlcycle models import``: bring a model trained by your own code into the lifecycle."""

from __future__ import annotations

import typer

from mlcycle.cli.output import print_json


def import_model(
    model_uri: str = typer.Argument(
        ...,
        help="The MLflow model: runs:/<run id>/model, models:/<model id>, models:/NAME/V, "
        "models:/NAME@ALIAS, or a local folder holding an MLmodel file.",
        show_default=False,
    ),
    name: str | None = typer.Option(
        None, "--name", help="Registered model name (default: the project's model.name)."
    ),
    task: str | None = typer.Option(
        None,
        "--task",
        help="text-classification, classification or regression (default: read from the "
        "model's signature).",
    ),
    holdout: str | None = typer.Option(
        None,
        "--holdout",
        help="Dataset version NAME@V of rows the model never trained on: frozen as its "
        "holdout, on which the quality, champion, behaviour and latency gates judge it.",
    ),
    trained_on: str | None = typer.Option(
        None,
        "--trained-on",
        help="Dataset version NAME@V the model was trained on (when stored): its lineage, "
        "and the reference monitoring compares production inputs with.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Register a model trained by your own code: gated, served, logged and monitored."""
    import os

    from mlcycle.registry.imports import import_model as run_import

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    result = run_import(model_uri, name, task, holdout, trained_on=trained_on)
    if as_json:
        print_json(result.to_dict())
        return
    how = "read from its signature" if result.inferred else "as given"
    typer.echo(
        f"Registered {result.name} version {result.version} from {result.source} (task "
        f"{result.task}, {how}; family pyfunc; alias challenger)."
    )
    judged = result.judged_on
    if judged is None:
        typer.echo(
            f"{result.name} version {result.version} has no frozen holdout: the quality, "
            "champion, behaviour and latency gates need one (--holdout NAME@V, rows the "
            "model never trained on)."
        )
    else:
        frozen = f"Froze {result.holdout} as the holdout of dataset {judged['dataset']}. "
        typer.echo(
            f"{frozen if result.holdout else ''}The gates judge {result.name} version "
            f"{result.version} on the holdout of {judged['dataset']} (version "
            f"{judged['version']}, {judged['rows']:,} rows from {judged['source'] or '-'})."
        )
    if not result.described:
        typer.echo(
            f"To promote, serve and retrain it, use a project file that says model: "
            f"{{name: {result.name}, task: {result.task}, family: pyfunc}} and its data."
        )
    typer.echo(
        f"Promote it: mlcycle models promote {result.name} --version {result.version} "
        "--to production"
    )
