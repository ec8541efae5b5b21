"""The signed-in app's feeds and actions: home, the federated timeline, For you, bookmarks,
notifications, search, and what can be done to a post from them (like, boost, bookmark, reply, edit,
delete, report) and to an account (follow, unfollow by handle).

Every page reads with the same queries as the client API (:mod:`fedigen.social.timelines`,
:mod:`fedigen.social.for_you`) and renders the same Status entities (:mod:`fedigen.api.entities`), so
filters, counts and the viewer's own state are those any app shows. Every action is the one home of
that action in :mod:`fedigen.social`. Forms are plain POSTs with a CSRF token that answer 303 back
to the page; ``static/js/app.js`` sends the same POSTs with ``fetch`` and updates the counts in place
(it asks for JSON with ``Accept: application/json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import status_entities
from fedigen.api.pagination import Page
from fedigen.api.search import HANDLE_RE, resolve_remote, search_accounts, search_hashtags, search_statuses
from fedigen.api.statuses import as_id
from fedigen.api.timelines import home_page
from fedigen.errors import FedigenError, ForbiddenError, NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import follows, for_you, mentions, posts, reactions, reports, timelines
from fedigen.social.lookup import find_actor
from fedigen.social.notifications import not_muted
from fedigen.social.posts import PostRequest
from fedigen.social.visibility import visible_status
from fedigen.web.pages import html_errors, render
from fedigen.web.session import Viewer, checked_form, safe_next, signed_in, viewer_of
from storage.clients import Bookmark, Marker
from storage.models import Actor, Follow, MediaAttachment, Notification, Remix, Status, utcnow
from storage.vocabulary import FollowState

PAGE_SIZE = 20
NOTIFICATIONS_PAGE = 40
FOR_YOU_PAGE = 20
MAX_QUERY = 500
ACTIONS = ("favourite", "unfavourite", "reblog", "unreblog", "bookmark", "unbookmark")


def _viewer(request: Request) -> Viewer:
    viewer = viewer_of(request)
    assert viewer is not None  # pages are wrapped in signed_in
    return viewer


def _acting(request: Request) -> Viewer:
    """The viewer, when they may act (an unconfirmed or unapproved account may only look)."""
    viewer = _viewer(request)
    if viewer.refusal:
        raise ForbiddenError(viewer.refusal)
    return viewer


async def _me(session: AsyncSession, viewer: Viewer) -> Actor:
    actor = await session.get(Actor, viewer.account.id)
    if actor is None:
        raise NotFoundError("no such account")
    return actor


def _cursor(request: Request, name: str = "max_id") -> int | None:
    value = request.query_params.get(name)
    if not value:
        return None
    found = as_id(value)
    if found is None:
        raise ValidationError(name, "must be an id")
    return found


def _back(request: Request, form: FormData, default: str) -> str:
    return safe_next(str(form.get("next") or ""), default)


def wants_json(request: Request) -> bool:
    """The enhancing script asks for JSON; a plain form post gets a redirect."""
    return "application/json" in request.headers.get("accept", "")


async def remix_counts(session: AsyncSession, ids: Sequence[int]) -> dict[int, int]:
    """How many remixes of each post this instance knows of."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Remix.parent_status_id, func.count()).where(Remix.parent_status_id.in_(list(ids)))
        .group_by(Remix.parent_status_id)
    )  # fmt: skip
    return {int(k): int(v) for k, v in rows if k is not None}


async def cards(
    svc: Services, session: AsyncSession, rows: Sequence[Status], viewer: Actor, context: str | None
) -> list[dict[str, Any]]:
    """Status entities for the feed templates, each with ``remixes_count`` (of what it shows)."""
    return await _with_remixes(session, await status_entities.statuses(svc, session, rows, viewer, context))


