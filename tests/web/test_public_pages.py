"""The public pages, in-process: the profile grid, the post page (images, alt text, content warning,
generation record, remix family, thread, counts), tags, the local timeline, Explore and its ranking
rule, pages closed to logged-out visitors, OpenGraph cards, the feeds, rel="me", the follow box, 404."""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from fedigen.config import TrendsSettings
from fedigen.social import posts, reactions
from fedigen.social.posts import PostRequest
from fedigen.social.trends import Engagement, score
from storage.attachments import ingest
from storage.models import Actor, MediaAttachment, Status
from tests.conftest import HostRouter, Instance, make_settings, start_instance
from tests.generation.standins import png
from tests.remote_actor import RemoteActor, RemoteServer
from tests.web.conftest import browser_of

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def fedigen(instance: Instance) -> Instance:
    """The instance under test, with a local account alice."""
    await instance.create_account("alice")
    return instance


async def image_post(
    inst: Instance,
    author: str,
    text: str = "",
    *,
    images: int = 1,
    alt: str = "a red square",
    generation: dict[str, Any] | None = None,
    **fields: Any,
) -> Status:
    """A post by ``author`` with ``images`` processed images (thumbnails and blurhash made)."""
    svc = inst.services
    async with svc.sessions() as session, session.begin():
        actor = (
            await session.scalars(select(Actor).where(Actor.username == author, Actor.domain.is_(None)))
        ).one()
        media = [
            await ingest(
                session,
                svc.media,
                png(64, 48, (40 * i, 90, 200)),
                account_id=actor.id,
                description=f"{alt} {i}" if images > 1 else alt,
                ai_generated=generation is not None,
                generation=generation,
            )
            for i in range(images)
        ]
        return await posts.create_post(
            svc, session, actor, PostRequest(text=text, media_ids=[m.id for m in media], **fields)
        )


async def text_post(inst: Instance, author: str, text: str, **fields: Any) -> Status:
    async with inst.services.sessions() as session, session.begin():
        actor = (
            await session.scalars(select(Actor).where(Actor.username == author, Actor.domain.is_(None)))
        ).one()
        return await posts.create_post(inst.services, session, actor, PostRequest(text=text, **fields))


async def act(inst: Instance, who: str, status_id: int, *, like: bool = False, boost: bool = False) -> None:
    async with inst.services.sessions() as session, session.begin():
        actor = (await session.scalars(select(Actor).where(Actor.username == who))).one()
        status = await session.get(Status, status_id)
        assert status is not None
        if like:
            await reactions.favourite(inst.services, session, actor, status)
        if boost:
            await reactions.reblog(inst.services, session, actor, status)


async def age(inst: Instance, status_id: int, hours: float) -> None:
    async with inst.services.sessions() as session, session.begin():
        status = await session.get(Status, status_id)
        assert status is not None
        status.published = status.published - timedelta(hours=hours)


def tiles(body: str) -> list[str]:
    """The post links of the grid, in order."""
    grid = body.split('<ul class="grid">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<li class="tile[^"]*">\s*<a href="([^"]+)"', grid)


# ---- profile ----


