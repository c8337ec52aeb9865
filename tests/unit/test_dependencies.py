"""Every library the package imports is one it declares: `make demo` installs only those."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

SRC = Path(__file__).resolve().parents[2] / "src" / "mlcycle"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_modules() -> dict[str, str]:
    """Top-level module -> one file importing it, for every import under src/."""
    found: dict[str, str] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(SRC)))
    return found


def _requirements(dist: str, extras: set[str]) -> dict[str, set[str]]:
    """What ``dist`` installed with ``extras`` requires here: name -> extras asked of it."""
    out: dict[str, set[str]] = {}
    try:
        lines = requires(dist) or []
    except PackageNotFoundError:
        return out  # required only elsewhere (another platform or Python)
    for line in lines:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker and not any(marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        out.setdefault(_norm(requirement.name), set()).update(requirement.extras)
    return out


def _installed_by_mlcycle() -> set[str]:
    """Every distribution `pip install mlcycle` brings, without mlcycle's extras."""
    seen: set[str] = set()
    todo = [(_norm("mlcycle"), set())]
    while todo:
        dist, extras = todo.pop()
        for name, asked in _requirements(dist, extras).items():
            if name not in seen:
                seen.add(name)
                todo.append((name, asked))
    return seen


def test_every_imported_library_is_installed_with_the_package() -> None:
    installed = _installed_by_mlcycle()
    providers = packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_modules().items()):
        if module in sys.stdlib_module_names or module in ("mlcycle", "__future__"):
            continue
        dists = {_norm(d) for d in providers.get(module, [])}
        if not dists & installed:
            missing.append(f"{module} (imported in {where})")
    assert not missing, "imported, but not installed by the package's dependencies: " + (
        "; ".join(missing)
    )