async def _with_remixes(session: AsyncSession, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = [int((e["reblog"] or e)["id"]) for e in found]
    remixes = await remix_counts(session, shown)
    for entity in found:
        target = entity["reblog"] or entity
        target["remixes_count"] = remixes.get(int(target["id"]), 0)
    return found


def _feed(request: Request, title: str, entries: list[dict[str, Any]], next_url: str | None,
          empty: str, **extra: Any) -> Response:  # fmt: skip
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context = {"title": title, "entries": entries, "next_url": next_url, "empty": empty, "here": here}
    context.update(extra)
    return render(request, "app/feed.html", context)


# ---- feeds ----


async def home_feed(request: Request) -> Response:
    """GET /home: the viewer's and their follows' posts and boosts, and posts with followed tags."""
    viewer = _viewer(request)
    max_id = _cursor(request)
    svc = services(request)
    async with svc.reads() as session:
        me = await _me(session, viewer)
        # The client API's home timeline: the same rows (read within id windows on SQLite) and rendering.
        rows, found = await home_page(svc, me.id, Page(limit=PAGE_SIZE, max_id=max_id))
        entries = await _with_remixes(session, found)
    next_url = f"/home?max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None
    return _feed(request, "Home", entries, next_url,
                 "Nothing here yet: follow people or hashtags, or make something in Create.")  # fmt: skip


async def public_feed(request: Request) -> Response:
    """GET /public: public posts from every server this one knows (?local=1 for this server's only)."""
    viewer = _viewer(request)
    max_id = _cursor(request)
    svc = services(request)
    async with svc.reads() as session:
        me = await _me(session, viewer)
        query = timelines.without_blocked(timelines.public_query(), me.id)
        if max_id is not None:
            query = query.where(Status.id < max_id)
        rows = list(await session.scalars(query.order_by(Status.id.desc()).limit(PAGE_SIZE)))
        entries = await cards(svc, session, rows, me, "public")
    next_url = f"/public?max_id={rows[-1].id}" if len(rows) == PAGE_SIZE else None
    return _feed(request, "Federated", entries, next_url, "No public posts known here yet.")


async def for_you_feed(request: Request) -> Response:
    """GET /for-you: recent posts of the known network ranked by the viewer's own signals
    (:mod:`fedigen.social.for_you`), each with its reason."""
    viewer = _viewer(request)
    page = request.query_params.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= 100:
        raise ValidationError("page", "must be a page number")
    number = int(page)
    svc = services(request)
    async with svc.reads() as session:
        me = await _me(session, viewer)
        ranked = await for_you.rank(session, me.id)
        # The viewer's filters: "hide" ones leave posts out, "warn" ones rank them lower.
        rendered = {
            int(e["id"]): e for e in await cards(svc, session, [r.status for r in ranked], me, "public")
        }
        warned = {i for i, e in rendered.items() if e["filtered"]}
        if warned:
            ranked = await for_you.rank(session, me.id, warned=warned)
    ranked = [r for r in ranked if r.status.id in rendered]
    start = (number - 1) * FOR_YOU_PAGE
    chosen = ranked[start : start + FOR_YOU_PAGE]
    entries = [{**rendered[r.status.id], "reason": r.reason} for r in chosen]
    next_url = f"/for-you?page={number + 1}" if len(ranked) > start + FOR_YOU_PAGE else None
    return _feed(request, "For you", entries, next_url,
                 "Nothing to suggest yet: follow people or hashtags, like and remix posts.",
                 intro=True)  # fmt: skip


async def bookmarks_page(request: Request) -> Response:
    """GET /bookmarks: the viewer's bookmarks, newest bookmark first."""
    viewer = _viewer(request)
    max_id = _cursor(request)
    svc = services(request)
    async with svc.reads() as session:
        me = await _me(session, viewer)
        query = timelines.bookmarks_query(me.id)
        if max_id is not None:
            query = query.where(Bookmark.id < max_id)
        found = list(await session.execute(query.order_by(Bookmark.id.desc()).limit(PAGE_SIZE)))
        entries = await cards(svc, session, [r[0] for r in found], me, None)
    next_url = f"/bookmarks?max_id={found[-1][1]}" if len(found) == PAGE_SIZE else None
    return _feed(request, "Bookmarks", entries, next_url, "No bookmarks yet.")


# ---- notifications ----


async def notifications_page(request: Request) -> Response:
    """GET /notifications: newest first, likes and boosts of the same post grouped, unread marked."""
    viewer = _viewer(request)
    max_id = _cursor(request)
    svc = services(request)
    async with svc.reads() as session:
        me = await _me(session, viewer)
        # As the client API lists them: not from accounts muted with their notifications.
        query = select(Notification).where(Notification.recipient_id == me.id, not_muted(me))
        if max_id is not None:
            query = query.where(Notification.id < max_id)
        rows = list(await session.scalars(query.order_by(Notification.id.desc()).limit(NOTIFICATIONS_PAGE)))
        found = await status_entities.notifications(svc, session, rows, me)
        marker = await session.scalar(
            select(Marker.last_read_id).where(Marker.account_id == me.id, Marker.timeline == "notifications")
        )
    last_read = int(marker) if marker and marker.isdigit() else 0
    groups = group_notifications(found, last_read)
    next_url = f"/notifications?max_id={rows[-1].id}" if len(rows) == NOTIFICATIONS_PAGE else None
    context = {"groups": groups, "next_url": next_url, "unread": any(g["unread"] for g in groups),
               "newest": rows[0].id if rows else 0}  # fmt: skip
    return render(request, "app/notifications.html", context)


def group_notifications(found: list[dict[str, Any]], last_read: int) -> list[dict[str, Any]]:
    """Notifications of the same kind about the same post as one entry ("bob and 2 others liked"),
    in the order of their newest; mentions, follows and the rest stand alone."""
    groups: list[dict[str, Any]] = []
    by_key: dict[tuple[str, str], dict[str, Any]] = {}
    for item in found:
        status = item.get("status")
        groupable = item["type"] in ("favourite", "reblog", "pleroma:emoji_reaction") and status is not None
        key = (item["type"], status["id"]) if groupable and status is not None else None
        unread = int(item["id"]) > last_read
        if key is not None and key in by_key:
            group = by_key[key]
            if all(a["id"] != item["account"]["id"] for a in group["accounts"]):
                group["accounts"].append(item["account"])
            group["unread"] = group["unread"] or unread
            continue
        group = {"type": item["type"], "accounts": [item["account"]], "status": status,
                 "created_at": item["created_at"], "unread": unread, "id": item["id"]}  # fmt: skip
        groups.append(group)
        if key is not None:
            by_key[key] = group
    return groups


async def mark_read(request: Request) -> Response:
    """POST /notifications/read: everything up to the newest shown is read (the same marker the client
    API's ``/api/v1/markers`` keeps, so apps agree)."""
    viewer = _acting(request)
    form = await checked_form(request)
    newest = str(form.get("newest") or "")
    if as_id(newest) is None:
        raise ValidationError("newest", "must be a notification id")
    async with services(request).sessions() as session, session.begin():
        row = await session.scalar(
            select(Marker).where(Marker.account_id == viewer.account.id, Marker.timeline == "notifications")
        )
        if row is None:
            session.add(Marker(account_id=viewer.account.id, timeline="notifications", last_read_id=newest))
        elif not row.last_read_id.isdigit() or int(row.last_read_id) < int(newest):
            row.last_read_id, row.version = newest, row.version + 1
        await session.execute(
            update(Notification)
            .where(Notification.recipient_id == viewer.account.id, Notification.id <= int(newest),
                   Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )  # fmt: skip
    return RedirectResponse("/notifications", status_code=303)


# ---- search and follows ----


async def search_page(request: Request) -> Response:
    """GET /search?q=: accounts, hashtags and posts; ``@user@host`` and URLs are looked up on their
    servers (the client API's search with ``resolve=true``)."""
    viewer = _viewer(request)
    query = (request.query_params.get("q") or "").strip()[:MAX_QUERY]
    svc = services(request)
    context: dict[str, Any] = {"q": query, "accounts": [], "hashtags": [], "entries": [], "following": {},
                               "error": None}  # fmt: skip
    if query:
        actor_id, status_id = await resolve_remote(svc, query, None)
        async with svc.reads() as session:
            me = await _me(session, viewer)
            actors = await search_accounts(svc, session, query, viewer=me, resolved=actor_id, limit=20)
            context["accounts"] = actors
            context["following"] = await _follow_states(session, me, actors)
            context["hashtags"] = await search_hashtags(session, query, limit=20)
            found = await search_statuses(session, query, viewer=me, resolved=status_id)
            context["entries"] = await cards(svc, session, found, me, None)
        if not (actors or context["hashtags"] or context["entries"]):
            context["error"] = "Nothing found." + (
                " That server did not answer, or has no such account." if HANDLE_RE.match(query) else ""
            )
    return render(request, "app/search.html", context)


async def _follow_states(session: AsyncSession, me: Actor, actors: Sequence[Actor]) -> dict[int, str]:
    rows = await session.execute(
        select(Follow.followee_id, Follow.state).where(
            Follow.follower_id == me.id, Follow.followee_id.in_([a.id for a in actors]))
    )  # fmt: skip
    return {int(k): "following" if v == FollowState.ACCEPTED else "requested" for k, v in rows}


async def follow_submit(request: Request) -> Response:
    """POST /follow and /unfollow: follow or unfollow the account a handle names (looked up on its
    server when unknown), with the same use-case as the client API."""
    viewer = _acting(request)
    form = await checked_form(request)
    handle = str(form.get("handle") or "").strip()
    back = _back(request, form, f"/search?q={quote(handle, safe='')}")
    if not handle or len(handle) > MAX_QUERY:
        raise ValidationError("handle", "give a handle such as @name@example.social")
    svc = services(request)
    try:
        target = await find_actor(svc, handle)  # may ask the other server, outside any transaction
    except (FedigenError, ValueError) as exc:
        raise NotFoundError(f"no account {handle}: {exc}") from None
    unfollow = request.url.path.endswith("/unfollow")
    async with svc.sessions() as session, session.begin():
        me = await _me(session, viewer)
        account = await session.get(Actor, target.id)
        if account is None:
            raise NotFoundError("no such account")
        if unfollow:
            try:
                await follows.unfollow(svc, session, me, account)
            except NotFoundError:
                pass  # not following is what was asked
        else:
            await follows.follow(svc, session, me, account)
    svc.work_queued()
    return RedirectResponse(back, status_code=303)


# ---- actions on a post ----


async def _status_of(session: AsyncSession, request: Request, me: Actor) -> Status:
    found = as_id(str(request.path_params.get("status_id", "")))
    if found is None:
        raise NotFoundError("no such post")
    return await visible_status(session, found, me.id)


async def status_action(request: Request) -> Response:
    """POST /statuses/ID/ACTION (favourite, unfavourite, reblog, unreblog, bookmark, unbookmark): as the
    client API's same-named endpoints; a boost is acted on as the post it boosts."""
    viewer = _acting(request)
    action = str(request.path_params["action"])
    if action not in ACTIONS:
        raise NotFoundError("no such action")
    form = await checked_form(request)
    svc = services(request)
    async with svc.sessions() as session:
        me = await _me(session, viewer)
        status = await _status_of(session, request, me)
        if status.reblog_of_id is not None:
            status = await visible_status(session, status.reblog_of_id, me.id)
        if action == "reblog":
            await reactions.reblog(svc, session, me, status)
        elif action in ("favourite", "unfavourite", "unreblog"):
            await getattr(reactions, action)(svc, session, me, status)
        else:
            await getattr(reactions, action)(session, me, status)
        await session.flush()
        [entity] = await cards(svc, session, [status], me, None)
        await session.commit()
    svc.work_queued()
    if wants_json(request):
        keys = ("id", "favourited", "reblogged", "bookmarked", "favourites_count", "reblogs_count",
                "replies_count", "remixes_count")  # fmt: skip
        return JSONResponse({k: entity.get(k) for k in keys})
    return RedirectResponse(_back(request, form, "/home"), status_code=303)


async def _shown(svc: Services, session: AsyncSession, status: Status, me: Actor) -> dict[str, Any]:
    return (await cards(svc, session, [status], me, None))[0]


async def reply_page(request: Request) -> Response:
    """GET /statuses/ID/reply: the post, its thread, and the reply form (POST answers it)."""
    viewer = _viewer(request)
    svc = services(request)
    form: FormData | None = None
    error = None
    if request.method == "POST":
        _acting(request)
        form = await checked_form(request)
        text = str(form.get("text") or "")
        try:
            async with svc.reads() as session:
                target = await _status_of(session, request, await _me(session, viewer))
            await mentions.learn_mentions(svc, text)
            async with svc.sessions() as session, session.begin():
                me = await _me(session, viewer)
                await visible_status(session, target.id, me.id)
                reply = await posts.create_post(svc, session, me, PostRequest(
                    text=text, visibility=_visibility(form, "public"),
                    summary=str(form.get("summary") or ""), in_reply_to_id=target.id,
                ))  # fmt: skip
            svc.work_queued()
            return RedirectResponse(f"/statuses/{target.id}/reply#reply-{reply.id}", status_code=303)
        except ValidationError as exc:
            error = _message(exc)
    async with svc.reads() as session:
        me = await _me(session, viewer)
        status = await _status_of(session, request, me)
        ancestors, descendants = await timelines.context(session, status, me.id)
        shown = await cards(svc, session, [*ancestors, status, *descendants], me, "thread")
    by_id = {e["id"]: e for e in shown}
    context = {
        "entry": by_id.get(str(status.id)),
        "ancestors": [by_id[str(s.id)] for s in ancestors if str(s.id) in by_id],
        "descendants": [by_id[str(s.id)] for s in descendants if str(s.id) in by_id],
        "error": error, "text": str(form.get("text") or "") if form else _reply_prefix(shown, status, me),
        "here": request.url.path,
    }  # fmt: skip
    if context["entry"] is None:
        raise NotFoundError("no such post")
    return render(request, "app/reply.html", context, status_code=422 if error else 200)


def _reply_prefix(shown: list[dict[str, Any]], status: Status, me: Actor) -> str:
    entity = next((e for e in shown if e["id"] == str(status.id)), None)
    if entity is None or entity["account"]["id"] == str(me.id):
        return ""
    return f"@{entity['account']['acct']} "


def _visibility(form: FormData, default: str) -> str:
    value = str(form.get("visibility") or default)
    if value not in ("public", "unlisted", "followers", "direct"):
        raise ValidationError("visibility", "choose public, unlisted, followers or direct")
    return value


def _message(exc: FedigenError) -> str:
    return str(exc)


async def edit_page(request: Request) -> Response:
    """GET/POST /statuses/ID/edit: the author changes the caption, content warning and alt text."""
    viewer = _viewer(request)
    svc = services(request)
    error = None
    form: FormData | None = None
    async with svc.reads() as session:
        me = await _me(session, viewer)
        status = await posts.own_status(session, me, as_id(str(request.path_params["status_id"])) or 0)
        on_post = select(MediaAttachment).where(MediaAttachment.status_id == status.id)
        media = list(await session.scalars(on_post.order_by(MediaAttachment.position)))
    if request.method == "POST":
        _acting(request)
        form = await checked_form(request)
        text = str(form.get("text") or "")
        try:
            await mentions.learn_mentions(svc, text)
            async with svc.sessions() as session, session.begin():
                me = await _me(session, viewer)
                alts = {m.id: str(form.get(f"alt-{m.id}") or "") for m in media if f"alt-{m.id}" in form}
                await posts.edit_post(
                    svc, session, me, status.id, text, summary=str(form.get("summary") or ""),
                    sensitive=bool(form.get("sensitive")),
                    media_ids=[m.id for m in media] if media else None, descriptions=alts,
                )  # fmt: skip
            svc.work_queued()
            return RedirectResponse(_back(request, form, status.url or "/home"), status_code=303)
        except ValidationError as exc:
            error = _message(exc)
    context = {
        "status": status, "media": media, "error": error,
        "text": str(form.get("text") or "") if form else status.source_text or "",
        "summary": str(form.get("summary") or "") if form else status.summary or "",
        "next": str(form.get("next") or "") if form else request.query_params.get("next", ""),
    }  # fmt: skip
    return render(request, "app/edit.html", context, status_code=422 if error else 200)


async def delete_submit(request: Request) -> Response:
    """POST /statuses/ID/delete: the author deletes the post (the form asks to confirm first)."""
    viewer = _acting(request)
    form = await checked_form(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        me = await _me(session, viewer)
        await posts.delete_post(svc, session, me, as_id(str(request.path_params["status_id"])) or 0)
    svc.work_queued()
    back = _back(request, form, "/home")
    if back.startswith(f"/@{me.username}/"):
        back = f"/@{me.username}"  # the post's own page is gone
    return RedirectResponse(back, status_code=303)


async def report_page(request: Request) -> Response:
    """GET/POST /statuses/ID/report: report the post and its author to the moderators (and, for a remote
    author, forward it to their server when asked)."""
    viewer = _viewer(request)
    svc = services(request)
    error = None
    form: FormData | None = None
    async with svc.reads() as session:
        me = await _me(session, viewer)
        status = await _status_of(session, request, me)
        author = await session.get(Actor, status.actor_id)
        entry = await _shown(svc, session, status, me)
    if author is None:
        raise NotFoundError("no such account")
    if request.method == "POST":
        _acting(request)
        form = await checked_form(request)
        rules = [str(r) for r in form.getlist("rule_ids")]
        try:
            async with svc.sessions() as session, session.begin():
                await reports.file_report(
                    svc, session, await _me(session, viewer), author.id, status_ids=[status.id],
                    comment=str(form.get("comment") or ""), forward=bool(form.get("forward")),
                    category=str(form.get("category") or "other"), rule_ids=rules,
                )  # fmt: skip
            svc.work_queued()
            return render(request, "app/reported.html", {"entry": entry, "author": author})
        except ValidationError as exc:
            error = _message(exc)
    context = {"entry": entry, "author": author, "error": error, "categories": reports.CATEGORIES,
               "comment": str(form.get("comment") or "") if form else "",
               "category": str(form.get("category") or "other") if form else "other",
               "rules": list(enumerate(svc.settings.instance.rules, start=1))}  # fmt: skip
    return render(request, "app/report.html", context, status_code=422 if error else 200)


def _page(handler: Any) -> Any:
    return html_errors(signed_in(handler))


routes: list[BaseRoute] = [
    Route("/home", _page(home_feed), methods=["GET"]),
    Route("/public", _page(public_feed), methods=["GET"]),
    Route("/for-you", _page(for_you_feed), methods=["GET"]),
    Route("/bookmarks", _page(bookmarks_page), methods=["GET"]),
    Route("/notifications", _page(notifications_page), methods=["GET"]),
    Route("/notifications/read", _page(mark_read), methods=["POST"]),
    Route("/search", _page(search_page), methods=["GET"]),
    Route("/follow", _page(follow_submit), methods=["POST"]),
    Route("/unfollow", _page(follow_submit), methods=["POST"]),
    Route("/statuses/{status_id}/reply", _page(reply_page), methods=["GET", "POST"]),
    Route("/statuses/{status_id}/edit", _page(edit_page), methods=["GET", "POST"]),
    Route("/statuses/{status_id}/delete", _page(delete_submit), methods=["POST"]),
    Route("/statuses/{status_id}/report", _page(report_page), methods=["GET", "POST"]),
    Route("/statuses/{status_id}/{action}", _page(status_action), methods=["POST"]),
]
