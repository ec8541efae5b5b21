"""The public pages (no sign-in needed): profiles with their image grid, post pages with the remix family
and the thread, tag pages, the local timeline, Explore (trending posts and tags), the feeds, and the
"follow from your server" box (docs/web.md, "Public pages").

Profiles and posts are the same URLs peers fetch: asked for with an ActivityStreams ``Accept`` header
they answer with the actor or Note document itself (``Vary: Accept``). Remote posts get a page here,
``/@name@domain/ID``, for signed-in viewers only (as on Mastodon); visitors who are not signed in are
linked, and sent, to the post's own server.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from activitypub.content import sanitize_html
from activitypub.errors import ActivityPubError
from activitypub.webfinger import parse_handle, webfinger_url
from fedigen.errors import NotFoundError, ValidationError
from fedigen.federation import routes as federation
from fedigen.http import services, wants_as2
from fedigen.services import Services
from fedigen.social import polls, registrations, trends
from fedigen.social.accounts import get_local
from fedigen.social.media import media_url
from fedigen.social.remixes import lineage
from fedigen.social.standing import is_hidden
from fedigen.social.timelines import context as thread_of
from fedigen.social.timelines import public_query, tag_query, without_blocked
from fedigen.social.visibility import can_see
from fedigen.web import syndication as feeds
from fedigen.web.blur import placeholder
from fedigen.web.feeds import cards
from fedigen.web.pages import (
    BIGINT_MAX,
    PUBLIC_ONLY,
    Entry,
    account_counts,
    account_pictures,
    attachments_of,
    error_page,
    html_errors,
    local_status,
    max_id_param,
    poll_view,
    public_local_statuses,
    render,
    with_emojis,
)
from fedigen.web.session import checked_form, viewer_of
from storage.models import Actor, MediaAttachment, Status
from storage.vocabulary import PUBLIC_VISIBILITIES

GRID_PAGE_SIZE = 60
FEED_PAGE_SIZE = 20
EXPLORE_PAGE_SIZE = 30
EXPLORE_MAX_OFFSET = 300
MAX_FAMILY = 24
SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"
# A remix's own "Remix of <link>" paragraph: the post page shows the remix family instead.
QUOTE_PARAGRAPH = re.compile(r'<p class="quote-inline">.*?</p>', re.DOTALL)
FIELD_LINK_REL = "me nofollow noopener noreferrer"


@dataclass(frozen=True)
class Picture:
    """One image of a post as the pages show it: the full image, our square-ish thumbnail variant, the
    alt text, and the blurhash placeholder (a data: URI) shown until the thumbnail has loaded."""

    url: str
    thumb: str
    alt: str
    width: int | None = None
    height: int | None = None
    placeholder: str | None = None
    ai: bool = False


@dataclass(frozen=True)
class Post:
    """A post with everything a grid tile or a card needs, links already made (local or remote)."""

    entry: Entry
    href: str
    author_href: str
    handle: str
    pictures: list[Picture] = field(default_factory=list)
    # Attachments that are not shown as images (other types, media of a domain whose media is refused).
    files: list[tuple[str, str]] = field(default_factory=list)
    engagement: trends.Engagement | None = None

    @property
    def status(self) -> Status:
        return self.entry.status

    @property
    def author(self) -> Actor:
        return self.entry.author

    @property
    def local(self) -> bool:
        return bool(self.entry.status.local)

    @property
    def ai(self) -> bool:
        return any(p.ai for p in self.pictures) or bool((self.status.extra or {}).get("generation"))

    @property
    def warning(self) -> str:
        """The content warning (the author's, or one a moderator forces on the account)."""
        return self.status.summary or self.author.forced_cw or ""

    @property
    def sensitive(self) -> bool:
        return bool(self.status.sensitive or self.warning or self.author.sensitized_at is not None)


# ---- building posts ----


def handle_of(svc: Services, actor: Actor) -> str:
    """``@name@host`` of a local or remote account."""
    return f"@{actor.username}@{actor.domain or svc.urls.host}"


def profile_href(svc: Services, actor: Actor) -> str:
    """Our profile page of a local account; a remote account's own page."""
    return svc.urls.profile(actor.username) if actor.domain is None else _http(actor.url) or actor.ap_id


def post_href(svc: Services, status: Status, author: Actor, *, here: bool = False) -> str:
    """Our page of a local post; a remote post's page on its own server, or (``here``: for signed-in
    viewers) its page here, ``/@name@domain/ID``."""
    if status.local:
        return svc.urls.status_page(author.username, status.id)
    if here and author.domain:
        return f"{svc.urls.base}/@{author.username}@{author.domain}/{status.id}"
    return original_href(status)


def original_href(status: Status) -> str:
    """Where a post lives on its own server."""
    return _http(status.url) or status.ap_id


def _http(url: str | None) -> str | None:
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


# The media columns the pages read (whole ORM rows would cost more than the page's template).
MEDIA_COLUMNS = (
    MediaAttachment.status_id, MediaAttachment.state, MediaAttachment.federation_key,
    MediaAttachment.thumbnail_key, MediaAttachment.remote_url, MediaAttachment.media_type,
    MediaAttachment.description, MediaAttachment.width, MediaAttachment.height, MediaAttachment.blurhash,
    MediaAttachment.ai_generated,
)  # fmt: skip


def _pictures_of(
    svc: Services, status: Status, rows: Sequence[Any]
) -> tuple[list[Picture], list[tuple[str, str]]]:
    pictures: list[Picture] = []
    files: list[tuple[str, str]] = []
    if not rows:  # no media rows (older posts): the attachments as they were stored
        for item in attachments_of(status):
            if item.is_image:
                pictures.append(Picture(item.url, item.url, item.alt, item.width, item.height))
            else:
                files.append((item.url, item.alt or item.media_type or "attachment"))
        return pictures, files
    for row in rows:
        if row.state in ("processing", "failed"):
            continue
        full = media_url(svc, row.federation_key) if row.federation_key else _http(row.remote_url)
        if full is None:
            continue
        if row.state == "rejected" or not (row.media_type or "").startswith("image/"):
            files.append((full, row.description or row.media_type or "attachment"))
            continue
        thumb = media_url(svc, row.thumbnail_key) if row.thumbnail_key else full
        # The original's size: the variants keep its aspect ratio, which is what width and height give.
        pictures.append(Picture(full, thumb, row.description or "", row.width, row.height,
                                placeholder(row.blurhash), bool(row.ai_generated)))  # fmt: skip
    return pictures, files


async def build_posts(
    svc: Services,
    session: AsyncSession,
    rows: Iterable[tuple[Status, Actor]],
    *,
    engagement: bool = False,
    emojis: bool = True,
    here: bool = False,
) -> list[Post]:
    """Posts for the pages from (status, author) rows: emoji pictures (unless ``emojis`` is false: grid
    tiles show no names), media and links, in a fixed number of queries whatever the number of posts."""
    entries = [Entry(s, a) for s, a in rows]
    if emojis:
        entries = await with_emojis(svc, session, entries)
    ids = [e.status.id for e in entries]
    media: dict[int, list[Any]] = defaultdict(list)
    if ids:
        query = (
            select(*MEDIA_COLUMNS)
            .where(MediaAttachment.status_id.in_(ids))
            .order_by(MediaAttachment.status_id, MediaAttachment.position)
        )
        for row in await session.execute(query):
            media[row.status_id or 0].append(row)
    counts = await trends.engagement_of(session, [e.status for e in entries]) if engagement else {}
    posts = []
    for e in entries:
        pictures, files = _pictures_of(svc, e.status, media.get(e.status.id, []))
        posts.append(Post(e, post_href(svc, e.status, e.author, here=here), profile_href(svc, e.author),
                          handle_of(svc, e.author), pictures, files, counts.get(e.status.id)))  # fmt: skip
    return posts


async def _with_authors(session: AsyncSession, statuses: Sequence[Status]) -> list[tuple[Status, Actor]]:
    ids = {s.actor_id for s in statuses}
    authors = {a.id: a for a in await session.scalars(select(Actor).where(Actor.id.in_(ids)))} if ids else {}
    return [(s, authors[s.actor_id]) for s in statuses if s.actor_id in authors]


def _viewer_id(request: Request) -> int | None:
    viewer = viewer_of(request)
    return viewer.account.id if viewer is not None else None


def _closed(request: Request, what: str) -> Response | None:
    """The sign-in prompt, when logged-out visitors may not see this page (``[web]`` settings)."""
    if viewer_of(request) is not None:
        return None
    web = services(request).settings.web
    is_open = web.public_timelines if what == "timelines" else web.public_explore
    if is_open:
        return None
    context = {"what": what, "next": request.url.path}
    return render(request, "sign_in_prompt.html", context, status_code=401)


def field_html(value: Any) -> str:
    """A profile field's value, sanitised, its links marked ``rel="me"`` (verification by the linked
    site, as Mastodon does)."""
    return sanitize_html(value if isinstance(value, str) else "", link_rel=FIELD_LINK_REL)


# ---- profile ----


async def profile(request: Request) -> Response:
    """A local account: header, avatar, name, bio, fields, counts and the grid of its public posts;
    ActivityStreams clients get the actor document."""
    svc = services(request)
    if wants_as2(request):
        return await federation.actor(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        if await registrations.hidden(session, account):
            raise NotFoundError("no such account")
        if is_hidden(account):
            raise NotFoundError("this account is suspended")
        entries, next_max_id = await public_local_statuses(
            session, actor_id=account.id, max_id=max_id_param(request), visibilities=PUBLIC_VISIBILITIES,
            limit=GRID_PAGE_SIZE,
        )  # fmt: skip
        posts = await build_posts(svc, session, [(e.status, e.author) for e in entries], emojis=False)
        counts = await account_counts(session, account.id)
        pictures = await account_pictures(svc, session, account)
    context = {
        "account": account, "counts": counts, "posts": posts, "next_max_id": next_max_id,
        "account_emojis": pictures, "fields": [(f.get("name", ""), field_html(f.get("value")))
                                               for f in account.fields or [] if isinstance(f, dict)],
        "header": account.image_url or "/static/header.png", "handle": handle_of(svc, account),
        "follow_error": None, "follow_acct": "",
    }  # fmt: skip
    return render(request, "profile.html", context, ai_opt_out=account.ai_training_opt_out)


async def remote_follow(request: Request) -> Response:
    """The "follow from your server" box: the visitor's handle is looked up with WebFinger (through the
    fetcher, which refuses private addresses) and its server's subscribe template gives a link to the
    follow page there. A GET link, not a redirect: form-action would block a redirect elsewhere."""
    svc = services(request)
    form = await checked_form(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        if is_hidden(account) or await registrations.hidden(session, account):
            raise NotFoundError("no such account")
    given = str(form.get("acct") or "").strip()
    context: dict[str, Any] = {"account": account, "handle": handle_of(svc, account), "acct": given,
                               "follow_url": None, "error": None, "server": None}  # fmt: skip
    try:
        user, host = parse_handle(given)
    except ValueError:
        context["error"] = "Write your handle as @you@yourserver.example."
        return render(request, "remote_follow.html", context, status_code=400)
    context["server"] = host
    try:
        jrd = await svc.fetcher.fetch_jrd(
            webfinger_url(user, host, scheme=svc.settings.federation.webfinger_scheme)
        )
    except (ActivityPubError, ValueError):
        context["error"] = f"{host} did not answer about {given}: check the handle."
        return render(request, "remote_follow.html", context, status_code=422)
    offered = jrd.get("links")
    links = [link for link in offered if isinstance(link, dict)] if isinstance(offered, list) else []
    templates = [link.get("template") for link in links if link.get("rel") == SUBSCRIBE_REL]
    template = next((t for t in templates if isinstance(t, str)), None)
    if template is None or "{uri}" not in template:
        context["error"] = (f"{host} does not offer a follow page for other servers' accounts. Search for "
                            f"{context['handle']} in your app there instead.")  # fmt: skip
        return render(request, "remote_follow.html", context, status_code=422)
    url = template.replace("{uri}", quote(account.ap_id, safe=""))
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        context["error"] = f"{host} gave a follow page address that is not a web link."
        return render(request, "remote_follow.html", context, status_code=422)
    context["follow_url"] = url
    return render(request, "remote_follow.html", context)


# ---- post page ----


@dataclass(frozen=True)
class Relative:
    """A member of a remix family: a post we know (shown as a thumbnail), or only a link elsewhere."""

    href: str
    post: Post | None
    host: str


async def _family(
    svc: Services, session: AsyncSession, ap_ids: Sequence[str], viewer_id: int | None
) -> list[Relative]:
    if not ap_ids:
        return []
    known = {s.ap_id: s for s in await session.scalars(select(Status).where(Status.ap_id.in_(list(ap_ids))))}
    visible = [s for s in known.values() if await can_see(session, s, viewer_id)]
    built = await build_posts(svc, session, await _with_authors(session, visible), here=viewer_id is not None)
    posts = {p.status.ap_id: p for p in built}
    family: list[Relative] = []
    for ap_id in ap_ids:
        host = urlsplit(ap_id).netloc
        if ap_id in posts:
            family.append(Relative(posts[ap_id].href, posts[ap_id], host))
        elif ap_id not in known and _http(ap_id) and not svc.urls.is_local(ap_id):
            family.append(Relative(ap_id, None, host))  # a remote post we never received: a link
    return family


async def status_page(request: Request) -> Response:
    """One local post: images full size, alt text, content warning, generation record, remix family,
    thread and counts; ActivityStreams clients get the Note. ``/@name@domain/ID`` is a remote post's
    page, for signed-in viewers (others are sent to the post's own server)."""
    svc = services(request)
    if "@" in request.path_params["username"]:
        return await _remote_status_page(request)
    if wants_as2(request):
        return await federation.note(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        if is_hidden(account):
            raise NotFoundError("this account is suspended")
        status = await local_status(session, account, request.path_params["status_id"])
        if status.deleted_at is not None:
            return error_page(request, 410, "This post was deleted.")
        context = await _post_context(request, session, status, account)
    return render(request, "status.html", context, ai_opt_out=account.ai_training_opt_out)


async def _remote_status_page(request: Request) -> Response:
    svc = services(request)
    username, _, domain = str(request.path_params["username"]).partition("@")
    status_id = int(request.path_params["status_id"])
    viewer_id = _viewer_id(request)
    async with svc.reads() as session:
        author = await session.scalar(
            select(Actor).where(
                func.lower(Actor.username) == username.lower(), Actor.domain == domain.lower()
            )
        )
        status = await session.get(Status, status_id) if status_id <= BIGINT_MAX else None
        if (
            author is None or status is None or status.actor_id != author.id or status.local
            or status.reblog_of_id is not None or not await can_see(session, status, viewer_id)
        ):  # fmt: skip
            raise NotFoundError("no such post")
        if viewer_id is None or wants_as2(request):
            # Not signed in (as on Mastodon), or a server: the post lives on its own server.
            return RedirectResponse(original_href(status), status_code=302)
        context = await _post_context(request, session, status, author)
    return render(request, "status.html", context, ai_opt_out=author.ai_training_opt_out)


async def _post_context(
    request: Request, session: AsyncSession, status: Status, author: Actor
) -> dict[str, Any]:
    """What the post page shows of ``status`` (local or remote), as ``viewer`` may see it."""
    svc = services(request)
    viewer_id = _viewer_id(request)
    here = viewer_id is not None
    [post] = await build_posts(svc, session, [(status, author)], engagement=True, here=here)
    parents, children = await lineage(session, status)
    parent_family = await _family(svc, session, parents[:MAX_FAMILY], viewer_id)
    child_family = await _family(svc, session, children[:MAX_FAMILY], viewer_id)
    ancestors, descendants = await thread_of(session, status, viewer_id)
    before = await build_posts(svc, session, await _with_authors(session, ancestors), here=here)
    after = await build_posts(svc, session, await _with_authors(session, descendants), here=here)
    poll = await polls.poll_of(session, status.id)
    generation = (status.extra or {}).get("generation")
    content = QUOTE_PARAGRAPH.sub("", status.content or "") if "remix_of" in (status.extra or {}) else None
    viewer = viewer_of(request)
    # A signed-in viewer gets the app's actions (like, boost, reply, remix, bookmark, edit/delete, report).
    card = (await cards(svc, session, [status], viewer.account, None))[0] if viewer is not None else None
    return {
        "card": card,
        "post": post, "entry": post.entry, "generation": generation if isinstance(generation, dict) else None,
        "parents": parent_family, "more_parents": max(0, len(parents) - len(parent_family)),
        "children": child_family, "remix_count": len(children), "ancestors": before, "replies": after,
        "poll": poll_view(poll), "content": content, "canonical": original_href(status) if not status.local
        else post.href,
    }  # fmt: skip


# ---- tags, the local timeline, Explore ----


async def _page_of(
    svc: Services, session: AsyncSession, query: Any, max_id: int | None, limit: int, *, here: bool = False
) -> tuple[list[Post], int | None]:
    if max_id is not None:
        query = query.where(Status.id < max_id)
    statuses = list(await session.scalars(query.order_by(Status.id.desc()).limit(limit + 1)))
    more = len(statuses) > limit
    statuses = statuses[:limit]
    posts = await build_posts(svc, session, await _with_authors(session, statuses), here=here)
    return posts, statuses[-1].id if more and statuses else None


def _tag_name(request: Request) -> str:
    tag = str(request.path_params["tag"]).lstrip("#").lower()
    if not tag or len(tag) > 100:
        raise NotFoundError("no such tag")
    return tag


async def tag_page(request: Request) -> Response:
    """Public posts carrying a hashtag, from here and elsewhere, newest first."""
    closed = _closed(request, "timelines")
    if closed is not None:
        return closed
    svc = services(request)
    tag = _tag_name(request)
    async with svc.reads() as session:
        query = without_blocked(tag_query(tag), _viewer_id(request))
        posts, next_max_id = await _page_of(
            svc, session, query, max_id_param(request), FEED_PAGE_SIZE, here=viewer_of(request) is not None
        )
    return render(request, "tag.html", {"tag": tag, "posts": posts, "next_max_id": next_max_id})


async def local_timeline(request: Request) -> Response:
    """The local timeline: this server's public posts, newest first (Mastodon's /public/local)."""
    closed = _closed(request, "timelines")
    if closed is not None:
        return closed
    svc = services(request)
    async with svc.reads() as session:
        query = without_blocked(public_query(local=True), _viewer_id(request))
        posts, next_max_id = await _page_of(svc, session, query, max_id_param(request), FEED_PAGE_SIZE)
    return render(request, "local.html", {"posts": posts, "next_max_id": next_max_id})


def _offset(request: Request) -> int:
    value = request.query_params.get("offset", "") or "0"
    if not value.isdigit() or int(value) > EXPLORE_MAX_OFFSET:
        raise ValidationError("offset", f"must be a number from 0 to {EXPLORE_MAX_OFFSET}")
    return int(value)


async def explore(request: Request) -> Response:
    """Trending image posts (the rule: fedigen/social/trends.py, docs/web.md)."""
    closed = _closed(request, "explore")
    if closed is not None:
        return closed
    svc = services(request)
    offset = _offset(request)
    async with svc.reads() as session:
        ranked = await trends.trending_posts(session, svc.settings.trends, viewer_id=_viewer_id(request),
                                             offset=offset, limit=EXPLORE_PAGE_SIZE + 1)  # fmt: skip
        shown = ranked[:EXPLORE_PAGE_SIZE]
        authored = await _with_authors(session, [r.status for r in shown])
        posts = await build_posts(svc, session, authored, emojis=False, here=viewer_of(request) is not None)
    more = len(ranked) > EXPLORE_PAGE_SIZE and offset + EXPLORE_PAGE_SIZE <= EXPLORE_MAX_OFFSET
    context = {"posts": posts, "next_offset": offset + EXPLORE_PAGE_SIZE if more else None,
               "weights": svc.settings.trends, "tab": "posts"}  # fmt: skip
    return render(request, "explore.html", context)


async def explore_tags(request: Request) -> Response:
    """Trending hashtags."""
    closed = _closed(request, "explore")
    if closed is not None:
        return closed
    svc = services(request)
    async with svc.reads() as session:
        tags = await trends.trending_tags(session, svc.settings.trends, viewer_id=_viewer_id(request))
    return render(request, "explore_tags.html", {"tags": tags, "weights": svc.settings.trends, "tab": "tags"})


# ---- feeds ----


async def _feed_posts(svc: Services, session: AsyncSession, query: Any) -> list[Post]:
    statuses = list(await session.scalars(query.order_by(Status.id.desc()).limit(feeds.FEED_SIZE)))
    return await build_posts(svc, session, await _with_authors(session, statuses), emojis=False)


async def account_feed(request: Request) -> Response:
    """RSS 2.0 or Atom of a local account's public posts."""
    svc = services(request)
    async with svc.reads() as session:
        account = await get_local(session, request.path_params["username"])
        if is_hidden(account) or await registrations.hidden(session, account):
            raise NotFoundError("no such account")
        entries, _ = await public_local_statuses(session, actor_id=account.id, visibilities=PUBLIC_ONLY,
                                                 limit=feeds.FEED_SIZE)  # fmt: skip
        posts = await build_posts(svc, session, [(e.status, e.author) for e in entries], emojis=False)
    page = svc.urls.profile(account.username)
    title = f"{account.display_name or account.username} ({handle_of(svc, account)})"
    kind = request.path_params["kind"]
    feed = feeds.Feed(title, page, f"{page}.{kind}", f"Public posts of {handle_of(svc, account)}",
                      account.icon_url or svc.urls.avatar(account.username))  # fmt: skip
    return feeds.response(feed, posts, kind, ai_opt_out=account.ai_training_opt_out)


async def tag_feed(request: Request) -> Response:
    """RSS 2.0 or Atom of the public posts with a hashtag."""
    closed = _closed(request, "timelines")
    if closed is not None:
        return closed
    svc = services(request)
    tag = _tag_name(request)
    async with svc.reads() as session:
        posts = await _feed_posts(svc, session, tag_query(tag))
    page = svc.urls.tag(tag)
    kind = request.path_params["kind"]
    feed = feeds.Feed(f"#{tag} · {svc.settings.instance.name}", page, f"{page}.{kind}",
                      f"Public posts tagged #{tag} on {svc.urls.host}", None)  # fmt: skip
    return feeds.response(feed, posts, kind)


routes: list[BaseRoute] = [
    Route("/@{username}.{kind:feedkind}", html_errors(account_feed), methods=["GET"]),
    Route("/@{username}", html_errors(profile), methods=["GET"]),
    Route("/@{username}/remote_follow", html_errors(remote_follow), methods=["POST"]),
    Route("/@{username}/{status_id:int}", html_errors(status_page), methods=["GET"]),
    Route("/tags/{tag}.{kind:feedkind}", html_errors(tag_feed), methods=["GET"]),
    Route("/tags/{tag}", html_errors(tag_page), methods=["GET"]),
    Route("/public/local", html_errors(local_timeline), methods=["GET"]),
    Route("/explore", html_errors(explore), methods=["GET"]),
    Route("/explore/tags", html_errors(explore_tags), methods=["GET"]),
]
