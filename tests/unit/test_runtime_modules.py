"""The modules a registered text model ships hold every mlcycle module they import: a
model loaded without mlcycle installed (plain MLflow) would fail on the one left out.
The fresh-venv test in tests/integration/test_interop.py shows it end to end; this
reads the imports, so a new module is caught in a second."""

from __future__ import annotations

import ast
from pathlib import Path

import mlcycle
from mlcycle.models.pyfunc import RUNTIME_MODULES

ROOT = Path(mlcycle.__file__).parent


def _imported(relative: str) -> set[str]:
    """The mlcycle modules a shipped file imports, as paths relative to the package."""
    tree = ast.parse((ROOT / relative).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    found = set()
    for name in names:
        if not name.startswith("mlcycle."):
            continue
        path = name.removeprefix("mlcycle.").replace(".", "/")
        if (ROOT / f"{path}.py").exists():
            found.add(f"{path}.py")
        elif (ROOT / path / "__init__.py").exists():
            found.add(f"{path}/__init__.py")
    return found


def test_every_shipped_module_imports_only_shipped_modules() -> None:
    shipped = set(RUNTIME_MODULES)
    missing = {
        f"{module} (imported by {relative})"
        for relative in RUNTIME_MODULES
        for module in _imported(relative) - shipped
    }
    assert not missing, sorted(missing)


def test_the_reader_sees_imports() -> None:
    # The check above could pass by reading nothing: the classifier imports its kernels.
    assert "models/fasttext/forward.py" in _imported("models/fasttext/classifier.py")
