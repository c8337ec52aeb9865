"""Label hierarchies (nomenclatures): levels above a label, official names of labels.

A classification project may say its labels belong to a nomenclature
(``data.nomenclature``); evaluation then scores every level, serving answers with
each label's official name, monitoring watches the coarsest level, and ``data add``
refuses labels the nomenclature does not know. Without one, labels are plain strings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from mlcycle.core.errors import InvalidInput


class Nomenclature(Protocol):
    """A hierarchy of codes: levels from the coarsest to the labels themselves."""

    name: str
    levels: tuple[str, ...]
    # A regular expression of the labels as people may write them (what ``normalise``
    # accepts), published in API schemas.
    written_pattern: str

    def normalise(self, code: str) -> str | None:
        """The canonical form of a label, or None when it is not one of the hierarchy's."""

    def at_level(self, codes: Sequence[str], level: str) -> list[str]:
        """Each canonical label's ancestor at ``level``."""

    def label(self, code: str) -> str | None:
        """The official name of a code of any level, when known."""


def _naf_rev2() -> Nomenclature:
    from mlcycle.tasks.text.nace import NAF_REV2

    return NAF_REV2


NOMENCLATURES: dict[str, Callable[[], Nomenclature]] = {"naf-rev2": _naf_rev2}


def nomenclature(name: str | None) -> Nomenclature | None:
    """The nomenclature called ``name``; None for None.

    Raises:
        InvalidInput: No nomenclature has that name.
    """
    if name is None:
        return None
    factory = NOMENCLATURES.get(name)
    if factory is None:
        raise InvalidInput(
            f"Unknown nomenclature {name!r} in data.nomenclature; known: "
            f"{', '.join(NOMENCLATURES)}."
        )
    return factory()
