"""The inbox's short way in: ``POST /inbox``, ``/actor/inbox`` and ``/users/{name}/inbox`` are answered
at the outer ASGI layer, before the general middleware stack and the router.

Every other request (and an inbox POST that carries an ``Origin`` header, as only a browser's would)
goes through the whole stack. What that stack does for an inbox POST is done here too, and nothing
else: the body is counted against ``[federation] inbox_max_bytes`` while it streams in (413 before a
byte is read when ``Content-Length`` already says more), then :func:`accept_inbox_post` checks the
content type, the signature (keys from the resolver's cache), the domain policies and the origin
rules, and hands the row to the inbox writer, which answers once it is durable (202; 503 when it
could not be stored). Refusals are the same JSON ``{"error": ...}`` answers, with the same statuses and
headers, as the routes give. The stack's other layers have nothing to do for these requests: rate
limits count only the client API, OAuth and sign-in; CORS answers only requests with an ``Origin``;
``Vary: Accept`` and the web session are for pages and negotiated URLs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from activitypub.errors import ActivityPubError
from fedigen.errors import FedigenError
from fedigen.federation.routes import accept_inbox_post
from fedigen.http import send_too_large
from generation.errors import GenerationError
from storage import StorageError

log = logging.getLogger(__name__)

# The inbox routes of fedigen.federation.routes; group 1 is a personal inbox's username.
INBOX_PATH = re.compile(r"/(?:inbox|actor/inbox|users/([^/]+)/inbox)")
ANSWERED = (ActivityPubError, FedigenError, GenerationError, StorageError)

ErrorResponse = Callable[[Request, Exception], Awaitable[Response]]


def inbox_post(scope: Scope) -> re.Match[str] | None:
    """The match of an inbox POST's path, or None for every other request."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    return INBOX_PATH.fullmatch(scope["path"])


async def handle(
    app: Starlette, scope: Scope, receive: Receive, send: Send, username: str | None, errors: ErrorResponse
) -> bool:
    """Answer an inbox POST; False (nothing read, nothing sent) when it must take the general way."""
    headers = Headers(scope=scope)
    if "origin" in headers:
        return False  # a browser's request: CORS answers it, on the general way
    scope["app"] = app
    limit: int = app.state.services.settings.federation.inbox_max_bytes
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await send_too_large(limit, send)
        return True
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return True  # the client went away: nothing to answer
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            await send_too_large(limit, send)
            return True
        chunks.append(chunk)
        more = message.get("more_body", False)
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    try:
        await accept_inbox_post(app, scope, headers, body, username)
    except ANSWERED as exc:
        response = await errors(Request(scope, receive), exc)
        await response(scope, receive, send)
        return True
    except ClientDisconnect:
        return True
    except Exception:
        # As Starlette's ServerErrorMiddleware: a plain 500, and the error on to the server's log.
        await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
        raise
    await send({"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
    return True
