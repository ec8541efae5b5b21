"""Mastodon API entities (https://docs.joinmastodon.org/entities/), built in batches.

A page of statuses is rendered with a fixed number of queries whatever its length: accounts, media,
mentions, counts and the viewer's own state (favourited, reblogged, bookmarked) are each loaded for the
whole page at once. Ids are strings, as Mastodon sends them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.content import sanitize_html, strip_html
from fedigen.services import Services
from fedigen.social import emoji as emojis
from fedigen.social import filters as user_filters
from fedigen.social import polls, roles
from fedigen.social.media import media_url
from storage.clients import Bookmark
from storage.db import each
from storage.models import (
    AccountStatusCount,
    Actor,
    CustomEmoji,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    Notification,
    Poll,
    Reaction,
    Status,
    StatusPin,
    User,
    utcnow,
)
from storage.records import in_ids, record
from storage.vocabulary import FollowState, Visibility


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


@dataclass
class StatusContext:
    """Everything a page of statuses needs, loaded in a few queries."""

    actors: dict[int, Actor] = field(default_factory=dict)
    stats: AccountStats = field(default_factory=AccountStats)
    media: dict[int, list[MediaAttachment]] = field(default_factory=lambda: defaultdict(list))
    mentions: dict[int, list[Actor]] = field(default_factory=lambda: defaultdict(list))
    favourites: dict[int, int] = field(default_factory=dict)
    reblogs: dict[int, int] = field(default_factory=dict)
    replies: dict[int, int] = field(default_factory=dict)
    reblogged_statuses: dict[int, Status] = field(default_factory=dict)
    favourited: set[int] = field(default_factory=set)
    reblogged: set[int] = field(default_factory=set)
    bookmarked: set[int] = field(default_factory=set)
    # The viewer's own pinned posts on the page.
    pinned: set[int] = field(default_factory=set)
    viewer_id: int | None = None
    # Author of each replied-to status on the page, by that status's id.
    reply_authors: dict[int, int] = field(default_factory=dict)
    emojis: dict[int, list[CustomEmoji]] = field(default_factory=dict)
    reactions: dict[int, list[ReactionCount]] = field(default_factory=dict)
    polls: dict[int, Poll] = field(default_factory=dict)  # by status id
    own_votes: dict[int, list[int]] = field(default_factory=dict)  # the viewer's choices, by poll id
    # The viewer's live filters, and the context (home, public, notifications...) a page is shown in:
    # None applies every filter and hides nothing.
    filters: list[user_filters.ActiveFilter] = field(default_factory=list)
    filter_context: str | None = None


@dataclass(frozen=True)
class ReactionCount:
    """One emoji reacted to a status with: how many reacted with it, and whether the viewer did."""

    name: str  # the Unicode emoji, or the custom emoji's shortcode
    emoji: CustomEmoji | None
    count: int
    me: bool


async def reaction_counts(
    session: AsyncSession, ids: list[int], viewer: Actor | None
) -> dict[int, list[ReactionCount]]:
    """The emoji reactions of each status, in the order they were first given; deleted accounts' left out."""
    viewer_id = viewer.id if viewer is not None else None
    return await session.run_sync(lambda s: reactions_of(s.connection(), ids, viewer_id))


_REACTIONS = (
    select(
        Reaction.status_id, Reaction.name, Reaction.emoji_id, func.count(Reaction.id), func.min(Reaction.id)
    )
    .join(Actor, Actor.id == Reaction.actor_id)
    .where(in_ids(Reaction.status_id), Actor.deleted_at.is_(None))
    .group_by(Reaction.status_id, Reaction.name, Reaction.emoji_id)
    .order_by(func.min(Reaction.id))
)
_EMOJIS_BY_ID = select(CustomEmoji.__table__).where(in_ids(CustomEmoji.id))
_OWN_REACTIONS = select(Reaction.status_id, Reaction.name).where(
    Reaction.actor_id == bindparam("viewer_id"), in_ids(Reaction.status_id)
)


