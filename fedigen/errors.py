"""The exception tree of fedigen's use-cases; ``fedigen.app`` maps it (and activitypub's) to HTTP.

::

    FedigenError
    ├── ValidationError   a parameter is invalid (422, names the field)
    ├── NotFoundError     no such account, status or page (404)
    ├── ConflictError     already exists / state forbids it (409)
    ├── ForbiddenError    not allowed for this account (403)
    │   └── ScopeError    the token lacks the scope the endpoint needs (403)
    ├── UnauthorizedError missing, wrong, expired or revoked token (401, WWW-Authenticate: Bearer)
    ├── PayloadTooLargeError  an upload over the limit (413)
    └── RateLimitedError  too many requests (429, Retry-After and X-RateLimit-* headers)
"""

from __future__ import annotations


class FedigenError(Exception):
    """Base of fedigen's own errors."""


class ValidationError(FedigenError):
    """A parameter is invalid."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class NotFoundError(FedigenError):
    """No such thing."""


class ConflictError(FedigenError):
    """It already exists, or its state forbids the change."""


class ForbiddenError(FedigenError):
    """Not allowed for this account."""


class ScopeError(ForbiddenError):
    """The token lacks the scope the endpoint needs."""

    def __init__(self, needed: str) -> None:
        super().__init__(f"This action is outside the authorized scopes (needs {needed})")
        self.needed = needed


class UnauthorizedError(FedigenError):
    """No valid access token: missing, wrong, expired or revoked."""


class PayloadTooLargeError(FedigenError):
    """The request body (an upload) is over the limit."""


class RateLimitedError(FedigenError):
    """Too many requests; ``headers`` carries Retry-After and X-RateLimit-*."""

    def __init__(self, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.headers = headers
