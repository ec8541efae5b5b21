"""Mastodon's statuses API (https://docs.joinmastodon.org/methods/statuses/): post, read, edit,
delete, thread context, favourites, boosts and bookmarks, and who favourited or boosted."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import entities, page_rows, status_entities
from fedigen.api.auth import Auth, authenticate, optional_auth
from fedigen.api.idempotency import once
from fedigen.api.pagination import MAX_ID, Page, link_header
from fedigen.api.params import Params, read_params
from fedigen.errors import ForbiddenError, NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import mentions, pins, profiles, reactions, timelines
from fedigen.social.polls import MAX_OPTIONS, PollRequest
from fedigen.social.posts import PostRequest, create_post, delete_post, edit_post
from fedigen.social.visibility import visible_status
from storage.models import Actor, Favourite, Status


def as_id(value: str) -> int | None:
    """A row id written in decimal (a 64-bit signed integer, the widest our databases store), else None."""
    return int(value) if value.isdigit() and len(value) <= 19 and int(value) <= MAX_ID else None


def path_id(request: HTTPConnection, name: str = "id") -> int:
    """A numeric id from the path; anything else is a 404, as Mastodon answers."""
    found = as_id(str(request.path_params.get(name, "")))
    if found is None:
        raise NotFoundError("Record not found")
    return found


def ids_param(params: Params, name: str) -> list[int]:
    """An array of numeric ids (422 naming the field otherwise)."""
    found = [as_id(v) for v in params.get_list(name)]
    if any(v is None for v in found):
        raise ValidationError(name, "must be ids")
    return [v for v in found if v is not None]


async def account_of(session: AsyncSession, auth: Auth) -> Actor:
    """The token's account, loaded in this session."""
    actor = await session.get(Actor, auth.account.id) if auth.account is not None else None
    if actor is None:
        raise NotFoundError("Record not found")
    return actor


async def render(svc: Services, session: AsyncSession, row: Status, viewer: Actor | None) -> dict[str, Any]:
    """One Status entity."""
    return (await status_entities.statuses(svc, session, [row], viewer))[0]


async def status_page(
    request: Request, svc: Services, session: AsyncSession, query: Any, page: Page, viewer: Actor | None,
    filter_context: str | None = None,
) -> Response:  # fmt: skip
    """A page of statuses from ``query`` (on Status.id) with its Link header; ``filter_context`` is the
    viewer's filters' context (home, public, account), whose "hide" filters may leave statuses out."""
    rows = page.arrange(list(await session.scalars(page.apply(query, Status.id))))
    body = await status_entities.statuses(svc, session, rows, viewer, filter_context)
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def timeline_page(
    request: Request, svc: Services, session: AsyncSession, query: Any, page: Page, viewer: Actor | None,
    filter_context: str | None = None,
) -> Response:  # fmt: skip
    """:func:`status_page` for timelines: the page read with Core (statuses with their authors in one
    query) and rendered by ``page_rows.timeline_statuses`` (counters and the viewer's flags in one query
    each)."""
    rows = page.arrange(await page_rows.page_records(session, page.apply(query, Status.id)))
    body = await page_rows.timeline_statuses(svc, session, rows, viewer, filter_context)
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def joined_page(
    request: Request, svc: Services, session: AsyncSession, query: Any, column: Any, page: Page,
    viewer: Actor | None,
) -> Response:  # fmt: skip
    """A page of (Status, cursor) rows paginated on ``column`` (a bookmark or favourite id)."""
    rows: Sequence[Any] = page.arrange(list(await session.execute(page.apply(query, column))))
    body = await status_entities.statuses(svc, session, [r[0] for r in rows], viewer)
    return JSONResponse(body, headers=link_header(request, [r[1] for r in rows], page))


def visibility_param(params: Params, default: str = "public") -> str:
    """Mastodon's visibility names; "private" is what fedigen calls "followers"."""
    value = params.get_str("visibility", default) or default
    return "followers" if value == "private" else value


POLL_FIELD = re.compile(r"poll\[(\w+)\](?:\[(\d{1,3})\])?")