def reactions_of(conn: Connection, ids: list[int], viewer_id: int | None) -> dict[int, list[ReactionCount]]:
    """:func:`reaction_counts` on a synchronous connection (statements built once)."""
    rows = list(conn.execute(_REACTIONS, {"ids": ids}))
    if not rows:
        return {}
    emoji_ids = list({row[2] for row in rows if row[2] is not None})
    found = (
        {e.id: record(e._mapping) for e in conn.execute(_EMOJIS_BY_ID, {"ids": emoji_ids})}
        if emoji_ids
        else {}
    )
    mine: set[tuple[int, str]] = set()
    if viewer_id is not None:
        given = conn.execute(_OWN_REACTIONS, {"viewer_id": viewer_id, "ids": ids})
        mine = {(status_id, name) for status_id, name in given}
    counts: dict[int, list[ReactionCount]] = defaultdict(list)
    for status_id, name, emoji_id, count, _ in rows:
        counts[status_id].append(ReactionCount(name, found.get(emoji_id) if emoji_id else None, int(count),
                                               (status_id, name) in mine))  # fmt: skip
    return counts


def reaction_name(reaction: ReactionCount) -> str:
    """How Pleroma names a reaction: the emoji itself; a custom one's shortcode, with ``@domain`` when
    it is another server's."""
    if reaction.emoji is None or reaction.emoji.domain is None:
        return reaction.name
    return f"{reaction.name}@{reaction.emoji.domain}"


def _reactions(
    svc: Services, counts: list[ReactionCount]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Pleroma's ``emoji_reactions`` and the Mastodon Reaction entities (``reactions``) of a status."""
    pleroma, mastodon = [], []
    for item in counts:
        image = emojis.image_of(svc, item.emoji) if item.emoji is not None else None
        name = reaction_name(item)
        pleroma.append(
            {"name": name, "count": item.count, "me": item.me, "url": image.url if image else None}
        )
        entry: dict[str, Any] = {"name": name, "count": item.count, "me": item.me}
        if item.emoji is not None:
            entry |= {"url": image.url if image else None, "static_url": image.static_url if image else None}
        mastodon.append(entry)
    return pleroma, mastodon


async def _counts(session: AsyncSession, column: Any, ids: list[int], *where: Any) -> dict[int, int]:
    rows = await session.execute(select(column, func.count()).where(column.in_(ids), *where).group_by(column))
    return {k: v for k, v in rows}


async def load_context(
    session: AsyncSession, statuses: Iterable[Status], viewer: Actor | None, filter_context: str | None = None
) -> StatusContext:
    """Load what rendering ``statuses`` (ORM rows, and the statuses they boost) needs, counting
    favourites, boosts and replies from their rows. Timelines use :func:`load_page_context` instead."""
    ctx = StatusContext(viewer_id=viewer.id if viewer is not None else None, filter_context=filter_context)
    page = list(statuses)
    boosted_ids = [s.reblog_of_id for s in page if s.reblog_of_id is not None]
    if boosted_ids:
        boosted = await session.scalars(select(Status).where(Status.id.in_(boosted_ids)))
        ctx.reblogged_statuses = {s.id: s for s in boosted}
    shown = [s for s in page if s.reblog_of_id is None] + list(ctx.reblogged_statuses.values())
    ids = [s.id for s in shown]
    actor_ids = {s.actor_id for s in page} | {s.actor_id for s in shown}
    if ids:
        for row in await session.scalars(
            select(MediaAttachment)
            .where(MediaAttachment.status_id.in_(ids))
            .order_by(MediaAttachment.position)
        ):
            ctx.media[row.status_id or 0].append(row)
        mention_rows = await session.execute(
            select(Mention.status_id, Actor)
            .join(Actor, Actor.id == Mention.actor_id)
            .where(Mention.status_id.in_(ids))
        )
        for status_id, actor in mention_rows:
            ctx.mentions[status_id].append(actor)
        ctx.favourites = await _counts(session, Favourite.status_id, ids)
        ctx.reblogs = await _counts(session, Status.reblog_of_id, ids, Status.deleted_at.is_(None))
        ctx.replies = await _counts(session, Status.in_reply_to_id, ids, Status.deleted_at.is_(None))
        if viewer is not None:
            mine = Favourite.actor_id == viewer.id
            ctx.favourited = set(
                await session.scalars(select(Favourite.status_id).where(mine, Favourite.status_id.in_(ids)))
            )
            boosts = select(Status.reblog_of_id).where(
                Status.actor_id == viewer.id, Status.reblog_of_id.in_(ids), Status.deleted_at.is_(None)
            )
            ctx.reblogged = {i for i in await session.scalars(boosts) if i is not None}
            marked = Bookmark.account_id == viewer.id
            ctx.bookmarked = set(
                await session.scalars(select(Bookmark.status_id).where(marked, Bookmark.status_id.in_(ids)))
            )
            pinned = StatusPin.account_id == viewer.id
            ctx.pinned = set(
                await session.scalars(select(StatusPin.status_id).where(pinned, StatusPin.status_id.in_(ids)))
            )
    if actor_ids:
        ctx.actors = {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(actor_ids)))}
    await load_rest(session, ctx, shown, viewer)
    return ctx


