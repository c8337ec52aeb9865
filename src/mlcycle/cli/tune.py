"""``mlcycle tune``: search hyperparameters with Optuna, tracked in MLflow."""

from __future__ import annotations

from pathlib import Path

import typer

from mlcycle.cli.output import print_json


def tune(
    trials: int | None = typer.Option(
        None, "--trials", "-n", help="Trials to run (default tune.trials; 0 only summarises)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Start no trial after this many seconds."
    ),
    workers: int | None = typer.Option(
        None, "--workers", "-w", help="Worker processes sharing the study (default 1)."
    ),
    space: Path | None = typer.Option(
        None, "--space", help="YAML search space replacing the project's tune.space."
    ),
    storage: str | None = typer.Option(
        None,
        "--storage",
        help="postgresql://... to share the study between machines; default: a journal "
        "file under the project home.",
    ),
    study: str | None = typer.Option(
        None, "--study", help="Study name (default <experiment>-tune)."
    ),
    grid: Path | None = typer.Option(
        None, "--grid", help="YAML grid: lists of values per parameter, or a list of sets."
    ),
    register: bool = typer.Option(
        False, "--register", help="Train the best configuration and register it as challenger."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Sampler seed (default tune.seed)."),
    data: str | None = typer.Option(
        None,
        "--data",
        help="Dataset version NAME@V, a CSV or Parquet file, or 'synthetic'. Default: the "
        "latest version of the dataset named like the model, else 'synthetic'.",
        show_default=False,
    ),
    prune: bool | None = typer.Option(
        None, "--prune/--no-prune", help="Stop weak trials early (default: on, off for a grid)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Search the model's hyperparameters: one parent run, one nested run per trial."""
    from rich.console import Console

    from mlcycle.train.pipeline import Reporter
    from mlcycle.train.tune import TuneInterrupted, TuneOptions
    from mlcycle.train.tune import tune as run_tune

    options = TuneOptions(
        trials, timeout, workers, space, storage, study, grid, register, seed, data, prune
    )
    console = Console(stderr=as_json)
    try:
        with _display(console) as progress:
            steps = Reporter(lambda message: console.print(f"[bold]›[/bold] {message}"))
            result = run_tune(options, progress=progress, reporter=steps)
    except TuneInterrupted as stop:
        console.print(
            f"Interrupted: study {stop.study!r} keeps its {stop.complete} complete trials and "
            f"parent run {stop.run_id} is marked KILLED; run the same command again to "
            "continue the study."
        )
        raise typer.Exit(130) from None
    if as_json:
        print_json(result.to_dict())
        return
    _print_result(console, result)


def _display(console):
    """A progress bar with the best score so far, and one line per finished trial."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    @contextmanager
    def live():
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Trials", total=None)

            def show(status) -> None:
                for trial in status.finished:
                    console.print(_trial_line(trial, status.searched))
                best = "none yet"
                if status.best_value is not None:
                    best = f"{status.best_value:.4f} (trial {status.best_number})"
                bar.update(
                    task, total=status.total, completed=status.done, description=f"best {best}"
                )

            yield show

    return live()


def _trial_line(trial: dict, searched: list[str]) -> str:
    params = " ".join(f"{k}={_fmt(trial['params'].get(k))}" for k in searched)
    value = "" if trial["value"] is None else f" {trial['value']:.4f}"
    if trial["state"] == "PRUNED" and value:
        value = f" proxy{value}"  # the score of the cheap proxy fit that pruned it
    took = f" {trial['duration_s']:.1f}s" if trial["duration_s"] is not None else ""
    return f"trial {trial['number']:>3} {trial['state'].lower():<8}{value}{took}  {params}"


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _print_result(console, result) -> None:
    from rich.table import Table

    counts = ", ".join(f"{n} {state}" for state, n in sorted(result.counts.items()))
    console.print(f"Study {result.study!r} ({result.storage}): {counts}; this run {result.ran}.")
    if result.best is None:
        console.print("No complete trial yet; run more trials.")
    else:
        table = Table(title=f"Best trial {result.best['number']}", show_header=True)
        table.add_column("parameter / metric")
        table.add_column("value", justify="right")
        for name, value in result.best["params"].items():
            table.add_row(name, _fmt(value))
        for name, value in result.best["metrics"].items():
            table.add_row(f"[bold]{name}[/bold]" if name == result.metric else name, f"{value:.4f}")
        console.print(table)
    if result.importance:
        table = Table(title="Parameter importance (fANOVA)", show_header=True)
        table.add_column("parameter")
        table.add_column("importance", justify="right")
        for name, score in result.importance.items():
            table.add_row(name, f"{score:.3f}")
        console.print(table)
    console.print(f"Parent run {result.run_id}: plots and tables under its tune/ artifacts.")
    if result.registered:
        reg = result.registered
        console.print(
            f"Registered [bold]{reg['name']}[/bold] version {reg['version']} (alias challenger); "
            f"promote it: mlcycle models promote {reg['name']} --version {reg['version']} "
            "--to production"
        )
