import numpy as np

from mlcycle.models.fasttext.cleaner import TextCleaner, default_cleaner, strip_accents


def test_strip_accents_and_ligatures() -> None:
    assert strip_accents("Café crème à Noël") == "Cafe creme a Noel"
    assert strip_accents("œuvre ÆSOP") == "oeuvre AESOP"
    assert strip_accents("plain ascii") == "plain ascii"


def test_seed_preprocessing_steps() -> None:
    cleaner = default_cleaner()
    # upper case, accents, digits, punctuation, one-letter words and stop words all go
    assert cleaner.tokens("coiffeur, & 98789") == ["coiffeur"]
    assert cleaner.tokens("COIFFEUR") == ["coiffeur"]
    assert cleaner.tokens("vendeur d'huîtres") == ["vendeur", "huitr"]
    assert cleaner.tokens("Boulangerie-Pâtisserie") == cleaner.tokens("boulangerie patisserie")


def test_stemming_merges_inflections() -> None:
    cleaner = default_cleaner()
    assert cleaner.tokens("restaurants") == cleaner.tokens("restaurant")
    assert cleaner.tokens("coiffeuse")[0].startswith("coiff")


def test_empty_and_junk_texts_give_no_tokens() -> None:
    cleaner = default_cleaner()
    for text in ("", "   ", "123 456", "&&& ###", "a b c", "le la les de du"):
        assert cleaner.tokens(text) == []


def test_cleaner_config_round_trip_keeps_behaviour() -> None:
    cleaner = default_cleaner()
    clone = TextCleaner.from_config(cleaner.to_config())
    text = "L ACQUISITION PAR VOIE D ACHAT DE TOUS FONDS DE COMMERCE de fleurs"
    assert clone.tokens(text) == cleaner.tokens(text)
    assert "de" in clone.stop_words and "fleur" not in clone.stop_words


def test_cleaning_from_many_threads_gives_the_single_thread_answers() -> None:
    """A served pyfunc is called from a thread pool: one cleaner, many threads at once."""
    from mlcycle.tasks.text.generator import generate
    from tests.threads import in_threads

    texts = generate(3000, seed=5)["text"].tolist()
    expected = [TextCleaner(default_cleaner().stop_words).tokens(t) for t in texts]
    shared = TextCleaner(default_cleaner().stop_words)  # a cold cache: every word stemmed
    results = in_threads(lambda worker: [shared.tokens(t) for t in texts[worker::4]])
    for worker, result in enumerate(results):
        assert result == expected[worker::4]


def _one_text_at_a_time(cleaner: TextCleaner, text: str) -> list[str]:
    """The cleaning rules applied to one text alone: the definition a batch must keep."""
    import re

    import snowballstemmer

    stem = snowballstemmer.stemmer("french").stemWord
    words = re.sub(r"[^a-z]+", " ", strip_accents(text).lower()).split()
    return [stem(w) for w in words if len(w) >= 2 and w not in cleaner.stop_words]


def test_a_batch_cleans_each_text_as_if_it_were_alone() -> None:
    """Texts are cleaned as one joined string; nothing of one text may leak into the
    next, whatever characters they hold (newlines, the joining marks, any script)."""
    rng = np.random.default_rng(11)
    characters = "abcXYZ éÉèçÇœŒæßẞİıﬁΣσςКкя€ 😀 \u0301\n\r\t|<>/'-0123 \x00 "
    words = ["vendeur", "huîtres", "PÂTISSERIE", "de", "l'", "restaurants", "\n\n"]
    alphabet = [*characters, *words]
    texts = ["".join(rng.choice(alphabet, rng.integers(0, 12))) for _ in range(3000)]
    texts += ["", "\n", "|", "</s>", "a\nb", "boulanger\npâtissier"]
    cleaner = TextCleaner(default_cleaner().stop_words)
    expected = [_one_text_at_a_time(cleaner, t) for t in texts]
    assert cleaner.token_lists(texts) == expected
    assert [cleaner.tokens(t) for t in texts] == expected
    assert cleaner.token_lists([]) == []


def test_the_c_stemmer_and_the_python_one_stem_alike() -> None:
    """snowballstemmer takes PyStemmer's C stemmers when installed: a model trained where
    they are may be served where they are not, and must read the same tokens there."""
    import re

    import Stemmer
    from snowballstemmer.french_stemmer import FrenchStemmer

    from mlcycle.tasks.text.generator import generate

    text = strip_accents(" ".join(generate(3000, seed=8)["text"])).lower()
    rng = np.random.default_rng(4)
    letters = list("abcdefghijklmnopqrstuvwxyzeeaiu")
    invented = ["".join(rng.choice(letters, rng.integers(2, 15))) for _ in range(5000)]
    words = sorted({*re.findall("[a-z]{2,}", text), *invented})
    python, c = FrenchStemmer().stemWord, Stemmer.Stemmer("french").stemWord
    assert len(words) > 6000
    assert [w for w in words if python(w) != c(w)] == []
