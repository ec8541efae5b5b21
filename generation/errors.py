"""The one exception tree of the ``generation`` package.

::

    GenerationError
    ├── PromptRefusedError     a prompt rule or the moderation classifier refused the prompt (422)
    ├── QuotaExceededError     the account or domain has used its generations for now (429)
    ├── BackendConfigError     a backend's options are missing or malformed (names the key)
    ├── UnknownBackendError    no backend is registered under that name
    ├── JobCancelledError      the job was cancelled while it ran
    └── BackendError           the backend failed (``transient`` says whether a retry may help)
        └── BackendTimeoutError  the backend did not answer in time (transient)

``fedigen.app`` maps these to HTTP statuses in one place.
"""

from __future__ import annotations


class GenerationError(Exception):
    """Base of every error raised by the generation package."""


class PromptRefusedError(GenerationError):
    """A prompt rule or the moderation classifier refused the prompt; ``reason`` is shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QuotaExceededError(GenerationError):
    """Too many generations for this account or domain; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int = 3600) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BackendConfigError(GenerationError):
    """A backend's options are missing or malformed; the message names the key."""


class UnknownBackendError(GenerationError):
    """No backend is registered under the requested name."""


class JobCancelledError(GenerationError):
    """The job was cancelled while it ran."""


class BackendError(GenerationError):
    """The backend failed; ``transient`` is True when trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class BackendTimeoutError(BackendError):
    """The backend did not answer in time."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=True)