async def load_rest(
    session: AsyncSession, ctx: StatusContext, shown: Sequence[Any], viewer: Actor | None
) -> None:
    """:func:`load_rest_of` in the session's transaction."""
    viewer_id = viewer.id if viewer is not None else None
    await session.run_sync(lambda s: load_rest_of(s.connection(), ctx, shown, viewer_id))


_PARENT_AUTHORS = select(Status.id, Status.actor_id).where(in_ids(Status.id))


def load_rest_of(
    conn: Connection, ctx: StatusContext, shown: Sequence[Any], viewer_id: int | None,
    *also: Callable[[Connection], None],
) -> None:  # fmt: skip
    """What both loaders read alike: the viewer's filters, the custom emoji, emoji reactions, polls and
    the viewer's votes, who was replied to, and the authors' account counts (statements built once,
    on a synchronous connection), with the caller's own reads ``also``: independent reads, each filling
    its own part of ``ctx``, run through :func:`storage.db.each` (at once on PostgreSQL)."""
    ids = [s.id for s in shown]
    actors = list(ctx.actors)
    actor_emojis: dict[int, list[Any]] = {}
    # Who was replied to: page records know it from their query (``_reply_author``); ORM rows ask.
    for row in shown:
        if row.in_reply_to_id is not None and getattr(row, "_reply_author", None) is not None:
            ctx.reply_authors[row.in_reply_to_id] = row._reply_author
    parent_ids = [
        s.in_reply_to_id for s in shown if s.in_reply_to_id is not None and not hasattr(s, "_reply_author")
    ]
    # Only a Question has a poll (a local poll makes its status one, and a remote poll is only read from
    # a Question), so a page without one asks nothing.
    questions = [s.id for s in shown if s.ap_type == "Question"]

    def filters(c: Connection) -> None:
        ctx.filters = user_filters.active_filters_of(c, viewer_id or 0)

    def linked_emojis(c: Connection) -> None:
        ctx.emojis, found = emojis.linked_emojis_of(c, ids, actors)
        actor_emojis.update(found)

    def reactions(c: Connection) -> None:
        ctx.reactions = reactions_of(c, ids, viewer_id)

    def polls_and_votes(c: Connection) -> None:
        ctx.polls = polls.polls_of_statuses(c, questions)
        if viewer_id is not None and ctx.polls:
            ctx.own_votes = polls.votes_of(c, viewer_id, [p.id for p in ctx.polls.values()])

    def parent_authors(c: Connection) -> None:
        ctx.reply_authors.update({k: v for k, v in c.execute(_PARENT_AUTHORS, {"ids": parent_ids})})

    def stats(c: Connection) -> None:
        ctx.stats = account_stats_of(c, actors, actor_emojis={})  # the emoji: read with the statuses'

    wanted: list[tuple[bool, Callable[[Connection], None]]] = [
        (viewer_id is not None, filters), (bool(ids or actors), linked_emojis), (bool(ids), reactions),
        (bool(questions), polls_and_votes), (bool(parent_ids), parent_authors), (bool(actors), stats),
    ]  # fmt: skip
    each(conn, *also, *(load for needed, load in wanted if needed))
    if actors:
        ctx.stats.emojis = actor_emojis


