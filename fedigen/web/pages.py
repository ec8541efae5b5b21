"""HTML pages for browsers: the instance home, about and default avatars, and what every page shares
(rendering, error pages, the queries of lists of posts). Profiles, posts, tags and Explore:
:mod:`fedigen.web.public`.

These are the same URLs peers fetch as ActivityStreams: a profile or status page asked for with an
AS2 ``Accept`` header redirects to the actor or Note id. Templates autoescape everything; only
``Status.content`` and ``Actor.summary``, sanitized when they were stored, are marked safe, with the
custom emoji they were sent with shown as pictures (:mod:`fedigen.web.emoji`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from activitypub.content import strip_html
from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import emoji, polls
from fedigen.social.accounts import get_local
from fedigen.social.roles import Permission
from fedigen.web.avatars import cached_identicon_png
from fedigen.web.emoji import emojify_html, emojify_text
from fedigen.web.session import CSRF_FIELD, CsrfError, csrf_token, viewer_of
from storage.models import Actor, Follow, Poll, Status, StatusTag
from storage.vocabulary import PUBLIC_VISIBILITIES, FollowState, Visibility

if TYPE_CHECKING:
    import jinja2
    from starlette.templating import Jinja2Templates

PAGE_SIZE = 20
DIRECTORY_SIZE = 40
AVATAR_SIZE = 256
PUBLIC_ONLY = (Visibility.PUBLIC,)
BIGINT_MAX = 2**63 - 1  # ids beyond this would overflow PostgreSQL's bigint before any row is looked up
PACKAGE_DIR = Path(__file__).resolve().parent

# Pages load nothing from elsewhere and run only the script files of /static (never inline script or
# inline style), so a string that slipped past escaping still cannot run.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data: blob:; "
        "media-src 'self' https:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
NEGOTIATED_HEADERS = {**PAGE_HEADERS, "Vary": "Accept"}
# An account opted out of AI training: the robots directives and the TDM reservation (TDMRep).
AI_OPT_OUT_HEADERS = {"X-Robots-Tag": "noai, noimageai", "tdm-reservation": "1"}
AVATAR_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Entry:
    """A status with its author, as a page lists it, and the pictures of the custom emoji each was sent
    with (shortcode -> URL of our copy)."""

    status: Status
    author: Actor
    emojis: Mapping[str, str] = field(default_factory=dict)
    author_emojis: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Attachment:
    """A media attachment checked for display: an http(s) URL and typed dimensions."""

    url: str
    alt: str
    media_type: str
    width: int | None
    height: int | None

    @property
    def is_image(self) -> bool:
        """True for images (and for attachments that do not say what they are)."""
        return not self.media_type or self.media_type.startswith("image/")


@dataclass(frozen=True)
class Counts:
    """A profile's numbers."""

    followers: int
    following: int
    posts: int


def attachments_of(status: Status) -> list[Attachment]:
    """The status's attachments that can be shown; entries without an http(s) URL are skipped."""
    shown: list[Attachment] = []
    for item in status.attachments or []:
        if not isinstance(item, dict):
            continue
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            continue
        name, media_type = item.get("name"), item.get("mediaType")
        width, height = item.get("width"), item.get("height")
        shown.append(
            Attachment(
                url=url,
                alt=name if isinstance(name, str) else "",
                media_type=media_type if isinstance(media_type, str) else "",
                width=width if isinstance(width, int) and width > 0 else None,
                height=height if isinstance(height, int) and height > 0 else None,
            )
        )
    return shown


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _when(value: datetime) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC")


def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(iso=_iso, when=_when, plain=strip_html, attachments=attachments_of,
                       emojify=emojify_html, emojify_text=emojify_text)  # fmt: skip
    return env


def _site(request: Request) -> dict[str, Any]:
    svc = services(request)
    return {"instance": svc.settings.instance, "urls": svc.urls, "host": svc.urls.host,
            "viewer": viewer_of(request), "csrf_token": lambda: csrf_token(request),
            "csrf_field": CSRF_FIELD, "Permission": Permission}  # fmt: skip


