"""Custom emoji and emoji reactions, as Misskey, Pleroma/Akkoma and Mastodon send them.

Every document is shaped from the sender's own source, cited where it is built; each is POSTed to the
real inbox with a real signature, the worker runs (and copies the emoji images), and the test checks
what is stored, the copied files, and what the client API then returns.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import func, select

from fedigen.social import accounts, posts
from fedigen.social.posts import PostRequest
from fedigen.web.emoji import emojify_html, emojify_text
from storage.models import (
    Actor,
    ActorEmoji,
    CustomEmoji,
    DomainBlock,
    Favourite,
    Notification,
    Reaction,
    Status,
    StatusEmoji,
)
from tests.api.conftest import bearer, issue_token
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import PUBLIC, RemoteActor, RemoteServer
from tests.storage.test_images import png_declaring, raw_png

BASE = "http://fedigen.test"
ALICE = f"{BASE}/users/alice"
INBOX = "/users/alice/inbox"
SHARED_INBOX = "/inbox"

# Misskey's ApRendererService.addContext (packages/backend/src/core/activitypub/ApRendererService.ts).
MISSKEY_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag", "quoteUrl": "as:quoteUrl", "toot": "http://joinmastodon.org/ns#",
        "Emoji": "toot:Emoji", "featured": "toot:featured", "discoverable": "toot:discoverable",
        "schema": "http://schema.org#", "PropertyValue": "schema:PropertyValue", "value": "schema:value",
        "misskey": "https://misskey-hub.net/ns#", "_misskey_content": "misskey:_misskey_content",
        "_misskey_quote": "misskey:_misskey_quote", "_misskey_reaction": "misskey:_misskey_reaction",
        "_misskey_votes": "misskey:_misskey_votes", "isCat": "misskey:isCat",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
    },
]  # fmt: skip
# Pleroma's Utils.make_json_ld_header: its own context document, which we never fetch.
PLEROMA_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams", "http://pleroma.test/schemas/litepub-0.1.jsonld",
    {"@language": "und"},
]  # fmt: skip


# --- images and fixtures ----------------------------------------------------------------------------


def emoji_png(colour: tuple[int, int, int] = (250, 180, 0)) -> bytes:
    """A 96 px emoji with a transparent border and a text chunk (which must not survive)."""
    im = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    im.paste((*colour, 255), (8, 8, 88, 88))
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "drawn at 35.68N 139.76E")
    im.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def emoji_gif() -> bytes:
    frames = [Image.new("RGB", (64, 64), c) for c in ("red", "lime", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return out.getvalue()


def misskey_emoji(
    server: RemoteServer, name: str, file: str, media_type: str = "image/png"
) -> dict[str, Any]:
    """Misskey's renderEmoji: id /emojis/NAME, :NAME:, updated, and the drive file's URL (no extension)."""
    return {
        "id": f"{server.base}/emojis/{name}", "type": "Emoji", "name": f":{name}:",
        "updated": "2024-05-01T09:30:00.000Z",
        "icon": {"type": "Image", "mediaType": media_type, "url": f"{server.base}/files/{file}"},
    }  # fmt: skip


@pytest.fixture
def misskey(router: HostRouter) -> RemoteServer:
    """A Misskey server with blobcat (PNG) and nya (animated GIF), served as Misskey serves drive files."""
    server = RemoteServer("misskey.test")
    router.add(server.host, server.app)
    server.serve_file(f"{server.base}/files/webpublic-5b1b2c7e", emoji_png())
    server.serve_file(f"{server.base}/files/webpublic-0e9d41aa", emoji_gif(), "image/gif")
    server.serve_file(f"{server.base}/files/webpublic-77aa01bc", emoji_png((40, 90, 200)))
    return server


@pytest.fixture
def ayaka(misskey: RemoteServer) -> RemoteActor:
    """A Misskey account as renderPerson writes it: id by aid, the name in preferredUsername, emoji in
    the display name, bio and a field, listed in ``tag`` with a hashtag."""
    return misskey.add_actor(
        "9kqzmb5x8e",
        **{"@context": MISSKEY_CONTEXT},
        preferredUsername="ayaka",
        name=":blobcat: Ayaka :nya:",
        summary="<p><span>I draw :blobcat: all day</span></p>",
        icon=None,
        image=None,
        sharedInbox=f"{misskey.base}/inbox",
        isCat=True,
        attachment=[{"type": "PropertyValue", "name": "Fav", "value": ":blobcat:"}],
        tag=[
            misskey_emoji(misskey, "blobcat", "webpublic-5b1b2c7e"),
            misskey_emoji(misskey, "nya", "webpublic-0e9d41aa", "image/gif"),
            {"type": "Hashtag", "href": f"{misskey.base}/tags/art", "name": "#art"},
        ],
    )


@pytest.fixture
def pleroma(router: HostRouter) -> RemoteServer:
    server = RemoteServer("pleroma.test")
    router.add(server.host, server.app)
    server.serve_file(f"{server.base}/emoji/blobfox/blobfox.png", emoji_png((220, 110, 30)))
    return server


@pytest.fixture
def lain(pleroma: RemoteServer) -> RemoteActor:
    return pleroma.add_actor("lain")


# --- helpers ----------------------------------------------------------------------------------------


async def send(inst: Instance, actor: RemoteActor, activity: dict[str, Any], path: str = INBOX) -> None:
    response = await actor.post(inst.client, path, activity)
    assert response.status_code == 202, response.text
    await inst.drain()


async def rows(inst: Instance, model: Any, *where: Any) -> list[Any]:
    async with inst.services.sessions() as session:
        return list(await session.scalars(select(model).where(*where).order_by(model.id)))


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def emoji_row(inst: Instance, shortcode: str, domain: str) -> CustomEmoji:
    [row] = await rows(inst, CustomEmoji, CustomEmoji.shortcode == shortcode, CustomEmoji.domain == domain)
    return row


def stored_file(inst: Instance, key: str | None) -> Image.Image:
    """Our copy of an emoji image, opened from the media store."""
    assert key is not None
    path = inst.services.media.store.path(key)
    assert path.exists()
    return Image.open(io.BytesIO(path.read_bytes()))


async def alice_posts(inst: Instance, text: str = "my new picture") -> Status:
    async with inst.services.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        status = await posts.create_post(inst.services, session, alice, PostRequest(text=text))
    await inst.drain()
    return status


async def api(inst: Instance, path: str, **params: Any) -> Any:
    token = await issue_token(inst, "alice")
    response = await inst.client.get(path, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


def misskey_note(server: RemoteServer, actor: RemoteActor, note_id: str, text: str, tags: list[Any]) -> Any:
    """Misskey's renderNote of a public note mentioning alice (content from MFM, _misskey_content and
    source, the emoji in ``tag`` with the mention)."""
    mention = f'<a href="{BASE}/@alice" class="u-url mention">@alice@fedigen.test</a>'
    return {
        "id": f"{server.base}/notes/{note_id}", "type": "Note", "attributedTo": actor.ap_id,
        "content": f"<p>{mention}<span> {text}</span></p>",
        "_misskey_content": f"@alice@fedigen.test {text}",
        "source": {"content": f"@alice@fedigen.test {text}", "mediaType": "text/x.misskeymarkdown"},
        "published": "2026-01-02T03:04:05.678Z", "to": [PUBLIC], "cc": [f"{actor.ap_id}/followers", ALICE],
        "inReplyTo": None, "attachment": [], "sensitive": False,
        "tag": [{"type": "Mention", "href": ALICE, "name": "@alice@fedigen.test"}, *tags],
    }  # fmt: skip


def misskey_create(note: dict[str, Any], actor: RemoteActor) -> dict[str, Any]:
    """Misskey's renderCreate: id NOTE/activity, the note's audience."""
    return {
        "@context": MISSKEY_CONTEXT, "id": f"{note['id']}/activity", "actor": actor.ap_id, "type": "Create",
        "published": note["published"], "object": note, "to": note["to"], "cc": note["cc"],
    }  # fmt: skip


def misskey_like(server: RemoteServer, actor: RemoteActor, like_id: str, status: Status, reaction: str,
                 tag: list[Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Misskey's renderLike: the reaction in content and _misskey_reaction, its Emoji tag if custom."""
    like: dict[str, Any] = {
        "type": "Like", "id": f"{server.base}/likes/{like_id}", "actor": actor.ap_id, "object": status.ap_id,
        "content": reaction, "_misskey_reaction": reaction,
    }  # fmt: skip
    if tag:
        like["tag"] = tag
    return {"@context": MISSKEY_CONTEXT, **like}


