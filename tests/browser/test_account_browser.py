"""Sign-up, settings and moderation in a real browser: sign up on an open instance, be confirmed by the
operator's CLI, sign in, edit the profile with an avatar upload; the owner resolves a report filed
through the client API; every settings and admin page at desktop width and at 360 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PASSWORD, Browsing, no_horizontal_scroll, shoot, sign_in
from tests.generation.standins import png
from tests.support.server import FedigenServer

SETTINGS_PAGES = (
    "/settings/profile",
    "/settings/preferences",
    "/settings/password",
    "/oauth/authorized_applications",
    "/filters",
    "/filters/new",
    "/settings/mutes",
    "/settings/blocks",
    "/settings/domain_blocks",
    "/settings/export",
    "/settings/delete",
)
ADMIN_PAGES = (
    "/admin/reports",
    "/admin/accounts",
    "/admin/pending_accounts",
    "/admin/domain_blocks",
    "/admin/invites",
    "/admin/rules",
    "/admin/settings",
    "/admin/action_logs",
)
NEWBIE_PASSWORD = "newbie's long password"


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    """A real `fedigen serve` with open sign-ups and rules, no mail (the operator confirms), and ``admin``
    (the owner) and ``troll`` (whose post gets reported)."""
    server = FedigenServer(tmp_path_factory.mktemp("web-accounts"))
    server.cli("init", "--url", server.base_url)
    config = server.config.read_text()
    rules = '\nregistrations = "open"\nrules = ["Be kind.", "Label what you did not make."]\n'
    server.config.write_text(config.replace("[instance]\n", "[instance]" + rules, 1))
    with server:
        server.cli("account", "create", "admin", "--role", "owner", "--password-stdin", stdin=PASSWORD)
        server.cli("account", "create", "troll", "--password-stdin", stdin=PASSWORD)
        yield server


def _token(server: FedigenServer, username: str, password: str) -> str:
    """An access token from the password grant, as a client app would get one."""
    app = httpx.post(
        f"{server.base_url}/api/v1/apps",
        data={
            "client_name": "test app",
            "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
            "scopes": "read write",
        },
    ).json()
    token = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": username,
            "password": password,
            "scope": "read write",
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def _report_a_post(server: FedigenServer) -> None:
    """troll posts; newbie reports the post through the client API."""
    troll = {"Authorization": f"Bearer {_token(server, 'troll', PASSWORD)}"}
    status = httpx.post(f"{server.base_url}/api/v1/statuses", headers=troll, data={"status": "you all stink"})
    assert status.status_code == 200, status.text
    newbie = {"Authorization": f"Bearer {_token(server, 'newbie', NEWBIE_PASSWORD)}"}
    account_id = status.json()["account"]["id"]
    report = httpx.post(
        f"{server.base_url}/api/v1/reports",
        headers=newbie,
        data={"account_id": account_id, "status_ids[]": status.json()["id"], "comment": "Rude to everyone"},
    )
    assert report.status_code == 200, report.text


def _shot_name(path: str) -> str:
    """/settings/profile -> account-settings-profile; /admin/reports -> admin-reports."""
    if path.startswith("/admin/"):
        return "admin-" + path.removeprefix("/admin/").replace("/", "-")
    return "account" + path.replace("/", "-")


def test_sign_up_confirm_sign_in_edit_profile_and_a_report_resolved(
    desktop: Browsing, web_server: FedigenServer, tmp_path: Path
) -> None:
    page: Any = desktop.open("/auth/sign_up")
    assert page.locator(".rules li").count() == 2
    shoot(page, "account-sign-up-desktop")
    page.fill("#username", "newbie")
    page.fill("#email", "newbie@mail.test")
    page.fill("#password", NEWBIE_PASSWORD)
    page.fill("#password_confirmation", NEWBIE_PASSWORD)
    page.check("#agreement")
    with page.expect_navigation():
        page.click("form[action='/auth/sign_up'] button[type=submit]")
    assert "Welcome, @newbie" in page.locator("main").inner_text()
    shoot(page, "account-signed-up-desktop")

    # No mail on this server: the operator confirms the address, then newbie can sign in.
    assert "confirmed" in web_server.cli("account", "confirm", "newbie").stdout
    sign_in(page, "newbie", NEWBIE_PASSWORD, then="/settings/profile")
    avatar = tmp_path / "avatar.png"
    avatar.write_bytes(png(128, 128, (30, 120, 200)))
    page.fill("#display_name", "New Bie")
    page.fill("#note", "I make #seascapes")
    page.set_input_files("#avatar", str(avatar))
    with page.expect_navigation():
        page.click("form[action='/settings/profile'] button[type=submit]")
    assert page.locator(".notice").inner_text() == "Your profile is saved."
    src = page.locator("img.avatar-preview").get_attribute("src")
    assert src is not None and "/media/" in src
    assert page.evaluate("document.querySelector('img.avatar-preview').naturalWidth") > 0
    for path in SETTINGS_PAGES:
        page.goto(path)
        assert page.locator("main h1").count() == 1, path
        shoot(page, _shot_name(path) + "-desktop")

    _report_a_post(web_server)
    desktop.context.clear_cookies()  # the owner signs in on this browser now
    admin = page
    sign_in(admin, "admin", PASSWORD, then="/admin/reports")
    admin.click("text=Report #")
    assert "Rude to everyone" in admin.locator("main").inner_text()
    assert "you all stink" in admin.locator(".status.reported").inner_text()
    shoot(admin, "admin-report-desktop")
    admin.check("#action-silence")
    admin.fill("#action-text", "Please be kind.")
    with admin.expect_navigation():
        admin.click("form[action$='/action'] button[type=submit]")
    assert admin.locator(".notice").inner_text() == "The report is updated."
    assert "Resolved" in admin.locator("dl.facts").inner_text()
    for path in ADMIN_PAGES:
        admin.goto(path)
        assert admin.locator("main h1").count() == 1, path
        shoot(admin, _shot_name(path) + "-desktop")
    assert "silence account" in admin.locator("main").inner_text()


def test_settings_and_admin_pages_fit_a_phone(phone: Browsing, web_server: FedigenServer) -> None:
    page: Any = phone.open("/auth/sign_up")
    assert no_horizontal_scroll(page)
    shoot(page, "account-sign-up-phone")
    sign_in(page, "admin", PASSWORD, then="/settings/profile")
    for path in (*SETTINGS_PAGES, *ADMIN_PAGES):
        page.goto(path)
        assert no_horizontal_scroll(page), path
        shoot(page, _shot_name(path) + "-phone")
    page.goto("/admin/reports?resolved=1")
    if page.locator("text=Report #").count():  # the desktop test resolved one
        page.click("text=Report #")
        assert no_horizontal_scroll(page)
        shoot(page, "admin-report-phone")
