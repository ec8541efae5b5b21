"""Posts, for every origin: written here (client API, C2S, CLI, web, the bot) or received from afar.

A local post is checked, rendered (mentions resolved, hashtags linked: :mod:`fedigen.social.mentions`),
stored with its media, and published as Create to every follower inbox and mentioned actor. A received
post is stored when it concerns a local account (:mod:`fedigen.social.remote_posts`). Both then pass
the same after-post step (:func:`after_post`): mention and reply notifications, the remix lineage, a
quote request for a remix of another server's post, and the generation bot's trigger. Images made by
the generator carry their AI label and generation record onto the post whichever way they were made (a
prompt in the composer, the generation API and then ``POST /api/v1/statuses``, a remix, the bot).
Removing a post is one function for both origins too (:func:`remove_status`). The caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.activities import create_of, delete_of, update_of
from activitypub.content import quote_paragraph
from activitypub.notes import MAX_ATTACHMENTS, Counts, attachment_to_ap, quote_link
from activitypub.outbox import publish
from activitypub.vocab import VISIBILITIES, address
from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.languages import checked as checked_language
from fedigen.languages import normalize as normalize_language
from fedigen.services import Services
from fedigen.social import bot, counts, image_checks, mentions, polls, reactions, remixes
from fedigen.social.media import media_url
from fedigen.social.notifications import Kind, notify
from fedigen.social.standing import require_active
from fedigen.social.visibility import is_public
from storage.attachments import MAX_DESCRIPTION_CHARS
from storage.db import on_commit
from storage.models import (
    Actor,
    MediaAttachment,
    Notification,
    Status,
    StatusPin,
    Tombstone,
    User,
    utcnow,
)
from storage.vocabulary import Visibility

MAX_TEXT_CHARS = 5000


@dataclass
class PostRequest:
    """What a local account asks to post."""

    text: str
    visibility: str = Visibility.PUBLIC
    summary: str = ""
    sensitive: bool = False
    # ISO 639-1; None: the author's default posting language, else the instance's.
    language: str | None = None
    in_reply_to_id: int | None = None
    attachments: list[dict[str, object]] = field(default_factory=list)
    # Ready media of the author's, not yet on a post (uploaded or generated), in order.
    media_ids: list[int] = field(default_factory=list)
    # Generated media: label the images as AI-made but keep the prompt to the author.
    private_prompt: bool = False
    # The text is shown as written: nothing in it becomes a link, hashtag or mention (the bot quoting
    # a prompt); ``mention_ids`` are then the only accounts mentioned and addressed.
    literal: bool = False
    mention_ids: list[int] = field(default_factory=list)
    # A poll posted with the text (a Question on the wire).
    poll: polls.PollRequest | None = None


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
    if request.poll is not None:
        polls.check_request(request.poll)
    return Visibility(request.visibility)


def post_language(svc: Services, author: Actor, asked: str | None) -> str:
    """A local post's language: the one asked for (validated: 422 naming ``language``), else the
    author's default posting language, else the instance's (``[instance] default_language``)."""
    return (
        checked_language("language", asked)
        or author.default_language
        or normalize_language(svc.settings.instance.default_language)
    )


async def status_by_ap_id(session: AsyncSession, ap_id: str | None) -> Status | None:
    """A live (not deleted) status by its ActivityPub id."""
    if not ap_id:
        return None
    return await session.scalar(select(Status).where(Status.ap_id == ap_id, Status.deleted_at.is_(None)))


# --- text: mentions and hashtags -----------------------------------------------------------------------


# --- media and provenance --------------------------------------------------------------------------------


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


def _provenance(media: list[MediaAttachment], private_prompt: bool) -> dict[str, Any]:
    """The post's ``extra`` from its generated images: the generation record, and what it remixes."""
    generated = next((m for m in media if m.ai_generated and m.generation), None)
    if generated is None:
        return {}
    generation = dict(generated.generation)
    generation["private"] = private_prompt or bool(generation.get("private"))
    extra: dict[str, Any] = {"generation": generation}
    if isinstance(generation.get("parent"), str):
        extra["remix_of"] = generation["parent"]
    return extra


def _with_remix_link(html: str, extra: dict[str, Any]) -> str:
    """A remix's visible "Remix of" paragraph (servers that do not show quotes still show this)."""
    if not isinstance(extra.get("remix_of"), str):
        return html
    return html + quote_paragraph("Remix of", extra.get("remix_url") or extra["remix_of"])


# --- writing, for every origin --------------------------------------------------------------------------


