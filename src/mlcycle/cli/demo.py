"""``mlcycle demo``: the whole loop on generated data, in a few minutes on a laptop.

Generate a data set and store it as a dataset version, train and register a model,
promote it to production, serve it in a background process that follows the alias and
query it; then close the loop (``demo_loop``): normal and drifted traffic with
feedback, the monitoring check fires, a retrain is promoted, the server swaps to it,
and a report shows drift and recovery. Finally stop the server and say how to browse
what was tracked.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

QUERIES = ("vendeur d'huitres", "boulanger", "COIFFEUR", "coiffeur, & 98789")
# The demo's server checks its alias every second and writes its log twice a second.
SERVER_ENV = {
    "MLCYCLE_SERVE__RELOAD_SECONDS": "1",
    "MLCYCLE_SERVE__PREDICTION_LOG__FLUSH_SECONDS": "0.5",
}


def demo(
    rows: int = typer.Option(30_000, "--rows", min=1_000, help="Rows of generated data."),
    seed: int = typer.Option(42, "--seed", help="Seed of the generated data."),
) -> None:
    """Generate, train, register, promote, serve, query, monitor, retrain and swap."""
    from rich.console import Console

    from mlcycle.cli.demo_loop import run_loop
    from mlcycle.core.settings import get_settings
    from mlcycle.data.ingest import add_dataset
    from mlcycle.registry.promotion import promote
    from mlcycle.tasks import task_of
    from mlcycle.train.pipeline import synthetic_file, train_model

    # Promotion gates load models from the store: no download progress bars in the demo.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    console = Console()
    settings = get_settings()
    started = time.monotonic()
    console.rule("[bold]1. Data")
    data = synthetic_file(settings, task_of(settings), rows)
    console.print(f"Generated data set: {data} ({rows:,} rows, seed {settings.train.seed})")
    added = add_dataset(str(data), settings.dataset_name, settings=settings)
    console.print(f"Stored as dataset version {added.version.ref} (validated, profiled).")
    console.rule("[bold]2. Train, evaluate, track, register")
    from mlcycle.cli.train import _print_result, _progress

    with _progress(console) as reporter:
        result = train_model(added.version.ref, reporter=reporter, settings=settings)
    _print_result(console, result)
    console.rule("[bold]3. Promote through the gates")
    _promote_first(promote(result.name, str(result.version), "production",
                           reason="mlcycle demo: the first model", settings=settings))  # fmt: skip
    console.rule("[bold]4. Serve and query")
    with _server(settings.home, f"{result.name}@production", console) as url:
        answers = _query(url)
        _print_answers(console, answers)
        flush = float(SERVER_ENV["MLCYCLE_SERVE__PREDICTION_LOG__FLUSH_SECONDS"]) * 4 + 1
        run_loop(console, url, settings, rows, seed, flush)
    console.rule("[bold]10. Browse what was tracked")
    _print_ui_hint(console, settings.resolved_tracking_uri())
    console.print(f"Demo finished in {time.monotonic() - started:.0f} s.")


def _promote_first(moved) -> None:
    """Show the gates; the demo goes on only with the model in production."""
    from mlcycle.cli.models import _print_move
    from mlcycle.core.errors import Conflict

    _print_move(moved)
    if not moved.moved and moved.action != "none":
        raise Conflict(
            f"The demo's model failed the gate(s) {', '.join(moved.failed_gates)}; run "
            f"`mlcycle models history {moved.name}` to see why, and report it: the demo's data "
            "should always pass."
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _server(home: Path, ref: str, console) -> Iterator[str]:
    """``mlcycle serve`` in the background, following ``ref``; stopped with SIGTERM."""
    from mlcycle.core.errors import Unavailable

    port = _free_port()
    env = {**os.environ, **SERVER_ENV, "MLCYCLE_HOME": str(home.resolve())}
    command = [sys.executable, "-m", "mlcycle", "serve", "--model", ref, "--port", str(port)]
    log = home / "demo-serve.log"
    with open(log, "w") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not _wait_ready(url, server):
            raise Unavailable(f"The API did not become ready on {url}; see {log}.")
        console.print(f"API ready on {url} (OpenAPI docs at {url}/docs); querying it.")
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        console.print("API stopped.")


def _query(url: str) -> dict:
    import httpx

    reply = httpx.post(f"{url}/predict", json={"texts": list(QUERIES), "k": 3}, timeout=30)
    reply.raise_for_status()
    return reply.json()


def _wait_ready(url: str, server: subprocess.Popen, timeout: float = 90.0) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    return False


def _print_answers(console, answers: dict) -> None:
    from rich.table import Table

    model = answers["model"]
    table = Table(title=f"Ranked NAF codes from {model['name']} version {model['version']}")
    for column in ("query", "rank", "code", "probability", "label"):
        table.add_column(column)
    for query, ranked in zip(QUERIES, answers["predictions"], strict=True):
        for rank, entry in enumerate(ranked, start=1):
            table.add_row(
                query if rank == 1 else "",
                str(rank),
                entry["code"],
                f"{entry['probability']:.3f}",
                entry.get("label") or "",
            )
        table.add_section()
    console.print(table)


def _print_ui_hint(console, tracking_uri: str) -> None:
    console.print("Open the MLflow UI on everything tracked (runs, metrics, artifacts, registry):")
    console.print(f"  .venv/bin/mlflow ui --backend-store-uri {tracking_uri} --port 5000")
    console.print("  then browse http://127.0.0.1:5000")
