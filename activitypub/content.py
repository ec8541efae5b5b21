"""HTML in and out: Mastodon's allowlist for remote content, and plain text to HTML for our posts."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

# Mastodon's sanitizer config (app/lib/sanitize_config.rb, MASTODON_STRICT): these elements, links
# with these schemes, and only microformat / mention / hashtag classes.
ALLOWED_TAGS = {
    "p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u", "i", "em",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "sup", "sub",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "class", "translate"},
    "span": {"class", "translate"},
    # Mastodon 4.4+ marks the "RE: <link>" paragraph of a quote post so clients showing the quote hide it.
    "p": {"class"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
URL_SCHEMES = {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
# Elements removed together with everything inside them.
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "template", "noscript", "svg", "math"}
CLASS_PREFIXES = ("h-", "p-", "u-", "dt-", "e-")
CLASS_NAMES = {"mention", "hashtag", "ellipsis", "invisible", "quote-inline"}

MAX_CONTENT_CHARS = 100_000


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    kept = [c for c in value.split() if c in CLASS_NAMES or c.startswith(CLASS_PREFIXES)]
    return " ".join(kept) or None


def sanitize_html(
    value: str | None, *, max_chars: int = MAX_CONTENT_CHARS, link_rel: str = "nofollow noopener noreferrer"
) -> str:
    """Clean remote HTML to Mastodon's allowlist; scripts, handlers, styles and bad links removed; every
    link gets ``link_rel`` (profile fields add ``me``)."""
    if not value:
        return ""
    if len(value) > max_chars:
        value = value[:max_chars]
    import nh3  # LAZY: loaded by the first HTML cleaned, not by an idle process (benchmarks/memory.py)

    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=URL_SCHEMES,
        link_rel=link_rel,
        strip_comments=True,
    )


def quote_paragraph(label: str, url: str) -> str:
    """The visible "remix of <link>" paragraph for software that does not show quotes."""
    href = html.escape(url, quote=True)
    return f'<p class="quote-inline">{html.escape(label)} <a href="{href}">{html.escape(url)}</a></p>'


def strip_html(value: str | None) -> str:
    """Text of an HTML fragment (for names, summaries shown as text, and search)."""
    if not value:
        return ""
    text = re.sub(r"<br\s*/?>|</p>\s*<p[^>]*>", "\n", value)
    import nh3  # LAZY

    return html.unescape(nh3.clean(text, tags=set())).strip()


HASHTAG_RE = re.compile(r"(?<![\w/#])#(\w{1,100})", re.UNICODE)
MENTION_RE = re.compile(
    r"(?<![\w/@])@([A-Za-z0-9_](?:[A-Za-z0-9_.~-]*[A-Za-z0-9_])?)(?:@([A-Za-z0-9.-]+(?::\d{1,5})?))?"
)
URL_RE = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


@dataclass
class ParsedText:
    """Plain text split into what it links: hashtags and mentions (user, domain or None for local)."""

    hashtags: list[str] = field(default_factory=list)
    mentions: list[tuple[str, str | None]] = field(default_factory=list)


def parse_text(text: str) -> ParsedText:
    """Find the hashtags and @mentions in a post's plain text, in order, without repeats."""
    parsed = ParsedText()
    for match in HASHTAG_RE.finditer(text):
        tag = match.group(1)
        if not tag.isdigit() and tag.lower() not in (t.lower() for t in parsed.hashtags):
            parsed.hashtags.append(tag)
    for match in MENTION_RE.finditer(text):
        user, domain = match.group(1), match.group(2)
        if (user, domain) not in parsed.mentions:
            parsed.mentions.append((user, domain))
    return parsed


def mention_html(url: str, shown: str) -> str:
    """A mention as Mastodon marks it up (an h-card linking to the profile)."""
    return (
        f'<span class="h-card" translate="no"><a href="{html.escape(url)}" '
        f'class="u-url mention">@<span>{html.escape(shown)}</span></a></span>'
    )


def text_to_html(
    text: str,
    *,
    tag_url: Callable[[str], str],
    mention_urls: dict[tuple[str, str | None], tuple[str, str]],
    literal: bool = False,
) -> str:
    """Plain text to Mastodon-style HTML: paragraphs, line breaks, links, #hashtags and @mentions.

    ``mention_urls`` maps (user, domain) to (profile URL, username shown) for mentions that resolved;
    the rest stay text. ``literal`` text gets paragraphs and line breaks only: nothing in it becomes a
    link, a hashtag or a mention (text quoted from someone else, such as a prompt the bot answers).
    """
    token_re = re.compile(f"({URL_RE.pattern})|({HASHTAG_RE.pattern})|({MENTION_RE.pattern})", re.UNICODE)

    def render(segment: str) -> str:
        if literal:
            return html.escape(segment, quote=False)
        out: list[str] = []
        pos = 0
        for match in token_re.finditer(segment):
            out.append(html.escape(segment[pos : match.start()], quote=False))
            pos = match.end()
            whole = match.group(0)
            if match.group(1):
                href = html.escape(whole)
                out.append(f'<a href="{href}" rel="nofollow noopener noreferrer" target="_blank">{href}</a>')
            elif whole.startswith("#") and not whole[1:].isdigit():
                tag = whole[1:]
                out.append(
                    f'<a href="{html.escape(tag_url(tag))}" class="mention hashtag" rel="tag">'
                    f"#<span>{html.escape(tag)}</span></a>"
                )
            elif whole.startswith("@"):
                user, _, domain = whole[1:].partition("@")
                resolved = mention_urls.get((user, domain or None))
                if resolved is None:
                    out.append(html.escape(whole, quote=False))
                else:
                    out.append(mention_html(*resolved))
            else:
                out.append(html.escape(whole, quote=False))
        out.append(html.escape(segment[pos:], quote=False))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join(
        "<p>" + "<br>".join(render(line) for line in para.split("\n")) + "</p>" for para in paragraphs
    )
