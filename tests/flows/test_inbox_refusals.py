"""Bad input at the HTTP inbox (docs/refusals.md, cases 1-20, and "Incoming requests").

Every request goes through the in-process app (``POST /users/alice/inbox`` or ``/inbox``) from a fake
remote server on the fake network (``tests.remote_actor``). A refusal must give its status with a JSON
``{"error": ...}`` body and store nothing; the cases the catalogue answers with "accepted but ignored"
are checked after the worker ran.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from activitypub import cavage
from activitypub.transport import IPAddress, make_http_client
from fedigen.app import create_app
from fedigen.services import open_services
from fedigen.social import accounts, follows
from fedigen.social.moderation import block_domain
from storage import queue
from storage.models import Actor, Follow, InboxItem, Notification, Status
from tests.conftest import HostRouter, Instance, make_settings, prepare_database
from tests.remote_actor import (
    PUBLIC,
    RemoteActor,
    RemoteServer,
    hmac_forgery,
    keypair,
    sign_cavage,
    verify_delivery,
)

BASE = "http://fedigen.test"
INBOX = "/users/alice/inbox"
SHARED_INBOX = "/inbox"
ALICE = f"{BASE}/users/alice"
INBOXES = pytest.mark.parametrize("path", [INBOX, SHARED_INBOX])


# --- fixtures and helpers ---------------------------------------------------------------------------


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def stored(inst: Instance) -> tuple[int, int]:
    """(inbox items, statuses): what a refused request must not have added to."""
    return await count(inst, InboxItem), await count(inst, Status)


async def assert_refused(
    response: httpx.Response, inst: Instance, status: int | tuple[int, ...], before: tuple[int, int] = (0, 0)
) -> None:
    """The refusal's status and JSON error body, and nothing stored by it."""
    allowed = status if isinstance(status, tuple) else (status,)
    assert response.status_code in allowed, response.text
    assert isinstance(response.json().get("error"), str) and response.json()["error"]
    assert await stored(inst) == before


async def actor_row(inst: Instance, ap_id: str) -> Actor | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Actor).where(Actor.ap_id == ap_id))


async def status_row(inst: Instance, ap_id: str) -> Status | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Status).where(Status.ap_id == ap_id))


def body_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


async def deliver_note(inst: Instance, actor: RemoteActor, **fields: Any) -> dict[str, Any]:
    """Have ``actor`` post a Note mentioning alice, accepted and processed; return the Note."""
    note = actor.note(mention=ALICE, **fields)
    response = await actor.post(inst.client, INBOX, actor.create(note))
    assert response.status_code == 202, response.text
    await inst.drain()
    assert await status_row(inst, note["id"]) is not None
    return note


# --- transport: signatures (cases 1-8) --------------------------------------------------------------


@INBOXES
async def test_case1_unsigned_post_is_refused_with_401_and_a_challenge(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, path: str
) -> None:
    body = body_of(bob.create(bob.note(mention=ALICE)))
    response = await fedigen.client.post(
        path, content=body, headers={"Content-Type": "application/activity+json"}
    )
    await assert_refused(response, fedigen, 401)
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["www-authenticate"].startswith("Signature")
    assert remote.received == []


@pytest.mark.parametrize(
    "signature",
    [
        'algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"',  # no keyId
        'keyId="http://remote.test/users/bob#main-key",headers="(request-target) host date digest"',  # no sig
        "this is not a signature header",
        'keyId="http://remote.test/users/bob#main-key",signature="not base64!"',
        'keyId="http://remote.test/users/bob#main-key",keyId="x",signature="AAAA"',
    ],
    ids=["no-keyid", "no-signature", "garbage", "not-base64", "repeated-param"],
)
async def test_case2_malformed_signature_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, signature: str
) -> None:
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = bob.sign(f"{BASE}{INBOX}", body)
    headers["Signature"] = signature
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    assert remote.received == []


@pytest.mark.parametrize("algorithm", ["hmac-sha256", "hs2019", None], ids=["hmac", "hs2019", "no-algorithm"])
async def test_case3_hmac_keyed_with_the_rsa_public_key_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, algorithm: str | None
) -> None:
    # The public PEM is public: anyone could compute this HMAC. The key's type (RSA) decides.
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = hmac_forgery(
        url=f"{BASE}{INBOX}", body=body, key_id=bob.key_id, secret=bob.keys.public_pem, algorithm=algorithm
    )
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    if algorithm == "hmac-sha256":
        assert remote.received == []  # refused on the header's word alone, before any key lookup


async def test_case4_post_whose_signature_does_not_cover_the_digest_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = sign_cavage(
        url=f"{BASE}{INBOX}", body=body, key_id=bob.key_id, private_pem=bob.keys.private_pem,
        covered=("(request-target)", "host", "date", "content-type"),
    )  # fmt: skip
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    assert remote.received == []


