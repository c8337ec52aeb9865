"""Serving settings: where and how the API answers, its API keys and prediction log.

``Settings.serve`` is a :class:`ServeSettings`; it holds an :class:`AuthSettings` as
``auth`` and a :class:`PredictionLogSettings` as ``prediction_log``. In the project
file::

    serve:
      model: my-model@production         # default: the model's last environment
      auth:
        enabled: true
        keys:                               # name: sha256 of the key (mlcycle serve hash-key)
          batch-client: {digest: 3f0c..., role: client}
          ops: {digest: 9a1b..., role: admin}
          legacy-client: 5d2e...           # a bare digest: role client
        open_paths: [/health, /ready, /metrics, /docs, /redoc, /openapi.json]
      prediction_log: {log_text: false, salt: a-long-random-secret}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_OPEN_PATHS = ("/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")
MIN_SALT_CHARS = 16
Role = Literal["client", "admin"]
CLIENT: Role = "client"
ADMIN: Role = "admin"
# Paths that change the server: they need a key with the admin role and are never open.
ADMIN_PREFIX = "/admin"


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is one of the server-changing routes under ``/admin``."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


class ApiKey(BaseModel):
    """One client's key: the SHA-256 digest of the key and what the key may do."""

    model_config = {"extra": "forbid"}

    digest: str
    # client: /predict, /feedback on its own requests, /; admin: also /admin/* and
    # feedback on any request.
    role: Role = CLIENT


class AuthSettings(BaseModel):
    """API keys: off in the embedded mode, on in production."""

    enabled: bool = False
    # key name -> its digest and role; the name is what the prediction log shows. A bare
    # digest (``name: 3f0c...``, the first form of this setting) is a client key.
    keys: dict[str, ApiKey] = Field(default_factory=dict)
    # Paths answered without a key: the probes, the Prometheus scrape and the API docs.
    # A browser sends no key when it opens a docs page, nor does the page when it fetches
    # the schema. The schema shows what the open-source code does, never data, and a
    # request tried from the page still needs a key ("Authorize"). To hide the docs, list
    # the paths without them.
    open_paths: list[str] = Field(default_factory=lambda: list(_OPEN_PATHS))

    @field_validator("keys", mode="before")
    @classmethod
    def _bare_digests(cls, keys: Any) -> Any:
        if not isinstance(keys, dict):
            return keys
        return {name: {"digest": v} if isinstance(v, str) else v for name, v in keys.items()}

    @field_validator("keys")
    @classmethod
    def _hashed(cls, keys: dict[str, ApiKey]) -> dict[str, ApiKey]:
        for name, key in keys.items():
            if not _KEY_NAME.match(name):
                raise ValueError(f"key name {name!r} must be letters, digits, '.', '_' or '-'")
            if not _SHA256.match(key.digest):
                raise ValueError(
                    f"key {name!r} must be the sha256 hex digest of the key, not the key "
                    "itself; make it with `mlcycle serve hash-key`"
                )
        if len({key.digest for key in keys.values()}) != len(keys):
            raise ValueError("two key names share the same key; give each client its own")
        return keys

    @field_validator("open_paths")
    @classmethod
    def _paths(cls, paths: list[str]) -> list[str]:
        for path in paths:
            if not path.startswith("/"):
                raise ValueError(f"open path {path!r} must start with '/'")
            if is_admin_path(path):
                raise ValueError(f"{path!r} changes the server and cannot be open")
        return paths

    @model_validator(mode="after")
    def _keys_when_enabled(self) -> AuthSettings:
        if self.enabled and not self.keys:
            raise ValueError("auth is enabled but no keys are configured; add serve.auth.keys")
        return self


