"""Who is calling: the bearer token of a Mastodon API request, its app, account and scopes.

Every API endpoint starts with ``await authenticate(request, "read:statuses")`` (or
:func:`optional_auth` for public endpoints that show more to a signed-in account). The token is found
by the SHA-256 of the presented value in one indexed query joined with its app and account; the
answer is kept on ``request.state`` so a second call in the same request costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Concatenate, ParamSpec, TypeVar, cast

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.exc import OperationalError
from starlette.requests import HTTPConnection

from fedigen.api.grants import lookup_token, lookup_token_of, split_scopes
from fedigen.errors import FedigenError, ForbiddenError, ScopeError, UnauthorizedError
from fedigen.services import Services
from fedigen.social import registrations
from fedigen.social.roles import Permission, Role, require, role_of
from fedigen.social.standing import may_sign_in
from storage.clients import OAuthApp, OAuthToken
from storage.models import Actor, User, utcnow

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

LAST_USED_EVERY = timedelta(minutes=1)
# Mastodon's legacy "follow" scope grants what these granular scopes grant.
FOLLOW_COVERS = frozenset(
    {"read:follows", "read:blocks", "read:mutes", "write:follows", "write:blocks", "write:mutes"}
)
# GET /api/v1/accounts/verify_credentials asks for "profile", which "read" and "read:accounts" also give.
PROFILE_COVERED_BY = frozenset({"profile", "read", "read:accounts"})
_STATE_KEY = "fedigen_auth"


@dataclass(frozen=True)
class Auth:
    """An authenticated API request: its token, app, account (None for client_credentials), scopes."""

    token: OAuthToken
    app: OAuthApp
    account: Actor | None
    scopes: frozenset[str]
    # Why the account may not act yet (email unconfirmed, sign-up pending approval), or None.
    refusal: str | None = None


def scope_allows(granted: Iterable[str], needed: str) -> bool:
    """Whether the granted scopes cover the one an endpoint needs ("read" covers "read:statuses")."""
    scopes = set(granted)
    if needed == "profile":
        return not scopes.isdisjoint(PROFILE_COVERED_BY)
    if needed in scopes:
        return True
    family, _, detail = needed.partition(":")
    if detail and family in ("read", "write") and family in scopes:
        return True
    if family == "admin":  # "admin:read" covers "admin:read:accounts"
        level, _, what = detail.partition(":")
        if what and f"admin:{level}" in scopes:
            return True
    return needed in FOLLOW_COVERS and "follow" in scopes


def bearer_of(request: HTTPConnection) -> str | None:
    """The presented token: ``Authorization: Bearer``, else the ``access_token`` query parameter."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    # Mastodon accepts ?access_token= too; browsers cannot set headers on a WebSocket.
    return request.query_params.get("access_token") or None


async def _resolve(request: HTTPConnection) -> Auth | None:
    cached: Auth | None = getattr(request.state, _STATE_KEY, None)
    if cached is not None:
        return cached
    bearer = bearer_of(request)
    if bearer is None:
        return None
    svc: Services = request.app.state.services
    async with svc.reads() as session:
        token, app, account = await lookup_token(session, bearer)
        refusal = await registrations.login_refusal(session, account.id) if account is not None else None
    note_use(svc, token)
    auth = Auth(token, app, account, frozenset(split_scopes(token.scopes)), refusal)
    setattr(request.state, _STATE_KEY, auth)
    return auth


