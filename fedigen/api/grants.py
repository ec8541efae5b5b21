"""The OAuth 2 server as Mastodon serves it: apps, authorization codes with PKCE, tokens, revocation.

Written on ``secrets``/``hashlib`` rather than a library: oauthlib's ``RequestValidator`` and authlib's
``AuthorizationServer`` are synchronous (authlib's author: "Authlib is not ready for async
providers"), so every validator call would need the async database from a worker thread, and
Mastodon's own choices (the out-of-band page, the password grant, its scopes and error texts) would
still be ours to write. What is left is small: random values, SHA-256 digests and constant-time
comparisons. Client secrets, codes and tokens are stored only as SHA-256 hashes (storage.clients).

Refusals raise :class:`OAuthError` carrying an RFC 6749 error code (section 5.2); the routes turn it
into ``{"error", "error_description"}`` or an HTML page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from fedigen.errors import FedigenError, UnauthorizedError, ValidationError
from fedigen.social import registrations
from fedigen.social.accounts import hash_password, verify_password
from storage.clients import OAuthApp, OAuthCode, OAuthToken
from storage.db import SessionFactory
from storage.models import Actor, User, utcnow
from storage.records import record
from storage.signup import Signup

OOB = "urn:ietf:wg:oauth:2.0:oob"
# Mastodon 4.3's scopes, in its order (config/initializers/doorkeeper.rb). An admin scope gives a token
# nothing its account's role does not allow (fedigen.social.roles).
SCOPES: tuple[str, ...] = (
    "read", "profile", "write",
    "write:accounts", "write:blocks", "write:bookmarks", "write:conversations", "write:favourites",
    "write:filters", "write:follows", "write:lists", "write:media", "write:mutes", "write:notifications",
    "write:reports", "write:statuses",
    "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters", "read:follows",
    "read:lists", "read:mutes", "read:notifications", "read:search", "read:statuses",
    "follow", "push",
    "admin:read", "admin:read:accounts", "admin:read:reports", "admin:read:domain_allows",
    "admin:read:domain_blocks", "admin:read:ip_blocks", "admin:read:email_domain_blocks",
    "admin:read:canonical_email_blocks",
    "admin:write", "admin:write:accounts", "admin:write:reports", "admin:write:domain_allows",
    "admin:write:domain_blocks", "admin:write:ip_blocks", "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
)  # fmt: skip
DEFAULT_SCOPE = "read"
GRANT_TYPES = ("authorization_code", "password", "client_credentials")
CODE_LIFETIME = timedelta(minutes=10)
MAX_APP_NAME = 60  # Mastodon's limit
MAX_URI = 2048
MAX_STATE = 2048
# RFC 7636 section 4.1: 43-128 unreserved characters; an S256 challenge is 43 base64url characters.
VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
CHALLENGE_RE = re.compile(r"[A-Za-z0-9\-_]{43}")
# Schemes a redirect could run code or read local data with; blob: URLs point into another page's memory.
FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob", "filesystem", "about"})

# Doorkeeper's descriptions, which Mastodon clients show as they are.
INVALID_CLIENT = (
    "Client authentication failed due to unknown client, no client authentication included, "
    "or unsupported authentication method."
)
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the redirection "
    "URI used in the authorization request, or was issued to another client."
)
INVALID_SCOPE = "The requested scope is invalid, unknown, or malformed."


class OAuthError(FedigenError):
    """A refused OAuth request; ``error`` is the RFC 6749 code (invalid_grant, invalid_client...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class CodeReusedError(OAuthError):
    """An authorization code presented a second time (its token is revoked before the refusal)."""

    def __init__(self, code_id: int) -> None:
        super().__init__("invalid_grant", INVALID_GRANT)
        self.code_id = code_id


@dataclass(frozen=True)
class IssuedToken:
    """A new access token: the raw value, shown once, and what it grants."""

    access_token: str
    scopes: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked GET/POST /oauth/authorize request."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    response_mode: str


def digest(value: str) -> str:
    """SHA-256 hex digest: how secrets are stored and looked up."""
    return hashlib.sha256(value.encode()).hexdigest()


def split_scopes(value: str | None) -> tuple[str, ...]:
    """Space-separated scopes as a tuple without repeats, in the order given."""
    return tuple(dict.fromkeys((value or "").split()))


def redirect_uris_of(app: OAuthApp) -> list[str]:
    """The app's registered redirect URIs."""
    return app.redirect_uris.split()


def _check_redirect_uri(uri: str) -> None:
    if uri == OOB:
        return
    parts = urlsplit(uri)
    if len(uri) > MAX_URI or not parts.scheme or parts.fragment:
        raise ValidationError("redirect_uris", f"must be absolute URIs without a fragment: {uri!r}")
    if parts.scheme.lower() in FORBIDDEN_SCHEMES:
        raise ValidationError("redirect_uris", f"scheme not allowed: {uri!r}")
    if parts.scheme.lower() in ("http", "https") and not parts.netloc:
        raise ValidationError("redirect_uris", f"must name a host: {uri!r}")


async def register_app(
    session: AsyncSession,
    *,
    name: str | None,
    redirect_uris: str | Sequence[str] | None,
    scopes: str | None = None,
    website: str | None = None,
) -> tuple[OAuthApp, str]:
    """Register a client app (POST /api/v1/apps); returns it with its raw client secret."""
    name = (name or "").strip()
    if not name:
        raise ValidationError("client_name", "can't be blank")
    if len(name) > MAX_APP_NAME:
        raise ValidationError("client_name", f"is too long (maximum is {MAX_APP_NAME} characters)")
    # One string of URIs separated by newlines (Mastodon before 4.3), or a list of them.
    items = [redirect_uris] if isinstance(redirect_uris, str) else list(redirect_uris or [])
    uris = [uri for item in items for uri in item.split()]
    if not uris:
        raise ValidationError("redirect_uris", "can't be blank")
    for uri in uris:
        _check_redirect_uri(uri)
    asked = split_scopes(scopes) or (DEFAULT_SCOPE,)
    unknown = [s for s in asked if s not in SCOPES]
    if unknown:
        raise ValidationError("scopes", f"not supported: {' '.join(unknown)}")
    website = (website or "").strip() or None
    if website is not None and (urlsplit(website).scheme not in ("http", "https") or len(website) > MAX_URI):
        raise ValidationError("website", "must be an http(s) URL")
    secret = secrets.token_urlsafe(32)
    app = OAuthApp(
        client_id=secrets.token_urlsafe(32), client_secret_hash=digest(secret), name=name,
        website=website, redirect_uris="\n".join(dict.fromkeys(uris)), scopes=" ".join(asked),
    )  # fmt: skip
    session.add(app)
    await session.flush()
    return app, secret


async def find_app(session: AsyncSession, client_id: str | None) -> OAuthApp:
    """The app with this client_id, or OAuthError invalid_client."""
    app = await session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id)) if client_id else None
    if app is None:
        raise OAuthError("invalid_client", INVALID_CLIENT)
    return app


