"""The one exception tree of the ``activitypub`` package.

::

    ActivityPubError
    ├── SignatureError            the HTTP signature is missing, malformed or does not verify (401)
    ├── OriginError               who signed is not who the activity says acted, or ids on foreign hosts (403)
    ├── BlockedError              the sender or its domain is blocked or gone (403)
    ├── InvalidActivityError      the document is not an activity we can take (400 / 422)
    ├── PayloadTooLargeError      body over the size limit (413)
    ├── UnsupportedMediaTypeError body not AS2 / JSON (415)
    ├── InboxUnavailableError     an accepted activity could not be stored; the sender should retry (503)
    └── FetchError                a remote document could not be fetched safely
        ├── UnsafeURLError        scheme not http(s), or the host resolves to a private address
        ├── ResponseTooLargeError the response exceeded the byte limit
        ├── TooManyRedirectsError more redirects than allowed
        ├── ContentTypeError      served as something other than AS2 / JSON
        ├── IdMismatchError       the document's id is not the URL that was asked for
        ├── RemoteStatusError     the peer answered with an error status (``status`` attribute)
        └── DomainRefusedError    the host is suspended (or not allowed) here: nothing is asked of it

``fedigen.app`` maps these to HTTP statuses in one place.
"""

from __future__ import annotations


class ActivityPubError(Exception):
    """Base of every error raised by the activitypub package."""


class SignatureError(ActivityPubError):
    """The request's HTTP signature is missing, malformed, or does not verify."""


class OriginError(ActivityPubError):
    """The signer, the actor and the ids of an activity do not belong together."""


class BlockedError(ActivityPubError):
    """The sender, or its domain, is blocked or deleted."""


class InvalidActivityError(ActivityPubError):
    """The document is not an activity we can accept."""


class PayloadTooLargeError(ActivityPubError):
    """The request body is over the configured limit."""


class UnsupportedMediaTypeError(ActivityPubError):
    """The request body is not ActivityStreams JSON."""


class InboxUnavailableError(ActivityPubError):
    """An activity that passed every check could not be stored (the database failed, or the server is
    stopping): never answered 202, so the sender tries again."""


class FetchError(ActivityPubError):
    """A remote document could not be fetched safely."""


class UnsafeURLError(FetchError):
    """The URL's scheme is not http(s) or its host resolves to a refused address."""


class ResponseTooLargeError(FetchError):
    """The response body exceeded the byte limit."""


class TooManyRedirectsError(FetchError):
    """The peer redirected more often than allowed."""


class ContentTypeError(FetchError):
    """The response is not served as ActivityStreams / JSON."""


class IdMismatchError(FetchError):
    """The fetched document's id differs from the URL asked for."""


class RemoteStatusError(FetchError):
    """The peer answered with an error status."""

    def __init__(self, message: str, status: int, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class DomainRefusedError(FetchError):
    """Not fetched: the host is suspended here, or not in the allow list (docs/moderation-domains.md)."""
