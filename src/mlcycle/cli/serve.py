"""``mlcycle serve``: the prediction API; ``mlcycle serve hash-key`` for its API keys."""

from __future__ import annotations

import sys

import typer

app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def serve(
    ctx: typer.Context,
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Registered model: NAME@ALIAS, NAME/VERSION or a models:/ URI "
        "(default: the serve.model setting, else the model at its last environment).",
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

    The model is looked up before any worker starts. When it is an alias, every
    worker follows it: a new version is loaded, checked and swapped in without
    downtime. SIGTERM stops the server gracefully and writes the prediction log.
    `mlcycle serve hash-key` makes the digest of an API key for the settings.
    """
    if ctx.invoked_subcommand is not None:
        return
    from mlcycle.core.ports import check_port
    from mlcycle.core.settings import get_settings
    from mlcycle.core.tracking import use_tracking
    from mlcycle.registry.ops import resolve
    from mlcycle.serve.runner import run_server

    settings = get_settings()
    ref = model or settings.served_ref()
    use_tracking(settings)
    version = resolve(ref)  # raises NotFound with one clear sentence
    host = host or settings.serve.host
    port = check_port(host, settings.serve.port if port is None else port)  # 0: a free one
    workers = workers or settings.serve.workers
    experiment = settings.serve.experiment
    challenger = None
    if experiment.mode != "off":
        from mlcycle.serve.components import challenger_ref

        # A bad reference stops here; a missing challenger does not (the champion serves).
        challenger = challenger_ref(ref, experiment.challenger)
    auth = "API keys required" if settings.serve.auth.enabled else "no API keys"
    typer.echo(
        f"Serving {version.name} version {version.version} ({ref}) on http://{host}:{port} "
        f"with {workers} worker{'s' if workers > 1 else ''}, {auth}; docs at /docs.",
        err=True,
    )
    if challenger is not None:
        typer.echo(
            f"Experiment: {experiment.mode} with {challenger} on {experiment.share:.0%} of "
            "requests (/ready says whether it is loaded).",
            err=True,
        )
    run_server(ref, host, port, workers)


@app.command("hash-key")
def hash_key(
    generate: bool = typer.Option(
        False, "--generate", help="Make a new random key and print it with its digest."
    ),
    name: str = typer.Option("client", "--name", help="The key's name in the settings."),
    role: str = typer.Option(
        "client",
        "--role",
        help="client (predict, feedback on its own requests) or admin (also /admin/*).",
    ),
) -> None:
    """Print the serve.auth.keys entry for an API key read from standard input.

    The key itself never goes into settings or logs: only its SHA-256 digest.
    Example: `mlcycle serve hash-key --generate --name batch-client`.
    """
    from mlcycle.core.errors import InvalidInput
    from mlcycle.core.settings.serve import ADMIN, CLIENT
    from mlcycle.serve.auth import MIN_KEY_CHARS, generate_api_key, hash_api_key

    if role not in (CLIENT, ADMIN):
        raise InvalidInput(f"--role is '{role}'; use {CLIENT} or {ADMIN}.")
    if generate:
        key = generate_api_key()
        typer.echo(f"key (give it to the client, it is shown once): {key}", err=True)
    else:
        prompt = sys.stdin.isatty()
        key = typer.prompt("API key", hide_input=True) if prompt else sys.stdin.readline()
        key = key.strip()
        if len(key) < MIN_KEY_CHARS:
            raise InvalidInput(
                f"The key has {len(key)} characters; use at least {MIN_KEY_CHARS} random "
                "ones, or let `mlcycle serve hash-key --generate` make one."
            )
    entry = f"{{digest: {hash_api_key(key)}, role: {role}}}"
    typer.echo(f"serve:\n  auth:\n    keys:\n      {name}: {entry}")
