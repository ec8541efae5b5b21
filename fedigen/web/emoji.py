"""Custom emoji on the pages: ``:shortcode:`` shown as a small picture, only for the emoji a post or
account was sent with, and only once our copy of the image exists.

Posts and bios are stored sanitized (:func:`activitypub.content.sanitize_html`); the replacement
happens after, only in the text between tags, never inside a tag or an attribute, and writes an
``<img>`` whose every attribute is escaped: the shortcode (``[A-Za-z0-9_]+``) as ``alt`` and
``title``, and our copy's URL as ``src``. Tags are copied as they are.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from html.parser import HTMLParser

from markupsafe import Markup

from activitypub.emoji import SCAN_RE

EMOJI_SIZE = 20  # pixels high; the stylesheet sets 1.25em, this is the size without it


def emoji_img(shortcode: str, url: str) -> str:
    """The ``<img>`` of one emoji, every attribute escaped."""
    code = html.escape(f":{shortcode}:", quote=True)
    return (
        f'<img class="emoji" src="{html.escape(url, quote=True)}" alt="{code}" title="{code}" '
        f'height="{EMOJI_SIZE}" draggable="false" loading="lazy">'
    )


def _replace(text: str, images: Mapping[str, str]) -> str:
    """Escaped ``text`` with each known ``:shortcode:`` as its picture."""
    out, last = [], 0
    for match in SCAN_RE.finditer(text):
        url = images.get(match.group(1))
        if url is None:
            continue
        out += [html.escape(text[last : match.start()], quote=False), emoji_img(match.group(1), url)]
        last = match.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


def emojify_text(text: str | None, images: Mapping[str, str]) -> Markup:
    """Plain text (a display name, a content warning) as HTML with its emoji shown."""
    return Markup(_replace(text or "", images))


class _Emojifier(HTMLParser):
    """Copies sanitized HTML, tags as they are, replacing shortcodes in the text between them."""

    def __init__(self, images: Mapping[str, str]) -> None:
        super().__init__(convert_charrefs=False)
        self.images = images
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(_replace(data, self.images))

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")


def emojify_html(content: str | None, images: Mapping[str, str]) -> Markup:
    """Stored (sanitized) HTML of a post or bio with its emoji shown."""
    if not images or ":" not in (content or ""):
        return Markup(content or "")
    parser = _Emojifier(images)
    parser.feed(content or "")
    parser.close()
    return Markup("".join(parser.out))
