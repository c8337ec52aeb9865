"""Tabular column types: reading text as numbers, yes/no and dates; inference; coercion."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.data.columns import coerce, infer_type, infer_types
from mlcycle.data.parsing import clean, parse_booleans, parse_datetimes, parse_numbers


def _numbers(values: list[str | None]):
    return parse_numbers(clean(pa.array(values, pa.string())))


def test_null_tokens_and_spaces_are_cleaned() -> None:
    raw = ["", "NA", "N/A", "n/a", "null", "None", "NaN", "-", "  x ", None, "0"]
    assert clean(pa.array(raw)).to_pylist() == [None] * 8 + ["x", None, "0"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1.5", "2", "1e3", " -.5 ", "+3"], [1.5, 2.0, 1000.0, -0.5, 3.0]),
        (["1,5", "2", "3,25", "-0,5"], [1.5, 2.0, 3.25, -0.5]),  # decimal commas
        (["1.234,5", "1.500", "2,5"], [1234.5, 1500.0, 2.5]),  # dot groups proved by 1.234,5
        (["1,234.5", "1,500", "7"], [1234.5, 1500.0, 7.0]),  # comma groups proved by 1,234.5
        (["1 234,5", "2\u00a0500", "3"], [1234.5, 2500.0, 3.0]),  # spaced groups
        (["1.234.567", "12"], [1234567.0, 12.0]),
    ],
)
def test_numbers_read_with_the_separators_the_column_proves(values, expected) -> None:
    parsed = _numbers(values)
    assert parsed.values.to_pylist() == expected
    assert not parsed.failed.any()


def test_a_comma_that_proves_nothing_is_not_guessed() -> None:
    parsed = _numbers(["1,500", "2,000", "3"])
    assert parsed.values.to_pylist() == [None, None, 3.0]
    assert parsed.failed.tolist() == [True, True, False]
    assert parsed.ambiguous.tolist() == [True, True, False]


def test_junk_is_flagged_and_nulls_are_not() -> None:
    parsed = _numbers(["1.5", "abc", None, "NA", "12%", "1.5.5"])
    assert parsed.values.to_pylist() == [1.5, None, None, None, None, None]
    assert parsed.failed.tolist() == [False, True, False, False, True, True]


def test_yes_no_tokens_in_three_languages() -> None:
    values, failed = parse_booleans(clean(pa.array(["Yes", "no", "OUI", "non", "1", "0", "x"])))
    assert values.to_pylist() == [True, False, True, False, True, False, None]
    assert failed.tolist() == [False] * 6 + [True]


def test_dates_read_as_utc_and_impossible_ones_flagged() -> None:
    raw = ["2020-01-01", "2020/01/02", "2020-01-01 10:00", "2020-01-01T10:00:00.5Z"]
    raw += ["2020-01-01T10:00:00+02:00", "01/02/2020", "2020-13-45", None]
    values, failed = parse_datetimes(clean(pa.array(raw)))
    assert values.to_pylist() == [
        dt.datetime(2020, 1, 1),
        dt.datetime(2020, 1, 2),
        dt.datetime(2020, 1, 1, 10),
        dt.datetime(2020, 1, 1, 10, 0, 0, 500_000),
        dt.datetime(2020, 1, 1, 8),
        None,
        None,
        None,
    ]
    assert failed.tolist() == [False] * 5 + [True, True, False]


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["1,5", "2,25", "NA", "3"], "numeric"),
        ([f"{i}.5" for i in range(19)] + ["oops"], "numeric"),  # a few junk values
        ([f"{i}.5" for i in range(5)] + ["a", "b"], "categorical"),  # too much junk
        (["yes", "no", "oui", None], "boolean"),
        (["0", "1", "1"], "boolean"),
        (["2024-01-05", "2024-02-01 10:00", ""], "datetime"),
        (["01", "02", "75"], "categorical"),  # leading zeros: codes, not numbers
        (["12345678901234567"], "categorical"),  # too long to be a float: an identifier
        (["1,500", "2,000"], "categorical"),  # ambiguous
        ([None, "NA", ""], "categorical"),
        (["red", "blue"], "categorical"),
    ],
)
def test_text_columns_get_the_type_their_values_show(values, kind) -> None:
    assert infer_type(pa.chunked_array([pa.array(values, pa.string())])) == kind


@pytest.mark.parametrize(
    ("array", "kind"),
    [
        (pa.array([1, 2]), "numeric"),
        (pa.array([1.5, None]), "numeric"),
        (pa.array([True, False]), "boolean"),
        (pa.array([dt.datetime(2020, 1, 1)]), "datetime"),
        (pa.array([dt.date(2020, 1, 1)]), "datetime"),
        (pa.array(["a", "b"]).dictionary_encode(), "categorical"),
    ],
)
def test_typed_columns_keep_their_type(array, kind) -> None:
    assert infer_type(pa.chunked_array([array])) == kind


def test_explicit_types_win_and_bad_ones_are_one_sentence() -> None:
    table = pa.table({"code": ["01", "02"], "n": ["1", "2"]})
    assert infer_types(table, {"n": "categorical"}) == {"code": "categorical", "n": "categorical"}
    with pytest.raises(InvalidInput, match=r"data\.types\.n is 'number'; use one of numeric"):
        infer_types(table, {"n": "number"})
    with pytest.raises(InvalidInput, match=r"names column 'x', which the data does not have"):
        infer_types(table, {"x": "numeric"})


def test_coerce_types_columns_and_keeps_each_rows_first_problem() -> None:
    table = pa.table(
        {
            "bmi": ["22,5", "abc", "n/a", "x"],
            "smoker": ["oui", "non", "maybe", "oui"],
            "when": ["2024-01-01", "2024-01-02", "2024-01-03", "soon"],
            "city": [" Paris", "Lyon", None, "NA"],
        }
    )
    types = {"bmi": "numeric", "smoker": "boolean", "when": "datetime", "city": "categorical"}
    coerced = coerce(table, types)
    assert coerced.table.column("bmi").to_pylist() == [22.5, None, None, None]
    assert coerced.table.column("smoker").to_pylist() == [True, False, None, True]
    assert coerced.table.column("city").to_pylist() == ["Paris", "Lyon", None, None]
    assert coerced.table.schema.field("when").type == pa.timestamp("us")
    assert coerced.problems.tolist() == [
        None,
        "'abc' in column 'bmi' is not a number",
        "'maybe' in column 'smoker' is not a yes/no value",
        "'x' in column 'bmi' is not a number",  # the first of its two problems
    ]
    assert coerced.kinds[1] == "not a number in 'bmi'"
    assert coerced.bad.tolist() == [False, True, True, True]
    assert coerced.readings["bmi"].failed == 2
    assert coerced.readings["bmi"].examples == ("abc", "x")
    assert coerced.readings["bmi"].reformatted == "22,5"


def test_coerce_converts_typed_columns_without_parsing() -> None:
    zoned = pa.array([dt.datetime(2020, 1, 1, 12)], pa.timestamp("s", tz="Europe/Paris"))
    table = pa.table({"n": pa.array([1], pa.int32()), "flag": [True], "at": zoned, "code": [7]})
    types = {"n": "numeric", "flag": "boolean", "at": "datetime", "code": "categorical"}
    coerced = coerce(table, types)
    assert coerced.table.column("n").type == pa.float64()
    assert coerced.table.column("at").to_pylist() == [dt.datetime(2020, 1, 1, 12)]
    assert coerced.table.column("code").to_pylist() == ["7"]
    assert not coerced.bad.any()


def test_types_of_a_large_table_are_inferred_from_spread_rows() -> None:
    from mlcycle.data import columns

    n = columns.INFER_ROWS * 3
    table = pa.table({"n": pa.array([str(i % 97) for i in range(n)]), "c": ["x", "y"] * (n // 2)})
    assert infer_types(table) == {"n": "numeric", "c": "categorical"}


def test_a_column_of_lists_is_one_sentence_naming_it() -> None:
    from mlcycle.core.errors import DataError

    table = pa.table({"tags": pa.array([["a"], ["b", "c"]]), "n": [1, 2]})
    with pytest.raises(DataError, match=r"Column 'tags' holds list<item: string> values"):
        infer_types(table)
