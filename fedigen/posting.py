"""Posting: the one use-case every front door calls to publish, edit or delete a Note."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.content import parse_text, quote_paragraph, text_to_html
from activitypub.errors import ActivityPubError
from activitypub.handling import notify
from activitypub.notes import MAX_ATTACHMENTS
from activitypub.outbox import create_of, delete_of, publish, update_of
from activitypub.posts import record_remix
from activitypub.vocab import TRAINED_ALGORITHMIC_MEDIA, VISIBILITIES, Visibility, address
from fedigen.accounts import get_local
from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.services import Services
from storage.models import Actor, MediaAttachment, Mention, Status, StatusTag, Tombstone, utcnow

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 5000
MAX_MENTIONS = 50


@dataclass
class PostRequest:
    """What a client asks to post."""

    text: str
    visibility: str = "public"
    summary: str = ""
    sensitive: bool = False
    language: str | None = None
    in_reply_to_id: int | None = None
    attachments: list[dict[str, object]] = field(default_factory=list)
    # Ready media of the author's, not yet on a post (uploaded or generated), in order.
    media_ids: list[int] = field(default_factory=list)
    # Image provenance and remix parent (see activitypub.notes.image_extensions).
    extra: dict[str, Any] = field(default_factory=dict)
    # Extra tag objects (the FEP-e232 quote Link of a remix).
    extra_tags: list[dict[str, Any]] = field(default_factory=list)
    # Remote actors who also get the Create without being addressed (a remixed post's author).
    also_deliver_to: list[int] = field(default_factory=list)


def _check(request: PostRequest) -> Visibility:
    if request.visibility not in VISIBILITIES:
        raise ValidationError("visibility", f"must be one of {', '.join(VISIBILITIES)}")
    if len(request.media_ids) > MAX_ATTACHMENTS or len(set(request.media_ids)) != len(request.media_ids):
        raise ValidationError("media_ids", f"at most {MAX_ATTACHMENTS} distinct media per post")
    if not request.text.strip() and not request.attachments and not request.media_ids:
        raise ValidationError("text", "a post needs text or media")
    if len(request.text) > MAX_TEXT_CHARS:
        raise ValidationError("text", f"over {MAX_TEXT_CHARS} characters")
    if len(request.summary) > 1000:
        raise ValidationError("spoiler_text", "over 1000 characters")
    return request.visibility


async def _resolve_mentions(
    svc: Services, session: AsyncSession, mentions: list[tuple[str, str | None]]
) -> dict[tuple[str, str | None], Actor]:
    """@user and @user@host -> actors; local names from the database, remote ones by WebFinger."""
    found: dict[tuple[str, str | None], Actor] = {}
    for user, domain in mentions[:MAX_MENTIONS]:
        if domain is None or domain.lower() == svc.urls.host.lower():
            try:
                actor = await get_local(session, user)
            except NotFoundError:
                actor = None
        else:
            actor = await session.scalar(select(Actor).where(Actor.username == user, Actor.domain == domain))
            if actor is None:
                try:
                    actor = await svc.resolver.resolve_handle(f"{user}@{domain}", session=session)
                except (ActivityPubError, ValueError) as exc:
                    log.info("mention @%s@%s not resolved: %s", user, domain, exc)
                    actor = None
        if actor is not None:
            found[(user, domain)] = actor
    return found


async def _render(svc: Services, session: AsyncSession, text: str) -> tuple[str, list[str], list[Actor]]:
    parsed = parse_text(text)
    mentioned = await _resolve_mentions(svc, session, parsed.mentions)
    html = text_to_html(
        text,
        tag_url=svc.urls.tag,
        mention_urls={
            k: (a.url or a.ap_id, a.username if a.domain is None else f"{a.username}")
            for k, a in mentioned.items()
        },
    )
    actors = list({a.id: a for a in mentioned.values()}.values())
    return html, [t.lower() for t in parsed.hashtags], actors


def _tag_objects(svc: Services, hashtags: list[str], actors: list[Actor]) -> list[dict[str, object]]:
    tags: list[dict[str, object]] = [
        {"type": "Mention", "href": a.ap_id, "name": f"@{a.username}@{a.domain or svc.urls.host}"}
        for a in actors
    ]
    tags += [{"type": "Hashtag", "href": svc.urls.tag(t), "name": f"#{t}"} for t in hashtags]
    return tags


def attachment_to_ap(svc: Services, media: MediaAttachment) -> dict[str, Any]:
    """The AS2 Image of a media row, as Mastodon and Bridgy Fed read it (INTEROP.md, Notes with images)."""
    federation = media.meta.get("federation", {}) if media.meta else {}
    doc: dict[str, Any] = {
        "type": "Image",
        "mediaType": media.media_type,
        "url": media_url(svc, media.federation_key or ""),
        # Mastodon reads alt text from summary, Bridgy Fed only from name: set both.
        "name": media.description or None,
        "summary": media.description or None,
        "width": federation.get("width", media.width),
        "height": federation.get("height", media.height),
        "blurhash": media.blurhash,
        "focalPoint": [media.focus_x, media.focus_y],
    }
    if media.ai_generated:
        doc["digitalSourceType"] = TRAINED_ALGORITHMIC_MEDIA
    return {k: v for k, v in doc.items() if v is not None}


def media_url(svc: Services, key: str) -> str:
    """Public URL of a stored media file."""
    return f"{svc.settings.media_url}/{key}"


async def _take_media(session: AsyncSession, author: Actor, media_ids: list[int]) -> list[MediaAttachment]:
    """The author's ready, unattached media rows, in the order asked for (422 naming media_ids if not)."""
    if not media_ids:
        return []
    rows = {
        m.id: m
        for m in await session.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(media_ids)))
    }
    taken = []
    for media_id in media_ids:
        row = rows.get(media_id)
        if row is None or row.account_id != author.id or row.status_id is not None:
            raise ValidationError("media_ids", f"no media {media_id} of yours that is not on a post already")
        if row.state != "ready":
            raise ValidationError("media_ids", f"media {media_id} is still being processed")
        taken.append(row)
    return taken


