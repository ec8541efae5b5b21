"""What is trending: Explore's image posts and hashtags, ranked by a documented rule (docs/web.md).

A public post published within ``[trends] window_days`` scores

    (1 + likes * likes_weight + boosts * boosts_weight + remixes * remixes_weight
       + replies * replies_weight) * 0.5 ** (age_hours / half_life_hours)

with the likes, boosts, remixes and replies this server knows of (its own records, never the counts a
remote server claims, which anyone could inflate). The 1 lets a new post without any engagement still
be listed, newest first; each half-life halves a post's score, so a day-old post needs twice the
engagement of a new one to stay level (the ``Hacker News`` idea, with a half-life instead of a power
of the age). A hashtag scores the sum of the scores of the posts carrying it.

Only what logged-out visitors could see is ranked (public posts of accounts neither suspended nor
silenced, from domains neither suspended nor silenced), minus what the viewer blocked or muted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fedigen.config import TrendsSettings
from fedigen.social.timelines import public_query, without_blocked
from storage.models import Favourite, Remix, Status, StatusTag, utcnow

# The newest public posts of the window that are ranked at most (a bound on the work of one page).
MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class Engagement:
    """What happened to one post, as this server knows it."""

    likes: int = 0
    boosts: int = 0
    remixes: int = 0
    replies: int = 0


@dataclass(frozen=True)
class Ranked:
    """A post with its score."""

    status: Status
    score: float
    engagement: Engagement


@dataclass(frozen=True)
class TagTrend:
    """A hashtag with its score, and how many posts and accounts used it in the window."""

    name: str
    score: float
    posts: int
    accounts: int


def score(engagement: Engagement, age_hours: float, weights: TrendsSettings) -> float:
    """The rule (module docstring) for one post ``age_hours`` old."""
    raw = (
        1.0
        + engagement.likes * weights.likes_weight
        + engagement.boosts * weights.boosts_weight
        + engagement.remixes * weights.remixes_weight
        + engagement.replies * weights.replies_weight
    )
    return float(raw * 0.5 ** (max(age_hours, 0.0) / weights.half_life_hours))


async def _grouped(session: AsyncSession, query: Any) -> dict[Any, int]:
    return {key: int(count) for key, count in await session.execute(query)}


@dataclass(frozen=True)
class Candidate:
    """The little of a post that ranking needs (whole rows are loaded only for the page shown)."""

    id: int
    ap_id: str
    actor_id: int
    published: datetime


async def engagement_of(
    session: AsyncSession, statuses: Sequence[Status | Candidate]
) -> dict[int, Engagement]:
    """The likes, live boosts, live replies and live remixes of each post (four grouped queries)."""
    ids = [s.id for s in statuses]
    if not ids:
        return {}
    likes = await _grouped(
        session,
        select(Favourite.status_id, func.count())
        .where(Favourite.status_id.in_(ids))
        .group_by(Favourite.status_id),
    )
    boosts = await _grouped(
        session,
        select(Status.reblog_of_id, func.count())
        .where(Status.reblog_of_id.in_(ids), Status.deleted_at.is_(None))
        .group_by(Status.reblog_of_id),
    )
    replies = await _grouped(
        session,
        select(Status.in_reply_to_id, func.count())
        .where(Status.in_reply_to_id.in_(ids), Status.deleted_at.is_(None))
        .group_by(Status.in_reply_to_id),
    )
    child = aliased(Status)
    by_ap_id = {s.ap_id: s.id for s in statuses}
    remixed = await _grouped(
        session,
        select(Remix.parent_ap_id, func.count())
        .outerjoin(child, child.id == Remix.child_status_id)
        .where(Remix.parent_ap_id.in_(list(by_ap_id)), or_(child.id.is_(None), child.deleted_at.is_(None)))
        .group_by(Remix.parent_ap_id),
    )
    remixes = {by_ap_id[ap_id]: count for ap_id, count in remixed.items()}
    return {
        i: Engagement(likes.get(i, 0), boosts.get(i, 0), remixes.get(i, 0), replies.get(i, 0)) for i in ids
    }


async def _candidates(
    session: AsyncSession, weights: TrendsSettings, viewer_id: int | None, *, only_media: bool, now: datetime
) -> list[Candidate]:
    since = now - timedelta(days=weights.window_days)
    query = without_blocked(public_query(only_media=only_media), viewer_id)
    query = query.where(Status.published >= since).order_by(Status.id.desc()).limit(MAX_CANDIDATES)
    columns = query.with_only_columns(Status.id, Status.ap_id, Status.actor_id, Status.published)
    return [Candidate(*row) for row in await session.execute(columns)]


@dataclass(frozen=True)
class _Scored:
    post: Candidate
    score: float
    engagement: Engagement


def _ranked(candidates: Sequence[Candidate], found: dict[int, Engagement], weights: TrendsSettings,
            now: datetime) -> list[_Scored]:  # fmt: skip
    ranked = [
        _Scored(c, score(found[c.id], (now - c.published).total_seconds() / 3600, weights), found[c.id])
        for c in candidates
    ]
    ranked.sort(key=lambda r: (-r.score, -r.post.id))
    return ranked


async def trending_posts(
    session: AsyncSession,
    weights: TrendsSettings,
    *,
    viewer_id: int | None = None,
    offset: int = 0,
    limit: int = 30,
    now: datetime | None = None,
) -> list[Ranked]:
    """Public image posts of the window, best score first (ties: newest first)."""
    now = now or utcnow()
    candidates = await _candidates(session, weights, viewer_id, only_media=True, now=now)
    shown = _ranked(candidates, await engagement_of(session, candidates), weights, now)[
        offset : offset + limit
    ]
    if not shown:
        return []
    rows = {
        s.id: s
        for s in await session.scalars(select(Status).where(Status.id.in_([r.post.id for r in shown])))
    }
    return [Ranked(rows[r.post.id], r.score, r.engagement) for r in shown if r.post.id in rows]


async def trending_tags(
    session: AsyncSession,
    weights: TrendsSettings,
    *,
    viewer_id: int | None = None,
    limit: int = 30,
    now: datetime | None = None,
) -> list[TagTrend]:
    """Hashtags of the window's public posts, by the sum of their posts' scores."""
    now = now or utcnow()
    candidates = await _candidates(session, weights, viewer_id, only_media=False, now=now)
    if not candidates:
        return []
    ranked = {
        r.post.id: r for r in _ranked(candidates, await engagement_of(session, candidates), weights, now)
    }
    rows = await session.execute(
        select(StatusTag.name, StatusTag.status_id).where(StatusTag.status_id.in_(list(ranked)))
    )
    scores: dict[str, float] = defaultdict(float)
    posts: dict[str, set[int]] = defaultdict(set)
    accounts: dict[str, set[int]] = defaultdict(set)
    for name, status_id in rows:
        if status_id in posts[name]:
            continue
        entry = ranked[status_id]
        scores[name] += entry.score
        posts[name].add(status_id)
        accounts[name].add(entry.post.actor_id)
    trends = [TagTrend(name, scores[name], len(posts[name]), len(accounts[name])) for name in scores]
    trends.sort(key=lambda t: (-t.score, t.name))
    return trends[:limit]
