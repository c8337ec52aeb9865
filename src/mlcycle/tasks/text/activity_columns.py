"""Registry columns beside a generated description: ``type_``, ``nature``, ``surface``, ``event``.

Insee's coding API takes, beside the activity text, the type of the registry form
(``type_``), the nature of the activity (``nature``), the retail surface band
(``surface``) and the event behind the declaration (``event``). The generator can emit
such columns (``generate(..., extra_columns=True)``), with signal: each column prefers
one value per activity, keyed at one level of the nomenclature (the form type by
section, the nature by class, the surface by subclass, the event by division), takes
it on a share of the rows and a common value otherwise, and is sometimes left blank.

The values are stand-ins shaped like the real code lists, and the signal is an
assumption, not a measurement: it tells whether a model uses such columns, not how
much real ones would help.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mlcycle.tasks.text.nace import codes_at_level


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is drawn."""

    name: str
    values: tuple[str, ...]
    level: str  # the nomenclature level its preferred value depends on
    strength: float  # share of rows taking the activity's preferred value
    missing: float  # share of rows left blank


COLUMNS = (
    ColumnSpec("type_", tuple("ABCDEGILMNPRSXYZ"), "section", 0.7, 0.02),
    ColumnSpec("nature", (*(str(n) for n in range(10, 25)), "99"), "class", 0.6, 0.10),
    ColumnSpec("surface", ("1", "2", "3", "4"), "subclass", 0.5, 0.50),
    ColumnSpec(
        "event",
        ("01P", "01M", "02P", "02M", "03P", "03M", "04P", "05P", "07P", "08P", "09P", "10P"),
        "division",
        0.4,
        0.05,
    ),
)
NAMES = tuple(spec.name for spec in COLUMNS)
# Mixed into the generator's seed: these draws never move the texts' and labels'.
_STREAM = 2718


def draw_columns(codes: Sequence[str], seed: int) -> dict[str, list[str | None]]:
    """The columns of rows whose true activities are ``codes`` (subclass codes)."""
    rng = np.random.default_rng([seed, _STREAM])
    return {spec.name: _draw(rng, spec, codes) for spec in COLUMNS}


def _draw(rng: np.random.Generator, spec: ColumnSpec, codes: Sequence[str]) -> list[str | None]:
    n = len(codes)
    values = np.asarray(spec.values, dtype=object)
    keys = codes_at_level(list(codes), spec.level) if spec.level != "subclass" else codes
    preferred = np.asarray([_preferred(spec, key) for key in keys], dtype=np.int64)
    common = rng.choice(len(values), size=n, p=_zipf(len(values)))
    chosen = np.where(rng.random(n) < spec.strength, preferred, common)
    out = values[chosen]
    out[rng.random(n) < spec.missing] = None
    return out.tolist()


def _preferred(spec: ColumnSpec, key: str) -> int:
    """The activity's preferred value: a stable hash, the same in every process."""
    return zlib.crc32(f"{spec.name}:{key}".encode()) % len(spec.values)


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()
