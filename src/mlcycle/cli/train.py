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
        "Default: the latest version of the project's dataset, else 'synthetic'.",
        show_default=False,
    ),
    register: bool = typer.Option(True, "--register/--no-register", help="Register a version."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Train the project's model, log it to MLflow and register a new version."""
    from rich.console import Console

    from mlcycle.train.pipeline import train_model

    overrides = parse_assignments(param)
    console = Console(stderr=as_json)
    with _progress(console) as reporter:
        result = train_model(data, overrides, register=register, reporter=reporter)
    if as_json:
        print_json(result.__dict__)
        return
    _print_result(console, result)


def _progress(console):
    from contextlib import contextmanager

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mlcycle.train.pipeline import Reporter

    @contextmanager
    def live():
        columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Fitting", total=1.0, visible=False)

            def step(message: str) -> None:
                console.print(f"[bold]›[/bold] {message}")
                bar.update(task, visible=message.startswith("Training"))

            yield Reporter(step, lambda f: bar.update(task, completed=f))

    return live()


def _print_result(console, result) -> None:
    from rich.table import Table

    table = Table(title="Evaluation", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in result.metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"Run {result.run_id}; model {result.model_uri}")
    if result.version:
        console.print(
            f"Registered [bold]{result.name}[/bold] version {result.version} (alias challenger). "
            f"Promote it: mlcycle models promote {result.name} --version {result.version} "
            "--to production"
        )
