"""Mastodon's timelines (https://docs.joinmastodon.org/methods/timelines/) and the bookmarks and
favourites lists, each paginated by id with a Link header."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api import page_rows
from fedigen.api.auth import authenticate, optional_auth
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import read_params
from fedigen.api.statuses import joined_page, timeline_page
from fedigen.http import services
from fedigen.social import tags, timelines
from storage.clients import Bookmark
from storage.models import Favourite, Status


async def home(request: Request) -> Response:
    """GET /api/v1/timelines/home: the account's and its follows' statuses and boosts."""
    auth = await authenticate(request, "read:statuses")
    page = Page.from_params(await read_params(request))
    svc = services(request)
    viewer = auth.account
    assert viewer is not None
    async with svc.reads() as session:
        rows = await home_rows(session, viewer.id, page)
        body = await page_rows.timeline_statuses(svc, session, rows, viewer, "home")
        return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def home_rows(session: AsyncSession, viewer_id: int, page: Page) -> list[Any]:
    """A page of the home timeline as Core records (page_rows): the account's and its follows'
    statuses and boosts, and public statuses with the hashtags it follows, merged newest first (the
    client API's home timeline and the /home page alike)."""
    queries = [timelines.home_query(viewer_id)]
    followed = await tags.followed_names(session, viewer_id)
    if followed:
        queries.append(timelines.followed_tags_query(viewer_id, followed))
    pages = [await _newest(session, q, page) for q in queries]
    return page.arrange(timelines.merge_pages(pages, page.limit, ascending=page.min_id is not None))


async def _newest(session: AsyncSession, query: Any, page: Page) -> list[Any]:
    """A page of ``query`` (as Core records). On SQLite a newest-first page is read within widening id
    windows (``timelines.recent``) until one holds a whole page; PostgreSQL's planner walks the
    statuses newest first by itself (a window there only makes it read the whole window), and pages
    read oldest first (min_id) are read as they are."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if page.min_id is None and dialect == "sqlite":
        newest = page.max_id or (await session.scalar(select(func.max(Status.id))) or 0) + 1
        for span in timelines.HOME_WINDOWS:
            if newest - span <= (page.since_id or 0):
                break  # the window holds every id the page may have: read without it
            windowed = timelines.recent(query, newest - span)
            rows = await page_rows.page_records(session, page.apply(windowed, Status.id))
            if len(rows) >= page.limit:
                return rows
    return await page_rows.page_records(session, page.apply(query, Status.id))


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
