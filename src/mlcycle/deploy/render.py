"""``mlcycle deploy render``: the packaged templates plus the project's settings, written
to a folder that ArgoCD, ``kubectl apply -k`` and ``argo submit`` read.

Templates are package data (``templates/``), so an installed mlcycle renders them.
Files are copied as they are, except ``${mlcycle.NAME}`` placeholders (the image, the
model, the dataset...), and the per-environment files are built from settings
(``overlay``). The repository's ``deploy/`` folder is this output for the flagship
project: ``make manifests`` writes it and a test checks that it is up to date.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from mlcycle import __version__
from mlcycle.core.errors import InvalidInput
from mlcycle.core.files import atomic_write_text
from mlcycle.core.settings import Settings, cases_path, project_source
from mlcycle.deploy import overlay

_PLACEHOLDER = re.compile(r"\$\{mlcycle\.(\w+)\}")
_EXAMPLE_REPO = "https://git.example.com/team/project.git"
HEADER = (
    "# Rendered by `mlcycle deploy render` from the project's settings: change the settings\n"
    "# (the deploy section of mlcycle.yaml) and render again rather than this file.\n"
)


@dataclass
class RenderResult:
    """What ``render`` wrote, for which environments and image, and what to look at."""

    out: Path
    environments: list[str]
    image: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "out": str(self.out),
            "environments": self.environments,
            "image": self.image,
            "files": [str(path) for path in self.files],
            "notes": self.notes,
        }


def templates() -> Path:
    """The packaged templates folder."""
    return Path(str(resources.files("mlcycle.deploy").joinpath("templates")))


def render(
    settings: Settings, environments: Iterable[str], out: Path, image: str | None = None
) -> RenderResult:
    """Write the manifests of ``environments`` (dev, staging, prod...) under ``out``.

    Raises:
        InvalidInput: No environment given, or one that ``deploy.environments`` lacks.
    """
    names = _known(settings, list(environments))
    image = image or default_image(settings)
    result = RenderResult(out=out, environments=names, image=image)
    values = _placeholders(settings, image)
    project = project_source().read_text(encoding="utf-8")
    for source in sorted(p for p in templates().rglob("*") if p.is_file()):
        relative = source.relative_to(templates())
        if "__pycache__" in relative.parts:
            continue
        _write(result, relative, _substitute(source.read_text(encoding="utf-8"), values, relative))
    _write(result, Path("kubernetes/base/mlcycle.yaml"), project)
    cases = _cases_file(settings)
    alerts = (templates() / "prometheus" / "alerts.yml").read_text(encoding="utf-8")
    checksum = _checksum(
        project + (cases[1] if cases else ""),
        (templates() / "kubernetes/base/mlcycle.env").read_bytes(),
    )
    for name in names:
        env = overlay.environment(settings, name)
        _render_environment(result, settings, env, alerts, checksum, cases)
    result.notes = _notes(settings, image)
    return result


def _cases_file(settings: Settings) -> tuple[str, str] | None:
    """The behaviour gate's cases file, as the pods get it: its name and text (None: the
    cases are in the project file)."""
    path = cases_path(settings)
    if path is None:
        return None
    if not path.is_file():
        raise InvalidInput(
            f"The behaviour cases file {path} (registry.gates.behaviour.cases_file) does not "
            "exist, and the cluster's trainings and promotions read it; create it or fix "
            "the path."
        )
    return path.name, path.read_text(encoding="utf-8")


def _render_environment(
    result: RenderResult,
    settings: Settings,
    env: overlay.Environment,
    alerts: str,
    checksum: str,
    cases: tuple[str, str] | None,
) -> None:
    folder = Path("kubernetes/overlays") / env.name
    literals = "\n".join(overlay.config_literals(settings, env)).encode()
    if cases is not None:  # kustomize reads files only inside the overlay's folder
        _write(result, folder / cases[0], cases[1])
    kustomization = overlay.kustomization(
        settings, env, result.image, _checksum(checksum, literals), [cases[0]] if cases else []
    )
    _write(result, folder / "kustomization.yaml", HEADER + _yaml(kustomization))
    if settings.deploy.prometheus_operator:
        rule = overlay.prometheus_rule(alerts, env)
        _write(result, folder / "prometheusrule.yaml", HEADER + _yaml(rule))
    application = overlay.application(settings, env)
    _write(result, Path("argocd") / f"{env.name}.yaml", HEADER + _yaml(application))


def _known(settings: Settings, names: list[str]) -> list[str]:
    known = list(settings.deploy.environments)
    if not names:
        raise InvalidInput(f"Say which environment to render: --env {' | '.join(known)}.")
    for name in names:
        if name not in known:
            raise InvalidInput(
                f"Unknown environment '{name}'; deploy.environments has {', '.join(known)}."
            )
    return list(dict.fromkeys(names))


def default_image(settings: Settings) -> str:
    """``deploy.image``, else what ``make image`` tags: mlcycle:VERSION."""
    return settings.deploy.image or f"mlcycle:{__version__}"


def rendered_template(settings: Settings, relative: str, image: str | None = None) -> str:
    """One packaged template (``argo/pipeline/training.yaml``...) with the project's values."""
    image = image or default_image(settings)
    text = (templates() / relative).read_text(encoding="utf-8")
    return _substitute(text, _placeholders(settings, image), Path(relative))


def _placeholders(settings: Settings, image: str) -> dict[str, str]:
    return {
        "image": image,
        "model": settings.model.name,
        "dataset": settings.dataset_name,
        "study": settings.tune.study or f"{settings.experiment_name}-tune",
        "first_env": settings.registry.environments[0].name,
    }


def _substitute(text: str, values: dict[str, str], where: Path) -> str:
    def value(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise InvalidInput(
                f"The template {where} names ${{mlcycle.{match[1]}}}, which render does not "
                f"know; known: {', '.join(sorted(values))}."
            )
        return values[match[1]]

    return _PLACEHOLDER.sub(value, text)


def _checksum(text: str, data: bytes) -> str:
    return hashlib.sha256(text.encode() + b"\0" + data).hexdigest()[:16]


def _notes(settings: Settings, image: str) -> list[str]:
    notes = []
    if settings.deploy.repo_url == _EXAMPLE_REPO:
        notes.append(
            "deploy.repo_url is the example address: set it to your git repository so the "
            "ArgoCD Applications find these manifests."
        )
    if "/" not in image.split(":")[0]:
        notes.append(
            f"The image {image} has no registry: clusters cannot pull it; push it and pass "
            "--image REGISTRY/mlcycle:TAG (or set deploy.image)."
        )
    if settings.serve.prediction_log.salt:
        notes.append(
            "serve.prediction_log.salt is in the project file, which goes into a ConfigMap: "
            "move it to the API keys Secret as MLCYCLE_SERVE__PREDICTION_LOG__SALT."
        )
    return notes


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the overlay's patches) as readable literal blocks."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def _yaml(data: dict) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _write(result: RenderResult, relative: Path, text: str) -> None:
    """Write atomically: a reader (ArgoCD, kubectl) never sees half a file."""
    path = result.out / relative
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as exc:
        raise InvalidInput(
            f"Cannot write {path}: {exc.strerror or exc}; choose a writable folder with -o."
        ) from None
    result.files.append(relative)
