"""The reference profile of a dataset version: what "normal" input looks like.

Monitoring compares production traffic against it. For text: text length and
word-count quantiles, word and character-trigram frequencies (computed with
:mod:`mlcycle.data.textstats`, which monitoring must use too), the label distribution,
and the top words a reader sees (stop words left out, :mod:`mlcycle.data.stopwords`;
the word frequencies monitoring compares keep them, as production texts have them).
For tabular data (format 2): one :class:`FeatureProfile` per feature and one for the
target (see :mod:`mlcycle.data.feature_profile`); a text dataset with categorical
columns beside the text has such a profile of each of them too. It is stored as
``profile.json`` beside each version and read back with :func:`load_profile`; profiles
of format 1 (text only) still load.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlcycle.core.tabular import ColumnType, TaskKind
from mlcycle.data import textstats
from mlcycle.data.feature_profile import QUANTILES, FeatureProfile, profile_column
from mlcycle.data.stopwords import content_words

__all__ = [
    "QUANTILES",
    "FeatureProfile",
    "ReferenceProfile",
    "build_profile",
    "build_tabular_profile",
    "load_profile",
]

PROFILE_FORMAT = 2  # 2: tabular profiles (features, target); 1: text only
TOP_TOKENS = 5_000
TOP_NGRAMS = 3_000
TOP_WORDS = 50


@dataclass(frozen=True)
class ReferenceProfile:
    """Summary statistics of one dataset version: its text or features, and labels.

    Quantile dictionaries are keyed by the quantile written as text (``"0.5"``);
    frequency dictionaries hold counts, most frequent first. ``tokens`` counts every
    word (monitoring's reference); ``top_words`` the most frequent that are not stop
    words (what the texts are about). The text fields are empty for tabular data;
    ``labels`` holds the classes of either kind of classification.
    """

    rows: int
    text_length: dict[str, float] = field(default_factory=dict)
    token_count: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    char_ngrams: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    total_tokens: int = 0
    vocabulary_size: int = 0
    ngram_n: int = textstats.NGRAM_N
    format: int = PROFILE_FORMAT
    dataset: str | None = field(default=None)
    task: str = "text-classification"
    features: dict[str, FeatureProfile] = field(default_factory=dict)
    target: FeatureProfile | None = None
    top_words: dict[str, int] = field(default_factory=dict)

    def label_shares(self) -> dict[str, float]:
        """Each label's share of the rows."""
        return {label: count / self.rows for label, count in self.labels.items()}

    def token_shares(self) -> dict[str, float]:
        """Each kept word's share of all words (the long tail beyond the top is left out)."""
        total = max(self.total_tokens, 1)
        return {token: count / total for token, count in self.tokens.items()}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> ReferenceProfile:
        known = cls.__dataclass_fields__
        fields = {key: value for key, value in payload.items() if key in known}
        fields.setdefault("format", 1)  # profiles written before the field existed
        if "top_words" not in fields:  # profiles written before it: from the kept words
            fields["top_words"] = content_words(fields.get("tokens") or {}, TOP_WORDS)
        fields["features"] = {
            name: FeatureProfile.from_dict(feature)
            for name, feature in (fields.get("features") or {}).items()
        }
        if fields.get("target") is not None:
            fields["target"] = FeatureProfile.from_dict(fields["target"])
        return cls(**fields)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ReferenceProfile:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def build_profile(
    table: pa.Table, text: str = "text", label: str = "label", categorical: Sequence[str] = ()
) -> ReferenceProfile:
    """The profile of a validated table's ``text`` and ``label`` columns, and of the
    ``categorical`` columns the model reads beside the text (as tabular features, so
    monitoring compares them the same way)."""
    raw = textstats.as_array(table.column(text))
    stats = textstats.analyse(raw)
    labels = pc.value_counts(table.column(label)).to_pylist()
    words = textstats.ranked(stats.word_counts)
    return ReferenceProfile(
        rows=table.num_rows,
        text_length=_quantiles(pc.utf8_length(pc.fill_null(raw, ""))),
        token_count=_quantiles(stats.words_per_text),
        tokens=dict(list(words.items())[:TOP_TOKENS]),
        char_ngrams=textstats.decode_trigrams(stats.trigrams, TOP_NGRAMS),
        labels=dict(sorted(((c["values"], c["counts"]) for c in labels), key=_by_count)),
        total_tokens=stats.total_words,
        vocabulary_size=len(stats.word_counts),
        top_words=content_words(words, TOP_WORDS),
        features={name: profile_column(table.column(name), "categorical") for name in categorical},
    )


def build_tabular_profile(
    table: pa.Table, types: dict[str, ColumnType], target: str, task: TaskKind
) -> ReferenceProfile:
    """The profile of a validated tabular table: each feature of ``types``, the target."""
    features = {name: profile_column(table.column(name), kind) for name, kind in types.items()}
    target_kind: ColumnType = "categorical" if task == "classification" else "numeric"
    target_profile = profile_column(table.column(target), target_kind, top=None)
    return ReferenceProfile(
        rows=table.num_rows,
        labels=dict(target_profile.counts or {}) if task == "classification" else {},
        task=task,
        features=features,
        target=target_profile,
    )


def _by_count(pair: tuple[str, int]) -> tuple[int, str]:
    return -pair[1], pair[0]


def _quantiles(values: pa.Array | np.ndarray) -> dict[str, float]:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        values = values.to_numpy(zero_copy_only=False)
    numbers = np.asarray(values, dtype=np.float64)
    if numbers.size == 0:
        return {str(q): 0.0 for q in QUANTILES}
    found = np.quantile(numbers, QUANTILES)
    return {str(q): round(float(v), 3) for q, v in zip(QUANTILES, found, strict=True)}


def load_profile(ref: str) -> ReferenceProfile:
    """The reference profile of a dataset version (``NAME@V``, ``NAME@latest`` or ``NAME``).

    Raises:
        NotFound: No such dataset or version.
    """
    from mlcycle.data.store import read_profile

    return read_profile(ref)
