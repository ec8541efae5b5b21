"""Mastodon's admin API for domains (https://docs.joinmastodon.org/methods/admin/domain_blocks/,
/methods/admin/domain_allows/) and the public list of moderated servers
(https://docs.joinmastodon.org/methods/instance/#domain_blocks)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from activitypub.domains import candidates
from fedigen.api.auth import authenticate, authenticate_staff
from fedigen.api.entities import iso
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import Params, read_params
from fedigen.api.statuses import account_of
from fedigen.errors import NotFoundError
from fedigen.http import services
from fedigen.social import domains
from fedigen.social.roles import Permission
from storage.models import DomainAllow, DomainBlock

READ_BLOCKS, WRITE_BLOCKS = "admin:read:domain_blocks", "admin:write:domain_blocks"
READ_ALLOWS, WRITE_ALLOWS = "admin:read:domain_allows", "admin:write:domain_allows"


def block_entity(row: DomainBlock) -> dict[str, Any]:
    """Mastodon's Admin::DomainBlock."""
    return {
        "id": str(row.id),
        "domain": row.domain,
        "digest": domains.digest(row.domain),
        "created_at": iso(row.created_at),
        "severity": row.severity,
        "reject_media": row.reject_media,
        "reject_reports": row.reject_reports,
        "private_comment": row.reason or None,
        "public_comment": row.public_comment or None,
        "obfuscate": row.obfuscate,
    }


def allow_entity(row: DomainAllow) -> dict[str, Any]:
    """Mastodon's Admin::DomainAllow."""
    return {"id": str(row.id), "domain": row.domain, "created_at": iso(row.created_at)}


def _bool(params: Params, name: str) -> bool | None:
    return params.get_bool(name) if name in params else None


def _settings(params: Params) -> dict[str, Any]:
    severity = params.get_str("severity", max_chars=16)
    found: dict[str, Any] = {
        "reject_media": _bool(params, "reject_media"),
        "reject_reports": _bool(params, "reject_reports"),
        "private_comment": params.get_str("private_comment"),
        "public_comment": params.get_str("public_comment"),
        "obfuscate": _bool(params, "obfuscate"),
    }
    if severity is not None:
        found["severity"] = severity
    return found


async def _page(request: Request, model: type[DomainBlock] | type[DomainAllow], scope: str) -> Response:
    await authenticate_staff(request, scope, Permission.MANAGE_FEDERATION)
    params = await read_params(request)
    page = Page.from_params(params, default=100, most=200)
    async with services(request).reads() as session:
        rows = page.arrange(list(await session.scalars(page.apply(select(model), model.id))))
    render = block_entity if model is DomainBlock else allow_entity
    body = [render(r) for r in rows]
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def list_blocks(request: Request) -> Response:
    """GET /api/v1/admin/domain_blocks"""
    return await _page(request, DomainBlock, READ_BLOCKS)


async def show_block(request: Request) -> Response:
    """GET /api/v1/admin/domain_blocks/:id"""
    await authenticate_staff(request, READ_BLOCKS, Permission.MANAGE_FEDERATION)
    async with services(request).reads() as session:
        row = await domains.get_block(session, request.path_params["id"])
    return JSONResponse(block_entity(row))


async def create_block(request: Request) -> Response:
    """POST /api/v1/admin/domain_blocks: 422 with the existing block when one already covers the domain."""
    auth, _ = await authenticate_staff(request, WRITE_BLOCKS, Permission.MANAGE_FEDERATION)
    params = await read_params(request)
    name = domains.normalise(params.required("domain", max_chars=255))
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        existing = await session.scalar(
            select(DomainBlock).where(DomainBlock.domain.in_(candidates(name))).limit(1)
        )
        if existing is not None:
            return JSONResponse(
                {"error": f"You have already imposed stricter limits on {existing.domain}.",
                 "existing_domain_block": block_entity(existing)},
                status_code=422,
            )  # fmt: skip
        settings = _settings(params)
        settings.setdefault("severity", domains.SILENCE)  # Mastodon's default
        row = await domains.block(
            svc, session, name, create_only=True, by=await account_of(session, auth), **settings
        )
        body = block_entity(row)
    return JSONResponse(body)


