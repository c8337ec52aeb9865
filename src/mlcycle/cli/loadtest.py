"""``mlcycle loadtest``: a workload test against a running prediction API."""

from __future__ import annotations

import typer

from mlcycle.cli.output import print_json


def loadtest(
    url: str = typer.Argument(
        ..., help="The server, e.g. http://127.0.0.1:8000 (/predict is added)."
    ),
    concurrency: int = typer.Option(16, "--concurrency", "-c", help="Connections kept busy."),
    duration: float = typer.Option(10.0, "--duration", "-d", help="Seconds to run."),
    batch: int = typer.Option(1, "--batch", "-b", help="Texts per request."),
    k: int = typer.Option(5, "--k", help="Codes asked per text."),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="MLCYCLE_API_KEY", help="API key (or MLCYCLE_API_KEY)."
    ),
    max_requests: int | None = typer.Option(
        None, "--max-requests", help="Stop after this many requests, even before the duration."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Load a prediction API and report throughput, p50/p95/p99 latency and errors.

    Generated activity descriptions are sent as POST /predict on keep-alive
    connections. Run it against a staging server before production.
    """
    from mlcycle.serve.loadtest import run_loadtest

    report = run_loadtest(
        url, concurrency=concurrency, duration=duration, batch=batch, k=k,
        api_key=api_key, max_requests=max_requests,
    )  # fmt: skip
    if as_json:
        print_json(report.to_dict())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report.url}: {report.concurrency} connections, batch {report.batch}")
    for column in ("requests", "ok", "req/s", "texts/s", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right")
    table.add_row(
        f"{report.requests:,}", f"{report.ok:,}", f"{report.requests_per_s:,.0f}",
        f"{report.texts_per_s:,.0f}", f"{report.p50_ms:.2f}", f"{report.p95_ms:.2f}",
        f"{report.p99_ms:.2f}", f"{report.max_ms:.2f}",
    )  # fmt: skip
    console = Console()
    console.print(table)
    if report.errors:
        errors = ", ".join(f"{status}: {count:,}" for status, count in report.errors.items())
        console.print(f"Errors by status: {errors}")
    else:
        console.print(f"No errors in {report.seconds:.1f} s.")
