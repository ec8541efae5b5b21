"""Self-test of the Fedify interop peer: two peers talk to each other, plus a tiny Python fake.

This proves, on loopback and without fedigen, that the peer (tests/interop/peer/server.mjs) verifies
signatures on its inbox with Fedify's own code (unsigned, forged and tampered deliveries are refused),
sends signed activities other servers can verify (draft-cavage checked here in plain Python), falls back
from RFC 9421 to draft-cavage (double-knocking), and reports delivery errors in its control API.

Skipped with a reason when the peer cannot be installed (no npm / no node_modules), except when the
environment says CI=true: then that is a failure.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import os
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.interop.peer_process import PeerControlError, PeerProcess, ensure_installed

pytestmark = pytest.mark.interop

AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture(scope="module")
def peer_available() -> None:
    reason = ensure_installed()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Fedify interop peer unavailable in CI: {reason}")
        pytest.skip(f"Fedify interop peer unavailable: {reason}")


@pytest.fixture(scope="module")
def peers(
    peer_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[PeerProcess, PeerProcess]]:
    log_dir = tmp_path_factory.mktemp("fedify-peers")
    with PeerProcess(log_dir=log_dir) as a, PeerProcess(log_dir=log_dir) as b:
        yield a, b


# --------------------------------------------------------------------------------------------------
# Two peers
# --------------------------------------------------------------------------------------------------


def test_two_peers_follow_mention_like_undo(peers: tuple[PeerProcess, PeerProcess]) -> None:
    a, b = peers
    assert a.actor != b.actor
    assert a.health()["node"].startswith("v22.")

    # A follows B by handle: A's control API does WebFinger over http, then looks B up with Fedify.
    follow = a.control("POST", "/follow", {"handle": b.handle})
    assert follow["target"] == b.actor
    got_follow = b.wait_for(lambda x: x["type"] == "Follow" and x["id"] == follow["id"])
    assert got_follow["actor"] == a.actor
    assert got_follow["activity"]["object"] == b.actor
    assert got_follow["signature"] == "rfc9421"  # Fedify's first knock; it verified
    accept = a.wait_for(lambda x: x["type"] == "Accept" and x["actor"] == b.actor)
    accepted = accept["activity"]["object"]
    assert (accepted["id"] if isinstance(accepted, dict) else accepted) == follow["id"]
    assert any(f["id"] == a.actor for f in b.control("GET", "/followers"))
    assert a.control("GET", "/following") == [{"id": b.actor, "follow_id": follow["id"], "accepted": True}]

    # A posts a Note mentioning B.
    created = a.control(
        "POST",
        "/create",
        {"mention": b.actor, "content": f'<p><a href="{b.actor}">@peer</a> hello</p>', "public": True},
    )
    create = b.wait_for(lambda x: x["type"] == "Create" and x["id"] == created["activity_id"])
    note = create["activity"]["object"]
    assert note["id"] == created["note_id"]
    assert note["attributedTo"] == a.actor
    tags = note["tag"] if isinstance(note["tag"], list) else [note["tag"]]
    assert {"type": "Mention", "href": b.actor, "name": f"@peer@127.0.0.1:{b.port}"} in tags
    to = note["to"] if isinstance(note["to"], list) else [note["to"]]
    assert b.actor in to and any(t in (AS_PUBLIC, "as:Public", "Public") for t in to)
    # The Note and the Create are dereferenceable at their ids (B fetches them with a signed GET).
    fetched = b.control("POST", "/fetch", {"url": created["note_id"]})
    assert fetched["status"] == 200 and fetched["content_type"].startswith("application/activity+json")
    assert fetched["document"]["id"] == created["note_id"]
    assert fetched["attempts"][0]["signature"] == "rfc9421"
    assert b.control("POST", "/fetch", {"url": created["activity_id"]})["document"]["type"] == "Create"

    # A likes the note (delivered to its author, here B for the sake of the test), then undoes it.
    like = a.control("POST", "/like", {"object": created["note_id"], "actor": b.actor})
    got_like = b.wait_for(lambda x: x["type"] == "Like" and x["id"] == like["activity_id"])
    assert got_like["object"] == created["note_id"]
    undo = a.control("POST", "/undo", {"activity_id": like["activity_id"]})
    got_undo = b.wait_for(lambda x: x["type"] == "Undo" and x["id"] == undo["activity_id"])
    undone = got_undo["activity"]["object"]
    assert (undone["id"] if isinstance(undone, dict) else undone) == like["activity_id"]

    # Unfollow: B forgets the follower.
    a.control("POST", "/unfollow", {"actor": b.actor, "follow_id": follow["id"]})
    b.wait_for(lambda x: x["type"] == "Undo" and x["object"] == follow["id"])
    assert b.control("GET", "/followers") == []

    # Nothing was refused or failed on either side.
    assert a.rejected() == [] and b.rejected() == []
    assert a.errors() == [] and b.errors() == []


def test_update_delete_announce_between_peers(peers: tuple[PeerProcess, PeerProcess]) -> None:
    a, b = peers
    created = a.control("POST", "/create", {"to": [b.actor], "content": "<p>direct</p>"})
    b.wait_for(lambda x: x["id"] == created["activity_id"])
    updated = a.control("POST", "/update", {"note_id": created["note_id"], "content": "<p>edited</p>"})
    got = b.wait_for(lambda x: x["id"] == updated["activity_id"])
    assert got["type"] == "Update" and got["activity"]["object"]["content"] == "<p>edited</p>"
    assert "updated" in got["activity"]["object"]
    announce = a.control("POST", "/announce", {"object": created["note_id"], "actor": b.actor})
    assert b.wait_for(lambda x: x["id"] == announce["activity_id"])["type"] == "Announce"
    deleted = a.control("POST", "/delete", {"note_id": created["note_id"]})
    got = b.wait_for(lambda x: x["id"] == deleted["activity_id"])
    assert got["type"] == "Delete"
    assert b.control("POST", "/fetch", {"url": created["note_id"]})["status"] == 404


def test_fedify_remembers_fallback_spec_until_reset(peers: tuple[PeerProcess, PeerProcess]) -> None:
    """Quirk: after a signed GET answered 404 twice, Fedify knocks draft-cavage first on that origin."""
    a, b = peers
    b.control("POST", "/reset")
    missing = b.control("POST", "/fetch", {"url": f"{a.base_url}/notes/does-not-exist"})
    assert [(x["signature"], x["status"]) for x in missing["attempts"]] == [
        ("rfc9421", 404),
        ("draft-cavage", 404),
    ]
    note = a.control("POST", "/create", {"to": [a.actor], "content": "<p>self</p>"})["note_id"]
    like = b.control("POST", "/like", {"object": note, "actor": a.actor})
    a.wait_for(lambda x: x["id"] == like["activity_id"] and x["signature"] == "draft-cavage")
    b.control("POST", "/reset")
    like = b.control("POST", "/like", {"object": note, "actor": a.actor})
    a.wait_for(lambda x: x["id"] == like["activity_id"] and x["signature"] == "rfc9421")


# --------------------------------------------------------------------------------------------------
# A tiny fake server (plain Python): signs with draft-cavage, verifies the peer's draft-cavage
# --------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class FakeServer:
    """One actor at http://127.0.0.1:PORT/users/fake, WebFinger, an inbox and a note.

    inbox_mode: "any" accepts every POST, "cavage" answers 401 unless the request carries a valid
    draft-cavage signature by the sender's key (like Bridgy Fed), "refuse" answers 401 always.
    fetch_mode: "any" serves the note to everyone, "cavage" requires a valid draft-cavage signature.
    """

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.inbox_mode = "any"
        self.fetch_mode = "any"
        self.requests: list[dict[str, Any]] = []
        self.verified: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _send(self, status: int, body: Any, ctype: str = "application/activity+json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, body: bytes) -> dict[str, Any]:
                entry = {
                    "method": self.command,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body,
                }
                with fake.lock:
                    fake.requests.append(entry)
                return entry

            def do_GET(self) -> None:  # noqa: N802
                entry = self._record(b"")
                path = self.path.split("#")[0]
                if path.startswith("/.well-known/webfinger"):
                    return self._send(200, fake.jrd(), "application/jrd+json")
                if path == "/users/fake":
                    return self._send(200, fake.actor_doc())
                if path == "/notes/1":
                    if fake.fetch_mode == "cavage" and not fake.verify_cavage(entry):
                        return self._send(401, b"signature required", "text/plain")
                    return self._send(200, fake.note_doc())
                if path == "/media/pixel.png":
                    png = base64.b64decode(
                        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
                    )
                    return self._send(200, png, "image/png")
                return self._send(404, b"not found", "text/plain")

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                entry = self._record(body)
                if self.path != "/users/fake/inbox":
                    return self._send(404, b"not found", "text/plain")
                if fake.inbox_mode == "refuse":
                    return self._send(401, b"go away", "text/plain")
                if fake.inbox_mode == "cavage" and not fake.verify_cavage(entry):
                    return self._send(401, b"draft-cavage signature required", "text/plain")
                return self._send(202, b"", "text/plain")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.actor = f"{self.origin}/users/fake"
        self.key_id = f"{self.actor}#main-key"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # documents

    def jrd(self) -> dict[str, Any]:
        return {
            "subject": f"acct:fake@127.0.0.1:{self.port}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": self.actor}],
        }

    def actor_doc(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor,
            "type": "Person",
            "preferredUsername": "fake",
            "inbox": f"{self.actor}/inbox",
            "outbox": f"{self.actor}/outbox",
            "followers": f"{self.actor}/followers",
            "publicKey": {"id": self.key_id, "owner": self.actor, "publicKeyPem": self.public_pem},
        }

    def note_doc(self) -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.origin}/notes/1",
            "type": "Note",
            "attributedTo": self.actor,
            "content": "<p>fake note</p>",
            "to": [AS_PUBLIC],
        }

    # draft-cavage, by hand

    def sign(self, url: str, body: bytes, *, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        target = httpx.URL(url)
        host = f"{target.host}:{target.port}"
        date = email.utils.formatdate(usegmt=True)
        digest = "SHA-256=" + _b64(hashlib.sha256(body).digest())
        ctype = "application/activity+json"
        signing = (
            f"(request-target): post {target.raw_path.decode()}\nhost: {host}\ndate: {date}\n"
            f"digest: {digest}\ncontent-type: {ctype}"
        )
        sig = (key or self.key).sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
        return {
            "Host": host,
            "Date": date,
            "Digest": digest,
            "Content-Type": ctype,
            "Signature": (
                f'keyId="{self.key_id}",algorithm="rsa-sha256",'
                f'headers="(request-target) host date digest content-type",signature="{_b64(sig)}"'
            ),
        }

    def verify_cavage(self, entry: dict[str, Any]) -> bool:
        """Verify a draft-cavage signature made by the peer (key fetched from the peer's actor)."""
        headers = entry["headers"]
        sig_header = headers.get("signature")
        if not sig_header or "signature-input" in headers:
            return False
        params = dict(re.findall(r'(\w+)="([^"]*)"', sig_header))
        covered = params.get("headers", "date").split()
        if entry["method"] == "POST":
            if "digest" not in covered:
                return False
            algo, _, value = headers.get("digest", "").partition("=")
            if algo.upper() != "SHA-256" or value != _b64(hashlib.sha256(entry["body"]).digest()):
                return False
        lines = []
        for name in covered:
            if name == "(request-target)":
                lines.append(f"(request-target): {entry['method'].lower()} {entry['path']}")
            else:
                lines.append(f"{name}: {headers.get(name, '')}")
        key_url = params["keyId"].split("#")[0]
        doc = httpx.get(key_url, headers={"Accept": "application/activity+json"}, trust_env=False).json()
        pem = doc["publicKey"]["publicKeyPem"] if "publicKey" in doc else doc["publicKeyPem"]
        public = serialization.load_pem_public_key(pem.encode())
        assert isinstance(public, rsa.RSAPublicKey)
        try:
            public.verify(
                base64.b64decode(params["signature"]),
                "\n".join(lines).encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return False
        with self.lock:
            self.verified.append({"path": entry["path"], "key_id": params["keyId"], "headers": covered})
        return True

    def create_activity(self, to: str, content: str = "<p>from the fake</p>") -> dict[str, Any]:
        n = uuid.uuid4().hex
        note = {
            "id": f"{self.origin}/notes/{n}",
            "type": "Note",
            "attributedTo": self.actor,
            "content": content,
            "to": [to],
        }
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{self.origin}/activities/{n}",
            "type": "Create",
            "actor": self.actor,
            "object": note,
            "to": [to],
        }


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


def test_peer_inbox_verifies_signatures(peers: tuple[PeerProcess, PeerProcess], fake: FakeServer) -> None:
    peer = peers[0]
    inbox = f"{peer.actor}/inbox"

    def post(activity: dict[str, Any], headers: dict[str, str], body: bytes | None = None) -> httpx.Response:
        data = body if body is not None else json.dumps(activity).encode()
        return httpx.post(inbox, content=data, headers=headers, trust_env=False)

    # Unsigned -> 401, never reaches a listener.
    unsigned = fake.create_activity(peer.actor)
    r = post(unsigned, {"Content-Type": "application/activity+json"})
    assert r.status_code == 401, r.text
    # Signed with a key that is not the actor's -> 401.
    forged = fake.create_activity(peer.actor)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = json.dumps(forged).encode()
    assert post(forged, fake.sign(inbox, body, key=other_key), body).status_code == 401
    # Body changed after signing -> 401.
    tampered = fake.create_activity(peer.actor)
    body = json.dumps(tampered).encode()
    headers = fake.sign(inbox, body)
    tampered["object"]["content"] = "<p>changed</p>"
    assert post(tampered, headers).status_code == 401
    # Properly signed draft-cavage -> accepted and recorded.
    good = fake.create_activity(peer.actor, "<p>signed by the fake</p>")
    body = json.dumps(good).encode()
    r = post(good, fake.sign(inbox, body), body)
    assert 200 <= r.status_code < 300, r.text

    got = peer.wait_for(lambda x: x["id"] == good["id"])
    assert got["type"] == "Create" and got["signature"] == "draft-cavage"
    assert got["raw"] == good  # the body exactly as sent; "activity" is Fedify's compacted re-serialisation
    assert got["activity"]["object"]["content"] == "<p>signed by the fake</p>"
    ids = {x["id"] for x in peer.received()}
    assert unsigned["id"] not in ids and forged["id"] not in ids and tampered["id"] not in ids
    reasons = {x["id"]: x["reason"]["type"] for x in peer.rejected()}
    assert reasons.get(unsigned["id"]) == "noSignature"
    assert reasons.get(forged["id"]) == "invalidSignature"
    assert reasons.get(tampered["id"]) == "invalidSignature"


def test_peer_delivery_double_knocks_to_cavage(
    peers: tuple[PeerProcess, PeerProcess], fake: FakeServer
) -> None:
    peer = peers[0]
    fake.inbox_mode = "cavage"  # like Bridgy Fed: RFC 9421 is refused, draft-cavage verified
    like = peer.control("POST", "/like", {"object": f"{fake.origin}/notes/1", "actor": fake.actor})
    posts = [r for r in fake.requests if r["method"] == "POST"]
    assert [("signature-input" in r["headers"]) for r in posts] == [True, False]  # 9421, then cavage
    delivered = json.loads(posts[-1]["body"])
    assert delivered["id"] == like["activity_id"] and delivered["type"] == "Like"
    assert delivered["actor"] == peer.actor and delivered["object"] == f"{fake.origin}/notes/1"
    assert fake.verified and fake.verified[-1]["key_id"] == f"{peer.actor}#main-key"
    assert {"(request-target)", "host", "date", "digest"} <= set(fake.verified[-1]["headers"])
    sigs = [(o["signature"], o["status"]) for o in peer.outgoing() if o["url"] == f"{fake.actor}/inbox"]
    assert sigs[-2:] == [("rfc9421", 401), ("draft-cavage", 202)]


def test_peer_reports_delivery_failure(peers: tuple[PeerProcess, PeerProcess], fake: FakeServer) -> None:
    peer = peers[0]
    fake.inbox_mode = "refuse"
    with pytest.raises(PeerControlError) as info:
        peer.control("POST", "/like", {"object": f"{fake.origin}/notes/1", "actor": fake.actor})
    assert info.value.status == 502
    assert "401" in info.value.body["error"] and f"{fake.actor}/inbox" in info.value.body["error"]


def test_peer_signed_fetch_and_media(peers: tuple[PeerProcess, PeerProcess], fake: FakeServer) -> None:
    peer = peers[0]
    fake.fetch_mode = "cavage"
    result = peer.control("POST", "/fetch", {"url": f"{fake.origin}/notes/1"})
    assert result["status"] == 200 and result["content_type"] == "application/activity+json"
    assert result["document"]["id"] == f"{fake.origin}/notes/1"
    assert [(a["signature"], a["status"]) for a in result["attempts"]] == [
        ("rfc9421", 401),
        ("draft-cavage", 200),
    ]
    media = peer.control("POST", "/fetch_media", {"url": f"{fake.origin}/media/pixel.png"})
    assert media["status"] == 200 and media["content_type"] == "image/png" and media["length"] == 70
    media_get = [r for r in fake.requests if r["path"] == "/media/pixel.png"][-1]
    assert "signature" not in media_get["headers"] and "signature-input" not in media_get["headers"]
    # Following the fake by handle exercises the http WebFinger step against a non-Fedify server.
    follow = peer.control("POST", "/follow", {"handle": f"fake@127.0.0.1:{fake.port}"})
    assert follow["target"] == fake.actor
    assert json.loads([r for r in fake.requests if r["method"] == "POST"][-1]["body"])["type"] == "Follow"


def test_peer_log_is_captured(peers: tuple[PeerProcess, PeerProcess]) -> None:
    a, _ = peers
    log = Path(a.log_path).read_text()
    assert f"fedigen interop peer listening on {a.base_url}" in log
    assert "fedify" in log  # Fedify's own LogTape output goes to the same file