@pytest.mark.parametrize("fix_digest", [False, True], ids=["digest-mismatch", "digest-recomputed"])
async def test_case5_body_changed_after_signing_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, fix_digest: bool
) -> None:
    original = bob.create(bob.note("<p>harmless</p>", mention=ALICE))
    headers = bob.sign(f"{BASE}{INBOX}", body_of(original))
    tampered = json.loads(json.dumps(original))
    tampered["object"]["content"] = "<p>tampered</p>"
    body = body_of(tampered)
    if fix_digest:  # the attacker recomputes the Digest too: now the signature itself fails
        headers["Digest"] = cavage.digest_header(body)
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    if not fix_digest:
        assert remote.received == []


@pytest.mark.parametrize("algorithm", ["SHA-512", "MD5"])
async def test_case6_digest_offering_only_sha512_or_md5_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, algorithm: str
) -> None:
    body = body_of(bob.create(bob.note(mention=ALICE)))
    value = base64.b64encode(hashlib.new(algorithm.replace("-", "").lower(), body).digest()).decode()
    headers = sign_cavage(
        url=f"{BASE}{INBOX}", body=body, key_id=bob.key_id, private_pem=bob.keys.private_pem,
        digest=f"{algorithm}={value}",
    )  # fmt: skip
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    assert remote.received == []


@pytest.mark.parametrize(
    "host_header", ["other.test", "fedigen.test"], ids=["replayed-as-is", "host-rewritten"]
)
async def test_case7_signature_made_for_another_host_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, host_header: str
) -> None:
    # Captured on its way to other.test's inbox and replayed to ours.
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = bob.sign(f"http://other.test{INBOX}", body)
    headers["Host"] = host_header
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    if host_header == "other.test":
        assert remote.received == []  # refused before any key lookup


async def test_case7_signature_made_for_another_inbox_path_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = bob.sign(f"{BASE}{INBOX}", body)
    response = await fedigen.client.post(SHARED_INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("offset", [timedelta(hours=-2), timedelta(hours=2)], ids=["2h-old", "2h-ahead"])
async def test_case8_date_outside_the_clock_window_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, offset: timedelta, scheme: str
) -> None:
    # RFC 9421's `created` (and the Date header) come from the same clock here.
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = bob.sign(f"{BASE}{INBOX}", body, now=datetime.now(UTC) + offset, scheme=scheme)
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    await assert_refused(response, fedigen, 401)
    assert remote.received == []


async def test_case8_date_inside_the_window_is_accepted(fedigen: Instance, bob: RemoteActor) -> None:
    body = body_of(bob.create(bob.note(mention=ALICE)))
    headers = bob.sign(f"{BASE}{INBOX}", body, now=datetime.now(UTC) - timedelta(minutes=50))
    response = await fedigen.client.post(INBOX, content=body, headers=headers)
    assert response.status_code == 202, response.text


# --- replay (case 9) --------------------------------------------------------------------------------


async def test_case9_exact_replay_is_accepted_but_idempotent(fedigen: Instance, bob: RemoteActor) -> None:
    note = bob.note("<p>hello @alice</p>", mention=ALICE)
    body = body_of(bob.create(note))
    headers = bob.sign(f"{BASE}{INBOX}", body)
    first = await fedigen.client.post(INBOX, content=body, headers=headers)
    second = await fedigen.client.post(INBOX, content=body, headers=headers)
    assert (first.status_code, second.status_code) == (202, 202)
    assert await count(fedigen, InboxItem) == 1
    await fedigen.drain()
    third = await fedigen.client.post(
        SHARED_INBOX, content=body, headers=bob.sign(f"{BASE}{SHARED_INBOX}", body)
    )
    assert third.status_code == 202
    await fedigen.drain()
    assert await count(fedigen, InboxItem) == 1
    assert await count(fedigen, Status, Status.ap_id == note["id"]) == 1
    assert await count(fedigen, Status) == 1
    assert await count(fedigen, Notification) == 1


# --- key ownership (cases 10, 11) -------------------------------------------------------------------


async def test_case10_key_owned_by_b_for_an_activity_of_a_is_refused(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    # Bob's valid signature (keyId bob#main-key, owner bob) on an activity whose actor is carol.
    activity = carol.create(carol.note(mention=ALICE))
    response = await bob.post(fedigen.client, INBOX, activity)
    await assert_refused(response, fedigen, (401, 403))


async def test_case10_key_document_whose_owner_does_not_list_it_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    # A standalone key document names bob as owner, but bob's actor document lists only #main-key.
    rogue = keypair("rogue")
    key_id = f"{remote.base}/keys/rogue"
    remote.serve({"@context": "https://w3id.org/security/v1", "id": key_id, "owner": bob.ap_id,
                  "publicKeyPem": rogue.public_pem})  # fmt: skip
    response = await bob.post(
        fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), keys=rogue, key_id=key_id
    )
    await assert_refused(response, fedigen, 401)
    assert remote.requests_to(key_id), "the key document was fetched"
    assert remote.requests_to(bob.ap_id), "its owner was fetched to check that it lists the key"


