"""What accepted activities do: HTTP inbox POST from a fake remote server, then the worker (drain).

The happy paths of the dispatch table in ``activitypub.handlers`` (Follow, Undo, Create, Like, Announce,
Update, Delete, Block, Move, Flag), and the content rules applied before a remote post is stored
(docs/refusals.md cases 25, 26 and 29). Deliveries fedigen makes in answer are received by the
fake server and verified as a peer would verify them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.social import accounts, follows, posts
from fedigen.social.posts import PostRequest
from storage import queue
from storage.models import (
    Actor,
    Block,
    Favourite,
    Follow,
    InboxItem,
    Notification,
    Report,
    Status,
    StatusTag,
    Tombstone,
)
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.remote_actor import PUBLIC, RemoteActor, RemoteServer, verify_delivery

BASE = "http://fedigen.test"
INBOX = "/users/alice/inbox"
SHARED_INBOX = "/inbox"
ALICE = f"{BASE}/users/alice"


# --- fixtures and helpers ---------------------------------------------------------------------------


@pytest.fixture
async def strict_fedigen(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    """An instance refusing private addresses, as on a public server (remote.test stays reachable)."""
    settings = make_settings(tmp_path, backend, federation={"allow_private_addresses": False})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        yield inst


async def count(inst: Instance, model: Any, *where: Any) -> int:
    async with inst.services.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def actor_row(inst: Instance, ap_id: str) -> Actor:
    async with inst.services.sessions() as session:
        row = await session.scalar(select(Actor).where(Actor.ap_id == ap_id))
    assert row is not None, f"no actor {ap_id}"
    return row


async def status_row(inst: Instance, ap_id: str) -> Status | None:
    async with inst.services.sessions() as session:
        return await session.scalar(select(Status).where(Status.ap_id == ap_id))


async def notifications(inst: Instance, kind: str) -> int:
    return await count(inst, Notification, Notification.type == kind)


async def send(inst: Instance, actor: RemoteActor, activity: dict[str, Any], path: str = INBOX) -> None:
    """POST ``activity`` signed by ``actor``, expect 202, and run the worker."""
    response = await actor.post(inst.client, path, activity)
    assert response.status_code == 202, response.text
    await inst.drain()


async def send_create(inst: Instance, actor: RemoteActor, note: dict[str, Any]) -> Status | None:
    """Deliver a Create of ``note``; return what was stored for it."""
    await send(inst, actor, actor.create(note))
    return await status_row(inst, note["id"])


async def alice_posts(inst: Instance, text: str = "hello fediverse") -> str:
    """alice publishes a public post; returns its id."""
    svc = inst.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        status = await posts.create_post(svc, session, alice, PostRequest(text=text))
        ap_id = status.ap_id
    await inst.drain()
    return ap_id


async def alice_follows(inst: Instance, target: RemoteActor) -> None:
    """alice follows ``target``, which accepts (the Follow and the Accept both cross the fake network)."""
    svc = inst.services
    async with svc.sessions() as session, session.begin():
        alice = await accounts.get_local(session, "alice")
        row = await follows.follow(
            svc, session, alice, await svc.resolver.get_actor(target.ap_id, session=session)
        )
        follow = {"id": row.ap_id, "type": "Follow", "actor": ALICE, "object": target.ap_id}
    await inst.drain()
    await send(inst, target, target.activity("Accept", follow, to=[ALICE]))
    async with svc.sessions() as session:
        assert await session.scalar(select(Follow.state).where(Follow.ap_id == follow["id"])) == "accepted"


def without_context(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "@context"}


# --- follows ----------------------------------------------------------------------------------------


async def test_follow_is_accepted_and_the_accept_is_delivered_signed_by_alice(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    follow = bob.activity("Follow", ALICE, to=[ALICE])
    await send(fedigen, bob, follow)

    async with fedigen.services.sessions() as session:
        row = await session.scalar(select(Follow).where(Follow.ap_id == follow["id"]))
    assert row is not None and row.state == "accepted"
    assert await notifications(fedigen, "follow") == 1
    [accept] = remote.posts()
    assert accept.url == bob.inbox
    assert accept.headers["content-type"] == "application/activity+json"
    doc = accept.json
    assert doc["type"] == "Accept" and doc["actor"] == ALICE
    assert doc["object"]["id"] == follow["id"] and doc["object"]["actor"] == bob.ap_id
    key = await verify_delivery(accept, fedigen.client)
    assert key.owner == ALICE and key.key_id == f"{ALICE}#main-key"
    followers = await fedigen.client.get(
        "/users/alice/followers", headers={"Accept": "application/activity+json"}
    )
    assert followers.json()["totalItems"] == 1


async def test_undo_follow_removes_the_follow(fedigen: Instance, bob: RemoteActor) -> None:
    follow = bob.activity("Follow", ALICE, to=[ALICE])
    await send(fedigen, bob, follow)
    assert await count(fedigen, Follow) == 1
    await send(fedigen, bob, bob.activity("Undo", without_context(follow), to=[ALICE]))
    assert await count(fedigen, Follow) == 0


# --- posts ------------------------------------------------------------------------------------------


async def test_create_mentioning_alice_is_stored_and_notifies_her(
    fedigen: Instance, bob: RemoteActor
) -> None:
    content = '<p>hi <span class="h-card"><a href="http://fedigen.test/@alice">@alice</a></span></p>'
    hashtag = {"type": "Hashtag", "href": "http://remote.test/tags/cats", "name": "#Cats"}
    note = bob.note(content, mention=ALICE)
    note["tag"].append(hashtag)
    status = await send_create(fedigen, bob, note)
    assert status is not None and not status.local
    assert "hi" in status.content and status.visibility == "public"
    assert status.actor_id == (await actor_row(fedigen, bob.ap_id)).id
    assert await notifications(fedigen, "mention") == 1
    assert await count(fedigen, StatusTag, StatusTag.name == "cats") == 1


async def test_create_from_an_unfollowed_actor_mentioning_nobody_here_is_not_stored(
    fedigen: Instance, bob: RemoteActor
) -> None:
    note = bob.note("<p>talking to my own followers</p>")
    assert await send_create(fedigen, bob, note) is None
    assert await count(fedigen, Status) == 0
    assert await count(fedigen, InboxItem, InboxItem.state == queue.DONE) == 1


async def test_create_from_a_followed_actor_is_stored(fedigen: Instance, bob: RemoteActor) -> None:
    await alice_follows(fedigen, bob)
    status = await send_create(fedigen, bob, bob.note("<p>for my followers</p>"))
    assert status is not None
    assert await notifications(fedigen, "mention") == 0


async def test_reply_to_alices_post_is_stored_and_notifies_her(fedigen: Instance, bob: RemoteActor) -> None:
    post = await alice_posts(fedigen)
    status = await send_create(fedigen, bob, bob.note("<p>nice</p>", inReplyTo=post))
    assert status is not None and status.in_reply_to_ap_id == post and status.in_reply_to_id is not None
    assert await notifications(fedigen, "mention") == 1


async def test_create_naming_its_note_by_id_fetches_it_from_the_authors_server(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    note = bob.note("<p>fetch me</p>", mention=ALICE)
    remote.serve(note)
    await send(fedigen, bob, bob.create(note["id"], to=[PUBLIC]))
    status = await status_row(fedigen, note["id"])
    assert status is not None and "fetch me" in status.content
    assert remote.requests_to(note["id"])


def poll_option(name: str) -> dict[str, Any]:
    return {"type": "Note", "name": name, "replies": {"type": "Collection", "totalItems": 0}}


@pytest.mark.parametrize(
    "ap_type, fields",
    [
        ("Question", {"oneOf": [poll_option("yes"), poll_option("no")], "endTime": "2026-02-01T00:00:00Z"}),
        ("Article", {"name": "A long read"}),
        ("Page", {"name": "A page"}),
    ],
)
async def test_question_article_and_page_are_stored_as_statuses(
    fedigen: Instance, bob: RemoteActor, ap_type: str, fields: dict[str, Any]
) -> None:
    note = bob.note("<p>body text</p>", mention=ALICE, ap_type=ap_type, **fields)
    status = await send_create(fedigen, bob, note)
    assert status is not None and status.ap_type == ap_type and "body text" in status.content
    if "name" in fields:
        assert fields["name"] in status.content  # the title is shown above the body, as Mastodon does
    assert await notifications(fedigen, "mention") == 1


async def test_update_of_own_note_changes_its_content(fedigen: Instance, bob: RemoteActor) -> None:
    note = bob.note("<p>first draft</p>", mention=ALICE)
    await send_create(fedigen, bob, note)
    edited = {**note, "content": "<p>second draft</p>", "updated": "2026-01-01T13:00:00Z"}
    await send(fedigen, bob, bob.activity("Update", edited))
    status = await status_row(fedigen, note["id"])
    assert status is not None and "second draft" in status.content and "first" not in status.content
    assert status.edited_at is not None
    assert await notifications(fedigen, "mention") == 1, "an edit does not notify again"


async def test_delete_of_own_note_deletes_it(fedigen: Instance, bob: RemoteActor) -> None:
    note = bob.note(mention=ALICE)
    await send_create(fedigen, bob, note)
    assert await notifications(fedigen, "mention") == 1
    await send(fedigen, bob, bob.activity("Delete", {"id": note["id"], "type": "Tombstone"}, to=[PUBLIC]))
    status = await status_row(fedigen, note["id"])
    assert status is not None and status.deleted_at is not None
    assert await count(fedigen, Tombstone, Tombstone.ap_id == note["id"]) == 1
    assert await notifications(fedigen, "mention") == 0


async def test_delete_of_the_actor_itself_marks_it_deleted(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await send(fedigen, bob, bob.activity("Follow", ALICE, to=[ALICE]))
    remote.delete(bob.ap_id)  # Mastodon answers 410 for a deleted account's document
    await send(fedigen, bob, bob.activity("Delete", bob.ap_id, to=[PUBLIC]), SHARED_INBOX)
    assert (await actor_row(fedigen, bob.ap_id)).deleted_at is not None
    assert await count(fedigen, Follow) == 0
    assert await count(fedigen, InboxItem, InboxItem.state != queue.DONE) == 0


# --- reactions --------------------------------------------------------------------------------------


async def test_like_and_announce_of_alices_post_notify_her(fedigen: Instance, bob: RemoteActor) -> None:
    post = await alice_posts(fedigen)
    await send(fedigen, bob, bob.activity("Like", post))
    assert await count(fedigen, Favourite) == 1
    assert await notifications(fedigen, "favourite") == 1
    announce = bob.activity("Announce", post, to=[PUBLIC], cc=[ALICE, bob.followers])
    await send(fedigen, bob, announce)
    reblog = await status_row(fedigen, announce["id"])
    original = await status_row(fedigen, post)
    assert reblog is not None and original is not None and reblog.reblog_of_id == original.id
    assert await notifications(fedigen, "reblog") == 1


async def test_undo_like_and_undo_announce_remove_them(fedigen: Instance, bob: RemoteActor) -> None:
    post = await alice_posts(fedigen)
    like = bob.activity("Like", post)
    announce = bob.activity("Announce", post, to=[PUBLIC], cc=[ALICE])
    await send(fedigen, bob, like)
    await send(fedigen, bob, announce)
    assert (await count(fedigen, Favourite), await count(fedigen, Status)) == (1, 2)
    await send(fedigen, bob, bob.activity("Undo", without_context(like)))
    await send(fedigen, bob, bob.activity("Undo", without_context(announce)))
    assert (await count(fedigen, Favourite), await count(fedigen, Status)) == (0, 1)


# --- moderation-relevant ----------------------------------------------------------------------------


async def test_block_is_recorded_and_ends_follows_both_ways(fedigen: Instance, bob: RemoteActor) -> None:
    await alice_follows(fedigen, bob)
    await send(fedigen, bob, bob.activity("Follow", ALICE, to=[ALICE]))
    assert await count(fedigen, Follow, Follow.state == "accepted") == 2
    await send(fedigen, bob, bob.activity("Block", ALICE, to=[ALICE]))
    assert await count(fedigen, Block) == 1
    assert await count(fedigen, Follow) == 0


async def test_move_to_an_account_that_lists_the_old_one_is_recorded_and_followers_told(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    new = remote.add_actor("bobby", alsoKnownAs=[bob.ap_id])
    await send(fedigen, bob, bob.activity("Move", bob.ap_id, target=new.ap_id, to=[bob.followers]))
    assert (await actor_row(fedigen, bob.ap_id)).moved_to_ap_id == new.ap_id
    assert await notifications(fedigen, "move") == 1


async def test_move_to_an_account_that_does_not_list_the_old_one_is_ignored(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    await alice_follows(fedigen, bob)
    stranger = remote.add_actor("stranger")
    await send(fedigen, bob, bob.activity("Move", bob.ap_id, target=stranger.ap_id, to=[bob.followers]))
    assert (await actor_row(fedigen, bob.ap_id)).moved_to_ap_id is None
    assert await notifications(fedigen, "move") == 0


async def test_flag_creates_a_report(fedigen: Instance, bob: RemoteActor) -> None:
    post = await alice_posts(fedigen)
    flag = bob.activity("Flag", [ALICE, post], content="spam, please look")
    await send(fedigen, bob, flag, SHARED_INBOX)
    async with fedigen.services.sessions() as session:
        report = await session.scalar(select(Report))
    assert report is not None
    assert report.ap_id == flag["id"] and report.comment == "spam, please look"
    assert report.target_id == (await actor_row(fedigen, ALICE)).id
    assert report.status_ap_ids == [post]
    assert report.reporter_id == (await actor_row(fedigen, bob.ap_id)).id


# --- content rules (cases 25, 26, 29) ---------------------------------------------------------------

HOSTILE_HTML = (
    '<p onclick="steal()" style="position:fixed;top:0">Hello <span class="h-card">'
    '<a href="http://fedigen.test/@alice" class="u-url mention">@alice</a></span></p>'
    "<script>alert('content')</script>"
    '<iframe src="http://evil.test/frame"></iframe>'
    '<p><a href="javascript:alert(2)">js link</a> <a href="data:text/html;base64,PHNjcmlwdD4=">data link</a>'
    ' <a href="https://example.com/ok" onmouseover="alert(3)">fine link</a></p>'
    '<img src="http://evil.test/x.png" onerror="alert(4)">'
    "<style>body { display: none }</style>"
)
FORBIDDEN = ("<script", "alert(", "onclick", "onmouseover", "onerror", "style", "<iframe", "javascript:",
             "data:", "<img", "steal")  # fmt: skip


async def test_case25_html_is_sanitized_before_storage(fedigen: Instance, bob: RemoteActor) -> None:
    note = bob.note(HOSTILE_HTML, mention=ALICE, summary='<b onclick="x()">CW</b><script>alert(5)</script>')
    status = await send_create(fedigen, bob, note)
    assert status is not None
    for bad in FORBIDDEN:
        assert bad not in status.content, bad
        assert bad not in status.summary, bad
    assert "Hello" in status.content and "js link" in status.content
    assert 'href="http://fedigen.test/@alice"' in status.content
    assert 'href="https://example.com/ok"' in status.content
    assert status.summary == "CW"


async def test_case25_article_title_is_sanitized_too(fedigen: Instance, bob: RemoteActor) -> None:
    note = bob.note(HOSTILE_HTML, mention=ALICE, ap_type="Article", name="<script>alert(6)</script>Title")
    status = await send_create(fedigen, bob, note)
    assert status is not None and "Title" in status.content
    for bad in FORBIDDEN:
        assert bad not in status.content, bad


def image(url: str, **fields: Any) -> dict[str, Any]:
    return {"type": "Document", "mediaType": "image/png", "url": url, "name": "alt", **fields}


async def test_case26_attachments_with_unsafe_schemes_are_dropped(
    fedigen: Instance, bob: RemoteActor
) -> None:
    good = "https://cdn.remote.test/media/1.png"
    attachments = [
        image("javascript:alert(1)"),
        image("data:image/png;base64,iVBORw0KGgo="),
        image("file:///etc/passwd"),
        image("ftp://remote.test/1.png"),
        image(good),
    ]
    status = await send_create(fedigen, bob, bob.note(mention=ALICE, attachment=attachments))
    assert status is not None
    assert [a["url"] for a in status.attachments] == [good]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/admin.png", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/x.png",
     "http://[::1]/x.png", "http://localhost/x.png"],
)  # fmt: skip
async def test_case26_attachments_on_private_hosts_are_dropped(
    strict_fedigen: Instance, bob: RemoteActor, url: str
) -> None:
    fedigen = strict_fedigen
    good = "https://cdn.remote.test/media/1.png"
    status = await send_create(fedigen, bob, bob.note(mention=ALICE, attachment=[image(url), image(good)]))
    assert status is not None
    assert [a["url"] for a in status.attachments] == [good]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "ftp://remote.test/a.png",
        "http://127.0.0.1/a.png",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_case26_actor_icon_and_header_with_unsafe_urls_are_dropped(
    strict_fedigen: Instance, remote: RemoteServer, url: str
) -> None:
    fedigen = strict_fedigen
    eve = remote.add_actor("eve", icon={"type": "Image", "url": url}, image={"type": "Image", "url": url})
    assert await send_create(fedigen, eve, eve.note(mention=ALICE)) is not None
    row = await actor_row(fedigen, eve.ap_id)
    assert (row.icon_url, row.image_url) == (None, None)


async def test_case29_ten_attachments_keep_four_and_long_alt_text_is_cut(
    fedigen: Instance, bob: RemoteActor
) -> None:
    attachments = [image(f"https://cdn.remote.test/media/{i}.png", name="x" * 5000) for i in range(10)]
    status = await send_create(fedigen, bob, bob.note(mention=ALICE, attachment=attachments))
    assert status is not None
    assert [a["url"] for a in status.attachments] == [
        f"https://cdn.remote.test/media/{i}.png" for i in range(4)
    ]
    assert all(len(a["name"]) == 1500 for a in status.attachments)


async def test_case29_ten_thousand_tags_are_bounded(fedigen: Instance, bob: RemoteActor) -> None:
    tags: list[dict[str, Any]] = [{"type": "Mention", "href": ALICE, "name": "@alice@fedigen.test"}]
    tags += [
        {"type": "Hashtag", "href": f"http://remote.test/tags/t{i}", "name": f"#t{i}"} for i in range(9_999)
    ]
    note = bob.note(mention=None, tag=tags, cc=[bob.followers, ALICE])
    assert len(json.dumps(bob.create(note))) < 1_000_000
    status = await send_create(fedigen, bob, note)
    assert status is not None
    assert len(status.tags) <= 100
    assert await count(fedigen, StatusTag) <= 100
    assert await notifications(fedigen, "mention") == 1


async def test_case29_five_megabyte_content_is_refused_413(fedigen: Instance, bob: RemoteActor) -> None:
    note = bob.note("<p>" + "a" * 5_000_000 + "</p>", mention=ALICE)
    response = await bob.post(fedigen.client, INBOX, bob.create(note))
    assert response.status_code == 413
    assert "error" in response.json()
    assert (await count(fedigen, InboxItem), await count(fedigen, Status)) == (0, 0)
