"""Publishing: building our activities, recording them, and queueing one delivery per distinct inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.actors import format_time
from activitypub.notes import note_to_ap, tombstone_to_ap
from activitypub.urls import LocalUrls
from activitypub.vocab import CONTEXT, PUBLIC
from storage.models import Activity, Actor, Delivery, Follow, Status, utcnow


def create_of(status: Status, author: Actor, urls: LocalUrls) -> dict[str, Any]:
    """Create{Note} for a new status."""
    return {
        "@context": CONTEXT,
        "id": urls.create_activity(author.username, status.id),
        "type": "Create",
        "actor": author.ap_id,
        "published": format_time(status.published),
        "to": list(status.to),
        "cc": list(status.cc),
        "object": note_to_ap(status, author, urls, with_context=False),
    }


def update_of(status: Status, author: Actor, urls: LocalUrls) -> dict[str, Any]:
    """Update{Note} after an edit; the Note carries ``updated``."""
    return {
        "@context": CONTEXT,
        "id": f"{status.ap_id}#updates/{int((status.edited_at or utcnow()).timestamp() * 1000)}",
        "type": "Update",
        "actor": author.ap_id,
        "published": format_time(status.edited_at or utcnow()),
        "to": list(status.to),
        "cc": list(status.cc),
        "object": note_to_ap(status, author, urls, with_context=False),
    }


def delete_of(status: Status, author: Actor, deleted_at: datetime) -> dict[str, Any]:
    """Delete with a Tombstone, addressed as the Note was."""
    return {
        "@context": CONTEXT,
        "id": f"{status.ap_id}#delete",
        "type": "Delete",
        "actor": author.ap_id,
        "to": list(status.to),
        "cc": list(status.cc),
        "object": tombstone_to_ap(status.ap_id, deleted_at),
    }


def follow_of(ap_id: str, follower: Actor, followee: Actor) -> dict[str, Any]:
    """Follow."""
    return {
        "@context": CONTEXT, "id": ap_id, "type": "Follow",
        "actor": follower.ap_id, "object": followee.ap_id, "to": [followee.ap_id],
    }  # fmt: skip


def response_of(kind: str, ap_id: str, actor: Actor, follow_doc: dict[str, Any], to: str) -> dict[str, Any]:
    """Accept or Reject of a Follow, carrying the Follow itself as object (what Mastodon matches on)."""
    obj = {k: v for k, v in follow_doc.items() if k != "@context"}
    return {"@context": CONTEXT, "id": ap_id, "type": kind, "actor": actor.ap_id, "object": obj, "to": [to]}


def quote_request_of(ap_id: str, actor: Actor, quoted: str, quoting: str, to: str) -> dict[str, Any]:
    """FEP-044f QuoteRequest: may ``quoting`` (our post) quote ``quoted`` (theirs)?"""
    return {"@context": CONTEXT, "id": ap_id, "type": "QuoteRequest", "actor": actor.ap_id,
            "object": quoted, "instrument": quoting, "to": [to]}  # fmt: skip


def like_of(ap_id: str, actor: Actor, status: Status, author: Actor) -> dict[str, Any]:
    """Like of a status, addressed to its author."""
    return {"@context": CONTEXT, "id": ap_id, "type": "Like", "actor": actor.ap_id, "object": status.ap_id,
            "to": [author.ap_id]}  # fmt: skip


def announce_of(boost: Status, actor: Actor, status: Status) -> dict[str, Any]:
    """Announce of a status, addressed as the boost is."""
    return {"@context": CONTEXT, "id": boost.ap_id, "type": "Announce", "actor": actor.ap_id,
            "published": format_time(boost.published), "to": list(boost.to), "cc": list(boost.cc),
            "object": status.ap_id}  # fmt: skip


def undo_of(ap_id: str, actor: Actor, inner: dict[str, Any], to: list[str]) -> dict[str, Any]:
    """Undo of one of our earlier activities."""
    obj = {k: v for k, v in inner.items() if k != "@context"}
    return {"@context": CONTEXT, "id": ap_id, "type": "Undo", "actor": actor.ap_id, "object": obj, "to": to}


def audience_of(doc: dict[str, Any]) -> list[str]:
    """Everything an activity is addressed to."""
    out: list[str] = []
    for key in ("to", "cc", "bto", "bcc", "audience"):
        value = doc.get(key)
        for item in value if isinstance(value, list) else [value] if value else []:
            if isinstance(item, str) and item not in out:
                out.append(item)
    return out


async def record(session: AsyncSession, actor: Actor, doc: dict[str, Any]) -> Activity:
    """Store one of our activities so its id dereferences and deliveries can point at it."""
    obj = doc.get("object")
    object_ap_id = obj if isinstance(obj, str) else obj.get("id") if isinstance(obj, dict) else None
    activity = Activity(
        ap_id=doc["id"], ap_type=doc["type"], actor_id=actor.id, object_ap_id=object_ap_id,
        public=PUBLIC in audience_of(doc), document=doc,
    )  # fmt: skip
    session.add(activity)
    await session.flush()
    return activity


async def inboxes_for(session: AsyncSession, actor: Actor, audience: list[str]) -> list[str]:
    """Distinct remote inboxes for an audience: followers expand to their shared inboxes first."""
    inboxes: dict[str, None] = {}
    if actor.followers_url and actor.followers_url in audience:
        rows = await session.execute(
            select(func.coalesce(Actor.shared_inbox_url, Actor.inbox_url))
            .join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followee_id == actor.id, Follow.state == "accepted", Actor.domain.is_not(None))
            .distinct()
        )
        for (follower_inbox,) in rows:
            if follower_inbox:
                inboxes[follower_inbox] = None
    direct = [a for a in audience if a != PUBLIC]
    if direct:
        direct_rows = await session.execute(
            select(Actor.inbox_url, Actor.shared_inbox_url).where(
                Actor.ap_id.in_(direct), Actor.domain.is_not(None)
            )
        )
        for inbox, shared in direct_rows:
            # A directly addressed actor needs its personal inbox unless its shared inbox is
            # already getting the activity (servers route shared-inbox deliveries by audience).
            if shared and shared in inboxes:
                continue
            if inbox:
                inboxes[inbox] = None
    return list(inboxes)


async def enqueue_deliveries(
    session: AsyncSession, activity: Activity, inboxes: list[str], *, now: datetime | None = None
) -> int:
    """One queued delivery row per inbox, inserted in bulk."""
    now = now or utcnow()
    rows = [
        {
            "activity_id": activity.id,
            "inbox_url": inbox,
            "host": urlsplit(inbox).netloc,
            "state": "queued",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }  # fmt: skip
        for inbox in inboxes
    ]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(Delivery), rows[start : start + 1000])
    return len(rows)


async def publish(
    session: AsyncSession, actor: Actor, doc: dict[str, Any], *, extra_inboxes: list[str] | None = None
) -> Activity:
    """Record an activity and queue its deliveries to everyone it is addressed to."""
    activity = await record(session, actor, doc)
    inboxes = await inboxes_for(session, actor, audience_of(doc))
    for inbox in extra_inboxes or []:
        if inbox not in inboxes:
            inboxes.append(inbox)
    await enqueue_deliveries(session, activity, inboxes)
    return activity