async def authenticate_client(
    session: AsyncSession, client_id: str | None, client_secret: str | None
) -> OAuthApp:
    """The app whose id and secret these are (compared in constant time), or invalid_client."""
    app = await find_app(session, client_id)
    if not client_secret or not hmac.compare_digest(digest(client_secret), app.client_secret_hash):
        raise OAuthError("invalid_client", INVALID_CLIENT)
    return app


def _granted_scopes(app: OAuthApp, asked: str | None) -> tuple[str, ...]:
    # As Doorkeeper: no scope means the default one, and every scope asked must be one of the app's.
    scopes = split_scopes(asked) or (DEFAULT_SCOPE,)
    if not set(scopes) <= set(split_scopes(app.scopes)):
        raise OAuthError("invalid_scope", INVALID_SCOPE)
    return scopes


async def authorization_request(session: AsyncSession, params: Mapping[str, str]) -> AuthorizationRequest:
    """Check the parameters of /oauth/authorize against the registered app."""
    client_id = params.get("client_id")
    app = await session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id)) if client_id else None
    if app is None:
        raise OAuthError("invalid_client", "No app is registered here with this client_id.")
    registered = redirect_uris_of(app)
    redirect_uri = params.get("redirect_uri") or (registered[0] if len(registered) == 1 else "")
    if redirect_uri not in registered:
        raise OAuthError("invalid_redirect_uri", "The redirect URI is not one the app registered.")
    if params.get("response_type") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    mode = params.get("response_mode") or "query"
    if mode not in ("query", "fragment"):
        raise OAuthError("invalid_request", "response_mode must be query or fragment.")
    challenge = params.get("code_challenge") or None
    if challenge is not None:
        # Only S256 (RFC 7636 section 4.2): "plain", or no method (which means plain), is refused.
        if params.get("code_challenge_method") != "S256":
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        if not CHALLENGE_RE.fullmatch(challenge):
            raise OAuthError("invalid_request", "code_challenge must be 43 base64url characters.")
    state = params.get("state") or None
    if state is not None and len(state) > MAX_STATE:
        raise OAuthError("invalid_request", "state is too long.")
    scopes = _granted_scopes(app, params.get("scope"))
    return AuthorizationRequest(app, redirect_uri, scopes, state, challenge, mode)


