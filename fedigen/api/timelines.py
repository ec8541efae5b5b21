"""Mastodon's timelines (https://docs.joinmastodon.org/methods/timelines/) and the bookmarks and
favourites lists, each paginated by id with a Link header."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import BigInteger, Connection, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import page_rows, status_entities
from fedigen.api.auth import authenticate, authenticate_and_read, optional_auth
from fedigen.api.pagination import Page, bound_page, link_header
from fedigen.api.params import read_params
from fedigen.api.status_context import StatusContext
from fedigen.api.statuses import joined_page, timeline_page
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import timelines
from storage.clients import Bookmark
from storage.db import each
from storage.models import Favourite, Status


async def home(request: Request) -> Response:
    """GET /api/v1/timelines/home: the account's and its follows' statuses and boosts."""
    page = Page.from_params(await read_params(request))
    # The token and the whole page in one read (on SQLite one synchronous read, no thread hand-off).
    _auth, (rows, ctx) = await authenticate_and_read(request, "read:statuses", read_home, page)
    body = status_entities.render_page(services(request), rows, ctx)
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def home_page(svc: Services, viewer_id: int, page: Page) -> tuple[list[Any], list[dict[str, Any]]]:
    """A page of the home timeline, its rows (:func:`home_rows_of`) and their Status entities, read
    whole by the services' :class:`~storage.db.SyncReader` (on SQLite one synchronous read for
    every statement of the page): the /home page's (the client API's reads its token beside)."""
    rows, ctx = await svc.reader.run(read_home, viewer_id, page)
    return rows, status_entities.render_page(svc, rows, ctx)


def read_home(conn: Connection, viewer_id: int, page: Page) -> tuple[list[Any], StatusContext]:
    """A page of the home timeline and what rendering it needs (:func:`status_entities.render_page`)."""
    rows = home_rows_of(conn, viewer_id, page)
    return rows, page_rows.page_context(conn, rows, viewer_id, "home")


async def home_rows(session: AsyncSession, viewer_id: int, page: Page) -> list[Any]:
    """:func:`home_rows_of` in the session's transaction."""
    return await session.run_sync(lambda s: home_rows_of(s.connection(), viewer_id, page))


def home_rows_of(conn: Connection, viewer_id: int, page: Page) -> list[Any]:
    """A page of the home timeline as Core records (page_rows): the account's and its follows'
    statuses and boosts, and public statuses with the hashtags it follows, merged newest first."""
    timelines.plan_for_parameters_of(conn)
    params: dict[str, Any] = {"viewer_id": viewer_id, **page.values()}
    followed, excluding = timelines.home_facts_of(conn, viewer_id)
    home = "home" if excluding else "home, nothing excluded"
    reads = [lambda c: _newest(c, home, page, params)]
    if followed:
        tagged = {**params, "tags": [t.lower() for t in followed]}
        reads.append(lambda c: _newest(c, "tags", page, tagged))
    pages = each(conn, *reads)
    return page.arrange(timelines.merge_pages(pages, page.limit, ascending=page.min_id is not None))


_NEWEST = select(func.max(Status.id))


@functools.cache
def _statement(dialect: str, kind: str, windowed: bool, shape: tuple[bool, bool, bool]) -> Any:
    """The home timeline's query ("home": follows and self; "home, nothing excluded": the same for a
    viewer with no mutes, exclusive lists or domain blocks; "tags": followed hashtags) with authors, for
    pages of one shape on one database, optionally within an id window (``low``), built once: the
    viewer, the tags, the cursor and the limit are bound at execution."""
    if kind.startswith("home"):
        query = timelines.home_query(page_rows.VIEWER, dialect, exclusions=kind == "home")
    else:
        query = timelines.followed_tags_query(page_rows.VIEWER, bindparam("tags", expanding=True))
    if windowed:
        query = timelines.recent(query, bindparam("low", type_=BigInteger))
    return page_rows.with_authors(bound_page(query, Status.id, shape))


def _newest(conn: Connection, kind: str, page: Page, params: dict[str, Any]) -> list[Any]:
    """A page of the ``kind`` query (as Core records). On SQLite a newest-first page is read within
    widening id windows (``timelines.recent``) until one holds a whole page; PostgreSQL's planner walks
    the statuses newest first by itself (a window there only makes it read the whole window), and pages
    read oldest first (min_id) are read as they are."""
    if page.min_id is None and conn.dialect.name == "sqlite":
        newest = page.max_id or (conn.execute(_NEWEST).scalar() or 0) + 1
        for span in timelines.HOME_WINDOWS:
            if newest - span <= (page.since_id or 0):
                break  # the window holds every id the page may have: read without it
            windowed = _statement(conn.dialect.name, kind, True, page.shape())
            rows = page_rows.records(conn.execute(windowed, {**params, "low": newest - span}))
            if len(rows) >= page.limit:
                return rows
    return page_rows.records(conn.execute(_statement(conn.dialect.name, kind, False, page.shape()), params))


async def _public_page(request: Request, tag: str | None) -> Response:
    """A page of public statuses (all, local, remote, with media, or with a hashtag), blocks applied."""
    auth = await optional_auth(request)
    params = await read_params(request)
    page = Page.from_params(params)
    viewer = auth.account if auth else None
    local, only_media = params.get_bool("local"), params.get_bool("only_media")
    if tag is None:
        query = timelines.public_query(local=local, remote=params.get_bool("remote"), only_media=only_media)
    else:
        query = timelines.tag_query(tag, local=local, only_media=only_media)
    svc = services(request)
    async with svc.reads() as session:
        query = timelines.without_blocked(query, viewer.id if viewer else None)
        return await timeline_page(request, svc, session, query, page, viewer, "public")


async def public(request: Request) -> Response:
    """GET /api/v1/timelines/public (?local, ?remote, ?only_media)."""
    return await _public_page(request, None)


async def tag(request: Request) -> Response:
    """GET /api/v1/timelines/tag/:hashtag (?local, ?only_media)."""
    return await _public_page(request, str(request.path_params["hashtag"]))


async def bookmarks(request: Request) -> Response:
    """GET /api/v1/bookmarks, newest bookmark first."""
    auth = await authenticate(request, "read:bookmarks")
    page = Page.from_params(await read_params(request))
    svc = services(request)
    viewer = auth.account
    assert viewer is not None
    async with svc.reads() as session:
        query = timelines.bookmarks_query(viewer.id)
        return await joined_page(request, svc, session, query, Bookmark.id, page, viewer)


async def favourites(request: Request) -> Response:
    """GET /api/v1/favourites, newest favourite first."""
    auth = await authenticate(request, "read:favourites")
    page = Page.from_params(await read_params(request))
    svc = services(request)
    viewer = auth.account
    assert viewer is not None
    async with svc.reads() as session:
        query = timelines.favourites_query(viewer.id)
        return await joined_page(request, svc, session, query, Favourite.id, page, viewer)


routes: list[BaseRoute] = [
    Route("/api/v1/timelines/home", home, methods=["GET"]),
    Route("/api/v1/timelines/public", public, methods=["GET"]),
    Route("/api/v1/timelines/tag/{hashtag}", tag, methods=["GET"]),
    Route("/api/v1/bookmarks", bookmarks, methods=["GET"]),
    Route("/api/v1/favourites", favourites, methods=["GET"]),
]