@cache
def templates() -> Jinja2Templates:
    """The pages' templates, set up by the first page rendered: Jinja2 and each template load then, so a
    process that serves no page (a worker, a federation-only server) never carries them."""
    from starlette.templating import Jinja2Templates

    return Jinja2Templates(env=_environment(), context_processors=[_site])


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200, ai_opt_out: bool = False
) -> Response:
    """A template as an HTML response with the pages' security headers; ``ai_opt_out`` adds the
    AI-training reservation of the account the page shows (docs/privacy.md)."""
    headers = NEGOTIATED_HEADERS if name in ("profile.html", "status.html") else PAGE_HEADERS
    if ai_opt_out:
        headers = {**headers, **AI_OPT_OUT_HEADERS}
    return templates().TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def error_page(request: Request, status_code: int, message: str) -> Response:
    """The HTML error page (browsers get a page, not the JSON the API answers with)."""
    titles = {
        400: "Bad request",
        403: "Not allowed",
        404: "Not found",
        405: "Not allowed",
        410: "Gone",
        413: "Too large",
        422: "Cannot be done",
        429: "Slow down",
        500: "Something went wrong",
    }
    context = {"code": status_code, "title": titles.get(status_code, "Error"), "message": message}
    return render(request, "error.html", context, status_code=status_code)


Handler = Callable[[Request], Awaitable[Response]]


def html_errors(handler: Handler) -> Handler:
    """Turn the use-case errors a page can meet into HTML error pages."""

    @wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except NotFoundError:
            return error_page(request, 404, "There is nothing here, or it is not public.")
        except ValidationError as exc:
            return error_page(request, 400, str(exc))
        except (CsrfError, ForbiddenError) as exc:
            return error_page(request, 403, str(exc))

    return wrapper


def max_id_param(request: Request) -> int | None:
    """The ``?max_id=`` cursor: only statuses with a smaller id are listed."""
    value = request.query_params.get("max_id")
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) > BIGINT_MAX:
        raise ValidationError("max_id", "must be a status id")
    return int(value)


# ---- queries ----


def _pictures(svc: Services, rows: Iterable[Any]) -> dict[str, str]:
    """Shortcode -> our copy's URL, for the emoji whose image has been copied (pages never hot-link)."""
    images = (emoji.image_of(svc, row) for row in rows)
    return {image.shortcode: image.url for image in images if image is not None and image.cached}


async def with_emojis(svc: Services, session: AsyncSession, entries: list[Entry]) -> list[Entry]:
    """The entries with the pictures of their statuses' and authors' custom emoji."""
    if not entries:
        return entries
    by_status = await emoji.status_emojis(session, [e.status.id for e in entries])
    by_actor = await emoji.actor_emojis(session, [e.author.id for e in entries])
    return [
        Entry(
            e.status,
            e.author,
            _pictures(svc, by_status.get(e.status.id, [])),
            _pictures(svc, by_actor.get(e.author.id, [])),
        )  # fmt: skip
        for e in entries
    ]


async def account_pictures(svc: Services, session: AsyncSession, account: Actor) -> dict[str, str]:
    """The pictures of the custom emoji an account's name and bio were sent with."""
    return _pictures(svc, (await emoji.actor_emojis(session, [account.id])).get(account.id, []))


async def public_local_statuses(
    session: AsyncSession,
    *,
    actor_id: int | None = None,
    tag: str | None = None,
    max_id: int | None = None,
    limit: int = PAGE_SIZE,
    visibilities: Iterable[Visibility] = PUBLIC_ONLY,
) -> tuple[list[Entry], int | None]:
    """Local, not deleted, not boosted statuses newest first, and the ``max_id`` of the next page."""
    query = (
        select(Status, Actor)
        .join(Actor, Actor.id == Status.actor_id)
        .where(
            Status.local.is_(True),
            Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None),
            Status.visibility.in_(visibilities),
            Actor.deleted_at.is_(None),
            Actor.suspended_at.is_(None),
        )
        .order_by(Status.id.desc())
        .limit(limit + 1)
    )
    if actor_id is not None:
        query = query.where(Status.actor_id == actor_id)
    if tag is not None:
        query = query.join(StatusTag, StatusTag.status_id == Status.id).where(StatusTag.name == tag)
    if max_id is not None:
        query = query.where(Status.id < max_id)
    entries = [Entry(status, author) for status, author in await session.execute(query)]
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, entries[-1].status.id if more else None


def _local_accounts() -> Any:
    return select(Actor).where(
        Actor.domain.is_(None), Actor.ap_type != "Application", Actor.deleted_at.is_(None),
        Actor.suspended_at.is_(None),
    )  # fmt: skip


