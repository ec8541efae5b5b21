"""The exception tree of fedigen's use-cases; ``fedigen.app`` maps it (and activitypub's) to HTTP.

::

    FedigenError
    ├── ValidationError   a parameter is invalid (422, names the field)
    ├── NotFoundError     no such account, status or page (404)
    ├── ConflictError     already exists / state forbids it (409)
    └── ForbiddenError    not allowed for this account (403)
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
