"""Schema validation: codes, bad-row policies, line numbers, duplicates and null rates."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcycle.core.errors import DataError, InvalidInput
from mlcycle.core.settings import load_settings
from mlcycle.data.readers import read_raw
from mlcycle.data.validate import InvalidRows, Schema, validate
from mlcycle.tasks.labels import nomenclature
from mlcycle.tasks.text.nace import NAF_REV2

# The pattern-checked schema of a project with NAF-shaped labels in a ``nace`` column.
SCHEMA = Schema(label_col="nace", code_pattern=r"^\d{4}[A-Z]$", normalise_codes=True)
# The flagship project's schema: labels must be NAF rev.2 subclasses.
NACE = Schema(label_col="nace", normalise_codes=True, nomenclature=NAF_REV2)


def _raw(tmp_path: Path, lines: list[str], header: str = "text,nace"):
    path = tmp_path / "d.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return read_raw(path)


def _with_bad_codes(n: int = 100, every: int = 10) -> list[str]:
    """``n`` rows, one in ``every`` with a code that is no NAF subclass."""
    return [f"activite {i},{'56X' if i % every == 3 else '5610A'}" for i in range(n)]


def test_dotted_and_lower_case_codes_are_normalised(tmp_path) -> None:
    raw = _raw(tmp_path, ["bar,56.30z", " coiffure ,96 02A", "cafe,5630Z"])
    checked = validate(raw, SCHEMA, "reject", "d.csv")
    assert checked.table.column("label").to_pylist() == ["5630Z", "9602A", "5630Z"]
    assert checked.table.column("text").to_pylist() == ["bar", "coiffure", "cafe"]


def test_reject_refuses_with_line_numbers_of_the_first_bad_rows(tmp_path) -> None:
    raw = _raw(tmp_path, _with_bad_codes())
    with pytest.raises(InvalidRows) as caught:
        validate(raw, SCHEMA, "reject", "d.csv")
    error = caught.value
    assert "d.csv has 10 invalid rows out of 100 (10 invalid label)" in error.message
    assert "--on-bad-rows drop" in error.message and "\n" not in error.message
    assert [row["line"] for row in error.rows] == [5 + 10 * i for i in range(10)]
    assert error.rows[0]["reason"] == r"label '56X' does not match ^\d{4}[A-Z]$"
    assert error.rows[0]["text"] == "activite 3"
    assert error.exit_code != 0 and error.to_dict()["rows"] == error.rows


def test_drop_leaves_bad_rows_out_and_counts_them(tmp_path) -> None:
    checked = validate(_raw(tmp_path, _with_bad_codes()), SCHEMA, "drop", "d.csv")
    assert checked.table.num_rows == 90 and checked.rows_read == 100
    assert checked.reasons == {"invalid label": 10}
    assert "activite 3" not in checked.table.column("text").to_pylist()


def test_quarantine_keeps_bad_rows_with_line_and_reason(tmp_path) -> None:
    lines = [*_with_bad_codes(), "broken,5610A,extra field"]
    checked = validate(_raw(tmp_path, lines), SCHEMA, "quarantine", "d.csv")
    assert checked.table.num_rows == 90
    bad = checked.bad.to_pylist()
    assert len(bad) == 11
    assert bad[0]["line"] == 5 and bad[0]["nace"] == "56X" and bad[0]["text"] == "activite 3"
    assert bad[-1]["line"] == 102 and bad[-1]["raw"] == "broken,5610A,extra field"
    assert bad[-1]["reason"] == "has 3 fields, expected 2"


def test_too_many_bad_rows_are_refused_even_when_dropping(tmp_path) -> None:
    raw = _raw(tmp_path, [f"activite {i},{'5610A' if i % 2 else '56X'}" for i in range(100)])
    with pytest.raises(InvalidRows, match=r"more than the 25% that data\.max_bad_share allows"):
        validate(raw, SCHEMA, "drop", "d.csv")


def test_each_reason_is_named(tmp_path) -> None:
    long = "x" * 100_000
    raw = _raw(tmp_path, [",5610A", "bar,", f"{long},5610A", "bar,ABCDE", "ok,5610A"])
    with pytest.raises(InvalidRows) as caught:
        validate(raw, SCHEMA, "reject", "d.csv")
    reasons = [row["reason"] for row in caught.value.rows]
    assert reasons[:3] == [
        "empty text",
        "missing label",
        "text has 100,000 characters (at most 10,000)",
    ]
    assert reasons[3].startswith("label 'ABCDE' does not match")
    assert len(caught.value.rows[2]["text"]) == 80  # shown cut short, not 100,000 wide


def test_missing_column_names_the_columns_and_the_flag(tmp_path) -> None:
    raw = _raw(tmp_path, ["bar,5630Z"], header="text,code")
    with pytest.raises(
        DataError, match=r"no column 'nace' \(columns: text, code\); pass --label-col"
    ):
        validate(raw, SCHEMA, "reject", "d.csv")


def test_wrong_delimiter_reads_as_one_column_and_says_so(tmp_path) -> None:
    raw = _raw(tmp_path, ["bar:5630Z", "cafe:5610A"], header="text:nace")
    with pytest.raises(DataError, match=r"reads as a single column 'text:nace'.*--delimiter"):
        validate(raw, SCHEMA, "reject", "d.csv")


def test_extra_columns_are_kept_and_clashing_names_renamed(tmp_path) -> None:
    raw = _raw(tmp_path, ["bar,5630Z,x,1", "cafe,5610A,y,2"], header="libelle,code,text,siren")
    schema = Schema(text_col="libelle", label_col="code")
    checked = validate(raw, schema, "reject", "d.csv")
    assert checked.table.column_names == ["text", "label", "text_extra", "siren"]
    assert checked.columns == {"text": "libelle", "label": "code"}


def test_duplicates_conflicts_and_null_rates_are_counted(tmp_path) -> None:
    lines = ["bar,5630Z", "bar,5630Z", "bar,5610A", "cafe,5630Z"]
    raw = _raw(
        tmp_path,
        [f"{line},{'' if i % 2 else 'n'}" for i, line in enumerate(lines)],
        "text,nace,note",
    )
    checked = validate(raw, SCHEMA, "reject", "d.csv")
    assert checked.duplicates == 1
    assert checked.conflicting_texts == 1
    assert checked.null_rates == {"text": 0.0, "nace": 0.0, "note": 0.5}


def test_pattern_can_be_any_label_or_a_python_only_regex(tmp_path) -> None:
    raw = _raw(tmp_path, ["a,cat", "b,dog", "c,c4t"])
    free = Schema(label_col="nace", code_pattern=None, normalise_codes=False)
    assert validate(raw, free, "reject", "d").table.column("label").to_pylist() == [
        "cat",
        "dog",
        "c4t",
    ]
    lookahead = Schema(  # RE2 has no look-ahead: Python's engine takes over
        label_col="nace",
        code_pattern=r"^(?!c4t)[a-z0-9]+$",
        normalise_codes=False,
        max_bad_share=0.5,
    )
    assert validate(raw, lookahead, "drop", "d").reasons == {"invalid label": 1}


@pytest.mark.parametrize(
    ("schema", "policy", "message"),
    [
        (SCHEMA, "ignore", "--on-bad-rows must be one of reject, drop, quarantine"),
        (Schema(label_col="nace", code_pattern="(["), "reject", "not a valid regular expression"),
        (Schema(text_col="nace", label_col="nace"), "reject", "name the same column"),
    ],
)
def test_bad_options_are_invalid_input(tmp_path, schema, policy, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate(_raw(tmp_path, ["bar,5630Z"]), schema, policy, "d.csv")


def test_nothing_valid_left_is_a_data_error(tmp_path) -> None:
    raw = _raw(tmp_path, ["bar,5630Z"])
    schema = Schema(label_col="nace", max_text_chars=1, max_bad_share=1.0)
    with pytest.raises(DataError, match="no valid row left"):
        validate(raw, schema, "drop", "d.csv")


def test_a_code_outside_the_nomenclature_is_a_bad_row_with_its_line(tmp_path) -> None:
    # 0400Z has the shape of a NAF code, but 04 is no division of NACE rev.2.
    schema = Schema(
        label_col="nace", normalise_codes=True, max_bad_share=0.5, nomenclature=NAF_REV2
    )
    raw = _raw(tmp_path, ["bar,5630Z", "mine,0400Z", "cafe,56.10a"])
    with pytest.raises(InvalidRows) as caught:
        validate(raw, schema, "reject", "d.csv")
    assert caught.value.rows == [
        {"line": 3, "reason": "label '0400Z' is not a naf-rev2 subclass code", "text": "mine",
         "nace": "0400Z"}
    ]  # fmt: skip
    kept = validate(raw, schema, "drop", "d.csv").table.column("label").to_pylist()
    assert kept == ["5630Z", "5610A"]


def _with_unknown_divisions() -> list[str]:
    """20 rows; lines 4, 9 and 14 carry codes of the right shape in no NACE division."""
    fake = {2: "0400Z", 7: "34.00a", 12: "0000A"}
    return [f"activite {i},{fake.get(i, '5610A')}" for i in range(20)]


def test_a_code_outside_the_nace_divisions_is_a_bad_row_with_its_line(tmp_path) -> None:
    raw = _raw(tmp_path, _with_unknown_divisions())
    with pytest.raises(InvalidRows) as caught:
        validate(raw, NACE, "reject", "d.csv")
    assert "3 invalid rows out of 20 (3 invalid label)" in caught.value.message
    assert [row["line"] for row in caught.value.rows] == [4, 9, 14]
    assert caught.value.rows[0]["reason"] == "label '0400Z' is not a naf-rev2 subclass code"
    assert caught.value.rows[1]["nace"] == "34.00a"  # shown as written in the file


@pytest.mark.parametrize("policy", ["drop", "quarantine"])
def test_codes_outside_the_nace_divisions_follow_the_bad_row_policy(tmp_path, policy) -> None:
    schema = Schema(label_col="nace", max_bad_share=0.5, nomenclature=NAF_REV2)
    checked = validate(_raw(tmp_path, _with_unknown_divisions()), schema, policy, "d.csv")
    assert checked.table.column("label").unique().to_pylist() == ["5610A"]
    assert checked.reasons == {"invalid label": 3}
    assert checked.bad.column("line").to_pylist() == [4, 9, 14]


def test_divisions_are_checked_only_with_the_nomenclature(tmp_path) -> None:
    """A pattern alone says what a label is; NACE divisions then do not apply."""
    raw = _raw(tmp_path, ["a,0400Z", "b,9999Z"])
    schema = Schema(label_col="nace", code_pattern=r"^\d{4}[A-Z]+$")
    assert validate(raw, schema, "reject", "d").table.column("label").to_pylist() == [
        "0400Z",
        "9999Z",
    ]


def test_bad_rows_of_a_parquet_file_with_list_columns_are_shown(tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    table = pa.table({"text": ["bar", ""], "nace": ["5630Z"] * 2, "tags": [["x"], ["y", "z"]]})
    pq.write_table(table, path)
    with pytest.raises(InvalidRows) as caught:
        validate(read_raw(path), SCHEMA, "reject", "d.parquet")
    assert caught.value.rows == [
        {"line": 2, "reason": "empty text", "text": "", "nace": "5630Z", "tags": "['y', 'z']"}
    ]


def test_codes_of_a_real_division_that_are_no_subclass_are_bad_rows(tmp_path) -> None:
    # 5699Z and 0111A have a real division and the shape, but INSEE's table has neither;
    # 56.10 is a class, not a subclass.
    lines = ["bar,5630Z", "snack,5699Z", "cafe,56.10a", "ble,0111A", "resto,56.10"]
    with pytest.raises(InvalidRows) as caught:
        validate(_raw(tmp_path, lines), NACE, "reject", "d.csv")
    rows = caught.value.rows
    assert [(row["line"], row["nace"]) for row in rows] == [
        (3, "5699Z"),
        (5, "0111A"),
        (6, "56.10"),
    ]
    assert rows[0]["reason"] == "label '5699Z' is not a naf-rev2 subclass code"


def test_a_class_level_project_keeps_class_codes_and_refuses_other_levels(tmp_path) -> None:
    classes = Schema(
        label_col="nace",
        normalise_codes=True,
        max_bad_share=0.5,
        nomenclature=nomenclature("naf-rev2", "class"),
    )
    raw = _raw(tmp_path, ["bar,56.30", "cafe,5610", "resto,5610A", "ble,01.11", "x,56", "y,56.99"])
    with pytest.raises(InvalidRows) as caught:
        validate(raw, classes, "reject", "d.csv")
    assert [row["line"] for row in caught.value.rows] == [4, 6, 7]
    assert caught.value.rows[0]["reason"] == "label '5610A' is not a naf-rev2 class code"
    kept = validate(raw, classes, "drop", "d.csv").table.column("label").to_pylist()
    assert kept == ["5630", "5610", "0111"]


def test_the_project_label_level_reaches_the_schema() -> None:
    settings = load_settings(data={"label_level": "division"})
    schema = Schema.from_settings(settings)
    assert schema.nomenclature is not None and schema.nomenclature.levels[-1] == "division"
    assert Schema.from_settings(load_settings()).nomenclature is NAF_REV2


# --- categorical columns beside the text -----------------------------------------------

CATEGORIES = Schema(label_col="nace", normalise_codes=True, categorical=("type_", "surface"))


def test_categorical_columns_are_kept_as_text_and_blank_is_missing(tmp_path) -> None:
    raw = _raw(
        tmp_path, ["bar,5630Z,X,2", "cafe,5630Z, ,", "pizza,5610A,M ,4"], "text,nace,type_,surface"
    )
    table = validate(raw, CATEGORIES, "reject", "d.csv").table
    assert table.column_names == ["text", "label", "type_", "surface"]
    assert table.column("type_").to_pylist() == ["X", None, "M"]
    assert table.column("surface").to_pylist() == ["2", None, "4"]  # read as numbers, kept as text


def test_a_missing_categorical_column_names_the_setting(tmp_path) -> None:
    raw = _raw(tmp_path, ["bar,5630Z,X"], "text,nace,type_")
    with pytest.raises(DataError, match=r"no column 'surface'.*fix data\.features"):
        validate(raw, CATEGORIES, "reject", "d.csv")


def test_a_text_project_reads_its_other_features_as_categories() -> None:
    settings = load_settings(
        model={"name": "n", "task": "text-classification"},
        data={"target": "nace", "features": ["libelle", "type_", "nature"]},
    )
    schema = Schema.from_settings(settings)
    assert (schema.text_col, schema.categorical) == ("libelle", ("type_", "nature"))
    plain = load_settings(model={"name": "n", "task": "text-classification"})
    assert Schema.from_settings(plain).categorical == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"features": ["text", "surface"], "types": {"surface": "numeric"}}, "type it categorical"),
        ({"target": "nace", "features": ["libelle", "label"]}, "rename that column"),
        ({"features": ["text", "k"]}, "cannot read a column named 'k'"),
    ],
)
def test_features_a_text_task_cannot_read_are_one_sentence(data: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_settings(model={"name": "n", "task": "text-classification"}, data=data)
