"""``mlcycle init``: write a new project (project file, tests, CI, deploy overlays)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from mlcycle.cli.output import print_json

TASKS = ("text-classification", "classification", "regression")


def init(
    folder: Path = typer.Argument(..., help="Folder of the new project (new or empty)."),
    task: str | None = typer.Option(
        None, "--task", help=f"What the model does: {', '.join(TASKS)}."
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="A CSV or Parquet file: its columns and types go into mlcycle.yaml, "
        "a sample of its rows into tests/data/ (default: data mlcycle makes offline).",
    ),
    name: str | None = typer.Option(
        None, "--name", help="The model's name (default: the folder's)."
    ),
    target: str | None = typer.Option(None, "--target", help="The column to predict."),
    text: str | None = typer.Option(None, "--text", help="The text column (text-classification)."),
    from_model: str | None = typer.Option(
        None,
        "--from-model",
        help="Wrap an MLflow model: runs:/<run id>/model, models:/NAME/V, "
        "models:/NAME@ALIAS or a folder with an MLmodel file (needs --data).",
    ),
    no_input: bool = typer.Option(
        False, "--no-input", help="Ask nothing: flags and defaults only."
    ),
    force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write a project a team can push as is: mlcycle.yaml, MLproject, README, Makefile,
    tests on a committed sample, a CI workflow and the deploy overlays."""
    from mlcycle.loop.scaffold import Answers, init_project

    if not no_input:
        task, target, text = _ask(task, data, target, text, from_model)
    answers = Answers(task, data, name, target, text, from_model, force)
    result = init_project(folder, answers)
    if as_json:
        print_json(result.to_dict())
        return
    typer.echo(
        f"Wrote project {result.name} ({result.task}) into {result.folder}/: "
        f"{len(result.files)} files, a sample of {result.sample_rows} rows from {result.source}."
    )
    typer.echo(f"Next: cd {result.folder} && make test; README.md says what to run.")


def _ask(
    task: str | None, data: Path | None, target: str | None, text: str | None, model: str | None
) -> tuple[str | None, str | None, str | None]:
    """Prompt for what the flags left out and nothing can tell."""
    from mlcycle.loop.scaffold_data import file_columns

    if task is None and model is None:
        task = _choose("Task", TASKS)
    if data is None:
        return task, target, text
    columns = file_columns(data)
    if target is None:
        target = _choose("Column to predict", columns)
    if task == "text-classification" and text is None and "text" not in columns:
        text = _choose("Text column", columns)
    return task, target, text


def _choose(question: str, choices: Sequence[str]) -> str:
    """One of ``choices``, asked until given (end of input aborts)."""
    while True:
        answer = str(typer.prompt(f"{question} ({', '.join(choices)})")).strip()
        if answer in choices:
            return answer
        typer.echo(f"{answer!r} is not one of them.", err=True)
