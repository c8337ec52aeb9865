"""How the ``mlcycle data`` commands print: JSON for machines, tables for people."""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from mlcycle.cli.output import print_json

_TOP = 10


def print_add(result: Any, as_json: bool) -> None:
    if as_json:
        print_json(result.to_dict())
        return
    for line in result.tidied:  # leftovers of killed adds, removed on the way
        typer.echo(f"Tidied {line}", err=True)
    for warning in result.warnings:
        typer.secho(f"Note: {warning}", err=True, fg=typer.colors.YELLOW)
    v = result.version
    if not result.created:
        typer.echo(f"Same content as {v.ref} (digest {v.digest[:12]}); no new version.")
        return
    classes = f"{v.labels} {'label' if v.labels == 1 else 'labels'}, " if v.labels else ""
    typer.echo(f"Added {v.ref}: {v.rows:,} rows, {classes}digest {v.digest[:12]}, from {v.source}.")
    if result.dropped:
        reasons = ", ".join(f"{n:,} {why}" for why, n in result.reasons.items())
        kept = "quarantined for review" if result.quarantined else "left out"
        typer.echo(f"{result.dropped:,} of {result.rows_read:,} rows were {kept} ({reasons}).")
    if result.quarantined:
        typer.echo(f"Quarantined rows: {v.uri('quarantine.parquet')}")


def print_invalid_rows(exc: Any, as_json: bool) -> None:
    """The refusal sentence, then the first offending rows with their line numbers."""
    if as_json:
        print_json(exc.to_dict())
        return
    typer.secho(f"Error: {exc.message}", err=True, fg=typer.colors.RED)
    columns: list[str] = []
    for row in exc.rows:
        columns += [key for key in row if key not in columns]
    table = Table(title=f"First {len(exc.rows)} offending rows", title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold", max_width=40 if column != "line" else None)
    for row in exc.rows:
        table.add_row(*("" if row.get(c) is None else str(row[c]) for c in columns))
    Console(stderr=True).print(table)


def print_list(versions: list[Any], as_json: bool) -> None:
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    if not versions:
        typer.echo("No datasets yet; add one with: mlcycle data add FILE --name NAME")
        return
    table = Table(title="Dataset versions")
    for column in ("version", "rows", "labels", "digest", "created", "source"):
        table.add_column(column, justify="right" if column in ("rows", "labels") else "left")
    for v in versions:
        table.add_row(v.ref, f"{v.rows:,}", str(v.labels), v.digest[:12], v.created_at, v.source)
    Console().print(table)


def print_show(
    version: Any, metadata: dict, profile: Any, models: list[Any], as_json: bool
) -> None:
    trained = [{"model": m.name, "version": m.version, "aliases": m.aliases} for m in models]
    if as_json:
        print_json(
            {
                **version.to_dict(),
                "metadata": metadata,
                "profile": profile.to_dict(),
                "models": trained,
            }
        )
        return
    console = Console()
    facts = Table(title=f"Dataset {version.ref}", show_header=False)
    for key, value in _facts(version, metadata):
        facts.add_row(key, value)
    console.print(facts)
    console.print(_ranking("Labels (top 10)", profile.label_shares(), "share", percent=True))
    console.print(_ranking("Words (top 10, stop words left out)", profile.top_words, "count"))
    lengths = ", ".join(f"q{k}={v:g}" for k, v in profile.text_length.items())
    console.print(f"Text length (characters): {lengths}")
    if trained:
        names = [f"{m['model']}/{m['version']}" + _aliases(m["aliases"]) for m in trained]
        console.print("Models trained on it: " + ", ".join(names))
    else:
        console.print("Models trained on it: none yet (mlcycle train --data " + version.ref + ")")


def _facts(version: Any, metadata: dict) -> list[tuple[str, str]]:
    bad = metadata.get("bad_rows", 0)
    rows = [
        ("rows", f"{version.rows:,} of {metadata.get('rows_read', version.rows):,} read"),
        ("labels", str(version.labels)),
        ("columns", ", ".join(metadata.get("columns", []))),
        ("digest", version.digest),
        ("source", version.source),
        ("created", version.created_at),
        ("format", _format(metadata)),
        ("bad rows", f"{bad:,} ({metadata.get('on_bad_rows')})"),
        ("duplicate rows", f"{metadata.get('duplicate_rows', 0):,}"),
        ("texts with several labels", f"{metadata.get('conflicting_texts', 0):,}"),
        ("null rates", _rates(metadata.get("null_rates", {}))),
        ("stored at", version.uri()),
    ]
    if metadata.get("quarantined_rows"):
        rows.append(("quarantine", version.uri("quarantine.parquet")))
    return rows


def _format(metadata: dict) -> str:
    if metadata.get("format") != "csv":
        return str(metadata.get("format"))
    delimiter = {"\t": "tab"}.get(metadata.get("delimiter") or "", metadata.get("delimiter"))
    return f"csv ({metadata.get('encoding')}, delimiter {delimiter!r})"


def _rates(rates: dict[str, float]) -> str:
    return ", ".join(f"{name} {rate:.1%}" for name, rate in rates.items()) or "-"


def _aliases(aliases: tuple[str, ...] | list[str]) -> str:
    return f" ({', '.join(aliases)})" if aliases else ""


def _ranking(title: str, values: dict[str, float], what: str, percent: bool = False) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("value")
    table.add_column(what, justify="right")
    for key, value in list(values.items())[:_TOP]:
        table.add_row(key, f"{value:.1%}" if percent else f"{value:,}")
    return table


def print_diff(diff: Any, as_json: bool) -> None:
    if as_json:
        print_json(diff.to_dict())
        return
    console = Console()
    console.print(
        f"{diff.a} -> {diff.b}: {diff.rows_a:,} -> {diff.rows_b:,} rows; "
        f"+{diff.added:,} added, -{diff.removed:,} removed, {diff.unchanged:,} unchanged; "
        f"{diff.relabelled_texts:,} texts relabelled."
    )
    console.print(
        f"Labels: {len(diff.new_labels)} new ({', '.join(diff.new_labels[:_TOP]) or '-'}), "
        f"{len(diff.vanished_labels)} vanished ({', '.join(diff.vanished_labels[:_TOP]) or '-'}); "
        f"distribution distance {diff.label_distance:.3f} (0 same, 1 disjoint)."
    )
    table = Table(title="Biggest label share changes", title_justify="left")
    for column in ("label", diff.a, diff.b, "change"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for change in diff.labels[:_TOP]:
        table.add_row(
            change.label,
            f"{change.count_a:,} ({change.share_a:.1%})",
            f"{change.count_b:,} ({change.share_b:.1%})",
            f"{change.delta:+.1%}",
        )
    console.print(table)