async def local_account_count(session: AsyncSession) -> int:
    """How many accounts this instance has (the instance actor is not one)."""
    query = select(func.count()).select_from(_local_accounts().subquery())
    return int(await session.scalar(query) or 0)


async def directory(session: AsyncSession, limit: int = DIRECTORY_SIZE) -> list[Actor]:
    """Local accounts that opted into discovery, oldest first."""
    rows = await session.scalars(
        _local_accounts().where(Actor.discoverable.is_(True)).order_by(Actor.id).limit(limit)
    )
    return list(rows)


async def account_counts(session: AsyncSession, actor_id: int) -> Counts:
    """Accepted followers and follows, and posts anyone may see (the outbox's total), in one query."""
    follows = select(func.count()).select_from(Follow).where(Follow.state == FollowState.ACCEPTED)
    posts = (
        select(func.count())
        .select_from(Status)
        .where(
            Status.actor_id == actor_id,
            Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None),
            Status.visibility.in_(PUBLIC_VISIBILITIES),
        )
    )
    row = (
        await session.execute(
            select(
                follows.where(Follow.followee_id == actor_id).scalar_subquery(),
                follows.where(Follow.follower_id == actor_id).scalar_subquery(),
                posts.scalar_subquery(),
            )
        )
    ).one()
    return Counts(followers=int(row[0] or 0), following=int(row[1] or 0), posts=int(row[2] or 0))


async def local_status(session: AsyncSession, account: Actor, status_id: int) -> Status:
    """An own, public or unlisted status of ``account`` (deleted ones included), or NotFoundError."""
    status = await session.get(Status, status_id) if status_id <= BIGINT_MAX else None
    if (
        status is None
        or status.actor_id != account.id
        or not status.local
        or status.reblog_of_id is not None
        or status.visibility not in PUBLIC_VISIBILITIES
    ):
        raise NotFoundError("no such status")
    return status


# ---- endpoints ----


async def home(request: Request) -> Response:
    """The instance's front page: what it is, who is here, and the latest public posts."""
    svc = services(request)
    async with svc.reads() as session:
        entries, next_max_id = await public_local_statuses(session, max_id=max_id_param(request))
        entries = await with_emojis(svc, session, entries)
        accounts, people = await local_account_count(session), await directory(session)
    context = {"entries": entries, "next_max_id": next_max_id, "accounts": accounts, "people": people}
    return render(request, "home.html", context)


async def about(request: Request) -> Response:
    """What the instance is, whom to contact, and how to follow its accounts from elsewhere."""
    async with services(request).reads() as session:
        people = [a for a in await directory(session, limit=5) if a.ap_type == "Person"]
    bot = services(request).settings.bot
    context = {"example": people[0].username if people else "name",
               "bot": bot.username if bot.enabled else None}  # fmt: skip
    return render(request, "about.html", context)


def poll_view(poll: Poll | None) -> dict[str, Any] | None:
    """What the status page shows of a poll: options with their votes (unless the author hides them until
    the end), the total, and when it ends or ended."""
    if poll is None:
        return None
    ended = polls.has_ended(poll)
    shown = ended or not poll.hide_totals
    tallies = list(poll.tallies or [])
    options = [
        (title, int(tallies[i]) if shown and i < len(tallies) else None)
        for i, title in enumerate(poll.options)
    ]
    return {"options": options, "votes": polls.votes_count(poll), "ended": ended,
            "expires_at": poll.expires_at, "multiple": poll.multiple}  # fmt: skip


async def avatar(request: Request) -> Response:
    """The default avatar of a local account: an identicon PNG, the same forever for that account."""
    async with services(request).reads() as session:
        try:
            account = await get_local(session, request.path_params["username"])
        except NotFoundError:
            return Response("no such account\n", status_code=404, media_type="text/plain")
    png = await asyncio.to_thread(cached_identicon_png, account.ap_id, AVATAR_SIZE)
    return Response(png, media_type="image/png", headers=AVATAR_HEADERS)


routes: list[BaseRoute] = [
    Route("/", html_errors(home), methods=["GET"]),
    Route("/about", html_errors(about), methods=["GET"]),
    Route("/avatars/{username}.png", avatar, methods=["GET"]),
    Mount("/static", app=StaticFiles(directory=PACKAGE_DIR / "static", check_dir=False), name="static"),
]
