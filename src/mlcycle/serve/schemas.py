"""The shapes of the API's requests and answers, as documented in OpenAPI.

``/predict`` and ``/feedback`` validate their bodies by hand for speed (see
``mlcycle.serve.validation``); these models describe the same contract for ``/docs`` and
for clients: a body the schema allows is accepted and one it forbids is refused (the
schemathesis tests hold the server to it). The limits a server is configured with
(batch size, text length, k) are filled in by :func:`predict_schema` and
:func:`feedback_schema`; a tabular model's columns and classes by
:func:`records_schema` and the feedback rule (``mlcycle.serve.truths``) once it is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from mlcycle.data.predlog import REQUEST_ID_PATTERN

if TYPE_CHECKING:
    from mlcycle.serve.validation import Limits

# At least one character that is not white space.
NON_BLANK = r"\S"


class PredictRequest(BaseModel):
    """Texts to classify and how many ranked codes to return for each."""

    model_config = {"extra": "forbid"}

    texts: list[Any] = Field(
        min_length=1,
        description="Texts to label, 1 to the batch limit (1,000 by default), "
        "each non-blank and at most the text limit (2,000 characters by default). An item "
        "that is not such a text does not fail the request: it gets its own error.",
        examples=[["Restaurant traditionnel, cuisine du marché"]],
    )
    k: int = Field(
        1,
        ge=1,
        description="Codes to return per text, best first; from 1 to the k limit "
        "(20 by default), and never more than the model knows.",
        examples=[5],
    )


class ParentCode(BaseModel):
    """A code above a predicted one in its nomenclature."""

    code: str = Field(examples=["56"])
    label: str = Field(description="Its official label.", examples=["Restauration"])


class Candidate(BaseModel):
    """One ranked answer for one text."""

    code: str = Field(
        description="The predicted label: a code of the model's nomenclature where it has one."
    )
    probability: float = Field(ge=0.0, le=1.0, description="The model's probability.")
    label: str | None = Field(None, description="The code's official label, null when unknown.")
    parents: dict[str, ParentCode] = Field(
        default_factory=dict,
        description="The codes above this one by level, coarsest first (for example "
        "section, division, group, class); empty for a code outside the project's "
        "nomenclature, or without one.",
    )


class TextError(BaseModel):
    """Why one text of a request was not answered."""

    index: int = Field(ge=0, description="The text's position in the request's texts.")
    error: Literal["blank", "not_a_string", "too_long"] = Field(
        description="What is wrong: a blank text, an item that is not a string, a text "
        "longer than the limit."
    )
    message: str = Field(
        description="One sentence saying what is wrong and what to do.",
        examples=["texts[1] is empty or blank; send a description."],
    )


class ModelRef(BaseModel):
    """Which registered model version answered."""

    name: str
    version: str


class PredictResponse(BaseModel):
    """Ranked codes for each text, in the order of the request's texts."""

    request_id: str = Field(
        description="This answer's id (also in the X-Request-ID header); send it back "
        "with POST /feedback, with the text's index, once the true code is known."
    )
    model: ModelRef
    predictions: list[list[Candidate] | None] = Field(
        description="Per text, the k most probable codes, best first; null for a text "
        "answered with an error (see ``errors``)."
    )
    empty_after_cleaning: list[int] = Field(
        default_factory=list,
        description="Indexes of the texts with no word left once cleaned (only digits, "
        "punctuation or stop words): their codes say nothing about the text; code them "
        "by hand.",
    )
    errors: list[TextError] = Field(
        default_factory=list,
        description="The texts that were not answered (blank, not a string, too long), "
        "in the order of the texts; empty when every text was answered.",
    )
    auto_codable: list[bool] = Field(
        default_factory=list,
        description="Per text, in order: whether its top-1 code can be taken without "
        "review (its probability reaches the model's auto-coding threshold, see GET /).",
    )


class ValueAnswer(BaseModel):
    """A regression's answer for one record."""

    value: float = Field(description="The predicted value.")


class RecordsClassesResponse(BaseModel):
    """Ranked classes for each record, in the order of the request's records."""

    request_id: str = Field(
        description="This answer's id (also in the X-Request-ID header); send it back "
        "with POST /feedback, with the record's index, once the true class is known."
    )
    model: ModelRef
    predictions: list[list[Candidate]] = Field(
        description="Per record, the k most probable classes (``code``) with their "
        "probabilities, best first; ``label`` is null unless the classes have a nomenclature."
    )


class RecordsValuesResponse(BaseModel):
    """A regression's values, in the order of the request's records."""

    request_id: str = Field(description="This answer's id, for POST /feedback (true_value).")
    model: ModelRef
    predictions: list[ValueAnswer]


class MlflowResponse(BaseModel):
    """The answer to an MLflow scoring body: what ``mlflow models serve`` answers (each
    record's class or value), with the request id and model beside it."""

    request_id: str
    model: ModelRef
    predictions: list[str] | list[float]


