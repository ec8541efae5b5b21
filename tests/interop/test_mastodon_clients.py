"""Real clients against a real `fedigen serve` on loopback: Mastodon.py, toot, and bovine's C2S client.

Each client is used the way apps use it: Mastodon.py registers an app and logs in through the OAuth
authorization-code flow (the browser part done with httpx, tests/interop/clients.py), uploads an image,
posts, reads the home timeline, resolves and follows the Fedify peer by its handle and sees the peer's
reply in its notifications, and posts the images of a generation job. toot logs in with its command
line, posts and reads its home timeline. bovine's BovineClient posts a bare Note with an uploaded image
to the account's outbox (ActivityPub C2S) and reads the account's inbox with the bearer token; the
Fedify peer, following the account, receives the Note with its Image.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mastodon import Mastodon

from tests.interop import test_fedify_peer as basics
from tests.interop.clients import OOB, authorize_out_of_band, password_token, png_bytes, poll
from tests.interop.peer_process import PeerProcess
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop
peer = basics.peer  # the module-scoped Fedify peer fixture (one peer for this module)

PASSWORD = "correct horse battery"
SMALL_IMAGES = '[generation]\nsize = "128x128"'
SCOPES = ["read", "write", "follow"]
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AP_JSON = "application/activity+json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen"), extra_config=SMALL_IMAGES) as running:
        for name in ("alice", "bob", "carol"):
            running.cli("account", "create", name, "--password-stdin", stdin=PASSWORD + "\n")
        yield running


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- Mastodon.py ----


def _mastodon_login(server: FedigenServer, username: str) -> Mastodon:
    """Register an app with Mastodon.py and log in through the authorization-code flow (out of band)."""
    client_id, client_secret = Mastodon.create_app(
        "fedigen interop (Mastodon.py)", scopes=SCOPES, redirect_uris=OOB, website="https://example.org/app",
        api_base_url=server.base_url, request_timeout=30,
    )  # fmt: skip
    # "created": Mastodon.py reads the version from /api/v1/instance and checks each call against it.
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url,
                   version_check_mode="created", request_timeout=30)  # fmt: skip
    url = api.auth_request_url(redirect_uris=OOB, scopes=SCOPES, allow_http=True)
    assert url.startswith(f"{server.base_url}/oauth/authorize?")
    code = authorize_out_of_band(url, username, PASSWORD)
    token = api.log_in(code=code, redirect_uri=OOB, scopes=SCOPES, allow_http=True)
    assert token and api.access_token == token
    return api


def test_mastodon_py_posts_an_image_follows_the_peer_and_sees_its_reply(
    server: FedigenServer, peer: PeerProcess
) -> None:
    api = _mastodon_login(server, "alice")
    me = api.account_verify_credentials()
    assert me.username == "alice" and me.acct == "alice"
    assert api.verify_minimum_version("4.0.0", cached=True)  # the version was read from /api/v1/instance

    # Upload a PNG (Mastodon.py uses /api/v2/media); wait for processing if the URL is not there yet.
    media = api.media_post(png_bytes((64, 48)), mime_type="image/png", description="a red and blue flag")
    if media.url is None:
        media = poll(lambda: api.media(media.id), lambda m: m.url is not None, timeout=30, what="processing")
    assert media.type == "image" and media.description == "a red and blue flag"

    status = api.status_post("a flag from Mastodon.py", media_ids=[media.id], visibility="public")
    assert status.account.id == me.id and [m.id for m in status.media_attachments] == [media.id]

    home = poll(api.timeline_home, lambda items: any(s.id == status.id for s in items), timeout=15,
                what="the post in the home timeline")  # fmt: skip
    [shown] = [s for s in home if s.id == status.id]
    assert "a flag from Mastodon.py" in shown.content and shown.visibility == "public"
    [attachment] = shown.media_attachments
    assert attachment.id == media.id and attachment.type == "image"
    assert attachment.description == "a red and blue flag"
    assert isinstance(attachment.blurhash, str) and len(attachment.blurhash) >= 6
    assert attachment.meta.original.width == 64 and attachment.meta.original.height == 48
    assert attachment.meta.small.width > 0 and attachment.preview_url
    assert httpx.get(attachment.url, timeout=10).status_code == 200

    # Resolve the Fedify peer by its handle, follow it; the peer records alice and Accepts.
    found = api.search_v2(f"@{peer.handle}", resolve=True, result_type="accounts")
    [account] = [a for a in found.accounts if a.acct == peer.handle]
    assert account.url or account.uri
    assert api.account_lookup(peer.handle).id == account.id
    relationship = api.account_follow(account.id)
    assert relationship.following or relationship.requested
    alice = f"{server.base_url}/users/alice"
    peer.wait_for(lambda a: a["type"] == "Follow" and a["actor"] == alice, timeout=20)
    poll(lambda: peer.control("GET", "/followers"), lambda rows: any(r["id"] == alice for r in rows),
         timeout=20, what="alice among the peer's followers")  # fmt: skip
    poll(lambda: api.account_relationships(account.id)[0], lambda r: r.following, timeout=20,
         what="the peer's Accept processed")  # fmt: skip

    # The peer replies to alice's post, mentioning her; it shows up in her notifications.
    assert status.uri.startswith(alice)
    sent = peer.control("POST", "/create", {
        "content": "<p>@alice lovely flag</p>", "mention": alice, "in_reply_to": status.uri, "public": True,
    })  # fmt: skip
    notes = poll(api.notifications, lambda items: any(n.type == "mention" for n in items), timeout=20,
                 what="the peer's mention in alice's notifications")  # fmt: skip
    [mention] = [n for n in notes if n.type == "mention"]
    assert mention.account.id == account.id
    assert mention.status.uri == sent["note_id"] and mention.status.in_reply_to_id == status.id
    assert "lovely flag" in mention.status.content


def test_mastodon_py_posts_the_images_of_a_generation_job(server: FedigenServer) -> None:
    api = _mastodon_login(server, "bob")
    request = getattr(api, "_Mastodon__api_request")  # noqa: B009 - Mastodon.py's own (name-mangled) request method
    job = request("POST", "/api/v1/fedigen/generations", {"prompt": "a lighthouse at dusk", "count": 2})
    assert job["state"] in ("queued", "running", "done") and job["size"] == "128x128"
    path = f"/api/v1/fedigen/generations/{job['id']}"
    job = poll(lambda: request("GET", path), lambda j: j["state"] in ("done", "failed", "cancelled"),
               timeout=90, what="the generation job")  # fmt: skip
    assert job["state"] == "done", job
    media_ids = [m["id"] for m in job["media_attachments"]]
    assert len(media_ids) == 2
    assert all(m["meta"]["original"]["width"] == 128 and m["blurhash"] for m in job["media_attachments"])

    status = api.status_post("generated with fedigen", media_ids=media_ids)
    assert [m.id for m in status.media_attachments] == media_ids
    assert api.status(status.id).media_attachments[0].type == "image"


# ---- toot ----


def _toot(config_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "NO_COLOR": "1", "TERM": "dumb"}
    proc = subprocess.run([sys.executable, "-m", "toot", *args], env=env, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0, f"toot {' '.join(args)}: {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_toot_logs_in_posts_and_reads_its_timeline(server: FedigenServer, tmp_path: Path) -> None:
    # toot's `login` opens a browser; `login_cli` is its scripted login (app registration + password grant).
    _toot(tmp_path, "login_cli", "--instance", server.base_url, "--email", "carol", "--password", PASSWORD)
    saved = json.loads((tmp_path / "toot" / "config.json").read_text())
    [user] = saved["users"].values()
    assert user["username"] == "carol" and user["access_token"]
    assert "carol" in _toot(tmp_path, "whoami").stdout

    posted = _toot(tmp_path, "post", "hello from toot").stdout
    assert f"{server.base_url}/@carol/" in posted, posted
    timeline = _toot(tmp_path, "timeline", "--once", "--count", "5").stdout
    assert "hello from toot" in timeline and "carol" in timeline, timeline

    # The same token works for the Mastodon API directly: the post is carol's and public.
    statuses = httpx.get(f"{server.base_url}/api/v1/timelines/home", headers=_bearer(user["access_token"]),
                         timeout=10).json()  # fmt: skip
    mine = [s["content"] for s in statuses if s["account"]["username"] == "carol"]
    assert mine == ["<p>hello from toot</p>"]


# ---- ActivityPub C2S with bovine ----


def _bovine() -> Any:
    try:
        import bovine
    except ImportError:
        reason = "bovine is not installed (pip install --no-deps bovine==0.5.19: its pins conflict with ours)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return bovine


async def test_bovine_posts_a_note_with_an_image_to_the_outbox(
    server: FedigenServer, peer: PeerProcess
) -> None:
    bovine = _bovine()
    alice = f"{server.base_url}/users/alice"
    token = password_token(server.base_url, "alice", PASSWORD, "read write")
    other = password_token(server.base_url, "bob", PASSWORD, "read write")
    if not any(r["id"] == alice for r in peer.control("GET", "/following")):
        peer.control("POST", "/follow", {"handle": f"alice@{server.host}"})
        peer.wait_for(lambda a: a["type"] == "Accept" and a["actor"] == alice, timeout=20)

    client = bovine.BovineClient(actor_id=alice, access_token=token)
    await client.init_session()
    try:
        await _c2s_round_trip(server, peer, client, token, other)
    finally:
        await client.session.close()


async def _c2s_round_trip(
    server: FedigenServer, peer: PeerProcess, client: Any, token: str, other: str
) -> None:
    alice = f"{server.base_url}/users/alice"
    # BovineClient.init() GETs the actor with `Accept: application/json`, for which fedigen serves the
    # HTML profile (Mastodon serves the actor): load it with the AS2 type through bovine's own client.
    response = await client.client.get(alice, headers={"accept": AP_JSON})
    assert response.status == 200 and response.content_type == AP_JSON
    client.information = actor = json.loads(await response.text())
    assert actor["id"] == alice and actor["outbox"] == f"{alice}/outbox"
    upload_url = actor["endpoints"]["uploadMedia"]
    # bovine has no uploadMedia helper: the upload is a plain multipart POST with the same token.
    async with httpx.AsyncClient(timeout=15, trust_env=False) as http:
        uploaded = await http.post(
            upload_url, headers=_bearer(token),
            files={"file": ("square.png", png_bytes((32, 32)), "image/png")},
            data={"object": json.dumps({"type": "Image", "name": "a small square"})},
        )  # fmt: skip
    assert uploaded.status_code == 201, uploaded.text
    image = uploaded.json()
    assert image["type"] == "Image" and image["url"] and image["name"] == "a small square"

    note = {
        "@context": "https://www.w3.org/ns/activitystreams", "type": "Note", "attributedTo": alice,
        "content": "<p>posted through the outbox</p>", "to": [PUBLIC], "cc": [f"{alice}/followers"],
        "attachment": [{"type": "Image", "mediaType": image["mediaType"], "url": image["url"],
                        "name": "a small square"}],
    }  # fmt: skip
    response = await client.send_to_outbox(note)
    assert response.status == 201, await response.text()
    create_id = response.headers["location"]
    assert create_id.startswith(f"{alice}/")

    # The server wrapped the Note in a Create, gave both ids, and serves the activity and the Note.
    async with httpx.AsyncClient(timeout=15, trust_env=False, headers={"Accept": AP_JSON}) as http:
        create = (await http.get(create_id)).json()
        assert create["type"] == "Create" and create["actor"] == alice and create["id"] == create_id
        note_id = create["object"]["id"] if isinstance(create["object"], dict) else create["object"]
        stored = (await http.get(note_id)).json()
    assert stored["id"] == note_id and stored["attributedTo"] == alice and PUBLIC in stored["to"]
    [attached] = stored["attachment"]
    assert attached["type"] == "Image" and attached["name"] == "a small square"

    # The owner reads the inbox with the token; another account's token is refused.
    inbox = await client.get(actor["inbox"])
    assert inbox["type"] in ("OrderedCollection", "OrderedCollectionPage")
    async with httpx.AsyncClient(timeout=15, trust_env=False) as http:
        refused = await http.get(actor["inbox"], headers={**_bearer(other), "Accept": AP_JSON})
        anonymous = await http.get(actor["inbox"], headers={"Accept": AP_JSON})
    assert refused.status_code == 403, refused.text
    assert anonymous.status_code in (401, 403), anonymous.text

    # Visible through the Mastodon API as alice's status, with the image.
    async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
        home = await http.get(f"{server.base_url}/api/v1/timelines/home", headers=_bearer(token))
    statuses = home.json()
    [shown] = [s for s in statuses if s["uri"] == note_id]
    assert "posted through the outbox" in shown["content"]
    assert [m["type"] for m in shown["media_attachments"]] == ["image"]
    assert shown["media_attachments"][0]["description"] == "a small square"

    # The Fedify peer, a follower of alice, receives the Create with the Image (verified by Fedify).
    received = await asyncio.to_thread(
        peer.wait_for, lambda a: a["type"] == "Create" and a["object"] == note_id, 30
    )
    assert received["actor"] == alice and received["signature"] in ("rfc9421", "draft-cavage")
    fedify_view = received["activity"]["object"]["attachment"]
    fedify_view = fedify_view if isinstance(fedify_view, list) else [fedify_view]
    assert [a["type"] for a in fedify_view] == ["Image"]
    assert received["raw"]["object"]["attachment"][0]["name"] == "a small square"