def note_use(svc: Services, token: OAuthToken) -> None:
    """Record, at most once a minute, that a token was used (API calls and web sessions alike: the
    authorised apps page shows it). Bookkeeping, written beside the request rather than in its way: on
    SQLite a write waits for the write lock, and a read request must never wait for that (the services
    await it at close)."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        task = asyncio.create_task(_note_use(svc, token.id, now))
        svc.pending.add(task)
        task.add_done_callback(svc.pending.discard)


async def _note_use(svc: Services, token_id: int, now: datetime) -> None:
    """Record that a token was used. Conditional, so concurrent requests with one token write it once a
    minute at most."""
    stale = now - LAST_USED_EVERY
    async with svc.sessions() as session:
        try:
            await session.execute(
                update(OAuthToken)
                .where(
                    OAuthToken.id == token_id,
                    or_(OAuthToken.last_used_at.is_(None), OAuthToken.last_used_at <= stale),
                )
                .values(last_used_at=now)
            )
            await session.commit()
        except OperationalError as exc:  # a busy SQLite writer: bookkeeping, not worth failing over
            log.debug("last_used_at not updated: %s", exc)


async def authenticate(
    request: HTTPConnection, scope: str | None = None, *, user: bool = True, pending_ok: bool = False
) -> Auth:
    """The request's token, required; with ``user`` it must act for an account (one that may act: its
    email confirmed and its sign-up approved, unless ``pending_ok``); with ``scope``, allow it."""
    auth = await _resolve(request)
    if auth is None:
        raise UnauthorizedError("The access token is invalid")
    _require(auth, scope, user=user, pending_ok=pending_ok)
    return auth


def _require(auth: Auth, scope: str | None, *, user: bool, pending_ok: bool) -> None:
    if user and auth.account is None:
        raise UnauthorizedError("This method requires an authenticated user")
    if user and auth.refusal is not None and not pending_ok:
        raise ForbiddenError(auth.refusal)
    if auth.account is not None and not may_sign_in(auth.account):  # suspended, disabled or deleted
        raise ForbiddenError("Your login is currently disabled")
    if scope is not None and not scope_allows(auth.scopes, scope):
        raise ScopeError(scope)


async def authenticate_and_read(
    request: HTTPConnection, scope: str, read: Callable[Concatenate[Connection, int, P], T],
    *args: P.args, **kwargs: P.kwargs,
) -> tuple[Auth, T]:  # fmt: skip
    """:func:`authenticate` (an account that may act, ``scope``) and ``read(connection, account_id,
    *args, **kwargs)`` together, in one call of the services' :class:`~storage.db.SyncReader` (on
    SQLite one synchronous read for the token, the account and the whole page). The token, app
    and account are then Core records, not ORM objects: for endpoints that only read."""
    svc: Services = request.app.state.services
    bearer = bearer_of(request)
    if bearer is None or getattr(request.state, _STATE_KEY, None) is not None:
        auth = await authenticate(request, scope)
        assert auth.account is not None
        return auth, await svc.reader.run(read, auth.account.id, *args, **kwargs)

    def both(conn: Connection) -> tuple[Auth, T | None]:
        token, app, account, refusal = lookup_token_of(conn, bearer)
        auth = Auth(token, app, account, frozenset(split_scopes(token.scopes)), refusal)
        try:
            _require(auth, scope, user=True, pending_ok=False)
        except FedigenError:
            return auth, None  # refused below, with nothing read
        return auth, read(conn, account.id, *args, **kwargs)

    auth, result = await svc.reader.run(both)
    note_use(svc, auth.token)
    setattr(request.state, _STATE_KEY, auth)
    _require(auth, scope, user=True, pending_ok=False)
    return auth, cast(T, result)


async def optional_auth(request: HTTPConnection) -> Auth | None:
    """The request's token when one is given (a bad one is still 401, as Mastodon answers), else None."""
    return await _resolve(request)


async def authenticate_staff(
    request: HTTPConnection, scope: str, permission: Permission
) -> tuple[Auth, Role]:
    """An admin API call: a token with ``scope`` (``admin:read...`` / ``admin:write...``) acting for an
    account whose role holds ``permission``; 401, 403 otherwise (Mastodon answers 403 to both a missing
    scope and a missing permission)."""
    auth = await authenticate(request, scope)
    assert auth.account is not None
    svc: Services = request.app.state.services
    async with svc.reads() as session:
        role = role_of(await session.scalar(select(User.role).where(User.actor_id == auth.account.id)))
    require(role, permission)
    return auth, role
