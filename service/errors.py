"""Errors only the service raises, all subclasses of :class:`vocml.errors.VocmlError`.

* VocmlError
  x ServiceError                  base of the service's own errors
    + AuthError                   missing, unknown or revoked token or session (401)
    + ForbiddenError              the token lacks the role or the team (403)
    + NotFoundError               no such batch, record or token visible to this token (404)
    + PayloadTooLargeError        upload or body over the configured limit (413)
    + UnsupportedMediaError       wrong content type for an upload (415)
    + ServiceUnavailableError     model or database not ready (503)
  x DataError
    + RequestDataError            several request items broke the data contract (422)

HTTP statuses are assigned in :mod:`service.problems`, nowhere else.
"""

from __future__ import annotations

from vocml.errors import DataError, VocmlError


class ServiceError(VocmlError):
    """Base class of the service's own errors."""

    code = "service_error"


class AuthError(ServiceError):
    """No valid credentials: missing, unknown or revoked token, or an expired session."""

    code = "unauthorized"


class ForbiddenError(ServiceError):
    """Valid credentials without the role or the team the request needs."""

    code = "forbidden"


class NotFoundError(ServiceError):
    """The resource does not exist or is not visible to this token."""

    code = "not_found"


class ConflictError(ServiceError):
    """The resource is not in a state that allows the request (e.g. promoting a model still training)."""

    code = "conflict"


class PayloadTooLargeError(ServiceError):
    """The request body or upload is larger than allowed."""

    code = "payload_too_large"


class UnsupportedMediaError(ServiceError):
    """The request does not have the content type the endpoint reads."""

    code = "unsupported_media_type"


class ServiceUnavailableError(ServiceError):
    """The model or the database is not ready."""

    code = "unavailable"


class RequestDataError(DataError):
    """Several items of a request broke the data contract; ``errors`` lists each ``{field, message, fix}``."""

    code = "invalid_items"

    def __init__(self, detail: str, *, errors: list[dict[str, object]]) -> None:
        super().__init__(detail)
        self.errors = errors
