"""Routes of OAuth 2 as Mastodon 4.3 serves them: app registration, the login and consent page, the
token and revocation endpoints, and the RFC 8414 metadata document.

The consent form is protected against cross-site posts by a double-submit cookie (a random value set
with the page, SameSite=Lax and HttpOnly, that the form must echo) and by the Origin header when the
browser sends one. A signed field alone would not do: anyone may fetch a freshly signed form.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import grants
from fedigen.api.auth import authenticate
from fedigen.api.params import Params, read_params
from fedigen.errors import ValidationError
from fedigen.http import services
from fedigen.web.pages import PAGE_HEADERS, error_page, render
from storage.clients import OAuthApp

CSRF_COOKIE = "fedigen_authorize"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
ERROR_STATUS = {"invalid_client": 401, "unauthorized_client": 403}
# The form fields that carry the authorization request from the page to its POST.
REQUEST_FIELDS = (
    "client_id", "redirect_uri", "response_type", "response_mode", "scope", "state",
    "code_challenge", "code_challenge_method",
)  # fmt: skip
TOKEN_FIELDS = ("grant_type", "code", "redirect_uri", "code_verifier", "username", "password", "scope")
CSP_SOURCE_RE = re.compile(r"[a-z][a-z0-9+.\-]*:(//[A-Za-z0-9.\-:\[\]]+)?")
SCOPE_TEXT = {
    "read": "read all your account's data",
    "write": "change all your account's data",
    "follow": "follow, block and mute accounts (legacy)",
    "push": "receive your push notifications",
    "profile": "read only your profile",
}

Handler = Callable[[Request], Awaitable[Response]]


# ---- entities and helpers ----


def application(app: OAuthApp) -> dict[str, Any]:
    """The Application entity (Mastodon 4.3), without credentials."""
    uris = grants.redirect_uris_of(app)
    return {
        "id": str(app.id), "name": app.name, "website": app.website,
        "scopes": list(grants.split_scopes(app.scopes)), "redirect_uri": "\n".join(uris),
        "redirect_uris": uris, "vapid_key": "",
    }  # fmt: skip


def credential_application(app: OAuthApp, client_secret: str) -> dict[str, Any]:
    """The Application entity with the credentials, as POST /api/v1/apps returns it once."""
    return {**application(app), "client_id": app.client_id, "client_secret": client_secret,
            "client_secret_expires_at": 0}  # fmt: skip


def _client_auth(request: Request, params: Params) -> tuple[str | None, str | None]:
    """client_id and client_secret from HTTP Basic (RFC 6749 section 2.3.1) or the form."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise grants.OAuthError("invalid_client", grants.INVALID_CLIENT) from None
        client_id, _, secret = decoded.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return params.get_str("client_id"), params.get_str("client_secret")


def with_params(uri: str, values: Mapping[str, str], *, fragment: bool = False) -> str:
    """``uri`` with ``values`` added to its query (kept as registered) or put in its fragment."""
    parts = urlsplit(uri)
    if fragment:
        return urlunsplit(parts._replace(fragment=urlencode(values)))
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *values.items()])
    return urlunsplit(parts._replace(query=query))


def _lifetime(request: Request) -> timedelta | None:
    days = services(request).settings.api.token_lifetime_days
    return timedelta(days=days) if days else None


def rfc6749_errors(handler: Handler) -> Handler:
    """Answer refusals in the RFC 6749 form ``{"error", "error_description"}``."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except grants.OAuthError as exc:
            error, description = exc.error, exc.description
        except ValidationError as exc:
            error, description = "invalid_request", str(exc)
        status = ERROR_STATUS.get(error, 400)
        headers = {**NO_STORE, **({"WWW-Authenticate": 'Basic realm="fedigen"'} if status == 401 else {})}
        body = {"error": error, "error_description": description}
        return JSONResponse(body, status_code=status, headers=headers)

    return wrapper


def html_errors(handler: Handler) -> Handler:
    """Refused authorization requests get an HTML page; nothing redirects to an unchecked URI."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except grants.OAuthError as exc:
            return error_page(request, 400, exc.description)

    return wrapper


# ---- the consent page ----


def _scope_text(scope: str) -> str:
    family, _, detail = scope.partition(":")
    if detail:
        return f"{'read' if family == 'read' else 'change'} your {detail.replace('_', ' ')}"
    return SCOPE_TEXT.get(scope, scope)


def _page_headers(redirect_uri: str) -> dict[str, str]:
    # After the form is posted the browser follows a redirect to the app, which CSP form-action also
    # governs (https://www.w3.org/TR/CSP3/#directive-form-action): allow the app's origin or scheme.
    parts = urlsplit(redirect_uri)
    source = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else f"{parts.scheme}:"
    # No script at all on the page where passwords are typed for other apps (default-src 'none').
    csp = PAGE_HEADERS["Content-Security-Policy"].replace("script-src 'self'; ", "")
    if redirect_uri != grants.OOB:
        allowed = f"form-action 'self' {source}" if CSP_SOURCE_RE.fullmatch(source) else ""
        csp = csp.replace("form-action 'self'", allowed)
    return {**PAGE_HEADERS, **NO_STORE, "Content-Security-Policy": csp}


def _page(
    request: Request, req: grants.AuthorizationRequest, context: dict[str, Any], status_code: int = 200
) -> Response:
    response = render(request, "authorize.html", {"app": req.app, **context}, status_code=status_code)
    response.headers.update(_page_headers(req.redirect_uri))
    return response


