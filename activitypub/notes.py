"""Notes: ours as AS2 documents, and remote ones (Note, Question, Article, Page, Image...) read safely
into :class:`RemoteNote` records; a Question's poll (options, counts, end) both ways."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from activitypub.actors import format_time, parse_time
from activitypub.content import sanitize_html, strip_html
from activitypub.emoji import RemoteEmoji, read_emoji_tags
from activitypub.jsonld import id_of, normalize_audience, type_of
from activitypub.transport import is_public_http_url
from activitypub.urls import LocalUrls
from activitypub.vocab import (
    CONTEXT,
    LD_MEDIA_TYPE,
    NOTE_TYPES,
    PUBLIC,
    TRAINED_ALGORITHMIC_MEDIA,
    visibility_of,
)
from storage.models import Actor, MediaAttachment, Poll, Status
from storage.vocabulary import PUBLIC_VISIBILITIES, Visibility

MAX_ATTACHMENTS = 4
MAX_ALT_CHARS = 1500
MAX_TAGS = 100
MAX_SUMMARY_CHARS = 5_000
IMAGE_MEDIA_PREFIXES = ("image/", "video/", "audio/")
# Remote polls: options kept, characters of an option's title, and the largest count believed.
MAX_POLL_OPTIONS = 100
MAX_POLL_OPTION_CHARS = 500
MAX_POLL_COUNT = 2**31 - 1
# Counts another server reports are believed up to this (Mastodon's MAX_UNTRUSTED_COUNT).
MAX_REMOTE_COUNT = 100_000_000
# A language tag's shape (BCP 47, loosely): "en", "pt-BR", "zh-Hant-TW"; anything else is no language.
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}$")


@dataclass(frozen=True)
class Counts:
    """How often one of our Notes was favourited and boosted: its ``likes`` and ``shares`` totals."""

    likes: int = 0
    shares: int = 0


def note_to_ap(
    status: Status, author: Actor, urls: LocalUrls, *, with_context: bool = True, poll: Poll | None = None,
    counts: Counts | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The AS2 Note of one of our statuses; a Question when it has a ``poll``.

    It names its ``likes`` and ``shares`` collections as Mastodon does, with their ``totalItems`` when
    ``counts`` are given (a new post's are zero; the caller counts for any other).
    """
    doc: dict[str, Any] = {
        "id": status.ap_id,
        "type": "Note",
        "attributedTo": author.ap_id,
        "content": status.content,
        "summary": status.summary or None,
        "sensitive": status.sensitive,
        "published": format_time(status.published),
        "url": status.url or status.ap_id,
        "to": list(status.to),
        "cc": list(status.cc),
        "inReplyTo": status.in_reply_to_ap_id,
        "tag": list(status.tags),
        "attachment": list(status.attachments),
        "replies": None,
    }
    del doc["replies"]
    doc.update(image_extensions(status))
    if "interactionPolicy" in doc and not author.allow_remixes:
        # The author allows no remixes by others: only the author's own quotes are approved, as
        # Mastodon states a "nobody" quote policy.
        doc["interactionPolicy"] = {"canQuote": {"automaticApproval": [author.ap_id]}}
    if poll is not None:
        doc["type"] = "Question"
        doc.update(question_properties(poll))
    if status.language:
        doc["contentMap"] = {status.language: status.content}
    if status.edited_at:
        doc["updated"] = format_time(status.edited_at)
    doc["likes"] = _counted(urls.likes(author.username, status.id), counts.likes if counts else None)
    doc["shares"] = _counted(urls.shares(author.username, status.id), counts.shares if counts else None)
    if with_context:
        doc = {"@context": CONTEXT, **doc}
    return doc


def _counted(ap_id: str, total: int | None) -> dict[str, Any]:
    """A Collection known by its size alone, as Mastodon serves a Note's likes and shares."""
    doc: dict[str, Any] = {"id": ap_id, "type": "Collection"}
    if total is not None:
        doc["totalItems"] = total
    return doc


def counted_collection(ap_id: str, total: int) -> dict[str, Any]:
    """The document served at a Note's ``likes`` or ``shares`` URL."""
    return {"@context": CONTEXT[0], **_counted(ap_id, total)}


