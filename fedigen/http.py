"""What every HTTP surface shares: the process's services, content negotiation, and body limits."""

from __future__ import annotations

import json
import logging
import re

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedigen.services import Services

AS2_TYPES = ("application/activity+json", "application/ld+json")


def services(request: HTTPConnection) -> Services:
    """The process's services, from the lifespan state."""
    svc: Services = request.app.state.services
    return svc


def wants_as2(request: Request) -> bool:
    """Content negotiation: does the client ask for ActivityStreams rather than HTML?"""
    accept = request.headers.get("accept", "")
    if any(t in accept for t in AS2_TYPES):
        return True
    # Plain JSON clients (bovine's C2S client among them) get the AS2 document too, as from Mastodon;
    # browsers name text/html first.
    return "application/json" in accept and "text/html" not in accept


def accepts_html(request: Request) -> bool:
    """Does the client take an HTML page (a browser), rather than only JSON or ActivityStreams?"""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or (not accept and not wants_as2(request))


class BodyLimitMiddleware:
    """Every request body is counted while it streams in and refused with 413 past its limit.

    Nothing downstream (JSON and form parsing, multipart spooling to disk, the inbox) ever holds
    more than the limit of one request, chunked bodies and GETs that carry a body included. A body
    whose ``Content-Length`` is already over the limit is refused before a byte of it is read.
    """

    def __init__(self, app: ASGIApp, *, default: int, uploads: int, federation: int) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads
        self.federation = federation

    def limit(self, method: str, path: str) -> int:
        """The most a request to ``path`` may send."""
        if path in UPLOAD_PATHS:
            return self.uploads
        if method == "POST" and (path == "/inbox" or path.endswith(("/inbox", "/outbox"))):
            return self.federation
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["method"], scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await send_too_large(limit, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except _BodyTooLarge:
            if started:
                raise
            await send_too_large(limit, send)


# URLs that answer HTML or ActivityStreams depending on Accept: actors, Notes and their Creates, and
# the profile and post pages (which send AS2 clients on to the ids).
NEGOTIATED_PATHS = re.compile(r"^/(?:users/[^/]+(?:/statuses/\d+(?:/activity)?)?|@[^/]+(?:/\d+)?)/?$")


class VaryAcceptMiddleware:
    """``Vary: Accept`` on every answer from a content-negotiated URL, errors and redirects included,
    so that no cache hands a browser's HTML to a server or a server's JSON to a browser."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not NEGOTIATED_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
                varied = {
                    part.strip().lower(): part.strip()
                    for k, v in message.get("headers", []) if k.lower() == b"vary"
                    for part in v.decode("latin-1").split(",") if part.strip()
                }  # fmt: skip
                varied.setdefault("accept", "Accept")
                headers.append((b"vary", ", ".join(varied.values()).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_vary)


# Endpoints that take images (multipart), limited by [media] max_upload_bytes (twice, for an avatar
# and a header at once) rather than by the general limit on request bodies.
UPLOAD_PATHS = frozenset(
    {"/api/v1/media", "/api/v2/media", "/api/fedigen/upload", "/api/v1/accounts/update_credentials",
     "/settings/profile"}
)  # fmt: skip


class _BodyTooLarge(Exception):
    """Raised into the app when a body passes its limit (the app's body read is cut short)."""


async def send_too_large(limit: int, send: Send) -> None:
    """The 413 answer to a body over ``limit`` (the connection is closed: the rest is never read)."""
    body = json.dumps({"error": f"the request body is over the limit of {limit} bytes"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


SECRET_PARAMS = re.compile(r"((?:access_token|code|client_secret|password)=)[^&\s\"]*", re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Blanks tokens, codes and passwords in query strings before a log line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_PARAMS.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = SECRET_PARAMS.sub(r"\1[redacted]", record.msg)
        return True
