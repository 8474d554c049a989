"""The exceptions the client raises: one hierarchy for GraphQL and REST alike.

Every error the server reports carries a code (``extensions.code`` in GraphQL and in the REST
error body); the client maps that code to a subclass of :class:`StewardError`, falling back to
the HTTP status when a body names no code (a proxy's 502, the server's plain-text 413).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Type


class StewardError(Exception):
    """An error reported by a Steward server, or a request that could not reach it.

    Attributes:
        message: what the server said (it names the field, row or column at fault).
        code: the server's code (``NOT_FOUND``, ``INVALID``, ...), or one the client derived from
            the HTTP status when the body had none.
        status: the HTTP status of the answer; ``None`` when there was no answer, or for a
            GraphQL error carried in a ``200``.
        errors: every error of the answer as the server sent it (GraphQL may send several).
        idempotency_key: for uploads, the key the request was sent under (resend the same
            payload under it and the server counts it at most once).
    """

    default_code = "UNKNOWN"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        errors: Optional[List[Dict[str, Any]]] = None,
        idempotency_key: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.status = status
        self.errors: List[Dict[str, Any]] = list(errors or [])
        self.idempotency_key = idempotency_key

    def __str__(self) -> str:
        where = f"HTTP {self.status}, " if self.status is not None else ""
        return f"{self.message} ({where}{self.code})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, code={self.code!r}, "
            f"status={self.status!r})"
        )


class Unauthenticated(StewardError):
    """No token, or one the server does not accept (expired, wrong issuer, unknown tenant)."""

    default_code = "UNAUTHENTICATED"


class Forbidden(StewardError):
    """The token's roles do not allow the operation (the message names it)."""

    default_code = "FORBIDDEN"


class NotFound(StewardError):
    """No such object in the token's tenant (other tenants' ids are not found either)."""

    default_code = "NOT_FOUND"


class Invalid(StewardError):
    """The input is malformed: the message names the field, or the row and column of a batch."""

    default_code = "INVALID"


class Conflict(StewardError):
    """A duplicate name, a reused training run, or an upload whose key is still in flight."""

    default_code = "CONFLICT"


class FailedPrecondition(StewardError):
    """The request is fine but the state it needs is missing (e.g. no active baseline)."""

    default_code = "FAILED_PRECONDITION"


class Unprocessable(StewardError):
    """An ``Idempotency-Key`` already used for a different payload: send it under a new key."""

    default_code = "UNPROCESSABLE"


class PayloadTooLarge(StewardError):
    """The body is over the server's limit (``api.max_upload_bytes``): send smaller batches."""

    default_code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(StewardError):
    """The server does not read the content type that was sent."""

    default_code = "UNSUPPORTED_MEDIA_TYPE"


class Unavailable(StewardError):
    """The server (or its database) is unavailable; raised once the retries are spent."""

    default_code = "UNAVAILABLE"


class RateLimited(Unavailable):
    """The server or a proxy answered ``429 Too Many Requests`` on every attempt."""

    default_code = "RATE_LIMITED"


class ConnectionFailed(Unavailable):
    """No answer: the connection was refused, reset or timed out on every attempt allowed."""

    default_code = "CONNECTION_FAILED"


class InternalError(StewardError):
    """A bug on the server; the details are in its log, never in the answer."""

    default_code = "INTERNAL"


_BY_CODE: Dict[str, Type[StewardError]] = {
    "UNAUTHENTICATED": Unauthenticated,
    "FORBIDDEN": Forbidden,
    "NOT_FOUND": NotFound,
    "INVALID": Invalid,
    "CONFLICT": Conflict,
    "FAILED_PRECONDITION": FailedPrecondition,
    "UNPROCESSABLE": Unprocessable,
    "PAYLOAD_TOO_LARGE": PayloadTooLarge,
    "UNSUPPORTED_MEDIA_TYPE": UnsupportedMediaType,
    "UNAVAILABLE": Unavailable,
    "RATE_LIMITED": RateLimited,
    "CONNECTION_FAILED": ConnectionFailed,
    "INTERNAL": InternalError,
}

_CODE_BY_STATUS: Dict[int, str] = {
    400: "INVALID",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "FAILED_PRECONDITION",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "UNAVAILABLE",
}


def error_class(code: Optional[str]) -> Type[StewardError]:
    """The exception class for a server error code (:class:`StewardError` for unknown ones)."""
    return _BY_CODE.get(code or "", StewardError)


def from_graphql_errors(errors: List[Dict[str, Any]], status: Optional[int] = None) -> StewardError:
    """The exception for a GraphQL answer's ``errors``: the first error's code and message."""
    first = errors[0] if errors else {}
    extensions = first.get("extensions") if isinstance(first, Mapping) else None
    code = extensions.get("code") if isinstance(extensions, Mapping) else None
    if not isinstance(code, str):
        code = _CODE_BY_STATUS.get(status or 0)
    message = first.get("message") if isinstance(first, Mapping) else None
    if not isinstance(message, str) or not message:
        message = "the server answered with an error"
    if len(errors) > 1:
        message = f"{message} (and {len(errors) - 1} more error(s))"
    status_for_error = status if status is not None and status != 200 else None
    return error_class(code)(message, code=code, status=status_for_error, errors=errors)


def from_response(
    status: int, body: bytes, *, idempotency_key: Optional[str] = None
) -> StewardError:
    """The exception for a REST (or non-GraphQL) error answer.

    Reads Steward's error body ``{"errors": [{"message", "extensions": {"code"}}]}``, also the
    ``{"error": {"code", "message"}}`` shape the server uses for 415, and falls back to the
    status and the body's text for anything else (a proxy's page, the plain-text 413).
    """
    parsed: Any = None
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        parsed = None
    if isinstance(parsed, Mapping):
        errors = parsed.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            err = from_graphql_errors(errors, status)
            err.status = status
            err.idempotency_key = idempotency_key
            return err
        single = parsed.get("error")
        if isinstance(single, Mapping):
            code = single.get("code")
            code = code if isinstance(code, str) else _CODE_BY_STATUS.get(status)
            message = single.get("message")
            message = message if isinstance(message, str) and message else f"HTTP {status}"
            return error_class(code)(
                message,
                code=code,
                status=status,
                errors=[dict(single)],
                idempotency_key=idempotency_key,
            )
    text = body.decode("utf-8", errors="replace").strip()
    if len(text) > 500:
        text = text[:500] + "..."
    code = _CODE_BY_STATUS.get(status)
    if code is None:
        code = "INTERNAL" if status >= 500 else "UNKNOWN"
    message = text or f"HTTP {status} with an empty body"
    return error_class(code)(message, code=code, status=status, idempotency_key=idempotency_key)
