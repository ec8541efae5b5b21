"""The prompt rules admins edit without a restart: blocked terms and patterns, kept in the database.

The ``[generation]`` config's ``blocked_terms`` and ``blocked_patterns`` are the starting rules: a
config value the table has never held is in force as if it were a row, and is written to the table
(``seed``) before an admin lists or changes the rules, so it gets an id; an admin's removal keeps its
row, marked removed, so a removed config value stays removed. Checking a prompt never writes (it may
run inside another transaction, such as the bot's). Every change bumps a version counter; a process
re-reads the rules when the counter moved, checking it at most once a second, so a change made by the
CLI or by another process applies everywhere within a second, without a restart (at once where the
change's event reaches the process: fedigen.events drops its copy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fedigen import events
from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from generation.errors import BackendConfigError
from generation.rules import PromptRules, folded
from storage.models import PromptRule, PromptRulesVersion, utcnow

TERM, PATTERN = "term", "pattern"
KINDS = (TERM, PATTERN)
MAX_VALUE_CHARS = 1000
# Seconds a process trusts its copy of the rules before it looks at the version counter again.
RECHECK_SECONDS = 1.0
_VERSION_ROW = 1


@dataclass
class _Cached:
    version: int
    checked_at: float
    rules: PromptRules


async def _version(session: AsyncSession) -> int:
    return int(await session.scalar(select(PromptRulesVersion.version).where(
        PromptRulesVersion.id == _VERSION_ROW)) or 0)  # fmt: skip


async def bump(session: AsyncSession) -> None:
    """Move the version counter (in the caller's transaction, with the change it announces)."""
    result = await session.execute(
        update(PromptRulesVersion)
        .where(PromptRulesVersion.id == _VERSION_ROW)
        .values(version=PromptRulesVersion.version + 1)
    )
    if not getattr(result, "rowcount", 0):
        session.add(PromptRulesVersion(id=_VERSION_ROW, version=1))
    await session.flush()
    events.later(session, events.PROMPT_RULES)  # every process drops its copy once this commits


async def seed(svc: Services) -> int:
    """Write the config's terms and patterns the table has never held; how many were written."""
    g = svc.settings.generation
    wanted = [(TERM, v) for v in g.blocked_terms] + [(PATTERN, v) for v in g.blocked_patterns]
    if not wanted:
        return 0
    try:
        async with svc.sessions() as session, session.begin():
            known = {
                (kind, value)
                for kind, value in await session.execute(select(PromptRule.kind, PromptRule.value))
            }
            new = [(kind, value) for kind, value in dict.fromkeys(wanted) if (kind, value) not in known]
            session.add_all(PromptRule(kind=kind, value=value, source="config") for kind, value in new)
            if new:
                await bump(session)
    except IntegrityError:  # another process seeded them meanwhile
        return 0
    return len(new)


def _build(svc: Services, terms: list[str], patterns: list[str]) -> PromptRules:
    g = svc.settings.generation
    return PromptRules(max_chars=g.max_prompt_chars, blocked_terms=terms, blocked_patterns=patterns,
                       refusal_message=g.refusal_message)  # fmt: skip


async def current(svc: Services) -> PromptRules:
    """The rules in force now, from this process's copy when the version counter has not moved."""
    cached = svc.caches.get("prompt_rules")
    now = time.monotonic()
    if isinstance(cached, _Cached) and now - cached.checked_at < RECHECK_SECONDS:
        return cached.rules
    async with svc.reads() as session:
        version = await _version(session)
        if isinstance(cached, _Cached) and cached.version == version:
            cached.checked_at = now
            return cached.rules
        rows = (await session.execute(select(PromptRule.kind, PromptRule.value, PromptRule.removed_at))).all()
    known = {(kind, value) for kind, value, _ in rows}
    g = svc.settings.generation
    unseeded = [(TERM, v) for v in g.blocked_terms] + [(PATTERN, v) for v in g.blocked_patterns]
    in_force = [(kind, value) for kind, value, removed in rows if removed is None]
    in_force += [rule for rule in dict.fromkeys(unseeded) if rule not in known]
    terms = [value for kind, value in in_force if kind == TERM]
    patterns = [value for kind, value in in_force if kind == PATTERN]
    try:
        rules = _build(svc, terms, patterns)
    except BackendConfigError:  # a bad stored rule (never admitted by add): keep the terms at least
        rules = _build(svc, terms, [])
    svc.caches["prompt_rules"] = _Cached(version, now, rules)
    return rules


def check_rule(kind: str, value: str) -> str:
    """The value of a rule as stored, or ValidationError (422) saying what is wrong."""
    if kind not in KINDS:
        raise ValidationError("kind", f"must be {' or '.join(KINDS)}")
    value = value.strip()
    if not value:
        raise ValidationError("value", "can't be blank")
    if len(value) > MAX_VALUE_CHARS:
        raise ValidationError("value", f"is too long (at most {MAX_VALUE_CHARS} characters)")
    try:
        PromptRules(
            blocked_terms=[value] if kind == TERM else [], blocked_patterns=[value] if kind == PATTERN else []
        )
    except BackendConfigError:
        what = "not a valid regular expression" if kind == PATTERN else "has no words"
        raise ValidationError("value", what) from None
    if kind == TERM and not folded(value):
        raise ValidationError("value", "has no words")
    return value


async def active(session: AsyncSession) -> list[PromptRule]:
    """The rules in force, oldest first."""
    return list(
        await session.scalars(
            select(PromptRule).where(PromptRule.removed_at.is_(None)).order_by(PromptRule.id)
        )
    )


async def _same(session: AsyncSession, kind: str, value: str) -> PromptRule | None:
    """The stored rule that is ``value``: for terms, the one that matches the same (case, width and
    spacing aside), preferring one in force."""
    if kind == PATTERN:
        return await session.scalar(
            select(PromptRule).where(PromptRule.kind == PATTERN, PromptRule.value == value)
        )
    key = folded(value)
    rows = await session.scalars(select(PromptRule).where(PromptRule.kind == TERM))
    same = sorted((r for r in rows if folded(r.value) == key), key=lambda r: r.removed_at is not None)
    return same[0] if same else None


async def add(session: AsyncSession, kind: str, value: str, *, by: int | None = None) -> PromptRule:
    """Add a rule (or bring back a removed one); 422 if it is bad or already in force (caller commits)."""
    value = check_rule(kind, value)
    row = await _same(session, kind, value)
    if row is not None and row.removed_at is None:
        raise ValidationError("value", f"is already a blocked {kind}")
    if row is None:
        row = PromptRule(kind=kind, value=value, source="admin", created_by_id=by)
        session.add(row)
    else:
        row.removed_at, row.created_by_id, row.created_at = None, by, utcnow()
    await bump(session)
    return row


async def remove(session: AsyncSession, rule_id: int | None = None, *, kind: str | None = None,
                 value: str | None = None) -> PromptRule:  # fmt: skip
    """Remove a rule in force, by id or by kind and value; 404 if there is none (caller commits)."""
    if rule_id is not None:
        row = await session.scalar(select(PromptRule).where(PromptRule.id == rule_id))
    else:
        row = await _same(session, kind or TERM, (value or "").strip())
    if row is None or row.removed_at is not None:
        raise NotFoundError("no such prompt rule")
    row.removed_at = utcnow()
    await bump(session)
    return row
