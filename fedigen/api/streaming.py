"""Mastodon's streaming API over WebSocket (https://docs.joinmastodon.org/methods/streaming/).

Each connection waits for this process's events (fedigen.events: a status, a notification for its
account, a tombstone, published in this process or, through PostgreSQL LISTEN/NOTIFY or the SQLite
poll, in another) and then reads the statuses, notifications and tombstones with ids above the last
ones it saw (and those the events named that committed after a newer one); it also looks every
``POLL_SECONDS`` on its own, in case an event was missed. User streams
need a token; each IP address and each token
may hold only so many connections at once ([api] streams_per_ip, streams_per_token), and a stream
whose token is revoked is closed within ``RECHECK_SECONDS``. Events are Mastodon's:
``{"stream": [...], "event": "update" | "notification" | "delete", "payload": "<JSON string>"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from fedigen import events
from fedigen.api import status_entities
from fedigen.api.auth import bearer_of, scope_allows
from fedigen.api.grants import lookup_token, split_scopes
from fedigen.errors import FedigenError, UnauthorizedError
from fedigen.services import Services
from fedigen.social import tags, timelines
from fedigen.social.standing import may_sign_in
from storage.clients import AccountList
from storage.models import Actor, Notification, Status, Tombstone

log = logging.getLogger(__name__)

# Seconds between two looks when no event came (events wake a connection at once).
POLL_SECONDS = 5.0
SENT_MEMORY = 1000
RECHECK_SECONDS = 10.0
BATCH = 100
# Close codes: the token is bad or revoked; too many connections from this address or token.
CLOSE_UNAUTHORIZED = 4001
CLOSE_TOO_MANY = 4029
STREAMS = (
    "user", "user:notification", "public", "public:local", "public:remote", "hashtag", "hashtag:local", "list"
)  # fmt: skip
USER_STREAMS = ("user", "user:notification", "list")


@dataclass
class Connection:
    """One client's account, subscriptions and how far it has read."""

    viewer: Actor | None
    scopes: frozenset[str]
    subscriptions: set[tuple[str, str]] = field(default_factory=set)
    last_status: int = 0
    last_notification: int = 0
    # Ids at or below the marks above that events named: on PostgreSQL a status (or notification) can
    # commit after one with a higher id, so the marks alone would pass it by. The ones sent are
    # remembered (the newest SENT_MEMORY) so that none is sent twice.
    late_statuses: set[int] = field(default_factory=set)
    late_notifications: set[int] = field(default_factory=set)
    sent_statuses: deque[int] = field(default_factory=lambda: deque(maxlen=SENT_MEMORY))
    sent_notifications: deque[int] = field(default_factory=lambda: deque(maxlen=SENT_MEMORY))

    def heard(self, news: list[events.Event]) -> None:
        """Note the ids the events name that the marks have passed already."""
        for event in news:
            named = event.payload.get("id")
            if not isinstance(named, int):
                continue
            if event.kind == events.STATUS and named <= self.last_status:
                self.late_statuses.add(named)
            elif event.kind == events.NOTIFICATION and named <= self.last_notification:
                self.late_notifications.add(named)

    last_tombstone: int = 0

    def subscribe(self, stream: str | None, tag: str | None, list_id: str | None = None) -> str | None:
        """Add a stream; the reason it is refused otherwise (a list's id is checked when it is read)."""
        if stream not in STREAMS:
            return "Unknown stream type"
        if stream in USER_STREAMS and self.viewer is None:
            return "Missing access token"
        if stream.startswith("hashtag") and not (tag or "").strip():
            return "No tag for stream provided"
        if stream == "list":
            if not (list_id or "").isdigit() or len(list_id or "") > 18:
                return "No list for stream provided"
            self.subscriptions.add(("list", str(list_id)))
            return None
        self.subscriptions.add(
            (stream, (tag or "").lstrip("#").lower() if stream.startswith("hashtag") else "")
        )
        return None


async def _viewer(websocket: WebSocket, svc: Services) -> tuple[Actor | None, frozenset[str], str | None]:
    """The account of the token in ``access_token``, Authorization or Sec-WebSocket-Protocol."""
    protocol = websocket.headers.get("sec-websocket-protocol", "").strip() or None
    token = bearer_of(websocket) or protocol
    if token is None:
        return None, frozenset(), None
    async with svc.reads() as session:
        row, _, account = await lookup_token(session, token)
    if account is not None and not may_sign_in(account):  # suspended or disabled by a moderator
        raise UnauthorizedError("Your login is currently disabled")
    return account, frozenset(split_scopes(row.scopes)), protocol if token == protocol else None


def _message(stream: tuple[str, str], event: str, payload: Any) -> str:
    name = [stream[0], stream[1]] if stream[1] else [stream[0]]
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return json.dumps({"stream": name, "event": event, "payload": text})


