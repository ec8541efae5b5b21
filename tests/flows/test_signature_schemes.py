"""Outgoing signatures per host: RFC 9421 or draft-cavage first, one retry in the other on a refusal, and
the answer remembered on the ``hosts`` row (activitypub.schemes; FEDERATION.md "HTTP Signatures").

The peers are real HTTP servers on 127.0.0.1 (uvicorn in a thread) reached through fedigen's own pooled
client, and each verifies one scheme only, with a library of its own: RFC 9421 with
``http-message-signatures`` under Mastodon 4.5's requirements (docs.joinmastodon.org/spec/security,
"HTTP Message Signatures": ``created``, ``@method``, ``@target-uri``, ``content-digest``,
``rsa-v1_5-sha256``), draft-cavage with ``httpsig`` (what Bridgy Fed verifies with). Each serves the
NodeInfo it is told to.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from http_message_signatures import HTTPMessageVerifier, MappingKeyResolver, algorithms
from httpsig.verify import HeaderVerifier
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.outbox import enqueue_deliveries, record
from activitypub.schemes import CAVAGE_MEMORY
from fedigen.services import open_services
from storage.models import Actor, Delivery, Host, utcnow
from tests.conftest import HostRouter, Instance
from tests.flows.test_inbox_refusals import instance_on_real_network
from tests.remote_actor import RemoteServer
from tests.support.server import LoopbackServer

RFC9421 = "rfc9421"
CAVAGE = "draft-cavage"
MASTODON_45 = ("mastodon", "4.5.2")
MASTODON_44 = ("mastodon", "4.4.7")


# --- the peers --------------------------------------------------------------------------------------


@dataclass
class _Message:
    method: str
    url: str
    headers: Any


class Peer:
    """An inbox (and a document) on loopback that takes one signature scheme only, and its NodeInfo."""

    def __init__(self, accepts: str, software: tuple[str, str] | None = None, *, bad_request: bool = False):
        self.accepts = accepts
        self.software = software
        # Refuse with 400 and a message about the signature instead of 401 (as some servers do).
        self.bad_request = bad_request
        self.keys: dict[str, str] = {}  # keyId -> public PEM, filled in by the test
        self.attempts: list[tuple[str | None, int]] = []
        self.nodeinfo_asked = 0
        self.server = LoopbackServer(
            Starlette(
                routes=[
                    Route("/inbox", self.inbox, methods=["POST"]),
                    Route("/notes/1", self.note, methods=["GET"]),
                    Route("/.well-known/nodeinfo", self.nodeinfo_links),
                    Route("/nodeinfo/2.1", self.nodeinfo),
                ]
            )
        )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def schemes_tried(self) -> list[str | None]:
        return [scheme for scheme, _ in self.attempts]

    async def inbox(self, request: Request) -> Response:
        return self._answer(request, await request.body(), {})

    async def note(self, request: Request) -> Response:
        doc = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.url}/notes/1",
            "type": "Note",
        }
        return self._answer(request, b"", doc)

    def _answer(self, request: Request, body: bytes, doc: dict[str, Any]) -> Response:
        if "signature-input" in request.headers:
            scheme: str | None = RFC9421
        elif "signature" in request.headers:
            scheme = CAVAGE
        else:
            scheme = None
        ok = scheme == self.accepts and (
            self._rfc9421(request, body) if scheme == RFC9421 else self._cavage(request, body)
        )
        status = (202 if request.method == "POST" else 200) if ok else (400 if self.bad_request else 401)
        self.attempts.append((scheme, status))
        if not ok:
            return JSONResponse({"error": "Signature verification failed"}, status_code=status)
        if doc:
            return JSONResponse(doc, media_type="application/activity+json")
        return Response(status_code=status)

    def _rfc9421(self, request: Request, body: bytes) -> bool:
        verifier = HTTPMessageVerifier(
            signature_algorithm=algorithms.RSA_V1_5_SHA256,
            key_resolver=MappingKeyResolver(
                public_keys={k: v.encode() for k, v in self.keys.items()}, private_keys={}
            ),
        )
        required = ("@method", "@target-uri") + (("content-digest",) if request.method == "POST" else ())
        try:
            results = verifier.verify(
                _Message(request.method, str(request.url), request.headers),
                max_age=timedelta(minutes=5),
                require_components=required,
                body=body if request.method == "POST" else None,
            )
        except Exception:  # noqa: BLE001 - any failure is a refusal
            return False
        return len(results) == 1 and "created" in results[0].parameters

    def _cavage(self, request: Request, body: bytes) -> bool:
        headers = dict(request.headers)
        covered = ["(request-target)", "host", "date"] + (["digest"] if request.method == "POST" else [])
        try:
            key_id = headers["signature"].split('keyId="', 1)[1].split('"', 1)[0]
            verified = HeaderVerifier(
                headers, self.keys[key_id], required_headers=covered, method=request.method,
                path=request.url.path, sign_header="signature",
            ).verify()  # fmt: skip
        except Exception:  # noqa: BLE001 - any failure is a refusal
            return False
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        return bool(verified) and (request.method != "POST" or headers.get("digest") == digest)

    async def nodeinfo_links(self, request: Request) -> Response:
        self.nodeinfo_asked += 1
        if self.software is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        link = {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{self.url}/nodeinfo/2.1"}
        return JSONResponse({"links": [link]})

    async def nodeinfo(self, request: Request) -> Response:
        assert self.software is not None
        name, version = self.software
        return JSONResponse(
            {"version": "2.1", "software": {"name": name, "version": version}, "protocols": ["activitypub"]},
            media_type='application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"',
        )


@pytest.fixture
def peers() -> Iterator[list[Peer]]:
    """Peers the test makes (``peers.append(...)``) are started as they are added, stopped at the end."""
    made: list[Peer] = []
    yield made
    for peer in made:
        peer.server.stop()


def start(peers: list[Peer], peer: Peer) -> Peer:
    peer.server.start()
    peers.append(peer)
    return peer


# --- fedigen ----------------------------------------------------------------------------------------


@asynccontextmanager
async def fedigen(tmp_path: Path, backend: str) -> AsyncIterator[Instance]:
    async with instance_on_real_network(tmp_path, backend) as inst:
        yield inst


async def alice_key(inst: Instance) -> tuple[str, str]:
    async with inst.services.sessions() as session:
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        assert alice.public_key_id and alice.public_key_pem
        return alice.public_key_id, alice.public_key_pem


async def trust_alice(inst: Instance, *peers: Peer) -> None:
    key_id, pem = await alice_key(inst)
    for peer in peers:
        peer.keys[key_id] = pem


_sent = iter(range(1, 1_000_000))


async def deliver(inst: Instance, peer: Peer, count: int = 1) -> None:
    """alice sends ``count`` Likes to the peer's inbox, in one batch of the deliverer; what it learned is
    stored before this returns."""
    async with inst.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        for _ in range(count):
            doc = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{alice.ap_id}#likes/{next(_sent)}",
                "type": "Like", "actor": alice.ap_id, "object": f"{peer.url}/notes/1",
            }  # fmt: skip
            activity = await record(session, alice, doc)
            await enqueue_deliveries(session, activity, [f"{peer.url}/inbox"])
    assert await inst.services.deliverer.run_once() == count
    assert inst.services.fetcher.schemes is not None
    await inst.services.fetcher.schemes.flush()


async def host_row(inst: Instance, host: str) -> Host | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Host).where(Host.domain == host))


async def delivered(inst: Instance) -> list[str]:
    async with inst.services.sessions() as session:
        return list(await session.scalars(select(Delivery.state).order_by(Delivery.id)))


# --- tests ------------------------------------------------------------------------------------------


async def test_unknown_host_gets_cavage_then_rfc9421_on_a_401_and_rfc9421_from_then_on(
    tmp_path: Path, backend: str, peers: list[Peer]
) -> None:
    peer = start(peers, Peer(accepts=RFC9421))  # no NodeInfo: nothing says it takes RFC 9421
    async with fedigen(tmp_path, backend) as inst:
        await trust_alice(inst, peer)
        await deliver(inst, peer)
        assert peer.attempts == [(CAVAGE, 401), (RFC9421, 202)]
        row = await host_row(inst, peer.host)
        assert row is not None and row.signature_scheme == RFC9421 and row.signature_scheme_at is not None
        assert row.nodeinfo_checked_at is not None and row.software_name is None

        await deliver(inst, peer)
        assert peer.attempts[2:] == [(RFC9421, 202)]
        assert peer.nodeinfo_asked == 1, "NodeInfo is asked once, not per delivery"
        assert await delivered(inst) == ["done", "done"]

        # Another process (a second worker, or after a restart) knows it from the table.
        async with open_services(inst.settings) as other:
            assert other.fetcher.schemes is not None
            assert await other.fetcher.schemes.first(f"{peer.url}/inbox") == RFC9421


async def test_mastodon_45_by_its_nodeinfo_gets_rfc9421_first(
    tmp_path: Path, backend: str, peers: list[Peer]
) -> None:
    peer = start(peers, Peer(accepts=RFC9421, software=MASTODON_45))
    older = start(peers, Peer(accepts=CAVAGE, software=MASTODON_44))
    async with fedigen(tmp_path, backend) as inst:
        await trust_alice(inst, peer, older)
        await deliver(inst, peer, count=3)  # three at once: NodeInfo is asked once for them all
        await deliver(inst, older)
        assert peer.attempts == [(RFC9421, 202)] * 3 and peer.nodeinfo_asked == 1
        assert older.attempts == [(CAVAGE, 202)]
        row = await host_row(inst, peer.host)
        assert row is not None and (row.software_name, row.software_version) == MASTODON_45
        old_row = await host_row(inst, older.host)
        assert old_row is not None and old_row.signature_scheme is None, "cavage taken says nothing of 9421"


async def test_a_host_that_refuses_rfc9421_gets_cavage_until_the_memory_expires(
    tmp_path: Path, backend: str, peers: list[Peer]
) -> None:
    # It calls itself Mastodon 4.5, yet takes draft-cavage only (a proxy that drops Signature-Input...).
    peer = start(peers, Peer(accepts=CAVAGE, software=MASTODON_45))
    async with fedigen(tmp_path, backend) as inst:
        await trust_alice(inst, peer)
        await deliver(inst, peer)
        assert peer.attempts == [(RFC9421, 401), (CAVAGE, 202)]
        await deliver(inst, peer)
        assert peer.attempts[2:] == [(CAVAGE, 202)]
        row = await host_row(inst, peer.host)
        assert row is not None and row.signature_scheme == CAVAGE

        # A month on, it may have been fixed: a fresh process offers RFC 9421 again (and learns again).
        async with inst.services.sessions() as session, session.begin():
            await session.execute(
                update(Host).values(signature_scheme_at=utcnow() - CAVAGE_MEMORY - timedelta(minutes=1))
            )
        async with open_services(inst.settings) as fresh:
            assert fresh.fetcher.schemes is not None
            assert await fresh.fetcher.schemes.first(f"{peer.url}/inbox") == RFC9421


async def test_a_400_about_the_signature_is_a_refusal_too(
    tmp_path: Path, backend: str, peers: list[Peer]
) -> None:
    peer = start(peers, Peer(accepts=RFC9421, bad_request=True))
    async with fedigen(tmp_path, backend) as inst:
        await trust_alice(inst, peer)
        await deliver(inst, peer)
        assert peer.attempts == [(CAVAGE, 400), (RFC9421, 202)]


async def test_bridgy_like_cavage_only_host_gets_cavage_first_every_time(
    tmp_path: Path, backend: str, peers: list[Peer]
) -> None:
    peer = start(peers, Peer(accepts=CAVAGE, software=("bridgy-fed", "0.1")))
    async with fedigen(tmp_path, backend) as inst:
        await trust_alice(inst, peer)
        for _ in range(3):
            await deliver(inst, peer)
        assert peer.attempts == [(CAVAGE, 202)] * 3


async def test_signed_fetches_double_knock_too_without_asking_nodeinfo(
    tmp_path: Path, backend: str, peers: list[Peer]
) -> None:
    peer = start(peers, Peer(accepts=RFC9421, software=MASTODON_45))
    async with fedigen(tmp_path, backend) as inst:
        async with inst.services.sessions() as session:
            instance_actor = await session.scalar(
                select(Actor).where(Actor.ap_id == inst.services.urls.instance_actor)
            )
            assert instance_actor is not None and instance_actor.public_key_pem
            peer.keys[str(instance_actor.public_key_id)] = instance_actor.public_key_pem
        fetched = await inst.services.fetcher.fetch_object(f"{peer.url}/notes/1")
        assert fetched.document["type"] == "Note"
        assert peer.attempts == [(CAVAGE, 401), (RFC9421, 200)]
        assert peer.nodeinfo_asked == 0, "a fetch may run while an inbox request waits: no NodeInfo then"
        assert inst.services.fetcher.schemes is not None
        await inst.services.fetcher.schemes.flush()
        await inst.services.fetcher.fetch_object(f"{peer.url}/notes/1")
        assert peer.attempts[2:] == [(RFC9421, 200)]


# --- on the fake network: Bridgy Fed's domain, and a host that signed to us with RFC 9421 ----------


def _cavage_inbox(hits: list[tuple[str | None, int]], keys: dict[str, str]) -> Starlette:
    peer = Peer.__new__(Peer)
    peer.accepts, peer.keys, peer.attempts, peer.bad_request = CAVAGE, keys, hits, False

    async def inbox(request: Request) -> Response:
        return peer._answer(request, await request.body(), {})

    async def nodeinfo(request: Request) -> Response:
        hits.append(("nodeinfo", 0))
        return JSONResponse({"error": "not found"}, status_code=404)

    return Starlette(
        routes=[Route("/inbox", inbox, methods=["POST"]), Route("/.well-known/nodeinfo", nodeinfo)]
    )


async def test_bridgy_fed_gets_cavage_and_is_not_asked_its_nodeinfo(
    instance: Instance, router: HostRouter
) -> None:
    await instance.create_account("alice")
    hits: list[tuple[str | None, int]] = []
    keys: dict[str, str] = {}
    router.add("bsky.brid.gy", _cavage_inbox(hits, keys))
    key_id, pem = await alice_key(instance)
    keys[key_id] = pem
    async with instance.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        doc = {
            "id": f"{alice.ap_id}#like-bsky",
            "type": "Like",
            "actor": alice.ap_id,
            "object": "http://x.test/1",
        }
        activity = await record(session, alice, doc)
        await enqueue_deliveries(session, activity, ["http://bsky.brid.gy/inbox"])
    await instance.services.deliverer.run_once()
    assert hits == [(CAVAGE, 202)]


async def test_a_host_that_signed_to_us_with_rfc9421_gets_rfc9421(
    instance: Instance, remote: RemoteServer
) -> None:
    await instance.create_account("alice")
    bob = remote.add_actor("bob")
    note = bob.note(mention="http://fedigen.test/users/alice")
    response = await bob.post(instance.client, "/users/alice/inbox", bob.create(note), scheme="rfc9421")
    assert response.status_code == 202, response.text
    schemes = instance.services.fetcher.schemes
    assert schemes is not None
    await schemes.flush()
    row = await host_row(instance, "remote.test")
    assert row is not None and row.signature_scheme == RFC9421
    # alice's Like of bob's post goes out signed with RFC 9421 at once.
    async with instance.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        doc = {"id": f"{alice.ap_id}#like-bob", "type": "Like", "actor": alice.ap_id, "object": note["id"]}
        activity = await record(session, alice, doc)
        await enqueue_deliveries(session, activity, [bob.inbox])
    await instance.services.deliverer.run_once()
    posts = remote.posts()
    assert len(posts) == 1 and "signature-input" in posts[0].headers
    assert posts[0].headers["signature-input"].startswith('sig1=("@method" "@target-uri"')


async def test_a_host_that_signed_with_cavage_teaches_nothing(
    instance: Instance, remote: RemoteServer
) -> None:
    await instance.create_account("alice")
    bob = remote.add_actor("bob")
    response = await bob.post(
        instance.client, "/users/alice/inbox", bob.create(bob.note(mention="http://fedigen.test/users/alice"))
    )
    assert response.status_code == 202
    schemes = instance.services.fetcher.schemes
    assert schemes is not None
    await schemes.flush()
    row = await host_row(instance, "remote.test")
    assert row is None or row.signature_scheme is None
