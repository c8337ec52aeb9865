"""``mlcycle train``: fit, evaluate, track and register a model."""

from __future__ import annotations

import typer

from mlcycle.cli.output import parse_assignments, print_json


def train(
    param: list[str] = typer.Option(
        [],
        "-P",
        "--param",
        help="Model parameter NAME=VALUE over model.params, repeatable: -P dim=25.",
    ),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Dataset version NAME@V (see mlcycle data list), a CSV or Parquet file with "
        "the project's columns, or 'synthetic' for the generated set (text projects). "
        "Default: the latest version of the dataset data.dataset names in the project "
        "file, else of the dataset added last, else 'synthetic'. Training says which.",
        show_default=False,
    ),
    register: bool = typer.Option(True, "--register/--no-register", help="Register a version."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train the project's model, log it to MLflow and register a new version."""
    from mlcycle.cli.views import console, print_training, progress
    from mlcycle.train.pipeline import train_model

    overrides = parse_assignments(param)
    out = console(stderr=as_json)
    with progress(out) as reporter:
        result = train_model(data, overrides, register=register, reporter=reporter)
    if as_json:
        print_json(result.__dict__)
        return
    print_training(out, result)