def _query(conn: Connection, stream: str, tag: str) -> Any:
    if stream == "user":
        assert conn.viewer is not None
        return timelines.home_query(conn.viewer.id)
    if stream.startswith("hashtag"):
        return timelines.tag_query(tag, local=stream == "hashtag:local")
    return timelines.public_query(local=stream == "public:local", remote=stream == "public:remote")


async def start(session: AsyncSession, conn: Connection) -> None:
    """Begin after what exists now."""
    conn.last_status = int(await session.scalar(select(func.max(Status.id))) or 0)
    conn.last_notification = int(await session.scalar(select(func.max(Notification.id))) or 0)
    conn.last_tombstone = int(await session.scalar(select(func.max(Tombstone.id))) or 0)


async def poll(svc: Services, session: AsyncSession, conn: Connection) -> list[str]:
    """The messages for everything new since the last poll."""
    out: list[str] = []
    viewer_id = conn.viewer.id if conn.viewer else None
    newest = int(await session.scalar(select(func.max(Status.id))) or 0)
    late = conn.late_statuses - set(conn.sent_statuses)
    conn.late_statuses = set()
    if newest > conn.last_status or late:
        for stream, tag in sorted(conn.subscriptions):
            if stream == "user:notification":
                continue
            if stream == "list":
                # The viewer's own list only: Mastodon's "list" stream.
                found = await session.get(AccountList, int(tag)) if conn.viewer is not None else None
                if found is None or conn.viewer is None or found.account_id != conn.viewer.id:
                    continue
                base = timelines.list_query(conn.viewer.id, found.id, found.replies_policy)
            else:
                base = _query(conn, stream, tag)
            queries = [timelines.without_blocked(base, viewer_id)]
            if stream == "user" and conn.viewer is not None:
                followed = await tags.followed_names(session, conn.viewer.id)
                if followed:  # public posts with hashtags the viewer follows
                    queries.append(timelines.followed_tags_query(conn.viewer.id, followed))
            new: list[Any] = [Status.id > conn.last_status, Status.id <= newest]
            if late:
                new = [or_(and_(*new), Status.id.in_(late))]
            pages = [
                list(await session.scalars(q.where(*new).order_by(Status.id).limit(BATCH))) for q in queries
            ]
            statuses = timelines.merge_pages(pages, BATCH, ascending=True)
            context = "home" if stream in ("user", "list") else "public"
            for entity in await status_entities.statuses(svc, session, statuses, conn.viewer, context):
                out.append(_message((stream, tag), "update", entity))
            conn.sent_statuses.extend(status.id for status in statuses)
        conn.last_status = max(conn.last_status, newest)
    late_notes = conn.late_notifications - set(conn.sent_notifications)
    conn.late_notifications = set()
    if conn.viewer is not None and conn.subscriptions & {("user", ""), ("user:notification", "")}:
        rows = list(
            await session.scalars(
                select(Notification)
                .where(
                    Notification.recipient_id == conn.viewer.id,
                    or_(Notification.id > conn.last_notification, Notification.id.in_(late_notes)),
                )
                .order_by(Notification.id)
                .limit(BATCH)
            )
        )
        target = ("user", "") if ("user", "") in conn.subscriptions else ("user:notification", "")
        for note in await status_entities.notifications(svc, session, rows, conn.viewer):
            out.append(_message(target, "notification", note))
        if rows:
            conn.last_notification = max(conn.last_notification, rows[-1].id)
            conn.sent_notifications.extend(row.id for row in rows)
    deleted = list(
        await session.execute(
            select(Tombstone.id, Status.id)
            .join(Status, Status.ap_id == Tombstone.ap_id)
            .where(Tombstone.id > conn.last_tombstone)
            .order_by(Tombstone.id)
            .limit(BATCH)
        )
    )
    for _, status_id in deleted:
        for subscription in sorted(s for s in conn.subscriptions if s[0] != "user:notification"):
            out.append(_message(subscription, "delete", str(status_id)))
    if deleted:
        conn.last_tombstone = deleted[-1][0]
    return out


async def _receive(websocket: WebSocket, conn: Connection) -> None:
    """Subscribe and unsubscribe messages from the client."""
    while True:
        try:
            message = json.loads(await websocket.receive_text())
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        stream, tag = message.get("stream"), message.get("tag")
        if message.get("type") == "subscribe":
            list_id = str(message.get("list") or "")
            refused = conn.subscribe(stream if isinstance(stream, str) else None, str(tag or ""), list_id)
            if refused:
                await websocket.send_text(json.dumps({"error": refused, "status": 400}))
        elif message.get("type") == "unsubscribe" and isinstance(stream, str):
            key = str(message.get("list") or "") if stream == "list" else str(tag or "").lstrip("#").lower()
            conn.subscriptions.discard((stream, key))


