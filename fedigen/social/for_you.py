"""The "For you" feed: recent public posts from the whole known network, ranked by the viewer's own
signals, each with the reason it is there.

Everything is read from this instance's database; nothing about the viewer is sent anywhere and
nothing is stored: the ranking is computed when the page is asked for.

The rule (docs/web.md, "For you"):

- candidates: the newest ``CANDIDATES`` public posts (not boosts, not deleted) of the last
  ``WINDOW``, from any server, except the viewer's own, posts the viewer already liked, boosted or
  bookmarked, and anything the viewer hid: blocked or muted accounts, blocked domains, suspended
  or limited accounts and silenced or suspended domains (as the public timeline leaves them out);
  posts a "hide" filter matches are left out when the page is rendered;
- each candidate scores the sum of its signals:

  ======================================================== ========================================
  signal                                                   points
  ======================================================== ========================================
  the viewer follows its author                            ``FOLLOWS_AUTHOR`` (4)
  it carries a hashtag the viewer follows                  ``FOLLOWS_TAG`` (3) per tag
  the viewer liked, boosted, replied to or bookmarked      ``ENGAGED_AUTHOR`` (1) per post, at most
  posts by its author (last ``WINDOW`` * 6)                ``ENGAGED_AUTHOR_CAP`` (5)
  the viewer engaged with posts carrying one of its tags   ``ENGAGED_TAG`` (0.5) per post, at most
                                                           ``ENGAGED_TAG_CAP`` (3)
  the viewer remixed a post by its author                  ``REMIXED_AUTHOR`` (3)
  it is a remix of the viewer's post, or of a post the     ``REMIX_FAMILY`` (3)
  viewer remixed
  it has images                                            ``HAS_IMAGES`` (0.5)
  its likes, boosts and remixes                            ``POPULARITY`` * log2(1 + n)
  a "warn" filter of the viewer's matches it               ``FILTERED`` (-3)
  ======================================================== ========================================

- the score is then divided by ``(1 + age in hours / HALF_DAY_HOURS) ** DECAY``, so that a strong
  signal keeps a post up for a day or two but not a week; ties go to the newer post.

The reason shown is the strongest personal signal ("because you follow #seascape", "because you liked
3 posts by @bob", "because you remixed a post by @bob"), else "popular on the network", else "new on
the network".
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.social import tags, timelines
from fedigen.social.visibility import followed_by
from storage.clients import Bookmark
from storage.models import Actor, Favourite, Remix, Status, StatusTag, utcnow

CANDIDATES = 300
WINDOW = timedelta(days=14)
FOLLOWS_AUTHOR = 4.0
FOLLOWS_TAG = 3.0
ENGAGED_AUTHOR = 1.0
ENGAGED_AUTHOR_CAP = 5.0
ENGAGED_TAG = 0.5
ENGAGED_TAG_CAP = 3.0
REMIXED_AUTHOR = 3.0
REMIX_FAMILY = 3.0
HAS_IMAGES = 0.5
POPULARITY = 0.5
FILTERED = -3.0
HALF_DAY_HOURS = 12.0
DECAY = 0.5

# How each kind of engagement is said in a reason, by the kind's key.
VERBS = {"favourite": "liked", "reblog": "boosted", "reply": "replied to", "bookmark": "bookmarked"}


@dataclass
class Ranked:
    """A candidate with its score and the reasons it scored (strongest first)."""

    status: Status
    score: float = 0.0
    reasons: list[tuple[float, str]] = field(default_factory=list)

    def add(self, points: float, reason: str | None = None) -> None:
        self.score += points
        if reason is not None and points > 0:
            self.reasons.append((points, reason))

    @property
    def reason(self) -> str:
        """The reason shown with the post."""
        if self.reasons:
            return max(self.reasons, key=lambda r: r[0])[1]
        return "new on the network"


@dataclass
class Signals:
    """What the viewer's own activity says, read in a few queries."""

    followed_authors: set[int] = field(default_factory=set)
    followed_tags: set[str] = field(default_factory=set)
    # author id -> kind -> how many of their posts the viewer engaged with that way
    engaged_authors: dict[int, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    engaged_tags: Counter[str] = field(default_factory=Counter)
    remixed_authors: set[int] = field(default_factory=set)
    # ActivityPub ids of the viewer's own posts and of the posts the viewer remixed
    own_ap_ids: set[str] = field(default_factory=set)
    remixed_ap_ids: set[str] = field(default_factory=set)
    engaged_status_ids: set[int] = field(default_factory=set)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def signals(session: AsyncSession, viewer_id: int, now: datetime) -> Signals:
    """The viewer's follows, engagement and remixes."""
    found = Signals()
    found.followed_authors = set(await session.scalars(followed_by(viewer_id)))
    found.followed_tags = {t.lower() for t in await tags.followed_names(session, viewer_id)}
    since = now - WINDOW * 6
    engaged: list[tuple[str, Any]] = [
        ("favourite", select(Favourite.status_id).where(Favourite.actor_id == viewer_id,
                                                         Favourite.created_at > since)),
        ("bookmark", select(Bookmark.status_id).where(Bookmark.account_id == viewer_id)),
        ("reblog", select(Status.reblog_of_id).where(Status.actor_id == viewer_id,
                                                      Status.reblog_of_id.is_not(None),
                                                      Status.deleted_at.is_(None), Status.published > since)),
        ("reply", select(Status.in_reply_to_id).where(Status.actor_id == viewer_id,
                                                      Status.in_reply_to_id.is_not(None),
                                                      Status.deleted_at.is_(None), Status.published > since)),
    ]  # fmt: skip
    by_kind: dict[str, set[int]] = {}
    for kind, query in engaged:
        by_kind[kind] = {i for i in await session.scalars(query) if i is not None}
    every = set().union(*by_kind.values())
    found.engaged_status_ids = by_kind["favourite"] | by_kind["reblog"] | by_kind["bookmark"]
    if every:
        authors = dict(
            (await session.execute(select(Status.id, Status.actor_id).where(Status.id.in_(every)))).all()
        )
        tag_rows = await session.execute(
            select(StatusTag.status_id, StatusTag.name).where(StatusTag.status_id.in_(every))
        )
        tags_of: dict[int, list[str]] = defaultdict(list)
        for status_id, name in tag_rows:
            tags_of[status_id].append(name.lower())
        for kind, ids in by_kind.items():
            for status_id in ids:
                author = authors.get(status_id)
                if author is not None and author != viewer_id:
                    found.engaged_authors[author][kind] += 1
                for name in tags_of.get(status_id, []):
                    found.engaged_tags[name] += 1
    own = select(Status.ap_id).where(Status.actor_id == viewer_id, Status.reblog_of_id.is_(None))
    found.own_ap_ids = set(await session.scalars(own))
    remixed = await session.execute(
        select(Remix.parent_ap_id, Status.actor_id)
        .join(Status, Status.id == Remix.child_status_id)
        .where(Status.actor_id == viewer_id, Status.deleted_at.is_(None))
    )
    for parent_ap_id, _ in remixed:
        found.remixed_ap_ids.add(parent_ap_id)
    if found.remixed_ap_ids:
        parents = select(Status.actor_id).where(Status.ap_id.in_(found.remixed_ap_ids))
        found.remixed_authors = {a for a in await session.scalars(parents) if a != viewer_id}
    return found


def candidates_query(viewer_id: int, now: datetime) -> Any:
    """Recent public posts of the known network, without the viewer's own and what the viewer hid."""
    query = timelines.public_query().where(
        Status.actor_id != viewer_id, Status.published > now - WINDOW, Status.actor_id.not_in(
            select(Actor.id).where(Actor.suspended_at.is_not(None)))
    )  # fmt: skip
    return timelines.without_blocked(query, viewer_id).order_by(Status.id.desc()).limit(CANDIDATES)


async def _counts(session: AsyncSession, rows: list[Status]) -> dict[int, int]:
    """Likes, boosts and remixes of each candidate, as this instance knows them."""
    ids = [r.id for r in rows]
    totals: Counter[int] = Counter()
    likes = (
        select(Favourite.status_id, func.count())
        .where(Favourite.status_id.in_(ids))
        .group_by(Favourite.status_id)
    )
    boosts = (
        select(Status.reblog_of_id, func.count())
        .where(Status.reblog_of_id.in_(ids), Status.deleted_at.is_(None))
        .group_by(Status.reblog_of_id)
    )
    remixes = (
        select(Remix.parent_status_id, func.count())
        .where(Remix.parent_status_id.in_(ids))
        .group_by(Remix.parent_status_id)
    )
    for query in (likes, boosts, remixes):
        for status_id, n in await session.execute(query):
            if status_id is not None:
                totals[status_id] += int(n)
    for row in rows:  # a remote post's own server's counts, when it reported them
        totals[row.id] += int(row.untrusted_favourites_count or 0) + int(row.untrusted_reblogs_count or 0)
    return dict(totals)


def _engaged_reason(counts: Counter[str], handle: str) -> str:
    kind, n = counts.most_common(1)[0]
    if len([k for k, v in counts.items() if v]) > 1:
        total = sum(counts.values())
        return f"because you liked, boosted or replied to {total} posts by {handle}"
    return f"because you {VERBS[kind]} {n} post{'' if n == 1 else 's'} by {handle}"


async def rank(
    session: AsyncSession, viewer_id: int, *, now: datetime | None = None, warned: set[int] | None = None
) -> list[Ranked]:
    """The candidates, best first, each with its score and reasons. ``warned``: the ids of candidates a
    "warn" filter of the viewer's matches (the page knows them from rendering)."""
    now = now or utcnow()
    mine = await signals(session, viewer_id, now)
    rows = [
        r
        for r in await session.scalars(candidates_query(viewer_id, now))
        if r.id not in mine.engaged_status_ids
    ]
    if not rows:
        return []
    authors = {
        a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_({r.actor_id for r in rows})))
    }
    tag_rows = await session.execute(
        select(StatusTag.status_id, StatusTag.name).where(StatusTag.status_id.in_([r.id for r in rows]))
    )
    tags_of: dict[int, list[str]] = defaultdict(list)
    for status_id, name in tag_rows:
        tags_of[status_id].append(name.lower())
    popularity = await _counts(session, rows)
    ranked = []
    for row in rows:
        author = authors.get(row.actor_id)
        handle = "@" + (author.username if author and author.domain is None else
                        f"{author.username}@{author.domain}" if author else "someone")  # fmt: skip
        item = Ranked(row)
        if row.actor_id in mine.followed_authors:
            item.add(FOLLOWS_AUTHOR, f"because you follow {handle}")
        for name in tags_of.get(row.id, []):
            if name in mine.followed_tags:
                item.add(FOLLOWS_TAG, f"because you follow #{name}")
        engaged = mine.engaged_authors.get(row.actor_id)
        if engaged:
            points = min(ENGAGED_AUTHOR * sum(engaged.values()), ENGAGED_AUTHOR_CAP)
            item.add(points, _engaged_reason(engaged, handle))
        tag_points = sum(mine.engaged_tags.get(name, 0) for name in tags_of.get(row.id, []))
        if tag_points:
            best = max(tags_of[row.id], key=lambda n: mine.engaged_tags.get(n, 0))
            item.add(min(ENGAGED_TAG * tag_points, ENGAGED_TAG_CAP), f"because you like posts tagged #{best}")
        if row.actor_id in mine.remixed_authors:
            item.add(REMIXED_AUTHOR, f"because you remixed a post by {handle}")
        remix_of = (row.extra or {}).get("remix_of")
        if isinstance(remix_of, str):
            if remix_of in mine.own_ap_ids:
                item.add(REMIX_FAMILY + 0.01, "because it remixes your post")
            elif remix_of in mine.remixed_ap_ids:
                item.add(REMIX_FAMILY, "because it remixes a post you remixed")
        if row.attachments:
            item.add(HAS_IMAGES)
        liked = popularity.get(row.id, 0)
        if liked:
            item.add(
                POPULARITY * math.log2(1 + liked), "popular on the network" if not item.reasons else None
            )
        if warned and row.id in warned:
            item.add(FILTERED)
        age_hours = max((now - _aware(row.published)).total_seconds() / 3600, 0.0)
        item.score /= (1 + age_hours / HALF_DAY_HOURS) ** DECAY
        ranked.append(item)
    ranked.sort(key=lambda r: (r.score, r.status.id), reverse=True)
    return ranked
