"""WebFinger (RFC 7033): from a handle such as ``@alice@example.social`` to an actor id.

Mastodon publishes, and expects from others, a JRD whose ``self`` link has type
``application/activity+json`` (https://docs.joinmastodon.org/spec/webfinger/); some servers
use ``application/ld+json; profile="https://www.w3.org/ns/activitystreams"`` instead, which
is equally accepted. Mastodon also checks the round trip the other way
(``acct:<preferredUsername>@<actor host>`` must lead back to the actor id exactly); that check
belongs to the code that serves our own WebFinger.

The scheme is the caller's choice: ``https`` in production, ``http`` for loopback peers
(Fedify's own handle lookup is https-only, so tests do this step themselves).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from .errors import FetchError
from .fetch import Fetcher
from .transport import check_url_scheme

# RFC 7565 acct URI user part: unreserved / sub-delims / pct-encoded (no "@", "/", ":").
_USER = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]+")
# A DNS name or IPv4 literal, with an optional port (loopback peers listen on ephemeral ports).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")

_AS2_MEDIA_TYPES = ("application/activity+json", "application/ld+json")


def parse_handle(handle: str) -> tuple[str, str]:
    """Split ``@user@host``, ``user@host`` or ``acct:user@host`` into (user, host)."""
    text = handle.strip()
    if text[:5].lower() == "acct:":
        text = text[5:]
    text = text.removeprefix("@")
    user, at, host = text.partition("@")
    if not at or not user or not host:
        raise ValueError(f"not a handle: {handle!r} (expected user@host)")
    if not _USER.fullmatch(user):
        raise ValueError(f"invalid user part in handle {handle!r}")
    if not _HOST.fullmatch(host):
        raise ValueError(f"invalid host in handle {handle!r}")
    port = host.rpartition(":")[2] if ":" in host else None
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"invalid port in handle {handle!r}")
    return user, host.lower()


def webfinger_url(user: str, host: str, *, scheme: str = "https") -> str:
    """Return the WebFinger query URL for ``acct:user@host``."""
    if scheme not in ("http", "https"):
        raise ValueError(f"WebFinger scheme must be http or https, not {scheme!r}")
    url = httpx.URL(f"{scheme}://{host}/.well-known/webfinger", params={"resource": f"acct:{user}@{host}"})
    return str(url)


def _is_as2_link(link: Any) -> bool:
    if not isinstance(link, dict) or link.get("rel") != "self" or not isinstance(link.get("href"), str):
        return False
    media_type = link.get("type")
    if not isinstance(media_type, str):
        return False
    base, _, params = media_type.partition(";")
    base = base.strip().lower()
    if base == "application/activity+json":
        return True
    # ld+json counts only with the ActivityStreams profile (RFC 7033 links may carry others).
    return base == "application/ld+json" and "https://www.w3.org/ns/activitystreams" in params


def actor_id_from_jrd(jrd: dict[str, Any]) -> str:
    """Return the href of the JRD's ActivityStreams ``self`` link (FetchError if there is none)."""
    links = jrd.get("links")
    candidates = [link for link in links if _is_as2_link(link)] if isinstance(links, list) else []
    if not candidates:
        raise FetchError(f"WebFinger answer for {jrd.get('subject')!r} has no ActivityStreams self link")
    # Prefer activity+json, the type Mastodon publishes, when both forms are present.
    candidates.sort(key=lambda link: not str(link["type"]).startswith("application/activity+json"))
    href = str(candidates[0]["href"])
    check_url_scheme(href)
    return href


async def resolve_handle(fetcher: Fetcher, handle: str, *, scheme: str = "https") -> str:
    """Look ``handle`` up with WebFinger and return the actor id it names."""
    user, host = parse_handle(handle)
    jrd = await fetcher.fetch_jrd(webfinger_url(user, host, scheme=scheme))
    return actor_id_from_jrd(jrd)