async def test_profile_grid_has_thumbnails_blurhash_markers_and_paging(fedigen: Instance) -> None:
    single = await image_post(fedigen, "alice", "one picture")
    multi = await image_post(fedigen, "alice", "three pictures", images=3)
    warned = await image_post(fedigen, "alice", "careful", summary="spiders")
    await text_post(fedigen, "alice", "just words here")
    await text_post(fedigen, "alice", "for followers", visibility="followers")
    async with fedigen.services.reads() as session:
        rows = list(
            await session.scalars(select(MediaAttachment).where(MediaAttachment.status_id == single.id))
        )
    thumb = f"http://fedigen.test/media/{rows[0].thumbnail_key}"
    assert rows[0].blurhash and rows[0].thumbnail_key != rows[0].federation_key

    body = (await fedigen.client.get("/@alice")).text
    assert len(tiles(body)) == 4  # the followers-only post is not shown
    assert tiles(body)[-1] == f"http://fedigen.test/@alice/{single.id}"
    # The thumbnail variant, lazily loaded, over a blurhash decoded into a PNG data URI; alt text kept.
    assert f'<img class="thumb" src="{thumb}" alt="a red square" loading="lazy"' in body
    assert '<img class="blur" src="data:image/png;base64,' in body
    multi_tile = body.split(f'href="http://fedigen.test/@alice/{multi.id}"')[1].split("</li>")[0]
    assert '3<span class="visually-hidden"> images</span>' in multi_tile
    warned_tile = body.split(f'href="http://fedigen.test/@alice/{warned.id}"')[1].split("</li>")[0]
    assert "spiders" in warned_tile and 'class="thumb"' not in warned_tile and ">CW<" in warned_tile
    assert '<span class="tile-text">just words here</span>' in body  # a text post gets a text tile
    assert "style=" not in body and body.count("<script") == body.count('<script src="/static/')

    # Paging: 60 tiles a page, then ?max_id= gives the rest.
    async with fedigen.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        for n in range(60):
            await posts.create_post(fedigen.services, session, alice, PostRequest(text=f"filler {n}"))
    first = (await fedigen.client.get("/@alice")).text
    assert len(tiles(first)) == 60
    next_id = re.search(r'href="\?max_id=(\d+)"', first)
    assert next_id is not None
    second = (await fedigen.client.get(f"/@alice?max_id={next_id.group(1)}")).text
    assert len(tiles(second)) == 4 and f"/@alice/{single.id}" in second and "max_id=" not in second


async def test_profile_fields_get_rel_me_and_the_page_has_cards_and_feeds(fedigen: Instance) -> None:
    async with fedigen.services.sessions() as session, session.begin():
        alice = (await session.scalars(select(Actor).where(Actor.username == "alice"))).one()
        alice.display_name, alice.summary = "Alice A.", "<p>I paint with prompts</p>"
        alice.fields = [
            {"name": "Site", "value": '<a href="https://alice.example/">alice.example</a>'},
            {"name": "Bad", "value": '<a href="javascript:alert(1)">x</a><script>x</script>'},
        ]
    body = (await fedigen.client.get("/@alice")).text
    assert '<dt>Site</dt><dd><a href="https://alice.example/" rel="me nofollow noopener noreferrer">' in body
    assert "javascript:" not in body and "<script>x" not in body
    assert '<meta property="og:title" content="Alice A. (@alice@fedigen.test)">' in body
    assert '<meta property="og:description" content="I paint with prompts">' in body
    assert '<meta property="og:image" content="http://fedigen.test/avatars/alice.png">' in body
    assert (
        '<link rel="alternate" type="application/rss+xml" title="Alice A. (RSS)" href="http://fedigen.test/@alice.rss">'
        in body
    )
    assert 'href="http://fedigen.test/@alice.atom"' in body
    # Opted out of AI training (the default): the robots signals, in the page and the headers.
    assert '<meta name="robots" content="noai, noimageai">' in body
    response = await fedigen.client.get("/@alice")
    assert response.headers["x-robots-tag"] == "noai, noimageai"


