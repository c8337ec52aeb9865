"""``mlcycle data``: add, list, show and diff dataset versions; generate the synthetic set."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Datasets: add your own file as a validated, versioned dataset; generate the "
    "project's synthetic set.",
    no_args_is_help=True,
)


@app.command("add")
def add(
    location: str = typer.Argument(
        ..., help="CSV or Parquet file: a path, an http(s):// URL or any fsspec URL."
    ),
    name: str = typer.Option(..., "--name", help="Dataset name; versions are NAME@1, NAME@2..."),
    text_col: str | None = typer.Option(
        None, "--text-col", help="Column holding the text (default: the project's text feature)."
    ),
    label_col: str | None = typer.Option(
        None, "--label-col", help="Column holding the label (default: the project's data.target)."
    ),
    on_bad_rows: str | None = typer.Option(
        None,
        "--on-bad-rows",
        help="reject (default: refuse the file), drop (leave bad rows out) or quarantine "
        "(leave them out and store them beside the version for review).",
        show_default=False,
    ),
    delimiter: str | None = typer.Option(
        None, "--delimiter", help="CSV delimiter, when detection guesses wrong (',', ';', tab)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Validate a data file and store it as the next immutable version of a dataset."""
    from mlcycle.cli.data_views import print_add, print_invalid_rows
    from mlcycle.data.ingest import add_dataset
    from mlcycle.data.validate import InvalidRows

    try:
        result = add_dataset(
            location,
            name,
            text_col=text_col,
            label_col=label_col,
            on_bad_rows=on_bad_rows,
            delimiter=delimiter,
        )
    except InvalidRows as exc:
        print_invalid_rows(exc, as_json)
        raise typer.Exit(exc.exit_code) from None
    print_add(result, as_json)


@app.command("list")
def list_datasets(
    name: str | None = typer.Argument(None, help="Only this dataset's versions."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """List the stored dataset versions."""
    from mlcycle.cli.data_views import print_list
    from mlcycle.data.store import check_name, list_versions

    print_list(list_versions(check_name(name) if name else None), as_json)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="Dataset version: NAME@V, NAME@latest or NAME."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Show a version: metadata, validation report, profile and the models trained on it."""
    from mlcycle.cli.data_views import print_show
    from mlcycle.data.store import read_metadata, read_profile, resolve
    from mlcycle.registry.lineage import models_trained_on

    version = resolve(ref)
    print_show(
        version,
        read_metadata(version),
        read_profile(version),
        models_trained_on(version.ref),
        as_json,
    )


@app.command("diff")
def diff(
    a: str = typer.Argument(..., help="Older version, e.g. sales@1."),
    b: str = typer.Argument(..., help="Newer version, e.g. sales@2 or sales@latest."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Rows added and removed, relabelled texts, and label distribution change from A to B."""
    from mlcycle.cli.data_views import print_diff
    from mlcycle.data.diff import diff_versions

    print_diff(diff_versions(a, b), as_json)


@app.command("generate")
def generate(
    rows: int = typer.Option(10_000, "--rows", help="Number of rows to generate (at least 1)."),
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same file."),
    drift: bool = typer.Option(
        False, "--drift", help="Shift the class mix and use new-economy vocabulary."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", help="File to write: .csv or .parquet.", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Generate the project's synthetic set (the flagship's French activity descriptions)."""
    from mlcycle.core.errors import InvalidInput
    from mlcycle.core.settings import get_settings
    from mlcycle.data import writers
    from mlcycle.tasks import task_of

    # Checked here, before any work, so a typo costs nothing; the errors print as one line.
    if rows < 1:
        raise InvalidInput(f"--rows must be at least 1, got {rows}.")
    if seed < 0:
        raise InvalidInput(f"--seed must be 0 or more, got {seed}.")
    writers.dataset_format(output)
    settings = get_settings()
    task = task_of(settings)
    frame = task.synthetic(rows, seed, drift=drift)
    if frame is None:
        raise InvalidInput(
            f"The {task.name} task of this project has no synthetic set; bring your data "
            "with mlcycle data add FILE."
        )
    writers.write_dataset(frame, output)
    classes = int(frame[settings.data.target].nunique())
    if as_json:
        from mlcycle.cli.output import print_json

        print_json({"rows": len(frame), "classes": classes, "drift": drift, "path": str(output)})
        return
    mode = " (drift)" if drift else ""
    typer.echo(f"Wrote {len(frame)} rows, {classes} classes{mode} to {output}.")


@app.command("example")
def example(
    name: str = typer.Argument(..., help="The example: diabetes or quality.", show_default=False),
    output: Path = typer.Option(
        ..., "-o", "--output", help="File to write: .csv or .parquet.", show_default=False
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write the data of a shipped tabular example (made from data scikit-learn bundles)."""
    from mlcycle.data import writers
    from mlcycle.data.examples import example_frame

    writers.dataset_format(output)
    frame = example_frame(name)
    writers.write_dataset(frame, output)
    gaps = int(frame.isna().sum().sum())
    if as_json:
        from mlcycle.cli.output import print_json

        print_json({"rows": len(frame), "columns": list(frame.columns), "path": str(output)})
        return
    typer.echo(
        f"Wrote the {name} example's {len(frame)} rows ({len(frame.columns)} columns, "
        f"{gaps} missing values) to {output}."
    )
