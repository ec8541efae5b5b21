"""First contact from a GoToSocial account, over real sockets on loopback.

A small server on its own loopback port serves exactly what GoToSocial serves (its documentation,
docs/federation/federating_with_gotosocial.md and actors.md): the keyId is ``/users/NAME/main-key``
(no fragment) and answers with a stub of the actor whose ``id`` is the actor's URL; the full actor is
only served to signed GETs (GoToSocial's authorized fetch); there is no shared inbox. Its account sends
a Follow and a mention to a real `fedigen serve` that has never seen it: both must be accepted. A key
document on another loopback port (another origin) that claims the same account is still refused.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.remote_actor import AS2_TYPE, PUBLIC, RemoteActor, RemoteServer, keypair
from tests.support.server import FedigenServer, LoopbackServer, free_port

pytestmark = pytest.mark.interop

GTS_CONTEXT: list[Any] = [
    "https://w3id.org/security/v1",
    "https://www.w3.org/ns/activitystreams",
    {"discoverable": "toot:discoverable", "toot": "http://joinmastodon.org/ns#",
     "manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "featured": {"@id": "toot:featured",
     "@type": "@id"}, "PropertyValue": "schema:PropertyValue", "schema": "http://schema.org#",
     "value": "schema:value"},
]  # fmt: skip


class GoToSocialShapes(RemoteServer):
    """A RemoteServer that answers as GoToSocial does: key stubs, signed-GET-only actors."""

    def key_id(self, actor: RemoteActor) -> str:
        return f"{actor.ap_id}/main-key"

    def add_gts_actor(self, username: str) -> RemoteActor:
        actor = self.add_actor(username)
        key = {"id": self.key_id(actor), "owner": actor.ap_id, "publicKeyPem": actor.keys.public_pem}
        actor.extra.update({"@context": GTS_CONTEXT, "publicKey": key, "url": f"{self.base}/@{username}"})
        stub = {
            "@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"],
            "id": actor.ap_id, "preferredUsername": username, "publicKey": key, "type": "Person",
        }  # fmt: skip
        self.serve(stub, url=self.key_id(actor))
        return actor

    async def _handle(self, request: Request) -> Response:
        # GoToSocial answers 401 to unsigned GETs of anything but the key stub and WebFinger.
        path = request.url.path
        if (
            request.method == "GET"
            and "signature" not in request.headers
            and not path.endswith("/main-key")
            and not path.startswith("/.well-known/")
        ):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        response = await super()._handle(request)
        if isinstance(response, JSONResponse) and path.startswith("/users/") and path.count("/") == 2:
            doc = json.loads(bytes(response.body))
            doc.pop("endpoints", None)  # GoToSocial has no shared inbox
            return JSONResponse(doc, media_type=AS2_TYPE)
        return response


@pytest.fixture(scope="module")
def fedigen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen")) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        yield running


def _count(server: FedigenServer, sql: str, *args: Any) -> int:
    with sqlite3.connect(server.directory / "data" / "fedigen.db") as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def _post(server: FedigenServer, actor: RemoteActor, activity: dict[str, Any], key_id: str) -> httpx.Response:
    body = json.dumps(activity).encode()
    url = f"{server.base_url}/users/alice/inbox"
    headers = actor.sign(url, body, key_id=key_id)
    return httpx.post(url, content=body, headers=headers, timeout=30)


def test_gotosocial_account_follows_and_mentions_on_first_contact(fedigen: FedigenServer) -> None:
    port = free_port()
    gts = GoToSocialShapes(host=f"127.0.0.1:{port}")
    tobi = gts.add_gts_actor("tobi")
    alice = f"{fedigen.base_url}/users/alice"
    with LoopbackServer(gts.app, port):
        follow = tobi.activity("Follow", alice)
        response = _post(fedigen, tobi, follow, gts.key_id(tobi))
        assert response.status_code == 202, response.text
        # The stub was read at the keyId, then the full actor fetched (signed) at its own id.
        assert gts.requests_to(gts.key_id(tobi)) and gts.requests_to(tobi.ap_id)
        assert all("signature" in r.headers for r in gts.requests_to(tobi.ap_id))
        fedigen.wait_until(
            lambda: any(r.json.get("type") == "Accept" for r in gts.posts()), what="the Accept of the Follow"
        )
        accept = next(r.json for r in gts.posts() if r.json.get("type") == "Accept")
        assert accept["object"]["id"] == follow["id"] and accept["actor"] == alice
        assert gts.posts()[0].url == tobi.inbox, "delivered to the actor's inbox (no shared inbox)"
        assert _count(fedigen, "SELECT count(*) FROM follows WHERE state='accepted'") == 1

        note = tobi.note("<p>hi @alice, a lighthouse please</p>", mention=alice)
        note["to"], note["cc"] = [PUBLIC], [alice, tobi.followers]
        response = _post(fedigen, tobi, tobi.create(note), gts.key_id(tobi))
        assert response.status_code == 202, response.text
        fedigen.wait_until(
            lambda: _count(fedigen, "SELECT count(*) FROM notifications WHERE type='mention'") == 1,
            what="the mention notification",
        )
        assert _count(fedigen, "SELECT count(*) FROM statuses WHERE ap_id=?", note["id"]) == 1


def test_key_stub_from_another_origin_cannot_speak_for_a_gotosocial_account(fedigen: FedigenServer) -> None:
    port, evil_port = free_port(), free_port()
    gts = GoToSocialShapes(host=f"127.0.0.1:{port}")
    evil = GoToSocialShapes(host=f"127.0.0.1:{evil_port}")
    kit = gts.add_gts_actor("kit")
    rogue = keypair("rogue")
    evil_key = f"{evil.base}/users/kit/main-key"
    evil.serve({"@context": ["https://w3id.org/security/v1", "https://www.w3.org/ns/activitystreams"],
                "id": f"{evil.base}/users/kit", "type": "Person", "preferredUsername": "kit",
                "publicKey": {"id": evil_key, "owner": kit.ap_id, "publicKeyPem": rogue.public_pem}},
               url=evil_key)  # fmt: skip
    alice = f"{fedigen.base_url}/users/alice"
    before = _count(fedigen, "SELECT count(*) FROM inbox_items")
    with LoopbackServer(gts.app, port), LoopbackServer(evil.app, evil_port):
        kit.keys = rogue
        response = _post(fedigen, kit, kit.activity("Follow", alice), evil_key)
        assert response.status_code == 401, response.text
        assert "another host" in response.json()["error"]
        assert not gts.requests_to(kit.ap_id), "refused before the named owner was fetched"
    assert _count(fedigen, "SELECT count(*) FROM inbox_items") == before
