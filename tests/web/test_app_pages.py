"""The signed-in app's pages: the feeds, For you, and the actions on posts and accounts, in-process."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fedigen.social import follows, for_you, posts, reactions, remixes
from storage.attachments import ingest
from storage.clients import Bookmark, Marker, TagFollow
from storage.models import Actor, Favourite, Follow, MediaAttachment, Report, Status, StatusTag, utcnow
from storage.vocabulary import FollowState
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.generation.standins import png
from tests.web.conftest import browser_of, csrf_of


@pytest.fixture
async def site(tmp_path: Path, backend: str, router: HostRouter) -> AsyncIterator[Instance]:
    settings = make_settings(
        tmp_path, backend, generation={"size": "256x256"}, instance={"rules": ["Be kind"]}
    )
    async with start_instance(settings, router) as inst:
        yield inst


NUMBERS = itertools.count(1)  # remote posts' ids


async def _account(instance: Instance, username: str) -> Actor:
    async with instance.services.reads() as session:
        found = await session.scalar(select(Actor).where(Actor.username == username, Actor.domain.is_(None)))
    assert found is not None
    return found


async def image_post(
    instance: Instance, username: str, text: str, *, alt: str = "a red square", **extra: Any
) -> Status:
    """A local post with one uploaded image, made by the posts use-case."""
    svc = instance.services
    async with svc.sessions() as session, session.begin():
        author = await session.scalar(select(Actor).where(Actor.username == username, Actor.domain.is_(None)))
        assert author is not None
        row = await ingest(session, svc.media, png(64, 64), account_id=author.id, description=alt)
        request = posts.PostRequest(text=text, media_ids=[row.id], **extra)
        return await posts.create_post(svc, session, author, request)


async def remote_post(
    instance: Instance,
    username: str,
    text: str,
    *,
    tags: list[str] = (),  # type: ignore[assignment]
    image: bool = True,
    age: timedelta = timedelta(0),
) -> Status:
    """A stored public post of a remote account at remote.test (created if need be)."""
    async with instance.services.sessions() as session, session.begin():
        actor = await session.scalar(
            select(Actor).where(Actor.username == username, Actor.domain == "remote.test")
        )
        if actor is None:
            actor = Actor(
                ap_id=f"https://remote.test/users/{username}",
                username=username,
                domain="remote.test",
                inbox_url=f"https://remote.test/users/{username}/inbox",
                ap_type="Person",
                url=f"https://remote.test/@{username}",
            )
            session.add(actor)
            await session.flush()
        count = next(NUMBERS)
        ap_id = f"https://remote.test/users/{username}/statuses/{count}"
        status = Status(
            ap_id=ap_id,
            actor_id=actor.id,
            local=False,
            content=f"<p>{text}</p>",
            visibility="public",
            url=ap_id,
            published=utcnow() - age,
            to=["https://www.w3.org/ns/activitystreams#Public"],
            cc=[],
            tags=[{"type": "Hashtag", "name": f"#{t}"} for t in tags],
            attachments=[
                {
                    "type": "Image",
                    "url": f"https://remote.test/media/{count}.png",
                    "mediaType": "image/png",
                    "name": f"picture by {username}",
                }
            ]
            if image
            else [],
        )
        session.add(status)
        await session.flush()
        session.add_all(StatusTag(status_id=status.id, name=t) for t in tags)
        for position, item in enumerate(status.attachments):  # as a received post's media are kept
            session.add(
                MediaAttachment(
                    account_id=actor.id,
                    status_id=status.id,
                    position=position,
                    state="remote",
                    remote_url=item["url"],
                    media_type="image/png",
                    description=item["name"],
                )
            )
        return status


async def _count(instance: Instance, model: Any, *where: Any) -> int:
    async with instance.services.reads() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ---- feeds ----


async def test_pages_need_a_session(site: Instance) -> None:
    for path in ("/home", "/for-you", "/public", "/bookmarks", "/notifications", "/search", "/compose"):
        response = await site.client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/auth/sign_in?next=")


async def test_home_is_image_first_with_a_remix_button_on_every_image_post(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    await site.create_account("bob")
    mine = await image_post(site, "alice", "my <b>square</b> #red")
    theirs = await remote_post(site, "carol", "far away")
    async with site.services.sessions() as session, session.begin():
        me, carol = await session.get(Actor, mine.actor_id), await session.get(Actor, theirs.actor_id)
        assert me is not None and carol is not None
        await follows.follow(site.services, session, me, carol)
        (await follows.find_follow(session, me, carol)).state = FollowState.ACCEPTED  # type: ignore[union-attr]
    page = await alice.get("/home")
    assert page.status_code == 200
    html = page.text
    # Both posts, each with its picture (alt text kept), caption below it, and a Remix button.
    assert f'href="/compose?remix={mine.id}"' in html and f'href="/compose?remix={theirs.id}"' in html
    assert 'alt="a red square"' in html and 'alt="picture by carol"' in html
    assert html.index('alt="a red square"') < html.index(
        "my &lt;b&gt;square&lt;/b&gt;"
    )  # escaped, image first
    assert "@carol@remote.test" in html
    # Own posts can be edited and deleted; others' reported.
    assert f'action="/statuses/{mine.id}/delete"' in html and f'href="/statuses/{theirs.id}/report"' in html
    assert f'href="/statuses/{mine.id}/report"' not in html
    federated = await alice.get("/public")
    assert f'id="post-{mine.id}"' in federated.text and f'id="post-{theirs.id}"' in federated.text


async def test_home_pages_by_max_id(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    async with site.services.sessions() as session, session.begin():
        me = await session.scalar(select(Actor).where(Actor.username == "alice"))
        assert me is not None
        made = [
            await posts.create_post(site.services, session, me, posts.PostRequest(text=f"post {i}"))
            for i in range(22)
        ]
    first = await alice.get("/home")
    assert f'id="post-{made[-1].id}"' in first.text and f'id="post-{made[1].id}"' not in first.text
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older is not None
    second = await alice.get(older.group(1).replace("&amp;", "&"))
    assert f'id="post-{made[0].id}"' in second.text and f'id="post-{made[-1].id}"' not in second.text
    assert (await alice.get("/home?max_id=nope")).status_code == 400


# ---- actions ----


async def test_like_boost_bookmark_and_their_undoing(site: Instance) -> None:
    bob = await browser_of(site, "bob")
    await site.create_account("alice")
    post = await image_post(site, "alice", "like me")
    page = await bob.get("/public")
    token = csrf_of(page.text)
    liked = await bob.post(f"/statuses/{post.id}/favourite", data={"csrf_token": token, "next": "/public"})
    assert liked.status_code == 303 and liked.headers["location"] == "/public"
    assert await _count(site, Favourite, Favourite.status_id == post.id) == 1
    # The page now offers to undo it, and shows the count.
    again = (await bob.get("/public")).text
    assert f'action="/statuses/{post.id}/unfavourite"' in again
    # The script's JSON answer: the new state and counts.
    boosted = await bob.post(
        f"/statuses/{post.id}/reblog", data={"csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert boosted.status_code == 200
    assert boosted.json()["reblogged"] is True and boosted.json()["reblogs_count"] == 1
    marked = await bob.post(f"/statuses/{post.id}/bookmark", data={"csrf_token": token})
    assert marked.status_code == 303
    shelf = await bob.get("/bookmarks")
    assert f'id="post-{post.id}"' in shelf.text
    for undo in ("unfavourite", "unreblog", "unbookmark"):
        assert (await bob.post(f"/statuses/{post.id}/{undo}", data={"csrf_token": token})).status_code == 303
    assert await _count(site, Favourite) == 0 and await _count(site, Bookmark) == 0
    assert await _count(site, Status, Status.reblog_of_id == post.id, Status.deleted_at.is_(None)) == 0


async def test_actions_without_csrf_are_refused_and_store_nothing(site: Instance) -> None:
    bob = await browser_of(site, "bob")
    await site.create_account("alice")
    post = await image_post(site, "alice", "like me")
    for path, data in (
        (f"/statuses/{post.id}/favourite", {}),
        (f"/statuses/{post.id}/reply", {"text": "hi"}),
        (f"/statuses/{post.id}/report", {"comment": "x"}),
        ("/follow", {"handle": "alice"}),
        ("/compose", {"prompt": "a cat"}),
    ):
        response = await bob.post(path, data={**data, "csrf_token": "forged"})
        assert response.status_code == 403, path
        assert "text/html" in response.headers["content-type"]
    assert await _count(site, Favourite) == 0 and await _count(site, Report) == 0
    assert await _count(site, Follow) == 0
    assert await _count(site, Status, Status.in_reply_to_id == post.id) == 0


async def test_reply_form_posts_a_reply_and_refuses_an_empty_one(site: Instance) -> None:
    bob = await browser_of(site, "bob")
    await site.create_account("alice")
    post = await image_post(site, "alice", "say something")
    form = await bob.get(f"/statuses/{post.id}/reply")
    assert form.status_code == 200 and "@alice " in form.text  # the reply starts with the mention
    token = csrf_of(form.text)
    empty = await bob.post(f"/statuses/{post.id}/reply", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 422 and "a post needs text or media" in empty.text
    assert await _count(site, Status, Status.in_reply_to_id == post.id) == 0
    sent = await bob.post(
        f"/statuses/{post.id}/reply",
        data={"csrf_token": token, "text": "@alice lovely", "visibility": "unlisted"},
    )
    assert sent.status_code == 303
    async with site.services.reads() as session:
        reply = await session.scalar(select(Status).where(Status.in_reply_to_id == post.id))
    assert reply is not None and reply.source_text == "@alice lovely" and reply.visibility == "unlisted"
    thread = await bob.get(f"/statuses/{post.id}/reply")
    assert f'id="post-{reply.id}"' in thread.text


async def test_edit_changes_caption_alt_and_cw_of_own_posts_only(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    bob = await browser_of(site, "bob")
    post = await image_post(site, "alice", "first words")
    form = await alice.get(f"/statuses/{post.id}/edit")
    assert form.status_code == 200 and "first words" in form.text and "a red square" in form.text
    media_id = re.search(r'name="alt-(\d+)"', form.text)
    assert media_id is not None
    token = csrf_of(form.text)
    saved = await alice.post(
        f"/statuses/{post.id}/edit",
        data={
            "csrf_token": token,
            "text": "better words",
            "summary": "bright colours",
            f"alt-{media_id.group(1)}": "a bright red square on white",
        },
    )
    assert saved.status_code == 303
    async with site.services.reads() as session:
        row = await session.get(Status, post.id)
    assert row is not None and row.source_text == "better words" and row.summary == "bright colours"
    assert row.attachments[0]["name"] == "a bright red square on white" and row.edited_at is not None
    # Too long alt text: the form again with the message, nothing changed.
    bad = await alice.post(
        f"/statuses/{post.id}/edit",
        data={"csrf_token": token, "text": "x", f"alt-{media_id.group(1)}": "a" * 1501},
    )
    assert bad.status_code == 422 and "alt text" in bad.text
    async with site.services.reads() as session:
        assert (await session.get(Status, post.id)).source_text == "better words"  # type: ignore[union-attr]
    others = await bob.get(f"/statuses/{post.id}/edit")
    assert others.status_code == 403


async def test_delete_own_post(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    bob = await browser_of(site, "bob")
    post = await image_post(site, "alice", "gone soon")
    token = csrf_of((await bob.get("/home")).text)
    assert (await bob.post(f"/statuses/{post.id}/delete", data={"csrf_token": token})).status_code == 403
    token = csrf_of((await alice.get("/home")).text)
    response = await alice.post(f"/statuses/{post.id}/delete", data={"csrf_token": token, "next": "/home"})
    assert response.status_code == 303 and response.headers["location"] == "/home"
    async with site.services.reads() as session:
        assert (await session.get(Status, post.id)).deleted_at is not None  # type: ignore[union-attr]
    assert f'id="post-{post.id}"' not in (await alice.get("/home")).text


async def test_report_form_files_a_report_and_can_forward_it(site: Instance) -> None:
    bob = await browser_of(site, "bob")
    theirs = await remote_post(site, "carol", "spammy")
    form = await bob.get(f"/statuses/{theirs.id}/report")
    assert form.status_code == 200 and "Be kind" in form.text and "remote.test" in form.text
    token = csrf_of(form.text)
    # A rule violation must name the rules: the form again, nothing stored.
    bad = await bob.post(f"/statuses/{theirs.id}/report", data={"csrf_token": token, "category": "violation"})
    assert bad.status_code == 422 and "name the rules" in bad.text
    assert await _count(site, Report) == 0
    sent = await bob.post(
        f"/statuses/{theirs.id}/report",
        data={
            "csrf_token": token,
            "category": "violation",
            "rule_ids": "1",
            "comment": "not kind",
            "forward": "1",
        },
    )
    assert sent.status_code == 200 and "Thank you" in sent.text
    async with site.services.reads() as session:
        report = await session.scalar(select(Report))
    assert report is not None and report.comment == "not kind" and report.category == "violation"
    assert report.rule_ids == ["1"] and report.forwarded and report.status_ap_ids == [theirs.ap_id]


# ---- notifications ----


async def test_notifications_group_likes_of_a_post_and_mark_read(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    await site.create_account("bob")
    await site.create_account("dora")
    post = await image_post(site, "alice", "liked twice")
    async with site.services.sessions() as session, session.begin():
        status = await session.get(Status, post.id)
        assert status is not None
        for name in ("bob", "dora"):
            liker = await session.scalar(select(Actor).where(Actor.username == name))
            assert liker is not None
            await reactions.favourite(site.services, session, liker, status)
    page = await alice.get("/notifications")
    assert page.status_code == 200
    assert page.text.count("liked your post") == 1  # one group for both
    assert ">dora</a>, <a" in page.text and 'alt="a red square"' in page.text and "New" in page.text
    newest = re.search(r'name="newest" value="(\d+)"', page.text)
    assert newest is not None
    done = await alice.post(
        "/notifications/read", data={"csrf_token": csrf_of(page.text), "newest": newest.group(1)}
    )
    assert done.status_code == 303
    async with site.services.reads() as session:
        marker = await session.scalar(select(Marker).where(Marker.timeline == "notifications"))
    assert marker is not None and marker.last_read_id == newest.group(1)
    assert "Mark all as read" not in (await alice.get("/notifications")).text


# ---- search and follows ----


async def test_search_finds_accounts_tags_and_follows_by_handle(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    await site.create_account("bob")
    await image_post(site, "bob", "#seascape at noon")
    page = await alice.get("/search", params={"q": "bo"})
    assert "@bob@fedigen.test" in page.text
    tags = await alice.get("/search", params={"q": "#sea"})
    assert "#seascape" in tags.text
    token = csrf_of(page.text)
    followed = await alice.post(
        "/follow", data={"csrf_token": token, "handle": "@bob@fedigen.test", "next": "/search?q=bo"}
    )
    assert followed.status_code == 303 and followed.headers["location"] == "/search?q=bo"
    assert await _count(site, Follow, Follow.state == FollowState.ACCEPTED) == 1
    assert "Unfollow" in (await alice.get("/search", params={"q": "bob"})).text
    await alice.post("/unfollow", data={"csrf_token": token, "handle": "@bob@fedigen.test"})
    assert await _count(site, Follow) == 0
    unknown = await alice.post("/follow", data={"csrf_token": token, "handle": "@nobody@fedigen.test"})
    assert unknown.status_code == 404 and await _count(site, Follow) == 0


async def test_follow_a_remote_account_by_handle(site: Instance, remote: Any) -> None:
    remote.add_actor("bob")
    alice = await browser_of(site, "alice")
    page = await alice.get("/search", params={"q": "@bob@remote.test"})
    assert page.status_code == 200 and "@bob@remote.test" in page.text  # looked up on its server
    response = await alice.post(
        "/follow", data={"csrf_token": csrf_of(page.text), "handle": "@bob@remote.test"}
    )
    assert response.status_code == 303
    async with site.services.reads() as session:
        row = await session.scalar(select(Follow))
    assert row is not None and row.state == FollowState.REQUESTED  # until remote.test accepts


# ---- For you ----


async def test_for_you_ranks_by_the_viewers_own_signals_with_reasons(site: Instance) -> None:
    viewer = await browser_of(site, "vera")
    await site.create_account("mia")
    me = await _account(site, "vera")
    # bob: the viewer liked 3 of his older posts; #seascape: followed; dan: followed; mia: remixed by vera;
    # eve: muted; zed: nothing at all.
    liked = [await remote_post(site, "bob", f"old {i}", age=timedelta(hours=1)) for i in range(3)]
    parent = await image_post(site, "mia", "a parent")
    async with site.services.sessions() as session, session.begin():
        vera = await session.get(Actor, me.id)
        assert vera is not None
        for status in liked:
            await reactions.favourite(site.services, session, vera, status)
        session.add(TagFollow(account_id=me.id, name="seascape"))
    child = await image_post(site, "vera", "my remix")
    async with site.services.sessions() as session, session.begin():
        row = await session.get(Status, child.id)
        assert row is not None
        row.extra = {**row.extra, "remix_of": parent.ap_id}
        await remixes.record_remix(session, row)
    dan_post = await remote_post(site, "dan", "from dan")
    async with site.services.sessions() as session, session.begin():
        dan = await session.get(Actor, dan_post.actor_id)
        vera = await session.get(Actor, me.id)
        assert dan is not None and vera is not None
        session.add(Follow(follower_id=vera.id, followee_id=dan.id, state=FollowState.ACCEPTED, ap_id="x"))
    nothing = await remote_post(site, "zed", "nothing special")
    sea = await remote_post(site, "sam", "waves", tags=["seascape"])
    bob_new = await remote_post(site, "bob", "new from bob")
    mia_new = await image_post(site, "mia", "mia again")
    muted = await remote_post(site, "eve", "muted one")
    from fedigen.social import blocks

    async with site.services.sessions() as session, session.begin():
        vera, eve = await session.get(Actor, me.id), await session.get(Actor, muted.actor_id)
        assert vera is not None and eve is not None
        await blocks.mute(session, vera, eve)

    async with site.services.reads() as session:
        ranked = await for_you.rank(session, me.id)
    order = [r.status.id for r in ranked]
    reasons = {r.status.id: r.reason for r in ranked}
    # Followed account 4, followed tag 3, remixed author 3, 3 likes of the author 3: then nothing.
    assert order.index(dan_post.id) < order.index(sea.id) < order.index(nothing.id)
    assert order.index(mia_new.id) < order.index(nothing.id) and order.index(bob_new.id) < order.index(
        nothing.id
    )
    assert muted.id not in order and child.id not in order  # hidden, and the viewer's own
    assert not set(s.id for s in liked) & set(order)  # already liked: not suggested again
    assert reasons[dan_post.id] == "because you follow @dan@remote.test"
    assert reasons[sea.id] == "because you follow #seascape"
    assert reasons[bob_new.id] == "because you liked 3 posts by @bob@remote.test"
    assert reasons[mia_new.id] == "because you remixed a post by @mia"
    assert reasons[nothing.id] == "new on the network"
    page = await viewer.get("/for-you")
    assert page.status_code == 200
    html = page.text
    assert "because you follow #seascape" in html and "because you liked 3 posts by @bob@remote.test" in html
    assert (
        html.index(f'id="post-{dan_post.id}"')
        < html.index(f'id="post-{sea.id}"')
        < html.index(f'id="post-{nothing.id}"')
    )
    assert f'id="post-{muted.id}"' not in html


async def test_for_you_leaves_out_blocked_domains_and_ranks_warned_posts_lower(site: Instance) -> None:
    viewer = await browser_of(site, "vera")
    me = await _account(site, "vera")
    first = await remote_post(site, "amy", "calm lake", image=False)
    second = await remote_post(site, "amy", "spoiler about the match", image=False)
    page = await viewer.get("/for-you")
    html = page.text
    assert html.index(f'id="post-{second.id}"') < html.index(
        f'id="post-{first.id}"'
    )  # newer first when equal
    from fedigen.social import filters

    async with site.services.sessions() as session, session.begin():
        await filters.create_filter(
            session,
            me.id,
            title="Sport",
            context=["public"],
            action="warn",
            keywords=[filters.KeywordChange(keyword="match", whole_word=True)],
        )
    warned = (await viewer.get("/for-you")).text
    assert warned.index(f'id="post-{first.id}"') < warned.index(f'id="post-{second.id}"')
    assert "Matches your filter" in warned


async def test_remote_strings_are_escaped_and_only_web_links_are_followed(site: Instance) -> None:
    alice = await browser_of(site, "alice")
    post = await remote_post(site, "mallory", "hello")
    async with site.services.sessions() as session, session.begin():
        actor = await session.get(Actor, post.actor_id)
        assert actor is not None
        actor.display_name, actor.url = "<script>alert(1)</script>", "javascript:alert(1)"
    html = (await alice.get("/public")).text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html


async def test_the_post_page_has_the_actions_for_a_signed_in_viewer(site: Instance) -> None:
    bob = await browser_of(site, "bob")
    await site.create_account("alice")
    post = await image_post(site, "alice", "remix me")
    path = f"/@alice/{post.id}"
    visitor = (await site.client.get(path)).text
    assert f'action="/statuses/{post.id}/favourite"' not in visitor and "/compose?remix=" not in visitor
    page = (await bob.get(path)).text
    assert f'href="/compose?remix={post.id}"' in page and f'href="/statuses/{post.id}/report"' in page
    liked = await bob.post(f"/statuses/{post.id}/favourite", data={"csrf_token": csrf_of(page), "next": path})
    assert liked.status_code == 303 and liked.headers["location"] == path
    assert await _count(site, Favourite, Favourite.status_id == post.id) == 1
    assert f'action="/statuses/{post.id}/unfavourite"' in (await bob.get(path)).text
