"""What several commands print: training progress and results, gated moves, retrains.

``train``, ``models``, ``retrain`` and ``demo`` print the same things the same way; they
import them from here (the CLI's shared surface), never from each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "console", "print_move", "print_retrain", "print_training", "progress", "rows_progress",
    "table",
]  # fmt: skip


def console(stderr: bool = False) -> Any:
    """A rich console (on stderr when stdout carries JSON)."""
    from rich.console import Console

    return Console(stderr=stderr)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Any:
    """A rich table with a title, one column per name and the rows as text."""
    from rich.table import Table

    shown = Table(title=title)
    for column in columns:
        shown.add_column(column)
    for row in rows:
        shown.add_row(*[str(cell) for cell in row])
    return shown


@contextmanager
def progress(out: Any) -> Iterator[Any]:
    """A training :class:`~mlcycle.train.pipeline.Reporter` drawing on ``out``: each step a
    line, the fit a bar."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from mlcycle.train.pipeline import Reporter

    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task("Fitting", total=1.0, visible=False)

        def step(message: str) -> None:
            out.print(f"[bold]›[/bold] {message}")
            bar.update(task, visible=message.startswith("Training"))

        yield Reporter(step, lambda fraction: bar.update(task, completed=fraction))


@contextmanager
def rows_progress(out: Any) -> Iterator[Callable[[int, int | None], None]]:
    """A bar of rows done (of the total, once known) drawing on ``out``; yields its
    update function."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True) as bar:
        task = bar.add_task("Scoring", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def print_training(out: Any, result: Any) -> None:
    """A training run's metrics, run, model and the promotion command."""
    shown = table("Evaluation", ["metric", "value"], [])
    shown.columns[1].justify = "right"
    for name, value in result.metrics.items():
        shown.add_row(name, f"{value:.4f}")
    out.print(shown)
    data, held = result.data, result.holdout
    if data:
        what = f"dataset {data['name']}@{data['version']}" if data["version"] else data["source"]
        out.print(f"Trained on {what} ({data['rows']:,} rows).")
    if held:
        out.print(
            f"Judged at promotion on the holdout of {held['dataset']} (version "
            f"{held['version']}, {held['rows']:,} rows from {held['source']}), left out here."
        )
    if (auto := auto_coding_line(result.metrics)) is not None:
        out.print(auto)
    out.print(f"Run {result.run_id}; model {result.model_uri}")
    if result.version:
        out.print(
            f"Registered [bold]{result.name}[/bold] version {result.version} (alias challenger). "
            f"Promote it: mlcycle models promote {result.name} --version {result.version} "
            "--to production"
        )


def auto_coding_line(metrics: dict[str, float]) -> str | None:
    """What a calibrated model would code without review, in one sentence."""
    if "auto_coding_threshold" not in metrics:
        return None
    precision = metrics.get("auto_coding_precision")
    reached = f", {100 * precision:.1f}% of them right" if precision is not None else ""
    return (
        f"Auto-coding: a calibrated top-1 probability of {metrics['auto_coding_threshold']:.2f} "
        f"or more is coded without review (target precision "
        f"{100 * metrics.get('auto_coding_target_precision', 0):.0f}%, "
        "train.calibration.auto_code_precision): "
        f"{100 * metrics.get('auto_coding_rate', 0):.1f}% of the evaluation texts{reached}."
    )


def print_move(result: Any, out: Any = None) -> None:
    """The gates of a promotion (or rollback) and where the alias points now."""
    out = out or console()
    if result.gates:
        rows = [
            [g.name, "[green]PASS[/]" if g.passed else "[red]FAIL[/]", g.figure, g.threshold,
             g.detail]
            for g in result.gates
        ]  # fmt: skip
        title = f"Gates for {result.name} version {result.version} -> {result.alias}"
        out.print(table(title, ["gate", "result", "figure", "threshold", "detail"], rows))
    held = getattr(result, "holdout", None)
    if held:
        out.print(
            f"Judged on the holdout of {held['dataset']} (version {held['version']}, "
            f"{held['rows']:,} rows from {held['source'] or '-'})."
        )
    was = f" (was version {result.previous})" if result.previous else ""
    if result.action == "none":
        out.print(f"{result.name}@{result.alias} already is version {result.version}.")
    elif result.moved:
        forced = " [yellow]FORCED past failing gates[/]" if result.action == "force" else ""
        out.print(f"{result.name}@{result.alias} -> version {result.version}{was}{forced}")


def print_retrain(out: Any, result: Any) -> None:
    """What triggered a retrain, what was trained, each promotion and the outcome."""
    from mlcycle.loop.retrain import NOT_NEEDED

    if result.outcome == NOT_NEEDED:
        out.print("No retrain needed: no rule breached and the data is unchanged.")
        return
    for reason in result.decision.reasons or ["asked for (no --if-needed)"]:
        out.print(f"Trigger: {reason}")
    out.print(
        f"Trained version {result.version} on {result.dataset} "
        f"({result.feedback_rows:,} feedback-labelled production inputs added)."
    )
    for move in result.promotions:
        failed = [g["name"] for g in move["gates"] if not g["passed"]]
        detail = f" (failed gates: {', '.join(failed)})" if failed else ""
        out.print(f"{move['alias']}: {move['action']}{detail}")
    out.print(f"Retrain outcome: {result.outcome}; MLflow run {result.run_id}.")
