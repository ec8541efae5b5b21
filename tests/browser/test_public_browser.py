"""The public pages in Chromium: the profile grid, a post page with its remix family and thread, Explore,
tags and the local timeline, at desktop size and on a 360 px phone; and a remote post full of script
payloads (received through the signed inbox) that must not run anything."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import PASSWORD, Browsing, no_horizontal_scroll, shoot
from tests.remote_actor import RemoteServer
from tests.support.server import FedigenServer, LoopbackServer, free_port

PUBLIC_PAGES = ("/@admin", "/explore", "/explore/tags", "/tags/sea", "/public/local")
PAYLOAD = "<img src=x onerror=\"window.__xss='{where}';alert('{where}')\">"
# The same, escaped once: text that becomes markup if a page forgets to escape what it was unescaped into.
ESCAPED = "&lt;img src=x onerror=&quot;window.__xss='{where}'&quot;&gt;"


@pytest.fixture(scope="module")
def remote() -> Iterator[RemoteServer]:
    """A fake Mastodon-like server on loopback."""
    port = free_port()
    server = RemoteServer(f"127.0.0.1:{port}")
    with LoopbackServer(server.app, port=port):
        yield server


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FedigenServer]:
    """A real `fedigen serve` with small images, an owner ``admin`` and a member ``bea``."""
    with FedigenServer(
        tmp_path_factory.mktemp("public"), extra_config='[generation]\nsize = "64x64"'
    ) as server:
        server.cli("account", "create", "admin", "--role", "owner", "--password-stdin", stdin=PASSWORD)
        server.cli("account", "create", "bea", "--password-stdin", stdin=PASSWORD)
        yield server


def _posted(server: FedigenServer, *args: str) -> int:
    out = server.cli(*args).stdout.strip().splitlines()[-1]
    return int(out.split("\t", 1)[0])


@pytest.fixture(scope="module")
def content(web_server: FedigenServer) -> dict[str, int]:
    """Image posts: three images with a tag, a warned one, a single one and its remix, a mention."""
    server = web_server
    ids = {
        "triple": _posted(
            server,
            "post",
            "--as",
            "admin",
            "--prompt",
            "a calm sea at dusk",
            "--images",
            "3",
            "Three seas #sea",
        ),  # fmt: skip
        "warned": _posted(
            server, "post", "--as", "admin", "--prompt", "a storm", "--cw", "flashing light", "A storm #sea"
        ),  # fmt: skip
        "single": _posted(
            server,
            "post",
            "--as",
            "admin",
            "--prompt",
            "a lighthouse with a very long prompt that goes on and on to see that it wraps on a phone",
            "One lighthouse",
        ),  # fmt: skip
    }
    ids["remix"] = _posted(server, "remix", "--as", "bea", str(ids["single"]), "the lighthouse at night",
                           "Night version")  # fmt: skip
    ids["mention"] = _posted(server, "post", "--as", "bea", "--prompt", "a wave", "Nice @admin")
    return ids


def test_profile_grid_post_page_and_explore_on_desktop(desktop: Browsing, content: dict[str, int]) -> None:
    page = desktop.open("/@admin")
    tiles = page.locator("ul.grid li.tile")
    assert tiles.count() == 3
    assert (
        page.locator("li.tile .marker.multi").count() == 1 and page.locator("li.tile .marker.cw").count() == 1
    )
    # Every tile image has its thumbnail loaded (lazily) and alt text.
    for image in page.locator("li.tile img.thumb").all():
        image.scroll_into_view_if_needed()
        assert image.get_attribute("alt")
    page.wait_for_function(
        "[...document.querySelectorAll('li.tile img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shoot(page, "public-profile-desktop")

    page.click(f'li.tile a[href$="/@admin/{content["single"]}"]')
    page.wait_for_url(f"**/@admin/{content['single']}")
    assert page.locator(".figures figure img").count() == 1
    family = page.locator('section[aria-label="Remix family"]')
    assert "Remixed 1 time" in family.inner_text()
    assert family.locator("img.thumb").count() == 1
    shoot(page, "public-post-desktop")

    page.goto(f"/@bea/{content['remix']}")
    assert page.locator("text=Remix of").count() == 1
    page.click('section[aria-label="Remix family"] a')
    page.wait_for_url(f"**/@admin/{content['single']}")

    page.goto(f"/@admin/{content['triple']}")
    assert page.locator(".figures.count-3 figure").count() == 3
    alt = page.locator("details.alt").first
    alt.locator("summary").click()
    assert alt.locator("p").is_visible()
    shoot(page, "public-post-three-desktop")

    page.goto(f"/@admin/{content['warned']}")
    assert not page.locator(".figures img").first.is_visible()
    page.click("details.cw > summary")
    assert page.locator(".figures img").first.is_visible()

    page.goto("/explore")
    assert page.locator("ul.grid li.tile").count() == 5
    shoot(page, "public-explore-desktop")
    page.goto("/explore/tags")
    assert page.locator("ol.trending-tags li").first.inner_text().startswith("#sea")
    page.goto("/tags/sea")
    assert page.locator("article.card").count() == 2
    shoot(page, "public-tag-desktop")


def test_public_pages_fit_a_phone(phone: Browsing, content: dict[str, int]) -> None:
    for path in (*PUBLIC_PAGES, f"/@admin/{content['triple']}", f"/@admin/{content['single']}"):
        page = phone.open(path)
        page.wait_for_load_state("load")
        assert no_horizontal_scroll(page), path
        name = path.strip("/").replace("/", "-").replace("@", "") or "front"
        shoot(page, f"public-{name}-phone")
        page.close()


def test_remote_post_with_script_payloads_runs_nothing(
    desktop: Browsing, content: dict[str, int], remote: RemoteServer, web_server: FedigenServer
) -> None:
    base = web_server.base_url
    # Pictures on our own origin, so the page's Content-Security-Policy lets them load.
    picture = f"{base}/static/header.png"
    mallory = remote.add_actor(
        "mallory",
        name=PAYLOAD.format(where="name") + ESCAPED.format(where="name2") + " :evil:",
        summary="<p>" + PAYLOAD.format(where="bio") + "</p>",
        icon={"type": "Image", "mediaType": "image/svg+xml", "url": f"{base}/static/favicon.svg"},
    )
    target = f"{base}/users/admin/statuses/{content['single']}"
    note = mallory.note(
        "<p>hello "
        + PAYLOAD.format(where="content")
        + "<script>window.__xss='script'</script> #sea :evil:</p>",
        mention=f"{base}/users/admin",
        inReplyTo=target,
        quoteUrl=target,
        summary="<b>warn</b>" + PAYLOAD.format(where="cw"),
        attachment=[
            {
                "type": "Image",
                "mediaType": "image/png",
                "url": picture,
                "name": '"><script>window.__xss="alt"</script>' + PAYLOAD.format(where="alt"),
            }
        ],  # fmt: skip
        generation={
            "prompt": "<script>window.__xss='prompt'</script>"
            + PAYLOAD.format(where="prompt")
            + ESCAPED.format(where="prompt2"),
            "remixOf": target,
            "backend": PAYLOAD.format(where="backend"),
        },  # fmt: skip
    )
    note["tag"] += [
        {"type": "Hashtag", "name": "#sea", "href": f"{remote.base}/tags/sea"},
        {"type": "Emoji", "name": ":evil:" + PAYLOAD.format(where="emoji"),
         "icon": {"type": "Image", "url": picture + '"><script>window.__xss="emoji"</script>'}},
        {"type": "Emoji", "name": ":evil:", "id": f"{remote.base}/emoji/evil",
         "icon": {"type": "Image", "mediaType": "image/png", "url": picture}},
    ]  # fmt: skip
    body = json.dumps(mallory.create(note)).encode()
    inbox = f"{base}/users/admin/inbox"
    answer = httpx.post(inbox, content=body, headers=mallory.sign(inbox, body))
    assert answer.status_code == 202, answer.text

    def stored() -> bool:
        page = httpx.get(f"{base}/@admin/{content['single']}").text
        return "@mallory@" in page

    web_server.wait_until(stored, what="the remote reply on the post page")
    dialogs: list[str] = []
    for path in (f"/@admin/{content['single']}", "/tags/sea", "/explore"):
        page = desktop.context.new_page()
        desktop.watch.attach(page)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.add_init_script("window.__xss = null;")
        page.goto(base + path)
        page.wait_for_load_state("load")
        for details in page.locator("details").all():  # open every warning and alt text
            details.locator("summary").first.click()
        page.wait_for_timeout(200)
        assert page.evaluate("window.__xss") is None, path
        text = page.locator("main").inner_text()
        if path != "/explore":
            assert "hello" in text and "<script>" not in page.locator("main").inner_html().lower(), path
            # The escaped payloads are shown as the text they are.
            assert "onerror=\"window.__xss='prompt2'\"" in text and "window.__xss='name2'" in text, path
        shoot(page, "public-xss-" + (path.strip("/").replace("/", "-").replace("@", "") or "front"))
        page.close()
    assert dialogs == []
