"""Mastodon API entities (https://docs.joinmastodon.org/entities/): the formats they share (ids are
strings, times ISO 8601 with milliseconds, as Mastodon sends them), and the Account,
CredentialAccount, CustomEmoji and MediaAttachment entities, their counts read for many accounts
at once.

Statuses and notifications are rendered by :mod:`fedigen.api.status_entities`, from what
:mod:`fedigen.api.status_context` loads for a whole page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.content import sanitize_html, strip_html
from fedigen.services import Services
from fedigen.social import emoji as emojis
from fedigen.social import roles
from fedigen.social.media import media_url
from storage.models import AccountStatusCount, Actor, CustomEmoji, Follow, MediaAttachment, User
from storage.records import in_ids
from storage.vocabulary import FollowState


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and Z, as Mastodon writes times (a naive time is taken as UTC).
    ``isoformat`` rather than ``strftime``: a page writes over a hundred of these, and it is faster."""
    if moment is None:
        return None
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def acct(actor: Actor) -> str:
    """``name`` for local accounts, ``name@domain`` for remote ones."""
    return actor.username if actor.domain is None else f"{actor.username}@{actor.domain}"


@dataclass
class AccountStats:
    """Counts shown on an Account."""

    statuses: dict[int, int] = field(default_factory=dict)
    followers: dict[int, int] = field(default_factory=dict)
    following: dict[int, int] = field(default_factory=dict)
    last_status_at: dict[int, datetime] = field(default_factory=dict)
    # The custom emoji of each remote account's name, bio and fields.
    emojis: dict[int, list[CustomEmoji]] = field(default_factory=dict)


async def account_stats(session: AsyncSession, ids: Sequence[int]) -> AccountStats:
    """Statuses, followers and following counts (and custom emoji) for many accounts at once."""
    wanted = list(ids)
    return await session.run_sync(lambda s: account_stats_of(s.connection(), wanted))


def _account_counts() -> Any:
    accepted = Follow.state == FollowState.ACCEPTED
    parts: list[Any] = [
        # Kept by the database (storage.account_counts), read by primary key.
        select(
            literal("s"),
            AccountStatusCount.actor_id,
            AccountStatusCount.statuses,
            AccountStatusCount.last_status_at,
        ).where(in_ids(AccountStatusCount.actor_id)),
        select(literal("r"), Follow.followee_id, func.count(Follow.id), null())
        .where(in_ids(Follow.followee_id), accepted)
        .group_by(Follow.followee_id),
        select(literal("g"), Follow.follower_id, func.count(Follow.id), null())
        .where(in_ids(Follow.follower_id), accepted)
        .group_by(Follow.follower_id),
    ]
    return union_all(*parts)


# The three counts in one query (a round trip each costs more than the counting on SQLite), built once.
_ACCOUNT_COUNTS = _account_counts()


def account_stats_of(
    conn: Connection, ids: Sequence[int], actor_emojis: dict[int, list[CustomEmoji]] | None = None
) -> AccountStats:
    """:func:`account_stats` on a synchronous connection (``actor_emojis``: the accounts' emoji when the
    caller has read them already)."""
    stats = AccountStats()
    if not ids:
        return stats
    stats.emojis = emojis.actor_emojis_of(conn, ids) if actor_emojis is None else actor_emojis
    into = {"r": stats.followers, "g": stats.following}
    for kind, actor_id, count, last in conn.execute(_ACCOUNT_COUNTS, {"ids": list(ids)}):
        if kind == "s":
            stats.statuses[actor_id], stats.last_status_at[actor_id] = count, last
        else:
            into[kind][actor_id] = count
    return stats


def custom_emoji(svc: Services, emoji: CustomEmoji) -> dict[str, Any] | None:
    """The CustomEmoji entity of another server's emoji (never in our picker), or None if not shown."""
    image = emojis.image_of(svc, emoji)
    if image is None:
        return None
    return {"shortcode": emoji.shortcode, "url": image.url, "static_url": image.static_url,
            "visible_in_picker": False, "category": None}  # fmt: skip


def custom_emojis(svc: Services, rows: Iterable[CustomEmoji], *texts: str | None) -> list[dict[str, Any]]:
    """The CustomEmoji entities of the emoji the texts use."""
    return [e for e in (custom_emoji(svc, row) for row in emojis.used_in(rows, *texts)) if e is not None]


