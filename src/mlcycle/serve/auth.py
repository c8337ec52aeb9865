"""API keys: clients send ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

Settings hold only the SHA-256 digest of each key with a name and a role for it; the
name is what the prediction log records, the key itself is never stored or logged. A
``client`` key may predict and label its own requests; the routes under ``/admin``
need a key with the ``admin`` role (403 for a client key). Keys are long
random tokens (``mlcycle serve hash-key --generate``), so an unsalted digest is enough:
there is no dictionary to try against it. Looking a digest up in a dict tells a timing
attacker nothing useful, since he would need a key whose digest matches.
"""

from __future__ import annotations

import hashlib
import secrets

from mlcycle.core.settings.serve import ADMIN, AuthSettings, is_admin_path
from mlcycle.serve.responses import HttpError

MIN_KEY_CHARS = 16
# Where the gateway leaves the name of the key a request was let in with, for the routes.
API_KEY_SCOPE = "mlcycle.api_key"
_BEARER = "bearer "


def hash_api_key(key: str) -> str:
    """The digest to put in ``serve.auth.keys`` for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def generate_api_key() -> str:
    """A new random key (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class Authenticator:
    """Tells which named key a request carries, or refuses it with 401/403."""

    def __init__(self, settings: AuthSettings, signed_paths: tuple[str, ...] = ()) -> None:
        """
        Args:
            settings: The keys and the paths open to all.
            signed_paths: Paths whose requests carry a signature of their own instead
                of a key (a team server's registry events).
        """
        self.enabled = settings.enabled
        self.open_paths = frozenset(settings.open_paths) | frozenset(signed_paths)
        self._names = {key.digest: name for name, key in settings.keys.items()}
        # The keys that may use /admin and label any request.
        self.admin_names = frozenset(n for n, key in settings.keys.items() if key.role == ADMIN)

    def needs_key(self, path: str) -> bool:
        """Whether a request to ``path`` must carry a key."""
        return self.enabled and path not in self.open_paths

    def identify(self, authorization: bytes | None, api_key: bytes | None, path: str) -> str:
        """The name of the key in these header values, if it may use ``path``.

        Raises:
            HttpError: 401 without a key, 403 for an unknown key or a client key on an
                admin route.
        """
        key = _key_from(authorization, api_key)
        name = self._names.get(hashlib.sha256(key).hexdigest())
        if name is None:
            raise HttpError(
                403,
                "forbidden",
                "The API key is not valid for this server; check it or ask for a new one.",
            )
        if is_admin_path(path) and name not in self.admin_names:
            raise HttpError(
                403,
                "forbidden",
                f"{path} needs a key with the admin role; this one is a client key.",
            )
        return name


def _key_from(authorization: bytes | None, api_key: bytes | None) -> bytes:
    if api_key:
        return api_key.strip()
    if authorization:
        text = authorization.decode("latin-1")
        if text[: len(_BEARER)].lower() == _BEARER and text[len(_BEARER) :].strip():
            return text[len(_BEARER) :].strip().encode("latin-1")
        raise _unauthorized("The Authorization header must be 'Bearer KEY'.")
    raise _unauthorized(
        "This endpoint needs an API key; send 'Authorization: Bearer KEY' or 'X-API-Key: KEY'."
    )


def _unauthorized(detail: str) -> HttpError:
    return HttpError(401, "unauthorized", detail, {"WWW-Authenticate": "Bearer"})
