"""Publishing: recording our activities and queueing one delivery per distinct inbox.

The activities themselves are built by :mod:`activitypub.activities`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.vocab import PUBLIC
from storage.models import Activity, Actor, Delivery, Follow, utcnow
from storage.vocabulary import FollowState


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
            .where(
                Follow.followee_id == actor.id,
                Follow.state == FollowState.ACCEPTED,
                Actor.domain.is_not(None),
            )
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
