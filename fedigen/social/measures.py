"""Mastodon's admin measures (its dashboard numbers), per day over a date range.

``new_users`` (local accounts made), ``active_users`` (local accounts that posted: fedigen keeps no
sign-in history, so posting stands for activity), ``interactions`` (favourites, boosts and replies
received by local posts), ``opened_reports`` and ``resolved_reports``. Each comes with the total of the
period of the same length just before, as Mastodon's ``previous_total``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from fedigen.errors import ValidationError
from storage.models import Favourite, Report, Status, User

KEYS = ("new_users", "active_users", "interactions", "opened_reports", "resolved_reports")
MAX_DAYS = 400


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min, UTC), datetime.combine(end + timedelta(days=1), time.min, UTC)


async def _rows(session: AsyncSession, key: str, start: datetime, end: datetime) -> Sequence[tuple[Any, ...]]:
    """(moment, distinct-by) pairs of one measure in [start, end)."""
    query: Any
    if key == "new_users":
        query = select(User.created_at, User.id).where(User.created_at >= start, User.created_at < end)
    elif key == "active_users":
        query = select(Status.published, Status.actor_id).where(
            Status.local.is_(True), Status.published >= start, Status.published < end
        )
    elif key == "interactions":
        target = aliased(Status)
        likes = (
            select(Favourite.created_at, Favourite.id)
            .join(target, target.id == Favourite.status_id)
            .where(target.local.is_(True), Favourite.created_at >= start, Favourite.created_at < end)
        )
        shared = (
            select(Status.published, Status.id)
            .join(target, (target.id == Status.reblog_of_id) | (target.id == Status.in_reply_to_id))
            .where(target.local.is_(True), Status.published >= start, Status.published < end)
        )
        return [*(await session.execute(likes)).all(), *(await session.execute(shared)).all()]
    elif key == "opened_reports":
        query = select(Report.created_at, Report.id).where(
            Report.created_at >= start, Report.created_at < end
        )
    else:
        query = select(Report.resolved_at, Report.id).where(
            Report.resolved_at >= start, Report.resolved_at < end
        )
    return list((await session.execute(query)).all())


async def measure(session: AsyncSession, keys: Sequence[str], start: date, end: date) -> list[dict[str, Any]]:
    """Mastodon's Admin::Measure entities for ``keys`` from ``start`` to ``end`` (days, inclusive)."""
    unknown = [k for k in keys if k not in KEYS]
    if unknown or not keys:
        raise ValidationError("keys", f"expected some of {', '.join(KEYS)}")
    if end < start or (end - start).days > MAX_DAYS:
        raise ValidationError("end_at", f"must be on or after start_at, at most {MAX_DAYS} days later")
    days = (end - start).days + 1
    out = []
    for key in keys:
        lo, hi = _bounds(start, end)
        rows = await _rows(session, key, lo, hi)
        distinct = key == "active_users"
        if distinct:
            groups: dict[date, set[Any]] = {}
            for moment, who in rows:
                groups.setdefault(moment.astimezone(UTC).date(), set()).add(who)
            values = {d: len(s) for d, s in groups.items()}
            total = len({who for _, who in rows})
        else:
            per_day: Counter[date] = Counter(moment.astimezone(UTC).date() for moment, _ in rows)
            values, total = dict(per_day), len(rows)
        before = await _rows(session, key, lo - timedelta(days=days), lo)
        previous = len({w for _, w in before}) if distinct else len(before)
        out.append({
            "key": key,
            "unit": None,
            "total": str(total),
            "previous_total": str(previous),
            "data": [
                {"date": f"{day}T00:00:00Z", "value": str(values.get(day, 0))}
                for day in (start + timedelta(days=i) for i in range(days))
            ],
        })  # fmt: skip
    return out