async def create_post(svc: Services, session: AsyncSession, author: Actor, request: PostRequest) -> Status:
    """A local account's post: stored, run through the after-post step, and queued for delivery."""
    require_active(author)
    visibility = _check(request)
    language = post_language(svc, author, request.language)
    media = await _take_media(session, author, request.media_ids)
    parent = None
    if request.in_reply_to_id is not None:
        parent = await session.get(Status, request.in_reply_to_id)
        if parent is None or parent.deleted_at is not None:
            raise ValidationError("in_reply_to_id", "no such status")
    html, hashtags, mentioned = await mentions.render_text(
        svc, session, request.text, literal=request.literal
    )
    if request.mention_ids:
        named = list(await session.scalars(select(Actor).where(Actor.id.in_(request.mention_ids))))
        html = mentions.with_mentions(svc, html, named)
        mentioned += [a for a in named if a not in mentioned]
    private = request.private_prompt or not svc.settings.generation.public_prompts
    if not private and media and author.domain is None:  # the author keeps prompts private by default
        private = bool(await session.scalar(select(User.private_prompts).where(User.actor_id == author.id)))
    extra = _provenance(media, private)
    tags = mentions.tag_objects(svc, hashtags, mentioned)
    remixed = await status_by_ap_id(session, extra.get("remix_of"))
    if "remix_of" in extra:
        extra["remix_url"] = remixed.url if remixed is not None and remixed.url else extra["remix_of"]
        tags.append(quote_link(extra["remix_of"]))
    to, cc = address(visibility, author.followers_url or svc.urls.followers(author.username),
                     [a.ap_id for a in mentioned])  # fmt: skip
    images = [attachment_to_ap(m, media_url(svc, m.federation_key)) for m in media]
    status = Status(
        ap_id="",
        actor_id=author.id,
        local=True,
        content=_with_remix_link(html, extra),
        source_text=request.text,
        summary=request.summary,
        sensitive=request.sensitive or bool(request.summary) or image_checks.marked_sensitive(media),
        visibility=visibility,
        language=language,
        in_reply_to_ap_id=parent.ap_id if parent else None,
        in_reply_to_id=parent.id if parent else None,
        to=to,
        cc=cc,
        tags=tags,
        attachments=list(request.attachments) + images,
        extra=extra,
        published=utcnow(),
    )
    session.add(status)
    await session.flush()
    for position, row in enumerate(media):
        row.status_id, row.position = status.id, position
    status.ap_id = svc.urls.status(author.username, status.id)
    status.url = svc.urls.status_page(author.username, status.id)
    poll = await polls.create_local(session, status, request.poll) if request.poll is not None else None
    new_mentions = await mentions.set_tags_and_mentions(session, status, hashtags, mentioned)
    # The remixed post's remote author gets the Create even when not addressed (to show the remix).
    remixed_author = await session.get(Actor, remixed.actor_id) if remixed is not None else None
    if "remix_of" in extra:
        await remixes.quote_parent(svc, session, author, status, remixed)
    extra_inboxes = []
    if remixed_author is not None and remixed_author.domain is not None and remixed_author.id != author.id:
        extra_inboxes.append(remixed_author.shared_inbox_url or remixed_author.inbox_url or "")
    await publish(
        session, author, create_of(status, author, svc.urls, poll, Counts()),  # new: nobody liked it yet
        extra_inboxes=[i for i in extra_inboxes if i],
    )  # fmt: skip
    await after_post(svc, session, status, author, new_mentions, parent)
    return status


async def after_post(
    svc: Services, session: AsyncSession, status: Status, author: Actor, new_mentions: list[Actor],
    parent: Status | None,
) -> None:  # fmt: skip
    """What follows every new post, whatever made it: the parent's reply count, notifications, lineage,
    quote request, the bot."""
    if parent is not None:
        await counts.bump(session, parent.id, replies=1)
    for actor in new_mentions:
        await notify(session, actor, Kind.MENTION, author, status)
    if (
        parent is not None
        and parent.local
        and parent.actor_id not in {author.id, *(a.id for a in new_mentions)}
    ):
        parent_author = await session.get(Actor, parent.actor_id)
        if parent_author is not None:
            await notify(session, parent_author, Kind.MENTION, author, status)
    await remixes.record_remix(session, status)
    if author.domain is None and is_public(status):
        await remixes.request_quote(svc, session, author, status)
    if await bot.on_status(svc, session, status) is not None:
        on_commit(session, svc.work_queued)


async def own_status(session: AsyncSession, author: Actor, status_id: int) -> Status:
    """One of the author's own posts (not a boost), or NotFoundError / ForbiddenError."""
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
    status.attachments = [attachment_to_ap(m, media_url(svc, m.federation_key)) for m in chosen]