def gotosocial_key_stub(actor: RemoteActor, key_id: str) -> dict[str, object]:
    """What GoToSocial serves at ``/users/NAME/main-key``: a stub of the actor (its id is the actor's URL,
    not the key's) holding only the key. Shape from GoToSocial's docs/federation/federating_with_gotosocial.md
    ("Quirks")."""
    return {
        "@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"],
        "id": actor.ap_id,
        "preferredUsername": actor.username,
        "publicKey": {"id": key_id, "owner": actor.ap_id, "publicKeyPem": actor.keys.public_pem},
        "type": "Person",
    }


async def test_gotosocial_key_stub_is_accepted_on_first_contact(
    fedigen: Instance, remote: RemoteServer
) -> None:
    # GoToSocial's keyId is a path of its own (no fragment) and the document there is an actor stub
    # whose id is the actor's; fedigen then fetches the actor at its id, which lists the key.
    keys = keypair("remote.test/kim")
    key_id = f"{remote.base}/users/kim/main-key"
    kim = remote.add_actor("kim", keys=keys)
    kim.extra["publicKey"] = {"id": key_id, "owner": kim.ap_id, "publicKeyPem": keys.public_pem}
    remote.serve(gotosocial_key_stub(kim, key_id), url=key_id)
    note = kim.note(mention=ALICE)
    response = await kim.post(fedigen.client, INBOX, kim.create(note), key_id=key_id)
    assert response.status_code == 202, response.text
    await fedigen.drain()
    assert await status_row(fedigen, note["id"]) is not None
    assert remote.requests_to(key_id) and remote.requests_to(kim.ap_id), "the stub, then the actor at its id"
    async with fedigen.services.sessions() as session:
        actor = await session.scalar(select(Actor).where(Actor.ap_id == kim.ap_id))
    assert actor is not None and actor.inbox_url == kim.inbox, "the full actor was stored, not the stub"


async def test_standalone_key_document_listed_by_its_owner_is_accepted(
    fedigen: Instance, remote: RemoteServer
) -> None:
    # The other form a keyId takes: a key document of its own (id = keyId, owner, publicKeyPem), listed
    # by its owner's actor document. (It once left a resolver session open and locked SQLite.)
    keys = keypair("remote.test/kim")
    key_id = f"{remote.base}/keys/kim"
    key_doc = {"id": key_id, "owner": f"{remote.base}/users/kim", "publicKeyPem": keys.public_pem}
    kim = remote.add_actor("kim", keys=keys, publicKey=key_doc)
    remote.serve({"@context": "https://w3id.org/security/v1", **key_doc})
    note = kim.note(mention=ALICE)
    response = await kim.post(fedigen.client, INBOX, kim.create(note), key_id=key_id)
    assert response.status_code == 202, response.text
    await fedigen.drain()
    assert await status_row(fedigen, note["id"]) is not None


async def test_gotosocial_key_stub_whose_actor_does_not_list_the_key_is_refused(
    fedigen: Instance, remote: RemoteServer
) -> None:
    # The stub names kim, but kim's actor document lists another key: the owner check still runs.
    rogue = keypair("rogue")
    kim = remote.add_actor("kim")
    key_id = f"{remote.base}/users/kim/main-key"
    stub = gotosocial_key_stub(kim, key_id)
    stub["publicKey"] = {"id": key_id, "owner": kim.ap_id, "publicKeyPem": rogue.public_pem}
    remote.serve(stub, url=key_id)
    response = await kim.post(
        fedigen.client, INBOX, kim.create(kim.note(mention=ALICE)), keys=rogue, key_id=key_id
    )
    await assert_refused(response, fedigen, 401)
    assert remote.requests_to(kim.ap_id), "the owner was fetched to check that it lists the key"


async def test_key_stub_on_one_host_cannot_vouch_for_an_actor_on_another(
    fedigen: Instance, router: HostRouter, remote: RemoteServer
) -> None:
    # evil.test serves a GoToSocial-shaped stub at its own keyId naming kim of remote.test as owner, and
    # signs an activity of kim's with it. Kim's own document even lists that key (a compromised or
    # careless peer): a key on one host still never speaks for an actor on another.
    evil = RemoteServer("evil.test")
    router.add(evil.host, evil.app)
    rogue = keypair("rogue")
    key_id = f"{evil.base}/users/kim/main-key"
    kim = remote.add_actor("kim", keys=rogue)
    kim.extra["publicKey"] = {"id": key_id, "owner": kim.ap_id, "publicKeyPem": rogue.public_pem}
    evil.serve({**gotosocial_key_stub(kim, key_id), "id": f"{evil.base}/users/kim"}, url=key_id)
    response = await kim.post(fedigen.client, INBOX, kim.create(kim.note(mention=ALICE)), key_id=key_id)
    await assert_refused(response, fedigen, 401)
    assert not remote.requests_to(kim.ap_id), "the refusal came before any fetch of the named owner"


