"""The fastText hyperparameters, checked once with one clear message per mistake.

Beside fastText's training knobs, the size of the saved model: ``prune`` (on by default)
keeps only the input rows training touched, which changes no prediction (see
``rows.py``); ``quantize`` (off by default: it costs a little accuracy and some training
time, so a project asks for it) compresses the rows with product quantization as
fastText's ``quantize`` does, then retrains the classifier on them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from mlcycle.core.errors import InvalidInput
from mlcycle.core.processes import usable_cores

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
    prune: bool = True  # drop the rows no training text touched (predictions unchanged)
    quantize: bool = False  # product-quantize the input rows (see quantize.py)
    dsub: int = 2  # dimensions per sub-vector: one byte codes this many floats
    # quantize: keep this many rows, largest norms first (0: all). 50,000 bounds the rows
    # at about 3.8 MB (dim 150, dsub 2) whatever the data; they are the ones that weigh.
    cutoff: int = 50_000
    retrain: int = 5  # quantize: epochs retraining the classifier on quantized rows
    qout: bool = False  # quantize: the output matrix too (fastText's qout)

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
            (1 <= self.dsub <= self.dim, "dsub must be between 1 and dim"),
            (self.cutoff >= 0, "cutoff must be 0 (keep every row) or more"),
            (self.retrain >= 0, "retrain must be 0 (no retraining) or more epochs"),
            (
                self.prune or not self.quantize,
                "quantize needs prune (a quantized model keeps "
                "only the rows training touched); drop prune: false",
            ),
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
        return self.thread or usable_cores()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cast(raw: Any, kind: str) -> Any:
    """Cast a CLI or MLproject value; ``"25.0"`` is a fine int (MLproject has no int type)."""
    if kind == "bool":
        return _boolean(raw)
    if kind == "int":
        number = float(raw)
        if not number.is_integer():
            raise ValueError(raw)
        return int(number)
    return float(raw) if kind == "float" else str(raw)


def _boolean(raw: Any) -> bool:
    """``true``/``false`` from YAML, or the strings and 0/1 a command line gives."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "1.0", "yes", "on"):
        return True
    if text in ("false", "0", "0.0", "no", "off"):
        return False
    raise ValueError(raw)