def image_extensions(status: Status) -> dict[str, Any]:
    """The properties an image Note adds: provenance, what it remixes (as a quote), who may quote it.

    ``status.extra`` holds ``generation`` (prompt, negative_prompt, backend, model, seed, width,
    height, private) and ``remix_of`` (the parent's id), written by the posting use-case.
    """
    extra = status.extra or {}
    doc: dict[str, Any] = {}
    generation = extra.get("generation")
    if isinstance(generation, dict):
        block: dict[str, Any] = {"type": "Generation", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
        if generation.get("private"):
            block["promptPrivate"] = True
        else:
            block["prompt"] = generation.get("prompt", "")
            if generation.get("negative_prompt"):
                block["negativePrompt"] = generation["negative_prompt"]
            if generation.get("seed") is not None:
                block["seed"] = generation["seed"]
        for key in ("backend", "model", "width", "height"):
            if generation.get(key):
                block[key] = generation[key]
        if extra.get("remix_of"):
            block["remixOf"] = extra["remix_of"]
        doc["generation"] = block
    parent = extra.get("remix_of")
    if isinstance(parent, str):
        # quoteUrl / _misskey_quote for Misskey, Akkoma and older software, always. FEP-044f's
        # ``quote`` only with a QuoteAuthorization, or while the parent's server (one that answers
        # QuoteRequests) considers ours: Mastodon 4.4+ shows a ``quote`` without a stamp as a pending
        # quote and hides the visible "Remix of" fallback, so after a Reject or no answer it goes
        # (FEDERATION.md, "Remixes as quotes").
        doc["quoteUrl"] = parent
        doc["_misskey_quote"] = parent
        if extra.get("quote_authorization"):
            doc["quote"] = parent
            doc["quoteAuthorization"] = extra["quote_authorization"]
        elif extra.get("quote_state") == "pending":
            doc["quote"] = parent
    if status.visibility in PUBLIC_VISIBILITIES:
        doc["interactionPolicy"] = {"canQuote": {"automaticApproval": [PUBLIC]}}
    return doc


def question_properties(poll: Poll, now: datetime | None = None) -> dict[str, Any]:
    """A Question's poll as Mastodon serves it: ``oneOf`` (single choice) or ``anyOf`` (multiple), each
    option a Note whose ``name`` is its title and ``replies.totalItems`` its votes (left out while the
    author hides the totals), ``endTime``, ``closed`` once ended, and ``votersCount``."""
    now = now or datetime.now(UTC)
    ended = poll.expires_at is not None and poll.expires_at <= now
    shown = ended or not poll.hide_totals
    tallies = list(poll.tallies or [])
    options = []
    for index, title in enumerate(poll.options or []):
        replies: dict[str, Any] = {"type": "Collection"}
        if shown:
            replies["totalItems"] = int(tallies[index]) if index < len(tallies) else 0
        options.append({"type": "Note", "name": title, "replies": replies})
    doc: dict[str, Any] = {"anyOf" if poll.multiple else "oneOf": options}
    if poll.expires_at is not None:
        doc["endTime"] = format_time(poll.expires_at)
        if ended:
            doc["closed"] = format_time(poll.expires_at)
    if poll.voters_count is not None:
        doc["votersCount"] = poll.voters_count
    return doc


def quote_link(parent_ap_id: str) -> dict[str, Any]:
    """The FEP-e232 Link tag naming a quoted (remixed) object."""
    return {
        "type": "Link",
        "mediaType": LD_MEDIA_TYPE,
        "href": parent_ap_id,
        "name": f"RE: {parent_ap_id}",
        "rel": "https://misskey-hub.net/ns#_misskey_quote",
    }


def attachment_to_ap(media: MediaAttachment, url: str) -> dict[str, Any]:
    """The AS2 Image of one of our media rows served at ``url``, as Mastodon and Bridgy Fed read it."""
    federation = media.meta.get("federation", {}) if media.meta else {}
    doc: dict[str, Any] = {
        "type": "Image",
        "mediaType": media.media_type,
        "url": url,
        # Mastodon reads alt text from summary, Bridgy Fed only from name: set both.
        "name": media.description or None,
        "summary": media.description or None,
        "width": federation.get("width", media.width),
        "height": federation.get("height", media.height),
        "blurhash": media.blurhash,
        "focalPoint": [media.focus_x, media.focus_y],
    }
    if media.ai_generated:
        doc["digitalSourceType"] = TRAINED_ALGORITHMIC_MEDIA
    return {k: v for k, v in doc.items() if v is not None}


def tombstone_to_ap(ap_id: str, deleted: Any = None) -> dict[str, Any]:
    """A Tombstone standing in for a deleted Note."""
    doc: dict[str, Any] = {"id": ap_id, "type": "Tombstone", "formerType": "Note"}
    if deleted is not None:
        doc["deleted"] = format_time(deleted)
    return doc


def _safe_url(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str | dict)), None)
    if isinstance(value, dict):
        value = value.get("href") or value.get("url")
    if not isinstance(value, str) or len(value) > 2048:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def _attachment(item: Any, allow_private: bool) -> dict[str, Any] | None:
    """One remote attachment kept for timelines; unsafe URLs dropped (docs/refusals.md case 26)."""
    if not isinstance(item, dict) or item.get("type") not in ("Image", "Document", "Video", "Audio", "Link"):
        return None
    url = _safe_url(item.get("url") or item.get("href"))
    if url is None or not (allow_private or is_public_http_url(url)):
        return None
    media_type = item.get("mediaType") if isinstance(item.get("mediaType"), str) else None
    if media_type and not media_type.startswith(IMAGE_MEDIA_PREFIXES):
        return None
    alt = item.get("summary") or item.get("name")
    kept: dict[str, Any] = {"type": item["type"], "url": url}
    if media_type:
        kept["mediaType"] = media_type
    if isinstance(alt, str) and alt:
        kept["name"] = strip_html(alt)[:MAX_ALT_CHARS]
    for key in ("width", "height"):
        if isinstance(item.get(key), int) and 0 < item[key] < 100_000:
            kept[key] = item[key]
    if isinstance(item.get("blurhash"), str) and len(item["blurhash"]) <= 100:
        kept["blurhash"] = item["blurhash"]
    focal = item.get("focalPoint")
    if isinstance(focal, list) and len(focal) == 2 and all(isinstance(v, int | float) for v in focal):
        kept["focalPoint"] = [max(-1.0, min(1.0, float(v))) for v in focal]
    return kept


