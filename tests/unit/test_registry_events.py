"""Signed registry events: only the team server's deliveries, for our alias, start a check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from mlcycle.serve.registry_events import MAX_AGE_S, RegistryEvents, verify
from mlcycle.serve.responses import HttpError

SECRET = "a-secret-of-twenty-chars"


def _signed(body: bytes, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """Headers as MLflow's delivery signs them (mlflow.webhooks.delivery)."""
    delivery, stamp = "d-1", str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"{delivery}.{stamp}.".encode() + body, hashlib.sha256)
    return {
        "x-mlflow-delivery-id": delivery,
        "x-mlflow-timestamp": stamp,
        "x-mlflow-signature": "v1," + base64.b64encode(digest.digest()).decode(),
    }


def _event(name: str = "nace", alias: str = "production", entity: str = "model_version_alias"):
    data = {"name": name, "alias": alias, "version": "3"}
    return json.dumps({"entity": entity, "action": "created", "data": data}).encode()


EVENTS = RegistryEvents(SECRET, "nace", "production", check=lambda: None)


def test_an_event_for_the_followed_alias_is_accepted() -> None:
    body = _event()
    assert EVENTS.receive(_signed(body), body) == {
        "accepted": True, "reason": "nace@production created"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (_event(name="other"), "not nace@production"),
        (_event(alias="challenger"), "not nace@production"),
        (_event(entity="model_version"), "not an alias event (model_version)"),
    ],
)
def test_an_event_for_anything_else_is_ignored(body: bytes, reason: str) -> None:
    assert EVENTS.receive(_signed(body), body) == {"accepted": False, "reason": reason}


@pytest.mark.parametrize(
    ("headers", "words"),
    [  # made when the test runs: signed at collection, they could be old by then
        (lambda: {}, "not signed"),
        (lambda: _signed(_event(), secret="another-secret-entirely"), "does not match"),
        (lambda: _signed(_event(name="other")), "does not match"),  # the body was changed
        (lambda: _signed(_event(), at=time.time() - MAX_AGE_S - 60), "old"),
        (lambda: {**_signed(_event()), "x-mlflow-timestamp": "soon"}, "not a number"),
    ],
)
def test_a_delivery_not_signed_by_the_server_is_refused(headers, words: str) -> None:
    with pytest.raises(HttpError) as refused:
        verify(SECRET, headers(), _event(), time.time())
    assert refused.value.status == 401 and words in str(refused.value)


def test_a_signed_body_that_is_not_an_event_is_a_422() -> None:
    body = b"[1, 2]"
    with pytest.raises(HttpError) as refused:
        EVENTS.receive(_signed(body), body)
    assert refused.value.status == 422