class PredictionLogSettings(BaseModel):
    """Every answered text, written as date-partitioned Parquet by a background thread."""

    enabled: bool = True
    # False stores a salted hash (HMAC-SHA256 with ``salt``) instead of the raw text.
    log_text: bool = True
    salt: str = ""
    # Folders or fsspec URLs (s3://bucket/predictions); default <home>/predictions and
    # <home>/feedback.
    dir: Path | str | None = None
    feedback_dir: Path | str | None = None
    # The challenger's answers in shadow mode (serve.experiment); default <home>/shadow.
    shadow_dir: Path | str | None = None
    flush_seconds: float = Field(2.0, gt=0.0, le=300.0)
    # Texts held in memory waiting for the writer; past this new records are dropped
    # (and counted) rather than slowing or failing predictions.
    max_queue: int = Field(200_000, ge=1)

    @model_validator(mode="after")
    def _salt_when_hashing(self) -> PredictionLogSettings:
        if not self.log_text and len(self.salt) < MIN_SALT_CHARS:
            raise ValueError(
                f"log_text is false, so salt must be a secret of at least {MIN_SALT_CHARS} "
                "characters (set MLCYCLE_SERVE__PREDICTION_LOG__SALT)"
            )
        return self


class JobSettings(BaseModel):
    """Asynchronous scoring jobs (``POST /jobs``, ``mlcycle worker``): off without Redis."""

    model_config = ConfigDict(extra="forbid")

    redis_url: str | None = None  # redis://HOST:PORT/DB
    # Where uploads, inputs named by path (under inbox/) and results live; None:
    # HOME/jobs. Every worker and the API must see the same folder (a shared volume).
    folder: Path | None = None
    chunk_rows: int = Field(50_000, ge=1)
    # A worker renews its claim on a job every third of this; a job whose claim lapses
    # (the worker died) is resumed by another from its last finished chunk.
    lease_seconds: float = Field(30.0, gt=0.0)


class ExperimentSettings(BaseModel):
    """An online experiment: a second version (the challenger) beside the served one.

    ``shadow``: a ``share`` of requests is also scored by the challenger, off the
    response path; clients get the champion's answer, both are logged (the challenger's
    in the shadow log). ``canary``: a ``share`` of requests is answered by the
    challenger, chosen per client key or per request id (``sticky``); answers say which
    version spoke.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["off", "shadow", "canary"] = "off"
    # The challenger's alias on the served model (or a NAME@ALIAS / NAME/VERSION ref).
    challenger: str = "challenger"
    share: float = Field(1.0, ge=0.0, le=1.0)
    sticky: Literal["key", "request"] = "key"
    # The shadow challenger's CPU priority: ``idle`` scores only on CPU nothing else
    # wants (it drops requests on a busy machine); ``normal`` shares the CPU with the
    # worker, for a machine with a core to spare for it.
    shadow_priority: Literal["idle", "normal"] = "idle"


class ServeSettings(BaseModel):
    """``mlcycle serve``: the model it answers with, where it listens, request limits."""

    # A registry reference (``NAME@ALIAS`` or ``NAME/VERSION``); None: the project's
    # model at its last environment (``Settings.served_ref``).
    model: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    max_batch: int = Field(1000, ge=1)
    max_text_chars: int = Field(2000, ge=1)
    max_k: int = Field(20, ge=1)
    # The longest text a value of a tabular record may be (a category, a date): it
    # bounds a record's bytes as max_text_chars bounds a text's.
    max_value_chars: int = Field(256, ge=1)
    # Seconds between checks that the served alias still points at the loaded version
    # (0: never; POST /admin/reload still checks at once).
    reload_seconds: float = Field(30.0, ge=0.0)
    # Seconds a client has to send a request's headers once its first byte is in, then
    # its body once the headers are; past either it is answered 408 and disconnected.
    header_timeout_s: float = Field(10.0, gt=0.0)
    body_timeout_s: float = Field(15.0, gt=0.0)
    # Seconds SIGTERM leaves requests in flight before cancelling them; longer than a
    # body may take, so a request whose body is still arriving ends first, with a 408.
    shutdown_grace_s: float = Field(20.0, gt=0.0)
    metrics: bool = True
    auth: AuthSettings = Field(default_factory=AuthSettings)
    prediction_log: PredictionLogSettings = Field(default_factory=PredictionLogSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    experiment: ExperimentSettings = Field(default_factory=ExperimentSettings)

    @model_validator(mode="after")
    def _bodies_end_before_the_grace(self) -> ServeSettings:
        if self.body_timeout_s >= self.shutdown_grace_s:
            raise ValueError(
                f"body_timeout_s ({self.body_timeout_s:g}) must be shorter than "
                f"shutdown_grace_s ({self.shutdown_grace_s:g}), so that SIGTERM never has "
                "to cancel a request still waiting for its body"
            )
        return self
