"""An account's filters (Mastodon's filters v2), and matching them against statuses.

A filter has a title, the contexts it applies in ("home", "notifications", "public", "thread",
"account"), an action ("warn": shown behind a warning; "hide": left out of timelines and
notifications; "blur": media blurred), an optional expiry, keywords and statuses. A keyword matches
as Mastodon's does: case-insensitively anywhere in the text, or with ``whole_word`` at word
boundaries (a boundary is required only on a side where the keyword begins or ends with a word
character), against the status's content as text, its content warning, its media descriptions and
its poll's options. A status matches a filter that names it (or the status it boosts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.content import strip_html
from fedigen.errors import NotFoundError, ValidationError
from storage.clients import CustomFilter, CustomFilterKeyword, CustomFilterStatus
from storage.models import Status, utcnow
from storage.records import in_ids, record

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
# The contexts whose statuses a "hide" filter removes on the server (notifications too, separately).
HIDDEN_IN = frozenset({"home", "public"})
MAX_FILTERS = 100
MAX_KEYWORDS = 100
MAX_TITLE = 256
MAX_KEYWORD = 512
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class KeywordChange:
    """One entry of ``keywords_attributes``: a new keyword (no id), a change, or a removal."""

    keyword: str | None = None
    whole_word: bool | None = None
    id: int | None = None
    destroy: bool = False


@dataclass
class ActiveFilter:
    """A live filter with its rules, ready to match."""

    row: CustomFilter
    pattern: re.Pattern[str] | None
    status_ids: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class FilterMatch:
    """Mastodon's FilterResult: the filter, the keyword text that matched, the statuses named."""

    filter: CustomFilter
    keyword_matches: list[str] | None
    status_matches: list[int] | None


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    """The regular expression of one keyword, as Mastodon builds it."""
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w\Z", keyword) else ""
    return f"{start}{escaped}{end}"


def searchable_text(
    status: Status, media_descriptions: Iterable[str | None], poll_options: Iterable[str]
) -> str:
    """What keywords are matched against: content warning, content as text, poll options, media
    descriptions."""
    parts = [status.summary or "", strip_html(status.content or "")]
    parts += [str(o) for o in poll_options]
    parts += [d for d in media_descriptions if d]
    return "\n\n".join(p for p in parts if p)


def _title(value: str | None) -> str:
    if value is None or not value.strip():
        raise ValidationError("title", "can't be blank")
    if len(value) > MAX_TITLE:
        raise ValidationError("title", f"is too long (maximum is {MAX_TITLE} characters)")
    return value.strip()


def _context(values: Sequence[str]) -> list[str]:
    if not values:
        raise ValidationError("context", "can't be blank")
    if any(v not in CONTEXTS for v in values):
        raise ValidationError("context", "None or invalid context supplied")
    return list(dict.fromkeys(values))


def _action(value: str | None) -> str:
    value = value or "warn"
    if value not in ACTIONS:
        raise ValidationError("filter_action", f"is not included in the list ({', '.join(ACTIONS)})")
    return value


def _keyword(value: str | None) -> str:
    if value is None or not value.strip():
        raise ValidationError("keyword", "can't be blank")
    if len(value) > MAX_KEYWORD:
        raise ValidationError("keyword", f"is too long (maximum is {MAX_KEYWORD} characters)")
    return value.strip()


def _expiry(expires_in: int | None) -> datetime | None:
    if expires_in is None or expires_in == 0:
        return None
    if expires_in < 0 or expires_in > MAX_EXPIRES_IN:
        raise ValidationError("expires_in", f"must be between 1 and {MAX_EXPIRES_IN} seconds")
    return utcnow() + timedelta(seconds=expires_in)


async def create_filter(
    session: AsyncSession,
    account_id: int,
    *,
    title: str | None,
    context: Sequence[str],
    action: str | None,
    expires_in: int | None = None,
    keywords: Sequence[KeywordChange] = (),
) -> CustomFilter:
    """A new filter of ``account_id`` with its first keywords; nothing is stored when any part is invalid."""
    row = CustomFilter(
        account_id=account_id,
        title=_title(title),
        context=_context(context),
        action=_action(action),
        expires_at=_expiry(expires_in),
    )
    new = [
        (_keyword(k.keyword), True if k.whole_word is None else k.whole_word)
        for k in keywords
        if not k.destroy
    ]
    if len(new) > MAX_KEYWORDS:
        raise ValidationError("keywords_attributes", f"at most {MAX_KEYWORDS} keywords")
    count = len(
        list(await session.scalars(select(CustomFilter.id).where(CustomFilter.account_id == account_id)))
    )
    if count >= MAX_FILTERS:
        raise ValidationError("filter", f"you have reached the limit of {MAX_FILTERS} filters")
    session.add(row)
    await session.flush()
    for text, whole_word in new:
        session.add(CustomFilterKeyword(filter_id=row.id, keyword=text, whole_word=whole_word))
    await session.flush()
    return row


