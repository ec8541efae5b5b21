"""Signed-in browsers: the session cookie, the viewer it names, and CSRF tokens for every form.

A web session is an OAuth access token of the instance's own client app ("fedigen web", created on
first use), so it is listed and revoked with the other authorised apps and carries the scopes every
other front door checks. The browser holds the raw token in an HttpOnly, SameSite=Lax cookie (Secure
when the instance is served over https); the database holds only its digest, as for every token. The
client API never reads this cookie: it takes bearer tokens only, so no API call can be forged from
another site.

CSRF: every state-changing form carries a token derived from two cookies the page's own origin set,
``HMAC(csrf cookie, session cookie)``. Another site can make a browser send the cookies but cannot read
them, so it cannot compute the token; signing in or out changes the session cookie and with it every
token. POSTs are checked by :func:`checked_form` (and JavaScript sends the token in ``X-CSRF-Token``).

:class:`WebSessionMiddleware` resolves the cookie into ``request.state.viewer`` for page requests
(never for the client API, federation or media, which do not use cookies) and sets the CSRF cookie on
the first HTML response that needs one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedigen.api.auth import note_use
from fedigen.api.grants import digest, issue_account_token, lookup_token
from fedigen.errors import FedigenError, UnauthorizedError
from fedigen.services import Services
from fedigen.social import registrations
from fedigen.social.roles import Permission, Role, allowed, role_of
from fedigen.social.standing import may_sign_in
from storage.clients import OAuthApp, OAuthToken
from storage.models import Actor, User, utcnow

SESSION_COOKIE = "fedigen_session"
CSRF_COOKIE = "fedigen_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME = timedelta(days=30)
WEB_CLIENT_ID = "fedigen-web"
WEB_APP_NAME = "fedigen web"
WEB_SCOPES = "read write follow push admin:read admin:write"
SIGN_IN_PATH = "/auth/sign_in"
# Paths whose requests never use the session: the client API, OAuth's token endpoints, federation,
# discovery, media files and static files. Everything else is a page.
NOT_PAGES = ("/api/", "/oauth/token", "/oauth/revoke", "/users/", "/inbox", "/.well-known/", "/nodeinfo",
             "/media/", "/static/", "/avatars/", "/emoji/")  # fmt: skip


class CsrfError(FedigenError):
    """A form came without its CSRF token, or with a wrong one (403)."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in account of a browser: its actor, role, and the session token's row id. ``refusal``
    says why the account may not act yet (email unconfirmed, sign-up awaiting approval), else None."""

    account: Actor
    role: Role
    token_id: int
    refusal: str | None = None

    @property
    def username(self) -> str:
        return self.account.username

    def may(self, permission: Permission) -> bool:
        """Whether the viewer's role holds ``permission``."""
        return allowed(self.role, permission)


def _secure(request: HTTPConnection) -> bool:
    svc: Services = request.app.state.services
    return svc.urls.base.startswith("https://")


def _cookie(response: Response, request: HTTPConnection, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=_secure(request), httponly=True, samesite="lax"
    )


async def web_app(svc: Services) -> OAuthApp:
    """The instance's own client app, which web sessions are tokens of (created on first use)."""
    async with svc.reads() as session:
        app = await session.scalar(select(OAuthApp).where(OAuthApp.client_id == WEB_CLIENT_ID))
    if app is not None:
        return app
    async with svc.sessions() as session, session.begin():
        app = await session.scalar(select(OAuthApp).where(OAuthApp.client_id == WEB_CLIENT_ID))
        if app is None:
            app = OAuthApp(
                client_id=WEB_CLIENT_ID, client_secret_hash=digest(secrets.token_urlsafe(32)),
                name=WEB_APP_NAME, website=svc.urls.base, redirect_uris="urn:ietf:wg:oauth:2.0:oob",
                scopes=WEB_SCOPES,
            )  # fmt: skip
            session.add(app)
            await session.flush()
        return app


async def sign_in(request: Request, response: Response, account: Actor) -> None:
    """Start a web session for ``account`` (whose password was checked by the caller): a new token,
    its cookie on ``response``, and a fresh CSRF cookie (a session never keeps a pre-sign-in token)."""
    svc: Services = request.app.state.services
    app = await web_app(svc)
    async with svc.sessions() as session, session.begin():
        issued = await issue_account_token(session, app, account, SESSION_LIFETIME)
    _cookie(response, request, SESSION_COOKIE, issued.access_token, int(SESSION_LIFETIME.total_seconds()))
    _cookie(response, request, CSRF_COOKIE, secrets.token_urlsafe(32), None)


