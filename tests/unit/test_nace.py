"""NACE / NAF rev.2 code helpers."""

from __future__ import annotations

import pytest

from mlcycle.tasks.text import nace


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


def test_label_knows_sections_and_generator_subclasses() -> None:
    assert nace.label("5610A") == "Restauration traditionnelle"
    assert nace.label("96.02a") == "Coiffure"
    assert nace.label("I") == "Hébergement et restauration"
    assert nace.label("9999Z") is None
    assert nace.label("not a code") is None
    assert len(nace.SECTION_LABELS) == 21


def test_subclass_labels_are_well_formed() -> None:
    for code, text in nace.SUBCLASS_LABELS.items():
        assert nace.SUBCLASS_PATTERN.match(code)
        assert nace.section_of(code) in nace.SECTION_LABELS
        assert text and text == text.strip() and text[0].isupper()


def test_the_written_pattern_accepts_exactly_what_the_nomenclature_normalises() -> None:
    import re

    from mlcycle.tasks.text.nace import NAF_REV2

    pattern = re.compile(NAF_REV2.written_pattern)
    samples = [f"{d:02d}{g}{c}{letter}" for d in range(100) for g, c, letter in [("1", "0", "A")]]
    samples += ["56.10a", " 56 10 A ", "5610", "56.1", "ABCDE", "0400Z", "5610AA", "5610ſ"]
    for written in samples:
        assert bool(pattern.match(written)) == (NAF_REV2.normalise(written) is not None), written