async def own_filter(session: AsyncSession, account_id: int, filter_id: int) -> CustomFilter:
    """The account's filter (404 for anyone else's, as Mastodon answers)."""
    row = await session.get(CustomFilter, filter_id)
    if row is None or row.account_id != account_id:
        raise NotFoundError("Record not found")
    return row


async def update_filter(
    session: AsyncSession,
    row: CustomFilter,
    *,
    title: str | None = None,
    context: Sequence[str] | None = None,
    action: str | None = None,
    expires_in: int | None = None,
    expires_given: bool = False,
    keywords: Sequence[KeywordChange] = (),
) -> CustomFilter:
    """Change what is given; ``keywords`` add (no id), change or (``destroy``) remove keywords."""
    changes: dict[str, object] = {}
    if title is not None:
        changes["title"] = _title(title)
    if context is not None:
        changes["context"] = _context(context)
    if action is not None:
        changes["action"] = _action(action)
    if expires_given:
        changes["expires_at"] = _expiry(expires_in)
    existing = {
        k.id: k
        for k in await session.scalars(
            select(CustomFilterKeyword).where(CustomFilterKeyword.filter_id == row.id)
        )
    }
    planned: list[tuple[CustomFilterKeyword | None, KeywordChange]] = []
    for change in keywords:
        if change.id is not None and change.id not in existing:
            raise NotFoundError("Record not found")
        if not change.destroy and (change.id is None or change.keyword is not None):
            _keyword(change.keyword)
        planned.append((existing.get(change.id) if change.id is not None else None, change))
    for name, value in changes.items():
        setattr(row, name, value)
    for found, change in planned:
        if found is not None and change.destroy:
            await session.delete(found)
        elif found is not None:
            if change.keyword is not None:
                found.keyword = _keyword(change.keyword)
            if change.whole_word is not None:
                found.whole_word = change.whole_word
        elif not change.destroy:
            whole_word = True if change.whole_word is None else change.whole_word
            session.add(
                CustomFilterKeyword(filter_id=row.id, keyword=_keyword(change.keyword), whole_word=whole_word)
            )
    await session.flush()
    return row


async def delete_filter(session: AsyncSession, row: CustomFilter) -> None:
    """Remove a filter with its keywords and statuses."""
    await session.execute(delete(CustomFilterKeyword).where(CustomFilterKeyword.filter_id == row.id))
    await session.execute(delete(CustomFilterStatus).where(CustomFilterStatus.filter_id == row.id))
    await session.delete(row)
    await session.flush()


async def add_keyword(
    session: AsyncSession, row: CustomFilter, keyword: str | None, whole_word: bool
) -> CustomFilterKeyword:
    """A new keyword of a filter."""
    item = CustomFilterKeyword(filter_id=row.id, keyword=_keyword(keyword), whole_word=whole_word)
    session.add(item)
    await session.flush()
    return item


async def own_keyword(
    session: AsyncSession, account_id: int, keyword_id: int
) -> tuple[CustomFilterKeyword, CustomFilter]:
    """A keyword of one of the account's filters, with its filter."""
    found = (
        await session.execute(
            select(CustomFilterKeyword, CustomFilter)
            .join(CustomFilter, CustomFilter.id == CustomFilterKeyword.filter_id)
            .where(CustomFilterKeyword.id == keyword_id, CustomFilter.account_id == account_id)
        )
    ).first()
    if found is None:
        raise NotFoundError("Record not found")
    return found[0], found[1]


async def update_keyword(
    session: AsyncSession, item: CustomFilterKeyword, keyword: str | None, whole_word: bool | None
) -> CustomFilterKeyword:
    """Change a keyword's text or whole-word flag."""
    if keyword is not None:
        item.keyword = _keyword(keyword)
    if whole_word is not None:
        item.whole_word = whole_word
    await session.flush()
    return item


async def add_status(session: AsyncSession, row: CustomFilter, status: Status) -> CustomFilterStatus:
    """Name a status in a filter (once; a second time is a 422, as Mastodon's uniqueness check)."""
    exists = await session.scalar(
        select(CustomFilterStatus.id).where(
            CustomFilterStatus.filter_id == row.id, CustomFilterStatus.status_id == status.id
        )
    )
    if exists is not None:
        raise ValidationError("status_id", "has already been taken")
    item = CustomFilterStatus(filter_id=row.id, status_id=status.id)
    session.add(item)
    await session.flush()
    return item