async def check_login(
    sessions: SessionFactory, username: str, password: str, *, domain: str | None = None
) -> Actor | None:
    """The local account these credentials open (name, @name, name@our-domain or email), or None.

    Takes the session factory: the argon2 check runs after the read's session is closed, since on
    SQLite every transaction holds the write lock.
    """
    given = username.strip()
    local, _, host = given.lstrip("@").partition("@")
    by_email: ColumnElement[bool] = func.lower(User.email) == given.lower()
    match = by_email
    if local and (not host or host.lower() == (domain or "").lower()):
        match = by_email | (func.lower(Actor.username) == local.lower())
    async with sessions() as session:
        row = (
            await session.execute(
                select(Actor, User.password_hash)
                .join(User, User.actor_id == Actor.id)
                .where(
                    Actor.domain.is_(None),
                    Actor.deleted_at.is_(None),
                    Actor.suspended_at.is_(None),
                    Actor.disabled_at.is_(None),
                    match,
                )
                .limit(1)
            )
        ).first()
    # Unknown names cost a hash check too, so timing does not tell which emails have accounts.
    password_hash = row[1] if row is not None and row[1] else await _dummy_hash()
    if not await verify_password(password_hash, password) or row is None:
        return None
    actor: Actor = row[0]
    return actor


_dummy: list[str] = []


async def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(await hash_password(secrets.token_urlsafe(16)))
    return _dummy[0]


async def issue_code(session: AsyncSession, request: AuthorizationRequest, account: Actor) -> str:
    """A single-use authorization code for ``account`` (10 minutes); returns the raw code."""
    code = secrets.token_urlsafe(32)
    session.add(
        OAuthCode(
            code_hash=digest(code), app_id=request.app.id, account_id=account.id,
            redirect_uri=request.redirect_uri, scopes=" ".join(request.scopes),
            code_challenge=request.code_challenge,
            code_challenge_method="S256" if request.code_challenge else None,
            expires_at=utcnow() + CODE_LIFETIME,
        )
    )  # fmt: skip
    await session.flush()
    return code


def pkce_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) equals the challenge, compared in constant time."""
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=")
    return hmac.compare_digest(computed, challenge.encode("ascii"))


async def _issue_token(
    session: AsyncSession,
    app: OAuthApp,
    account_id: int | None,
    scopes: Iterable[str],
    lifetime: timedelta | None,
    code_id: int | None = None,
) -> IssuedToken:
    raw, now = secrets.token_urlsafe(32), utcnow()
    granted = tuple(scopes)
    session.add(
        OAuthToken(
            token_hash=digest(raw), app_id=app.id, account_id=account_id, scopes=" ".join(granted),
            expires_at=now + lifetime if lifetime else None, created_at=now, code_id=code_id,
        )
    )  # fmt: skip
    await session.flush()
    return IssuedToken(raw, granted, now)


async def exchange_code(
    session: AsyncSession,
    app: OAuthApp,
    *,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """grant_type=authorization_code: trade a code (once, within 10 minutes) for a token."""
    if not code or not redirect_uri:
        raise OAuthError("invalid_request", "Missing required parameter: code and redirect_uri.")
    grant = await session.scalar(select(OAuthCode).where(OAuthCode.code_hash == digest(code)))
    now = utcnow()
    if grant is not None and grant.app_id == app.id and grant.used_at is not None:
        # A code used twice was intercepted: the token it gave is revoked too (RFC 6749 section 4.1.2).
        raise CodeReusedError(grant.id)
    if (
        grant is None
        or grant.app_id != app.id
        or grant.expires_at <= now
        or grant.redirect_uri != redirect_uri
    ):
        raise OAuthError("invalid_grant", INVALID_GRANT)
    if grant.code_challenge is not None:
        if not code_verifier:
            raise OAuthError("invalid_request", "Missing required parameter: code_verifier.")
        if not VERIFIER_RE.fullmatch(code_verifier) or not pkce_matches(code_verifier, grant.code_challenge):
            raise OAuthError("invalid_grant", INVALID_GRANT)
    # Claimed with a conditional UPDATE, so two concurrent exchanges cannot both win.
    claimed = await session.execute(
        update(OAuthCode).where(OAuthCode.id == grant.id, OAuthCode.used_at.is_(None)).values(used_at=now)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise OAuthError("invalid_grant", INVALID_GRANT)
    return await _issue_token(session, app, grant.account_id, split_scopes(grant.scopes), lifetime, grant.id)


async def password_grant(
    sessions: SessionFactory,
    app: OAuthApp,
    *,
    username: str | None,
    password: str | None,
    scope: str | None,
    domain: str | None = None,
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """grant_type=password (Mastodon still accepts it): a token for a local account's credentials."""
    if not username or not password:
        raise OAuthError("invalid_request", "Missing required parameter: username and password.")
    scopes = _granted_scopes(app, scope)
    account = await check_login(sessions, username, password, domain=domain)
    if account is None:
        raise OAuthError("invalid_grant", INVALID_GRANT)
    refusal = await login_refusal(sessions, account)
    if refusal is not None:
        raise OAuthError("invalid_grant", refusal)
    async with sessions() as session, session.begin():
        return await _issue_token(session, app, account.id, scopes, lifetime)


