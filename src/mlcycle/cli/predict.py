"""``mlcycle predict``: score a whole CSV or Parquet file with a registered model."""

from __future__ import annotations

from pathlib import Path

import typer

from mlcycle.cli.output import print_json


def predict(
    source: str = typer.Argument(
        ..., help="CSV or Parquet file to score: a path or any fsspec URL.", show_default=False
    ),
    output: str = typer.Option(
        ..., "--output", "-o", help="Where to write: .parquet or .csv, a path or an fsspec URL."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="NAME@ALIAS or NAME/VERSION (default: what serve answers)."
    ),
    k: int = typer.Option(5, "--k", min=1, max=100, help="Codes (classes) per row, best first."),
    id_col: str | None = typer.Option(
        None, "--id-col", help="A column to copy into the output (default: the row number)."
    ),
    text_col: str = typer.Option("text", "--text-col", help="The texts' column (text models)."),
    workers: int | None = typer.Option(
        None, "--workers", "-w", min=1, help="Scoring processes (default: one per core)."
    ),
    chunk_rows: int = typer.Option(50_000, "--chunk-rows", min=1, help="Rows scored at a time."),
    fmt: str | None = typer.Option(None, "--format", help="parquet or csv (default: by suffix)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
    delimiter: str | None = typer.Option(None, "--delimiter", help="CSV delimiter (detected)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Score every row of a file; the output appears whole, in input order, or not at all."""
    from mlcycle.cli.views import console, rows_progress
    from mlcycle.core.processes import usable_cores
    from mlcycle.core.settings import get_settings
    from mlcycle.core.tracking import use_tracking
    from mlcycle.data.sources import fetch, public_source
    from mlcycle.registry.loading import load_served_model
    from mlcycle.serve.batch import Job, score_file
    from mlcycle.serve.batch_io import Output, open_input, output_format

    settings = get_settings()
    target = Output(output, output_format(output, fmt), overwrite)  # refused before any work
    out = console(stderr=as_json)
    with fetch(source, settings.home) as local:
        found = open_input(Path(local.path), public_source(source), delimiter)
        use_tracking(settings)
        served = load_served_model(model or settings.served_ref())
        out.print(f"[bold]›[/bold] Scoring with {served.name} version {served.version}")
        job = Job(k, id_col, text_col, workers or usable_cores(), chunk_rows)
        with rows_progress(out) as progress:
            result = score_file(served, found, target, job, progress)
    if as_json:
        print_json(result.to_dict())
        return
    shown = result.to_dict()
    out.print(f"Wrote {result.rows:,} rows to {result.output} in {result.seconds:.1f} s "
              f"({shown['rows_per_second']:,} rows/s, {result.workers} workers).")  # fmt: skip
