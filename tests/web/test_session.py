"""Signing in and out of the web pages, CSRF on forms, and the styled error pages."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from fedigen.web.session import SESSION_COOKIE, WEB_CLIENT_ID, safe_next
from storage.clients import OAuthApp, OAuthToken
from tests.web.conftest import PASSWORD, browser_of, csrf_of, sign_in


async def _live_web_tokens(instance: Any) -> int:
    async with instance.services.reads() as session:
        query = (
            select(func.count())
            .select_from(OAuthToken)
            .join(OAuthApp, OAuthApp.id == OAuthToken.app_id)
            .where(OAuthApp.client_id == WEB_CLIENT_ID, OAuthToken.revoked_at.is_(None))
        )
        return int(await session.scalar(query) or 0)


async def test_sign_in_shows_the_account_and_sign_out_ends_the_session(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    page = await browser.get("/")
    assert 'href="/@alice"' in page.text and "Sign out" in page.text
    assert await _live_web_tokens(instance) == 1
    stolen = browser.cookies[SESSION_COOKIE]

    response = await browser.post("/auth/sign_out", data={"csrf_token": csrf_of(page.text)})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert await _live_web_tokens(instance) == 0
    # The old cookie, replayed, names nobody any more.
    replay = httpx.AsyncClient(transport=instance.client._transport, base_url=str(instance.client.base_url))
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert "Sign out" not in (await replay.get("/")).text


async def test_wrong_password_is_refused_and_starts_nothing(instance: Any) -> None:
    await instance.create_account("alice", password=PASSWORD)
    response = await sign_in(instance.client, "alice", "not the password")
    assert response.status_code == 401
    assert "Wrong username, email or password." in response.text
    assert SESSION_COOKIE not in instance.client.cookies
    assert await _live_web_tokens(instance) == 0


async def test_a_form_without_its_csrf_token_is_refused(instance: Any) -> None:
    await instance.create_account("alice", password=PASSWORD)
    await instance.client.get("/auth/sign_in")  # the browser has its CSRF cookie
    form = {"username": "alice", "password": PASSWORD}
    for token in (None, "forged"):
        data = form if token is None else {**form, "csrf_token": token}
        response = await instance.client.post("/auth/sign_in", data=data)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
    assert await _live_web_tokens(instance) == 0


async def test_signed_in_tokens_change_with_the_session(instance: Any) -> None:
    await instance.create_account("alice", password=PASSWORD)
    before = csrf_of((await instance.client.get("/auth/sign_in")).text)
    await sign_in(instance.client, "alice")
    after = csrf_of((await instance.client.get("/")).text)
    assert before != after  # a token seen before signing in is not valid after


async def test_unknown_pages_get_the_styled_404_and_the_api_gets_json(instance: Any) -> None:
    page = await instance.client.get("/settings/nothing-here", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "404" in page.text and '<link rel="stylesheet" href="/static/style.css">' in page.text
    api = await instance.client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.json() == {"error": "Not Found"}


def test_next_stays_on_this_site() -> None:
    assert safe_next("/@alice/1") == "/@alice/1"
    for outside in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "", None, "javascript:x"):
        assert safe_next(outside) == "/home"