async def test_follow_from_your_server_links_to_the_subscribe_page(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    plain_webfinger = remote._webfinger

    def with_subscribe(resource: str) -> Any:
        answer = plain_webfinger(resource)
        if answer.status_code == 200:
            import json

            jrd = json.loads(answer.body)
            jrd["links"].append(
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": f"{remote.base}/authorize_interaction?uri={{uri}}",
                }
            )
            answer.body = json.dumps(jrd).encode()
            answer.headers["content-length"] = str(len(answer.body))
        return answer

    page = await fedigen.client.get("/@alice")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    url = "/@alice/remote_follow"
    # Without the template: a clear error, and the form again.
    no_template = await fedigen.client.post(url, data={"csrf_token": token.group(1), "acct": bob.handle})
    assert no_template.status_code == 422 and "does not offer a follow page" in no_template.text
    remote._webfinger = with_subscribe  # type: ignore[method-assign]
    found = await fedigen.client.post(url, data={"csrf_token": token.group(1), "acct": bob.handle})
    assert found.status_code == 200
    expected = f"{remote.base}/authorize_interaction?uri=http%3A%2F%2Ffedigen.test%2Fusers%2Falice"
    assert f'<a class="button" href="{html.escape(expected)}"' in found.text
    unknown = await fedigen.client.post(
        url, data={"csrf_token": token.group(1), "acct": "@nobody@remote.test"}
    )
    assert unknown.status_code == 422 and "did not answer" in unknown.text
    bad = await fedigen.client.post(url, data={"csrf_token": token.group(1), "acct": "not a handle"})
    assert bad.status_code == 400 and "@you@yourserver.example" in bad.text
    forged = await fedigen.client.post(url, data={"acct": bob.handle})
    assert forged.status_code == 403


async def test_follow_box_refuses_private_addresses(tmp_path: Any, router: HostRouter) -> None:
    settings = make_settings(tmp_path, "sqlite", federation={"allow_private_addresses": False})
    async with start_instance(settings, router) as inst:
        await inst.create_account("alice")
        page = await inst.client.get("/@alice")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        answer = await inst.client.post(
            "/@alice/remote_follow", data={"csrf_token": token.group(1), "acct": "@me@127.0.0.1:9"}
        )
        assert answer.status_code == 422 and "did not answer" in answer.text


# ---- post page ----


async def test_post_page_images_alt_cw_generation_and_counts(fedigen: Instance) -> None:
    generation = {
        "prompt": "a lighthouse <in> fog",
        "negative_prompt": "boats",
        "backend": "procedural",
        "seed": 42,
        "width": 64,
        "height": 48,
    }
    post = await image_post(
        fedigen,
        "alice",
        "two views",
        images=2,
        alt="lighthouse",
        generation=generation,
        summary="bright light",
    )
    await fedigen.create_account("bob")
    await act(fedigen, "bob", post.id, like=True, boost=True)
    await text_post(fedigen, "bob", "lovely", in_reply_to_id=post.id)

    body = (await fedigen.client.get(f"/@alice/{post.id}")).text
    async with fedigen.services.reads() as session:
        rows = list(
            await session.scalars(
                select(MediaAttachment)
                .where(MediaAttachment.status_id == post.id)
                .order_by(MediaAttachment.position)
            )
        )
    full = f"http://fedigen.test/media/{rows[0].federation_key}"
    # Two images in a grid, full size, each with its alt text behind an ALT button.
    assert '<div class="figures count-2">' in body
    assert f'<a href="{full}"><img src="{full}" alt="lighthouse 0"' in body
    assert '<details class="alt"><summary>ALT</summary><p>lighthouse 1</p></details>' in body
    assert '<details class="cw">' in body and "<summary>bright light</summary>" in body
    assert "<strong>AI-generated</strong>" in body
    assert "a lighthouse &lt;in&gt; fog" in body and "boats" in body and "<dd>42</dd>" in body
    counts = body.split('<ul class="post-counts"')[1].split("</ul>")[0]
    assert "<strong>1</strong> like<" in counts and "<strong>1</strong> boost<" in counts
    assert "<strong>0</strong> remixes" in counts and "<strong>1</strong> reply" in counts
    assert "lovely" in body.split('aria-label="Replies"')[1]  # the thread's replies
    # A content warning keeps the picture out of the card (no og:image of a hidden image).
    assert f'<meta property="og:image" content="{full}">' not in body


