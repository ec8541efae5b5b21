"""Image posts and the generation bot against an independent server: the Fedify peer on loopback.

A real `fedigen serve` process (small images: ``[generation] size = "256x256"``) and the Fedify peer
(tests/interop/peer/). The peer follows alice and receives her image Note, verified by Fedify's own
signature code; it fetches every image URL unsigned, as Bluesky's CDN does, and gets the declared
type and the same bytes, whose pixel size is the declared one. It then mentions the bot with a
prompt and gets an image reply.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.interop import test_fedify_peer as basics
from tests.interop.peer_process import PeerProcess
from tests.support.server import FedigenServer

pytestmark = pytest.mark.interop
peer = basics.peer  # the same module-scoped Fedify peer fixture (one peer for this module)

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SMALL_IMAGES = '[generation]\nsize = "256x256"'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    with FedigenServer(tmp_path_factory.mktemp("fedigen"), extra_config=SMALL_IMAGES) as running:
        running.cli("account", "create", "alice", "--password-stdin", stdin="correct horse battery\n")
        yield running


def check_media_as_fetched_by_the_peer(peer: PeerProcess, attachment: dict[str, Any]) -> None:
    """The peer GETs the image unsigned: 200, the declared type, and bytes of the declared size."""
    url = attachment["url"]
    seen = peer.control("POST", "/fetch_media", {"url": url})
    assert seen["status"] == 200 and seen["final_url"] == url, seen
    assert seen["content_type"] == attachment["mediaType"]
    assert attachment["mediaType"] in ("image/jpeg", "image/webp", "image/png")
    assert int(seen["headers"]["content-length"]) == seen["length"] <= 2_000_000
    assert "immutable" in seen["headers"]["cache-control"]
    [request] = [r for r in peer.outgoing() if r["url"] == url]
    assert request["signature"] is None  # no signature was sent, and none was needed
    # The same bytes (by hash) decode to the width and height the Note declares.
    data = httpx.get(url, timeout=10).content
    assert hashlib.sha256(data).hexdigest() == seen["sha256"] and len(data) == seen["length"]
    image = Image.open(io.BytesIO(data))
    assert Image.MIME[image.format or ""] == attachment["mediaType"]
    assert image.size == (attachment["width"], attachment["height"]) == (256, 256)


def test_a_follower_receives_an_image_note_and_fetches_its_images(
    server: FedigenServer, peer: PeerProcess
) -> None:
    alice = f"{server.base_url}/users/alice"
    peer.control("POST", "/follow", {"handle": f"alice@{server.host}"})
    peer.wait_for(lambda a: a["type"] == "Accept" and a["actor"] == alice, timeout=20)

    out = server.cli(
        "post", "--as", "alice", "--prompt", "a lighthouse in fog", "--images", "2",
        "--alt", "the lighthouse", "--alt", "the fog", "Foggy tonight",
    ).stdout  # fmt: skip
    status_id, url = out.strip().splitlines()[-1].split("\t")
    note_id = f"{alice}/statuses/{status_id}"

    create = peer.wait_for(lambda a: a["type"] == "Create" and a["object"] == note_id, timeout=30)
    assert create["actor"] == alice and create["signature"] in ("rfc9421", "draft-cavage")
    note = create["raw"]["object"]
    assert note["url"] == url and "Foggy tonight" in note["content"]
    assert note["to"] == [PUBLIC] and note["generation"]["prompt"] == "a lighthouse in fog"
    # Fedify read the attachments as Images (its compacted view of what it verified).
    fedify_view = create["activity"]["object"]["attachment"]
    assert [a["type"] for a in fedify_view] == ["Image", "Image"]
    assert [a["name"] for a in note["attachment"]] == ["the lighthouse", "the fog"]
    for attachment in note["attachment"]:
        assert attachment["type"] == "Image" and attachment["summary"] == attachment["name"]
        check_media_as_fetched_by_the_peer(peer, attachment)


def test_the_peer_mentions_the_bot_and_gets_an_image_reply(server: FedigenServer, peer: PeerProcess) -> None:
    bot = f"{server.base_url}/users/imagine"  # made by `fedigen init`
    handle = f"@imagine@{server.host}"
    content = (
        f'<p><span class="h-card"><a href="{bot}" class="u-url mention">{handle}</a></span>'
        " a red kite over the dunes</p>"
    )
    sent = peer.control(
        "POST", "/create", {"content": content, "mention": bot, "mention_name": handle, "public": True}
    )
    assert sent["delivered_to"], sent

    def is_reply(activity: dict[str, Any]) -> bool:
        obj = activity["raw"].get("object")
        return (
            activity["type"] == "Create"
            and activity["actor"] == bot
            and isinstance(obj, dict)
            and obj.get("inReplyTo") == sent["note_id"]
        )

    create = peer.wait_for(is_reply, timeout=60)
    reply = create["raw"]["object"]
    assert reply["attributedTo"] == bot
    assert reply["to"] == [PUBLIC] and peer.actor in reply["cc"]  # a public request gets a public reply
    [mention] = [t for t in reply["tag"] if t["type"] == "Mention"]
    assert mention == {"type": "Mention", "href": peer.actor, "name": f"@{peer.handle}"}
    assert f'href="{peer.actor}"' in reply["content"] and "a red kite over the dunes" in reply["content"]
    assert reply["generation"]["prompt"] == "a red kite over the dunes"
    [image] = reply["attachment"]
    assert image["type"] == "Image" and image["name"] == "a red kite over the dunes"
    check_media_as_fetched_by_the_peer(peer, image)
    # Fedify's own view of the reply: a Note replying to the peer's note, with an Image.
    fedify_note = create["activity"]["object"]
    assert fedify_note["inReplyTo"] == sent["note_id"]
    attachments = fedify_note["attachment"]
    attachments = attachments if isinstance(attachments, list) else [attachments]  # compacted JSON-LD
    assert [a["type"] for a in attachments] == ["Image"]
    done = "SELECT count(*) FROM generation_jobs WHERE purpose='bot_reply' AND state='done'"
    assert basics._count(server, done) == 1


def test_the_peer_receives_a_remix_of_a_local_post_with_a_local_authorisation(
    server: FedigenServer, peer: PeerProcess
) -> None:
    # dora remixes alice's post on the same instance: the stamp is issued here, at once, so the remix
    # reaches the peer as a quote that Mastodon 4.5 would show (FEP-044f), not a pending one.
    server.cli("account", "create", "dora", "--password-stdin", stdin="correct horse battery\n")
    alice, dora = f"{server.base_url}/users/alice", f"{server.base_url}/users/dora"
    peer.control("POST", "/follow", {"handle": f"dora@{server.host}"})
    peer.wait_for(lambda a: a["type"] == "Accept" and a["actor"] == dora, timeout=20)
    out = server.cli("post", "--as", "alice", "--prompt", "a red boat", "Boat").stdout
    parent = f"{alice}/statuses/{out.strip().splitlines()[-1].split(chr(9))[0]}"
    server.cli("remix", "--as", "dora", parent, "at night", "Boat by night")
    create = peer.wait_for(lambda a: a["type"] == "Create" and a["actor"] == dora, timeout=60)
    note = create["raw"]["object"]
    assert note["quote"] == parent and note["quoteUrl"] == parent and "Remix of" in note["content"]
    # Fedify read the FEP-044f properties from the Note it verified.
    fedify_note = create["activity"]["object"]
    assert fedify_note.get("quote") == parent
    assert fedify_note.get("quoteAuthorization") == note["quoteAuthorization"]
    fetched = peer.control("POST", "/fetch", {"url": note["quoteAuthorization"]})
    assert fetched["status"] == 200, fetched
    stamp = fetched["document"]
    assert stamp["type"] == "QuoteAuthorization" and stamp["attributedTo"] == alice
    assert stamp["interactingObject"] == note["id"] and stamp["interactionTarget"] == parent