async def create_post(svc: Services, session: AsyncSession, author: Actor, request: PostRequest) -> Status:
    """Store a Note, and queue its Create for every follower inbox and mentioned actor (caller commits)."""
    visibility = _check(request)
    media = await _take_media(session, author, request.media_ids)
    parent = None
    if request.in_reply_to_id is not None:
        parent = await session.get(Status, request.in_reply_to_id)
        if parent is None or parent.deleted_at is not None:
            raise ValidationError("in_reply_to_id", "no such status")
    html, hashtags, mentioned = await _render(svc, session, request.text)
    if isinstance(request.extra.get("remix_of"), str):
        html += quote_paragraph("Remix of", request.extra.get("remix_url") or request.extra["remix_of"])
    to, cc = address(visibility, author.followers_url or svc.urls.followers(author.username),
                     [a.ap_id for a in mentioned])  # fmt: skip
    status = Status(
        ap_id="", actor_id=author.id, local=True, content=html, source_text=request.text,
        summary=request.summary, sensitive=request.sensitive or bool(request.summary), visibility=visibility,
        language=request.language, in_reply_to_ap_id=parent.ap_id if parent else None,
        in_reply_to_id=parent.id if parent else None, to=to, cc=cc,
        tags=_tag_objects(svc, hashtags, mentioned) + list(request.extra_tags),
        attachments=list(request.attachments) + [attachment_to_ap(svc, m) for m in media],
        extra=dict(request.extra), published=utcnow(),
    )  # fmt: skip
    session.add(status)
    await session.flush()
    for position, row in enumerate(media):
        row.status_id, row.position = status.id, position
    status.ap_id = svc.urls.status(author.username, status.id)
    status.url = svc.urls.status_page(author.username, status.id)
    session.add_all(StatusTag(status_id=status.id, name=t) for t in hashtags)
    session.add_all(Mention(status_id=status.id, actor_id=a.id) for a in mentioned)
    await session.flush()
    await record_remix(session, status)
    for actor in mentioned:
        await notify(session, actor, "mention", author, status)
    extra_inboxes = []
    for actor_id in request.also_deliver_to:
        other = await session.get(Actor, actor_id)
        if other is not None and other.domain is not None and (other.inbox_url or other.shared_inbox_url):
            extra_inboxes.append(other.shared_inbox_url or other.inbox_url or "")
    await publish(session, author, create_of(status, author, svc.urls), extra_inboxes=extra_inboxes)
    return status


