"""Stop words: the words a profile leaves out when it shows what texts are about.

French and English lists ship beside this module (``stopwords_<language>.txt``),
written as :mod:`mlcycle.data.textstats` counts words, so a look-up needs no folding.
Both apply to every text: a word of one language that is a stop word of the other
(French ``or``, gold) is rare enough in a ranking of the most frequent words. The
lists only shape what is shown; a model's own cleaning keeps its own list.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

LANGUAGES = ("french", "english")

__all__ = ["LANGUAGES", "content_words", "read_list", "stop_words"]


def read_list(language: str) -> frozenset[str]:
    """The packaged stop words of ``language`` (lines starting with ``#`` are notes)."""
    text = resources.files("mlcycle.data").joinpath(f"stopwords_{language}.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """The stop words of every packaged language, read once."""
    return frozenset().union(*(read_list(language) for language in LANGUAGES))


def content_words(counts: Mapping[str, int], top: int) -> dict[str, int]:
    """The first ``top`` words of a ranking (most frequent first) that are not stop words."""
    skip = stop_words()
    kept = ((word, count) for word, count in counts.items() if word not in skip)
    return dict(item for _, item in zip(range(top), kept, strict=False))
