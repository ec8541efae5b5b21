"""Mastodon's lists (https://docs.joinmastodon.org/methods/lists/): lists of followed accounts, their
members, the list timeline, and which of the viewer's lists hold an account."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fedigen.api.accounts import find_account, render_accounts
from fedigen.api.auth import authenticate
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import Params, read_params
from fedigen.api.statuses import ids_param, path_id, timeline_page
from fedigen.http import services
from fedigen.social import lists, timelines
from storage.clients import AccountList, ListAccount
from storage.models import Actor

READ, WRITE = "read:lists", "write:lists"


def list_entity(row: AccountList) -> dict[str, Any]:
    """The List entity (https://docs.joinmastodon.org/entities/List/)."""
    return {
        "id": str(row.id),
        "title": row.title,
        "replies_policy": row.replies_policy,
        "exclusive": row.exclusive,
    }


def _viewer(auth: Any) -> Actor:
    assert auth.account is not None
    return auth.account  # type: ignore[no-any-return]


def _exclusive(params: Params) -> bool | None:
    return params.get_bool("exclusive") if "exclusive" in params else None


async def index(request: Request) -> Response:
    """GET /api/v1/lists."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        rows = await session.scalars(
            select(AccountList).where(AccountList.account_id == _viewer(auth).id).order_by(AccountList.id)
        )
        return JSONResponse([list_entity(r) for r in rows])


async def show(request: Request) -> Response:
    """GET /api/v1/lists/:id."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        return JSONResponse(list_entity(await lists.own_list(session, _viewer(auth).id, path_id(request))))


async def create(request: Request) -> Response:
    """POST /api/v1/lists: title, replies_policy (followed, list, none), exclusive."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    async with services(request).sessions() as session, session.begin():
        owner = await find_account(session, str(_viewer(auth).id))
        row = await lists.create_list(
            session,
            owner,
            params.get_str("title"),
            params.get_str("replies_policy"),
            bool(_exclusive(params)),
        )
        body = list_entity(row)
    return JSONResponse(body)


async def update(request: Request) -> Response:
    """PUT /api/v1/lists/:id."""
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    async with services(request).sessions() as session, session.begin():
        row = await lists.own_list(session, _viewer(auth).id, path_id(request))
        await lists.update_list(
            session,
            row,
            title=params.get_str("title"),
            replies_policy=params.get_str("replies_policy"),
            exclusive=_exclusive(params),
        )
        body = list_entity(row)
    return JSONResponse(body)


async def destroy(request: Request) -> Response:
    """DELETE /api/v1/lists/:id: an empty object."""
    auth = await authenticate(request, WRITE)
    async with services(request).sessions() as session, session.begin():
        await lists.delete_list(session, await lists.own_list(session, _viewer(auth).id, path_id(request)))
    return JSONResponse({})


async def accounts(request: Request) -> Response:
    """GET /api/v1/lists/:id/accounts (40 a page, at most 80; ``limit=0`` for all of them)."""
    auth = await authenticate(request, READ)
    params = await read_params(request)
    everyone = params.get_int("limit") == 0
    page = Page.from_params(params, default=40, most=80)
    svc = services(request)
    async with svc.reads() as session:
        row = await lists.own_list(session, _viewer(auth).id, path_id(request))
        query = lists.members_query(row)
        if everyone:
            found = list((await session.execute(query.order_by(ListAccount.id))).all())
        else:
            found = page.arrange(list((await session.execute(page.apply(query, ListAccount.id))).all()))
        body = await render_accounts(svc, session, [actor for _, actor in found])
    headers = {} if everyone else link_header(request, [i for i, _ in found], page)
    return JSONResponse(body, headers=headers)


async def _members(request: Request, add: bool) -> Response:
    auth = await authenticate(request, WRITE)
    params = await read_params(request)
    wanted = ids_param(params, "account_ids")
    async with services(request).sessions() as session, session.begin():
        row = await lists.own_list(session, _viewer(auth).id, path_id(request))
        if add:
            found = [await find_account(session, str(i)) for i in dict.fromkeys(wanted)]
            await lists.add_accounts(session, row, found)
        else:
            await lists.remove_accounts(session, row, wanted)
    return JSONResponse({})


async def add_accounts(request: Request) -> Response:
    """POST /api/v1/lists/:id/accounts: account_ids[] (accounts the viewer follows); an empty object."""
    return await _members(request, True)


async def remove_accounts(request: Request) -> Response:
    """DELETE /api/v1/lists/:id/accounts: account_ids[]; an empty object."""
    return await _members(request, False)


async def timeline(request: Request) -> Response:
    """GET /api/v1/timelines/list/:list_id."""
    auth = await authenticate(request, READ)
    page = Page.from_params(await read_params(request))
    svc = services(request)
    viewer = _viewer(auth)
    async with svc.reads() as session:
        row = await lists.own_list(session, viewer.id, path_id(request, "list_id"))
        query = timelines.list_query(viewer.id, row.id, row.replies_policy)
        return await timeline_page(request, svc, session, query, page, viewer, "home")


async def account_lists(request: Request) -> Response:
    """GET /api/v1/accounts/:id/lists: the viewer's lists holding that account."""
    auth = await authenticate(request, READ)
    async with services(request).reads() as session:
        account = await find_account(session, str(request.path_params["id"]))
        rows = await lists.lists_with(session, _viewer(auth).id, account.id)
        return JSONResponse([list_entity(r) for r in rows])


routes: list[BaseRoute] = [
    Route("/api/v1/lists", index, methods=["GET"]),
    Route("/api/v1/lists", create, methods=["POST"]),
    Route("/api/v1/lists/{id}", show, methods=["GET"]),
    Route("/api/v1/lists/{id}", update, methods=["PUT"]),
    Route("/api/v1/lists/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/lists/{id}/accounts", accounts, methods=["GET"]),
    Route("/api/v1/lists/{id}/accounts", add_accounts, methods=["POST"]),
    Route("/api/v1/lists/{id}/accounts", remove_accounts, methods=["DELETE"]),
    Route("/api/v1/timelines/list/{list_id}", timeline, methods=["GET"]),
    Route("/api/v1/accounts/{id}/lists", account_lists, methods=["GET"]),
]