def _consent_page(
    request: Request, req: grants.AuthorizationRequest, params: Mapping[str, str], error: str | None = None
) -> Response:
    nonce = secrets.token_urlsafe(32)
    fields = {name: params[name] for name in REQUEST_FIELDS if params.get(name)}
    scopes = [(scope, _scope_text(scope)) for scope in req.scopes]
    context = {"mode": "form", "fields": fields, "csrf": nonce, "scopes": scopes, "error": error,
               "username": params.get("username", "")}  # fmt: skip
    response = _page(request, req, context)
    secure = services(request).urls.base.startswith("https://")
    response.set_cookie(CSRF_COOKIE, nonce, max_age=3600, path="/oauth/authorize", secure=secure,
                        httponly=True, samesite="lax")  # fmt: skip
    return response


def _same_site_post(request: Request, form: Mapping[str, str]) -> bool:
    cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get("csrf", "")
    origin = request.headers.get("origin")
    if origin is not None and origin != services(request).settings.base_url:
        return False
    return bool(cookie) and hmac.compare_digest(cookie.encode(), field.encode())


def _finish(request: Request, req: grants.AuthorizationRequest, values: dict[str, str]) -> Response:
    if req.state is not None:
        values["state"] = req.state
    if req.redirect_uri == grants.OOB:
        # Mastodon shows the code for the person to paste into the app (toot, Mastodon.py).
        return _page(request, req, {"mode": "oob", "code": values.get("code"), "denied": "error" in values})
    location = with_params(req.redirect_uri, values, fragment=req.response_mode == "fragment")
    return RedirectResponse(location, status_code=302, headers=NO_STORE)


# ---- endpoints ----


async def register(request: Request) -> Response:
    """POST /api/v1/apps: register a client app."""
    params = await read_params(request)
    async with services(request).sessions() as session, session.begin():
        app, secret = await grants.register_app(
            session, name=params.get_str("client_name"), redirect_uris=params.get_list("redirect_uris"),
            scopes=params.get_str("scopes"), website=params.get_str("website"),
        )  # fmt: skip
    return JSONResponse(credential_application(app, secret))


async def verify_app(request: Request) -> Response:
    """GET /api/v1/apps/verify_credentials: the app of the token (any token, user's or app's)."""
    auth = await authenticate(request, user=False)
    return JSONResponse(application(auth.app))


async def authorize_page(request: Request) -> Response:
    """GET /oauth/authorize: the login and consent page."""
    params = dict(request.query_params)
    async with services(request).sessions() as session:
        req = await grants.authorization_request(session, params)
    return _consent_page(request, req, params)


async def authorize_submit(request: Request) -> Response:
    """POST /oauth/authorize: check the password, then redirect with a code (or show it, out of band)."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    svc = services(request)
    async with svc.sessions() as session:
        req = await grants.authorization_request(session, form)
    if not _same_site_post(request, form):
        raise grants.OAuthError("invalid_request", "This form expired or came from another site: try again.")
    if form.get("decision") == "deny":
        return _finish(request, req, {"error": "access_denied"})
    login = form.get("username", ""), form.get("password", "")
    account = await grants.check_login(svc.sessions, *login, domain=svc.urls.host)
    if account is None:
        return _consent_page(request, req, form, error="Wrong username or password.")
    refusal = await grants.login_refusal(svc.sessions, account)
    if refusal is not None:
        return _consent_page(request, req, form, error=f"{refusal}.")
    async with svc.sessions() as session, session.begin():
        code = await grants.issue_code(session, req, account)
    return _finish(request, req, {"code": code})


async def token(request: Request) -> Response:
    """POST /oauth/token: authorization_code, password or client_credentials."""
    params = await read_params(request)
    client_id, client_secret = _client_auth(request, params)
    strings = {name: value for name in TOKEN_FIELDS if (value := params.get_str(name)) is not None}
    svc = services(request)
    issued = await grants.grant_token(
        svc.sessions, strings, client_id=client_id, client_secret=client_secret, domain=svc.urls.host,
        lifetime=_lifetime(request),
    )  # fmt: skip
    body = {"access_token": issued.access_token, "token_type": "Bearer", "scope": " ".join(issued.scopes),
            "created_at": int(issued.created_at.timestamp())}  # fmt: skip
    return JSONResponse(body, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """POST /oauth/revoke (RFC 7009): the token stops working at once."""
    params = await read_params(request)
    client_id, client_secret = _client_auth(request, params)
    value = params.get_str("token")
    if not value:
        raise grants.OAuthError("invalid_request", "Missing required parameter: token.")
    async with services(request).sessions() as session, session.begin():
        app = await grants.authenticate_client(session, client_id, client_secret)
        await grants.revoke(session, app, value)
    return JSONResponse({})


async def metadata(request: Request) -> Response:
    """GET /.well-known/oauth-authorization-server (RFC 8414), with Mastodon 4.3's fields."""
    base = services(request).settings.base_url
    return JSONResponse(
        {
            "issuer": f"{base}/",
            "service_documentation": "https://docs.joinmastodon.org/",
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "app_registration_endpoint": f"{base}/api/v1/apps",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "scopes_supported": list(grants.SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "fragment"],
            "grant_types_supported": list(grants.GRANT_TYPES),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }
    )


routes: list[BaseRoute] = [
    Route("/api/v1/apps", register, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_app, methods=["GET"]),
    Route("/oauth/authorize", html_errors(authorize_page), methods=["GET"]),
    Route("/oauth/authorize", html_errors(authorize_submit), methods=["POST"]),
    Route("/oauth/token", rfc6749_errors(token), methods=["POST"]),
    Route("/oauth/revoke", rfc6749_errors(revoke), methods=["POST"]),
    Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
]
