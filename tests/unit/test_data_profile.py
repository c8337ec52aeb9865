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


def _tabular() -> pa.Table:
    import datetime as dt

    import numpy as np

    rng = np.random.default_rng(3)
    n = 12_000
    bmi = rng.normal(25, 4, n)
    bmi[::10] = np.nan
    return pa.table(
        {
            "bmi": pa.array(bmi, from_pandas=True),
            "city": [f"c{i % 150}" for i in range(n)],
            "smoker": pa.array([None if i % 7 == 0 else i % 3 == 0 for i in range(n)]),
            "seen": [dt.datetime(2024, 1, 1) + dt.timedelta(hours=i) for i in range(n)],
            "y": ["yes" if i % 4 else "no" for i in range(n)],
        }
    )


TYPES = {"bmi": "numeric", "city": "categorical", "smoker": "boolean", "seen": "datetime"}


def test_tabular_profile_carries_what_drift_tests_need() -> None:
    from mlcycle.data.feature_profile import BINS, SAMPLE_SIZE, TOP_VALUES
    from mlcycle.data.profile import build_tabular_profile

    profile = build_tabular_profile(_tabular(), TYPES, "y", "classification")
    bmi = profile.features["bmi"]
    assert bmi.null_share == pytest.approx(0.1, abs=1e-3)
    assert len(bmi.edges) == BINS + 1 and sum(bmi.histogram) == 10_800
    assert len(bmi.sample) == SAMPLE_SIZE and bmi.sample == sorted(bmi.sample)
    assert bmi.quantiles["0.5"] == pytest.approx(25, abs=0.3)
    city = profile.features["city"]
    assert len(city.counts) == TOP_VALUES and sum(city.counts.values()) + city.other == 12_000
    assert set(profile.features["smoker"].counts) == {"true", "false"}
    assert profile.features["seen"].quantiles["0.0"] == 1704067200.0  # 2024-01-01 UTC
    assert profile.labels == {"yes": 9000, "no": 3000} == profile.target.counts
    assert profile.task == "classification" and profile.tokens == {}


def test_tabular_profile_is_seeded_and_round_trips(tmp_path) -> None:
    from mlcycle.data.profile import build_tabular_profile

    first = build_tabular_profile(_tabular(), TYPES, "bmi", "regression")
    again = build_tabular_profile(_tabular(), TYPES, "bmi", "regression")
    assert first == again  # the same sample every time: drift verdicts are repeatable
    assert first.target.type == "numeric" and first.labels == {}
    first.write(tmp_path / "profile.json")
    assert ReferenceProfile.read(tmp_path / "profile.json") == first


def test_a_format_1_profile_still_loads() -> None:
    old = build_profile(_table()).to_dict()
    for key in ("task", "features", "target", "format"):
        old.pop(key)
    loaded = ReferenceProfile.from_dict(old)
    assert loaded.format == 1 and loaded.task == "text-classification"
    assert loaded.features == {} and loaded.target is None
    assert loaded.labels == {"1071C": 2, "9602A": 2}


def test_the_numeric_sample_feeds_monitorings_drift_test() -> None:
    import numpy as np

    from mlcycle.data.profile import build_tabular_profile
    from mlcycle.monitor.tabular import numeric_column_drift

    reference = build_tabular_profile(_tabular(), TYPES, "y", "classification").features["bmi"]
    rng = np.random.default_rng(9)
    same = numeric_column_drift(reference.sample, rng.normal(25, 4, 3000))
    shifted = numeric_column_drift(reference.sample, rng.normal(28, 4, 3000))
    assert not same.drifted and shifted.drifted


def test_top_words_leave_stop_words_out_and_drift_counts_keep_them() -> None:
    texts = [
        "Vente de pain et de viennoiseries à la boulangerie",
        "Fabrication de pain, vente au détail",
        "The sale of bread and of pastries in the shop",
    ]
    profile = build_profile(pa.table({"text": texts, "label": ["a", "a", "b"]}))
    assert list(profile.top_words)[:2] == ["pain", "vente"]
    assert not {"de", "et", "la", "au", "the", "of", "and", "in"} & set(profile.top_words)
    # Monitoring compares production's words with these, stop words included.
    assert profile.tokens["de"] == 3 and profile.tokens["the"] == 2
    assert profile.total_tokens == sum(profile.tokens.values())


def test_a_profile_written_before_top_words_gets_them_at_load() -> None:
    old = build_profile(pa.table({"text": ["la vente de pain"], "label": ["a"]})).to_dict()
    old.pop("top_words")
    assert ReferenceProfile.from_dict(old).top_words == {"pain": 1, "vente": 1}


def test_stop_word_lists_are_written_as_words_are_counted() -> None:
    from mlcycle.data.stopwords import read_list, stop_words

    for language in ("french", "english"):
        words = read_list(language)
        assert len(words) > 100 and words <= stop_words()
        counted = textstats.tokens(textstats.normalise(sorted(words))).to_pylist()
        assert counted == [[word] for word in sorted(words)]  # folded, one word, 2+ letters
    assert {"de", "les", "pour", "the", "and", "with"} <= stop_words()
    assert not {"pain", "vente", "bread", "sale", "computer", "service"} & stop_words()