async def _own_status(session: AsyncSession, author: Actor, status_id: int) -> Status:
    status = await session.get(Status, status_id)
    if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
        raise NotFoundError(f"no status {status_id}")
    if status.actor_id != author.id:
        raise ForbiddenError("that status belongs to someone else")
    return status


async def _replace_media(svc: Services, session: AsyncSession, author: Actor, status: Status,
                         media_ids: list[int]) -> None:  # fmt: skip
    """Make ``media_ids`` (the status's own media or new ready uploads) the status's media, in order."""
    on_post = select(MediaAttachment).where(MediaAttachment.status_id == status.id)
    current = list(await session.scalars(on_post.order_by(MediaAttachment.position)))
    by_id = {m.id: m for m in current}
    new_ids = [i for i in media_ids if i not in by_id]
    added = {m.id: m for m in await _take_media(session, author, new_ids)}
    if len(media_ids) > MAX_ATTACHMENTS or len(set(media_ids)) != len(media_ids):
        raise ValidationError("media_ids", f"at most {MAX_ATTACHMENTS} distinct media per post")
    chosen = [by_id.get(i) or added[i] for i in media_ids]
    for row in current:
        if row.id not in media_ids:
            row.status_id = None  # kept as a file (earlier versions showed it), no longer on the post
    for position, row in enumerate(chosen):
        row.status_id, row.position = status.id, position
    status.attachments = [attachment_to_ap(svc, m) for m in chosen]


async def edit_post(
    svc: Services, session: AsyncSession, author: Actor, status_id: int, text: str,
    summary: str | None = None, sensitive: bool | None = None, media_ids: list[int] | None = None,
) -> Status:  # fmt: skip
    """Change a Note's text (and its media) and send Update with ``updated`` to the same audience."""
    status = await _own_status(session, author, status_id)
    if media_ids is not None:
        await _replace_media(svc, session, author, status, media_ids)
    _check(PostRequest(text=text, visibility=status.visibility, attachments=status.attachments))
    html, hashtags, mentioned = await _render(svc, session, text)
    status.content, status.source_text = html, text
    if summary is not None:
        status.summary = summary
    if sensitive is not None:
        status.sensitive = sensitive or bool(status.summary)
    if isinstance(status.extra.get("remix_of"), str):
        html += quote_paragraph("Remix of", status.extra.get("remix_url") or status.extra["remix_of"])
        status.content = html
    status.tags = _tag_objects(svc, hashtags, mentioned) + [t for t in status.tags if t.get("type") == "Link"]
    status.edited_at = utcnow()
    await session.execute(delete(StatusTag).where(StatusTag.status_id == status.id))
    session.add_all(StatusTag(status_id=status.id, name=t) for t in hashtags)
    await session.flush()
    await publish(session, author, update_of(status, author, svc.urls))
    return status


async def delete_post(svc: Services, session: AsyncSession, author: Actor, status_id: int) -> Status:
    """Delete a Note: a Tombstone replaces it and Delete goes to everyone who got the Create."""
    status = await _own_status(session, author, status_id)
    now = utcnow()
    status.deleted_at = now
    session.add(Tombstone(ap_id=status.ap_id, actor_ap_id=author.ap_id, deleted_at=now))
    await session.flush()
    await publish(session, author, delete_of(status, author, now))
    return status