def _tags(value: Any) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Kept tag objects, hashtag names (lower-case, no '#') and mentioned actor ids."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    kept: list[dict[str, Any]] = []
    hashtags: list[str] = []
    mentions: list[str] = []
    for item in items[:MAX_TAGS]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        if item.get("type") == "Hashtag":
            name = item["name"].lstrip("#").strip().lower()[:100]
            if name and name not in hashtags:
                hashtags.append(name)
                kept.append({"type": "Hashtag", "name": "#" + name, "href": _safe_url(item.get("href"))})
        elif item.get("type") == "Mention":
            href = _safe_url(item.get("href"))
            if href and href not in mentions:
                mentions.append(href)
                kept.append({"type": "Mention", "name": item["name"][:300], "href": href})
    return kept, hashtags, mentions


@dataclass(frozen=True)
class RemotePoll:
    """A remote Question's poll, bounded: option titles (plain text), votes per option, end, voters."""

    options: list[str]
    tallies: list[int]
    multiple: bool
    expires_at: datetime | None
    voters_count: int | None


def _count(value: Any) -> int | None:
    """A non-negative count as JSON gives it (3, or 3.0 from JavaScript), bounded; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return min(MAX_POLL_COUNT, int(value))


def read_poll(doc: dict[str, Any], now: datetime | None = None) -> RemotePoll | None:
    """A Question's poll as Mastodon reads it (app/lib/activitypub/parser/poll_parser.rb), or None.

    ``anyOf`` means multiple choice, ``oneOf`` single; each option's title is its ``name`` (or
    ``content``) and its votes ``replies.totalItems`` (Misskey also sends ``_misskey_votes``). The end:
    ``closed`` as a date (Pleroma puts the end time there, past or future), ``closed: true`` (ended
    now), or else ``endTime``.
    """
    if type_of(doc) != "Question":
        return None
    multiple = isinstance(doc.get("anyOf"), list)
    items = doc.get("anyOf") if multiple else doc.get("oneOf")
    if not isinstance(items, list):
        return None
    options: list[str] = []
    tallies: list[int] = []
    for item in items[:MAX_POLL_OPTIONS]:
        if not isinstance(item, dict):
            continue
        title = item.get("name") or item.get("content")
        title = strip_html(title)[:MAX_POLL_OPTION_CHARS].strip() if isinstance(title, str) else ""
        if not title:
            continue
        replies = item.get("replies")
        votes = _count(replies.get("totalItems")) if isinstance(replies, dict) else None
        options.append(title)
        tallies.append(votes if votes is not None else _count(item.get("_misskey_votes")) or 0)
    if not options:
        return None
    closed = doc.get("closed")
    if isinstance(closed, str):
        expires_at = parse_time(closed)
    elif closed is not None and closed is not False:
        expires_at = now or datetime.now(UTC)
    else:
        expires_at = parse_time(doc.get("endTime"))
    return RemotePoll(options=options, tallies=tallies, multiple=multiple, expires_at=expires_at,
                      voters_count=_count(doc.get("votersCount")))  # fmt: skip


@dataclass(frozen=True)
class RemoteNote:
    """A remote Note-like object, sanitised and bounded: what a status row is made of."""

    ap_id: str
    ap_type: str
    url: str
    content: str  # sanitised HTML
    summary: str  # the content warning, plain text
    sensitive: bool
    visibility: Visibility
    language: str | None
    in_reply_to_ap_id: str | None
    to: list[str]
    cc: list[str]
    tags: list[dict[str, Any]]  # kept Hashtag and Mention objects
    attachments: list[dict[str, Any]]
    published: datetime | None
    edited_at: datetime | None
    generation: dict[str, Any]  # a fedigen Note's provenance block, {} for anyone else's
    quote_of: str | None  # what it quotes: for an image post with provenance, what it remixes
    hashtags: list[str]  # lower-case, without '#'
    mentions: list[str]  # actor ids
    # Whether its server answers FEP-044f QuoteRequests: it states who may quote it (interactionPolicy).
    quotable: bool = False
    emojis: tuple[RemoteEmoji, ...] = ()  # the custom emoji its Emoji tags name
    name: str = ""  # the object's own name, plain text (a poll vote's choice)
    poll: RemotePoll | None = None  # a Question's options, counts and end
    # What its server says it counts: ``likes`` and ``shares`` ``totalItems`` (None when not said).
    likes_count: int | None = None
    shares_count: int | None = None

    @property
    def extra(self) -> dict[str, Any]:
        """The status row's ``extra``: provenance and the remixed or quoted post."""
        extra: dict[str, Any] = {}
        if self.generation:
            extra["generation"] = self.generation
        if self.quote_of:
            extra["remix_of" if self.generation else "quote_of"] = self.quote_of
        if self.quotable:
            extra["fep044f"] = True
        return extra


