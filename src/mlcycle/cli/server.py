"""``mlcycle server``: the team tracking server (MLflow on PostgreSQL, users and roles)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import typer

from mlcycle.cli.output import print_json

app = typer.Typer(
    help="The team's tracking server: MLflow on PostgreSQL with users and roles.",
    no_args_is_help=True,
)
user_app = typer.Typer(help="Users of the server and their roles.", no_args_is_help=True)
app.add_typer(user_app, name="user")
hook_app = typer.Typer(
    help="Registry webhooks: the server tells mlcycle serve at once when an alias moves.",
    no_args_is_help=True,
)
app.add_typer(hook_app, name="hook")

_HOME = typer.Option(None, "--home", help="Project home whose server/ folder keeps its state.")
_JSON = typer.Option(False, "--json", help="Print the result as JSON.")
_URL = typer.Option(
    None, "--url", help="The server (default: MLFLOW_TRACKING_URI).", show_default=False
)


@app.command("start")
def start(
    home: Path | None = _HOME,
    db: str | None = typer.Option(
        None, "--db", help="PostgreSQL URL of the tracking database (default: its own cluster)."
    ),
    artifacts: str | None = typer.Option(
        None, "--artifacts", help="Artifact store: a folder URI or s3://... (default: in HOME)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(5000, "--port", help="Port to listen on."),
    workers: int = typer.Option(2, "--workers", min=1, help="Server worker processes."),
    password_file: Path | None = typer.Option(
        None,
        "--admin-password-file",
        help="File holding the admin's password (else MLCYCLE_SERVER_ADMIN_PASSWORD).",
    ),
    json_out: bool = _JSON,
) -> None:
    """Start the server in the background; the admin user is 'admin'."""
    from mlcycle.server.config import ServerSpec, admin_password
    from mlcycle.server.process import start as start_server

    password = admin_password(password_file)
    spec = ServerSpec(_state(home), host, port, db, artifacts, workers)
    shown = start_server(spec, password)
    if json_out:
        print_json(shown)
        return
    typer.echo(f"Tracking server running at {shown['url']} (log: {shown['log']}).")
    typer.echo(f"Clients: export MLFLOW_TRACKING_URI={shown['url']} with MLFLOW_TRACKING_USERNAME"
               " and MLFLOW_TRACKING_PASSWORD.")  # fmt: skip


@app.command("stop")
def stop(home: Path | None = _HOME) -> None:
    """Stop the server and its own PostgreSQL."""
    from mlcycle.server.process import stop as stop_server

    stopped = stop_server(_state(home))
    typer.echo("Server stopped." if stopped else "No server was running.")


@app.command("status")
def status(home: Path | None = _HOME, json_out: bool = _JSON) -> None:
    """Whether the server runs and answers; exit 1 when it does not."""
    from mlcycle.server.process import status as server_status

    shown = server_status(_state(home))
    if json_out:
        print_json(shown)
    elif shown["running"]:
        answering = "answering" if shown["answering"] else "NOT answering (see its log)"
        typer.echo(f"Running at {shown['url']}, pid {shown['pid']}, {answering}; "
                   f"{shown['database']}, artifacts in {shown['artifacts']}.")  # fmt: skip
        typer.echo(f"Tuning storage: {shown['tuning_storage']} (mlcycle server tuning-url).")
    else:
        typer.echo(f"No server running for {shown['state']}.")
    raise typer.Exit(0 if shown["running"] and shown.get("answering") else 1)


@app.command("tuning-url")
def tuning_url(home: Path | None = _HOME) -> None:
    """Print the tuning storage's URL, password included, for tune.storage or --storage."""
    from mlcycle.server.process import tuning_url as url_of

    typer.echo(url_of(_state(home)))


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="User name."),
    role: str = typer.Option(..., "--role", help="reader, editor or maintainer."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input, not a prompt."
    ),
    url: str | None = _URL,
) -> None:
    """Add a user with a role (needs an administrator's credentials)."""
    from mlcycle.server.users import add_user

    password = _read_password(password_stdin)
    user = add_user(_url(url), name, password, role)
    typer.echo(f"Added {user.name} as {user.roles[0]}.")


@user_app.command("remove")
def user_remove(name: str = typer.Argument(..., help="User name."), url: str | None = _URL) -> None:
    """Remove a user (needs an administrator's credentials)."""
    from mlcycle.server.users import remove_user

    remove_user(_url(url), name)
    typer.echo(f"Removed {name}.")