async def test_post_page_private_prompt_and_cards(fedigen: Instance) -> None:
    generation = {"prompt": "secret recipe", "backend": "procedural", "seed": 7}
    post = await image_post(fedigen, "alice", "mine", generation=generation, private_prompt=True)
    body = (await fedigen.client.get(f"/@alice/{post.id}")).text
    assert "secret recipe" not in body and "keeps the prompt private" in body
    async with fedigen.services.reads() as session:
        row = (
            await session.scalars(select(MediaAttachment).where(MediaAttachment.status_id == post.id))
        ).one()
    full = f"http://fedigen.test/media/{row.federation_key}"
    assert f'<meta property="og:image" content="{full}">' in body
    assert '<meta property="og:image:alt" content="a red square">' in body
    assert '<meta name="twitter:card" content="summary_large_image">' in body
    assert re.search(r'<meta property="og:title" content="[^"]+ \(@alice@fedigen.test\)">', body)


async def test_remix_family_as_thumbnails_and_remix_of_once(
    fedigen: Instance, remote: RemoteServer, bob: RemoteActor
) -> None:
    parent = await image_post(
        fedigen,
        "alice",
        "the original",
        alt="original picture",
        generation={"prompt": "sea", "backend": "procedural"},
    )
    child = await image_post(
        fedigen,
        "alice",
        "my remix",
        alt="remixed picture",
        generation={"prompt": "sea at night", "backend": "procedural", "parent": parent.ap_id},
    )
    # A remote remix of the parent, received through the inbox.
    remote_child = bob.note(
        "<p>bob's take</p>",
        mention="http://fedigen.test/users/alice",
        generation={"prompt": "sea, but pink", "remixOf": parent.ap_id},
        quoteUrl=parent.ap_id,
        attachment=[
            {
                "type": "Image",
                "mediaType": "image/png",
                "name": "pink sea",
                "url": f"{remote.base}/files/pink.png",
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            }
        ],
    )
    assert (await bob.post(fedigen.client, "/users/alice/inbox", bob.create(remote_child))).status_code == 202
    await fedigen.drain()

    page = (await fedigen.client.get(f"/@alice/{child.id}")).text
    assert page.count("Remix of") == 1  # the family, not the content's own "Remix of" paragraph too
    family = page.split('aria-label="Remix family"')[1].split("</section>")[0]
    assert f'href="http://fedigen.test/@alice/{parent.id}"' in family and 'alt="original picture"' in family
    assert parent.ap_id not in family.replace(f"/@alice/{parent.id}", "")  # no raw URL shown

    page = (await fedigen.client.get(f"/@alice/{parent.id}")).text
    family = page.split('aria-label="Remix family"')[1].split("</section>")[0]
    assert "Remixed 2 times" in family
    assert f'href="http://fedigen.test/@alice/{child.id}"' in family and 'alt="remixed picture"' in family
    # The remote remix links to its own server, shown by its picture and its author.
    assert f'href="{remote_child["id"]}" rel="nofollow noopener"' in family
    assert f'src="{remote.base}/files/pink.png" alt="pink sea"' in family and "@bob@remote.test" in family
    assert "<strong>2</strong> remixes" in page


async def test_thread_shows_ancestors_and_remote_replies(fedigen: Instance, bob: RemoteActor) -> None:
    root = await text_post(fedigen, "alice", "first word")
    middle = await image_post(fedigen, "alice", "a picture reply", in_reply_to_id=root.id)
    reply = bob.note("<p>from afar</p>", mention="http://fedigen.test/users/alice", inReplyTo=middle.ap_id)
    assert (await bob.post(fedigen.client, "/users/alice/inbox", bob.create(reply))).status_code == 202
    await fedigen.drain()
    hidden = await text_post(
        fedigen, "alice", "followers only reply", in_reply_to_id=middle.id, visibility="followers"
    )
    body = (await fedigen.client.get(f"/@alice/{middle.id}")).text
    before = body.split('aria-label="In reply to"')[1].split("</section>")[0]
    assert "first word" in before and f'href="http://fedigen.test/@alice/{root.id}"' in before
    after = body.split('aria-label="Replies"')[1].split("</section>")[0]
    assert "from afar" in after and f'href="{reply["id"]}"' in after and "@bob@remote.test" in after
    assert "followers only reply" not in body and f'/@alice/{hidden.id}"' not in body


