"""fedigen's privacy endpoints (docs/privacy.md), for apps and the coming web app: deleting one's own
account, the data export and CSV imports, aliases and moving to another server. Mastodon offers
these in its web interface only; the paths live under ``/api/fedigen/``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api.accounts import read_upload
from fedigen.api.auth import authenticate
from fedigen.api.params import read_params
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.social import accounts, archive, moves
from storage.models import Actor


async def _me(request: Request, scope: str) -> int:
    auth = await authenticate(request, scope)
    if auth.account is None:
        raise NotFoundError("Record not found")
    return auth.account.id


async def _load(session: AsyncSession, actor_id: int) -> Actor:
    actor = await session.get(Actor, actor_id)
    if actor is None or actor.deleted_at is not None:
        raise NotFoundError("Record not found")
    return actor


async def delete_account(request: Request) -> Response:
    """POST /api/fedigen/account/delete {password}: delete the signed-in account, for good."""
    me = await _me(request, "write:accounts")
    params = await read_params(request)
    svc = services(request)
    async with svc.sessions() as session, session.begin():
        actor = await _load(session, me)
        await moves.check_password(session, actor, params.get_str("password"))
        keys = await accounts.delete_local_account(svc, session, actor, by=actor)
    async with svc.reads() as session:
        await accounts.remove_media_files(svc, session, keys)
    return JSONResponse({})


async def export(request: Request) -> Response:
    """GET /api/fedigen/export: the signed-in account's archive (zip)."""
    me = await _me(request, "read")
    svc = services(request)
    async with svc.reads() as session:
        actor = await _load(session, me)
        data = await archive.export_archive(svc, session, actor)
    filename = f"archive-{actor.username}.zip"
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def export_csv(request: Request) -> Response:
    """GET /api/fedigen/export/{name}: one CSV of the archive alone (following_accounts.csv,
    blocked_accounts.csv, muted_accounts.csv, bookmarks.csv, lists.csv, blocked_domains.csv), as
    Mastodon's /settings/exports/NAME.csv."""
    me = await _me(request, "read")
    name = request.path_params["name"]
    if name not in archive.CSV_FILES:
        raise NotFoundError("Record not found")
    svc = services(request)
    async with svc.reads() as session:
        actor = await _load(session, me)
        text = await archive.export_csv(svc, session, actor, name)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def import_csv(request: Request) -> Response:
    """POST /api/fedigen/import (multipart): ``type`` (following, blocking, muting, bookmarks, lists,
    domain_blocking), ``mode`` (merge or overwrite), ``data`` (the CSV)."""
    me = await _me(request, "write")
    params = await read_params(request)
    file = params.get_file("data")
    if file is None:
        raise ValidationError("data", "must be a CSV file (multipart/form-data)")
    data = await read_upload(file, archive.MAX_IMPORT_BYTES, "data")
    kind = params.get_str("type", "") or ""
    result = await archive.import_csv(
        services(request), me, kind, data, mode=params.get_str("mode", "merge") or "merge"
    )
    return JSONResponse({"type": kind, "imported": result.imported, "failed": result.failed})


async def aliases(request: Request) -> Response:
    """GET, POST {acct}, DELETE {acct}: the accounts the signed-in account was (its alsoKnownAs)."""
    scope = "read:accounts" if request.method == "GET" else "write:accounts"
    me = await _me(request, scope)
    svc = services(request)
    if request.method == "GET":
        async with svc.reads() as session:
            actor = await _load(session, me)
            return JSONResponse({"aliases": list(actor.also_known_as or [])})
    params = await read_params(request)
    handle = params.get_str("acct", "") or ""
    if not handle:
        raise ValidationError("acct", "must name an account")
    old = await moves.resolve_fresh(svc, handle) if request.method == "POST" else None
    async with svc.sessions() as session, session.begin():
        actor = await _load(session, me)
        if old is not None:
            found = await moves.add_alias(svc, session, actor, old)
        else:
            ap_id = handle if handle.startswith(("http://", "https://")) else None
            if ap_id is None:
                ap_id = (await moves.resolve_fresh(svc, handle)).ap_id
            found = await moves.remove_alias(svc, session, actor, ap_id)
    svc.work_queued()
    return JSONResponse({"aliases": found})


async def move(request: Request) -> Response:
    """POST /api/fedigen/account/move {acct, password}: move to that account, which must list this one
    among its aliases (checked on a fresh copy of it)."""
    me = await _me(request, "write:accounts")
    params = await read_params(request)
    svc = services(request)
    handle = params.get_str("acct", "") or ""
    if not handle:
        raise ValidationError("acct", "must name the account to move to")
    async with svc.reads() as session:
        await moves.check_password(session, await _load(session, me), params.get_str("password"))
    target = await moves.resolve_fresh(svc, handle)
    async with svc.sessions() as session, session.begin():
        actor = await _load(session, me)
        target_row = await session.get(Actor, target.id)
        assert target_row is not None
        await moves.move_account(svc, session, actor, target_row)
    svc.work_queued()
    return JSONResponse({"moved_to": target.ap_id})


routes = [
    Route("/api/fedigen/account/delete", delete_account, methods=["POST"]),
    Route("/api/fedigen/export", export, methods=["GET"]),
    Route("/api/fedigen/export/{name}", export_csv, methods=["GET"]),
    Route("/api/fedigen/import", import_csv, methods=["POST"]),
    Route("/api/fedigen/account/aliases", aliases, methods=["GET", "POST", "DELETE"]),
    Route("/api/fedigen/account/move", move, methods=["POST"]),
]