class ModelInfo(BaseModel):
    """The model this server answers with."""

    name: str
    version: str
    labels: int = Field(description="How many codes (classes) the model can predict.")
    model_uri: str
    task: str | None = Field(None, description="A tabular model's task.")
    features: list[str] | None = Field(
        None,
        description="A tabular model's feature columns; the categorical columns a text "
        "model reads beside the texts, if any.",
    )
    auto_coding_threshold: float | None = Field(
        None,
        description="A text classifier's top-1 probability from which an answer is coded "
        "without review: the model's own (set at training for the project's target "
        "precision), else the project's monitor.auto_coding_threshold.",
    )


class ExperimentStatus(BaseModel):
    """An online experiment's state (``serve.experiment``)."""

    mode: str = Field(description="shadow or canary.")
    challenger: str = Field(description="The challenger's reference.")
    version: str | None = Field(None, description="Its version answering; none when missing.")
    share: float = Field(description="The share of requests it scores (shadow) or answers.")
    sticky: str | None = Field(None, description="canary: key or request.")
    error: str | None = Field(
        None, description="Why the challenger is not answering: the champion answers alone."
    )


class Status(BaseModel):
    """A probe's answer."""

    status: str
    experiment: ExperimentStatus | None = None


class ErrorBody(BaseModel):
    """Every error the API returns: a stable code and one sentence for a person."""

    error: str = Field(examples=["invalid_input"])
    detail: str = Field(examples=["'texts' is empty; send between 1 and 1000 texts."])


class FeedbackItem(BaseModel):
    """The true code of one text answered before."""

    model_config = {"extra": "forbid"}

    request_id: str = Field(
        pattern=REQUEST_ID_PATTERN,
        description="The request_id of the /predict answer.",
        examples=["01a201e4-8cdd-7b2a-86e3-7adad27870a6"],
    )
    index: int = Field(
        0,
        ge=0,
        description="The text's position in that request's texts; may be left out when "
        "the request had one text.",
    )
    true_code: str = Field(
        pattern=NON_BLANK,
        description="The right label: a code of the model's nomenclature where it has one, "
        "written in any form the nomenclature reads.",
        examples=["5610A"],
    )


class FeedbackAnswer(BaseModel):
    """How many feedback items were stored."""

    stored: int


class ReloadAnswer(BaseModel):
    """What a reload did: the versions before and after."""

    previous: str | None
    current: str | None
    swapped: bool


def predict_schema(limits: Limits) -> dict[str, Any]:
    """The JSON schema of a ``/predict`` body on a server with these limits."""
    schema = PredictRequest.model_json_schema()
    texts = schema["properties"]["texts"]
    texts["maxItems"] = limits.max_batch
    text = {"type": "string", "minLength": 1, "maxLength": limits.max_text_chars,
            "pattern": NON_BLANK, "title": "Text"}  # fmt: skip
    other = {
        "title": "Anything else",
        "description": "A blank or too long text, a number, null...: the request is still "
        "answered; this item's prediction is null and the answer's errors say why.",
    }
    texts["items"] = {"anyOf": [text, other]}
    schema["properties"]["k"]["maximum"] = limits.max_k
    return schema


def records_schema(limits: Limits, record: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a tabular model's ``/predict`` body: ours, ``{"records", "k"}``,
    or an MLflow body of records (``dataframe_records``, ``inputs``, ``instances``).

    MLflow's ``dataframe_split`` and ``inputs`` given as columns are accepted too; their
    columns cannot be typed one by one in JSON Schema, so only the description says so.
    """
    records = {"type": "array", "items": record, "minItems": 1, "maxItems": limits.max_batch}
    k = {"type": "integer", "minimum": 1, "maximum": limits.max_k}
    ours = {
        "type": "object", "title": "RecordsRequest", "additionalProperties": False,
        "required": ["records"], "properties": {"records": records, "k": k},
        "description": "Records of the model's feature columns (null where a value is "
        "unknown); k classes per record, best first (a regression gives one value).",
    }  # fmt: skip
    params = {"type": "object", "additionalProperties": False, "properties": {"k": k}}
    mlflow = [
        {"type": "object", "title": f"MLflow {field}", "additionalProperties": False,
         "required": [field], "properties": {field: records, "params": params}}
        for field in ("dataframe_records", "inputs", "instances")
    ]  # fmt: skip
    return {
        "anyOf": [ours, *mlflow],
        "description": "Our form, or an MLflow scoring body (dataframe_records, "
        "dataframe_split {columns, data}, inputs or instances as records or as columns), "
        "answered as mlflow models serve answers it.",
    }


def feedback_schema(limits: Limits, field: str, truth: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema of a ``/feedback`` body: one item, or an array of them.

    ``field`` (``true_code`` or ``true_value``) and its schema ``truth`` are the task's
    rule for the truth of a prediction (``mlcycle.serve.truths``).
    """
    item = FeedbackItem.model_json_schema()
    item["properties"]["index"]["maximum"] = limits.max_batch - 1
    described = item["properties"].pop("true_code")
    item["properties"][field] = {**described, **truth} if field == "true_code" else truth
    if "enum" in truth:  # the classes themselves: no pattern or example code beside them
        item["properties"][field].pop("pattern", None)
        item["properties"][field].pop("examples", None)
    item["required"] = ["request_id", field]
    array = {"type": "array", "items": item, "minItems": 1, "maxItems": limits.max_batch}
    return {"anyOf": [item, array]}
