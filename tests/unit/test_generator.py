"""The embedded synthetic NACE generator, its vocabulary, writer and CLI command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.data.writers import write_dataset
from mlcycle.models.fasttext.cleaner import strip_accents
from mlcycle.tasks.text import activity_columns, nace
from mlcycle.tasks.text import nace_vocabulary as vocab
from mlcycle.tasks.text.generator import class_weights, generate, known_codes
from mlcycle.tasks.text.label_vocabulary import clean, derive, vocabulary

ROWS = 20_000
CLI = Path(sys.executable).with_name("mlcycle")
# New-economy words the drift mode brings in (accent-free, lower case).
TREND_WORDS = ("trottinette", "vtc", "dark kitchen", "cbd", "e-commerce", "vente en ligne")


@pytest.fixture(scope="module")
def normal() -> pd.DataFrame:
    return generate(ROWS, seed=7)


@pytest.fixture(scope="module")
def drifted() -> pd.DataFrame:
    return generate(ROWS, seed=7, drift=True)


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    """Enough rows for every subclass to appear (the rarest has about 19 in 100,000)."""
    return generate(100_000, seed=2)


def _fold(text: str) -> str:
    """Lower case without accents, to look for words whatever the noise did."""
    return strip_accents(text).lower()


def _folded(texts: pd.Series) -> pd.Series:
    return texts.map(_fold)


def _js_distance(p: np.ndarray, q: np.ndarray) -> float:
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.nansum(np.where(p > 0, p * np.log2(p / m), 0.0))
        kl_q = np.nansum(np.where(q > 0, q * np.log2(q / m), 0.0))
    return float(np.sqrt((kl_p + kl_q) / 2))


# --- the vocabulary ---------------------------------------------------------------


def test_vocabulary_covers_enough_confusable_subclasses() -> None:
    codes = [s.code for s in vocab.SUBCLASSES]
    assert len(codes) == len(set(codes)) >= 45
    assert len({nace.section_of(c) for c in codes}) >= 12
    required = re.findall(
        r"\w+",
        "4711A 4711B 4711C 4711D 4711F 5610A 5610B 5610C 1071C 1071D 4724Z 9602A 9602B 4723Z"
        " 6201Z 6202A 6202B 4120A 4120B 4321A 4322A 4322B 6820A 6820B 8621Z 8622C 4941A"
        " 4941B 0111Z 0121Z 5510Z 5520Z 7022Z 6910Z 4520A 8559A",
    )
    assert set(required) <= set(codes)


def test_vocabulary_labels_are_the_official_ones_and_slots_are_filled() -> None:
    for subclass in vocab.SUBCLASSES:
        assert nace.normalise_code(subclass.code) == subclass.code
        assert nace.label(subclass.code) is not None
        assert subclass.label == nace.label(subclass.code)
        assert subclass.family in vocab.FAMILIES
        for slot in vocab.SLOTS:
            assert getattr(subclass.words, slot), (subclass.code, slot)


def test_oyster_seller_is_a_fish_retailer() -> None:
    owner = [s.code for s in vocab.SUBCLASSES if "vendeur d'huîtres" in s.words.heads]
    assert owner == ["4723Z"]


def test_trend_words_never_belong_to_the_normal_vocabulary() -> None:
    words = vocabulary()
    pools = [s.words for s in words.subclasses] + list(words.families.values())
    normal_text = " ".join(
        _fold(word) for pool in pools for slot in vocab.SLOTS for word in getattr(pool, slot)
    )
    for word in TREND_WORDS:
        assert word not in normal_text


# --- generate() ----------------------------------------------------------------------


def test_same_arguments_give_the_same_frame_and_seeds_differ() -> None:
    pd.testing.assert_frame_equal(generate(3000, seed=5), generate(3000, seed=5))
    assert not generate(3000, seed=5).equals(generate(3000, seed=6))
    assert not generate(3000, seed=5).equals(generate(3000, seed=5, drift=True))


def test_columns_dtypes_and_values(normal: pd.DataFrame) -> None:
    assert list(normal.columns) == ["text", "nace"]
    assert len(normal) == ROWS
    for column in normal.columns:
        assert pd.api.types.is_string_dtype(normal[column])
        assert normal[column].notna().all()
    assert (normal["text"].str.strip().str.len() > 0).all()
    assert normal["nace"].map(lambda c: nace.normalise_code(c) == c).all()
    assert set(normal["nace"]) <= set(known_codes())


def test_extra_columns_leave_texts_and_codes_as_they_were(normal: pd.DataFrame) -> None:
    extra = generate(ROWS, seed=7, extra_columns=True)
    assert list(extra.columns) == ["text", "nace", *activity_columns.NAMES]
    pd.testing.assert_frame_equal(extra[["text", "nace"]], normal)
    pd.testing.assert_frame_equal(extra, generate(ROWS, seed=7, extra_columns=True))
    for spec in activity_columns.COLUMNS:
        present = extra[spec.name].dropna()
        assert set(present) <= set(spec.values)
        assert abs(1 - len(present) / ROWS - spec.missing) < 0.02


def test_extra_columns_carry_signal_on_the_activity() -> None:
    """Knowing the code narrows the value down: the most common value of each code is
    right far more often than the most common value overall."""
    frame = generate(ROWS, seed=3, extra_columns=True)
    frequent = frame["nace"].map(frame["nace"].value_counts()) >= 100
    for name in activity_columns.NAMES:
        known = frame[frequent].dropna(subset=[name])
        overall = known[name].value_counts().iloc[0] / len(known)
        per_code = known.groupby("nace")[name].agg(lambda v: v.value_counts().iloc[0]).sum()
        assert per_code / len(known) > overall + 0.1, name


def test_classes_sections_and_zipf_imbalance(normal: pd.DataFrame) -> None:
    counts = normal["nace"].value_counts()
    assert len(counts) >= 600
    assert len({nace.section_of(c) for c in counts.index}) == 21
    assert counts.iloc[0] / counts.iloc[-1] >= 100


def test_frequencies_are_the_documented_zipf_law() -> None:
    weights = class_weights()
    assert weights.sum() == pytest.approx(1.0)
    by_rank = np.sort(weights)[::-1]
    # Zipf's law, exponent 1: the class of rank r is drawn with probability ~ 1/r.
    assert np.allclose(by_rank * np.arange(1, len(by_rank) + 1), by_rank[0])
    # The figures the generator's docstring gives.
    assert by_rank[:20].sum() == pytest.approx(0.50, abs=0.005)
    assert by_rank[:200].sum() == pytest.approx(0.82, abs=0.005)
    assert by_rank[-1] * 100_000 == pytest.approx(19, abs=0.5)
    codes = known_codes()
    rank = {codes[i]: r for r, i in enumerate(np.argsort(-weights, kind="stable"))}
    # The hand-written classes lead, in the vocabulary's order (every one of them once);
    # then the derived classes known to be common.
    written = [*vocab.FREQUENT_FIRST, *vocab.WRITTEN_REST]
    assert sorted(written) == sorted(s.code for s in vocab.SUBCLASSES)
    ordered = [*written, *vocab.DERIVED_FREQUENT]
    assert [rank[c] for c in ordered] == list(range(len(ordered)))


def test_every_subclass_of_the_nomenclature_is_generated(large: pd.DataFrame) -> None:
    every = [code for code, _ in nace.subclasses()]
    assert list(known_codes()) == every and len(every) == 732
    assert set(large["nace"]) == set(every)
    # Drift mixes the same codes differently; the same seed gives the same mix.
    assert set(generate(100_000, seed=2, drift=True)["nace"]) == set(every)


def test_derived_subclasses_speak_with_the_words_of_their_label(large: pd.DataFrame) -> None:
    written = {s.code for s in vocab.SUBCLASSES}
    folded = _folded(large["text"])
    shares = {}
    for code, label in nace.subclasses():
        if code in written:
            continue
        words = set(re.findall(r"[a-z]{4,}", _fold(label))) - {"autre", "autres", "activites"}
        rows = folded[large["nace"] == code]
        shares[code] = rows.map(lambda text, w=words: any(x in text for x in w)).mean()
    assert len(shares) == 732 - len(written)
    assert min(shares.values()) > 0.5, min(shares.items(), key=lambda kv: kv[1])
    assert np.median(list(shares.values())) > 0.95


@pytest.mark.parametrize(
    ("label", "pieces"),
    [
        ("Culture de la canne à sucre", ["culture de la canne à sucre"]),
        ("Autre imprimerie (labeur)", ["imprimerie"]),
        ("Élevage d'autres bovins et de buffles", ["élevage de bovins et de buffles"]),
        ("Réparation d'autres équipements", ["réparation d'équipements"]),
        ("Autres activités manufacturières n.c.a.", ["activités manufacturières"]),
        ("Sciage et rabotage du bois, hors imprégnation", ["sciage et rabotage du bois"]),
        (
            "Apprêt et tannage des cuirs ; préparation et teinture des fourrures",
            ["apprêt et tannage des cuirs", "préparation et teinture des fourrures"],
        ),
    ],
)
def test_labels_are_cleaned_as_a_clerk_would_copy_them(label: str, pieces: list[str]) -> None:
    assert clean(label) == pieces


def test_label_openings_give_activities_agents_and_products() -> None:
    cane = derive("0114Z", "Culture de la canne à sucre")
    assert "producteur de canne à sucre" in cane.heads
    assert "culture de" in cane.activities and cane.products[0] == "canne à sucre"
    pumps = derive("2813Z", "Fabrication d'autres pompes et compresseurs")
    assert {"fabricant de pompes", "fabricant de compresseurs"} <= set(pumps.heads)
    assert {"pompes", "compresseurs"} <= set(pumps.products)
    books = derive("4761Z", "Commerce de détail de livres en magasin spécialisé")
    assert "vente au détail de" in books.activities and "magasin de livres" in books.heads
    assert "livres" in books.products and "en magasin spécialisé" in books.qualifiers
    coffee = derive("4637Z", "Commerce de gros (commerce interentreprises) de café, thé et épices")
    assert {"café", "thé", "épices"} <= set(coffee.products)
    assert "grossiste en café" in coffee.heads
    assert not any("interentreprises" in h for h in coffee.heads)
    oil = derive("1041A", "Fabrication d'huiles et graisses brutes")
    assert "fabricant d'huiles" in oil.heads  # elided before a vowel
    plain = derive("1320Z", "Tissage")
    assert plain.heads == ("tissage",) and plain.products == ("tissage",)
    assert plain.activities and plain.qualifiers  # every slot filled for the templates


def test_every_subclass_fills_every_slot() -> None:
    words = vocabulary()
    assert len(words.subclasses) == 732
    for sub in words.subclasses:
        assert sub.label == nace.label(sub.code)
        assert sub.family in words.families
        for slot in vocab.SLOTS:
            assert getattr(sub.words, slot), (sub.code, slot)


def test_registry_style_noise_is_present(normal: pd.DataFrame) -> None:
    texts = normal["text"]
    letters = texts.str.replace(r"[^A-Za-zÀ-ÿ]", "", regex=True)
    upper_share = ((letters.str.len() > 0) & (letters == letters.str.upper())).mean()
    assert 0.15 < upper_share < 0.5
    assert texts.str.contains(r"\d").mean() > 0.02
    assert texts.str.contains(r"[&*]").mean() > 0.01
    assert texts.str.contains("S Y RATTACHANT").any()
    assert texts.str.contains("L ACQUISITION PAR VOIE D ACHAT").any()
    folded = _folded(texts)
    assert folded.str.contains(r"\b(?:ets|cial|sce|sces|distrib)\b|\bfab\.").any()
    assert folded.str.contains("a titre accessoire").any()
    assert (texts.str.split().str.len() == 1).mean() > 0.02
    assert (texts == "COIFFEUR").any()


def test_accents_are_sometimes_dropped(normal: pd.DataFrame) -> None:
    coiffure = normal.loc[normal["nace"] == "9602A", "text"].str.lower()
    assert coiffure.str.contains("à domicile").any()
    assert coiffure.str.contains("a domicile").any()


def test_oyster_sellers_are_mostly_labelled_fish_retail() -> None:
    # Fish retail is a rare class: a large sample keeps the share stable. The rest are
    # oyster farmers who also sell, and the label noise.
    frame = generate(200_000, seed=2)
    sellers = frame.loc[_folded(frame["text"]).str.contains("vendeu(?:r|se) d.huitres"), "nace"]
    assert len(sellers) >= 20
    assert (sellers == "4723Z").mean() > 0.65


def test_drift_shifts_the_class_mix_over_the_same_codes(
    normal: pd.DataFrame, drifted: pd.DataFrame
) -> None:
    codes = list(known_codes())
    p = normal["nace"].value_counts(normalize=True).reindex(codes, fill_value=0).to_numpy()
    q = drifted["nace"].value_counts(normalize=True).reindex(codes, fill_value=0).to_numpy()
    assert _js_distance(p, q) > 0.3
    assert set(drifted["nace"]) <= set(codes)


def test_drift_brings_words_never_seen_in_normal_mode(
    normal: pd.DataFrame, drifted: pd.DataFrame
) -> None:
    normal_text, drift_text = _folded(normal["text"]), _folded(drifted["text"])
    for word in TREND_WORDS:
        assert drift_text.str.contains(word, regex=False).any(), word
        assert not normal_text.str.contains(word, regex=False).any(), word

    def tokens(texts: pd.Series) -> Counter[str]:
        return Counter(t for text in texts for t in re.findall(r"[a-z]{3,}", text))

    seen = tokens(normal_text)
    new = [t for t, n in tokens(drift_text).items() if n >= 30 and t not in seen]
    assert len(new) >= 20


@pytest.mark.parametrize("rows", [0, -1, 2.5, True])
def test_generate_rejects_bad_row_counts(rows: object) -> None:
    with pytest.raises(InvalidInput):
        generate(rows, seed=1)  # type: ignore[arg-type]


# --- write_dataset() -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_dataset_round_trips(tmp_path: Path, suffix: str) -> None:
    frame = generate(2000, seed=3)
    path = tmp_path / "nested" / f"nace{suffix}"
    write_dataset(frame, path)
    write_dataset(frame, path)  # overwriting goes through the same atomic rename
    if suffix == ".csv":
        assert path.read_text(encoding="utf-8").startswith("text,nace\n")
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        back = pd.read_parquet(path)
    assert back["text"].tolist() == frame["text"].tolist()
    assert back["nace"].tolist() == frame["nace"].tolist()
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_write_dataset_rejects_unknown_suffix_and_unwritable_folder(tmp_path: Path) -> None:
    frame = generate(10, seed=3)
    with pytest.raises(InvalidInput, match=r"\.csv or \.parquet"):
        write_dataset(frame, tmp_path / "nace.xlsx")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(InvalidInput, match="Cannot write"):
        write_dataset(frame, blocker / "nace.csv")
    assert not list(tmp_path.glob("**/*.tmp"))


# --- the CLI, end to end -------------------------------------------------------------


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "data", "generate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_generate_writes_the_same_file_in_every_process(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    done = _cli("--rows", "1500", "--seed", "9", "-o", first)
    assert done.returncode == 0, done.stderr
    assert "1500 rows" in done.stdout and str(first) in done.stdout
    assert len(done.stdout.strip().splitlines()) == 1
    assert _cli("--rows", "1500", "--seed", "9", "--output", second).returncode == 0
    assert first.read_bytes() == second.read_bytes()
    in_process = tmp_path / "c.csv"
    write_dataset(generate(1500, seed=9), in_process)
    assert in_process.read_bytes() == first.read_bytes()


def test_cli_generate_parquet_with_drift(tmp_path: Path) -> None:
    out = tmp_path / "drift.parquet"
    done = _cli("--rows", "800", "--drift", "--json", "-o", out)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "rows": 800,
        "classes": pd.read_parquet(out)["nace"].nunique(),
        "drift": True,
        "path": str(out),
    }
    assert pd.read_parquet(out).equals(generate(800, seed=42, drift=True))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rows", "0", "-o", "x.csv"), "--rows"),
        (("--rows", "-5", "-o", "x.csv"), "--rows"),
        (("--rows", "10", "-o", "x.xlsx"), ".csv or .parquet"),
        (("--rows", "10", "-o", "blocker/x.csv"), "Cannot write"),
    ],
)
def test_cli_generate_bad_input_is_one_clear_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    done = subprocess.run(
        [str(CLI), "data", "generate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "x.csv").exists()
