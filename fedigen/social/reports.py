"""Reports and the moderation queue (Mastodon's Report, ReportNote and admin report actions).

One home for every origin: a member's report (``POST /api/v1/reports``), a report another server sends
as ``Flag`` (fedigen.social.moderation.report_received), and the moderators' work on the queue from the
admin API or the CLI: assign, unassign, notes, category and rules, resolve, reopen, and forwarding a
report about a remote account to its server as a ``Flag`` from the instance actor (as Mastodon and
GoToSocial send it: ``object`` is the account and the reported posts, ``content`` the comment). Every
moderator action writes an audit log row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activitypub.outbox import publish
from activitypub.vocab import CONTEXT
from fedigen.errors import NotFoundError, ValidationError
from fedigen.services import Services
from fedigen.social import audit
from fedigen.social.accounts import ensure_instance_actor
from storage.models import Actor, Report, ReportNote, Status, utcnow

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000  # Mastodon's limit on a local report's comment
MAX_NOTE = 500  # and on a report note
MAX_STATUSES = 100


def _label(report: Report) -> str:
    return f"report #{report.id}"


def _category(value: str | None) -> str:
    category = (value or "other").strip().lower()
    if category not in CATEGORIES:
        raise ValidationError("category", f"expected one of {', '.join(CATEGORIES)}")
    return category


def _rule_ids(category: str, values: Sequence[str]) -> list[str]:
    if any(not str(v).strip().isdigit() for v in values):
        raise ValidationError("rule_ids", "expected rule ids")
    return [str(v).strip() for v in values] if category == "violation" else []


async def file_report(
    svc: Services, session: AsyncSession, reporter: Actor, target_id: int, *, status_ids: Sequence[int] = (),
    comment: str = "", forward: bool = False, category: str | None = None, rule_ids: Sequence[str] = (),
) -> Report:  # fmt: skip
    """A local member reports an account and some of its posts (Mastodon's ReportService)."""
    target = await session.get(Actor, target_id)
    if target is None or target.ap_id == svc.urls.instance_actor:
        raise NotFoundError("Record not found")
    if target.id == reporter.id:
        raise ValidationError("account_id", "you cannot report yourself")
    if len(comment) > MAX_COMMENT:
        raise ValidationError("comment", f"is too long (maximum is {MAX_COMMENT} characters)")
    chosen = _category(category)
    rules = _rule_ids(chosen, rule_ids)
    if chosen == "violation" and not rules:
        raise ValidationError("rule_ids", "name the rules a violation breaks")
    statuses: list[Status] = []
    if status_ids:
        statuses = list(await session.scalars(
            select(Status).where(Status.id.in_(list(status_ids)[:MAX_STATUSES]), Status.actor_id == target.id)
        ))  # fmt: skip
        if len(statuses) != len(set(status_ids)):  # Mastodon finds each among the target's posts: 404
            raise NotFoundError("Record not found")
    report = Report(reporter_id=reporter.id, target_id=target.id, status_ap_ids=[s.ap_id for s in statuses],
                    comment=comment, category=chosen, rule_ids=rules, forwarded=False)  # fmt: skip
    session.add(report)
    await session.flush()
    if forward and target.domain is not None:
        await _send_flag(svc, session, report, target)
    return report


async def _send_flag(svc: Services, session: AsyncSession, report: Report, target: Actor) -> None:
    instance = await ensure_instance_actor(session, svc.urls)
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": svc.urls.new_activity(),
        "type": "Flag",
        "actor": instance.ap_id,
        "content": report.comment,
        "object": [target.ap_id, *[a for a in report.status_ap_ids or [] if isinstance(a, str)]],
        "to": [target.ap_id],
    }
    await publish(session, instance, doc)
    report.forwarded = True
    report.updated_at = utcnow()


async def forward(svc: Services, session: AsyncSession, report: Report, *, by: Actor | None = None) -> None:
    """A moderator sends the report on to the reported account's server (422 for a local account)."""
    target = await session.get(Actor, report.target_id) if report.target_id is not None else None
    if target is None or target.domain is None:
        raise ValidationError("forward", "only a report about a remote account can be forwarded")
    await _send_flag(svc, session, report, target)
    await audit.record(session, by, "forward_report", "report", report.id, _label(report), target.domain)


async def get(session: AsyncSession, report_id: int) -> Report:
    """The report with this id, or NotFoundError."""
    report = await session.get(Report, report_id)
    if report is None:
        raise NotFoundError("Record not found")
    return report


