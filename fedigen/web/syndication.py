"""RSS 2.0 and Atom feeds of an account's and a hashtag's public posts (``/@name.rss``, ``/@name.atom``,
``/tags/NAME.rss``, ``/tags/NAME.atom``), written with feedgen.

Each item carries the post's sanitised HTML with its images (alt text kept) and, in RSS, the first
image as an enclosure, so feed readers show the picture.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.convertors import Convertor, register_url_convertor
from starlette.responses import Response

from activitypub.content import strip_html

if TYPE_CHECKING:
    from fedigen.web.public import Post

FEED_SIZE = 20
MEDIA_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}
AI_OPT_OUT_HEADERS = {"X-Robots-Tag": "noai, noimageai", "tdm-reservation": "1"}


class FeedKind(Convertor[str]):
    """The ``.rss`` / ``.atom`` suffix of a feed URL."""

    regex = "rss|atom"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("feedkind", FeedKind())


@dataclass(frozen=True)
class Feed:
    """What a feed is about: its title, the page it mirrors, its own URL, a description, an image."""

    title: str
    page: str
    url: str
    description: str
    image: str | None


def _title(post: Post) -> str:
    text = post.warning or strip_html(post.status.content)
    if not text:
        count = len(post.pictures)
        text = f"{count} image{'s' if count != 1 else ''}" if count else "A post"
    return text if len(text) <= 80 else text[:79] + "…"


def _body(post: Post) -> str:
    """The item's HTML: the warning, the text (already sanitised when stored) and the images."""
    parts = []
    if post.warning:
        parts.append(f"<p><strong>Content warning: {html.escape(post.warning)}</strong></p>")
    parts.append(post.status.content or "")
    for picture in post.pictures:
        src, alt = html.escape(picture.url, quote=True), html.escape(picture.alt, quote=True)
        parts.append(f'<p><img src="{src}" alt="{alt}"></p>')
    return "".join(parts)


def render_feed(feed: Feed, posts: Sequence[Post], kind: str) -> bytes:
    """The feed document, RSS 2.0 (``kind="rss"``) or Atom."""
    # feedgen (and lxml under it, ~5 MB) is loaded on the first feed asked for, not by every process.
    from feedgen.feed import FeedGenerator

    generator = FeedGenerator()
    generator.id(feed.page)
    generator.title(feed.title)
    generator.description(feed.description)
    generator.subtitle(feed.description)
    # feedgen's RSS <link> is the last link given: the self link first, then the page.
    generator.link(href=feed.url, rel="self")
    generator.link(href=feed.page, rel="alternate")
    generator.generator("fedigen")
    if feed.image:
        generator.logo(feed.image)
        if kind == "rss":
            generator.image(url=feed.image, title=feed.title, link=feed.page)
    newest = None
    for post in posts:
        entry = generator.add_entry(order="append")
        entry.id(post.status.ap_id)
        entry.title(_title(post))
        entry.link(href=post.href, rel="alternate")
        entry.author(name=post.author.display_name or post.author.username, uri=post.author_href)
        entry.published(post.status.published)
        entry.updated(post.status.edited_at or post.status.published)
        body = _body(post)
        if kind == "rss":
            entry.description(body)
        else:
            entry.content(body, type="html")
        if post.pictures and kind == "rss":
            entry.enclosure(post.pictures[0].url, "0", "image/jpeg")
        moment = post.status.edited_at or post.status.published
        newest = moment if newest is None or moment > newest else newest
    if newest is not None:
        generator.updated(newest)
    if kind == "rss":
        return bytes(generator.rss_str(pretty=False))
    return bytes(generator.atom_str(pretty=False))


def response(feed: Feed, posts: Sequence[Post], kind: str, *, ai_opt_out: bool = False) -> Response:
    """The feed as an HTTP response (cacheable for a minute)."""
    headers = {"Cache-Control": "public, max-age=60", "X-Content-Type-Options": "nosniff"}
    if ai_opt_out:
        headers.update(AI_OPT_OUT_HEADERS)
    return Response(render_feed(feed, posts, kind), media_type=MEDIA_TYPES[kind], headers=headers)