def read_note(doc: dict[str, Any], author: Actor, *, allow_private: bool = False) -> RemoteNote:
    """A remote Note-like object as a :class:`RemoteNote`, sanitised and bounded (refusal cases 25, 29)."""
    if type_of(doc) not in NOTE_TYPES:
        raise ValueError(f"not a note type: {doc.get('type')!r}")
    to = normalize_audience(doc.get("to"))
    cc = normalize_audience(doc.get("cc"))
    content = doc.get("content")
    if not isinstance(content, str):
        content_map = doc.get("contentMap")
        content = (
            next(iter(content_map.values()), "") if isinstance(content_map, dict) and content_map else ""
        )
    name = doc.get("name")
    if doc.get("type") in ("Article", "Page") and isinstance(name, str) and name:
        # Mastodon shows the title of long-form posts above a link, not their whole body.
        content = f"<p>{sanitize_html(name, max_chars=500)}</p>{content}"
    summary = doc.get("summary")
    tags, hashtags, mentions = _tags(doc.get("tag"))
    items = ids_list(doc.get("attachment"))[:100]
    attachments = [a for a in (_attachment(i, allow_private) for i in items) if a][:MAX_ATTACHMENTS]
    return RemoteNote(
        ap_id=doc["id"], ap_type=doc["type"], url=_safe_url(doc.get("url")) or doc["id"],
        content=sanitize_html(content),
        summary=_content_warning(summary),
        sensitive=bool(doc.get("sensitive", False)),
        visibility=visibility_of(to, cc, author.followers_url), language=language_of(doc),
        in_reply_to_ap_id=id_of(doc.get("inReplyTo")), to=to[:1000], cc=cc[:1000], tags=tags,
        attachments=attachments, published=parse_time(doc.get("published")),
        edited_at=parse_time(doc.get("updated")), generation=_remote_generation(doc.get("generation")),
        quote_of=quoted_id(doc), hashtags=hashtags, mentions=mentions, quotable=_states_quote_policy(doc),
        emojis=tuple(read_emoji_tags(doc.get("tag"), allow_private=allow_private)),
        name=strip_html(name)[:MAX_POLL_OPTION_CHARS].strip() if isinstance(name, str) else "",
        poll=read_poll(doc),
        likes_count=total_items(doc.get("likes")), shares_count=total_items(doc.get("shares")),
    )  # fmt: skip


