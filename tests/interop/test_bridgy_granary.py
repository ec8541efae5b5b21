"""The Bridgy Fed check: what a Bluesky user sees of our image Notes.

Bridgy Fed converts a fediverse post with the ``granary`` library (PyPI, 11.0): ``as2.to_as1()``, then
``bluesky.from_as1()``, which builds an ``app.bsky.feed.post`` record. Before converting, the bridge
fetches every image URL of the post itself, unsigned, with ``webutil.util.requests_get`` (arroba's
``AtpRemoteBlob``: a 4xx drops the image for good, the blob's type is the response's Content-Type, its
``ref`` the CID of the bytes), and hands the blobs and aspect ratios to ``from_as1``. This test does
the same, with the same ``from_as1`` arguments the bridge passes, on Notes made by a real in-process
instance and fetched from it as a peer would. ``webutil.util.requests_get`` is replaced by a function
that sends the request to that in-process app (so granary's side really fetches our media route), and
``requests``' transport is replaced by one that fails, so nothing here can reach the network.

The record is then validated against the ``app.bsky.feed.post`` lexicon bundled with ``lexrpc`` (PyPI,
offline). lexrpc does not check blob constraints (its check is commented out), so the image blobs are
checked against the lexicon's ``maxSize`` / ``accept`` here.

Not covered: the bridge's gates on the account (icon, age, ``#nobridge``) and its id translation for
replies and quotes (``translate_ids``), which needs the bridge's datastore.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import brevity
import grapheme
import pytest
import requests
from granary import as1, as2, bluesky
from lexrpc.base import Base
from multiformats import CID, multihash
from PIL import Image
from webutil import util

from activitypub.notes import note_to_ap
from fedigen.social import accounts, generations
from generation.jobs import JobSpec
from storage import queue
from storage.models import Actor, GenerationJob, Status
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.flows.test_image_posts import remix_as

pytestmark = [
    pytest.mark.interop,
    # granary's HTML-to-text step lets BeautifulSoup pick its parser and says so on every post.
    pytest.mark.filterwarnings("ignore:No parser was explicitly specified"),
]

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS2 = {"Accept": "application/activity+json"}
LEXICONS = Base()
IMAGE_BLOB = LEXICONS.defs["app.bsky.embed.images#image"]["properties"]["image"]
POST_TEXT = LEXICONS.defs["app.bsky.feed.post"]["record"]["properties"]["text"]
# What granary appends when it cuts a post that has images (bluesky.from_as1, INCLUDE_IF_TRUNCATED).
ORIGINAL_POST = "[Original post on fedigen.test]"


# --- the brevity stand-in ---------------------------------------------------------------------------
# granary 11.0 calls brevity.shorten(text, permalink=, target_length=, link_length=None, ellipsis=,
# punctuation=, weights=False, lang=), a signature only the bridge's git fork of brevity has; PyPI's
# brevity 0.2.17 raises TypeError on every Note. This stand-in is substituted for it.
# It is exact for text within the limit: such text is returned unchanged, as the fork does (granary
# only asks for the permalink when the text is cut). Longer text is cut at a word boundary and ends
# with the ellipsis and the permalink, within the limit, counted in graphemes (weights=False and
# link_length=None: links count as their own length); the fork's cut point may differ by a word.
DELIMITERS = ",.;: \t\r\n"


def shorten_like_the_bridge(
    text: str,
    permalink: str | None = None,
    permashortlink: str | None = None,
    permashortcitation: str | None = None,
    target_length: int = 300,
    link_length: int | None = None,
    format: str = brevity.FORMAT_NOTE,  # noqa: A002 - brevity's keyword
    ellipsis: str = "…",
    punctuation: tuple[str, str] = ("(", ")"),
    weights: bool = True,
    lang: str | None = None,
) -> str:
    # Only what granary uses for a post with images is modelled; anything else fails loudly.
    assert format == brevity.FORMAT_NOTE and not permashortlink and not permashortcitation
    assert weights is False and link_length is None and punctuation == ("", "")
    if grapheme.length(text) <= target_length:
        return text
    tail = ellipsis + (permalink or "")
    budget = target_length - grapheme.length(tail)
    cut = text.rstrip()
    while grapheme.length(cut) > budget:
        # drop the last word (and the delimiters before it)
        cut = cut.rstrip(DELIMITERS)
        index = max(cut.rfind(d) for d in DELIMITERS)
        cut = cut[:index].rstrip(DELIMITERS) if index > 0 else grapheme.slice(cut, 0, budget)
    return cut + tail


# --- the bridge's side --------------------------------------------------------------------------------
def in_process_get(inst: Instance, loop: asyncio.AbstractEventLoop, log: list[str]) -> Callable[..., Any]:
    """A stand-in for ``webutil.util.requests_get``: an unsigned GET sent to the in-process app.

    The conversion runs in a worker thread; the request runs on the test's event loop (which is
    waiting for that thread) and comes back as a ``requests.Response``, as the bridge would get it.
    """

    def get(url: str, **kwargs: Any) -> requests.Response:
        headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() == "user-agent"}
        assert url.startswith(inst.settings.base_url), f"the bridge would fetch {url}: not ours"
        log.append(url)
        answer = asyncio.run_coroutine_threadsafe(inst.client.get(url, headers=headers), loop).result(30)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers.update(answer.headers)
        response._content = answer.content
        response.url = url
        return response

    return get


def fetch_blobs(note_as1: dict[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    """The bridge's blob step (Bridgy Fed ATProto._convert + arroba AtpRemoteBlob): each image URL is
    fetched with ``util.requests_get``; a 4xx or a failed fetch drops it; the blob's ``mimeType`` is
    the response's Content-Type, its ``ref`` the raw CIDv1 (sha2-256) of the bytes."""
    blobs: dict[str, Any] = {}
    aspects: dict[str, tuple[int, int]] = {}
    for url in util.get_urls(note_as1, "image"):
        if url in blobs:
            continue
        response = util.requests_get(url, stream=True)
        if not response.ok:
            continue
        blobs[url] = {
            "$type": "blob",
            "ref": CID("base58btc", 1, "raw", multihash.digest(response.content, "sha2-256")),
            "mimeType": response.headers.get("Content-Type") or "application/octet-stream",
            "size": len(response.content),
        }
        aspects[url] = Image.open(io.BytesIO(response.content)).size
    return blobs, aspects