def status(svc: Services, row: Status, ctx: StatusContext) -> dict[str, Any]:
    """The Status entity (a boost carries the boosted status in ``reblog``)."""
    author = ctx.actors[row.actor_id]
    boosted = ctx.reblogged_statuses.get(row.reblog_of_id) if row.reblog_of_id is not None else None
    shown = boosted or row
    parent_author = ctx.reply_authors.get(shown.in_reply_to_id) if shown.in_reply_to_id else None
    entity: dict[str, Any] = {
        "id": str(row.id),
        "uri": row.ap_id,
        "url": row.url if boosted is None else None,
        "created_at": iso(row.published),
        "account": account(svc, author, ctx.stats),
        "content": row.content if boosted is None else "",
        # Mastodon calls followers-only "private".
        "visibility": "private" if row.visibility == Visibility.FOLLOWERS else str(row.visibility),
        # A moderator may mark all an account's media sensitive, or force a content warning on its posts.
        "sensitive": row.sensitive or author.sensitized_at is not None or bool(author.forced_cw),
        "spoiler_text": row.summary or author.forced_cw or "",
        "media_attachments": [media_attachment(svc, m) for m in ctx.media.get(row.id, [])],
        "application": None,
        "mentions": [
            {"id": str(a.id), "username": a.username, "url": a.url or a.ap_id, "acct": acct(a)}
            for a in ctx.mentions.get(row.id, [])
        ],
        "tags": [
            {"name": str(t.get("name", "")).lstrip("#"), "url": t.get("href") or ""}
            for t in row.tags or []
            if isinstance(t, dict) and t.get("type") == "Hashtag"
        ],
        "emojis": custom_emojis(svc, ctx.emojis.get(row.id, []), row.content, row.summary),
        # A remote post's server's own counts when it reported them (Mastodon's untrusted counts).
        "reblogs_count": _count(row.untrusted_reblogs_count, ctx.reblogs.get(row.id, 0), row),
        "favourites_count": _count(row.untrusted_favourites_count, ctx.favourites.get(row.id, 0), row),
        "replies_count": ctx.replies.get(row.id, 0),
        "edited_at": iso(row.edited_at),
        "favourited": row.id in ctx.favourited,
        "reblogged": row.id in ctx.reblogged,
        "muted": False,
        "bookmarked": row.id in ctx.bookmarked,
        "pinned": False,
        "filtered": [filter_result(m) for m in filter_matches(row, ctx)],
        "in_reply_to_id": str(row.in_reply_to_id) if row.in_reply_to_id else None,
        "in_reply_to_account_id": str(parent_author) if parent_author else None,
        "reblog": status(svc, boosted, ctx) if boosted is not None else None,
        "poll": poll(row, ctx) if boosted is None else None,
        "card": None,
        "language": row.language,
        "text": None,
    }
    # Emoji reactions as Pleroma and Akkoma show them, and as Mastodon's Reaction entities (the shape
    # Mastodon gives announcements' reactions, and forks with emoji reactions give statuses').
    pleroma_reactions, mastodon_reactions = _reactions(svc, ctx.reactions.get(row.id, []))
    entity["pleroma"] = {"emoji_reactions": pleroma_reactions}
    entity["reactions"] = mastodon_reactions
    # Only on the viewer's own posts that may be pinned, as Mastodon shows it.
    if row.actor_id != ctx.viewer_id or boosted is not None or row.visibility == Visibility.DIRECT:
        del entity["pinned"]
    else:
        entity["pinned"] = row.id in ctx.pinned
    generation = (row.extra or {}).get("generation")
    if isinstance(generation, dict):
        # fedigen's own field; Mastodon clients ignore unknown keys.
        entity["fedigen"] = {"generation": {k: v for k, v in generation.items() if not (
            generation.get("private") and k in ("prompt", "negative_prompt", "seed", "scene"))},
            "remix_of": (row.extra or {}).get("remix_of")}  # fmt: skip
    return entity