# Characters that print nothing. Misskey sends a lone U+200B as ``summary`` for a note whose content
# warning is empty (its renderNote: ``note.cw === '' ? String.fromCharCode(0x200B) : note.cw``).
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


def _content_warning(summary: Any) -> str:
    """A Note's ``summary`` as a content warning; one that shows nothing counts as none."""
    if not isinstance(summary, str):
        return ""
    text = strip_html(summary)[:MAX_SUMMARY_CHARS]
    return text if text.strip(_INVISIBLE + " \t\r\n\xa0") else ""


def _states_quote_policy(doc: dict[str, Any]) -> bool:
    policy = doc.get("interactionPolicy")
    return isinstance(policy, dict) and isinstance(policy.get("canQuote"), dict)


def language_of(doc: dict[str, Any]) -> str | None:
    """A post's language as Mastodon reads it: the first key of its ``contentMap`` (else ``nameMap``,
    ``summaryMap``), when it has the shape of a language tag."""
    for key in ("contentMap", "nameMap", "summaryMap"):
        value = doc.get(key)
        if isinstance(value, dict) and value:
            first = next(iter(value))
            return first if isinstance(first, str) and LANGUAGE_TAG.match(first) else None
    return None


def total_items(value: Any) -> int | None:
    """The ``totalItems`` of an embedded collection (a Note's ``likes`` or ``shares``), bounded; None if
    absent."""
    total = value.get("totalItems") if isinstance(value, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        return None
    return min(total, MAX_REMOTE_COUNT)


def quoted_id(doc: dict[str, Any]) -> str | None:
    """What a Note quotes: FEP-044f ``quote``, then quoteUrl / quoteUri / _misskey_quote, then a Link tag."""
    for key in ("quote", "quoteUrl", "quoteUri", "_misskey_quote"):
        value = _safe_url(doc.get(key))
        if value:
            return value
    tags = doc.get("tag")
    for tag in tags if isinstance(tags, list) else [tags]:
        if isinstance(tag, dict) and tag.get("type") == "Link" and "quote" in str(tag.get("rel", "")):
            href = _safe_url(tag.get("href"))
            if href:
                return href
    return None


def _remote_generation(value: Any) -> dict[str, Any]:
    """A remote fedigen Note's provenance block, bounded; {} when absent or malformed."""
    if not isinstance(value, dict):
        return {}
    kept: dict[str, Any] = {"private": bool(value.get("promptPrivate"))}
    for key, name, limit in (("prompt", "prompt", 2000), ("negativePrompt", "negative_prompt", 2000),
                             ("backend", "backend", 100), ("model", "model", 200)):  # fmt: skip
        if isinstance(value.get(key), str):
            kept[name] = strip_html(value[key])[:limit]
    for key in ("seed", "width", "height"):
        if isinstance(value.get(key), int) and not isinstance(value.get(key), bool):
            kept[key] = value[key]
    return kept


def ids_list(value: Any) -> list[Any]:
    """A property that may be one item or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
