"""``Idempotency-Key``: a POST sent twice with the same key by the same account is answered once.

The first answer is stored (in the same transaction as what the request created) and replayed for
24 hours, as Mastodon does (https://docs.joinmastodon.org/methods/statuses/#create). Two concurrent
requests with one key race on the unique (account, key) index: the loser rolls back and replays.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse

from fedigen.errors import ValidationError
from fedigen.services import Services
from storage.clients import IdempotentRequest
from storage.models import utcnow

TTL = timedelta(hours=24)
MAX_KEY_CHARS = 255

Handler = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]


def key_of(request: Request) -> str | None:
    """The request's Idempotency-Key header, if any (422 when too long)."""
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > MAX_KEY_CHARS:
        raise ValidationError("Idempotency-Key", f"at most {MAX_KEY_CHARS} characters")
    return key or None


async def _stored(session: AsyncSession, account_id: int, key: str) -> JSONResponse | None:
    await session.execute(
        delete(IdempotentRequest).where(
            IdempotentRequest.account_id == account_id,
            IdempotentRequest.key == key,
            IdempotentRequest.created_at < utcnow() - TTL,
        )
    )
    row = await session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.account_id == account_id, IdempotentRequest.key == key
        )
    )
    return JSONResponse(row.response.get("body"), status_code=row.status_code) if row is not None else None


async def once(svc: Services, request: Request, account_id: int, handler: Handler) -> JSONResponse:
    """Run ``handler`` in a transaction and answer with its (status, body), or replay an earlier answer."""
    key = key_of(request)
    async with svc.sessions() as session:
        if key is not None:
            earlier = await _stored(session, account_id, key)
            if earlier is not None:
                return earlier
        status_code, body = await handler(session)
        if key is not None:
            session.add(IdempotentRequest(account_id=account_id, key=key, status_code=status_code,
                                          response={"body": body}))  # fmt: skip
        try:
            await session.commit()
        except IntegrityError:
            if key is None:
                raise
            await session.rollback()
        else:
            return JSONResponse(body, status_code=status_code)
    async with svc.sessions() as session:
        replay = await _stored(session, account_id, key)
        await session.commit()
    if replay is None:
        raise ValidationError("Idempotency-Key", "a request with this key is in progress")
    return replay
