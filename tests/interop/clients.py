"""Helpers for driving real Mastodon API clients against a `fedigen serve` on loopback.

The browser half of the OAuth authorization-code flow is done here with httpx, as a person would do it
in a browser: open the authorization page, keep the cookie it sets, submit its form (the hidden fields
as served, plus username and password), and read the code from the out-of-band page.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx
from PIL import Image

OOB = "urn:ietf:wg:oauth:2.0:oob"
T = TypeVar("T")


class _AuthorizePage(HTMLParser):
    """The first form of a page (its action and inputs) and the text of ``<code class="oauth-code">``."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.code: str | None = None
        self._in_form = False
        self._forms = 0
        self._in_code = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._forms += 1
            self._in_form = self._forms == 1
            if self._in_form:
                self.action = attr.get("action", "")
        elif tag == "input" and self._in_form and attr.get("type") == "hidden" and "name" in attr:
            self.fields[attr["name"]] = attr.get("value", "")
        elif tag == "code" and "oauth-code" in attr.get("class", "").split():
            self._in_code = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "code":
            self._in_code = False

    def handle_data(self, data: str) -> None:
        if self._in_code and data.strip():
            self.code = (self.code or "") + data.strip()


def authorize_out_of_band(auth_url: str, username: str, password: str, *, timeout: float = 15.0) -> str:
    """Log in on the authorization page at ``auth_url`` and return the code the out-of-band page shows."""
    parts = urlsplit(auth_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as browser:
        page = browser.get(auth_url)
        assert page.status_code == 200, (page.status_code, page.text[:2000])
        assert page.headers["content-type"].startswith("text/html")
        form = _AuthorizePage()
        form.feed(page.text)
        assert form.action is not None, f"no form on the authorization page: {page.text[:2000]}"
        assert "csrf" in form.fields and browser.cookies, "the page must set its double-submit cookie"
        data = {**form.fields, "username": username, "password": password, "decision": "allow"}
        # A browser sends Origin with a form POST; the cookie jar sends the page's cookie back.
        done = browser.post(urljoin(str(page.url), form.action), data=data, headers={"Origin": origin})
        assert done.status_code == 200, (done.status_code, done.headers, done.text[:2000])
        shown = _AuthorizePage()
        shown.feed(done.text)
        assert shown.code, f"no authorization code on the out-of-band page: {done.text[:2000]}"
        return shown.code


def password_token(base_url: str, username: str, password: str, scopes: str = "read write") -> str:
    """A user token through a freshly registered app and the password grant."""
    with httpx.Client(base_url=base_url, timeout=15, trust_env=False) as http:
        app = http.post("/api/v1/apps", data={"client_name": "interop helper", "redirect_uris": OOB,
                                              "scopes": scopes})  # fmt: skip
        app.raise_for_status()
        client = app.json()
        grant = {"grant_type": "password", "username": username, "password": password, "scope": scopes,
                 "client_id": client["client_id"], "client_secret": client["client_secret"]}  # fmt: skip
        issued = http.post("/oauth/token", data=grant)
        assert issued.status_code == 200, issued.text
        return str(issued.json()["access_token"])


def png_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 40)) -> bytes:
    """A small PNG made with Pillow: a coloured rectangle with a stripe (so blurhash has detail)."""
    image = Image.new("RGB", size, color)
    for x in range(size[0] // 3):
        for y in range(size[1]):
            image.putpixel((x, y), (20, 40, 220))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def poll(fetch: Callable[[], T], done: Callable[[T], Any], *, timeout: float, what: str,
         interval: float = 0.25) -> T:  # fmt: skip
    """Call ``fetch`` until ``done`` holds for its result; return that result (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        time.sleep(interval)
