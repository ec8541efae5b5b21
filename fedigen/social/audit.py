"""The audit log: every moderator action, who did it, on what, when (Mastodon's Admin::ActionLog).

Every moderation use-case (account actions, reports) writes its row here in the same transaction as the
change, whatever the origin: the admin API (``by`` is the moderator's account) or the CLI (``by`` is
None: the operator of the machine).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Actor, AuditLog


def label_of(actor: Actor) -> str:
    """An account as people read it: name, or name@domain."""
    return actor.username if actor.domain is None else f"{actor.username}@{actor.domain}"


async def record(
    session: AsyncSession, by: Actor | None, action: str, target_type: str, target_id: int | None,
    label: str, detail: str = "",
) -> AuditLog:  # fmt: skip
    """One audit row."""
    row = AuditLog(account_id=by.id if by is not None else None, action=action, target_type=target_type,
                   target_id=target_id, target_label=label[:2048], detail=detail)  # fmt: skip
    session.add(row)
    await session.flush()
    return row


async def entries(
    session: AsyncSession, *, limit: int = 100, account_id: int | None = None
) -> Sequence[AuditLog]:
    """The newest entries first (optionally one moderator's)."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(max(1, min(limit, 1000)))
    if account_id is not None:
        query = query.where(AuditLog.account_id == account_id)
    return list(await session.scalars(query))