def bridge(note: dict[str, Any]) -> dict[str, Any]:
    """Our Note as the bridge writes it to the Bluesky repo (the same from_as1 arguments)."""
    note_as1 = as2.to_as1(note)
    blobs, aspects = fetch_blobs(note_as1)
    record: dict[str, Any] = bluesky.from_as1(
        note_as1, blobs=blobs, aspects=aspects, original_fields_prefix="bridgy", raise_=True,
        dynamic_sensitive_labels=True,
    )  # fmt: skip
    return record


def validate(record: dict[str, Any]) -> None:
    """The record against the bundled app.bsky.feed.post lexicon, and its blobs against their def."""
    LEXICONS.validate("app.bsky.feed.post", "record", record)
    assert grapheme.length(record["text"]) <= POST_TEXT["maxGraphemes"]
    for image in record.get("embed", {}).get("images", []):
        Base.validate_mime_type(image["image"]["mimeType"], IMAGE_BLOB["accept"], name="image")
        assert 0 < image["image"]["size"] <= IMAGE_BLOB["maxSize"]


# --- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture
async def instance_with_alice(tmp_path: Path, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path, "sqlite", generation={"size": "256x256"})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst


@pytest.fixture
def bluesky_view(
    instance_with_alice: Instance, monkeypatch: pytest.MonkeyPatch
) -> Callable[[dict[str, Any]], Any]:
    """``await view(note)``: the bridged record and the URLs the bridge fetched, network sealed off."""
    inst = instance_with_alice

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a real network request was attempted: {args[1:2]}")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", no_network)
    monkeypatch.setattr(brevity, "shorten", shorten_like_the_bridge)

    async def view(note: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        fetched: list[str] = []
        monkeypatch.setattr(util, "requests_get", in_process_get(inst, asyncio.get_running_loop(), fetched))
        record = await asyncio.to_thread(bridge, note)
        validate(record)
        return record, fetched

    return view


async def post(inst: Instance, prompt: str, text: str, **options: Any) -> Status:
    """alice posts images made from ``prompt`` (the use-case every front door calls)."""
    svc = inst.services
    count = options.pop("count", 1)
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        job = await generations.request_generation(
            svc, session, alice, JobSpec(prompt=prompt, count=count), purpose="post",
            post=generations.post_options(text, **options),
        )  # fmt: skip
    await inst.drain()
    async with svc.sessions() as session:
        done = await session.get(GenerationJob, job.id)
        assert done is not None and done.state == queue.DONE, done and done.last_error
        status = await session.get(Status, done.status_id)
    assert status is not None
    return status


async def fetch_note(inst: Instance, status: Status) -> dict[str, Any]:
    """The Note as a peer (or the bridge) dereferences it: unsigned GET with an AS2 Accept."""
    response = await inst.client.get(status.ap_id, headers=AS2)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/activity+json")
    note: dict[str, Any] = response.json()
    return note


# --- the checks -----------------------------------------------------------------------------------------
async def test_four_images_with_their_alt_text_become_a_bluesky_image_post(
    instance_with_alice: Instance, bluesky_view: Any
) -> None:
    inst = instance_with_alice
    alts = ["a lighthouse in fog", "the lamp room at dusk", "waves on the rocks", "a gull, close up"]
    status = await post(inst, "a lighthouse in fog", "Foggy #lighthouse tonight", count=4, alt=alts)
    note = await fetch_note(inst, status)
    assert note["to"] == [PUBLIC] and len(note["attachment"]) == 4
    record, fetched = await bluesky_view(note)

    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == "Foggy #lighthouse tonight"  # plain text, no link back when nothing is cut
    assert record["bridgyOriginalUrl"] == note["url"]
    # The hashtag is a Bluesky tag facet over "#lighthouse".
    [facet] = record["facets"]
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "lighthouse"}]
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert record["text"].encode()[start:end] == b"#lighthouse"
    assert "labels" not in record  # not sensitive: no self-label

    # Every image, in order, with its own alt text, fetched unsigned from our media URLs.
    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.images" and len(embed["images"]) == 4
    assert fetched == [a["url"] for a in note["attachment"]]
    for image, attachment, alt in zip(embed["images"], note["attachment"], alts, strict=True):
        assert image["alt"] == attachment["name"] == alt
        blob = image["image"]
        assert blob["mimeType"] == attachment["mediaType"]
        assert blob["mimeType"] in ("image/jpeg", "image/webp")
        assert blob["size"] <= 2_000_000
        assert image["aspectRatio"] == {"width": attachment["width"], "height": attachment["height"]}
        assert (attachment["width"], attachment["height"]) == (256, 256)
    assert len({str(i["image"]["ref"]) for i in embed["images"]}) == 4  # four different images