async def edit_post(
    svc: Services, session: AsyncSession, author: Actor, status_id: int, text: str,
    summary: str | None = None, sensitive: bool | None = None, media_ids: list[int] | None = None,
    poll: polls.PollRequest | None = None, language: str | None = None,
    descriptions: Mapping[int, str] | None = None,
) -> Status:  # fmt: skip
    """Change a local post's text (its media, its poll, its language, the alt text of its media by media
    id in ``descriptions``) and send Update with ``updated`` to the same audience; what is not given
    stays as it was. A poll given with other options, or switched between single and multiple choice,
    loses its votes (as on Mastodon)."""
    require_active(author)
    status = await own_status(session, author, status_id)
    if poll is not None:
        polls.check_request(poll)
    if descriptions:
        if any(len(alt) > MAX_DESCRIPTION_CHARS for alt in descriptions.values()):
            raise ValidationError("description", f"alt text over {MAX_DESCRIPTION_CHARS} characters")
        on_post = select(MediaAttachment).where(
            MediaAttachment.status_id == status.id, MediaAttachment.id.in_(list(descriptions))
        )
        for row in await session.scalars(on_post):
            row.description = descriptions[row.id].strip()
        if media_ids is None:  # the attachments are written again with their new alt text
            media_ids = list(await session.scalars(
                select(MediaAttachment.id).where(MediaAttachment.status_id == status.id)
                .order_by(MediaAttachment.position)
            ))  # fmt: skip
    # As Mastodon's edit: the language asked for, else the post's, else the defaults a new post gets.
    status.language = (
        checked_language("language", language) or status.language or post_language(svc, author, None)
    )
    if media_ids is not None:
        await _replace_media(svc, session, author, status, media_ids)
    _check(PostRequest(text=text, visibility=status.visibility, attachments=status.attachments))
    html, hashtags, mentioned = await mentions.render_text(svc, session, text)
    status.content, status.source_text = _with_remix_link(html, status.extra), text
    if summary is not None:
        status.summary = summary
    if sensitive is not None:
        status.sensitive = sensitive or bool(status.summary)
    if media_ids is not None and not status.sensitive:  # images the classifier's rules mark sensitive
        on_post = select(MediaAttachment).where(MediaAttachment.status_id == status.id)
        status.sensitive = image_checks.marked_sensitive(await session.scalars(on_post))
    status.tags = mentions.tag_objects(svc, hashtags, mentioned) + [
        t for t in status.tags if t.get("type") == "Link"
    ]
    status.edited_at = utcnow()
    for actor in await mentions.set_tags_and_mentions(session, status, hashtags, mentioned):
        await notify(session, actor, Kind.MENTION, author, status)
    current = (
        await polls.replace_local(session, status, poll) if poll else await polls.poll_of(session, status.id)
    )
    counts = (await reactions.note_counts(session, [status.id]))[status.id]
    await publish(session, author, update_of(status, author, svc.urls, current, counts))
    return status


async def delete_post(svc: Services, session: AsyncSession, author: Actor, status_id: int) -> Status:
    """A local account deletes one of its posts."""
    return await _remove(svc, session, author, await own_status(session, author, status_id))


async def remove_status(svc: Services, session: AsyncSession, author: Actor, status: Status) -> Status:
    """A moderator deletes a post, local or remote (fedigen.social.account_moderation)."""
    return await _remove(svc, session, author, status)


async def _remove(svc: Services, session: AsyncSession, author: Actor, status: Status) -> Status:
    """Delete a post: a tombstone replaces it, its boosts and notifications go with it, and a local
    one's Delete is sent (servers that had it drop their copies and boosts of it)."""
    now = utcnow()
    if status.deleted_at is None:  # what it counted toward counts one less; it counts nothing itself
        await counts.bump(session, status.in_reply_to_id, replies=-1)
        await counts.bump(session, status.reblog_of_id, reblogs=-1)
    status.deleted_at = now
    await session.execute(
        update(Status)
        .where(Status.reblog_of_id == status.id, Status.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    await counts.recount(session, [status.id])
    await session.execute(delete(Notification).where(Notification.status_id == status.id))
    await session.execute(delete(StatusPin).where(StatusPin.status_id == status.id))
    if await session.scalar(select(Tombstone.id).where(Tombstone.ap_id == status.ap_id)) is None:
        session.add(Tombstone(ap_id=status.ap_id, actor_ap_id=author.ap_id, deleted_at=now))
    await session.flush()
    if author.domain is None:
        await publish(session, author, delete_of(status, author, now))
    return status