@user_app.command("list")
def user_list(url: str | None = _URL, json_out: bool = _JSON) -> None:
    """The server's users and their roles (needs an administrator's credentials)."""
    from mlcycle.server.users import list_users

    users = list_users(_url(url))
    if json_out:
        print_json([{"name": u.name, "roles": list(u.roles), "admin": u.admin} for u in users])
        return
    for user in users:
        roles = ", ".join(user.roles) or "no role"
        typer.echo(f"{user.name:<24} {'admin' if user.admin else roles}")


@hook_app.command("add")
def hook_add(
    target: str = typer.Argument(
        ..., help="The served API's hook, http://HOST:PORT/hooks/registry."
    ),
    secret_stdin: bool = typer.Option(
        False, "--secret-stdin", help="Read the secret from standard input."
    ),
    url: str | None = _URL,
) -> None:
    """Post alias events to a served API (needs an administrator's credentials).

    The secret signs every event; give mlcycle serve the same one in
    MLCYCLE_WEBHOOK_SECRET. Without --secret-stdin it is read from that variable.
    """
    from mlcycle.core.errors import InvalidInput
    from mlcycle.serve.registry_events import SECRET_ENV
    from mlcycle.server.hooks import add_hook

    secret = sys.stdin.readline().strip() if secret_stdin else os.environ.get(SECRET_ENV, "")
    if not secret:
        raise InvalidInput(f"The webhook secret is not set; put it in {SECRET_ENV} or pass "
                           "--secret-stdin.")  # fmt: skip
    hook = add_hook(_url(url), target, secret)
    typer.echo(f"{hook.url} is told of alias moves ({', '.join(hook.events)}).")


@hook_app.command("remove")
def hook_remove(
    target: str = typer.Argument(..., help="The URL the hook posts to."), url: str | None = _URL
) -> None:
    """Stop posting events to a URL (needs an administrator's credentials)."""
    from mlcycle.server.hooks import remove_hook

    remove_hook(_url(url), target)
    typer.echo(f"{target} is no longer told of alias moves.")


@hook_app.command("list")
def hook_list(url: str | None = _URL, json_out: bool = _JSON) -> None:
    """The server's webhooks (needs an administrator's credentials)."""
    from mlcycle.server.hooks import list_hooks

    hooks = list_hooks(_url(url))
    if json_out:
        print_json([{"id": h.id, "url": h.url, "events": list(h.events), "active": h.active}
                    for h in hooks])  # fmt: skip
        return
    for hook in hooks:
        typer.echo(f"{hook.url:<48} {'active' if hook.active else 'disabled'}  "
                   f"{', '.join(hook.events)}")  # fmt: skip


def _state(home: Path | None) -> Path:
    from mlcycle.core.settings import get_settings

    return (home or get_settings().home).resolve() / "server"


def _url(url: str | None) -> str:
    from mlcycle.core.errors import InvalidInput

    found = url or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not found.startswith(("http://", "https://")):
        raise InvalidInput("Name the server with --url or MLFLOW_TRACKING_URI (http://HOST:PORT).")
    return found.rstrip("/")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("Password for the new user: ")


def login(
    url: str = typer.Argument(..., help="The team server, http://HOST:PORT."),
    user: str = typer.Option(..., "--user", "-u", help="Your user name on the server."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input, not a prompt."
    ),
) -> None:
    """Sign in to a team server: check the password, save it for every MLflow client."""
    from mlcycle.server.login import login as sign_in

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {user}: ")
    saved = sign_in(url, user, password)
    typer.echo(f"Signed in to {url} as {user} (credentials saved in {saved}).")
    typer.echo(f"Point the project at it: export MLFLOW_TRACKING_URI={url.rstrip('/')}, "
               "or tracking_uri in its mlcycle.yaml.")  # fmt: skip


@app.command("import")
def import_store(
    source: str = typer.Argument(
        ..., help="The embedded store: a project home holding mlflow.db, or a sqlite:/// URI."
    ),
    url: str | None = _URL,
    json_out: bool = _JSON,
) -> None:
    """Copy an embedded store (datasets, models, aliases, audit) into the server, once."""
    from mlcycle.loop.move_in import import_store as move_in

    done = move_in(source, _url(url))
    if json_out:
        print_json(done.to_dict())
        return
    typer.echo(f"Imported {done.source} into {done.target}:")
    typer.echo(f"  datasets  {len(done.datasets_added)} added, "
               f"{len(done.datasets_skipped)} already there")  # fmt: skip
    typer.echo(f"  versions  {len(done.versions_copied)} copied, "
               f"{len(done.versions_skipped)} already there")  # fmt: skip
    typer.echo(f"  aliases   {len(done.aliases_set)} set"
               + (f" ({', '.join(done.aliases_set)})" if done.aliases_set else ""))  # fmt: skip
    typer.echo(f"  events    {done.events_copied} copied")