async def sign_out(request: Request, response: Response) -> None:
    """End the browser's web session: its token is revoked and both cookies are cleared."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        svc: Services = request.app.state.services
        async with svc.sessions() as session, session.begin():
            await session.execute(
                update(OAuthToken)
                .where(OAuthToken.token_hash == digest(raw), OAuthToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=_secure(request), httponly=True, samesite="lax")


async def resolve_viewer(request: HTTPConnection) -> Viewer | None:
    """The account the session cookie names, or None (no cookie, a revoked or expired session, an account
    that may not sign in). Cached on the request."""
    if hasattr(request.state, "viewer"):
        cached: Viewer | None = request.state.viewer
        return cached
    viewer = None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        svc: Services = request.app.state.services
        try:
            async with svc.reads() as session:
                token, app, account = await lookup_token(session, raw)
                if account is not None and app.client_id == WEB_CLIENT_ID and may_sign_in(account):
                    role = role_of(await session.scalar(select(User.role).where(User.actor_id == account.id)))
                    refusal = await registrations.login_refusal(session, account.id)
                    viewer = Viewer(account, role, token.id, refusal)
            if viewer is not None:
                note_use(svc, token)
        except UnauthorizedError:
            viewer = None
    request.state.viewer = viewer
    return viewer


def viewer_of(request: HTTPConnection) -> Viewer | None:
    """The viewer the middleware resolved (None on pages nobody is signed in to)."""
    return getattr(request.state, "viewer", None)


def _csrf_secret(request: HTTPConnection) -> str:
    value = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if value is None:
        value = secrets.token_urlsafe(32)
        request.state.new_csrf = value  # the middleware sets it as a cookie on the response
    return str(value)


def csrf_token(request: HTTPConnection) -> str:
    """The CSRF token of this browser's forms (put it in a hidden ``csrf_token`` field)."""
    key = _csrf_secret(request).encode()
    mac = hmac.new(key, (request.cookies.get(SESSION_COOKIE) or "").encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_valid(request: HTTPConnection, given: str | None) -> bool:
    """Whether ``given`` is this browser's CSRF token (there must be a CSRF cookie to check against)."""
    if not given or not request.cookies.get(CSRF_COOKIE):
        return False
    return hmac.compare_digest(given.encode(), csrf_token(request).encode())


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token (field or ``X-CSRF-Token`` header) is checked; CsrfError
    otherwise. Every state-changing page handler reads its form through this."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    token = given if isinstance(given, str) else request.headers.get(CSRF_HEADER)
    if not csrf_valid(request, token):
        raise CsrfError("This form expired or did not come from this site. Reload the page and try again.")
    return form


Handler = Callable[[Request], Awaitable[Response]]


def sign_in_redirect(request: Request) -> Response:
    """Send the browser to the sign-in page, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{SIGN_IN_PATH}?next={quote(target, safe='')}", status_code=303)


def signed_in(handler: Handler) -> Handler:
    """A page for signed-in accounts only: others are sent to sign in first."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        if await resolve_viewer(request) is None:
            return sign_in_redirect(request)
        return await handler(request)

    return wrapper


def safe_next(value: str | None, default: str = "/home") -> str:
    """A ``next`` target that stays on this site (a path, never another origin or a scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


class WebSessionMiddleware:
    """Resolves the viewer of page requests and sets the CSRF cookie when a page first needed one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(NOT_PAGES):
            await self.app(scope, receive, send)
            return
        request = HTTPConnection(scope)
        if SESSION_COOKIE in request.cookies:
            await resolve_viewer(request)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = getattr(request.state, "new_csrf", None)
                if value is not None and CSRF_COOKIE not in request.cookies:
                    response = Response()
                    _cookie(response, request, CSRF_COOKIE, value, None)
                    headers: list[Any] = list(message.get("headers", []))
                    headers.extend((k, v) for k, v in response.raw_headers if k.lower() == b"set-cookie")
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