def account(svc: Services, actor: Actor, stats: AccountStats | None = None) -> dict[str, Any]:
    """The Account entity."""
    stats = stats or AccountStats()
    avatar = actor.icon_url or svc.urls.avatar(actor.username)
    header = actor.image_url or f"{svc.urls.base}/static/header.png"
    last = stats.last_status_at.get(actor.id)
    entity: dict[str, Any] = {
        "id": str(actor.id),
        "username": actor.username,
        "acct": acct(actor),
        "display_name": actor.display_name or "",
        "locked": actor.locked,
        "bot": actor.ap_type in ("Service", "Application"),
        "discoverable": actor.discoverable,
        "indexable": actor.indexable,
        "group": actor.ap_type == "Group",
        "created_at": iso(actor.published or actor.created_at),
        "note": actor.summary or "",
        "url": actor.url or actor.ap_id,
        "uri": actor.ap_id,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": stats.followers.get(actor.id, 0),
        "following_count": stats.following.get(actor.id, 0),
        "statuses_count": stats.statuses.get(actor.id, 0),
        "last_status_at": last.date().isoformat() if last else None,
        "hide_collections": False,
        "noindex": not actor.indexable,
        "emojis": custom_emojis(svc, stats.emojis.get(actor.id, []), *emojis.actor_texts(actor)),
        "roles": [],
        "fields": [
            # Values are HTML: sanitised here too, whatever wrote them (older rows kept raw text).
            {"name": f.get("name", ""), "value": sanitize_html(f.get("value", "")), "verified_at": None}
            for f in actor.fields or []
            if isinstance(f, dict)
        ],
        "moved": None,
    }
    if actor.suspended_at is not None:  # Mastodon's suspended account: flagged, its profile emptied
        entity.update(suspended=True, display_name="", note="", fields=[], emojis=[], statuses_count=0,
                      followers_count=0, following_count=0)  # fmt: skip
    if actor.silenced_at is not None:
        entity["limited"] = True
    return entity


def _privacy(visibility: str) -> str:
    """A visibility in Mastodon's words (its API calls followers-only "private")."""
    return "private" if visibility == "followers" else visibility


async def credential_account(svc: Services, session: AsyncSession, actor: Actor) -> dict[str, Any]:
    """The CredentialAccount entity (verify_credentials, update_credentials): Account plus ``source``."""
    stats = await account_stats(session, [actor.id])
    entity = account(svc, actor, stats)
    requests = await session.scalar(
        select(func.count(Follow.id)).where(
            Follow.followee_id == actor.id, Follow.state == FollowState.REQUESTED
        )
    )
    user = await session.scalar(select(User).where(User.actor_id == actor.id))
    entity["source"] = {
        "privacy": _privacy(user.default_visibility if user is not None else "public"),
        "sensitive": False,
        "language": actor.default_language,
        "note": strip_html(actor.summary or ""),
        "fields": [
            {
                "name": f.get("name", ""),
                "value": f.get("source") or strip_html(f.get("value", "")),
                "verified_at": None,
            }
            for f in actor.fields or []
            if isinstance(f, dict)
        ],
        "follow_requests_count": int(requests or 0),
        "hide_collections": False,
        "discoverable": actor.discoverable,
        "indexable": actor.indexable,
        # fedigen's privacy settings (docs/privacy.md).
        "ai_training_opt_out": actor.ai_training_opt_out,
        "allow_remixes": actor.allow_remixes,
    }
    entity["role"] = roles.role_entity(user.role if user else None)
    return entity


def media_attachment(svc: Services, media: MediaAttachment) -> dict[str, Any]:
    """The MediaAttachment entity, for local media and for remote media we keep rows of."""

    def local(key: str | None) -> str | None:
        return media_url(svc, key) if key else None

    url = local(media.federation_key) or media.remote_url
    rejected = media.state == "rejected"  # its domain's media is not shown here: a link, as on Mastodon
    meta = dict(media.meta or {})
    meta.pop("federation", None)
    meta.pop("upload_key", None)
    for key in ("moderation", "held_times", "held_until"):  # the classifier's verdict is for moderators
        meta.pop(key, None)
    meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return {
        "id": str(media.id),
        "type": "image" if media.media_type.startswith("image/") and not rejected else "unknown",
        "url": url if media.state != "processing" else None,
        "preview_url": None if rejected else local(media.thumbnail_key) or url,
        "remote_url": media.remote_url if media.original_key is None else None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
    }
