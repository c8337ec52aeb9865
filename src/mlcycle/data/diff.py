"""What changed between two dataset versions: rows, labels, relabelled texts.

Rows are compared as a multiset of (text, label) pairs: a row present twice in A and
once in B counts as one removed. The pairs of both versions are numbered against one
shared Arrow dictionary, then counted with ``bincount``: two million-row versions
compare in about a second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.settings import Settings, get_settings

EXAMPLES = 5
_KEYS = ["text", "label"]


@dataclass(frozen=True)
class LabelChange:
    label: str
    count_a: int
    count_b: int
    share_a: float
    share_b: float

    @property
    def delta(self) -> float:
        return self.share_b - self.share_a


@dataclass(frozen=True)
class DatasetDiff:
    """Rows added and removed from A to B, and how the label distribution moved."""

    a: str
    b: str
    rows_a: int
    rows_b: int
    added: int
    removed: int
    unchanged: int
    relabelled_texts: int
    new_labels: list[str]
    vanished_labels: list[str]
    label_distance: float  # total variation distance between the label distributions
    labels: list[LabelChange]  # every label, biggest share change first
    added_examples: list[dict[str, str]]
    removed_examples: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for change, entry in zip(self.labels, out["labels"], strict=True):
            entry["delta"] = round(change.delta, 6)
        return out


def diff_versions(a: str, b: str, settings: Settings | None = None) -> DatasetDiff:
    """Compare two stored versions (``NAME@A``, ``NAME@B``; they may be of two datasets)."""
    from mlcycle.data.store import read_table, resolve

    settings = settings or get_settings()
    va, vb = resolve(a, settings), resolve(b, settings)
    ta = read_table(va, _KEYS, settings)
    tb = read_table(vb, _KEYS, settings)
    return diff_tables(ta, tb, va.ref, vb.ref)


def diff_tables(ta: pa.Table, tb: pa.Table, a: str = "A", b: str = "B") -> DatasetDiff:
    """Compare two tables with ``text`` and ``label`` columns."""
    pairs = _Encoded.of([_pair_keys(ta), _pair_keys(tb)])
    count_a, count_b = pairs.counts(0), pairs.counts(1)
    gained = np.maximum(count_b - count_a, 0)
    lost = np.maximum(count_a - count_b, 0)
    # Relabelled: a text with a pair found only in A and another found only in B.
    only_a = _texts(pairs.values, np.flatnonzero((count_a > 0) & (count_b == 0)))
    only_b = _texts(pairs.values, np.flatnonzero((count_b > 0) & (count_a == 0)))
    relabelled = pc.unique(only_a.filter(pc.is_in(only_a, value_set=only_b)))
    labels = _label_changes(ta, tb)
    removed = int(lost.sum())
    return DatasetDiff(
        a=a,
        b=b,
        rows_a=ta.num_rows,
        rows_b=tb.num_rows,
        added=int(gained.sum()),
        removed=removed,
        unchanged=ta.num_rows - removed,
        relabelled_texts=len(relabelled),
        new_labels=sorted(c.label for c in labels if c.count_a == 0),
        vanished_labels=sorted(c.label for c in labels if c.count_b == 0),
        label_distance=round(sum(abs(c.delta) for c in labels) / 2, 6),
        labels=labels,
        added_examples=_examples(pairs.values, np.flatnonzero(gained)),
        removed_examples=_examples(pairs.values, np.flatnonzero(lost)),
    )


_SEP = "\x1f"  # unit separator: never inside a validated text or code


def _pair_keys(table: pa.Table) -> pa.ChunkedArray:
    return pc.binary_join_element_wise(table.column("text"), table.column("label"), _SEP)


def _texts(keys: pa.Array, ids: np.ndarray) -> pa.Array:
    """The text part of some pair keys (only changed pairs: usually few)."""
    found = pc.extract_regex(keys.take(pa.array(ids, pa.int64())), r"^(?P<text>[\s\S]*)\x1f")
    return found.field("text")


@dataclass(frozen=True)
class _Encoded:
    """Values of several arrays numbered against one shared dictionary."""

    values: pa.Array  # the distinct values
    ids: np.ndarray  # every row's value number, all parts one after the other
    bounds: tuple[int, ...]  # where each part starts and ends in ``ids``

    @classmethod
    def of(cls, parts: list[pa.ChunkedArray]) -> _Encoded:
        kind = parts[0].type
        chunks = [c for part in parts for c in part.cast(kind).chunks]
        joined = pa.chunked_array(chunks, kind)
        encoded = pc.dictionary_encode(joined).combine_chunks()
        bounds = tuple(np.cumsum([0, *(len(part) for part in parts)]).tolist())
        ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return cls(encoded.dictionary, ids, bounds)

    def counts(self, part: int) -> np.ndarray:
        """How many rows of one part hold each distinct value."""
        ids = self.ids[self.bounds[part] : self.bounds[part + 1]]
        return np.bincount(ids, minlength=len(self.values))


def _label_changes(ta: pa.Table, tb: pa.Table) -> list[LabelChange]:
    counts_a = _label_counts(ta)
    counts_b = _label_counts(tb)
    total_a, total_b = max(ta.num_rows, 1), max(tb.num_rows, 1)
    changes = [
        LabelChange(
            label,
            counts_a.get(label, 0),
            counts_b.get(label, 0),
            round(counts_a.get(label, 0) / total_a, 6),
            round(counts_b.get(label, 0) / total_b, 6),
        )
        for label in sorted(set(counts_a) | set(counts_b))
    ]
    return sorted(changes, key=lambda c: (-abs(c.delta), c.label))


def _label_counts(table: pa.Table) -> dict[str, int]:
    return {c["values"]: c["counts"] for c in pc.value_counts(table.column("label")).to_pylist()}


def _examples(keys: pa.Array, ids: np.ndarray) -> list[dict[str, str]]:
    """A few distinct rows of a change, the first in text order (stable across runs)."""
    if len(ids) == 0:
        return []
    picked = keys.take(pa.array(ids))
    first = picked.take(pc.bottom_k_unstable(picked, min(EXAMPLES, len(picked))))
    rows = [key.rpartition(_SEP) for key in sorted(first.to_pylist())]
    return [{"text": text, "label": label} for text, _, label in rows]