async def test_case10_actor_document_not_listing_the_key_is_refused(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    # keyId with a fragment the actor document does not have.
    response = await bob.post(
        fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), key_id=f"{bob.ap_id}#other-key"
    )
    await assert_refused(response, fedigen, 401)


async def test_case10_an_actor_document_cannot_take_over_another_actors_key(
    fedigen: Instance, router: HostRouter, bob: RemoteActor
) -> None:
    await deliver_note(fedigen, bob)  # bob's key is known and cached
    evil = RemoteServer("evil.test")
    router.add(evil.host, evil.app)
    mallory = evil.add_actor("mallory")
    mallory.extra["publicKey"] = {
        "id": bob.key_id,
        "owner": mallory.ap_id,
        "publicKeyPem": mallory.keys.public_pem,
    }
    before = await stored(fedigen)
    # 1. A junk signature under bob's keyId spends bob's key refresh for the next minute.
    junk = await mallory.post(fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), key_id=bob.key_id)
    await assert_refused(junk, fedigen, 401, before)
    # 2. mallory's own request makes fedigen fetch her document, which claims bob's keyId as hers.
    claim = await mallory.post(fedigen.client, INBOX, mallory.create(mallory.note(mention=ALICE)))
    await assert_refused(claim, fedigen, 401, before)
    # 3. bob's genuine request must still verify with bob's key.
    note = bob.note("<p>still me</p>", mention=ALICE)
    response = await bob.post(fedigen.client, INBOX, bob.create(note))
    assert response.status_code == 202, response.text