def filter_matches(row: Status, ctx: StatusContext) -> list[user_filters.FilterMatch]:
    """The viewer's filters matching a status (a boost is matched on what it boosts)."""
    if not ctx.filters:
        return []
    boosted = ctx.reblogged_statuses.get(row.reblog_of_id) if row.reblog_of_id is not None else None
    shown = boosted or row
    found = ctx.polls.get(shown.id)
    descriptions: list[str | None] = [m.description for m in ctx.media.get(shown.id, [])]
    descriptions += [str(a.get("name") or "") for a in shown.attachments or [] if isinstance(a, dict)]
    text = user_filters.searchable_text(shown, descriptions, found.options or [] if found else [])
    ids = [row.id] + ([shown.id] if boosted is not None else [])
    return user_filters.match(ctx.filters, ids, text, ctx.filter_context)


def filter_entity(row: Any, keywords: Sequence[Any] | None = None, statuses: Sequence[Any] | None = None
                  ) -> dict[str, Any]:  # fmt: skip
    """The Filter entity (https://docs.joinmastodon.org/entities/Filter/); its keywords and statuses
    only when given (a FilterResult carries the filter without them, as Mastodon's does)."""
    entity: dict[str, Any] = {
        "id": str(row.id),
        "title": row.title,
        "context": list(row.context or []),
        "expires_at": iso(row.expires_at),
        "filter_action": row.action,
    }
    if keywords is not None:
        entity["keywords"] = [filter_keyword(k) for k in keywords]
    if statuses is not None:
        entity["statuses"] = [filter_status(s) for s in statuses]
    return entity


def filter_keyword(row: Any) -> dict[str, Any]:
    """The FilterKeyword entity."""
    return {"id": str(row.id), "keyword": row.keyword, "whole_word": row.whole_word}


def filter_status(row: Any) -> dict[str, Any]:
    """The FilterStatus entity."""
    return {"id": str(row.id), "status_id": str(row.status_id)}


def filter_result(found: user_filters.FilterMatch) -> dict[str, Any]:
    """The FilterResult entity (https://docs.joinmastodon.org/entities/FilterResult/)."""
    return {
        "filter": filter_entity(found.filter),
        "keyword_matches": found.keyword_matches,
        "status_matches": [str(i) for i in found.status_matches] if found.status_matches else None,
    }


def poll(row: Status, ctx: StatusContext) -> dict[str, Any] | None:
    """The Poll entity of a status (https://docs.joinmastodon.org/entities/Poll/), or None.

    Per-option counts are null while the author hides the totals; ``voted`` and ``own_votes`` are there
    only for a signed-in viewer (``voted`` is true for the poll's author, as on Mastodon).
    """
    found = ctx.polls.get(row.id)
    if found is None:
        return None
    now = utcnow()
    ended = polls.has_ended(found, now)
    shown = ended or not found.hide_totals
    tallies = list(found.tallies or [])
    total = polls.votes_count(found)
    voters = found.voters_count
    if voters is None and not found.multiple:
        voters = total  # one vote per voter
    entity: dict[str, Any] = {
        "id": str(found.id),
        "expires_at": iso(found.expires_at),
        "expired": ended,
        "multiple": found.multiple,
        "votes_count": total,
        "voters_count": voters,
        "options": [
            {"title": title, "votes_count": (int(tallies[i]) if i < len(tallies) else 0) if shown else None}
            for i, title in enumerate(found.options or [])
        ],
        "emojis": [],
    }
    if ctx.viewer_id is not None:
        mine = ctx.own_votes.get(found.id, [])
        entity["voted"] = bool(mine) or row.actor_id == ctx.viewer_id
        entity["own_votes"] = list(mine)
    return entity


