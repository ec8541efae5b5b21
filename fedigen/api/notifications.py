"""Notifications, markers and preferences (https://docs.joinmastodon.org/methods/notifications/,
/methods/markers/, /methods/preferences/)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api import entities, status_entities
from fedigen.api.accounts import find_account
from fedigen.api.auth import authenticate
from fedigen.api.pagination import Page, link_header
from fedigen.api.params import read_params
from fedigen.errors import NotFoundError, UnauthorizedError, ValidationError
from fedigen.http import services
from fedigen.social.notifications import not_muted
from storage.clients import Marker
from storage.models import Actor, Notification, utcnow

TIMELINES = ("home", "notifications")
MAX_MARKER_ID = 32


async def _viewer(request: Request, scope: str) -> tuple[Actor, Any]:
    auth = await authenticate(request, scope)
    if auth.account is None:
        raise UnauthorizedError("This method requires an authenticated user")
    return auth.account, await read_params(request)


async def index(request: Request) -> Response:
    """GET /api/v1/notifications (types[], exclude_types[], account_id; paged with Link)."""
    viewer, params = await _viewer(request, "read:notifications")
    page = Page.from_params(params, default=40, most=80)
    query = select(Notification).where(Notification.recipient_id == viewer.id, not_muted(viewer))
    types, excluded = params.get_list("types"), params.get_list("exclude_types")
    if types:
        query = query.where(Notification.type.in_(types))
    if excluded:
        query = query.where(Notification.type.not_in(excluded))
    account_id = params.get_str("account_id")
    if account_id is not None:
        if not account_id.isdigit() or len(account_id) > 18:
            raise ValidationError("account_id", "must be an account id")
        query = query.where(Notification.from_actor_id == int(account_id))
    svc = services(request)
    async with svc.reads() as session:
        rows = page.arrange(list(await session.scalars(page.apply(query, Notification.id))))
        body = await status_entities.notifications(svc, session, rows, viewer)
    return JSONResponse(body, headers=link_header(request, [r.id for r in rows], page))


async def _own(session: AsyncSession, viewer: Actor, raw_id: str) -> Notification:
    row = await session.get(Notification, int(raw_id)) if raw_id.isdigit() and len(raw_id) < 19 else None
    if row is None or row.recipient_id != viewer.id:
        raise NotFoundError("Record not found")
    return row


async def show(request: Request) -> Response:
    """GET /api/v1/notifications/:id."""
    viewer, _ = await _viewer(request, "read:notifications")
    svc = services(request)
    async with svc.reads() as session:
        row = await _own(session, viewer, request.path_params["id"])
        body = await status_entities.notifications(svc, session, [row], viewer)
    if not body:
        raise NotFoundError("Record not found")
    return JSONResponse(body[0])


async def dismiss(request: Request) -> Response:
    """POST /api/v1/notifications/:id/dismiss."""
    viewer, _ = await _viewer(request, "write:notifications")
    async with services(request).sessions() as session, session.begin():
        await session.delete(await _own(session, viewer, request.path_params["id"]))
    return JSONResponse({})


async def clear(request: Request) -> Response:
    """POST /api/v1/notifications/clear."""
    viewer, _ = await _viewer(request, "write:notifications")
    async with services(request).sessions() as session, session.begin():
        await session.execute(delete(Notification).where(Notification.recipient_id == viewer.id))
    return JSONResponse({})


def _marker(row: Marker) -> dict[str, Any]:
    return {
        "last_read_id": row.last_read_id,
        "version": row.version,
        "updated_at": entities.iso(row.updated_at),
    }


async def markers(request: Request) -> Response:
    """GET /api/v1/markers?timeline[]=home&timeline[]=notifications."""
    viewer, params = await _viewer(request, "read:statuses")
    wanted = [t for t in params.get_list("timeline") if t in TIMELINES] or list(TIMELINES)
    async with services(request).reads() as session:
        rows = await session.scalars(
            select(Marker).where(Marker.account_id == viewer.id, Marker.timeline.in_(wanted))
        )
        return JSONResponse({row.timeline: _marker(row) for row in rows})


def _last_read(params: Any, timeline: str) -> str | None:
    """home[last_read_id]=... in a form, or {"home": {"last_read_id": ...}} in JSON."""
    nested = params.values.get(timeline)
    value = nested[0].get("last_read_id") if nested and isinstance(nested[0], dict) else None
    if value is None:
        value = params.get_str(f"{timeline}[last_read_id]")
    if value is None:
        return None
    text = str(value)
    if not text.isdigit() or len(text) > MAX_MARKER_ID:
        raise ValidationError(f"{timeline}[last_read_id]", "must be an id")
    return text


async def save_markers(request: Request) -> Response:
    """POST /api/v1/markers: set where reading stopped; each save increments the marker's version."""
    viewer, params = await _viewer(request, "write:statuses")
    given = {t: v for t in TIMELINES if (v := _last_read(params, t)) is not None}
    if not given:
        raise ValidationError("home", "give home[last_read_id] or notifications[last_read_id]")
    async with services(request).sessions() as session, session.begin():
        await find_account(session, str(viewer.id))
        saved = {}
        for timeline, last_read_id in given.items():
            row = await session.scalar(
                select(Marker).where(Marker.account_id == viewer.id, Marker.timeline == timeline)
            )
            if row is None:
                row = Marker(account_id=viewer.id, timeline=timeline, version=0)
                session.add(row)
            row.last_read_id, row.version, row.updated_at = last_read_id, (row.version or 0) + 1, utcnow()
            await session.flush()
            saved[timeline] = _marker(row)
    return JSONResponse(saved)


async def preferences(request: Request) -> Response:
    """GET /api/v1/preferences: the posting and reading defaults (the account's posting language; the
    others fixed here)."""
    auth = await authenticate(request, "read:accounts")
    async with services(request).reads() as session:
        account = await session.get(Actor, auth.account.id) if auth.account is not None else None
    return JSONResponse({
        "posting:default:visibility": "public", "posting:default:sensitive": False,
        "posting:default:language": account.default_language if account is not None else None,
        "reading:expand:media": "default", "reading:expand:spoilers": False,
    })  # fmt: skip


routes = [
    Route("/api/v1/notifications", index, methods=["GET"]),
    Route("/api/v1/notifications/clear", clear, methods=["POST"]),
    Route("/api/v1/notifications/{id}", show, methods=["GET"]),
    Route("/api/v1/notifications/{id}/dismiss", dismiss, methods=["POST"]),
    Route("/api/v1/markers", markers, methods=["GET"]),
    Route("/api/v1/markers", save_markers, methods=["POST"]),
    Route("/api/v1/preferences", preferences, methods=["GET"]),
]
