"""The generation bot: a Service account anyone on the fediverse can mention with a prompt.

A mention becomes a generation job whose images come back as a reply addressed to whoever asked
(public and unlisted requests get replies of the same visibility; followers-only and direct requests
get a direct reply, so nobody else sees them). Refusals (a blocked prompt, the hourly limits per
account and per domain) get a short reply saying why; past the limit an account gets one refusal an
hour and then silence, so the bot cannot be used to flood anyone. Other bots are never answered,
which keeps two bots from talking to each other forever.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.content import strip_html
from activitypub.urls import LocalUrls
from fedigen.config import Settings
from fedigen.errors import ConflictError, NotFoundError
from fedigen.services import Services
from fedigen.social import accounts, generations, posts, refusals
from generation.errors import BackendError, PromptRefusedError
from generation.jobs import JobSpec, jobs_in_last_hour, submit
from storage import queue
from storage.models import Actor, GenerationJob, MediaAttachment, Mention, Status
from storage.vocabulary import PUBLIC_VISIBILITIES, Visibility

log = logging.getLogger(__name__)

MENTION_RE = re.compile(r"(?<![\w/])@[\w.-]+(?:@[\w.-]+(?::\d+)?)?")
BOT_TYPES = ("Service", "Application")


def help_text(settings: Settings) -> str:
    """The bot's profile text, saying how to use it."""
    handle = f"@{settings.bot.username}@{settings.host}"
    return (
        f"I make images. Mention me with a prompt, for example “{handle} a lighthouse in fog”, and I reply "
        "with the picture. Images are AI-generated and labelled as such."
    )


async def ensure_bot(session: AsyncSession, settings: Settings, urls: LocalUrls) -> Actor | None:
    """The bot account, created when enabled and missing (caller commits)."""
    if not settings.bot.enabled:
        return None
    try:
        return await accounts.get_local(session, settings.bot.username)
    except NotFoundError:
        pass
    try:
        actor = await accounts.create_account(session, urls, settings.bot.username, bot=True)
    except ConflictError:
        return None
    actor.display_name = settings.bot.display_name
    actor.summary = f"<p>{help_text(settings)}</p>"
    return actor


async def find_bot(session: AsyncSession, settings: Settings) -> Actor | None:
    """The bot account, if enabled and made."""
    if not settings.bot.enabled:
        return None
    try:
        return await accounts.get_local(session, settings.bot.username)
    except NotFoundError:
        return None


def prompt_of(status: Status) -> str:
    """The request's text without the mentions in it, and without invisible characters (zero-width
    spaces, joiners, direction marks), which could hide a mention from this very stripping."""
    text = "".join(c for c in strip_html(status.content) if unicodedata.category(c) != "Cf")
    return " ".join(MENTION_RE.sub(" ", text).split())


def _reply_visibility(visibility: Visibility) -> Visibility:
    return visibility if visibility in PUBLIC_VISIBILITIES else Visibility.DIRECT


async def on_status(svc: Services, session: AsyncSession, status: Status) -> GenerationJob | None:
    """If ``status`` mentions the bot, queue its image or reply with a refusal (caller commits)."""
    bot = await find_bot(session, svc.settings)
    if bot is None or status.actor_id == bot.id or status.reblog_of_id is not None:
        return None
    mentioned = await session.scalar(
        select(Mention.id).where(Mention.status_id == status.id, Mention.actor_id == bot.id)
    )
    author = await session.get(Actor, status.actor_id)
    if mentioned is None or author is None or author.ap_type in BOT_TYPES:
        return None
    # The reply mentions the requester and nobody else: its text quotes the request literally, so
    # nothing in a prompt (or in a remote username) can become a mention, a link or an address.
    reply = generations.post_options(
        visibility=_reply_visibility(status.visibility), in_reply_to_id=status.id, sensitive=status.sensitive,
        literal=True, mention_ids=[author.id],
    )  # fmt: skip
    bot_settings = svc.settings.bot
    limit = (
        bot_settings.per_account_per_hour
        if author.domain
        else await generations.jobs_per_hour(svc, session, author)
    )
    used = await jobs_in_last_hour(session, requester_id=author.id)
    domain_used = await jobs_in_last_hour(session, domain=author.domain) if author.domain else 0
    prompt = prompt_of(status)
    refusal: str | None = None
    if limit and used >= limit:
        refusal = f"you have asked for {limit} images in the last hour; try again later."
    elif (
        author.domain and bot_settings.per_domain_per_hour and domain_used >= bot_settings.per_domain_per_hour
    ):
        refusal = f"{author.domain} has asked for many images in the last hour; try again later."
    elif not prompt:
        refusal = (
            f"tell me what to draw: mention me with a prompt, like “@{bot.username} a lighthouse in fog”."
        )
    else:
        try:
            prompt = await generations.check_prompt(svc, prompt)
        except PromptRefusedError as exc:
            refusal = exc.reason
            refused = refusals.refusal(refusals.PROMPT, "bot", exc.reason, account_id=author.id,
                                       prompt=prompt)  # fmt: skip
            refusals.record(session, refused)
        except BackendError:
            refusal = "I cannot check prompts right now; try again later."
    spec = JobSpec(prompt=prompt[: svc.settings.generation.max_prompt_chars] or "(none)")
    if refusal is not None:
        # Recorded as a failed job so refusals count toward the limits; one refusal an hour past them.
        job = await submit(session, svc.job_settings, spec, account_id=bot.id, requester_id=author.id,
                           requester_domain=author.domain, purpose="bot_reply", post=reply)  # fmt: skip
        queue.mark_failed(job, refusal)
        if not limit or used <= limit:
            await _text_reply(svc, session, bot, job, f"Sorry, {refusal}")
        return job
    reply["text"] = f"Here is “{prompt}”."
    return await submit(session, svc.job_settings, spec, account_id=bot.id, requester_id=author.id,
                        requester_domain=author.domain, purpose="bot_reply", post=reply)  # fmt: skip


async def reply_with_images(
    svc: Services, session: AsyncSession, job: GenerationJob, media: list[MediaAttachment]
) -> Status:
    """The bot's reply carrying a finished job's images."""
    return await generations.image_post(svc, session, job, media)


async def reply_failed(svc: Services, session: AsyncSession, job: GenerationJob, reason: str) -> None:
    """Tell the requester the image could not be made."""
    bot = await session.get(Actor, job.account_id)
    requester = await session.get(Actor, job.requester_id)
    if bot is None or requester is None:
        return
    text = f"Sorry, I could not make that image ({reason[:200]})."
    await _text_reply(svc, session, bot, job, text)


async def _text_reply(
    svc: Services, session: AsyncSession, bot: Actor, job: GenerationJob, text: str
) -> None:
    options = job.post
    request = posts.PostRequest(
        text=text, visibility=str(options.get("visibility") or "direct"),
        in_reply_to_id=options.get("in_reply_to_id"), literal=True, mention_ids=[job.requester_id],
    )  # fmt: skip
    try:
        status = await posts.create_post(svc, session, bot, request)
    except (NotFoundError, ValueError) as exc:
        log.info("bot could not reply to job %s: %s", job.id, exc)
        return
    job.status_id = status.id
