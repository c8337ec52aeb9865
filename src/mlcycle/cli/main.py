"""The ``mlcycle`` root command.

Sub-apps import only Typer at module level; every heavy import happens inside a
command, so ``mlcycle --help`` stays fast. ``run()`` turns mlcycle's own errors into
one sentence on stderr and the mapped exit code, never a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys

import typer

from mlcycle import __version__
from mlcycle.cli import (
    data,
    demo,
    doctor,
    loadtest,
    models,
    monitor,
    pipeline,
    predict,
    retrain,
    serve,
    server,
    train,
    tune,
    worker,
)
from mlcycle.cli import deploy as deploy_commands
from mlcycle.cli import init as init_project
from mlcycle.core.errors import MlcycleError
from mlcycle.core.logs import quiet_library_defaults

app = typer.Typer(
    name="mlcycle",
    help="Take a model from a data file to a monitored production service and back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.command("train")(train.train)
app.command("tune")(tune.tune)
app.add_typer(serve.app, name="serve")
app.command("loadtest")(loadtest.loadtest)
app.command("predict")(predict.predict)
app.command("worker")(worker.worker)
app.add_typer(monitor.app, name="monitor")
app.command("retrain")(retrain.retrain)
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(deploy_commands.app, name="deploy")
app.command("demo")(demo.demo)
app.command("doctor")(doctor.doctor)
app.command("init")(init_project.init)
app.add_typer(server.app, name="server")
app.command("login")(server.login)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlcycle {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """mlcycle: train, track, register, serve and monitor models."""


def _use_project_home() -> None:
    """The libraries' logs go to the project's log file, not the terminal; compiled numba
    kernels are cached under the project home (serve workers inherit it).

    Skipped for help (it needs no settings) and for unreadable settings (the command
    itself says what is wrong). The settings read here are cached for the command.
    """
    from mlcycle.core.logs import route_library_logs
    from mlcycle.core.settings import get_settings
    from mlcycle.models.numba_cache import use_numba_cache

    arguments = sys.argv[1:]
    if not arguments or {"--help", "--version"} & set(arguments):
        return
    with contextlib.suppress(MlcycleError):
        home = get_settings().home.resolve()
        route_library_logs(home)
        use_numba_cache(home / "cache" / "numba")


def _tracking_server_said(exc: Exception) -> MlcycleError | None:
    """A tracking server's refusal or silence, said as one sentence naming the server."""
    if "mlflow" not in sys.modules:
        return None
    from mlcycle.core.tracking import server_refusal

    return server_refusal(exc)


def run() -> None:
    """Console-script entry point."""
    quiet_library_defaults()
    try:
        _use_project_home()
        app(standalone_mode=True)
    except MlcycleError as exc:
        typer.secho(f"Error: {exc.message}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.secho("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("MLCYCLE_DEBUG"):
            raise
        said = _tracking_server_said(exc)
        if said is not None:
            typer.secho(f"Error: {said.message}", err=True, fg=typer.colors.RED)
            sys.exit(said.exit_code)
        typer.secho(
            f"Unexpected error ({type(exc).__name__}: {exc}); rerun with MLCYCLE_DEBUG=1 "
            "for the traceback and report it.",
            err=True,
            fg=typer.colors.RED,
        )
        sys.exit(1)