@asynccontextmanager
async def tcp_listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A loopback HTTP server that answers 404 and records every connection made to it."""
    connections: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(str(writer.get_extra_info("peername")))
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    async with server:
        yield port, connections


@asynccontextmanager
async def instance_on_real_network(
    tmp_path: Path, backend: str, http: httpx.AsyncClient | None = None, **federation: Any
) -> AsyncIterator[Instance]:
    """start_instance, but with the production HTTP client (its address guard) instead of the fake network.

    conftest's ``start_instance`` hands fedigen an httpx client on the HostRouter, which has no
    address guard: there a fetch of a private keyId simply reaches the router. The guard lives in the
    transport that ``make_http_client`` builds, so case 11 needs the real client and a real socket.
    """
    settings = make_settings(tmp_path, backend, federation=federation)
    await prepare_database(settings)
    async with AsyncExitStack() as stack:
        svc = await stack.enter_async_context(open_services(settings, http=http))
        async with svc.sessions() as session, session.begin():
            await accounts.ensure_instance_actor(session, svc.urls)
            await accounts.create_account(session, svc.urls, "alice")
        await svc.signer.load()
        app = create_app(settings, run_worker=False, services=svc)
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.base_url)
        )
        yield Instance(settings, svc, app, client)


async def test_case11_keyid_on_a_loopback_address_is_refused_without_connecting(
    tmp_path: Path, backend: str
) -> None:
    mallory = RemoteServer("remote.test").add_actor("mallory")
    async with tcp_listener() as (port, connections):
        key_id = f"http://127.0.0.1:{port}/key"
        async with instance_on_real_network(tmp_path, backend, allow_private_addresses=False) as inst:
            activity = mallory.create(mallory.note(mention=ALICE))
            response = await mallory.post(inst.client, INBOX, activity, key_id=key_id)
            await assert_refused(response, inst, 401)
            assert "not a public address" in response.json()["error"]
        assert connections == [], "fedigen connected to a loopback address"


async def test_case11_keyid_whose_name_resolves_to_a_private_address_is_refused_without_connecting(
    tmp_path: Path, backend: str
) -> None:
    mallory = RemoteServer("remote.test").add_actor("mallory")
    looked_up: list[str] = []

    async def rebinding_dns(host: str, port: int) -> list[IPAddress]:
        looked_up.append(host)
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("127.0.0.1")]

    async with tcp_listener() as (port, connections):
        http = make_http_client(
            allow_private_addresses=False, user_agent="fedigen-test", resolver=rebinding_dns
        )
        async with (
            http,
            instance_on_real_network(tmp_path, backend, http=http, allow_private_addresses=False) as inst,
        ):
            activity = mallory.create(mallory.note(mention=ALICE))
            response = await mallory.post(
                inst.client, INBOX, activity, key_id=f"http://keys.evil.test:{port}/key"
            )
            await assert_refused(response, inst, 401)
            assert "not a public address" in response.json()["error"]
        assert looked_up == ["keys.evil.test"]
        assert connections == []


async def test_case11_control_private_addresses_allowed_by_configuration_are_contacted(
    tmp_path: Path, backend: str
) -> None:
    # Proves the listener above would have seen fedigen's connection.
    mallory = RemoteServer("remote.test").add_actor("mallory")
    async with tcp_listener() as (port, connections):
        async with instance_on_real_network(tmp_path, backend, allow_private_addresses=True) as inst:
            activity = mallory.create(mallory.note(mention=ALICE))
            response = await mallory.post(inst.client, INBOX, activity, key_id=f"http://127.0.0.1:{port}/key")
            await assert_refused(response, inst, 401)  # the "key" is a 404
            assert "404" in response.json()["error"]
        assert len(connections) >= 1


# --- blocked and deleted senders (case 12) ----------------------------------------------------------


async def test_case12_signature_from_a_blocked_domain_is_refused_403(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    async with fedigen.services.sessions() as session, session.begin():
        await block_domain(fedigen.services, session, "remote.test", reason="spam")
    response = await bob.post(fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)))
    await assert_refused(response, fedigen, 403)
    assert remote.received == [], "nothing is fetched from a blocked domain"


async def test_case12_blocked_domain_with_a_cached_key_is_refused_403(
    fedigen: Instance, bob: RemoteActor
) -> None:
    await deliver_note(fedigen, bob)
    before = await stored(fedigen)
    async with fedigen.services.sessions() as session, session.begin():
        await block_domain(fedigen.services, session, "remote.test", reason="spam")
    response = await bob.post(fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)))
    await assert_refused(response, fedigen, 403, before)


async def test_case12_deleted_actor_is_refused_403(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await deliver_note(fedigen, bob)
    # Bob deletes his account: his server sends Delete{actor} and answers 410 from now on.
    assert (
        await bob.post(fedigen.client, SHARED_INBOX, bob.activity("Delete", bob.ap_id, to=[PUBLIC]))
    ).status_code == 202
    remote.delete(bob.ap_id)
    await fedigen.drain()
    row = await actor_row(fedigen, bob.ap_id)
    assert row is not None and row.deleted_at is not None
    before = await stored(fedigen)
    response = await bob.post(fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)))
    await assert_refused(response, fedigen, 403, before)


# --- origin and authorization (cases 13-20) ---------------------------------------------------------


async def test_case13_signed_by_a_with_body_actor_b_is_refused_403(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    await deliver_note(fedigen, carol)  # carol is known; that changes nothing
    before = await stored(fedigen)
    forged = bob.create(bob.note(mention=ALICE))
    forged["actor"] = carol.ap_id
    forged["object"]["attributedTo"] = carol.ap_id
    response = await bob.post(fedigen.client, INBOX, forged)
    await assert_refused(response, fedigen, 403, before)


async def test_case14_foreign_activity_id_is_refused_and_does_not_suppress_the_genuine_one(
    fedigen: Instance, router: HostRouter, bob: RemoteActor
) -> None:
    other = RemoteServer("other.test")
    router.add(other.host, other.app)
    dave = other.add_actor("dave")
    genuine = dave.create(dave.note("<p>the real one</p>", mention=ALICE))
    forged = bob.create(bob.note("<p>the fake one</p>", mention=ALICE))
    forged["id"] = genuine["id"]
    response = await bob.post(fedigen.client, INBOX, forged)
    await assert_refused(response, fedigen, 403)

    response = await dave.post(fedigen.client, INBOX, genuine)
    assert response.status_code == 202, response.text
    await fedigen.drain()
    status = await status_row(fedigen, genuine["object"]["id"])
    assert status is not None and "the real one" in status.content
    assert await count(fedigen, Status) == 1


async def test_case15_create_whose_object_id_is_on_another_host_is_refused(
    fedigen: Instance, bob: RemoteActor
) -> None:
    note = bob.note(mention=ALICE, id="http://other.test/users/dave/statuses/1")
    response = await bob.post(fedigen.client, INBOX, bob.create(note))
    await assert_refused(response, fedigen, 403)


async def test_case15_create_naming_an_object_on_another_host_stores_and_fetches_nothing(
    fedigen: Instance, router: HostRouter, bob: RemoteActor
) -> None:
    # The object given by id only: refused at the door or dropped by the worker, never fetched.
    other = RemoteServer("other.test")
    router.add(other.host, other.app)
    dave = other.add_actor("dave")
    note = dave.note(mention=ALICE, attributedTo=bob.ap_id)
    other.serve(note)
    response = await bob.post(fedigen.client, INBOX, bob.create(note["id"], to=[PUBLIC]))
    assert response.status_code in (202, 403), response.text
    await fedigen.drain()
    assert await count(fedigen, Status) == 0
    assert other.received == []


async def test_case16_create_naming_a_same_host_object_attributed_to_someone_else_is_dropped(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, carol: RemoteActor
) -> None:
    note = carol.note(mention=ALICE)
    remote.serve(note)
    response = await bob.post(fedigen.client, INBOX, bob.create(note["id"], to=[PUBLIC]))
    assert response.status_code in (202, 403), response.text
    await fedigen.drain()
    assert await count(fedigen, Status) == 0


async def test_case16_create_whose_note_is_attributed_to_someone_else_is_refused(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    note = bob.note(mention=ALICE, attributedTo=carol.ap_id)
    response = await bob.post(fedigen.client, INBOX, bob.create(note))
    await assert_refused(response, fedigen, 403)


async def test_case17_update_of_someone_elses_profile_changes_nothing(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    await deliver_note(fedigen, carol)
    await deliver_note(fedigen, bob)
    before = await actor_row(fedigen, carol.ap_id)
    assert before is not None
    hijacked = {**carol.document(), "name": "Hacked", "summary": "<p>pwned</p>", "movedTo": bob.ap_id}
    response = await bob.post(fedigen.client, INBOX, bob.activity("Update", hijacked, to=[PUBLIC]))
    assert response.status_code == 202, response.text
    await fedigen.drain()
    after = await actor_row(fedigen, carol.ap_id)
    assert after is not None
    assert (after.display_name, after.summary, after.moved_to_ap_id) == (
        before.display_name, before.summary, before.moved_to_ap_id,
    )  # fmt: skip
    assert after.display_name == "Carol"


async def test_case17_update_of_someone_elses_note_changes_nothing(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    note = await deliver_note(fedigen, carol, content="<p>carol's words</p>")
    # Same host, so the ids pass the origin rules; bob claims the note as his own to get past them.
    edited = {
        **note,
        "content": "<p>bob's words</p>",
        "attributedTo": bob.ap_id,
        "updated": "2026-01-02T00:00:00Z",
    }
    response = await bob.post(fedigen.client, INBOX, bob.activity("Update", edited))
    assert response.status_code == 202, response.text
    await fedigen.drain()
    status = await status_row(fedigen, note["id"])
    assert status is not None and "carol's words" in status.content and status.edited_at is None


async def test_case18_delete_of_someone_elses_note_deletes_nothing(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    note = await deliver_note(fedigen, carol)
    tombstone = {"id": note["id"], "type": "Tombstone"}
    response = await bob.post(fedigen.client, INBOX, bob.activity("Delete", tombstone, to=[PUBLIC]))
    assert response.status_code == 202, response.text
    await fedigen.drain()
    status = await status_row(fedigen, note["id"])
    assert status is not None and status.deleted_at is None
    assert await count(fedigen, Notification) == 1  # carol's mention notification is still there


async def test_case18_delete_before_its_create_makes_the_late_create_ignored(
    fedigen: Instance, bob: RemoteActor
) -> None:
    note = bob.note(mention=ALICE)
    delete = bob.activity("Delete", {"id": note["id"], "type": "Tombstone"}, to=[PUBLIC])
    assert (await bob.post(fedigen.client, INBOX, delete)).status_code == 202
    await fedigen.drain()
    assert (await bob.post(fedigen.client, INBOX, bob.create(note))).status_code == 202
    await fedigen.drain()
    assert await count(fedigen, Status) == 0
    assert await count(fedigen, Notification) == 0


async def test_case18_delete_by_someone_else_does_not_suppress_the_authors_late_create(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    note = carol.note("<p>carol's post</p>", mention=ALICE)
    delete = bob.activity("Delete", {"id": note["id"], "type": "Tombstone"}, to=[PUBLIC])
    assert (await bob.post(fedigen.client, INBOX, delete)).status_code == 202
    await fedigen.drain()
    assert (await carol.post(fedigen.client, INBOX, carol.create(note))).status_code == 202
    await fedigen.drain()
    assert await status_row(fedigen, note["id"]) is not None


async def test_case19_activity_whose_ld_signature_does_not_verify_is_refused(
    fedigen: Instance, bob: RemoteActor, carol: RemoteActor
) -> None:
    # A relay (bob's key) forwards carol's activity with a Linked Data signature that is not carol's.
    # Good signatures: tests/flows/test_forwarded_activities.py.
    relayed = carol.create(carol.note(mention=ALICE))
    relayed["signature"] = {
        "type": "RsaSignature2017", "creator": carol.key_id, "created": "2026-01-01T12:00:00Z",
        "signatureValue": "bm90IGEgcmVhbCBzaWduYXR1cmU=",
    }  # fmt: skip
    response = await bob.post(fedigen.client, SHARED_INBOX, relayed)
    await assert_refused(response, fedigen, 403)
    assert "Linked Data signature does not verify" in response.json()["error"]
    await fedigen.drain()
    assert await stored(fedigen) == (0, 0)
    assert await count(fedigen, Notification) == 0


async def _alice_follows(inst: Instance, target: RemoteActor) -> str:
    """alice sends a Follow to ``target`` (delivered); returns the Follow's id."""
    svc = inst.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        actor = await svc.resolver.get_actor(target.ap_id, session=session)
        row = await follows.follow(svc, session, alice, actor)
        assert row.state == "requested" and row.ap_id
        follow_id = row.ap_id
    await inst.drain()
    return follow_id


