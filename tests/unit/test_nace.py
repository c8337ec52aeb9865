"""NAF rev.2: the packaged table, codes of every level, labels, parents, label levels."""

from __future__ import annotations

import csv
import re
from importlib import resources
from pathlib import Path

import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.tasks.labels import nomenclature
from mlcycle.tasks.text import nace
from mlcycle.tasks.text.nace import LEVELS, NAF_REV2, Parent

# INSEE's table as the project keeps it beside the repository (read by tests only).
SHARED_TABLE = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "naf_rev2.csv"


def _rows() -> list[dict[str, str]]:
    text = resources.files("mlcycle.tasks.text").joinpath(nace.TABLE).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


ROWS = _rows()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5610A", "5610A"),
        ("56.10A", "5610A"),
        (" 5610a ", "5610A"),
        ("56 10 a", "5610A"),
        ("01.11z", "0111Z"),
    ],
)
def test_normalise_code_accepts_common_spellings(raw: str, expected: str) -> None:
    assert nace.normalise_code(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        *("", "5610", "561A", "56100A", "5610AA", "A5610", "56-10A", "5610É", None, 5610),
        *("0400Z", "04.00z", "3400Z", "0000A", "4000Z"),  # the shape, but no NACE division
        *("5699Z", "5610D", "0111A", "4711G", "9900A"),  # a real division, but no subclass
        *("56.10", "56", "I", "561"),  # codes of other levels
    ],
)
def test_normalise_code_rejects_malformed_codes(raw: object) -> None:
    assert nace.normalise_code(raw) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("0111Z", "A"),
        ("0321Z", "A"),
        ("0510Z", "B"),
        ("0990Z", "B"),
        ("1071C", "C"),
        ("3320D", "C"),
        ("3511Z", "D"),
        ("3600Z", "E"),
        ("3900Z", "E"),
        ("4120A", "F"),
        ("4399C", "F"),
        ("4511Z", "G"),
        ("4799B", "G"),
        ("4910Z", "H"),
        ("5320Z", "H"),
        ("5510Z", "I"),
        ("5630Z", "I"),
        ("5811Z", "J"),
        ("6399Z", "J"),
        ("6411Z", "K"),
        ("6630Z", "K"),
        ("6820A", "L"),
        ("6910Z", "M"),
        ("7500Z", "M"),
        ("7711A", "N"),
        ("8299Z", "N"),
        ("8411Z", "O"),
        ("8559A", "P"),
        ("8610Z", "Q"),
        ("8899B", "Q"),
        ("9001Z", "R"),
        ("9329Z", "R"),
        ("9411Z", "S"),
        ("9609Z", "S"),
        ("9700Z", "T"),
        ("9820Z", "T"),
        ("9900Z", "U"),
    ],
)
def test_section_of_follows_the_official_division_ranges(code: str, section: str) -> None:
    assert nace.section_of(code) == section


def test_section_of_accepts_higher_levels_and_dotted_codes() -> None:
    assert nace.section_of("56") == "I"
    assert nace.section_of("56.10") == "I"
    assert nace.section_of("I") == "I"


@pytest.mark.parametrize("code", ["0410Z", "3400Z", "4000Z", "4400Z", "4800Z", "0000Z", "XX"])
def test_section_of_rejects_divisions_outside_nace(code: str) -> None:
    with pytest.raises(ValueError, match="division"):
        nace.section_of(code)


def test_at_level_reads_each_level_off_the_code() -> None:
    got = {level: nace.at_level("56.10a", level) for level in nace.LEVELS}
    assert got == {
        "section": "I",
        "division": "56",
        "group": "561",
        "class": "5610",
        "subclass": "5610A",
    }


def test_at_level_rejects_unknown_levels_and_bad_codes() -> None:
    with pytest.raises(ValueError, match="level"):
        nace.at_level("5610A", "family")
    with pytest.raises(ValueError, match="subclass"):
        nace.at_level("5610", "division")


def test_codes_at_level_keeps_order_and_matches_at_level() -> None:
    codes = ["5610A", "9602A", "5610C", "5610A", "0111Z"] * 1000
    for level in nace.LEVELS:
        assert nace.codes_at_level(codes, level) == [nace.at_level(c, level) for c in codes]
    assert nace.codes_at_level([], "section") == []
    with pytest.raises(ValueError):
        nace.codes_at_level(codes, "nope")


def test_the_packaged_table_is_insees_table() -> None:
    packaged = resources.files("mlcycle.tasks.text").joinpath(nace.TABLE).read_bytes()
    if not SHARED_TABLE.exists():
        pytest.skip(f"{SHARED_TABLE} is not beside this checkout")
    assert packaged == SHARED_TABLE.read_bytes()


