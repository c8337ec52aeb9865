"""Database and server URLs as shown to people: never with their password."""

from __future__ import annotations


def hide_password(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages and run parameters."""
    from sqlalchemy.engine import make_url  # MLflow's dependency: parses every dialect

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: keep only what follows the credentials
        return url.split("@")[-1]
