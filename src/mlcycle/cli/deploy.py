"""``mlcycle deploy``: render the Kubernetes, ArgoCD and Argo manifests, and check them."""

from __future__ import annotations

from pathlib import Path

import typer

from mlcycle.cli.output import print_json

app = typer.Typer(
    help="Kubernetes manifests: render them from the project's settings, check them offline.",
    no_args_is_help=True,
)


@app.command("render")
def render(
    env: list[str] = typer.Option(
        [], "--env", "-e", help="Environment to render (dev, staging, prod), repeatable."
    ),
    out: Path | None = typer.Option(
        None, "--output", "-o", help="Folder to write (default: deploy.path, 'deploy')."
    ),
    image: str | None = typer.Option(
        None, "--image", help="Image every pod runs (default: deploy.image, else mlcycle:VERSION)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Write the manifests of an environment: kustomize base and overlay, ArgoCD
    Application, Argo workflows, alert rules, Grafana dashboard.

    The pods follow the environment's registry alias (MLCYCLE_SERVE__MODEL=NAME@ALIAS),
    so promoting a model changes no manifest. Check the result with `mlcycle deploy check`.
    """
    from mlcycle.core.settings import get_settings
    from mlcycle.deploy import render as render_manifests

    settings = get_settings()
    result = render_manifests(settings, env, out or Path(settings.deploy.path), image)
    if json_out:
        print_json(result.to_dict())
        return
    names = ", ".join(result.environments)
    typer.echo(f"Rendered {names} with image {result.image} into {result.out}/.")
    for note in result.notes:
        typer.echo(f"Note: {note}", err=True)


@app.command("check")
def check(
    folder: Path | None = typer.Argument(
        None, help="Rendered folder (default: deploy.path, 'deploy')."
    ),
    kubernetes: str = typer.Option(
        "1.32", "--kubernetes", help="Kubernetes version whose schemas the objects must match."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Validate rendered manifests offline: kustomize build of every overlay, the schema
    of every object, Argo and ArgoCD objects, promtool and amtool; exit 1 on a problem."""
    from mlcycle.core.settings import get_settings
    from mlcycle.deploy import check as check_manifests

    report = check_manifests(folder or Path(get_settings().deploy.path), kubernetes)
    if json_out:
        print_json(report.to_dict())
    else:
        for line in report.checked:
            typer.echo(f"ok       {line}")
        for line in report.skipped:
            typer.echo(f"skipped  {line}")
        for line in report.problems:
            typer.echo(f"PROBLEM  {line}")
        verdict = "valid" if report.ok else f"{len(report.problems)} problem(s)"
        typer.echo(f"{report.folder}: {verdict}.", err=not report.ok)
    raise typer.Exit(0 if report.ok else 1)