async def login_refusal(sessions: SessionFactory, account: Actor) -> str | None:
    """Why an account whose password was right still may not sign in (email unconfirmed, sign-up not
    approved yet), or None."""
    async with sessions() as session:
        return await registrations.login_refusal(session, account.id)


async def issue_account_token(
    session: AsyncSession, app: OAuthApp, account: Actor, lifetime: timedelta | None = None
) -> IssuedToken:
    """A token of ``account`` for ``app`` with every scope the app has (POST /api/v1/accounts, as
    Mastodon gives the new account's token)."""
    return await _issue_token(session, app, account.id, split_scopes(app.scopes), lifetime)


async def client_credentials(
    session: AsyncSession, app: OAuthApp, *, scope: str | None, lifetime: timedelta | None = None
) -> IssuedToken:
    """grant_type=client_credentials: a token of the app alone, acting for no account."""
    return await _issue_token(session, app, None, _granted_scopes(app, scope), lifetime)


async def grant_token(
    sessions: SessionFactory,
    params: Mapping[str, str],
    *,
    client_id: str | None,
    client_secret: str | None,
    domain: str | None = None,
    lifetime: timedelta | None = None,
) -> IssuedToken:
    """POST /oauth/token: authenticate the client, then run the grant ``params["grant_type"]`` names."""
    grant_type = params.get("grant_type")
    if grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported.")
    async with sessions() as session:
        app = await authenticate_client(session, client_id, client_secret)
    if grant_type == "password":
        return await password_grant(
            sessions, app, username=params.get("username"), password=params.get("password"),
            scope=params.get("scope"), domain=domain, lifetime=lifetime,
        )  # fmt: skip
    try:
        async with sessions() as session, session.begin():
            if grant_type == "client_credentials":
                return await client_credentials(session, app, scope=params.get("scope"), lifetime=lifetime)
            return await exchange_code(
                session, app, code=params.get("code"), redirect_uri=params.get("redirect_uri"),
                code_verifier=params.get("code_verifier"), lifetime=lifetime,
            )  # fmt: skip
    except CodeReusedError as reused:
        async with sessions() as session, session.begin():
            await session.execute(
                update(OAuthToken)
                .where(OAuthToken.code_id == reused.code_id, OAuthToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        raise OAuthError("invalid_grant", INVALID_GRANT) from None


async def revoke(session: AsyncSession, app: OAuthApp, token: str) -> None:
    """RFC 7009: revoke one of the app's tokens; unknown or already revoked tokens are fine."""
    row = await session.scalar(select(OAuthToken).where(OAuthToken.token_hash == digest(token)))
    if row is None or row.revoked_at is not None:
        return
    if row.app_id != app.id:
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token.")
    row.revoked_at = utcnow()
    await session.flush()


async def lookup_token(session: AsyncSession, bearer: str) -> tuple[OAuthToken, OAuthApp, Actor | None]:
    """The live token with this raw value, its app and account (one indexed query), or UnauthorizedError."""
    row = (
        await session.execute(
            select(OAuthToken, OAuthApp, Actor)
            .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .outerjoin(Actor, Actor.id == OAuthToken.account_id)
            .where(OAuthToken.token_hash == digest(bearer))
        )
    ).first()
    if row is None:
        raise UnauthorizedError("The access token is invalid")
    token, app, account = row
    _require_live(token, account)
    return token, app, account


def _require_live(token: OAuthToken, account: Actor | None) -> None:
    if token.revoked_at is not None:
        raise UnauthorizedError("The access token was revoked")
    if token.expires_at is not None and token.expires_at <= utcnow():
        raise UnauthorizedError("The access token expired")
    if account is not None and account.deleted_at is not None:
        raise UnauthorizedError("The access token is invalid")


# The account's keys are never read with a token: a read has no use for them (a private key has no
# business in a page read), and they are the longest values of the row.
_KEYS = {"public_key_pem", "private_key_pem"}
_PARTS: dict[str, list[Any]] = {
    "token__": list(OAuthToken.__table__.c), "app__": list(OAuthApp.__table__.c),
    "account__": [c for c in Actor.__table__.c if c.name not in _KEYS],
    "signup__": [Signup.id, Signup.confirmed_at, Signup.approved_at],
}  # fmt: skip
# :func:`lookup_token`'s query as Core, with the account's sign-up (``registrations.login_refusal``),
# built once (the token's digest bound at execution).
_LOOKUP = (
    select(*(c.label(prefix + c.key) for prefix, columns in _PARTS.items() for c in columns))
    .select_from(OAuthToken.__table__)
    .join(OAuthApp.__table__, OAuthApp.id == OAuthToken.app_id)
    .outerjoin(Actor.__table__, Actor.id == OAuthToken.account_id)
    .outerjoin(Signup.__table__, Signup.actor_id == OAuthToken.account_id)
    .where(OAuthToken.token_hash == bindparam("token_hash"))
)


# Each part's column names, in the order _LOOKUP reads them: a row is cut into the four in that order.
_NAMES = [[c.key for c in columns] for columns in _PARTS.values()]


def lookup_token_of(conn: Connection, bearer: str) -> tuple[Any, Any, Any, str | None]:
    """:func:`lookup_token` on a synchronous connection, in one query with the account's
    ``registrations.login_refusal``: the token, app and account as Core records (the account without
    its keys), and the refusal."""
    row = conn.execute(_LOOKUP, {"token_hash": digest(bearer)}).first()
    if row is None:
        raise UnauthorizedError("The access token is invalid")
    values = iter(row)
    token, app, account, signup = (record(dict(zip(names, values, strict=False))) for names in _NAMES)
    if account.id is None:  # a client_credentials token acts for no account
        account = None
    _require_live(token, account)
    refusal = registrations.refusal_of(signup) if account is not None and signup.id is not None else None
    return token, app, account, refusal


@dataclass(frozen=True)
class Authorization:
    """An app an account let in: the app, the account's live tokens of it, and what they may do."""

    app: OAuthApp
    tokens: list[OAuthToken]

    @property
    def scopes(self) -> list[str]:
        return sorted({s for t in self.tokens for s in t.scopes.split()})

    @property
    def last_used_at(self) -> datetime | None:
        used = [t.last_used_at for t in self.tokens if t.last_used_at is not None]
        return max(used) if used else None

    @property
    def created_at(self) -> datetime:
        return min(t.created_at for t in self.tokens)


async def authorizations(session: AsyncSession, account_id: int) -> list[Authorization]:
    """The apps holding a live token of the account (Mastodon's authorized applications), newest first."""
    rows = await session.execute(
        select(OAuthToken, OAuthApp)
        .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
        .where(
            OAuthToken.account_id == account_id,
            OAuthToken.revoked_at.is_(None),
            or_(OAuthToken.expires_at.is_(None), OAuthToken.expires_at > utcnow()),
        )
        .order_by(OAuthToken.id.desc())
    )
    grouped: dict[int, Authorization] = {}
    for token, app in rows:
        grouped.setdefault(app.id, Authorization(app, [])).tokens.append(token)
    return list(grouped.values())


async def revoke_authorization(
    session: AsyncSession, account_id: int, app_id: int, *, token_id: int | None = None
) -> int:
    """End the account's tokens of an app (or only the token ``token_id`` of it); how many ended."""
    query = update(OAuthToken).where(
        OAuthToken.account_id == account_id, OAuthToken.app_id == app_id, OAuthToken.revoked_at.is_(None)
    )
    if token_id is not None:
        query = query.where(OAuthToken.id == token_id)
    result = await session.execute(
        query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
