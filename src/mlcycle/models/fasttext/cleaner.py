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
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

_NON_LETTERS = re.compile(r"[^a-z]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# The token closing every text (fastText's end of sentence; vocab.EOS is this one).
END = "</s>"
# Texts cleaned as one string are joined by a newline, which becomes the word _CLOSE.
_SEPARATOR, _CLOSE = "\n", "|"
# Byte by byte over ASCII text: A-Z to lower case, a-z kept, the separator to _CLOSE,
# anything else (_CLOSE included) a space.
_ASCII_TABLE = bytes(
    b + 32 if 65 <= b <= 90 else b if 97 <= b <= 122 else ord(_CLOSE) if b == 10 else 32
    for b in range(256)
)
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


@lru_cache(maxsize=4096)
def _letters_of(char: str) -> str:
    """What one non-ASCII character becomes: the ASCII letters it folds to, else a space.

    Folding, lower-casing and dropping non-letters act character by character, so a
    text cleaned one character at a time splits into the same words as a whole one."""
    return _NON_LETTERS.sub(" ", _fold(char)) or " "


def _words(texts: Sequence[str]) -> list[str]:
    """Every text's words, folded to lower-case ASCII letters (before stop words and
    stemming), each text's closed by the word ``_CLOSE``.

    One string for the whole batch: the regular expression, the encoding and the byte
    table then run in C over it, where one call per text spent most of the cleaning
    time in the calls themselves."""
    glue = f" {_SEPARATOR} "
    joined = glue.join(texts)
    if joined.count(_SEPARATOR) != len(texts) - 1:  # a text holds the separator itself
        joined = glue.join(t.replace(_SEPARATOR, " ") for t in texts)
    if not joined.isascii():
        joined = _NON_ASCII.sub(lambda found: _letters_of(found[0]), joined)
    folded = joined.encode("ascii").translate(_ASCII_TABLE).decode("ascii")
    return [*folded.split(), _CLOSE] if texts else []


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
        # folded word -> its token, "" for a word dropped; _CLOSE -> END
        self._cache: dict[str, str] = {}

    def _token(self, word: str) -> str:
        if word == _CLOSE:
            return END
        if len(word) < 2 or word in self.stop_words:
            return ""
        stem = getattr(self._stemmers, "stem", None)
        if stem is None:
            stem = self._stemmers.stem = self._new_stemmer()
        return stem(word)

    def flat_tokens(self, texts: Sequence[str]) -> list[str]:
        """The tokens of every text in one list, each text's closed by ``END``.

        Looked up a whole batch at a time (``map`` and ``filter`` run in C); only words
        never seen before go through the stemmer."""
        words = _words(texts)
        cache = self._cache
        if len(cache) > _CACHE_LIMIT:
            cache = self._cache = {}  # a fresh one: other threads keep theirs whole
        tokens = list(map(cache.get, words))
        if None in tokens:
            for word in set(words).difference(cache):
                cache[word] = self._token(word)
            tokens = list(map(cache.get, words))
        return list(filter(None, tokens))  # dropped words are ""

    def token_lists(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens of each text (without ``END``)."""
        out: list[list[str]] = [[]]
        for token in self.flat_tokens(texts):
            if token == END:
                out.append([])
            else:
                out[-1].append(token)
        return out[:-1]

    def tokens(self, text: str) -> list[str]:
        """Cleaned, stemmed tokens of one text (empty when nothing meaningful is left)."""
        return self.flat_tokens([text])[:-1]

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