async def listing(
    session: AsyncSession, *, resolved: bool = False, account_id: int | None = None,
    target_account_id: int | None = None, max_id: int | None = None, since_id: int | None = None,
    min_id: int | None = None, limit: int = 100,
) -> Sequence[Report]:  # fmt: skip
    """The queue: unresolved reports (or resolved ones), newest first, optionally by reporter or target."""
    query = select(Report).where(
        Report.resolved_at.is_not(None) if resolved else Report.resolved_at.is_(None)
    )
    if account_id is not None:
        query = query.where(Report.reporter_id == account_id)
    if target_account_id is not None:
        query = query.where(Report.target_id == target_account_id)
    if max_id is not None:
        query = query.where(Report.id < max_id)
    if since_id is not None:
        query = query.where(Report.id > since_id)
    if min_id is not None:
        return list(reversed(list(await session.scalars(
            query.where(Report.id > min_id).order_by(Report.id).limit(limit)))))  # fmt: skip
    return list(await session.scalars(query.order_by(Report.id.desc()).limit(limit)))


async def assign(session: AsyncSession, report: Report, to: Actor, *, by: Actor | None = None) -> None:
    """The moderator ``to`` takes the report (assign_to_self)."""
    report.assigned_account_id, report.updated_at = to.id, utcnow()
    await audit.record(session, by or to, "assigned_to_self_report", "report", report.id, _label(report))


async def unassign(session: AsyncSession, report: Report, *, by: Actor | None = None) -> None:
    """Nobody has the report any more."""
    report.assigned_account_id, report.updated_at = None, utcnow()
    await audit.record(session, by, "unassigned_report", "report", report.id, _label(report))


async def resolve(
    svc: Services, session: AsyncSession, report: Report, *, by: Actor | None = None,
    action_taken: bool = False, now: datetime | None = None,
) -> None:  # fmt: skip
    """Mark the report resolved (``action_taken``: an account action resolved it)."""
    if report.resolved_at is not None:
        return
    now = now or utcnow()
    report.resolved_at, report.updated_at = now, now
    report.action_taken_by_id = by.id if by is not None else None
    await audit.record(session, by, "resolve_report", "report", report.id, _label(report),
                       "action taken" if action_taken else "")  # fmt: skip


async def reopen(session: AsyncSession, report: Report, *, by: Actor | None = None) -> None:
    """Put a resolved report back in the queue."""
    if report.resolved_at is None:
        return
    report.resolved_at, report.action_taken_by_id, report.updated_at = None, None, utcnow()
    await audit.record(session, by, "reopen_report", "report", report.id, _label(report))


async def update(
    session: AsyncSession, report: Report, *, category: str | None, rule_ids: Sequence[str] | None,
    by: Actor | None = None,
) -> None:  # fmt: skip
    """Change a report's category and rules (Mastodon's PUT /api/v1/admin/reports/:id)."""
    chosen = _category(category) if category is not None else report.category
    rules = _rule_ids(chosen, rule_ids if rule_ids is not None else list(report.rule_ids or []))
    report.category, report.rule_ids, report.updated_at = chosen, rules, utcnow()
    await audit.record(session, by, "update_report", "report", report.id, _label(report),
                       f"category={chosen} rules={','.join(rules)}")  # fmt: skip


async def add_note(
    session: AsyncSession, report: Report, content: str, *, by: Actor | None = None
) -> ReportNote:
    """A moderator's note on the report."""
    text = content.strip()
    if not text:
        raise ValidationError("content", "can't be blank")
    if len(text) > MAX_NOTE:
        raise ValidationError("content", f"is too long (maximum is {MAX_NOTE} characters)")
    note = ReportNote(report_id=report.id, account_id=by.id if by else None, content=text)
    session.add(note)
    report.updated_at = utcnow()
    await audit.record(session, by, "create_report_note", "report", report.id, _label(report), text[:200])
    return note


async def notes_of(session: AsyncSession, report: Report) -> Sequence[ReportNote]:
    """The report's notes, oldest first."""
    return list(await session.scalars(
        select(ReportNote).where(ReportNote.report_id == report.id).order_by(ReportNote.id)
    ))  # fmt: skip


async def statuses_of(session: AsyncSession, report: Report) -> Sequence[Status]:
    """The reported posts we have."""
    ids = [a for a in report.status_ap_ids or [] if isinstance(a, str)]
    if not ids:
        return []
    return list(await session.scalars(select(Status).where(Status.ap_id.in_(ids)).order_by(Status.id)))
