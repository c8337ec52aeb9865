"""One error family for the whole package.

Each error carries a code; one table maps every code to an HTTP status and a process
exit code, so the CLI and the API answer the same mistake the same way. Messages are
one sentence saying what is wrong and, where it helps, what to do.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    DATA = "data_error"
    MODEL = "model_error"
    UNAVAILABLE = "unavailable"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA = "unsupported_media_type"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"


# code -> (HTTP status, exit code); the only place these numbers are chosen.
_STATUS: dict[ErrorCode, tuple[int, int]] = {
    ErrorCode.INVALID_INPUT: (422, 2),
    ErrorCode.NOT_FOUND: (404, 3),
    ErrorCode.CONFLICT: (409, 4),
    ErrorCode.DATA: (422, 5),
    ErrorCode.MODEL: (500, 6),
    ErrorCode.UNAVAILABLE: (503, 7),
    ErrorCode.TOO_LARGE: (413, 2),
    ErrorCode.UNSUPPORTED_MEDIA: (415, 2),
    ErrorCode.UNAUTHORIZED: (401, 8),
    ErrorCode.FORBIDDEN: (403, 8),
}


class MlcycleError(Exception):
    """Base of every error mlcycle raises on purpose."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(self, message: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def http_status(self) -> int:
        return _STATUS[self.code][0]

    @property
    def exit_code(self) -> int:
        return _STATUS[self.code][1]

    def to_dict(self) -> dict[str, str]:
        return {"error": self.code.value, "detail": self.message}


class InvalidInput(MlcycleError):
    code = ErrorCode.INVALID_INPUT


class NotFound(MlcycleError):
    code = ErrorCode.NOT_FOUND


class Conflict(MlcycleError):
    code = ErrorCode.CONFLICT


class DataError(MlcycleError):
    code = ErrorCode.DATA


class ModelError(MlcycleError):
    code = ErrorCode.MODEL


class Unavailable(MlcycleError):
    code = ErrorCode.UNAVAILABLE


class Unauthorized(MlcycleError):
    """Wrong or missing credentials; with ``forbidden``, right ones without the right."""

    code = ErrorCode.UNAUTHORIZED

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message, code=ErrorCode.FORBIDDEN if forbidden else None)
