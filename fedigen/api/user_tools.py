"""Users' own tools in Mastodon's client API: per-user domain blocks
(https://docs.joinmastodon.org/methods/domain_blocks/), followed hashtags
(https://docs.joinmastodon.org/methods/tags/, /methods/followed_tags/), and a status's source
(https://docs.joinmastodon.org/methods/statuses/#source)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from activitypub.content import strip_html
from fedigen.api.auth import authenticate, optional_auth
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import read_params
from fedigen.api.statuses import path_id
from fedigen.errors import NotFoundError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import tags, user_domain_blocks
from storage.clients import AccountDomainBlock, TagFollow
from storage.models import Actor, Status


def _viewer(auth: Any) -> Actor:
    assert auth.account is not None
    return auth.account  # type: ignore[no-any-return]


async def domain_blocks(request: Request) -> Response:
    """GET /api/v1/domain_blocks: the blocked domains, as strings (100 a page, at most 200)."""
    auth = await authenticate(request, "read:blocks")
    page = Page.from_params(await read_params(request), default=100, most=200)
    async with services(request).reads() as session:
        query = user_domain_blocks.blocks_query(_viewer(auth))
        rows = page.arrange(list((await session.execute(page.apply(query, AccountDomainBlock.id))).all()))
    return JSONResponse([d for _, d in rows], headers=link_header(request, [i for i, _ in rows], page))


async def block_domain(request: Request) -> Response:
    """POST /api/v1/domain_blocks: domain; an empty object."""
    auth = await authenticate(request, "write:blocks")
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        account = await session.get(Actor, _viewer(auth).id)
        assert account is not None
        await user_domain_blocks.block_domain(svc, session, account, params.get_str("domain"))
    return JSONResponse({})


async def unblock_domain(request: Request) -> Response:
    """DELETE /api/v1/domain_blocks: domain; an empty object."""
    auth = await authenticate(request, "write:blocks")
    params = await read_params(request)
    async with services(request).sessions() as session, session.begin():
        await user_domain_blocks.unblock_domain(session, _viewer(auth), params.get_str("domain"))
    return JSONResponse({})


def tag_entity(svc: Services, name: str, following: bool | None) -> dict[str, Any]:
    """The Tag entity (https://docs.joinmastodon.org/entities/Tag/); ``following`` for a signed-in viewer."""
    entity: dict[str, Any] = {"name": name, "url": f"{svc.urls.base.rstrip('/')}/tags/{name}", "history": []}
    if following is not None:
        entity["following"] = following
    return entity


async def show_tag(request: Request) -> Response:
    """GET /api/v1/tags/:name."""
    auth = await optional_auth(request)
    name = tags.normalize(str(request.path_params["name"]))
    svc = services(request)
    async with svc.reads() as session:
        following = await tags.is_following(session, auth.account, name) if auth and auth.account else None
    return JSONResponse(tag_entity(svc, name, following))


async def _tag_change(request: Request, follow: bool) -> Response:
    auth = await authenticate(request, "write:follows")
    name = tags.normalize(str(request.path_params["name"]))
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        if follow:
            await tags.follow_tag(session, _viewer(auth), name)
        else:
            await tags.unfollow_tag(session, _viewer(auth), name)
    return JSONResponse(tag_entity(svc, name, follow))


async def follow_tag(request: Request) -> Response:
    """POST /api/v1/tags/:name/follow: the Tag, ``following`` true."""
    return await _tag_change(request, True)


async def unfollow_tag(request: Request) -> Response:
    """POST /api/v1/tags/:name/unfollow: the Tag, ``following`` false."""
    return await _tag_change(request, False)


async def followed_tags(request: Request) -> Response:
    """GET /api/v1/followed_tags (100 a page, at most 200, Link header)."""
    auth = await authenticate(request, "read:follows")
    page = Page.from_params(await read_params(request), default=100, most=200)
    svc = services(request)
    async with svc.reads() as session:
        query = tags.followed_query(_viewer(auth))
        rows = page.arrange(list((await session.execute(page.apply(query, TagFollow.id))).all()))
    body = [tag_entity(svc, name, True) for _, name in rows]
    return JSONResponse(body, headers=link_header(request, [i for i, _ in rows], page))


async def status_source(request: Request) -> Response:
    """GET /api/v1/statuses/:id/source: the text the viewer wrote a status from (its own only)."""
    auth = await authenticate(request, "read:statuses")
    async with services(request).reads() as session:
        row = await session.get(Status, path_id(request))
        if row is None or row.actor_id != _viewer(auth).id or row.deleted_at is not None or row.reblog_of_id:
            raise NotFoundError("Record not found")
        text = row.source_text if row.source_text is not None else strip_html(row.content or "")
        return JSONResponse({"id": str(row.id), "text": text, "spoiler_text": row.summary or ""})


routes: list[BaseRoute] = [
    Route("/api/v1/domain_blocks", domain_blocks, methods=["GET"]),
    Route("/api/v1/domain_blocks", block_domain, methods=["POST"]),
    Route("/api/v1/domain_blocks", unblock_domain, methods=["DELETE"]),
    Route("/api/v1/tags/{name}", show_tag, methods=["GET"]),
    Route("/api/v1/tags/{name}/follow", follow_tag, methods=["POST"]),
    Route("/api/v1/tags/{name}/unfollow", unfollow_tag, methods=["POST"]),
    Route("/api/v1/followed_tags", followed_tags, methods=["GET"]),
    Route("/api/v1/statuses/{id}/source", status_source, methods=["GET"]),
]