def _count(reported: int | None, ours: int, row: Status) -> int:
    return reported if reported is not None and not row.local else ours


async def statuses(
    svc: Services, session: AsyncSession, rows: Sequence[Status], viewer: Actor | None,
    filter_context: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """A page of Status entities, in the order given; in a ``filter_context`` (home, public, thread,
    account...) only that context's filters show in ``filtered``, and in the home and public ones the
    statuses a "hide" filter matches are left out (as Mastodon leaves them out of its feeds)."""
    return render_page(svc, rows, await load_context(session, rows, viewer, filter_context))


def render_page(svc: Services, rows: Sequence[Any], ctx: StatusContext) -> list[dict[str, Any]]:
    hiding = ctx.filter_context in user_filters.HIDDEN_IN
    return [
        status(svc, row, ctx) for row in rows
        if row.actor_id in ctx.actors and not (hiding and user_filters.hides(filter_matches(row, ctx)))
    ]  # fmt: skip


async def notifications(
    svc: Services, session: AsyncSession, rows: Sequence[Notification], viewer: Actor
) -> list[dict[str, Any]]:
    """A page of Notification entities."""
    status_ids = [n.status_id for n in rows if n.status_id is not None]
    status_rows = {s.id: s for s in await session.scalars(select(Status).where(Status.id.in_(status_ids)))}
    ctx = await load_context(session, status_rows.values(), viewer, "notifications")
    senders = {a.id: a for a in await session.scalars(
        select(Actor).where(Actor.id.in_({n.from_actor_id for n in rows})))}  # fmt: skip
    stats = await account_stats(session, list(senders))
    reacted = await _notified_reactions(session, [n.reaction_id for n in rows if n.reaction_id is not None])
    out = []
    for n in rows:
        sender = senders.get(n.from_actor_id)
        if sender is None:
            continue
        shown = status_rows.get(n.status_id) if n.status_id is not None else None
        if shown is not None and user_filters.hides(filter_matches(shown, ctx)):
            continue  # a "hide" filter of the viewer's in notifications
        entity = {
            "id": str(n.id), "type": n.type, "created_at": iso(n.created_at),
            "group_key": f"ungrouped-{n.id}",
            "account": account(svc, sender, stats),
            "status": status(svc, shown, ctx) if shown is not None and shown.actor_id in ctx.actors else None,
        }  # fmt: skip
        if n.reaction_id is not None and n.reaction_id in reacted:
            # Pleroma's pleroma:emoji_reaction notification names the emoji (and its picture).
            reaction, custom = reacted[n.reaction_id]
            image = emojis.image_of(svc, custom) if custom is not None else None
            entity["emoji"] = f":{reaction.name}:" if reaction.emoji_id is not None else reaction.name
            entity["emoji_url"] = image.url if image else None
        out.append(entity)
    return out


async def _notified_reactions(
    session: AsyncSession, ids: list[int]
) -> dict[int, tuple[Reaction, CustomEmoji | None]]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Reaction, CustomEmoji)
        .outerjoin(CustomEmoji, CustomEmoji.id == Reaction.emoji_id)
        .where(Reaction.id.in_(ids))
    )
    return {reaction.id: (reaction, custom) for reaction, custom in rows}
