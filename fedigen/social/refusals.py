"""The instance's refusals, kept for moderators: prompts the rules or the classifier refused (asked of
the bot, the API or the CLI) and images the classifier's rules refused (generated or uploaded).

A refusal is recorded in the caller's transaction when that one commits (the bot's reply); in a
transaction of its own when no other is open (an image refused by the classifier); and, when the
request that was refused holds a transaction that rolls back (an API call answered 422: on SQLite its
write lock is held until then), in a task that writes once that transaction is over (``record_later``).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen.services import Services
from storage.models import Refusal

log = logging.getLogger(__name__)

PROMPT, IMAGE = "prompt", "image"
ORIGINS = ("generation", "bot", "upload", "cli")
MAX_PROMPT_CHARS = 4000


def parse_since(value: str) -> datetime:
    """An ISO 8601 date or time (UTC when it names no zone); ValueError otherwise."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def refusal(
    kind: str, origin: str, reason: str, *, account_id: int | None = None, prompt: str | None = None,
    job_id: int | None = None, details: dict[str, Any] | None = None,
) -> Refusal:  # fmt: skip
    """A refusal row, not yet added."""
    return Refusal(
        kind=kind, origin=origin, reason=reason[:1000], account_id=account_id,
        prompt=prompt[:MAX_PROMPT_CHARS] if prompt is not None else None, job_id=job_id,
        details=dict(details or {}),
    )  # fmt: skip


def record(session: AsyncSession, row: Refusal) -> None:
    """Add a refusal to the caller's transaction (which commits)."""
    session.add(row)


async def record_apart(svc: Services, row: Refusal) -> None:
    """Record a refusal in a transaction of its own (the refused request's own rolls back)."""
    async with svc.sessions() as session, session.begin():
        session.add(row)


def record_later(svc: Services, row: Refusal) -> asyncio.Task[None]:
    """Record a refusal in a task of its own, which waits for the caller's transaction to end."""

    async def write() -> None:
        try:
            await record_apart(svc, row)
        except Exception:  # a refusal not recorded must not break anything else
            log.exception("could not record a refusal: %s", row.reason)

    task = asyncio.create_task(write())
    svc.pending.add(task)
    task.add_done_callback(svc.pending.discard)
    return task


async def listed(
    session: AsyncSession, *, since: datetime | None = None, max_id: int | None = None, limit: int = 40,
    kind: str | None = None, account_id: int | None = None,
) -> list[Refusal]:  # fmt: skip
    """Refusals, newest first."""
    query = select(Refusal).order_by(Refusal.id.desc()).limit(limit)
    if since is not None:
        query = query.where(Refusal.created_at >= since)
    if max_id is not None:
        query = query.where(Refusal.id < max_id)
    if kind is not None:
        query = query.where(Refusal.kind == kind)
    if account_id is not None:
        query = query.where(Refusal.account_id == account_id)
    return list(await session.scalars(query))
