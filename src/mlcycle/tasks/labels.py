"""Label hierarchies (nomenclatures): levels above a label, official names of labels.

A classification project may say its labels belong to a nomenclature
(``data.nomenclature``), and at which of its levels (``data.label_level``; None: the
finest); evaluation then scores that level and every level above it, serving answers
with each label's official name and parents, monitoring watches the coarsest level,
and ``data add`` refuses labels that are not codes of that level. Without one, labels
are plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from mlcycle.core.errors import InvalidInput


class Nomenclature(Protocol):
    """A hierarchy of codes: levels from the coarsest to the labels' own."""

    @property
    def name(self) -> str:
        """What ``data.nomenclature`` calls it."""

    @property
    def levels(self) -> tuple[str, ...]:
        """Its levels, coarsest first."""

    @property
    def written_pattern(self) -> str:
        """A regular expression of the labels as people may write them (what
        ``normalise`` accepts), published in API schemas."""

    def normalise(self, code: str) -> str | None:
        """The canonical form of a label, or None when it is not one of the hierarchy's."""

    def at_level(self, codes: Sequence[str], level: str) -> list[str]:
        """Each canonical label's ancestor at ``level``."""

    def label(self, code: str) -> str | None:
        """The official name of a code of any level, when known."""

    def parents(self, code: str) -> Mapping[str, tuple[str, str]]:
        """The ``(code, official name)`` of each level above a code, coarsest first;
        empty for a code of the coarsest level or one the hierarchy does not know."""

    def for_level(self, level: str) -> Nomenclature:
        """The same hierarchy with labels at ``level``; ValueError for no such level."""


def known() -> Mapping[str, Callable[[], Nomenclature]]:
    """Every nomenclature by name, each built when first asked for.

    They ship with the task whose labels they are: the text task's today. Imported
    here, not at the top: the text task's modules import this one.
    """
    from mlcycle.tasks.text.nomenclatures import NOMENCLATURES

    return NOMENCLATURES


def nomenclature(name: str | None, level: str | None = None) -> Nomenclature | None:
    """The nomenclature called ``name`` with labels at ``level``; None for None.

    Args:
        name: ``data.nomenclature``.
        level: ``data.label_level``; None: the nomenclature's finest level.

    Raises:
        InvalidInput: No nomenclature has that name, or it has no such level.
    """
    if name is None:
        return None
    factories = known()
    factory = factories.get(name)
    if factory is None:
        raise InvalidInput(
            f"Unknown nomenclature {name!r} in data.nomenclature; known: {', '.join(factories)}."
        )
    found = factory()
    if level is None:
        return found
    try:
        return found.for_level(level)
    except ValueError:
        raise InvalidInput(
            f"data.label_level {level!r} is no level of {name}; choose one of "
            f"{', '.join(found.levels)}."
        ) from None
