"""Registry events: the tracking server says an alias moved, the served API swaps at once.

A team server posts alias events to ``/hooks/registry`` (``mlcycle server hook add``).
MLflow signs each delivery with the webhook's secret: HMAC-SHA256 over
``<delivery id>.<timestamp>.<body>``, sent as ``X-MLflow-Signature: v1,<base64>``. The
route is on only when the same secret is in ``MLCYCLE_WEBHOOK_SECRET``; a delivery
without a valid signature, or older than five minutes (a replay), is refused with 401.
It carries no API key (MLflow sends none): the signature is its credential. An event
for the alias this server follows starts the same check as ``POST /admin/reload`` in
the background, so MLflow's delivery does not wait on a model load. Polling
(``serve.reload_seconds``) stays on: an event lost on the way is caught at the next poll.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mlcycle.serve.responses import HttpError

HOOK_PATH = "/hooks/registry"
SECRET_ENV = "MLCYCLE_WEBHOOK_SECRET"
MAX_AGE_S = 300.0
_ALIAS_ENTITY = "model_version_alias"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryEvents:
    """Receives signed alias events for the model ``name@alias`` this server follows."""

    secret: str
    name: str
    alias: str
    check: Callable[[], Any]  # checks the alias now, on every worker of this server

    def receive(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """What the delivery did; HttpError 401 when it is not the server's, 422 unreadable.

        Raises:
            HttpError: 401 for a missing, stale or wrong signature; 422 for a body that
                is not an MLflow event.
        """
        verify(self.secret, headers, body, time.time())
        event = _event(body)
        data = event.get("data") or {}
        if event.get("entity") != _ALIAS_ENTITY:
            return {"accepted": False, "reason": f"not an alias event ({event.get('entity')})"}
        if (data.get("name"), data.get("alias")) != (self.name, self.alias):
            return {"accepted": False, "reason": f"not {self.name}@{self.alias}"}
        log.info("The registry says %s@%s moved; checking it now.", self.name, self.alias)
        return {"accepted": True, "reason": f"{self.name}@{self.alias} {event.get('action')}"}


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    """Refuse (401) a delivery not signed with ``secret`` or older than ``MAX_AGE_S``."""
    delivery = headers.get("x-mlflow-delivery-id", "")
    stamp = headers.get("x-mlflow-timestamp", "")
    signature = headers.get("x-mlflow-signature", "")
    if not (delivery and stamp and signature):
        raise _refused("The delivery is not signed; register the hook with a secret.")
    try:
        age = abs(now - int(stamp))
    except ValueError:
        raise _refused("The delivery's timestamp is not a number of seconds.") from None
    if age > MAX_AGE_S:
        raise _refused(f"The delivery is {age:.0f} s old; older than {MAX_AGE_S:.0f} s is refused.")
    signed = delivery.encode() + b"." + stamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(digest).decode()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise _refused(
            f"The delivery's signature does not match; the hook's secret and {SECRET_ENV} differ."
        )


def _event(body: bytes) -> dict[str, Any]:
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("data", {}), dict):
        raise HttpError(422, "invalid_request", "The body is not an MLflow registry event.")
    return event


def _refused(detail: str) -> HttpError:
    return HttpError(401, "unauthorized", detail)