class OpenStreams:
    """How many streams each IP address and each token holds open in this process."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    @contextlib.contextmanager
    def hold(self, keys: list[tuple[str, int]]) -> Iterator[bool]:
        """Count a connection under ``keys`` (each with its limit); yields False (counting nothing) when
        any is full."""
        if any(limit and self.counts[key] >= limit for key, limit in keys):
            yield False
            return
        for key, _ in keys:
            self.counts[key] += 1
        try:
            yield True
        finally:
            for key, _ in keys:
                self.counts[key] -= 1
                if self.counts[key] <= 0:
                    del self.counts[key]


def _token_of(websocket: WebSocket) -> str | None:
    return bearer_of(websocket) or websocket.headers.get("sec-websocket-protocol", "").strip() or None


async def stream(websocket: WebSocket) -> None:
    """GET /api/v1/streaming (WebSocket): ``?stream=`` and later subscribe/unsubscribe messages."""
    svc: Services = websocket.app.state.services
    limits = svc.settings.api
    opened: OpenStreams = websocket.app.state.__dict__.setdefault("open_streams", OpenStreams())
    token = _token_of(websocket)
    keys = [(f"ip:{websocket.client.host if websocket.client else 'unknown'}", limits.streams_per_ip)]
    if token:
        keys.append(("token:" + hashlib.sha256(token.encode()).hexdigest(), limits.streams_per_token))
    with opened.hold(keys) as admitted:
        if not admitted:
            await _refuse_too_many(websocket)
            return
        await _serve(websocket, svc, token)


async def _refuse_too_many(websocket: WebSocket) -> None:
    """Refuse the handshake with 429 where the server can say so, else close with CLOSE_TOO_MANY."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        response = JSONResponse({"error": "Too many streaming connections"}, status_code=429)
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=CLOSE_TOO_MANY)


async def _token_revoked(svc: Services, token: str) -> bool:
    try:
        async with svc.reads() as session:
            _, _, account = await lookup_token(session, token)
    except FedigenError:
        return True
    return account is not None and not may_sign_in(account)  # suspended since: closed as if revoked


async def _serve(websocket: WebSocket, svc: Services, token: str | None) -> None:
    try:
        viewer, scopes, protocol = await _viewer(websocket, svc)
    except FedigenError:
        await websocket.close(code=CLOSE_UNAUTHORIZED)
        return
    if viewer is not None and not scope_allows(scopes, "read:statuses"):
        await websocket.close(code=4003)
        return
    conn = Connection(viewer, scopes)
    first = websocket.query_params.get("stream")
    if first and conn.subscribe(first, websocket.query_params.get("tag"), websocket.query_params.get("list")):
        await websocket.close(code=4002)
        return
    async with svc.reads() as session:
        await start(session, conn)  # before accepting, so nothing posted after the handshake is missed
    await websocket.accept(subprotocol=protocol)
    receiver = asyncio.create_task(_receive(websocket, conn))
    checked = time.monotonic()
    viewer_id = viewer.id if viewer is not None else None

    def concerns(event: events.Event) -> bool:  # another account's notification wakes nobody here
        recipient = event.payload.get("recipient")
        return event.kind != events.NOTIFICATION or (viewer_id is not None and recipient in (None, viewer_id))

    subscription = svc.events.subscribe(events.STATUS, events.NOTIFICATION, events.DELETE, accept=concerns)
    try:
        while not receiver.done():
            if token and time.monotonic() - checked >= RECHECK_SECONDS:
                checked = time.monotonic()
                if await _token_revoked(svc, token):
                    await websocket.close(code=CLOSE_UNAUTHORIZED)
                    return
            async with svc.reads() as session:
                messages = await poll(svc, session, conn)
            for text in messages:
                await websocket.send_text(text)
            wait = min(POLL_SECONDS, RECHECK_SECONDS) if token else POLL_SECONDS
            news = asyncio.ensure_future(subscription.wait(wait))
            await asyncio.wait({receiver, news}, return_when=asyncio.FIRST_COMPLETED)
            news.cancel()
            if news.done() and not news.cancelled():
                conn.heard(news.result())
    except WebSocketDisconnect:
        pass
    finally:
        subscription.close()
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            await receiver


async def health(request: Request) -> Response:
    """GET /api/v1/streaming/health."""
    return PlainTextResponse("OK")


routes: list[BaseRoute] = [
    Route("/api/v1/streaming/health", health, methods=["GET", "HEAD"]),
    WebSocketRoute("/api/v1/streaming", stream),
    WebSocketRoute("/api/v1/streaming/", stream),
]
