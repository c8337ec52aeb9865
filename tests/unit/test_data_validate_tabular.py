"""Tabular validation: typed columns, bad rows with line numbers under the same policies."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.data.readers import read_raw
from mlcycle.data.validate import METADATA_KEY, InvalidRows, TabularSchema, validate_tabular

HEADER = "age;bmi;sex;smoker;seen;note;y"


def _row(i: int, bmi: str | None = None, y: str | None = None) -> str:
    bmi = bmi if bmi is not None else f"{20 + i % 10},{i % 10}"
    label = y if y is not None else ("yes" if i % 3 else "no")
    return f"{30 + i};{bmi};{'MF'[i % 2]};{'oui' if i % 4 else 'non'};2024-0{1 + i % 9}-1{i % 9};n{i};{label}"  # noqa: E501


def _raw(tmp_path: Path, lines: list[str], header: str = HEADER):
    path = tmp_path / "d.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return read_raw(path)


def _messy(n: int = 60) -> list[str]:
    """Decimal commas, one junk bmi (line 9), a missing target (line 20), a rare class."""
    lines = [_row(i) for i in range(n)]
    lines[7] = _row(7, bmi="abc")
    lines[9] = _row(9, bmi="NA")  # a null, not a bad value
    lines[18] = _row(18, y="")
    lines[25] = _row(25, y="maybe")
    return lines


def test_reject_lists_bad_rows_with_lines_and_reasons(tmp_path) -> None:
    with pytest.raises(InvalidRows) as caught:
        validate_tabular(_raw(tmp_path, _messy()), TabularSchema("y"), "reject", "d.csv")
    error = caught.value
    assert error.message.startswith(
        "d.csv has 3 invalid rows out of 60 (1 class too rare, 1 missing target, "
        "1 not a number in 'bmi'); fix them, or pass --on-bad-rows drop"
    )
    assert [(row["line"], row["reason"]) for row in error.rows] == [
        (9, "'abc' in column 'bmi' is not a number"),
        (20, "no value in the target column 'y'"),
        (27, "class 'maybe' has 1 row (at least 5 needed)"),
    ]
    assert error.rows[0]["bmi"] == "abc" and error.rows[0]["age"] == "37"


def test_drop_keeps_typed_features_and_the_target_last(tmp_path) -> None:
    checked = validate_tabular(_raw(tmp_path, _messy()), TabularSchema("y"), "drop", "d.csv")
    table = checked.table
    assert checked.rows_read == 60 and table.num_rows == 57
    assert table.column_names == ["age", "bmi", "sex", "smoker", "seen", "note", "y"]
    assert [str(t) for t in table.schema.types] == [
        "double", "double", "string", "bool", "timestamp[us]", "string", "string",
    ]  # fmt: skip
    assert table.column("bmi")[0].as_py() == 20.0 and table.column("bmi")[1].as_py() == 21.1
    assert checked.columns == {"target": "y"}
    assert checked.types == {
        "age": "numeric", "bmi": "numeric", "sex": "categorical", "smoker": "boolean",
        "seen": "datetime", "note": "categorical",
    }  # fmt: skip
    assert checked.reasons == {"class too rare": 1, "missing target": 1, "not a number in 'bmi'": 1}
    assert checked.null_rates["bmi"] == round(2 / 60, 6)  # "NA" and the junk value
    described = json.loads(table.schema.metadata[METADATA_KEY])
    assert described == {"target": "y", "task": "classification", "types": checked.types}
    problems = {issue.problem for issue in checked.issues}
    assert problems == {"numbers as text", "high cardinality"}


def test_quarantine_keeps_bad_rows_as_read(tmp_path) -> None:
    lines = [*_messy(), "1;2;3"]
    checked = validate_tabular(_raw(tmp_path, lines), TabularSchema("y"), "quarantine", "d.csv")
    bad = checked.bad.to_pylist()
    assert [row["line"] for row in bad] == [9, 20, 27, 62]
    assert bad[-1]["raw"] == "1;2;3" and bad[-1]["reason"] == "has 3 fields, expected 7"
    assert "kind" not in checked.bad.column_names


def test_regression_target_is_float_and_constant_features_are_left_out(tmp_path) -> None:
    lines = [f"{i};{i * 1.5};k" for i in range(30)] + ["30;NA;k", "31;lots;k"]
    schema = TabularSchema("y", task="regression")
    raw = _raw(tmp_path, lines, header="x;y;same")
    checked = validate_tabular(raw, schema, "drop", "d.csv")
    assert checked.table.schema.field("y").type == pa.float64()
    assert checked.reasons == {"missing target": 1, "not a number in 'y'": 1}
    assert checked.types == {"x": "numeric"}  # "same" is constant: left out
    assert [i.problem for i in checked.issues if i.leave_out] == ["constant"]
    assert "same" in checked.table.column_names  # the data keeps it; the features do not


def test_features_and_explicit_types_are_honoured(tmp_path) -> None:
    lines = [f"{i:02d};{i};{'ab'[i % 2]}" for i in range(20)]
    schema = TabularSchema("y", features=("code",), types={"code": "categorical"})
    checked = validate_tabular(_raw(tmp_path, lines, header="code;x;y"), schema, "reject", "d")
    assert checked.types == {"code": "categorical"}
    assert checked.table.column_names == ["code", "x", "y"]  # other columns stay as data


@pytest.mark.parametrize(
    ("schema", "error", "message"),
    [
        (
            TabularSchema("label"),
            DataError,
            r"has no column 'label' \(columns: a, b, y\); set data\.target to the column",
        ),
        (
            TabularSchema("y", features=("c",)),
            DataError,
            r"no column 'c'.*fix data\.features or data\.types\.$",
        ),
        (TabularSchema("y", types={"a": "text"}), InvalidInput, r"data\.types\.a is 'text'"),
    ],
)
def test_bad_schemas_are_one_sentence(tmp_path, schema, error, message) -> None:
    raw = _raw(tmp_path, [f"{i};x;{'ab'[i % 2]}" for i in range(20)], header="a;b;y")
    with pytest.raises(error, match=message):
        validate_tabular(raw, schema, "reject", "d.csv")


def test_a_constant_target_is_refused_before_any_row(tmp_path) -> None:
    raw = _raw(tmp_path, [f"{i};same" for i in range(20)], header="a;y")
    with pytest.raises(DataError, match=r"single value 'same' in every row"):
        validate_tabular(raw, TabularSchema("y"), "reject", "d.csv")


def test_too_many_bad_rows_are_refused_even_when_dropping(tmp_path) -> None:
    lines = [f"{'x' if i % 2 else i};{'ab'[i % 2]}" for i in range(40)]
    raw = _raw(tmp_path, lines, header="a;y")
    schema = TabularSchema("y", types={"a": "numeric"})
    with pytest.raises(InvalidRows, match=r"more than the 25%.*check the file and data\.target"):
        validate_tabular(raw, schema, "drop", "d.csv")


def test_duplicates_and_conflicts_count_whole_rows(tmp_path) -> None:
    lines = ["1;a;p", "1;a;p", "1;a;q", "2;b;q"] * 5
    checked = validate_tabular(
        _raw(tmp_path, lines, header="n;c;y"), TabularSchema("y"), "reject", "d"
    )
    assert checked.duplicates == 20 - 3  # three distinct rows
    assert checked.conflicting_texts == 1  # (1, a) is both p and q


def test_parquet_keeps_its_types(tmp_path) -> None:
    path = tmp_path / "d.parquet"
    table = pa.table(
        {"n": list(range(20)), "f": [True, False] * 10, "y": [0.5 * i for i in range(20)]}
    )
    pq.write_table(table, path)
    checked = validate_tabular(read_raw(path), TabularSchema("y", "regression"), "reject", "d")
    assert checked.types == {"n": "numeric", "f": "boolean"}
    assert checked.table.column("y").to_pylist() == table.column("y").to_pylist()


def test_unknown_policy_is_invalid_input(tmp_path) -> None:
    raw = _raw(tmp_path, ["1;a"], header="n;y")
    with pytest.raises(InvalidInput, match="--on-bad-rows must be one of reject, drop"):
        validate_tabular(raw, TabularSchema("y"), "ignore", "d.csv")


def test_a_wrong_delimiter_is_said_as_for_text(tmp_path) -> None:
    raw = _raw(tmp_path, ["1:a", "2:b"], header="n:y")
    with pytest.raises(DataError, match=r"reads as a single column 'n:y'.*--delimiter"):
        validate_tabular(raw, TabularSchema("y"), "reject", "d.csv")


def test_bad_rows_show_columns_of_any_type(tmp_path) -> None:
    path = tmp_path / "d.parquet"
    tags = pa.array([["a"], ["b", "c"]] * 10)
    table = pa.table({"n": ["1", "x"] + ["2"] * 18, "tags": tags, "y": ["a", "b"] * 10})
    pq.write_table(table, path)
    schema = TabularSchema("y", features=("n",), types={"n": "numeric"})
    with pytest.raises(InvalidRows) as caught:
        validate_tabular(read_raw(path), schema, "reject", "d")
    assert caught.value.rows[0]["tags"] == "['b', 'c']" and caught.value.rows[0]["line"] == 2
