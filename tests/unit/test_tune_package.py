"""The tuning package's public surface, and no reaching into other objects' private parts.

Optuna offers public ways to do what tuning needs (``Study.tell`` fails a dead worker's
trial); a private attribute (``study._storage``) changes without notice between
versions, so none is used anywhere in ``train``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mlcycle.train.tune as tune_package

SRC = Path(__file__).resolve().parents[2] / "src" / "mlcycle"


def test_the_package_says_what_it_offers() -> None:
    assert set(tune_package.__all__) == {
        "TuneInterrupted",
        "TuneOptions",
        "TuneResult",
        "TuneStatus",
        "tune",
    }
    assert all(hasattr(tune_package, name) for name in tune_package.__all__)


def test_other_packages_use_the_surface_not_the_modules() -> None:
    outside = [p for p in SRC.rglob("*.py") if SRC / "train" / "tune" not in p.parents]
    deep = []
    for path in outside:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "mlcycle.train.tune."
            ):
                deep.append(f"{path.relative_to(SRC)}: {node.module}")
    assert deep == []


def _private_reads(path: Path) -> list[str]:
    """``x._name`` where ``x`` is not ``self`` or ``cls``: another object's private part."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        name = node.attr
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        found.append(f"{path.relative_to(SRC)}:{node.lineno} .{name}")
    return found


def test_training_reads_no_private_attribute_of_another_object() -> None:
    found = [hit for path in sorted((SRC / "train").rglob("*.py")) for hit in _private_reads(path)]
    assert found == []