# ---- tags, the local timeline, Explore ----


async def test_tag_and_local_timeline_pages(fedigen: Instance, bob: RemoteActor) -> None:
    await image_post(fedigen, "alice", "sunset #Sky")
    await text_post(fedigen, "alice", "words only")
    await text_post(fedigen, "alice", "secretive #sky", visibility="followers")
    note = bob.note(
        '<p>remote <a href="https://remote.test/tags/sky" rel="tag">#sky</a></p>',
        mention="http://fedigen.test/users/alice",
    )
    note["tag"].append({"type": "Hashtag", "name": "#sky", "href": "https://remote.test/tags/sky"})
    await bob.post(fedigen.client, "/users/alice/inbox", bob.create(note))
    await fedigen.drain()

    tag = (await fedigen.client.get("/tags/sky")).text
    assert "sunset" in tag and "remote" in tag and "secretive" not in tag and "words only" not in tag
    assert '<img class="thumb"' in tag
    assert 'type="application/rss+xml" title="#sky (RSS)" href="http://fedigen.test/tags/sky.rss"' in tag
    local = await fedigen.client.get("/public/local")
    assert local.status_code == 200
    assert "sunset" in local.text and "words only" in local.text
    assert "from afar" not in local.text and "remote" not in local.text.split("<main>")[1]


async def test_explore_ranks_by_the_documented_rule(fedigen: Instance) -> None:
    for name in ("bob", "carol", "dave"):
        await fedigen.create_account(name)
    quiet = await image_post(fedigen, "alice", "quiet new")
    liked = await image_post(fedigen, "alice", "liked twice")
    boosted = await image_post(fedigen, "alice", "boosted once")
    old = await image_post(fedigen, "alice", "old but loved")
    await text_post(fedigen, "alice", "no image, never in explore")
    for who in ("bob", "carol"):
        await act(fedigen, who, liked.id, like=True)
    await act(fedigen, "dave", boosted.id, boost=True)
    for who in ("bob", "carol", "dave"):
        await act(fedigen, who, old.id, like=True, boost=True)
    await age(fedigen, old.id, 72)  # three half-lives: (1 + 3 + 6) / 8 = 1.25
    # liked: 1 + 2*1 = 3; boosted: 1 + 2 = 3 (older by its id: after liked); quiet: 1.
    body = (await fedigen.client.get("/explore")).text
    order = [int(link.rsplit("/", 1)[1]) for link in tiles(body)]
    assert order == [boosted.id, liked.id, old.id, quiet.id] or order == [
        liked.id,
        boosted.id,
        old.id,
        quiet.id,
    ]
    assert order[2:] == [old.id, quiet.id]
    assert "boosts × 2.0" in body  # the rule, with the weights in force, is on the page


async def test_explore_weights_come_from_config(tmp_path: Any, router: HostRouter) -> None:
    weights = {"likes_weight": 10, "boosts_weight": 0, "half_life_hours": 1000, "window_days": 2}
    async with start_instance(make_settings(tmp_path, "sqlite", trends=weights), router) as inst:
        for name in ("alice", "bob"):
            await inst.create_account(name)
        boosted = await image_post(inst, "alice", "boosted")
        liked = await image_post(inst, "alice", "liked")
        too_old = await image_post(inst, "alice", "too old")
        await act(inst, "bob", boosted.id, boost=True)
        await act(inst, "bob", liked.id, like=True)
        await act(inst, "bob", too_old.id, like=True)
        await age(inst, too_old.id, 49)
        body = (await inst.client.get("/explore")).text
        assert [int(t.rsplit("/", 1)[1]) for t in tiles(body)] == [liked.id, boosted.id]


