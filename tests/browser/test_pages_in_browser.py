"""The public pages and signing in, in a real browser."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import Browsing, no_horizontal_scroll, shoot, sign_in


def test_front_page_and_sign_in_work_in_chromium(desktop: Browsing) -> None:
    page = desktop.open("/")
    assert page.title().endswith("fedigen") or page.locator("header.site .brand").count() == 1
    shoot(page, "front-desktop")
    sign_in(page, "admin")
    assert page.locator('header.site a[href="/@admin"]').count() == 1
    page.click("text=Sign out")
    page.wait_for_url("**/")
    assert page.locator('header.site a[href="/auth/sign_in"]').count() == 1


def test_wrong_password_shows_the_error_on_the_form(desktop: Browsing) -> None:
    desktop.watch.allowed_statuses.add(401)
    page = desktop.open("/auth/sign_in")
    sign_in(page, "admin", "wrong password")
    assert page.locator(".form-error").inner_text() == "Wrong username, email or password."


def test_front_page_fits_a_phone(phone: Browsing) -> None:
    page: Any = phone.open("/")
    shoot(page, "front-phone")
    assert no_horizontal_scroll(page)