def poll_request(params: Params) -> PollRequest | None:
    """The poll of a status, as Mastodon apps send it: ``poll[options][]``, ``poll[expires_in]``,
    ``poll[multiple]``, ``poll[hide_totals]`` in a form (``poll[options][0]`` too), or a ``poll`` object in
    JSON. None when there is none."""
    poll = Params()
    nested = (params.values.get("poll") or [None])[0]
    if isinstance(nested, dict):
        for key, value in nested.items():
            poll.add(str(key), value)
    elif nested is not None:
        raise ValidationError("poll", "must be an object with options and expires_in")
    else:
        indexed: dict[str, list[tuple[int, Any]]] = {}
        for key, values in params.values.items():
            match = POLL_FIELD.fullmatch(key)
            if match and match.group(2) is not None:
                indexed.setdefault(match.group(1), []).extend((int(match.group(2)), v) for v in values)
            elif match:
                poll.values[match.group(1)] = list(values)
        for name, items in indexed.items():
            poll.values.setdefault(name, []).extend(v for _, v in sorted(items, key=lambda i: i[0]))
    if not poll.values:
        return None
    options = poll.values.get("options", [])
    if any(not isinstance(o, str) for o in options) or len(options) > MAX_OPTIONS * 25:
        raise ValidationError("poll[options]", "must be a list of texts")
    try:
        expires_in = poll.get_int("expires_in")
        return PollRequest(options=list(options), expires_in=expires_in, multiple=poll.get_bool("multiple"),
                           hide_totals=poll.get_bool("hide_totals"))  # fmt: skip
    except ValidationError as exc:
        raise ValidationError(f"poll[{exc.field}]", str(exc).split(": ", 1)[-1]) from None


def post_request(params: Params) -> PostRequest:
    """What POST /api/v1/statuses asks for."""
    if "scheduled_at" in params:
        raise ValidationError("scheduled_at", "is not supported here")
    reply_to = params.get_str("in_reply_to_id")
    if reply_to is not None and not reply_to.isdigit():
        raise ValidationError("in_reply_to_id", "must be an id")
    return PostRequest(
        text=params.get_str("status", "") or "",
        visibility=visibility_param(params),
        summary=params.get_str("spoiler_text", "") or "", sensitive=params.get_bool("sensitive"),
        language=params.get_str("language", max_chars=16) or None,
        in_reply_to_id=int(reply_to) if reply_to else None, media_ids=ids_param(params, "media_ids"),
        poll=poll_request(params),
    )  # fmt: skip


async def create(request: Request) -> Response:
    """POST /api/v1/statuses (with Idempotency-Key replay)."""
    auth = await authenticate(request, "write:statuses")
    params = await read_params(request)
    svc = services(request)
    post = post_request(params)
    await mentions.learn_mentions(svc, post.text)  # remote lookups happen before the transaction

    async def handler(session: AsyncSession) -> tuple[int, Any]:
        author = await account_of(session, auth)
        if post.in_reply_to_id is not None:
            await visible_status(session, post.in_reply_to_id, author.id)
        wanted = post
        if "visibility" not in params:  # the author's default (Mastodon's source[privacy])
            wanted = replace(post, visibility=await profiles.default_visibility(session, author))
        status = await create_post(svc, session, author, wanted)
        return 200, await render(svc, session, status, author)

    return await once(svc, request, auth.account.id if auth.account else 0, handler)


async def show(request: Request) -> Response:
    """GET /api/v1/statuses/:id (public ones without a token)."""
    auth = await optional_auth(request)
    viewer = auth.account if auth else None
    svc = services(request)
    async with svc.reads() as session:
        status = await visible_status(session, path_id(request), viewer.id if viewer else None)
        return JSONResponse(await render(svc, session, status, viewer))


async def _own(session: AsyncSession, author: Actor, status_id: int) -> Status:
    found = await session.get(Status, status_id)
    if found is None or found.actor_id != author.id or found.deleted_at is not None:
        raise NotFoundError("Record not found")  # someone else's status is not there for you
    return found


async def update(request: Request) -> Response:
    """PUT /api/v1/statuses/:id: new text, content warning, sensitivity, media or poll."""
    auth = await authenticate(request, "write:statuses")
    params = await read_params(request)
    svc = services(request)
    text = params.get_str("status")
    await mentions.learn_mentions(svc, text or "")
    async with svc.sessions() as session:
        author = await account_of(session, auth)
        status = await _own(session, author, path_id(request))
        media_ids = ids_param(params, "media_ids") if "media_ids" in params else None
        summary = params.get_str("spoiler_text")
        sensitive = params.get_bool("sensitive") if "sensitive" in params else None
        poll = poll_request(params)
        language = params.get_str("language", max_chars=16)
        try:
            status = await edit_post(svc, session, author, status.id, status.source_text or "" if text is None
                                     else text, summary, sensitive, media_ids, poll, language)  # fmt: skip
        except ForbiddenError:
            raise NotFoundError("Record not found") from None
        body = await render(svc, session, status, author)
        await session.commit()
    return JSONResponse(body)


