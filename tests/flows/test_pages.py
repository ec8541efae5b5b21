"""What a browser sees: the home, about, profile, status, tag and avatar pages of an instance."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from fedigen.social import posts
from fedigen.social.posts import PostRequest
from fedigen.web.avatars import identicon_png
from storage.models import Actor, Status

AS2 = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


async def _post(instance: Any, author_id: int, text: str, **fields: Any) -> int:
    async with instance.services.sessions() as session, session.begin():
        author = await session.get(Actor, author_id)
        assert author is not None
        status = await posts.create_post(instance.services, session, author, PostRequest(text=text, **fields))
        return int(status.id)


async def _delete(instance: Any, author_id: int, status_id: int) -> None:
    async with instance.services.sessions() as session, session.begin():
        author = await session.get(Actor, author_id)
        assert author is not None
        await posts.delete_post(instance.services, session, author, status_id)


async def _set_profile(instance: Any, actor_id: int, **fields: Any) -> None:
    async with instance.services.sessions() as session, session.begin():
        actor = await session.get(Actor, actor_id)
        assert actor is not None
        for name, value in fields.items():
            setattr(actor, name, value)


def _assert_html_page(response: Any) -> None:
    assert response.headers["content-type"].startswith("text/html")
    body = response.text
    assert '<meta name="viewport"' in body and '<html lang="' in body
    assert "<title>" in body and "Test</title>" in body
    # No inline script: the only scripts are files of /static (the Content-Security-Policy allows no other).
    assert body.count("<script") == body.count('<script src="/static/')


async def test_home_lists_public_posts_only(instance: Any) -> None:
    alice = await instance.create_account("alice")
    await _post(instance, alice.id, "a public picture")
    await _post(instance, alice.id, "for followers only", visibility="followers")
    await _post(instance, alice.id, "a direct word", visibility="direct")
    await _post(instance, alice.id, "quietly unlisted", visibility="unlisted")

    response = await instance.client.get("/")
    assert response.status_code == 200
    _assert_html_page(response)
    assert "a public picture" in response.text
    for hidden in ("for followers only", "a direct word", "quietly unlisted"):
        assert hidden not in response.text
    assert 'href="http://fedigen.test/@alice"' in response.text
    assert "2 accounts on fedigen.test" in response.text  # alice and the generation bot
    assert "Content-Security-Policy" in response.headers


async def test_home_pages_with_max_id(instance: Any) -> None:
    alice = await instance.create_account("alice")
    ids = [await _post(instance, alice.id, f"post number {n}") for n in range(22)]

    first = await instance.client.get("/")
    assert "post number 21" in first.text and "post number 2<" in first.text
    assert "post number 1<" not in first.text
    assert f'href="?max_id={ids[2]}"' in first.text
    second = await instance.client.get(f"/?max_id={ids[2]}")
    assert "post number 1<" in second.text and "post number 0<" in second.text
    assert "post number 2<" not in second.text and "max_id=" not in second.text

    for bad_cursor in ("yesterday", "-1", str(2**64)):
        bad = await instance.client.get(f"/?max_id={bad_cursor}")
        assert bad.status_code == 400, bad_cursor
        _assert_html_page(bad)


async def test_about_page_explains_following(instance: Any) -> None:
    await instance.create_account("alice")
    response = await instance.client.get("/about")
    assert response.status_code == 200
    _assert_html_page(response)
    assert "@alice@fedigen.test" in response.text
    assert 'href="/.well-known/nodeinfo"' in response.text
    assert "@imagine@fedigen.test a lighthouse" in response.text


async def test_profile_shows_handle_bio_counts_and_posts(instance: Any) -> None:
    alice = await instance.create_account("alice")
    await _set_profile(instance, alice.id, display_name="Alice A.", summary="<p>I make <em>pictures</em></p>")
    await _post(instance, alice.id, "shown on the profile")
    await _post(instance, alice.id, "unlisted but on the profile", visibility="unlisted")
    await _post(instance, alice.id, "followers see this", visibility="followers")

    response = await instance.client.get("/@alice")
    assert response.status_code == 200
    _assert_html_page(response)
    body = response.text
    assert "Alice A." in body and "@alice@fedigen.test" in body
    assert "<p>I make <em>pictures</em></p>" in body
    assert "shown on the profile" in body and "unlisted but on the profile" in body
    assert "followers see this" not in body
    assert "<strong>2</strong> posts" in body and "<strong>0</strong> followers" in body
    assert (
        '<link rel="alternate" type="application/activity+json" href="http://fedigen.test/users/alice">'
        in body
    )
    assert 'src="http://fedigen.test/avatars/alice.png"' in body


async def test_unknown_account_is_an_html_404(instance: Any) -> None:
    for path in ("/@nobody", "/@nobody/1", "/avatars/nobody.png"):
        response = await instance.client.get(path)
        assert response.status_code == 404, path
    page = await instance.client.get("/@nobody")
    _assert_html_page(page)
    assert "Not found" in page.text


async def test_as2_accept_gets_the_actor_and_note_at_the_page_url(instance: Any) -> None:
    alice = await instance.create_account("alice")
    status_id = await _post(instance, alice.id, "negotiated")

    actor = await instance.client.get("/@alice", headers={"Accept": AS2})
    assert actor.status_code == 200
    assert actor.headers["content-type"].startswith("application/activity+json")
    assert actor.json()["id"] == "http://fedigen.test/users/alice"
    assert actor.headers["vary"].lower().count("accept") == 1

    note = await instance.client.get(f"/@alice/{status_id}", headers={"Accept": "application/activity+json"})
    assert note.status_code == 200
    assert note.json()["id"] == f"http://fedigen.test/users/alice/statuses/{status_id}"
    assert "negotiated" in note.json()["content"]
    page = await instance.client.get(f"/@alice/{status_id}", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "accept" in page.headers["vary"].lower()


async def test_status_page_shows_content_and_content_warning(instance: Any) -> None:
    alice = await instance.create_account("alice")
    status_id = await _post(instance, alice.id, "a sunset over #Hills", summary="bright colours")
    async with instance.services.sessions() as session, session.begin():
        status = await session.get(Status, status_id)
        assert status is not None
        status.attachments = [
            {"url": "http://fedigen.test/media/1.png", "name": 'hills at "dusk"', "width": 640, "height": 480,
             "mediaType": "image/png"},
            {"url": "javascript:alert(1)", "name": "bad", "mediaType": "image/png"},
        ]  # fmt: skip

    response = await instance.client.get(f"/@alice/{status_id}")
    assert response.status_code == 200
    _assert_html_page(response)
    body = response.text
    assert "a sunset over" in body and 'href="http://fedigen.test/tags/hills"' in body
    assert '<details class="cw">' in body and "<summary>bright colours</summary>" in body
    assert (
        '<img src="http://fedigen.test/media/1.png" alt="hills at &#34;dusk&#34;" width="640" height="480"'
        in body
    )
    assert "javascript:" not in body
    link = f'<link rel="alternate" type="application/activity+json" href="http://fedigen.test/users/alice/statuses/{status_id}">'
    assert link in body
    assert '<time class="dt-published" datetime="' in body


async def test_private_and_deleted_statuses(instance: Any) -> None:
    alice = await instance.create_account("alice")
    private_id = await _post(instance, alice.id, "only followers", visibility="followers")
    deleted_id = await _post(instance, alice.id, "soon gone")
    await _delete(instance, alice.id, deleted_id)

    private = await instance.client.get(f"/@alice/{private_id}")
    assert private.status_code == 404 and "only followers" not in private.text
    gone = await instance.client.get(f"/@alice/{deleted_id}")
    assert gone.status_code == 410
    _assert_html_page(gone)
    assert "soon gone" not in gone.text
    bob = await instance.create_account("bob")
    assert (await instance.client.get(f"/@bob/{private_id + 1000}")).status_code == 404
    assert (await instance.client.get(f"/@alice/{2**64}")).status_code == 404
    assert (await instance.client.get(f"/@{bob.username}/{deleted_id}")).status_code == 404
    home = await instance.client.get("/")
    assert "soon gone" not in home.text


async def test_tag_page_lists_public_posts_with_the_tag(instance: Any) -> None:
    alice = await instance.create_account("alice")
    await _post(instance, alice.id, "mountains #Landscape")
    await _post(instance, alice.id, "a cat #portrait")
    await _post(instance, alice.id, "secret #landscape", visibility="followers")

    response = await instance.client.get("/tags/landscape")
    assert response.status_code == 200
    _assert_html_page(response)
    assert "mountains" in response.text
    assert "a cat" not in response.text and "secret" not in response.text
    assert "<h1>#landscape</h1>" in response.text
    upper = await instance.client.get("/tags/LandScape")
    assert "mountains" in upper.text
    empty = await instance.client.get("/tags/nothing")
    assert empty.status_code == 200 and "No public posts with this tag yet." in empty.text


async def test_avatar_is_a_cacheable_deterministic_png(instance: Any) -> None:
    await instance.create_account("alice")
    await instance.create_account("bob")
    first = await instance.client.get("/avatars/alice.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
    image = Image.open(io.BytesIO(first.content))
    image.verify()
    assert image.format == "PNG" and image.size == (256, 256)
    again = await instance.client.get("/avatars/alice.png")
    assert again.content == first.content
    other = await instance.client.get("/avatars/bob.png")
    assert other.content != first.content


def test_identicon_is_deterministic_symmetric_and_bare() -> None:
    png = identicon_png("http://example.test/users/carol", 100)
    assert png == identicon_png("http://example.test/users/carol", 100)
    image = Image.open(io.BytesIO(png))
    assert image.size == (100, 100) and not image.info.keys() - {"dpi"}
    rgb = image.convert("RGB")
    for y in range(0, 100, 7):
        for x in range(50):
            assert rgb.getpixel((x, y)) == rgb.getpixel((99 - x, y))
    assert len(rgb.getcolors() or []) == 2


async def test_display_name_is_escaped(instance: Any) -> None:
    mallory = await instance.create_account("mallory")
    await _set_profile(instance, mallory.id, display_name="<script>alert(1)</script>")
    await _post(instance, mallory.id, "hello")

    for path in ("/@mallory", "/"):
        response = await instance.client.get(path)
        assert response.status_code == 200
        assert "<script>" not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