async def test_sensitive_posts_carry_a_self_label(instance_with_alice: Instance, bluesky_view: Any) -> None:
    inst = instance_with_alice
    plain = await post(inst, "a storm at sea", "Rough night.", sensitive=True)
    record, _ = await bluesky_view(await fetch_note(inst, plain))
    assert record["labels"]["$type"] == "com.atproto.label.defs#selfLabels"
    assert record["labels"]["values"] == [{"val": "graphic-media"}]  # no CW: the default label
    assert record["text"] == "Rough night."
    assert len(record["embed"]["images"]) == 1

    # A content warning is prepended in brackets (and counts towards the 300); "nsfw" in it picks "porn".
    warned = await post(inst, "a storm at sea", "Rough night.", cw="NSFW: shipwreck")
    note = await fetch_note(inst, warned)
    assert note["sensitive"] is True and note["summary"] == "NSFW: shipwreck"
    record, _ = await bluesky_view(note)
    assert record["labels"]["values"] == [{"val": "porn"}]
    assert record["text"] == "[NSFW: shipwreck]\n\nRough night."

    other = await post(inst, "a storm at sea", "Rough night.", cw="flashing lights")
    record, _ = await bluesky_view(await fetch_note(inst, other))
    assert record["labels"]["values"] == [{"val": "graphic-media"}]