def test_the_table_holds_the_whole_nomenclature() -> None:
    distinct = {level: {row[level] for row in ROWS} for level in LEVELS}
    sizes = {level: len(codes) for level, codes in distinct.items()}
    assert sizes == {"section": 21, "division": 88, "group": 272, "class": 615, "subclass": 732}
    assert [code for code, _ in nace.subclasses()] == sorted(distinct["subclass"])


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["subclass"])
def test_every_subclass_comes_back_with_its_label_and_parents(row: dict[str, str]) -> None:
    code = row["subclass"]
    assert NAF_REV2.normalise(code) == code
    assert NAF_REV2.normalise(f" {row['class']}{code[-1].lower()} ") == code
    assert NAF_REV2.label(code) == row["subclass_label"]
    assert NAF_REV2.parents(code) == {
        level: Parent(row[level].replace(".", ""), row[f"{level}_label"]) for level in LEVELS[:-1]
    }
    for level in LEVELS:  # every level's code, written as INSEE writes it, has its label
        assert nace.label(row[level]) == row[f"{level}_label"]
        assert nace.level_of(row[level]) == level
        assert NAF_REV2.at_level([code], level) == [row[level].replace(".", "")]


@pytest.mark.parametrize(
    ("written", "level", "label"),
    [
        ("I", "section", "Hébergement et restauration"),
        ("i", "section", "Hébergement et restauration"),
        ("56", "division", "Restauration"),
        ("56.1", "group", "Restaurants et services de restauration mobile"),
        ("561", "group", "Restaurants et services de restauration mobile"),
        ("56.10", "class", "Restaurants et services de restauration mobile"),
        ("5610", "class", "Restaurants et services de restauration mobile"),
        ("56.10A", "subclass", "Restauration traditionnelle"),
        ("96.02a", "subclass", "Coiffure"),
    ],
)
def test_label_reads_every_level_dotted_or_not(written: str, level: str, label: str) -> None:
    assert nace.label(written) == label
    assert nace.level_of(written) == level


@pytest.mark.parametrize("code", ["9999Z", "5699Z", "0400Z", "56.99", "04", "V", "", "not a code"])
def test_unknown_codes_have_no_label_level_or_parents(code: str) -> None:
    assert nace.label(code) is None
    assert nace.level_of(code) is None
    assert nace.parents(code) == {}


def test_parents_of_higher_levels_stop_above_them() -> None:
    assert nace.parents("I") == {}
    assert nace.parents("56.10") == {
        "section": ("I", "Hébergement et restauration"),
        "division": ("56", "Restauration"),
        "group": ("561", "Restaurants et services de restauration mobile"),
    }
    assert list(nace.parents("5610A")) == ["section", "division", "group", "class"]


def _near_misses(code: str) -> list[str]:
    """Codes one character away from a subclass: most are no subclass."""
    letters = [code[:4] + letter for letter in "ABCDEFGHZ"]
    digits = [code[:i] + d + code[i + 1 :] for i in range(4) for d in "0123456789"]
    return [*letters, *digits, code[:4], code + "Z", code[1:]]


def test_the_written_pattern_accepts_exactly_what_normalise_accepts() -> None:
    pattern = re.compile(NAF_REV2.written_pattern)
    samples = ["56.10a", " 56 10 A ", "5610", "56.1", "ABCDE", "0400Z", "5699Z", "5610ſ", ""]
    for row in ROWS:
        code = row["subclass"]
        samples += [code, code.lower(), f"{row['class']}{code[-1]}", *_near_misses(code)]
    accepted = 0
    for written in samples:
        assert bool(pattern.match(written)) == (NAF_REV2.normalise(written) is not None), written
        accepted += NAF_REV2.normalise(written) is not None
    assert accepted > 4 * len(ROWS) and accepted < len(samples) / 2


@pytest.mark.parametrize("level", LEVELS)
def test_each_label_level_normalises_and_writes_exactly_its_own_codes(level: str) -> None:
    view = NAF_REV2.for_level(level)
    pattern = re.compile(view.written_pattern)
    codes = sorted({row[level] for row in ROWS})
    others = sorted({row[other] for row in ROWS for other in LEVELS if other != level})
    for written in codes:
        assert view.normalise(written) == written.replace(".", "").upper()
        assert pattern.match(written) and pattern.match(f" {written.lower()} ")
    for written in others[::7]:
        assert view.normalise(written) is None and not pattern.match(written), written
    assert view.levels == LEVELS[: LEVELS.index(level) + 1]


def test_a_class_level_nomenclature_maps_its_labels_up_and_not_down() -> None:
    classes = nomenclature("naf-rev2", "class")
    assert classes is not None and classes.levels[-1] == "class"
    assert classes.normalise("56.10") == "5610"
    assert classes.normalise("5610A") is None
    assert classes.at_level(["5610", "0111"], "division") == ["56", "01"]
    assert classes.at_level(["5610"], "section") == ["I"]
    with pytest.raises(ValueError, match="finer"):
        classes.at_level(["5610"], "subclass")
    assert classes.label("56.10A") == "Restauration traditionnelle"  # labels of any level


def test_an_unknown_label_level_is_one_clear_sentence() -> None:
    with pytest.raises(InvalidInput, match=r"data\.label_level 'family' .* choose one of section"):
        nomenclature("naf-rev2", "family")
    assert nomenclature("naf-rev2") is NAF_REV2
    assert nomenclature(None, "class") is None
