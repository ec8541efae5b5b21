"""Smaller holes, each closed: replies to posts one cannot see, malformed shapes that used to be 500s,
internal addresses in error messages, tokens in the access log, unverified remix links, numeric IP
forms in media URLs, reused authorisation codes, and blob: redirect URIs."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from activitypub.errors import UnsafeURLError
from activitypub.notes import read_note
from activitypub.transport import is_public_http_url
from storage.models import Actor, Remix, Status
from tests.activitypub.test_transport import RecordingBackend, fixed_resolver, guarded_client
from tests.api.conftest import bearer, issue_token
from tests.api.test_oauth import code_of, consent, exchange, pkce, register
from tests.conftest import Instance
from tests.remote_actor import PUBLIC, RemoteActor
from tests.support.server import FedigenServer

AS2 = "application/activity+json"
BASE = "http://fedigen.test"


async def statuses(instance: Instance) -> int:
    async with instance.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Status)) or 0)


async def test_a_c2s_reply_to_a_post_one_cannot_see_looks_like_one_that_does_not_exist(
    instance: Instance,
) -> None:
    for name in ("alice", "eve"):
        await instance.create_account(name)
    alice, eve = bearer(await issue_token(instance, "alice")), bearer(await issue_token(instance, "eve"))
    secret = await instance.client.post("/api/v1/statuses", json={"status": "for me", "visibility": "direct"},
                                        headers=alice)  # fmt: skip
    before = await statuses(instance)
    answers = []
    for target in (secret.json()["uri"], f"{BASE}/users/alice/statuses/999999"):
        note = {"type": "Note", "content": "I see you", "inReplyTo": target, "to": [PUBLIC]}
        answers.append(await instance.client.post("/users/eve/outbox", content=json.dumps(note),
                                                  headers={**eve, "Content-Type": AS2}))  # fmt: skip
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()
    assert await statuses(instance) == before


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"type": "Create", "object": {"type": ["Note"], "content": "x"}}),
        json.dumps({"type": ["Create"], "object": {"type": "Note"}}),
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"type": "Note", "content": "x", "published": "9999-12-31T23:59:59-14:00"}),
    ],
    ids=["list-object-type", "list-type", "deeply-nested", "year-9999"],
)
async def test_odd_shapes_sent_to_the_outbox_are_4xx_or_accepted_never_500(
    instance: Instance, body: str
) -> None:
    await instance.create_account("alice")
    token = bearer(await issue_token(instance, "alice"))
    response = await instance.client.post(
        "/users/alice/outbox", content=body, headers={**token, "Content-Type": AS2}
    )
    assert response.status_code in (201, 400, 422), response.text
    api = await instance.client.post("/api/v1/statuses", content=body.encode(),
                                     headers={**token, "Content-Type": "application/json"})  # fmt: skip
    assert api.status_code in (200, 400, 422), api.text


async def test_a_far_future_date_from_another_server_is_read_as_absent(
    instance: Instance, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    note = bob.note("<p>hi @alice</p>", mention=f"{BASE}/users/alice", published="9999-12-31T23:59:59-14:00",
                    updated="0001-01-01T00:00:00+14:00")  # fmt: skip
    assert (await bob.post(instance.client, "/inbox", bob.create(note))).status_code == 202
    await instance.drain()
    token = bearer(await issue_token(instance, "alice"))
    [mention] = (await instance.client.get("/api/v1/notifications", headers=token)).json()
    assert mention["status"]["created_at"].startswith(("20", "21"))  # not year 9999
    assert (
        read_note({**note, "published": "9999-12-31T23:59:59-14:00"}, Actor(followers_url=None)).published
        is None
    )


async def test_a_refused_fetch_does_not_say_which_internal_address_a_name_has() -> None:
    client = guarded_client(fixed_resolver("10.1.2.3"), RecordingBackend())
    with pytest.raises(UnsafeURLError) as caught:
        await client.get("http://intranet.example/")
    assert "not a public address" in str(caught.value) and "10.1.2.3" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["http://2130706433/a.png", "http://0177.0.0.1/a.png", "http://0x7f.1/a.png", "http://017700000001/a"],
)
def test_numeric_forms_of_internal_addresses_are_not_media_urls(url: str) -> None:
    assert not is_public_http_url(url)
    image = {"type": "Image", "mediaType": "image/png", "url": url}
    note = {"id": "https://remote.test/n/1", "type": "Note", "attributedTo": "https://remote.test/u",
            "content": "x", "attachment": [image]}  # fmt: skip
    assert read_note(note, Actor(followers_url=None)).attachments == []


async def test_a_quote_request_alone_adds_nothing_to_a_posts_remixes(
    instance: Instance, bob: RemoteActor
) -> None:
    await instance.create_account("alice")
    alice = bearer(await issue_token(instance, "alice"))
    post = (await instance.client.post("/api/v1/statuses", json={"status": "mine"}, headers=alice)).json()
    request = bob.activity("QuoteRequest", post["uri"], instrument=f"{bob.ap_id}/statuses/not-a-remix")
    assert (await bob.post(instance.client, "/inbox", request)).status_code == 202
    await instance.drain()
    async with instance.services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Remix)) == 0


async def test_a_reused_authorisation_code_revokes_the_token_it_gave(api: Instance) -> None:
    app = await register(api.client)
    verifier, challenge = pkce()
    code = code_of(await consent(api.client, app, code_challenge=challenge, code_challenge_method="S256"))
    first = await exchange(api.client, app, code, code_verifier=verifier)
    token = first.json()["access_token"]
    assert (
        await api.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).status_code == 200
    again = await exchange(api.client, app, code, code_verifier=verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert (
        await api.client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    ).status_code == 401


@pytest.mark.parametrize(
    "uri", ["blob:https://evil.example/1234", "filesystem:https://evil.example/x", "about:blank"]
)
async def test_redirect_uris_that_point_into_a_browser_are_refused(instance: Instance, uri: str) -> None:
    response = await instance.client.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": uri})
    assert response.status_code == 422 and "redirect_uris" in response.json()["error"]


def test_tokens_in_query_strings_never_reach_the_access_log(tmp_path: Path) -> None:
    with FedigenServer(tmp_path) as server:
        secret = "SECRET-TOKEN-1234567890"
        for path in (f"/api/v1/timelines/public?access_token={secret}", f"/oauth/authorize?code={secret}"):
            httpx.get(f"{server.base_url}{path}")
        with socket.create_connection(("127.0.0.1", server.port)) as sock:  # and a raw WebSocket attempt
            sock.sendall(f"GET /api/v1/streaming?access_token={secret} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            sock.recv(1024)
        time.sleep(0.5)
        log = server.log.read_text()
    assert "/api/v1/timelines/public" in log  # the requests were logged...
    assert secret not in log  # ...without the secret
