"""A post's text: the accounts it mentions (remote ones looked up beforehand, outside any transaction;
then resolved from the database), its HTML with mentions and hashtags linked, its Mention and
Hashtag tags, and its mention and hashtag rows.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.content import mention_html, parse_text, text_to_html
from activitypub.errors import ActivityPubError
from fedigen.errors import NotFoundError
from fedigen.services import Services
from fedigen.social.accounts import get_local
from storage.models import Actor, Mention, Status, StatusTag

log = logging.getLogger(__name__)


MAX_MENTIONS = 50


async def _resolve_mentions(
    svc: Services, session: AsyncSession, mentions: list[tuple[str, str | None]]
) -> dict[tuple[str, str | None], Actor]:
    """@user and @user@host -> the actors we know (from the database only: remote ones are looked up
    beforehand, outside any transaction, by :func:`learn_mentions`)."""
    found: dict[tuple[str, str | None], Actor] = {}
    for user, domain in mentions[:MAX_MENTIONS]:
        actor: Actor | None = None
        if domain is None or domain.lower() == svc.urls.host.lower():
            try:
                actor = await get_local(session, user)
            except NotFoundError:
                pass
        else:
            actor = await session.scalar(select(Actor).where(Actor.username == user, Actor.domain == domain))
        if actor is not None:
            found[(user, domain)] = actor
    return found


async def render_text(
    svc: Services, session: AsyncSession, text: str, *, literal: bool = False
) -> tuple[str, list[str], list[Actor]]:
    """A local post's HTML, its hashtags (lower-case) and the actors it mentions."""
    if literal:
        return text_to_html(text, tag_url=svc.urls.tag, mention_urls={}, literal=True), [], []
    parsed = parse_text(text)
    mentioned = await _resolve_mentions(svc, session, parsed.mentions)
    html = text_to_html(
        text, tag_url=svc.urls.tag,
        mention_urls={k: (a.url or a.ap_id, a.username) for k, a in mentioned.items()},
    )  # fmt: skip
    actors = list({a.id: a for a in mentioned.values()}.values())
    return html, [t.lower() for t in parsed.hashtags], actors


def with_mentions(svc: Services, html: str, actors: list[Actor]) -> str:
    """Mentions of ``actors`` at the start of the post, as a reply to them starts."""
    prefix = " ".join(mention_html(a.url or a.ap_id, a.username) for a in actors)
    if html.startswith("<p>"):
        return f"<p>{prefix} {html.removeprefix('<p>')}"
    return f"<p>{prefix}</p>{html}"


def tag_objects(svc: Services, hashtags: list[str], actors: list[Actor]) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = [
        {"type": "Mention", "href": a.ap_id, "name": f"@{a.username}@{a.domain or svc.urls.host}"}
        for a in actors
    ]
    tags += [{"type": "Hashtag", "href": svc.urls.tag(t), "name": f"#{t}"} for t in hashtags]
    return tags


async def set_tags_and_mentions(
    session: AsyncSession, status: Status, hashtags: list[str], actors: list[Actor]
) -> list[Actor]:
    """Make the status's hashtag and mention rows these; returns the actors newly mentioned."""
    await session.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
    session.add_all(StatusTag(status_id=status.id, name=name) for name in dict.fromkeys(hashtags))
    already = set(await session.scalars(select(Mention.actor_id).where(Mention.status_id == status.id)))
    new = [a for a in {a.id: a for a in actors}.values() if a.id not in already]
    session.add_all(Mention(status_id=status.id, actor_id=a.id) for a in new)
    await session.flush()
    return new


async def learn_mentions(svc: Services, text: str) -> None:
    """Look up the remote accounts a text mentions that we do not know yet (WebFinger, then their
    actor documents), so that rendering the post finds them in the database.

    Front doors call it before they open the transaction that stores a post: a slow server answering
    a lookup then holds up only this request, never the database.
    """
    for user, domain in parse_text(text).mentions[:MAX_MENTIONS]:
        if domain is None or domain.lower() == svc.urls.host.lower():
            continue
        async with svc.reads() as session:
            known = await session.scalar(
                select(Actor.id).where(Actor.username == user, Actor.domain == domain)
            )
        if known is None:
            try:
                await svc.resolver.resolve_handle(f"{user}@{domain}")
            except (ActivityPubError, ValueError) as exc:
                log.info("mention @%s@%s not resolved: %s", user, domain, exc)
