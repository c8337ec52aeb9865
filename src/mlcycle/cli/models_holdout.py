"""``mlcycle models holdout``: show the frozen holdouts, redraw one on purpose."""

from __future__ import annotations

import typer

from mlcycle.cli.output import print_json

app = typer.Typer(
    help="The frozen holdouts the gates judge on, one per dataset: show, redraw.",
    no_args_is_help=True,
)

_JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _connect() -> None:
    """Point MLflow at the project's store, without download progress bars on stderr."""
    import os

    from mlcycle.core.tracking import use_tracking

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    use_tracking()


@app.command("show")
def show(
    dataset: str | None = typer.Option(
        None, "--dataset", help="Only this dataset's holdout (default: every dataset's)."
    ),
    as_json: bool = _JSON,
) -> None:
    """Each dataset's current holdout: version, rows, what it was drawn from."""
    from mlcycle.cli.views import console, table
    from mlcycle.core.errors import NotFound
    from mlcycle.core.settings import get_settings
    from mlcycle.data.holdout import current_holdouts, find_holdout

    _connect()
    settings = get_settings()
    if dataset is None:
        found = current_holdouts(settings)
    else:
        one = find_holdout(dataset, settings)
        if one is None:
            raise NotFound(
                f"Dataset {dataset!r} has no frozen holdout yet; the first training on it "
                f"draws one, or draw it now: mlcycle models holdout redraw --dataset {dataset}."
            )
        found = [one]
    if as_json:
        print_json({"holdouts": [h.summary() | {"run_id": h.run_id} for h in found]})
        return
    if not found:
        typer.echo("No frozen holdout yet: the first training on a dataset draws its own.")
        return
    rows = [
        [h.dataset, h.version, f"{len(h.frame):,}", h.source, h.digest, h.run_id] for h in found
    ]
    columns = ["dataset", "version", "rows", "drawn from", "digest", "run"]
    console().print(table("Frozen holdouts", columns, rows))


@app.command("redraw")
def redraw(
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        help="Dataset NAME (its latest version) or NAME@V to draw from, or 'synthetic'. "
        "Default: the project's dataset, what mlcycle train reads.",
        show_default=False,
    ),
    as_json: bool = _JSON,
) -> None:
    """Draw a dataset's holdout again: models trained from now on leave the new rows out
    and are judged on them."""
    from mlcycle.core.settings import get_settings
    from mlcycle.train.holdouts import redraw as run_redraw

    _connect()
    done = run_redraw(dataset, get_settings())
    if as_json:
        print_json(done.to_dict())
        return
    new, old = done.holdout, done.previous
    verb = "Redrew" if old is not None else "Drew"
    typer.echo(
        f"{verb} the holdout of {new.dataset}: version {new.version}, {len(new.frame):,} rows "
        f"from {new.source} (digest {new.digest})."
    )
    if old is not None:
        typer.echo(
            f"Version {old.version} ({len(old.frame):,} rows from {old.source}) is retired. "
            f"Models trained on {new.dataset} from now on leave the new rows out and are "
            "judged on them; versions trained before keep the holdout they left out (train "
            "them again to judge them on the new one)."
        )
    else:
        typer.echo(
            f"Models trained on {new.dataset} leave these rows out, and the gates judge "
            "them on these rows."
        )
