"""``mlcycle models``: versions, environments, gated promotion, rollback, history, cards,
integrity checks.

Each command is a thin wrapper over :mod:`mlcycle.registry`; heavy imports stay inside
the commands so ``mlcycle --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mlcycle.cli import models_holdout
from mlcycle.cli.models_import import import_model
from mlcycle.cli.output import print_json

app = typer.Typer(
    help="Registered models: list, show, import, promote through gates, roll back, audit, "
    "cards, verify, frozen holdouts.",
    no_args_is_help=True,
)
app.command("import")(import_model)
app.add_typer(models_holdout.app, name="holdout")

_JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _connect() -> None:
    """Point MLflow at the project's store, without download progress bars on stderr."""
    import os

    from mlcycle.core.tracking import use_tracking

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    use_tracking()


def _may_move(alias: str) -> None:
    """On a team server, refuse a move the user's role does not allow before any gate."""
    import mlflow

    from mlcycle.server.users import check_may_move

    check_may_move(mlflow.get_tracking_uri(), alias)


def _project_model() -> str:
    """The project's model name (``model.name``), the default of commands naming one."""
    from mlcycle.core.settings import get_settings

    return get_settings().model.name


def _console():
    from mlcycle.cli.views import console

    return console()


def _table(title: str, columns: list[str], rows: list[list[str]]):
    from mlcycle.cli.views import table

    return table(title, columns, rows)


@app.command("list")
def list_models(
    name: str | None = typer.Argument(
        None, help="Registered model name (default: the project's model.name).", show_default=False
    ),
    as_json: bool = _JSON,
) -> None:
    """List the versions of a registered model with their aliases and environments."""
    from mlcycle.registry.details import environment_holders, versions_table

    _connect()
    name = name or _project_model()
    rows = versions_table(name)
    holders = environment_holders(name)
    if as_json:
        print_json({"name": name, "environments": holders, "versions": rows})
        return
    console = _console()
    envs = ", ".join(f"{env}: {v or '-'}" for env, v in holders.items())
    console.print(f"Environments of {name}: {envs}")
    console.print(
        _table(
            f"Registered model {name}",
            ["version", "aliases", "created (UTC)", "run", "dataset"],
            [
                [
                    r["version"],
                    ", ".join(r["aliases"]),
                    r["created"],
                    r["run_id"] or "",
                    f"{r['dataset']} {r['dataset_digest']}".strip(),
                ]
                for r in rows
            ],
        )
    )


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. churn@production."),
    as_json: bool = _JSON,
) -> None:
    """Show one version: run, dataset, metrics, gates passed, who promoted it and when."""
    from mlcycle.registry.details import describe

    _connect()
    d = describe(ref)
    if as_json:
        print_json(d.to_dict())
        return
    console = _console()
    console.print(f"[bold]{d.name} version {d.version}[/] (aliases: {', '.join(d.aliases) or '-'})")
    console.print(f"created {d.created}, run {d.run_id or '-'}")
    for title, values in (("Dataset", d.dataset), ("Holdout", d.holdout)):
        if values:
            console.print(f"{title}: " + ", ".join(f"{k} {v}" for k, v in values.items()))
    console.print(
        _table(
            "Metrics", ["metric", "value"], [[k, f"{v:.4f}"] for k, v in sorted(d.metrics.items())]
        )
    )
    rows = [
        [a, p["promoted_at"], p["promoted_by"], p["action"], p["gates"], p["reason"]]
        for a, p in d.promotions.items()
    ]
    if rows:
        console.print(
            _table("Promotions", ["alias", "when (UTC)", "by", "action", "gates", "reason"], rows)
        )


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="Registered model name, e.g. churn."),
    version: int = typer.Option(..., "--version", min=1, help="Version to promote."),
    to: str = typer.Option("production", "--to", help="Environment (alias) to promote to."),
    reason: str = typer.Option("", "--reason", help="Why; recorded in the audit trail."),
    force: bool = typer.Option(False, "--force", help="Move even if gates fail (needs --reason)."),
    as_json: bool = _JSON,
) -> None:
    """Run the promotion gates and point NAME@TO at the version only if all pass."""
    from mlcycle.cli.views import print_move
    from mlcycle.core.errors import Conflict
    from mlcycle.registry.promotion import promote as run_promotion

    _connect()
    _may_move(to)
    result = run_promotion(name, str(version), to, reason, force)
    if as_json:
        print_json(result.to_dict())
    else:
        print_move(result)
    if result.action == "refused":
        raise Conflict(
            f"Promotion of {name} version {version} to {to} refused: failed gate(s) "
            f"{', '.join(result.failed_gates)}; improve the model, or --force --reason TEXT."
        )


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="Registered model name, e.g. churn."),
    alias: str = typer.Option("production", "--alias", help="Environment to roll back."),
    reason: str = typer.Option("", "--reason", help="Why; recorded in the audit trail."),
    as_json: bool = _JSON,
) -> None:
    """Return NAME@ALIAS to the version that held it before."""
    from mlcycle.cli.views import print_move
    from mlcycle.registry.promotion import rollback as run_rollback

    _connect()
    _may_move(alias)
    result = run_rollback(name, alias, reason)
    if as_json:
        print_json(result.to_dict())
        return
    print_move(result)


