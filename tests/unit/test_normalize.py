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
