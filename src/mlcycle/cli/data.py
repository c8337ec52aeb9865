"""``mlcycle data``: generate (and later add, list, show, diff) datasets."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Datasets: generate the synthetic NACE set.", no_args_is_help=True)


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
    """Generate the synthetic French NACE activity-description dataset."""
    from mlcycle.core.errors import InvalidInput
    from mlcycle.data import generator

    # Checked here, before any work, so a typo costs nothing; the errors print as one line.
    if rows < 1:
        raise InvalidInput(f"--rows must be at least 1, got {rows}.")
    if seed < 0:
        raise InvalidInput(f"--seed must be 0 or more, got {seed}.")
    generator.dataset_format(output)
    frame = generator.generate(rows, seed, drift=drift)
    generator.write_dataset(frame, output)
    classes = int(frame["nace"].nunique())
    if as_json:
        from mlcycle.cli.output import print_json

        print_json({"rows": len(frame), "classes": classes, "drift": drift, "path": str(output)})
        return
    mode = " (drift)" if drift else ""
    typer.echo(f"Wrote {len(frame)} rows, {classes} classes{mode} to {output}.")
