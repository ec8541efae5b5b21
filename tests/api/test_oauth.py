"""OAuth 2 as Mastodon apps use it: registration, the consent page with PKCE, the token grants,
revocation, scopes, hashed storage, rate limits and the RFC 8414 document."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import re
import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api.auth import authenticate, optional_auth, scope_allows
from storage.clients import OAuthApp, OAuthCode, OAuthToken
from storage.models import Base, utcnow
from tests.conftest import HostRouter, Instance, make_settings, start_instance

REDIRECT = "https://app.example/callback"
OOB = "urn:ietf:wg:oauth:2.0:oob"
BASE = "http://fedigen.test"
PASSWORD = "correct horse battery"
HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


async def _whoami(request: Request) -> Response:
    """A stand-in API endpoint: authenticate with ?scope= and ?user=no from the query."""
    scope = request.query_params.get("scope")
    auth = await authenticate(request, scope, user=request.query_params.get("user") != "no")
    name = auth.account.username if auth.account else None
    return JSONResponse({"account": name, "scopes": sorted(auth.scopes)})


async def _maybe(request: Request) -> Response:
    auth = await optional_auth(request)
    return JSONResponse({"account": auth.account.username if auth and auth.account else None})


@pytest.fixture
async def api(instance: Instance) -> AsyncIterator[Instance]:
    """The instance with an account "alice" and two test-only endpoints that call authenticate()."""
    instance.app.router.routes.append(Route("/api/test/whoami", _whoami))
    instance.app.router.routes.append(Route("/api/test/maybe", _maybe))
    await instance.create_account("alice", password=PASSWORD)
    yield instance


async def register(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"client_name": "Test app", "redirect_uris": f"{REDIRECT}\n{OOB}", "scopes": "read write"}
    response = await client.post("/api/v1/apps", data={**body, **fields})
    assert response.status_code == 200, response.text
    app: dict[str, Any] = response.json()
    return app


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def consent(
    client: httpx.AsyncClient,
    app: dict[str, Any],
    *,
    redirect_uri: str = REDIRECT,
    scope: str = "read write",
    password: str = PASSWORD,
    decision: str = "allow",
    **extra: str,
) -> httpx.Response:
    """Open the consent page as a browser would, fill in the form and submit it."""
    query = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "scope": scope,
        **extra,
    }
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    assert "Authorize" in page.text and app["name"] in page.text
    form = {name: html.unescape(value) for name, value in HIDDEN_RE.findall(page.text)}
    form.update(username="alice", password=password, decision=decision)
    return await client.post("/oauth/authorize", data=form)


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def exchange(
    client: httpx.AsyncClient, app: dict[str, Any], code: str, **fields: str
) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "code": code,
        "redirect_uri": REDIRECT,
        **fields,
    }
    return await client.post("/oauth/token", data=data)


async def password_token(client: httpx.AsyncClient, app: dict[str, Any], scope: str = "read write") -> str:
    data = {
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": "alice",
        "password": PASSWORD,
        "scope": scope,
    }
    response = await client.post("/oauth/token", data=data)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count(instance: Instance, model: type[Base]) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def counts(instance: Instance) -> tuple[int, int, int]:
    return (
        await count(instance, OAuthApp),
        await count(instance, OAuthCode),
        await count(instance, OAuthToken),
    )


# ---- registration ----


async def test_app_registration_has_the_mastodon_shape(instance: Instance) -> None:
    response = await instance.client.post(
        "/api/v1/apps",
        json={
            "client_name": "Tusky",
            "redirect_uris": [REDIRECT, OOB],
            "scopes": "read write follow push",
            "website": "https://tusky.example",
        },
    )
    assert response.status_code == 200
    app = response.json()
    assert set(app) == {
        "id",
        "name",
        "website",
        "scopes",
        "redirect_uri",
        "redirect_uris",
        "client_id",
        "client_secret",
        "client_secret_expires_at",
        "vapid_key",
    }
    assert app["name"] == "Tusky" and app["website"] == "https://tusky.example"
    assert app["scopes"] == ["read", "write", "follow", "push"]
    assert app["redirect_uris"] == [REDIRECT, OOB] and app["redirect_uri"] == f"{REDIRECT}\n{OOB}"
    assert app["client_secret_expires_at"] == 0 and isinstance(app["id"], str)
    assert len(app["client_id"]) >= 32 and len(app["client_secret"]) >= 32

    # Form-encoded, newline-separated URIs and the default scope; multipart works too.
    form = await instance.client.post("/api/v1/apps", data={"client_name": "toot", "redirect_uris": OOB})
    assert form.json()["scopes"] == ["read"] and form.json()["website"] is None
    multipart = await instance.client.post(
        "/api/v1/apps", files={"client_name": (None, "x"), "redirect_uris": (None, REDIRECT)}
    )
    assert multipart.status_code == 200 and multipart.json()["redirect_uris"] == [REDIRECT]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"redirect_uris": REDIRECT}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "/relative"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "https://a.example/cb#frag"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": REDIRECT, "scopes": "read admin:everything"}, "scopes"),
        ({"client_name": "x", "redirect_uris": REDIRECT, "website": "ftp://x"}, "website"),
        ({"client_name": "x" * 61, "redirect_uris": REDIRECT}, "client_name"),
        ({"client_name": {"a": "b"}, "redirect_uris": REDIRECT}, "client_name"),
    ],
)
async def test_bad_registrations_are_422_naming_the_field(
    instance: Instance, fields: dict[str, Any], field: str
) -> None:
    response = await instance.client.post("/api/v1/apps", json=fields)
    assert response.status_code == 422
    assert field in response.json()["error"]
    assert await counts(instance) == (0, 0, 0)


# ---- the authorization code flow ----


async def test_authorization_code_flow_with_pkce(api: Instance) -> None:
    app = await register(api.client)
    verifier, challenge = pkce()
    submitted = await consent(
        api.client, app, state="xyz 1", code_challenge=challenge, code_challenge_method="S256"
    )
    location = urlsplit(submitted.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    assert parse_qs(location.query)["state"] == ["xyz 1"]
    assert submitted.headers["cache-control"] == "no-store"

    response = await exchange(api.client, app, code_of(submitted), code_verifier=verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "scope", "created_at"}
    assert body["token_type"] == "Bearer" and body["scope"] == "read write"
    assert abs(body["created_at"] - utcnow().timestamp()) < 60
    assert response.headers["cache-control"] == "no-store"

    token = body["access_token"]
    verified = await api.client.get("/api/v1/apps/verify_credentials", headers=bearer(token))
    assert verified.status_code == 200
    assert set(verified.json()) == {
        "id",
        "name",
        "website",
        "scopes",
        "redirect_uri",
        "redirect_uris",
        "vapid_key",
    }
    assert verified.json()["name"] == "Test app"
    me = await api.client.get("/api/test/whoami", params={"scope": "read:statuses"}, headers=bearer(token))
    assert me.json() == {"account": "alice", "scopes": ["read", "write"]}
    # Mastodon also takes the token as a query parameter (the streaming API does).
    assert (await api.client.get("/api/test/whoami", params={"access_token": token})).status_code == 200


async def test_the_consent_page_shows_the_app_and_its_scopes_and_runs_no_script(api: Instance) -> None:
    app = await register(api.client, website="https://app.example")
    page = await api.client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": REDIRECT,
            "scope": "read write",
        },
    )
    assert "Test app" in page.text and "read" in page.text and "write" in page.text
    assert 'type="password"' in page.text and "<script" not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "form-action 'self' https://app.example" in csp and "frame-ancestors 'none'" in csp
    assert "httponly" in page.headers["set-cookie"].lower()


async def test_out_of_band_shows_the_code_on_a_page(api: Instance) -> None:
    app = await register(api.client)
    page = await consent(api.client, app, redirect_uri=OOB)
    assert page.status_code == 200
    match = re.search(r'<code class="oauth-code">([^<]+)</code>', page.text)
    assert match is not None
    response = await exchange(api.client, app, match.group(1), redirect_uri=OOB)
    assert response.status_code == 200 and response.json()["scope"] == "read write"


async def test_deny_redirects_with_access_denied_and_issues_nothing(api: Instance) -> None:
    app = await register(api.client)
    denied = await consent(api.client, app, decision="deny", state="s")
    query = parse_qs(urlsplit(denied.headers["location"]).query)
    assert query == {"error": ["access_denied"], "state": ["s"]}
    assert await counts(api) == (1, 0, 0)


async def test_response_mode_fragment_puts_the_code_in_the_fragment(api: Instance) -> None:
    app = await register(api.client)
    submitted = await consent(api.client, app, response_mode="fragment", state="s")
    location = urlsplit(submitted.headers["location"])
    assert location.query == "" and parse_qs(location.fragment)["state"] == ["s"]
    response = await exchange(api.client, app, parse_qs(location.fragment)["code"][0])
    assert response.status_code == 200


async def test_a_wrong_password_shows_the_form_again(api: Instance) -> None:
    app = await register(api.client)
    again = await consent(api.client, app, password="wrong password")
    assert again.status_code == 200 and "Wrong username or password" in again.text
    assert 'name="client_id"' in again.text
    assert await counts(api) == (1, 0, 0)


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "nope"},
        {"redirect_uri": "https://evil.example/cb"},
        {"scope": "read follow"},
        {"scope": "admin:read"},
        {"response_type": "token"},
        {"code_challenge": "x" * 43, "code_challenge_method": "plain"},
        {"code_challenge": "x" * 43},
    ],
)
async def test_bad_authorization_requests_get_an_error_page_not_a_redirect(
    api: Instance, change: dict[str, str]
) -> None:
    app = await register(api.client)
    query = {"response_type": "code", "client_id": app["client_id"], "redirect_uri": REDIRECT, **change}
    page = await api.client.get("/oauth/authorize", params=query)
    assert page.status_code == 400
    assert "text/html" in page.headers["content-type"] and "location" not in page.headers
    form = {**query, "username": "alice", "password": PASSWORD, "csrf": "x"}
    api.client.cookies.set("fedigen_authorize", "x", domain="fedigen.test")
    posted = await api.client.post("/oauth/authorize", data=form)
    assert posted.status_code == 400 and "location" not in posted.headers
    assert await counts(api) == (1, 0, 0)


async def test_a_cross_site_post_of_the_form_is_refused(api: Instance) -> None:
    app = await register(api.client)
    form = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": REDIRECT,
        "scope": "read",
        "username": "alice",
        "password": PASSWORD,
    }
    no_cookie = await api.client.post("/oauth/authorize", data={**form, "csrf": "guess"})
    assert no_cookie.status_code == 400 and "location" not in no_cookie.headers
    page = await api.client.get("/oauth/authorize", params={k: form[k] for k in list(form)[:4]})
    fields = dict(HIDDEN_RE.findall(page.text))
    other_origin = await api.client.post(
        "/oauth/authorize", data={**form, **fields}, headers={"Origin": "https://evil.example"}
    )
    assert other_origin.status_code == 400
    assert await counts(api) == (1, 0, 0)
    same_site = await api.client.post("/oauth/authorize", data={**form, **fields}, headers={"Origin": BASE})
    assert same_site.status_code == 302


async def test_code_exchange_refusals_follow_rfc_6749(api: Instance) -> None:
    app = await register(api.client)
    verifier, challenge = pkce()
    code = code_of(await consent(api.client, app, code_challenge=challenge, code_challenge_method="S256"))

    async def refused(status: int, error: str, **fields: str) -> None:
        response = await exchange(api.client, app, fields.pop("code", code), **fields)
        assert response.status_code == status, response.text
        assert response.json()["error"] == error and response.json()["error_description"]

    await refused(400, "invalid_grant", code_verifier=pkce()[0])
    await refused(400, "invalid_request")  # the challenge needs its verifier
    await refused(400, "invalid_grant", code_verifier=verifier, redirect_uri="https://other.example/cb")
    await refused(401, "invalid_client", code_verifier=verifier, client_secret="wrong")
    await refused(400, "invalid_grant", code_verifier=verifier, code="not-a-code")
    other = await register(api.client)
    response = await exchange(api.client, other, code, code_verifier=verifier)
    assert response.json()["error"] == "invalid_grant"
    assert await count(api, OAuthToken) == 0

    assert (await exchange(api.client, app, code, code_verifier=verifier)).status_code == 200
    await refused(400, "invalid_grant", code_verifier=verifier)  # used once already
    assert await count(api, OAuthToken) == 1


async def test_an_expired_code_is_refused(api: Instance) -> None:
    app = await register(api.client)
    code = code_of(await consent(api.client, app))
    async with api.services.sessions() as session, session.begin():
        await session.execute(update(OAuthCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = await exchange(api.client, app, code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert await count(api, OAuthToken) == 0


async def test_token_endpoint_refuses_unknown_grants_and_scopes(api: Instance) -> None:
    app = await register(api.client)
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    implicit = await api.client.post("/oauth/token", data={**creds, "grant_type": "implicit"})
    assert implicit.status_code == 400 and implicit.json()["error"] == "unsupported_grant_type"
    scope = await api.client.post(
        "/oauth/token", data={**creds, "grant_type": "client_credentials", "scope": "push"}
    )
    assert scope.status_code == 400 and scope.json()["error"] == "invalid_scope"
    unknown = await api.client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"}
    )
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    assert "www-authenticate" in unknown.headers
    assert await count(api, OAuthToken) == 0


# ---- password and client_credentials grants ----


async def test_password_grant_for_local_accounts(api: Instance) -> None:
    app = await register(api.client)
    token = await password_token(api.client, app, scope="read")
    me = await api.client.get("/api/test/whoami", headers=bearer(token))
    assert me.json() == {"account": "alice", "scopes": ["read"]}
    # Client authentication by HTTP Basic instead of form fields.
    basic = httpx.BasicAuth(app["client_id"], app["client_secret"])
    response = await api.client.post(
        "/oauth/token",
        auth=basic,
        data={"grant_type": "password", "username": "@alice", "password": PASSWORD},
    )
    assert response.status_code == 200 and response.json()["scope"] == "read"
    wrong = await api.client.post(
        "/oauth/token", auth=basic, data={"grant_type": "password", "username": "alice", "password": "nope"}
    )
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    remote = await api.client.post(
        "/oauth/token",
        auth=basic,
        data={"grant_type": "password", "username": "alice@elsewhere.example", "password": PASSWORD},
    )
    assert remote.json()["error"] == "invalid_grant"
    assert await count(api, OAuthToken) == 2


async def test_a_client_credentials_token_cannot_act_as_a_user(api: Instance) -> None:
    app = await register(api.client)
    response = await api.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
        },
    )
    assert response.status_code == 200 and response.json()["scope"] == "read"
    token = response.json()["access_token"]
    as_user = await api.client.get("/api/test/whoami", headers=bearer(token))
    assert as_user.status_code == 401
    assert as_user.json() == {"error": "This method requires an authenticated user"}
    assert (await api.client.get("/api/v1/apps/verify_credentials", headers=bearer(token))).status_code == 200
    as_app = await api.client.get("/api/test/whoami", params={"user": "no"}, headers=bearer(token))
    assert as_app.json() == {"account": None, "scopes": ["read"]}


# ---- using tokens ----


async def test_missing_unknown_revoked_and_expired_tokens_are_401(api: Instance) -> None:
    app = await register(api.client)
    token = await password_token(api.client, app)
    assert (await api.client.get("/api/test/whoami", headers=bearer(token))).status_code == 200
    missing = await api.client.get("/api/test/whoami")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    unknown = await api.client.get("/api/test/whoami", headers=bearer("made-up"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "The access token is invalid"
    # optional_auth: anonymous is fine, a bad token is still 401 (as on Mastodon).
    assert (await api.client.get("/api/test/maybe")).json() == {"account": None}
    assert (await api.client.get("/api/test/maybe", headers=bearer("made-up"))).status_code == 401

    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
    revoked = await api.client.post("/oauth/revoke", data={**creds, "token": token})
    assert revoked.status_code == 200 and revoked.json() == {}
    after = await api.client.get("/api/test/whoami", headers=bearer(token))
    assert after.status_code == 401 and after.headers["www-authenticate"].startswith("Bearer ")
    assert after.json()["error"] == "The access token was revoked"
    again = await api.client.post("/oauth/revoke", data={**creds, "token": token})
    assert again.status_code == 200  # RFC 7009: revoking twice, or an unknown token, is fine

    expiring = await password_token(api.client, app)
    async with api.services.sessions() as session, session.begin():
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.revoked_at.is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = await api.client.get("/api/test/whoami", headers=bearer(expiring))
    assert expired.status_code == 401 and expired.json()["error"] == "The access token expired"


async def test_revocation_needs_the_owning_client(api: Instance) -> None:
    app, other = await register(api.client), await register(api.client)
    token = await password_token(api.client, app)
    wrong_secret = await api.client.post(
        "/oauth/revoke", data={"client_id": app["client_id"], "client_secret": "x", "token": token}
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    not_yours = await api.client.post(
        "/oauth/revoke",
        data={"client_id": other["client_id"], "client_secret": other["client_secret"], "token": token},
    )
    assert not_yours.status_code == 403 and not_yours.json()["error"] == "unauthorized_client"
    assert (await api.client.get("/api/test/whoami", headers=bearer(token))).status_code == 200


async def test_insufficient_scope_is_403(api: Instance) -> None:
    app = await register(api.client)
    token = await password_token(api.client, app, scope="read")
    allowed = await api.client.get(
        "/api/test/whoami", params={"scope": "read:statuses"}, headers=bearer(token)
    )
    assert allowed.status_code == 200
    refused = await api.client.get(
        "/api/test/whoami", params={"scope": "write:statuses"}, headers=bearer(token)
    )
    assert refused.status_code == 403
    assert "outside the authorized scopes" in refused.json()["error"]
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("granted", "needed", "allowed"),
    [
        ({"read"}, "read:statuses", True),
        ({"read:statuses"}, "read:statuses", True),
        ({"read:statuses"}, "read:accounts", False),
        ({"read:statuses"}, "read", False),
        ({"write"}, "write:media", True),
        ({"write"}, "read:statuses", False),
        ({"read"}, "write:media", False),
        ({"follow"}, "write:follows", True),
        ({"follow"}, "read:mutes", True),
        ({"follow"}, "read:statuses", False),
        ({"profile"}, "profile", True),
        ({"read"}, "profile", True),
        ({"read:accounts"}, "profile", True),
        ({"profile"}, "read:accounts", False),
        ({"write"}, "profile", False),
        ({"push"}, "push", True),
        ({"read", "write"}, "push", False),
    ],
)
def test_scope_allows(granted: set[str], needed: str, allowed: bool) -> None:
    assert scope_allows(granted, needed) is allowed


async def test_last_used_at_is_written_at_most_once_a_minute(api: Instance) -> None:
    app = await register(api.client)
    token = await password_token(api.client, app)

    async def last_used() -> datetime | None:
        if api.services.pending:  # the request does not wait for this bookkeeping write; the test does
            await asyncio.wait(list(api.services.pending))
        async with api.services.sessions() as session:
            return await session.scalar(select(OAuthToken.last_used_at))

    await api.client.get("/api/test/whoami", headers=bearer(token))
    first = await last_used()
    assert first is not None
    await api.client.get("/api/test/whoami", headers=bearer(token))
    assert await last_used() == first


async def test_secrets_are_stored_only_as_hashes(api: Instance) -> None:
    app = await register(api.client)
    verifier, challenge = pkce()
    code = code_of(await consent(api.client, app, code_challenge=challenge, code_challenge_method="S256"))
    token = (await exchange(api.client, app, code, code_verifier=verifier)).json()["access_token"]
    password = await password_token(api.client, app)
    dump = []
    async with api.services.sessions() as session:
        for table in Base.metadata.sorted_tables:
            dump.extend(repr(tuple(row)) for row in await session.execute(select(table)))
    everything = "\n".join(dump)
    for raw in (app["client_secret"], code, token, password, verifier):
        assert raw not in everything
    assert hashlib.sha256(token.encode()).hexdigest() in everything


# ---- rate limits and metadata ----


async def test_rate_limit_headers_and_429(tmp_path: Path, backend: str, router: HostRouter) -> None:
    limits = {"rate_limit_per_5min": 3, "anonymous_rate_limit_per_5min": 2, "sign_in_rate_limit_per_5min": 2}
    async with start_instance(make_settings(tmp_path, backend, api=limits), router) as inst:
        client = inst.client
        first = await client.get("/api/v1/apps/verify_credentials")
        assert first.status_code == 401
        assert first.headers["x-ratelimit-limit"] == "2" and first.headers["x-ratelimit-remaining"] == "1"
        reset = datetime.fromisoformat(first.headers["x-ratelimit-reset"])
        assert timedelta(0) < reset - utcnow() <= timedelta(minutes=5)
        await client.get("/api/v1/apps/verify_credentials")
        limited = await client.get("/api/v1/apps/verify_credentials")
        assert limited.status_code == 429 and limited.json() == {"error": "Too many requests"}
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(limited.headers["retry-after"]) <= 300
        # Pages outside /api/ and /oauth/ are not counted.
        assert "x-ratelimit-limit" not in (await client.get("/about")).headers

        # App registration has its own, stricter bucket; a refused request stores nothing.
        for _ in range(2):
            assert (
                await client.post("/api/v1/apps", data={"client_name": "a", "redirect_uris": OOB})
            ).is_success
        refused = await client.post("/api/v1/apps", data={"client_name": "a", "redirect_uris": OOB})
        assert refused.status_code == 429 and await count(inst, OAuthApp) == 2

        # A token has a bucket of its own, unaffected by the address's.
        headers = bearer("some-token")
        statuses = [(await client.get("/api/v1/apps/verify_credentials", headers=headers)) for _ in range(4)]
        assert [r.status_code for r in statuses] == [401, 401, 401, 429]
        assert statuses[0].headers["x-ratelimit-limit"] == "3"


async def test_rfc_8414_metadata_as_mastodon_serves_it(instance: Instance) -> None:
    response = await instance.client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    doc = response.json()
    base = instance.settings.base_url
    assert doc["issuer"] == f"{base}/"
    assert doc["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth/token"
    assert doc["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert doc["app_registration_endpoint"] == f"{base}/api/v1/apps"
    assert doc["service_documentation"] == "https://docs.joinmastodon.org/"
    assert {"read", "write", "follow", "push", "profile", "read:statuses", "write:media"} <= set(
        doc["scopes_supported"]
    )
    assert doc["response_types_supported"] == ["code"]
    assert "query" in doc["response_modes_supported"]
    assert doc["grant_types_supported"] == ["authorization_code", "password", "client_credentials"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
