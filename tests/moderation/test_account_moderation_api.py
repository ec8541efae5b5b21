"""Moderation through the client API: permission boundaries of every admin endpoint, the report
lifecycle, account actions (suspend, limit, sensitive, force CW, delete posts) and their enforcement,
forwarding a report as Flag, the retention purge, and the audit log of each action."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.social import account_moderation, email_blocks, follows, posts
from fedigen.social.email_blocks import canonical_email, canonical_hash
from fedigen.social.posts import PostRequest
from fedigen.social.roles import Role
from storage.clients import OAuthToken
from storage.models import AccountWarning, Actor, AuditLog, Follow, Report, Status, User, utcnow
from tests.api.conftest import bearer, issue_token
from tests.conftest import Instance
from tests.remote_actor import RemoteActor, RemoteServer

PASSWORD = "a long password"
ADMIN_SCOPES = "read write follow admin:read admin:write"

# Every admin endpoint (method, path): a member is refused each one with 403.
ADMIN_ENDPOINTS = [
    ("GET", "/api/v1/admin/accounts"),
    ("GET", "/api/v2/admin/accounts"),
    ("GET", "/api/v1/admin/accounts/{id}"),
    ("POST", "/api/v1/admin/accounts/{id}/action"),
    ("POST", "/api/v1/admin/accounts/{id}/enable"),
    ("POST", "/api/v1/admin/accounts/{id}/unsilence"),
    ("POST", "/api/v1/admin/accounts/{id}/unsuspend"),
    ("POST", "/api/v1/admin/accounts/{id}/unsensitive"),
    ("DELETE", "/api/v1/admin/accounts/{id}"),
    ("GET", "/api/v1/admin/reports"),
    ("GET", "/api/v1/admin/reports/{report}"),
    ("PUT", "/api/v1/admin/reports/{report}"),
    ("POST", "/api/v1/admin/reports/{report}/assign_to_self"),
    ("POST", "/api/v1/admin/reports/{report}/unassign"),
    ("POST", "/api/v1/admin/reports/{report}/resolve"),
    ("POST", "/api/v1/admin/reports/{report}/reopen"),
    ("POST", "/api/v1/admin/reports/{report}/forward"),
    ("POST", "/api/v1/admin/reports/{report}/notes"),
    ("GET", "/api/v1/admin/action_logs"),
    ("GET", "/api/v1/admin/canonical_email_blocks"),
    ("POST", "/api/v1/admin/canonical_email_blocks"),
    ("POST", "/api/v1/admin/canonical_email_blocks/test"),
    ("GET", "/api/v1/admin/canonical_email_blocks/1"),
    ("DELETE", "/api/v1/admin/canonical_email_blocks/1"),
    ("POST", "/api/v1/admin/measures"),
]


async def _staff(instance: Instance) -> dict[str, Actor]:
    made = {}
    for name, role in (
        ("olga", Role.OWNER),
        ("adam", Role.ADMIN),
        ("mo", Role.MODERATOR),
        ("mem", Role.MEMBER),
        ("tom", Role.MEMBER),
    ):
        made[name] = await instance.create_account(name, role=role, password=PASSWORD)
    return made


async def _post(instance: Instance, author: Actor, text: str, **kw: Any) -> Status:
    async with instance.services.sessions() as session, session.begin():
        me = await session.get(Actor, author.id)
        assert me is not None
        return await posts.create_post(instance.services, session, me, PostRequest(text=text, **kw))


async def _audit(instance: Instance) -> list[tuple[str | None, str, str]]:
    async with instance.services.sessions() as session:
        rows = (
            await session.execute(
                select(Actor.username, AuditLog.action, AuditLog.target_label)
                .outerjoin(Actor, Actor.id == AuditLog.account_id)
                .order_by(AuditLog.id)
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _reload(instance: Instance, actor_id: int) -> Actor:
    async with instance.services.sessions() as session:
        actor = await session.get(Actor, actor_id)
    assert actor is not None
    return actor


async def test_a_member_is_refused_every_admin_endpoint_and_a_moderator_what_its_role_lacks(
    instance: Instance,
) -> None:
    people = await _staff(instance)
    status = await _post(instance, people["tom"], "hello")
    member = bearer(await issue_token(instance, "mem", ADMIN_SCOPES))
    filed = await instance.client.post(
        "/api/v1/reports",
        headers=member,
        data={"account_id": str(people["tom"].id), "status_ids[]": str(status.id)},
    )
    assert filed.status_code == 200, filed.text
    ids = {"id": str(people["tom"].id), "report": filed.json()["id"]}
    for method, path in ADMIN_ENDPOINTS:
        answer = await instance.client.request(
            method, path.format(**ids), headers=member, data={"type": "suspend"}
        )
        assert answer.status_code == 403, (method, path, answer.text)
        assert "error" in answer.json()
    # A moderator without an admin scope on its token is refused too; with one it may read.
    mod_plain = bearer(await issue_token(instance, "mo", "read write"))
    assert (await instance.client.get("/api/v1/admin/accounts", headers=mod_plain)).status_code == 403
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    assert (await instance.client.get("/api/v1/admin/accounts", headers=mod)).status_code == 200
    # A moderator may not act on an admin or the owner, nor delete data (DELETE_USER_DATA is an admin's).
    for name in ("adam", "olga"):
        refused = await instance.client.post(
            f"/api/v1/admin/accounts/{people[name].id}/action", headers=mod, data={"type": "suspend"}
        )
        assert refused.status_code == 403, refused.text
    await instance.client.post(
        f"/api/v1/admin/accounts/{people['tom'].id}/action", headers=mod, data={"type": "suspend"}
    )
    assert (
        await instance.client.delete(f"/api/v1/admin/accounts/{people['tom'].id}", headers=mod)
    ).status_code == 403
    assert (await _reload(instance, people["adam"].id)).suspended_at is None
    assert (await _reload(instance, people["tom"].id)).deleted_at is None
    # Nothing stored on refusals: only the moderator's one suspension is in the audit log.
    assert [(who, action) for who, action, _ in await _audit(instance)] == [("mo", "suspend_account")]


async def test_a_moderator_cannot_change_roles_through_the_admin_api(instance: Instance) -> None:
    people = await _staff(instance)
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    # Mastodon has no role endpoint in its admin API; there is none here, and no action sets a role.
    for path in (
        f"/api/v1/admin/accounts/{people['mem'].id}/role",
        f"/api/v1/admin/accounts/{people['mem'].id}",
    ):
        answer = await instance.client.put(path, headers=mod, data={"role_id": "3"})
        assert answer.status_code in (404, 405)
    shown = (await instance.client.get(f"/api/v1/admin/accounts/{people['mem'].id}", headers=mod)).json()
    assert shown["role"]["id"] == "-99"


async def test_a_report_goes_through_the_queue_and_every_step_is_in_the_audit_log(instance: Instance) -> None:
    people = await _staff(instance)
    status = await _post(instance, people["tom"], "buy my stuff")
    other = await _post(instance, people["mem"], "mine")
    member = bearer(await issue_token(instance, "mem", "read write"))
    url = "/api/v1/reports"
    tom = str(people["tom"].id)
    # Mastodon's validation: 422 for a bad category, a long comment, a violation without rules, no account.
    for data, field in (
        ({"account_id": tom, "category": "rude"}, "category"),
        ({"account_id": tom, "comment": "x" * 1001}, "comment"),
        ({"account_id": tom, "category": "violation"}, "rule_ids"),
        ({}, "account_id"),
        ({"account_id": str(people["mem"].id)}, "account_id"),
    ):
        answer = await instance.client.post(url, headers=member, data=data)
        assert answer.status_code == 422 and field in answer.json()["error"], (data, answer.text)
    # A status that is not the target's: 404, as Mastodon finds it among the target's statuses.
    wrong = await instance.client.post(
        url, headers=member, data={"account_id": tom, "status_ids[]": str(other.id)}
    )
    assert wrong.status_code == 404
    assert (await instance.client.post(url, headers=member, data={"account_id": "99999"})).status_code == 404
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count(Report.id))) == 0
    body = {
        "account_id": tom,
        "status_ids": [str(status.id)],
        "comment": "spam",
        "category": "spam",
        "forward": False,
    }
    filed = await instance.client.post(
        url, headers={**member, "Content-Type": "application/json"}, content=json.dumps(body)
    )
    assert filed.status_code == 200, filed.text
    report = filed.json()
    assert report["category"] == "spam" and report["status_ids"] == [str(status.id)]
    assert report["target_account"]["id"] == tom and report["action_taken"] is False
    assert report["forwarded"] is False
    rid = report["id"]

    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    queue = (await instance.client.get("/api/v1/admin/reports", headers=mod)).json()
    assert [r["id"] for r in queue] == [rid]
    shown = queue[0]
    assert shown["account"]["username"] == "mem" and shown["target_account"]["username"] == "tom"
    assert [s["id"] for s in shown["statuses"]] == [str(status.id)]
    assert shown["assigned_account"] is None
    base = f"/api/v1/admin/reports/{rid}"
    taken = (await instance.client.post(f"{base}/assign_to_self", headers=mod)).json()
    assert taken["assigned_account"]["username"] == "mo"
    noted = (await instance.client.post(f"{base}/notes", headers=mod, data={"content": "looking"})).json()
    assert [n["content"] for n in noted["notes"]] == ["looking"]
    empty = await instance.client.post(f"{base}/notes", headers=mod, data={"content": " "})
    assert empty.status_code == 422
    changed = (
        await instance.client.put(base, headers=mod, data={"category": "violation", "rule_ids[]": "1"})
    ).json()
    assert changed["category"] == "violation" and changed["rule_ids"] == ["1"]
    bad = await instance.client.put(base, headers=mod, data={"category": "nope"})
    assert bad.status_code == 422
    assert (await instance.client.post(f"{base}/unassign", headers=mod)).json()["assigned_account"] is None
    # A local account's report cannot be forwarded anywhere.
    assert (await instance.client.post(f"{base}/forward", headers=mod)).status_code == 422
    resolved = (await instance.client.post(f"{base}/resolve", headers=mod)).json()
    assert resolved["action_taken"] is True and resolved["action_taken_by_account"]["username"] == "mo"
    assert (await instance.client.get("/api/v1/admin/reports", headers=mod)).json() == []
    done = (
        await instance.client.get("/api/v1/admin/reports", headers=mod, params={"resolved": "true"})
    ).json()
    assert [r["id"] for r in done] == [rid]
    by_target = await instance.client.get(
        "/api/v1/admin/reports",
        headers=mod,
        params={"resolved": "true", "target_account_id": str(people["mem"].id)},
    )
    assert by_target.json() == []
    assert (await instance.client.post(f"{base}/reopen", headers=mod)).json()["action_taken"] is False
    # An account action with report_id resolves the report and records a warning.
    acted = await instance.client.post(
        f"/api/v1/admin/accounts/{tom}/action",
        headers=mod,
        data={"type": "silence", "report_id": rid, "text": "stop spamming"},
    )
    assert acted.status_code == 200, acted.text
    again = (await instance.client.get(base, headers=mod)).json()
    assert again["action_taken"] is True
    async with instance.services.sessions() as session:
        warning = await session.scalar(select(AccountWarning))
    assert warning is not None and (warning.action, warning.text, str(warning.report_id)) == (
        "silence",
        "stop spamming",
        rid,
    )
    log = await _audit(instance)
    assert [(who, action) for who, action, _ in log] == [
        ("mo", "assigned_to_self_report"),
        ("mo", "create_report_note"),
        ("mo", "update_report"),
        ("mo", "unassigned_report"),
        ("mo", "resolve_report"),
        ("mo", "reopen_report"),
        ("mo", "silence_account"),
        ("mo", "resolve_report"),
    ]
    assert log[-2][2] == "tom" and log[0][2] == f"report #{rid}"
    api_log = (await instance.client.get("/api/v1/admin/action_logs", headers=mod)).json()
    assert [e["action"] for e in api_log][:2] == ["resolve_report", "silence_account"]
    assert api_log[1]["account"] == "mo" and api_log[1]["target"] == "tom"


async def test_a_suspended_account_cannot_sign_in_or_post_and_is_hidden_until_unsuspended(
    instance: Instance,
) -> None:
    people = await _staff(instance)
    status = await _post(instance, people["tom"], "visible before")
    tom_token = bearer(await issue_token(instance, "tom", "read write"))
    app = (
        await instance.client.post(
            "/api/v1/apps",
            data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"},
        )
    ).json()
    grant = {
        "grant_type": "password",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "username": "tom",
        "password": PASSWORD,
        "scope": "read",
    }
    assert (await instance.client.post("/oauth/token", data=grant)).status_code == 200
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    tom = people["tom"].id
    done = await instance.client.post(
        f"/api/v1/admin/accounts/{tom}/action", headers=mod, data={"type": "suspend"}
    )
    assert done.status_code == 200 and done.json() == {}
    # Cannot sign in, the old token is refused, cannot post.
    refused = await instance.client.post("/oauth/token", data=grant)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    me = await instance.client.get("/api/v1/accounts/verify_credentials", headers=tom_token)
    assert me.status_code == 403 and me.json()["error"] == "Your login is currently disabled"
    posted = await instance.client.post("/api/v1/statuses", headers=tom_token, data={"status": "still here"})
    assert posted.status_code == 403
    c2s = await instance.client.post(
        instance.services.urls.outbox("tom"),
        headers={**tom_token, "Content-Type": "application/activity+json"},
        content=json.dumps(
            {
                "@context": "https://www.w3.org/ns/activitystreams",
                "type": "Note",
                "content": "c2s",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
            }
        ),
    )
    assert c2s.status_code == 403, c2s.text
    # Hidden: the status answers 404, the public timeline leaves it out, the profile is flagged and empty.
    assert (await instance.client.get(f"/api/v1/statuses/{status.id}")).status_code == 404
    public = (await instance.client.get("/api/v1/timelines/public")).json()
    assert str(status.id) not in [s["id"] for s in public]
    profile = (await instance.client.get(f"/api/v1/accounts/{tom}")).json()
    assert profile["suspended"] is True and profile["statuses_count"] == 0
    assert (await instance.client.get(f"/api/v1/accounts/{tom}/statuses")).json() == []
    # The web pages and the Note's ActivityPub document are gone too (the actor document stays, keyed).
    urls = instance.services.urls
    as2 = {"Accept": "application/activity+json"}
    for path, headers in (
        (urls.profile("tom"), {}),
        (urls.status_page("tom", status.id), {}),
        (urls.status("tom", status.id), as2),
    ):
        answer = await instance.client.get(path, headers=headers)
        assert answer.status_code == 404, (path, answer.status_code)
    assert "visible before" not in (await instance.client.get("/")).text
    assert (await instance.client.get(urls.actor("tom"), headers=as2)).status_code == 200
    searcher = bearer(await issue_token(instance, "mem", "read"))
    found = await instance.client.get(
        "/api/v2/search", headers=searcher, params={"q": "to", "type": "accounts"}
    )
    assert found.status_code == 200 and found.json()["accounts"] == []
    shown = (await instance.client.get(f"/api/v1/admin/accounts/{tom}", headers=mod)).json()
    assert shown["suspended"] is True and shown["account"]["username"] == "tom"
    listed = await instance.client.get("/api/v2/admin/accounts", headers=mod, params={"status": "suspended"})
    assert [a["username"] for a in listed.json()] == ["tom"]
    v1 = await instance.client.get("/api/v1/admin/accounts", headers=mod, params={"suspended": "true"})
    assert [a["username"] for a in v1.json()] == ["tom"]
    # The CLI's posting (--as) goes through the same refusal.
    from fedigen.errors import ForbiddenError

    with pytest.raises(ForbiddenError):
        await _post(instance, people["tom"], "from the cli")
    async with instance.services.sessions() as session, session.begin():
        me, other = await session.get(Actor, tom), await session.get(Actor, people["mem"].id)
        assert me is not None and other is not None
        with pytest.raises(ForbiddenError):
            await posts.edit_post(instance.services, session, me, status.id, "edited while suspended")
        with pytest.raises(ForbiddenError):
            await follows.follow(instance.services, session, me, other)
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count(Status.id)).where(Status.actor_id == tom)) == 1
        assert await session.scalar(select(func.count(Follow.id)).where(Follow.follower_id == tom)) == 0
    # Unsuspended: signs in and posts again, the old post is back.
    back = await instance.client.post(f"/api/v1/admin/accounts/{tom}/unsuspend", headers=mod)
    assert back.status_code == 200 and back.json()["suspended"] is False
    assert (await instance.client.post("/oauth/token", data=grant)).status_code == 200
    assert (await instance.client.get(f"/api/v1/statuses/{status.id}")).status_code == 200
    assert (await instance.client.get(urls.status_page("tom", status.id))).status_code == 200
    again = await instance.client.post("/api/v1/statuses", headers=tom_token, data={"status": "back"})
    assert again.status_code == 200, again.text
    actions = [a for _, a, _ in await _audit(instance)]
    assert actions == ["suspend_account", "unsuspend_account"]


async def test_disable_limit_sensitive_and_forced_warning(instance: Instance) -> None:
    people = await _staff(instance)
    status = await _post(instance, people["tom"], "a picture")
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    tom = people["tom"].id
    for kind in ("silence", "sensitive"):
        answer = await instance.client.post(
            f"/api/v1/admin/accounts/{tom}/action", headers=mod, data={"type": kind}
        )
        assert answer.status_code == 200, answer.text
    bad = await instance.client.post(
        f"/api/v1/admin/accounts/{tom}/action", headers=mod, data={"type": "ban"}
    )
    assert bad.status_code == 422
    # Limited: off the public timeline, still shown by id; media shown sensitive.
    public = (await instance.client.get("/api/v1/timelines/public")).json()
    assert str(status.id) not in [s["id"] for s in public]
    shown = (await instance.client.get(f"/api/v1/statuses/{status.id}")).json()
    assert shown["sensitive"] is True and shown["account"]["limited"] is True
    # A limited account's follow of a local account needs approval.
    tom_token = bearer(await issue_token(instance, "tom", "read write follow"))
    rel = await instance.client.post(f"/api/v1/accounts/{people['mem'].id}/follow", headers=tom_token)
    assert rel.status_code == 200 and rel.json()["requested"] is True and rel.json()["following"] is False
    async with instance.services.sessions() as session, session.begin():
        target = await session.get(Actor, tom)
        assert target is not None
        await account_moderation.force_cw(instance.services, session, target, "moderated")
    shown = (await instance.client.get(f"/api/v1/statuses/{status.id}")).json()
    assert shown["spoiler_text"] == "moderated"
    for path in ("unsilence", "unsensitive"):
        assert (
            await instance.client.post(f"/api/v1/admin/accounts/{tom}/{path}", headers=mod)
        ).status_code == 200
    public = (await instance.client.get("/api/v1/timelines/public")).json()
    assert str(status.id) in [s["id"] for s in public]
    # Disabled: cannot sign in, stays visible; enabled again.
    await instance.client.post(f"/api/v1/admin/accounts/{tom}/action", headers=mod, data={"type": "disable"})
    assert (
        await instance.client.get("/api/v1/accounts/verify_credentials", headers=tom_token)
    ).status_code == 403
    assert (await instance.client.get(f"/api/v1/statuses/{status.id}")).status_code == 200
    enabled = await instance.client.post(f"/api/v1/admin/accounts/{tom}/enable", headers=mod)
    assert enabled.json()["disabled"] is False
    assert (
        await instance.client.get("/api/v1/accounts/verify_credentials", headers=tom_token)
    ).status_code == 200
    actions = [a for _, a, _ in await _audit(instance)]
    assert actions == [
        "silence_account",
        "sensitive_account",
        "force_cw_account",
        "unsilence_account",
        "unsensitive_account",
        "disable_account",
        "enable_account",
    ]


async def test_a_remote_account_suspended_is_refused_severed_and_hidden(
    instance: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    people = await _staff(instance)
    note = bob.note("hello from bob", mention=f"{instance.services.urls.base}/users/mem")
    follow = bob.activity("Follow", f"{instance.services.urls.base}/users/mem")
    assert (await bob.post(instance.client, "/inbox", follow)).status_code in (200, 202)
    await instance.drain()
    assert (await bob.post(instance.client, "/inbox", bob.create(note))).status_code in (200, 202)
    await instance.drain()
    async with instance.services.sessions() as session:
        actor = await session.scalar(select(Actor).where(Actor.ap_id == bob.ap_id))
        assert actor is not None
        follows = await session.scalar(select(func.count(Follow.id)).where(Follow.follower_id == actor.id))
    assert follows == 1
    admin = bearer(await issue_token(instance, "adam", ADMIN_SCOPES))
    remote_list = (
        await instance.client.get("/api/v2/admin/accounts", headers=admin, params={"origin": "remote"})
    ).json()
    assert [a["username"] for a in remote_list] == ["bob"] and remote_list[0]["domain"] == "remote.test"
    done = await instance.client.post(
        f"/api/v1/admin/accounts/{actor.id}/action", headers=admin, data={"type": "suspend"}
    )
    assert done.status_code == 200, done.text
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count(Follow.id)).where(Follow.follower_id == actor.id)) == 0
        stored = await session.scalar(select(Status).where(Status.actor_id == actor.id))
    assert stored is not None
    assert (await instance.client.get(f"/api/v1/statuses/{stored.id}")).status_code == 404
    later = bob.note("after the suspension", mention=f"{instance.services.urls.base}/users/mem")
    refused = await bob.post(instance.client, "/inbox", bob.create(later))
    assert refused.status_code == 403, refused.text
    # Deleting its data: only a suspended account's; then unsuspending is refused.
    gone = await instance.client.delete(f"/api/v1/admin/accounts/{actor.id}", headers=admin)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count(Status.id)).where(Status.actor_id == actor.id)) == 0
    assert (
        await instance.client.post(f"/api/v1/admin/accounts/{actor.id}/unsuspend", headers=admin)
    ).status_code == 403
    mem = people["mem"].id
    not_suspended = await instance.client.delete(f"/api/v1/admin/accounts/{mem}", headers=admin)
    assert not_suspended.status_code == 403


async def test_a_report_with_forward_is_sent_to_the_remote_server_as_a_flag_from_the_instance_actor(
    instance: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await _staff(instance)
    note = bob.note("spam spam", mention=f"{instance.services.urls.base}/users/mem")
    follow = bob.activity("Follow", f"{instance.services.urls.base}/users/mem")
    await bob.post(instance.client, "/inbox", follow)
    await bob.post(instance.client, "/inbox", bob.create(note))
    await instance.drain()
    async with instance.services.sessions() as session:
        actor = await session.scalar(select(Actor).where(Actor.ap_id == bob.ap_id))
        stored = await session.scalar(select(Status).where(Status.ap_id == note["id"]))
    assert actor is not None and stored is not None
    member = bearer(await issue_token(instance, "mem", "read write"))
    filed = await instance.client.post(
        "/api/v1/reports",
        headers=member,
        data={
            "account_id": str(actor.id),
            "status_ids[]": str(stored.id),
            "comment": "this is spam",
            "forward": "true",
        },
    )
    assert filed.status_code == 200 and filed.json()["forwarded"] is True
    remote.received.clear()
    await instance.drain()
    flags = [json.loads(r.body) for r in remote.posts() if json.loads(r.body).get("type") == "Flag"]
    assert len(flags) == 1
    flag = flags[0]
    assert flag["actor"] == instance.services.urls.instance_actor
    assert flag["object"] == [bob.ap_id, note["id"]] and flag["content"] == "this is spam"
    # A moderator forwards a report filed without forward later.
    again = await instance.client.post("/api/v1/reports", headers=member, data={"account_id": str(actor.id)})
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    sent = await instance.client.post(f"/api/v1/admin/reports/{again.json()['id']}/forward", headers=mod)
    assert sent.status_code == 200 and sent.json()["forwarded"] is True
    await instance.drain()
    flags = [json.loads(r.body) for r in remote.posts() if json.loads(r.body).get("type") == "Flag"]
    assert len(flags) == 2 and flags[1]["object"] == [bob.ap_id]
    assert [a for _, a, _ in await _audit(instance)] == ["forward_report"]


async def test_a_suspended_account_s_data_is_deleted_after_the_retention_period(instance: Instance) -> None:
    people = await _staff(instance)
    await _post(instance, people["tom"], "one")
    await _post(instance, people["mem"], "unrelated")
    then = utcnow() - timedelta(days=31)
    async with instance.services.sessions() as session, session.begin():
        tom = await session.get(Actor, people["tom"].id)
        mem = await session.get(Actor, people["mem"].id)
        assert tom is not None and mem is not None
        await account_moderation.act(instance.services, session, tom, "suspend", now=then)
        await account_moderation.act(
            instance.services, session, mem, "suspend", now=utcnow() - timedelta(days=29)
        )
    async with instance.services.sessions() as session, session.begin():
        assert await account_moderation.purge_expired(instance.services, session, now=utcnow()) == 1
    async with instance.services.sessions() as session:
        counts = dict(
            (
                await session.execute(
                    select(Status.actor_id, func.count(Status.id)).group_by(Status.actor_id)
                )
            ).all()
        )
    assert people["tom"].id not in counts and counts[people["mem"].id] == 1
    assert (await _reload(instance, people["tom"].id)).deleted_at is not None
    assert (await _reload(instance, people["mem"].id)).deleted_at is None
    # The worker runs the same step (once an hour; forced here).
    assert await instance.worker.purge_suspended(force=True) == 0
    assert await instance.worker.purge_suspended(force=True, now=utcnow() + timedelta(days=2)) == 1
    assert [a for who, a, _ in await _audit(instance)][-2:] == [
        "destroy_account_data",
        "destroy_account_data",
    ]


def test_canonical_email_is_mastodon_s() -> None:
    assert canonical_email("J.Doe+spam@Example.COM") == "jdoe@example.com"
    # Mastodon's hash of the canonical form (SHA-256 hex), so block lists carry over.
    assert canonical_hash("jdoe@example.com") == hashlib.sha256(b"jdoe@example.com").hexdigest()


async def test_canonical_email_blocks_are_an_admin_s_and_catch_variants(instance: Instance) -> None:
    await _staff(instance)
    admin = bearer(await issue_token(instance, "adam", ADMIN_SCOPES))
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    url = "/api/v1/admin/canonical_email_blocks"
    assert (await instance.client.post(url, headers=mod, data={"email": "a@b.example"})).status_code == 403
    made = await instance.client.post(url, headers=admin, data={"email": "Spam.Mer+x@Mail.example"})
    assert made.status_code == 200, made.text
    block = made.json()
    assert block["canonical_email_hash"] == hashlib.sha256(b"spammer@mail.example").hexdigest()
    again = await instance.client.post(url, headers=admin, data={"email": "spammer@mail.example"})
    assert again.status_code == 422 and "already" in again.json()["error"]
    for data in ({}, {"canonical_email_hash": "nothex"}, {"email": "not an address"}):
        assert (await instance.client.post(url, headers=admin, data=data)).status_code == 422
    hit = await instance.client.post(
        f"{url}/test", headers=admin, data={"email": "s.p.a.m.m.e.r+1@mail.example"}
    )
    assert [b["id"] for b in hit.json()] == [block["id"]]
    miss = await instance.client.post(f"{url}/test", headers=admin, data={"email": "other@mail.example"})
    assert miss.json() == []
    assert [b["id"] for b in (await instance.client.get(url, headers=admin)).json()] == [block["id"]]
    assert (await instance.client.get(f"{url}/{block['id']}", headers=admin)).json() == block
    async with instance.services.sessions() as session:
        assert await email_blocks.is_blocked(session, "SPAMMER+signup@mail.example")
    assert (await instance.client.delete(f"{url}/{block['id']}", headers=admin)).json() == {}
    assert (await instance.client.get(f"{url}/{block['id']}", headers=admin)).status_code == 404
    actions = [a for _, a, _ in await _audit(instance)]
    assert actions == ["create_canonical_email_block", "destroy_canonical_email_block"]


async def test_measures_count_per_day_as_mastodon_s_dashboard(instance: Instance) -> None:
    people = await _staff(instance)
    status = await _post(instance, people["tom"], "count me")
    await _post(instance, people["tom"], "and me")
    await _post(instance, people["mem"], "me too")
    member = bearer(await issue_token(instance, "mem", "read write"))
    assert (
        await instance.client.post(f"/api/v1/statuses/{status.id}/favourite", headers=member)
    ).status_code == 200
    filed = await instance.client.post(
        "/api/v1/reports", headers=member, data={"account_id": str(people["tom"].id)}
    )
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    await instance.client.post(f"/api/v1/admin/reports/{filed.json()['id']}/resolve", headers=mod)
    today = utcnow().date()
    keys = ["new_users", "active_users", "interactions", "opened_reports", "resolved_reports"]
    body = {"keys[]": keys, "start_at": str(today - timedelta(days=1)), "end_at": str(today)}
    answer = await instance.client.post("/api/v1/admin/measures", headers=mod, data=body)
    assert answer.status_code == 200, answer.text
    got = {m["key"]: m for m in answer.json()}
    async with instance.services.sessions() as session:  # the five above and the instance's bot account
        users = await session.scalar(select(func.count(User.id)))
    assert users == 6
    totals = {k: got[k]["total"] for k in keys}
    assert totals == {
        "new_users": "6",
        "active_users": "2",
        "interactions": "1",
        "opened_reports": "1",
        "resolved_reports": "1",
    }
    assert [d["value"] for d in got["new_users"]["data"]] == ["0", "6"]
    assert got["new_users"]["data"][1]["date"] == f"{today}T00:00:00Z"
    assert got["new_users"]["previous_total"] == "0"
    bad = await instance.client.post("/api/v1/admin/measures", headers=mod, data={**body, "keys[]": ["nope"]})
    assert bad.status_code == 422
    backwards = {**body, "start_at": str(today), "end_at": str(today - timedelta(days=3))}
    assert (
        await instance.client.post("/api/v1/admin/measures", headers=mod, data=backwards)
    ).status_code == 422


async def test_deleting_a_local_account_s_data_tells_every_known_server(
    instance: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    people = await _staff(instance)
    tom_url = f"{instance.services.urls.base}/users/tom"
    await bob.post(instance.client, "/inbox", bob.activity("Follow", tom_url))
    await instance.drain()
    await _post(instance, people["tom"], "soon gone")
    await instance.drain()
    remote.received.clear()
    await issue_token(instance, "tom")
    admin = bearer(await issue_token(instance, "adam", ADMIN_SCOPES))
    tom = people["tom"].id
    await instance.client.post(
        f"/api/v1/admin/accounts/{tom}/action", headers=admin, data={"type": "suspend"}
    )
    gone = await instance.client.delete(f"/api/v1/admin/accounts/{tom}", headers=admin)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    await instance.drain()
    deletes = [json.loads(r.body) for r in remote.posts() if json.loads(r.body).get("type") == "Delete"]
    assert [(d["actor"], d["object"]) for d in deletes] == [(tom_url, tom_url)]
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count(Status.id)).where(Status.actor_id == tom)) == 0
        assert await session.scalar(select(func.count(Follow.id)).where(Follow.followee_id == tom)) == 0
    # Its tokens are gone; its name stays taken.
    async with instance.services.sessions() as session:
        assert (
            await session.scalar(select(func.count(OAuthToken.id)).where(OAuthToken.account_id == tom)) == 0
        )
        assert await session.scalar(select(Actor.username).where(Actor.id == tom)) == "tom"


async def test_a_flag_naming_only_posts_is_a_report_about_their_author(
    instance: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    people = await _staff(instance)
    status = await _post(instance, people["tom"], "reported post")
    flag = bob.activity("Flag", [status.ap_id], content="look at this")
    assert (await bob.post(instance.client, "/inbox", flag)).status_code in (200, 202)
    await instance.drain()
    mod = bearer(await issue_token(instance, "mo", ADMIN_SCOPES))
    queue = (await instance.client.get("/api/v1/admin/reports", headers=mod)).json()
    assert len(queue) == 1
    assert queue[0]["target_account"]["username"] == "tom" and queue[0]["account"]["domain"] == "remote.test"
    assert [s["id"] for s in queue[0]["statuses"]] == [str(status.id)] and queue[0][
        "comment"
    ] == "look at this"
