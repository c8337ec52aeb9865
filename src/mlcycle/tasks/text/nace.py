"""NAF rev.2 (the French version of NACE rev.2): its codes, levels and official labels.

The whole nomenclature ships beside this module as ``naf_rev2.csv``: the 732
subclasses (``0111Z`` ... ``9900Z``), each with its class, group, division and section
and the French label of every level. Source: INSEE's published NAF rev.2 nomenclature
(https://www.insee.fr/fr/information/2120875), Licence Ouverte / Open Licence 2.0
(Etalab), as tabulated in InseeFrLab/codif-ape-train (``data/naf_extended.csv``) with
its columns renamed. The table is read on first use, once per process.

Codes are written compactly and in upper case: section ``I``, division ``56``, group
``561``, class ``5610``, subclass ``5610A``; the dotted forms people write (``56.1``,
``56.10``, ``56.10a``, ``56 10 A``) are read as the same codes. A code is valid only if
the table has it: ``0400Z`` (no division 04) and ``5699Z`` (no class 56.99) are not.

``NAF_REV2`` offers the table as a :class:`mlcycle.tasks.labels.Nomenclature` whose
labels are subclasses; ``NAF_REV2.for_level("class")`` is the same nomenclature for a
project whose labels are classes (``data.label_level``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import NamedTuple

LEVELS = ("section", "division", "group", "class", "subclass")
TABLE = "naf_rev2.csv"

# Characters people put inside codes ("56.10A", "56 10 A") that carry no meaning.
_SEPARATORS = re.compile(r"[\s.]+")
_WRITTEN_SEPARATOR = r"[\s.]*"


class Parent(NamedTuple):
    """A code above another one, with its official label."""

    code: str
    label: str


@dataclass(frozen=True)
class _Table:
    """Every code of every level: its level and label; each division's section."""

    codes: dict[str, tuple[str, str]]  # compact code -> (level, label)
    section_of_division: dict[str, str]

    def at(self, level: str) -> list[str]:
        return [code for code, (lv, _) in self.codes.items() if lv == level]


@lru_cache(maxsize=1)
def _table() -> _Table:
    text = resources.files(__package__).joinpath(TABLE).read_text(encoding="utf-8")
    codes: dict[str, tuple[str, str]] = {}
    sections: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        for level in LEVELS:
            codes.setdefault(row[level].replace(".", ""), (level, row[f"{level}_label"]))
        sections[row["division"]] = row["section"]
    return _Table(codes, sections)


def _known(raw: object) -> tuple[str, str] | None:
    """The canonical form and level of a code written any usual way, if the table has it."""
    if not isinstance(raw, str):
        return None
    stripped = _SEPARATORS.sub("", raw)
    # ASCII before upper case: "ſ".upper() is "S", and digits of other scripts exist.
    compact = stripped.upper() if stripped.isascii() else ""
    found = _table().codes.get(compact)
    return (compact, found[0]) if found else None


def level_of(code: str) -> str | None:
    """The level of a NAF rev.2 code (``"56.10"`` -> ``"class"``), None if it is none."""
    known = _known(code)
    return known[1] if known else None


def normalise_code(raw: str, level: str = "subclass") -> str | None:
    """Bring a code of one level to its canonical form.

    Args:
        raw: A code as people write it: ``"56.10A"``, ``" 5610a "``, ``"56 10 A"``.
        level: The level the code must be at (one of :data:`LEVELS`).

    Returns:
        The canonical code (``"5610A"``), or None when the input is no code of that
        level of NAF rev.2: malformed, unknown (``"0400Z"``, ``"5699Z"``) or another level.
    """
    known = _known(raw)
    return known[0] if known and known[1] == level else None


def section_of(code: str) -> str:
    """The section letter of a code of any level.

    Raises:
        ValueError: If the code is no NAF rev.2 code (``"0400Z"``, ``"XX"``).
    """
    known = _known(code)
    if known is None:
        raise ValueError(f"{code!r} is no NAF rev.2 code: no such division or code.")
    canonical, level = known
    return canonical if level == "section" else _table().section_of_division[canonical[:2]]


# Number of leading characters each numeric level keeps, and a code of each level.
_LEVEL_WIDTH = {"division": 2, "group": 3, "class": 4, "subclass": 5}
_EXAMPLE = {
    "section": "I",
    "division": "56",
    "group": "56.1",
    "class": "56.10",
    "subclass": "5610A",
}


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}; choose one of {', '.join(LEVELS)}.")


