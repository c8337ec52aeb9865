"""Data checks of a tabular data set: one clear sentence each, errors and warnings."""

from __future__ import annotations

import pyarrow as pa
import pytest

from mlcycle.data.checks import MIN_CLASS_ROWS, column_checks, rare_classes


def _problems(issues) -> dict[str | None, str]:
    return {issue.problem: issue for issue in issues}


def _table(n: int = 20, **columns) -> pa.Table:
    base = {"x": [str(i) for i in range(n)], "y": ["a", "b"] * (n // 2)}
    return pa.table({**base, **columns})


def test_missing_target_names_the_columns_present() -> None:
    issues = column_checks(_table(), {"x": "numeric"}, "label", "classification")
    assert len(issues) == 1
    assert issues[0].severity == "error"
    assert issues[0].message == (
        "The data has no target column 'label' (columns: x, y); "
        "set data.target to the column to predict."
    )


@pytest.mark.parametrize(
    ("target", "task", "message"),
    [
        ([None, "NA"] * 10, "classification", "The target column 'y' is empty in every row"),
        (["a"] * 20, "classification", "has the single value 'a' in every row"),
        (["3,5"] * 20, "regression", "has the single value 3.5 in every row"),
        (["yes", "no"] * 10, "regression", "holds no number (values such as 'yes', 'no')"),
    ],
)
def test_an_empty_constant_or_unreadable_target_is_an_error(target, task, message) -> None:
    issues = column_checks(_table(y=target), {"x": "numeric"}, "y", task)
    assert [issue.severity for issue in issues] == ["error"]
    assert message in issues[0].message


def test_rare_classes_are_one_error_naming_them() -> None:
    target = ["a"] * 10 + ["b"] * 8 + ["c", "d"]
    issues = column_checks(_table(y=target), {"x": "numeric"}, "y", "classification")
    (issue,) = issues
    assert issue.problem == "rare classes" and issue.severity == "error"
    assert issue.message == (
        "2 classes of 'y' have fewer than 5 rows ('c': 1, 'd': 1); add rows, merge them "
        "into other classes or leave them out with --on-bad-rows drop."
    )
    assert rare_classes(pa.chunked_array([pa.array(target)]), MIN_CLASS_ROWS) == {"c": 1, "d": 1}


def test_a_target_with_as_many_classes_as_rows_suggests_regression() -> None:
    target = [f"{i * 0.37:.2f}" for i in range(200)]
    table = pa.table({"x": ["1"] * 200, "y": target})
    found = _problems(column_checks(table, {}, "y", "classification", min_class_rows=1))
    assert "set model.task: regression" in found["many classes"].message


def test_constant_and_empty_features_are_left_out() -> None:
    table = _table(same=["k"] * 20, empty=["NA"] * 20, half=["k", None] * 10)
    types = {"x": "numeric", "same": "categorical", "empty": "numeric", "half": "categorical"}
    by_column = {
        issue.column: issue for issue in column_checks(table, types, "y", "classification")
    }
    assert set(by_column) == {"same", "empty", "half"}  # one value and nulls: constant too
    assert all(issue.leave_out for issue in by_column.values())
    assert by_column["same"].problem == by_column["half"].problem == "constant"
    assert by_column["empty"].message == (
        "Column 'empty' is empty in every row; it is left out of the features."
    )


def test_junk_in_a_numeric_column_is_a_warning_naming_examples() -> None:
    values = [f"{i},5" for i in range(18)] + ["abc", "n.d."]
    found = _problems(column_checks(_table(bmi=values), {"bmi": "numeric"}, "y", "regression"))
    assert found["not numbers"].message == (
        "Column 'bmi' is numeric but 2 of its values are not numbers ('abc', 'n.d.'); "
        "their rows are bad rows: fix them, or declare data.types.bmi: categorical."
    )
    assert "(e.g. '0,5')" in found["numbers as text"].message


def test_numbers_as_text_are_said_only_when_it_is_news() -> None:
    plain_csv = column_checks(_table(), {"x": "numeric"}, "y", "classification")
    assert not plain_csv  # every CSV column is text: nothing to say about "1", "2"
    typed = _table(n=20, other=pa.array(range(20)))
    found = _problems(column_checks(typed, {"x": "numeric", "other": "numeric"}, "y", "regression"))
    assert found["numbers as text"].column == "x"


def test_ambiguous_thousands_are_explained() -> None:
    values = [f"{i},{i:03d}" for i in range(1, 21)]
    issues = column_checks(_table(n=20, n1=values), {"n1": "categorical"}, "y", "classification")
    found = _problems(issues)
    assert (
        "whose comma may be a decimal or a thousands separator"
        in found["ambiguous numbers"].message
    )


def test_high_cardinality_text_is_flagged_but_kept() -> None:
    notes = [f"free text number {i}" for i in range(100)]
    table = pa.table({"note": notes, "y": ["a", "b"] * 50})
    issue = _problems(column_checks(table, {"note": "categorical"}, "y", "classification"))[
        "high cardinality"
    ]
    assert not issue.leave_out and issue.severity == "warning"
    assert "100 distinct values in 100 rows" in issue.message
    assert issue.to_dict()["column"] == "note"
