"""Registry webhooks of a team server: the server tells ``mlcycle serve`` an alias moved.

MLflow posts an event to each registered URL when an alias is set or removed, signed
with the webhook's secret (HMAC-SHA256); the served API checks the signature and swaps
to the new version at once instead of at its next poll. Only an administrator may
register webhooks (MLflow's rule), so they are managed here with admin credentials.
One webhook per URL: adding a URL again replaces its secret and events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlcycle.core.errors import InvalidInput, NotFound
from mlcycle.server.admin import as_admin

ALIAS_EVENTS = ("model_version_alias.created", "model_version_alias.deleted")
HOOK_NAME = "mlcycle-serve"
MIN_SECRET = 16
_WHAT = "Managing the webhooks"


@dataclass(frozen=True)
class Hook:
    id: str
    url: str
    events: tuple[str, ...]
    active: bool


def add_hook(server: str, url: str, secret: str) -> Hook:
    """Register ``url`` (a served API's ``/hooks/registry``) for alias events."""
    if not url.startswith(("http://", "https://")):
        raise InvalidInput(f"The webhook URL must start with http:// or https://, not {url!r}.")
    if len(secret) < MIN_SECRET:
        raise InvalidInput(
            f"The webhook secret is too short; use {MIN_SECRET} characters or more "
            "(mlcycle serve hash-key --generate makes one)."
        )
    client = _client(server)
    with as_admin(server, _WHAT):
        existing = [hook for hook in _hooks(client) if hook.url == url]
        if existing:
            made = client.update_webhook(
                existing[0].id, events=list(ALIAS_EVENTS), secret=secret, status="ACTIVE"
            )
        else:
            made = client.create_webhook(
                HOOK_NAME, url, list(ALIAS_EVENTS), secret=secret,
                description="mlcycle serve: swap to an alias's new version at once",
            )  # fmt: skip
    return _hook(made)


def remove_hook(server: str, url: str) -> None:
    client = _client(server)
    with as_admin(server, _WHAT):
        found = [hook for hook in _hooks(client) if hook.url == url]
        if not found:
            raise NotFound(f"No webhook posts to {url}; see mlcycle server hook list.")
        for hook in found:
            client.delete_webhook(hook.id)


def list_hooks(server: str) -> list[Hook]:
    client = _client(server)
    with as_admin(server, _WHAT):
        return _hooks(client)


def _hooks(client: Any) -> list[Hook]:
    hooks: list[Hook] = []
    token: str | None = None
    while True:
        page = client.list_webhooks(max_results=100, page_token=token)
        hooks.extend(_hook(found) for found in page)
        token = page.token
        if not token:
            return hooks


def _hook(found: Any) -> Hook:
    events = tuple(f"{event.entity.value}.{event.action.value}" for event in found.events)
    return Hook(found.webhook_id, found.url, events, found.status.is_active())


def _client(server: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=server, registry_uri=server)
