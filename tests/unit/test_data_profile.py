"""Reference profile, text statistics and the content digest."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mlcycle.data import textstats
from mlcycle.data.profile import QUANTILES, ReferenceProfile, build_profile
from mlcycle.data.snapshot import read_parquet, table_digest, write_parquet


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Boulangerie-Pâtisserie (2)", "boulangerie patisserie"),
        ("  ŒUVRES d'ART  ", "oeuvres d art"),
        ("COIFFURE", "coiffure"),
        ("Ça, c'est l'été!", "ca c est l ete"),
        (None, ""),
    ],
)
def test_normalise_folds_case_accents_and_punctuation(raw, expected) -> None:
    assert textstats.normalise([raw]).to_pylist() == [expected]


def test_tokens_drop_one_letter_words_and_keep_rows_aligned() -> None:
    words = textstats.tokens(textstats.normalise(["l ete de la", "", "a b c", "pain"]))
    assert words.to_pylist() == [["ete", "de", "la"], [], [], ["pain"]]


def test_char_trigrams_stay_inside_words_and_texts() -> None:
    grams = textstats.char_ngram_counts(textstats.normalise(["pain", "vin"]))
    assert grams == {" pa": 1, "pai": 1, "ain": 1, "in ": 2, " vi": 1, "vin": 1}


def test_char_trigrams_are_counted_in_slices_exactly() -> None:
    texts = textstats.normalise(["abc"] * 50_000 + ["abcd"])
    grams = textstats.char_ngram_counts(texts)
    assert grams["abc"] == 50_001 and grams["bc "] == 50_000 and grams["bcd"] == 1


def _table() -> pa.Table:
    return pa.table(
        {
            "text": ["Boulangerie", "boulangerie pâtisserie", "Coiffure", "coiffure à domicile"],
            "label": ["1071C", "1071C", "9602A", "9602A"],
        }
    )


def test_build_profile_summarises_text_and_labels() -> None:
    profile = build_profile(_table())
    assert profile.rows == 4
    assert list(profile.text_length) == [str(q) for q in QUANTILES]
    assert profile.text_length["0.0"] == 8 and profile.text_length["1.0"] == 22
    assert profile.token_count["1.0"] == 2  # "à" is one letter: not a word
    assert profile.tokens == {"boulangerie": 2, "coiffure": 2, "domicile": 1, "patisserie": 1}
    assert profile.total_tokens == 6 and profile.vocabulary_size == 4
    assert profile.labels == {"1071C": 2, "9602A": 2}
    assert profile.label_shares() == {"1071C": 0.5, "9602A": 0.5}
    assert profile.token_shares()["coiffure"] == pytest.approx(2 / 6)
    assert profile.char_ngrams[" co"] == 2


def test_profile_round_trips_through_json(tmp_path) -> None:
    profile = build_profile(_table())
    profile.write(tmp_path / "profile.json")
    assert ReferenceProfile.read(tmp_path / "profile.json") == profile
    assert ReferenceProfile.from_dict({**profile.to_dict(), "future_field": 1}) == profile


def test_digest_is_about_content_not_layout(tmp_path) -> None:
    table = _table()
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    assert chunked.column("text").num_chunks == 4
    assert table_digest(chunked) == table_digest(table)
    write_parquet(table, tmp_path / "s.parquet")
    assert table_digest(read_parquet(tmp_path / "s.parquet")) == table_digest(table)
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed away


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.slice(0, 3),
        lambda t: t.take([1, 0, 2, 3]),
        lambda t: t.rename_columns(["text", "code"]),
        lambda t: t.set_column(0, "text", pa.array(["a", "b", "c", None])),
        lambda t: t.set_column(0, "text", pa.array(["a", "b", "c", ""])),
        lambda t: t.append_column("siren", pa.array([1, 2, 3, 4])),
    ],
)
def test_any_change_of_content_changes_the_digest(change) -> None:
    table = _table()
    assert len(table_digest(table)) == 32
    assert table_digest(change(table)) != table_digest(table)


def test_fast_counts_match_a_plain_python_reference() -> None:
    from collections import Counter

    from mlcycle.tasks.text.generator import generate

    texts = [*generate(3000, seed=4)["text"], "ŒUVRE Æther straße", "", None, "a", "é-è", "x y"]
    normalised = textstats.normalise(texts).to_pylist()
    words = Counter(w for text in normalised for w in text.split() if len(w) >= 2)
    grams: Counter[str] = Counter()
    for text in normalised:
        padded = f" {text} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2) if padded[i + 1] != " ")
    assert textstats.token_counts(texts) == dict(words)
    assert textstats.char_ngram_counts(texts) == dict(grams)
    stats = textstats.analyse(texts)
    assert stats.words_per_text.tolist() == [
        len(t) for t in textstats.tokens(normalised).to_pylist()
    ]
