"""The shapes of the API's requests and answers, as documented in OpenAPI.

``/predict`` and ``/feedback`` validate their bodies by hand for speed (see
``mlcycle.serve.validation``); these models describe the same contract for ``/docs`` and
for clients: a body the schema allows is accepted and one it forbids is refused (the
schemathesis tests hold the server to it). The limits a server is configured with
(batch size, text length, k) are filled in by :func:`predict_schema` and
:func:`feedback_schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field

from mlcycle.data.predlog import REQUEST_ID_PATTERN

if TYPE_CHECKING:
    from mlcycle.serve.validation import Limits

# At least one character that is not white space.
NON_BLANK = r"\S"


class PredictRequest(BaseModel):
    """Texts to classify and how many ranked codes to return for each."""

    model_config = {"extra": "forbid"}

    texts: list[Annotated[str, Field(min_length=1, pattern=NON_BLANK)]] = Field(
        min_length=1,
        description="Activity descriptions, 1 to the batch limit (1,000 by default), "
        "each non-blank and at most the text limit (2,000 characters by default).",
        examples=[["Restaurant traditionnel, cuisine du marché"]],
    )
    k: int = Field(
        1,
        ge=1,
        description="Codes to return per text, best first; from 1 to the k limit "
        "(20 by default), and never more than the model knows.",
        examples=[5],
    )


class Candidate(BaseModel):
    """One ranked answer for one text."""

    code: str = Field(description="The predicted code, e.g. a NAF rev.2 code such as 5610A.")
    probability: float = Field(ge=0.0, le=1.0, description="The model's probability.")
    label: str | None = Field(None, description="The code's official label, null when unknown.")


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
    predictions: list[list[Candidate]]
    empty_after_cleaning: list[int] = Field(
        default_factory=list,
        description="Indexes of the texts with no word left once cleaned (only digits, "
        "punctuation or stop words): their codes say nothing about the text; code them "
        "by hand.",
    )


class ModelInfo(BaseModel):
    """The model this server answers with."""

    name: str
    version: str
    labels: int = Field(description="How many codes the model can predict.")
    model_uri: str


class Status(BaseModel):
    """A probe's answer."""

    status: str


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
        description="The right label: a code of the model's nomenclature where it has one "
        "(a NAF rev.2 subclass such as 5610A; 56.10A is accepted).",
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
    texts["items"]["maxLength"] = limits.max_text_chars
    schema["properties"]["k"]["maximum"] = limits.max_k
    return schema


def feedback_schema(limits: Limits, label_pattern: str) -> dict[str, Any]:
    """The JSON schema of a ``/feedback`` body: one item, or an array of them.

    ``label_pattern`` is the task's rule for a true label (its nomenclature's codes).
    """
    item = FeedbackItem.model_json_schema()
    item["properties"]["index"]["maximum"] = limits.max_batch - 1
    item["properties"]["true_code"]["pattern"] = label_pattern
    array = {"type": "array", "items": item, "minItems": 1, "maxItems": limits.max_batch}
    return {"anyOf": [item, array]}
