"""Clean French activity descriptions the way the seed's model does.

Accents stripped, lower case, punctuation and digits removed, one-letter words
dropped, French stop words removed, French Snowball stemming. The cleaner is part of
the model: its stop-word list is saved with the model, so a served model cleans text
exactly as it did in training even if the stop-word package changes.

This module must stay importable with numpy-free, mlcycle-free dependencies only
(``snowballstemmer``), because a registered model carries it into plain MLflow.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_NON_LETTERS = re.compile(r"[^a-z]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
# Past this many distinct words the cache is emptied, so a stream of junk cannot grow it
# without bound; real vocabularies of activity labels are far smaller.
_CACHE_LIMIT = 500_000


def _ascii_folding_table() -> dict[int, str]:
    """Latin letters with diacritics (U+00C0..U+024F) mapped to plain ASCII, ligatures expanded."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code).translate(_LIGATURES)
        bare = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        if bare != chr(code) and bare.isascii() and bare.isalpha():
            table[code] = bare
    return table


_FOLD = _ascii_folding_table()


def strip_accents(text: str) -> str:
    """Remove diacritics (é -> e, ç -> c) and expand ligatures (œ -> oe).

    One ``str.translate`` pass over a precomputed table: far faster than decomposing
    every text, and it covers every Latin letter French registry text uses.
    """
    if text.isascii():
        return text
    return text.translate(_FOLD)


def _fold(word: str) -> str:
    return strip_accents(word).lower()


class TextCleaner:
    """Turns a raw description into the stemmed tokens the classifier sees."""

    def __init__(self, stop_words: Iterable[str], language: str = "french") -> None:
        import snowballstemmer

        self.language = language
        self.stop_words = frozenset(_fold(word) for word in stop_words)
        self._new_stemmer = lambda: snowballstemmer.stemmer(language).stemWord
        # A Snowball stemmer keeps the word it works on in itself: one per thread, as a
        # served model is called from a thread pool.
        self._stemmers = threading.local()
        self._cache: dict[str, str | None] = {}

    def _token(self, word: str) -> str | None:
        if len(word) < 2 or word in self.stop_words:
            return None
        stem = getattr(self._stemmers, "stem", None)
        if stem is None:
            stem = self._stemmers.stem = self._new_stemmer()
        return stem(word)

    def tokens(self, text: str) -> list[str]:
        """Cleaned, stemmed tokens of one text (empty when nothing meaningful is left)."""
        words = _NON_LETTERS.sub(" ", strip_accents(text).lower()).split()
        cache = self._cache
        out: list[str] = []
        for word in words:
            stem = cache.get(word, "")
            if stem == "":
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                stem = cache[word] = self._token(word)
            if stem is not None:
                out.append(stem)
        return out

    def clean(self, text: str) -> str:
        """Cleaned text as one space-separated string."""
        return " ".join(self.tokens(text))

    def to_config(self) -> dict[str, Any]:
        return {"language": self.language, "stop_words": sorted(self.stop_words)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextCleaner:
        return cls(config["stop_words"], config.get("language", "french"))


# Words the packaged French list lacks but registry text is full of: legal boilerplate
# carries no activity signal ("l'acquisition par voie d'achat ...", "exploitation de").
EXTRA_STOP_WORDS = ("cedex", "etc", "ainsi", "tous", "toutes")


@lru_cache(maxsize=1)
def default_cleaner() -> TextCleaner:
    """The cleaner new models get: the ``stop-words`` package's French list."""
    from stop_words import get_stop_words

    return TextCleaner([*get_stop_words("french"), *EXTRA_STOP_WORDS])