def misskey_undo(activity: dict[str, Any], actor: RemoteActor) -> dict[str, Any]:
    """Misskey's renderUndo: id ACTIVITY/undo, the activity embedded."""
    inner = {k: v for k, v in activity.items() if k != "@context"}
    return {"@context": MISSKEY_CONTEXT, "type": "Undo", "id": f"{inner['id']}/undo", "actor": actor.ap_id,
            "object": inner, "published": "2026-01-02T04:00:00.000Z"}  # fmt: skip


def pleroma_react(server: RemoteServer, actor: RemoteActor, react_id: str, status: Status, content: str,
                  tag: list[Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """Pleroma's and Akkoma's Builder.emoji_react over object_action: to the reacter's followers and the
    author (public post), cc the post's other recipients, its context, the emoji in content; a custom
    emoji's tag as Akkoma's add_emoji_content writes it (id = the image URL, no mediaType)."""
    return {
        "@context": PLEROMA_CONTEXT, "id": f"{server.base}/activities/{react_id}", "type": "EmojiReact",
        "actor": actor.ap_id, "object": status.ap_id, "content": content,
        "to": [actor.followers, ALICE], "cc": [PUBLIC, f"{ALICE}/followers"],
        "context": f"{server.base}/contexts/7c1b4a2e-1f7e-4c61-9a1e-3c9f1f6d2b10", "tag": tag or [],
    }  # fmt: skip


# --- custom emoji in posts, names and bios ----------------------------------------------------------


async def test_a_misskey_note_keeps_its_emoji_and_the_images_are_copied_through_the_pipeline(
    fedigen: Instance, misskey: RemoteServer, ayaka: RemoteActor
) -> None:
    tags = [
        misskey_emoji(misskey, "blobcat", "webpublic-5b1b2c7e"),
        misskey_emoji(misskey, "nya", "webpublic-0e9d41aa", "image/gif"),
        misskey_emoji(misskey, "unused", "webpublic-77aa01bc"),  # tagged, not in the text
    ]
    note = misskey_note(misskey, ayaka, "9kqzn0abcd", "look :blobcat: :nya::nya:", tags)
    await send(fedigen, ayaka, misskey_create(note, ayaka), SHARED_INBOX)

    [status] = await rows(fedigen, Status, Status.ap_id == note["id"])
    blobcat, nya = (
        await emoji_row(fedigen, "blobcat", "misskey.test"),
        await emoji_row(fedigen, "nya", "misskey.test"),
    )
    assert (blobcat.ap_id, blobcat.remote_url) == (tags[0]["id"], tags[0]["icon"]["url"])
    assert blobcat.state == nya.state == "ready" and blobcat.fetched_at is not None
    unused = await emoji_row(fedigen, "unused", "misskey.test")
    links = await rows(fedigen, StatusEmoji, StatusEmoji.status_id == status.id)
    assert {link.emoji_id for link in links} == {blobcat.id, nya.id, unused.id}
    # Our copies: the PNG keeps its transparency but not its text chunk; the GIF stays animated, its
    # static copy is a PNG of the first frame.
    image = stored_file(fedigen, blobcat.image_key)
    assert image.format == "PNG" and image.size == (96, 96) and "Comment" not in image.info
    assert b"35.68N" not in fedigen.services.media.store.path(blobcat.image_key or "").read_bytes()
    gif = stored_file(fedigen, nya.image_key)
    assert gif.format == "GIF" and getattr(gif, "n_frames", 1) == 3 and nya.media_type == "image/gif"
    static = stored_file(fedigen, nya.static_key)
    assert static.format == "PNG" and static.convert("RGB").getpixel((32, 32))[0] > 200  # type: ignore[index]

    entity = await api(fedigen, f"/api/v1/statuses/{status.id}")
    # Only the emoji the text uses, as Mastodon's CustomEmoji entity (remote: never in the picker).
    assert [e["shortcode"] for e in entity["emojis"]] == ["blobcat", "nya"]
    first = entity["emojis"][0]
    assert first["url"] == f"{BASE}/media/{blobcat.image_key}"
    assert first["static_url"] == f"{BASE}/media/{blobcat.static_key}"
    assert first["visible_in_picker"] is False and first["category"] is None
    assert entity["emojis"][1]["url"].endswith(".gif") and entity["emojis"][1]["static_url"].endswith(".png")
    assert ":blobcat:" in entity["content"]  # clients replace the shortcodes themselves
    served = await fedigen.client.get(first["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    # The author's name uses both emoji, listed on the account.
    assert [e["shortcode"] for e in entity["account"]["emojis"]] == ["blobcat", "nya"]
    fetched = len(misskey.requests_to(tags[0]["icon"]["url"]))
    await fedigen.drain()
    assert len(misskey.requests_to(tags[0]["icon"]["url"])) == fetched == 1  # copied once


async def test_an_actor_with_emoji_in_its_name_bio_and_fields(
    fedigen: Instance, misskey: RemoteServer, ayaka: RemoteActor
) -> None:
    follow = {"@context": MISSKEY_CONTEXT, "id": f"{misskey.base}/follows/9kqzmb5x8e/9kqzzz0001",
              "type": "Follow", "actor": ayaka.ap_id, "object": ALICE}  # fmt: skip
    await send(fedigen, ayaka, follow)

    [actor] = await rows(fedigen, Actor, Actor.ap_id == ayaka.ap_id)
    assert actor.display_name == ":blobcat: Ayaka :nya:"
    links = await rows(fedigen, ActorEmoji, ActorEmoji.actor_id == actor.id)
    blobcat = await emoji_row(fedigen, "blobcat", "misskey.test")
    nya = await emoji_row(fedigen, "nya", "misskey.test")
    assert {link.emoji_id for link in links} == {blobcat.id, nya.id} and blobcat.state == nya.state == "ready"
    account = await api(fedigen, f"/api/v1/accounts/{actor.id}")
    assert [(e["shortcode"], e["url"]) for e in account["emojis"]] == [
        ("blobcat", f"{BASE}/media/{blobcat.image_key}"),
        ("nya", f"{BASE}/media/{nya.image_key}"),
    ]
    notifications = await api(fedigen, "/api/v1/notifications")
    assert notifications[0]["type"] == "follow" and len(notifications[0]["account"]["emojis"]) == 2

    # An Update of the profile without nya: the account no longer lists it; blobcat stays.
    ayaka.extra["name"] = ":blobcat: Ayaka"
    ayaka.extra["tag"] = [misskey_emoji(misskey, "blobcat", "webpublic-5b1b2c7e")]
    update = {"@context": MISSKEY_CONTEXT, "id": f"{ayaka.ap_id}#updates/1767326400000", "type": "Update",
              "actor": ayaka.ap_id, "to": [PUBLIC], "object": ayaka.document()}  # fmt: skip
    await send(fedigen, ayaka, update)
    assert {link.emoji_id for link in await rows(fedigen, ActorEmoji, ActorEmoji.actor_id == actor.id)} == {
        blobcat.id}  # fmt: skip
    assert [e["shortcode"] for e in (await api(fedigen, f"/api/v1/accounts/{actor.id}"))["emojis"]] == [
        "blobcat"
    ]


async def test_a_mastodon_note_edit_relinks_its_emoji_and_a_newer_image_is_copied_again(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    """Mastodon's ActivityPub::EmojiSerializer: id /emojis/ID, :shortcode:, updated, an Image icon."""
    first_url = f"{remote.base}/system/custom_emojis/images/000/000/042/original/3f1c2b.png"
    remote.serve_file(first_url, emoji_png((10, 200, 10)))

    def emoji(url: str, updated: str) -> dict[str, Any]:
        return {"id": f"{remote.base}/emojis/42", "type": "Emoji", "name": ":ablobwave:", "updated": updated,
                "icon": {"type": "Image", "mediaType": "image/png", "url": url}}  # fmt: skip

    note = bob.note("<p>hi <span class=\"h-card\">@alice</span> :ablobwave:</p>", mention=ALICE,
                    summary="waves :ablobwave:")  # fmt: skip
    note["tag"].append(emoji(first_url, "2023-06-01T00:00:00Z"))
    await send(fedigen, bob, bob.create(note))
    [status] = await rows(fedigen, Status, Status.ap_id == note["id"])
    wave = await emoji_row(fedigen, "ablobwave", "remote.test")
    assert wave.state == "ready" and wave.ap_id == f"{remote.base}/emojis/42"
    first_key = wave.image_key
    entity = await api(fedigen, f"/api/v1/statuses/{status.id}")
    assert [e["shortcode"] for e in entity["emojis"]] == ["ablobwave"] and entity[
        "spoiler_text"
    ] == "waves :ablobwave:"

    # The admin replaced the image: the edit names a newer file, which is copied again.
    second_url = f"{remote.base}/system/custom_emojis/images/000/000/042/original/9d8e7f.png"
    remote.serve_file(second_url, emoji_png((200, 10, 10)))
    edited = {**note, "content": "<p>edited :ablobwave:</p>", "updated": "2026-01-01T13:00:00Z",
              "tag": [*note["tag"][:-1], emoji(second_url, "2026-01-01T12:00:00Z")]}  # fmt: skip
    await send(fedigen, bob, bob.activity("Update", edited))
    wave = await emoji_row(fedigen, "ablobwave", "remote.test")
    assert wave.remote_url == second_url and wave.state == "ready" and wave.image_key != first_key
    assert stored_file(fedigen, wave.image_key).convert("RGB").getpixel((48, 48))[0] > 150  # type: ignore[index]

    # An edit without emoji unlinks it; the emoji itself is kept for other posts.
    plain = {**edited, "content": "<p>no emoji now</p>", "summary": None, "tag": note["tag"][:-1],
             "updated": "2026-01-01T14:00:00Z"}  # fmt: skip
    await send(fedigen, bob, bob.activity("Update", plain))
    assert await count(fedigen, StatusEmoji, StatusEmoji.status_id == status.id) == 0
    assert (await api(fedigen, f"/api/v1/statuses/{status.id}"))["emojis"] == []
    assert await count(fedigen, CustomEmoji) == 1


async def test_one_server_cannot_replace_another_servers_emoji(
    fedigen: Instance, misskey: RemoteServer, ayaka: RemoteActor, remote: RemoteServer, bob: RemoteActor
) -> None:
    await send(fedigen, ayaka, misskey_create(misskey_note(misskey, ayaka, "9kqzn0abce", ":blobcat:",
               [misskey_emoji(misskey, "blobcat", "webpublic-5b1b2c7e")]), ayaka), SHARED_INBOX)  # fmt: skip
    evil_url = f"{remote.base}/evil.png"
    remote.serve_file(evil_url, emoji_png((0, 0, 0)))
    forged = {"id": f"{misskey.base}/emojis/blobcat", "type": "Emoji", "name": ":blobcat:",
              "updated": "2030-01-01T00:00:00Z", "icon": {"type": "Image", "url": evil_url}}  # fmt: skip
    note = bob.note("<p>:blobcat:</p>", mention=ALICE)
    note["tag"].append(forged)
    await send(fedigen, bob, bob.create(note))

    theirs = await emoji_row(fedigen, "blobcat", "misskey.test")
    assert theirs.remote_url == f"{misskey.base}/files/webpublic-5b1b2c7e"
    bobs = await emoji_row(fedigen, "blobcat", "remote.test")
    assert bobs.remote_url == evil_url and bobs.id != theirs.id


# --- reactions ---------------------------------------------------------------------------------------


async def test_a_misskey_like_with_a_custom_emoji_is_a_favourite_and_a_reaction_until_undone(
    fedigen: Instance, misskey: RemoteServer, ayaka: RemoteActor
) -> None:
    status = await alice_posts(fedigen)
    like = misskey_like(misskey, ayaka, "9kr0like01", status, ":blobcat:",
                        [misskey_emoji(misskey, "blobcat", "webpublic-5b1b2c7e")])  # fmt: skip
    await send(fedigen, ayaka, like)

    [favourite] = await rows(fedigen, Favourite)
    [reaction] = await rows(fedigen, Reaction)
    blobcat = await emoji_row(fedigen, "blobcat", "misskey.test")
    assert favourite.ap_id == reaction.ap_id == like["id"]
    assert (reaction.name, reaction.emoji_id, reaction.status_id) == ("blobcat", blobcat.id, status.id)
    # As Mastodon counts it: one favourite notification, no second one for the emoji.
    assert [n.type for n in await rows(fedigen, Notification)] == ["favourite"]
    entity = await api(fedigen, f"/api/v1/statuses/{status.id}")
    assert entity["favourites_count"] == 1
    url = f"{BASE}/media/{blobcat.image_key}"
    assert entity["pleroma"]["emoji_reactions"] == [
        {"name": "blobcat@misskey.test", "count": 1, "me": False, "url": url}]  # fmt: skip
    assert entity["reactions"] == [{"name": "blobcat@misskey.test", "count": 1, "me": False, "url": url,
                                    "static_url": f"{BASE}/media/{blobcat.static_key}"}]  # fmt: skip

    await send(fedigen, ayaka, misskey_undo(like, ayaka))
    assert await count(fedigen, Favourite) == await count(fedigen, Reaction) == 0
    entity = await api(fedigen, f"/api/v1/statuses/{status.id}")
    assert (
        entity["favourites_count"] == 0 and entity["pleroma"]["emoji_reactions"] == entity["reactions"] == []
    )


async def test_a_misskey_like_with_a_unicode_emoji_counts_next_to_others(
    fedigen: Instance, misskey: RemoteServer, ayaka: RemoteActor, lain: RemoteActor
) -> None:
    status = await alice_posts(fedigen)
    await send(fedigen, ayaka, misskey_like(misskey, ayaka, "9kr0like02", status, "👍"))
    await send(fedigen, lain, pleroma_react(lain.server, lain, "0b3e6c1a", status, "👍"))
    reactions = await rows(fedigen, Reaction)
    assert [(r.name, r.emoji_id) for r in reactions] == [("👍", None), ("👍", None)]
    entity = await api(fedigen, f"/api/v1/statuses/{status.id}")
    assert entity["pleroma"]["emoji_reactions"] == [{"name": "👍", "count": 2, "me": False, "url": None}]
    assert entity["reactions"] == [{"name": "👍", "count": 2, "me": False}]
    assert entity["favourites_count"] == 1  # the Like; the EmojiReact is no favourite


async def test_pleroma_emoji_reacts_with_unicode_and_custom_emoji_notify_and_undo(
    fedigen: Instance, pleroma: RemoteServer, lain: RemoteActor
) -> None:
    status = await alice_posts(fedigen)
    fire = pleroma_react(pleroma, lain, "8f2d3c4b-5a6e-4f70-8192-a3b4c5d6e7f8", status, "🔥")
    blobfox_url = f"{pleroma.base}/emoji/blobfox/blobfox.png"
    custom_tag = {"id": blobfox_url, "type": "Emoji", "name": ":blobfox:",
                  "icon": {"type": "Image", "url": blobfox_url}}  # fmt: skip
    fox = pleroma_react(
        pleroma, lain, "1a2b3c4d-0000-4e5f-8a9b-0c1d2e3f4a5b", status, ":blobfox:", [custom_tag]
    )
    await send(fedigen, lain, fire, SHARED_INBOX)
    await send(fedigen, lain, fox, SHARED_INBOX)

    blobfox = await emoji_row(fedigen, "blobfox", "pleroma.test")
    assert blobfox.state == "ready" and blobfox.ap_id == blobfox_url
    assert [(r.name, r.emoji_id, r.ap_id) for r in await rows(fedigen, Reaction)] == [
        ("🔥", None, fire["id"]), ("blobfox", blobfox.id, fox["id"])]  # fmt: skip
    assert await count(fedigen, Favourite) == 0
    found = await api(fedigen, "/api/v1/notifications", **{"types[]": "pleroma:emoji_reaction"})
    assert [(n["type"], n["emoji"], n["emoji_url"]) for n in found] == [
        ("pleroma:emoji_reaction", ":blobfox:", f"{BASE}/media/{blobfox.image_key}"),
        ("pleroma:emoji_reaction", "🔥", None),
    ]  # fmt: skip
    assert found[0]["status"]["id"] == str(status.id) and found[0]["account"]["acct"] == "lain@pleroma.test"
    entity = await api(fedigen, f"/api/v1/statuses/{status.id}")
    assert [(r["name"], r["count"]) for r in entity["pleroma"]["emoji_reactions"]] == [
        ("🔥", 1), ("blobfox@pleroma.test", 1)]  # fmt: skip

    # Pleroma's Builder.undo names the undone activity by id only.
    undo = {
        "@context": PLEROMA_CONTEXT, "id": f"{pleroma.base}/activities/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
        "type": "Undo", "actor": lain.ap_id, "object": fox["id"], "to": fox["to"], "cc": fox["cc"],
    }  # fmt: skip
    await send(fedigen, lain, undo, SHARED_INBOX)
    assert [r.name for r in await rows(fedigen, Reaction)] == ["🔥"]
    assert [n["emoji"] for n in await api(fedigen, "/api/v1/notifications")] == ["🔥"]


async def test_akkoma_likes_carrying_only_misskey_reaction(
    fedigen: Instance, pleroma: RemoteServer, lain: RemoteActor
) -> None:
    """Akkoma's Transmogrifier.prepare_outgoing sends its EmojiReacts as Like with _misskey_reaction and
    no content or tag: a custom emoji then counts only when that server's emoji is known."""
    status = await alice_posts(fedigen)

    def like(react_id: str, reaction: str) -> dict[str, Any]:
        return {"@context": PLEROMA_CONTEXT, "id": f"{pleroma.base}/activities/{react_id}", "type": "Like",
                "actor": lain.ap_id, "object": status.ap_id, "_misskey_reaction": reaction,
                "to": [lain.followers, ALICE], "cc": [PUBLIC]}  # fmt: skip

    await send(fedigen, lain, like("c0ffee00-0000-4000-8000-000000000001", ":blobfox:"))
    assert await count(fedigen, Favourite) == 1 and await count(fedigen, Reaction) == 0
    # Once lain's server described blobfox (a post of theirs), the same bare reaction counts.
    fox_url = f"{pleroma.base}/emoji/blobfox/blobfox.png"
    note = lain.note("<p>:blobfox:</p>", mention=ALICE)
    note["tag"].append({"icon": {"url": fox_url, "type": "Image"}, "name": ":blobfox:", "type": "Emoji",
                        "updated": "1970-01-01T00:00:00Z"})  # fmt: skip
    await send(fedigen, lain, lain.create(note))
    first = f"{pleroma.base}/activities/c0ffee00-0000-4000-8000-000000000001"
    undo = {"@context": PLEROMA_CONTEXT, "id": first[:-1] + "2", "type": "Undo", "actor": lain.ap_id,
            "object": first}  # fmt: skip
    await send(fedigen, lain, undo)
    await send(fedigen, lain, like("c0ffee00-0000-4000-8000-000000000003", ":blobfox:"))
    [reaction] = await rows(fedigen, Reaction)
    assert (
        reaction.name == "blobfox"
        and reaction.emoji_id == (await emoji_row(fedigen, "blobfox", "pleroma.test")).id
    )


# --- refusals ----------------------------------------------------------------------------------------


@pytest.fixture
async def strict(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    """An instance refusing private addresses, as on a public server."""
    settings = make_settings(tmp_path, backend, federation={"allow_private_addresses": False})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst


async def test_emoji_on_private_addresses_or_with_bad_shortcodes_are_dropped_and_the_post_kept(
    strict: Instance, router: HostRouter, misskey: RemoteServer, ayaka: RemoteActor
) -> None:
    """docs/refusals.md case 26, for emoji icons; and shortcodes other than [A-Za-z0-9_]+."""

    def tagged(name: str, url: str, media_type: str = "image/png") -> dict[str, Any]:
        return {"id": f"{misskey.base}/emojis/x", "type": "Emoji", "name": name,
                "icon": {"type": "Image", "mediaType": media_type, "url": url}}  # fmt: skip

    good = f"{misskey.base}/files/webpublic-5b1b2c7e"
    tags = [
        tagged(":local:", "http://127.0.0.1/e.png"), tagged(":lan:", "http://192.168.1.10/e.png"),
        tagged(":meta:", "http://169.254.169.254/latest/meta-data"), tagged(":six:", "http://[::1]/e.png"),
        tagged(":dec:", "http://2130706433/e.png"), tagged(":js:", "javascript:alert(1)"),
        tagged(":page:", good, "text/html"), tagged(":blob-cat:", good), tagged(":<img src=x>:", good),
        tagged(":blob cat:", good), tagged(":blobcat:", good),
    ]  # fmt: skip
    note = misskey_note(
        misskey, ayaka, "9kqzn0abcf", ":local: :lan: :meta: :six: :dec: :js: :page: :blobcat:", tags
    )
    await send(strict, ayaka, misskey_create(note, ayaka), SHARED_INBOX)

    [status] = await rows(strict, Status, Status.ap_id == note["id"])
    assert ":local:" in status.content  # the post is kept, its text unchanged
    # Only blobcat is kept (and nya, of ayaka's own name); nothing with another shortcode or address.
    kept = {(e.shortcode, e.remote_url) for e in await rows(strict, CustomEmoji)}
    assert kept == {("blobcat", good), ("nya", f"{misskey.base}/files/webpublic-0e9d41aa")}
    [link] = await rows(strict, StatusEmoji, StatusEmoji.status_id == status.id)
    assert link.emoji_id == (await emoji_row(strict, "blobcat", "misskey.test")).id
    hosts = {request.url.host for request in router.requests}
    assert not hosts & {"127.0.0.1", "192.168.1.10", "169.254.169.254", "::1", "2130706433"}
    entity = await api(strict, f"/api/v1/statuses/{status.id}")
    assert [e["shortcode"] for e in entity["emojis"]] == ["blobcat"]


@pytest.mark.parametrize("kind", ["html", "oversized", "bomb", "missing", "blocked"])
async def test_an_emoji_whose_image_is_refused_stores_no_file_and_is_not_shown(
    fedigen: Instance, router: HostRouter, misskey: RemoteServer, ayaka: RemoteActor, kind: str
) -> None:
    """docs/refusals.md cases 27 and 28, for emoji images; and Mastodon's 256 KB limit."""
    url = f"{misskey.base}/files/webpublic-bad-{kind}"
    if kind == "blocked":  # an image on a blocked domain is never fetched
        url = "http://cdn.blocked.test/emoji/broken.png"
        async with fedigen.services.sessions() as session, session.begin():
            session.add(DomainBlock(domain="blocked.test"))
        fedigen.services.resolver.forget_blocklist()
    bodies = {
        "html": (b"<!doctype html><title>login</title>", "image/png"),  # declared an image, is not one
        "oversized": (raw_png(320, 320, os.urandom(320 * 320 * 3)), "image/png"),  # > 256 KB
        "bomb": (_bomb(), "image/png"),
    }
    if kind in bodies:
        misskey.serve_file(url, *bodies[kind])
    await fedigen.services.resolver.get_actor(ayaka.ap_id)  # known first, its own emoji copied
    await fedigen.drain()
    before = media_files(fedigen)
    note = misskey_note(misskey, ayaka, f"9kqzn0bad{kind}", "sad :broken:",
                        [{"id": f"{misskey.base}/emojis/broken", "type": "Emoji", "name": ":broken:",
                          "icon": {"type": "Image", "mediaType": "image/png", "url": url}}])  # fmt: skip
    await send(fedigen, ayaka, misskey_create(note, ayaka), SHARED_INBOX)

    [status] = await rows(fedigen, Status, Status.ap_id == note["id"])
    broken = await emoji_row(fedigen, "broken", "misskey.test")
    assert broken.state == "failed" and broken.image_key is None and broken.static_key is None
    assert media_files(fedigen) == before  # nothing written for it
    assert (await api(fedigen, f"/api/v1/statuses/{status.id}"))["emojis"] == []
    tried = len(misskey.requests_to(url))
    await fedigen.drain()
    assert len(misskey.requests_to(url)) == tried  # a refused image is not fetched again
    assert "cdn.blocked.test" not in {request.url.host for request in router.requests}


def media_files(inst: Instance) -> set[Path]:
    root = Path(inst.settings.media.dir)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _bomb() -> bytes:
    return png_declaring(50_000, 50_000)


async def test_reactions_that_name_no_emoji_store_nothing_but_a_like_stays_a_favourite(
    fedigen: Instance, misskey: RemoteServer, ayaka: RemoteActor, pleroma: RemoteServer, lain: RemoteActor
) -> None:
    status = await alice_posts(fedigen)
    for index, content in enumerate(["hello", "👍👍", ":blob-cat:", "<script>x</script>", ""]):
        await send(fedigen, lain, pleroma_react(pleroma, lain, f"bad-{index}", status, content))
    # A custom emoji nobody described (no tag, never seen from that server) is no reaction either.
    await send(fedigen, lain, pleroma_react(pleroma, lain, "undescribed", status, ":mystery:"))
    await send(fedigen, ayaka, misskey_like(misskey, ayaka, "9kr0like09", status, "not an emoji"))
    await send(fedigen, lain, pleroma_react(pleroma, lain, "unknown-target", status, "🔥") | {
        "object": f"{BASE}/users/alice/statuses/999999"})  # fmt: skip
    assert await count(fedigen, Reaction) == 0 and await count(fedigen, CustomEmoji) == 2  # ayaka's own
    assert await count(fedigen, Notification, Notification.type == "pleroma:emoji_reaction") == 0
    assert await count(fedigen, Favourite) == 1  # the Like, without its reaction


async def test_a_reaction_whose_emoji_is_on_a_private_address_is_dropped(
    strict: Instance, pleroma: RemoteServer, lain: RemoteActor
) -> None:
    status = await alice_posts(strict)
    private = {"id": "http://10.0.0.1/e.png", "type": "Emoji", "name": ":evil:",
               "icon": {"type": "Image", "url": "http://10.0.0.1/e.png"}}  # fmt: skip
    await send(strict, lain, pleroma_react(pleroma, lain, "private-emoji", status, ":evil:", [private]))
    assert await count(strict, Reaction) == 0 and await count(strict, CustomEmoji) == 0
    assert await count(strict, Notification, Notification.type == "pleroma:emoji_reaction") == 0


async def test_emoji_are_shown_from_their_server_when_copies_are_off(
    tmp_path: Path, backend: str, router: HostRouter, misskey: RemoteServer, ayaka: RemoteActor
) -> None:
    settings = make_settings(tmp_path, backend, media={"cache_remote_emojis": False})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        note = misskey_note(misskey, ayaka, "9kqzn0off1", ":blobcat:",
                            [misskey_emoji(misskey, "blobcat", "webpublic-5b1b2c7e")])  # fmt: skip
        await send(inst, ayaka, misskey_create(note, ayaka), SHARED_INBOX)
        [status] = await rows(inst, Status, Status.ap_id == note["id"])
        assert (await emoji_row(inst, "blobcat", "misskey.test")).state == "pending"
        [shown] = (await api(inst, f"/api/v1/statuses/{status.id}"))["emojis"]
        assert shown["url"] == shown["static_url"] == f"{misskey.base}/files/webpublic-5b1b2c7e"
        assert misskey.requests_to(shown["url"]) == []


# --- pages -------------------------------------------------------------------------------------------


def test_emojify_replaces_known_shortcodes_in_text_only() -> None:
    url = f"{BASE}/media/ab/ab12.png"
    html = ('<p>a :blobcat: b :unknown: <a href="https://x.example/:blobcat:" title=":blobcat:">:blobcat:</a>'
            " &lt;:blobcat:&gt; :blobcat::blobcat:</p>")  # fmt: skip
    out = str(emojify_html(html, {"blobcat": url}))
    assert 'href="https://x.example/:blobcat:"' in out and 'title=":blobcat:">' in out  # attributes untouched
    assert out.count(f'<img class="emoji" src="{url}" alt=":blobcat:"') == 5 and ":unknown:" in out
    assert "&lt;<img" in out and 'lazy">&gt; <img' in out
    assert str(emojify_html(html, {})) == html  # nothing known: the stored HTML as it is


def test_emojify_escapes_names_and_urls() -> None:
    name = str(emojify_text('<b>:blobcat:</b> & "x"', {"blobcat": 'https://x.example/a"onerror="alert(1)'}))
    assert name.startswith("&lt;b&gt;<img ") and name.endswith('&lt;/b&gt; &amp; "x"')
    assert 'src="https://x.example/a&quot;onerror=&quot;alert(1)"' in name and 'onerror="' not in name


async def test_pages_show_the_copied_emoji_a_post_and_its_author_are_linked_to(fedigen: Instance) -> None:
    """Pages list only this instance's accounts and posts, which have no custom emoji of their own yet:
    the links are made here directly, as received posts and actors get them."""
    svc = fedigen.services
    status = await alice_posts(fedigen, "hello :blobcat: and :pending:")
    key = await svc.media.store.aput(emoji_png(), "png")
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        alice.display_name, alice.summary = ":blobcat: Alice", "<p>bio :blobcat:</p>"
        ready = CustomEmoji(shortcode="blobcat", domain="misskey.test", remote_url="http://misskey.test/b.png",
                            state="ready", image_key=key, static_key=key)  # fmt: skip
        waiting = CustomEmoji(
            shortcode="pending", domain="misskey.test", remote_url="http://misskey.test/p.png"
        )
        session.add_all([ready, waiting])
        await session.flush()
        session.add_all([StatusEmoji(status_id=status.id, emoji_id=ready.id),
                         StatusEmoji(status_id=status.id, emoji_id=waiting.id),
                         ActorEmoji(actor_id=alice.id, emoji_id=ready.id)])  # fmt: skip
    img = f'<img class="emoji" src="{BASE}/media/{key}" alt=":blobcat:" title=":blobcat:" height="20"'
    page = (await fedigen.client.get(f"/@alice/{status.id}")).text
    assert page.count(img) == 2  # the post and its author's name
    assert ":pending:" in page and 'alt=":pending:"' not in page  # never hot-linked from a page
    profile = (await fedigen.client.get("/@alice")).text
    assert profile.count(img) == 2  # the name and the bio (the grid shows the post as a tile)
    assert '<h1 class="p-name"><img class="emoji"' in profile
