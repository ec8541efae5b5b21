"""The moderation and admin pages: who may open them, and that every form does what the admin API's
use-case does (and stores nothing on bad input, a missing CSRF token or a role that may not)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import httpx
from sqlalchemy import func, select

from fedigen.social import registrations, reports
from fedigen.social.posts import PostRequest, create_post
from fedigen.social.roles import Role
from storage.models import (
    AccountWarning,
    Actor,
    AuditLog,
    DomainAllow,
    DomainBlock,
    Report,
    ReportNote,
    Status,
    User,
)
from storage.signup import Invite, Signup
from tests.web.conftest import browser_of, csrf_of

ADMIN_PAGES = (
    "/admin/reports",
    "/admin/reports?resolved=1",
    "/admin/accounts",
    "/admin/pending_accounts",
    "/admin/domain_blocks",
    "/admin/invites",
    "/admin/rules",
    "/admin/settings",
    "/admin/action_logs",
)


async def _count(instance: Any, model: Any, *where: Any) -> int:
    async with instance.services.reads() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _post(
    browser: httpx.AsyncClient, page: str, action: str, data: dict[str, Any] | None = None, csrf: bool = True
) -> httpx.Response:
    """Open ``page`` for its CSRF token, then post ``data`` to ``action`` as its form would."""
    token = csrf_of((await browser.get(page)).text)
    body = dict(data or {})
    if csrf:
        body["csrf_token"] = token
    return await browser.post(action, data=body)


async def _reported(instance: Any) -> tuple[Actor, Actor, Status, int]:
    """carol posts; dave reports the post: (carol, dave, the post, the report's id)."""
    carol = await instance.create_account("carol")
    dave = await instance.create_account("dave")
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        status = await create_post(svc, session, carol, PostRequest(text="a rude <b>post</b>"))
        report = await reports.file_report(
            svc, session, dave, carol.id, status_ids=[status.id], comment="This is rude", category="other"
        )
    return carol, dave, status, report.id


async def test_who_may_open_the_admin_pages(instance: Any) -> None:
    member = await browser_of(instance, "mallory")
    _, _, _, report_id = await _reported(instance)
    for path in (*ADMIN_PAGES, f"/admin/reports/{report_id}"):
        page = await member.get(path)
        assert page.status_code == 403, path
        assert page.headers["content-type"].startswith("text/html") and "Not allowed" in page.text
    token = csrf_of((await member.get("/settings/profile")).text)
    resolved = await member.post(f"/admin/reports/{report_id}/resolve", data={"csrf_token": token})
    blocked = await member.post("/admin/domain_blocks", data={"csrf_token": token, "domain": "bad.example"})
    assert resolved.status_code == 403 and blocked.status_code == 403
    assert await _count(instance, Report, Report.resolved_at.is_not(None)) == 0
    assert await _count(instance, DomainBlock) == 0
    # Signed out: sent to sign in (GET), refused (POST).
    anonymous = httpx.AsyncClient(
        transport=instance.client._transport, base_url=str(instance.client.base_url)
    )
    redirect = await anonymous.get("/admin/reports")
    assert redirect.status_code == 303 and redirect.headers["location"].startswith("/auth/sign_in?next=")
    # A moderator sees the pages the role allows.
    moderator = await browser_of(instance, "mod", role=Role.MODERATOR)
    for path in (
        "/admin/reports",
        "/admin/accounts",
        "/admin/pending_accounts",
        "/admin/invites",
        "/admin/rules",
        "/admin/settings",
        "/admin/action_logs",
    ):
        assert (await moderator.get(path)).status_code == 200, path
    # Domain blocks are an admin's (MANAGE_FEDERATION).
    assert (await moderator.get("/admin/domain_blocks")).status_code == 403
    nav = (await moderator.get("/admin/reports")).text
    assert 'href="/admin/accounts"' in nav and 'href="/admin/domain_blocks"' not in nav


async def test_every_admin_page_renders_for_the_owner(instance: Any) -> None:
    owner = await browser_of(instance, "boss", role=Role.OWNER)
    _, _, _, report_id = await _reported(instance)
    for path in (
        *ADMIN_PAGES,
        f"/admin/reports/{report_id}",
        "/admin/accounts?q=car&origin=local&status=active",
    ):
        page = await owner.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert "Content-Security-Policy" in page.headers
    # No form changes anything without its CSRF token.
    carol_id = (await _actors(instance, "carol"))[0].id
    await _forms_without_token_change_nothing(owner, instance, report_id, carol_id)
    for path in ("/admin/reports/99999", "/admin/accounts/99999", "/admin/reports/abc"):
        missing = await owner.get(path)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    # Rules and settings live in the configuration: shown read-only, with the key to edit.
    rules = await owner.get("/admin/rules")
    assert "[instance] rules" in rules.text and "<form" not in rules.text.split("<main>")[1]
    settings = await owner.get("/admin/settings")
    assert "[instance] registrations" in settings.text and "[instance] name" in settings.text


async def _forms_without_token_change_nothing(
    owner: httpx.AsyncClient, instance: Any, report_id: int, target_id: int
) -> None:
    """Every admin form posted without its token: 403, and nothing stored (no audit entry, no row)."""
    await owner.get("/admin/reports")  # the browser has its CSRF cookie
    forms = [
        (f"/admin/reports/{report_id}/{kind}", {"content": "note", "type": "suspend"})
        for kind in ("assign", "resolve", "note", "action", "delete_statuses")
    ] + [
        (f"/admin/accounts/{target_id}/{kind}", {"type": "suspend", "text": "cw", "role": "admin"})
        for kind in ("action", "force_cw", "role", "approve", "confirm")
    ] + [
        ("/admin/domain_blocks", {"domain": "bad.example"}),
        ("/admin/domain_allows", {"domain": "good.example"}),
        ("/admin/invites", {"max_uses": "1"}),
    ]  # fmt: skip
    for action, data in forms:
        answer = await owner.post(action, data=data)
        assert answer.status_code == 403 and "did not come from this site" in answer.text, action
    for model in (AuditLog, DomainBlock, DomainAllow, Invite, ReportNote, AccountWarning):
        assert await _count(instance, model) == 0, model
    assert await _count(instance, Actor, Actor.suspended_at.is_not(None)) == 0


async def test_the_report_queue_posts_deleted_and_the_report_resolved_by_suspending(instance: Any) -> None:
    moderator = await browser_of(instance, "mod", role=Role.MODERATOR)
    carol, _, status, report_id = await _reported(instance)
    queue = await moderator.get("/admin/reports")
    assert f'href="/admin/reports/{report_id}"' in queue.text and "@carol" in queue.text
    page = (await moderator.get(f"/admin/reports/{report_id}")).text
    assert "This is rude" in page and "a rude <b>post</b>" not in page  # the content is the stored HTML
    assert f'value="{status.id}"' in page

    # Without the CSRF token nothing happens.
    refused = await _post(
        moderator, f"/admin/reports/{report_id}", f"/admin/reports/{report_id}/assign", csrf=False
    )
    assert refused.status_code == 403
    async with instance.services.reads() as session:
        assert (await session.get(Report, report_id)).assigned_account_id is None

    path = f"/admin/reports/{report_id}"
    assert (await _post(moderator, path, f"{path}/assign")).status_code == 303
    blank = await _post(moderator, path, f"{path}/note", {"content": "   "})
    assert blank.status_code == 422 and "can&#39;t be blank" in blank.text
    assert (await _post(moderator, path, f"{path}/note", {"content": "Looked at it"})).status_code == 303
    none = await _post(moderator, path, f"{path}/delete_statuses", {})
    assert none.status_code == 422 and "name at least one status" in none.text
    deleted = await _post(moderator, path, f"{path}/delete_statuses", {"status_ids": str(status.id)})
    assert deleted.status_code == 303
    async with instance.services.reads() as session:
        assert (await session.get(Status, status.id)).deleted_at is not None
        assert await session.scalar(select(AccountWarning.action)) == "delete_statuses"
    done = await _post(moderator, path, f"{path}/action", {"type": "suspend", "text": "Bye"})
    assert done.status_code == 303 and done.headers["location"] == f"{path}?done=report"
    async with instance.services.reads() as session:
        report = await session.get(Report, report_id)
        target = await session.get(Actor, carol.id)
        assert report.assigned_account_id is not None and report.resolved_at is not None
        assert target.suspended_at is not None
        assert [n.content for n in await session.scalars(select(ReportNote))] == ["Looked at it"]
        actions = set(await session.scalars(select(AuditLog.action)))
    assert {"assigned_to_self_report", "create_report_note", "delete_statuses_account", "suspend_account",
            "resolve_report"} <= actions  # fmt: skip
    assert (await _post(moderator, path, f"{path}/reopen")).status_code == 303
    assert await _count(instance, Report, Report.resolved_at.is_(None)) == 1
    log = await moderator.get("/admin/action_logs")
    assert "suspend account" in log.text and "@mod" in log.text


async def test_account_actions_roles_and_search(instance: Any) -> None:
    owner = await browser_of(instance, "boss", role=Role.OWNER)
    erin = await instance.create_account("erin")
    listing = await owner.get("/admin/accounts?q=er")
    assert f'href="/admin/accounts/{erin.id}"' in listing.text
    assert f'href="/admin/accounts/{erin.id - 1}"' not in listing.text  # the search is by name
    path = f"/admin/accounts/{erin.id}"
    assert (await _post(owner, path, f"{path}/action", {"type": "silence"})).status_code == 303
    bad = await _post(owner, path, f"{path}/action", {"type": "explode"})
    assert bad.status_code == 422 and "expected one of" in bad.text
    assert (await _post(owner, path, f"{path}/force_cw", {"text": "spoilers"})).status_code == 303
    assert (await _post(owner, path, f"{path}/role", {"role": "moderator"})).status_code == 303
    async with instance.services.reads() as session:
        row = await session.get(Actor, erin.id)
        assert row.silenced_at is not None and row.forced_cw == "spoilers"
        assert await session.scalar(select(User.role).where(User.actor_id == erin.id)) == "moderator"
        logged = await session.scalar(select(AuditLog.detail).where(AuditLog.action == "change_role_user"))
        assert logged == "role=member->moderator"
    assert "Lift the limit" in (await owner.get(path)).text
    assert (await _post(owner, path, f"{path}/unsilence")).status_code == 303
    async with instance.services.reads() as session:
        assert (await session.get(Actor, erin.id)).silenced_at is None
    # A moderator may not act on staff of their rank, nor change roles.
    moderator = await browser_of(instance, "mod", role=Role.MODERATOR)
    peer = await _post(moderator, path, f"{path}/action", {"type": "suspend"})
    assert peer.status_code == 403
    async with instance.services.reads() as session:
        assert (await session.get(Actor, erin.id)).suspended_at is None


async def test_pending_sign_ups_are_approved_or_rejected(instance: Any) -> None:
    moderator = await browser_of(instance, "mod", role=Role.MODERATOR)
    svc = instance.services
    # Sign-ups are made through the use-case, as the form does, in approval mode.
    approval = replace(svc.settings, instance=replace(svc.settings.instance, registrations="approval"))
    async with svc.sessions() as session, session.begin():
        for name in ("applicant", "spammer"):
            await registrations.sign_up(
                session,
                approval,
                svc.urls,
                username=name,
                email=f"{name}@mail.test",
                password="long enough pw",
                agreement=True,
                reason=f"I am {name}",
            )
    page = await moderator.get("/admin/pending_accounts")
    assert "I am applicant" in page.text and "awaiting approval" in page.text
    ids = {a.username: a.id for a in await _actors(instance, "applicant", "spammer")}
    ok = await _post(
        moderator,
        "/admin/pending_accounts",
        f"/admin/accounts/{ids['applicant']}/approve",
        {"back": "/admin/pending_accounts"},
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith("/admin/pending_accounts")
    rejected = await _post(
        moderator,
        "/admin/pending_accounts",
        f"/admin/accounts/{ids['spammer']}/reject",
        {"back": "/admin/pending_accounts"},
    )
    assert rejected.status_code == 303
    assert await _count(instance, Signup, Signup.approved_at.is_not(None)) == 1
    assert await _count(instance, Actor, Actor.username == "spammer") == 0
    # Confirming an email is an admin's (MANAGE_USER_ACCESS): a moderator is refused.
    refused = await _post(moderator, "/admin/pending_accounts", f"/admin/accounts/{ids['applicant']}/confirm")
    assert refused.status_code == 403
    assert await _count(instance, Signup, Signup.confirmed_at.is_not(None)) == 0


async def _actors(instance: Any, *names: str) -> list[Actor]:
    async with instance.services.reads() as session:
        return list(await session.scalars(select(Actor).where(Actor.username.in_(names))))


async def test_domain_blocks_and_allows(instance: Any) -> None:
    admin = await browser_of(instance, "root", role=Role.ADMIN)
    page = "/admin/domain_blocks"
    bad = await _post(admin, page, page, {"domain": "not a domain!", "severity": "suspend"})
    assert bad.status_code == 422 and 'role="alert"' in bad.text
    assert await _count(instance, DomainBlock) == 0
    assert (
        await _post(
            admin,
            page,
            page,
            {"domain": "Bad.Example", "severity": "silence", "reject_media": "1", "public_comment": "spam"},
        )
    ).status_code == 303
    again = await _post(admin, page, page, {"domain": "bad.example", "severity": "suspend"})
    assert again.status_code == 422 and "already blocked" in again.text
    async with instance.services.reads() as session:
        row = await session.scalar(select(DomainBlock))
        assert (row.domain, row.severity, row.reject_media, row.public_comment) == (
            "bad.example",
            "silence",
            True,
            "spam",
        )
    edit = await admin.get(f"/admin/domain_blocks/{row.id}/edit")
    assert edit.status_code == 200 and "bad.example" in edit.text
    assert (
        await _post(admin, page, f"/admin/domain_blocks/{row.id}", {"severity": "suspend"})
    ).status_code == 303
    async with instance.services.reads() as session:
        row = await session.scalar(select(DomainBlock))
        assert (row.severity, row.reject_media) == ("suspend", False)
    assert (
        await _post(admin, page, "/admin/domain_allows", {"domain": "friends.example"})
    ).status_code == 303
    assert await _count(instance, DomainAllow) == 1
    allow_id = (await _ids(instance, DomainAllow))[0]
    assert (await _post(admin, page, f"/admin/domain_allows/{allow_id}/delete")).status_code == 303
    assert (await _post(admin, page, f"/admin/domain_blocks/{row.id}/delete")).status_code == 303
    assert await _count(instance, DomainBlock) == 0 and await _count(instance, DomainAllow) == 0
    assert await _count(instance, AuditLog, AuditLog.action == "destroy_domain_block") == 1


async def _ids(instance: Any, model: Any) -> list[int]:
    async with instance.services.reads() as session:
        return list(await session.scalars(select(model.id)))


async def test_invites_are_made_listed_and_revoked(instance: Any) -> None:
    moderator = await browser_of(instance, "mod", role=Role.MODERATOR)
    page = "/admin/invites"
    bad = await _post(moderator, page, page, {"max_uses": "lots", "expires_in": "1d"})
    assert bad.status_code == 422 and "whole number" in bad.text
    assert await _count(instance, Invite) == 0
    assert (await _post(moderator, page, page, {"max_uses": "3", "expires_in": "1d"})).status_code == 303
    async with instance.services.reads() as session:
        invite = await session.scalar(select(Invite))
    assert invite.max_uses == 3 and invite.expires_at is not None
    listing = await moderator.get(page)
    assert f"http://fedigen.test/invite/{invite.code}" in listing.text
    assert (await _post(moderator, page, f"/admin/invites/{invite.code}/revoke")).status_code == 303
    async with instance.services.reads() as session:
        assert (await session.scalar(select(Invite))).revoked_at is not None
    assert re.search(r"badge warn\">revoked", (await moderator.get(page)).text)