def test_the_score_formula() -> None:
    weights = TrendsSettings()
    fresh = score(Engagement(likes=2, boosts=1, remixes=1, replies=2), 0, weights)
    assert fresh == pytest.approx(1 + 2 * 1.0 + 1 * 2.0 + 1 * 3.0 + 2 * 1.5)
    assert score(Engagement(likes=2, boosts=1, remixes=1, replies=2), 48, weights) == pytest.approx(fresh / 4)


async def test_trending_tags(fedigen: Instance) -> None:
    await fedigen.create_account("bob")
    await image_post(fedigen, "alice", "#cats one")
    popular = await image_post(fedigen, "alice", "#dogs one")
    await image_post(fedigen, "bob", "#cats two")
    for _ in range(1):
        await act(fedigen, "bob", popular.id, like=True, boost=True)
    body = (await fedigen.client.get("/explore/tags")).text
    names = re.findall(r'<li><a href="http://fedigen.test/tags/(\w+)">', body)
    assert names == ["dogs", "cats"]  # dogs: 1 + 1 + 2 = 4; cats: 1 + 1 = 2
    assert "2 posts by 2 accounts" in body


async def test_pages_closed_to_logged_out_visitors(tmp_path: Any, router: HostRouter) -> None:
    closed = {"public_timelines": False, "public_explore": False}
    async with start_instance(make_settings(tmp_path, "sqlite", web=closed), router) as inst:
        await inst.create_account("alice")
        post = await image_post(inst, "alice", "#sky public anyway")
        for path in ("/explore", "/explore/tags", "/public/local", "/tags/sky", "/tags/sky.rss"):
            response = await inst.client.get(path)
            assert response.status_code == 401, path
            assert "Sign in to see this" in response.text and "public anyway" not in response.text
            assert f'href="/auth/sign_in?next={path}"' in response.text
        # Profiles and posts stay public.
        assert (await inst.client.get("/@alice")).status_code == 200
        assert (await inst.client.get(f"/@alice/{post.id}")).status_code == 200
        member = await browser_of(inst, "bob")
        for path in ("/explore", "/public/local", "/tags/sky"):
            response = await member.get(path)
            assert response.status_code == 200 and f"/@alice/{post.id}" in response.text, path


async def test_bad_explore_offset_is_a_400_page(fedigen: Instance) -> None:
    for offset in ("-1", "many", "100000"):
        response = await fedigen.client.get(f"/explore?offset={offset}")
        assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")


# ---- feeds ----


