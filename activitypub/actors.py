"""Actor documents: ours as peers read them, and theirs read into our Actor rows."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from activitypub.content import sanitize_html, strip_html
from activitypub.errors import InvalidActivityError
from activitypub.jsonld import id_of, ids_of, type_of
from activitypub.transport import is_public_http_url
from activitypub.urls import LocalUrls
from activitypub.vocab import ACTOR_TYPES, CONTEXT
from storage.models import Actor

# Usernames Bridgy Fed bridges ([A-Za-z0-9_~-], not starting or ending with _ - ~) minus the ~,
# which many apps do not link; we require this of local accounts so every one can be bridged.
USERNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,28}[A-Za-z0-9])?$")


def format_time(value: datetime) -> str:
    """xsd:dateTime in UTC with a Z, as Mastodon writes it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


MIN_YEAR, MAX_YEAR = 1970, 3000


def parse_time(value: Any) -> datetime | None:
    """Read an xsd:dateTime; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # "9999-12-31T23:59:59-14:00" is past the last datetime in UTC
        return None
    # Dates no post can have (year 1 or 9999) would only break sorting and arithmetic: treat as absent.
    return parsed if MIN_YEAR <= parsed.year <= MAX_YEAR else None


IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}


def image_object(url: str) -> dict[str, str]:
    """An Image for an avatar or header, its mediaType read from the file name (our files are named so)."""
    ext = url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
    return {"type": "Image", "mediaType": IMAGE_TYPES.get(ext, "image/png"), "url": url}


def local_actor_to_ap(actor: Actor, urls: LocalUrls) -> dict[str, Any]:
    """The actor document of a local account, with everything Mastodon and Bridgy Fed read."""
    name = actor.username
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor.ap_id,
        "type": actor.ap_type,
        "preferredUsername": name,
        "webfinger": f"{name}@{urls.host}",
        "name": actor.display_name or name,
        "summary": actor.summary,
        "url": urls.profile(name),
        "inbox": urls.inbox(name),
        "outbox": urls.outbox(name),
        "followers": urls.followers(name),
        "following": urls.following(name),
        "featured": urls.featured(name),
        # C2S clients find the media upload and OAuth endpoints here (ActivityPub 4.1, C2S extensions).
        "endpoints": {
            "sharedInbox": urls.shared_inbox,
            "uploadMedia": f"{urls.base}/api/fedigen/upload",
            "oauthAuthorizationEndpoint": f"{urls.base}/oauth/authorize",
            "oauthTokenEndpoint": f"{urls.base}/oauth/token",
        },
        "manuallyApprovesFollowers": actor.locked,
        "discoverable": actor.discoverable,
        "indexable": actor.indexable,
        "aiTrainingOptOut": actor.ai_training_opt_out,
        "allowRemixes": actor.allow_remixes,
        "published": format_time(actor.published or actor.created_at),
        "publicKey": {
            "id": actor.public_key_id or urls.key(name),
            "owner": actor.ap_id,
            "publicKeyPem": actor.public_key_pem,
        },
        "icon": image_object(actor.icon_url or urls.avatar(name)),
        "attachment": [
            {"type": "PropertyValue", "name": f.get("name", ""), "value": sanitize_html(f.get("value", ""))}
            for f in actor.fields or []
        ],
        "alsoKnownAs": list(actor.also_known_as or []),
        "tag": [],
    }
    if actor.image_url:
        doc["image"] = image_object(actor.image_url)
    if actor.moved_to_ap_id:
        doc["movedTo"] = actor.moved_to_ap_id
    return doc


def deleted_actor_to_ap(actor: Actor, urls: LocalUrls) -> dict[str, Any]:
    """What stays of a deleted local account, as Mastodon serves one: its id, name and public key
    (so peers can still verify the account's own Delete), nothing of its profile."""
    name = actor.username
    return {
        "@context": CONTEXT,
        "id": actor.ap_id,
        "type": actor.ap_type,
        "preferredUsername": name,
        "name": "",
        "summary": "",
        "url": urls.profile(name),
        "inbox": urls.inbox(name),
        "outbox": urls.outbox(name),
        "followers": urls.followers(name),
        "following": urls.following(name),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "suspended": True,
        "publicKey": {
            "id": actor.public_key_id or urls.key(name),
            "owner": actor.ap_id,
            "publicKeyPem": actor.public_key_pem,
        },
    }


def instance_actor_to_ap(actor: Actor, urls: LocalUrls) -> dict[str, Any]:
    """The Application actor that signs fetches made for no particular user."""
    return {
        "@context": CONTEXT,
        "id": actor.ap_id,
        "type": "Application",
        "preferredUsername": actor.username,
        "name": actor.display_name or actor.username,
        "url": urls.base + "/about",
        "inbox": actor.ap_id + "/inbox",
        "outbox": actor.ap_id + "/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "published": format_time(actor.published or actor.created_at),
        "publicKey": {
            "id": actor.public_key_id,
            "owner": actor.ap_id,
            "publicKeyPem": actor.public_key_pem,
        },
    }


def _url_of(value: Any) -> str | None:
    """An image's URL from a string, a Link, an Image with url, or a list of those."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("url") or value.get("href")
        return _url_of(inner)
    return None


def _safe_http_url(value: str | None) -> str | None:
    if value and urlsplit(value).scheme in ("http", "https") and urlsplit(value).netloc:
        return value[:2048]
    return None


def _own_key(value: Any, ap_id: str) -> tuple[str | None, str | None]:
    """The actor's own key: owned by it (when an owner is named) and on its origin.

    Anything else is ignored, so one actor's document can never replace another actor's cached key.
    """
    origin = urlsplit(ap_id)[:2]
    for key in value if isinstance(value, list) else [value]:
        if not isinstance(key, dict):
            continue
        key_id, pem, owner = key.get("id"), key.get("publicKeyPem"), id_of(key.get("owner"))
        if not isinstance(key_id, str) or not isinstance(pem, str) or owner not in (None, ap_id):
            continue
        if urlsplit(key_id)[:2] == origin:
            return key_id, pem
    return None, None


def _media_url(value: Any, allow_private: bool) -> str | None:
    url = _safe_http_url(_url_of(value))
    return url if url and (allow_private or is_public_http_url(url)) else None


def remote_actor_fields(
    doc: dict[str, Any], fetched_url: str, *, allow_private: bool = False
) -> dict[str, Any]:
    """Validate a remote actor document and return the Actor column values it gives."""
    ap_id = doc.get("id")
    if not isinstance(ap_id, str) or ap_id != fetched_url.split("#", 1)[0]:
        raise InvalidActivityError("actor id does not match the URL it was fetched from")
    if type_of(doc) not in ACTOR_TYPES:
        raise InvalidActivityError(f"not an actor type: {doc.get('type')!r}")
    username = doc.get("preferredUsername")
    inbox = doc.get("inbox")
    if not isinstance(username, str) or not username or not isinstance(inbox, str):
        raise InvalidActivityError("actor lacks preferredUsername or inbox")
    host = urlsplit(ap_id).netloc
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    key_id, key_pem = _own_key(doc.get("publicKey"), ap_id)
    fields = [
        {"name": strip_html(a.get("name"))[:255], "value": sanitize_html(a.get("value"), max_chars=2048)}
        for a in (doc.get("attachment") or [])[:16]
        if isinstance(a, dict) and a.get("type") == "PropertyValue"
    ]
    return {
        "ap_id": ap_id,
        "ap_type": doc["type"],
        "username": username[:255],
        "domain": host,
        "display_name": strip_html(doc.get("name") if isinstance(doc.get("name"), str) else "")[:255],
        "summary": sanitize_html(
            doc.get("summary") if isinstance(doc.get("summary"), str) else "", max_chars=10_000
        ),
        "url": _safe_http_url(_url_of(doc.get("url"))) or ap_id,
        "inbox_url": _safe_http_url(inbox),
        "shared_inbox_url": _safe_http_url(endpoints.get("sharedInbox")) if endpoints else None,
        "outbox_url": _safe_http_url(id_of(doc.get("outbox"))),
        "followers_url": _safe_http_url(id_of(doc.get("followers"))),
        "following_url": _safe_http_url(id_of(doc.get("following"))),
        "featured_url": _safe_http_url(id_of(doc.get("featured"))),
        "icon_url": _media_url(doc.get("icon"), allow_private),
        "image_url": _media_url(doc.get("image"), allow_private),
        "public_key_id": key_id,
        "public_key_pem": key_pem,
        "locked": bool(doc.get("manuallyApprovesFollowers", False)),
        "discoverable": bool(doc.get("discoverable", False)),
        "indexable": doc.get("indexable") is True,  # absent (or not a boolean): not indexable
        # fedigen's privacy terms: absent means the server states no opt-out and allows remixes.
        "ai_training_opt_out": doc.get("aiTrainingOptOut") is True,
        "allow_remixes": doc.get("allowRemixes") is not False,
        "fields": fields,
        "also_known_as": [u for u in ids_of(doc.get("alsoKnownAs")) if _safe_http_url(u)][:16],
        "moved_to_ap_id": _safe_http_url(id_of(doc.get("movedTo"))),
        "published": parse_time(doc.get("published")),
    }
