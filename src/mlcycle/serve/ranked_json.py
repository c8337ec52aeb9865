"""The ``predictions`` of a text answer as JSON bytes, written by a compiled loop.

A 1,000-text answer at k=5 is 5,000 objects of code, probability, label and parents
(about 2 MB): built as Python dicts and serialised it cost more interpreter time than
the model's prediction, and the interpreter lock is what a worker's throughput is
bounded by. Everything in those objects but the probability is the same for every
answer of a code, so each code's JSON is prepared once per loaded model, as the bytes
before its probability and the bytes after it; a numba loop, without the interpreter
lock, copies those pieces and writes each probability between them.

A probability is written as ``np.round(p, 6)`` would be, to six decimals with the
trailing zeros dropped (``0.93``, ``1.0``, ``0.000005``): the same number a client
parses from the dict-built answer, which ``Predictor.render`` still gives for the rare
answer this writer does not (a code the model's labels lack).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import orjson
from numba import njit

from mlcycle.core.predictions import Prediction
from mlcycle.serve.answers import NO_PARENTS, LabelFacts

# The widest probability this writes: "0.123456" (or "null"), then a comma; a value
# that is not a probability (NaN, negative, 9.5 or more) is written null.
_WIDEST_PROBABILITY = 9


class RankedJson:
    """Each code's JSON pieces, and the writer of a batch's ranked predictions."""

    def __init__(self, labels: Sequence[str], facts: LabelFacts) -> None:
        names, parents = facts
        heads, tails = [], []
        for label in labels:
            heads.append(b'{"code":' + orjson.dumps(label) + b',"probability":')
            name = orjson.dumps(names.get(label))
            parent = orjson.dumps(parents.get(label, NO_PARENTS))
            tails.append(b',"label":' + name + b',"parents":' + parent + b"}")
        pieces = [head + tail for head, tail in zip(heads, tails, strict=True)]
        self._pieces = np.frombuffer(b"".join(pieces), np.uint8)
        self._sizes = np.array([len(piece) for piece in pieces], np.int64)
        self._starts = np.concatenate(([0], np.cumsum(self._sizes)[:-1])).astype(np.int64)
        self._head_sizes = np.array([len(head) for head in heads], np.int64)
        # Codes -> their row among the labels, by binary search on a sorted copy.
        self._order = np.argsort(np.asarray(labels))
        self._sorted = np.asarray(labels)[self._order]

    def label_rows(self, codes: np.ndarray) -> np.ndarray | None:
        """Each code's row among the model's labels; None when one is not a label."""
        if len(self._sorted) == 0:
            return None
        where = np.searchsorted(self._sorted, codes).clip(0, len(self._sorted) - 1)
        if not np.array_equal(self._sorted[where], codes):
            return None
        return self._order[where]

    def array(self, prediction: Prediction) -> bytes | None:
        """The whole ``predictions`` array, or None when a code is not a label."""
        written = self._written(prediction)
        return None if written is None else written[0]

    def rows(self, prediction: Prediction) -> list[bytes] | None:
        """Each text's own JSON array, or None when a code is not a label."""
        written = self._written(prediction)
        if written is None:
            return None
        data, ends = written
        if not ends:
            return []
        starts = [1, *(end + 1 for end in ends[:-1])]  # after "[" and after each ","
        return [data[a:b] for a, b in zip(starts, ends, strict=True)]

    def _written(self, prediction: Prediction) -> tuple[bytes, list[int]] | None:
        rows = prediction.rows
        if rows is None or rows.shape != prediction.codes.shape:
            rows = self.label_rows(np.asarray(prediction.codes))
        if rows is None:
            return None
        bound = int(self._sizes[rows].sum()) + rows.size * _WIDEST_PROBABILITY + 3 * len(rows)
        out = np.empty(bound + 2, np.uint8)
        ends = np.empty(len(rows), np.int64)
        probs = np.asarray(prediction.probs, np.float64)
        size = _write(out, ends, np.ascontiguousarray(rows), probs, self._pieces, self._starts,
                      self._head_sizes, self._sizes)  # fmt: skip
        return out[:size].tobytes(), ends.tolist()


@njit(nogil=True, cache=True)
def _write(
    out: np.ndarray, ends: np.ndarray, rows: np.ndarray, probs: np.ndarray,
    pieces: np.ndarray, starts: np.ndarray, head_sizes: np.ndarray, sizes: np.ndarray,
) -> int:  # fmt: skip
    """Write ``[[{...},...],...]`` into ``out`` and return its size; ``ends[i]`` is
    where text i's own array ends."""
    out[0] = 91  # [
    at = 1
    for i in range(rows.shape[0]):
        if i > 0:
            out[at] = 44  # ,
            at += 1
        out[at] = 91
        at += 1
        for j in range(rows.shape[1]):
            if j > 0:
                out[at] = 44
                at += 1
            row = rows[i, j]
            start, head = starts[row], head_sizes[row]
            out[at : at + head] = pieces[start : start + head]
            at += head
            at = _probability(out, at, probs[i, j])
            tail = sizes[row] - head
            out[at : at + tail] = pieces[start + head : start + head + tail]
            at += tail
        out[at] = 93  # ]
        at += 1
        ends[i] = at
    out[at] = 93
    return at + 1


@njit(nogil=True, cache=True)
def _probability(out: np.ndarray, at: int, value: float) -> int:
    """Write ``value`` rounded to six decimals, trailing zeros dropped."""
    if not 0.0 <= value < 9.5:  # NaN included: null, as orjson writes it
        for byte in (110, 117, 108, 108):
            out[at] = byte
            at += 1
        return at
    millionths = np.int64(np.rint(value * 1e6))
    out[at] = 48 + millionths // 1000000  # one digit: a probability is at most 1
    out[at + 1] = 46  # .
    at += 2
    fraction, places = millionths % 1000000, 6
    while places > 1 and fraction % 10 == 0:  # keep at least one decimal: "1.0"
        fraction //= 10
        places -= 1
    for d in range(places - 1, -1, -1):
        out[at + d] = 48 + fraction % 10
        fraction //= 10
    return at + places
