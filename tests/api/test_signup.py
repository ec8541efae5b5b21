"""Signing up through the client API in each registration mode (docs/registrations.md), with the
confirmation and password reset messages read from a real SMTP server the test starts (aiosmtpd).

An account signed up is stored at once but cannot sign in, nor use the token it was given, until the
link mailed to it is followed and (in approval mode) a moderator or admin approved it; invites let
people in within their limits; closed instances refuse (403) and bad parameters are 422 with
Mastodon's ``details``, with nothing stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from fedigen.config import ConfigError
from fedigen.errors import ForbiddenError
from fedigen.social import registrations
from fedigen.social.roles import Role
from storage.clients import OAuthCode, OAuthToken
from storage.models import Actor, User, utcnow
from storage.signup import EmailToken, Invite, Signup
from tests.api.conftest import bearer, issue_token
from tests.api.test_oauth import OOB, consent
from tests.conftest import Instance, make_settings
from tests.support.server import free_port
from tests.support.smtp import SmtpServer

PASSWORD = "correct horse battery"
RULES = ["Be kind.", "Label AI images as such (fedigen does it for you)."]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
async def start(make_instance: Callable[..., Any], smtp: SmtpServer) -> AsyncIterator[Callable[..., Any]]:
    """``await start("approval")``: an instance in that registration mode, mailing through ``smtp``."""
    async with AsyncExitStack() as stack:

        async def started(
            mode: str, *, mail: bool = True, smtp_section: dict[str, Any] | None = None, **instance: Any
        ) -> Instance:
            sections: dict[str, Any] = {"instance": {"registrations": mode, "rules": RULES, **instance}}
            if mail:
                sections["smtp"] = smtp_section or smtp.config()
            inst: Instance = await make_instance(stack, "http://fedigen.test", **sections)
            return inst

        yield started


async def app_token(client: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    """An app registered as Mastodon apps do, and its client_credentials token."""
    app = (
        await client.post(
            "/api/v1/apps", data={"client_name": "Sign-up app", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                  "scopes": "read write follow"},
        )
    ).json()  # fmt: skip
    token = await client.post(
        "/oauth/token", data={"grant_type": "client_credentials", "client_id": app["client_id"],
                              "client_secret": app["client_secret"], "scope": "read write follow"},
    )  # fmt: skip
    assert token.status_code == 200, token.text
    return app, token.json()["access_token"]


async def sign_up(client: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    body = {"username": "newbie", "email": "newbie@mail.test", "password": PASSWORD, "agreement": True,
            "locale": "en", **fields}  # fmt: skip
    return await client.post("/api/v1/accounts", json=body, headers=bearer(token))


async def password_login(
    client: httpx.AsyncClient, app: dict[str, Any], username: str, password: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token", data={"grant_type": "password", "client_id": app["client_id"],
                              "client_secret": app["client_secret"], "username": username,
                              "password": password, "scope": "read"},
    )  # fmt: skip


async def follow_link(client: httpx.AsyncClient, link: str) -> httpx.Response:
    parts = urlsplit(link)
    return await client.get(f"{parts.path}?{parts.query}")


async def count(instance: Instance, model: Any) -> int:
    async with instance.services.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def signup_row(instance: Instance, username: str) -> Signup:
    async with instance.services.sessions() as session:
        row = await session.scalar(
            select(Signup).join(Actor, Actor.id == Signup.actor_id).where(Actor.username == username)
        )
        assert row is not None
        return row


# ---- open ----


async def test_open_sign_up_works_once_the_mailed_link_is_followed(start: Any, smtp: SmtpServer) -> None:
    inst = await start("open")
    client = inst.client
    app, token = await app_token(client)
    made = await sign_up(client, token)
    assert made.status_code == 200, made.text
    body = made.json()
    assert body["token_type"] == "Bearer" and set(body["scope"].split()) == {"read", "write", "follow"}
    assert isinstance(body["created_at"], int)
    user_token = body["access_token"]

    # Stored, with its email, unconfirmed; its token and its password do nothing yet.
    async with inst.services.sessions() as session:
        email = await session.scalar(
            select(User.email).join(Actor, Actor.id == User.actor_id).where(Actor.username == "newbie")
        )
    assert email == "newbie@mail.test"
    assert (await signup_row(inst, "newbie")).confirmed_at is None
    refused = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert refused.status_code == 403
    assert refused.json()["error"] == "Your login is missing a confirmed e-mail address"
    login = await password_login(client, app, "newbie", PASSWORD)
    assert login.status_code == 400
    assert login.json() == {"error": "invalid_grant", "error_description": registrations.UNCONFIRMED}

    # The confirmation message came through the SMTP server, from the configured sender.
    [mail] = smtp.wait_for("newbie@mail.test")
    assert (
        mail.mail_from == "fedigen@fedigen.test"
        and mail.message["Subject"] == "Test: confirm your email address"
    )
    [link] = [u for u in mail.links() if "/auth/confirm?token=" in u]
    assert link.startswith("http://fedigen.test/auth/confirm?token=")
    # Only its hash is stored.
    raw = parse_qs(urlsplit(link).query)["token"][0]
    async with inst.services.sessions() as session:
        hashes = list(await session.scalars(select(EmailToken.token_hash)))
    assert raw not in hashes and len(hashes) == 1

    confirmed = await follow_link(client, link)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text
    assert (await signup_row(inst, "newbie")).confirmed_at is not None
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert me.status_code == 200 and me.json()["username"] == "newbie"
    assert (await password_login(client, app, "newbie", PASSWORD)).status_code == 200
    assert (await password_login(client, app, "newbie@mail.test", PASSWORD)).status_code == 200
    # A link works once.
    assert (await follow_link(client, link)).status_code == 400
    assert (await client.get("/auth/confirm?token=made-up")).status_code == 400


async def test_the_confirmation_can_be_mailed_again(start: Any, smtp: SmtpServer) -> None:
    inst = await start("open")
    _, token = await app_token(inst.client)
    user_token = (await sign_up(inst.client, token)).json()["access_token"]
    again = await inst.client.post("/api/v1/emails/confirmations", headers=bearer(user_token))
    assert again.status_code == 200, again.text
    first, second = smtp.wait_for("newbie@mail.test", 2)
    assert first.links() != second.links()
    assert (await follow_link(inst.client, second.links()[0])).status_code == 200
    # Confirmed: nothing more to resend.
    done = await inst.client.post("/api/v1/emails/confirmations", headers=bearer(user_token))
    assert done.status_code == 403


async def test_a_mail_server_that_is_down_does_not_undo_the_sign_up(
    start: Any, caplog: pytest.LogCaptureFixture
) -> None:
    down = {"host": "127.0.0.1", "port": free_port(), "tls": "none", "timeout": 5}
    inst = await start("open", smtp_section=down)
    _, token = await app_token(inst.client)
    made = await sign_up(inst.client, token)
    assert made.status_code == 200, made.text
    assert "mail to newbie@mail.test not sent" in caplog.text
    assert (await signup_row(inst, "newbie")).confirmed_at is None
    # The app may ask again later; the account waits for its confirmation meanwhile.
    again = await inst.client.post(
        "/api/v1/emails/confirmations", headers=bearer(made.json()["access_token"])
    )
    assert again.status_code == 200
    assert await count(inst, EmailToken) == 2


async def test_bad_sign_ups_are_422_with_mastodons_details_and_store_nothing(
    start: Any, smtp: SmtpServer
) -> None:
    inst = await start("open")
    client = inst.client
    await inst.create_account("taken", password=PASSWORD)
    _, token = await app_token(client)
    actors, users = await count(inst, Actor), await count(inst, User)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"username": "taken"}, "username", "ERR_TAKEN"),
        ({"username": "TAKEN"}, "username", "ERR_TAKEN"),
        ({"username": "bad name!"}, "username", "ERR_INVALID"),
        ({"username": "inbox"}, "username", "ERR_RESERVED"),
        ({"username": ""}, "username", "ERR_BLANK"),
        ({"email": "not-an-email"}, "email", "ERR_INVALID"),
        ({"email": ""}, "email", "ERR_BLANK"),
        ({"password": "short"}, "password", "ERR_TOO_SHORT"),
        ({"password": "x" * 73}, "password", "ERR_TOO_LONG"),
        ({"agreement": False}, "agreement", "ERR_ACCEPTED"),
        ({"locale": "xx-nope"}, "locale", "ERR_INCLUSION"),
    ]
    for fields, field, code in cases:
        response = await sign_up(client, token, **fields)
        assert response.status_code == 422, (fields, response.text)
        body = response.json()
        assert body["error"].startswith("Validation failed")
        assert body["details"][field][0]["error"] == code, (fields, body)
    # Every error at once, as Mastodon lists them.
    many = await sign_up(client, token, username="taken", email="x", password="1", agreement=False)
    assert set(many.json()["details"]) == {"username", "email", "password", "agreement"}
    # An email taken by another account.
    async with inst.services.sessions() as session, session.begin():
        await session.execute(update(User).values(email="Someone@Mail.test"))
    taken_email = await sign_up(client, token, email="someone@mail.test")
    assert taken_email.json()["details"]["email"][0]["error"] == "ERR_TAKEN"
    assert (await count(inst, Actor), await count(inst, User), await count(inst, Signup)) == (
        actors,
        users,
        0,
    )
    assert smtp.messages == []
    # Without a token, or with a user's token lacking write:accounts: no sign-up either.
    assert (await client.post("/api/v1/accounts", json={"username": "x"})).status_code == 401


async def test_closed_instances_refuse_sign_ups(start: Any, smtp: SmtpServer) -> None:
    inst = await start("closed")
    _, token = await app_token(inst.client)
    refused = await sign_up(inst.client, token)
    assert refused.status_code == 403 and refused.json() == {"error": "This action is not allowed"}
    assert await count(inst, Signup) == 0 and smtp.messages == []
    v2 = (await inst.client.get("/api/v2/instance")).json()["registrations"]
    assert v2["enabled"] is False and v2["approval_required"] is False
    nodeinfo = (await inst.client.get("/nodeinfo/2.1")).json()
    assert nodeinfo["openRegistrations"] is False


async def test_without_smtp_an_admin_confirms(start: Any, smtp: SmtpServer) -> None:
    inst = await start("open", mail=False)
    _, token = await app_token(inst.client)
    user_token = (await sign_up(inst.client, token)).json()["access_token"]
    assert (
        await inst.client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    ).status_code == 403
    async with inst.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(EmailToken)) == 0
    admin = await inst.create_account("boss", password=PASSWORD, role=Role.ADMIN)
    member = await inst.create_account("member", password=PASSWORD)
    moderator = await inst.create_account("mod", password=PASSWORD, role=Role.MODERATOR)
    async with inst.services.sessions() as session, session.begin():
        newbie = await session.scalar(select(Actor).where(Actor.username == "newbie"))
        assert newbie is not None
        for not_allowed in (member, moderator):  # confirming is an admin's (MANAGE_USER_ACCESS)
            with pytest.raises(ForbiddenError):
                await registrations.confirm(session, newbie, by=not_allowed)
    assert (await signup_row(inst, "newbie")).confirmed_at is None
    async with inst.services.sessions() as session, session.begin():
        newbie = await session.scalar(select(Actor).where(Actor.username == "newbie"))
        assert newbie is not None
        assert await registrations.confirm(session, newbie, by=admin) is True
    assert (
        await inst.client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    ).status_code == 200
    assert smtp.messages == []


async def test_other_servers_never_see_an_account_that_cannot_sign_in_yet(start: Any) -> None:
    inst = await start("approval", mail=False)
    client = inst.client
    _, token = await app_token(client)
    assert (await sign_up(client, token, reason="hi")).status_code == 200
    as2 = {"Accept": "application/activity+json"}

    async def seen() -> list[int]:
        return [
            (await client.get("/.well-known/webfinger?resource=acct:newbie@fedigen.test")).status_code,
            (await client.get("/users/newbie", headers=as2)).status_code,
            (await client.get("/@newbie")).status_code,
        ]

    async def users() -> tuple[int, int]:
        v1 = (await client.get("/api/v1/instance")).json()["stats"]["user_count"]
        return v1, (await client.get("/nodeinfo/2.1")).json()["usage"]["users"]["total"]

    assert await seen() == [404, 404, 404]
    before = await users()  # the applicant is not counted either (the generation bot is)
    assert before[0] == before[1] == await count(inst, User) - 1
    async with inst.services.sessions() as session, session.begin():
        newbie = await session.scalar(select(Actor).where(Actor.username == "newbie"))
        assert newbie is not None
        await registrations.confirm(session, newbie)
    assert await seen() == [404, 404, 404]  # confirmed, still awaiting approval
    async with inst.services.sessions() as session, session.begin():
        newbie = await session.scalar(select(Actor).where(Actor.username == "newbie"))
        assert newbie is not None
        await registrations.approve(session, newbie)
    assert await seen() == [200, 200, 200]
    assert await users() == (before[0] + 1, before[1] + 1)


async def test_the_sign_in_page_refuses_an_unconfirmed_account(start: Any) -> None:
    inst = await start("open", mail=False)
    app, token = await app_token(inst.client)
    assert (await sign_up(inst.client, token, username="alice")).status_code == 200
    page = await consent(inst.client, app, redirect_uri=OOB, scope="read")
    assert "Your login is missing a confirmed e-mail address." in page.text
    assert await count(inst, OAuthCode) == 0
    async with inst.services.sessions() as session, session.begin():
        alice = await session.scalar(select(Actor).where(Actor.username == "alice"))
        assert alice is not None
        await registrations.confirm(session, alice)
    granted = await consent(inst.client, app, redirect_uri=OOB, scope="read")
    assert "missing a confirmed" not in granted.text
    assert await count(inst, OAuthCode) == 1


# ---- approval ----


async def test_approval_mode_needs_a_reason_a_confirmed_email_and_a_moderator(
    start: Any, smtp: SmtpServer
) -> None:
    inst = await start("approval", registrations_message="Tell us about your art.")
    client = inst.client
    v2 = (await client.get("/api/v2/instance")).json()["registrations"]
    assert v2 == {"enabled": True, "approval_required": True, "reason_required": True,
                  "message": "Tell us about your art.", "url": None, "min_age": None}  # fmt: skip
    assert (await client.get("/nodeinfo/2.1")).json()["openRegistrations"] is True
    app, token = await app_token(client)
    no_reason = await sign_up(client, token)
    assert no_reason.status_code == 422 and no_reason.json()["details"]["reason"][0]["error"] == "ERR_BLANK"
    made = await sign_up(client, token, reason="I draw lighthouses.")
    assert made.status_code == 200, made.text
    user_token = made.json()["access_token"]
    row = await signup_row(inst, "newbie")
    assert row.reason == "I draw lighthouses." and row.approved_at is None

    [mail] = smtp.wait_for("newbie@mail.test")
    page = await follow_link(client, mail.links()[0])
    assert page.status_code == 200 and "approve" in page.text
    refused = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert (
        refused.status_code == 403 and refused.json()["error"] == "Your login is currently pending approval"
    )
    login = await password_login(client, app, "newbie", PASSWORD)
    assert login.json()["error_description"] == registrations.PENDING

    member = await inst.create_account("member", password=PASSWORD)
    moderator = await inst.create_account("mod", password=PASSWORD, role=Role.MODERATOR)
    async with inst.services.sessions() as session, session.begin():
        [(pending, signup)] = await registrations.pending(session)
        assert pending.username == "newbie" and signup.reason == "I draw lighthouses."
        with pytest.raises(ForbiddenError):
            await registrations.approve(session, pending, by=member)
    assert (await signup_row(inst, "newbie")).approved_at is None
    async with inst.services.sessions() as session, session.begin():
        newbie = await session.scalar(select(Actor).where(Actor.username == "newbie"))
        assert newbie is not None
        assert await registrations.approve(session, newbie, by=moderator) is True
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    assert me.status_code == 200
    assert (await password_login(client, app, "newbie", PASSWORD)).status_code == 200


async def test_a_rejected_applicant_is_deleted(start: Any) -> None:
    inst = await start("approval", mail=False)
    _, token = await app_token(inst.client)
    made = await sign_up(inst.client, token, reason="hello")
    user_token = made.json()["access_token"]
    async with inst.services.sessions() as session, session.begin():
        newbie = await session.scalar(select(Actor).where(Actor.username == "newbie"))
        assert newbie is not None
        await registrations.reject(session, newbie)
    async with inst.services.sessions() as session:
        assert await session.scalar(select(Actor).where(Actor.username == "newbie")) is None
        assert (
            await session.scalar(
                select(func.count()).select_from(OAuthToken).where(OAuthToken.account_id.is_not(None))
            )
            == 0
        )
    assert (
        await inst.client.get("/api/v1/accounts/verify_credentials", headers=bearer(user_token))
    ).status_code == 401
    # The name is free again.
    assert (await sign_up(inst.client, token, reason="again")).status_code == 200


# ---- invites ----


async def test_invite_mode_takes_invites_within_their_limits(start: Any, smtp: SmtpServer) -> None:
    inst = await start("invite")
    client = inst.client
    assert (await client.get("/api/v1/instance")).json()["invites_enabled"] is True
    assert (await client.get("/api/v2/instance")).json()["registrations"]["enabled"] is False
    assert (await client.get("/nodeinfo/2.0")).json()["openRegistrations"] is False
    _, token = await app_token(client)
    assert (await sign_up(client, token)).status_code == 403  # no invite code

    member = await inst.create_account("member", password=PASSWORD)
    moderator = await inst.create_account("mod", password=PASSWORD, role=Role.MODERATOR)
    async with inst.services.sessions() as session, session.begin():
        with pytest.raises(ForbiddenError):
            await registrations.create_invite(session, by=member)
        once = await registrations.create_invite(session, by=moderator, max_uses=1)
        expired = await registrations.create_invite(session, expires_in=timedelta(hours=1))
        revoked = await registrations.create_invite(session, by=moderator)
        with pytest.raises(ForbiddenError):  # someone else's invite
            await registrations.revoke_invite(session, revoked.code, by=member)
        await registrations.revoke_invite(session, revoked.code, by=moderator)  # their own
        once_code, expired_code, revoked_code = once.code, expired.code, revoked.code
        await session.execute(
            update(Invite).where(Invite.id == expired.id).values(expires_at=utcnow() - timedelta(minutes=1))
        )

    page = await client.get(f"/invite/{once_code}")
    assert page.status_code == 200 and once_code in page.text
    first = await sign_up(client, token, invite_code=once_code)
    assert first.status_code == 200, first.text
    assert (await signup_row(inst, "newbie")).invite_id is not None
    for code in (once_code, expired_code, revoked_code, "nosuchcode"):
        refused = await sign_up(client, token, username="second", email="second@mail.test", invite_code=code)
        assert refused.status_code == 422, (code, refused.text)
        assert refused.json()["details"]["invite_code"][0]["error"] == "ERR_INVALID"
        assert (await client.get(f"/invite/{code}")).status_code == 404
    async with inst.services.sessions() as session:
        assert await session.scalar(select(Invite.uses).where(Invite.code == once_code)) == 1
        assert await session.scalar(select(Actor).where(Actor.username == "second")) is None
    # Invited people need no approval, but still confirm their email.
    [mail] = smtp.wait_for("newbie@mail.test")
    assert (await follow_link(client, mail.links()[0])).status_code == 200
    me = await client.get("/api/v1/accounts/verify_credentials", headers=bearer(first.json()["access_token"]))
    assert me.status_code == 200


async def test_an_invite_skips_approval(start: Any) -> None:
    inst = await start("approval", mail=False)
    async with inst.services.sessions() as session, session.begin():
        code = (await registrations.create_invite(session)).code
    _, token = await app_token(inst.client)
    assert (await sign_up(inst.client, token, invite_code=code)).status_code == 200  # no reason needed
    assert (await signup_row(inst, "newbie")).approved_at is not None


# ---- passwords ----


async def test_password_reset_by_mail(start: Any, smtp: SmtpServer) -> None:
    inst = await start("closed")
    client = inst.client
    actor = await inst.create_account("alice", password=PASSWORD)
    async with inst.services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.actor_id == actor.id).values(email="alice@mail.test"))
    app, _ = await app_token(client)
    old = (await password_login(client, app, "alice", PASSWORD)).json()["access_token"]

    # Unknown addresses get the same answer, and no mail.
    assert (
        await client.post("/api/fedigen/password_reset", json={"email": "nobody@mail.test"})
    ).status_code == 200
    assert (
        await client.post("/api/fedigen/password_reset", json={"email": "ALICE@mail.test"})
    ).status_code == 200
    [mail] = smtp.wait_for("alice@mail.test")
    assert smtp.to("nobody@mail.test") == []
    token = next(line.strip() for line in mail.body.splitlines() if len(line.strip()) == 43)

    short = await client.post(
        "/api/fedigen/password_reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422
    done = await client.post(
        "/api/fedigen/password_reset/confirm", json={"token": token, "password": "a new long password"}
    )
    assert done.status_code == 200, done.text
    assert (await password_login(client, app, "alice", PASSWORD)).status_code == 400
    assert (await password_login(client, app, "alice", "a new long password")).status_code == 200
    # The old sessions ended; the token works once.
    assert (await client.get("/api/v1/accounts/verify_credentials", headers=bearer(old))).status_code == 401
    again = await client.post(
        "/api/fedigen/password_reset/confirm", json={"token": token, "password": "yet another one"}
    )
    assert again.status_code == 422


async def test_expired_reset_tokens_are_refused(start: Any, smtp: SmtpServer) -> None:
    inst = await start("closed")
    actor = await inst.create_account("alice", password=PASSWORD)
    async with inst.services.sessions() as session, session.begin():
        await session.execute(update(User).where(User.actor_id == actor.id).values(email="alice@mail.test"))
    await inst.client.post("/api/fedigen/password_reset", data={"email": "alice@mail.test"})
    [mail] = smtp.wait_for("alice@mail.test")
    token = next(line.strip() for line in mail.body.splitlines() if len(line.strip()) == 43)
    async with inst.services.sessions() as session, session.begin():
        await session.execute(update(EmailToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    late = await inst.client.post(
        "/api/fedigen/password_reset/confirm", json={"token": token, "password": "a new long password"}
    )
    assert late.status_code == 422


# ---- the instance's description ----


async def test_rules_and_contact_in_the_instance_documents(start: Any) -> None:
    inst = await start("open", contact_email="admins@fedigen.test")
    await inst.create_account("boss", password=PASSWORD, role=Role.OWNER)
    client = inst.client
    expected = [{"id": "1", "text": RULES[0], "hint": ""}, {"id": "2", "text": RULES[1], "hint": ""}]
    assert (await client.get("/api/v1/instance/rules")).json() == expected
    v1 = (await client.get("/api/v1/instance")).json()
    assert v1["rules"] == expected and v1["registrations"] is True and v1["approval_required"] is False
    assert v1["email"] == "admins@fedigen.test" and v1["contact_account"]["username"] == "boss"
    v2 = (await client.get("/api/v2/instance")).json()
    assert v2["rules"] == expected
    assert v2["contact"]["email"] == "admins@fedigen.test" and v2["contact"]["account"]["username"] == "boss"
    assert v2["registrations"]["enabled"] is True and v2["registrations"]["approval_required"] is False
    assert (await client.get("/nodeinfo/2.1")).json()["openRegistrations"] is True
    about = (await client.get("/about")).text
    assert "Be kind." in about


def test_registration_settings_and_the_open_registrations_alias(tmp_path: Any) -> None:
    def mode(**instance: Any) -> str:
        return make_settings(tmp_path, "sqlite", instance=instance).instance.registration_mode

    assert mode() == "closed"
    assert mode(open_registrations=True) == "open"
    assert mode(open_registrations=False) == "closed"
    assert mode(open_registrations=True, registrations="approval") == "approval"
    assert mode(open_registrations=False, registrations="invite") == "invite"
    with pytest.raises(
        ConfigError, match=r"instance.registrations: expected one of open, approval, invite, closed"
    ):
        mode(registrations="sometimes")
    with pytest.raises(ConfigError, match="instance.rules"):
        make_settings(tmp_path, "sqlite", instance={"rules": ["ok", " "]})
    with pytest.raises(ConfigError, match="instance.contact_email"):
        make_settings(tmp_path, "sqlite", instance={"contact_email": "nobody"})
    with pytest.raises(ConfigError, match="smtp.tls"):
        make_settings(tmp_path, "sqlite", smtp={"tls": "maybe"})
    settings = make_settings(tmp_path, "sqlite", smtp={"host": "mail.test", "from": "hi@fedigen.test"})
    assert settings.smtp.from_address == "hi@fedigen.test" and settings.smtp.port == 587


async def test_moderators_approve_and_reject_through_mastodons_admin_api(start: Any) -> None:
    inst = await start("approval", mail=False)
    _, token = await app_token(inst.client)
    await sign_up(inst.client, token, reason="I paint boats.")
    await sign_up(inst.client, token, username="spam", email="spam@mail.test", reason="buy now")
    await inst.create_account("member", password=PASSWORD)
    await inst.create_account("mod", password=PASSWORD, role=Role.MODERATOR)
    async with inst.services.sessions() as session, session.begin():
        for name in ("newbie", "spam"):  # as the mailed link would
            actor = await session.scalar(select(Actor).where(Actor.username == name))
            assert actor is not None
            await registrations.confirm(session, actor)
    async with inst.services.sessions() as session:
        ids = {
            a.username: a.id
            for a in await session.scalars(select(Actor).where(Actor.username.in_(["newbie", "spam"])))
        }
    member = bearer(await issue_token(inst, "member", "admin:read admin:write"))
    mod = bearer(await issue_token(inst, "mod", "admin:read admin:write"))
    pending = await inst.client.get("/api/v1/admin/accounts", params={"pending": "true"}, headers=mod)
    listed = {a["username"]: a for a in pending.json()}
    assert listed["newbie"]["approved"] is False and listed["newbie"]["invite_request"] == "I paint boats."
    refused = await inst.client.post(f"/api/v1/admin/accounts/{ids['newbie']}/approve", headers=member)
    assert refused.status_code == 403 and (await signup_row(inst, "newbie")).approved_at is None
    approved = await inst.client.post(f"/api/v1/admin/accounts/{ids['newbie']}/approve", headers=mod)
    assert approved.status_code == 200 and approved.json()["approved"] is True
    assert (await signup_row(inst, "newbie")).approved_at is not None
    rejected = await inst.client.post(f"/api/v1/admin/accounts/{ids['spam']}/reject", headers=mod)
    assert rejected.status_code == 200 and rejected.json()["username"] == "spam"
    async with inst.services.sessions() as session:
        assert await session.scalar(select(Actor).where(Actor.username == "spam")) is None