async def test_a_long_caption_is_cut_to_300_graphemes_with_a_link_back(
    instance_with_alice: Instance, bluesky_view: Any
) -> None:
    inst = instance_with_alice
    caption = " ".join(["The keeper climbs the stairs again, lamp oil in hand, to light the fog. 🌫️"] * 8)
    assert grapheme.length(caption) > 500
    status = await post(inst, "a lighthouse in fog", caption, cw="long read")
    note = await fetch_note(inst, status)
    record, _ = await bluesky_view(note)

    text = record["text"]
    assert grapheme.length(text) <= 300 and len(text.encode()) <= POST_TEXT["maxLength"]
    assert text.startswith("[long read]\n\nThe keeper climbs the stairs again")
    assert text.endswith(" […]\n\n" + ORIGINAL_POST)
    # The "[Original post on …]" suffix links back to our post.
    link = next(f for f in record["facets"] if f["features"][0]["$type"] == "app.bsky.richtext.facet#link")
    assert link["features"][0]["uri"] == note["url"]
    start, end = link["index"]["byteStart"], link["index"]["byteEnd"]
    assert text.encode()[start:end].decode() == "\n\n" + ORIGINAL_POST
    assert caption.startswith(text.split(" […]")[0].removeprefix("[long read]\n\n"))
    assert record["embed"]["images"][0]["alt"] == "a lighthouse in fog"  # the images survive the cut
    assert record["bridgyOriginalText"] == note["content"]


async def test_only_public_notes_are_bridged(instance_with_alice: Instance) -> None:
    """docs/refusals.md case 30: only Public in ``to`` is bridged; the bridge's gate is
    ``as1.is_public(obj, unlisted=False)`` on the converted Note."""
    inst = instance_with_alice
    public = await fetch_note(inst, await post(inst, "a lighthouse", "public"))
    assert public["to"] == [PUBLIC] and PUBLIC not in public["cc"]
    assert as1.is_public(as2.to_as1(public), unlisted=False) is True

    unlisted = await fetch_note(inst, await post(inst, "a lighthouse", "quiet", visibility="unlisted"))
    assert PUBLIC not in unlisted["to"] and PUBLIC in unlisted["cc"]
    assert as1.is_public(as2.to_as1(unlisted), unlisted=False) is False

    private = await post(inst, "a lighthouse", "friends only", visibility="followers")
    # Not served to an anonymous fetcher at all ...
    assert (await inst.client.get(private.ap_id, headers=AS2)).status_code in (401, 403, 404)
    # ... and the Note delivered to followers names no public audience.
    async with inst.services.sessions() as session:
        author = await session.get(Actor, private.actor_id)
        assert author is not None
        doc = note_to_ap(private, author, inst.services.urls)
    assert PUBLIC not in doc["to"] + doc["cc"] and doc["to"] == [author.followers_url]
    assert as1.is_public(as2.to_as1(doc), unlisted=False) is False


async def test_a_remix_keeps_its_remix_of_line_on_bluesky(
    instance_with_alice: Instance, bluesky_view: Any
) -> None:
    """The bridge makes no quote of a remix (its parent is a fediverse post, not a Bluesky record), so
    the visible "Remix of" paragraph is what tells Bluesky readers where the image came from."""
    inst = instance_with_alice
    parent = await post(inst, "a lighthouse in fog", "Foggy tonight")
    remix = await remix_as(inst, "alice", parent.ap_id, "at dawn", "Dawn")
    note = await fetch_note(inst, remix)
    record, _ = await bluesky_view(note)
    # The paragraph becomes a line of its own, its link a link facet over the parent's page URL.
    assert record["text"] == f"Dawn\n\nRemix of {parent.url}"
    [link] = record["facets"]
    assert link["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": parent.url}]
    start, end = link["index"]["byteStart"], link["index"]["byteEnd"]
    assert record["text"].encode()[start:end].decode() == parent.url
    assert record["embed"]["$type"] == "app.bsky.embed.images"
