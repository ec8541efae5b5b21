"""Mastodon's polls API (https://docs.joinmastodon.org/methods/polls/): view a poll, vote in it.

A poll is reachable when its status is visible to the viewer (404 otherwise, as for the status).
Votes are ``choices[]`` (form) or ``choices`` (JSON), option indexes from 0; a refused vote is a 422
saying why (ended, already voted, no such option, several choices in a single-choice poll, one's own
poll) and changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedigen.api import status_context, status_entities
from fedigen.api.auth import authenticate, optional_auth
from fedigen.api.params import read_params
from fedigen.api.statuses import account_of, path_id
from fedigen.errors import NotFoundError, ValidationError
from fedigen.http import services
from fedigen.services import Services
from fedigen.social import polls
from fedigen.social.visibility import visible_status
from storage.models import Actor, Poll, Status


async def _poll_status(session: AsyncSession, poll_id: int, viewer_id: int | None) -> Status:
    """The status of a poll, if the viewer may see it (else 404, as Mastodon answers)."""
    status_id = await session.scalar(select(Poll.status_id).where(Poll.id == poll_id))
    if status_id is None:
        raise NotFoundError("Record not found")
    return await visible_status(session, status_id, viewer_id)


async def _render(
    svc: Services, session: AsyncSession, status: Status, viewer: Actor | None
) -> dict[str, Any]:
    ctx = await status_context.load_context(session, [status], viewer)
    entity = status_entities.poll(status, ctx)
    if entity is None:
        raise NotFoundError("Record not found")
    return entity


async def show(request: Request) -> Response:
    """GET /api/v1/polls/:id."""
    auth = await optional_auth(request)
    viewer = auth.account if auth else None
    svc = services(request)
    async with svc.reads() as session:
        status = await _poll_status(session, path_id(request), viewer.id if viewer else None)
        return JSONResponse(await _render(svc, session, status, viewer))


def _choices(values: list[str]) -> list[int]:
    if any(not v.strip().isdigit() or len(v.strip()) > 9 for v in values):
        raise ValidationError("choices", "must be option indexes (0, 1, ...)")
    return [int(v) for v in values]


async def vote(request: Request) -> Response:
    """POST /api/v1/polls/:id/votes with ``choices[]``: the poll, with the vote counted."""
    auth = await authenticate(request, "write:statuses")
    params = await read_params(request)
    choices = _choices(params.get_list("choices", max_items=polls.MAX_OPTIONS * 25))
    svc = services(request)
    async with svc.sessions() as session:
        voter = await account_of(session, auth)
        status = await _poll_status(session, path_id(request), voter.id)
        await polls.vote(svc, session, voter, status, choices)
        body = await _render(svc, session, status, voter)
        await session.commit()
    return JSONResponse(body)


routes = [
    Route("/api/v1/polls/{id}", show, methods=["GET"]),
    Route("/api/v1/polls/{id}/votes", vote, methods=["POST"]),
]
