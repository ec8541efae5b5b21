"""Activities forwarded by another server, vouched for by their author's Linked Data signature
(docs/refusals.md case 19, FEDERATION.md "Forwarded activities").

carol (origin.test) replied to bob's post (forwarder.test) and mentioned alice; bob's Mastodon forwards
the reply to bob's followers with bob's own HTTP signature, carol's RsaSignature2017 in the body. The
documents and their signatures come from tests/support/ld_signatures.json, made by Fedify's signer (an
implementation independent of fedigen's), and are delivered here through the real HTTP inbox.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedigen.social.moderation import block_domain
from storage.models import Actor, InboxItem, Notification, Status
from storage.vocabulary import Visibility
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance
from tests.remote_actor import KeyPair, RemoteActor, RemoteServer, keypair
from tests.support import ld_fixtures

SHARED_INBOX = "/inbox"
FIXTURES = ld_fixtures.load()
CAROL_KEYS = KeyPair(FIXTURES["key"]["private_pem"], FIXTURES["key"]["public_pem"])
AS_CONTENT = "https://www.w3.org/ns/activitystreams#content"


def signed(name: str) -> dict[str, Any]:
    """A fresh copy of a signed fixture document."""
    return copy.deepcopy(FIXTURES["documents"][name])


@pytest.fixture
def origin(router: HostRouter) -> RemoteServer:
    """carol's server; dave has an account there too (with the same key, under his own keyId)."""
    server = RemoteServer("origin.test")
    router.add(server.host, server.app)
    server.add_actor("carol", keys=CAROL_KEYS)
    server.add_actor("dave", keys=CAROL_KEYS)
    return server


@pytest.fixture
def forwarder(router: HostRouter) -> RemoteServer:
    server = RemoteServer("forwarder.test")
    router.add(server.host, server.app)
    return server


@pytest.fixture
def bob(forwarder: RemoteServer) -> RemoteActor:
    return forwarder.add_actor("bob")


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def nothing_stored(inst: Instance) -> None:
    assert await count(inst, InboxItem) == 0
    assert await count(inst, Status) == 0
    assert await count(inst, Notification) == 0


async def refused(inst: Instance, bob: RemoteActor, doc: dict[str, Any] | bytes, needle: str) -> None:
    """bob forwards ``doc``: 403 with a JSON error naming ``needle``, and nothing stored, even later."""
    response = await bob.post(inst.client, SHARED_INBOX, doc)
    assert response.status_code == 403, response.text
    assert needle in response.json()["error"], response.json()
    await inst.drain()
    await nothing_stored(inst)


async def test_forwarded_reply_with_a_good_signature_is_stored_as_its_authors(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor
) -> None:
    response = await bob.post(fedigen.client, SHARED_INBOX, signed("create"))
    assert response.status_code == 202, response.text
    await fedigen.drain()

    async with fedigen.services.sessions() as session:
        status = await session.scalar(select(Status).where(Status.ap_id == ld_fixtures.STATUS))
        assert status is not None
        author = await session.get(Actor, status.actor_id)
    assert author is not None and author.ap_id == ld_fixtures.CAROL
    assert "Nice one" in status.content
    assert status.visibility == Visibility.PUBLIC and not status.sensitive
    assert status.in_reply_to_ap_id == ld_fixtures.THREAD
    assert status.attachments and status.attachments[0]["url"].endswith("/a1b2.png")
    assert origin.requests_to(ld_fixtures.CAROL), "carol's key was fetched from her own server"

    # alice was mentioned: the client API shows her the mention, as carol's.
    token = await issue_token(fedigen, "alice")
    notes = (await fedigen.client.get("/api/v1/notifications", headers=bearer(token))).json()
    assert [(n["type"], n["account"]["acct"]) for n in notes] == [("mention", "carol@origin.test")]
    assert "Nice one" in notes[0]["status"]["content"]

    # Later carol deletes the reply, and bob's server forwards that too.
    response = await bob.post(fedigen.client, SHARED_INBOX, signed("delete"))
    assert response.status_code == 202, response.text
    await fedigen.drain()
    async with fedigen.services.sessions() as session:
        gone = await session.scalar(select(Status).where(Status.ap_id == ld_fixtures.STATUS))
    assert gone is None or gone.deleted_at is not None
    shown = await fedigen.client.get(f"/api/v1/statuses/{status.id}", headers=bearer(token))
    assert shown.status_code == 404


