"""Sign-up, the mailed links, password resets and the settings pages, in-process: every form stores what
it should, re-shows itself with the error and stores nothing on bad input, and refuses (403) a post
without its CSRF token."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from fedigen.api import grants
from fedigen.social import blocks, generations
from fedigen.social.accounts import get_local, verify_password
from fedigen.social.roles import Role
from fedigen.web.session import CSRF_COOKIE, SESSION_COOKIE
from generation.jobs import JobSpec
from storage.clients import AccountDomainBlock, CustomFilter, CustomFilterKeyword, Mute, OAuthApp
from storage.models import Actor, Block, GenerationJob, Status, User
from storage.signup import Invite, Signup
from tests.conftest import make_settings, start_instance
from tests.flows.conftest import SMALL
from tests.generation.standins import png
from tests.support.smtp import SmtpServer
from tests.web.conftest import PASSWORD, browser_of, csrf_of, sign_in

RULES = ["Be kind.", "No <script>alert(1)</script> please."]


def _browser(instance: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=instance.client._transport, base_url=str(instance.client.base_url))


async def _count(instance: Any, model: Any, *where: Any) -> int:
    async with instance.services.reads() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _submit(
    browser: httpx.AsyncClient,
    page: str,
    action: str,
    data: dict[str, Any] | None = None,
    *,
    csrf: bool = True,
    files: Any = None,
) -> httpx.Response:
    token = csrf_of((await browser.get(page)).text)
    body = {**(data or {}), **({"csrf_token": token} if csrf else {})}
    return await browser.post(action, data=body, files=files)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def start(make_instance: Callable[..., Any], smtp: SmtpServer) -> AsyncIterator[Callable[..., Any]]:
    """``await start("approval", mail=True)``: an instance in that registration mode."""
    async with AsyncExitStack() as stack:

        async def started(mode: str, *, mail: bool = False) -> Any:
            sections: dict[str, Any] = {"instance": {"registrations": mode, "rules": RULES}}
            if mail:
                sections["smtp"] = smtp.config()
            return await make_instance(stack, "http://fedigen.test", **sections)

        yield started


SIGN_UP = {
    "username": "newbie",
    "email": "newbie@mail.test",
    "password": "a long password",
    "password_confirmation": "a long password",
    "agreement": "1",
}


# ---- sign-up ----


async def test_open_sign_up_shows_the_rules_and_makes_the_account(start: Any) -> None:
    inst = await start("open")
    browser = _browser(inst)
    form = await browser.get("/auth/sign_up")
    assert form.status_code == 200 and "Be kind." in form.text
    assert "<script>alert(1)</script>" not in form.text and "&lt;script&gt;" in form.text
    done = await _submit(browser, "/auth/sign_up", "/auth/sign_up", SIGN_UP)
    assert done.status_code == 200 and "Welcome, @newbie" in done.text
    assert "an admin confirms your account" in done.text  # no SMTP here
    async with inst.services.reads() as session:
        signup = await session.scalar(select(Signup))
        user = await session.scalar(
            select(User).join(Actor, Actor.id == User.actor_id).where(Actor.username == "newbie")
        )
    assert signup is not None and signup.approved_at is not None and signup.confirmed_at is None
    assert user is not None and user.email == "newbie@mail.test"
    # Without SMTP the reset page says to ask the operator.
    reset = await browser.get("/auth/password/new")
    assert reset.status_code == 200 and "sends no email" in reset.text and 'name="email"' not in reset.text


async def test_bad_sign_ups_show_every_error_and_store_nothing(start: Any) -> None:
    inst = await start("open")
    await inst.create_account("taken")
    browser = _browser(inst)
    bad = {**SIGN_UP, "username": "taken", "email": "nope", "agreement": ""}
    shown = await _submit(browser, "/auth/sign_up", "/auth/sign_up", bad)
    assert shown.status_code == 422
    for message in ("is already taken", "is not an email address", "must be accepted"):
        assert message in shown.text
    assert 'value="taken"' in shown.text and 'value="nope"' in shown.text  # the form keeps what was typed
    mismatch = await _submit(
        browser, "/auth/sign_up", "/auth/sign_up", {**SIGN_UP, "password_confirmation": "x"}
    )
    assert mismatch.status_code == 422 and "does not match" in mismatch.text
    no_token = await _submit(browser, "/auth/sign_up", "/auth/sign_up", SIGN_UP, csrf=False)
    assert no_token.status_code == 403
    assert await _count(inst, Signup) == 0
    assert await _count(inst, Actor, Actor.username == "newbie") == 0


async def test_approval_mode_asks_for_a_reason(start: Any) -> None:
    inst = await start("approval")
    browser = _browser(inst)
    assert 'name="reason"' in (await browser.get("/auth/sign_up")).text
    missing = await _submit(browser, "/auth/sign_up", "/auth/sign_up", SIGN_UP)
    assert missing.status_code == 422 and "can&#39;t be blank" in missing.text
    done = await _submit(browser, "/auth/sign_up", "/auth/sign_up", {**SIGN_UP, "reason": "I draw"})
    assert done.status_code == 200 and "reviews your sign-up" in done.text
    async with inst.services.reads() as session:
        signup = await session.scalar(select(Signup))
    assert signup is not None and signup.reason == "I draw" and signup.approved_at is None


async def test_closed_mode_shows_the_notice_and_an_invite_link_lets_people_in(start: Any) -> None:
    inst = await start("closed")
    browser = _browser(inst)
    page = await browser.get("/auth/sign_up")
    assert "Sign-ups are closed" in page.text and 'action="/auth/sign_up"' not in page.text
    refused = await _submit(browser, "/auth/sign_in", "/auth/sign_up", SIGN_UP)
    assert refused.status_code == 403 and await _count(inst, Signup) == 0
    assert (await browser.get("/invite/nosuchcode")).status_code == 404
    owner = await browser_of(inst, "boss", role=Role.OWNER)
    await _submit(owner, "/admin/invites", "/admin/invites", {"max_uses": "1", "expires_in": "1d"})
    async with inst.services.reads() as session:
        code = await session.scalar(select(Invite.code))
    wrong = await _submit(browser, f"/invite/{code}", "/auth/sign_up", {**SIGN_UP, "invite_code": "wrong1"})
    assert wrong.status_code == 422 and "is invalid, expired or used up" in wrong.text
    assert 'id="invite_code" name="invite_code" value="wrong1"' in wrong.text  # shown, to be corrected
    invited = await browser.get(f"/invite/{code}")
    assert (
        invited.status_code == 200
        and f'value="{code}"' in invited.text
        and "You were invited" in invited.text
    )
    done = await _submit(browser, f"/invite/{code}", "/auth/sign_up", {**SIGN_UP, "invite_code": code})
    assert done.status_code == 200, done.text
    assert await _count(inst, Signup, Signup.invite_id.is_not(None)) == 1


async def test_the_mailed_link_confirms_and_a_password_reset_by_mail(start: Any, smtp: SmtpServer) -> None:
    inst = await start("open", mail=True)
    browser = _browser(inst)
    done = await _submit(browser, "/auth/sign_up", "/auth/sign_up", SIGN_UP)
    assert "We sent a link to newbie@mail.test" in done.text
    [welcome] = smtp.wait_for("newbie@mail.test")
    [link] = [u for u in welcome.links() if "/auth/confirm?token=" in u]
    confirmed = await browser.get(link.removeprefix("http://fedigen.test"))
    assert confirmed.status_code == 200 and "your email address is confirmed" in confirmed.text
    assert (await browser.get(link.removeprefix("http://fedigen.test"))).status_code == 400  # once
    assert (await sign_in(browser, "newbie", "a long password")).status_code == 303

    other = _browser(inst)
    asked = await _submit(other, "/auth/password/new", "/auth/password/new", {"email": "NEWBIE@mail.test"})
    assert asked.status_code == 200 and "Check your email" in asked.text
    await _submit(other, "/auth/password/new", "/auth/password/new", {"email": "nobody@mail.test"})
    _, reset = smtp.wait_for("newbie@mail.test", 2)
    assert smtp.to("nobody@mail.test") == []
    [reset_link] = [u for u in reset.links() if "/auth/password/edit?" in u]
    page = reset_link.removeprefix("http://fedigen.test")
    token = parse_qs(urlsplit(reset_link).query)["reset_password_token"][0]
    assert f'value="{token}"' in (await other.get(page)).text
    short = await _submit(
        other,
        page,
        "/auth/password",
        {"reset_password_token": token, "password": "short", "password_confirmation": "short"},
    )
    assert short.status_code == 422 and "at least 8" in short.text
    changed = await _submit(
        other,
        page,
        "/auth/password",
        {
            "reset_password_token": token,
            "password": "brand new password",
            "password_confirmation": "brand new password",
        },
    )
    assert changed.status_code == 200 and "Password changed" in changed.text
    # Every session ended (the first browser's too); the new password works, the token works once.
    assert "Sign out" not in (await browser.get("/about")).text
    assert (await sign_in(_browser(inst), "newbie", "brand new password")).status_code == 303
    again = await _submit(
        other,
        page,
        "/auth/password",
        {"reset_password_token": token, "password": "x" * 10, "password_confirmation": "x" * 10},
    )
    assert again.status_code == 422 and "This link does not work" in again.text


# ---- settings ----


async def test_profile_edits_and_an_avatar_upload(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    form = {
        "display_name": "Alice <b>A</b>",
        "note": "I draw #seascapes",
        "fields[0][name]": "Site",
        "fields[0][value]": "https://alice.example",
        "locked": "1",
        "discoverable": "1",
    }
    files = {"avatar": ("me.png", png(64, 64), "image/png"), "header": ("", b"", "application/octet-stream")}
    saved = await _submit(browser, "/settings/profile", "/settings/profile", form, files=files)
    assert saved.status_code == 303 and saved.headers["location"] == "/settings/profile?done=profile"
    async with instance.services.reads() as session:
        alice = await session.scalar(select(Actor).where(Actor.username == "alice"))
    assert alice.display_name == "Alice <b>A</b>" and "seascapes" in alice.summary
    assert alice.locked and alice.discoverable and not alice.indexable and alice.ap_type == "Person"
    assert alice.fields[0]["name"] == "Site" and alice.icon_url and "/media/" in alice.icon_url
    assert alice.image_url is None
    # A photo over the API's 1 MB body limit is an upload like the API's media, not refused as too large.
    noise = io.BytesIO()
    Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3)).save(noise, format="PNG")
    assert noise.tell() > 1_000_000
    big = await _submit(browser, "/settings/profile", "/settings/profile", form,
                        files={"header": ("big.png", noise.getvalue(), "image/png")})  # fmt: skip
    assert big.status_code == 303, big.text[:300]
    page = await browser.get("/settings/profile?done=profile")
    assert page.headers["cache-control"] == "no-store"
    assert "Your profile is saved." in page.text and "Alice &lt;b&gt;A&lt;/b&gt;" in page.text

    too_long = await _submit(
        browser, "/settings/profile", "/settings/profile", {**form, "display_name": "x" * 31}
    )
    assert too_long.status_code == 422 and "too long" in too_long.text
    not_image = await _submit(
        browser,
        "/settings/profile",
        "/settings/profile",
        form,
        files={"avatar": ("x.png", b"not a picture", "image/png")},
    )
    assert not_image.status_code == 422 and 'role="alert"' in not_image.text
    no_token = await _submit(
        browser, "/settings/profile", "/settings/profile", {"display_name": "Evil"}, csrf=False
    )
    assert no_token.status_code == 403
    async with instance.services.reads() as session:
        assert (
            await session.scalar(select(Actor.display_name).where(Actor.username == "alice"))
            == "Alice <b>A</b>"
        )


async def test_preferences_are_stored_and_used(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    form = {"default_visibility": "followers", "language": "fr", "private_prompts": "1", "allow_remixes": ""}
    assert (await _submit(browser, "/settings/preferences", "/settings/preferences", form)).status_code == 303
    async with instance.services.reads() as session:
        alice = await session.scalar(select(Actor).where(Actor.username == "alice"))
        user = await session.scalar(select(User).where(User.actor_id == alice.id))
    assert (user.default_visibility, user.private_prompts) == ("followers", True)
    assert (alice.default_language, alice.allow_remixes, alice.ai_training_opt_out) == ("fr", False, False)
    page = (await browser.get("/settings/preferences")).text
    assert '<option value="followers" selected>' in page and '<option value="fr" selected>' in page
    bad = await _submit(
        browser, "/settings/preferences", "/settings/preferences", {**form, "default_visibility": "everyone"}
    )
    assert bad.status_code == 422 and "expected one of" in bad.text
    # What the client API reports follows the preference.
    headers = await _bearer(instance, alice)
    me = await instance.client.get("/api/v1/accounts/verify_credentials", headers=headers)
    assert me.json()["source"]["privacy"] == "private"
    # ...and a post that names no visibility gets the default; apps change it as Mastodon's do.
    posted = await instance.client.post("/api/v1/statuses", headers=headers, data={"status": "hello"})
    assert posted.status_code == 200 and posted.json()["visibility"] == "private"
    named = await instance.client.post(
        "/api/v1/statuses", headers=headers, data={"status": "hi", "visibility": "public"}
    )
    assert named.json()["visibility"] == "public"
    patched = await instance.client.patch(
        "/api/v1/accounts/update_credentials", headers=headers, data={"source[privacy]": "unlisted"}
    )
    assert patched.status_code == 200 and patched.json()["source"]["privacy"] == "unlisted"
    assert '<option value="unlisted" selected>' in (await browser.get("/settings/preferences")).text


async def _bearer(
    instance: Any, actor: Actor, name: str = "Some app", website: str | None = None
) -> dict[str, str]:
    async with instance.services.sessions() as session, session.begin():
        app = OAuthApp(
            client_id=f"id-{name}",
            client_secret_hash="x",
            name=name,
            redirect_uris="urn:x",
            scopes="read write",
            website=website,
        )
        session.add(app)
        await session.flush()
        issued = await grants.issue_account_token(session, app, actor)
    return {"Authorization": f"Bearer {issued.access_token}"}


async def test_changing_the_password_needs_the_current_one(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    alice = (await _actors(instance, "alice"))[0]
    app_headers = await _bearer(instance, alice)
    page = "/settings/password"
    wrong = await _submit(
        browser,
        page,
        page,
        {"current_password": "nope", "password": "new password 1", "password_confirmation": "new password 1"},
    )
    assert wrong.status_code == 422 and "is not your current password" in wrong.text
    ok = await _submit(
        browser,
        page,
        page,
        {
            "current_password": PASSWORD,
            "password": "new password 1",
            "password_confirmation": "new password 1",
        },
    )
    assert ok.status_code == 303
    async with instance.services.reads() as session:
        stored = await session.scalar(select(User.password_hash).where(User.actor_id == alice.id))
    assert await verify_password(stored, "new password 1")
    # The app was signed out; this browser carries on with a new session.
    assert (
        await instance.client.get("/api/v1/accounts/verify_credentials", headers=app_headers)
    ).status_code == 401
    assert "Your password is changed" in (await browser.get("/settings/password?done=password")).text


async def _actors(instance: Any, *names: str) -> list[Actor]:
    async with instance.services.reads() as session:
        return list(await session.scalars(select(Actor).where(Actor.username.in_(names)).order_by(Actor.id)))


async def test_authorised_apps_are_listed_and_revoked(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    alice = (await _actors(instance, "alice"))[0]
    headers = await _bearer(instance, alice, "Pinafore", website="javascript:alert(1)")
    page = await browser.get("/oauth/authorized_applications")
    assert "Pinafore" in page.text and "<code>read</code>" in page.text and "This browser" in page.text
    assert 'href="javascript:' not in page.text  # an app's website is linked only when it is http(s)
    async with instance.services.reads() as session:
        app_id = await session.scalar(select(OAuthApp.id).where(OAuthApp.name == "Pinafore"))
    action = f"/oauth/authorized_applications/{app_id}/revoke"
    assert (await _submit(browser, "/oauth/authorized_applications", action, csrf=False)).status_code == 403
    assert (
        await instance.client.get("/api/v1/accounts/verify_credentials", headers=headers)
    ).status_code == 200
    assert (await _submit(browser, "/oauth/authorized_applications", action)).status_code == 303
    assert (
        await instance.client.get("/api/v1/accounts/verify_credentials", headers=headers)
    ).status_code == 401
    assert "Pinafore" not in (await browser.get("/oauth/authorized_applications")).text
    # Another account's app cannot be revoked from here.
    assert (await _submit(browser, "/oauth/authorized_applications", action)).status_code == 404


async def test_export_downloads_and_settings_need_a_session(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    archive = await browser.get("/settings/export/archive.zip")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    assert "following_accounts.csv" in zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    csv = await browser.get("/settings/export/following_accounts.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert (await browser.get("/settings/export/secrets.csv")).status_code == 404
    assert (await _browser(instance).get("/settings/export/archive.zip")).status_code == 303  # signed out
    anonymous = _browser(instance)
    for path in (
        "/settings/profile",
        "/settings/preferences",
        "/auth/edit",
        "/oauth/authorized_applications",
        "/filters",
        "/settings/mutes",
        "/settings/delete",
    ):
        answer = await anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/auth/sign_in?next="), (
            path
        )
    await anonymous.get("/auth/sign_in")
    assert CSRF_COOKIE in anonymous.cookies
    posted = await anonymous.post("/settings/profile", data={"csrf_token": "x", "display_name": "x"})
    assert posted.status_code == 403


async def test_deleting_the_account_needs_the_password(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    wrong = await _submit(browser, "/settings/delete", "/settings/delete", {"password": "nope"})
    assert wrong.status_code == 422 and "is not your password" in wrong.text
    no_token = await _submit(
        browser, "/settings/delete", "/settings/delete", {"password": PASSWORD}, csrf=False
    )
    assert no_token.status_code == 403
    assert await _count(instance, Actor, Actor.username == "alice", Actor.deleted_at.is_(None)) == 1
    gone = await _submit(browser, "/settings/delete", "/settings/delete", {"password": PASSWORD})
    assert gone.status_code == 200 and "Your account is deleted" in gone.text
    assert await _count(instance, Actor, Actor.username == "alice", Actor.deleted_at.is_not(None)) == 1
    assert SESSION_COOKIE not in browser.cookies


async def test_filters_are_added_edited_and_deleted(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    blank = await _submit(
        browser, "/filters/new", "/filters", {"title": "", "context": "home", "keywords": "x"}
    )
    assert blank.status_code == 422 and "can&#39;t be blank" in blank.text
    assert await _count(instance, CustomFilter) == 0
    made = await _submit(
        browser,
        "/filters/new",
        "/filters",
        {
            "title": "Spoilers",
            "context": ["home", "public"],
            "filter_action": "hide",
            "keywords": "finale\nending\n",
            "whole_word": "1",
            "expires_in": "",
        },
    )
    assert made.status_code == 303
    async with instance.services.reads() as session:
        row = await session.scalar(select(CustomFilter))
        words = set(await session.scalars(select(CustomFilterKeyword.keyword)))
    assert (row.title, row.action, sorted(row.context)) == ("Spoilers", "hide", ["home", "public"])
    assert words == {"finale", "ending"}
    listing = await browser.get("/filters")
    assert "Spoilers" in listing.text and "<code>finale</code>" in listing.text
    edit = f"/filters/{row.id}/edit"
    assert "finale\nending" in (await browser.get(edit)).text
    changed = await _submit(
        browser,
        edit,
        f"/filters/{row.id}",
        {
            "title": "Plot",
            "context": "home",
            "filter_action": "warn",
            "keywords": "ending\ntwist",
            "expires_in": "keep",
        },
    )
    assert changed.status_code == 303
    async with instance.services.reads() as session:
        row = await session.scalar(select(CustomFilter))
        words = set(await session.scalars(select(CustomFilterKeyword.keyword)))
    assert (row.title, row.action, row.context) == ("Plot", "warn", ["home"]) and words == {"ending", "twist"}
    assert (await _submit(browser, "/filters", f"/filters/{row.id}/delete", csrf=False)).status_code == 403
    assert (await _submit(browser, "/filters", f"/filters/{row.id}/delete")).status_code == 303
    assert await _count(instance, CustomFilter) == 0 and await _count(instance, CustomFilterKeyword) == 0
    # Someone else's filter is not found.
    other = await browser_of(instance, "bob")
    assert (await other.get(edit)).status_code == 404


async def test_mutes_blocks_and_domain_blocks_are_listed_and_undone(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    [alice] = await _actors(instance, "alice")
    carol = await instance.create_account("carol")
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        me = await session.get(Actor, alice.id)
        them = await session.get(Actor, carol.id)
        await blocks.mute(session, me, them)
        await blocks.block(svc, session, me, them)
    for page in ("/settings/mutes", "/settings/blocks"):
        assert "@carol" in (await browser.get(page)).text
    assert (
        await _submit(browser, "/settings/mutes", f"/settings/mutes/{carol.id}/unmute")
    ).status_code == 303
    assert (
        await _submit(browser, "/settings/blocks", f"/settings/blocks/{carol.id}/unblock")
    ).status_code == 303
    assert await _count(instance, Mute) == 0 and await _count(instance, Block) == 0

    page = "/settings/domain_blocks"
    bad = await _submit(browser, page, page, {"domain": "fedigen.test"})
    assert bad.status_code == 422 and "cannot be your own server" in bad.text
    assert (await _submit(browser, page, page, {"domain": "Spam.Example"})).status_code == 303
    assert "spam.example" in (await browser.get(page)).text
    assert (
        await _submit(browser, page, f"{page}/remove", {"domain": "spam.example"}, csrf=False)
    ).status_code == 403
    assert await _count(instance, AccountDomainBlock) == 1
    assert (await _submit(browser, page, f"{page}/remove", {"domain": "spam.example"})).status_code == 303
    assert await _count(instance, AccountDomainBlock) == 0


async def test_no_settings_form_changes_anything_without_its_token(instance: Any) -> None:
    browser = await browser_of(instance, "alice")
    [alice] = await _actors(instance, "alice")
    carol = await instance.create_account("carol")
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        me, them = await session.get(Actor, alice.id), await session.get(Actor, carol.id)
        await blocks.mute(session, me, them)
        await blocks.block(svc, session, me, them)
    await browser.get("/settings/profile")
    forms = {
        "/settings/preferences": {"default_visibility": "direct", "private_prompts": "1"},
        "/settings/password": {
            "current_password": PASSWORD,
            "password": "x" * 12,
            "password_confirmation": "x" * 12,
        },
        "/filters": {"title": "t", "context": "home", "keywords": "k", "expires_in": ""},
        f"/settings/mutes/{carol.id}/unmute": {},
        f"/settings/blocks/{carol.id}/unblock": {},
        "/settings/domain_blocks": {"domain": "spam.example"},
        "/oauth/authorized_applications/1/revoke": {},
    }
    for action, data in forms.items():
        answer = await browser.post(action, data=data)
        assert answer.status_code == 403 and "did not come from this site" in answer.text, action
    async with instance.services.reads() as session:
        user = await session.scalar(select(User).where(User.actor_id == alice.id))
        assert (user.default_visibility, user.private_prompts) == ("public", False)
        assert await verify_password(user.password_hash, PASSWORD)
    for model in (CustomFilter, AccountDomainBlock):
        assert await _count(instance, model) == 0
    assert await _count(instance, Mute) == 1 and await _count(instance, Block) == 1
    assert "Sign out" in (await browser.get("/settings/profile")).text  # the session lives on


async def test_the_private_prompts_preference_keeps_prompts_out_of_posts(
    tmp_path: Any, backend: str, router: Any
) -> None:
    settings = make_settings(tmp_path, backend, generation=SMALL)
    async with start_instance(settings, router) as inst:
        browser = await browser_of(inst, "alice")
        page = "/settings/preferences"
        form = {"default_visibility": "public", "private_prompts": "1", "allow_remixes": "1"}
        assert (await _submit(browser, page, page, form)).status_code == 303
        svc = inst.services
        async with svc.sessions() as session, session.begin():
            alice = await get_local(session, "alice")
            job = await generations.request_generation(
                svc,
                session,
                alice,
                JobSpec(prompt="my secret garden"),
                purpose="post",
                post=generations.post_options("made here"),
            )
        await inst.drain()
        async with svc.reads() as session:
            done = await session.get(GenerationJob, job.id)
            assert done is not None and done.status_id is not None, done and done.last_error
            status = await session.get(Status, done.status_id)
    assert status is not None and status.extra["generation"]["private"] is True
    assert "secret" not in str(status.attachments)
