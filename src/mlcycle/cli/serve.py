"""``mlcycle serve``: the prediction API."""

from __future__ import annotations

import typer


def serve(
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Registered model: NAME@ALIAS, NAME/VERSION or a models:/ URI "
        "(default: the serve.model setting, nace@production).",
    ),
    host: str | None = typer.Option(
        None, "--host", help="Interface to bind (default: serve.host, 127.0.0.1)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=0, max=65535, help="Port (default: serve.port, 8000)."
    ),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64, help="Worker processes (default: serve.workers, 1)."
    ),
) -> None:
    """Serve a registered model over HTTP (POST /predict, docs at /docs).

    The model is looked up before any worker starts, and every worker
    serves that same version. SIGTERM stops the server gracefully.
    """
    from mlcycle.core.settings import get_settings
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.ops import resolve
    from mlcycle.serve.runner import run_server

    settings = get_settings()
    ref = model or settings.serve.model
    use_tracking(settings)
    version = resolve(ref)  # raises NotFound with one clear sentence
    host = host or settings.serve.host
    port = settings.serve.port if port is None else port
    workers = workers or settings.serve.workers
    typer.echo(
        f"Serving {version.name} version {version.version} ({ref}) on http://{host}:{port} "
        f"with {workers} worker{'s' if workers > 1 else ''}; docs at /docs.",
        err=True,
    )
    run_server(f"{version.name}/{version.version}", host, port, workers)
