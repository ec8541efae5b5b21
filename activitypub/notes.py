"""Notes: ours as AS2 documents, and remote ones (Note, Question, Article, Page, Image...) read safely."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from activitypub.actors import format_time, parse_time
from activitypub.content import sanitize_html, strip_html
from activitypub.jsonld import id_of, normalize_audience
from activitypub.transport import is_public_http_url
from activitypub.urls import LocalUrls
from activitypub.vocab import CONTEXT, NOTE_TYPES, visibility_of
from storage.models import Actor, Status

MAX_ATTACHMENTS = 4
MAX_ALT_CHARS = 1500
MAX_TAGS = 100
MAX_SUMMARY_CHARS = 5_000
IMAGE_MEDIA_PREFIXES = ("image/", "video/", "audio/")


def note_to_ap(
    status: Status, author: Actor, urls: LocalUrls, *, with_context: bool = True
) -> dict[str, Any]:
    """The AS2 Note of one of our statuses."""
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
    if status.language:
        doc["contentMap"] = {status.language: status.content}
    if status.edited_at:
        doc["updated"] = format_time(status.edited_at)
    if with_context:
        doc = {"@context": CONTEXT, **doc}
    return doc


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
    """One remote attachment kept for timelines; unsafe URLs dropped (INTEROP.md case 26)."""
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


def remote_note_fields(doc: dict[str, Any], author: Actor, *, allow_private: bool = False) -> dict[str, Any]:
    """Status column values from a remote Note-like object, sanitised and bounded (INTEROP.md 25, 29)."""
    if doc.get("type") not in NOTE_TYPES:
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
    in_reply_to = id_of(doc.get("inReplyTo"))
    language = None
    if isinstance(doc.get("contentMap"), dict) and doc["contentMap"]:
        language = str(next(iter(doc["contentMap"])))[:16]
    return {
        "ap_id": doc["id"],
        "ap_type": doc["type"],
        "url": _safe_url(doc.get("url")) or doc["id"],
        "content": sanitize_html(content),
        "summary": strip_html(summary)[:MAX_SUMMARY_CHARS] if isinstance(summary, str) else "",
        "sensitive": bool(doc.get("sensitive", False)),
        "visibility": visibility_of(to, cc, author.followers_url),
        "language": language,
        "in_reply_to_ap_id": in_reply_to,
        "to": to[:1000],
        "cc": cc[:1000],
        "tags": tags,
        "attachments": attachments,
        "published": parse_time(doc.get("published")),
        "edited_at": parse_time(doc.get("updated")),
        "_hashtags": hashtags,
        "_mentions": mentions,
    }


def ids_list(value: Any) -> list[Any]:
    """A property that may be one item or a list, as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