async def _follow_state(inst: Instance, followee: str) -> str | None:
    async with inst.services.sessions() as session:
        return await session.scalar(
            select(Follow.state).join(Actor, Actor.id == Follow.followee_id).where(Actor.ap_id == followee)
        )


async def test_case20_accept_from_someone_other_than_the_followee_is_ignored(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor, carol: RemoteActor
) -> None:
    follow_id = await _alice_follows(fedigen, bob)
    delivered = [r.json for r in remote.posts()]
    assert [d["type"] for d in delivered] == ["Follow"] and delivered[0]["id"] == follow_id
    follow = {"id": follow_id, "type": "Follow", "actor": ALICE, "object": bob.ap_id}
    for obj in (follow, follow_id):
        response = await carol.post(fedigen.client, INBOX, carol.activity("Accept", obj, to=[ALICE]))
        assert response.status_code == 202, response.text
    await fedigen.drain()
    assert await _follow_state(fedigen, bob.ap_id) == "requested"
    # The followee's own Accept does count.
    assert (
        await bob.post(fedigen.client, INBOX, bob.activity("Accept", follow, to=[ALICE]))
    ).status_code == 202
    await fedigen.drain()
    assert await _follow_state(fedigen, bob.ap_id) == "accepted"


async def test_case20_accept_of_a_follow_we_never_sent_is_ignored(
    fedigen: Instance, bob: RemoteActor
) -> None:
    for obj in (
        f"{BASE}/activities/00000000-0000-0000-0000-000000000000",
        {"id": f"{BASE}/activities/1", "type": "Follow", "actor": ALICE, "object": bob.ap_id},
        {"type": "Follow", "actor": ALICE, "object": bob.ap_id},
    ):
        response = await bob.post(fedigen.client, INBOX, bob.activity("Accept", obj, to=[ALICE]))
        assert response.status_code == 202, response.text
    await fedigen.drain()
    assert await count(fedigen, Follow) == 0


