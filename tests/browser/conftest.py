"""A real browser on a real server: Debian's Chromium driven by Playwright for Python.

No browser is downloaded: Playwright is pointed at the system's Chromium (``FEDIGEN_CHROMIUM`` or
``chromium`` on the PATH; CI installs Debian's ``chromium`` package). Without one the tests are skipped
with the reason, except under ``CI=true``, where a missing browser fails them.

Every page a test opens is watched: a console error (a script error, a Content-Security-Policy
violation), a request that fails, or a response of 400 or more that the test did not say it expects
fails the test when it ends. ``shoot(page, name)`` saves a full-page screenshot under
``test-artifacts/screenshots/`` (CI keeps that folder as an artifact).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import FedigenServer

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}
PASSWORD = "correct horse battery staple"


def chromium_path() -> str:
    """The system Chromium, or skip (fail in CI)."""
    path = os.environ.get("FEDIGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs Debian's chromium package for the browser tests")
        pytest.skip("no system Chromium (install Debian's chromium package, or set FEDIGEN_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module. Not per session: Playwright's sync API runs an event loop
    in this thread while it is open, which the asyncio tests of other modules could not start beside."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    executable = chromium_path()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Watch:
    """What went wrong on the pages of one browser context."""

    problems: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=set)

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        expected = (f"the server responded with a status of {status} " for status in self.allowed_statuses)
        if any(text in message.text for text in expected):  # Chromium's echo of an allowed status
            return
        self.problems.append(f"console error: {message.text}")

    def _failed(self, request: Any) -> None:
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # a navigation that replaced a pending request (not a fault)
            return
        self.problems.append(f"request failed: {request.method} {request.url} {failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.status not in self.allowed_statuses:
            self.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    def check(self) -> None:
        assert not self.problems, "the browser saw problems:\n" + "\n".join(self.problems)


@dataclass
class Browsing:
    """A browser context on the server: ``open(path)`` gives a watched page."""

    context: Any
    base_url: str
    watch: Watch

    def open(self, path: str = "/") -> Any:
        page = self.context.new_page()
        self.watch.attach(page)
        page.goto(self.base_url + path)
        return page


def _browsing(browser: Any, base_url: str, viewport: dict[str, int]) -> Iterator[Browsing]:
    context = browser.new_context(viewport=viewport, base_url=base_url)
    watch = Watch()
    try:
        yield Browsing(context, base_url, watch)
        watch.check()
    finally:
        context.close()


@pytest.fixture
def desktop(browser: Any, web_server: FedigenServer) -> Iterator[Browsing]:
    """A fresh desktop-sized browser context (no cookies) on the web server."""
    yield from _browsing(browser, web_server.base_url, DESKTOP)


@pytest.fixture
def phone(browser: Any, web_server: FedigenServer) -> Iterator[Browsing]:
    """A fresh 360 px wide browser context on the web server."""
    yield from _browsing(browser, web_server.base_url, PHONE)


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    """A real `fedigen serve` (SQLite, the procedural generator) with an owner account, ``admin``."""
    directory = tmp_path_factory.mktemp("web")
    with FedigenServer(directory) as server:
        server.cli("account", "create", "admin", "--role", "owner", "--password-stdin", stdin=PASSWORD)
        yield server


def shoot(page: Any, name: str) -> Path:
    """A full-page screenshot saved as test-artifacts/screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_horizontal_scroll(page: Any) -> bool:
    """True when nothing on the page is wider than the viewport (a 360 px phone shows it all)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def sign_in(page: Any, username: str, password: str = PASSWORD, then: str = "/") -> None:
    """Sign in through the sign-in form and wait for the page it goes on to (``then``)."""
    page.goto(f"/auth/sign_in?next={then}")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
