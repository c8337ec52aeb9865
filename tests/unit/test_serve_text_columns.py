"""A text model's categorical columns in a request: our form and MLflow's, each optional."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlcycle.core.errors import InvalidInput
from mlcycle.core.settings import ServeSettings
from mlcycle.serve.bodies import text_inputs
from mlcycle.serve.schemas import predict_schema
from mlcycle.serve.text_columns import batch, limits_with, schema_with
from mlcycle.serve.validation import Limits

LIMITS = Limits.from_settings(ServeSettings(max_batch=3, max_k=4, max_value_chars=8))
COLUMNS = ("type_", "surface")


def _parse(payload: Any, columns: tuple[str, ...] = COLUMNS):
    return text_inputs(json.dumps(payload).encode(), limits_with(LIMITS, columns), columns)


@pytest.mark.parametrize(
    "payload",
    [
        {"texts": ["a", "b"], "type_": ["X", None], "surface": [2, "3"], "k": 2},
        {"dataframe_records": [{"text": "a", "type_": "X", "surface": 2},
                               {"text": "b", "surface": "3"}], "params": {"k": 2}},
        {"inputs": {"text": ["a", "b"], "type_": ["X", None], "surface": [2, "3"]},
         "params": {"k": 2}},
        {"dataframe_split": {"columns": ["text", "type_", "surface"],
                             "data": [["a", "X", 2], ["b", None, "3"]]}, "params": {"k": 2}},
    ],
)  # fmt: skip
def test_every_form_gives_the_texts_and_their_columns(payload: dict[str, Any]) -> None:
    inputs = _parse(payload)
    assert inputs.items == ["a", "b"] and inputs.k == 2
    assert inputs.columns == {"type_": ["X", None], "surface": [2, "3"]}
    table = batch(inputs.items, inputs.columns)
    assert table.columns.tolist() == ["text", "type_", "surface"] and len(table) == 2


def test_columns_are_optional_and_a_model_without_columns_gets_texts() -> None:
    assert _parse({"texts": ["a"]}).columns == {}
    assert _parse({"texts": ["a"], "surface": [1]}).columns == {"surface": [1]}
    assert batch(["a"], {}) == ["a"]
    assert _parse({"texts": ["a"]}, ()).columns is None
    with pytest.raises(InvalidInput, match="a request has only 'texts' and 'k'"):
        _parse({"texts": ["a"], "type_": ["X"]}, ())


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"texts": ["a"], "type_": ["X", "Y"]}, "'type_' has 2 values for 1 texts"),
        ({"texts": ["a"], "type_": "X"}, "'type_' must be a list of values"),
        ({"texts": ["a"], "type_": [["X"]]}, "'type_[0]' must be a string, a number or null"),
        ({"texts": ["a"], "type_": ["123456789"]}, "'type_[0]' has 9 characters"),
        ({"texts": ["a"], "nature": ["1"]}, "Unknown field 'nature'; a request has 'texts'"),
        ({"inputs": [{"text": "a", "nature": "1"}]}, "else only this model's columns"),
        ({"inputs": [{"text": "a", "type_": {}}]}, "'record 0: type_' must be a string"),
        # The value goes to the prediction log as JSON, which holds 64-bit integers only.
        ({"texts": ["a"], "surface": [2**70]}, "'surface[0]' is out of range"),
    ],
)
def test_bad_columns_are_one_sentence(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        _parse(payload)


def test_limits_and_schema_make_room_for_the_columns() -> None:
    wider = limits_with(LIMITS, COLUMNS)
    assert wider.max_body_bytes > LIMITS.max_body_bytes
    assert wider.values_per_item >= 3 * (len(COLUMNS) + 1) + 2
    assert limits_with(LIMITS, ()) is LIMITS
    schema = schema_with(predict_schema(LIMITS), COLUMNS, LIMITS)
    assert set(schema["properties"]) == {"texts", "k", *COLUMNS}
    assert schema["properties"]["surface"]["maxItems"] == 3
    assert schema_with(predict_schema(LIMITS), (), LIMITS) == predict_schema(LIMITS)


@pytest.mark.parametrize(
    "payload",
    [
        {"texts": ["a", " ", "c"], "type_": ["X", "Y", "Z"], "surface": [1, 2, 3]},
        {"dataframe_records": [{"text": "a", "type_": "X", "surface": 1},
                               {"text": " ", "type_": "Y", "surface": 2},
                               {"text": "c", "type_": "Z", "surface": 3}]},
    ],
)  # fmt: skip
def test_a_blank_text_takes_its_column_values_out_with_it(payload: dict[str, Any]) -> None:
    """The texts the model reads and their columns' values stay side by side."""
    inputs = _parse(payload)
    assert inputs.items == ["a", "c"] and [f.index for f in inputs.faults] == [1]
    assert inputs.columns == {"type_": ["X", "Z"], "surface": [1, 3]}