async def test_a_forwarder_renaming_a_term_does_not_change_what_is_read(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor
) -> None:
    # Same RDF, so the signature holds; but read as plain JSON the post would have no content.
    doc = signed("create")
    doc["object"][AS_CONTENT] = doc["object"].pop("content")
    response = await bob.post(fedigen.client, SHARED_INBOX, doc)
    assert response.status_code == 202, response.text
    await fedigen.drain()
    async with fedigen.services.sessions() as session:
        content = await session.scalar(select(Status.content).where(Status.ap_id == ld_fixtures.STATUS))
    assert content is not None and "Nice one" in content


def _tampered_content(doc: dict[str, Any]) -> None:
    doc["object"]["content"] = doc["object"]["contentMap"]["en"] = "<p>Send your password to bob</p>"


def _extra_mention(doc: dict[str, Any]) -> None:
    # The id is relative, so this tag has no place in the RDF: the signature says nothing of it.
    doc["object"]["tag"].append({"id": "x", "type": "Mention", "href": "http://fedigen.test/users/bot"})


def _undefined_property(doc: dict[str, Any]) -> None:
    doc["object"]["summary"] = None
    doc["object"]["spoilerWarning"] = "not covered"


def _later_created(doc: dict[str, Any]) -> None:
    doc["signature"]["created"] = "2026-01-03T10:00:01Z"


@pytest.mark.parametrize(
    ("tamper", "needle"),
    [
        (_tampered_content, "does not verify"),
        (_later_created, "does not verify"),
        (_extra_mention, "does not cover the id 'x'"),
        (_undefined_property, "does not cover the property 'spoilerWarning'"),
    ],
    ids=["content", "created", "relative-id", "undefined-term"],
)
async def test_tampered_forwarded_reply_is_refused_and_nothing_stored(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor, tamper: Any, needle: str
) -> None:
    doc = signed("create")
    tamper(doc)
    await refused(fedigen, bob, doc, needle)


async def test_unknown_context_is_refused_without_any_fetch(
    fedigen: Instance, router: HostRouter, origin: RemoteServer, bob: RemoteActor
) -> None:
    hits: list[str] = []

    async def context(request: Request) -> Response:
        hits.append(str(request.url))
        return Response(json.dumps(ld_fixtures.UNKNOWN_CONTEXT_DOCUMENT), media_type="application/ld+json")

    router.add("unknown-context.test", Starlette(routes=[Route("/{path:path}", context)]))
    await refused(fedigen, bob, signed("unknown_context"), "only bundled contexts are served")
    assert hits == []
    # The document is refused before its signature's key is looked up: carol's server is not asked.
    assert origin.received == []
    assert {r.url.host for r in router.requests} == {
        "forwarder.test"
    }  # bob's own key, for his HTTP signature


async def test_ld_signature_by_another_account_than_the_actor_is_refused(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor
) -> None:
    # dave's key vouches for the document, but its actor is carol.
    await refused(fedigen, bob, signed("create_signed_by_dave"), "the signer is not the activity's actor")


async def test_ld_signed_create_of_an_object_on_another_host_is_refused(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor
) -> None:
    # A good signature by carol, but the Note's id is on bob's server.
    await refused(fedigen, bob, signed("foreign_object"), "object id is not on the actor's host")


async def test_ld_signature_with_a_key_carol_no_longer_has_is_refused(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor
) -> None:
    origin.actors["carol"].rotate_key(keypair("origin.test/carol-new"))
    await refused(fedigen, bob, signed("create"), "does not verify")


async def test_forwarded_by_a_blocked_domain_is_refused(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor
) -> None:
    async with fedigen.services.sessions() as session, session.begin():
        await block_domain(fedigen.services, session, "forwarder.test")
    await refused(fedigen, bob, signed("create"), "blocked")
    assert origin.received == []


@pytest.mark.parametrize(
    "signature",
    [
        None,
        {"type": "RsaSignature2017", "creator": ld_fixtures.CAROL_KEY, "created": ld_fixtures.CREATED},
        {"type": "Ed25519Signature2018", "creator": ld_fixtures.CAROL_KEY, "signatureValue": "AAAA"},
        "not an object",
    ],
    ids=["no-signature", "no-value", "other-suite", "string"],
)
async def test_forwarded_without_a_usable_ld_signature_is_refused(
    fedigen: Instance, origin: RemoteServer, bob: RemoteActor, signature: Any
) -> None:
    doc = signed("create")
    if signature is None:
        del doc["signature"]
    else:
        doc["signature"] = signature
    await refused(fedigen, bob, doc, "")
