"""Fixtures of the web page tests: a signed-in browser on the instance under test."""

from __future__ import annotations

import re
from typing import Any

import httpx

from fedigen.web.session import CSRF_COOKIE, SESSION_COOKIE

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery staple"


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_INPUT.search(html)
    assert match is not None, "the page has no form with a CSRF token"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Sign ``client`` in through the sign-in form, as a browser does (the cookies stay in its jar)."""
    page = await client.get("/auth/sign_in")
    form = {"csrf_token": csrf_of(page.text), "username": username, "password": password, "next": "/"}
    return await client.post("/auth/sign_in", data=form)


async def browser_of(instance: Any, username: str, *, role: Any = None) -> httpx.AsyncClient:
    """A new cookie jar (a browser of its own) signed in as a new local account ``username``."""
    await instance.create_account(username, password=PASSWORD, **({"role": role} if role else {}))
    client = httpx.AsyncClient(transport=instance.client._transport, base_url=str(instance.client.base_url))
    response = await sign_in(client, username)
    assert response.status_code == 303, response.text
    assert SESSION_COOKIE in client.cookies and CSRF_COOKIE in client.cookies
    return client
