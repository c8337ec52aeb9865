"""The fastText hyperparameters, checked once with one clear message per mistake."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from mlcycle.core.errors import InvalidInput

LOSSES = ("ova", "softmax", "hs")


@dataclass(frozen=True)
class FastTextParams:
    """Names and defaults as in fastText and the seed's MLproject."""

    dim: int = 150
    lr: float = 0.2
    epoch: int = 25
    wordNgrams: int = 3
    minn: int = 3
    maxn: int = 4
    minCount: int = 3
    bucket: int = 100_000
    thread: int = 0  # 0: one per available core
    loss: str = "ova"
    seed: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.dim >= 1, "dim must be at least 1"),
            (self.lr > 0, "lr must be positive"),
            (self.epoch >= 1, "epoch must be at least 1"),
            (self.wordNgrams >= 1, "wordNgrams must be at least 1"),
            (self.maxn >= 0 and self.minn >= 0, "minn and maxn must not be negative"),
            (self.maxn == 0 or 1 <= self.minn <= self.maxn, "minn must be between 1 and maxn"),
            (self.minCount >= 1, "minCount must be at least 1"),
            (self.bucket >= 1, "bucket must be at least 1"),
            (self.thread >= 0, "thread must be 0 (one per core) or more"),
            (self.loss in LOSSES, f"loss must be one of {', '.join(LOSSES)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidInput(f"Invalid fastText parameter: {message}.")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> FastTextParams:
        """Build from strings or numbers (``-P dim=25``), refusing unknown names."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise InvalidInput(
                f"Unknown fastText parameter {unknown[0]!r}; known: {', '.join(known)}."
            )
        converted = {}
        for name, raw in values.items():
            try:
                converted[name] = _cast(raw, str(known[name]))
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"fastText parameter {name}={raw!r} is not a valid {known[name]}."
                ) from None
        return cls(**converted)

    def threads(self) -> int:
        """Threads to train with: ``thread``, or the cores this process may use."""
        if self.thread:
            return self.thread
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cast(raw: Any, kind: str) -> Any:
    """Cast a CLI or MLproject value; ``"25.0"`` is a fine int (MLproject has no int type)."""
    if kind == "int":
        number = float(raw)
        if not number.is_integer():
            raise ValueError(raw)
        return int(number)
    return float(raw) if kind == "float" else str(raw)