async def own_status(
    session: AsyncSession, account_id: int, item_id: int
) -> tuple[CustomFilterStatus, CustomFilter]:
    """A status entry of one of the account's filters, with its filter."""
    found = (
        await session.execute(
            select(CustomFilterStatus, CustomFilter)
            .join(CustomFilter, CustomFilter.id == CustomFilterStatus.filter_id)
            .where(CustomFilterStatus.id == item_id, CustomFilter.account_id == account_id)
        )
    ).first()
    if found is None:
        raise NotFoundError("Record not found")
    return found[0], found[1]


async def rules(
    session: AsyncSession, filter_ids: Sequence[int]
) -> tuple[dict[int, list[CustomFilterKeyword]], dict[int, list[CustomFilterStatus]]]:
    """The keywords and statuses of some filters, by filter id, oldest first."""
    keywords: dict[int, list[CustomFilterKeyword]] = {i: [] for i in filter_ids}
    statuses: dict[int, list[CustomFilterStatus]] = {i: [] for i in filter_ids}
    if filter_ids:
        for k in await session.scalars(
            select(CustomFilterKeyword)
            .where(CustomFilterKeyword.filter_id.in_(filter_ids))
            .order_by(CustomFilterKeyword.id)
        ):
            keywords[k.filter_id].append(k)
        for s in await session.scalars(
            select(CustomFilterStatus)
            .where(CustomFilterStatus.filter_id.in_(filter_ids))
            .order_by(CustomFilterStatus.id)
        ):
            statuses[s.filter_id].append(s)
    return keywords, statuses


async def active_filters(session: AsyncSession, account_id: int) -> list[ActiveFilter]:
    """The account's unexpired filters with their compiled keywords and status ids (Core records)."""
    return await session.run_sync(lambda s: active_filters_of(s.connection(), account_id))


_ACTIVE = (
    select(CustomFilter.__table__)
    .where(
        CustomFilter.account_id == bindparam("account_id"),
        or_(CustomFilter.expires_at.is_(None), CustomFilter.expires_at > bindparam("now")),
    )
    .order_by(CustomFilter.id)
)
_KEYWORDS = (
    select(CustomFilterKeyword.__table__)
    .where(in_ids(CustomFilterKeyword.filter_id))
    .order_by(CustomFilterKeyword.id)
)
_STATUSES = (
    select(CustomFilterStatus.filter_id, CustomFilterStatus.status_id)
    .where(in_ids(CustomFilterStatus.filter_id))
    .order_by(CustomFilterStatus.id)
)


def active_filters_of(conn: Connection, account_id: int) -> list[ActiveFilter]:
    """:func:`active_filters` on a synchronous connection: statements built once, one for the filters
    and, when there are any, one each for their keywords and statuses."""
    rows = [record(r._mapping) for r in conn.execute(_ACTIVE, {"account_id": account_id, "now": utcnow()})]
    if not rows:
        return []
    ids = [r.id for r in rows]
    words: dict[int, list[Any]] = {i: [] for i in ids}
    named: dict[int, set[int]] = {i: set() for i in ids}
    for k in conn.execute(_KEYWORDS, {"ids": ids}):
        words[k.filter_id].append(k)
    for filter_id, status_id in conn.execute(_STATUSES, {"ids": ids}):
        named[filter_id].add(status_id)
    out = []
    for row in rows:
        found = words[row.id]
        alternatives = "|".join(f"(?:{keyword_pattern(k.keyword, k.whole_word)})" for k in found)
        out.append(
            ActiveFilter(row, re.compile(alternatives, re.IGNORECASE) if found else None, named[row.id])
        )
    return out


def match(
    filters: Sequence[ActiveFilter], status_ids: Sequence[int], text: str, context: str | None = None
) -> list[FilterMatch]:
    """The filters matching a status (its id and the boosted status's id, and the boosted text); only
    the filters of ``context`` when one is given."""
    out = []
    for active in filters:
        if context is not None and context not in (active.row.context or []):
            continue
        found = (
            list(dict.fromkeys(m.group(0) for m in active.pattern.finditer(text))) if active.pattern else []
        )
        named = [i for i in status_ids if i in active.status_ids]
        if found or named:
            out.append(FilterMatch(active.row, found or None, named or None))
    return out


def hides(matches: Sequence[FilterMatch]) -> bool:
    """Whether a "hide" filter matched: the status is left out of the timeline or notifications."""
    return any(m.filter.action == "hide" for m in matches)