@app.command("history")
def history(
    name: str | None = typer.Argument(
        None, help="Registered model name (default: the project's model.name).", show_default=False
    ),
    alias: str = typer.Option(None, "--alias", help="Only this environment."),
    at: str = typer.Option(
        None, "--at", help="Which version served then: YYYY-MM-DD (whole day) or a time (UTC)."
    ),
    as_json: bool = _JSON,
) -> None:
    """The audit trail: every promotion, refusal, force, rollback and outside move, oldest first."""
    from mlcycle.core.settings import get_settings
    from mlcycle.registry.audit import read_events
    from mlcycle.registry.environments import environment_names
    from mlcycle.registry.history import parse_moment, served_during
    from mlcycle.registry.ops import list_versions

    _connect()
    name = name or _project_model()
    list_versions(name)  # one clear error for an unknown model
    events = read_events(name, get_settings(), alias)
    if at is not None:
        start, end = parse_moment(at)
        aliases = [alias] if alias else environment_names(get_settings().registry)
        served = {a: served_during(events, a, start, end) for a in aliases}
        _print_served(name, at, served, as_json)
        return
    if as_json:
        print_json([e.__dict__ for e in events])
        return
    rows = [
        [
            e.time,
            e.alias,
            e.action,
            e.from_version or "-",
            e.to_version,
            e.user,
            _gate_summary(e.gates),
            e.reason,
        ]
        for e in events
    ]
    _console().print(
        _table(
            f"History of {name}",
            ["time (UTC)", "alias", "action", "from", "to", "by", "gates", "reason"],
            rows,
        )
    )


def _gate_summary(gates: list[dict]) -> str:
    if not gates:
        return "-"
    failed = [g["name"] for g in gates if not g["passed"]]
    return f"failed: {', '.join(failed)}" if failed else "all passed"


def _print_served(name: str, at: str, served: dict, as_json: bool) -> None:
    rows = [
        {
            "alias": alias,
            "version": t.version,
            "from": t.start.isoformat() if t.start else None,
            "until": t.end.isoformat() if t.end else None,
        }
        for alias, spans in served.items()
        for t in spans
    ]
    if as_json:
        print_json({"name": name, "at": at, "served": rows})
        return
    if not rows:
        typer.echo(f"No recorded version of {name} held {', '.join(served)} at {at}.")
    for row in rows:
        since = row["from"] or "before the audit trail began"
        typer.echo(
            f"{name}@{row['alias']} at {at}: version {row['version']} "
            f"(from {since} until {row['until'] or 'now'})"
        )


@app.command("card")
def card(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. churn@production."),
    output: Path = typer.Option(None, "-o", "--output", help="Write to card.md or card.html."),
) -> None:
    """The model card: intended use, lineage, params, metrics, weak spots, gates, history."""
    from mlcycle.registry.card import build_card, render, write_card

    _connect()
    built = build_card(ref)
    if output is None:
        typer.echo(render(built, "md"))
        return
    typer.echo(f"Model card written to {write_card(built, output)}")


@app.command("copy")
def copy(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. churn@staging."),
    to_tracking_uri: str = typer.Option(..., "--to-tracking-uri", help="Target registry URI."),
    as_json: bool = _JSON,
) -> None:
    """Copy a version, with its lineage, into another registry (dev to prod)."""
    from mlcycle.registry.copy import copy_version

    _connect()
    result = copy_version(ref, to_tracking_uri)
    if as_json:
        print_json(result.__dict__)
        return
    held = ", holdout copied" if result.holdout_copied else ""
    typer.echo(
        f"Copied {result.source} to {result.target_uri} as {result.name} version "
        f"{result.version} (alias challenger{held})."
    )


@app.command("lineage")
def lineage(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. churn@production."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Show what a model version was made from: dataset version, git commit, run."""
    from mlcycle.registry.lineage import model_lineage

    _connect()
    found = model_lineage(ref)
    if as_json:
        print_json(found.to_dict())
        return
    dirty = " (uncommitted changes)" if found.git_dirty == "true" else ""
    data = found.dataset or f"{found.dataset_name} (a file, not a stored dataset version)"
    typer.echo(
        f"{found.model} version {found.version}"
        + (f" ({', '.join(found.aliases)})" if found.aliases else "")
    )
    typer.echo(f"  dataset  {data}, digest {found.dataset_digest}")
    typer.echo(f"  source   {found.dataset_source}")
    typer.echo(f"  commit   {found.git_commit}{dirty}")
    typer.echo(f"  run      {found.run_id}")


@app.command("verify")
def verify(
    ref: str = typer.Argument(..., help="NAME@ALIAS or NAME/VERSION, e.g. churn@production."),
    record: bool = typer.Option(
        False,
        "--record",
        help="Record a manifest for a version registered without one, from its files as "
        "stored now (check them first).",
    ),
    as_json: bool = _JSON,
) -> None:
    """Check every file of a version against the manifest recorded when it was registered."""
    from mlcycle.registry.integrity import record_manifest, verify_files
    from mlcycle.registry.manifest import mismatch_error

    _connect()
    result = record_manifest(ref) if record else verify_files(ref)
    if as_json:
        print_json(result.to_dict())
    else:
        for difference in result.differences:
            typer.echo(f"{difference.problem:<10} {difference.path}")
        if result.recorded:
            typer.echo(
                f"Recorded the manifest of {result.name} version {result.version}: "
                f"{result.files} files; only these files will load."
            )
        elif result.ok:
            typer.echo(f"{result.name} version {result.version}: all {result.files} files match.")
    if not result.ok:
        raise mismatch_error(result.name, result.version, result.differences)
