"""The Status entity (with its Poll, emoji reactions and FilterResults), the Filter entities, and the
Notification entity, rendered a page at a time from a :class:`~fedigen.api.status_context.StatusContext`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.api.entities import account, account_stats, acct, custom_emojis, iso, media_attachment
from fedigen.api.status_context import ReactionCount, StatusContext, load_context
from fedigen.services import Services
from fedigen.social import emoji as emojis
from fedigen.social import filters as user_filters
from fedigen.social import polls
from storage.models import Actor, CustomEmoji, Notification, Reaction, Status, utcnow
from storage.vocabulary import Visibility


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