async def test_account_feeds_parse_as_rss_and_atom(fedigen: Instance) -> None:
    picture = await image_post(fedigen, "alice", "a bold picture & more", alt='alt "quoted"')
    await text_post(fedigen, "alice", "unlisted, not in the feed", visibility="unlisted")
    rss = await fedigen.client.get("/@alice.rss")
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    channel = ET.fromstring(rss.content).find("channel")
    assert channel is not None
    assert channel.findtext("link") == "http://fedigen.test/@alice"
    items = channel.findall("item")
    assert len(items) == 1
    item = items[0]
    assert item.findtext("link") == f"http://fedigen.test/@alice/{picture.id}"
    assert item.findtext("title") == "a bold picture & more"
    description = item.findtext("description") or ""
    assert "<p>a bold picture &amp; more</p>" in description and 'alt="alt &quot;quoted&quot;"' in description
    enclosure = item.find("enclosure")
    assert enclosure is not None and enclosure.get("url", "").startswith("http://fedigen.test/media/")

    atom = await fedigen.client.get("/@alice.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(atom.content)
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1 and entries[0].findtext(f"{ATOM}id") == picture.ap_id
    content = entries[0].find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html" and "&amp; more</p>" in (content.text or "")
    assert (await fedigen.client.get("/@nobody.rss")).status_code == 404


async def test_tag_feed(fedigen: Instance) -> None:
    await image_post(fedigen, "alice", "#Sea waves")
    await image_post(fedigen, "alice", "#land hills")
    rss = await fedigen.client.get("/tags/sea.rss")
    items = ET.fromstring(rss.content).findall("channel/item")
    assert [i.findtext("title") for i in items] == ["#Sea waves"]
    atom = ET.fromstring((await fedigen.client.get("/tags/sea.atom")).content)
    assert len(atom.findall(f"{ATOM}entry")) == 1


# ---- errors, negotiation ----


async def test_styled_404_and_410(fedigen: Instance) -> None:
    for path in ("/@nobody", "/@alice/999999", "/settings-that-do-not-exist", "/tags/"):
        response = await fedigen.client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404, path
        assert '<p class="error-code" aria-hidden="true">404</p>' in response.text
        assert 'href="/explore"' in response.text
    gone = await text_post(fedigen, "alice", "soon gone")
    async with fedigen.services.sessions() as session, session.begin():
        await session.execute(update(Status).where(Status.id == gone.id).values(deleted_at=gone.published))
    response = await fedigen.client.get(f"/@alice/{gone.id}")
    assert response.status_code == 410 and "This post was deleted." in response.text


async def test_same_url_html_for_browsers_and_as2_for_servers(fedigen: Instance) -> None:
    post = await image_post(fedigen, "alice", "negotiated picture")
    for path, ap_id in (("/@alice", "http://fedigen.test/users/alice"), (f"/@alice/{post.id}", post.ap_id)):
        browser = await fedigen.client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
        assert browser.headers["content-type"].startswith("text/html")
        server = await fedigen.client.get(path, headers={"Accept": "application/activity+json"})
        assert server.headers["content-type"].startswith("application/activity+json")
        assert server.json()["id"] == ap_id
        for answer in (browser, server):
            assert "accept" in answer.headers["vary"].lower()


async def test_remote_posts_have_a_page_for_signed_in_viewers(fedigen: Instance, bob: RemoteActor) -> None:
    post = await image_post(fedigen, "alice", "a picture to answer")
    reply = bob.note("<p>from afar</p>", mention="http://fedigen.test/users/alice", inReplyTo=post.ap_id)
    assert (await bob.post(fedigen.client, "/users/alice/inbox", bob.create(reply))).status_code == 202
    await fedigen.drain()
    async with fedigen.services.reads() as session:
        stored = (await session.scalars(select(Status).where(Status.ap_id == reply["id"]))).one()
    path = f"/@bob@remote.test/{stored.id}"
    # Not signed in: sent to the post's own server (as Mastodon does).
    away = await fedigen.client.get(path)
    assert away.status_code == 302 and away.headers["location"] == (stored.url or reply["id"])
    assert f'href="{stored.url or reply["id"]}"' in (await fedigen.client.get(f"/@alice/{post.id}")).text

    member = await browser_of(fedigen, "dora")
    page = await member.get(path)
    assert page.status_code == 200 and "from afar" in page.text
    assert f'<link rel="canonical" href="{stored.url or reply["id"]}">' in page.text
    assert '<meta name="robots" content="noindex">' in page.text
    before = page.text.split('aria-label="In reply to"')[1].split("</section>")[0]
    assert f'href="http://fedigen.test/@alice/{post.id}"' in before and "a picture to answer" in before
    # The local post's thread links the reply to its page here, for a signed-in viewer.
    local = (await member.get(f"/@alice/{post.id}")).text
    assert f'href="http://fedigen.test{path}"' in local
    for wrong in (
        f"/@carol@remote.test/{stored.id}",
        f"/@bob@remote.test/{post.id}",
        "/@bob@remote.test/99999",
    ):
        assert (await member.get(wrong)).status_code == 404, wrong
