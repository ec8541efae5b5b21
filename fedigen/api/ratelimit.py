"""Rate limits of the client API and OAuth, as Mastodon sets them, in a pure ASGI middleware.

Requests under /api/ and /oauth/ are counted in fixed five-minute windows aligned to the clock (as
Rack::Attack counts them for Mastodon): per access token when one is presented, else per IP address;
signing in and registering apps have a stricter per-IP bucket of their own. Every answer carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (ISO 8601); past the limit
the answer is 429 with ``Retry-After``.

Counters live in this process's memory: each web process counts on its own, and a restart forgets.
The middleware is plain ASGI (not Starlette's BaseHTTPMiddleware), so streamed bodies and WebSockets
pass through untouched; WebSocket handshakes are not counted.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedigen.config import ApiSettings

PERIOD = 300  # seconds: Mastodon's five minutes
PREFIXES = ("/api/", "/oauth/", "/auth/")
# Where passwords are tried and apps are made: the stricter per-IP bucket (POST only).
SIGN_IN_PATHS = frozenset({
    "/oauth/token", "/oauth/authorize", "/api/v1/apps", "/api/v1/accounts", "/api/v1/emails/confirmations",
    "/api/fedigen/password_reset", "/api/fedigen/password_reset/confirm",
    # the web pages' sign-in, sign-up and password reset forms
    "/auth/sign_in", "/auth/sign_up", "/auth/password", "/auth/password/new",
})  # fmt: skip
TOO_MANY = json.dumps({"error": "Too many requests"}).encode()


@dataclass(frozen=True)
class Verdict:
    """One request counted in its bucket."""

    limit: int
    remaining: int
    reset_at: float
    exceeded: bool

    def headers(self, now: float) -> list[tuple[bytes, bytes]]:
        """The X-RateLimit-* headers (and Retry-After once exceeded)."""
        reset = datetime.fromtimestamp(self.reset_at, UTC).isoformat(timespec="microseconds")
        pairs = [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", reset.replace("+00:00", "Z").encode()),
        ]
        if self.exceeded:
            pairs.append((b"retry-after", str(max(1, math.ceil(self.reset_at - now))).encode()))
        return pairs


class Counter:
    """Fixed-window request counts by key; a new window forgets the old one's keys."""

    def __init__(self, period: int = PERIOD) -> None:
        self.period = period
        self.window = -1
        self.counts: dict[str, int] = {}

    def hit(self, key: str, limit: int, now: float) -> Verdict:
        """Count one request for ``key`` and say whether it is over ``limit``."""
        window = int(now // self.period)
        if window != self.window:
            self.window, self.counts = window, {}
        count = self.counts.get(key, 0) + 1
        self.counts[key] = count
        reset_at = float((window + 1) * self.period)
        return Verdict(limit, max(0, limit - count), reset_at, count > limit)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _bearer(scope: Scope) -> str | None:
    scheme, _, value = (_header(scope, b"authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    query: bytes = scope.get("query_string", b"")
    if b"access_token=" in query:
        values = parse_qs(query.decode("latin-1")).get("access_token")
        return values[0] if values else None
    return None


class RateLimitMiddleware:
    """Counts API and OAuth requests and refuses those over the [api] limits with 429."""

    def __init__(self, app: ASGIApp, settings: ApiSettings, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
        self.counter = Counter()

    def bucket(self, scope: Scope) -> tuple[str, int]:
        """The key a request is counted under, and that bucket's limit (0: none)."""
        client = scope.get("client")
        ip = client[0] if client else "unknown"
        if scope["method"] == "POST" and scope["path"].rstrip("/") in SIGN_IN_PATHS:
            return f"sign-in:{ip}", self.settings.sign_in_rate_limit_per_5min
        bearer = _bearer(scope)
        if bearer is not None:
            # Keyed by a digest: the raw token is not kept in memory for the window's length.
            return "token:" + hashlib.sha256(bearer.encode()).hexdigest(), self.settings.rate_limit_per_5min
        return f"ip:{ip}", self.settings.anonymous_rate_limit_per_5min

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIXES):
            await self.app(scope, receive, send)
            return
        key, limit = self.bucket(scope)
        if limit <= 0:
            await self.app(scope, receive, send)
            return
        now = self.clock()
        verdict = self.counter.hit(key, limit, now)
        headers = verdict.headers(now)
        if verdict.exceeded:
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(TOO_MANY)).encode()),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": TOO_MANY})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