async def test_case20_follow_of_a_locked_account_grants_nothing_until_approved(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await fedigen.create_account("lena", locked=True)
    follow = bob.activity("Follow", f"{BASE}/users/lena", to=[f"{BASE}/users/lena"])
    assert (await bob.post(fedigen.client, "/users/lena/inbox", follow)).status_code == 202
    await fedigen.drain()
    assert await _follow_state(fedigen, f"{BASE}/users/lena") == "requested"
    assert await count(fedigen, Notification, Notification.type == "follow_request") == 1
    assert remote.posts() == [], "nothing is sent before the owner answers"
    followers = await fedigen.client.get(
        "/users/lena/followers", headers={"Accept": "application/activity+json"}
    )
    assert followers.json()["totalItems"] == 0

    svc = fedigen.services
    async with svc.sessions() as session, session.begin():
        lena = await accounts.get_local(session, "lena")
        requester = await session.scalar(select(Actor).where(Actor.ap_id == bob.ap_id))
        assert requester is not None
        await follows.answer_request(svc, session, lena, requester, approve=True)
    await fedigen.drain()
    assert await _follow_state(fedigen, f"{BASE}/users/lena") == "accepted"
    [accept] = remote.posts()
    assert accept.url == bob.inbox
    assert accept.json["type"] == "Accept" and accept.json["actor"] == f"{BASE}/users/lena"
    assert accept.json["object"]["id"] == follow["id"]
    key = await verify_delivery(accept, fedigen.client)
    assert key.owner == f"{BASE}/users/lena"


# --- transport limits and parsing -------------------------------------------------------------------


async def test_body_over_one_megabyte_is_refused_413(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    note = bob.note("<p>" + "a" * 1_100_000 + "</p>", mention=ALICE)
    response = await bob.post(fedigen.client, INBOX, bob.create(note))
    await assert_refused(response, fedigen, 413)
    assert remote.received == []


async def test_text_html_body_is_refused_415(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    response = await bob.post(
        fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), content_type="text/html"
    )
    await assert_refused(response, fedigen, 415)
    assert remote.received == []


async def test_invalid_json_is_refused_400(fedigen: Instance, remote: RemoteServer, bob: RemoteActor) -> None:
    response = await bob.post(fedigen.client, INBOX, b'{"type": "Create", "actor": ')
    await assert_refused(response, fedigen, 400)


@pytest.mark.parametrize("body", [b"[]", b'"Create"', b'{"@graph": [], "type": "Create"}'])
async def test_json_that_is_not_an_activity_object_is_refused_400(
    fedigen: Instance, bob: RemoteActor, body: bytes
) -> None:
    response = await bob.post(fedigen.client, INBOX, body)
    await assert_refused(response, fedigen, 400)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type": "Create", "object": ' + b"[" * 40 + b"]" * 40 + b"}",  # deeper than MAX_DEPTH
        b'{"type": "Create", "to": [' + b",".join([b'"x"'] * 10_001) + b"]}",  # longer than MAX_LIST_ITEMS
    ],
    ids=["depth-40", "list-10001"],
)
async def test_json_over_the_shape_bounds_is_refused_400(
    fedigen: Instance, bob: RemoteActor, body: bytes
) -> None:
    response = await bob.post(fedigen.client, INBOX, body)
    await assert_refused(response, fedigen, 400)