def at_level(code: str, level: str, of: str = "subclass") -> str:
    """The ancestor at ``level`` of a code of level ``of`` (itself at its own level).

    Raises:
        ValueError: If a level is unknown, ``level`` is finer than ``of``, or the code is
            no NAF rev.2 code of level ``of``.
    """
    _check_level(level)
    _check_level(of)
    if LEVELS.index(level) > LEVELS.index(of):
        raise ValueError(f"A {of} code has no {level}: that level is finer.")
    canonical = normalise_code(code, of)
    if canonical is None:
        raise ValueError(f"{code!r} is not a NAF {of} code such as {_EXAMPLE[of]}.")
    if level == "section":
        return section_of(canonical)
    return canonical[: _LEVEL_WIDTH[level]]


def codes_at_level(codes: Sequence[str], level: str, of: str = "subclass") -> list[str]:
    """Map many codes of level ``of`` to ``level``, computing each distinct code once.

    Raises:
        ValueError: If a level is unknown or any code is invalid.
    """
    _check_level(level)
    cache: dict[str, str] = {}
    out: list[str] = []
    for code in codes:
        mapped = cache.get(code)
        if mapped is None:
            mapped = cache[code] = at_level(code, level, of)
        out.append(mapped)
    return out


def label(code: str) -> str | None:
    """The official French label of a code of any level (``"I"``, ``"56"``, ``"56.1"``,
    ``"56.10"``, ``"56.10A"``), None when it is no NAF rev.2 code."""
    known = _known(code)
    return _table().codes[known[0]][1] if known else None


def parents(code: str) -> dict[str, Parent]:
    """The codes above a code, coarsest first, each with its label.

    Args:
        code: A code of any level, written any usual way.

    Returns:
        ``{"section": Parent("I", "Hébergement et restauration"), "division": ...}`` up
        to the level just above the code's; empty for a section or an unknown code.
    """
    known = _known(code)
    if known is None:
        return {}
    canonical, level = known
    found = {}
    for above in LEVELS[: LEVELS.index(level)]:
        ancestor = at_level(canonical, above, level)
        found[above] = Parent(ancestor, _table().codes[ancestor][1])
    return found


def subclasses() -> list[tuple[str, str]]:
    """Every subclass code and its label, in code order."""
    return sorted((code, text) for code, (lv, text) in _table().codes.items() if lv == "subclass")


def _one_of(chars: Iterable[str]) -> str:
    """A character class of ``chars``, letters in either case."""
    spelled = "".join(c + c.lower() if c.isalpha() else c for c in chars)
    return spelled if len(spelled) == 1 else f"[{spelled}]"


def _alternation(codes: Iterable[str]) -> str:
    """A regular expression of exactly ``codes`` (all of one length), with separators
    allowed between characters: a trie whose branches with the same continuation share
    one character class (``5610[ABC]`` rather than three branches)."""
    by_head: dict[str, list[str]] = {}
    for code in sorted(codes):
        by_head.setdefault(code[0], []).append(code[1:])
    heads_by_rest: dict[str, list[str]] = {}
    for head, tails in by_head.items():
        rest = _alternation(tails) if tails != [""] else ""
        heads_by_rest.setdefault(rest, []).append(head)
    parts = [
        _one_of(heads) + (_WRITTEN_SEPARATOR + rest if rest else "")
        for rest, heads in heads_by_rest.items()
    ]
    return parts[0] if len(parts) == 1 else f"(?:{'|'.join(parts)})"


@dataclass(frozen=True)
class NafRev2:
    """NAF rev.2 as a :class:`mlcycle.tasks.labels.Nomenclature` whose labels are the
    codes of ``label_level`` (subclasses by default)."""

    label_level: str = "subclass"
    name = "naf-rev2"

    def __post_init__(self) -> None:
        _check_level(self.label_level)

    @property
    def levels(self) -> tuple[str, ...]:
        """The levels from the section down to the labels' own."""
        return LEVELS[: LEVELS.index(self.label_level) + 1]

    @cached_property
    def written_pattern(self) -> str:
        """A regular expression of exactly the labels :meth:`normalise` accepts."""
        sep = _WRITTEN_SEPARATOR
        return f"^{sep}{_alternation(_table().at(self.label_level))}{sep}$"

    def for_level(self, level: str) -> NafRev2:
        """The same nomenclature with labels at ``level``.

        Raises:
            ValueError: If ``level`` is not one of :data:`LEVELS`.
        """
        return NafRev2(level)

    def normalise(self, code: str) -> str | None:
        return normalise_code(code, self.label_level)

    def at_level(self, codes: Sequence[str], level: str) -> list[str]:
        return codes_at_level(codes, level, self.label_level)

    def label(self, code: str) -> str | None:
        return label(code)

    def parents(self, code: str) -> dict[str, Parent]:
        return parents(code)


NAF_REV2 = NafRev2()