async def destroy(request: Request) -> Response:
    """DELETE /api/v1/statuses/:id: the deleted status, with its source ``text`` for delete-and-redraft."""
    auth = await authenticate(request, "write:statuses")
    svc = services(request)
    async with svc.sessions() as session:
        author = await account_of(session, auth)
        status = await _own(session, author, path_id(request))
        body = await render(svc, session, status, author)
        await delete_post(svc, session, author, status.id)
        await session.commit()
    body["text"] = status.source_text or ""
    return JSONResponse(body)


async def context(request: Request) -> Response:
    """GET /api/v1/statuses/:id/context."""
    auth = await optional_auth(request)
    viewer = auth.account if auth else None
    viewer_id = viewer.id if viewer else None
    svc = services(request)
    async with svc.reads() as session:
        status = await visible_status(session, path_id(request), viewer_id)
        ancestors, descendants = await timelines.context(session, status, viewer_id)
        rendered = await status_entities.statuses(svc, session, [*ancestors, *descendants], viewer, "thread")
    return JSONResponse({"ancestors": rendered[: len(ancestors)], "descendants": rendered[len(ancestors) :]})


def _reaction(scope: str, action: str) -> Route:
    async def endpoint(request: Request) -> Response:
        auth = await authenticate(request, scope)
        params = await read_params(request)
        svc = services(request)
        async with svc.sessions() as session:
            actor = await account_of(session, auth)
            status = await visible_status(session, path_id(request), actor.id)
            boosted = status.reblog_of_id is not None
            if boosted and (
                action in ("favourite", "reblog") or action == "unreblog" and status.actor_id == actor.id
            ):
                status = await visible_status(session, status.reblog_of_id or 0, actor.id)  # the boosted post
            shown = status
            if action == "reblog":
                shown = await reactions.reblog(svc, session, actor, status, visibility_param(params))
            elif action in ("favourite", "unfavourite", "unreblog"):
                await getattr(reactions, action)(svc, session, actor, status)
            else:
                await getattr(reactions, action)(session, actor, status)
            await session.flush()
            body = await render(svc, session, shown, actor)
            await session.commit()
        return JSONResponse(body)

    endpoint.__doc__ = f"POST /api/v1/statuses/:id/{action}."
    return Route(f"/api/v1/statuses/{{id}}/{action}", endpoint, methods=["POST"])


def _pin(action: str) -> Route:
    async def endpoint(request: Request) -> Response:
        auth = await authenticate(request, "write:accounts")
        svc = services(request)
        async with svc.sessions() as session:
            actor = await account_of(session, auth)
            status = await visible_status(session, path_id(request), actor.id)  # one you cannot see is absent
            await getattr(pins, action)(svc, session, actor, status)
            body = await render(svc, session, status, actor)
            await session.commit()
        return JSONResponse(body)

    endpoint.__doc__ = f"POST /api/v1/statuses/:id/{action}: Mastodon's rules, 422 when refused."
    return Route(f"/api/v1/statuses/{{id}}/{action}", endpoint, methods=["POST"])


def _who(kind: str) -> Route:
    async def endpoint(request: Request) -> Response:
        auth = await optional_auth(request)
        viewer_id = auth.account.id if auth and auth.account else None
        params = await read_params(request)
        page = Page.from_params(params, default=40, most=80)
        svc = services(request)
        async with svc.reads() as session:
            status = await visible_status(session, path_id(request), viewer_id)
            if kind == "favourited_by":
                query, column = timelines.favourited_by_query(status.id), Favourite.id
            else:
                query, column = timelines.reblogged_by_query(status.id), Status.id
            rows: Sequence[Any] = page.arrange(list(await session.execute(page.apply(query, column))))
            stats = await entities.account_stats(session, [r[0].id for r in rows])
            body = [entities.account(svc, r[0], stats) for r in rows]
        return JSONResponse(body, headers=link_header(request, [r[1] for r in rows], page))

    endpoint.__doc__ = f"GET /api/v1/statuses/:id/{kind}."
    return Route(f"/api/v1/statuses/{{id}}/{kind}", endpoint, methods=["GET"])


routes: list[BaseRoute] = [
    Route("/api/v1/statuses", create, methods=["POST"]),
    Route("/api/v1/statuses/{id}", show, methods=["GET"]),
    Route("/api/v1/statuses/{id}", update, methods=["PUT"]),
    Route("/api/v1/statuses/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/statuses/{id}/context", context, methods=["GET"]),
    _reaction("write:favourites", "favourite"),
    _reaction("write:favourites", "unfavourite"),
    _reaction("write:statuses", "reblog"),
    _reaction("write:statuses", "unreblog"),
    _reaction("write:bookmarks", "bookmark"),
    _reaction("write:bookmarks", "unbookmark"),
    _pin("pin"),
    _pin("unpin"),
    _who("favourited_by"),
    _who("reblogged_by"),
]