@pytest.mark.parametrize("signed", [True, False])
async def test_absurdly_nested_json_is_refused_400_not_a_crash(
    fedigen: Instance, bob: RemoteActor, signed: bool
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000  # 200 kB, under the size limit
    if signed:
        response = await bob.post(fedigen.client, INBOX, body)
    else:
        response = await fedigen.client.post(
            INBOX, content=body, headers={"Content-Type": "application/activity+json"}
        )
    await assert_refused(response, fedigen, 400)


async def test_inbox_of_an_unknown_account_is_404(fedigen: Instance, bob: RemoteActor) -> None:
    response = await bob.post(fedigen.client, "/users/nobody/inbox", bob.create(bob.note(mention=ALICE)))
    await assert_refused(response, fedigen, 404)


async def test_unknown_activity_type_is_accepted_and_dropped_by_the_worker(
    fedigen: Instance, bob: RemoteActor
) -> None:
    odd = bob.activity("EmojiReact", f"{BASE}/users/alice/statuses/1", content=":blobcat:")
    response = await bob.post(fedigen.client, INBOX, odd)
    assert response.status_code == 202, response.text
    await fedigen.drain()
    async with fedigen.services.sessions() as session:
        item = await session.scalar(select(InboxItem).where(InboxItem.activity_ap_id == odd["id"]))
    assert item is not None and item.state == queue.DONE and item.last_error is None
    # The worker is still fine: the next activity is processed.
    await deliver_note(fedigen, bob)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_other_content_types_are_refused_415(
    fedigen: Instance, bob: RemoteActor, content_type: str
) -> None:
    response = await bob.post(
        fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), content_type=content_type
    )
    await assert_refused(response, fedigen, 415)


# --- accepted forms: RFC 9421 and key rotation ------------------------------------------------------


@INBOXES
async def test_rfc9421_signed_post_is_accepted(fedigen: Instance, bob: RemoteActor, path: str) -> None:
    note = bob.note(mention=ALICE)
    response = await bob.post(fedigen.client, path, bob.create(note), scheme="rfc9421")
    assert response.status_code == 202, response.text
    await fedigen.drain()
    assert await status_row(fedigen, note["id"]) is not None


@pytest.mark.parametrize(
    "content_type",
    [
        "application/activity+json",
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        "application/json; charset=utf-8",
    ],
)
async def test_activitystreams_and_json_content_types_are_accepted(
    fedigen: Instance, bob: RemoteActor, content_type: str
) -> None:
    response = await bob.post(
        fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), content_type=content_type
    )
    assert response.status_code == 202, response.text


async def test_key_rotation_is_picked_up_after_one_refetch(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    old = bob.keys
    await deliver_note(fedigen, bob)
    fetches = len(remote.requests_to(bob.ap_id))
    assert fetches == 1

    bob.rotate_key(keypair("remote.test/bob/rotated"))
    note = bob.note("<p>signed with my new key</p>", mention=ALICE)
    response = await bob.post(fedigen.client, INBOX, bob.create(note))
    assert response.status_code == 202, response.text
    assert len(remote.requests_to(bob.ap_id)) == fetches + 1, "exactly one refetch of the actor document"
    await fedigen.drain()
    assert await status_row(fedigen, note["id"]) is not None
    # The retired key no longer verifies (and is not refetched again right away).
    before = await stored(fedigen)
    response = await bob.post(fedigen.client, INBOX, bob.create(bob.note(mention=ALICE)), keys=old)
    await assert_refused(response, fedigen, 401, before)
    assert len(remote.requests_to(bob.ap_id)) == fetches + 1