async def update_block(request: Request) -> Response:
    """PUT /api/v1/admin/domain_blocks/:id"""
    auth, _ = await authenticate_staff(request, WRITE_BLOCKS, Permission.MANAGE_FEDERATION)
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        row = await domains.get_block(session, request.path_params["id"])
        settings = _settings(params)
        settings.setdefault("severity", row.severity)
        row = await domains.block(svc, session, row.domain, by=await account_of(session, auth), **settings)
        body = block_entity(row)
    return JSONResponse(body)


async def delete_block(request: Request) -> Response:
    """DELETE /api/v1/admin/domain_blocks/:id"""
    auth, _ = await authenticate_staff(request, WRITE_BLOCKS, Permission.MANAGE_FEDERATION)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        row = await domains.get_block(session, request.path_params["id"])
        await domains.unblock(svc, session, row, by=await account_of(session, auth))
    return JSONResponse({})


async def list_allows(request: Request) -> Response:
    """GET /api/v1/admin/domain_allows"""
    return await _page(request, DomainAllow, READ_ALLOWS)


async def show_allow(request: Request) -> Response:
    """GET /api/v1/admin/domain_allows/:id"""
    await authenticate_staff(request, READ_ALLOWS, Permission.MANAGE_FEDERATION)
    async with services(request).reads() as session:
        row = await domains.get_allow(session, request.path_params["id"])
    return JSONResponse(allow_entity(row))


async def create_allow(request: Request) -> Response:
    """POST /api/v1/admin/domain_allows (an existing entry is answered as it is, as Mastodon does)."""
    auth, _ = await authenticate_staff(request, WRITE_ALLOWS, Permission.MANAGE_FEDERATION)
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        row = await domains.allow(
            svc, session, params.required("domain", max_chars=255), by=await account_of(session, auth)
        )
        body = allow_entity(row)
    return JSONResponse(body)


async def delete_allow(request: Request) -> Response:
    """DELETE /api/v1/admin/domain_allows/:id"""
    auth, _ = await authenticate_staff(request, WRITE_ALLOWS, Permission.MANAGE_FEDERATION)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        allowed = await domains.get_allow(session, request.path_params["id"])
        await domains.disallow(svc, session, allowed, by=await account_of(session, auth))
    return JSONResponse({})


async def public_blocks(request: Request) -> Response:
    """GET /api/v1/instance/domain_blocks: suspended and silenced servers, as [federation]
    show_domain_blocks says (all, users or disabled; Mastodon's default is users)."""
    svc = services(request)
    shown = svc.settings.federation.show_domain_blocks
    if shown == "disabled":
        raise NotFoundError("Record not found")
    if shown == "users":
        await authenticate(request)
    async with svc.reads() as session:
        rows = await session.scalars(
            select(DomainBlock)
            .where(DomainBlock.severity.in_((domains.SUSPEND, domains.SILENCE)))
            .order_by(DomainBlock.domain)
        )
        body = [domains.public_entity(r) for r in rows]
    return JSONResponse(body)


routes = [
    Route("/api/v1/admin/domain_blocks", list_blocks, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks", create_block, methods=["POST"]),
    # Mastodon.py asks for the collections with a trailing slash, which Rails accepts.
    Route("/api/v1/admin/domain_blocks/", list_blocks, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks/", create_block, methods=["POST"]),
    Route("/api/v1/admin/domain_allows/", list_allows, methods=["GET"]),
    Route("/api/v1/admin/domain_allows/", create_allow, methods=["POST"]),
    Route("/api/v1/admin/domain_blocks/{id}", show_block, methods=["GET"]),
    Route("/api/v1/admin/domain_blocks/{id}", update_block, methods=["PUT"]),
    Route("/api/v1/admin/domain_blocks/{id}", delete_block, methods=["DELETE"]),
    Route("/api/v1/admin/domain_allows", list_allows, methods=["GET"]),
    Route("/api/v1/admin/domain_allows", create_allow, methods=["POST"]),
    Route("/api/v1/admin/domain_allows/{id}", show_allow, methods=["GET"]),
    Route("/api/v1/admin/domain_allows/{id}", delete_allow, methods=["DELETE"]),
    Route("/api/v1/instance/domain_blocks", public_blocks, methods=["GET"]),
]
