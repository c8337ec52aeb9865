"""``mlcycle monitor``: report, check and dashboard over the prediction log and feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

from mlcycle.cli.output import print_json

app = typer.Typer(help="Monitor the served model: drift, live accuracy, alerts.")

SINCE = typer.Option(None, "--since", help="Window up to now: 90m, 12h, 7d (monitor.window).")
FROM = typer.Option(None, "--from", help="Window start, ISO date or time (UTC unless given).")
TO = typer.Option(None, "--to", help="Window end, ISO date or time (default: now).")


def _moment(text: str, flag: str) -> datetime:
    from mlcycle.core.errors import InvalidInput

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{flag} {text!r} is not a date or time; write e.g. 2024-05-06 or 2024-05-06T12:00."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def window_bounds(
    since: str | None, start: str | None, end: str | None, default: str
) -> tuple[datetime, datetime]:
    """The [start, end) a command covers: ``--since`` or ``--from``/``--to``."""
    from mlcycle.core.errors import InvalidInput
    from mlcycle.core.settings.monitor import duration_seconds

    if since and (start or end):
        raise InvalidInput("Give either --since or --from/--to, not both.")
    stop = _moment(end, "--to") if end else datetime.now(UTC)
    if start:
        begin = _moment(start, "--from")
    else:
        try:
            begin = stop - timedelta(seconds=duration_seconds(since or default))
        except ValueError as exc:
            raise InvalidInput(f"--since: {exc}.") from None
    if begin >= stop:
        raise InvalidInput("The window is empty: --from must be before --to.")
    return begin, stop


@app.command("report")
def report(
    since: str | None = SINCE,
    start: str | None = FROM,
    end: str | None = TO,
    output: Path = typer.Option(Path("monitoring-report.html"), "-o", "--output"),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Write one self-contained HTML report of a window (plots, drift, accuracy)."""
    from mlcycle.core.settings import get_settings
    from mlcycle.monitor.report import make_report

    settings = get_settings()
    begin, stop = window_bounds(since, start, end, settings.monitor.window)
    summary = make_report(settings, begin, stop, output)
    if json_out:
        print_json(summary)
        return
    typer.echo(f"Report of {summary['window']['start']} to {summary['window']['end']}: {output}")
    typer.echo(f"{summary['volume']['predictions']:,} predictions.")
    for note in summary["notes"]:
        typer.echo(f"Note: {note}")


@app.command("check")
def check(
    since: str | None = SINCE,
    start: str | None = FROM,
    end: str | None = TO,
    json_out: bool = typer.Option(False, "--json", help="Print the verdicts as JSON."),
) -> None:
    """Evaluate the alert rules; exit 1 and notify the webhooks when one is breached."""
    from mlcycle.core.settings import get_settings
    from mlcycle.monitor.rules import run_check

    settings = get_settings()
    begin, stop = window_bounds(since, start, end, settings.monitor.window)
    result = run_check(settings, begin, stop)
    if json_out:
        print_json(result.to_dict())
    else:
        for rule in result.results:
            typer.echo(f"{rule.status.upper():9} {rule.rule}: {rule.message}")
        for delivery in result.deliveries:
            state = "sent" if delivery["delivered"] else "FAILED"
            typer.echo(f"Alert {state} to {delivery['url']} ({delivery['status']})")
        if result.breached:
            names = ", ".join(r.rule for r in result.breached)
            typer.echo(f"Breached: {names}.", err=True)
    raise typer.Exit(result.exit_code)


@app.command("compare")
def compare(
    since: str | None = SINCE,
    start: str | None = FROM,
    end: str | None = TO,
    json_out: bool = typer.Option(False, "--json", help="Print every figure as JSON."),
) -> None:
    """Champion vs challenger on shadow or canary traffic: agreement, live quality."""
    from mlcycle.cli.views import console
    from mlcycle.core.settings import get_settings
    from mlcycle.monitor.compare import compare_window

    settings = get_settings()
    begin, stop = window_bounds(since, start, end, settings.monitor.window)
    result = compare_window(settings, begin, stop)
    figures = result.to_dict()
    if json_out:
        print_json(figures)
        return
    out = console()
    out.print(f"{figures['window']['start']} to {figures['window']['end']}.")
    for c in figures["comparisons"]:
        _print_comparison(out, c, f"{result.confidence:.0%}")


def _print_comparison(out: Any, c: dict[str, Any], level: str) -> None:
    """One comparison: who against whom, agreement, the metrics' table, the test used."""
    from rich import box
    from rich.table import Table

    from mlcycle.monitor.compare import table_rows

    rows, labelled = c["rows"], c["labelled"]
    out.print(
        f"\n{c['mode'].capitalize()}: version {c['champion_version']} (champion, "
        f"{rows['champion']:,} rows, {labelled['champion']:,} labelled) vs "
        f"{c['challenger_version']} (challenger, {rows['challenger']:,} rows, "
        f"{labelled['challenger']:,} labelled)"
    )
    agreement = c.get("agreement") or {}
    if rate := agreement.get("rate"):
        out.print(f"Agreement: {rate['value']:.1%} [{rate['low']:.1%}, {rate['high']:.1%}]")
    pairs = [f"{d['champion']} -> {d['challenger']} ({d['count']:,})"
             for d in agreement.get("disagreements", [])[:5]]  # fmt: skip
    if pairs:
        out.print("Top disagreements: " + ", ".join(pairs))
    largest = [f"{r['row']}: {r['champion']:.4g} -> {r['challenger']:.4g}"
               for r in agreement.get("largest", [])[:3]]  # fmt: skip
    if largest:
        out.print("Largest differences: " + ", ".join(largest))
    if not c["metrics"]:
        out.print("No labelled rows on both sides yet: send feedback to compare quality.")
        return
    header = ["metric", "champion", "challenger", f"difference ({level} interval)", "p"]
    shown = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)  # fits 80 columns
    for name in header:
        shown.add_column(name, no_wrap=True)
    for row in table_rows(c):
        shown.add_row(*row)
    out.print(shown)
    for test in sorted({m["difference"]["test"] for m in c["metrics"].values()}):
        out.print(f"Test: {test}.")


@app.command("dashboard")
def dashboard(
    port: int = typer.Option(8050, "--port", min=0, max=65535),
    host: str = typer.Option("127.0.0.1", "--host"),
    refresh: float = typer.Option(5.0, "--refresh", min=1.0, help="Seconds between refreshes."),
    since: str | None = SINCE,
) -> None:
    """Serve a live web page with volume, drift and accuracy panels."""
    import uvicorn

    from mlcycle.core.settings import get_settings
    from mlcycle.monitor.dashboard import create_dashboard

    settings = get_settings()
    window_bounds(since, None, None, settings.monitor.window)  # one clear error early
    app_ = create_dashboard(settings, since or settings.monitor.window, refresh)
    typer.echo(f"Dashboard on http://{host}:{port}/ (refreshing every {refresh:g} s)")
    uvicorn.run(app_, host=host, port=port, log_level="warning")
